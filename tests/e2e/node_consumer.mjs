// Issue 21: the npm package as a Node (>= 20) program uses it, with no
// bundler: `npm pack`, install the tarball into an empty directory, and run
// a script there that seals and opens in memory, uploads (one PUT and
// multipart) and downloads through `s3seal serve` against Garage, and
// uploads to a recipient (an HR inbox processor's way). The CLI then opens
// what Node uploaded, byte-identical. Needs `make pkg` and Garage
// (scripts/with-garage.sh).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { assert, packPackage, run, shell, startServe } from "./lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.S3SEAL_BIN ?? path.join(root, "target/debug/s3seal");
const app = mkdtempSync(path.join(tmpdir(), "s3seal-node-"));
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const sh = shell(app);

const serve = await startServe(bin, root);
const identity = path.join(app, "org.identity");
const recipient = execFileSync(bin, ["keygen", "--identity", "-o", identity]).toString().trim();

try {
  await run([
    [
      "the packed package installs into a plain Node project",
      async () => {
        const tarball = packPackage(root, app);
        writeFileSync(path.join(app, "package.json"), JSON.stringify({ private: true, type: "module" }));
        sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./${tarball}`]);
      },
    ],
    [
      "a Node script seals, opens, uploads and downloads with the package, and the CLI opens its upload",
      async () => {
        const big = randomBytes(20 * 1024 * 1024 + 3);
        writeFileSync(path.join(app, "big.bin"), big);
        writeFileSync(
          path.join(app, "inbox.mjs"),
          `
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { Key, download, openBlob, presignWith, ready, sealBlob, upload } from "s3seal";
const sha = async (blob) => createHash("sha256").update(new Uint8Array(await blob.arrayBuffer())).digest("hex");
await ready();
const presign = presignWith(process.argv[2] + "/api/presign");
const key = Key.generate();
const small = await sealBlob(new Blob(["hello from Node"]), { key, name: "hello.txt", type: "text/plain" });
const opened = await openBlob(small.blob, key);
const file = new File([readFileSync("big.bin")], "big.bin");
let progress = 0;
const up = await upload(file, { key, presign, partSize: 5 * 1024 * 1024, onProgress: (p) => (progress = p.bytesSent) });
const down = await download(up.objectName, { key, presign });
const put = await upload(new Blob(["one PUT"]), { key, presign, name: "put.txt" });
const putBack = await download(put.objectName, { key, presign });
const receipt = await upload(file, { recipient: process.argv[3], presign });
console.log(JSON.stringify({
  small: await opened.blob.text(), smallName: opened.metadata.name,
  objectName: up.objectName, size: up.size, progress, engine: up.engine,
  down: await sha(down.blob), downName: down.metadata.name,
  put: await putBack.blob.text(),
  fileKey: up.fileKey.toText(),
  receipt,
}));
`,
        );
        const out = spawnSync("node", ["inbox.mjs", serve.url, recipient], { cwd: app, encoding: "utf8", timeout: 180000 });
        assert(out.status === 0, `node: ${out.status} ${out.stderr}`);
        const got = JSON.parse(out.stdout.trim().split("\n").pop());
        assert(got.small === "hello from Node" && got.smallName === "hello.txt", JSON.stringify(got));
        assert(got.down === sha256(big) && got.downName === "big.bin", "downloaded byte-identical");
        assert(got.progress === got.size, `progress reached the whole object: ${got.progress} of ${got.size}`);
        assert(got.put === "one PUT", got.put);
        assert(got.receipt.sha256 === sha256(big) && got.receipt.plaintextSize === big.length, JSON.stringify(got.receipt));
        assert(/^[0-9a-f]{32}\.[0-9a-f]{64}\.s3seal$/.test(got.receipt.objectName), got.receipt.objectName);

        // The CLI opens Node's multipart upload from the share key alone.
        writeFileSync(path.join(app, "file.key"), got.fileKey);
        const sse = JSON.parse(execFileSync(bin, ["sse-c", got.objectName, "--json", "--key-file", path.join(app, "file.key")]).toString());
        const stored = path.join(app, "stored.s3seal");
        execFileSync("python3", [path.join(root, "tests/e2e/s3check.py"), "get", `uploads/${got.objectName}`, sse["x-amz-server-side-encryption-customer-key"], stored]);
        const opened = spawnSync(bin, ["open", stored, "-o", "-", "--key-file", path.join(app, "file.key"), "--object-name", got.objectName], { maxBuffer: 64 << 20 });
        assert(opened.status === 0, `open: ${opened.stderr}`);
        assert(sha256(opened.stdout) === sha256(big), "the CLI opened Node's upload byte-identical");
        const pending = execFileSync("python3", [path.join(root, "tests/e2e/s3check.py"), "pending", `uploads/${got.objectName}`]).toString().trim();
        assert(pending === "0", `no incomplete multipart upload left: ${pending}`);
        // And the recipient's pull opens the receipt's object with the same SHA-256.
        const inbox = path.join(app, "inbox");
        const env = { ...process.env, AWS_ENDPOINT_URL: process.env.S3SEAL_ENDPOINT, AWS_REGION: process.env.S3SEAL_REGION };
        const pull = spawnSync(bin, ["pull", "--identity", identity, "--bucket", process.env.S3SEAL_BUCKET, "--prefix", `uploads/${got.receipt.objectName}`, "--out", inbox], { env, encoding: "utf8", timeout: 120000 });
        assert(pull.status === 0 && pull.stdout.includes(`sha256 ${got.receipt.sha256}`), `${pull.stdout} ${pull.stderr}`);
        assert(sha256(readFileSync(path.join(inbox, got.receipt.objectName.slice(0, 32), "big.bin"))) === sha256(big), "pulled byte-identical");
      },
    ],
  ]);
} finally {
  await serve.stop();
}
