//! The preamble: what precedes the payload in every object. Parse and write,
//! nothing else; the cryptography that fills it lives in [`crate::Sealer`] and [`crate::Opener`].
//!
//! ```text
//! offset  size  field
//!      0     6  magic "S3SEAL"
//!      6     1  version (2)
//!      7     1  flags (0; reserved)
//!      8    16  object id (derived from the verifying key)
//!     24    32  verifying key (Ed25519)
//!     56    32  key commitment
//!     88     2  key source length n (u16 BE)
//!     90     n  key source: kind (1 byte) ‖ kind-specific parameters
//!   90+n     2  metadata box length m (u16 BE)
//!   92+n     m  metadata box: nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//! ```
//! All integers are big-endian.

use crate::error::{Error, Result};
use crate::key::{KEY_SIZE, OBJECT_ID_SIZE, ObjectId};
use crate::name::ObjectName;
use crate::recipient::{EncapsulatedKey, X25519_KEY_SIZE};
use crate::signature::{VERIFYING_KEY_SIZE, VerifyingKey};

/// The first six bytes of every object.
pub const MAGIC: &[u8; 6] = b"S3SEAL";
/// The format version this crate writes and reads. Version 1 (unsigned)
/// is refused: reading it would let a forger downgrade.
pub const VERSION: u8 = 2;
/// Bytes before the key source: magic, version, flags, object id,
/// verifying key, commitment, length.
pub const FIXED_SIZE: usize = 6 + 1 + 1 + OBJECT_ID_SIZE + VERIFYING_KEY_SIZE + KEY_SIZE + 2;
/// Nonce length of the metadata box, in bytes.
pub const METADATA_NONCE_SIZE: usize = 12;
/// Longest original filename kept in the metadata, in bytes of UTF-8.
pub const MAX_NAME_SIZE: usize = 1024;
/// Longest media type kept in the metadata, in bytes.
pub const MAX_MEDIA_TYPE_SIZE: usize = 255;
/// Largest preamble a reader ever needs to fetch, in bytes: fetch this much
/// first and the whole preamble is in it.
pub const MAX_PREAMBLE_SIZE: usize = 4096;

const SOURCE_ROOT: u8 = 0x01;
const SOURCE_PASSPHRASE: u8 = 0x02;
const SOURCE_RECIPIENT: u8 = 0x03;

/// How the file key of an object was derived: recorded so an object found
/// years later says what it needs. Anything a reader needs *before* the first
/// request (passphrase salt and cost) is also fixed by the version and the
/// object id, never only here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// From a 32-byte root key.
    Root,
    /// From a passphrase with Argon2id (salt = object id).
    Passphrase {
        /// Memory cost in KiB.
        memory_kib: u32,
        /// Number of passes.
        iterations: u32,
        /// Degree of parallelism.
        lanes: u32,
    },
    /// Sealed to a recipient's public key with HPKE; the encapsulated key
    /// is also in the object's name.
    Recipient {
        /// HPKE's `enc`.
        encapsulated: EncapsulatedKey,
    },
}

impl KeySource {
    /// The passphrase source with the format's constant cost.
    pub const PASSPHRASE_V1: KeySource = KeySource::Passphrase {
        memory_kib: crate::key::PASSPHRASE_MEMORY_KIB,
        iterations: crate::key::PASSPHRASE_ITERATIONS,
        lanes: crate::key::PASSPHRASE_LANES,
    };

    /// HPKE's encapsulated key, for an object sealed to a recipient.
    pub fn encapsulated(&self) -> Option<EncapsulatedKey> {
        match self {
            KeySource::Recipient { encapsulated } => Some(*encapsulated),
            _ => None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            KeySource::Root => {
                out.extend_from_slice(&1u16.to_be_bytes());
                out.push(SOURCE_ROOT);
            }
            KeySource::Passphrase {
                memory_kib,
                iterations,
                lanes,
            } => {
                out.extend_from_slice(&13u16.to_be_bytes());
                out.push(SOURCE_PASSPHRASE);
                out.extend_from_slice(&memory_kib.to_be_bytes());
                out.extend_from_slice(&iterations.to_be_bytes());
                out.extend_from_slice(&lanes.to_be_bytes());
            }
            KeySource::Recipient { encapsulated } => {
                out.extend_from_slice(&(1 + X25519_KEY_SIZE as u16).to_be_bytes());
                out.push(SOURCE_RECIPIENT);
                out.extend_from_slice(&encapsulated.0);
            }
        }
    }

