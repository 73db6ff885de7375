// Reading a Blob (what a picked File is), for every path of the package:
// `seal()`/`open()` of a Blob read it in order (`blobChunks`), an upload
// reads it part by part (`BlobParts`, for upload.ts). Both
// fill reused memory through BYOB reads, and both fail the same way when
// the file changed or went away after it was picked.
import { s3sealError } from "./error.js";
import type { S3sealError } from "./error.js";

/** What `pump` reads: a stream reader, or one of ours over memory or a Blob. */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>> | ReadableStreamReadResult<Uint8Array>;
  cancel(reason?: unknown): Promise<void>;
}

/** Blob readers with a BYOB read in flight. Held here because in Chromium
 * nothing else may hold them: a pending read, its stream and whatever
 * awaits it can form a cycle no root reaches, and a garbage collection then
 * drops it, so the read never settles (bench/results.md, "design
 * measurements"). */
const reading = new Set<ReadableStreamBYOBReader>();

/** One BYOB read into `view`, with `reader` held meanwhile (see `reading`).
 * The memory comes back as a new ArrayBuffer (the one passed in is
 * detached), in `value`, which is an empty view of it at the end. */
export async function readInto(reader: ReadableStreamBYOBReader, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>> {
  reading.add(reader);
  try {
    return (await reader.read(view as Uint8Array<ArrayBuffer>)) as ReadableStreamReadResult<Uint8Array>;
  } finally {
    reading.delete(reader);
  }
}

/** Fills the first `want` bytes of `buffer` from `reader`: the result is a
 * view of the memory the reads gave back. Fails if the stream ends first. */
async function fill(reader: ReadableStreamBYOBReader, buffer: ArrayBuffer, want: number): Promise<Uint8Array> {
  let filled = 0;
  while (filled < want) {
    let done: boolean;
    let value: Uint8Array | undefined;
    try {
      ({ done, value } = await readInto(reader, new Uint8Array(buffer, filled, want - filled)));
    } catch (err) {
      throw unreadable(err);
    }
    if (value) {
      buffer = value.buffer as ArrayBuffer;
      filled += value.length;
    }
    if (done) break;
  }
  if (filled < want) throw shorter();
  return new Uint8Array(buffer, 0, want);
}

function byobReader(blob: Blob): ReadableStreamBYOBReader | undefined {
  try {
    return blob.stream().getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/** A reader of a Blob's bytes in order, in chunks ending at `chunkEnd(n)`
 * for the n-th (1, 2, …), filled through one BYOB reader into two buffers
 * used in turn: a chunk lent to a SealStream is free once the next push
 * returns, so the read after that may fill its memory again (an
 * OpenStream's chunk is free sooner, once its own push returns). Reading a
 * File so, instead of taking the stream's own chunks, makes no garbage per
 * chunk. One stream, not slice().arrayBuffer() per chunk, which is slow in
 * Chromium. Where a Blob's stream is not a byte stream, its own chunks. */
export function blobChunks(blob: Blob, chunkEnd: (n: number) => number): ChunkReader {
  const reader = byobReader(blob);
  if (!reader) {
    const inner = blob.stream().getReader();
    return {
      async read() {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await inner.read();
        } catch (err) {
          throw unreadable(err);
        }
        if (next.done) await unchanged(blob);
        return next;
      },
      cancel: (reason) => inner.cancel(reason),
    };
  }
  const size = blob.size;
  const buffers: ArrayBuffer[] = [];
  let at = 0;
  let chunks = 0;
  let checked = false;
  return {
    async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      if (at >= size) {
        if (!checked) {
          checked = true;
          await unchanged(blob);
        }
        return { done: true, value: undefined };
      }
      chunks++;
      const end = Math.min(chunkEnd(chunks), size);
      const want = end - at;
      const turn = chunks & 1;
      const value = await fill(reader, buffers[turn]?.byteLength >= want ? buffers[turn] : new ArrayBuffer(want), want);
      buffers[turn] = value.buffer as ArrayBuffer;
      at = end;
      return { done: false, value };
    },
    cancel(reason?: unknown): Promise<void> {
      at = size;
      checked = true;
      return reader.cancel(reason);
    },
  };
}

/** Ranges of one Blob, for the upload's parts (upload.ts), into
 * memory reused from one part to the next. Each range opens its own stream
 * of its slice: Chromium checks that a File is unchanged when a stream
 * opens, not while it runs, so one stream over a whole file would read a
 * file changed mid-upload without an error; `ensureUnchanged` checks once
 * more after the last part. Where a Blob's stream is not a byte stream,
 * each range is read by `slice().arrayBuffer()`. */
export class BlobParts {
  readonly blob: Blob;
  #spare: ArrayBuffer | undefined;
  #byob = true;

  constructor(blob: Blob) {
    this.blob = blob;
  }

  /** Bytes `start..end`, the caller's until handed back to `recycle`. */
  async read(start: number, end: number): Promise<Uint8Array> {
    const want = end - start;
    const slice = this.blob.slice(start, end);
    const reader = this.#byob ? byobReader(slice) : undefined;
    if (!reader) {
      this.#byob = false;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await slice.arrayBuffer());
      } catch (err) {
        throw unreadable(err);
      }
      if (bytes.length !== want) throw shorter();
      return bytes;
    }
    const spare = this.#spare;
    this.#spare = undefined;
    return fill(reader, spare && spare.byteLength >= want ? spare : new ArrayBuffer(want), want);
  }

  /** Hands back bytes `read` returned, once nothing reads them any more
   * (the cipher engines copy their input when a call starts), so the next
   * read fills the same memory. */
  recycle(bytes: Uint8Array): void {
    this.#spare = bytes.buffer as ArrayBuffer;
  }

  ensureUnchanged(): Promise<void> {
    return unchanged(this.blob);
  }
}

/** Fails if a File changed since it was picked. Chromium checks that when
 * a read of the file opens, not while a stream runs: a stream read to its
 * end may hold bytes written after it opened. One more small read after
 * the last one tells (cheaper than reopening the stream as it goes). Other
 * Blobs cannot change, so they skip it. */
async function unchanged(blob: Blob): Promise<void> {
  if (blob.size === 0 || typeof File === "undefined" || !(blob instanceof File)) return;
  try {
    await blob.slice(blob.size - 1).arrayBuffer();
  } catch (err) {
    throw unreadable(err);
  }
}

/** The browser could not read the file (Chromium: a changed File's stream
 * fails with "network error", its arrayBuffer() with NotReadableError). */
function unreadable(err: unknown): S3sealError {
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : "unknown error";
  return s3sealError("InvalidInput", `invalid input: the file could not be read (${detail}); was it changed or removed after it was picked?`);
}

function shorter(): S3sealError {
  return s3sealError("InvalidInput", "invalid input: the file is shorter than its size (it changed while being read)");
}
