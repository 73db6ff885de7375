//! HTTP from wasm: XHR for uploads (the only browser API with upload
//! progress) and fetch for the rest, both as futures, both abortable. Where
//! there is no XHR (Node, Deno) uploads go by fetch too, their progress
//! counted when each request ends.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ProgressEvent, XmlHttpRequest};

use crate::transfer::presign::Presigned;

/// A request body held in JS memory (wasm memory may grow, and move, while
/// a request runs): bytes or a Blob (e.g. a part made of sealed segments).
pub struct Body {
    value: JsValue,
    len: f64,
    /// Whether it is object data (counted in progress) or a control
    /// document (the multipart completion list).
    pub payload: bool,
}

impl Body {
    /// A control document: a copy of `bytes` in JS memory.
    pub fn control(bytes: &[u8]) -> Self {
        Self {
            value: Uint8Array::from(bytes).into(),
            len: bytes.len() as f64,
            payload: false,
        }
    }

    /// Object data in a Blob, sent as it is.
    pub fn payload(blob: web_sys::Blob) -> Self {
        let len = blob.size();
        Self {
            value: blob.into(),
            len,
            payload: true,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> f64 {
        self.len
    }
}

/// What came back.
pub struct Reply {
    pub status: u16,
    pub etag: Option<String>,
    pub text: String,
    /// `Content-Length`, where the answer has one (a HEAD's object size).
    pub length: Option<f64>,
}

/// How a request failed before an HTTP status arrived.
pub enum Failure {
    /// Network error or timeout: worth retrying.
    Network,
    /// Cancelled through the AbortSignal.
    Aborted,
}

/// Sends `body` with XHR, reporting bytes sent to `on_progress`.
pub async fn send(
    req: &Presigned,
    body: Option<&Body>,
    signal: Option<&AbortSignal>,
    on_progress: Option<Rc<dyn Fn(f64)>>,
) -> Result<Result<Reply, Failure>, JsValue> {
    if signal.is_some_and(|s| s.aborted()) {
        return Ok(Err(Failure::Aborted));
    }
    let global = js_sys::global();
    if !super::field::get(&global, "XMLHttpRequest").is_function() {
        return send_fetch(&global, req, body, signal, on_progress).await;
    }
    let xhr = XmlHttpRequest::new()?;
    xhr.open_with_async(&req.method, &req.url, true)?;
    for (name, value) in &req.headers {
        xhr.set_request_header(name, value)?;
    }
    // outcome: 0 load, 1 network error, 2 abort
    let outcome = Rc::new(RefCell::new(0u8));
    let mut settle: Option<Function> = None;
    let promise = Promise::new(&mut |resolve, _reject| settle = Some(resolve));
    let settle = settle.expect("Promise::new runs its executor synchronously");
    let on = |code: u8| {
        let (outcome, settle) = (outcome.clone(), settle.clone());
        Closure::<dyn FnMut()>::new(move || {
            *outcome.borrow_mut() = code;
            let _ = settle.call0(&JsValue::NULL);
        })
    };
    let onload = on(0);
    let onerror = on(1);
    let onabort = on(2);
    xhr.set_onload(Some(onload.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    xhr.set_ontimeout(Some(onerror.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(onabort.as_ref().unchecked_ref()));
    let progress = on_progress
        .map(|f| Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| f(e.loaded())));
    if let Some(p) = &progress {
        xhr.upload()?
            .set_onprogress(Some(p.as_ref().unchecked_ref()));
    }
    let abort = {
        let xhr = xhr.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = xhr.abort();
        })
    };
    if let Some(s) = signal {
        s.add_event_listener_with_callback("abort", abort.as_ref().unchecked_ref())?;
    }
    match body {
        Some(b) => match b.value.dyn_ref::<web_sys::Blob>() {
            Some(blob) => xhr.send_with_opt_blob(Some(blob))?,
            None => xhr.send_with_opt_buffer_source(Some(b.value.unchecked_ref()))?,
        },
        None => xhr.send()?,
    }
    let _ = JsFuture::from(promise).await;
    if let Some(s) = signal {
        let _ = s.remove_event_listener_with_callback("abort", abort.as_ref().unchecked_ref());
    }
    let code = *outcome.borrow();
    Ok(match code {
        0 => Ok(Reply {
            status: xhr.status()?,
            etag: xhr.get_response_header("ETag")?,
            text: xhr.response_text()?.unwrap_or_default(),
            length: xhr
                .get_response_header("Content-Length")?
                // As an integer: a float parser would grow the wasm.
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|n| n as f64),
        }),
        2 => Err(Failure::Aborted),
        _ if signal.is_some_and(|s| s.aborted()) => Err(Failure::Aborted),
        _ => Err(Failure::Network),
    })
}

/// [`send`] by fetch.
async fn send_fetch(
    global: &JsValue,
    req: &Presigned,
    body: Option<&Body>,
    signal: Option<&AbortSignal>,
    on_progress: Option<Rc<dyn Fn(f64)>>,
) -> Result<Result<Reply, Failure>, JsValue> {
    use super::field::{get, set};
    let init = js_sys::Object::new();
    set(&init, "method", req.method.as_str());
    let headers = js_sys::Object::new();
    for (name, value) in &req.headers {
        set(&headers, name, value.as_str());
    }
    set(&init, "headers", headers);
    if let Some(b) = body {
        set(&init, "body", b.value.clone());
    }
    if let Some(s) = signal {
        set(&init, "signal", s.clone());
    }
    let fetch: Function = get(global, "fetch").dyn_into()?;
    let sent = fetch.call2(global, &req.url.as_str().into(), &init)?;
    let response = match JsFuture::from(sent.unchecked_into::<Promise>()).await {
        Ok(r) => r,
        Err(_) if signal.is_some_and(|s| s.aborted()) => return Ok(Err(Failure::Aborted)),
        Err(_) => return Ok(Err(Failure::Network)),
    };
    let status = get(&response, "status").as_f64().unwrap_or(0.0) as u16;
    let header = |name: &str| -> Option<String> {
        let headers = get(&response, "headers");
        let f: Function = get(&headers, "get").dyn_into().ok()?;
        f.call1(&headers, &name.into()).ok()?.as_string()
    };
    let (etag, length) = (
        header("etag"),
        header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|n| n as f64),
    );
    let text = match get(&response, "text").dyn_into::<Function>() {
        Ok(f) => match f.call0(&response) {
            Ok(p) => JsFuture::from(p.unchecked_into::<Promise>())
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        },
        Err(_) => String::new(),
    };
    if let (Some(report), Some(b)) = (on_progress, body) {
        report(b.len());
    }
    Ok(Ok(Reply {
        status,
        etag,
        text,
        length,
    }))
}
