#!/usr/bin/env bats
# `ward` against what a docker user expects: --privileged, --device, ps
# --filter/--format, logs --since/--until, wait and exec exit codes,
# rename, stats --no-stream.  Each test has its own --root under $WARD_TMP.

load helpers
load ward-helpers
bats_require_minimum_version 1.5.0

setup() { ward_cli_setup; }
teardown() { ward_cli_teardown; }

@test "ward run --privileged: host devices, every cap we hold, no seccomp, no masked paths" {
  local bnd
  bnd=$(awk '/^CapBnd/ { print $2 }' /proc/self/status)
  run w run --network none --rm --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls /dev/loop0 /dev/tty1; ls /sys/firmware >/dev/null && echo firmware-visible; grep -c " /proc/bus " /proc/self/mountinfo || true'
  assert_success
  assert_line --regexp "^CapEff:[[:space:]]+$bnd\$"
  assert_line --regexp '^Seccomp:[[:space:]]+0$'
  assert_line /dev/loop0
  assert_line /dev/tty1
  assert_line firmware-visible
  # no read-only /proc/bus bind either
  assert_line 0
  # without it: none of that
  run w run --network none --rm busybox sh -c 'ls /dev/loop0 2>&1; ls /sys/firmware | wc -l'
  assert_line --partial "No such file"
  assert_line 0
}

@test "ward run --device HOST:CTR:PERMS: the node and its cgroup rule" {
  [[ -b /dev/loop0 ]] || skip "needs /dev/loop0 on the host"
  run w run --network none --rm --device /dev/loop0:/dev/xl:r busybox sh -c 'ls -l /dev/xl; dd if=/dev/xl of=/dev/null count=0 2>/dev/null && echo read-ok; dd if=/dev/zero of=/dev/xl count=1 2>&1'
  assert_line --regexp '^b.* 7, +0 .*/dev/xl$'
  assert_line read-ok
  assert_output --partial "Operation not permitted"
  run w run --network none --rm --device /dev/loop0 busybox ls /dev/loop0
  assert_success
  run w run --network none --rm --device /nonexistent busybox true
  assert_equal "$status" 125
  assert_output --partial 'error gathering device information while adding custom device "/nonexistent"'
  run w ps -aq
  assert_output ""
}

@test "ward ps --filter status=/label=/ancestor=/name= and --format" {
  w run --network none -d --name f-run -l tier=web busybox sleep 60 >/dev/null
  w run --network none --name f-exit -l tier=db busybox sh -c 'exit 2' || true
  w create --network none --name f-new busybox true >/dev/null
  run w ps -a --filter status=exited --format '{{.Names}}'
  assert_output f-exit
  run w ps -a --filter status=created --format '{{.Names}}'
  assert_output f-new
  run w ps --filter status=running --format '{{.Names}} {{.State}}'
  assert_output "f-run running"
  run w ps -a --filter label=tier --format '{{.Names}}'
  assert_equal "${#lines[@]}" 2
  run w ps -a --filter label=tier=db --format '{{.Names}} {{.Labels}}'
  assert_output "f-exit tier=db"
  run w ps -a --filter ancestor=busybox --format '{{.Names}}'
  assert_equal "${#lines[@]}" 3
  run w ps -a --filter ancestor=nosuchimage -q
  assert_output ""
  run w ps -a --filter exited=2 --format '{{.ID}} {{.Image}} {{.Command}}'
  assert_output --regexp '^[0-9a-f]{12} busybox "sh -c exit 2"$'
  run w ps -a --format 'table {{.Names}}\t{{.Status}}' --filter name=f-
  assert_line --index 0 --regexp '^NAMES +STATUS$'
  assert_equal "${#lines[@]}" 4
  run w ps --filter status=bogus
  assert_failure
  assert_output --partial "invalid filter 'status=bogus'"
}

