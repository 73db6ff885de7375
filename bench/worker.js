// `make bench`, in a module Worker (where the host page seals): the engine's
// ceiling, both engines through the s3seal format, and timed uploads.
import { Key, cipherWorkers, open, presignWith, ready, seal, sealBlob, upload } from "/pkg/index.js";
import { SEGMENT_PLAINTEXT_SIZE, floorLoop, randomBytes, rawWebCrypto } from "./raw.js";

/** The public key of the checked-in vectors (docs/FORMAT.md §8.1), for form-mode uploads. */
const RECIPIENT = "s3seal10xnrrmk7r0uunrcjqvkdatwsu7s8jwv0c7rt3rxggmkgntu955dql6lxpk";
/** Plain multipart: the same part size and concurrency s3seal uses by default. */
const PART_SIZE = 8 << 20;
const CONCURRENCY = 4;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes, ms) => bytes / ms / 1000;

/** Reads a stream to its end; keeps the pieces only when asked (keeping 64 MiB
 * alive is GC work that raw WebCrypto in (a), which drops its output, does not do). */
async function drain(stream, { keep = false } = {}) {
  const reader = stream.getReader();
  let n = 0;
  const parts = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { n, parts };
    n += value.length;
    if (keep) parts.push(value);
  }
}

/** Readers in use, held so a collection cannot drop a pending read (see
 * `reading` in pkg/index.js): unheld, this reader hung `make bench`. */
const reading = new Set();

/** Reads a Blob as seal() reads one: ~1 MiB BYOB reads into reused memory. */
async function readBlob(blob) {
  const reader = blob.stream().getReader({ mode: "byob" });
  reading.add(reader);
  try {
    let buffer = new ArrayBuffer(4 * SEGMENT_PLAINTEXT_SIZE);
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (value) buffer = value.buffer;
      if (done) return;
    }
  } finally {
    reading.delete(reader);
  }
}

/** A second thread for the format's floor, as s3seal seals on two threads
 * by default (this one and its cipher worker). */
const helper = new Worker(new URL("./raw-worker.js", import.meta.url), { type: "module" });
function ask(msg) {
  return new Promise((resolve) => {
    helper.onmessage = (e) => resolve(e.data);
    helper.postMessage(msg);
  });
}

/** The format's floor (`floorLoop`) over `data`, on this thread alone or
 * split by segments between it and the helper. */
async function formatFloor(kind, data, { threads, window = 4 }) {
  if (threads === 1) return (await floorLoop(kind, data, window))();
  const half = Math.floor(data.length / SEGMENT_PLAINTEXT_SIZE / 2) * SEGMENT_PLAINTEXT_SIZE;
  const mine = await floorLoop(kind, data.subarray(0, half), window);
  await ask({ op: "prepare", kind, bytes: data.slice(half), window });
  const t = performance.now();
  await Promise.all([ask({ op: "run" }), mine()]);
  return performance.now() - t;
}

