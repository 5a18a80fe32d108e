#!/usr/bin/env bash
# Fresh Debian 12 machine to green tests: installs what is missing, builds,
# runs every test suite with ctest (a short fuzz run of the parsers included).
#   scripts/test.sh [CMAKE ARGS...]              build/ (BUILD_DIR overrides)
#   scripts/test.sh --sanitize [CMAKE ARGS...]   ASan + UBSan build in build-asan/
#     (ASAN_BUILD_DIR overrides); every suite but the fuzz run, which is
#     ASan + UBSan already. Any sanitizer report fails the test it came from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=1
  shift
fi
"$root/scripts/install-deps.sh"
if [ $sanitize -eq 0 ]; then
  "$root/scripts/build.sh" "$@"
  build="${BUILD_DIR:-$root/build}"
  ctest --test-dir "$build" --output-on-failure --timeout 600 -j "${JOBS:-2}"
  exit 0
fi

build="${ASAN_BUILD_DIR:-$root/build-asan}"
# The benchmarks have no tests and the examples are run by the demo: not
# built here, which saves a third of the (slower) sanitized compile.
BUILD_DIR="$build" "$root/scripts/build.sh" -DBLAZE_SANITIZE=ON \
  -DBLAZE_BUILD_BENCH=OFF -DBLAZE_BUILD_EXAMPLES=OFF "$@"
supp="$root/tests/sanitizers"
# halt_on_error: a UBSan report stops the process, so the test fails instead
# of printing and passing. The suppression files hold CAF's own reports only.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp}"
# SANITIZE_TESTS (a ctest -R regex) narrows the run to some suites.
ctest --test-dir "$build" --output-on-failure --timeout 600 -j "${JOBS:-2}" -LE '^fuzz$' \
  ${SANITIZE_TESTS:+-R "$SANITIZE_TESTS"}
