//! `s3seal open`: object in, verified file out.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use s3seal::Opener;
use s3seal::{ObjectName, Secret};

use crate::support::file::{Input, Output, READ_SIZE, progress};
use crate::support::secret::{KeyArgs, UsageError};

#[derive(Args)]
pub struct OpenArgs {
    /// The object to open; `-` or nothing for standard input.
    input: Option<PathBuf>,
    /// Where to write the file [default: ./<sealed filename>]. With `-` the
    /// plaintext goes to standard output once the whole object verified (it
    /// waits in a private temporary file until then): before the signature
    /// at the end, bytes could be a link holder's rewrite.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// The object's name in the bucket (`<id>.s3seal`, any prefix), checked
    /// against the object. A file key needs it (from the share link, never
    /// from the file: whoever made the file chose its name), since the id is
    /// what proves who sealed the object. With another key it defaults to
    /// the input file's name when that is an object name.
    #[arg(long, value_name = "NAME")]
    object_name: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

pub fn run(args: OpenArgs) -> Result<()> {
    let mut input = Input::open(args.input.as_deref())?;
    let secret = crate::support::secret::resolve(&args.key, false)?;
    // A root key or passphrase derives the file key from the id, so only
    // its owner's objects open; a file key opens whatever id it is shown,
    // and only the name the link gave tells the original from a forgery
    // sealed under another id (a file's own name is the forger's choice).
    let name = match &args.object_name {
        Some(n) => Some(ObjectName::parse(n)?),
        None if matches!(secret, Secret::File(_)) => {
            return Err(UsageError(
                "a file key opens one named object: pass --object-name <id>.s3seal \
                 (the name in the share link)"
                    .into(),
            )
            .into());
        }
        None => input
            .name
            .as_deref()
            .and_then(|n| ObjectName::parse(n).ok()),
    };
    let bar = progress(input.size, args.quiet);
    let mut opener = Opener::new(secret);
    if let Some(name) = name {
        opener.expect_name(name)?;
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
                    Some(p) => Output::from_arg(p, args.force, true)?,
                    None => {
                        let name = s3seal::safe_file_name(&meta.name)
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
