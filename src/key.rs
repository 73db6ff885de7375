//! The key hierarchy: root key -> per-object file key -> subkeys.
//!
//! ```text
//! root key (32 random bytes, or Argon2id(passphrase, salt = object id))
//!   ├─ signing key = Ed25519 seed HKDF(ikm = root, salt = signing salt, info = "s3seal/v2 signing key")
//!   │                (a passphrase: ikm = Argon2id(passphrase, salt = signing salt));
//!   │                object id = SHA-256("s3seal/v2 object id" ‖ verifying key)[..16]
//!   └─ file key   = HKDF-SHA256(ikm = root, salt = object id, info = "s3seal/v1 file")
//!        ├─ commitment  = HKDF(ikm = file key, info = "s3seal/v1 commitment" ‖ object id)
//!        ├─ payload key = HKDF(ikm = file key, info = "s3seal/v1 payload")   (Tink KeyValue)
//!        ├─ metadata key= HKDF(ikm = file key, info = "s3seal/v1 metadata")
//!        └─ SSE-C key   = HKDF(ikm = file key, info = "s3seal/v1 sse-c")
//!   delete token = HKDF(ikm = root, salt = object id, info = "s3seal/v2 delete")
//! ```
//! Every step is one-way, so a share link (file key) reveals nothing about the
//! root or other objects, and the presign backend (SSE-C key) learns nothing
//! that opens the content. Everything needed to reach the SSE-C key comes from
//! the key and the object id (which sits in the object's name), never from
//! inside the object: S3 refuses even a HEAD of an SSE-C object without it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// Length of every symmetric key in the hierarchy, in bytes.
pub const KEY_SIZE: usize = 32;
/// Length of an object id, in bytes.
pub const OBJECT_ID_SIZE: usize = 16;
/// Argon2id memory cost for passphrases, in KiB (64 MiB). A constant of format
/// v1: a reader must know it before the first request.
pub const PASSPHRASE_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes for passphrases (format v1 constant).
pub const PASSPHRASE_ITERATIONS: u32 = 3;
/// Argon2id lanes for passphrases (format v1 constant; 1 because browsers run it
/// on one thread).
pub const PASSPHRASE_LANES: u32 = 1;

const LABEL_FILE: &[u8] = b"s3seal/v1 file";
const LABEL_COMMITMENT: &[u8] = b"s3seal/v1 commitment";
const LABEL_PAYLOAD: &[u8] = b"s3seal/v1 payload";
const LABEL_METADATA: &[u8] = b"s3seal/v1 metadata";
const LABEL_SSE_C: &[u8] = b"s3seal/v1 sse-c";
const LABEL_DELETE: &[u8] = b"s3seal/v2 delete";
const LABEL_DELETE_HASH: &[u8] = b"s3seal/v2 delete hash";

/// Text prefix of an exported root key.
pub const ROOT_KEY_PREFIX: &str = "s3seal-root-";
/// Text prefix of a delete token.
pub const DELETE_TOKEN_PREFIX: &str = "s3seal-delete-";
/// Text prefix of an exported file key (what a share link carries).
pub const FILE_KEY_PREFIX: &str = "s3seal-file-";
/// Suffix of an object's name in the bucket.
pub const OBJECT_NAME_SUFFIX: &str = ".s3seal";

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}

fn hkdf(salt: Option<&[u8]>, ikm: &[u8], info: &[&[u8]]) -> [u8; KEY_SIZE] {
    let mut okm = [0u8; KEY_SIZE];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand_multi_info(info, &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

fn decode_key_text(text: &str, prefix: &'static str, what: &'static str) -> Result<[u8; KEY_SIZE]> {
    let body = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(Error::InvalidKey(what))?;
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| Error::InvalidBase64("key"))?,
    );
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::InvalidKey("a key must be 32 bytes"))
}

/// The random 128-bit identifier of one object. Not secret: it appears in the
/// object's name and preamble, and salts the file key derivation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ObjectId(pub [u8; OBJECT_ID_SIZE]);

impl ObjectId {
    /// A fresh random object id.
    pub fn generate() -> Result<Self> {
        Ok(Self(random_bytes()?))
    }

    /// The id as 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Parses 32 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self> {
        from_hex(text, "an object id is 32 lowercase hex digits").map(Self)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return Err(Error::InvalidInput(what));
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks(2).enumerate() {
        // Lower case only: a name has exactly one spelling.
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out[i] = h * 16 + l,
            _ => return Err(Error::InvalidInput(what)),
        }
    }
    Ok(out)
}

