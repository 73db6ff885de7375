// s3seal: seal and open files in the browser. The cryptography and the
// format live in Rust (s3seal_wasm.js + .wasm); this file adds WHATWG-stream
// conveniences, a Worker client, and nothing that decides about bytes.

import initWasm, {
  Key,
  OpenStream,
  Opener,
  Recipient,
  SealStream,
  Sealer,
  checkSseCEndpoint,
  download as wasmDownload,
  inertMediaType,
  passphraseStrength,
  safeFileName,
  segmentOffset,
  setCipherHelpers,
  sseCHeaders,
  sseKmsHeaders,
  sseS3Headers,
  upload as wasmUpload,
  uploadToRecipient as wasmUploadToRecipient,
} from "./s3seal_wasm.js";
import { CipherHelper } from "./cipher.js";

export {
  Key,
  OpenStream,
  Opener,
  Recipient,
  SealStream,
  Sealer,
  checkSseCEndpoint,
  inertMediaType,
  passphraseStrength,
  safeFileName,
  segmentOffset,
  sseCHeaders,
  sseKmsHeaders,
  sseS3Headers,
};

// Who an operation is for: exactly one of `key` (a Key), `passphrase` (a
// string) or, for sealing, `recipient` (a Recipient or "s3seal1…" text).
// Returns { key } or { recipient } plus a release() for what was made here.
function target(options, { sealing }) {
  const { key, passphrase, recipient } = options ?? {};
  const given = [key, passphrase, recipient].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw s3sealError("InvalidInput", `invalid input: give exactly one of key, passphrase${sealing ? " or recipient" : ""}`);
  }
  if (recipient !== undefined) {
    if (!sealing) throw s3sealError("InvalidInput", "invalid input: a recipient seals; open with its identity (a Key)");
    if (recipient instanceof Recipient) return { recipient, release() {} };
    const made = Recipient.fromText(String(recipient));
    return { recipient: made, release: () => made.free() };
  }
  if (passphrase !== undefined) {
    const made = Key.fromPassphrase(String(passphrase));
    return { key: made, release: () => made.free() };
  }
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: options.key must be a Key");
  return { key, release() {} };
}

// Runs `start()` (a promise) and releases what `target` made once it settles.
function releasing(made, start) {
  let promise;
  try {
    promise = start();
  } catch (err) {
    made.release();
    throw err;
  }
  return promise.finally(() => made.release());
}

/**
 * A presign function for a backend that speaks the s3seal JSON API
 * (`POST {endpoint}` with `{ op, object, sseC?, size?, uploadId?, partNumber? }`,
 * answering `{ method, url, headers }`), e.g. `s3seal serve`'s `/api/presign`.
 */
