// The page's PDF viewer. pdf-view.html is framed with `sandbox="allow-scripts"`
// and served with CSP `sandbox allow-scripts; default-src 'none'`, so it runs
// in an opaque origin of its own: no reach into the page, its storage or its
// keys, and no fetch, image or form of its own; the page's `frame-src` keeps
// it from navigating anywhere but the page's origin. The page that framed it
// sends a verified PDF's bytes by message, once; or, for a large one, its
// length and a port, over which it answers the ranges pdf.js asks for with
// bytes its Worker read and verified. pdf.js draws the pages on canvases.
// Whatever a hostile PDF makes pdf.js do stays in here.
// Bundled by esbuild (scripts/build-pkg.sh) into www/pdf-view.js, loaded
// only when a PDF is shown.
import * as pdfjsWorker from "pdfjs-dist/legacy/build/pdf.worker.mjs";
import { PDFDataRangeTransport, getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";

// pdf.js parses in this thread: a Worker script of the page's origin cannot
// start in an opaque one, and this frame may fetch nothing.
globalThis.pdfjsWorker = pdfjsWorker;

/** Pages drawn at most; the rest is said, not drawn. */
const MAX_PAGES = 100;
/** Pixels of one page's canvas at most (a page is drawn smaller past it). */
const MAX_PAGE_PIXELS = 8_000_000;
/** Pixels of every canvas together at most: drawing stops there. */
const MAX_TOTAL_PIXELS = 64_000_000;
/** The longest PDF read in ranges, in bytes: pdf.js keeps room for the
 * whole length in memory. */
const MAX_RANGED_BYTES = 512 * 1024 * 1024;
/** The page that framed us: the origin of this document's URL. */
const PAGE_ORIGIN = new URL(location.href).origin;

const say = (message) => parent.postMessage(message, "*");

/** What pdf.js reads `message` from: the bytes, or ranges of `length`
 * asked of the page over `port`; null for anything else. */
function source(message, port) {
  if (message?.pdf instanceof ArrayBuffer) return { data: new Uint8Array(message.pdf) };
  const length = message?.length;
  if (!port || !Number.isSafeInteger(length) || length <= 0 || length > MAX_RANGED_BYTES) return null;
  const range = new PDFDataRangeTransport(length, null);
  range.requestDataRange = (begin, end) => port.postMessage({ range: [begin, end] });
  port.onmessage = (event) => {
    const { begin, chunk } = event.data ?? {};
    if (Number.isSafeInteger(begin) && chunk instanceof ArrayBuffer) range.onDataRange(begin, new Uint8Array(chunk));
  };
  // Only what a page drawn needs is asked for, not the rest of the file.
  return { range, disableAutoFetch: true, disableStream: true };
}

async function show(from) {
  const pdf = await getDocument({
    ...from,
    // No code from the document's fonts or functions, no XFA forms, no
    // images handed to the browser's own decoders (pdf.js decodes them),
    // no WebAssembly decoders, and no image larger than a page may be.
    // Fonts stay FontFaces: without them text needs font data fetched from
    // elsewhere, and the browser checks them as it checks any web font.
    isEvalSupported: false,
    enableXfa: false,
    isImageDecoderSupported: false,
    useWasm: false,
    maxImageSize: MAX_PAGE_PIXELS,
    canvasMaxAreaInBytes: MAX_PAGE_PIXELS * 4,
  }).promise;
  const ratio = window.devicePixelRatio || 1;
  let drawn = 0;
  let pixels = 0;
  while (drawn < Math.min(pdf.numPages, MAX_PAGES)) {
    const page = await pdf.getPage(drawn + 1);
    const unit = page.getViewport({ scale: 1 });
    let scale = (document.body.clientWidth / unit.width) * ratio;
    scale = Math.min(scale, Math.sqrt(MAX_PAGE_PIXELS / (unit.width * unit.height)));
    const viewport = page.getViewport({ scale });
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.floor(viewport.width));
    canvas.height = Math.max(1, Math.floor(viewport.height));
    pixels += canvas.width * canvas.height;
    if (pixels > MAX_TOTAL_PIXELS) break;
    canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
    document.body.append(canvas);
    // The annotation layer (links, forms) is never drawn: the preview is a picture.
    await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport }).promise;
    page.cleanup();
    drawn++;
  }
  say({ shown: drawn, pages: pdf.numPages });
}

// Only ever in an opaque origin: served without its sandbox (under some
// other spelling of its path, say), it takes no PDF.
if (self.origin === "null") {
  addEventListener("message", function once(event) {
    const from = event.source === parent && event.origin === PAGE_ORIGIN && source(event.data, event.ports[0]);
    if (!from) return;
    removeEventListener("message", once);
    show(from).catch((err) => say({ failed: String(err?.name ?? "Error") }));
  });
  say("ready");
}
