//! Resuming a multipart upload: the saved state and the verdict on it.
//!
//! The state holds no secret: the object's random choices and key commitment
//! (both in the object anyway), the upload id, each finished part's ETag,
//! and for every part that was ever sealed a *fingerprint*: SHA-256 over the
//! GCM tags of its segments (also in the object).
//!
//! Why fingerprints: resuming reuses the object's nonces, so sealing
//! different plaintext for a part S3 (or anyone on the way) already saw would
//! break AES-GCM. A fingerprint is recorded *before* its part is sent; on
//! resume every fingerprinted part is sealed again locally and compared, and
//! any difference means the file changed: the old upload is aborted and the
//! file is sealed afresh under new randomness. Unchanged parts also prove the
//! finished parts on S3 still match the file.

use sha2::{Digest, Sha256};

use super::plan::Part;
use crate::error::{Error, Result};
use crate::object::Randomness;

/// Version of the saved state's layout (hosts store it as text).
pub const STATE_VERSION: u32 = 3;

/// SHA-256 over the tags of a part's segments, in order, as hex.
pub fn fingerprint<'a>(tags: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    for tag in tags {
        hash.update(tag);
    }
    crate::key::hex(&hash.finalize())
}

/// One multipart upload's state. As JSON (every host spells it so, the
/// browser's store and `push`'s state files alike): `{ "v": 3, "object",
/// "random" (hex), "commitment", "uploadId", "partSize", "sealed": [[n,
/// fingerprint]…], "parts": [[n, etag]…] }`, with `v` the host's
/// ([`STATE_VERSION`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Saved {
    /// The object's name.
    pub object: String,
    /// The sealing's random choices.
    #[cfg_attr(feature = "serde", serde(with = "randomness_hex"))]
    pub random: Randomness,
    /// Hex key commitment: only the same key resumes.
    pub commitment: String,
    /// S3's multipart upload id.
    // `push` wrote snake_case before the hosts shared one spelling.
    #[cfg_attr(feature = "serde", serde(alias = "upload_id"))]
    pub upload_id: String,
    /// The part size the plan was made with.
    #[cfg_attr(feature = "serde", serde(alias = "part_size"))]
    pub part_size: u64,
    /// Fingerprints of every part sealed so far (sent or not).
    pub sealed: Vec<(u16, String)>,
    /// ETags of the parts S3 confirmed.
    pub parts: Vec<(u16, String)>,
}

#[cfg(feature = "serde")]
mod randomness_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::object::Randomness;

    pub fn serialize<S: Serializer>(random: &Randomness, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&random.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Randomness, D::Error> {
        let text = String::deserialize(d)?;
        Randomness::from_hex(&text).map_err(D::Error::custom)
    }
}

/// What to do with saved state, before any part is sealed again.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'p> {
    /// Seal each of these parts again and compare its fingerprint; resume if
    /// every one matches, else start afresh.
    Verify(Vec<(&'p Part, &'p str)>),
    /// Another object, key or plan, or state that cannot be trusted: abort
    /// the old upload and start afresh.
    Restart,
}

/// Why a multipart upload stopped before it was completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The user cancelled it (a page's abort): nothing is to stay behind.
    Cancelled,
    /// Stopped to go on later (Ctrl-C, `push --stop-after-parts`).
    Interrupted,
    /// The file is not the one sealed: no resume could match it.
    FileChanged,
    /// Anything else: the network, S3, the store.
    Failed,
}

impl Stop {
    /// Whether to keep the upload (its parts on S3 and its stored state) for
    /// a resume, or to abort it: kept only where its state is stored and a
    /// resume could use it.
    pub fn keeps_upload(self, stored: bool) -> bool {
        stored && matches!(self, Stop::Interrupted | Stop::Failed)
    }
}

