// s3seal Web Worker: seals, opens, uploads and downloads off the main
// thread. Talk to it with `WorkerClient` from the package; the protocol is
// `WorkerRequest` in, `WorkerReply` out, each carrying the request's `id`.
import {
  Key,
  MANIFEST_TYPE,
  download,
  indexedDbStore,
  manifestText,
  openBlob,
  parseManifest,
  passphraseStrength,
  presignWith,
  ready,
  safeFileName,
  sealBlob,
  StoredObject,
  inertMediaType,
  sandboxedMediaType,
  upload,
} from "./index.js";
import { s3sealError } from "./error.js";
import type { ManifestEntry } from "./index.js";
import type { Metadata, SealProgress, TransferProgress, UploadCommon } from "./index.js";

/** Where the worker asks for presigned requests: a backend speaking the
 * s3seal contract (a function cannot cross to a Worker). */
export interface WorkerPresign {
  /** Default "/api/presign". */
  endpoint?: string;
  /** Sent with every presign request, e.g. `authorization` for a private backend. */
  headers?: Record<string, string>;
}

/** Who a request seals for or opens with: key text (`s3seal-root-…`,
 * `s3seal-file-…`, an identity), a passphrase, or for sealing a recipient
 * (`s3seal1…`) or a new random root key (`newKey`). */
export interface WorkerSecret {
  keyText?: string;
  passphrase?: string;
  recipient?: string;
  newKey?: boolean;
}

/** What `WorkerClient` posts. */
export interface WorkerRequest extends WorkerSecret {
  id: number;
  op: "seal" | "open" | "upload" | "download" | "abort" | "inspect" | "read" | "serve" | "save" | "release";
  file?: Blob;
  blob?: Blob;
  name?: string;
  type?: string;
  objectName?: string;
  presign?: WorkerPresign;
  /** Upload settings (the serialisable ones of `upload()`). */
  settings?: Pick<UploadCommon, "multipartThreshold" | "partSize" | "concurrency" | "retries" | "share">;
  /** Resume an interrupted multipart upload after a reload (IndexedDB). */
  resume?: boolean;
  /** Refuse a passphrase below the strength floor (`WeakPassphrase`). */
  strongPassphrase?: boolean;
  /** For "abort": the id of the request to stop. */
  job?: number;
  /**
   * For "upload": the files a manifest lists; the worker writes the
   * manifest (FORMAT.md §10) and uploads it as the file.
   */
  manifest?: ManifestEntry[];
  /** For "upload" with a passphrase: return the file key anyway (for a manifest). */
  keepFileKey?: boolean;
  /** For "read", "serve" and "release": what "inspect" opened. */
  handle?: number;
  /** For "serve": the port that asks for bytes (`ByteRequest`), e.g. the Service Worker's. */
  port?: MessagePort;
  /** For "save": the file to write (File System Access), e.g. from `showSaveFilePicker()`. */
  target?: FileSystemFileHandle;
}

/**
 * Asked on a port given to "serve" (the Service Worker asks them): bytes
 * `[start, end)`, each segment authenticated; or the whole plaintext as a
 * stream, one `"pull"` on `reply` per chunk (about 1 MiB). A stream
 * answers `{ chunk }`s, then `{ done: true }` only once the signature
 * verified; it holds its last chunk back until then, so a consumer that
 * counts bytes never sees the whole file before it is proven. Errors are
 * `{ error }`.
 */
export type ByteRequest =
  | { kind: "range"; start: number; end: number; reply: MessagePort }
  | { kind: "stream"; reply: MessagePort; save?: boolean };

/**
 * What happens on a served object, posted as `{ id: 0, handle, event }`.
 * `save` marks a stream asked for as a download (a save), apart from one a
 * media element or a fetch reads.
 */
export type ServeEvent =
  | { kind: "progress"; bytesOut: number; total: number; save: boolean }
  | { kind: "streamed"; bytes: number; save: boolean }
  | { kind: "failed"; code: string; message: string; save: boolean };

/** What the worker posts back for a request `id`. */
export interface WorkerReply {
  id: number;
  progress?: SealProgress | TransferProgress | { bytesIn: number; bytesOut: number };
  result?: WorkerSealResult | WorkerUploadResult | WorkerOpenResult | WorkerInspectResult | null;
  error?: { code: string; message: string; status?: number };
  /** With id 0: an event of a served object. */
  handle?: number;
  event?: ServeEvent;
}

/** The result of `WorkerClient.seal`. */
export interface WorkerSealResult {
  blob: Blob;
  objectName: string;
  objectId: string;
  /** `s3seal-file-…`: the share key of this object (null when sealed to a recipient). */
  fileKey: string | null;
  sseCHeaders: Record<string, string>;
}

