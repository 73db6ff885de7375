//! What every transfer shares: the pluggable presign function, sending with
//! retries, cancellation, progress, and the JS errors of the network layer.
//! The decisions (what an answer means, whether and when to retry, whether
//! a presigned request may carry our key) are the core's
//! ([`crate::transfer`]); this makes the requests and waits.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::error::with_code;
use super::field::{get, set};
use super::http::{self, Failure, Reply};
use crate::transfer::presign::{Op, Presigned, Request, SseC};
use crate::transfer::retry::{self, Fault, Retry};

/// The JS error for a failed request: `code` from the fault, with `status`
/// and `partNumber` where known (an abort is [`abort_error`]).
pub fn fault_error(fault: &Fault, part_number: Option<u16>, what: &str, attempts: u32) -> JsValue {
    if *fault == Fault::Aborted {
        return abort_error();
    }
    let e = with_code(fault.code(), &fault.describe(what, attempts));
    if let Some(status) = fault.status() {
        let _ = Reflect::set(&e, &"status".into(), &status.into());
    }
    if let Some(n) = part_number {
        let _ = Reflect::set(&e, &"partNumber".into(), &n.into());
    }
    e
}

/// The error of a cancelled transfer: `name = "AbortError"`, code `Aborted`.
pub fn abort_error() -> JsValue {
    let e = js_sys::Error::new("the transfer was aborted");
    e.set_name("AbortError");
    let _ = Reflect::set(&e, &"code".into(), &"Aborted".into());
    e.into()
}

/// Waits `ms` milliseconds (works in pages and Workers).
pub async fn sleep(ms: f64) {
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

/// Bytes sealed and sent so far, reported to `onProgress` as
/// `{ phase, bytesSealed, bytesSent, total }`.
#[derive(Default)]
pub struct Progress {
    pub phase: &'static str,
    pub sealed: f64,
    pub sent: f64,
    pub total: f64,
    pub on_progress: Option<Function>,
}

impl Progress {
    pub fn new(options: &JsValue, phase: &'static str, total: f64) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Progress {
            phase,
            total,
            on_progress: get(options, "onProgress").dyn_into().ok(),
            ..Progress::default()
        }))
    }

    pub fn report(&self) {
        if let Some(f) = &self.on_progress {
            let p = Object::new();
            set(&p, "phase", self.phase);
            set(&p, "bytesSealed", self.sealed);
            set(&p, "bytesSent", self.sent);
            set(&p, "total", self.total);
            // A throwing callback is the caller's bug, not a failed transfer.
            let _ = f.call1(&JsValue::NULL, &p);
        }
    }
}

/// An internal AbortController, aborted by the user's signal or by a failed
/// part, so every request in flight stops and settles before cleanup.
pub struct Cancel {
    pub controller: web_sys::AbortController,
    user: Option<AbortSignal>,
    forward: Closure<dyn FnMut()>,
}

