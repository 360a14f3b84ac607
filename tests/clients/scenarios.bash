# Scenarios shared by docker.bats and podman.bats: the same user-visible
# behaviour through either client, with ward or ward-vm as the runtime.
#
# A test calls `use_client docker|podman RUNTIME` and then one scn_*
# function.  They use:
#   C ARGS...      the client CLI (private daemon/storage, see helpers.bash)
#   RUNF           the flags `run` needs to pick the runtime (docker:
#                  --runtime NAME; podman picks it with a global flag in C)
#   RT             ward | ward-vm (the wrapper that must show up in calls)
# Every scenario ends with assert_ward_ran, so a client that silently ran
# runc cannot pass; containers are named n<test number>-<RT> and removed by
# scn_teardown.

use_client() {
  CLIENT=$1 RT=$2
  [[ $RT == ward-vm ]] && requires_vm
  if [[ $CLIENT == docker ]]; then
    C() { dk "$@"; }
    RUNF=(--runtime "$RT")
  else
    C() { pm --runtime "$CL_BIN/$RT" "$@"; }
    RUNF=(--network none)
  fi
  N=n$BATS_TEST_NUMBER-$RT
}

scn_teardown() {
  [[ -n ${N:-} ]] && type C >/dev/null 2>&1 || return 0
  local n
  for n in "$N" "$N-b"; do C rm -f "$n" >/dev/null 2>&1; done
  return 0
}

cid() { C inspect -f '{{.Id}}' "$1"; }
cpid() { C inspect -f '{{.State.Pid}}' "$1"; }

# wait_logs NAME TEXT: the container's log shows TEXT (10 s at most).
wait_logs() {
  local i
  for i in $(seq 100); do
    C logs "$1" 2>&1 | grep -q -- "$2" && return 0
    sleep 0.1
  done
  fail "no '$2' in the logs of $1: $(C logs "$1" 2>&1 | tail -5)"
}

# wait_state NAME STATUS: .State.Status reaches STATUS (20 s at most).
wait_state() {
  local i s
  for i in $(seq 200); do
    s=$(C inspect -f '{{.State.Status}}' "$1" 2>/dev/null)
    [[ $s == "$2" ]] && return 0
    sleep 0.1
  done
  fail "$1 is '$s', not '$2'"
}

