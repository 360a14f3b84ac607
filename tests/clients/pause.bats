#!/usr/bin/env bats
# The pod sandbox's pause program (image/pause/pause.c) and its image.

load helpers

setup() {
  PAUSE=$WARD_BUILDDIR/image/pause/ward-pause
  [[ -x $PAUSE ]] || skip "image/pause/ward-pause is not built (make)"
  T=$(mktemp -d /tmp/wpause.XXXXXX)
}

teardown() {
  [[ -n ${PID:-} ]] && kill -9 "$PID" 2>/dev/null
  [[ -n ${T:-} ]] && rm -rf "$T"
  return 0
}

@test "pause: static, prints its version" {
  run file -L "$PAUSE"
  [[ $status != 0 ]] || [[ $output == *"statically linked"* || $output == *"static-pie"* ]] \
    || fail "not a static binary: $output"
  run ldd "$PAUSE"
  assert_failure
  run "$PAUSE" --version
  assert_success
  assert_output --regexp '^ward-pause [0-9.]+$'
}

@test "pause: as pid 1 it reaps orphans and exits 0 on SIGTERM" {
  requires root
  # pid 1 of a new pid namespace, like a pod sandbox
  unshare --pid --fork --mount-proc "$PAUSE" 2>"$T/err" &
  PID=$!
  local p1 i
  for i in $(seq 50); do
    p1=$(pgrep -P "$PID" -x ward-pause) && break
    sleep 0.1
  done
  [[ -n $p1 ]] || fail "pause did not start: $(cat "$T/err")"
  # an orphan: its parent exits at once, so it is re-parented to pause
  nsenter -t "$p1" -p -- sh -c 'sleep 0.3 & exit 0'
  sleep 1
  local zombies
  zombies=$(ps -o pid=,stat= --ppid "$p1" | awk '$2 ~ /Z/')
  [[ -z $zombies ]] || fail "pause left zombies: $zombies"
  kill -TERM "$p1"
  wait "$PID"
  local rc=$?
  PID=
  assert_equal "$rc" 0
  grep -q SIGTERM "$T/err" || fail "no exit message: $(cat "$T/err")"
}

@test "pause: the pause image loads into ward and runs /pause" {
  cl_requires ward
  local tar=$WARD_BUILDDIR/image/pause/pause.tar
  [[ -s $tar ]] || skip "image/pause/pause.tar is not built (make)"
  run tar -tf "$tar"
  assert_success
  assert_line index.json
  assert_line manifest.json
  assert_line oci-layout
  run "$WARD_CLI_BIN" --root "$T/ward" load -i "$tar"
  assert_success
  assert_output "Loaded image: pause:latest"
  run "$WARD_CLI_BIN" --root "$T/ward" run -d --name wpause --network none pause
  assert_success
  run "$WARD_CLI_BIN" --root "$T/ward" top wpause
  assert_success
  assert_output --partial /pause
  run "$WARD_CLI_BIN" --root "$T/ward" stop -t 5 wpause
  assert_success
  assert_equal "$("$WARD_CLI_BIN" --root "$T/ward" inspect -f '{{.State.ExitCode}}' wpause)" 0
  "$WARD_CLI_BIN" --root "$T/ward" rm -f wpause >/dev/null 2>&1
}
