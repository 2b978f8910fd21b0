#!/usr/bin/env bash
# The .deb packages: build them with cpack from the release tree (configured for /usr), check
# their control data and contents, unpack them with dpkg-deb -x into a scratch root and run the
# agent from there on the shipped config; build the example against the unpacked -dev package.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
: "${CT_RELEASE_TREE:?set by CTest}"

tree=$CT_RELEASE_TREE
prefix=$(cache_value "$tree" CMAKE_INSTALL_PREFIX)
libdir=$(cache_value "$tree" CMAKE_INSTALL_LIBDIR)
[ "$prefix" = /usr ] || fail "$tree is configured for $prefix, not /usr"
plugin_dir=/usr/$libdir/cellos-telemetry/plugins
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$tree/CPackConfig.cmake")
arch=$(dpkg --print-architecture)

step "cpack in $tree"
out=$work/out
cpack --config "$tree/CPackConfig.cmake" -B "$out" >"$work/cpack.log" 2>&1 ||
  fail "cpack: $(cat "$work/cpack.log")"
main=$out/cellos-telemetry_${version}-1_$arch.deb
dev=$out/cellos-telemetry-dev_${version}-1_$arch.deb
if [ ! -f "$main" ] || [ ! -f "$dev" ]; then fail "expected $main and $dev; made: $(ls "$out")"; fi
ls -l "$main" "$dev"

step "control data"
info=$(dpkg-deb -I "$main")
echo "$info"
expect_contains "$info" "Package: cellos-telemetry" "$main"
expect_contains "$info" "Version: $version-1" "$main"
expect_contains "$(dpkg-deb -f "$main" Description)" "in-guest telemetry agent" "$main"
[ "$(dpkg-deb -I "$main" conffiles)" = /etc/cellos-telemetry/agent.toml ] ||
  fail "conffiles: $(dpkg-deb -I "$main" conffiles 2>&1)"
dpkg-deb -I "$dev"
expect_contains "$(dpkg-deb -f "$dev" Package)" "cellos-telemetry-dev" "$dev"
expect_contains "$(dpkg-deb -f "$dev" Description)" "SDK for cellos-telemetry" "$dev"

step "contents"
main_files=$(dpkg-deb -c "$main" | awk '{ print $NF }')
for f in ./usr/bin/cellos-telemetry ./etc/cellos-telemetry/agent.toml ./etc/cellos-telemetry/agent.d/ \
  ./usr/share/man/man1/cellos-telemetry.1.gz ./usr/share/doc/cellos-telemetry/README.md \
  ".$plugin_dir/sink-stdout.so"; do
  expect_contains "$main_files" "$f" "$main"
done
for plugin in "$tree"/plugins/*.so; do
  expect_contains "$main_files" ".$plugin_dir/$(basename "$plugin")" "$main (every in-tree plugin)"
done
if [ -x "$tree/tools/recv/cellos-telemetry-recv" ]; then
  expect_contains "$main_files" ./usr/bin/cellos-telemetry-recv "$main"
fi
if [ -x "$tree/tools/tree/cellos-telemetry-tree" ]; then
  expect_contains "$main_files" ./usr/bin/cellos-telemetry-tree "$main"
fi
expect_lacks "$main_files" "/include/|/cmake/|$fixture_names" "$main"
dev_files=$(dpkg-deb -c "$dev" | awk '{ print $NF }')
for f in ./usr/include/cellos/telemetry/plugin_abi.h ./usr/include/cellos/telemetry/sdk.hpp \
  ./usr/$libdir/cmake/CellosTelemetry/CellosTelemetryConfig.cmake \
  ./usr/$libdir/cmake/CellosTelemetry/CellosTelemetryConfigVersion.cmake \
  ./usr/$libdir/cmake/CellosTelemetry/CellosTelemetryTargets.cmake \
  ./usr/$libdir/cmake/CellosTelemetry/CellosTelemetryPlugin.cmake \
  ./usr/share/doc/cellos-telemetry-dev/docs/writing-a-probe.md \
  ./usr/share/doc/cellos-telemetry-dev/examples/hello-probe/CMakeLists.txt; do
  expect_contains "$dev_files" "$f" "$dev"
done
expect_lacks "$dev_files" "/bin/|\\.so$|^\\./etc" "$dev"

step "dpkg-deb -x both into $work/root"
root=$work/root
dpkg-deb -x "$main" "$root"
dpkg-deb -x "$dev" "$root"
agent=$root/usr/bin/cellos-telemetry

step "Depends names the package of every library the shipped binaries link"
depends=$(dpkg-deb -f "$main" Depends)
needed=$(find "$root/usr/bin" "$root$plugin_dir" -type f -exec readelf -d {} + |
  sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
# The native architecture's copy: "*/libm.so.6" alone may name libc6-i386 first.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for lib in $needed; do
  pkg=$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$pkg" ] || fail "no Debian package on this machine provides $lib"
  expect_contains "$depends" "$pkg" "Depends (for $lib)"
