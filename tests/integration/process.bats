#!/usr/bin/env bats
# The container process: args, env, cwd, user, umask, rlimits, caps, nnp,
# oom_score_adj, terminal, preserved fds.  Checked from inside.

load helpers

@test "process: args are passed verbatim" {
  set_args /bin/sh -c 'for a in "$@"; do echo "[$a]"; done' argv0 'two words' '' '$HOME' '*'
  run_ctr
  assert_success
  assert_output $'[two words]\n[]\n[$HOME]\n[*]'
}

@test "process: env" {
  update_config '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="]'
  set_cmd 'echo "FOO=$FOO"; echo "EMPTY=[$EMPTY]"; env | sort'
  run_ctr
  assert_success
  assert_line "FOO=bar baz"
  assert_line "EMPTY=[]"
  assert_line "PATH=/bin"
  # runc adds HOME from the user's passwd entry when the spec has none.
  assert_line "HOME=/root"
}

@test "process: cwd" {
  update_config '.process.cwd = "/tmp"'
  set_cmd 'pwd; readlink /proc/self/cwd'
  run_ctr
  assert_success
  assert_output $'/tmp\n/tmp'
}

@test "process: user uid/gid/additionalGids" {
  update_config '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}'
  set_cmd 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
  run_ctr
  assert_success
  assert_line --index 0 1000
  assert_line --index 1 1001
  assert_line --regexp $'^Uid:\t1000\t1000\t1000\t1000$'
  assert_line --regexp $'^Gid:\t1001\t1001\t1001\t1001$'
  assert_line --regexp $'^Groups:\t10 20 ?$'
}

@test "process: user without additionalGids has no supplementary groups" {
  update_config '.process.user = {"uid": 65534, "gid": 65534}'
  set_cmd 'grep -E "^(Uid|Groups):" /proc/self/status'
  run_ctr
  assert_success
  assert_line --regexp $'^Uid:\t65534\t'
  assert_line --regexp $'^Groups:\t? *$'
}

@test "process: umask" {
  update_config '.process.user.umask = 63'
  set_cmd 'umask; touch /tmp/f; stat -c %a /tmp/f'
  run_ctr
  assert_success
  assert_line --index 0 0077
  assert_line --index 1 600
}

@test "process: default umask is 0022" {
  set_cmd 'umask'
  run_ctr
  assert_success
  assert_output 0022
}

@test "process: rlimits" {
  update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 1500}, {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400}]'
  set_cmd 'ulimit -n; grep -E "^Max (open files|processes)" /proc/self/limits'
  run_ctr
  assert_success
  assert_line --index 0 1000
  assert_line --regexp '^Max open files +1000 +1500 +files'
  assert_line --regexp '^Max processes +300 +400 +processes'
}

@test "process: an rlimit above the host hard limit works with CAP_SYS_RESOURCE" {
  requires cap_sys_resource
  update_config '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]'
  run_ctr
  assert_success
}

@test "process: raising RLIMIT_NOFILE past the hard limit without CAP_SYS_RESOURCE fails" {
  local hard
  hard=$(ulimit -Hn)
  (( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1 )) \
    && skip "the host has CAP_SYS_RESOURCE, raising the hard limit is allowed"
  update_config ".process.rlimits = [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $((hard + 1)), \"hard\": $((hard + 1))}]"
  run_ctr
  assert_failure
  assert_output --regexp "rlimit|RLIMIT|operation not permitted|Operation not permitted"
}

@test "process: capabilities" {
  update_config '.process.capabilities = {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"], "inheritable": [], "ambient": []}'
  set_cmd 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status'
  run_ctr
  assert_success
  assert_line $'CapBnd:\t0000000000000021'
  assert_line $'CapEff:\t0000000000000021'
  assert_line $'CapPrm:\t0000000000000021'
  assert_line $'CapInh:\t0000000000000000'
  assert_line $'CapAmb:\t0000000000000000'
}

@test "process: capabilities of a non-root user (ambient)" {
  update_config '.process.user = {"uid": 1000, "gid": 1000} | .process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE"], "effective": ["CAP_NET_BIND_SERVICE"], "permitted": ["CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}'
  set_cmd 'grep -E "^Cap(Eff|Bnd|Amb):" /proc/self/status'
  run_ctr
  assert_success
  assert_line $'CapBnd:\t0000000000000400'
  assert_line $'CapEff:\t0000000000000400'
  assert_line $'CapAmb:\t0000000000000400'
}

@test "process: an unknown capability is skipped with a warning, as runc does" {
  update_config '.process.capabilities.bounding += ["CAP_NO_SUCH_THING"] | .process.capabilities.effective += ["CAP_NO_SUCH_THING"]'
  set_cmd 'grep ^CapBnd: /proc/self/status'
  run_ctr
  assert_success
  assert_output --partial 'ignoring unknown or unavailable capabilities: [CAP_NO_SUCH_THING]'
  # named once although it is in two sets
  [[ $(grep -o CAP_NO_SUCH_THING <<<"$output" | wc -l) == 1 ]]
  assert_line --partial $'CapBnd:\t'
}

@test "process: noNewPrivileges true" {
  update_config '.process.noNewPrivileges = true'
  set_cmd 'grep ^NoNewPrivs: /proc/self/status'
  run_ctr
  assert_success
  assert_output $'NoNewPrivs:\t1'
}