impl Saved {
    /// A fresh upload's state.
    pub fn new(
        object: String,
        random: Randomness,
        commitment: String,
        upload_id: String,
        part_size: u64,
    ) -> Self {
        Self {
            object,
            random,
            commitment,
            upload_id,
            part_size,
            sealed: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// The verdict on this state for an upload of `object` with key
    /// `commitment` and parts `plan` made with `part_size`.
    pub fn verdict<'p>(
        &'p self,
        object: &str,
        commitment: &str,
        part_size: u64,
        plan: &'p [Part],
    ) -> Verdict<'p> {
        if self.object != object || self.commitment != commitment || self.part_size != part_size {
            return Verdict::Restart;
        }
        // Hosts store the state only once a part was sealed, and seal parts
        // in order from 1: anything else was not written by one, and
        // bounding the lists bounds the scans below.
        if self.sealed.is_empty()
            || self.sealed.len() > plan.len()
            || self.parts.len() > self.sealed.len()
        {
            return Verdict::Restart;
        }
        // Every finished part must have been fingerprinted before it was sent.
        if !self
            .parts
            .iter()
            .all(|(n, _)| self.sealed.iter().any(|(m, _)| m == n))
        {
            return Verdict::Restart;
        }
        // In plan order: the ledger of segment digests fills in order.
        // (At most 10,000 parts each: a quadratic scan once per resume costs
        // less code in the wasm module than an index.)
        let mut checks = Vec::new();
        for part in plan {
            let mut listed = self.sealed.iter().filter(|(n, _)| *n == part.number);
            match (listed.next(), listed.next()) {
                (Some((_, fp)), None) => checks.push((part, fp.as_str())),
                (None, _) => {}
                // Listed twice: not state we wrote.
                (Some(_), Some(_)) => return Verdict::Restart,
            }
        }
        // A part beyond the plan, or not parts 1..=k: one listed twice was
        // refused above, so k distinct numbers up to k are exactly those.
        let k = self.sealed.len();
        if checks.len() != k || checks.iter().any(|(p, _)| usize::from(p.number) > k) {
            return Verdict::Restart;
        }
        Verdict::Verify(checks)
    }

    /// Records that part `n` was sealed with `fingerprint`, before it is
    /// sent; `Ok(false)` when the state already said so (nothing to write).
    /// A part recorded with another fingerprint is refused: its nonces then
    /// sealed other bytes (the file changed after it was verified), and
    /// whoever saw the first sending would get both under one nonce.
    pub fn record_sealed(&mut self, n: u16, fingerprint: String) -> Result<bool> {
        match self.sealed.iter().find(|(m, _)| *m == n) {
            Some((_, fp)) if *fp == fingerprint => Ok(false),
            Some(_) => Err(Error::InvalidInput(
                "the file changed while it was uploaded (a part sealed again differs); upload it afresh",
            )),
            None => {
                self.sealed.push((n, fingerprint));
                Ok(true)
            }
        }
    }

    /// Records S3's ETag for part `n`.
    pub fn record_finished(&mut self, n: u16, etag: String) {
        self.parts.retain(|(m, _)| *m != n);
        self.parts.push((n, etag));
    }

    /// Whether S3 confirmed part `n`.
    pub fn finished(&self, n: u16) -> bool {
        self.parts.iter().any(|(m, _)| *m == n)
    }

