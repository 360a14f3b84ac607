#!/bin/sh
# Builds each fuzz target with libFuzzer + ASan + UBSan straight from the
# library sources and fuzzes it for N seconds (default 60) from its seed
# corpus:
#   config  tests/fuzz/fuzz-config.c  the config.json parser (specs/)
#   unpack  tests/fuzz/fuzz-unpack.c  the layer tar unpacker (image/)
#   fuse    tests/fuzz/fuzz-fuse.c    the virtio-fs FUSE server (runtime/vm/)
# Prints one TAP line per target and exits non-zero when a fuzzer finds a
# crash, a leak or undefined behaviour; reproducers stay in the work dir.
#
# usage: tests/fuzz/run-fuzz.sh [SECONDS] [WORKDIR]
set -eu

seconds=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/ward-fuzz.XXXXXX")}
CC=${CC:-clang}

command -v "$CC" >/dev/null 2>&1 || { echo "run-fuzz: $CC not found (apt-get install clang)" >&2; exit 77; }

# The library sources include <config.h> from the build; a stand-in with
# the few values they use lets the fuzzers build without configure.
mkdir -p "$work"
printf '#define PACKAGE_VERSION "fuzz"\n#define WARD_GIT_COMMIT "fuzz"\n' > "$work/config.h"

failed=0
n=0

# fuzz NAME PKGS SOURCES...: build and run one target.
fuzz () {
  name=$1 pkgs=$2
  shift 2
  n=$((n + 1))
  dir=$work/$name
  mkdir -p "$dir/corpus" "$dir/artifacts"
  dict=
  [ -f "$top/tests/fuzz/$name.dict" ] && dict=-dict=$top/tests/fuzz/$name.dict
  # shellcheck disable=SC2046,SC2086
  if ! "$CC" -g -O1 -D_GNU_SOURCE -I"$work" -I"$top" $(pkg-config --cflags $pkgs) \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -fno-omit-frame-pointer -o "$dir/fuzz" "$@" $(pkg-config --libs $pkgs) > "$dir/build.log" 2>&1; then
    tail -20 "$dir/build.log" >&2
    echo "not ok $n - fuzz $name: build failed (see $dir/build.log)"
    failed=1
    return
  fi
  set +e
  # shellcheck disable=SC2086
  "$dir/fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 $dict -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$top/tests/fuzz/corpus/$name" > "$dir/fuzz.log" 2>&1
  rc=$?
  set -e
  tail -n 8 "$dir/fuzz.log" >&2
  if [ "$rc" -ne 0 ] || ls "$dir/artifacts/" | grep -q .; then
    echo "not ok $n - fuzz $name: FAILED (exit $rc); reproducers in $dir/artifacts"
    failed=1
  else
    echo "ok $n - fuzz $name: no crash in ${seconds}s"
  fi
}

common_sources=$(ls "$top"/common/*.c)
specs_sources=$(ls "$top"/specs/*.c)
image_sources=$(ls "$top"/image/*.c)

# shellcheck disable=SC2086
fuzz config "json-c" "$top/tests/fuzz/fuzz-config.c" $common_sources $specs_sources
# shellcheck disable=SC2086
fuzz unpack "json-c libarchive libcurl" "$top/tests/fuzz/fuzz-unpack.c" \
  $common_sources $specs_sources $image_sources
# shellcheck disable=SC2086
fuzz fuse "json-c" "$top/tests/fuzz/fuzz-fuse.c" "$top/runtime/vm/fuse_server.c" \
  "$top/runtime/vm/virtq.c" "$top/runtime/vm/memory.c" $common_sources

echo "1..$n"
exit $failed
