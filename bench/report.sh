#!/usr/bin/env bash
# The performance report: builds the benchmarks, runs every one of them, and prints one summary
# table (the one the README keeps) followed by each benchmark's own table and command.
#   bench/report.sh [--build DIR] [--soak-s SECONDS] [--processes N] [--rounds N] [--idle-s N]
#                   [--large N]
# Needs root (the process connector). Takes about 9 minutes with the defaults on 2 idle vCPUs
# (the capture of --large processes runs one round per observer, the rest --rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build soak_s=120 processes=2000 rounds=3 idle_s=60 large=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --soak-s) soak_s=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --idle-s) idle_s=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    *) echo "usage: bench/report.sh [--build DIR] [--soak-s S] [--processes N] [--rounds N] [--idle-s N] [--large N]" >&2; exit 64 ;;
  esac
done
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build "$build" -j "$(nproc)" >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {  # name, command...
  local name=$1
  shift
  echo "report: running $name: $*" >&2
  printf '%s\n' "$*" >"$out/$name.cmd"
  "$@" >"$out/$name.md" 2>"$out/$name.err" || {
    echo "report: $name failed; its stderr:" >&2
    cat "$out/$name.err" >&2
    exit 1
  }
}
b=$build/bench
run capture "$b/capture/capture-bench" --processes "$processes" --rounds "$rounds" \
  --large "$large" --large-rounds 1
run sweep "$b/sweep/cellos-telemetry-bench-sweep"
run throughput "$b/throughput/cellos-telemetry-bench-throughput"
run footprint "$b/footprint/cellos-telemetry-bench-footprint"
run soak "$b/soak/cellos-telemetry-soak" --duration-s "$soak_s" --restart-every-s 30
# Idle probes: without CAP_SYS_RESOURCE (bit 24 of CapEff) the kernel takes only 2 s PSI windows.
idle_sets=(pressure kernel pressure,kernel) idle_opts=()
if (( ! ((16#$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24) & 1) )); then
  idle_opts=(--probe-options pressure $'cpu_window_us = 2000000\nmemory_window_us = 2000000\nio_window_us = 2000000')
fi
run probe_idle "$b/probe-idle/cellos-telemetry-bench-probe-idle" --seconds "$idle_s" "${idle_opts[@]}" "${idle_sets[@]}"

cell() {  # file, row pattern (awk regex on the first column), column number (1-based)
  awk -F'|' -v pat="$2" -v col="$3" '$2 ~ pat { v=$(col+1); gsub(/^ +| +$/, "", v); print v; exit }' "$out/$1.md"
}
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# cellos-telemetry performance report"
echo
echo "Machine: $(nproc) vCPU ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"); load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
type=$(grep -m1 '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2)
echo "Build: $build (${type:-RelWithDebInfo, the default}), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + local changes'), $(date -u '+%Y-%m-%d %H:%M UTC')."
echo
echo "| figure | value | goal |"
echo "|---|---|---|"
echo "| capture, netlink (vsock sink): spawned / exec / exited (of $processes x $rounds \`/bin/true\`) | $(cell capture 'vsock sink' 3) / $(cell capture 'vsock sink' 4) / $(cell capture 'vsock sink' 5) | 100% |"
echo "| capture, procfs at 100 ms: spawned / exec / exited | $(cell capture 'procfs' 3) / $(cell capture 'procfs' 4) / $(cell capture 'procfs' 5) | honest |"
echo "| fork-to-event latency, netlink: median / p99 | $(cell capture 'vsock sink' 8) | |"
echo "| CPU µs per process, $processes \`/bin/true\`: agent (vsock sink) vs forkstat vs floor | $(cell capture 'vsock sink' 9) vs $(cell capture 'forkstat' 9) vs $(cell capture 'floor' 9) | agent <= 0.6x forkstat |"
echo "| procfs sweep, ms CPU: ~100 / ~1,000 / ~10,000 processes (floor: bare getdents64) | $(awk -F'|' 'NR>2 {gsub(/ /,"",$3); gsub(/ /,"",$4); printf "%s%s (%s)", sep, $3, $4; sep=" / "}' "$out/sweep.md") | |"
echo "| agent path (scripted probe to vsock sink to a Unix socket): events per CPU-second | $(cell throughput 'agent' 6) | >= 5M |"
echo "| bytes per frame | $(cell throughput 'agent' 7) | |"
echo "| resident memory idle | $(cell footprint 'resident memory idle' 2) | <= 4 MiB |"
echo "| resident memory under storm (max / final, KiB) | $(cell soak 'VmRSS' 2) | <= 4 MiB |"
echo "| soak accounting: received + dropped = queued - left | $(cell soak 'received \+ dropped' 2) | exact |"
echo "| agent + plugins, stripped | $(cell footprint 'agent \+ plugins' 2) | <= 1 MiB |"
echo "| exec to ready (--fork), median / max | $(cell footprint 'median' 2) / $(cell footprint 'max' 2) | <= 20 ms |"
echo "| idle CPU, % of one CPU: core alone / pressure probe (events meanwhile) | $(cell probe_idle 'none' 4) / $(cell probe_idle '^ pressure' 4) ($(cell probe_idle '^ pressure' 5)) | < 0.1% |"
echo "| idle CPU, % of one CPU: kernel probe / pressure and kernel together (events meanwhile) | $(cell probe_idle '^ kernel' 4) ($(cell probe_idle '^ kernel' 5)) / $(cell probe_idle '^ pressure,kernel' 4) ($(cell probe_idle '^ pressure,kernel' 5)) | < 0.1% |"
for name in capture sweep throughput footprint soak probe_idle; do
  echo
  echo "## $name"
  echo
  echo "\`$(cat "$out/$name.cmd")\`"
  echo
  cat "$out/$name.md"
done
