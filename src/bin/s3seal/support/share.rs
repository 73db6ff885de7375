//! The sharing state in the bucket (see [`s3seal::transfer::share`]), read
//! and written with the backend's own credentials: by `serve`, and by
//! `push --bucket`, which has no backend in front of it. Blocking (ureq):
//! `serve` runs these on tokio's blocking pool.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusty_s3::actions::list_objects_v2::ListObjectsContent as Listed;
use rusty_s3::actions::{DeleteObject, GetObject, ListObjectsV2, PutObject};
use rusty_s3::{Bucket, Credentials, S3Action};

use s3seal::transfer::retry::Retry;
use s3seal::transfer::share::{self, Claim, Gone, Layout, Record};

/// Largest record read, in bytes (a record is under 200).
const MAX_RECORD_BYTES: u64 = 4096;
/// Keys per listing page, and pages followed at most: one sweep removes at
/// most this many shares; the next sweep takes the rest.
const LIST_PAGE_KEYS: usize = 1000;
const MAX_LIST_PAGES: usize = 10;

/// Claims made for one download before giving up, and the waits between
/// them (before jitter), in milliseconds: a claim is decided in one PUT and
/// one listing, so the waits are short.
const CLAIM_ATTEMPTS: u32 = 8;
const CLAIM_FIRST_WAIT_MS: u32 = 20;
const CLAIM_MAX_WAIT_MS: u32 = 320;

/// The retry state of one download's claims ([`ShareStore::claim_once`]).
pub fn claim_retry() -> Retry {
    Retry::with_backoff(CLAIM_ATTEMPTS, CLAIM_FIRST_WAIT_MS, CLAIM_MAX_WAIT_MS)
}

