/* Unit tests for runtime/process.c and runtime/terminal.c: each setup runs
 * in a forked child that reports what it observes about itself. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "tests/unit/tap.h"

/* ---- child harness ------------------------------------------------------ */

static int report_fd = -1;

static void report (const char *fmt, ...)
{
  char buf[4096];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (n > 0 && write (report_fd, buf, (size_t) n) < 0)
    _exit (120);
}

/* Runs fn in a child; returns what it reported (malloc'd) and its wait status. */
static char *in_child (void (*fn) (void *), void *arg, int *status)
{
  int p[2];
  pid_t pid;
  char *out = xzalloc (65536);
  size_t len = 0;
  ssize_t n;

  if (pipe (p) < 0)
    abort ();
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      report_fd = p[1];
      fn (arg);
      _exit (0);
    }
  close (p[1]);
  while ((n = read (p[0], out + len, 65535 - len)) > 0)
    len += (size_t) n;
  close (p[0]);
  waitpid (pid, status, 0);
  return out;
}

static void status_line (const char *key, char *out, size_t size)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[512];
  size_t klen = strlen (key);

  out[0] = '\0';
  while (f && fgets (line, sizeof line, f))
    if (strncmp (line, key, klen) == 0 && line[klen] == ':')
      {
        char *v = line + klen + 1;
        while (*v == ' ' || *v == '\t')
          v++;
        v[strcspn (v, "\n")] = '\0';
        snprintf (out, size, "%s", v);
      }
  if (f)
    fclose (f);
}

static bool has (const char *hay, const char *needle)
{
  bool ok = strstr (hay, needle) != NULL;
  if (!ok)
    tap_diag ("wanted '%s' in: %s", needle, hay);
  return ok;
}

/* ---- full setup --------------------------------------------------------- */

static void child_full_setup (void *arg)
{
  ward_process_t *p = arg;
  ward_error_t *err = NULL;
  char v[256], cwd[256];
  gid_t groups[16];
  int ng;
  struct rlimit rl;

  /* The user switch hands stdio to the new uid (runc's
   * fixStdioPermissions): keep it off the tester's terminal. */
  {
    int null = open ("/dev/null", O_RDWR);
    dup2 (null, 0), dup2 (null, 1), dup2 (null, 2);
  }
  if (ward_process_setup (p, &err) < 0)
    {
      report ("ERR %s\n", err->msg);
      return;
    }
  report ("ids %d %d %d %d\n", (int) getuid (), (int) geteuid (), (int) getgid (),
          (int) getegid ());
  ng = getgroups (16, groups);
  report ("groups");
  for (int i = 0; i < ng; i++)
    report (" %d", (int) groups[i]);
  report ("\n");
  for (const char *const *k = (const char *const[]){ "CapInh", "CapPrm", "CapEff", "CapBnd",
                                                     "CapAmb", "NoNewPrivs", "Umask", NULL };
       *k; k++)
    {
      status_line (*k, v, sizeof v);
      report ("%s=%s\n", *k, v);
    }
  getrlimit (RLIMIT_NOFILE, &rl);
  report ("nofile=%llu/%llu\n", (unsigned long long) rl.rlim_cur,
          (unsigned long long) rl.rlim_max);
  {
    FILE *f = fopen ("/proc/self/oom_score_adj", "r");
    int adj = -9999;
    if (f && fscanf (f, "%d", &adj) != 1)
      adj = -9998;
    if (f)
      fclose (f);
    report ("oom=%d\n", adj);
  }
  report ("cwd=%s\n", getcwd (cwd, sizeof cwd) ? cwd : "?");
  report ("personality=%#x\n", (unsigned) personality (0xffffffff));
  report ("nice=%d policy=%d\n", getpriority (PRIO_PROCESS, 0), sched_getscheduler (0));
  report ("ioprio=%ld\n", syscall (SYS_ioprio_get, 1, 0));
}

