// s3seal: seal and open files in the browser. The cryptography and the
// format live in Rust (s3seal_wasm.js + .wasm); this file adds WHATWG-stream
// conveniences, a Worker client, and nothing that decides about bytes.

import initWasm, {
  Key,
  Recipient,
  checkSseCEndpoint,
  inertMediaType,
  manifestText as wasmManifestText,
  parseManifest as wasmParseManifest,
  passphraseStrength as wasmPassphraseStrength,
  RangeReader,
  readRefusal,
  safeFileName,
  sandboxedMediaType,
  segmentOffset,
  sseCHeaders as wasmSseCHeaders,
  sseKmsHeaders as wasmSseKmsHeaders,
  sseS3Headers as wasmSseS3Headers,
} from "./s3seal_wasm.js";
import { CipherHelper } from "./cipher.js";
import { OpenStream, SealStream, setCipherHelpers } from "./engine.js";
import { ReceiptHasher } from "./hash.js";
import type { PresignOp, S3sealErrorCode } from "./codes.js";
import { s3sealError } from "./error.js";
import { blobChunks, readInto } from "./blob.js";
import { checkedPresign, sealAndUpload, useReceiptHasher } from "./upload.js";
import type { ChunkReader } from "./blob.js";
import type { S3sealError } from "./error.js";
import type {
  ServeEvent,
  WorkerInspectResult,
  WorkerOpenResult,
  WorkerPresign,
  WorkerReply,
  WorkerRequest,
  WorkerSealResult,
  WorkerSecret,
  WorkerUploadResult,
} from "./worker.js";

export type { PresignOp, S3sealErrorCode } from "./codes.js";
export type { EngineChoice, EngineName, StreamMetadata } from "./engine.js";
export { SEGMENT_SIZE } from "./engine.js";
export type { S3sealError } from "./error.js";
export { isS3sealError } from "./error.js";
export type { ByteRequest, ServeEvent, WorkerInspectResult } from "./worker.js";
export type { WorkerOpenResult, WorkerPresign, WorkerSealResult, WorkerSecret, WorkerUploadResult } from "./worker.js";
export { Key, OpenStream, RangeReader, Recipient, SealStream, checkSseCEndpoint, inertMediaType, safeFileName, sandboxedMediaType, segmentOffset };

/** One file of a manifest (FORMAT.md §10): several files behind one link. */
export interface ManifestEntry {
  /** Where the file goes, relative: `/`-separated, no `.` or `..` parts. */
  path: string;
  objectName: string;
  /** `s3seal-file-…`: the file's own key (the manifest is sealed). */
  fileKey: string;
  /** Plaintext bytes. */
  size: number;
  type: string;
}

/** The media type a manifest is sealed with. */
export const MANIFEST_TYPE = "application/vnd.s3seal.manifest";

/**
 * A manifest's plaintext for `entries`, refused (`Malformed`) as a reader
 * would refuse it: a path leaving its folder, a path or object twice. Seal
 * and upload it with `type: MANIFEST_TYPE`; its share link shares them all.
 */
export const manifestText = wasmManifestText as (entries: ManifestEntry[]) => Uint8Array;
/** The files an opened manifest lists, checked (FORMAT.md §10). */
export const parseManifest = wasmParseManifest as (plaintext: Uint8Array) => ManifestEntry[];

/** S3 header name -> value. SSE-C sets contain key material: never log them. */
export type Headers = Record<string, string>;

/** SSE-C headers of the object `objectName` (or id) for `key`. */
export const sseCHeaders = wasmSseCHeaders as (key: Key, objectName: string) => Headers;
/** SSE-S3 headers. */
export const sseS3Headers = wasmSseS3Headers as () => Headers;
/** SSE-KMS headers with an optional key id. */
export const sseKmsHeaders = wasmSseKmsHeaders as (keyId?: string | null) => Headers;

/**
 * The AES-GCM engine: `"auto"` (default) uses WebCrypto where the page is a
 * secure context (https or localhost) and the wasm `aes-gcm` otherwise. Both
 * produce the same bytes.
 */
export type Engine = "auto" | "webcrypto" | "wasm";

/** Why a passphrase is below the floor (see `passphraseStrength`). */
export type PassphraseWeakness = "Empty" | "FewWords" | "Repetitive" | "Short" | "Predictable";

export interface PassphraseStrength {
  /** Estimated guessing entropy, in bits (one decimal). */
  bits: number;
  /** Whether it reaches `minimumBits`. */
  strong: boolean;
  /** The floor for sealing, in bits (72). */
  minimumBits: number;
  weakness: PassphraseWeakness | null;
  /** What is wrong and what to do, for a person; null when strong. */
  reason: string | null;
}

/**
 * Estimates how hard a passphrase is to guess offline: anyone holding the
 * object, or the SSE-C key the backend sees, can test guesses at the cost
 * of one Argon2id each. Seal only with `strong` ones (six random diceware
 * words are 77 bits); any passphrase may open.
 */
export const passphraseStrength = wasmPassphraseStrength as (text: string) => PassphraseStrength;

/** What the object says about the file it holds (sealed inside it). */
export interface Metadata {
  name: string;
  type: string;
  /** Plaintext size in bytes, or null if it was unknown when sealing. */
  size: number | null;
}

export interface SealProgress {
  /** Plaintext bytes consumed. */
  bytesIn: number;
  /** Sealed bytes produced. */
  bytesOut: number;
  /** Plaintext size, when known. */
  total?: number;
}

export interface SealCommon {
  /** Filename to seal [default: the File's name]. */
  name?: string;
  /** Media type to seal [default: the Blob's type]. */
  type?: string;
  /** Plaintext size, if the source is a stream of known length. */
  size?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SealProgress) => void;
  engine?: Engine;
}

/** Sealed to a public key (`s3seal1…` or a `Recipient`): an upload form. */
export type ToRecipient = { recipient: Recipient | string; key?: never; passphrase?: never };
/** Sealed with a root key or passphrase `Key`, or a passphrase (a file key cannot seal). */
export type WithKey = { key: Key; passphrase?: never; recipient?: never } | { passphrase: string; key?: never; recipient?: never };

export type SealOptions = SealCommon & (ToRecipient | WithKey);

export interface Sealed {
  /** The sealed bytes, produced as they are read. */
  stream: ReadableStream<Uint8Array>;
  /**
   * Object name for the bucket: `<object id>.s3seal`, or
   * `<object id>.<encapsulated key>.s3seal` when sealed to a recipient (add
   * a prefix if you like; keep the name, readers need it).
   */
  objectName: string;
  objectId: string;
  /** This object's own key (a share key). Call `free()` when done. */
  fileKey: Key;
  /** The SSE-C headers for this object. */
  sseCHeaders: Headers;
  /** Total sealed size, when the plaintext size is known. */
  size?: number;
  /** The engine in use. */
  engine: Promise<"webcrypto" | "wasm">;
}

/** Sealed to a recipient: the same, without a key for the sealer. */
export type SealedToRecipient = Omit<Sealed, "fileKey">;

