// Types of the s3seal package. The classes come from the wasm module; their
// exact signatures are generated into s3seal_wasm.d.ts.
import { Key, OpenStream, Opener, Recipient, SealStream, Sealer, segmentOffset } from "./s3seal_wasm.js";

export { Key, OpenStream, Opener, Recipient, SealStream, Sealer, segmentOffset };

/**
 * Who a sealing is for: exactly one of a `Key` (root key), a passphrase, or
 * a recipient's public key (`Recipient` or its `"s3seal1…"` text; the sealer
 * then keeps no key at all).
 */
export type SealFor =
  | { key: Key; passphrase?: never; recipient?: never }
  | { passphrase: string; key?: never; recipient?: never }
  | { recipient: Recipient | string; key?: never; passphrase?: never };

/** Who opens: a `Key` (root, file or identity) or a passphrase. */
export type OpenWith = { key: Key; passphrase?: never } | { passphrase: string; key?: never };

/**
 * The AES-GCM engine: `"auto"` (default) uses WebCrypto where the page is a
 * secure context (https or localhost; ~10x faster) and the wasm `aes-gcm`
 * otherwise. Both produce the same bytes.
 */
export type Engine = "auto" | "webcrypto" | "wasm";

/** Stable error codes (`err.code`) of every error s3seal throws. */
export type S3sealErrorCode =
  | "WrongKey"
  | "Corrupt"
  | "Truncated"
  | "NotSealed"
  | "UnsupportedVersion"
  | "Malformed"
  | "InvalidKey"
  | "InvalidBase64"
  | "InvalidInput"
  | "KeySource"
  | "InsecureEndpoint"
  | "NameMismatch"
  | "SignerMismatch"
  | "BadSignature"
  | "Random"
  | "Engine"
  | "Http"
  | "Network"
  | "Presign"
  | "Expired"
  | "Aborted";

/** An error thrown by s3seal: a real `Error` with `name === "S3sealError"`. */
export interface S3sealError extends Error {
  /** "AbortError" when cancelled through an AbortSignal (code "Aborted"). */
  name: "S3sealError" | "AbortError";
  code: S3sealErrorCode;
  /** HTTP status, for `Http`, `Expired` and `Presign` errors. */
  status?: number;
  /** Multipart part number, for `Http` errors of one part. */
  partNumber?: number;
}

/** True for errors thrown by s3seal. */
export function isS3sealError(err: unknown): err is S3sealError;

/** Ciphertext segment size in bytes (256 KiB). */
export const SEGMENT_SIZE: number;

