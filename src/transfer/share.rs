//! Sharing rules a backend keeps in the bucket beside each object, so that
//! any number of backends in front of one bucket behave as one: when a share
//! expires, how many downloads it allows, and the hash of the owner's
//! [`DeleteToken`](crate::DeleteToken). None of it opens anything: the
//! backend still never sees a content key.
//!
//! Layout under the backend's control prefix (`control/` by default), beside
//! and never inside the prefix clients write to:
//! - `share/<object>.json`: the [`Record`], written before the first upload
//!   URL of the object is handed out;
//! - `expiry/<expires at, 12 digits>/<object>`: an index a sweeper lists in
//!   time order and stops reading at the first entry still due;
//! - `claim/<object>/<claim>`: one small object per download granted.
//!
//! Counting downloads needs no conditional write, which Garage lacks: a
//! backend writes its claim, then lists the object's claims, and grants the
//! download only if it sees at most the limit (see [`Record::judge`]). A
//! granted claim is then rewritten with a body ([`CLAIM_SETTLED`]), so that
//! a refused backend can tell a limit used up from one it raced for.

use super::policy::Refused;

/// Expiry when the uploader names none, in seconds (7 days).
pub const DEFAULT_EXPIRY_SECS: u64 = 7 * 24 * 3600;
/// The longest expiry a backend grants unless configured otherwise, in
/// seconds (30 days).
pub const MAX_EXPIRY_SECS: u64 = 30 * 24 * 3600;
/// The largest download limit an uploader may set.
pub const MAX_DOWNLOADS: u32 = 1000;
/// Digits of the expiry time in an index key: seconds since the epoch,
/// zero-padded so that keys sort in time order until the year 33658.
const EXPIRY_DIGITS: usize = 12;
/// Version of the record's JSON.
const RECORD_VERSION: u8 = 1;
/// The body of a granted claim; a claim still being decided is empty.
pub const CLAIM_SETTLED: &[u8] = b"1";
/// Age after which an empty claim counts as granted, in seconds: its
/// backend stopped between granting and settling it (deciding takes one
/// listing), and its download counts all the same.
pub const CLAIM_SETTLE_SECS: u64 = 60;

/// What an uploader asks for, sent with the first write of an object (PUT or
/// CreateMultipartUpload). Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct Terms {
    /// Seconds from now until the share expires (the backend's default if
    /// absent).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub expires_secs: Option<u64>,
    /// Downloads allowed (unlimited if absent).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub downloads: Option<u32>,
    /// [`DeleteToken::hash`](crate::DeleteToken::hash) of the owner's token
    /// (nobody can delete the share early if absent).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub delete_hash: Option<String>,
}

/// A backend's limits on what uploaders may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Expiry when the uploader names none, in seconds.
    pub default_expiry_secs: u64,
    /// The longest expiry granted, in seconds.
    pub max_expiry_secs: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            default_expiry_secs: DEFAULT_EXPIRY_SECS,
            max_expiry_secs: MAX_EXPIRY_SECS,
        }
    }
}

/// What a backend keeps for one shared object.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Record {
    /// Format of this record (1).
    pub v: u8,
    /// When the share expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// Downloads allowed, if limited.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub downloads: Option<u32>,
    /// Hash of the owner's delete token, if the owner set one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub delete_hash: Option<String>,
    /// A tombstone: the share was deleted or swept. Kept so that the name
    /// cannot be shared again (a link holder re-uploading the ciphertext, or
    /// a write URL used after the removal, is never served).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "core::ops::Not::not")
    )]
    pub gone: bool,
}

/// The outcome of one download claim (see [`Record::judge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The download is granted: settle the claim.
    Granted,
    /// Granted claims fill the limit: withdraw the claim and refuse.
    Exhausted,
    /// Other claims are being decided: withdraw the claim, wait, try again.
    Contended,
}

/// Why a share no longer hands out downloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// Past its expiry (its bytes are deleted, or about to be).
    Expired,
    /// Every download it allowed was taken.
    Exhausted,
    /// Deleted by its owner, or expired and swept: nothing is stored.
    Deleted,
}

