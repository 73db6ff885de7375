//! The payload: Google Tink's AES-GCM-HKDF streaming ciphertext (AES-256,
//! HKDF-SHA256, 256 KiB ciphertext segments), byte for byte.
//!
//! ```text
//! payload   = header ‖ segment_0 ‖ … ‖ segment_{n-1}
//! header    = 0x28 (its own length, 40) ‖ salt (32) ‖ nonce prefix (7)
//! key       = HKDF-SHA256(ikm = payload key, salt = salt, info = associated data)
//! segment_i = AES-256-GCM(key, nonce_i, M_i, aad = "") (ciphertext ‖ 16-byte tag)
//! nonce_i   = nonce prefix ‖ u32be(i) ‖ (0x01 if last else 0x00)
//! ```
//! Segment 0 holds `SEGMENT_SIZE - 40 - 16` plaintext bytes, every other one
//! `SEGMENT_SIZE - 16`; all but the last are full, and only a lone first
//! segment may be empty. The last-segment flag in the nonce is what makes
//! truncation at a segment boundary detectable.
//!
//! [`SegmentCipher`] is the in-place core; [`Cutter`] says where segments
//! end in a stream of chunks, for the seal and open state machines
//! (`crate::machine`).

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Tag};
use core::ops::Range;
use hkdf::Hkdf;
use sha2::Sha256;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::KEY_SIZE;

/// Ciphertext segment size in bytes (Tink's `ciphertext_segment_size`). 256 KiB:
/// WebCrypto AES-GCM in Chromium peaks at this call size.
pub const SEGMENT_SIZE: usize = 256 * 1024;
/// AES-GCM tag size in bytes.
pub const TAG_SIZE: usize = 16;
/// Length of the random salt in the payload header, in bytes (= AES-256 key size).
pub const SALT_SIZE: usize = 32;
/// Length of the random nonce prefix in the payload header, in bytes.
pub const NONCE_PREFIX_SIZE: usize = 7;
/// Length of the payload header in bytes: length byte, salt, nonce prefix.
pub const HEADER_SIZE: usize = 1 + SALT_SIZE + NONCE_PREFIX_SIZE;
/// Plaintext bytes in every segment but the first, in bytes.
pub const PLAINTEXT_SEGMENT_SIZE: usize = SEGMENT_SIZE - TAG_SIZE;
/// Plaintext bytes in the first segment (it shares its 256 KiB with the header).
pub const FIRST_PLAINTEXT_SEGMENT_SIZE: usize = SEGMENT_SIZE - HEADER_SIZE - TAG_SIZE;
/// Most segments an object can have: the segment number is 32 bits.
pub const MAX_SEGMENTS: u64 = 1 << 32;

/// A segment nonce. It can only be built for a segment number that fits the
/// format (32 bits), and a sequence of them only advances until the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce {
    prefix: [u8; NONCE_PREFIX_SIZE],
    index: u32,
    last: bool,
}

impl Nonce {
    /// The nonce of segment `index`.
    pub fn new(prefix: [u8; NONCE_PREFIX_SIZE], index: u64, last: bool) -> Result<Self> {
        let index =
            u32::try_from(index).map_err(|_| Error::InvalidInput("more than 2^32 segments"))?;
        Ok(Self {
            prefix,
            index,
            last,
        })
    }

    /// The nonce of the next segment; refuses after the last one and at the end
    /// of the 32-bit counter.
    pub fn next(self, last: bool) -> Result<Self> {
        if self.last {
            return Err(Error::InvalidInput("no segment may follow the last one"));
        }
        let index = self
            .index
            .checked_add(1)
            .ok_or(Error::InvalidInput("more than 2^32 segments"))?;
        Ok(Self {
            index,
            last,
            ..self
        })
    }

    /// The segment number.
    pub fn index(&self) -> u64 {
        u64::from(self.index)
    }

