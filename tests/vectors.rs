//! Checked-in test vectors under `tests/vectors/`: positive ones made with fixed
//! randomness (so they double as known-answer vectors of the whole format) and
//! negative ones named by condition. The same files are opened by the wasm
//! tests and by the Tink interop test.
//!
//! `S3SEAL_WRITE_VECTORS=1 cargo test --test vectors` rewrites them; otherwise
//! the test checks that the generator still produces the checked-in bytes.
// Native only: these tests use the file system, processes or proptest.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

mod common;

use aes_gcm::aead::{AeadInOut, KeyInit};
use s3seal::Error;
use s3seal::Identity;
use s3seal::format::{FIXED_SIZE, Metadata, Preamble};
use s3seal::signature::{SIGNATURE_SIZE, SignedContent, SigningKey};
use s3seal::stream::{
    FIRST_PLAINTEXT_SEGMENT_SIZE, HEADER_SIZE, Header, PLAINTEXT_SEGMENT_SIZE, SegmentCipher,
    layout,
};
use s3seal::{FileKey, ObjectId, ObjectName, RootKey, Secret};
use s3seal::{Randomness, Sealer};

const PASSPHRASE: &str = "correct horse battery staple";

fn root_a() -> RootKey {
    RootKey::from_bytes(core::array::from_fn(|i| i as u8))
}

fn root_b() -> RootKey {
    RootKey::from_bytes(core::array::from_fn(|i| 0xff - i as u8))
}

fn identity_a() -> Identity {
    Identity::from_bytes(core::array::from_fn(|i| 0x40 + i as u8))
}

fn identity_b() -> Identity {
    Identity::from_bytes(core::array::from_fn(|i| 0x80 + i as u8))
}

/// Plaintext of every vector: byte i is (31·i + 7) mod 256.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}

fn randomness(seed: u8) -> Randomness {
    Randomness {
        signing_salt: [seed; 32],
        header: Header {
            salt: [seed ^ 0x5a; 32],
            nonce_prefix: [seed ^ 0xa5; 7],
        },
        metadata_nonce: [seed ^ 0x3c; 12],
    }
}

fn vector_metadata(len: usize, declared: Option<u64>) -> Metadata {
    Metadata {
        name: format!("vector-{len}.bin"),
        media_type: "application/octet-stream".into(),
        size: declared,
    }
}

fn sealer(secret: &Secret, len: usize, declared: Option<u64>, seed: u8) -> Sealer {
    Sealer::with_randomness(secret, &vector_metadata(len, declared), randomness(seed)).unwrap()
}

/// Sealed to identity A's recipient, the HPKE ephemeral key fixed by `seed`.
fn seal_to_a(len: usize, seed: u8) -> (Vec<u8>, ObjectName) {
    let sealer = Sealer::for_recipient_with(
        &identity_a().recipient(),
        &vector_metadata(len, Some(len as u64)),
        randomness(seed),
        &[seed ^ 0x77; 32],
    )
    .unwrap();
    let name = sealer.object_name();
    (seal_with(sealer, len), name)
}

fn seal_with(sealer: Sealer, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s = sealer.into_stream();
    s.push(&plaintext(len), &mut out).unwrap();
    s.finish(&mut out).unwrap();
    out
}

fn seal(secret: &Secret, len: usize, seed: u8) -> Vec<u8> {
    seal_with(sealer(secret, len, Some(len as u64), seed), len)
}

/// A subkey of a file key, derived as FORMAT.md §3 says (the crate keeps
/// these private).
fn subkey(file_key: &FileKey, label: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, file_key.as_bytes())
        .expand(label, &mut key)
        .unwrap();
    key
}

