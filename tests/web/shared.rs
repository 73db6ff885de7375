// Shared body of the wasm tests (included by web_node.rs and web_browser.rs):
// the JS boundary over the same checked-in vectors as the native tests.

use js_sys::Reflect;
use s3seal::wasm::{Key, Opener, Sealer};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::common::vectors;

fn code(err: &JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "errors are real Error objects");
    assert_eq!(Reflect::get(err, &"name".into()).unwrap().as_string().unwrap(), "S3sealError");
    Reflect::get(err, &"code".into()).unwrap().as_string().unwrap()
}

fn key_for(case: &serde_json::Value) -> Key {
    match (case.get("key"), case.get("passphrase")) {
        (Some(k), _) => Key::from_text(k.as_str().unwrap()).unwrap(),
        (_, Some(p)) => Key::from_passphrase(p.as_str().unwrap()).unwrap(),
        _ => panic!("no key"),
    }
}

/// One entry of the vectors' index.json, with its file.
#[derive(Clone)]
struct Case {
    name: &'static str,
    bytes: &'static [u8],
    /// `"ok"` or the expected error code.
    expect: &'static str,
    plaintext_len: usize,
    entry: &'static serde_json::Value,
}

fn cases() -> Vec<Case> {
    static INDEX: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| serde_json::from_str(vectors::INDEX_JSON).unwrap());
    index
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| Case {
            name: entry["name"].as_str().unwrap(),
            bytes: vectors::file(entry["file"].as_str().unwrap()),
            expect: entry["expect"].as_str().unwrap(),
            plaintext_len: entry["plaintext_len"].as_u64().unwrap() as usize,
            entry,
        })
        .collect()
}

fn open_all(key: &Key, bytes: &[u8], chunk: usize) -> Result<(Vec<u8>, JsValue), JsValue> {
    open_named(key, None, bytes, chunk)
}

/// Opens `bytes` as the object `name` (when given), checking the name.
fn open_named(key: &Key, name: Option<&str>, bytes: &[u8], chunk: usize) -> Result<(Vec<u8>, JsValue), JsValue> {
    let mut opener = Opener::new(key);
    if let Some(name) = name {
        opener.expect_name(name)?;
    }
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        out.extend(opener.push(piece)?);
    }
    out.extend(opener.finish()?);
    Ok((out, opener.metadata()))
}

#[wasm_bindgen_test]
fn vectors_open_as_the_index_says() {
    for Case { name, bytes, expect, plaintext_len: len, entry } in cases() {
        let key = key_for(entry);
        let name_in_bucket = entry.get("object_name").and_then(|n| n.as_str());
        match (open_named(&key, name_in_bucket, bytes, 65_536), expect) {
            (Ok((plain, meta)), "ok") => {
                assert!(plain == vectors::plaintext(len), "{name}: plaintext differs");
                let size = Reflect::get(&meta, &"size".into()).unwrap().as_f64().unwrap();
                assert_eq!(size as usize, len, "{name}");
            }
            (Err(e), want) => assert_eq!(code(&e), want, "{name}"),
            (Ok(_), want) => panic!("{name}: opened, expected {want}"),
        }
    }
}

