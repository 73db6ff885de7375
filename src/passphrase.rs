//! How hard a passphrase is to guess, and random passphrases.
//!
//! Whoever holds a passphrase object, or sees the SSE-C key derived from the
//! passphrase (the presign backend, S3), can test guesses offline at the cost
//! of one Argon2id each; the key commitment in the preamble answers each
//! guess. So sealing requires an estimated [`MIN_PASSPHRASE_BITS`] bits.
//!
//! The estimate is deliberately simple and errs low:
//!
//! - characters: effective length × log2 of the pool of the character kinds
//!   used (lowercase 26, uppercase 26, digits 10, ASCII symbols and space 33,
//!   anything else 100), where repeats of the previous character, the third
//!   and later characters of a run like `abcd` or `4321`, and a repetition of
//!   a shorter unit (`abcabc`, `hunter2hunter2`) count nothing;
//! - words: a phrase of two or more words (split at spaces, `-`, `_`, `.`
//!   and `,`) is worth at most [`DICEWARE_WORD_BITS`] per word made of
//!   letters — one pick from a 7776-word diceware list such as the bundled
//!   EFF list — and a word repeated counts once. So `correct horse battery
//!   staple` is ~52 bits however long its letters are, and six random words
//!   from the list (what [`generate`] makes) pass. Without the list this
//!   rule applies to every word made of letters, so that a phrase of common
//!   words never counts for more than the same number of diceware words
//!   (the wasm module has no room for the list; the page fetches it only to
//!   generate a phrase).
//!
//! - fragments: the text cut into runs of letters (any script), of digits
//!   and of symbols, the way people build passwords (`Welcome2024!`,
//!   `Tr0ub4dor&3`, `correcthorsebatterystaple`). A run of four or more
//!   letters is worth at most [`DICEWARE_WORD_BITS`] per
//!   [`LETTERS_PER_WORD`] letters (at least one word's worth), whatever its
//!   script; a run of up to four digits (a year, a PIN) at most
//!   [`SHORT_NUMBER_BITS`]; digits and symbols count from their own pool,
//!   so sprinkling them between words adds little.
//!
//! The result is the smallest of the three. No dictionary of leaked
//! passwords: what passes here can still be guessable if it is a known
//! phrase, and a long random string of letters only is underrated;
//! [`generate`] is the safe way.

use crate::error::{Error, Result};

/// Least estimated strength to seal with, in bits of guessing entropy.
pub const MIN_PASSPHRASE_BITS: f64 = 72.0;
/// What one word drawn uniformly from a 7776-word list is worth, in bits
/// (log2 7776 = 12.92, rounded down).
pub const DICEWARE_WORD_BITS: f64 = 12.9;
/// Words in a diceware list (6^5, five dice per word).
pub const DICEWARE_LIST_SIZE: usize = 7776;
/// Words of a generated passphrase: 6 × 12.9 = 77.4 bits.
pub const GENERATED_WORDS: usize = 6;
/// Letters the fragments rule takes for one word's worth.
pub const LETTERS_PER_WORD: f64 = 6.0;
/// The most a run of up to four digits is worth, in bits (a year, a PIN).
pub const SHORT_NUMBER_BITS: f64 = 10.0;

/// Why a passphrase is below the floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    /// There is nothing to it.
    Empty,
    /// A phrase of words with too few of them.
    FewWords,
    /// Repeats, runs and sequences make up most of it.
    Repetitive,
    /// Too short for the kinds of characters it uses.
    Short,
    /// Long enough, but built of a few common pieces: words run together,
    /// a year, a symbol (`Welcome2024!`, `correcthorsebatterystaple`).
    Predictable,
}

impl Weakness {
    /// A stable, machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            Weakness::Empty => "Empty",
            Weakness::FewWords => "FewWords",
            Weakness::Repetitive => "Repetitive",
            Weakness::Short => "Short",
            Weakness::Predictable => "Predictable",
        }
    }

    /// What is wrong, for a person (short: the wasm module carries it).
    pub fn reason(self) -> &'static str {
        match self {
            Weakness::Empty => "it is empty",
            Weakness::FewWords => "too few words: use 6 or more random words",
            Weakness::Repetitive => "mostly repeats, runs or sequences",
            Weakness::Short => "too short for the kinds of characters it uses",
            Weakness::Predictable => "built of a few common pieces: use 6 or more random words",
        }
    }
}

