// The bulk cipher, and the streams and parts that run on it. The core's
// state machines (SealMachine, OpenMachine, UploadSealer: Rust) decide where
// segments end, their nonces, which is last and what the signature covers;
// this runs their steps on the fastest engine with the bytes left in JS
// memory, and reports each segment's digest back: one wasm call per chunk
// or part, none per segment.
//
// WebCrypto runs AES-GCM with hardware AES, an order of magnitude faster
// than the wasm `aes-gcm` (bench/results.md), so it is used wherever the
// page is a secure context; the wasm cipher is the fallback. In Chromium
// `encrypt()` runs inside the call, on the calling thread, so segments are
// dealt in turn to this thread and to CipherHelpers (cipher.ts) in Workers.

import { OpenMachine, Recipient, SealMachine, cipherFailure, segmentDigest } from "./s3seal_wasm.js";
import type { Key, UploadSealer, WasmCipher } from "./s3seal_wasm.js";
import type { CipherHelper } from "./cipher.js";
import { s3sealError } from "./error.js";

/** `options.engine`: WebCrypto when present, else wasm ("auto"); or one of them. */
export type EngineChoice = "auto" | "webcrypto" | "wasm";
/** The engine in use. */
export type EngineName = "webcrypto" | "wasm";

/** Sealed metadata as the streams take and give it. */
export interface StreamMetadata {
  name?: string;
  type?: string;
  size?: number | null;
}

/** Numbers per step in a machine's steps (src/wasm/machine.rs). */
const STEP_FIELDS = 6;
const NONCE_SIZE = 12;
const DIGEST_SIZE = 32;
const TAG_SIZE = 16;
/** Ciphertext segment size in bytes (256 KiB): the most a held segment holds. */
export const SEGMENT_SIZE = 256 * 1024;
/** Consecutive segments dealt to one thread: a helper gets them as one message. */
const SEGMENTS_PER_TURN = 4;
/** A part's segments in the engine at once: WebCrypto runs one call at a
 * time, but a queued call lets it start the next without waiting for us. */
const SEGMENTS_IN_FLIGHT = 4;

/** A machine's answer for one chunk (or part). */
interface Pushed {
  head?: Uint8Array;
  released?: Uint8Array;
  steps: Float64Array;
  ivs: Uint8Array;
}

/** One segment to run: its number, whether it is the last, its nonce, its bytes. */
type Segment = [index: number, last: boolean, iv: Uint8Array, bytes: Uint8Array];

/** A segment's result: the output and the SHA-256 of the stored bytes
 * (the output when sealing, the input when opening). */
type Result = [out: Uint8Array, digest: Uint8Array];

let helpers: CipherHelper[] = [];

/** The helpers that engines made from now on deal segments to. */
export function setCipherHelpers(list: CipherHelper[]): void {
  helpers = list.slice();
}

/** Reads `options.engine`. */
export function engineChoice(value: unknown): EngineChoice {
  if (typeof value !== "string" || value === "auto") return "auto";
  if (value === "webcrypto" || value === "wasm") return value;
  throw s3sealError("InvalidInput", 'invalid input: options.engine must be "auto", "webcrypto" or "wasm"');
}

/** One object's segment engine. */
export class Engine {
  readonly name: EngineName;
  #subtle?: SubtleCrypto;
  #key?: CryptoKey;
  #wasm?: WasmCipher;
  #helpers: CipherHelper[];
  #started = 0;

  private constructor(name: EngineName, helpers: CipherHelper[], parts: { subtle?: SubtleCrypto; key?: CryptoKey; wasm?: WasmCipher }) {
    this.name = name;
    this.#helpers = helpers;
    this.#subtle = parts.subtle;
    this.#key = parts.key;
    this.#wasm = parts.wasm;
  }