/// A jitter in [0, 1) for [`Retry::after`].
pub fn jitter() -> Result<f64, String> {
    Ok((random_u64()? >> 11) as f64 / (1u64 << 53) as f64)
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn random_u64() -> Result<u64, String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
    Ok(u64::from_le_bytes(random))
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub struct ShareStore {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    layout: Layout,
    /// The prefix objects live under (the object's key is prefix + name).
    prefix: String,
}

impl ShareStore {
    pub fn new(bucket: Bucket, credentials: Credentials, layout: Layout, prefix: String) -> Self {
        Self {
            bucket,
            credentials,
            agent: crate::support::presign::own_agent(),
            layout,
            prefix,
        }
    }

    fn expiry() -> Duration {
        Duration::from_secs(crate::support::presign::OWN_URL_EXPIRY_SECS)
    }

    /// The share's record: `None` if there is none (S3 answered 404).
    pub fn record(&self, object: &str) -> Result<Option<Record>, String> {
        let key = self.layout.record_key(object);
        let url = GetObject::new(&self.bucket, Some(&self.credentials), &key).sign(Self::expiry());
        let mut response = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| format!("S3 did not answer a GET of the share's record: {e}"))?;
        match response.status().as_u16() {
            404 => Ok(None),
            200 => {
                let text = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_RECORD_BYTES)
                    .read_to_string()
                    .map_err(|e| format!("reading the share's record: {e}"))?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| format!("the share's record does not parse: {e}"))
            }
            status => Err(format!(
                "S3 answered {status} to a GET of the share's record"
            )),
        }
    }

    fn put(&self, key: &str, body: &[u8]) -> Result<(), String> {
        let url = PutObject::new(&self.bucket, Some(&self.credentials), key).sign(Self::expiry());
        let response = self
            .agent
            .put(url.as_str())
            .send(body)
            .map_err(|e| format!("S3 did not answer a PUT: {e}"))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status => Err(format!("S3 answered {status} to a PUT of sharing state")),
        }
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        let url =
            DeleteObject::new(&self.bucket, Some(&self.credentials), key).sign(Self::expiry());
        let response = self
            .agent
            .delete(url.as_str())
            .call()
            .map_err(|e| format!("S3 did not answer a DELETE: {e}"))?;
        match response.status().as_u16() {
            200..=299 | 404 => Ok(()),
            status => Err(format!("S3 answered {status} to a DELETE")),
        }
    }

    /// Keys under `prefix`, in key order, up to `max`.
    fn list(&self, prefix: &str, max: usize) -> Result<Vec<String>, String> {
        Ok(self
            .list_sized(prefix, max)?
            .into_iter()
            .map(|c| c.key)
            .collect())
    }

    /// Keys under `prefix` as the listing gives them, in key order, up to `max`.
    fn list_sized(&self, prefix: &str, max: usize) -> Result<Vec<Listed>, String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            action.with_prefix(prefix);
            action.with_max_keys(LIST_PAGE_KEYS.min(max - keys.len()).max(1));
            if let Some(t) = &token {
                action.with_continuation_token(t.clone());
            }
            let url = action.sign(Self::expiry());
            let mut response = self
                .agent
                .get(url.as_str())
                .call()
                .map_err(|e| format!("S3 did not answer a listing: {e}"))?;
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .with_config()
                .limit(16 << 20)
                .read_to_string()
                .map_err(|e| format!("reading a listing: {e}"))?;
            if status != 200 {
                return Err(format!("S3 answered {status} to a listing"));
            }
            let page = ListObjectsV2::parse_response(&body)
                .map_err(|e| format!("S3's listing did not parse: {e}"))?;
            keys.extend(page.contents);
            match page.next_continuation_token {
                Some(t) if !t.is_empty() && keys.len() < max => token = Some(t),
                _ => return Ok(keys),
            }
        }
        Ok(keys)
    }

    /// Writes a new share's record and its expiry index entry: before any
    /// URL that writes the object is handed out, so no object is stored
    /// without them. A name whose share was removed (a tombstone), or whose
    /// record a newer backend wrote, is not shared again.
    pub fn open(&self, object: &str, record: &Record) -> Result<Result<(), Gone>, String> {
        match self.record(object)? {
            Some(old) if old.gone || !old.is_known() => return Ok(Err(Gone::Deleted)),
            // A retried first write (the object is not stored yet: the
            // caller checked) writes its record again.
            _ => {}
        }
        let body = serde_json::to_vec(record).expect("a record serialises");
        self.put(&self.layout.expiry_key(record.expires_at, object), b"")?;
        self.put(&self.layout.record_key(object), &body)?;
        Ok(Ok(()))
    }

    /// One attempt at a download of a limited share: writes a claim, lists
    /// the claims and lets [`Record::judge`] decide. A granted claim is
    /// settled; any other is withdrawn. On [`Claim::Contended`] the caller
    /// waits (see [`claim_retry`]) and calls again: the wait is the
    /// caller's, so that it holds no blocking thread.
    pub fn claim_once(&self, object: &str, record: &Record) -> Result<Claim, String> {
        if record.downloads.is_none() {
            return Ok(Claim::Granted);
        }
        let key = self.layout.claim_key(object, now_nanos(), random_u64()?);
        self.put(&key, b"")?;
        let seen = self
            .list_sized(
                &self.layout.claim_prefix(object),
                LIST_PAGE_KEYS * MAX_LIST_PAGES,
            )
            .inspect_err(|_| {
                let _ = self.delete(&key);
            })?;
        // Ages by S3's clock: against the time S3 gave the claim just written.
        let time = |c: &Listed| c.last_modified.parse::<jiff::Timestamp>().ok();
        let written = seen.iter().find(|c| c.key == key).and_then(time);
        let settled = seen
            .iter()
            .filter(|c| {
                let age = written
                    .zip(time(c))
                    .map(|(w, t)| w.duration_since(t).as_secs().max(0) as u64);
                self.layout.claim_settled(object, &c.key, c.size, age)
            })
            .count();
        let claim = record.judge(seen.len(), settled);
        match claim {
            Claim::Granted => {
                // Unsettled, the claim still counts; it only looks
                // contended to others until CLAIM_SETTLE_SECS.
                if let Err(why) = self.put(&key, share::CLAIM_SETTLED) {
                    eprintln!("claim: a granted claim was not settled: {why}");
                }
            }
            Claim::Exhausted => {
                let _ = self.delete(&key);
            }
            Claim::Contended => self.delete(&key)?,
        }
        Ok(claim)
    }

    /// Removes a share: the object and its claims first, then its record
    /// becomes a tombstone, and its expiry entry goes last, so a removal cut
    /// short is finished by the next sweep, and the name is never shared
    /// again (a write URL used after this lands an object nobody is handed).
    pub fn remove(&self, object: &str, record: &Record) -> Result<(), String> {
        self.delete(&format!("{}{object}", self.prefix))?;
        for claim in self.list(&self.layout.claim_prefix(object), usize::MAX)? {
            self.delete(&claim)?;
        }
        let stone = serde_json::to_vec(&record.tombstone()).expect("a record serialises");
        self.put(&self.layout.record_key(object), &stone)?;
        self.delete(&self.layout.expiry_key(record.expires_at, object))
    }

    /// Removes every share due at `now`, oldest first. One entry that fails
    /// is logged and left for the next sweep; it does not stop the others.
    /// Returns how many shares were removed.
    pub fn sweep(&self, now: u64) -> Result<usize, String> {
        let keys = self.list(
            &self.layout.expiry_prefix(),
            LIST_PAGE_KEYS * MAX_LIST_PAGES,
        )?;
        let mut removed = 0;
        for (key, object) in share::due(&self.layout, &keys, now) {
            let done = self.record(object).and_then(|record| match record {
                // A newer backend's record: left to it.
                Some(r) if !r.is_known() => Ok(false),
                // A retried first write wrote a later expiry: the record decides.
                Some(r) if r.check(now).is_ok() => self.delete(key).map(|()| false),
                Some(r) => self.remove(object, &r).map(|()| !r.gone),
                None => self
                    .delete(&format!("{}{object}", self.prefix))
                    .and_then(|()| self.delete(key))
                    .map(|()| false),
            });
            match done {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(why) => eprintln!("sweep: {object}: {why}; left for the next sweep"),
            }
        }
        Ok(removed)
    }
}
