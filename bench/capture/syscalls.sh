#!/usr/bin/env bash
# Syscalls and context switches per process of each observer, while a shell runs N /bin/true
# one after another: the "where the time goes" figures of probes/process/README.md. Needs root
# and perf (linux-perf). Each row runs its observer alone, in the order given, once per round.
#   bench/capture/syscalls.sh [--build DIR] [--processes N] [--rounds N]
#                             [--baseline AGENT PLUGIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build processes=2000 rounds=3 base_agent= base_plugins=
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --baseline) base_agent=$2; base_plugins=$3; shift 3 ;;
    *) echo "usage: bench/capture/syscalls.sh [--build DIR] [--processes N] [--rounds N] [--baseline AGENT PLUGIN_DIR]" >&2; exit 64 ;;
  esac
done
command -v perf >/dev/null || { echo "syscalls.sh: perf not found (apt-get install linux-perf)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

config() {  # context, plugin dir -> config file (stdout sink to /dev/null: the probe's own cost)
  local f="$tmp/$1-$RANDOM.toml"
  printf '[agent]\nplugin_dir = "%s"\nheartbeat_interval_ms = 0\n[[probes.process]]\nmethod = "netlink"\nemit_initial = false\ncontext = "%s"\n[[sinks.stdout]]\nformat = "json"\n' "$2" "$1" >"$f"
  echo "$f"
}

measure() {  # label, command... : one row's figures for one round
  local label=$1
  shift
  "$@" >/dev/null 2>"$tmp/err" &
  local pid=$!
  pids+=("$pid")
  sleep 0.5
  perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$pid" -o "$tmp/perf" &
  local perf=$!
  sleep 0.3
  bash -c "for ((i = 0; i < $processes; i++)); do /bin/true; done"
  sleep 0.3
  kill -INT "$perf"
  wait "$perf" || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  awk -F, -v n="$processes" -v label="$label" '
    /raw_syscalls/ { sc = $1 / n } /context-switches/ { cs = $1 / n } /task-clock/ { us = $1 * 1000 / n }
    END { printf "%s\t%.2f\t%.2f\t%.1f\n", label, sc, cs, us }' "$tmp/perf"
}

agent=$build/core/cellos-telemetry
plugins=$(cd "$build/plugins" && pwd)
floor=$build/bench/capture/capture-floor-observer
for ((r = 0; r < rounds; r++)); do
  measure "floor" "$floor"
  for ctx in minimal full; do
    measure "agent, context = \"$ctx\"" "$agent" --config "$(config "$ctx" "$plugins")"
    if [ -n "$base_agent" ]; then
      measure "baseline agent, context = \"$ctx\"" "$base_agent" --config "$(config "$ctx" "$(cd "$base_plugins" && pwd)")"
    fi
  done
done >"$tmp/rows"

echo "| $processes x /bin/true from a shell, $rounds rounds | syscalls per process | context switches per process | CPU µs per process (task-clock) |"
echo "|---|---|---|---|"
# Median of each column over the rounds, per observer, in first-seen order.
awk -F'\t' '
  { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } k = $1; c[k]++; a[k, c[k]] = $2; b[k, c[k]] = $3; d[k, c[k]] = $4 }
  function med(arr, key, cnt,   i, j, t, v) {
    for (i = 1; i <= cnt; i++) v[i] = arr[key, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((cnt + 1) / 2)]
  }
  END { for (i = 1; i <= n; i++) { k = order[i]; printf "| %s | %.2f | %.2f | %.1f |\n", k, med(a, k, c[k]), med(b, k, c[k]), med(d, k, c[k]) } }
' "$tmp/rows"
