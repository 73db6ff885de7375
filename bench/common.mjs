// What the browser benches share: the S3 client of the local Garage (from
// scripts/with-garage.sh's environment), random files, and Chromium's
// processes (every process below this one).
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { randomFillSync } from "node:crypto";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const MIB = 1 << 20;

const tools = process.env.S3SEAL_TOOLS ?? path.join(process.env.HOME, ".cache/s3seal-tools");
const require = createRequire(path.join(tools, "node_modules", "noop.js"));
export const sdk = require("@aws-sdk/client-s3");
export const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");
export const bucket = process.env.S3SEAL_BUCKET ?? "s3seal";
export const s3 = new sdk.S3Client({
  endpoint: process.env.S3SEAL_ENDPOINT,
  region: process.env.S3SEAL_REGION ?? "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
});

/** A file of random bytes (Garage deduplicates blocks: no repeated pattern). */
export function randomFile(file, size) {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(4 * MIB);
  for (let done = 0; done < size; done += chunk.length) writeSync(fd, randomFillSync(chunk).subarray(0, Math.min(chunk.length, size - done)));
  closeSync(fd);
}

/** Pids of every process below this one (Chromium's browser, renderer, GPU
 * and utility processes; Garage is not ours). */
export function descendants() {
  const parent = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {}
  }
  const ours = (pid) => {
    for (let p = parent.get(pid), hops = 0; p && p !== "0" && hops < 64; p = parent.get(p), hops++) if (p === String(process.pid)) return true;
    return false;
  };
  return [...parent.keys()].filter(ours);
}

/** A Chromium process's `--type` ("renderer", "utility", ...); undefined for
 * the browser process. Throws for a process that is gone. */
export function processType(pid) {
  return /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, "utf8"))?.[1];
}

/** PSS in bytes of Chromium's processes: in all, and by role (the browser
 * process holds Blob data, e.g. upload bodies; renderers hold the page and
 * its Worker). */
export function chromiumPss() {
  const pss = { total: 0, browser: 0, renderer: 0, other: 0 };
  for (const pid of descendants()) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      if (!m) continue;
      const bytes = Number(m[1]) * 1024;
      const type = processType(pid);
      pss.total += bytes;
      if (!type) pss.browser += bytes;
      else if (type === "renderer") pss.renderer += bytes;
      else pss.other += bytes;
    } catch {}
  }
  return pss;
}

/** CPU seconds (user + system) used so far by Chromium (our descendants) and
 * by Garage (its pid file): where the time of an upload goes on 2 cores.
 * Chromium's is also split by process role (browser; renderer, where
 * s3seal runs; other, e.g. the network service), and the renderer's
 * system seconds and minor page faults are counted apart: fresh memory
 * costs it kernel time. */
export function cpuSeconds() {
  const stat = (pid) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return { user: Number(f[11]), sys: Number(f[12]), faults: Number(f[7]) }; // utime, stime, minflt
    } catch {
      return { user: 0, sys: 0, faults: 0 };
    }
  };
  const out = { chromium: 0, garage: 0, browser: 0, renderer: 0, other: 0, renderer_sys: 0, renderer_faults: 0 };
  for (const pid of descendants()) {
    const { user, sys, faults } = stat(pid);
    const seconds = (user + sys) / 100; // USER_HZ = 100
    let type;
    try {
      type = processType(pid);
    } catch {
      continue;
    }
    out.chromium += seconds;
    if (!type) out.browser += seconds;
    else if (type !== "renderer") out.other += seconds;
    else {
      out.renderer += seconds;
      out.renderer_sys += sys / 100;
      out.renderer_faults += faults;
    }
  }
  try {
    const { user, sys } = stat(readFileSync(path.join(process.env.GARAGE_DIR ?? path.join(root, ".garage"), "garage.pid"), "utf8").trim());
    out.garage = (user + sys) / 100;
  } catch {}
  return out;
}

const COMMANDS = {
  put: "PutObjectCommand",
  createMultipart: "CreateMultipartUploadCommand",
  uploadPart: "UploadPartCommand",
  completeMultipart: "CompleteMultipartUploadCommand",
  abortMultipart: "AbortMultipartUploadCommand",
};
const METHODS = { put: "PUT", createMultipart: "POST", uploadPart: "PUT", completeMultipart: "POST", abortMultipart: "DELETE" };

/** The s3seal presign JSON API with the AWS JS SDK presigner, for the bench
 * page's plain and sealed uploads: SSE-C when the request carries it, none
 * for the plain baseline (under bench/). */
export async function presign(req) {
  const key = req.object.endsWith(".s3seal") ? `uploads/${req.object}` : `bench/${req.object}`;
  const input = { Bucket: bucket, Key: key };
  const headers = {};
  if (req.sseC) {
    Object.assign(input, { SSECustomerAlgorithm: "AES256", SSECustomerKey: req.sseC.key, SSECustomerKeyMD5: req.sseC.keyMd5 });
    headers["x-amz-server-side-encryption-customer-algorithm"] = "AES256";
    headers["x-amz-server-side-encryption-customer-key"] = req.sseC.key;
    headers["x-amz-server-side-encryption-customer-key-MD5"] = req.sseC.keyMd5;
  }
  if (req.uploadId) input.UploadId = req.uploadId;
  if (req.partNumber) input.PartNumber = req.partNumber;
  const url = await getSignedUrl(s3, new sdk[COMMANDS[req.op]](input), { expiresIn: 600 });
  return { method: METHODS[req.op], url, headers };
}

export async function remove(key) {
  await s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Writes `rows` as the table of results.md whose first line starts with
 * `header` (replacing its last version), after the table starting with
 * `after`; the other tables and the hand-kept notes stay. */
export function writeTable(header, after, rows) {
  const mdPath = path.join(root, "bench/results.md");
  const blocks = readFileSync(mdPath, "utf8")
    .split("\n\n")
    .map((b) => b.replace(/^\n+|\n+$/g, ""))
    .filter((b) => b && !b.startsWith(header));
  const at = blocks.findIndex((b) => b.startsWith(after)) + 1;
  blocks.splice(at, 0, rows.join("\n"));
  writeFileSync(mdPath, `${blocks.join("\n\n")}\n`);
  console.log(rows.join("\n"));
}
