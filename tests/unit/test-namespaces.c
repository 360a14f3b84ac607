/* Unit tests for namespaces/: the mount option table, sysctl validation,
 * clone flags, and — as root — a real rootfs set up in a child with its own
 * mount namespace from a busybox image, checked from inside. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"
#include "tests/unit/tap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define TMPFS_MAGIC_ 0x01021994

/* ---- pure functions ------------------------------------------------------ */

static void test_mount_options (void)
{
  char *opts[] = { "ro",        "nosuid",  "nodev",    "rbind",      "rslave",
                   "size=65536k", "mode=755", "rro",     "rnoatime",   "idmap",
                   "tmpcopyup", "private", "strictatime", NULL };
  char *opts2[] = { "ro", "rw", "suid", "nosuid", "exec", "defaults", "remount", NULL };
  ward_mount_options_t mo;
  ward_error_t *err = NULL;

  tap_ok (ward_mount_options_parse (opts, &mo, &err) == 0, "parse a full option list");
  tap_ok ((mo.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_BIND | MS_REC | MS_STRICTATIME))
              == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_BIND | MS_REC | MS_STRICTATIME),
          "ro,nosuid,nodev,rbind,strictatime set their MS_ flags");
  tap_ok (mo.propagation_len == 2 && mo.propagation[0] == (MS_SLAVE | MS_REC)
              && mo.propagation[1] == MS_PRIVATE,
          "propagation flags kept in order");
  tap_is_str (mo.data, "size=65536k,mode=755", "unknown options become filesystem data");
  tap_ok (mo.rec_attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME)
              && (mo.rec_attr_clr & MOUNT_ATTR__ATIME),
          "rro and rnoatime map to mount_setattr attributes");
  tap_ok (mo.idmap && !mo.ridmap && mo.tmpcopyup, "idmap and tmpcopyup recognised");
  ward_mount_options_free (&mo);

  tap_ok (ward_mount_options_parse (opts2, &mo, &err) == 0, "parse clearing options");
  tap_ok (!(mo.flags & MS_RDONLY) && (mo.clear_flags & MS_RDONLY), "rw after ro clears MS_RDONLY");
  tap_ok ((mo.flags & MS_NOSUID) && !(mo.clear_flags & MS_NOSUID), "last of suid/nosuid wins");
  tap_ok ((mo.clear_flags & MS_NOEXEC) && (mo.flags & MS_REMOUNT), "exec clears, remount sets");
  tap_ok (mo.data == NULL, "no data when every option is known");
  ward_mount_options_free (&mo);

  tap_ok (ward_mount_options_parse (NULL, &mo, &err) == 0 && mo.flags == 0, "NULL options");
  {
    char *many[] = { "shared", "slave", "private", "shared", "slave", "private", "shared",
                     "slave", "unbindable", NULL };
    tap_ok (ward_mount_options_parse (many, &mo, &err) < 0 && err
                && strstr (err->msg, "too many propagation flags"),
            "too many propagation flags refused");
    ward_error_free (&err);
  }
  tap_ok (ward_mount_propagation_flag ("rshared") == (MS_SHARED | MS_REC)
              && ward_mount_propagation_flag ("bogus") == 0,
          "rootfsPropagation names");
  ward_error_free (&err);
}

static ward_namespace_t test_ns[8];

static void config_with_ns (ward_config_t *cfg, ward_linux_t *l, const ward_ns_type_t *types,
                            size_t n)
{
  memset (cfg, 0, sizeof *cfg);
  memset (l, 0, sizeof *l);
  memset (test_ns, 0, sizeof test_ns);
  for (size_t i = 0; i < n; i++)
    test_ns[i].type = types[i];
  l->namespaces = test_ns;
  l->namespaces_len = n;
  cfg->linux_ = l;
}

static int sysctl_check (ward_config_t *cfg, const char *key, char **msg)
{
  ward_kv_t kv = { (char *) key, "1" };
  ward_error_t *err = NULL;
  int ret;
  cfg->linux_->sysctl = &kv;
  cfg->linux_->sysctl_len = 1;
  ret = ward_sysctl_validate (cfg, &err);
  *msg = err ? xstrdup (err->msg) : NULL;
  ward_error_free (&err);
  cfg->linux_->sysctl = NULL;
  cfg->linux_->sysctl_len = 0;
  return ret;
}

static void test_sysctl_and_flags (void)
{
  static const ward_ns_type_t all[] = { WARD_NS_PID, WARD_NS_NETWORK, WARD_NS_IPC, WARD_NS_UTS,
                                        WARD_NS_MOUNT, WARD_NS_TIME };
  static const ward_ns_type_t none[] = { WARD_NS_MOUNT };
  ward_config_t cfg;
  ward_linux_t l;
  ward_error_t *err = NULL;
  char *msg = NULL;
  int ret;

  config_with_ns (&cfg, &l, all, ARRAY_SIZE (all));
  tap_ok (ward_ns_clone_flags (&cfg)
              == (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS),
          "clone flags for new namespaces (time excluded)");
  test_ns[1].path = "/proc/self/ns/net";
  tap_ok (!(ward_ns_clone_flags (&cfg) & CLONE_NEWNET), "a namespace with a path is joined");

  tap_ok (sysctl_check (&cfg, "kernel.shmmax", &msg) == 0, "kernel.shmmax with ipc ns");
  free (msg);
  tap_ok (sysctl_check (&cfg, "fs/mqueue/msg_max", &msg) == 0, "slash form fs/mqueue/msg_max");
  free (msg);
  ret = sysctl_check (&cfg, "net.ipv4.ip_forward", &msg);
  tap_ok (ret < 0 && msg && strstr (msg, "not allowed in host network namespace"),
          "net.* refused when the netns path is our own (%s)", msg ? msg : "");
  free (msg);
  test_ns[1].path = NULL;
  tap_ok (sysctl_check (&cfg, "net.ipv4.ip_forward", &msg) == 0, "net.* with a new netns");
  free (msg);
  tap_ok (sysctl_check (&cfg, "kernel.domainname", &msg) == 0, "kernel.domainname with uts ns");
  free (msg);
  tap_ok (sysctl_check (&cfg, "kernel.hostname", &msg) < 0 && msg
              && strstr (msg, "conflicts with the OCI \"hostname\" field"),
          "kernel.hostname conflicts with hostname");
  free (msg);
  ret = sysctl_check (&cfg, "kernel/../../etc/x", &msg);
  tap_ok (ret < 0 && msg && strstr (msg, "invalid key"), "sysctl key with \"..\" refused");
  free (msg);
  sysctl_check (&cfg, "vm.foo", &msg);
  tap_is_str (msg, "sysctl \"vm.foo\" is not in a separate kernel namespace", "vm.* refused");
  free (msg);

  config_with_ns (&cfg, &l, none, ARRAY_SIZE (none));
  sysctl_check (&cfg, "kernel.msgmax", &msg);
  tap_is_str (msg, "sysctl \"kernel.msgmax\" is not allowed in the hosts ipc namespace",
              "ipc sysctl without ipc ns");
  free (msg);
  sysctl_check (&cfg, "net.core.somaxconn", &msg);
  tap_is_str (msg, "sysctl \"net.core.somaxconn\" is not allowed in the hosts network namespace",
              "net sysctl without netns");
  free (msg);
  cfg.hostname = "box";
  tap_ok (ward_sysctl_validate (&cfg, &err) < 0 && err
              && strcmp (err->msg, "unable to set hostname without a private UTS namespace") == 0,
          "hostname needs a UTS namespace");
  ward_error_free (&err);
  tap_ok (ward_ns_set_hostname (&cfg, &err) < 0, "set_hostname refuses without UTS ns");
  ward_error_free (&err);
}

/* ---- helpers for the root tests ---------------------------------------- */

static char tmpdir[64];
/* Every rootfs config needs a mount namespace: setup is a no-op without. */
static ward_namespace_t mnt_ns = { WARD_NS_MOUNT, NULL };
static ward_linux_t mnt_linux = { .namespaces = &mnt_ns, .namespaces_len = 1 };
static bool host_cgroup_v2;
static bool idmap_ok;

