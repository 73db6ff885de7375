//! One upload through presigned URLs, for the package's upload.ts, which does
//! the I/O (reads the file, seals on its engine, presigns, sends, retries,
//! keeps the resume state in the caller's store). What to seal, what to send
//! and what an answer means are the core's ([`crate::transfer`]); this
//! translates: one call says how to seal a part, one records it.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use super::error::{fault_error, invalid, js, with_code};
use super::field::{get, number, optional_whole, set, text};
use super::key::{Key, Recipient};
use super::machine::{WasmCipher, digests_from, sealing_handle, steps_to_js};
use crate::format::Metadata;
use crate::object::Randomness;
use crate::transfer::plan::{self, Part};
use crate::transfer::presign::{Op as S3Op, Presigned, Request};
use crate::transfer::resume::{STATE_VERSION, Saved, Stop};
use crate::transfer::retry::{self, Fault, Retry};
use crate::transfer::share::Terms;
use crate::transfer::upload::{Settings, Target, Upload};
use crate::transfer::xml;

/// One object being uploaded ([`crate::transfer::upload::Upload`]).
#[wasm_bindgen]
pub struct UploadSealer(Upload);

sealing_handle!(UploadSealer);

/// `options.share` (`{ expiresSecs?, downloads? }`) as terms; a whole number
/// in range or absent, each field.
fn share_terms(share: &JsValue) -> Result<Option<Terms>, JsValue> {
    if share.is_null_or_undefined() {
        return Ok(None);
    }
    // Integers only in the message: formatting an f64 would pull float
    // printing into the wasm.
    let field = |name: &str, max: u32| {
        optional_whole(share, name, 1.0..=f64::from(max), || {
            invalid(&format!(
                "share.{name} must be a whole number from 1 to {max}"
            ))
        })
    };
    Ok(Some(Terms {
        expires_secs: field("expiresSecs", u32::MAX)?,
        downloads: field("downloads", crate::transfer::share::MAX_DOWNLOADS)?.map(|n| n as u32),
        delete_hash: None,
    }))
}

/// The resume state as JSON text (the store's form of [`Saved`]).
fn to_json(s: &Saved) -> Option<String> {
    let o = Object::new();
    set(&o, "v", STATE_VERSION);
    set(&o, "object", s.object.as_str());
    set(&o, "random", s.random.to_hex());
    set(&o, "commitment", s.commitment.as_str());
    set(&o, "uploadId", s.upload_id.as_str());
    set(&o, "partSize", s.part_size as f64);
    let pairs = |list: &[(u16, String)]| {
        let a = Array::new();
        for (n, value) in list {
            a.push(&Array::of2(&(*n).into(), &value.as_str().into()));
        }
        a
    };
    set(&o, "sealed", pairs(&s.sealed));
    set(&o, "parts", pairs(&s.parts));
    js_sys::JSON::stringify(&o).ok()?.as_string()
}