impl Gone {
    /// The stable code a backend answers with (`Error.code` in JavaScript).
    pub fn code(self) -> &'static str {
        match self {
            Gone::Expired => "ShareExpired",
            Gone::Exhausted => "DownloadLimit",
            Gone::Deleted => "ShareGone",
        }
    }

    /// What to tell the person holding the link.
    pub fn message(self) -> &'static str {
        match self {
            Gone::Expired => "this share has expired; its file is deleted",
            Gone::Exhausted => "this share has been downloaded as many times as its owner allowed",
            Gone::Deleted => "nothing is shared under this name: it was deleted or has expired",
        }
    }
}

impl Rules {
    /// The record for a new share asked for with `terms` at `now` (seconds
    /// since the epoch).
    pub fn record(&self, terms: Option<&Terms>, now: u64) -> Result<Record, Refused> {
        let terms = terms.cloned().unwrap_or_default();
        let secs = terms.expires_secs.unwrap_or(self.default_expiry_secs);
        if secs == 0 || secs > self.max_expiry_secs {
            return Err(Refused(format!(
                "expiresSecs must be 1..={} (this backend's longest expiry)",
                self.max_expiry_secs
            )));
        }
        if let Some(n) = terms.downloads
            && !(1..=MAX_DOWNLOADS).contains(&n)
        {
            return Err(Refused(format!("downloads must be 1..={MAX_DOWNLOADS}")));
        }
        if let Some(hash) = &terms.delete_hash
            && (hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(Refused(
                "deleteHash must be 64 lowercase hex digits (the hash of a delete token)".into(),
            ));
        }
        Ok(Record {
            v: RECORD_VERSION,
            expires_at: now.saturating_add(secs),
            downloads: terms.downloads,
            delete_hash: terms.delete_hash,
            gone: false,
        })
    }
}

impl Record {
    /// What remains of a removed share: a tombstone, in force as long as
    /// the share could have been.
    pub fn tombstone(&self) -> Record {
        Record {
            v: RECORD_VERSION,
            expires_at: self.expires_at,
            downloads: None,
            delete_hash: None,
            gone: true,
        }
    }

    /// Whether this backend knows the record's version. A newer backend's
    /// record is neither followed nor removed: both would be guesses.
    pub fn is_known(&self) -> bool {
        self.v == RECORD_VERSION
    }

    /// Whether the share still hands out downloads at `now`, before
    /// counting (a record of an unknown version: see [`Record::is_known`]).
    pub fn check(&self, now: u64) -> Result<(), Gone> {
        if self.gone {
            return Err(Gone::Deleted);
        }
        if now >= self.expires_at {
            return Err(Gone::Expired);
        }
        Ok(())
    }

    /// Seconds a URL signed at `now` may live so that it dies with the share.
    pub fn remaining_secs(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// What a backend does with its claim, once written, given a listing
    /// made after that write: `seen` claims (its own included), `settled` of
    /// them granted (see [`Layout::claim_settled`]).
    ///
    /// Granting only when `seen` is within the limit is safe under any
    /// interleaving, given read-after-write consistent listings: the granted
    /// claim whose listing came last saw every granted claim. Refusing only
    /// when `settled` claims fill the limit keeps a race from refusing
    /// everyone: claims in flight are withdrawn or settled within moments,
    /// so the backend withdraws its own and tries again.
    pub fn judge(&self, seen: usize, settled: usize) -> Claim {
        match self.downloads {
            None => Claim::Granted,
            Some(limit) if seen <= limit as usize => Claim::Granted,
            Some(limit) if settled >= limit as usize => Claim::Exhausted,
            Some(_) => Claim::Contended,
        }
    }

    /// Whether `token_hash` (of a token the caller presented) deletes this
    /// share; compared in constant time.
    pub fn permits_delete(&self, token_hash: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        self.delete_hash
            .as_ref()
            .is_some_and(|stored| bool::from(stored.as_bytes().ct_eq(token_hash.as_bytes())))
    }
}

/// Where a backend keeps sharing state: bucket keys under one control prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Ends with `/` (or is empty, which a backend refuses at start).
    pub control_prefix: String,
}

impl Layout {
    /// The record of `object`.
    pub fn record_key(&self, object: &str) -> String {
        format!("{}share/{object}.json", self.control_prefix)
    }

