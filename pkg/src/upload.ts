// Uploads through presigned URLs: the I/O of an upload that the core plans,
// seals and judges (UploadSealer and Attempts, src/wasm/upload.rs). One PUT
// up to a threshold, multipart above it. Parts are sealed one at a time, in
// order, each in one call to the core, while earlier parts upload, so
// memory stays bounded by the parts in flight and the engine never waits
// for the network. Requests are retried byte-identically as the core says,
// cancelled through an AbortSignal (then AbortMultipartUpload), and resumed
// after a reload from the caller's store.
import { Attempts, ReceiptHash, UploadSealer, checkPresigned, keepsUpload } from "./s3seal_wasm.js";
import { Engine, engineChoice, sealPart } from "./engine.js";
import type { Key, Recipient } from "./s3seal_wasm.js";
import { BlobParts } from "./blob.js";
import { s3sealError } from "./error.js";
import type { S3sealError } from "./error.js";
import type { HashSession, ReceiptHasher } from "./hash.js";
import type { PresignFunction, PresignRequest, PresignedRequest, Receipt, ResumeStore, TransferProgress, UploadCommon, Uploaded } from "./index.js";

/** The presign function's `answer` as it will be sent: read once, its URL
 * as the browser's own parser (the one `fetch` and XHR use) reads it,
 * relative to the page's or Worker's location, and its headers a plain
 * object of strings. The core judges it (no SSE-C key material in the URL,
 * none over plain http but to loopback): `InsecureEndpoint` or `Presign`. */
export function checkedPresign(answer: unknown): PresignedRequest {
  const malformed = (what: string) => s3sealError("Presign", `the presign function must return { method, url, headers } (${what})`);
  const given = (typeof answer === "object" && answer !== null ? answer : {}) as Record<string, unknown>;
  const headers = given.headers;
  // Only a plain object's own string values: an array of pairs, a `Headers`
  // or a `Map` would be read one way here and sent another.
  if (headers != null && (typeof headers !== "object" || Array.isArray(headers) || Symbol.iterator in headers)) throw malformed("`headers` must be a plain object");
  const pairs: string[] = [];
  for (const name of headers == null ? [] : Object.keys(headers)) {
    const value = (headers as Record<string, unknown>)[name];
    if (typeof value !== "string") throw malformed("every header value must be a string");
    pairs.push(name, value);
  }
  const { method, url } = given;
  if (typeof method !== "string") throw malformed("missing `method`");
  if (typeof url !== "string") throw malformed("missing `url`");
  let parsed: URL;
  try {
    parsed = typeof location === "undefined" ? new URL(url) : new URL(url, location.href);
  } catch {
    throw s3sealError("Presign", "the presign function returned an invalid URL");
  }
  checkPresigned(method, parsed.href, parsed.protocol, parsed.hostname, pairs);
  // No prototype: a header named `__proto__` is a header like the others.
  const checked: Record<string, string> = Object.create(null);
  for (let i = 0; i < pairs.length; i += 2) checked[pairs[i]] = pairs[i + 1];
  return { method, url: parsed.href, headers: checked };
}

/** Parts uploading at once, by default. */
const CONCURRENCY = 4;
/** Files smaller than this hash their receipt on this thread: the hash
 * Worker's start would cost more than it saves. */
const WORKER_MIN_BYTES = 8 * 1024 * 1024;

let hasher: ReceiptHasher | undefined;

/** Where form-mode uploads hash their receipt (none: on this thread). */
export function useReceiptHasher(h: ReceiptHasher | undefined): void {
  hasher = h;
}

/** One part as the core planned it. */
interface Part {
  number: number;
  start: number;
  end: number;
  size: number;
  last: boolean;
  done: boolean;
}

interface Sealed {
  pieces: Uint8Array[];
  fingerprint: string;
}

/** An upload's sealer with the engine its parts are sealed on. */
type Sealing = UploadSealer & { engine: Engine };

/** A request body: object bytes (counted in progress) or a control document. */
interface Body {
  value: Blob | Uint8Array;
  size: number;
  payload: boolean;
}

interface Reply {
  status: number;
  etag: string | null;
  text: string;
  /** Content-Length, where the answer has one (a HEAD's object size). */
  length: number | null;
}