    fn parse(bytes: &[u8]) -> Result<Self> {
        let u32_at = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        match bytes {
            [SOURCE_ROOT] => Ok(KeySource::Root),
            [SOURCE_PASSPHRASE, rest @ ..] if rest.len() == 12 => Ok(KeySource::Passphrase {
                memory_kib: u32_at(1),
                iterations: u32_at(5),
                lanes: u32_at(9),
            }),
            [SOURCE_RECIPIENT, rest @ ..] if rest.len() == X25519_KEY_SIZE => {
                Ok(KeySource::Recipient {
                    encapsulated: EncapsulatedKey(rest.try_into().expect("32 bytes")),
                })
            }
            [SOURCE_ROOT | SOURCE_PASSPHRASE | SOURCE_RECIPIENT, ..] => {
                Err(Error::Malformed("key source has the wrong length"))
            }
            _ => Err(Error::Malformed("unknown key source")),
        }
    }
}

/// A parsed preamble.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preamble {
    /// The object's id (also in its name).
    pub object_id: ObjectId,
    /// The key the object is signed with; the id is derived from it.
    pub verifying_key: VerifyingKey,
    /// HKDF commitment to the file key; checked before any decryption.
    pub commitment: [u8; KEY_SIZE],
    /// How the file key was derived.
    pub source: KeySource,
    /// The sealed metadata: nonce ‖ ciphertext ‖ tag.
    pub metadata_box: Vec<u8>,
}

impl Preamble {
    /// The name this object must have: its id and, for a recipient-mode
    /// object, its encapsulated key.
    pub fn object_name(&self) -> ObjectName {
        ObjectName {
            id: self.object_id,
            encapsulated: self.source.encapsulated(),
        }
    }

    /// `NameMismatch` unless this is the object `name` names (same id and,
    /// in recipient mode, same encapsulated key): catches an object renamed
    /// or copied under another's name.
    pub fn check_name(&self, name: &ObjectName) -> Result<()> {
        if self.object_name() == *name {
            Ok(())
        } else {
            Err(Error::NameMismatch)
        }
    }