/// Builds an object from its parts with nothing but a file key and some
/// signing capability: what a forger holding a share link can do. `head`
/// gives id, verifying key, commitment and key source (its metadata box is
/// replaced); each segment is `(index, last, plaintext)`.
fn assemble(
    head: &Preamble,
    file_key: &FileKey,
    metadata: &Metadata,
    header: &Header,
    segments: &[(u64, bool, &[u8])],
    sign: impl FnOnce(&SignedContent) -> [u8; SIGNATURE_SIZE],
) -> Vec<u8> {
    let plain = metadata.to_bytes().unwrap();
    let mut preamble = head.clone();
    preamble.metadata_box = vec![0; 12 + plain.len() + 16];
    let aad = preamble.head_bytes();
    let nonce = [0x11u8; 12];
    let mut body = plain.clone();
    let tag = aes_gcm::Aes256Gcm::new_from_slice(&subkey(file_key, b"s3seal/v1 metadata"))
        .unwrap()
        .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
        .unwrap();
    preamble.metadata_box = [&nonce[..], &body, &tag].concat();
    let preamble = preamble.to_bytes();
    let cipher = SegmentCipher::new(&subkey(file_key, b"s3seal/v1 payload"), header, &preamble);
    let mut content = SignedContent::new(&preamble, &header.to_bytes());
    let mut out = preamble.clone();
    out.extend_from_slice(&header.to_bytes());
    for (index, last, plaintext) in segments {
        let start = out.len();
        cipher.seal_to(cipher.nonce(*index, *last).unwrap(), plaintext, &mut out);
        content.add_segment(&out[start..]);
    }
    out.extend_from_slice(&sign(&content));
    out
}

/// How a vector is opened and what must happen.
struct Case {
    name: &'static str,
    file: &'static str,
    key: KeyDesc,
    expect: &'static str,
    len: usize,
    /// The name the object is opened by (readers check it matches).
    object_name: Option<ObjectName>,
}