  /** An engine for the segment key `key` (wiped here, once WebCrypto has
   * copied it); `wasm` gives the same key's wasm cipher for the fallback. */
  static async create(choice: EngineChoice, key: Uint8Array, wasm: () => WasmCipher): Promise<Engine> {
    let imported: Promise<CryptoKey> | undefined;
    let refused: unknown;
    const subtle = choice === "wasm" ? undefined : globalThis.crypto?.subtle;
    try {
      if (subtle) imported = subtle.importKey("raw", key as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]);
    } catch (err) {
      refused = err; // some contexts expose `subtle` but refuse
    } finally {
      key.fill(0);
    }
    if (imported && subtle) {
      const made = await imported.catch((err) => {
        throw cipherFailure(false, err);
      });
      return new Engine("webcrypto", helpers, { subtle, key: made });
    }
    if (choice === "webcrypto") {
      throw refused === undefined
        ? s3sealError("InvalidInput", "invalid input: WebCrypto is not available here (not a secure context?)")
        : cipherFailure(false, refused);
    }
    return new Engine("wasm", [], { wasm: wasm() });
  }

  /** Releases the wasm cipher's key schedule (WebCrypto's key is the
   * browser's, non-extractable, gone with its last reference). */
  free(): void {
    this.#wasm?.free();
    this.#wasm = undefined;
  }

  /** Starts one segment's cipher call on whichever thread's turn it is;
   * `bytes` may be reused once this returns. A failed open rejects, and
   * nothing of a failing segment is ever returned. */
  start(opening: boolean, [index, last, iv, bytes]: Segment): Promise<Result> {
    if (this.#wasm) {
      try {
        const out = opening ? this.#wasm.open(index, last, bytes) : this.#wasm.seal(index, last, bytes);
        const stored = opening ? bytes : out;
        // WebCrypto's SHA-256 where this is only the engine chosen (and
        // `bytes` is copied when called), else the wasm one.
        const subtle = globalThis.crypto?.subtle;
        if (!subtle) return Promise.resolve([out, segmentDigest(stored)]);
        return subtle.digest("SHA-256", stored as BufferSource).then((d) => [out, new Uint8Array(d)]);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const op = opening ? "decrypt" : "encrypt";
    const turn = Math.floor(this.#started++ / SEGMENTS_PER_TURN) % (this.#helpers.length + 1);
    if (turn > 0) {
      const called = this.#helpers[turn - 1].start(op, this.#key!, iv, bytes, true) as Promise<[ArrayBuffer, ArrayBuffer]>;
      return called.then(([out, digest]) => [new Uint8Array(out), new Uint8Array(digest)]);
    }
    const subtle = this.#subtle!;
    // A fresh params object per call (bench/results.md, "design measurements").
    const out = subtle[op]({ name: "AES-GCM", iv: iv as BufferSource, tagLength: TAG_SIZE * 8 }, this.#key!, bytes as BufferSource);
    // The input may be reused once this returns: its digest starts now.
    const digest = opening ? subtle.digest("SHA-256", bytes as BufferSource) : out.then((o) => subtle.digest("SHA-256", o));
    return Promise.all([out, digest]).then(([o, d]) => [new Uint8Array(o), new Uint8Array(d)]);
  }
}

/** The segment a machine holds while it waits for more bytes: copied into
 * a buffer reused for every segment, or, from a lent chunk, a view. */
class Held {
  readonly buffer = new Uint8Array(SEGMENT_SIZE);
  length = 0;
  kept: Uint8Array | undefined;

  /** The held bytes (valid until the next push). */
  bytes(): Uint8Array {
    return this.kept ?? this.buffer.subarray(0, this.length);
  }
}

function short(): Error {
  return s3sealError("InvalidInput", "invalid input: a step reads past its bytes");
}

/** Runs a machine's steps over `chunk` (and the bytes it released):
 * holds what it says to hold in `held`, and gives each segment to
 * `segment` (its bytes are good until the next push). `lent`: `chunk`
 * stays unchanged until the next push, so a whole held segment may be a
 * view of it. */
function runSteps(pushed: Pushed, chunk: Uint8Array, lent: boolean, held: Held | undefined, segment: (s: Segment) => void): void {
  const { steps, ivs } = pushed;
  const piece = (n: number, at: number, len: number): Uint8Array => {
    if (n === 2) {
      const bytes = held!.bytes();
      held!.kept = undefined;
      held!.length = 0;
      if (bytes.length !== len) throw short();
      return bytes;
    }
    const bytes = (n === 0 ? pushed.released! : chunk).subarray(at, at + len);
    if (bytes.length !== len) throw short();
    return bytes;
  };
  let k = 0;
  let keptNow = false;
  for (let i = 0; i < steps.length; i += STEP_FIELDS) {
    const [kind, from, at, third, len, flag] = steps.subarray(i, i + STEP_FIELDS);
    const bytes = piece(from, at, len);
    if (kind === 0) {
      keptNow = lent && flag === 1;
      if (keptNow) held!.kept = bytes;
      else held!.buffer.set(bytes, third);
      held!.length = third + len;
    } else {
      segment([third, flag === 1, ivs.slice(k * NONCE_SIZE, (k + 1) * NONCE_SIZE), bytes]);
      k++;
    }
  }
  // A view kept from an earlier chunk (a push that released nothing) would
  // outlive its loan once this returns: hold a copy instead.
  if (held?.kept && !keptNow) {
    held.buffer.set(held.kept);
    held.kept = undefined;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(parts.length * size);
  parts.forEach((p, i) => out.set(p, i * size));
  return out;
}

/** Puts each push's digests into the machine in push order, whatever order
 * the pushes settle in; once one failed, no later one pretends to continue
 * the object. */
class Recorder {
  #chain: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(private readonly opening: boolean, private readonly record: (digests: Uint8Array) => void) {}

  /** The pieces of `calls` (after `head`), once their digests are
   * recorded; `after` runs then, with every digest so far recorded. */
  add(calls: Promise<Result>[], head?: Uint8Array, after?: (pieces: Uint8Array[]) => void): Promise<Uint8Array[]> {
    const before = this.#chain;
    const done = (async () => {
      let results: Result[] = [];
      let failure: unknown;
      try {
        results = await Promise.all(calls);
      } catch (err) {
        failure = cipherFailure(this.opening, err);
        // What did open of a failed push is never released: wipe it.
        if (this.opening) {
          for (const r of await Promise.allSettled(calls)) if (r.status === "fulfilled") r.value[0].fill(0);
        }
      }
      try {
        await this.earlier(before);
        if (failure !== undefined) throw failure;
        this.record(concat(results.map((r) => r[1]), DIGEST_SIZE));
        const pieces = results.map((r) => r[0]);
        if (head) pieces.unshift(head);
        after?.(pieces);
        return pieces;
      } catch (err) {
        this.#failed = true;
        if (this.opening) for (const [plain] of results) plain.fill(0);
        throw err;
      }
    })();
    this.#chain = done.then(
      () => {},
      () => {},
    );
    return done;
  }

  /** A push failed before it reached the recorder: the stream is over. */
  fail(): void {
    this.#failed = true;
  }

  /** Waits for every push so far to be recorded; throws if one failed. */
  async earlier(before = this.#chain): Promise<void> {
    await before;
    if (this.#failed) throw s3sealError("InvalidInput", "invalid input: an earlier push failed; this stream is over");
  }
}

/** An engine being made, and once it is, the engine itself: cipher calls
 * start at once when it is there, and on copies of their bytes before. */
class EngineSlot {
  ready: Engine | undefined;
  readonly made: Promise<Engine>;

  constructor(made: Promise<Engine>) {
    this.made = made.then((e) => (this.ready = e));
    this.made.catch(() => {}); // each push that needs it reports the failure
  }

  start(opening: boolean, segment: Segment): Promise<Result> {
    if (this.ready) return this.ready.start(opening, segment);
    const copy: Segment = [segment[0], segment[1], segment[2], segment[3].slice()];
    return this.made.then((e) => {
      try {
        return e.start(opening, copy); // engines copy their input when called
      } finally {
        copy[3].fill(0);
      }
    });
  }

  /** Frees the engine once it is (or if it ever is) made. */
  free(): void {
    this.made.then(
      (e) => e.free(),
      () => {},
    );
  }
}

const NOTHING = new Uint8Array(0);
/** The most bytes one push takes: offsets in wasm are 32-bit. */
const MAX_CHUNK = 2 ** 32 - 1;

function checkChunk(chunk: Uint8Array): Uint8Array {
  if (!(chunk instanceof Uint8Array) || chunk.length > MAX_CHUNK) {
    throw s3sealError("InvalidInput", "invalid input: a chunk must be a Uint8Array of at most 4 GiB - 1");
  }
  return chunk;
}

/**
 * Seals one object on the fastest engine: `push(chunk)` and `finish()`
 * return promises of `Uint8Array[]` (object bytes, in order). A pushed
 * chunk may be reused as soon as `push` returns; one that is lent
 * (`pushLent`) must stay unchanged until the next call returns, and
 * chunks that end on segment boundaries (see `segmentOffset`) are then
 * never copied.
 */
export class SealStream {
  #machine: SealMachine;
  #engine: EngineSlot;
  #held = new Held();
  #recorder: Recorder;

  /** Starts sealing for `key` (a root key or passphrase) with metadata
   * `{ name, type, size }`; `options.engine` is "auto" (default),
   * "webcrypto" or "wasm". */
  constructor(key: Key, metadata: StreamMetadata, options: { engine?: EngineChoice } = {}) {
    const choice = engineChoice(options?.engine);
    // toRecipient comes through here with a Recipient.
    const target = key as Key | Recipient;
    const machine = target instanceof Recipient ? SealMachine.toRecipient(target, metadata) : new SealMachine(target, metadata);
    this.#machine = machine;
    this.#engine = new EngineSlot(Engine.create(choice, machine.segmentKey(), () => machine.cipher()));
    this.#recorder = new Recorder(false, (d) => machine.record(d));
  }

  /** Starts sealing to `recipient` (recipient mode): only its identity
   * opens the object, and `fileKey()` refuses. */
  static toRecipient(recipient: Recipient, metadata: StreamMetadata, options: { engine?: EngineChoice } = {}): SealStream {
    return new SealStream(recipient as unknown as Key, metadata, options);
  }

  /** The object's id (32 hex digits). */
  get objectId(): string {
    return this.#machine.objectId;
  }

  /** The object's name in the bucket. */
  get objectName(): string {
    return this.#machine.objectName;
  }

  /** This object's own key (a share key). Refused in recipient mode. */
  fileKey(): Key {
    return this.#machine.fileKey();
  }

  /** The SSE-C headers for this object. */
  sseCHeaders(): Record<string, string> {
    return this.#machine.sseCHeaders() as Record<string, string>;
  }

  /** Object length in bytes for `plaintextLength` bytes of plaintext. */
  objectLength(plaintextLength: number): number {
    return this.#machine.objectLength(plaintextLength);
  }

  /** Resolves to the engine in use. */
  engine(): Promise<EngineName> {
    return this.#engine.made.then((e) => e.name);
  }

  /** Takes plaintext; resolves to the object bytes it completes. */
  push(chunk: Uint8Array): Promise<Uint8Array[]> {
    return this.#run(this.#machine.push(checkChunk(chunk).length) as Pushed, chunk, false);
  }

  /** As `push`, with the chunk lent until the next call returns. */
  pushLent(chunk: Uint8Array): Promise<Uint8Array[]> {
    return this.#run(this.#machine.push(checkChunk(chunk).length) as Pushed, chunk, true);
  }

  /** Ends the object; resolves to its last bytes: the last segment and the signature. */
  finish(): Promise<Uint8Array[]> {
    return this.#run(this.#machine.finish() as Pushed, NOTHING, false, (pieces) => pieces.push(this.#machine.signature()));
  }

  /** Releases the machine and the engine (their keys are wiped). */
  free(): void {
    this.#held.buffer.fill(0);
    this.#engine.free();
    this.#machine.free();
  }

  #run(pushed: Pushed, chunk: Uint8Array, lent: boolean, after?: (pieces: Uint8Array[]) => void): Promise<Uint8Array[]> {
    const calls: Promise<Result>[] = [];
    try {
      runSteps(pushed, chunk, lent, this.#held, (s) => calls.push(this.#engine.start(false, s)));
    } catch (err) {
      this.#recorder.fail(); // the machine went on without these segments
      throw err;
    }
    return this.#recorder.add(calls, pushed.head, after);
  }
}

/**
 * Opens one object on the fastest engine: `push(chunk)` and `finish()`
 * return promises of verified plaintext pieces, each released only after
 * its segment's tag verified. A wrong key fails (`WrongKey`) before any
 * decryption. Only `finish` says the object is the one its owner signed.
 */
export class OpenStream {
  #machine: OpenMachine;
  #choice: EngineChoice;
  #engine: EngineSlot | undefined;
  #held = new Held();
  #recorder: Recorder;

  /** An opener for `key`; `options.engine` as for `SealStream`. */
  constructor(key: Key, options: { engine?: EngineChoice } = {}) {
    this.#choice = engineChoice(options?.engine);
    const machine = new OpenMachine(key);
    this.#machine = machine;
    this.#recorder = new Recorder(true, (d) => machine.record(d));
  }

  /** `{ name, type, size }` once the preamble verified, else undefined. */
  get metadata(): StreamMetadata | undefined {
    return this.#machine.metadata as StreamMetadata | undefined;
  }

  /** Also check that the object is the one `objectName` names; before the first push. */
  expectName(objectName: string): void {
    this.#machine.expectName(objectName);
  }

  /** Takes object bytes; resolves to the verified plaintext they complete.
   * Throws at once for a wrong key or a malformed preamble. */
  push(chunk: Uint8Array): Promise<Uint8Array[]> {
    const pushed = this.#machine.push(checkChunk(chunk)) as Pushed;
    const engine = this.#ensureEngine();
    if (!engine) return Promise.resolve([]);
    const calls: Promise<Result>[] = [];
    try {
      runSteps(pushed, chunk, false, this.#held, (s) => calls.push(engine.start(true, s)));
    } catch (err) {
      this.#recorder.fail(); // the machine went on without these segments
      throw err;
    }
    return this.#recorder.add(calls);
  }

  /** The object ended: resolves to the last verified plaintext once the
   * signature verified, or rejects (`Truncated`, `Corrupt`, `BadSignature`). */
  finish(): Promise<Uint8Array[]> {
    const last = this.#machine.finish() as Pushed | undefined;
    const engine = this.#engine!; // finish throws before the payload header
    const rest = this.#held.bytes();
    return (async () => {
      const ready = await engine.made;
      if (last) {
        const [, , , index, , flag] = last.steps;
        const opened = await ready.start(true, [index, flag === 1, last.ivs, rest]).catch(notOpened);
        if (opened) {
          try {
            await this.#recorder.earlier();
            this.#machine.verify(opened[1]);
          } catch (err) {
            opened[0].fill(0);
            throw err;
          }
          return [opened[0]];
        }
      }
      // Why it failed, from the held segment and what followed it.
      const trailer = this.#machine.trailer();
      const end = new Uint8Array(rest.length + trailer.length);
      end.set(rest);
      end.set(trailer, rest.length);
      for (const reading of this.#machine.endReadings() as (Pushed & { error: Error })[]) {
        const tries: Segment[] = [];
        runSteps(reading, end, false, undefined, (s) => tries.push(s));
        let all = true;
        for (const s of tries) {
          const opened = await ready.start(true, s).catch(notOpened);
          opened?.[0].fill(0);
          if (!opened) {
            all = false;
            break;
          }
        }
        if (all) throw reading.error;
      }
      throw s3sealError("Corrupt", "the object is corrupt or was tampered with");
    })();
  }

  /** Releases the machine and the engine. */
  free(): void {
    this.#engine?.free();
    this.#machine.free();
  }

  #ensureEngine(): EngineSlot | undefined {
    if (!this.#engine) {
      const key = this.#machine.segmentKey();
      if (!key) return undefined;
      const machine = this.#machine;
      this.#engine = new EngineSlot(Engine.create(this.#choice, key, () => machine.cipher()!));
    }
    return this.#engine;
  }
}

/** A segment that did not verify (undefined); any other failure of the
 * engine says nothing about the bytes and is thrown as it is (`Engine`). */
function notOpened(err: unknown): undefined {
  const failure = cipherFailure(true, err) as { code?: string };
  if (failure.code !== "Corrupt") throw failure;
  return undefined;
}

/** Seals part `number` of an upload on `engine` from its `plaintext`: its
 * segments several at a time, in order. Resolves to its pieces (the
 * object's head first in part 1) and the fingerprint the resume state keeps. */
export async function sealPart(sealer: UploadSealer, engine: Engine, number: number, plaintext: Uint8Array): Promise<{ pieces: Uint8Array[]; fingerprint: string }> {
  const pushed = sealer.partSteps(number) as Pushed;
  const jobs: Segment[] = [];
  runSteps(pushed, plaintext, true, undefined, (s) => jobs.push(s));
  const length = jobs.reduce((n, s) => n + s[3].length, 0);
  if (length !== plaintext.length) throw s3sealError("InvalidInput", "invalid input: the plaintext is not the part's length");
  const results: Result[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const k = next++;
      try {
        results[k] = await engine.start(false, jobs[k]);
      } catch (err) {
        next = jobs.length; // start nothing more
        throw err;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(SEGMENTS_IN_FLIGHT, jobs.length) }, lane));
  } catch (err) {
    throw cipherFailure(false, err);
  }
  const sealed = results.map((r) => r[0]);
  const tags = concat(sealed.map((s) => s.subarray(s.length - TAG_SIZE)), TAG_SIZE);
  const fingerprint = sealer.recordPart(number, concat(results.map((r) => r[1]), DIGEST_SIZE), tags);
  return { pieces: pushed.head ? [pushed.head, ...sealed] : sealed, fingerprint };
}
