//! Everything that parses text a person or a peer hands us: object names,
//! key text, recipients and identities, sealed filenames and passphrases.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal::{ObjectName, Secret};
use s3seal::{Identity, Recipient};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = ObjectName::parse(text) {
        // A parsed name prints as a name that parses to itself.
        assert_eq!(ObjectName::parse(&name.to_string()).ok(), Some(name));
    }
    let _ = Secret::from_key_text(text);
    let _ = Recipient::from_text(text);
    let _ = Identity::from_text(text);
    if let Some(safe) = s3seal::safe_file_name(text) {
        assert!(!safe.is_empty() && safe.len() <= 200, "{safe:?}");
        assert!(
            !safe.contains(['/', '\\', ':']) && !safe.chars().any(char::is_control),
            "{safe:?}"
        );
        assert!(!safe.starts_with(['.', '-', '~']), "{safe:?}");
        assert_eq!(
            s3seal::safe_file_name(&safe).as_deref(),
            Some(&*safe),
            "idempotent"
        );
    }
    let strength = s3seal::passphrase::strength(text);
    assert!(strength.bits.is_finite() && strength.bits >= 0.0);
});
