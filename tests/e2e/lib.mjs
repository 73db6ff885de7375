// Shared helpers of the browser tests: a loopback static server, headless
// Chromium through playwright-core, and a tiny runner that prints
// "N passed, N failed". Tools come from scripts/tools.sh ($S3SEAL_TOOLS).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, promises as fs, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const tools = process.env.S3SEAL_TOOLS ?? path.join(process.env.HOME, ".cache/s3seal-tools");
const require = createRequire(path.join(tools, "node_modules", "noop.js"));
const { chromium } = require("playwright-core");

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".css": "text/css",
};

/** Serves `root` on 127.0.0.1 (random port). `routes` handle extra paths first. */
export async function serve(root, routes = {}) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      const handler = routes[`${req.method} ${url.pathname}`] ?? routes[url.pathname];
      if (handler) return await handler(req, res, url);
      const file = path.join(root, decodeURIComponent(url.pathname));
      if (!file.startsWith(root)) return res.writeHead(403).end();
      const stat = await fs.stat(file).catch(() => null);
      if (!stat?.isFile()) return res.writeHead(404).end("not found");
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "content-length": stat.size,
      });
      createReadStream(file).pipe(res);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** A route that takes upload bodies and keeps only their count. */
export function putSink() {
  const sink = { count: 0 };
  sink.route = async (req, res) => {
    await body(req);
    sink.count++;
    res.writeHead(204).end();
  };
  return sink;
}

/** Watches `page` for the package's hash worker (named "s3seal-hash" in
 * every bundler's output): how many started, and how many stopped since (a
 * worker that breaks is stopped at once; a working one after 10 s idle). */
export function watchHashWorker(page) {
  const seen = { started: 0, closed: 0 };
  page.on("worker", async (worker) => {
    const name = await worker.evaluate(() => self.name).catch(() => "");
    if (name !== "s3seal-hash") return;
    seen.started++;
    worker.on("close", () => seen.closed++);
  });
  return seen;
}

/** Reads a request body into a Buffer. */
export async function body(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return Buffer.concat(parts);
}

const CHROMIUM_OPTIONS = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

/** Launches headless Chromium (Debian's) with the flags this machine needs. */
export async function browser() {
  return chromium.launch(CHROMIUM_OPTIONS);
}

/** Chromium with a profile kept in `dir` (not incognito: storage quotas
 * are the disk's, as for a user). Resolves to its one BrowserContext. */
export async function persistentBrowser(dir, options = {}) {
  return chromium.launchPersistentContext(dir, { ...CHROMIUM_OPTIONS, ...options });
}