/// Inverse of [`to_json`]; `None` for anything else.
fn from_json(text_: &str) -> Option<Saved> {
    let v = js_sys::JSON::parse(text_).ok()?;
    if get(&v, "v").as_f64() != Some(f64::from(STATE_VERSION)) {
        return None;
    }
    let pairs = |field: &str| -> Option<Vec<(u16, String)>> {
        Array::from(&get(&v, field))
            .iter()
            .map(|p| {
                let p = Array::from(&p);
                Some((
                    u16::try_from(p.get(0).as_f64()? as u64).ok()?,
                    p.get(1).as_string()?,
                ))
            })
            .collect()
    };
    let part_size = get(&v, "partSize").as_f64()?;
    Some(Saved {
        object: text(&v, "object")?,
        random: Randomness::from_hex(&text(&v, "random")?).ok()?,
        commitment: text(&v, "commitment")?,
        upload_id: text(&v, "uploadId")?,
        part_size: (part_size >= 0.0 && part_size.fract() == 0.0).then_some(part_size as u64)?,
        sealed: pairs("sealed")?,
        parts: pairs("parts")?,
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

/// Starts an upload (see [`Upload::start`]) with the page's options.
fn start(
    target: &Target,
    options: JsValue,
    size: f64,
    saved: Option<String>,
) -> Result<UploadSealer, JsValue> {
    let settings = Settings {
        multipart_threshold: number(
            &options,
            "multipartThreshold",
            plan::DEFAULT_MULTIPART_THRESHOLD as f64,
        ) as u64,
        part_size: number(&options, "partSize", plan::DEFAULT_PART_SIZE as f64) as u64,
        share: share_terms(&get(&options, "share"))?,
    };
    let meta = Metadata {
        name: text(&options, "name").unwrap_or_default(),
        media_type: text(&options, "type").unwrap_or_default(),
        size: Some(size as u64),
    };
    let saved = saved.as_deref().and_then(from_json);
    let upload = js(Upload::start(target, &meta, size as u64, &settings, saved))?;
    Ok(UploadSealer(upload))
}

fn part_to_js(part: &Part, done: bool) -> Object {
    let o = Object::new();
    set(&o, "number", part.number);
    set(&o, "start", part.plaintext.start as f64);
    set(&o, "end", part.plaintext.end as f64);
    set(&o, "size", part.size as f64);
    set(&o, "last", part.last);
    set(&o, "done", done);
    o
}

#[wasm_bindgen]
impl UploadSealer {
    /// Starts an upload of `size` bytes for `key` (a root key or
    /// passphrase); `options`: `{ name, type, multipartThreshold, partSize,
    /// share }`. With `saved`, a resume store's text for this file, it
    /// resumes that upload if the core's verdict allows (`resuming`; then
    /// `verify()` lists the parts to seal again and compare).
    #[wasm_bindgen(js_name = withKey)]
    pub fn with_key(
        key: &Key,
        options: JsValue,
        size: f64,
        saved: Option<String>,
    ) -> Result<UploadSealer, JsValue> {
        start(&Target::Secret(key.secret.clone()), options, size, saved)
    }

    /// As `withKey`, sealed to `recipient` (an upload form): the uploader
    /// keeps no key, and nothing resumes.
    #[wasm_bindgen(js_name = toRecipient)]
    pub fn to_recipient(
        recipient: &Recipient,
        options: JsValue,
        size: f64,
    ) -> Result<UploadSealer, JsValue> {
        let target = Target::Recipient(recipient.inner.clone());
        start(&target, options, size, None)
    }

    /// Bytes stored.
    #[wasm_bindgen(getter, js_name = objectLength)]
    pub fn object_length(&self) -> f64 {
        self.0.object_len() as f64
    }

    /// Whether it goes up in parts (else one PUT of the one part).
    #[wasm_bindgen(getter)]
    pub fn multipart(&self) -> bool {
        self.0.is_multipart()
    }

    /// Whether it continues the saved upload (once `verify()` matched).
    #[wasm_bindgen(getter)]
    pub fn resuming(&self) -> bool {
        self.0.resuming()
    }

    /// The parts: `{ number, start, end, size, last, done }` (plaintext
    /// `start..end`, `size` bytes on the wire; `done`: S3 has it).
    pub fn parts(&self) -> Array {
        let parts = self.0.parts().iter();
        parts
            .map(|p| part_to_js(p, self.0.finished(p.number)))
            .collect()
    }

    /// When resuming: the parts to seal again, as `parts()` has them, each
    /// with the `fingerprint` it must seal to; resume only if every one does.
    pub fn verify(&self) -> Array {
        let list = self.0.to_verify().map(|(part, fingerprint)| {
            let part = part_to_js(part, false);
            set(&part, "fingerprint", fingerprint);
            JsValue::from(part)
        });
        list.collect()
    }

    /// How to seal part `number`: `{ head?, steps, ivs }` (see
    /// `SealMachine`), every step a segment of the part's plaintext; the
    /// object's head goes first in part 1, and the last part's signature
    /// comes from `signature()`. Parts are sealed in order, one at a time.
    #[wasm_bindgen(js_name = partSteps)]
    pub fn part_steps(&self, number: u16) -> Result<Object, JsValue> {
        let (head, steps) = js(self.0.part_steps(number))?;
        let out = steps_to_js(&steps);
        if let Some(head) = head {
            set(&out, "head", Uint8Array::from(&head[..]));
        }
        Ok(out)
    }

    /// Part `number` was sealed: its segments' SHA-256 (32 bytes each) go
    /// to the signature, and the fingerprint of their tags (16 bytes each)
    /// is what the resume state keeps.
    #[wasm_bindgen(js_name = recordPart)]
    pub fn record_part(
        &mut self,
        number: u16,
        digests: &[u8],
        tags: &[u8],
    ) -> Result<String, JsValue> {
        js(self.0.record_part(number, &digests_from(digests)?, tags))
    }

    /// The object's signature, which ends the last part: once every part
    /// before it was sealed (or sealed again to verify it).
    pub fn signature(&self) -> Result<Uint8Array, JsValue> {
        Ok(Uint8Array::from(&js(self.0.signature())?[..]))
    }

    /// The presign request for `op` (`"put"`, `"uploadPart"`, …) on this
    /// object: its SSE-C headers, and sharing terms, where the operation
    /// takes them; this upload's id for a part, the completion and the
    /// abort.
    pub fn request(
        &self,
        op: &str,
        size: Option<f64>,
        part_number: Option<u16>,
    ) -> Result<Object, JsValue> {
        let op = S3Op::ALL
            .into_iter()
            .find(|o| o.as_str() == op)
            .ok_or_else(|| with_code("InvalidInput", "invalid input: no such operation"))?;
        let request = js(self.0.request(op, size.map(|n| n as u64), part_number))?;
        Ok(request_to_js(&request))
    }

    /// The request that aborts the saved upload given, when this upload
    /// does not continue it (its parts are garbage).
    #[wasm_bindgen(js_name = savedUpload)]
    pub fn saved_upload(&self) -> Option<Object> {
        Some(request_to_js(&self.0.stale()?))
    }

    /// Begins the multipart upload from CreateMultipartUpload's answer.
    pub fn begin(&mut self, created: &str) -> Result<(), JsValue> {
        let upload_id = xml::upload_id(created)
            .ok_or_else(|| with_code("Http", "CreateMultipartUpload returned no UploadId"))?;
        js(self.0.begin(upload_id))
    }

    /// Records that part `n` was sealed with `fingerprint`; returns the
    /// state to store before the part is sent, or nothing when unchanged.
    /// Throws for a part sealed before to other bytes (the core's
    /// `record_sealed`): it must not be sent.
    #[wasm_bindgen(js_name = recordSealed)]
    pub fn record_sealed(
        &mut self,
        n: u16,
        fingerprint: String,
    ) -> Result<Option<String>, JsValue> {
        let Some(state) = js(self.0.record_sealed(n, fingerprint))? else {
            return Ok(None);
        };
        // A part whose fingerprint cannot be stored must not be sent.
        to_json(state)
            .map(Some)
            .ok_or_else(|| with_code("Engine", "the resume state could not be written"))
    }

    /// Records S3's ETag for part `n`; returns the state to store.
    #[wasm_bindgen(js_name = recordFinished)]
    pub fn record_finished(&mut self, n: u16, etag: String) -> Option<String> {
        to_json(self.0.record_finished(n, etag)?)
    }

    /// The CompleteMultipartUpload document, of every part S3 confirmed.
    pub fn completion(&self) -> Vec<u8> {
        self.0.completion().into_bytes()
    }

    /// Fails if CompleteMultipartUpload's answer is an error document (S3
    /// may answer 200 with one).
    #[wasm_bindgen(js_name = checkCompleted)]
    pub fn check_completed(&self, answer: &str) -> Result<(), JsValue> {
        if xml::is_error(answer) {
            return Err(with_code("Http", "CompleteMultipartUpload failed"));
        }
        Ok(())
    }

    /// With sharing terms: the owner's delete token (`s3seal-delete-…`).
    #[wasm_bindgen(js_name = deleteToken)]
    pub fn delete_token(&self) -> Option<String> {
        Some(self.0.delete_token()?.to_text().to_string())
    }
}

/// Whether a multipart upload that stopped (`"cancelled"`, `"fileChanged"`
/// or `"failed"`) is kept for a resume, its state being `stored`, or
/// aborted (the core's [`Stop::keeps_upload`]).
#[wasm_bindgen(js_name = keepsUpload)]
pub fn keeps_upload(stop: &str, stored: bool) -> Result<bool, JsValue> {
    let stop = match stop {
        "cancelled" => Stop::Cancelled,
        "fileChanged" => Stop::FileChanged,
        "failed" => Stop::Failed,
        _ => return Err(with_code("InvalidInput", "invalid input: no such stop")),
    };
    Ok(stop.keeps_upload(stored))
}

/// Judges a presigned request as the host will send it: `method`, the URL
/// as the browser's parser reads it (`href`, with its `protocol` and
/// `hostname`) and the headers as name, value, name, … It must not expose
/// SSE-C key material (the core's [`Presigned::check`]): `InsecureEndpoint`
/// or `Presign` otherwise.
#[wasm_bindgen(js_name = checkPresigned)]
pub fn check_presigned(
    method: String,
    href: String,
    protocol: &str,
    hostname: &str,
    headers: Vec<String>,
) -> Result<(), JsValue> {
    let headers = headers
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
        .collect();
    let presigned = Presigned {
        method,
        url: href,
        headers,
    };
    (presigned.check(protocol, hostname)).map_err(|why| with_code(why.code(), &why.to_string()))
}

/// The attempts of one request: what each answer means and whether, and
/// when, to try again ([`crate::transfer::retry`]).
#[wasm_bindgen]
pub struct Attempts {
    retry: Retry,
    fault: Fault,
}

#[wasm_bindgen]
impl Attempts {
    /// `retries` after the first attempt (default: the core's).
    #[wasm_bindgen(constructor)]
    pub fn new(retries: Option<f64>) -> Attempts {
        let attempts = retries
            .filter(|n| *n >= 0.0 && n.is_finite())
            .map_or(retry::ATTEMPTS, |n| (n as u32).saturating_add(1));
        Attempts {
            retry: Retry::new(attempts),
            fault: Fault::Network,
        }
    }

    /// Counts an attempt about to be made.
    pub fn begin(&mut self) {
        self.retry.attempt();
    }

    /// Whether an HTTP answer succeeded; if not, its fault is kept.
    pub fn answered(&mut self, status: u16, body: &str) -> bool {
        match retry::classify(status, body) {
            None => true,
            Some(fault) => {
                self.fault = fault;
                false
            }
        }
    }

    /// No HTTP answer came: the connection failed.
    #[wasm_bindgen(js_name = networkFailed)]
    pub fn network_failed(&mut self) {
        self.fault = Fault::Network;
    }

    /// Milliseconds to wait before trying again, or nothing to give up.
    /// `jitter` in [0, 1) spreads many clients' retries.
    pub fn wait(&mut self, jitter: f64) -> Option<u32> {
        self.retry.after(self.fault.retryable(), jitter)
    }

    /// As `wait`, after the presign call itself failed with `status`
    /// (nothing: the network failed).
    #[wasm_bindgen(js_name = presignWait)]
    pub fn presign_wait(&mut self, status: Option<u16>, jitter: f64) -> Option<u32> {
        self.fault = Fault::Network;
        self.retry.after(retry::presign_retryable(status), jitter)
    }

    /// The error to throw for the last fault of `what` (with the part's
    /// number, for one part).
    pub fn error(&self, what: &str, part_number: Option<u16>) -> JsValue {
        fault_error(&self.fault, part_number, what, self.retry.made())
    }

    /// Whether a write that failed with `status` (nothing: no answer) may
    /// still have stored the object.
    #[wasm_bindgen(js_name = mayHaveStored)]
    pub fn may_have_stored(status: Option<u16>) -> bool {
        retry::may_have_stored(status)
    }
}
