// s3seal Service Worker: serves opened objects at same-origin URLs,
// `<scope>s3seal/open/<token>/<name>`, so a download streams to disk and a
// <video>, <audio> or <img> reads only the ranges it needs. It holds no key
// and decides nothing about bytes: each request is answered with bytes the
// page's Worker verified (`ByteRequest` on the port the page registered for
// the token). A classic script with no imports: every browser registers it.
//
// Register it with `registerServiceWorker()` from the package; its scope
// must cover the page (serve it from the site's root, or send
// `Service-Worker-Allowed: /` with it as `s3seal serve` does).

interface Entry {
  port: MessagePort;
  size: number;
  type: string;
  fileName: string;
}

interface FetchEventLike {
  request: Request;
  respondWith(response: Promise<Response>): void;
}

interface WorkerScope {
  addEventListener(type: string, listener: (event: never) => void): void;
  registration: { scope: string };
  clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  location: Location;
}

const scope = self as unknown as WorkerScope;

/** Tokens the page registered (random, 128 bits): unknown ones are 404. */
const exposed = new Map<string, Entry>();

/** Chunks (about 1 MiB each) a stream asks for ahead of the browser's reads. */
const QUEUED_CHUNKS = 4;

/** Types an answer may carry: inert media, PDF, opaque bytes. */
const SERVED_TYPE = /^(?:(?:image|audio|video)\/[a-z0-9.+-]+|application\/(?:pdf|octet-stream))$/;
const PDF_TYPE = "application/pdf";

/** The most a ranged answer holds, in bytes: an open-ended range gets this much. */
const MAX_RANGE_BYTES = 4 * 1024 * 1024;

scope.addEventListener("install", () => {
  void scope.skipWaiting();
});
scope.addEventListener("activate", (event: { waitUntil(p: Promise<void>): void }) => {
  event.waitUntil(scope.clients.claim());
});

scope.addEventListener("message", (event: MessageEvent) => {
  const m = event.data as { s3seal?: string; token?: string; size?: number; type?: string; fileName?: string } | null;
  if (!m || typeof m.token !== "string" || !/^[0-9a-f]{32}$/.test(m.token)) return;
  if (m.s3seal === "expose" && event.ports[0] && Number.isSafeInteger(m.size)) {
    // The page's type, if it is one an answer may carry (the core's
    // sandboxedMediaType gives no other); else opaque bytes.
    const type = SERVED_TYPE.test(String(m.type)) ? String(m.type) : "application/octet-stream";
    exposed.set(m.token, { port: event.ports[0], size: m.size as number, type, fileName: String(m.fileName) });
    // The page waits for this before it hands out the URL: a request that
    // overtook the message would find no token.
    event.ports[1]?.postMessage("exposed");
  } else if (m.s3seal === "revoke") {
    exposed.get(m.token)?.port.close();
    exposed.delete(m.token);
    event.ports[0]?.postMessage("revoked");
  }
  // A "ping" needs no answer: a message is an event, and events keep this worker alive.
});

scope.addEventListener("fetch", (event: FetchEventLike) => {
  const url = new URL(event.request.url);
  const prefix = new URL("s3seal/open/", scope.registration.scope);
  if (url.origin !== prefix.origin || !url.pathname.startsWith(prefix.pathname)) return;
  event.respondWith(answer(event.request, url, url.pathname.slice(prefix.pathname.length).split("/")[0]));
});

/** Headers on everything served: opened bytes never run here (no sniffing,
 * a sandbox, no caching). Only a PDF shown in place (not a save) may be
 * framed, by this origin's pages: the page's preview. */
function headers(entry: Entry, more: Record<string, string>, save = false): Headers {
  const framed = entry.type === PDF_TYPE && !save ? "'self'" : "'none'";
  return new Headers({
    "content-type": entry.type,
    "x-content-type-options": "nosniff",
    "content-security-policy": `sandbox; default-src 'none'; frame-ancestors ${framed}`,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    ...more,
  });
}

/** A filename for Content-Disposition (RFC 6266): an ASCII fallback and the exact UTF-8 name (RFC 8187). */
function disposition(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._ -]/g, "_");
  const exact = encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

