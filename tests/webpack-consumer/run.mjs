// Issue 21: the webpack 5 consumer path. `npm pack` the package, install the
// tarball with webpack into a throwaway app, build it with a config that
// only names the entry, and run the build in headless Chromium: the wasm
// loads, the cipher worker starts, and the package's Worker opens what the
// page sealed. Needs `make pkg` first.
import { copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createHash } from "node:crypto";

import { assert, browser, packPackage, pattern, putSink, run, serve, shell, watchHashWorker } from "../e2e/lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const app = mkdtempSync(path.join(tmpdir(), "s3seal-webpack-"));
const sh = shell(app);

try {
  await run([
    [
      "the tarball installs beside webpack 5 and builds with no loader",
      async () => {
        const tarball = packPackage(root, app);
        for (const f of ["package.json", "webpack.config.js", "src"]) cpSync(path.join(here, f), path.join(app, f), { recursive: true });
        sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./${tarball}`, "webpack@5.113.0", "webpack-cli@6.0.1"]);
        sh("npx", ["--no-install", "webpack"]);
        copyFileSync(path.join(here, "index.html"), path.join(app, "dist", "index.html"));
        const built = readdirSync(path.join(app, "dist"));
        assert(built.some((f) => f.endsWith(".wasm")), `webpack emitted the wasm: ${built}`);
      },
    ],
    [
      "the webpack build seals and opens in headless Chromium, with its cipher worker and the package's Worker",
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
          assert(got.text === "hello, webpack" && got.name === "hello.txt", text);
          assert(got.worker === "hello, webpack", `the package's Worker opened it: ${text}`);
          assert(got.workers === 1, `webpack shipped cipher-worker.js: ${text}`);
          // ...and hash-worker.js, which loads the wasm itself: a form-mode
          // receipt was hashed there (a worker that broke would be stopped).
          const want = createHash("sha256").update(pattern(9 << 20)).digest("hex");
          assert(got.receiptSha256 === want && sink.count === 1, `the receipt: ${got.receiptSha256}`);
          assert(hashWorker.started === 1 && hashWorker.closed === 0, `webpack shipped a working hash-worker.js: ${JSON.stringify(hashWorker)}`);
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
