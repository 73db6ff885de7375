// s3seal's cipher worker (started by cipher.js): runs batches of AES-GCM
// calls for another thread and hands each input buffer back with its
// result, so the caller reuses it instead of allocating one per call. With
// `hash` it also takes the SHA-256 of the segment as stored (the output when
// sealing, the input when opening) for the object's signature, so this
// thread does its share of the hashing too.
import type { CipherCall, CipherResult } from "./cipher.js";

async function run({ op, key, iv, bytes, hash }: CipherCall): Promise<CipherResult> {
  // Started before the cipher call: `bytes` goes back to the caller after.
  const stored = hash && op === "decrypt" ? crypto.subtle.digest("SHA-256", bytes as BufferSource) : undefined;
  const out = await crypto.subtle[op]({ name: "AES-GCM", iv: iv as BufferSource, tagLength: 128 }, key, bytes as BufferSource);
  const digest = hash ? await (stored ?? crypto.subtle.digest("SHA-256", out)) : undefined;
  return { out, digest };
}

self.addEventListener("message", async ({ data }: MessageEvent<{ id: number; calls: CipherCall[] }>) => {
  const calls = await Promise.allSettled(data.calls.map(run));
  const results: CipherResult[] = calls.map((c) =>
    c.status === "fulfilled" ? c.value : { error: { name: c.reason?.name, message: c.reason?.message } },
  );
  // A sealed call's input was plaintext: wiped before its buffer goes back
  // to be pooled (or dropped) by the caller.
  for (const c of data.calls) if (c.op === "encrypt") c.bytes.fill(0);
  const backs = data.calls.map((c) => c.bytes.buffer as ArrayBuffer);
  const outs = results.flatMap((r) => (r.out ? [r.out, ...(r.digest ? [r.digest] : [])] : []));
  post({ id: data.id, results, backs }, [...outs, ...backs]);
});
// A message that could not be read here (a key this browser cannot clone)
// would leave its calls waiting: say so, and the caller stops using us.
self.addEventListener("messageerror", () => post({ broken: true }));
post({ ready: true });

/** This worker's postMessage (the DOM typings know only the window's). */
function post(message: unknown, transfer: Transferable[] = []): void {
  (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(message, transfer);
}
