#!/usr/bin/env bats
# exec into a container: exit codes, process flags, joined namespaces, root,
# cgroup, seccomp, fds, and the container states where exec is (not) allowed.

load helpers

# start_sleeper [SCRIPT]: a running container whose init runs SCRIPT (default
# a long sleep); sets INIT_PID.
start_sleeper() {
  if [[ -n ${1:-} ]]; then set_cmd "$1"; else set_args /bin/sleep 100; fi
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status running || fail "container did not reach running"
  INIT_PID=$(ctr_pid)
}

teardown() {
  # a failed tty test must not leave recvtty holding bats' output open
  [[ -n ${RPID:-} ]] && kill "$RPID" 2>/dev/null
  ward_teardown
  # the parent of the --cgroup tests' cgroupsPath (runtimes leave parents)
  local c
  for c in /sys/fs/cgroup/*/ward-exec-sub; do rmdir "$c" 2>/dev/null || true; done
}

# exec_ctr ARG...: `exec` with stdin closed, as `run` (sets $status/$output).
exec_ctr() {
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec "$@" </dev/null
}

@test "exec: exit code 0 is passed through" {
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'echo in-exec; exit 0'
  assert_success
  assert_output in-exec
}

@test "exec: exit codes 3 and 42 are passed through" {
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'exit 3'
  assert_equal "$status" 3
  exec_ctr "$ID" /bin/sh -c 'exit 42'
  assert_equal "$status" 42
}

@test "exec: a process killed by SIGKILL gives 137" {
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'kill -9 $$'
  assert_equal "$status" 137
}

@test "exec: a missing binary fails and names it" {
  start_sleeper
  exec_ctr "$ID" /no/such/binary
  assert_failure
  assert_output --partial /no/such/binary
  # the container is not disturbed
  assert_equal "$(ctr_status)" running
}

@test "exec: -e/--env adds variables" {
  start_sleeper
  exec_ctr -e FOO=bar -e 'BAZ=two words' "$ID" /bin/sh -c 'echo "FOO=$FOO"; echo "BAZ=$BAZ"'
  assert_success
  assert_line FOO=bar
  assert_line "BAZ=two words"
  # (runc refuses -e and --env in one call)
  exec_ctr --env FOO=long-form "$ID" /bin/sh -c 'echo "FOO=$FOO"'
  assert_success
  assert_output FOO=long-form
}

@test "exec: without -e the process gets the container's env; -e overrides" {
  update_config '.process.env = ["PATH=/bin", "FROMCONFIG=yes", "FOO=config"]'
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'echo "FROMCONFIG=$FROMCONFIG FOO=$FOO PATH=$PATH"'
  assert_success
  assert_output "FROMCONFIG=yes FOO=config PATH=/bin"
  exec_ctr -e FOO=override "$ID" /bin/sh -c 'echo "FROMCONFIG=$FROMCONFIG FOO=$FOO"'
  assert_success
  assert_output "FROMCONFIG=yes FOO=override"
}

@test "exec: -u uid:gid and -g additional gids" {
  start_sleeper
  exec_ctr -u 1000:1001 -g 10 -g 20 "$ID" /bin/sh -c 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  assert_success
  assert_line --index 0 1000
  assert_line --index 1 1001
  assert_line --regexp $'^Uid:\t1000\t1000\t1000\t1000$'
  assert_line --regexp $'^Gid:\t1001\t1001\t1001\t1001$'
  assert_line --regexp $'^Groups:\t10 20 ?$'
  exec_ctr --user 1002 --additional-gids 30 "$ID" /bin/sh -c 'grep -E "^(Uid|Groups):" /proc/self/status'
  assert_success
  assert_line --regexp $'^Uid:\t1002\t'
  assert_line --regexp $'^Groups:\t30 ?$'
}

@test "exec: --cwd" {
  start_sleeper
  exec_ctr --cwd /tmp "$ID" /bin/sh -c 'pwd; readlink /proc/self/cwd'
  assert_success
  assert_output $'/tmp\n/tmp'
}

@test "exec: --cap adds a capability to the effective set" {
  start_sleeper
  # CAP_SYS_PTRACE is bit 19; the default spec does not grant it.
  exec_ctr "$ID" /bin/sh -c 'grep ^CapEff: /proc/self/status'
  assert_success
  local eff=${output##*$'\t'}
  (( (0x$eff >> 19 & 1) == 0 )) || fail "CAP_SYS_PTRACE already effective without --cap: $eff"
  exec_ctr --cap CAP_SYS_PTRACE "$ID" /bin/sh -c 'grep ^CapEff: /proc/self/status'
  assert_success
  eff=${output##*$'\t'}
  (( (0x$eff >> 19 & 1) == 1 )) || fail "CAP_SYS_PTRACE not in CapEff with --cap: $eff"
}

@test "exec: --no-new-privs" {
  update_config '.process.noNewPrivileges = false'
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'grep ^NoNewPrivs: /proc/self/status'
  assert_success
  assert_output $'NoNewPrivs:\t0'
  exec_ctr --no-new-privs "$ID" /bin/sh -c 'grep ^NoNewPrivs: /proc/self/status'
  assert_success
  assert_output $'NoNewPrivs:\t1'
}

@test "exec: -p/--process takes a process JSON" {
  start_sleeper
  jq -n '{terminal: false, user: {uid: 1000, gid: 1000}, cwd: "/tmp",
          env: ["PATH=/bin", "PJ=from-json"],
          args: ["/bin/sh", "-c", "echo \"$PJ $(id -u) $(pwd)\""]}' >"$WARD_TMP/process.json"
  exec_ctr -p "$WARD_TMP/process.json" "$ID"
  assert_success
  assert_output "from-json 1000 /tmp"
  exec_ctr --process "$WARD_TMP/process.json" "$ID"
  assert_success
  assert_output "from-json 1000 /tmp"
}

@test "exec: -d with --pid-file gives a host pid in the container's pid namespace" {
  start_sleeper
  local pf=$WARD_TMP/exec.pid
  rm -f "$pf"
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec -d --pid-file "$pf" "$ID" /bin/sleep 100 \
    </dev/null >"$WARD_TMP/exec.out" 2>&1 || fail "exec -d failed: $(cat "$WARD_TMP/exec.out")"
  [[ -s $pf ]] || fail "no pid file"
  local pid
  pid=$(cat "$pf")
  [[ $pid =~ ^[0-9]+$ ]] || fail "pid file holds '$pid'"
  kill -0 "$pid" || fail "exec'd process $pid is not alive"
  assert_equal "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$INIT_PID/ns/pid")"
  assert_equal "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "/bin/sleep 100 "
  # -d returned while the process runs
  assert_equal "$(ctr_status)" running
}

@test "exec: --preserve-fds passes extra fds" {
  start_sleeper
  echo from-fd-3 >"$WARD_TMP/fd3"
  echo from-fd-4 >"$WARD_TMP/fd4"
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec --preserve-fds 2 "$ID" /bin/sh -c "cat <&3; cat <&4; $FD_LIST" \
    </dev/null 3<"$WARD_TMP/fd3" 4<"$WARD_TMP/fd4"
  assert_success
  assert_line from-fd-3
  assert_line from-fd-4
  refute_line --regexp "^fd 5 "
}

@test "exec: -t with --console-socket gives a tty" {
  requires python3
  start_sleeper
  local sock=$WARD_TMP/tty.sock
  rm -f "$sock" "$sock.ready" "$WARD_TMP/tty.out"
  "$RECVTTY" "$sock" --out "$WARD_TMP/tty.out" &
  RPID=$!
  local rpid=$RPID
  wait_file "$sock.ready" 100 || true
  [[ -e $sock.ready ]] || fail "recvtty did not start"
  # (runc takes a console socket only with -d: the pty master goes to the socket)
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec -t -d --console-socket "$sock" "$ID" \
    /bin/sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty; sleep 0.5' </dev/null
  assert_success
  timeout 10 tail --pid="$rpid" -f /dev/null || kill "$rpid"
  wait "$rpid" || fail "recvtty failed"
  RPID=
  run tr -d '\r' <"$WARD_TMP/tty.out"
  assert_line --regexp '^/dev/pts/[0-9]+$'
  assert_line stdio-is-a-tty
}

@test "exec: joins every namespace of the init" {
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'for n in cgroup ipc mnt net pid time user uts; do [ -e /proc/self/ns/$n ] && echo "$n $(readlink /proc/self/ns/$n)"; done'
  assert_success
  local n want
  for n in cgroup ipc mnt net pid time user uts; do
    [[ -e /proc/$INIT_PID/ns/$n ]] || continue
    want="$n $(readlink "/proc/$INIT_PID/ns/$n")"
    assert_line "$want"
  done
  # the container does have namespaces of its own
  refute_line "mnt $(host_ns mnt)"
  refute_line "pid $(host_ns pid)"
}

@test "exec: sees the container's root" {
  [[ ! -e /ward-mark ]] || skip "the host has a /ward-mark of its own"
  start_sleeper "echo init-mark-$ID >/ward-mark; exec sleep 100"
  wait_file "$BUNDLE/rootfs/ward-mark" || fail "the init did not write its mark"
  exec_ctr "$ID" /bin/cat /ward-mark
  assert_success
  assert_output "init-mark-$ID"
}

@test "exec: lands in the container's cgroup" {
  start_sleeper 'cat /proc/self/cgroup >/init-cgroup; exec sleep 100'
  wait_file "$BUNDLE/rootfs/init-cgroup" || fail "the init did not write its cgroup"
  exec_ctr "$ID" /bin/cat /proc/self/cgroup
  assert_success
  assert_output "$(cat "$BUNDLE/rootfs/init-cgroup")"
  # and, seen from the host, the exec'd process is in the init's cgroups
  local pf=$WARD_TMP/exec.pid
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec -d --pid-file "$pf" "$ID" /bin/sleep 100 \
    </dev/null >"$WARD_TMP/exec.out" 2>&1 || fail "exec -d failed: $(cat "$WARD_TMP/exec.out")"
  assert_equal "$(cat "/proc/$(cat "$pf")/cgroup")" "$(cat "/proc/$INIT_PID/cgroup")"
  [[ $(cat /proc/self/cgroup) != "$(cat "/proc/$INIT_PID/cgroup")" ]] || fail "the container shares the test's cgroups"
}

@test "exec: into a stopped container fails" {
  set_args /bin/true
  create_ctr
  assert_success
  start_ctr
  assert_success
  wait_status stopped
  exec_ctr "$ID" /bin/echo should-not-run
  assert_failure
  refute_output should-not-run
  if is_ward; then assert_output --partial "cannot exec in a stopped container"; fi
}

@test "exec: into a missing container fails" {
  exec_ctr no-such-container /bin/true
  assert_failure
  assert_output --partial "does not exist"
}

@test "exec: into a paused container fails unless --ignore-paused" {
  requires cgroup_v1
  start_sleeper
  run runtime pause "$ID"
  assert_success
  assert_equal "$(ctr_status)" paused
  exec_ctr "$ID" /bin/echo should-not-run
  assert_failure
  refute_output should-not-run
  assert_output --partial paused
  # --ignore-paused: the process joins the frozen cgroup and runs on resume.
  timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec --ignore-paused "$ID" /bin/echo after-resume \
    </dev/null >"$WARD_TMP/ip.out" 2>&1 &
  local epid=$!
  sleep 1
  run runtime resume "$ID"
  assert_success
  local rc=0
  wait "$epid" || rc=$?
  [[ $rc == 0 ]] || fail "exec --ignore-paused: status $rc (wanted 0): $(cat "$WARD_TMP/ip.out")"
  run cat "$WARD_TMP/ip.out"
  assert_output after-resume
  assert_equal "$(ctr_status)" running
}

@test "exec: into a created (not started) container works" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  exec_ctr "$ID" /bin/sh -c 'echo exec-in-created; exit 7'
  assert_equal "$status" 7
  assert_output exec-in-created
  assert_equal "$(ctr_status)" created
}

@test "exec: in a user-namespaced container" {
  requires userns
  update_config '.linux.namespaces += [{"type":"user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user'
  assert_success
  assert_line --index 0 --regexp '^ +0 +100000 +65536$'
  assert_line --index 1 0
  assert_line --index 2 "$(readlink "/proc/$INIT_PID/ns/user")"
  refute_line "$(host_ns user)"
}

@test "exec: the container's seccomp profile applies" {
  update_config '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
  start_sleeper
  exec_ctr "$ID" /bin/sh -c 'mkdir /tmp/x 2>&1; echo rc=$?'
  assert_success
  assert_output --partial "Operation not permitted"
  assert_line rc=1
  [[ ! -e $BUNDLE/rootfs/tmp/x ]] || fail "mkdir succeeded in the exec'd process"
}

@test "exec: no host fd leaks into the exec'd process" {
  start_sleeper
  run timeout 30 "$RUNTIME" --root "$WARD_ROOT" exec "$ID" /bin/ls /proc/self/fd \
    </dev/null 5<"$BUNDLE/config.json" 7<"$WARD_TMP"
  assert_success
  # 0 1 2 and the directory fd of ls itself
  assert_output $'0\n1\n2\n3'
}

# runc 1.1's `exec --cgroup [<controller>[,...]:]<path>`: an existing
# sub-cgroup of the container's, per controller.
@test "exec --cgroup: the process lands in the named sub-cgroups only" {
  requires cgroup_v1
  local cg=/ward-exec-sub/$ID
  update_config ".linux.cgroupsPath = \"$cg\""
  start_sleeper
  mkdir "/sys/fs/cgroup/memory$cg/sub" "/sys/fs/cgroup/pids$cg/sub"
  exec_ctr --cgroup memory:sub "$ID" /bin/cat /proc/self/cgroup
  assert_success
  assert_line --regexp "^[0-9]+:memory:$cg/sub\$"
  assert_line --regexp "^[0-9]+:pids:$cg\$"
  exec_ctr --cgroup memory,pids:sub "$ID" /bin/cat /proc/self/cgroup
  assert_success
  assert_line --regexp "^[0-9]+:memory:$cg/sub\$"
  assert_line --regexp "^[0-9]+:pids:$cg/sub\$"
  # two values, each with its controllers
  exec_ctr --cgroup pids:sub --cgroup memory:sub "$ID" /bin/cat /proc/self/cgroup
  assert_success
  assert_line --regexp "^[0-9]+:memory:$cg/sub\$"
  assert_line --regexp "^[0-9]+:pids:$cg/sub\$"
}

@test "exec --cgroup: bad values are refused and start nothing" {
  requires cgroup_v1
  local cg=/ward-exec-sub/$ID
  update_config ".linux.cgroupsPath = \"$cg\""
  start_sleeper
  exec_ctr --cgroup memory:nosuch "$ID" /bin/true
  assert_failure
  assert_output --regexp "adding pid .*memory$cg/nosuch/cgroup.procs: no such file"
  exec_ctr --cgroup .. "$ID" /bin/true
  assert_failure
  assert_output --partial " .. is not a sub cgroup path"
  exec_ctr --cgroup foo:sub "$ID" /bin/true
  assert_failure
  assert_output --partial "unknown controller foo"
  exec_ctr --cgroup sub --cgroup memory:sub "$ID" /bin/true
  assert_failure
  assert_output --partial "invalid --cgroup argument: sub (missing <controller>: prefix)"
  # nothing but the init is left in the container
  run "$RUNTIME" --root "$WARD_ROOT" ps "$ID"
  assert_equal "$(tail -n +2 <<<"$output" | wc -l)" 1
}
