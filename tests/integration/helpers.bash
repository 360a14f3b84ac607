# Shared helpers for the ward integration suite (bats-core >= 1.5).
#
# RUNTIME     the runtime under test: default $WARD_BUILDDIR/ward-runtime, else
#             ward-runtime on PATH; RUNTIME=runc runs the same suite against runc.
# WARD_TEST_TMPDIR  where per-file roots and bundles go (default: bats' own).
# WARD_TEST_CACHE   where the busybox rootfs is built once (default /var/tmp/ward-tests).

INTEGRATION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_SRCDIR=$(cd "$INTEGRATION_DIR/../.." && pwd)
: "${WARD_BUILDDIR:=$TOP_SRCDIR}"

BATS_LIB_DIR=${BATS_LIB_DIR:-/usr/lib/bats}
load "$BATS_LIB_DIR/bats-support/load.bash"
load "$BATS_LIB_DIR/bats-assert/load.bash"

if [[ -z ${RUNTIME:-} ]]; then
  if [[ -x $WARD_BUILDDIR/ward-runtime ]]; then
    RUNTIME=$WARD_BUILDDIR/ward-runtime
  else
    RUNTIME=$(command -v ward-runtime || echo ward-runtime)
  fi
fi
RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME")
export RUNTIME

BUSYBOX=${BUSYBOX:-/bin/busybox}
RECVTTY="$INTEGRATION_DIR/helpers/recvtty"

# True when the runtime under test is ward (for ward-only assertions such as
# exact error messages that runc words differently).
is_ward() {
  [[ $(basename "$RUNTIME") == ward* ]]
}

# requires FEATURE...: skip the test with a specific reason when the host (or
# the runtime) lacks FEATURE.
requires() {
  local f
  for f in "$@"; do
    case $f in
      root) [[ $EUID == 0 ]] || skip "needs root (running as uid $EUID)" ;;
      cgroup_v1)
        [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/pids ]] \
          || skip "needs cgroup v1 memory+pids controllers at /sys/fs/cgroup/<ctrl>" ;;
      cgroup_v2)
        [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]] \
          || skip "needs a pure cgroup v2 host (/sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup 2>/dev/null)); runs in tests/vm/run-v2" ;;
      cgroup_hybrid)
        [[ -d /sys/fs/cgroup/unified && $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]] \
          || skip "needs a hybrid cgroup host (cgroup2 at /sys/fs/cgroup/unified)" ;;
      kvm)
        [[ -c /dev/kvm && -w /dev/kvm ]] || skip "needs a usable /dev/kvm" ;;
      timens)
        [[ -e /proc/self/ns/time ]] || skip "kernel has no time namespaces (/proc/self/ns/time missing)" ;;
      userns)
        [[ -e /proc/self/ns/user && $(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0) != 0 ]] \
          || skip "user namespaces disabled (user.max_user_namespaces = 0)" ;;
      python3) command -v python3 >/dev/null || skip "needs python3 (apt-get install python3)" ;;
      cc) command -v cc >/dev/null || skip "needs a C compiler (apt-get install build-essential)" ;;
      podman) command -v podman >/dev/null || skip "needs podman (apt-get install podman)" ;;
      containerd)
        command -v containerd >/dev/null && command -v ctr >/dev/null \
          || skip "needs containerd and ctr (apt-get install containerd)" ;;
      umoci) command -v umoci >/dev/null || skip "needs umoci (apt-get install umoci)" ;;
      skopeo) command -v skopeo >/dev/null || skip "needs skopeo (apt-get install skopeo)" ;;
      apparmor)
        [[ -e /sys/kernel/security/apparmor ]] || skip "host has no AppArmor (/sys/kernel/security/apparmor missing)" ;;
      selinux)
        [[ -e /sys/fs/selinux/enforce ]] || skip "host has no SELinux (/sys/fs/selinux missing)" ;;
      cap_sys_resource)
        grep -q '^CapBnd:' /proc/self/status && (( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1 )) \
          || skip "host bounding set lacks CAP_SYS_RESOURCE" ;;
      *) fail "requires: unknown feature '$f'" ;;
    esac
  done
}

