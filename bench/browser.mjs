// `make bench`, browser part (issue 5), one run in headless Chromium against
// the local Garage (scripts/with-garage.sh sets the S3 environment):
//   (a) raw WebCrypto AES-256-GCM over the format's segment size;
//   (a') the format's ceiling: (a) plus the SHA-256 of each stored segment
//        (bench/raw.js), on one thread and on two;
//   (b) s3seal seal on the wasm aes-gcm engine;
//   (c) s3seal seal on the default engine (WebCrypto), in a Worker;
//   (d) wall time of a 256 MiB upload: plain presigned multipart vs sealed +
//       SSE-C through s3seal (same presigner, part size and concurrency),
//       and (d') sealed to a public key (form mode) against the keyed one;
//   (e) Chromium's memory growth (PSS of all its processes) while sealing and
//       uploading a 2 GiB file.
// Merges into bench/results.json and writes the browser table of results.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { body, browser, serve } from "../tests/e2e/lib.mjs";
import { MIB, chromiumPss, cpuSeconds, presign, randomFile, remove, writeTable } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CIPHER_SIZE = 64 * MIB;
const CIPHER_RUNS = 9;
const UPLOAD_SIZE = 256 * MIB;
const UPLOAD_RUNS = 3;
const MEMORY_SIZE = 2048 * MIB;
/** Memory sampling period while the 2 GiB upload runs. */
const SAMPLE_MS = 200;
const CORES = Number(execFileSync("nproc").toString().trim());

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(path.join(tmpdir(), "s3seal-bench-"));
const server = await serve(root, {
  "POST /presign": async (req, res) => {
    try {
      const out = await presign(JSON.parse(await body(req)));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    } catch (err) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: String(err) } }));
    }
  },
});
/** The bench page in `chrome`, and a call into its Worker. */
async function benchPage(chrome) {
  const page = await chrome.newPage();
  await page.goto(`${server.url}/bench/page.html`);
  await page.waitForFunction(() => document.title === "ready", null, { timeout: 30000 });
  return { page, bench: (op, args) => page.evaluate(([op, args]) => window.bench(op, args), [op, args]) };
}

