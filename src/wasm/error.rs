//! Core errors -> JS `Error { name: "S3sealError", code, message }`.

use wasm_bindgen::JsValue;

/// Builds the JS error for a core error. Messages never contain key material.
pub fn to_js(err: crate::Error) -> JsValue {
    with_code(err.code(), &err.to_string())
}

/// A JS error with an explicit code (for failures of the boundary itself,
/// such as a wrong argument type).
pub fn with_code(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("S3sealError");
    let _ = js_sys::Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

/// `InvalidInput` for an argument the boundary refuses (`what` says why).
pub fn invalid(what: &str) -> JsValue {
    with_code("InvalidInput", &format!("invalid input: {what}"))
}

/// The JS error for a request that failed with `fault` after `attempts`:
/// its `code`, with `status` and `partNumber` where known.
pub fn fault_error(
    fault: &crate::transfer::retry::Fault,
    part_number: Option<u16>,
    what: &str,
    attempts: u32,
) -> JsValue {
    use wasm_bindgen::JsCast;
    let e = with_code(fault.code(), &fault.describe(what, attempts));
    if let Some(status) = fault.status() {
        super::field::set(e.unchecked_ref(), "status", status);
    }
    if let Some(n) = part_number {
        super::field::set(e.unchecked_ref(), "partNumber", n);
    }
    e
}

/// `Result` of the boundary.
pub type JsResult<T> = Result<T, JsValue>;

/// Maps a core result.
pub fn js<T>(r: crate::Result<T>) -> JsResult<T> {
    r.map_err(to_js)
}