    /// Everything up to and including the metadata box length: the associated
    /// data of the metadata box.
    pub fn head_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_SIZE + 16);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(0);
        out.extend_from_slice(&self.object_id.0);
        out.extend_from_slice(&self.verifying_key.0);
        out.extend_from_slice(&self.commitment);
        self.source.write(&mut out);
        let len = u16::try_from(self.metadata_box.len())
            .expect("metadata box fits u16 (checked on build)");
        out.extend_from_slice(&len.to_be_bytes());
        out
    }

    /// The serialised preamble (also the payload's associated data).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head_bytes();
        out.extend_from_slice(&self.metadata_box);
        out
    }

    /// Parses a preamble from the start of `bytes`. `Ok(None)` means more bytes
    /// are needed; on success returns the preamble and its length.
    pub fn parse(bytes: &[u8]) -> Result<Option<(Preamble, usize)>> {
        let have = bytes.len().min(MAGIC.len());
        if bytes[..have] != MAGIC[..have] {
            return Err(Error::NotSealed);
        }
        if bytes.len() > 6 && bytes[6] != VERSION {
            return Err(Error::UnsupportedVersion(bytes[6]));
        }
        if bytes.len() > 7 && bytes[7] != 0 {
            return Err(Error::Malformed("reserved flags are set"));
        }
        if bytes.len() < FIXED_SIZE {
            return Ok(None);
        }
        let field = |at: usize, len: usize| &bytes[at..at + len];
        let object_id = ObjectId(field(8, OBJECT_ID_SIZE).try_into().expect("sized"));
        let verifying_key = VerifyingKey(field(24, VERIFYING_KEY_SIZE).try_into().expect("sized"));
        let commitment = field(56, KEY_SIZE).try_into().expect("sized");
        let source_len = usize::from(u16::from_be_bytes([bytes[88], bytes[89]]));
        let box_len_at = FIXED_SIZE + source_len;
        if box_len_at + 2 > MAX_PREAMBLE_SIZE {
            return Err(Error::Malformed("key source has an impossible length"));
        }
        if bytes.len() < box_len_at + 2 {
            return Ok(None);
        }
        let source = KeySource::parse(&bytes[FIXED_SIZE..box_len_at])?;
        let box_len = usize::from(u16::from_be_bytes([
            bytes[box_len_at],
            bytes[box_len_at + 1],
        ]));
        let end = box_len_at + 2 + box_len;
        if box_len < METADATA_NONCE_SIZE + crate::stream::TAG_SIZE || end > MAX_PREAMBLE_SIZE {
            return Err(Error::Malformed("metadata box has an impossible length"));
        }
        if bytes.len() < end {
            return Ok(None);
        }
        let preamble = Preamble {
            object_id,
            verifying_key,
            commitment,
            source,
            metadata_box: bytes[box_len_at + 2..end].to_vec(),
        };
        Ok(Some((preamble, end)))
    }
}

/// Facts about the file that S3 would otherwise store in clear metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Original filename (no directories).
    pub name: String,
    /// Media type, e.g. `application/pdf`.
    pub media_type: String,
    /// Plaintext size in bytes, when known before sealing (checked on open).
    pub size: Option<u64>,
}

impl Metadata {
    /// Checks the limits of the encoding.
    pub fn validate(&self) -> Result<()> {
        if self.name.len() > MAX_NAME_SIZE {
            return Err(Error::InvalidInput(
                "the filename is longer than 1024 bytes",
            ));
        }
        if self.media_type.len() > MAX_MEDIA_TYPE_SIZE {
            return Err(Error::InvalidInput(
                "the media type is longer than 255 bytes",
            ));
        }
        Ok(())
    }

    /// `u16 name length ‖ name ‖ u16 type length ‖ type ‖ u8 size known ‖ u64 size`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut out = Vec::with_capacity(13 + self.name.len() + self.media_type.len());
        for field in [&self.name, &self.media_type] {
            out.extend_from_slice(&(field.len() as u16).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out.push(u8::from(self.size.is_some()));
        out.extend_from_slice(&self.size.unwrap_or(0).to_be_bytes());
        Ok(out)
    }

    /// Inverse of [`Metadata::to_bytes`]. The bytes were authenticated, so a
    /// malformed encoding is a writer bug, reported as `Malformed`: a length
    /// past the end, bytes left over, a name or type that is not UTF-8 or is
    /// over its limit, a size flag other than 0 or 1, or an unknown size
    /// other than 0.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = Error::Malformed("sealed metadata");
        let mut rest = bytes;
        let field = |rest: &mut &[u8]| -> Result<String> {
            let (len, tail) = rest.split_first_chunk::<2>().ok_or(bad.clone())?;
            let (value, tail) = tail
                .split_at_checked(usize::from(u16::from_be_bytes(*len)))
                .ok_or(bad.clone())?;
            let value = core::str::from_utf8(value)
                .map_err(|_| bad.clone())?
                .to_owned();
            *rest = tail;
            Ok(value)
        };
        let name = field(&mut rest)?;
        let media_type = field(&mut rest)?;
        let [known, size @ ..] = rest else {
            return Err(Error::Malformed("sealed metadata"));
        };
        let size: [u8; 8] = size
            .try_into()
            .map_err(|_| Error::Malformed("sealed metadata"))?;
        let size = match (known, u64::from_be_bytes(size)) {
            (0, 0) => None,
            (1, size) => Some(size),
            _ => return Err(Error::Malformed("sealed metadata")),
        };
        let metadata = Metadata {
            name,
            media_type,
            size,
        };
        metadata
            .validate()
            .map_err(|_| Error::Malformed("sealed metadata"))?;
        Ok(metadata)
    }
}

