// `make bench` (browser part): the package's wasm seal/open throughput in
// headless Chromium on 64 MiB (median of 5, in-page timing), and the gzipped
// .wasm size. Merges into bench/results.json and appends to bench/results.md.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { browser, serve } from "../tests/e2e/lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SIZE = 64 << 20;
const server = await serve(root);
const chrome = await browser();
let results;
try {
  const page = await chrome.newPage();
  await page.goto(`${server.url}/tests/e2e/harness.html`);
  await page.waitForFunction(() => document.title === "ready", null, { timeout: 20000 });
  results = await page.evaluate(async (size) => {
    const { Key, Sealer, Opener } = window.s3seal;
    const data = new Uint8Array(size);
    for (let off = 0; off < size; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
    const key = Key.generate();
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const CHUNK = 1 << 20;
    const seal = [];
    let sealed;
    for (let run = 0; run < 5; run++) {
      const parts = [];
      const t = performance.now();
      const sealer = new Sealer(key, { name: "bench.bin", size });
      for (let off = 0; off < size; off += CHUNK) parts.push(sealer.push(data.subarray(off, off + CHUNK)));
      parts.push(sealer.finish());
      const ms = performance.now() - t;
      sealer.free();
      seal.push(size / ms / 1000);
      sealed = parts;
    }
    const open = [];
    for (let run = 0; run < 5; run++) {
      const t = performance.now();
      const opener = new Opener(key);
      let n = 0;
      for (const part of sealed) n += opener.push(part).length;
      n += opener.finish().length;
      const ms = performance.now() - t;
      opener.free();
      if (n !== size) throw new Error("open produced the wrong size");
      open.push(size / ms / 1000);
    }
    return { wasm_seal_mbps: Math.round(median(seal)), wasm_open_mbps: Math.round(median(open)) };
  }, SIZE);
  results.browser = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent);
} finally {
  await chrome.close();
  await server.close();
}
const wasm = readFileSync(path.join(root, "pkg/s3seal_wasm_bg.wasm"));
results.wasm_bytes = wasm.length;
results.wasm_gzip_bytes = gzipSync(wasm, { level: 9 }).length;
results.bytes = SIZE;

const jsonPath = path.join(root, "bench/results.json");
let all = {};
try {
  all = JSON.parse(readFileSync(jsonPath, "utf8"));
} catch {}
all.wasm = results;
writeFileSync(jsonPath, JSON.stringify(all, null, 2) + "\n");
const md = [
  "",
  "| browser figure (headless Chromium, 64 MiB, median of 5) | value |",
  "|---|---|",
  `| s3seal seal in wasm (aes-gcm, 1 MiB pushes) | ${results.wasm_seal_mbps} MB/s |`,
  `| s3seal open in wasm | ${results.wasm_open_mbps} MB/s |`,
  `| .wasm size | ${(results.wasm_bytes / 1024).toFixed(1)} KiB, ${(results.wasm_gzip_bytes / 1024).toFixed(1)} KiB gzipped (goal < 150 KiB) |`,
  `| browser | ${results.browser} |`,
];
writeFileSync(path.join(root, "bench/results.md"), readFileSync(path.join(root, "bench/results.md"), "utf8") + md.join("\n") + "\n");
console.log(md.join("\n"));
