// The host page: DOM only. Keys and bytes are handled in the package's
// Worker (pkg/worker.js), driven through its WorkerClient.
import { WorkerClient, deleteShare, registerServiceWorker } from "/pkg/index.js";

const $ = (id) => document.getElementById(id);
const client = new WorkerClient(new Worker("/pkg/worker.js", { type: "module" }));
/** The running upload, stopped by the Abort button. */
let uploading = null;

/** Words a generated passphrase is made of, and how many it has: 6 x 12.9 bits. */
const WORDS = 6;
const LIST_SIZE = 7776;
let wordlist = null;

/** The EFF large wordlist next to this page, fetched at the first use only. */
async function words() {
  if (!wordlist) {
    const response = await fetch(new URL("eff_large_wordlist.txt", import.meta.url));
    if (!response.ok) throw { code: "Http", message: `the word list could not be fetched (${response.status})` };
    const list = (await response.text())
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"));
    // Each word is worth log2(7776) bits only if there are 7776 different ones.
    if (list.length !== LIST_SIZE || new Set(list).size !== LIST_SIZE) throw { code: "InvalidInput", message: "the word list is damaged" };
    wordlist = list;
  }
  return wordlist;
}

/** Six distinct words, each drawn uniformly: 32-bit draws at or above the
 * largest multiple of 7776 are rejected, so no word is likelier than
 * another. The twin of the core's passphrase::generate, kept in JS:
 * exported from wasm, it and the list parsing would grow the page's wasm
 * far more than these lines. */
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

/** The presign backend this page came from, with the private server's token if any. */
function presign() {
  const token = $("token").value.trim();
  return { endpoint: "/api/presign", headers: token ? { authorization: `Bearer ${token}` } : undefined };
}

const MB = 1e6;
function human(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function progressReporter(verb) {
  const started = performance.now();
  return ({ bytesSent, total }) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = bytesSent / Math.max(seconds, 0.001);
    $("bar").max = total || 1;
    $("bar").value = bytesSent;
    const eta = rate > 0 && total ? Math.max(0, (total - bytesSent) / rate) : 0;
    $("status").textContent = `${verb} ${human(bytesSent)} of ${human(total)} — ${(rate / MB).toFixed(1)} MB/s — ${eta.toFixed(0)} s left`;
  };
}

const MESSAGES = {
  WrongKey: "This key or passphrase does not open the file.",
  KeySource: "This file needs a different kind of key (a passphrase instead of a key, or the reverse).",
  Corrupt: "The file was modified or damaged; nothing of it was kept.",
  Truncated: "The file is incomplete; nothing of it was kept.",
  Aborted: "Stopped. Nothing was left behind.",
  AbortError: "Stopped. Nothing was left behind.",
  Http: "The storage server refused the request.",
  Network: "The network failed repeatedly; please try again.",
  Presign: "The server refused to authorise the transfer.",
  InvalidKey: "That key is not valid.",
  NameMismatch: "The stored file is not the one this link names; nothing of it was kept.",
  SignerMismatch:
    "This file was not sealed by whoever owns this link's name: it may be forged. Nothing of it was kept.",
  BadSignature:
    "This file's signature does not check out: it was changed after sealing, possibly by someone holding the link. Nothing of it was kept.",
  UnsupportedVersion: "This file was sealed in a format this page no longer opens (or a newer one).",
  Engine: "This browser's encryption failed (not the file's fault); please try again.",
  ShareExpired: "This share has expired: its file was deleted and can no longer be opened.",
  DownloadLimit: "This share has been downloaded as many times as its owner allowed: it can no longer be opened.",
  ShareGone: "Nothing is shared under this link any more: its owner deleted it, or it expired.",
  WeakPassphrase:
    "This passphrase is too easy to guess: whoever gets the sealed file, or the key the storage server sees, can try guesses offline. Use “Generate a passphrase”, or a longer one.",
};

function showError(err) {
  const text = MESSAGES[err.code] ?? "Something went wrong.";
  $("error").textContent = `${text} (${err.code}${err.status ? ` ${err.status}` : ""}: ${err.message})`;
  $("error").hidden = false;
}

function reset() {
  $("error").hidden = true;
  $("progress").hidden = true;
}

