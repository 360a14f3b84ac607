#!/bin/sh
# Builds tests/fuzz/fuzz-config.c with libFuzzer + ASan + UBSan straight from
# the library sources and fuzzes the config parser for N seconds (default 60)
# from the seed corpus.  Exits non-zero when the fuzzer finds a crash, a leak
# or undefined behaviour; the reproducer is left in the work directory.
#
# usage: tests/fuzz/run-fuzz.sh [SECONDS] [WORKDIR]
set -eu

seconds=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/ward-fuzz.XXXXXX")}
CC=${CC:-clang}

command -v "$CC" >/dev/null 2>&1 || { echo "run-fuzz: $CC not found (apt-get install clang)" >&2; exit 77; }
mkdir -p "$work/corpus" "$work/artifacts"

# The library sources include <config.h> from the build; none of them needs
# its values, so an empty one lets the fuzzer build without configure.
: > "$work/config.h"

sources="$top/tests/fuzz/fuzz-config.c"
for f in "$top"/common/*.c; do sources="$sources $f"; done
for f in "$top"/specs/*.c; do sources="$sources $f"; done

# shellcheck disable=SC2086
"$CC" -g -O1 -D_GNU_SOURCE -I"$work" -I"$top" $(pkg-config --cflags json-c) \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -o "$work/fuzz-config" $sources $(pkg-config --libs json-c)

echo "run-fuzz: fuzzing for ${seconds}s in $work"
# New inputs go to the work corpus; the committed seeds stay untouched.
set +e
"$work/fuzz-config" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -dict="$top/tests/fuzz/config.dict" -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "$top/tests/fuzz/corpus/config" > "$work/fuzz.log" 2>&1
rc=$?
set -e
tail -n 15 "$work/fuzz.log"
if [ "$rc" -ne 0 ] || ls "$work/artifacts/" | grep -q .; then
  echo "run-fuzz: FAILED (exit $rc); reproducers in $work/artifacts:" >&2
  ls -l "$work/artifacts/" >&2
  exit 1
fi
echo "run-fuzz: no crash in ${seconds}s"
