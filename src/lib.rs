//! s3seal: seal a file before it leaves the user's machine, store it in S3.
//!
//! The crate does no I/O and builds for `wasm32-unknown-unknown`. The names
//! most callers need are at the root: [`Sealer`] and [`Opener`] (streams of
//! any size), [`RangeOpener`] (random access), [`seal`] / [`open`] /
//! [`open_named`] (whole objects in memory), the keys ([`Secret`],
//! [`RootKey`], [`FileKey`], [`Identity`], [`Recipient`]) and the object's
//! [`ObjectName`] and [`Metadata`]. Modules for the layers underneath:
//!
//! - [`format`](mod@format): the preamble (magic, version, object id, key commitment,
//!   key source, verifying key, sealed metadata);
//! - [`stream`]: the payload, byte-compatible with Google Tink's
//!   AES-GCM-HKDF streaming format (256 KiB segments);
//! - [`signature`]: per-object Ed25519 signatures, so a share link reads
//!   and never writes;
//! - [`sse`]: S3 server-side-encryption header sets (SSE-C, SSE-S3, SSE-KMS);
//! - [`transfer`]: transfers through presigned URLs, sans I/O (part plan,
//!   presign contract and policy, retries, resume, S3 XML);
//! - [`passphrase`]: strength estimates and generated passphrases;
//! - [`hazmat`]: building blocks for other readers and for test vectors,
//!   among them the seal and open state machines every host runs;
//! - `wasm` (wasm32 only): the JavaScript boundary, which only translates.
//!
//! The byte format is specified in `docs/FORMAT.md`.
//!
//! ```
//! use s3seal::{Metadata, RootKey, Secret};
//! let secret = Secret::Root(RootKey::generate()?);
//! let meta = Metadata { name: "hello.txt".into(), media_type: "text/plain".into(), size: Some(5) };
//! let (id, sealed) = s3seal::seal(&secret, &meta, b"hello")?;
//! let (meta2, plain) = s3seal::open(&secret, &sealed)?;
//! assert_eq!((meta2.name.as_str(), plain.as_slice()), ("hello.txt", &b"hello"[..]));
//! # let _ = id;
//! # Ok::<(), s3seal::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The modules form a DAG, leaves first: error <- key <- {signature,
// recipient, sse, passphrase} <- {name, stream} <- {secret, format,
// manifest} <- object <- transfer <- wasm.
mod error;
mod filename;
mod key;
mod machine;
mod name;
mod object;
mod recipient;
mod secret;

pub mod format;
pub mod manifest;
pub mod passphrase;
pub mod signature;
pub mod sse;
pub mod stream;
pub mod transfer;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod wasm;

pub use error::{CODES, Error, Result};
pub use filename::safe_file_name;
pub use format::Metadata;
pub use key::{DeleteToken, FileKey, ObjectId, RootKey, SseCKey};
pub use name::ObjectName;
pub use object::{
    ObjectSealer, Opener, Randomness, RangeOpener, Sealer, SegmentLedger, open, open_named, seal,
};
pub use recipient::{EncapsulatedKey, Identity, Recipient};
pub use secret::Secret;

/// Building blocks below the sealer and opener: for readers that drive the
/// format themselves and for writing test vectors. Using them wrongly can
/// break the format's guarantees.
pub mod hazmat {
    pub use crate::key::{
        FILE_KEY_PREFIX, KEY_SIZE, OBJECT_ID_SIZE, OBJECT_NAME_SUFFIX, PASSPHRASE_ITERATIONS,
        PASSPHRASE_LANES, PASSPHRASE_MEMORY_KIB, ROOT_KEY_PREFIX,
    };
    pub use crate::machine::{
        EndReading, OpenMachine, OpenPush, Piece, SealMachine, SealPush, Step, run_steps,
    };
    pub use crate::object::{Opened, Trailer, open_preamble, require_name, sealing_source};
    pub use crate::recipient::{IDENTITY_PREFIX, RECIPIENT_PREFIX, X25519_KEY_SIZE};
}
