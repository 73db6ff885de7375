//! The audit log: every API request body `serve` receives, verbatim, as JSON
//! lines. It holds SSE-C keys, so it is private to its owner (0600) and
//! bounded: past its size it moves to `PATH.1`, replacing the one before.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    file: Mutex<(File, u64)>,
}

fn open_private(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .with_context(|| format!("opening the audit log {}", path.display()))?;
    // A file that already existed keeps its mode through open(): narrow it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(file)
}

impl AuditLog {
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self> {
        let file = open_private(path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            max_bytes: max_bytes.max(1),
            file: Mutex::new((file, len)),
        })
    }

    /// Appends one line; rotates first when the line would pass the bound.
    /// Failures are reported to the caller, who serves on regardless.
    pub fn append(&self, line: &str) -> Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let (file, len) = &mut *guard;
        let bytes = line.len() as u64 + 1;
        if *len > 0 && *len + bytes > self.max_bytes {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old).context("rotating the audit log")?;
            *file = open_private(&self.path)?;
            *len = 0;
        }
        writeln!(file, "{line}").context("writing the audit log")?;
        *len += bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn l6_audit_log_is_private_and_bounded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // A log left world-readable by an earlier version is narrowed too.
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let log = AuditLog::open(&path, 1000).unwrap();
        let line = "x".repeat(99);
        for _ in 0..35 {
            log.append(&line).unwrap();
        }
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let rotated = dir.path().join("audit.jsonl.1");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&rotated), 0o600);
        assert!(std::fs::metadata(&path).unwrap().len() <= 1000);
        assert!(std::fs::metadata(&rotated).unwrap().len() <= 1000);
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 2, "one current file and one older generation");
    }
}