/** Seals `file` for `key` or `recipient` and uploads it (see `upload()`). */
export async function sealAndUpload(
  file: Blob,
  target: { key?: Key; recipient?: Recipient },
  options: UploadCommon & { presign: PresignFunction },
): Promise<Uploaded | Receipt> {
  if (typeof options.presign !== "function") throw s3sealError("InvalidInput", "invalid input: options.presign must be a function");
  const size = file.size;
  const core = {
    ...options,
    name: typeof options.name === "string" ? options.name : ((file as File).name ?? ""),
    type: typeof options.type === "string" ? options.type : file.type,
  };
  const choice = engineChoice(options.engine);
  const make = async (saved?: string): Promise<Sealing> => {
    const sealer = target.recipient ? UploadSealer.toRecipient(target.recipient, core, size) : UploadSealer.withKey(target.key as Key, core, size, saved);
    try {
      const engine = await Engine.create(choice, sealer.segmentKey(), () => sealer.cipher());
      // Freeing the sealer frees its engine's key too.
      const free = sealer.free.bind(sealer);
      return Object.assign(sealer, { engine, free: () => (engine.free(), free()) });
    } catch (err) {
      sealer.free();
      throw err;
    }
  };
  const receipt = target.recipient ? await HashReceipt.start(size) : undefined;
  try {
    const parts = new BlobParts(file);
    const store = target.key && options.resumeStore ? new StateStore(options.resumeStore, file) : undefined;
    const sealer = await prepare(make, store, parts, new Progress(options.onProgress, "verifying", size), options.presign);
    try {
      return await run(sealer, parts, options, sealer.multipart ? store : undefined, receipt);
    } finally {
      sealer.free();
    }
  } finally {
    receipt?.cancel();
  }
}

/** The sealer: the saved upload's if it is this file with this key and
 * unchanged, else a fresh one (after aborting the stale upload). */
async function prepare(
  make: (saved?: string) => Promise<Sealing>,
  store: StateStore | undefined,
  parts: BlobParts,
  progress: Progress,
  presign: PresignFunction,
): Promise<Sealing> {
  let sealer = await make(store ? await store.load() : undefined);
  const stale = sealer.savedUpload() as PresignRequest | undefined;
  if (!stale) return sealer;
  if (sealer.resuming) {
    try {
      if (await unchanged(sealer, parts, progress)) return sealer;
    } catch (err) {
      sealer.free();
      throw err;
    }
    sealer.free();
    sealer = await make();
  }
  // Another file, another key, or changed bytes: the old upload is
  // garbage. Abort it (best effort) and seal afresh.
  await new Job(presign, undefined, 1, new Progress(undefined, "uploading", 0)).sendOnce(stale);
  await store?.forget();
  return sealer;
}

/** Whether the parts sealed before still seal to the same fingerprints:
 * checked locally, nothing is sent. */
async function unchanged(sealer: Sealing, file: BlobParts, progress: Progress): Promise<boolean> {
  for (const part of sealer.verify() as (Part & { fingerprint: string })[]) {
    const again = await readAndSeal(sealer, file, part, (n) => progress.sealed(n));
    if (again.fingerprint !== part.fingerprint) return false;
  }
  return true;
}

/** Reads `part`'s plaintext and seals it; the plaintext's memory goes back
 * to `file` for the next part. Parts come here in order, so the receipt
 * sees the whole file in order. */
async function readAndSeal(sealer: Sealing, file: BlobParts, part: Part, onSealed: (n: number) => void, receipt?: HashReceipt): Promise<Sealed> {
  // The hash Worker's backlog bounds how far sealing runs ahead of it.
  await receipt?.settled();
  const plaintext = await file.read(part.start, part.end);
  try {
    receipt?.update(plaintext);
    const sealed = await sealPart(sealer, sealer.engine, part.number, plaintext);
    onSealed(part.end - part.start);
    return sealed;
  } finally {
    file.recycle(plaintext);
  }
}

