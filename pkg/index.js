// s3seal: seal and open files in the browser. The cryptography and the
// format live in Rust (s3seal_wasm.js + .wasm); this file adds WHATWG-stream
// conveniences, a Worker client, and nothing that decides about bytes.

import initWasm, {
  Key,
  Opener,
  Sealer,
  checkSseCEndpoint,
  download as wasmDownload,
  sseCHeaders,
  sseKmsHeaders,
  sseS3Headers,
  upload as wasmUpload,
} from "./s3seal_wasm.js";

export { Key, Opener, Sealer, checkSseCEndpoint, sseCHeaders, sseKmsHeaders, sseS3Headers };

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
 * up through `signal`). Resolves to `{ objectName, objectId, fileKey, size }`.
 */
export function upload(file, options) {
  const { key, ...rest } = options ?? {};
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: options.key must be a Key");
  return wasmUpload(file, key, { presign: presignWith(), ...rest });
}

/**
 * Downloads `objectName` through a presigned GET and opens it, verifying as
 * it streams. Resolves to `{ blob, metadata }` only if everything verified.
 */
export function download(objectName, options) {
  const { key, ...rest } = options ?? {};
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: options.key must be a Key");
  return wasmDownload(objectName, key, { presign: presignWith(), ...rest });
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
  const match = /^([0-9a-f]{32}\.s3seal)\.(s3seal-file-[A-Za-z0-9_-]{43})$/.exec(hash);
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
  readyPromise ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath }).then(
    () => undefined,
  );
  return readyPromise;
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

function toStream(source) {
  if (source instanceof ReadableStream) return source;
  if (typeof Blob !== "undefined" && source instanceof Blob) return source.stream();
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.body) throw s3sealError("InvalidInput", "invalid input: the response has no body");
    return source.body;
  }
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return new ReadableStream({
      pull(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  throw s3sealError("InvalidInput", "invalid input: expected a Blob, ReadableStream, Response or bytes");
}

// A pull-driven transform through a wasm push object: one input chunk at a
// time, so memory stays bounded by a few segments whatever the size.
function pump(reader, engine, { onChunk, onEnd, signal, free }) {
  let done = false;
  const finish = () => {
    if (!done) {
      done = true;
      free();
    }
  };
  return new ReadableStream(
    {
      async pull(controller) {
        try {
          for (;;) {
            if (signal?.aborted) throw abortError(signal);
            const { done: ended, value } = await reader.read();
            if (ended) {
              const last = engine.finish();
              onEnd?.(last);
              if (last.length) controller.enqueue(last);
              finish();
              controller.close();
              return;
            }
            const out = engine.push(value);
            onChunk?.(value, out);
            if (out.length) {
              controller.enqueue(out);
              return;
            }
          }
        } catch (err) {
          finish();
          reader.cancel(err).catch(() => {});
          controller.error(err);
          throw err;
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * Seals a Blob/File or a stream. Returns the object's name and keys at once;
 * the sealed bytes come out of `stream` as it is read.
 */
export function seal(source, options) {
  const { key, signal, onProgress } = options ?? {};
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: options.key must be a Key");
  const file = typeof Blob !== "undefined" && source instanceof Blob ? source : undefined;
  const size = options.size ?? file?.size;
  const sealer = new Sealer(key, {
    name: options.name ?? (typeof File !== "undefined" && file instanceof File ? file.name : ""),
    type: options.type ?? file?.type ?? "",
    size,
  });
  const objectName = sealer.objectName;
  const objectId = sealer.objectId;
  const fileKey = sealer.fileKey();
  const sseC = sealer.sseCHeaders();
  const sealedSize = size === undefined ? undefined : sealer.objectLength(size);
  let bytesIn = 0;
  let bytesOut = 0;
  const stream = pump(toStream(source).getReader(), sealer, {
    signal,
    free: () => sealer.free(),
    onChunk: (input, out) => {
      bytesIn += input.length;
      bytesOut += out.length;
      onProgress?.({ bytesIn, bytesOut, total: size });
    },
    onEnd: (last) => {
      bytesOut += last.length;
      onProgress?.({ bytesIn, bytesOut, total: size });
    },
  });
  return { stream, objectName, objectId, fileKey, sseCHeaders: sseC, size: sealedSize };
}

/**
 * Opens a sealed object from a Blob, stream, Response or bytes. Plaintext
 * comes out of `stream` segment by segment, each only after it verified; a
 * failure later errors the stream. For all-or-nothing use `openBlob`.
 */
export function open(source, key, options = {}) {
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: the key must be a Key");
  const opener = new Opener(key);
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
  const reader = toStream(source).getReader();
  const inner = pump(reader, opener, {
    signal: options.signal,
    free: () => {
      if (!known) {
        const meta = opener.metadata;
        if (meta) resolveMeta(meta);
      }
      opener.free();
    },
    onChunk: (input, out) => {
      bytesIn += input.length;
      bytesOut += out.length;
      if (!known) {
        const meta = opener.metadata;
        if (meta) {
          known = true;
          resolveMeta(meta);
        }
      }
      options.onProgress?.({ bytesIn, bytesOut });
    },
  });
  // Surface a failure before the metadata as a rejected `metadata` too.
  const innerReader = inner.getReader();
  const stream = new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await innerReader.read();
        if (done) controller.close();
        else controller.enqueue(value);
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

async function collect(stream, type) {
  const parts = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return new Blob(parts, { type });
}

/** Seals into a Blob (convenience over `seal`). */
export async function sealBlob(source, options) {
  const sealed = seal(source, options);
  const blob = await collect(sealed.stream, "application/octet-stream");
  return { ...sealed, stream: undefined, blob };
}

/**
 * Opens into a Blob, all or nothing: resolves only when the whole object
 * verified, with the sealed filename and type.
 */
export async function openBlob(source, key, options) {
  const opened = open(source, key, options);
  const [blob, metadata] = await Promise.all([collect(opened.stream, ""), opened.metadata]);
  return { blob: new Blob([blob], { type: metadata.type }), metadata };
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

  /** Seals `file` with a key text (`s3seal-root-…`) or a passphrase. */
  seal(file, { keyText, passphrase, name, type, onProgress } = {}) {
    return this.#call({ op: "seal", file, keyText, passphrase, name, type }, onProgress);
  }

  /** Opens a sealed Blob with a key text or passphrase, all or nothing. */
  open(blob, { keyText, passphrase, onProgress } = {}) {
    return this.#call({ op: "open", blob, keyText, passphrase }, onProgress);
  }

  /** Stops the worker. */
  terminate() {
    this.#worker.terminate();
  }
}