// --- send view ---
/** What will be sent: `{ file, path }`, the path relative (a folder's own). */
let picked = [];
function pick(items, { add = false } = {}) {
  // A folder adds to what is picked (a path is listed once); files or a
  // drop replace it.
  const byPath = new Map(add ? picked.map((p) => [p.path, p]) : []);
  for (const item of items) byPath.set(item.path, item);
  picked = [...byPath.values()];
  const total = picked.reduce((n, p) => n + p.file.size, 0);
  $("drop-text").textContent =
    picked.length === 0
      ? "Choose files or drop them (or a folder) here"
      : picked.length === 1
        ? `${picked[0].path} (${human(total)})`
        : `${picked.length} files (${human(total)}): ${picked.map((p) => p.path).join(", ")}`;
  $("upload").disabled = picked.length === 0;
  $("clear").hidden = picked.length === 0;
}
const fromList = (files) => [...files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
$("file").addEventListener("change", () => pick(fromList($("file").files)));
$("folder").addEventListener("change", () => pick(fromList($("folder").files), { add: true }));
$("clear").addEventListener("click", () => pick([]));
/** Every file under a dropped entry, with its path (folders read in batches). */
async function walk(entry, prefix = "") {
  if (entry.isFile) return [{ file: await new Promise((ok, fail) => entry.file(ok, fail)), path: prefix + entry.name }];
  const reader = entry.createReader();
  const out = [];
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return out;
    for (const child of batch) out.push(...(await walk(child, `${prefix}${entry.name}/`)));
  }
}
for (const ev of ["dragover", "dragenter"]) $("drop").addEventListener(ev, (e) => (e.preventDefault(), $("drop").classList.add("over")));
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", async (e) => {
  e.preventDefault();
  $("drop").classList.remove("over");
  const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  pick(entries.length ? (await Promise.all(entries.map((en) => walk(en)))).flat() : fromList(e.dataTransfer.files));
});
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => {
    const hide = radio.value !== "passphrase" || !radio.checked;
    $("passphrase").hidden = hide;
    $("generate").hidden = hide;
    $("generated").hidden = hide || !$("generated").textContent;
  });
}
// A generated phrase, shown once so it can be written down; editing the
// field forgets it.
$("generate").addEventListener("click", async () => {
  reset();
  $("generate").disabled = true;
  try {
    const phrase = await generatePassphrase();
    $("passphrase").value = phrase;
    $("generated").textContent = `Your passphrase: ${phrase} — write it down: whoever opens the file needs it, and it cannot be recovered.`;
    $("generated").hidden = false;
  } catch (err) {
    showError(err);
  } finally {
    $("generate").disabled = false;
  }
});
$("passphrase").addEventListener("input", () => {
  $("generated").textContent = "";
  $("generated").hidden = true;
});

// Form mode: a recipient public key from the page (data-recipient on <body>)
// or from the server (`s3seal serve --recipient`). Uploads are sealed to it.
let recipient = document.body.dataset.recipient || null;
const configured = fetch("/api/config")
  .then((r) => (r.ok ? r.json() : {}))
  .then((config) => {
    // A private server (`serve --token-file`) presigns only for a bearer
    // token; it stays in this page's memory and goes only to /api/presign.
    $("token-box").hidden = config.auth !== "bearer";
    recipient ||= config.recipient || null;
    // Sharing terms where the server keeps them: offer what it allows.
    if (config.share && !recipient) {
      for (const option of [...$("expires").options]) {
        if (Number(option.value) > config.share.maxExpirySecs) option.remove();
      }
      $("share-terms").hidden = false;
    }
    if (recipient) {
      $("key-choice").hidden = true;
      $("form-note").hidden = false;
      $("form-recipient").textContent = recipient;
      if (document.body.dataset.recipientName) $("form-recipient-name").textContent = document.body.dataset.recipientName;
      $("upload").textContent = "Seal and send";
    }
  })
  .catch(() => {});

function showReceipt(results) {
  const [result] = results;
  $("receipt-object").textContent = results.length > 1 ? `${result.objectName} and ${results.length - 1} more (in the receipt)` : result.objectName;
  $("receipt-file").textContent = result.name || "(unnamed)";
  $("receipt-size").textContent = `${human(result.plaintextSize)}, ${result.plaintextSize} bytes`;
  $("receipt-sha256").textContent = result.sha256;
  const text = ["s3seal upload receipt", `sent:    ${new Date().toISOString()}`, ""];
  for (const r of results) {
    text.push(`object:  ${r.objectName}`, `file:    ${r.name}`, `size:    ${r.plaintextSize} bytes`, `sha256:  ${r.sha256}`, "");
  }
  $("receipt-download").href = URL.createObjectURL(new Blob([text.join("\n")], { type: "text/plain" }));
  $("receipt").hidden = false;
}

