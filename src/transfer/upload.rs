//! One object's upload, sans I/O: what every host (the browser's upload.ts,
//! `s3seal push`) asks before and between its requests. It decides whether
//! saved state resumes, which parts there are and which S3 already has,
//! what each part holds, what each presign request says, and what state to
//! store when. The host reads the file, runs the cipher (or lets
//! [`Upload::seal_part`] run it), sends, retries and stores.
//!
//! The order a host follows:
//! 1. [`Upload::start`] with the state saved for this file, if any. When
//!    [`Upload::resuming`], seal every part of [`Upload::to_verify`] again
//!    and compare fingerprints; on any difference, start again without
//!    the state. Unless resuming, send [`Upload::stale`] (abort the saved
//!    upload) and forget the state.
//! 2. One part ([`Upload::is_multipart`] false): seal it, send
//!    [`Op::Put`]. Else: send [`Op::CreateMultipart`] unless resuming and
//!    [`Upload::begin`] with the answer; then for every part S3 lacks, in
//!    order: seal it, [`Upload::record_sealed`] (store the state *before*
//!    the part leaves), send it, [`Upload::record_finished`]; then send
//!    [`Upload::completion`].

use crate::error::{Error, Result};
use crate::format::Metadata;
use crate::key::hex;
use crate::object::{Randomness, Sealer, SegmentLedger, sealing_source};
use crate::signature::{SIGNATURE_SIZE, SegmentDigest};
use crate::stream::TAG_SIZE;
use crate::{DeleteToken, Recipient, Secret};

use super::plan::{self, Part};
use super::presign::{Op, Request, SseC};
use super::resume::{Saved, Verdict, fingerprint};
use super::share::Terms;
use crate::hazmat::{Piece, Step};

/// Whom an upload is sealed for.
pub enum Target {
    /// A root key or passphrase the uploader holds (and may resume with).
    Secret(Secret),
    /// A recipient's public key: the uploader holds nothing afterwards,
    /// and nothing resumes (that would mean storing the file key).
    Recipient(Recipient),
}

/// How an object goes up: the host's options.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Objects with more plaintext than this, in bytes, go up in parts.
    pub multipart_threshold: u64,
    /// Target part size in bytes.
    pub part_size: u64,
    /// Sharing terms for the first write; the owner's delete-token hash is
    /// added here when there is an owner.
    pub share: Option<Terms>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            multipart_threshold: plan::DEFAULT_MULTIPART_THRESHOLD,
            part_size: plan::DEFAULT_PART_SIZE,
            share: None,
        }
    }
}

/// A part sealed by [`Upload::seal_part`]: the bytes to send, and the
/// fingerprint to record before they leave.
pub struct SealedPart {
    /// The part's bytes on the wire.
    pub body: Vec<u8>,
    /// [`fingerprint`] of its segments' tags.
    pub fingerprint: String,
}

/// One object being uploaded.
pub struct Upload {
    sealer: Sealer,
    ledger: SegmentLedger,
    parts: Vec<Part>,
    multipart: bool,
    plaintext_len: u64,
    part_size: u64,
    share: Option<Terms>,
    sse_c: SseC,
    /// The multipart upload's state: resumed, or begun by [`Upload::begin`].
    state: Option<Saved>,
    /// When resuming: the parts to seal again, with their fingerprints.
    verify: Option<Vec<(u16, String)>>,
    /// The saved upload given, which this one does not continue.
    stale: Option<(String, String)>,
}

fn commitment(sealer: &Sealer) -> String {
    hex(&sealer.file_key().commitment(&sealer.object_id()))
}

