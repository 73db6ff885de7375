//! Turning the key options into a [`Secret`], without ever echoing it.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use s3seal::Identity;
use s3seal::Secret;
use zeroize::Zeroizing;

use std::path::{Path, PathBuf};

use clap::Args;

/// Where the key comes from. Never a plain argument unless asked for by name.
#[derive(Args, Debug, Default)]
pub struct KeyArgs {
    /// Read the key (s3seal-root-…, s3seal-file-… or an identity) from this file.
    #[arg(long, value_name = "PATH", group = "key_source")]
    pub key_file: Option<PathBuf>,
    /// Read the key from this environment variable [default when set: S3SEAL_KEY].
    #[arg(long, value_name = "VAR", group = "key_source")]
    pub key_env: Option<String>,
    /// Ask for a passphrase on the terminal.
    #[arg(long, group = "key_source")]
    pub passphrase: bool,
    /// Read the passphrase from the first line of this file.
    #[arg(long, value_name = "PATH", group = "key_source")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase from this environment variable.
    #[arg(long, value_name = "VAR", group = "key_source")]
    pub passphrase_env: Option<String>,
    /// Read an identity (private key, S3SEAL-SECRET-KEY-1…) from this file:
    /// opens objects sealed to its public key.
    #[arg(short = 'i', long, value_name = "PATH", group = "key_source")]
    pub identity: Option<PathBuf>,
    /// The key itself on the command line (visible to other users in `ps`).
    #[arg(long, value_name = "KEY", group = "key_source")]
    pub insecure_key: Option<String>,
}

/// Usage problems found after parsing (e.g. no key source at all).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Default environment variable for a key.
pub const KEY_ENV: &str = "S3SEAL_KEY";
/// Default environment variable for a passphrase.
pub const PASSPHRASE_ENV: &str = "S3SEAL_PASSPHRASE";

fn env_var(name: &str) -> Result<Zeroizing<String>> {
    std::env::var(name)
        .map(Zeroizing::new)
        .map_err(|_| UsageError(format!("environment variable {name} is not set")).into())
}

/// The first line of a key file that is not blank or a `#` comment (identity
/// files start with comments).
fn key_line(path: &std::path::Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    Ok(Zeroizing::new(line.to_owned()))
}

/// Reads an identity file.
pub fn identity_file(path: &std::path::Path) -> Result<Identity> {
    Identity::from_text(&key_line(path)?)
        .with_context(|| format!("identity file {}", path.display()))
}

fn prompt(confirm: bool) -> Result<Secret> {
    let first = Zeroizing::new(
        rpassword::prompt_password("s3seal passphrase: ").context("reading the passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ").context("reading the passphrase")?,
        );
        if *first != *again {
            return Err(UsageError("the passphrases do not match".into()).into());
        }
    }
    Ok(Secret::passphrase(&first)?)
}

/// Refuses to seal with a passphrase below the strength floor: whoever holds
/// the object, or sees its SSE-C key (the presign backend, S3), can test
/// guesses offline, one Argon2id each. Keys and identities pass; opening
/// never calls this. The message names the reason, never the passphrase.
pub fn require_strong_for_sealing(secret: &Secret) -> Result<()> {
    let Secret::Passphrase(text) = secret else {
        return Ok(());
    };
    let strength = s3seal::passphrase::strength(text);
    match strength.weakness {
        None => Ok(()),
        Some(weakness) => Err(anyhow::Error::from(s3seal::Error::InvalidKey(
            "weak passphrase refused for sealing",
        ))
        .context(format!(
            "the passphrase is too weak to seal with (about {:.0} of the {:.0} bits needed): {}; \
             `s3seal keygen --passphrase` makes a strong one",
            strength.bits.floor(),
            s3seal::passphrase::MIN_PASSPHRASE_BITS,
            weakness.reason()
        ))),
    }
}

/// Resolves the key options. `confirm` asks for a prompted passphrase twice
/// (sealing). Without options: `$S3SEAL_KEY`, then `$S3SEAL_PASSPHRASE`, then
/// a prompt if there is a terminal.
pub fn resolve(args: &KeyArgs, confirm: bool) -> Result<Secret> {
    let key_text = |text: &str| Secret::from_key_text(text).map_err(anyhow::Error::from);
    if let Some(path) = &args.identity {
        return identity_file(path).map(Secret::Identity);
    }
    if let Some(path) = &args.key_file {
        return key_text(&key_line(path)?).with_context(|| format!("key file {}", path.display()));
    }
    if let Some(var) = &args.key_env {
        return key_text(&env_var(var)?).with_context(|| format!("environment variable {var}"));
    }
    if args.passphrase {
        return prompt(confirm);
    }
    if let Some(path) = &args.passphrase_file {
        return Ok(Secret::passphrase(&first_line(path, false)?)?);
    }
    if let Some(var) = &args.passphrase_env {
        return Ok(Secret::passphrase(&env_var(var)?)?);
    }
    if let Some(key) = &args.insecure_key {
        return key_text(key);
    }
    if let Ok(text) = std::env::var(KEY_ENV) {
        return key_text(&Zeroizing::new(text))
            .with_context(|| format!("environment variable {KEY_ENV}"));
    }
    if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Secret::passphrase(&Zeroizing::new(text))?);
    }
    if std::io::stdin().is_terminal() {
        return prompt(confirm);
    }
    Err(UsageError(format!(
        "no key given: use --key-file, --key-env, --passphrase(-file|-env), or set {KEY_ENV}"
    ))
    .into())
}

/// A presign backend's bearer token: the first line of `path`, trimmed
/// (`--token-file` of push, pull and delete). Wiped when dropped.
pub fn bearer_token(path: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    path.map(|p| Ok(Zeroizing::new(first_line(p, false)?.trim().to_owned())))
        .transpose()
}

/// The first line of `path`, as it is (a passphrase may begin or end with
/// spaces): how a secret is given without the command line. `-` reads
/// standard input only where `stdin` says no data comes from it: a
/// secret must never be taken from the data. Wiped when dropped.
pub fn first_line(path: &Path, stdin: bool) -> Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    if path.as_os_str() == "-" && stdin {
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
    } else {
        *text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()))
}