function showShareCard(result) {
  const link = new URL(location.href);
  link.hash = result.fileKey ? `${result.objectName}.${result.fileKey}` : result.objectName;
  $("object-name").textContent = result.objectName;
  $("object-size").textContent = human(result.size);
  $("share-link").value = link.toString();
  $("root-key-box").hidden = !result.rootKey;
  if (result.rootKey) {
    $("root-key").value = result.rootKey;
    $("root-key-download").href = URL.createObjectURL(new Blob([`${result.rootKey}\n`], { type: "text/plain" }));
  }
  $("share-expiry").hidden = !result.expiresAt;
  if (result.expiresAt) {
    const limit = result.downloads ? `, or after ${result.downloads} download${result.downloads > 1 ? "s" : ""}` : "";
    // A resumed upload keeps the terms it started with, counted from then.
    const when = result.resumedParts ? "as chosen when this upload started" : result.expiresAt.toLocaleString();
    $("share-expiry").textContent = `Expires ${when}${limit}; its bytes are then deleted.`;
  }
  // Several files: the link opens their list (a manifest).
  $("shared-files").replaceChildren(
    ...(result.files ?? []).map((f) => Object.assign(document.createElement("li"), { textContent: `${f.path} (${human(f.size)})` })),
  );
  $("shared-files").hidden = !result.files;
  // The manifest first, so the link dies before its files go.
  const owned = result.owned ?? (result.deleteToken ? [result] : []);
  $("delete-box").hidden = owned.length === 0;
  $("delete-status").textContent = "";
  $("delete").disabled = false;
  // The tokens stay in this closure: only the owner's page can end the share.
  $("delete").onclick = async () => {
    $("delete").disabled = true;
    try {
      for (const o of owned) await deleteShare(o.objectName, o.deleteToken, { init: { headers: presign().headers } });
      $("delete-status").textContent = "Deleted: the link no longer opens anything.";
    } catch (err) {
      $("delete").disabled = false;
      showError(err);
    }
  };
  $("resumed").hidden = !result.resumedParts;
  $("resumed").textContent = `Resumed an interrupted upload: ${result.resumedParts} part(s) were already stored.`;
  $("result").hidden = false;
}

$("upload").addEventListener("click", async () => {
  reset();
  $("result").hidden = true;
  $("receipt").hidden = true;
  await configured;
  // Form mode seals to the recipient and shows a receipt; otherwise a key or
  // passphrase, and a share card.
  // Form mode: sealed to the organisation's public key, nothing kept but a
  // receipt. Otherwise a new random key (shown once) or a strong passphrase;
  // interrupted uploads resume after a reload (same file, same key).
  let options = { recipient };
  let show = showReceipt;
  let terms = null;
  if (!recipient) {
    const mode = document.querySelector('input[name="mode"]:checked').value;
    const passphrase = $("passphrase").value;
    if (mode === "passphrase" && !passphrase) return showError({ code: "InvalidKey", message: "enter a passphrase" });
    options = mode === "passphrase" ? { passphrase, strongPassphrase: true, resume: true } : { newKey: true, resume: true };
    show = showShareCard;
    if (!$("share-terms").hidden) {
      terms = { expiresSecs: Number($("expires").value) };
      if ($("downloads").value) terms.downloads = Number($("downloads").value);
      options.settings = { share: terms };
    }
  }
  $("upload").disabled = true;
  $("progress").hidden = false;
  uploading = new AbortController();
  const started = Date.now();
  const signal = uploading.signal;
  try {
    let result;
    if (picked.length === 1) {
      const [{ file, path }] = picked;
      result = await client.upload(file, { ...options, presign: presign(), signal, onProgress: progressReporter("Sealed and sent") });
      result = { ...result, name: path };
    } else if (recipient) {
      result = [];
      for (const [i, { file, path }] of picked.entries()) {
        const onProgress = progressReporter(`File ${i + 1} of ${picked.length}: sealed and sent`);
        result.push({ ...(await client.upload(file, { ...options, name: path, presign: presign(), signal, onProgress })), name: path });
      }
    } else {
      result = await uploadMany(picked, options, signal);
    }
    // The server counts the expiry from the upload's first write: at the
    // latest from now, so this date is never later than the real one.
    const expiresAt = terms ? new Date(started + terms.expiresSecs * 1000) : null;
    show(recipient ? [result].flat() : { ...result, expiresAt, downloads: terms?.downloads });
    $("status").textContent = "Done.";
  } catch (err) {
    showError(err);
  } finally {
    uploading = null;
    $("upload").disabled = picked.length === 0;
    $("progress").hidden = true;
  }
});

