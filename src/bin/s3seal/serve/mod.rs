//! `s3seal serve`: the host page (`www/`), the npm package (`pkg/`), and the
//! reference presign backend (`POST /api/presign`), for a real S3-compatible
//! server. Configured by environment (defaults: the local Garage of
//! `scripts/garage.sh`), so the same binary fronts AWS S3.
//!
//! Who may presign is decided before anything else ([`access`]): loopback is
//! open (`make demo`); elsewhere a token file or an explicit `--public`.
//! Slow clients cost a task and a connection slot, never a thread, and every
//! wait is bounded (headers, body, connection lifetime).

mod access;
mod audit;
mod store;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::support::presign::{self, Config, Presigner, SseMode};
use crate::support::share::{self as share_store, ShareStore, now_secs};
use access::{Access, Denied, RateLimiter};
use audit::AuditLog;
use s3seal::transfer::policy::{Policy, Presence};
use s3seal::transfer::presign::Op;
use s3seal::transfer::share::{self, Claim, Gone, Layout, Record, Rules};
use store::Store;

/// A client has this long to send a request's headers (also the longest a
/// kept-alive connection may sit idle).
const HEADER_TIMEOUT_SECS: u64 = 10;
/// ... and this long for its body.
const BODY_TIMEOUT_SECS: u64 = 10;
/// Largest presign request body, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Read buffer per connection, which bounds a request's headers, in bytes.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// No connection lives longer, in seconds, whatever it is doing (a client
/// that never reads its answer holds a slot no longer than this).
const CONNECTION_LIFETIME_SECS: u64 = 120;
/// Connections one remote address may hold at once. Loopback peers (a local
/// reverse proxy, tests) are limited by the global cap only.
const MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// Threads for the blocking S3 checks (HEAD, ListParts).
const MAX_BLOCKING_THREADS: usize = 64;
/// Locks that download claims take turns on (see `App::claim_turns`).
const CLAIM_STRIPES: usize = 64;

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
    /// Largest object accepted, in bytes (stored, so sealed: the default
    /// takes a 5 GiB file and the format's overhead, ~330 KB for it).
    #[arg(long, env = "S3SEAL_MAX_SIZE", default_value_t = (5 << 30) + (1 << 20))]
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
    /// anything that opens content. It holds SSE-C keys: it is created 0600.
    #[arg(long, env = "S3SEAL_AUDIT_LOG", value_name = "PATH")]
    audit_log: Option<PathBuf>,
    /// Size at which the audit log moves to PATH.1 (replacing the older one).
    #[arg(long, env = "S3SEAL_AUDIT_LOG_MAX_BYTES", default_value_t = 64 << 20)]
    audit_log_max_bytes: u64,
    /// Private deployment: presign only for requests carrying
    /// `Authorization: Bearer <token>` with a token from this file (one per
    /// line, at least 32 characters).
    #[arg(
        long,
        env = "S3SEAL_TOKEN_FILE",
        value_name = "PATH",
        conflicts_with = "public"
    )]
    token_file: Option<PathBuf>,
    /// Public deployment (an upload form): anyone who reaches the page may
    /// presign, within the policy. Required, or a token file, off loopback.
    #[arg(long, env = "S3SEAL_PUBLIC")]
    public: bool,
    /// The page's public URL(s), e.g. https://files.example (comma-separated):
    /// the only Host and Origin values accepted besides loopback's.
    #[arg(
        long = "origin",
        env = "S3SEAL_ORIGIN",
        value_name = "URL",
        value_delimiter = ','
    )]
    origins: Vec<url::Url>,
    /// More origins the page may connect to besides itself and the bucket
    /// (the CSP's connect-src), e.g. a presign backend elsewhere.
    #[arg(
        long = "connect-src",
        env = "S3SEAL_CONNECT_SRC",
        value_name = "URL",
        value_delimiter = ' '
    )]
    connect_src: Vec<url::Url>,
    /// Open connections at most; more wait in the listen queue.
    #[arg(long, env = "S3SEAL_MAX_CONNECTIONS", default_value_t = 900)]
    max_connections: usize,
    /// Where sharing state (expiry, download counts, delete hashes) lives in
    /// the bucket: apart from --prefix, and shared by every serve in front
    /// of the bucket.
    #[arg(long, env = "S3SEAL_CONTROL_PREFIX", default_value = "control/")]
    control_prefix: String,
    /// A share's expiry when the uploader names none, in seconds.
    #[arg(long, env = "S3SEAL_DEFAULT_EXPIRY_SECS", default_value_t = share::DEFAULT_EXPIRY_SECS)]
    default_expiry_secs: u64,
    /// The longest expiry an uploader may choose, in seconds.
    #[arg(long, env = "S3SEAL_MAX_EXPIRY_SECS", default_value_t = share::MAX_EXPIRY_SECS)]
    max_expiry_secs: u64,
    /// Serve reads of objects without a sharing record (written by other
    /// tools, or before sharing existed), with no expiry and no limit.
    /// Without it such a name is "not shared" (410): a record removed by
    /// expiry or delete must not leave an object readable.
    #[arg(long, env = "S3SEAL_ALLOW_UNRECORDED")]
    allow_unrecorded: bool,
    /// Seconds between sweeps that delete expired shares (0: no sweeper;
    /// expired shares are still refused, and removed when next asked for).
    #[arg(long, env = "S3SEAL_SWEEP_SECS", default_value_t = 60)]
    sweep_secs: u64,
    /// Presign requests per second per client address (0: no limit) ...
    #[arg(long, env = "S3SEAL_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// ... with bursts of up to this many.
    #[arg(long, env = "S3SEAL_RATE_BURST", default_value_t = 300)]
    rate_burst: u32,
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
        expiry: Duration::from_secs(args.expiry_secs),
        policy: Policy {
            prefix,
            max_size: args.max_size,
            sse,
            kms_key_id: args.kms_key_id.clone(),
            form: args.recipient.is_some(),
        },
    })
}

