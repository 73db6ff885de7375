//! `s3seal push FILE...`: seal and upload, the CLI's host of the transfer
//! core. It speaks the presign contract the browser speaks, to a backend
//! (`--presign`, e.g. `s3seal serve`) or to a signer of its own over the
//! AWS_* environment (`--bucket`); every decision (one PUT or parts, what a
//! part holds, what an answer means, when to retry, whether saved state may
//! resume) is [`s3seal::transfer`]'s. This file reads the file, runs the
//! cipher, makes the requests and keeps the resume state on disk.
//!
//! Parts are sealed in order on this thread (the signature needs every
//! segment's digest, in order) and sent `--concurrency` at a time by worker
//! threads; memory stays bounded by the parts in flight. A part's
//! fingerprint is on disk before the part leaves, so after Ctrl-C or a
//! failure the same command resumes the upload (see
//! [`s3seal::transfer::resume`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use s3seal::Recipient;
use s3seal::Secret;
use s3seal::format::Metadata;
use s3seal::manifest::{Entry, Manifest};
use s3seal::transfer::plan::{self, Part};
use s3seal::transfer::presign::{Op, Presigned, Request};
use s3seal::transfer::resume::{self, Saved, Stop};
use s3seal::transfer::retry::{self, Fault, Retry};
use s3seal::transfer::share;
use s3seal::transfer::upload::{self, Target, Upload};
use s3seal::transfer::xml;
use s3seal::{FileKey, ObjectName};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::support::secret::KeyArgs;

/// Default parts in flight.
const CONCURRENCY: usize = 4;
/// A request that has sent or received nothing for this long fails (and is
/// retried).
const STALL_TIMEOUT_SECS: u64 = 60;

#[derive(Args)]
pub struct PushArgs {
    /// Files to seal and upload, each as its own object.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// A presign backend that speaks the s3seal contract, e.g.
    /// `http://127.0.0.1:8080/api/presign` of `s3seal serve`.
    #[arg(long, value_name = "URL", required_unless_present = "bucket")]
    presign: Option<url::Url>,
    /// The backend's bearer token, from the first line of this file (a
    /// private `serve --token-file`).
    #[arg(long, value_name = "PATH", requires = "presign")]
    token_file: Option<PathBuf>,
    /// Sign for ourselves with the AWS_* environment (as `pull` does) and
    /// write to this bucket, instead of asking a presign backend.
    #[arg(long, conflicts_with = "presign")]
    bucket: Option<String>,
    /// Key prefix in the bucket (with --bucket).
    #[arg(long, default_value = "uploads/", requires = "bucket")]
    prefix: String,
    /// Virtual-host-style URLs even with a custom endpoint (with --bucket).
    #[arg(long, requires = "bucket")]
    virtual_host: bool,
    /// Seal to this public key (s3seal1…), an upload form: prints a receipt
    /// (object name and SHA-256 of the file), keeps no key.
    #[arg(long, value_name = "PUBLIC_KEY", conflicts_with_all = ["key_file", "key_env", "passphrase", "passphrase_file", "passphrase_env", "insecure_key", "identity"])]
    recipient: Option<String>,
    /// Print a share link per file instead of the object name: this page
    /// (e.g. `s3seal serve`'s) with `#<object>.<file key>` (only the object
    /// with a passphrase: the reader types it).
    #[arg(long, value_name = "URL")]
    link: Option<url::Url>,
    /// Share the files behind one link: after them, push a manifest listing
    /// them (FORMAT.md §10) and print its name or link only. Paths are kept
    /// as given when relative (folders included), else the file's name.
    #[arg(long, conflicts_with = "recipient")]
    manifest: bool,
    /// The share expires after this long (e.g. 90m, 12h, 3d; the backend's
    /// default, 7 days with `serve`, if absent); its bytes are then deleted.
    #[arg(long, value_name = "DURATION", value_parser = duration_secs)]
    expires: Option<u64>,
    /// The share allows this many downloads, then refuses.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=share::MAX_DOWNLOADS as i64))]
    downloads: Option<u32>,
    /// Where sharing state lives in the bucket (with --bucket; as serve's
    /// --control-prefix).
    #[arg(long, default_value = "control/", requires = "bucket")]
    control_prefix: String,
    /// Files above this many bytes go up in parts.
    #[arg(long, value_name = "BYTES", default_value_t = plan::DEFAULT_MULTIPART_THRESHOLD)]
    multipart_threshold: u64,
    /// Target part size in bytes (raised to S3's 5 MiB minimum).
    #[arg(long, value_name = "BYTES", default_value_t = plan::DEFAULT_PART_SIZE)]
    part_size: u64,
    /// Parts uploading at once.
    #[arg(long, default_value_t = CONCURRENCY, value_parser = concurrency)]
    concurrency: usize,
    /// Attempts per request (the first and the retries).
    #[arg(long, default_value_t = retry::ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=100))]
    attempts: u32,
    /// Where interrupted uploads are remembered [default:
    /// $XDG_STATE_HOME/s3seal/push, or ~/.local/state/s3seal/push].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Stop (as Ctrl-C would) once this many parts are uploaded: lets tests
    /// resume a real interrupted upload.
    #[arg(long, hide = true)]
    stop_after_parts: Option<usize>,
    #[command(flatten)]
    key: KeyArgs,
}

