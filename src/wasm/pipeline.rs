//! `SealStream` and `OpenStream`: the core's streaming seal and open on the
//! fastest engine ([`super::engine`]). `push(chunk)` cuts the chunk into
//! segments *now* (the format is decided here, in Rust), starts their cipher
//! calls, and returns a promise of the resulting pieces in order; so a caller
//! that pushes the next chunk before awaiting keeps the engine busy back to
//! back, with memory bounded by the pushes it keeps outstanding.

use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use zeroize::{Zeroize, Zeroizing};

use super::engine::{Choice, Engine};
use super::error::{JsResult, js, to_js, with_code};
use super::key::{Key, Recipient};
use super::stream::{metadata_from_js, metadata_to_js};
use crate::format::{MAX_PREAMBLE_SIZE, Metadata, Preamble};
use crate::key::{ObjectName, Secret};
use crate::object;
use crate::stream::{
    Nonce, SealedSegment, SegmentCipher, SegmentSplitter, TAG_SIZE, final_segment_error,
    final_segment_needs_probe, layout,
};

/// An engine being made (WebCrypto's key import is asynchronous), shared by
/// every push that needs it.
pub(crate) type EngineFuture = Shared<LocalBoxFuture<'static, Result<Rc<Engine>, JsValue>>>;

pub(crate) fn engine_future(
    choice: Choice,
    key: Zeroizing<[u8; 32]>,
    cipher: SegmentCipher,
) -> EngineFuture {
    async move { Engine::new(choice, key, cipher).await.map(Rc::new) }
        .boxed_local()
        .shared()
}

/// One piece of output, decided synchronously, produced once the engine is
/// ready.
enum Job {
    /// Bytes that need no cipher (the object's head).
    Ready(Uint8Array),
    /// Seal a segment whose plaintext is a view of the caller's chunk.
    SealView(Nonce, Uint8Array),
    /// Seal a segment assembled in wasm memory (wiped once handed over).
    SealOwned(Nonce, Zeroizing<Vec<u8>>),
}

async fn run_seal(engine: EngineFuture, jobs: Vec<Job>) -> Result<JsValue, JsValue> {
    if jobs.is_empty() {
        return Ok(Array::new().into());
    }
    let engine = engine.await?;
    let started = Array::new();
    for job in jobs {
        let p = match job {
            Job::Ready(bytes) => Promise::resolve(&JsValue::from(bytes)),
            Job::SealView(nonce, view) => engine.seal_js(nonce, &view)?,
            // WebCrypto copied the bytes when called; dropping wipes ours.
            Job::SealOwned(nonce, bytes) => engine.seal_slice(nonce, &bytes)?,
        };
        started.push(&p);
    }
    JsFuture::from(Promise::all(&started)).await
}

/// Seals one object on the fastest engine: `push(chunk)` and `finish()`
/// return promises of `Uint8Array[]` (object bytes, in order). A pushed
/// chunk must not be modified until its promise settles.
#[wasm_bindgen]
pub struct SealStream {
    sealer: object::Sealer,
    engine: EngineFuture,
    pending: Zeroizing<Vec<u8>>,
    index: u64,
    started: bool,
    finished: bool,
}

