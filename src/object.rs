//! Whole objects: preamble ‖ payload. Composes the key hierarchy ([`crate::key`]),
//! the preamble ([`crate::format`]) and the segment stream ([`crate::stream`]).

use core::ops::Range;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::format::{KeySource, METADATA_NONCE_SIZE, Metadata, Preamble};
use crate::key::{DeleteToken, FileKey, ObjectId, SseCKey};
use crate::machine::{OpenMachine, Piece, SealMachine, SealPush, Step, run_steps};
use crate::name::ObjectName;
use crate::recipient::{Recipient, X25519_KEY_SIZE};
use crate::secret::Secret;
use crate::signature::{
    SIGNATURE_SIZE, SIGNING_SALT_SIZE, SegmentDigest, SignedContent, SigningKey, segment_digest,
};
use crate::stream::{self, Header, SegmentCipher, TAG_SIZE, layout};

/// The random choices of one sealing. [`Randomness::generate`] in real use;
/// fixed values only for reproducible test vectors. None is secret: the
/// header and metadata nonce are in the object, and the signing salt
/// derives nothing without the root key or passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Randomness {
    /// Salt of the signing key, whose public half gives the object id.
    pub signing_salt: [u8; SIGNING_SALT_SIZE],
    /// Payload header (salt, nonce prefix).
    pub header: Header,
    /// Nonce of the metadata box.
    pub metadata_nonce: [u8; METADATA_NONCE_SIZE],
}

impl Randomness {
    /// Length of [`Randomness::to_bytes`].
    pub const SIZE: usize =
        SIGNING_SALT_SIZE + stream::SALT_SIZE + stream::NONCE_PREFIX_SIZE + METADATA_NONCE_SIZE;

    /// The random choices as bytes (saved to resume an upload).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        let parts: [&[u8]; 4] = [
            &self.signing_salt,
            &self.header.salt,
            &self.header.nonce_prefix,
            &self.metadata_nonce,
        ];
        let mut at = 0;
        for part in parts {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out
    }

    /// Inverse of [`Randomness::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != Self::SIZE {
            return Err(Error::InvalidInput(
                "saved sealing state has the wrong length",
            ));
        }
        let (signing, rest) = bytes.split_at(SIGNING_SALT_SIZE);
        let (salt, rest) = rest.split_at(stream::SALT_SIZE);
        let (prefix, nonce) = rest.split_at(stream::NONCE_PREFIX_SIZE);
        Ok(Self {
            signing_salt: signing.try_into().expect("sized"),
            header: Header {
                salt: salt.try_into().expect("sized"),
                nonce_prefix: prefix.try_into().expect("sized"),
            },
            metadata_nonce: nonce.try_into().expect("sized"),
        })
    }

    /// [`Randomness::to_bytes`] as lowercase hex (a resume state's text).
    pub fn to_hex(&self) -> String {
        crate::key::hex(&self.to_bytes())
    }

    /// Inverse of [`Randomness::to_hex`].
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes: [u8; Self::SIZE] =
            crate::key::from_hex(text, "saved sealing state is not hex of the right length")?;
        Self::from_bytes(&bytes)
    }

    /// Fresh randomness from the operating system.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            signing_salt: crate::key::random_bytes()?,
            header: Header::generate()?,
            metadata_nonce: crate::key::random_bytes()?,
        })
    }
}

fn metadata_cipher(file_key: &FileKey) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(file_key.metadata_key().as_ref()).expect("AES-256 key is 32 bytes")
}

/// The key source an object sealed with `secret` records. A file key (share)
/// opens one existing object and seals nothing; an identity opens, and seals
/// through its public key ([`Sealer::for_recipient`]).
pub fn sealing_source(secret: &Secret) -> Result<KeySource> {
    match secret {
        Secret::Root(_) => Ok(KeySource::Root),
        Secret::Passphrase(_) => Ok(KeySource::PASSPHRASE_V1),
        Secret::File(_) => Err(Error::InvalidInput(
            "seal with a root key or a passphrase, not a file key",
        )),
        Secret::Identity(_) => Err(Error::InvalidInput(
            "seal to the identity's recipient (public key), not with the identity",
        )),
    }
}

/// Everything fixed once a sealing starts: the preamble, the keys, the cipher.
/// Seals any run of segments on its own (for multipart uploads: parallel,
/// byte-identical on retry), and signs the object once every segment is
/// sealed.
#[derive(Clone)]
pub struct Sealer {
    preamble: Vec<u8>,
    source: KeySource,
    random: Randomness,
    object_id: ObjectId,
    file_key: FileKey,
    signing_key: SigningKey,
    cipher: SegmentCipher,
    delete_token: Option<DeleteToken>,
}

impl Sealer {
    /// Starts sealing one object for `secret` (a root key or a passphrase).
    pub fn new(secret: &Secret, metadata: &Metadata) -> Result<Self> {
        Self::with_randomness(secret, metadata, Randomness::generate()?)
    }

    /// As [`Sealer::new`] with the random choices given: for test vectors, and
    /// for resuming an interrupted upload of the *same* bytes (sealing
    /// different plaintext with the same randomness breaks confidentiality,
    /// so callers must check the input is unchanged). A passphrase runs
    /// Argon2id twice: once for the signing key, salted with the signing
    /// salt, and once for the file key, salted with the id derived from it.
    pub fn with_randomness(
        secret: &Secret,
        metadata: &Metadata,
        random: Randomness,
    ) -> Result<Self> {
        let source = sealing_source(secret)?;
        let signing_key = secret.signing_key(&random.signing_salt)?;
        let object_id = signing_key.verifying_key().object_id();
        let root = secret.root_key(&object_id)?;
        let mut sealer = Self::build(
            signing_key,
            root.file_key(&object_id),
            source,
            metadata,
            random,
        )?;
        sealer.delete_token = Some(root.delete_token(&object_id));
        Ok(sealer)
    }

