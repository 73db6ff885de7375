// `make bench`, streaming open (issue 19), one run in headless Chromium
// through the demo page, `s3seal serve` (release) and the local Garage
// (scripts/with-garage.sh sets the S3 environment):
//   (f) a 2 GiB share saved the streaming way (into a picked file, File
//       System Access) against a plain presigned GET of the same bytes piped
//       into a file the same way (and, for scale, of those bytes stored with
//       SSE-C, as the share is): wall time and Chromium's memory growth;
//   (g) a sealed 1 GiB WebM in the page's <video>: the time from a seek to
//       the middle to its first frame, and the bytes fetched for it;
//   (h) a 5 GiB round trip through the page (upload, then a streamed
//       download), compared by SHA-256: times, peak memory, the last
//       progress shown.
// Merges into bench/results.json ("stream") and writes its table in results.md.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { browser, persistentBrowser, startServe } from "../tests/e2e/lib.mjs";
import { MIB, bucket, chromiumPss, cpuSeconds, getSignedUrl, randomFile, s3, sdk, writeTable } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = process.env.S3SEAL_BIN ?? path.join(root, "target/release/s3seal");
const SAVE_SIZE = 2048 * MIB;
const VIDEO_SECONDS = 58;
/** The Service Worker's largest answer (MAX_RANGE_BYTES in pkg/src/sw.ts). */
const RANGE_READ_SIZE = 4 * MIB;
const RANGE_READS = 7;
const ROUND_TRIP_SIZE = 5 * 1024 * MIB;
const SAMPLE_MS = 200;
const CORES = Number(execFileSync("nproc").toString().trim());
const only = (process.env.S3SEAL_BENCH_ONLY ?? "f,g,h").split(",");

async function sha256File(file) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * MIB })) hash.update(chunk);
  return hash.digest("hex");
}

/** Runs `fn` while sampling Chromium's memory: { ms, growthMib, roles, cpu,
 * result } (roles: the growth at the peak by process role, in MiB; cpu:
 * seconds of Chromium's CPU, in all and by role, and of Garage's meanwhile). */
