//! `s3seal pull`: list a bucket prefix, download and open every object the
//! key (usually an identity) opens, keep going past failures; or, with
//! `--link`, what one share link shares (a file, or a list of files).
//!
//! Each object lands in `OUT/<object id>/<sealed filename>`, written under a
//! staging directory and renamed into place only after it verified, with a
//! marker naming the object; an object whose marker is there is skipped. The SSE-C key of each object is
//! derived here from its name, so the only things that leave this machine are
//! signed requests and SSE-C keys (which open nothing).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use rusty_s3::actions::{GetObject, ListObjectsV2};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use s3seal::manifest::Manifest;
use s3seal::transfer::presign::{Op, Request, SseC};
use s3seal::transfer::retry::{self, Fault, Retry};
use s3seal::transfer::xml;
use s3seal::{FileKey, Opener};
use s3seal::{ObjectName, Secret};
use sha2::Digest;

use crate::support::file::{Output, READ_SIZE};
use crate::support::secret::KeyArgs;
use crate::support::transport::env;

/// Lifetime of the URLs pull signs for itself, in seconds.
const URL_EXPIRY_SECS: u64 = 300;
/// File in each object's directory naming the object it came from: what
/// "already pulled" is judged by (the id alone could be claimed by a renamed
/// object).
const MARKER: &str = ".s3seal-object";

#[derive(Args)]
pub struct PullArgs {
    /// Bucket to read.
    #[arg(long, env = "S3SEAL_BUCKET", required_unless_present_any = ["link", "link_file"])]
    bucket: Option<String>,
    /// Pull what a share link shares instead, through the presign backend
    /// (several files, if it names a list of them: each saved under its
    /// path, under OUT/<object id>/). Only a link without a key: a key on
    /// the command line is seen by other users and kept in shell history
    /// (see --link-file). Bucket and prefix are not used.
    #[arg(long, value_name = "URL", conflicts_with = "link_file")]
    link: Option<url::Url>,
    /// As --link, with the link read from the first line of this file (`-`:
    /// standard input): for a link that carries its key.
    #[arg(long, value_name = "PATH")]
    link_file: Option<PathBuf>,
    /// The presign backend for a link (default: /api/presign beside the
    /// link's page, as `s3seal serve` has it).
    #[arg(long, value_name = "URL")]
    presign: Option<url::Url>,
    /// The backend's bearer token, from the first line of this file (with
    /// --presign only: a token goes to no backend a link names).
    #[arg(long, value_name = "PATH", requires = "presign")]
    token_file: Option<PathBuf>,
    /// Only objects whose key starts with this prefix.
    #[arg(long, env = "S3SEAL_PREFIX", default_value = "uploads/")]
    prefix: String,
    /// Directory to write into (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Virtual-host-style URLs even with a custom endpoint.
    #[arg(long)]
    virtual_host: bool,
    /// Keys per ListObjectsV2 page (S3's maximum is 1000); small pages let
    /// tests walk the continuation tokens.
    #[arg(long, default_value_t = 1000, hide = true)]
    page_size: usize,
    /// Seconds to wait for a response, or for the next bytes of one, before
    /// giving up; short waits let tests see a stalled server refused.
    #[arg(long, value_name = "SECS", default_value_t = 60, hide = true)]
    read_timeout: u64,
    #[command(flatten)]
    key: KeyArgs,
}

/// Endpoint and credentials from the usual AWS environment variables.
struct Target {
    bucket: Bucket,
    credentials: Credentials,
}