static int rm_cb (const char *p, const struct stat *st, int type, struct FTW *f)
{
  (void) st, (void) type, (void) f;
  remove (p);
  return 0;
}

static void write_file (const char *path, const char *data)
{
  ward_error_t *err = NULL;
  if (ward_create_file_at (AT_FDCWD, path, data, strlen (data), 0644, &err) < 0)
    {
      tap_diag ("write %s: %s", path, err->msg);
      ward_error_free (&err);
    }
}

static int copy_file (const char *from, const char *to, mode_t mode)
{
  _cleanup_close_ int in = open (from, O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int out = open (to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  char buf[65536];
  ssize_t r;
  if (in < 0 || out < 0)
    return -1;
  while ((r = read (in, buf, sizeof buf)) > 0)
    if (ward_write_all (out, buf, (size_t) r) < 0)
      return -1;
  return r < 0 ? -1 : 0;
}

static char *path_in (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static char *path_in (const char *fmt, ...)
{
  va_list ap;
  char *rel, *full;
  va_start (ap, fmt);
  if (vasprintf (&rel, fmt, ap) < 0)
    abort ();
  va_end (ap);
  full = xasprintf ("%s/%s", tmpdir, rel);
  free (rel);
  return full;
}

static int make_rootfs (const char *name)
{
  _cleanup_free_ char *root = path_in ("%s", name);
  _cleanup_free_ char *bin = path_in ("%s/bin", name);
  _cleanup_free_ char *bb = path_in ("%s/bin/busybox", name);
  _cleanup_free_ char *sh = path_in ("%s/bin/sh", name);
  _cleanup_free_ char *etc = path_in ("%s/etc", name);
  _cleanup_free_ char *marker = path_in ("%s/.ward-rootfs", name);
  if (mkdir (root, 0755) < 0 || mkdir (bin, 0755) < 0 || mkdir (etc, 0755) < 0)
    return -1;
  if (copy_file ("/bin/busybox", bb, 0755) < 0 || symlink ("busybox", sh) < 0)
    return -1;
  write_file (marker, "rootfs\n");
  return 0;
}

/* Child side of the report pipe: one line per check, "1 text" or "0 text". */
static int report_fd = -1;
static void report (int ok, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void report (int ok, const char *fmt, ...)
{
  char line[512];
  va_list ap;
  int n = snprintf (line, sizeof line, "%d ", ok ? 1 : 0);
  va_start (ap, fmt);
  n += vsnprintf (line + n, sizeof line - (size_t) n - 1, fmt, ap);
  va_end (ap);
  if (n > (int) sizeof line - 2)
    n = (int) sizeof line - 2;
  for (int i = 0; i < n; i++)
    if (line[i] == '\n')
      line[i] = ' ';
  line[n++] = '\n';
  if (ward_write_all (report_fd, line, (size_t) n) < 0)
    _exit (3);
}

extern int __lsan_do_recoverable_leak_check (void) __attribute__ ((weak));

/* Runs fn in a child with fresh mount/ipc/uts namespaces and turns its
 * report lines into TAP results. */
static void run_child (const char *what, void (*fn) (void *), void *data)
{
  int p[2], status = 0;
  pid_t pid;
  FILE *f;
  char line[600];
  int lines = 0;

  if (pipe (p) < 0)
    {
      tap_ok (0, "%s: pipe: %s", what, strerror (errno));
      return;
    }
  fflush (stdout);
  pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      report_fd = p[1];
      /* rslave before anything: no test mount may reach the host's
       * namespace through a shared "/". */
      if (unshare (CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0
          || mount (NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        {
          report (0, "unshare: %s", strerror (errno));
          _exit (1);
        }
      fn (data);
      /* Under LeakSanitizer, what the library allocated in the child must
       * be freed too; _exit skips the at-exit check otherwise. */
      if (__lsan_do_recoverable_leak_check)
        report (__lsan_do_recoverable_leak_check () == 0, "no leaks in the child");
      _exit (0);
    }
  close (p[1]);
  f = fdopen (p[0], "r");
  while (f && fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\n")] = '\0';
      tap_ok (line[0] == '1', "%s: %s", what, line + 2);
      lines++;
    }
  if (f)
    fclose (f);
  waitpid (pid, &status, 0);
  tap_ok (lines > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
          "%s: child exited cleanly (status %d)", what, status);
}

/* ---- the full rootfs --------------------------------------------------- */

static char *o_proc[] = { "nosuid", "noexec", "nodev", NULL };
static char *o_dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
static char *o_pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
static char *o_mq[] = { "nosuid", "noexec", "nodev", NULL };
static char *o_sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
static char *o_cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
static char *o_tmp[] = { "size=1m", NULL };
static char *o_robind[] = { "rbind", "ro", "nosuid", NULL };
static char *o_bind[] = { "bind", NULL };
static char *o_idmap[] = { "bind", "idmap", NULL };
static char *o_copyup[] = { "tmpcopyup", "ro", "mode=0700", NULL };
static char *o_rro[] = { "rbind", "rro", "rnosuid", "rshared", NULL };

struct rootfs_case
{
  ward_config_t cfg;
  ward_linux_t linux_;
  ward_root_t root;
  ward_rootfs_opts_t opts;
  const char *host_target; /* absolute host dir the evil symlink points at */
  bool full;
};

static int check_before_pivot (void *data, ward_error_t **err)
{
  struct rootfs_case *c = data;
  _cleanup_free_ char *marker = xasprintf ("%s/host-marker", c->host_target);
  _cleanup_free_ char *inside = xasprintf (".%s/host-marker", c->host_target);
  struct statfs sf;
  char cwd[4096];

  (void) err;
  report (getcwd (cwd, sizeof cwd) && strcmp (cwd, c->opts.rootfs) == 0,
          "before_pivot runs with the cwd at the rootfs (%s)", cwd);
  /* The symlink-escape regression: the tmpfs for /evil must not cover the
   * host directory the symlink names. */
  report (access (marker, F_OK) == 0, "host dir behind the evil symlink is not mounted over");
  report (access (inside, F_OK) < 0 && errno == ENOENT,
          "no host marker visible at the in-rootfs target");
  {
    _cleanup_free_ char *dir = xasprintf (".%s", c->host_target);
    report (statfs (dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC_,
            "rootfs%s is the tmpfs mount", c->host_target);
  }
  return 0;
}

static bool mountinfo_has (const char *mountpoint, const char *fstype)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_free_ char *needle = xasprintf (" %s ", mountpoint);
  _cleanup_free_ char *fs = xasprintf (" - %s ", fstype);
  ward_error_t *err = NULL;
  char *save = NULL;
  if (ward_read_file_at (AT_FDCWD, "/proc/self/mountinfo", &data, NULL, 0, &err) < 0)
    {
      ward_error_free (&err);
      return false;
    }
  for (char *l = strtok_r (data, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    if (strstr (l, needle) && strstr (l, fs))
      return true;
  return false;
}

static void rootfs_child (void *data)
{
  struct rootfs_case *c = data;
  ward_error_t *err = NULL;
  struct stat st;
  char buf[64];
  int fd, ret;
  _cleanup_close_ int tmpfd = -1;

  if (c->opts.no_pivot)
    {
      /* A procfs outside the rootfs, reachable later through a kept fd. */
      _cleanup_free_ char *hostproc = path_in ("hostproc");
      mkdir (hostproc, 0755);
      ret = mount ("proc", hostproc, "proc", 0, NULL);
      report (ret == 0, "mount a procfs outside the rootfs");
      tmpfd = open (tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
  ret = ward_rootfs_setup (&c->opts, &err);
  report (ret == 0, "ward_rootfs_setup succeeds%s%s", err ? ": " : "", err ? err->msg : "");
  if (ret < 0)
    _exit (1);
  report (access ("/.ward-rootfs", F_OK) == 0, "\"/\" is the rootfs");
  report (access ("/etc/debian_version", F_OK) < 0, "host files are not visible");
  report (getcwd (buf, sizeof buf) && strcmp (buf, "/") == 0, "cwd is the new \"/\"");
  report (mountinfo_has ("/proc", "proc"), "/proc is a proc mount");
  report (access ("/proc/self/status", R_OK) == 0, "/proc/self/status readable");
  report (readlink ("/proc/self/root", buf, sizeof buf) > 0, "/proc/self/root resolves");
  if (c->opts.no_pivot)
    {
      report (c->cfg.root->readonly && mkdir ("/newdir", 0755) < 0 && errno == EROFS,
              "root.readonly: mkdir in / fails with EROFS");
      report (stat ("/dev/console", &st) == 0 && S_ISREG (st.st_mode),
              "an image's /dev/console device node is replaced by a file");
      report (stat ("/dev/zero", &st) == 0 && S_ISCHR (st.st_mode),
              "devices created on the image's /dev without a tmpfs");
      fd = openat (tmpfd, "hostproc/self", O_PATH | O_CLOEXEC);
      report (fd < 0 && errno == ENOENT,
              "--no-pivot detaches proc mounts outside the rootfs (runc's msMoveRoot)");
      if (fd >= 0)
        close (fd);
      return;
    }
  report (stat ("/dev/null", &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3)
              && (st.st_mode & 0777) == 0666,
          "/dev/null is the null char device, mode 0666");
  report (stat ("/dev/tty", &st) == 0 && S_ISCHR (st.st_mode), "/dev/tty exists");
  report (readlink ("/dev/ptmx", buf, sizeof buf) == 8 && memcmp (buf, "pts/ptmx", 8) == 0,
          "/dev/ptmx -> pts/ptmx");
  report (readlink ("/dev/fd", buf, sizeof buf) == 13 && memcmp (buf, "/proc/self/fd", 13) == 0,
          "/dev/fd -> /proc/self/fd");
  report (lstat ("/dev/stderr", &st) == 0 && S_ISLNK (st.st_mode), "/dev/stderr symlink");
  report (stat ("/dev/console", &st) == 0 && S_ISREG (st.st_mode), "/dev/console created");
  report (stat ("/dev/kmsg-test", &st) == 0 && S_ISCHR (st.st_mode)
              && st.st_rdev == makedev (1, 11) && (st.st_mode & 0777) == 0600 && st.st_uid == 7,
          "linux.devices node with mode and uid");
  fd = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  report (fd >= 0, "/dev/ptmx opens on the new devpts instance");
  if (fd >= 0)
    close (fd);
  report (mountinfo_has ("/dev/mqueue", "mqueue"), "/dev/mqueue mounted");
  report (mountinfo_has ("/sys", "sysfs"), "/sys mounted");
  report (mkdir ("/sys/ward-test", 0755) < 0 && errno == EROFS, "/sys is read-only");
  if (host_cgroup_v2)
    report (access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0,
            "/sys/fs/cgroup is a cgroup2 mount");
  else
    {
      report (stat ("/sys/fs/cgroup/memory", &st) == 0 && S_ISDIR (st.st_mode),
              "/sys/fs/cgroup/memory present (v1 hierarchy bound)");
      report (access ("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0,
              "own memory cgroup visible");
    }
  report (mkdir ("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS, "/sys/fs/cgroup read-only");
  /* Bind sources come from the host, relative to the bundle. */
  report (access ("/mnt/ro/src-marker", F_OK) == 0, "relative bind source resolved in the bundle");
  fd = open ("/mnt/ro/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  report (fd < 0 && errno == EROFS, "ro bind is read-only (EROFS)");
  if (fd >= 0)
    close (fd);
  report (stat ("/etc/hostsfile", &st) == 0 && S_ISREG (st.st_mode), "file bind onto a file");
  fd = open ("/mnt/rro/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  report (fd < 0 && errno == EROFS, "rro: recursive read-only via mount_setattr");
  if (fd >= 0)
    close (fd);
  {
    _cleanup_free_ char *mi = NULL;
    char *line;
    ward_read_file_at (AT_FDCWD, "/proc/self/mountinfo", &mi, NULL, 0, &err);
    ward_error_free (&err);
    line = mi ? strstr (mi, " /mnt/rro ") : NULL;
    if (line)
      line[strcspn (line, "\n")] = '\0';
    report (line && strstr (line, "shared:") && strstr (line, "nosuid"),
            "rshared and rnosuid applied to the bind (%s)", line ? line : "missing");
  }
  {
    struct statfs sf;
    _cleanup_free_ char *v = NULL;
    ward_read_file_at (AT_FDCWD, "/var/copied/deep", &v, NULL, 0, &err);
    ward_error_free (&err);
    report (statfs ("/var", &sf) == 0 && sf.f_type == TMPFS_MAGIC_ && v && strcmp (v, "deep\n") == 0,
            "tmpcopyup: /var is a tmpfs holding the image's files");
    report (readlink ("/var/link", buf, sizeof buf) == 6 && memcmp (buf, "copied", 6) == 0,
            "tmpcopyup copies symlinks");
    report (stat ("/var/copied", &st) == 0 && (st.st_mode & 0777) == 0750,
            "tmpcopyup keeps modes");
    report (mkdir ("/var/x", 0755) < 0 && errno == EROFS, "tmpcopyup with ro ends read-only");
  }
  /* Masked and read-only paths. */
  fd = open ("/etc/secret", O_RDONLY | O_CLOEXEC);
  report (fd >= 0 && read (fd, buf, sizeof buf) == 0, "masked file reads empty (/dev/null)");
  if (fd >= 0)
    close (fd);
  report (access ("/masked-dir/inner", F_OK) < 0 && errno == ENOENT, "masked dir hides content");
  report (mkdir ("/masked-dir/x", 0755) < 0 && errno == EROFS, "masked dir is read-only");
  report (mkdir ("/ro-dir/x", 0755) < 0 && errno == EROFS, "readonly path gives EROFS");
  fd = open ("/ro-file", O_WRONLY | O_CLOEXEC);
  report (fd < 0 && errno == EROFS, "readonly path on a file gives EROFS");
  if (fd >= 0)
    close (fd);
  report (mkdir ("/rw-dir", 0755) == 0, "the rest of the rootfs stays writable");
  {
    struct statfs sf;
    report (statfs ("/mnt/dotdot", &sf) == 0 && sf.f_type == TMPFS_MAGIC_,
            "\"/../../mnt/dotdot\" stays inside the rootfs");
  }
  /* sysctl and hostname in the new ipc/uts namespaces. */
  ret = ward_sysctl_apply (&c->cfg, &err);
  report (ret == 0, "ward_sysctl_apply%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  {
    _cleanup_free_ char *v = NULL;
    ward_read_file_at (AT_FDCWD, "/proc/sys/kernel/shmmni", &v, NULL, 0, &err);
    ward_error_free (&err);
    report (v && strcmp (v, "1234\n") == 0, "kernel.shmmni written (%s)", v ? v : "");
  }
  ret = ward_ns_set_hostname (&c->cfg, &err);
  ward_error_free (&err);
  report (ret == 0 && gethostname (buf, sizeof buf) == 0 && strcmp (buf, "ward-box") == 0,
          "hostname set");
  if (c->cfg.mounts_len > 12)
    {
      memset (&st, 0, sizeof st);
      ret = stat ("/mnt/idmapped/owned-by-root", &st);
      report (ret == 0 && st.st_uid == 1000 && st.st_gid == 1000,
              "idmapped bind shows uid 0 as 1000 (uid %u)", (unsigned) st.st_uid);
    }
  {
    pid_t pid = fork ();
    int status = -1;
    if (pid == 0)
      {
        execl ("/bin/sh", "sh", "-c", "test -d /proc/1 && echo hi > /dev/null", (char *) NULL);
        _exit (127);
      }
    waitpid (pid, &status, 0);
    report (WIFEXITED (status) && WEXITSTATUS (status) == 0, "busybox sh runs in the new root");
  }
}

static void setup_full_case (struct rootfs_case *c, ward_mount_t *mounts, size_t *nmounts,
                             bool idmap_ok)
{
  static ward_device_t dev;
  static ward_kv_t sysctl = { "kernel.shmmni", "1234" };
  static char *masked[] = { "/etc/secret", "/masked-dir", "/does/not/exist", NULL };
  static char *ro[] = { "/ro-dir", "/missing-too", "/ro-file", NULL };
  static ward_id_mapping_t idm = { 0, 1000, 1 };
  static ward_namespace_t ns[] = { { WARD_NS_MOUNT, NULL }, { WARD_NS_IPC, NULL },
                                   { WARD_NS_UTS, NULL } };
  static char evil_dest[] = "/evil";
  size_t n = 0;

  dev = (ward_device_t){ .type = "c", .path = "/dev/kmsg-test", .major = 1, .minor = 11,
                         .has_file_mode = true, .file_mode = 0600, .has_uid = true, .uid = 7 };
  mounts[n++] = (ward_mount_t){ .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  mounts[n++] = (ward_mount_t){ .destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = o_dev };
  mounts[n++] = (ward_mount_t){ .destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = o_pts };
  mounts[n++] = (ward_mount_t){ .destination = "/dev/mqueue", .type = "mqueue", .source = "mqueue", .options = o_mq };
  mounts[n++] = (ward_mount_t){ .destination = "/sys", .type = "sysfs", .source = "sysfs", .options = o_sys };
  mounts[n++] = (ward_mount_t){ .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = o_cg };
  mounts[n++] = (ward_mount_t){ .destination = evil_dest, .type = "tmpfs", .source = "tmpfs", .options = o_tmp };
  mounts[n++] = (ward_mount_t){ .destination = "/mnt/ro", .type = "bind", .source = "bindsrc", .options = o_robind };
  mounts[n++] = (ward_mount_t){ .destination = "/etc/hostsfile", .type = "bind", .source = "hosts-file", .options = o_bind };
  mounts[n++] = (ward_mount_t){ .destination = "/../../mnt/dotdot", .type = "tmpfs", .source = "tmpfs", .options = NULL };
  mounts[n++] = (ward_mount_t){ .destination = "/var", .type = "tmpfs", .source = "tmpfs", .options = o_copyup };
  mounts[n++] = (ward_mount_t){ .destination = "/mnt/rro", .type = "bind", .source = "bindsrc", .options = o_rro };
  if (idmap_ok)
    mounts[n++] = (ward_mount_t){ .destination = "/mnt/idmapped", .type = "bind", .source = "idsrc",
                                  .options = o_idmap, .uid_mappings = &idm, .uid_mappings_len = 1,
                                  .gid_mappings = &idm, .gid_mappings_len = 1 };
  *nmounts = n;
  c->linux_.namespaces = ns;
  c->linux_.namespaces_len = ARRAY_SIZE (ns);
  c->linux_.devices = &dev;
  c->linux_.devices_len = 1;
  c->linux_.sysctl = &sysctl;
  c->linux_.sysctl_len = 1;
  c->linux_.masked_paths = masked;
  c->linux_.masked_paths_len = 3;
  c->linux_.readonly_paths = ro;
  c->linux_.readonly_paths_len = 3;
  c->cfg.mounts = mounts;
  c->cfg.mounts_len = n;
  c->cfg.hostname = "ward-box";
  c->opts.create_console = true;
}

/* Idmapped mounts need filesystem support (tmpfs only since Linux 6.3). */
static bool idmap_supported (const char *dir)
{
  static ward_id_mapping_t idm = { 0, 1000, 1 };
  _cleanup_close_ int tree = open_tree (AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  _cleanup_close_ int userns = -1;
  ward_error_t *err = NULL;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };

  if (tree < 0)
    return false;
  userns = ward_ns_userns_fd_for_maps (&idm, 1, &idm, 1, &err);
  ward_error_free (&err);
  if (userns < 0)
    return false;
  attr.userns_fd = (uint64_t) userns;
  return mount_setattr (tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0;
}

static void test_rootfs (void)
{
  struct rootfs_case c;
  ward_mount_t mounts[16];
  size_t n = 0;
  _cleanup_free_ char *rootfs = path_in ("rootfs");
  _cleanup_free_ char *host_target = path_in ("host-target");
  _cleanup_free_ char *host_marker = path_in ("host-target/host-marker");
  _cleanup_free_ char *evil = path_in ("rootfs/evil");
  _cleanup_free_ char *bindsrc = path_in ("bindsrc");
  _cleanup_free_ char *srcmarker = path_in ("bindsrc/src-marker");
  _cleanup_free_ char *hostsfile = path_in ("hosts-file");
  _cleanup_free_ char *secret = path_in ("rootfs/etc/secret");
  _cleanup_free_ char *mdir = path_in ("rootfs/masked-dir");
  _cleanup_free_ char *minner = path_in ("rootfs/masked-dir/inner");
  _cleanup_free_ char *rodir = path_in ("rootfs/ro-dir");
  _cleanup_free_ char *idsrc = path_in ("idsrc");
  _cleanup_free_ char *idfile = path_in ("idsrc/owned-by-root");

  if (make_rootfs ("rootfs") < 0)
    {
      tap_ok (0, "build busybox rootfs: %s", strerror (errno));
      return;
    }
  mkdir (host_target, 0755);
  write_file (host_marker, "host\n");
  /* rootfs/evil -> <tmp>/host-target, an absolute path that exists on the host. */
  tap_ok (symlink (host_target, evil) == 0, "evil symlink planted");
  mkdir (bindsrc, 0755);
  write_file (srcmarker, "x");
  write_file (hostsfile, "127.0.0.1 localhost\n");
  write_file (secret, "top secret\n");
  {
    _cleanup_free_ char *var = path_in ("rootfs/var");
    _cleanup_free_ char *copied = path_in ("rootfs/var/copied");
    _cleanup_free_ char *deep = path_in ("rootfs/var/copied/deep");
    _cleanup_free_ char *link = path_in ("rootfs/var/link");
    mkdir (var, 0755);
    mkdir (copied, 0750);
    chmod (copied, 0750);
    write_file (deep, "deep\n");
    symlink ("copied", link);
  }
  mkdir (mdir, 0755);
  write_file (minner, "x");
  mkdir (rodir, 0755);
  {
    _cleanup_free_ char *rofile = path_in ("rootfs/ro-file");
    write_file (rofile, "x");
  }
  mkdir (idsrc, 0755);
  write_file (idfile, "x");

  memset (&c, 0, sizeof c);
  c.cfg.linux_ = &c.linux_;
  c.cfg.root = &c.root;
  c.root.path = "rootfs";
  c.opts.config = &c.cfg;
  c.opts.bundle = tmpdir;
  c.opts.rootfs = rootfs;
  c.opts.before_pivot = check_before_pivot;
  c.opts.before_pivot_data = &c;
  c.host_target = host_target;
  {
    idmap_ok = idmap_supported (idsrc);
    if (!idmap_ok)
      tap_skip ("idmapped mounts: the filesystem of the test dir does not support them");
    setup_full_case (&c, mounts, &n, idmap_ok);
  }
  run_child ("rootfs", rootfs_child, &c);
  tap_ok (access (host_marker, F_OK) == 0, "host target still holds its marker afterwards");
}

/* CVE-2019-19921: /proc as a symlink must be refused, naming the path. */
static void proc_symlink_child (void *data)
{
  ward_rootfs_opts_t *opts = data;
  ward_error_t *err = NULL;
  int ret = ward_rootfs_setup (opts, &err);
  report (ret < 0, "setup refused when /proc is a symlink");
  report (err && strstr (err->msg, "mount \"proc\" to \"/proc\"") && strstr (err->msg, "symlink"),
          "error names the mount: %s", err ? err->msg : "(none)");
  ward_error_free (&err);
}

static void test_proc_symlink (void)
{
  _cleanup_free_ char *rootfs = path_in ("rootfs-proc");
  _cleanup_free_ char *proc = path_in ("rootfs-proc/proc");
  _cleanup_free_ char *elsewhere = path_in ("rootfs-proc/elsewhere");
  ward_mount_t m = { .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  ward_config_t cfg = { .mounts = &m, .mounts_len = 1, .linux_ = &mnt_linux };
  ward_rootfs_opts_t opts = { .config = &cfg, .bundle = tmpdir, .rootfs = rootfs };

  if (make_rootfs ("rootfs-proc") < 0)
    {
      tap_ok (0, "build rootfs-proc: %s", strerror (errno));
      return;
    }
  mkdir (elsewhere, 0755);
  symlink ("/elsewhere", proc);
  run_child ("proc symlink", proc_symlink_child, &opts);
}

/* A private cgroup namespace: the hierarchies are real cgroup mounts
 * rooted at the namespace, not binds of host directories. */
static void cgroupns_child (void *data)
{
  ward_rootfs_opts_t *opts = data;
  ward_error_t *err = NULL;
  _cleanup_free_ char *self = NULL;
  int ret;

  if (unshare (CLONE_NEWCGROUP) < 0)
    {
      report (0, "unshare cgroup namespace: %s", strerror (errno));
      return;
    }
  ret = ward_rootfs_setup (opts, &err);
  report (ret == 0, "setup with a cgroup namespace%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  if (ret < 0)
    return;
  if (host_cgroup_v2)
    report (mountinfo_has ("/sys/fs/cgroup", "cgroup2"), "/sys/fs/cgroup is a cgroup2 mount");
  else
    {
      report (mountinfo_has ("/sys/fs/cgroup/memory", "cgroup"),
              "/sys/fs/cgroup/memory is a cgroup mount");
      report (mountinfo_has ("/sys/fs/cgroup/systemd", "cgroup"),
              "named hierarchy (name=systemd) mounted");
      report (access ("/sys/fs/cgroup/memory/memory.limit_in_bytes", R_OK) == 0,
              "memory controller files visible");
    }
  report (mkdir ("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS, "/sys/fs/cgroup read-only");
  {
    struct stat st;
    report (stat ("/dev/zero", &st) == 0 && S_ISCHR (st.st_mode)
                && mkdir ("/dev/x", 0755) < 0 && errno == EROFS,
            "a read-only /dev tmpfs gets its devices first, then turns read-only");
  }
}

static void test_cgroupns (void)
{
  static ward_namespace_t ns[] = { { WARD_NS_MOUNT, NULL }, { WARD_NS_CGROUP, NULL } };
  static ward_linux_t l = { .namespaces = ns, .namespaces_len = 2 };
  static ward_mount_t m[4];
  static ward_config_t cfg;
  static char *o_devro[] = { "nosuid", "mode=755", "ro", NULL };
  _cleanup_free_ char *rootfs = path_in ("rootfs-cgroupns");
  ward_rootfs_opts_t opts = { .config = &cfg, .bundle = tmpdir };

  if (make_rootfs ("rootfs-cgroupns") < 0)
    {
      tap_ok (0, "build rootfs-cgroupns: %s", strerror (errno));
      return;
    }
  m[0] = (ward_mount_t){ .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  m[1] = (ward_mount_t){ .destination = "/sys", .type = "sysfs", .source = "sysfs", .options = o_sys };
  m[2] = (ward_mount_t){ .destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = o_cg };
  m[3] = (ward_mount_t){ .destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = o_devro };
  cfg.mounts = m;
  cfg.mounts_len = 4;
  cfg.linux_ = &l;
  opts.rootfs = rootfs;
  run_child ("cgroupns", cgroupns_child, &opts);
}

/* Without a mount namespace nothing is mounted (runc skips prepareRootfs). */
static void test_no_mount_ns (void)
{
  ward_mount_t m = { .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  ward_config_t cfg = { .mounts = &m, .mounts_len = 1 };
  ward_rootfs_opts_t opts = { .config = &cfg, .bundle = tmpdir, .rootfs = "/nonexistent" };
  ward_error_t *err = NULL;
  char before[256] = "", after[256] = "";

  if (getcwd (before, sizeof before) == NULL)
    before[0] = '\0';
  tap_ok (ward_rootfs_setup (&opts, &err) == 0 && getcwd (after, sizeof after)
              && strcmp (before, after) == 0,
          "no mount namespace: rootfs setup leaves the mount tree alone");
  ward_error_free (&err);
}

/* --no-pivot: MS_MOVE + chroot, with a read-only root. */
static void test_no_pivot (void)
{
  _cleanup_free_ char *rootfs = path_in ("rootfs-nopivot");
  ward_mount_t m = { .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  ward_root_t root = { .path = "rootfs-nopivot", .readonly = true };
  ward_config_t cfg = { .mounts = &m, .mounts_len = 1, .root = &root, .linux_ = &mnt_linux };
  struct rootfs_case c;

  if (make_rootfs ("rootfs-nopivot") < 0)
    {
      tap_ok (0, "build rootfs-nopivot: %s", strerror (errno));
      return;
    }
  {
    /* No /dev mount: nodes go onto the image's /dev, where a console
     * device node must be replaced, not opened. */
    _cleanup_free_ char *dev = path_in ("rootfs-nopivot/dev");
    _cleanup_free_ char *console = path_in ("rootfs-nopivot/dev/console");
    mkdir (dev, 0755);
    mknod (console, S_IFCHR | 0600, makedev (5, 1));
  }
  memset (&c, 0, sizeof c);
  c.cfg = cfg;
  c.opts = (ward_rootfs_opts_t){ .config = &c.cfg, .bundle = tmpdir, .rootfs = rootfs,
                                 .no_pivot = true, .create_console = true };
  run_child ("no-pivot", rootfs_child, &c);
}

/* ---- rootfs inside a user namespace ------------------------------------ */

static char *o_robind2[] = { "bind", "ro", NULL };

static void userns_setup (void *data)
{
  ward_rootfs_opts_t *opts = data;
  ward_error_t *err = NULL;
  struct stat st;
  int ret, fd;

  ret = ward_rootfs_setup (opts, &err);
  report (ret == 0, "ward_rootfs_setup in a user namespace%s%s", err ? ": " : "",
          err ? err->msg : "");
  ward_error_free (&err);
  if (ret < 0)
    return;
  memset (&st, 0, sizeof st);
  ret = stat ("/dev/null", &st);
  report (ret == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3),
          "/dev/null bind-mounted from the host (no mknod in a user namespace)");
  fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  report (fd >= 0 && write (fd, "x", 1) == 1, "/dev/null is writable");
  if (fd >= 0)
    close (fd);
  report (mountinfo_has ("/sys", "sysfs"), "/sys shows sysfs (host /sys bound)");
  report (mkdir ("/sys/ward-test", 0755) < 0 && errno == EROFS, "/sys is read-only");
  report (access (host_cgroup_v2 ? "/sys/fs/cgroup/cgroup.controllers" : "/sys/fs/cgroup/memory",
                  F_OK) == 0,
          "/sys is the host's, bound recursively (runc's fallback without a netns)");
  report (mountinfo_has ("/proc", "proc"), "/proc mounted in the new pid namespace");
  report (access ("/proc/1/status", F_OK) == 0 && getpid () == 1, "we are pid 1 there");
  fd = open ("/mnt/ro/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  report (fd < 0 && errno == EROFS, "ro bind in a user namespace (locked flags kept)");
  if (fd >= 0)
    close (fd);
  report (mkdir ("/ro-dir/x", 0755) < 0 && errno == EROFS, "readonly path in a user namespace");
  if (opts->config->mounts_len > 5)
    {
      memset (&st, 0, sizeof st);
      ret = stat ("/mnt/idmapped/owned-by-root", &st);
      report (ret == 0 && st.st_uid == 1000 && st.st_gid == 1000,
              "host-prepared idmapped mount moved into the user namespace (uid %u)",
              (unsigned) st.st_uid);
    }
}

/* Grandchild: new user, mount, pid, ipc, uts namespaces; the child writes
 * the id maps (as the runtime's parent does), then pid 1 sets up the root. */
static void userns_child (void *data)
{
  static ward_id_mapping_t ident = { 0, 0, 65536 };
  ward_linux_t l = { .uid_mappings = &ident, .uid_mappings_len = 1, .gid_mappings = &ident,
                     .gid_mappings_len = 1 };
  ward_config_t cfg = { .linux_ = &l };
  ward_error_t *err = NULL;
  int go[2], ready[2], status = -1;
  char c = 'n';
  pid_t pid;

  if (pipe (go) < 0 || pipe (ready) < 0)
    return;
  pid = fork ();
  if (pid == 0)
    {
      pid_t init;
      close (ready[0]);
      close (go[1]);
      c = unshare (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) == 0
              ? 'y'
              : 'n';
      if (write (ready[1], &c, 1) != 1 || read (go[0], &c, 1) != 1 || c != 'y')
        _exit (1);
      init = fork ();
      if (init == 0)
        {
          userns_setup (data);
          _exit (0);
        }
      waitpid (init, &status, 0);
      _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 1);
    }
  close (ready[1]);
  close (go[0]);
  if (read (ready[0], &c, 1) != 1 || c != 'y')
    report (0, "unshare user namespace");
  else
    {
      int ret = ward_ns_write_id_maps (pid, &cfg, &err);
      report (ret == 0, "id maps for the user namespace%s%s", err ? ": " : "",
              err ? err->msg : "");
      ward_error_free (&err);
      c = ret == 0 ? 'y' : 'n';
      if (write (go[1], &c, 1) != 1)
        report (0, "signal the user-namespace child");
    }
  close (go[1]);
  waitpid (pid, &status, 0);
  report (WIFEXITED (status) && WEXITSTATUS (status) == 0, "user-namespace init exited cleanly");
}

static void test_userns_rootfs (void)
{
  static ward_mount_t mounts[7];
  static ward_id_mapping_t idm = { 0, 1000, 1 };
  int *fds = NULL;
  ward_error_t *err = NULL;
  static ward_config_t cfg;
  static ward_linux_t l;
  static char *ro[] = { "/ro-dir", NULL };
  static ward_namespace_t ns[] = { { WARD_NS_USER, NULL }, { WARD_NS_MOUNT, NULL },
                                   { WARD_NS_PID, NULL } };
  _cleanup_free_ char *rootfs = path_in ("rootfs-userns");
  _cleanup_free_ char *rodir = path_in ("rootfs-userns/ro-dir");
  ward_rootfs_opts_t opts = { .config = &cfg, .bundle = tmpdir, .in_user_ns = true };
  size_t n = 0;

  if (make_rootfs ("rootfs-userns") < 0)
    {
      tap_ok (0, "build rootfs-userns: %s", strerror (errno));
      return;
    }
  mkdir (rodir, 0755);
  mounts[n++] = (ward_mount_t){ .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  mounts[n++] = (ward_mount_t){ .destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = o_dev };
  mounts[n++] = (ward_mount_t){ .destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = o_pts };
  mounts[n++] = (ward_mount_t){ .destination = "/sys", .type = "sysfs", .source = "sysfs", .options = o_sys };
  mounts[n++] = (ward_mount_t){ .destination = "/mnt/ro", .type = "bind", .source = "bindsrc", .options = o_robind2 };
  if (idmap_ok)
    mounts[n++] = (ward_mount_t){ .destination = "/mnt/idmapped", .type = "bind", .source = "idsrc",
                                  .options = o_idmap, .uid_mappings = &idm, .uid_mappings_len = 1,
                                  .gid_mappings = &idm, .gid_mappings_len = 1 };
  cfg.mounts = mounts;
  cfg.mounts_len = n;
  cfg.linux_ = &l;
  l.namespaces = ns;
  l.namespaces_len = ARRAY_SIZE (ns);
  l.readonly_paths = ro;
  l.readonly_paths_len = 1;
  opts.rootfs = rootfs;
  /* The host side prepares idmapped mounts: inside the user namespace the
   * kernel would refuse to idmap a host filesystem. */
  if (ward_ns_prepare_idmapped_mounts (&cfg, tmpdir, &fds, &err) < 0)
    tap_ok (0, "prepare idmapped mounts: %s", err->msg);
  else
    tap_ok (idmap_ok ? fds && fds[n - 1] >= 0 && fds[0] == -1 : fds == NULL,
            "prepared idmapped mount fds");
  ward_error_free (&err);
  opts.mount_fds = fds;
  run_child ("userns", userns_child, &opts);
  ward_ns_close_mount_fds (fds, n);
}

/* ---- joining namespaces by path ---------------------------------------- */

static void join_child (void *data)
{
  const char *path = data;
  ward_namespace_t ns = { WARD_NS_UTS, (char *) path };
  ward_linux_t l = { .namespaces = &ns, .namespaces_len = 1 };
  ward_config_t cfg = { .linux_ = &l };
  ward_error_t *err = NULL;
  int fds[WARD_NS__COUNT];
  char buf[64] = { 0 };
  int ret;

  ret = ward_ns_open_paths (&cfg, fds, &err);
  if (ret == 0)
    ret = ward_ns_join (fds, true, &err);
  report (ret == 0 && fds[WARD_NS_USER] == -1, "user phase joins nothing without a user ns path");
  if (ret == 0)
    ret = ward_ns_join (fds, false, &err);
  report (ret == 0, "ward_ns_join%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  ward_ns_close_fds (fds);
  report (gethostname (buf, sizeof buf) == 0 && strcmp (buf, "joined-uts") == 0,
          "hostname is the joined namespace's (%s)", buf);
}

static bool same_ns (pid_t pid, const char *name)
{
  char a[64], b[64];
  struct stat sa, sb;
  snprintf (a, sizeof a, "/proc/%d/ns/%s", (int) pid, name);
  snprintf (b, sizeof b, "/proc/self/ns/%s", name);
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_ino == sb.st_ino
         && sa.st_dev == sb.st_dev;
}

static void enter_child (void *data)
{
  pid_t pid = *(pid_t *) data;
  ward_error_t *err = NULL;
  char buf[64] = { 0 };
  int ret = ward_ns_enter_pid (pid, -1, &err);

  report (ret == 0, "ward_ns_enter_pid%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  report (gethostname (buf, sizeof buf) == 0 && strcmp (buf, "joined-uts") == 0,
          "uts namespace entered (%s)", buf);
  report (same_ns (pid, "ipc") && same_ns (pid, "mnt") && same_ns (pid, "uts"),
          "ipc, mnt and uts namespaces are the target's");
  report (ward_ns_enter_pid (pid, -1, &err) == 0, "entering again is a no-op");
  ward_error_free (&err);
}

/* A pidfd setns refuses (EINVAL) takes the per-namespace fallback. */
static void enter_fallback_child (void *data)
{
  pid_t pid = *(pid_t *) data;
  ward_error_t *err = NULL;
  char buf[64] = { 0 };
  _cleanup_close_ int notpidfd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  int ret = ward_ns_enter_pid (pid, notpidfd, &err);

  report (ret == 0, "ward_ns_enter_pid via /proc/<pid>/ns%s%s", err ? ": " : "",
          err ? err->msg : "");
  ward_error_free (&err);
  report (gethostname (buf, sizeof buf) == 0 && strcmp (buf, "joined-uts") == 0
              && same_ns (pid, "mnt") && same_ns (pid, "ipc"),
          "namespaces entered through the fallback");
}

static void test_join (void)
{
  int ready[2], hold[2];
  char c = 'n', path[64];
  pid_t pid;

  if (pipe (ready) < 0 || pipe (hold) < 0)
    return;
  pid = fork ();
  if (pid == 0)
    {
      close (ready[0]);
      close (hold[1]);
      if (unshare (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS) == 0
          && mount (NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) == 0
          && sethostname ("joined-uts", 10) == 0)
        c = 'y';
      if (write (ready[1], &c, 1) != 1 || read (hold[0], &c, 1) < 0)
        _exit (1);
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  if (read (ready[0], &c, 1) == 1 && c == 'y')
    {
      snprintf (path, sizeof path, "/proc/%d/ns/uts", (int) pid);
      run_child ("join", join_child, path);
      run_child ("enter", enter_child, &pid);
      run_child ("enter fallback", enter_fallback_child, &pid);
    }
  else
    tap_ok (0, "prepare a uts namespace to join");
  close (hold[1]);
  close (ready[0]);
  waitpid (pid, NULL, 0);
}

/* rootfsPropagation "rshared": the parent mount is made private so that
 * pivot_root accepts the new root. */
static void propagation_child (void *data)
{
  struct rootfs_case *c = data;
  ward_error_t *err = NULL;
  _cleanup_free_ char *mi = NULL;
  int ret;

  /* The image is a mount point of its own, shared like "/" will be (made
   * a slave first so that nothing reaches the host's namespace). */
  ret = mount (NULL, "/", NULL, MS_SLAVE | MS_REC, NULL);
  if (ret == 0)
    ret = mount (c->opts.rootfs, c->opts.rootfs, NULL, MS_BIND, NULL);
  report (ret == 0, "rootfs made a mount point");
  ret = ward_rootfs_setup (&c->opts, &err);
  report (ret == 0, "setup with rootfsPropagation %s%s%s", c->linux_.rootfs_propagation,
          err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  if (ret < 0)
    return;
  ward_read_file_at (AT_FDCWD, "/proc/self/mountinfo", &mi, NULL, 0, &err);
  ward_error_free (&err);
  report (access ("/.ward-rootfs", F_OK) == 0, "pivoted into the rootfs");
  {
    /* The line whose mount point (5th field) is "/" carries "shared:N". */
    bool shared = false;
    char *save = NULL;
    for (char *line = mi ? strtok_r (mi, "\n", &save) : NULL; line;
         line = strtok_r (NULL, "\n", &save))
      {
        char mp[256] = "", *sep = strstr (line, " - ");
        if (sscanf (line, "%*s %*s %*s %*s %255s", mp) == 1 && strcmp (mp, "/") == 0 && sep)
          {
            *sep = '\0';
            shared = strstr (line, "shared:") != NULL;
          }
      }
    report (shared, "new root is a shared mount");
  }
}

static void test_propagation (void)
{
  _cleanup_free_ char *rootfs = path_in ("rootfs-shared");
  _cleanup_free_ char *link = path_in ("rootfs-link");
  static ward_mount_t m;
  static struct rootfs_case c;

  if (make_rootfs ("rootfs-shared") < 0)
    {
      tap_ok (0, "build rootfs-shared: %s", strerror (errno));
      return;
    }
  m = (ward_mount_t){ .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  memset (&c, 0, sizeof c);
  c.cfg.mounts = &m;
  c.cfg.mounts_len = 1;
  c.cfg.linux_ = &c.linux_;
  c.linux_.rootfs_propagation = "rshared";
  c.linux_.namespaces = &mnt_ns;
  c.linux_.namespaces_len = 1;
  /* Passed through a symlink: mount tables only know the resolved path. */
  symlink ("rootfs-shared", link);
  c.opts = (ward_rootfs_opts_t){ .config = &c.cfg, .bundle = tmpdir, .rootfs = link };
  run_child ("propagation", propagation_child, &c);
}

/* ---- resolution inside the root ---------------------------------------- */

static bool same_file (int fd, const char *path)
{
  struct stat a, b;
  return fd >= 0 && fstat (fd, &a) == 0 && stat (path, &b) == 0 && a.st_dev == b.st_dev
         && a.st_ino == b.st_ino;
}

static void test_resolve (void)
{
  static const struct
  {
    const char *path, *want; /* want relative to the rootfs, NULL = must fail */
  } cases[] = {
    { "/a/b", "a/b" },
    { "link-abs/c", "a/b/c" },
    { "/link-rel", "a/b" },
    { "/a/b/link-up/b", "a/b" },
    { "/../../../bin/busybox", "bin/busybox" },
    { "/a/b/../../bin/../a", "a" },
    { "/host-escape/etc", "etc" },
    { "/host-escape/etc/debian_version", NULL },
    { "/loop1", NULL },
  };
  _cleanup_free_ char *root = path_in ("rootfs-walk");
  _cleanup_close_ int rootfd = -1;
  ward_error_t *err = NULL;
  char *dirs[] = { "a", "a/b", "a/b/c" };

  if (make_rootfs ("rootfs-walk") < 0)
    {
      tap_ok (0, "build rootfs-walk: %s", strerror (errno));
      return;
    }
  for (size_t i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      _cleanup_free_ char *d = xasprintf ("%s/%s", root, dirs[i]);
      mkdir (d, 0755);
    }
  {
    _cleanup_free_ char *l1 = xasprintf ("%s/link-abs", root);
    _cleanup_free_ char *l2 = xasprintf ("%s/link-rel", root);
    _cleanup_free_ char *l3 = xasprintf ("%s/a/b/link-up", root);
    _cleanup_free_ char *l4 = xasprintf ("%s/host-escape", root);
    _cleanup_free_ char *l5 = xasprintf ("%s/loop1", root);
    _cleanup_free_ char *l6 = xasprintf ("%s/loop2", root);
    symlink ("/a/b", l1);
    symlink ("a/b", l2);
    symlink ("../../../../../a", l3);
    symlink ("/", l4); /* "/etc" behind it must be the rootfs's (absent), not the host's */
    symlink ("loop2", l5);
    symlink ("/loop1", l6);
  }
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      _cleanup_close_ int a = ward_open_in_root (rootfd, cases[i].path, O_PATH, &err);
      _cleanup_close_ int b = ward_ns_open_in_root_walk (rootfd, cases[i].path, O_PATH);
      _cleanup_free_ char *want = cases[i].want ? xasprintf ("%s/%s", root, cases[i].want) : NULL;
      ward_error_free (&err);
      if (want)
        {
          tap_ok (same_file (a, want), "openat2: '%s' -> '%s'", cases[i].path, cases[i].want);
          tap_ok (same_file (b, want), "walk: '%s' -> '%s'", cases[i].path, cases[i].want);
        }
      else
        tap_ok (a < 0 && b < 0, "'%s' does not resolve (openat2 and walk)", cases[i].path);
    }
  {
    _cleanup_close_ int fd = ward_ns_open_in_root_walk (rootfd, "/.ward-rootfs", O_RDONLY);
    char buf[16] = { 0 };
    tap_ok (fd >= 0 && read (fd, buf, sizeof buf - 1) == 7 && strcmp (buf, "rootfs\n") == 0,
            "walk reopens the result with the flags asked for");
  }
  /* Creating through a dangling absolute symlink creates inside the root. */
  {
    _cleanup_free_ char *l = xasprintf ("%s/dangling", root);
    _cleanup_free_ char *want = xasprintf ("%s/made/here/x", root);
    _cleanup_close_ int fd = -1;
    symlink ("/made/here", l);
    fd = ward_ns_mkdir_in_root (rootfd, "/dangling/x", 0755, true, &err);
    tap_ok (fd >= 0 && same_file (fd, want), "mkdir_in_root follows a dangling symlink inside the root%s%s",
            err ? ": " : "", err ? err->msg : "");
    ward_error_free (&err);
  }
}

/* CVE-2019-16884 class: a destination that resolves into /proc. */
static void proc_dest_child (void *data)
{
  ward_rootfs_opts_t *opts = data;
  ward_error_t *err = NULL;
  int ret = ward_rootfs_setup (opts, &err);
  report (ret < 0 && err && strstr (err->msg, "\"/proc/sys\" cannot be mounted because it is inside /proc")
              && strstr (err->msg, "to \"/innocent\""),
          "mount through a symlink into /proc refused: %s", err ? err->msg : "(no error)");
  ward_error_free (&err);
}

static void test_proc_dest (void)
{
  static char *opts_[] = { "nosuid", NULL };
  _cleanup_free_ char *rootfs = path_in ("rootfs-procdest");
  _cleanup_free_ char *innocent = path_in ("rootfs-procdest/innocent");
  _cleanup_free_ char *procsys = path_in ("rootfs-procdest/proc/sys");
  _cleanup_free_ char *proc = path_in ("rootfs-procdest/proc");
  static ward_mount_t m[2];
  static ward_config_t cfg;
  ward_rootfs_opts_t opts = { .config = &cfg, .bundle = tmpdir };

  if (make_rootfs ("rootfs-procdest") < 0)
    {
      tap_ok (0, "build rootfs-procdest: %s", strerror (errno));
      return;
    }
  mkdir (proc, 0555);
  symlink ("/proc/sys", innocent);
  m[0] = (ward_mount_t){ .destination = "/proc", .type = "proc", .source = "proc", .options = o_proc };
  m[1] = (ward_mount_t){ .destination = "/innocent", .type = "tmpfs", .source = "tmpfs", .options = opts_ };
  cfg.mounts = m;
  cfg.mounts_len = 2;
  cfg.linux_ = &mnt_linux;
  opts.rootfs = rootfs;
  (void) procsys;
  run_child ("proc dest", proc_dest_child, &opts);
}

/* ---- user and time namespaces ------------------------------------------ */

static void test_id_maps (void)
{
  static ward_id_mapping_t uidm = { 0, 100000, 65536 }, gidm = { 0, 200000, 1000 };
  ward_linux_t l = { .uid_mappings = &uidm, .uid_mappings_len = 1, .gid_mappings = &gidm,
                     .gid_mappings_len = 1 };
  ward_config_t cfg = { .linux_ = &l };
  ward_error_t *err = NULL;
  int p[2], q[2], ret;
  char c = 0;
  pid_t pid;

  if (pipe (p) < 0 || pipe (q) < 0)
    return;
  pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      close (q[1]);
      c = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
      if (write (p[1], &c, 1) != 1 || read (q[0], &c, 1) < 0)
        _exit (1);
      _exit (0);
    }
  close (p[1]);
  close (q[0]);
  if (read (p[0], &c, 1) != 1 || c != 'y')
    tap_skip ("unshare(CLONE_NEWUSER) failed");
  else
    {
      char path[64];
      _cleanup_free_ char *u = NULL, *g = NULL, *sg = NULL;
      ret = ward_ns_write_id_maps (pid, &cfg, &err);
      tap_ok (ret == 0, "ward_ns_write_id_maps%s%s", err ? ": " : "", err ? err->msg : "");
      ward_error_free (&err);
      snprintf (path, sizeof path, "/proc/%d/uid_map", (int) pid);
      ward_read_file_at (AT_FDCWD, path, &u, NULL, 0, &err);
      ward_error_free (&err);
      snprintf (path, sizeof path, "/proc/%d/gid_map", (int) pid);
      ward_read_file_at (AT_FDCWD, path, &g, NULL, 0, &err);
      ward_error_free (&err);
      snprintf (path, sizeof path, "/proc/%d/setgroups", (int) pid);
      ward_read_file_at (AT_FDCWD, path, &sg, NULL, 0, &err);
      ward_error_free (&err);
      tap_ok (u && strstr (u, "100000") && strstr (u, "65536"), "uid_map written");
      tap_ok (g && strstr (g, "200000") && strstr (g, "1000"), "gid_map written");
      tap_ok (sg && strncmp (sg, "allow", 5) == 0, "setgroups left at allow as root");
    }
  close (q[1]);
  close (p[0]);
  waitpid (pid, NULL, 0);
}

static void time_child (void *data)
{
  static ward_namespace_t ns = { WARD_NS_TIME, NULL };
  static ward_time_offset_t off[] = { { "boottime", 86400, 0 }, { "monotonic", 3600, 5 } };
  ward_linux_t l = { .namespaces = &ns, .namespaces_len = 1, .time_offsets = off,
                     .time_offsets_len = 2 };
  ward_config_t cfg = { .linux_ = &l };
  ward_error_t *err = NULL;
  struct timespec before, after;
  int p[2], ret;
  pid_t pid;

  (void) data;
  ret = ward_ns_setup_time (&cfg, &err);
  report (ret == 0, "ward_ns_setup_time%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  if (ret < 0 || pipe (p) < 0)
    return;
  clock_gettime (CLOCK_BOOTTIME, &before);
  pid = fork ();
  if (pid == 0)
    {
      clock_gettime (CLOCK_BOOTTIME, &after);
      if (write (p[1], &after, sizeof after) < 0)
        _exit (1);
      _exit (0);
    }
  waitpid (pid, NULL, 0);
  if (read (p[0], &after, sizeof after) != sizeof after)
    after = before;
  report (after.tv_sec - before.tv_sec >= 86400 && after.tv_sec - before.tv_sec < 86460,
          "a child sees CLOCK_BOOTTIME shifted by a day (%lld s)",
          (long long) (after.tv_sec - before.tv_sec));
}

static void test_ns_open_paths (void)
{
  static ward_namespace_t ns[] = { { WARD_NS_NETWORK, "/proc/self/ns/net" },
                                   { WARD_NS_UTS, NULL } };
  static ward_namespace_t bad[] = { { WARD_NS_IPC, "/proc/self/ns/net" } };
  static ward_namespace_t notns[] = { { WARD_NS_IPC, "/etc/hostname" } };
  ward_linux_t l = { .namespaces = ns, .namespaces_len = 2 };
  ward_config_t cfg = { .linux_ = &l };
  ward_error_t *err = NULL;
  int fds[WARD_NS__COUNT], ret;

  tap_ok (ward_ns_open_paths (&cfg, fds, &err) == 0 && fds[WARD_NS_NETWORK] >= 0
              && fds[WARD_NS_UTS] < 0,
          "open namespace paths");
  ward_ns_close_fds (fds);
  tap_ok (fds[WARD_NS_NETWORK] == -1, "close_fds resets the slots");
  l.namespaces = bad;
  l.namespaces_len = 1;
  ret = ward_ns_open_paths (&cfg, fds, &err);
  tap_ok (ret < 0 && err && strstr (err->msg, "is not of type ipc"),
          "wrong namespace type refused: %s", err ? err->msg : "");
  ward_error_free (&err);
  l.namespaces = notns;
  ret = ward_ns_open_paths (&cfg, fds, &err);
  tap_ok (ret < 0 && err && strstr (err->msg, "/etc/hostname"),
          "non-namespace file refused: %s", err ? err->msg : "");
  ward_error_free (&err);
}

int main (void)
{
  test_mount_options ();
  test_sysctl_and_flags ();
  if (geteuid () != 0)
    {
      tap_skip ("rootfs, id-map and time namespace tests need root");
      return tap_done ();
    }
  if (access ("/bin/busybox", X_OK) < 0)
    {
      tap_skip ("rootfs tests need /bin/busybox (busybox-static)");
      return tap_done ();
    }
  snprintf (tmpdir, sizeof tmpdir, "/tmp/ward-test-ns.XXXXXX");
  if (mkdtemp (tmpdir) == NULL)
    {
      tap_ok (0, "mkdtemp: %s", strerror (errno));
      return tap_done ();
    }
  {
    struct statfs sf;
    host_cgroup_v2 = statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == 0x63677270;
  }
  test_ns_open_paths ();
  test_rootfs ();
  test_proc_symlink ();
  test_no_pivot ();
  test_no_mount_ns ();
  test_cgroupns ();
  test_userns_rootfs ();
  test_resolve ();
  test_proc_dest ();
  test_join ();
  test_propagation ();
  test_id_maps ();
  run_child ("time ns", time_child, NULL);
  nftw (tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return tap_done ();
}
