#!/usr/bin/env bats
# events: one-shot stats, a stats stream that ends with the container, OOM.

load helpers

setup() {
  requires root
  [[ -d /sys/fs/cgroup/memory || $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] \
    || skip "needs cgroup v1 memory or a pure cgroup v2 host"
  ward_setup
}

cgroup_v2() { [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; }

teardown() {
  [[ -n ${EV_PID:-} ]] && kill "$EV_PID" 2>/dev/null
  ward_teardown
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

@test "events: --stats prints one stats object" {
  start_sleeper
  run timeout 20 "$RUNTIME" --root "$WARD_ROOT" events --stats "$ID"
  assert_success
  # exactly one JSON value
  assert_equal "$(jq -s length <<<"$output")" 1
  assert_equal "$(jq -r .type <<<"$output")" stats
  assert_equal "$(jq -r .id <<<"$output")" "$ID"
  jq -e '.data.memory.usage | type == "object"' <<<"$output" >/dev/null || fail "no data.memory.usage object: $output"
  jq -e '.data.memory.usage.usage | type == "number" and . > 0' <<<"$output" >/dev/null || fail "data.memory.usage.usage not a positive number: $output"
  jq -e '.data.pids.current | type == "number" and . >= 1' <<<"$output" >/dev/null || fail "data.pids.current not >= 1: $output"
}

@test "events: --stats has runc 1.1's types.Stats shape" {
  start_sleeper
  run timeout 20 "$RUNTIME" --root "$WARD_ROOT" events --stats "$ID"
  assert_success
  local d=$output
  assert_equal "$(jq -c '.data | keys' <<<"$d")" \
    '["blkio","cpu","cpuset","hugetlb","intel_rdt","memory","network_interfaces","pids"]'
  assert_equal "$(jq -c '.data.network_interfaces' <<<"$d")" null
  assert_equal "$(jq -c '.data.intel_rdt' <<<"$d")" '{}'
  jq -e '.data.cpu.usage | (.kernel|type) == "number" and (.user|type) == "number"' <<<"$d" >/dev/null \
    || fail "cpu.usage lacks kernel/user: $d"
  jq -e '.data.cpu.usage.total > 0' <<<"$d" >/dev/null || fail "cpu.usage.total not > 0: $d"
  assert_equal "$(jq -c '.data.cpuset | del(.cpus, .mems) | keys' <<<"$d")" \
    '["cpu_exclusive","mem_exclusive","mem_hardwall","memory_migrate","memory_pressure","memory_spread_page","memory_spread_slab","sched_load_balance","sched_relax_domain_level"]'
  for k in usage swap kernel kernelTCP; do
    jq -e --arg k "$k" '.data.memory[$k] | (.limit|type) == "number" and (.failcnt|type) == "number"' \
      <<<"$d" >/dev/null || fail "memory.$k lacks limit/failcnt: $d"
  done
  # raw is memory.stat, key for key
  local key=cache
  cgroup_v2 && key=file
  jq -e --arg k "$key" '.data.memory.raw | type == "object" and has($k) and has("pgfault")' <<<"$d" >/dev/null \
    || fail "memory.raw is not memory.stat (no $key/pgfault): $d"
  if ! cgroup_v2; then
    jq -e '.data.cpu.usage.percpu | length >= 1' <<<"$d" >/dev/null || fail "no percpu on v1: $d"
    jq -e '.data.cpuset.cpus | type == "array" and length >= 1' <<<"$d" >/dev/null || fail "no cpuset.cpus on v1: $d"
    jq -e '.data.cpuset.mems | type == "array" and length >= 1' <<<"$d" >/dev/null || fail "no cpuset.mems on v1: $d"
  fi
  # hugetlb: one entry per page size the cgroup accounts, named as runc does
  local want got=$(jq -c '.data.hugetlb | keys' <<<"$d")
  if cgroup_v2 && [[ -d /sys/kernel/mm/hugepages ]] && grep -qw hugetlb /sys/fs/cgroup/cgroup.subtree_control; then
    want=$(ls /sys/kernel/mm/hugepages | sed -n 's/^hugepages-\([0-9]*\)kB$/\1/p' \
      | awk '{ s=$1; u="KB"; if (s%1048576==0) {s/=1048576; u="GB"} else if (s%1024==0) {s/=1024; u="MB"}; print s u }' \
      | jq -R . | jq -sc 'sort')
    assert_equal "$got" "$want"
    jq -e '[.data.hugetlb[] | .failcnt | type == "number"] | all' <<<"$d" >/dev/null || fail "hugetlb without failcnt: $d"
  fi
}

@test "events: --stats blkio lists the container's reads and writes" {
  local src
  src=$(findmnt -no SOURCE -T "$BUNDLE" 2>/dev/null || true)
  [[ $src == /dev/* ]] || skip "the bundle is not on a block device ($src): no block I/O to account"
  cgroup_v2 && ! grep -qw io /sys/fs/cgroup/cgroup.subtree_control && skip "io controller not enabled"
  start_sleeper
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec "$ID" /bin/sh -c \
    'dd if=/dev/zero of=/blk bs=64k count=16 oflag=direct 2>/dev/null; sync; rm -f /blk'
  assert_success
  run timeout 20 "$RUNTIME" --root "$WARD_ROOT" events --stats "$ID"
  assert_success
  jq -e '.data.blkio.ioServiceBytesRecursive | map(select(.op == "Write") | .value // 0) | add >= 1048576' \
    <<<"$output" >/dev/null || fail "blkio ioServiceBytesRecursive has no 1 MiB of writes: $output"
  jq -e '.data.blkio.ioServicedRecursive | map(select(.op == "Write")) | length >= 1' <<<"$output" >/dev/null \
    || fail "blkio ioServicedRecursive has no Write entry: $output"
  jq -e '.data.blkio.ioServiceBytesRecursive | all(has("major") and has("op"))' <<<"$output" >/dev/null \
    || fail "blkio entries without major/op: $output"
}

@test "events: --stats names the same keys as runc on this host" {
  is_ward || skip "compares ward against runc (RUNTIME is $RUNTIME)"
  command -v runc >/dev/null || skip "needs runc to compare with (apt-get install runc)"
  start_sleeper
  run timeout 20 "$RUNTIME" --root "$WARD_ROOT" events --stats "$ID"
  assert_success
  local ours=$output rroot=$WARD_TMP/runc-root rid=runc-$ID theirs
  runc --root "$rroot" run -d --bundle "$BUNDLE" "$rid" </dev/null >/dev/null 2>&1 || fail "runc run failed"
  theirs=$(timeout 20 runc --root "$rroot" events --stats "$rid")
  runc --root "$rroot" delete -f "$rid" >/dev/null 2>&1
  # the keys that do not depend on activity (omitempty numbers may come and go);
  # runc 1.1 reports no cpuset lists and no memory max on v2, ward does
  local f='[.data | keys[]] + [.data.cpuset | del(.cpus, .mems) | keys[] | "cpuset." + .]
    + [.data.memory | del(.cache) | keys[] | "memory." + .] + [.data.memory.usage | del(.usage, .max) | keys[] | "usage." + .]
    + [.data.memory.raw | keys[] | "raw." + .] + [.data.hugetlb | keys[] | "hugetlb." + .]'
  assert_equal "$(jq -c "$f" <<<"$ours")" "$(jq -c "$f" <<<"$theirs")"
}

@test "events: --stats on a missing container fails" {
  run timeout 20 "$RUNTIME" --root "$WARD_ROOT" events --stats no-such-container
  assert_failure
  assert_output --partial "does not exist"
}

@test "events: --interval streams stats and exits 0 when the container is gone" {
  start_sleeper
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" events --interval 1s "$ID" >"$WARD_TMP/ev.out" 2>"$WARD_TMP/ev.err" &
  EV_PID=$!
  sleep 2.5
  kill -0 "$EV_PID" || fail "events exited early: $(cat "$WARD_TMP/ev.err")"
  run runtime kill "$ID" KILL
  assert_success
  wait_status stopped
  # runc 1.1.5 streams on until the cgroup is removed: delete the container
  run runtime delete "$ID"
  assert_success
  local rc=0
  wait "$EV_PID" || rc=$?
  EV_PID=
  assert_equal "$rc" 0
  run jq -r 'select(.type == "stats") | .id' "$WARD_TMP/ev.out"
  assert_success
  (( ${#lines[@]} >= 2 )) || fail "fewer than two stats lines: $(cat "$WARD_TMP/ev.out")"
  assert_line --index 0 "$ID"
}

@test "events: an OOM kill is reported" {
  update_config '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
  [[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]] \
    || update_config '.linux.resources.memory = {"limit": 33554432}'
  start_sleeper
  timeout 60 "$RUNTIME" --root "$WARD_ROOT" events --interval 1s "$ID" >"$WARD_TMP/ev.out" 2>"$WARD_TMP/ev.err" &
  EV_PID=$!
  sleep 1
  # tail keeps its never-ending "last line" in memory: it grows until killed.
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec -d "$ID" /bin/tail /dev/zero \
    </dev/null >"$WARD_TMP/exec.out" 2>&1 || fail "exec -d failed: $(cat "$WARD_TMP/exec.out")"
  local i
  for ((i = 0; i < 150; i++)); do
    grep -q '"oom"' "$WARD_TMP/ev.out" && break
    sleep 0.1
  done
  kill "$EV_PID" 2>/dev/null
  wait "$EV_PID" 2>/dev/null || true
  EV_PID=
  run jq -r 'select(.type == "oom") | .id' "$WARD_TMP/ev.out"
  assert_success
  assert_line "$ID"
}
