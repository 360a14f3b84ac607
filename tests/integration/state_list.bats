#!/usr/bin/env bats
# state JSON and list output.

load helpers

@test "state: runtime-spec fields" {
  set_args /bin/sleep 100
  update_config '.annotations = {"org.ward.test": "yes"}'
  create_ctr
  assert_success
  run runtime state "$ID"
  assert_success
  local s=$output
  jq -e . <<<"$s" >/dev/null || fail "state is not JSON: $s"
  assert_equal "$(jq -r .ociVersion <<<"$s")" "$(jq -r .ociVersion "$BUNDLE/config.json")"
  assert_equal "$(jq -r .id <<<"$s")" "$ID"
  assert_equal "$(jq -r .status <<<"$s")" created
  assert_equal "$(jq -r .bundle <<<"$s")" "$BUNDLE"
  assert_equal "$(jq -r .rootfs <<<"$s")" "$BUNDLE/rootfs"
  assert_equal "$(jq -r '.pid | type' <<<"$s")" number
  jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$")' <<<"$s" >/dev/null \
    || fail "created is not RFC 3339: $(jq -r .created <<<"$s")"
  jq -e 'has("owner")' <<<"$s" >/dev/null || fail "no owner field (runc prints one)"
  assert_equal "$(jq -r '.annotations["org.ward.test"]' <<<"$s")" yes
}

@test "state: created -> running -> stopped" {
  set_cmd 'while [ ! -e /tmp/go ]; do sleep 0.05; done'
  create_ctr
  assert_success
  assert_equal "$(ctr_status)" created
  start_ctr
  assert_success
  assert_equal "$(ctr_status)" running
  local pid
  pid=$(ctr_pid)
  [[ $pid -gt 0 ]] || fail "running container has pid $pid"
  touch "$BUNDLE/rootfs/tmp/go"
  wait_status stopped
  run runtime state "$ID"
  assert_success
  # runc reports pid 0 for a stopped container.
  assert_equal "$(jq -r .pid <<<"$output")" 0
}

@test "state: an init killed from outside reads as stopped" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  start_ctr
  assert_success
  kill -9 "$(ctr_pid)"
  wait_status stopped
}

@test "list: columns and values" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  run runtime list
  assert_success
  assert_line --index 0 --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'
  assert_line --index 1 --regexp "^$ID +$(cat "$BUNDLE/pid-$ID") +created +$BUNDLE +[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ +root$"
}

@test "list: several containers, -q prints ids only" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  local first=$ID
  new_id
  create_ctr
  assert_success
  run runtime list -q
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_line "$first"
  assert_line "$ID"
  run runtime list --format json
  assert_success
  assert_equal "$(jq -r 'length' <<<"$output")" 2
  assert_equal "$(jq -r '[.[].id] | sort | join(" ")' <<<"$output")" "$(printf '%s\n' "$first" "$ID" | sort | tr '\n' ' ' | sed 's/ $//')"
}

@test "list --format json: runc's keys" {
  set_args /bin/sleep 100
  create_ctr
  assert_success
  run runtime list --format json
  assert_success
  run jq -r '.[0] | keys | join(",")' <<<"$output"
  assert_output --partial "bundle"
  for k in ociVersion id pid status bundle rootfs created owner; do
    assert_output --partial "$k"
  done
}
