//! Sender authenticity: every object is signed with an Ed25519 key of its
//! own, and its id is derived from that key's public half, so the name an
//! object is stored and shared under certifies who may write under it.
//!
//! A share link carries the file key, and the file key derives every
//! symmetric key of the object: with it alone anyone could seal new content
//! under the same name. The signing key is derived from the root key (or
//! passphrase) instead, so a link reads and never writes.
//!
//! What is signed is a digest of every sealed segment, not the segments'
//! GCM tags: a holder of the file key knows the GHASH key, and under a
//! known key a GCM tag is a linear function of the ciphertext, so other
//! ciphertext with the same tags is easy to compute. SHA-256 is not.

use ed25519_dalek::Signer as _;
use hkdf::Hkdf;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::{KEY_SIZE, OBJECT_ID_SIZE, ObjectId};

/// Length of a signature, in bytes (Ed25519).
pub const SIGNATURE_SIZE: usize = 64;
/// Length of a verifying (public) key, in bytes.
pub const VERIFYING_KEY_SIZE: usize = 32;
/// Length of a segment digest, in bytes (SHA-256).
pub const DIGEST_SIZE: usize = 32;
/// Length of the random salt a signing key is derived with, in bytes.
pub const SIGNING_SALT_SIZE: usize = 32;

const LABEL_SIGNING_KEY: &[u8] = b"s3seal/v2 signing key";
const LABEL_OBJECT_ID: &[u8] = b"s3seal/v2 object id";
const LABEL_SIGNATURE: &[u8] = b"s3seal/v2 signature";

/// A segment's digest: SHA-256 of its stored bytes (ciphertext ‖ tag).
pub type SegmentDigest = [u8; DIGEST_SIZE];

/// SHA-256 of one sealed segment as stored (ciphertext ‖ tag).
pub fn segment_digest(sealed: &[u8]) -> SegmentDigest {
    Sha256::digest(sealed).into()
}

/// The private key that signs one object. Derived, never stored: a retried
/// or resumed upload derives it again and, Ed25519 being deterministic,
/// signs to the same bytes.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// `HKDF(ikm, salt, "s3seal/v2 signing key")` as the Ed25519 secret seed.
    pub fn derive(ikm: &[u8; KEY_SIZE], salt: &[u8; SIGNING_SALT_SIZE]) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(salt), ikm)
            .expand(LABEL_SIGNING_KEY, seed.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public half, written in the preamble.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key().to_bytes())
    }

    /// Signs an object (RFC 8032 Ed25519: deterministic).
    pub fn sign(&self, object: &SignedContent) -> [u8; SIGNATURE_SIZE] {
        self.0.sign(&object.message()).to_bytes()
    }
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// An object's public verifying key, as the preamble carries it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct VerifyingKey(pub [u8; VERIFYING_KEY_SIZE]);

impl VerifyingKey {
    /// The object id this key certifies: the first 16 bytes of
    /// `SHA-256("s3seal/v2 object id" ‖ key)`.
    pub fn object_id(&self) -> ObjectId {
        let hash = Sha256::new()
            .chain_update(LABEL_OBJECT_ID)
            .chain_update(self.0)
            .finalize();
        ObjectId(hash[..OBJECT_ID_SIZE].try_into().expect("16 of 32 bytes"))
    }

    /// `SignerMismatch` unless this key is the one `id` was derived from.
    pub fn check_certifies(&self, id: &ObjectId) -> Result<()> {
        if self.object_id() == *id {
            Ok(())
        } else {
            Err(Error::SignerMismatch)
        }
    }

    /// Verifies `signature` over `object` (RFC 8032 with the strict rules of
    /// `ed25519-dalek`'s `verify_strict`: canonical `S`, no small-order `A`
    /// or `R`). `BadSignature` otherwise.
    pub fn verify(&self, object: &SignedContent, signature: &[u8; SIGNATURE_SIZE]) -> Result<()> {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadSignature)?;
        key.verify_strict(
            &object.message(),
            &ed25519_dalek::Signature::from_bytes(signature),
        )
        .map_err(|_| Error::BadSignature)
    }
}

