//! What the verbs and `serve` share: files and progress, key sources, the
//! in-transit rule, and the presign signer. Nothing here calls back into a
//! verb.

pub mod file;
pub mod presign;
pub mod secret;
pub mod transport;