# ------------------------------------------------------------------ rootfs

# Build the busybox rootfs once (per busybox binary) in the cache dir.
# Layout: /bin/busybox plus one symlink per applet, a minimal /etc.
_rootfs_cache() {
  local cache=${WARD_TEST_CACHE:-/var/tmp/ward-tests} sum dir tmp a
  [[ -x $BUSYBOX ]] || { echo "no busybox at $BUSYBOX (apt-get install busybox-static)" >&2; return 1; }
  if ldd "$BUSYBOX" >/dev/null 2>&1; then
    echo "$BUSYBOX is not static (apt-get install busybox-static)" >&2; return 1
  fi
  sum=$(sha256sum "$BUSYBOX" | cut -c1-16)
  dir=$cache/rootfs-$sum
  if [[ ! -x $dir/bin/busybox ]]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/tmp.XXXXXX")
    mkdir -p "$tmp"/{bin,etc,proc,sys,dev,tmp,root,run,var,home,mnt}
    chmod 755 "$tmp"
    chmod 1777 "$tmp/tmp"
    cp "$BUSYBOX" "$tmp/bin/busybox"
    for a in $("$BUSYBOX" --list); do
      [[ $a == busybox ]] || ln -sf busybox "$tmp/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
    echo "ward-test" >"$tmp/etc/hostname"
    # Another test run may have won the race; keep whichever is there.
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  echo "$dir"
}

# setup_bundle [DIR]: make $BUNDLE (rootfs copy + config.json), set $ID.
setup_bundle() {
  local cache
  BUNDLE=${1:-$WARD_TMP/bundle-$BATS_TEST_NUMBER}
  cache=$(_rootfs_cache) || fail "cannot build the busybox rootfs"
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE"
  cp -a "$cache" "$BUNDLE/rootfs"
  chmod 755 "$BUNDLE/rootfs"
  (cd "$BUNDLE" && "$RUNTIME" spec >/dev/null 2>&1) \
    || cp "$INTEGRATION_DIR/config.template.json" "$BUNDLE/config.json"
  # Non-interactive, a process that prints something, and a writable root so
  # that a container can leave marks the host reads in $BUNDLE/rootfs (tests
  # of root.readonly set it back).
  update_config '.process.terminal = false | .process.args = ["/bin/echo", "hello"] | .root.readonly = false'
  echo "$BUNDLE" >>"$WARD_TMP/bundles"
}

# update_config JQ-FILTER [BUNDLE]: edit config.json in place.
update_config() {
  local b=${2:-$BUNDLE} tmp
  tmp=$(mktemp "$b/config.json.XXXXXX")
  jq "$1" "$b/config.json" >"$tmp" || { rm -f "$tmp"; fail "jq filter failed: $1"; }
  mv "$tmp" "$b/config.json"
}

# set_args ARG...: process.args from shell words.
set_args() {
  local json
  # (jq would parse a "-c" among --args as its own option)
  local a
  json=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -cs .)
  update_config ".process.args = $json"
}

# set_cmd SCRIPT: run SCRIPT with the container's sh.
set_cmd() {
  set_args /bin/sh -c "$1"
}

# -------------------------------------------------------------- runtime calls

new_id() {
  ID="wt$$-${BATS_TEST_NUMBER}-${RANDOM}"
  echo "$ID" >>"$WARD_TMP/ids"
}

# runtime ARG...: the runtime with this file's private --root.
runtime() {
  "$RUNTIME" --root "$WARD_ROOT" "$@"
}

# runtime_shim VERB ARG...: the way containerd's runc shim calls it.
runtime_shim() {
  "$RUNTIME" --root "$WARD_ROOT" --log "$WARD_TMP/runtime.log" --log-format json "$@"
}

