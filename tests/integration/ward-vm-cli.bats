#!/usr/bin/env bats
# `ward run --vm` / `--runtime ward-vm` (issue #9): the bundle carries
# run.oci.handler=vm and the container is created by the ward-vm program.
# This host's /dev/kvm boots no stock Linux guest, so the run fails here:
# the tests check that the failure is ward-vm's and that nothing is left.

load helpers
load ward-helpers
bats_require_minimum_version 1.5.0

setup() { ward_cli_setup; }
teardown() { ward_cli_teardown; }

# vm_leftovers ID: what a failed VM run could leave behind.
vm_leftovers() {
  local id=$1
  [[ -e $R/containers/$id ]] && echo "container dir $R/containers/$id"
  [[ -e $R/runtime/$id ]] && echo "runtime state $R/runtime/$id"
  [[ -e $R/netns/$id ]] && echo "netns $R/netns/$id"
  awk -v id="$id" 'index($5, id) { print "mount " $5 }' /proc/self/mountinfo
  find /sys/fs/cgroup/ -mindepth 1 -maxdepth 6 -type d -name "$id" 2>/dev/null | sed 's/^/cgroup /'
  return 0
}

@test "ward create --vm: run.oci.handler=vm in config.json, HostConfig.Runtime ward-vm" {
  local id
  id=$(w create --vm --network none busybox true)
  run jq -r '.annotations["run.oci.handler"]' "$R/containers/$id/config.json"
  assert_output vm
  assert_equal "$(w inspect -f '{{.HostConfig.Runtime}}' "$id")" ward-vm
  # --runtime ward-vm is the same; a plain container has neither
  id=$(w create --runtime ward-vm --network none busybox true)
  run jq -r '.annotations["run.oci.handler"]' "$R/containers/$id/config.json"
  assert_output vm
  id=$(w create --network none busybox true)
  run jq -r '.annotations["run.oci.handler"] // "none"' "$R/containers/$id/config.json"
  assert_output none
  assert_equal "$(w inspect -f '{{.HostConfig.Runtime}}' "$id")" ward
  run -125 w create --runtime nosuch --network none busybox true
  assert_output --partial 'unknown or invalid runtime name: nosuch'
  assert_equal "$(w ps -aq | wc -l)" 3
}

@test "ward run --vm: the error comes from ward-vm, nothing is left behind" {
  [[ -x ${WARD_BUILDDIR:-}/ward-vm ]] || command -v ward-vm >/dev/null \
    || skip "no ward-vm binary (build it, or set WARD_BUILDDIR)"
  run -125 w run --rm --vm --network none busybox echo hello
  refute_output --partial hello
  # ward-vm's own words: its create failed, on the guest or on KVM
  assert_output --partial 'ward-vm create failed'
  assert_output --regexp 'guest|KVM|kvm|kernel|agent'
  [[ -z $(w ps -aq) ]]
  [[ -z $(ls -A "$R/containers") && -z $(ls -A "$R/runtime") ]]
  # the same through create + start, then rm: no record, cgroup, netns
  local id
  id=$(w create --runtime ward-vm --network none busybox echo hello)
  run w start -a "$id"
  assert_failure
  assert_output --partial 'ward-vm create failed'
  w rm "$id"
  run vm_leftovers "$id"
  assert_output ''
  [[ -z $(w ps -aq) ]]
}
