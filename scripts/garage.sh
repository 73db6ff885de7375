#!/usr/bin/env bash
# A real local S3: one Garage node on 127.0.0.1 with its data under
# $GARAGE_DIR (default .garage/ in the work tree, git-ignored).
#   scripts/garage.sh install   build Garage once into ~/.cargo/bin (skipped when present)
#   scripts/garage.sh start     start (or reuse) the node; create key, bucket, CORS, lifecycle
#   scripts/garage.sh stop      stop it by its PID
#   scripts/garage.sh env       print the environment for clients (sourceable)
# Idempotent. Credentials are fixed, local-only test credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

GARAGE_VERSION=2.5.0
GARAGE_DIR=${GARAGE_DIR:-$PWD/.garage}
GARAGE_S3_PORT=${GARAGE_S3_PORT:-3900}
GARAGE_RPC_PORT=${GARAGE_RPC_PORT:-3901}
GARAGE_ADMIN_PORT=${GARAGE_ADMIN_PORT:-3903}
BUCKET=${S3SEAL_BUCKET:-s3seal}
# Test credentials for the local node only ("GK" + 24 hex, 64 hex).
KEY_ID=GK5333a1e4a1b2c3d4e5f6a7b8
SECRET=5333a1e4a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8
CONFIG=$GARAGE_DIR/garage.toml
PIDFILE=$GARAGE_DIR/garage.pid
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf 'garage: %s\n' "$*" >&2; }

install() {
  if garage --version 2>/dev/null | grep -q "cargo:$GARAGE_VERSION "; then return; fi
  log "building Garage $GARAGE_VERSION into ~/.cargo/bin (about 15 minutes, once)"
  cargo install garage --version "$GARAGE_VERSION" --locked
}

g() { garage -c "$CONFIG" "$@"; }

# Runs a command until it succeeds, at most 50 times 0.2 s apart; the last
# attempt's error is shown.
retry() {
  for _ in $(seq 49); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@" >/dev/null
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

s3() { # s3 METHOD PATH [curl args…]: a SigV4-signed request to the local node
  local method=$1 path=$2
  shift 2
  curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY_ID:$SECRET" -X "$method" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "http://127.0.0.1:$GARAGE_S3_PORT$path" "$@"
}

start() {
  install
  mkdir -p "$GARAGE_DIR/meta" "$GARAGE_DIR/data"
  if [ ! -f "$CONFIG" ]; then
    cat > "$CONFIG" <<TOML
metadata_dir = "$GARAGE_DIR/meta"
data_dir = "$GARAGE_DIR/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$GARAGE_RPC_PORT"
rpc_public_addr = "127.0.0.1:$GARAGE_RPC_PORT"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$GARAGE_S3_PORT"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$GARAGE_ADMIN_PORT"
TOML
  fi
  if ! running; then
    garage -c "$CONFIG" server > "$GARAGE_DIR/garage.log" 2>&1 &
    echo $! > "$PIDFILE"
    retry g status || { log "Garage did not start; see $GARAGE_DIR/garage.log"; exit 1; }
  fi
  # `layout show` can fail for a moment after `status` answers; reading it
  # as "has a role" then left the node without a layout (seen in CI).
  retry g layout show
  local layout
  layout=$(g layout show)
  if grep -q "No nodes currently have a role" <<<"$layout"; then
    node=$(g node id -q | cut -d@ -f1)
    retry g layout assign -z dc1 -c 1G "$node"
    retry g layout apply --version 1
  fi
  # Right after the layout is applied Garage may answer "Layout not ready"
  # for a moment (seen once in CI): retry, bounded, then fail loudly.
  g key info "$KEY_ID" >/dev/null 2>&1 || retry g key import --yes -n s3seal-dev "$KEY_ID" "$SECRET"
  g bucket info "$BUCKET" >/dev/null 2>&1 || retry g bucket create "$BUCKET"
  retry g bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID"
  # The S3 API may answer 503 for a moment after the layout is applied.
  retry s3 GET "/$BUCKET?list-type=2" -o /dev/null 2>/dev/null || true
  # CORS so the browser can PUT/GET with SSE-C headers and read ETag and,
  # for ranged reads, Content-Range.
  # (`?cors=`: a bare `?cors` mis-signs with curl 7.88.)
  local cors='<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Content-Range</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>'
  s3 PUT "/$BUCKET?cors=" -H 'content-type: application/xml' --data-binary "$cors" -o /dev/null
  # Lifecycle rules, the backstop behind serve's sweeper (which deletes each
  # share at its own expiry): nothing under uploads/ or control/ outlives
  # serve's longest expiry (30 days) by more than a day, and an abandoned
  # multipart upload goes after a day. Garage 2.5 applies them once a day.
  local rule='<Status>Enabled</Status><Expiration><Days>31</Days></Expiration>'
  local lifecycle="<LifecycleConfiguration><Rule><ID>shares</ID><Filter><Prefix>uploads/</Prefix></Filter>$rule<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule><Rule><ID>control</ID><Filter><Prefix>control/</Prefix></Filter>$rule</Rule></LifecycleConfiguration>"
  local md5
  md5=$(printf %s "$lifecycle" | python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.md5(sys.stdin.buffer.read()).digest()).decode())')
  s3 PUT "/$BUCKET?lifecycle=" -H 'content-type: application/xml' -H "content-md5: $md5" --data-binary "$lifecycle" -o /dev/null
  log "S3 on http://127.0.0.1:$GARAGE_S3_PORT, bucket $BUCKET (pid $(cat "$PIDFILE"))"
}

stop() {
  if running; then
    kill "$(cat "$PIDFILE")"
    for _ in $(seq 50); do running || break; sleep 0.1; done
    log "stopped"
  fi
  rm -f "$PIDFILE"
}

env_() {
  cat <<ENV
export S3SEAL_ENDPOINT=http://127.0.0.1:$GARAGE_S3_PORT
export S3SEAL_BUCKET=$BUCKET
export S3SEAL_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$KEY_ID
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_DEFAULT_REGION=us-east-1
ENV
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) env_ ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
