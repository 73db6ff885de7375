#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz (libFuzzer, nightly Rust).
#   scripts/fuzz.sh seed          rebuild the committed seed corpus from tests/vectors
#   scripts/fuzz.sh replay        run every target over its committed corpus once (make test)
#   scripts/fuzz.sh run SECONDS   fuzz every target for SECONDS each (make fuzz); new
#                                 inputs go to $FUZZ_WORK, crashes to fuzz/artifacts/
# Installs nightly and cargo-fuzz once (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

# FUZZ_TARGETS="opener range" picks some (make fuzz runs them one after another).
read -r -a TARGETS <<< "${FUZZ_TARGETS:-preamble opener range text presign xml}"
CARGO_FUZZ_VERSION=0.13.2
FUZZ_WORK=${FUZZ_WORK:-${TMPDIR:-/tmp}/s3seal-fuzz-work}
log() { printf 'fuzz: %s\n' "$*" >&2; }

install() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    log "installing nightly Rust (cargo-fuzz needs it; about a minute, once)"
    rustup toolchain install nightly --profile minimal
  fi
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
}

seed() {
  # Inputs that once crashed a target (regression-*) stay; the seeds go.
  find fuzz/corpus -type f ! -name 'regression-*' -delete 2>/dev/null || true
  mkdir -p fuzz/corpus/{preamble,opener,range,text,presign,xml}
  for f in tests/vectors/*.s3seal; do
    name=$(basename "$f" .s3seal)
    # preamble: the head is all it reads.
    head -c 4096 "$f" > "fuzz/corpus/preamble/$name"
    # opener: one byte picks the chunk size; range: 16 bytes pick the range.
    # Objects of more than two segments add size, not paths: left out.
    [ "$(stat -c %s "$f")" -le 600000 ] || continue
    { printf '\x03'; cat "$f"; } > "fuzz/corpus/opener/$name"
    { printf '\x05\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00'; cat "$f"; } > "fuzz/corpus/range/$name"
  done
  # text: every key, name and passphrase the vectors use, and names to clean.
  python3 - <<'PY'
import hashlib, json, pathlib

def put(out, text):
    # Named by content, as libFuzzer names its finds: a new seed adds one
    # file and renames none.
    (out / f"seed-{hashlib.sha1(text.encode()).hexdigest()[:16]}").write_text(text)

out = pathlib.Path("fuzz/corpus/text")
seeds = set()
for v in json.load(open("tests/vectors/index.json")):
    for field in ("key", "passphrase", "name", "file", "identity", "recipient", "object_name"):
        if isinstance(v.get(field), str):
            seeds.add(v[field])
seeds |= {"invoice\u202efdp.exe", "../../etc/passwd", "CON.txt", ".s3seal-object", "Tr0ub4dor&3",
          "flying zipping confess helmet reputably avid", "0" * 32 + ".s3seal", "0" * 32 + "." + "a" * 64 + ".s3seal"}
for s in seeds:
    put(out, s)

# presign: one request of every op, as the page and push send them.
name = "ab" * 16 + ".s3seal"
form_name = "ab" * 16 + "." + "cd" * 32 + ".s3seal"
sse = {"algorithm": "AES256", "key": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "keyMd5": "y4HAEFCYWuvAXWFTtA1Qpg=="}
requests = [
    {"op": "put", "object": name, "sseC": sse, "size": 1000},
    {"op": "createMultipart", "object": form_name, "sseC": sse, "size": 50 << 20},
    {"op": "uploadPart", "object": name, "sseC": sse, "size": 8 << 20, "uploadId": "u1", "partNumber": 2},
    {"op": "completeMultipart", "object": name, "size": 50 << 20, "uploadId": "u1"},
    {"op": "abortMultipart", "object": name, "uploadId": "u1"},
    {"op": "head", "object": name, "sseC": sse},
    {"op": "get", "object": form_name, "sseC": sse},
    {"op": "put", "object": "../" + name, "size": 1},
]
out = pathlib.Path("fuzz/corpus/presign")
for r in requests:
    put(out, json.dumps(r))

# xml: answers of AWS and Garage to what a transfer sends.
answers = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>uploads/k</Key><UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><RequestId>1</RequestId></Error>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Location>http://x/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>',
    '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    '<!-- c --><Error xmlns="x"><Code>InvalidRequest</Code><Message>&#x3C;&#60;</Message></Error>',
]
out = pathlib.Path("fuzz/corpus/xml")
for a in answers:
    put(out, a)
PY
  log "seeded $(find fuzz/corpus -type f | wc -l) inputs"
}

replay() {
  install
  for t in "${TARGETS[@]}"; do
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- -runs=0
  done
}

run() {
  install
  local seconds=${1:-60}
  for t in "${TARGETS[@]}"; do
    mkdir -p "$FUZZ_WORK/$t"
    log "$t for ${seconds}s"
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$FUZZ_WORK/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1
  done
}

case "${1:-}" in
  seed) seed ;;
  replay) replay ;;
  run) run "${2:-60}" ;;
  *) echo "usage: $0 seed|replay|run [SECONDS]" >&2; exit 2 ;;
esac
