#!/usr/bin/env bats
# `ward`: --init, named and anonymous volumes (`-v`, `--mount
# type=volume`, `ward volume ...`), copy-up, `rm -v`, in-use refusal.
# Each test has its own --root under $WARD_TMP.

load helpers
load ward-helpers
bats_require_minimum_version 1.5.0

setup() { ward_cli_setup; }
teardown() { ward_cli_teardown; }

# ------------------------------------------------------------------ --init

@test "ward run --init: /dev/init is PID 1, runs the command, exit codes pass through" {
  run w run --network none --rm --init busybox sh -c 'echo $$; tr "\0" " " </proc/1/cmdline'
  assert_success
  assert_line --index 0 2
  assert_line --index 1 --regexp '^/dev/init -- sh -c '
  run -3 w run --network none --rm --init busybox sh -c 'exit 3'
  # death by a signal: 128+N, as tini reports it
  run -143 w run --network none --rm --init busybox sh -c 'kill -TERM $$; sleep 5'
  run -127 w run --network none --rm --init busybox nosuchcmd
  assert_output --partial 'nosuchcmd'
  # read-only, and not listed in Mounts (docker hides it too)
  run w run --network none --rm --init busybox sh -c 'echo x >/dev/init'
  assert_failure
  local id
  id=$(w create --network none --init busybox true)
  assert_equal "$(w inspect -f '{{.HostConfig.Init}} {{json .Mounts}} {{.Path}}' "$id")" "true [] true"
}

@test "ward run --init: signals reach the child, orphans are reaped" {
  local id i st
  # sleep as PID 1 would ignore SIGTERM; under the init it dies at once
  id=$(w run --network none -d --init busybox sleep 60)
  wait_state "$id" running
  SECONDS=0
  run w stop -t 20 "$id"
  assert_success
  ((SECONDS < 10)) || fail "stop took ${SECONDS}s: SIGTERM was not forwarded"
  assert_equal "$(w inspect -f '{{.State.ExitCode}}' "$id")" 143
  # an orphan re-parented to PID 1 does not stay a zombie
  run w run --network none --rm --init busybox sh -c 'sh -c "sleep 0.1 &"; sleep 0.6; ps -o stat,comm | grep -c "^Z" || true'
  assert_success
  assert_output 0
}

# ----------------------------------------------------------------- volumes

