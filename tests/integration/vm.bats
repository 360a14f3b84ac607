#!/usr/bin/env bats
# ward-vm: containers inside a KVM microVM (the guest agent and the host
# front end).  This host's /dev/kvm (nested PVM) cannot boot a stock Linux
# guest, so every VM test here first needs a real probe to pass
# (`ward-vm run` of /bin/true); tests/vm/run-vm-containers runs this file
# in the QEMU test-bed, where nested KVM works.
#
# WARD_VM  the ward-vm binary (default $WARD_BUILDDIR/ward-vm, else on PATH)

load helpers

VM=${WARD_VM:-}
if [[ -z $VM ]]; then
  VM=$WARD_BUILDDIR/ward-vm
  [[ -x $VM ]] || VM=$(command -v ward-vm || echo "$WARD_BUILDDIR/ward-vm")
fi
# the helpers' runtime/create_ctr/... call $RUNTIME: here that is ward-vm
RUNTIME=$VM

# One busybox rootfs for the whole file, shared by every bundle (the VM
# reaches it over virtio-fs; no test writes to it): copying a rootfs per
# test is what made this file slow in the TCG test-bed.
make_base() {
  setup_bundle "$WARD_TMP/base"
  update_config ".root.path = \"$WARD_TMP/base/rootfs\"" "$WARD_TMP/base"
}

# probe_vm: sets VM_SKIP to the reason the VM tests cannot run here, or "".
probe_vm() {
  local b=$WARD_TMP/probe id=probe-$$ rc=0
  [[ -x $VM ]] || { VM_SKIP="ward-vm not built ($VM)"; return; }
  [[ -c /dev/kvm && -w /dev/kvm ]] || { VM_SKIP="needs a usable /dev/kvm"; return; }
  mkdir -p "$b"
  jq '.process.args = ["/bin/true"]' "$WARD_TMP/base/config.json" >"$b/config.json"
  timeout 120 "$VM" --root "$WARD_ROOT" run --bundle "$b" "$id" </dev/null >"$WARD_TMP/probe.log" 2>&1 || rc=$?
  timeout 30 "$VM" --root "$WARD_ROOT" delete --force "$id" >/dev/null 2>&1
  rm -rf "$b"
  if ((rc != 0)); then
    VM_SKIP="this host's /dev/kvm cannot boot a Linux guest (probe: ward-vm run /bin/true exited $rc: $(grep -m1 'level=error' "$WARD_TMP/probe.log" | sed 's/.*msg="//; s/"$//' | cut -c1-120)); the microVM tests run in the QEMU test-bed (tests/vm/run-vm-containers)"
  else
    VM_SKIP=""
  fi
}

setup_file() {
  ward_setup_file
  : >"$WARD_TMP/bundles"
  make_base
  probe_vm
  export VM_SKIP
}

teardown_file() {
  rm -rf "$WARD_TMP/base"
}

setup() {
  : >"$WARD_TMP/ids"
  : >"$WARD_TMP/bundles"
  BUNDLE=$WARD_TMP/bundle-$BATS_TEST_NUMBER
  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE"
  cp "$WARD_TMP/base/config.json" "$BUNDLE/config.json"
  echo "$BUNDLE" >>"$WARD_TMP/bundles"
  new_id
}

needs_vm() {
  [[ -z $VM_SKIP ]] || skip "$VM_SKIP"
}

# run_vm [FLAGS...]: ward-vm run in the foreground ($status, $output).
run_vm() {
  run timeout 120 "$VM" --root "$WARD_ROOT" run "$@" --bundle "$BUNDLE" "$ID" </dev/null
}

# start_vm SCRIPT: a running container (create + start) whose process runs
# SCRIPT; its stdout/stderr go to $BUNDLE/out and $BUNDLE/err.
start_vm() {
  set_cmd "$1"
  create_ctr
  assert_success
  start_ctr
  assert_success
}

# wait_out TEXT: until the container's stdout has TEXT (the guest boots first).
wait_out() {
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q "$1" "$BUNDLE/out" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no '$1' in the container's output: $(cat "$BUNDLE/out" "$BUNDLE/err")" >&2
  return 1
}

@test "ward-runtime refuses to run as ward-vm (no silent fallback to a plain container)" {
  [[ -x $WARD_BUILDDIR/ward-runtime ]] || skip "ward-runtime not built in $WARD_BUILDDIR"
  ln -sf "$WARD_BUILDDIR/ward-runtime" "$WARD_TMP/ward-vm"
  run "$WARD_TMP/ward-vm" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null
  rm -f "$WARD_TMP/ward-vm"
  assert_failure
  assert_output --partial "has no VMM"
}

# Refused before any VM is made, so this runs on hosts without KVM too.
@test "ward-vm refuses to join another container's pid namespace, naming it" {
  update_config '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/1/ns/pid" else . end)'
  run_vm
  assert_failure
  assert_output --partial "joining the pid namespace '/proc/1/ns/pid'"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left behind"
}

