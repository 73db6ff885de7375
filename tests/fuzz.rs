//! Property-based fuzzing of everything that parses untrusted bytes: the
//! preamble parser and the opener must never panic, only return errors.
// Native only: these tests use the file system, processes or proptest.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use s3seal::format::{Metadata, Preamble};
use s3seal::{Opener, RangeOpener};
use s3seal::{RootKey, Secret};

fn secret() -> Secret {
    Secret::Root(RootKey::from_bytes([5; 32]))
}

fn valid() -> Vec<u8> {
    let meta = Metadata {
        name: "f".into(),
        media_type: "t".into(),
        size: Some(300),
    };
    s3seal::seal(&secret(), &meta, &[1u8; 300]).unwrap().1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn preamble_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Preamble::parse(&bytes);
        let mut with_magic = b"S3SEAL\x01\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = Preamble::parse(&with_magic);
        let _ = Metadata::parse(&bytes);
    }

    #[test]
    fn mutated_objects_are_rejected_without_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let original = valid();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let result = s3seal::open(&secret(), &bytes);
        if bytes != original {
            prop_assert!(result.is_err());
        }
        let mut opener = Opener::new(secret());
        let mut out = Vec::new();
        for chunk in bytes.chunks(37) {
            if opener.push(chunk, &mut out).is_err() {
                break;
            }
        }
        let _ = RangeOpener::new(&secret(), None, &bytes, bytes.len() as u64);
    }
}

fn identity() -> s3seal::Identity {
    s3seal::Identity::from_bytes([6; 32])
}

fn valid_to_recipient() -> Vec<u8> {
    let meta = Metadata {
        name: "f".into(),
        media_type: "t".into(),
        size: Some(300),
    };
    let sealer = s3seal::Sealer::for_recipient(&identity().recipient(), &meta).unwrap();
    let mut out = Vec::new();
    let mut stream = sealer.into_stream();
    stream.push(&[2u8; 300], &mut out).unwrap();
    stream.finish(&mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Recipient-mode preambles (HPKE's encapsulated key included) and names
    /// reject every edit without panicking.
    #[test]
    fn mutated_recipient_objects_and_names_are_rejected_without_panics(
        edits in prop::collection::vec((0usize..200, any::<u8>()), 1..4),
        name in "[0-9a-f.]{0,110}(\\.s3seal)?",
    ) {
        let original = valid_to_recipient();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.min(bytes.len() - 1);
            bytes[i] = value;
        }
        let secret = Secret::Identity(identity());
        if bytes != original {
            prop_assert!(s3seal::open(&secret, &bytes).is_err());
        }
        if let Ok(parsed) = s3seal::ObjectName::parse(&name) {
            let _ = secret.file_key(&parsed);
            prop_assert_eq!(s3seal::ObjectName::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