/// The media type given to opened bytes that are not on the allow-list of
/// [`inert_media_type`]: browsers download it, never render or run it.
pub const OPAQUE_MEDIA_TYPE: &str = "application/octet-stream";

/// Media types a browser only displays or plays, never runs: no HTML, SVG,
/// XML, PDF, `text/*` or script, all of which can execute in the page's
/// origin when a `blob:` URL of them is opened.
const INERT_MEDIA_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
    "audio/webm",
    "video/mp4",
    "video/webm",
];

/// The type to give bytes opened from an object whose sealed metadata says
/// `media_type`. The sealed type is whatever the sealer wrote, so it is
/// never trusted to label bytes the browser may render in the page's
/// origin: an allow-listed inert type (parameters dropped, case folded) is
/// kept, anything else becomes [`OPAQUE_MEDIA_TYPE`].
pub fn inert_media_type(media_type: &str) -> &'static str {
    let essence = essence(media_type);
    // black_box: unrolled over the constant table, the comparisons cost the
    // wasm module several KiB (bench/results.md, design measurements).
    core::hint::black_box(INERT_MEDIA_TYPES)
        .iter()
        .find(|t| t.as_bytes().eq_ignore_ascii_case(essence))
        .copied()
        .unwrap_or(OPAQUE_MEDIA_TYPE)
}

/// PDF, which a browser shows in its own viewer.
pub const PDF_MEDIA_TYPE: &str = "application/pdf";

/// As [`inert_media_type`], for the package's Service Worker's answers,
/// which carry `nosniff` and a `Content-Security-Policy` sandbox: there PDF
/// keeps its type, for the browser's viewer. Whether a viewer is isolated
/// enough to frame in a page is the host's call: the sandbox does not reach
/// Chromium's, whose PDF scripting acts with the page's origin. Not for
/// `blob:` URLs, which carry neither header.
pub fn sandboxed_media_type(media_type: &str) -> &'static str {
    if essence(media_type).eq_ignore_ascii_case(PDF_MEDIA_TYPE.as_bytes()) {
        return PDF_MEDIA_TYPE;
    }
    inert_media_type(media_type)
}