    /// The parts of `plan` still to send.
    pub fn remaining<'p>(&self, plan: &'p [Part]) -> impl Iterator<Item = &'p Part> + use<'p, '_> {
        plan.iter().filter(|p| !self.finished(p.number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::plan::plan;

    fn saved(plan: &[Part]) -> Saved {
        let mut s = Saved::new(
            "o".into(),
            Randomness::from_bytes(&[1; Randomness::SIZE]).unwrap(),
            "c".into(),
            "u".into(),
            5 << 20,
        );
        for p in plan.iter().take(2).rev() {
            s.record_sealed(p.number, format!("fp{}", p.number))
                .unwrap();
        }
        s.record_finished(1, "e1".into());
        s
    }

    #[test]
    fn only_the_same_object_key_and_plan_resume() {
        let plan = plan(100, 40 << 20, 5 << 20).unwrap();
        let s = saved(&plan);
        let Verdict::Verify(checks) = s.verdict("o", "c", 5 << 20, &plan) else {
            panic!("same object, key and plan");
        };
        assert_eq!(
            checks
                .iter()
                .map(|(p, fp)| (p.number, *fp))
                .collect::<Vec<_>>(),
            [(1, "fp1"), (2, "fp2")]
        );
        assert_eq!(s.verdict("other", "c", 5 << 20, &plan), Verdict::Restart);
        assert_eq!(
            s.verdict("o", "other key", 5 << 20, &plan),
            Verdict::Restart
        );
        assert_eq!(s.verdict("o", "c", 8 << 20, &plan), Verdict::Restart);
    }

    #[test]
    fn state_that_cannot_be_trusted_restarts() {
        let plan = plan(100, 40 << 20, 5 << 20).unwrap();
        let mut unfingerprinted = saved(&plan);
        unfingerprinted.record_finished(3, "e3".into());
        assert_eq!(
            unfingerprinted.verdict("o", "c", 5 << 20, &plan),
            Verdict::Restart,
            "a finished part must have been fingerprinted before it was sent"
        );
        let mut beyond = saved(&plan);
        beyond.record_sealed(99, "fp".into()).unwrap();
        assert_eq!(beyond.verdict("o", "c", 5 << 20, &plan), Verdict::Restart);
        let mut zero = saved(&plan);
        zero.record_sealed(0, "fp".into()).unwrap();
        assert_eq!(zero.verdict("o", "c", 5 << 20, &plan), Verdict::Restart);
        let mut twice = saved(&plan);
        twice.sealed.push((1, "fp1".into()));
        assert_eq!(twice.verdict("o", "c", 5 << 20, &plan), Verdict::Restart);
    }

    #[test]
    fn records_report_changes_and_refuse_a_part_sealed_to_other_bytes() {
        let plan = plan(100, 40 << 20, 5 << 20).unwrap();
        let mut s = saved(&plan);
        assert_eq!(
            s.record_sealed(1, "fp1".into()),
            Ok(false),
            "unchanged: nothing to write"
        );
        assert_eq!(s.record_sealed(3, "fp3".into()), Ok(true));
        // Part 1 sealed again from changed bytes, under the same nonces:
        // sending it would give whoever saw the first both.
        assert_eq!(
            s.record_sealed(1, "new".into()).unwrap_err().code(),
            "InvalidInput"
        );
        assert_eq!(
            s.sealed.iter().filter(|(n, _)| *n == 1).collect::<Vec<_>>(),
            [&(1, "fp1".to_string())]
        );
        s.record_finished(1, "e1b".into());
        assert_eq!(s.parts, [(1, "e1b".to_string())]);
        assert_eq!(
            s.remaining(&plan).map(|p| p.number).collect::<Vec<_>>(),
            (2..=plan.len() as u16).collect::<Vec<_>>()
        );
    }

    #[test]
    fn only_a_stored_upload_that_a_resume_could_use_is_kept() {
        use Stop::*;
        for (stop, kept_if_stored) in [
            (Cancelled, false),
            (Interrupted, true),
            (FileChanged, false),
            (Failed, true),
        ] {
            assert_eq!(stop.keeps_upload(true), kept_if_stored, "{stop:?}");
            assert!(!stop.keeps_upload(false), "{stop:?} with no stored state");
        }
    }

    #[test]
    fn fingerprints_cover_every_tag_in_order() {
        let a = fingerprint([&[1u8; 16][..], &[2; 16]]);
        assert_eq!(a.len(), 64);
        assert_ne!(a, fingerprint([&[2u8; 16][..], &[1; 16]]));
        assert_ne!(a, fingerprint([&[1u8; 16][..]]));
    }

    /// One spelling for every host: what the browser stores (its `v`
    /// beside) and what `push` wrote before, snake_case, both read back.
    #[cfg(feature = "serde")]
    #[test]
    fn the_state_reads_as_every_host_wrote_it() {
        let plan = plan(100, 20 << 20, 5 << 20).unwrap();
        let s = saved(&plan);
        let random = "01".repeat(Randomness::SIZE);
        let browser = format!(
            r#"{{"v":3,"object":"o","random":"{random}","commitment":"c","uploadId":"u","partSize":5242880,"sealed":[[2,"fp2"],[1,"fp1"]],"parts":[[1,"e1"]]}}"#
        );
        let written = serde_json::to_string(&s).unwrap();
        assert_eq!(format!(r#"{{"v":3,{}"#, &written[1..]), browser);
        assert_eq!(serde_json::from_str::<Saved>(&browser).unwrap(), s);
        let push_before = browser
            .replace("uploadId", "upload_id")
            .replace("partSize", "part_size");
        assert_eq!(serde_json::from_str::<Saved>(&push_before).unwrap(), s);
        let bad = browser.replace(&random, "zz");
        assert!(serde_json::from_str::<Saved>(&bad).is_err());
    }
}