@test "ward logs --since/--until by timestamp" {
  local t1 t2
  w run --network none --name lg busybox sh -c 'echo one; sleep 1.2; echo two; sleep 1.2; echo three'
  run w logs -t lg
  assert_success
  assert_equal "${#lines[@]}" 3
  t2=$(awk '$2 == "two" { print $1 }' <<<"$output")
  t1=$(awk '$2 == "one" { print $1 }' <<<"$output")
  [[ -n $t1 && -n $t2 ]] || fail "logs -t: $output"
  run w logs --since "$t2" lg
  assert_output "two
three"
  run w logs --until "$t2" lg
  assert_output one
  run w logs --since "$t1" --until "$t2" lg
  assert_output one
  run w logs --since 1h lg
  assert_equal "${#lines[@]}" 3
  run w logs --since nonsense lg
  assert_failure
}

@test "ward wait / exec exit codes, rm -f of a running container" {
  local id
  w run --network none -d --name wt busybox sh -c 'sleep 0.3; exit 7' >/dev/null
  run w wait wt
  assert_success
  assert_output 7
  w run --network none -d --name ex busybox sleep 60 >/dev/null
  run -127 w exec ex nosuchcmd
  assert_output --partial 'executable file not found'
  run -126 w exec ex /etc/passwd
  assert_output --partial 'permission denied'
  run -5 w exec ex sh -c 'exit 5'
  run w exec ex sh -c 'echo $$ >/tmp/p; cat /tmp/p'
  assert_success
  # with a restart policy: the next exit, though it starts again
  w run --network none -d --name rs --restart always busybox sh -c 'sleep 0.5; exit 3' >/dev/null
  run w wait rs
  assert_success
  assert_output 3
  run w wait nosuch
  assert_failure
  assert_output --partial "No such container: nosuch"
  id=$(w inspect -f '{{.Id}}' ex)
  run w rm -f ex
  assert_success
  assert_output ex
  [[ ! -e $R/containers/$id ]] || fail "rm -f left $R/containers/$id"
}

@test "ward rename: new name everywhere, docker's errors" {
  local id
  id=$(w run --network none -d --name old1 busybox sleep 60)
  w create --network none --name taken busybox true >/dev/null
  run w rename old1 new1
  assert_success
  assert_output ""
  assert_equal "$(w inspect -f '{{.Name}}' "$id")" /new1
  run w ps --format '{{.Names}}'
  assert_output new1
  run w exec new1 true
  assert_success
  run w inspect old1
  assert_failure
  run w rename new1 taken
  assert_failure
  assert_output --partial 'Conflict. The container name "/taken" is already in use by container'
  run w rename new1 new1
  assert_failure
  assert_output --partial "Renaming a container with the same name as its current name"
  run w rename new1 'bad name'
  assert_failure
  assert_output --partial "Invalid container name (bad name)"
  run w rename nosuch x1
  assert_failure
  assert_output --partial "No such container: nosuch"
}

@test "ward stats --no-stream: real CPU, memory and pids numbers" {
  w run --network none -d --name busy busybox sh -c 'sleep 30 & sleep 30 & while :; do :; done' >/dev/null
  w run --network none -d --name idle --memory 64m busybox sleep 60 >/dev/null
  sleep 0.3
  run w stats --no-stream
  assert_success
  assert_line --index 0 --regexp '^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$'
  assert_equal "${#lines[@]}" 3
  local name cpu mem pids i
  # a busy loop shows CPU use (a loaded host may starve one sample: retry)
  for ((i = 0; i < 5; i++)); do
    run w stats --no-stream --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}' busy
    assert_success
    read -r name cpu mem _ _ pids <<<"$output"
    [[ ${cpu%\%} =~ ^[0-9]+\.[0-9]{2}$ ]] || fail "CPU % '$cpu' is not a percentage"
    (( ${cpu%%.*} >= 5 )) && break
  done
  assert_equal "$name" busy
  (( ${cpu%%.*} >= 5 )) || fail "busy container CPU % is $cpu"
  [[ $mem =~ ^[0-9.]+(B|KiB|MiB)$ ]] || fail "memory usage '$mem'"
  # sh and its two sleeps
  assert_equal "$pids" 3
  run w stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.MemPerc}}' idle
  assert_output --regexp '^idle [0-9.]+(B|KiB|MiB) / 64MiB [0-9]+\.[0-9]{2}%$'
}
