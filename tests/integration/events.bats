#!/usr/bin/env bats
# events: one-shot stats, a stats stream that ends with the container, OOM.

load helpers

setup() {
  requires root cgroup_v1
  ward_setup
}

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
