//! The part plan: how an object goes up (one PUT, or which segments make
//! up which multipart part) and, for each part, which segments to seal with
//! which nonce. Parts are made of whole segments so each can be sealed on its
//! own ([`crate::object::Sealer::seal_segments`]), in parallel,
//! byte-identical on retry. Part 1 also carries the object's head (preamble
//! and payload header), the last one its signature.

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
/// Objects up to this much plaintext go up in one PUT by default, in bytes
/// (every host: the browser and `push`).
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 16 << 20;
/// Default target part size, in bytes.
pub const DEFAULT_PART_SIZE: u64 = 8 << 20;

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

/// One segment of a part, as the sealer needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentJob {
    /// Segment index in the object.
    pub index: u64,
    /// Its plaintext, relative to the part's first plaintext byte.
    pub plaintext: Range<u64>,
    /// Whether it is the object's last segment (its nonce says so).
    pub last: bool,
}

impl Part {
    /// Whether the part starts with the object's head.
    pub fn carries_head(&self) -> bool {
        self.number == 1
    }

    /// Whether the part ends with the object's signature.
    pub fn carries_signature(&self) -> bool {
        self.last
    }

    /// Plaintext bytes in the part.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext.end - self.plaintext.start
    }

    /// The segments to seal for this part, in order.
    pub fn segment_jobs(&self) -> impl Iterator<Item = SegmentJob> + '_ {
        let base = self.plaintext.start;
        let last_index = self.segments.end.saturating_sub(1);
        self.segments.clone().map(move |index| {
            let last = self.last && index == last_index;
            let start = layout::plaintext_offset(index) - base;
            let end = if last {
                self.plaintext.end - base
            } else {
                start + layout::plaintext_capacity(index) as u64
            };
            SegmentJob {
                index,
                plaintext: start..end,
                last,
            }
        })
    }
}

/// How an object goes up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upload {
    /// One PUT of the whole object (a single part holding every segment).
    Single(Part),
    /// A multipart upload of these parts.
    Multipart(Vec<Part>),
}

/// Bytes on the wire of a part: its `head` (the preamble and payload header,
/// part 1 only; segments then add only their plaintext and tags), and the
/// object's signature after the last.
fn wire_size(head: u64, plaintext: u64, segments: u64, last: bool) -> u64 {
    let signature = if last {
        crate::signature::SIGNATURE_SIZE as u64
    } else {
        0
    };
    head + plaintext + segments * crate::stream::TAG_SIZE as u64 + signature
}