/** Several files behind one link: each sealed with one key (the first
 * upload makes it) or the passphrase, then the list of them (a manifest,
 * FORMAT.md §10) sealed the same way; the link opens the list. A failure
 * or an abort deletes what already went up. */
async function uploadMany(items, options, signal) {
  let secret = options.passphrase ? { passphrase: options.passphrase, keepFileKey: true } : { newKey: true };
  const uploaded = [];
  try {
    const files = [];
    let rootKey = null;
    for (const [i, { file, path }] of items.entries()) {
      const r = await client.upload(file, {
        ...secret,
        strongPassphrase: options.strongPassphrase,
        name: path.split("/").pop(),
        settings: options.settings,
        presign: presign(),
        signal,
        onProgress: progressReporter(`File ${i + 1} of ${items.length}: sealed and sent`),
      });
      uploaded.push(r);
      if (r.rootKey) {
        rootKey = r.rootKey;
        secret = { keyText: r.rootKey };
      }
      files.push({ path, objectName: r.objectName, fileKey: r.fileKey, size: file.size, type: file.type });
    }
    const list = await client.uploadManifest(files, {
      ...(options.passphrase ? { passphrase: options.passphrase } : secret),
      settings: options.settings,
      presign: presign(),
      signal,
      onProgress: progressReporter("The list of files: sealed and sent"),
    });
    return { ...list, rootKey, files, owned: [list, ...uploaded].filter((r) => r.deleteToken) };
  } catch (err) {
    for (const r of uploaded) {
      if (r.deleteToken) deleteShare(r.objectName, r.deleteToken, { init: { headers: presign().headers } }).catch(() => {});
    }
    throw err;
  }
}
$("copy").addEventListener("click", () => navigator.clipboard?.writeText($("share-link").value));
$("abort").addEventListener("click", () => uploading?.abort());

// --- receive view ---
/** The package's Service Worker once registered (null where there is none). */
let opener = Promise.resolve(null);

// A link pasted into this tab only changes the fragment: read it afresh
// (which also takes its key out of the address bar).
window.addEventListener("hashchange", () => location.reload());
const shared = /^#([0-9a-f]{32}(?:\.[0-9a-f]{64})?\.s3seal)(?:\.(s3seal-file-[A-Za-z0-9_-]{43}))?$/.exec(location.hash);
if (shared) {
  // The link stays in this page's memory only. A key in the address bar
  // lingers in session restore, the back/forward list and screenshots, so
  // it leaves them (a link without a key names the object and stays). The
  // browser's global history and URL autocomplete keep the visit as typed
  // or clicked: no page can reach those.
  const link = location.href;
  if (shared[2]) history.replaceState(history.state, "", location.pathname + location.search);
  $("copy-received").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(link);
      $("copy-received").textContent = "Copied";
    } catch {
      $("copy-received").textContent = "Could not copy";
    }
  });
  $("receive").hidden = false;
  $("receive-name").textContent = shared[1];
  $("receive-passphrase").hidden = Boolean(shared[2]);
  // Large files stream to disk through the package's Service Worker,
  // which the page's Worker feeds with verified bytes.
  opener = registerServiceWorker("/pkg/sw.js", { scope: "/" });
  $("open").addEventListener("click", async () => {
    reset();
    $("opened").hidden = true;
    $("open").disabled = true;
    $("progress").hidden = false;
    try {
      const secret = shared[2] ? { keyText: shared[2] } : { passphrase: $("receive-passphrase").value };
      closeOpened();
      // One presigned GET and the object's head: its name, type and size.
      const info = await client.inspect(shared[1], { ...secret, presign: presign() });
      if (info.manifest) {
        client.release(info.handle);
        return showFiles(info.manifest);
      }
      // Streamed: into a picked file where File System Access exists, else
      // through the Service Worker; with neither, whole.
      // A PDF is shown only from the Service Worker (sandboxed), so it takes
      // that way whatever its size.
      const sw = await opener;
      const inPlace = sw && showsPdf(info);
      if (!inPlace && (info.plaintextLength <= STREAM_FROM_BYTES || !(sw || window.showSaveFilePicker))) await openWhole(info);
      else await openStreamed(info, sw);
    } catch (err) {
      showError(err);
    } finally {
      $("open").disabled = false;
      $("progress").hidden = true;
    }
  });
}

