//! `s3seal`: seal and open files, inspect objects, print SSE-C headers.

mod cli;
mod file;
mod inspect;
mod keygen;
mod open;
mod presign;
mod pull;
mod push;
mod seal;
mod secret;
mod serve;
mod sse_c;
mod transport;

fn main() -> std::process::ExitCode {
    cli::run()
}