/** Runs named async tests in order; prints a closing "N passed, N failed". */
export async function run(tests) {
  let passed = 0;
  let failed = 0;
  // S3SEAL_E2E_ONLY=text runs only the tests whose name contains it, or one
  // of its |-separated parts (for development).
  const only = process.env.S3SEAL_E2E_ONLY?.split("|");
  for (const [name, fn] of tests.filter(([name]) => !only || only.some((o) => name.includes(o)))) {
    const started = Date.now();
    try {
      await fn();
      passed++;
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}\n     ${err?.stack ?? err}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  // A suite that ran nothing proves nothing.
  if (failed || passed === 0) process.exitCode = 1;
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** The plaintext pattern of the vectors: byte i = (31·i + 7) mod 256. */
export function pattern(n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (31 * i + 7) & 0xff;
  return out;
}

/** A one-page PDF, as small as a viewer still shows. */
export const MINIMAL_PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

/** A PDF of `objects` (the bodies of objects 1, 2, …; 1 is the catalog)
 * with its cross-reference table. */
export function pdfOf(objects) {
  let out = "%PDF-1.4\n";
  const offsets = objects.map((body, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((at) => `${String(at).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<</Size ${objects.length + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/** Drawn: a black square on a white 200 pt page. Hostile: a script that
 * runs when the document opens, and a link, both of which a viewer that
 * acts on them would act on with the origin it runs in. */
const SQUARE = "0 0 0 rg 50 50 100 100 re f";
export const HOSTILE_PDF_OBJECTS = [
  "<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert\\('ran'\\); this.submitForm\\('http://127.0.0.1:9/'\\))>>>>",
  "<</Type/Pages/Kids[3 0 R]/Count 1>>",
  "<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Annots[<</Type/Annot/Subtype/Link/Rect[0 0 200 200]/A<</S/URI/URI(http://127.0.0.1:9/)>>>>]>>",
  `<</Length ${SQUARE.length}>>\nstream\n${SQUARE}\nendstream`,
];
export const HOSTILE_PDF = pdfOf(HOSTILE_PDF_OBJECTS);

/** HOSTILE_PDF's page, then a 66 MiB stream that no page uses: larger than
 * the page opens whole, and drawn from a few ranges at its start and end. */
export function largeHostilePdf() {
  const size = 66 << 20;
  return pdfOf([...HOSTILE_PDF_OBJECTS, `<</Length ${size}>>\nstream\n${randomBytes(size).toString("latin1")}\nendstream`]);
}

/** In the PDF viewer's frame (passed to a frame's evaluate, or as source
 * to WebDriver in that frame): what pdf.js drew of HOSTILE_PDF (the
 * square's centre and a corner, as RGBA), and what code running there, as
 * a hostile PDF's might, could reach: the page, storage, and `outside` (a
 * `tally()`'s URL) by fetch and by image. */
export async function viewerReach(outside) {
  const canvas = document.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const pixel = (x, y) => [...ctx.getImageData(Math.floor(canvas.width * x), Math.floor(canvas.height * y), 1, 1).data];
  const tries = async (fn) => {
    try {
      await fn();
      return "reached";
    } catch (err) {
      return err.name;
    }
  };
  return {
    origin: self.origin,
    centre: pixel(0.5, 0.5),
    corner: pixel(0.05, 0.05),
    parentDocument: await tries(() => parent.document.title),
    storage: await tries(() => localStorage.length),
    cookie: await tries(() => document.cookie),
    fetch: await tries(() => fetch(`${outside}fetch`, { mode: "no-cors" })),
    image: await new Promise((done) => Object.assign(new Image(), { onload: () => done("reached"), onerror: () => done("blocked"), src: `${outside}image` })),
  };
}

/** `viewerReach()`'s answer: pdf.js drew the page, in an opaque origin that reaches nothing. */
export function assertViewerDrewAndReachedNothing(inside) {
  assert(inside.origin === "null", `the viewer runs in an opaque origin: ${inside.origin}`);
  assert(inside.centre.join() === "0,0,0,255" && inside.corner.join() === "255,255,255,255", `pdf.js drew the page: ${JSON.stringify(inside)}`);
  for (const what of ["parentDocument", "storage", "cookie", "fetch", "image"]) assert(inside[what] !== "reached", `code in the viewer reached ${what}: ${JSON.stringify(inside)}`);
}

/** An HTTP listener on 127.0.0.1 (an origin apart from the page's) that
 * answers anything and keeps the paths asked for: where an escaping
 * viewer would send. */
export async function tally() {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(200, { "content-type": "text/html", "access-control-allow-origin": "*" }).end("<p>reached</p>");
  });
  // A browser's preconnect may hold a socket open with no request on it:
  // close() ends those too, or it would wait for the browser to.
  const sockets = new Set();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    hits,
    close: () => new Promise((r) => (server.close(r), sockets.forEach((s) => s.destroy()))),
  };
}

/** A 12 s WebM (VP8, a key frame every second: what a seek lands on) at `file`, made by ffmpeg. */
export function makeClip(file) {
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "12", "-c:v", "libvpx", "-b:v", "3M", "-g", "25", file]);
}

/** In the page (passed to page.evaluate, or as source to WebDriver): plays
 * `url` muted in a new <video>, seeks to the middle and plays on; resolves
 * to { duration, played, afterSeek, playedOn } or { error }. */
export async function playAndSeek(url) {
  const v = document.createElement("video");
  v.muted = true;
  v.src = url;
  document.body.append(v);
  const once = (name) =>
    new Promise((ok, fail) => {
      v.addEventListener(name, ok, { once: true });
      v.addEventListener("error", () => fail(new Error(`video error ${v.error?.code}: ${v.error?.message}`)), { once: true });
    });
  try {
    await once("loadedmetadata");
    await v.play();
    await new Promise((ok) => setTimeout(ok, 500));
    const played = v.currentTime;
    v.currentTime = v.duration / 2;
    await once("seeked");
    const afterSeek = v.currentTime;
    await new Promise((ok) => setTimeout(ok, 700));
    const playedOn = v.currentTime;
    v.pause();
    return { duration: v.duration, played, afterSeek, playedOn };
  } catch (err) {
    return { error: String(err) };
  }
}

/** `s3seal serve` (binary `bin`) on a free loopback port with the page and
 * package of `root`; resolves to { url, log, stop } (stopped by PID). */
export async function startServe(bin, root, extraEnv = {}) {
  const { spawn } = await import("node:child_process");
  const child = spawn(bin, ["serve"], {
    env: { ...process.env, S3SEAL_LISTEN: "127.0.0.1:0", S3SEAL_WWW: path.join(root, "www"), S3SEAL_PKG: path.join(root, "pkg"), ...extraEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return listening(child, "serve");
}

/** Resolves, once `child` prints "listening on http://127.0.0.1:PORT" on
 * stderr, to { url, log, stop } (stop: by PID, at most once); rejects if it
 * exits first. */
function listening(child, what) {
  let log = "";
  const stop = () => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : (child.once("exit", r), process.kill(child.pid))));
  return new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      log += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) resolve({ url: m[1], log: () => log, stop });
    });
    child.once("exit", (code) => reject(new Error(`${what} exited ${code}: ${log}`)));
  });
}

/** A free TCP port on 127.0.0.1 (for a server whose URL must be known before it starts). */
export async function freePort() {
  const { createServer: createTcpServer } = await import("node:net");
  const server = createTcpServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** A presign backend from docs/examples ("boto3", "aws-sdk", "express" or "fastapi") on a free
 * loopback port, with `env` (PRESIGN_TOKEN, ALLOWED_ORIGIN, …); resolves to
 * { url, log, stop } (stopped by PID). The AWS SDK example runs beside the tools'
 * node_modules, where the SDK is. */
export async function startExampleBackend(root, kind, env = {}) {
  const { spawn } = await import("node:child_process");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const childEnv = { ...process.env, ...env };
  let child;
  if (kind === "boto3") {
    child = spawn("python3", [path.join(root, "docs/examples/presign_boto3.py"), "127.0.0.1:0"], { env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
  } else if (kind === "fastapi") {
    child = spawn("python3", [path.join(root, "docs/examples/presign_fastapi.py"), "127.0.0.1:0"], { env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
  } else if (kind === "express") {
    // Beside the tools' node_modules, where express and the SDK are.
    for (const f of ["presign-aws-sdk.mjs", "presign-express.mjs"]) writeFileSync(path.join(tools, f), readFileSync(path.join(root, "docs/examples", f)));
    child = spawn("node", [path.join(tools, "presign-express.mjs"), "127.0.0.1:0"], { env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
  } else {
    writeFileSync(path.join(tools, "presign-aws-sdk.mjs"), readFileSync(path.join(root, "docs/examples/presign-aws-sdk.mjs")));
    writeFileSync(
      path.join(tools, "presign-aws-sdk-server.mjs"),
      `import { createServer } from "node:http";
       import { handler } from "./presign-aws-sdk.mjs";
       const server = createServer(handler({ allowedOrigin: process.env.ALLOWED_ORIGIN }));
       server.listen(0, "127.0.0.1", () => console.error("listening on http://127.0.0.1:" + server.address().port));`,
    );
    child = spawn("node", [path.join(tools, "presign-aws-sdk-server.mjs")], { env: childEnv, stdio: ["ignore", "ignore", "pipe"] });
  }
  const backend = await listening(child, `${kind} backend`);
  // The framework handlers answer where an app mounts them.
  return ["express", "fastapi"].includes(kind) ? { ...backend, url: `${backend.url}/api/presign` } : backend;
}

/** A runner of commands in `cwd` that returns their output and, when one
 * fails, throws with what it printed (for the consumer tests). */
export function shell(cwd) {
  return (cmd, args, at = cwd) => {
    try {
      return execFileSync(cmd, args, { cwd: at, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    } catch (err) {
      throw new Error(`${cmd} ${args.join(" ")} failed:\n${err.stdout}${err.stderr}`);
    }
  };
}

/** `npm pack`s the package of `root` into `dir`; returns the tarball's name. */
export function packPackage(root, dir) {
  shell(root)("npm", ["pack", "--pack-destination", dir, "--silent", path.join(root, "pkg")]);
  return readdirSync(dir).find((f) => f.endsWith(".tgz"));
}
