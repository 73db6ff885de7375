//! The reference presign policy and signer behind `s3seal serve`.
//!
//! The browser asks for one presigned request at a time (a small JSON API,
//! documented in the README). The backend never sees a file key or a root
//! key: at most the derived SSE-C key, which it must sign into the URL because
//! S3 (and Garage) reject unsigned `x-amz-*` headers. Policy: object names are
//! s3seal object names confined to one prefix, URLs expire quickly, sizes are
//! capped and signed, an unencrypted upload is never presigned, a write never
//! replaces an object (`If-None-Match: *` signed in; `serve` also checks that
//! the key is free, for stores that ignore the condition), and an upload form
//! neither reads nor takes anything but objects sealed to its public key.

use std::time::Duration;

use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, GetObject, HeadObject,
    PutObject, UploadPart,
};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde::{Deserialize, Serialize};

pub use s3seal::part::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
/// Longest expiry we ever sign, in seconds.
pub const MAX_EXPIRY_SECS: u64 = 3600;

/// Which server-side encryption uploads must use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SseMode {
    /// SSE-C: the client supplies the (derived) key with every request.
    SseC,
    /// SSE-S3: S3-managed keys.
    SseS3,
    /// SSE-KMS with the configured key id (or the default key).
    SseKms,
}

/// Backend configuration (from the environment; see `serve`).
#[derive(Clone)]
pub struct Config {
    pub endpoint: url::Url,
    pub region: String,
    pub bucket: String,
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: String,
    pub prefix: String,
    pub expiry: Duration,
    pub max_size: u64,
    pub sse: SseMode,
    pub kms_key_id: Option<String>,
    /// An upload form (sealed to a public key): only recipient-mode names may
    /// be written, and nothing may be read.
    pub form: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("expiry", &self.expiry)
            .field("max_size", &self.max_size)
            .field("sse", &self.sse)
            .field("kms_key_id", &self.kms_key_id)
            .field("form", &self.form)
            .finish()
    }
}

/// The SSE-C headers as the browser sends them to the backend.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SseC {
    pub algorithm: String,
    pub key: String,
    pub key_md5: String,
}

impl std::fmt::Debug for SseC {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and its MD5 are key material (the MD5 confirms guesses).
        f.debug_struct("SseC")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("key_md5", &"<redacted>")
            .finish()
    }
}

/// Operations the backend presigns.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    Put,
    CreateMultipart,
    UploadPart,
    CompleteMultipart,
    AbortMultipart,
    Head,
    Get,
}

/// One presign request. Unknown fields are refused, so a client bug that
/// sends more than it should fails loudly.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    pub op: Op,
    /// The object's name without the prefix: `<32 hex>.s3seal`.
    pub object: String,
    #[serde(default)]
    pub sse_c: Option<SseC>,
    /// `put`: the object's size; `uploadPart`: the part's size;
    /// `createMultipart` and `completeMultipart`: the object's total size.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub part_number: Option<u16>,
}

/// A presigned request for the browser to make.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub method: &'static str,
    pub url: String,
    /// Headers the client must send as they are (they were signed).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_in: u64,
    /// The object's full key in the bucket.
    pub key: String,
}

/// Why a request was refused (the message is safe to show and log).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(msg.into()))
}

/// One part of a multipart upload, as S3's ListParts reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartInfo {
    pub number: u16,
    pub size: u64,
}

/// `If-None-Match: *` on a write: S3 refuses to replace an existing object
/// (412). AWS honours it on PUT and CompleteMultipartUpload; Garage 2.5
/// ignores it, which is why `serve` also checks that the key is free.
pub const NO_OVERWRITE: (&str, &str) = ("if-none-match", "*");
/// CompleteMultipartUpload header: AWS refuses (400) to complete an upload
/// whose parts do not add up to this size, so the declared size binds.
pub const MP_OBJECT_SIZE: &str = "x-amz-mp-object-size";

/// Signs presigned URLs under a policy.
pub struct Presigner {
    config: Config,
    bucket: Bucket,
    credentials: Credentials,
}