#[derive(Clone)]
enum KeyDesc {
    Root(RootKey),
    File(FileKey),
    Passphrase(&'static str),
    Identity(Identity),
}

impl KeyDesc {
    fn json(&self) -> String {
        match self {
            KeyDesc::Root(k) => format!("\"key\": \"{}\"", k.to_text().as_str()),
            KeyDesc::File(k) => format!("\"key\": \"{}\"", k.to_text().as_str()),
            KeyDesc::Passphrase(p) => format!("\"passphrase\": \"{p}\""),
            KeyDesc::Identity(k) => format!("\"key\": \"{}\"", k.to_text().as_str()),
        }
    }
}

const THREE: usize = FIRST_PLAINTEXT_SEGMENT_SIZE + PLAINTEXT_SEGMENT_SIZE + 100;
const FOUR: usize = FIRST_PLAINTEXT_SEGMENT_SIZE + 2 * PLAINTEXT_SEGMENT_SIZE + 1000;

/// Every vector file (name -> bytes) and every case that opens one.
fn generate() -> (Vec<(&'static str, Vec<u8>)>, Vec<Case>) {
    let a = Secret::Root(root_a());
    let ra = || KeyDesc::Root(root_a());
    let mut files = Vec::new();
    let mut cases = Vec::new();
    let mut add = |files: &mut Vec<(&'static str, Vec<u8>)>,
                   name: &'static str,
                   bytes: Vec<u8>,
                   key: KeyDesc,
                   expect: &'static str,
                   len: usize| {
        files.push((name, bytes));
        cases.push(Case {
            name,
            file: name,
            key,
            expect,
            len,
            object_name: None,
        });
    };

    // Positive vectors at the segment edges.
    for (name, len, seed) in [
        ("empty", 0, 1),
        ("one_byte", 1, 2),
        ("one_segment_exact", FIRST_PLAINTEXT_SEGMENT_SIZE, 3),
        ("one_segment_plus_one", FIRST_PLAINTEXT_SEGMENT_SIZE + 1, 4),
        ("three_segments", THREE, 5),
        ("four_segments", FOUR, 6),
    ] {
        add(&mut files, name, seal(&a, len, seed), ra(), "ok", len);
    }
    add(
        &mut files,
        "passphrase_small",
        seal(&Secret::passphrase(PASSPHRASE).unwrap(), 100, 7),
        KeyDesc::Passphrase(PASSPHRASE),
        "ok",
        100,
    );

    let three = seal(&a, THREE, 5);
    let four = seal(&a, FOUR, 6);
    let one = seal(&a, 1, 2);
    let sig = SIGNATURE_SIZE;
    let p3 = three.len() - layout::payload_len(THREE as u64) as usize - sig;
    let p1 = one.len() - layout::payload_len(1) as usize - sig;
    let seg = |p: usize, i: u64| {
        p + layout::payload_offset(i) as usize..p + layout::payload_offset(i + 1) as usize
    };

    let neg = |bytes: Vec<u8>| bytes;
    add(
        &mut files,
        "payload_truncated_at_segment_1",
        neg(three[..seg(p3, 1).start].to_vec()),
        ra(),
        "Truncated",
        THREE,
    );
    add(
        &mut files,
        "payload_truncated_at_segment_2",
        neg(three[..seg(p3, 2).start].to_vec()),
        ra(),
        "Truncated",
        THREE,
    );
    add(
        &mut files,
        "payload_truncated_mid_segment",
        neg(three[..three.len() - sig - 50].to_vec()),
        ra(),
        "Corrupt",
        THREE,
    );
    add(
        &mut files,
        "payload_no_segments",
        neg(three[..p3 + s3seal::stream::HEADER_SIZE].to_vec()),
        ra(),
        "Truncated",
        THREE,
    );
    let mut b = three.clone();
    b[seg(p3, 1).end - 1] ^= 0x01;
    add(
        &mut files,
        "payload_bad_tag_second_segment",
        b,
        ra(),
        "Corrupt",
        THREE,
    );
    let mut b = four.clone();
    let p4 = four.len() - layout::payload_len(FOUR as u64) as usize - sig;
    b[seg(p4, 1)].copy_from_slice(&four[seg(p4, 2)]);
    b[seg(p4, 2)].copy_from_slice(&four[seg(p4, 1)]);
    add(
        &mut files,
        "payload_segments_swapped",
        b,
        ra(),
        "Corrupt",
        FOUR,
    );
    let mut b = three[..seg(p3, 2).start].to_vec();
    b.extend_from_slice(&three[seg(p3, 1)]);
    b.extend_from_slice(&three[seg(p3, 2).start..]);
    add(
        &mut files,
        "payload_segment_duplicated",
        b,
        ra(),
        "Corrupt",
        THREE,
    );
    let mut b = three.clone();
    b.extend_from_slice(b"trailing garbage");
    add(
        &mut files,
        "payload_trailing_garbage",
        b,
        ra(),
        "Corrupt",
        THREE,
    );
    let other = seal(&a, THREE, 8);
    let mut b = other[..p3].to_vec();
    b.extend_from_slice(&three[p3..]);
    add(
        &mut files,
        "payload_moved_under_other_preamble",
        b,
        ra(),
        "Corrupt",
        THREE,
    );
    let mut b = one.clone();
    b[p1] = 24;
    add(
        &mut files,
        "payload_header_bad_length",
        b,
        ra(),
        "Corrupt",
        1,
    );
    let mut b = one.clone();
    b[p1 + 5] ^= 0x80;
    add(
        &mut files,
        "payload_header_salt_changed",
        b,
        ra(),
        "Corrupt",
        1,
    );
    let mut b = one.clone();
    b[60] ^= 0x01;
    add(
        &mut files,
        "preamble_bad_commitment",
        b,
        ra(),
        "WrongKey",
        1,
    );
    let mut b = one.clone();
    b[10] ^= 0x01;
    add(
        &mut files,
        "preamble_object_id_changed",
        b,
        ra(),
        "SignerMismatch",
        1,
    );
    let mut b = one.clone();
    b[p1 - 20] ^= 0x01;
    add(
        &mut files,
        "preamble_metadata_tampered",
        b,
        ra(),
        "Corrupt",
        1,
    );
    let mut b = one.clone();
    b[0] = b's';
    add(&mut files, "preamble_bad_magic", b, ra(), "NotSealed", 1);
    let mut b = one.clone();
    b[7] = 0x01;
    add(&mut files, "preamble_flags_set", b, ra(), "Malformed", 1);
    let mut b = one.clone();
    b[6] = 3;
    add(
        &mut files,
        "preamble_unsupported_version",
        b,
        ra(),
        "UnsupportedVersion",
        1,
    );
    let mut b = one.clone();
    b[FIXED_SIZE] = 0x09;
    add(
        &mut files,
        "preamble_unknown_key_source",
        b,
        ra(),
        "Malformed",
        1,
    );
    add(
        &mut files,
        "preamble_truncated",
        one[..40].to_vec(),
        ra(),
        "Truncated",
        1,
    );
    add(
        &mut files,
        "metadata_size_mismatch",
        seal_with(sealer(&a, 1000, Some(1001), 9), 1000),
        ra(),
        "Corrupt",
        1000,
    );

    // Recipient mode: sealed to identity A's public key with HPKE.
    let ia = || KeyDesc::Identity(identity_a());
    const R1: usize = FIRST_PLAINTEXT_SEGMENT_SIZE + 1;
    let (r1, r1_name) = seal_to_a(R1, 9);
    add(
        &mut files,
        "recipient_one_segment_plus_one",
        r1,
        ia(),
        "ok",
        R1,
    );
    let (r2, r2_name) = seal_to_a(1, 10);
    add(&mut files, "recipient_one_byte", r2.clone(), ia(), "ok", 1);
    let mut b = r2.clone();
    // Key source: its kind, then the 32-byte encapsulated key.
    b[FIXED_SIZE + 1 + 5] ^= 0x01;
    add(
        &mut files,
        "recipient_encapsulated_key_tampered",
        b,
        ia(),
        "WrongKey",
        1,
    );

    // A low-order point as `enc` (all zeros: u = 0) gives HPKE an all-zero
    // shared secret, which it refuses.
    let mut b = r2.clone();
    b[FIXED_SIZE + 1..FIXED_SIZE + 33].fill(0);
    add(
        &mut files,
        "recipient_low_order_encapsulated_key",
        b,
        ia(),
        "WrongKey",
        1,
    );

    // A staff member holding one recipient object's file key rewrites it
    // under its name: the identity refuses it (what `pull` meets).
    let r2_key = Secret::Identity(identity_a()).file_key(&r2_name).unwrap();
    let (r2_preamble, r2_len) = Preamble::parse(&r2).unwrap().unwrap();
    let r2_header = Header::parse(r2[r2_len..r2_len + HEADER_SIZE].try_into().unwrap()).unwrap();
    let r2_signature: [u8; SIGNATURE_SIZE] = r2[r2.len() - SIGNATURE_SIZE..].try_into().unwrap();
    let forged_text = b"FORGED: pay 100000 EUR";
    add(
        &mut files,
        "recipient_forged_with_file_key",
        assemble(
            &r2_preamble,
            &r2_key,
            &Metadata {
                size: Some(forged_text.len() as u64),
                ..vector_metadata(1, None)
            },
            &r2_header,
            &[(0, true, forged_text)],
            |_| r2_signature,
        ),
        ia(),
        "BadSignature",
        1,
    );

    // Version 1 (unsigned), as the last v1 release wrote `one_byte`.
    add(
        &mut files,
        "format_v1_one_byte",
        include_bytes!("vectors/format_v1_one_byte.s3seal").to_vec(),
        ra(),
        "UnsupportedVersion",
        1,
    );

    // Passphrase cost other than format v1's (t = 4): KeySource, since the
    // reader could not have derived the SSE-C key with it.
    let mut b = seal(&Secret::passphrase(PASSPHRASE).unwrap(), 100, 7);
    b[FIXED_SIZE + 1 + 7] = 4;
    add(
        &mut files,
        "passphrase_cost_not_v1",
        b,
        KeyDesc::Passphrase(PASSPHRASE),
        "KeySource",
        100,
    );

    // Sender authenticity: what a holder of only the file key (a share
    // link) of `one_byte` can build, and signature damage.
    let one_name = sealer(&a, 1, Some(1), 2).object_name();
    let one_key = root_a().file_key(&one_name.id);
    let (one_preamble, _) = Preamble::parse(&one).unwrap().unwrap();
    let one_header = Header::parse(one[p1..p1 + HEADER_SIZE].try_into().unwrap()).unwrap();
    let forged_meta = Metadata {
        size: Some(forged_text.len() as u64),
        ..vector_metadata(1, None)
    };
    let original_signature: [u8; SIGNATURE_SIZE] = one[one.len() - sig..].try_into().unwrap();
    add(
        &mut files,
        "forged_with_file_key",
        assemble(
            &one_preamble,
            &one_key,
            &forged_meta,
            &one_header,
            &[(0, true, forged_text)],
            |_| original_signature,
        ),
        ra(),
        "BadSignature",
        1,
    );
    // The forger signs with a key of their own and keeps the id.
    let forger = SigningKey::derive(&[0xf0; 32], &[0x0f; 32]);
    let forged_head = Preamble {
        verifying_key: forger.verifying_key(),
        ..one_preamble.clone()
    };
    add(
        &mut files,
        "id_not_matching_verification_key",
        assemble(
            &forged_head,
            &one_key,
            &forged_meta,
            &one_header,
            &[(0, true, forged_text)],
            |c| forger.sign(c),
        ),
        ra(),
        "SignerMismatch",
        1,
    );
    add(
        &mut files,
        "signature_stripped",
        three[..three.len() - sig].to_vec(),
        ra(),
        "BadSignature",
        THREE,
    );
    // A last segment shorter than the signature: what remains spans two
    // segments, and is still recognised as an end without a signature.
    add(
        &mut files,
        "signature_stripped_short_last_segment",
        {
            let short = seal(&a, FIRST_PLAINTEXT_SEGMENT_SIZE + 5, 14);
            short[..short.len() - sig].to_vec()
        },
        ra(),
        "BadSignature",
        FIRST_PLAINTEXT_SEGMENT_SIZE + 5,
    );
    // The same end with its short last segment damaged: the whole segment
    // before it opens, the last does not, so it is not a clean end but
    // damage (every segment of an alternative must open, not the first).
    add(
        &mut files,
        "signature_stripped_short_last_segment_damaged",
        {
            let short = seal(&a, FIRST_PLAINTEXT_SEGMENT_SIZE + 5, 14);
            let mut b = short[..short.len() - sig].to_vec();
            let last = b.len() - 1;
            b[last] ^= 0x01;
            b
        },
        ra(),
        "Corrupt",
        FIRST_PLAINTEXT_SEGMENT_SIZE + 5,
    );
    add(
        &mut files,
        "signature_stripped_small",
        one[..one.len() - sig].to_vec(),
        ra(),
        "BadSignature",
        1,
    );
    let mut b = one.clone();
    let len = b.len();
    b[len - 1] ^= 0x01;
    add(
        &mut files,
        "signature_bit_flipped",
        b,
        ra(),
        "BadSignature",
        1,
    );
    // Another object by the same root key and of the same length.
    let sibling = seal(&a, 1, 12);
    let mut b = one.clone();
    b[len - sig..].copy_from_slice(&sibling[sibling.len() - sig..]);
    add(
        &mut files,
        "signature_from_another_object",
        b,
        ra(),
        "BadSignature",
        1,
    );
    // Signed by the owner, but with an empty last segment after a full
    // first one: never written by a sealer, refused by every reader.
    let first_full = sealer(
        &a,
        FIRST_PLAINTEXT_SEGMENT_SIZE,
        Some(FIRST_PLAINTEXT_SEGMENT_SIZE as u64),
        13,
    );
    let full_head = Preamble::parse(&first_full.head()).unwrap().unwrap().0;
    let empty_final = assemble(
        &full_head,
        first_full.file_key(),
        &vector_metadata(
            FIRST_PLAINTEXT_SEGMENT_SIZE,
            Some(FIRST_PLAINTEXT_SEGMENT_SIZE as u64),
        ),
        &first_full.randomness().header,
        &[
            (0, false, &plaintext(FIRST_PLAINTEXT_SEGMENT_SIZE)),
            (1, true, &[]),
        ],
        |c| first_full.sign(c),
    );
    // The same without its signature: both segments open, but an end that
    // no sealer writes is damage, not a clean end missing its signature.
    add(
        &mut files,
        "payload_empty_final_segment_unsigned",
        empty_final[..empty_final.len() - sig].to_vec(),
        ra(),
        "Corrupt",
        FIRST_PLAINTEXT_SEGMENT_SIZE,
    );
    add(
        &mut files,
        "payload_empty_final_segment",
        empty_final,
        ra(),
        "Corrupt",
        FIRST_PLAINTEXT_SEGMENT_SIZE,
    );

    // Cases that reuse a file with another key.
    let file_key = one_key.clone();
    // A file key opens by name (FORMAT.md §1): the id is what certifies
    // the signer, and a file key opens whatever id it is shown.
    cases.push(Case {
        name: "share_file_key_opens_its_object",
        file: "one_byte",
        key: KeyDesc::File(file_key),
        expect: "ok",
        len: 1,
        object_name: Some(one_name),
    });
    let other_file_key = root_a().file_key(&sealer(&a, THREE, Some(THREE as u64), 5).object_id());
    cases.push(Case {
        name: "key_file_key_of_other_object",
        file: "one_byte",
        key: KeyDesc::File(other_file_key),
        expect: "WrongKey",
        len: 1,
        object_name: Some(one_name),
    });
    cases.push(Case {
        name: "key_wrong_root",
        file: "one_byte",
        key: KeyDesc::Root(root_b()),
        expect: "WrongKey",
        len: 1,
        object_name: None,
    });
    cases.push(Case {
        name: "key_wrong_passphrase",
        file: "passphrase_small",
        key: KeyDesc::Passphrase("correct horse battery stapler"),
        expect: "WrongKey",
        len: 100,
        object_name: None,
    });
    cases.push(Case {
        name: "key_passphrase_for_root_object",
        file: "one_byte",
        key: KeyDesc::Passphrase(PASSPHRASE),
        expect: "KeySource",
        len: 1,
        object_name: None,
    });

    let case = |name, file, key, expect, len, object_name| Case {
        name,
        file,
        key,
        expect,
        len,
        object_name,
    };
    cases.extend([
        case(
            "recipient_wrong_identity",
            "recipient_one_byte",
            KeyDesc::Identity(identity_b()),
            "WrongKey",
            1,
            None,
        ),
        case(
            "recipient_root_key_for_recipient_object",
            "recipient_one_byte",
            ra(),
            "KeySource",
            1,
            None,
        ),
        case(
            "recipient_identity_for_root_object",
            "one_byte",
            ia(),
            "KeySource",
            1,
            None,
        ),
        case(
            "recipient_file_key_opens_its_object",
            "recipient_one_byte",
            KeyDesc::File(Secret::Identity(identity_a()).file_key(&r2_name).unwrap()),
            "ok",
            1,
            Some(r2_name),
        ),
        // The forgeries as another link holder meets them: by name, with
        // the same file key the forger had.
        case(
            "forged_with_file_key_opened_by_link",
            "forged_with_file_key",
            KeyDesc::File(one_key.clone()),
            "BadSignature",
            1,
            Some(one_name),
        ),
        case(
            "id_not_matching_verification_key_opened_by_link",
            "id_not_matching_verification_key",
            KeyDesc::File(one_key.clone()),
            "SignerMismatch",
            1,
            Some(one_name),
        ),
        case(
            "recipient_opened_by_its_name",
            "recipient_one_byte",
            ia(),
            "ok",
            1,
            Some(r2_name),
        ),
        case(
            "recipient_renamed_to_other_encapsulated_key",
            "recipient_one_byte",
            ia(),
            "NameMismatch",
            1,
            Some(ObjectName {
                encapsulated: r1_name.encapsulated,
                ..r2_name
            }),
        ),
        case(
            "key_renamed_to_other_object_id",
            "one_byte",
            ra(),
            "NameMismatch",
            1,
            Some(ObjectName::keyed(ObjectId([1; 16]))),
        ),
    ]);
    (files, cases)
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn manifest(cases: &[Case]) -> String {
    let rows: Vec<String> = cases
        .iter()
        .map(|c| {
            let object_name = c
                .object_name
                .map(|n| format!(", \"object_name\": \"{n}\""))
                .unwrap_or_default();
            // What an opened vector's sealed metadata says.
            let opened = if c.expect == "ok" {
                format!(
                    ", \"file_name\": \"vector-{}.bin\", \"media_type\": \"application/octet-stream\"",
                    c.len
                )
            } else {
                String::new()
            };
            format!(
                "  {{\"name\": \"{}\", \"file\": \"{}.s3seal\", {}, \"expect\": \"{}\", \"plaintext_len\": {}{opened}{object_name}}}",
                c.name, c.file, c.key.json(), c.expect, c.len
            )
        })
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}

#[test]
fn checked_in_vectors_match_the_generator() {
    let (files, cases) = generate();
    // Only an explicit 1 rewrites: any other value (even "0") would rewrite
    // the files and then compare them with themselves.
    let write = std::env::var("S3SEAL_WRITE_VECTORS").as_deref() == Ok("1");
    if write {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir().join(format!("{name}.s3seal")), bytes).unwrap();
        }
        std::fs::write(dir().join("index.json"), manifest(&cases)).unwrap();
    }
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir().join(format!("{name}.s3seal"))).unwrap();
        assert!(
            on_disk == *bytes,
            "{name}: the format changed; regenerate with S3SEAL_WRITE_VECTORS=1 and update docs/FORMAT.md"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir().join("index.json")).unwrap(),
        manifest(&cases)
    );
}

