// The receipt's SHA-256 on a thread of its own. A form-mode upload hashes
// every plaintext byte; in wasm that runs at a fraction of the cipher's
// speed, and in Chromium the cipher runs on the sealing thread, so the hash
// goes to a Worker and the sealing thread only copies each part there
// (upload.ts decides when; bench/results.md has the figures).

import { s3sealError } from "./error.js";

/** A session's bytes sent and not yet hashed, beyond which it waits. */
const BACKLOG_BYTES = 16 * 1024 * 1024;
/** A worker idle this long stops, releasing its thread and memory. */
const IDLE_MS = 10_000;

/** The worker's `self.name`, as developer tools show it. */
const WORKER_NAME = "s3seal-hash";

/** What the hash worker is asked. */
export type HashRequest = { id: number; bytes: Uint8Array } | { id: number; finish: true } | { id: number; cancel: true };
/** What the hash worker answers. */
export type HashReply = { ready: true } | { broken: string } | { id: number; hashed: number } | { id: number; sha256: string };

/** One file's hash in the worker, fed in order (the upload's HashSession). */
export class HashSession {
  #backlog = 0;
  #waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #finishing: { resolve: (hex: string) => void; reject: (e: unknown) => void } | undefined;
  #error: unknown;
  #done = false;
  #digest: Promise<string> | undefined;

  constructor(
    private readonly hasher: ReceiptHasher,
    readonly id: number,
  ) {}

  /** Copies `bytes` to the worker. */
  update(bytes: Uint8Array): void {
    if (this.#error !== undefined || this.#done) return;
    const copy = bytes.slice();
    this.#backlog += copy.byteLength;
    this.hasher.send({ id: this.id, bytes: copy }, [copy.buffer]);
  }

  /** Resolves once the backlog is at most BACKLOG_BYTES. */
  settled(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#backlog <= BACKLOG_BYTES) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Resolves to the hex SHA-256 of every byte given (the same promise
   * if asked again). */
  finish(): Promise<string> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#done = true;
    this.#digest ??= new Promise((resolve, reject) => {
      this.#finishing = { resolve, reject };
      this.hasher.send({ id: this.id, finish: true });
    });
    return this.#digest;
  }

  /** Drops the session (after finish, or when the upload failed). */
  cancel(): void {
    if (!this.#done) this.hasher.send({ id: this.id, cancel: true });
    this.#done = true;
    this.hasher.end(this.id);
  }

  /** @internal */
  reply(reply: HashReply): void {
    if ("hashed" in reply) {
      this.#backlog -= reply.hashed;
      if (this.#backlog <= BACKLOG_BYTES) for (const w of this.#waiting.splice(0)) w.resolve();
    } else if ("sha256" in reply) {
      this.#finishing?.resolve(reply.sha256);
      this.hasher.end(this.id);
    }
  }

  /** @internal */
  fail(error: unknown): void {
    this.#error = error;
    for (const w of this.#waiting.splice(0)) w.reject(error);
    this.#finishing?.reject(error);
  }
}

/** The hash worker, shared by every upload of this thread. */
export class ReceiptHasher {
  #worker: Worker | undefined;
  #started: Promise<boolean> | undefined;
  #broken = false;
  #next = 1;
  #sessions = new Map<number, HashSession>();
  #idle: ReturnType<typeof setTimeout> | undefined;

  /** `module`: what ready() loaded the wasm from, when it can be passed on. */
  constructor(private readonly module?: string | WebAssembly.Module) {}

  /** A session in the worker, or undefined where none can start (e.g. a
   * Content-Security-Policy without worker-src): then the upload hashes on
   * its own thread. */
  async start(): Promise<HashSession | undefined> {
    clearTimeout(this.#idle);
    if (!(await this.#start())) return undefined;
    const session = new HashSession(this, this.#next++);
    this.#sessions.set(session.id, session);
    return session;
  }

  /** @internal */
  send(message: HashRequest, transfer: Transferable[] = []): void {
    this.#worker?.postMessage(message, transfer);
  }

  /** @internal A session is over. */
  end(id: number): void {
    this.#sessions.delete(id);
    clearTimeout(this.#idle);
    if (this.#sessions.size === 0 && this.#worker) this.#idle = setTimeout(() => this.#stop(), IDLE_MS);
  }

  #start(): Promise<boolean> {
    if (this.#broken || typeof Worker !== "function") return Promise.resolve(false);
    if (this.#started) return this.#started;
    let worker: Worker;
    try {
      // This exact form lets bundlers (Vite, webpack) ship the worker file.
      worker = new Worker(new URL("./hash-worker.js", import.meta.url), { type: "module", name: WORKER_NAME });
    } catch {
      this.#broken = true;
      return Promise.resolve(false);
    }
    this.#worker = worker;
    this.#started = new Promise<boolean>((resolve) => {
      worker.addEventListener("message", ({ data }: MessageEvent<HashReply>) => {
        if ("ready" in data) resolve(true);
        else if ("broken" in data) this.#fail(data.broken, resolve);
        else this.#sessions.get(data.id)?.reply(data);
      });
      worker.addEventListener("error", (event) => {
        event.preventDefault?.();
        this.#fail(event.message || "it could not run", resolve);
      });
    });
    worker.postMessage({ module: this.module });
    return this.#started;
  }

  /** The worker cannot go on: its sessions fail, and later uploads hash on
   * their own thread. */
  #fail(message: string, resolve: (running: boolean) => void): void {
    this.#broken = true;
    resolve(false);
    const error = s3sealError("Engine", `the hash worker failed: ${message}`);
    for (const session of this.#sessions.values()) session.fail(error);
    this.#sessions.clear();
    this.#stop();
  }

  #stop(): void {
    clearTimeout(this.#idle);
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#started = undefined;
  }
}
