#!/usr/bin/env bash
# Builds the libFuzzer targets of every parser that reads from a socket or a
# file (fuzz/*.cpp) with clang-14, ASan and UBSan straight from their sources
# (no CMake, no CAF) and runs each for a bounded time. Exits non-zero when a
# target crashes or finds a sanitizer error.
#   FUZZ_SECONDS   seconds per target (default 8)
#   FUZZ_TARGETS   the targets to run (default: all, in the order below)
#   BUILD_DIR      build root; binaries, objects and findings go to $BUILD_DIR/fuzz
#   JOBS           parallel compiles (default 2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-8}"
out="${BUILD_DIR:-build}/fuzz"
jobs="${JOBS:-2}"

# clang-14 and its fuzzer runtime are among the project's packages.
"$root/scripts/install-deps.sh" >/dev/null

cxx=clang++-14
includes=(-Iruntime/include -Istorage/include -Iruntime/src -Istorage/src
          -Iactors/include -Iactors/src -Iserver/include -Itools)
# toml++ as blaze-node uses it: Debian's shared library, not the header-only
# mode. (toml++ 3.3.0's headers assert on "[=]" where the library, built
# without the assertion, reports a parse error.)
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1)

# The sources each target links besides fuzz/<target>.cpp.
channel_sources="runtime/src/secure_channel.cpp runtime/src/handshake_codec.cpp
  runtime/src/record_layer.cpp runtime/src/channel_crypto.cpp runtime/src/key_schedule.cpp
  runtime/src/known_nodes.cpp storage/src/status.cpp"
# The storage op codec, and the team seal (with its crypto) that validation knows of.
codec_sources="storage/src/codec.cpp storage/src/value.cpp storage/src/names.cpp
  storage/src/team_seal.cpp storage/src/crypto.cpp storage/src/status.cpp"
declare -A sources=(
  # The secure channel's handshake and record layer (sockets).
  [fuzz_hello]="$channel_sources"
  [fuzz_records]="$channel_sources"
  # The relay link's frame reader (sockets), with the op codec it decodes
  # batches with and the HMAC of its access proofs.
  [fuzz_link_frames]="runtime/src/link_protocol.cpp runtime/src/channel_crypto.cpp $codec_sources"
  # Stored records and ops (files), and sealed ops opened by team members.
  [fuzz_stored_values]="storage/src/record_state.cpp $codec_sources"
  # An app group's manifest.json (a file other apps write).
  [fuzz_manifest]="actors/src/manifest_codec.cpp"
  # The blaze-node config (a file; toml++).
  [fuzz_node_config]="server/src/config.cpp $codec_sources"
  # blaze import's JSON lines (a file).
  [fuzz_import_lines]="tools/json_codec.cpp tools/base64.cpp $codec_sources"
)
all_targets="fuzz_hello fuzz_records fuzz_link_frames fuzz_stored_values fuzz_manifest
  fuzz_node_config fuzz_import_lines"
targets="${FUZZ_TARGETS:-$all_targets}"
mkdir -p "$out/obj" "$out/artifacts"

# Seeds live in the repo (fuzz/corpus/<target>); regenerate them if absent.
if [ ! -d fuzz/corpus/fuzz_hello ] || [ ! -d fuzz/corpus/fuzz_records ]; then
  echo "fuzz: generating seed corpora"
  # shellcheck disable=SC2086
  $cxx -std=c++17 -O1 "${includes[@]}" fuzz/make_seeds.cpp $channel_sources -lcrypto \
    -o "$out/make_seeds"
  "$out/make_seeds" fuzz/corpus
fi

# Each source is compiled once (in parallel), however many targets link it;
# an object is rebuilt when it is older than its source or any header it
# includes (clang's dependency file).
object_of() { echo "$out/obj/$(echo "${1%.cpp}" | tr / _).o"; }
stale() {
  local obj="$1" dep="${1%.o}.d"
  [ -f "$obj" ] && [ -f "$dep" ] || return 0
  local f
  for f in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$dep"); do
    [ "$f" -nt "$obj" ] && return 0
  done
  return 1
}
# Objects built with other flags are stale too.
if [ "$(cat "$out/obj/flags" 2>/dev/null)" != "${flags[*]} ${includes[*]}" ]; then
  rm -f "$out"/obj/*.o "$out"/obj/*.d
  echo "${flags[*]} ${includes[*]}" >"$out/obj/flags"
fi
needed=()
for target in $targets; do
  for src in "fuzz/$target.cpp" ${sources[$target]}; do
    obj="$(object_of "$src")"
    if stale "$obj" && [[ " ${needed[*]} " != *" $src "* ]]; then
      needed+=("$src")
    fi
  done
done
if [ ${#needed[@]} -gt 0 ]; then
  echo "fuzz: compiling ${#needed[@]} sources"
  export cxx out
  export flags_line="${flags[*]} ${includes[*]}"
  printf '%s\n' "${needed[@]}" | xargs -P "$jobs" -I{} bash -c '
    src="{}"; obj="$out/obj/$(echo "${src%.cpp}" | tr / _).o"
    $cxx $flags_line -MMD -MF "${obj%.o}.d" -c "$src" -o "$obj" || exit 255'
fi

status=0
for target in $targets; do
  objs=()
  for src in "fuzz/$target.cpp" ${sources[$target]}; do
    objs+=("$(object_of "$src")")
  done
  # Sources shared by the lists (status.cpp) are linked once.
  mapfile -t objs < <(printf '%s\n' "${objs[@]}" | awk '!seen[$0]++')
  libs=(-lcrypto)
  [ "$target" = fuzz_node_config ] && libs+=(-ltomlplusplus)
  $cxx -fsanitize=fuzzer,address,undefined "${objs[@]}" "${libs[@]}" -o "$out/$target"
  # New inputs go to the scratch corpus under $out; the repo's seeds are read only.
  mkdir -p "$out/corpus/$target" "fuzz/corpus/$target"
  echo "fuzz: running $target for ${seconds}s"
  if ! "$out/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/artifacts/$target-" \
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