/// A media type without its parameters and surrounding blanks.
fn essence(media_type: &str) -> &[u8] {
    let bytes = media_type.as_bytes();
    let end = bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len());
    let mut essence = &bytes[..end];
    while let [b' ' | b'\t', rest @ ..] = essence {
        essence = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = essence {
        essence = rest;
    }
    essence
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Preamble {
        Preamble {
            object_id: ObjectId([9; 16]),
            verifying_key: VerifyingKey([6; 32]),
            commitment: [8; 32],
            source: KeySource::PASSPHRASE_V1,
            metadata_box: vec![7; 40],
        }
    }

    #[test]
    fn preamble_round_trips_and_asks_for_more() {
        let bytes = sample().to_bytes();
        assert_eq!(
            Preamble::parse(&bytes).unwrap(),
            Some((sample(), bytes.len()))
        );
        for cut in 0..bytes.len() {
            assert_eq!(
                Preamble::parse(&bytes[..cut]).unwrap(),
                None,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn preamble_rejects_bad_magic_version_and_flags() {
        let bytes = sample().to_bytes();
        let mut b = bytes.clone();
        b[0] = b'X';
        assert_eq!(Preamble::parse(&b), Err(Error::NotSealed));
        let mut b = bytes.clone();
        b[6] = 1;
        assert_eq!(Preamble::parse(&b), Err(Error::UnsupportedVersion(1)));
        b[6] = 3;
        assert_eq!(Preamble::parse(&b), Err(Error::UnsupportedVersion(3)));
        let mut b = bytes.clone();
        b[7] = 1;
        assert!(matches!(Preamble::parse(&b), Err(Error::Malformed(_))));
        let mut b = bytes;
        b[FIXED_SIZE] = 0x7f;
        assert!(matches!(Preamble::parse(&b), Err(Error::Malformed(_))));
    }

    /// The preamble with its key source length field set to `n`, cut
    /// right after the fixed part.
    fn with_source_len(n: u16) -> Vec<u8> {
        let mut b = sample().to_bytes()[..FIXED_SIZE].to_vec();
        b[FIXED_SIZE - 2..].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn a_key_source_too_long_for_any_preamble_is_refused_at_once() {
        // FIXED_SIZE + n + 2 may be 4096 (more bytes needed), not 4097.
        let most = (MAX_PREAMBLE_SIZE - FIXED_SIZE - 2) as u16;
        assert_eq!(Preamble::parse(&with_source_len(most)), Ok(None));
        for n in [most + 1, u16::MAX] {
            assert_eq!(
                Preamble::parse(&with_source_len(n)),
                Err(Error::Malformed("key source has an impossible length")),
                "n = {n}"
            );
        }
    }

    #[test]
    fn key_sources_of_a_known_kind_and_the_wrong_length_are_refused() {
        let wrong = Err(Error::Malformed("key source has the wrong length"));
        assert_eq!(KeySource::parse(&[SOURCE_ROOT, 0]), wrong);
        assert_eq!(KeySource::parse(&[SOURCE_PASSPHRASE; 5]), wrong);
        assert_eq!(KeySource::parse(&[SOURCE_PASSPHRASE; 14]), wrong);
        assert_eq!(KeySource::parse(&[SOURCE_RECIPIENT; 10]), wrong);
        assert_eq!(KeySource::parse(&[SOURCE_RECIPIENT; 34]), wrong);
        assert_eq!(
            KeySource::parse(&[0x09]),
            Err(Error::Malformed("unknown key source"))
        );
        assert_eq!(
            KeySource::parse(&[]),
            Err(Error::Malformed("unknown key source"))
        );
        assert_eq!(KeySource::parse(&[SOURCE_ROOT]), Ok(KeySource::Root));
        // Judged as soon as its bytes and the box length are present, even
        // if the object ends there (FORMAT.md §6: fields in byte order).
        let mut b = sample().to_bytes();
        b[FIXED_SIZE] = 0x09;
        let n = usize::from(u16::from_be_bytes([b[FIXED_SIZE - 2], b[FIXED_SIZE - 1]]));
        assert_eq!(
            Preamble::parse(&b[..FIXED_SIZE + n + 2]),
            Err(Error::Malformed("unknown key source"))
        );
        assert_eq!(Preamble::parse(&b[..FIXED_SIZE + n + 1]), Ok(None));
    }

    #[test]
    fn the_metadata_box_length_has_bounds() {
        let bytes = sample().to_bytes(); // passphrase source: n = 13
        let at = FIXED_SIZE + 13;
        let with_box = |m: u16| {
            let mut b = bytes.clone();
            b[at..at + 2].copy_from_slice(&m.to_be_bytes());
            b.truncate(at + 2);
            b.resize(at + 2 + usize::from(m).min(40), 7);
            b
        };
        let impossible = Err(Error::Malformed("metadata box has an impossible length"));
        assert_eq!(
            Preamble::parse(&with_box(27)),
            impossible,
            "shorter than nonce and tag"
        );
        assert!(matches!(Preamble::parse(&with_box(28)), Ok(Some((_, len))) if len == at + 30));
        let most = (MAX_PREAMBLE_SIZE - at - 2) as u16;
        assert_eq!(
            Preamble::parse(&with_box(most)),
            Ok(None),
            "ends at 4096: more bytes"
        );
        assert_eq!(Preamble::parse(&with_box(most + 1)), impossible);
    }

    #[test]
    fn metadata_limits_are_inclusive_and_short_fields_are_malformed() {
        let at_limit = Metadata {
            name: "n".repeat(MAX_NAME_SIZE),
            media_type: "t".repeat(MAX_MEDIA_TYPE_SIZE),
            size: None,
        };
        assert_eq!(
            Metadata::parse(&at_limit.to_bytes().unwrap()).unwrap(),
            at_limit
        );
        for over in [
            Metadata {
                name: "n".repeat(MAX_NAME_SIZE + 1),
                ..Metadata::default()
            },
            Metadata {
                media_type: "t".repeat(MAX_MEDIA_TYPE_SIZE + 1),
                ..Metadata::default()
            },
            Metadata {
                media_type: "t".repeat(MAX_MEDIA_TYPE_SIZE + 45),
                ..Metadata::default()
            },
        ] {
            assert!(matches!(over.to_bytes(), Err(Error::InvalidInput(_))));
        }
        let bad = Err(Error::Malformed("sealed metadata"));
        // A field with one byte left, no field at all, an unknown size
        // other than 0, a flag other than 0 or 1, a byte too many.
        assert_eq!(Metadata::parse(&[0, 0, 5]), bad);
        assert_eq!(Metadata::parse(&[]), bad);
        let mut unknown = Metadata::default().to_bytes().unwrap();
        *unknown.last_mut().unwrap() = 1;
        assert_eq!(Metadata::parse(&unknown), bad);
        let mut flag = Metadata::default().to_bytes().unwrap();
        flag[4] = 2;
        assert_eq!(Metadata::parse(&flag), bad);
        let mut long = Metadata::default().to_bytes().unwrap();
        long.push(0);
        assert_eq!(Metadata::parse(&long), bad);
    }

    #[test]
    fn metadata_round_trips() {
        for m in [
            Metadata::default(),
            Metadata {
                name: "rapport é.pdf".into(),
                media_type: "application/pdf".into(),
                size: Some(1 << 40),
            },
        ] {
            assert_eq!(Metadata::parse(&m.to_bytes().unwrap()).unwrap(), m);
        }
        let long = Metadata {
            name: "x".repeat(1025),
            ..Default::default()
        };
        assert!(long.to_bytes().is_err());
    }

    #[test]
    fn only_inert_media_types_survive_opening() {
        for kept in [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "audio/ogg",
            "image/avif",
        ] {
            assert_eq!(inert_media_type(kept), kept);
        }
        assert_eq!(inert_media_type("IMAGE/PNG"), "image/png");
        assert_eq!(inert_media_type(" image/webp ; q=1"), "image/webp");
        for active in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/xml",
            "application/pdf",
            "text/plain",
            "text/javascript",
            "application/javascript",
            "application/json",
            "multipart/x-mixed-replace",
            "image/png, text/html",
            "image/png\0",
            "",
            "x/browser",
        ] {
            assert_eq!(inert_media_type(active), OPAQUE_MEDIA_TYPE, "{active:?}");
            // In a sandboxed document only PDF is added, and only exactly it.
            let sandboxed = sandboxed_media_type(active);
            let pdf = active == "application/pdf";
            assert_eq!(sandboxed == PDF_MEDIA_TYPE, pdf, "{active:?}");
            assert!(pdf || sandboxed == OPAQUE_MEDIA_TYPE, "{active:?}");
        }
    }

    #[test]
    fn a_sandboxed_document_keeps_pdf_and_the_inert_types_only() {
        for pdf in [
            "application/pdf",
            "APPLICATION/PDF",
            " application/pdf ; x=1",
        ] {
            assert_eq!(sandboxed_media_type(pdf), PDF_MEDIA_TYPE, "{pdf:?}");
        }
        assert_eq!(sandboxed_media_type("video/webm"), "video/webm");
        for other in [
            "application/pdf+xml",
            "application/pdfx",
            "application/x-pdf, text/html",
            "text/html; type=application/pdf",
            "application/pdf\0",
        ] {
            assert_eq!(sandboxed_media_type(other), OPAQUE_MEDIA_TYPE, "{other:?}");
        }
    }
}