fn target(args: &PullArgs) -> Result<Target> {
    let bucket_name = args.bucket.clone().context("--bucket or --link")?;
    let access = env(&["AWS_ACCESS_KEY_ID"]).context("set AWS_ACCESS_KEY_ID")?;
    let secret = env(&["AWS_SECRET_ACCESS_KEY"]).context("set AWS_SECRET_ACCESS_KEY")?;
    let region = env(&["AWS_REGION", "AWS_DEFAULT_REGION"]).unwrap_or_else(|| "us-east-1".into());
    let custom = env(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
    let endpoint = custom
        .clone()
        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let url: url::Url = endpoint.parse().context("AWS_ENDPOINT_URL is not a URL")?;
    // The SSE-C key travels with every GET.
    crate::support::transport::check_sse_c(&url)?;
    let style = if custom.is_some() && !args.virtual_host {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    let credentials = match env(&["AWS_SESSION_TOKEN"]) {
        Some(token) => Credentials::new_with_token(access, secret, token),
        None => Credentials::new(access, secret),
    };
    Ok(Target {
        bucket: Bucket::new(url, style, bucket_name, region)?,
        credentials,
    })
}

/// The HTTP client. A server that stops sending is given up on (and the
/// request retried or the object failed); a large download that keeps
/// arriving is never cut short.
fn agent(read_timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(read_timeout))
        .timeout_per_read(Some(read_timeout))
        .build()
        .into()
}

/// A short description of an S3 error response (its `<Code>`), never headers.
fn s3_error(fault: &Fault, body: &str) -> anyhow::Error {
    let code = xml::error_code(body).unwrap_or_default();
    match fault {
        Fault::WrongKey { status } => {
            anyhow!("wrong key: S3 refused this object's SSE-C key (HTTP {status} {code})")
        }
        _ => anyhow!(
            "S3 answered {} {code}",
            fault.status().map_or(String::new(), |s| s.to_string())
        ),
    }
}

/// What an answer means: an object read carries its SSE-C key (a refusal may
/// mean the wrong key), a listing does not.
#[derive(Clone, Copy)]
enum Answering {
    Object,
    Listing,
}

/// Sends a signed GET, retrying what [`retry`] says is worth it, with its
/// backoff.
fn get(
    agent: &ureq::Agent,
    url: &url::Url,
    headers: &[(String, String)],
    read: Answering,
) -> Result<ureq::http::Response<ureq::Body>> {
    let mut attempts = Retry::new(retry::ATTEMPTS);
    loop {
        attempts.attempt();
        let mut request = agent.get(url.as_str());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let (fault, error) = match request.call() {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                let fault = match read {
                    Answering::Object => retry::classify_read(status, &body),
                    Answering::Listing => retry::classify(status, &body),
                }
                .unwrap_or(Fault::Http { status });
                let error = s3_error(&fault, &body);
                (fault, error)
            }
            Err(e) => (Fault::Network, anyhow!("{e}")),
        };
        match attempts.after(fault.retryable(), crate::support::transport::jitter()) {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
            None if fault.retryable() => {
                return Err(error.context(format!("giving up after {} attempts", attempts.made())));
            }
            None => return Err(error),
        }
    }
}

fn list(
    agent: &ureq::Agent,
    target: &Target,
    prefix: &str,
    page_size: usize,
) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut action = ListObjectsV2::new(&target.bucket, Some(&target.credentials));
        action.with_prefix(prefix);
        action.with_max_keys(page_size.clamp(1, 1000));
        if let Some(t) = &token {
            action.with_continuation_token(t.clone());
        }
        let url = action.sign(Duration::from_secs(URL_EXPIRY_SECS));
        let body = get(agent, &url, &[], Answering::Listing)
            .context("listing the bucket")?
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()?;
        let page = ListObjectsV2::parse_response(&body)
            .map_err(|e| anyhow!("unreadable ListObjectsV2 answer: {e}"))?;
        keys.extend(page.contents.into_iter().map(|c| c.key));
        match page.next_continuation_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(keys),
        }
    }
}

enum Outcome {
    Pulled {
        path: PathBuf,
        size: u64,
        sha256: String,
    },
    AlreadyHere(PathBuf),
}

