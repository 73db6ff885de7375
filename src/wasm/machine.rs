//! The core's seal and open state machines ([`crate::hazmat::SealMachine`],
//! [`crate::hazmat::OpenMachine`]) for the package's engine.ts, which runs
//! their steps on WebCrypto or on [`WasmCipher`]: one call per chunk. The
//! bytes stay in JS memory; only lengths, nonces and digests cross (and
//! the few bytes the open machine reads itself).
//!
//! Steps cross as a `Float64Array` of six numbers each, and their nonces
//! as one `Uint8Array` of 12 bytes per segment:
//! - hold: `[0, piece, at, offset, len, completes]`;
//! - segment: `[1, piece, at, index, len, last]`, `piece` 2 being the held
//!   segment.
//!
//! `piece` 0 is the bytes an open push released, 1 the chunk.

use js_sys::{Array, Float64Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::error::{JsResult, invalid, js, to_js, with_code};
use super::field::{metadata_from_js, metadata_to_js, set, text, whole};
use super::key::{Key, Recipient};
use crate::ObjectName;
use crate::hazmat::{OpenMachine as Open, Piece, SealMachine as Seal, SealPush, Step};
use crate::object::Sealer;
use crate::signature::SegmentDigest;
use crate::stream::{Nonce, SegmentCipher, TAG_SIZE};

/// Numbers per step in the steps array.
const STEP_FIELDS: usize = 6;

fn piece_number(piece: Piece) -> f64 {
    match piece {
        Piece::Released => 0.0,
        Piece::Chunk => 1.0,
    }
}

/// `{ steps, ivs }`, and `head` / `released` when given.
pub(crate) fn steps_to_js(steps: &[Step]) -> Object {
    let mut numbers = Vec::with_capacity(steps.len() * STEP_FIELDS);
    let mut ivs = Vec::new();
    for step in steps {
        numbers.extend_from_slice(&match *step {
            Step::Hold {
                piece,
                at,
                offset,
                len,
                completes,
            } => [
                0.0,
                piece_number(piece),
                at as f64,
                offset as f64,
                len as f64,
                f64::from(u8::from(completes)),
            ],
            Step::Segment { nonce, from, len } => {
                ivs.extend_from_slice(&nonce.to_bytes());
                let (piece, at) = from.map_or((2.0, 0.0), |(p, at)| (piece_number(p), at as f64));
                [
                    1.0,
                    piece,
                    at,
                    nonce.index() as f64,
                    len as f64,
                    f64::from(u8::from(nonce.is_last())),
                ]
            }
        });
    }
    let out = Object::new();
    set(&out, "steps", Float64Array::from(&numbers[..]));
    set(&out, "ivs", Uint8Array::from(&ivs[..]));
    out
}

fn seal_push_to_js(push: SealPush) -> Object {
    let out = steps_to_js(&push.steps);
    if let Some(head) = push.head {
        set(&out, "head", Uint8Array::from(&head[..]));
    }
    out
}

/// Digests as the core's arrays, from 32 bytes each.
pub(crate) fn digests_from(bytes: &[u8]) -> JsResult<Vec<SegmentDigest>> {
    if bytes.len() % 32 != 0 {
        return Err(with_code(
            "Engine",
            "the SHA-256 engine returned the wrong length",
        ));
    }
    Ok(bytes
        .chunks(32)
        .map(|d| d.try_into().expect("32 bytes"))
        .collect())
}

/// The wasm `aes-gcm` engine, where WebCrypto is absent: the package calls
/// it as it calls WebCrypto, with the segment's number instead of its nonce
/// bytes.
#[wasm_bindgen]
pub struct WasmCipher(SegmentCipher);

impl WasmCipher {
    pub(crate) fn new(cipher: SegmentCipher) -> Self {
        Self(cipher)
    }

    fn run(&self, index: f64, last: bool, input: &Uint8Array, seal: bool) -> JsResult<Uint8Array> {
        let nonce: Nonce = js(self.0.nonce(index as u64, last))?;
        // One side is plaintext: both copies are wiped.
        let input = Zeroizing::new(input.to_vec());
        let mut out = Zeroizing::new(Vec::with_capacity(input.len() + TAG_SIZE));
        if seal {
            self.0.seal_to(nonce, &input, &mut out);
        } else {
            js(self.0.open_to(nonce, &input, &mut out))?;
        }
        Ok(Uint8Array::from(&out[..]))
    }
}

#[wasm_bindgen]
impl WasmCipher {
    /// Seals segment `index` (`last`: it ends the object).
    pub fn seal(&self, index: f64, last: bool, plaintext: &Uint8Array) -> JsResult<Uint8Array> {
        self.run(index, last, plaintext, true)
    }

    /// Opens segment `index`; `Corrupt` if its tag does not verify.
    pub fn open(&self, index: f64, last: bool, sealed: &Uint8Array) -> JsResult<Uint8Array> {
        self.run(index, last, sealed, false)
    }
}

/// SHA-256 of a stored segment, where WebCrypto is absent.
#[wasm_bindgen(js_name = segmentDigest)]
pub fn segment_digest(bytes: &[u8]) -> Uint8Array {
    Uint8Array::from(&crate::signature::segment_digest(bytes)[..])
}

/// What a failed cipher call means (`opening`: an open). WebCrypto rejects
/// a segment that does not verify (or is shorter than its tag) with
/// OperationError and nothing else, so that is `Corrupt` when opening; the
/// wasm engine throws `Corrupt` itself. Any other failure says nothing
/// about the bytes (a cipher worker that died, a browser refusing the
/// call) and is `Engine`, never reported as tampering.
#[wasm_bindgen(js_name = cipherFailure)]
pub fn cipher_failure(opening: bool, err: JsValue) -> JsValue {
    if text(&err, "code").is_some() {
        return err; // already one of ours (a DOMException's `code` is a number)
    }
    if opening && text(&err, "name").as_deref() == Some("OperationError") {
        return to_js(crate::Error::Corrupt);
    }
    let name = text(&err, "name").unwrap_or_else(|| "Error".into());
    let said = text(&err, "message").unwrap_or_default();
    with_code(
        "Engine",
        &format!("the cipher engine failed: {name}: {said}"),
    )
}

/// Where plaintext segment `index` starts: chunks that end at these
/// offsets are cut without copies (`SealStream.pushLent`).
#[wasm_bindgen(js_name = segmentOffset)]
pub fn segment_offset(index: f64) -> f64 {
    crate::stream::layout::plaintext_offset(index as u64) as f64
}

/// What both sealing handles ([`SealMachine`] and the upload's
/// `UploadSealer`) tell of their object, from the core's sealer.
macro_rules! sealing_handle {
    ($handle:ident) => {
        #[wasm_bindgen]
        impl $handle {
            /// The object's id (32 hex digits).
            #[wasm_bindgen(getter, js_name = objectId)]
            pub fn object_id(&self) -> String {
                self.0.sealer().object_id().to_hex()
            }

            /// The object's name in the bucket.
            #[wasm_bindgen(getter, js_name = objectName)]
            pub fn object_name(&self) -> String {
                self.0.sealer().object_name().to_string()
            }

            /// This object's own key (a share key). Refused in recipient mode.
            #[wasm_bindgen(js_name = fileKey)]
            pub fn file_key(&self) -> Result<Key, JsValue> {
                Key::share_of(self.0.sealer())
            }

            /// The segment key, for WebCrypto's import (wipe it after).
            #[wasm_bindgen(js_name = segmentKey)]
            pub fn segment_key(&self) -> Uint8Array {
                Uint8Array::from(&self.0.sealer().segment_key()[..])
            }

            /// The wasm engine for this object.
            pub fn cipher(&self) -> WasmCipher {
                WasmCipher::new(self.0.sealer().segment_cipher().clone())
            }
        }
    };
}
pub(crate) use sealing_handle;

/// The seal machine: plaintext lengths in, steps out.
#[wasm_bindgen]
pub struct SealMachine(Seal);

sealing_handle!(SealMachine);

#[wasm_bindgen]
impl SealMachine {
    /// For `key` (a root key or passphrase) and metadata `{ name, type, size }`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key, metadata: JsValue) -> JsResult<SealMachine> {
        let meta = metadata_from_js(&metadata)?;
        Ok(Self(Seal::new(js(Sealer::new(&key.secret, &meta))?)))
    }

    /// Sealed to `recipient`: only its identity opens the object.
    #[wasm_bindgen(js_name = toRecipient)]
    pub fn to_recipient(recipient: &Recipient, metadata: JsValue) -> JsResult<SealMachine> {
        let meta = metadata_from_js(&metadata)?;
        Ok(Self(Seal::new(js(Sealer::for_recipient(
            &recipient.inner,
            &meta,
        ))?)))
    }

    /// The SSE-C headers for this object.
    #[wasm_bindgen(js_name = sseCHeaders)]
    pub fn sse_c_headers(&self) -> Object {
        super::sse::headers_object(&crate::sse::sse_c(&self.0.sealer().sse_c_key()))
    }

    /// Object length in bytes for `plaintext_len` bytes of plaintext.
    #[wasm_bindgen(js_name = objectLength)]
    pub fn object_length(&self, plaintext_len: f64) -> f64 {
        self.0.sealer().object_len(plaintext_len as u64) as f64
    }

    /// `len` more plaintext bytes: `{ head?, steps, ivs }`.
    pub fn push(&mut self, len: f64) -> JsResult<Object> {
        // Offsets are 32-bit here: a longer chunk would be cut short.
        let len = whole(len, 0.0..=f64::from(u32::MAX))
            .ok_or_else(|| invalid("a chunk must be a whole number of bytes below 4 GiB"))?;
        Ok(seal_push_to_js(js(self.0.push(len as usize))?))
    }

    /// The plaintext ended: the last segment's step (and the head if no
    /// push came before).
    pub fn finish(&mut self) -> JsResult<Object> {
        Ok(seal_push_to_js(js(self.0.finish())?))
    }

    /// The SHA-256 of the next sealed segments, 32 bytes each, in order.
    pub fn record(&mut self, digests: &[u8]) -> JsResult<()> {
        js(self.0.record(&digests_from(digests)?))
    }

    /// The object's last 64 bytes, once every segment is recorded.
    pub fn signature(&self) -> JsResult<Uint8Array> {
        Ok(Uint8Array::from(&js(self.0.signature())?[..]))
    }
}

