//! Pure checks the page and the package need before they act: what type
//! and name opened bytes may carry, and whether a passphrase is strong
//! enough to seal with. The core decides; this only translates.

use wasm_bindgen::prelude::*;

use super::field::set;
use crate::passphrase::{self, MIN_PASSPHRASE_BITS};

/// The type to give a Blob of bytes opened from an object whose sealed type
/// is `mediaType`: an inert image, audio or video type, or
/// `application/octet-stream` (never HTML, SVG, XML, PDF, text or script,
/// which could run in the page's origin from a `blob:` URL).
#[wasm_bindgen(js_name = inertMediaType)]
pub fn inert_media_type(media_type: &str) -> String {
    crate::format::inert_media_type(media_type).to_owned()
}

/// As `inertMediaType`, for the package's Service Worker's answers (with
/// `nosniff` and a CSP sandbox): PDF keeps its type there, for the
/// browser's viewer. Frame it only where that viewer is isolated from the
/// page (not Chromium's). Not for `blob:` URLs.
#[wasm_bindgen(js_name = sandboxedMediaType)]
pub fn sandboxed_media_type(media_type: &str) -> String {
    crate::format::sandboxed_media_type(media_type).to_owned()
}

/// A safe file name for the name sealed in an object (invisible and bidi
/// characters dropped, no path, no hidden or device names), or `undefined`
/// when nothing usable is left: the page shows it and saves under it.
#[wasm_bindgen(js_name = safeFileName)]
pub fn safe_file_name(sealed: &str) -> Option<String> {
    crate::filename::safe_file_name(sealed)
}

/// `{ bits, strong, minimumBits, weakness, reason }` for `text`: the
/// estimated guessing entropy, whether sealing may use it, the floor, and
/// when it is below the floor a stable `weakness` code (`"Empty"`,
/// `"FewWords"`, `"Repetitive"`, `"Short"`, `"Predictable"`) and a sentence
/// for a person.
/// Opening never needs this: any passphrase may open.
#[wasm_bindgen(js_name = passphraseStrength)]
pub fn passphrase_strength(text: &str) -> js_sys::Object {
    let s = passphrase::strength(text);
    let out = js_sys::Object::new();
    // One decimal: the estimate is no finer than that.
    set(&out, "bits", (s.bits * 10.0).floor() / 10.0);
    set(&out, "strong", s.is_strong());
    set(&out, "minimumBits", MIN_PASSPHRASE_BITS);
    let (code, reason) = match s.weakness {
        Some(w) => (JsValue::from(w.code()), JsValue::from(w.reason())),
        None => (JsValue::NULL, JsValue::NULL),
    };
    set(&out, "weakness", code);
    set(&out, "reason", reason);
    out
}

/// The `S3sealError` for a read S3 refused (`WrongKey`, `Expired`, `Http`
/// with `status`), as the core classifies the answer.
#[wasm_bindgen(js_name = readRefusal)]
pub fn read_refusal(status: u16, body: &str, what: &str) -> JsValue {
    let fault = crate::transfer::retry::classify_read(status, body)
        .unwrap_or(crate::transfer::retry::Fault::Http { status });
    super::error::fault_error(&fault, None, what, 1)
}
