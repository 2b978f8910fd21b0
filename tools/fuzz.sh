#!/usr/bin/env bash
# Builds every fuzz target with clang's libFuzzer (+ASan+UBSan) and runs each for SECONDS
# (default 60). New inputs go to build-fuzz/corpus/NAME; the seed corpus in fuzz/corpus/NAME is
# only read. A crash leaves its input in build-fuzz/ and makes this script fail.
#   tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (apt-get install clang)" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCELLOS_TELEMETRY_FUZZ=ON \
  -DCELLOS_TELEMETRY_TESTS=OFF -DCELLOS_TELEMETRY_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/corpus)
fi
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}" >&2
status=0
for t in "${targets[@]}"; do
  bin=$(find build-fuzz/fuzz -maxdepth 1 -type f -name "$t" | head -1)
  mkdir -p "build-fuzz/corpus/$t"
  echo "== $t: ${seconds}s" >&2
  log=build-fuzz/$t.log
  if (cd build-fuzz && "../$bin" -max_total_time="$seconds" -print_final_stats=1 \
      "corpus/$t" "../fuzz/corpus/$t") >"$log" 2>&1; then
    echo "$t: ok" >&2
  else
    echo "$t: FAILED, see $log" >&2
    status=1
  fi
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|SUMMARY)" "$log" >&2 || true
done
exit $status