    /// Starts sealing one object to `recipient`: only the matching identity
    /// can open it; the sealer forgets the file key and the signing key when
    /// dropped, so nobody, the recipient included, can write under its name
    /// again.
    pub fn for_recipient(recipient: &Recipient, metadata: &Metadata) -> Result<Self> {
        let random = Randomness::generate()?;
        let ephemeral: Zeroizing<[u8; X25519_KEY_SIZE]> =
            Zeroizing::new(crate::key::random_bytes()?);
        let signing: Zeroizing<[u8; 32]> = Zeroizing::new(crate::key::random_bytes()?);
        Self::recipient_with(recipient, metadata, random, &ephemeral, &signing)
    }

    /// As [`Sealer::for_recipient`] with every random choice given, for test
    /// vectors only: the HPKE ephemeral key comes from `ephemeral_seed`, and
    /// so does the signing key (`HKDF(ephemeral_seed, signing salt, …)`).
    pub fn for_recipient_with(
        recipient: &Recipient,
        metadata: &Metadata,
        random: Randomness,
        ephemeral_seed: &[u8; X25519_KEY_SIZE],
    ) -> Result<Self> {
        Self::recipient_with(recipient, metadata, random, ephemeral_seed, ephemeral_seed)
    }

    fn recipient_with(
        recipient: &Recipient,
        metadata: &Metadata,
        random: Randomness,
        ephemeral_seed: &[u8; X25519_KEY_SIZE],
        signing_ikm: &[u8; 32],
    ) -> Result<Self> {
        let signing_key = SigningKey::derive(signing_ikm, &random.signing_salt);
        let object_id = signing_key.verifying_key().object_id();
        let (enc, file_key) = recipient.encapsulate_with_seed(&object_id, ephemeral_seed)?;
        Self::build(
            signing_key,
            file_key,
            KeySource::Recipient { encapsulated: enc },
            metadata,
            random,
        )
    }

    /// The preamble and cipher; `file_key` belongs to the id that
    /// `signing_key` certifies.
    fn build(
        signing_key: SigningKey,
        file_key: FileKey,
        source: KeySource,
        metadata: &Metadata,
        random: Randomness,
    ) -> Result<Self> {
        let verifying_key = signing_key.verifying_key();
        let object_id = verifying_key.object_id();
        let plaintext = Zeroizing::new(metadata.to_bytes()?);
        let mut preamble = Preamble {
            object_id,
            verifying_key,
            commitment: file_key.commitment(&object_id),
            source,
            metadata_box: vec![0; METADATA_NONCE_SIZE + plaintext.len() + TAG_SIZE],
        };
        let aad = preamble.head_bytes();
        let (nonce, rest) = preamble.metadata_box.split_at_mut(METADATA_NONCE_SIZE);
        nonce.copy_from_slice(&random.metadata_nonce);
        let (body, tag_out) = rest.split_at_mut(plaintext.len());
        body.copy_from_slice(&plaintext);
        let tag = metadata_cipher(&file_key)
            .encrypt_inout_detached(&random.metadata_nonce.into(), &aad, body.into())
            .expect("metadata is far below AES-GCM's length limit");
        tag_out.copy_from_slice(&tag);
        let preamble = preamble.to_bytes();
        let cipher = SegmentCipher::new(&file_key.payload_key(), &random.header, &preamble);
        Ok(Self {
            preamble,
            source,
            random,
            object_id,
            file_key,
            signing_key,
            cipher,
            delete_token: None,
        })
    }

    /// The object's id.
    pub fn object_id(&self) -> ObjectId {
        self.object_id
    }

    /// The object's name (id, and encapsulated key in recipient mode).
    pub fn object_name(&self) -> ObjectName {
        ObjectName {
            id: self.object_id,
            encapsulated: self.source.encapsulated(),
        }
    }

    /// How the file key was derived.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// The random choices of this sealing (not secret; see [`Randomness`]).
    pub fn randomness(&self) -> Randomness {
        self.random
    }

    /// The owner's token that deletes this object's share (none when sealed
    /// to a recipient: the sender keeps nothing).
    pub fn delete_token(&self) -> Option<&DeleteToken> {
        self.delete_token.as_ref()
    }

    /// The object's own key to hand out (a share link's): refused when
    /// sealed to a recipient, where the sender is to keep nothing.
    pub fn share_key(&self) -> Result<&FileKey> {
        match self.source.encapsulated() {
            Some(_) => Err(Error::InvalidInput(
                "an object sealed to a recipient has no share key",
            )),
            None => Ok(&self.file_key),
        }
    }

    /// The object's file key (what a share link carries).
    pub fn file_key(&self) -> &FileKey {
        &self.file_key
    }

    /// The object's SSE-C key.
    pub fn sse_c_key(&self) -> SseCKey {
        self.file_key.sse_c_key()
    }

    /// The first bytes of the object: preamble ‖ payload header.
    pub fn head(&self) -> Vec<u8> {
        let mut out = self.preamble.clone();
        out.extend_from_slice(&self.random.header.to_bytes());
        out
    }

    /// Length of the object's head ([`Sealer::head`]) in bytes.
    pub fn head_len(&self) -> u64 {
        (self.preamble.len() + stream::HEADER_SIZE) as u64
    }

    /// Total object length for `plaintext_len` bytes of plaintext: head,
    /// segments and signature.
    pub fn object_len(&self, plaintext_len: u64) -> u64 {
        self.preamble.len() as u64 + layout::payload_len(plaintext_len) + SIGNATURE_SIZE as u64
    }

    /// What the signature will cover, with no segment yet: for hosts that
    /// add each segment's digest in order and then call [`Sealer::sign`].
    pub fn signed_content(&self) -> SignedContent {
        SignedContent::new(&self.preamble, &self.random.header.to_bytes())
    }

    /// The signature over `content` (from [`Sealer::signed_content`]), which
    /// must hold every segment's digest in order: the object's last 64 bytes.
    pub fn sign(&self, content: &SignedContent) -> [u8; SIGNATURE_SIZE] {
        self.signing_key.sign(content)
    }

