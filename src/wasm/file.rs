//! Reading the file to upload, one part at a time, into memory that is
//! reused from one part to the next.
//!
//! `Blob.slice().arrayBuffer()` makes a new buffer per part, and each stays
//! in the renderer until the next garbage collection, so a BYOB reader of
//! `Blob.stream()` fills one buffer instead (bench/results.md, design
//! measurements). Each part opens its own stream of its slice: Chromium
//! checks that a File is unchanged when a stream opens, not while it runs,
//! so one stream over the whole file would read a file changed mid-upload
//! without an error; and [`FileReader::ensure_unchanged`] checks once more
//! after the last part. Where a Blob's stream is not a byte stream, each
//! read falls back to `slice().arrayBuffer()`.

use std::cell::Cell;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, ReadableStreamByobReader};

use super::error::with_code;
use super::field::get;

/// Reads ranges of one Blob; see the module docs.
pub struct FileReader {
    blob: Blob,
    /// Memory given back through [`FileReader::recycle`], to fill again.
    spare: Cell<Option<ArrayBuffer>>,
    /// This Blob's stream turned out not to be a byte stream.
    no_byob: Cell<bool>,
}

impl FileReader {
    /// A reader of `blob`.
    pub fn new(blob: &Blob) -> Self {
        Self {
            blob: blob.clone(),
            spare: Cell::new(None),
            no_byob: Cell::new(false),
        }
    }

    /// The Blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.blob.size() as u64
    }

    /// Bytes `start..end` of the Blob, the caller's until handed back with
    /// [`FileReader::recycle`].
    pub async fn read(&self, start: u64, end: u64) -> Result<Uint8Array, JsValue> {
        let len = u32::try_from(end - start)
            .map_err(|_| with_code("InvalidInput", "invalid input: a part is over 4 GiB"))?;
        let slice = self.blob.slice_with_f64_and_f64(start as f64, end as f64)?;
        let reader = if self.no_byob.get() {
            None
        } else {
            ReadableStreamByobReader::new(&slice.stream()).ok()
        };
        let Some(reader) = reader else {
            self.no_byob.set(true);
            let read = JsFuture::from(slice.array_buffer()).await;
            let bytes = Uint8Array::new(&read.map_err(unreadable)?);
            return if bytes.length() == len {
                Ok(bytes)
            } else {
                Err(shorter())
            };
        };
        let mut buffer = match self.spare.take() {
            Some(b) if b.byte_length() >= len => b,
            _ => ArrayBuffer::new(len),
        };
        let mut filled = 0;
        while filled < len {
            let view = Uint8Array::new_with_byte_offset_and_length(&buffer, filled, len - filled);
            let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
                .await
                .map_err(unreadable)?;
            // A BYOB read hands the buffer back as a new ArrayBuffer over
            // the same memory; the one passed in is detached.
            let value = get(&result, "value");
            if let Some(value) = value.dyn_ref::<Uint8Array>() {
                buffer = value.buffer();
                filled += value.length();
            }
            if get(&result, "done").is_truthy() && filled < len {
                return Err(shorter());
            }
        }
        Ok(Uint8Array::new_with_byte_offset_and_length(&buffer, 0, len))
    }

    /// Fails if the file changed since it was picked. A part's stream is
    /// checked when it opens, so the last one may hold bytes written after
    /// that: one more small read after the last tells. Blobs that are not
    /// Files cannot change.
    pub async fn ensure_unchanged(&self) -> Result<(), JsValue> {
        let size = self.blob.size();
        if size == 0.0 || !self.blob.is_instance_of::<File>() {
            return Ok(());
        }
        let last = self.blob.slice_with_f64(size - 1.0)?;
        JsFuture::from(last.array_buffer())
            .await
            .map_err(unreadable)?;
        Ok(())
    }

    /// Hands back bytes [`FileReader::read`] returned, once nothing reads
    /// them any more (WebCrypto and the wasm engine copy their input when a
    /// call starts), so the next read fills the same memory.
    pub fn recycle(&self, bytes: Uint8Array) {
        self.spare.set(Some(bytes.buffer()));
    }
}

/// The browser could not read the file (Chromium: a changed File's stream
/// fails with "network error", its arrayBuffer() with NotReadableError).
fn unreadable(err: JsValue) -> JsValue {
    let detail = err
        .dyn_ref::<js_sys::Error>()
        .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
        .unwrap_or_else(|| "unknown error".into());
    with_code(
        "InvalidInput",
        &format!(
            "invalid input: the file could not be read ({detail}); was it changed or removed after it was picked?"
        ),
    )
}

fn shorter() -> JsValue {
    with_code(
        "InvalidInput",
        "invalid input: the file is shorter than when the upload began (it changed while being read)",
    )
}
