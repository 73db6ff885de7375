//! The streaming opener over arbitrary bytes with the vectors' root key, cut
//! into chunks the input chooses: it may refuse, never panic, and a refused
//! call leaves the output as it was (no unverified byte is released).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::{RootKey, Secret};
use s3seal::Opener;

fn secret() -> Secret {
    Secret::Root(RootKey::from_bytes(core::array::from_fn(|i| i as u8)))
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, object)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1) * 97;
    let mut opener = Opener::new(secret());
    let mut out = Vec::new();
    let mut refused = false;
    for piece in object.chunks(chunk) {
        let before = out.len();
        if opener.push(piece, &mut out).is_err() {
            assert_eq!(out.len(), before, "a refused push released bytes");
            refused = true;
            break;
        }
    }
    if !refused {
        let before = out.len();
        if opener.finish(&mut out).is_err() {
            assert_eq!(out.len(), before, "a refused finish released bytes");
        } else {
            // Whatever opens by stream opens whole, to the same bytes.
            let (_, whole) = s3seal::open(&secret(), object).expect("the stream opened it");
            assert_eq!(whole, out);
        }
    }
});
