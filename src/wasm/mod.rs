//! The JavaScript boundary: the only `#[wasm_bindgen]` code. It translates
//! arguments and errors; the core decides everything.
//!
//! Errors reach JS as real `Error` objects with `name = "S3sealError"` and a
//! stable `code` (the core's [`crate::Error::code`]); the package's `.d.ts`
//! lists the codes as a union.
//!
//! - [`key`], [`sse`]: keys, SSE header sets;
//! - [`machine`]: the core's seal and open state machines, whose steps the
//!   package's engine.ts runs on WebCrypto (or on the wasm `aes-gcm`);
//!   [`range`]: random access to a stored object;
//! - [`upload`]: one upload through presigned URLs, for the package's
//!   upload.ts, which does its I/O (the package reads stored objects
//!   itself too, with [`RangeReader`] and [`OpenMachine`] deciding);
//!   [`receipt`]: a form-mode upload's SHA-256;
//! - [`checks`]: the inert type and safe name of opened bytes, passphrase
//!   strength; [`manifest`]: several files behind one link.

mod checks;
mod error;
mod field;
mod key;
mod machine;
mod manifest;
mod range;
mod receipt;
mod sse;
mod upload;

pub use checks::{inert_media_type, passphrase_strength, read_refusal, sandboxed_media_type};
pub use key::{Key, Recipient};
pub use machine::{
    OpenMachine, SealMachine, WasmCipher, cipher_failure, segment_digest, segment_offset,
};
pub use manifest::{manifest_text, parse_manifest};
pub use range::RangeReader;
pub use receipt::ReceiptHash;
pub use sse::{check_sse_c_endpoint, sse_c_headers, sse_kms_headers, sse_s3_headers};
pub use upload::{Attempts, UploadSealer, check_presigned, keeps_upload};