async function measured(fn) {
  const baseline = chromiumPss();
  let peak = baseline;
  const sample = () => {
    const now = chromiumPss();
    if (now.total > peak.total) peak = now;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const cpu0 = cpuSeconds();
  const t = performance.now();
  try {
    const result = await fn();
    const ms = performance.now() - t;
    const cpu1 = cpuSeconds();
    const cpu = Object.fromEntries(["chromium", "browser", "renderer", "other", "garage"].map((k) => [k, +(cpu1[k] - cpu0[k]).toFixed(2)]));
    sample();
    const growth = (role) => Math.round((peak[role] - baseline[role]) / MIB);
    return { ms, growthMib: growth("total"), roles: { browser: growth("browser"), renderer: growth("renderer"), other: growth("other") }, cpu, result };
  } finally {
    clearInterval(sampler);
  }
}

/** A fresh Chromium with a profile of its own (a user's storage quota),
 * whose "Save" picks a file in the origin-private file system (the picker
 * dialog is the only thing replaced; the writable is the browser's own). */
async function pickingBrowser() {
  const context = await persistentBrowser(mkdtempSync(path.join(work, "profile-")), { acceptDownloads: true });
  await context.addInitScript(() => {
    window.showSaveFilePicker = async ({ suggestedName }) => {
      const dir = await navigator.storage.getDirectory();
      return dir.getFileHandle(suggestedName, { create: true });
    };
  });
  return context;
}

/** Uploads `file` through the page; resolves to the share link. */
async function uploadViaPage(chrome, page, file) {
  const context = await chrome.newContext();
  const p = await context.newPage();
  await p.goto(`${page.url}/`);
  await p.setInputFiles("#file", file);
  await p.click("#upload");
  await p.waitForSelector("#result:not([hidden]), #error:not([hidden])", { timeout: 900000 });
  const error = await p.$eval("#error", (e) => (e.hidden ? null : e.textContent));
  if (error) throw new Error(`upload failed: ${error}`);
  const link = await p.inputValue("#share-link");
  await context.close();
  return link;
}

/** Opens a link in `context` and waits for the streamed card. */
async function openLink(context, link) {
  const page = await context.newPage();
  await page.goto(link);
  await page.click("#open");
  await page.waitForSelector("#opened:not([hidden]), #error:not([hidden])", { timeout: 120000 });
  const error = await page.$eval("#error", (e) => (e.hidden ? null : e.textContent));
  if (error) throw new Error(`open failed: ${error}`);
  return page;
}

const results = {};
const work = mkdtempSync(path.join(tmpdir(), "s3seal-stream-bench-"));
const page = await startServe(bin, root);
let chrome = await browser();
try {
  results.browser = chrome.version();
  if (only.includes("f")) {
    console.error(`(f): ${SAVE_SIZE / MIB} MiB saved streaming vs a plain presigned GET`);
    const file = path.join(work, "save.bin");
    randomFile(file, SAVE_SIZE);
    const link = await uploadViaPage(chrome, page, file);
    await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: "bench/plain-save.bin", Body: createReadStream(file), ContentLength: SAVE_SIZE }));
    const plainUrl = await getSignedUrl(s3, new sdk.GetObjectCommand({ Bucket: bucket, Key: "bench/plain-save.bin" }), { expiresIn: 3600 });
    // The same plain bytes stored with SSE-C, as the sealed share is: Garage
    // then does the same work for both, and the ratio to it is the client's.
    const sseKey = randomBytes(32);
    const sseC = { SSECustomerAlgorithm: "AES256", SSECustomerKey: sseKey.toString("base64"), SSECustomerKeyMD5: createHash("md5").update(sseKey).digest("base64") };
    await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: "bench/plain-save-sse-c.bin", Body: createReadStream(file), ContentLength: SAVE_SIZE, ...sseC }));
    const sseCUrl = await getSignedUrl(s3, new sdk.GetObjectCommand({ Bucket: bucket, Key: "bench/plain-save-sse-c.bin", ...sseC }), { expiresIn: 3600 });
    const sseCHeaders = {
      "x-amz-server-side-encryption-customer-algorithm": sseC.SSECustomerAlgorithm,
      "x-amz-server-side-encryption-customer-key": sseC.SSECustomerKey,
      "x-amz-server-side-encryption-customer-key-md5": sseC.SSECustomerKeyMD5,
    };
    rmSync(file);
    const plain = [];
    const plainSseC = [];
    const sealed = [];
    let growth = { growthMib: 0 };
    let plainGrowth = { growthMib: 0 };
    const plainCpu = [];
    const sealedCpu = [];
    /** A plain presigned GET piped into a picked file, in a fresh browser. */
    const plainSave = async (url, headers) => {
      const context = await pickingBrowser();
      const p = await context.newPage();
      await p.goto(`${page.url}/`);
      const m = await measured(() =>
        p.evaluate(
          async ([url, headers]) => {
            const dir = await navigator.storage.getDirectory();
            const writable = await (await dir.getFileHandle("plain.bin", { create: true })).createWritable();
            await (await fetch(url, { headers })).body.pipeTo(writable);
            const size = (await (await dir.getFileHandle("plain.bin")).getFile()).size;
            await dir.removeEntry("plain.bin");
            return size;
          },
          [url, headers],
        ),
      );
      if (m.result !== SAVE_SIZE) throw new Error(`plain save: ${m.result} bytes`);
      await context.close();
      return m;
    };
    // Interleaved, each in a fresh browser: plain, plain with SSE-C, sealed; twice.
    for (let round = 0; round < 2; round++) {
      const m = await plainSave(plainUrl, {});
      plain.push(m.ms);
      plainCpu.push(m.cpu);
      if (m.growthMib >= plainGrowth.growthMib) plainGrowth = m;
      plainSseC.push((await plainSave(sseCUrl, sseCHeaders)).ms);
      const context = await pickingBrowser();
      const p = await openLink(context, link);
      const s = await measured(async () => {
        await p.click("#save");
        await p.waitForSelector("#saved:not([hidden]), #error:not([hidden])", { timeout: 600000 });
        return p.$eval("#error", (e) => (e.hidden ? null : e.textContent));
      });
      if (s.result) throw new Error(`streamed save: ${s.result}`);
      sealed.push(s.ms);
      sealedCpu.push(s.cpu);
      if (s.growthMib >= growth.growthMib) growth = s;
      // The picked file, as a user would find it.
      const saved = await p.evaluate(async () => {
        const dir = await navigator.storage.getDirectory();
        for await (const [name, handle] of dir.entries()) return { name, size: (await handle.getFile()).size };
        return null;
      });
      if (saved?.size !== SAVE_SIZE) throw new Error(`streamed save: ${JSON.stringify(saved)}`);
      await context.close();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    results.save_plain_seconds = +(median(plain) / 1000).toFixed(2);
    results.save_sealed_seconds = +(median(sealed) / 1000).toFixed(2);
    results.save_ratio = +(median(sealed) / median(plain)).toFixed(3);
    results.save_plain_sse_c_seconds = +(median(plainSseC) / 1000).toFixed(2);
    results.save_ratio_sse_c = +(median(sealed) / median(plainSseC)).toFixed(3);
    results.save_runs_ms = { plain: plain.map(Math.round), plain_sse_c: plainSseC.map(Math.round), sealed: sealed.map(Math.round) };
    results.save_memory_growth_mib = growth.growthMib;
    results.save_plain_memory_growth_mib = plainGrowth.growthMib;
    // Where each grew, at its peak: the browser process, renderers, the rest.
    results.save_memory_growth_roles_mib = { sealed: growth.roles, plain: plainGrowth.roles };
    // CPU seconds of Chromium + Garage, each save's (runs in order).
    results.save_cpu_seconds = { plain: plainCpu, sealed: sealedCpu };
  }
  if (only.includes("g")) {
    console.error(`(g): a ${VIDEO_SECONDS} s sealed WebM (about 1 GiB), seek to the middle`);
    const clip = path.join(work, "clip.webm");
    // Noise does not compress: a VP8 stream of about 150 Mbit/s, ~1 GiB.
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "nullsrc=s=1280x720:r=25,geq=random(1)*255:128:128", "-t", String(VIDEO_SECONDS),
      "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "150M", "-minrate", "150M", "-maxrate", "150M", "-bufsize", "150M", "-g", "25", clip]);
    results.video_bytes = readFileSync(clip).length;
    const link = await uploadViaPage(chrome, page, clip);
    rmSync(clip);
    const context = await chrome.newContext();
    let fetched = 0;
    let counting = false;
    // Bytes S3 sent for the page's Worker's ranged GETs.
    context.on("response", async (r) => {
      if (counting && r.url().startsWith(process.env.S3SEAL_ENDPOINT) && r.request().method() === "GET") {
        fetched += Number((await r.allHeaders().catch(() => ({})))["content-length"] ?? 0);
      }
    });
    const p = await openLink(context, link);
    await p.click("#play");
    await p.waitForSelector("#preview video");
    const got = await p.evaluate(async () => {
      const v = document.querySelector("#preview video");
      v.muted = true;
      if (v.readyState < 1) await new Promise((ok) => v.addEventListener("loadedmetadata", ok, { once: true }));
      return { duration: v.duration };
    });
    counting = true;
    const seek = await p.evaluate(async () => {
      const v = document.querySelector("#preview video");
      const t = performance.now();
      v.currentTime = v.duration / 2;
      // The first frame shown after the seek.
      await new Promise((ok) => v.requestVideoFrameCallback(ok));
      return { ms: performance.now() - t, at: v.currentTime };
    });
    await new Promise((r) => setTimeout(r, 500));
    counting = false;
    // A ranged read as the Service Worker's largest answer asks for it,
    // from the middle of the same object; nothing else runs meanwhile.
    results.range_read_ms = Math.round(
      await p.evaluate(async ([size, reads, link]) => {
        const s3seal = await import("/pkg/index.js");
        await s3seal.ready();
        const { objectName, fileKey } = s3seal.parseShareLink(link);
        const stored = await s3seal.StoredObject.open(objectName, { key: fileKey, presign: s3seal.presignWith("/api/presign") });
        const times = [];
        try {
          for (let i = 0; i < reads; i++) {
            const at = Math.floor(stored.plaintextLength / 2) + i * size;
            const t = performance.now();
            await stored.range(at, at + size);
            times.push(performance.now() - t);
          }
        } finally {
          stored.close();
        }
        return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
      }, [RANGE_READ_SIZE, RANGE_READS, link]),
    );
    results.video_duration_seconds = +got.duration.toFixed(1);
    results.seek_first_frame_ms = Math.round(seek.ms);
    results.seek_fetched_bytes = fetched;
    await context.close();
  }
  if (only.includes("h")) {
    console.error(`(h): a ${ROUND_TRIP_SIZE / MIB} MiB round trip through the page`);
    await chrome.close();
    chrome = await browser();
    const file = path.join(work, "huge.bin");
    randomFile(file, ROUND_TRIP_SIZE);
    const want = await sha256File(file);
    const up = await measured(() => uploadViaPage(chrome, page, file));
    rmSync(file);
    const context = await chrome.newContext({ acceptDownloads: true });
    await context.addInitScript(() => delete window.showSaveFilePicker);
    const p = await openLink(context, up.result);
    const statuses = [];
    const sampler = setInterval(() => p.textContent("#status").then((s) => s && statuses.push(s)).catch(() => {}), 1000);
    const down = await measured(async () => {
      const [download] = await Promise.all([p.waitForEvent("download"), p.click("#save")]);
      const out = path.join(work, "huge.out");
      await download.saveAs(out);
      await p.waitForSelector("#saved:not([hidden]), #error:not([hidden])", { timeout: 120000 });
      return out;
    });
    clearInterval(sampler);
    const got = await sha256File(down.result);
    if (got !== want) throw new Error(`5 GiB round trip: ${got} != ${want}`);
    rmSync(down.result);
    results.round_trip_upload_seconds = +(up.ms / 1000).toFixed(1);
    results.round_trip_download_seconds = +(down.ms / 1000).toFixed(1);
    results.round_trip_memory_growth_mib = { upload: up.growthMib, download: down.growthMib };
    results.round_trip_last_progress = statuses.at(-1) ?? "";
    await context.close();
  }
} finally {
  await chrome.close();
  await page.stop();
  rmSync(work, { recursive: true, force: true });
  // What was measured is kept even when a later part failed.
  report();
}

