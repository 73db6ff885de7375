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
/// Largest manifest text, in bytes: a writer makes no larger one, and a
/// reader refuses a larger one before reading it.
pub const MAX_TEXT_SIZE: u64 = 16 << 20;
/// Bytes of a line besides its path and media type: the object name (at
/// most 104), the key (55), the size (at most 20), four tabs and a newline.
const LINE_OVERHEAD_BYTES: usize = 104 + 55 + 20 + 5;
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
    entries: Vec<Entry>,
}

/// Whether `path` may name a file of a manifest: relative, `/`-separated,
/// and every component a name [`crate::safe_file_name`] leaves as it is (no
/// leading `.`, `-` or `~`, no `:` or `\\`, no control or invisible
/// character, no trailing dot or space, no Windows device name, at most 200
/// bytes). A receiver joins it under a folder of its own and writes there:
/// no component may climb out, hide, or mean something else on another
/// system.
pub fn check_path(path: &str) -> Result<()> {
    let fine = (1..=MAX_PATH_SIZE).contains(&path.len())
        && path
            .split('/')
            .all(|part| crate::safe_file_name(part).as_deref() == Some(part));
    if fine {
        Ok(())
    } else {
        Err(Error::Malformed(
            "a manifest path is relative and /-separated, each part a plain file name (FORMAT.md §10)",
        ))
    }
}

fn check_entry(entry: &Entry) -> Result<()> {
    check_path(&entry.path)?;
    check_media_type(&entry.media_type)
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
        check_entry(&entry)?;
        if self.entries.len() >= MAX_ENTRIES {
            return Err(Error::Malformed("a manifest lists at most 10000 files"));
        }
        // A sender's own list: a scan is enough (a reader sorts, below).
        if self
            .entries
            .iter()
            .any(|e| e.path == entry.path || e.object == entry.object)
        {
            return Err(Error::Malformed(
                "a manifest lists each path and object once",
            ));
        }
        // What a reader takes: a list its readers refuse is not written.
        let bound = |e: &Entry| (LINE_OVERHEAD_BYTES + e.path.len() + e.media_type.len()) as u64;
        let text: u64 = self.entries.iter().map(bound).sum::<u64>() + bound(&entry);
        if text > MAX_TEXT_SIZE {
            return Err(Error::Malformed("a manifest's text is at most 16 MiB"));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The files, in the order the sender listed them.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
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
            let key = next()?;
            // Exactly the key's text: a reader that trimmed would accept
            // what does not write back the same.
            if key.trim() != key {
                return Err(Error::Malformed(
                    "a manifest key has no white space around it",
                ));
            }
            let file_key = FileKey::from_text(key)?;
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
            let entry = Entry {
                path,
                object: name,
                file_key,
                size,
                media_type,
            };
            check_entry(&entry)?;
            if manifest.entries.len() >= MAX_ENTRIES {
                return Err(Error::Malformed("a manifest lists at most 10000 files"));
            }
            manifest.entries.push(entry);
        }
        if manifest.entries.is_empty() {
            return Err(Error::Malformed("a manifest lists at least one file"));
        }
        // Each path and object once, in O(n log n): a hostile list of 10,000
        // long paths costs a sort, not 10^8 comparisons.
        // One sort over both kinds of key: names get a `/` at the end,
        // which no path has, so a path and a name never compare equal.
        let names: Vec<String> = manifest
            .entries
            .iter()
            .map(|e| format!("{}/", e.object))
            .collect();
        let mut keys: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
        keys.extend(names.iter().map(String::as_str));
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::Malformed(
                "a manifest lists each path and object once",
            ));
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
            ".ssh/authorized_keys",
            "docs/.bashrc",
            "C:/x",
            "a:b",
            "CON",
            "d/nul.txt",
            "a./b",
            "a /b",
            "-rf",
            "~/x",
            "a\u{202E}b",
            " a",
            "a\u{200B}",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
            let mut m = Manifest::default();
            assert!(m.push(entry(1, bad)).is_err(), "{bad:?}");
        }
        let long = vec!["a".repeat(200); 21].join("/");
        assert!(check_path(&long[..MAX_PATH_SIZE]).is_ok());
        assert!(
            check_path(&long[..MAX_PATH_SIZE + 2]).is_err(),
            "over 4096 bytes"
        );
        assert!(
            check_path(&"a".repeat(201)).is_err(),
            "a part over 200 bytes"
        );
        for good in ["a", "ü/ñ.txt", "a b/c..d", "x.tar.gz", "folder/sub/file_1"] {
            assert!(check_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_writer_keeps_to_what_readers_take_and_shows_no_key() {
        let mut m = Manifest::default();
        let mut long = entry(0, "x");
        long.media_type = "t".repeat(255);
        m.push(long.clone()).unwrap();
        long.media_type.push('t');
        long.path = "y".into();
        assert!(m.push(long).is_err(), "a media type over 255 bytes");
        let mut control = entry(1, "z");
        control.media_type = "text/plain\u{7}".into();
        assert!(
            m.push(control).is_err(),
            "a control character in a media type"
        );
        let mut zero = entry(2, "empty");
        zero.size = 0;
        m.push(zero).unwrap();
        let parsed = Manifest::parse(m.to_text().as_bytes()).unwrap();
        assert_eq!(parsed.entries().len(), 2);
        assert_eq!(parsed.entries()[1].size, 0);
        let shown = format!("{:?}", parsed.entries()[0]);
        assert!(
            shown.contains("\"x\"") && !shown.contains("s3seal-file-"),
            "{shown}"
        );
        // 16 MiB of text at most: long paths run out before 10,000 files.
        let mut big = Manifest::default();
        let tail = vec!["p".repeat(199); 19].join("/");
        let listed = (0..MAX_ENTRIES)
            .take_while(|&i| {
                let mut e = entry(0, &format!("{i:05}/{tail}"));
                e.object.id.0[..8].copy_from_slice(&(i as u64).to_le_bytes());
                big.push(e).is_ok()
            })
            .count();
        assert!(
            listed < MAX_ENTRIES,
            "the cap binds before the count: {listed}"
        );
        assert!(big.to_text().len() as u64 <= MAX_TEXT_SIZE);
        // The writer's bound per line is a little above the real line.
        assert!(
            big.to_text().len() as u64 > MAX_TEXT_SIZE * 97 / 100,
            "and binds near the cap"
        );
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
            (
                good.replacen("\ts3seal-file-", "\t s3seal-file-", 1),
                "a space before a key",
            ),
        ];
        for (text, why) in cases {
            assert!(Manifest::parse(text.as_bytes()).is_err(), "{why}");
        }
        assert!(Manifest::parse(&[0xff]).is_err(), "not UTF-8");
    }
}