/// `90s`, `45m`, `12h`, `3d` (or plain seconds) as seconds.
fn duration_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err("a duration is a number with s, m, h or d, e.g. 3d".into()),
    };
    match number.parse::<u64>() {
        Ok(n @ 1..) => n.checked_mul(scale).ok_or_else(|| "too long".into()),
        _ => Err("a duration is a whole number above 0 with s, m, h or d, e.g. 3d".into()),
    }
}

fn concurrency(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=64) => Ok(n),
        _ => Err("1 to 64 parts at once".into()),
    }
}

/// Who signs the requests.
enum Signer {
    /// A presign backend, asked over HTTP.
    Backend {
        endpoint: url::Url,
        token: Option<Zeroizing<String>>,
    },
    /// Our own signer, with the policy a backend would apply, and the
    /// sharing state a backend would keep.
    Own(
        Box<crate::support::presign::Presigner>,
        Box<crate::support::share::ShareStore>,
    ),
}

use crate::support::presign::PresignFailure;

/// What came back from S3.
struct Reply {
    status: u16,
    etag: Option<String>,
    text: String,
    length: Option<u64>,
}

/// Requests as the core writes them: signed, sent and retried.
struct Client<'a> {
    agent: ureq::Agent,
    signer: &'a Signer,
    attempts: u32,
}

