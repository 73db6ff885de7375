// s3seal's hash worker (started by hash.js): the SHA-256 of form-mode
// uploads' plaintext (the receipt), on a thread of its own. Several files'
// sessions may run at once; each one's bytes arrive in order.
import initWasm, { ReceiptHash } from "./s3seal_wasm.js";
import type { HashReply, HashRequest } from "./hash.js";

const sessions = new Map<number, ReceiptHash>();
let loaded: Promise<unknown> | undefined;
// Messages are handled one after another, in the order they came, even
// while the wasm is still loading.
let queue: Promise<void> = Promise.resolve();

function handle(message: HashRequest): void {
  const { id } = message;
  if ("bytes" in message) {
    let hash = sessions.get(id);
    if (!hash) sessions.set(id, (hash = new ReceiptHash()));
    hash.update(message.bytes);
    post({ id, hashed: message.bytes.byteLength });
  } else if ("finish" in message) {
    const hash = sessions.get(id) ?? new ReceiptHash();
    sessions.delete(id);
    post({ id, sha256: hash.finish() });
  } else {
    sessions.get(id)?.free();
    sessions.delete(id);
  }
}

self.addEventListener("message", ({ data }: MessageEvent<HashRequest | { module?: string | WebAssembly.Module }>) => {
  if (!("id" in data)) {
    loaded = initWasm(data.module === undefined ? undefined : { module_or_path: data.module });
    loaded.then(
      () => post({ ready: true }),
      (e) => post({ broken: String(e?.message ?? e) }),
    );
    return;
  }
  queue = queue.then(async () => {
    await loaded;
    handle(data);
  });
  queue.catch((e) => post({ broken: String(e?.message ?? e) }));
});
self.addEventListener("messageerror", () => post({ broken: "a message could not be read" }));

/** This worker's postMessage (the DOM typings know only the window's). */
function post(message: HashReply): void {
  (self as unknown as { postMessage(m: unknown): void }).postMessage(message);
}
