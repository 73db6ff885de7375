#!/usr/bin/env bash
# Runs a test command and fails unless it reported N suites, each with at
# least one passing test: a runner that found nothing to run (a filter left
# in the environment, a driver that loaded no tests) exits 0 otherwise.
#   scripts/count-tests.sh N -- command args...
set -uo pipefail
want=$1
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
suites=$(grep -cE '^test result: ok\. [1-9][0-9]* passed' "$log")
empty=$(grep -cE '^test result: .* 0 passed' "$log")
if [ "$empty" -gt 0 ] || [ "$suites" -ne "$want" ]; then
  echo "count-tests: expected $want suites with tests; saw $suites, and $empty that ran nothing" >&2
  exit 1
fi
