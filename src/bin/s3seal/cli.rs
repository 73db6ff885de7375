//! Argument parsing, dispatch, and the error -> exit code contract.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{delete, inspect, keygen, open, pull, push, seal, sse_c};
use crate::serve;
use crate::support::secret::UsageError;

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
    /// End a share before it expires (the owner's key or passphrase only).
    Delete(delete::DeleteArgs),
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
        Command::Delete(args) => delete::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("s3seal: error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

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
