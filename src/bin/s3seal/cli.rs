//! Argument parsing, dispatch, and the error -> exit code contract.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::{inspect, keygen, open, pull, push, seal, serve, sse_c};

/// Exit codes a script can rely on (also in the README).
pub mod exit {
    /// Anything else: I/O, refused overwrite, …
    pub const FAILURE: u8 = 1;
    /// Bad usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// The key or passphrase does not open this object.
    pub const WRONG_KEY: u8 = 3;
    /// The object is corrupt, tampered with, truncated or forged.
    pub const INTEGRITY: u8 = 4;
    /// Not an s3seal object, or one this version cannot read.
    pub const NOT_READABLE: u8 = 5;
    /// A key, passphrase or other input was malformed.
    pub const BAD_INPUT: u8 = 6;
}

#[derive(Parser)]
#[command(
    name = "s3seal",
    version,
    about = "Seal files with AES-256-GCM before they reach S3; open them again."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a new random root key, an identity (--identity), or a
    /// six-word passphrase (--passphrase).
    Keygen(keygen::KeygenArgs),
    /// Seal a file (or stdin) into an s3seal object.
    Seal(seal::SealArgs),
    /// Open an s3seal object (verifies everything before keeping the output).
    Open(open::OpenArgs),
    /// Show what an object's preamble says, without a key.
    Inspect(inspect::InspectArgs),
    /// Print the SSE-C headers of an object (contains key material).
    SseC(sse_c::SseCArgs),
    /// Serve the host page and a presign backend for an S3-compatible server.
    Serve(serve::ServeArgs),
    /// Download and open every object under a bucket prefix (AWS_* environment).
    Pull(pull::PullArgs),
    /// Seal files and upload them through a presign backend (or the AWS_*
    /// environment): multipart, parallel, retried, resumable.
    Push(push::PushArgs),
}

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

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Seal(args) => seal::run(args),
        Command::Open(args) => open::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::SseC(args) => sse_c::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Push(args) => push::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("s3seal: error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Usage problems found after parsing (e.g. no key source at all).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn exit_code(err: &anyhow::Error) -> u8 {
    use s3seal::Error as E;
    if err.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    match err.downcast_ref::<s3seal::Error>() {
        Some(E::WrongKey | E::KeySource(_)) => exit::WRONG_KEY,
        Some(E::Corrupt | E::Truncated | E::NameMismatch | E::SignerMismatch | E::BadSignature) => {
            exit::INTEGRITY
        }
        Some(E::NotSealed | E::UnsupportedVersion(_) | E::Malformed(_)) => exit::NOT_READABLE,
        Some(E::InvalidKey(_) | E::InvalidBase64(_) | E::InvalidInput(_)) => exit::BAD_INPUT,
        _ => exit::FAILURE,
    }
}
