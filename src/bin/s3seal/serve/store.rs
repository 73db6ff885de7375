//! The few S3 requests `serve` makes itself, with its own credentials: is a
//! key taken, which parts does an upload hold, abort an upload. Blocking
//! (ureq): callers run them on tokio's blocking pool.

use std::time::Duration;

use rusty_s3::actions::{AbortMultipartUpload, HeadObject, ListParts};
use rusty_s3::{Bucket, Credentials, S3Action};

use s3seal::transfer::policy::{self, PartInfo, Presence};
use s3seal::transfer::retry::{self, Fault};

use crate::support::presign::Presigner;

/// ListParts pages followed at most (S3 returns up to 1,000 parts a page).
const MAX_LIST_PAGES: usize = 11;

pub struct Store {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
}

impl Store {
    /// Requests to the presigner's bucket with its credentials: the same
    /// endpoint, already checked for the in-transit rule.
    pub fn new(presigner: &Presigner) -> Self {
        let (bucket, credentials) = presigner.signer();
        Self {
            bucket: bucket.clone(),
            credentials: credentials.clone(),
            agent: crate::support::presign::own_agent(),
        }
    }

    fn expiry() -> Duration {
        Duration::from_secs(crate::support::presign::OWN_URL_EXPIRY_SECS)
    }

    /// Whether `key` is in use ([`policy::presence`] of a HEAD without
    /// SSE-C headers), and what S3 said, for the log.
    pub fn presence(&self, key: &str) -> (Presence, String) {
        let url = HeadObject::new(&self.bucket, Some(&self.credentials), key).sign(Self::expiry());
        match self.agent.head(url.as_str()).call() {
            Ok(r) => {
                let status = r.status().as_u16();
                (
                    policy::presence(Some(status)),
                    format!("S3 answered {status} to a HEAD"),
                )
            }
            Err(e) => (
                policy::presence(None),
                format!("S3 did not answer a HEAD: {e}"),
            ),
        }
    }

    /// Whether S3 accepts the SSE-C `headers` for `key` (a HEAD with them):
    /// `false` when it refuses the key (see [`retry::classify_head`]).
    pub fn opens(&self, key: &str, headers: &[(String, String)]) -> Result<bool, String> {
        let mut action = HeadObject::new(&self.bucket, Some(&self.credentials), key);
        for (name, value) in headers {
            action.headers_mut().insert(name.clone(), value.clone());
        }
        let url = action.sign(Self::expiry());
        let mut request = self.agent.head(url.as_str());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let status = request
            .call()
            .map_err(|e| format!("S3 did not answer a HEAD: {e}"))?
            .status()
            .as_u16();
        match retry::classify_head(status) {
            None => Ok(true),
            Some(Fault::WrongKey { .. }) => Ok(false),
            Some(_) => Err(format!("S3 answered {status} to a HEAD with the SSE-C key")),
        }
    }

    /// Every part S3 holds for `upload_id`, with `headers` (SSE-C) signed in.
    pub fn parts(
        &self,
        key: &str,
        upload_id: &str,
        headers: &[(String, String)],
    ) -> Result<Vec<PartInfo>, String> {
        let mut parts = Vec::new();
        let mut marker: Option<u16> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut action = ListParts::new(&self.bucket, Some(&self.credentials), key, upload_id);
            if let Some(m) = marker {
                action.set_part_number_marker(m);
            }
            for (name, value) in headers {
                action.headers_mut().insert(name.clone(), value.clone());
            }
            let url = action.sign(Self::expiry());
            let mut request = self.agent.get(url.as_str());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let mut response = request
                .call()
                .map_err(|e| format!("S3 did not answer ListParts: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .read_to_string()
                .map_err(|e| format!("reading ListParts: {e}"))?;
            if status != 200 {
                return Err(format!("S3 answered {status} to ListParts"));
            }
            let page = ListParts::parse_response(&body)
                .map_err(|e| format!("S3's ListParts answer did not parse: {e}"))?;
            parts.extend(page.parts.iter().map(|p| PartInfo {
                number: p.number,
                size: p.size,
            }));
            // Follow every marker that moves forward (a short page may still
            // be truncated): undercounting would let the cap pass.
            match page.next_part_number_marker {
                Some(next) if !page.parts.is_empty() && marker.is_none_or(|m| next > m) => {
                    marker = Some(next)
                }
                _ => return Ok(parts),
            }
        }
        Err("ListParts did not end".into())
    }

    /// Best effort: an over-cap upload is removed rather than left to expire.
    pub fn abort(&self, key: &str, upload_id: &str) {
        let url = AbortMultipartUpload::new(&self.bucket, Some(&self.credentials), key, upload_id)
            .sign(Self::expiry());
        let _ = self.agent.delete(url.as_str()).call();
    }
}
