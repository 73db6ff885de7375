// The npm consumer path: `npm pack` the package, install the tarball into a
// throwaway Vite + TypeScript app, type-check it, build it, and run the build
// in headless Chromium. Needs `make pkg` first.
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createHash } from "node:crypto";

import { assert, browser, packPackage, pattern, putSink, run, serve, shell, watchHashWorker } from "../e2e/lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const app = mkdtempSync(path.join(tmpdir(), "s3seal-consumer-"));
const sh = shell(app);

try {
  await run([
    [
      "npm pack produces a tarball with the wasm, the typings and the worker",
      async () => {
        const listing = sh("tar", ["tzf", packPackage(root, app)]);
        for (const f of ["index.js", "index.d.ts", "codes.d.ts", "error.js", "blob.js", "worker.js", "worker.d.ts", "cipher.js", "cipher-worker.js", "engine.js", "hash.js", "hash-worker.js", "s3seal_wasm.js", "s3seal_wasm_bg.wasm", "README.md"]) {
          assert(listing.includes(`package/${f}`), `${f} in the tarball`);
        }
      },
    ],
    [
      "the tarball installs into a Vite + TypeScript app that type-checks (bundler and node16 resolution) and builds",
      async () => {
        for (const f of ["package.json", "tsconfig.json", "tsconfig.node16.json", "vite.config.js", "index.html", "src"]) {
          cpSync(path.join(here, f), path.join(app, f), { recursive: true });
        }
        const tarball = readdirSync(app).find((f) => f.endsWith(".tgz"));
        sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./${tarball}`, "typescript@5.9.3", "vite@7.3.1"]);
        sh("npx", ["--no-install", "tsc", "--noEmit"]);
        // The typings resolve the way Node itself resolves the package too.
        sh("npx", ["--no-install", "tsc", "--noEmit", "-p", "tsconfig.node16.json"]);
        sh("npx", ["--no-install", "vite", "build", "--logLevel", "warn"]);
        const assets = readdirSync(path.join(app, "dist", "assets"));
        assert(assets.some((f) => f.endsWith(".wasm")), `the build emitted the wasm: ${assets}`);
      },
    ],
    [
      "the built app seals and opens a file in headless Chromium",
      async () => {
        const sink = putSink();
        const server = await serve(path.join(app, "dist"), { "PUT /upload": sink.route });
        const chrome = await browser();
        try {
          const page = await chrome.newPage();
          const hashWorker = watchHashWorker(page);
          await page.goto(`${server.url}/index.html`);
          await page.waitForFunction(() => document.querySelector("#result")?.textContent !== "running", null, { timeout: 20000 });
          const text = await page.textContent("#result");
          const got = JSON.parse(text);
          assert(got.text === "hello, typed world", text);
          assert(got.name === "hello.txt" && got.type === "text/plain" && got.size === 18, text);
          assert(got.code === "WrongKey", text);
          assert(/^[0-9a-f]{32}\.s3seal$/.test(got.objectName), text);
          assert(got.sse === "AES256", text);
          assert(got.recipientText === "for the organisation", text);
          assert(/^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(got.recipientObjectName), text);
          assert(got.typo === "InvalidKey", text);
          // Vite found `new Worker(new URL("./cipher-worker.js", import.meta.url))` and shipped it.
          assert(got.cipherWorkers === 1, text);
          // ...and hash-worker.js, which loads the wasm itself: a form-mode
          // receipt was hashed there (a worker that broke would be stopped).
          const want = createHash("sha256").update(pattern(9 << 20)).digest("hex");
          assert(got.receiptSha256 === want && sink.count === 1, `the receipt: ${got.receiptSha256}`);
          assert(hashWorker.started === 1 && hashWorker.closed === 0, `Vite shipped a working hash-worker.js: ${JSON.stringify(hashWorker)}`);
        } finally {
          await chrome.close();
          await server.close();
        }
      },
    ],
  ]);
} finally {
  rmSync(app, { recursive: true, force: true });
}