@test "ward-vm run: output, stderr, exit code, env, user and cwd come from the guest" {
  needs_vm
  update_config '.process.env += ["WARD_VM_TEST=yes"] | .process.user = {"uid": 1000, "gid": 1001} | .process.cwd = "/tmp"'
  set_cmd 'echo "env=$WARD_VM_TEST uid=$(id -u) gid=$(id -g) cwd=$(pwd)"; echo to stderr >&2; grep -o virtio_mmio.device /proc/cmdline | head -1; exit 3'
  run_vm
  assert_equal "$status" 3
  assert_line "env=yes uid=1000 gid=1001 cwd=/tmp"
  assert_line "to stderr"
  # the process's kernel is the guest's (its devices are on its command line)
  assert_line "virtio_mmio.device"
  # run deletes what it created
  [[ ! -e $WARD_ROOT/$ID ]]
}

@test "ward-vm run with process.terminal: a host pty relayed to the guest's pty" {
  needs_vm
  update_config '.process.terminal = true'
  set_cmd 'tty; exit 6'
  run_vm
  assert_equal "$status" 6
  assert_output --partial "/dev/pts/"
}

@test "ward-vm create: a missing executable fails create with the guest's reason (as runc)" {
  needs_vm
  set_args /no/such/binary
  create_ctr
  assert_failure
  assert_output --partial "/no/such/binary"
  run runtime state "$ID"
  assert_failure
}

@test "ward-vm create/start/state/exec/kill: exec, exec --tty and signals reach the guest" {
  needs_vm
  start_vm 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done'
  wait_out ready
  run runtime state "$ID"
  assert_success
  assert_equal "$(jq -r .status <<<"$output")" running
  local pid
  pid=$(jq -r .pid <<<"$output")
  # state.json's pid is the VMM: the host sees no busybox sh
  run cat "/proc/$pid/comm"
  refute_output "sh"

  run timeout 60 "$VM" --root "$WARD_ROOT" exec "$ID" sh -c 'echo from exec; ps -o pid,args | awk "\$1 == 1 && /trap/ {print \"pid1=trap\"}"; exit 5' </dev/null
  assert_equal "$status" 5
  assert_line "from exec"
  # the same pid namespace as the container's process
  assert_line "pid1=trap"
  # a process killed by a signal: 128+signal, as a shell reports it
  run timeout 60 "$VM" --root "$WARD_ROOT" exec "$ID" sh -c 'kill -9 $$' </dev/null
  assert_equal "$status" 137
  run timeout 60 "$VM" --root "$WARD_ROOT" exec -t "$ID" sh -c 'tty; exit 4' </dev/null
  assert_equal "$status" 4
  assert_output --partial "/dev/pts/"
  # ps asks the agent: the guest's pids of the container (the shell, its sleep)
  run runtime ps --format json "$ID"
  assert_success
  (($(jq length <<<"$output") >= 1)) || fail "ps --format json: $output"

  run runtime kill "$ID" TERM
  assert_success
  wait_status stopped "$ID" 300
  wait_out "got TERM"
  run runtime delete "$ID"
  assert_success
}

@test "ward-vm kill KILL ends the VMM; delete leaves nothing" {
  needs_vm
  start_vm 'echo ready; exec sleep 1000'
  wait_out ready
  local pid
  pid=$(ctr_pid)
  run runtime kill "$ID" KILL
  assert_success
  wait_status stopped "$ID" 300
  pid_gone "$pid"
  run runtime delete "$ID"
  assert_success
  [[ ! -e $WARD_ROOT/$ID ]]
}

@test "ward-vm: the guest sees the memory limit (MemTotal and memory.max)" {
  needs_vm
  update_config '.linux.resources.memory = {"limit": 268435456}'
  # no cgroup namespace in the default spec: find our cgroup under the mount
  set_cmd 'awk "/MemTotal/ {print \"memtotal=\" \$2}" /proc/meminfo; cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "max=$(cat /sys/fs/cgroup$cg/memory.max 2>/dev/null || echo none)"'
  run_vm
  assert_success
  local kb
  kb=$(sed -n 's/^memtotal=//p' <<<"$output")
  # guest RAM = limit + 64 MiB for its kernel and the agent
  ((kb >= 256 * 1024 && kb <= 320 * 1024)) || fail "MemTotal $kb kB not within 256..320 MiB: $output"
  assert_line "max=268435456"
}

@test "ward-vm: a guest kernel panic ends the container (status 1, log line, no leftovers)" {
  needs_vm
  set_cmd 'echo should not run'
  export WARD_VM_KERNEL_ARGS=wardtestpanic=1
  run_vm
  unset WARD_VM_KERNEL_ARGS
  assert_equal "$status" 1
  refute_line "should not run"
  assert_output --partial "before the container's process reported an exit status"
}

@test "ward-runtime with the annotation run.oci.handler=vm runs the container in a VM" {
  needs_vm
  [[ -x $WARD_BUILDDIR/ward-runtime ]] || skip "ward-runtime not built in $WARD_BUILDDIR"
  update_config '.annotations["run.oci.handler"] = "vm"'
  set_cmd 'grep -o virtio_mmio.device /proc/cmdline | head -1'
  run timeout 120 "$WARD_BUILDDIR/ward-runtime" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null
  assert_success
  assert_line "virtio_mmio.device"
}