/** Loads the wasm module once; await it before anything else. */
export function ready(moduleOrPath?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

/**
 * How many Workers of its own the WebCrypto engine deals segments to besides
 * the calling thread (default 1 with 2+ cores, started at first use; 0 runs
 * every segment on the calling thread). Applies to sealing and opening
 * started afterwards. Starts them now; resolves to how many run (fewer where
 * Workers cannot start, e.g. under a Content-Security-Policy: their segments
 * then run on the calling thread). Throws `InvalidInput` unless `count` is a
 * whole number >= 0.
 */
export function cipherWorkers(count: number): Promise<number>;

/** S3 header name -> value. SSE-C sets contain key material: never log them. */
export type Headers = Record<string, string>;

/** SSE-C headers of the object `objectName` (or id) for `key`. */
export function sseCHeaders(key: Key, objectName: string): Headers;
/** SSE-S3 headers. */
export function sseS3Headers(): Headers;
/** SSE-KMS headers with an optional key id. */
export function sseKmsHeaders(keyId?: string | null): Headers;
/** Throws `InsecureEndpoint` unless SSE-C key material may go to `endpoint` (https, or http on loopback). */
export function checkSseCEndpoint(endpoint: string): void;

/**
 * The type to give a Blob of opened bytes whose sealed type is `mediaType`:
 * kept only for inert images, audio and video (image/png, image/jpeg,
 * image/gif, image/webp, image/avif, audio/mpeg, audio/ogg, audio/wav,
 * audio/webm, video/mp4, video/webm), else "application/octet-stream".
 * The sealed type is the sealer's word: an HTML or SVG Blob would run its
 * scripts in your page's origin once its blob: URL is opened. `openBlob`
 * and `download` apply it; use it for any Blob you make from `open()`'s
 * stream, and show `metadata.type` as text only.
 */
export function inertMediaType(mediaType: string): string;

/**
 * A safe file name for the name sealed in an object: invisible and bidi
 * characters dropped (no `invoice\u202Efdp.exe`), no path, no hidden or
 * Windows device names, at most 200 bytes; `undefined` when nothing usable
 * is left. The sealed name is the sealer's word: show and save this one.
 */
export function safeFileName(sealed: string): string | undefined;

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
export function passphraseStrength(text: string): PassphraseStrength;

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

/** `key` must be a root key or passphrase `Key` (a file key cannot seal new objects). */
export type SealOptions = SealCommon & SealFor;

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

export type Source = Blob | ReadableStream<Uint8Array> | Response | ArrayBuffer | ArrayBufferView;

/** Sealed to a recipient: the same, without a key for the sealer. */
export type SealedToRecipient = Omit<Sealed, "fileKey">;

type ToRecipient = SealCommon & { recipient: Recipient | string };
type WithKey = SealCommon & ({ key: Key; passphrase?: never } | { passphrase: string; key?: never });

/** Seals a Blob/File or stream; memory stays bounded whatever the size. */
export function seal(source: Source, options: ToRecipient): SealedToRecipient;
export function seal(source: Source, options: WithKey): Sealed;

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

/** Opens a sealed object as a stream. */
export function open(source: Source, key: Key, options?: OpenOptions): Opened;

/** Seals into a Blob. */
export function sealBlob(
  source: Source,
  options: ToRecipient,
): Promise<Omit<SealedToRecipient, "stream" | "engine"> & { blob: Blob; engine: "webcrypto" | "wasm" }>;
export function sealBlob(
  source: Source,
  options: WithKey,
): Promise<Omit<Sealed, "stream" | "engine"> & { blob: Blob; engine: "webcrypto" | "wasm" }>;

/** Opens into a Blob, all or nothing. */
export function openBlob(source: Source, key: Key, options?: OpenOptions): Promise<{ blob: Blob; metadata: Metadata }>;

export interface WorkerSealResult {
  blob: Blob;
  objectName: string;
  objectId: string;
  /** `s3seal-file-…`: the share key of this object (null when sealed to a recipient). */
  fileKey: string | null;
  sseCHeaders: Headers;
}

/** Seals and opens in a Web Worker (see worker.js). Errors are S3sealErrors. */
export class WorkerClient {
  constructor(worker: Worker);
  seal(
    file: Blob,
    options: {
      keyText?: string;
      passphrase?: string;
      /** Seal to this public key (`s3seal1…`) instead. */
      recipient?: string;
      name?: string;
      type?: string;
      onProgress?: (p: SealProgress) => void;
    },
  ): Promise<WorkerSealResult>;
  open(
    blob: Blob,
    options: {
      keyText?: string;
      passphrase?: string;
      /** Required with a file key: see `OpenOptions.objectName`. */
      objectName?: string;
      onProgress?: (p: { bytesIn: number; bytesOut: number }) => void;
    },
  ): Promise<{ blob: Blob; metadata: Metadata }>;
  terminate(): void;
}

/** One request to presign (the s3seal JSON API; see the README). */
export interface PresignRequest {
  op: "put" | "createMultipart" | "uploadPart" | "completeMultipart" | "abortMultipart" | "head" | "get";
  /** `<32 hex>.s3seal`; the backend adds its prefix. */
  object: string;
  /** The object's SSE-C headers (derived key; never the file key). */
  sseC?: { algorithm: "AES256"; key: string; keyMd5: string };
  size?: number;
  uploadId?: string;
  partNumber?: number;
}

/** A presigned request: send exactly these headers. */
export interface PresignedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export type PresignFunction = (request: PresignRequest) => Promise<PresignedRequest> | PresignedRequest;

/** A presign function for a backend speaking the s3seal JSON API (default "/api/presign"). */
export function presignWith(endpoint?: string, init?: RequestInit): PresignFunction;

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
   * Keeps an interrupted multipart upload's state (no secrets) so the same
   * file with the same key resumes after a reload; a changed file is not
   * resumed (its old upload is aborted). See `indexedDbStore()`. Not used
   * with a recipient (it would mean keeping the file key in the browser).
   */
  resumeStore?: ResumeStore;
}

export type UploadOptions = UploadCommon & SealFor;

/** Key-value storage for upload state; methods may return promises. */
export interface ResumeStore {
  get(id: string): Promise<string | null> | string | null;
  set(id: string, value: string): Promise<unknown> | unknown;
  delete(id: string): Promise<unknown> | unknown;
}

/** A ResumeStore in IndexedDB (pages and Workers). */
export function indexedDbStore(name?: string): ResumeStore;

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

/** Seals and uploads through presigned URLs (SSE-C on every request). */
export function upload(file: Blob, options: UploadCommon & { recipient: Recipient | string; key?: never; passphrase?: never }): Promise<Receipt>;
export function upload(
  file: Blob,
  options: UploadCommon & ({ key: Key; passphrase?: never } | { passphrase: string; key?: never }),
): Promise<Uploaded>;

export type DownloadOptions = DownloadCommon & OpenWith;

export interface DownloadCommon {
  presign?: PresignFunction;
  signal?: AbortSignal;
  engine?: Engine;
  onProgress?: (progress: TransferProgress) => void;
}

/** Downloads and opens; resolves only if everything verified. */
export function download(objectName: string, options: DownloadOptions): Promise<{ blob: Blob; metadata: Metadata }>;

/** A share link: object name and file key in the URL fragment. */
export function shareLink(base: string | URL, objectName: string, fileKey: Key): string;

/** Parses a share link's fragment. */
export function parseShareLink(link: string | URL): { objectName: string; fileKey: Key } | null;
