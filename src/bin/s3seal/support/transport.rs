//! The in-transit rule for SSE-C, applied to URLs parsed by the `url` crate.

use anyhow::{Result, anyhow};

/// Refuses to send SSE-C key material to `url` unless it is HTTPS or plain
/// HTTP to loopback. The host is the one the `url` crate (a WHATWG parser)
/// resolves, so `http://evil\@127.0.0.1/` counts as `evil`.
pub fn check_sse_c(url: &url::Url) -> Result<()> {
    s3seal::sse::transport_allows_sse_c(url.scheme(), url.host_str().unwrap_or(""))
        .map_err(|e| anyhow!("{e} (endpoint {})", url.as_str()))
}

/// A uniform number in [0, 1) for backoff jitter.
pub fn jitter() -> f64 {
    f64::from(getrandom::u32().unwrap_or(0)) / (f64::from(u32::MAX) + 1.0)
}

/// The first of `names` set (and not empty) in the environment: the AWS_*
/// variables and their fallbacks, as the AWS tools read them.
pub fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l4_backslash_userinfo_is_not_loopback() {
        // WHATWG treats `\` as `/` in http URLs: the request goes to `evil`.
        for bad in [
            "http://evil\\@127.0.0.1:3900/",
            "http://127.0.0.1@evil:80/",
            "http://127.0.0.1.evil.com/",
            "http://0x7f000001.evil/",
        ] {
            let url = url::Url::parse(bad).unwrap();
            assert!(check_sse_c(&url).is_err(), "{bad} -> {:?}", url.host_str());
        }
        for ok in [
            "http://127.0.0.1:3900",
            "http://0x7f.1/",
            "http://[::1]:9/",
            "https://s3.example",
        ] {
            assert!(check_sse_c(&url::Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
    }
}
