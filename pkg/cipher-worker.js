// s3seal's cipher worker (started by cipher.js): runs batches of AES-GCM
// calls for another thread and hands each input buffer back with its
// result, so the caller reuses it instead of allocating one per call.
self.addEventListener("message", async ({ data }) => {
  const calls = await Promise.allSettled(
    data.calls.map(({ op, key, iv, bytes }) => crypto.subtle[op]({ name: "AES-GCM", iv, tagLength: 128 }, key, bytes)),
  );
  const results = calls.map((c) =>
    c.status === "fulfilled" ? { out: c.value } : { error: { name: c.reason?.name, message: c.reason?.message } },
  );
  const backs = data.calls.map((c) => c.bytes.buffer);
  self.postMessage({ id: data.id, results, backs }, [...results.flatMap((r) => (r.out ? [r.out] : [])), ...backs]);
});
// A message that could not be read here (a key this browser cannot clone)
// would leave its calls waiting: say so, and the caller stops using us.
self.addEventListener("messageerror", () => self.postMessage({ broken: true }));
self.postMessage({ ready: true });
