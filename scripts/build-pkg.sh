#!/usr/bin/env bash
# Builds the npm package in pkg/: the wasm module (release), its bindings
# (wasm-bindgen --target web: plain ES modules that browsers load directly
# and bundlers understand), then a wasm-opt pass. The hand-written files in
# pkg/ (src/*.ts, package.json, README.md) are source; the generated
# s3seal_wasm* files and tsc's output (*.js, *.d.ts) are ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."

# The page's payload: the wasm and every script the page loads (www/ and
# pkg/). `--page-files` lists them, for the bench.
PAGE_FILES=(pkg/s3seal_wasm_bg.wasm pkg/s3seal_wasm.js pkg/index.js pkg/error.js pkg/blob.js pkg/cipher.js pkg/engine.js
  pkg/cipher-worker.js pkg/hash.js pkg/hash-worker.js pkg/upload.js pkg/worker.js pkg/sw.js www/app.js)
if [ "${1:-}" = --page-files ]; then
  printf '%s\n' "${PAGE_FILES[@]}"
  exit 0
fi

source scripts/tools.sh

cargo build --lib --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --out-dir pkg --out-name s3seal_wasm \
  target/wasm32-unknown-unknown/wasm/s3seal.wasm
# The generated typings declare [Symbol.dispose]; say which lib that needs so
# consumers type-check with any `lib` setting (TypeScript >= 5.2).
sed -i '1i /// <reference lib="esnext.disposable" />' pkg/s3seal_wasm.d.ts
# Features rustc enables by default for wasm32-unknown-unknown, and SIMD
# (.cargo/config.toml).
wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
  pkg/s3seal_wasm_bg.wasm -o pkg/s3seal_wasm_bg.wasm.opt
mv pkg/s3seal_wasm_bg.wasm.opt pkg/s3seal_wasm_bg.wasm

# The package's own code: pkg/src/*.ts compiled by tsc. Declarations keep
# the doc comments; the scripts a page loads ship without them.
# s3seal/uppy compiles against @uppy/core (a peer dependency) from the tools.
ln -sfn "$S3SEAL_TOOLS/node_modules" pkg/node_modules
tsc -p pkg --emitDeclarationOnly
tsc -p pkg --declaration false --removeComments
# sw.js is a classic script (every browser registers one); it declares its
# own types, so its typings would only add globals.
rm -f pkg/sw.d.ts
if grep -q '^export\|^import' pkg/sw.js; then echo "pkg: sw.js must be a classic script" >&2; exit 1; fi
# The demo page's script, the same way (www/src/app.js -> www/app.js).
tsc --allowJs --removeComments --target ES2022 --module ES2022 --outDir www www/src/app.js

# The PDF viewer (www/src/pdf-view.js with pdf.js -> www/pdf-view.js): one
# classic script, for a sandboxed frame that may load no module (an opaque
# origin's module requests need CORS). Not part of the page's payload: it
# loads only when a PDF is shown.
# pdf.js marks its notice with @licstart, which esbuild does not keep: the
# banner carries it.
pdfjs=$(node -p "require('$S3SEAL_TOOLS/node_modules/pdfjs-dist/package.json').version")
esbuild www/src/pdf-view.js --bundle --format=iife --minify --legal-comments=eof \
  --banner:js="/*! pdf.js $pdfjs (pdfjs-dist), Copyright Mozilla Foundation, Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0 */" \
  --target=es2020 --log-level=warning --outfile=www/pdf-view.js
echo "pkg: www/pdf-view.js (on request) $(gzip -9 -c www/pdf-view.js | wc -c) bytes gzipped" >&2

# The package version follows the crate's.
version=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["packages"][0]["version"])')
python3 - "$version" <<'PY'
import json, sys
p = "pkg/package.json"
data = json.load(open(p))
if data["version"] != sys.argv[1]:
    data["version"] = sys.argv[1]
    open(p, "w").write(json.dumps(data, indent=2) + "\n")
PY
raw=$(stat -c %s pkg/s3seal_wasm_bg.wasm)
gz=$(gzip -9 -c pkg/s3seal_wasm_bg.wasm | wc -c)
echo "pkg: s3seal_wasm_bg.wasm $raw bytes, $gz gzipped" >&2

# The page's payload budget: PAGE_FILES, each gzipped as a server would
# send it. 180 KiB until issue 20's features: sharing (expiry, limits, the
# owner's delete) and several files behind one link; 196 KiB with issue
# 19's streaming open (the Service Worker and its page side);
# bench/results.md has the growth of each.
PAGE_BUDGET_BYTES=$((196 * 1024))
page=0
for f in "${PAGE_FILES[@]}"; do
  page=$((page + $(gzip -9 -c "$f" | wc -c)))
done
echo "pkg: page payload (wasm + JS, gzipped) $page bytes, budget $PAGE_BUDGET_BYTES" >&2
if [ "$page" -gt "$PAGE_BUDGET_BYTES" ]; then
  echo "pkg: the page payload is over its budget" >&2
  exit 1
fi