# run_bg NAME [RUN-FLAGS...] -- CMD...: a detached container from busybox.
run_bg() {
  local name=$1 flags=()
  shift
  while (($#)) && [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  run C run -d --name "$name" "${RUNF[@]}" "${flags[@]}" busybox "$@"
  assert_success
}

# run_fg [RUN-FLAGS...] -- CMD...: `run --rm` with a cidfile; sets CID.
run_fg() {
  local flags=() cf=$CL_TMP/cid.$BATS_TEST_NUMBER
  while (($#)) && [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  rm -f "$cf"
  run C run --rm --cidfile "$cf" "${RUNF[@]}" "${flags[@]}" busybox "$@"
  CID=$(cat "$cf" 2>/dev/null)
}

# --------------------------------------------------------------- scenarios

scn_run_exit() {
  run_fg -- sh -c 'echo hello-$(id -u); exit 3'
  assert_equal "$status" 3
  assert_line hello-0
  [[ -n $CID ]] || fail "no container id from --cidfile"
  assert_ward_ran "$RT" "$CID"
  assert_ward_ran "$RT" "$CID" start
}

# issue #6: --memory 64m sets the container's memory cgroup limit
scn_memory() {
  run_bg "$N" --memory 64m -- sleep 600
  local pid
  pid=$(cpid "$N")
  assert_equal "$(cl_memory_limit "$pid")" 67108864
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_cpu_pids() {
  run_bg "$N" --cpus 0.5 --pids-limit 20 -- sleep 600
  local pid
  pid=$(cpid "$N")
  assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_quota_us)" 50000
  assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_period_us)" 100000
  assert_equal "$(cl_cgroup_file "$pid" pids pids.max)" 20
  # the pids limit holds: the 21st process cannot be forked
  run C exec "$N" sh -c 'for i in $(seq 30); do sleep 5 & done 2>&1; wait' 
  assert_output --partial "can't fork"
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_tty() {
  run_fg -t -- sh -c 'tty; stty size >/dev/null && echo has-winsize'
  assert_success
  assert_output --partial /dev/pts/
  assert_output --partial has-winsize
  assert_ward_ran "$RT" "$CID"
  run_bg "$N" -- sleep 600
  run C exec -t "$N" tty
  assert_success
  assert_output --partial /dev/pts/
  assert_ward_ran "$RT" "$(cid "$N")" exec
}

scn_exec() {
  run_bg "$N" -- sleep 600
  run C exec "$N" sh -c 'echo in-exec; exit 4'
  assert_equal "$status" 4
  assert_output in-exec
  run C exec -u 65534 -e WARD_X=y -w /tmp "$N" sh -c 'echo $(id -u) $WARD_X $(pwd)'
  assert_success
  assert_output "65534 y /tmp"
  assert_ward_ran "$RT" "$(cid "$N")" exec
}

scn_attach() {
  run C run -di --name "$N" "${RUNF[@]}" busybox sh
  assert_success
  # the client sends our stdin to the shell and returns its exit code; the
  # pause lets the output come back before the shell exits
  local f=$CL_TMP/attach-$BATS_TEST_NUMBER
  mkfifo "$f"
  { echo 'echo attached-ok'; sleep 1; echo 'exit 5'; } >"$f" &
  run C attach "$N" <"$f"
  assert_output --partial attached-ok
  # docker attach exits with the container's code; podman 4.3's with 0
  [[ $CLIENT == docker ]] && assert_equal "$status" 5
  wait_state "$N" exited
  assert_equal "$(C inspect -f '{{.State.ExitCode}}' "$N")" 5
  assert_ward_ran "$RT" "$(cid "$N")"
}

# client_argv: the client command line as one shell-quoted string (for
# script(1), which runs it on a new terminal).
client_argv() {
  if [[ $CLIENT == docker ]]; then
    printf '%q ' env DOCKER_CONFIG="$CL_TMP/dk/cfg" "$CL_DOCKER_CLI" -H "unix://$CL_TMP/dk/sock"
  else
    printf '%q ' env CONTAINERS_CONF="$CL_TMP/pm/containers.conf" CONTAINERS_REGISTRIES_CONF="$CL_TMP/pm/registries.conf" \
      nsenter --net="/run/netns/$CL_NS" -- podman --root "$CL_TMP/pm/root" --runroot "$CL_TMP/pm/run" \
      --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$CL_TMP/pm/tmp" \
      --runtime "$CL_BIN/$RT"
  fi
}

scn_attach_tty() {
  command -v script >/dev/null || skip "needs script(1) (apt-get install util-linux) for a client terminal"
  run C run -dit --name "$N" "${RUNF[@]}" busybox sh
  assert_success
  # the client needs a terminal of its own to attach to a tty container
  run bash -c "{ sleep 1; echo 'tty; echo attached-\$((6*7))'; sleep 1; echo 'exit 6'; sleep 2; } \
    | timeout 60 script -qfec '$(client_argv) attach $N' /dev/null"
  assert_output --partial /dev/pts/
  assert_output --partial attached-42
  wait_state "$N" exited
  assert_equal "$(C inspect -f '{{.State.ExitCode}}' "$N")" 6
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_logs() {
  run_bg "$N" -- sh -c 'echo line-out; echo line-err >&2; sleep 600'
  wait_logs "$N" line-err
  run C logs "$N"
  assert_line line-out
  assert_line line-err
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_signals() {
  run_bg "$N" -- sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 143" TERM
                         echo ready; while :; do sleep 1 & wait; done'
  wait_logs "$N" ready
  run C kill -s USR1 "$N"
  assert_success
  wait_logs "$N" got-usr1
  local t0=$SECONDS
  run C stop -t 20 "$N"
  assert_success
  ((SECONDS - t0 < 15)) || fail "stop waited for the timeout: SIGTERM did not arrive"
  wait_logs "$N" got-term
  assert_equal "$(C inspect -f '{{.State.ExitCode}}' "$N")" 143
  assert_ward_ran "$RT" "$(cid "$N")" kill
}

scn_restart() {
  run_bg "$N" --restart on-failure:2 -- sh -c 'echo run; exit 1'
  local id i
  id=$(cid "$N")
  for i in $(seq 300); do
    [[ $(C inspect -f '{{.RestartCount}} {{.State.Status}}' "$N") == "2 exited" ]] && break
    sleep 0.1
  done
  assert_equal "$(C inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' "$N")" "2 exited 1"
  # three runs, each created by ward
  (($(grep -E "^$RT( .*)? create .*$id" "$CL_TMP/calls" | wc -l) >= 3)) \
    || fail "expected 3 creates of $id by $RT: $(grep -c "$id" "$CL_TMP/calls")"
}

scn_readonly() {
  run_fg --read-only -- sh -c 'touch /x 2>&1; echo rc=$?; touch /tmp/y 2>&1; echo tmp-rc=$?'
  assert_success
  assert_output --partial "Read-only file system"
  assert_line rc=1
  assert_ward_ran "$RT" "$CID"
}

scn_caps() {
  run_fg --cap-drop ALL -- grep CapEff /proc/self/status
  assert_success
  assert_output --regexp 'CapEff:[[:space:]]+0000000000000000'
  assert_ward_ran "$RT" "$CID"
  run_fg --cap-drop ALL --cap-add NET_ADMIN -- grep CapEff /proc/self/status
  assert_success
  assert_output --regexp 'CapEff:[[:space:]]+0000000000001000'
}

scn_seccomp() {
  run_fg -- grep Seccomp: /proc/self/status
  assert_success
  assert_output --regexp 'Seccomp:[[:space:]]+2'
  assert_ward_ran "$RT" "$CID"
  cat >"$CL_TMP/seccomp-$BATS_TEST_NUMBER.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
EOF
  run_fg --security-opt "seccomp=$CL_TMP/seccomp-$BATS_TEST_NUMBER.json" -- sh -c 'mkdir /tmp/d 2>&1; echo rc=$?'
  assert_success
  assert_output --partial "Operation not permitted"
  assert_line rc=1
}

scn_volumes() {
  local v=$CL_TMP/vol-$BATS_TEST_NUMBER
  mkdir -p "$v/rw" "$v/ro"
  echo from-host >"$v/ro/f"
  run_fg -v "$v/rw:/data" -v "$v/ro:/ro:ro" --tmpfs /scratch -- sh -c \
    'echo from-ctr >/data/f; cat /ro/f; { echo x >/ro/g; } 2>/dev/null || echo ro-refused; grep " /scratch " /proc/mounts'
  assert_success
  assert_line from-host
  assert_line ro-refused
  assert_output --regexp 'tmpfs /scratch tmpfs'
  assert_equal "$(cat "$v/rw/f")" from-ctr
  assert_ward_ran "$RT" "$CID"
}

scn_ports() {
  local port=$((18000 + BATS_TEST_NUMBER))
  local rf=("${RUNF[@]}")
  [[ $CLIENT == podman ]] && rf=(--network bridge)
  run C run -d --name "$N" "${rf[@]}" -p "127.0.0.1:$port:8080" busybox httpd -f -p 8080 -h /etc
  assert_success
  cl_wait_for "in_ns curl -sf -m 2 http://127.0.0.1:$port/passwd | grep -q root:x" 20 \
    || fail "127.0.0.1:$port not forwarded to the container: $(in_ns curl -s -m 2 "http://127.0.0.1:$port/passwd" 2>&1)"
  assert_ward_ran "$RT" "$(cid "$N")"
}

# oom_reported_with_runc: the client reports OOMKilled for runc's containers.
oom_reported_with_runc() {
  command -v runc >/dev/null || return 0
  local r
  pm --runtime runc run --name "$N-b" --network none --memory 32m --memory-swap 32m busybox \
    sh -c 'tail /dev/zero' >/dev/null 2>&1
  r=$(pm inspect -f '{{.State.OOMKilled}}' "$N-b" 2>/dev/null)
  pm rm -f "$N-b" >/dev/null 2>&1
  [[ $r == true ]]
}

scn_oom() {
  run C run --name "$N" "${RUNF[@]}" --memory 32m --memory-swap 32m busybox sh -c 'tail /dev/zero'
  assert_equal "$status" 137
  # podman 4.3 with conmon 2.1.6 says OOMKilled=false on a v1 memory
  # controller whatever the runtime: ask of ward only what runc gets here.
  if [[ $CLIENT == podman ]] && ! oom_reported_with_runc; then
    echo "# podman does not report OOMKilled with runc on this host either: only the 137 is checked" >&3
  else
    assert_equal "$(C inspect -f '{{.State.OOMKilled}}' "$N")" true
  fi
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_pause() {
  run_bg "$N" -- sleep 600
  local pid
  pid=$(cpid "$N")
  run C pause "$N"
  assert_success
  assert_equal "$(C inspect -f '{{.State.Status}}' "$N")" paused
  assert_equal "$(cl_cgroup_file "$pid" freezer freezer.state)" FROZEN
  run C unpause "$N"
  assert_success
  assert_equal "$(C inspect -f '{{.State.Status}}' "$N")" running
  assert_equal "$(cl_cgroup_file "$pid" freezer freezer.state)" THAWED
  assert_ward_ran "$RT" "$(cid "$N")" pause
  assert_ward_ran "$RT" "$(cid "$N")" resume
}

scn_stats() {
  run_bg "$N" --memory 64m -- sleep 600
  run C stats --no-stream --format '{{.MemUsage}}' "$N"
  assert_success
  # docker: "… / 64MiB"; podman: "… / 67.11MB"
  assert_output --regexp '/ (64MiB|67\.11MB)'
  assert_ward_ran "$RT" "$(cid "$N")"
}

scn_events() {
  local since
  since=$(date +%s)
  run_fg -- true
  assert_success
  local fmt='{{.Action}}'
  [[ $CLIENT == podman ]] && fmt='{{.Status}}'
  run C events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$CID" --format "$fmt"
  assert_success
  assert_line create
  assert_line start
  # docker says "die", podman "died"
  assert_line --regexp '^died?$'
  assert_ward_ran "$RT" "$CID"
}

scn_update() {
  run_bg "$N" --memory 64m --cpus 0.5 -- sleep 600
  local pid
  pid=$(cpid "$N")
  run C update --memory 100m --cpus 0.25 "$N"
  assert_success
  assert_equal "$(cl_memory_limit "$pid")" 104857600
  assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_quota_us)" 25000
  assert_ward_ran "$RT" "$(cid "$N")" update
}
