// What the browser benches share: the S3 client of the local Garage (from
// scripts/with-garage.sh's environment), random files, and Chromium's
// processes (every process below this one).
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { randomFillSync } from "node:crypto";

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
