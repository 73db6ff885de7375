// Types of the s3seal package. The classes come from the wasm module; their
// exact signatures are generated into s3seal_wasm.d.ts.
import { Key, Opener, Sealer } from "./s3seal_wasm.js";

export { Key, Opener, Sealer };

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
  | "Random";

/** An error thrown by s3seal: a real `Error` with `name === "S3sealError"`. */
export interface S3sealError extends Error {
  name: "S3sealError";
  code: S3sealErrorCode;
}

/** True for errors thrown by s3seal. */
export function isS3sealError(err: unknown): err is S3sealError;

/** Ciphertext segment size in bytes (256 KiB). */
export const SEGMENT_SIZE: number;

/** Loads the wasm module once; await it before anything else. */
export function ready(moduleOrPath?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** S3 header name -> value. SSE-C sets contain key material: never log them. */
export type Headers = Record<string, string>;

/** SSE-C headers of the object `objectName` (or id) for `key`. */
export function sseCHeaders(key: Key, objectName: string): Headers;
/** SSE-S3 headers. */
export function sseS3Headers(): Headers;
/** SSE-KMS headers with an optional key id. */
export function sseKmsHeaders(keyId?: string | null): Headers;
/** Throws `InvalidInput` unless SSE-C key material may go to `endpoint` (https, or http on loopback). */
export function checkSseCEndpoint(endpoint: string): void;

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

export interface SealOptions {
  /** A root key or passphrase `Key` (a file key cannot seal new objects). */
  key: Key;
  /** Filename to seal [default: the File's name]. */
  name?: string;
  /** Media type to seal [default: the Blob's type]. */
  type?: string;
  /** Plaintext size, if the source is a stream of known length. */
  size?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SealProgress) => void;
}

export interface Sealed {
  /** The sealed bytes, produced as they are read. */
  stream: ReadableStream<Uint8Array>;
  /** Object name for the bucket: `<object id>.s3seal` (add a prefix if you like). */
  objectName: string;
  objectId: string;
  /** This object's own key (a share key). Call `free()` when done. */
  fileKey: Key;
  /** The SSE-C headers for this object. */
  sseCHeaders: Headers;
  /** Total sealed size, when the plaintext size is known. */
  size?: number;
}

export type Source = Blob | ReadableStream<Uint8Array> | Response | ArrayBuffer | ArrayBufferView;

/** Seals a Blob/File or stream; memory stays bounded whatever the size. */
export function seal(source: Source, options: SealOptions): Sealed;

export interface OpenOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { bytesIn: number; bytesOut: number }) => void;
}

export interface Opened {
  /** Verified plaintext, segment by segment; errors if the object fails later. */
  stream: ReadableStream<Uint8Array>;
  /** Resolves once the preamble verified (rejects with the error otherwise). */
  metadata: Promise<Metadata>;
}

/** Opens a sealed object as a stream. */
export function open(source: Source, key: Key, options?: OpenOptions): Opened;

/** Seals into a Blob. */
export function sealBlob(source: Source, options: SealOptions): Promise<Omit<Sealed, "stream"> & { blob: Blob }>;

/** Opens into a Blob, all or nothing. */
export function openBlob(source: Source, key: Key, options?: OpenOptions): Promise<{ blob: Blob; metadata: Metadata }>;

export interface WorkerSealResult {
  blob: Blob;
  objectName: string;
  objectId: string;
  /** `s3seal-file-…`: the share key of this object. */
  fileKey: string;
  sseCHeaders: Headers;
}

/** Seals and opens in a Web Worker (see worker.js). Errors are S3sealErrors. */
export class WorkerClient {
  constructor(worker: Worker);
  seal(
    file: Blob,
    options: { keyText?: string; passphrase?: string; name?: string; type?: string; onProgress?: (p: SealProgress) => void },
  ): Promise<WorkerSealResult>;
  open(
    blob: Blob,
    options: { keyText?: string; passphrase?: string; onProgress?: (p: { bytesIn: number; bytesOut: number }) => void },
  ): Promise<{ blob: Blob; metadata: Metadata }>;
  terminate(): void;
}
