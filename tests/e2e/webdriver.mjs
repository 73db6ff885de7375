// A small W3C WebDriver client (HTTP + JSON, no dependencies) for the browsers
// Playwright cannot bring here: Firefox ESR through geckodriver and WebKitGTK
// through WebKitWebDriver (under Xvfb). Drivers listen on 127.0.0.1 and are
// stopped by PID.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { freePort } from "./lib.mjs";

const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
/** The W3C key of a web element reference. */
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** Browsers this machine can drive, by name: "firefox", "webkit". */
export const ENGINES = {
  firefox: {
    command: (port) => [process.env.GECKODRIVER ?? "geckodriver", ["--host", "127.0.0.1", "--port", String(port)]],
    capabilities: () => ({
      browserName: "firefox",
      "moz:firefoxOptions": {
        binary: process.env.FIREFOX ?? "/usr/bin/firefox-esr",
        args: ["-headless"],
        // No first-run pages, updates or telemetry: this machine has no network.
        prefs: {
          "browser.shell.checkDefaultBrowser": false,
          "app.update.enabled": false,
          "datareporting.policy.dataSubmissionEnabled": false,
          "toolkit.telemetry.enabled": false,
        },
      },
    }),
  },
  webkit: {
    // WebKitGTK's --headless hung here; a virtual X display works.
    command: (port) => ["xvfb-run", ["-a", process.env.WEBKIT_WEBDRIVER ?? "WebKitWebDriver", `--port=${port}`, "--host=127.0.0.1"]],
    capabilities: () => ({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": { binary: process.env.MINIBROWSER ?? MINIBROWSER, args: ["--automation"] },
    }),
  },
};

/** Starts the driver for `engine`; resolves to { url, stop }. */
export async function startDriver(engine) {
  const port = await freePort();
  const [cmd, args] = ENGINES[engine].command(port);
  // Its own process group, so stopping it also stops Xvfb and the browser.
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${engine} driver exited ${child.exitCode}: ${log}`);
    const ready = await fetch(`${url}/status`)
      .then((r) => r.json())
      .then((j) => j.value?.ready)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) {
      process.kill(-child.pid);
      throw new Error(`${engine} driver not ready after 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", resolve);
        process.kill(-child.pid, "SIGTERM");
      }),
  };
}

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || json.value?.error) {
    throw new Error(`WebDriver ${method} ${url.replace(/^.*\/session\/[^/]+/, "")}: ${json.value?.error ?? res.status}: ${json.value?.message ?? ""}`);
  }
  return json.value;
}

/** One browser session (a fresh profile: no storage shared with others). */
export class Session {
  static async create(driver, engine) {
    const { sessionId } = await call("POST", `${driver.url}/session`, { capabilities: { alwaysMatch: ENGINES[engine].capabilities() } });
    const session = new Session(`${driver.url}/session/${sessionId}`);
    await call("POST", `${session.base}/timeouts`, { script: 300000, pageLoad: 60000, implicit: 0 });
    return session;
  }

  constructor(base) {
    this.base = base;
  }

  goto(url) {
    return call("POST", `${this.base}/url`, { url });
  }

  url() {
    return call("GET", `${this.base}/url`);
  }

  async find(css) {
    const value = await call("POST", `${this.base}/element`, { using: "css selector", value: css });
    return value[ELEMENT];
  }

  /** Types into an element; for `<input type=file>`, a path picks that file. */
  async type(css, text) {
    return call("POST", `${this.base}/element/${await this.find(css)}/value`, { text });
  }

  async click(css) {
    return call("POST", `${this.base}/element/${await this.find(css)}/click`, {});
  }

  /** Runs `fn` (a function's source) in the page with `args`; resolves to its result. */
  run(fn, ...args) {
    return call("POST", `${this.base}/execute/sync`, { script: `return (${fn}).apply(null, arguments)`, args });
  }

  /** Like `run`, for an async function: the result of its promise. */
  runAsync(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn}).apply(null, Array.from(arguments).slice(0, -1)))
        .then((v) => done({ ok: v }), (e) => done({ error: String(e && e.stack || e) }));`;
    return call("POST", `${this.base}/execute/async`, { script, args }).then((r) => {
      if (r?.error) throw new Error(`in the page: ${r.error}`);
      return r?.ok;
    });
  }

  /** Waits until `fn` returns a truthy value in the page (bounded). */
  async waitFor(fn, timeoutMs = 60000, ...args) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.run(fn, ...args);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${fn}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs later commands in the frame that `css` finds, until `topFrame()`. */
  async frame(css) {
    return call("POST", `${this.base}/frame`, { id: { [ELEMENT]: await this.find(css) } });
  }

  topFrame() {
    return call("POST", `${this.base}/frame`, { id: null });
  }

  close() {
    return call("DELETE", this.base).catch(() => {});
  }
}

/** A scratch directory removed by `cleanup()`. */
export function scratch(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
