// Issue 21: s3seal/uppy in the React example (examples/react-form), built as
// its users build it: the packed package installed beside React, Uppy and
// Vite from npm, `vite build`, and the build served by `s3seal serve` in
// form mode against Garage. In headless Chromium the Uppy Dashboard takes
// three files (one of multipart size), seals them to HR's public key and
// uploads them; the receipts match the files, and `pull --identity` opens
// each byte-identical. Cancelling a multipart upload mid-way leaves no
// incomplete upload in the bucket. Needs `make pkg` and Garage.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { assert, browser, packPackage, run, shell, startServe } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.S3SEAL_BIN ?? path.join(root, "target/debug/s3seal");
const app = mkdtempSync(path.join(tmpdir(), "s3seal-react-form-"));
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const sh = shell(app);
const s3check = (...args) => execFileSync("python3", [path.join(root, "tests/e2e/s3check.py"), ...args], { encoding: "utf8" }).trim();

/** Incomplete multipart uploads of `key` once they settle (parts in
 * flight at an abort may land after it), at most 10 s. */
async function pendingSettled(key) {
  let pending = s3check("pending", key);
  for (let i = 0; i < 20 && pending !== "0"; i++) {
    await new Promise((r) => setTimeout(r, 500));
    pending = s3check("pending", key);
  }
  return pending;
}

const identity = path.join(app, "hr.identity");
const recipient = execFileSync(bin, ["keygen", "--identity", "-o", identity], { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
let serve;
let chrome;

async function fillForm(page) {
  await page.goto(`${serve.url}/`);
  await page.waitForSelector(".uppy-Dashboard", { timeout: 20000 });
  await page.fill("#name", "Ada Lovelace");
  await page.fill("#email", "ada@example.com");
  await page.fill("#position", "Engineer");
}

try {
  await run([
    [
      "the React example builds with the packed package, React, Uppy and Vite from npm",
      async () => {
        cpSync(path.join(root, "examples/react-form"), app, {
          recursive: true,
          filter: (src) => !/node_modules|dist/.test(path.relative(path.join(root, "examples/react-form"), src)),
        });
        const tarball = packPackage(root, app);
        const pkg = JSON.parse(readFileSync(path.join(app, "package.json"), "utf8"));
        pkg.dependencies.s3seal = `file:./${tarball}`;
        writeFileSync(path.join(app, "package.json"), JSON.stringify(pkg, null, 2));
        sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"]);
        sh("npx", ["--no-install", "vite", "build", "--logLevel", "warn"]);
        serve = await startServe(bin, root, { S3SEAL_WWW: path.join(app, "dist"), S3SEAL_RECIPIENT: recipient });
        chrome = await browser();
      },
    ],
    [
      "three files and the form go up sealed to HR through the Uppy Dashboard; the receipts match and pull opens each byte-identical",
      async () => {
        const files = { "cv.pdf": randomBytes(300_000), "letter.txt": Buffer.from("Dear HR,\n"), "portfolio.zip": randomBytes(21 * 1024 * 1024) };
        const dir = mkdtempSync(path.join(app, "in-"));
        for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
        const page = await chrome.newPage();
        try {
          await fillForm(page);
          await page.setInputFiles(".uppy-Dashboard-input >> nth=0", Object.keys(files).map((f) => path.join(dir, f)));
          await page.click("#submit");
          await page.waitForSelector("#receipts", { timeout: 120000 });
          const receipts = JSON.parse(await page.textContent("#receipts"));
          const status = await page.textContent(".uppy-StatusBar");
          assert(/Complete/i.test(status), `the Dashboard shows the upload complete: ${status}`);
          assert(receipts.length === 4, `three files and the form: ${JSON.stringify(receipts)}`);
          for (const [name, bytes] of Object.entries(files)) {
            const r = receipts.find((x) => x.file === name);
            assert(r && r.sha256 === sha256(bytes) && r.plaintextSize === bytes.length, `${name}: ${JSON.stringify(r)}`);
            assert(/^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(r.objectName) && r.fileKey === undefined, "sealed to HR, no key kept");
          }
          const inbox = path.join(app, "inbox");
          const env = { ...process.env, AWS_ENDPOINT_URL: process.env.S3SEAL_ENDPOINT, AWS_REGION: process.env.S3SEAL_REGION };
          for (const r of receipts) {
            const pull = spawnSync(bin, ["pull", "--identity", identity, "--bucket", process.env.S3SEAL_BUCKET, "--prefix", `uploads/${r.objectName}`, "--out", inbox], { env, encoding: "utf8", timeout: 120000 });
            assert(pull.status === 0 && pull.stdout.includes(`sha256 ${r.sha256}`), `${r.file}: ${pull.stdout} ${pull.stderr}`);
            const got = readFileSync(path.join(inbox, r.objectName.slice(0, 32), r.file));
            if (files[r.file]) assert(sha256(got) === sha256(files[r.file]), `${r.file} pulled byte-identical`);
            else assert(JSON.parse(got.toString()).name === "Ada Lovelace", "the form's details arrive sealed too");
          }
        } finally {
          await page.close();
        }
      },
    ],
    [
      "cancelling a multipart upload mid-way in the Dashboard leaves no incomplete upload",
      async () => {
        const dir = mkdtempSync(path.join(app, "big-"));
        writeFileSync(path.join(dir, "big.bin"), randomBytes(64 * 1024 * 1024));
        const page = await chrome.newPage();
        try {
          await fillForm(page);
          await page.setInputFiles(".uppy-Dashboard-input >> nth=0", [path.join(dir, "big.bin")]);
          // Parts after the first are held on their way to S3 (a loopback
          // upload would finish before a click): the upload is mid-way.
          const held = [];
          await page.route(/[?&]partNumber=([2-9]|\d\d)\b/, (route) => void held.push(route));
          await page.click("#submit");
          for (let i = 0; i < 600 && held.length === 0; i++) await page.waitForTimeout(100);
          assert(held.length > 0, "a second part was sent");
          const part = new URL(held[0].request().url());
          // Path-style: /<bucket>/uploads/<object name>
          const key = decodeURIComponent(part.pathname).split("/").slice(2).join("/");
          assert(/^uploads\/[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(key), key);
          assert(s3check("pending", key) === "1", "the multipart upload was under way");
          await page.click(".uppy-StatusBar-actionCircleBtn[title='Cancel']");
          for (const route of held) route.continue().catch(() => {});
          const after = await pendingSettled(key);
          assert(after === "0", `the cancelled upload was aborted: ${after} incomplete`);
          // Stopped, not finished: no object under that name either.
          const stored = s3check("get-without-key", key);
          assert(stored === "404", `nothing was stored for the cancelled file: HTTP ${stored}`);
        } finally {
          await page.close();
        }
      },
    ],
  ]);
} finally {
  await chrome?.close();
  await serve?.stop();
  rmSync(app, { recursive: true, force: true });
}
