#!/usr/bin/env bash
# Installs what `make test` needs, idempotently: each step is skipped when its
# result is already present. Heavy tools live outside the work tree (rustup,
# pip's site-packages), so a clean clone reuses them.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }

# The wasm target, wasm-bindgen-cli, Chromium + chromedriver and npm tools.
source "$(dirname "$0")/tools.sh"

# A real local S3 for the end-to-end tests (built once, ~15 minutes).
"$(dirname "$0")/garage.sh" install

# Interop test: Google Tink (payload), argon2-cffi and cryptography (an
# independent implementation of the preamble and key hierarchy), pyhpke and
# the Bech32 reference code (recipient mode).
# FastAPI and uvicorn run the FastAPI example presign backend.
if ! python3 -c 'import tink, argon2.low_level, cryptography, boto3, pyhpke, bech32, fastapi, uvicorn' 2>/dev/null; then
  log "installing Python packages for the Tink interop test and the FastAPI example"
  python3 -m pip install --quiet --disable-pip-version-check \
    'tink==1.16.1' 'argon2-cffi==25.1.0' 'cryptography>=42' 'boto3>=1.34' \
    'pyhpke==0.6.5' 'bech32==1.2.0' 'fastapi==0.142.2' 'uvicorn==0.54.0'
fi

# `make bench` loads `s3seal serve` with oha (built once, a few minutes, into
# the tools cache outside the work tree).
OHA_VERSION=1.16.0
OHA_ROOT="$HOME/.cache/s3seal-tools/oha"
if [ "${1:-}" = bench ] && [ "$("$OHA_ROOT/bin/oha" --version 2>/dev/null | awk '{print $2}')" != "$OHA_VERSION" ]; then
  log "installing oha $OHA_VERSION for the serve load benchmark (a few minutes, once)"
  cargo install oha --locked --version "$OHA_VERSION" --root "$OHA_ROOT"
fi

# `make bench` shapes the local S3 port with tc (iproute2) for its link figures.
if [ "${1:-}" = bench ] && ! command -v tc >/dev/null && [ "$(id -u)" = 0 ]; then
  log "installing iproute2 (tc) for the link-speed benchmark"
  apt-get install -y iproute2 >/dev/null || { apt-get update >/dev/null && apt-get install -y iproute2 >/dev/null; }
fi

# `make bench` measures peak RSS with GNU time.
if [ "${1:-}" = bench ] && [ ! -x /usr/bin/time ]; then
  log "installing GNU time for the memory benchmark"
  if [ "$(id -u)" = 0 ]; then apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
  else sudo apt-get install -y time >/dev/null; fi
fi
