#!/usr/bin/env bats
# linux.seccomp end to end: each action as the container process sees it,
# argument filters, the notify listener on the host, and docker's default
# profile shipped as specs/seccomp-default.json.

load helpers

# seccomp_rules JSON-ARRAY [DEFAULT-ACTION]: sets linux.seccomp.
seccomp_rules() {
  local rules=$1 def=${2:-SCMP_ACT_ALLOW}
  update_config ".linux.seccomp = {\"defaultAction\": \"$def\",
    \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],
    \"syscalls\": $rules}"
}

@test "seccomp: SCMP_ACT_ERRNO with errnoRet is the errno the process sees" {
  seccomp_rules '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]'
  set_cmd 'mkdir /tmp/x 2>&1; echo rc=$?'
  run_ctr
  assert_success
  # errno 28 is ENOSPC
  assert_output --partial "No space left on device"
  assert_line "rc=1"
}

@test "seccomp: SCMP_ACT_ERRNO without errnoRet is EPERM" {
  seccomp_rules '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]'
  set_cmd 'mkdir /tmp/x 2>&1; echo rc=$?'
  run_ctr
  assert_success
  assert_output --partial "Operation not permitted"
}

@test "seccomp: defaultAction ERRNO with an allow list" {
  # Everything busybox sh + echo needs is allowed; uname is not.
  local allow='["read","write","open","openat","close","fstat","newfstatat","stat","lstat","mmap","munmap",
    "brk","rt_sigaction","rt_sigprocmask","rt_sigreturn","ioctl","execve","exit","exit_group","getpid",
    "getppid","getuid","geteuid","getgid","getegid","arch_prctl","set_tid_address","wait4","fork","vfork",
    "clone","clone3","dup2","dup3","fcntl","getcwd","chdir","prctl","futex","set_robust_list","rseq",
    "prlimit64","getrandom","mprotect","pipe","pipe2","lseek","sysinfo","access","faccessat","faccessat2",
    "statx","readlink","readlinkat","poll","ppoll","pselect6","select","getdents64","setpgid","getpgid","getpgrp",
    "statfs","fstatfs","close_range","openat2","capget","capset","setgroups","setresuid","setresgid","setuid","setgid",
    "sched_getaffinity","sched_yield","nanosleep","clock_nanosleep","epoll_create1","epoll_ctl","epoll_pwait","epoll_wait",
    "tgkill","gettid","sigaltstack","madvise","mlock","fchdir","umask","write","writev","pread64","keyctl","setns"]'
  seccomp_rules "[{\"names\": $allow, \"action\": \"SCMP_ACT_ALLOW\"}]" SCMP_ACT_ERRNO
  set_cmd 'echo alive; uname -s 2>&1; echo rc=$?'
  run_ctr
  assert_success
  assert_line alive
  refute_line Linux
}

@test "seccomp: SCMP_ACT_KILL_PROCESS ends the process with SIGSYS" {
  # busybox sh calls getppid(2) at start-up to set $PPID.
  seccomp_rules '[{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]'
  set_args /bin/sh -c 'echo $PPID'
  run_ctr
  # killed by SIGSYS (31): 128 + 31
  assert_equal "$status" 159
  refute_output --regexp '^[0-9]+$'
}

@test "seccomp: SCMP_ACT_KILL (thread) ends a single-threaded process" {
  seccomp_rules '[{"names": ["getppid"], "action": "SCMP_ACT_KILL"}]'
  set_args /bin/sh -c 'echo $PPID'
  run_ctr
  assert_equal "$status" 159
}

@test "seccomp: SCMP_ACT_TRAP delivers SIGSYS" {
  seccomp_rules '[{"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]'
  set_args /bin/sh -c 'echo $PPID'
  run_ctr
  assert_equal "$status" 159
}

@test "seccomp: argument filters select the call (SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ)" {
  # chmod(path, mode) has the mode in arg 1, fchmodat(dirfd, path, mode) in arg 2.
  seccomp_rules '[{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
      "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]},
    {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
      "args": [{"index": 2, "value": 448, "op": "SCMP_CMP_EQ"}]},
    {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
      "args": [{"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
      "args": [{"index": 2, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]}]'
  set_cmd 'touch /tmp/f; chmod 700 /tmp/f 2>&1; echo a=$?; chmod 755 /tmp/f; echo b=$?;
           chmod 4755 /tmp/f 2>&1; echo c=$?; chmod 644 /tmp/f; echo d=$?'
  run_ctr
  assert_success
  assert_line "a=1"   # mode 0700 (448) matched SCMP_CMP_EQ: EACCES
  assert_output --partial "Permission denied"
  assert_line "b=0"   # mode 0755 did not match
  assert_line "c=1"   # the setuid bit (04000 = 2048) matched SCMP_CMP_MASKED_EQ: EPERM
  assert_output --partial "Operation not permitted"
  assert_line "d=0"
}

@test "seccomp: the notify fd and the container state reach the listenerPath agent on the host" {
  local sock=$WARD_TMP/agent.sock out=$WARD_TMP/agent.json agent
  python3 "$BATS_TEST_DIRNAME/helpers/seccomp-agent" "$sock" "$out" &
  agent=$!
  wait_file "$sock.ready"
  update_config ".linux.seccomp = {\"defaultAction\": \"SCMP_ACT_ALLOW\",
    \"architectures\": [\"SCMP_ARCH_X86_64\"], \"listenerPath\": \"$sock\",
    \"listenerMetadata\": \"meta-ward\",
    \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
  set_cmd 'mkdir /tmp/x 2>&1; echo rc=$?'
  run_ctr
  wait "$agent"
  assert_success
  # The agent closed the listener: the trapped mkdir fails with ENOSYS.
  assert_output --partial "Function not implemented"
  run jq -r '.fds[0], .metadata, .state.id, (.pid > 0)' "$out"
  assert_success
  assert_line seccompFd
  assert_line meta-ward
  assert_line "$ID"
  assert_line true
}

# keyctl has no busybox applet; the unit test covers it (test-seccomp).
@test "seccomp: docker's default profile blocks unshare and mount, allows the ordinary" {
  local profile=$BATS_TEST_DIRNAME/../../specs/seccomp-default.json
  [[ -f $profile ]] || fail "no $profile"
  update_config ".linux.seccomp = $(cat "$profile")"
  update_config '.process.capabilities.bounding += ["CAP_SYS_ADMIN"] | .process.capabilities.effective += ["CAP_SYS_ADMIN"] | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
  set_cmd 'echo ok; unshare -m true 2>&1; echo unshare=$?; mount -t tmpfs none /mnt 2>&1; echo mount=$?'
  run_ctr
  assert_success
  assert_line ok
  assert_line --regexp '^unshare=[1-9]'
  assert_line --regexp '^mount=[1-9]'
  assert_output --partial "Operation not permitted"
}

# runtime-spec: startContainer hooks run in the container after `start`;
# with runc they already run under the container's seccomp filter.
@test "seccomp: a startContainer hook runs under the filter" {
  seccomp_rules '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]'
  update_config '.process.noNewPrivileges = true
    | .hooks.startContainer = [{"path": "/bin/sh", "args": ["sh", "-c", "mkdir /tmp/from-hook"]}]'
  set_args /bin/true
  run_ctr
  assert_failure
  assert_output --partial "error running hook"
  assert_output --partial "bad system call"
  [[ ! -e $BUNDLE/rootfs/tmp/from-hook ]] || fail "the hook's mkdir was not filtered"
}
