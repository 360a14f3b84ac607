#!/bin/sh
# Builds the ward-vm guest kernel from Debian's linux-source-6.1:
# `make tinyconfig` + guest.config, cached in $WARD_KERNEL_CACHE/<hash>/ where
# hash = sha256(guest.config + linux-source version + this script), so a
# second run with the same inputs only copies the cached files.
#
# usage: build.sh [--prefix DIR] [--jobs N] [--keep-source] [--print-path]
#   --prefix DIR   install vmlinux (PVH entry) and bzImage into DIR
#   --print-path   print the cache dir of the current inputs and exit
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fragment="$here/guest.config"
script="$here/build.sh"
cache_root=${WARD_KERNEL_CACHE:-/var/cache/ward/kernel}
prefix=
jobs=2
keep_source=0
print_path=0
pkg=linux-source-6.1

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --jobs|-j) jobs=$2; shift 2 ;;
    --keep-source) keep_source=1; shift ;;
    --print-path) print_path=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

log() { echo "ward-kernel: $*" >&2; }

pkg_version() {
  dpkg-query -W -f '${Status} ${Version}\n' "$pkg" 2>/dev/null |
    awk '$3 == "installed" { print $4 }'
}

ver=$(pkg_version || true)
if [ -z "$ver" ]; then
  log "installing $pkg and the build tools"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "$pkg" bc flex bison libelf-dev gcc make xz-utils >&2
  ver=$(pkg_version)
fi
[ -n "$ver" ] || { log "$pkg is not installed"; exit 1; }

hash=$( { cat "$fragment"; echo "$pkg $ver"; cat "$script"; } | sha256sum | cut -c1-64)
dir="$cache_root/$hash"
if [ "$print_path" = 1 ]; then echo "$dir"; exit 0; fi

install_result() {
  if [ -n "$prefix" ]; then
    mkdir -p "$prefix"
    # copy then rename, so a reader never sees half a kernel
    for f in vmlinux bzImage config; do
      cp "$dir/$f" "$prefix/.$f.tmp" && mv -f "$prefix/.$f.tmp" "$prefix/$f"
    done
    log "installed to $prefix"
  fi
  echo "$dir/vmlinux"
}

if [ -f "$dir/vmlinux" ] && [ -f "$dir/bzImage" ]; then
  log "cache hit $dir"
  install_result
  exit 0
fi

mkdir -p "$dir"
# one builder per hash; a second caller waits and then sees the cache hit
exec 9>"$dir/.lock"
flock 9
if [ -f "$dir/vmlinux" ] && [ -f "$dir/bzImage" ]; then
  log "cache hit $dir (built by a concurrent run)"
  install_result
  exit 0
fi

tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || ls /usr/src/linux-source-6.1*.tar.* | head -n1)
src="$dir/src"
if [ ! -f "$src/Makefile" ]; then
  log "unpacking $tarball"
  rm -rf "$src" "$dir/src.tmp"
  mkdir -p "$dir/src.tmp"
  tar -xf "$tarball" -C "$dir/src.tmp" --strip-components=1
  mv "$dir/src.tmp" "$src"
fi

cd "$src"
log "configuring (tinyconfig + guest.config)"
make -s ARCH=x86_64 tinyconfig >&2
# -m: merge only; the olddefconfig below resolves the dependencies
KCONFIG_CONFIG=.config ./scripts/kconfig/merge_config.sh -m .config "$fragment" >&2
make -s ARCH=x86_64 olddefconfig >&2

# report fragment options that Kconfig dropped (unmet dependencies)
missing=0
grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment" | while IFS= read -r line; do
  grep -qxF "$line" .config || { log "warning: '$line' not in the final .config"; }
done

log "building vmlinux and bzImage with -j$jobs"
nice -n 19 make ARCH=x86_64 -j"$jobs" vmlinux bzImage >&2

cp .config "$dir/config.tmp" && mv "$dir/config.tmp" "$dir/config"
cp arch/x86/boot/bzImage "$dir/bzImage.tmp" && mv "$dir/bzImage.tmp" "$dir/bzImage"
# vmlinux last: its presence marks a complete cache entry
cp vmlinux "$dir/vmlinux.tmp" && mv "$dir/vmlinux.tmp" "$dir/vmlinux"
cd /
if [ "$keep_source" = 0 ]; then rm -rf "$src"; fi
log "built $dir/vmlinux ($(stat -c %s "$dir/vmlinux") bytes)"
install_result
