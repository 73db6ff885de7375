//! s3seal: seal a file before it leaves the user's machine, store it in S3.
//!
//! The core of the crate does no I/O and builds for `wasm32-unknown-unknown`:
//!
//! - [`key`]: the key hierarchy (root key -> file key -> subkeys, SSE-C key);
//! - [`format`]: the preamble (magic, version, object id, key commitment, key
//!   source, sealed metadata);
//! - [`stream`]: the payload, byte-compatible with Google Tink's
//!   AES-GCM-HKDF streaming format (256 KiB segments);
//! - [`object`]: whole objects — push sealer/opener, one-shot helpers,
//!   random access, independent segment runs for multipart uploads;
//! - [`recipient`]: sealing to a public key (HPKE), identities;
//! - [`signature`]: per-object Ed25519 signatures, so a share link reads
//!   and never writes;
//! - [`sse`]: S3 server-side-encryption header sets (SSE-C, SSE-S3, SSE-KMS);
//! - [`transfer`]: transfers through presigned URLs, sans I/O (part plan,
//!   presign contract and policy, retries, resume, S3 XML);
//! - `wasm` (wasm32 only): the JavaScript boundary, which only translates.
//!
//! The byte format is specified in `docs/FORMAT.md`.
//!
//! ```
//! use s3seal::{key::{RootKey, Secret}, format::Metadata, object};
//! let secret = Secret::Root(RootKey::generate()?);
//! let meta = Metadata { name: "hello.txt".into(), media_type: "text/plain".into(), size: Some(5) };
//! let (id, sealed) = object::seal(&secret, &meta, b"hello")?;
//! let (meta2, plain) = object::open(&secret, &sealed)?;
//! assert_eq!((meta2.name.as_str(), plain.as_slice()), ("hello.txt", &b"hello"[..]));
//! # let _ = id;
//! # Ok::<(), s3seal::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod error;
pub mod filename;
pub mod format;
pub mod key;
pub mod object;
pub mod passphrase;
pub mod recipient;
pub mod signature;
pub mod sse;
pub mod stream;
pub mod transfer;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod wasm;

pub use error::{Error, Result};
