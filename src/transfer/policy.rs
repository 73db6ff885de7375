//! What a presign backend may sign: the policy of `s3seal serve`, as pure
//! decisions. The backend signs a [`Permit`] with its credentials and makes
//! the few S3 requests a decision needs (is the key free, which parts does
//! an upload hold); everything else is decided here.
//!
//! Object names are s3seal object names confined to one prefix, sizes are
//! capped and signed, an unencrypted upload is never presigned, a write never
//! replaces an object (`If-None-Match: *` signed in, and a backend also
//! checks that the key is free, for stores that ignore the condition), and an
//! upload form neither reads nor takes anything but objects sealed to its
//! public key.

use super::plan::{MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE};
use super::presign::{Op, Request};

/// `If-None-Match: *` on a write: S3 refuses to replace an existing object
/// (412). AWS honours it on PUT and CompleteMultipartUpload; Garage 2.5
/// ignores it, which is why `serve` also checks that the key is free.
pub const NO_OVERWRITE: (&str, &str) = ("if-none-match", "*");
/// CompleteMultipartUpload header: AWS refuses (400) to complete an upload
/// whose parts do not add up to this size, so the declared size binds.
pub const MP_OBJECT_SIZE: &str = "x-amz-mp-object-size";

/// Which server-side encryption uploads must use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum SseMode {
    /// SSE-C: the client supplies the (derived) key with every request.
    SseC,
    /// SSE-S3: S3-managed keys.
    SseS3,
    /// SSE-KMS with the configured key id (or the default key).
    SseKms,
}

/// A backend's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Bucket key prefix every object lives under.
    pub prefix: String,
    /// Largest object, in bytes.
    pub max_size: u64,
    /// The server-side encryption uploads must use.
    pub sse: SseMode,
    /// SSE-KMS key id (the bucket's default key if `None`).
    pub kms_key_id: Option<String>,
    /// An upload form (sealed to a public key): only recipient-mode names may
    /// be written, and nothing may be read.
    pub form: bool,
}

/// Why a request was refused (the message is safe to show and log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(msg.into()))
}

/// A request the policy allows, as the signer needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Permit {
    /// The operation.
    pub op: Op,
    /// The object's key in the bucket.
    pub key: String,
    /// Headers to sign in, lower case; values of SSE-C headers are key
    /// material.
    pub headers: Vec<(String, String)>,
    /// The exact body size to sign in (PUT and UploadPart). The client's
    /// HTTP stack sets the header itself.
    pub content_length: Option<u64>,
    /// The multipart upload's id (UploadPart, Complete, Abort).
    pub upload_id: Option<String>,
    /// The part's number (UploadPart).
    pub part_number: Option<u16>,
    /// Whether the backend must first check that the key is free (writes).
    pub needs_free_key: bool,
}

impl core::fmt::Debug for Permit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Permit")
            .field("op", &self.op)
            .field("key", &self.key)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("content_length", &self.content_length)
            .field("upload_id", &self.upload_id)
            .field("part_number", &self.part_number)
            .finish()
    }
}

/// One part of a multipart upload, as S3's ListParts reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartInfo {
    /// Part number.
    pub number: u16,
    /// Size in bytes.
    pub size: u64,
}

/// Whether an object key is in use, from a HEAD without SSE-C headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// 404: the key is free.
    Absent,
    /// 2xx, or 400 (an SSE-C object answers 400 to a HEAD without its key).
    Present,
    /// Anything else (403 may hide either case, 5xx, no answer): the
    /// backend refuses, as if present.
    Unknown,
}

/// What a HEAD's status (`None`: no answer) says about a key.
pub fn presence(status: Option<u16>) -> Presence {
    match status {
        Some(404) => Presence::Absent,
        Some(200..=299 | 400) => Presence::Present,
        _ => Presence::Unknown,
    }
}

const NAME_RULE: &str =
    "object must be an s3seal object name: <32 hex digits>[.<64 hex digits>].s3seal";

