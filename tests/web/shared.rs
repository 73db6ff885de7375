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

// --- The two AES-GCM engines (WebCrypto and wasm aes-gcm) ------------------

use s3seal::wasm::engine::{Choice, Engine};
use s3seal::wasm::{OpenStream, SealStream};
use wasm_bindgen_futures::JsFuture;

fn secret_for(case: &serde_json::Value) -> s3seal::Secret {
    match (case.get("key"), case.get("passphrase")) {
        (Some(k), _) => s3seal::Secret::from_key_text(k.as_str().unwrap()).unwrap(),
        (_, Some(p)) => s3seal::Secret::passphrase(p.as_str().unwrap()),
        _ => panic!("no key"),
    }
}

fn engine_options(name: &str) -> JsValue {
    let o = js_sys::Object::new();
    Reflect::set(&o, &"engine".into(), &name.into()).unwrap();
    o.into()
}

/// Lets the page run its own tasks for a moment. The wasm engine's promises
/// settle as microtasks, so a loop over it never yields by itself, and the
/// test runner's WebDriver calls fail after 30 s of a page that never
/// yields (seen twice in this suite); each async test yields per case.
async fn next_task() {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: js_sys::Function = Reflect::get(&global, &"setTimeout".into())
            .expect("setTimeout")
            .unchecked_into();
        set_timeout.call2(&global, &resolve, &0.into()).expect("setTimeout");
    });
    JsFuture::from(timer).await.expect("a timer resolves");
}

async fn pieces(promise: js_sys::Promise) -> Result<Vec<u8>, JsValue> {
    let mut out = Vec::new();
    for piece in js_sys::Array::from(&JsFuture::from(promise).await?).iter() {
        out.extend(piece.unchecked_into::<js_sys::Uint8Array>().to_vec());
    }
    Ok(out)
}

/// Reseals every positive vector with the randomness it records, one segment
/// at a time through each engine (WebCrypto also with a helper thread's
/// share of the segments): all must give the checked-in bytes.
#[wasm_bindgen_test]
async fn both_engines_reproduce_the_checked_in_vectors_byte_for_byte() {
    use s3seal::format::Preamble;
    use s3seal::signature::SignedContent;
    use s3seal::stream::{HEADER_SIZE, Header, SegmentCipher, layout};
    use s3seal::wasm::engine::set_cipher_helpers;
    // A helper as pkg/cipher.js is one, minus the Worker: WebCrypto on this
    // thread, counting its calls; what matters here is what the engine gives it.
    let helper = js_sys::Object::new();
    let start = js_sys::Function::new_with_args(
        "op, key, iv, data, hash",
        "this.calls += 1; const copy = data.slice(); \
         const out = crypto.subtle[op]({ name: 'AES-GCM', iv, tagLength: 128 }, key, copy); \
         if (!hash) return out; \
         const digest = op === 'decrypt' ? crypto.subtle.digest('SHA-256', copy) : out.then((o) => crypto.subtle.digest('SHA-256', o)); \
         return Promise.all([out, digest]);",
    );
    Reflect::set(&helper, &"start".into(), &start).unwrap();
    Reflect::set(&helper, &"calls".into(), &0.into()).unwrap();
    let mut checked = 0;
    for Case { name, bytes, expect, entry, .. } in cases() {
        next_task().await;
        let secret = secret_for(entry);
        if expect != "ok" {
            continue;
        }
        let (preamble, len) = Preamble::parse(bytes).unwrap().unwrap();
        let header = Header::parse(bytes[len..len + HEADER_SIZE].try_into().unwrap()).unwrap();
        let (meta, plain) = s3seal::open_named(&secret, &preamble.object_name(), bytes).unwrap();
        // Whatever the key kind (root, passphrase, share, identity), the
        // file key gives the segment cipher; the signing key is not in the
        // object, so the signature is checked rather than reproduced.
        let file_key = s3seal::hazmat::open_preamble(&secret, preamble.clone(), len).unwrap().file_key;
        let _ = &meta;
        let mut payload_key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(None, file_key.as_bytes())
            .expand(b"s3seal/v1 payload", &mut payload_key)
            .unwrap();
        let segment_key = SegmentCipher::derive_key(&payload_key, &header, &bytes[..len]);
        let cipher = &SegmentCipher::with_key(&segment_key, &header);
        let head = &bytes[..len + HEADER_SIZE];
        let signature: [u8; 64] = bytes[bytes.len() - 64..].try_into().unwrap();
        let count = layout::segment_count(plain.len() as u64);
        for (choice, expect, helped) in [
            (Choice::WebCrypto, "webcrypto", false),
            (Choice::WebCrypto, "webcrypto", true),
            (Choice::Wasm, "wasm", false),
        ] {
            set_cipher_helpers(if helped { js_sys::Array::of1(&helper) } else { js_sys::Array::new() });
            let engine = Engine::new(choice, segment_key.clone(), cipher.clone()).await.unwrap();
            assert_eq!(engine.name(), expect);
            // The engine deals segments in blocks of 4: with a helper, seal the
            // object twice over so the helper takes the second pass's first block.
            for pass in 0..if helped { 2 } else { 1 } {
                let mut out = head.to_vec();
                let mut content = SignedContent::new(&bytes[..len], &header.to_bytes());
                for i in 0..count {
                    let start = layout::plaintext_offset(i) as usize;
                    let end = (start + layout::plaintext_capacity(i)).min(plain.len());
                    let view = js_sys::Uint8Array::from(&plain[start..end]);
                    let sealed = engine.seal(cipher.nonce(i, i + 1 == count).unwrap(), &view).await.unwrap();
                    content.add_segment(&sealed.to_vec());
                    out.extend(sealed.to_vec());
                }
                assert!(out == bytes[..bytes.len() - 64], "{name}: the {expect} engine (helper {helped}, pass {pass}) sealed other bytes");
                preamble.verifying_key.verify(&content, &signature).unwrap();
            }
        }
        set_cipher_helpers(js_sys::Array::new());
        checked += 1;
    }
    assert!(checked >= 11, "positive vectors checked: {checked}");
    let helped = Reflect::get(&helper, &"calls".into()).unwrap().as_f64().unwrap();
    assert!(helped >= 4.0, "segments the helper sealed: {helped}");
}