/// Opens every case of `index.json` from the files alone (as the wasm and
/// interop tests do), whole and in awkward pushes.
/// One case of `index.json` with its file read and its key parsed.
struct IndexCase {
    name: String,
    bytes: Vec<u8>,
    secret: Secret,
    expect: String,
    len: usize,
    object_name: Option<ObjectName>,
    entry: serde_json::Value,
}

/// Every case of the checked-in `index.json`, from the files alone (as the
/// wasm and interop tests read them).
fn index_cases() -> Vec<IndexCase> {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("index.json")).unwrap()).unwrap();
    let cases: Vec<IndexCase> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let name = case["name"].as_str().unwrap().to_owned();
            let secret = match (case.get("key"), case.get("passphrase")) {
                (Some(k), _) => Secret::from_key_text(k.as_str().unwrap()).unwrap(),
                (_, Some(p)) => Secret::passphrase(p.as_str().unwrap()).unwrap(),
                _ => panic!("{name}: no key"),
            };
            IndexCase {
                bytes: std::fs::read(dir().join(case["file"].as_str().unwrap())).unwrap(),
                secret,
                expect: case["expect"].as_str().unwrap().to_owned(),
                len: case["plaintext_len"].as_u64().unwrap() as usize,
                object_name: case
                    .get("object_name")
                    .map(|n| ObjectName::parse(n.as_str().unwrap()).unwrap()),
                entry: case.clone(),
                name,
            }
        })
        .collect();
    assert!(cases.len() >= 30);
    cases
}