struct App {
    presigner: Presigner,
    store: Arc<Store>,
    access: Access,
    limiter: RateLimiter,
    www: PathBuf,
    pkg: PathBuf,
    /// Canonical text of the form's recipient, when in form mode.
    recipient: Option<String>,
    audit: Option<AuditLog>,
    /// Sharing state in the bucket, and the limits on what uploaders ask.
    /// `None` in form mode: a form's uploads are kept, not shared.
    shares: Option<Arc<ShareStore>>,
    rules: Rules,
    allow_unrecorded: bool,
    /// Sent with every response but the PDF viewer's document.
    security_headers: Vec<(HeaderName, HeaderValue)>,
    /// Sent with the PDF viewer's document ([`is_viewer`]).
    viewer_headers: Vec<(HeaderName, HeaderValue)>,
    /// Download claims of one object take turns within this serve (an
    /// object's stripe: a keyed hash of its name), so only replicas race.
    claim_turns: Vec<tokio::sync::Mutex<()>>,
    claim_hasher: std::hash::RandomState,
}

type Reply = Response<Full<Bytes>>;

pub fn run(args: ServeArgs) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?
        .block_on(serve(args))
}

/// The page's headers: opened bytes and injected markup get no script, no
/// plugin, no framing and no foreign connection besides the bucket.
fn security_headers(
    presigner: &Presigner,
    connect_src: &[url::Url],
) -> Result<Vec<(HeaderName, HeaderValue)>> {
    // blob: is the page's own Blobs (same-origin by construction), read back
    // to check or preview what it opened.
    let mut connect = vec![
        "'self'".to_owned(),
        "blob:".to_owned(),
        presigner.s3_origin(),
    ];
    connect.extend(connect_src.iter().map(|u| u.origin().ascii_serialization()));
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
         connect-src {}; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
        connect.join(" ")
    );
    let csp =
        HeaderValue::from_str(&csp).context("a --connect-src origin is not a header value")?;
    Ok(header_set(
        csp,
        "DENY",
        &[("cross-origin-opener-policy", "same-origin")],
    ))
}

