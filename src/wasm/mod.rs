//! The JavaScript boundary: the only `#[wasm_bindgen]` code. It translates
//! arguments and errors; the core decides everything.
//!
//! Errors reach JS as real `Error` objects with `name = "S3sealError"` and a
//! stable `code` (the core's [`crate::Error::code`]); the package's `.d.ts`
//! lists the codes as a union.
//!
//! - [`key`], [`sse`], [`stream`]: keys, SSE header sets, the synchronous
//!   push sealer/opener on the wasm `aes-gcm`;
//! - [`engine`], [`pipeline`]: the bulk cipher on WebCrypto (or wasm) and the
//!   promise-based `SealStream`/`OpenStream` over it;
//! - [`upload`], with [`job`], [`http`], [`resume`] and [`file`]: uploads
//!   through presigned URLs (the package reads stored objects itself, with
//!   [`RangeReader`] and [`OpenStream`] deciding);
//! - [`checks`]: the inert type and safe name of opened bytes, passphrase
//!   strength; [`manifest`]: several files behind one link.

mod checks;
pub mod engine;
mod error;
mod field;
mod file;
mod http;
mod job;
mod key;
mod manifest;
mod pipeline;
mod receipt;
mod resume;
mod sse;
mod stream;
mod upload;

pub use checks::{inert_media_type, passphrase_strength, read_refusal};
pub use key::{Key, Recipient};
pub use manifest::{manifest_text, parse_manifest};
pub use pipeline::{OpenStream, SealStream, segment_offset};
pub use sse::{check_sse_c_endpoint, sse_c_headers, sse_kms_headers, sse_s3_headers};
pub use stream::{Opener, RangeReader, Sealer};
pub use upload::{upload, upload_to_recipient};