    /// The signature, from the digests `ledger` recorded: `InvalidInput`
    /// unless it holds every segment from 0 to the last exactly once.
    pub fn signature(&self, ledger: &SegmentLedger) -> Result<[u8; SIGNATURE_SIZE]> {
        let mut content = self.signed_content();
        for digest in ledger.in_order()? {
            content.add(digest);
        }
        Ok(self.sign(&content))
    }

    /// Seals segments `first..` of the object from their concatenated
    /// plaintext and appends them to `out`; see [`SegmentCipher::seal_segments`].
    pub fn seal_segments(
        &self,
        first: u64,
        plaintext: &[u8],
        ends_object: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.cipher
            .seal_segments(first, plaintext, ends_object, out)
    }

    /// As [`Sealer::seal_segments`], for callers that may ask for any index
    /// at any time (a multipart upload's parts, sealed again on a retry or to
    /// verify a resume: [`crate::transfer::upload::Upload::seal_part`]): `ledger` remembers
    /// each segment's digest, and a segment sealed again must come out
    /// byte-identical (a retried part) or the whole run is refused with
    /// nothing appended. Two different ciphertexts under one nonce would
    /// give away the XOR of their plaintexts and the GCM authentication key.
    /// The ledger then gives the signature ([`Sealer::signature`]).
    pub fn seal_segments_once(
        &self,
        ledger: &mut SegmentLedger,
        first: u64,
        plaintext: &[u8],
        ends_object: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        self.seal_segments(first, plaintext, ends_object, out)?;
        if let Err(e) = ledger.record(first, &out[start..], ends_object) {
            // Sealed, never released.
            crate::stream::discard_from(out, start);
            return Err(e);
        }
        Ok(())
    }

    /// The per-object segment key, for an external AES-GCM engine
    /// (WebCrypto) that seals segments with [`SegmentCipher::nonce`]'s nonces
    /// and must produce the same bytes as [`Sealer::segment_cipher`].
    pub fn segment_key(&self) -> Zeroizing<[u8; crate::key::KEY_SIZE]> {
        SegmentCipher::derive_key(
            &self.file_key.payload_key(),
            &self.random.header,
            &self.preamble,
        )
    }

    /// The segment cipher, for callers that manage their own buffers.
    pub fn segment_cipher(&self) -> &SegmentCipher {
        &self.cipher
    }

    /// Turns this into a push sealer (plaintext in, object bytes out).
    pub fn into_stream(self) -> ObjectSealer {
        ObjectSealer {
            machine: SealMachine::new(self),
            held: Zeroizing::new(Vec::with_capacity(stream::SEGMENT_SIZE)),
        }
    }
}

/// The digest of every segment of one object that was released, by index:
/// what [`Sealer::signature`] signs, and a guard against sealing one index
/// twice over different bytes ([`Sealer::seal_segments_once`]). 40 bytes per
/// segment (~2.5 MiB for a 16 GiB object). A plain list, searched only for
/// indices below the highest one seen: parts usually come in order, and the
/// wasm module stays small.
#[derive(Clone, Debug, Default)]
pub struct SegmentLedger {
    entries: Vec<(u64, SegmentDigest)>,
    /// One past the highest index recorded.
    end: u64,
    /// The index of the object's last segment, once it was recorded.
    last: Option<u64>,
}

impl SegmentLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Segments recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records the run of sealed segments `first..` in `sealed` (whole
    /// segments, the last possibly short if `ends_object`); see
    /// [`SegmentLedger::record_digests`].
    pub fn record(&mut self, first: u64, sealed: &[u8], ends_object: bool) -> Result<()> {
        let mut digests = Vec::new();
        let mut rest = sealed;
        let mut index = first;
        while !rest.is_empty() {
            let take = layout::ciphertext_capacity(index).min(rest.len());
            digests.push(segment_digest(&rest[..take]));
            rest = &rest[take..];
            index += 1;
        }
        self.record_digests(first, &digests, ends_object)
    }

    /// Checks the digests of segments `first..` against what was recorded,
    /// then records them (`ends_object`: the run ends with the object's last
    /// segment). A segment recorded before must have the same digest, and
    /// the last segment is one index for good; on a conflict nothing is
    /// recorded and the call fails.
    pub fn record_digests(
        &mut self,
        first: u64,
        digests: &[SegmentDigest],
        ends_object: bool,
    ) -> Result<()> {
        let Some(run_end) = first
            .checked_add(digests.len() as u64)
            .filter(|e| *e > first)
        else {
            return Ok(());
        };
        let conflict = Err(Error::InvalidInput(
            "segment already sealed over other bytes (that would reuse its nonce)",
        ));
        match self.last {
            Some(last) if run_end - 1 > last || (ends_object && run_end - 1 != last) => {
                return conflict;
            }
            None if ends_object && self.end > run_end => return conflict,
            _ => {}
        }
        let known = self.entries.len();
        for (index, digest) in (first..run_end).zip(digests) {
            let seen = if index < self.end {
                self.entries[..known].iter().find(|e| e.0 == index)
            } else {
                None
            };
            match seen {
                Some(e) if e.1 != *digest => {
                    self.entries.truncate(known);
                    return conflict;
                }
                Some(_) => {}
                None => self.entries.push((index, *digest)),
            }
        }
        self.end = self.end.max(run_end);
        if ends_object {
            self.last = Some(run_end - 1);
        }
        Ok(())
    }

    /// Every digest in segment order: `InvalidInput` unless the last segment
    /// and every one before it were recorded.
    pub fn in_order(&self) -> Result<Vec<&SegmentDigest>> {
        let missing = Error::InvalidInput("not every segment of the object is sealed yet");
        let Some(last) = self.last else {
            return Err(missing);
        };
        if self.entries.len() as u64 != last + 1 {
            return Err(missing);
        }
        let mut sorted: Vec<_> = self.entries.iter().collect();
        sorted.sort_unstable_by_key(|e| e.0);
        Ok(sorted.into_iter().map(|e| &e.1).collect())
    }
}

/// Push sealer of a whole object on the Rust AES: the seal machine's
/// native host. Memory bounded by one segment.
pub struct ObjectSealer {
    machine: SealMachine,
    held: Zeroizing<Vec<u8>>,
}

