//! `SealStream` and `OpenStream`: the core's streaming seal and open on the
//! fastest engine ([`super::engine`]). `push(chunk)` cuts the chunk into
//! segments *now* (the format is decided here, in Rust), starts their cipher
//! calls, and returns a promise of the resulting pieces in order; so a caller
//! that pushes the next chunk before awaiting keeps the engine busy back to
//! back, with memory bounded by the pushes it keeps outstanding.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use zeroize::Zeroizing;

use super::engine::{Choice, Engine, Op, to_bytes};
use super::error::{JsResult, js, to_js, with_code};
use super::key::{Key, Recipient};
use super::stream::{metadata_from_js, metadata_to_js};
use crate::format::{MAX_PREAMBLE_SIZE, Metadata, Preamble};
use crate::object;
use crate::object::Trailer;
use crate::signature::{SIGNATURE_SIZE, SegmentDigest, SignedContent, VerifyingKey};
use crate::stream::{
    Cut, Cutter, HEADER_SIZE, Header, Nonce, SEGMENT_SIZE, SegmentCipher, TAG_SIZE,
};
use crate::{ObjectName, Secret};

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

/// The pieces one push produces, in order, and the digest of every
/// segment among them (for the object's signature). Once the engine is
/// ready (every push after the first), cipher calls start as the segments
/// are cut: WebCrypto copies its input when called (WebCrypto §14.3.1, "a
/// copy of the bytes held by the data parameter"), and so does `digest`, so
/// the segment buffer can be reused at once. Before that, segments are
/// copied to wait for the engine. Either way the caller's chunk is free once
/// `push` returns.
enum Pieces {
    Started(Started),
    Deferred(Op, EngineFuture, Vec<(Option<Nonce>, Uint8Array)>),
}

struct Started {
    op: Op,
    engine: Rc<Engine>,
    pieces: Array,
    /// One promise per segment: of its stored bytes' SHA-256 (the
    /// ciphertext a seal produces, the input an open gets).
    digests: Array,
}

impl Started {
    fn new(op: Op, engine: Rc<Engine>) -> Self {
        Self {
            op,
            engine,
            pieces: Array::new(),
            digests: Array::new(),
        }
    }

    fn segment(&mut self, nonce: Nonce, segment: &Uint8Array) -> JsResult<()> {
        let (call, digest) = self.engine.start_hashed(self.op, nonce, segment)?;
        self.pieces.push(&call);
        self.digests.push(&digest);
        Ok(())
    }

    /// The pieces as `Uint8Array`s and the segments' digests, in order.
    async fn settle(self) -> Result<(Array, Vec<SegmentDigest>), JsValue> {
        let all = Promise::all(&self.pieces);
        let pieces = CALLBACKS.with(|c| {
            let failed: &JsValue = match self.op {
                Op::Seal => c.seal_failed.as_ref(),
                Op::Open => c.open_failed.as_ref(),
            };
            then(&all, c.to_pieces.as_ref(), failed)
        });
        let pieces: Array = JsFuture::from(pieces).await?.unchecked_into();
        let digests: Array = JsFuture::from(Promise::all(&self.digests))
            .await
            .map_err(|e| self.op.error(e))?
            .unchecked_into();
        let digests = digests
            .iter()
            .map(|d| super::engine::digest_bytes(&d))
            .collect::<Result<_, _>>()?;
        Ok((pieces, digests))
    }
}

impl Pieces {
    fn new(op: Op, engine: &EngineFuture) -> Self {
        match engine.peek() {
            Some(Ok(ready)) => Pieces::Started(Started::new(op, ready.clone())),
            _ => Pieces::Deferred(op, engine.clone(), Vec::new()),
        }
    }

    /// Bytes that need no cipher (the object's head).
    fn bytes(&mut self, bytes: Uint8Array) {
        match self {
            Pieces::Started(started) => {
                started.pieces.push(&Promise::resolve(&bytes));
            }
            Pieces::Deferred(_, _, jobs) => jobs.push((None, bytes)),
        }
    }

