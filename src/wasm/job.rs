//! What every transfer shares: the pluggable presign function, sending with
//! retries, cancellation, progress, and the JS errors of the network layer.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

use super::error::with_code;
use super::field::{get, set};
use super::http::{self, Failure, Presigned, Reply};

/// Default attempts per request (the first one and seven retries): with the
/// backoff below they span at least 12 s (24 s on average), so a storage
/// server that restarts or a network that drops for a few seconds costs a
/// pause, not the upload.
pub const ATTEMPTS: u32 = 8;
/// First backoff delay, in milliseconds; doubles up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: f64 = 250.0;
/// Longest backoff delay, in milliseconds.
const MAX_BACKOFF_MS: f64 = 8000.0;

/// A JS error for an HTTP failure: code `Http` (or `Expired`), with `status`
/// and `partNumber`.
pub fn http_error(code: &str, status: u16, part_number: Option<u16>, what: &str) -> JsValue {
    let message = match code {
        "Expired" => format!(
            "{what}: the presigned URL had expired (HTTP {status}); check the clocks of the presign backend and S3"
        ),
        _ => format!("{what} failed with HTTP {status}"),
    };
    let e = with_code(code, &message);
    let _ = Reflect::set(&e, &"status".into(), &status.into());
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

/// A presign request `{ op }`.
pub fn request(op: &str) -> Object {
    let r = Object::new();
    set(&r, "op", op);
    r
}

/// The object's SSE-C headers as the presign API takes them.
pub fn sse_c_object(key: &crate::key::SseCKey) -> Object {
    let headers = crate::sse::sse_c(key);
    let o = Object::new();
    set(&o, "algorithm", headers[0].1.as_str());
    set(&o, "key", headers[1].1.as_str());
    set(&o, "keyMd5", headers[2].1.as_str());
    o
}

/// Refuses a presigned request that would expose SSE-C key material: over
/// plain http to anything but loopback, or with the key in the URL (where
/// logs and proxies keep it) instead of a signed header.
fn check_presigned(p: &Presigned) -> Result<(), JsValue> {
    let carries_key = Object::keys(&p.headers).iter().any(|name| {
        name.as_string()
            .is_some_and(|n| n.eq_ignore_ascii_case(crate::sse::SSE_C_KEY))
    });
    let lower = p.url.to_ascii_lowercase();
    if lower.contains("x-amz-server-side-encryption-customer-key=") {
        return Err(with_code(
            "Presign",
            "the presigned URL carries the SSE-C key in its query string; a presigner must sign it as a header",
        ));
    }
    if carries_key {
        super::sse::check_sse_c_url(&p.url)?;
    }
    Ok(())
}

/// Whether a failed write may have been stored by an earlier attempt: the
/// name is taken (409 from the backend, 412 from S3's `If-None-Match: *`) or
/// the multipart upload is gone (404, already completed).
fn maybe_stored(err: &JsValue) -> bool {
    matches!(get(err, "status").as_f64(), Some(404.0 | 409.0 | 412.0))
}

/// Whether a failed presign call is worth another try (the backend was
/// briefly unavailable or asked us to slow down, or the network failed).
fn presign_retryable(err: &JsValue) -> bool {
    let status = get(err, "status").as_f64().unwrap_or(0.0);
    status >= 500.0 || status == 429.0 || err.is_instance_of::<js_sys::TypeError>()
}

/// One transfer: the presign function, the object, its SSE-C headers, the
/// cancellation signal, progress.
pub struct Job {
    pub presign: Function,
    pub object: String,
    pub sse_c: Object,
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

    /// Asks the presign function for one request about this object.
    pub async fn presign(&self, request: &Object) -> Result<Presigned, JsValue> {
        if get(request, "object").is_undefined() {
            set(request, "object", self.object.as_str());
        }
        let value = self.presign.call1(&JsValue::NULL, request)?;
        let value = JsFuture::from(Promise::resolve(&value)).await?;
        let presigned = Presigned::from_js(&value)?;
        check_presigned(&presigned)?;
        Ok(presigned)
    }

    /// Presigns and sends once, without retries, ignoring the signal: for
    /// cleanup after a cancel. Failures are swallowed (best effort).
    pub async fn send_once(&self, request: &Object) {
        if let Ok(p) = self.presign(request).await {
            let _ = http::send(&p, None, None, None).await;
        }
    }

    /// Aborts multipart upload `upload_id` of this object, once and best
    /// effort (see [`Job::send_once`]).
    pub async fn abort_multipart(&self, upload_id: &str) {
        let r = request("abortMultipart");
        set(&r, "uploadId", upload_id);
        self.send_once(&r).await;
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
        // dyn: one copy of this and of `send` for every write, not one per caller.
        request: &dyn Fn() -> Object,
        body: Option<&http::Body>,
        what: &str,
        object_size: f64,
    ) -> Result<Reply, JsValue> {
        match self.send_dyn(request, body, None, what).await {
            Err(e) if maybe_stored(&e) && self.serves_ours(object_size).await => Ok(Reply {
                status: 200,
                etag: None,
                text: String::new(),
                length: Some(object_size),
            }),
            outcome => outcome,
        }
    }

    /// Whether S3 serves this object under our SSE-C key at `size` bytes.
    async fn serves_ours(&self, size: f64) -> bool {
        let head = || {
            let r = request("head");
            set(&r, "sseC", self.sse_c.clone());
            r
        };
        self.send_dyn(&head, None, None, "HeadObject")
            .await
            .is_ok_and(|reply| reply.length == Some(size))
    }

    /// Presigns and sends, retrying 5xx, 429, 408, expired URLs and network
    /// errors with jittered exponential backoff. Every attempt sends the same
    /// bytes under a fresh URL.
    pub async fn send(
        &self,
        request: impl Fn() -> Object,
        body: Option<&http::Body>,
        part_number: Option<u16>,
        what: &str,
    ) -> Result<Reply, JsValue> {
        self.send_dyn(&request, body, part_number, what).await
    }

    /// [`Job::send`] behind one `dyn`: the retry loop is compiled once, not
    /// once for every caller's closure (the wasm stays small).
    async fn send_dyn(
        &self,
        request: &dyn Fn() -> Object,
        body: Option<&http::Body>,
        part_number: Option<u16>,
        what: &str,
    ) -> Result<Reply, JsValue> {
        let mut delay = FIRST_BACKOFF_MS;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.aborted() {
                return Err(abort_error());
            }
            let last_try = attempt >= self.attempts;
            let presigned = match self.presign(&request()).await {
                Ok(p) => p,
                Err(e) if !last_try && presign_retryable(&e) => {
                    sleep(delay * (0.5 + js_sys::Math::random())).await;
                    delay = (delay * 2.0).min(MAX_BACKOFF_MS);
                    continue;
                }
                // fetch's TypeError is the network failing, not a refusal.
                Err(e) if e.is_instance_of::<js_sys::TypeError>() => {
                    return Err(with_code(
                        "Network",
                        &format!("{what}: presign: network error after {attempt} attempts"),
                    ));
                }
                Err(e) => return Err(e),
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
            let outcome = http::send(&presigned, body, self.signal.as_ref(), on_progress).await?;
            {
                let mut p = self.progress.borrow_mut();
                p.sent -= *counted.borrow();
                if let (Some(b), Ok(reply)) = (body.filter(|b| b.payload), &outcome) {
                    if (200..300).contains(&reply.status) {
                        p.sent += b.len();
                    }
                }
                p.report();
            }
            match outcome {
                Ok(reply) if (200..300).contains(&reply.status) => return Ok(reply),
                Ok(reply) if reply.expired() => {
                    if last_try {
                        return Err(http_error("Expired", reply.status, part_number, what));
                    }
                }
                Ok(reply) if reply.status >= 500 || reply.status == 429 || reply.status == 408 => {
                    if last_try {
                        return Err(http_error("Http", reply.status, part_number, what));
                    }
                }
                Ok(reply) => return Err(http_error("Http", reply.status, part_number, what)),
                Err(Failure::Aborted) => return Err(abort_error()),
                Err(Failure::Network) => {
                    if last_try {
                        let e = with_code(
                            "Network",
                            &format!("{what}: network error after {attempt} attempts"),
                        );
                        if let Some(n) = part_number {
                            let _ = Reflect::set(&e, &"partNumber".into(), &n.into());
                        }
                        return Err(e);
                    }
                }
            }
            sleep(delay * (0.5 + js_sys::Math::random())).await;
            delay = (delay * 2.0).min(MAX_BACKOFF_MS);
        }
    }
}
