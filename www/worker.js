// Runs sealing, uploading, downloading and opening off the main thread.
// Messages in: { op: "upload", file, mode, passphrase, recipient } | { op: "download",
// objectName, keyText?, passphrase? } | { op: "abort" }.
// Messages out: { progress } | { result } | { error: { code, message, status } }.
import { Key, download, indexedDbStore, ready, upload } from "/pkg/index.js";

// Interrupted uploads resume after a reload (same file, same passphrase).
const resumeStore = indexedDbStore();

let controller = null;

function fail(err) {
  self.postMessage({ error: { code: err?.code ?? err?.name ?? "Error", message: String(err?.message ?? err), status: err?.status } });
}

self.addEventListener("message", async ({ data }) => {
  if (data.op === "abort") {
    controller?.abort();
    return;
  }
  controller = new AbortController();
  const onProgress = (progress) => self.postMessage({ progress });
  let key;
  try {
    await ready();
    if (data.op === "upload" && data.mode === "recipient") {
      // Form mode: sealed to the organisation's public key; nothing to keep but a receipt.
      const receipt = await upload(data.file, { recipient: data.recipient, signal: controller.signal, onProgress });
      self.postMessage({ result: { ...receipt, name: data.file.name } });
    } else if (data.op === "upload") {
      key = data.mode === "passphrase" ? Key.fromPassphrase(data.passphrase) : Key.generate();
      const uploaded = await upload(data.file, { key, signal: controller.signal, onProgress, resumeStore });
      const result = {
        objectName: uploaded.objectName,
        size: uploaded.size,
        resumedParts: uploaded.resumedParts,
        // A share link carries the file key only for random keys; with a
        // passphrase the link names the object and the reader types it.
        fileKey: data.mode === "passphrase" ? null : uploaded.fileKey.toText(),
        rootKey: data.mode === "passphrase" ? null : key.toText(),
      };
      uploaded.fileKey.free();
      self.postMessage({ result });
    } else if (data.op === "download") {
      key = data.keyText ? Key.fromText(data.keyText) : Key.fromPassphrase(data.passphrase ?? "");
      const { blob, metadata } = await download(data.objectName, { key, signal: controller.signal, onProgress });
      self.postMessage({ result: { blob, metadata } });
    }
  } catch (err) {
    fail(err);
  } finally {
    key?.free();
    controller = null;
  }
});
