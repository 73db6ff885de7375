//! The bulk cipher: every segment goes through the fastest AES-GCM engine
//! present. WebCrypto runs AES-GCM with hardware AES, an order of magnitude
//! faster than `aes-gcm` compiled to wasm (bench/results.md), so it is used
//! whenever the page is a secure context; the wasm `aes-gcm` is the
//! fallback. Both produce the same bytes: the format (key derivation,
//! nonces, segment boundaries) is decided in the core, the engine only runs
//! AES-256-GCM with empty associated data and a 16-byte tag.
//!
//! Segments stay in JS memory on the WebCrypto path (a view or a reused
//! buffer in, an ArrayBuffer out): no byte goes through wasm memory.
//!
//! In Chromium `encrypt()` runs the cipher inside the call, on the calling
//! thread: whatever else runs on the sealing thread
//! comes straight off the cipher's throughput, so the per-segment work
//! around it is kept small (see `pipeline`). The same fact makes another
//! thread worth having: with [`Helper`]s registered (the package runs one in
//! a Worker of its own), segments are dealt in turn to this thread and to
//! them.

use std::cell::{Cell, RefCell};

use js_sys::{Array, ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

use super::error::{to_js, with_code};
use super::field::text;
use crate::key::KEY_SIZE;
use crate::stream::{Nonce, SegmentCipher, TAG_SIZE};

/// Which engine to use (`options.engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// WebCrypto when present, else wasm.
    Auto,
    /// WebCrypto, or an error if absent.
    WebCrypto,
    /// The wasm `aes-gcm`.
    Wasm,
}

impl Choice {
    /// Reads `options.engine`: `"auto"` (default), `"webcrypto"` or `"wasm"`.
    pub fn from_options(options: &JsValue) -> Result<Self, JsValue> {
        match text(options, "engine").as_deref() {
            None | Some("auto") => Ok(Choice::Auto),
            Some("webcrypto") => Ok(Choice::WebCrypto),
            Some("wasm") => Ok(Choice::Wasm),
            Some(_) => Err(with_code(
                "InvalidInput",
                "invalid input: options.engine must be \"auto\", \"webcrypto\" or \"wasm\"",
            )),
        }
    }
}

/// `crypto.subtle` of this global (page or Worker), if it has one: only
/// secure contexts (https, localhost) do.
fn subtle() -> Option<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into::<SubtleCrypto>().ok()
}

#[wasm_bindgen]
extern "C" {
    /// Runs WebCrypto AES-GCM on another thread (pkg/cipher.js): `start`
    /// copies `data` before it returns and resolves to the result's
    /// `ArrayBuffer` (with `hash`: to `[result, SHA-256 of the stored
    /// bytes]`, the output when sealing, the input when opening), or rejects
    /// as `crypto.subtle` would.
    #[derive(Clone)]
    pub type Helper;

    #[wasm_bindgen(method)]
    fn start(
        this: &Helper,
        op: &str,
        key: &CryptoKey,
        iv: &Uint8Array,
        data: &Uint8Array,
        hash: bool,
    ) -> Promise;

    // `promise.then(resolve, reject)` with callbacks that return a value
    // (js-sys types them as returning nothing).
    #[wasm_bindgen(js_namespace = ["Promise", "prototype", "then"], js_name = call)]
    pub(crate) fn then(promise: &Promise, resolve: &JsValue, reject: &JsValue) -> Promise;
}

/// Callbacks that split a helper's `[result, digest]` and hash a sealed
/// segment, made once.
struct Split {
    first: Closure<dyn FnMut(JsValue) -> JsValue>,
    second: Closure<dyn FnMut(JsValue) -> JsValue>,
    digest: Closure<dyn FnMut(JsValue) -> JsValue>,
    /// Settles to `undefined` whatever came: a digest's promise never
    /// rejects on its own (its segment's promise says what failed), nor
    /// does [`settled`].
    ignore: Closure<dyn FnMut(JsValue) -> JsValue>,
}

