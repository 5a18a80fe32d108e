#!/usr/bin/env bash
# Fresh Debian 12 machine to green tests: installs what is missing, builds,
# runs every test suite with ctest (a short fuzz run of the socket parsers included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$@"
build="${BUILD_DIR:-$root/build}"
ctest --test-dir "$build" --output-on-failure --timeout 600 -j "${JOBS:-2}"