# run_ctr [FLAGS...]: `run` the container in the foreground (bats run: sets
# $status and $output).  Container stdio is the captured pipe.
run_ctr() {
  run timeout 60 "$RUNTIME" --root "$WARD_ROOT" run "$@" --bundle "$BUNDLE" "$ID" </dev/null
}

# create_ctr [ID]: create as the shim does; container stdio goes to files
# $BUNDLE/out and $BUNDLE/err (a pipe would keep bats' `run` waiting).  Sets
# $status and $output (create's own stderr + stdout) like `run`.
create_ctr() {
  local id=${1:-$ID}
  status=0
  timeout 60 "$RUNTIME" --root "$WARD_ROOT" --log "$WARD_TMP/runtime.log" --log-format json \
    create --bundle "$BUNDLE" --pid-file "$BUNDLE/pid-$id" "$id" \
    </dev/null >"$BUNDLE/out" 2>"$BUNDLE/err" || status=$?
  output=$(cat "$BUNDLE/err" "$BUNDLE/out")
}

start_ctr() {
  run runtime_shim start "${1:-$ID}"
}

# ctr_status [ID]: print .status from state.
ctr_status() {
  runtime state "${1:-$ID}" 2>/dev/null | jq -r .status
}

ctr_pid() {
  runtime state "${1:-$ID}" 2>/dev/null | jq -r .pid
}

# wait_status STATUS [ID] [TRIES]: poll until the container reaches STATUS.
wait_status() {
  local want=$1 id=${2:-$ID} tries=${3:-100} s
  while ((tries-- > 0)); do
    s=$(ctr_status "$id")
    [[ $s == "$want" ]] && return 0
    sleep 0.05
  done
  echo "container $id: status '$s', wanted '$want'" >&2
  return 1
}

# wait_file FILE [TRIES]: poll until FILE exists and is not empty.
wait_file() {
  local f=$1 tries=${2:-200}
  while ((tries-- > 0)); do
    [[ -s $f ]] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $f" >&2
  return 1
}

# pid_gone PID: true once PID does not exist or is a zombie (waits up to 3 s).
pid_gone() {
  local pid=$1 i st
  for ((i = 0; i < 60; i++)); do
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 0
    [[ -z $st || $st == Z ]] && return 0
    sleep 0.05
  done
  return 1
}

# FD_LIST: shell code that prints "fd N" for each fd open in the container's
# shell, without opening a directory (a glob or ls would show its own fd).
FD_LIST='n=0; while [ $n -lt 256 ]; do [ -e /proc/$$/fd/$n ] && echo "fd $n $(readlink /proc/$$/fd/$n)"; n=$((n + 1)); done'

# host_ns NS: the host's namespace id, e.g. "net:[4026531840]".
host_ns() {
  readlink "/proc/self/ns/$1"
}

# -------------------------------------------------------------- setup/teardown