thread_local! {
    static SPLIT: Split = Split {
        first: Closure::new(|pair: JsValue| Reflect::get_u32(&pair, 0).unwrap_or_default()),
        second: Closure::new(|pair: JsValue| Reflect::get_u32(&pair, 1).unwrap_or_default()),
        digest: Closure::new(|sealed: JsValue| digest(&to_bytes(sealed)).into()),
        ignore: Closure::new(|_: JsValue| JsValue::UNDEFINED),
    };
}

/// Consecutive segments dealt to one thread: a helper gets them as one
/// message (see pkg/cipher.js), and one push of `seal()` is this many.
const SEGMENTS_PER_TURN: usize = 4;

thread_local! {
    static HELPERS: RefCell<Vec<Helper>> = const { RefCell::new(Vec::new()) };
}

/// Registers the helpers that WebCrypto engines made from now on deal
/// segments to (none: every segment runs on this thread).
#[wasm_bindgen(js_name = setCipherHelpers)]
pub fn set_cipher_helpers(helpers: Array) {
    HELPERS.with(|h| *h.borrow_mut() = helpers.iter().map(JsCast::unchecked_into).collect());
}

/// A cipher call's result as bytes: WebCrypto resolves to an `ArrayBuffer`
/// (viewed, not copied), the wasm engine to a `Uint8Array`.
pub fn to_bytes(value: JsValue) -> Uint8Array {
    if value.is_instance_of::<ArrayBuffer>() {
        Uint8Array::new(&value)
    } else {
        value.unchecked_into()
    }
}

/// SHA-256 of bytes in JS memory: WebCrypto's when this global has it
/// (hardware SHA-256, and the bytes stay in JS memory; the input is copied
/// when called, so the caller may reuse it at once), else `sha2` in wasm.
/// Resolves to an `ArrayBuffer` or a `Uint8Array` of 32 bytes.
pub fn digest(bytes: &Uint8Array) -> Promise {
    if let Some(subtle) = subtle() {
        if let Ok(promise) = subtle.digest_with_str_and_buffer_source("SHA-256", bytes) {
            return promise;
        }
    }
    let hash = crate::signature::segment_digest(&bytes.to_vec());
    Promise::resolve(&JsValue::from(Uint8Array::from(&hash[..])))
}

/// A promise that settles, to `undefined`, when `promise` settles either way.
pub(crate) fn settled(promise: &Promise) -> Promise {
    SPLIT.with(|s| then(promise, s.ignore.as_ref(), s.ignore.as_ref()))
}

/// A digest's result as the core's 32 bytes.
pub fn digest_bytes(value: &JsValue) -> Result<crate::signature::SegmentDigest, JsValue> {
    let bytes = to_bytes(value.clone());
    let mut out = [0u8; 32];
    if bytes.length() != 32 {
        return Err(with_code(
            "Engine",
            "the SHA-256 engine returned the wrong length",
        ));
    }
    bytes.copy_to(&mut out);
    Ok(out)
}

/// Which cipher call, and what its failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Seal a segment.
    Seal,
    /// Open a segment; a segment that does not verify is the opaque `Corrupt`.
    Open,
}

fn iv_of(nonce: &Nonce) -> Uint8Array {
    Uint8Array::from(&nonce.to_bytes()[..])
}

impl Op {
    /// WebCrypto's name for the call.
    fn subtle_name(self) -> &'static str {
        match self {
            Op::Seal => "encrypt",
            Op::Open => "decrypt",
        }
    }

    /// Maps a failed call of this kind to the error callers get. WebCrypto
    /// rejects a segment that does not verify (or is shorter than its tag)
    /// with OperationError and nothing else, so that is `Corrupt` on open;
    /// the wasm engine rejects with `Corrupt` itself. Any other failure says
    /// nothing about the bytes (a cipher worker that died, a browser refusing
    /// the call) and is `Engine`, so it is never reported as tampering.
    pub fn error(self, err: JsValue) -> JsValue {
        if text(&err, "code").is_some() {
            return err; // already one of ours (a DOMException's `code` is a number)
        }
        if self == Op::Open && text(&err, "name").as_deref() == Some("OperationError") {
            return to_js(crate::Error::Corrupt);
        }
        engine_error(&err)
    }
}

