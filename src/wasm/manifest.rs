//! Manifests (FORMAT.md §10) across the boundary: the core writes and reads
//! them; JS only seals, uploads and opens the bytes.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use super::error::{invalid, js, with_code};
use super::field::{MAX_SAFE_INTEGER, get, set, text, whole};
use crate::manifest::{Entry, Manifest};
use crate::{FileKey, ObjectName};

fn field(entry: &JsValue, name: &str) -> Result<String, JsValue> {
    text(entry, name).ok_or_else(|| invalid(&format!("a manifest entry needs `{name}`")))
}

/// The text of a manifest listing `entries` (`[{ path, objectName, fileKey,
/// size, type }]`, `fileKey` as `s3seal-file-…`), refused as a reader
/// would refuse it (a path leaving its folder, a path or object twice).
#[wasm_bindgen(js_name = manifestText)]
pub fn manifest_text(entries: Array) -> Result<Uint8Array, JsValue> {
    let mut manifest = Manifest::default();
    for entry in entries.iter() {
        let size = (get(&entry, "size").as_f64())
            .and_then(|n| whole(n, 0.0..=MAX_SAFE_INTEGER))
            .ok_or_else(|| invalid("a manifest entry's size is a whole number of bytes"))?;
        js(manifest.push(Entry {
            path: field(&entry, "path")?,
            object: js(ObjectName::parse(&field(&entry, "objectName")?))?,
            file_key: js(FileKey::from_text(&field(&entry, "fileKey")?))?,
            size,
            media_type: text(&entry, "type").unwrap_or_default(),
        }))?;
    }
    Ok(Uint8Array::from(manifest.to_text().as_bytes()))
}

/// The files a manifest's plaintext lists, checked (FORMAT.md §10):
/// `[{ path, objectName, fileKey, size, type }]`.
#[wasm_bindgen(js_name = parseManifest)]
pub fn parse_manifest(text: &[u8]) -> Result<Array, JsValue> {
    let manifest = js(Manifest::parse(text))?;
    let out = Array::new();
    for e in manifest.entries() {
        // A JS number holds sizes exactly up to 2^53 - 1 only.
        if e.size as f64 > MAX_SAFE_INTEGER {
            return Err(with_code(
                "Malformed",
                "malformed: a listed file is larger than this browser can count",
            ));
        }
        let o = Object::new();
        set(&o, "path", e.path.as_str());
        set(&o, "objectName", e.object.to_string());
        set(&o, "fileKey", e.file_key.to_text().as_str());
        set(&o, "size", e.size as f64);
        set(&o, "type", e.media_type.as_str());
        out.push(&o);
    }
    Ok(out)
}