/** Files up to this size open whole into memory, verified before anything
 * is shown; larger ones stream to disk, verified as they are saved. */
const STREAM_FROM_BYTES = 64 * 1024 * 1024;

/** What the last open left: released before the next one, and when the page goes. */
let openedNow = null;
function closeOpened() {
  openedNow?.exposed?.close().catch(() => {});
  if (openedNow?.handle) client.release(openedNow.handle).catch(() => {});
  openedNow = null;
}
window.addEventListener("pagehide", closeOpened);

/** Whether this page shows the PDF `info` is in the browser's viewer, from
 * the Service Worker's answer. Only Firefox's (pdf.js): its document is not
 * the page's, and it neither submits forms nor follows script links.
 * Chromium's viewer sits in a frame of the page's origin whatever the
 * sandbox says, and its PDF scripting (dialogs, form posts) would act as
 * this page; WebKit's shows nothing under the sandbox. There a PDF is
 * only saved. */
function showsPdf(info) {
  const gecko = /Gecko\/\d/.test(navigator.userAgent) && !/like Gecko/.test(navigator.userAgent);
  return info.servedType === "application/pdf" && navigator.pdfViewerEnabled === true && gecko;
}

/** The preview element for an inert media type (`kinds` allowed), or null.
 * A PDF only from the Service Worker (`iframe` in `kinds`), whose answers
 * say `nosniff`, never from a `blob:` URL; see `showsPdf`. */
function previewOf(info, src, kinds) {
  if (kinds.includes("iframe") && showsPdf(info)) {
    return Object.assign(document.createElement("iframe"), { src, title: info.fileName ?? "PDF" });
  }
  const tag = { video: "video", audio: "audio", image: "img" }[info.type.split("/")[0]];
  if (!tag || !kinds.includes(tag)) return null;
  return Object.assign(document.createElement(tag), { src, controls: tag !== "img", alt: info.fileName ?? "" });
}

/** How long the PDF viewer may take to say it drew, in milliseconds. */
const PDF_VIEW_MS = 60000;

/** The longest PDF shown from ranges (pdf-view.js holds the same cap). */
const PDF_RANGED_MAX_BYTES = 512 * 1024 * 1024;
/** What the viewer may ask for: at most this many bytes at once and this
 * many asks waiting, and in all twice the file; past that it is stopped. */
const PDF_RANGE_MAX_BYTES = 64 * 1024 * 1024;
const PDF_RANGES_WAITING = 64;

/** A PDF drawn by pdf.js in a frame of an opaque origin of its own
 * (www/src/pdf-view.js): the frame and a line that says what it shows.
 * `from` is a verified Blob, whose bytes go to the frame once, when it
 * says it is ready; or `{ length, read(begin, end, signal) }` (see
 * `rangeReader`), and the frame asks for ranges over a port of its own (a
 * document that replaced the viewer in the frame has none), answered one
 * at a time until it is stopped. It can reach nothing of this page, fetch nothing, and navigate
 * only within this page's origin (our CSP's frame-src). What it says back
 * is two counts or a range. */
