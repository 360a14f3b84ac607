#!/usr/bin/env bats
# create / start / run as containerd's shim and people use them.

load helpers

@test "create: state is created, pid file matches, exec.fifo exists" {
  set_args /bin/echo started
  create_ctr
  assert_success
  run runtime state "$ID"
  assert_success
  local state=$output
  assert_equal "$(jq -r .status <<<"$state")" created
  assert_equal "$(jq -r .id <<<"$state")" "$ID"
  [[ -s $BUNDLE/pid-$ID ]] || fail "no pid file"
  assert_equal "$(cat "$BUNDLE/pid-$ID")" "$(jq -r .pid <<<"$state")"
  kill -0 "$(cat "$BUNDLE/pid-$ID")" || fail "the init process is not alive"
  [[ -p $WARD_ROOT/$ID/exec.fifo ]] || fail "no exec.fifo in $WARD_ROOT/$ID"
  # Nothing has run yet.
  [[ ! -s $BUNDLE/out ]] || fail "the process ran before start: $(cat "$BUNDLE/out")"
}

@test "create: the pid file holds no newline and is written atomically" {
  create_ctr
  assert_success
  run cat "$BUNDLE/pid-$ID"
  assert_output --regexp '^[0-9]+$'
  [[ $(tail -c1 "$BUNDLE/pid-$ID" | od -An -c | tr -d ' ') != '\n' ]] || fail "pid file ends with a newline (runc writes none)"
}

@test "start: runs the process, then the state is stopped and exec.fifo gone" {
  set_args /bin/echo hello from the container
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  assert_equal "$(cat "$BUNDLE/out")" "hello from the container"
  [[ ! -e $WARD_ROOT/$ID/exec.fifo ]] || fail "exec.fifo still there after start"
  run runtime delete "$ID"
  assert_success
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after delete"
}

@test "start: starting twice is an error" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status running
  start_ctr
  assert_failure
  if is_ward; then assert_output --partial "cannot start an already running container"; fi
}

@test "start: a missing container is an error" {
  start_ctr no-such-container
  assert_failure
  assert_output --partial "does not exist"
}

@test "create: an existing id is an error and the first container is untouched" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  local pid
  pid=$(cat "$BUNDLE/pid-$ID")
  create_ctr
  assert_failure
  assert_output --partial "already exists"
  assert_equal "$(ctr_status)" created
  assert_equal "$(ctr_pid)" "$pid"
}

@test "run: exit code 0" {
  set_args /bin/true
  run_ctr
  assert_success
  [[ ! -e $WARD_ROOT/$ID ]] || fail "run without --keep left the state dir"
}

@test "run: exit code 1" {
  set_args /bin/false
  run_ctr
  assert_equal "$status" 1
}

@test "run: exit code 42" {
  set_cmd 'exit 42'
  run_ctr
  assert_equal "$status" 42
}

@test "run: stdout and stderr pass through" {
  set_cmd 'echo to-out; echo to-err >&2'
  run_ctr
  assert_success
  assert_line to-out
  assert_line to-err
}

