//! Upload and download through presigned URLs: one PUT below a threshold,
//! multipart above it (parts of whole segments, sealed on demand, several in
//! flight, retried byte-identically on 5xx and network errors, aborted and
//! cleaned up through an AbortSignal), and a streaming, verifying download.
//! Presigning is pluggable: a JS function maps a request to `{ method, url,
//! headers }` (the `s3seal serve` JSON API, or any backend of your own).

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{AbortSignal, Blob};

use super::error::{js, to_js, with_code};
use super::http::{self, Failure, Presigned};
use super::key::Key;
use super::stream::metadata_to_js;
use crate::format::Metadata;
use crate::key::{ObjectId, Secret};
use crate::object;
use crate::part;

/// Objects up to this size go up in one PUT, in bytes.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// Default target part size, in bytes.
pub const PART_SIZE: u64 = 8 << 20;
/// Default parts in flight.
pub const CONCURRENCY: usize = 4;
/// Default attempts per request.
pub const ATTEMPTS: u32 = 5;

fn get(obj: &JsValue, field: &str) -> JsValue {
    Reflect::get(obj, &field.into()).unwrap_or(JsValue::UNDEFINED)
}

fn number(obj: &JsValue, field: &str, default: f64) -> f64 {
    get(obj, field)
        .as_f64()
        .filter(|n| *n > 0.0)
        .unwrap_or(default)
}

fn set(obj: &Object, field: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &field.into(), &value.into());
}

/// A JS error for an HTTP failure: code `Http`, with `status` and `partNumber`.
fn http_error(status: u16, part_number: Option<u16>, what: &str) -> JsValue {
    let e = with_code("Http", &format!("{what} failed with HTTP {status}"));
    let _ = Reflect::set(&e, &"status".into(), &status.into());
    if let Some(n) = part_number {
        let _ = Reflect::set(&e, &"partNumber".into(), &n.into());
    }
    e
}

fn abort_error() -> JsValue {
    let e = js_sys::Error::new("the transfer was aborted");
    e.set_name("AbortError");
    let _ = Reflect::set(&e, &"code".into(), &"Aborted".into());
    e.into()
}

async fn sleep(ms: f64) {
    let promise = Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(f) = Reflect::get(&global, &"setTimeout".into()) {
            let _ = f
                .unchecked_into::<Function>()
                .call2(&global, &resolve, &ms.into());
        }
    });
    let _ = JsFuture::from(promise).await;
}