    /// Whether it is the last segment's.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// The 12 nonce bytes.
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..NONCE_PREFIX_SIZE].copy_from_slice(&self.prefix);
        out[NONCE_PREFIX_SIZE..11].copy_from_slice(&self.index.to_be_bytes());
        out[11] = u8::from(self.last);
        out
    }
}

/// The payload header: a random salt and nonce prefix, chosen once per object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// HKDF salt of the per-object AES key.
    pub salt: [u8; SALT_SIZE],
    /// First 7 bytes of every segment nonce.
    pub nonce_prefix: [u8; NONCE_PREFIX_SIZE],
}

impl Header {
    /// A header with fresh random salt and nonce prefix.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            salt: crate::key::random_bytes()?,
            nonce_prefix: crate::key::random_bytes()?,
        })
    }

    /// The 40 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[0] = HEADER_SIZE as u8;
        out[1..1 + SALT_SIZE].copy_from_slice(&self.salt);
        out[1 + SALT_SIZE..].copy_from_slice(&self.nonce_prefix);
        out
    }

    /// Parses the 40 header bytes; a wrong length byte is corruption.
    pub fn parse(bytes: &[u8; HEADER_SIZE]) -> Result<Self> {
        if usize::from(bytes[0]) != HEADER_SIZE {
            return Err(Error::Corrupt);
        }
        let mut salt = [0u8; SALT_SIZE];
        salt.copy_from_slice(&bytes[1..1 + SALT_SIZE]);
        let mut nonce_prefix = [0u8; NONCE_PREFIX_SIZE];
        nonce_prefix.copy_from_slice(&bytes[1 + SALT_SIZE..]);
        Ok(Self { salt, nonce_prefix })
    }
}

/// Segment arithmetic of a payload, shared by the sealer, the opener, random
/// access and multipart planning.
pub mod layout {
    use super::*;

    /// Plaintext bytes a full segment `index` holds.
    pub fn plaintext_capacity(index: u64) -> usize {
        if index == 0 {
            FIRST_PLAINTEXT_SEGMENT_SIZE
        } else {
            PLAINTEXT_SEGMENT_SIZE
        }
    }

    /// Ciphertext bytes a full segment `index` takes.
    pub fn ciphertext_capacity(index: u64) -> usize {
        plaintext_capacity(index) + TAG_SIZE
    }

    /// Number of segments for `plaintext_len` bytes (at least one).
    pub fn segment_count(plaintext_len: u64) -> u64 {
        let first = FIRST_PLAINTEXT_SEGMENT_SIZE as u64;
        if plaintext_len <= first {
            1
        } else {
            1 + (plaintext_len - first).div_ceil(PLAINTEXT_SEGMENT_SIZE as u64)
        }
    }

    /// Plaintext offset where segment `index` starts.
    pub fn plaintext_offset(index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            FIRST_PLAINTEXT_SEGMENT_SIZE as u64 + (index - 1) * PLAINTEXT_SEGMENT_SIZE as u64
        }
    }

    /// Payload offset where segment `index` starts (after the header for 0).
    pub fn payload_offset(index: u64) -> u64 {
        if index == 0 {
            HEADER_SIZE as u64
        } else {
            index * SEGMENT_SIZE as u64
        }
    }

    /// The segment holding plaintext byte `offset`.
    pub fn segment_at(offset: u64) -> u64 {
        let first = FIRST_PLAINTEXT_SEGMENT_SIZE as u64;
        if offset < first {
            0
        } else {
            1 + (offset - first) / PLAINTEXT_SEGMENT_SIZE as u64
        }
    }

    /// Payload length for `plaintext_len` bytes of plaintext.
    pub fn payload_len(plaintext_len: u64) -> u64 {
        HEADER_SIZE as u64 + plaintext_len + TAG_SIZE as u64 * segment_count(plaintext_len)
    }

    /// Plaintext length of a payload of `payload_len` bytes; `Corrupt` if no
    /// valid payload has that length.
    pub fn plaintext_len(payload_len: u64) -> Result<u64> {
        let tag = TAG_SIZE as u64;
        let body = payload_len
            .checked_sub(HEADER_SIZE as u64)
            .ok_or(Error::Corrupt)?;
        let first = (SEGMENT_SIZE - HEADER_SIZE) as u64;
        if body < tag {
            return Err(Error::Corrupt);
        }
        if body <= first {
            return Ok(body - tag);
        }
        let rest = body - first;
        let full = rest / SEGMENT_SIZE as u64;
        let partial = rest % SEGMENT_SIZE as u64;
        // A last segment other than the first is never empty.
        if partial != 0 && partial <= tag {
            return Err(Error::Corrupt);
        }
        let count = 1 + full + u64::from(partial != 0);
        if count > MAX_SEGMENTS {
            return Err(Error::Corrupt);
        }
        Ok(body - tag * count)
    }
}

