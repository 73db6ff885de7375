//! The preamble and metadata parsers over arbitrary bytes: an error, never a
//! panic, and a parsed preamble never claims more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::format::{Metadata, Preamble};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, used))) = Preamble::parse(data) {
        assert!(used <= data.len());
    }
    let _ = Metadata::parse(data);
});