impl Upload {
    /// Starts the upload of `plaintext_len` bytes described by `meta`.
    /// With `saved`, the state a host stored for this file, it resumes
    /// that upload if the state is this object's with this key and plan
    /// (then [`Upload::resuming`]: verify before going on).
    pub fn start(
        target: &Target,
        meta: &Metadata,
        plaintext_len: u64,
        settings: &Settings,
        saved: Option<Saved>,
    ) -> Result<Self> {
        let fresh =
            |secret: &Secret| Sealer::with_randomness(secret, meta, Randomness::generate()?);
        let (sealer, saved) = match target {
            Target::Recipient(r) => (Sealer::for_recipient(r, meta)?, None),
            Target::Secret(secret) => {
                sealing_source(secret)?;
                match saved {
                    // The key and the saved randomness give the signing
                    // key, so the id, and the file key: the same object
                    // only with the same key.
                    Some(s) => (Sealer::with_randomness(secret, meta, s.random)?, Some(s)),
                    None => (fresh(secret)?, None),
                }
            }
        };
        let (parts, multipart) = match plan::upload(
            sealer.head_len(),
            plaintext_len,
            settings.multipart_threshold,
            settings.part_size,
        )? {
            plan::Upload::Single(whole) => (vec![whole], false),
            plan::Upload::Multipart(parts) => (parts, true),
        };
        let (sealer, state, verify, stale) = match (saved, target) {
            (Some(s), Target::Secret(secret)) if multipart => {
                let verdict = s.verdict(
                    &sealer.object_name().to_string(),
                    &commitment(&sealer),
                    settings.part_size,
                    &parts,
                );
                // Only an object name is ever aborted, whatever the state says.
                let stale = crate::ObjectName::parse(&s.object)
                    .is_ok()
                    .then(|| (s.object.clone(), s.upload_id.clone()));
                match verdict {
                    Verdict::Verify(list) => {
                        let list = list
                            .into_iter()
                            .map(|(part, fp)| (part.number, fp.to_owned()))
                            .collect();
                        (sealer, Some(s), Some(list), stale)
                    }
                    Verdict::Restart => (fresh(secret)?, None, None, stale),
                }
            }
            // One PUT: the state is not this upload's, and stays.
            (Some(_), Target::Secret(secret)) => (fresh(secret)?, None, None, None),
            _ => (sealer, None, None, None),
        };
        // A part is sealed in memory, at `usize` offsets: 32-bit in wasm.
        if parts
            .iter()
            .any(|p| usize::try_from(p.plaintext_len()).is_err())
        {
            return Err(Error::InvalidInput(
                "a part over 4 GiB cannot be sealed here; lower the part size or the multipart threshold",
            ));
        }
        Ok(Self {
            sse_c: SseC::from_key(&sealer.sse_c_key()),
            sealer,
            ledger: SegmentLedger::new(),
            parts,
            multipart,
            plaintext_len,
            part_size: settings.part_size,
            share: settings.share.clone(),
            state,
            verify,
            stale,
        })
    }

    /// The object's sealer (its name, id, keys, head).
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Bytes stored.
    pub fn object_len(&self) -> u64 {
        self.sealer.object_len(self.plaintext_len)
    }