function pdfViewer(from, name) {
  const frame = Object.assign(document.createElement("iframe"), { src: "/pdf-view.html", title: name || "PDF" });
  frame.setAttribute("sandbox", "allow-scripts");
  const said = Object.assign(document.createElement("p"), { className: "note", textContent: "Drawing the PDF…" });
  const ranged = !(from instanceof Blob);
  const channel = ranged ? new MessageChannel() : null;
  const reading = new AbortController();
  let sent = false;
  let answering = Promise.resolve();
  let waiting = 0;
  let allowance = ranged ? 2 * from.length : 0;
  const count = (n) => Number.isSafeInteger(n) && n >= 0;
  const stop = (text) => {
    said.textContent = text;
    removeEventListener("message", listen);
    clearTimeout(timer);
    reading.abort();
    channel?.port1.close();
  };
  const failed = () => stop("This PDF could not be drawn here. Save it to open it.");
  const answer = (range) => {
    const [begin, end] = Array.isArray(range) ? range : [];
    if (!(count(begin) && count(end) && begin < end && end <= from.length && end - begin <= PDF_RANGE_MAX_BYTES)) return failed();
    allowance -= end - begin;
    if (++waiting > PDF_RANGES_WAITING || allowance < 0) return failed();
    answering = answering.then(async () => {
      try {
        if (reading.signal.aborted) return;
        const chunk = await from.read(begin, end, reading.signal);
        channel.port1.postMessage({ begin, chunk }, [chunk]);
      } catch (err) {
        if (reading.signal.aborted) return;
        if (err?.code !== "Corrupt") return failed();
        // What was drawn came from checked pieces, but the file is not
        // the sender's as sealed: none of it stays on screen.
        frame.remove();
        stop("A piece of this PDF failed its check: it was changed or damaged after it was sealed, so nothing of it is shown, and a save will fail too.");
      } finally {
        waiting--;
      }
    });
  };
  if (channel) channel.port1.onmessage = (event) => answer(event.data?.range);
  const listen = async (event) => {
    if (event.source !== frame.contentWindow) return;
    if (event.data === "ready" && !sent) {
      sent = true;
      if (ranged) return frame.contentWindow?.postMessage({ length: from.length }, "*", [channel.port2]);
      const bytes = await from.arrayBuffer();
      frame.contentWindow?.postMessage({ pdf: bytes }, "*", [bytes]);
    } else if (count(event.data?.shown) && count(event.data?.pages)) {
      const { shown, pages } = event.data;
      stop(`${shown < pages ? `The first ${shown} of ${pages} pages` : `${pages} page${pages === 1 ? "" : "s"}`}, drawn as pictures: links and forms in it do nothing here.`);
    } else if (event.data?.failed) {
      failed();
    }
  };
  const timer = setTimeout(() => stop("This PDF could not be drawn here in time. Save it to open it."), PDF_VIEW_MS);
  addEventListener("message", listen);
  return [frame, said];
}

/** A reader of plaintext `[begin, end)` of an inspected object (`handle`),
 * which the page's Worker reads and verifies segment by segment, as it does
 * for the Service Worker (`ByteRequest`s on a port it serves): resolves to
 * the bytes, or rejects with the Worker's error and its `code` (`Corrupt`
 * for a segment that fails its check). */
function rangeReader(handle) {
  const { port1: asks, port2 } = new MessageChannel();
  client.serve(handle, port2).catch(() => {});
  return (begin, end, signal) =>
    new Promise((resolve, reject) => {
      const { port1: reply, port2: replyTo } = new MessageChannel();
      const aborted = () => {
        reply.close();
        reject(signal.reason);
      };
      signal.addEventListener("abort", aborted, { once: true });
      reply.onmessage = ({ data }) => {
        reply.close();
        signal.removeEventListener("abort", aborted);
        if (data?.chunk) resolve(data.chunk.buffer);
        else reject(Object.assign(new Error(data?.error?.message ?? "the range could not be read"), { code: data?.error?.code }));
      };
      asks.postMessage({ kind: "range", start: begin, end, reply: replyTo }, [replyTo]);
    });
}

/** Shows what an opened file is. */
function showOpened(info, title) {
  $("opened-title").textContent = title;
  $("opened-name").textContent = info.fileName || shared[1];
  $("opened-size").textContent = human(info.plaintextLength);
  // The sealed type as text only: bytes are only ever served as an inert type.
  $("opened-type").textContent = info.metadata.type || "unknown type";
  $("preview").replaceChildren();
  $("preview").hidden = true;
  $("play").hidden = true;
  $("saved").hidden = true;
  $("streamed-note").hidden = true;
  $("opened").hidden = false;
}

