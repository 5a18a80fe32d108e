#!/usr/bin/env bash
# Builds the libFuzzer targets of every parser that reads from a socket (fuzz/*.cpp) with clang-14,
# ASan and UBSan straight from the channel sources (no CMake, no CAF) and runs
# each for a bounded time. Exits non-zero when a target crashes or finds a
# sanitizer error.
#   FUZZ_SECONDS   seconds per target (default 20)
#   BUILD_DIR      build root; binaries and findings go to $BUILD_DIR/fuzz
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-20}"
out="${BUILD_DIR:-build}/fuzz"

# clang-14 and its fuzzer runtime are among the project's packages.
"$root/scripts/install-deps.sh" >/dev/null

cxx=clang++-14
includes=(-Iruntime/include -Istorage/include -Iruntime/src)
channel_sources=(
  runtime/src/secure_channel.cpp
  runtime/src/handshake_codec.cpp
  runtime/src/record_layer.cpp
  runtime/src/channel_crypto.cpp
  runtime/src/key_schedule.cpp
  runtime/src/known_nodes.cpp
  storage/src/status.cpp
)
# The relay link's frame reader, with the storage op codec it decodes batches with
# and the HMAC of its access proofs.
link_sources=(
  runtime/src/link_protocol.cpp
  runtime/src/channel_crypto.cpp
  storage/src/codec.cpp
  storage/src/value.cpp
  storage/src/names.cpp
  storage/src/team_seal.cpp
  storage/src/crypto.cpp
  storage/src/status.cpp
)
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
mkdir -p "$out"

# Seeds live in the repo (fuzz/corpus/<target>); regenerate them if absent.
if [ ! -d fuzz/corpus/fuzz_hello ] || [ ! -d fuzz/corpus/fuzz_records ]; then
  echo "fuzz: generating seed corpora"
  $cxx -std=c++17 -O1 "${includes[@]}" fuzz/make_seeds.cpp "${channel_sources[@]}" -lcrypto \
    -o "$out/make_seeds"
  "$out/make_seeds" fuzz/corpus
fi

status=0
for target in fuzz_hello fuzz_records fuzz_link_frames; do
  echo "fuzz: building $target"
  if [ "$target" = fuzz_link_frames ]; then
    sources=("${link_sources[@]}")
  else
    sources=("${channel_sources[@]}")
  fi
  $cxx "${flags[@]}" "${includes[@]}" -Istorage/src "fuzz/$target.cpp" "${sources[@]}" -lcrypto \
    -o "$out/$target"
  # New inputs go to the scratch corpus under $out; the repo's seeds are read only.
  mkdir -p "$out/corpus/$target" "$out/artifacts"
  echo "fuzz: running $target for ${seconds}s"
  if ! "$out/$target" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$target-" \
      "$out/corpus/$target" "fuzz/corpus/$target" 2>"$out/$target.log"; then
    echo "fuzz: $target FAILED, see $out/$target.log and $out/artifacts/" >&2
    tail -n 40 "$out/$target.log" >&2
    status=1
  else
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$out/$target.log" \
      | sed "s/^/fuzz: $target /"
  fi
done
exit $status