    /// Runs the cipher on one segment (the caller may reuse its bytes once
    /// this returns).
    fn segment(&mut self, nonce: Nonce, segment: Uint8Array) -> JsResult<()> {
        match self {
            Pieces::Started(started) => started.segment(nonce, &segment),
            Pieces::Deferred(_, _, jobs) => {
                jobs.push((Some(nonce), Uint8Array::new(&segment)));
                Ok(())
            }
        }
    }

    /// The pieces and the digests of the segments among them, once every
    /// cipher call settled.
    async fn settle(self) -> Result<(Array, Vec<SegmentDigest>), JsValue> {
        let started = match self {
            Pieces::Started(started) => started,
            Pieces::Deferred(op, engine, jobs) => {
                let mut started = Started::new(op, engine.await?);
                for (nonce, bytes) in jobs {
                    match nonce {
                        Some(nonce) => started.segment(nonce, &bytes)?,
                        None => {
                            started.pieces.push(&Promise::resolve(&bytes));
                        }
                    }
                }
                started
            }
        };
        started.settle().await
    }
}

/// Digests reach the signature in segment order whatever order pushes
/// settle in: each push records its own after the push before it recorded.
/// `chain` settles when the last push so far settled (holding no bytes,
/// never rejecting: a failed push rejects its own promise, and marks
/// `failed` so that no later one pretends to continue the object).
struct Recorder {
    content: Rc<RefCell<SignedContent>>,
    failed: Rc<Cell<bool>>,
    chain: Promise,
}

impl Recorder {
    fn new(content: SignedContent) -> Self {
        Self {
            content: Rc::new(RefCell::new(content)),
            failed: Rc::default(),
            chain: Promise::resolve(&JsValue::UNDEFINED),
        }
    }

    /// Waits for every earlier push; `Err` if one of them failed.
    async fn earlier(before: Promise, failed: &Cell<bool>) -> Result<(), JsValue> {
        JsFuture::from(before).await?;
        if failed.get() {
            return Err(with_code(
                "InvalidInput",
                "invalid input: an earlier push failed; this stream is over",
            ));
        }
        Ok(())
    }

    /// The promise of `pieces`' bytes, resolved once their digests are
    /// recorded; `after` runs then (with every digest so far recorded).
    fn record(
        &mut self,
        pieces: Pieces,
        after: impl FnOnce(&SignedContent, Array) -> Result<Array, JsValue> + 'static,
    ) -> Promise {
        let (content, failed, before) = (
            self.content.clone(),
            self.failed.clone(),
            self.chain.clone(),
        );
        let promise = future_to_promise(async move {
            let settled = pieces.settle().await;
            Self::earlier(before, &failed).await?;
            let result = settled.and_then(|(pieces, digests)| {
                let mut content = content.borrow_mut();
                for digest in &digests {
                    content.add(digest);
                }
                after(&content, pieces)
            });
            failed.set(result.is_err());
            Ok(result?.into())
        });
        self.chain = super::engine::settled(&promise);
        promise
    }
}

/// The callbacks that finish every push's promise.
struct Callbacks {
    /// The cipher results, as `Uint8Array`s.
    to_pieces: Closure<dyn FnMut(JsValue) -> JsValue>,
    /// A failed seal call as callers see it (see [`Op::error`]).
    seal_failed: Closure<dyn FnMut(JsValue) -> Result<JsValue, JsValue>>,
    /// A failed open call: `Corrupt` if the segment did not verify.
    open_failed: Closure<dyn FnMut(JsValue) -> Result<JsValue, JsValue>>,
}

use super::engine::then;

thread_local! {
    static CALLBACKS: Callbacks = Callbacks {
        to_pieces: Closure::new(|done: JsValue| {
            // Promise.all's own array, converted in place.
            let pieces: Array = done.unchecked_into();
            for i in 0..pieces.length() {
                pieces.set(i, to_bytes(pieces.get(i)).into());
            }
            pieces.into()
        }),
        seal_failed: Closure::new(|err: JsValue| Err(Op::Seal.error(err))),
        open_failed: Closure::new(|err: JsValue| Err(Op::Open.error(err))),
    };
}

