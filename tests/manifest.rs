//! Manifest vectors (docs/FORMAT.md §10): text files in
//! tests/vectors/manifest, named by what they are. `valid_*` parse, and
//! write back byte for byte; `refused_*` are refused. `S3SEAL_WRITE_VECTORS=1`
//! rewrites them from the cases below; otherwise they are compared.

use std::path::PathBuf;

use s3seal::manifest::{Entry, Manifest};
use s3seal::{FileKey, ObjectId, ObjectName};

fn entry(i: u8, path: &str, size: u64, media_type: &str) -> Entry {
    Entry {
        path: path.into(),
        object: ObjectName::keyed(ObjectId([i; 16])),
        file_key: FileKey::from_bytes([i; 32]),
        size,
        media_type: media_type.into(),
    }
}

fn valid() -> Manifest {
    let mut m = Manifest::default();
    m.push(entry(0x11, "report.pdf", 1_048_576, "application/pdf"))
        .unwrap();
    m.push(entry(0x22, "photos/2026/é t é.jpg", 0, "image/jpeg"))
        .unwrap();
    m.push(entry(
        0x33,
        "photos/notes.txt",
        18_446_744_073_709_551_615,
        "",
    ))
    .unwrap();
    m
}

fn cases() -> Vec<(&'static str, String)> {
    let good = valid().to_text().to_string();
    let first = good.lines().nth(1).unwrap().to_owned();
    let swap_path = |to: &str| good.replacen("\treport.pdf\n", &format!("\t{to}\n"), 1);
    vec![
        ("valid_three_files", good.clone()),
        ("valid_one_file", format!("s3seal-manifest 1\n{first}\n")),
        ("refused_empty", String::new()),
        ("refused_no_files", "s3seal-manifest 1\n".into()),
        (
            "refused_other_version",
            good.replace("manifest 1", "manifest 2"),
        ),
        ("refused_no_final_newline", good.trim_end().into()),
        ("refused_crlf", good.replace('\n', "\r\n")),
        ("refused_path_absolute", swap_path("/etc/passwd")),
        ("refused_path_parent", swap_path("../report.pdf")),
        ("refused_path_inner_parent", swap_path("photos/../../x")),
        ("refused_path_empty_component", swap_path("photos//x")),
        ("refused_path_backslash", swap_path("photos\\x")),
        ("refused_path_control", swap_path("a\u{1b}[31mb")),
        ("refused_path_hidden", swap_path(".ssh/authorized_keys")),
        ("refused_path_windows_drive", swap_path("C:/Users/x.bat")),
        ("refused_path_device_name", swap_path("photos/nul.txt")),
        (
            "refused_path_invisible",
            swap_path("photos/\u{202e}gpj.exe"),
        ),
        ("refused_path_trailing_dot", swap_path("photos./x")),
        ("refused_path_duplicate", swap_path("photos/notes.txt")),
        (
            "refused_object_duplicate",
            good.replace(&"22".repeat(16), &"11".repeat(16)),
        ),
        ("refused_size_leading_zero", good.replace("\t0\t", "\t00\t")),
        (
            "refused_size_over_u64",
            good.replace("18446744073709551615", "18446744073709551616"),
        ),
        (
            "refused_key_with_white_space",
            good.replacen("\ts3seal-file-", "\t s3seal-file-", 1),
        ),
        (
            "refused_key_not_a_file_key",
            good.replacen("s3seal-file-", "s3seal-root-", 1),
        ),
        (
            "refused_six_fields",
            good.replacen("\treport.pdf\n", "\treport.pdf\tx\n", 1),
        ),
        (
            "refused_name_not_canonical",
            good.replacen(".s3seal\t", ".S3SEAL\t", 1),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/manifest")
}

#[test]
fn manifest_vectors_match_their_cases_and_parse_as_named() {
    let write = std::env::var("S3SEAL_WRITE_VECTORS").as_deref() == Ok("1");
    let cases = cases();
    for (name, text) in &cases {
        let path = dir().join(format!("{name}.txt"));
        if write {
            std::fs::write(&path, text).unwrap();
        }
        assert_eq!(
            &std::fs::read_to_string(&path).unwrap(),
            text,
            "{name}: regenerate with S3SEAL_WRITE_VECTORS=1"
        );
        let parsed = Manifest::parse(text.as_bytes());
        if name.starts_with("valid_") {
            let m = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                m.to_text().as_str(),
                text,
                "{name} writes back byte for byte"
            );
        } else {
            assert!(parsed.is_err(), "{name} must be refused");
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut named: Vec<String> = cases.iter().map(|(n, _)| format!("{n}.txt")).collect();
    named.sort();
    assert_eq!(on_disk, named, "every vector file is a case");
}
