// Shared body of the wasm tests (included by web_node.rs and web_browser.rs):
// the JS boundary over the same checked-in vectors as the native tests.

use js_sys::{Float64Array, Reflect, Uint8Array};
use s3seal::wasm::{Key, OpenMachine, SealMachine, UploadSealer, WasmCipher, segment_digest};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::common::vectors;

fn code(err: &JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "errors are real Error objects");
    assert_eq!(Reflect::get(err, &"name".into()).unwrap().as_string().unwrap(), "S3sealError");
    Reflect::get(err, &"code".into()).unwrap().as_string().unwrap()
}

fn field(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &name.into()).unwrap()
}

fn bytes(obj: &JsValue, name: &str) -> Vec<u8> {
    Uint8Array::from(field(obj, name)).to_vec()
}

fn key_for(case: &serde_json::Value) -> Key {
    match (case.get("key"), case.get("passphrase")) {
        (Some(k), _) => Key::from_text(k.as_str().unwrap()).unwrap(),
        (_, Some(p)) => Key::from_passphrase(p.as_str().unwrap()).unwrap(),
        _ => panic!("no key"),
    }
}

/// Runs a machine's steps (`{ steps, ivs, released? }`, as they cross to
/// engine.ts) on the wasm cipher, as engine.ts does: holds go to `held`,
/// segments run from the chunk, the released bytes or `held`. Returns the
/// output and the SHA-256 of each segment as stored.
fn run(pushed: &JsValue, chunk: &[u8], held: &mut Vec<u8>, cipher: Option<&WasmCipher>, seal: bool) -> Result<(Vec<u8>, Vec<u8>), JsValue> {
    let released = if field(pushed, "released").is_undefined() { Vec::new() } else { bytes(pushed, "released") };
    let steps = Float64Array::from(field(pushed, "steps")).to_vec();
    let (mut out, mut digests) = (Vec::new(), Vec::new());
    for step in steps.chunks(6) {
        let (at, third, len) = (step[2] as usize, step[3] as usize, step[4] as usize);
        let piece = match step[1] as u8 {
            0 => released[at..at + len].to_vec(),
            1 => chunk[at..at + len].to_vec(),
            _ => std::mem::take(held),
        };
        assert_eq!(piece.len(), len);
        if step[0] == 0.0 {
            held.truncate(third);
            held.extend_from_slice(&piece);
            continue;
        }
        let cipher = cipher.expect("a cipher once segments come");
        let (index, last, input) = (step[3], step[5] == 1.0, Uint8Array::from(piece.as_slice()));
        let done = if seal { cipher.seal(index, last, &input)? } else { cipher.open(index, last, &input)? };
        let done = done.to_vec();
        digests.extend(segment_digest(if seal { &done } else { &piece }).to_vec());
        out.extend(done);
    }
    Ok((out, digests))
}

/// Opens `bytes` through the open machine and the wasm cipher, as the
/// package's wasm engine does, checking the name when given.
fn open_named(key: &Key, name: Option<&str>, bytes_: &[u8], chunk: usize) -> Result<(Vec<u8>, JsValue), JsValue> {
    let mut machine = OpenMachine::new(key);
    if let Some(name) = name {
        machine.expect_name(name)?;
    }
    let (mut out, mut held) = (Vec::new(), Vec::new());
    for piece in bytes_.chunks(chunk.max(1)) {
        let pushed: JsValue = machine.push(&piece.into())?.into();
        let (plain, digests) = run(&pushed, piece, &mut held, machine.cipher().as_ref(), false)?;
        machine.record(&digests)?;
        out.extend(plain);
    }
    let end = machine.finish()?;
    let rest = held.clone();
    if !end.is_undefined() {
        if let Ok((plain, digest)) = run(&end, &[], &mut held, machine.cipher().as_ref(), false) {
            let metadata = machine.verify(&digest)?;
            out.extend(plain);
            return Ok((out, metadata));
        }
    }
    // Why the end did not open: the first reading whose segments open,
    // over the held segment and the bytes held back after it.
    let mut tail = rest;
    tail.extend(machine.trailer()?.to_vec());
    for reading in machine.end_readings()?.iter() {
        if run(&reading, &tail, &mut Vec::new(), machine.cipher().as_ref(), false).is_ok() {
            return Err(field(&reading, "error"));
        }
    }
    // No reading opens: the package's engine throws `Corrupt` then.
    let corrupt = js_sys::Error::new("the object is corrupt or was tampered with");
    corrupt.set_name("S3sealError");
    js_sys::Reflect::set(&corrupt, &"code".into(), &"Corrupt".into())?;
    Err(corrupt.into())
}

fn open_all(key: &Key, bytes: &[u8], chunk: usize) -> Result<(Vec<u8>, JsValue), JsValue> {
    open_named(key, None, bytes, chunk)
}