#[wasm_bindgen]
impl SealStream {
    /// Starts sealing for `key` (a root key or passphrase) with metadata
    /// `{ name, type, size }`; `options.engine` is `"auto"` (default),
    /// `"webcrypto"` or `"wasm"`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key, metadata: JsValue, options: JsValue) -> JsResult<SealStream> {
        let meta = metadata_from_js(&metadata)?;
        let sealer = js(object::Sealer::new(&key.secret, &meta))?;
        Self::with_sealer(sealer, &options)
    }

    /// Starts sealing to `recipient` (recipient mode): only its identity
    /// opens the object, and `fileKey()` refuses.
    #[wasm_bindgen(js_name = toRecipient)]
    pub fn to_recipient(
        recipient: &Recipient,
        metadata: JsValue,
        options: JsValue,
    ) -> JsResult<SealStream> {
        let meta = metadata_from_js(&metadata)?;
        let sealer = js(object::Sealer::for_recipient(&recipient.inner, &meta))?;
        Self::with_sealer(sealer, &options)
    }

    /// The object's id (32 hex digits).
    #[wasm_bindgen(getter, js_name = objectId)]
    pub fn object_id(&self) -> String {
        self.sealer.object_id().to_hex()
    }

    /// The object's name in the bucket.
    #[wasm_bindgen(getter, js_name = objectName)]
    pub fn object_name(&self) -> String {
        self.sealer.object_name().to_string()
    }

    /// This object's own key (a share key). Refused in recipient mode.
    #[wasm_bindgen(js_name = fileKey)]
    pub fn file_key(&self) -> JsResult<Key> {
        // Sealed to a recipient, the sealer hands out no key.
        if self.sealer.source().encapsulated().is_some() {
            return Err(with_code(
                "InvalidInput",
                "invalid input: an object sealed to a recipient has no share key",
            ));
        }
        Ok(Key {
            secret: Secret::File(self.sealer.file_key().clone()),
        })
    }

    /// The SSE-C headers for this object.
    #[wasm_bindgen(js_name = sseCHeaders)]
    pub fn sse_c_headers(&self) -> js_sys::Object {
        super::sse::headers_object(&crate::sse::sse_c(&self.sealer.sse_c_key()))
    }

    /// Object length in bytes for `plaintext_len` bytes of plaintext.
    #[wasm_bindgen(js_name = objectLength)]
    pub fn object_length(&self, plaintext_len: f64) -> f64 {
        self.sealer.object_len(plaintext_len as u64) as f64
    }

    /// Resolves to the engine in use: `"webcrypto"` or `"wasm"`.
    pub fn engine(&self) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move { Ok(engine.await?.name().into()) })
    }

    fn not_finished(&self) -> JsResult<()> {
        if self.finished {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the sealer is finished",
            ));
        }
        Ok(())
    }

    /// Takes plaintext; resolves to the object bytes it completes.
    pub fn push(&mut self, chunk: Uint8Array) -> JsResult<Promise> {
        self.not_finished()?;
        let cipher = self.sealer.segment_cipher();
        let mut jobs = Vec::new();
        if !self.started {
            self.started = true;
            jobs.push(Job::Ready(Uint8Array::from(&self.sealer.head()[..])));
        }
        let len = chunk.length() as usize;
        let mut at = 0;
        // A segment is sealed only once a byte beyond it is known: whether it
        // is the last one is part of its nonce.
        while at < len {
            let cap = layout::plaintext_capacity(self.index);
            if self.pending.is_empty() && len - at > cap {
                let view = chunk.subarray(at as u32, (at + cap) as u32);
                jobs.push(Job::SealView(js(cipher.nonce(self.index, false))?, view));
                self.index += 1;
                at += cap;
            } else if self.pending.len() == cap {
                let full = core::mem::replace(&mut *self.pending, Vec::with_capacity(cap));
                jobs.push(Job::SealOwned(
                    js(cipher.nonce(self.index, false))?,
                    Zeroizing::new(full),
                ));
                self.index += 1;
            } else {
                let take = (len - at).min(cap - self.pending.len());
                let start = self.pending.len();
                self.pending.resize(start + take, 0);
                chunk
                    .subarray(at as u32, (at + take) as u32)
                    .copy_to(&mut self.pending[start..]);
                at += take;
            }
        }
        Ok(future_to_promise(run_seal(self.engine.clone(), jobs)))
    }

    /// Ends the object; resolves to its last bytes.
    pub fn finish(&mut self) -> JsResult<Promise> {
        self.not_finished()?;
        self.finished = true;
        let mut jobs = Vec::new();
        if !self.started {
            jobs.push(Job::Ready(Uint8Array::from(&self.sealer.head()[..])));
        }
        let last = core::mem::take(&mut *self.pending);
        jobs.push(Job::SealOwned(
            js(self.sealer.segment_cipher().nonce(self.index, true))?,
            Zeroizing::new(last),
        ));
        Ok(future_to_promise(run_seal(self.engine.clone(), jobs)))
    }
}

/// The payload side of an [`Opener`]: everything known once the preamble
/// verified.
struct Payload {
    splitter: SegmentSplitter,
    preamble: Vec<u8>,
    payload_key: Zeroizing<[u8; 32]>,
    metadata: Metadata,
    /// Set once the payload header arrived.
    cipher: Option<(SegmentCipher, EngineFuture)>,
    /// Plaintext bytes of the segments cut so far (known from their lengths).
    produced: u64,
}

