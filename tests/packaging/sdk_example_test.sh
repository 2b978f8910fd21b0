#!/usr/bin/env bash
# The SDK as a third party gets it: install this build into a scratch prefix, build
# examples/hello-probe against that prefix alone, load the result into the installed agent and
# check the events it emits (through the capturing sink fixture).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
: "${CT_FIXTURE_DIR:?set by CTest}"

prefix=$work/prefix
libdir=$(cache_value "$CT_BUILD_DIR" CMAKE_INSTALL_LIBDIR)
plugin_dir=$prefix/$libdir/cellos-telemetry/plugins
cmake_dir=$prefix/$libdir/cmake/CellosTelemetry
agent=$prefix/bin/cellos-telemetry

step "cmake --install $CT_BUILD_DIR --prefix $prefix"
cmake --install "$CT_BUILD_DIR" --prefix "$prefix" >"$work/install.log"
for f in include/cellos/telemetry/plugin_abi.h include/cellos/telemetry/sdk.hpp bin/cellos-telemetry \
  etc/cellos-telemetry/agent.toml; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
for f in CellosTelemetryConfig CellosTelemetryConfigVersion CellosTelemetryTargets \
  CellosTelemetryPlugin; do
  [ -f "$cmake_dir/$f.cmake" ] || fail "not installed: $cmake_dir/$f.cmake"
done
installed_plugins=$(ls "$plugin_dir")
expect_contains "$installed_plugins" sink-stdout.so "installed plugins"
expect_lacks "$installed_plugins" "$fixture_names" "installed plugins (test fixtures never ship)"

step "the package's version check: 0.1 accepted, 1.0 refused (SameMajorVersion)"
abi_major=$(sed -n 's/^#define CT_ABI_MAJOR \([0-9]*\).*/\1/p' "$prefix/include/cellos/telemetry/plugin_abi.h")
abi_minor=$(sed -n 's/^#define CT_ABI_MINOR \([0-9]*\).*/\1/p' "$prefix/include/cellos/telemetry/plugin_abi.h")
find_package_project() {  # VERSION DIR
  mkdir -p "$2"
  cat >"$2/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(version_check LANGUAGES CXX)  # CXX: the multiarch libdir is searched only with a language
find_package(CellosTelemetry $1 REQUIRED)
if(NOT TARGET CellosTelemetry::sdk OR NOT COMMAND cellos_telemetry_add_probe
   OR NOT COMMAND cellos_telemetry_add_sink)
  message(FATAL_ERROR "the package lacks the SDK target or the plugin helpers")
endif()
message(STATUS "ABI \${CellosTelemetry_ABI_MAJOR}.\${CellosTelemetry_ABI_MINOR} plugins \${CellosTelemetry_PLUGIN_DIR}")
CMAKE
  cmake -S "$2" -B "$2/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF
}
out=$(find_package_project 0.1 "$work/v0.1" 2>&1) || fail "find_package(CellosTelemetry 0.1): $out"
expect_contains "$out" "ABI $abi_major.$abi_minor plugins $plugin_dir" "package variables"
if out=$(find_package_project 1.0 "$work/v1.0" 2>&1); then
  fail "find_package(CellosTelemetry 1.0) accepted a 0.x package: $out"
fi

step "configure examples/hello-probe against $prefix alone"
hello=$work/hello-build
cmake -S "$CT_SOURCE_DIR/examples/hello-probe" -B "$hello" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >"$work/hello-configure.log"
[ "$(cache_value "$hello" CellosTelemetry_DIR)" = "$cmake_dir" ] ||
  fail "CellosTelemetry_DIR is '$(cache_value "$hello" CellosTelemetry_DIR)', not $cmake_dir"
commands=$(cat "$hello/compile_commands.json")
expect_contains "$commands" "$prefix/include" "the example's compile command"
expect_lacks "$commands" "$CT_SOURCE_DIR/core" "the example's compile command (source tree headers)"

step "build it warnings-clean (-Wall -Wextra -Wpedantic -Werror)"
cmake --build "$hello" >"$work/hello-build.log" || fail "build: $(cat "$work/hello-build.log")"
so=$hello/probe-hello.so
[ -f "$so" ] || fail "no $so"

