//! What an answer from S3 (or from a presign backend) means, and whether to
//! try again: one classification and one retry policy for every host.
//!
//! Every attempt of a write sends the same bytes under a fresh URL, so a
//! retry never changes what is stored; see [`Fault::may_have_stored`] for the
//! attempt whose answer was lost.

/// Default attempts per request (the first and seven retries): with the
/// backoff below they span at least 12 s (24 s on average), so a storage
/// server that restarts or a network that drops for a few seconds costs a
/// pause, not the upload.
pub const ATTEMPTS: u32 = 8;
/// First backoff delay, in milliseconds; doubles up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: u32 = 250;
/// Longest backoff delay, in milliseconds.
pub const MAX_BACKOFF_MS: u32 = 8000;

/// How one request failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// S3 refused the presigned URL because it had expired (AWS: 403
    /// "Request has expired"; Garage: 400 naming "expired").
    Expired {
        /// The HTTP status.
        status: u16,
    },
    /// S3 refused a read under this SSE-C key: the key is not the object's
    /// (S3 checks it before anything else: Garage 400, AWS 403 naming the
    /// customer key).
    WrongKey {
        /// The HTTP status.
        status: u16,
    },
    /// No such object (a read's 404).
    NotFound,
    /// Any other HTTP failure.
    Http {
        /// The HTTP status.
        status: u16,
    },
    /// No HTTP answer: the connection failed, dropped or timed out.
    Network,
    /// The caller cancelled.
    Aborted,
}

impl Fault {
    /// The stable error code hosts report (`Error.code` in JS).
    pub fn code(&self) -> &'static str {
        match self {
            Fault::Expired { .. } => "Expired",
            Fault::WrongKey { .. } => "WrongKey",
            Fault::NotFound | Fault::Http { .. } => "Http",
            Fault::Network => "Network",
            Fault::Aborted => "Aborted",
        }
    }

    /// The HTTP status, if one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Fault::Expired { status } | Fault::WrongKey { status } | Fault::Http { status } => {
                Some(*status)
            }
            Fault::NotFound => Some(404),
            Fault::Network | Fault::Aborted => None,
        }
    }

    /// Whether another attempt may succeed: a server error, throttling, a
    /// request timeout, an expired URL (the next one is fresh) or the network.
    pub fn retryable(&self) -> bool {
        match self {
            Fault::Expired { .. } | Fault::Network => true,
            Fault::Http { status } => *status >= 500 || matches!(status, 408 | 429),
            Fault::WrongKey { .. } | Fault::NotFound | Fault::Aborted => false,
        }
    }

    /// Whether a write that failed so may have been stored by an earlier
    /// attempt whose answer was lost: the name is taken (409 from the
    /// backend, 412 from S3's `If-None-Match: *`) or the multipart upload is
    /// gone (404: an earlier completion went through). The host then checks
    /// that S3 serves the object under its SSE-C key at its size.
    pub fn may_have_stored(&self) -> bool {
        may_have_stored(self.status())
    }

    /// A sentence for a person, naming `what` failed; never a URL or header.
    pub fn describe(&self, what: &str, attempts: u32) -> String {
        match self {
            Fault::Expired { status } => format!(
                "{what}: the presigned URL had expired (HTTP {status}); check the clocks of the presign backend and S3"
            ),
            Fault::WrongKey { .. } => "wrong key: the storage server refused this object's SSE-C key (wrong key or passphrase)".into(),
            Fault::NotFound => format!("{what} (no such object) failed with HTTP 404"),
            Fault::Http { status } => format!("{what} failed with HTTP {status}"),
            Fault::Network => format!("{what}: network error after {attempts} attempts"),
            Fault::Aborted => "the transfer was aborted".into(),
        }
    }
}

/// [`Fault::may_have_stored`] for a failure with this status (`None`: no
/// answer), for hosts that keep only the status of a failure.
pub fn may_have_stored(status: Option<u16>) -> bool {
    matches!(status, Some(404 | 409 | 412))
}

fn says_expired(body: &str) -> bool {
    body.to_ascii_lowercase().contains("expired")
}