/// A cipher call's failure as callers see it: only a segment that does not
/// verify (WebCrypto's OperationError on open) is `Corrupt`; a failure that
/// says nothing about the bytes (a cipher worker that died) is `Engine`.
#[wasm_bindgen_test]
fn cipher_failures_are_corrupt_only_when_a_segment_does_not_verify() {
    use s3seal::wasm::engine::Op;
    let dom = |name: &str| -> JsValue {
        let class: js_sys::Function = Reflect::get(&js_sys::global(), &"DOMException".into())
            .expect("DOMException")
            .unchecked_into();
        let args = js_sys::Array::of2(&"what the browser said".into(), &name.into());
        Reflect::construct(&class, &args).expect("a DOMException")
    };
    assert_eq!(code(&Op::Open.error(dom("OperationError"))), "Corrupt");
    assert_eq!(code(&Op::Open.error(dom("UnknownError"))), "Engine");
    assert_eq!(code(&Op::Open.error(dom("AbortError"))), "Engine");
    assert_eq!(code(&Op::Seal.error(dom("OperationError"))), "Engine");
    assert_eq!(code(&Op::Seal.error(js_sys::Error::new("thrown").into())), "Engine");
    // Errors that are already s3seal's keep their code.
    let ours = Key::from_text("not a key").err().expect("a bad key fails");
    let ours_code = code(&ours);
    assert_eq!(code(&Op::Open.error(ours)), ours_code);
    let message = Reflect::get(&Op::Open.error(dom("UnknownError")), &"message".into()).unwrap();
    assert_eq!(
        message.as_string().unwrap(),
        "the cipher engine failed: UnknownError: what the browser said"
    );
}

/// `OpenStream` on each engine opens every vector as the index says,
/// negative ones included, whatever the chunking: large chunks, and for
/// small objects chunks around the 64 bytes held back for the signature.
#[wasm_bindgen_test]
async fn open_stream_on_both_engines_agrees_with_the_index() {
    let runs = cases().into_iter().flat_map(|case| {
        let small = case.bytes.len() < 4096;
        [100_000usize, 65, 63].into_iter().filter(move |c| *c == 100_000 || small).map(move |c| (c, case.clone()))
    });
    let runs: Vec<_> = runs.collect();
    for engine in ["webcrypto", "wasm"] {
        for (chunk, Case { name, bytes, expect, plaintext_len: len, entry }) in runs.iter().cloned() {
            next_task().await;
            let key = key_for(entry);
            let outcome: Result<Vec<u8>, JsValue> = async {
                let mut opener = OpenStream::new(&key, engine_options(engine))?;
                if let Some(n) = entry.get("object_name").and_then(|n| n.as_str()) {
                    opener.expect_name(n)?;
                }
                let mut out = Vec::new();
                for piece in bytes.chunks(chunk) {
                    out.extend(pieces(opener.push(js_sys::Uint8Array::from(piece))?).await?);
                }
                out.extend(pieces(opener.finish()?).await?);
                Ok(out)
            }
            .await;
            match (outcome, expect) {
                (Ok(plain), "ok") => assert!(plain == vectors::plaintext(len), "{engine} {name} /{chunk}"),
                (Err(e), want) => assert_eq!(code(&e), want, "{engine} {name} /{chunk}"),
                (Ok(_), want) => panic!("{engine} {name} /{chunk}: opened, expected {want}"),
            }
        }
    }
}

