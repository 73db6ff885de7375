//! Who may call `serve`, decided from the request alone: the listen policy,
//! bearer tokens, Host and Origin (against DNS rebinding and cross-site
//! requests), and a per-client rate limit on presigning. No I/O here.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest bearer token accepted from a token file, in characters.
pub const MIN_TOKEN_CHARS: usize = 32;
/// Clients remembered by the rate limiter before idle ones are forgotten.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// Why a request was turned away before it reached the presign policy.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// The Host header names no origin this server answers for (421).
    Host,
    /// A browser request from another origin (403).
    Origin,
    /// No valid bearer token where tokens are required (401).
    Unauthorized,
    /// Too many presign requests from this client (429).
    RateLimited,
    /// A request relayed by a proxy to a server started with no access
    /// policy (403): loopback is open for `make demo`, not for the world.
    Proxied,
}

impl Denied {
    pub fn status(&self) -> u16 {
        match self {
            Denied::Host => 421,
            Denied::Origin => 403,
            Denied::Unauthorized => 401,
            Denied::RateLimited => 429,
            Denied::Proxied => 403,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Denied::Host => "MisdirectedRequest",
            Denied::Origin => "CrossOrigin",
            Denied::Unauthorized => "Unauthorized",
            Denied::RateLimited => "RateLimited",
            Denied::Proxied => "NoAccessPolicy",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Denied::Host => "this server does not answer for that Host",
            Denied::Origin => "requests from another origin are refused",
            Denied::Unauthorized => "a valid bearer token is required",
            Denied::RateLimited => "too many presign requests; slow down",
            Denied::Proxied => {
                "this server has no access policy and takes no proxied requests: start it with --token-file or --public"
            }
        }
    }
}

/// An origin this server is reached at: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &url::Url) -> Result<Self> {
        let host = url.host_str().context("an origin needs a host")?;
        Ok(Self {
            scheme: url.scheme().to_owned(),
            host: host.to_ascii_lowercase(),
            port: url
                .port_or_known_default()
                .context("an origin needs a port")?,
        })
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "https" { 443 } else { 80 }
    }

    /// As the `Origin` header spells it.
    fn serialized(&self) -> String {
        if self.port == self.default_port() {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// The access rules of one `serve` process.
pub struct Access {
    /// SHA-256 of each accepted token: compared in constant time, and the
    /// comparison's cost does not depend on a token's length.
    tokens: Vec<[u8; 32]>,
    /// Whether someone chose who may presign (tokens or `--public`).
    policy: bool,
    origins: Vec<Origin>,
}

impl Access {
    /// `origins` are the public URLs of the page; a loopback listener also
    /// answers for 127.0.0.1, localhost and [::1] on its port.
    pub fn new(
        listen: SocketAddr,
        origins: &[url::Url],
        tokens: Vec<String>,
        public: bool,
    ) -> Result<Self> {
        let mut all = Vec::new();
        for url in origins {
            all.push(Origin::of(url).with_context(|| format!("--origin {url}"))?);
        }
        if listen.ip().is_loopback() {
            for host in ["127.0.0.1", "localhost", "[::1]"] {
                all.push(Origin {
                    scheme: "http".into(),
                    host: host.into(),
                    port: listen.port(),
                });
            }
        }
        Ok(Self {
            policy: public || !tokens.is_empty(),
            tokens: tokens
                .iter()
                .map(|t| Sha256::digest(t.as_bytes()).into())
                .collect(),
            origins: all,
        })
    }

    pub fn requires_token(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// The `Origin` values of this server's own pages (for CORS answers).
    pub fn own_origins(&self) -> Vec<String> {
        self.origins.iter().map(Origin::serialized).collect()
    }

    /// A Host header must name one of our origins: a DNS-rebinding page
    /// reaches us under its own host name, and is refused.
    pub fn check_host(&self, host: Option<&str>) -> Result<(), Denied> {
        let host = host.ok_or(Denied::Host)?;
        let parsed = url::Url::parse(&format!("http://{host}/")).map_err(|_| Denied::Host)?;
        if parsed.path() != "/" || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Denied::Host);
        }
        let name = parsed.host_str().ok_or(Denied::Host)?.to_ascii_lowercase();
        let port = parsed.port();
        let ok = self.origins.iter().any(|o| {
            o.host == name
                && (port == Some(o.port) || (port.is_none() && o.port == o.default_port()))
        });
        if ok { Ok(()) } else { Err(Denied::Host) }
    }

    /// Browsers send `Origin` on every cross-origin request and on same-origin
    /// POSTs; a foreign one is a cross-site request. No `Origin`: not a
    /// browser, and tokens (where required) decide.
    pub fn check_origin(&self, origin: Option<&str>) -> Result<(), Denied> {
        match origin {
            None => Ok(()),
            Some(o) if self.own_origins().iter().any(|own| own == o) => Ok(()),
            Some(_) => Err(Denied::Origin),
        }
    }

    /// With no access policy, only requests made on this machine: a proxy
    /// in front of a loopback listener says so in `Forwarded` or
    /// `X-Forwarded-For`, and would otherwise make it an open presigner.
    pub fn check_proxied(&self, forwarded: bool) -> Result<(), Denied> {
        if forwarded && !self.policy {
            Err(Denied::Proxied)
        } else {
            Ok(())
        }
    }

    /// `Authorization: Bearer <token>`, where tokens are configured.
    pub fn check_token(&self, authorization: Option<&str>) -> Result<(), Denied> {
        if self.tokens.is_empty() {
            return Ok(());
        }
        let presented = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Denied::Unauthorized)?;
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        // Every token is compared, so the time does not say which matched.
        let matched = self
            .tokens
            .iter()
            .fold(subtle::Choice::from(0), |acc, t| acc | t.ct_eq(&digest));
        if bool::from(matched) {
            Ok(())
        } else {
            Err(Denied::Unauthorized)
        }
    }
}