/** The result of `WorkerClient.open` and `WorkerClient.download`. */
export interface WorkerOpenResult {
  blob: Blob;
  metadata: Metadata;
  /** The sealed name made safe to show and save (`safeFileName`), or null. */
  fileName: string | null;
  /** When the object is a manifest: the files it lists, checked. */
  manifest?: ManifestEntry[];
}

/** The result of `WorkerClient.inspect`: a stored object opened where it lies. */
export interface WorkerInspectResult {
  /** Names the object in "read", "serve" and "release". */
  handle: number;
  metadata: Metadata;
  /** The sealed name made safe to show and save (`safeFileName`), or null. */
  fileName: string | null;
  /** `inertMediaType(metadata.type)`: the only type its bytes get in the
   * page's origin. */
  type: string;
  /** `sandboxedMediaType(metadata.type)`: the type the Service Worker's
   * sandboxed answers give them (PDF too, for the browser's viewer). */
  servedType: string;
  plaintextLength: number;
  /** When the object is a manifest: the files it lists, checked (read whole). */
  manifest?: ManifestEntry[];
}

/** The result of `WorkerClient.upload`. */
export interface WorkerUploadResult {
  objectName: string;
  objectId: string;
  /** Bytes stored. */
  size: number;
  /** Parts already stored by an interrupted attempt. */
  resumedParts: number;
  /** `s3seal-file-…` for a share link; null with a passphrase or a recipient. */
  fileKey: string | null;
  /** The new root key when `newKey` was asked for (shown once), else null. */
  rootKey: string | null;
  /** With `settings.share`: the owner's token for `deleteShare()` (null with a recipient). */
  deleteToken: string | null;
  /** Sealed to a recipient: the receipt's file size and SHA-256. */
  plaintextSize?: number;
  sha256?: string;
}

/** Interrupted uploads resume after a reload (same file, same key). */
let resumeStore: ReturnType<typeof indexedDbStore> | undefined;
/** Running requests, to stop on "abort". */
const running = new Map<number, AbortController>();

function post(reply: WorkerReply): void {
  (self as unknown as { postMessage(m: unknown): void }).postMessage(reply);
}

function keyFrom({ keyText, passphrase }: WorkerSecret): Key {
  if (keyText) return Key.fromText(keyText);
  return Key.fromPassphrase(passphrase ?? "");
}

function presignFrom(p: WorkerPresign | undefined) {
  return presignWith(p?.endpoint ?? "/api/presign", p?.headers ? { headers: p.headers } : {});
}

/** Objects opened by "inspect", until "release". */
const stores = new Map<number, StoredObject>();
let nextHandle = 1;
/** The ports each object is served on, closed on "release". */
const ports = new Map<number, MessagePort[]>();

function storeOf(handle: number | undefined): StoredObject {
  const stored = stores.get(handle ?? 0);
  if (!stored) throw s3sealError("InvalidInput", "invalid input: this object is not open (released?)");
  return stored;
}

async function opened(blob: Blob, metadata: Metadata): Promise<WorkerOpenResult> {
  // A manifest is parsed here, where the core is: the page gets the
  // checked list, never a list it parsed itself.
  let manifest: ManifestEntry[] | undefined;
  if (metadata.type === MANIFEST_TYPE) {
    // FORMAT.md §10: a reader refuses a list over 16 MiB before reading it.
    if (blob.size > 16 << 20) throw s3sealError("Malformed", "malformed: the list of files is larger than 16 MiB");
    manifest = parseManifest(new Uint8Array(await blob.arrayBuffer()));
  }
  // The sealed name is the sealer's word: shown and saved only cleaned.
  return { blob, metadata, fileName: safeFileName(metadata.name) ?? null, manifest };
}

/** The plaintext of `stored` as a `TransferProgress` reporter wants it. */
function plaintextProgress(stored: StoredObject, onProgress: (p: TransferProgress) => void) {
  const total = stored.plaintextLength;
  return ({ bytesOut }: { bytesOut: number }) => onProgress({ bytesSent: bytesOut, total } as TransferProgress);
}

function failure(err: unknown): { code: string; message: string; status?: number } {
  const e = err as { code?: string; name?: string; message?: string; status?: number } | undefined;
  return { code: e?.code ?? e?.name ?? "Error", message: String(e?.message ?? err), status: e?.status };
}

