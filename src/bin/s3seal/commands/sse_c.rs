//! `s3seal sse-c`: the SSE-C headers of one object.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use s3seal::ObjectName;
use s3seal::format::{MAX_PREAMBLE_SIZE, Preamble};

use crate::support::secret::KeyArgs;

#[derive(Args)]
pub struct SseCArgs {
    /// The object: a sealed file or an object name (`…/<id>[.<enc>].s3seal`).
    object: String,
    /// Print JSON (an object of header name -> value).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    key: KeyArgs,
}

fn object_name(object: &str) -> Result<ObjectName> {
    let path = Path::new(object);
    if path.is_file() {
        let mut head = Vec::new();
        std::fs::File::open(path)
            .with_context(|| format!("opening {object}"))?
            .take(MAX_PREAMBLE_SIZE as u64)
            .read_to_end(&mut head)?;
        let (preamble, _) = Preamble::parse(&head)?.ok_or(s3seal::Error::Truncated)?;
        return Ok(preamble.object_name());
    }
    Ok(ObjectName::parse(object)?)
}

pub fn run(args: SseCArgs) -> Result<()> {
    let name = object_name(&args.object)?;
    let secret = crate::support::secret::resolve(&args.key, false)?;
    let headers = s3seal::sse::sse_c(&secret.file_key(&name)?.sse_c_key());
    if args.json {
        let body: Vec<String> = headers
            .iter()
            .map(|(k, v)| format!("\"{k}\":\"{v}\""))
            .collect();
        println!("{{{}}}", body.join(","));
    } else {
        for (name, value) in &headers {
            println!("{name}: {value}");
        }
    }
    Ok(())
}