/// What `SealStream` seals on one engine, the other engine and the
/// synchronous `Opener` open, across chunk sizes that split segments.
#[wasm_bindgen_test]
async fn seal_stream_output_opens_everywhere() {
    let key = Key::generate().unwrap();
    let plain = vectors::plaintext(900_001);
    for (seal_engine, open_engine) in [("webcrypto", "wasm"), ("wasm", "webcrypto")] {
        for chunk in [1usize << 20, 65_536, 262_088, 300_000] {
            next_task().await;
            let meta = js_sys::Object::new();
            Reflect::set(&meta, &"size".into(), &JsValue::from_f64(plain.len() as f64)).unwrap();
            let mut sealer = SealStream::new(&key, meta.into(), engine_options(seal_engine)).unwrap();
            let used = JsFuture::from(sealer.engine()).await.unwrap();
            assert_eq!(used.as_string().unwrap(), seal_engine);
            let mut sealed = Vec::new();
            for piece in plain.chunks(chunk) {
                sealed.extend(pieces(sealer.push(js_sys::Uint8Array::from(piece)).unwrap()).await.unwrap());
            }
            sealed.extend(pieces(sealer.finish().unwrap()).await.unwrap());
            assert_eq!(sealed.len() as f64, sealer.object_length(plain.len() as f64));
            let (opened, _) = open_all(&key, &sealed, 70_000).unwrap();
            assert!(opened == plain, "sync opener, {seal_engine} chunk {chunk}");
            let mut opener = OpenStream::new(&key, engine_options(open_engine)).unwrap();
            let mut out = pieces(opener.push(js_sys::Uint8Array::from(&sealed[..])).unwrap()).await.unwrap();
            out.extend(pieces(opener.finish().unwrap()).await.unwrap());
            assert!(out == plain, "{open_engine} opener, {seal_engine} chunk {chunk}");
        }
    }
}

// --- Recipient mode ----------------------------------------------------------

/// Sealed to a recipient through `SealStream`: the identity opens it (by
/// name too), another identity gets `WrongKey`, a root key `KeySource`, and
/// the sealer hands out no share key.
/// Pushes every chunk of `bytes` without awaiting, overwriting each with
/// garbage as soon as its push returned.
fn push_then_overwrite(
    mut push: impl FnMut(js_sys::Uint8Array) -> js_sys::Promise,
    bytes: &[u8],
    chunk: usize,
) -> Vec<js_sys::Promise> {
    let mut started = Vec::new();
    for piece in bytes.chunks(chunk) {
        let buffer = js_sys::Uint8Array::from(piece);
        started.push(push(buffer.clone()));
        buffer.fill(0xa5, 0, buffer.length());
    }
    started
}

async fn settled(started: Vec<js_sys::Promise>, finish: js_sys::Promise) -> Vec<u8> {
    let mut out = Vec::new();
    for promise in started.into_iter().chain([finish]) {
        out.extend(pieces(promise).await.unwrap());
    }
    out
}

/// `SealStream` and `OpenStream` are done with the caller's chunk (and with
/// their own reused segment buffer) when `push` returns: before the engine
/// is ready (the first pushes) and after, on both engines.
#[wasm_bindgen_test]
async fn streams_need_no_chunk_once_push_returned() {
    let key = Key::generate().unwrap();
    let plain = vectors::plaintext(600_007);
    for engine in ["webcrypto", "wasm"] {
        for chunk in [65_536usize, 100_000, 262_128] {
            next_task().await;
            let mut sealer = SealStream::new(&key, JsValue::UNDEFINED, engine_options(engine)).unwrap();
            let started = push_then_overwrite(|c| sealer.push(c).unwrap(), &plain, chunk);
            let sealed = settled(started, sealer.finish().unwrap()).await;
            let (opened, _) = open_all(&key, &sealed, 70_000).unwrap();
            assert!(opened == plain, "{engine} sealer, chunk {chunk}");

            let mut opener = OpenStream::new(&key, engine_options(engine)).unwrap();
            let started = push_then_overwrite(|c| opener.push(c).unwrap(), &sealed, chunk);
            let out = settled(started, opener.finish().unwrap()).await;
            assert!(out == plain, "{engine} opener, chunk {chunk}");
        }
    }
}

