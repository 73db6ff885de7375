//! `s3seal open`: object in, verified file out.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use s3seal::key::{ObjectName, Secret};
use s3seal::object::Opener;

use crate::cli::{KeyArgs, UsageError};
use crate::file::{Input, Output, READ_SIZE, progress};

#[derive(Args)]
pub struct OpenArgs {
    /// The object to open; `-` or nothing for standard input.
    input: Option<PathBuf>,
    /// Where to write the file [default: ./<sealed filename>]. With `-` the
    /// plaintext streams to standard output segment by segment as each one
    /// verifies; a failure later still exits non-zero.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// The object's name in the bucket (`<id>.s3seal`, any prefix), checked
    /// against the object [default: the input file's name, if it is one].
    /// A file key needs it: the id is what proves who sealed the object.
    #[arg(long, value_name = "NAME")]
    object_name: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

pub fn run(args: OpenArgs) -> Result<()> {
    let mut input = Input::open(args.input.as_deref())?;
    let secret = crate::secret::resolve(&args.key, false)?;
    let name = match &args.object_name {
        Some(n) => Some(ObjectName::parse(n)?),
        None => input
            .name
            .as_deref()
            .and_then(|n| ObjectName::parse(n).ok()),
    };
    // A root key, passphrase or identity derives the file key from the id,
    // so another id cannot open; a file key opens whatever id it is given,
    // and only the expected name tells the original from a forgery.
    if name.is_none() && matches!(secret, Secret::File(_)) {
        return Err(UsageError(
            "a file key opens one named object: pass --object-name <id>.s3seal \
             (the name in the share link), or keep the file's <id>.s3seal name"
                .into(),
        )
        .into());
    }
    let bar = progress(input.size, args.quiet);
    let mut opener = Opener::new(secret);
    if let Some(name) = name {
        opener.expect_name(name);
    }
    let mut output: Option<Output> = None;
    let mut buf = vec![0u8; READ_SIZE];
    let mut out =
        zeroize::Zeroizing::new(Vec::with_capacity(READ_SIZE + s3seal::stream::SEGMENT_SIZE));
    let mut total = 0u64;
    let fallback = input
        .name
        .as_deref()
        .map(|n| format!("{}.opened", n.trim_end_matches(".s3seal")));
    loop {
        let n = input.fill(&mut buf)?;
        total += n as u64;
        if n == 0 {
            break;
        }
        opener.push(&buf[..n], &mut out)?;
        if output.is_none() {
            if let Some(meta) = opener.metadata() {
                output = Some(match &args.output {
                    Some(p) => Output::from_arg(p, args.force)?,
                    None => {
                        let name = s3seal::filename::safe_file_name(&meta.name)
                            .or(fallback.clone())
                            .unwrap_or_else(|| "opened.bin".into());
                        // A sealed name is always a file, even one called `-`.
                        Output::create(Path::new(&name), args.force)?
                    }
                });
            }
        }
        if let Some(o) = output.as_mut() {
            o.write_all(&out)?;
        }
        out.clear();
        bar.set_position(total);
    }
    let mut output = match output {
        Some(o) => o,
        None => return Err(s3seal::Error::Truncated.into()),
    };
    opener.finish(&mut out)?;
    output.write_all(&out)?;
    output.commit()?;
    bar.finish_and_clear();
    Ok(())
}