async function run(
  sealer: Sealing,
  file: BlobParts,
  options: UploadCommon,
  store: StateStore | undefined,
  receipt: HashReceipt | undefined,
): Promise<Uploaded | Receipt> {
  const total = sealer.objectLength;
  const cancel = new Cancel(options.signal);
  try {
    const job = new Job(options.presign as PresignFunction, cancel.signal, options.retries, new Progress(options.onProgress, "uploading", total));
    const given = options.concurrency;
    const concurrency = typeof given === "number" && given > 0 && Number.isFinite(given) ? Math.max(1, Math.trunc(given)) : CONCURRENCY;
    // Parts `done` are on S3 from an earlier page load.
    const plan = sealer.parts() as Part[];
    let sha256: string | undefined;
    if (sealer.multipart) {
      sha256 = await runMultipart({ sealer, plan, job, cancel, file, concurrency, store, receipt });
    } else {
      const [whole] = plan;
      const { pieces } = await readAndSeal(sealer, file, whole, (n) => job.progress.sealed(n), receipt);
      pieces.push(sealer.signature());
      const body = payload(pieces.splice(0));
      // The receipt before the object exists: a hash that failed leaves none.
      sha256 = await receipt?.finish();
      await file.ensureUnchanged();
      await job.sendWrite(sealer.request("put", body.size) as PresignRequest, body, "upload", body.size, sealer);
    }
    const common = { objectName: sealer.objectName, objectId: sealer.objectId };
    const tail = { size: total, resumedParts: plan.filter((p) => p.done).length, engine: sealer.engine.name };
    if (sha256 !== undefined) return { ...common, plaintextSize: file.blob.size, sha256, ...tail };
    const token = sealer.deleteToken();
    return { ...common, fileKey: sealer.fileKey(), ...(token === undefined ? {} : { deleteToken: token }), ...tail };
  } finally {
    cancel.dispose();
  }
}

/** What a multipart upload works with. */
interface Multipart {
  sealer: Sealing;
  plan: Part[];
  job: Job;
  cancel: Cancel;
  file: BlobParts;
  concurrency: number;
  store: StateStore | undefined;
  receipt: HashReceipt | undefined;
}

/** Uploads the plan's parts as a multipart upload; resolves to the
 * receipt's hex SHA-256 when there is one. */
async function runMultipart({ sealer, plan, job, cancel, file, concurrency, store, receipt }: Multipart): Promise<string | undefined> {
  const total = sealer.objectLength;
  if (!sealer.resuming) {
    // Only the answer names the upload, and S3 may have made it however
    // early a cancel comes: the request runs to its end, and a cancel
    // meanwhile stops the upload it made.
    const created = await job.uncancelled().send(sealer.request("createMultipart", total) as PresignRequest, undefined, undefined, "CreateMultipartUpload");
    sealer.begin(created.text);
    if (job.aborted) {
      if (!keepsUpload("cancelled", false)) await job.sendOnce(sealer.request("abortMultipart") as PresignRequest);
      throw abortError();
    }
  }
  // Parts already on S3 from an earlier page load.
  for (const part of plan.filter((p) => p.done)) {
    job.progress.bytesSealed += part.end - part.start;
    job.progress.bytesSent += part.size;
  }
  job.progress.report();
  const tracker = new Tracker(store, sealer);

  // Parts are sealed one at a time, in order (the engine is fastest fed
  // back to back, and the receipt needs the file in order), and upload
  // `concurrency` at a time behind the sealing. Reading is in the turn
  // too: each part's plaintext fills the memory the part before it used.
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(f: () => Promise<T>): Promise<T> => {
    const mine = turn.then(f);
    turn = mine.catch(() => undefined);
    return mine;
  };
  const uploadPart = async (part: Part): Promise<void> => {
    const { body, fingerprint } = await inTurn(async () => {
      if (job.aborted) throw abortError();
      const s = await readAndSeal(sealer, file, part, (n) => job.progress.sealed(n), receipt);
      if (part.last) s.pieces.push(sealer.signature());
      return { body: payload(s.pieces), fingerprint: s.fingerprint };
    });
    // Recorded before the part leaves: see the core's resume on nonce reuse.
    await tracker.sealed(part.number, fingerprint);
    const reply = await job.send(sealer.request("uploadPart", body.size, part.number) as PresignRequest, body, part.number, "UploadPart");
    if (reply.etag === null) throw s3sealError("Http", "UploadPart returned no ETag: expose it in the bucket's CORS (ExposeHeaders: ETag)");
    await tracker.finished(part.number, reply.etag);
  };
  const todo = plan.filter((p) => !p.done);
  // The first error wins; the others are its consequences.
  const failures: unknown[] = [];
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < todo.length && failures.length === 0) {
      const part = todo[next++];
      try {
        await uploadPart(part);
      } catch (error) {
        // Stop the other parts, but let every request settle first.
        cancel.controller.abort();
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, runner));
  let sha256: string | undefined;
  try {
    if (failures.length === 0) await file.ensureUnchanged();
    // The receipt before the object exists: a hash that failed leaves none.
    if (failures.length === 0) sha256 = await receipt?.finish();
  } catch (error) {
    failures.push(error);
  }
  if (failures.length > 0) {
    // The file could not be read as it was (or a part sealed again
    // differs) when the error is about the input.
    const stop = cancel.userAborted ? "cancelled" : (failures[0] as S3sealError | undefined)?.code === "InvalidInput" ? "fileChanged" : "failed";
    if (!keepsUpload(stop, tracker.resumable)) {
      await job.sendOnce(sealer.request("abortMultipart") as PresignRequest);
      await tracker.forget();
    }
    throw failures[0];
  }
  try {
    // The backend checks the stored parts against the size, and signs it
    // in where the store enforces it (x-amz-mp-object-size).
    const completion = sealer.completion();
    const body = { value: completion, size: completion.length, payload: false };
    const reply = await job.sendWrite(sealer.request("completeMultipart", total) as PresignRequest, body, "CompleteMultipartUpload", total, sealer);
    sealer.checkCompleted(reply.text);
  } catch (err) {
    // Not completed, and nothing will complete it (its state goes below):
    // its parts would stay in the bucket for nothing.
    await job.sendOnce(sealer.request("abortMultipart") as PresignRequest);
    throw err;
  } finally {
    // Done, or the saved parts were not what S3 has: start afresh next time.
    await tracker.forget();
  }
  return sha256;
}

