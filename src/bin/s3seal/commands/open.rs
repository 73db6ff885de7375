//! `s3seal open`: object in, verified file out.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use s3seal::{ObjectName, Opener, RangeOpener, Secret};

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
    /// Open only plaintext bytes START-END (inclusive, as in HTTP; `START-`
    /// to the end), reading just the segments that hold them. Each segment
    /// is authenticated, but the signature covers the whole object and is
    /// not checked: the bytes are known to be sealed under this object's
    /// file key, which a share link also carries. Needs a file and `-o`.
    #[arg(long, value_name = "START-END", value_parser = byte_range, requires = "output")]
    range: Option<Range<u64>>,
    #[command(flatten)]
    key: KeyArgs,
}

/// `START-END` (inclusive) or `START-` as a half-open range.
fn byte_range(text: &str) -> Result<Range<u64>, String> {
    let bad = || format!("{text:?} is not START-END (bytes, inclusive) or START-");
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end = match end.trim() {
        "" => u64::MAX,
        end => end
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_add(1)
            .ok_or_else(bad)?,
    };
    if start >= end {
        return Err(bad());
    }
    Ok(start..end)
}

/// `open --range`: the covering segments only, from a file.
fn run_range(
    args: &OpenArgs,
    secret: Secret,
    name: Option<ObjectName>,
    range: Range<u64>,
) -> Result<()> {
    let path = match args.input.as_deref() {
        Some(p) if p != Path::new("-") => p,
        _ => {
            return Err(UsageError(
                "--range reads the object from a file, not standard input".into(),
            )
            .into());
        }
    };
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut head = vec![0u8; len.min(HEAD_READ_SIZE) as usize];
    file.read_exact(&mut head)?;
    let opener = RangeOpener::new(&secret, name.as_ref(), &head, len)?;
    let segments = opener.segments_for(range.clone());
    let at = opener.object_range(segments.clone());
    let mut ciphertext = zeroize::Zeroizing::new(vec![0u8; (at.end - at.start) as usize]);
    file.seek(SeekFrom::Start(at.start))?;
    file.read_exact(&mut ciphertext)
        .map_err(|_| s3seal::Error::Truncated)?;
    let plain = zeroize::Zeroizing::new(opener.open(range, segments.clone(), &ciphertext)?);
    let out_path = args
        .output
        .as_deref()
        .expect("clap requires --output with --range");
    let mut output = Output::from_arg(out_path, args.force, false)?;
    output.write_all(&plain)?;
    output.commit()?;
    if !args.quiet {
        eprintln!(
            "s3seal: {} bytes from segments {}..{} ({} of {} bytes read); each segment authenticated, \
             the whole-object signature not checked",
            plain.len(),
            segments.start,
            segments.end,
            at.end - at.start,
            len
        );
    }
    Ok(())
}

/// Bytes read for the object's head: the largest preamble (two u16-length
/// fields) and the payload header fit.
const HEAD_READ_SIZE: u64 = 192 * 1024;

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
    if let Some(range) = args.range.clone() {
        return run_range(&args, secret, name, range);
    }
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