/// A [`Cutter`] over chunks in JS memory: a segment inside one chunk is a
/// view of it, one spanning chunks is assembled in one buffer reused for
/// every segment (safe as [`Pieces`] says). So on the WebCrypto path no
/// byte goes through wasm memory and no segment costs an allocation
/// (copying and wiping each segment in wasm memory was a large share of
/// sealing: bench/results.md, "design measurements").
struct JsCutter {
    cutter: Cutter,
    held: Uint8Array,
    /// A complete segment that ends a lent chunk, held as a view of it
    /// instead of a copy in `held`.
    kept: Option<Uint8Array>,
}

impl JsCutter {
    fn new(cutter: Cutter) -> Self {
        Self {
            cutter,
            held: Uint8Array::new_with_length(SEGMENT_SIZE as u32),
            kept: None,
        }
    }

    /// Cuts `chunk`: `release(index, bytes)` gets every segment now known
    /// complete and not last, to be used before it returns. A `lent` chunk
    /// stays unchanged until the next cut or [`Self::rest`], so a complete
    /// segment that ends it is held as a view: a chunk cut on segment
    /// boundaries is then never copied.
    fn cut(
        &mut self,
        chunk: &Uint8Array,
        lent: bool,
        mut release: impl FnMut(u64, Uint8Array) -> JsResult<()>,
    ) -> JsResult<()> {
        let len = chunk.length() as usize;
        let mut at = 0;
        let view = |from: usize, n: usize| chunk.subarray(from as u32, (from + n) as u32);
        while let Some(cut) = self.cutter.next(len - at) {
            match cut {
                Cut::Whole { index, len: n } => {
                    release(index, view(at, n))?;
                    at += n;
                }
                Cut::Release { index, len: n } => {
                    let segment = self
                        .kept
                        .take()
                        .unwrap_or_else(|| self.held.subarray(0, n as u32));
                    release(index, segment)?;
                }
                Cut::Hold { offset, len: n } => {
                    if lent && offset == 0 && self.cutter.held_complete() {
                        self.kept = Some(view(at, n));
                    } else {
                        self.held.set(&view(at, n), offset as u32);
                    }
                    at += n;
                }
            }
        }
        Ok(())
    }

    /// The segment held (at the end: the last one), and its number.
    fn rest(&self) -> (u64, Uint8Array) {
        let last = match &self.kept {
            Some(kept) => kept.clone(),
            None => self.held.subarray(0, self.cutter.held() as u32),
        };
        (self.cutter.index(), last)
    }
}

/// Seals one object on the fastest engine: `push(chunk)` and `finish()`
/// return promises of `Uint8Array[]` (object bytes, in order). A pushed
/// chunk may be reused as soon as `push` returns.
#[wasm_bindgen]
pub struct SealStream {
    sealer: Rc<object::Sealer>,
    engine: EngineFuture,
    segments: JsCutter,
    recorder: Recorder,
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

    /// Takes plaintext; resolves to the object bytes it completes. The
    /// chunk may be reused as soon as this returns.
    pub fn push(&mut self, chunk: Uint8Array) -> JsResult<Promise> {
        self.cut(chunk, false)
    }

    /// As `push`, but the chunk is lent: it must stay unchanged until the
    /// next `push`, `pushLent` or `finish` call returns. Chunks that end on
    /// segment boundaries (see `segmentOffset`) are then never copied.
    #[wasm_bindgen(js_name = pushLent)]
    pub fn push_lent(&mut self, chunk: Uint8Array) -> JsResult<Promise> {
        self.cut(chunk, true)
    }

    /// Ends the object; resolves to its last bytes: the last segment and
    /// the signature.
    pub fn finish(&mut self) -> JsResult<Promise> {
        let mut pieces = self.begin()?;
        self.finished = true;
        let (index, last) = self.segments.rest();
        let nonce = js(self.sealer.segment_cipher().nonce(index, true))?;
        pieces.segment(nonce, last)?;
        let sealer = self.sealer.clone();
        Ok(self.recorder.record(pieces, move |content, pieces| {
            pieces.push(&Uint8Array::from(&sealer.sign(content)[..]));
            Ok(pieces)
        }))
    }
}

