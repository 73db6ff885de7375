// s3seal Web Worker: seals and opens off the main thread. Talk to it with
// `WorkerClient` from the package, or post { id, op: "seal"|"open", … }.
import { Key, openBlob, ready, sealBlob } from "./index.js";
import type { Metadata, SealProgress } from "./index.js";

/** What `WorkerClient` posts. */
export interface WorkerRequest {
  id: number;
  op: "seal" | "open";
  file?: Blob;
  blob?: Blob;
  keyText?: string;
  passphrase?: string;
  recipient?: string;
  name?: string;
  type?: string;
  objectName?: string;
}

/** What the worker posts back for a request `id`. */
export interface WorkerReply {
  id: number;
  progress?: SealProgress | { bytesIn: number; bytesOut: number };
  result?: WorkerSealResult | { blob: Blob; metadata: Metadata };
  error?: { code: string; message: string };
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

function keyFrom({ keyText, passphrase }: WorkerRequest): Key {
  if (keyText) return Key.fromText(keyText);
  return Key.fromPassphrase(passphrase ?? "");
}

function post(reply: WorkerReply): void {
  (self as unknown as { postMessage(m: unknown): void }).postMessage(reply);
}

self.addEventListener("message", async (event: MessageEvent<WorkerRequest>) => {
  const data = event.data ?? ({} as WorkerRequest);
  const { id, op } = data;
  let key: Key | undefined;
  try {
    await ready();
    const onProgress = (progress: WorkerReply["progress"]) => post({ id, progress });
    if (op === "seal") {
      const common = { name: data.name, type: data.type, onProgress };
      const source = data.file as Blob;
      let sealed;
      if (data.recipient) sealed = await sealBlob(source, { ...common, recipient: data.recipient });
      else {
        key = keyFrom(data);
        sealed = await sealBlob(source, { ...common, key });
      }
      const fileKey = "fileKey" in sealed ? (sealed.fileKey as Key) : undefined;
      const fileKeyText = fileKey?.toText() ?? null;
      fileKey?.free();
      post({
        id,
        result: { blob: sealed.blob, objectName: sealed.objectName, objectId: sealed.objectId, fileKey: fileKeyText, sseCHeaders: sealed.sseCHeaders },
      });
    } else if (op === "open") {
      key = keyFrom(data);
      const { blob, metadata } = await openBlob(data.blob as Blob, key, { objectName: data.objectName, onProgress });
      post({ id, result: { blob, metadata } });
    } else {
      throw Object.assign(new Error(`unknown op ${String(op)}`), { code: "InvalidInput" });
    }
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string } | undefined;
    post({ id, error: { code: e?.code ?? e?.name ?? "Error", message: String(e?.message ?? err) } });
  } finally {
    key?.free();
  }
});
