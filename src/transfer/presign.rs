//! The presign contract, one request per S3 operation on one object, as the
//! browser, `push` and `serve` all speak it (README, "Presign API"). The
//! client asks for a [`Request`]; the backend answers with a [`Presigned`]
//! request the client makes as it is.
//!
//! The request carries at most the object's SSE-C key (which opens nothing
//! without the file key); never a file key, root key or passphrase.

use crate::error::Result;
use crate::key::SseCKey;

/// The S3 operations a backend presigns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum Op {
    /// PutObject: the whole object in one request.
    Put,
    /// CreateMultipartUpload.
    CreateMultipart,
    /// UploadPart.
    UploadPart,
    /// CompleteMultipartUpload.
    CompleteMultipart,
    /// AbortMultipartUpload.
    AbortMultipart,
    /// HeadObject.
    Head,
    /// GetObject.
    Get,
}

impl Op {
    /// Every operation, in the contract's order.
    pub const ALL: [Op; 7] = [
        Op::Put,
        Op::CreateMultipart,
        Op::UploadPart,
        Op::CompleteMultipart,
        Op::AbortMultipart,
        Op::Head,
        Op::Get,
    ];

    /// Its name in the JSON contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::CreateMultipart => "createMultipart",
            Op::UploadPart => "uploadPart",
            Op::CompleteMultipart => "completeMultipart",
            Op::AbortMultipart => "abortMultipart",
            Op::Head => "head",
            Op::Get => "get",
        }
    }

    /// Whether it writes object bytes (and so must not replace an object).
    pub fn writes(self) -> bool {
        matches!(self, Op::Put | Op::CompleteMultipart)
    }

    /// Whether it carries the object's SSE-C headers: every operation that
    /// sends or reads object bytes or asks about them. Completing or
    /// aborting an upload moves no bytes, and S3 does not ask for the key.
    pub fn keyed(self) -> bool {
        !matches!(self, Op::CompleteMultipart | Op::AbortMultipart)
    }

    /// Whether it is the object's first write, which carries its sharing
    /// terms (a PUT, or the multipart upload's creation).
    pub fn creates(self) -> bool {
        matches!(self, Op::Put | Op::CreateMultipart)
    }

    /// Whether it names a multipart upload by its id.
    pub fn in_upload(self) -> bool {
        matches!(
            self,
            Op::UploadPart | Op::CompleteMultipart | Op::AbortMultipart
        )
    }
}

/// An object's SSE-C headers as the contract carries them; the key and its
/// MD5 are wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct SseC {
    /// Always `AES256`.
    pub algorithm: String,
    /// Base64 of the 32-byte SSE-C key.
    pub key: String,
    /// Base64 of the key's MD5.
    pub key_md5: String,
}

impl SseC {
    /// The headers of `key`.
    pub fn from_key(key: &SseCKey) -> Self {
        let mut headers = crate::sse::sse_c(key).into_iter().map(|(_, v)| v);
        let mut next = || headers.next().unwrap_or_default();
        Self {
            algorithm: next(),
            key: next(),
            key_md5: next(),
        }
    }

    /// The key, if the three values agree (algorithm, base64, MD5).
    pub fn check(&self) -> Result<SseCKey> {
        crate::sse::check_sse_c(&self.algorithm, &self.key, &self.key_md5)
    }
}

impl Drop for SseC {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key.zeroize();
        self.key_md5.zeroize();
    }
}

impl core::fmt::Debug for SseC {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key and its MD5 are key material (the MD5 confirms guesses).
        f.debug_struct("SseC")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("key_md5", &"<redacted>")
            .finish()
    }
}

/// One presign request. A backend refuses unknown fields, so a client that
/// sends more than it should fails loudly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct Request {
    /// The operation.
    pub op: Op,
    /// The object's name without the backend's prefix:
    /// `<32 hex>[.<64 hex>].s3seal`.
    pub object: String,
    /// The object's SSE-C headers, for a backend that uses SSE-C.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sse_c: Option<SseC>,
    /// `put`: the object's size; `uploadPart`: the part's size;
    /// `createMultipart` and `completeMultipart`: the object's total size.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub size: Option<u64>,
    /// The multipart upload's id.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub upload_id: Option<String>,
    /// The part's number, from 1.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub part_number: Option<u16>,
    /// Sharing terms (expiry, download limit, the owner's delete-token
    /// hash), with the first write of an object only.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub share: Option<super::share::Terms>,
}

impl Request {
    /// A request for `op` on `object`, nothing else set.
    pub fn new(op: Op, object: impl Into<String>) -> Self {
        Self {
            op,
            object: object.into(),
            sse_c: None,
            size: None,
            upload_id: None,
            part_number: None,
            share: None,
        }
    }

    /// With the object's SSE-C headers.
    pub fn sse_c(mut self, sse_c: Option<&SseC>) -> Self {
        self.sse_c = sse_c.cloned();
        self
    }

