#!/usr/bin/env bash
# Configures and builds Blaze into build/ (BUILD_DIR overrides; extra
# arguments go to CMake, e.g. -DBLAZE_SANITIZE=ON).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@"
cmake --build "$build" -j "${JOBS:-2}"
