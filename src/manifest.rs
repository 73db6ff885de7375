//! Several files, or a folder, behind one share link: a manifest is an
//! s3seal object (sealed and signed like any other, with the media type
//! [`MEDIA_TYPE`]) whose plaintext lists the files, each sealed as its own
//! object. The link opens the manifest; the manifest gives each file's name
//! and file key. A link holder cannot add, drop or swap files: the manifest
//! is signed by its owner (a file key cannot sign), and each entry's name
//! certifies its own object's signer (FORMAT.md §10).
//!
//! The text form, one entry per line, fields separated by one tab:
//! ```text
//! s3seal-manifest 1
//! <object name>\t<file key text>\t<plaintext size>\t<media type>\t<path>
//! ```

use crate::error::{Error, Result};
use crate::key::FileKey;
use crate::name::ObjectName;

/// The media type a manifest is sealed with.
pub const MEDIA_TYPE: &str = "application/vnd.s3seal.manifest";
/// The first line of a manifest of this version.
const HEADER: &str = "s3seal-manifest 1";
/// Files one manifest lists at most.
pub const MAX_ENTRIES: usize = 10_000;
/// Longest path, in bytes.
pub const MAX_PATH_SIZE: usize = 4096;
/// Longest media type, in bytes.
const MAX_MEDIA_TYPE_SIZE: usize = 255;

/// One file of a manifest.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where the file goes: relative, `/`-separated, no `.` or `..`
    /// components (see [`check_path`]).
    pub path: String,
    /// The object the file is sealed in.
    pub object: ObjectName,
    /// Its file key.
    pub file_key: FileKey,
    /// Its plaintext size, in bytes.
    pub size: u64,
    /// Its media type (as sealed in its own metadata; informative).
    pub media_type: String,
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Entry")
            .field("path", &self.path)
            .field("object", &self.object.to_string())
            .field("size", &self.size)
            .field("media_type", &self.media_type)
            .finish_non_exhaustive()
    }
}

/// The files behind one share link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// In the order the sender listed them; paths and objects are unique.
    pub entries: Vec<Entry>,
}

/// Why a path is refused: it would leave the folder it is saved into, or
/// could not be written back as it was sent.
pub fn check_path(path: &str) -> Result<()> {
    let fine = (1..=MAX_PATH_SIZE).contains(&path.len())
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    if fine {
        Ok(())
    } else {
        Err(Error::Malformed(
            "a manifest path is 1 to 4096 bytes, relative and /-separated, without empty, . or .. parts, \\ or control characters",
        ))
    }
}

fn check_media_type(media_type: &str) -> Result<()> {
    if media_type.len() > MAX_MEDIA_TYPE_SIZE || media_type.chars().any(|c| c.is_control()) {
        return Err(Error::Malformed(
            "a manifest media type is at most 255 bytes, without control characters",
        ));
    }
    Ok(())
}