const OPS = {
  async cipher({ size, runs }) {
    const data = randomBytes(size);
    const blob = new Blob([data]);
    const key = Key.generate();
    const out = { raw_serial: [], raw_window4: [], floor_seal: [], floor_seal_two: [], floor_open: [], floor_open_two: [], seal_bytes: [], seal_bytes_one_thread: [], seal_webcrypto: [], seal_wasm: [], open_bytes: [], open_webcrypto: [], read_blob: [] };
    // One cipher worker besides this thread (the default on 2+ cores), started
    // before the clock; `seal_bytes_one_thread` is the same without it.
    const workers = await cipherWorkers(1);
    let sealedParts;
    // One unrecorded round first: a cold first run (JIT, allocator pools)
    // measured raw WebCrypto at 136 MB/s against ~850 after it.
    await rawWebCrypto(data, 1);
    await rawWebCrypto(data, 4);
    await formatFloor("seal", data, { threads: 2 });
    await formatFloor("open", data, { threads: 2 });
    await drain(seal(data, { key }).stream);
    await drain(open(new Uint8Array(await (await sealBlob(data, { key })).blob.arrayBuffer()), key).stream);
    for (let run = 0; run < runs; run++) {
      out.raw_serial.push(mbps(size, await rawWebCrypto(data, 1)));
      out.raw_window4.push(mbps(size, await rawWebCrypto(data, 4)));
      for (const kind of ["seal", "open"]) {
        out[`floor_${kind}`].push(mbps(size, await formatFloor(kind, data, { threads: 1 })));
        out[`floor_${kind}_two`].push(mbps(size, await formatFloor(kind, data, { threads: 2 })));
      }
      // The format and engine alone: plaintext already in memory, as in (a).
      let t = performance.now();
      await drain(seal(data, { key }).stream);
      out.seal_bytes.push(mbps(size, performance.now() - t));
      await cipherWorkers(0);
      t = performance.now();
      await drain(seal(data, { key }).stream);
      out.seal_bytes_one_thread.push(mbps(size, performance.now() - t));
      await cipherWorkers(1);
      // What reading the Blob costs on its own (part of sealing a File).
      t = performance.now();
      await readBlob(blob);
      out.read_blob.push(mbps(size, performance.now() - t));
      t = performance.now();
      const sealed = seal(blob, { key });
      const got = await drain(sealed.stream, { keep: true });
      out.seal_webcrypto.push(mbps(size, performance.now() - t));
      if ((await sealed.engine) !== "webcrypto") throw new Error("auto did not pick WebCrypto");
      sealedParts = got.parts;
      // Opening, as sealing above: from memory, then from a Blob (made
      // before the clock starts: building it is not part of opening).
      const sealedBlob = new Blob(sealedParts);
      const sealedBytes = new Uint8Array(await sealedBlob.arrayBuffer());
      t = performance.now();
      const fromBytes = await drain(open(sealedBytes, key).stream);
      out.open_bytes.push(mbps(size, performance.now() - t));
      t = performance.now();
      const fromBlob = await drain(open(sealedBlob, key).stream);
      out.open_webcrypto.push(mbps(size, performance.now() - t));
      if (fromBytes.n !== size || fromBlob.n !== size) throw new Error("open returned the wrong size");
    }
    // The wasm engine is ~15x slower: fewer runs keep the bench short.
    for (let run = 0; run < Math.min(runs, 3); run++) {
      const t = performance.now();
      const sealed = seal(blob, { key, engine: "wasm" });
      await drain(sealed.stream);
      out.seal_wasm.push(mbps(size, performance.now() - t));
    }
    return { workers, ...Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { median: median(v), runs: v }])) };
  },

  async uploadSealed({ file, presignUrl }) {
    const key = Key.generate();
    const t = performance.now();
    const r = await upload(file, { key, presign: presignWith(presignUrl) });
    return { ms: performance.now() - t, objectName: r.objectName, engine: r.engine, size: r.size };
  },

  /** Form mode: sealed to a public key, with the receipt's SHA-256 of the plaintext. */
  async uploadToRecipient({ file, presignUrl }) {
    const t = performance.now();
    const r = await upload(file, { recipient: RECIPIENT, presign: presignWith(presignUrl) });
    return { ms: performance.now() - t, objectName: r.objectName, engine: r.engine, size: r.size };
  },

  /** A plain multipart upload (no encryption at all), the baseline of (d). */
  async uploadPlain({ file, presignUrl, object }) {
    const presign = presignWith(presignUrl);
    const send = async (req, body) => {
      const p = await presign({ object, ...req });
      const r = await fetch(p.url, { method: p.method, headers: p.headers, body });
      if (!r.ok) throw new Error(`${req.op}: HTTP ${r.status} ${await r.text()}`);
      return r;
    };
    const t = performance.now();
    const created = await (await send({ op: "createMultipart" })).text();
    const uploadId = created.match(/<UploadId>([^<]+)<\/UploadId>/)[1];
    const count = Math.ceil(file.size / PART_SIZE);
    const etags = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const body = file.slice(i * PART_SIZE, Math.min(file.size, (i + 1) * PART_SIZE));
        const r = await send({ op: "uploadPart", uploadId, partNumber: i + 1 }, body);
        etags[i] = r.headers.get("etag");
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    const done = await (await send({ op: "completeMultipart", uploadId }, xml)).text();
    if (done.includes("<Error>")) throw new Error(done);
    return { ms: performance.now() - t };
  },
};

await ready();
self.postMessage({ ready: true });
self.addEventListener("message", async ({ data }) => {
  try {
    self.postMessage({ id: data.id, result: await OPS[data.op](data) });
  } catch (err) {
    self.postMessage({ id: data.id, error: String(err?.stack ?? err) });
  }
});