/** Whole into memory, all or nothing: the Blob exists only once verified. */
async function openWhole(info) {
  let result;
  try {
    result = await client.read(info.handle, { onProgress: progressReporter("Received") });
  } finally {
    client.release(info.handle);
  }
  const save = $("save");
  save.href = URL.createObjectURL(result.blob);
  save.download = info.fileName || "opened.bin";
  save.onclick = null;
  showOpened(info, "Opened and verified");
  // Verified whole: shown as it is; a PDF on request (it loads pdf.js).
  const preview = previewOf(info, save.href, ["video", "audio", "img"]);
  if (preview) {
    $("preview").append(preview);
    $("preview").hidden = false;
  } else if (info.servedType === "application/pdf") {
    $("play").textContent = "Show the PDF";
    $("play").hidden = false;
    $("play").onclick = () => {
      $("play").hidden = true;
      $("preview").replaceChildren(...pdfViewer(result.blob, info.fileName));
      $("preview").hidden = false;
    };
  }
  // Where the File System Access API exists, also offer to pick a place.
  $("save-as").hidden = !window.showSaveFilePicker;
  $("save-as").onclick = async () => {
    const handle = await window.showSaveFilePicker({ suggestedName: save.download });
    const writable = await handle.createWritable();
    await writable.write(result.blob);
    await writable.close();
  };
}

/** Streamed: saved to a file the user picks (File System Access) or as a
 * download, each segment verified as it passes; the file is complete only
 * once the signature verified at the end, and a failure discards it (the
 * picked file is aborted, the download fails). Media play in place. */
async function openStreamed(info, sw) {
  const status = progressReporter("Saved");
  openedNow = { handle: info.handle };
  // Only the save's stream speaks here (a preview reads ranges of its own).
  const exposed = await sw?.expose(client, info, (event) => {
    if (!event.save) return;
    if (event.kind === "progress") {
      $("progress").hidden = false;
      status({ bytesSent: event.bytesOut, total: event.total });
    } else if (event.kind === "streamed") {
      $("progress").hidden = true;
      savedVerified();
    } else if (event.kind === "failed" && event.code !== "Aborted") {
      $("progress").hidden = true;
      showError(event);
    }
  });
  openedNow.exposed = exposed;
  const save = $("save");
  if (window.showSaveFilePicker) {
    // Chromium: the Worker writes straight into the picked file.
    save.removeAttribute("href");
    save.onclick = async (e) => {
      e.preventDefault();
      reset();
      let target;
      try {
        target = await window.showSaveFilePicker({ suggestedName: info.fileName || "opened.bin" });
      } catch {
        return; // the dialog was dismissed
      }
      $("progress").hidden = false;
      try {
        await client.save(info.handle, target, { onProgress: status });
        savedVerified();
      } catch (err) {
        showError(err);
      } finally {
        $("progress").hidden = true;
      }
    };
  } else {
    // Elsewhere the browser's own download, which the Service Worker answers
    // as an attachment (a navigation: an <a download> may bypass the worker).
    save.href = exposed.downloadUrl;
    save.removeAttribute("download");
    save.onclick = () => reset();
  }
  $("save-as").hidden = true;
  showOpened(info, "Ready to save: verified as it is saved");
  $("streamed-note").hidden = false;
  // Played before it is saved, a piece at a time: each piece is checked,
  // but the sender's signature covers the whole file and is proven only by
  // a save. So it plays only when asked, and says so.
  // A PDF the browser's viewer may not show: pdf.js in a sandbox, from ranges.
  const drawn = exposed && info.servedType === "application/pdf" && !showsPdf(info) && info.plaintextLength <= PDF_RANGED_MAX_BYTES;
  const preview = exposed && !drawn && previewOf(info, exposed.url, ["video", "audio", "iframe"]);
  const shown = drawn || preview?.tagName === "IFRAME";
  $("play").hidden = !preview && !drawn;
  $("play").textContent = shown ? "Show before saving" : "Play before saving";
  $("play").onclick = () => {
    $("play").hidden = true;
    const viewer = drawn ? pdfViewer({ length: info.plaintextLength, read: rangeReader(info.handle) }, info.fileName) : [preview];
    $("preview").replaceChildren(...viewer, Object.assign(document.createElement("p"), {
      className: "unverified",
      textContent: `${shown ? "Shown" : "Playing"} before it is saved: each piece is checked as it ${shown ? "is read" : "plays"}, but only a complete save proves the whole file is the sender's.`,
    }));
    $("preview").hidden = false;
  };
}

