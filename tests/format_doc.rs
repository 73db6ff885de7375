//! The worked examples of docs/FORMAT.md §8 are checked here, value by
//! value, against what the crate computes from the example's inputs: the
//! spec cannot drift from the code, and a mutant that changes a derivation
//! (a label, an associated data, an Argon2 cost) fails natively, not only in
//! the Python interop run.
// Native only: reads the document from the file system.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use s3seal::Identity;
use s3seal::format::{Metadata, Preamble};
use s3seal::signature::{SIGNATURE_SIZE, SignedContent, segment_digest};
use s3seal::stream::{HEADER_SIZE, Header, SegmentCipher};
use s3seal::{Randomness, Sealer};
use s3seal::{RootKey, Secret};
use sha2::Digest as _;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn subkey(file_key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, file_key)
        .expand(label, &mut key)
        .unwrap();
    key
}

/// The code block after `marker` in FORMAT.md.
fn block(marker: &str) -> String {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FORMAT.md")).unwrap();
    text.split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("FORMAT.md has no {marker}"))
        .split("```")
        .nth(1)
        .unwrap()
        .to_owned()
}

/// `name  value` lines of the code block after `marker` in FORMAT.md.
/// `S3SEAL_PRINT_WORKED_VALUES=1` prints what the crate computes instead
/// (to write the block).
fn documented(marker: &str, computed: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    if std::env::var("S3SEAL_PRINT_WORKED_VALUES").as_deref() == Ok("1") {
        println!("{marker}");
        for (k, v) in computed {
            println!("{k:<15}{v}");
        }
    }
    block(marker)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.split_at(15.min(l.len()));
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn sse_c_lines(values: &mut BTreeMap<String, String>, sse_c: &[u8; 32]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    values.insert("SSE-C key".into(), hex(sse_c));
    values.insert("key header".into(), b64.encode(sse_c));
    values.insert("MD5 header".into(), b64.encode(md5::Md5::digest(sse_c)));
}

/// Every intermediate value of an object, computed from its bytes and key.
fn values_of(object: &[u8], secret: &Secret, signing_salt: [u8; 32]) -> BTreeMap<String, String> {
    let (preamble, len) = Preamble::parse(object).unwrap().unwrap();
    let file_key = secret.file_key(&preamble.object_name()).unwrap();
    let fk = file_key.as_bytes();
    let header = Header::parse(object[len..len + HEADER_SIZE].try_into().unwrap()).unwrap();
    let mut v = BTreeMap::new();
    v.insert("signing salt".into(), hex(&signing_salt));
    v.insert("verifying key".into(), hex(&preamble.verifying_key.0));
    v.insert("object id".into(), hex(&preamble.object_id.0));
    v.insert("file key".into(), hex(fk));
    v.insert(
        "commitment".into(),
        hex(&file_key.commitment(&preamble.object_id)),
    );
    v.insert(
        "metadata key".into(),
        hex(&subkey(fk, b"s3seal/v1 metadata")),
    );
    let payload_key = subkey(fk, b"s3seal/v1 payload");
    v.insert("payload key".into(), hex(&payload_key));
    sse_c_lines(&mut v, file_key.sse_c_key().as_bytes());
    let opened = s3seal::hazmat::open_preamble(secret, preamble.clone(), len).unwrap();
    v.insert("metadata".into(), hex(&opened.metadata.to_bytes().unwrap()));
    v.insert(
        "preamble".into(),
        format!(
            "{len} bytes (n = {}, m = {})",
            len - s3seal::format::FIXED_SIZE - 2 - preamble.metadata_box.len(),
            preamble.metadata_box.len()
        ),
    );
    let segment_key = SegmentCipher::derive_key(&payload_key, &header, &object[..len]);
    v.insert("segment key".into(), hex(&*segment_key));
    let cipher = SegmentCipher::with_key(&segment_key, &header);
    let segment = &object[len + HEADER_SIZE..object.len() - SIGNATURE_SIZE];
    v.insert(
        "nonce_0".into(),
        hex(&cipher.nonce(0, true).unwrap().to_bytes()),
    );
    v.insert("segment_0".into(), hex(segment));
    let digest = segment_digest(segment);
    v.insert("d_0".into(), hex(&digest));
    v.insert("digest list".into(), hex(&sha2::Sha256::digest(digest)));
    let mut content = SignedContent::new(&object[..len], &header.to_bytes());
    content.add(&digest);
    v.insert(
        "message".into(),
        format!(
            "{} bytes",
            b"s3seal/v2 signature".len() + len + HEADER_SIZE + 8 + 32
        ),
    );
    let signature: [u8; 64] = object[object.len() - SIGNATURE_SIZE..].try_into().unwrap();
    preamble.verifying_key.verify(&content, &signature).unwrap();
    v.insert("signature".into(), hex(&signature[..32]));
    v.insert("".into(), hex(&signature[32..]));
    v
}

fn check(documented: &BTreeMap<String, String>, computed: &BTreeMap<String, String>) {
    for (name, value) in documented {
        let Some(expected) = computed.get(name) else {
            continue; // inputs and prose lines (identity, recipient, …)
        };
        assert_eq!(value, expected, "FORMAT.md §8: {name:?}");
    }
    for name in computed.keys() {
        assert!(documented.contains_key(name), "FORMAT.md §8 lacks {name:?}");
    }
}

#[test]
fn worked_example_values_are_what_the_crate_computes() {
    let object = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/one_byte.s3seal"
    ))
    .unwrap();
    let root = RootKey::from_bytes(core::array::from_fn(|i| i as u8));
    let secret = Secret::Root(root.clone());
    let mut computed = values_of(&object, &secret, [2; 32]);
    // The signing key from the inputs, and the object it seals.
    let signing = s3seal::signature::SigningKey::derive(root.as_bytes(), &[2; 32]);
    computed.insert(
        "signing seed".into(),
        hex(&{
            let mut seed = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(Some(&[2; 32]), root.as_bytes())
                .expand(b"s3seal/v2 signing key", &mut seed)
                .unwrap();
            seed
        }),
    );
    assert_eq!(
        hex(&signing.verifying_key().0),
        computed["verifying key"],
        "the verifying key is the signing key's"
    );
    // The owner's delete token (§3.1), computed from the text of the spec
    // and checked against the crate's.
    let id = signing.verifying_key().object_id();
    let mut token = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&id.0), root.as_bytes())
        .expand(b"s3seal/v2 delete", &mut token)
        .unwrap();
    let crate_token = root.delete_token(&id);
    assert_eq!(
        s3seal::DeleteToken::from_text(&format!(
            "s3seal-delete-{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token)
        ))
        .unwrap(),
        crate_token
    );
    let hash = hex(&sha2::Sha256::new()
        .chain_update(b"s3seal/v2 delete hash")
        .chain_update(token)
        .finalize());
    assert_eq!(hash, crate_token.hash());
    computed.insert("delete token".into(), hex(&token));
    computed.insert("delete hash".into(), hash);
    let random = Randomness {
        signing_salt: [2; 32],
        header: Header {
            salt: [2 ^ 0x5a; 32],
            nonce_prefix: [2 ^ 0xa5; 7],
        },
        metadata_nonce: [2 ^ 0x3c; 12],
    };
    let meta = Metadata {
        name: "vector-1.bin".into(),
        media_type: "application/octet-stream".into(),
        size: Some(1),
    };
    let mut again = Vec::new();
    let mut sealer = Sealer::with_randomness(&secret, &meta, random)
        .unwrap()
        .into_stream();
    sealer.push(&[7], &mut again).unwrap();
    sealer.finish(&mut again).unwrap();
    assert_eq!(again, object, "the inputs of §8 seal to the vector");
    check(
        &documented("<!-- worked-values:one_byte -->", &computed),
        &computed,
    );
    let text: String = block("<!-- worked-example:one_byte -->")
        .split_whitespace()
        .collect();
    assert!(
        text == hex(&object),
        "FORMAT.md's whole-object hex is the vector"
    );
}

