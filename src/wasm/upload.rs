//! Upload through presigned URLs: one PUT up to a threshold, multipart above
//! it. Parts are made of whole segments ([`crate::transfer::plan`]) and sealed on
//! demand, in order, one part at a time with several segments in the engine
//! at once, while earlier parts upload; so memory stays bounded by the parts
//! in flight and the engine never waits for the network. Requests are
//! retried byte-identically, cancelled through an AbortSignal (then
//! AbortMultipartUpload), and resumed after a reload ([`super::resume`]).

use futures_util::StreamExt;
use js_sys::{Array, Function, Object, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::Blob;

use super::engine::{Choice, Engine, Op, to_bytes};
use super::error::{js, with_code};
use super::field::{get, hex, number, set, text};
use super::http::Body;
use std::cell::RefCell;

use super::file::BlobParts;
use super::job::{Cancel, Job, Progress, abort_error, presign_option};
use super::key::{Key, Recipient};
use super::receipt::Receipt;
use super::resume::{Saved, Store, Tracker};
use crate::Secret;
use crate::format::Metadata;
use crate::object::{self, Randomness, SegmentLedger};
use crate::stream::TAG_SIZE;
use crate::transfer::plan::{self, Part, Upload};
use crate::transfer::presign::{Op as S3Op, SseC};
use crate::transfer::resume::{Verdict, fingerprint};
use crate::transfer::share::Terms;
use crate::transfer::{retry, xml};

/// Files up to this size go up in one PUT, in bytes of plaintext.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// Default target part size, in bytes.
pub const PART_SIZE: u64 = 8 << 20;
/// Default parts uploading at once.
pub const CONCURRENCY: usize = 4;
/// Segments in the engine at once: WebCrypto runs one call at a time, but a
/// queued call lets it start the next segment without waiting for us.
pub const SEGMENTS_IN_FLIGHT: usize = 4;

/// A part sealed and ready to send.
struct SealedPart {
    pieces: Array,
    fingerprint: String,
}

/// Reads `part`'s plaintext and seals it (see [`seal_part`]); the plaintext's
/// memory goes back to `file` for the next part.
async fn read_and_seal(
    file: &BlobParts,
    engine: &Engine,
    sealer: &object::Sealer,
    part: &Part,
    on_sealed: &dyn Fn(f64),
    digest: Option<&RefCell<Receipt>>,
    ledger: &RefCell<SegmentLedger>,
) -> Result<SealedPart, JsValue> {
    // The hash Worker's backlog bounds how far sealing runs ahead of it.
    let backlog = digest.and_then(|d| d.borrow().settled());
    if let Some(backlog) = backlog {
        JsFuture::from(backlog).await?;
    }
    let plaintext = file.read(part.plaintext.start, part.plaintext.end).await?;
    let sealed = seal_part(engine, sealer, &plaintext, part, on_sealed, digest, ledger).await;
    // Every engine call has started, so has copied its input, by now.
    file.recycle(&plaintext);
    sealed
}

/// Seals `part` from its `plaintext`: each segment goes
/// through the engine, several at a time, in order. Parts arrive here in
/// order, so `digest` (the receipt's SHA-256) sees the whole file in order,
/// each segment as its cipher call is queued. Each sealed segment's SHA-256
/// goes into `ledger`, for the signature.
async fn seal_part(
    engine: &Engine,
    sealer: &object::Sealer,
    plaintext: &Uint8Array,
    part: &Part,
    on_sealed: &dyn Fn(f64),
    digest: Option<&RefCell<Receipt>>,
    ledger: &RefCell<SegmentLedger>,
) -> Result<SealedPart, JsValue> {
    let cipher = sealer.segment_cipher();
    let mut sealing = futures_util::stream::iter(part.segment_jobs().map(|job| {
        let (start, end) = (job.plaintext.start, job.plaintext.end);
        let view = plaintext.subarray(start as u32, end as u32);
        let nonce = cipher.nonce(job.index, job.last);
        // `buffered` asks for segments in order, a few ahead of the engine.
        if let Some(d) = digest {
            d.borrow_mut().update(&view);
        }
        let started = js(nonce).and_then(|n| engine.start_hashed(Op::Seal, n, &view));
        async move {
            let (call, hash) = started?;
            let sealed = to_bytes(JsFuture::from(call).await.map_err(|e| Op::Seal.error(e))?);
            let hash = JsFuture::from(hash).await?;
            Ok::<_, JsValue>((sealed, end - start, super::engine::digest_bytes(&hash)?))
        }
    }))
    .buffered(SEGMENTS_IN_FLIGHT);
    let pieces = Array::new();
    if part.carries_head() {
        pieces.push(&Uint8Array::from(&sealer.head()[..]));
    }
    let mut tags = Vec::with_capacity((part.segments.end - part.segments.start) as usize);
    let mut digests = Vec::with_capacity(tags.capacity());
    while let Some(result) = sealing.next().await {
        let (sealed, plain_len, segment_digest) = result?;
        digests.push(segment_digest);
        let len = sealed.length();
        let mut tag = [0u8; TAG_SIZE];
        sealed
            .subarray(len - TAG_SIZE as u32, len)
            .copy_to(&mut tag);
        tags.push(tag);
        pieces.push(&sealed);
        on_sealed(plain_len as f64);
    }
    js(ledger
        .borrow_mut()
        .record_digests(part.segments.start, &digests, part.last))?;
    Ok(SealedPart {
        pieces,
        fingerprint: fingerprint(tags.iter().map(|t| &t[..])),
    })
}

/// Ends the last part with the object's signature. Parts are sealed in
/// order, and a resumed upload sealed its finished parts again to check
/// them, so by now `ledger` has every segment.
fn sign(
    last: &SealedPart,
    sealer: &object::Sealer,
    ledger: &RefCell<SegmentLedger>,
) -> Result<(), JsValue> {
    let signature = js(sealer.signature(&ledger.borrow()))?;
    last.pieces.push(&Uint8Array::from(&signature[..]));
    Ok(())
}

fn body_of(pieces: &Array) -> Result<Body, JsValue> {
    Ok(Body::payload(Blob::new_with_u8_array_sequence(pieces)?))
}

/// Seals `file` and uploads it through presigned URLs. Resolves to
/// `{ objectName, objectId, fileKey, size, resumedParts, engine }`.
#[wasm_bindgen]
pub fn upload(file: BlobParts, key: &Key, options: JsValue) -> Promise {
    let target = Target::Secret(key.secret.clone());
    future_to_promise(async move { upload_inner(file, target, options).await })
}

/// Seals `file` to `recipient` and uploads it (recipient mode, an upload
/// form): the uploader keeps no key. Resolves to the receipt `{ objectName,
/// objectId, size, plaintextSize, sha256, engine }`; `sha256` is of the
/// plaintext, for the uploader to keep and the recipient to check.
#[wasm_bindgen(js_name = uploadToRecipient)]
pub fn upload_to_recipient(file: BlobParts, recipient: &Recipient, options: JsValue) -> Promise {
    let target = Target::Recipient(recipient.inner.clone());
    future_to_promise(async move { upload_inner(file, target, options).await })
}

/// Whom an upload is sealed for.
enum Target {
    /// A root key or passphrase the uploader holds.
    Secret(Secret),
    /// A recipient's public key: the uploader holds nothing afterwards.
    Recipient(crate::recipient::Recipient),
}

struct Settings {
    threshold: u64,
    part_size: u64,
    concurrency: usize,
    attempts: u32,
    engine: Choice,
    /// `options.share` (`{ expiresSecs?, downloads? }`): sharing terms for a
    /// backend that keeps them; sent with the first write.
    share: Option<Terms>,
}

impl Settings {
    fn from_options(options: &JsValue) -> Result<Self, JsValue> {
        Ok(Self {
            threshold: number(options, "multipartThreshold", MULTIPART_THRESHOLD as f64) as u64,
            part_size: number(options, "partSize", PART_SIZE as f64) as u64,
            concurrency: (number(options, "concurrency", CONCURRENCY as f64) as usize).max(1),
            attempts: get(options, "retries")
                .as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .map_or(retry::ATTEMPTS, |n| (n as u32).saturating_add(1)),
            engine: Choice::from_options(options)?,
            share: share_terms(&get(options, "share"))?,
        })
    }

    /// The terms sent with the first write: the caller's, with the hash of
    /// the owner's delete token (the token itself stays here).
    fn terms(&self, sealer: &object::Sealer) -> Option<Terms> {
        self.share.clone().map(|mut terms| {
            terms.delete_hash = sealer.delete_token().map(|t| t.hash());
            terms
        })
    }
}

/// `options.share` as terms; a whole number in range or absent, each field.
fn share_terms(share: &JsValue) -> Result<Option<Terms>, JsValue> {
    if share.is_undefined() || share.is_null() {
        return Ok(None);
    }
    // Integers only in the message: formatting an f64 would pull float
    // printing into the wasm (~10 KB gzipped).
    let whole = |field: &str, max: u32| -> Result<Option<u32>, JsValue> {
        let value = get(share, field);
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        match value.as_f64() {
            Some(n) if n.fract() == 0.0 && (1.0..=f64::from(max)).contains(&n) => {
                Ok(Some(n as u32))
            }
            _ => Err(with_code(
                "InvalidInput",
                &format!("invalid input: share.{field} must be a whole number from 1 to {max}"),
            )),
        }
    };
    Ok(Some(Terms {
        expires_secs: whole("expiresSecs", u32::MAX)?.map(u64::from),
        downloads: whole("downloads", crate::transfer::share::MAX_DOWNLOADS)?,
        delete_hash: None,
    }))
}

/// A sealer, its engine, the digests of segments sealed so far and, when
/// resuming, the verified saved state.
struct Prepared {
    sealer: object::Sealer,
    engine: Engine,
    ledger: RefCell<SegmentLedger>,
    prior: Option<Saved>,
}

async fn engine_for(choice: Choice, sealer: &object::Sealer) -> Result<Engine, JsValue> {
    Engine::new(
        choice,
        sealer.segment_key(),
        sealer.segment_cipher().clone(),
    )
    .await
}

/// Whether the parts `to_verify` (from [`Verdict::Verify`]) still seal to
/// the same fingerprints: checked locally, nothing is sent.
async fn unchanged(
    engine: &Engine,
    sealer: &object::Sealer,
    file: &BlobParts,
    to_verify: &[(&Part, &str)],
    progress: &RefCell<Progress>,
    ledger: &RefCell<SegmentLedger>,
) -> Result<bool, JsValue> {
    let on_sealed = |n: f64| {
        let mut p = progress.borrow_mut();
        p.sealed += n;
        p.report();
    };
    for (part, fingerprint) in to_verify {
        let again = read_and_seal(file, engine, sealer, part, &on_sealed, None, ledger).await?;
        if again.fingerprint != *fingerprint {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Builds the sealer: from the saved state if it is this file with this key
/// and unchanged, else fresh (after aborting the stale upload).
async fn prepare(
    target: &Target,
    meta: &Metadata,
    file: &BlobParts,
    settings: &Settings,
    store: Option<&Store>,
    presign: &Function,
    progress: &RefCell<Progress>,
) -> Result<Prepared, JsValue> {
    let secret = match target {
        Target::Secret(secret) => secret,
        // Resuming would mean storing the file key in the browser; a
        // recipient-mode upload starts afresh instead.
        Target::Recipient(recipient) => {
            let sealer = js(object::Sealer::for_recipient(recipient, meta))?;
            let engine = engine_for(settings.engine, &sealer).await?;
            return Ok(Prepared {
                sealer,
                engine,
                ledger: RefCell::default(),
                prior: None,
            });
        }
    };
    js(object::sealing_source(secret))?;
    let saved = match store {
        Some(s) => s.load().await,
        None => None,
    };
    if let Some(saved) = saved {
        // The key and the saved randomness give the signing key, so the id,
        // and the file key: the same object only with the same key.
        let sealer = js(object::Sealer::with_randomness(secret, meta, saved.random))?;
        let id = sealer.object_id();
        let plan = js(plan::plan(
            sealer.head_len(),
            file.size(),
            settings.part_size,
        ))?;
        let verdict = saved.verdict(
            &sealer.object_name().to_string(),
            &hex(&sealer.file_key().commitment(&id)),
            settings.part_size,
            &plan,
        );
        if let Verdict::Verify(to_verify) = verdict {
            let engine = engine_for(settings.engine, &sealer).await?;
            let ledger = RefCell::default();
            if unchanged(&engine, &sealer, file, &to_verify, progress, &ledger).await? {
                return Ok(Prepared {
                    sealer,
                    engine,
                    ledger,
                    prior: Some(saved),
                });
            }
        }
        // Another file, another key, or changed bytes: the old upload is
        // garbage. Abort it (best effort) and seal afresh.
        let old = Job {
            presign: presign.clone(),
            object: saved.object.clone(),
            sse_c: None,
            signal: None,
            attempts: 1,
            progress: Progress::new(&JsValue::UNDEFINED, "", 0.0),
        };
        old.abort_multipart(&saved.upload_id).await;
        if let Some(s) = store {
            s.forget().await;
        }
    }
    let sealer = js(object::Sealer::with_randomness(
        secret,
        meta,
        js(Randomness::generate())?,
    ))?;
    let engine = engine_for(settings.engine, &sealer).await?;
    Ok(Prepared {
        sealer,
        engine,
        ledger: RefCell::default(),
        prior: None,
    })
}

async fn upload_inner(
    reader: BlobParts,
    target: Target,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let file = reader.blob();
    let presign = presign_option(&options)?;
    let settings = Settings::from_options(&options)?;
    let size = file.size() as u64;
    let meta = Metadata {
        name: text(&options, "name")
            .or_else(|| text(&file, "name"))
            .unwrap_or_default(),
        media_type: text(&options, "type").unwrap_or_else(|| file.type_()),
        size: Some(size),
    };
    let recipient_mode = matches!(target, Target::Recipient(_));
    let digest = if recipient_mode {
        Some(RefCell::new(Receipt::start(size).await?))
    } else {
        None
    };
    let store = if size > settings.threshold && !recipient_mode {
        Store::from_options(&options, &file)
    } else {
        None
    };
    let verifying = Progress::new(&options, "verifying", size as f64);
    let Prepared {
        sealer,
        engine,
        ledger,
        prior,
    } = prepare(
        &target,
        &meta,
        &reader,
        &settings,
        store.as_ref(),
        &presign,
        &verifying,
    )
    .await?;
    let total = sealer.object_len(size);
    let cancel = Cancel::new(get(&options, "signal").dyn_into().ok())?;
    let job = Job {
        presign,
        object: sealer.object_name().to_string(),
        sse_c: Some(SseC::from_key(&sealer.sse_c_key())),
        signal: Some(cancel.signal()),
        attempts: settings.attempts,
        progress: Progress::new(&options, "uploading", total as f64),
    };
    let resumed = prior.as_ref().map_or(0, |p| p.parts.len());
    let upload = js(plan::upload(
        sealer.head_len(),
        size,
        settings.threshold,
        settings.part_size,
    ))?;
    let receipt = match upload {
        Upload::Multipart(plan) => {
            run_multipart(
                &job,
                &cancel,
                &engine,
                &sealer,
                &reader,
                plan,
                &settings,
                store,
                prior,
                digest.as_ref(),
                &ledger,
            )
            .await?
        }
        Upload::Single(whole) => {
            let sealed = read_and_seal(
                &reader,
                &engine,
                &sealer,
                &whole,
                &|n| job.sealed(n),
                digest.as_ref(),
                &ledger,
            )
            .await?;
            sign(&sealed, &sealer, &ledger)?;
            // The receipt before the object exists: a hash that failed
            // leaves none.
            let receipt = match &digest {
                Some(digest) => Some(Receipt::finish(digest).await?),
                None => None,
            };
            reader.ensure_unchanged().await?;
            let body = body_of(&sealed.pieces)?;
            let len = body.len();
            job.send_write(
                &job.keyed(S3Op::Put)
                    .size(len as u64)
                    .share(settings.terms(&sealer)),
                Some(&body),
                "upload",
                len,
            )
            .await?;
            receipt
        }
    };
    let result = Object::new();
    set(&result, "objectName", job.object.as_str());
    set(&result, "objectId", sealer.object_id().to_hex());
    match receipt {
        Some(sha256) => {
            set(&result, "plaintextSize", size as f64);
            set(&result, "sha256", sha256);
        }
        None => set(
            &result,
            "fileKey",
            Key {
                secret: Secret::File(sealer.file_key().clone()),
            },
        ),
    }
    if settings.share.is_some()
        && let Some(token) = sealer.delete_token()
    {
        set(&result, "deleteToken", token.to_text().as_str());
    }
    set(&result, "size", total as f64);
    set(&result, "resumedParts", resumed as f64);
    set(&result, "engine", engine.name());
    Ok(result.into())
}

/// Uploads `plan` as a multipart upload; resolves to the receipt's hex
/// SHA-256 when `digest` is given.
#[allow(clippy::too_many_arguments)]
async fn run_multipart(
    job: &Job,
    cancel: &Cancel,
    engine: &Engine,
    sealer: &object::Sealer,
    file: &BlobParts,
    plan: Vec<Part>,
    settings: &Settings,
    store: Option<Store>,
    prior: Option<Saved>,
    digest: Option<&RefCell<Receipt>>,
    ledger: &RefCell<SegmentLedger>,
) -> Result<Option<String>, JsValue> {
    let total = sealer.object_len(file.size()) as f64;
    let saved = match prior {
        Some(saved) => saved,
        None => {
            let created = job
                .send(
                    &job.keyed(S3Op::CreateMultipart)
                        .size(total as u64)
                        .share(settings.terms(sealer)),
                    None,
                    None,
                    "CreateMultipartUpload",
                )
                .await?;
            let upload_id = xml::upload_id(&created.text)
                .ok_or_else(|| with_code("Http", "CreateMultipartUpload returned no UploadId"))?;
            let id = sealer.object_id();
            Saved::new(
                job.object.clone(),
                sealer.randomness(),
                hex(&sealer.file_key().commitment(&id)),
                upload_id,
                settings.part_size,
            )
        }
    };
    let upload_id = saved.upload_id.clone();
    let finished = saved.parts.clone();
    let todo: Vec<Part> = saved.remaining(&plan).cloned().collect();
    {
        // Parts already on S3 from an earlier page load.
        let mut p = job.progress.borrow_mut();
        for part in plan.iter().filter(|p| saved.finished(p.number)) {
            p.sealed += part.plaintext_len() as f64;
            p.sent += part.size as f64;
        }
    }
    let tracker = Tracker::new(store, saved);
    job.report();

    // Parts are sealed one at a time, in order (the engine is fastest fed
    // back to back, and the receipt's digest needs the file in order), and
    // upload `concurrency` at a time behind the sealing.
    let turns = Turns::default();
    let upload_part = |(turn, p): (usize, Part)| {
        let (upload_id, tracker, turns) = (upload_id.clone(), &tracker, &turns);
        async move {
            let sealed = {
                // Reading is in the turn too: each part's plaintext fills
                // the buffer the part before it used (see [`super::file`]).
                let _turn = turns.wait(turn).await;
                if job.aborted() {
                    return Err(abort_error());
                }
                let sealed =
                    read_and_seal(file, engine, sealer, &p, &|n| job.sealed(n), digest, ledger)
                        .await?;
                if p.last {
                    sign(&sealed, sealer, ledger)?;
                }
                sealed
            };
            // Recorded before the part leaves: see `resume` on nonce reuse.
            tracker.sealed(p.number, sealed.fingerprint).await?;
            let body = body_of(&sealed.pieces)?;
            drop(sealed.pieces);
            let len = body.len();
            let reply = job
                .send(
                    &job.keyed(S3Op::UploadPart)
                        .size(len as u64)
                        .upload(&upload_id, Some(p.number)),
                    Some(&body),
                    Some(p.number),
                    "UploadPart",
                )
                .await?;
            let etag = reply.etag.ok_or_else(|| {
                with_code(
                    "Http",
                    "UploadPart returned no ETag: expose it in the bucket's CORS (ExposeHeaders: ETag)",
                )
            })?;
            tracker.finished(p.number, etag.clone()).await;
            Ok::<_, JsValue>((p.number, etag))
        }
    };
    let mut done: Vec<(u16, String)> = finished.clone();
    let todo = todo.into_iter().enumerate();
    let mut failure = None;
    let mut parts =
        futures_util::stream::iter(todo.map(upload_part)).buffer_unordered(settings.concurrency);
    while let Some(result) = parts.next().await {
        match result {
            Ok(part) => done.push(part),
            // Stop the other parts, but let every request settle first.
            Err(e) => {
                cancel.controller.abort();
                failure.get_or_insert(e);
            }
        }
    }
    drop(parts);
    if failure.is_none() {
        failure = file.ensure_unchanged().await.err();
    }
    // The receipt before the object exists: a hash that failed leaves none.
    let mut receipt = None;
    if let (None, Some(digest)) = (&failure, digest) {
        match Receipt::finish(digest).await {
            Ok(sha256) => receipt = Some(sha256),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(err) = failure {
        // Cancelled by the user, not resumable, or the file could not be
        // read as it was (a resume would not match it): clean up so nothing
        // is left in the bucket. Otherwise keep the upload for next time.
        let bad_file = get(&err, "code").as_string().as_deref() == Some("InvalidInput");
        if cancel.user_aborted() || !tracker.resumable() || bad_file {
            job.abort_multipart(&upload_id).await;
            tracker.forget().await;
        }
        return Err(err);
    }
    let body = Body::control(xml::complete_multipart(&mut done).as_bytes());
    let reply = job
        .send_write(
            // The backend checks the stored parts against the size, and
            // signs it in where the store enforces it (x-amz-mp-object-size).
            &job.request(S3Op::CompleteMultipart)
                .size(total as u64)
                .upload(&upload_id, None),
            Some(&body),
            "CompleteMultipartUpload",
            total,
        )
        .await;
    // Done, or the saved parts were not what S3 has: start afresh next time.
    tracker.forget().await;
    let reply = reply?;
    // S3 may answer 200 with an error document.
    if xml::is_error(&reply.text) {
        return Err(with_code("Http", "CompleteMultipartUpload failed"));
    }
    Ok(receipt)
}

/// Hands out sealing turns in a fixed order: turn `n` starts when turn `n-1`
/// ended (its guard dropped, success or not). An async mutex would not do:
/// it wakes waiters in no promised order.
#[derive(Default)]
struct Turns {
    next: std::cell::Cell<usize>,
    waiting: RefCell<Vec<std::task::Waker>>,
}

struct Turn<'a>(&'a Turns);

impl Turns {
    async fn wait(&self, turn: usize) -> Turn<'_> {
        std::future::poll_fn(|cx| {
            if self.next.get() == turn {
                std::task::Poll::Ready(Turn(self))
            } else {
                self.waiting.borrow_mut().push(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.next.set(self.0.next.get() + 1);
        for waker in self.0.waiting.take() {
            waker.wake();
        }
    }
}
