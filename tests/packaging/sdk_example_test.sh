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
for f in include/cellos/telemetry/plugin_abi.h include/cellos/telemetry/sdk.hpp \
  include/cellos/telemetry/unique_fd.hpp include/cellos/telemetry/clock.hpp \
  include/cellos/telemetry/testing/mock_host.hpp bin/cellos-telemetry etc/cellos-telemetry/agent.toml; do
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

step "its unit test, with the SDK's mock host in place of the agent (ctest in the example)"
ctest --test-dir "$hello" --output-on-failure >"$work/hello-ctest.log" 2>&1 ||
  fail "the example's unit test: $(cat "$work/hello-ctest.log")"
expect_contains "$(cat "$work/hello-ctest.log")" "100% tests passed" "the example's ctest"

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

# The other two examples, each built against the prefix alone, warnings as errors.
build_example() {  # NAME LANG-FLAGS-VARIABLE -> the build dir
  local dir=$work/$1-build
  cmake -S "$CT_SOURCE_DIR/examples/$1" -B "$dir" \
    -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    "-D$2=-Wall -Wextra -Wpedantic -Werror" >"$work/$1-configure.log" ||
    fail "configure $1: $(cat "$work/$1-configure.log")"
  cmake --build "$dir" >"$work/$1-build.log" 2>&1 || fail "build $1: $(cat "$work/$1-build.log")"
  echo "$dir"
}
only_export() {  # SO: the entry point must be its only own export
  local exports
  exports=$(nm -D --defined-only "$1" | awk '{ print $NF }' | grep -vE '^_Z[A-Z]*(St|N9__gnu_cxx)' || true)
  [ "$exports" = cellos_telemetry_plugin ] || fail "$1 exports: $exports"
}

step "examples/hello-sink (C++) and examples/hello-c-probe (C, -Wmissing-prototypes) build"
sink_build=$(build_example hello-sink CMAKE_CXX_FLAGS)
c_build=$(build_example hello-c-probe CMAKE_C_FLAGS)
only_export "$sink_build/sink-hello.so"
# tick.c's helper is not static: hidden only if the helper hides C symbols too.
only_export "$c_build/probe-hello_c.so"

step "their READMEs' options tables are their own (--options-markdown)"
for pair in "hello-sink:$sink_build/sink-hello.so" "hello-c-probe:$c_build/probe-hello_c.so"; do
  table=$("$agent" --options-markdown "${pair#*:}")
  readme_table=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' \
    "$CT_SOURCE_DIR/examples/${pair%%:*}/README.md" | sed '1d;$d')
  [ "$table" = "$readme_table" ] ||
    fail "examples/${pair%%:*}/README.md options table differs from --options-markdown:"$'\n'"$table"
done

step "the agent runs the C probe into the example sink"
cat >"$work/pair.toml" <<TOML
[[probes.hello_c]]
interval_ms = 20
name = "from c"

[[sinks.hello]]
path = "$work/pair.log"
TOML
pair_args=(--config "$work/pair.toml" --plugin-dir "$plugin_dir" --plugin-dir "$sink_build"
  --plugin-dir "$c_build")
"$agent" "${pair_args[@]}" >"$work/pair.out" 2>"$work/pair.err" &
agent_pid=$!
for _ in $(seq 200); do
  [ "$(grep -c '^hello_c\.tick' "$work/pair.log" 2>/dev/null)" -ge 3 ] && break
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.05
done
kill -TERM "$agent_pid" 2>/dev/null || fail "the agent ended by itself: $(cat "$work/pair.err")"
rc=0
wait "$agent_pid" || rc=$?
pid=$agent_pid
agent_pid=
[ $rc -eq 0 ] || fail "agent exited $rc on SIGTERM: $(cat "$work/pair.err")"
# PROBE_SOURCE PID COMM NS count=N: the comm has a space, so fields 3-4 are "from c".
awk -v pid="$pid" '
  $1 != "hello_c.tick" { next }
  $2 != pid || $3 != "from" || $4 != "c" || $6 != "count=" (n + 1) { print "bad line: " $0; bad = 1 }
  { n++ }
  END { if (n < 3) { print n " ticks, wanted at least 3"; bad = 1 }; exit bad }
' "$work/pair.log" || fail "the sink wrote:"$'\n'"$(cat "$work/pair.log")"
rc=0
out=$("$agent" --check-config "${pair_args[@]}" 2>&1) || rc=$?
[ $rc -eq 0 ] || fail "--check-config of the pair exited $rc: $out"
sed -i 's/^name = .*/name = "sixteen bytes!!!"/' "$work/pair.toml"
rc=0
out=$("$agent" --check-config "${pair_args[@]}" 2>&1) || rc=$?
[ $rc -eq 78 ] || fail "--check-config with a 16-byte name exited $rc: $out"
expect_contains "$out" "name must be 1 to 15 bytes, not 16" "the C probe's error"

step "the SDK's docs and examples are installed"
docdir=$prefix/share/doc/cellos-telemetry-dev
for f in docs/writing-a-probe.md examples/hello-probe/README.md examples/hello-sink/README.md \
  examples/hello-sink/hello_sink.cpp examples/hello-c-probe/README.md \
  examples/hello-c-probe/hello_c_probe.c testing/capture_sink.cpp; do
  [ -f "$docdir/$f" ] || fail "not installed: $docdir/$f"
done

step "every relative link in the installed Markdown resolves inside the prefix"
broken=""
while IFS= read -r md; do
  # ](target) links, minus web addresses and in-page anchors; a #fragment is cut off.
  while IFS= read -r target; do
    case $target in http://* | https://* | mailto:* | '#'*) continue ;; esac
    target=${target%%#*}
    [ -e "$(dirname "$md")/$target" ] || broken+="${md#"$prefix"/}: $target"$'\n'
  done < <(grep -oE '\]\([^) ]+\)' "$md" | sed 's/^](//; s/)$//')
done < <(find "$prefix" -name '*.md')
[ -z "$broken" ] || fail "broken links in installed docs:"$'\n'"$broken"

step "cmake --install of the example puts it where the agent of that prefix looks"
cmake --install "$hello" --prefix "$prefix" >/dev/null
[ -f "$plugin_dir/probe-hello.so" ] || fail "not installed: $plugin_dir/probe-hello.so"
sed -i 's/^greeting = .*/greeting = "hello"/; s/^\[\[sinks.capture\]\]/[[sinks.stdout]]/; /^path = /d' \
  "$work/hello.toml"
out=$("$agent" --check-config --config "$work/hello.toml" --plugin-dir "$plugin_dir" 2>&1) ||
  fail "--check-config with the installed example exited $?: $out"
expect_contains "$out" "$plugin_dir/probe-hello.so" "--check-config"
echo "PASS"