@test "ward volume create/ls/inspect/rm: docker's output shapes" {
  run w volume create myvol
  assert_success
  assert_output myvol
  run w volume create --label team=a lab1
  assert_output lab1
  run w volume ls
  assert_success
  assert_line --index 0 --regexp '^DRIVER +VOLUME NAME$'
  assert_line --regexp '^local +myvol$'
  assert_line --regexp '^local +lab1$'
  run w volume ls -q --filter label=team=a
  assert_output lab1
  run w volume inspect myvol
  assert_success
  echo "$output" | jq -e --arg mp "$R/volumes/myvol/_data" '
    length == 1 and .[0].Name == "myvol" and .[0].Driver == "local" and .[0].Mountpoint == $mp
    and .[0].Scope == "local" and (.[0].CreatedAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+Z$"))' >/dev/null \
    || fail "volume inspect: $output"
  [[ -d $R/volumes/myvol/_data ]] || fail "no $R/volumes/myvol/_data"
  assert_equal "$(w volume inspect -f '{{.Labels.team}}' lab1)" a
  # plain inspect finds volumes too
  assert_equal "$(w inspect -f '{{.Name}} {{.Driver}}' lab1)" "lab1 local"
  run w volume inspect nosuch
  assert_failure
  assert_output --partial "No such volume: nosuch"
  run w volume create 'bad/name'
  assert_failure
  assert_output --partial 'includes invalid characters for a local volume name'
  run w volume rm myvol lab1
  assert_success
  assert_output "myvol
lab1"
  [[ ! -e $R/volumes/myvol ]] || fail "volume rm left $R/volumes/myvol"
  run w volume rm myvol
  assert_failure
  assert_output --partial "no such volume"
}

@test "ward run -v NAME:/path: data persists, a new volume is copied up from the image" {
  run w run --network none --rm -v data1:/data busybox sh -c 'echo kept >/data/f'
  assert_success
  run w run --network none --rm -v data1:/data:ro busybox sh -c 'cat /data/f; touch /data/g'
  assert_failure
  assert_line --index 0 kept
  assert_output --partial "Read-only file system"
  assert_equal "$(cat "$R/volumes/data1/_data/f")" kept
  # copy-up: a new volume over the image's /bin gets busybox and its links
  run w run --network none --rm -v binvol:/bin busybox ls /bin/busybox
  assert_success
  [[ -x $R/volumes/binvol/_data/busybox ]] || fail "the image's /bin was not copied into the new volume"
  # --mount type=volume, readonly
  run w run --network none --rm --mount type=volume,source=data1,target=/m,readonly busybox sh -c 'cat /m/f; touch /m/x'
  assert_failure
  assert_line --index 0 kept
  [[ ! -e $R/volumes/data1/_data/x ]] || fail "readonly volume mount was writable"
  run w run --network none --rm --mount type=volume,target=/anon busybox true
  assert_success
  # a bad name: a clean error and nothing left
  run w run --network none --rm -v 'x/y:/data' busybox true
  assert_equal "$status" 125
  assert_output --partial 'includes invalid characters for a local volume name'
  run w ps -aq
  assert_output ""
}

@test "ward: anonymous volumes, inspect Mounts, rm -v, --rm, in use, prune" {
  local id vol id2
  id=$(w run --network none -d --name anon -v /scratch -v named1:/named busybox sleep 60)
  run w inspect -f '{{json .Mounts}}' anon
  assert_success
  vol=$(jq -r '.[] | select(.Destination == "/scratch") | .Name' <<<"$output")
  [[ $vol =~ ^[0-9a-f]{64}$ ]] || fail "anonymous volume has no 64-hex name: $output"
  jq -e --arg r "$R" '.[] | select(.Name == "named1") | .Type == "volume" and .Driver == "local"
    and .Source == ($r + "/volumes/named1/_data") and .RW == true' <<<"$output" >/dev/null \
    || fail "Mounts lacks named1: $output"
  run w volume inspect -f '{{json .Labels}}' "$vol"
  assert_output --partial com.docker.volume.anonymous
  # in use: refused with docker's message, even with -f
  run w volume rm named1
  assert_failure
  assert_output --partial "remove named1: volume is in use - [$id]"
  run w volume rm -f named1
  assert_failure
  # ps --filter volume= (a name or a destination)
  run w ps -a --filter volume=named1 --format '{{.Names}}'
  assert_output anon
  run w ps -a --filter volume=/scratch -q
  assert_output "${id:0:12}"
  run w ps -a --filter volume=other -q
  assert_output ""
  [[ -d $R/volumes/named1/_data ]] || fail "a volume in use was removed"
  # rm -v takes the anonymous volume, never the named one
  run w rm -f -v anon
  assert_success
  [[ ! -e $R/volumes/$vol ]] || fail "rm -v left the anonymous volume $vol"
  [[ -d $R/volumes/named1 ]] || fail "rm -v removed the named volume"
  # --rm does the same
  run w run --network none --rm -v /tmpvol busybox true
  assert_success
  run w volume ls -q
  assert_output named1
  # without -v the anonymous volume stays; prune removes it, not named ones
  id2=$(w create --network none -v /keep busybox true)
  w rm "$id2" >/dev/null
  run w volume ls -q
  assert_equal "${#lines[@]}" 2
  run w volume prune -f
  assert_success
  assert_line --index 0 "Deleted Volumes:"
  assert_output --regexp 'Total reclaimed space: [0-9.]+[kMG]?B'
  run w volume ls -q
  assert_output named1
  run w volume prune -f -a
  assert_success
  assert_line named1
  run w volume ls -q
  assert_output ""
}
