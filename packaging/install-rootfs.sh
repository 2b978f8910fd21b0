#!/usr/bin/env bash
# Installs what a microVM guest needs to run cellos-telemetry into a root filesystem directory,
# and prints each file and the total size:
#   packaging/install-rootfs.sh DESTDIR [BUILD_DIR]
# DESTDIR    the directory that becomes (part of) the guest's root filesystem
# BUILD_DIR  a built tree configured with -DCMAKE_INSTALL_PREFIX=/usr, used as it is; without it,
#            build-release/ is configured and built first (packaging/build-release.sh)
# Installs the "agent" component, binaries stripped:
#   /usr/bin/cellos-telemetry
#   /usr/lib/<multiarch>/cellos-telemetry/plugins/{probe,sink}-*.so
#   /etc/cellos-telemetry/agent.toml, and an empty /etc/cellos-telemetry/agent.d/ for drop-ins
# Not installed: headers and the CMake package (plugin authors build on a workstation, not in the
# guest), the man page and docs, and cellos-telemetry-recv, which runs on the host side of the
# channel. Exit codes: 0 installed, 64 bad arguments or unsuitable BUILD_DIR, other: a step failed.
set -euo pipefail

usage() {
  echo "usage: $0 DESTDIR [BUILD_DIR]" >&2
  exit 64
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
dest=$(cd "$1" && pwd)

if [ $# -eq 2 ]; then
  [ -f "$2/CMakeCache.txt" ] || { echo "$0: $2 is not a configured build tree" >&2; exit 64; }
  build=$(cd "$2" && pwd)
else
  build=$src/build-release
  "$src/packaging/build-release.sh" "$build"
fi

# A tree built for another prefix installs under that prefix (its bin/, its lib/ without the
# multiarch part, its etc/): its agent would find its plugins, but not /etc/cellos-telemetry,
# where it looks for its configuration.
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
  echo "$0: $build is configured for prefix '$prefix'; a guest needs /usr." >&2
  echo "  Reconfigure it with -DCMAKE_INSTALL_PREFIX=/usr, or leave BUILD_DIR out." >&2
  exit 64
fi

DESTDIR=$dest cmake --install "$build" --component agent --strip >&2

# The manifest lists what this install wrote (paths in the guest), so the size is ours, not that
# of whatever else DESTDIR holds.
files=()
while IFS= read -r file; do
  [ -f "$dest$file" ] && files+=("$file")
done < <(sort "$build/install_manifest_agent.txt")
total=0
echo "cellos-telemetry installed into $dest (prefix /usr, stripped):"
for file in "${files[@]}"; do
  size=$(stat -c %s "$dest$file")
  total=$((total + size))
  printf '  %9d  %s\n' "$size" "$file"
done
kib=$(cd "$dest" && du -ck "${files[@]/#/.}" | tail -n 1 | cut -f 1)
printf 'total: %d bytes (%d KiB on disk, du -ck)\n' "$total" "$kib"

# Shared libraries are the image's business (its package manager installs them), but a missing
# one only shows when the guest boots; name each one DESTDIR lacks, and its Debian package here.
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
needed=$(for file in "${files[@]}"; do
  readelf -d "$dest$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
done | sort -u)
missing=0
for lib in $needed; do
  found=0
  for dir in /lib /usr/lib "/$libdir" "/usr/$libdir"; do
    [ -e "$dest$dir/$lib" ] && found=1 && break
  done
  [ $found -eq 1 ] && continue
  [ $missing -eq 0 ] && echo "shared libraries the guest also needs (not found in $dest):"
  missing=1
  pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  echo "  $lib${pkg:+ (Debian package $pkg)}"
done

# The agent refuses plugins that a non-root user other than itself could have replaced. Files
# written by an unprivileged user carry that user's uid into the image unless it is built with
# root ownership (for example mkfs.ext4 -d after `chown -R 0:0`, or under fakeroot).
if [ "$(id -u)" -ne 0 ]; then
  echo "note: the files are owned by uid $(id -u); give them to root (uid 0) in the image" >&2
fi
