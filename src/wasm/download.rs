//! Download through a presigned GET: the SSE-C key is derived before the
//! request (S3 refuses even a HEAD without it), the body is opened while it
//! streams, several segments in the engine at once, and the plaintext is
//! handed over only when every segment verified.

use std::collections::VecDeque;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::Blob;

use super::engine::Choice;
use super::error::{js, with_code};
use super::field::{get, set};
use super::job::{Job, Progress, abort_error, fault_error, presign_option};
use super::key::Key;
use super::pipeline::OpenStream;
use super::stream::metadata_to_js;
use crate::transfer::presign::{Op, SseC};
use crate::transfer::retry::{self, Fault};
use crate::{ObjectName, Secret};

/// Pushes whose segments may be in the engine at once.
const PUSHES_IN_FLIGHT: usize = 4;
/// Verified plaintext is folded into a Blob every this many bytes, so the
/// JS heap holds at most this much of it (the browser keeps large Blobs
/// out of the heap, on disk if need be).
const FOLD_SIZE: f64 = (32 << 20) as f64;

/// Downloads an object through a presigned GET and opens it, verifying as it
/// streams; resolves to `{ blob, metadata, engine }` only if everything
/// verified. The Blob's type is `inertMediaType(metadata.type)`.
#[wasm_bindgen]
pub fn download(object_name: &str, key: &Key, options: JsValue) -> Promise {
    let secret = key.secret.clone();
    let name = object_name.to_owned();
    future_to_promise(async move { download_inner(name, secret, options).await })
}

async fn call_method(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &name.into())?.dyn_into()?;
    JsFuture::from(f.call0(target)?.unchecked_into::<Promise>()).await
}

/// Verified plaintext, folded into a Blob as it grows.
struct Collected {
    blob: Option<Blob>,
    pieces: Array,
    pending: f64,
}

impl Collected {
    fn new() -> Self {
        Self {
            blob: None,
            pieces: Array::new(),
            pending: 0.0,
        }
    }

    fn add(&mut self, pieces: &JsValue) -> Result<f64, JsValue> {
        let mut n = 0.0;
        for piece in Array::from(pieces).iter() {
            n += f64::from(piece.unchecked_ref::<Uint8Array>().length());
            self.pieces.push(&piece);
        }
        self.pending += n;
        if self.pending >= FOLD_SIZE {
            self.fold()?;
        }
        Ok(n)
    }

    fn fold(&mut self) -> Result<(), JsValue> {
        if let Some(b) = self.blob.take() {
            self.pieces.unshift(&b);
        }
        self.blob = Some(Blob::new_with_blob_sequence(&self.pieces)?);
        self.pieces = Array::new();
        self.pending = 0.0;
        Ok(())
    }

    fn into_blob(mut self, media_type: &str) -> Result<Blob, JsValue> {
        if let Some(b) = self.blob.take() {
            self.pieces.unshift(&b);
        }
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(media_type);
        Blob::new_with_blob_sequence_and_options(&self.pieces, &options)
    }
}

async fn download_inner(
    object_name: String,
    secret: Secret,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let presign = presign_option(&options)?;
    let choice = Choice::from_options(&options)?;
    let name = js(ObjectName::parse(&object_name))?;
    // Reaching the SSE-C key may run Argon2id (passphrase): before the request.
    let file_key = js(secret.file_key(&name))?;
    let job = Job {
        presign,
        object: name.to_string(),
        sse_c: Some(SseC::from_key(&file_key.sse_c_key())),
        signal: get(&options, "signal").dyn_into().ok(),
        attempts: 1,
        progress: Progress::new(&options, "downloading", 0.0),
    };
    let presigned = job.presign(&job.keyed(Op::Get)).await?;
    let init = Object::new();
    set(&init, "method", presigned.method.as_str());
    let headers = Object::new();
    for (name, value) in &presigned.headers {
        set(&headers, name, value.as_str());
    }
    set(&init, "headers", headers);
    if let Some(s) = &job.signal {
        set(&init, "signal", s.clone());
    }
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())?.dyn_into()?;
    let aborted = |e: JsValue| if job.aborted() { abort_error() } else { e };
    let response = JsFuture::from(
        fetch
            .call2(&global, &presigned.url.as_str().into(), &init)?
            .unchecked_into::<Promise>(),
    )
    .await
    .map_err(aborted)?;
    let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
    if !(200..300).contains(&status) {
        let text = call_method(&response, "text")
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        // S3 checks the SSE-C key before anything else, so a refusal may
        // mean a wrong key.
        let fault = retry::classify_read(status, &text).unwrap_or(Fault::Http { status });
        return Err(fault_error(&fault, None, "download", 1));
    }
    let headers = get(&response, "headers");
    let length = Reflect::get(&headers, &"get".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call1(&headers, &"content-length".into()).ok())
        .and_then(|v| v.as_string())
        .and_then(|s| s.parse::<u64>().ok())
        .map(|n| n as f64)
        .unwrap_or(0.0);
    job.progress.borrow_mut().total = length;
    let body = get(&response, "body");
    let reader = Reflect::get(&body, &"getReader".into())?
        .dyn_into::<Function>()?
        .call0(&body)?;
    let mut opener = OpenStream::with_secret(Secret::File(file_key), choice);
    opener.expect_name(&object_name)?;
    let mut in_flight = VecDeque::new();
    let mut collected = Collected::new();
    let mut meta = None;
    let result: Result<(), JsValue> = async {
        loop {
            let chunk = call_method(&reader, "read").await.map_err(|e| {
                if job.aborted() {
                    abort_error()
                } else {
                    // The connection broke mid-body: nothing was handed out.
                    let said = super::field::text(&e, "message").unwrap_or_default();
                    with_code(
                        "Network",
                        &format!(
                            "download: the connection broke mid-way ({said}); nothing was kept"
                        ),
                    )
                }
            })?;
            if get(&chunk, "done").as_bool().unwrap_or(true) {
                break;
            }
            let bytes = Uint8Array::new(&get(&chunk, "value"));
            job.progress.borrow_mut().sent += f64::from(bytes.length());
            in_flight.push_back(JsFuture::from(opener.push(bytes)?));
            while in_flight.len() >= PUSHES_IN_FLIGHT {
                let pieces = in_flight.pop_front().expect("non-empty").await?;
                job.progress.borrow_mut().sealed += collected.add(&pieces)?;
            }
            job.report();
        }
        while let Some(opening) = in_flight.pop_front() {
            let pieces = opening.await?;
            job.progress.borrow_mut().sealed += collected.add(&pieces)?;
        }
        meta = opener.metadata_rs().cloned();
        let last = JsFuture::from(opener.finish()?).await?;
        job.progress.borrow_mut().sealed += collected.add(&last)?;
        job.report();
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // Stop the transfer; nothing verified so far is handed out.
        let _ = Reflect::get(&reader, &"cancel".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .map(|f| f.call0(&reader));
        return Err(e);
    }
    let meta = meta.ok_or_else(|| super::error::to_js(crate::Error::Truncated))?;
    // The sealed type is the sealer's word, not ours: as a Blob type, HTML
    // or SVG would run in this page's origin once its blob: URL is opened.
    let blob = collected.into_blob(crate::format::inert_media_type(&meta.media_type))?;
    let result = Object::new();
    set(&result, "blob", blob);
    set(&result, "metadata", metadata_to_js(&meta));
    Ok(result.into())
}
