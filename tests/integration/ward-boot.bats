#!/usr/bin/env bats
# `ward start --all` after a (simulated) host reboot: every monitor and
# container process killed with SIGKILL, the snapshot mounts, runtime state
# and cgroups gone, as after a reboot; then the containers whose restart
# policy is always, or unless-stopped and not stopped by the user, come
# back (what dockerd does at boot), and no other.

load helpers
load ward-helpers
bats_require_minimum_version 1.5.0

setup() { ward_cli_setup; }
teardown() { ward_cli_teardown; }

# rec_field ID JQ: a field of the on-disk record (inspect hides MonitorPid).
rec_field() {
  jq -r "$2" "$R/containers/$1/config.v2.json"
}

# simulate_reboot: what a power cut and a boot leave of the root.
simulate_reboot() {
  local id mon pid m cg
  for id in $(ls "$R/containers"); do
    mon=$(rec_field "$id" '.State.MonitorPid // 0')
    pid=$(rec_field "$id" '.State.Pid // 0')
    # the monitor first, or it would record the exit and restart it
    ((mon > 0)) && kill -9 "$mon" 2>/dev/null
    ((pid > 0)) && kill -9 "$pid" 2>/dev/null
  done
  for id in $(ls "$R/containers"); do
    pid=$(rec_field "$id" '.State.Pid // 0')
    while ((pid > 0)) && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
  done
  for m in $(awk -v r="$R/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" || return 1
  done
  rm -rf "$R/runtime"
  for id in $(ls "$R/containers"); do
    for cg in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name "$id" 2>/dev/null); do
      rmdir "$cg" 2>/dev/null
    done
  done
  return 0
}

@test "ward start --all after a reboot: always and unless-stopped come back, the others stay down" {
  local a b c d e started
  a=$(w run --network none -d --name ca --restart always -v va:/data busybox sh -c 'echo up >>/data/boots; sleep 600')
  b=$(w run --network none -d --name cb --restart unless-stopped busybox sleep 600)
  c=$(w run --network none -d --name cc --restart unless-stopped busybox sleep 600)
  d=$(w run --network none -d --name cd busybox sleep 600)
  e=$(w run --network none -d --name ce --restart on-failure busybox sleep 600)
  for n in ca cb cc cd ce; do wait_state $n running; done
  w stop -t 1 cc >/dev/null
  assert_equal "$(w inspect -f '{{.State.Status}}' cc)" exited

  simulate_reboot
  # every record now reads as not running
  run w ps -q
  assert_output ""

  run w start --all
  assert_success
  started=$output
  assert_line "$a"
  assert_line "$b"
  refute_line "$c"
  refute_line "$d"
  refute_line "$e"
  assert_equal "${#lines[@]}" 2
  wait_state ca running
  wait_state cb running
  for n in cc cd ce; do
    [[ $(w inspect -f '{{.State.Status}}' $n) != running ]] || fail "$n was started by start --all"
  done
  # the snapshot was mounted again and the volume is there: a real container
  run w exec ca sh -c 'cat /data/boots; ls /bin/busybox'
  assert_success
  assert_output "up
up
/bin/busybox"
  run w exec cb true
  assert_success
  # a second start --all starts nothing new
  run w start --all
  assert_success
  assert_output ""
  run w start --all extra
  assert_failure
}

@test "ward.service: the shipped unit runs ward start --all at boot" {
  local unit=$BATS_TEST_DIRNAME/../../cli/docker/ward.service.in
  [[ -f $unit ]] || fail "no $unit"
  grep -qx 'ExecStart=@bindir@/ward start --all' "$unit" || fail "$unit does not run 'ward start --all'"
  grep -qx 'WantedBy=multi-user.target' "$unit" || fail "$unit is not enabled for multi-user.target"
  if command -v systemd-analyze >/dev/null && [[ -d /run/systemd/system ]]; then
    sed "s|@bindir@|$(dirname "$WARD_BIN")|" "$unit" >"$WARD_TMP/ward.service"
    run systemd-analyze verify "$WARD_TMP/ward.service"
    assert_success
  fi
}