impl Cancel {
    pub fn new(user: Option<AbortSignal>) -> Result<Self, JsValue> {
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

    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// Whether the *user* cancelled (not an internal stop after a failure).
    pub fn user_aborted(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.aborted())
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

/// `options.presign`, the caller's presign function.
pub fn presign_option(options: &JsValue) -> Result<Function, JsValue> {
    get(options, "presign").dyn_into().map_err(|_| {
        with_code(
            "InvalidInput",
            "invalid input: options.presign must be a function",
        )
    })
}

/// The presign request as the caller's function takes it (the contract's
/// JSON shape, as a plain object).
fn request_to_js(r: &Request) -> Object {
    let o = Object::new();
    set(&o, "op", r.op.as_str());
    set(&o, "object", r.object.as_str());
    if let Some(c) = &r.sse_c {
        let sse = Object::new();
        set(&sse, "algorithm", c.algorithm.as_str());
        set(&sse, "key", c.key.as_str());
        set(&sse, "keyMd5", c.key_md5.as_str());
        set(&o, "sseC", sse);
    }
    if let Some(n) = r.size {
        set(&o, "size", n as f64);
    }
    if let Some(id) = &r.upload_id {
        set(&o, "uploadId", id.as_str());
    }
    if let Some(n) = r.part_number {
        set(&o, "partNumber", n);
    }
    if let Some(t) = &r.share {
        let share = Object::new();
        if let Some(n) = t.expires_secs {
            set(&share, "expiresSecs", n as f64);
        }
        if let Some(n) = t.downloads {
            set(&share, "downloads", n);
        }
        if let Some(h) = &t.delete_hash {
            set(&share, "deleteHash", h.as_str());
        }
        set(&o, "share", share);
    }
    o
}

/// The presign function's answer `{ method, url, headers }`.
fn presigned_from_js(value: &JsValue) -> Result<Presigned, JsValue> {
    let text = |field: &str| {
        get(value, field).as_string().ok_or_else(|| {
            with_code(
                "InvalidInput",
                &format!("the presign function must return {{ method, url, headers }} (missing `{field}`)"),
            )
        })
    };
    let mut headers = Vec::new();
    let given = get(value, "headers");
    if given.is_object() {
        for name in Object::keys(given.unchecked_ref::<Object>()).iter() {
            let name = name.as_string().unwrap_or_default();
            let value = get(&given, &name).as_string().unwrap_or_default();
            headers.push((name, value));
        }
    }
    Ok(Presigned {
        method: text("method")?,
        url: text("url")?,
        headers,
    })
}

/// The core's check of a presigned request, on the URL as the browser's own
/// parser (the one `fetch` and XHR use) reads it: relative to the page's
/// (or Worker's) location, as they resolve it.
fn check_presigned(p: &Presigned) -> Result<(), JsValue> {
    let base = get(&get(&js_sys::global(), "location"), "href").as_string();
    let url = match base {
        Some(base) => web_sys::Url::new_with_base(&p.url, &base),
        None => web_sys::Url::new(&p.url),
    }
    .map_err(|_| with_code("Presign", "the presign function returned an invalid URL"))?;
    p.check(&url.protocol(), &url.hostname()).map_err(|why| {
        let code = if why.starts_with("insecure") {
            "InsecureEndpoint"
        } else {
            "Presign"
        };
        with_code(code, why)
    })
}

/// The `status` of a JS error, if it has one.
fn status_of(err: &JsValue) -> Option<u16> {
    get(err, "status").as_f64().map(|s| s as u16)
}

/// The HTTP status a failed presign call carried (`None`: the network
/// failed), or `None` when the caller's function refused for its own reasons.
fn presign_fault(err: &JsValue) -> Option<Option<u16>> {
    if err.is_instance_of::<js_sys::TypeError>() {
        return Some(None);
    }
    status_of(err).map(Some)
}

/// One transfer: the presign function, the object, its SSE-C headers, the
/// cancellation signal, progress.
pub struct Job {
    pub presign: Function,
    pub object: String,
    /// The object's SSE-C headers (none for a cleanup of an old upload).
    pub sse_c: Option<SseC>,
    pub signal: Option<AbortSignal>,
    pub attempts: u32,
    pub progress: Rc<RefCell<Progress>>,
}

impl Job {
    pub fn report(&self) {
        self.progress.borrow().report();
    }

    /// Counts `n` more plaintext bytes sealed.
    pub fn sealed(&self, n: f64) {
        let mut p = self.progress.borrow_mut();
        p.sealed += n;
        p.report();
    }

    pub fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(|s| s.aborted())
    }

    /// A request for `op` on this object.
    pub fn request(&self, op: Op) -> Request {
        Request::new(op, self.object.as_str())
    }

    /// A request for `op` on this object, with its SSE-C headers.
    pub fn keyed(&self, op: Op) -> Request {
        self.request(op).sse_c(self.sse_c.as_ref())
    }

    /// Asks the presign function for one request about this object.
    pub async fn presign(&self, request: &Request) -> Result<Presigned, JsValue> {
        let value = self
            .presign
            .call1(&JsValue::NULL, &request_to_js(request))?;
        let value = JsFuture::from(Promise::resolve(&value)).await?;
        let presigned = presigned_from_js(&value)?;
        check_presigned(&presigned)?;
        Ok(presigned)
    }

    /// Presigns and sends once, without retries, ignoring the signal: for
    /// cleanup after a cancel. Failures are swallowed (best effort).
    pub async fn send_once(&self, request: &Request) {
        if let Ok(p) = self.presign(request).await {
            let _ = http::send(&p, None, None, None).await;
        }
    }

    /// Aborts multipart upload `upload_id` of this object, once and best
    /// effort (see [`Job::send_once`]).
    pub async fn abort_multipart(&self, upload_id: &str) {
        self.send_once(&self.request(Op::AbortMultipart).upload(upload_id, None))
            .await;
    }

    /// Sends a write that never replaces an object (a PUT, or the
    /// CompleteMultipartUpload that makes the object), as [`Job::send`].
    ///
    /// An attempt whose answer was lost (a dropped connection, a 5xx) may
    /// still have stored the object: its retry then finds the name taken (409
    /// from the backend, 412 from S3) or, when the browser itself re-sent a
    /// completion, the upload gone (404). The object is ours exactly when S3
    /// serves it under this object's SSE-C key at `object_size` bytes: a
    /// stranger cannot have written it under that key.
    pub async fn send_write(
        &self,
        request: &Request,
        body: Option<&http::Body>,
        what: &str,
        object_size: f64,
    ) -> Result<Reply, JsValue> {
        match self.send(request, body, None, what).await {
            Err(e)
                if retry::may_have_stored(status_of(&e)) && self.serves_ours(object_size).await =>
            {
                Ok(Reply {
                    status: 200,
                    etag: None,
                    text: String::new(),
                    length: Some(object_size),
                })
            }
            outcome => outcome,
        }
    }

    /// Whether S3 serves this object under our SSE-C key at `size` bytes.
    async fn serves_ours(&self, size: f64) -> bool {
        self.send(&self.keyed(Op::Head), None, None, "HeadObject")
            .await
            .is_ok_and(|reply| reply.length == Some(size))
    }

    /// Presigns and sends, retrying what [`retry`] says is worth another
    /// try, with its backoff. Every attempt sends the same bytes under a
    /// fresh URL.
    pub async fn send(
        &self,
        request: &Request,
        body: Option<&http::Body>,
        part_number: Option<u16>,
        what: &str,
    ) -> Result<Reply, JsValue> {
        let mut retry = Retry::new(self.attempts);
        loop {
            retry.attempt();
            let fail = |fault: Fault, attempts| fault_error(&fault, part_number, what, attempts);
            if self.aborted() {
                return Err(fail(Fault::Aborted, retry.made()));
            }
            let presigned = match self.presign(request).await {
                Ok(p) => p,
                Err(e) => match presign_fault(&e) {
                    Some(status) => {
                        if let Some(ms) =
                            retry.after(retry::presign_retryable(status), js_sys::Math::random())
                        {
                            sleep(f64::from(ms)).await;
                            continue;
                        }
                        // fetch's TypeError is the network failing, not a refusal.
                        return Err(match status {
                            None => fail(Fault::Network, retry.made()),
                            Some(_) => e,
                        });
                    }
                    // The caller's function refused: its error as it is.
                    None => return Err(e),
                },
            };
            // Bytes of this attempt counted as sent so far; taken back on a retry.
            let counted = Rc::new(RefCell::new(0.0f64));
            let on_progress: Option<Rc<dyn Fn(f64)>> = body.filter(|b| b.payload).map(|_| {
                let (counted, progress) = (counted.clone(), self.progress.clone());
                Rc::new(move |loaded: f64| {
                    let mut p = progress.borrow_mut();
                    p.sent += loaded - *counted.borrow();
                    *counted.borrow_mut() = loaded;
                    p.report();
                }) as Rc<dyn Fn(f64)>
            });
            // A reply S3 refused is a fault like a lost connection.
            let outcome = http::send(&presigned, body, self.signal.as_ref(), on_progress)
                .await?
                .map_err(|failure| match failure {
                    Failure::Aborted => Fault::Aborted,
                    Failure::Network => Fault::Network,
                })
                .and_then(|reply| match retry::classify(reply.status, &reply.text) {
                    None => Ok(reply),
                    Some(fault) => Err(fault),
                });
            {
                let mut p = self.progress.borrow_mut();
                p.sent -= *counted.borrow();
                if let (Some(b), Ok(_)) = (body.filter(|b| b.payload), &outcome) {
                    p.sent += b.len();
                }
                p.report();
            }
            let fault = match outcome {
                Ok(reply) => return Ok(reply),
                Err(fault) => fault,
            };
            match retry.after(fault.retryable(), js_sys::Math::random()) {
                Some(ms) => sleep(f64::from(ms)).await,
                None => return Err(fail(fault, retry.made())),
            }
        }
    }
}
