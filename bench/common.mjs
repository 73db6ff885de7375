// What the browser benches share: the S3 client of the local Garage (from
// scripts/with-garage.sh's environment), random files, and Chromium's
// processes (every process below this one).
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
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

/** CPU seconds (user + system) used so far by Chromium (our descendants) and
 * by Garage (its pid file): where the time of an upload goes on 2 cores.
 * The renderer (where s3seal runs) is also counted apart, with its system
 * seconds and minor page faults: fresh memory costs it kernel time. */
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
  const out = { chromium: 0, garage: 0, renderer: 0, renderer_sys: 0, renderer_faults: 0 };
  for (const pid of descendants()) {
    const { user, sys, faults } = stat(pid);
    out.chromium += (user + sys) / 100; // USER_HZ = 100
    try {
      if (processType(pid) !== "renderer") continue;
    } catch {
      continue;
    }
    out.renderer += (user + sys) / 100;
    out.renderer_sys += sys / 100;
    out.renderer_faults += faults;
  }
  try {
    const { user, sys } = stat(readFileSync(path.join(process.env.GARAGE_DIR ?? path.join(root, ".garage"), "garage.pid"), "utf8").trim());
    out.garage = (user + sys) / 100;
  } catch {}
  return out;
}
