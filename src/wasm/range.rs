//! Random access to a stored object.

use wasm_bindgen::prelude::*;

use super::error::{JsResult, js};
use super::field::metadata_to_js;
use super::key::Key;

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