step "hidden visibility: the entry point is its only export besides the C++ library's templates"
# Mangled names: std:: and __gnu_cxx:: instantiations keep libstdc++'s default visibility.
exports=$(nm -D --defined-only "$so" | awk '{ print $NF }' | grep -vE '^_Z[A-Z]*(St|N9__gnu_cxx)' || true)
[ "$exports" = cellos_telemetry_plugin ] || fail "exported symbols: $exports"

step "the README's options table is the probe's own (--options-markdown)"
table=$("$agent" --options-markdown "$so")
readme_table=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' \
  "$CT_SOURCE_DIR/examples/hello-probe/README.md" | sed '1d;$d')
[ "$table" = "$readme_table" ] ||
  fail "examples/hello-probe/README.md options table differs from --options-markdown:"$'\n'"$table"

step "the installed agent loads it (--check-config)"
greeting="hi from sdk"
cat >"$work/hello.toml" <<TOML
[[probes.hello]]
interval_ms = 20
greeting = "$greeting"

[[sinks.capture]]
path = "$work/events"
TOML
args=(--config "$work/hello.toml" --plugin-dir "$plugin_dir" --plugin-dir "$hello"
  --plugin-dir "$CT_FIXTURE_DIR")
out=$("$agent" --check-config "${args[@]}" 2>&1) || fail "--check-config exited $?: $out"
expect_contains "$out" "probes.hello" "--check-config"
expect_contains "$out" "$so" "--check-config (the probe's file)"

step "run it: hello.greeting events with the agent's pid, the greeting, rising timestamps, extras"
"$agent" "${args[@]}" >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
for _ in $(seq 200); do
  [ "$(grep -c '^hello\.greeting' "$work/events" 2>/dev/null)" -ge 5 ] && break
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.05
done
kill -TERM "$agent_pid" 2>/dev/null || fail "the agent ended by itself: $(cat "$work/agent.err")"
rc=0
wait "$agent_pid" || rc=$?
pid=$agent_pid
agent_pid=
[ $rc -eq 0 ] || fail "agent exited $rc on SIGTERM: $(cat "$work/agent.err")"
hex=$(printf %s "$greeting" | od -An -tx1 | tr -d ' \n')
awk -F'\t' -v pid="$pid" -v hex="$hex" '
  $1 != "hello.greeting" { next }
  $2 != pid { print "pid " $2 ", not " pid; bad = 1 }
  $3 != hex { print "comm " $3 ", not " hex; bad = 1 }
  $4 + 0 <= last { print "timestamp " $4 " after " last; bad = 1 }
  $5 != "count=" (n + 1) { print "extra " $5 ", not count=" (n + 1); bad = 1 }
  $6 != "first=" (n == 0 ? "true" : "false") { print "extra " $6 " in event " (n + 1); bad = 1 }
  { last = $4 + 0; n++ }
  END { if (n < 5) { print n " events, wanted at least 5"; bad = 1 }; print n " events checked"; exit bad }
' "$work/events" || fail "captured events:"$'\n'"$(cat "$work/events")"

step "a bad option value is a config error naming the instance (exit 78)"
sed -i 's/^greeting = .*/greeting = "far too long a greeting"/' "$work/hello.toml"
rc=0
out=$("$agent" --check-config "${args[@]}" 2>&1) || rc=$?
[ $rc -eq 78 ] || fail "--check-config with a 23-byte greeting exited $rc: $out"
expect_contains "$out" "probes.hello" "the error"
expect_contains "$out" "greeting must be 1 to 15 bytes" "the error"

step "cmake --install of the example puts it where the agent of that prefix looks"
cmake --install "$hello" --prefix "$prefix" >/dev/null
[ -f "$plugin_dir/probe-hello.so" ] || fail "not installed: $plugin_dir/probe-hello.so"
sed -i 's/^greeting = .*/greeting = "hello"/; s/^\[\[sinks.capture\]\]/[[sinks.stdout]]/; /^path = /d' \
  "$work/hello.toml"
out=$("$agent" --check-config --config "$work/hello.toml" --plugin-dir "$plugin_dir" 2>&1) ||
  fail "--check-config with the installed example exited $?: $out"
expect_contains "$out" "$plugin_dir/probe-hello.so" "--check-config"
echo "PASS"