    /// With a size (see [`Request::size`]).
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// With sharing terms (the first write of an object).
    pub fn share(mut self, terms: Option<super::share::Terms>) -> Self {
        self.share = terms;
        self
    }

    /// With a multipart upload's id and, for a part, its number.
    pub fn upload(mut self, upload_id: &str, part_number: Option<u16>) -> Self {
        self.upload_id = Some(upload_id.into());
        self.part_number = part_number;
        self
    }
}

/// A presigned request for the client to make as it is: its headers were
/// signed into the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Presigned {
    /// HTTP method.
    pub method: String,
    /// The presigned URL.
    pub url: String,
    /// Headers to send with it, exactly (a JSON object in the contract; a
    /// list here, which keeps the wasm module small).
    #[cfg_attr(feature = "serde", serde(default, with = "header_map"))]
    pub headers: Vec<(String, String)>,
}

/// `Vec<(String, String)>` as a JSON object.
#[cfg(feature = "serde")]
mod header_map {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(headers: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(headers.iter().map(|(k, v)| (k, v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Headers;
        impl<'de> Visitor<'de> for Headers {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an object of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Headers)
    }
}

/// Whether `url`'s query names the SSE-C key as a server reads it: URL
/// parsers drop tabs and newlines anywhere, and S3 decodes percent-encoded
/// names, so `customer-\tkey` or `customer%2Dkey` is the key too.
fn key_in_query(url: &str) -> bool {
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        percent_decoded(name).eq_ignore_ascii_case(crate::sse::SSE_C_KEY)
    })
}

/// `text` with its `%XX` escapes decoded (anything else kept as it is).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| core::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a client refuses a presigned request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The URL's query names the SSE-C key, where logs and proxies keep it.
    KeyInQuery,
    /// The SSE-C key would go over plain http to a host that is not loopback.
    Insecure,
}

impl Refusal {
    /// Its stable code: `Presign` (the presigner's fault) or
    /// `InsecureEndpoint` (the endpoint's).
    pub fn code(self) -> &'static str {
        match self {
            Refusal::KeyInQuery => "Presign",
            Refusal::Insecure => crate::Error::InsecureEndpoint.code(),
        }
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::KeyInQuery => f.write_str(
                "the presigned URL carries the SSE-C key in its query string; a presigner must sign it as a header",
            ),
            Refusal::Insecure => core::fmt::Display::fmt(&crate::Error::InsecureEndpoint, f),
        }
    }
}

