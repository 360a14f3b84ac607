/* Unit tests for runtime/seccomp.c: every action observed in a forked
 * child, argument filters, the notify listener, the BPF cache, SHA-256 and
 * the default profile. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "runtime/seccomp.h"
#include "tests/unit/tap.h"

#ifndef WARD_SRCDIR
#define WARD_SRCDIR "."
#endif

/* ---- helpers ------------------------------------------------------------ */

#define NAMES(...) (char *[]){ __VA_ARGS__, NULL }, (sizeof ((char *[]){ __VA_ARGS__ }) / sizeof (char *))

static ward_seccomp_syscall_t rule (char **names, size_t n, uint32_t action, bool has_errno,
                                    uint32_t errno_ret)
{
  return (ward_seccomp_syscall_t) { .names = names, .names_len = n, .action = "test",
                                    .action_value = action, .has_errno_ret = has_errno,
                                    .errno_ret = errno_ret };
}

static ward_seccomp_t allow_all (ward_seccomp_syscall_t *rules, size_t n)
{
  return (ward_seccomp_t) { .default_action = "SCMP_ACT_ALLOW",
                            .default_action_value = WARD_SECCOMP_ACT_ALLOW,
                            .syscalls = rules, .syscalls_len = n };
}

/* Child: load p (with no_new_privs, as a container would) and run probe;
 * the exit code is probe's result.  Returns the wait status. */
static int run_filtered (const ward_seccomp_prog_t *p, int (*probe) (void))
{
  pid_t pid;
  int status;

  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      ward_error_t *err = NULL;
      int fd = -1;
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      if (ward_seccomp_load (p, NULL, p->notify ? &fd : NULL, &err) < 0)
        {
          fprintf (stderr, "# load: %s\n", err->msg);
          _exit (200);
        }
      /* exit_group directly: sanitizer exit hooks need syscalls the
       * filter under test may deny. */
      syscall (SYS_exit_group, probe ());
      _exit (201);
    }
  waitpid (pid, &status, 0);
  return status;
}

static int compile_and_run (const ward_seccomp_t *s, int (*probe) (void))
{
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *p = NULL;
  ward_error_t *err = NULL;

  if (ward_seccomp_compile (s, &p, &err) < 0)
    {
      tap_diag ("compile: %s", err->msg);
      ward_error_free (&err);
      return -1;
    }
  return run_filtered (p, probe);
}

static bool exited_with (int status, int code)
{
  if (!(WIFEXITED (status) && WEXITSTATUS (status) == code))
    {
      tap_diag ("status %#x (exit %d, signal %d), wanted exit %d", status,
                WIFEXITED (status) ? WEXITSTATUS (status) : -1,
                WIFSIGNALED (status) ? WTERMSIG (status) : -1, code);
      return false;
    }
  return true;
}

static bool killed_by (int status, int sig)
{
  if (!(WIFSIGNALED (status) && WTERMSIG (status) == sig))
    {
      tap_diag ("status %#x, wanted signal %d", status, sig);
      return false;
    }
  return true;
}

/* The errno getppid fails with, or 0 when it succeeds. */
static int probe_getppid (void)
{
  long r = syscall (SYS_getppid);
  return r < 0 ? errno : 0;
}

/* ---- actions ------------------------------------------------------------ */

static void test_actions (void)
{
  ward_seccomp_syscall_t r[1];
  ward_seccomp_t s;

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_ERRNO, true, 42);
  s = allow_all (r, 1);
  tap_ok (exited_with (compile_and_run (&s, probe_getppid), 42), "SCMP_ACT_ERRNO with errnoRet 42");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_ERRNO, false, 0);
  tap_ok (exited_with (compile_and_run (&s, probe_getppid), EPERM), "SCMP_ACT_ERRNO defaults to EPERM");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_TRAP, false, 0);
  tap_ok (killed_by (compile_and_run (&s, probe_getppid), SIGSYS), "SCMP_ACT_TRAP raises SIGSYS");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_KILL, false, 0);
  tap_ok (killed_by (compile_and_run (&s, probe_getppid), SIGSYS), "SCMP_ACT_KILL kills");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_KILL_THREAD, false, 0);
  tap_ok (killed_by (compile_and_run (&s, probe_getppid), SIGSYS), "SCMP_ACT_KILL_THREAD kills");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_KILL_PROCESS, false, 0);
  tap_ok (killed_by (compile_and_run (&s, probe_getppid), SIGSYS),
          "SCMP_ACT_KILL_PROCESS kills the process");

  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_LOG, false, 0);
  tap_ok (exited_with (compile_and_run (&s, probe_getppid), 0), "SCMP_ACT_LOG allows");

  /* Without a tracer the kernel fails a TRACE'd syscall with ENOSYS. */
  r[0] = rule (NAMES ("getppid"), WARD_SECCOMP_ACT_TRACE, false, 0);
  tap_ok (exited_with (compile_and_run (&s, probe_getppid), ENOSYS),
          "SCMP_ACT_TRACE without a tracer gives ENOSYS");

  /* A rule with the default action is dropped, not an error. */
  r[0] = rule (NAMES ("getppid", "no_such_syscall_ward"), WARD_SECCOMP_ACT_ALLOW, false, 0);
  tap_ok (exited_with (compile_and_run (&s, probe_getppid), 0),
          "rule equal to the default action and unknown syscall names are skipped");
}