/// The open machine: object bytes in (it reads only the preamble, the
/// payload header and the held-back end), steps out.
#[wasm_bindgen]
pub struct OpenMachine(Open);

#[wasm_bindgen]
impl OpenMachine {
    /// An opener for `key`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key) -> OpenMachine {
        Self(Open::new(key.secret.clone()))
    }

    /// Also check that the object is the one `objectName` names; before
    /// the first push.
    #[wasm_bindgen(js_name = expectName)]
    pub fn expect_name(&mut self, object_name: &str) -> JsResult<()> {
        js(self.0.expect_name(js(ObjectName::parse(object_name))?))
    }

    /// `{ name, type, size }` once the preamble verified (and after the
    /// object did), else `undefined`.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> JsValue {
        let meta = self.0.metadata();
        meta.map_or(JsValue::UNDEFINED, |m| metadata_to_js(m).into())
    }

    /// Takes a chunk: `{ released, steps, ivs }`. Throws at once for a
    /// wrong key or a malformed preamble.
    pub fn push(&mut self, chunk: &Uint8Array) -> JsResult<Object> {
        let push = js(self.0.push(chunk.length() as usize, |range| {
            chunk
                .subarray(range.start as u32, range.end as u32)
                .to_vec()
        }))?;
        let out = steps_to_js(&push.steps);
        set(&out, "released", Uint8Array::from(&push.released[..]));
        Ok(out)
    }

    /// The segment key once the payload header arrived (wipe it after).
    #[wasm_bindgen(js_name = segmentKey)]
    pub fn segment_key(&self) -> Option<Uint8Array> {
        self.0.segment_key().map(|key| Uint8Array::from(&key[..]))
    }

    /// The wasm engine, once the payload header arrived.
    pub fn cipher(&self) -> Option<WasmCipher> {
        self.0.segment_cipher().cloned().map(WasmCipher::new)
    }

    /// The SHA-256 of the next segments as stored, 32 bytes each, in order.
    pub fn record(&mut self, digests: &[u8]) -> JsResult<()> {
        js(self.0.record(&digests_from(digests)?))
    }

    /// The object ended: `{ steps, ivs }` with the step that opens the held
    /// segment as the last, or `undefined` if the end is not well formed
    /// (then `refusal`). Throws `Truncated` before the first segment.
    pub fn finish(&mut self) -> JsResult<JsValue> {
        Ok(js(self.0.finish())?.map_or(JsValue::UNDEFINED, |step| steps_to_js(&[step]).into()))
    }

    /// The last segment opened with SHA-256 `digest`: checks the size and
    /// the signature; returns the metadata.
    pub fn verify(&mut self, digest: &[u8]) -> JsResult<JsValue> {
        let digest: SegmentDigest = digest
            .try_into()
            .map_err(|_| with_code("Engine", "the SHA-256 engine returned the wrong length"))?;
        Ok(metadata_to_js(&js(self.0.verify(&digest))?).into())
    }

    /// The bytes held back at the end, which follow the held segment.
    pub fn trailer(&self) -> JsResult<Uint8Array> {
        Ok(Uint8Array::from(js(self.0.trailer())?))
    }

    /// Why the end did not open: `[{ error, steps, ivs }]` to try in order
    /// over the held segment followed by `trailer()` (each step's `at` is
    /// where its bytes start there). The first whose every segment opens
    /// gives its `error`; if none does, the object is `Corrupt`.
    #[wasm_bindgen(js_name = endReadings)]
    pub fn end_readings(&self) -> JsResult<Array> {
        Ok(js(self.0.end_readings())?
            .into_iter()
            .map(|reading| {
                let steps: Vec<Step> = reading
                    .segments
                    .iter()
                    .map(|(nonce, range)| Step::Segment {
                        nonce: *nonce,
                        from: Some((Piece::Chunk, range.start)),
                        len: range.len(),
                    })
                    .collect();
                let out = steps_to_js(&steps);
                set(&out, "error", to_js(reading.verdict));
                JsValue::from(out)
            })
            .collect())
    }
}