/// What a signature covers: the preamble, the payload header and the digest
/// of every segment in order. Segments are added as they are sealed or
/// read, so memory stays constant.
#[derive(Clone)]
pub struct SignedContent {
    head: Vec<u8>,
    segments: u64,
    digests: Sha256,
}

impl SignedContent {
    /// Starts with the object's head: preamble ‖ payload header.
    pub fn new(preamble: &[u8], payload_header: &[u8]) -> Self {
        let mut head = Vec::with_capacity(preamble.len() + payload_header.len());
        head.extend_from_slice(preamble);
        head.extend_from_slice(payload_header);
        Self {
            head,
            segments: 0,
            digests: Sha256::new(),
        }
    }

    /// Adds the next segment's digest.
    pub fn add(&mut self, digest: &SegmentDigest) {
        self.segments += 1;
        self.digests.update(digest);
    }

    /// Adds the next segment (its stored bytes).
    pub fn add_segment(&mut self, sealed: &[u8]) {
        self.add(&segment_digest(sealed));
    }

    /// Segments added so far.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// `"s3seal/v2 signature" ‖ preamble ‖ payload header ‖ u64be(k) ‖
    /// SHA-256(d_0 ‖ … ‖ d_{k-1})`: the Ed25519 message.
    fn message(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LABEL_SIGNATURE.len() + self.head.len() + 8 + 32);
        out.extend_from_slice(LABEL_SIGNATURE);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.segments.to_be_bytes());
        out.extend_from_slice(&self.digests.clone().finalize());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(segments: &[&[u8]]) -> SignedContent {
        let mut c = SignedContent::new(b"preamble", &[0x28; 40]);
        for s in segments {
            c.add_segment(s);
        }
        c
    }

    #[test]
    fn a_signature_covers_every_segment_and_their_count_and_order() {
        let key = SigningKey::derive(&[1; 32], &[2; 32]);
        let vk = key.verifying_key();
        let sig = key.sign(&content(&[b"a", b"b"]));
        vk.verify(&content(&[b"a", b"b"]), &sig).unwrap();
        for other in [
            content(&[b"a"]),
            content(&[b"b", b"a"]),
            content(&[b"a", b"c"]),
            content(&[b"a", b"b", b""]),
        ] {
            assert_eq!(vk.verify(&other, &sig), Err(Error::BadSignature));
        }
        let mut head = SignedContent::new(b"preamblf", &[0x28; 40]);
        head.add_segment(b"a");
        head.add_segment(b"b");
        assert_eq!(vk.verify(&head, &sig), Err(Error::BadSignature));
        let other = SigningKey::derive(&[1; 32], &[3; 32]).verifying_key();
        assert_eq!(
            other.verify(&content(&[b"a", b"b"]), &sig),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn signing_is_deterministic_and_ids_certify_their_key() {
        let a = SigningKey::derive(&[1; 32], &[2; 32]);
        let b = SigningKey::derive(&[1; 32], &[2; 32]);
        assert_eq!(a.sign(&content(&[b"x"])), b.sign(&content(&[b"x"])));
        let vk = a.verifying_key();
        vk.check_certifies(&vk.object_id()).unwrap();
        assert_eq!(
            vk.check_certifies(&ObjectId([0; 16])),
            Err(Error::SignerMismatch)
        );
        assert_eq!(format!("{a:?}"), "SigningKey(<redacted>)");
    }

    #[test]
    fn a_small_order_verifying_key_is_refused() {
        // The identity point: every signature with R = identity, S = 0
        // would verify under it in a lax verifier.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut sig = [0u8; 64];
        sig[0] = 1;
        assert_eq!(
            VerifyingKey(identity).verify(&content(&[b"x"]), &sig),
            Err(Error::BadSignature)
        );
    }
}
