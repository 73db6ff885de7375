//! Recipient mode: sealing to an organisation's public key.
//!
//! A visitor's browser seals a file so that only the holder of an
//! [`Identity`] (an X25519 private key) can open it. The object's file key is
//! an HPKE export (RFC 9180: base mode, DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, export-only AEAD) from a context bound to the object id:
//!
//! ```text
//! (enc, ctx) = SetupBaseS(pkR, info = "s3seal/v1 recipient" ‖ object id)
//! file key   = ctx.Export("s3seal/v1 file", 32)
//! ```
//!
//! The encapsulated key `enc` is public: it travels in the object's name (so
//! a reader reaches the SSE-C key before the first request) and in the
//! preamble (so a downloaded object opens on its own). The HPKE work is done
//! by the `hpke` crate; this module only fixes the parameters, the labels and
//! the text forms of keys.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{Infallible, TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::key::{FileKey, KEY_SIZE, ObjectId, random_bytes};

/// Length of an X25519 public key, private key or encapsulated key, in bytes.
pub const X25519_KEY_SIZE: usize = 32;
/// Human-readable part of a recipient's text form (`s3seal1…`, Bech32).
pub const RECIPIENT_HRP: &str = "s3seal";
/// Human-readable part of an identity's text form (`S3SEAL-SECRET-KEY-1…`, Bech32).
pub const IDENTITY_HRP: &str = "s3seal-secret-key-";
/// How a recipient's text form starts (the HRP and Bech32's separator).
pub const RECIPIENT_PREFIX: &str = "s3seal1";
/// How an identity's text form starts (upper case, as written).
pub const IDENTITY_PREFIX: &str = "S3SEAL-SECRET-KEY-1";

const LABEL_RECIPIENT_INFO: &[u8] = b"s3seal/v1 recipient";
const LABEL_FILE: &[u8] = b"s3seal/v1 file";

type Kem = X25519HkdfSha256;
type Aead = hpke::aead::ExportOnlyAead;
type Kdf = hpke::kdf::HkdfSha256;

fn info(object_id: &ObjectId) -> [u8; LABEL_RECIPIENT_INFO.len() + crate::key::OBJECT_ID_SIZE] {
    let mut out = [0u8; LABEL_RECIPIENT_INFO.len() + crate::key::OBJECT_ID_SIZE];
    out[..LABEL_RECIPIENT_INFO.len()].copy_from_slice(LABEL_RECIPIENT_INFO);
    out[LABEL_RECIPIENT_INFO.len()..].copy_from_slice(&object_id.0);
    out
}

fn bech32_encode(hrp: &str, data: &[u8; X25519_KEY_SIZE], upper: bool) -> String {
    let hrp = Hrp::parse(hrp).expect("constant human-readable part is valid");
    if upper {
        bech32::encode_upper::<Bech32>(hrp, data)
    } else {
        bech32::encode_lower::<Bech32>(hrp, data)
    }
    .expect("a 32-byte key is far below Bech32's length limit")
}

