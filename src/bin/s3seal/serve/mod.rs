//! `s3seal serve`: the host page (`www/`), the npm package (`pkg/`), and the
//! reference presign backend (`POST /api/presign`), for a real S3-compatible
//! server. Configured by environment (defaults: the local Garage of
//! `scripts/garage.sh`), so the same binary fronts AWS S3.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use crate::presign::{self, Config, Presigner, SseMode};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "S3SEAL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The host page's directory.
    #[arg(long, env = "S3SEAL_WWW", default_value = "www")]
    www: PathBuf,
    /// The npm package's directory (served under /pkg/).
    #[arg(long, env = "S3SEAL_PKG", default_value = "pkg")]
    pkg: PathBuf,
    /// S3 endpoint.
    #[arg(long, env = "S3SEAL_ENDPOINT", default_value = "http://127.0.0.1:3900")]
    endpoint: url::Url,
    /// Signing region (must equal the server's region).
    #[arg(long, env = "S3SEAL_REGION", default_value = "us-east-1")]
    region: String,
    /// Bucket.
    #[arg(long, env = "S3SEAL_BUCKET", default_value = "s3seal")]
    bucket: String,
    /// Virtual-host-style URLs (AWS) instead of path-style (Garage, local).
    #[arg(long, env = "S3SEAL_VIRTUAL_HOST")]
    virtual_host: bool,
    /// Prefix every object name is confined to.
    #[arg(long, env = "S3SEAL_PREFIX", default_value = "uploads/")]
    prefix: String,
    /// Lifetime of presigned URLs, in seconds (at most 3600).
    #[arg(long, env = "S3SEAL_EXPIRY_SECS", default_value_t = 300)]
    expiry_secs: u64,
    /// Largest object accepted, in bytes.
    #[arg(long, env = "S3SEAL_MAX_SIZE", default_value_t = 5 << 30)]
    max_size: u64,
    /// Server-side encryption uploads must use: sse-c, sse-s3 or sse-kms.
    #[arg(long, env = "S3SEAL_SSE", default_value = "sse-c")]
    sse: String,
    /// KMS key id for sse-kms.
    #[arg(long, env = "S3SEAL_KMS_KEY_ID")]
    kms_key_id: Option<String>,
    /// Form mode: the public key (s3seal1…) the page seals every upload to.
    /// Visitors then hold no key; only the identity opens the files.
    #[arg(long, env = "S3SEAL_RECIPIENT", value_name = "PUBLIC_KEY")]
    recipient: Option<String>,
    /// Append every API request body this backend receives, verbatim, to
    /// this file (JSON lines): a record for audits that it never receives
    /// anything that opens content. It holds SSE-C keys: keep it private.
    #[arg(long, env = "S3SEAL_AUDIT_LOG", value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Worker threads.
    #[arg(long, default_value_t = 8)]
    threads: usize,
}

fn config(args: &ServeArgs) -> Result<Config> {
    let access_key = std::env::var("AWS_ACCESS_KEY_ID")
        .context("set AWS_ACCESS_KEY_ID (the presign credentials)")?;
    let secret_key = std::env::var("AWS_SECRET_ACCESS_KEY").context("set AWS_SECRET_ACCESS_KEY")?;
    if args.expiry_secs == 0 || args.expiry_secs > presign::MAX_EXPIRY_SECS {
        bail!("--expiry-secs must be 1..=3600");
    }
    let sse = match args.sse.as_str() {
        "sse-c" => SseMode::SseC,
        "sse-s3" => SseMode::SseS3,
        "sse-kms" => SseMode::SseKms,
        other => bail!("unknown --sse {other:?}: use sse-c, sse-s3 or sse-kms"),
    };
    let mut prefix = args.prefix.trim_start_matches('/').to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(Config {
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        bucket: args.bucket.clone(),
        path_style: !args.virtual_host,
        access_key,
        secret_key,
        prefix,
        expiry: Duration::from_secs(args.expiry_secs),
        max_size: args.max_size,
        sse,
        kms_key_id: args.kms_key_id.clone(),
    })
}