/** Object bytes as one Blob: the browser keeps them out of the JS heap, so
 * nothing may hold `pieces` once this returns (their memory is the
 * renderer's until collected). */
function payload(pieces: Uint8Array[]): Body {
  const value = new Blob(pieces as BlobPart[]);
  return { value, size: value.size, payload: true };
}

function abortError(): S3sealError {
  const e = s3sealError("Aborted", "the transfer was aborted");
  e.name = "AbortError";
  return e;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Bytes sealed and sent so far, reported to `onProgress`. */
class Progress {
  bytesSealed = 0;
  bytesSent = 0;

  constructor(
    private readonly onProgress: ((p: TransferProgress) => void) | undefined,
    private readonly phase: "uploading" | "verifying",
    private readonly total: number,
  ) {}

  sealed(n: number): void {
    this.bytesSealed += n;
    this.report();
  }

  report(): void {
    if (typeof this.onProgress !== "function") return;
    try {
      this.onProgress({ phase: this.phase, bytesSealed: this.bytesSealed, bytesSent: this.bytesSent, total: this.total });
    } catch {
      // A throwing callback is the caller's bug, not a failed transfer.
    }
  }
}

/** An internal AbortController, aborted by the user's signal or by a
 * failed part, so every request in flight stops and settles before cleanup. */
class Cancel {
  readonly controller = new AbortController();
  readonly #user: AbortSignal | undefined;
  readonly #forward = () => this.controller.abort();

  constructor(user: unknown) {
    this.#user = typeof AbortSignal !== "undefined" && user instanceof AbortSignal ? user : undefined;
    if (this.#user?.aborted) this.controller.abort();
    this.#user?.addEventListener("abort", this.#forward);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the *user* cancelled (not an internal stop after a failure). */
  get userAborted(): boolean {
    return this.#user?.aborted ?? false;
  }

  dispose(): void {
    this.#user?.removeEventListener("abort", this.#forward);
  }
}

/** One transfer's requests: presigned, sent, retried as the core says. */
class Job {
  constructor(
    private readonly presign: PresignFunction,
    private readonly signal: AbortSignal | undefined,
    private readonly retries: number | undefined,
    readonly progress: Progress,
    /** Stops further attempts, not the one under way. */
    private readonly stopsRetries?: AbortSignal,
  ) {}

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }

  /** The same job, whose requests a cancel does not stop (it only stops
   * their further attempts). */
  uncancelled(): Job {
    return new Job(this.presign, undefined, this.retries, this.progress, this.signal);
  }

  /** The presign function's answer as the core checked it: what is sent. */
  async #presigned(request: PresignRequest): Promise<PresignedRequest> {
    const presign = this.presign;
    // Each attempt gets its own copy: the function may change what it gets.
    return checkedPresign(await presign(structuredClone(request)));
  }

  /** Presigns and sends once, without retries, ignoring the signal: for
   * cleanup after a cancel. Failures are swallowed (best effort). */
  async sendOnce(request: PresignRequest): Promise<void> {
    try {
      await send(await this.#presigned(request), undefined, undefined, undefined);
    } catch {
      // best effort
    }
  }

  /** Sends a write that never replaces an object (a PUT, or the completion
   * that makes it), as `send`. An attempt whose answer was lost may still
   * have stored the object: its retry then finds the name taken (409 from
   * the backend, 412 from S3) or the upload gone (404). The object is ours
   * exactly when S3 serves it under this object's SSE-C key at
   * `objectSize` bytes: a stranger cannot have written it under that key. */
  async sendWrite(request: PresignRequest, body: Body, what: string, objectSize: number, sealer: UploadSealer): Promise<Reply> {
    try {
      return await this.send(request, body, undefined, what);
    } catch (err) {
      const status = (err as S3sealError | undefined)?.status;
      if (Attempts.mayHaveStored(status) && (await this.#servesOurs(sealer, objectSize))) {
        return { status: 200, etag: null, text: "", length: objectSize };
      }
      throw err;
    }
  }

  async #servesOurs(sealer: UploadSealer, size: number): Promise<boolean> {
    try {
      return (await this.send(sealer.request("head") as PresignRequest, undefined, undefined, "HeadObject")).length === size;
    } catch {
      return false;
    }
  }

  /** Presigns and sends, retrying what the core says is worth another
   * try, with its backoff. Every attempt sends the same bytes under a
   * fresh URL. */
  async send(request: PresignRequest, body: Body | undefined, partNumber: number | undefined, what: string): Promise<Reply> {
    const attempts = new Attempts(typeof this.retries === "number" ? this.retries : undefined);
    try {
      for (;;) {
        attempts.begin();
        if (this.aborted || this.stopsRetries?.aborted) throw abortError();
        let presigned: PresignedRequest;
        try {
          presigned = await this.#presigned(request);
        } catch (err) {
          // fetch's TypeError is the network failing; a status, the
          // backend's answer; anything else, the caller's function refusing.
          const given = (err as S3sealError | undefined)?.status;
          const status = err instanceof TypeError ? null : typeof given === "number" ? given : undefined;
          if (status === undefined) throw err;
          const ms = attempts.presignWait(status ?? undefined, Math.random());
          if (ms !== undefined) {
            await sleep(ms);
            continue;
          }
          if (status === null) throw attempts.error(what, partNumber);
          throw err;
        }
        // Bytes of this attempt counted as sent so far; taken back on a retry.
        let counted = 0;
        const onProgress = body?.payload
          ? (loaded: number) => {
              this.progress.bytesSent += loaded - counted;
              counted = loaded;
              this.progress.report();
            }
          : undefined;
        const outcome = await send(presigned, body, this.signal, onProgress);
        // A reply S3 refused is a fault like a lost connection.
        const ok = typeof outcome === "object" && attempts.answered(outcome.status, outcome.text);
        if (outcome === "network") attempts.networkFailed();
        this.progress.bytesSent -= counted;
        if (ok && body?.payload) this.progress.bytesSent += body.size;
        this.progress.report();
        if (outcome === "aborted") throw abortError();
        if (ok) return outcome as Reply;
        const ms = attempts.wait(Math.random());
        if (ms === undefined) throw attempts.error(what, partNumber);
        await sleep(ms);
      }
    } finally {
      attempts.free();
    }
  }
}

/** `Content-Length` as a whole number. */
function length(value: string | null): number | null {
  return value !== null && /^\s*\d+\s*$/.test(value) ? Number(value) : null;
}

/** Sends one request: by XHR (the only browser API with upload progress),
 * or by fetch where there is none (Node, Deno; progress then counted when
 * the request ends). */
function send(
  p: PresignedRequest,
  body: Body | undefined,
  signal: AbortSignal | undefined,
  onProgress: ((loaded: number) => void) | undefined,
): Promise<Reply | "network" | "aborted"> {
  if (signal?.aborted) return Promise.resolve("aborted");
  if (typeof XMLHttpRequest !== "function") return sendByFetch(p, body, signal, onProgress);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(p.method, p.url, true);
    for (const [name, value] of Object.entries(p.headers)) xhr.setRequestHeader(name, value);
    const abort = () => xhr.abort();
    const done = (outcome: Reply | "network" | "aborted") => {
      signal?.removeEventListener("abort", abort);
      resolve(outcome);
    };
    xhr.onload = () =>
      done({ status: xhr.status, etag: xhr.getResponseHeader("ETag"), text: xhr.responseText, length: length(xhr.getResponseHeader("Content-Length")) });
    xhr.onerror = xhr.ontimeout = () => done(signal?.aborted ? "aborted" : "network");
    xhr.onabort = () => done("aborted");
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
    signal?.addEventListener("abort", abort);
    xhr.send(body?.value as XMLHttpRequestBodyInit | undefined);
  });
}

