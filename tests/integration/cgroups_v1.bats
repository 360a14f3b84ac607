#!/usr/bin/env bats
# Resources on cgroup v1 (the hybrid development host).

load helpers

setup() {
  requires root cgroup_v1
  ward_setup
  CG=/ward-v1-test/$ID
  update_config ".linux.cgroupsPath = \"$CG\""
}

teardown() {
  ward_teardown
  local c
  for c in /sys/fs/cgroup/*/ward-v1-test; do rmdir "$c" 2>/dev/null || true; done
}

@test "cgroup v1: memory limit" {
  update_config '.linux.resources.memory = {"limit": 67108864}'
  set_args /bin/sleep 100
  create_ctr
  assert_success
  assert_equal "$(cat /sys/fs/cgroup/memory$CG/memory.limit_in_bytes)" 67108864
  grep -qx "$(ctr_pid)" "/sys/fs/cgroup/memory$CG/cgroup.procs" || fail "init not in memory$CG"
}

# The cgroup mount shows the container's own cgroup, not the caller's: on
# v1 the init must already be in its cgroups when it mounts /sys/fs/cgroup.
@test "cgroup v1: the container's cgroup mount shows its own limits" {
  grep -q '"cgroup"' "$BUNDLE/config.json" || fail "the default spec has no cgroup mount"
  update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 77}'
  set_cmd 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
  run_ctr
  assert_success
  assert_line 67108864
  assert_line 77
}

@test "cgroup v1: memory reservation and swap" {
  [[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]] || skip "no swap accounting (memory.memsw.* missing)"
  update_config '.linux.resources.memory = {"limit": 67108864, "reservation": 33554432, "swap": 134217728}'
  set_args /bin/sleep 100
  create_ctr
  assert_success
  assert_equal "$(cat /sys/fs/cgroup/memory$CG/memory.soft_limit_in_bytes)" 33554432
  assert_equal "$(cat /sys/fs/cgroup/memory$CG/memory.memsw.limit_in_bytes)" 134217728
}

@test "cgroup v1: kernel memory limit" {
  [[ -e /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes ]] || skip "host has no memory.kmem.* (see ENVIRONMENT.md)"
  update_config '.linux.resources.memory = {"kernel": 67108864}'
  run_ctr
  assert_success
}

@test "cgroup v1: pids limit" {
  update_config '.linux.resources.pids = {"limit": 10}'
  set_args /bin/sleep 100
  create_ctr
  assert_success
  assert_equal "$(cat /sys/fs/cgroup/pids$CG/pids.max)" 10
}

@test "cgroup v1: pids limit is enforced" {
  update_config '.linux.resources.pids = {"limit": 4}'
  # busybox sh gives up at the first fork the pids controller refuses.
  set_cmd 'for i in 1 2 3 4 5 6 7 8; do sleep 10 & done; echo all-started'
  run_ctr
  assert_failure
  refute_line all-started
  assert_output --partial "can't fork"
}

@test "cgroup v1: cpu shares, quota, period" {
  update_config '.linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
  set_args /bin/sleep 100
  create_ctr
  assert_success
  assert_equal "$(cat /sys/fs/cgroup/cpu$CG/cpu.shares)" 512
  assert_equal "$(cat /sys/fs/cgroup/cpu$CG/cpu.cfs_quota_us)" 50000
  assert_equal "$(cat /sys/fs/cgroup/cpu$CG/cpu.cfs_period_us)" 100000
}

@test "cgroup v1: cpuset" {
  update_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}'
  set_cmd 'grep Cpus_allowed_list /proc/self/status'
  run_ctr
  assert_success
  assert_output $'Cpus_allowed_list:\t0'
}

@test "cgroup v1: blkio weight" {
  [[ -e /sys/fs/cgroup/blkio/blkio.weight || -e /sys/fs/cgroup/blkio/blkio.bfq.weight ]] \
    || skip "host has no blkio.weight (no CFQ/BFQ, see ENVIRONMENT.md)"
  update_config '.linux.resources.blockIO = {"weight": 500}'
  run_ctr
  assert_success
}

@test "cgroup v1: the init is in every controller's cgroup" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  local pid c
  pid=$(ctr_pid)
  for c in memory pids cpu cpuacct cpuset devices freezer blkio; do
    [[ -d /sys/fs/cgroup/$c ]] || continue
    grep -qx "$pid" "/sys/fs/cgroup/$c$CG/cgroup.procs" || fail "init not in $c$CG"
  done
}

@test "cgroup v1: devices cgroup denies what the spec does not allow" {
  update_config '.linux.devices = [{"path": "/dev/loopx", "type": "b", "major": 7, "minor": 0, "fileMode": 384}]'
  set_cmd 'head -c 1 /dev/loopx 2>&1; head -c 1 /dev/null && echo null-ok'
  run_ctr
  assert_line --index 0 --partial "Operation not permitted"
  assert_line null-ok
}

@test "cgroup v1: pause and resume with the freezer" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  run runtime pause "$ID"
  assert_success
  assert_equal "$(ctr_status)" paused
  assert_equal "$(cat /sys/fs/cgroup/freezer$CG/freezer.state)" FROZEN
  run runtime resume "$ID"
  assert_success
  assert_equal "$(ctr_status)" running
  assert_equal "$(cat /sys/fs/cgroup/freezer$CG/freezer.state)" THAWED
}

@test "cgroup v1: delete removes the cgroups" {
  update_config '.linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 10}'
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  run runtime delete --force "$ID"
  assert_success
  local c
  for c in /sys/fs/cgroup/*/; do
    [[ ! -d $c$CG ]] || fail "cgroup $c$CG left after delete"
  done
}