struct App {
    presigner: Presigner,
    www: PathBuf,
    pkg: PathBuf,
    /// Canonical text of the form's recipient, when in form mode.
    recipient: Option<String>,
    audit: Option<std::sync::Mutex<std::fs::File>>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let presigner = Presigner::new(config(&args)?)?;
    // Checked here so a mistyped key stops the server, not every upload.
    let recipient = match &args.recipient {
        Some(text) => Some(
            s3seal::recipient::Recipient::from_text(text)
                .context("--recipient / S3SEAL_RECIPIENT")?
                .to_text(),
        ),
        None => None,
    };
    let audit = match &args.audit_log {
        Some(path) => Some(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the audit log {}", path.display()))?,
        )),
        None => None,
    };
    let app = Arc::new(App {
        presigner,
        www: args.www.clone(),
        pkg: args.pkg.clone(),
        recipient,
        audit,
    });
    let server = Arc::new(
        Server::http(args.listen)
            .map_err(|e| anyhow::anyhow!("listening on {}: {e}", args.listen))?,
    );
    // The line scripts wait for; no secrets in it.
    eprintln!("s3seal serve: listening on http://{}", server.server_addr());
    let workers: Vec<_> = (0..args.threads.max(1))
        .map(|_| {
            let (server, app) = (server.clone(), app.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(&app, request);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn json(status: u16, body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(StatusCode(status))
        .with_header(header("content-type", "application/json"))
        .with_header(header("cache-control", "no-store"))
}

fn error(status: u16, code: &str, message: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    json(
        status,
        serde_json::json!({ "error": { "code": code, "message": message } }).to_string(),
    )
}

fn handle(app: &App, mut request: Request) {
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    let method = request.method().clone();
    let response = match (&method, path.as_str()) {
        (Method::Post, "/api/presign") => presign(app, &mut request),
        (Method::Get, "/api/config") => {
            let c = app.presigner.config();
            json(
                200,
                serde_json::json!({
                    "bucket": c.bucket, "prefix": c.prefix, "maxSize": c.max_size,
                    "expiresIn": c.expiry.as_secs(), "sse": c.sse,
                    "minPartSize": presign::MIN_PART_SIZE, "maxParts": presign::MAX_PARTS,
                    "recipient": app.recipient,
                })
                .to_string(),
            )
        }
        (Method::Get | Method::Head, _) => {
            return static_file(app, request, &path);
        }
        _ => error(405, "MethodNotAllowed", "method not allowed"),
    };
    let _ = request.respond(response);
}

fn presign(app: &App, request: &mut Request) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut body = String::new();
    if request
        .as_reader()
        .take(64 * 1024)
        .read_to_string(&mut body)
        .is_err()
    {
        return error(400, "BadRequest", "the body must be UTF-8 JSON");
    }
    if let Some(audit) = &app.audit {
        use std::io::Write;
        let line = serde_json::json!({ "path": "/api/presign", "body": body }).to_string();
        let mut file = audit.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(file, "{line}");
    }
    let req: presign::Request = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return error(400, "BadRequest", &format!("bad presign request: {e}")),
    };
    match app.presigner.presign(&req) {
        Ok(resp) => {
            // Log the operation and object, never header values.
            eprintln!("presign {:?} {} -> ok", req.op, resp.key);
            json(200, serde_json::to_string(&resp).expect("serialisable"))
        }
        Err(refused) => {
            eprintln!(
                "presign {:?} {} -> refused: {}",
                req.op,
                req.object.escape_debug(),
                refused.0
            );
            error(403, "Refused", &refused.0)
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ts" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn static_file(app: &App, request: Request, path: &str) {
    let (base, rest) = match path.strip_prefix("/pkg/") {
        Some(rest) => (&app.pkg, rest),
        None => (&app.www, path.trim_start_matches('/')),
    };
    let rest = if rest.is_empty() { "index.html" } else { rest };
    let relative = Path::new(rest);
    // Only plain path components: no "..", no absolute paths.
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        let _ = request.respond(error(400, "BadPath", "bad path"));
        return;
    }
    let file = base.join(relative);
    match std::fs::File::open(&file) {
        Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => {
            let response = Response::from_file(f)
                .with_header(header("content-type", content_type(&file)))
                .with_header(header("cache-control", "no-cache"))
                // The page holds keys: no framing, no referrer (the fragment never leaves anyway).
                .with_header(header("x-frame-options", "DENY"))
                .with_header(header("referrer-policy", "no-referrer"));
            let _ = request.respond(response);
        }
        _ => {
            let _ = request.respond(error(404, "NotFound", "not found"));
        }
    }
}
