//! The random-access reader over arbitrary bytes and ranges: it may refuse,
//! never panic, and what it opens agrees with opening the whole object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::{RootKey, Secret};
use s3seal::RangeOpener;

fn secret() -> Secret {
    Secret::Root(RootKey::from_bytes(core::array::from_fn(|i| i as u8)))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (choice, object) = data.split_at(16);
    let number = |i: usize| u64::from_le_bytes(choice[i..i + 8].try_into().unwrap());
    let Ok(reader) = RangeOpener::new(&secret(), None, object, object.len() as u64) else {
        return;
    };
    let len = reader.plaintext_len();
    let start = number(0) % (len + 1);
    let end = start + number(8) % (len - start + 1);
    let segments = reader.segments_for(start..end);
    let fetch = reader.object_range(segments.clone());
    let (Ok(from), Ok(to)) = (usize::try_from(fetch.start), usize::try_from(fetch.end)) else {
        return;
    };
    if from > to || to > object.len() {
        return;
    }
    if let Ok(plain) = reader.open(start..end, segments, &object[from..to]) {
        assert_eq!(plain.len() as u64, end - start);
        if let Ok((_, whole)) = s3seal::open(&secret(), object) {
            assert_eq!(plain, whole[start as usize..end as usize]);
        }
    }
});