#[test]
fn checked_in_vectors_open_as_the_index_says() {
    for IndexCase {
        name,
        bytes,
        secret,
        expect,
        len,
        object_name,
        entry: case,
    } in index_cases()
    {
        let expect = expect.as_str();
        let got = match object_name {
            None => s3seal::open(&secret, &bytes),
            Some(n) => open_named(&secret, n, &bytes),
        };
        match (&got, expect) {
            (Ok((meta, plain)), "ok") => {
                assert!(*plain == plaintext(len), "{name}: plaintext differs");
                assert_eq!(meta.size, Some(len as u64), "{name}");
                assert_eq!(meta.name, case["file_name"].as_str().unwrap(), "{name}");
                assert_eq!(
                    meta.media_type,
                    case["media_type"].as_str().unwrap(),
                    "{name}"
                );
            }
            (Err(e), code) => assert_eq!(e.code(), code, "{name}"),
            (Ok(_), code) => panic!("{name}: opened, expected {code}"),
        }
        // Streaming in pushes around the signature's size gives the same
        // verdict (the last 64 bytes are held back until the end).
        for chunk in [1000, 65, 63] {
            let mut opener = s3seal::Opener::new(secret.clone());
            if let Some(n) = object_name {
                opener.expect_name(n).unwrap();
            }
            let mut out = Vec::new();
            let streamed = bytes
                .chunks(chunk)
                .try_for_each(|c| opener.push(c, &mut out))
                .and_then(|()| opener.finish(&mut out));
            assert_eq!(
                streamed.err().map(|e: Error| e.code()).unwrap_or("ok"),
                expect,
                "{name} (streamed in {chunk}-byte pushes)"
            );
        }
    }
}