impl Policy {
    /// The bucket key of an object name.
    pub fn object_key(&self, object: &str) -> String {
        format!("{}{}", self.prefix, object)
    }

    /// Checks `req` against the policy.
    pub fn permit(&self, req: &Request) -> Result<Permit, Refused> {
        let name = crate::ObjectName::parse(&req.object).map_err(|_| Refused(NAME_RULE.into()))?;
        if req.object != name.to_string() {
            return refuse(NAME_RULE);
        }
        if self.form {
            if name.encapsulated.is_none() {
                return refuse(
                    "this upload form takes only objects sealed to its public key: <32 hex>.<64 hex>.s3seal",
                );
            }
            if matches!(req.op, Op::Head | Op::Get) {
                return refuse("an upload form does not hand out downloads");
            }
        }
        if req.share.is_some() && !matches!(req.op, Op::Put | Op::CreateMultipart) {
            return refuse("share terms go with an object's first write (put or createMultipart)");
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let needs_sse_c = matches!(
            req.op,
            Op::Put | Op::CreateMultipart | Op::UploadPart | Op::Head | Op::Get
        );
        let own = |set: crate::sse::Headers| {
            set.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect::<Vec<_>>()
        };
        match (self.sse, &req.sse_c) {
            (SseMode::SseC, Some(c)) if needs_sse_c || req.op == Op::CompleteMultipart => {
                let checked = c
                    .check()
                    .map_err(|e| Refused(format!("bad SSE-C headers: {e}")))?;
                headers.extend(own(crate::sse::sse_c(&checked)));
            }
            (SseMode::SseC, None) if needs_sse_c => {
                return refuse("this backend requires SSE-C: send the object's SSE-C headers");
            }
            (SseMode::SseC, _) => {}
            (_, Some(_)) => return refuse("this backend does not use SSE-C"),
            (SseMode::SseS3, None) if matches!(req.op, Op::Put | Op::CreateMultipart) => {
                headers.extend(own(crate::sse::sse_s3()));
            }
            (SseMode::SseKms, None) if matches!(req.op, Op::Put | Op::CreateMultipart) => {
                let set = crate::sse::sse_kms(self.kms_key_id.as_deref())
                    .map_err(|e| Refused(e.to_string()))?;
                headers.extend(own(set));
            }
            (_, None) => {}
        }

        // The declared size, required for `what`, and within the cap.
        let capped = |what: &str| -> Result<u64, Refused> {
            let size = req
                .size
                .ok_or_else(|| Refused(format!("{what} needs the object's total size")))?;
            if size > self.max_size {
                return refuse(format!(
                    "object too large: {size} bytes > {} bytes",
                    self.max_size
                ));
            }
            Ok(size)
        };
        // A PUT or a part carries a signed Content-Length, so the cap holds.
        let mut content_length = None;
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
                if size > MAX_PART_SIZE || size > self.max_size {
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
        if req.op.writes() {
            headers.push((NO_OVERWRITE.0.to_owned(), NO_OVERWRITE.1.to_owned()));
        }
        let upload_id = match req.op {
            Op::UploadPart | Op::CompleteMultipart | Op::AbortMultipart => Some(
                req.upload_id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| Refused("uploadId is required".into()))?,
            ),
            _ => None,
        };
        let part_number = match req.op {
            Op::UploadPart => match req.part_number {
                Some(n) if (1..=MAX_PARTS).contains(&u64::from(n)) => Some(n),
                _ => return refuse("partNumber must be 1..=10000"),
            },
            _ => None,
        };
        Ok(Permit {
            op: req.op,
            key: self.object_key(&req.object),
            headers,
            content_length,
            upload_id,
            part_number,
            // CreateMultipart too: it writes the share's record, which must
            // never replace the record of a stored object.
            needs_free_key: req.op.writes() || req.op == Op::CreateMultipart,
        })
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
        if total > self.max_size {
            return refuse(format!(
                "object too large: its parts hold {total} bytes > {} bytes",
                self.max_size
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::presign::SseC;

    fn policy(sse: SseMode) -> Policy {
        Policy {
            prefix: "uploads/".into(),
            max_size: 100 << 20,
            sse,
            kms_key_id: None,
            form: false,
        }
    }

    fn sse_c() -> SseC {
        SseC::from_key(&crate::key::SseCKey::from_bytes([7; 32]))
    }

    fn req(op: Op) -> Request {
        Request::new(op, format!("{}.s3seal", "ab".repeat(16)))
            .sse_c(Some(&sse_c()))
            .size(1000)
            .upload("u1", Some(1))
    }

    fn header<'a>(p: &'a Permit, name: &str) -> Option<&'a str> {
        p.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_put_carries_its_sse_c_headers_size_and_no_overwrite() {
        let p = policy(SseMode::SseC).permit(&req(Op::Put)).unwrap();
        assert_eq!(p.key, format!("uploads/{}.s3seal", "ab".repeat(16)));
        assert_eq!(p.content_length, Some(1000));
        assert_eq!(
            header(&p, "x-amz-server-side-encryption-customer-key"),
            Some(sse_c().key.as_str())
        );
        assert_eq!(
            header(&p, "x-amz-server-side-encryption-customer-key-md5"),
            Some(sse_c().key_md5.as_str())
        );
        assert_eq!(header(&p, "if-none-match"), Some("*"));
        assert!(p.needs_free_key);
        assert_eq!(p.upload_id, None);
        let shown = format!("{p:?}");
        assert!(!shown.contains(&sse_c().key), "{shown}");
        assert!(
            shown.starts_with("Permit")
                && shown.contains("x-amz-server-side-encryption-customer-key")
                && shown.contains("content_length: Some(1000)"),
            "names shown, values not: {shown}"
        );
    }

    #[test]
    fn refuses_what_the_policy_forbids() {
        let p = policy(SseMode::SseC);
        let refused = |r: Request| p.permit(&r).unwrap_err().0;
        let mut r = req(Op::Put);
        r.sse_c = None;
        assert!(refused(r).contains("requires SSE-C"));
        for object in [
            "../etc/passwd".to_string(),
            format!("x/{}.s3seal", "ab".repeat(16)),
            format!("{}.s3seal", "AB".repeat(16)),
            format!("{}.S3SEAL", "ab".repeat(16)),
        ] {
            let mut r = req(Op::Put);
            r.object = object.clone();
            assert!(refused(r).contains("object name"), "{object}");
        }
        let mut r = req(Op::Put);
        r.size = Some(200 << 20);
        assert!(refused(r).contains("too large"));
        let mut r = req(Op::Put);
        r.size = None;
        assert!(refused(r).contains("total size"));
        let mut r = req(Op::UploadPart);
        r.part_number = Some(10_001);
        assert!(refused(r).contains("partNumber"));
        let mut r = req(Op::UploadPart);
        r.part_number = Some(0);
        assert!(refused(r).contains("partNumber"));
        let mut r = req(Op::UploadPart);
        r.upload_id = None;
        assert!(refused(r).contains("uploadId"));
        let mut r = req(Op::AbortMultipart);
        r.upload_id = Some(String::new());
        assert!(refused(r).contains("uploadId"));
        let mut r = req(Op::UploadPart);
        r.size = Some(MAX_PART_SIZE + 1);
        assert!(refused(r).contains("too large"));
        let mut r = req(Op::Put);
        r.sse_c.as_mut().unwrap().key_md5 = "AAAAAAAAAAAAAAAAAAAAAA==".into();
        assert!(refused(r).contains("MD5"));
    }

    #[test]
    fn sse_s3_and_kms_modes_add_their_headers_and_refuse_sse_c() {
        for (mode, value) in [(SseMode::SseS3, "AES256"), (SseMode::SseKms, "aws:kms")] {
            let p = policy(mode);
            for op in [Op::Put, Op::CreateMultipart] {
                let mut r = req(op);
                r.sse_c = None;
                let permit = p.permit(&r).unwrap();
                assert_eq!(header(&permit, "x-amz-server-side-encryption"), Some(value));
            }
            assert!(
                p.permit(&req(Op::Put))
                    .unwrap_err()
                    .0
                    .contains("does not use SSE-C")
            );
            // Only the requests that create an object say how to encrypt
            // it: S3 refuses the header on parts, completion and reads.
            for op in [
                Op::UploadPart,
                Op::CompleteMultipart,
                Op::AbortMultipart,
                Op::Head,
                Op::Get,
            ] {
                let mut r = req(op);
                r.sse_c = None;
                let permit = p.permit(&r).unwrap();
                assert_eq!(
                    header(&permit, "x-amz-server-side-encryption"),
                    None,
                    "{op:?}"
                );
            }
        }
    }

    #[test]
    fn sse_c_headers_go_where_s3_wants_them() {
        let p = policy(SseMode::SseC);
        // The browser completes and aborts without the key: both are signed.
        for op in [Op::CompleteMultipart, Op::AbortMultipart] {
            let mut r = req(op);
            r.sse_c = None;
            let permit = p.permit(&r).unwrap();
            assert_eq!(
                header(&permit, "x-amz-server-side-encryption-customer-key"),
                None,
                "{op:?}"
            );
        }
        // Given the key, completion signs it (ListParts needs it); abort does not.
        let complete = p.permit(&req(Op::CompleteMultipart)).unwrap();
        assert!(header(&complete, "x-amz-server-side-encryption-customer-key").is_some());
        let abort = p.permit(&req(Op::AbortMultipart)).unwrap();
        assert_eq!(
            header(&abort, "x-amz-server-side-encryption-customer-key"),
            None
        );
    }

    #[test]
    fn the_cap_is_inclusive() {
        let p = policy(SseMode::SseC);
        let mut r = req(Op::Put);
        r.size = Some(100 << 20);
        assert_eq!(p.permit(&r).unwrap().content_length, Some(100 << 20));
        r.size = Some((100 << 20) + 1);
        assert!(p.permit(&r).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn sizes_are_capped_at_their_bounds_inclusive() {
        let big = Policy {
            max_size: u64::MAX,
            ..policy(SseMode::SseC)
        };
        let sized = |op, size| {
            let mut r = req(op);
            r.size = Some(size);
            r
        };
        // One PUT and one part hold at most 5 GiB, whatever the cap.
        for op in [Op::Put, Op::UploadPart] {
            assert_eq!(
                big.permit(&sized(op, MAX_PART_SIZE))
                    .unwrap()
                    .content_length,
                Some(MAX_PART_SIZE),
                "{op:?}"
            );
            assert!(big.permit(&sized(op, MAX_PART_SIZE + 1)).is_err(), "{op:?}");
        }
        // Under a cap, a part of exactly the cap is fine and a byte more is not.
        let p = policy(SseMode::SseC);
        assert!(p.permit(&sized(Op::UploadPart, 100 << 20)).is_ok());
        assert!(p.permit(&sized(Op::UploadPart, (100 << 20) + 1)).is_err());
        // A multipart upload declares its total, within the cap, to begin.
        assert!(p.permit(&sized(Op::CreateMultipart, 100 << 20)).is_ok());
        assert!(
            p.permit(&sized(Op::CreateMultipart, (100 << 20) + 1))
                .unwrap_err()
                .0
                .contains("too large")
        );
        let mut undeclared = req(Op::CreateMultipart);
        undeclared.size = None;
        assert!(p.permit(&undeclared).unwrap_err().0.contains("total size"));
        // The parts S3 holds: exactly the cap, and parts of exactly 5 MiB.
        let part = |number, size| PartInfo { number, size };
        let mib = 1u64 << 20;
        assert!(
            p.check_parts(&[part(1, 95 * mib), part(2, 5 * mib)], 100 * mib)
                .is_ok()
        );
        assert!(
            p.check_parts(&[part(1, 5 * mib), part(2, mib)], 6 * mib)
                .is_ok()
        );
        assert!(
            p.check_parts(&[part(1, 95 * mib), part(2, 5 * mib + 1)], 100 * mib + 1)
                .is_err()
        );
    }

    #[test]
    fn h1_writes_carry_if_none_match() {
        let p = policy(SseMode::SseC);
        for op in [Op::Put, Op::CompleteMultipart] {
            let permit = p.permit(&req(op)).unwrap();
            assert_eq!(header(&permit, "if-none-match"), Some("*"), "{op:?}");
            assert!(permit.needs_free_key);
        }
        // Starting an upload writes the share's record: the key must be free.
        let start = p.permit(&req(Op::CreateMultipart)).unwrap();
        assert_eq!(header(&start, "if-none-match"), None);
        assert!(start.needs_free_key);
        for op in [Op::UploadPart, Op::Get, Op::Head, Op::AbortMultipart] {
            let permit = p.permit(&req(op)).unwrap();
            assert_eq!(header(&permit, "if-none-match"), None, "{op:?}");
            assert!(!permit.needs_free_key);
        }
    }

    #[test]
    fn share_terms_go_with_the_first_write_only() {
        let p = policy(SseMode::SseC);
        let terms = Some(crate::transfer::share::Terms::default());
        for op in [Op::Put, Op::CreateMultipart] {
            assert!(p.permit(&req(op).share(terms.clone())).is_ok(), "{op:?}");
        }
        for op in [
            Op::UploadPart,
            Op::CompleteMultipart,
            Op::AbortMultipart,
            Op::Get,
            Op::Head,
        ] {
            let refused = p.permit(&req(op).share(terms.clone())).unwrap_err();
            assert!(refused.0.contains("first write"), "{op:?}");
        }
    }

    #[test]
    fn m3_complete_binds_the_declared_size() {
        let p = policy(SseMode::SseC);
        let permit = p.permit(&req(Op::CompleteMultipart)).unwrap();
        assert_eq!(header(&permit, MP_OBJECT_SIZE), Some("1000"));
        let mut big = req(Op::CompleteMultipart);
        big.size = Some(101 << 20);
        assert!(p.permit(&big).unwrap_err().0.contains("too large"));
        let mut undeclared = req(Op::CompleteMultipart);
        undeclared.size = None;
        assert!(p.permit(&undeclared).unwrap_err().0.contains("total size"));
    }

    #[test]
    fn m3_parts_over_the_cap_or_off_plan_are_refused() {
        let p = policy(SseMode::SseC); // cap 100 MiB
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
        let mut p = policy(SseMode::SseC);
        p.form = true;
        assert!(
            p.permit(&req(Op::Put))
                .unwrap_err()
                .0
                .contains("sealed to its public key")
        );
        let recipient = format!("{}.{}.s3seal", "ab".repeat(16), "cd".repeat(32));
        for op in [
            Op::Put,
            Op::CreateMultipart,
            Op::UploadPart,
            Op::CompleteMultipart,
            Op::AbortMultipart,
        ] {
            let mut r = req(op);
            r.object = recipient.clone();
            assert!(p.permit(&r).is_ok(), "{op:?}");
        }
        for op in [Op::Get, Op::Head] {
            let mut r = req(op);
            r.object = recipient.clone();
            assert!(p.permit(&r).unwrap_err().0.contains("downloads"), "{op:?}");
        }
    }

    #[test]
    fn h1_only_a_404_frees_a_key() {
        assert_eq!(presence(Some(404)), Presence::Absent);
        for s in [200, 204, 400] {
            assert_eq!(presence(Some(s)), Presence::Present, "{s}");
        }
        for s in [Some(403), Some(500), Some(503), Some(301), None] {
            assert_eq!(presence(s), Presence::Unknown, "{s:?}");
        }
    }
}