async fn read(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, JsValue> {
    let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
    let buffer = JsFuture::from(slice.array_buffer()).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Bytes sealed and sent so far, reported to `onProgress`.
#[derive(Default)]
struct Progress {
    sealed: f64,
    sent: f64,
    total: f64,
    on_progress: Option<Function>,
}

impl Progress {
    fn report(&self) {
        if let Some(f) = &self.on_progress {
            let p = Object::new();
            set(&p, "bytesSealed", self.sealed);
            set(&p, "bytesSent", self.sent);
            set(&p, "total", self.total);
            let _ = f.call1(&JsValue::NULL, &p);
        }
    }
}

/// An internal AbortController, aborted by the user's signal or by a failed
/// part, so every request in flight stops and settles before cleanup.
struct Cancel {
    controller: web_sys::AbortController,
    user: Option<AbortSignal>,
    forward: Closure<dyn FnMut()>,
}

impl Cancel {
    fn new(user: Option<AbortSignal>) -> Result<Self, JsValue> {
        let controller = web_sys::AbortController::new()?;
        let forward = {
            let controller = controller.clone();
            Closure::<dyn FnMut()>::new(move || controller.abort())
        };
        if let Some(u) = &user {
            if u.aborted() {
                controller.abort();
            }
            u.add_event_listener_with_callback("abort", forward.as_ref().unchecked_ref())?;
        }
        Ok(Self {
            controller,
            user,
            forward,
        })
    }

    fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if let Some(u) = &self.user {
            let _ = u.remove_event_listener_with_callback(
                "abort",
                self.forward.as_ref().unchecked_ref(),
            );
        }
    }
}

/// Shared state of one transfer.
struct Job {
    presign: Function,
    object: String,
    sse_c: Object,
    signal: Option<AbortSignal>,
    attempts: u32,
    progress: Rc<RefCell<Progress>>,
}

impl Job {
    fn report(&self) {
        self.progress.borrow().report();
    }

    fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(|s| s.aborted())
    }

    async fn presign(&self, request: &Object) -> Result<Presigned, JsValue> {
        set(request, "object", self.object.as_str());
        let value = self.presign.call1(&JsValue::NULL, request)?;
        let value = JsFuture::from(Promise::resolve(&value)).await?;
        Presigned::from_js(&value)
    }

    /// Presigns and sends, retrying 5xx, 429 and network errors with
    /// backoff. Every attempt sends the same bytes under a fresh URL.
    async fn send(
        &self,
        request: impl Fn() -> Object,
        body: Option<&[u8]>,
        part_number: Option<u16>,
        what: &str,
    ) -> Result<http::Reply, JsValue> {
        let mut delay = 250.0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.aborted() {
                return Err(abort_error());
            }
            let presigned = self.presign(&request()).await?;
            // Bytes of this attempt counted as sent so far; taken back on a retry.
            let counted = Rc::new(RefCell::new(0.0f64));
            let on_progress: Option<Rc<dyn Fn(f64)>> = body.map(|_| {
                let (counted, progress) = (counted.clone(), self.progress.clone());
                Rc::new(move |loaded: f64| {
                    let mut p = progress.borrow_mut();
                    p.sent += loaded - *counted.borrow();
                    *counted.borrow_mut() = loaded;
                    p.report();
                }) as Rc<dyn Fn(f64)>
            });
            let outcome = http::send(&presigned, body, self.signal.as_ref(), on_progress).await?;
            {
                let mut p = self.progress.borrow_mut();
                p.sent -= *counted.borrow();
                if let (Some(b), Ok(reply)) = (body, &outcome) {
                    if (200..300).contains(&reply.status) {
                        p.sent += b.len() as f64;
                    }
                }
                p.report();
            }
            let retry = match outcome {
                Ok(reply) if (200..300).contains(&reply.status) => return Ok(reply),
                Ok(reply) if reply.status >= 500 || reply.status == 429 || reply.status == 408 => {
                    if attempt >= self.attempts {
                        return Err(http_error(reply.status, part_number, what));
                    }
                    true
                }
                Ok(reply) => return Err(http_error(reply.status, part_number, what)),
                Err(Failure::Aborted) => return Err(abort_error()),
                Err(Failure::Network) => {
                    if attempt >= self.attempts {
                        return Err(with_code(
                            "Network",
                            &format!("{what}: network error after {attempt} attempts"),
                        ));
                    }
                    true
                }
            };
            debug_assert!(retry);
            // Jittered exponential backoff.
            sleep(delay * (0.5 + js_sys::Math::random())).await;
            delay = (delay * 2.0).min(8000.0);
        }
    }
}

fn request(op: &str) -> Object {
    let r = Object::new();
    set(&r, "op", op);
    r
}

fn sse_c_object(key: &crate::key::SseCKey) -> Object {
    let headers = crate::sse::sse_c(key);
    let o = Object::new();
    set(&o, "algorithm", headers[0].1.as_str());
    set(&o, "key", headers[1].1.as_str());
    set(&o, "keyMd5", headers[2].1.as_str());
    o
}

fn with_sse_c(op: &str, sse_c: &Object) -> Object {
    let r = request(op);
    set(&r, "sseC", sse_c.clone());
    r
}

/// Seals `file` and uploads it through presigned URLs. Resolves to
/// `{ objectName, objectId, fileKey, size }`.
#[wasm_bindgen]
pub fn upload(file: Blob, key: &Key, options: JsValue) -> Promise {
    let secret = key.secret.clone();
    future_to_promise(async move { upload_inner(file, secret, options).await })
}

