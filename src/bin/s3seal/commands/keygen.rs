//! `s3seal keygen`: a new random root key, a new identity (key pair), or a
//! random passphrase.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use s3seal::Identity;
use s3seal::RootKey;

#[derive(Args)]
pub struct KeygenArgs {
    /// Write the key to this file (created with mode 0600; never overwritten)
    /// instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Make an identity (X25519 key pair) for recipient mode instead of a root
    /// key: the private part goes to the file, the public key (s3seal1…) to
    /// standard output for the upload form.
    #[arg(long, requires = "output")]
    identity: bool,
    /// Make a passphrase instead: six words drawn uniformly from the EFF
    /// large wordlist (7776 words, 77 bits), for `--passphrase` sealing.
    #[arg(long, conflicts_with = "identity")]
    passphrase: bool,
}

/// The EFF large wordlist (CC BY 3.0 US; source in its first line), the
/// one the host page fetches to generate passphrases.
const WORDLIST: &str = include_str!("../../../../www/eff_large_wordlist.txt");

fn create_private(path: &Path) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

pub fn run(args: KeygenArgs) -> Result<()> {
    if args.identity {
        let path = args.output.expect("clap requires --output with --identity");
        return identity(&path);
    }
    let (text, what) = if args.passphrase {
        let words = s3seal::passphrase::parse_wordlist(WORDLIST)?;
        let phrase = s3seal::passphrase::generate(&words, s3seal::passphrase::GENERATED_WORDS)?;
        (
            zeroize::Zeroizing::new(phrase),
            "passphrase — keep it safe; it opens every object sealed with it",
        )
    } else {
        (
            RootKey::generate()?.to_text(),
            "root key — keep it safe; it opens every object sealed with it",
        )
    };
    match args.output {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", text.as_str())?;
        }
        Some(path) => {
            let mut file = create_private(&path)?;
            writeln!(file, "{}", text.as_str())?;
            file.sync_all()?;
            eprintln!("s3seal: wrote a new {what} to {}", path.display());
        }
    }
    Ok(())
}

fn identity(path: &Path) -> Result<()> {
    let identity = Identity::generate()?;
    let public = identity.recipient().to_text();
    let mut file = create_private(path)?;
    // The header says what the file is to whoever finds it; the public key
    // in it lets staff re-print the form's key without the private part.
    writeln!(
        file,
        "# s3seal identity (X25519 private key). Keep this file secret: it opens every\n\
         # file uploaded to its public key. Never put it on the web server.\n\
         # public key: {public}\n{}",
        identity.to_text().as_str()
    )?;
    file.sync_all()?;
    println!("{public}");
    eprintln!(
        "s3seal: wrote a new identity to {} (mode 0600); give the public key above to the upload form",
        path.display()
    );
    Ok(())
}
