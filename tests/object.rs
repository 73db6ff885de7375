//! Round trips, streaming, random access and multipart segment runs.
// Native only: these tests use the file system, processes or proptest.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use s3seal::Error;
use s3seal::format::Metadata;
use s3seal::stream::{FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE, SEGMENT_SIZE, layout};
use s3seal::{Opener, RangeOpener, Sealer};
use s3seal::{RootKey, Secret};

fn root() -> Secret {
    Secret::Root(RootKey::from_bytes([0x11; 32]))
}

fn meta(size: usize) -> Metadata {
    Metadata {
        name: "file.bin".into(),
        media_type: "application/octet-stream".into(),
        size: Some(size as u64),
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}

const SIZES: &[usize] = &[
    0,
    1,
    FIRST_PLAINTEXT_SEGMENT_SIZE - 1,
    FIRST_PLAINTEXT_SEGMENT_SIZE,
    FIRST_PLAINTEXT_SEGMENT_SIZE + 1,
    FIRST_PLAINTEXT_SEGMENT_SIZE + PLAINTEXT_SEGMENT_SIZE,
    FIRST_PLAINTEXT_SEGMENT_SIZE + 3 * PLAINTEXT_SEGMENT_SIZE + 12_345,
];

#[test]
fn round_trip_at_segment_edges() {
    for &len in SIZES {
        let plain = data(len);
        let (_, sealed) = s3seal::seal(&root(), &meta(len), &plain).unwrap();
        let (m, opened) = s3seal::open(&root(), &sealed).unwrap();
        assert_eq!(opened, plain, "len {len}");
        assert_eq!(m, meta(len));
        let sealer = Sealer::new(&root(), &meta(len)).unwrap();
        assert_eq!(
            sealed.len() as u64,
            sealer.object_len(len as u64),
            "len {len}"
        );
    }
}

#[test]
fn ciphertext_is_not_plaintext_and_is_fresh_each_time() {
    let plain = data(5000);
    let (a_id, a) = s3seal::seal(&root(), &meta(5000), &plain).unwrap();
    let (b_id, b) = s3seal::seal(&root(), &meta(5000), &plain).unwrap();
    assert_ne!(a_id, b_id);
    assert_ne!(a, b);
    assert!(!a.windows(64).any(|w| w == &plain[1000..1064]));
    assert!(
        !a.windows(8).any(|w| w == b"file.bin"),
        "the filename is sealed"
    );
}

#[test]
fn wrong_key_is_distinct_and_releases_nothing() {
    let (_, sealed) = s3seal::seal(&root(), &meta(10), &data(10)).unwrap();
    let other = Secret::Root(RootKey::from_bytes([0x12; 32]));
    assert_eq!(s3seal::open(&other, &sealed).unwrap_err(), Error::WrongKey);
    let mut opener = Opener::new(other);
    let mut out = Vec::new();
    assert_eq!(opener.push(&sealed, &mut out), Err(Error::WrongKey));
    assert!(out.is_empty());
}

#[test]
fn passphrase_round_trip_and_wrong_passphrase() {
    let pass = Secret::passphrase("correct horse battery staple").unwrap();
    let (_, sealed) = s3seal::seal(&pass, &meta(3), b"abc").unwrap();
    assert_eq!(s3seal::open(&pass, &sealed).unwrap().1, b"abc");
    assert_eq!(
        s3seal::open(
            &Secret::passphrase("Correct horse battery staple").unwrap(),
            &sealed
        )
        .unwrap_err(),
        Error::WrongKey
    );
    assert!(matches!(
        s3seal::open(&root(), &sealed),
        Err(Error::KeySource(_))
    ));
}

#[test]
fn file_key_opens_its_object_only() {
    let sealer = Sealer::new(&root(), &meta(4)).unwrap();
    let file = Secret::File(sealer.file_key().clone());
    let name = sealer.object_name();
    let mut sealed = Vec::new();
    let mut s = sealer.into_stream();
    s.push(b"data", &mut sealed).unwrap();
    s.finish(&mut sealed).unwrap();
    assert_eq!(
        s3seal::open_named(&file, &name, &sealed).unwrap().1,
        b"data"
    );
    // Without the name a file key cannot tell its object from a forgery
    // under another id, so it opens nothing.
    assert!(matches!(
        s3seal::open(&file, &sealed),
        Err(Error::InvalidInput(_))
    ));
    let (other_id, other) = s3seal::seal(&root(), &meta(4), b"data").unwrap();
    assert_eq!(
        s3seal::open_named(&file, &s3seal::ObjectName::keyed(other_id), &other).unwrap_err(),
        Error::WrongKey
    );
    assert!(
        Sealer::new(&file, &meta(0)).is_err(),
        "a file key cannot seal new objects"
    );
}

#[test]
fn truncation_at_every_segment_boundary_is_detected() {
    let len = FIRST_PLAINTEXT_SEGMENT_SIZE + 3 * PLAINTEXT_SEGMENT_SIZE + 10;
    let (_, sealed) = s3seal::seal(&root(), &meta(len), &data(len)).unwrap();
    let preamble_len =
        sealed.len() - layout::payload_len(len as u64) as usize - s3seal::signature::SIGNATURE_SIZE;
    for segment in 1..layout::segment_count(len as u64) {
        let cut = preamble_len + layout::payload_offset(segment) as usize;
        assert_eq!(
            s3seal::open(&root(), &sealed[..cut]).unwrap_err(),
            Error::Truncated,
            "boundary {segment}"
        );
        // Streaming: the segments known not to be last come out (the one
        // before the cut is held back until its successor shows), then Truncated.
        let mut opener = Opener::new(root());
        let mut out = Vec::new();
        opener.push(&sealed[..cut], &mut out).unwrap();
        assert!(
            out[..] == data(len)[..layout::plaintext_offset(segment - 1) as usize],
            "boundary {segment}"
        );
        assert_eq!(opener.finish(&mut out).unwrap_err(), Error::Truncated);
    }
    // Cut inside a segment or inside the preamble / header.
    assert_eq!(
        s3seal::open(&root(), &sealed[..sealed.len() - 1]).unwrap_err(),
        Error::Corrupt
    );
    assert_eq!(
        s3seal::open(&root(), &sealed[..preamble_len + 20]).unwrap_err(),
        Error::Truncated
    );
    assert_eq!(
        s3seal::open(&root(), &sealed[..30]).unwrap_err(),
        Error::Truncated
    );
}

#[test]
fn reordered_duplicated_and_extended_payloads_fail() {
    let len = FIRST_PLAINTEXT_SEGMENT_SIZE + 3 * PLAINTEXT_SEGMENT_SIZE + 10;
    let (_, sealed) = s3seal::seal(&root(), &meta(len), &data(len)).unwrap();
    let p = sealed.len() - layout::payload_len(len as u64) as usize;
    let seg =
        |i: u64| p + layout::payload_offset(i) as usize..p + layout::payload_offset(i + 1) as usize;
    let mut swapped = sealed.clone();
    swapped[seg(1)].copy_from_slice(&sealed[seg(2)]);
    swapped[seg(2)].copy_from_slice(&sealed[seg(1)]);
    assert_eq!(s3seal::open(&root(), &swapped).unwrap_err(), Error::Corrupt);
    let mut duplicated = sealed[..seg(2).end].to_vec();
    duplicated.extend_from_slice(&sealed[seg(2)]);
    duplicated.extend_from_slice(&sealed[seg(2).end..]);
    assert_eq!(
        s3seal::open(&root(), &duplicated).unwrap_err(),
        Error::Corrupt
    );
    let mut trailing = sealed.clone();
    trailing.extend_from_slice(b"garbage");
    assert_eq!(
        s3seal::open(&root(), &trailing).unwrap_err(),
        Error::Corrupt
    );
    // Moved under another object's preamble (same root key).
    let (_, other) = s3seal::seal(&root(), &meta(len), &data(len)).unwrap();
    let mut moved = other[..p].to_vec();
    moved.extend_from_slice(&sealed[p..]);
    assert_eq!(s3seal::open(&root(), &moved).unwrap_err(), Error::Corrupt);
}

#[test]
fn random_access_touches_only_covering_segments() {
    let len = FIRST_PLAINTEXT_SEGMENT_SIZE + 4 * PLAINTEXT_SEGMENT_SIZE + 77;
    let plain = data(len);
    let (_, sealed) = s3seal::seal(&root(), &meta(len), &plain).unwrap();
    let head = &sealed[..4096 + 40];
    let ro = RangeOpener::new(&root(), None, head, sealed.len() as u64).unwrap();
    assert_eq!(ro.plaintext_len(), len as u64);
    let ranges = [
        0..1,
        0..len as u64,
        262_000..262_200,
        600_000..600_001,
        len as u64 - 5..len as u64 + 100,
        1_000_000..1_000_000,
    ];
    for range in ranges {
        let segs = ro.segments_for(range.clone());
        let at = ro.object_range(segs.clone());
        assert!(segs.end - segs.start <= layout::segment_count(len as u64));
        if range.end - range.start == 1 {
            assert_eq!(segs.end - segs.start, 1, "one byte needs one segment");
            assert!(at.end - at.start <= SEGMENT_SIZE as u64);
        }
        let got = ro
            .open(
                range.clone(),
                segs.clone(),
                &sealed[at.start as usize..at.end as usize],
            )
            .unwrap();
        let end = (range.end as usize).min(len);
        assert_eq!(
            got,
            plain[(range.start as usize).min(end)..end].to_vec(),
            "{range:?}"
        );
    }
    // A tampered segment in the range fails and yields nothing.
    let segs = ro.segments_for(600_000..600_001);
    let at = ro.object_range(segs.clone());
    let mut bad = sealed[at.start as usize..at.end as usize].to_vec();
    bad[5] ^= 1;
    assert_eq!(
        ro.open(600_000..600_001, segs, &bad).unwrap_err(),
        Error::Corrupt
    );
}

#[test]
fn segment_runs_sealed_independently_equal_the_stream() {
    let len = FIRST_PLAINTEXT_SEGMENT_SIZE + 5 * PLAINTEXT_SEGMENT_SIZE + 99;
    let plain = data(len);
    let sealer = Sealer::new(&root(), &meta(len)).unwrap();
    let mut streamed = Vec::new();
    let mut s = sealer.clone().into_stream();
    s.push(&plain, &mut streamed).unwrap();
    s.finish(&mut streamed).unwrap();
    // Parts of 2 segments each, made out of order, twice (a retry).
    let count = layout::segment_count(len as u64);
    let mut parts: Vec<(u64, Vec<u8>)> = Vec::new();
    let firsts: Vec<u64> = (0..count).step_by(2).collect();
    for &first in firsts.iter().rev() {
        let last = (first + 2).min(count);
        let pt = layout::plaintext_offset(first) as usize..if last == count {
            len
        } else {
            layout::plaintext_offset(last) as usize
        };
        let mut a = Vec::new();
        sealer
            .seal_segments(first, &plain[pt.clone()], last == count, &mut a)
            .unwrap();
        let mut b = Vec::new();
        sealer
            .seal_segments(first, &plain[pt], last == count, &mut b)
            .unwrap();
        assert_eq!(a, b, "a retried part is byte-identical");
        parts.push((first, a));
    }
    parts.sort();
    let mut assembled = sealer.head();
    let mut ledger = s3seal::SegmentLedger::new();
    for (first, part) in parts {
        let ends = first + 2 >= count;
        ledger.record(first, &part, ends).unwrap();
        assembled.extend_from_slice(&part);
    }
    assembled.extend_from_slice(&sealer.signature(&ledger).unwrap());
    assert_eq!(assembled, streamed);
    assert!(
        sealer
            .seal_segments(1, &plain[..100], false, &mut Vec::new())
            .is_err(),
        "parts hold whole segments"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn push_in_any_chunking_round_trips(len in 0usize..1_200_000, chunk in 1usize..300_000, seed in any::<u8>()) {
        let plain: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed | 1)).collect();
        let mut sealer = Sealer::new(&root(), &meta(len)).unwrap().into_stream();
        let mut sealed = Vec::new();
        for piece in plain.chunks(chunk) {
            sealer.push(piece, &mut sealed).unwrap();
        }
        sealer.finish(&mut sealed).unwrap();
        let mut opener = Opener::new(root());
        let mut out = Vec::new();
        for piece in sealed.chunks(chunk.max(7) / 3 + 1) {
            opener.push(piece, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        prop_assert_eq!(out, plain);
    }

    #[test]
    fn any_single_bit_flip_is_rejected(len in 0usize..600_000, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (_, mut sealed) = s3seal::seal(&root(), &meta(len), &data(len)).unwrap();
        let i = pos.index(sealed.len());
        sealed[i] ^= 1 << bit;
        prop_assert!(s3seal::open(&root(), &sealed).is_err());
    }
}

#[test]
fn aes_256_gcm_known_answers() {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 14 and 15.
    use aes_gcm::aead::{Aead, KeyInit};
    let cases = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            "00000000000000000000000000000000",
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
        ),
        (
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015adb094dac5d93471bdec1a502270e3cc6c",
        ),
    ];
    for (k, n, p, c) in cases {
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&hex::decode(k).unwrap()).unwrap();
        let nonce: [u8; 12] = hex::decode(n).unwrap().try_into().unwrap();
        assert_eq!(
            hex::encode(
                cipher
                    .encrypt(&nonce.into(), hex::decode(p).unwrap().as_slice())
                    .unwrap()
            ),
            c
        );
    }
}