/// Plans the upload of an object of `plaintext_len` bytes whose head is
/// `head_len` bytes: one PUT up to `threshold` bytes of plaintext, parts of
/// about `part_size` above it.
pub fn upload(head_len: u64, plaintext_len: u64, threshold: u64, part_size: u64) -> Result<Upload> {
    if plaintext_len > threshold {
        return plan(head_len, plaintext_len, part_size).map(Upload::Multipart);
    }
    let segments = layout::segment_count(plaintext_len);
    let size = wire_size(head_len, plaintext_len, segments, true);
    if size > MAX_PART_SIZE {
        return Err(Error::InvalidInput(
            "a single PUT is at most 5 GiB: lower the multipart threshold",
        ));
    }
    Ok(Upload::Single(Part {
        number: 1,
        segments: 0..segments,
        plaintext: 0..plaintext_len,
        size,
        last: true,
    }))
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
        let head = if first == 0 { head_len } else { 0 };
        let size = wire_size(head, plaintext.end - plaintext.start, end - first, last);
        parts.push(Part {
            number: u16::try_from(parts.len() + 1).expect("at most 10,000 parts"),
            segments: first..end,
            plaintext,
            size,
            last,
        });
        first = end;
    }
    // At most 10,000 parts (`per_part` says so), each within 5 GiB: part 1
    // with its preamble, the last with its signature.
    if parts.iter().any(|p| p.size > MAX_PART_SIZE) {
        return Err(Error::InvalidInput(
            "the object is too large for 10,000 parts of at most 5 GiB",
        ));
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
    fn segment_jobs_tile_each_part_and_mark_only_the_object_end() {
        for (len, target) in [
            (0u64, 0u64),
            (1, 0),
            (40 << 20, 8 << 20),
            (SEGMENT_SIZE as u64 * 40, 1),
        ] {
            let parts = plan(100, len, target).unwrap();
            let mut finals = 0;
            let mut next_index = 0;
            for p in &parts {
                let mut at = 0;
                for job in p.segment_jobs() {
                    assert_eq!(job.index, next_index);
                    next_index += 1;
                    assert_eq!(job.plaintext.start, at, "segments follow each other");
                    at = job.plaintext.end;
                    assert_eq!(
                        job.plaintext.end - job.plaintext.start,
                        if job.last {
                            len - layout::plaintext_offset(job.index)
                        } else {
                            layout::plaintext_capacity(job.index) as u64
                        }
                    );
                    finals += usize::from(job.last);
                }
                assert_eq!(at, p.plaintext_len(), "part {} of {len}", p.number);
                assert_eq!(p.carries_head(), p.number == 1);
                assert_eq!(p.carries_signature(), p.number as usize == parts.len());
            }
            assert_eq!(finals, 1, "exactly one final nonce for {len}");
            assert_eq!(next_index, layout::segment_count(len));
        }
    }

    #[test]
    fn one_put_up_to_the_threshold() {
        let head = 150;
        let Upload::Single(part) = upload(head, 16 << 20, 16 << 20, 8 << 20).unwrap() else {
            panic!("at the threshold: one PUT");
        };
        assert_eq!(
            part.size,
            head + layout::payload_len(16 << 20) - crate::stream::HEADER_SIZE as u64
                + crate::signature::SIGNATURE_SIZE as u64
        );
        assert!(part.last && part.carries_head());
        let Upload::Multipart(parts) = upload(head, (16 << 20) + 1, 16 << 20, 8 << 20).unwrap()
        else {
            panic!("above the threshold: multipart");
        };
        assert_eq!(parts.len(), 3);
        assert!(
            upload(head, 6 << 30, u64::MAX, 8 << 20).is_err(),
            "no PUT over 5 GiB"
        );
    }

    #[test]
    fn one_put_holds_at_most_5_gib_exactly() {
        let head = 150;
        // The largest plaintext whose single PUT is exactly 5 GiB.
        let size_of = |len: u64| {
            head + len
                + layout::segment_count(len) * crate::stream::TAG_SIZE as u64
                + crate::signature::SIGNATURE_SIZE as u64
        };
        let mut len = MAX_PART_SIZE - head - 64 - (MAX_PART_SIZE / SEGMENT_SIZE as u64) * 16;
        while size_of(len + 1) <= MAX_PART_SIZE {
            len += 1;
        }
        while size_of(len) > MAX_PART_SIZE {
            len -= 1;
        }
        let Upload::Single(part) = upload(head, len, u64::MAX, 8 << 20).unwrap() else {
            panic!("one PUT");
        };
        assert_eq!(part.size, MAX_PART_SIZE, "exactly 5 GiB");
        assert!(size_of(len + 1) > MAX_PART_SIZE);
        // The same object as one multipart part: exactly 5 GiB is allowed.
        let parts = plan(head, len, u64::MAX).unwrap();
        assert_eq!((parts.len(), parts[0].size), (1, MAX_PART_SIZE));
        assert!(
            upload(head, len + 1, u64::MAX, 8 << 20).is_err(),
            "a byte more is refused"
        );
    }

    #[test]
    fn the_largest_objects_fit_10000_parts_of_at_most_5_gib() {
        // A 5 GiB part holds 20,480 whole segments, less the head of part 1.
        let full = MAX_PART_SIZE / SEGMENT_SIZE as u64;
        let with = |segments: u64| layout::plaintext_offset(segments - 1) + 1;
        let fits = MAX_PARTS * (full - 1);
        assert_eq!(layout::segment_count(with(fits)), fits);
        let parts = plan(150, with(fits), 8 << 20).unwrap();
        assert!(parts.len() as u64 <= MAX_PARTS);
        assert!(
            parts.iter().all(|p| p.size <= MAX_PART_SIZE),
            "every part within 5 GiB"
        );
        // 20,480 segments a part: part 1 would be 5 GiB plus its preamble.
        assert!(plan(150, with(MAX_PARTS * full), 8 << 20).is_err());
        // Beyond that the segments alone do not fit.
        assert!(plan(150, with(MAX_PARTS * full + 1), 8 << 20).is_err());
    }

    #[test]
    fn huge_objects_get_bigger_parts() {
        let parts = plan(150, 100 << 30, 8 << 20).unwrap();
        assert!(parts.len() as u64 <= MAX_PARTS);
        assert!(parts[0].size > 8 << 20);
    }
}
