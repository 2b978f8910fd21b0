#!/usr/bin/env bash
# packaging/install-rootfs.sh: exactly what a guest needs (agent, plugins, config) lands in the
# directory, stripped, nothing for developers; the agent there passes --check-config on the
# shipped config; the script prints the total size, and refuses a tree built for another prefix.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
: "${CT_RELEASE_TREE:?set by CTest}"

tree=$CT_RELEASE_TREE
libdir=$(cache_value "$tree" CMAKE_INSTALL_LIBDIR)
plugin_dir=/usr/$libdir/cellos-telemetry/plugins
root=$work/rootfs

step "packaging/install-rootfs.sh $root $tree"
out=$("$CT_SOURCE_DIR/packaging/install-rootfs.sh" "$root" "$tree" 2>"$work/install.err") ||
  fail "install-rootfs.sh exited $?: $(cat "$work/install.err")"
echo "$out"
expect_contains "$out" "total: " "the script's report"

step "exactly the agent, the in-tree plugins and the config"
expected=$( {
  echo /etc/cellos-telemetry/agent.toml
  echo /usr/bin/cellos-telemetry
  for plugin in "$tree"/plugins/*.so; do echo "$plugin_dir/$(basename "$plugin")"; done
} | sort)
actual=$(cd "$root" && find . -type f | sed 's|^\.||' | sort)
[ "$actual" = "$expected" ] || fail "files differ from what a guest needs:"$'\n'"$(diff <(echo "$expected") <(echo "$actual"))"
[ -d "$root/etc/cellos-telemetry/agent.d" ] || fail "no agent.d/ for drop-ins"
[ ! -e "$root/usr/include" ] || fail "headers in a guest image"

step "stripped"
while IFS= read -r f; do
  if readelf -S "$root$f" | grep -qE '\.symtab|\.debug_'; then fail "not stripped: $f"; fi
done < <(grep -v '\.toml$' <<<"$actual")

step "the agent there passes --check-config on the shipped config"
out=$("$root/usr/bin/cellos-telemetry" --check-config \
  --config "$root/etc/cellos-telemetry/agent.toml" --plugin-dir "$root$plugin_dir" 2>&1) ||
  fail "--check-config exited $?: $out"
expect_contains "$out" "OK: 1 probe(s), 1 sink(s)" "--check-config"

step "... and finds its plugins by itself, relative to where it is"
out=$("$root/usr/bin/cellos-telemetry" --check-config \
  --config "$root/etc/cellos-telemetry/agent.toml" 2>&1) || fail "--check-config exited $?: $out"
expect_contains "$out" "plugin directories: $root$plugin_dir"$'\n' "--check-config"

if [ "$(cache_value "$CT_BUILD_DIR" CMAKE_INSTALL_PREFIX)" != /usr ]; then
  step "a tree configured for another prefix is refused (exit 64)"
  rc=0
  out=$("$CT_SOURCE_DIR/packaging/install-rootfs.sh" "$work/refused" "$CT_BUILD_DIR" 2>&1) || rc=$?
  [ $rc -eq 64 ] || fail "install-rootfs.sh on $CT_BUILD_DIR exited $rc: $out"
  expect_contains "$out" "a guest needs /usr" "the refusal"
  [ -z "$(ls -A "$work/refused")" ] || fail "the refused install wrote files"
fi
echo "PASS"