/// The `Engine` error for a failure of WebCrypto or of a cipher worker,
/// keeping what the browser said (its messages carry no key material).
fn engine_error(err: &JsValue) -> JsValue {
    let name = text(err, "name").unwrap_or_else(|| "Error".into());
    let said = text(err, "message").unwrap_or_default();
    with_code(
        "Engine",
        &format!("the cipher engine failed: {name}: {said}"),
    )
}

/// AES-GCM's parameters for one call, as web-sys's dictionary. A fresh
/// object each time: sharing one (WebCrypto copies its members when
/// called) made V8 collect later, and with it release finished parts'
/// Blobs, which grew Chromium's peak memory (bench/results.md, "design
/// measurements").
fn gcm_params(nonce: &Nonce) -> AesGcmParams {
    let params =
        AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(&nonce.to_bytes()[..]));
    params.set_tag_length((TAG_SIZE * 8) as u8);
    params
}

/// A per-object segment engine.
pub enum Engine {
    /// WebCrypto with a non-extractable key.
    WebCrypto {
        /// `crypto.subtle` of this global.
        subtle: SubtleCrypto,
        /// The segment key, imported non-extractable.
        key: CryptoKey,
        /// Other threads' WebCrypto, dealt segments in turn with this one.
        helpers: Vec<Helper>,
        /// Segments started so far, which say whose turn the next one is.
        started: Cell<usize>,
    },
    /// RustCrypto `aes-gcm` in wasm.
    Wasm(Box<SegmentCipher>),
}

impl Engine {
    /// An engine for the segment key `key` (see `Sealer::segment_key`);
    /// `cipher` is the same key's wasm cipher, kept for the fallback.
    pub async fn new(
        choice: Choice,
        key: Zeroizing<[u8; KEY_SIZE]>,
        cipher: SegmentCipher,
    ) -> Result<Self, JsValue> {
        let subtle = match (choice, subtle()) {
            (Choice::Wasm, _) | (Choice::Auto, None) => return Ok(Engine::Wasm(Box::new(cipher))),
            (_, Some(s)) => s,
            (Choice::WebCrypto, None) => {
                return Err(with_code(
                    "InvalidInput",
                    "invalid input: WebCrypto is not available here (not a secure context?)",
                ));
            }
        };
        // WebCrypto copies the key bytes when called; wipe our JS copy right after.
        let raw = Uint8Array::from(&key[..]);
        let usages = js_sys::Array::of2(&"encrypt".into(), &"decrypt".into());
        let imported = subtle.import_key_with_str("raw", &raw, "AES-GCM", false, &usages);
        raw.fill(0, 0, KEY_SIZE as u32);
        match imported {
            Ok(promise) => {
                let key: CryptoKey = JsFuture::from(promise)
                    .await
                    .map_err(|e| engine_error(&e))?
                    .unchecked_into();
                let helpers = HELPERS.with(|h| h.borrow().clone());
                Ok(Engine::WebCrypto {
                    subtle,
                    key,
                    helpers,
                    started: Cell::new(0),
                })
            }
            // Some contexts expose `subtle` but refuse; fall back unless told not to.
            Err(e) if choice == Choice::WebCrypto => Err(engine_error(&e)),
            Err(_) => Ok(Engine::Wasm(Box::new(cipher))),
        }
    }