fn pull_one(
    agent: &ureq::Agent,
    target: &Target,
    secret: &Secret,
    key: &str,
    name: &ObjectName,
    out: &Path,
) -> Result<Outcome> {
    let done = out.join(name.id.to_hex());
    if std::fs::read_to_string(done.join(MARKER)).is_ok_and(|m| m.trim() == name.to_string()) {
        return Ok(Outcome::AlreadyHere(done));
    }
    let file_key = secret.file_key(name)?;
    let mut action = GetObject::new(&target.bucket, Some(&target.credentials), key);
    // SigV4 canonical header names are lower case; rusty-s3 signs them as given.
    let headers: Vec<(String, String)> = s3seal::sse::sse_c(&file_key.sse_c_key())
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    for (n, v) in &headers {
        action.headers_mut().insert(n.clone(), v.clone());
    }
    let url = action.sign(Duration::from_secs(URL_EXPIRY_SECS));
    let body = get(agent, &url, &headers, Answering::Object)?
        .into_body()
        .into_reader();
    let got = receive(body, name, &file_key, out)?;
    let moved = (|| -> Result<()> {
        std::fs::write(got.stage.join(MARKER), format!("{name}\n"))?;
        if done.exists() {
            bail!(
                "{} already holds another object with this id; not replacing it",
                done.display()
            );
        }
        std::fs::rename(&got.stage, &done).context("moving the file into place")
    })();
    if let Err(e) = moved {
        let _ = std::fs::remove_dir_all(&got.stage);
        return Err(e);
    }
    Ok(Outcome::Pulled {
        path: done.join(got.file),
        size: got.size,
        sha256: got.sha256,
    })
}

/// An object opened into a private staging folder `dir/.partial-<id>/`,
/// under its sealed name made safe: nothing looks pulled until the caller
/// moves it into place. On failure the folder is removed.
struct Received {
    stage: PathBuf,
    /// The file's name in `stage`.
    file: PathBuf,
    size: u64,
    sha256: String,
    media_type: String,
}

