#!/bin/sh
# Builds tests/fuzz/fuzz-virtq.c and tests/fuzz/fuzz-fuse.c (the virtio-fs
# FUSE server) with libFuzzer + ASan + UBSan straight from the runtime/vm
# sources and runs each for N seconds (default 60).  Exits 1 on
# a crash, leak, timeout or UB (reproducer in WORKDIR/artifacts), 77 when
# clang is missing.
#
# usage: runtime/vm/run-fuzz-vm.sh [SECONDS] [WORKDIR]
set -eu
seconds=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/ward-fuzz-vm.XXXXXX")}
CC=${CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { echo "run-fuzz-vm: $CC not found" >&2; exit 77; }
mkdir -p "$work/corpus" "$work/artifacts"
: > "$work/config.h"
"$CC" -g -O1 -D_GNU_SOURCE -I"$work" -I"$top" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -o "$work/fuzz-virtq" "$top/tests/fuzz/fuzz-virtq.c" \
  "$top/runtime/vm/virtq.c" "$top/runtime/vm/virtio_mmio.c" "$top/runtime/vm/memory.c" \
  "$top/runtime/vm/virtio_rng.c" "$top/runtime/vm/virtio_vsock.c" \
  "$top/common/error.c" "$top/common/log.c" "$top/common/fs.c" -lpthread
# Seed: a guest that brings up the vsock device (queues inside the input's
# RAM pattern), posts receive buffers and sends a REQUEST; the fuzzer
# mutates from there instead of having to discover the register dance.
if command -v python3 >/dev/null 2>&1; then
  python3 - "$work/corpus/seed-vsock" <<'PY'
import struct, sys
hdr = struct.pack("<IIII", 0x100000 | 0x10000 | (3 << 20), 0x400, 0x500, 0x600)
tail = bytearray(0x1000)
ops = [(0x70, 3), (0x24, 1), (0x20, 1), (0x70, 11),
       (0x30, 0), (0x38, 8), (0x80, 0x480), (0x90, 0x700), (0xa0, 0x780), (0x44, 1),
       (0x30, 1), (0x38, 8), (0x80, 0x400), (0x90, 0x500), (0xa0, 0x600), (0x44, 1),
       (0x70, 15), (0x50, 0), (0x50, 1)]
o = b"".join(struct.pack("<HI", (2 << 14) | off, v) for off, v in ops)
tail[0:len(o)] = o
def desc(at, i, addr, ln, flags, nxt):
    struct.pack_into("<QIHH", tail, at + 16 * i, addr, ln, flags, nxt)
desc(0x400, 0, 0x800, 44, 0, 0)                   # tx: the REQUEST
struct.pack_into("<HHH", tail, 0x500, 0, 1, 0)     # tx avail: idx 1, ring[0] = 0
for i in range(8):                                # rx: 8 writable buffers
    desc(0x480, i, 0x900 + 0x80 * i, 0x80, 2, 0)
struct.pack_into("<HH8H", tail, 0x700, 0, 8, *range(8))
struct.pack_into("<QQIIIHHIII", tail, 0x800, 3, 2, 1000, 2000, 0, 1, 1, 0, 65536, 0)
open(sys.argv[1], "wb").write(hdr + bytes(tail))
# second seed: a direct queue (size 8, INDIRECT_DESC) with a 3-entry table
hdr = struct.pack("<IIII", 0x10000 | (1 << 18) | (3 << 20), 0x400, 0x500, 0x600)
tail = bytearray(0x1000)
desc(0x400, 0, 0x800, 48, 4, 0)
desc(0x800, 0, 0x900, 16, 1, 2)
desc(0x800, 2, 0x940, 16, 1, 1)
desc(0x800, 1, 0x980, 32, 2, 0)
struct.pack_into("<HHH", tail, 0x500, 0, 1, 0)
open(sys.argv[1].replace("seed-vsock", "seed-indirect"), "wb").write(hdr + bytes(tail))
PY
fi
echo "run-fuzz-vm: fuzzing for ${seconds}s in $work"
set +e
"$work/fuzz-virtq" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/fuzz.log" 2>&1
rc=$?
set -e
tail -n 12 "$work/fuzz.log"
if [ "$rc" -ne 0 ] || ls "$work/artifacts/" | grep -q .; then
  echo "run-fuzz-vm: FAILED (exit $rc); reproducers in $work/artifacts:" >&2
  ls -l "$work/artifacts/" >&2
  exit 1
fi
echo "run-fuzz-vm: virtq: no crash in ${seconds}s"

# the FUSE server, from the seeds in tests/fuzz/corpus/fuse
mkdir -p "$work/fuse-corpus" "$work/fuse-artifacts"
"$CC" -g -O1 -D_GNU_SOURCE -I"$work" -I"$top" \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -o "$work/fuzz-fuse" "$top/tests/fuzz/fuzz-fuse.c" "$top/runtime/vm/fuse_server.c" \
  "$top/runtime/vm/virtq.c" "$top/runtime/vm/memory.c" \
  "$top/common/error.c" "$top/common/log.c" "$top/common/fs.c"
set +e
"$work/fuzz-fuse" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/fuse-artifacts/" "$work/fuse-corpus" \
  "$top/tests/fuzz/corpus/fuse" > "$work/fuzz-fuse.log" 2>&1
rc=$?
set -e
tail -n 8 "$work/fuzz-fuse.log"
if [ "$rc" -ne 0 ] || ls "$work/fuse-artifacts/" | grep -q .; then
  echo "run-fuzz-vm: fuse FAILED (exit $rc); reproducers in $work/fuse-artifacts:" >&2
  ls -l "$work/fuse-artifacts/" >&2
  exit 1
fi
echo "run-fuzz-vm: fuse: no crash in ${seconds}s"