async function sendByFetch(
  p: PresignedRequest,
  body: Body | undefined,
  signal: AbortSignal | undefined,
  onProgress: ((loaded: number) => void) | undefined,
): Promise<Reply | "network" | "aborted"> {
  let response: Response;
  try {
    response = await fetch(p.url, { method: p.method, headers: p.headers, body: body?.value as BodyInit | undefined, signal });
  } catch {
    return signal?.aborted ? "aborted" : "network";
  }
  const text = await response.text().catch(() => "");
  if (onProgress && body) onProgress(body.size);
  return { status: response.status, etag: response.headers.get("etag"), text, length: length(response.headers.get("content-length")) };
}

/** The caller's resume store and this file's key in it: same name, size
 * and date only make a candidate; fingerprints and the key commitment decide. */
class StateStore {
  readonly #id: string;

  constructor(
    private readonly store: ResumeStore,
    file: Blob,
  ) {
    const f = file as Partial<File>;
    this.#id = `s3seal-upload:${f.name ?? ""}:${file.size}:${Math.max(0, Math.trunc(Number(f.lastModified) || 0))}`;
  }

  /** The saved state's text, if there is one. */
  async load(): Promise<string | undefined> {
    try {
      const text = await this.store.get(this.#id);
      return typeof text === "string" ? text : undefined;
    } catch {
      return undefined;
    }
  }

  async save(text: string): Promise<void> {
    await this.store.set(this.#id, text);
  }

  async forget(): Promise<void> {
    try {
      await this.store.delete(this.#id);
    } catch {
      // a state left behind is found stale next time
    }
  }
}

/** The upload's state, kept by the core and written through to the store
 * in order: a fingerprint reaches the store before its part is sent. */
class Tracker {
  #writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: StateStore | undefined,
    private readonly sealer: UploadSealer,
  ) {}

  get resumable(): boolean {
    return this.store !== undefined;
  }

  #write(text: string | undefined): Promise<void> {
    const store = this.store;
    if (!store || text === undefined) return Promise.resolve();
    const write = this.#writing.then(() => store.save(text));
    this.#writing = write.catch(() => undefined);
    return write;
  }

  /** Resolves once the store has it: a part it could not record is not sent. */
  sealed(n: number, fingerprint: string): Promise<void> {
    return this.#write(this.sealer.recordSealed(n, fingerprint));
  }

  /** Losing this write costs only a re-sent part. */
  finished(n: number, etag: string): Promise<void> {
    return this.#write(this.sealer.recordFinished(n, etag)).catch(() => undefined);
  }

  forget(): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    const forget = this.#writing.then(() => store.forget());
    this.#writing = forget;
    return forget;
  }
}