/// An estimate of a passphrase's strength.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Strength {
    /// Estimated guessing entropy in bits.
    pub bits: f64,
    /// Why it is below [`MIN_PASSPHRASE_BITS`], or `None` when it is not.
    pub weakness: Option<Weakness>,
}

impl Strength {
    /// Whether sealing may use it.
    pub fn is_strong(&self) -> bool {
        self.weakness.is_none()
    }
}

const LOWER: usize = 1;
const UPPER: usize = 2;
const DIGIT: usize = 4;
const SYMBOL: usize = 8;
const OTHER: usize = 16;

/// The estimate works on UTF-8 bytes, not `char`s: the wasm module carries
/// this code, and bytes need no decoding or Unicode tables. A continuation
/// byte belongs to the character before it and counts nothing of its own.
fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

fn kind(b: u8) -> usize {
    match b {
        b'a'..=b'z' => LOWER,
        b'A'..=b'Z' => UPPER,
        b'0'..=b'9' => DIGIT,
        0..=0x7f => SYMBOL,
        _ => OTHER,
    }
}

/// log2 of the pool of the character kinds whose bits are set in the index
/// (26, 26, 10, 33, 100), in thousandths of a bit rounded down: a table
/// instead of a `log2` in the wasm module.
const LOG2_POOL_MILLIBITS: [u16; 32] = [
    0, 4700, 4700, 5700, 3321, 5169, 5169, 5954, 5044, 5882, 5882, 6409, 5426, 6108, 6108, 6569,
    6643, 6977, 6977, 7247, 6781, 7087, 7087, 7339, 7055, 7312, 7312, 7531, 7159, 7400, 7400, 7607,
];

/// Bits of `effective` characters from the pool of the kinds in `bytes`.
// Not inlined (nor below): one copy is smaller in the wasm module.
#[inline(never)]
fn char_bits(bytes: &[u8], effective: usize) -> f64 {
    let kinds = bytes.iter().fold(0, |k, &b| k | kind(b));
    effective as f64 * f64::from(LOG2_POOL_MILLIBITS[kinds]) / 1000.0
}

/// Characters that count: a repeated shorter unit counts once, then within
/// it a character repeating the previous one or continuing a +1/-1 run of
/// three or more counts nothing.
#[inline(never)]
fn effective_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let period = (1..=n / 2)
        .find(|&p| (p..n).all(|i| bytes[i] == bytes[i - p]))
        .unwrap_or(n);
    let unit = &bytes[..period];
    let step = |i: usize| i32::from(unit[i]) - i32::from(unit[i - 1]);
    (0..unit.len())
        .filter(|&i| {
            if is_continuation(unit[i]) {
                return false;
            }
            if i == 0 {
                return true;
            }
            let s = step(i);
            !(s == 0 || (i >= 2 && (s == 1 || s == -1) && step(i - 1) == s))
        })
        .count()
}

fn is_separator(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'-' | b'_' | b'.' | b',')
}

/// The words rule: `None` unless there are two or more words. A word made
/// of letters (any non-ASCII counts as a letter: a word in any script is
/// still a word) is worth at most one diceware word; a word repeated
/// (ignoring ASCII case) counts once.
#[inline(never)]
fn word_bits(bytes: &[u8]) -> Option<f64> {
    let mut count = 0;
    let mut distinct: Vec<&[u8]> = Vec::new();
    for word in bytes.split(is_separator).filter(|w| !w.is_empty()) {
        count += 1;
        if !distinct.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            distinct.push(word);
        }
    }
    if count < 2 {
        return None;
    }
    let mut bits = 0.0;
    for word in distinct {
        bits += if word.iter().all(|&c| is_letter(c)) {
            // Capped anyway: repeats within a word are the chars rule's job,
            // and "add" or "egg" are as good a diceware pick as any.
            char_bits(word, chars(word)).min(DICEWARE_WORD_BITS)
        } else {
            char_bits(word, effective_len(word))
        };
    }
    Some(bits)
}

/// An ASCII letter or a byte of a non-ASCII character (a letter of some
/// script, as far as the estimate cares).
fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80
}

/// Characters, not bytes.
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| !is_continuation(b)).count()
}

