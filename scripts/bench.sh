#!/usr/bin/env bash
# Every benchmark in one run, on this machine: installs what is missing
# (redis-server and gnuplot too), builds (RelWithDebInfo: -O2 -g), runs `blaze-bench all`.
# Results: bench-results/bench.json, bench.txt (the tables), bench.png.
#   scripts/bench.sh [--quick] [--out DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" --bench
"$root/scripts/build.sh"
build="${BUILD_DIR:-$root/build}"
exec "$build/bench/blaze-bench" all --out "$root/bench-results" "$@"