impl Presigned {
    /// Whether it carries SSE-C key material in a header.
    pub fn carries_sse_c_key(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(crate::sse::SSE_C_KEY))
    }

    /// Refuses a request that would expose SSE-C key material: with the key
    /// in the URL (where logs and proxies keep it), or over plain http to
    /// anything but loopback. `scheme` and `host` are the URL's as the
    /// host's WHATWG parser reads them (see
    /// [`crate::sse::transport_allows_sse_c`]).
    pub fn check(&self, scheme: &str, host: &str) -> core::result::Result<(), Refusal> {
        if self
            .url
            .to_ascii_lowercase()
            .contains("x-amz-server-side-encryption-customer-key=")
            || key_in_query(&self.url)
        {
            return Err(Refusal::KeyInQuery);
        }
        if self.carries_sse_c_key() && crate::sse::transport_allows_sse_c(scheme, host).is_err() {
            return Err(Refusal::Insecure);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presigned(url: &str, with_key: bool) -> Presigned {
        let mut headers = Vec::new();
        if with_key {
            headers.push((crate::sse::SSE_C_KEY.to_ascii_lowercase(), "k".into()));
        }
        Presigned {
            method: "PUT".into(),
            url: url.into(),
            headers,
        }
    }

    #[test]
    fn which_operations_carry_the_key_the_terms_and_the_upload_id() {
        use Op::*;
        let having = |f: fn(Op) -> bool| Op::ALL.into_iter().filter(|o| f(*o)).collect::<Vec<_>>();
        assert_eq!(
            having(Op::keyed),
            [Put, CreateMultipart, UploadPart, Head, Get]
        );
        assert_eq!(having(Op::creates), [Put, CreateMultipart]);
        assert_eq!(
            having(Op::in_upload),
            [UploadPart, CompleteMultipart, AbortMultipart]
        );
        assert_eq!(having(Op::writes), [Put, CompleteMultipart]);
    }

    #[test]
    fn key_material_stays_in_headers_and_off_plain_http() {
        let p = presigned("https://s3.example/b/o?X-Amz-Signature=1", true);
        assert!(p.check("https:", "s3.example").is_ok());
        let leak = presigned(
            "https://s3.example/b/o?X-Amz-Server-Side-Encryption-Customer-Key=abc",
            false,
        );
        let refusal = leak.check("https:", "s3.example").unwrap_err();
        assert_eq!((refusal, refusal.code()), (Refusal::KeyInQuery, "Presign"));
        assert!(refusal.to_string().contains("query"));
        let plain = presigned("http://s3.example/b/o", true);
        let refusal = plain.check("http:", "s3.example").unwrap_err();
        assert_eq!(
            (refusal, refusal.code()),
            (Refusal::Insecure, "InsecureEndpoint")
        );
        assert!(refusal.to_string().starts_with("insecure endpoint"));
        assert!(
            presigned("http://127.0.0.1:3900/b/o", true)
                .check("http:", "127.0.0.1")
                .is_ok()
        );
        assert!(
            presigned("http://s3.example/b/o", false)
                .check("http:", "s3.example")
                .is_ok(),
            "no key, no rule: SSE-S3 over http is the backend's choice"
        );
    }

    #[test]
    fn the_key_is_found_in_a_query_however_it_is_spelled() {
        // What URL parsers and S3 read as the key's own query name.
        for url in [
            "https://s3.example/b/o?x-amz-server-side-encryption-customer-\tkey=abc",
            "https://s3.example/b/o?x-amz-server-side-encryption-customer%2Dkey=abc",
            "https://s3.example/b/o?a=1&X-AMZ-SERVER-SIDE-ENCRYPTION-CUSTOMER-KEY=abc",
            "https://s3.example/b/o?x-amz-server-side-encryption-customer-key",
            "https://s3.example/b/o?%78-amz-server-side-encryption-customer-key=abc",
        ] {
            let leak = presigned(url, false);
            assert_eq!(
                leak.check("https:", "s3.example"),
                Err(Refusal::KeyInQuery),
                "{url}"
            );
        }
        for url in [
            "https://s3.example/b/o?x-amz-server-side-encryption-customer-key-md5=m",
            "https://s3.example/b/o#x-amz-server-side-encryption-customer-key",
            "https://s3.example/b/o?x-amz-server-side-encryption-customer%2",
        ] {
            assert!(
                presigned(url, false).check("https:", "s3.example").is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn sse_c_round_trips_and_hides_its_key() {
        let key = SseCKey::from_bytes([7; 32]);
        let c = SseC::from_key(&key);
        assert_eq!(c.algorithm, "AES256");
        assert_eq!(c.check().unwrap().as_bytes(), key.as_bytes());
        let shown = format!("{c:?}");
        assert_eq!(
            shown,
            r#"SseC { algorithm: "AES256", key: "<redacted>", key_md5: "<redacted>" }"#
        );
        let mut bad = c.clone();
        bad.key_md5 = "AAAAAAAAAAAAAAAAAAAAAA==".into();
        assert!(bad.check().is_err());
    }

    #[test]
    fn op_names_are_the_contracts() {
        for (op, name) in [
            (Op::Put, "put"),
            (Op::CreateMultipart, "createMultipart"),
            (Op::UploadPart, "uploadPart"),
            (Op::CompleteMultipart, "completeMultipart"),
            (Op::AbortMultipart, "abortMultipart"),
            (Op::Head, "head"),
            (Op::Get, "get"),
        ] {
            assert_eq!(op.as_str(), name);
            #[cfg(feature = "serde")]
            assert_eq!(serde_json::to_string(&op).unwrap(), format!("\"{name}\""));
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn presigned_headers_are_a_json_object() {
        let json = r#"{"method":"PUT","url":"https://s3.example/b/o","headers":{"if-none-match":"*","x-amz-a":"1"},"expiresIn":300}"#;
        let p: Presigned = serde_json::from_str(json).unwrap();
        assert_eq!(
            p.headers,
            [
                ("if-none-match".to_string(), "*".to_string()),
                ("x-amz-a".into(), "1".into())
            ]
        );
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(
            back["headers"],
            serde_json::json!({ "if-none-match": "*", "x-amz-a": "1" })
        );
        let none: Presigned = serde_json::from_str(r#"{"method":"GET","url":"u"}"#).unwrap();
        assert!(none.headers.is_empty());
        let err = serde_json::from_str::<Presigned>(r#"{"method":"GET","url":"u","headers":[1]}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("an object of header names to values"),
            "{err}"
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn requests_refuse_unknown_fields() {
        let ok: Request = serde_json::from_str(
            r#"{"op":"uploadPart","object":"x","size":5,"uploadId":"u","partNumber":2}"#,
        )
        .unwrap();
        assert_eq!(
            ok,
            Request::new(Op::UploadPart, "x")
                .size(5)
                .upload("u", Some(2))
        );
        let bad: core::result::Result<Request, _> =
            serde_json::from_str(r#"{"op":"put","object":"x","fileKey":"s3seal-file-…"}"#);
        assert!(bad.is_err(), "unknown fields are refused");
        let round = serde_json::to_string(&ok).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&round).unwrap(), ok);
    }
}