impl ObjectSealer {
    /// Takes plaintext, appends the object bytes it completes to `out`.
    pub fn push(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let push = self.machine.push(plaintext.len())?;
        self.run(push, plaintext, out)
    }

    /// Ends the object: appends the last segment and the signature to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        let push = self.machine.finish()?;
        self.run(push, &[], out)?;
        out.extend_from_slice(&self.machine.signature()?);
        Ok(())
    }

    fn run(&mut self, push: SealPush, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(push.head.as_deref().unwrap_or_default());
        let cipher = self.machine.sealer().segment_cipher();
        let mut digests = Vec::new();
        run_steps(
            &push.steps,
            &[],
            plaintext,
            &mut self.held,
            |nonce, bytes| {
                let start = out.len();
                cipher.seal_to(nonce, bytes, out);
                digests.push(segment_digest(&out[start..]));
                Ok(())
            },
        )?;
        self.machine.record(&digests)
    }
}

/// Holds back the last [`SIGNATURE_SIZE`] bytes of a stream: a reader only
/// knows which bytes are the signature once the object ends.
#[derive(Debug, Default)]
pub struct Trailer {
    held: Vec<u8>,
}

impl Trailer {
    /// How many bytes to release now, of `held` then of a new chunk of
    /// `chunk_len` bytes, so that exactly the last [`SIGNATURE_SIZE`] of
    /// everything stay held.
    fn split(held_len: usize, chunk_len: usize) -> (usize, usize) {
        let release = (held_len + chunk_len).saturating_sub(SIGNATURE_SIZE);
        let from_held = release.min(held_len);
        (from_held, release - from_held)
    }

    /// Takes a chunk of `chunk_len` bytes that lives elsewhere (JS memory,
    /// say): `tail(from)` copies its bytes from `from` on, which it holds.
    /// Returns the held bytes now known not to be the signature, and how
    /// many of the chunk's first bytes follow them as not the signature.
    pub fn push(
        &mut self,
        chunk_len: usize,
        tail: impl FnOnce(usize) -> Vec<u8>,
    ) -> (Vec<u8>, usize) {
        let (from_held, from_chunk) = Self::split(self.held.len(), chunk_len);
        let released = self.held.drain(..from_held).collect();
        self.held.extend(tail(from_chunk));
        (released, from_chunk)
    }

    /// The held bytes: the signature once the object ended, if it is whole.
    pub fn held(&self) -> &[u8] {
        &self.held
    }
}

/// What opening a preamble yields: the file key and sealed metadata.
pub struct Opened {
    /// The parsed preamble.
    pub preamble: Preamble,
    /// Its length in bytes.
    pub preamble_len: usize,
    /// The object's file key (verified against the commitment).
    pub file_key: FileKey,
    /// The sealed metadata.
    pub metadata: Metadata,
}

/// A file key opens whatever id it is shown, so only the object's name
/// tells the original from a forgery sealed under another id: a file key
/// needs one (FORMAT.md §1). The other secrets derive the file key from the
/// id and need none.
pub fn require_name(secret: &Secret, name: Option<&ObjectName>) -> Result<()> {
    match (secret, name) {
        (Secret::File(_), None) => Err(Error::InvalidInput(
            "a file key opens one named object: give the object's name",
        )),
        _ => Ok(()),
    }
}

/// Checks a parsed preamble and `secret` against it, and unseals the
/// metadata: `SignerMismatch` if the verifying key does not certify the id,
/// `KeySource` if the secret is of the wrong kind, `WrongKey` (before any
/// decryption) if the commitment does not match, then `Corrupt` or
/// `Malformed` from the metadata box.
pub fn open_preamble(secret: &Secret, preamble: Preamble, preamble_len: usize) -> Result<Opened> {
    // Before the key: a preamble whose id its key does not certify was not
    // written by whoever owns that name, whatever key opens it.
    preamble
        .verifying_key
        .check_certifies(&preamble.object_id)?;
    match (secret, preamble.source) {
        (Secret::Passphrase(_), KeySource::Root) => {
            return Err(Error::KeySource(
                "this object was sealed with a root key, not a passphrase",
            ));
        }
        (Secret::Root(_), KeySource::Passphrase { .. }) => {
            return Err(Error::KeySource(
                "this object was sealed with a passphrase, not a root key",
            ));
        }
        (Secret::Passphrase(_), source) if source != KeySource::PASSPHRASE_V1 => {
            return Err(Error::KeySource(
                "the object's passphrase cost is not the one of format v1",
            ));
        }
        _ => {}
    }
    // The preamble says everything the name says; `Secret::file_key` gives
    // the remaining source mismatches (identity vs key) their messages.
    let file_key = secret.file_key(&preamble.object_name())?;
    let expected = file_key.commitment(&preamble.object_id);
    if !bool::from(expected.ct_eq(&preamble.commitment)) {
        return Err(Error::WrongKey);
    }
    let aad = preamble.head_bytes();
    let mut sealed = Zeroizing::new(preamble.metadata_box.clone());
    let (nonce, rest) = sealed.split_at_mut(METADATA_NONCE_SIZE);
    let tag_at = rest.len() - TAG_SIZE;
    let (body, tag) = rest.split_at_mut(tag_at);
    let nonce: [u8; METADATA_NONCE_SIZE] = (&*nonce).try_into().expect("12 bytes");
    let tag = aes_gcm::Tag::try_from(&*tag).expect("16 bytes");
    metadata_cipher(&file_key)
        .decrypt_inout_detached(&nonce.into(), &aad, body.into(), &tag)
        .map_err(|_| Error::Corrupt)?;
    let metadata = Metadata::parse(body)?;
    Ok(Opened {
        preamble,
        preamble_len,
        file_key,
        metadata,
    })
}

/// Push opener of a whole object on the Rust AES: object bytes in,
/// verified plaintext out (the open machine's native host).
/// Memory bounded by one segment; a segment's plaintext is released only
/// after its tag verified. The signature, over the whole object, is checked
/// by [`Opener::finish`]: until then released plaintext is authentic against
/// anyone without the object's file key, but a holder of the file key (a
/// share link) could have written it. Present nothing as the file before
/// `finish` succeeds.
pub struct Opener {
    machine: OpenMachine,
    held: Vec<u8>,
}

