#!/usr/bin/env bats
# Resources on a pure cgroup v2 host.  On the hybrid dev host these skip; they
# run inside the QEMU test-bed via tests/vm/run-v2.

load helpers

setup() {
  requires root cgroup_v2
  ward_setup
  CG=/ward-v2-test/$ID
  update_config ".linux.cgroupsPath = \"$CG\"
    | .linux.namespaces |= (map(select(.type != \"cgroup\")) + [{\"type\": \"cgroup\"}])"
}

teardown() {
  ward_teardown
  rmdir /sys/fs/cgroup/ward-v2-test 2>/dev/null || true
}

@test "cgroup v2: memory.max from memory.limit, read inside and outside" {
  update_config '.linux.resources.memory = {"limit": 67108864}'
  set_cmd 'cat /sys/fs/cgroup/memory.max; echo ready >/tmp/ready; sleep 100'
  create_ctr
  assert_success
  assert_equal "$(cat "/sys/fs/cgroup$CG/memory.max")" 67108864
  start_ctr
  assert_success
  wait_file "$BUNDLE/rootfs/tmp/ready"
  assert_equal "$(head -1 "$BUNDLE/out")" 67108864
}

@test "cgroup v2: memory.swap and memory.low" {
  update_config '.linux.resources.memory = {"limit": 67108864, "swap": 134217728, "reservation": 33554432}'
  set_args /bin/sleep 100
  create_ctr
  [[ -e /sys/fs/cgroup$CG/memory.swap.max || $status != 0 ]] || skip "kernel without swap accounting (no memory.swap.max)"
  assert_success
  # runtime-spec swap is memory+swap; v2 memory.swap.max is swap alone.
  assert_equal "$(cat "/sys/fs/cgroup$CG/memory.swap.max")" 67108864
  assert_equal "$(cat "/sys/fs/cgroup$CG/memory.low")" 33554432
}

@test "cgroup v2: pids.max" {
  update_config '.linux.resources.pids = {"limit": 10}'
  set_cmd 'cat /sys/fs/cgroup/pids.max'
  run_ctr
  assert_success
  assert_output 10
}

@test "cgroup v2: pids.max is enforced" {
  update_config '.linux.resources.pids = {"limit": 5}'
  # busybox sh gives up at the first fork the pids controller refuses.
  set_cmd 'for i in 1 2 3 4 5 6 7 8; do sleep 10 & done; echo all-started'
  run_ctr
  assert_failure
  refute_line all-started
  assert_output --partial "can't fork"
}

@test "cgroup v2: cpu.max from quota/period" {
  update_config '.linux.resources.cpu = {"quota": 50000, "period": 100000}'
  set_cmd 'cat /sys/fs/cgroup/cpu.max'
  run_ctr
  assert_success
  assert_output "50000 100000"
}

@test "cgroup v2: cpu.weight from shares (runc's conversion)" {
  update_config '.linux.resources.cpu = {"shares": 1024}'
  set_cmd 'cat /sys/fs/cgroup/cpu.weight'
  run_ctr
  assert_success
  # 1 + ((1024 - 2) * 9999) / 262142 = 39
  assert_output 39
}

@test "cgroup v2: unified overrides" {
  update_config '.linux.resources.unified = {"pids.max": "7", "cpu.weight": "200"}'
  set_cmd 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.weight'
  run_ctr
  assert_success
  assert_output $'7\n200'
}

@test "cgroup v2: cpuset" {
  update_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}'
  set_cmd 'cat /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/cpuset.mems; grep Cpus_allowed_list /proc/self/status'
  run_ctr
  assert_success
  assert_line --index 0 0
  assert_line --index 1 0
  assert_line --regexp $'^Cpus_allowed_list:\t0$'
}

@test "cgroup v2: io.max" {
  local dev
  dev=$(cat /sys/block/*/dev 2>/dev/null | head -1 || true)
  [[ -n $dev ]] || skip "no block device in this guest to throttle"
  local maj=${dev%:*} min=${dev#*:}
  update_config ".linux.resources.blockIO = {\"throttleReadBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}]}"
  set_cmd 'cat /sys/fs/cgroup/io.max'
  run_ctr
  assert_success
  assert_output --partial "$maj:$min rbps=1048576"
}

@test "cgroup v2: cgroup namespace makes the container cgroup the root" {
  set_cmd 'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup'
  run_ctr
  assert_success
  assert_line --index 0 "0::/"
  refute_line --index 1 "$(host_ns cgroup)"
}

@test "cgroup v2: the init is in the configured cgroup" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  grep -qx "$(ctr_pid)" "/sys/fs/cgroup$CG/cgroup.procs" || fail "init not in $CG"
}

@test "cgroup v2: pause freezes, resume thaws" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  run runtime pause "$ID"
  assert_success
  assert_equal "$(ctr_status)" paused
  grep -qx 'frozen 1' "/sys/fs/cgroup$CG/cgroup.events" || fail "cgroup.events does not say frozen 1"
  run runtime resume "$ID"
  assert_success
  assert_equal "$(ctr_status)" running
  grep -qx 'frozen 0' "/sys/fs/cgroup$CG/cgroup.events" || fail "still frozen after resume"
}

@test "cgroup v2: delete removes the cgroup" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  [[ -d /sys/fs/cgroup$CG ]] || fail "no cgroup $CG"
  run runtime delete --force "$ID"
  assert_success
  [[ ! -d /sys/fs/cgroup$CG ]] || fail "cgroup $CG left after delete"
}

# ---- systemd cgroup driver (--systemd-cgroup).  These need systemd as init:
# tests/vm/run-v2 runs them a second time under systemd in the test-bed.

requires_systemd() {
  [[ -d /run/systemd/system ]] \
    || skip "needs systemd running as init (no /run/systemd/system); tests/vm/run-v2 runs these under systemd"
  command -v systemctl >/dev/null || skip "needs systemctl"
}

# sd_create: create with --systemd-cgroup, as a shim would; sets status/output.
sd_create() {
  status=0
  timeout 60 "$RUNTIME" --root "$WARD_ROOT" --systemd-cgroup create --bundle "$BUNDLE" "$ID" \
    </dev/null >"$BUNDLE/out" 2>"$BUNDLE/err" || status=$?
  output=$(cat "$BUNDLE/err" "$BUNDLE/out")
}

unit_prop() {
  systemctl show "$1" -p "$2" --value
}

@test "systemd: the container runs in a transient scope with its resources" {
  requires_systemd
  local unit=wtest-$ID.scope cg=/system.slice/wtest-$ID.scope
  # no cgroup namespace here: /proc/self/cgroup shows the host path
  update_config '.linux.namespaces |= map(select(.type != "cgroup"))
    | .linux.cgroupsPath = "system.slice:wtest:'"$ID"'"
    | .linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 50},
                          "cpu": {"shares": 1024, "quota": 50000, "period": 100000}}'
  set_args /bin/sleep 100
  sd_create
  assert_success
  assert_equal "$(unit_prop "$unit" ActiveState)" active
  assert_equal "$(unit_prop "$unit" ControlGroup)" "$cg"
  assert_equal "$(unit_prop "$unit" Delegate)" yes
  assert_equal "$(unit_prop "$unit" MemoryMax)" 67108864
  assert_equal "$(unit_prop "$unit" TasksMax)" 50
  assert_equal "$(unit_prop "$unit" CPUQuotaPerSecUSec)" 500ms
  assert_equal "$(cat "/proc/$(ctr_pid)/cgroup")" "0::$cg"
  assert_equal "$(cat "/sys/fs/cgroup$cg/memory.max")" 67108864
  assert_equal "$(cat "/sys/fs/cgroup$cg/pids.max")" 50
  assert_equal "$(cat "/sys/fs/cgroup$cg/cpu.max")" "50000 100000"
  assert_equal "$(cat "/sys/fs/cgroup$cg/cpu.weight")" 39
  start_ctr
  assert_success
  run runtime exec "$ID" cat /proc/self/cgroup
  assert_success
  assert_output "0::$cg"
  run runtime events --stats "$ID"
  assert_success
  assert_equal "$(jq -r .data.memory.usage.limit <<<"$output")" 67108864
  run runtime delete --force "$ID"
  assert_success
  assert_equal "$(unit_prop "$unit" ActiveState)" inactive
  [[ ! -d /sys/fs/cgroup$cg ]] || fail "$cg left after delete"
}

@test "systemd: no cgroupsPath means system.slice:ward:<id>" {
  requires_systemd
  is_ward || skip "the default scope prefix is the runtime's own (runc uses runc-)"
  update_config 'del(.linux.cgroupsPath)'
  set_args /bin/sleep 100
  sd_create
  assert_success
  assert_equal "$(unit_prop "ward-$ID.scope" ActiveState)" active
  assert_equal "$(cat "/proc/$(ctr_pid)/cgroup")" "0::/system.slice/ward-$ID.scope"
  run runtime delete --force "$ID"
  assert_success
  assert_equal "$(unit_prop "ward-$ID.scope" ActiveState)" inactive
}

@test "systemd: a nested slice is created and expanded" {
  requires_systemd
  update_config '.linux.cgroupsPath = "wardt-sub.slice:wtest:'"$ID"'"'
  set_args /bin/sleep 100
  sd_create
  assert_success
  local cg=/wardt.slice/wardt-sub.slice/wtest-$ID.scope
  assert_equal "$(unit_prop "wtest-$ID.scope" ControlGroup)" "$cg"
  assert_equal "$(cat "/proc/$(ctr_pid)/cgroup")" "0::$cg"
  run runtime delete --force "$ID"
  assert_success
  [[ ! -d /sys/fs/cgroup$cg ]] || fail "$cg left after delete"
}

@test "systemd: a malformed cgroupsPath fails and leaves nothing" {
  requires_systemd
  update_config '.linux.cgroupsPath = "system.slice:wtest"'
  set_args /bin/sleep 100
  sd_create
  assert_failure
  assert_output --partial 'slice:prefix:name'
  run runtime state "$ID"
  assert_failure
  [[ -z $(systemctl list-units --all --no-legend "wtest-*" 2>/dev/null) ]] || fail "a unit was left: $(systemctl list-units --all --no-legend 'wtest-*')"
}

@test "systemd: pause, resume, update and kill find the scope again" {
  requires_systemd
  update_config '.linux.cgroupsPath = "system.slice:wtest:'"$ID"'"'
  set_args /bin/sleep 100
  sd_create
  assert_success
  start_ctr
  assert_success
  run runtime pause "$ID"
  assert_success
  grep -qx 'frozen 1' "/sys/fs/cgroup/system.slice/wtest-$ID.scope/cgroup.events" || fail "not frozen"
  run runtime resume "$ID"
  assert_success
  run runtime update --pids-limit 77 "$ID"
  assert_success
  assert_equal "$(cat "/sys/fs/cgroup/system.slice/wtest-$ID.scope/pids.max")" 77
  # systemd knows the new value too, so a daemon-reload keeps it
  assert_equal "$(unit_prop "wtest-$ID.scope" TasksMax)" 77
  run runtime kill "$ID" KILL
  assert_success
  wait_status stopped
  run runtime delete "$ID"
  assert_success
  assert_equal "$(unit_prop "wtest-$ID.scope" ActiveState)" inactive
}
