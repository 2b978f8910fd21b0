#!/usr/bin/env bash
# An install anywhere (`cmake --install BUILD --prefix DIR`, the README's route for "anywhere
# else") finds its own plugins with no plugin_dir and no --plugin-dir: the agent looks relative
# to where its executable really is, and the SDK's INSTALL option puts a third-party plugin in
# that same directory for the same prefix. Moving the whole prefix elsewhere keeps it working.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

prefix=$work/prefix
libdir=$(cache_value "$CT_BUILD_DIR" CMAKE_INSTALL_LIBDIR)

step "cmake --install $CT_BUILD_DIR --prefix $prefix"
cmake --install "$CT_BUILD_DIR" --prefix "$prefix" >"$work/install.log"

step "build examples/hello-probe against $prefix and install it there with the SDK's INSTALL"
hello=$work/hello-build
cmake -S "$CT_SOURCE_DIR/examples/hello-probe" -B "$hello" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF >"$work/hello-configure.log" ||
  fail "configure: $(cat "$work/hello-configure.log")"
cmake --build "$hello" >"$work/hello-build.log" || fail "build: $(cat "$work/hello-build.log")"
cmake --install "$hello" --prefix "$prefix" >/dev/null
plugin_dir=$prefix/$libdir/cellos-telemetry/plugins
[ -f "$plugin_dir/probe-hello.so" ] || fail "INSTALL did not put it in $plugin_dir: $(cd "$prefix" && find . -name 'probe-hello.so')"

# A config naming the third-party probe and an in-tree sink, and no plugin_dir.
cat >"$work/agent.toml" <<'TOML'
[[probes.hello]]
greeting = "relocated"

[[sinks.stdout]]
TOML

# check_finds AGENT PLUGIN_DIR: --check-config finds both plugins in PLUGIN_DIR by itself.
check_finds() {
  local out
  out=$("$1" --check-config --config "$work/agent.toml" 2>&1) ||
    fail "$1 --check-config exited $? with no plugin_dir: $out"
  expect_contains "$out" "plugin directories: $2"$'\n' "--check-config"
  expect_contains "$out" "$2/probe-hello.so" "--check-config (the SDK-installed probe)"
  expect_contains "$out" "$2/sink-stdout.so" "--check-config (the in-tree sink)"
  expect_contains "$out" "OK: 1 probe(s), 1 sink(s)" "--check-config"
}

step "$prefix/bin/cellos-telemetry --check-config finds them with no plugin_dir"
check_finds "$prefix/bin/cellos-telemetry" "$plugin_dir"

step "the same prefix moved elsewhere, and run through a symlink, still finds its own plugins"
mv "$prefix" "$work/moved"
ln -s "$work/moved/bin/cellos-telemetry" "$work/agent-link"
check_finds "$work/agent-link" "$work/moved/$libdir/cellos-telemetry/plugins"
echo "PASS"
