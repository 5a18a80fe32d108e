#!/usr/bin/env bash
# Installs the Debian 12 packages Blaze builds with, skipping what is present.
# With --bench also the benchmark's peers and plotting (redis-server, gnuplot).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git
  libssl-dev libleveldb-dev libsnappy-dev
  libcaf-dev libcereal-dev libboost-test-dev
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev
  graphviz jq iproute2
  clang-14 libclang-rt-14-dev
)

# --bench: what blaze-bench compares with and draws with, too.
if [ "${1:-}" = "--bench" ]; then
  packages+=(redis-server gnuplot-nox)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