/// What a write's (or any non-read's) HTTP answer means: `None` for success.
pub fn classify(status: u16, body: &str) -> Option<Fault> {
    match status {
        200..=299 => None,
        400 | 403 if says_expired(body) => Some(Fault::Expired { status }),
        _ => Some(Fault::Http { status }),
    }
}

/// What a read's answer means (a GET or HEAD under the object's SSE-C key):
/// as [`classify`], and a 400, or a 403 about the encryption key, is
/// [`Fault::WrongKey`].
pub fn classify_read(status: u16, body: &str) -> Option<Fault> {
    let fault = classify(status, body)?;
    let lower = body.to_ascii_lowercase();
    let about_key = ["encryption", "sse-c", "customer"]
        .iter()
        .any(|w| lower.contains(w));
    Some(match fault {
        Fault::Http { status: 404 } => Fault::NotFound,
        Fault::Http { status: 400 } => Fault::WrongKey { status: 400 },
        Fault::Http { status: 403 } if about_key => Fault::WrongKey { status: 403 },
        other => other,
    })
}

/// What a HEAD's answer under the object's SSE-C key means. A HEAD has no
/// body to say why it was refused, so a 400 or a 403 is taken as
/// [`Fault::WrongKey`]: the key is the one thing such a HEAD adds.
pub fn classify_head(status: u16) -> Option<Fault> {
    match classify_read(status, "")? {
        Fault::Http { status: 403 } => Some(Fault::WrongKey { status: 403 }),
        other => Some(other),
    }
}

/// Whether a failed call to the presign backend is worth another try: it was
/// briefly unavailable, asked us to slow down, or the network failed. A
/// refusal (4xx) is the backend's answer, not an accident.
pub fn presign_retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(s) => s >= 500 || s == 429 || s == 408,
    }
}

/// The retry state of one request: attempts made and the next backoff.
#[derive(Clone, Debug)]
pub struct Retry {
    attempts: u32,
    made: u32,
    delay_ms: u32,
    max_delay_ms: u32,
}

impl Retry {
    /// At most `attempts` attempts (at least one).
    pub fn new(attempts: u32) -> Self {
        Self::with_backoff(attempts, FIRST_BACKOFF_MS, MAX_BACKOFF_MS)
    }

    /// At most `attempts` attempts, the first wait `first_ms` (before
    /// jitter), doubling up to `max_ms`: for waits shorter than a request's,
    /// such as backends taking turns.
    pub fn with_backoff(attempts: u32, first_ms: u32, max_ms: u32) -> Self {
        Self {
            attempts: attempts.max(1),
            made: 0,
            delay_ms: first_ms.min(max_ms),
            max_delay_ms: max_ms,
        }
    }

    /// Counts an attempt about to be made.
    pub fn attempt(&mut self) {
        self.made += 1;
    }

    /// Attempts made so far.
    pub fn made(&self) -> u32 {
        self.made
    }