/** `bytes` as a buffer of its own, to transfer (a view into a larger or wasm buffer is copied). */
function whole(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** The shortest time between two progress events of a served stream, in milliseconds. */
const PROGRESS_MS = 200;

/** Bytes a served stream sends per message, about (a few segments). */
const BATCH_BYTES = 1024 * 1024;

/** Joins pieces into chunks of at least `size` bytes (the last may be
 * smaller), keeping up to `ahead` of them queued so that opening runs on
 * while one is written. */
function batches(size: number, ahead: number): TransformStream<Uint8Array, Uint8Array> {
  let pieces: Uint8Array[] = [];
  let held = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(piece, controller) {
      pieces.push(piece);
      held += piece.length;
      if (held >= size) {
        controller.enqueue(joined(pieces, held));
        pieces = [];
        held = 0;
      }
    },
    flush(controller) {
      if (held) controller.enqueue(joined(pieces, held));
    },
  }, undefined, new CountQueuingStrategy({ highWaterMark: ahead }));
}

function joined(pieces: Uint8Array[], size: number): Uint8Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Answers one `ByteRequest` for `stored`. */
async function answer(handle: number, stored: StoredObject, request: ByteRequest): Promise<void> {
  const { reply } = request;
  const save = request.kind === "stream" && Boolean(request.save);
  const event = (e: ServeEvent) => post({ id: 0, handle, event: e });
  if (request.kind === "range") {
    try {
      const bytes = whole(await stored.range(request.start, request.end));
      reply.postMessage({ chunk: bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      reply.postMessage({ error: failure(err) });
      event({ kind: "failed", ...failure(err), save });
    }
    reply.close();
    return;
  }
  const controller = new AbortController();
  const total = stored.plaintextLength;
  // Progress at most every PROGRESS_MS: the page's thread has a save to feed.
  let reported = 0;
  const onProgress = ({ bytesOut }: { bytesOut: number }) => {
    const now = Date.now();
    if (now - reported < PROGRESS_MS && bytesOut < total) return;
    reported = now;
    event({ kind: "progress", bytesOut, total, save });
  };
  // Batches of about BATCH_BYTES (one message, one write each).
  const reader = stored.stream({ signal: controller.signal, onProgress }).pipeThrough(batches(BATCH_BYTES, 1)).getReader();
  let held: Uint8Array | undefined;
  let sent = 0;
  // The last batch waits for the end: a clean end means the signature
  // verified. The Service Worker promised the browser `total` bytes: never
  // more, and a clean end only with exactly that many.
  const next = async (): Promise<{ chunk?: Uint8Array; done: boolean }> => {
    for (;;) {
      const r = await reader.read();
      const heldSize = held?.length ?? 0;
      if (r.done) {
        if (sent + heldSize !== total) throw s3sealError("Corrupt", `the object holds ${sent + heldSize} bytes, its head said ${total}`);
        return { chunk: held, done: true };
      }
      if (sent + heldSize + r.value.length > total) throw s3sealError("Corrupt", `the object holds more than the ${total} bytes its head said`);
      const out = held;
      held = r.value;
      if (out) return { chunk: out, done: false };
    }
  };
  reply.onmessage = async (m: MessageEvent<string>) => {
    if (m.data === "cancel") {
      controller.abort();
      reply.close();
      event({ kind: "failed", code: "Aborted", message: "the save was stopped before its end", save });
      return;
    }
    try {
      const { chunk: piece, done } = await next();
      const chunk = piece && whole(piece);
      if (chunk) sent += chunk.length;
      reply.postMessage({ chunk, done }, chunk ? [chunk.buffer as ArrayBuffer] : []);
      if (done) {
        reply.close();
        event({ kind: "streamed", bytes: sent, save });
      }
    } catch (err) {
      reply.postMessage({ error: failure(err) });
      reply.close();
      event({ kind: "failed", ...failure(err), save });
    }
  };
}

async function handle(data: WorkerRequest, signal: AbortSignal, keys: Key[]): Promise<WorkerReply["result"]> {
  const { id, op } = data;
  const onProgress = (progress: WorkerReply["progress"]) => post({ id, progress });
  const own = (key: Key) => (keys.push(key), key);
  if (op === "seal") {
    const common = { name: data.name, type: data.type, onProgress, signal };
    const source = data.file as Blob;
    const sealed = data.recipient
      ? await sealBlob(source, { ...common, recipient: data.recipient })
      : await sealBlob(source, { ...common, key: own(keyFrom(data)) });
    const fileKey = "fileKey" in sealed ? (sealed.fileKey as Key) : undefined;
    const fileKeyText = fileKey?.toText() ?? null;
    fileKey?.free();
    return { blob: sealed.blob, objectName: sealed.objectName, objectId: sealed.objectId, fileKey: fileKeyText, sseCHeaders: sealed.sseCHeaders };
  }
  if (op === "open" || op === "download") {
    const key = own(keyFrom(data));
    const { blob, metadata } =
      op === "open"
        ? await openBlob(data.blob as Blob, key, { objectName: data.objectName, onProgress, signal })
        : await download(data.objectName ?? "", { key, presign: presignFrom(data.presign), onProgress, signal });
    return opened(blob, metadata);
  }
  if (op === "inspect") {
    const stored = await StoredObject.open(data.objectName ?? "", { key: own(keyFrom(data)), presign: presignFrom(data.presign), signal });
    const handle = nextHandle++;
    stores.set(handle, stored);
    const { metadata, plaintextLength } = stored;
    const info: WorkerInspectResult = {
      handle,
      metadata,
      fileName: safeFileName(metadata.name) ?? null,
      type: inertMediaType(metadata.type),
      servedType: sandboxedMediaType(metadata.type),
      plaintextLength,
    };
    if (metadata.type === MANIFEST_TYPE) {
      // A list is small and read whole, verified, before anything of it is shown.
      info.manifest = (await opened(await stored.blob({ signal, onProgress }), metadata)).manifest;
    }
    return info;
  }
  if (op === "read") {
    const stored = storeOf(data.handle);
    return opened(await stored.blob({ signal, onProgress }), stored.metadata);
  }
  if (op === "serve") {
    const stored = storeOf(data.handle);
    const port = data.port as MessagePort;
    port.onmessage = (event: MessageEvent<ByteRequest>) => answer(data.handle as number, stored, event.data);
    ports.set(data.handle as number, [...(ports.get(data.handle as number) ?? []), port]);
    return null;
  }
  if (op === "save") {
    const stored = storeOf(data.handle);
    const writable = await (data.target as FileSystemFileHandle).createWritable();
    // Written in batches (each write is a call into the browser); closed,
    // and so made the file, only after the signature verified; a failure
    // aborts it, and the file keeps nothing of it.
    const source = stored.stream({ signal, onProgress: plaintextProgress(stored, onProgress) });
    await source.pipeThrough(batches(BATCH_BYTES * 4, 4)).pipeTo(writable, { signal });
    return null;
  }
  if (op === "release") {
    stores.get(data.handle ?? 0)?.close();
    stores.delete(data.handle ?? 0);
    for (const port of ports.get(data.handle ?? 0) ?? []) port.close();
    ports.delete(data.handle ?? 0);
    return null;
  }
  if (op === "upload") {
    const common = { ...data.settings, name: data.name, type: data.type, presign: presignFrom(data.presign), signal, onProgress };
    const file = data.manifest ? new Blob([manifestText(data.manifest) as BlobPart]) : (data.file as Blob);
    if (data.manifest) common.type = MANIFEST_TYPE;
    if (data.recipient) {
      // An upload form: nothing to keep but a receipt.
      const r = await upload(file, { ...common, recipient: data.recipient });
      return { ...r, resumedParts: 0, fileKey: null, rootKey: null, deleteToken: null };
    }
    if (data.strongPassphrase && !data.keyText && !data.newKey) {
      // Anyone with the object or its SSE-C key can test guesses offline:
      // refuse what the estimate says is guessable, before anything starts.
      const s = passphraseStrength(data.passphrase ?? "");
      if (!s.strong) throw s3sealError("WeakPassphrase", `${s.reason} (about ${Math.floor(s.bits)} bits; ${s.minimumBits} needed)`);
    }
    const key = own(data.newKey ? Key.generate() : keyFrom(data));
    resumeStore ??= data.resume ? indexedDbStore() : undefined;
    const uploaded = await upload(file, { ...common, key, resumeStore: data.resume ? resumeStore : undefined });
    // A share link carries the file key only for a key; with a passphrase
    // the link names the object and the reader types it.
    const fileKey = data.passphrase && !data.keyText && !data.keepFileKey ? null : uploaded.fileKey.toText();
    uploaded.fileKey.free();
    return {
      objectName: uploaded.objectName,
      objectId: uploaded.objectId,
      size: uploaded.size,
      resumedParts: uploaded.resumedParts,
      fileKey,
      rootKey: data.newKey ? key.toText() : null,
      deleteToken: uploaded.deleteToken ?? null,
    };
  }
  throw s3sealError("InvalidInput", `unknown op ${String(op)}`);
}

self.addEventListener("message", async (event: MessageEvent<WorkerRequest>) => {
  const data = event.data ?? ({} as WorkerRequest);
  if (data.op === "abort") {
    running.get(data.job ?? 0)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(data.id, controller);
  const keys: Key[] = [];
  try {
    await ready();
    post({ id: data.id, result: await handle(data, controller.signal, keys) });
  } catch (err) {
    post({ id: data.id, error: failure(err) });
  } finally {
    for (const key of keys) key.free();
    running.delete(data.id);
  }
});