#[test]
fn recipient_worked_example_values_are_what_the_crate_computes() {
    let object = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/recipient_one_byte.s3seal"
    ))
    .unwrap();
    let identity = Identity::from_bytes(core::array::from_fn(|i| 0x40 + i as u8));
    let secret = Secret::Identity(identity.clone());
    let mut computed = values_of(&object, &secret, [10; 32]);
    let (preamble, _) = Preamble::parse(&object).unwrap().unwrap();
    computed.insert("object name".into(), preamble.object_name().to_string());
    computed.insert(
        "enc".into(),
        hex(&preamble.source.encapsulated().unwrap().0),
    );
    computed.insert("identity".into(), identity.to_text().to_string());
    // The vector's signing seed, from its fixed ephemeral input.
    let mut seed = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[10; 32]), &[0x7d; 32])
        .expand(b"s3seal/v2 signing key", &mut seed)
        .unwrap();
    computed.insert("signing seed".into(), hex(&seed));
    assert_eq!(
        s3seal::signature::SigningKey::derive(&[0x7d; 32], &[10; 32]).verifying_key(),
        preamble.verifying_key,
        "the recipient vector is signed with that seed"
    );
    computed.insert("recipient".into(), identity.recipient().to_text());
    check(
        &documented("<!-- worked-values:recipient_one_byte -->", &computed),
        &computed,
    );
}
