//! Local filenames from the names sealed inside objects. Whoever sealed an
//! object chose its name, so it is cleaned before it names a file or is
//! shown to a person (the CLI's `open` and `pull`, the page's Save link).

/// Longest name made, in bytes: well inside the usual 255-byte limit.
const MAX_NAME_BYTES: usize = 200;
/// Longest extension (dot included) kept when a long name is cut.
const MAX_EXTENSION_BYTES: usize = 16;

/// A safe local filename from a sealed one, or `None` if nothing usable is
/// left (the caller has a fallback).
///
/// Keeps only the last path component; drops control and invisible
/// formatting characters (bidi overrides, zero-width characters), so the name
/// reads as what it is; turns `:` into `_` (Windows drives and streams) and a
/// leading `.`, `-` or `~` into `_` (no hidden files, option-like names, home
/// directories, or clash with `pull`'s marker file); drops trailing dots and
/// spaces and prefixes Windows' reserved device names (`CON`, `NUL`,
/// `COM1`…) with `_`; cuts long names on a character boundary, keeping a
/// short extension.
pub fn safe_file_name(sealed: &str) -> Option<String> {
    let last = sealed.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c))
        .map(|c| if c == ':' { '_' } else { c })
        .collect();
    // Windows drops trailing dots and spaces: `a.exe.` opens as `a.exe`.
    let mut name = kept.trim_start().trim_end_matches(trailing).to_owned();
    // Empty, `.` and `..` name no file.
    if name.is_empty() {
        return None;
    }
    if name.starts_with(['.', '-', '~']) {
        name.replace_range(..1, "_");
    }
    if is_reserved_on_windows(&name) {
        name.insert(0, '_');
    }
    // A cut can end on a space or a dot, which the first trim took care of.
    let name = shorten(name);
    Some(name.trim_end_matches(trailing).to_owned())
}

/// What Windows drops from a name's end (and what reads as nothing there).
fn trailing(c: char) -> bool {
    c == '.' || c.is_whitespace()
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9`, with any
/// extension: Windows opens the device, not a file.
fn is_reserved_on_windows(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (upper.len() == 4
            && (upper.starts_with("COM") || upper.starts_with("LPT"))
            && matches!(upper.as_bytes()[3], b'1'..=b'9'))
}

/// Unicode format characters (category Cf) and line/paragraph separators:
/// they change how a name displays without being seen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// At most [`MAX_NAME_BYTES`], keeping the extension if it is short.
fn shorten(name: String) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name;
    }
    let extension = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= MAX_EXTENSION_BYTES => &name[i..],
        _ => "",
    };
    let mut end = MAX_NAME_BYTES - extension.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{extension}", &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        safe_file_name(s).unwrap()
    }

    #[test]
    fn ordinary_names_are_kept() {
        for name in [
            "Résumé 2026.pdf",
            "報告.pdf",
            "a.tar.gz",
            "x",
            "Ünïcødé ñame (1).txt",
        ] {
            assert_eq!(clean(name), name);
        }
    }

    #[test]
    fn only_the_last_component_is_kept() {
        assert_eq!(clean("../../etc/passwd"), "passwd");
        assert_eq!(clean("C:\\Windows\\evil.dll"), "evil.dll");
    }

    #[test]
    fn nothing_usable_is_none() {
        for name in [
            "",
            " ",
            ".",
            "..",
            "a/..",
            "dir/",
            "\u{202E}",
            "\u{200B}..",
            "\n\t",
        ] {
            assert_eq!(safe_file_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn invisible_and_control_characters_are_dropped() {
        assert_eq!(clean("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}'])
            .chain(['\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{2028}', '\u{E0041}'])
            .chain(['\0', '\n', '\u{1B}', '\u{7F}', '\u{85}'])
        {
            assert_eq!(clean(&format!("a{c}b.txt")), "ab.txt", "{c:?}");
        }
    }

    #[test]
    fn leading_dot_dash_tilde_and_colons_become_underscores() {
        assert_eq!(clean(".bashrc"), "_bashrc");
        assert_eq!(clean("-rf"), "_rf");
        assert_eq!(clean("-"), "_");
        assert_eq!(clean("~"), "_");
        assert_eq!(clean("~root"), "_root");
        assert_eq!(clean(" \u{202E}.hidden"), "_hidden");
        assert_eq!(clean("..x"), "_.x");
        assert_eq!(clean("C:"), "C_");
        assert_eq!(clean("C:evil.txt"), "C_evil.txt");
        assert_eq!(clean("notes.txt:stream"), "notes.txt_stream");
        assert_eq!(clean("a-b.~c"), "a-b.~c");
    }

    #[test]
    fn never_a_hidden_file_such_as_pulls_marker() {
        assert_eq!(clean(".s3seal-object"), "_s3seal-object");
    }

    #[test]
    fn a_cut_never_leaves_a_trailing_space_and_cleaning_is_idempotent() {
        // Found by the `text` fuzz target: a cut at 200 bytes ended in " ".
        for sealed in [
            format!("{} b", "a".repeat(199)),
            format!("{}. b", "a".repeat(198)),
            format!("{}  \0\0 x.b8d4.s3 tail", "0a".repeat(95)),
            // ... and a dot after Unicode whitespace left the whitespace.
            "\n\0K\u{2000}.\0".to_owned(),
        ] {
            let safe = clean(&sealed);
            assert!(!safe.ends_with([' ', '.']), "{safe:?}");
            assert_eq!(clean(&safe), safe, "cleaning a clean name changes nothing");
        }
    }

    #[test]
    fn windows_devices_and_trailing_dots_are_defused() {
        for (sealed, safe) in [
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("Com1.log", "_Com1.log"),
            ("LPT9", "_LPT9"),
            ("invoice.pdf.", "invoice.pdf"),
            ("a.exe . .", "a.exe"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("COM0", "COM0"),
        ] {
            assert_eq!(clean(sealed), safe, "{sealed:?}");
        }
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary_keeping_a_short_extension() {
        let name = clean(&format!("{}.pdf", "é".repeat(150)));
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.starts_with('é') && name.ends_with("é.pdf"), "{name}");
        let name = clean(&"報".repeat(100));
        assert!(name.len() <= MAX_NAME_BYTES && name.chars().all(|c| c == '報'));
        // A long "extension" is just part of the name.
        let name = clean(&format!("a.{}", "b".repeat(300)));
        assert_eq!(name.len(), MAX_NAME_BYTES);
        assert!(name.starts_with("a.bbb"));
        let exact = "x".repeat(MAX_NAME_BYTES);
        assert_eq!(clean(&exact), exact);
    }
}
