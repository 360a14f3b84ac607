#!/usr/bin/env bats
# Regression tests for container-escape CVEs.

load helpers

runtime_sum() { sha256sum "$(readlink -f "$RUNTIME")" | cut -d' ' -f1; }

@test "CVE-2019-5736: a #!/proc/self/exe entrypoint cannot reach the runtime binary" {
  local before
  before=$(runtime_sum)
  printf '#!/proc/self/exe\n' >"$BUNDLE/rootfs/evil"
  chmod 755 "$BUNDLE/rootfs/evil"
  set_args /evil
  run_ctr
  # Whatever it does, it must not have changed the runtime on the host.
  assert_equal "$(runtime_sum)" "$before"
}

@test "CVE-2019-5736: /proc/<pid>/exe of runtime processes is not writable from inside" {
  local before
  before=$(runtime_sum)
  # The init hunts for writable exe links while we run exec into it.
  set_cmd 'end=$(( $(cut -d. -f1 /proc/uptime) + 4 ))
    while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
      for p in /proc/[0-9]*; do
        [ "$p" = /proc/$$ ] && continue
        if (echo pwn >>"$p/exe") 2>/dev/null; then echo "WROTE $p" >>/tmp/pwn; fi
      done
    done; echo done >/tmp/done'
  create_ctr
  assert_success
  start_ctr
  assert_success
  local i
  for i in 1 2 3 4 5 6; do
    runtime exec "$ID" /bin/true </dev/null >/dev/null 2>&1 || true
  done
  wait_file "$BUNDLE/rootfs/tmp/done" 200
  [[ ! -e $BUNDLE/rootfs/tmp/pwn ]] || fail "wrote through: $(cat "$BUNDLE/rootfs/tmp/pwn")"
  assert_equal "$(runtime_sum)" "$before"
}

@test "CVE-2019-5736: the init's own /proc/1/exe cannot be opened for writing" {
  set_cmd 'echo x >>/proc/1/exe && echo WROTE-1; echo x >>/proc/self/exe && echo WROTE-SELF; echo checked'
  run_ctr
  refute_line WROTE-1
  refute_line WROTE-SELF
  assert_line checked
}

@test "CVE-2024-21626: process.cwd /proc/self/fd/N cannot reach a leaked host directory" {
  local host=$WARD_TMP/hostdir-$ID n
  mkdir -p "$host"
  echo host-secret >"$host/host-marker"
  for n in 3 4 5 6 7 8 9; do
    update_config ".process.cwd = \"/proc/self/fd/$n\""
    set_cmd 'ls; cat ../../../../../../../../host-marker 2>/dev/null; cat host-marker 2>/dev/null; echo end'
    # Give the runtime an open host directory, as a careless caller might.
    run timeout 60 "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null 7<"$host"
    refute_output --partial host-marker
    refute_output --partial host-secret
    runtime delete --force "$ID" >/dev/null 2>&1 || true
  done
  rm -rf "$host"
}

@test "CVE-2024-21626: no fd in the container points outside it" {
  set_cmd 'n=0; while [ $n -lt 64 ]; do [ -e /proc/$$/fd/$n ] && echo "$n $(readlink /proc/$$/fd/$n)"; n=$((n + 1)); done'
  run timeout 60 "$RUNTIME" --root "$WARD_ROOT" run --bundle "$BUNDLE" "$ID" </dev/null 8<"$WARD_TMP" 9<"$BUNDLE/config.json"
  assert_success
  refute_output --partial "$WARD_TMP"
  refute_output --partial /sys/fs/cgroup
  refute_line --regexp '^([3-9]|[1-9][0-9]) '
}

@test "mount destination through an absolute symlink stays inside the rootfs" {
  local host=$WARD_TMP/target-$ID
  mkdir -p "$host"
  echo untouched >"$host/file"
  ln -s "$host" "$BUNDLE/rootfs/evil"
  update_config '.mounts += [{"destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": []}]'
  set_cmd 'echo pwned >/evil/pwned 2>/dev/null; ls /evil'
  run_ctr
  run awk -v d="$host" '$5 == d' /proc/self/mountinfo
  assert_output ""
  [[ ! -e $host/pwned ]] || fail "the container wrote into the host dir $host"
  assert_equal "$(ls "$host")" file
  rm -rf "$host"
}