function refuse(status: number, text: string, more: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...more } });
}

/** Asks the page's Worker; resolves to the reply port. */
function ask(entry: Entry, request: { kind: "range"; start: number; end: number } | { kind: "stream"; save: boolean }): MessagePort {
  const channel = new MessageChannel();
  entry.port.postMessage({ ...request, reply: channel.port2 }, [channel.port2]);
  return channel.port1;
}

type Reply = { chunk?: Uint8Array; done?: boolean; error?: { code: string; message: string } };

/** How long the page's Worker may take to answer, in milliseconds (a closed tab never does). */
const REPLY_TIMEOUT_MS = 120_000;

function next(port: MessagePort): Promise<Reply> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: { code: "Network", message: "the page that opened this file did not answer" } }), REPLY_TIMEOUT_MS);
    port.onmessage = (m: MessageEvent<Reply>) => {
      clearTimeout(timer);
      resolve(m.data);
    };
  });
}

async function answer(request: Request, url: URL, token: string): Promise<Response> {
  const entry = exposed.get(token);
  if (!entry) return refuse(404, "This sealed file is no longer open in its page.");
  if (request.method !== "GET" && request.method !== "HEAD") return refuse(405, "GET or HEAD only", { allow: "GET, HEAD" });
  const save = url.searchParams.has("download");
  // A save is always whole and fresh: a download resumed by Range would
  // join bytes no signature covered to a failed one.
  const range = save ? null : parseRange(request.headers.get("range"), entry.size);
  if (range === "unsatisfiable") return refuse(416, "range not satisfiable", { "content-range": `bytes */${entry.size}` });
  if (range) {
    const [start, end] = range;
    if (request.method === "HEAD") return new Response(null, { status: 206, headers: headers(entry, rangeHeaders(start, end, entry.size)) });
    const port = ask(entry, { kind: "range", start, end });
    const reply = await next(port);
    port.close();
    // A segment that failed to authenticate is not served: the element errors.
    if (!reply.chunk) return refuse(502, `not served: ${reply.error?.code ?? "Error"}`);
    return new Response(reply.chunk as BlobPart, { status: 206, headers: headers(entry, rangeHeaders(start, start + reply.chunk.length, entry.size)) });
  }
  const more: Record<string, string> = { "content-length": String(entry.size), "accept-ranges": save ? "none" : "bytes" };
  if (save) more["content-disposition"] = disposition(entry.fileName);
  if (request.method === "HEAD") return new Response(null, { status: 200, headers: headers(entry, more, save) });
  const port = ask(entry, { kind: "stream", save });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      port.postMessage("pull");
      const reply = await next(port);
      if (reply.error) {
        port.close();
        // The browser marks the download failed and keeps no finished file.
        controller.error(new Error(`${reply.error.code}: ${reply.error.message}`));
        return;
      }
      if (reply.chunk) controller.enqueue(reply.chunk);
      if (reply.done) {
        port.close();
        controller.close();
      }
    },
    cancel() {
      port.postMessage("cancel");
      port.close();
    },
  }, { highWaterMark: QUEUED_CHUNKS });
  return new Response(body, { status: 200, headers: headers(entry, more, save) });
}

/** `[start, end)` of a single `bytes=` range, capped; null for none or several (served whole). */
function parseRange(value: string | null, size: number): [number, number] | "unsatisfiable" | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(value?.trim() ?? "");
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    // "bytes=-N": the last N bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size;
  } else {
    start = Number(m[1]);
    // A last position past the end (however large) means the end.
    end = m[2] === "" ? size : Math.min(Number(m[2]) + 1, size);
  }
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  // "bytes=5-3" is not a range (RFC 9110): served whole.
  if (!(end > start)) return null;
  return [start, Math.min(end, start + MAX_RANGE_BYTES)];
}

function rangeHeaders(start: number, end: number, size: number): Record<string, string> {
  return { "content-range": `bytes ${start}-${end - 1}/${size}`, "content-length": String(end - start), "accept-ranges": "bytes" };
}