impl Presigner {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        if config.sse == SseMode::SseC {
            crate::transport::check_sse_c(&config.endpoint)?;
        }
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            config.endpoint.clone(),
            style,
            config.bucket.clone(),
            config.region.clone(),
        )?;
        let credentials = Credentials::new(config.access_key.clone(), config.secret_key.clone());
        Ok(Self {
            config,
            bucket,
            credentials,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bucket and credentials this presigner signs with (for the
    /// requests `serve` makes itself).
    pub fn signer(&self) -> (&Bucket, &Credentials) {
        (&self.bucket, &self.credentials)
    }

    /// The bucket key of an object name (already checked by [`Self::presign`]).
    pub fn object_key(&self, object: &str) -> String {
        format!("{}{}", self.config.prefix, object)
    }

    /// The origin browsers reach the bucket at (for the page's CSP).
    pub fn s3_origin(&self) -> String {
        self.bucket.object_url("x").map_or_else(
            |_| self.config.endpoint.origin().ascii_serialization(),
            |u| u.origin().ascii_serialization(),
        )
    }

    /// Checks the parts S3 holds before a CompleteMultipartUpload is signed:
    /// numbered 1..=n without gaps, all but the last at least the minimum part
    /// size, the total within the cap and equal to the declared size. Parts
    /// are signed one at a time, so only this sees the whole.
    pub fn check_parts(&self, parts: &[PartInfo], declared: u64) -> Result<(), Refused> {
        let mut numbers: Vec<u16> = parts.iter().map(|p| p.number).collect();
        numbers.sort_unstable();
        if numbers.is_empty() || numbers.iter().zip(1u16..).any(|(&n, want)| n != want) {
            return refuse("the upload's parts are not numbered 1..=n");
        }
        let total: u64 = parts.iter().map(|p| p.size).sum();
        if total > self.config.max_size {
            return refuse(format!(
                "object too large: its parts hold {total} bytes > {} bytes",
                self.config.max_size
            ));
        }
        let last = parts.iter().map(|p| p.number).max().unwrap_or(0);
        if parts
            .iter()
            .any(|p| p.number != last && p.size < MIN_PART_SIZE)
        {
            return refuse("every part but the last must be at least 5 MiB");
        }
        if declared != total {
            return refuse(format!(
                "the parts hold {total} bytes, not the declared {declared}"
            ));
        }
        Ok(())
    }

    /// Checks the request against the policy and signs it.
    pub fn presign(&self, req: &Request) -> Result<Response, Refused> {
        const NAME_RULE: &str =
            "object must be an s3seal object name: <32 hex digits>[.<64 hex digits>].s3seal";
        let name =
            s3seal::key::ObjectName::parse(&req.object).map_err(|_| Refused(NAME_RULE.into()))?;
        if req.object != name.to_string() {
            return refuse(NAME_RULE);
        }
        if self.config.form {
            if name.encapsulated.is_none() {
                return refuse(
                    "this upload form takes only objects sealed to its public key: <32 hex>.<64 hex>.s3seal",
                );
            }
            if matches!(req.op, Op::Head | Op::Get) {
                return refuse("an upload form does not hand out downloads");
            }
        }
        let key = self.object_key(&req.object);
        let mut headers: Vec<(String, String)> = Vec::new();
        let needs_sse_c = matches!(
            req.op,
            Op::Put | Op::CreateMultipart | Op::UploadPart | Op::Head | Op::Get
        );
        match (self.config.sse, &req.sse_c) {
            (SseMode::SseC, Some(c)) if needs_sse_c || req.op == Op::CompleteMultipart => {
                let checked = s3seal::sse::check_sse_c(&c.algorithm, &c.key, &c.key_md5)
                    .map_err(|e| Refused(format!("bad SSE-C headers: {e}")))?;
                for (name, value) in s3seal::sse::sse_c(&checked) {
                    headers.push((name.to_owned(), value));
                }
            }
            (SseMode::SseC, None) if needs_sse_c => {
                return refuse("this backend requires SSE-C: send the object's SSE-C headers");
            }
            (SseMode::SseC, _) => {}
            (_, Some(_)) => return refuse("this backend does not use SSE-C"),
            (SseMode::SseS3, None) if matches!(req.op, Op::Put | Op::CreateMultipart) => {
                headers.extend(
                    s3seal::sse::sse_s3()
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v)),
                );
            }
            (SseMode::SseKms, None) if matches!(req.op, Op::Put | Op::CreateMultipart) => {
                let set = s3seal::sse::sse_kms(self.config.kms_key_id.as_deref())
                    .map_err(|e| Refused(e.to_string()))?;
                headers.extend(set.into_iter().map(|(k, v)| (k.to_owned(), v)));
            }
            (_, None) => {}
        }

        // Sizes: a PUT or a part carries a signed Content-Length, so the cap holds.
        let mut content_length = None;
        // The declared size, required for `what`, and within the cap.
        let capped = |what: &str| -> Result<u64, Refused> {
            let size = req
                .size
                .ok_or_else(|| Refused(format!("{what} needs the object's total size")))?;
            if size > self.config.max_size {
                return refuse(format!(
                    "object too large: {size} bytes > {} bytes",
                    self.config.max_size
                ));
            }
            Ok(size)
        };
        match req.op {
            Op::Put => {
                let size = capped("put")?;
                if size > MAX_PART_SIZE {
                    return refuse("a single PUT is at most 5 GiB: use a multipart upload");
                }
                content_length = Some(size);
            }
            Op::CreateMultipart => {
                capped("createMultipart")?;
            }
            Op::UploadPart => {
                let size = req
                    .size
                    .ok_or_else(|| Refused("uploadPart needs the part's size".into()))?;
                if size > MAX_PART_SIZE || size > self.config.max_size {
                    return refuse("part too large");
                }
                content_length = Some(size);
            }
            Op::CompleteMultipart => {
                // Required: without it, parts added after the ListParts check
                // would go uncounted even where the store enforces the size.
                let size = capped("completeMultipart")?;
                headers.push((MP_OBJECT_SIZE.to_owned(), size.to_string()));
            }
            _ => {}
        }
        if let Some(len) = content_length {
            headers.push(("content-length".to_owned(), len.to_string()));
        }
        if matches!(req.op, Op::Put | Op::CompleteMultipart) {
            headers.push((NO_OVERWRITE.0.to_owned(), NO_OVERWRITE.1.to_owned()));
        }

        let upload_id = || {
            req.upload_id
                .as_deref()
                .ok_or_else(|| Refused("uploadId is required".into()))
        };
        let part_number = || match req.part_number {
            Some(n) if (1..=MAX_PARTS).contains(&u64::from(n)) => Ok(n),
            _ => refuse("partNumber must be 1..=10000"),
        };
        let b = &self.bucket;
        let c = Some(&self.credentials);
        let expiry = self.config.expiry;
        macro_rules! sign {
            ($action:expr) => {{
                let mut action = $action;
                // SigV4 canonical headers are lowercase; rusty-s3 signs names as given.
                for (name, value) in &headers {
                    action
                        .headers_mut()
                        .insert(name.to_ascii_lowercase(), value.clone());
                }
                action.sign(expiry)
            }};
        }
        let (method, url) = match req.op {
            Op::Put => ("PUT", sign!(PutObject::new(b, c, &key))),
            Op::CreateMultipart => ("POST", sign!(CreateMultipartUpload::new(b, c, &key))),
            Op::UploadPart => (
                "PUT",
                sign!(UploadPart::new(b, c, &key, part_number()?, upload_id()?)),
            ),
            Op::CompleteMultipart => (
                "POST",
                sign!(CompleteMultipartUpload::new(
                    b,
                    c,
                    &key,
                    upload_id()?,
                    std::iter::empty::<&str>()
                )),
            ),
            Op::AbortMultipart => (
                "DELETE",
                sign!(AbortMultipartUpload::new(b, c, &key, upload_id()?)),
            ),
            Op::Head => ("HEAD", sign!(HeadObject::new(b, c, &key))),
            Op::Get => ("GET", sign!(GetObject::new(b, c, &key))),
        };
        // The browser sets Content-Length itself (it may not set it by hand).
        let headers = headers
            .into_iter()
            .filter(|(name, _)| name != "content-length")
            .collect();
        Ok(Response {
            method,
            url: url.to_string(),
            headers,
            expires_in: expiry.as_secs(),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presigner(sse: SseMode) -> Presigner {
        Presigner::new(Config {
            endpoint: "http://127.0.0.1:3900".parse().unwrap(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            path_style: true,
            access_key: "GK0000".into(),
            secret_key: "secret".into(),
            prefix: "uploads/".into(),
            expiry: Duration::from_secs(300),
            max_size: 100 << 20,
            sse,
            kms_key_id: None,
            form: false,
        })
        .unwrap()
    }

    fn sse_c() -> SseC {
        let headers = s3seal::sse::sse_c(&s3seal::key::SseCKey::from_bytes([7; 32]));
        SseC {
            algorithm: "AES256".into(),
            key: headers[1].1.clone(),
            key_md5: headers[2].1.clone(),
        }
    }

    fn req(op: Op) -> Request {
        Request {
            op,
            object: format!("{}.s3seal", "ab".repeat(16)),
            sse_c: Some(sse_c()),
            size: Some(1000),
            upload_id: Some("u1".into()),
            part_number: Some(1),
        }
    }

    #[test]
    fn signs_sse_c_headers_and_content_length() {
        let r = presigner(SseMode::SseC).presign(&req(Op::Put)).unwrap();
        assert_eq!(r.method, "PUT");
        assert!(
            r.url.starts_with("http://127.0.0.1:3900/b/uploads/abab"),
            "{}",
            r.url
        );
        assert!(r.url.contains("X-Amz-SignedHeaders=content-length%3Bhost%3Bif-none-match%3Bx-amz-server-side-encryption-customer-algorithm"), "{}", r.url);
        assert!(r.url.contains("X-Amz-Expires=300"));
        assert_eq!(
            r.headers.len(),
            4,
            "the three SSE-C headers and if-none-match, not content-length"
        );
        assert!(
            !r.url.contains(&sse_c().key),
            "the key is a header, never in the URL"
        );
    }

    #[test]
    fn refuses_what_the_policy_forbids() {
        let p = presigner(SseMode::SseC);
        let mut r = req(Op::Put);
        r.sse_c = None;
        assert!(p.presign(&r).unwrap_err().0.contains("requires SSE-C"));
        let mut r = req(Op::Put);
        r.object = "../etc/passwd".into();
        assert!(p.presign(&r).is_err());
        let mut r = req(Op::Put);
        r.object = format!("x/{}.s3seal", "ab".repeat(16));
        assert!(p.presign(&r).is_err(), "no path components");
        let mut r = req(Op::Put);
        r.size = Some(200 << 20);
        assert!(p.presign(&r).unwrap_err().0.contains("too large"));
        let mut r = req(Op::UploadPart);
        r.part_number = Some(10_001);
        assert!(p.presign(&r).is_err());
        let mut r = req(Op::Put);
        r.sse_c.as_mut().unwrap().key_md5 = "AAAAAAAAAAAAAAAAAAAAAA==".into();
        assert!(p.presign(&r).unwrap_err().0.contains("MD5"));
        let bad: Result<Request, _> =
            serde_json::from_str(r#"{"op":"put","object":"x","fileKey":"s3seal-file-…"}"#);
        assert!(bad.is_err(), "unknown fields are refused");
    }

    #[test]
    fn sse_s3_mode_adds_its_header_and_refuses_sse_c() {
        let p = presigner(SseMode::SseS3);
        let mut r = req(Op::Put);
        r.sse_c = None;
        let resp = p.presign(&r).unwrap();
        assert_eq!(
            resp.headers
                .get("x-amz-server-side-encryption")
                .map(String::as_str),
            Some("AES256")
        );
        assert!(p.presign(&req(Op::Put)).is_err());
    }

    #[test]
    fn refuses_sse_c_over_plain_http_to_a_remote_host() {
        let mut config = presigner(SseMode::SseC).config;
        config.endpoint = "http://s3.example.com".parse().unwrap();
        assert!(Presigner::new(config).is_err());
    }

    fn recipient_name() -> String {
        format!("{}.{}.s3seal", "ab".repeat(16), "cd".repeat(32))
    }

    #[test]
    fn h1_writes_carry_if_none_match() {
        let p = presigner(SseMode::SseC);
        for op in [Op::Put, Op::CompleteMultipart] {
            let r = p.presign(&req(op)).unwrap();
            assert_eq!(
                r.headers.get("if-none-match").map(String::as_str),
                Some("*"),
                "{op:?}"
            );
            assert!(r.url.contains("if-none-match"), "signed: {}", r.url);
        }
        for op in [
            Op::UploadPart,
            Op::CreateMultipart,
            Op::Get,
            Op::Head,
            Op::AbortMultipart,
        ] {
            assert!(
                !p.presign(&req(op))
                    .unwrap()
                    .headers
                    .contains_key("if-none-match"),
                "{op:?}"
            );
        }
    }

    #[test]
    fn m3_complete_binds_the_declared_size() {
        let p = presigner(SseMode::SseC);
        let r = p.presign(&req(Op::CompleteMultipart)).unwrap();
        assert_eq!(
            r.headers.get(MP_OBJECT_SIZE).map(String::as_str),
            Some("1000")
        );
        let mut big = req(Op::CompleteMultipart);
        big.size = Some(101 << 20);
        assert!(p.presign(&big).unwrap_err().0.contains("too large"));
        let mut undeclared = req(Op::CompleteMultipart);
        undeclared.size = None;
        assert!(p.presign(&undeclared).unwrap_err().0.contains("total size"));
    }

    #[test]
    fn m3_parts_over_the_cap_or_off_plan_are_refused() {
        let p = presigner(SseMode::SseC); // cap 100 MiB
        let part = |number, size| PartInfo { number, size };
        let mib = 1u64 << 20;
        assert!(
            p.check_parts(&[part(1, 8 * mib), part(2, 3 * mib)], 11 * mib)
                .is_ok()
        );
        assert!(
            p.check_parts(&[part(2, 3 * mib), part(1, 8 * mib)], 11 * mib)
                .is_ok()
        );
        let over: Vec<_> = (1..=13).map(|n| part(n, 8 * mib)).collect();
        assert!(
            p.check_parts(&over, 104 * mib)
                .unwrap_err()
                .0
                .contains("too large")
        );
        assert!(
            p.check_parts(&[part(1, 8 * mib)], 7 * mib)
                .unwrap_err()
                .0
                .contains("declared")
        );
        assert!(
            p.check_parts(&[part(1, mib), part(2, mib)], 2 * mib)
                .unwrap_err()
                .0
                .contains("5 MiB")
        );
        assert!(
            p.check_parts(&[part(1, 8 * mib), part(3, mib)], 9 * mib)
                .unwrap_err()
                .0
                .contains("1..=n")
        );
        assert!(p.check_parts(&[], 0).is_err());
    }

    #[test]
    fn m4_form_mode_takes_only_recipient_names_and_reads_nothing() {
        let mut config = presigner(SseMode::SseC).config;
        config.form = true;
        let p = Presigner::new(config).unwrap();
        let keyed = req(Op::Put);
        assert!(
            p.presign(&keyed)
                .unwrap_err()
                .0
                .contains("sealed to its public key")
        );
        for op in [
            Op::Put,
            Op::CreateMultipart,
            Op::UploadPart,
            Op::CompleteMultipart,
            Op::AbortMultipart,
        ] {
            let mut r = req(op);
            r.object = recipient_name();
            assert!(p.presign(&r).is_ok(), "{op:?}");
        }
        for op in [Op::Get, Op::Head] {
            let mut r = req(op);
            r.object = recipient_name();
            assert!(p.presign(&r).unwrap_err().0.contains("downloads"), "{op:?}");
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let p = presigner(SseMode::SseC);
        let config = format!("{:?}", p.config());
        assert!(!config.contains("secret\""), "{config}");
        assert!(config.contains("<redacted>"));
        let r = req(Op::Put);
        let shown = format!("{r:?}");
        let sse = sse_c();
        assert!(
            !shown.contains(&sse.key) && !shown.contains(&sse.key_md5),
            "{shown}"
        );
    }
}