enum State {
    Preamble(Vec<u8>),
    Payload(Box<Payload>),
    Done,
}

async fn run_open(
    engine: EngineFuture,
    cipher: SegmentCipher,
    segments: Vec<SealedSegment>,
) -> Result<JsValue, JsValue> {
    let engine = engine.await?;
    let started = Array::new();
    for mut s in segments {
        let opening = engine.open_slice(js(cipher.nonce(s.index, s.last))?, &s.bytes)?;
        started.push(&opening);
        s.bytes.zeroize();
    }
    JsFuture::from(Promise::all(&started)).await
}

/// Opens the last segment, telling a cut at a segment boundary (`Truncated`)
/// from tampering (`Corrupt`) as the core does.
async fn run_finish(
    engine: EngineFuture,
    cipher: SegmentCipher,
    last: SealedSegment,
    expected: Option<u64>,
    produced: u64,
) -> Result<JsValue, JsValue> {
    let engine = engine.await?;
    let opened = engine
        .open(js(cipher.nonce(last.index, true))?, &last.bytes)
        .await;
    let plain = match opened {
        Ok(plain) => plain,
        Err(_) => {
            let probe = if final_segment_needs_probe(last.index, last.bytes.len()) {
                engine
                    .open(js(cipher.nonce(last.index, false))?, &last.bytes)
                    .await
            } else {
                Err(JsValue::UNDEFINED)
            };
            if let Ok(p) = &probe {
                p.fill(0, 0, p.length());
            }
            return Err(to_js(final_segment_error(
                last.index,
                last.bytes.len(),
                probe.is_ok(),
            )));
        }
    };
    let total = produced + u64::from(plain.length());
    if expected.is_some_and(|size| size != total) {
        // Authentic segments, but not the object the preamble describes.
        plain.fill(0, 0, plain.length());
        return Err(to_js(crate::Error::Corrupt));
    }
    Ok(Array::of1(&plain).into())
}

impl SealStream {
    fn with_sealer(sealer: object::Sealer, options: &JsValue) -> JsResult<SealStream> {
        let engine = engine_future(
            Choice::from_options(options)?,
            sealer.segment_key(),
            sealer.segment_cipher().clone(),
        );
        Ok(SealStream {
            sealer,
            engine,
            pending: Zeroizing::new(Vec::new()),
            index: 0,
            started: false,
            finished: false,
        })
    }
}

/// Opens one object on the fastest engine: `push(chunk)` and `finish()`
/// return promises of verified plaintext pieces (`Uint8Array[]`), each
/// released only after its segment's tag verified. A wrong key fails
/// (`WrongKey`) before any decryption.
#[wasm_bindgen]
pub struct OpenStream {
    secret: Secret,
    expected_name: Option<ObjectName>,
    choice: Choice,
    state: State,
}

#[wasm_bindgen]
impl OpenStream {
    /// An opener for `key`; `options.engine` as for `SealStream`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key, options: JsValue) -> JsResult<OpenStream> {
        Ok(Self::with_secret(
            key.secret.clone(),
            Choice::from_options(&options)?,
        ))
    }

    /// `{ name, type, size }` once the preamble verified, else `undefined`.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> JsValue {
        match &self.state {
            State::Payload(p) => metadata_to_js(&p.metadata).into(),
            _ => JsValue::UNDEFINED,
        }
    }

    /// Takes object bytes; resolves to the verified plaintext they complete.
    /// Throws at once for a wrong key or a malformed preamble.
    pub fn push(&mut self, chunk: &[u8]) -> JsResult<Promise> {
        let segments = self.cut(chunk)?;
        Ok(match self.open_segments(segments) {
            Some(opening) => future_to_promise(opening),
            None => Promise::resolve(&JsValue::from(Array::new())),
        })
    }

    /// Also check that the object is the one `objectName` names (its id and,
    /// for a recipient-mode object, its encapsulated key): a renamed object
    /// then fails with `NameMismatch`. Call before the first push.
    #[wasm_bindgen(js_name = expectName)]
    pub fn expect_name(&mut self, object_name: &str) -> JsResult<()> {
        self.expected_name = Some(js(ObjectName::parse(object_name))?);
        Ok(())
    }

    /// The object ended: resolves to the last verified plaintext, or rejects
    /// (`Truncated`, `Corrupt`).
    pub fn finish(&mut self) -> JsResult<Promise> {
        Ok(future_to_promise(self.finish_rs()?))
    }
}