export type Source = Blob | ReadableStream<Uint8Array> | Response | ArrayBuffer | ArrayBufferView;

export interface OpenOptions {
  signal?: AbortSignal;
  engine?: Engine;
  /**
   * The object's name (`<id>.s3seal`, any prefix), checked against the
   * object (`NameMismatch`). Required with a file key (`InvalidInput`
   * otherwise): the id is what proves who sealed the object.
   */
  objectName?: string;
  onProgress?: (progress: { bytesIn: number; bytesOut: number }) => void;
}

export interface Opened {
  /**
   * Plaintext segment by segment, each after its segment authenticated. The
   * signature is checked at the end: only a clean end says the bytes are the
   * owner's (a file-key holder could have written them); it errors otherwise.
   */
  stream: ReadableStream<Uint8Array>;
  /** Resolves once the preamble verified (rejects with the error otherwise). */
  metadata: Promise<Metadata>;
}

/** One request to presign (the s3seal presign contract; see the README). */
export interface PresignRequest {
  op: PresignOp;
  /** `<32 hex>.s3seal`; the backend adds its prefix. */
  object: string;
  /** The object's SSE-C headers (derived key; never the file key). */
  sseC?: { algorithm: "AES256"; key: string; keyMd5: string };
  size?: number;
  uploadId?: string;
  partNumber?: number;
  /** With an object's first write (put, createMultipart): its sharing terms. */
  share?: ShareTerms & {
    /** `deleteToken`'s hash: the backend keeps this, never the token. */
    deleteHash?: string;
  };
}

/**
 * Sharing terms, kept by a backend that supports them (`s3seal serve`; it
 * sets the limits, see its `/api/config`). The bucket, not the backend
 * process, holds them, and the backend never sees a content key.
 */
export interface ShareTerms {
  /** Seconds until the share expires and its bytes are deleted (backend default: 7 days). */
  expiresSecs?: number;
  /** Downloads allowed; afterwards the backend refuses (`DownloadLimit`). */
  downloads?: number;
}

/** A presigned request: send exactly these headers. */
export interface PresignedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export type PresignFunction = (request: PresignRequest) => Promise<PresignedRequest> | PresignedRequest;

export interface TransferProgress {
  /**
   * "uploading"; "verifying" while a resumed upload checks the file against
   * the parts already sent; "downloading".
   */
  phase: "uploading" | "verifying" | "downloading";
  /** Plaintext bytes sealed (upload) or opened (download). */
  bytesSealed: number;
  /** Bytes on the wire so far. */
  bytesSent: number;
  total: number;
}

/** Key-value storage for upload state; methods may return promises. */
export interface ResumeStore {
  get(id: string): Promise<string | null> | string | null;
  set(id: string, value: string): Promise<unknown> | unknown;
  delete(id: string): Promise<unknown> | unknown;
}

export interface UploadCommon {
  /** Default: presignWith("/api/presign"). */
  presign?: PresignFunction;
  name?: string;
  type?: string;
  /** Objects up to this size go up in one PUT (default 16 MiB). */
  multipartThreshold?: number;
  /** Target part size (default 8 MiB; at least 5 MiB; whole segments). */
  partSize?: number;
  /** Parts in flight (default 4). */
  concurrency?: number;
  /** Retries per request on 5xx, 429, expired URLs or network errors (default 7: at least 12 s of backoff). */
  retries?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  engine?: Engine;
  /**
   * Sharing terms for a backend that keeps them (sent with the first
   * write, with the hash of the owner's delete token). The result then
   * carries `deleteToken`.
   */
  share?: ShareTerms;
  /**
   * Keeps an interrupted multipart upload's state (no secrets) so the same
   * file with the same key resumes after a reload; a changed file is not
   * resumed (its old upload is aborted). See `indexedDbStore()`. Not used
   * with a recipient (it would mean keeping the file key in the browser).
   */
  resumeStore?: ResumeStore;
}

export type UploadOptions = UploadCommon & (ToRecipient | WithKey);

export interface Uploaded {
  objectName: string;
  objectId: string;
  /** The object's own key, for a share link. Call `free()` when done. */
  fileKey: Key;
  /** Bytes stored. */
  size: number;
  /** Parts that were already on S3 from an interrupted attempt (0 if none). */
  resumedParts: number;
  /** The AES-GCM engine that sealed it. */
  engine: "webcrypto" | "wasm";
  /**
   * With `share`: the owner's `s3seal-delete-…` token for `deleteShare()`.
   * A share link does not carry it; the root key or passphrase derives it
   * again (`s3seal delete`).
   */
  deleteToken?: string;
}

/**
 * What an uploader sealing to a recipient gets: no key, a receipt. The
 * recipient's `s3seal pull` prints the same SHA-256 for the file.
 */
export interface Receipt {
  /** `<object id>.<encapsulated key>.s3seal` */
  objectName: string;
  objectId: string;
  /** Bytes stored. */
  size: number;
  /** Bytes of the file before sealing. */
  plaintextSize: number;
  /** SHA-256 of the file before sealing, lowercase hex. */
  sha256: string;
  engine: "webcrypto" | "wasm";
}

export interface DownloadCommon {
  presign?: PresignFunction;
  signal?: AbortSignal;
  engine?: Engine;
  onProgress?: (progress: TransferProgress) => void;
}

/** Opens with a `Key` (root, file or identity) or a passphrase. */
export type OpenWith = { key: Key; passphrase?: never } | { passphrase: string; key?: never };

export type DownloadOptions = DownloadCommon & OpenWith;

/** What `target` made for one call, released when the call settles. */
interface Made {
  key?: Key;
  recipient?: Recipient;
  release(): void;
}

