//! What the verbs and `serve` share: files and progress, key sources, the
//! in-transit rule, the presign signer, and the sharing state in the
//! bucket. Nothing here calls back into a verb.

pub mod file;
pub mod presign;
pub mod secret;
pub mod share;
pub mod transport;
