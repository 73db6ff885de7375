//! `Sealer` and `Opener`: the core's push API, chunk in, bytes out.

use wasm_bindgen::prelude::*;

use super::error::{JsResult, js, with_code};
use super::field::get;
use super::key::Key;
use crate::format::Metadata;
use crate::object::{self, ObjectSealer, SegmentLedger};

pub(crate) fn metadata_from_js(options: &JsValue) -> JsResult<Metadata> {
    let text = |field: &str| -> JsResult<String> {
        let v = get(options, field);
        match v.as_string() {
            Some(s) => Ok(s),
            None if v.is_undefined() || v.is_null() => Ok(String::new()),
            None => Err(with_code(
                "InvalidInput",
                &format!("invalid input: `{field}` must be a string"),
            )),
        }
    };
    let size = get(options, "size");
    let size = if size.is_undefined() || size.is_null() {
        None
    } else {
        match size.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => {
                Some(n as u64)
            }
            _ => {
                return Err(with_code(
                    "InvalidInput",
                    "invalid input: `size` must be a whole number of bytes",
                ));
            }
        }
    };
    Ok(Metadata {
        name: text("name")?,
        media_type: text("type")?,
        size,
    })
}

pub(crate) fn metadata_to_js(meta: &Metadata) -> js_sys::Object {
    let obj = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&obj, &"name".into(), &meta.name.as_str().into());
    let _ = js_sys::Reflect::set(&obj, &"type".into(), &meta.media_type.as_str().into());
    let size = meta
        .size
        .map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64));
    let _ = js_sys::Reflect::set(&obj, &"size".into(), &size);
    obj
}

/// Seals one object. `push` plaintext chunks, then `finish`; or, for
/// multipart uploads, `head()` plus `sealSegments(…)` for any run of whole
/// segments, independently and byte-identically on retry. One sealer does
/// one or the other: both choose what each segment index holds.
#[wasm_bindgen]
pub struct Sealer {
    sealer: object::Sealer,
    stream: Option<ObjectSealer>,
    finished: bool,
    /// What `sealSegments` released, so no index is sealed over two plaintexts.
    ledger: SegmentLedger,
}

/// Refuses mixing the two ways of sealing on one `Sealer`.
fn mixed() -> JsValue {
    with_code(
        "InvalidInput",
        "invalid input: a Sealer seals with push/finish or with sealSegments, not both",
    )
}

/// A segment index from JS: a whole number in range. `as u64` would turn NaN
/// and negatives into 0 and saturate the rest, silently naming another segment.
fn segment_index(n: f64) -> JsResult<u64> {
    if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < crate::stream::MAX_SEGMENTS as f64 {
        Ok(n as u64)
    } else {
        Err(with_code(
            "InvalidInput",
            "invalid input: a segment index is a whole number from 0 to 2^32 - 1",
        ))
    }
}