/// Argon2id with format v1's constant cost: 32 bytes from a passphrase.
pub(crate) fn argon2id(passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; KEY_SIZE]>> {
    if passphrase.is_empty() {
        return Err(Error::InvalidKey("the passphrase is empty"));
    }
    let params = argon2::Params::new(
        PASSPHRASE_MEMORY_KIB,
        PASSPHRASE_ITERATIONS,
        PASSPHRASE_LANES,
        Some(KEY_SIZE),
    )
    .expect("format v1 Argon2id parameters are valid");
    let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_SIZE]);
    kdf.hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|_| Error::InvalidKey("the passphrase is too long"))?;
    Ok(out)
}

/// A root key: never leaves the user's side; one per user or per collection.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct RootKey([u8; KEY_SIZE]);

impl RootKey {
    /// A fresh random root key.
    pub fn generate() -> Result<Self> {
        Ok(Self(random_bytes()?))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_SIZE] {
        &self.0
    }

    /// Derives the root key of one object from a passphrase (Argon2id with the
    /// format's constant cost, salted with the object id). Deliberately slow.
    pub fn from_passphrase(passphrase: &[u8], object_id: &ObjectId) -> Result<Self> {
        argon2id(passphrase, &object_id.0).map(|key| Self(*key))
    }

    /// Text form `s3seal-root-<base64url>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{ROOT_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.0)
        ))
    }

    /// Parses the text form.
    pub fn from_text(text: &str) -> Result<Self> {
        decode_key_text(
            text,
            ROOT_KEY_PREFIX,
            "a root key starts with \"s3seal-root-\"",
        )
        .map(Self)
    }

    /// The file key of one object.
    pub fn file_key(&self, object_id: &ObjectId) -> FileKey {
        FileKey(hkdf(Some(&object_id.0), &self.0, &[LABEL_FILE]))
    }

    /// The token that deletes one object's share: derived from the root, so
    /// the file key (a share link) cannot produce it.
    pub fn delete_token(&self, object_id: &ObjectId) -> DeleteToken {
        DeleteToken(hkdf(Some(&object_id.0), &self.0, &[LABEL_DELETE]))
    }
}

/// The owner's capability to delete one shared object. A backend keeps only
/// its [`DeleteToken::hash`], so its records delete nothing when read.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct DeleteToken([u8; KEY_SIZE]);

impl DeleteToken {
    /// Text form `s3seal-delete-<base64url>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{DELETE_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.0)
        ))
    }

    /// Parses the text form.
    pub fn from_text(text: &str) -> Result<Self> {
        decode_key_text(
            text,
            DELETE_TOKEN_PREFIX,
            "a delete token starts with \"s3seal-delete-\"",
        )
        .map(Self)
    }

    /// What a backend stores and compares: lowercase hex of
    /// `SHA-256("s3seal/v2 delete hash" ‖ token)`.
    pub fn hash(&self) -> String {
        use sha2::Digest as _;
        hex(&Sha256::new()
            .chain_update(LABEL_DELETE_HASH)
            .chain_update(self.0)
            .finalize())
    }
}

impl core::fmt::Debug for DeleteToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DeleteToken(<redacted>)")
    }
}

impl core::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

/// The key of one object. Holding it opens that object and nothing else; a
/// share link carries it in the URL fragment.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct FileKey([u8; KEY_SIZE]);

impl FileKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_SIZE] {
        &self.0
    }

    /// Text form `s3seal-file-<base64url>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{FILE_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.0)
        ))
    }

    /// Parses the text form.
    pub fn from_text(text: &str) -> Result<Self> {
        decode_key_text(
            text,
            FILE_KEY_PREFIX,
            "a file key starts with \"s3seal-file-\"",
        )
        .map(Self)
    }

    /// The key commitment stored in the preamble; binds the key to the object id.
    pub fn commitment(&self, object_id: &ObjectId) -> [u8; KEY_SIZE] {
        hkdf(None, &self.0, &[LABEL_COMMITMENT, &object_id.0])
    }

    /// The Tink `KeyValue` of the payload.
    pub(crate) fn payload_key(&self) -> Zeroizing<[u8; KEY_SIZE]> {
        Zeroizing::new(hkdf(None, &self.0, &[LABEL_PAYLOAD]))
    }

    /// The key of the sealed-metadata box.
    pub(crate) fn metadata_key(&self) -> Zeroizing<[u8; KEY_SIZE]> {
        Zeroizing::new(hkdf(None, &self.0, &[LABEL_METADATA]))
    }

    /// The customer key for S3 SSE-C. One-way: it does not open the content.
    pub fn sse_c_key(&self) -> SseCKey {
        SseCKey(hkdf(None, &self.0, &[LABEL_SSE_C]))
    }
}

impl core::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

/// A 256-bit customer-provided key for S3 server-side encryption (SSE-C).
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SseCKey([u8; KEY_SIZE]);

impl SseCKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_SIZE] {
        &self.0
    }
}

