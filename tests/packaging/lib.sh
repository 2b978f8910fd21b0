#!/usr/bin/env bash
# Shared by the packaging tests (sourced): strict mode, a temp dir removed on exit (kept with
# CT_KEEP_WORK=1, for a post-mortem), and failures that say what was expected and what came.
set -euo pipefail
: "${CT_SOURCE_DIR:?set by CTest}" "${CT_BUILD_DIR:?set by CTest}"

work=$(mktemp -d "${TMPDIR:-/tmp}/ct-packaging.XXXXXX")
agent_pid=
cleanup() {
  if [ -n "$agent_pid" ]; then kill -KILL "$agent_pid" 2>/dev/null || true; fi
  if [ "${CT_KEEP_WORK:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

# expect_contains TEXT NEEDLE WHAT
expect_contains() {
  grep -qF -- "$2" <<<"$1" || fail "$3: expected '$2' in:"$'\n'"$1"
}
# expect_lacks TEXT PATTERN(ERE) WHAT
expect_lacks() {
  if grep -qE -- "$2" <<<"$1"; then
    fail "$3: did not expect /$2/ in:"$'\n'"$(grep -E -- "$2" <<<"$1")"
  fi
}
# cache_value BUILD_DIR VARIABLE: a value from a build tree's CMakeCache.txt.
cache_value() { sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt"; }

# The fixtures' file names: tests/fixtures builds them beside nothing that ships.
# shellcheck disable=SC2034 # used by the tests that source this
fixture_names='probe-(scripted|thrower|misnamed|newmajor|newminor|noentry|notelf)|sink-(capture|wrongkind)'
