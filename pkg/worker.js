// s3seal Web Worker: seals and opens off the main thread. Talk to it with
// `WorkerClient` from the package, or post { id, op: "seal"|"open", … }.
import { Key, openBlob, ready, sealBlob } from "./index.js";

function keyFrom({ keyText, passphrase }) {
  if (keyText) return Key.fromText(keyText);
  return Key.fromPassphrase(passphrase ?? "");
}

// Sealing targets: a recipient's public key, or a key/passphrase.
function sealFor(data) {
  return data.recipient ? { recipient: data.recipient } : { key: keyFrom(data) };
}

self.addEventListener("message", async (event) => {
  const { id, op } = event.data ?? {};
  let key;
  try {
    await ready();
    const onProgress = (progress) => self.postMessage({ id, progress });
    if (op === "seal") {
      const { file, name, type } = event.data;
      const target = sealFor(event.data);
      key = target.key;
      const sealed = await sealBlob(file, { ...target, name, type, onProgress });
      const fileKey = sealed.fileKey?.toText() ?? null;
      sealed.fileKey?.free();
      self.postMessage({
        id,
        result: { blob: sealed.blob, objectName: sealed.objectName, objectId: sealed.objectId, fileKey, sseCHeaders: sealed.sseCHeaders },
      });
    } else if (op === "open") {
      key = keyFrom(event.data);
      const { blob, metadata } = await openBlob(event.data.blob, key, { objectName: event.data.objectName, onProgress });
      self.postMessage({ id, result: { blob, metadata } });
    } else {
      throw Object.assign(new Error(`unknown op ${op}`), { code: "InvalidInput" });
    }
  } catch (err) {
    self.postMessage({ id, error: { code: err?.code ?? err?.name ?? "Error", message: String(err?.message ?? err) } });
  } finally {
    key?.free();
  }
});
