// The host page in the engines Playwright cannot bring here, Firefox ESR and
// WebKitGTK, through W3C WebDriver: `s3seal serve` (with its CSP) and a real
// S3 (local Garage), all on 127.0.0.1. Run inside scripts/with-garage.sh
// (make test-browsers). S3SEAL_ENGINES=firefox,webkit picks engines.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { HOSTILE_PDF, MINIMAL_PDF, assert, assertViewerDrewAndReachedNothing, largeHostilePdf, makeClip, playAndSeek, run, startServe, tally, viewerReach } from "./lib.mjs";
import { Session, scratch, startDriver } from "./webdriver.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.S3SEAL_BIN ?? path.join(root, "target/debug/s3seal");
const engines = (process.env.S3SEAL_ENGINES ?? "firefox,webkit").split(",").filter(Boolean);
const sha256 = (b) => createHash("sha256").update(b).digest("hex");
const work = scratch("s3seal-browsers-");

/** In the page: the SHA-256 (hex) and type of the opened file behind #save. */
async function savedFile() {
  const blob = await (await fetch(document.querySelector("#save").href)).blob();
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { sha256: hex, type: blob.type, size: blob.size, name: document.querySelector("#save").download };
}

const shown = (css) => `() => !document.querySelector(${JSON.stringify(css)}).hidden`;
const settled = (a, b) => `() => !document.querySelector(${JSON.stringify(a)}).hidden || !document.querySelector(${JSON.stringify(b)}).hidden`;

/** Uploads `bytes` as `name` through the page in a fresh session; resolves to the share link. */
async function uploadViaPage(driver, engine, page, name, bytes) {
  const session = await Session.create(driver, engine);
  try {
    const file = path.join(work.dir, name);
    writeFileSync(file, bytes);
    await session.goto(`${page.url}/`);
    await session.waitFor(shown("#send"), 20000);
    await session.type("#file", file);
    await session.waitFor("() => !document.querySelector('#upload').disabled", 10000);
    await session.click("#upload");
    await session.waitFor(settled("#result", "#error"), 180000);
    const error = await session.run("() => document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent");
    assert(!error, `upload failed: ${error}`);
    return await session.run("() => document.querySelector('#share-link').value");
  } finally {
    await session.close();
  }
}

/** Opens a share link in a fresh session; resolves to what #save holds and the address bar. */
async function receiveViaPage(driver, engine, link) {
  const session = await Session.create(driver, engine);
  try {
    await session.goto(link);
    await session.waitFor(shown("#receive"), 20000);
    const address = await session.url();
    await session.click("#open");
    await session.waitFor(settled("#opened", "#error"), 180000);
    const error = await session.run("() => document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent");
    assert(!error, `open failed: ${error}`);
    return { ...(await session.runAsync(savedFile.toString())), address };
  } finally {
    await session.close();
  }
}

/** A fresh session on `link` once its object opened, or failed to; the caller closes it. */
async function openedSession(driver, engine, link) {
  const session = await Session.create(driver, engine);
  try {
    await session.goto(link);
    await session.waitFor(shown("#receive"), 20000);
    await session.click("#open");
    await session.waitFor(settled("#opened", "#error"), 60000);
    return session;
  } catch (err) {
    await session.close();
    throw err;
  }
}