async fn upload_inner(file: Blob, secret: Secret, options: JsValue) -> Result<JsValue, JsValue> {
    let presign: Function = get(&options, "presign").dyn_into().map_err(|_| {
        with_code(
            "InvalidInput",
            "invalid input: options.presign must be a function",
        )
    })?;
    let size = file.size() as u64;
    let text = |field: &str, fallback: JsValue| {
        get(&options, field)
            .as_string()
            .or_else(|| fallback.as_string())
            .unwrap_or_default()
    };
    let meta = Metadata {
        name: text("name", get(&file, "name")),
        media_type: text("type", file.type_().into()),
        size: Some(size),
    };
    let sealer = js(object::Sealer::new(&secret, &meta))?;
    let total = sealer.object_len(size);
    let cancel = Cancel::new(get(&options, "signal").dyn_into().ok())?;
    let job = Job {
        presign,
        object: sealer.object_id().object_name(),
        sse_c: sse_c_object(&sealer.sse_c_key()),
        signal: Some(cancel.signal()),
        attempts: number(&options, "retries", f64::from(ATTEMPTS)) as u32,
        progress: Rc::new(RefCell::new(Progress {
            total: total as f64,
            on_progress: get(&options, "onProgress").dyn_into().ok(),
            ..Progress::default()
        })),
    };
    let threshold = number(&options, "multipartThreshold", MULTIPART_THRESHOLD as f64) as u64;
    if total <= threshold {
        let plaintext = zeroize::Zeroizing::new(read(&file, 0, size).await?);
        let mut body = sealer.head();
        js(sealer.seal_segments(0, &plaintext, true, &mut body))?;
        job.progress.borrow_mut().sealed = size as f64;
        job.report();
        let len = body.len() as f64;
        job.send(
            || {
                let r = with_sse_c("put", &job.sse_c);
                set(&r, "size", len);
                r
            },
            Some(&body),
            None,
            "upload",
        )
        .await?;
    } else {
        multipart(&job, &cancel, &sealer, &file, size, &options).await?;
    }
    let result = Object::new();
    set(&result, "objectName", job.object.as_str());
    set(&result, "objectId", sealer.object_id().to_hex());
    set(
        &result,
        "fileKey",
        Key {
            secret: Secret::File(sealer.file_key().clone()),
        },
    );
    set(&result, "size", total as f64);
    Ok(result.into())
}

fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

