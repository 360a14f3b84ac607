#!/usr/bin/env bats
# update: change the resources of a running container (cgroup v1 files on
# the hybrid development host).

load helpers

setup() {
  requires root cgroup_v1
  ward_setup
}

# start_sleeper: a running container whose init sleeps; sets INIT_PID.
start_sleeper() {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status running || fail "container did not reach running"
  INIT_PID=$(ctr_pid)
}

# cg_file CONTROLLER FILE: the v1 file of the container's cgroup, found from
# the init's /proc/PID/cgroup.
cg_file() {
  local ctrl=$1 file=$2 line path
  line=$(awk -F: -v c="$ctrl" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $2 ":" $3}' \
    "/proc/$INIT_PID/cgroup")
  [[ -n $line ]] || { echo "no $ctrl line in /proc/$INIT_PID/cgroup" >&2; return 1; }
  path=${line#*:}
  [[ $path != / ]] || { echo "container is in the root $ctrl cgroup" >&2; return 1; }
  echo "/sys/fs/cgroup/${line%%:*}$path/$file"
}

# cg_read CONTROLLER FILE
cg_read() {
  local f
  f=$(cg_file "$1" "$2") || return 1
  cat "$f"
}

@test "update: --memory sets memory.limit_in_bytes" {
  start_sleeper
  run runtime update --memory 64m "$ID"
  assert_success
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 67108864
  run runtime update --memory 100663296 "$ID"
  assert_success
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 100663296
}

@test "update: --memory -1 lifts the memory and memsw limits together" {
  [[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]] || skip "swap accounting is off on this host (no memory.memsw.limit_in_bytes)"
  update_config '.linux.resources.memory = {"limit": 33554432, "swap": 67108864}'
  start_sleeper
  assert_equal "$(cg_read memory memory.memsw.limit_in_bytes)" 67108864
  # memsw may never be below the memory limit: both go, memsw first (runc)
  run runtime update --memory -1 "$ID"
  assert_success
  local unlimited
  unlimited=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  assert_equal "$(cg_read memory memory.limit_in_bytes)" "$unlimited"
  assert_equal "$(cg_read memory memory.memsw.limit_in_bytes)" "$unlimited"
}

@test "update: linux.resources.unified is refused on cgroup v1 as runc words it" {
  update_config '.linux.resources.unified = {"memory.min": "131072"}'
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --partial "invalid configuration"
  # ward names the field too
  ! is_ward || assert_output --partial "linux.resources.unified"
}

@test "update: --pids-limit sets pids.max" {
  start_sleeper
  run runtime update --pids-limit 42 "$ID"
  assert_success
  assert_equal "$(cg_read pids pids.max)" 42
}

@test "update: --cpu-quota and --cpu-period" {
  start_sleeper
  run runtime update --cpu-period 100000 --cpu-quota 50000 "$ID"
  assert_success
  assert_equal "$(cg_read cpu cpu.cfs_period_us)" 100000
  assert_equal "$(cg_read cpu cpu.cfs_quota_us)" 50000
  run runtime update --cpu-quota 20000 "$ID"
  assert_success
  assert_equal "$(cg_read cpu cpu.cfs_quota_us)" 20000
}

@test "update: --cpu-share sets cpu.shares" {
  start_sleeper
  run runtime update --cpu-share 512 "$ID"
  assert_success
  assert_equal "$(cg_read cpu cpu.shares)" 512
}

@test "update: -r FILE with JSON resources" {
  start_sleeper
  echo '{"memory": {"limit": 83886080}, "pids": {"limit": 37}, "cpu": {"shares": 300}}' >"$WARD_TMP/res.json"
  run runtime update -r "$WARD_TMP/res.json" "$ID"
  assert_success
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 83886080
  assert_equal "$(cg_read pids pids.max)" 37
  assert_equal "$(cg_read cpu cpu.shares)" 300
}

@test "update: -r - reads JSON resources from stdin" {
  start_sleeper
  run bash -c "echo '{\"pids\": {\"limit\": 55}, \"memory\": {\"limit\": 75497472}}' \
    | \"\$RUNTIME\" --root \"\$WARD_ROOT\" update -r - \"$ID\""
  assert_success
  assert_equal "$(cg_read pids pids.max)" 55
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 75497472
}

@test "update: successive updates merge" {
  start_sleeper
  run runtime update --pids-limit 42 "$ID"
  assert_success
  run runtime update --memory 64m "$ID"
  assert_success
  assert_equal "$(cg_read pids pids.max)" 42
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 67108864
  run runtime update --cpu-share 700 "$ID"
  assert_success
  assert_equal "$(cg_read pids pids.max)" 42
  assert_equal "$(cg_read memory memory.limit_in_bytes)" 67108864
  assert_equal "$(cg_read cpu cpu.shares)" 700
}

@test "update: a bad value fails" {
  start_sleeper
  local before
  before=$(cg_read pids pids.max)
  run runtime update --pids-limit notanumber "$ID"
  assert_failure
  run runtime update --memory lots "$ID"
  assert_failure
  echo '{"pids": {"limit": "many"}}' >"$WARD_TMP/bad.json"
  run runtime update -r "$WARD_TMP/bad.json" "$ID"
  assert_failure
  assert_equal "$(cg_read pids pids.max)" "$before"
}

@test "update: a stopped container fails" {
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  run runtime update --pids-limit 42 "$ID"
  assert_failure
}

@test "update: a missing container fails" {
  run runtime update --pids-limit 42 no-such-container
  assert_failure
  assert_output --partial "does not exist"
}
