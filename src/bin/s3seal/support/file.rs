//! File plumbing shared by the verbs: outputs that appear only when complete,
//! progress bars, and reading inputs.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tempfile::NamedTempFile;

/// Bytes read from the input per step: four segments.
pub const READ_SIZE: usize = 4 * s3seal::stream::SEGMENT_SIZE;

/// An output file written under a temporary name and moved into place only
/// by [`Output::commit`]; dropped uncommitted, it is removed. Standard output
/// is passed through, or staged (see [`Output::from_arg`]).
pub enum Output {
    /// Standard output.
    Stdout(io::Stdout),
    /// Standard output, written only by `commit`: until then the bytes wait
    /// in an unnamed private temporary file (gone when dropped).
    StagedStdout(File),
    /// A file being written.
    File {
        /// Created with O_EXCL under a random name, mode 0600: nothing
        /// planted at a guessable name is followed, and the plaintext is
        /// private from its first byte.
        temp: NamedTempFile,
        path: PathBuf,
        force: bool,
    },
}

impl Output {
    /// Standard output: only for a user's explicit `-`.
    pub fn stdout() -> Self {
        Output::Stdout(io::stdout())
    }

    /// Standard output for `-` as the user typed it, a file otherwise. Never
    /// for a name that came from inside an object. `staged`: standard output
    /// gets nothing before `commit` (opened plaintext, which is not known to
    /// be the owner's until the signature at the end verified).
    pub fn from_arg(path: &Path, force: bool, staged: bool) -> Result<Self> {
        match (path == Path::new("-"), staged) {
            (true, false) => Ok(Self::stdout()),
            (true, true) => Ok(Output::StagedStdout(
                tempfile::tempfile().context("creating a private temporary file")?,
            )),
            (false, _) => Self::create(path, force),
        }
    }

    /// A new file (even one named `-`), refused if the name exists unless
    /// `force`.
    pub fn create(path: &Path, force: bool) -> Result<Self> {
        // Checked early to fail before any work; `commit` checks again.
        if !force && path.symlink_metadata().is_ok() {
            bail!(
                "{} already exists (use --force to replace it)",
                path.display()
            );
        }
        if path.file_name().is_none() {
            bail!("{} has no file name", path.display());
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Hidden and recognisable, should a crash leave it behind.
        let temp = tempfile::Builder::new()
            .prefix(".s3seal-partial-")
            .tempfile_in(dir)
            .with_context(|| format!("creating a file in {}", dir.display()))?;
        Ok(Output::File {
            temp,
            path: path.to_owned(),
            force,
        })
    }

    /// Writes bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(bytes).context("writing to standard output"),
            Output::StagedStdout(file) => file
                .write_all(bytes)
                .context("writing a private temporary file"),
            Output::File { temp, .. } => temp
                .write_all(bytes)
                .with_context(|| format!("writing {}", temp.path().display())),
        }
    }

    /// Flushes and moves the file into place; without `force`, never over a
    /// name that appeared meanwhile.
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout(mut out) => out.flush().context("writing to standard output"),
            Output::StagedStdout(mut file) => {
                use std::io::Seek;
                file.rewind()
                    .context("reading back a private temporary file")?;
                let mut out = io::stdout().lock();
                io::copy(&mut file, &mut out).context("writing to standard output")?;
                out.flush().context("writing to standard output")
            }
            Output::File { temp, path, force } => {
                temp.as_file()
                    .sync_all()
                    .with_context(|| format!("writing {}", temp.path().display()))?;
                let persisted = if force {
                    temp.persist(&path)
                } else {
                    temp.persist_noclobber(&path)
                };
                match persisted {
                    Ok(_) => Ok(()),
                    Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => bail!(
                        "{} already exists (use --force to replace it)",
                        path.display()
                    ),
                    Err(e) => Err(e.error).with_context(|| format!("moving to {}", path.display())),
                }
            }
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

/// Creates `dir` and any missing parents, private to this user: they hold
/// plaintext. Existing directories are left as they are.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A media type from a filename's extension; the common ones only.
pub fn guess_media_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
