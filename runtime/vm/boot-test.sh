#!/bin/sh
# Boot milestone test: builds (or takes from the cache) the guest kernel,
# packs runtime/vm/test-init.c as a static /init into an initramfs and boots
# it with ward-vm-boot-test inside the QEMU test-bed (this host's /dev/kvm
# cannot run a stock Linux guest).  Prints the time to the marker.
#
# usage: runtime/vm/boot-test.sh [--direct] BOOT_TEST_BINARY [boot-test args...]
#   --direct   run on this host's /dev/kvm instead of inside the test-bed
#   WARD_TESTBED=path overrides the test-bed launcher
#   virtio-fs: --cmdline 'quiet wardfs=1' --fs /tmp/ward-fsroot (the
#   test-bed's own tmpfs; a --share'd dir is 9p, ~1 MiB/s under TCG)
# Exit: the boot test's status; 77 when the test-bed or a compiler is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
direct=0
if [ "${1:-}" = --direct ]; then direct=1; shift; fi
bin=${1:?usage: boot-test.sh [--direct] BOOT_TEST_BINARY [args...]}
shift

testbed=${WARD_TESTBED:-}
if [ -z "$testbed" ]; then
  for t in "$top/tests/vm/testbed" "$top/../shared/testbed/testbed" /work/shared/testbed/testbed; do
    if [ -x "$t" ]; then testbed=$t; break; fi
  done
fi
if [ "$direct" = 0 ] && [ -z "$testbed" ]; then
  echo "boot-test: no test-bed launcher found (set WARD_TESTBED)" >&2
  exit 77
fi
command -v cc >/dev/null 2>&1 && command -v cpio >/dev/null 2>&1 ||
  { echo "boot-test: cc and cpio are needed" >&2; exit 77; }

kernel=$("$here/kernel/build.sh")
# the test-bed hides the host's /tmp except for --share'd dirs
work=$(mktemp -d /tmp/ward-vm-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"
cc -static -Os -o "$work/root/init" "$here/test-init.c"
(cd "$work/root" && echo init | cpio -o -H newc --quiet > "$work/initrd.cpio")
cp "$bin" "$work/ward-vm-boot-test"

set +e
if [ "$direct" = 1 ]; then
  "$work/ward-vm-boot-test" --kernel "$kernel" --initrd "$work/initrd.cpio" "$@"
else
  # tun is a module in the test-bed's kernel (boot-test --net needs it)
  "$testbed" --timeout 300 --share "$work" -- sh -c 'modprobe tun 2>/dev/null; exec "$@"' sh \
    "$work/ward-vm-boot-test" --kernel "$kernel" --initrd "$work/initrd.cpio" "$@"
fi
exit $?
