// The example presign backends in docs/examples (boto3, AWS JS SDK v3, and
// the Express and FastAPI handlers built on them), held
// to the same rules as `s3seal serve`, against the local Garage: a session
// check, CORS for one origin only, a size cap that holds for PUT and
// multipart, and no overwrites. Run inside scripts/with-garage.sh with
// scripts/tools.sh sourced (make test-s3). Every backend listens on
// 127.0.0.1 and is stopped by PID.
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { assert, run, startExampleBackend } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TOKEN = randomBytes(24).toString("hex");
const ORIGIN = "http://127.0.0.1:8080"; // the page's origin the backends allow
const CAP = 1 << 20;

const start = (kind) => startExampleBackend(root, kind, { PRESIGN_TOKEN: TOKEN, ALLOWED_ORIGIN: ORIGIN, S3SEAL_MAX_SIZE: String(CAP) });

function sseC() {
  const key = randomBytes(32);
  return { algorithm: "AES256", key: key.toString("base64"), keyMd5: createHash("md5").update(key).digest("base64") };
}

const objectName = () => `${randomBytes(16).toString("hex")}.s3seal`;

async function ask(backend, request, headers = {}) {
  const res = await fetch(backend.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(request),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}

async function send(p, body) {
  const res = await fetch(p.url, { method: p.method, headers: p.headers, body });
  return { status: res.status, etag: res.headers.get("etag"), text: await res.text() };
}

function checks(kind) {
  let backend;
  const named = (what, fn) => [`${kind}: ${what}`, fn];
  return [
    named("starts", async () => {
      backend = await start(kind);
    }),
    named("h1: a caller without the session is refused", async () => {
      const r = await ask(backend, { op: "put", object: objectName(), sseC: sseC(), size: 10 }, { authorization: "" });
      assert(r.status === 401, `status ${r.status}`);
      const wrong = await ask(backend, { op: "put", object: objectName(), sseC: sseC(), size: 10 }, { authorization: `Bearer ${"x".repeat(48)}` });
      assert(wrong.status === 401, `status ${wrong.status}`);
    }),
    named("h1: CORS answers the page's origin only, never *", async () => {
      const ok = await ask(backend, { op: "put", object: objectName(), sseC: sseC(), size: 10 }, { origin: ORIGIN });
      assert(ok.status === 200 && ok.headers.get("access-control-allow-origin") === ORIGIN, `${ok.status} ${ok.headers.get("access-control-allow-origin")}`);
      const foreign = await ask(backend, { op: "put", object: objectName(), sseC: sseC(), size: 10 }, { origin: "http://evil.example" });
      assert(foreign.status === 403, `foreign origin: ${foreign.status}`);
      assert(!foreign.headers.get("access-control-allow-origin"), "no CORS grant for a foreign origin");
    }),
    named("h1: a write over an existing object is refused", async () => {
      const name = objectName();
      const key = sseC();
      const first = await ask(backend, { op: "put", object: name, sseC: key, size: 10 });
      assert(first.status === 200 && first.body.headers["if-none-match"] === "*", JSON.stringify(first.body));
      assert((await send(first.body, randomBytes(10))).status === 200, "first PUT");
      const again = await ask(backend, { op: "put", object: name, sseC: sseC(), size: 10 });
      assert(again.status === 409, `second PUT presign: ${again.status}`);
    }),
    named("l10: the size cap holds for PUT", async () => {
      const over = await ask(backend, { op: "put", object: objectName(), sseC: sseC(), size: CAP + 1 });
      assert(over.status === 403, `over the cap: ${over.status}`);
      const name = objectName();
      const key = sseC();
      const small = await ask(backend, { op: "put", object: name, sseC: key, size: 10 });
      // S3 refuses a longer body than signed, and may close the connection
      // before the client has sent it all (fetch then fails): either way
      // nothing may be stored under the name.
      const sent = await send(small.body, randomBytes(CAP)).catch((e) => ({ status: `connection closed (${e.cause?.code ?? e.message})` }));
      assert(typeof sent.status === "string" || (sent.status >= 400 && sent.status < 500), `a longer body than signed: ${sent.status}`);
      const get = await ask(backend, { op: "get", object: name, sseC: key });
      assert((await send(get.body)).status === 404, "nothing was stored");
    }),
    named("l10: the size cap holds for multipart (parts within it, the total over it)", async () => {
      const name = objectName();
      const key = sseC();
      const created = await ask(backend, { op: "createMultipart", object: name, sseC: key, size: CAP });
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec((await send(created.body)).text)[1];
      for (const partNumber of [1, 2, 3]) {
        const part = await ask(backend, { op: "uploadPart", object: name, sseC: key, size: CAP, uploadId, partNumber });
        assert(part.status === 200, `part ${partNumber}: ${part.status}`);
        assert((await send(part.body, randomBytes(CAP))).status === 200, `part ${partNumber} stored`);
      }
      const done = await ask(backend, { op: "completeMultipart", object: name, uploadId, size: CAP });
      assert(done.status === 403, `completion over the cap: ${done.status} ${JSON.stringify(done.body)}`);
    }),
    named("stops", async () => {
      await backend.stop();
    }),
  ];
}

await run([...checks("boto3"), ...checks("aws-sdk"), ...checks("express"), ...checks("fastapi")]);