#[test]
fn sse_c_headers_known_answer() {
    // Independently computed: python3 -c "import base64,hashlib; k=bytes(range(32));
    // print(base64.b64encode(k), base64.b64encode(hashlib.md5(k).digest()))"
    let key = s3seal::SseCKey::from_bytes(core::array::from_fn(|i| i as u8));
    let headers = s3seal::sse::sse_c(&key);
    assert_eq!(
        headers,
        vec![
            (
                "x-amz-server-side-encryption-customer-algorithm",
                "AES256".to_owned()
            ),
            (
                "x-amz-server-side-encryption-customer-key",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned()
            ),
            (
                "x-amz-server-side-encryption-customer-key-MD5",
                "tP/LI3N87DFaSk0aoqYgzg==".to_owned()
            ),
        ]
    );
}

/// A resumed upload rebuilds its sealer from the key and saved randomness:
/// the same id, object bytes and signature as the first sealer, segment for
/// segment; saved state of the wrong length is refused.
#[test]
fn sealer_rebuilt_from_saved_randomness_seals_identical_bytes() {
    use s3seal::Randomness;
    use s3seal::hazmat::sealing_source;
    let secret = root();
    let plain = data(FIRST_PLAINTEXT_SEGMENT_SIZE + 2 * PLAINTEXT_SEGMENT_SIZE + 99);
    let first = Sealer::new(&secret, &meta(plain.len())).unwrap();
    let saved = first.randomness().to_bytes();
    assert_eq!(saved.len(), Randomness::SIZE);
    let random = Randomness::from_bytes(&saved).unwrap();
    let again = Sealer::with_randomness(&secret, &meta(plain.len()), random).unwrap();
    assert_eq!(first.object_name(), again.object_name());
    assert_eq!(first.head(), again.head());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    first
        .seal_segments(1, &plain[FIRST_PLAINTEXT_SEGMENT_SIZE..], true, &mut a)
        .unwrap();
    again
        .seal_segments(1, &plain[FIRST_PLAINTEXT_SEGMENT_SIZE..], true, &mut b)
        .unwrap();
    assert_eq!(a, b);
    let mut ledger = s3seal::SegmentLedger::new();
    ledger.record(1, &a, true).unwrap();
    let mut head = Vec::new();
    again
        .seal_segments(0, &plain[..FIRST_PLAINTEXT_SEGMENT_SIZE], false, &mut head)
        .unwrap();
    ledger.record(0, &head, false).unwrap();
    assert_eq!(
        first.signature(&ledger).unwrap(),
        again.signature(&ledger).unwrap(),
        "Ed25519 is deterministic: a resumed upload signs to the same bytes"
    );
    assert!(matches!(
        Randomness::from_bytes(&saved[1..]),
        Err(Error::InvalidInput(_))
    ));
    // A share (file) key opens but never seals.
    let share = Secret::File(first.file_key().clone());
    assert!(matches!(
        sealing_source(&share),
        Err(Error::InvalidInput(_))
    ));
}

/// A name given after the first bytes would check nothing, so it is
/// refused rather than silently ignored (review of issue 17).
#[test]
fn a_name_comes_before_the_bytes() {
    let (id, sealed) = s3seal::seal(&root(), &meta(3), b"abc").unwrap();
    let mut opener = Opener::new(root());
    opener.push(&sealed[..10], &mut Vec::new()).unwrap();
    assert!(matches!(
        opener.expect_name(s3seal::ObjectName::keyed(id)),
        Err(Error::InvalidInput(_))
    ));
}
