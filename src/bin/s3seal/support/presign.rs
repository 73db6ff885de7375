//! The signer behind `s3seal serve`: the policy's decisions
//! ([`s3seal::transfer::policy`]) signed with the backend's credentials.
//!
//! The browser asks for one presigned request at a time (the presign
//! contract, [`s3seal::transfer::presign`], documented in the README). The
//! backend never sees a file key or a root key: at most the derived SSE-C
//! key, which it must sign into the URL because S3 (and Garage) reject
//! unsigned `x-amz-*` headers.

use std::time::Duration;

use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, GetObject, HeadObject,
    PutObject, UploadPart,
};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use s3seal::transfer::policy::{PartInfo, Permit, Policy, Refused};
use s3seal::transfer::presign::{Op, Presigned, Request};
use serde::Serialize;

pub use s3seal::transfer::plan::{MAX_PARTS, MIN_PART_SIZE};
pub use s3seal::transfer::policy::SseMode;
/// Longest expiry we ever sign, in seconds.
pub const MAX_EXPIRY_SECS: u64 = 3600;

/// Backend configuration (from the environment; see `serve`).
#[derive(Clone)]
pub struct Config {
    pub endpoint: url::Url,
    pub region: String,
    pub bucket: String,
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: String,
    pub expiry: Duration,
    pub policy: Policy,
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
            .field("expiry", &self.expiry)
            .field("policy", &self.policy)
            .finish()
    }
}

/// A presigned request for the browser to make, with what it is for.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    #[serde(flatten)]
    pub presigned: Presigned,
    pub expires_in: u64,
    /// The object's full key in the bucket.
    pub key: String,
}

/// Signs presigned URLs under a policy.
pub struct Presigner {
    config: Config,
    bucket: Bucket,
    credentials: Credentials,
}

impl Presigner {
    pub fn new(config: Config) -> anyhow::Result<Self> {
        if config.policy.sse == SseMode::SseC {
            crate::support::transport::check_sse_c(&config.endpoint)?;
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

    /// The origin browsers reach the bucket at (for the page's CSP).
    pub fn s3_origin(&self) -> String {
        self.bucket.object_url("x").map_or_else(
            |_| self.config.endpoint.origin().ascii_serialization(),
            |u| u.origin().ascii_serialization(),
        )
    }

    /// See [`Policy::check_parts`].
    pub fn check_parts(&self, parts: &[PartInfo], declared: u64) -> Result<(), Refused> {
        self.config.policy.check_parts(parts, declared)
    }

    /// Checks the request against the policy and signs it.
    pub fn presign(&self, req: &Request) -> Result<(Permit, Response), Refused> {
        let permit = self.config.policy.permit(req)?;
        let response = self.sign(&permit);
        Ok((permit, response))
    }

    fn sign(&self, permit: &Permit) -> Response {
        self.sign_for(permit, self.config.expiry)
    }

    /// Signs `permit` for at most `expiry` (and never past the configured
    /// lifetime): a URL that dies with the share it reads.
    pub fn sign_for(&self, permit: &Permit, expiry: Duration) -> Response {
        let expiry = expiry.clamp(Duration::from_secs(1), self.config.expiry);
        let mut headers = permit.headers.clone();
        if let Some(len) = permit.content_length {
            headers.push(("content-length".to_owned(), len.to_string()));
        }
        let (b, c, key) = (&self.bucket, Some(&self.credentials), permit.key.as_str());
        // The policy checked that these are present for the ops that use them.
        let upload_id = permit.upload_id.as_deref().unwrap_or_default();
        let part_number = permit.part_number.unwrap_or(1);
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
        let (method, url) = match permit.op {
            Op::Put => ("PUT", sign!(PutObject::new(b, c, key))),
            Op::CreateMultipart => ("POST", sign!(CreateMultipartUpload::new(b, c, key))),
            Op::UploadPart => (
                "PUT",
                sign!(UploadPart::new(b, c, key, part_number, upload_id)),
            ),
            Op::CompleteMultipart => (
                "POST",
                sign!(CompleteMultipartUpload::new(
                    b,
                    c,
                    key,
                    upload_id,
                    std::iter::empty::<&str>()
                )),
            ),
            Op::AbortMultipart => (
                "DELETE",
                sign!(AbortMultipartUpload::new(b, c, key, upload_id)),
            ),
            Op::Head => ("HEAD", sign!(HeadObject::new(b, c, key))),
            Op::Get => ("GET", sign!(GetObject::new(b, c, key))),
        };
        // The browser sets Content-Length itself (it may not set it by hand).
        let headers = headers
            .into_iter()
            .filter(|(name, _)| name != "content-length")
            .collect();
        Response {
            presigned: Presigned {
                method: method.to_owned(),
                url: url.to_string(),
                headers,
            },
            expires_in: expiry.as_secs(),
            key: permit.key.clone(),
        }
    }
}

/// Lifetime of the URLs a backend signs for its own S3 requests (serve's
/// checks, sharing state), in seconds.
pub const OWN_URL_EXPIRY_SECS: u64 = 60;
/// A backend's own S3 request that takes longer than this fails (fail closed).
const OWN_REQUEST_TIMEOUT_SECS: u64 = 15;

/// The HTTP client of a backend's own S3 requests: every status comes back
/// for the caller to judge, and no request outlasts the timeout.
pub fn own_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(OWN_REQUEST_TIMEOUT_SECS)))
        .build()
        .into()
}

