//! Transfers through presigned URLs, sans I/O: every decision a host (the
//! browser, `push`, `pull`, `serve`) needs, as pure functions and plain
//! state, tested natively. A host makes the requests and moves the bytes.
//!
//! - [`plan`]: one PUT or multipart, the parts, and each part's segments;
//! - [`presign`]: the presign request and response every host speaks;
//! - [`policy`]: what a presign backend may sign;
//! - [`retry`]: what an answer means, and whether to try again;
//! - [`resume`]: a multipart upload's saved state and the verdict on it;
//! - [`upload`]: one object's upload, from the resume verdict to the
//!   completion;
//! - [`share`]: expiry, download limits and owner-only delete, as a
//!   backend keeps them in the bucket;
//! - [`xml`]: the S3 XML a transfer reads and writes.

pub mod plan;
pub mod policy;
pub mod presign;
pub mod resume;
pub mod retry;
pub mod share;
pub mod upload;
pub mod xml;