function savedVerified() {
  $("saved").textContent = "Saved and verified: every byte checked, and the sender's signature proven.";
  $("saved").hidden = false;
}

if (!shared) {
  $("send").hidden = false;
}

/** Opens one file of a verified list and hands it to the browser to save:
 * whole up to STREAM_FROM_BYTES, streamed beyond (as a single file is).
 * Its head is checked against the list's size before any of it is read. */
async function saveEntry(entry, button) {
  button.disabled = true;
  $("progress").hidden = false;
  // Saved under the name the list shows (its last part is a plain file
  // name, FORMAT.md §10), not the file's own sealed one.
  const listName = entry.path.split("/").pop() || "opened.bin";
  const onProgress = progressReporter(`Received ${entry.path}:`);
  let info = null;
  try {
    const sw = entry.size > STREAM_FROM_BYTES ? await opener : null;
    const streamed = entry.size > STREAM_FROM_BYTES && (sw || window.showSaveFilePicker);
    let target = null;
    if (streamed && window.showSaveFilePicker) {
      // Asked first: the click allows a picker only for a moment.
      try {
        target = await window.showSaveFilePicker({ suggestedName: listName });
      } catch (err) {
        if (err?.name === "AbortError") {
          button.disabled = false;
          return;
        }
        // No user activation left ("Save all" after the first file): a download.
        if (!sw) throw err;
      }
    }
    info = await client.inspect(entry.objectName, { keyText: entry.fileKey, presign: presign() });
    // The list says how big the file is: a different size is not this file.
    if (info.plaintextLength !== entry.size) throw { code: "Corrupt", message: `${entry.path}: ${info.plaintextLength} bytes, the list says ${entry.size}` };
    if (target) {
      await client.save(info.handle, target, { onProgress });
    } else if (streamed) {
      await downloadThroughWorker(info, listName, sw, onProgress);
    } else {
      const { blob } = await client.read(info.handle, { onProgress });
      Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: listName }).click();
    }
    button.textContent = "Saved";
  } catch (err) {
    button.disabled = false;
    throw err;
  } finally {
    if (info) client.release(info.handle).catch(() => {});
    $("progress").hidden = true;
  }
}

/** How long the browser may take to start a download, in milliseconds
 * (it may hold it back, e.g. to ask about several downloads at once). */
const DOWNLOAD_START_MS = 30000;

/** A large file as a download the Service Worker answers, verified as it
 * is written; resolves once its signature verified. */
async function downloadThroughWorker(info, listName, sw, onProgress) {
  let settle;
  const ended = new Promise((resolve, reject) => (settle = { resolve, reject }));
  let started = false;
  const exposed = await sw.expose(client, { ...info, fileName: listName }, (event) => {
    if (!event.save) return;
    started = true;
    if (event.kind === "progress") onProgress({ bytesSent: event.bytesOut, total: event.total });
    else if (event.kind === "streamed") settle.resolve();
    else if (event.kind === "failed") settle.reject(event);
  });
  const unstarted = setTimeout(() => {
    if (!started) settle.reject({ code: "Network", message: `${listName}: the browser did not start the download` });
  }, DOWNLOAD_START_MS);
  try {
    // A navigation: the browser's own download, answered by the Service Worker.
    Object.assign(document.createElement("a"), { href: exposed.downloadUrl }).click();
    await ended;
  } finally {
    clearTimeout(unstarted);
    await exposed.close().catch(() => {});
  }
}

/** A shared list of files (a verified manifest): each saved on demand. */
function showFiles(entries) {
  const buttons = entries.map((entry) => {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Save" });
    button.onclick = () => saveEntry(entry, button).catch(showError);
    const li = document.createElement("li");
    li.append(`${entry.path} (${human(entry.size)})`, button);
    $("file-list").append(li);
    return [entry, button];
  });
  $("save-all").onclick = async () => {
    $("save-all").disabled = true;
    try {
      for (const [entry, button] of buttons) if (!button.disabled) await saveEntry(entry, button);
      $("save-all").textContent = "All saved";
    } catch (err) {
      $("save-all").disabled = false;
      showError(err);
    }
  };
  $("files").hidden = false;
}