/// `(STATUS CODE): MESSAGE` of a backend's JSON refusal
/// (`{ "error": { "code", "message" } }`), for the user.
pub fn refusal(status: u16, body: &str) -> String {
    let said = serde_json::from_str::<serde_json::Value>(body).ok();
    let field = |f: &str| {
        said.as_ref()
            .and_then(|v| v["error"][f].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    format!("({status} {}): {}", field("code"), field("message"))
}

/// Why asking for a presigned request failed.
pub enum PresignFailure {
    /// The backend refused (or its answer was not the contract's).
    Refused {
        status: Option<u16>,
        message: String,
    },
    /// No answer: worth another try.
    Network(String),
}

/// Asks a presign backend that speaks the s3seal contract (`POST` the
/// request as JSON, with the bearer `token` if any) for one request.
pub fn ask_backend(
    agent: &ureq::Agent,
    endpoint: &url::Url,
    token: Option<&str>,
    req: &Request,
) -> Result<Presigned, PresignFailure> {
    let mut call = agent
        .post(endpoint.as_str())
        .header("content-type", "application/json");
    if let Some(t) = token {
        call = call.header("authorization", &format!("Bearer {t}"));
    }
    let body = serde_json::to_vec(req).expect("serialisable");
    let mut response = call
        .send(&body[..])
        .map_err(|e| PresignFailure::Network(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .map_err(|e| PresignFailure::Network(e.to_string()))?;
    if status != 200 {
        return Err(PresignFailure::Refused {
            status: Some(status),
            message: format!("presign refused {}", refusal(status, &text)),
        });
    }
    serde_json::from_str(&text).map_err(|e| PresignFailure::Refused {
        status: None,
        message: format!("the presign backend's answer is not the contract's: {e}"),
    })
}

/// The URL as the HTTP client will read it: the SSE-C key stays in a header,
/// and goes only over https (plain http to loopback only).
pub fn check_presigned(presigned: &Presigned) -> Result<(), PresignFailure> {
    let url = url::Url::parse(&presigned.url).map_err(|_| PresignFailure::Refused {
        status: None,
        message: "the presign backend returned an invalid URL".into(),
    })?;
    presigned
        .check(url.scheme(), url.host_str().unwrap_or(""))
        .map_err(|why| PresignFailure::Refused {
            status: None,
            message: why.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3seal::transfer::presign::SseC;

    fn presigner(sse: SseMode) -> Presigner {
        Presigner::new(Config {
            endpoint: "http://127.0.0.1:3900".parse().unwrap(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            path_style: true,
            access_key: "GK0000".into(),
            secret_key: "secret".into(),
            expiry: Duration::from_secs(300),
            policy: Policy {
                prefix: "uploads/".into(),
                max_size: 100 << 20,
                sse,
                kms_key_id: None,
                form: false,
            },
        })
        .unwrap()
    }

    fn sse_c() -> SseC {
        SseC::from_key(&s3seal::SseCKey::from_bytes([7; 32]))
    }

    fn req(op: Op) -> Request {
        Request::new(op, format!("{}.s3seal", "ab".repeat(16)))
            .sse_c(Some(&sse_c()))
            .size(1000)
            .upload("u1", Some(1))
    }

    #[test]
    fn signs_sse_c_headers_and_content_length() {
        let (_, r) = presigner(SseMode::SseC).presign(&req(Op::Put)).unwrap();
        let r = r.presigned;
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
    fn every_op_signs_its_method_and_query() {
        let p = presigner(SseMode::SseC);
        for (op, method, query) in [
            (Op::Put, "PUT", ""),
            (Op::CreateMultipart, "POST", "uploads"),
            (Op::UploadPart, "PUT", "partNumber=1&uploadId=u1"),
            (Op::CompleteMultipart, "POST", "uploadId=u1"),
            (Op::AbortMultipart, "DELETE", "uploadId=u1"),
            (Op::Head, "HEAD", ""),
            (Op::Get, "GET", ""),
        ] {
            let (_, r) = p.presign(&req(op)).unwrap();
            assert_eq!(r.presigned.method, method, "{op:?}");
            assert!(
                r.presigned.url.contains(query),
                "{op:?}: {}",
                r.presigned.url
            );
        }
    }

    #[test]
    fn h1_writes_sign_if_none_match_into_the_url() {
        let p = presigner(SseMode::SseC);
        for op in [Op::Put, Op::CompleteMultipart] {
            let (_, r) = p.presign(&req(op)).unwrap();
            assert_eq!(
                r.presigned
                    .headers
                    .iter()
                    .find(|(n, _)| n == "if-none-match")
                    .map(|(_, v)| v.as_str()),
                Some("*"),
                "{op:?}"
            );
            assert!(
                r.presigned.url.contains("if-none-match"),
                "signed: {}",
                r.presigned.url
            );
        }
    }

    #[test]
    fn refuses_sse_c_over_plain_http_to_a_remote_host() {
        let mut config = presigner(SseMode::SseC).config;
        config.endpoint = "http://s3.example.com".parse().unwrap();
        assert!(Presigner::new(config).is_err());
    }

    #[test]
    fn the_response_is_the_contract_plus_expiry_and_key() {
        let (_, r) = presigner(SseMode::SseC).presign(&req(Op::Get)).unwrap();
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["expiresIn", "headers", "key", "method", "url"]);
        let back: Presigned = serde_json::from_value(json).unwrap();
        assert_eq!(
            back, r.presigned,
            "clients read it as the contract's Presigned"
        );
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