let chrome = await browser();
const results = {};
try {
  let { page, bench } = await benchPage(chrome);
  results.browser = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent);
  const presignUrl = `${server.url}/presign`;

  console.error(`(a)-(c): ${CIPHER_SIZE / MIB} MiB, ${CIPHER_RUNS} runs`);
  const cipher = await bench("cipher", { size: CIPHER_SIZE, runs: CIPHER_RUNS });
  const round = (x) => Math.round(x);
  results.raw_webcrypto_serial_mbps = round(cipher.raw_serial.median);
  results.raw_webcrypto_window4_mbps = round(cipher.raw_window4.median);
  results.raw_webcrypto_mbps = Math.max(results.raw_webcrypto_serial_mbps, results.raw_webcrypto_window4_mbps);
  results.seal_wasm_engine_mbps = round(cipher.seal_wasm.median);
  results.seal_webcrypto_mbps = round(cipher.seal_webcrypto.median);
  results.seal_bytes_mbps = round(cipher.seal_bytes.median);
  results.cipher_workers = cipher.workers;
  results.seal_bytes_one_thread_mbps = round(cipher.seal_bytes_one_thread.median);
  results.seal_bytes_one_thread_vs_raw = +(results.seal_bytes_one_thread_mbps / results.raw_webcrypto_mbps).toFixed(3);
  results.read_blob_mbps = round(cipher.read_blob.median);
  results.seal_bytes_vs_raw = +(results.seal_bytes_mbps / results.raw_webcrypto_mbps).toFixed(3);
  results.open_webcrypto_mbps = round(cipher.open_webcrypto.median);
  results.open_bytes_mbps = round(cipher.open_bytes.median);
  results.seal_vs_raw = +(results.seal_webcrypto_mbps / results.raw_webcrypto_mbps).toFixed(3);
  // The format's ceiling: AES-GCM plus the SHA-256 of each stored segment,
  // on one thread and on two (s3seal's default: this thread and a cipher
  // worker).
  results.floor_seal_mbps = round(cipher.floor_seal.median);
  results.floor_seal_two_mbps = round(cipher.floor_seal_two.median);
  results.floor_open_mbps = round(cipher.floor_open.median);
  results.floor_open_two_mbps = round(cipher.floor_open_two.median);
  results.seal_bytes_vs_floor = +(results.seal_bytes_mbps / results.floor_seal_two_mbps).toFixed(3);
  results.open_bytes_vs_floor = +(results.open_bytes_mbps / results.floor_open_two_mbps).toFixed(3);
  // From a Blob, with both cores sealing, reading the Blob can only add its
  // own CPU time: 1 / (1 / in memory + 1 / reading alone).
  const serial = (a, b) => round(1 / (1 / a + 1 / b));
  results.seal_blob_bound_mbps = serial(results.seal_bytes_mbps, results.read_blob_mbps);
  results.open_blob_bound_mbps = serial(results.open_bytes_mbps, results.read_blob_mbps);
  results.seal_blob_vs_bound = +(results.seal_webcrypto_mbps / results.seal_blob_bound_mbps).toFixed(3);
  results.open_blob_vs_bound = +(results.open_webcrypto_mbps / results.open_blob_bound_mbps).toFixed(3);
  results.cipher_runs = cipher;

  console.error(`(d): ${UPLOAD_SIZE / MIB} MiB uploads, ${UPLOAD_RUNS} of each`);
  const file = path.join(work, "upload.bin");
  randomFile(file, UPLOAD_SIZE);
  await page.setInputFiles("#file", file);
  const plain = [];
  const sealed = [];
  const toRecipient = [];
  const cpu = { plain: [], sealed: [], recipient: [] };
  const measured = async (kind, fn) => {
    const before = cpuSeconds();
    const out = await fn();
    const after = cpuSeconds();
    cpu[kind].push(Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])));
    return out;
  };
  for (let run = 0; run < UPLOAD_RUNS; run++) {
    const object = `plain-${run}.bin`;
    plain.push((await measured("plain", () => bench("uploadPlain", { file: true, presignUrl, object }))).ms);
    await remove(`bench/${object}`);
    const s = await measured("sealed", () => bench("uploadSealed", { file: true, presignUrl }));
    if (s.engine !== "webcrypto") throw new Error(`sealed with ${s.engine}`);
    sealed.push(s.ms);
    await remove(`uploads/${s.objectName}`);
    const r = await measured("recipient", () => bench("uploadToRecipient", { file: true, presignUrl }));
    toRecipient.push(r.ms);
    await remove(`uploads/${r.objectName}`);
  }
  const cpuMedian = (kind, who) => +median(cpu[kind].map((c) => c[who])).toFixed(2);
  const cpuOf = (kind) => ({
    chromium: cpuMedian(kind, "chromium"),
    garage: cpuMedian(kind, "garage"),
    renderer: cpuMedian(kind, "renderer"),
    renderer_sys: cpuMedian(kind, "renderer_sys"),
    renderer_faults: median(cpu[kind].map((c) => c.renderer_faults)),
  });
  results.upload_cpu_seconds = { plain: cpuOf("plain"), sealed: cpuOf("sealed"), recipient: cpuOf("recipient") };
  // The ratio even perfect overlap could not beat: an upload's CPU seconds
  // spread over every core, against another upload's wall time.
  const cpuFloor = (cpu, wallMs) => +((cpu.chromium + cpu.garage) / CORES / (wallMs / 1000)).toFixed(3);
  results.upload_ratio_cpu_floor = cpuFloor(results.upload_cpu_seconds.sealed, median(plain));
  results.upload_recipient_seconds = +(median(toRecipient) / 1000).toFixed(2);
  results.upload_recipient_ratio = +(median(toRecipient) / median(plain)).toFixed(3);
  results.upload_recipient_vs_sealed = +(median(toRecipient) / median(sealed)).toFixed(3);
  // Form mode against the keyed upload: the receipt's SHA-256 is CPU that
  // no overlap hides once both cores are busy.
  results.upload_recipient_cpu_floor = cpuFloor(results.upload_cpu_seconds.recipient, median(sealed));
  results.upload_plain_seconds = +(median(plain) / 1000).toFixed(2);
  results.upload_sealed_seconds = +(median(sealed) / 1000).toFixed(2);
  results.upload_ratio = +(median(sealed) / median(plain)).toFixed(3);
  results.upload_runs_ms = { plain: plain.map(round), sealed: sealed.map(round), recipient: toRecipient.map(round) };

  console.error(`(e): ${MEMORY_SIZE / MIB} MiB sealed upload, memory sampled every ${SAMPLE_MS} ms`);
  rmSync(file);
  const big = path.join(work, "big.bin");
  randomFile(big, MEMORY_SIZE);
  // A fresh browser, as a user's first upload: after (a)-(d) Chromium's
  // allocators keep memory that (e) would reuse and not count.
  await chrome.close();
  chrome = await browser();
  ({ page, bench } = await benchPage(chrome));
  await page.setInputFiles("#file", big);
  await new Promise((r) => setTimeout(r, 1000));
  const baseline = chromiumPss();
  let peak = baseline;
  const sample = () => {
    const now = chromiumPss();
    if (now.total > peak.total) peak = now;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const t = Date.now();
  const s = await bench("uploadSealed", { file: true, presignUrl });
  clearInterval(sampler);
  sample();
  results.upload_2gib_seconds = +((Date.now() - t) / 1000).toFixed(1);
  results.memory_baseline_mib = round(baseline.total / MIB);
  results.memory_growth_mib = round((peak.total - baseline.total) / MIB);
  results.memory_growth_browser_process_mib = round((peak.browser - baseline.browser) / MIB);
  results.memory_growth_renderers_mib = round((peak.renderer - baseline.renderer) / MIB);
  await remove(`uploads/${s.objectName}`);
} finally {
  await chrome.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
const wasm = readFileSync(path.join(root, "pkg/s3seal_wasm_bg.wasm"));
results.wasm_bytes = wasm.length;
results.wasm_gzip_bytes = gzipSync(wasm, { level: 9 }).length;
// What the page loads: the wasm and every script (the budget of issue 17).
results.page_gzip_bytes = execFileSync("bash", ["scripts/build-pkg.sh", "--page-files"], { cwd: root, encoding: "utf8" })
  .trim()
  .split("\n")
  .reduce((sum, f) => sum + gzipSync(readFileSync(path.join(root, f)), { level: 9 }).length, 0);
results.cores = CORES;

const jsonPath = path.join(root, "bench/results.json");
let all = {};
try {
  all = JSON.parse(readFileSync(jsonPath, "utf8"));
} catch {}
delete all.wasm; // the figures of the wasm-only build, superseded
all.browser = results;
writeFileSync(jsonPath, JSON.stringify(all, null, 2) + "\n");

const r = results;
const md = [
  "",
  `| browser figure (headless ${r.browser}, ${r.cores} cores; medians) | value | goal |`,
  "|---|---|---|",
  `| (a) raw WebCrypto AES-256-GCM, 256 KiB calls, 64 MiB (1 / 4 in flight) | ${r.raw_webcrypto_serial_mbps} / ${r.raw_webcrypto_window4_mbps} MB/s | ceiling |`,
  `| (b) s3seal seal on the wasm aes-gcm engine | ${r.seal_wasm_engine_mbps} MB/s | fallback |`,
  `| (a') the format's ceiling: AES-256-GCM as in (a) plus the SHA-256 of each stored segment that the signature needs, 4 in flight, seal / open, on one thread / split over two | ${r.floor_seal_mbps} / ${r.floor_open_mbps} MB/s; on two threads ${r.floor_seal_two_mbps} / ${r.floor_open_two_mbps} MB/s | ceiling of format v2 |`,
  `| (c) s3seal seal in a Worker (WebCrypto engine, ${r.cipher_workers} cipher worker as by default), plaintext in memory as in (a) | ${r.seal_bytes_mbps} MB/s (${r.seal_bytes_vs_raw}x of (a); ${r.seal_bytes_vs_floor}x of (a') on two threads) | >= 0.9x (a), >= 1200 MB/s (set before format v2 signed; its ceiling is (a')) |`,
  `| (c) the same on one thread (\`cipherWorkers(0)\`) | ${r.seal_bytes_one_thread_mbps} MB/s (${r.seal_bytes_one_thread_vs_raw}x of (a)) | |`,
  `| (c) the same from a Blob (what a picked File costs) | ${r.seal_webcrypto_mbps} MB/s (${r.seal_vs_raw}x of (a); ${r.seal_blob_vs_bound}x of its bound ${r.seal_blob_bound_mbps} MB/s: both cores seal, so reading the Blob adds its CPU, 1 / (1 / in memory + 1 / reading alone)) | >= 0.95x (a); bound as said |`,
  `| reading that Blob alone (BYOB reads into reused memory, as seal() reads it; no sealing) | ${r.read_blob_mbps} MB/s | a term of the bound above |`,
  `| s3seal open in a Worker (WebCrypto engine): sealed bytes in memory / from a Blob | ${r.open_bytes_mbps} / ${r.open_webcrypto_mbps} MB/s (in memory: ${r.open_bytes_vs_floor}x of (a') on two threads; from a Blob: ${r.open_blob_vs_bound}x of its bound ${r.open_blob_bound_mbps} MB/s, as for sealing) | >= 0.95x (a); bound as said |`,
  `| (d) 256 MiB upload to Garage: plain multipart / s3seal sealed + SSE-C | ${r.upload_plain_seconds} s / ${r.upload_sealed_seconds} s (ratio ${r.upload_ratio}) | stress figure, no goal: the CPU binds here; where the link binds, see (i) |`,
  `| (d) CPU seconds during those uploads, Chromium + Garage: plain / sealed | ${r.upload_cpu_seconds.plain.chromium} + ${r.upload_cpu_seconds.plain.garage} / ${r.upload_cpu_seconds.sealed.chromium} + ${r.upload_cpu_seconds.sealed.garage} | CPU floor of the ratio on ${r.cores} cores: ${r.upload_ratio_cpu_floor} |`,
  `| (d) of Chromium's CPU, the renderer's (where s3seal runs): plain / sealed | ${r.upload_cpu_seconds.plain.renderer} / ${r.upload_cpu_seconds.sealed.renderer} s, of it system ${r.upload_cpu_seconds.plain.renderer_sys} / ${r.upload_cpu_seconds.sealed.renderer_sys} s; minor page faults ${r.upload_cpu_seconds.plain.renderer_faults} / ${r.upload_cpu_seconds.sealed.renderer_faults} (${UPLOAD_SIZE / 4096} pages of plaintext) | |`,
  `| (d') 256 MiB form-mode upload (sealed to a public key + SHA-256 receipt) | ${r.upload_recipient_seconds} s (${r.upload_recipient_vs_sealed}x the keyed upload; ${r.upload_recipient_ratio}x plain; CPU ${r.upload_cpu_seconds.recipient.chromium} + ${r.upload_cpu_seconds.recipient.garage} s) | <= 1.2x keyed; CPU floor of that ratio on ${r.cores} cores: ${r.upload_recipient_cpu_floor} |`,
  `| (e) Chromium memory growth, 2 GiB sealed upload in a fresh browser (${r.upload_2gib_seconds} s) | ${r.memory_growth_mib} MiB over ${r.memory_baseline_mib} MiB (browser process ${r.memory_growth_browser_process_mib}, renderers ${r.memory_growth_renderers_mib}) | < 256 MiB |`,
  `| .wasm size | ${(r.wasm_bytes / 1024).toFixed(1)} KiB, ${(r.wasm_gzip_bytes / 1024).toFixed(1)} KiB gzipped | < 150 KiB gz |`,
  `| page payload (wasm + the page's scripts, each gzip -9) | ${(r.page_gzip_bytes / 1024).toFixed(1)} KiB | <= 196 KiB (scripts/build-pkg.sh) |`,
];
// The browser table comes after the native one.
writeTable("| browser figure", "| native figure", md.slice(1));