// Who an operation is for: exactly one of `key` (a Key), `passphrase` (a
// string) or, for sealing, `recipient` (a Recipient or "s3seal1…" text).
// Returns { key } or { recipient } plus a release() for what was made here.
function target(
  options: { key?: Key; passphrase?: string; recipient?: Recipient | string } | undefined,
  { sealing }: { sealing: boolean },
): Made {
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
function releasing<T>(made: Made, start: () => Promise<T>): Promise<T> {
  let promise: Promise<T>;
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
export function presignWith(endpoint = "/api/presign", init: RequestInit = {}): PresignFunction {
  return async (request) => {
    const response = await fetch(endpoint, {
      ...init,
      method: "POST",
      headers: { "content-type": "application/json", ...((init.headers as Record<string, string>) ?? {}) },
      body: JSON.stringify(request),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw backendError("presign", response, body);
    return body as PresignedRequest;
  };
}

/** A share's end as a backend reports it: its own code, else `Presign`. */
const SHARE_CODES: readonly string[] = ["ShareExpired", "DownloadLimit", "ShareGone"];

function backendError(what: string, response: Response, body: { error?: { code?: string; message?: string } }): S3sealError {
  const code = SHARE_CODES.includes(body?.error?.code ?? "") ? (body.error!.code as S3sealErrorCode) : "Presign";
  const err = s3sealError(code, `${what} refused (${response.status}): ${body?.error?.message ?? response.statusText}`);
  err.status = response.status;
  return err;
}

/**
 * Ends a share before it expires: `deleteToken` is the owner's (from
 * `upload(…, { share })`). The backend checks it against the hash it kept
 * and deletes the object and its sharing state. `s3seal serve` answers at
 * `/api/delete`.
 */
export async function deleteShare(
  objectName: string,
  deleteToken: string,
  { endpoint = "/api/delete", init = {} }: { endpoint?: string; init?: RequestInit } = {},
): Promise<void> {
  const response = await fetch(endpoint, {
    ...init,
    method: "POST",
    headers: { "content-type": "application/json", ...((init.headers as Record<string, string>) ?? {}) },
    body: JSON.stringify({ object: objectName, deleteToken }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw backendError("delete", response, body);
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
export function upload(file: Blob, options: UploadCommon & ToRecipient): Promise<Receipt>;
export function upload(file: Blob, options: UploadCommon & WithKey): Promise<Uploaded>;
export function upload(file: Blob, options: UploadOptions): Promise<Receipt | Uploaded> {
  const made = target(options, { sealing: true });
  const { key, passphrase, recipient, ...rest } = options;
  return releasing(made, () => sealAndUpload(file, made, { presign: presignWith(), ...rest }));
}

/**
 * A resume store in IndexedDB (works in pages and Workers): pass it as
 * `upload(file, { resumeStore })` to continue an interrupted multipart upload
 * of the same file with the same key after a reload. It stores no secret.
 */
export function indexedDbStore(name = "s3seal-uploads"): ResumeStore {
  const db = new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("state");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const run = (mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest) =>
    db.then(
      (d) =>
        new Promise<string | null>((resolve, reject) => {
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
export async function download(objectName: string, options: DownloadOptions): Promise<{ blob: Blob; metadata: Metadata }> {
  const stored = await StoredObject.open(objectName, options);
  try {
    const { signal, engine, onProgress } = options;
    const blob = await stored.blob({ signal, engine, onProgress });
    return { blob, metadata: stored.metadata };
  } finally {
    stored.close();
  }
}

/** Bytes fetched first for the object's head: the largest preamble and the payload header. */
const HEAD_FETCH_SIZE = 192 * 1024;

/** What `openRange` resolves to. */
export interface RangeOpened {
  /** Plaintext bytes `[start, end)` (fewer at the object's end). */
  bytes: Uint8Array;
  metadata: Metadata;
  /** The whole object's plaintext length. */
  plaintextLength: number;
}

/**
 * A stored object opened where it lies: its head is fetched and checked
 * once, then plaintext is read from it by range or streamed whole, each
 * piece fetched with ranged, presigned SSE-C GETs. One presigned GET
 * serves every read (Range is not signed), so a backend that counts
 * downloads counts one per `StoredObject`; it is presigned again only when
 * S3 says it expired. `close()` wipes its key.
 */
export class StoredObject {
  /** The object's name, as given. */
  readonly objectName: string;
  /** The sealed metadata (name, type), checked. */
  readonly metadata: Metadata;
  /** The whole object's plaintext length in bytes. */
  readonly plaintextLength: number;
  /** Stored (ciphertext) length in bytes. */
  readonly storedLength: number;
  #fileKey: Key;
  #reader: RangeReader;
  #get: (range?: [number, number], signal?: AbortSignal) => Promise<Response>;

  private constructor(
    objectName: string,
    fileKey: Key,
    reader: RangeReader,
    storedLength: number,
    get: (range?: [number, number], signal?: AbortSignal) => Promise<Response>,
  ) {
    this.objectName = objectName;
    this.#fileKey = fileKey;
    this.#reader = reader;
    this.metadata = reader.metadata as Metadata;
    this.plaintextLength = reader.plaintextLength;
    this.storedLength = storedLength;
    this.#get = get;
  }

  /**
   * Opens `objectName` through `options.presign` (a key or passphrase):
   * one presigned GET, and one ranged fetch of the head, whose preamble and
   * metadata are checked (`WrongKey`, `NameMismatch`, `SignerMismatch`, …).
   */
  static async open(objectName: string, options: DownloadCommon & OpenWith): Promise<StoredObject> {
    const made = target(options, { sealing: false });
    // One key derivation (Argon2id for a passphrase), then the file key.
    let fileKey: Key;
    try {
      fileKey = (made.key as Key).fileKey(objectName);
    } finally {
      made.release();
    }
    try {
      const presign = options.presign ?? presignWith();
      const headers = fileKey.sseCHeaders(objectName) as Headers;
      const sseC = {
        algorithm: "AES256" as const,
        key: headers["x-amz-server-side-encryption-customer-key"],
        keyMd5: headers["x-amz-server-side-encryption-customer-key-MD5"],
      };
      let presigned: Promise<PresignedRequest> | undefined;
      let etag: string | null = null;
      const get = async (range?: [number, number], signal?: AbortSignal, again = true): Promise<Response> => {
        presigned ??= Promise.resolve(presign({ op: "get", object: objectName, sseC }));
        const p = checkedPresign(
          await presigned.catch((err) => {
            presigned = undefined;
            throw err;
          }),
        );
        checkSseCEndpoint(p.url);
        const response = await fetch(p.url, {
          method: p.method,
          headers: {
            ...p.headers,
            ...(range ? { range: `bytes=${range[0]}-${range[1] - 1}` } : {}),
            // Every read after the head reads the object the head was checked on.
            ...(etag ? { "if-match": etag } : {}),
          },
          signal,
        }).catch((err) => {
          if (signal?.aborted) throw abortError(signal);
          throw s3sealError("Network", `ranged read: ${String((err as Error)?.message ?? err)}`);
        });
        if (response.ok) return response;
        if (response.status === 412) throw s3sealError("Corrupt", "the stored object changed while it was read");
        const refusal = readRefusal(response.status, await response.text().catch(() => ""), "ranged read") as S3sealError;
        // A presigned URL outlives neither its expiry nor the share's; ask once more.
        if (refusal.code === "Expired" && again) {
          presigned = undefined;
          return get(range, signal, false);
        }
        throw refusal;
      };
      const first = await get([0, HEAD_FETCH_SIZE], options.signal);
      // "bytes 0-196607/1234567": the total is the object's stored length.
      let total = /\/(\d+)$/.exec(first.headers.get("content-range") ?? "")?.[1] ?? (first.status === 200 ? first.headers.get("content-length") : null);
      if (total === null) {
        // A bucket whose CORS does not expose Content-Range: a HEAD says the length.
        const p = checkedPresign(await presign({ op: "head", object: objectName, sseC }));
        checkSseCEndpoint(p.url);
        const response = await fetch(p.url, { method: p.method, headers: p.headers, signal: options.signal });
        if (!response.ok) throw readRefusal(response.status, "", "ranged read");
        total = response.headers.get("content-length");
      }
      const length = Number(total);
      if (!total || !Number.isSafeInteger(length)) throw s3sealError("Http", "ranged read: the object's length is unknown (no Content-Range or Content-Length)");
      etag = first.headers.get("etag");
      // At most the head, whatever the server sends (one that ignores Range sends it all).
      const head = await readAtMost(first, Math.min(length, HEAD_FETCH_SIZE), { exact: false });
      return new StoredObject(objectName, fileKey, RangeReader.forObject(fileKey, objectName, head, length), length, get);
    } catch (err) {
      fileKey.free();
      throw err;
    }
  }

  /**
   * Plaintext bytes `[start, end)` (fewer at the object's end), fetching
   * only the segments that hold them. Each segment is authenticated; the
   * signature, which covers the whole object, is not checked: the bytes are
   * proven sealed under this object's file key at this position (by its
   * owner, or by anyone holding a share link), not proven the owner's
   * (FORMAT.md §5.4). `stream()` checks it.
   */
  async range(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start < end)) {
      throw s3sealError("InvalidInput", "invalid input: a range needs whole numbers 0 <= start < end");
    }
    const [first, last, from, to] = this.#reader.plan(start, end);
    const response = await this.#get([from, to], signal);
    if (response.status !== 206) {
      await response.body?.cancel();
      throw s3sealError("Http", `ranged read: the storage server answered ${response.status}, not the range asked for`);
    }
    return this.#reader.open(start, end, first, last, await readAtMost(response, to - from, { exact: true }));
  }

  /**
   * The whole plaintext, segment by segment as each authenticates, as
   * `open()` gives it: the stream closes only once the signature verified
   * and errors otherwise, so only a clean end says the bytes are the
   * owner's. A sink that commits on close (a file the user picked, a
   * download) therefore never holds a complete-looking file that failed.
   */
  stream(options: { signal?: AbortSignal; engine?: Engine; onProgress?: (progress: { bytesIn: number; bytesOut: number }) => void } = {}): ReadableStream<Uint8Array> {
    let opened: Opened | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        const response = await this.#get(undefined, options.signal);
        const length = response.headers.get("content-length");
        if (length !== null && Number(length) !== this.storedLength) {
          await response.body?.cancel();
          throw s3sealError("Corrupt", `the stored object changed while it was read (${length} bytes, its head said ${this.storedLength})`);
        }
        const body = resuming(response, this.storedLength, this.#get, options.signal);
        opened = openChunks(body, this.#fileKey, { objectName: this.objectName, signal: options.signal, engine: options.engine, onProgress: options.onProgress });
        reader = opened.stream.getReader();
      },
      pull: async (controller) => {
        const { done, value } = await reader!.read();
        if (!done) return controller.enqueue(value);
        // What was shown and named from the head (before any signature) is
        // what the signature proved.
        const proven = await opened!.metadata;
        const shown = this.metadata;
        if (proven.name !== shown.name || proven.type !== shown.type || proven.size !== shown.size) {
          throw s3sealError("Corrupt", "the stored object changed while it was read: its metadata differs from its head's");
        }
        controller.close();
      },
      cancel: (reason) => reader?.cancel(reason),
    });
  }

  /**
   * The whole plaintext into a Blob, all or nothing: it resolves only once
   * the signature verified. Its type is `inertMediaType(metadata.type)`
   * (see `openBlob`).
   */
  blob(options: DownloadCommon = {}): Promise<Blob> {
    const { signal, engine, onProgress } = options;
    const total = this.storedLength;
    const stream = this.stream({
      signal,
      engine,
      onProgress: onProgress && (({ bytesIn, bytesOut }) => onProgress({ phase: "downloading", bytesSent: bytesIn, bytesSealed: bytesOut, total })),
    });
    return collect(stream, inertMediaType(this.metadata.type));
  }

  /** Wipes the key; later reads fail. */
  close(): void {
    this.#reader.free();
    this.#fileKey.free();
  }
}

/** A response body whose failures mid-way are `Network` errors (a browser
 * says only "TypeError: network error"), or `Aborted` once `signal` is. */
function cutOffSaysNetwork(body: ReadableStream<Uint8Array>, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        throw s3sealError("Network", `the download was cut off: ${String((err as Error)?.message ?? err)}`);
      }
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Times a cut-off whole read is resumed in a row without a byte arriving. */
const RESUME_ATTEMPTS = 3;
/** The wait before the first resume, doubled for each next one, in milliseconds. */
const RESUME_DELAY_MS = 500;

/** Bytes a whole read hands the opener at a time, read into two buffers
 * used in turn. */
const BODY_CHUNK_SIZE = 1024 * 1024;

/** A body's reader: BYOB into our own memory where the body is a byte
 * stream, else the body's own chunks. The chunks a plain reader makes are
 * garbage that Chromium collects late: a 1 GiB GET piped into a file grew
 * it by 263-502 MiB that way, and by 116-123 MiB read into reused memory
 * (bench/results.md, design measurements). */
type BodyReader = { byob: ReadableStreamBYOBReader } | { plain: ReadableStreamDefaultReader<Uint8Array> };

function bodyReader(body: ReadableStream<Uint8Array>): BodyReader {
  let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    return { plain: body.getReader() };
  }
  // An engine that ignores `mode` hands back a default reader.
  const byob = typeof ReadableStreamBYOBReader !== "undefined" && reader instanceof ReadableStreamBYOBReader;
  return byob ? { byob: reader as ReadableStreamBYOBReader } : { plain: reader as ReadableStreamDefaultReader<Uint8Array> };
}

/**
 * A whole object's body that survives its connection breaking: it asks
 * for the rest (`Range: bytes=<received>-`, still pinned to the head's
 * ETag) and goes on, up to RESUME_ATTEMPTS times in a row without
 * progress; then it fails with `Network` (a browser says only "TypeError:
 * network error"), or `Aborted` once `signal` is. The opener sees one
 * unbroken run of ciphertext and checks it as ever. A chunk is free once
 * the read after the next one starts (an opener's push is done with it
 * sooner).
 */
function resuming(
  first: Response,
  storedLength: number,
  get: (range?: [number, number], signal?: AbortSignal) => Promise<Response>,
  signal?: AbortSignal,
): ChunkReader {
  let body: BodyReader | null = bodyReader(first.body as ReadableStream<Uint8Array>);
  let ended = false;
  // Once cut, each read's bytes are handed on at once: a failed read takes
  // the memory it was filling with it, and a link that keeps failing must
  // still move forward.
  let cut = false;
  let received = 0;
  let attempts = 0;
  let turn = 0;
  const buffers: (ArrayBuffer | undefined)[] = [];
  /** Asks for the rest after a cut, once the wait for this attempt is over. */
  const resume = async (): Promise<void> => {
    attempts++;
    await new Promise((resolve) => setTimeout(resolve, RESUME_DELAY_MS * 2 ** (attempts - 1)));
    if (signal?.aborted) throw abortError(signal);
    let rest: Response;
    try {
      rest = await get([received, storedLength], signal);
    } catch (err) {
      // A resume the network refused too counts as one more attempt.
      if ((err as S3sealError)?.code !== "Network" || attempts >= RESUME_ATTEMPTS) throw err;
      return;
    }
    // The rest, from exactly where the cut was (a 206 of that length), unless cancelled meanwhile.
    if (ended || rest.status !== 206 || Number(rest.headers.get("content-length")) !== storedLength - received) {
      await rest.body?.cancel();
      if (ended) return;
      throw s3sealError("Http", `resuming at byte ${received}: the storage server answered ${rest.status} with ${rest.headers.get("content-length")} bytes`);
    }
    body = bodyReader(rest.body as ReadableStream<Uint8Array>);
  };
  return {
    async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
      turn ^= 1;
      let buffer = buffers[turn];
      buffers[turn] = undefined;
      let filled = 0;
      while (!ended && filled < BODY_CHUNK_SIZE && !(cut && filled)) {
        if (!body) {
          await resume();
          continue;
        }
        try {
          if ("plain" in body) {
            const r = await body.plain.read();
            if (r.done) ended = true;
            else {
              received += r.value.length;
              attempts = 0;
              return r;
            }
          } else {
            buffer ??= new ArrayBuffer(BODY_CHUNK_SIZE);
            const r = await readInto(body.byob, new Uint8Array(buffer, filled, BODY_CHUNK_SIZE - filled));
            if (r.value) {
              buffer = r.value.buffer as ArrayBuffer;
              filled += r.value.length;
            } else {
              // Cancelled meanwhile: the memory is gone, and so is the read.
              buffer = undefined;
              filled = 0;
            }
            if (r.done) ended = true;
          }
        } catch (err) {
          if (signal?.aborted) throw abortError(signal);
          const failure = s3sealError("Network", `the download was cut off: ${String((err as Error)?.message ?? err)}`);
          if (received >= storedLength || attempts >= RESUME_ATTEMPTS) throw failure;
          // What this chunk held went with the failed read's memory: it is
          // asked for again from the last byte handed on.
          cut = true;
          body = null;
          buffer = undefined;
          filled = 0;
        }
      }
      buffers[turn] = buffer;
      if (!filled) return { done: true, value: undefined };
      received += filled;
      attempts = 0;
      return { done: false, value: new Uint8Array(buffer!, 0, filled) };
    },
    cancel(reason?: unknown): Promise<void> {
      const open = body;
      body = null;
      ended = true;
      if (!open) return Promise.resolve();
      return "plain" in open ? open.plain.cancel(reason) : open.byob.cancel(reason);
    },
  };
}

/** The first `max` bytes of a response's body (all of them, checked, when
 * `exact`); the rest is not read, whatever the server sends. */
async function readAtMost(response: Response, max: number, { exact }: { exact: boolean }): Promise<Uint8Array> {
  const out = new Uint8Array(max);
  let filled = 0;
  const reader = cutOffSaysNetwork(response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = max - filled;
    out.set(value.subarray(0, room), filled);
    filled += Math.min(room, value.length);
    if (value.length > room) {
      await reader.cancel();
      if (exact) throw s3sealError("Http", `ranged read: the storage server sent more than the ${max} bytes asked for`);
      break;
    }
  }
  if (exact && filled !== max) throw s3sealError("Truncated", `ranged read: ${filled} of ${max} bytes arrived`);
  return out.subarray(0, filled);
}

/**
 * Opens plaintext bytes `[start, end)` of a stored object, fetching only its
 * head and the segments that hold them (see `StoredObject.range`: segments
 * are authenticated, the whole object's signature is not checked). For
 * several ranges of one object, open a `StoredObject` once.
 */
export async function openRange(
  objectName: string,
  options: DownloadCommon & OpenWith,
  start: number,
  end: number,
): Promise<RangeOpened> {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start < end)) {
    throw s3sealError("InvalidInput", "invalid input: openRange needs whole numbers 0 <= start < end");
  }
  const stored = await StoredObject.open(objectName, options);
  try {
    const bytes = await stored.range(start, end);
    return { bytes, metadata: stored.metadata, plaintextLength: stored.plaintextLength };
  } finally {
    stored.close();
  }
}

/** An inspected object served by the package's Service Worker (see `registerServiceWorker`). */
export interface Exposed {
  /** Same-origin URL of its plaintext, for a <video>, <audio> or <img>, or a fetch (Range requests answered). */
  url: string;
  /** The same, answered as a download (`Content-Disposition: attachment`). */
  downloadUrl: string;
  /** Stops serving it: requests made once it resolves are 404. */
  close(): Promise<void>;
}

/**
 * Registers the package's Service Worker (`s3seal/sw`, sw.js next to this
 * file by default) and resolves once it controls this page, or to null
 * where none can (no Service Workers, e.g. a private window, one that
 * does not take control in `timeoutMs`, or another worker in control).
 * Registering at `scope` replaces any other worker registered there. Serve sw.js from the site's
 * root, or with `Service-Worker-Allowed: /`, so that its scope covers the
 * page. Then `expose()` serves inspected objects through it.
 */
export async function registerServiceWorker(
  url: string | URL = new URL("./sw.js", import.meta.url),
  { scope = "/", timeoutMs = 10000 }: { scope?: string; timeoutMs?: number } = {},
): Promise<ServiceWorkerOpener | null> {
  const container = globalThis.navigator?.serviceWorker;
  if (!container) return null;
  try {
    const registration = await container.register(url, { scope });
    const script = new URL(url, globalThis.location?.href).href;
    if (container.controller && container.controller.scriptURL !== script) {
      // Another worker controls this page (the site's own, or an older
      // s3seal one on its way out): ours takes over at the next load.
      return null;
    }
    if (!container.controller) {
      // A first visit: the worker claims this page once it is active.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the Service Worker did not take control")), timeoutMs);
        container.addEventListener("controllerchange", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    return new ServiceWorkerOpener(container, new URL("s3seal/open/", registration.scope));
  } catch {
    return null;
  }
}

/** How long the Service Worker may take to acknowledge a token, in milliseconds. */
const SW_ANSWER_MS = 10000;

/**
 * Posts `message` to the Service Worker with a port, last after
 * `transfer`, for its acknowledgement, and resolves once it comes: a
 * request made later must not overtake the message. Without one in
 * SW_ANSWER_MS it rejects (`Network`) when `required`, else resolves.
 */
function acknowledged(worker: ServiceWorker, message: object, transfer: Transferable[], required: boolean): Promise<void> {
  const ack = new MessageChannel();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ack.port1.close();
      if (required) reject(s3sealError("Network", "the Service Worker did not answer"));
      else resolve();
    }, SW_ANSWER_MS);
    ack.port1.onmessage = () => {
      clearTimeout(timer);
      ack.port1.close();
      resolve();
    };
    worker.postMessage(message, [...transfer, ack.port2]);
  });
}

/** Serves inspected objects at `<scope>s3seal/open/<token>/<name>` (see `registerServiceWorker`). */
export class ServiceWorkerOpener {
  #container: ServiceWorkerContainer;
  #base: URL;
  #open = 0;
  #pinger: ReturnType<typeof setInterval> | undefined;

  constructor(container: ServiceWorkerContainer, base: URL) {
    this.#container = container;
    this.#base = base;
  }

  /**
   * Serves `info` (what `WorkerClient.inspect` resolved to) through the
   * Service Worker: the page's Worker answers every request with verified
   * bytes over a port of their own, so no key reaches the Service Worker.
   * `onEvent` hears of each stream's verified end, failure and progress.
   */
  async expose(client: WorkerClient, info: WorkerInspectResult, onEvent?: (event: ServeEvent) => void): Promise<Exposed> {
    const controller = this.#container.controller;
    if (!controller) throw s3sealError("InvalidInput", "invalid input: no Service Worker controls this page");
    const channel = new MessageChannel();
    await client.serve(info.handle, channel.port2, onEvent);
    const token = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    const fileName = info.fileName ?? "opened.bin";
    // `sandboxedMediaType` from the Worker; without it, opaque bytes.
    const type = info.servedType ?? "application/octet-stream";
    await acknowledged(controller, { s3seal: "expose", token, size: info.plaintextLength, type, fileName }, [channel.port1], true);
    // An idle Service Worker is stopped (and forgets its tokens) after
    // about 30 s; a message is an event that keeps it running.
    if (this.#open++ === 0) this.#pinger = setInterval(() => this.#container.controller?.postMessage({ s3seal: "ping", token }), 10000);
    const url = new URL(`${token}/${encodeURIComponent(fileName)}`, this.#base).href;
    let closed = false;
    return {
      url,
      downloadUrl: `${url}?download`,
      close: async () => {
        if (closed) return;
        closed = true;
        if (--this.#open === 0) clearInterval(this.#pinger);
        const controller = this.#container.controller;
        // (A worker gone meanwhile forgot the token anyway.)
        if (controller) await acknowledged(controller, { s3seal: "revoke", token }, [], false);
      },
    };
  }
}

/**
 * A share link for one object: the object name and its file key travel in
 * the URL fragment, which browsers never send to a server.
 */
export function shareLink(base: string | URL, objectName: string, fileKey: Key): string {
  const url = new URL(base);
  url.hash = `${objectName}.${fileKey.toText()}`;
  return url.toString();
}

/** Parses a share link's fragment: `{ objectName, fileKey }` (a Key), or null. */
export function parseShareLink(link: string | URL): { objectName: string; fileKey: Key } | null {
  const hash = new URL(link).hash.replace(/^#/, "");
  const match = /^([0-9a-f]{32}(?:\.[0-9a-f]{64})?\.s3seal)\.(s3seal-file-[A-Za-z0-9_-]{43})$/.exec(hash);
  if (!match) return null;
  return { objectName: match[1], fileKey: Key.fromText(match[2]) };
}

let readyPromise: Promise<void> | undefined;

/**
 * Loads the wasm module once. Call (and await) before anything else.
 * `moduleOrPath` is optional: a URL, a Response, bytes or a WebAssembly.Module
 * (default: s3seal_wasm_bg.wasm next to this file, fetched, or in Node read
 * from disk: no bundler needed).
 */
export function ready(moduleOrPath?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void> {
  readyPromise ??= (async () => {
    const source = moduleOrPath ?? (await nodeWasm());
    await initWasm(source === undefined ? undefined : { module_or_path: source });
    wasmReady = true;
    if (helpers === undefined) useHelpers(defaultCipherWorkers());
    else setCipherHelpers(helpers);
    // On one core a second thread only adds the copies.
    const hasher = defaultCipherWorkers() > 0 ? new ReceiptHasher(passable(moduleOrPath)) : undefined;
    useReceiptHasher(hasher);
  })();
  return readyPromise;
}

/** What ready() was given, in a form a Worker can load the wasm from too
 * (undefined: the default, next to the package's scripts). */
function passable(source: unknown): string | WebAssembly.Module | undefined {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source !== "string" && !(source instanceof URL)) return undefined;
  try {
    return new URL(source, (globalThis as { location?: { href: string } }).location?.href).href;
  } catch {
    return undefined; // relative, with no location to resolve it against
  }
}

/** In Node, the module's bytes from disk (its fetch reads no file: URL);
 * elsewhere undefined. `process.getBuiltinModule` (Node 20.16+) needs no
 * import that bundlers would try to resolve for the browser. */
async function nodeWasm(): Promise<BufferSource | undefined> {
  type Fs = { readFile(path: URL): Promise<Uint8Array> };
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?(id: string): unknown } }).process;
  if (!proc?.versions?.node) return undefined;
  const fs = proc.getBuiltinModule?.("node:fs/promises") as Fs | undefined;
  if (!fs) throw s3sealError("InvalidInput", "invalid input: this Node has no process.getBuiltinModule (20.16+): pass the wasm bytes to ready()");
  return (await fs.readFile(new URL("./s3seal_wasm_bg.wasm", import.meta.url))) as BufferSource;
}

let wasmReady = false;
let helpers: CipherHelper[] | undefined;

/** One helper where a second core and Workers exist (more helpers than
 * cores only take turns with the sealing thread). */
function defaultCipherWorkers(): number {
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
export function cipherWorkers(count: number): Promise<number> {
  if (!Number.isInteger(count) || count < 0) throw s3sealError("InvalidInput", "invalid input: cipherWorkers(count) needs a whole number >= 0");
  const made = useHelpers(count);
  return Promise.all(made.map((h) => h.started())).then((ok) => ok.filter(Boolean).length);
}

function useHelpers(count: number): CipherHelper[] {
  // Sealing already running keeps its helpers, which finish what they have.
  for (const h of helpers ?? []) h.retire();
  helpers = Array.from({ length: count }, () => new CipherHelper());
  if (wasmReady) setCipherHelpers(helpers);
  return helpers;
}

function abortError(signal: AbortSignal | undefined): unknown {
  return signal?.reason instanceof Error ? signal.reason : new DOMException("The operation was aborted.", "AbortError");
}

/** Bytes per chunk when the source is already in memory. */
const CHUNK_SIZE = 1024 * 1024;

/** Input bytes whose segments may be in the engine at once: enough that it
 * never waits for us, and that this thread seals one block while the cipher
 * worker seals another (bench/results.md, "design measurements"). */
const WINDOW_SIZE = 4 * 1024 * 1024;

function toStream(source: unknown): ReadableStream<Uint8Array> {
  if (source instanceof ReadableStream) return source;
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.body) throw s3sealError("InvalidInput", "invalid input: the response has no body");
    return source.body;
  }
  throw s3sealError("InvalidInput", "invalid input: expected a Blob, ReadableStream, Response or bytes");
}

/** Segments per chunk when sealing bytes in memory (~1 MiB). */
const SEGMENTS_PER_CHUNK = 4;

/** What `pump` reads from `source`, and whether its chunks may be lent to
 * a SealStream (`pushLent`: nobody changes them after they are read).
 * Blobs are read by `blobChunks`, in chunks that end on segment boundaries
 * as bytes in memory are read. Bytes in memory are read as views (no
 * copies, and no stream around them) of about CHUNK_SIZE; when `aligned`,
 * they end on segment boundaries, so no segment is ever copied. One huge
 * chunk would queue every segment's cipher call at once instead of a
 * window. */
function toReader(source: Source, { aligned = false } = {}): { reader: ChunkReader; lent: boolean } {
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    return { reader: blobChunks(source, (n) => segmentOffset(n * SEGMENTS_PER_CHUNK)), lent: true };
  }
  if (!ArrayBuffer.isView(source)) {
    const owned = !(source instanceof ReadableStream); // a Response's own stream
    return { reader: toStream(source).getReader(), lent: owned };
  }
  const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let at = 0;
  let chunks = 0;
  const reader: ChunkReader = {
    read(): ReadableStreamReadResult<Uint8Array> {
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

// A pull-driven transform through a SealStream/OpenStream: each push starts
// its segments' cipher calls at once and returns a promise of the pieces;
// up to WINDOW_SIZE input bytes stay in flight so the engine runs back to
// back, and memory stays bounded whatever the size.
/** A SealStream or OpenStream, as `pump` drives it. */
interface PushEngine {
  push(chunk: Uint8Array): Promise<Uint8Array[]>;
  pushLent?(chunk: Uint8Array): Promise<Uint8Array[]>;
  finish(): Promise<Uint8Array[]>;
}

interface PumpOptions {
  onChunk?: (chunk: Uint8Array) => void;
  onPieces?: (pieces: Uint8Array[]) => void;
  signal?: AbortSignal;
  free: () => void;
  lent?: boolean;
}

function pump(reader: ChunkReader, engine: PushEngine, { onChunk, onPieces, signal, free, lent = false }: PumpOptions): ReadableStream<Uint8Array> {
  const queue: { pieces: Promise<Uint8Array[]>; size: number }[] = [];
  let inFlight = 0;
  let ended = false;
  let freed = false;
  const release = () => {
    if (!freed) {
      freed = true;
      free();
    }
  };
  const enqueue = (pieces: Promise<Uint8Array[]>, size: number) => {
    pieces.catch(() => {}); // awaited in order below; no unhandled rejections meanwhile
    queue.push({ pieces, size });
    inFlight += size;
  };
  return new ReadableStream<Uint8Array>(
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
              enqueue(lent && engine.pushLent ? engine.pushLent(value) : engine.push(value), value.length);
              onChunk?.(value);
            }
            const next = queue.shift()!;
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
export function seal(source: Source, options: SealCommon & ToRecipient): SealedToRecipient;
export function seal(source: Source, options: SealCommon & WithKey): Sealed;
export function seal(source: Source, options: SealOptions): Sealed | SealedToRecipient {
  const { signal, onProgress, engine } = options ?? {};
  const made = target(options, { sealing: true });
  const file = typeof Blob !== "undefined" && source instanceof Blob ? source : undefined;
  const size = options.size ?? file?.size;
  const metadata = {
    name: options.name ?? (typeof File !== "undefined" && file instanceof File ? file.name : ""),
    type: options.type ?? file?.type ?? "",
    size,
  };
  let sealer: SealStream;
  try {
    sealer = made.recipient
      ? SealStream.toRecipient(made.recipient, metadata, { engine })
      : new SealStream(made.key as Key, metadata, { engine });
  } finally {
    // The sealer has derived what it needs; a passphrase Key made here is done.
    made.release();
  }
  const objectName = sealer.objectName;
  const objectId = sealer.objectId;
  // Sealed to a recipient, the object has no share key for the sealer.
  const fileKey = made.recipient ? undefined : sealer.fileKey();
  const sseC = sealer.sseCHeaders() as Headers;
  const sealedSize = size === undefined ? undefined : sealer.objectLength(size);
  const engineName = sealer.engine() as Promise<"webcrypto" | "wasm">;
  engineName.catch(() => {});
  let bytesIn = 0;
  let bytesOut = 0;
  const { reader, lent } = toReader(source, { aligned: true });
  const stream = pump(reader, sealer as unknown as PushEngine, {
    lent,
    signal,
    free: () => sealer.free(),
    onChunk: (input) => (bytesIn += input.length),
    onPieces: (pieces) => {
      for (const p of pieces) bytesOut += p.length;
      onProgress?.({ bytesIn, bytesOut, total: size });
    },
  });
  return { stream, objectName, objectId, fileKey: fileKey as Key, sseCHeaders: sseC, size: sealedSize, engine: engineName };
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
export function open(source: Source, key: Key, options: OpenOptions = {}): Opened {
  if (!(key instanceof Key)) throw s3sealError("InvalidKey", "invalid key: the key must be a Key");
  return openChunks(toReader(source).reader, key, options);
}

/** `open` of chunks read by `reader`. */
function openChunks(reader: ChunkReader, key: Key, options: OpenOptions): Opened {
  const opener = new OpenStream(key, { engine: options.engine });
  if (options.objectName !== undefined) opener.expectName(options.objectName);
  let resolveMeta: (meta: Metadata) => void = () => {};
  let rejectMeta: (reason: unknown) => void = () => {};
  const metadata = new Promise<Metadata>((resolve, reject) => {
    resolveMeta = resolve;
    rejectMeta = reject;
  });
  metadata.catch(() => {});
  let bytesIn = 0;
  let bytesOut = 0;
  let known = false;
  const learn = () => {
    if (!known) {
      const meta = opener.metadata as Metadata | undefined;
      if (meta) {
        known = true;
        resolveMeta(meta);
      }
    }
  };
  const inner = pump(reader, opener as unknown as PushEngine, {
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
  const stream = new ReadableStream<Uint8Array>({
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

async function collect(stream: ReadableStream<Uint8Array>, type: string): Promise<Blob> {
  let parts: BlobPart[] = [];
  let pending = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value as BlobPart);
    pending += value.length;
    if (pending >= FOLD_SIZE) {
      parts = [new Blob(parts)];
      pending = 0;
    }
  }
  return new Blob(parts, { type });
}

export type SealedBlob<S> = Omit<S, "stream" | "engine"> & { blob: Blob; engine: "webcrypto" | "wasm" };

/** Seals into a Blob (convenience over `seal`). */
export async function sealBlob(source: Source, options: SealCommon & ToRecipient): Promise<SealedBlob<SealedToRecipient>>;
export async function sealBlob(source: Source, options: SealCommon & WithKey): Promise<SealedBlob<Sealed>>;
export async function sealBlob(source: Source, options: SealOptions): Promise<SealedBlob<Sealed | SealedToRecipient>> {
  const sealed = seal(source, options as SealCommon & WithKey);
  const blob = await collect(sealed.stream, "application/octet-stream");
  const { stream, engine, ...rest } = sealed;
  return { ...rest, blob, engine: await engine };
}

/**
 * Opens into a Blob, all or nothing: resolves only when the whole object
 * verified, with the sealed filename and type. The Blob's type is
 * `inertMediaType(metadata.type)`: the sealed type is the sealer's word, and
 * an HTML or SVG Blob would run its scripts in this page's origin once its
 * blob: URL is opened. Show `metadata.type` as text only.
 */
export async function openBlob(source: Source, key: Key, options?: OpenOptions): Promise<{ blob: Blob; metadata: Metadata }> {
  const opened = open(source, key, options);
  const [blob, metadata] = await Promise.all([collect(opened.stream, ""), opened.metadata]);
  return { blob: new Blob([blob], { type: inertMediaType(metadata.type) }), metadata };
}

interface Pending {
  resolve: (value: never) => void;
  reject: (reason: unknown) => void;
  onProgress?: (progress: never) => void;
}

/** What every `WorkerClient` call may carry besides its own options. */
export interface WorkerCallOptions<P> {
  /** Stops the call in the worker (it rejects with code `Aborted`). */
  signal?: AbortSignal;
  onProgress?: (progress: P) => void;
}

/**
 * Runs sealing, opening, uploading and downloading in a Web Worker so the
 * page stays responsive; keys stay in the worker except as text the caller
 * passes or gets back. `worker` is
 * `new Worker(new URL("s3seal/worker", import.meta.url), { type: "module" })`
 * (or the URL of worker.js next to this file). Errors are S3sealErrors.
 */
export class WorkerClient {
  #worker: Worker;
  #next = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<number, (event: ServeEvent) => void>();

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.addEventListener("message", (event: MessageEvent<WorkerReply>) => {
      const { id, progress, result, error, handle, event: served } = event.data ?? ({} as WorkerReply);
      if (id === 0 && served) return this.#listeners.get(handle ?? 0)?.(served);
      const pending = this.#pending.get(id);
      if (!pending) return;
      if (progress) return pending.onProgress?.(progress as never);
      this.#pending.delete(id);
      if (error) {
        // The worker reports the code its error carried: one of ours.
        const err = s3sealError(error.code as S3sealErrorCode, error.message);
        if (error.status !== undefined) err.status = error.status;
        pending.reject(err);
      } else pending.resolve(result as never);
    });
  }

  #call<T, P>(message: Omit<WorkerRequest, "id">, { signal, onProgress }: WorkerCallOptions<P> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      this.#pending.set(id, { resolve, reject, onProgress } as Pending);
      signal?.addEventListener("abort", () => this.#worker.postMessage({ op: "abort", job: id, id: 0 }), { once: true });
      this.#worker.postMessage({ ...message, id });
    });
  }

  /** Seals `file` with a key text (`s3seal-root-…`), a passphrase, or to a recipient (`s3seal1…`). */
  seal(
    file: Blob,
    { name, type, signal, onProgress, ...secret }: WorkerSecret & { name?: string; type?: string } & WorkerCallOptions<SealProgress> = {},
  ): Promise<WorkerSealResult> {
    return this.#call({ op: "seal", file, name, type, ...secret }, { signal, onProgress });
  }

  /** Opens a sealed Blob with a key text or passphrase, all or nothing (a file key needs `objectName`). */
  open(
    blob: Blob,
    {
      objectName,
      signal,
      onProgress,
      ...secret
    }: WorkerSecret & { objectName?: string } & WorkerCallOptions<{ bytesIn: number; bytesOut: number }> = {},
  ): Promise<WorkerOpenResult> {
    return this.#call({ op: "open", blob, objectName, ...secret }, { signal, onProgress });
  }

  /**
   * Seals `file` and uploads it through `presign` (see `upload()`): with
   * `recipient` the result is a receipt; with `newKey` a fresh root key is
   * made and returned once as text; `resume` keeps an interrupted multipart
   * upload resumable after a reload; `strongPassphrase` refuses a guessable
   * passphrase (`WeakPassphrase`).
   */
  upload(
    file: Blob,
    {
      name,
      type,
      presign,
      settings,
      resume,
      strongPassphrase,
      signal,
      onProgress,
      ...secret
    }: WorkerSecret &
      Pick<WorkerRequest, "name" | "type" | "presign" | "settings" | "resume" | "strongPassphrase" | "keepFileKey"> &
      WorkerCallOptions<TransferProgress> = {},
  ): Promise<WorkerUploadResult> {
    return this.#call({ op: "upload", file, name, type, presign, settings, resume, strongPassphrase, ...secret }, { signal, onProgress });
  }

  /**
   * Writes the manifest of `entries` (FORMAT.md §10) and uploads it like a
   * file (see `upload`): its share link opens them all. Seal it with the
   * key (or passphrase) that sealed the files.
   */
  uploadManifest(
    entries: ManifestEntry[],
    {
      name = "manifest",
      presign,
      settings,
      signal,
      onProgress,
      ...secret
    }: WorkerSecret & Pick<WorkerRequest, "name" | "presign" | "settings"> & WorkerCallOptions<TransferProgress> = {},
  ): Promise<WorkerUploadResult> {
    return this.#call({ op: "upload", manifest: entries, name, presign, settings, ...secret }, { signal, onProgress });
  }

  /** Downloads and opens `objectName` through `presign`, all or nothing (see `download()`). */
  download(
    objectName: string,
    { presign, signal, onProgress, ...secret }: WorkerSecret & { presign?: WorkerPresign } & WorkerCallOptions<TransferProgress> = {},
  ): Promise<WorkerOpenResult> {
    return this.#call({ op: "download", objectName, presign, ...secret }, { signal, onProgress });
  }

  /**
   * Opens `objectName` where it lies (see `StoredObject`): one presigned
   * GET and its head, checked. Resolves to its name, type and size, and,
   * for a list of files, the checked list. Then `read` it whole, `serve`
   * it to a Service Worker, and `release` it.
   */
  inspect(
    objectName: string,
    { presign, signal, onProgress, ...secret }: WorkerSecret & { presign?: WorkerPresign } & WorkerCallOptions<TransferProgress> = {},
  ): Promise<WorkerInspectResult> {
    return this.#call({ op: "inspect", objectName, presign, ...secret }, { signal, onProgress });
  }

  /** The whole plaintext of an inspected object, all or nothing (see `download`). */
  read(handle: number, options: WorkerCallOptions<TransferProgress> = {}): Promise<WorkerOpenResult> {
    return this.#call({ op: "read", handle }, options);
  }

  /**
   * Serves an inspected object's bytes on `port` (`ByteRequest`s, as the
   * package's Service Worker asks them); `onEvent` hears of each stream's
   * verified end or failure, and of progress.
   */
  serve(handle: number, port: MessagePort, onEvent?: (event: ServeEvent) => void): Promise<void> {
    if (onEvent) this.#listeners.set(handle, onEvent);
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject } as Pending);
      this.#worker.postMessage({ op: "serve", handle, port, id }, [port]);
    });
  }

  /**
   * Writes an inspected object's whole plaintext into `target` (a file from
   * `showSaveFilePicker()`), verified as it streams: the file is complete
   * only once the signature verified, and a failure aborts the write, so it
   * keeps nothing of it. Where File System Access exists (Chromium).
   */
  save(handle: number, target: FileSystemFileHandle, options: WorkerCallOptions<TransferProgress> = {}): Promise<void> {
    return this.#call({ op: "save", handle, target }, options);
  }

  /** Closes an inspected object: its key is wiped, its port stops answering. */
  release(handle: number): Promise<void> {
    this.#listeners.delete(handle);
    return this.#call({ op: "release", handle });
  }

  /** Stops the worker. */
  terminate(): void {
    this.#worker.terminate();
  }
}
