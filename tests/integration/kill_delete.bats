#!/usr/bin/env bats
# kill and delete.

load helpers

# A container whose init records the signals it gets in /tmp/sig (visible
# from the host at $BUNDLE/rootfs/tmp/sig).
start_trap_ctr() {
  set_cmd 'for s in TERM INT HUP USR1 USR2; do trap "echo $s >>/tmp/sig" $s; done
           echo ready >/tmp/ready; while :; do sleep 0.1; done'
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_file "$BUNDLE/rootfs/tmp/ready"
}

got_signal() {
  wait_file "$BUNDLE/rootfs/tmp/sig" 100 || return 1
  grep -qx "$1" "$BUNDLE/rootfs/tmp/sig"
}

@test "kill: default signal is SIGTERM" {
  start_trap_ctr
  run runtime kill "$ID"
  assert_success
  got_signal TERM || fail "init did not get TERM: $(cat "$BUNDLE/rootfs/tmp/sig" 2>/dev/null)"
}

@test "kill: signal by name with SIG prefix" {
  start_trap_ctr
  run runtime kill "$ID" SIGUSR1
  assert_success
  got_signal USR1 || fail "init did not get USR1"
}

@test "kill: signal by name without SIG prefix" {
  start_trap_ctr
  run runtime kill "$ID" HUP
  assert_success
  got_signal HUP || fail "init did not get HUP"
}

@test "kill: signal by number" {
  start_trap_ctr
  run runtime kill "$ID" 12
  assert_success
  got_signal USR2 || fail "init did not get USR2 (12)"
}

@test "kill: KILL stops the container" {
  start_trap_ctr
  run runtime kill "$ID" KILL
  assert_success
  wait_status stopped
}

@test "kill: an unknown signal name is an error" {
  start_trap_ctr
  run runtime kill "$ID" NOSUCHSIG
  assert_failure
  if is_ward; then assert_output --regexp 'unknown signal \\?"NOSUCHSIG\\?"'; fi
  assert_equal "$(ctr_status)" running
}

@test "kill: a created container can be killed" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  run runtime kill "$ID" KILL
  assert_success
  wait_status stopped
}

@test "kill --all: every process in the container gets the signal" {
  set_cmd 'sleep 1000 & sleep 1000 & echo ready >/tmp/ready; wait'
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_file "$BUNDLE/rootfs/tmp/ready"
  local n
  n=$(leftovers | grep -c '^process')
  ((n >= 3)) || fail "expected 3 processes in the container, found $n"
  run runtime kill --all "$ID" KILL
  assert_success
  wait_status stopped
  local i
  for i in $(seq 50); do
    [[ -z $(leftovers | grep '^process') ]] && break
    sleep 0.1
  done
  run leftovers
  refute_line --regexp "^process "
}

@test "kill: a stopped container is an error" {
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  run runtime kill "$ID" KILL
  assert_failure
  if is_ward; then assert_output --partial "container not running"; fi
}

@test "kill: a missing container is an error" {
  run runtime kill no-such-container KILL
  assert_failure
  assert_output --partial "does not exist"
}

@test "delete: a running container without --force is refused with runc's message" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  run runtime delete "$ID"
  assert_failure
  assert_output --partial "cannot delete container $ID that is not stopped: running"
  assert_equal "$(ctr_status)" running
}

@test "delete: a created container without --force is removed (as runc does)" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  local pid
  pid=$(ctr_pid)
  run runtime delete "$ID"
  assert_success
  pid_gone "$pid" || fail "init $pid still alive"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left"
}

@test "delete --force: kills a running container and removes everything" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  local pid
  pid=$(ctr_pid)
  run runtime delete --force "$ID"
  assert_success
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left"
  pid_gone "$pid" || fail "init $pid still alive"
  run leftovers
  assert_output ""
}

@test "delete --force: removes a created container" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  run runtime delete --force "$ID"
  assert_success
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left"
  run leftovers
  assert_output ""
}

@test "delete: a stopped container" {
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  run runtime delete "$ID"
  assert_success
  run runtime state "$ID"
  assert_failure
  run leftovers
  assert_output ""
}

@test "delete: a missing container is an error" {
  run runtime delete no-such-container
  assert_failure
  assert_output --partial "does not exist"
}

@test "delete --force: a missing container is not an error" {
  run runtime delete --force no-such-container
  assert_success
}