#[wasm_bindgen]
impl Sealer {
    /// Starts sealing for `key` (a root key or passphrase) with metadata
    /// `{ name, type, size }` (all optional; `size` is checked on open).
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key, metadata: JsValue) -> JsResult<Sealer> {
        let meta = metadata_from_js(&metadata)?;
        Ok(Sealer {
            sealer: js(object::Sealer::new(&key.secret, &meta))?,
            stream: None,
            finished: false,
            ledger: SegmentLedger::new(),
        })
    }

    /// The object's id (32 hex digits).
    #[wasm_bindgen(getter, js_name = objectId)]
    pub fn object_id(&self) -> String {
        self.sealer.object_id().to_hex()
    }

    /// The object's name in the bucket (`<id>.s3seal`; add any prefix).
    #[wasm_bindgen(getter, js_name = objectName)]
    pub fn object_name(&self) -> String {
        self.sealer.object_name().to_string()
    }

    /// This object's own key (a share key: opens this object only).
    #[wasm_bindgen(js_name = fileKey)]
    pub fn file_key(&self) -> Key {
        Key {
            secret: crate::Secret::File(self.sealer.file_key().clone()),
        }
    }

    /// The SSE-C headers for this object.
    #[wasm_bindgen(js_name = sseCHeaders)]
    pub fn sse_c_headers(&self) -> js_sys::Object {
        super::sse::headers_object(&crate::sse::sse_c(&self.sealer.sse_c_key()))
    }

    /// Object length in bytes for a plaintext of `plaintext_len` bytes.
    #[wasm_bindgen(js_name = objectLength)]
    pub fn object_length(&self, plaintext_len: f64) -> f64 {
        self.sealer.object_len(plaintext_len as u64) as f64
    }

    /// Takes plaintext, returns the object bytes it completes (may be empty).
    pub fn push(&mut self, chunk: &[u8]) -> JsResult<Vec<u8>> {
        if self.finished {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the sealer is finished",
            ));
        }
        if !self.ledger.is_empty() {
            return Err(mixed());
        }
        let stream = self
            .stream
            .get_or_insert_with(|| self.sealer.clone().into_stream());
        let mut out = Vec::with_capacity(chunk.len() + 4096);
        js(stream.push(chunk, &mut out))?;
        Ok(out)
    }

    /// Ends the object; returns its last bytes.
    pub fn finish(&mut self) -> JsResult<Vec<u8>> {
        if self.finished {
            return Err(with_code(
                "InvalidInput",
                "invalid input: the sealer is finished",
            ));
        }
        if !self.ledger.is_empty() {
            return Err(mixed());
        }
        self.finished = true;
        let stream = self
            .stream
            .take()
            .unwrap_or_else(|| self.sealer.clone().into_stream());
        let mut out = Vec::new();
        js(stream.finish(&mut out))?;
        Ok(out)
    }

    /// The object's first bytes (preamble and payload header); part 1 of a
    /// multipart upload starts with them.
    pub fn head(&self) -> Vec<u8> {
        self.sealer.head()
    }

    /// Seals segments `first…` from their concatenated plaintext (whole
    /// segments; the last may be short only if `endsObject`). A segment
    /// sealed again must get the same bytes (a retried part comes out
    /// byte-identical); other bytes under an index already sealed are
    /// refused (`InvalidInput`) before anything is returned, since they
    /// would reuse its nonce.
    #[wasm_bindgen(js_name = sealSegments)]
    pub fn seal_segments(
        &mut self,
        first: f64,
        plaintext: &[u8],
        ends_object: bool,
    ) -> JsResult<Vec<u8>> {
        let first = segment_index(first)?;
        if self.stream.is_some() || self.finished {
            return Err(mixed());
        }
        let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / 16384 + 64);
        js(self.sealer.seal_segments_once(
            &mut self.ledger,
            first,
            plaintext,
            ends_object,
            &mut out,
        ))?;
        Ok(out)
    }

    /// The object's last 64 bytes, its signature, once `sealSegments` sealed
    /// every segment (`InvalidInput` before): the last part ends with it.
    pub fn signature(&self) -> JsResult<Vec<u8>> {
        Ok(js(self.sealer.signature(&self.ledger))?.to_vec())
    }
}

/// Opens one object: `push` its bytes, read verified plaintext back, then
/// `finish`. Plaintext of a segment comes out only after its tag verified.
#[wasm_bindgen]
pub struct Opener {
    opener: Option<object::Opener>,
    metadata: Option<Metadata>,
}

