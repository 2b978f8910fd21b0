#!/usr/bin/env bash
# The two quick-start commands, and what CI runs:
#   ./dev.sh run               install what is missing, build, run the agent on config/dev.toml
#   ./dev.sh test [--sanitize] install what is missing, build, run every test through CTest
# Debian 12; installing packages needs root. Build trees: build/ (or build-sanitize/).
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake pkg-config libcbor-dev libtomlplusplus-dev libboost-dev
  libgtest-dev libbenchmark-dev python3 python3-cbor2 forkstat
  nlohmann-json3-dev chromium)  # tools/tree: its JSON reader; its timeline page's browser test

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "dev.sh: missing Debian packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "dev.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2
  cmake --build "$dir" -j "$(nproc)" >&2
}

cmd=${1:-}
shift || true
case "$cmd" in
  run)
    install_missing
    build build
    echo "dev.sh: agent running on config/dev.toml; start commands in another terminal, Ctrl-C stops" >&2
    exec build/core/cellos-telemetry --config config/dev.toml "$@"
    ;;
  test)
    dir=build
    flags=()
    if [ "${1:-}" = "--sanitize" ]; then
      dir=build-sanitize
      flags=(-DCELLOS_TELEMETRY_SANITIZE=ON)
      shift
    fi
    install_missing
    build "$dir" "${flags[@]}"
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "$@"
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [--sanitize] [ctest args]" >&2
    exit 64
    ;;
esac