@test "process: noNewPrivileges false" {
  update_config '.process.noNewPrivileges = false'
  set_cmd 'grep ^NoNewPrivs: /proc/self/status'
  run_ctr
  assert_success
  assert_output $'NoNewPrivs:\t0'
}

@test "process: oomScoreAdj" {
  update_config '.process.oomScoreAdj = 512'
  set_cmd 'cat /proc/self/oom_score_adj'
  run_ctr
  assert_success
  assert_output 512
}

@test "process: terminal via --console-socket" {
  requires python3
  local sock=$WARD_TMP/tty.sock
  rm -f "$sock" "$sock.ready" "$WARD_TMP/tty.out"
  "$RECVTTY" "$sock" --out "$WARD_TMP/tty.out" &
  local rpid=$!
  wait_file "$sock.ready" 100 || true
  [[ -e $sock.ready ]] || fail "recvtty did not start"
  update_config '.process.terminal = true'
  set_cmd 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-a-tty; stty size'
  update_config '.process.consoleSize = {"height": 25, "width": 100}'
  "$RUNTIME" --root "$WARD_ROOT" create --console-socket "$sock" --bundle "$BUNDLE" "$ID" \
    </dev/null >"$WARD_TMP/out" 2>&1 || fail "create failed: $(cat "$WARD_TMP/out")"
  start_ctr
  assert_success
  wait_status stopped
  wait "$rpid" || fail "recvtty failed"
  run tr -d '\r' <"$WARD_TMP/tty.out"
  assert_line --regexp '^/dev/(pts/[0-9]+|console)$'
  assert_line stdio-is-a-tty
  assert_line "25 100"
}

@test "process: terminal without --console-socket is an error for create" {
  update_config '.process.terminal = true'
  create_ctr
  assert_failure
  assert_output --regexp "console.socket"
}

@test "process: --preserve-fds passes extra fds" {
  echo from-fd-3 >"$WARD_TMP/fd3"
  echo from-fd-4 >"$WARD_TMP/fd4"
  set_cmd "cat <&3; cat <&4; $FD_LIST"
  "$RUNTIME" --root "$WARD_ROOT" run --preserve-fds 2 --bundle "$BUNDLE" "$ID" \
    </dev/null 3<"$WARD_TMP/fd3" 4<"$WARD_TMP/fd4" >"$WARD_TMP/out" 2>&1 || fail "run failed: $(cat "$WARD_TMP/out")"
  run cat "$WARD_TMP/out"
  assert_line from-fd-3
  assert_line from-fd-4
  assert_line --regexp "^fd 3 "
  assert_line --regexp "^fd 4 "
  refute_line --regexp "^fd 5 "
}

@test "process: LISTEN_FDS socket activation passes fds and sets the variables" {
  echo from-listen-fd >"$WARD_TMP/lfd"
  set_cmd 'echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; cat <&3'
  LISTEN_FDS=1 RT=$RUNTIME R=$WARD_ROOT B=$BUNDLE I=$ID bash -c \
    'export LISTEN_PID=$$; exec "$RT" --root "$R" run --bundle "$B" "$I"' \
    </dev/null 3<"$WARD_TMP/lfd" >"$WARD_TMP/out" 2>&1 || fail "run failed: $(cat "$WARD_TMP/out")"
  run cat "$WARD_TMP/out"
  assert_line "LISTEN_FDS=1 LISTEN_PID=1"
  assert_line from-listen-fd
}

@test "process: no host fd leaks into the container" {
  set_cmd "$FD_LIST"
  # Open some extra fds in the caller, as a careless shim might.
  "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" \
    </dev/null 5<"$BUNDLE/config.json" 7<"$WARD_TMP" >"$WARD_TMP/out" 2>&1 || fail "run failed: $(cat "$WARD_TMP/out")"
  run cut -d' ' -f1,2 "$WARD_TMP/out"
  assert_output $'fd 0\nfd 1\nfd 2'
}

@test "process: the init is pid 1 in a new pid namespace" {
  set_cmd 'echo $$; cat /proc/1/comm'
  run_ctr
  assert_success
  assert_line --index 0 1
}

@test "process: hostname from the spec" {
  update_config '.hostname = "ward-box"'
  set_args /bin/hostname
  run_ctr
  assert_success
  assert_output ward-box
}

# A label the host cannot apply must not be dropped silently: the container
# would run unconfined.  runc refuses too (with its own wording).
@test "process: an apparmor profile on a host without AppArmor is refused" {
  [[ -e /sys/module/apparmor/parameters/enabled ]] && skip "this host has AppArmor"
  update_config '.process.apparmorProfile = "ward-test-profile"'
  run_ctr
  assert_failure
  assert_output --partial "apparmor"
  if is_ward; then
    assert_output --partial 'ward-test-profile\" is specified in config, but it cannot be applied'
  fi
}

@test "process: an selinux label on a host without SELinux is refused" {
  [[ -e /sys/fs/selinux/enforce ]] && skip "this host has SELinux"
  update_config '.process.selinuxLabel = "system_u:system_r:container_t:s0"'
  run_ctr
  assert_failure
  assert_output --partial "selinux"
}
