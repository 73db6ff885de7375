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
    /// The object was written in a format version this reader does not
    /// read: a newer one, or version 1, whose objects carry no signature.
    #[error("unsupported s3seal format version {0}{hint}", hint = version_hint(*.0))]
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
    /// The object's verifying key is not the one its id was derived from:
    /// written by someone who could not sign for that id (a holder of its
    /// file key forging content under its name), or damaged.
    #[error("the object is not signed by the key its id names (forged or damaged)")]
    SignerMismatch,
    /// The object's signature is missing or does not verify: rewritten by
    /// someone without its signing key (a share-link holder), or damaged.
    #[error("the object's signature is missing or invalid (forged or damaged)")]
    BadSignature,
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
            Error::SignerMismatch => "SignerMismatch",
            Error::BadSignature => "BadSignature",
            Error::Random => "Random",
        }
    }
}

/// Every stable code s3seal reports (`Error.code` in JavaScript, the CLI's
/// exit codes): the core's ([`Error::code`]), a transfer's
/// ([`crate::transfer::retry::Fault::code`]), and the browser boundary's
/// own: `Engine` (the AES-GCM engine failed, not the object), `Presign` (the
/// presign function refused, or answered with something that is not a
/// presigned request) and `WeakPassphrase` (the package's Worker, asked to,
/// refused a passphrase below [`crate::passphrase::MIN_PASSPHRASE_BITS`]), and
/// a share's end as a backend reports it ([`crate::transfer::share::Gone`]). The npm package's `S3sealErrorCode` is
/// generated from this list (tests/js_contract.rs).
pub const CODES: &[&str] = &[
    "WrongKey",
    "Corrupt",
    "Truncated",
    "NotSealed",
    "UnsupportedVersion",
    "Malformed",
    "InvalidKey",
    "InvalidBase64",
    "InvalidInput",
    "KeySource",
    "InsecureEndpoint",
    "NameMismatch",
    "SignerMismatch",
    "BadSignature",
    "Random",
    "Engine",
    "Http",
    "Network",
    "Presign",
    "Expired",
    "Aborted",
    "WeakPassphrase",
    "ShareExpired",
    "DownloadLimit",
    "ShareGone",
];

fn version_hint(version: u8) -> &'static str {
    match version {
        1 => " (format 1 is not signed, so a share link could forge it; it is no longer read)",
        _ => "",
    }
}

/// Result alias of the core.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::retry::Fault;

    #[test]
    fn every_code_is_listed_once() {
        let errors = [
            Error::WrongKey,
            Error::Corrupt,
            Error::Truncated,
            Error::NotSealed,
            Error::UnsupportedVersion(1),
            Error::Malformed(""),
            Error::InvalidKey(""),
            Error::InvalidBase64(""),
            Error::InvalidInput(""),
            Error::KeySource(""),
            Error::InsecureEndpoint,
            Error::NameMismatch,
            Error::SignerMismatch,
            Error::BadSignature,
            Error::Random,
        ];
        for e in &errors {
            // Exhaustive: a new variant does not compile until it is above.
            match e {
                Error::WrongKey
                | Error::Corrupt
                | Error::Truncated
                | Error::NotSealed
                | Error::UnsupportedVersion(_)
                | Error::Malformed(_)
                | Error::InvalidKey(_)
                | Error::InvalidBase64(_)
                | Error::InvalidInput(_)
                | Error::KeySource(_)
                | Error::InsecureEndpoint
                | Error::NameMismatch
                | Error::SignerMismatch
                | Error::BadSignature
                | Error::Random => {}
            }
            assert!(CODES.contains(&e.code()), "{}", e.code());
        }
        let faults = [
            Fault::Expired { status: 403 },
            Fault::WrongKey { status: 400 },
            Fault::NotFound,
            Fault::Http { status: 500 },
            Fault::Network,
            Fault::Aborted,
        ];
        for f in &faults {
            assert!(CODES.contains(&f.code()), "{}", f.code());
        }
        let mut sorted = CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), CODES.len(), "listed once");
    }
}