impl Opener {
    /// An opener that will use `secret`.
    pub fn new(secret: Secret) -> Self {
        Self {
            machine: OpenMachine::new(secret),
            held: Vec::new(),
        }
    }

    /// Also checks that the object is the one its name in the bucket says
    /// (see [`OpenMachine::expect_name`]).
    pub fn expect_name(&mut self, name: ObjectName) -> Result<()> {
        self.machine.expect_name(name)
    }

    /// The sealed metadata, once the preamble has been read and verified.
    pub fn metadata(&self) -> Option<&Metadata> {
        Some(&self.machine.opened()?.metadata)
    }

    /// The preamble, once read and verified.
    pub fn preamble(&self) -> Option<&Preamble> {
        Some(&self.machine.opened()?.preamble)
    }

    /// The object's file key, once the preamble has been verified.
    pub fn file_key(&self) -> Option<&FileKey> {
        Some(&self.machine.opened()?.file_key)
    }

    /// Takes object bytes, appends the verified plaintext they complete to `out`.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let push = self
            .machine
            .push(data.len(), |range| data[range].to_vec())?;
        let Some(cipher) = self.machine.segment_cipher() else {
            return Ok(()); // no segment before the payload header
        };
        let mut digests = Vec::new();
        run_steps(
            &push.steps,
            &push.released,
            data,
            &mut self.held,
            |nonce, sealed| {
                digests.push(segment_digest(sealed));
                cipher.open_to(nonce, sealed, out)
            },
        )?;
        self.machine.record(&digests)
    }

    /// The object has ended: verifies the last segment, appends its
    /// plaintext, checks the size the metadata declared, then the signature.
    /// Returns the metadata. On failure `out` is as it was before the call.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Metadata> {
        let last = self.machine.finish()?;
        let cipher = self
            .machine
            .segment_cipher()
            .expect("finish needs the header")
            .clone();
        let before = out.len();
        if let Some(Step::Segment { nonce, .. }) = last {
            if cipher.open_to(nonce, &self.held, out).is_ok() {
                let verdict = self.machine.verify(&segment_digest(&self.held));
                if verdict.is_err() {
                    crate::stream::discard_from(out, before);
                }
                return verdict;
            }
        }
        let mut rest = std::mem::take(&mut self.held);
        rest.extend_from_slice(self.machine.trailer()?);
        let mut probe = Zeroizing::new(Vec::new());
        Err(self.machine.refusal(&rest, |nonce, bytes| {
            let opened = cipher.open_to(nonce, bytes, &mut probe).is_ok();
            probe.zeroize();
            opened
        }))
    }
}

/// Seals `plaintext` in one call.
pub fn seal(secret: &Secret, metadata: &Metadata, plaintext: &[u8]) -> Result<(ObjectId, Vec<u8>)> {
    let sealer = Sealer::new(secret, metadata)?;
    let id = sealer.object_id();
    let mut out = Vec::with_capacity(sealer.object_len(plaintext.len() as u64) as usize);
    let mut stream = sealer.into_stream();
    stream.push(plaintext, &mut out)?;
    stream.finish(&mut out)?;
    Ok((id, out))
}

/// Opens an object in one call; returns the metadata and plaintext. Nothing is
/// returned unless the whole object verified. A file key needs the name:
/// [`open_named`].
pub fn open(secret: &Secret, object: &[u8]) -> Result<(Metadata, Vec<u8>)> {
    open_with(Opener::new(secret.clone()), object)
}

/// As [`open`], for the object called `name`: `NameMismatch` unless the
/// object is that one.
pub fn open_named(
    secret: &Secret,
    name: &ObjectName,
    object: &[u8],
) -> Result<(Metadata, Vec<u8>)> {
    let mut opener = Opener::new(secret.clone());
    opener.expect_name(*name)?;
    open_with(opener, object)
}

fn open_with(mut opener: Opener, object: &[u8]) -> Result<(Metadata, Vec<u8>)> {
    let mut out = Vec::with_capacity(object.len());
    let result = opener
        .push(object, &mut out)
        .and_then(|()| opener.finish(&mut out));
    match result {
        Ok(metadata) => Ok((metadata, out)),
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut out);
            Err(e)
        }
    }
}

/// Random access: opens a plaintext byte range by touching only the segments
/// covering it. Build it from the object's first bytes (at least the preamble
/// and payload header; [`crate::format::MAX_PREAMBLE_SIZE`] + 40 always
/// suffices) and the object's total length.
///
/// What a ranged read guarantees: every byte returned is from a segment
/// that verified under the object's file key at its position, in an object
/// whose preamble verified (key commitment, signer certified by the id,
/// metadata). It does not check the signature, which covers the whole
/// object: a holder of the file key (a share link) could have substituted
/// segments. Against anyone else, it is as strong as a full read.
pub struct RangeOpener {
    cipher: SegmentCipher,
    preamble_len: u64,
    plaintext_len: u64,
    metadata: Metadata,
}

impl RangeOpener {
    /// Verifies the key against the preamble and prepares the segment
    /// cipher; `name` as for [`Opener::expect_name`] (a file key needs it).
    pub fn new(
        secret: &Secret,
        name: Option<&ObjectName>,
        object_head: &[u8],
        object_len: u64,
    ) -> Result<Self> {
        require_name(secret, name)?;
        let (preamble, len) = Preamble::parse(object_head)?.ok_or(Error::Truncated)?;
        if let Some(name) = name {
            preamble.check_name(name)?;
        }
        // FORMAT.md §6's order: the preamble's checks, then the header.
        let aad = preamble.to_bytes();
        let opened = open_preamble(secret, preamble, len)?;
        let header: &[u8; stream::HEADER_SIZE] = object_head
            .get(len..len + stream::HEADER_SIZE)
            .ok_or(Error::Truncated)?
            .try_into()
            .expect("header length");
        let header = Header::parse(header)?;
        let payload_len = object_len
            .checked_sub((len + SIGNATURE_SIZE) as u64)
            .ok_or(Error::Truncated)?;
        let plaintext_len = layout::plaintext_len(payload_len)?;
        if opened
            .metadata
            .size
            .is_some_and(|size| size != plaintext_len)
        {
            return Err(Error::Corrupt);
        }
        Ok(Self {
            cipher: SegmentCipher::new(&opened.file_key.payload_key(), &header, &aad),
            preamble_len: len as u64,
            plaintext_len,
            metadata: opened.metadata,
        })
    }