/// The fragments rule: runs of letters, digits and symbols, each capped as a
/// person's building block (see the module documentation).
#[inline(never)]
fn fragment_bits(bytes: &[u8]) -> f64 {
    let class = |b: u8| {
        if is_letter(b) {
            0
        } else if b.is_ascii_digit() {
            1
        } else if is_separator(&b) {
            3
        } else {
            2
        }
    };
    let mut bits = 0.0;
    let mut start = 0;
    while start < bytes.len() {
        let c = class(bytes[start]);
        let end = (start..bytes.len())
            .find(|&i| class(bytes[i]) != c)
            .unwrap_or(bytes.len());
        let run = &bytes[start..end];
        let n = chars(run);
        bits += match c {
            // Up to three letters are no word: as random as the whole text.
            0 if n <= 3 => char_bits(bytes, n),
            0 => char_bits(run, n).min(DICEWARE_WORD_BITS * (n as f64 / LETTERS_PER_WORD).max(1.0)),
            1 if n <= 4 => char_bits(run, effective_len(run)).min(SHORT_NUMBER_BITS),
            3 => 0.0,
            _ => char_bits(run, effective_len(run)),
        };
        start = end;
    }
    bits
}

/// Bytes of a passphrase the estimate looks at: far more than any floor
/// needs, and it keeps the repetition search (quadratic at worst) instant.
const MAX_ANALYSED_BYTES: usize = 1024;

/// Estimates how hard `text` is to guess (see the module documentation).
pub fn strength(text: &str) -> Strength {
    let bytes = &text.as_bytes()[..text.len().min(MAX_ANALYSED_BYTES)];
    if bytes.is_empty() {
        return Strength {
            bits: 0.0,
            weakness: Some(Weakness::Empty),
        };
    }
    let effective = effective_len(bytes);
    let by_chars = char_bits(bytes, effective);
    let by_words = word_bits(bytes);
    let by_fragments = fragment_bits(bytes);
    let bits = by_words
        .map_or(by_chars, |w| w.min(by_chars))
        .min(by_fragments);
    let weakness = if bits >= MIN_PASSPHRASE_BITS {
        None
    } else if by_words.is_some_and(|w| w <= by_chars) {
        Some(Weakness::FewWords)
    } else if effective * 2 <= bytes.iter().filter(|&&b| !is_continuation(b)).count() {
        Some(Weakness::Repetitive)
    } else if by_chars < MIN_PASSPHRASE_BITS {
        Some(Weakness::Short)
    } else {
        Some(Weakness::Predictable)
    };
    Strength { bits, weakness }
}

/// The words of a diceware list: one per line; blank lines, `#` comment
/// lines and dice numbers before a tab are skipped. `InvalidInput` unless
/// there are exactly [`DICEWARE_LIST_SIZE`] distinct words, since each word
/// is worth [`DICEWARE_WORD_BITS`] only then.
pub fn parse_wordlist(text: &str) -> Result<Vec<&str>> {
    let words: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.rsplit('\t').next().unwrap_or(l).trim())
        .collect();
    let mut sorted = words.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if words.len() != DICEWARE_LIST_SIZE || sorted.len() != words.len() {
        return Err(Error::InvalidInput(
            "a diceware list has exactly 7776 distinct words",
        ));
    }
    Ok(words)
}

/// A uniform index below `n` from uniform 32-bit draws: draws at or above the
/// largest multiple of `n` are rejected, so no index is likelier than another
/// (plain `% n` would favour the first 2^32 mod n of them).
pub fn uniform_index(n: u32, mut draw: impl FnMut() -> Result<u32>) -> Result<u32> {
    assert!(n > 0, "an index below 0 does not exist");
    let limit = u32::MAX - (u32::MAX % n + 1) % n; // largest multiple of n, minus 1
    loop {
        let v = draw()?;
        if v <= limit {
            return Ok(v % n);
        }
    }
}

