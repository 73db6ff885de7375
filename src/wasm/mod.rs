//! The JavaScript boundary: the only `#[wasm_bindgen]` code. It translates
//! arguments and errors; the core decides everything.
//!
//! Errors reach JS as real `Error` objects with `name = "S3sealError"` and a
//! stable `code` (the core's [`crate::Error::code`]); the package's `.d.ts`
//! lists the codes as a union.

mod error;
mod http;
mod key;
mod sse;
mod stream;
mod transfer;

pub use key::Key;
pub use sse::{check_sse_c_endpoint, sse_c_headers, sse_kms_headers, sse_s3_headers};
pub use stream::{Opener, Sealer};
pub use transfer::{download, upload};
