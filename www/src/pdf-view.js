// The page's PDF viewer. pdf-view.html is framed with `sandbox="allow-scripts"`
// and served with CSP `sandbox allow-scripts` and no connect-src, so it runs
// in an opaque origin of its own: no reach into the page, its storage or its
// keys, and no network. A verified PDF's bytes arrive by message from the
// page that framed it, once; pdf.js draws its pages on canvases. Whatever a
// hostile PDF makes pdf.js do stays in here. Bundled by esbuild
// (scripts/build-pkg.sh) into www/pdf-view.js, loaded only when a PDF is shown.
import * as pdfjsWorker from "pdfjs-dist/legacy/build/pdf.worker.mjs";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";

// pdf.js parses in this thread: a Worker script of the page's origin cannot
// start in an opaque one, and this frame may fetch nothing.
globalThis.pdfjsWorker = pdfjsWorker;

/** Pages drawn at most; the rest is said, not drawn. */
const MAX_PAGES = 100;
/** The page that framed us: the origin of this document's URL. */
const PAGE_ORIGIN = new URL(location.href).origin;

const say = (message) => parent.postMessage(message, "*");

async function show(bytes) {
  const pdf = await getDocument({
    data: new Uint8Array(bytes),
    // No code from the document's fonts or functions, no XFA forms.
    isEvalSupported: false,
    enableXfa: false,
  }).promise;
  const pages = Math.min(pdf.numPages, MAX_PAGES);
  const ratio = window.devicePixelRatio || 1;
  for (let n = 1; n <= pages; n++) {
    const page = await pdf.getPage(n);
    const fit = document.body.clientWidth / page.getViewport({ scale: 1 }).width;
    const viewport = page.getViewport({ scale: fit * ratio });
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width);
    canvas.height = Math.floor(viewport.height);
    canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
    document.body.append(canvas);
    // The annotation layer (links, forms) is never drawn: the preview is a picture.
    await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport }).promise;
    page.cleanup();
  }
  say({ shown: pages, pages: pdf.numPages });
}

addEventListener("message", function once(event) {
  if (event.source !== parent || event.origin !== PAGE_ORIGIN || !(event.data?.pdf instanceof ArrayBuffer)) return;
  removeEventListener("message", once);
  show(event.data.pdf).catch((err) => say({ failed: String(err?.name ?? "Error") }));
});
say("ready");
