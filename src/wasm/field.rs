//! Small readers and writers of plain JS objects (options, requests, results).

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

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