function engineTests(engine, state) {
  const t = (what, fn) => [`${engine}: ${what}`, fn];
  return [
    t("the driver starts", async () => {
      state.driver = await startDriver(engine);
    }),
    t("a 1 MB file goes up in one PUT and its share link opens it byte-identical in a fresh session", async () => {
      const bytes = randomBytes(1_000_000);
      const link = await uploadViaPage(state.driver, engine, state.page, "small.bin", bytes);
      assert(link.includes("#") && link.includes("s3seal-file-"), link);
      const got = await receiveViaPage(state.driver, engine, link);
      assert(got.sha256 === sha256(bytes), `byte-identical: ${JSON.stringify(got)}`);
      assert(got.name === "small.bin", got.name);
      assert(!got.address.includes("s3seal-file-"), `the key left the address bar: ${got.address}`);
    }),
    t("a 20 MiB file goes up in parts and opens byte-identical", async () => {
      const bytes = randomBytes(20 << 20);
      const link = await uploadViaPage(state.driver, engine, state.page, "parts.bin", bytes);
      const got = await receiveViaPage(state.driver, engine, link);
      assert(got.sha256 === sha256(bytes) && got.size === bytes.length, `byte-identical: ${JSON.stringify(got)}`);
    }),
    t("m1: an HTML file sealed as text/html opens as inert bytes", async () => {
      const html = Buffer.from("<!doctype html><script>document.title = 'ran'</script>");
      const link = await uploadViaPage(state.driver, engine, state.page, "report.html", html);
      const got = await receiveViaPage(state.driver, engine, link);
      assert(got.sha256 === sha256(html), "byte-identical");
      assert(got.type === "application/octet-stream", `opened bytes get an inert type: ${got.type}`);
    }),
    t("issue 20: three files behind one link, one download each: the list opens and saves every file byte-identical, once", async () => {
      const files = [
        ["one.txt", randomBytes(1000)],
        ["two.bin", randomBytes(3 << 20)],
        ["three.dat", randomBytes(10)],
      ];
      const up = await Session.create(state.driver, engine);
      let link;
      try {
        const paths = files.map(([name, bytes]) => (writeFileSync(path.join(work.dir, name), bytes), path.join(work.dir, name)));
        await up.goto(`${state.page.url}/`);
        await up.waitFor(shown("#share-terms"), 20000);
        // Several files to one multiple input: WebDriver takes them one per line.
        await up.type("#file", paths.join("\n"));
        await up.waitFor("() => /3 files/.test(document.querySelector('#drop-text').textContent)", 10000);
        await up.run("() => { document.querySelector('#downloads').value = '1'; }");
        await up.click("#upload");
        await up.waitFor(settled("#result", "#error"), 180000);
        const error = await up.run("() => document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent");
        assert(!error, `upload failed: ${error}`);
        link = await up.run("() => document.querySelector('#share-link').value");
      } finally {
        await up.close();
      }
      const open = async () => {
        const session = await Session.create(state.driver, engine);
        try {
          await session.goto(link);
          await session.waitFor(shown("#receive"), 20000);
          // Each saved file's bytes, as the page hands them to the browser.
          await session.run(`() => {
            window.saved = [];
            const make = URL.createObjectURL;
            URL.createObjectURL = (blob) => (window.saved.push(blob), make.call(URL, blob));
          }`);
          await session.click("#open");
          await session.waitFor(settled("#files", "#error"), 60000);
          const error = await session.run("() => document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent");
          if (error) return { error };
          await session.click("#save-all");
          await session.waitFor("() => /All saved/.test(document.querySelector('#save-all').textContent) || !document.querySelector('#error').hidden", 60000);
          return await session.runAsync(`async () => {
            const out = [];
            for (const blob of window.saved) {
              const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
              out.push(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""));
            }
            return { hashes: out, error: document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent };
          }`);
        } finally {
          await session.close();
        }
      };
      const first = await open();
      assert(!first.error, `opens: ${first.error}`);
      assert(JSON.stringify([...first.hashes].sort()) === JSON.stringify(files.map(([, b]) => sha256(b)).sort()), `every file byte-identical: ${first.hashes}`);
      const second = await open();
      assert(/DownloadLimit 410/.test(second.error ?? ""), `the second open is refused: ${second.error}`);
    }),
    t("issue 19: a large share opens streamed: the Service Worker serves its download byte-identical and exact ranges, verified", async () => {
      const bytes = randomBytes((64 << 20) + 4099);
      const link = await uploadViaPage(state.driver, engine, state.page, "large.bin", bytes);
      const session = await openedSession(state.driver, engine, link);
      try {
        const error = await session.run("() => document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent");
        assert(!error, `open failed: ${error}`);
        const title = await session.run("() => document.querySelector('#opened-title').textContent");
        assert(/verified as it is saved/.test(title), `the streamed card: ${title}`);
        // The download's bytes as the Service Worker streams them, and a
        // range across the first segment boundary.
        const seg = 256 * 1024;
        const got = await session.runAsync(`async (seg) => {
          const hex = async (buf) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
          const url = document.querySelector("#save").href;
          const whole = await fetch(url);
          const body = await whole.arrayBuffer();
          // (A save ignores Range; the same URL without ?download answers it.)
          const ranged = await fetch(url.replace("?download", ""), { headers: { range: "bytes=" + (seg - 100) + "-" + (seg + 99) } });
          return {
            status: whole.status, disposition: whole.headers.get("content-disposition"), size: body.byteLength, sha256: await hex(body),
            rangeStatus: ranged.status, range: await hex(await ranged.arrayBuffer()),
          };
        }`, seg);
        assert(got.status === 200 && /^attachment/.test(got.disposition ?? ""), `a download: ${got.status} ${got.disposition}`);
        assert(got.size === bytes.length && got.sha256 === sha256(bytes), `byte-identical: ${got.size} bytes`);
        assert(got.rangeStatus === 206 && got.range === sha256(bytes.subarray(seg - 100, seg + 100)), `exact range: ${got.rangeStatus}`);
        await session.waitFor(shown("#saved"), 20000);
      } finally {
        await session.close();
      }
    }),
    t("issue 19: a large file of a list streams through the Service Worker under the list's name, byte-identical", async () => {
      const dir = path.join(work.dir, `list-${engine}`);
      mkdirSync(path.join(dir, "media"), { recursive: true });
      writeFileSync(path.join(dir, "root.key"), execFileSync(bin, ["keygen"]).toString());
      const big = randomBytes((64 << 20) + 777);
      writeFileSync(path.join(dir, "media/film.mkv"), big);
      writeFileSync(path.join(dir, "small.txt"), randomBytes(300));
      const pushed = spawnSync(
        bin,
        ["push", "--quiet", "--key-file", "root.key", "--state-dir", "state", "--presign", `${state.page.url}/api/presign`,
         "--link", `${state.page.url}/`, "--manifest", "media/film.mkv", "small.txt"],
        { cwd: dir, encoding: "utf8", timeout: 120000 },
      );
      assert(pushed.status === 0, `push: ${pushed.stderr}`);
      const session = await Session.create(state.driver, engine);
      try {
        await session.goto(pushed.stdout.trim());
        await session.waitFor(shown("#receive"), 20000);
        // The browser's download manager is out of WebDriver's reach: the
        // page's navigation to the download is fetched instead, from the
        // same Service Worker, and hashed.
        await session.run(`() => {
          const click = HTMLAnchorElement.prototype.click;
          HTMLAnchorElement.prototype.click = function () {
            if (!this.href.includes("/s3seal/open/")) return click.call(this);
            window.fetched = fetch(this.href).then(async (r) => ({
              disposition: r.headers.get("content-disposition"),
              sha256: Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", await r.arrayBuffer())), (b) => b.toString(16).padStart(2, "0")).join(""),
            }));
          };
        }`);
        await session.click("#open");
        await session.waitFor(settled("#files", "#error"), 60000);
        await session.run(`() => [...document.querySelectorAll("#file-list li")].find((li) => li.firstChild.textContent.startsWith("media/film.mkv (")).querySelector("button").click()`);
        await session.waitFor("() => /Saved/.test([...document.querySelectorAll('#file-list button')][0].textContent + [...document.querySelectorAll('#file-list button')][1].textContent) || !document.querySelector('#error').hidden", 120000);
        const got = await session.runAsync(`async () => ({
          error: document.querySelector("#error").hidden ? null : document.querySelector("#error").textContent,
          ...(window.fetched ? await window.fetched : {}),
        })`);
        assert(!got.error, `save failed: ${got.error}`);
        assert(got.sha256 === sha256(big), `byte-identical: ${JSON.stringify(got)}`);
        assert(/^attachment/.test(got.disposition ?? "") && /film\.mkv/.test(got.disposition), `a download under the list's name: ${got.disposition}`);
      } finally {
        await session.close();
      }
    }),
    t("issue 19: a sealed WebM plays and seeks in a <video> through the package's Service Worker", async () => {
      const clip = path.join(work.dir, "clip.webm");
      makeClip(clip);
      const session = await Session.create(state.driver, engine);
      try {
        await session.goto(`${state.page.url}/`);
        await session.waitFor(shown("#send"), 20000);
        await session.type("#file", clip);
        await session.waitFor("() => document.querySelector('#file').files.length === 1", 10000);
        const url = await session.runAsync(`async () => {
          const s3seal = await import("/pkg/index.js");
          const client = new s3seal.WorkerClient(new Worker("/pkg/worker.js", { type: "module" }));
          const up = await client.upload(document.querySelector("#file").files[0], { newKey: true, presign: { endpoint: "/api/presign" } });
          const sw = await s3seal.registerServiceWorker("/pkg/sw.js", { scope: "/" });
          if (!sw) return null;
          const info = await client.inspect(up.objectName, { keyText: up.fileKey });
          window.exposed = await sw.expose(client, info);
          return window.exposed.url;
        }`);
        assert(url, "a Service Worker serves the page");
        const got = await session.runAsync(playAndSeek.toString(), url);
        assert(!got.error, got.error);
        assert(got.duration > 11 && Math.abs(got.afterSeek - got.duration / 2) < 1 && got.playedOn > got.afterSeek, JSON.stringify(got));
      } finally {
        await session.close();
      }
    }),
    t("issue 19: a sealed PDF is shown in place in Firefox's viewer, whose document is not the page's; in WebKit, whose viewer shows nothing in the sandbox, pdf.js draws it in a frame that reaches nothing", async () => {
      const link = await uploadViaPage(state.driver, engine, state.page, "report.pdf", engine === "webkit" ? HOSTILE_PDF : MINIMAL_PDF);
      const session = await openedSession(state.driver, engine, link);
      try {
        const opened = await session.run(`() => ({
          error: document.querySelector("#error").hidden ? null : document.querySelector("#error").textContent,
          type: document.querySelector("#opened-type").textContent,
          offered: !document.querySelector("#play").hidden,
          label: document.querySelector("#play").textContent,
        })`);
        assert(!opened.error && opened.type === "application/pdf", JSON.stringify(opened));
        if (engine === "webkit") {
          // Opened whole and verified; shown on request by pdf.js.
          assert(opened.offered && opened.label === "Show the PDF", JSON.stringify(opened));
          await session.click("#play");
          const note = await session.waitFor("() => /drawn as pictures|could not be drawn/.test(document.querySelector('#preview .note')?.textContent ?? '') && document.querySelector('#preview .note').textContent", 30000);
          assert(/^1 page, drawn as pictures/.test(note), note);
          assert(await session.run("() => document.querySelector('#preview iframe').contentDocument === null"), "the viewer's document is not the page's");
          const outside = await tally();
          await session.frame("#preview iframe");
          try {
            assertViewerDrewAndReachedNothing(await session.runAsync(viewerReach.toString(), outside.url));
            // It may navigate itself, but the page's frame-src keeps it home.
            await session.run("(url) => void (location.href = `${url}navigate`)", outside.url).catch(() => {});
            await new Promise((r) => setTimeout(r, 1500));
            assert(outside.hits.length === 0, `the viewer reached another origin: ${JSON.stringify(outside.hits)}`);
          } finally {
            await session.topFrame().catch(() => {});
            await outside.close();
          }
          return;
        }
        assert(opened.offered && /Show before saving/.test(opened.label), JSON.stringify(opened));
        await session.click("#play");
        // The viewer's document replaces the frame's first (same-origin) about:blank.
        await session.waitFor("() => document.querySelector('#preview iframe')?.contentDocument === null", 20000);
        const got = await session.runAsync(`async () => {
          const said = async (url) => {
            const r = await fetch(url, { method: "HEAD" });
            return { type: r.headers.get("content-type"), nosniff: r.headers.get("x-content-type-options"), csp: r.headers.get("content-security-policy") };
          };
          return { shown: await said(document.querySelector("#preview iframe").src), saved: await said(document.querySelector("#save").href) };
        }`);
        assert(got.shown.type === "application/pdf" && got.shown.nosniff === "nosniff" && /^sandbox;.*frame-ancestors 'self'$/.test(got.shown.csp ?? ""), JSON.stringify(got));
        assert(/frame-ancestors 'none'$/.test(got.saved.csp ?? ""), `a save is never framed: ${JSON.stringify(got)}`);
      } finally {
        await session.close();
      }
    }),
    // Firefox's own viewer shows a PDF of any size from the Service Worker.
    ...(engine === "webkit"
      ? [
          t("issue 19: in WebKit a PDF too large to open whole is drawn by the sandboxed pdf.js from verified ranges before it is saved", async () => {
            const link = await uploadViaPage(state.driver, engine, state.page, "atlas.pdf", largeHostilePdf());
            const session = await openedSession(state.driver, engine, link);
            try {
              const label = await session.run("() => !document.querySelector('#play').hidden && document.querySelector('#play').textContent");
              assert(label === "Show before saving", `offered: ${label}`);
              await session.click("#play");
              const note = await session.waitFor("() => /drawn as pictures|could not be drawn/.test(document.querySelector('#preview .note')?.textContent ?? '') && document.querySelector('#preview .note').textContent", 60000);
              assert(/^1 page, drawn as pictures/.test(note), note);
              const outside = await tally();
              await session.frame("#preview iframe");
              try {
                assertViewerDrewAndReachedNothing(await session.runAsync(viewerReach.toString(), outside.url));
              } finally {
                await session.topFrame().catch(() => {});
                await outside.close();
              }
            } finally {
              await session.close();
            }
          }),
        ]
      : []),
    t("the driver stops", async () => {
      await state.driver.stop();
    }),
  ];
}

const page = await startServe(bin, root);
const states = engines.map(() => ({ page }));
try {
  await run(engines.flatMap((engine, i) => engineTests(engine, states[i])));
} finally {
  for (const s of states) await s.driver?.stop();
  await page.stop();
  work.cleanup();
}