    /// Whether it goes up in parts (else one PUT of the one part).
    pub fn is_multipart(&self) -> bool {
        self.multipart
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether S3 has part `number` already (from the resumed upload).
    pub fn finished(&self, number: u16) -> bool {
        self.state.as_ref().is_some_and(|s| s.finished(number))
    }

    /// Whether it continues the saved upload, once every part of
    /// [`Upload::to_verify`] sealed again to its fingerprint.
    pub fn resuming(&self) -> bool {
        self.verify.is_some()
    }

    /// When resuming: each part to seal again, with the fingerprint it
    /// must seal to.
    pub fn to_verify(&self) -> impl Iterator<Item = (&Part, &str)> {
        self.verify.iter().flatten().filter_map(|(n, fp)| {
            let part = self.parts.iter().find(|p| p.number == *n)?;
            Some((part, fp.as_str()))
        })
    }

    /// The request that aborts the saved upload given, when this one does
    /// not continue it, or when [`Upload::to_verify`] found a part changed
    /// (its parts are garbage either way).
    pub fn stale(&self) -> Option<Request> {
        let (object, upload_id) = self.stale.as_ref()?;
        Some(Request::new(Op::AbortMultipart, object.as_str()).upload(upload_id, None))
    }

    fn part(&self, number: u16) -> Result<&Part> {
        self.parts
            .iter()
            .find(|p| p.number == number)
            .ok_or(Error::InvalidInput("no such part"))
    }

    /// How to seal part `number` on an engine of the host's: the head to
    /// put first (part 1 only), then one step per segment, each a run of
    /// the part's plaintext from its start (see [`crate::hazmat::Step`]);
    /// the last part ends with [`Upload::signature`]. Then
    /// [`Upload::record_part`].
    pub fn part_steps(&self, number: u16) -> Result<(Option<Vec<u8>>, Vec<Step>)> {
        let part = self.part(number)?;
        let cipher = self.sealer.segment_cipher();
        let steps = part
            .segment_jobs()
            .map(|job| {
                Ok(Step::Segment {
                    nonce: cipher.nonce(job.index, job.last)?,
                    from: Some((Piece::Chunk, job.plaintext.start as usize)),
                    len: (job.plaintext.end - job.plaintext.start) as usize,
                })
            })
            .collect::<Result<_>>()?;
        Ok((part.carries_head().then(|| self.sealer.head()), steps))
    }

    /// Part `number` was sealed by the host's engine: its segments'
    /// SHA-256 as stored, and their tags, in order. The digests go to the
    /// signature (a segment sealed before over other bytes is refused);
    /// returns the part's fingerprint.
    pub fn record_part(
        &mut self,
        number: u16,
        digests: &[SegmentDigest],
        tags: &[u8],
    ) -> Result<String> {
        let part = self.part(number)?;
        let count = (part.segments.end - part.segments.start) as usize;
        if digests.len() != count || tags.len() != count * TAG_SIZE {
            return Err(Error::InvalidInput(
                "not one digest and one tag per segment of the part",
            ));
        }
        let (first, last) = (part.segments.start, part.last);
        self.ledger.record_digests(first, digests, last)?;
        Ok(fingerprint(tags.chunks(TAG_SIZE)))
    }

    /// Seals part `number` from its `plaintext` on the core's AES: its
    /// bytes on the wire (with the head and the signature where the part
    /// carries them) and its fingerprint.
    pub fn seal_part(&mut self, number: u16, plaintext: &[u8]) -> Result<SealedPart> {
        let part = self.part(number)?.clone();
        if plaintext.len() as u64 != part.plaintext_len() {
            return Err(Error::InvalidInput(
                "a part's plaintext has the wrong length",
            ));
        }
        let mut body = if part.carries_head() {
            self.sealer.head()
        } else {
            Vec::new()
        };
        let start = body.len();
        self.sealer.seal_segments_once(
            &mut self.ledger,
            part.segments.start,
            plaintext,
            part.last,
            &mut body,
        )?;
        let mut tags = Vec::new();
        let mut at = start;
        for job in part.segment_jobs() {
            at += (job.plaintext.end - job.plaintext.start) as usize + TAG_SIZE;
            tags.push(&body[at - TAG_SIZE..at]);
        }
        let fingerprint = fingerprint(tags);
        if part.carries_signature() {
            let signature = self.signature()?;
            body.extend_from_slice(&signature);
        }
        debug_assert_eq!(body.len() as u64, part.size);
        Ok(SealedPart { body, fingerprint })
    }

    /// The object's signature, which ends the last part: once every
    /// segment before it was sealed (or sealed again to verify it).
    pub fn signature(&self) -> Result<[u8; SIGNATURE_SIZE]> {
        self.sealer.signature(&self.ledger)
    }

    /// The presign request for `op` on this object, `size` bytes (where the
    /// operation sends or makes that many): its SSE-C headers and sharing
    /// terms where the operation takes them, and this upload's id (and
    /// `part_number`) within the multipart upload.
    pub fn request(&self, op: Op, size: Option<u64>, part_number: Option<u16>) -> Result<Request> {
        let mut request = Request::new(op, self.sealer.object_name().to_string());
        if op.keyed() {
            request = request.sse_c(Some(&self.sse_c));
        }
        if let Some(n) = size {
            request = request.size(n);
        }
        if op.creates() {
            request = request.share(self.share.clone().map(|mut terms| {
                // The backend keeps the hash; the token stays with the owner.
                terms.delete_hash = self.sealer.delete_token().map(|t| t.hash());
                terms
            }));
        }
        if op.in_upload() {
            let state = self.state.as_ref();
            let id = state.ok_or(Error::InvalidInput("no multipart upload begun"))?;
            request = request.upload(&id.upload_id, part_number);
        }
        Ok(request)
    }

    /// Begins the multipart upload S3 named `upload_id` (nothing to store
    /// yet: no part was sealed). Only once, and not when resuming: that
    /// would drop the parts recorded.
    pub fn begin(&mut self, upload_id: String) -> Result<()> {
        if !self.multipart || self.state.is_some() {
            return Err(Error::InvalidInput(
                "the multipart upload was begun already",
            ));
        }
        self.state = Some(Saved::new(
            self.sealer.object_name().to_string(),
            self.sealer.randomness(),
            commitment(&self.sealer),
            upload_id,
            self.part_size,
        ));
        Ok(())
    }

    /// The multipart upload's state, once begun or resumed.
    pub fn state(&self) -> Option<&Saved> {
        self.state.as_ref()
    }

    /// Records that part `number` was sealed to `fingerprint`; returns the
    /// state to store before the part is sent, or nothing when unchanged.
    /// A part sealed before to other bytes is refused: it must not be sent
    /// ([`Saved::record_sealed`]).
    pub fn record_sealed(&mut self, number: u16, fingerprint: String) -> Result<Option<&Saved>> {
        let Some(s) = self.state.as_mut() else {
            return Ok(None);
        };
        Ok(s.record_sealed(number, fingerprint)?.then_some(&*s))
    }

    /// Records S3's ETag for part `number`; returns the state to store.
    pub fn record_finished(&mut self, number: u16, etag: String) -> Option<&Saved> {
        let s = self.state.as_mut()?;
        s.record_finished(number, etag);
        Some(s)
    }

    /// The CompleteMultipartUpload document of every part S3 confirmed.
    pub fn completion(&self) -> String {
        let mut parts = self
            .state
            .as_ref()
            .map(|s| s.parts.clone())
            .unwrap_or_default();
        super::xml::complete_multipart(&mut parts)
    }

    /// The owner's delete token, when the upload asks for sharing terms
    /// (the backend keeps its hash).
    pub fn delete_token(&self) -> Option<&DeleteToken> {
        self.share.as_ref()?;
        self.sealer.delete_token()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KEY_SIZE, RootKey};
    use crate::object::Opener;
    use crate::signature::segment_digest;
    use crate::stream::SEGMENT_SIZE;
    use crate::{Identity, Secret};

    const MIB: u64 = 1 << 20;

    fn key(byte: u8) -> Target {
        Target::Secret(Secret::Root(RootKey::from_bytes([byte; KEY_SIZE])))
    }

    fn meta(len: usize) -> Metadata {
        Metadata {
            name: "f.bin".into(),
            media_type: String::new(),
            size: Some(len as u64),
        }
    }

    fn start(target: &Target, data: &[u8], saved: Option<Saved>) -> Upload {
        start_with(target, data, &settings(), saved)
    }

    fn start_with(target: &Target, data: &[u8], how: &Settings, saved: Option<Saved>) -> Upload {
        Upload::start(target, &meta(data.len()), data.len() as u64, how, saved).unwrap()
    }

    /// Parts of 5 MiB above 5 MiB; sharing asked for.
    fn settings() -> Settings {
        Settings {
            multipart_threshold: 5 * MIB,
            part_size: 5 * MIB,
            share: Some(Terms {
                downloads: Some(3),
                ..Terms::default()
            }),
        }
    }

    fn file(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    fn plaintext<'a>(file: &'a [u8], part: &Part) -> &'a [u8] {
        &file[part.plaintext.start as usize..part.plaintext.end as usize]
    }