static int probe_default_errno (void)
{
  long r = syscall (SYS_getppid);
  long u = syscall (SYS_getuid);
  /* getuid is allowed, getppid falls to the default. */
  return r < 0 && u >= 0 ? errno : 99;
}

static void test_default_errno (void)
{
  ward_seccomp_syscall_t r[] = { rule (NAMES ("exit_group", "exit", "getuid"),
                                       WARD_SECCOMP_ACT_ALLOW, false, 0) };
  ward_seccomp_t s = { .default_action = "SCMP_ACT_ERRNO",
                       .default_action_value = WARD_SECCOMP_ACT_ERRNO,
                       .has_default_errno_ret = true, .default_errno_ret = 77,
                       .architectures = (char *[]){ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                    "SCMP_ARCH_X32", NULL },
                       .architectures_len = 3,
                       .flags = (char *[]){ "SECCOMP_FILTER_FLAG_LOG",
                                            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", NULL },
                       .flags_len = 2,
                       .syscalls = r, .syscalls_len = 1 };
  tap_ok (exited_with (compile_and_run (&s, probe_default_errno), 77),
          "defaultAction ERRNO with defaultErrnoRet, architectures and flags");
}

/* Numbers above every listed syscall get ENOSYS, lower ones the default. */
static int probe_enosys (void)
{
  int bad = 0;
  if (!(syscall (300) < 0 && errno == ENOSYS))
    bad |= 1;
  if (!(syscall (SYS_getuid) < 0 && errno == EPERM))
    bad |= 2;
  if (syscall (SYS_getppid) <= 0)
    bad |= 4;
  if (bad)
    fprintf (stderr, "# enosys probe failures: %#x\n", bad);
  return bad;
}

/* With x32 in the filter, x32 numbers are not the stub's business. */
static int probe_enosys_x32 (void)
{
  if (!(syscall (0x40000000 | 300) < 0 && errno == EPERM))
    return 16;
  return probe_enosys ();
}

static void test_enosys_stub (void)
{
  ward_seccomp_syscall_t r[] = { rule (NAMES ("exit_group", "getppid"), WARD_SECCOMP_ACT_ALLOW,
                                       false, 0) };
  ward_seccomp_t s = { .default_action_value = WARD_SECCOMP_ACT_ERRNO,
                       .syscalls = r, .syscalls_len = 1 };
  ward_seccomp_t s32 = s;
  int st;

  if (seccomp_arch_native () != SCMP_ARCH_X86_64)
    {
      tap_skip ("the ENOSYS stub is generated for x86_64 hosts only");
      return;
    }
  st = compile_and_run (&s, probe_enosys);
  tap_ok (exited_with (st, 0),
          "syscalls newer than the profile: ENOSYS; listed range: default errno");
  s32.architectures = (char *[]){ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };
  s32.architectures_len = 3;
  st = compile_and_run (&s32, probe_enosys_x32);
  tap_ok (exited_with (st, 0), "same with the i386 branch in the stub; x32 numbers untouched");
}

static void test_errors (void)
{
  ward_seccomp_t s = allow_all (NULL, 0);
  ward_seccomp_prog_t *p = NULL;
  ward_error_t *err = NULL;

  s.architectures = (char *[]){ "SCMP_ARCH_VAX", NULL };
  s.architectures_len = 1;
  tap_ok (ward_seccomp_compile (&s, &p, &err) < 0 && err && strstr (err->msg, "SCMP_ARCH_VAX"),
          "unknown architecture refused by name");
  ward_error_free (&err);
  s.architectures_len = 0;
  s.flags = (char *[]){ "SECCOMP_FILTER_FLAG_BOGUS", NULL };
  s.flags_len = 1;
  tap_ok (ward_seccomp_compile (&s, &p, &err) < 0 && err
              && strstr (err->msg, "SECCOMP_FILTER_FLAG_BOGUS"),
          "unknown flag refused by name");
  ward_error_free (&err);
  s.flags_len = 0;
  {
    ward_seccomp_syscall_t r[] = { rule (NAMES ("sendmsg"), WARD_SECCOMP_ACT_NOTIFY, false, 0) };
    ward_seccomp_t n = allow_all (r, 1);
    tap_ok (ward_seccomp_compile (&n, &p, &err) < 0 && err && strstr (err->msg, "sendmsg"),
            "NOTIFY on sendmsg refused (the notify fd travels by sendmsg)");
    ward_error_free (&err);
    n.default_action_value = WARD_SECCOMP_ACT_NOTIFY;
    n.syscalls_len = 0;
    tap_ok (ward_seccomp_compile (&n, &p, &err) < 0 && err
                && strstr (err->msg, "cannot be used as default action"),
            "NOTIFY as default action refused");
    ward_error_free (&err);
  }
  s.default_action_value = 1000;
  s.default_action = "SCMP_ACT_BOGUS";
  tap_ok (ward_seccomp_compile (&s, &p, &err) < 0 && err && strstr (err->msg, "SCMP_ACT_BOGUS"),
          "unknown default action refused");
  ward_error_free (&err);
}

/* ---- argument filters --------------------------------------------------- */

static int probe_args (void)
{
  int bad = 0;
  /* EQ on dup's arg0. */
  if (!(syscall (SYS_dup, 1000) < 0 && errno == 11))
    bad |= 1;
  if (!(syscall (SYS_dup, 1001) < 0 && errno == EBADF))
    bad |= 2;
  /* MASKED_EQ: (mask & 0700) == 0700 on umask's arg0. */
  if (!(syscall (SYS_umask, 0777) < 0 && errno == 12))
    bad |= 4;
  if (syscall (SYS_umask, 022) < 0)
    bad |= 8;
  /* Two args on distinct indices: ANDed. */
  if (!(syscall (SYS_dup2, 100, 101) < 0 && errno == 13))
    bad |= 16;
  if (!(syscall (SYS_dup2, 100, 102) < 0 && errno == EBADF))
    bad |= 32;
  /* Two conditions on the same index: ORed (one rule each). */
  if (!(syscall (SYS_dup3, 500, 600, 0) < 0 && errno == 14))
    bad |= 64;
  if (!(syscall (SYS_dup3, 501, 600, 0) < 0 && errno == 14))
    bad |= 128;
  /* GE and LT. */
  if (!(syscall (SYS_close, 5000) < 0 && errno == 15) || !(syscall (SYS_close, 4999) < 0 && errno == EBADF))
    bad |= 256;
  if (!(syscall (SYS_fchdir, 2000) < 0 && errno == EBADF) || !(syscall (SYS_fchdir, 3000) < 0 && errno == 16))
    bad |= 512;
  if (bad)
    fprintf (stderr, "# argument probe failures: %#x\n", bad);
  return bad ? 1 : 0;
}

static void test_args (void)
{
  ward_seccomp_arg_t eq[] = { { .index = 0, .value = 1000, .op = "SCMP_CMP_EQ",
                                .op_value = WARD_SECCOMP_OP_EQ } };
  ward_seccomp_arg_t masked[] = { { .index = 0, .value = 0700, .value_two = 0700,
                                    .op = "SCMP_CMP_MASKED_EQ",
                                    .op_value = WARD_SECCOMP_OP_MASKED_EQ } };
  ward_seccomp_arg_t both[] = {
    { .index = 0, .value = 100, .op = "SCMP_CMP_EQ", .op_value = WARD_SECCOMP_OP_EQ },
    { .index = 1, .value = 101, .op = "SCMP_CMP_EQ", .op_value = WARD_SECCOMP_OP_EQ },
  };
  ward_seccomp_arg_t same[] = {
    { .index = 0, .value = 500, .op = "SCMP_CMP_EQ", .op_value = WARD_SECCOMP_OP_EQ },
    { .index = 0, .value = 501, .op = "SCMP_CMP_EQ", .op_value = WARD_SECCOMP_OP_EQ },
  };
  ward_seccomp_arg_t ge[] = { { .index = 0, .value = 5000, .op = "SCMP_CMP_GE",
                                .op_value = WARD_SECCOMP_OP_GE } };
  ward_seccomp_arg_t gt[] = { { .index = 0, .value = 2500, .op = "SCMP_CMP_GT",
                                .op_value = WARD_SECCOMP_OP_GT } };
  ward_seccomp_syscall_t r[] = {
    rule (NAMES ("dup"), WARD_SECCOMP_ACT_ERRNO, true, 11),
    rule (NAMES ("umask"), WARD_SECCOMP_ACT_ERRNO, true, 12),
    rule (NAMES ("dup2"), WARD_SECCOMP_ACT_ERRNO, true, 13),
    rule (NAMES ("dup3"), WARD_SECCOMP_ACT_ERRNO, true, 14),
    rule (NAMES ("close"), WARD_SECCOMP_ACT_ERRNO, true, 15),
    rule (NAMES ("fchdir"), WARD_SECCOMP_ACT_ERRNO, true, 16),
  };
  ward_seccomp_t s = allow_all (r, ARRAY_SIZE (r));
  int status;

  r[0].args = eq, r[0].args_len = 1;
  r[1].args = masked, r[1].args_len = 1;
  r[2].args = both, r[2].args_len = 2;
  r[3].args = same, r[3].args_len = 2;
  r[4].args = ge, r[4].args_len = 1;
  r[5].args = gt, r[5].args_len = 1;
  status = compile_and_run (&s, probe_args);
  tap_ok (exited_with (status, 0),
          "argument filters: EQ, MASKED_EQ, distinct args ANDed, same arg ORed, GE, GT");
}

/* ---- notify ------------------------------------------------------------- */

static int recv_fd (int sock, char *buf, size_t size)
{
  union
  {
    char b[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.b, .msg_controllen = sizeof u.b };
  struct cmsghdr *c;
  ssize_t n = recvmsg (sock, &msg, 0);
  int fd = -1;

  if (n < 0)
    return -1;
  buf[n] = '\0';
  c = CMSG_FIRSTHDR (&msg);
  if (c && c->cmsg_type == SCM_RIGHTS)
    memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

static void test_notify (void)
{
  char dir[] = "/tmp/ward-test-seccomp.XXXXXX";
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int lsock = -1, conn = -1, nfd = -1;
  char payload[4096] = "";
  struct seccomp_notif *req = NULL;
  struct seccomp_notif_resp *resp = NULL;
  ward_seccomp_syscall_t r[] = { rule (NAMES ("getppid"), WARD_SECCOMP_ACT_NOTIFY, false, 0) };
  ward_seccomp_t s = allow_all (r, 1);
  pid_t pid;
  int status;
  bool answered = false;
  _cleanup_free_ char *want_pid = NULL;

  if (mkdtemp (dir) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s/agent.sock", dir);
  lsock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (bind (lsock, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lsock, 1) < 0)
    {
      tap_ok (0, "listener socket: %s", strerror (errno));
      return;
    }
  s.listener_path = addr.sun_path;
  s.listener_metadata = "meta-ward";
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      ward_error_t *err = NULL;
      long v;
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      alarm (10);
      if (ward_seccomp_apply (&s, "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\"}",
                              &err) < 0)
        {
          fprintf (stderr, "# apply: %s\n", err->msg);
          _exit (200);
        }
      v = syscall (SYS_getppid);
      _exit (v == 4242 ? 0 : 1);
    }
  want_pid = xasprintf ("\"pid\":%d", (int) pid);
  conn = accept (lsock, NULL, NULL);
  nfd = conn >= 0 ? recv_fd (conn, payload, sizeof payload) : -1;
  tap_ok (nfd >= 0, "listenerPath receives the notify fd");
  tap_ok (strstr (payload, "\"fds\":[\"seccompFd\"]") && strstr (payload, want_pid)
              && strstr (payload, "\"metadata\":\"meta-ward\"")
              && strstr (payload, "\"state\":{\"ociVersion\":\"1.2.0\",\"id\":\"c1\"")
              && strstr (payload, "\"ociVersion\""),
          "containerProcessState sent with the fd: %s", payload);
  if (nfd >= 0 && seccomp_notify_alloc (&req, &resp) == 0 && seccomp_notify_receive (nfd, req) == 0)
    {
      resp->id = req->id;
      resp->val = 4242;
      resp->error = 0;
      resp->flags = 0;
      answered = req->data.nr == SYS_getppid && req->pid == (uint32_t) pid
                 && seccomp_notify_respond (nfd, resp) == 0;
    }
  seccomp_notify_free (req, resp);
  tap_ok (answered, "agent receives the getppid notification and answers");
  waitpid (pid, &status, 0);
  tap_ok (exited_with (status, 0), "the child sees the agent's return value");
  unlink (addr.sun_path);
  rmdir (dir);
}

/* The runtime connects on the host side before clone; the init sends over
 * that socket, with the host pid from the state. */
static void test_notify_preconnected (void)
{
  char dir[] = "/tmp/ward-test-seccomp.XXXXXX";
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int lsock = -1, conn = -1, nfd = -1;
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *prog = NULL;
  char payload[4096] = "";
  struct seccomp_notif *req = NULL;
  struct seccomp_notif_resp *resp = NULL;
  ward_seccomp_syscall_t r[] = { rule (NAMES ("getppid"), WARD_SECCOMP_ACT_NOTIFY, false, 0) };
  ward_seccomp_t s = allow_all (r, 1);
  ward_error_t *err = NULL;
  bool answered = false;
  pid_t pid;
  int status;

  if (mkdtemp (dir) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s/agent.sock", dir);
  lsock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (bind (lsock, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lsock, 1) < 0)
    {
      tap_ok (0, "listener socket: %s", strerror (errno));
      return;
    }
  s.listener_path = addr.sun_path;
  tap_ok (ward_seccomp_compile (&s, &prog, &err) == 0
              && ward_seccomp_prog_connect_listener (prog, &err) == 0 && prog->listener_fd >= 0,
          "listener connected on the host side");
  ward_error_free (&err);
  /* Gone from the path: the init must use the connected socket. */
  unlink (addr.sun_path);
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      alarm (10);
      if (prog == NULL || ward_seccomp_load (prog, "{\"id\":\"c2\",\"pid\":777}", NULL, &err) < 0)
        _exit (200);
      _exit (syscall (SYS_getppid) == 99 ? 0 : 1);
    }
  if (prog && prog->listener_fd >= 0)
    close (TAKE_FD (prog->listener_fd));
  conn = accept (lsock, NULL, NULL);
  nfd = conn >= 0 ? recv_fd (conn, payload, sizeof payload) : -1;
  tap_ok (nfd >= 0 && strstr (payload, "\"pid\":777,"),
          "notify fd sent over the pre-connected socket with the state's pid: %s", payload);
  if (nfd >= 0 && seccomp_notify_alloc (&req, &resp) == 0 && seccomp_notify_receive (nfd, req) == 0)
    {
      resp->id = req->id;
      resp->val = 99;
      answered = seccomp_notify_respond (nfd, resp) == 0;
    }
  seccomp_notify_free (req, resp);
  waitpid (pid, &status, 0);
  tap_ok (answered && exited_with (status, 0), "agent answers through the pre-connected path");
  rmdir (dir);
}

static void test_notify_needs_listener (void)
{
  ward_seccomp_syscall_t r[] = { rule (NAMES ("getppid"), WARD_SECCOMP_ACT_NOTIFY, false, 0) };
  ward_seccomp_t s = allow_all (r, 1);
  ward_error_t *err = NULL;

  tap_ok (ward_seccomp_apply (&s, NULL, &err) < 0 && err && strstr (err->msg, "listenerPath"),
          "NOTIFY without listenerPath is refused before loading");
  ward_error_free (&err);
}

/* ---- cache -------------------------------------------------------------- */

static void test_cache (void)
{
  char dir[] = "/tmp/ward-test-cache.XXXXXX";
  ward_seccomp_syscall_t r[] = { rule (NAMES ("getppid"), WARD_SECCOMP_ACT_ERRNO, true, 42) };
  ward_seccomp_t s = allow_all (r, 1);
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *a = NULL;
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *b = NULL;
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *c = NULL;
  ward_error_t *err = NULL;
  _cleanup_free_ char *sub = NULL;
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;
  char path[512] = "";

  if (mkdtemp (dir) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  sub = xasprintf ("%s/seccomp-cache", dir);
  s.canonical_json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                     "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}";
  tap_ok (ward_seccomp_prepare (&s, sub, &a, &err) == 0 && !a->from_cache,
          "first prepare compiles");
  tap_ok (ward_seccomp_prepare (&s, sub, &b, &err) == 0 && b->from_cache,
          "second prepare is a cache hit");
  tap_ok (a && b && a->insns_len == b->insns_len
              && memcmp (a->insns, b->insns, a->insns_len * sizeof (struct sock_filter)) == 0,
          "cached BPF is identical");
  tap_ok (b && exited_with (run_filtered (b, probe_getppid), 42),
          "cached filter behaves the same (ERRNO 42)");
  /* A cache entry others can write is not trusted. */
  d = opendir (sub);
  while (d && (de = readdir (d)))
    if (de->d_name[0] != '.')
      snprintf (path, sizeof path, "%s/%s", sub, de->d_name);
  tap_ok (strlen (path) == strlen (sub) + 65, "cache file named by a sha256 hex");
  chmod (path, 0666);
  tap_ok (ward_seccomp_prepare (&s, sub, &c, &err) == 0 && !c->from_cache,
          "group/other-writable cache entry ignored");
  ward_error_free (&err);
  unlink (path);
  rmdir (sub);
  rmdir (dir);
}

/* ---- default profile ---------------------------------------------------- */

/* A small converter so this test does not depend on the specs parser. */
static int action_value (const char *a)
{
  static const char *names[] = { "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                 "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
                                 "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if (strcmp (a, names[i]) == 0)
      return (int) i;
  return -1;
}

static int op_value (const char *o)
{
  static const char *names[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                 "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    if (strcmp (o, names[i]) == 0)
      return (int) i;
  return -1;
}

static char **strv_from (struct json_object *arr, size_t *len)
{
  size_t n = arr ? json_object_array_length (arr) : 0;
  char **v = xzalloc ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup (json_object_get_string (json_object_array_get_idx (arr, i)));
  *len = n;
  return v;
}

static void profile_free (ward_seccomp_t *s)
{
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      ward_strv_freep (&s->syscalls[i].names);
      free (s->syscalls[i].args);
    }
  free (s->syscalls);
  ward_strv_freep (&s->architectures);
}

static bool profile_load (ward_seccomp_t *s)
{
  _cleanup_json_ struct json_object *o = json_object_from_file (WARD_SRCDIR "/specs/seccomp-default.json");
  struct json_object *v, *sc;

  memset (s, 0, sizeof *s);
  if (o == NULL)
    return false;
  json_object_object_get_ex (o, "defaultAction", &v);
  s->default_action_value = (uint32_t) action_value (json_object_get_string (v));
  if (json_object_object_get_ex (o, "defaultErrnoRet", &v))
    s->has_default_errno_ret = true, s->default_errno_ret = (uint32_t) json_object_get_int (v);
  json_object_object_get_ex (o, "architectures", &v);
  s->architectures = strv_from (v, &s->architectures_len);
  json_object_object_get_ex (o, "syscalls", &sc);
  s->syscalls_len = json_object_array_length (sc);
  s->syscalls = xzalloc (s->syscalls_len * sizeof *s->syscalls);
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      struct json_object *e = json_object_array_get_idx (sc, i), *args;
      ward_seccomp_syscall_t *r = &s->syscalls[i];
      json_object_object_get_ex (e, "names", &v);
      r->names = strv_from (v, &r->names_len);
      json_object_object_get_ex (e, "action", &v);
      r->action_value = (uint32_t) action_value (json_object_get_string (v));
      if (json_object_object_get_ex (e, "errnoRet", &v))
        r->has_errno_ret = true, r->errno_ret = (uint32_t) json_object_get_int (v);
      if (json_object_object_get_ex (e, "args", &args))
        {
          r->args_len = json_object_array_length (args);
          r->args = xzalloc (r->args_len * sizeof *r->args);
          for (size_t j = 0; j < r->args_len; j++)
            {
              struct json_object *a = json_object_array_get_idx (args, j);
              json_object_object_get_ex (a, "index", &v);
              r->args[j].index = (uint32_t) json_object_get_int (v);
              json_object_object_get_ex (a, "value", &v);
              r->args[j].value = (uint64_t) json_object_get_int64 (v);
              if (json_object_object_get_ex (a, "valueTwo", &v))
                r->args[j].value_two = (uint64_t) json_object_get_int64 (v);
              json_object_object_get_ex (a, "op", &v);
              r->args[j].op_value = op_value (json_object_get_string (v));
            }
        }
    }
  return true;
}

static int probe_profile (void)
{
  int bad = 0;
  if (!(syscall (SYS_unshare, 0) < 0 && errno == EPERM))
    bad |= 1;
  if (!(syscall (SYS_keyctl, 0, 0, 0, 0, 0) < 0 && errno == EPERM))
    bad |= 2;
  if (!(syscall (SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL) < 0 && errno == EPERM))
    bad |= 4;
  if (!(syscall (SYS_clone3, NULL, 0) < 0 && errno == ENOSYS))
    bad |= 8;
  if (syscall (SYS_getpid) <= 0 || syscall (SYS_personality, 0xffffffffUL) < 0)
    bad |= 16;
  if (!(syscall (SYS_personality, 0x0040000UL) < 0 && errno == EPERM))
    bad |= 32;
  if (!(syscall (SYS_setns, 0, 0) < 0 && errno == EPERM))
    bad |= 64;
  /* fchmodat2 (452) is newer than this libseccomp may know: ENOSYS (so
   * glibc falls back to fchmodat) or allowed, never EPERM. */
  if (syscall (452, AT_FDCWD, "/nonexistent-ward", 0, 0) < 0 && errno == EPERM)
    bad |= 128;
  if (bad)
    fprintf (stderr, "# profile probe failures: %#x\n", bad);
  return bad;
}

static void test_default_profile (void)
{
  ward_seccomp_t s;

  if (!profile_load (&s))
    {
      tap_ok (0, "load %s/specs/seccomp-default.json", WARD_SRCDIR);
      return;
    }
  tap_ok (s.default_action_value == WARD_SECCOMP_ACT_ERRNO && s.has_default_errno_ret
              && s.default_errno_ret == EPERM && s.syscalls_len > 3,
          "default profile: ERRNO(EPERM) by default with an allow list");
  tap_ok (exited_with (compile_and_run (&s, probe_profile), 0),
          "default profile blocks unshare/keyctl/mount/setns (EPERM), clone3 (ENOSYS), "
          "odd personalities; allows getpid");
  {
    char dir[] = "/tmp/ward-test-cache.XXXXXX";
    _cleanup_seccomp_prog_ ward_seccomp_prog_t *a = NULL;
    _cleanup_seccomp_prog_ ward_seccomp_prog_t *b = NULL;
    _cleanup_free_ char *text = NULL;
    ward_error_t *err = NULL;
    struct timespec t0, t1, t2;
    size_t len = 0;

    if (mkdtemp (dir) && ward_read_file_at (AT_FDCWD, WARD_SRCDIR "/specs/seccomp-default.json",
                                            &text, &len, 0, &err) == 0)
      {
        s.canonical_json = text;
        clock_gettime (CLOCK_MONOTONIC, &t0);
        ward_seccomp_prepare (&s, dir, &a, &err);
        clock_gettime (CLOCK_MONOTONIC, &t1);
        ward_seccomp_prepare (&s, dir, &b, &err);
        clock_gettime (CLOCK_MONOTONIC, &t2);
        tap_ok (a && b && !a->from_cache && b->from_cache && a->insns_len == b->insns_len,
                "default profile: cache miss then hit, same BPF (%zu instructions)",
                a ? a->insns_len : 0);
        tap_diag ("compile %.3f ms, cache hit %.3f ms",
                  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
                  (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
        s.canonical_json = NULL;
        {
          _cleanup_closedir_ DIR *d = opendir (dir);
          struct dirent *de;
          while (d && (de = readdir (d)))
            if (de->d_name[0] != '.')
              unlinkat (dirfd (d), de->d_name, 0);
        }
        rmdir (dir);
      }
    else
      tap_ok (0, "read default profile: %s", err ? err->msg : strerror (errno));
    ward_error_free (&err);
  }
  profile_free (&s);
}

int main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root for the notify and cache ownership checks\n");
      return 77;
    }
  if (seccomp_api_get () < 5)
    tap_diag ("libseccomp API level %u: NOTIFY may be unavailable", seccomp_api_get ());
  test_actions ();
  test_default_errno ();
  test_errors ();
  test_enosys_stub ();
  test_args ();
  test_notify ();
  test_notify_preconnected ();
  test_notify_needs_listener ();
  test_cache ();
  test_default_profile ();
  return tap_done ();
}