    /// Where the expiry index lives.
    pub fn expiry_prefix(&self) -> String {
        format!("{}expiry/", self.control_prefix)
    }

    /// The index entry of `object` expiring at `expires_at`.
    pub fn expiry_key(&self, expires_at: u64, object: &str) -> String {
        format!(
            "{}{expires_at:0width$}/{object}",
            self.expiry_prefix(),
            width = EXPIRY_DIGITS
        )
    }

    /// An index entry's expiry time and object, if `key` is one.
    pub fn parse_expiry_key<'k>(&self, key: &'k str) -> Option<(u64, &'k str)> {
        let rest = key.strip_prefix(&self.expiry_prefix())?;
        let (time, object) = rest.split_once('/')?;
        if time.len() != EXPIRY_DIGITS || !time.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Canonical names only: bucket keys are built from this text.
        let name = crate::ObjectName::parse(object).ok()?;
        if name.to_string() != object {
            return None;
        }
        Some((time.parse().ok()?, object))
    }

    /// Where the download claims of `object` live.
    pub fn claim_prefix(&self, object: &str) -> String {
        format!("{}claim/{object}/", self.control_prefix)
    }

    /// One claim: `nanos` (when it was made) and 16 random hex digits keep
    /// claims of concurrent backends apart.
    pub fn claim_key(&self, object: &str, nanos: u128, random: u64) -> String {
        format!("{}{nanos:039}-{random:016x}", self.claim_prefix(object))
    }

    /// Whether a listed claim counts as granted: its body says so, or it
    /// is [`CLAIM_SETTLE_SECS`] older than the claim just written, by
    /// S3's own times (`age_secs`: `None` if S3 gave none that parse), so
    /// that replicas' clocks do not enter. A key this layout did not write
    /// counts as granted: refusing is the safe side.
    pub fn claim_settled(&self, object: &str, key: &str, size: u64, age_secs: Option<u64>) -> bool {
        let ours = key
            .strip_prefix(&self.claim_prefix(object))
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(nanos, random)| {
                nanos.len() == 39
                    && nanos.bytes().all(|b| b.is_ascii_digit())
                    && random.len() == 16
                    && random.bytes().all(|b| b.is_ascii_hexdigit())
            });
        size > 0 || !ours || age_secs.is_none_or(|age| age >= CLAIM_SETTLE_SECS)
    }

    /// Whether `prefix` (the one clients write under) and the control prefix
    /// are apart: neither may contain the other, or a client could write
    /// sharing state, or a sweep delete uploads.
    pub fn check_apart(&self, prefix: &str) -> Result<(), &'static str> {
        let control = self.control_prefix.as_str();
        if control.is_empty() || !control.ends_with('/') {
            return Err("the control prefix must be a non-empty folder, ending in /");
        }
        if prefix.starts_with(control) || control.starts_with(prefix) {
            return Err("the control prefix and the upload prefix must not contain each other");
        }
        Ok(())
    }
}

