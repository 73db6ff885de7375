// A second thread for the bulk cipher: Chromium runs crypto.subtle's AES-GCM
// on the calling thread, so a Worker doing every other segment seals faster
// than one thread can. The engine (engine.ts) deals segments in turn to its
// own thread and to a CipherHelper. Each call's bytes travel in a pooled
// buffer, transferred both ways, and calls made in one turn of the event
// loop go as one message (bench/results.md, "design measurements").

/** Bytes in a pooled buffer: one segment of the format, sealed or not. */
const BUFFER_SIZE = 256 * 1024;
/** Buffers kept for reuse; more are only in flight when callers keep more. */
const POOL_MAX = 16;
/** A worker idle this long stops, releasing its thread and buffers. */
const IDLE_MS = 10_000;

/** A WebCrypto AES-GCM operation. */
export type CipherOp = "encrypt" | "decrypt";

/** One call as it travels to the cipher worker. */
export interface CipherCall {
  op: CipherOp;
  key: CryptoKey;
  iv: Uint8Array;
  bytes: Uint8Array;
  hash: boolean;
}

/** One result as it comes back: the output (and its digest), or the error. */
export interface CipherResult {
  out?: ArrayBuffer;
  digest?: ArrayBuffer;
  error?: { name?: string; message?: string };
}

type Waiter = { resolve: (value: ArrayBuffer | [ArrayBuffer, ArrayBuffer]) => void; reject: (reason: unknown) => void };

export class CipherHelper {
  #worker: Worker | undefined;
  #ready = false;
  #broken = false;
  #retired = false;
  #next = 1;
  #pending = new Map<number, Waiter[]>();
  #pool: ArrayBuffer[] = [];
  #idle: ReturnType<typeof setTimeout> | undefined;
  /** Calls of this turn, sent as one message at its end. */
  #batch: CipherCall[] = [];
  #waiters: Waiter[] = [];
  /** Settle `started()` promises: true once the worker runs, false if it cannot. */
  #onStart: ((running: boolean) => void)[] = [];

  /**
   * Like `crypto.subtle[op]` with AES-GCM (128-bit tag) on another thread:
   * `data` is copied before this returns; resolves to the result's
   * ArrayBuffer or rejects with the DOMException the worker saw. With `hash`
   * resolves to `[result, SHA-256 of the stored segment]` (of the result
   * when encrypting, of `data` when decrypting). Until the worker has
   * started (or if it cannot), calls run on this thread.
   */
  start(op: CipherOp, key: CryptoKey, iv: Uint8Array, data: Uint8Array, hash = false): Promise<ArrayBuffer | [ArrayBuffer, ArrayBuffer]> {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    if (!this.#ready || this.#retired) {
      this.#spawn();
      const out = crypto.subtle[op]({ name: "AES-GCM", iv: iv as BufferSource, tagLength: 128 }, key, data as BufferSource);
      if (!hash) return out;
      // `data` may be reused once this returns: its digest starts now.
      const digest =
        op === "decrypt" ? crypto.subtle.digest("SHA-256", data as BufferSource) : out.then((o) => crypto.subtle.digest("SHA-256", o));
      return Promise.all([out, digest]);
    }
    const pooled = data.byteLength <= BUFFER_SIZE ? this.#pool.pop() ?? new ArrayBuffer(BUFFER_SIZE) : new ArrayBuffer(data.byteLength);
    const bytes = new Uint8Array(pooled, 0, data.byteLength);
    bytes.set(data);
    if (this.#batch.length === 0) queueMicrotask(() => this.#flush());
    this.#batch.push({ op, key, iv, bytes, hash });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #flush(): void {
    if (!this.#worker || this.#batch.length === 0) return; // stopped meanwhile: its calls were rejected
    const id = this.#next++;
    this.#pending.set(id, this.#waiters);
    this.#worker.postMessage({ id, calls: this.#batch }, this.#batch.map((c) => c.bytes.buffer as ArrayBuffer));
    this.#batch = [];
    this.#waiters = [];
  }

  /** Starts the worker now; resolves to whether it runs (false where
   * Workers cannot start, e.g. under a Content-Security-Policy). */
  started(): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    this.#spawn();
    if (!this.#worker) return Promise.resolve(false);
    return new Promise((resolve) => this.#onStart.push(resolve));
  }

  #settle(running: boolean): void {
    for (const resolve of this.#onStart) resolve(running);
    this.#onStart = [];
  }

  /** Takes no more calls (they run on this thread: engines made before
   * keep their helpers); the worker stops once the calls it has are done. */
  retire(): void {
    this.#retired = true;
    this.#whenQuiet();
  }

  /** With no calls left: a retired worker stops, others after IDLE_MS. */
  #whenQuiet(): void {
    if (this.#pending.size > 0 || this.#batch.length > 0) return;
    if (this.#retired) this.stop();
    else this.#idle = setTimeout(() => this.stop(), IDLE_MS);
  }

  /** Stops the worker; calls in flight fail. */
  stop(): void {
    this.#stop(new DOMException("the cipher worker was stopped", "AbortError"));
  }

  #spawn(): void {
    if (this.#worker || this.#broken || this.#retired || typeof Worker !== "function") return;
    let worker: Worker;
    try {
      // This exact form lets bundlers (Vite, webpack) ship the worker file.
      worker = new Worker(new URL("./cipher-worker.js", import.meta.url), { type: "module" });
    } catch {
      this.#broken = true; // e.g. a Content-Security-Policy without worker-src
      return;
    }
    this.#worker = worker;
    worker.addEventListener("message", ({ data }) => this.#message(data));
    worker.addEventListener("error", (event) => {
      event.preventDefault?.();
      this.#broken = true;
      // Not OperationError: on open that name means a segment did not verify.
      this.#stop(new DOMException("the cipher worker failed", "UnknownError"));
    });
  }

  #message(data: { ready?: boolean; broken?: boolean; id: number; backs: ArrayBuffer[]; results: CipherResult[] }): void {
    if (data.ready) {
      this.#ready = true;
      this.#settle(true);
      return;
    }
    if (data.broken) {
      this.#broken = true;
      this.#stop(new DOMException("the cipher worker could not read a call", "DataCloneError"));
      return;
    }
    const waiters = this.#pending.get(data.id);
    if (!waiters) return;
    this.#pending.delete(data.id);
    for (const back of data.backs) {
      if (back.byteLength === BUFFER_SIZE && this.#pool.length < POOL_MAX) this.#pool.push(back);
    }
    data.results.forEach(({ out, digest, error }, i) => {
      if (error) waiters[i].reject(new DOMException(error.message, error.name));
      else waiters[i].resolve(digest ? [out as ArrayBuffer, digest] : (out as ArrayBuffer));
    });
    this.#whenQuiet();
  }

  #stop(reason: unknown): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready = false;
    this.#settle(false);
    this.#pool = [];
    for (const waiters of [...this.#pending.values(), this.#waiters]) {
      for (const w of waiters) w.reject(reason);
    }
    this.#pending.clear();
    this.#batch = [];
    this.#waiters = [];
  }
}
