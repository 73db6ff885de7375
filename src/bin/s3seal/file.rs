//! File plumbing shared by the verbs: outputs that appear only when complete,
//! progress bars, and reading inputs.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

/// Bytes read from the input per step: four segments.
pub const READ_SIZE: usize = 4 * s3seal::stream::SEGMENT_SIZE;

/// An output file written under a temporary name and renamed into place only
/// by [`Output::commit`]; dropped uncommitted, it is removed. Standard output
/// is passed through (the caller documents that it is streamed).
pub enum Output {
    /// Standard output.
    Stdout(io::Stdout),
    /// A file being written.
    File {
        file: File,
        temp: PathBuf,
        path: PathBuf,
        committed: bool,
    },
}

impl Output {
    /// `-` is standard output; otherwise a new file, refused if it exists
    /// unless `force`.
    pub fn create(path: &Path, force: bool) -> Result<Self> {
        if path == Path::new("-") {
            return Ok(Output::Stdout(io::stdout()));
        }
        if path.exists() && !force {
            bail!(
                "{} already exists (use --force to replace it)",
                path.display()
            );
        }
        let name = path
            .file_name()
            .context("the output path has no file name")?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(".s3seal-partial");
        let temp = path.with_file_name(temp_name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&temp)
            .with_context(|| format!("creating {}", temp.display()))?;
        Ok(Output::File {
            file,
            temp,
            path: path.to_owned(),
            committed: false,
        })
    }

    /// Writes bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(bytes).context("writing to standard output"),
            Output::File { file, temp, .. } => file
                .write_all(bytes)
                .with_context(|| format!("writing {}", temp.display())),
        }
    }

    /// Flushes and moves the file into place.
    pub fn commit(mut self) -> Result<()> {
        match &mut self {
            Output::Stdout(out) => out.flush().context("writing to standard output"),
            Output::File {
                file,
                temp,
                path,
                committed,
            } => {
                file.sync_all()
                    .with_context(|| format!("writing {}", temp.display()))?;
                std::fs::rename(&*temp, &*path)
                    .with_context(|| format!("renaming to {}", path.display()))?;
                *committed = true;
                Ok(())
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Output::File {
            temp,
            committed: false,
            ..
        } = self
        {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// An input: a file (with its size) or standard input.
pub struct Input {
    pub reader: Box<dyn Read>,
    pub size: Option<u64>,
    pub name: Option<String>,
}

impl Input {
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Input {
                reader: Box::new(io::stdin()),
                size: None,
                name: None,
            }),
            Some(p) if p == Path::new("-") => Ok(Input {
                reader: Box::new(io::stdin()),
                size: None,
                name: None,
            }),
            Some(p) => {
                let file = File::open(p).with_context(|| format!("opening {}", p.display()))?;
                let meta = file
                    .metadata()
                    .with_context(|| format!("reading {}", p.display()))?;
                if meta.is_dir() {
                    bail!("{} is a directory", p.display());
                }
                Ok(Input {
                    reader: Box::new(file),
                    size: meta.is_file().then_some(meta.len()),
                    name: p.file_name().map(|n| n.to_string_lossy().into_owned()),
                })
            }
        }
    }

    /// Reads until `buf` is full or the input ends; returns the bytes read.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("reading the input"),
            }
        }
        Ok(filled)
    }
}

/// A progress bar on standard error when it is a terminal, hidden otherwise.
pub fn progress(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    bar
}