    /// Seals part `number` as the browser does: the steps on an engine of
    /// its own (here the core's AES), then `record_part`.
    fn seal_by_steps(up: &mut Upload, number: u16, plain: &[u8]) -> Result<SealedPart> {
        let (head, steps) = up.part_steps(number)?;
        let mut body = head.unwrap_or_default();
        let (mut digests, mut tags) = (Vec::new(), Vec::new());
        for step in steps {
            let Step::Segment {
                nonce,
                from: Some((Piece::Chunk, at)),
                len,
            } = step
            else {
                panic!("a part's steps are segments of its plaintext");
            };
            let mut sealed = Vec::new();
            up.sealer()
                .segment_cipher()
                .seal_to(nonce, &plain[at..at + len], &mut sealed);
            digests.push(segment_digest(&sealed));
            tags.extend_from_slice(&sealed[sealed.len() - TAG_SIZE..]);
            body.extend_from_slice(&sealed);
        }
        let fingerprint = up.record_part(number, &digests, &tags)?;
        if up.parts().iter().any(|p| p.number == number && p.last) {
            body.extend_from_slice(&up.signature()?);
        }
        Ok(SealedPart { body, fingerprint })
    }

    fn open(target: &Target, name: &str, object: &[u8]) -> Result<Vec<u8>> {
        let Target::Secret(secret) = target else {
            unreachable!()
        };
        let mut opener = Opener::new(secret.clone());
        opener.expect_name(crate::ObjectName::parse(name)?)?;
        let mut out = Vec::new();
        opener.push(object, &mut out)?;
        opener.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn one_put_seals_the_whole_object_with_its_terms() {
        let (target, data) = (key(1), file(3 * SEGMENT_SIZE + 5, 0));
        let mut up = start(&target, &data, None);
        assert!(!up.is_multipart() && !up.resuming() && up.stale().is_none());
        assert_eq!(up.parts().len(), 1);
        let sealed = up.seal_part(1, &data).unwrap();
        assert_eq!(sealed.body.len() as u64, up.object_len());
        let name = up.sealer().object_name().to_string();
        assert_eq!(open(&target, &name, &sealed.body).unwrap(), data);

        let put = up.request(Op::Put, Some(up.object_len()), None).unwrap();
        assert_eq!(put.object, name);
        assert!(put.sse_c.is_some());
        let terms = put.share.expect("terms on the first write");
        assert_eq!(terms.downloads, Some(3));
        let token = up.delete_token().expect("an owner, with terms");
        assert_eq!(terms.delete_hash, Some(token.hash()));
        // No terms, no share to delete: no token to hand out.
        let how = Settings {
            share: None,
            ..settings()
        };
        assert!(
            start_with(&target, &data, &how, None)
                .delete_token()
                .is_none()
        );
        // Not the upload's business: no upload id was ever begun.
        assert!(up.request(Op::UploadPart, None, Some(1)).is_err());
        assert!(up.request(Op::Get, None, None).unwrap().share.is_none());
    }

    #[test]
    fn multipart_by_steps_and_natively_make_the_same_object() {
        let (target, data) = (key(2), file(12 * MIB as usize + 77, 1));
        let mut up = start(&target, &data, None);
        assert!(up.is_multipart());
        up.begin("upload-1".into()).unwrap();
        let parts = up.parts().to_vec();
        assert_eq!(parts.len(), 3);
        let mut object = Vec::new();
        for part in &parts {
            let plain = plaintext(&data, part);
            let sealed = if part.number == 2 {
                seal_by_steps(&mut up, part.number, plain).unwrap()
            } else {
                up.seal_part(part.number, plain).unwrap()
            };
            assert_eq!(sealed.body.len() as u64, part.size);
            let stored = up
                .record_sealed(part.number, sealed.fingerprint.clone())
                .unwrap();
            assert!(stored.is_some_and(|s| s.sealed.len() == part.number as usize));
            // Recorded already, same bytes: nothing new to store.
            assert!(
                up.record_sealed(part.number, sealed.fingerprint)
                    .unwrap()
                    .is_none()
            );
            let req = up
                .request(Op::UploadPart, Some(part.size), Some(part.number))
                .unwrap();
            assert_eq!(
                (req.upload_id.as_deref(), req.part_number),
                (Some("upload-1"), Some(part.number))
            );
            up.record_finished(part.number, format!("\"e{}\"", part.number));
            object.extend_from_slice(&sealed.body);
        }
        let completion = up.completion();
        assert!(
            completion.contains("<PartNumber>3</PartNumber>"),
            "{completion}"
        );
        let name = up.sealer().object_name().to_string();
        assert_eq!(open(&target, &name, &object).unwrap(), data);
        // A part sealed again over other bytes would reuse its nonces.
        let other = file(parts[1].plaintext_len() as usize, 9);
        assert_eq!(
            up.seal_part(2, &other).err(),
            Some(Error::InvalidInput(
                "segment already sealed over other bytes (that would reuse its nonce)"
            ))
        );
    }

    /// A first run sends part 1 and stops; its state resumes the upload.
    fn interrupted(target: &Target, data: &[u8]) -> (String, Saved) {
        let mut up = start(target, data, None);
        up.begin("upload-1".into()).unwrap();
        let part = up.parts()[0].clone();
        let sealed = up.seal_part(1, plaintext(data, &part)).unwrap();
        up.record_sealed(1, sealed.fingerprint).unwrap();
        let state = up.record_finished(1, "\"e1\"".into()).unwrap().clone();
        (up.sealer().object_name().to_string(), state)
    }

    #[test]
    fn the_same_file_and_key_resume_after_verifying_the_sealed_parts() {
        let (target, data) = (key(3), file(12 * MIB as usize, 2));
        let (name, state) = interrupted(&target, &data);
        let mut up = start(&target, &data, Some(state));
        assert!(up.resuming());
        assert_eq!(up.sealer().object_name().to_string(), name);
        assert!(up.finished(1) && !up.finished(2));
        let checks: Vec<(Part, String)> = up
            .to_verify()
            .map(|(p, f)| (p.clone(), f.to_owned()))
            .collect();
        assert_eq!(checks.len(), 1);
        for (part, fingerprint) in checks {
            let again = seal_by_steps(&mut up, part.number, plaintext(&data, &part)).unwrap();
            assert_eq!(again.fingerprint, fingerprint);
        }
        // It goes on under the saved upload id.
        let req = up.request(Op::UploadPart, Some(1), Some(2)).unwrap();
        assert_eq!(req.upload_id.as_deref(), Some("upload-1"));
        assert!(
            up.stale().is_some(),
            "the host aborts it only when not resuming"
        );
    }

    #[test]
    fn a_changed_file_fails_verification_and_starts_afresh() {
        let (target, data) = (key(4), file(12 * MIB as usize, 3));
        let (name, state) = interrupted(&target, &data);
        let changed = file(data.len(), 4);
        let mut up = start(&target, &data, Some(state));
        let (part, fingerprint) = up
            .to_verify()
            .map(|(p, f)| (p.clone(), f.to_owned()))
            .next()
            .unwrap();
        let again = up
            .seal_part(part.number, plaintext(&changed, &part))
            .unwrap();
        assert_ne!(again.fingerprint, fingerprint);
        // The host starts again without the state, and aborts the old upload.
        let stale = up.stale().unwrap();
        assert_eq!(
            (stale.op, stale.object.as_str(), stale.upload_id.as_deref()),
            (Op::AbortMultipart, name.as_str(), Some("upload-1"))
        );
        let fresh = start(&target, &data, None);
        assert_ne!(fresh.sealer().object_name().to_string(), name);
    }

    #[test]
    fn another_key_restarts_and_leaves_the_old_upload_to_abort() {
        let data = file(12 * MIB as usize, 5);
        let (name, state) = interrupted(&key(5), &data);
        let up = start(&key(6), &data, Some(state));
        assert!(!up.resuming() && up.state().is_none() && up.to_verify().next().is_none());
        assert_ne!(up.sealer().object_name().to_string(), name);
        assert_eq!(up.stale().unwrap().object, name);
    }

    #[test]
    fn another_plan_restarts() {
        let (target, data) = (key(7), file(12 * MIB as usize, 6));
        let (_, state) = interrupted(&target, &data);
        let wider = Settings {
            part_size: 6 * MIB,
            ..settings()
        };
        let up = start_with(&target, &data, &wider, Some(state));
        assert!(!up.resuming() && up.stale().is_some());
    }

    #[test]
    fn a_single_put_leaves_saved_state_alone() {
        let (target, data) = (key(8), file(12 * MIB as usize, 7));
        let (name, state) = interrupted(&target, &data);
        let small = file(MIB as usize, 7);
        let up = start(&target, &small, Some(state));
        assert!(!up.is_multipart() && !up.resuming() && up.stale().is_none());
        // Fresh randomness: the saved one sealed other bytes under the same
        // segment key and nonces.
        assert_ne!(up.sealer().object_name().to_string(), name);
    }

    #[test]
    fn a_recipient_upload_keeps_no_key_and_never_resumes() {
        let identity = Identity::generate().unwrap();
        let target = Target::Recipient(identity.recipient());
        let data = file(12 * MIB as usize, 8);
        let (_, state) = interrupted(&key(9), &data);
        let mut up = start(&target, &data, Some(state));
        assert!(!up.resuming() && up.stale().is_none() && up.sealer().share_key().is_err());
        assert!(up.sealer().delete_token().is_none());
        let terms = up
            .request(Op::CreateMultipart, None, None)
            .unwrap()
            .share
            .unwrap();
        assert_eq!(terms.delete_hash, None);
        up.begin("u".into()).unwrap();
        assert!(
            up.seal_part(1, plaintext(&data, &up.parts()[0].clone()))
                .is_ok()
        );
    }

    #[test]
    fn malformed_part_input_is_refused() {
        let (target, data) = (key(10), file(12 * MIB as usize, 9));
        let mut up = start(&target, &data, None);
        assert_eq!(
            up.seal_part(1, &data[..10]).err(),
            Some(Error::InvalidInput(
                "a part's plaintext has the wrong length"
            ))
        );
        assert_eq!(
            up.seal_part(9, &data).err(),
            Some(Error::InvalidInput("no such part"))
        );
        assert!(up.part_steps(9).is_err());
        let (_, steps) = up.part_steps(1).unwrap();
        let digests = vec![[0u8; 32]; steps.len() - 1];
        assert!(
            up.record_part(1, &digests, &vec![0; digests.len() * TAG_SIZE])
                .is_err()
        );
        let digests = vec![[0u8; 32]; steps.len()];
        assert!(up.record_part(1, &digests, &[0; 3]).is_err());
        // Recording part 1 was refused: nothing went to the ledger.
        assert!(
            up.seal_part(1, plaintext(&data, &up.parts()[0].clone()))
                .is_ok()
        );
    }

    #[test]
    fn an_upload_is_begun_once_and_only_in_parts() {
        let data = file(12 * MIB as usize, 11);
        let mut up = start(&key(11), &data, None);
        up.begin("u".into()).unwrap();
        assert!(
            up.begin("v".into()).is_err(),
            "a second begin would drop the parts recorded"
        );
        assert_eq!(up.state().unwrap().upload_id, "u");
        let small = file(1000, 11);
        assert!(start(&key(11), &small, None).begin("u".into()).is_err());
        // Resumed: begun already.
        let (_, state) = interrupted(&key(12), &data);
        assert!(
            start(&key(12), &data, Some(state))
                .begin("w".into())
                .is_err()
        );
    }

    /// State a host could not have written: it restarts, and only an
    /// object name is ever aborted.
    #[test]
    fn state_no_host_wrote_restarts() {
        let (target, data) = (key(13), file(16 * MIB as usize, 12));
        let (_, state) = interrupted(&target, &data);
        let tampered = |change: &dyn Fn(&mut Saved)| {
            let mut s = state.clone();
            change(&mut s);
            start(&target, &data, Some(s))
        };
        // Nothing sealed: nothing would be verified.
        let up = tampered(&|s| {
            s.sealed.clear();
            s.parts.clear();
        });
        assert!(!up.resuming() && up.stale().is_some());
        // Not parts 1..=k: part 2 alone.
        let up = tampered(&|s| {
            s.sealed = vec![(2, "fp".into())];
            s.parts.clear();
        });
        assert!(!up.resuming());
        // More finished than sealed, or more sealed than planned.
        assert!(!tampered(&|s| s.parts.push((2, "e".into()))).resuming());
        assert!(!tampered(&|s| s.sealed = (1..=9).map(|n| (n, "fp".into())).collect()).resuming());
        // The key commitment (32 bytes, hex) is what ties it to the key.
        assert!(
            state.commitment.len() == 64 && state.commitment.bytes().all(|b| b.is_ascii_hexdigit())
        );
        assert!(!tampered(&|s| s.commitment = "0".repeat(64)).resuming());
        // Another object's name (or none) is not aborted.
        let up = tampered(&|s| s.object = "../other".into());
        assert!(!up.resuming() && up.stale().is_none());
        assert!(
            start(&target, &data, Some(state.clone())).resuming(),
            "untouched, it resumes"
        );
    }
}