impl core::fmt::Debug for SseCKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SseCKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_is_the_formats_known_answer() {
        // argon2-cffi's hash_secret_raw(type=ID, version=19, t=3, m=65536,
        // p=1, 32 bytes): the constants of §2, computed outside this crate.
        let out = argon2id(b"correct horse battery staple", b"0123456789abcdef").unwrap();
        assert_eq!(
            hex(out.as_ref()),
            "94c86f541abdb3d9aabfea59aa03963549483e9c0b1a79336e76b54cee6c917e"
        );
        assert!(matches!(
            argon2id(b"", b"0123456789abcdef"),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let bytes = [0x41; KEY_SIZE];
        assert_eq!(
            format!("{:?}", RootKey::from_bytes(bytes)),
            "RootKey(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", FileKey::from_bytes(bytes)),
            "FileKey(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", SseCKey::from_bytes(bytes)),
            "SseCKey(<redacted>)"
        );
    }

    #[test]
    fn subkeys_differ_from_each_other_and_from_the_file_key() {
        let f = FileKey::from_bytes([9; KEY_SIZE]);
        let keys = [
            *f.as_bytes(),
            *f.payload_key(),
            *f.metadata_key(),
            *f.sse_c_key().as_bytes(),
            f.commitment(&ObjectId([0; OBJECT_ID_SIZE])),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Each is a function of the file key.
        let g = FileKey::from_bytes([8; KEY_SIZE]);
        assert_ne!(*f.payload_key(), *g.payload_key());
        assert_ne!(*f.metadata_key(), *g.metadata_key());
    }

    #[test]
    fn raw_keys_give_back_their_bytes() {
        let bytes: [u8; KEY_SIZE] = core::array::from_fn(|i| i as u8);
        assert_eq!(RootKey::from_bytes(bytes).as_bytes(), &bytes);
        assert_eq!(FileKey::from_bytes(bytes).as_bytes(), &bytes);
        assert_eq!(SseCKey::from_bytes(bytes).as_bytes(), &bytes);
    }

    #[test]
    fn a_delete_token_is_the_owners_alone_and_differs_per_object() {
        let root = RootKey::from_bytes([7; 32]);
        let (a, b) = (ObjectId([1; 16]), ObjectId([2; 16]));
        let token = root.delete_token(&a);
        assert_ne!(token, root.delete_token(&b));
        assert_ne!(token.0, root.file_key(&a).0, "not the file key");
        assert_ne!(token, RootKey::from_bytes([8; 32]).delete_token(&a));
        let text = token.to_text();
        assert!(text.starts_with(DELETE_TOKEN_PREFIX));
        assert_eq!(DeleteToken::from_text(&text).unwrap(), token);
        assert!(DeleteToken::from_text(&root.file_key(&a).to_text()).is_err());
        assert_eq!(format!("{token:?}"), "DeleteToken(<redacted>)");
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), root.delete_token(&b).hash());
        let name = crate::ObjectName::keyed(a);
        let file = crate::Secret::File(root.file_key(&a));
        assert!(matches!(file.delete_token(&name), Err(Error::KeySource(_))));
        assert_eq!(
            crate::Secret::Root(root).delete_token(&name).unwrap(),
            token
        );
    }

    #[test]
    fn key_text_round_trips_and_rejects_bad_input() {
        let root = RootKey::from_bytes([7; 32]);
        let text = root.to_text();
        assert_eq!(text.len(), ROOT_KEY_PREFIX.len() + 43);
        assert_eq!(RootKey::from_text(&text).unwrap(), root);
        assert_eq!(
            RootKey::from_text("s3seal-root-!!!"),
            Err(Error::InvalidBase64("key"))
        );
        assert_eq!(
            RootKey::from_text("s3seal-root-AAAA"),
            Err(Error::InvalidKey("a key must be 32 bytes"))
        );
        assert!(matches!(
            RootKey::from_text(&FileKey::from_bytes([1; 32]).to_text()),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let dbg = format!(
            "{:?} {:?} {:?}",
            RootKey::from_bytes([0xab; 32]),
            FileKey::from_bytes([0xab; 32]),
            SseCKey::from_bytes([0xab; 32])
        );
        assert!(!dbg.contains("171") && !dbg.contains("ab"), "{dbg}");
    }

    #[test]
    fn derivations_are_distinct_and_bound_to_the_object() {
        let root = RootKey::from_bytes([1; 32]);
        let a = ObjectId([2; 16]);
        let b = ObjectId([3; 16]);
        let fa = root.file_key(&a);
        assert_ne!(fa, root.file_key(&b));
        let subkeys = [
            *fa.payload_key(),
            *fa.metadata_key(),
            *fa.sse_c_key().as_bytes(),
            fa.commitment(&a),
            *fa.as_bytes(),
        ];
        for i in 0..subkeys.len() {
            for j in i + 1..subkeys.len() {
                assert_ne!(subkeys[i], subkeys[j]);
            }
        }
        assert_ne!(fa.commitment(&a), fa.commitment(&b));
    }
}