impl OpenStream {
    pub(crate) fn with_secret(secret: Secret, choice: Choice) -> Self {
        Self {
            secret,
            expected_name: None,
            choice,
            state: State::Preamble(Vec::new()),
        }
    }

    /// The verified metadata, once the preamble has been read.
    pub(crate) fn metadata_rs(&self) -> Option<&Metadata> {
        match &self.state {
            State::Payload(p) => Some(&p.metadata),
            _ => None,
        }
    }

    /// Splits `chunk` into complete, not-last segments (after verifying the
    /// preamble and key commitment when they arrive).
    pub(crate) fn cut(&mut self, mut data: &[u8]) -> JsResult<Vec<SealedSegment>> {
        if let State::Preamble(buf) = &mut self.state {
            let take = data.len().min(MAX_PREAMBLE_SIZE.saturating_sub(buf.len()));
            buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            let Some((preamble, len)) = js(Preamble::parse(buf))? else {
                return Ok(Vec::new());
            };
            let rest = buf.split_off(len);
            let aad = preamble.to_bytes();
            if let Some(name) = &self.expected_name {
                js(preamble.check_name(name))?;
            }
            let opened = js(object::open_preamble(&self.secret, preamble, len))?;
            self.state = State::Payload(Box::new(Payload {
                splitter: SegmentSplitter::new(),
                preamble: aad,
                payload_key: opened.file_key.payload_key(),
                metadata: opened.metadata,
                cipher: None,
                produced: 0,
            }));
            let mut segments = self.cut(&rest)?;
            segments.extend(self.cut(data)?);
            return Ok(segments);
        }
        let State::Payload(p) = &mut self.state else {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the opener is finished",
            ));
        };
        let mut segments = Vec::new();
        js(p.splitter.push(data, &mut segments))?;
        if p.cipher.is_none() {
            if let Some(header) = p.splitter.header() {
                let key = SegmentCipher::derive_key(&p.payload_key, header, &p.preamble);
                let cipher = SegmentCipher::new(&p.payload_key, header, &p.preamble);
                let engine = engine_future(self.choice, key, cipher.clone());
                p.cipher = Some((cipher, engine));
            }
        }
        p.produced += segments
            .iter()
            .map(|s| (s.bytes.len() - TAG_SIZE) as u64)
            .sum::<u64>();
        Ok(segments)
    }

    /// The last segment and what the final check needs.
    #[allow(clippy::type_complexity)]
    pub(crate) fn end(
        &mut self,
    ) -> JsResult<(
        SealedSegment,
        Option<u64>,
        u64,
        (SegmentCipher, EngineFuture),
    )> {
        match core::mem::replace(&mut self.state, State::Done) {
            State::Payload(p) => {
                let Payload {
                    splitter,
                    metadata,
                    cipher,
                    produced,
                    ..
                } = *p;
                let last = js(splitter.finish())?;
                let cipher = cipher.ok_or_else(|| to_js(crate::Error::Truncated))?;
                Ok((last, metadata.size, produced, cipher))
            }
            State::Preamble(_) => Err(to_js(crate::Error::Truncated)),
            State::Done => Err(with_code(
                "InvalidInput",
                "invalid input: the opener is finished",
            )),
        }
    }

    /// `run_open` for Rust callers (the download).
    pub(crate) fn open_segments(
        &self,
        segments: Vec<SealedSegment>,
    ) -> Option<LocalBoxFuture<'static, Result<JsValue, JsValue>>> {
        let State::Payload(p) = &self.state else {
            return None;
        };
        let (cipher, engine) = p.cipher.as_ref()?;
        if segments.is_empty() {
            return None;
        }
        Some(run_open(engine.clone(), cipher.clone(), segments).boxed_local())
    }

    /// `finish` for Rust callers: resolves to the last plaintext piece.
    pub(crate) fn finish_rs(
        &mut self,
    ) -> JsResult<LocalBoxFuture<'static, Result<JsValue, JsValue>>> {
        let (last, expected, produced, (cipher, engine)) = self.end()?;
        Ok(run_finish(engine, cipher, last, expected, produced).boxed_local())
    }
}