done

step "the shipped config passes --check-config"
out=$("$agent" --check-config --config "$root/etc/cellos-telemetry/agent.toml" \
  --plugin-dir "$root$plugin_dir" 2>&1) || fail "--check-config exited $?: $out"
echo "$out"
expect_contains "$out" "probes.process" "--check-config"
expect_contains "$out" "sinks.vsock" "--check-config"
expect_contains "$out" "vsock://2:9001" "--check-config"
expect_contains "$out" "OK: 1 probe(s), 1 sink(s)" "--check-config"

step "the agent's default plugin directory is where the package put the plugins"
# Relative to the executable: /usr/bin/../$libdir/..., here under the unpacked root.
out=$("$agent" --help --config "$work/no-such-config.toml")
expect_contains "$out" "/../$libdir/cellos-telemetry/plugins"$'\n' "--help (its default)"
expect_contains "$out" "Plugins in $root$plugin_dir " "--help"
[ -d "$root$plugin_dir" ] || fail "the package has no $plugin_dir"
out=$("$agent" --check-config --config "$root/etc/cellos-telemetry/agent.toml" 2>&1) ||
  fail "--check-config with no --plugin-dir exited $?: $out"
expect_contains "$out" "plugin directories: $root$plugin_dir"$'\n' "--check-config"
expect_contains "$("$agent" --version)" "cellos-telemetry $version" "--version"

step "the man page documents every shipped plugin, none of them unloadable"
man_page=$(gzip -dc "$root/usr/share/man/man1/cellos-telemetry.1.gz")
expect_lacks "$man_page" "cannot load|none found" "the man page"
# The core's own keys, declared and printed like a plugin's.
expect_contains "$man_page" "[agent] options:" "the man page"
expect_contains "$man_page" "heartbeat_interval_ms (int, default 5000" "the man page"
for plugin in "$root$plugin_dir"/*.so; do
  name=$(basename "$plugin" .so)
  # "probe NAME VERSION: summary", as --help has it; roff writes '-' as '\-'.
  needle="${name%%-*} ${name#*-} "
  expect_contains "$man_page" "${needle//-/\\-}" "the man page"
done

step "the example builds against the unpacked -dev package"
cmake -S "$root/usr/share/doc/cellos-telemetry-dev/examples/hello-probe" -B "$work/hello" \
  -DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF >"$work/hello.log" ||
  fail "configure: $(cat "$work/hello.log")"
cmake --build "$work/hello" >>"$work/hello.log" || fail "build: $(cat "$work/hello.log")"
out=$(printf '[[probes.hello]]\n[[sinks.stdout]]\n' >"$work/hello.toml" &&
  "$agent" --check-config --config "$work/hello.toml" --plugin-dir "$work/hello" \
    --plugin-dir "$root$plugin_dir" 2>&1) || fail "--check-config with the example: $out"
echo "PASS"
