//! `s3seal keygen`: a new random root key.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use s3seal::key::RootKey;

#[derive(Args)]
pub struct KeygenArgs {
    /// Write the key to this file (created with mode 0600; never overwritten)
    /// instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
}

pub fn run(args: KeygenArgs) -> Result<()> {
    let key = RootKey::generate()?;
    let text = key.to_text();
    match args.output {
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", text.as_str())?;
        }
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(file, "{}", text.as_str())?;
            file.sync_all()?;
            eprintln!(
                "s3seal: wrote a new root key to {} — keep it safe; it opens every object sealed with it",
                path.display()
            );
        }
    }
    Ok(())
}
