//! Reading the file to upload: its bytes, in order, into memory that is
//! reused from one part to the next.
//!
//! `Blob.slice().arrayBuffer()` makes a new buffer per part, and each stays
//! in the renderer until the next garbage collection: reading 1 GiB in 8 MiB
//! parts that way grew headless Chromium's renderer by 136–144 MiB, against
//! 28 MiB through a BYOB reader of `Blob.stream()` filling one buffer (and
//! the reads took 2.3 s instead of 3.1–3.5 s). Where a Blob's stream is not a
//! byte stream, each read falls back to `slice().arrayBuffer()`.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ReadableStreamByobReader};

use super::error::with_code;
use super::field::get;

/// Reads ranges of one Blob; see the module docs.
pub struct FileReader {
    blob: Blob,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The open byte-stream reader and the offset it reads from next.
    open: Option<(ReadableStreamByobReader, u64)>,
    /// Memory given back through [`FileReader::recycle`], to fill again.
    spare: Option<ArrayBuffer>,
    /// This Blob's stream turned out not to be a byte stream.
    no_byob: bool,
}

impl FileReader {
    /// A reader of `blob`.
    pub fn new(blob: &Blob) -> Self {
        Self {
            blob: blob.clone(),
            state: RefCell::default(),
        }
    }

    /// The Blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.blob.size() as u64
    }

    /// Bytes `start..end` of the Blob. Reading on from where the last read
    /// ended continues the same stream. The bytes are the caller's until
    /// handed back with [`FileReader::recycle`].
    pub async fn read(&self, start: u64, end: u64) -> Result<Uint8Array, JsValue> {
        let len = u32::try_from(end - start)
            .map_err(|_| with_code("InvalidInput", "invalid input: a part is over 4 GiB"))?;
        let Some((reader, spare)) = self.byob_reader(start)? else {
            return read_js(&self.blob, start, end).await;
        };
        let mut buffer = match spare {
            Some(b) if b.byte_length() >= len => b,
            _ => ArrayBuffer::new(len),
        };
        let mut filled = 0;
        while filled < len {
            let view = Uint8Array::new_with_byte_offset_and_length(&buffer, filled, len - filled);
            let result = JsFuture::from(reader.read_with_array_buffer_view(&view)).await?;
            // A BYOB read hands the buffer back as a new ArrayBuffer over
            // the same memory; the one passed in is detached.
            let value = get(&result, "value");
            if let Some(value) = value.dyn_ref::<Uint8Array>() {
                buffer = value.buffer();
                filled += value.length();
            }
            if get(&result, "done").is_truthy() && filled < len {
                return Err(changed());
            }
        }
        self.state.borrow_mut().open = Some((reader, end));
        Ok(Uint8Array::new_with_byte_offset_and_length(&buffer, 0, len))
    }

    /// A byte-stream reader positioned at `start`, and the spare buffer; or
    /// none where the Blob's stream is not a byte stream.
    fn byob_reader(
        &self,
        start: u64,
    ) -> Result<Option<(ReadableStreamByobReader, Option<ArrayBuffer>)>, JsValue> {
        let mut state = self.state.borrow_mut();
        if state.no_byob {
            return Ok(None);
        }
        let reader = match state.open.take() {
            Some((reader, at)) if at == start => reader,
            other => {
                if let Some((stale, _)) = other {
                    let _ = stale.cancel();
                }
                let stream = self.blob.slice_with_f64(start as f64)?.stream();
                match ReadableStreamByobReader::new(&stream) {
                    Ok(reader) => reader,
                    Err(_) => {
                        state.no_byob = true;
                        return Ok(None);
                    }
                }
            }
        };
        Ok(Some((reader, state.spare.take())))
    }

    /// Hands back bytes [`FileReader::read`] returned, once nothing reads
    /// them any more (WebCrypto and the wasm engine copy their input when a
    /// call starts), so the next read fills the same memory.
    pub fn recycle(&self, bytes: Uint8Array) {
        self.state.borrow_mut().spare = Some(bytes.buffer());
    }
}

impl Drop for FileReader {
    fn drop(&mut self) {
        if let Some((reader, _)) = self.state.get_mut().open.take() {
            let _ = reader.cancel();
        }
    }
}

/// Reads bytes `start..end` of a Blob into a new buffer.
async fn read_js(blob: &Blob, start: u64, end: u64) -> Result<Uint8Array, JsValue> {
    let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
    let bytes = Uint8Array::new(&JsFuture::from(slice.array_buffer()).await?);
    if u64::from(bytes.length()) != end - start {
        return Err(changed());
    }
    Ok(bytes)
}

fn changed() -> JsValue {
    with_code(
        "InvalidInput",
        "invalid input: the file is shorter than when the upload began (it changed while being read)",
    )
}
