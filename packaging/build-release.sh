#!/usr/bin/env bash
# Configures and builds the tree that packages and guest images are made from:
#   packaging/build-release.sh [BUILD_DIR]      (default: build-release/ in the source tree)
# Prefix /usr, because the libdir (where the agent, relative to itself, finds its plugins) is
# Debian's multiarch one only for /usr, and the agent looks for /etc/cellos-telemetry/agent.toml; MinSizeRel (the guest pays for every resident page; the
# README's footprint figures are of this build); no tests, benchmarks or developer-only flags.
# CELLOS_TELEMETRY_BUILD_TYPE overrides the build type (e.g. Release).
# Build output goes to stderr.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-release}
# --no-warn-unused-cli: a flag the tree does not know (yet) is not worth a warning here.
cmake -S "$src" -B "$build" --no-warn-unused-cli \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_BUILD_TYPE="${CELLOS_TELEMETRY_BUILD_TYPE:-MinSizeRel}" \
  -DCELLOS_TELEMETRY_TESTS=OFF \
  -DCELLOS_TELEMETRY_BENCH=OFF \
  -DCELLOS_TELEMETRY_SANITIZE=OFF \
  -DCELLOS_TELEMETRY_DEVELOPER_BUILD=OFF >&2
cmake --build "$build" -j "$(nproc)" >&2