/// The payload side of an [`OpenStream`]: everything known once the
/// preamble verified.
struct Payload {
    preamble: Vec<u8>,
    verifying_key: VerifyingKey,
    payload_key: Zeroizing<[u8; 32]>,
    metadata: Metadata,
    /// The payload header's bytes, until all arrived.
    header: Vec<u8>,
    /// Set once the payload header arrived.
    cipher: Option<(SegmentCipher, EngineFuture, Recorder)>,
    segments: JsCutter,
    /// The last bytes so far, held back from the segments: at the end, the
    /// signature.
    trailer: Vec<u8>,
    /// Plaintext bytes of the segments cut so far (known from their lengths).
    produced: u64,
}

enum State {
    Preamble(Vec<u8>),
    Payload(Box<Payload>),
    Done,
}

/// What the last segment's check needs besides the engine.
struct Last {
    index: u64,
    segment: Uint8Array,
    trailer: Vec<u8>,
    expected: Option<u64>,
    produced: u64,
    verifying_key: VerifyingKey,
}

/// Opens the last segment and checks the size and the signature; on
/// failure tells why as the core does (`object::Opener::finish`).
async fn run_finish(
    engine: EngineFuture,
    cipher: SegmentCipher,
    recorder: Recorder,
    last: Last,
) -> Result<JsValue, JsValue> {
    let engine = engine.await?;
    let Last {
        index,
        segment,
        trailer,
        expected,
        produced,
        verifying_key,
    } = last;
    let signature = <[u8; SIGNATURE_SIZE]>::try_from(&trailer[..]).ok();
    let whole = segment.length() > 0
        && crate::stream::final_segment_allowed(index, segment.length() as usize);
    if let Some(signature) = signature.filter(|_| whole) {
        let digest = super::engine::digest(&segment);
        if let Ok(plain) = engine.open(js(cipher.nonce(index, true))?, &segment).await {
            let checked = async {
                let digest = super::engine::digest_bytes(&JsFuture::from(digest).await?)?;
                Recorder::earlier(recorder.chain, &recorder.failed).await?;
                Ok::<_, JsValue>(digest)
            };
            let digest = match checked.await {
                Ok(digest) => digest,
                Err(e) => {
                    plain.fill(0, 0, plain.length());
                    return Err(e);
                }
            };
            let mut content = recorder.content.borrow_mut();
            content.add(&digest);
            let total = produced + u64::from(plain.length());
            let verdict = if expected.is_some_and(|size| size != total) {
                // Authentic segments, but not the object the preamble describes.
                Err(crate::Error::Corrupt)
            } else {
                verifying_key.verify(&content, &signature)
            };
            if let Err(e) = verdict {
                plain.fill(0, 0, plain.length());
                return Err(to_js(e));
            }
            return Ok(Array::of1(&plain).into());
        }
    }
    // Why it failed, from the rest: the last segment and what followed it.
    let len = segment.length() as usize + trailer.len();
    let rest = Uint8Array::new_with_length(len as u32);
    rest.set(&segment, 0);
    rest.subarray(segment.length(), len as u32)
        .copy_from(&trailer);
    for (verdict, tries) in crate::stream::end_probes(index, len) {
        let mut all = true;
        for (at, last, range) in tries {
            let bytes = rest.subarray(range.start as u32, range.end as u32);
            let opened = engine.open(js(cipher.nonce(at, last))?, &bytes).await;
            if let Ok(p) = &opened {
                p.fill(0, 0, p.length());
            }
            all &= opened.is_ok();
            if !all {
                break;
            }
        }
        if all {
            return Err(to_js(verdict));
        }
    }
    Err(to_js(crate::Error::Corrupt))
}