/// Reads bearer tokens: one per line; blank lines and `#` comments skipped.
pub fn read_tokens(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        bail!("the token file {} holds no token", path.display());
    }
    if tokens.iter().any(|t| t.chars().count() < MIN_TOKEN_CHARS) {
        bail!(
            "tokens in {} must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)",
            path.display()
        );
    }
    Ok(tokens)
}

/// Whether `serve` may listen on `addr` with this policy; the warnings to print.
///
/// Off loopback, someone must have decided who may presign (tokens, or an
/// explicit public mode), and the page's public URL must be known so Host and
/// Origin can be checked.
pub fn listen_policy(
    addr: SocketAddr,
    tokens: bool,
    public: bool,
    origins: &[url::Url],
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    if !tokens && !public && !origins.is_empty() {
        // A public URL means a proxy brings the world to this listener.
        bail!(
            "--origin names a public URL, so someone must decide who may presign: pass \
             --token-file FILE (private) or --public (an upload form anyone may use)"
        );
    }
    if addr.ip().is_loopback() {
        return Ok(warnings);
    }
    if !tokens && !public {
        bail!(
            "refusing to listen on {addr} with no access policy: pass --token-file FILE \
             (private) or --public (an upload form anyone may use)"
        );
    }
    if origins.is_empty() {
        bail!(
            "listening on {addr} needs --origin https://your.site (the page's public URL) \
             so that Host and Origin can be checked"
        );
    }
    warnings.push(format!(
        "serving plain HTTP on {addr}: put it behind an HTTPS reverse proxy \
         (bearer tokens and SSE-C keys cross this connection)"
    ));
    if origins.iter().any(|o| o.scheme() != "https") {
        warnings.push("an --origin is not https: browsers send keys to it in the clear".into());
    }
    Ok(warnings)
}

/// A token bucket per client address for presign requests.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    clients: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_sec` 0 turns the limit off.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Denied> {
        if self.per_sec == 0.0 {
            return Ok(());
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_TRACKED_CLIENTS && !clients.contains_key(&client) {
            // Forget clients whose bucket has refilled: they lose nothing.
            let (per_sec, burst) = (self.per_sec, self.burst);
            clients.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (tokens, at) = clients.entry(client).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Denied::RateLimited)
        }
    }
}

/// Open connections per remote address, so that one client cannot hold
/// every connection slot.
pub struct ConnectionCount {
    max: usize,
    open: std::sync::Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One admitted connection; dropping it gives its place back.
pub struct Held {
    ip: IpAddr,
    open: std::sync::Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ConnectionCount {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Default::default(),
        }
    }

