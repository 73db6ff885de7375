//! The little S3 XML a transfer reads and writes: the upload id of
//! CreateMultipartUpload, the `<Code>` of an error document (S3 may answer
//! 200 with one to CompleteMultipartUpload), and the body of
//! CompleteMultipartUpload. Listing pages are parsed by `rusty-s3` in the CLI.
//!
//! Reading is deliberately shallow: the first element of a name, its text
//! with the XML entities decoded. It never allocates more than its input.

use std::borrow::Cow;

/// The text of the first `<tag>` element in `xml`, entities decoded; `None`
/// if there is none, it is not closed, or it holds markup. S3 puts no
/// attributes on the elements read here (only on the root).
pub fn element<'a>(xml: &'a str, tag: &str) -> Option<Cow<'a, str>> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    let text = &xml[start..end];
    if text.contains('<') {
        return None;
    }
    unescape(text)
}

/// Decodes the five named entities and numeric character references.
pub fn unescape(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('&') {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp + 1..];
        let semi = tail.find(';')?;
        out.push(match &tail[..semi] {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            entity => char_reference(entity)?,
        });
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// `#65` or `#x41` as its character (by hand: a number parser would grow
/// the wasm module more than this whole reader).
fn char_reference(entity: &str) -> Option<char> {
    let digits = entity.strip_prefix('#')?;
    let (digits, radix) = match digits.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let mut code = 0u32;
    for c in digits.chars() {
        code = code * radix + c.to_digit(radix)?;
    }
    char::from_u32(code)
}

/// Escapes text for an XML element: `&` and `<` must be, `>` is for
/// readers that are strict about `]]>`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The upload id in CreateMultipartUpload's answer.
pub fn upload_id(xml: &str) -> Option<String> {
    element(xml, "UploadId")
        .filter(|id| !id.is_empty())
        .map(Cow::into_owned)
}

/// Whether `xml` is an S3 error document (its root element is `<Error>`).
pub fn is_error(xml: &str) -> bool {
    // The root is the first tag that is not the prolog, a comment or a
    // doctype (`<?`, `<!`).
    let Some(root) = xml
        .split('<')
        .skip(1)
        .find(|tag| !tag.starts_with(['?', '!']))
    else {
        return false;
    };
    root.strip_prefix("Error")
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c == '>' || c.is_ascii_whitespace())
}

/// The `<Code>` of an error document, if `xml` is one: safe to show (it is
/// S3's word, such as `NoSuchKey`), and never carries a header or URL.
pub fn error_code(xml: &str) -> Option<String> {
    if !is_error(xml) {
        return None;
    }
    element(xml, "Code")
        .filter(|c| !c.is_empty() && c.len() <= 64 && c.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(Cow::into_owned)
}

/// The body of CompleteMultipartUpload for `parts` (number, ETag), which it
/// puts in part order.
pub fn complete_multipart(parts: &mut [(u16, String)]) -> String {
    parts.sort_unstable_by_key(|(n, _)| *n);
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts.iter() {
        xml.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
            escape(etag)
        ));
    }
    xml.push_str("</CompleteMultipartUpload>");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_upload_id_of_aws_and_garage() {
        let aws = r#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(upload_id(aws).as_deref(), Some("VXBsb2FkIElE&x"));
        let garage = "<InitiateMultipartUploadResult xmlns=\"x\"><UploadId>0123abcd</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(upload_id(garage).as_deref(), Some("0123abcd"));
        assert_eq!(
            upload_id("<UploadIdX>1</UploadIdX>"),
            None,
            "not a prefix match"
        );
        assert_eq!(
            upload_id("<UploadId>1</UploadIdX>"),
            None,
            "closed by another tag"
        );
        assert_eq!(upload_id("<UploadId>1"), None);
        assert_eq!(
            upload_id("<UploadId>1<b/></UploadId>"),
            None,
            "markup is not an id"
        );
        assert_eq!(upload_id("<UploadId></UploadId>"), None, "empty is no id");
        assert_eq!(upload_id("<UploadId>&bogus;</UploadId>"), None);
    }

    #[test]
    fn error_documents_are_told_from_results() {
        let err = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidPart</Code><Message>m</Message></Error>";
        assert!(is_error(err));
        assert_eq!(error_code(err).as_deref(), Some("InvalidPart"));
        let ok = "<CompleteMultipartUploadResult><Location>x</Location><ETag>&quot;e-2&quot;</ETag></CompleteMultipartUploadResult>";
        assert!(!is_error(ok));
        assert_eq!(error_code(ok), None);
        // A result naming an object "<Error>" is not an error.
        assert!(!is_error(
            "<CompleteMultipartUploadResult><Key>&lt;Error&gt;</Key></CompleteMultipartUploadResult>"
        ));
        assert!(!is_error("<Errors/>"));
        assert!(is_error(
            "<!-- c --><Error xmlns=\"x\"><Code>A</Code></Error>"
        ));
        assert!(!is_error(""));
        assert_eq!(
            error_code("<Error><Code>a&lt;b</Code></Error>"),
            None,
            "codes are words"
        );
    }

    #[test]
    fn completion_lists_parts_in_order_escaped() {
        let xml = complete_multipart(&mut [(2, "\"b\"".into()), (1, "\"a&<\"".into())]);
        assert_eq!(
            xml,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a&amp;&lt;\"</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag></Part></CompleteMultipartUpload>"
        );
        assert_eq!(
            element(&xml, "ETag").as_deref(),
            Some("\"a&<\""),
            "round trip"
        );
    }

    #[test]
    fn entities_decode_exactly() {
        assert_eq!(
            unescape("a&lt;&gt;&amp;&quot;&apos;&#65;&#x42;").as_deref(),
            Some("a<>&\"'AB")
        );
        assert_eq!(unescape("&#xD800;"), None, "not a char");
        assert_eq!(unescape("&#x;"), None);
        assert_eq!(unescape("&#99999999999;"), None, "no overflow");
        assert_eq!(unescape("&#1f;"), None);
        assert_eq!(
            unescape("&#x0001F600;&#00000065;").as_deref(),
            Some("\u{1F600}A"),
            "eight digits are fine"
        );
        assert_eq!(unescape("&amp"), None, "unterminated");
        assert_eq!(escape("plain"), Cow::Borrowed("plain"));
    }
}