    /// The sealed metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Plaintext length of the object.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// Segments covering plaintext `range` (clamped to the object).
    pub fn segments_for(&self, range: Range<u64>) -> Range<u64> {
        let count = layout::segment_count(self.plaintext_len);
        let end = range.end.min(self.plaintext_len);
        if range.start >= end {
            let at = layout::segment_at(range.start.min(self.plaintext_len)).min(count - 1);
            return at..at + 1;
        }
        layout::segment_at(range.start)..layout::segment_at(end - 1) + 1
    }

    /// Byte range in the object holding `segments`: what to fetch (an HTTP Range).
    pub fn object_range(&self, segments: Range<u64>) -> Range<u64> {
        let count = layout::segment_count(self.plaintext_len);
        let start = self.preamble_len + layout::payload_offset(segments.start);
        let end = if segments.end >= count {
            self.preamble_len + layout::payload_len(self.plaintext_len)
        } else {
            self.preamble_len + layout::payload_offset(segments.end)
        };
        start..end
    }

    /// How to open `segments` from the object bytes
    /// [`RangeOpener::object_range`] names for them: one step per segment,
    /// each a [`Piece::Chunk`] at its offset in those bytes (where segments
    /// end is the layout's rule, as for the machines), and where plaintext
    /// `range` lies in the steps' output laid end to end.
    fn steps(&self, range: Range<u64>, segments: Range<u64>) -> Result<(Vec<Step>, Range<usize>)> {
        let count = layout::segment_count(self.plaintext_len);
        if segments.end > count || segments.start >= segments.end {
            return Err(Error::InvalidInput("segments out of range"));
        }
        let fetched = self.object_range(segments.clone());
        let fetched_len = (fetched.end - fetched.start) as usize;
        let mut steps = Vec::with_capacity((segments.end - segments.start) as usize);
        let mut at = 0;
        for index in segments.clone() {
            let last = index + 1 == count;
            let len = if last {
                fetched_len - at
            } else {
                layout::ciphertext_capacity(index)
            };
            steps.push(Step::Segment {
                nonce: self.cipher.nonce(index, last)?,
                from: Some((Piece::Chunk, at)),
                len,
            });
            at += len;
        }
        let produced = (fetched_len - steps.len() * TAG_SIZE) as u64;
        let base = layout::plaintext_offset(segments.start);
        let start = range.start.max(base) - base;
        let end = (range.end.min(self.plaintext_len).saturating_sub(base)).min(produced);
        Ok((steps, start.min(end) as usize..end as usize))
    }