function report() {
  const jsonPath = path.join(root, "bench/results.json");
  const all = JSON.parse(readFileSync(jsonPath, "utf8"));
  all.stream = { ...all.stream, ...results };
  writeFileSync(jsonPath, JSON.stringify(all, null, 2) + "\n");
  const r = all.stream;
  // The ratio even perfect overlap could not beat here: the sealed save's
  // CPU seconds spread over every core, against the plain save's wall time.
  const least = (runs) => Math.min(...(runs ?? []).map((c) => c.chromium + c.garage));
  const roles = (g) => (g ? `${g.browser} / ${g.renderer} / ${g.other}` : "?");
  const cpu = (c) => `${c.chromium} (${roles(c)}) + ${c.garage}`;
  const floor = r.save_cpu_seconds ? +(least(r.save_cpu_seconds.sealed) / CORES / r.save_plain_seconds).toFixed(3) : "?";
  const md = [
    `| streaming open (issue 19; headless ${r.browser}, the demo page through \`s3seal serve\`) | value | goal |`,
    "|---|---|---|",
    `| (f) ${SAVE_SIZE / MIB} MiB saved into a picked file: plain presigned GET / sealed share, streamed (the lower of 2 runs each, interleaved, fresh browsers) | ${r.save_plain_seconds} / ${r.save_sealed_seconds} s (ratio ${r.save_ratio}) | ratio <= 1.10 |`,
    `| (f) the same plain bytes stored with SSE-C, as the sealed share is (Garage does the same work for both): plain with SSE-C / sealed | ${r.save_plain_sse_c_seconds} / ${r.save_sealed_seconds} s (ratio ${r.save_ratio_sse_c}) | for scale |`,
    `| (f) CPU seconds, Chromium (browser process / renderers / other) + Garage, plain / sealed (each run; Garage also undoes SSE-C for the sealed one) | ${r.save_cpu_seconds?.plain.map(cpu).join(", ")} / ${r.save_cpu_seconds?.sealed.map(cpu).join(", ")} | CPU floor of the ratio on ${CORES} cores: ${floor} |`,
    `| (f) Chromium memory growth during the sealed save (the plain save's, for scale); at the peak, browser process / renderers / other processes | ${r.save_memory_growth_mib} MiB (${r.save_plain_memory_growth_mib} MiB); ${roles(r.save_memory_growth_roles_mib?.sealed)} (${roles(r.save_memory_growth_roles_mib?.plain)}) | < 256 MiB |`,
    `| (g) seek to the middle of a sealed ${(r.video_bytes / 1e9).toFixed(2)} GB WebM (${r.video_duration_seconds} s) in the page's <video>: time to the first frame, bytes fetched | ${r.seek_first_frame_ms} ms, ${(r.seek_fetched_bytes / MIB).toFixed(1)} MiB | about the segments it needs |`,
    `| (g) a ${RANGE_READ_SIZE / MIB} MiB ranged read (the Service Worker's largest answer) from the middle of that object, \`StoredObject.range\`, median of ${RANGE_READS} | ${r.range_read_ms} ms | |`,
    `| (h) ${ROUND_TRIP_SIZE / MIB} MiB round trip through the page, byte-identical (SHA-256): upload / streamed download | ${r.round_trip_upload_seconds} / ${r.round_trip_download_seconds} s | |`,
    `| (h) Chromium memory growth: upload / download; the last progress shown | ${r.round_trip_memory_growth_mib?.upload} / ${r.round_trip_memory_growth_mib?.download} MiB; "${r.round_trip_last_progress}" | |`,
  ];
  writeTable("| streaming open", "| browser figure", md);
}