export function presignWith(endpoint = "/api/presign", init = {}) {
  return async (request) => {
    const response = await fetch(endpoint, {
      ...init,
      method: "POST",
      headers: { "content-type": "application/json", ...(init.headers ?? {}) },
      body: JSON.stringify(request),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const err = s3sealError("Presign", `presign refused (${response.status}): ${body?.error?.message ?? response.statusText}`);
      err.status = response.status;
      throw err;
    }
    return body;
  };
}

/**
 * Seals `file` and uploads it through presigned URLs: one PUT up to
 * `multipartThreshold` (16 MiB), multipart above (parts of ~`partSize`,
 * `concurrency` in flight, retried on 5xx/network errors, aborted and cleaned
 * up through `signal`). With a `resumeStore`, an interrupted multipart upload
 * of the same, unchanged file with the same key continues where it stopped.
 * With `{ key }` or `{ passphrase }` resolves to `{ objectName, objectId,
 * fileKey, size, resumedParts }`; with `{ recipient }` (an upload form) the
 * uploader keeps no key and gets a receipt `{ objectName, objectId, size,
 * plaintextSize, sha256 }`.
 */
export function upload(file, options) {
  const made = target(options, { sealing: true });
  const { key, passphrase, recipient, ...rest } = options;
  const wasmOptions = { presign: presignWith(), ...rest };
  return releasing(made, () =>
    made.recipient ? wasmUploadToRecipient(file, made.recipient, wasmOptions) : wasmUpload(file, made.key, wasmOptions),
  );
}

/**
 * A resume store in IndexedDB (works in pages and Workers): pass it as
 * `upload(file, { resumeStore })` to continue an interrupted multipart upload
 * of the same file with the same key after a reload. It stores no secret.
 */
export function indexedDbStore(name = "s3seal-uploads") {
  const db = new Promise((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("state");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const run = (mode, fn) =>
    db.then(
      (d) =>
        new Promise((resolve, reject) => {
          // Resolve on the transaction's commit, not the request's success:
          // a part is sent only once its fingerprint is durably stored.
          const tx = d.transaction("state", mode);
          const request = fn(tx.objectStore("state"));
          tx.oncomplete = () => resolve(request.result ?? null);
          tx.onerror = tx.onabort = () => reject(tx.error ?? request.error);
        }),
    );
  return {
    get: (id) => run("readonly", (s) => s.get(id)),
    set: (id, value) => run("readwrite", (s) => s.put(value, id)),
    delete: (id) => run("readwrite", (s) => s.delete(id)),
  };
}

/**
 * Downloads `objectName` through a presigned GET and opens it, verifying as
 * it streams. Resolves to `{ blob, metadata }` only if everything verified.
 */
export function download(objectName, options) {
  const made = target(options, { sealing: false });
  const { key, passphrase, ...rest } = options;
  return releasing(made, () => wasmDownload(objectName, made.key, { presign: presignWith(), ...rest }));
}

/**
 * A share link for one object: the object name and its file key travel in
 * the URL fragment, which browsers never send to a server.
 */
export function shareLink(base, objectName, fileKey) {
  const url = new URL(base);
  url.hash = `${objectName}.${fileKey.toText()}`;
  return url.toString();
}

/** Parses a share link's fragment: `{ objectName, fileKey }` (a Key), or null. */
export function parseShareLink(link) {
  const hash = new URL(link).hash.replace(/^#/, "");
  const match = /^([0-9a-f]{32}(?:\.[0-9a-f]{64})?\.s3seal)\.(s3seal-file-[A-Za-z0-9_-]{43})$/.exec(hash);
  if (!match) return null;
  return { objectName: match[1], fileKey: Key.fromText(match[2]) };
}

/** Ciphertext segment size in bytes (256 KiB). */
export const SEGMENT_SIZE = 256 * 1024;

let readyPromise;

/**
 * Loads the wasm module once. Call (and await) before anything else.
 * `moduleOrPath` is optional: a URL, a Response, bytes or a WebAssembly.Module
 * (default: s3seal_wasm_bg.wasm next to this file).
 */
export function ready(moduleOrPath) {
  readyPromise ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then(() => {
    wasmReady = true;
    if (helpers === undefined) useHelpers(defaultCipherWorkers());
    else setCipherHelpers(helpers);
  });
  return readyPromise;
}

let wasmReady = false;
let helpers;

/** One helper where a second core and Workers exist (more helpers than
 * cores only take turns with the sealing thread). */
function defaultCipherWorkers() {
  const cores = typeof navigator === "undefined" ? 1 : navigator.hardwareConcurrency ?? 1;
  return typeof Worker === "function" && cores >= 2 ? 1 : 0;
}

/**
 * Sets how many Workers of its own the WebCrypto engine deals segments to,
 * besides the thread that calls it (default: 1 where there are 2 or more
 * cores, started at first use; 0 runs every segment on the calling thread).
 * Applies to sealing and opening started afterwards. Starts the workers now
 * and resolves to how many run (fewer where Workers cannot start, e.g.
 * under a Content-Security-Policy; their segments then run here).
 */
export function cipherWorkers(count) {
  if (!Number.isInteger(count) || count < 0) throw s3sealError("InvalidInput", "invalid input: cipherWorkers(count) needs a whole number >= 0");
  useHelpers(count);
  return Promise.all(helpers.map((h) => h.started())).then((ok) => ok.filter(Boolean).length);
}

function useHelpers(count) {
  // Sealing already running keeps its helpers, which finish what they have.
  for (const h of helpers ?? []) h.retire();
  helpers = Array.from({ length: count }, () => new CipherHelper());
  if (wasmReady) setCipherHelpers(helpers);
}

/** True for errors thrown by s3seal (they carry a stable `code`). */
export function isS3sealError(err) {
  return err instanceof Error && err.name === "S3sealError" && typeof err.code === "string";
}

function s3sealError(code, message) {
  const err = new Error(message);
  err.name = "S3sealError";
  err.code = code;
  return err;
}

function abortError(signal) {
  return signal?.reason instanceof Error ? signal.reason : new DOMException("The operation was aborted.", "AbortError");
}

/** Bytes per chunk when the source is already in memory. */
const CHUNK_SIZE = 1024 * 1024;

/** Input bytes whose segments may be in the engine at once: enough that it
 * never waits for us, and that this thread seals one block while the cipher
 * worker seals another (bench/results.md, "design measurements"). */
const WINDOW_SIZE = 4 * 1024 * 1024;

function toStream(source) {
  if (source instanceof ReadableStream) return source;
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.body) throw s3sealError("InvalidInput", "invalid input: the response has no body");
    return source.body;
  }
  throw s3sealError("InvalidInput", "invalid input: expected a Blob, ReadableStream, Response or bytes");
}

/** Segments per chunk when sealing bytes in memory (~1 MiB). */
const SEGMENTS_PER_CHUNK = 4;

/** A reader of `source`, and whether its chunks may be lent to a
 * SealStream (`pushLent`: nobody changes them after they are read). Blobs
 * are read by `blobReader`. Bytes in memory are read as views (no copies,
 * and no stream around them) of about CHUNK_SIZE; when `aligned`, they end
 * on segment boundaries, so no segment is ever copied. One huge chunk would
 * queue every segment's cipher call at once instead of a window. */
function toReader(source, { aligned = false } = {}) {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const reader = blobReader(source);
    if (reader) return { reader, lent: true };
    // Not a byte stream: its own chunks, and the same check at the end.
    const inner = source.stream().getReader();
    const checked = {
      async read() {
        let next;
        try {
          next = await inner.read();
        } catch (err) {
          throw unreadable(err);
        }
        if (next.done) await unchanged(source);
        return next;
      },
      cancel: (reason) => inner.cancel(reason),
    };
    return { reader: checked, lent: true };
  }
  if (!ArrayBuffer.isView(source)) {
    const owned = !(source instanceof ReadableStream); // a Response's own stream
    return { reader: toStream(source).getReader(), lent: owned };
  }
  const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let at = 0;
  let chunks = 0;
  const reader = {
    read() {
      if (at >= bytes.length) return { done: true, value: undefined };
      chunks++;
      const next = aligned ? segmentOffset(chunks * SEGMENTS_PER_CHUNK) : at + CHUNK_SIZE;
      const end = Math.min(next, bytes.length);
      const value = bytes.subarray(at, end);
      at = end;
      return { done: false, value };
    },
    cancel() {
      at = bytes.length;
      return Promise.resolve();
    },
  };
  return { reader, lent: true };
}

/** Blob readers with a BYOB read in flight. Held here because in Chromium
 * nothing else may hold them: a pending read, its stream and whatever
 * awaits it can form a cycle no root reaches, and a garbage collection then
 * drops it, so the read never settles (bench/results.md, "design
 * measurements"). */
const reading = new Set();

/** A reader of a Blob's bytes in chunks that end on plaintext segment
 * boundaries, as bytes in memory are read, filled through a BYOB reader into
 * two buffers used in turn: a chunk lent to a SealStream is free once the
 * next push returns, so the read after that may fill its memory again (an
 * OpenStream's chunk is free sooner, once its own push returns). Reading a
 * File so, instead of taking the stream's own chunks, makes no garbage per
 * chunk, and when sealing no segment straddles two chunks. One stream, not
 * slice().arrayBuffer() per chunk, which is slow in Chromium. Undefined
 * where a Blob's stream is not a byte stream. */
function blobReader(blob) {
  let reader;
  try {
    reader = blob.stream().getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
  const size = blob.size;
  const buffers = [];
  let at = 0;
  let chunks = 0;
  let checked = false;
  return {
    async read() {
      if (at >= size) {
        if (!checked) {
          checked = true;
          await unchanged(blob);
        }
        return { done: true, value: undefined };
      }
      chunks++;
      const end = Math.min(segmentOffset(chunks * SEGMENTS_PER_CHUNK), size);
      const want = end - at;
      const turn = chunks & 1;
      let buffer = buffers[turn]?.byteLength >= want ? buffers[turn] : new ArrayBuffer(want);
      let filled = 0;
      while (filled < want) {
        let done, value;
        reading.add(reader);
        try {
          ({ done, value } = await reader.read(new Uint8Array(buffer, filled, want - filled)));
        } catch (err) {
          throw unreadable(err);
        } finally {
          reading.delete(reader);
        }
        if (value) {
          buffer = value.buffer;
          filled += value.length;
        }
        if (done) break;
      }
      buffers[turn] = buffer;
      if (filled < want) throw s3sealError("InvalidInput", "invalid input: the file is shorter than its size (it changed while being read)");
      at = end;
      return { done: false, value: new Uint8Array(buffer, 0, want) };
    },
    cancel(reason) {
      at = size;
      checked = true;
      return reader.cancel(reason);
    },
  };
}

/** Fails if a File changed since it was picked. Chromium checks that when
 * a read of the file opens, not while a stream runs: a stream read to its
 * end may hold bytes written after it opened. One more small read after
 * the last one tells (cheaper than reopening the stream as it goes). Other
 * Blobs cannot change, so they skip it. */
async function unchanged(blob) {
  if (blob.size === 0 || typeof File === "undefined" || !(blob instanceof File)) return;
  try {
    await blob.slice(blob.size - 1).arrayBuffer();
  } catch (err) {
    throw unreadable(err);
  }
}

function unreadable(err) {
  return s3sealError("InvalidInput", `invalid input: the file could not be read (${err?.name}: ${err?.message}); was it changed or removed after it was picked?`);
}

// A pull-driven transform through a SealStream/OpenStream: each push starts
// its segments' cipher calls at once and returns a promise of the pieces;
// up to WINDOW_SIZE input bytes stay in flight so the engine runs back to
// back, and memory stays bounded whatever the size.
function pump(reader, engine, { onChunk, onPieces, signal, free, lent = false }) {
  const queue = []; // { pieces: Promise<Uint8Array[]>, size }
  let inFlight = 0;
  let ended = false;
  let freed = false;
  const release = () => {
    if (!freed) {
      freed = true;
      free();
    }
  };
  const enqueue = (pieces, size) => {
    pieces.catch(() => {}); // awaited in order below; no unhandled rejections meanwhile
    queue.push({ pieces, size });
    inFlight += size;
  };
  return new ReadableStream(
    {
      async pull(controller) {
        try {
          // A pull that enqueues nothing is never called again (Streams
          // spec): loop until something is enqueued or the stream closes.
          for (let enqueued = 0; enqueued === 0; ) {
            while (!ended && inFlight < WINDOW_SIZE) {
              if (signal?.aborted) throw abortError(signal);
              const { done, value } = await reader.read();
              if (done) {
                ended = true;
                enqueue(engine.finish(), 0);
                break;
              }
              enqueue(lent ? engine.pushLent(value) : engine.push(value), value.length);
              onChunk?.(value);
            }
            const next = queue.shift();
            inFlight -= next.size;
            const pieces = await next.pieces;
            if (signal?.aborted) throw abortError(signal);
            onPieces?.(pieces);
            for (const piece of pieces) {
              if (piece.length) {
                controller.enqueue(piece);
                enqueued++;
              }
            }
            if (ended && queue.length === 0) {
              release();
              controller.close();
              return;
            }
          }
        } catch (err) {
          release();
          reader.cancel(err).catch(() => {});
          controller.error(err);
        }
      },
      cancel(reason) {
        release();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * Seals a Blob/File or a stream on the fastest engine (WebCrypto when
 * present), for `{ key }`, `{ passphrase }` or `{ recipient }`. Returns the
 * object's name and keys at once (no `fileKey` when sealed to a recipient);
 * the sealed bytes come out of `stream` as it is read.
 */
export function seal(source, options) {
  const { signal, onProgress, engine } = options ?? {};
  const made = target(options, { sealing: true });
  const file = typeof Blob !== "undefined" && source instanceof Blob ? source : undefined;
  const size = options.size ?? file?.size;
  const metadata = {
    name: options.name ?? (typeof File !== "undefined" && file instanceof File ? file.name : ""),
    type: options.type ?? file?.type ?? "",
    size,
  };
  let sealer;
  try {
    sealer = made.recipient
      ? SealStream.toRecipient(made.recipient, metadata, { engine })
      : new SealStream(made.key, metadata, { engine });
  } finally {
    // The sealer has derived what it needs; a passphrase Key made here is done.
    made.release();
  }
  const objectName = sealer.objectName;
  const objectId = sealer.objectId;
  // Sealed to a recipient, the object has no share key for the sealer.
  const fileKey = made.recipient ? undefined : sealer.fileKey();
  const sseC = sealer.sseCHeaders();
  const sealedSize = size === undefined ? undefined : sealer.objectLength(size);
  const engineName = sealer.engine();
  engineName.catch(() => {});
  let bytesIn = 0;
  let bytesOut = 0;
  const { reader, lent } = toReader(source, { aligned: true });
  const stream = pump(reader, sealer, {
    lent,
    signal,
    free: () => sealer.free(),
    onChunk: (input) => (bytesIn += input.length),
    onPieces: (pieces) => {
      for (const p of pieces) bytesOut += p.length;
      onProgress?.({ bytesIn, bytesOut, total: size });
    },
  });
  return { stream, objectName, objectId, fileKey, sseCHeaders: sseC, size: sealedSize, engine: engineName };
}

/**
 * Opens a sealed object from a Blob, stream, Response or bytes, on the
 * fastest engine. Plaintext comes out of `stream` segment by segment, each
 * only after its segment verified; the object's signature is checked at the
 * end, so the stream's last read (done) is what says the bytes are the
 * owner's: a failure then errors the stream. For all-or-nothing use
 * `openBlob`. `options.objectName` (`<id>.s3seal`) is checked against the
 * object; a file key needs it, since only the name tells the original from
 * a forgery sealed under another id.
 */
export function open(source, key, options = {}) {
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: the key must be a Key");
  const opener = new OpenStream(key, { engine: options.engine });
  if (options.objectName !== undefined) opener.expectName(options.objectName);
  let resolveMeta;
  let rejectMeta;
  const metadata = new Promise((resolve, reject) => {
    resolveMeta = resolve;
    rejectMeta = reject;
  });
  metadata.catch(() => {});
  let bytesIn = 0;
  let bytesOut = 0;
  let known = false;
  const learn = () => {
    if (!known) {
      const meta = opener.metadata;
      if (meta) {
        known = true;
        resolveMeta(meta);
      }
    }
  };
  const { reader } = toReader(source);
  const inner = pump(reader, opener, {
    signal: options.signal,
    free: () => {
      learn();
      opener.free();
    },
    onChunk: (input) => {
      bytesIn += input.length;
      learn();
    },
    onPieces: (pieces) => {
      for (const p of pieces) bytesOut += p.length;
      options.onProgress?.({ bytesIn, bytesOut });
    },
  });
  // Surface a failure before the metadata as a rejected `metadata` too.
  const innerReader = inner.getReader();
  const stream = new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await innerReader.read();
        if (done) {
          rejectMeta(s3sealError("Truncated", "the object is truncated: it ends before its final segment"));
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        rejectMeta(err);
        controller.error(err);
      }
    },
    cancel(reason) {
      rejectMeta(reason);
      return innerReader.cancel(reason);
    },
  });
  return { stream, metadata };
}

/** Pieces are folded into a Blob every this many bytes: the browser keeps large Blobs out of the JS heap. */
const FOLD_SIZE = 32 * 1024 * 1024;

async function collect(stream, type) {
  let parts = [];
  let pending = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    pending += value.length;
    if (pending >= FOLD_SIZE) {
      parts = [new Blob(parts)];
      pending = 0;
    }
  }
  return new Blob(parts, { type });
}

/** Seals into a Blob (convenience over `seal`). */
export async function sealBlob(source, options) {
  const sealed = seal(source, options);
  const blob = await collect(sealed.stream, "application/octet-stream");
  return { ...sealed, stream: undefined, blob, engine: await sealed.engine };
}

/**
 * Opens into a Blob, all or nothing: resolves only when the whole object
 * verified, with the sealed filename and type. The Blob's type is
 * `inertMediaType(metadata.type)`: the sealed type is the sealer's word, and
 * an HTML or SVG Blob would run its scripts in this page's origin once its
 * blob: URL is opened. Show `metadata.type` as text only.
 */
export async function openBlob(source, key, options) {
  const opened = open(source, key, options);
  const [blob, metadata] = await Promise.all([collect(opened.stream, ""), opened.metadata]);
  return { blob: new Blob([blob], { type: inertMediaType(metadata.type) }), metadata };
}

/**
 * Runs sealing and opening in a Web Worker so the page stays responsive.
 * `worker` is `new Worker(new URL("s3seal/worker", import.meta.url), { type: "module" })`
 * (or the URL of worker.js next to this file).
 */
export class WorkerClient {
  #worker;
  #next = 1;
  #pending = new Map();

  constructor(worker) {
    this.#worker = worker;
    worker.addEventListener("message", (event) => {
      const { id, progress, result, error } = event.data ?? {};
      const pending = this.#pending.get(id);
      if (!pending) return;
      if (progress) return pending.onProgress?.(progress);
      this.#pending.delete(id);
      if (error) pending.reject(s3sealError(error.code, error.message));
      else pending.resolve(result);
    });
  }

  #call(message, onProgress) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ ...message, id });
    });
  }

  /** Seals `file` with a key text (`s3seal-root-…`), a passphrase, or to a recipient (`s3seal1…`). */
  seal(file, { keyText, passphrase, recipient, name, type, onProgress } = {}) {
    return this.#call({ op: "seal", file, keyText, passphrase, recipient, name, type }, onProgress);
  }

  /** Opens a sealed Blob with a key text or passphrase, all or nothing (a file key needs `objectName`). */
  open(blob, { keyText, passphrase, objectName, onProgress } = {}) {
    return this.#call({ op: "open", blob, keyText, passphrase, objectName }, onProgress);
  }

  /** Stops the worker. */
  terminate() {
    this.#worker.terminate();
  }
}