/// A passphrase of `count` words drawn uniformly and independently from
/// `words` with the operating system's randomness, separated by spaces.
pub fn generate(words: &[&str], count: usize) -> Result<String> {
    let n = u32::try_from(words.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or(Error::InvalidInput("the word list is empty"))?;
    let draw = || crate::key::random_bytes::<4>().map(u32::from_be_bytes);
    if count > words.len() {
        return Err(Error::InvalidInput(
            "more words asked for than the list has",
        ));
    }
    // Distinct words: a repeated word counts once in the estimate, so the
    // phrase stays above the floor (and loses a negligible 0.002 bits).
    let mut picked: Vec<&str> = Vec::with_capacity(count);
    while picked.len() < count {
        let word = words[uniform_index(n, draw)? as usize];
        if !picked.contains(&word) {
            picked.push(word);
        }
    }
    Ok(picked.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(text: &str) -> f64 {
        strength(text).bits
    }

    fn weakness(text: &str) -> Option<Weakness> {
        strength(text).weakness
    }

    #[test]
    fn the_pool_table_is_log2_of_the_pools() {
        let sizes = [26.0, 26.0, 10.0, 33.0, 100.0];
        for (i, &value) in LOG2_POOL_MILLIBITS.iter().enumerate().skip(1) {
            let pool: f64 = (0..5).filter(|b| i & (1 << b) != 0).map(|b| sizes[b]).sum();
            // Rounded down: the estimate errs low.
            let exact = pool.log2() * 1000.0;
            assert!(
                f64::from(value) <= exact && exact - f64::from(value) < 1.0,
                "entry {i}"
            );
        }
    }

    #[test]
    fn weak_passphrases_are_refused_with_a_reason() {
        assert_eq!(weakness("hunter2"), Some(Weakness::Short));
        assert!(bits("hunter2") < 40.0);
        assert_eq!(weakness("correct horse"), Some(Weakness::FewWords));
        assert_eq!(
            weakness("correct horse battery staple"),
            Some(Weakness::FewWords)
        );
        assert!((bits("correct horse battery staple") - 4.0 * DICEWARE_WORD_BITS).abs() < 1e-9);
        assert_eq!(
            weakness("aaaaaaaaaaaaaaaaaaaaaaaaa"),
            Some(Weakness::Repetitive)
        );
        assert!(bits("aaaaaaaaaaaaaaaaaaaaaaaaa") < 5.0);
        assert_eq!(
            weakness("abcdefghijklmnopqrstuvwxyz"),
            Some(Weakness::Repetitive)
        );
        assert_eq!(weakness("1234567890123456"), Some(Weakness::Repetitive));
        assert_eq!(weakness("zyxwvutsrqponmlkjihg"), Some(Weakness::Repetitive));
        assert_eq!(
            weakness("hunter2hunter2hunter2"),
            Some(Weakness::Repetitive)
        );
        assert_eq!(weakness("Passw0rd!Passw0rd!"), Some(Weakness::Repetitive));
        assert_eq!(
            weakness("hunter2 hunter2"),
            Some(Weakness::FewWords),
            "a word repeated counts once"
        );
        // Five diceware words (64.5 bits), or six with one repeated.
        assert_eq!(
            weakness("blade amends sprout crumb ostrich"),
            Some(Weakness::FewWords)
        );
        assert!(weakness("blade amends sprout crumb ostrich blade").is_some());
        assert_eq!(weakness(""), Some(Weakness::Empty));
        // What people build passwords from: words run together, words with a
        // digit each, a year and a symbol, leetspeak, one word of any script.
        for weak in [
            "Tr0ub4dor&3",
            "Qwerty123!@#",
            "P@ssw0rd2024!",
            "Welcome2024!",
            "Iloveyou2024!",
            "correcthorsebatterystaple",
            "nevergonnagiveyouup",
            "correct1 horse2 battery3 staple4",
            "здравствуйте",
        ] {
            assert!(weakness(weak).is_some(), "{weak}: {} bits", bits(weak));
        }
        assert_eq!(
            weakness("correcthorsebatterystaple"),
            Some(Weakness::Predictable)
        );
        assert_eq!(weakness("aaaa").map(Weakness::code), Some("Repetitive"));
        // Only the first MAX_ANALYSED_BYTES count: a pasted novel of one letter stays weak.
        assert_eq!(weakness(&"a".repeat(100_000)), Some(Weakness::Repetitive));
    }

    #[test]
    fn strong_passphrases_pass() {
        // Six diceware words, with any separator or capitals.
        for phrase in [
            "flying zipping confess helmet reputably avid",
            "bobcat-thing-overrun-cabbie-gravy-prance",
            "Banana Value Number Deviation Aroma Browse",
            "yo-yo t-shirt drop-down felt-tip abacus zoom",
        ] {
            let s = strength(phrase);
            assert!(s.is_strong(), "{phrase}: {s:?}");
            assert!(s.bits >= 6.0 * DICEWARE_WORD_BITS - 1e-9, "{phrase}: {s:?}");
        }
        // Not a dictionary: a long run of random letters alone is
        // underrated, but random characters of mixed kinds pass.
        assert!(weakness("qzjxkvbwmplrtyhn").is_some());
        assert!(strength("q7G#vL2p!xR9mK4s").is_strong());
        assert!(
            strength("kq7vmx2p9wzr4tjh").is_strong(),
            "16 random lowercase and digits"
        );
        // Mixed words and random characters add up.
        assert!(strength("correct horse battery staple 8#Qz!v7").is_strong());
        assert!(MIN_PASSPHRASE_BITS <= GENERATED_WORDS as f64 * DICEWARE_WORD_BITS);
    }

    #[test]
    fn effective_length_ignores_runs_sequences_and_repetition() {
        let eff = |t: &str| effective_len(t.as_bytes());
        assert_eq!(eff("aaaa"), 1);
        assert_eq!(eff("abcd"), 2);
        assert_eq!(eff("4321"), 2);
        assert_eq!(eff("ab"), 2);
        assert_eq!(eff("abcabcabc"), 2);
        assert_eq!(
            eff("abcabcab"),
            2,
            "a trailing partial repeat counts nothing"
        );
        assert_eq!(
            eff("abcabd"),
            5,
            "not a repetition: only the run bc counts less"
        );
        assert_eq!(eff("x1y2z3"), 6);
        assert_eq!(eff(""), 0);
        assert_eq!(eff("éééé"), 1, "a non-ASCII character counts once");
        assert_eq!(eff("été"), 3);
    }

    #[test]
    fn the_bundled_list_parses_and_generated_phrases_pass() {
        let text = "# a header\n11111\tabacus\n11112\tabdomen\n";
        assert!(parse_wordlist(text).is_err(), "two words are not a list");
        let many: String = (0..DICEWARE_LIST_SIZE).map(|i| format!("w{i}\n")).collect();
        let words = parse_wordlist(&many).unwrap();
        assert_eq!(words.len(), DICEWARE_LIST_SIZE);
        let doubled = format!("{many}w0\n");
        assert!(parse_wordlist(&doubled).is_err(), "duplicates");
        let phrase = generate(&words, GENERATED_WORDS).unwrap();
        assert_eq!(phrase.split(' ').count(), GENERATED_WORDS);
        assert!(generate(&[], 6).is_err());
    }

    #[test]
    fn every_phrase_from_the_bundled_list_passes() {
        let text = include_str!("../www/eff_large_wordlist.txt");
        let mut words = parse_wordlist(text).unwrap();
        for _ in 0..2000 {
            let phrase = generate(&words, GENERATED_WORDS).unwrap();
            assert!(
                strength(&phrase).is_strong(),
                "{phrase}: {:?}",
                strength(&phrase)
            );
            let mut distinct: Vec<&str> = phrase.split(' ').collect();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), GENERATED_WORDS, "{phrase}");
        }
        // The weakest draws: the shortest words, and those with the fewest
        // distinct letters.
        words.sort_by_key(|w| {
            (
                w.len(),
                w.bytes().collect::<std::collections::BTreeSet<_>>().len(),
            )
        });
        let shortest = words[..GENERATED_WORDS].join(" ");
        assert!(
            strength(&shortest).is_strong(),
            "{shortest}: {:?}",
            strength(&shortest)
        );
        words.sort_by_key(|w| {
            (
                w.bytes().collect::<std::collections::BTreeSet<_>>().len(),
                w.len(),
            )
        });
        let plainest = words[..GENERATED_WORDS].join(" ");
        assert!(
            strength(&plainest).is_strong(),
            "{plainest}: {:?}",
            strength(&plainest)
        );
    }

    #[test]
    fn uniform_index_rejects_the_biased_tail() {
        // 2^32 mod 7776 = 2560: the last 2560 draws would favour indices 0..2560.
        let limit = u32::MAX - 2560;
        let mut draws = [u32::MAX, limit + 1, limit, 5].into_iter();
        let got = uniform_index(7776, || Ok(draws.next().unwrap())).unwrap();
        assert_eq!(
            got,
            limit % 7776,
            "the two draws above the limit were rejected"
        );
        assert_eq!(got, 7775);
        let mut once = [7].into_iter();
        assert_eq!(uniform_index(7776, || Ok(once.next().unwrap())).unwrap(), 7);
        // A power of two rejects nothing.
        let mut top = [u32::MAX].into_iter();
        assert_eq!(uniform_index(16, || Ok(top.next().unwrap())).unwrap(), 15);
        let mut one = [u32::MAX].into_iter();
        assert_eq!(uniform_index(1, || Ok(one.next().unwrap())).unwrap(), 0);
    }
}
