//! The receipt of a form-mode upload: the SHA-256 of the whole plaintext,
//! fed in order. SHA-256 in wasm runs at a fraction of the cipher's speed,
//! and in Chromium the cipher runs on the sealing thread, so hashing there
//! comes straight off the upload. Where the package runs its hash Worker
//! (pkg/hash.js), this thread only copies each segment to it.

use std::cell::RefCell;

use js_sys::{Function, Promise, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::field::hex;

/// Files smaller than this hash on the sealing thread: the Worker's start
/// would cost more than it saves.
const WORKER_MIN_BYTES: u64 = 8 << 20;

#[wasm_bindgen]
extern "C" {
    /// One file's hash in the package's hash Worker (pkg/hash.js).
    pub type HashSession;

    /// Copies `bytes` to the Worker: they may be reused once this returns.
    #[wasm_bindgen(method)]
    fn update(this: &HashSession, bytes: &Uint8Array);

    /// Resolves once the Worker's backlog is small again; rejects if it
    /// failed.
    #[wasm_bindgen(method)]
    fn settled(this: &HashSession) -> Promise;

    /// Resolves to the hex SHA-256 of every byte given; rejects if the
    /// Worker failed.
    #[wasm_bindgen(method)]
    fn finish(this: &HashSession) -> Promise;

    /// Drops the session's state in the Worker.
    #[wasm_bindgen(method)]
    fn cancel(this: &HashSession);
}

thread_local! {
    static START: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers how to start a hash session: a function resolving to a
/// `HashSession`, or to `undefined` where the Worker cannot run (none:
/// every receipt is hashed on this thread).
#[wasm_bindgen(js_name = setReceiptHasher)]
pub fn set_receipt_hasher(start: Option<Function>) {
    START.with(|s| *s.borrow_mut() = start);
}

/// SHA-256 fed in order, for the package's hash Worker.
#[wasm_bindgen]
pub struct ReceiptHash(Sha256);

#[wasm_bindgen]
impl ReceiptHash {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(Sha256::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hex digest of every byte given.
    pub fn finish(self) -> String {
        self.hex()
    }
}

impl ReceiptHash {
    fn hex(&self) -> String {
        hex(&self.0.clone().finalize())
    }
}

/// Where the receipt is being hashed.
pub enum Receipt {
    /// On this thread: the engine reads the JS bytes directly, so only the
    /// hash needs them in wasm memory, one segment at a time through one
    /// scratch buffer, wiped once at the end.
    Here(ReceiptHash, Zeroizing<Vec<u8>>),
    Worker(HashSession),
}

impl Receipt {
    /// A receipt for a file of `size` bytes: in the Worker when it runs and
    /// the file is large enough, else here.
    pub async fn start(size: u64) -> Result<Self, JsValue> {
        let start = START.with(|s| s.borrow().clone());
        if let Some(start) = start.filter(|_| size >= WORKER_MIN_BYTES) {
            let session = JsFuture::from(Promise::resolve(&start.call0(&JsValue::NULL)?)).await?;
            if !session.is_undefined() && !session.is_null() {
                return Ok(Receipt::Worker(session.unchecked_into()));
            }
        }
        Ok(Receipt::Here(
            ReceiptHash::new(),
            Zeroizing::new(Vec::new()),
        ))
    }

    /// Feeds the next segment's plaintext.
    pub fn update(&mut self, segment: &Uint8Array) {
        match self {
            Receipt::Here(hash, scratch) => {
                scratch.resize(segment.length() as usize, 0);
                segment.copy_to(scratch);
                hash.update(scratch);
            }
            Receipt::Worker(session) => session.update(segment),
        }
    }

    /// What to wait for before feeding more: the Worker's backlog.
    pub fn settled(&self) -> Option<Promise> {
        match self {
            Receipt::Worker(session) => Some(session.settled()),
            Receipt::Here(..) => None,
        }
    }

    /// The hex digest, once every byte has been fed (the same if asked
    /// again).
    pub async fn finish(cell: &RefCell<Receipt>) -> Result<String, JsValue> {
        let finishing = match &mut *cell.borrow_mut() {
            Receipt::Worker(session) => session.finish(),
            Receipt::Here(hash, scratch) => {
                zeroize::Zeroize::zeroize(&mut **scratch);
                return Ok(hash.hex());
            }
        };
        JsFuture::from(finishing)
            .await?
            .as_string()
            .ok_or_else(|| JsValue::from_str("the hash worker gave no digest"))
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        if let Receipt::Worker(session) = self {
            session.cancel();
        }
    }
}
