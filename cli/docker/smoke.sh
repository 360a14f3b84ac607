#!/bin/bash
# End-to-end checks of `ward` (the docker-style front end) on this host.
# Usage: cli/docker/smoke.sh [path/to/ward]   (root; uses a private --root)
# Prints TAP; exits non-zero when a check fails.
set -u
WARD=${1:-./ward}
ROOT=$(mktemp -d /tmp/ward-smoke.XXXXXX)
W() { "$WARD" --root "$ROOT" "$@"; }
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
is() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3: got '$1', want '$2'"; failed=$((failed + 1)); fi; }
cleanup() {
  for c in $(W ps -aq --no-trunc 2>/dev/null); do W rm -f "$c" >/dev/null 2>&1; done
  umount -R "$ROOT"/containers/*/rootfs 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }
[ -x /bin/busybox ] || { echo "1..0 # SKIP needs /bin/busybox (busybox-static)"; exit 0; }

is "$(W run --rm busybox echo hello)" "hello" "run --rm busybox echo hello (imports the default image)"
W images | grep -q '^busybox *latest'; ok $? "images lists busybox:latest"
W run --rm busybox true; is $? 0 "exit code 0"
W run --rm busybox false; is $? 1 "exit code 1"
W run --rm busybox sh -c 'exit 42'; is $? 42 "exit code 42"
W run --rm busybox nosuchcmd 2>/dev/null; is $? 127 "command not found is 127"
W run --rm busybox /etc/passwd 2>/dev/null; is $? 126 "not executable is 126"
is "$(W ps -aq | wc -l)" 0 "--rm left nothing behind"

id=$(W run -d --name smoke1 busybox sh -c 'echo out; echo err >&2; trap "exit 3" TERM; while true; do sleep 0.1; done')
ok $? "run -d prints an id"
is "${#id}" 64 "the id is 64 hex"
sleep 0.5
is "$(W logs smoke1 2>/dev/null)" "out" "logs: stdout"
is "$(W logs smoke1 2>&1 >/dev/null)" "err" "logs: stderr on stderr"
grep -q '{"log":"out\\n","stream":"stdout","time":"' "$ROOT/containers/$id/$id-json.log"; ok $? "json-file log format"
W ps | grep -q 'Up .*smoke1$'; ok $? "ps shows it Up"
W run --name smoke1 busybox true 2>/tmp/ward-smoke-err; is $? 125 "name conflict exits 125"
grep -q 'Conflict. The container name "/smoke1" is already in use by container "'"$id"'". You have to remove (or rename) that container to be able to reuse that name.' /tmp/ward-smoke-err; ok $? "name conflict message as docker's"
is "$(W inspect -f '{{.State.Running}} {{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}}' smoke1)" "true /smoke1 busybox none" "inspect fields while running"
is "$(W stop smoke1)" "smoke1" "stop prints the name"
is "$(W inspect -f '{{.State.Status}} {{.State.ExitCode}}' smoke1)" "exited 3" "exit code after stop"
W ps -a | grep -q 'Exited (3) .*smoke1$'; ok $? "ps -a shows Exited (3)"
is "$(W ps -q | wc -l)" 0 "ps without -a hides it"
is "$(W ps -a --filter name=smoke --format '{{.Names}}:{{.Status}}' | cut -d' ' -f1)" "smoke1:Exited" "ps --filter --format"
W inspect smoke1 | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert d["Id"] and d["Name"]=="/smoke1" and d["State"]["ExitCode"]==3 and "RestartPolicy" in d["HostConfig"]'; ok $? "inspect JSON shape"
is "$(W rm smoke1)" "smoke1" "rm"
W inspect smoke1 >/dev/null 2>&1; is $? 1 "inspect of a removed container fails"

is "$(W run --rm -e FOO=bar -w /tmp -u 1000:1000 busybox sh -c 'echo $FOO $(pwd) $(id -u):$(id -g)')" "bar /tmp 1000:1000" "-e -w -u"
is "$(W run --rm -u nobody busybox id -un)" "nobody" "-u by name from the image's /etc/passwd"
W run --rm --read-only busybox touch /x 2>/dev/null; ok $((! $?)) "--read-only refuses writes"
is "$(W run --rm --cap-drop ALL busybox grep CapEff /proc/self/status | tr -d '\t')" "CapEff:0000000000000000" "--cap-drop ALL"
is "$(W run --rm busybox grep CapBnd /proc/self/status | tr -d '\t')" "CapBnd:00000000a80425fb" "docker's default capabilities"
is "$(W run --rm busybox hostname | wc -c)" 13 "hostname is 12 hex"
mkdir -p "$ROOT/vol" && echo fromhost > "$ROOT/vol/f"
is "$(W run --rm -v "$ROOT/vol:/data:ro" busybox cat /data/f)" "fromhost" "-v bind mount"
W run --rm -v "$ROOT/vol:/data:ro" busybox touch /data/g 2>/dev/null; ok $((! $?)) "-v :ro is read-only"
cid=$(W run -d --memory 64m busybox sleep 30)
lim=$(cat /sys/fs/cgroup/memory/ward/$cid/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/ward/$cid/memory.max 2>/dev/null)
is "$lim" 67108864 "--memory 64m sets the cgroup limit"
W rm -f "$cid" >/dev/null
W run --name smoke-oom --memory 8m busybox sh -c 'x=$(head -c 60000000 /dev/zero | tr "\0" a); echo ${#x}' >/dev/null 2>&1
is "$(W inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' smoke-oom)" "true 137" "OOMKilled recorded"
W rm smoke-oom >/dev/null
is "$(W run --rm busybox sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"')" 65536 "/dev/shm is 64m"
is "$(W run --rm --shm-size 128m busybox sh -c 'df -k /dev/shm | tail -1 | awk "{print \$2}"')" 131072 "--shm-size"
is "$(W run --rm busybox cat /proc/self/status | grep Seccomp: | tr -d '\t')" "Seccomp:2" "seccomp on by default"
is "$(W run --rm --privileged busybox cat /proc/self/status | grep Seccomp: | tr -d '\t')" "Seccomp:0" "--privileged: no seccomp"
is "$(W run --rm --network none busybox ls /sys/class/net)" "lo" "--network none"
W create --name smoke2 busybox echo created >/dev/null; ok $? "create"
is "$(W start -a smoke2)" "created" "start -a"
W rm smoke2 >/dev/null
is "$(W run --rm --entrypoint echo busybox a b)" "a b" "--entrypoint"
cid=$(W run -d --restart on-failure:2 busybox false); sleep 2
is "$(W inspect -f '{{.RestartCount}} {{.State.Status}}' "$cid")" "2 exited" "--restart on-failure:2"
W rm -f "$cid" >/dev/null

cid=$(W run -d --name smoke3 busybox sh -c 'for i in 1 2 3 4; do echo n$i; done; sleep 30')
sleep 0.3
is "$(W logs --tail 2 smoke3 | tr '\n' ' ')" "n3 n4 " "logs --tail 2"
is "$(W exec smoke3 sh -c 'echo in-$(hostname)')" "in-${cid:0:12}" "exec"
W exec smoke3 sh -c 'exit 7'; is $? 7 "exec exit code"
is "$(W top smoke3 | grep -c 'sleep 30')" 1 "top"
is "$(W kill -s KILL smoke3)" "smoke3" "kill -s KILL"
is "$(W wait smoke3)" 137 "wait prints the exit code"
W restart smoke3 >/dev/null; sleep 0.2
is "$(W inspect -f '{{.State.Status}}' smoke3)" "running" "restart"
is "$(W rm smoke3 2>&1 | grep -c 'You cannot remove a running container')" 1 "rm of a running container refused"
is "$(W rm -f smoke3)" "smoke3" "rm -f"
if command -v script >/dev/null; then
  is "$(script -qc "$WARD --root $ROOT run --rm -it busybox tty" /dev/null </dev/null | grep -c '/dev/pts/0')" 1 "-it gets a pty"
fi
W run -d --name smoke-pause busybox sh -c 'trap "exit 5" TERM; while true; do sleep 0.1; done' >/dev/null
W pause smoke-pause >/dev/null
W ps --format '{{.Names}} {{.Status}}' | grep -q 'smoke-pause Up .*(Paused)'; ok $? "pause shows (Paused)"
W unpause smoke-pause >/dev/null; W pause smoke-pause >/dev/null
W stop smoke-pause >/dev/null
is "$(W inspect -f '{{.State.Status}} {{.State.ExitCode}}' smoke-pause)" "exited 5" "stop thaws a paused container"
W rm smoke-pause >/dev/null
W create --name smoke-cp busybox true >/dev/null
R="$ROOT/containers/$(W inspect -f '{{.Id}}' smoke-cp)/rootfs"
ln -s / "$R/escape"
echo fromhost > "$ROOT/cpsrc"
W cp "$ROOT/cpsrc" smoke-cp:/escape/ward-smoke-cp; ok $? "cp host -> container"
[ ! -e /ward-smoke-cp ] && [ -f "$R/ward-smoke-cp" ]; ok $? "cp: a symlink in the rootfs does not reach the host"
W cp smoke-cp:/etc/passwd "$ROOT/cpdst"; ok $? "cp container -> host"
is "$(head -1 "$ROOT/cpdst")" "root:x:0:0:root:/root:/bin/sh" "cp: copied content"
W rm smoke-cp >/dev/null
W save busybox -o "$ROOT/bb.tar"; ok $? "save -o"
W rmi busybox >/dev/null; W images -q | grep -q . ; ok $((! $?)) "rmi"
is "$(W load -i "$ROOT/bb.tar")" "Loaded image: busybox:latest" "load -i"

echo "1..$n"
[ "$failed" = 0 ]