async fn multipart(
    job: &Job,
    cancel: &Cancel,
    sealer: &object::Sealer,
    file: &Blob,
    size: u64,
    options: &JsValue,
) -> Result<(), JsValue> {
    let part_size = number(options, "partSize", PART_SIZE as f64) as u64;
    let concurrency = number(options, "concurrency", CONCURRENCY as f64) as usize;
    let parts = js(part::plan(sealer.head_len(), size, part_size))?;
    let total = sealer.object_len(size) as f64;
    let created = job
        .send(
            || {
                let r = with_sse_c("createMultipart", &job.sse_c);
                set(&r, "size", total);
                r
            },
            None,
            None,
            "CreateMultipartUpload",
        )
        .await?;
    let upload_id = xml_tag(&created.text, "UploadId")
        .ok_or_else(|| with_code("Http", "CreateMultipartUpload returned no UploadId"))?
        .to_owned();

    let upload_part = |p: part::Part| {
        let upload_id = upload_id.clone();
        async move {
            if job.aborted() {
                return Err(abort_error());
            }
            let plaintext =
                zeroize::Zeroizing::new(read(file, p.plaintext.start, p.plaintext.end).await?);
            let mut body = if p.number == 1 {
                sealer.head()
            } else {
                Vec::with_capacity(p.size as usize)
            };
            js(sealer.seal_segments(p.segments.start, &plaintext, p.last, &mut body))?;
            drop(plaintext);
            job.progress.borrow_mut().sealed += (p.plaintext.end - p.plaintext.start) as f64;
            job.report();
            let len = body.len() as f64;
            let reply = job
                .send(
                    || {
                        let r = with_sse_c("uploadPart", &job.sse_c);
                        set(&r, "size", len);
                        set(&r, "uploadId", upload_id.as_str());
                        set(&r, "partNumber", p.number);
                        r
                    },
                    Some(&body),
                    Some(p.number),
                    "UploadPart",
                )
                .await?;
            let etag = reply.etag.ok_or_else(|| {
                with_code("Http", "UploadPart returned no ETag: expose it in the bucket's CORS (ExposeHeaders: ETag)")
            })?;
            Ok::<_, JsValue>((p.number, etag))
        }
    };
    let mut done: Vec<(u16, String)> = Vec::with_capacity(parts.len());
    let mut failure = None;
    let mut stream = futures_util::stream::iter(parts.into_iter().map(upload_part))
        .buffer_unordered(concurrency.max(1));
    while let Some(result) = stream.next().await {
        match result {
            Ok(part) => done.push(part),
            // Stop the other parts, but let every request settle first.
            Err(e) => {
                cancel.controller.abort();
                failure.get_or_insert(e);
            }
        }
    }
    drop(stream);
    if let Some(err) = failure {
        // Clean up: an aborted or failed upload leaves no parts behind. Not
        // through `send`, which refuses to start once aborted.
        let r = request("abortMultipart");
        set(&r, "uploadId", upload_id.as_str());
        if let Ok(presigned) = job.presign(&r).await {
            let _ = http::send(&presigned, None, None, None).await;
        }
        return Err(err);
    }
    done.sort();
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in &done {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    let reply = job
        .send(
            || {
                let r = request("completeMultipart");
                set(&r, "uploadId", upload_id.as_str());
                r
            },
            Some(xml.as_bytes()),
            None,
            "CompleteMultipartUpload",
        )
        .await?;
    // S3 may answer 200 with an error document.
    if reply.text.contains("<Error>") {
        return Err(with_code("Http", "CompleteMultipartUpload failed"));
    }
    Ok(())
}

/// Downloads an object through a presigned GET and opens it, verifying as it
/// streams; resolves to `{ blob, metadata }` only if everything verified.
#[wasm_bindgen]
pub fn download(object_name: &str, key: &Key, options: JsValue) -> Promise {
    let secret = key.secret.clone();
    let name = object_name.to_owned();
    future_to_promise(async move { download_inner(name, secret, options).await })
}

async fn download_inner(
    object_name: String,
    secret: Secret,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let presign: Function = get(&options, "presign").dyn_into().map_err(|_| {
        with_code(
            "InvalidInput",
            "invalid input: options.presign must be a function",
        )
    })?;
    let id = js(ObjectId::from_object_name(&object_name))?;
    // Reaching the SSE-C key may run Argon2id (passphrase): before the request.
    let file_key = js(secret.file_key(&id))?;
    let job = Job {
        presign,
        object: id.object_name(),
        sse_c: sse_c_object(&file_key.sse_c_key()),
        signal: get(&options, "signal").dyn_into().ok(),
        attempts: 1,
        progress: Rc::new(RefCell::new(Progress {
            on_progress: get(&options, "onProgress").dyn_into().ok(),
            ..Progress::default()
        })),
    };
    let presigned = job.presign(&with_sse_c("get", &job.sse_c)).await?;
    let init = Object::new();
    set(&init, "method", presigned.method.as_str());
    set(&init, "headers", presigned.headers.clone());
    if let Some(s) = &job.signal {
        set(&init, "signal", s.clone());
    }
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())?.dyn_into()?;
    let response = JsFuture::from(
        fetch
            .call2(&global, &presigned.url.as_str().into(), &init)?
            .unchecked_into::<Promise>(),
    )
    .await
    .map_err(|e| if job.aborted() { abort_error() } else { e })?;
    let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
    if !(200..300).contains(&status) {
        let text = Reflect::get(&response, &"text".into())?
            .dyn_into::<Function>()?
            .call0(&response)?;
        let text = JsFuture::from(text.unchecked_into::<Promise>())
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        // S3 checks the SSE-C key before anything else: Garage answers 400
        // (InvalidRequest), AWS 403 naming the encryption key.
        let key_refused =
            status == 400 || (status == 403 && text.to_ascii_lowercase().contains("encryption"));
        if key_refused {
            return Err(with_code(
                "WrongKey",
                "wrong key: the storage server refused this object's SSE-C key (wrong key or passphrase)",
            ));
        }
        if status == 404 {
            return Err(http_error(status, None, "download (no such object)"));
        }
        return Err(http_error(status, None, "download"));
    }
    let total = get(&response, "headers");
    let length = Reflect::get(&total, &"get".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call1(&total, &"content-length".into()).ok())
        .and_then(|v| v.as_string())
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    job.progress.borrow_mut().total = length;
    let body = get(&response, "body");
    let reader = Reflect::get(&body, &"getReader".into())?
        .dyn_into::<Function>()?
        .call0(&body)?;
    let read: Function = Reflect::get(&reader, &"read".into())?.dyn_into()?;
    let mut opener = object::Opener::new(Secret::File(file_key));
    let parts = Array::new();
    let mut out = Vec::new();
    loop {
        let chunk = JsFuture::from(read.call0(&reader)?.unchecked_into::<Promise>())
            .await
            .map_err(|e| if job.aborted() { abort_error() } else { e })?;
        if get(&chunk, "done").as_bool().unwrap_or(true) {
            break;
        }
        let bytes = Uint8Array::new(&get(&chunk, "value")).to_vec();
        job.progress.borrow_mut().sent += bytes.len() as f64;
        opener.push(&bytes, &mut out).map_err(to_js)?;
        job.progress.borrow_mut().sealed += out.len() as f64;
        if !out.is_empty() {
            parts.push(&Uint8Array::from(out.as_slice()));
            out.clear();
        }
        job.report();
    }
    let meta = opener.finish(&mut out).map_err(to_js)?;
    if !out.is_empty() {
        parts.push(&Uint8Array::from(out.as_slice()));
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(&meta.media_type);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let result = Object::new();
    set(&result, "blob", blob);
    set(&result, "metadata", metadata_to_js(&meta));
    Ok(result.into())
}
