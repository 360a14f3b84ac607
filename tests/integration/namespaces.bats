#!/usr/bin/env bats
# Namespaces: new, shared with the host, joined by path; uts names; user ns
# id maps; time ns offsets.  Compared with readlink /proc/self/ns/X inside.

load helpers

ALL_NS="pid network ipc uts mount cgroup"

# ns file name for a spec namespace type
nsfile() { case $1 in network) echo net ;; mount) echo mnt ;; *) echo "$1" ;; esac; }

@test "namespaces: each configured namespace is new" {
  update_config '.linux.namespaces = [{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}]'
  set_cmd 'for n in pid net ipc uts mnt cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done'
  run_ctr
  assert_success
  local t f
  for t in $ALL_NS; do
    f=$(nsfile "$t")
    assert_line --regexp "^$f $f:\[[0-9]+\]$"
    refute_line "$f $(host_ns "$f")"
  done
}

@test "namespaces: a namespace not in the spec is the host's" {
  update_config '.linux.namespaces = [{"type":"pid"},{"type":"mount"}] | del(.hostname)'
  set_cmd 'for n in net ipc uts; do echo "$n $(readlink /proc/self/ns/$n)"; done'
  run_ctr
  assert_success
  assert_line "net $(host_ns net)"
  assert_line "ipc $(host_ns ipc)"
  assert_line "uts $(host_ns uts)"
}

@test "namespaces: join network, uts and ipc namespaces by path" {
  unshare --net --uts --ipc sleep 100 &
  local holder=$!
  sleep 0.3
  local want_net want_uts want_ipc
  want_net=$(readlink /proc/$holder/ns/net)
  want_uts=$(readlink /proc/$holder/ns/uts)
  want_ipc=$(readlink /proc/$holder/ns/ipc)
  [[ $want_net != "$(host_ns net)" ]] || { kill $holder; fail "unshare did not make a netns"; }
  update_config ".linux.namespaces = [{\"type\":\"pid\"},{\"type\":\"mount\"},
    {\"type\":\"network\",\"path\":\"/proc/$holder/ns/net\"},
    {\"type\":\"uts\",\"path\":\"/proc/$holder/ns/uts\"},
    {\"type\":\"ipc\",\"path\":\"/proc/$holder/ns/ipc\"}] | del(.hostname)"
  set_cmd 'for n in net uts ipc; do echo "$n $(readlink /proc/self/ns/$n)"; done'
  run_ctr
  kill $holder
  assert_success
  assert_line "net $want_net"
  assert_line "uts $want_uts"
  assert_line "ipc $want_ipc"
}

@test "namespaces: joining a path that is not a namespace fails" {
  update_config '.linux.namespaces |= map(if .type == "network" then .path = "/etc/hostname" else . end)'
  run_ctr
  assert_failure
}

@test "namespaces: a new network namespace has only lo, down" {
  set_cmd 'ls /sys/class/net; cat /sys/class/net/lo/operstate'
  run_ctr
  assert_success
  assert_line --index 0 lo
  assert_equal "${#lines[@]}" 2
}

@test "namespaces: hostname" {
  update_config '.hostname = "box1"'
  set_cmd 'hostname; cat /proc/sys/kernel/hostname'
  run_ctr
  assert_success
  assert_output $'box1\nbox1'
  [[ $(hostname) != box1 ]] || fail "the host's hostname changed"
}

@test "namespaces: domainname" {
  is_ward || skip "runc 1.1.5 ignores domainname (runtime-spec 1.1, runc 1.2)"
  local host_dn
  host_dn=$(cat /proc/sys/kernel/domainname)
  update_config '.hostname = "box1" | .domainname = "example.org"'
  set_cmd 'cat /proc/sys/kernel/domainname'
  run_ctr
  assert_success
  assert_output example.org
  assert_equal "$(cat /proc/sys/kernel/domainname)" "$host_dn"
}

@test "namespaces: hostname without a uts namespace is refused" {
  update_config '.linux.namespaces |= map(select(.type != "uts")) | .hostname = "nope"'
  run_ctr
  assert_failure
  [[ $(hostname) != nope ]] || fail "the host's hostname changed"
}

@test "namespaces: user namespace with uid/gid mappings" {
  requires userns
  update_config '.linux.namespaces += [{"type":"user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]'
  set_cmd 'cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user'
  run_ctr
  assert_success
  assert_line --index 0 --regexp '^ +0 +100000 +65536$'
  assert_line --index 1 --regexp '^ +0 +200000 +65536$'
  assert_line --index 2 0
  refute_line "$(host_ns user)"
}

@test "namespaces: processes in a user namespace run as the mapped host uid" {
  requires userns
  update_config '.linux.namespaces += [{"type":"user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .process.args = ["/bin/sleep", "100"]'
  create_ctr
  assert_success
  start_ctr
  assert_success
  run awk '/^Uid:/ {print $2}' "/proc/$(ctr_pid)/status"
  assert_output 100000
}

@test "namespaces: user namespace without mappings is refused" {
  requires userns
  update_config '.linux.namespaces += [{"type":"user"}] | del(.linux.uidMappings) | del(.linux.gidMappings)'
  run_ctr
  assert_failure
}

@test "namespaces: time namespace offsets" {
  requires timens
  is_ward || skip "runc 1.1.5 has no time namespace support (runtime-spec 1.1 timeOffsets)"
  update_config '.linux.namespaces += [{"type":"time"}]
    | .linux.timeOffsets = {"monotonic": {"secs": 864000, "nanosecs": 0}, "boottime": {"secs": 1728000, "nanosecs": 0}}'
  set_cmd 'cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime'
  run_ctr
  assert_success
  assert_line --regexp '^monotonic +864000 +0$'
  assert_line --regexp '^boottime +1728000 +0$'
  local up
  up=$(cut -d. -f1 /proc/uptime)
  (( ${lines[2]} >= up + 1728000 - 5 )) || fail "uptime ${lines[2]} not shifted by 20 days (host $up)"
}

@test "namespaces: pid namespace hides host processes" {
  set_cmd 'ls /proc | grep -c "^[0-9]"'
  run_ctr
  assert_success
  (( output <= 3 )) || fail "container sees $output processes"
}

@test "namespaces: no pid namespace shows host processes" {
  update_config '.linux.namespaces |= map(select(.type != "pid"))'
  set_cmd 'ls /proc | grep -c "^[0-9]"'
  run_ctr
  assert_success
  (( output > 3 )) || fail "container without pid ns sees only $output processes"
}
