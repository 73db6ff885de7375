//! The S3 XML a transfer reads: whatever a store (or something in front of
//! it) answers, the reader ends without panicking, and what it writes reads
//! back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::transfer::xml;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = xml::upload_id(text) {
        assert!(!id.is_empty());
    }
    if let Some(code) = xml::error_code(text) {
        assert!(xml::is_error(text) && code.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    let _ = xml::element(text, "Code");
    // Escaping is undone exactly, and what is escaped holds no markup.
    let escaped = xml::escape(text);
    assert!(!escaped.contains('<'));
    assert_eq!(xml::unescape(&escaped).as_deref(), Some(text));
    let body = xml::complete_multipart(&mut [(2, text.to_owned()), (1, "\"e\"".to_owned())]);
    assert_eq!(xml::element(&body, "ETag").as_deref(), Some("\"e\""), "in part order");
    assert!(!xml::is_error(&body));
});