impl SealStream {
    /// The pieces of a push or of `finish`, starting with the object's
    /// head on the first.
    fn begin(&mut self) -> JsResult<Pieces> {
        if self.finished {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the sealer is finished",
            ));
        }
        let mut pieces = Pieces::new(Op::Seal, &self.engine);
        if !self.started {
            self.started = true;
            pieces.bytes(Uint8Array::from(&self.sealer.head()[..]));
        }
        Ok(pieces)
    }

    fn cut(&mut self, chunk: Uint8Array, lent: bool) -> JsResult<Promise> {
        let mut pieces = self.begin()?;
        let cipher = self.sealer.segment_cipher();
        self.segments.cut(&chunk, lent, |index, segment| {
            pieces.segment(js(cipher.nonce(index, false))?, segment)
        })?;
        Ok(self.recorder.record(pieces, |_, pieces| Ok(pieces)))
    }

    fn with_sealer(sealer: object::Sealer, options: &JsValue) -> JsResult<SealStream> {
        let engine = engine_future(
            Choice::from_options(options)?,
            sealer.segment_key(),
            sealer.segment_cipher().clone(),
        );
        Ok(SealStream {
            recorder: Recorder::new(sealer.signed_content()),
            sealer: Rc::new(sealer),
            engine,
            segments: JsCutter::new(Cutter::plaintext()),
            started: false,
            finished: false,
        })
    }
}

/// Where plaintext segment `index` starts: chunks that end at these
/// offsets are cut without copies (`SealStream.pushLent`).
#[wasm_bindgen(js_name = segmentOffset)]
pub fn segment_offset(index: f64) -> f64 {
    crate::stream::layout::plaintext_offset(index as u64) as f64
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
        Ok(Self {
            secret: key.secret.clone(),
            expected_name: None,
            choice: Choice::from_options(&options)?,
            state: State::Preamble(Vec::new()),
        })
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
    pub fn push(&mut self, chunk: Uint8Array) -> JsResult<Promise> {
        let mut pieces = None;
        self.cut(chunk, &mut pieces)?;
        Ok(match (pieces, &mut self.state) {
            (Some(pieces), State::Payload(p)) => {
                let (_, _, recorder) = p.cipher.as_mut().expect("segments come after the header");
                recorder.record(pieces, |_, pieces| Ok(pieces))
            }
            _ => Promise::resolve(&JsValue::from(Array::new())),
        })
    }

    /// Also check that the object is the one `objectName` names (its id and,
    /// for a recipient-mode object, its encapsulated key): a renamed object
    /// then fails with `NameMismatch`. `InvalidInput` after the first push
    /// (a name set later would check nothing).
    #[wasm_bindgen(js_name = expectName)]
    pub fn expect_name(&mut self, object_name: &str) -> JsResult<()> {
        match &self.state {
            State::Preamble(buf) if buf.is_empty() => {
                self.expected_name = Some(js(ObjectName::parse(object_name))?);
                Ok(())
            }
            _ => Err(with_code(
                "InvalidInput",
                "invalid input: give the object's name before its first bytes",
            )),
        }
    }

    /// The object ended: resolves to the last verified plaintext once the
    /// signature verified, or rejects (`Truncated`, `Corrupt`,
    /// `BadSignature`). Plaintext resolved by earlier pushes is authentic
    /// against anyone without the file key; only this says the object is
    /// the one its owner signed.
    pub fn finish(&mut self) -> JsResult<Promise> {
        let Payload {
            verifying_key,
            metadata,
            cipher,
            segments,
            trailer,
            produced,
            ..
        } = match core::mem::replace(&mut self.state, State::Done) {
            State::Payload(p) => *p,
            State::Preamble(_) => return Err(to_js(crate::Error::Truncated)),
            State::Done => {
                return Err(with_code(
                    "InvalidInput",
                    "invalid input: the opener is finished",
                ));
            }
        };
        let (index, segment) = segments.rest();
        // No payload header.
        let Some((cipher, engine, recorder)) = cipher else {
            return Err(to_js(crate::Error::Truncated));
        };
        let last = Last {
            index,
            segment,
            trailer,
            expected: metadata.size,
            produced,
            verifying_key,
        };
        Ok(future_to_promise(run_finish(
            engine, cipher, recorder, last,
        )))
    }
}