@test "--systemd-cgroup without systemd: a clear error and nothing left behind" {
  [[ -d /run/systemd/system ]] && skip "systemd runs here: the not-running error does not apply"
  update_config '.linux.cgroupsPath = "system.slice:wtest:'"$ID"'"'
  set_args /bin/true
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" --systemd-cgroup run --bundle "$BUNDLE" "$ID" </dev/null
  assert_failure
  is_ward && assert_output --partial "systemd cgroup driver: systemd is not running (no /run/systemd/system)"
  run runtime state "$ID"
  assert_failure
  local c
  for c in /sys/fs/cgroup/*/system.slice/wtest-$ID.scope; do
    [[ ! -e $c ]] || fail "cgroup $c left behind"
  done
}

@test "features: cgroup v1, v2 and the systemd driver are supported" {
  is_ward || skip "runc 1.1 has no features command"
  run runtime features
  assert_success
  assert_equal "$(jq -c '.linux.cgroup | {v1, v2, systemd, systemdUser}' <<<"$output")" \
    '{"v1":true,"v2":true,"systemd":true,"systemdUser":false}'
}

# runc's factory checks of a cgroup that already exists.
@test "cgroup v1: a pre-existing frozen cgroup is refused, not hung in, and left alone" {
  mkdir -p "/sys/fs/cgroup/freezer$CG"
  echo FROZEN >"/sys/fs/cgroup/freezer$CG/freezer.state"
  set_args /bin/true
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null
  assert_equal "$status" 1
  assert_output --partial "container's cgroup unexpectedly frozen"
  [[ -d /sys/fs/cgroup/freezer$CG ]] || fail "the runtime removed a cgroup it did not make"
  echo THAWED >"/sys/fs/cgroup/freezer$CG/freezer.state"
  rmdir "/sys/fs/cgroup/freezer$CG"
}

@test "cgroup v1: a second container in a non-empty cgroup gets a warning" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  local first=$ID
  new_id
  set_args /bin/true
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null
  assert_success
  assert_output --partial "container's cgroup is not empty"
  ID=$first
}
