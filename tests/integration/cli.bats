#!/usr/bin/env bats
# The command line itself: version, help, global flags, spec, features, list.

load helpers

@test "cli: --version prints the version and the spec version" {
  run "$RUNTIME" --version
  assert_success
  assert_line --regexp 'version [0-9]+\.[0-9]+'
  assert_line --regexp '^spec: [0-9]+\.[0-9]+\.[0-9]+'
}

@test "cli: --help lists the verbs" {
  run "$RUNTIME" --help
  assert_success
  for verb in create start run state kill delete list spec features exec ps pause resume update events; do
    assert_output --regexp "(^|[[:space:]])$verb([[:space:],]|$)"
  done
}

@test "cli: an unknown verb is an error naming it" {
  run "$RUNTIME" no-such-verb
  assert_failure
  assert_output --partial "no-such-verb"
  # runc (urfave/cli) exits 3 here; containerd only checks non-zero, but ward
  # promises runc's exit codes.
  if is_ward; then
    local want=3
    if command -v runc >/dev/null; then
      want=0
      runc no-such-verb >/dev/null 2>&1 || want=$?
    fi
    assert_equal "$status" "$want"
  fi
}

@test "cli: --root is used for state" {
  local r=$WARD_TMP/other-root
  run "$RUNTIME" --root "$r" list -q
  assert_success
  assert_output ""
  "$RUNTIME" --root "$r" create --bundle "$BUNDLE" "$ID" </dev/null >"$BUNDLE/out" 2>&1 \
    || fail "create with --root $r failed: $(cat "$BUNDLE/out")"
  [[ -d $r/$ID ]] || fail "no state dir $r/$ID under the given --root"
  [[ ! -e $WARD_ROOT/$ID ]] || fail "state written to the default root"
  run "$RUNTIME" --root "$r" list -q
  assert_output "$ID"
  run "$RUNTIME" --root "$r" delete --force "$ID"
  assert_success
  [[ ! -e $r/$ID ]] || fail "state dir $r/$ID left after delete"
}

@test "cli: --log --log-format json writes JSON lines with level, msg, time" {
  local log=$WARD_TMP/log.json
  rm -f "$log"
  run "$RUNTIME" --root "$WARD_ROOT" --log "$log" --log-format json state no-such-container
  assert_failure
  [[ -s $log ]] || fail "nothing written to --log $log"
  while IFS= read -r line; do
    jq -e 'type == "object" and (.level | type == "string") and (.msg | type == "string") and (.time | type == "string")' \
      <<<"$line" >/dev/null || fail "log line is not {level,msg,time} JSON: $line"
  done <"$log"
  run jq -r 'select(.level == "error") | .msg' "$log"
  assert_output --partial "does not exist"
  # RFC 3339 time, as containerd's shim parses it.
  run jq -r .time "$log"
  assert_line --index 0 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
}

@test "cli: --log without --log-format writes text" {
  local log=$WARD_TMP/log.txt
  rm -f "$log"
  run "$RUNTIME" --root "$WARD_ROOT" --log "$log" state no-such-container
  assert_failure
  [[ -s $log ]] || fail "nothing written to --log $log"
  run grep -c '^{' "$log"
  assert_output 0
  run cat "$log"
  assert_output --partial "does not exist"
}

@test "cli: spec writes a valid config.json" {
  local d=$WARD_TMP/spec
  rm -rf "$d"; mkdir -p "$d"
  cd "$d"
  run "$RUNTIME" spec
  assert_success
  [[ -f config.json ]] || fail "no config.json"
  run jq -r '.ociVersion, .root.path, .process.args[0], (.process.terminal | tostring)' config.json
  assert_success
  assert_line --index 0 --regexp '^1\.[0-9]+\.[0-9]+'
  assert_line --index 1 rootfs
  assert_line --index 2 sh
  assert_line --index 3 true
  run jq -r '[.linux.namespaces[].type] | sort | join(",")' config.json
  assert_output --regexp 'ipc,mount,network,pid,uts'
  run jq -r '.mounts[].destination' config.json
  assert_line /proc
  assert_line /dev
  assert_line /sys
}

@test "cli: spec refuses to overwrite config.json" {
  local d=$WARD_TMP/spec2
  rm -rf "$d"; mkdir -p "$d"
  echo '{"mine":1}' >"$d/config.json"
  cd "$d"
  run "$RUNTIME" spec
  assert_failure
  assert_output --partial "config.json"
  run cat config.json
  assert_output '{"mine":1}'
}

@test "cli: spec --bundle writes into the bundle" {
  local d=$WARD_TMP/spec3
  rm -rf "$d"; mkdir -p "$d"
  run "$RUNTIME" spec --bundle "$d"
  assert_success
  jq -e . "$d/config.json" >/dev/null || fail "no valid $d/config.json"
}

@test "cli: spec --rootless adds a user namespace with mappings" {
  local d=$WARD_TMP/spec4
  rm -rf "$d"; mkdir -p "$d"
  run "$RUNTIME" spec --rootless --bundle "$d"
  assert_success
  run jq -r '[.linux.namespaces[].type] | join(",")' "$d/config.json"
  assert_output --partial user
  refute_output --partial network
  run jq -r '.linux.uidMappings[0] | "\(.containerID) \(.size)"' "$d/config.json"
  assert_output "0 1"
  run jq -r '.linux.gidMappings | length' "$d/config.json"
  assert_output 1
  run jq -r '.linux.resources // {} | .devices // [] | length' "$d/config.json"
  assert_output 0
}

@test "cli: features is valid JSON with ociVersionMin/Max" {
  run "$RUNTIME" features
  assert_success
  jq -e . <<<"$output" >/dev/null || fail "features output is not JSON: $output"
  run jq -r '.ociVersionMin, .ociVersionMax' <<<"$output"
  assert_line --index 0 --regexp '^1\.0\.[0-9]+'
  assert_line --index 1 --regexp '^1\.[0-9]+\.[0-9]+'
  run "$RUNTIME" features
  run jq -r '(.hooks | index("prestart") != null), (.linux.namespaces | index("pid") != null), (.mountOptions | index("nosuid") != null)' <<<"$output"
  assert_output $'true\ntrue\ntrue'
}

@test "cli: state of a missing container fails" {
  run runtime state no-such-container
  assert_failure
  assert_output --partial "does not exist"
}

@test "cli: list on an empty root" {
  local r=$WARD_TMP/empty-root
  mkdir -p "$r"
  run "$RUNTIME" --root "$r" list
  assert_success
  assert_line --index 0 --regexp '^ID +PID +STATUS +BUNDLE +CREATED +OWNER'
  assert_equal "${#lines[@]}" 1
  run "$RUNTIME" --root "$r" list -q
  assert_success
  assert_output ""
  run "$RUNTIME" --root "$r" list --format json
  assert_success
  run jq -e 'length == 0' <<<"$output"
  assert_success
}

@test "cli: list on a root that does not exist yet" {
  run "$RUNTIME" --root "$WARD_TMP/never-made" list -q
  assert_success
  assert_output ""
}

@test "cli: list -q and --format json show a created container" {
  create_ctr
  assert_success
  run runtime list -q
  assert_success
  assert_output "$ID"
  run runtime list --format json
  assert_success
  run jq -r '.[0] | .id, .status, .bundle, (.pid | tostring)' <<<"$output"
  assert_line --index 0 "$ID"
  assert_line --index 1 created
  assert_line --index 2 "$BUNDLE"
  assert_line --index 3 "$(cat "$BUNDLE/pid-$ID")"
}