fn receive(
    mut body: impl Read,
    name: &ObjectName,
    file_key: &FileKey,
    dir: &Path,
) -> Result<Received> {
    let stage = dir.join(format!(".partial-{}", name.id.to_hex()));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).context("removing an old partial download")?;
    }
    crate::support::file::create_private_dir_all(&stage)
        .with_context(|| format!("creating {}", stage.display()))?;
    let result = (|| -> Result<Received> {
        let mut opener = Opener::new(Secret::File(file_key.clone()));
        opener.expect_name(*name)?;
        let mut output: Option<(Output, PathBuf, String)> = None;
        let mut buf = vec![0u8; READ_SIZE];
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(READ_SIZE + (1 << 18)));
        let mut hash = sha2::Sha256::new();
        let mut size = 0u64;
        loop {
            let n = body.read(&mut buf).context("downloading")?;
            if n == 0 {
                break;
            }
            opener.push(&buf[..n], &mut plain)?;
            if output.is_none() {
                if let Some(meta) = opener.metadata() {
                    // A list of files is read into memory: refused over its
                    // cap before a byte of it is kept.
                    if meta.media_type == s3seal::manifest::MEDIA_TYPE
                        && meta
                            .size
                            .is_none_or(|n| n > s3seal::manifest::MAX_TEXT_SIZE)
                    {
                        bail!("the list of files is larger than 16 MiB");
                    }
                    let file = s3seal::safe_file_name(&meta.name).unwrap_or_else(|| "file".into());
                    output = Some((
                        Output::create(&stage.join(&file), false)?,
                        PathBuf::from(file),
                        meta.media_type.clone(),
                    ));
                }
            }
            if let Some((o, _, _)) = output.as_mut() {
                o.write_all(&plain)?;
                hash.update(&plain[..]);
                size += plain.len() as u64;
            }
            plain.clear();
        }
        let Some((mut o, file, media_type)) = output else {
            return Err(s3seal::Error::Truncated.into());
        };
        opener.finish(&mut plain)?;
        o.write_all(&plain)?;
        hash.update(&plain[..]);
        size += plain.len() as u64;
        o.commit()?;
        let sha256: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Received {
            stage: stage.clone(),
            file,
            size,
            sha256,
            media_type,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    result
}

/// `pull --link`: what a share link shares, through its presign backend.
/// The link names the object (a file key opens whatever it is shown, so
/// the name must come from the link), and a list of files names each of
/// its files, so every object is opened under a name the sender vouched for.
fn pull_link(args: &PullArgs, link: &url::Url) -> Result<()> {
    let usage = |m: &str| crate::support::secret::UsageError(m.into());
    let fragment = link
        .fragment()
        .ok_or_else(|| usage("a share link names its object after #"))?;
    let (name_text, key_text) = match fragment.split_once(".s3seal.") {
        Some((head, key)) => (format!("{head}.s3seal"), Some(key)),
        None => (fragment.to_owned(), None),
    };
    let name = ObjectName::parse(&name_text)
        .ok()
        .filter(|n| n.to_string() == name_text)
        .ok_or_else(|| usage("the link's fragment is not <object name>[.<file key>]"))?;
    let secret = match key_text {
        Some(key) => Secret::File(FileKey::from_text(key)?),
        None => crate::support::secret::resolve(&args.key, false)?,
    };
    let endpoint = match &args.presign {
        Some(e) => e.clone(),
        None => link
            .join("/api/presign")
            .context("the presign endpoint beside the link")?,
    };
    // It receives SSE-C keys: https, or plain http to loopback only.
    crate::support::transport::check_sse_c(&endpoint)?;
    let token = crate::support::secret::bearer_token(args.token_file.as_deref())?;
    let agent = agent(Duration::from_secs(args.read_timeout));
    let fetch = |name: &ObjectName, file_key: &FileKey| -> Result<Box<dyn Read>> {
        use crate::support::presign::{PresignFailure, ask_backend, check_presigned};
        let req = Request::new(Op::Get, name.to_string())
            .sse_c(Some(&SseC::from_key(&file_key.sse_c_key())));
        let presigned = ask_backend(
            &agent,
            &endpoint,
            token.as_deref().map(String::as_str),
            &req,
        )
        .and_then(|p| check_presigned(&p).map(|()| p))
        .map_err(|f| match f {
            PresignFailure::Refused { message, .. } => anyhow!(message),
            PresignFailure::Network(e) => anyhow!("the presign backend did not answer: {e}"),
        })?;
        let url = url::Url::parse(&presigned.url)?;
        Ok(Box::new(
            get(&agent, &url, &presigned.headers, Answering::Object)?
                .into_body()
                .into_reader(),
        ))
    };
    // A folder of our own for what the link shares: nothing in it that the
    // sender did not send (no symlink of ours to write through), nothing of
    // ours in reach of the sender's paths.
    let root = args.out.join(name.id.to_hex());
    if root.exists() {
        bail!("{} exists; not pulling into it again", root.display());
    }
    crate::support::file::create_private_dir_all(&root)
        .with_context(|| format!("creating {}", root.display()))?;
    let mut stdout = std::io::stdout().lock();
    let file_key = secret.file_key(&name)?;
    let got = receive(fetch(&name, &file_key)?, &name, &file_key, &root)?;
    // Moves a received file to `dest`, never over an existing one.
    let place = |got: &Received, dest: &Path| -> Result<()> {
        let result = if dest.exists() {
            Err(anyhow!("{} exists; not replacing it", dest.display()))
        } else {
            std::fs::rename(got.stage.join(&got.file), dest)
                .with_context(|| format!("moving {} into place", dest.display()))
        };
        let _ = std::fs::remove_dir_all(&got.stage);
        result
    };
    if got.media_type != s3seal::manifest::MEDIA_TYPE {
        let dest = root.join(&got.file);
        place(&got, &dest)?;
        writeln!(
            stdout,
            "pulled {} ({} bytes, sha256 {})",
            dest.display(),
            got.size,
            got.sha256
        )?;
        return Ok(());
    }
    let list = (|| -> Result<Manifest> {
        let text = zeroize::Zeroizing::new(std::fs::read(got.stage.join(&got.file))?);
        Ok(Manifest::parse(&text)?)
    })();
    let _ = std::fs::remove_dir_all(&got.stage);
    let list = list.context("reading the list of files")?;
    let mut failed = 0;
    for entry in list.entries() {
        // Manifest paths are relative, each part a plain file name (checked
        // on parse), in a folder we just made.
        let dest = root.join(&entry.path);
        let outcome = (|| -> Result<Received> {
            let dir = dest.parent().unwrap_or(&root);
            crate::support::file::create_private_dir_all(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
            let got = receive(
                fetch(&entry.object, &entry.file_key)?,
                &entry.object,
                &entry.file_key,
                dir,
            )?;
            if got.size != entry.size {
                let _ = std::fs::remove_dir_all(&got.stage);
                bail!("{} bytes where the list says {}", got.size, entry.size);
            }
            place(&got, &dest)?;
            Ok(got)
        })();
        match outcome {
            Ok(got) => writeln!(
                stdout,
                "pulled {} ({} bytes, sha256 {})",
                dest.display(),
                got.size,
                got.sha256
            )?,
            Err(e) => {
                failed += 1;
                eprintln!("s3seal: {}: {e:#}", entry.path);
            }
        }
    }
    eprintln!(
        "s3seal pull: {} of {} listed files pulled into {}",
        list.entries().len() - failed,
        list.entries().len(),
        root.display()
    );
    if failed > 0 {
        bail!("{failed} file(s) could not be pulled (see above)");
    }
    Ok(())
}

pub fn run(args: PullArgs) -> Result<()> {
    if let Some(link) = &args.link {
        if link.fragment().is_some_and(|f| f.contains(".s3seal-file-")) {
            return Err(crate::support::secret::UsageError(
                "this link carries its key: give it with --link-file FILE (or - for standard input), \
                 not on the command line, where other users and shell history see it"
                    .into(),
            )
            .into());
        }
        return pull_link(&args, link);
    }
    if let Some(path) = &args.link_file {
        // pull reads no data from standard input.
        let text = crate::support::secret::first_line(path, true)?;
        let link = url::Url::parse(text.trim()).context("--link-file does not hold a link")?;
        return pull_link(&args, &link);
    }
    let secret = crate::support::secret::resolve(&args.key, false)?;
    if matches!(secret, Secret::File(_)) {
        // It would take every listed name as the object's own, and a file
        // key opens whatever id it is shown: a forgery under a new name
        // would pass as genuine.
        return Err(crate::support::secret::UsageError(
            "pull takes a root key, passphrase or identity; a file key opens one named object \
             (s3seal open --object-name)"
                .into(),
        )
        .into());
    }
    let target = target(&args)?;
    let agent = agent(Duration::from_secs(args.read_timeout));
    crate::support::file::create_private_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let keys = list(&agent, &target, &args.prefix, args.page_size)?;
    let recipient_mode = matches!(secret, Secret::Identity(_));
    let (mut pulled, mut here, mut other, mut failed) = (0, 0, 0, 0);
    let mut stdout = std::io::stdout().lock();
    for key in &keys {
        let Ok(name) = ObjectName::parse(key) else {
            continue; // not an s3seal object
        };
        if !key.ends_with(s3seal::hazmat::OBJECT_NAME_SUFFIX) {
            continue;
        }
        // Objects sealed the other way (key vs recipient) are not ours to open.
        if name.encapsulated.is_some() != recipient_mode {
            other += 1;
            continue;
        }
        match pull_one(&agent, &target, &secret, key, &name, &args.out) {
            Ok(Outcome::Pulled { path, size, sha256 }) => {
                pulled += 1;
                writeln!(
                    stdout,
                    "pulled {key} -> {} ({size} bytes, sha256 {sha256})",
                    path.display()
                )?;
            }
            Ok(Outcome::AlreadyHere(path)) => {
                here += 1;
                writeln!(stdout, "skipped {key} (already in {})", path.display())?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("s3seal: {key}: {e:#}");
            }
        }
    }
    eprintln!(
        "s3seal pull: {pulled} pulled, {here} already here, {failed} failed, {other} sealed another way ({} listed)",
        keys.len()
    );
    if failed > 0 {
        bail!("{failed} object(s) could not be pulled (see above)");
    }
    Ok(())
}
