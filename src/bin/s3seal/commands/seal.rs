//! `s3seal seal`: file in, object out.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use s3seal::Recipient;
use s3seal::Sealer;
use s3seal::format::Metadata;

use crate::support::file::{Input, Output, READ_SIZE, progress};
use crate::support::secret::KeyArgs;

#[derive(Args)]
pub struct SealArgs {
    /// The file to seal; `-` or nothing for standard input.
    input: Option<PathBuf>,
    /// Where to write the object; `-` for standard output [default: ./<object name>].
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// Filename to seal into the metadata [default: the input's name].
    #[arg(long)]
    name: Option<String>,
    /// Media type to seal into the metadata [default: guessed from the name].
    #[arg(long = "type", value_name = "MEDIA_TYPE")]
    media_type: Option<String>,
    /// Also print the object's file key (opens this object only: a share key).
    #[arg(long)]
    print_file_key: bool,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Seal to this public key (s3seal1…) instead of a key or passphrase:
    /// only its identity opens the object.
    #[arg(long, value_name = "PUBLIC_KEY", conflicts_with_all = ["key_file", "key_env", "passphrase", "passphrase_file", "passphrase_env", "insecure_key", "identity", "print_file_key"])]
    recipient: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

pub fn run(args: SealArgs) -> Result<()> {
    let mut input = Input::open(args.input.as_deref())?;
    let name = args.name.or(input.name.clone()).unwrap_or_default();
    let media_type = args
        .media_type
        .unwrap_or_else(|| crate::support::file::guess_media_type(&name).to_owned());
    let metadata = Metadata {
        name,
        media_type,
        size: input.size,
    };
    let sealer = match &args.recipient {
        Some(text) => Sealer::for_recipient(
            &Recipient::from_text(text).context("--recipient")?,
            &metadata,
        )?,
        None => {
            let secret = crate::support::secret::resolve(&args.key, true)?;
            // Before any output exists: a refusal leaves nothing behind.
            crate::support::secret::require_strong_for_sealing(&secret)?;
            Sealer::new(&secret, &metadata)?
        }
    };
    let object_name = sealer.object_name().to_string();
    let file_key = sealer.file_key().to_text();
    let output_path = args.output.unwrap_or_else(|| PathBuf::from(&object_name));
    let to_stdout = output_path == std::path::Path::new("-");
    let mut output = Output::from_arg(&output_path, args.force, false)?;

    let bar = progress(input.size, args.quiet);
    let mut stream = sealer.into_stream();
    let mut buf = zeroize::Zeroizing::new(vec![0u8; READ_SIZE]);
    let mut out = Vec::with_capacity(READ_SIZE + 4 * s3seal::stream::TAG_SIZE + 4096);
    let mut total = 0u64;
    loop {
        let n = input.fill(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        stream.push(&buf[..n], &mut out)?;
        output.write_all(&out)?;
        out.clear();
        bar.set_position(total);
    }
    if input.size.is_some_and(|size| size != total) {
        bail!("the input changed size while it was being sealed; nothing was written");
    }
    stream.finish(&mut out)?;
    output.write_all(&out)?;
    output.commit().context("finishing the output")?;
    bar.finish_and_clear();

    // The object name matters: it carries the object id S3 readers need first.
    if to_stdout {
        eprintln!("{object_name}");
        if args.print_file_key {
            eprintln!("{}", file_key.as_str());
        }
    } else {
        println!("{object_name}");
        if args.print_file_key {
            println!("{}", file_key.as_str());
        }
    }
    Ok(())
}