/// The per-object AES-256-GCM key and nonce prefix: seals and opens any one
/// segment on its own, in place. Deterministic, so a segment sealed twice
/// (a retried upload part) is byte-identical.
#[derive(Clone)]
pub struct SegmentCipher {
    aes: Aes256Gcm,
    nonce_prefix: [u8; NONCE_PREFIX_SIZE],
}

impl SegmentCipher {
    /// The per-object AES-256 key: HKDF-SHA256(payload key, salt, info =
    /// associated data). Public for external AES-GCM engines (WebCrypto in
    /// the browser), which must produce the same bytes as this one.
    pub fn derive_key(
        payload_key: &[u8; KEY_SIZE],
        header: &Header,
        associated_data: &[u8],
    ) -> Zeroizing<[u8; KEY_SIZE]> {
        let mut key = Zeroizing::new([0u8; KEY_SIZE]);
        Hkdf::<Sha256>::new(Some(&header.salt), payload_key)
            .expand(associated_data, key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// Derives the per-object key ([`SegmentCipher::derive_key`]).
    pub fn new(payload_key: &[u8; KEY_SIZE], header: &Header, associated_data: &[u8]) -> Self {
        let key = Self::derive_key(payload_key, header, associated_data);
        Self::with_key(&key, header)
    }

    /// The cipher of a key [`SegmentCipher::derive_key`] made for `header`
    /// (for a caller that also hands the key to an external engine).
    pub fn with_key(key: &[u8; KEY_SIZE], header: &Header) -> Self {
        Self {
            aes: Aes256Gcm::new_from_slice(key).expect("AES-256 key is 32 bytes"),
            nonce_prefix: header.nonce_prefix,
        }
    }

    /// The nonce of segment `index`.
    pub fn nonce(&self, index: u64, last: bool) -> Result<Nonce> {
        Nonce::new(self.nonce_prefix, index, last)
    }

    /// Appends the sealed segment of `plaintext` to `out`. Reads `plaintext`
    /// and writes `out` in the same pass (no separate copy).
    pub fn seal_to(&self, nonce: Nonce, plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + plaintext.len() + TAG_SIZE, 0);
        let (body, tag_out) = out[start..].split_at_mut(plaintext.len());
        let buf = InOutBuf::new(plaintext, body).expect("equal lengths");
        let tag = self
            .aes
            .encrypt_inout_detached(&nonce.to_bytes().into(), &[], buf)
            .expect("a segment is far below AES-GCM's length limit");
        tag_out.copy_from_slice(&tag);
    }

    /// Appends the plaintext of the sealed segment `ciphertext` to `out`; on
    /// failure `out` is left as it was (the bytes written are wiped first).
    pub fn open_to(&self, nonce: Nonce, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let len = ciphertext
            .len()
            .checked_sub(TAG_SIZE)
            .ok_or(Error::Corrupt)?;
        let (body, tag) = ciphertext.split_at(len);
        let tag = Tag::try_from(tag).expect("tag is 16 bytes");
        let start = out.len();
        out.resize(start + len, 0);
        let buf = InOutBuf::new(body, &mut out[start..]).expect("equal lengths");
        match self
            .aes
            .decrypt_inout_detached(&nonce.to_bytes().into(), &[], buf, &tag)
        {
            Ok(()) => Ok(()),
            Err(_) => {
                discard_from(out, start);
                Err(Error::Corrupt)
            }
        }
    }

    /// Seals segments `first..` from their concatenated plaintext, on its own:
    /// `plaintext` must hold whole segments, the last of which may be short
    /// only if `ends_object`. This is what a multipart part is made of. On
    /// an error `out` is as it was.
    pub fn seal_segments(
        &self,
        first: u64,
        plaintext: &[u8],
        ends_object: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        self.seal_segments_to(first, plaintext, ends_object, out)
            .inspect_err(|_| discard_from(out, start))
    }

    fn seal_segments_to(
        &self,
        first: u64,
        plaintext: &[u8],
        ends_object: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut rest = plaintext;
        let mut index = first;
        while rest.len() > layout::plaintext_capacity(index) {
            let cap = layout::plaintext_capacity(index);
            self.seal_to(self.nonce(index, false)?, &rest[..cap], out);
            rest = &rest[cap..];
            index += 1;
        }
        if ends_object {
            if rest.is_empty() && index != 0 {
                return Err(Error::InvalidInput(
                    "only a lone first segment may be empty",
                ));
            }
        } else if rest.len() != layout::plaintext_capacity(index) {
            return Err(Error::InvalidInput(
                "a part must hold whole segments unless it ends the object",
            ));
        }
        self.seal_to(self.nonce(index, ends_object)?, rest, out);
        Ok(())
    }
}

/// Where segment boundaries fall in a stream of chunks. Pure arithmetic, so
/// every push adapter cuts the same way wherever its bytes live (wasm
/// memory here, JS memory for WebCrypto). A full segment is released only
/// once a byte after it arrives: whether it is the last is part of its
/// nonce, so the last one stays held until the stream ends.
#[derive(Debug, Clone)]
pub(crate) struct Cutter {
    capacity: fn(u64) -> usize,
    index: u64,
    held: usize,
}

/// One step of a [`Cutter`] through a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Append the chunk's next `len` bytes to the held segment, at `offset`.
    Hold {
        /// Where they go in the held segment.
        offset: usize,
        /// How many.
        len: usize,
    },
    /// The held segment (`len` bytes) is segment `index`, complete and not
    /// the last; nothing is held any more.
    Release {
        /// Segment number.
        index: u64,
        /// Its length.
        len: usize,
    },
    /// The chunk's next `len` bytes are all of segment `index`, not the last
    /// (nothing was held): use them in place.
    Whole {
        /// Segment number.
        index: u64,
        /// Its length.
        len: usize,
    },
}

