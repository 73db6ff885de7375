//! Recipient mode: objects sealed to a public key open only with its identity.
// Native only: these tests use proptest.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use s3seal::Error;
use s3seal::format::{KeySource, Metadata, Preamble};
use s3seal::stream::{FIRST_PLAINTEXT_SEGMENT_SIZE, PLAINTEXT_SEGMENT_SIZE};
use s3seal::{EncapsulatedKey, Identity};
use s3seal::{ObjectName, RootKey, Secret};
use s3seal::{Opener, RangeOpener, Sealer};

fn identity() -> Identity {
    Identity::from_bytes([0x5e; 32])
}

fn meta(len: usize) -> Metadata {
    Metadata {
        name: "scan.pdf".into(),
        media_type: "application/pdf".into(),
        size: Some(len as u64),
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(17) + 3) as u8).collect()
}

fn seal_to(identity: &Identity, plain: &[u8]) -> (ObjectName, Vec<u8>) {
    let sealer = Sealer::for_recipient(&identity.recipient(), &meta(plain.len())).unwrap();
    let name = sealer.object_name();
    let mut out = Vec::new();
    let mut stream = sealer.into_stream();
    stream.push(plain, &mut out).unwrap();
    stream.finish(&mut out).unwrap();
    (name, out)
}

#[test]
fn identity_opens_what_was_sealed_to_its_recipient() {
    for len in [
        0,
        1,
        FIRST_PLAINTEXT_SEGMENT_SIZE,
        FIRST_PLAINTEXT_SEGMENT_SIZE + 2 * PLAINTEXT_SEGMENT_SIZE + 9,
    ] {
        let plain = data(len);
        let (name, sealed) = seal_to(&identity(), &plain);
        let (m, opened) = s3seal::open(&Secret::Identity(identity()), &sealed).unwrap();
        assert_eq!((m, opened), (meta(len), plain), "{len}");
        // The name carries the id and the encapsulated key the preamble records.
        let (preamble, _) = Preamble::parse(&sealed).unwrap().unwrap();
        assert_eq!(preamble.object_name(), name);
        assert!(matches!(preamble.source, KeySource::Recipient { .. }));
    }
}

#[test]
fn the_sse_c_key_comes_from_the_name_alone() {
    let sealer = Sealer::for_recipient(&identity().recipient(), &meta(3)).unwrap();
    let name = ObjectName::parse(&format!("forms/{}", sealer.object_name())).unwrap();
    let from_name = Secret::Identity(identity())
        .file_key(&name)
        .unwrap()
        .sse_c_key();
    assert_eq!(from_name, sealer.sse_c_key());
    // A root key cannot reach it, and says why instead of deriving garbage.
    let root = Secret::Root(RootKey::from_bytes([1; 32]));
    assert!(matches!(root.file_key(&name), Err(Error::KeySource(_))));
    // An identity asked about a keyed object's name refuses the same way.
    let keyed = ObjectName::keyed(name.id);
    assert!(matches!(
        Secret::Identity(identity()).file_key(&keyed),
        Err(Error::KeySource(_))
    ));
}

#[test]
fn a_wrong_identity_is_wrong_key_before_any_decryption() {
    let (_, sealed) = seal_to(&identity(), &data(1000));
    let other = Secret::Identity(Identity::from_bytes([0x5f; 32]));
    // Only the preamble is given: the verdict needs no payload byte.
    let (_, len) = Preamble::parse(&sealed).unwrap().unwrap();
    let mut opener = Opener::new(other);
    let mut out = Vec::new();
    assert_eq!(opener.push(&sealed[..len], &mut out), Err(Error::WrongKey));
    assert!(out.is_empty());
}

#[test]
fn a_tampered_encapsulated_key_never_opens() {
    let (_, sealed) = seal_to(&identity(), &data(5000));
    for byte in [0, 7, 31] {
        for bit in [0x01, 0x40] {
            let mut b = sealed.clone();
            b[s3seal::format::FIXED_SIZE + 1 + byte] ^= bit;
            assert_eq!(
                s3seal::open(&Secret::Identity(identity()), &b).unwrap_err(),
                Error::WrongKey,
                "byte {byte} bit {bit:#x}"
            );
        }
    }
}

#[test]
fn an_object_renamed_under_another_encapsulated_key_is_refused() {
    let (name_a, sealed_a) = seal_to(&identity(), &data(10));
    let (name_b, _) = seal_to(&identity(), &data(10));
    let mut opener = Opener::new(Secret::Identity(identity()));
    opener
        .expect_name(ObjectName {
            encapsulated: name_b.encapsulated,
            ..name_a
        })
        .unwrap();
    assert_eq!(
        opener.push(&sealed_a, &mut Vec::new()),
        Err(Error::NameMismatch)
    );
    // Fetched by its own name it opens.
    let mut opener = Opener::new(Secret::Identity(identity()));
    opener.expect_name(name_a).unwrap();
    let mut out = Vec::new();
    opener.push(&sealed_a, &mut out).unwrap();
    opener.finish(&mut out).unwrap();
    assert_eq!(out, data(10));
    // And reading the name's encapsulated key instead of the preamble's gives
    // another file key: S3 would refuse the SSE-C key, the commitment too.
    let wrong = Secret::Identity(identity())
        .file_key(&ObjectName {
            encapsulated: Some(EncapsulatedKey([9; 32])),
            ..name_a
        })
        .unwrap();
    assert_eq!(
        s3seal::open_named(&Secret::File(wrong), &name_a, &sealed_a).unwrap_err(),
        Error::WrongKey
    );
}

#[test]
fn staff_can_share_one_recipient_object_by_its_file_key() {
    let plain = data(70_000);
    let (name, sealed) = seal_to(&identity(), &plain);
    let mut opener = Opener::new(Secret::Identity(identity()));
    let mut out = Vec::new();
    opener.push(&sealed, &mut out).unwrap();
    let share = Secret::File(opener.file_key().unwrap().clone());
    assert_eq!(s3seal::open_named(&share, &name, &sealed).unwrap().1, plain);
    // Random access works the same way, by name with the share.
    let range = RangeOpener::new(
        &share,
        Some(&name),
        &sealed[..4096.min(sealed.len())],
        sealed.len() as u64,
    )
    .unwrap();
    let segs = range.segments_for(100..200);
    let at = range.object_range(segs.clone());
    let got = range
        .open(100..200, segs, &sealed[at.start as usize..at.end as usize])
        .unwrap();
    assert_eq!(got, plain[100..200]);
}

#[test]
fn an_identity_does_not_seal_and_a_recipient_seals_fresh_each_time() {
    assert!(matches!(
        Sealer::new(&Secret::Identity(identity()), &meta(0)),
        Err(Error::InvalidInput(_))
    ));
    let (a, _) = seal_to(&identity(), b"same");
    let (b, _) = seal_to(&identity(), b"same");
    assert_ne!(a.id, b.id);
    assert_ne!(a.encapsulated, b.encapsulated);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn recipient_round_trip_in_any_pushes(
        len in 0usize..700_000,
        chunk in 1usize..300_000,
    ) {
        let plain = data(len);
        let (name, sealed) = seal_to(&identity(), &plain);
        let mut opener = Opener::new(Secret::Identity(identity()));
        opener.expect_name(name).unwrap();
        let mut out = Vec::new();
        for piece in sealed.chunks(chunk) {
            opener.push(piece, &mut out).unwrap();
        }
        opener.finish(&mut out).unwrap();
        prop_assert!(out == plain);
    }
}
