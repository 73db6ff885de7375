//! Small readers and writers of plain JS objects (options, requests, results).

use core::ops::RangeInclusive;

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::error::{JsResult, invalid};
use crate::format::Metadata;

/// `obj[field]`, or `undefined`.
pub fn get(obj: &JsValue, field: &str) -> JsValue {
    Reflect::get(obj, &field.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[field]` if it is a positive number, else `default`.
pub fn number(obj: &JsValue, field: &str, default: f64) -> f64 {
    get(obj, field)
        .as_f64()
        .filter(|n| *n > 0.0 && n.is_finite())
        .unwrap_or(default)
}

/// `obj[field]` if it is a string.
pub fn text(obj: &JsValue, field: &str) -> Option<String> {
    get(obj, field).as_string()
}

/// `obj[field] = value`.
pub fn set(obj: &Object, field: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &field.into(), &value.into());
}

/// Largest whole number a JS number holds exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `n` if it is a whole number in `range` (never NaN).
pub fn whole(n: f64, range: RangeInclusive<f64>) -> Option<u64> {
    (n.fract() == 0.0 && range.contains(&n)).then_some(n as u64)
}

/// `obj[field]`: absent (`undefined` or `null`), or a whole number in
/// `range`; anything else is `refused()`.
pub fn optional_whole(
    obj: &JsValue,
    field: &str,
    range: RangeInclusive<f64>,
    refused: impl FnOnce() -> JsValue,
) -> JsResult<Option<u64>> {
    let value = get(obj, field);
    if value.is_null_or_undefined() {
        return Ok(None);
    }
    let n = value.as_f64().and_then(|n| whole(n, range));
    n.map(Some).ok_or_else(refused)
}

/// `{ name, type, size }` as sealed metadata: strings or absent, and a
/// whole number of bytes or absent.
pub fn metadata_from_js(options: &JsValue) -> JsResult<Metadata> {
    let text = |field: &str| -> JsResult<String> {
        let v = get(options, field);
        match v.as_string() {
            Some(s) => Ok(s),
            None if v.is_null_or_undefined() => Ok(String::new()),
            None => Err(invalid(&format!("`{field}` must be a string"))),
        }
    };
    let size = optional_whole(options, "size", 0.0..=MAX_SAFE_INTEGER, || {
        invalid("`size` must be a whole number of bytes")
    })?;
    Ok(Metadata {
        name: text("name")?,
        media_type: text("type")?,
        size,
    })
}

/// Sealed metadata as `{ name, type, size }` (`size` null when unknown).
pub fn metadata_to_js(meta: &Metadata) -> Object {
    let obj = Object::new();
    set(&obj, "name", meta.name.as_str());
    set(&obj, "type", meta.media_type.as_str());
    let size = meta
        .size
        .map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64));
    set(&obj, "size", size);
    obj
}
