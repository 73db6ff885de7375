// Runs sealing, uploading, downloading and opening off the main thread, and
// makes passphrases. Every message carries an `id`, echoed in the answers.
// Messages in: { op: "upload", file, mode, passphrase, recipient, token? } | { op: "download",
// objectName, keyText?, passphrase?, token? } | { op: "generate" } | { op: "abort" }.
// Messages out: { id, progress } | { id, result } | { id, error: { code, message, status } }.
import { Key, download, indexedDbStore, passphraseStrength, presignWith, ready, safeFileName, upload } from "/pkg/index.js";

// Interrupted uploads resume after a reload (same file, same passphrase).
const resumeStore = indexedDbStore();

let controller = null;

function fail(id, err) {
  self.postMessage({ id, error: { code: err?.code ?? err?.name ?? "Error", message: String(err?.message ?? err), status: err?.status } });
}

function refusal(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Words a generated passphrase is made of, and how many it has: 6 x 12.9 bits. */
const WORDS = 6;
const LIST_SIZE = 7776;
let wordlist = null;

/** The EFF large wordlist next to this page, fetched at the first use only
 * (the page does not load it otherwise). */
async function words() {
  if (!wordlist) {
    const response = await fetch(new URL("eff_large_wordlist.txt", import.meta.url));
    if (!response.ok) throw refusal("Http", `the word list could not be fetched (${response.status})`);
    const list = (await response.text())
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    // Each word is worth log2(7776) bits only if there are 7776 different ones.
    if (list.length !== LIST_SIZE || new Set(list).size !== LIST_SIZE) throw refusal("InvalidInput", "the word list is damaged");
    wordlist = list;
  }
  return wordlist;
}

/** Six words, each drawn uniformly: 32-bit draws at or above the largest
 * multiple of 7776 are rejected, so no word is likelier than another (plain
 * `% 7776` would favour the first 2560 words). The twin of the core's
 * passphrase::generate, kept in JS: exported from wasm, it and the list
 * parsing it needs would grow the page's wasm far more than these lines. */
async function generatePassphrase() {
  const list = await words();
  const limit = Math.floor(2 ** 32 / list.length) * list.length;
  const draw = new Uint32Array(1);
  const picked = [];
  while (picked.length < WORDS) {
    crypto.getRandomValues(draw);
    const word = list[draw[0] % list.length];
    // Distinct words: the strength estimate counts a repeated word once.
    if (draw[0] < limit && !picked.includes(word)) picked.push(word);
  }
  return picked.join(" ");
}

self.addEventListener("message", async ({ data }) => {
  const { id } = data;
  if (data.op === "abort") {
    controller?.abort();
    return;
  }
  if (data.op === "generate") {
    try {
      self.postMessage({ id, result: await generatePassphrase() });
    } catch (err) {
      fail(id, err);
    }
    return;
  }
  controller = new AbortController();
  const onProgress = (progress) => self.postMessage({ id, progress });
  // The package's default presigner, with the private server's token if any.
  const presign = presignWith("/api/presign", data.token ? { headers: { authorization: `Bearer ${data.token}` } } : {});
  let key;
  try {
    await ready();
    if (data.op === "upload" && data.mode === "recipient") {
      // Form mode: sealed to the organisation's public key; nothing to keep but a receipt.
      const receipt = await upload(data.file, { recipient: data.recipient, presign, signal: controller.signal, onProgress });
      self.postMessage({ id, result: { ...receipt, name: data.file.name } });
    } else if (data.op === "upload") {
      if (data.mode === "passphrase") {
        // Anyone with the object or its SSE-C key can test guesses offline:
        // refuse what the estimate says is guessable, before anything starts.
        const strength = passphraseStrength(data.passphrase ?? "");
        if (!strength.strong) {
          throw refusal("WeakPassphrase", `${strength.reason} (about ${Math.floor(strength.bits)} bits; ${strength.minimumBits} needed)`);
        }
      }
      key = data.mode === "passphrase" ? Key.fromPassphrase(data.passphrase) : Key.generate();
      const uploaded = await upload(data.file, { key, presign, signal: controller.signal, onProgress, resumeStore });
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
      self.postMessage({ id, result });
    } else if (data.op === "download") {
      // Opening takes any passphrase: the strength floor is for sealing.
      key = data.keyText ? Key.fromText(data.keyText) : Key.fromPassphrase(data.passphrase ?? "");
      // download() gives the Blob an inert type (inertMediaType).
      const { blob, metadata } = await download(data.objectName, { key, presign, signal: controller.signal, onProgress });
      // The sealed name is the sealer's word: shown and saved only cleaned.
      self.postMessage({ id, result: { blob, metadata, fileName: safeFileName(metadata.name) ?? null } });
    }
  } catch (err) {
    fail(id, err);
  } finally {
    key?.free();
    controller = null;
  }
});
