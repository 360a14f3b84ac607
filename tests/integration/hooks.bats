#!/usr/bin/env bats
# OCI hooks: the six kinds run at the right time with the state on stdin.

load helpers

# hook KIND: a hook that appends "KIND <status> <id> <pid>" (from the state
# JSON on its stdin) to $HOOKLOG, as seen in the runtime namespace.
hook() {
  local script='s=$(cat); printf "%s %s %s %s\n" "$1" "$(echo "$s" | jq -r .status)" "$(echo "$s" | jq -r .id)" "$(echo "$s" | jq -r .pid)" >>"$2"'
  jq -cn --arg s "$script" --arg k "$1" --arg l "$HOOKLOG" '{path: "/bin/bash", args: ["bash", "-c", $s, "hook", $k, $l]}'
}

setup() {
  ward_setup
  HOOKLOG=$WARD_TMP/hooks-$ID.log
  rm -f "$HOOKLOG"
}

@test "hooks: each kind runs at the right time with the state on stdin" {
  set_args /bin/sleep 100
  update_config ".hooks = {
    \"prestart\": [$(hook prestart)],
    \"createRuntime\": [$(hook createRuntime)],
    \"createContainer\": [$(hook createContainer)],
    \"poststart\": [$(hook poststart)],
    \"poststop\": [$(hook poststop)],
    \"startContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo startContainer \$\$ >>/tmp/start-hook\"]}]}"
  create_ctr
  assert_success
  local pid
  pid=$(ctr_pid)
  run cat "$HOOKLOG"
  assert_line --index 0 "prestart creating $ID $pid"
  assert_line --index 1 "createRuntime creating $ID $pid"
  # runc reports the pid as seen from the container's pid namespace here.
  assert_line --index 2 --regexp "^createContainer creating $ID [0-9]+$"
  # runc 1.1.5 runs poststart already during create (status "created");
  # the runtime-spec says after start, and ward does that.
  if is_ward; then assert_equal "${#lines[@]}" 3; fi
  [[ ! -e $BUNDLE/rootfs/tmp/start-hook ]] || fail "startContainer ran at create"
  start_ctr
  assert_success
  wait_file "$BUNDLE/rootfs/tmp/start-hook"
  # startContainer runs in the container (its own pid namespace).
  run cat "$BUNDLE/rootfs/tmp/start-hook"
  assert_output --regexp '^startContainer [0-9]+$'
  run cat "$HOOKLOG"
  if is_ward; then
    assert_line --index 3 "poststart running $ID $pid"
  else
    assert_line --index 3 --regexp "^poststart (created|running) $ID $pid$"
  fi
  assert_equal "${#lines[@]}" 4
  run runtime delete --force "$ID"
  assert_success
  run cat "$HOOKLOG"
  assert_line --index 4 --regexp "^poststop stopped $ID ([0-9]+|null)$"
}

@test "hooks: hooks of one kind run in order, with env and args" {
  update_config ".hooks.prestart = [
    {\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo first \$0 \$FOO >>$HOOKLOG\", \"arg0\"], \"env\": [\"FOO=bar\"]},
    {\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo second >>$HOOKLOG\"]}]"
  set_args /bin/true
  run_ctr
  assert_success
  run cat "$HOOKLOG"
  assert_output $'first arg0 bar\nsecond'
}

@test "hooks: a failing prestart hook aborts create and leaves nothing" {
  update_config '.hooks.prestart = [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]'
  set_args /bin/sleep 100
  create_ctr
  assert_failure
  assert_output --partial "hook"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed hook"
  run leftovers
  assert_output ""
}

@test "hooks: a failing createRuntime hook aborts create" {
  update_config '.hooks.createRuntime = [{"path": "/bin/false"}]'
  set_args /bin/sleep 100
  create_ctr
  assert_failure
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed hook"
}

@test "hooks: a missing hook binary aborts create" {
  update_config '.hooks.prestart = [{"path": "/no/such/hook"}]'
  create_ctr
  assert_failure
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed hook"
}

# expect_hook_timeout HOOK-JSON: a prestart hook with a 1 s timeout that
# runs longer: create fails soon, naming the timeout, and leaves nothing.
expect_hook_timeout() {
  update_config ".hooks.prestart = [$1]"
  local t0=$SECONDS
  create_ctr
  assert_failure
  ((SECONDS - t0 < 15)) || fail "create took $((SECONDS - t0))s with a 1 s hook timeout"
  assert_output --regexp "timeout|timed out"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a hook timeout"
}

@test "hooks: a hook past its timeout is killed and create fails" {
  expect_hook_timeout '{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}'
}

@test "hooks: the timeout holds for a hook that closes its output and keeps running" {
  expect_hook_timeout '{"path": "/bin/sh", "args": ["sh", "-c", "exec >&- 2>&- <&-; sleep 30"], "timeout": 1}'
}

@test "hooks: a failing poststop hook does not stop delete" {
  update_config '.hooks.poststop = [{"path": "/bin/false"}]'
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  wait_status stopped
  run runtime delete "$ID"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after delete"
}