impl Client<'_> {
    fn presign(&self, req: &Request) -> Result<Presigned, PresignFailure> {
        let presigned = match self.signer {
            Signer::Own(presigner, shares) => {
                let refused = |message: String| PresignFailure::Refused {
                    status: None,
                    message,
                };
                let (_, response) = presigner.presign(req).map_err(|e| refused(e.0))?;
                // As serve does: the record before the first write's URL.
                if let Some(terms) = &req.share {
                    let record = share::Rules::default()
                        .record(Some(terms), crate::support::share::now_secs())
                        .map_err(|e| refused(e.0))?;
                    shares
                        .open(&req.object, &record)
                        .map_err(PresignFailure::Network)?
                        .map_err(|_| {
                            refused(
                                "this name was shared and deleted; it is not shared again".into(),
                            )
                        })?;
                }
                response.presigned
            }
            Signer::Backend { endpoint, token } => crate::support::presign::ask_backend(
                &self.agent,
                endpoint,
                token.as_deref().map(String::as_str),
                req,
            )?,
        };
        crate::support::presign::check_presigned(&presigned)?;
        Ok(presigned)
    }

    /// One attempt of a presigned request; `Err` when no answer came.
    fn make(&self, p: &Presigned, body: Option<&[u8]>) -> Result<Reply, String> {
        let mut request = ureq::http::Request::builder()
            .method(p.method.as_str())
            .uri(p.url.as_str());
        for (name, value) in &p.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let result = match body {
            Some(b) => self.agent.run(request.body(b).map_err(|e| e.to_string())?),
            None => self.agent.run(request.body(()).map_err(|e| e.to_string())?),
        };
        let mut response = result.map_err(|e| e.to_string())?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, length) = (
            header("etag"),
            header("content-length").and_then(|v| v.parse().ok()),
        );
        let text = if p.method == "HEAD" {
            String::new()
        } else {
            response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_string()
                .unwrap_or_default()
        };
        Ok(Reply {
            status: response.status().as_u16(),
            etag,
            text,
            length,
        })
    }

    /// Presigns and sends, retrying what [`retry`] says is worth another
    /// try: every attempt sends the same bytes under a fresh URL.
    fn send(
        &self,
        req: &Request,
        body: Option<&[u8]>,
        what: &str,
    ) -> Result<Reply, (Option<u16>, anyhow::Error)> {
        let mut attempts = Retry::new(self.attempts);
        loop {
            attempts.attempt();
            let (retryable, status, error) = match self.presign(req) {
                Err(PresignFailure::Refused { status, message }) => {
                    let retryable = status.is_some_and(|s| retry::presign_retryable(Some(s)));
                    (retryable, status, anyhow!("{what}: {message}"))
                }
                Err(PresignFailure::Network(e)) => (
                    true,
                    None,
                    anyhow!("{what}: presign backend unreachable: {e}"),
                ),
                Ok(presigned) => match self.make(&presigned, body) {
                    Ok(reply) => match retry::classify(reply.status, &reply.text) {
                        None => return Ok(reply),
                        Some(fault) => {
                            let code = xml::error_code(&reply.text).unwrap_or_default();
                            let message = fault.describe(what, attempts.made());
                            (
                                fault.retryable(),
                                fault.status(),
                                anyhow!("{message} {code}"),
                            )
                        }
                    },
                    Err(e) => (
                        Fault::Network.retryable(),
                        None,
                        anyhow!("{}: {e}", Fault::Network.describe(what, attempts.made())),
                    ),
                },
            };
            match attempts.after(retryable, crate::support::transport::jitter()) {
                Some(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
                None => return Err((status, error)),
            }
        }
    }

    /// A write that never replaces an object (a PUT or the completion): an
    /// attempt whose answer was lost may still have stored it, and its retry
    /// then finds the name taken or the upload gone. The object is ours
    /// exactly when S3 serves it under our SSE-C key at `size` bytes, as
    /// `head` (the object's HeadObject request) asks.
    fn send_write(
        &self,
        req: &Request,
        body: Option<&[u8]>,
        what: &str,
        (head, size): (&Request, u64),
    ) -> Result<Reply> {
        match self.send(req, body, what) {
            Ok(reply) => Ok(reply),
            Err((status, e)) => {
                if retry::may_have_stored(status)
                    && self
                        .send(head, None, "HeadObject")
                        .is_ok_and(|r| r.length == Some(size))
                {
                    return Ok(Reply {
                        status: 200,
                        etag: None,
                        text: String::new(),
                        length: Some(size),
                    });
                }
                Err(e)
            }
        }
    }
}

/// The resume state as it is kept on disk: the core's spelling, the
/// browser's too, with the layout's version.
#[derive(Serialize, Deserialize)]
struct StateFile {
    v: u32,
    #[serde(flatten)]
    saved: Saved,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where one file's upload is remembered: by its path only, so a file
/// changed since finds its old upload (the fingerprints tell, and the old
/// upload is aborted) instead of leaving it behind.
struct StateStore {
    path: PathBuf,
}

impl StateStore {
    fn new(dir: &Path, file: &Path) -> Result<Self> {
        let canonical = file.canonicalize()?;
        let mut h = sha2::Sha256::new();
        h.update(canonical.as_os_str().as_encoded_bytes());
        Ok(Self {
            path: dir.join(format!("{}.json", &hex(&h.finalize())[..32])),
        })
    }