    /// A place for a connection from `ip`, or `None` when it holds its
    /// share already. Loopback is not limited here (a local proxy speaks for
    /// everyone; the global cap still applies).
    pub fn admit(&self, ip: IpAddr) -> Option<Held> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max && !ip.is_loopback() {
            return None;
        }
        *count += 1;
        Some(Held {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn loopback() -> Access {
        Access::new("127.0.0.1:8080".parse().unwrap(), &[], vec![], false).unwrap()
    }

    #[test]
    fn l8_host_must_be_ours_against_dns_rebinding() {
        let a = loopback();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert_eq!(a.check_host(Some(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:9999",
            "127.0.0.1",
            "evil.example",
            "127.0.0.1:8080/x",
            "u@127.0.0.1:8080",
            "",
        ] {
            assert_eq!(a.check_host(Some(bad)), Err(Denied::Host), "{bad}");
        }
        assert_eq!(a.check_host(None), Err(Denied::Host));

        let public = Access::new(
            "10.0.0.5:8080".parse().unwrap(),
            &["https://files.example".parse().unwrap()],
            vec![],
            true,
        )
        .unwrap();
        assert_eq!(public.check_host(Some("files.example")), Ok(()));
        assert_eq!(public.check_host(Some("files.example:443")), Ok(()));
        assert_eq!(public.check_host(Some("127.0.0.1:8080")), Err(Denied::Host));
    }

    #[test]
    fn l8_foreign_origins_are_refused() {
        let a = loopback();
        assert_eq!(a.check_origin(None), Ok(()));
        assert_eq!(a.check_origin(Some("http://127.0.0.1:8080")), Ok(()));
        assert_eq!(a.check_origin(Some("http://localhost:8080")), Ok(()));
        for bad in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
        ] {
            assert_eq!(a.check_origin(Some(bad)), Err(Denied::Origin), "{bad}");
        }
    }

    #[test]
    fn h1_tokens_are_required_and_compared_whole() {
        let token = "t".repeat(40);
        let a = Access::new(
            "127.0.0.1:1".parse().unwrap(),
            &[],
            vec![token.clone()],
            false,
        )
        .unwrap();
        assert!(a.requires_token());
        assert_eq!(a.check_token(Some(&format!("Bearer {token}"))), Ok(()));
        for bad in [
            None,
            Some("Bearer "),
            Some("Basic dDp0"),
            Some(&*format!("Bearer {}", &token[..39])),
            Some(&*format!("Bearer {token}x")),
            Some(&*token),
        ] {
            assert_eq!(a.check_token(bad), Err(Denied::Unauthorized), "{bad:?}");
        }
        assert_eq!(loopback().check_token(None), Ok(()), "no tokens configured");
    }

    #[test]
    fn h1_token_files_hold_long_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("# ops\n\n{}\n", "a".repeat(32))).unwrap();
        assert_eq!(read_tokens(&path).unwrap(), vec!["a".repeat(32)]);
        std::fs::write(&path, "short\n").unwrap();
        assert!(read_tokens(&path).is_err());
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(read_tokens(&path).is_err());
    }

    #[test]
    fn h1_no_open_listener_off_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let site: url::Url = "https://files.example".parse().unwrap();
        assert!(listen_policy(any, false, false, std::slice::from_ref(&site)).is_err());
        assert!(
            listen_policy(any, true, false, &[]).is_err(),
            "origin needed"
        );
        let warnings = listen_policy(any, false, true, std::slice::from_ref(&site)).unwrap();
        assert!(warnings[0].contains("plain HTTP"), "{warnings:?}");
        assert!(listen_policy(any, true, false, std::slice::from_ref(&site)).is_ok());
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            listen_policy(local, false, false, &[]).unwrap(),
            Vec::<String>::new()
        );
        // Loopback behind a public proxy (--origin) is no demo.
        assert!(listen_policy(local, false, false, std::slice::from_ref(&site)).is_err());
        assert!(listen_policy(local, false, true, std::slice::from_ref(&site)).is_ok());
    }

    #[test]
    fn h1_proxied_requests_need_a_policy() {
        let open = loopback();
        assert_eq!(open.check_proxied(false), Ok(()));
        assert_eq!(open.check_proxied(true), Err(Denied::Proxied));
        let public = Access::new("127.0.0.1:8080".parse().unwrap(), &[], vec![], true).unwrap();
        assert_eq!(public.check_proxied(true), Ok(()));
    }

    #[test]
    fn m5_rate_limit_per_client_refills() {
        let limiter = RateLimiter::new(10, 3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(a, t0), Ok(()));
        }
        assert_eq!(limiter.check(a, t0), Err(Denied::RateLimited));
        assert_eq!(
            limiter.check(b, t0),
            Ok(()),
            "another client has its own budget"
        );
        assert_eq!(limiter.check(a, t0 + Duration::from_millis(100)), Ok(()));
        assert_eq!(
            limiter.check(a, t0 + Duration::from_millis(100)),
            Err(Denied::RateLimited)
        );
        let off = RateLimiter::new(0, 0);
        for _ in 0..1000 {
            assert_eq!(off.check(a, t0), Ok(()));
        }
    }

    #[test]
    fn m5_one_client_cannot_hold_every_connection() {
        let count = ConnectionCount::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = count.admit(a).unwrap();
        let _second = count.admit(a).unwrap();
        assert!(
            count.admit(a).is_none(),
            "a third from one client is refused"
        );
        assert!(count.admit(b).is_some(), "another client still gets in");
        drop(first);
        assert!(
            count.admit(a).is_some(),
            "a closed connection gives its place back"
        );
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..5).map(|_| count.admit(local)).collect();
        assert!(
            held.iter().all(Option::is_some),
            "loopback is limited by the global cap only"
        );
    }
}
