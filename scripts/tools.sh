#!/usr/bin/env bash
# JS-side tools, installed once outside the work tree and reused by every
# clone: wasm-bindgen-cli (matching the pinned crate), Chromium + chromedriver,
# Firefox ESR + geckodriver, WebKitGTK's WebDriver + Xvfb, and npm tools (binaryen's wasm-opt, Playwright, TypeScript, Vite).
# Idempotent: each step is skipped when its result is present.
# Usage: source scripts/tools.sh  (exports S3SEAL_TOOLS and PATH)
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130
export S3SEAL_TOOLS=${S3SEAL_TOOLS:-$HOME/.cache/s3seal-tools}
mkdir -p "$S3SEAL_TOOLS"

tlog() { printf 'tools: %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  tlog "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  tlog "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 5 minutes, once)"
  # No --locked: its lockfile pins a webpki-roots the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# Three browser engines: Chromium (Playwright and chromedriver), Firefox ESR
# (geckodriver) and WebKitGTK (WebKitWebDriver + MiniBrowser, under Xvfb).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
  || ! command -v firefox-esr >/dev/null || ! command -v WebKitWebDriver >/dev/null \
  || ! command -v xvfb-run >/dev/null || ! command -v ffmpeg >/dev/null; then
  tlog "installing Chromium, Firefox ESR, WebKitGTK's WebDriver, Xvfb and ffmpeg (Debian packages; ffmpeg makes the test clip a <video> plays)"
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update >/dev/null
  $sudo_ apt-get install -y chromium chromium-driver firefox-esr webkit2gtk-driver xvfb >/dev/null
  $sudo_ apt-get install -y --no-install-recommends ffmpeg >/dev/null
fi

GECKODRIVER_VERSION=0.37.1
if [ "$(geckodriver --version 2>/dev/null | awk 'NR==1 {print $2}')" != "$GECKODRIVER_VERSION" ]; then
  tlog "installing geckodriver $GECKODRIVER_VERSION (about 2 minutes, once)"
  cargo install geckodriver --version "$GECKODRIVER_VERSION"
fi

# npm tools, pinned (the AWS SDK presigner is a real presigner for the e2e
# test; @uppy/core gives s3seal/uppy its types at build time; express runs
# the Express example backend; pdf.js, bundled by esbuild, is the page's
# sandboxed PDF viewer). binaryen from npm: Debian's binaryen 108 breaks modules
# made by wasm-bindgen 0.2.130.
NPM_TOOLS='{"private":true,"dependencies":{"@aws-sdk/client-s3":"3.1162.0","@aws-sdk/s3-request-presigner":"3.1162.0","@uppy/core":"6.3.1","binaryen":"132.0.0","esbuild":"0.27.7","express":"5.2.1","pdfjs-dist":"5.6.205","playwright-core":"1.65.1","typescript":"5.9.3","vite":"7.3.1"}}'
if [ "$(cat "$S3SEAL_TOOLS/package.json" 2>/dev/null)" != "$NPM_TOOLS" ] || [ ! -d "$S3SEAL_TOOLS/node_modules/playwright-core" ]; then
  tlog "installing npm tools into $S3SEAL_TOOLS"
  printf '%s' "$NPM_TOOLS" > "$S3SEAL_TOOLS/package.json"
  (cd "$S3SEAL_TOOLS" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
export PATH="$S3SEAL_TOOLS/node_modules/.bin:$PATH"
export NODE_PATH="$S3SEAL_TOOLS/node_modules"
