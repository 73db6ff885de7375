//! `s3seal inspect`: the preamble's facts, no key needed.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use s3seal::format::{KeySource, MAX_PREAMBLE_SIZE, Preamble};
use s3seal::stream::{HEADER_SIZE, SEGMENT_SIZE, layout};

#[derive(Args)]
pub struct InspectArgs {
    /// The object file.
    input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("opening {}", args.input.display()))?;
    let object_len = file.metadata()?.len();
    let mut head = Vec::new();
    file.take((MAX_PREAMBLE_SIZE + HEADER_SIZE) as u64)
        .read_to_end(&mut head)?;
    let (preamble, preamble_len) = Preamble::parse(&head)?.ok_or(s3seal::Error::Truncated)?;
    let source = match preamble.source {
        KeySource::Root => "root key".to_owned(),
        KeySource::Passphrase {
            memory_kib,
            iterations,
            lanes,
        } => {
            format!("passphrase (Argon2id m={memory_kib} KiB, t={iterations}, p={lanes})")
        }
        KeySource::Recipient { .. } => "recipient (HPKE X25519; open with an identity)".to_owned(),
    };
    let payload_len =
        object_len.saturating_sub((preamble_len + s3seal::signature::SIGNATURE_SIZE) as u64);
    // Whether the id names the key that signs: anyone can check it, no key needed.
    let certified = preamble
        .verifying_key
        .check_certifies(&preamble.object_id)
        .is_ok();
    let signer = format!(
        "{} ({})",
        preamble
            .verifying_key
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        if certified {
            "the key the id names; the signature itself is checked by open"
        } else {
            "NOT the key the id names: forged or damaged"
        }
    );
    let plaintext = layout::plaintext_len(payload_len).ok();
    let segments = plaintext.map(layout::segment_count);
    let opt = |v: Option<u64>| v.map_or("invalid".to_owned(), |v| v.to_string());
    if args.json {
        println!(
            "{{\"version\":{},\"object_id\":\"{}\",\"object_name\":\"{}\",\"key_source\":\"{}\",\"signer_certified\":{},\"preamble_bytes\":{},\"object_bytes\":{},\"plaintext_bytes\":{},\"segments\":{},\"segment_bytes\":{}}}",
            s3seal::format::VERSION,
            preamble.object_id.to_hex(),
            preamble.object_name(),
            source,
            certified,
            preamble_len,
            object_len,
            plaintext.map_or("null".into(), |v| v.to_string()),
            segments.map_or("null".into(), |v| v.to_string()),
            SEGMENT_SIZE
        );
    } else {
        println!("format:      s3seal v{}", s3seal::format::VERSION);
        println!("object id:   {}", preamble.object_id.to_hex());
        println!("object name: {}", preamble.object_name());
        println!("key source:  {source}");
        println!("signed by:   {signer}");
        println!("preamble:    {preamble_len} bytes (filename, type and size sealed inside)");
        println!("object:      {object_len} bytes");
        println!("plaintext:   {} bytes", opt(plaintext));
        println!(
            "segments:    {} of {} KiB",
            opt(segments),
            SEGMENT_SIZE / 1024
        );
    }
    Ok(())
}