/// `SealStream.pushLent` uses a lent chunk until the next call returns,
/// and no longer: each chunk is overwritten right after the call that
/// follows its own. Chunks on segment boundaries (a complete segment ends
/// each, held as a view) and off them, objects that end on a boundary (the
/// last segment is a view at `finish`) and off one, both engines.
#[wasm_bindgen_test]
async fn lent_chunks_are_needed_only_until_the_next_call_returns() {
    use s3seal::wasm::segment_offset;
    let key = Key::generate().unwrap();
    let boundary = |k: u64| segment_offset(k as f64) as usize;
    for engine in ["webcrypto", "wasm"] {
        for len in [boundary(8), boundary(8) + 1_000] {
            let plain = vectors::plaintext(len);
            let aligned: Vec<usize> = (1..).map(|k| boundary(2 * k).min(len)).take_while(|&e| e < len).chain([len]).collect();
            let unaligned: Vec<usize> = (1..).map(|k| (k * 300_000).min(len)).take_while(|&e| e < len).chain([len]).collect();
            for ends in [aligned, unaligned] {
                next_task().await;
                let mut sealer = SealStream::new(&key, JsValue::UNDEFINED, engine_options(engine)).unwrap();
                let mut started = Vec::new();
                let mut lent: Option<js_sys::Uint8Array> = None;
                let mut at = 0;
                for end in &ends {
                    let chunk = js_sys::Uint8Array::from(&plain[at..*end]);
                    started.push(sealer.push_lent(chunk.clone()).unwrap());
                    if let Some(previous) = lent.replace(chunk) {
                        previous.fill(0xa5, 0, previous.length());
                    }
                    at = *end;
                }
                let finish = sealer.finish().unwrap();
                let last = lent.unwrap();
                last.fill(0xa5, 0, last.length());
                let sealed = settled(started, finish).await;
                let (opened, _) = open_all(&key, &sealed, 70_000).unwrap();
                assert!(opened == plain, "{engine}, {len} bytes, chunks ending at {ends:?}");
            }
        }
    }
}

#[wasm_bindgen_test]
async fn seal_stream_to_a_recipient_opens_only_with_its_identity() {
    use s3seal::wasm::Recipient;
    let identity = s3seal::Identity::from_bytes([0x21; 32]);
    let identity_key = Key::from_text(&identity.to_text()).unwrap();
    assert_eq!(identity_key.kind(), "identity");
    let recipient = Recipient::from_text(&identity.recipient().to_text()).unwrap();
    let plain = vectors::plaintext(600_000);
    let meta = js_sys::Object::new();
    Reflect::set(&meta, &"name".into(), &"scan.pdf".into()).unwrap();
    Reflect::set(&meta, &"size".into(), &JsValue::from_f64(plain.len() as f64)).unwrap();
    for engine in ["webcrypto", "wasm"] {
        next_task().await;
        let mut sealer = SealStream::to_recipient(&recipient, meta.clone().into(), engine_options(engine)).unwrap();
        let name = sealer.object_name();
        assert!(name.len() == 32 + 1 + 64 + 7 && name.ends_with(".s3seal"), "{name}");
        assert_eq!(code(&sealer.file_key().err().unwrap()), "InvalidInput");
        let mut sealed = Vec::new();
        for piece in plain.chunks(100_000) {
            sealed.extend(pieces(sealer.push(js_sys::Uint8Array::from(piece)).unwrap()).await.unwrap());
        }
        sealed.extend(pieces(sealer.finish().unwrap()).await.unwrap());
        let (opened, meta_out) = open_named(&identity_key, Some(&name), &sealed, 50_000).unwrap();
        assert!(opened == plain, "{engine}");
        assert_eq!(Reflect::get(&meta_out, &"name".into()).unwrap().as_string().unwrap(), "scan.pdf");
        // The SSE-C key a reader derives from the name alone is the sealer's.
        let from_name = js_sys::JSON::stringify(&identity_key.sse_c_headers(&name).unwrap()).unwrap();
        assert_eq!(from_name, js_sys::JSON::stringify(&sealer.sse_c_headers()).unwrap());
        let other = Key::from_text(&s3seal::Identity::from_bytes([0x22; 32]).to_text()).unwrap();
        assert_eq!(code(&open_all(&other, &sealed, 1 << 20).unwrap_err()), "WrongKey");
        assert_eq!(code(&open_all(&Key::generate().unwrap(), &sealed, 1 << 20).unwrap_err()), "KeySource");
        // Renamed under another object's encapsulated key.
        let renamed = format!("{}{}", &name[..33], "ab".repeat(32)) + ".s3seal";
        assert_eq!(code(&open_named(&identity_key, Some(&renamed), &sealed, 1 << 20).unwrap_err()), "NameMismatch");
    }
    // A mistyped public key fails its checksum, with a specific code.
    let mut typo = identity.recipient().to_text();
    typo.replace_range(20..21, if &typo[20..21] == "q" { "p" } else { "q" });
    assert_eq!(code(&Recipient::from_text(&typo).err().unwrap()), "InvalidKey");
}