#[wasm_bindgen]
impl Opener {
    /// An opener for `key`.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &Key) -> Opener {
        Opener {
            opener: Some(object::Opener::new(key.secret.clone())),
            metadata: None,
        }
    }

    /// `{ name, type, size }` once the preamble verified, else `undefined`.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> JsValue {
        let meta = self
            .metadata
            .as_ref()
            .or_else(|| self.opener.as_ref().and_then(|o| o.metadata()));
        meta.map_or(JsValue::UNDEFINED, |m| metadata_to_js(m).into())
    }

    /// Also check that the object is the one `objectName` names
    /// (`NameMismatch` otherwise). Call before the first push.
    #[wasm_bindgen(js_name = expectName)]
    pub fn expect_name(&mut self, object_name: &str) -> JsResult<()> {
        let name = js(crate::ObjectName::parse(object_name))?;
        match self.opener.as_mut() {
            Some(o) => js(o.expect_name(name)),
            None => Err(with_code(
                "InvalidInput",
                "invalid input: the opener is finished",
            )),
        }
    }

    /// Takes object bytes, returns the verified plaintext they complete.
    pub fn push(&mut self, chunk: &[u8]) -> JsResult<Vec<u8>> {
        let opener = self
            .opener
            .as_mut()
            .ok_or_else(|| with_code("InvalidInput", "invalid input: the opener is finished"))?;
        let mut out = Vec::with_capacity(chunk.len() + crate::stream::SEGMENT_SIZE);
        js(opener.push(chunk, &mut out))?;
        Ok(out)
    }

    /// The object ended: verifies the last segment and returns its plaintext.
    pub fn finish(&mut self) -> JsResult<Vec<u8>> {
        let opener = self
            .opener
            .take()
            .ok_or_else(|| with_code("InvalidInput", "invalid input: the opener is finished"))?;
        let mut out = Vec::new();
        self.metadata = Some(js(opener.finish(&mut out))?);
        Ok(out)
    }
}

/// Random access to a stored object ([`crate::RangeOpener`]): the host
/// fetches the head and the ranges this names, the core decides and opens.
#[wasm_bindgen]
pub struct RangeReader {
    inner: crate::RangeOpener,
}

#[wasm_bindgen]
impl RangeReader {
    /// Checks `key` against the object's head (its first bytes: preamble and
    /// payload header) and the object's length in bytes; `objectName` as for
    /// `OpenStream.expectName` (a file key needs it).
    #[wasm_bindgen(js_name = forObject)]
    pub fn for_object(
        key: &Key,
        object_name: &str,
        head: js_sys::Uint8Array,
        object_len: f64,
    ) -> JsResult<RangeReader> {
        let name = js(crate::ObjectName::parse(object_name))?;
        let inner = js(crate::RangeOpener::new(
            &key.secret,
            Some(&name),
            &head.to_vec(),
            object_len as u64,
        ))?;
        Ok(RangeReader { inner })
    }

    /// The sealed metadata `{ name, type, size }`.
    #[wasm_bindgen(getter)]
    pub fn metadata(&self) -> js_sys::Object {
        metadata_to_js(self.inner.metadata())
    }

    /// Plaintext bytes in the object.
    #[wasm_bindgen(getter, js_name = plaintextLength)]
    pub fn plaintext_length(&self) -> f64 {
        self.inner.plaintext_len() as f64
    }

    /// `[first, end)` segments and `[start, end)` object bytes to fetch for
    /// plaintext `[start, end)`, as four numbers.
    pub fn plan(&self, start: f64, end: f64) -> Vec<f64> {
        let segments = self.inner.segments_for(start as u64..end as u64);
        let bytes = self.inner.object_range(segments.clone());
        vec![
            segments.start as f64,
            segments.end as f64,
            bytes.start as f64,
            bytes.end as f64,
        ]
    }

    /// Opens segments `[first, end)` from `ciphertext` (the object bytes
    /// `plan` named) and returns plaintext `[start, stop)`; each segment is
    /// authenticated, the whole-object signature is not (FORMAT.md §5.4).
    pub fn open(
        &self,
        start: f64,
        stop: f64,
        first: f64,
        end: f64,
        ciphertext: js_sys::Uint8Array,
    ) -> JsResult<js_sys::Uint8Array> {
        let plain = zeroize::Zeroizing::new(js(self.inner.open(
            start as u64..stop as u64,
            first as u64..end as u64,
            &ciphertext.to_vec(),
        ))?);
        Ok(js_sys::Uint8Array::from(&plain[..]))
    }
}
