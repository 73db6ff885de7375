// The npm package in headless Chromium, loaded by a plain module script:
// seal/open, errors, the Worker, and interop with the native CLI both ways.
// Run by `make test` after `make pkg`; S3SEAL_BIN is the CLI.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { assert, body, browser, pattern, run, serve } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.S3SEAL_BIN ?? path.join(root, "target/debug/s3seal");
const work = mkdtempSync(path.join(tmpdir(), "s3seal-e2e-"));
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

const uploads = new Map();
/** What /pkg/cipher-worker.js serves: the package's script, none (as under
 * a CSP that blocks it), or one that starts and then dies on its first batch. */
let cipherWorkerScript = "real";
const DYING_CIPHER_WORKER = `self.addEventListener("message", () => { throw new Error("the test's cipher worker dies"); });
self.postMessage({ ready: true });`;
/** Likewise for /pkg/hash-worker.js, and how often it was fetched. */
let hashWorkerScript = "real";
let hashWorkerFetches = 0;
const DYING_HASH_WORKER = `self.addEventListener("message", ({ data }) => {
  if (!("id" in data)) self.postMessage({ ready: true });
  else throw new Error("the test's hash worker dies");
});`;
const server = await serve(root, {
  "/pkg/hash-worker.js": async (req, res) => {
    hashWorkerFetches++;
    if (hashWorkerScript === "hidden") return res.writeHead(404).end("not found");
    const js = hashWorkerScript === "dying" ? Buffer.from(DYING_HASH_WORKER) : readFileSync(path.join(root, "pkg/hash-worker.js"));
    res.writeHead(200, { "content-type": "text/javascript", "content-length": js.length }).end(js);
  },
  "/pkg/cipher-worker.js": async (req, res) => {
    if (cipherWorkerScript === "hidden") return res.writeHead(404).end("not found");
    const js = cipherWorkerScript === "dying" ? Buffer.from(DYING_CIPHER_WORKER) : readFileSync(path.join(root, "pkg/cipher-worker.js"));
    res.writeHead(200, { "content-type": "text/javascript", "content-length": js.length }).end(js);
  },
  "PUT /upload": async (req, res, url) => {
    uploads.set(url.searchParams.get("name"), await body(req));
    res.writeHead(204).end();
  },
  "GET /stored": async (req, res, url) => {
    const bytes = uploads.get(url.searchParams.get("name"));
    if (!bytes) return res.writeHead(404).end("no such object");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length }).end(bytes);
  },
  "/hash-input": async (req, res) => {
    const bytes = readFileSync(path.join(work, "hash-input.bin"));
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length }).end(bytes);
  },
  "/cli-object": async (req, res) => {
    const bytes = readFileSync(path.join(work, "cli.s3seal"));
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length }).end(bytes);
  },
});
const chrome = await browser();
const page = await chrome.newPage();
page.on("pageerror", (e) => console.log("pageerror:", e.message));
await page.goto(`${server.url}/tests/e2e/harness.html`);
await page.waitForFunction(() => document.title === "ready", null, { timeout: 20000 });

execFileSync(bin, ["keygen", "-o", path.join(work, "root.key")]);
const keyText = readFileSync(path.join(work, "root.key"), "utf8").trim();

