#!/usr/bin/env bash
# Runs a command with the local Garage up and its client environment set;
# stops Garage afterwards (by PID) if this script started it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
started=
if ! [ -f "${GARAGE_DIR:-$here/../.garage}/garage.pid" ] || ! kill -0 "$(cat "${GARAGE_DIR:-$here/../.garage}/garage.pid")" 2>/dev/null; then
  started=1
fi
# Trap first: a start that fails half-way must not leave Garage running.
[ -n "$started" ] && trap '"$here/garage.sh" stop' EXIT
"$here/garage.sh" start
eval "$("$here/garage.sh" env)"
"$@"