impl Cutter {
    /// Cuts plaintext into the segments of a payload.
    pub fn plaintext() -> Self {
        Self::with_capacity(layout::plaintext_capacity)
    }

    /// Cuts a payload (after its header) into sealed segments.
    pub fn ciphertext() -> Self {
        Self::with_capacity(layout::ciphertext_capacity)
    }

    fn with_capacity(capacity: fn(u64) -> usize) -> Self {
        Self {
            capacity,
            index: 0,
            held: 0,
        }
    }

    /// Number of the segment held (at the end: of the last segment), which
    /// is also the number of segments released so far.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Whether the held segment is complete: it is released by the next
    /// byte, or is the last.
    pub fn held_complete(&self) -> bool {
        self.held == (self.capacity)(self.index)
    }

    /// The next step with `remaining` bytes of the chunk left; `None` once
    /// the chunk is used up.
    pub fn next(&mut self, remaining: usize) -> Option<Cut> {
        if remaining == 0 {
            return None;
        }
        let cap = (self.capacity)(self.index);
        let index = self.index;
        Some(if self.held == cap {
            self.held = 0;
            self.index += 1;
            Cut::Release { index, len: cap }
        } else if self.held == 0 && remaining > cap {
            self.index += 1;
            Cut::Whole { index, len: cap }
        } else {
            let offset = self.held;
            let len = remaining.min(cap - offset);
            self.held += len;
            Cut::Hold { offset, len }
        })
    }
}