    /// Opens `segments` from their ciphertext (as fetched from
    /// [`RangeOpener::object_range`]) and returns plaintext `range` out of
    /// them. Every segment is authenticated; the plaintext of all of them is
    /// wiped once the range is copied out.
    pub fn open(
        &self,
        range: Range<u64>,
        segments: Range<u64>,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        let (steps, keep) = self.steps(range, segments.clone())?;
        let expected = self.object_range(segments);
        if ciphertext.len() as u64 != expected.end - expected.start {
            return Err(Error::Truncated);
        }
        let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        run_steps(&steps, &[], ciphertext, &mut Vec::new(), |nonce, bytes| {
            self.cipher.open_to(nonce, bytes, &mut plain)
        })?;
        Ok(plain[keep].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::RootKey;
    use crate::stream::{FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE};

    fn sealer() -> Sealer {
        let secret = Secret::Root(RootKey::generate().unwrap());
        Sealer::new(&secret, &Metadata::default()).unwrap()
    }

    fn plaintext(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn ledger_edges_an_empty_run_and_a_last_segment_claimed_too_early() {
        let d = |i: u8| [i; 32];
        let mut ledger = SegmentLedger::new();
        assert!(ledger.is_empty());
        // An empty run records nothing, even when it says it ends the object.
        ledger.record_digests(3, &[], true).unwrap();
        assert!(ledger.is_empty());
        // ... so segments past index 2 are still welcome.
        ledger.record_digests(3, &[d(3), d(4)], false).unwrap();
        ledger
            .record_digests(0, &[d(0), d(1), d(2)], false)
            .unwrap();
        assert!(!ledger.is_empty() && ledger.len() == 5);
        // The last segment cannot come before segments already sealed...
        assert!(ledger.record_digests(0, &[d(0), d(1)], true).is_err());
        // ... but may be the one that ends them.
        ledger.record_digests(4, &[d(4)], true).unwrap();
        assert_eq!(ledger.in_order().unwrap().len(), 5);
    }

    #[test]
    fn randomness_round_trips_through_its_bytes_in_order() {
        let r = Randomness {
            signing_salt: [1; 32],
            header: Header {
                salt: [2; 32],
                nonce_prefix: [3; 7],
            },
            metadata_nonce: [4; 12],
        };
        let bytes = r.to_bytes();
        assert_eq!(&bytes[..32], &[1; 32]);
        assert_eq!(&bytes[32..64], &[2; 32]);
        assert_eq!(&bytes[64..71], &[3; 7]);
        assert_eq!(&bytes[71..], &[4; 12]);
        assert_eq!(Randomness::from_bytes(&bytes).unwrap(), r);
        assert!(Randomness::from_bytes(&bytes[1..]).is_err());
    }

    #[test]
    fn the_head_and_segment_key_are_what_the_stream_uses() {
        let sealer = sealer();
        assert_eq!(sealer.head_len(), sealer.head().len() as u64);
        // An outside engine with segment_key seals what segment_cipher seals.
        let plain = plaintext(1000);
        let cipher = sealer.segment_cipher();
        let outside = SegmentCipher::with_key(&sealer.segment_key(), &sealer.randomness().header);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        cipher.seal_to(cipher.nonce(0, true).unwrap(), &plain, &mut a);
        outside.seal_to(outside.nonce(0, true).unwrap(), &plain, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn the_sealer_holds_the_owners_delete_token_and_a_recipient_upload_none() {
        for secret in [
            Secret::Root(RootKey::from_bytes([5; 32])),
            Secret::passphrase("correct horse battery staple").unwrap(),
        ] {
            let sealer = Sealer::new(&secret, &Metadata::default()).unwrap();
            let expected = secret.delete_token(&sealer.object_name()).unwrap();
            assert_eq!(sealer.delete_token(), Some(&expected));
        }
        let identity = crate::recipient::Identity::generate().unwrap();
        let sealer = Sealer::for_recipient(&identity.recipient(), &Metadata::default()).unwrap();
        assert_eq!(sealer.delete_token(), None);
    }

    #[test]
    fn ledger_allows_identical_retries_and_refuses_other_bytes_under_one_index() {
        let sealer = sealer();
        let (first, seg) = (FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE);
        let plain = plaintext(first + 2 * seg + 3);
        let mut other = plain.clone();
        other[first + seg + 1] ^= 1; // in segment 2 only
        let mut ledger = SegmentLedger::new();
        let mut a = Vec::new();
        sealer
            .seal_segments_once(&mut ledger, 0, &plain[..first + seg], false, &mut a)
            .unwrap();
        assert_eq!(ledger.len(), 2);
        let mut again = Vec::new();
        sealer
            .seal_segments_once(&mut ledger, 0, &plain[..first + seg], false, &mut again)
            .unwrap();
        assert_eq!(a, again, "a retry is byte-identical");

        // Segment 2 first sealed over `other`; the same index over `plain`
        // is then refused, inside a run too, and nothing is appended.
        let mut b = vec![0xaa; 3];
        sealer
            .seal_segments_once(&mut ledger, 2, &other[first + seg..], true, &mut b)
            .unwrap();
        let mut c = vec![0xbb; 5];
        let err = sealer
            .seal_segments_once(&mut ledger, 1, &plain[first..], true, &mut c)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(m) if m.contains("already sealed")));
        assert_eq!(c, vec![0xbb; 5], "the refused run released nothing");
        assert_eq!(ledger.len(), 4, "segments 0-3");
        // The last-segment flag is part of the nonce and of the tag: segment 0
        // sealed as the last one is other bytes under the same index.
        let mut d = Vec::new();
        assert!(
            sealer
                .seal_segments_once(&mut ledger, 0, &plain[..first], true, &mut d)
                .is_err()
        );
        assert!(d.is_empty());
    }

    #[test]
    fn ledger_records_nothing_from_a_refused_run_and_out_of_order_runs_work() {
        let sealer = sealer();
        let (first, seg) = (FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE);
        let plain = plaintext(first + 3 * seg);
        let mut ledger = SegmentLedger::new();
        let mut out = Vec::new();
        // Parts in any order: 3, then 1, then 0 and 2.
        for (index, range) in [
            (3u64, first + 2 * seg..first + 3 * seg),
            (1, first..first + seg),
            (0, 0..first),
        ] {
            let last = index == 3;
            sealer
                .seal_segments_once(&mut ledger, index, &plain[range], last, &mut out)
                .unwrap();
        }
        let mut changed = plain[first..first + 2 * seg].to_vec();
        changed[0] ^= 1; // segment 1 differs, segment 2 is new
        let mut refused = Vec::new();
        assert!(
            sealer
                .seal_segments_once(&mut ledger, 1, &changed, false, &mut refused)
                .is_err()
        );
        assert_eq!(
            ledger.len(),
            3,
            "segment 2 was not recorded by the refused run"
        );
        let mut two = Vec::new();
        sealer
            .seal_segments_once(
                &mut ledger,
                2,
                &plain[first + seg..first + 2 * seg],
                false,
                &mut two,
            )
            .unwrap();
        assert_eq!(ledger.len(), 4);
        // Malformed runs are refused by the sealer before the ledger sees them.
        assert!(
            sealer
                .seal_segments_once(&mut ledger, 1, &plain[..10], false, &mut Vec::new())
                .is_err()
        );
        assert!(
            sealer
                .seal_segments_once(&mut ledger, 1 << 32, &plain[..10], true, &mut Vec::new())
                .is_err()
        );
        assert_eq!(ledger.len(), 4);
    }

    #[test]
    fn ledger_checks_every_byte_of_each_segment_and_knows_the_last() {
        let mut ledger = SegmentLedger::new();
        let seg0 = layout::ciphertext_capacity(0);
        let mut sealed = vec![1u8; seg0 + 20];
        ledger.record(0, &sealed, true).unwrap();
        ledger.record(0, &sealed, true).unwrap();
        // Any byte counts, not only the tag (a file-key holder can forge tags).
        sealed[5] ^= 1;
        assert!(ledger.record(0, &sealed, true).is_err());
        sealed[5] ^= 1;
        assert_eq!(ledger.in_order().unwrap().len(), 2);
        // The last segment is index 1 for good: nothing after it, and no
        // other index may claim to end the object.
        assert!(ledger.record(2, &[7u8; 20], true).is_err());
        assert!(ledger.record(2, &[7u8; 20], false).is_err());
        assert!(ledger.record(0, &sealed[..seg0], true).is_err());
        assert_eq!(ledger.len(), 2);

        let mut gaps = SegmentLedger::new();
        gaps.record(2, &[7u8; 20], true).unwrap();
        assert!(gaps.in_order().is_err(), "segments 0 and 1 missing");
        assert!(
            gaps.record(3, &[7u8; 20], false).is_err(),
            "past the last segment"
        );
        let mut open_end = SegmentLedger::new();
        open_end.record(0, &sealed[..seg0], false).unwrap();
        assert!(open_end.in_order().is_err(), "the last segment is missing");
        assert!(SegmentLedger::new().is_empty());
    }

    #[test]
    fn parts_sealed_out_of_order_sign_like_the_stream() {
        let secret = Secret::Root(RootKey::from_bytes([4; 32]));
        let random = Randomness {
            signing_salt: [1; 32],
            header: Header {
                salt: [2; 32],
                nonce_prefix: [3; 7],
            },
            metadata_nonce: [4; 12],
        };
        let meta = Metadata::default();
        let sealer = Sealer::with_randomness(&secret, &meta, random).unwrap();
        let (first, seg) = (FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE);
        let plain = plaintext(first + seg + 9);
        let mut streamed = Vec::new();
        let mut stream = sealer.clone().into_stream();
        stream.push(&plain, &mut streamed).unwrap();
        stream.finish(&mut streamed).unwrap();

        let mut ledger = SegmentLedger::new();
        let (mut tail, mut head) = (Vec::new(), Vec::new());
        sealer
            .seal_segments_once(&mut ledger, 1, &plain[first..], true, &mut tail)
            .unwrap();
        assert!(sealer.signature(&ledger).is_err(), "segment 0 is missing");
        sealer
            .seal_segments_once(&mut ledger, 0, &plain[..first], false, &mut head)
            .unwrap();
        let mut parts = sealer.head();
        parts.extend_from_slice(&head);
        parts.extend_from_slice(&tail);
        parts.extend_from_slice(&sealer.signature(&ledger).unwrap());
        assert_eq!(parts, streamed);
        assert_eq!(parts.len() as u64, sealer.object_len(plain.len() as u64));
        assert_eq!(open(&secret, &parts).unwrap().1, plain);
    }

    #[test]
    fn opened_parts_are_shown_only_once_the_preamble_verified() {
        let secret = Secret::Root(RootKey::from_bytes([9; 32]));
        let metadata = Metadata {
            name: "report.txt".into(),
            media_type: "text/plain".into(),
            size: Some(100),
        };
        let (id, object) = seal(&secret, &metadata, &plaintext(100)).unwrap();
        let mut opener = Opener::new(secret.clone());
        let mut out = Vec::new();
        opener.push(&object[..8], &mut out).unwrap();
        assert!(opener.metadata().is_none() && opener.preamble().is_none());
        assert!(opener.file_key().is_none());
        opener.push(&object[8..], &mut out).unwrap();
        assert_eq!(opener.metadata(), Some(&metadata));
        assert_eq!(opener.preamble().unwrap().object_id, id);
        assert!(opener.file_key().is_some());
        let range = RangeOpener::new(&secret, None, &object, object.len() as u64).unwrap();
        assert_eq!(range.metadata(), &metadata);
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_named_in_the_refusal() {
        let root = Secret::Root(RootKey::from_bytes([9; 32]));
        let (_, object) = seal(&root, &Metadata::default(), b"x").unwrap();
        let mut opener = Opener::new(Secret::passphrase("correct horse battery staple").unwrap());
        let refusal = opener.push(&object, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(refusal, Error::KeySource(m) if m.contains("root key, not a passphrase")),
            "{refusal:?}"
        );
    }

    #[test]
    fn range_steps_name_each_segment_and_the_plaintext_to_keep() {
        let secret = Secret::Root(RootKey::from_bytes([9; 32]));
        let (first, seg) = (FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE);
        let plain = plaintext(first + 2 * seg + 100);
        let (_, object) = seal(&secret, &Metadata::default(), &plain).unwrap();
        let reader = RangeOpener::new(&secret, None, &object, object.len() as u64).unwrap();
        let len = plain.len() as u64;
        let edge = (first + seg) as u64;
        for range in [
            0..1,
            5..len,
            edge - 3..edge + 3,
            edge..edge + 1,
            len - 1..len + 9,
        ] {
            let segments = reader.segments_for(range.clone());
            let fetched = reader.object_range(segments.clone());
            let bytes = &object[fetched.start as usize..fetched.end as usize];
            let (steps, keep) = reader.steps(range.clone(), segments.clone()).unwrap();
            assert_eq!(steps.len() as u64, segments.end - segments.start);
            let mut out = Vec::new();
            run_steps(&steps, &[], bytes, &mut Vec::new(), |nonce, sealed| {
                reader.cipher.open_to(nonce, sealed, &mut out)
            })
            .unwrap();
            let want = &plain[range.start as usize..(range.end.min(len)) as usize];
            assert_eq!(&out[keep], want, "{range:?}");
            let native = reader.open(range.clone(), segments, bytes).unwrap();
            assert_eq!(native, want, "{range:?}");
        }
    }

    #[test]
    fn a_range_at_or_past_the_end_maps_to_the_last_segment() {
        let secret = Secret::Root(RootKey::from_bytes([9; 32]));
        let (first, seg) = (FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE);
        // Lengths at and around a segment's end; those that fill their last
        // segment exactly have an end offset that would start a segment the
        // object does not have.
        for len in [0, 1, first, first + 1, first + seg] {
            let (_, object) = seal(&secret, &Metadata::default(), &plaintext(len)).unwrap();
            let range = RangeOpener::new(&secret, None, &object, object.len() as u64).unwrap();
            let last = layout::segment_count(len as u64) - 1;
            let len = len as u64;
            for past in [len..len, len + 5..len + 9] {
                let segments = range.segments_for(past.clone());
                assert_eq!(segments, last..last + 1, "length {len}");
                let fetched = range.object_range(segments.clone());
                let bytes = &object[fetched.start as usize..fetched.end as usize];
                assert!(range.open(past, segments, bytes).unwrap().is_empty());
            }
            // Segments the object lacks, or none, are the caller's error.
            let count = last + 1;
            let whole = range.object_range(0..count);
            let all = &object[whole.start as usize..whole.end as usize];
            for wrong in [0..count + 1, count..count, 0..0] {
                let refusal = range.open(0..len, wrong.clone(), all).unwrap_err();
                assert!(
                    matches!(refusal, Error::InvalidInput(_)),
                    "{wrong:?}: {refusal:?}"
                );
            }
        }
    }
}
