#!/usr/bin/env bash
# `make demo`: a local Garage S3 and `s3seal serve` on 127.0.0.1, then the URL
# to open. Ctrl-C stops both (by PID). `scripts/demo.sh form` (make demo-form)
# makes the page an upload form sealed to an identity kept in .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --features cli
scripts/garage.sh start
eval "$(scripts/garage.sh env)"
port=${S3SEAL_DEMO_PORT:-8080}
if [ "${1:-}" = form ]; then
  identity=.demo/org.identity
  mkdir -p .demo
  [ -f "$identity" ] || target/release/s3seal keygen --identity -o "$identity" >/dev/null
  S3SEAL_RECIPIENT=$(sed -n 's/^# public key: //p' "$identity")
  export S3SEAL_RECIPIENT
fi
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
  Open  http://127.0.0.1:$port/  in a browser and pick a file: you get a share link
  (or, as an upload form, a receipt).
  Files land sealed, under SSE-C, in the local Garage bucket "$S3SEAL_BUCKET".
  Ctrl-C stops the page server and Garage.

MSG
if [ -n "${S3SEAL_RECIPIENT:-}" ]; then
  cat <<MSG
  Form mode: every upload is sealed to $S3SEAL_RECIPIENT;
  the visitor gets a receipt, not a key. To fetch and open the uploads as staff:
    eval "\$(scripts/garage.sh env)"; AWS_ENDPOINT_URL=\$S3SEAL_ENDPOINT \\
      target/release/s3seal pull --identity ${identity:-YOUR.identity} --bucket $S3SEAL_BUCKET -o inbox/

MSG
fi
wait "$serve_pid"