/// `csp` and `frame_options`, the headers every answer carries (`nosniff`,
/// no referrer, no camera, microphone, location, payment, USB or screen
/// capture), and `more`.
fn header_set(
    csp: HeaderValue,
    frame_options: &'static str,
    more: &[(&'static str, &'static str)],
) -> Vec<(HeaderName, HeaderValue)> {
    let every = [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", frame_options),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()",
        ),
    ];
    let fixed = every.iter().chain(more);
    let fixed = fixed.map(|&(n, v)| (HeaderName::from_static(n), HeaderValue::from_static(v)));
    std::iter::once((header::CONTENT_SECURITY_POLICY, csp))
        .chain(fixed)
        .collect()
}

/// The page's PDF viewer (www/pdf-view.html, with www/src/pdf-view.js),
/// the one document the page frames.
const PDF_VIEWER_FILE: &str = "pdf-view.html";

/// Whether `path` is served the viewer's file: under every spelling that
/// [`static_file`] resolves to it (leading slashes; any case, for a file
/// system that folds it), so that it never goes out without its sandbox.
fn is_viewer(path: &str) -> bool {
    path.trim_start_matches('/')
        .eq_ignore_ascii_case(PDF_VIEWER_FILE)
}

/// The PDF viewer's headers: framed by the page only, and sandboxed
/// whoever loads it, so pdf.js and the PDF it draws run in an opaque origin
/// (no reach into the page, its storage or its keys) with no network and
/// its own script and style only. Those are named at each of our origins:
/// WebKit matches `'self'` in a sandboxed document to nothing.
fn viewer_headers(own_origins: &[String]) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let at = |file: &str| {
        let mut sources = vec!["'self'".to_owned()];
        sources.extend(own_origins.iter().map(|o| format!("{o}/{file}")));
        sources.join(" ")
    };
    let csp = format!(
        "sandbox allow-scripts; default-src 'none'; script-src {}; style-src {}; \
         img-src blob: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
        at("pdf-view.js"),
        at("pdf-view.css"),
    );
    let csp = HeaderValue::from_str(&csp).context("an --origin is not a header value")?;
    Ok(header_set(csp, "SAMEORIGIN", &[]))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let config = config(&args)?;
    let tokens = match &args.token_file {
        Some(path) => access::read_tokens(path)?,
        None => Vec::new(),
    };
    for warning in
        access::listen_policy(args.listen, !tokens.is_empty(), args.public, &args.origins)?
    {
        eprintln!("s3seal serve: warning: {warning}");
    }
    let rules = Rules {
        default_expiry_secs: args.default_expiry_secs,
        max_expiry_secs: args.max_expiry_secs,
    };
    if rules.max_expiry_secs == 0
        || !(1..=rules.max_expiry_secs).contains(&rules.default_expiry_secs)
    {
        bail!("--default-expiry-secs must be 1..=--max-expiry-secs");
    }
    let layout = Layout {
        control_prefix: args.control_prefix.trim_start_matches('/').to_owned(),
    };
    layout
        .check_apart(&config.policy.prefix)
        .map_err(|why| anyhow::anyhow!("--control-prefix: {why}"))?;
    let prefix = config.policy.prefix.clone();
    let form = config.policy.form;
    let presigner = Presigner::new(config)?;
    let store = Arc::new(Store::new(&presigner));
    let shares = (!form).then(|| {
        let (bucket, credentials) = presigner.signer();
        Arc::new(ShareStore::new(
            bucket.clone(),
            credentials.clone(),
            layout,
            prefix,
        ))
    });
    // Checked here so a mistyped key stops the server, not every upload.
    let recipient = match &args.recipient {
        Some(text) => Some(
            s3seal::Recipient::from_text(text)
                .context("--recipient / S3SEAL_RECIPIENT")?
                .to_text(),
        ),
        None => None,
    };
    let audit = match &args.audit_log {
        Some(path) => Some(AuditLog::open(path, args.audit_log_max_bytes)?),
        None => None,
    };
    if args.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr()?;
    let access = Access::new(local, &args.origins, tokens, args.public)?;
    let app = Arc::new(App {
        security_headers: security_headers(&presigner, &args.connect_src)?,
        viewer_headers: viewer_headers(&access.own_origins())?,
        presigner,
        store,
        access,
        limiter: RateLimiter::new(args.rate_limit, args.rate_burst),
        www: args.www.clone(),
        pkg: args.pkg.clone(),
        recipient,
        audit,
        shares: shares.clone(),
        rules,
        allow_unrecorded: args.allow_unrecorded,
        claim_turns: (0..CLAIM_STRIPES).map(|_| Default::default()).collect(),
        claim_hasher: std::hash::RandomState::new(),
    });
    if let (Some(shares), 1..) = (shares, args.sweep_secs) {
        tokio::spawn(sweeper(shares, Duration::from_secs(args.sweep_secs)));
    }
    // The line scripts wait for; no secrets in it.
    eprintln!("s3seal serve: listening on http://{local}");
    let slots = Arc::new(Semaphore::new(args.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(HEADER_TIMEOUT_SECS))
        .max_buf_size(MAX_HEADER_BYTES);
    let per_client = access::ConnectionCount::new(MAX_CONNECTIONS_PER_CLIENT);
    loop {
        let slot = slots.clone().acquire_owned().await?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait instead of spinning.
                eprintln!("s3seal serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // One client may not take every slot: over its share, close at once.
        let Some(held) = per_client.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let app = app.clone();
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper::service::service_fn(move |request| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(handle(&app, request, peer).await) }
            }),
        );
        tokio::spawn(async move {
            let _slot = (slot, held);
            let _ = tokio::time::timeout(Duration::from_secs(CONNECTION_LIFETIME_SECS), connection)
                .await;
        });
    }
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("a content type"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(status: u16, body: String) -> Reply {
    reply(status, "application/json", body)
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    json(
        status,
        serde_json::json!({ "error": { "code": code, "message": message } }).to_string(),
    )
}

fn denied(d: Denied) -> Reply {
    let mut r = error(d.status(), d.code(), d.message());
    match d {
        Denied::Unauthorized => {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Denied::RateLimited => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}

fn header_text(request: &Request<Incoming>, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    let viewer = is_viewer(request.uri().path());
    let mut response = route(app, request, peer).await;
    let headers = response.headers_mut();
    let set = match viewer {
        true => &app.viewer_headers,
        false => &app.security_headers,
    };
    for (name, value) in set {
        headers.insert(name.clone(), value.clone());
    }
    response
}

async fn route(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    let forwarded = request.headers().contains_key(header::FORWARDED)
        || request.headers().contains_key("x-forwarded-for");
    let checks = app
        .access
        .check_host(header_text(&request, header::HOST))
        .and_then(|()| app.access.check_proxied(forwarded));
    if let Err(d) = checks {
        return denied(d);
    }
    let path = request.uri().path().to_owned();
    match (request.method(), path.as_str()) {
        (&Method::POST, "/api/presign") => presign(app, request, peer).await,
        (&Method::POST, "/api/delete") => delete(app, request, peer).await,
        (&Method::GET, "/api/config") => {
            let c = app.presigner.config();
            json(
                200,
                serde_json::json!({
                    "bucket": c.bucket, "prefix": c.policy.prefix, "maxSize": c.policy.max_size,
                    "expiresIn": c.expiry.as_secs(), "sse": c.policy.sse,
                    "minPartSize": presign::MIN_PART_SIZE, "maxParts": presign::MAX_PARTS,
                    "recipient": app.recipient,
                    "auth": if app.access.requires_token() { "bearer" } else { "none" },
                    "share": app.shares.as_ref().map(|_| serde_json::json!({
                        "defaultExpirySecs": app.rules.default_expiry_secs,
                        "maxExpirySecs": app.rules.max_expiry_secs,
                        "maxDownloads": share::MAX_DOWNLOADS,
                    })),
                })
                .to_string(),
            )
        }
        (&Method::GET | &Method::HEAD, _) => {
            static_file(app, &path, request.method() == Method::HEAD).await
        }
        _ => error(405, "MethodNotAllowed", "method not allowed"),
    }
}

/// Runs a blocking S3 check off the async threads; `unfinished` stands in
/// for a check whose task died.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
    unfinished: impl FnOnce() -> T,
) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|_| unfinished())
}