/// Moves bytes from the front of `chunk` into `buf` until it holds `limit`
/// (the preamble and payload header are parsed in wasm memory).
fn fill(buf: &mut Vec<u8>, limit: usize, chunk: &mut Uint8Array) {
    let start = buf.len();
    let take = (chunk.length() as usize).min(limit - start);
    buf.resize(start + take, 0);
    chunk.subarray(0, take as u32).copy_to(&mut buf[start..]);
    *chunk = chunk.subarray(take as u32, chunk.length());
}

impl OpenStream {
    /// Cuts `chunk` into segments known complete and not last and starts
    /// opening them into `pieces` (after verifying the preamble and key
    /// commitment, and reading the payload header, when they arrive).
    fn cut(&mut self, mut chunk: Uint8Array, pieces: &mut Option<Pieces>) -> JsResult<()> {
        if let State::Preamble(buf) = &mut self.state {
            js(object::require_name(
                &self.secret,
                self.expected_name.as_ref(),
            ))?;
            fill(buf, MAX_PREAMBLE_SIZE, &mut chunk);
            let Some((preamble, len)) = js(Preamble::parse(buf))? else {
                return Ok(());
            };
            // Bytes read past the preamble are payload: they go first.
            let rest = Uint8Array::from(&buf[len..]);
            let aad = preamble.to_bytes();
            if let Some(name) = &self.expected_name {
                js(preamble.check_name(name))?;
            }
            let opened = js(object::open_preamble(&self.secret, preamble, len))?;
            self.state = State::Payload(Box::new(Payload {
                preamble: aad,
                verifying_key: opened.preamble.verifying_key,
                payload_key: opened.file_key.payload_key(),
                metadata: opened.metadata,
                header: Vec::with_capacity(HEADER_SIZE),
                cipher: None,
                segments: JsCutter::new(Cutter::ciphertext()),
                trailer: Vec::with_capacity(SIGNATURE_SIZE),
                produced: 0,
            }));
            self.cut(rest, pieces)?;
            return self.cut(chunk, pieces);
        }
        let State::Payload(p) = &mut self.state else {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the opener is finished",
            ));
        };
        if p.cipher.is_none() {
            fill(&mut p.header, HEADER_SIZE, &mut chunk);
            let Ok(bytes) = <&[u8; HEADER_SIZE]>::try_from(&p.header[..]) else {
                return Ok(());
            };
            let header = js(Header::parse(bytes))?;
            let key = SegmentCipher::derive_key(&p.payload_key, &header, &p.preamble);
            let cipher = SegmentCipher::with_key(&key, &header);
            let engine = engine_future(self.choice, key, cipher.clone());
            let recorder = Recorder::new(SignedContent::new(&p.preamble, bytes));
            p.cipher = Some((cipher, engine, recorder));
        }
        // The last SIGNATURE_SIZE bytes so far are held back: only the end
        // says they are the signature.
        let len = chunk.length() as usize;
        let (from_held, from_chunk) = Trailer::split(p.trailer.len(), len);
        let mut feed = Vec::with_capacity(2);
        if from_held > 0 {
            feed.push(Uint8Array::from(&p.trailer[..from_held]));
            p.trailer.drain(..from_held);
        }
        if from_chunk > 0 {
            feed.push(chunk.subarray(0, from_chunk as u32));
        }
        let kept = p.trailer.len();
        p.trailer.resize(kept + len - from_chunk, 0);
        chunk
            .subarray(from_chunk as u32, len as u32)
            .copy_to(&mut p.trailer[kept..]);
        let (cipher, engine, _) = p.cipher.as_ref().expect("set above");
        let produced = &mut p.produced;
        for piece in feed {
            p.segments.cut(&piece, false, |index, segment| {
                *produced += u64::from(segment.length()) - TAG_SIZE as u64;
                pieces
                    .get_or_insert_with(|| Pieces::new(Op::Open, engine))
                    .segment(js(cipher.nonce(index, false))?, segment)
            })?;
        }
        Ok(())
    }
}