static void test_full_setup (void)
{
  uint32_t gids[] = { 10, 20 };
  ward_rlimit_t rl[] = { { .type = "RLIMIT_NOFILE", .resource = RLIMIT_NOFILE,
                           .hard = 2048, .soft = 1024 } };
  ward_capabilities_t caps = {
    .bounding = (char *[]){ "CAP_CHOWN", "CAP_KILL", "CAP_NOT_A_CAP", NULL },
    .effective = (char *[]){ "CAP_KILL", NULL },
    .permitted = (char *[]){ "CAP_KILL", NULL },
    .inheritable = (char *[]){ "CAP_KILL", NULL },
    .ambient = (char *[]){ "CAP_KILL", NULL },
  };
  ward_scheduler_t sched = { .policy = "SCHED_BATCH", .policy_value = SCHED_BATCH,
                             .has_nice = true, .nice = 5 };
  ward_io_priority_t io = { .class_name = "IOPRIO_CLASS_BE", .class_value = 2, .priority = 4 };
  ward_process_t p = {
    .user = { .uid = 4242, .gid = 4243, .has_umask = true, .umask = 027,
              .additional_gids = gids, .additional_gids_len = 2 },
    .cwd = "/tmp",
    .capabilities = &caps,
    .rlimits = rl, .rlimits_len = 1,
    .no_new_privileges = true,
    .has_oom_score_adj = true, .oom_score_adj = 500,
    .scheduler = &sched,
    .io_priority = &io,
  };
  int status;
  _cleanup_free_ char *out = in_child (child_full_setup, &p, &status);

  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0 && !strstr (out, "ERR"),
          "full setup succeeds (unknown cap skipped)");
  if (strstr (out, "ERR"))
    tap_diag ("%s", out);
  tap_ok (has (out, "ids 4242 4242 4243 4243\n"), "uid/gid switched (real and effective)");
  tap_ok (has (out, "groups 10 20\n"), "additionalGids are the supplementary groups");
  tap_ok (has (out, "CapBnd=0000000000000021\n"), "bounding set is CAP_CHOWN|CAP_KILL");
  tap_ok (has (out, "CapEff=0000000000000020\n"), "effective is CAP_KILL after the switch");
  tap_ok (has (out, "CapPrm=0000000000000020\n"), "permitted is CAP_KILL");
  tap_ok (has (out, "CapInh=0000000000000020\n"), "inheritable is CAP_KILL");
  tap_ok (has (out, "CapAmb=0000000000000020\n"), "ambient is CAP_KILL");
  tap_ok (has (out, "NoNewPrivs=1\n"), "no_new_privs set");
  tap_ok (has (out, "Umask=0027\n"), "umask applied");
  tap_ok (has (out, "nofile=1024/2048\n"), "RLIMIT_NOFILE soft/hard applied");
  tap_ok (has (out, "oom=500\n"), "oom_score_adj written");
  tap_ok (has (out, "cwd=/tmp\n"), "cwd changed");
  tap_ok (has (out, "nice=5 policy=3\n"), "scheduler SCHED_BATCH with nice 5");
  tap_ok (has (out, "ioprio=16388\n"), "ioprio class BE priority 4");
}

static void child_setup_only (void *arg)
{
  ward_error_t *err = NULL;
  char v[64];

  if (ward_process_setup (arg, &err) < 0)
    {
      report ("ERR %s\n", err->msg);
      return;
    }
  status_line ("CapBnd", v, sizeof v);
  report ("CapBnd=%s\n", v);
  status_line ("CapEff", v, sizeof v);
  report ("CapEff=%s\n", v);
  status_line ("Umask", v, sizeof v);
  report ("Umask=%s\n", v);
  report ("personality=%#x\n", (unsigned) personality (0xffffffff));
}

static void test_defaults (void)
{
  ward_process_t p = { .cwd = "/" };
  int status;
  _cleanup_free_ char *out = in_child (child_setup_only, &p, &status);

  tap_ok (has (out, "CapBnd=0000000000000000\n") && has (out, "CapEff=0000000000000000\n"),
          "no capabilities object: every capability dropped (runc)");
  tap_ok (has (out, "Umask=0022\n"), "umask defaults to 0022");
}

static void test_personality (void)
{
  ward_process_t p = { .cwd = "/" };
  ward_personality_t pers = { .domain = "LINUX32" };
  ward_error_t *err = NULL;
  int status;
  _cleanup_free_ char *out = NULL;

  /* Through the _full variant in a child. */
  pid_t pid;
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      if (ward_process_setup_full (&p, &pers, &err) < 0)
        _exit (2);
      _exit (personality (0xffffffff) == PER_LINUX32 ? 0 : 3);
    }
  waitpid (pid, &status, 0);
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "personality LINUX32 applied");
  pers.domain = "BSD";
  tap_ok (ward_process_apply_personality (&pers, &err) == -EINVAL
              && err && strstr (err->msg, "BSD"),
          "unknown personality domain refused with its name");
  ward_error_free (&err);
  (void) out;
}

static void test_rlimit_refused (void)
{
  ward_rlimit_t rl[] = { { .type = "RLIMIT_NOFILE", .resource = RLIMIT_NOFILE,
                           .hard = 1 << 30, .soft = 1024 } };
  ward_process_t p = { .cwd = "/", .rlimits = rl, .rlimits_len = 1 };
  int status;
  _cleanup_free_ char *out = NULL;
  struct rlimit cur;

  getrlimit (RLIMIT_NOFILE, &cur);
  if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= (1u << 30))
    {
      tap_skip ("hard RLIMIT_NOFILE is unlimited here: cannot provoke a refusal");
      return;
    }
  out = in_child (child_setup_only, &p, &status);
  tap_ok (has (out, "ERR error setting rlimit type RLIMIT_NOFILE"),
          "raising the hard nofile limit fails naming the rlimit");
}

