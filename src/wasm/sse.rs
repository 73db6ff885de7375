//! S3 SSE header sets as plain JS objects (`{ name: value }`).

use wasm_bindgen::prelude::*;

use super::error::{JsResult, js};
use super::key::Key;

pub(crate) fn headers_object(headers: &crate::sse::Headers) -> js_sys::Object {
    let obj = js_sys::Object::new();
    for (name, value) in headers {
        let _ = js_sys::Reflect::set(&obj, &(*name).into(), &value.into());
    }
    obj
}

/// SSE-C headers of an object for `key` (algorithm, base64 key, base64 MD5).
#[wasm_bindgen(js_name = sseCHeaders)]
pub fn sse_c_headers(key: &Key, object_name: &str) -> JsResult<js_sys::Object> {
    key.sse_c_headers(object_name)
}

/// SSE-S3 headers (`x-amz-server-side-encryption: AES256`).
#[wasm_bindgen(js_name = sseS3Headers)]
pub fn sse_s3_headers() -> js_sys::Object {
    headers_object(&crate::sse::sse_s3())
}

/// SSE-KMS headers, with an optional KMS key id.
#[wasm_bindgen(js_name = sseKmsHeaders)]
pub fn sse_kms_headers(key_id: Option<String>) -> JsResult<js_sys::Object> {
    Ok(headers_object(&js(crate::sse::sse_kms(key_id.as_deref()))?))
}

/// Throws unless SSE-C key material may go to `endpoint` (https, or http on loopback).
#[wasm_bindgen(js_name = checkSseCEndpoint)]
pub fn check_sse_c_endpoint(endpoint: &str) -> JsResult<()> {
    check_sse_c_url(endpoint)
}

/// The in-transit rule on a URL as the browser's own `URL` parses it, the
/// parser `fetch` uses: `http://evil\@127.0.0.1/` is a request to `evil`.
pub(crate) fn check_sse_c_url(url: &str) -> JsResult<()> {
    let parsed = web_sys::Url::new(url).map_err(|_| super::error::invalid("not a URL"))?;
    js(crate::sse::transport_allows_sse_c(
        &parsed.protocol(),
        &parsed.hostname(),
    ))
}