/// Whether `text` starts like a key of the kind whose text form starts with
/// `prefix`, in either case.
pub(crate) fn has_prefix(text: &str, prefix: &str) -> bool {
    text.trim()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Decodes the text form whose human-readable part is `hrp` (written with
/// `prefix`); `what` says what such a key looks like.
fn bech32_decode(
    text: &str,
    hrp: &str,
    prefix: &str,
    what: &'static str,
) -> Result<Zeroizing<[u8; X25519_KEY_SIZE]>> {
    if !has_prefix(text, prefix) {
        return Err(Error::InvalidKey(what));
    }
    // The checksum is what catches a mistyped or truncated key.
    let parsed = CheckedHrpstring::new::<Bech32>(text.trim()).map_err(|_| {
        Error::InvalidKey("the key's checksum does not match (mistyped or cut short?)")
    })?;
    if !parsed.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return Err(Error::InvalidKey(what));
    }
    let bytes = Zeroizing::new(parsed.byte_iter().collect::<Vec<u8>>());
    let mut out = Zeroizing::new([0u8; X25519_KEY_SIZE]);
    if bytes.len() != X25519_KEY_SIZE {
        return Err(Error::InvalidKey(
            "a recipient or identity key must be 32 bytes",
        ));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// An organisation's public key: anyone may seal to it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Recipient([u8; X25519_KEY_SIZE]);

impl Recipient {
    /// Wraps the 32 bytes of an X25519 public key.
    pub fn from_bytes(bytes: [u8; X25519_KEY_SIZE]) -> Self {
        Self(bytes)
    }

    /// The raw public key.
    pub fn as_bytes(&self) -> &[u8; X25519_KEY_SIZE] {
        &self.0
    }

    /// Text form: Bech32 with prefix `s3seal1`; its checksum catches typos.
    pub fn to_text(&self) -> String {
        bech32_encode(RECIPIENT_HRP, &self.0, false)
    }

    /// Parses the text form (either case).
    pub fn from_text(text: &str) -> Result<Self> {
        bech32_decode(
            text,
            RECIPIENT_HRP,
            RECIPIENT_PREFIX,
            "a recipient (public key) starts with \"s3seal1\"",
        )
        .map(|bytes| Self(*bytes))
    }

    /// Derives a fresh file key for the object `object_id` that only this
    /// recipient's identity can re-derive; returns it with the encapsulated key.
    pub fn encapsulate(&self, object_id: &ObjectId) -> Result<(EncapsulatedKey, FileKey)> {
        let seed = Zeroizing::new(random_bytes::<X25519_KEY_SIZE>()?);
        self.encapsulate_with_seed(object_id, &seed)
    }

    /// As [`Recipient::encapsulate`] with the ephemeral key derived from
    /// `seed` (RFC 9180 `DeriveKeyPair(ikmE)`): for test vectors only.
    /// Reusing a seed reuses the file key.
    pub fn encapsulate_with_seed(
        &self,
        object_id: &ObjectId,
        seed: &[u8; X25519_KEY_SIZE],
    ) -> Result<(EncapsulatedKey, FileKey)> {
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0)
            .map_err(|_| Error::InvalidKey("not an X25519 public key"))?;
        let mut rng = SeedRng(Some(*seed));
        let (enc, ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &pk,
            &info(object_id),
            &mut rng,
        )
        // Only a low-order public key (all-zero shared secret) fails here.
        .map_err(|_| Error::InvalidKey("the recipient is not a usable X25519 public key"))?;
        let mut file_key = [0u8; KEY_SIZE];
        ctx.export(LABEL_FILE, &mut file_key)
            .expect("32 bytes is a valid HPKE export length");
        let enc = EncapsulatedKey(enc.to_bytes().into());
        let key = FileKey::from_bytes(file_key);
        file_key.zeroize();
        Ok((enc, key))
    }
}

/// The private key of a recipient: opens every object sealed to it. Lives in
/// an identity file on staff machines, never on the web server.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Identity([u8; X25519_KEY_SIZE]);

impl Identity {
    /// A fresh random identity.
    pub fn generate() -> Result<Self> {
        Ok(Self(random_bytes()?))
    }

    /// Wraps 32 bytes of an X25519 private key (clamped when used).
    pub fn from_bytes(bytes: [u8; X25519_KEY_SIZE]) -> Self {
        Self(bytes)
    }

    fn private_key(&self) -> <Kem as hpke::Kem>::PrivateKey {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(&self.0)
            .expect("every 32-byte string is an X25519 private key")
    }

    /// The public key that seals to this identity.
    pub fn recipient(&self) -> Recipient {
        let pk = Kem::sk_to_pk(&self.private_key());
        Recipient(pk.to_bytes().into())
    }

    /// Text form: Bech32, upper case, prefix `S3SEAL-SECRET-KEY-1`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(bech32_encode(IDENTITY_HRP, &self.0, true))
    }

    /// Parses the text form (either case).
    pub fn from_text(text: &str) -> Result<Self> {
        bech32_decode(
            text,
            IDENTITY_HRP,
            IDENTITY_PREFIX,
            "an identity starts with \"S3SEAL-SECRET-KEY-1\"",
        )
        .map(|bytes| Self(*bytes))
    }

    /// Re-derives the file key of the object `object_id` from its
    /// encapsulated key. Any 32 bytes decapsulate to *some* key: whether it is
    /// the right one is for the key commitment to say (`WrongKey`).
    pub fn decapsulate(&self, object_id: &ObjectId, enc: &EncapsulatedKey) -> Result<FileKey> {
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&enc.0)
            .map_err(|_| Error::Malformed("the encapsulated key is not 32 bytes"))?;
        let ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            &self.private_key(),
            &enc,
            &info(object_id),
        )
        // A low-order point gives an all-zero shared secret, which HPKE
        // refuses; no honest sealer produces one.
        .map_err(|_| Error::WrongKey)?;
        let mut file_key = [0u8; KEY_SIZE];
        ctx.export(LABEL_FILE, &mut file_key)
            .expect("32 bytes is a valid HPKE export length");
        let key = FileKey::from_bytes(file_key);
        file_key.zeroize();
        Ok(key)
    }
}