    fn load(&self) -> Option<Saved> {
        let s: StateFile = serde_json::from_slice(&std::fs::read(&self.path).ok()?).ok()?;
        (s.v == resume::STATE_VERSION).then_some(s.saved)
    }

    /// Writes `saved` atomically (a crash leaves the old state or the new).
    fn save(&self, saved: &Saved) -> Result<()> {
        let dir = self.path.parent().expect("a file in a directory");
        crate::support::file::create_private_dir_all(dir)?;
        let state = StateFile {
            v: resume::STATE_VERSION,
            saved: saved.clone(),
        };
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(&serde_json::to_vec(&state)?)?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path)?;
        Ok(())
    }

    fn forget(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A part sealed and ready to send.
struct SealedPart {
    part: Part,
    body: Vec<u8>,
    request: Request,
}

/// Reads `part`'s plaintext; it goes into `receipt` too (recipient mode).
fn read_part(
    file: &mut File,
    part: &Part,
    receipt: Option<&mut sha2::Sha256>,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut plain = Zeroizing::new(vec![0u8; part.plaintext_len() as usize]);
    file.seek(SeekFrom::Start(part.plaintext.start))?;
    file.read_exact(&mut plain)
        .map_err(|_| Changed("the file is shorter than it was:".into()))?;
    if let Some(r) = receipt {
        r.update(&plain[..]);
    }
    Ok(plain)
}

/// What a file came to.
struct Pushed {
    object: String,
    size: u64,
    file_key: Option<Zeroizing<String>>,
    /// The object's file key and plaintext size (for a manifest).
    key: FileKey,
    plaintext_size: u64,
    sha256: Option<String>,
    resumed_parts: usize,
}

struct Settings<'a> {
    signer: &'a Signer,
    args: &'a PushArgs,
    state_dir: PathBuf,
}

/// Prints what a push made: a receipt, a share link, or the object name.
fn print_pushed(out: &mut impl Write, p: &Pushed, link: Option<&url::Url>) -> Result<()> {
    match (&p.sha256, link, &p.file_key) {
        (Some(sha256), _, _) => writeln!(out, "{} sha256={sha256}", p.object)?,
        (None, Some(link), key) => {
            let mut url = link.clone();
            match key {
                Some(k) => url.set_fragment(Some(&format!("{}.{}", p.object, k.as_str()))),
                None => url.set_fragment(Some(&p.object)),
            }
            writeln!(out, "{url}")?;
        }
        (None, None, _) => writeln!(out, "{}", p.object)?,
    }
    Ok(())
}

/// A file's path in a manifest: as given when it is relative and a valid
/// manifest path (folders kept), else its name.
fn manifest_path(path: &Path) -> String {
    let given = path.to_string_lossy();
    if path.is_relative() && s3seal::manifest::check_path(&given).is_ok() {
        given.into_owned()
    } else {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The sharing terms asked for (the core adds the owner's delete-token
/// hash). Always to a backend when there is an owner (so `s3seal delete`
/// works; the backend's default expiry applies); with --bucket only if
/// asked (an object pushed with one's own credentials stays until deleted).
fn terms(args: &PushArgs, target: &Target) -> Option<share::Terms> {
    let asked = args.expires.is_some() || args.downloads.is_some();
    let owned = args.presign.is_some() && matches!(target, Target::Secret(_));
    (asked || owned).then_some(share::Terms {
        expires_secs: args.expires,
        downloads: args.downloads,
        delete_hash: None,
    })
}

fn push_one(
    settings: &Settings,
    path: &Path,
    target: &Target,
    media_type: Option<&str>,
) -> Result<Pushed> {
    let args = settings.args;
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let stat = file.metadata()?;
    if !stat.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let size = stat.len();
    let modified = stat.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = Metadata {
        media_type: media_type
            .unwrap_or_else(|| crate::support::file::guess_media_type(&name))
            .to_owned(),
        name,
        size: Some(size),
    };
    let how = upload::Settings {
        multipart_threshold: args.multipart_threshold,
        part_size: args.part_size,
        share: terms(args, target),
    };
    // The core ignores (and keeps) a state that a single PUT cannot use.
    let store = match target {
        Target::Secret(_) => Some(StateStore::new(&settings.state_dir, path)?),
        Target::Recipient(_) => None,
    };
    let agent = agent();
    let mut up = Upload::start(
        target,
        &meta,
        size,
        &how,
        store.as_ref().and_then(StateStore::load),
    )?;
    // The saved upload of this file resumes if its sealed parts still seal
    // the same; else it is garbage, to abort.
    let mut stale = up.stale();
    if up.resuming() {
        let checks: Vec<(Part, String)> = up
            .to_verify()
            .map(|(part, fingerprint)| (part.clone(), fingerprint.to_owned()))
            .collect();
        let mut same = true;
        for (part, fingerprint) in checks {
            let plain = read_part(&mut file, &part, None)?;
            if up.seal_part(part.number, &plain)?.fingerprint != fingerprint {
                same = false;
                break;
            }
        }
        if same {
            stale = None;
        } else {
            up = Upload::start(target, &meta, size, &how, None)?;
        }
    }
    let client = Client {
        agent,
        signer: settings.signer,
        // Best effort, once: a backend that is down must not hold the push up.
        attempts: 1,
    };
    if let Some(stale) = stale {
        let _ = client.send(&stale, None, "AbortMultipartUpload");
        if let Some(s) = &store {
            s.forget();
        }
    }
    let client = Client {
        attempts: args.attempts,
        ..client
    };
    let total = up.object_len();
    let head = up.request(Op::Head, None, None)?;
    let bar = crate::support::file::progress(Some(total), args.quiet);
    let mut receipt = matches!(target, Target::Recipient(_)).then(sha2::Sha256::new);
    let mut resumed_parts = 0;
    if !up.is_multipart() {
        let part = up.parts()[0].clone();
        let plain = read_part(&mut file, &part, receipt.as_mut())?;
        let sealed = up.seal_part(part.number, &plain)?;
        ensure_unchanged(&file, size, modified)?;
        let req = up.request(Op::Put, Some(part.size), None)?;
        client.send_write(&req, Some(&sealed.body), "upload", (&head, part.size))?;
        bar.set_position(part.size);
    } else {
        if !up.resuming() {
            let created = client
                .send(
                    &up.request(Op::CreateMultipart, Some(total), None)?,
                    None,
                    "CreateMultipartUpload",
                )
                .map_err(|(_, e)| e)?;
            let upload_id = xml::upload_id(&created.text)
                .ok_or_else(|| anyhow!("CreateMultipartUpload returned no UploadId"))?;
            up.begin(upload_id)?;
        }
        resumed_parts = up.parts().iter().filter(|p| up.finished(p.number)).count();
        let abort = up.request(Op::AbortMultipart, None, None)?;
        let result = run_parts(
            &client,
            &mut file,
            &mut up,
            store.as_ref(),
            receipt.as_mut(),
            &bar,
            (args.concurrency, args.stop_after_parts),
        )
        .and_then(|()| ensure_unchanged(&file, size, modified));
        if let Err(e) = result {
            // Kept for the next run unless nothing could resume it.
            let stop = if e.downcast_ref::<Interrupted>().is_some() {
                Stop::Interrupted
            } else if e.downcast_ref::<Changed>().is_some()
                // A part sealed again to other bytes (record_sealed).
                || e.downcast_ref::<s3seal::Error>()
                    .is_some_and(|e| e.code() == "InvalidInput")
            {
                Stop::FileChanged
            } else {
                Stop::Failed
            };
            if !stop.keeps_upload(store.is_some()) {
                let _ = client.send(&abort, None, "AbortMultipartUpload");
                if let Some(s) = &store {
                    s.forget();
                }
            }
            return Err(e);
        }
        let body = up.completion();
        let req = up.request(Op::CompleteMultipart, Some(total), None)?;
        let reply = client.send_write(
            &req,
            Some(body.as_bytes()),
            "CompleteMultipartUpload",
            (&head, total),
        );
        if let Some(s) = &store {
            s.forget();
        }
        // S3 may answer 200 with an error document. Not completed, and
        // its state gone: its parts would stay in the bucket for nothing.
        let completed = reply.and_then(|reply| match xml::is_error(&reply.text) {
            false => Ok(reply),
            true => Err(anyhow!(
                "CompleteMultipartUpload failed: {}",
                xml::error_code(&reply.text).unwrap_or_default()
            )),
        });
        if completed.is_err() {
            let _ = client.send(&abort, None, "AbortMultipartUpload");
        }
        completed?;
    }
    bar.finish_and_clear();
    let sealer = up.sealer();
    Ok(Pushed {
        object: sealer.object_name().to_string(),
        size: total,
        file_key: match target {
            Target::Secret(Secret::Root(_)) => Some(sealer.file_key().to_text()),
            _ => None,
        },
        sha256: receipt.map(|r| hex(&r.finalize())),
        resumed_parts,
        key: sealer.file_key().clone(),
        plaintext_size: size,
    })
}

/// The file changed while it was being pushed.
#[derive(Debug, thiserror::Error)]
#[error("{0} it changed while it was being pushed; nothing was kept")]
struct Changed(String);

/// Stopped on purpose (`--stop-after-parts`), as Ctrl-C would.
#[derive(Debug, thiserror::Error)]
#[error("stopped after {0} parts; run the same command again to resume")]
struct Interrupted(usize);

fn ensure_unchanged(file: &File, size: u64, modified: SystemTime) -> Result<()> {
    let now = file.metadata()?;
    if now.len() != size || now.modified().ok() != Some(modified) {
        return Err(Changed("the file was modified:".into()).into());
    }
    Ok(())
}

/// Seals the parts not yet on S3, in order, and sends them `concurrency` at
/// a time; the state goes to `store` as the core hands it over.
fn run_parts(
    client: &Client,
    file: &mut File,
    up: &mut Upload,
    store: Option<&StateStore>,
    mut receipt: Option<&mut sha2::Sha256>,
    bar: &indicatif::ProgressBar,
    knobs: (usize, Option<usize>),
) -> Result<()> {
    let todo: Vec<Part> = up
        .parts()
        .iter()
        .filter(|p| !up.finished(p.number))
        .cloned()
        .collect();
    for part in up.parts().iter().filter(|p| up.finished(p.number)) {
        bar.inc(part.size);
    }
    let up = Mutex::new(up);
    let save = |state: Option<&Saved>| -> Result<()> {
        if let (Some(state), Some(store)) = (state, store) {
            store.save(state)?;
        }
        Ok(())
    };
    let stop = AtomicBool::new(false);
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let (concurrency, stop_after) = knobs;
    let (to_send, queue) = mpsc::sync_channel::<SealedPart>(0);
    let queue = Mutex::new(queue);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..concurrency {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().expect("not poisoned").recv();
                    let Ok(sealed) = next else { return };
                    if stop.load(Ordering::SeqCst) {
                        continue; // drain
                    }
                    let n = sealed.part.number;
                    let outcome = client
                        .send(&sealed.request, Some(&sealed.body), "UploadPart")
                        .map_err(|(_, e)| e.context(format!("part {n}")))
                        .and_then(|reply| {
                            reply
                                .etag
                                .ok_or_else(|| anyhow!("UploadPart {n} returned no ETag"))
                        })
                        .and_then(|etag| {
                            let mut up = up.lock().expect("not poisoned");
                            save(up.record_finished(n, etag))
                        });
                    match outcome {
                        Ok(()) => {
                            bar.inc(sealed.part.size);
                            sent.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            stop.store(true, Ordering::SeqCst);
                            failure.lock().expect("not poisoned").get_or_insert(e);
                        }
                    }
                }
            });
        }
        let sealing = (|| -> Result<()> {
            for part in &todo {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Some(limit) = stop_after {
                    if sent.load(Ordering::SeqCst) >= limit {
                        stop.store(true, Ordering::SeqCst);
                        failure
                            .lock()
                            .expect("not poisoned")
                            .get_or_insert(Interrupted(limit).into());
                        break;
                    }
                }
                let plain = read_part(file, part, receipt.as_deref_mut())?;
                let sealed = {
                    let mut up = up.lock().expect("not poisoned");
                    let sealed = up.seal_part(part.number, &plain)?;
                    // On disk before the part leaves: see `resume` on nonce reuse.
                    save(up.record_sealed(part.number, sealed.fingerprint)?)?;
                    SealedPart {
                        part: part.clone(),
                        body: sealed.body,
                        request: up.request(Op::UploadPart, Some(part.size), Some(part.number))?,
                    }
                };
                if to_send.send(sealed).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(to_send);
        if let Err(e) = sealing {
            stop.store(true, Ordering::SeqCst);
            failure.lock().expect("not poisoned").get_or_insert(e);
        }
        Ok(())
    })?;
    match failure.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(STALL_TIMEOUT_SECS)))
        .timeout_per_read(Some(Duration::from_secs(STALL_TIMEOUT_SECS)))
        .build()
        .into()
}

fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("s3seal/push")
}

fn signer(args: &PushArgs) -> Result<Signer> {
    if let Some(endpoint) = &args.presign {
        // The backend sees SSE-C keys: the same in-transit rule.
        crate::support::transport::check_sse_c(endpoint)?;
        let token = crate::support::secret::bearer_token(args.token_file.as_deref())?;
        return Ok(Signer::Backend {
            endpoint: endpoint.clone(),
            token,
        });
    }
    let bucket = args.bucket.clone().context("--presign URL or --bucket")?;
    let env = crate::support::transport::env;
    let region = env(&["AWS_REGION", "AWS_DEFAULT_REGION"]).unwrap_or_else(|| "us-east-1".into());
    let custom = env(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
    let endpoint = custom
        .clone()
        .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    if env(&["AWS_SESSION_TOKEN"]).is_some() {
        bail!(
            "push --bucket signs with long-term keys only; unset AWS_SESSION_TOKEN or use --presign"
        );
    }
    let mut prefix = args.prefix.trim_start_matches('/').to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let config = crate::support::presign::Config {
        endpoint: endpoint.parse().context("AWS_ENDPOINT_URL is not a URL")?,
        region,
        bucket,
        path_style: custom.is_some() && !args.virtual_host,
        access_key: env(&["AWS_ACCESS_KEY_ID"]).context("set AWS_ACCESS_KEY_ID")?,
        secret_key: env(&["AWS_SECRET_ACCESS_KEY"]).context("set AWS_SECRET_ACCESS_KEY")?,
        expiry: Duration::from_secs(300),
        policy: s3seal::transfer::policy::Policy {
            prefix,
            max_size: u64::MAX,
            sse: s3seal::transfer::policy::SseMode::SseC,
            kms_key_id: None,
            form: false,
        },
    };
    let layout = share::Layout {
        control_prefix: args.control_prefix.trim_start_matches('/').to_owned(),
    };
    layout
        .check_apart(&config.policy.prefix)
        .map_err(|why| anyhow!("--control-prefix: {why}"))?;
    let prefix = config.policy.prefix.clone();
    let presigner = crate::support::presign::Presigner::new(config)?;
    let (bucket, credentials) = presigner.signer();
    let shares =
        crate::support::share::ShareStore::new(bucket.clone(), credentials.clone(), layout, prefix);
    Ok(Signer::Own(Box::new(presigner), Box::new(shares)))
}

pub fn run(args: PushArgs) -> Result<()> {
    let target = match &args.recipient {
        Some(text) => Target::Recipient(Recipient::from_text(text).context("--recipient")?),
        None => {
            let secret = crate::support::secret::resolve(&args.key, true)?;
            if matches!(secret, Secret::File(_) | Secret::Identity(_)) {
                return Err(crate::support::secret::UsageError(
                    "push seals with a root key or passphrase (or --recipient); a file key or identity only opens".into(),
                )
                .into());
            }
            crate::support::secret::require_strong_for_sealing(&secret)?;
            Target::Secret(secret)
        }
    };
    let signer = signer(&args)?;
    let settings = Settings {
        signer: &signer,
        args: &args,
        state_dir: args.state_dir.clone().unwrap_or_else(default_state_dir),
    };
    if args.manifest {
        // Every path checked before anything goes up: a list that cannot be
        // written must not leave its files behind.
        let mut seen = std::collections::HashSet::new();
        for path in &args.files {
            let listed_as = manifest_path(path);
            s3seal::manifest::check_path(&listed_as)
                .with_context(|| format!("{} cannot be listed as {listed_as:?}", path.display()))?;
            if !seen.insert(listed_as.clone()) {
                bail!(
                    "two files would be listed as {listed_as:?}: give them distinct relative paths"
                );
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    let mut listed = Manifest::default();
    for path in &args.files {
        match push_one(&settings, path, &target, None) {
            Ok(p) => {
                let resumed = if p.resumed_parts > 0 {
                    format!(", resumed after {} parts", p.resumed_parts)
                } else {
                    String::new()
                };
                eprintln!(
                    "pushed {} -> {} ({} bytes{resumed})",
                    path.display(),
                    p.object,
                    p.size
                );
                if args.manifest {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    listed
                        .push(Entry {
                            path: manifest_path(path),
                            object: ObjectName::parse(&p.object)?,
                            file_key: p.key.clone(),
                            size: p.plaintext_size,
                            media_type: crate::support::file::guess_media_type(&name).to_owned(),
                        })
                        .with_context(|| format!("listing {}", path.display()))?;
                } else {
                    print_pushed(&mut stdout, &p, args.link.as_ref())?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("s3seal: {}: {e:#}", path.display());
                if e.downcast_ref::<Interrupted>().is_some() {
                    return Err(e);
                }
            }
        }
    }
    if args.manifest && failed == 0 {
        // The list of files, sealed and pushed like one: its link opens them all.
        let dir = tempfile::tempdir().context("a temporary folder for the manifest")?;
        let path = dir.path().join("manifest");
        std::fs::write(&path, listed.to_text().as_bytes()).context("writing the manifest")?;
        let p = push_one(
            &settings,
            &path,
            &target,
            Some(s3seal::manifest::MEDIA_TYPE),
        )
        .context("pushing the manifest")?;
        eprintln!(
            "pushed the list of {} files -> {}",
            listed.entries().len(),
            p.object
        );
        print_pushed(&mut stdout, &p, args.link.as_ref())?;
    }
    if failed > 0 {
        bail!("{failed} file(s) could not be pushed (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// State files push wrote before the hosts shared one spelling
    /// (snake_case) still resume; new ones are the browser's spelling.
    #[test]
    fn state_files_of_either_spelling_load() {
        let random = "01".repeat(s3seal::Randomness::SIZE);
        let before = format!(
            r#"{{"v":3,"object":"o","random":"{random}","commitment":"c","upload_id":"u","part_size":5242880,"sealed":[[1,"fp1"]],"parts":[[1,"e1"]]}}"#
        );
        let state: StateFile = serde_json::from_str(&before).unwrap();
        assert_eq!(state.saved.upload_id, "u");
        assert_eq!(state.saved.part_size, 5 << 20);
        assert_eq!(state.saved.sealed, [(1, "fp1".to_string())]);
        let now = serde_json::to_string(&state).unwrap();
        assert_eq!(
            now,
            before
                .replace("upload_id", "uploadId")
                .replace("part_size", "partSize")
        );
    }
}
