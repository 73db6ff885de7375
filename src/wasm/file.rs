//! The file to upload, read one part at a time by the package's
//! `BlobParts` (pkg/blob.js: BYOB reads into memory reused from one part to
//! the next, and the checks that the file did not change), the one Blob
//! reader every path of the package shares.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::error::with_code;

#[wasm_bindgen]
extern "C" {
    /// pkg/blob.js's reader of one Blob's ranges.
    pub type BlobParts;

    /// The Blob read.
    #[wasm_bindgen(method, getter)]
    pub fn blob(this: &BlobParts) -> Blob;

    #[wasm_bindgen(method, js_name = read)]
    fn read_range(this: &BlobParts, start: f64, end: f64) -> Promise;

    /// Hands back bytes `read` returned, once nothing reads them any more
    /// (WebCrypto and the wasm engine copy their input when a call starts),
    /// so the next read fills the same memory.
    #[wasm_bindgen(method)]
    pub fn recycle(this: &BlobParts, bytes: &Uint8Array);

    #[wasm_bindgen(method, js_name = ensureUnchanged)]
    fn ensure_unchanged_promise(this: &BlobParts) -> Promise;
}

impl BlobParts {
    /// The Blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.blob().size() as u64
    }

    /// Bytes `start..end` of the Blob, the caller's until recycled.
    pub async fn read(&self, start: u64, end: u64) -> Result<Uint8Array, JsValue> {
        if end - start > u64::from(u32::MAX) {
            return Err(with_code(
                "InvalidInput",
                "invalid input: a part is over 4 GiB",
            ));
        }
        let bytes = JsFuture::from(self.read_range(start as f64, end as f64)).await?;
        Ok(bytes.unchecked_into())
    }

    /// Fails if the file changed since it was picked: a part's stream is
    /// checked when it opens, so the last one may hold bytes written after
    /// that.
    pub async fn ensure_unchanged(&self) -> Result<(), JsValue> {
        JsFuture::from(self.ensure_unchanged_promise()).await?;
        Ok(())
    }
}
