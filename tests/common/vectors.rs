//! The checked-in vectors, embedded so tests without a file system (wasm)
//! can use them. `tests/vectors.rs` checks this list covers the directory.
#![allow(dead_code)]

/// `tests/vectors/index.json`.
pub const INDEX_JSON: &str = include_str!("../vectors/index.json");

/// Every vector file by name.
pub const FILES: &[(&str, &[u8])] = &[
    ("empty.s3seal", include_bytes!("../vectors/empty.s3seal")),
    (
        "forged_with_file_key.s3seal",
        include_bytes!("../vectors/forged_with_file_key.s3seal"),
    ),
    (
        "format_v1_one_byte.s3seal",
        include_bytes!("../vectors/format_v1_one_byte.s3seal"),
    ),
    (
        "four_segments.s3seal",
        include_bytes!("../vectors/four_segments.s3seal"),
    ),
    (
        "id_not_matching_verification_key.s3seal",
        include_bytes!("../vectors/id_not_matching_verification_key.s3seal"),
    ),
    (
        "metadata_size_mismatch.s3seal",
        include_bytes!("../vectors/metadata_size_mismatch.s3seal"),
    ),
    (
        "one_byte.s3seal",
        include_bytes!("../vectors/one_byte.s3seal"),
    ),
    (
        "one_segment_exact.s3seal",
        include_bytes!("../vectors/one_segment_exact.s3seal"),
    ),
    (
        "one_segment_plus_one.s3seal",
        include_bytes!("../vectors/one_segment_plus_one.s3seal"),
    ),
    (
        "passphrase_cost_not_v1.s3seal",
        include_bytes!("../vectors/passphrase_cost_not_v1.s3seal"),
    ),
    (
        "passphrase_small.s3seal",
        include_bytes!("../vectors/passphrase_small.s3seal"),
    ),
    (
        "payload_bad_tag_second_segment.s3seal",
        include_bytes!("../vectors/payload_bad_tag_second_segment.s3seal"),
    ),
    (
        "payload_empty_final_segment.s3seal",
        include_bytes!("../vectors/payload_empty_final_segment.s3seal"),
    ),
    (
        "payload_empty_final_segment_unsigned.s3seal",
        include_bytes!("../vectors/payload_empty_final_segment_unsigned.s3seal"),
    ),
    (
        "payload_header_bad_length.s3seal",
        include_bytes!("../vectors/payload_header_bad_length.s3seal"),
    ),
    (
        "payload_header_salt_changed.s3seal",
        include_bytes!("../vectors/payload_header_salt_changed.s3seal"),
    ),
    (
        "payload_moved_under_other_preamble.s3seal",
        include_bytes!("../vectors/payload_moved_under_other_preamble.s3seal"),
    ),
    (
        "payload_no_segments.s3seal",
        include_bytes!("../vectors/payload_no_segments.s3seal"),
    ),
    (
        "payload_segment_duplicated.s3seal",
        include_bytes!("../vectors/payload_segment_duplicated.s3seal"),
    ),
    (
        "payload_segments_swapped.s3seal",
        include_bytes!("../vectors/payload_segments_swapped.s3seal"),
    ),
    (
        "payload_trailing_garbage.s3seal",
        include_bytes!("../vectors/payload_trailing_garbage.s3seal"),
    ),
    (
        "payload_truncated_at_segment_1.s3seal",
        include_bytes!("../vectors/payload_truncated_at_segment_1.s3seal"),
    ),
    (
        "payload_truncated_at_segment_2.s3seal",
        include_bytes!("../vectors/payload_truncated_at_segment_2.s3seal"),
    ),
    (
        "payload_truncated_mid_segment.s3seal",
        include_bytes!("../vectors/payload_truncated_mid_segment.s3seal"),
    ),
    (
        "preamble_bad_commitment.s3seal",
        include_bytes!("../vectors/preamble_bad_commitment.s3seal"),
    ),
    (
        "preamble_bad_magic.s3seal",
        include_bytes!("../vectors/preamble_bad_magic.s3seal"),
    ),
    (
        "preamble_flags_set.s3seal",
        include_bytes!("../vectors/preamble_flags_set.s3seal"),
    ),
    (
        "preamble_metadata_tampered.s3seal",
        include_bytes!("../vectors/preamble_metadata_tampered.s3seal"),
    ),
    (
        "preamble_object_id_changed.s3seal",
        include_bytes!("../vectors/preamble_object_id_changed.s3seal"),
    ),
    (
        "preamble_truncated.s3seal",
        include_bytes!("../vectors/preamble_truncated.s3seal"),
    ),
    (
        "preamble_unknown_key_source.s3seal",
        include_bytes!("../vectors/preamble_unknown_key_source.s3seal"),
    ),
    (
        "preamble_unsupported_version.s3seal",
        include_bytes!("../vectors/preamble_unsupported_version.s3seal"),
    ),
    (
        "recipient_encapsulated_key_tampered.s3seal",
        include_bytes!("../vectors/recipient_encapsulated_key_tampered.s3seal"),
    ),
    (
        "recipient_forged_with_file_key.s3seal",
        include_bytes!("../vectors/recipient_forged_with_file_key.s3seal"),
    ),
    (
        "recipient_low_order_encapsulated_key.s3seal",
        include_bytes!("../vectors/recipient_low_order_encapsulated_key.s3seal"),
    ),
    (
        "recipient_one_byte.s3seal",
        include_bytes!("../vectors/recipient_one_byte.s3seal"),
    ),
    (
        "recipient_one_segment_plus_one.s3seal",
        include_bytes!("../vectors/recipient_one_segment_plus_one.s3seal"),
    ),
    (
        "signature_bit_flipped.s3seal",
        include_bytes!("../vectors/signature_bit_flipped.s3seal"),
    ),
    (
        "signature_from_another_object.s3seal",
        include_bytes!("../vectors/signature_from_another_object.s3seal"),
    ),
    (
        "signature_stripped.s3seal",
        include_bytes!("../vectors/signature_stripped.s3seal"),
    ),
    (
        "signature_stripped_short_last_segment.s3seal",
        include_bytes!("../vectors/signature_stripped_short_last_segment.s3seal"),
    ),
    (
        "signature_stripped_short_last_segment_damaged.s3seal",
        include_bytes!("../vectors/signature_stripped_short_last_segment_damaged.s3seal"),
    ),
    (
        "signature_stripped_small.s3seal",
        include_bytes!("../vectors/signature_stripped_small.s3seal"),
    ),
    (
        "three_segments.s3seal",
        include_bytes!("../vectors/three_segments.s3seal"),
    ),
];

/// The bytes of one vector file.
pub fn file(name: &str) -> &'static [u8] {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// Plaintext of every vector: byte i is (31·i + 7) mod 256.
pub fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}