/// The index entries of a listing (in key order) that are due at `now`:
/// every entry before the first that is not.
pub fn due<'k>(layout: &Layout, keys: &'k [String], now: u64) -> Vec<(&'k str, &'k str)> {
    keys.iter()
        .map_while(|key| {
            let (at, object) = layout.parse_expiry_key(key)?;
            (at <= now).then_some((key.as_str(), object))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECT: &str = "0123456789abcdef0123456789abcdef.s3seal";

    fn layout() -> Layout {
        Layout {
            control_prefix: "control/".into(),
        }
    }

    #[test]
    fn a_record_takes_the_default_and_the_asked_expiry_within_the_maximum() {
        // The issue's numbers: 7 days unless asked, 30 at most.
        assert_eq!((DEFAULT_EXPIRY_SECS, MAX_EXPIRY_SECS), (604_800, 2_592_000));
        let rules = Rules::default();
        let r = rules.record(None, 1000).unwrap();
        assert_eq!(r.expires_at, 1000 + DEFAULT_EXPIRY_SECS);
        assert_eq!((r.downloads, r.delete_hash), (None, None));
        let asked = Terms {
            expires_secs: Some(MAX_EXPIRY_SECS),
            downloads: Some(1),
            delete_hash: Some("ab".repeat(32)),
        };
        let r = rules.record(Some(&asked), 1000).unwrap();
        assert_eq!(r.expires_at, 1000 + MAX_EXPIRY_SECS);
        assert_eq!(r.downloads, Some(1));
        for bad in [
            Terms {
                expires_secs: Some(MAX_EXPIRY_SECS + 1),
                ..Terms::default()
            },
            Terms {
                expires_secs: Some(0),
                ..Terms::default()
            },
            Terms {
                downloads: Some(0),
                ..Terms::default()
            },
            Terms {
                downloads: Some(MAX_DOWNLOADS + 1),
                ..Terms::default()
            },
            Terms {
                delete_hash: Some("AB".repeat(32)),
                ..Terms::default()
            },
            Terms {
                delete_hash: Some("ab".repeat(31)),
                ..Terms::default()
            },
        ] {
            assert!(rules.record(Some(&bad), 1000).is_err(), "{bad:?}");
        }
        let edge = Terms {
            expires_secs: Some(1),
            downloads: Some(MAX_DOWNLOADS),
            ..Terms::default()
        };
        assert!(rules.record(Some(&edge), 0).is_ok());
    }

    #[test]
    fn a_share_expires_at_its_time_and_a_newer_record_is_not_ignored() {
        let r = Rules::default()
            .record(
                Some(&Terms {
                    expires_secs: Some(10),
                    ..Terms::default()
                }),
                100,
            )
            .unwrap();
        assert_eq!(r.check(109), Ok(()));
        assert_eq!(r.check(110), Err(Gone::Expired));
        assert_eq!((r.remaining_secs(104), r.remaining_secs(111)), (6, 0));
        assert!(r.is_known());
        assert!(!Record { v: 2, ..r.clone() }.is_known());
        let stone = r.tombstone();
        assert_eq!(stone.check(0), Err(Gone::Deleted));
        assert_eq!(
            (stone.downloads, stone.delete_hash.as_deref()),
            (None, None)
        );
        assert_eq!(stone.expires_at, r.expires_at);
    }

    #[test]
    fn downloads_are_granted_up_to_the_limit_counting_the_own_claim() {
        let mut r = Rules::default().record(None, 0).unwrap();
        assert_eq!(r.judge(usize::MAX, 0), Claim::Granted);
        r.downloads = Some(1);
        assert_eq!(r.judge(1, 0), Claim::Granted);
        assert_eq!(r.judge(2, 1), Claim::Exhausted);
        r.downloads = Some(5);
        assert_eq!(r.judge(5, 4), Claim::Granted);
        assert_eq!(r.judge(6, 5), Claim::Exhausted);
    }

    #[test]
    fn a_race_for_the_last_downloads_is_retried_not_refused() {
        // Twelve claims written at once for a limit of three: each backend
        // sees twelve, none granted yet. Refusing there refused all twelve.
        let mut r = Rules::default().record(None, 0).unwrap();
        r.downloads = Some(3);
        assert_eq!(r.judge(12, 0), Claim::Contended);
        assert_eq!(r.judge(12, 2), Claim::Contended);
        assert_eq!(r.judge(4, 3), Claim::Exhausted);
    }

    #[test]
    fn a_claim_counts_as_granted_once_settled_or_old() {
        let layout = Layout {
            control_prefix: "control/".into(),
        };
        let object = "ab".repeat(16) + ".s3seal";
        let key = layout.claim_key(&object, 1_700_000_000_000_000_000, 7);
        let settled = CLAIM_SETTLED.len() as u64;
        assert!(!layout.claim_settled(&object, &key, 0, Some(0)));
        assert!(layout.claim_settled(&object, &key, settled, Some(0)));
        assert!(!layout.claim_settled(&object, &key, 0, Some(CLAIM_SETTLE_SECS - 1)));
        assert!(layout.claim_settled(&object, &key, 0, Some(CLAIM_SETTLE_SECS)));
        assert!(
            layout.claim_settled(&object, &key, 0, None),
            "no time S3 gave"
        );
        for stranger in [
            format!("{}junk", layout.claim_prefix(&object)),
            format!("{}{:039}", layout.claim_prefix(&object), 1),
            format!(
                "{}{:039}-{}",
                layout.claim_prefix(&object),
                1,
                "z".repeat(16)
            ),
            "elsewhere/x".to_owned(),
        ] {
            assert!(
                layout.claim_settled(&object, &stranger, 0, Some(0)),
                "{stranger}"
            );
        }
    }

    #[test]
    fn only_the_stored_hash_deletes() {
        let token = crate::RootKey::from_bytes([9; 32])
            .delete_token(&crate::ObjectId([1; crate::hazmat::OBJECT_ID_SIZE]));
        let mut r = Rules::default().record(None, 0).unwrap();
        assert!(!r.permits_delete(&token.hash()), "no hash: nobody deletes");
        r.delete_hash = Some(token.hash());
        assert!(r.permits_delete(&token.hash()));
        let other = crate::RootKey::from_bytes([8; 32])
            .delete_token(&crate::ObjectId([1; crate::hazmat::OBJECT_ID_SIZE]));
        assert!(!r.permits_delete(&other.hash()));
        assert!(!r.permits_delete(""));
    }

    #[test]
    fn index_keys_sort_in_time_order_and_parse_back() {
        let l = layout();
        let early = l.expiry_key(99, OBJECT);
        let late = l.expiry_key(1_000_000, OBJECT);
        assert_eq!(early, format!("control/expiry/000000000099/{OBJECT}"));
        assert!(early < late);
        assert_eq!(l.parse_expiry_key(&late), Some((1_000_000, OBJECT)));
        for bad in [
            "control/expiry/99/x.s3seal".to_owned(),
            format!("control/expiry/00000000009x/{OBJECT}"),
            "control/expiry/000000000099/not-a-name".to_owned(),
            format!("control/expiry/000000000099/x/../{OBJECT}"),
            format!("control/expiry/000000000099/{}", OBJECT.to_uppercase()),
            format!("control/expiry/99/{OBJECT}"),
            format!("uploads/000000000099/{OBJECT}"),
        ] {
            assert_eq!(l.parse_expiry_key(&bad), None, "{bad}");
        }
        let keys = vec![
            l.expiry_key(5, OBJECT),
            l.expiry_key(10, OBJECT),
            l.expiry_key(11, OBJECT),
        ];
        let d = due(&l, &keys, 10);
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].1, OBJECT);
        assert!(due(&l, &keys, 4).is_empty());
    }

    #[test]
    fn claims_of_one_object_share_a_prefix_and_differ() {
        let l = layout();
        let a = l.claim_key(OBJECT, 1, 2);
        let b = l.claim_key(OBJECT, 1, 3);
        assert_eq!(l.claim_prefix(OBJECT), format!("control/claim/{OBJECT}/"));
        assert!(a.starts_with(&l.claim_prefix(OBJECT)) && a != b);
        assert_eq!(l.record_key(OBJECT), format!("control/share/{OBJECT}.json"));
    }

    #[test]
    fn the_control_prefix_stays_apart_from_uploads() {
        let l = layout();
        assert!(l.check_apart("uploads/").is_ok());
        assert!(l.check_apart("").is_err(), "every key is an upload");
        assert!(l.check_apart("control/uploads/").is_err());
        assert!(
            Layout {
                control_prefix: "uploads/control/".into()
            }
            .check_apart("uploads/")
            .is_err()
        );
        assert!(
            Layout {
                control_prefix: "control".into()
            }
            .check_apart("uploads/")
            .is_err()
        );
    }

    #[test]
    fn gone_has_a_code_and_a_message_each() {
        for (g, says) in [
            (Gone::Expired, "expired"),
            (Gone::Exhausted, "downloaded"),
            (Gone::Deleted, "deleted"),
        ] {
            assert!(crate::CODES.contains(&g.code()), "{}", g.code());
            assert!(g.message().contains(says), "{}", g.message());
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn records_and_terms_round_trip_as_json() {
        let r = Record {
            v: 1,
            expires_at: 42,
            downloads: Some(3),
            delete_hash: None,
            gone: false,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"v":1,"expiresAt":42,"downloads":3}"#);
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), r);
        let stone = serde_json::to_string(&r.tombstone()).unwrap();
        assert_eq!(stone, r#"{"v":1,"expiresAt":42,"gone":true}"#);
        assert!(serde_json::from_str::<Terms>(r#"{"expiresSecs":1,"fileKey":"x"}"#).is_err());
    }
}