/// An API request's JSON body, after the checks of who asks and how much
/// (cheapest first), recorded in the audit log.
async fn api_body<T: serde::de::DeserializeOwned>(
    app: &App,
    request: Request<Incoming>,
    peer: SocketAddr,
    path: &str,
) -> Result<T, Reply> {
    app.access
        .check_origin(header_text(&request, header::ORIGIN))
        .and_then(|()| {
            app.access
                .check_token(header_text(&request, header::AUTHORIZATION))
        })
        .and_then(|()| app.limiter.check(peer.ip(), Instant::now()))
        .map_err(denied)?;
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES).collect();
    let body = match tokio::time::timeout(Duration::from_secs(BODY_TIMEOUT_SECS), body).await {
        Err(_) => {
            return Err(error(
                408,
                "RequestTimeout",
                "the request body did not arrive in time",
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(error(413, "TooLarge", "an API request is at most 16 KiB"));
        }
        Ok(Err(_)) => {
            return Err(error(
                400,
                "BadRequest",
                "the request body could not be read",
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let Ok(body) = std::str::from_utf8(&body) else {
        return Err(error(400, "BadRequest", "the body must be UTF-8 JSON"));
    };
    let parsed = serde_json::from_str::<T>(body);
    if let Some(audit) = &app.audit {
        // Every body, verbatim; whether it was a valid request is marked, so
        // planted junk cannot pass for something the backend acted on. A
        // delete token is a capability: its hash stands in for it.
        let body = match serde_json::from_str::<serde_json::Value>(body) {
            Ok(mut v) if v.get("deleteToken").is_some() => {
                let token = v["deleteToken"].as_str().unwrap_or_default();
                let hash = s3seal::DeleteToken::from_text(token)
                    .map_or_else(|_| "<not a token>".to_owned(), |t| t.hash());
                v["deleteToken"] = serde_json::Value::String(format!("<redacted; hash {hash}>"));
                v.to_string()
            }
            _ => body.to_owned(),
        };
        let line =
            serde_json::json!({ "path": path, "valid": parsed.is_ok(), "body": body }).to_string();
        if let Err(e) = audit.append(&line) {
            eprintln!("s3seal serve: audit log: {e:#}");
        }
    }
    parsed.map_err(|e| error(400, "BadRequest", &format!("bad request: {e}")))
}

/// The SSE-C headers a permit signs in (to make S3 requests with them).
fn sse_c_of(permit: &s3seal::transfer::policy::Permit) -> Vec<(String, String)> {
    permit
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("x-amz-server-side-encryption-customer-"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn gone(g: Gone) -> Reply {
    error(410, g.code(), g.message())
}

/// A share's state could not be read: the detail goes to the log, not to
/// the client.
fn unavailable(object: &str, why: &str) -> Reply {
    eprintln!("share {} -> unavailable: {why}", object.escape_debug());
    error(
        503,
        "StoreUnavailable",
        "could not read the share's state; try again",
    )
}

/// The record of `object`, if the share may still be read (or written to
/// the end): a missing record is a share that does not exist, unless
/// `--allow-unrecorded` says the bucket holds objects of other writers.
async fn live_record(
    app: &App,
    shares: &Arc<ShareStore>,
    object: &str,
) -> Result<Option<Record>, Reply> {
    let Some(record) = known_record(shares, object).await? else {
        if !app.allow_unrecorded {
            return Err(gone(Gone::Deleted));
        }
        let (store, key) = (
            app.store.clone(),
            app.presigner.config().policy.object_key(object),
        );
        let unfinished = || (Presence::Unknown, "the check did not finish".into());
        return match blocking(move || store.presence(&key), unfinished).await {
            (Presence::Absent, _) => Err(gone(Gone::Deleted)),
            (Presence::Present, _) => Ok(None),
            (Presence::Unknown, why) => Err(unavailable(object, &why)),
        };
    };
    if let Err(g) = record.check(now_secs()) {
        if g == Gone::Expired {
            // Removed now rather than at the next sweep; the answer does not wait.
            let (s, name, r) = (shares.clone(), object.to_owned(), record.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(why) = s.remove(&name, &r) {
                    eprintln!("share {name} -> removal failed: {why}; left for the sweeper");
                }
            });
        }
        return Err(gone(g));
    }
    Ok(Some(record))
}

/// The record of `object` as stored (`None`: there is none), refused with
/// 503 if it cannot be read or a newer serve wrote it.
async fn known_record(shares: &Arc<ShareStore>, object: &str) -> Result<Option<Record>, Reply> {
    let (s, name) = (shares.clone(), object.to_owned());
    let record = blocking(
        move || s.record(&name),
        || Err("the read did not finish".into()),
    )
    .await
    .map_err(|why| unavailable(object, &why))?;
    match record {
        Some(r) if !r.is_known() => Err(unavailable(
            object,
            "a newer serve wrote this share's record",
        )),
        other => Ok(other),
    }
}

/// Whether a share still hands out reads of `object`, and how long a URL
/// for it may live (it dies with the share). A download (GET) of a limited
/// share is claimed only once S3 accepts the request's SSE-C key for the
/// object, so knowing the name alone (a passphrase link, a mistyped
/// passphrase) spends nothing.
async fn gate(
    app: &App,
    shares: &Arc<ShareStore>,
    object: &str,
    download: bool,
    sse_c: Vec<(String, String)>,
) -> Result<Option<Duration>, Reply> {
    let Some(record) = live_record(app, shares, object).await? else {
        return Ok(None);
    };
    if download && record.downloads.is_some() {
        if !sse_c.is_empty() {
            let (store, key) = (
                app.store.clone(),
                app.presigner.config().policy.object_key(object),
            );
            let unfinished = || Err("the check did not finish".to_owned());
            match blocking(move || store.opens(&key, &sse_c), unfinished).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(error(
                        403,
                        "WrongKey",
                        "S3 refused this key for this object; no download was counted",
                    ));
                }
                Err(why) => return Err(unavailable(object, &why)),
            }
        }
        claim(app, shares, object, &record).await?;
    }
    Ok(Some(Duration::from_secs(record.remaining_secs(now_secs()))))
}

/// Claims one download of a limited share. Attempts that meet other
/// replicas' claims are tried again after an async wait, which holds no
/// blocking thread; within this serve the object's claims take turns.
async fn claim(
    app: &App,
    shares: &Arc<ShareStore>,
    object: &str,
    record: &Record,
) -> Result<(), Reply> {
    use std::hash::BuildHasher as _;
    let stripe = app.claim_hasher.hash_one(object) as usize % app.claim_turns.len();
    let _turn = app.claim_turns[stripe].lock().await;
    let mut retry = share_store::claim_retry();
    loop {
        retry.attempt();
        let (s, name, r) = (shares.clone(), object.to_owned(), record.clone());
        let claim = blocking(
            move || s.claim_once(&name, &r),
            || Err("the claim did not finish".into()),
        )
        .await
        .map_err(|why| unavailable(object, &why))?;
        match claim {
            Claim::Granted => return Ok(()),
            Claim::Exhausted => return Err(gone(Gone::Exhausted)),
            Claim::Contended => {
                let jitter = share_store::jitter().map_err(|why| unavailable(object, &why))?;
                let Some(wait_ms) = retry.after(true, jitter) else {
                    let why = format!(
                        "{} claims in a row met other replicas' claims",
                        retry.made()
                    );
                    return Err(unavailable(object, &why));
                };
                tokio::time::sleep(Duration::from_millis(wait_ms.into())).await;
            }
        }
    }
}

/// Deletes expired shares every `every`, for as long as serve runs. Several
/// serves may sweep one bucket: every step is idempotent.
async fn sweeper(shares: Arc<ShareStore>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = shares.clone();
        match blocking(
            move || s.sweep(now_secs()),
            || Err("the sweep did not finish".into()),
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => eprintln!("sweep: removed {n} expired share(s)"),
            Err(why) => eprintln!("sweep: {why}"),
        }
    }
}

/// `POST /api/delete` `{ object, deleteToken }`: the owner removes a share
/// before it expires. Only the token whose hash the record holds does it.
async fn delete(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Delete {
        object: String,
        delete_token: String,
    }
    let mut req: Delete = match api_body(app, request, peer, "/api/delete").await {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let Some(shares) = &app.shares else {
        return error(
            403,
            "Refused",
            "an upload form keeps its uploads: nothing is deleted here",
        );
    };
    let refused = |message: &str| {
        eprintln!("delete {} -> refused: {message}", req.object.escape_debug());
        error(403, "Refused", message)
    };
    match s3seal::ObjectName::parse(&req.object) {
        Ok(name) if name.to_string() == req.object => {}
        _ => return refused("object must be an s3seal object name"),
    }
    let text = zeroize::Zeroizing::new(std::mem::take(&mut req.delete_token));
    let Ok(token) = s3seal::DeleteToken::from_text(&text) else {
        return refused("deleteToken must be an s3seal-delete-… token");
    };
    // An expired share is still the owner's to remove now.
    let record = match known_record(shares, &req.object).await {
        Ok(Some(record)) if !record.gone => record,
        Ok(_) => return gone(Gone::Deleted),
        Err(reply) => return reply,
    };
    if !record.permits_delete(&token.hash()) {
        return refused("this token does not delete this share");
    }
    let (s, name) = (shares.clone(), req.object.clone());
    match blocking(
        move || s.remove(&name, &record),
        || Err("the removal did not finish".into()),
    )
    .await
    {
        Ok(()) => {
            eprintln!("delete {} -> ok", req.object);
            json(
                200,
                serde_json::json!({ "deleted": req.object }).to_string(),
            )
        }
        Err(why) => unavailable(
            &req.object,
            &format!("the share was not fully removed: {why}"),
        ),
    }
}

async fn presign(app: &App, request: Request<Incoming>, peer: SocketAddr) -> Reply {
    let req: s3seal::transfer::presign::Request =
        match api_body(app, request, peer, "/api/presign").await {
            Ok(r) => r,
            Err(reply) => return reply,
        };
    let refused = |message: &str| {
        eprintln!(
            "presign {:?} {} -> refused: {message}",
            req.op,
            req.object.escape_debug()
        );
    };
    let (permit, resp) = match app.presigner.presign(&req) {
        Ok(signed) => signed,
        Err(e) => {
            refused(&e.0);
            return error(403, "Refused", &e.0);
        }
    };
    // A new share's record, decided before anything is written.
    let opening: Option<Record> = match (&app.shares, req.op) {
        (Some(_), Op::Put | Op::CreateMultipart) => {
            match app.rules.record(req.share.as_ref(), now_secs()) {
                Ok(record) => Some(record),
                Err(e) => {
                    refused(&e.0);
                    return error(403, "Refused", &e.0);
                }
            }
        }
        _ => None,
    };
    if permit.needs_free_key {
        let (store, key) = (app.store.clone(), resp.key.clone());
        let unfinished = || (Presence::Unknown, "the check did not finish".into());
        match blocking(move || store.presence(&key), unfinished).await {
            (Presence::Absent, _) => {}
            (Presence::Present, _) => {
                let message = "an object with this name exists; s3seal never replaces one";
                refused(message);
                return error(409, "ObjectExists", message);
            }
            (Presence::Unknown, why) => {
                refused(&why);
                return error(
                    503,
                    "StoreUnavailable",
                    &format!("could not check that the name is free: {why}"),
                );
            }
        }
    }
    let mut resp = resp;
    if let (Some(shares), Some(record)) = (&app.shares, opening) {
        let (s, name) = (shares.clone(), req.object.clone());
        let unfinished = || Err("the write did not finish".to_owned());
        match blocking(move || s.open(&name, &record), unfinished).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                let message = "this name was shared and deleted; it is not shared again";
                refused(message);
                return error(410, Gone::Deleted.code(), message);
            }
            Err(why) => {
                return unavailable(&req.object, &format!("could not record the share: {why}"));
            }
        }
    }
    if let (Some(shares), Op::Get | Op::Head) = (&app.shares, req.op) {
        let sse_c = sse_c_of(&permit);
        match gate(app, shares, &req.object, req.op == Op::Get, sse_c).await {
            Ok(Some(remaining)) => resp = app.presigner.sign_for(&permit, remaining),
            Ok(None) => {}
            Err(reply) => {
                refused("the share hands out no more reads");
                return reply;
            }
        }
    }
    if let (Some(shares), Op::CompleteMultipart) = (&app.shares, req.op)
        && let Err(reply) = live_record(app, shares, &req.object).await
    {
        // An upload that outlived its share (or a write URL used after a
        // removal) is not completed: nothing would be handed out for it.
        refused("the share ended before the upload finished");
        return reply;
    }
    if req.op == Op::CompleteMultipart {
        let upload_id = permit.upload_id.clone().unwrap_or_default();
        let sse_c = sse_c_of(&permit);
        let (store, key, id) = (app.store.clone(), resp.key.clone(), upload_id.clone());
        let unfinished = || Err("the listing did not finish".to_owned());
        let parts = match blocking(move || store.parts(&key, &id, &sse_c), unfinished).await {
            Ok(parts) => parts,
            Err(why) => {
                refused(&why);
                return error(
                    503,
                    "StoreUnavailable",
                    &format!("could not list the upload's parts: {why}"),
                );
            }
        };
        if let Err(e) = app
            .presigner
            .check_parts(&parts, req.size.unwrap_or_default())
        {
            let (store, key) = (app.store.clone(), resp.key.clone());
            blocking(move || store.abort(&key, &upload_id), || ()).await;
            let message = format!("{}; the upload was aborted", e.0);
            refused(&message);
            return error(403, "Refused", &message);
        }
    }
    // Log the operation and object, never header values.
    eprintln!("presign {:?} {} -> ok", req.op, resp.key);
    json(200, serde_json::to_string(&resp).expect("serialisable"))
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
        "txt" | "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn static_file(app: &App, path: &str, head: bool) -> Reply {
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
        return error(400, "BadPath", "bad path");
    }
    let file = base.join(relative);
    let is_file = tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file());
    let bytes = match is_file {
        true => tokio::fs::read(&file).await.ok(),
        false => None,
    };
    match bytes {
        Some(bytes) => {
            let body = if head {
                Bytes::new()
            } else {
                Bytes::from(bytes)
            };
            let mut r = reply(200, content_type(&file), body);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            // The package's Service Worker lives in /pkg/ but must control
            // the page at /, where it serves opened files for streaming saves
            // and playback.
            if path == "/pkg/sw.js" {
                r.headers_mut().insert(
                    HeaderName::from_static("service-worker-allowed"),
                    HeaderValue::from_static("/"),
                );
            }
            r
        }
        None => error(404, "NotFound", "not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_is_known_under_every_spelling_that_serves_it() {
        for path in [
            "/pdf-view.html",
            "//pdf-view.html",
            "///pdf-view.html",
            "/PDF-View.HTML",
        ] {
            assert!(is_viewer(path), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/pdf-view.js",
            "/pkg/pdf-view.html",
            "/pdf-view.html/",
        ] {
            assert!(!is_viewer(path), "{path}");
        }
    }

    #[test]
    fn the_viewer_is_sandboxed_and_names_its_files_at_each_origin() {
        let origins = [
            "http://127.0.0.1:8080".to_owned(),
            "https://share.example".to_owned(),
        ];
        let headers = viewer_headers(&origins).unwrap();
        let csp = headers
            .iter()
            .find(|(n, _)| n == "content-security-policy")
            .map(|(_, v)| v.to_str().unwrap())
            .unwrap();
        assert!(
            csp.starts_with("sandbox allow-scripts; default-src 'none'; "),
            "{csp}"
        );
        assert!(csp.contains(
            "script-src 'self' http://127.0.0.1:8080/pdf-view.js https://share.example/pdf-view.js;"
        ));
        assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    }
}