/// Seals `plain` in `chunk`s through the seal machine and the wasm cipher.
fn seal(machine: &mut SealMachine, plain: &[u8], chunk: usize) -> Vec<u8> {
    let (mut out, mut held) = (Vec::new(), Vec::new());
    let cipher = machine.cipher();
    for piece in plain.chunks(chunk) {
        let pushed: JsValue = machine.push(piece.len() as f64).unwrap().into();
        if !field(&pushed, "head").is_undefined() {
            out.extend(bytes(&pushed, "head"));
        }
        let (sealed, digests) = run(&pushed, piece, &mut held, Some(&cipher), true).unwrap();
        machine.record(&digests).unwrap();
        out.extend(sealed);
    }
    let end: JsValue = machine.finish().unwrap().into();
    let (sealed, digests) = run(&end, &[], &mut held, Some(&cipher), true).unwrap();
    machine.record(&digests).unwrap();
    out.extend(sealed);
    out.extend(machine.signature().unwrap().to_vec());
    out
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
    let mut sealer = SealMachine::new(&key, meta.into()).unwrap();
    let sealed = seal(&mut sealer, &plain, 65_536);
    assert_eq!(sealed.len() as f64, sealer.object_length(700_000.0));
    let (opened, meta) = open_all(&key, &sealed, 100_000).unwrap();
    assert!(opened == plain);
    assert_eq!(field(&meta, "name").as_string().unwrap(), "photo.jpg");
    // Chunks that split segments anywhere open the same.
    assert!(open_all(&key, &sealed, 1_000).unwrap().0 == plain);
    // The share key opens it by name (only by name); another root key does not.
    let share = sealer.file_key().unwrap();
    assert_eq!(share.kind(), "file");
    assert!(open_named(&share, Some(&sealer.object_name()), &sealed, 1 << 20).is_ok());
    assert_eq!(code(&open_all(&share, &sealed, 1 << 20).unwrap_err()), "InvalidInput");
    let other = Key::generate().unwrap();
    assert_eq!(code(&open_all(&other, &sealed, 1 << 20).unwrap_err()), "WrongKey");
    // Without its signature it is refused; one bit flipped, it is corrupt.
    // (The vectors hold the truncations.)
    assert_eq!(code(&open_all(&key, &sealed[..sealed.len() - 64], 1 << 20).unwrap_err()), "BadSignature");
    let mut flipped = sealed.clone();
    flipped[300_000] ^= 1;
    assert_eq!(code(&open_all(&key, &flipped, 1 << 20).unwrap_err()), "Corrupt");
    // Same SSE-C headers from the sealer, the root key and the share key.
    let name = sealer.object_name();
    let a = js_sys::JSON::stringify(&sealer.sse_c_headers()).unwrap();
    let b = js_sys::JSON::stringify(&key.sse_c_headers(&name).unwrap()).unwrap();
    let c = js_sys::JSON::stringify(&share.sse_c_headers(&name).unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

/// Audit finding L5: no segment index is sealed over two different
/// plaintexts (AES-GCM nonce reuse): an upload part sealed again must
/// record the digests it recorded before, or it is refused (upload.ts then
/// sends nothing of it) and records nothing: the upload goes on, and its
/// object opens. Its resume state crosses as the store's JSON and resumes.
#[wasm_bindgen_test]
fn l5_a_part_sealed_again_over_other_bytes_is_refused() {
    let key = Key::generate().unwrap();
    let options = js_sys::Object::new();
    Reflect::set(&options, &"multipartThreshold".into(), &JsValue::from_f64(5.0 * 1048576.0)).unwrap();
    Reflect::set(&options, &"partSize".into(), &JsValue::from_f64(5.0 * 1048576.0)).unwrap();
    let size = 11 << 20;
    let mut upload = UploadSealer::with_key(&key, options.clone().into(), size as f64, None).unwrap();
    assert!(upload.multipart());
    upload.begin("<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>").unwrap();
    let plain = vectors::plaintext(size);
    let cipher = upload.cipher();
    let range = |upload: &UploadSealer, n: u32| {
        let part = upload.parts().get(n - 1);
        (field(&part, "start").as_f64().unwrap() as usize, field(&part, "end").as_f64().unwrap() as usize)
    };
    // A part's wire bytes (with the head for part 1), digests and tags.
    let seal_part = |upload: &UploadSealer, number: u16, plain: &[u8]| {
        let pushed: JsValue = upload.part_steps(number).unwrap().into();
        let (sealed, digests) = run(&pushed, plain, &mut Vec::new(), Some(&cipher), true).unwrap();
        let tags: Vec<u8> = sealed.chunks(s3seal::stream::SEGMENT_SIZE).flat_map(|s| s[s.len() - 16..].to_vec()).collect();
        let head = if field(&pushed, "head").is_undefined() { Vec::new() } else { bytes(&pushed, "head") };
        ([head, sealed].concat(), digests, tags)
    };
    let mut object = Vec::new();
    let mut state = None;
    for n in 1..=3u16 {
        let (start, end) = range(&upload, u32::from(n));
        let (wire, digests, tags) = seal_part(&upload, n, &plain[start..end]);
        let fingerprint = upload.record_part(n, &digests, &tags).unwrap();
        if n == 2 {
            // Again, same bytes: the same fingerprint.
            let (_, again, again_tags) = seal_part(&upload, 2, &plain[start..end]);
            assert_eq!(upload.record_part(2, &again, &again_tags).unwrap(), fingerprint);
            let mut other = plain[start..end].to_vec();
            other[100] ^= 1;
            let (_, changed, changed_tags) = seal_part(&upload, 2, &other);
            let refused = upload.record_part(2, &changed, &changed_tags).unwrap_err();
            assert_eq!(code(&refused), "InvalidInput");
            let message = field(&refused, "message").as_string().unwrap();
            assert!(message.contains("already sealed"), "{message}");
            // Digests that do not match the part's segments are refused too.
            assert_eq!(code(&upload.record_part(2, &digests[32..], &tags[16..]).unwrap_err()), "InvalidInput");
            assert_eq!(code(&upload.record_part(2, &digests[..31], &tags).unwrap_err()), "Engine");
        }
        state = upload.record_sealed(n, fingerprint).unwrap().or(state);
        object.extend(wire);
    }
    object.extend(upload.signature().unwrap().to_vec());
    assert_eq!(object.len() as f64, upload.object_length());
    let (opened, _) = open_named(&key, Some(&upload.object_name()), &object, 1 << 20).unwrap();
    assert!(opened == plain, "the refused attempt changed nothing");
    // The store's text: the core's one spelling, and it resumes the upload.
    let state = state.expect("a state to store");
    let json: serde_json::Value = serde_json::from_str(&state).unwrap();
    let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["commitment", "object", "partSize", "parts", "random", "sealed", "uploadId", "v"]);
    assert_eq!(json["sealed"].as_array().unwrap().len(), 3);
    let again = UploadSealer::with_key(&key, options.into(), size as f64, Some(state)).unwrap();
    assert!(again.resuming());
    assert_eq!(again.object_name(), upload.object_name());
    assert_eq!(again.verify().length(), 3);
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
    assert_eq!(code(&SealMachine::new(&key, meta.into()).err().unwrap()), "InvalidInput");
    // Numbers from JS: whole, in range, or (where optional) absent.
    let with = |field: &str, value: JsValue| {
        let o = js_sys::Object::new();
        Reflect::set(&o, &field.into(), &value).unwrap();
        JsValue::from(o)
    };
    for bad in [JsValue::from_f64(1.5), JsValue::from_str("5"), JsValue::from_f64(f64::NAN)] {
        assert_eq!(code(&SealMachine::new(&key, with("size", bad)).err().unwrap()), "InvalidInput");
    }
    assert!(SealMachine::new(&key, with("size", JsValue::NULL)).is_ok());
    let mut machine = SealMachine::new(&key, JsValue::UNDEFINED).unwrap();
    for bad in [-1.0, 1.5, 4294967296.0, f64::NAN] {
        assert_eq!(code(&machine.push(bad).unwrap_err()), "InvalidInput", "{bad}");
    }
    use s3seal::wasm::manifest_text;
    let upload = |share: JsValue| UploadSealer::with_key(&key, with("share", share), 10.0, None);
    for bad in [with("downloads", JsValue::from_f64(0.0)), with("expiresSecs", JsValue::from_f64(1.5)), with("downloads", JsValue::from_str("3"))] {
        assert_eq!(code(&upload(bad).err().unwrap()), "InvalidInput");
    }
    assert!(upload(with("downloads", JsValue::NULL)).is_ok());
    assert!(upload(with("expiresSecs", JsValue::from_f64(60.0))).is_ok());
    let entry = js_sys::Object::new();
    for (field, value) in [("path", "a.txt"), ("objectName", &*"00".repeat(16)), ("fileKey", &*key.file_key(&"00".repeat(16)).unwrap().to_text().unwrap())] {
        Reflect::set(&entry, &field.into(), &value.into()).unwrap();
    }
    Reflect::set(&entry, &"size".into(), &JsValue::from_f64(3.0)).unwrap();
    assert!(manifest_text(js_sys::Array::of1(&entry)).is_ok());
    Reflect::set(&entry, &"size".into(), &JsValue::from_f64(-3.0)).unwrap();
    assert_eq!(code(&manifest_text(js_sys::Array::of1(&entry)).unwrap_err()), "InvalidInput");
    let share = Key::from_text(&key.file_key(&"00".repeat(16)).unwrap().to_text().unwrap()).unwrap();
    assert_eq!(code(&SealMachine::new(&share, JsValue::UNDEFINED).err().unwrap()), "InvalidInput");
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
