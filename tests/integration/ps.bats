#!/usr/bin/env bats
# ps: the processes of a container, as a table, as JSON, with ps arguments.

load helpers

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

@test "ps: table with a PID column holding the init's pid" {
  start_sleeper
  run runtime ps "$ID"
  assert_success
  assert_line --index 0 --regexp '(^| )PID( |$)'
  # the PID column of some row is the init's host pid
  local col
  col=$(head -1 <<<"$output" | awk '{for (i = 1; i <= NF; i++) if ($i == "PID") print i}')
  [[ -n $col ]] || fail "no PID column in: $(head -1 <<<"$output")"
  run awk -v c="$col" 'NR > 1 {print $c}' <<<"$output"
  assert_line "$INIT_PID"
  refute_line "$$"
}

@test "ps: -f json is an array holding the init's and an exec'd process's pid" {
  start_sleeper
  local pf=$WARD_TMP/exec.pid
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec -d --pid-file "$pf" "$ID" /bin/sleep 100 \
    </dev/null >"$WARD_TMP/exec.out" 2>&1 || fail "exec -d failed: $(cat "$WARD_TMP/exec.out")"
  local epid
  epid=$(cat "$pf")
  run runtime ps -f json "$ID"
  assert_success
  assert_equal "$(jq -r type <<<"$output")" array
  jq -e --argjson p "$INIT_PID" 'index($p) != null' <<<"$output" >/dev/null || fail "init pid $INIT_PID not in $output"
  jq -e --argjson p "$epid" 'index($p) != null' <<<"$output" >/dev/null || fail "exec pid $epid not in $output"
  jq -e --argjson p "$$" 'index($p) == null' <<<"$output" >/dev/null || fail "host pid $$ listed in $output"
  run runtime ps --format json "$ID"
  assert_success
  jq -e --argjson p "$INIT_PID" 'index($p) != null' <<<"$output" >/dev/null || fail "--format json: init pid missing: $output"
}

@test "ps: ps arguments after the id are passed to ps" {
  start_sleeper
  # (runc hands a "--" on to ps, which refuses it: the args follow the id)
  run runtime ps "$ID" -o pid,comm
  assert_success
  assert_line --index 0 --regexp '^ *PID +COMMAND *$'
  assert_line --regexp "^ *$INIT_PID +sleep *\$"
  # only the two columns were asked for
  refute_output --partial STIME
}

@test "ps: a missing container is an error" {
  run runtime ps no-such-container
  assert_failure
  assert_output --partial "does not exist"
}

@test "ps: a stopped container lists no process or fails" {
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  run runtime ps -f json "$ID"
  if [[ $status == 0 ]]; then
    # runc prints null (an empty Go slice), [] is as good
    jq -e 'length == 0' <<<"$output" >/dev/null || fail "processes listed for a stopped container: $output"
  fi
}