/** The receipt of a form-mode upload: the SHA-256 of the whole plaintext,
 * in the package's hash Worker when it runs and the file is large enough,
 * else on this thread. */
class HashReceipt {
  #digest: Promise<string> | undefined;

  private constructor(
    private readonly session: HashSession | undefined,
    private here: ReceiptHash | undefined,
  ) {}

  static async start(size: number): Promise<HashReceipt> {
    const session = hasher && size >= WORKER_MIN_BYTES ? await hasher.start() : undefined;
    return new HashReceipt(session, session ? undefined : new ReceiptHash());
  }

  update(bytes: Uint8Array): void {
    if (this.session) this.session.update(bytes);
    else this.here?.update(bytes);
  }

  /** What to wait for before feeding more: the Worker's backlog. */
  settled(): Promise<void> | undefined {
    return this.session?.settled();
  }

  /** The hex digest, once every byte was fed (the same if asked again). */
  finish(): Promise<string> {
    if (!this.#digest && this.here) {
      const hex = this.here.finish();
      this.here = undefined;
      this.#digest = Promise.resolve(hex);
    }
    return (this.#digest ??= (this.session as HashSession).finish());
  }

  cancel(): void {
    this.session?.cancel();
    this.here?.free();
    this.here = undefined;
  }
}
