// `make bench`, link part (issue 22): a 256 MiB upload, plain presigned
// multipart vs sealed + SSE-C through s3seal, where the link binds, as it
// does for a user with a remote S3: the local Garage's S3 port is shaped on
// the loopback device to 100 and 250 Mbit/s (tc: an HTB class that takes
// the traffic to that port; nothing else is slowed). Both speeds are well below what Garage takes on loopback, so the
// wire, not the CPU, sets the time. Needs root and tc; otherwise it says so
// and measures nothing. The shaping is removed however the run ends.
// Merges into bench/results.json ("link") and writes its table in results.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { body, browser, serve } from "../tests/e2e/lib.mjs";
import { MIB, presign, randomFile, remove, writeTable } from "./common.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SIZE = 256 * MIB;
const RATES_MBIT = [100, 250];
/** Runs of each kind per rate, interleaved plain / sealed. */
const RUNS = 2;
const GOAL_RATIO = 1.03;
const s3Port = new URL(process.env.S3SEAL_ENDPOINT).port;

const tc = (...args) => execFileSync("tc", args, { stdio: ["ignore", "ignore", "pipe"] });
function unshape() {
  try {
    tc("qdisc", "del", "dev", "lo", "root");
  } catch {} // nothing was shaped
}
function shape(mbit) {
  unshape();
  // HTB (this kernel has no prio qdisc): everything in an unbounded class
  // but the S3 port's traffic, in one of `mbit`, with bursts above
  // loopback's 64 KiB packets.
  tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "100gbit");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", `${mbit}mbit`, "ceil", `${mbit}mbit`, "burst", "256kb", "cburst", "256kb");
  tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "dport", s3Port, "0xffff", "flowid", "1:20");
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
let usable = process.getuid?.() === 0;
try {
  if (usable) unshape();
} catch {
  usable = false;
}
if (!usable || !s3Port) {
  results.skipped = "needs root, tc and the S3 port (S3SEAL_ENDPOINT)";
  console.error(`link: ${results.skipped}; nothing measured`);
} else {
  process.on("exit", unshape);
  const work = mkdtempSync(path.join(tmpdir(), "s3seal-link-"));
  const server = await serve(root, {
    "POST /presign": async (req, res) => {
      try {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(await presign(JSON.parse(await body(req)))));
      } catch (err) {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: String(err) } }));
      }
    },
  });
  const chrome = await browser();
  try {
    const page = await chrome.newPage();
    await page.goto(`${server.url}/bench/page.html`);
    await page.waitForFunction(() => document.title === "ready", null, { timeout: 30000 });
    const bench = (op, args) => page.evaluate(([op, args]) => window.bench(op, args), [op, args]);
    results.browser = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent);
    const file = path.join(work, "upload.bin");
    randomFile(file, SIZE);
    await page.setInputFiles("#file", file);
    const presignUrl = `${server.url}/presign`;
    results.rates = {};
    for (const mbit of RATES_MBIT) {
      console.error(`(i): ${SIZE / MIB} MiB at ${mbit} Mbit/s, ${RUNS} uploads of each`);
      shape(mbit);
      const plain = [];
      const sealed = [];
      try {
        for (let run = 0; run < RUNS; run++) {
          const object = `link-${mbit}-${run}.bin`;
          plain.push((await bench("uploadPlain", { file: true, presignUrl, object })).ms);
          await remove(`bench/${object}`);
          const s = await bench("uploadSealed", { file: true, presignUrl });
          sealed.push(s.ms);
          await remove(`uploads/${s.objectName}`);
        }
      } finally {
        unshape();
      }
      results.rates[mbit] = {
        plain_seconds: +(median(plain) / 1000).toFixed(2),
        sealed_seconds: +(median(sealed) / 1000).toFixed(2),
        ratio: +(median(sealed) / median(plain)).toFixed(3),
        // What the plain upload got of the link: near the rate means the link bound.
        plain_achieved_mbit: +((SIZE * 8) / (median(plain) / 1000) / 1e6).toFixed(1),
        runs_ms: { plain: plain.map(Math.round), sealed: sealed.map(Math.round) },
      };
    }
  } finally {
    unshape();
    await chrome.close();
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

const jsonPath = path.join(root, "bench/results.json");
const all = JSON.parse(readFileSync(jsonPath, "utf8"));
all.link = results;
writeFileSync(jsonPath, JSON.stringify(all, null, 2) + "\n");
const rows = [
  `| link figure (issue 22; headless ${results.browser ?? "Chromium"}; Garage's S3 port shaped on loopback with tc, everything else unshaped; the slower of ${RUNS} runs each, interleaved) | value | goal |`,
  "|---|---|---|",
  ...(results.skipped
    ? [`| (i) sealed vs plain upload where the link binds | not measured: ${results.skipped} | ratio <= ${GOAL_RATIO} |`]
    : RATES_MBIT.map((mbit) => {
        const r = results.rates[mbit];
        return `| (i) ${SIZE / MIB} MiB upload at ${mbit} Mbit/s: plain multipart / s3seal sealed + SSE-C (the plain one got ${r.plain_achieved_mbit} Mbit/s) | ${r.plain_seconds} / ${r.sealed_seconds} s (ratio ${r.ratio}) | ratio <= ${GOAL_RATIO} |`;
      })),
];
writeTable("| link figure", "| browser figure", rows);
