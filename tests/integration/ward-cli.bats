#!/usr/bin/env bats
# End-to-end tests of `ward`, the docker-compatible front end: run, logs,
# ps, inspect, lifecycle verbs, cp, images (save/load/pull).  Each test has
# its own --root under $WARD_TMP, so the busybox image is imported fresh
# (from /bin/busybox) by the first `run` of every test.

load helpers
load ward-helpers
load ../clients/configs
bats_require_minimum_version 1.5.0

# cid_of NAME: the full id of a container.
cid_of() {
  w inspect -f '{{.Id}}' "$1"
}

# host_pid NAME: the container's init pid as the host sees it.
host_pid() {
  w inspect -f '{{.State.Pid}}' "$1"
}

# leftovers_of ID: everything a removed container could leave behind.
leftovers_of() {
  local id=$1
  [[ -e $R/containers/$id ]] && echo "container dir $R/containers/$id"
  [[ -e $R/runtime/$id ]] && echo "runtime state $R/runtime/$id"
  awk -v id="$id" 'index($5, id) { print "mount " $5 }' /proc/self/mountinfo
  find /sys/fs/cgroup/ -mindepth 1 -maxdepth 6 -type d \( -name "$id" -o -name "*$id.scope" \) 2>/dev/null \
    | sed 's/^/cgroup /'
  return 0
}

setup() { ward_cli_setup; }

teardown() {
  local regpid
  if [[ -f $WARD_TMP/registry.pid ]]; then
    regpid=$(cat "$WARD_TMP/registry.pid")
    [[ -n $regpid ]] && kill "$regpid" 2>/dev/null
    rm -f "$WARD_TMP/registry.pid"
  fi
  ward_cli_teardown
}

# ------------------------------------------------------------------- run

@test "ward run: a fresh root imports busybox and runs echo" {
  [[ ! -e $R/containers ]] || fail "root not fresh"
  run w run --rm busybox echo hello
  assert_success
  assert_output "hello"
  run w images
  assert_success
  assert_line --regexp '^busybox +latest'
  run w ps -aq
  assert_output ""
}

@test "ward run: exit codes 0 1 42, 126 127 125 as docker's" {
  run -0 w run --rm busybox true
  run -1 w run --rm busybox false
  run -42 w run --rm busybox sh -c 'exit 42'
  run -126 w run --rm busybox /etc/passwd
  assert_output --partial 'exec: "/etc/passwd": permission denied'
  run -127 w run --rm busybox nosuchcmd
  assert_output --partial 'exec: "nosuchcmd": executable file not found in $PATH'
  run -125 w run --no-such-flag --rm busybox true
  assert_output --partial "no-such-flag"
  run -125 w --no-such-global ps
  # --rm removed them all
  run w ps -aq
  assert_output ""
}