/// One-shot open of an object fetched by `name`.
fn open_named(
    secret: &Secret,
    name: ObjectName,
    bytes: &[u8],
) -> Result<(Metadata, Vec<u8>), Error> {
    let mut opener = s3seal::Opener::new(secret.clone());
    opener.expect_name(name)?;
    let mut out = Vec::new();
    opener.push(bytes, &mut out)?;
    let meta = opener.finish(&mut out)?;
    Ok((meta, out))
}

/// The embedded list the wasm tests use covers exactly the files on disk.
#[test]
fn embedded_vector_list_covers_the_directory() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".s3seal"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = common::vectors::FILES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    embedded.sort();
    assert_eq!(embedded, on_disk, "update tests/common/vectors.rs");
    for (name, bytes) in common::vectors::FILES {
        assert!(std::fs::read(dir().join(name)).unwrap() == *bytes, "{name}");
    }
}

/// A refused `push` or `finish` releases nothing: bytes already in `out`
/// stay, and no byte of a segment that failed (or of an object whose size
/// does not match its metadata) is added. (Two mutants that kept them
/// survived every suite before.)
#[test]
fn a_refused_push_or_finish_leaves_the_output_as_it_was() {
    use s3seal::Opener;
    use s3seal::{RootKey, Secret};
    let secret = || Secret::Root(RootKey::from_bytes(core::array::from_fn(|i| i as u8)));
    for (name, refused_by_push) in [
        ("payload_bad_tag_second_segment.s3seal", true),
        ("payload_segments_swapped.s3seal", true),
        ("payload_truncated_mid_segment.s3seal", false),
        ("metadata_size_mismatch.s3seal", false),
    ] {
        let bytes = common::vectors::file(name);
        let mut opener = Opener::new(secret());
        let mut out = b"kept".to_vec();
        match opener.push(bytes, &mut out) {
            Err(_) => {
                assert!(refused_by_push, "{name}: refused early");
                assert_eq!(&out[..4], b"kept", "{name}");
                // Only the first segment can have verified; nothing of the
                // one that failed is released, not even its plaintext.
                let released = &out[4..];
                assert!(
                    released.len() <= s3seal::stream::FIRST_PLAINTEXT_SEGMENT_SIZE,
                    "{name}: {} bytes released",
                    released.len()
                );
                assert_eq!(
                    released,
                    &common::vectors::plaintext(released.len())[..],
                    "{name}"
                );
            }
            Ok(()) => {
                assert!(!refused_by_push, "{name}: accepted by push");
                let before = out.clone();
                assert!(
                    opener.finish(&mut out).is_err(),
                    "{name}: finish accepted it"
                );
                assert_eq!(out, before, "{name}: a refused finish released bytes");
            }
        }
    }
}