    /// `"webcrypto"` or `"wasm"`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::WebCrypto { .. } => "webcrypto",
            Engine::Wasm(_) => "wasm",
        }
    }

    /// Starts `op` on one segment in JS memory (copied before this
    /// returns). The promise resolves to the result, an `ArrayBuffer` or a
    /// `Uint8Array` ([`to_bytes`] takes both); a failed open rejects, and
    /// nothing of a failing segment is ever returned.
    pub fn start(&self, op: Op, nonce: Nonce, input: &Uint8Array) -> Result<Promise, JsValue> {
        Ok(self.call(op, nonce, input, false)?.0)
    }

    /// As [`Engine::start`], and also the SHA-256 of the segment's stored
    /// bytes (the result when sealing, the input when opening) for the
    /// object's signature: computed on the thread that runs the cipher
    /// call, so a helper takes its share of the hashing too. The digest's
    /// promise resolves to 32 bytes, or to `undefined` if the call failed.
    pub fn start_hashed(
        &self,
        op: Op,
        nonce: Nonce,
        input: &Uint8Array,
    ) -> Result<(Promise, Promise), JsValue> {
        let (call, hash) = self.call(op, nonce, input, true)?;
        Ok((call, hash.expect("asked for a digest")))
    }

    /// One segment's cipher call on whichever thread's turn it is, and with
    /// `hash` its digest's promise.
    fn call(
        &self,
        op: Op,
        nonce: Nonce,
        input: &Uint8Array,
        hash: bool,
    ) -> Result<(Promise, Option<Promise>), JsValue> {
        let call = match self {
            Engine::WebCrypto {
                subtle,
                key,
                helpers,
                started,
            } => {
                let n = started.get();
                started.set(n.wrapping_add(1));
                let turn = n / SEGMENTS_PER_TURN % (helpers.len() + 1);
                if let Some(helper) = turn.checked_sub(1).map(|i| &helpers[i]) {
                    let called = helper.start(op.subtle_name(), key, &iv_of(&nonce), input, hash);
                    if !hash {
                        return Ok((called, None));
                    }
                    // The helper answers `[result, digest]`.
                    return Ok(SPLIT.with(|s| {
                        (
                            then(&called, s.first.as_ref(), &JsValue::UNDEFINED),
                            Some(then(&called, s.second.as_ref(), s.ignore.as_ref())),
                        )
                    }));
                }
                let params = gcm_params(&nonce);
                match op {
                    Op::Seal => subtle.encrypt_with_object_and_buffer_source(&params, key, input),
                    Op::Open => subtle.decrypt_with_object_and_buffer_source(&params, key, input),
                }?
            }
            Engine::Wasm(cipher) => {
                // One side is plaintext: both copies are wiped (a few % of
                // this engine's time).
                let input = Zeroizing::new(input.to_vec());
                let mut out = Zeroizing::new(Vec::with_capacity(input.len() + TAG_SIZE));
                let done = match op {
                    Op::Seal => {
                        cipher.seal_to(nonce, &input, &mut out);
                        Ok(())
                    }
                    Op::Open => cipher.open_to(nonce, &input, &mut out),
                };
                match done {
                    Ok(()) => Promise::resolve(&JsValue::from(Uint8Array::from(&out[..]))),
                    Err(e) => Promise::reject(&to_js(e)),
                }
            }
        };
        // On this thread: the input is hashed now (it may be reused once
        // this returns), the result once it is there.
        let hash = hash.then(|| match op {
            Op::Open => digest(input),
            Op::Seal => SPLIT.with(|s| then(&call, s.digest.as_ref(), s.ignore.as_ref())),
        });
        Ok((call, hash))
    }

    /// Runs `op` on one segment; resolves to its bytes.
    async fn run(&self, op: Op, nonce: Nonce, input: &Uint8Array) -> Result<Uint8Array, JsValue> {
        match JsFuture::from(self.start(op, nonce, input)?).await {
            Ok(value) => Ok(to_bytes(value)),
            Err(e) => Err(op.error(e)),
        }
    }

    /// Seals one segment; resolves to ciphertext ‖ tag.
    pub async fn seal(&self, nonce: Nonce, plaintext: &Uint8Array) -> Result<Uint8Array, JsValue> {
        self.run(Op::Seal, nonce, plaintext).await
    }

    /// Opens one sealed segment; `Corrupt` if its tag does not verify.
    pub async fn open(&self, nonce: Nonce, sealed: &Uint8Array) -> Result<Uint8Array, JsValue> {
        self.run(Op::Open, nonce, sealed).await
    }
}
