#!/usr/bin/env bash
# Every installed file belongs to exactly one named component (packaging/CPack.cmake): nothing
# lands in CMake's "Unspecified" component, and no file is installed by two components (the
# receiver once was: by tools/recv with no COMPONENT and again as "tools").
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

components=(agent tools doc sdk)
for c in "${components[@]}" Unspecified; do
  step "cmake --install $CT_BUILD_DIR --component $c"
  cmake --install "$CT_BUILD_DIR" --prefix "$work/$c" --component "$c" >"$work/$c.log" ||
    fail "install of component $c: $(cat "$work/$c.log")"
done

unspecified=$(cd "$work" && find Unspecified ! -type d 2>/dev/null || true)
[ -z "$unspecified" ] || fail "installed with no COMPONENT (add one):"$'\n'"$unspecified"

listing=$(for c in "${components[@]}"; do (cd "$work/$c" && find . ! -type d); done | sort)
twice=$(uniq -d <<<"$listing")
[ -z "$twice" ] || fail "installed by more than one component:"$'\n'"$twice"

expect_contains "$(cd "$work/tools" && find . -type f)" "bin/cellos-telemetry-recv" \
  "the receiver is in the tools component"
expect_contains "$(cd "$work/tools" && find . -type f)" "bin/cellos-telemetry-tree" \
  "the process tree tool is in the tools component"
echo "ok: $(wc -l <<<"$listing") files, each in one component"
