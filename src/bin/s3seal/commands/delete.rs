//! `s3seal delete`: the owner ends a share before it expires. The token that
//! does it derives from the root key or passphrase, which a share link does
//! not carry; only its hash is kept by the backend.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use zeroize::Zeroizing;

use s3seal::ObjectName;

use crate::support::secret::{KeyArgs, UsageError};

/// A request to the backend that takes longer than this fails.
const REQUEST_TIMEOUT_SECS: u64 = 30;

#[derive(Args)]
pub struct DeleteArgs {
    /// Object names, or share links (the object is read from the fragment).
    #[arg(required = true, value_name = "OBJECT")]
    objects: Vec<String>,
    /// The presign backend the share was uploaded through (`s3seal serve`):
    /// its delete endpoint sits beside it (…/api/delete beside …/api/presign).
    #[arg(long, value_name = "URL")]
    presign: url::Url,
    /// The backend's bearer token, from the first line of this file.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
}

/// The object name in `text`: a name, or a share link `…#<name>[.<key>]`.
fn object_of(text: &str) -> Result<ObjectName> {
    let name = match text.split_once('#') {
        Some((_, fragment)) => fragment
            .split_once(".s3seal")
            .map(|(head, _)| format!("{head}.s3seal"))
            .unwrap_or_default(),
        None => text.trim().to_owned(),
    };
    ObjectName::parse(&name).map_err(|_| {
        UsageError(format!(
            "{text:?} is not an object name (<32 hex>.s3seal) or a share link"
        ))
        .into()
    })
}

pub fn run(args: DeleteArgs) -> Result<()> {
    let secret = crate::support::secret::resolve(&args.key, false)?;
    let endpoint = args
        .presign
        .join("delete")
        .context("the delete endpoint beside --presign")?;
    // The token is a capability: https, or plain http to loopback only.
    crate::support::transport::check_sse_c(&endpoint)?;
    let token = crate::support::secret::bearer_token(args.token_file.as_deref())?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(REQUEST_TIMEOUT_SECS)))
        .build()
        .into();
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    for text in &args.objects {
        let name = object_of(text)?;
        let outcome = (|| -> Result<()> {
            let delete_token = secret.delete_token(&name)?;
            let body = serde_json::json!({
                "object": name.to_string(),
                "deleteToken": delete_token.to_text().as_str(),
            })
            .to_string();
            let body = Zeroizing::new(body);
            let mut call = agent
                .post(endpoint.as_str())
                .header("content-type", "application/json");
            if let Some(t) = &token {
                call = call.header("authorization", &format!("Bearer {}", t.as_str()));
            }
            let mut response = call
                .send(body.as_bytes())
                .map_err(|e| anyhow!("the backend did not answer: {e}"))?;
            let status = response.status().as_u16();
            if status == 200 {
                return Ok(());
            }
            let text = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .unwrap_or_default();
            bail!(
                "refused {}",
                crate::support::presign::refusal(status, &text)
            )
        })();
        match outcome {
            Ok(()) => writeln!(stdout, "deleted {name}")?,
            Err(e) => {
                failed += 1;
                eprintln!("s3seal: {name}: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} share(s) were not deleted (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_link_or_a_name_names_the_object() {
        let name = format!("{}.s3seal", "ab".repeat(16));
        assert_eq!(object_of(&name).unwrap().to_string(), name);
        let link = format!(
            "https://files.example/#{name}.s3seal-file-{}",
            "A".repeat(43)
        );
        assert_eq!(object_of(&link).unwrap().to_string(), name);
        assert!(object_of("https://files.example/#nothing").is_err());
        assert!(object_of("uploads/x").is_err());
    }
}