    /// After a failed attempt: how long to wait before the next, or `None`
    /// to give up (the fault is final, or attempts are spent). `jitter`, in
    /// [0, 1), comes from the host's random source: retries of many clients
    /// spread out instead of arriving together.
    pub fn after(&mut self, retryable: bool, jitter: f64) -> Option<u32> {
        if !retryable || self.made >= self.attempts {
            return None;
        }
        let wait = f64::from(self.delay_ms) * (0.5 + jitter.clamp(0.0, 1.0));
        self.delay_ms = self.delay_ms.saturating_mul(2).min(self.max_delay_ms);
        Some(wait as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_answers() {
        assert_eq!(classify(200, ""), None);
        assert_eq!(classify(204, ""), None);
        let aws_expired =
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        assert_eq!(
            classify(403, aws_expired),
            Some(Fault::Expired { status: 403 })
        );
        assert_eq!(
            classify(400, "<Message>Presigned URL expired</Message>"),
            Some(Fault::Expired { status: 400 })
        );
        assert_eq!(
            classify(403, "AccessDenied"),
            Some(Fault::Http { status: 403 })
        );
        assert_eq!(
            classify(503, aws_expired),
            Some(Fault::Http { status: 503 })
        );
        assert_eq!(
            classify_read(400, "InvalidRequest"),
            Some(Fault::WrongKey { status: 400 })
        );
        assert_eq!(
            classify_read(403, "The provided encryption key does not match"),
            Some(Fault::WrongKey { status: 403 })
        );
        assert_eq!(
            classify_read(403, "AccessDenied"),
            Some(Fault::Http { status: 403 })
        );
        assert_eq!(
            classify_read(403, aws_expired),
            Some(Fault::Expired { status: 403 })
        );
        assert_eq!(classify_read(404, "NoSuchKey"), Some(Fault::NotFound));
        assert_eq!(classify_read(200, ""), None);
    }

    #[test]
    fn what_is_worth_retrying() {
        for status in [500, 502, 503, 504, 408, 429] {
            assert!(Fault::Http { status }.retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 412, 413] {
            assert!(!Fault::Http { status }.retryable(), "{status}");
        }
        assert!(Fault::Network.retryable());
        assert!(Fault::Expired { status: 403 }.retryable());
        assert!(!Fault::Aborted.retryable());
        assert!(!Fault::WrongKey { status: 400 }.retryable());
        assert!(
            presign_retryable(None) && presign_retryable(Some(503)) && presign_retryable(Some(429))
        );
        assert!(!presign_retryable(Some(403)) && !presign_retryable(Some(400)));
    }

    #[test]
    fn lost_answers_of_writes() {
        for status in [404, 409, 412] {
            assert!(Fault::Http { status }.may_have_stored(), "{status}");
        }
        assert!(Fault::NotFound.may_have_stored());
        for fault in [
            Fault::Http { status: 500 },
            Fault::Network,
            Fault::Http { status: 403 },
        ] {
            assert!(!fault.may_have_stored(), "{fault:?}");
        }
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_stops_after_the_attempts() {
        let mut r = Retry::new(ATTEMPTS);
        let mut waits = Vec::new();
        loop {
            r.attempt();
            match r.after(true, 0.5) {
                Some(ms) => waits.push(ms),
                None => break,
            }
        }
        assert_eq!(r.made(), ATTEMPTS);
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 8000, 8000]);
        // Jitter spreads each wait over [0.5, 1.5) of the delay: at the
        // least, the retries still span about 12 s (see ATTEMPTS).
        let waits_at = |jitter: f64| {
            let mut r = Retry::new(ATTEMPTS);
            let mut waits = Vec::new();
            r.attempt();
            while let Some(ms) = r.after(true, jitter) {
                waits.push(ms);
                r.attempt();
            }
            waits
        };
        assert_eq!(waits_at(0.0), [125, 250, 500, 1000, 2000, 4000, 4000]);
        assert_eq!(waits_at(0.999).iter().sum::<u32>(), 35_600);
        assert_eq!(waits_at(0.0).iter().sum::<u32>(), 11_875);
        let mut once = Retry::new(0);
        once.attempt();
        assert_eq!(
            once.after(true, 0.5),
            None,
            "at least one attempt, and only one"
        );
        let mut r = Retry::new(5);
        r.attempt();
        assert_eq!(r.after(false, 0.5), None, "a final fault is not retried");
        let mut short = Retry::with_backoff(5, 20, 60);
        let mut waits = Vec::new();
        short.attempt();
        while let Some(ms) = short.after(true, 0.5) {
            waits.push(ms);
            short.attempt();
        }
        assert_eq!(waits, [20, 40, 60, 60], "its own first wait and cap");
    }

    #[test]
    fn a_refused_head_under_an_sse_c_key_is_a_wrong_key() {
        assert_eq!(classify_head(200), None);
        assert_eq!(classify_head(400), Some(Fault::WrongKey { status: 400 }));
        assert_eq!(classify_head(403), Some(Fault::WrongKey { status: 403 }));
        assert_eq!(classify_head(404), Some(Fault::NotFound));
        assert_eq!(classify_head(503), Some(Fault::Http { status: 503 }));
    }

    #[test]
    fn descriptions_name_the_cause_not_the_request() {
        assert!(
            Fault::Expired { status: 403 }
                .describe("UploadPart", 1)
                .contains("expired")
        );
        assert!(
            Fault::Network
                .describe("UploadPart", 8)
                .contains("after 8 attempts")
        );
        assert_eq!(Fault::WrongKey { status: 400 }.code(), "WrongKey");
        assert_eq!(Fault::NotFound.code(), "Http");
    }
}