impl core::fmt::Debug for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Identity(<redacted>)")
    }
}

/// HPKE's encapsulated key (`enc`, an ephemeral X25519 public key). Public.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EncapsulatedKey(pub [u8; X25519_KEY_SIZE]);

/// Hands the HPKE sender exactly one 32-byte seed: the ephemeral key is
/// `DeriveKeyPair(seed)`. Lets us draw the randomness fallibly ourselves (and
/// fix it for test vectors) instead of letting the library panic on failure.
struct SeedRng(Option<[u8; X25519_KEY_SIZE]>);

impl Drop for SeedRng {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl TryRng for SeedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        unreachable!("HPKE X25519 asks for whole key seeds only")
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        unreachable!("HPKE X25519 asks for whole key seeds only")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        let seed = self
            .0
            .take()
            .filter(|_| dst.len() == X25519_KEY_SIZE)
            .expect("HPKE X25519 draws one 32-byte seed per encapsulation");
        dst.copy_from_slice(&seed);
        Ok(())
    }
}

impl TryCryptoRng for SeedRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_texts_round_trip_and_catch_typos() {
        let identity = Identity::from_bytes([9; 32]);
        let recipient = identity.recipient();
        let text = recipient.to_text();
        assert!(text.starts_with("s3seal1"), "{text}");
        assert_eq!(Recipient::from_text(&text).unwrap(), recipient);
        assert_eq!(
            Recipient::from_text(&text.to_uppercase()).unwrap(),
            recipient
        );
        let id_text = identity.to_text();
        assert!(id_text.starts_with("S3SEAL-SECRET-KEY-1"), "{}", &*id_text);
        assert_eq!(Identity::from_text(&id_text).unwrap(), identity);

        // One changed character, two swapped characters, a dropped character.
        let mut typo = text.clone().into_bytes();
        let at = 20;
        typo[at] = if typo[at] == b'q' { b'p' } else { b'q' };
        let mut swapped = text.clone().into_bytes();
        swapped.swap(30, 31);
        assert_ne!(
            swapped,
            text.as_bytes(),
            "the test must swap different characters"
        );
        for bad in [
            String::from_utf8(typo).unwrap(),
            String::from_utf8(swapped).unwrap(),
            text[..text.len() - 1].to_string(),
        ] {
            assert!(
                matches!(Recipient::from_text(&bad), Err(Error::InvalidKey(m)) if m.contains("checksum")),
                "{bad}"
            );
        }
        // An identity is not a recipient and the reverse.
        assert!(Recipient::from_text(&id_text).is_err());
        assert!(Identity::from_text(&text).is_err());
    }

    #[test]
    fn decapsulation_recovers_the_file_key_only_for_the_right_identity_and_object() {
        let identity = Identity::from_bytes([1; 32]);
        let id = ObjectId([2; 16]);
        let (enc, key) = identity.recipient().encapsulate(&id).unwrap();
        assert_eq!(identity.decapsulate(&id, &enc).unwrap(), key);
        assert_ne!(
            Identity::from_bytes([3; 32])
                .decapsulate(&id, &enc)
                .unwrap(),
            key
        );
        assert_ne!(identity.decapsulate(&ObjectId([4; 16]), &enc).unwrap(), key);
        let (enc2, key2) = identity.recipient().encapsulate(&id).unwrap();
        assert_ne!((enc, &key), (enc2, &key2), "fresh randomness per sealing");
    }

    #[test]
    fn low_order_points_are_refused() {
        let zero = Recipient::from_bytes([0; 32]);
        assert!(matches!(
            zero.encapsulate(&ObjectId([0; 16])),
            Err(Error::InvalidKey(_))
        ));
        assert_eq!(
            Identity::from_bytes([1; 32])
                .decapsulate(&ObjectId([0; 16]), &EncapsulatedKey([0; 32])),
            Err(Error::WrongKey)
        );
    }

    #[test]
    fn debug_never_prints_the_identity() {
        let dbg = format!("{:?}", Identity::from_bytes([0xab; 32]));
        assert!(!dbg.contains("ab") && !dbg.contains("171"), "{dbg}");
    }
}
