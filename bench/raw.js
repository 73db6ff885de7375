// The primitives alone, with none of the format's code around them: the
// ceilings bench/worker.js compares s3seal with. Shared with raw-worker.js,
// which runs the same loops on a second thread.

/** Plaintext bytes per segment of the format (256 KiB ciphertext segments). */
export const SEGMENT_PLAINTEXT_SIZE = 256 * 1024 - 16;

export function randomBytes(size) {
  const data = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
  return data;
}

/** Raw WebCrypto AES-256-GCM over segment-sized calls, `window` calls in flight. */
export async function rawWebCrypto(data, window) {
  const key = await crypto.subtle.importKey("raw", randomBytes(32), "AES-GCM", false, ["encrypt"]);
  const t = performance.now();
  const inFlight = [];
  for (let off = 0, i = 0; off < data.length; off += SEGMENT_PLAINTEXT_SIZE, i++) {
    inFlight.push(crypto.subtle.encrypt({ name: "AES-GCM", iv: counterIv(i) }, key, data.subarray(off, off + SEGMENT_PLAINTEXT_SIZE)));
    if (inFlight.length >= window) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return performance.now() - t;
}

/** What format v2 asks of the primitives per segment, and nothing else: raw
 * WebCrypto AES-256-GCM as in `rawWebCrypto`, plus the SHA-256 that the
 * signature's ledger needs of each stored segment. For "seal", each
 * output is hashed; for "open", each stored segment is hashed and
 * decrypted. Sets up the loop over `data` (the key; for "open" the
 * segments to open) and returns it: run, it resolves to its milliseconds. */
export async function floorLoop(kind, data, window) {
  const key = await crypto.subtle.importKey("raw", randomBytes(32), "AES-GCM", false, ["encrypt", "decrypt"]);
  const segments = [];
  for (let off = 0, i = 0; off < data.length; off += SEGMENT_PLAINTEXT_SIZE, i++) {
    const plaintext = data.subarray(off, off + SEGMENT_PLAINTEXT_SIZE);
    segments.push(kind === "seal" ? plaintext : new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: counterIv(i) }, key, plaintext)));
  }
  return async () => {
    const t = performance.now();
    const inFlight = [];
    for (let i = 0; i < segments.length; i++) {
      const iv = counterIv(i);
      if (kind === "seal") {
        inFlight.push(crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, segments[i]).then((out) => crypto.subtle.digest("SHA-256", out)));
      } else {
        inFlight.push(Promise.all([crypto.subtle.digest("SHA-256", segments[i]), crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, segments[i])]));
      }
      if (inFlight.length >= window) await inFlight.shift();
    }
    await Promise.all(inFlight);
    return performance.now() - t;
  };
}

/** A 96-bit IV with `counter` in its last four bytes, big-endian. */
function counterIv(counter) {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setUint32(8, counter);
  return iv;
}