/// The range reader over every vector, reading the whole plaintext through
/// `RangeOpener`: it agrees with a full read except where FORMAT.md §5.4
/// says it cannot: it does not check the signature (a `BadSignature` object
/// may read, or fail on the lengths the missing signature shifts), and a cut
/// object looks like a shorter one whose last segment fails (`Corrupt` for
/// `Truncated`). It never reads what a full read refuses for any other
/// reason, and what it reads is the plaintext.
#[test]
fn the_range_reader_agrees_with_a_full_read() {
    use s3seal::RangeOpener;
    for IndexCase {
        name,
        bytes,
        secret,
        expect,
        len,
        object_name,
        ..
    } in index_cases()
    {
        let expect = expect.as_str();
        let head = &bytes[..bytes
            .len()
            .min(s3seal::format::MAX_PREAMBLE_SIZE + HEADER_SIZE)];
        let read = RangeOpener::new(&secret, object_name.as_ref(), head, bytes.len() as u64)
            .and_then(|r| {
                let all = 0..r.plaintext_len();
                let segments = r.segments_for(all.clone());
                let at = r.object_range(segments.clone());
                r.open(all, segments, &bytes[at.start as usize..at.end as usize])
            });
        let got = match &read {
            Ok(plain) => {
                if expect == "ok" {
                    assert!(*plain == plaintext(len), "{name}: other bytes");
                }
                "ok"
            }
            Err(e) => e.code(),
        };
        let allowed: &[&str] = match expect {
            "BadSignature" => &["BadSignature", "ok", "Corrupt", "Truncated"],
            "Truncated" => &["Truncated", "Corrupt"],
            other => &[other][..],
        };
        assert!(
            allowed.contains(&got),
            "{name}: the range reader says {got}, a full read {expect}"
        );
    }
}