try {
  await run([
    [
      "browser-sealed object opens with the native CLI",
      async () => {
        const size = 3_000_000;
        const name = await page.evaluate(
          async ({ keyText, size }) => {
            const { Key, sealBlob } = window.s3seal;
            const data = new Uint8Array(size).map((_, i) => (31 * i + 7) & 0xff);
            const key = Key.fromText(keyText);
            const sealed = await sealBlob(new File([data], "from-browser.bin", { type: "x/browser" }), { key });
            await fetch(`/upload?name=${sealed.objectName}`, { method: "PUT", body: sealed.blob });
            sealed.fileKey.free();
            key.free();
            return sealed.objectName;
          },
          { keyText, size },
        );
        const obj = path.join(work, name);
        writeFileSync(obj, uploads.get(name));
        const out = path.join(work, "opened.bin");
        execFileSync(bin, ["open", obj, "-o", out, "--key-file", path.join(work, "root.key")]);
        assert(sha256(readFileSync(out)) === sha256(pattern(size)), "CLI opened the browser's bytes");
        const info = execFileSync(bin, ["inspect", obj], { encoding: "utf8" });
        assert(info.includes(`plaintext:   ${size} bytes`), info);
      },
    ],
    [
      "CLI-sealed object opens in the browser, with its sealed name and type",
      async () => {
        const plain = pattern(1_500_001);
        writeFileSync(path.join(work, "notes.txt"), plain);
        execFileSync(bin, ["seal", path.join(work, "notes.txt"), "-o", path.join(work, "cli.s3seal"), "--key-file", path.join(work, "root.key")]);
        const got = await page.evaluate(async (keyText) => {
          const { Key, openBlob } = window.s3seal;
          const key = Key.fromText(keyText);
          const { blob, metadata } = await openBlob(await fetch("/cli-object"), key);
          const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
          key.free();
          return { metadata, hash: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") };
        }, keyText);
        assert(got.hash === sha256(plain), "same plaintext");
        assert(got.metadata.name === "notes.txt" && got.metadata.type === "text/plain", JSON.stringify(got.metadata));
        assert(got.metadata.size === plain.length, "size");
      },
    ],
    [
      "recipient mode both ways: browser-sealed to a public key opens with `s3seal open --identity`, CLI-sealed opens with the identity in the browser",
      async () => {
        const idFile = path.join(work, "org.identity");
        const pub = execFileSync(bin, ["keygen", "--identity", "-o", idFile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
        const size = 1_000_003;
        const name = await page.evaluate(
          async ({ pub, size }) => {
            const { sealBlob } = window.s3seal;
            const data = new Uint8Array(size).map((_, i) => (31 * i + 7) & 0xff);
            const sealed = await sealBlob(new File([data], "form.bin"), { recipient: pub });
            if (sealed.fileKey !== undefined) throw new Error("a recipient sealing handed out a key");
            await fetch(`/upload?name=${sealed.objectName}`, { method: "PUT", body: sealed.blob });
            return sealed.objectName;
          },
          { pub, size },
        );
        assert(/^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(name), name);
        const obj = path.join(work, name);
        writeFileSync(obj, uploads.get(name));
        const out = path.join(work, "form.out");
        execFileSync(bin, ["open", obj, "-o", out, "--identity", idFile], { stdio: ["ignore", "pipe", "pipe"] });
        assert(sha256(readFileSync(out)) === sha256(pattern(size)), "the CLI's identity opened the browser's object");

        const plain = pattern(700_000);
        writeFileSync(path.join(work, "contract.txt"), plain);
        execFileSync(bin, ["seal", path.join(work, "contract.txt"), "-o", path.join(work, "cli.s3seal"), "--force", "--recipient", pub, "-q"]);
        const identityText = readFileSync(idFile, "utf8").split("\n").find((l) => l.startsWith("S3SEAL-SECRET-KEY-1"));
        const got = await page.evaluate(async (identityText) => {
          const { Key, openBlob, isS3sealError } = window.s3seal;
          const identity = Key.fromText(identityText);
          const { blob, metadata } = await openBlob(await fetch("/cli-object"), identity);
          const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
          let wrong = "no error";
          try {
            await openBlob(await fetch("/cli-object"), Key.generate());
          } catch (e) {
            wrong = isS3sealError(e) ? e.code : String(e);
          }
          identity.free();
          return { kind: "identity", metadata, wrong, hash: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") };
        }, identityText);
        assert(got.hash === sha256(plain) && got.metadata.name === "contract.txt", JSON.stringify(got));
        assert(got.wrong === "KeySource", `a root key for a recipient object: ${got.wrong}`);
      },
    ],
    [
      "errors are Error objects with stable codes; nothing unverified is released",
      async () => {
        const got = await page.evaluate(async () => {
          const { Key, sealBlob, openBlob, open, isS3sealError } = window.s3seal;
          const key = Key.generate();
          const sealed = await sealBlob(new Blob([new Uint8Array(600_000).fill(1)]), { key });
          const codes = {};
          const attempt = async (label, fn) => {
            try {
              await fn();
              codes[label] = "no error";
            } catch (e) {
              codes[label] = isS3sealError(e) && e instanceof Error ? e.code : `not an S3sealError: ${e}`;
            }
          };
          await attempt("wrongKey", () => openBlob(sealed.blob, Key.generate()));
          const bytes = new Uint8Array(await sealed.blob.arrayBuffer());
          const tampered = bytes.slice();
          tampered[tampered.length - 64 - 3] ^= 1; // in the last segment, before the signature
          await attempt("tampered", () => openBlob(tampered, key));
          // Cut at the start of segment 2 (payload = 40 + 600000 + 3 tags, then the signature).
          const preamble = bytes.length - (40 + 600_000 + 3 * 16 + 64);
          await attempt("truncated", () => openBlob(bytes.slice(0, preamble + 262144 * 2), key));
          await attempt("notSealed", () => openBlob(new Uint8Array(100), key));
          await attempt("badBase64", () => Key.fromText("s3seal-root-%%%"));
          await attempt("badLength", () => Key.fromText("s3seal-root-AAAA"));
          await attempt("httpEndpoint", () => window.s3seal.checkSseCEndpoint("http://s3.example.com"));
          // Streaming a tampered last segment: the verified first segments come
          // out, then the stream errors; the failing segment's bytes never do.
          const opened = open(tampered, key);
          let released = 0;
          await attempt("streamTampered", async () => {
            const reader = opened.stream.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              released += value.length;
            }
          });
          return { codes, released };
        });
        const want = { wrongKey: "WrongKey", tampered: "Corrupt", truncated: "Truncated", notSealed: "NotSealed", badBase64: "InvalidBase64", badLength: "InvalidKey", httpEndpoint: "InsecureEndpoint", streamTampered: "Corrupt" };
        for (const [k, v] of Object.entries(want)) assert(got.codes[k] === v, `${k}: ${got.codes[k]}`);
        // Segments 0 and 1 verified; the tampered last one (600000 - 524216 bytes) never appears.
        assert(got.released === 262088 + 262128, `released only the verified segments (${got.released})`);
      },
    ],
    [
      "a presign answer is sent exactly as it was checked: SSE-C headers as pairs, a Headers object or non-strings to plain http, or the key in the query however spelled, are refused and no request leaves",
      async () => {
        // A backend (or a bug in one) that answers with the key's headers in
        // a shape the check might read one way and the sender another.
        const seen = [];
        const evil = "*://s3.evil.test/**";
        await page.route(evil, (route) => {
          seen.push(route.request().headers());
          return route.fulfill({ status: 200, headers: { etag: '"e"' }, body: "" });
        });
        try {
          const codes = await page.evaluate(async (keyText) => {
            const { Key, upload } = window.s3seal;
            const key = Key.fromText(keyText);
            const pairs = (r) => [
              ["x-amz-server-side-encryption-customer-algorithm", "AES256"],
              ["x-amz-server-side-encryption-customer-key", r.sseC.key],
              ["x-amz-server-side-encryption-customer-key-md5", r.sseC.keyMd5],
            ];
            const shapes = {
              pairs,
              headersObject: (r) => new Headers(pairs(r)),
              nonString: (r) => ({ "x-amz-server-side-encryption-customer-key": { toString: () => r.sseC.key } }),
            };
            const out = {};
            for (const [shape, headers] of Object.entries(shapes)) {
              const presign = (r) => ({ method: "PUT", url: "http://s3.evil.test/bucket/o", headers: headers(r) });
              out[shape] = await upload(new Blob(["secret bytes"]), { key, presign, retries: 0 }).then(
                () => "uploaded",
                (e) => `${e.code}: ${e.message}`,
              );
            }
            // The key hoisted into the query under spellings a parser or S3
            // reads as its name; the host is https, so only that rule refuses.
            for (const [shape, name] of Object.entries({ encoded: "customer%2Dkey", tab: "customer-\tkey" })) {
              const url = `https://s3.evil.test/bucket/o?x-amz-server-side-encryption-${name}=`;
              const presign = (r) => ({ method: "PUT", url: url + encodeURIComponent(r.sseC.key), headers: {} });
              out[shape] = await upload(new Blob(["secret bytes"]), { key, presign, retries: 0 }).then(
                () => "uploaded",
                (e) => `${e.code}: ${e.message}`,
              );
            }
            key.free();
            return out;
          }, keyText);
          for (const shape of ["encoded", "tab"]) {
            assert(codes[shape]?.startsWith("Presign: the presigned URL carries the SSE-C key in its query"), `${shape}: ${codes[shape]}`);
          }
          for (const shape of ["pairs", "headersObject", "nonString"]) {
            assert(codes[shape]?.startsWith("Presign: the presign function must return"), `${shape}: ${codes[shape]}`);
          }
          assert(seen.length === 0, `requests left for the plain-http host: ${JSON.stringify(seen)}`);
        } finally {
          await page.unroute(evil);
        }
      },
    ],
    [
      "seal() and open() streams fed in small chunks, on both engines (pushes that complete no segment)",
      async () => {
        const got = await page.evaluate(async () => {
          const { Key, seal, open } = window.s3seal;
          const key = Key.generate();
          const size = 3_000_000;
          const data = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
          // 1000-byte chunks: most pushes complete no segment and yield nothing.
          const trickle = (bytes) =>
            new ReadableStream({
              start(c) {
                for (let at = 0; at < bytes.length; at += 1000) c.enqueue(bytes.slice(at, at + 1000));
                c.close();
              },
            });
          const drain = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());
          const within = (p) => Promise.race([p, new Promise((_, r) => setTimeout(() => r(new Error("stalled")), 20000))]);
          const out = {};
          for (const engine of ["webcrypto", "wasm"]) {
            const sealed = seal(trickle(data), { key, size, engine });
            const bytes = await within(drain(sealed.stream));
            const opened = open(trickle(bytes), key, { engine });
            const plain = await within(drain(opened.stream));
            // Bytes in memory go in as 1 MiB views: several pushes, none aligned to a segment.
            const whole = await within(drain(seal(data, { key, size, engine }).stream));
            const back = await within(drain(open(whole, key, { engine }).stream));
            out[engine] = {
              engine: await sealed.engine,
              same: plain.length === size && plain.every((v, i) => v === data[i]),
              sameFromBytes: back.length === size && back.every((v, i) => v === data[i]),
              name: (await opened.metadata).size,
            };
          }
          return out;
        });
        for (const engine of ["webcrypto", "wasm"]) {
          assert(got[engine].engine === engine, JSON.stringify(got));
          assert(got[engine].same && got[engine].sameFromBytes && got[engine].name === 3_000_000, JSON.stringify(got));
        }
      },
    ],
    [
      "OpenStream on both engines opens every checked-in vector as the index says, negative ones included, in large chunks and (small objects) around the 64 bytes held back",
      async () => {
        const got = await page.evaluate(async () => {
          const { Key, OpenStream } = window.s3seal;
          const index = await (await fetch("/tests/vectors/index.json")).json();
          const plain = (n) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
          const fails = [];
          let runs = 0;
          for (const c of index) {
            const bytes = new Uint8Array(await (await fetch(`/tests/vectors/${c.file}`)).arrayBuffer());
            for (const engine of ["webcrypto", "wasm"]) {
              for (const chunk of bytes.length < 4096 ? [100_000, 65, 63] : [100_000]) {
                runs++;
                let outcome;
                try {
                  const key = c.key !== undefined ? Key.fromText(c.key) : Key.fromPassphrase(c.passphrase);
                  const opener = new OpenStream(key, { engine });
                  if (c.object_name) opener.expectName(c.object_name);
                  const out = [];
                  for (let at = 0; at < bytes.length; at += chunk) out.push(...(await opener.push(bytes.slice(at, at + chunk))));
                  out.push(...(await opener.finish()));
                  const all = new Uint8Array(await new Blob(out).arrayBuffer());
                  const want = plain(c.plaintext_len);
                  outcome = all.length === want.length && all.every((b, i) => b === want[i]) ? "ok" : "wrong bytes";
                } catch (e) {
                  outcome = e.name === "S3sealError" ? e.code : `${e.name}: ${e.message}`;
                }
                if (outcome !== c.expect) fails.push(`${engine} ${c.name} /${chunk}: ${outcome}, expected ${c.expect}`);
              }
            }
          }
          return { fails, runs, cases: index.length };
        });
        assert(got.cases >= 50 && got.runs > 2 * got.cases, JSON.stringify(got));
        assert(got.fails.length === 0, got.fails.join("\n"));
      },
    ],
    [
      "SealStream on one engine opens on the other and on the wasm engine in odd pushes, at chunk sizes that split segments; SealStream and OpenStream need no chunk once push returned, and a lent chunk only until the next call returns",
      async () => {
        const fails = await page.evaluate(async () => {
          const { Key, OpenStream, SealStream, segmentOffset } = window.s3seal;
          const key = Key.generate();
          const plainOf = (n) => new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
          const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
          const join = async (promises) => {
            const pieces = [];
            for (const p of promises) pieces.push(...(await p));
            return new Uint8Array(await new Blob(pieces).arrayBuffer());
          };
          // A third reading: the wasm engine, in 70,000-byte pushes (not
          // a divisor of a segment), each awaited.
          const wasmOpen = async (bytes) => {
            const opener = new OpenStream(key, { engine: "wasm" });
            const out = [];
            for (let at = 0; at < bytes.length; at += 70_000) out.push(...(await opener.push(bytes.subarray(at, at + 70_000))));
            out.push(...(await opener.finish()));
            opener.free();
            return new Uint8Array(await new Blob(out).arrayBuffer());
          };
          const fails = [];
          // Pushes every chunk without awaiting, overwriting each as soon as
          // its push returned (or, lent, once the next call returned; with
          // `empty`, that next call is an empty push).
          const pushAll = (stream, bytes, ends, lent, empty = false) => {
            const started = [];
            let previous;
            let at = 0;
            for (const end of ends) {
              const chunk = bytes.slice(at, end);
              started.push(lent ? stream.pushLent(chunk) : stream.push(chunk));
              if (!lent) chunk.fill(0xa5);
              previous?.fill(0xa5);
              previous = lent ? chunk : undefined;
              if (lent && empty) {
                started.push(stream.push(new Uint8Array(0)));
                previous.fill(0xa5);
                previous = undefined;
              }
              at = end;
            }
            started.push(stream.finish());
            previous?.fill(0xa5);
            return join(started);
          };
          const every = (len, step) => {
            const ends = [];
            for (let e = step; e < len; e += step) ends.push(e);
            return [...ends, len];
          };
          const plain = plainOf(900_001);
          for (const [sealWith, openWith] of [["webcrypto", "wasm"], ["wasm", "webcrypto"]]) {
            for (const chunk of [1 << 20, 65_536, 262_088, 300_000]) {
              const sealer = new SealStream(key, { size: plain.length }, { engine: sealWith });
              if ((await sealer.engine()) !== sealWith) fails.push(`engine ${sealWith}`);
              const sealed = await pushAll(sealer, plain, every(plain.length, chunk), false);
              if (sealed.length !== sealer.objectLength(plain.length)) fails.push(`length ${sealWith} ${chunk}`);
              sealer.free();
              if (!same(await wasmOpen(sealed), plain)) fails.push(`wasm opener by 70,000, ${sealWith} chunk ${chunk}`);
              const opener = new OpenStream(key, { engine: openWith });
              const opened = await pushAll(opener, sealed, every(sealed.length, chunk), false);
              if (!same(opened, plain)) fails.push(`${openWith} opener, ${sealWith} chunk ${chunk}`);
            }
          }
          for (const engine of ["webcrypto", "wasm"]) {
            for (const len of [segmentOffset(8), segmentOffset(8) + 1_000]) {
              const bytes = plainOf(len);
              const aligned = [];
              for (let k = 1; segmentOffset(2 * k) < len; k++) aligned.push(segmentOffset(2 * k));
              for (const ends of [[...aligned, len], every(len, 300_000)]) {
                for (const empty of [false, true]) {
                  const sealer = new SealStream(key, {}, { engine });
                  const sealed = await pushAll(sealer, bytes, ends, true, empty);
                  if (!same(await wasmOpen(sealed), bytes)) fails.push(`lent, ${engine}, ${len} bytes, ends ${ends}${empty ? ", an empty push after each" : ""}`);
                }
              }
            }
          }
          return fails;
        });
        assert(fails.length === 0, fails.join("\n"));
      },
    ],
    [
      "SealStream to a recipient: its identity opens the object (by name too), another identity gets WrongKey, a root key KeySource, a renamed object NameMismatch, and the sealer hands out no share key",
      async () => {
        const ids = ["a", "b"].map((n) => {
          const file = path.join(work, `stream-${n}.identity`);
          const pub = execFileSync(bin, ["keygen", "--identity", "-o", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
          return { pub, secret: readFileSync(file, "utf8").split("\n").find((l) => l.startsWith("S3SEAL-SECRET-KEY-1")) };
        });
        const fails = await page.evaluate(async (ids) => {
          const { Key, OpenStream, Recipient, SealStream } = window.s3seal;
          const plain = new Uint8Array(600_000).map((_, i) => (i * 31 + 7) & 0xff);
          const identity = Key.fromText(ids[0].secret);
          const fails = [];
          const codeOf = async (f) => {
            try {
              await f();
              return "ok";
            } catch (e) {
              return e.code ?? String(e);
            }
          };
          const openWith = async (key, name, bytes) => {
            const opener = new OpenStream(key);
            if (name) opener.expectName(name);
            const out = await opener.push(bytes);
            const last = await opener.finish();
            const metadata = opener.metadata;
            opener.free();
            return { out: new Uint8Array(await new Blob(out).arrayBuffer()), last: new Uint8Array(await new Blob(last).arrayBuffer()), metadata };
          };
          for (const engine of ["webcrypto", "wasm"]) {
            const sealer = SealStream.toRecipient(Recipient.fromText(ids[0].pub), { name: "scan.pdf", size: plain.length }, { engine });
            const name = sealer.objectName;
            if (!/^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(name)) fails.push(`name ${name}`);
            if ((await codeOf(() => sealer.fileKey())) !== "InvalidInput") fails.push("a share key was handed out");
            const pieces = [];
            for (let at = 0; at < plain.length; at += 100_000) pieces.push(...(await sealer.push(plain.slice(at, at + 100_000))));
            pieces.push(...(await sealer.finish()));
            const sealed = new Uint8Array(await new Blob(pieces).arrayBuffer());
            const { out, last, metadata } = await openWith(identity, name, sealed);
            const opened = new Uint8Array([...out, ...last]);
            if (opened.length !== plain.length || !opened.every((b, i) => b === plain[i])) fails.push(`${engine}: bytes`);
            if (metadata.name !== "scan.pdf") fails.push(`${engine}: metadata ${JSON.stringify(metadata)}`);
            if (JSON.stringify(identity.sseCHeaders(name)) !== JSON.stringify(sealer.sseCHeaders())) fails.push(`${engine}: SSE-C from the name`);
            const other = await codeOf(() => openWith(Key.fromText(ids[1].secret), undefined, sealed));
            const root = await codeOf(() => openWith(Key.generate(), undefined, sealed));
            const renamed = await codeOf(() => openWith(identity, `${name.slice(0, 33)}${"ab".repeat(32)}.s3seal`, sealed));
            if (other !== "WrongKey" || root !== "KeySource" || renamed !== "NameMismatch") fails.push(`${engine}: ${other} ${root} ${renamed}`);
            sealer.free();
          }
          return fails;
        }, ids);
        assert(fails.length === 0, fails.join("\n"));
      },
    ],
    [
      "seal() and open() of Blobs at chunk-boundary sizes, read as byte streams and as plain ones, give the same bytes back",
      async () => {
        const got = await page.evaluate(async () => {
          const { Key, seal, open, segmentOffset } = window.s3seal;
          const key = Key.generate();
          const drain = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());
          // A Blob whose stream() is not a byte stream (as in browsers without them).
          class PlainStreamBlob extends Blob {
            stream() {
              const reader = super.stream().getReader();
              return new ReadableStream({
                async pull(c) {
                  const { done, value } = await reader.read();
                  done ? c.close() : c.enqueue(value);
                },
              });
            }
          }
          const chunk = segmentOffset(4); // what one read of a Blob asks for
          // ... and the ~8 MiB a stream of the Blob serves before the next opens.
          const sizes = [0, 1, chunk - 1, chunk, chunk + 1, segmentOffset(8), 3_000_001, segmentOffset(32), segmentOffset(64) + 5];
          const failures = [];
          for (const size of sizes) {
            const data = new Uint8Array(size).map((_, i) => (i * 13 + size) & 0xff);
            for (const Kind of [Blob, PlainStreamBlob]) {
              const sealed = await drain(seal(new Kind([data]), { key }).stream);
              const back = await drain(open(new Kind([sealed]), key).stream);
              if (back.length !== size || !back.every((v, i) => v === data[i])) failures.push(`${Kind.name} ${size}`);
            }
          }
          // A Blob that says it is longer than it is (a File changed on disk).
          class Shrunk extends Blob {
            get size() {
              return super.size + 10;
            }
          }
          let shrunk;
          try {
            // Read directly: a Response would replace the stream's error with its own.
            const reader = seal(new Shrunk([new Uint8Array(2 * chunk)]), { key }).stream.getReader();
            while (!(await reader.read()).done);
            shrunk = "sealed";
          } catch (err) {
            shrunk = `${err.code}: ${err.message}`;
          }
          return { failures, shrunk };
        });
        assert(got.failures.length === 0, `wrong bytes back: ${got.failures.join(", ")}`);
        assert(/^InvalidInput: .*shorter than its size/.test(got.shrunk), got.shrunk);
      },
    ],
    [
      "seal() of a File changed on disk while it is read fails with a clear error, read as a byte stream or a plain one",
      async () => {
        await page.evaluate(() => {
          const input = document.createElement("input");
          input.type = "file";
          input.id = "pick";
          document.body.append(input);
        });
        for (const plain of [false, true]) {
          const file = path.join(work, `changing-${plain}.bin`);
          writeFileSync(file, pattern(24 << 20));
          await page.setInputFiles("#pick", file);
          // Read the start of the sealed stream, then stop: reading is pull-driven.
          await page.evaluate(async (plain) => {
            const { Key, seal } = window.s3seal;
            const picked = document.getElementById("pick").files[0];
            if (plain) {
              // As in browsers whose Blob streams are not byte streams.
              picked.stream = () => {
                const reader = File.prototype.stream.call(picked).getReader();
                return new ReadableStream({
                  async pull(c) {
                    const { done, value } = await reader.read();
                    done ? c.close() : c.enqueue(value);
                  },
                });
              };
            }
            window.sealing = seal(picked, { key: Key.generate() }).stream.getReader();
            for (let i = 0; i < 3; i++) await window.sealing.read();
          }, plain);
          const fd = openSync(file, "r+");
          writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, (24 << 20) - 4096);
          closeSync(fd);
          const got = await page.evaluate(async () => {
            try {
              while (!(await window.sealing.read()).done);
              return "sealed to the end";
            } catch (err) {
              return `${err.code}: ${err.message}`;
            }
          });
          assert(/^InvalidInput: invalid input: the file could not be read .*changed or removed/.test(got), `${plain ? "plain" : "byte"} stream: ${got}`);
        }
      },
    ],
    [
      "sealing and opening in a Web Worker",
      async () => {
        const got = await page.evaluate(async (keyText) => {
          const { WorkerClient } = window.s3seal;
          const client = new WorkerClient(new Worker("/pkg/worker.js", { type: "module" }));
          const data = new Uint8Array(5_000_000).map((_, i) => i % 253);
          let progressEvents = 0;
          const sealed = await client.seal(new File([data], "w.bin"), { keyText, onProgress: () => progressEvents++ });
          const opened = await client.open(sealed.blob, { keyText: sealed.fileKey, objectName: sealed.objectName });
          const back = new Uint8Array(await opened.blob.arrayBuffer());
          let wrong = null;
          try {
            await client.open(sealed.blob, { passphrase: "nope" });
          } catch (e) {
            wrong = e.code;
          }
          client.terminate();
          return { same: back.length === data.length && back.every((v, i) => v === data[i]), name: opened.metadata.name, progressEvents, wrong, share: sealed.fileKey.startsWith("s3seal-file-") };
        }, keyText);
        assert(got.same, "worker round trip");
        assert(got.name === "w.bin", got.name);
        assert(got.progressEvents > 3, `progress events: ${got.progressEvents}`);
        assert(got.share, "share key text");
        assert(got.wrong === "KeySource", `passphrase for a root-key object: ${got.wrong}`);
      },
    ],
    [
      "the cipher worker hands a sealed call's buffer back wiped (it held plaintext), and an opened call's as it came",
      async () => {
        const got = await page.evaluate(async () => {
          const worker = new Worker("/pkg/cipher-worker.js", { type: "module" });
          const reply = () => new Promise((resolve) => worker.addEventListener("message", ({ data }) => resolve(data), { once: true }));
          await reply(); // ready
          const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
          const iv = new Uint8Array(12);
          const plain = new Uint8Array(1000).fill(0x5a);
          const call = (op, bytes) => {
            const copy = new Uint8Array(new ArrayBuffer(bytes.length));
            copy.set(bytes);
            const back = reply();
            worker.postMessage({ id: 1, calls: [{ op, key, iv, bytes: copy, hash: true }] }, [copy.buffer]);
            return back;
          };
          const sealed = await call("encrypt", plain);
          const out = new Uint8Array(sealed.results[0].out);
          const opened = await call("decrypt", out);
          worker.terminate();
          return {
            sealedBack: [...new Uint8Array(sealed.backs[0])].every((b) => b === 0),
            sealedLength: out.length,
            openedBack: [...new Uint8Array(opened.backs[0])].every((b, i) => b === out[i]),
            opened: [...new Uint8Array(opened.results[0].out)].every((b) => b === 0x5a),
          };
        });
        assert(got.sealedBack, "a sealed call's input came back unwiped");
        assert(got.sealedLength === 1016 && got.openedBack && got.opened, JSON.stringify(got));
      },
    ],
    [
      "the cipher worker: what it seals opens on the wasm engine and the reverse, tampering in its segments is Corrupt, without it sealing runs on the calling thread, and its death is Engine, not Corrupt",
      async () => {
        const roundTrip = () =>
          page.evaluate(async () => {
            const { Key, seal, open, isS3sealError } = window.s3seal;
            const drain = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());
            // Count the batches posted to cipher workers (messages with `calls`).
            const post = Worker.prototype.postMessage;
            let batches = 0;
            Worker.prototype.postMessage = function (message, ...rest) {
              if (Array.isArray(message?.calls)) batches++;
              return post.call(this, message, ...rest);
            };
            try {
              const key = Key.generate();
              // 24 segments: the engine deals 4 at a time, in turn, to this thread and the worker.
              const size = 24 * 262128 - 40 - 5;
              const data = new Uint8Array(size).map((_, i) => (i * 13 + (i >> 9)) & 0xff);
              const same = (b) => b.length === size && b.every((v, i) => v === data[i]);
              const sealed = await drain(seal(data, { key }).stream);
              const sealedByWorker = batches;
              // AES-GCM's tag pins each segment's key, nonce and bytes: the wasm
              // engine opening it all proves the worker sealed the format's bytes.
              const onWasm = await drain(open(sealed, key, { engine: "wasm" }).stream);
              const fromWasm = await drain(seal(data, { key, engine: "wasm" }).stream);
              const before = batches;
              const onWorker = await drain(open(fromWasm, key).stream);
              const openedByWorker = batches - before;
              // Flip a byte of segment 5 (the worker's second block: segments 4-7).
              const tampered = sealed.slice();
              const preamble = tampered.length - (40 + size + 24 * 16);
              tampered[preamble + 5 * 262144 + 100] ^= 1;
              let released = 0;
              let code = "no error";
              try {
                const reader = open(tampered, key).stream.getReader();
                for (;;) {
                  const { done, value } = await reader.read();
                  if (done) break;
                  released += value.length;
                }
              } catch (e) {
                code = isS3sealError(e) ? e.code : String(e);
              }
              return { sealedByWorker, openedByWorker, onWasm: same(onWasm), onWorker: same(onWorker), code, released };
            } finally {
              Worker.prototype.postMessage = post;
            }
          });
        const running = await page.evaluate(() => window.s3seal.cipherWorkers(1));
        assert(running === 1, `cipher workers running: ${running}`);
        const got = await roundTrip();
        assert(got.sealedByWorker > 0 && got.openedByWorker > 0, `the worker took part: ${JSON.stringify(got)}`);
        assert(got.onWasm && got.onWorker, `round trips: ${JSON.stringify(got)}`);
        assert(got.code === "Corrupt", `tampered segment: ${got.code}`);
        // Verified segments come out a push at a time: some of 0-4, never 5 on.
        assert(got.released > 0 && got.released <= 262088 + 4 * 262128, `released only segments before 5 (${got.released})`);

        // Changing the count while a seal has blocks at the worker: it finishes them.
        const midway = await page.evaluate(async () => {
          const { Key, seal, open, cipherWorkers } = window.s3seal;
          const key = Key.generate();
          const data = new Uint8Array(24 * 262128).map((_, i) => (i * 5) & 0xff);
          const reader = seal(data, { key }).stream.getReader();
          const pieces = [(await reader.read()).value];
          const changed = cipherWorkers(0);
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            pieces.push(value);
          }
          await changed;
          const sealed = new Uint8Array(await new Blob(pieces).arrayBuffer());
          const back = new Uint8Array(await new Response(open(sealed, key, { engine: "wasm" }).stream).arrayBuffer());
          await cipherWorkers(1);
          return back.length === data.length && back.every((v, i) => v === data[i]);
        });
        assert(midway, "a seal running while cipherWorkers(0) was called");

        cipherWorkerScript = "hidden";
        try {
          const none = await page.evaluate(() => window.s3seal.cipherWorkers(1));
          assert(none === 0, `a worker whose script is missing runs: ${none}`);
          const alone = await roundTrip();
          assert(alone.sealedByWorker === 0 && alone.openedByWorker === 0, `nothing went to a worker: ${JSON.stringify(alone)}`);
          assert(alone.onWasm && alone.onWorker && alone.code === "Corrupt", `without the worker: ${JSON.stringify(alone)}`);
        } finally {
          cipherWorkerScript = "real";
          await page.evaluate(() => window.s3seal.cipherWorkers(1));
        }

        // A worker that dies mid-call: the calls it had fail as `Engine`, never
        // as `Corrupt` (the bytes are fine), and later calls run on this thread.
        cipherWorkerScript = "dying";
        try {
          const died = await page.evaluate(async () => {
            const { Key, seal, open, cipherWorkers, isS3sealError } = window.s3seal;
            const drain = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());
            // Read by hand: a Response reading an errored stream says only "Failed to fetch".
            const failure = async (stream) => {
              try {
                const reader = stream.getReader();
                while (!(await reader.read()).done);
                return "no error";
              } catch (e) {
                return isS3sealError(e) ? e.code : `not an S3sealError: ${e}`;
              }
            };
            const key = Key.generate();
            const data = new Uint8Array(24 * 262128).map((_, i) => (i * 7) & 0xff);
            const sealed = await drain(seal(data, { key, engine: "wasm" }).stream);
            const started = await cipherWorkers(1);
            const openFailed = await failure(open(sealed, key).stream);
            const reopened = await drain(open(sealed, key).stream);
            const again = await cipherWorkers(1);
            const sealFailed = await failure(seal(data, { key }).stream);
            const resealed = await drain(seal(data, { key }).stream);
            const back = await drain(open(resealed, key, { engine: "wasm" }).stream);
            const same = (b) => b.length === data.length && b.every((v, i) => v === data[i]);
            return { started, again, openFailed, sealFailed, reopened: same(reopened), resealed: same(back) };
          });
          assert(died.started === 1 && died.again === 1, `dying workers started: ${JSON.stringify(died)}`);
          assert(died.openFailed === "Engine", `open with a dying cipher worker: ${died.openFailed}`);
          assert(died.sealFailed === "Engine", `seal with a dying cipher worker: ${died.sealFailed}`);
          assert(died.reopened && died.resealed, `after the worker died: ${JSON.stringify(died)}`);
        } finally {
          cipherWorkerScript = "real";
          await page.evaluate(() => window.s3seal.cipherWorkers(1));
        }
        const bad = await page.evaluate(() => {
          try {
            window.s3seal.cipherWorkers(-1);
            return "no error";
          } catch (e) {
            return e.code;
          }
        });
        assert(bad === "InvalidInput", `cipherWorkers(-1): ${bad}`);
      },
    ],
    [
      "form mode: the receipt's SHA-256 is taken in the package's hash worker, on the sealing thread where that cannot start, and a worker that dies fails the upload as Engine before anything is stored",
      async () => {
        const pub = execFileSync(bin, ["keygen", "--identity", "-o", path.join(work, "hash.identity")], { encoding: "utf8" }).trim();
        const size = 10 << 20; // above the hash worker's 8 MiB, one PUT
        const bytes = randomBytes(size);
        writeFileSync(path.join(work, "hash-input.bin"), bytes);
        /** A fresh page (a fresh hasher) uploads the file to the test's PUT route, twice. */
        const formUploads = async () => {
          const fresh = await chrome.newPage();
          try {
            await fresh.goto(`${server.url}/tests/e2e/harness.html`);
            await fresh.waitForFunction(() => document.title === "ready", null, { timeout: 20000 });
            return await fresh.evaluate(
              async ({ pub }) => {
                const { upload, isS3sealError } = window.s3seal;
                const file = new File([await (await fetch("/hash-input")).arrayBuffer()], "in.bin");
                const presign = (req) => ({ method: "PUT", url: `/upload?name=${req.object}`, headers: {} });
                const once = () =>
                  upload(file, { recipient: pub, presign }).then(
                    (r) => ({ sha256: r.sha256, objectName: r.objectName }),
                    (e) => ({ code: isS3sealError(e) ? e.code : `not an S3sealError: ${e}`, message: e.message }),
                  );
                return [await once(), await once()];
              },
              { pub },
            );
          } finally {
            await fresh.close();
          }
        };
        const want = sha256(bytes);

        hashWorkerFetches = 0;
        const [real, again] = await formUploads();
        assert(real.sha256 === want && again.sha256 === want, `receipts: ${JSON.stringify([real, again])}`);
        assert(uploads.has(real.objectName) && uploads.has(again.objectName), "both stored");
        assert(hashWorkerFetches === 1, `one hash worker for both uploads: fetched ${hashWorkerFetches} times`);

        hashWorkerScript = "hidden";
        try {
          hashWorkerFetches = 0;
          const [alone] = await formUploads();
          assert(hashWorkerFetches === 1 && alone.sha256 === want, `without the worker: ${JSON.stringify(alone)}`);
        } finally {
          hashWorkerScript = "real";
        }

        hashWorkerScript = "dying";
        try {
          const stored = uploads.size;
          const [died, after] = await formUploads();
          assert(died.code === "Engine" && /hash worker failed/.test(died.message), `with a dying hash worker: ${JSON.stringify(died)}`);
          assert(uploads.size === stored + 1, "nothing stored for the failed upload");
          assert(after.sha256 === want, `the next upload hashes on its own thread: ${JSON.stringify(after)}`);
        } finally {
          hashWorkerScript = "real";
        }
      },
    ],
    [
      "m1_opened_html_is_inert: openBlob, download and the Worker type opened bytes inertly; the sealed type stays in the metadata",
      async () => {
        const got = await page.evaluate(async () => {
          const { Key, WorkerClient, download, inertMediaType, openBlob, sandboxedMediaType, sealBlob } = window.s3seal;
          const key = Key.generate();
          const keyText = key.toText();
          const client = new WorkerClient(new Worker("/pkg/worker.js", { type: "module" }));
          const out = {};
          for (const type of ["text/html", "image/svg+xml", "image/png", "TEXT/HTML; charset=utf-8", "application/xhtml+xml", "application/pdf"]) {
            const body = new TextEncoder().encode("<script>document.title = 'script ran'</script>");
            const sealed = await sealBlob(new Blob([body]), { key, type, name: "x" });
            await fetch(`/upload?name=${sealed.objectName}`, { method: "PUT", body: sealed.blob });
            const opened = await openBlob(sealed.blob, key);
            const presign = async () => ({ method: "GET", url: `/stored?name=${sealed.objectName}`, headers: {} });
            const downloaded = await download(sealed.objectName, { key: sealed.fileKey, presign });
            const viaWorker = await client.open(sealed.blob, { keyText });
            sealed.fileKey.free();
            out[type] = {
              openBlob: opened.blob.type,
              download: downloaded.blob.type,
              worker: viaWorker.blob.type,
              metadata: [opened.metadata.type, downloaded.metadata.type, viaWorker.metadata.type],
              inert: typeof inertMediaType === "function" ? inertMediaType(type) : "not exported",
              // The Service Worker's sandboxed answers only: never a Blob's type.
              sandboxed: sandboxedMediaType(type),
            };
          }
          client.terminate();
          key.free();
          return out;
        });
        for (const [type, want] of [
          ["text/html", "application/octet-stream"],
          ["image/svg+xml", "application/octet-stream"],
          ["TEXT/HTML; charset=utf-8", "application/octet-stream"],
          ["application/xhtml+xml", "application/octet-stream"],
          ["image/png", "image/png"],
          ["application/pdf", "application/octet-stream"],
        ]) {
          const g = got[type];
          assert(g.openBlob === want && g.download === want && g.worker === want && g.inert === want, `${type}: ${JSON.stringify(g)}`);
          const served = type === "application/pdf" ? type : want;
          assert(g.sandboxed === served, `${type} in the Service Worker's answers: ${JSON.stringify(g)}`);
          assert(g.metadata.every((t) => t === type), `the sealed type is still reported as metadata: ${JSON.stringify(g)}`);
        }
      },
    ],
    [
      "passphraseStrength refuses guessable passphrases with a reason and passes six diceware words",
      async () => {
        const got = await page.evaluate(() => {
          const { passphraseStrength } = window.s3seal;
          return ["hunter2", "correct horse battery staple", "aaaaaaaaaaaaaaaaaaaaaaaaa", "", "tint cane avid buzz dart pond", "Tr0ub4dor&3xyzQ!"].map(passphraseStrength);
        });
        const [hunter, horse, aaa, empty, six, mixed] = got;
        assert(!hunter.strong && hunter.weakness === "Short" && hunter.bits < 40 && hunter.minimumBits === 72 && /too short/.test(hunter.reason), JSON.stringify(hunter));
        assert(!horse.strong && horse.weakness === "FewWords" && Math.abs(horse.bits - 51.6) < 0.11, JSON.stringify(horse));
        assert(!aaa.strong && aaa.weakness === "Repetitive", JSON.stringify(aaa));
        assert(!empty.strong && empty.weakness === "Empty", JSON.stringify(empty));
        assert(six.strong && six.weakness === null && six.reason === null && six.bits >= 77, JSON.stringify(six));
        assert(mixed.strong, JSON.stringify(mixed));
      },
    ],
    [
      "passphrase objects round-trip between browser and CLI",
      async () => {
        const name = await page.evaluate(async () => {
          const { Key, sealBlob } = window.s3seal;
          const key = Key.fromPassphrase("tint cane avid buzz dart pond");
          const sealed = await sealBlob(new File([new TextEncoder().encode("hello from a passphrase")], "p.txt"), { key });
          await fetch(`/upload?name=${sealed.objectName}`, { method: "PUT", body: sealed.blob });
          return sealed.objectName;
        });
        writeFileSync(path.join(work, name), uploads.get(name));
        const out = execFileSync(bin, ["open", path.join(work, name), "-o", "-", "--passphrase-env", "PW"], { env: { ...process.env, PW: "tint cane avid buzz dart pond" } });
        assert(out.toString() === "hello from a passphrase", out.toString());
      },
    ],
    [
      "issue 22: without WebCrypto (an insecure context has no crypto.subtle) the package falls back to the wasm engine, and what it seals opens with the CLI",
      async () => {
        const context = await chrome.newContext();
        // What an http page on another host gets: no SubtleCrypto at all.
        await context.addInitScript(() => Object.defineProperty(globalThis.crypto, "subtle", { get: () => undefined }));
        const bare = await context.newPage();
        try {
          await bare.goto(`${server.url}/tests/e2e/harness.html`);
          await bare.waitForFunction(() => window.s3seal !== undefined, null, { timeout: 20000 });
          const got = await bare.evaluate(async ({ keyText }) => {
            const { Key, openBlob, ready, sealBlob } = window.s3seal;
            await ready();
            const key = Key.fromText(keyText);
            const data = new Uint8Array(600_000).map((_, i) => (31 * i + 7) & 0xff);
            const sealed = await sealBlob(new File([data], "no-webcrypto.bin"), { key });
            const opened = await openBlob(sealed.blob, key);
            await fetch(`/upload?name=${sealed.objectName}`, { method: "PUT", body: sealed.blob });
            const same = new Uint8Array(await opened.blob.arrayBuffer()).every((b, i) => b === data[i]);
            return { subtle: typeof crypto.subtle, engine: sealed.engine, name: sealed.objectName, same, size: opened.blob.size };
          }, { keyText });
          assert(got.subtle === "undefined", "the page has no WebCrypto");
          assert(got.engine === "wasm", `fell back to the wasm engine: ${got.engine}`);
          assert(got.same && got.size === 600_000, JSON.stringify(got));
          const obj = path.join(work, got.name);
          writeFileSync(obj, uploads.get(got.name));
          const out = execFileSync(bin, ["open", obj, "-o", "-", "--key-file", path.join(work, "root.key")]);
          assert(sha256(out) === sha256(pattern(600_000)), "the CLI opens what the wasm engine sealed (signature and all)");
        } finally {
          await context.close();
        }
      },
    ],
  ]);
} finally {
  await chrome.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