static void test_cwd (void)
{
  char dir[] = "/tmp/ward-test-cwd.XXXXXX";
  _cleanup_free_ char *cwd = NULL;
  _cleanup_free_ char *sub = NULL;
  ward_process_t p = { 0 };
  int status;
  _cleanup_free_ char *out = NULL;
  struct stat st;

  if (mkdtemp (dir) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  sub = xasprintf ("%s/a", dir);
  cwd = xasprintf ("%s/a/b", dir);
  p.cwd = cwd;
  out = in_child (child_setup_only, &p, &status);
  tap_ok (!strstr (out, "ERR") && stat (cwd, &st) == 0 && S_ISDIR (st.st_mode)
              && (st.st_mode & 07777) == 0755,
          "missing cwd is created 0755 (runc's MkdirAll)");
  rmdir (cwd);
  rmdir (sub);
  rmdir (dir);
  free (out);
  /* A file in the way: the cwd cannot exist. */
  p.cwd = "/etc/passwd/x";
  out = in_child (child_setup_only, &p, &status);
  tap_ok (has (out, "ERR chdir to cwd (\"/etc/passwd/x\") set in config.json failed: Not a directory"),
          "uncreatable cwd refused naming it");
  free (out);
  p.cwd = "relative";
  out = in_child (child_setup_only, &p, &status);
  tap_ok (has (out, "ERR cwd (\"relative\") must be an absolute path"), "relative cwd refused");
}

/* runc: a user listed in the container's /etc/group gets only additionalGids
 * (runc's lookup is given "uid:gid", which skips memberships). */
static void child_etc_group (void *arg)
{
  const char *root = arg;
  uint32_t gids[] = { 10 };
  ward_process_t p = { .cwd = "/", .user = { .uid = 4242, .gid = 4243, .additional_gids = gids,
                                             .additional_gids_len = 1 } };
  ward_error_t *err = NULL;
  gid_t groups[16];
  int ng;

  if (chroot (root) < 0 || chdir ("/") < 0)
    {
      report ("SKIP chroot: %s\n", strerror (errno));
      return;
    }
  if (ward_process_setup (&p, &err) < 0)
    {
      report ("ERR %s\n", err->msg);
      return;
    }
  ng = getgroups (16, groups);
  report ("groups");
  for (int i = 0; i < ng; i++)
    report (" %d", (int) groups[i]);
  report ("\n");
}

static void test_etc_group (void)
{
  char root[] = "/tmp/ward-test-group.XXXXXX";
  _cleanup_free_ char *etc = NULL;
  _cleanup_close_ int dfd = -1;
  _cleanup_free_ char *out = NULL;
  ward_error_t *err = NULL;
  const char *passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:4242:4243::/home/alice:/bin/sh\n";
  const char *group = "root:x:0:\nmedia:x:3000:bob,alice\nother:x:3001:bob\nbad:x:oops:alice\n"
                      "alicegrp:x:3002:alicex\n";
  int status;

  if (mkdtemp (root) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  etc = xasprintf ("%s/etc", root);
  mkdir (etc, 0755);
  dfd = open (etc, O_DIRECTORY | O_RDONLY);
  if (ward_create_file_at (dfd, "passwd", passwd, strlen (passwd), 0644, &err) < 0
      || ward_create_file_at (dfd, "group", group, strlen (group), 0644, &err) < 0)
    tap_ok (0, "write etc files: %s", err->msg);
  else
    {
      out = in_child (child_etc_group, root, &status);
      if (strncmp (out, "SKIP", 4) == 0)
        tap_skip (out);
      else
        tap_ok (has (out, "groups 10\n"),
                "only additionalGids: /etc/group memberships are not added (as runc)");
    }
  ward_error_free (&err);
  unlinkat (dfd, "passwd", 0);
  unlinkat (dfd, "group", 0);
  rmdir (etc);
  rmdir (root);
}

/* In a user namespace whose setgroups is "deny", additionalGids are
 * skipped instead of failing (runc). */
static void child_userns (void *arg)
{
  ward_process_t *p = arg;
  ward_error_t *err = NULL;
  char map[32];

  if (unshare (CLONE_NEWUSER) < 0)
    {
      report ("SKIP unshare(CLONE_NEWUSER): %s\n", strerror (errno));
      return;
    }
  snprintf (map, sizeof map, "0 %d 1\n", 0);
  if (ward_write_file_at (AT_FDCWD, "/proc/self/setgroups", "deny", 4, &err) < 0
      || ward_write_file_at (AT_FDCWD, "/proc/self/uid_map", map, strlen (map), &err) < 0
      || ward_write_file_at (AT_FDCWD, "/proc/self/gid_map", map, strlen (map), &err) < 0)
    {
      report ("SKIP id maps: %s\n", err->msg);
      return;
    }
  if (ward_process_setup (p, &err) < 0)
    report ("ERR %s\n", err->msg);
  else
    report ("OK uid=%d\n", (int) getuid ());
}

static void test_setgroups_denied (void)
{
  uint32_t gids[] = { 0 };
  ward_process_t p = { .cwd = "/",
                       .user = { .uid = 0, .gid = 0, .additional_gids = gids,
                                 .additional_gids_len = 1 } };
  int status;
  _cleanup_free_ char *out = in_child (child_userns, &p, &status);

  if (strncmp (out, "SKIP", 4) == 0)
    tap_skip (out);
  else
    tap_ok (has (out, "OK uid=0"), "setgroups skipped where the user namespace denies it");
}

/* CVE-2024-21626: an fd on a host directory leaks into the "container"
 * (a chroot with /proc), and cwd is /proc/self/fd/N. */
static void child_cwd_leak (void *arg)
{
  const char *root = arg;
  _cleanup_free_ char *procdir = xasprintf ("%s/proc", root);
  _cleanup_free_ char *cwd = NULL;
  ward_error_t *err = NULL;
  int leaked;
  ward_process_t p = { 0 };

  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      report ("SKIP unshare/mount: %s\n", strerror (errno));
      return;
    }
  if (mount ("/proc", procdir, NULL, MS_BIND | MS_REC, NULL) < 0)
    {
      report ("SKIP bind /proc: %s\n", strerror (errno));
      return;
    }
  leaked = open (root, O_RDONLY | O_DIRECTORY);
  /* Leak the parent of the new root: outside it. */
  leaked = openat (leaked, "..", O_RDONLY | O_DIRECTORY);
  if (chroot (root) < 0 || chdir ("/") < 0)
    {
      report ("SKIP chroot: %s\n", strerror (errno));
      return;
    }
  /* A missing cwd below the leaked fd must not be created on the host. */
  cwd = xasprintf ("/proc/self/fd/%d/ward-evil-dir", leaked);
  p.cwd = cwd;
  if (ward_process_setup (&p, &err) < 0)
    report ("ERR1 %s\n", err->msg);
  else
    report ("OK1\n");
  ward_error_free (&err);
  free (cwd);
  cwd = xasprintf ("/proc/self/fd/%d", leaked);
  p.cwd = cwd;
  if (ward_process_setup (&p, &err) < 0)
    report ("ERR %s\n", err->msg);
  else
    report ("OK\n");
}

static void test_cwd_leak (void)
{
  char root[] = "/tmp/ward-test-root.XXXXXX";
  _cleanup_free_ char *procdir = NULL;
  _cleanup_free_ char *out = NULL;
  int status;

  if (mkdtemp (root) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  procdir = xasprintf ("%s/proc", root);
  mkdir (procdir, 0755);
  out = in_child (child_cwd_leak, root, &status);
  if (strncmp (out, "SKIP", 4) == 0)
    tap_skip (out);
  else
    {
      tap_ok (has (out, "ERR current working directory is outside of container mount namespace "
                        "root"),
              "cwd through a leaked host fd is refused (CVE-2024-21626)");
      tap_ok (has (out, "ERR1 cwd (\"/proc/self/fd/") && access ("/tmp/ward-evil-dir", F_OK) < 0,
              "a missing cwd below a leaked fd is not created on the host");
      rmdir ("/tmp/ward-evil-dir");
    }
  rmdir (procdir);
  rmdir (root);
}

/* ---- PATH look-up and exec ---------------------------------------------- */

static void test_find_executable (void)
{
  ward_process_t p = { 0 };
  ward_error_t *err = NULL;
  _cleanup_free_ char *path = NULL;

  p.args = (char *[]){ "nope-ward-missing", NULL };
  p.env = (char *[]){ "PATH=/bin:/usr/bin", NULL };
  tap_ok (ward_process_find_executable (&p, &path, &err) < 0 && err
              && strcmp (err->msg, "exec: \"nope-ward-missing\": executable file not found "
                                   "in $PATH") == 0,
          "missing binary: runc's message");
  ward_error_free (&err);

  p.args = (char *[]){ "/etc", NULL };
  tap_ok (ward_process_find_executable (&p, &path, &err) < 0 && err
              && strcmp (err->msg, "exec: \"/etc\": permission denied") == 0,
          "directory: permission denied");
  ward_error_free (&err);

  p.args = (char *[]){ "/etc/hostname-ward-nope", NULL };
  tap_ok (ward_process_find_executable (&p, &path, &err) < 0 && err
              && strcmp (err->msg, "exec: \"/etc/hostname-ward-nope\": stat "
                                   "/etc/hostname-ward-nope: no such file or directory") == 0,
          "absent absolute path names stat's error");
  ward_error_free (&err);

  p.args = (char *[]){ "/etc/passwd", NULL };
  tap_ok (ward_process_find_executable (&p, &path, &err) < 0 && err
              && strcmp (err->msg, "exec: \"/etc/passwd\": permission denied") == 0,
          "non-executable file: permission denied");
  ward_error_free (&err);

  p.args = (char *[]){ "sh", NULL };
  p.env = (char *[]){ "PATH=/nonexistent:/bin", NULL };
  tap_ok (ward_process_find_executable (&p, &path, &err) == 0 && path
              && strcmp (path, "/bin/sh") == 0,
          "PATH from process.env is searched in order");
  free (TAKE_PTR (path));

  p.env = (char *[]){ "FOO=bar", NULL };
  p.args = (char *[]){ "ls", NULL };
  {
    int r = ward_process_find_executable (&p, &path, &err);
    tap_ok (r == 0 && path && (strcmp (path, "/usr/bin/ls") == 0 || strcmp (path, "/bin/ls") == 0),
            "default PATH when env has none (%s)", path ? path : "-");
  }
  free (TAKE_PTR (path));
}

static void test_env (void)
{
  ward_process_t p = { 0 };
  _cleanup_strv_ char **env = NULL;

  p.env = (char *[]){ "A=1", NULL };
  p.user.uid = 0;
  env = ward_process_build_env (&p);
  tap_ok (env[0] && strcmp (env[0], "A=1") == 0 && env[1] && strcmp (env[1], "HOME=/root") == 0
              && env[2] == NULL,
          "HOME from /etc/passwd when absent");
  ward_strv_freep (&env);
  p.user.uid = 4242424;
  env = ward_process_build_env (&p);
  tap_ok (env[1] && strcmp (env[1], "HOME=/") == 0, "HOME=/ for a uid not in /etc/passwd");
  ward_strv_freep (&env);
  p.env = (char *[]){ "HOME=/x", NULL };
  env = ward_process_build_env (&p);
  tap_ok (env[0] && strcmp (env[0], "HOME=/x") == 0 && env[1] == NULL, "HOME kept when set");
}

static void child_exec (void *arg)
{
  ward_error_t *err = NULL;
  ward_process_exec (arg, &err);
  report ("ERR %s\n", err ? err->msg : "?");
  _exit (100);
}

static void test_exec (void)
{
  ward_process_t p = { 0 };
  int status;
  _cleanup_free_ char *out = NULL;

  p.args = (char *[]){ "sh", "-c", "test \"$HOME\" = /root && test \"$X\" = y && exit 7", NULL };
  p.env = (char *[]){ "PATH=/usr/bin:/bin", "X=y", NULL };
  out = in_child (child_exec, &p, &status);
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 7, "exec runs args with env and HOME");
  free (TAKE_PTR (out));
  {
    char bad[] = "/tmp/ward-test-noexec.XXXXXX";
    int fd = mkstemp (bad);
    _cleanup_free_ char *want = xasprintf ("ERR exec %s: exec format error", bad);
    if (fd >= 0 && write (fd, "\x01\x02garbage\n", 10) == 10 && fchmod (fd, 0755) == 0)
      {
        close (fd);
        p.args = (char *[]){ bad, NULL };
        out = in_child (child_exec, &p, &status);
        tap_ok (has (out, want), "execve failure worded as runc: exec PATH: exec format error");
      }
    else
      tap_ok (0, "write %s", bad);
    unlink (bad);
  }
  free (TAKE_PTR (out));
  p.args = (char *[]){ "nope-ward-missing", NULL };
  out = in_child (child_exec, &p, &status);
  tap_ok (has (out, "ERR exec: \"nope-ward-missing\": executable file not found in $PATH"),
          "exec of a missing binary returns the look-up error");
}

/* ---- close_fds ---------------------------------------------------------- */

static void child_close_fds (void *arg)
{
  int keep[] = { 12, 40 };
  ward_error_t *err = NULL;

  for (int fd = 3; fd <= 14; fd++)
    if (fd != report_fd)
      dup2 (0, fd);
  dup2 (0, 40);
  dup2 (0, 41);
  /* The report pipe must survive: move it to a kept slot. */
  dup2 (report_fd, 40);
  report_fd = 40;
  /* arg: deny close_range so the /proc/self/fd walk is exercised. */
  if (arg)
    {
      ward_seccomp_syscall_t r = { .names = (char *[]){ "close_range", NULL }, .names_len = 1,
                                   .action_value = WARD_SECCOMP_ACT_ERRNO,
                                   .has_errno_ret = true, .errno_ret = ENOSYS };
      ward_seccomp_t s = { .default_action_value = WARD_SECCOMP_ACT_ALLOW,
                           .syscalls = &r, .syscalls_len = 1 };
      ward_seccomp_prog_t *prog = NULL;
      if (ward_seccomp_compile (&s, &prog, &err) < 0 || ward_seccomp_load (prog, NULL, NULL, &err) < 0)
        {
          report ("ERR %s\n", err->msg);
          return;
        }
      ward_seccomp_prog_free (prog);
      if (!(syscall (SYS_close_range, 1000, 1001, 0) < 0 && errno == ENOSYS))
        report ("close_range still works ");
    }
  if (ward_process_close_fds (2, keep, 2, &err) < 0)
    {
      report ("ERR %s\n", err->msg);
      return;
    }
  report ("open:");
  for (int fd = 3; fd <= 45; fd++)
    if (fcntl (fd, F_GETFD) >= 0)
      report (" %d", fd);
  report ("\n");
}

static void test_close_fds (void)
{
  int status;
  _cleanup_free_ char *out = in_child (child_close_fds, NULL, &status);

  tap_ok (has (out, "open: 3 4 12 40\n"),
          "close_fds keeps preserved fds 3,4 and keep[] 12,40, closes the rest");
  free (out);
  out = in_child (child_close_fds, "no close_range", &status);
  tap_ok (strncmp (out, "open: 3 4 12 40\n", 16) == 0,
          "same through /proc/self/fd when close_range is denied (%s)", out);
}

/* ---- cpu lists ---------------------------------------------------------- */

static void test_cpu_list (void)
{
  cpu_set_t *set = NULL;
  size_t size = 0;
  ward_error_t *err = NULL;
  const char *bad[] = { "", "a", "1,", "2-1", "1-", "-1", "1;2", "99999" };

  tap_ok (ward_process_parse_cpu_list ("0-2,5", &set, &size, &err) == 0, "parse '0-2,5'");
  tap_ok (set && CPU_ISSET_S (0, size, set) && CPU_ISSET_S (1, size, set)
              && CPU_ISSET_S (2, size, set) && !CPU_ISSET_S (3, size, set)
              && !CPU_ISSET_S (4, size, set) && CPU_ISSET_S (5, size, set)
              && CPU_COUNT_S (size, set) == 4,
          "'0-2,5' is {0,1,2,5}");
  if (set)
    CPU_FREE (set);
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      int r = ward_process_parse_cpu_list (bad[i], &set, &size, &err);
      tap_ok (r < 0 && err && strstr (err->msg, "invalid cpu list"), "'%s' refused", bad[i]);
      ward_error_free (&err);
    }
  tap_ok (ward_process_set_cpu_affinity (0, "0", &err) == 0, "affinity to cpu 0 applies");
  {
    cpu_set_t cur;
    CPU_ZERO (&cur);
    sched_getaffinity (0, sizeof cur, &cur);
    tap_ok (CPU_COUNT (&cur) == 1 && CPU_ISSET (0, &cur), "sched_getaffinity reads {0}");
    /* Restore every cpu for the rest of the tests. */
    for (int c = 0; c < 64; c++)
      CPU_SET (c, &cur);
    sched_setaffinity (0, sizeof cur, &cur);
  }
}