@test "run: a process killed by a signal exits 128+signal" {
  set_args /bin/sleep 100
  ( rc=0; timeout 60 "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null >"$BUNDLE/out" 2>&1 || rc=$?; echo $rc >"$BUNDLE/rc" ) &
  local bg=$!
  wait_status running
  run runtime kill "$ID" KILL
  assert_success
  wait "$bg"
  assert_equal "$(cat "$BUNDLE/rc")" 137
}

@test "run: a process killing itself with SIGTERM (no pid namespace) exits 143" {
  update_config '.linux.namespaces |= map(select(.type != "pid"))'
  set_cmd 'kill -TERM $$; sleep 5'
  run_ctr
  assert_equal "$status" 143
}

@test "run --detach: returns at once, the container keeps running" {
  set_args /bin/sleep 100
  local t0=$SECONDS
  "$RUNTIME" --root "$WARD_ROOT" run --detach --bundle "$BUNDLE" --pid-file "$BUNDLE/pid" "$ID" \
    </dev/null >"$BUNDLE/out" 2>&1 || fail "run --detach failed: $(cat "$BUNDLE/out")"
  ((SECONDS - t0 < 10)) || fail "run --detach did not return promptly"
  assert_equal "$(ctr_status)" running
  assert_equal "$(cat "$BUNDLE/pid")" "$(ctr_pid)"
}

@test "run --keep: the stopped container stays until delete" {
  set_args /bin/true
  run_ctr --keep
  assert_success
  assert_equal "$(ctr_status)" stopped
  run runtime delete "$ID"
  assert_success
}

@test "create: a missing binary fails create with the reason and leaves nothing" {
  set_args /no/such/binary
  create_ctr
  assert_failure
  assert_output --partial "/no/such/binary"
  assert_output --regexp "no such file or directory|No such file or directory"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed create"
  run leftovers
  assert_output ""
}

@test "create: a non-executable process is refused" {
  set_args /etc/passwd
  create_ctr
  assert_failure
  assert_output --regexp "permission denied|Permission denied|not executable"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed create"
}

@test "run: a missing cwd is created (as runc does)" {
  update_config '.process.cwd = "/new/work/dir"'
  set_args /bin/pwd
  run_ctr
  assert_success
  assert_output /new/work/dir
}

@test "run: a cwd that is a file fails with the reason" {
  update_config '.process.cwd = "/etc/passwd"'
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --partial "/etc/passwd"
  assert_output --regexp "not a directory|Not a directory"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed run"
}

@test "run: a relative cwd is refused" {
  update_config '.process.cwd = "relative/dir"'
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --regexp "[Cc]wd"
}

@test "create: a wrong type in config.json exits 1 naming the JSON path" {
  update_config '.linux.resources.memory.limit = "lots"'
  create_ctr
  assert_equal "$status" 1
  if is_ward; then
    assert_output --partial "linux.resources.memory.limit: expected integer, got string"
  fi
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed create"
}

@test "create: invalid JSON is refused" {
  echo '{"ociVersion": "1.0.2", ' >"$BUNDLE/config.json"
  create_ctr
  assert_equal "$status" 1
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed create"
}

@test "create: a missing rootfs is refused" {
  update_config '.root.path = "no-such-rootfs"'
  create_ctr
  assert_failure
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state dir left after a failed create"
}

@test "create: a missing bundle is refused" {
  BUNDLE=$WARD_TMP/no-such-bundle
  mkdir -p "$BUNDLE"
  rm -f "$BUNDLE/config.json"
  create_ctr
  assert_failure
  assert_output --partial "config.json"
}

@test "create: an invalid container id is refused" {
  create_ctr "../escape"
  assert_failure
  [[ ! -e $WARD_TMP/escape ]] || fail "the id escaped the root"
}

@test "create: --debug writes debug lines to the JSON log" {
  rm -f "$WARD_TMP/debug.log"
  "$RUNTIME" --root "$WARD_ROOT" --debug --log "$WARD_TMP/debug.log" --log-format json \
    create --bundle "$BUNDLE" "$ID" </dev/null >"$BUNDLE/out" 2>&1 || fail "create failed: $(cat "$BUNDLE/out")"
  [[ -s $WARD_TMP/debug.log ]] || fail "nothing logged with --debug"
  run jq -r .level "$WARD_TMP/debug.log"
  assert_success
  assert_line debug
}

@test "run: the bundle is the container's working directory for relative root.path" {
  mv "$BUNDLE/rootfs" "$BUNDLE/other-root"
  update_config '.root.path = "other-root"'
  set_args /bin/cat /etc/hostname
  run_ctr
  assert_success
  assert_output ward-test
}

@test "run: an absolute root.path outside the bundle works" {
  mv "$BUNDLE/rootfs" "$BUNDLE/../rootfs-abs-$ID"
  echo "$WARD_TMP/rootfs-abs-$ID" >>"$WARD_TMP/bundles"
  update_config ".root.path = \"$WARD_TMP/rootfs-abs-$ID\""
  set_args /bin/cat /etc/hostname
  run_ctr
  assert_success
  assert_output ward-test
}

# runc cleans root.path lexically (filepath.Clean) before it checks for
# symlinks: ".", "./x/../rootfs" and "rootfs/" are all fine.
@test "run: root.path spellings that clean to a real directory work" {
  set_args /bin/cat /etc/hostname
  local p
  for p in rootfs/ ./rootfs ./no-such-dir/../rootfs; do
    update_config ".root.path = \"$p\""
    run_ctr
    assert_success
    assert_output ward-test
  done
}

@test "run: root.path \".\" with the config inside the rootfs" {
  mv "$BUNDLE/config.json" "$BUNDLE/rootfs/config.json"
  BUNDLE=$BUNDLE/rootfs
  update_config '.root.path = "."'
  set_args /bin/cat /etc/hostname
  run_ctr
  assert_success
  assert_output ward-test
}

@test "run: a root.path through a symlink is refused as runc does" {
  ln -s rootfs "$BUNDLE/rootfs-link"
  update_config '.root.path = "rootfs-link"'
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --partial "invalid rootfs: not an absolute path, or a symlink"
}