/// Wipes and drops what a failed call appended to `out` from `start` on,
/// leaving it as it was (volatile writes: a plain fill before the truncate
/// is a dead store the optimiser may drop).
pub(crate) fn discard_from(out: &mut Vec<u8>, start: usize) {
    zeroize::Zeroize::zeroize(&mut out[start..]);
    out.truncate(start);
}

/// Whether a last segment of `len` stored bytes may end the object as
/// segment `index`: only a lone first segment may be empty (FORMAT.md §5.1).
pub(crate) fn final_segment_allowed(index: u64, len: usize) -> bool {
    index == 0 || len > TAG_SIZE
}

/// One try of [`end_probes`]: open bytes `range` of the rest as segment
/// `.0` with last flag `.1`.
pub(crate) type EndProbe = (u64, bool, Range<usize>);

/// Why an object's end did not open (FORMAT.md §5.3 step 5), for every
/// reader whatever its engine: the rest `R` (`rest_len` bytes after the last
/// segment released as not the last, segment `index` on) is tried as each
/// alternative in turn, `(segment, last flag, bytes of R)` each; the first
/// whose every segment opens gives its verdict, and none gives `Corrupt`.
/// An empty `R` has nothing to try: `Truncated`.
pub(crate) fn end_probes(index: u64, rest_len: usize) -> Vec<(Error, Vec<EndProbe>)> {
    if rest_len == 0 {
        return vec![(Error::Truncated, Vec::new())];
    }
    let cap = layout::ciphertext_capacity(index);
    let mut alternatives = Vec::new();
    // Cut at a segment boundary: a whole segment that is not the last.
    if rest_len == cap {
        alternatives.push((Error::Truncated, vec![(index, false, 0..rest_len)]));
    }
    // The object's last segment(s), whole, and no signature after them.
    if final_segment_allowed(index, rest_len) {
        alternatives.push((Error::BadSignature, vec![(index, true, 0..rest_len)]));
    }
    if rest_len > cap + TAG_SIZE {
        alternatives.push((
            Error::BadSignature,
            vec![(index, false, 0..cap), (index + 1, true, cap..rest_len)],
        ));
    }
    alternatives
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Header = Header {
        salt: [7; SALT_SIZE],
        nonce_prefix: [9; NONCE_PREFIX_SIZE],
    };

    #[test]
    fn a_cipher_from_the_derived_key_is_the_derived_cipher() {
        let header = HEADER;
        let (payload_key, aad) = ([5; KEY_SIZE], b"preamble");
        let key = SegmentCipher::derive_key(&payload_key, &header, aad);
        let nonce = Nonce::new(header.nonce_prefix, 3, true).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        SegmentCipher::new(&payload_key, &header, aad).seal_to(nonce, b"segment", &mut a);
        SegmentCipher::with_key(&key, &header).seal_to(nonce, b"segment", &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn seal_segments_refuses_what_no_sealer_writes_and_leaves_out_as_it_was() {
        let header = HEADER;
        let cipher = SegmentCipher::new(&[5; KEY_SIZE], &header, b"preamble");
        let first = FIRST_PLAINTEXT_SEGMENT_SIZE;
        let plain = vec![3u8; first + 5];
        // The empty object: one empty first segment.
        let mut out = Vec::new();
        cipher.seal_segments(0, &[], true, &mut out).unwrap();
        assert_eq!(out.len(), TAG_SIZE);
        let refused: [(u64, &[u8], bool); 3] = [
            // An empty last segment after others (FORMAT.md §5.1).
            (1, &[], true),
            // A part that does not end the object ends mid-segment, after
            // a whole segment was sealed.
            (0, &plain[..], false),
            (1, &plain[..5], false),
        ];
        for (first, plaintext, ends_object) in refused {
            let mut out = b"kept".to_vec();
            let sealed = cipher.seal_segments(first, plaintext, ends_object, &mut out);
            assert!(matches!(sealed, Err(Error::InvalidInput(_))), "{first}");
            assert_eq!(out, b"kept");
        }
    }

    #[test]
    fn cutter_holds_a_segment_that_ends_its_chunk_until_more_comes() {
        let mut cutter = Cutter::plaintext();
        let first = FIRST_PLAINTEXT_SEGMENT_SIZE;
        // Complete, but the chunk ends with it: it may be the last.
        assert_eq!(
            cutter.next(first),
            Some(Cut::Hold {
                offset: 0,
                len: first
            })
        );
        assert!(cutter.held_complete());
        assert_eq!(cutter.held(), first);
        assert_eq!(cutter.next(0), None);
        // One more byte makes it not the last.
        assert_eq!(
            cutter.next(1),
            Some(Cut::Release {
                index: 0,
                len: first
            })
        );
        assert!(!cutter.held_complete());
        assert_eq!(cutter.next(1), Some(Cut::Hold { offset: 0, len: 1 }));
        assert!(!cutter.held_complete());
        assert_eq!((cutter.index(), cutter.held()), (1, 1));
        // A chunk longer than the segment is cut in place.
        let mut cutter = Cutter::plaintext();
        assert_eq!(
            cutter.next(first + 1),
            Some(Cut::Whole {
                index: 0,
                len: first
            })
        );
        assert_eq!(cutter.index(), 1);
    }

    #[test]
    fn nonce_layout_and_rules() {
        let n = Nonce::new([1, 2, 3, 4, 5, 6, 7], 0x0102_0304, false).unwrap();
        assert_eq!(n.to_bytes(), [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 0]);
        assert_eq!(n.index(), 0x0102_0304);
        assert_eq!(n.next(true).unwrap().index(), 0x0102_0305);
        assert_eq!(n.next(true).unwrap().to_bytes()[7..], [1, 2, 3, 5, 1]);
        assert!(
            n.next(true).unwrap().next(false).is_err(),
            "nothing follows the last segment"
        );
        assert!(
            Nonce::new([0; 7], u64::from(u32::MAX), false)
                .unwrap()
                .next(false)
                .is_err()
        );
        assert!(Nonce::new([0; 7], 1 << 32, false).is_err());
    }

    #[test]
    fn layout_offsets_follow_the_capacities_up_to_the_segment_limit() {
        assert_eq!(layout::payload_offset(0), HEADER_SIZE as u64);
        for i in 0..5 {
            assert_eq!(
                layout::payload_offset(i + 1),
                layout::payload_offset(i) + layout::ciphertext_capacity(i) as u64,
                "segment {i}"
            );
        }
        // The most segments an object may have is a valid length; one more is not.
        let most = layout::plaintext_offset(MAX_SEGMENTS - 1) + 1;
        assert_eq!(layout::segment_count(most), MAX_SEGMENTS);
        assert_eq!(layout::plaintext_len(layout::payload_len(most)), Ok(most));
        let over = layout::plaintext_offset(MAX_SEGMENTS) + 1;
        assert_eq!(
            layout::plaintext_len(layout::payload_len(over)),
            Err(Error::Corrupt)
        );
    }

    #[test]
    fn layout_is_consistent() {
        for len in [
            0u64,
            1,
            262_087,
            262_088,
            262_089,
            524_255,
            524_256,
            524_257,
            10 << 20,
        ] {
            let count = layout::segment_count(len);
            let payload = layout::payload_len(len);
            assert_eq!(layout::plaintext_len(payload).unwrap(), len, "len {len}");
            assert_eq!(
                layout::segment_at(len.saturating_sub(1)),
                count - 1,
                "len {len}"
            );
        }
        assert_eq!(FIRST_PLAINTEXT_SEGMENT_SIZE, 262_088);
        assert_eq!(layout::segment_count(262_088), 1);
        assert_eq!(layout::segment_count(262_089), 2);
        // A payload whose last segment would hold only a tag is not valid.
        assert!(layout::plaintext_len(SEGMENT_SIZE as u64 + TAG_SIZE as u64).is_err());
        assert!(layout::plaintext_len(HEADER_SIZE as u64 + 15).is_err());
    }
}