#[wasm_bindgen_test]
fn seal_open_round_trip_through_the_boundary() {
    let key = Key::generate().unwrap();
    let plain = vectors::plaintext(700_000);
    let meta = js_sys::Object::new();
    Reflect::set(&meta, &"name".into(), &"photo.jpg".into()).unwrap();
    Reflect::set(&meta, &"type".into(), &"image/jpeg".into()).unwrap();
    Reflect::set(&meta, &"size".into(), &JsValue::from_f64(700_000.0)).unwrap();
    let mut sealer = Sealer::new(&key, meta.into()).unwrap();
    let mut sealed = Vec::new();
    for piece in plain.chunks(65_536) {
        sealed.extend(sealer.push(piece).unwrap());
    }
    sealed.extend(sealer.finish().unwrap());
    assert_eq!(sealed.len() as f64, sealer.object_length(700_000.0));
    assert!(sealer.push(b"x").is_err(), "a finished sealer refuses more");
    let (opened, meta) = open_all(&key, &sealed, 100_000).unwrap();
    assert!(opened == plain);
    assert_eq!(Reflect::get(&meta, &"name".into()).unwrap().as_string().unwrap(), "photo.jpg");
    // The share key opens it by name (only by name); another root key does not.
    let share = sealer.file_key();
    assert_eq!(share.kind(), "file");
    assert!(open_named(&share, Some(&sealer.object_name()), &sealed, 1 << 20).is_ok());
    assert_eq!(code(&open_all(&share, &sealed, 1 << 20).unwrap_err()), "InvalidInput");
    let other = Key::generate().unwrap();
    assert_eq!(code(&open_all(&other, &sealed, 1 << 20).unwrap_err()), "WrongKey");
    // Same SSE-C headers from the sealer, the root key and the share key.
    let name = sealer.object_name();
    let a = js_sys::JSON::stringify(&sealer.sse_c_headers()).unwrap();
    let b = js_sys::JSON::stringify(&key.sse_c_headers(&name).unwrap()).unwrap();
    let c = js_sys::JSON::stringify(&share.sse_c_headers(&name).unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[wasm_bindgen_test]
fn segment_runs_match_the_stream() {
    let key = Key::generate().unwrap();
    let seg = s3seal::stream::PLAINTEXT_SEGMENT_SIZE;
    let first = s3seal::stream::FIRST_PLAINTEXT_SEGMENT_SIZE;
    let plain = vectors::plaintext(first + 2 * seg + 5);
    let mut sealer = Sealer::new(&key, JsValue::UNDEFINED).unwrap();
    let mut parts = sealer.head();
    parts.extend(sealer.seal_segments(2.0, &plain[first + seg..], true).unwrap());
    assert_eq!(code(&sealer.signature().unwrap_err()), "InvalidInput", "segments 0 and 1 are missing");
    let mut tail = std::mem::replace(&mut parts, sealer.head());
    parts.extend(sealer.seal_segments(0.0, &plain[..first + seg], false).unwrap());
    parts.append(&mut tail.split_off(sealer.head().len()));
    parts.extend(sealer.signature().unwrap());
    let (opened, _) = open_all(&key, &parts, 1 << 20).unwrap();
    assert!(opened == plain);
    assert_eq!(code(&sealer.seal_segments(1.0, &plain[..10], false).unwrap_err()), "InvalidInput");
}

/// The code of a refusal; on success only the length (not megabytes of bytes).
fn refused(result: Result<Vec<u8>, JsValue>) -> String {
    match result {
        Ok(bytes) => panic!("released {} bytes instead of refusing", bytes.len()),
        Err(e) => code(&e),
    }
}

/// Audit finding L5: `sealSegments` must never seal one segment index over
/// two different plaintexts (AES-GCM nonce reuse), and an index that is not
/// a whole number in range must not quietly become segment 0.
#[wasm_bindgen_test]
fn l5_seal_segments_refuses_nonce_reuse() {
    let key = Key::generate().unwrap();
    let seg = s3seal::stream::PLAINTEXT_SEGMENT_SIZE;
    let first = s3seal::stream::FIRST_PLAINTEXT_SEGMENT_SIZE;
    let plain = vectors::plaintext(first + 2 * seg + 5);
    let mut other = plain.clone();
    other[first + 100] ^= 1; // segment 1 differs, segments 0 and 2 do not
    let mut sealer = Sealer::new(&key, JsValue::UNDEFINED).unwrap();
    let part1 = sealer.seal_segments(0.0, &plain[..first + seg], false).unwrap();
    // A retry of the same bytes is allowed and byte-identical.
    assert!(sealer.seal_segments(0.0, &plain[..first + seg], false).unwrap() == part1);
    assert!(sealer.seal_segments(1.0, &plain[first..first + seg], false).unwrap() == part1[part1.len() - seg - 16..]);
    // Segment 1 over other bytes: refused, alone or inside a longer run whose
    // other segments are new, and nothing of the run is released.
    let reuse = sealer.seal_segments(1.0, &other[first..first + seg], false).map(|b| b.len()).unwrap_err();
    assert_eq!(code(&reuse), "InvalidInput");
    let message = Reflect::get(&reuse, &"message".into()).unwrap().as_string().unwrap();
    assert!(message.contains("already sealed"), "{message}");
    assert_eq!(refused(sealer.seal_segments(1.0, &other[first..], true)), "InvalidInput");
    // Segment 0 sealed as the object's last segment is other bytes under the same index too.
    assert_eq!(refused(sealer.seal_segments(0.0, &plain[..first], true)), "InvalidInput");
    // The refused run recorded nothing: segment 2 still seals, and the object opens.
    let part2 = sealer.seal_segments(2.0, &plain[first + seg..], true).unwrap();
    let mut object = sealer.head();
    object.extend(part1);
    object.extend(part2);
    assert_eq!(code(&open_all(&key, &object, 1 << 20).unwrap_err()), "BadSignature", "no signature yet");
    object.extend(sealer.signature().unwrap());
    let (opened, _) = open_all(&key, &object, 1 << 20).unwrap();
    assert!(opened == plain);
    // NaN, negative, fractional, infinite and out-of-range indices are refused
    // (they used to become segment 0 or wrap).
    let fresh = || Sealer::new(&key, JsValue::UNDEFINED).unwrap();
    for bad in [f64::NAN, -1.0, -0.5, 0.5, f64::INFINITY, f64::NEG_INFINITY, 4_294_967_296.0, 1e300] {
        assert_eq!(refused(fresh().seal_segments(bad, &plain[..first], false)), "InvalidInput", "index {bad}");
    }
    // A sealer that streams (push/finish) chose its segments' bytes already:
    // sealSegments on it is refused, and the reverse.
    let mut streaming = fresh();
    let streamed = streaming.push(&other[..first + seg + 1]).unwrap();
    assert!(!streamed.is_empty());
    assert_eq!(refused(streaming.seal_segments(0.0, &plain[..first], false)), "InvalidInput");
    let mut segmented = fresh();
    segmented.seal_segments(0.0, &plain[..first], false).unwrap();
    assert_eq!(refused(segmented.push(&other[..10])), "InvalidInput");
    assert_eq!(refused(segmented.finish()), "InvalidInput");
}

/// Audit finding L4: the transport rule must read a URL as `fetch` will,
/// where `http://evil\@127.0.0.1/` is a request to `evil`.
#[wasm_bindgen_test]
fn l4_sse_c_url_check_parses_like_fetch() {
    use s3seal::wasm::check_sse_c_endpoint as check;
    for bad in [
        "http://evil\\@127.0.0.1:3900/b/o",
        "http://127.0.0.1@evil:80/",
        "http://127.0.0.1.evil.example/",
        "not a url",
    ] {
        assert!(check(bad).is_err(), "{bad}");
    }
    for ok in ["http://127.0.0.1:3900/b", "http://[::1]:9/", "http://localhost/", "https://s3.example/b"] {
        assert!(check(ok).is_ok(), "{ok}");
    }
}

#[wasm_bindgen_test]
fn bad_keys_and_inputs_get_specific_codes() {
    assert_eq!(code(&Key::from_text("s3seal-root-AAAA").err().unwrap()), "InvalidKey");
    assert_eq!(code(&Key::from_text("s3seal-root-***").err().unwrap()), "InvalidBase64");
    assert_eq!(code(&Key::from_text("hello").err().unwrap()), "InvalidKey");
    assert_eq!(code(&Key::from_passphrase("").err().unwrap()), "InvalidKey");
    let key = Key::generate().unwrap();
    assert_eq!(code(&key.sse_c_headers("not-an-object").unwrap_err()), "InvalidInput");
    let meta = js_sys::Object::new();
    Reflect::set(&meta, &"size".into(), &JsValue::from_f64(-1.0)).unwrap();
    assert_eq!(code(&Sealer::new(&key, meta.into()).err().unwrap()), "InvalidInput");
    let share = Key::from_text(&key.file_key(&"00".repeat(16)).unwrap().to_text().unwrap()).unwrap();
    assert_eq!(code(&Sealer::new(&share, JsValue::UNDEFINED).err().unwrap()), "InvalidInput");
    assert_eq!(code(&s3seal::wasm::check_sse_c_endpoint("http://example.com").unwrap_err()), "InsecureEndpoint");
    assert!(s3seal::wasm::check_sse_c_endpoint("http://127.0.0.1:3900").is_ok());
    let text = key.to_text().unwrap();
    let back = Key::from_text(&text).unwrap();
    assert_eq!(back.to_text().unwrap(), text);
}

// --- The engines (WebCrypto and the wasm aes-gcm) run in pkg/src/engine.ts,
// tested in the browsers by tests/e2e/pkg_browser.mjs; what a failure of
// theirs means is decided here.

/// A cipher call's failure as callers see it: only a segment that does not
/// verify (WebCrypto's OperationError on open) is `Corrupt`; a failure that
/// says nothing about the bytes (a cipher worker that died) is `Engine`.
#[wasm_bindgen_test]
fn cipher_failures_are_corrupt_only_when_a_segment_does_not_verify() {
    use s3seal::wasm::cipher_failure;
    let dom = |name: &str| -> JsValue {
        let class: js_sys::Function = Reflect::get(&js_sys::global(), &"DOMException".into())
            .expect("DOMException")
            .unchecked_into();
        let args = js_sys::Array::of2(&"what the browser said".into(), &name.into());
        Reflect::construct(&class, &args).expect("a DOMException")
    };
    assert_eq!(code(&cipher_failure(true, dom("OperationError"))), "Corrupt");
    assert_eq!(code(&cipher_failure(true, dom("UnknownError"))), "Engine");
    assert_eq!(code(&cipher_failure(true, dom("AbortError"))), "Engine");
    assert_eq!(code(&cipher_failure(false, dom("OperationError"))), "Engine");
    assert_eq!(code(&cipher_failure(false, js_sys::Error::new("thrown").into())), "Engine");
    // Errors that are already s3seal's keep their code.
    let ours = Key::from_text("not a key").err().expect("a bad key fails");
    let ours_code = code(&ours);
    assert_eq!(code(&cipher_failure(true, ours)), ours_code);
    let message = Reflect::get(&cipher_failure(true, dom("UnknownError")), &"message".into()).unwrap();
    assert_eq!(
        message.as_string().unwrap(),
        "the cipher engine failed: UnknownError: what the browser said"
    );
}
