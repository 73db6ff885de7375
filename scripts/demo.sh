#!/usr/bin/env bash
# `make demo`: a local Garage S3 and `s3seal serve` on 127.0.0.1, then the URL
# to open. Ctrl-C stops both (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --features cli
scripts/garage.sh start
eval "$(scripts/garage.sh env)"
port=${S3SEAL_DEMO_PORT:-8080}
target/release/s3seal serve --listen "127.0.0.1:$port" &
serve_pid=$!
cleanup() {
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  scripts/garage.sh stop
}
trap cleanup EXIT INT TERM
sleep 0.5
kill -0 "$serve_pid" 2>/dev/null || { echo "s3seal serve did not start (is port $port free? set S3SEAL_DEMO_PORT)"; exit 1; }
cat <<MSG

  s3seal demo is running.
  Open  http://127.0.0.1:$port/  in a browser, pick a file, and share the link it gives you.
  Files land sealed, under SSE-C, in the local Garage bucket "$S3SEAL_BUCKET".
  Ctrl-C stops the page server and Garage.

MSG
wait "$serve_pid"
