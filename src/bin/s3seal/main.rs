//! `s3seal`: seal and open files, inspect objects, print SSE-C headers.

mod cli;
mod commands;
mod serve;
mod support;

fn main() -> std::process::ExitCode {
    cli::run()
}