/* ---- terminal ----------------------------------------------------------- */

static int recv_fd (int sock, char *name, size_t name_size)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = name, .iov_len = name_size - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c;
  ssize_t n = recvmsg (sock, &msg, 0);
  int fd = -1;

  if (n < 0)
    return -1;
  name[n] = '\0';
  c = CMSG_FIRSTHDR (&msg);
  if (c && c->cmsg_type == SCM_RIGHTS)
    memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd;
}

static void test_terminal (void)
{
  char sockpath[] = "/tmp/ward-test-console.XXXXXX";
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int lsock = -1, conn = -1, master = -1;
  char name[128] = "", buf[256] = "";
  size_t len = 0;
  pid_t pid;
  int status;

  if (mkdtemp (sockpath) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s/sock", sockpath);
  lsock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (bind (lsock, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lsock, 1) < 0)
    {
      tap_ok (0, "console socket: %s", strerror (errno));
      return;
    }
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      ward_process_t p = { .terminal = true, .has_console_size = true,
                           .console_height = 33, .console_width = 111 };
      ward_error_t *err = NULL;
      struct winsize ws;
      int m = -1;

      /* A private mount namespace: the bind on /dev/console stays here. */
      if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit (10);
      if (ward_terminal_setup_in_init (&p, &m, &err) < 0)
        {
          fprintf (stderr, "# %s\n", err->msg);
          _exit (11);
        }
      if (ward_terminal_send_to_socket (addr.sun_path, m, &err) < 0)
        _exit (12);
      close (m);
      ioctl (0, TIOCGWINSZ, &ws);
      printf ("size=%dx%d tty=%d sid=%d\n", ws.ws_col, ws.ws_row, isatty (1),
              getsid (0) == getpid ());
      fflush (stdout);
      _exit (0);
    }
  conn = accept (lsock, NULL, NULL);
  master = conn >= 0 ? recv_fd (conn, name, sizeof name) : -1;
  tap_ok (master >= 0 && strncmp (name, "/dev/pts/", 9) == 0,
          "master fd received over the console socket with the pty name (%s)", name);
  while (master >= 0 && len < sizeof buf - 1)
    {
      struct pollfd pfd = { .fd = master, .events = POLLIN };
      ssize_t n;
      if (poll (&pfd, 1, 5000) <= 0)
        break;
      n = read (master, buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  waitpid (pid, &status, 0);
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "init side of the terminal succeeds");
  tap_ok (has (buf, "size=111x33 tty=1 sid=1"),
          "consoleSize applied, stdio is the pty, new session");
  unlink (addr.sun_path);
  rmdir (sockpath);
}

/* Socket paths longer than sun_path are reached through /proc/self/fd. */
static void test_long_socket_path (void)
{
  char base[] = "/tmp/ward-test-long.XXXXXX";
  _cleanup_free_ char *dir = NULL;
  _cleanup_free_ char *path = NULL;
  _cleanup_close_ int lsock = -1, conn = -1, got = -1, dfd = -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  ward_error_t *err = NULL;
  char payload[64] = "";
  int r;

  if (mkdtemp (base) == NULL)
    {
      tap_ok (0, "mkdtemp");
      return;
    }
  dir = xasprintf ("%s/%0100d", base, 0);
  path = xasprintf ("%s/console.sock", dir);
  mkdir (dir, 0700);
  dfd = open (dir, O_PATH | O_DIRECTORY);
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/console.sock", dfd);
  lsock = socket (AF_UNIX, SOCK_STREAM, 0);
  if (bind (lsock, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (lsock, 1) < 0)
    {
      tap_ok (0, "bind long path: %s", strerror (errno));
      return;
    }
  r = ward_process_send_fd_to_path (path, 0, "hello", 5, &err);
  conn = accept (lsock, NULL, NULL);
  got = conn >= 0 ? recv_fd (conn, payload, sizeof payload) : -1;
  tap_ok (strlen (path) > sizeof addr.sun_path && r == 0 && got >= 0
              && strcmp (payload, "hello") == 0,
          "fd sent to a %zu-byte socket path", strlen (path));
  ward_error_free (&err);
  unlink (path);
  rmdir (dir);
  rmdir (base);
}

/* The relay copies master output to stdout and returns when the slave side
 * is gone. */
static void test_relay (void)
{
  int out[2], in[2], status;
  _cleanup_close_ int master = -1;
  char name[64];
  pid_t writer, relay;
  char buf[256] = "";
  size_t len = 0;
  ssize_t n;

  master = posix_openpt (O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0
      || ptsname_r (master, name, sizeof name) != 0 || pipe (out) < 0 || pipe (in) < 0)
    {
      tap_skip ("no pty available");
      return;
    }
  fflush (stdout);
  writer = fork ();
  if (writer == 0)
    {
      int s = open (name, O_RDWR | O_NOCTTY);
      struct termios t;
      char got[16] = "";
      tcgetattr (s, &t);
      cfmakeraw (&t);
      tcsetattr (s, TCSANOW, &t);
      /* Echo what came from the relay's stdin, then hang up. */
      if (read (s, got, 3) != 3 || write (s, got, 3) != 3 || write (s, "-bye", 4) != 4)
        _exit (1);
      close (s);
      _exit (0);
    }
  relay = fork ();
  if (relay == 0)
    {
      ward_error_t *err = NULL;
      dup2 (in[0], 0);
      dup2 (out[1], 1);
      close (in[1]);
      close (out[0]);
      alarm (10);
      _exit (ward_terminal_relay (master, &err) == 0 ? 0 : 1);
    }
  close (out[1]);
  close (in[0]);
  if (write (in[1], "abc", 3) != 3)
    tap_diag ("write to relay stdin failed");
  close (in[1]);
  while ((n = read (out[0], buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t) n;
  close (out[0]);
  waitpid (writer, &status, 0);
  waitpid (relay, &status, 0);
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "relay returns 0 on hang-up");
  tap_ok (has (buf, "abc-bye"), "relay copies stdin to the master and the master to stdout");
}

static bool wait_for (bool (*cond) (int, int, int), int fd, int a, int b)
{
  for (int i = 0; i < 200; i++)
    {
      if (cond (fd, a, b))
        return true;
      usleep (10000);
    }
  return false;
}

static bool is_raw (int fd, int want_raw, int unused)
{
  struct termios t;
  (void) unused;
  return tcgetattr (fd, &t) == 0 && (!(t.c_lflag & ICANON)) == !!want_raw;
}

static bool has_size (int fd, int rows, int cols)
{
  struct winsize ws;
  return ioctl (fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row == rows && ws.ws_col == cols;
}

/* With a terminal on stdin the relay switches it to raw mode, copies its
 * size to the container's pty, forwards SIGWINCH and restores the mode. */
static void test_relay_tty (void)
{
  _cleanup_close_ int am = -1, as = -1, bm = -1, bs = -1;
  struct winsize ws = { .ws_row = 10, .ws_col = 20 };
  pid_t pid;
  int status;
  bool raw, size0, size1;

  if (openpty (&am, &as, NULL, NULL, NULL) < 0 || openpty (&bm, &bs, NULL, NULL, NULL) < 0)
    {
      tap_skip ("openpty failed: no ptys here");
      return;
    }
  ioctl (as, TIOCSWINSZ, &ws);
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      ward_error_t *err = NULL;
      close (bs);
      dup2 (as, 0);
      dup2 (as, 1);
      alarm (10);
      _exit (ward_terminal_relay (bm, &err) == 0 ? 0 : 1);
    }
  raw = wait_for (is_raw, as, 1, 0);
  size0 = wait_for (has_size, bs, 10, 20);
  ws.ws_row = 30, ws.ws_col = 90;
  ioctl (as, TIOCSWINSZ, &ws);
  kill (pid, SIGWINCH);
  size1 = wait_for (has_size, bs, 30, 90);
  close (TAKE_FD (bs));
  waitpid (pid, &status, 0);
  tap_ok (raw, "relay puts the controlling terminal in raw mode");
  tap_ok (size0, "relay copies the terminal size to the container pty");
  tap_ok (size1, "SIGWINCH forwards the new size");
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0 && is_raw (as, 0, 0),
          "relay returns when the pty hangs up and restores the terminal mode");
}

static void child_label_setup (void *arg)
{
  ward_process_t *p = arg;
  ward_error_t *err = NULL;
  if (ward_process_setup (p, &err) < 0)
    {
      report ("ERR %s\n", err->msg);
      ward_error_free (&err);
      return;
    }
  report ("OK\n");
}

/* runc refuses a label the host cannot apply; so does ward, naming it. */
static void test_labels_refused (void)
{
  static const char *const lsm_present[] = { "/sys/module/apparmor/parameters/enabled",
                                             "/sys/fs/selinux/enforce" };
  ward_process_t aa = { .cwd = "/", .apparmor_profile = "ward-test-profile" };
  ward_process_t se = { .cwd = "/", .selinux_label = "system_u:system_r:container_t:s0" };
  _cleanup_free_ char *out_aa = NULL;
  _cleanup_free_ char *out_se = NULL;
  int status;

  for (size_t i = 0; i < ARRAY_SIZE (lsm_present); i++)
    if (access (lsm_present[i], F_OK) == 0)
      {
        tap_skip ("this host has an LSM that could apply the labels");
        tap_skip ("this host has an LSM that could apply the labels");
        return;
      }
  out_aa = in_child (child_label_setup, &aa, &status);
  tap_ok (strstr (out_aa, "ERR apparmor profile \"ward-test-profile\" is specified in config") != NULL,
          "an apparmor profile without AppArmor is refused, naming the profile");
  out_se = in_child (child_label_setup, &se, &status);
  tap_ok (strstr (out_se, "ERR selinux label \"system_u:system_r:container_t:s0\" is specified") != NULL,
          "an selinux label without SELinux is refused, naming the label");
}

int main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root (setresuid, capabilities, mounts)\n");
      return 77;
    }
  struct stat null_before, null_after;
  int null_ok = stat ("/dev/null", &null_before);
  test_full_setup ();
  test_labels_refused ();
  test_defaults ();
  test_personality ();
  test_rlimit_refused ();
  test_cwd ();
  test_cwd_leak ();
  test_setgroups_denied ();
  test_etc_group ();
  test_find_executable ();
  test_env ();
  test_exec ();
  test_close_fds ();
  test_cpu_list ();
  test_terminal ();
  test_long_socket_path ();
  test_relay ();
  test_relay_tty ();
  /* runc #3674: handing stdio to the container user must skip the null
   * device, or the host's /dev/null ends up owned by that user. */
  tap_ok (null_ok == 0 && stat ("/dev/null", &null_after) == 0 && null_after.st_uid == null_before.st_uid
              && null_after.st_gid == null_before.st_gid,
          "the host's /dev/null keeps its owner after the user switches");
  return tap_done ();
}
