//! The npm package's types that mirror the crate: the error codes and the
//! presign operations. `pkg/src/codes.ts` is generated from the Rust lists
//! (`S3SEAL_WRITE_JS=1 cargo test --test js_contract` writes it); this test
//! fails when the two drift, and when the JavaScript boundary throws a code
//! the list does not have.

use std::path::Path;

use s3seal::transfer::presign::Op;

fn union(items: impl IntoIterator<Item = String>) -> String {
    items
        .into_iter()
        .map(|c| format!("\n  | \"{c}\""))
        .collect::<String>()
}

fn generated() -> String {
    format!(
        "// Generated from the s3seal crate by `S3SEAL_WRITE_JS=1 cargo test --test js_contract`;\n\
         // tests/js_contract.rs fails when it drifts from the Rust lists. Do not edit.\n\n\
         /** Stable error codes (`err.code`) of every error s3seal throws (s3seal::CODES). */\n\
         export type S3sealErrorCode ={};\n\n\
         /** The operations of the presign contract (s3seal::transfer::presign::Op). */\n\
         export type PresignOp ={};\n",
        union(s3seal::CODES.iter().map(|c| c.to_string())),
        union(Op::ALL.iter().map(|op| op.as_str().to_string())),
    )
}

#[test]
fn codes_ts_is_generated_from_the_rust_lists() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkg/src/codes.ts");
    let want = generated();
    if std::env::var("S3SEAL_WRITE_JS").as_deref() == Ok("1") {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "pkg/src/codes.ts drifted: run S3SEAL_WRITE_JS=1 cargo test --test js_contract"
    );
}

/// Every code the wasm boundary names literally is one of the crate's.
#[test]
fn the_wasm_boundary_throws_only_listed_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wasm");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for piece in text.split("with_code(").skip(1) {
            let piece = piece.trim_start();
            if let Some(rest) = piece.strip_prefix('"') {
                let code = &rest[..rest.find('"').unwrap()];
                assert!(s3seal::CODES.contains(&code), "src/wasm throws {code:?}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 5, "the scan found the boundary's codes ({seen})");
}