impl Manifest {
    /// Adds a file, refusing what a reader would refuse.
    pub fn push(&mut self, entry: Entry) -> Result<()> {
        check_path(&entry.path)?;
        check_media_type(&entry.media_type)?;
        if self.entries.len() >= MAX_ENTRIES {
            return Err(Error::Malformed("a manifest lists at most 10000 files"));
        }
        if self.entries.iter().any(|e| e.path == entry.path) {
            return Err(Error::Malformed("a manifest lists each path once"));
        }
        if self.entries.iter().any(|e| e.object == entry.object) {
            return Err(Error::Malformed("a manifest lists each object once"));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The text form (see the module docs); it holds file keys, so it is
    /// wiped when dropped.
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        let mut out = zeroize::Zeroizing::new(String::from(HEADER));
        out.push('\n');
        for e in &self.entries {
            let key = e.file_key.to_text();
            out.push_str(&e.object.to_string());
            out.push('\t');
            out.push_str(&key);
            out.push('\t');
            out.push_str(&e.size.to_string());
            out.push('\t');
            out.push_str(&e.media_type);
            out.push('\t');
            out.push_str(&e.path);
            out.push('\n');
        }
        out
    }

    /// Parses and checks a manifest's plaintext. Every rule [`Manifest::push`]
    /// applies is applied here: a reader refuses what a sender could not
    /// have written.
    pub fn parse(text: &[u8]) -> Result<Self> {
        let text =
            core::str::from_utf8(text).map_err(|_| Error::Malformed("a manifest is UTF-8 text"))?;
        let body = text
            .strip_prefix(HEADER)
            .and_then(|rest| rest.strip_prefix('\n'))
            .ok_or(Error::Malformed("not an s3seal manifest of version 1"))?;
        if !body.is_empty() && !body.ends_with('\n') {
            return Err(Error::Malformed("a manifest ends with a newline"));
        }
        let mut manifest = Manifest::default();
        // Split on \n only: a \r left in a field is refused, not stripped.
        let lines = body.strip_suffix('\n').unwrap_or(body);
        for line in lines.split('\n').filter(|_| !body.is_empty()) {
            let mut fields = line.split('\t');
            let mut next = || {
                fields.next().ok_or(Error::Malformed(
                    "a manifest line has five tab-separated fields",
                ))
            };
            let object = next()?;
            let name = ObjectName::parse(object)
                .map_err(|_| Error::Malformed("a manifest entry's object name is malformed"))?;
            if name.to_string() != object {
                return Err(Error::Malformed(
                    "a manifest entry's object name is not canonical",
                ));
            }
            let file_key = FileKey::from_text(next()?)?;
            let size = next()?;
            if size.is_empty()
                || !size.bytes().all(|b| b.is_ascii_digit())
                || (size.len() > 1 && size.starts_with('0'))
            {
                return Err(Error::Malformed("a manifest size is a decimal number"));
            }
            let size = size
                .parse()
                .map_err(|_| Error::Malformed("a manifest size is at most 2^64 - 1"))?;
            let media_type = next()?.to_owned();
            let path = next()?.to_owned();
            if fields.next().is_some() {
                return Err(Error::Malformed(
                    "a manifest line has five tab-separated fields",
                ));
            }
            manifest.push(Entry {
                path,
                object: name,
                file_key,
                size,
                media_type,
            })?;
        }
        if manifest.entries.is_empty() {
            return Err(Error::Malformed("a manifest lists at least one file"));
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::ObjectId;

    fn entry(i: u8, path: &str) -> Entry {
        Entry {
            path: path.into(),
            object: ObjectName::keyed(ObjectId([i; 16])),
            file_key: FileKey::from_bytes([i; 32]),
            size: u64::from(i) * 1000,
            media_type: "text/plain".into(),
        }
    }

    #[test]
    fn a_manifest_round_trips_through_its_text() {
        let mut m = Manifest::default();
        m.push(entry(1, "a.txt")).unwrap();
        m.push(entry(2, "folder/sub/b c.pdf")).unwrap();
        let text = m.to_text();
        assert!(text.starts_with("s3seal-manifest 1\n"));
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
        assert!(
            !format!("{m:?}").contains("s3seal-file-"),
            "Debug shows no key"
        );
    }

    #[test]
    fn paths_that_would_leave_the_folder_are_refused_by_both_sides() {
        for bad in [
            "",
            "/etc/passwd",
            "../up",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a\\b",
            "a\tb",
            "a\nb",
            "a\u{7}b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
            let mut m = Manifest::default();
            assert!(m.push(entry(1, bad)).is_err(), "{bad:?}");
        }
        assert!(check_path(&"a".repeat(MAX_PATH_SIZE)).is_ok());
        assert!(check_path(&"a".repeat(MAX_PATH_SIZE + 1)).is_err());
        for good in ["a", "ü/ñ.txt", "a b/c..d", ".hidden/x"] {
            assert!(check_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn duplicates_and_malformed_lines_are_refused() {
        let mut m = Manifest::default();
        m.push(entry(1, "a")).unwrap();
        assert!(m.clone().push(entry(2, "a")).is_err(), "a path twice");
        assert!(m.clone().push(entry(1, "b")).is_err(), "an object twice");
        let good = m.to_text().to_string();
        let line = good.lines().nth(1).unwrap().to_owned();
        let cases = [
            (String::new(), "empty"),
            (good.replace("manifest 1", "manifest 2"), "another version"),
            (good.trim_end().to_owned(), "no final newline"),
            ("s3seal-manifest 1\n".to_owned(), "no files"),
            (good.replace("\t1000\t", "\t01000\t"), "a leading zero"),
            (good.replace("\t1000\t", "\t+1000\t"), "a sign"),
            (
                good.replace("\t1000\t", "\t99999999999999999999\t"),
                "over 2^64",
            ),
            (good.replace("\ta\n", "\ta\textra\n"), "six fields"),
            (good.replace("\ttext/plain\ta\n", "\ta\n"), "four fields"),
            (good.replace("s3seal-file-", "s3seal-root-"), "a root key"),
            (
                good.replace(".s3seal\t", ".S3SEAL\t"),
                "a name not canonical",
            ),
            (format!("{good}{line}\n"), "a line twice"),
            (good.replace('\n', "\r\n"), "CRLF"),
            (good.replacen("\ta\n", "\ta\r\n", 1), "a CR in a path"),
        ];
        for (text, why) in cases {
            assert!(Manifest::parse(text.as_bytes()).is_err(), "{why}");
        }
        assert!(Manifest::parse(&[0xff]).is_err(), "not UTF-8");
    }
}
