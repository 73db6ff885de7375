//! Multipart planning: which segments make up which S3 part. Parts are made
//! of whole segments so each can be sealed on its own
//! ([`crate::object::Sealer::seal_segments`]), in parallel, byte-identical on
//! retry. Part 1 also carries the object's head (preamble and payload header), the
//! last one its signature.

use core::ops::Range;

use crate::error::{Error, Result};
use crate::stream::{SEGMENT_SIZE, layout};

/// Smallest S3 part but the last, in bytes. Garage accepts smaller parts;
/// AWS does not, so plans never make them.
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// Largest S3 part, in bytes.
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// Most parts in one multipart upload.
pub const MAX_PARTS: u64 = 10_000;

/// One part of a multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// S3 part number, from 1.
    pub number: u16,
    /// Segments it holds.
    pub segments: Range<u64>,
    /// Plaintext bytes those segments hold.
    pub plaintext: Range<u64>,
    /// Its size in bytes on the wire (with the head for part 1).
    pub size: u64,
    /// Whether it holds the object's last segment.
    pub last: bool,
}

/// Splits an object into parts of about `target_size` bytes (raised to the
/// 5 MiB minimum, and further if the object would need more than 10,000).
pub fn plan(head_len: u64, plaintext_len: u64, target_size: u64) -> Result<Vec<Part>> {
    let segments = layout::segment_count(plaintext_len);
    let min_segments = MIN_PART_SIZE.div_ceil(SEGMENT_SIZE as u64);
    let per_part = target_size
        .div_ceil(SEGMENT_SIZE as u64)
        .max(min_segments)
        .max(segments.div_ceil(MAX_PARTS));
    if per_part * SEGMENT_SIZE as u64 > MAX_PART_SIZE {
        return Err(Error::InvalidInput(
            "the object is too large for 10,000 parts of at most 5 GiB",
        ));
    }
    let mut parts = Vec::new();
    let mut first = 0;
    while first < segments {
        let end = (first + per_part).min(segments);
        let last = end == segments;
        let plaintext = layout::plaintext_offset(first)..if last {
            plaintext_len
        } else {
            layout::plaintext_offset(end)
        };
        // The head already holds the payload header, so segments add only
        // their plaintext and tags.
        // The last part ends with the object's signature.
        let head = if first == 0 { head_len } else { 0 };
        let trailer = if last {
            crate::signature::SIGNATURE_SIZE as u64
        } else {
            0
        };
        let size = head
            + (plaintext.end - plaintext.start)
            + (end - first) * crate::stream::TAG_SIZE as u64
            + trailer;
        parts.push(Part {
            number: u16::try_from(parts.len() + 1).expect("at most 10,000 parts"),
            segments: first..end,
            plaintext,
            size,
            last,
        });
        first = end;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_object_and_respect_s3_limits() {
        for (len, target) in [
            (0u64, 0u64),
            (1, 8 << 20),
            (40 << 20, 8 << 20),
            (40 << 20, 1),
            (3 << 30, 5 << 20),
        ] {
            let head = 150u64;
            let parts = plan(head, len, target).unwrap();
            assert!(parts.len() as u64 <= MAX_PARTS);
            let total: u64 = parts.iter().map(|p| p.size).sum();
            // The object: head (preamble + payload header), the segments,
            // the signature.
            assert_eq!(
                total,
                head + layout::payload_len(len) - crate::stream::HEADER_SIZE as u64
                    + crate::signature::SIGNATURE_SIZE as u64,
                "len {len}"
            );
            for (i, p) in parts.iter().enumerate() {
                assert_eq!(p.number as usize, i + 1);
                assert_eq!(p.last, i + 1 == parts.len());
                if !p.last {
                    assert!(
                        p.size >= MIN_PART_SIZE,
                        "part {} of {len}: {}",
                        p.number,
                        p.size
                    );
                }
            }
            assert_eq!(parts.last().unwrap().plaintext.end, len);
        }
    }

    #[test]
    fn huge_objects_get_bigger_parts() {
        let parts = plan(150, 100 << 30, 8 << 20).unwrap();
        assert!(parts.len() as u64 <= MAX_PARTS);
        assert!(parts[0].size > 8 << 20);
    }
}