# Per file: a private --root and temp dir.  Call from setup_file or setup.
ward_setup_file() {
  export WARD_TMP=${WARD_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/$(basename "$BATS_TEST_FILENAME" .bats)
  [[ $WARD_TMP == /* ]] || WARD_TMP=$PWD/$WARD_TMP
  mkdir -p "$WARD_TMP"
  # Containers with a user namespace run as an unprivileged host uid that
  # must be able to reach the bundle: open up the temp dirs above it.
  local d=$WARD_TMP
  while [[ $d == /tmp/* || $d == /var/tmp/* || $d == "${WARD_TEST_TMPDIR:-/nonexistent}"* ]] && [[ $d != / ]]; do
    chmod o+x "$d" 2>/dev/null
    d=$(dirname "$d")
  done
  export WARD_ROOT=$WARD_TMP/root
  mkdir -p "$WARD_ROOT"
}

# Default per-test setup: a fresh bundle and id.
ward_setup() {
  [[ -n ${WARD_TMP:-} ]] || ward_setup_file
  : >"$WARD_TMP/ids"
  : >"$WARD_TMP/bundles"
  setup_bundle
  new_id
}

# _procs_in ROOTFS: pids whose root directory is ROOTFS.  readlink of
# /proc/PID/root shows "/" after pivot_root, so compare device:inode instead.
_procs_in() {
  local key
  key=$(stat -L -c '%d:%i' "$1" 2>/dev/null) || return 0
  stat -L -c '%d:%i %n' /proc/[0-9]*/root 2>/dev/null \
    | awk -v k="$key" '$1 == k { split($2, a, "/"); print a[3] }'
}

# List what a container left behind: state dir, cgroup dirs, mounts under the
# bundle, processes whose root is the bundle's rootfs.
leftovers() {
  local id bundle p rootfs
  while read -r id; do
    [[ -n $id ]] || continue
    [[ -e $WARD_ROOT/$id ]] && echo "state dir $WARD_ROOT/$id"
    find /sys/fs/cgroup/ -mindepth 1 -maxdepth 6 -type d \( -name "$id" -o -name "*$id.scope" \) 2>/dev/null \
      | sed 's/^/cgroup /'
  done <"$WARD_TMP/ids"
  while read -r bundle; do
    [[ -n $bundle ]] || continue
    awk -v b="$bundle" 'index($5, b) == 1 { print "mount " $5 }' /proc/self/mountinfo
    rootfs=$bundle/rootfs
    [[ -f $bundle/config.json ]] && rootfs=$(cd "$bundle" && realpath -m "$(jq -r '.root.path // "rootfs"' config.json)")
    for p in $(_procs_in "$rootfs"); do
      [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == Z ]] || echo "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
    done
  done <"$WARD_TMP/bundles"
  return 0
}

# Force-remove whatever leftovers() lists, so later tests start clean.
_scrub() {
  local id bundle p m
  while read -r bundle; do
    [[ -n $bundle ]] || continue
    for p in $(_procs_in "$bundle/rootfs"); do kill -9 "$p" 2>/dev/null; done
    for m in $(awk -v b="$bundle" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
      umount -l "$m" 2>/dev/null
    done
  done <"$WARD_TMP/bundles"
  sleep 0.2
  while read -r id; do
    [[ -n $id ]] || continue
    find /sys/fs/cgroup/ -mindepth 1 -maxdepth 6 -depth -type d \( -name "$id" -o -name "*$id.scope" \) \
      -exec sh -c 'for p in $(cat "$1"/cgroup.procs 2>/dev/null); do kill -9 $p; done; sleep 0.1; find "$1" -depth -type d -exec rmdir {} \;' _ {} \; 2>/dev/null
    rm -rf "${WARD_ROOT:?}/$id"
  done <"$WARD_TMP/ids"
}

# Default per-test teardown: force-delete every container the test made, then
# fail the test if anything is left.
ward_teardown() {
  local id left
  [[ -n ${WARD_TMP:-} && -f $WARD_TMP/ids ]] || return 0
  while read -r id; do
    [[ -n $id ]] || continue
    timeout 30 "$RUNTIME" --root "$WARD_ROOT" delete --force "$id" >/dev/null 2>&1
  done <"$WARD_TMP/ids"
  left=$(leftovers)
  if [[ -n $left ]]; then
    sleep 0.3 # an exiting init may still hold its mounts for a moment
    left=$(leftovers)
  fi
  if [[ -n $left ]]; then
    _scrub
    echo "# leftovers after delete --force:" >&3
    sed 's/^/#   /' <<<"$left" >&3
    fail "container left things behind: $left"
  fi
  local b
  while read -r b; do
    [[ -n $b ]] && rm -rf "$b"
  done <"$WARD_TMP/bundles"
  : >"$WARD_TMP/ids"
  : >"$WARD_TMP/bundles"
}

setup_file() { ward_setup_file; }
setup() { ward_setup; }
teardown() { ward_teardown; }
