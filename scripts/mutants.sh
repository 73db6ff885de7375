#!/usr/bin/env bash
# Mutation testing of the core with cargo-mutants: each mutant of the given
# files (default: the format core) is built and run against the native
# suites that cover it; a mutant that no test notices is a test to write.
#   scripts/mutants.sh [FILE...]        results in $MUTANTS_OUT/mutants.out
# Installs cargo-mutants once into the tools cache (a few minutes). Slow:
# about half a minute per mutant on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=27.1.0
ROOT="$HOME/.cache/s3seal-tools/mutants"
MUTANTS_OUT=${MUTANTS_OUT:-${TMPDIR:-/tmp}/s3seal-mutants}
if [ "$("$ROOT/bin/cargo-mutants" mutants --version 2>/dev/null | awk '{print $2}')" != "$VERSION" ]; then
  echo "mutants: installing cargo-mutants $VERSION (a few minutes, once)" >&2
  cargo install cargo-mutants --locked --version "$VERSION" --root "$ROOT"
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(src/format.rs src/stream.rs src/machine.rs src/object.rs src/key.rs src/signature.rs)
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done
mkdir -p "$MUTANTS_OUT"
# The suites that exercise the core natively (the CLI and browser suites
# add minutes per mutant and catch nothing these do not).
"$ROOT/bin/cargo-mutants" mutants --no-shuffle -j 1 --timeout 300 --output "$MUTANTS_OUT" \
  "${args[@]}" -- --lib --test vectors --test object --test format_doc --test recipient || true
echo "mutants: $(wc -l < "$MUTANTS_OUT/mutants.out/caught.txt") caught, $(wc -l < "$MUTANTS_OUT/mutants.out/missed.txt") missed, $(wc -l < "$MUTANTS_OUT/mutants.out/timeout.txt") timed out, $(wc -l < "$MUTANTS_OUT/mutants.out/unviable.txt") unviable; missed ones in $MUTANTS_OUT/mutants.out/missed.txt" >&2