@test "mount destination through a relative ../ symlink stays inside the rootfs" {
  local host=$WARD_TMP/reltarget-$ID
  mkdir -p "$host"
  echo untouched >"$host/file"
  # rootfs/evil -> ../../../../../<host> from the rootfs, escaping if followed on the host
  ln -s "../../../../../../../../../../..$host" "$BUNDLE/rootfs/evil"
  update_config '.mounts += [{"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs", "options": []}]'
  set_cmd 'echo pwned >/evil/sub/pwned 2>/dev/null; true'
  run_ctr
  run awk -v d="$host/sub" '$5 == d' /proc/self/mountinfo
  assert_output ""
  [[ ! -e $host/sub ]] || fail "the runtime created $host/sub on the host"
  rm -rf "$host"
}

@test "a mount destination with .. stays inside the rootfs" {
  update_config '.mounts += [{"destination": "/../../../../../../tmp/dotdot-'"$ID"'", "type": "tmpfs", "source": "tmpfs", "options": []}]'
  set_args /bin/true
  run_ctr
  [[ ! -e /tmp/dotdot-$ID ]] || { rmdir "/tmp/dotdot-$ID" 2>/dev/null; fail "created /tmp/dotdot-$ID on the host"; }
}

@test "CVE-2019-19921: /proc as a symlink in the rootfs is refused" {
  rm -rf "$BUNDLE/rootfs/proc"
  mkdir -p "$BUNDLE/rootfs/fakeproc"
  ln -s /fakeproc "$BUNDLE/rootfs/proc"
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --partial proc
  run awk -v d="$BUNDLE/rootfs/fakeproc" '$5 == d' /proc/self/mountinfo
  assert_output ""
}

@test "CVE-2019-19921: a dangling /proc or /sys symlink is refused, nothing created through it" {
  local d
  for d in proc sys; do
    rm -rf "$BUNDLE/rootfs/$d"
    ln -s "/planted-$d" "$BUNDLE/rootfs/$d"
    set_args /bin/true
    run_ctr
    assert_failure
    assert_output --partial "must be mounted on ordinary directory"
    [[ ! -e $BUNDLE/rootfs/planted-$d ]] || fail "the runtime created /planted-$d through the symlink"
    rm "$BUNDLE/rootfs/$d" && mkdir "$BUNDLE/rootfs/$d"
  done
}

@test "hostile bundle path: spaces, quotes and newlines" {
  local odd=$WARD_TMP/$'odd dir \' " $x\n'
  mkdir -p "$odd"
  mv "$BUNDLE" "$odd/bundle"
  BUNDLE=$odd/bundle
  echo "$BUNDLE" >>"$WARD_TMP/bundles"
  set_args /bin/cat /etc/hostname
  run_ctr
  assert_success
  assert_output ward-test
  rm -rf "$odd"
}

@test "hostile container ids are refused" {
  local id
  for id in "../x" "a/b" "." ".." "" $'a\nb'; do
    # (output to a file: a wrongly created container would hold a pipe open)
    run bash -c '"$0" --root "$1" create --bundle "$2" "$3" </dev/null >"$2/out" 2>&1' "$RUNTIME" "$WARD_ROOT" "$BUNDLE" "$id"
    assert_failure
    [[ -z $id || ! -e $WARD_ROOT/$id || $id == . || $id == .. ]] || fail "state created for id '$id'"
  done
  [[ ! -e $WARD_TMP/x ]] || fail "an id escaped the root"
}

@test "the container cannot remount the host's /sys or see host /proc/1" {
  set_cmd 'mount -o remount,rw /sys 2>&1 && echo REMOUNTED; cat /proc/1/cmdline | tr "\0" " "; echo'
  run_ctr
  refute_line REMOUNTED
  refute_output --partial systemd
  refute_output --partial "/sbin/init"
}
