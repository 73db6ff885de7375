//! The `s3seal` command as a script sees it: outputs, exit codes, messages.
// Native only: these tests use the file system, processes or proptest.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("S3SEAL_KEY")
        .env_remove("S3SEAL_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// `run`, with `input` on standard input (a command that stops reading
/// early leaves the rest unwritten).
fn run_with_stdin(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(args)
        .env_remove("S3SEAL_KEY")
        .env_remove("S3SEAL_PASSPHRASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["keygen", "-o", "root.key"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = std::fs::read_to_string(dir.path().join("root.key"))
        .unwrap()
        .trim()
        .to_owned();
    (dir, key)
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    let (dir, key) = setup();
    assert!(key.starts_with("s3seal-root-") && key.len() == 55);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("root.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(dir.path(), &["keygen", "-o", "root.key"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("root.key"))
            .unwrap()
            .trim(),
        key
    );
}

#[test]
fn seal_open_round_trip_keeps_name_and_bytes() {
    let (dir, key) = setup();
    let plain: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("report.pdf"), &plain).unwrap();
    let o = run(
        dir.path(),
        &["seal", "report.pdf", "--key-file", "root.key"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let name = stdout(&o).trim().to_owned();
    assert!(name.ends_with(".s3seal") && name.len() == 39, "{name}");
    let sealed = std::fs::read(dir.path().join(&name)).unwrap();
    assert!(
        !sealed.windows(10).any(|w| w == b"report.pdf"),
        "the filename is sealed"
    );
    std::fs::rename(
        dir.path().join("report.pdf"),
        dir.path().join("original.pdf"),
    )
    .unwrap();
    // Key from the environment this time.
    let o = run(dir.path(), &["open", &name], &[("S3SEAL_KEY", &key)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(dir.path().join("report.pdf")).unwrap() == plain);
    // Refuses to overwrite, then --force.
    let o = run(dir.path(), &["open", &name, "--key-file", "root.key"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
    let o = run(
        dir.path(),
        &["open", &name, "--key-file", "root.key", "--force"],
        &[],
    );
    assert!(o.status.success());
    // inspect needs no key and shows the facts.
    let o = run(dir.path(), &["inspect", &name], &[]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("plaintext:   1000003 bytes"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("key source:  root key"));
}

#[test]
fn stdin_stdout_and_passphrases() {
    let (dir, _) = setup();
    let sealed = run_with_stdin(
        dir.path(),
        &[
            "seal",
            "-o",
            "-",
            "--name",
            "note.txt",
            "--passphrase-env",
            "PW",
        ],
        &[("PW", "tint cane avid buzz dart pond")],
        b"a secret note",
    );
    assert!(sealed.status.success(), "{}", stderr(&sealed));
    std::fs::write(dir.path().join("note.s3seal"), &sealed.stdout).unwrap();
    std::fs::write(dir.path().join("pw.txt"), "tint cane avid buzz dart pond\n").unwrap();
    let o = run(
        dir.path(),
        &[
            "open",
            "note.s3seal",
            "-o",
            "-",
            "--passphrase-file",
            "pw.txt",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"a secret note");
    let o = run(
        dir.path(),
        &["open", "note.s3seal", "-o", "-", "--passphrase-env", "PW"],
        &[("PW", "hunter3")],
    );
    assert_eq!(o.status.code(), Some(3), "wrong passphrase -> exit 3");
    assert!(stderr(&o).contains("wrong key"));
    assert!(o.stdout.is_empty());
}

/// Review finding: with `-` for a passphrase file meaning standard input,
/// `... | s3seal seal --passphrase-file -` took the data's first line as
/// the passphrase and sealed the rest. A secret is never read from the data.
#[test]
fn a_secret_file_of_dash_is_never_the_data() {
    let (dir, _) = setup();
    let o = run_with_stdin(
        dir.path(),
        &[
            "seal",
            "-o",
            "-",
            "--name",
            "n.txt",
            "--passphrase-file",
            "-",
        ],
        &[],
        b"tint cane avid buzz dart pond\nthe data\n",
    );
    assert!(
        !o.status.success(),
        "sealed with the data as its passphrase"
    );
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("reading -"), "{}", stderr(&o));
}

/// Audit finding M2: a guessable passphrase would let whoever sees the
/// object or its SSE-C key test guesses offline, so sealing refuses it.
#[test]
fn m2_weak_passphrase_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("note.txt"), b"a secret note").unwrap();
    std::fs::write(d.join("pw.txt"), "hunter2\n").unwrap();
    for source in [
        &["--passphrase-env", "PW"][..],
        &["--passphrase-file", "pw.txt"][..],
    ] {
        let mut args = vec!["seal", "note.txt"];
        args.extend_from_slice(source);
        let o = run(d, &args, &[("PW", "hunter2")]);
        assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
        assert!(stderr(&o).contains("too weak"), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("s3seal keygen --passphrase"),
            "{}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains("hunter2"),
            "the passphrase is never echoed"
        );
        assert!(o.stdout.is_empty());
        let mut files: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(files, ["note.txt", "pw.txt"], "nothing written");
    }
    // `keygen --passphrase` prints six words that seal, and opening stays
    // allowed with any passphrase (a weak wrong one is WrongKey, not refused).
    let o = run(d, &["keygen", "--passphrase"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let phrase = stdout(&o).trim().to_owned();
    assert_eq!(phrase.split(' ').count(), 6, "{phrase}");
    let o = run(
        d,
        &[
            "seal",
            "note.txt",
            "-o",
            "note.s3seal",
            "--passphrase-env",
            "PW",
        ],
        &[("PW", &phrase)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        d,
        &["open", "note.s3seal", "-o", "-", "--passphrase-env", "PW"],
        &[("PW", "hunter2")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = run(
        d,
        &["open", "note.s3seal", "-o", "-", "--passphrase-env", "PW"],
        &[("PW", &phrase)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"a secret note");
}

#[test]
fn failures_have_documented_exit_codes_and_leave_no_output() {
    let (dir, key) = setup();
    std::fs::write(dir.path().join("in.bin"), vec![7u8; 600_000]).unwrap();
    let o = run(
        dir.path(),
        &[
            "seal",
            "in.bin",
            "-o",
            "obj.s3seal",
            "--key-file",
            "root.key",
        ],
        &[],
    );
    assert!(o.status.success());
    let sealed = std::fs::read(dir.path().join("obj.s3seal")).unwrap();
    std::fs::remove_file(dir.path().join("in.bin")).unwrap();

    // Tampered: exit 4, and no output file (not even a partial one).
    let mut bad = sealed.clone();
    let at = bad.len() - 100;
    bad[at] ^= 1;
    std::fs::write(dir.path().join("bad.s3seal"), &bad).unwrap();
    let o = run(
        dir.path(),
        &["open", "bad.s3seal", "--key-file", "root.key"],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("corrupt"));
    assert!(!dir.path().join("in.bin").exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "no partial files left behind"
    );

    // Truncated at a segment boundary: exit 4 with a specific message.
    let cut = sealed.len()
        - s3seal::signature::SIGNATURE_SIZE
        - s3seal::stream::layout::payload_len(600_000) as usize
        + s3seal::stream::SEGMENT_SIZE;
    std::fs::write(dir.path().join("short.s3seal"), &sealed[..cut]).unwrap();
    let o = run(
        dir.path(),
        &["open", "short.s3seal", "--key-file", "root.key"],
        &[],
    );
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));

    // Wrong key: exit 3. Not an object: exit 5. Malformed key: exit 6. No key: exit 2.
    run(dir.path(), &["keygen", "-o", "other.key"], &[]);
    assert_eq!(
        run(
            dir.path(),
            &["open", "obj.s3seal", "--key-file", "other.key"],
            &[]
        )
        .status
        .code(),
        Some(3)
    );
    std::fs::write(dir.path().join("plain.txt"), b"just text").unwrap();
    let o = run(
        dir.path(),
        &["open", "plain.txt", "--key-file", "root.key"],
        &[],
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("not an s3seal object"));
    let o = run(
        dir.path(),
        &["open", "obj.s3seal"],
        &[("S3SEAL_KEY", "s3seal-root-AAAA")],
    );
    assert_eq!(o.status.code(), Some(6));
    assert!(stderr(&o).contains("32 bytes"));
    let o = run(
        dir.path(),
        &["open", "obj.s3seal"],
        &[("S3SEAL_KEY", "s3seal-root-!!not*base64")],
    );
    assert_eq!(o.status.code(), Some(6));
    assert!(stderr(&o).contains("base64"));
    let o = run(dir.path(), &["open", "obj.s3seal"], &[]);
    assert_eq!(o.status.code(), Some(2));
    // No error message ever contains the key, whatever failed.
    for (args, env) in [
        (vec!["open", "bad.s3seal", "--key-file", "root.key"], vec![]),
        (
            vec!["open", "short.s3seal"],
            vec![("S3SEAL_KEY", key.as_str())],
        ),
        (
            vec!["open", "obj.s3seal", "--key-file", "other.key"],
            vec![],
        ),
    ] {
        let o = run(dir.path(), &args, &env);
        assert!(!o.status.success());
        assert!(!stderr(&o).contains(&key[12..]), "{}", stderr(&o));
    }
}

#[test]
fn sse_c_prints_the_three_headers_for_a_name_or_a_file() {
    let (dir, _) = setup();
    std::fs::write(dir.path().join("x"), b"x").unwrap();
    let o = run(
        dir.path(),
        &["seal", "x", "--key-file", "root.key", "--print-file-key"],
        &[],
    );
    let out = stdout(&o);
    let mut lines = out.lines();
    let name = lines.next().unwrap().to_owned();
    let file_key = lines.next().unwrap().to_owned();
    assert!(file_key.starts_with("s3seal-file-"));
    let by_file = run(dir.path(), &["sse-c", &name, "--key-file", "root.key"], &[]);
    let by_name = run(
        dir.path(),
        &[
            "sse-c",
            &format!("uploads/{name}"),
            "--key-file",
            "root.key",
        ],
        &[],
    );
    let by_share = run(dir.path(), &["sse-c", &name], &[("S3SEAL_KEY", &file_key)]);
    assert!(by_file.status.success());
    assert_eq!(stdout(&by_file), stdout(&by_name));
    assert_eq!(
        stdout(&by_file),
        stdout(&by_share),
        "a share key reaches the same SSE-C key"
    );
    let text = stdout(&by_file);
    assert!(text.contains("x-amz-server-side-encryption-customer-algorithm: AES256"));
    assert_eq!(text.lines().count(), 3);
    let o = run(
        dir.path(),
        &["sse-c", "nothex.s3seal", "--key-file", "root.key"],
        &[],
    );
    assert_eq!(o.status.code(), Some(6));
    // The share key opens the object, by the name the link gives.
    let o = run(
        dir.path(),
        &["open", &name, "-o", "-", "--object-name", &name],
        &[("S3SEAL_KEY", &file_key)],
    );
    assert_eq!(o.stdout, b"x");
}

#[test]
fn identities_seal_open_and_catch_typos() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // --identity needs a file to write the private part to.
    let o = run(d, &["keygen", "--identity"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(d, &["keygen", "--identity", "-o", "org.identity"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let public = stdout(&o).trim().to_owned();
    assert!(
        public.starts_with("s3seal1") && public.len() == 65,
        "{public}"
    );
    let file = std::fs::read_to_string(d.join("org.identity")).unwrap();
    let first = file.lines().next().unwrap();
    assert!(first.starts_with("# s3seal identity"), "{first}");
    assert!(file.contains(&format!("# public key: {public}")));
    assert!(!stdout(&o).contains("SECRET") && !stderr(&o).contains("SECRET"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("org.identity"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(d, &["keygen", "--identity", "-o", "org.identity"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(d.join("org.identity")).unwrap(),
        file
    );

    // Seal to the public key: no key needed or printed; open with the identity.
    std::fs::write(d.join("scan.pdf"), vec![7u8; 300_000]).unwrap();
    let o = run(
        d,
        &[
            "seal",
            "scan.pdf",
            "--recipient",
            &public,
            "-o",
            "obj",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let name = stdout(&o).trim().to_owned();
    assert!(
        name.len() == 32 + 1 + 64 + 7 && name.ends_with(".s3seal"),
        "{name}"
    );
    // Sealed to a recipient, the sealer keeps no key to print.
    let o = run(
        d,
        &[
            "seal",
            "scan.pdf",
            "--recipient",
            &public,
            "--print-file-key",
            "-o",
            "obj2",
            "-q",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.join("obj2").exists());
    let o = run(d, &["inspect", "obj"], &[]);
    assert!(stdout(&o).contains("recipient"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&name),
        "inspect prints the name readers need"
    );
    let o = run(
        d,
        &[
            "open",
            "obj",
            "-o",
            "back.pdf",
            "--identity",
            "org.identity",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(d.join("back.pdf")).unwrap(),
        vec![7u8; 300_000]
    );
    // The identity file also works through --key-file (comments skipped).
    let o = run(
        d,
        &[
            "open",
            "obj",
            "-o",
            "back2.pdf",
            "--key-file",
            "org.identity",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // A wrong identity: WrongKey, exit 3, no output file.
    run(d, &["keygen", "--identity", "-o", "other.identity"], &[]);
    let o = run(
        d,
        &[
            "open",
            "obj",
            "-o",
            "nope.pdf",
            "--identity",
            "other.identity",
            "-q",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrong key"));
    assert!(!d.join("nope.pdf").exists());
    // A root key for a recipient object: KeySource, exit 3, says what to use.
    run(d, &["keygen", "-o", "root.key"], &[]);
    let o = run(
        d,
        &[
            "open",
            "obj",
            "-o",
            "nope.pdf",
            "--key-file",
            "root.key",
            "-q",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("identity"), "{}", stderr(&o));

    // A mistyped public key is caught by its checksum: exit 6, nothing written.
    let mut typo = public.clone();
    let c = if &typo[30..31] == "q" { "p" } else { "q" };
    typo.replace_range(30..31, c);
    let o = run(
        d,
        &["seal", "scan.pdf", "--recipient", &typo, "-o", "bad", "-q"],
        &[],
    );
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("checksum"), "{}", stderr(&o));
    assert!(!d.join("bad").exists());
    // Sealing with a key and a recipient at once is a usage error.
    let o = run(
        d,
        &[
            "seal",
            "scan.pdf",
            "--recipient",
            &public,
            "--key-file",
            "root.key",
            "-o",
            "bad",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    // Secret key text never lands on stdout/stderr of any of these.
    let secret_line = file
        .lines()
        .find(|l| l.starts_with("S3SEAL-SECRET-KEY-1"))
        .unwrap();
    for args in [
        &["inspect", "obj"][..],
        &["open", "obj", "-o", "-", "--identity", "org.identity"][..],
    ] {
        let o = run(d, args, &[]);
        assert!(
            !stderr(&o).contains(secret_line)
                && !String::from_utf8_lossy(&o.stdout).contains(secret_line)
        );
    }
}

#[test]
fn serve_refuses_a_mistyped_form_recipient_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(d, &["keygen", "--identity", "-o", "org.identity"], &[]);
    let mut typo = stdout(&o).trim().to_owned();
    let c = if &typo[40..41] == "q" { "p" } else { "q" };
    typo.replace_range(40..41, c);
    let env = [
        ("AWS_ACCESS_KEY_ID", "GK000"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("S3SEAL_LISTEN", "127.0.0.1:0"),
        ("S3SEAL_RECIPIENT", typo.as_str()),
    ];
    let o = run(d, &["serve"], &env);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("S3SEAL_RECIPIENT") && stderr(&o).contains("checksum"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("listening"));
}

/// Runs `pull` against `endpoint` and checks that it refuses before any
/// request: SSE-C keys would travel in the clear.
fn pull_refuses_insecure_endpoint(endpoint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["keygen", "--identity", "-o", "org.identity"], &[]);
    let env = [
        ("AWS_ACCESS_KEY_ID", "GK000"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_ENDPOINT_URL", endpoint),
    ];
    let args = [
        "pull",
        "--identity",
        "org.identity",
        "--bucket",
        "b",
        "-o",
        "inbox",
    ];
    let o = run(d, &args, &env);
    assert_eq!(o.status.code(), Some(1), "{endpoint}: {}", stderr(&o));
    assert!(
        stderr(&o).contains("insecure endpoint"),
        "{endpoint}: {}",
        stderr(&o)
    );
    assert!(!d.join("inbox").exists(), "refused before doing anything");
}

#[test]
fn l4_a_backslash_does_not_make_a_remote_host_loopback() {
    // WHATWG parsers (the url crate, browsers) read `\` as `/` in http URLs:
    // this endpoint is the host `evil`, not 127.0.0.1.
    pull_refuses_insecure_endpoint("http://evil\\@127.0.0.1:9/");
}

#[test]
fn pull_never_sends_sse_c_keys_over_plain_http() {
    pull_refuses_insecure_endpoint("http://s3.example.com");
}

/// Seals `plain` under the sealed filename `name` into `d/obj` with `d/root.key`.
fn seal_named(d: &Path, name: &str, plain: &[u8], obj: &str) -> String {
    std::fs::write(d.join("plain.in"), plain).unwrap();
    let o = run(
        d,
        &[
            "seal",
            "plain.in",
            &format!("--name={name}"),
            "-o",
            obj,
            "--key-file",
            "root.key",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(d.join("plain.in")).unwrap();
    stdout(&o).trim().to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn l1_staging_does_not_follow_a_planted_symlink() {
    let (dir, _) = setup();
    let d = dir.path();
    seal_named(d, "report.pdf", b"top secret plaintext", "obj");
    // Another user plants links at the old predictable staging name: one to a
    // file of theirs everyone can read, one to nowhere.
    std::fs::write(d.join("theirs"), b"attacker's file").unwrap();
    std::os::unix::fs::symlink("theirs", d.join(".report.pdf.s3seal-partial")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.join(".copy.pdf.s3seal-partial")).unwrap();
    let o = run(d, &["open", "obj", "--key-file", "root.key"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("theirs")).unwrap(), b"attacker's file");
    let out = d.join("report.pdf");
    assert!(std::fs::symlink_metadata(&out).unwrap().is_file());
    assert_eq!(mode(&out), 0o600, "plaintext is private");
    assert_eq!(std::fs::read(&out).unwrap(), b"top secret plaintext");
    let o = run(
        d,
        &["open", "obj", "-o", "copy.pdf", "--key-file", "root.key"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join("nowhere").exists(), "no file made through a link");
    assert_eq!(mode(&d.join("copy.pdf")), 0o600);

    // A link at the output name is a name that exists: refused without
    // --force, and replaced (never written through) with it.
    std::os::unix::fs::symlink("nowhere", d.join("link.pdf")).unwrap();
    let o = run(
        d,
        &["open", "obj", "-o", "link.pdf", "--key-file", "root.key"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = run(
        d,
        &[
            "open",
            "obj",
            "-o",
            "link.pdf",
            "--key-file",
            "root.key",
            "--force",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join("nowhere").exists());
    assert!(
        std::fs::symlink_metadata(d.join("link.pdf"))
            .unwrap()
            .is_file()
    );
    assert_eq!(mode(&d.join("link.pdf")), 0o600);
}

#[test]
fn l2_a_sealed_name_of_dash_never_means_stdout() {
    let (dir, _) = setup();
    let d = dir.path();
    seal_named(d, "-", b"top secret plaintext", "obj");
    let o = run(d, &["open", "obj", "--key-file", "root.key"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "plaintext went to standard output");
    assert!(!d.join("-").exists());
    assert_eq!(std::fs::read(d.join("_")).unwrap(), b"top secret plaintext");
    // An explicit `-o -` still writes to standard output.
    let o = run(
        d,
        &["open", "obj", "-o", "-", "--key-file", "root.key"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"top secret plaintext");
}

#[test]
fn l3_open_cleans_sealed_names_into_safe_file_names() {
    let (dir, _) = setup();
    let d = dir.path();
    let long = format!("{}.pdf", "é".repeat(150));
    let cases: &[(&str, &str)] = &[
        // Right-to-left override: shows as "invoiceexe.pdf".
        ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
        ("a\u{202A}b\u{202B}c\u{202C}d\u{202D}e.txt", "abcde.txt"),
        (
            "\u{2066}x\u{2067}y\u{2068}z\u{2069}\u{200E}\u{200F}.txt",
            "xyz.txt",
        ),
        (
            "zero\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}width.txt",
            "zerowidth.txt",
        ),
        (".bashrc", "_bashrc"),
        ("-rf", "_rf"),
        ("~root", "_root"),
        ("C:evil.txt", "C_evil.txt"),
        ("C:\\Windows\\evil.dll", "evil.dll"),
        (".s3seal-object", "_s3seal-object"),
        ("Résumé 2026.pdf", "Résumé 2026.pdf"),
        ("報告.pdf", "報告.pdf"),
    ];
    for (i, (sealed, want)) in cases.iter().enumerate() {
        let obj = format!("obj{i}");
        seal_named(d, sealed, b"plain", &obj);
        let sub = d.join(format!("case{i}"));
        std::fs::create_dir(&sub).unwrap();
        let obj = format!("../{obj}");
        let o = run(&sub, &["open", &obj, "--key-file", "../root.key"], &[]);
        assert!(o.status.success(), "{sealed:?}: {}", stderr(&o));
        let names: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [want.to_string()], "{sealed:?}");
    }
    // A name too long for the file system is cut, keeping its extension.
    seal_named(d, &long, b"plain", "long.s3seal");
    let sub = d.join("long");
    std::fs::create_dir(&sub).unwrap();
    let o = run(
        &sub,
        &["open", "../long.s3seal", "--key-file", "../root.key"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1);
    assert!(
        names[0].len() <= 200 && names[0].starts_with("éé") && names[0].ends_with("é.pdf"),
        "{}",
        names[0]
    );
}

/// A one-bucket S3 stand-in on loopback for `pull`: lists `key` and serves
/// `object` for it, or only its first `stall_after` bytes, then nothing more
/// while holding the connection open. Answers at most `requests` requests.
fn fake_s3(key: String, object: Vec<u8>, stall_after: Option<usize>, requests: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(requests) {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            if String::from_utf8_lossy(&head).contains("list-type=2") {
                let xml = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>uploads/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"0"</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"#,
                    object.len()
                );
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                    xml.len()
                );
            } else {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    object.len()
                );
                let _ = s.write_all(&object[..stall_after.unwrap_or(object.len())]);
                let _ = s.flush();
                if stall_after.is_some() {
                    held.push(s);
                }
            }
        }
        // Keeps stalled connections open until the test has seen pull give up.
        std::thread::sleep(std::time::Duration::from_secs(60));
        drop(held);
    });
    format!("http://{addr}")
}

/// Runs `s3seal pull` against `endpoint` into `d/inbox`; None if it was still
/// running after `deadline_secs` (then it is killed).
fn pull(d: &Path, endpoint: &str, extra: &[&str], deadline_secs: u64) -> Option<Output> {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(d)
        .args([
            "pull",
            "--key-file",
            "root.key",
            "--bucket",
            "b",
            "--prefix",
            "uploads/",
            "-o",
            "inbox",
        ])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "GK000")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_ENDPOINT_URL_S3", endpoint)
        .env_remove("AWS_SESSION_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for proxy in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(proxy);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(deadline_secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some(child.wait_with_output().unwrap())
}

#[cfg(unix)]
#[test]
fn l9_pull_keeps_plaintext_directories_private() {
    let (dir, _) = setup();
    let d = dir.path();
    let name = seal_named(d, "report.pdf", b"top secret plaintext", "obj");
    let object = std::fs::read(d.join("obj")).unwrap();
    let endpoint = fake_s3(format!("uploads/{name}"), object, None, 2);
    let o = pull(d, &endpoint, &[], 60).expect("pull finished");
    assert!(o.status.success(), "{}", stderr(&o));
    let id = &name[..32];
    let file = d.join("inbox").join(id).join("report.pdf");
    assert_eq!(std::fs::read(&file).unwrap(), b"top secret plaintext");
    assert_eq!(mode(&d.join("inbox")), 0o700);
    assert_eq!(mode(&d.join("inbox").join(id)), 0o700);
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn l9_pull_gives_up_on_a_stalled_download() {
    let (dir, _) = setup();
    let d = dir.path();
    let plain: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let name = seal_named(d, "big.bin", &plain, "obj");
    let object = std::fs::read(d.join("obj")).unwrap();
    let endpoint = fake_s3(format!("uploads/{name}"), object, Some(1_500_000), 2);
    let o = pull(d, &endpoint, &["--read-timeout", "1"], 30)
        .expect("pull hung on a server that stopped sending");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("timeout"), "{}", stderr(&o));
    assert!(!d.join("inbox").join(&name[..32]).exists());
}

#[test]
fn l3_pull_keeps_a_sealed_name_off_its_marker_file() {
    let (dir, _) = setup();
    let d = dir.path();
    let name = seal_named(d, ".s3seal-object", b"top secret plaintext", "obj");
    let object = std::fs::read(d.join("obj")).unwrap();
    let endpoint = fake_s3(format!("uploads/{name}"), object, None, 2);
    let o = pull(d, &endpoint, &[], 60).expect("pull finished");
    assert!(o.status.success(), "{}", stderr(&o));
    let here = d.join("inbox").join(&name[..32]);
    assert_eq!(
        std::fs::read(here.join("_s3seal-object")).unwrap(),
        b"top secret plaintext"
    );
    assert_eq!(
        std::fs::read_to_string(here.join(".s3seal-object"))
            .unwrap()
            .trim(),
        name
    );
}

/// `open` agrees with the index on every checked-in vector: the file opens
/// byte for byte, or it is refused with the exit code of its error and
/// leaves no file behind. The forgeries of a share-link holder among them
/// (`forged_with_file_key`, `id_not_matching_verification_key`, signature
/// damage) are refused with exit 4 and say so.
#[test]
fn open_agrees_with_every_vector() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors.join("index.json")).unwrap())
            .unwrap();
    for case in index.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let expect = case["expect"].as_str().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("object.bin");
        std::fs::copy(vectors.join(case["file"].as_str().unwrap()), &input).unwrap();
        let mut args = vec!["open", "object.bin", "-o", "out.bin", "--quiet"];
        let mut env = Vec::new();
        if let Some(key) = case["key"].as_str() {
            std::fs::write(dir.path().join("k"), key).unwrap();
            args.extend(["--key-file", "k"]);
        }
        if let Some(pass) = case["passphrase"].as_str() {
            env.push(("VECTOR_PASSPHRASE", pass));
            args.extend(["--passphrase-env", "VECTOR_PASSPHRASE"]);
        }
        if let Some(object_name) = case["object_name"].as_str() {
            args.extend(["--object-name", object_name]);
        }
        let o = run(dir.path(), &args, &env);
        let code = match expect {
            "ok" => 0,
            "WrongKey" | "KeySource" => 3,
            "Corrupt" | "Truncated" | "NameMismatch" | "SignerMismatch" | "BadSignature" => 4,
            "NotSealed" | "UnsupportedVersion" | "Malformed" => 5,
            other => panic!("{name}: no exit code for {other}"),
        };
        assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
        let out = dir.path().join("out.bin");
        if expect == "ok" {
            let len = case["plaintext_len"].as_u64().unwrap() as usize;
            let plain: Vec<u8> = (0..len).map(|i| (i.wrapping_mul(31) + 7) as u8).collect();
            assert!(std::fs::read(&out).unwrap() == plain, "{name}");
        } else {
            assert!(!out.exists(), "{name}: a refused open left a file");
            let created = 1 + usize::from(case["key"].is_string());
            assert_eq!(
                std::fs::read_dir(dir.path()).unwrap().count(),
                created,
                "{name}: nothing else left behind"
            );
        }
        if expect == "BadSignature" || expect == "SignerMismatch" {
            assert!(stderr(&o).contains("forged"), "{name}: {}", stderr(&o));
        }
    }
}

/// A file key opens by name, from the share link: without `--object-name`
/// `open` refuses before reading, even for a file called `<id>.s3seal`
/// (whoever made the file chose that name: a link holder's forgery under a
/// new id would pass), since it could not tell the original from a forgery;
/// with the name it opens; under another name it refuses.
#[test]
fn a_file_key_opens_only_by_name() {
    let (dir, _) = setup();
    std::fs::write(dir.path().join("in.txt"), b"by name").unwrap();
    let o = run(
        dir.path(),
        &[
            "seal",
            "in.txt",
            "--key-file",
            "root.key",
            "--print-file-key",
            "--quiet",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    let (object_name, file_key) = (lines.next().unwrap(), lines.next().unwrap());
    std::fs::write(dir.path().join("share.key"), file_key).unwrap();
    std::fs::copy(dir.path().join(object_name), dir.path().join("renamed.bin")).unwrap();
    let open = |input: &str, extra: &[&str]| {
        let mut args = vec![
            "open",
            input,
            "--key-file",
            "share.key",
            "-o",
            "-",
            "--quiet",
        ];
        args.extend(extra);
        run(dir.path(), &args, &[])
    };
    let o = open("renamed.bin", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--object-name"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = open(
        "renamed.bin",
        &["--object-name", &format!("shares/{object_name}")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"by name");
    let o = open(object_name, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a file's own name does not count: {}",
        stderr(&o)
    );
    let o = open(
        "renamed.bin",
        &["--object-name", "00000000000000000000000000000000.s3seal"],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    // A root key needs no name: it derives the file key from the id.
    let o = run(
        dir.path(),
        &[
            "open",
            "renamed.bin",
            "--key-file",
            "root.key",
            "-o",
            "-",
            "--quiet",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `open -o -` writes nothing before the signature verified: a link
/// holder's rewrite of a three-segment object (here one whose signature was
/// stripped) used to stream two verified-looking segments to standard
/// output before failing (review of issue 17).
#[test]
fn open_to_stdout_writes_nothing_unsigned() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k"),
        "s3seal-root-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    )
    .unwrap();
    for (vector, code) in [("signature_stripped", 4), ("three_segments", 0)] {
        std::fs::copy(
            vectors.join(format!("{vector}.s3seal")),
            dir.path().join("o.bin"),
        )
        .unwrap();
        let o = run(
            dir.path(),
            &["open", "o.bin", "-o", "-", "--key-file", "k", "--quiet"],
            &[],
        );
        assert_eq!(o.status.code(), Some(code), "{vector}: {}", stderr(&o));
        let len = if code == 0 {
            262_088 + 262_128 + 100
        } else {
            0
        };
        assert_eq!(o.stdout.len(), len, "{vector}");
    }
}

/// `pull` refuses a file key: it would take every listed name as genuine.
#[test]
fn pull_refuses_a_file_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("share.key"),
        "s3seal-file-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    )
    .unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", "GK000"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ];
    let o = run(
        dir.path(),
        &[
            "pull",
            "--key-file",
            "share.key",
            "--bucket",
            "b",
            "-o",
            "inbox",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("file key"), "{}", stderr(&o));
    assert!(!dir.path().join("inbox").exists());
}

/// Issue 19: `open --range` reads only the segments that hold the range and
/// authenticates each, for any range; a ranged read cannot check the
/// whole-object signature, so a file-key holder's rewrite of one segment
/// passes a ranged read of it while a full open refuses the object.
#[test]
fn open_range_reads_the_covering_segments_only() {
    let (dir, _) = setup();
    let d = dir.path();
    const SEGMENT: u64 = s3seal::stream::SEGMENT_SIZE as u64;
    let plain: Vec<u8> = (0..3 * SEGMENT + 1234)
        .map(|i| (i * 31 + 7) as u8)
        .collect();
    let name = seal_named(d, "big.bin", &plain, "obj");
    let len = plain.len() as u64;
    for (start, end) in [
        (0u64, 0u64),
        (0, 99),
        (SEGMENT - 100, SEGMENT + 100),
        (2 * SEGMENT, len - 1),
        (len - 1, len - 1),
        (12345, 2 * SEGMENT),
    ] {
        let range = format!("{start}-{end}");
        let o = run(
            d,
            &[
                "open",
                "obj",
                "--range",
                &range,
                "-o",
                "part.bin",
                "--force",
                "--key-file",
                "root.key",
            ],
            &[],
        );
        assert!(o.status.success(), "{range}: {}", stderr(&o));
        let got = std::fs::read(d.join("part.bin")).unwrap();
        assert_eq!(got, plain[start as usize..=end as usize], "{range}");
        let read: u64 = stderr(&o)
            .split(" of ")
            .next()
            .and_then(|s| s.rsplit('(').next())
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        // The range, and at most a segment's worth more at each end.
        assert!(
            read <= (end - start + 1) + 2 * SEGMENT + 100 && read < len,
            "{range}: read {read} bytes: {}",
            stderr(&o)
        );
    }
    // `START-` reads to the end.
    let o = run(
        d,
        &[
            "open",
            "obj",
            "--range",
            &format!("{}-", len - 10),
            "-o",
            "-",
            "--key-file",
            "root.key",
            "-q",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, plain[plain.len() - 10..]);
    for bad in ["5-4", "x-1", "1", "-3"] {
        let o = run(
            d,
            &[
                "open",
                "obj",
                "--range",
                bad,
                "-o",
                "p",
                "--key-file",
                "root.key",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }

    // A share-link holder rewrites segment 1 with the file key (its tag is
    // valid under that key); the signature at the end no longer matches.
    let mut object = std::fs::read(d.join("obj")).unwrap();
    let secret =
        s3seal::Secret::from_key_text(std::fs::read_to_string(d.join("root.key")).unwrap().trim())
            .unwrap();
    let object_name = s3seal::ObjectName::parse(&name).unwrap();
    let file_key = secret.file_key(&object_name).unwrap();
    let ranged =
        s3seal::RangeOpener::new(&secret, Some(&object_name), &object, object.len() as u64)
            .unwrap();
    let at = ranged.object_range(1..2);
    let (preamble, plen) = s3seal::format::Preamble::parse(&object).unwrap().unwrap();
    let header = s3seal::stream::Header::parse(
        object[plen..plen + s3seal::stream::HEADER_SIZE]
            .try_into()
            .unwrap(),
    )
    .unwrap();
    // FORMAT.md §4: payload key = HKDF(ikm = file key, info = "s3seal/v1 payload").
    let mut payload_key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, file_key.as_bytes())
        .expand(b"s3seal/v1 payload", &mut payload_key)
        .unwrap();
    let cipher = s3seal::stream::SegmentCipher::new(&payload_key, &header, &preamble.to_bytes());
    let mut forged = Vec::new();
    cipher.seal_to(
        cipher.nonce(1, false).unwrap(),
        &vec![b'X'; s3seal::stream::layout::plaintext_capacity(1)],
        &mut forged,
    );
    object[at.start as usize..at.end as usize].copy_from_slice(&forged);
    std::fs::write(d.join("forged"), &object).unwrap();
    let seg1 = s3seal::stream::layout::plaintext_offset(1);
    let o = run(
        d,
        &[
            "open",
            "forged",
            "--range",
            &format!("{seg1}-{}", seg1 + 9),
            "-o",
            "-",
            "--key-file",
            "root.key",
            "-q",
            "--object-name",
            &name,
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "a ranged read cannot see the forgery: {}",
        stderr(&o)
    );
    assert_eq!(
        o.stdout,
        vec![b'X'; 10],
        "what FORMAT.md says a ranged read guarantees, and no more"
    );
    let o = run(
        d,
        &[
            "open",
            "forged",
            "-o",
            "-",
            "--key-file",
            "root.key",
            "-q",
            "--object-name",
            &name,
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(4),
        "a full open refuses it: {}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}
