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
  upload,
} from "./index.js";
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
  op: "seal" | "open" | "upload" | "download" | "abort";
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
}

/** What the worker posts back for a request `id`. */
export interface WorkerReply {
  id: number;
  progress?: SealProgress | TransferProgress | { bytesIn: number; bytesOut: number };
  result?: WorkerSealResult | WorkerUploadResult | WorkerOpenResult;
  error?: { code: string; message: string; status?: number };
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

function refusal(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: "S3sealError", code });
}

function keyFrom({ keyText, passphrase }: WorkerSecret): Key {
  if (keyText) return Key.fromText(keyText);
  return Key.fromPassphrase(passphrase ?? "");
}

function presignFrom(p: WorkerPresign | undefined) {
  return presignWith(p?.endpoint ?? "/api/presign", p?.headers ? { headers: p.headers } : {});
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
    // A manifest is parsed here, where the core is: the page gets the
    // checked list, never a list it parsed itself.
    let manifest: ManifestEntry[] | undefined;
    if (metadata.type === MANIFEST_TYPE) {
      // FORMAT.md §10: a reader refuses a list over 16 MiB before reading it.
      if (blob.size > 16 << 20) throw refusal("Malformed", "malformed: the list of files is larger than 16 MiB");
      manifest = parseManifest(new Uint8Array(await blob.arrayBuffer()));
    }
    // The sealed name is the sealer's word: shown and saved only cleaned.
    return { blob, metadata, fileName: safeFileName(metadata.name) ?? null, manifest };
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
      if (!s.strong) throw refusal("WeakPassphrase", `${s.reason} (about ${Math.floor(s.bits)} bits; ${s.minimumBits} needed)`);
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
  throw refusal("InvalidInput", `unknown op ${String(op)}`);
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
    const e = err as { code?: string; name?: string; message?: string; status?: number } | undefined;
    post({ id: data.id, error: { code: e?.code ?? e?.name ?? "Error", message: String(e?.message ?? err), status: e?.status } });
  } finally {
    for (const key of keys) key.free();
    running.delete(data.id);
  }
});
