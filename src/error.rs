//! Errors of the core.
//!
//! Decryption failures are deliberately coarse: every authentication failure of
//! a segment or of the metadata box is the one opaque [`Error::Corrupt`], so an
//! attacker who tampers with an object learns nothing about *where* it failed.
//! Two failures are distinguished because they carry no such information and
//! help the user: [`Error::WrongKey`] (the key commitment does not match, checked
//! before any decryption) and [`Error::Truncated`] (every segment received was
//! authentic, but the final one never arrived).

/// Everything that can go wrong in the core. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key does not belong to this object (key commitment mismatch).
    #[error("wrong key: this object was sealed with a different key")]
    WrongKey,
    /// The object failed authentication: it was modified, reordered, extended or
    /// is not what its preamble says.
    #[error("the object is corrupt or was tampered with")]
    Corrupt,
    /// The object ends early: every segment read was authentic, but the final
    /// segment is missing.
    #[error("the object is truncated: it ends before its final segment")]
    Truncated,
    /// The bytes do not start with the s3seal magic.
    #[error("not an s3seal object (bad magic)")]
    NotSealed,
    /// The object was written by a newer format version.
    #[error("unsupported s3seal format version {0}")]
    UnsupportedVersion(u8),
    /// The preamble is malformed (lengths, reserved bits, unknown key source).
    #[error("malformed preamble: {0}")]
    Malformed(&'static str),
    /// A key could not be parsed or has the wrong length.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// Text that should be base64 is not.
    #[error("malformed base64 in {0}")]
    InvalidBase64(&'static str),
    /// Input the caller supplied is out of range (sizes, names, indices).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The key source cannot open this object (e.g. a passphrase for a
    /// root-key object), or the object uses KDF parameters this version refuses.
    #[error("key mismatch: {0}")]
    KeySource(&'static str),
    /// SSE-C key material would travel over plain HTTP to a host that is not
    /// loopback (AWS refuses SSE-C without TLS; s3seal refuses to send it).
    #[error(
        "insecure endpoint: SSE-C sends key material, so the URL must use https (plain http only to a loopback host)"
    )]
    InsecureEndpoint,
    /// The object is not the one its name in the bucket says: its preamble
    /// carries another object id or encapsulated key (renamed or moved).
    #[error("the object's name does not match its contents (renamed or moved?)")]
    NameMismatch,
    /// The operating system's random source failed.
    #[error("no randomness available from the operating system")]
    Random,
}

impl Error {
    /// A stable, machine-readable code for this error (used by the CLI's exit
    /// codes and the JavaScript `Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::WrongKey => "WrongKey",
            Error::Corrupt => "Corrupt",
            Error::Truncated => "Truncated",
            Error::NotSealed => "NotSealed",
            Error::UnsupportedVersion(_) => "UnsupportedVersion",
            Error::Malformed(_) => "Malformed",
            Error::InvalidKey(_) => "InvalidKey",
            Error::InvalidBase64(_) => "InvalidBase64",
            Error::InvalidInput(_) => "InvalidInput",
            Error::KeySource(_) => "KeySource",
            Error::InsecureEndpoint => "InsecureEndpoint",
            Error::NameMismatch => "NameMismatch",
            Error::Random => "Random",
        }
    }
}

/// Result alias of the core.
pub type Result<T> = core::result::Result<T, Error>;