@test "ward run -d: logs split stdout/stderr, json-file format, stop, rm" {
  local id log
  id=$(w run -d --name lg busybox sh -c 'echo out; echo err >&2; trap "exit 3" TERM; while true; do sleep 0.1; done')
  [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed '$id', not a 64-hex id"
  log=$R/containers/$id/$id-json.log
  wait_file "$log" 100
  # both lines logged
  local i
  for ((i = 0; i < 50; i++)); do [[ $(wc -l <"$log") -ge 2 ]] && break; sleep 0.05; done
  assert_equal "$(w logs lg 2>/dev/null)" "out"
  assert_equal "$(w logs lg 2>&1 >/dev/null)" "err"
  # every line is {"log","stream","time"} with an RFC 3339 time
  run jq -c '[keys, .stream, (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))]' "$log"
  assert_success
  assert_line '[["log","stream","time"],"stdout",true]'
  assert_line '[["log","stream","time"],"stderr",true]'
  assert_equal "$(jq -r 'select(.stream == "stdout") | .log' "$log")" "out"
  assert_equal "$(jq -r 'select(.stream == "stderr") | .log' "$log")" "err"
  run w stop lg
  assert_success
  assert_output "lg"
  assert_equal "$(w inspect -f '{{.State.Status}} {{.State.ExitCode}}' lg)" "exited 3"
  run w rm lg
  assert_success
  assert_output "lg"
  run w inspect lg
  assert_failure
  [[ ! -e $R/containers/$id ]] || fail "rm left $R/containers/$id"
}

@test "ward ps: -a shows Exited (N), --filter name=, --format" {
  w run --name ps-one busybox sh -c 'exit 4' || true
  w run -d --name ps-two busybox sleep 30 >/dev/null
  w create --name other busybox true >/dev/null
  run w ps -a
  assert_success
  assert_line --index 0 --regexp '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
  assert_line --regexp 'Exited \(4\) .* ps-one$'
  assert_line --regexp 'Up .* ps-two$'
  assert_line --regexp 'Created .* other$'
  run w ps
  refute_line --regexp 'ps-one$'
  assert_line --regexp 'ps-two$'
  run w ps -a --filter name=ps- --format '{{.Names}} {{.Status}}'
  assert_success
  assert_line --regexp '^ps-one Exited \(4\) '
  assert_line --regexp '^ps-two Up '
  refute_line --partial other
  assert_equal "${#lines[@]}" 2
  run w ps -aq
  assert_equal "${#lines[@]}" 3
  [[ ${lines[0]} =~ ^[0-9a-f]{12}$ ]] || fail "ps -q printed '${lines[0]}'"
}

@test "ward inspect: docker's fields and -f templates" {
  local id
  id=$(w run -d --name insp busybox sleep 30)
  run w inspect insp
  assert_success
  echo "$output" | jq -e --arg id "$id" '
    length == 1 and .[0].Id == $id and .[0].Name == "/insp"
    and .[0].State.Status == "running" and .[0].State.Running == true
    and .[0].State.ExitCode == 0 and (.[0].State.Pid | type) == "number" and .[0].State.Pid > 0
    and .[0].Config.Image == "busybox" and (.[0].HostConfig | type) == "object"
    and (.[0].HostConfig.RestartPolicy | type) == "object"' >/dev/null \
    || fail "inspect JSON lacks docker's fields: $output"
  assert_equal "$(w inspect -f '{{.State.Status}}' insp)" "running"
  assert_equal "$(w inspect -f '{{.Name}} {{.Config.Image}}' "${id:0:12}")" "/insp busybox"
  # the pid is real and is the container's init
  kill -0 "$(host_pid insp)" || fail "State.Pid $(host_pid insp) is not alive"
  w kill insp >/dev/null
  wait_state insp exited
  assert_equal "$(w inspect -f '{{.State.Running}} {{.State.ExitCode}}' insp)" "false 137"
  run w inspect nosuch
  assert_failure
}

@test "ward run --name: conflict message as docker's" {
  local id
  id=$(w run -d --name dup busybox sleep 30)
  run w run --name dup busybox true
  assert_equal "$status" 125
  assert_output --partial "Conflict. The container name \"/dup\" is already in use by container \"$id\". You have to remove (or rename) that container to be able to reuse that name."
  run w create --name dup busybox true
  assert_equal "$status" 125
  assert_output --partial 'Conflict. The container name "/dup" is already in use'
}

@test "ward run --read-only" {
  run w run --rm --read-only busybox touch /x
  assert_failure
  assert_output --partial "Read-only file system"
  run w run --rm busybox touch /x
  assert_success
}

@test "ward run --memory 64m sets the cgroup v1 limit" {
  requires cgroup_v1
  local pid path lim
  w run -d --name mem --memory 64m busybox sleep 30 >/dev/null
  pid=$(host_pid mem)
  # the memory line of the container's /proc/<pid>/cgroup: "N:memory:/path"
  path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup")
  [[ -n $path && $path != / ]] || fail "container pid $pid is not in its own memory cgroup: '$path'"
  lim=$(cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes")
  assert_equal "$lim" 67108864
  # Inside: runc binds the container's own cgroup at /sys/fs/cgroup/memory
  # (so the path from /proc/self/cgroup is not there); a runtime that shows
  # the whole host tree (host cgroup ns) has it under that path.  Either way
  # the first file found must hold the limit.
  run w exec mem sh -c 'p=$(sed -n "s/^[0-9]*:[^:]*memory[^:]*://p" /proc/self/cgroup)
    for f in /sys/fs/cgroup/memory$p/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.limit_in_bytes; do
      [ -r "$f" ] && { cat "$f"; exit 0; }; done; echo "no memory cgroup file"; exit 1'
  assert_success
  assert_output 67108864
}

@test "ward run -e -w -u (uid and name)" {
  run w run --rm -e FOO=bar -e EMPTY= -w /tmp -u 1000:1000 busybox sh -c 'echo "$FOO [$EMPTY] $(pwd) $(id -u):$(id -g)"'
  assert_success
  assert_output "bar [] /tmp 1000:1000"
  run w run --rm -u nobody busybox sh -c 'echo $(id -un) $(id -u)'
  assert_success
  assert_output "nobody 65534"
  run w run --rm -w /new/dir busybox pwd
  assert_success
  assert_output "/new/dir"
  run w run --rm busybox sh -c 'echo $PATH'
  assert_output --partial "/bin"
}

@test "ward run: capabilities and seccomp (--cap-drop ALL, defaults, --privileged)" {
  run w run --rm --cap-drop ALL busybox grep CapEff /proc/self/status
  assert_success
  assert_output --regexp '^CapEff:[[:space:]]+0000000000000000$'
  run w run --rm busybox grep CapBnd /proc/self/status
  assert_output --regexp '^CapBnd:[[:space:]]+00000000a80425fb$'
  run w run --rm busybox grep Seccomp: /proc/self/status
  assert_output --regexp '^Seccomp:[[:space:]]+2$'
  run w run --rm --privileged busybox grep Seccomp: /proc/self/status
  assert_output --regexp '^Seccomp:[[:space:]]+0$'
  run w run --rm --cap-drop ALL --cap-add NET_RAW busybox grep CapEff /proc/self/status
  assert_output --regexp '^CapEff:[[:space:]]+0000000000002000$'
}

@test "ward run: /dev/shm size, -v bind and :ro, --network none" {
  run w run --rm busybox sh -c 'df -k /dev/shm | tail -1'
  assert_success
  [[ $(awk '{print $2}' <<<"$output") == 65536 ]] || fail "/dev/shm is not 64m: $output"
  run w run --rm --shm-size 128m busybox sh -c 'df -k /dev/shm | tail -1'
  [[ $(awk '{print $2}' <<<"$output") == 131072 ]] || fail "--shm-size 128m: $output"

  mkdir -p "$WARD_TMP/vol"
  echo fromhost >"$WARD_TMP/vol/f"
  run w run --rm -v "$WARD_TMP/vol:/data" busybox sh -c 'cat /data/f && echo fromctr >/data/g'
  assert_success
  assert_output fromhost
  assert_equal "$(cat "$WARD_TMP/vol/g")" fromctr
  run w run --rm -v "$WARD_TMP/vol:/data:ro" busybox touch /data/h
  assert_failure
  [[ ! -e $WARD_TMP/vol/h ]] || fail ":ro bind let the container write"
  rm -rf "$WARD_TMP/vol"

  run w run --rm --network none busybox ls /sys/class/net
  assert_success
  assert_output lo
}

@test "ward create/start -a, restart, kill -s, wait, exec, top" {
  local id
  w create --name cr busybox echo created >/dev/null
  assert_equal "$(w inspect -f '{{.State.Status}}' cr)" created
  run w start -a cr
  assert_success
  assert_output created

  id=$(w run -d --name life busybox sh -c 'echo n1; echo n2; echo n3; sleep 30')
  run w exec life sh -c 'echo in-$(hostname)'
  assert_success
  assert_output "in-${id:0:12}"
  run w exec life sh -c 'exit 7'
  assert_equal "$status" 7
  run w exec -e X=1 -w /tmp life sh -c 'echo $X $(pwd)'
  assert_output "1 /tmp"
  run w top life
  assert_success
  assert_line --partial "sleep 30"
  sleep 0.2
  run w logs --tail 2 life
  assert_output "n2
n3"
  run w kill -s KILL life
  assert_success
  assert_output life
  run w wait life
  assert_success
  assert_output 137
  run w restart life
  assert_success
  wait_state life running
  run w exec life true
  assert_success
  run w rm life
  assert_failure
  assert_output --partial "You cannot remove a running container"
  run w rm -f life
  assert_success
  assert_output life
}

@test "ward run --restart on-failure:2 restarts twice" {
  local id i rc=
  id=$(w run -d --restart on-failure:2 busybox false)
  for ((i = 0; i < 100; i++)); do
    rc=$(w inspect -f '{{.RestartCount}} {{.State.Status}}' "$id")
    [[ $rc == "2 exited" ]] && break
    sleep 0.1
  done
  assert_equal "$rc" "2 exited"
  assert_equal "$(w inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' "$id")" "on-failure 2"
  # and it stays at 2
  sleep 0.5
  assert_equal "$(w inspect -f '{{.RestartCount}} {{.State.ExitCode}}' "$id")" "2 1"
}

@test "ward pause/unpause, stop of a paused container" {
  local pid
  w run -d --name pz busybox sh -c 'trap "exit 5" TERM; while true; do sleep 0.1; done' >/dev/null
  pid=$(host_pid pz)
  run w pause pz
  assert_success
  assert_output pz
  assert_equal "$(w inspect -f '{{.State.Status}} {{.State.Paused}}' pz)" "paused true"
  run w ps --format '{{.Names}} {{.Status}}'
  assert_output --regexp '^pz Up .*\(Paused\)$'
  # the kernel agrees: frozen tasks sleep in the freezer
  grep -q FROZEN "/sys/fs/cgroup/freezer$(awk -F: '$2 == "freezer" { print $3 }' "/proc/$pid/cgroup")/freezer.state" \
    || fail "pid $pid is not frozen"
  run w unpause pz
  assert_success
  assert_output pz
  assert_equal "$(w inspect -f '{{.State.Status}}' pz)" running
  w pause pz >/dev/null
  run w stop pz
  assert_success
  assert_equal "$(w inspect -f '{{.State.Status}} {{.State.ExitCode}}' pz)" "exited 5"
}

@test "ward cp: both ways, and symlinks in the rootfs cannot reach the host" {
  local id rootfs hostdir
  w create --name cp busybox true >/dev/null
  id=$(cid_of cp)
  rootfs=$R/containers/$id/rootfs
  [[ -d $rootfs/bin ]] || fail "no rootfs at $rootfs"

  echo fromhost >"$WARD_TMP/cpsrc"
  run w cp "$WARD_TMP/cpsrc" cp:/tmp/in
  assert_success
  assert_equal "$(cat "$rootfs/tmp/in")" fromhost
  run w cp cp:/etc/passwd "$WARD_TMP/cpdst"
  assert_success
  cmp "$rootfs/etc/passwd" "$WARD_TMP/cpdst" || fail "cp container -> host copied the wrong content"

  # a link to /etc: must resolve to the container's /etc, never the host's
  ln -s /etc "$rootfs/escape"
  local probe=ward-cp-probe-$$-$RANDOM
  run w cp "$WARD_TMP/cpsrc" "cp:/escape/$probe"
  if [[ -e /etc/$probe ]]; then
    rm -f "/etc/$probe"
    fail "ward cp wrote the host's /etc/$probe through a symlink in the rootfs"
  fi
  [[ $status != 0 || -f $rootfs/etc/$probe ]] || fail "cp succeeded but wrote neither inside nor outside"
  rm -f "$WARD_TMP/cpdst"
  run w cp cp:/escape/passwd "$WARD_TMP/cpdst"
  if [[ $status == 0 ]]; then
    cmp "$rootfs/etc/passwd" "$WARD_TMP/cpdst" || fail "ward cp read the host's /etc/passwd through a symlink"
  fi

  # a link to a host-only directory with a secret: neither read nor written
  hostdir=$WARD_TMP/hostonly
  mkdir -p "$hostdir"
  echo secret >"$hostdir/secret"
  ln -s "$hostdir" "$rootfs/escape2"
  rm -f "$WARD_TMP/cpdst"
  run w cp cp:/escape2/secret "$WARD_TMP/cpdst"
  if [[ -e $WARD_TMP/cpdst ]] && grep -q secret "$WARD_TMP/cpdst"; then
    fail "ward cp read a host file through a symlink in the rootfs"
  fi
  run w cp "$WARD_TMP/cpsrc" cp:/escape2/planted
  [[ ! -e $hostdir/planted ]] || fail "ward cp wrote a host file through a symlink in the rootfs"
  rm -rf "$hostdir" "$WARD_TMP/cpsrc" "$WARD_TMP/cpdst"
}

@test "ward run -it gets a pty (driven by script(1))" {
  command -v script >/dev/null || skip "needs script(1) from bsdutils to give ward a terminal"
  run timeout 30 script -qec "$WARD_BIN --root $R run --rm -it busybox sh -c 'tty; stty size >/dev/null && echo sized'" /dev/null </dev/null
  assert_success
  assert_output --regexp '/dev/pts/[0-9]+'
  assert_output --partial sized
  # without -t there is no terminal
  run w run --rm busybox tty
  assert_output --partial "not a tty"
}

@test "ward save -> rmi -> load round trip" {
  w run --rm busybox true
  run w save busybox -o "$WARD_TMP/bb.tar"
  assert_success
  tar -tf "$WARD_TMP/bb.tar" | grep -q manifest.json || fail "save wrote no docker-archive manifest.json"
  run w rmi busybox
  assert_success
  run w images -q
  assert_output ""
  run w load -i "$WARD_TMP/bb.tar"
  assert_success
  assert_output "Loaded image: busybox:latest"
  run w images
  assert_line --regexp '^busybox +latest'
  run w run --rm busybox echo loaded
  assert_success
  assert_output loaded
  rm -f "$WARD_TMP/bb.tar"
}

@test "ward pull from a local registry (docker-registry + skopeo)" {
  requires skopeo python3
  command -v docker-registry >/dev/null || skip "needs docker-registry (apt-get install docker-registry)"
  local port reg i
  w run --rm busybox true
  w save busybox -o "$WARD_TMP/bb.tar"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  reg=$WARD_TMP/registry
  rm -rf "$reg"; mkdir -p "$reg/data"
  registry_config "$reg" "127.0.0.1:$port"
  docker-registry serve "$reg/config.yml" >"$reg/log" 2>&1 </dev/null 3>&- &
  echo $! >"$WARD_TMP/registry.pid"
  for ((i = 0; i < 100; i++)); do
    curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null || fail "registry did not start: $(cat "$reg/log")"
  run skopeo copy --quiet --dest-tls-verify=false "docker-archive:$WARD_TMP/bb.tar" "docker://127.0.0.1:$port/test/busybox:1"
  assert_success

  # pull into an empty root: nothing local to fall back on
  local R2=$WARD_TMP/root-pull
  rm -rf "$R2"
  run ward --root "$R2" pull "127.0.0.1:$port/test/busybox:1"
  assert_success
  run ward --root "$R2" images
  assert_line --regexp "^127.0.0.1:$port/test/busybox +1 "
  run ward --root "$R2" run --rm "127.0.0.1:$port/test/busybox:1" echo pulled
  assert_success
  assert_output pulled
  # an unknown tag fails cleanly
  run ward --root "$R2" pull "127.0.0.1:$port/test/busybox:nosuch"
  assert_failure
  for m in $(awk -v r="$R2/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m"; done
  rm -rf "$R2" "$WARD_TMP/bb.tar"
}

@test "ward rm leaves nothing: no container dir, state, mount or cgroup" {
  local id id2 left
  id=$(w run -d --name gone --memory 32m busybox sleep 30)
  id2=$(w create --name gone2 busybox true)
  [[ -d $R/containers/$id ]] || fail "no container dir for $id"
  grep -q "$id" /proc/self/mountinfo || fail "running container has no snapshot mount"
  run w rm -f gone
  assert_success
  run w rm gone2
  assert_success
  # the monitor may still be finishing
  for ((i = 0; i < 20; i++)); do
    left="$(leftovers_of "$id")$(leftovers_of "$id2")"
    [[ -z $left ]] && break
    sleep 0.1
  done
  [[ -z $left ]] || fail "ward rm left: $left"
  run w ps -aq
  assert_output ""

  # --rm as well
  w run --rm --name gone3 busybox true
  run w ps -aq
  assert_output ""
  [[ -z $(ls -A "$R/containers" 2>/dev/null) ]] || fail "--rm left $(ls -A "$R/containers")"
  [[ -z $(ls -A "$R/runtime" 2>/dev/null) ]] || fail "--rm left runtime state $(ls -A "$R/runtime")"
}
