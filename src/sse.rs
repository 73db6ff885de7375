//! S3 server-side-encryption request headers, as name/value pairs ready to be
//! signed into a presigned URL or set on a request.
//!
//! SSE is *in addition to* the client-side sealing: S3 encrypts the (already
//! sealed) bytes at rest. It never encrypts object metadata, which is why the
//! filename and media type live sealed inside the object.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::key::{KEY_SIZE, SseCKey};

/// `x-amz-server-side-encryption`.
pub const SSE: &str = "x-amz-server-side-encryption";
/// `x-amz-server-side-encryption-aws-kms-key-id`.
pub const SSE_KMS_KEY_ID: &str = "x-amz-server-side-encryption-aws-kms-key-id";
/// `x-amz-server-side-encryption-customer-algorithm`.
pub const SSE_C_ALGORITHM: &str = "x-amz-server-side-encryption-customer-algorithm";
/// `x-amz-server-side-encryption-customer-key` (base64 of the 32-byte key).
pub const SSE_C_KEY: &str = "x-amz-server-side-encryption-customer-key";
/// `x-amz-server-side-encryption-customer-key-MD5` (base64 of the key's MD5).
pub const SSE_C_KEY_MD5: &str = "x-amz-server-side-encryption-customer-key-MD5";

/// A set of request headers. Values of SSE-C sets contain key material: do not
/// log them.
pub type Headers = Vec<(&'static str, String)>;

/// SSE-C headers for `key`: algorithm `AES256`, base64 key, base64 MD5 of the key.
/// S3 (AWS) accepts these over HTTPS only.
pub fn sse_c(key: &SseCKey) -> Headers {
    let digest = Md5::digest(key.as_bytes());
    vec![
        (SSE_C_ALGORITHM, "AES256".to_owned()),
        (SSE_C_KEY, STANDARD.encode(key.as_bytes())),
        (SSE_C_KEY_MD5, STANDARD.encode(digest)),
    ]
}

/// Parses an SSE-C key given as base64 (as it appears in the header).
pub fn sse_c_key_from_base64(text: &str) -> Result<SseCKey> {
    let bytes = zeroize::Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| Error::InvalidBase64("SSE-C key"))?,
    );
    let bytes: [u8; KEY_SIZE] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::InvalidKey("an SSE-C key must be 32 bytes (AES-256)"))?;
    Ok(SseCKey::from_bytes(bytes))
}

/// Checks a received SSE-C header set: algorithm `AES256`, a 32-byte base64
/// key, and an MD5 that matches it.
pub fn check_sse_c(algorithm: &str, key_base64: &str, md5_base64: &str) -> Result<SseCKey> {
    if algorithm != "AES256" {
        return Err(Error::InvalidInput("SSE-C algorithm must be AES256"));
    }
    let key = sse_c_key_from_base64(key_base64)?;
    let md5 = STANDARD
        .decode(md5_base64.trim())
        .map_err(|_| Error::InvalidBase64("SSE-C key MD5"))?;
    if md5.as_slice() != Md5::digest(key.as_bytes()).as_slice() {
        return Err(Error::InvalidKey(
            "the SSE-C key MD5 does not match the key",
        ));
    }
    Ok(key)
}

/// SSE-S3 headers: S3-managed keys.
pub fn sse_s3() -> Headers {
    vec![(SSE, "AES256".to_owned())]
}

/// SSE-KMS headers, with an optional KMS key id or ARN (else the account's
/// default `aws/s3` key).
pub fn sse_kms(key_id: Option<&str>) -> Result<Headers> {
    let mut headers = vec![(SSE, "aws:kms".to_owned())];
    if let Some(id) = key_id {
        if id.is_empty() || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::InvalidInput(
                "a KMS key id has no spaces or control characters",
            ));
        }
        headers.push((SSE_KMS_KEY_ID, id.to_owned()));
    }
    Ok(headers)
}

/// Whether SSE-C key material may be sent to a URL with this `scheme` and
/// `host`: HTTPS, or plain HTTP to a loopback host (a local test server).
/// Anything else is [`Error::InsecureEndpoint`].
///
/// Both parts must come from a WHATWG URL parser (the `url` crate natively,
/// the browser's own `URL` in wasm, the one `fetch` uses), never from slicing
/// the text: `http://evil\@127.0.0.1/` goes to `evil`. `scheme` may carry
/// `URL.protocol`'s trailing colon; `host` is the parsed host name, an IPv6
/// address in brackets.
pub fn transport_allows_sse_c(scheme: &str, host: &str) -> Result<()> {
    let scheme = scheme.strip_suffix(':').unwrap_or(scheme);
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(Error::InsecureEndpoint);
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<core::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<core::net::Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(Error::InsecureEndpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_c_rejects_bad_keys_specifically() {
        assert_eq!(
            sse_c_key_from_base64("not base64!").unwrap_err(),
            Error::InvalidBase64("SSE-C key")
        );
        assert!(matches!(
            sse_c_key_from_base64("AAAA").unwrap_err(),
            Error::InvalidKey(_)
        ));
        let headers = sse_c(&SseCKey::from_bytes([0; 32]));
        assert!(check_sse_c("AES256", &headers[1].1, &headers[2].1).is_ok());
        assert!(matches!(
            check_sse_c("AES256", &headers[1].1, "1B2M2Y8AsgTpgAmY7PhCfg=="),
            Err(Error::InvalidKey(_))
        ));
        assert!(check_sse_c("aws:kms", &headers[1].1, &headers[2].1).is_err());
    }

    #[test]
    fn sse_s3_and_kms() {
        assert_eq!(sse_s3(), vec![(SSE, "AES256".to_owned())]);
        assert_eq!(sse_kms(None).unwrap(), vec![(SSE, "aws:kms".to_owned())]);
        assert_eq!(
            sse_kms(Some("alias/x")).unwrap()[1],
            (SSE_KMS_KEY_ID, "alias/x".to_owned())
        );
        assert!(sse_kms(Some("a b")).is_err());
    }

    #[test]
    fn sse_c_needs_https_except_on_loopback() {
        for (scheme, host) in [
            ("https", "s3.amazonaws.com"),
            ("https:", "10.0.0.1"),
            ("http", "127.0.0.1"),
            ("http:", "127.1.2.3"),
            ("HTTP", "localhost"),
            ("http", "[::1]"),
        ] {
            assert!(
                transport_allows_sse_c(scheme, host).is_ok(),
                "{scheme} {host}"
            );
        }
        for (scheme, host) in [
            ("http", "s3.amazonaws.com"),
            ("http", "127.0.0.1.evil.com"),
            ("http", "localhost.evil"),
            ("ftp", "127.0.0.1"),
            ("http", "10.0.0.1"),
            ("http", "evil"),
            ("http", "127.0.0.x"),
            ("http", "::1"),
            ("http", ""),
        ] {
            assert_eq!(
                transport_allows_sse_c(scheme, host),
                Err(Error::InsecureEndpoint),
                "{scheme} {host}"
            );
        }
    }
}
