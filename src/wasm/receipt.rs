//! The receipt of a form-mode upload: the SHA-256 of the whole plaintext,
//! fed in order, on the uploading thread for small files and in the
//! package's hash Worker (pkg/hash.js) for the rest.

use js_sys::Uint8Array;
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::key::hex;

/// Plaintext copied into wasm memory at a time, through one scratch buffer
/// wiped at the end: a whole part at once would leave megabytes of it in
/// memory the allocator reuses unwiped.
const SCRATCH_SIZE: u32 = 256 << 10;

/// SHA-256 fed in order.
#[wasm_bindgen]
pub struct ReceiptHash {
    hash: Sha256,
    scratch: Zeroizing<Vec<u8>>,
}

#[wasm_bindgen]
impl ReceiptHash {
    /// A hash of nothing yet.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            hash: Sha256::new(),
            scratch: Zeroizing::new(Vec::new()),
        }
    }

    /// Feeds the next plaintext bytes (read from JS memory, not kept).
    pub fn update(&mut self, bytes: &Uint8Array) {
        let mut at = 0;
        while at < bytes.length() {
            let end = bytes.length().min(at + SCRATCH_SIZE);
            self.scratch.resize((end - at) as usize, 0);
            bytes.subarray(at, end).copy_to(&mut self.scratch);
            self.hash.update(&*self.scratch);
            at = end;
        }
    }

    /// The hex digest of every byte given.
    pub fn finish(self) -> String {
        hex(&self.hash.clone().finalize())
    }
}
