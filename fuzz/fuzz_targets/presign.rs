//! The presign contract as a backend reads it: any body a client (or an
//! attacker) posts, parsed and checked against every policy `serve` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::transfer::plan::MAX_PART_SIZE;
use s3seal::transfer::policy::{Policy, SseMode};
use s3seal::transfer::presign::{Op, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<Request>(data) else {
        return;
    };
    // What parses prints as what parses to itself.
    let again: Request = serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert_eq!(again, req);
    for sse in [SseMode::SseC, SseMode::SseS3, SseMode::SseKms] {
        for form in [false, true] {
            let policy = Policy {
                prefix: "uploads/".into(),
                max_size: 100 << 20,
                sse,
                kms_key_id: None,
                form,
            };
            let Ok(permit) = policy.permit(&req) else {
                continue;
            };
            // Whatever is allowed stays under the prefix, within the caps,
            // never replaces an object, and never reads in form mode.
            assert_eq!(permit.key, format!("uploads/{}", req.object));
            assert!(!req.object.contains(['/', '\\']) && !req.object.contains(".."));
            if let Some(len) = permit.content_length {
                assert!(len <= policy.max_size && len <= MAX_PART_SIZE);
            }
            if req.op.writes() {
                assert!(permit.needs_free_key);
                assert!(permit.headers.iter().any(|(n, v)| n == "if-none-match" && v == "*"));
            }
            if form {
                assert!(!matches!(req.op, Op::Get | Op::Head));
            }
            if sse == SseMode::SseC && matches!(req.op, Op::Put | Op::UploadPart | Op::Get) {
                assert!(req.sse_c.as_ref().is_some_and(|c| c.check().is_ok()));
            }
        }
    }
});
