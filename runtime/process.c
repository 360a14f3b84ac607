/* What the container init does to itself after the rootfs is ready and
 * before execve: resource limits, scheduling, user and capabilities, cwd,
 * fd hygiene and the PATH look-up of the executable. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "runtime/process.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef IOPRIO_WHO_PROCESS
#define IOPRIO_WHO_PROCESS 1
#endif
#ifndef IOPRIO_CLASS_SHIFT
#define IOPRIO_CLASS_SHIFT 13
#endif

/* struct sched_attr from the kernel ABI (linux/sched/types.h clashes with
 * glibc's sched.h, and glibc 2.36 has no wrapper). */
struct ward_sched_attr
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static void cap_freep (cap_t *c)
{
  if (*c)
    cap_free (*c);
}
#define _cleanup_cap_ __attribute__ ((cleanup (cap_freep)))

/* ---- rlimits, oom, personality, scheduler, ioprio, affinity ------------ */

static int apply_rlimits (const ward_process_t *p, ward_error_t **err)
{
  for (size_t i = 0; i < p->rlimits_len; i++)
    {
      const ward_rlimit_t *r = &p->rlimits[i];
      struct rlimit lim = { .rlim_cur = r->soft, .rlim_max = r->hard };

      if (r->resource < 0 || r->resource >= RLIMIT_NLIMITS)
        return ward_error_set (err, 0, "unknown rlimit type '%s'", r->type ? r->type : "?");
      if (prlimit (0, (__rlimit_resource_t) r->resource, &lim, NULL) < 0)
        return ward_error_set (err, errno, "error setting rlimit type %s (soft %llu, hard %llu)",
                               r->type ? r->type : "?", (unsigned long long) r->soft,
                               (unsigned long long) r->hard);
    }
  return 0;
}

static int apply_oom_score_adj (const ward_process_t *p, ward_error_t **err)
{
  char buf[32];
  int len;

  if (!p->has_oom_score_adj)
    return 0;
  len = snprintf (buf, sizeof buf, "%d", (int) p->oom_score_adj);
  if (ward_write_file_at (AT_FDCWD, "/proc/self/oom_score_adj", buf, (size_t) len, err) < 0)
    return ward_error_wrap (err, "set oomScoreAdj %d", (int) p->oom_score_adj);
  return 0;
}

int ward_process_apply_personality (const ward_personality_t *pers, ward_error_t **err)
{
  unsigned long persona;

  if (pers == NULL || pers->domain == NULL)
    return 0;
  if (strcmp (pers->domain, "LINUX") == 0)
    persona = PER_LINUX;
  else if (strcmp (pers->domain, "LINUX32") == 0)
    persona = PER_LINUX32;
  else
    return ward_error_set (err, EINVAL, "personality domain '%s' is not supported", pers->domain);
  if (personality (persona) < 0)
    return ward_error_set (err, errno, "personality %s", pers->domain);
  return 0;
}

static int apply_scheduler (const ward_process_t *p, ward_error_t **err)
{
  const ward_scheduler_t *s = p->scheduler;
  struct ward_sched_attr attr;

  if (s == NULL)
    return 0;
  memset (&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.sched_policy = (uint32_t) s->policy_value;
  attr.sched_flags = s->flags_value;
  attr.sched_nice = s->has_nice ? s->nice : 0;
  attr.sched_priority = s->has_priority ? (uint32_t) s->priority : 0;
  attr.sched_runtime = s->runtime;
  attr.sched_deadline = s->deadline;
  attr.sched_period = s->period;
  if (syscall (SYS_sched_setattr, 0, &attr, 0) < 0)
    return ward_error_set (err, errno, "sched_setattr policy %s", s->policy ? s->policy : "?");
  return 0;
}

static int apply_io_priority (const ward_process_t *p, ward_error_t **err)
{
  const ward_io_priority_t *io = p->io_priority;
  long value;

  if (io == NULL)
    return 0;
  value = ((long) io->class_value << IOPRIO_CLASS_SHIFT) | (long) io->priority;
  if (syscall (SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0)
    return ward_error_set (err, errno, "ioprio_set class %s priority %lld",
                           io->class_name ? io->class_name : "?", (long long) io->priority);
  return 0;
}

/* One pass over a cpu list such as "0-2,5": with set == NULL it only
 * validates and finds the largest cpu. */
static int scan_cpu_list (const char *s, cpu_set_t *set, size_t size, unsigned long *max)
{
  if (*s == '\0')
    return -1;
  while (*s)
    {
      char *end;
      unsigned long a, b;

      if (!isdigit ((unsigned char) *s))
        return -1;
      errno = 0;
      a = b = strtoul (s, &end, 10);
      s = end;
      if (*s == '-')
        {
          if (!isdigit ((unsigned char) s[1]))
            return -1;
          b = strtoul (s + 1, &end, 10);
          s = end;
        }
      if (errno || a >= 8192 || b >= 8192 || b < a)
        return -1;
      if (*s == ',' && s[1] != '\0')
        s++;
      else if (*s != '\0')
        return -1;
      if (set == NULL)
        *max = b > *max ? b : *max;
      else
        for (unsigned long c = a; c <= b; c++)
          CPU_SET_S (c, size, set);
    }
  return 0;
}

int ward_process_parse_cpu_list (const char *list, cpu_set_t **set_out, size_t *size_out,
                                 ward_error_t **err)
{
  unsigned long max = 0;
  cpu_set_t *set;
  size_t size;

  if (list == NULL || scan_cpu_list (list, NULL, 0, &max) < 0)
    return ward_error_set (err, 0, "invalid cpu list '%s'", list ? list : "");
  set = CPU_ALLOC (max + 1);
  if (set == NULL)
    return ward_error_set (err, ENOMEM, "allocate cpu set");
  size = CPU_ALLOC_SIZE (max + 1);
  CPU_ZERO_S (size, set);
  scan_cpu_list (list, set, size, &max);
  *set_out = set;
  *size_out = size;
  return 0;
}

int ward_process_set_cpu_affinity (pid_t pid, const char *list, ward_error_t **err)
{
  cpu_set_t *set = NULL;
  size_t size = 0;
  int ret;

  if (list == NULL || list[0] == '\0')
    return 0;
  ret = ward_process_parse_cpu_list (list, &set, &size, err);
  if (ret < 0)
    return ret;
  ret = sched_setaffinity (pid, size, set);
  CPU_FREE (set);
  if (ret < 0)
    return ward_error_set (err, errno, "sched_setaffinity '%s'", list);
  return 0;
}

/* ---- user -------------------------------------------------------------- */

/* Splits a colon-separated line into at most n fields in place. */
static int split_fields (char *line, char **f, int n)
{
  int k = 0;

  while (k < n)
    {
      f[k++] = line;
      line = strchr (line, ':');
      if (line == NULL)
        break;
      *line++ = '\0';
    }
  return k;
}

/* The container's /etc/passwd entry for uid (name and home, malloc'd),
 * parsed by hand: getpwuid would load NSS modules from the container. */
static bool passwd_lookup (uid_t uid, char **name, char **home)
{
  _cleanup_free_ char *data = NULL;
  ward_error_t *e = NULL;
  char *line, *save = NULL;

  if (ward_read_file_at (AT_FDCWD, "/etc/passwd", &data, NULL, 16 << 20, &e) < 0)
    {
      ward_error_free (&e);
      return false;
    }
  for (line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7];
      unsigned long long v;

      if (split_fields (line, f, 7) < 6 || ward_parse_u64 (f[2], &v) < 0 || v != uid)
        continue;
      if (name)
        *name = xstrdup (f[0]);
      if (home)
        *home = xstrdup (f[5]);
      return true;
    }
  return false;
}

/* runc's fixStdioPermissions: the container user must be able to reopen
 * its stdio (/proc/self/fd/N), so stdio owned by root moves to the user. */
static void fix_stdio_owner (uid_t uid)
{
  for (int fd = 0; fd < 3; fd++)
    {
      struct stat st;
      if (fstat (fd, &st) < 0)
        continue;
      /* Never the (host's) null device (runc #3674).  Its number, not a
       * stat of "/dev/null": the container may have no /dev/null, and the
       * fd is still the host's node. */
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (1, 3))
        continue;
      if (st.st_uid == uid)
        continue;
      /* Only the owner: the devpts mount may prefer its own group (runc). */
      if (fchown (fd, uid, (gid_t) -1) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
        ward_debug ("fchown stdio fd %d: %s", fd, strerror (errno));
    }
}

static bool setgroups_denied (void)
{
  _cleanup_free_ char *data = NULL;
  ward_error_t *e = NULL;

  if (ward_read_file_at (AT_FDCWD, "/proc/self/setgroups", &data, NULL, 4096, &e) < 0)
    {
      ward_error_free (&e);
      return false;
    }
  return strncmp (data, "deny", 4) == 0;
}

static int switch_user (const ward_process_t *p, ward_error_t **err)
{
  const ward_user_t *u = &p->user;

  fix_stdio_owner (u->uid);
  /* An unprivileged user namespace forbids setgroups (since 3.19): skip
   * quietly like runc, the user did not ask for it to fail. */
  if (!setgroups_denied ())
    {
      /* Only additionalGids: runc passes "uid:gid" to its user lookup,
       * which then takes no memberships from the container's /etc/group
       * (checked against runc 1.1.5). */
      _cleanup_free_ gid_t *gids = xmalloc ((u->additional_gids_len + 1) * sizeof (gid_t));
      for (size_t i = 0; i < u->additional_gids_len; i++)
        gids[i] = u->additional_gids[i];
      if (setgroups (u->additional_gids_len, gids) < 0)
        return ward_error_set (err, errno, "setgroups");
    }
  if (setresgid (u->gid, u->gid, u->gid) < 0)
    return ward_error_set (err, errno, "setresgid %u", (unsigned) u->gid);
  if (setresuid (u->uid, u->uid, u->uid) < 0)
    return ward_error_set (err, errno, "setresuid %u", (unsigned) u->uid);
  return 0;
}

/* ---- capabilities ------------------------------------------------------ */

static int last_cap (void)
{
  static int cached = -1;
  _cleanup_free_ char *data = NULL;
  ward_error_t *e = NULL;
  long long v;

  if (cached >= 0)
    return cached;
  if (ward_read_file_at (AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &data, NULL, 64, &e) == 0)
    {
      data[strcspn (data, "\n")] = '\0';
      if (ward_parse_i64 (data, &v) == 0 && v >= 0 && v < 64)
        return cached = (int) v;
    }
  ward_error_free (&e);
  return cached = CAP_LAST_CAP;
}

/* Whether the space-separated list holds word. */
static bool list_has_word (const char *list, const char *word)
{
  size_t n = strlen (word);
  for (const char *p = list; p && *p; p += strcspn (p, " "), p += *p == ' ')
    if (strncmp (p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
      return true;
  return false;
}

/* Turns a list of names into a bit mask of known capabilities; names this
 * kernel does not know are collected into *unknown (runc skips them and warns
 * once for the whole process, so do we). */
static uint64_t caps_mask (char **names, ward_strbuf_t *unknown)
{
  uint64_t mask = 0;
  int last = last_cap ();

  for (char **n = names; n && *n; n++)
    {
      char lower[64];
      size_t i;
      cap_value_t v;

      for (i = 0; (*n)[i] && i < sizeof lower - 1; i++)
        lower[i] = (char) tolower ((unsigned char) (*n)[i]);
      lower[i] = '\0';
      if (strncmp (lower, "cap_", 4) != 0 || cap_from_name (lower, &v) < 0 || v > last)
        {
          /* one name in each set would be listed once per set: list it once */
          if (!list_has_word (unknown->data, *n))
            ward_strbuf_printf (unknown, "%s%s", unknown->len ? " " : "", *n);
          continue;
        }
      mask |= UINT64_C (1) << v;
    }
  return mask;
}

static int cap_set_from_mask (cap_t c, cap_flag_t flag, uint64_t mask, ward_error_t **err)
{
  for (int i = 0; i <= last_cap (); i++)
    if (mask & (UINT64_C (1) << i))
      {
        cap_value_t v = i;
        if (cap_set_flag (c, flag, 1, &v, CAP_SET) < 0)
          return ward_error_set (err, errno, "cap_set_flag %d", i);
      }
  return 0;
}

typedef struct
{
  uint64_t bounding, effective, permitted, inheritable, ambient;
} cap_masks_t;

static void compute_masks (const ward_process_t *p, cap_masks_t *m)
{
  const ward_capabilities_t *c = p->capabilities;
  ward_strbuf_t unknown = { 0 };

  memset (m, 0, sizeof *m);
  /* No capabilities object: runc drops every capability. */
  if (c == NULL)
    return;
  m->bounding = caps_mask (c->bounding, &unknown);
  m->effective = caps_mask (c->effective, &unknown);
  m->permitted = caps_mask (c->permitted, &unknown);
  m->inheritable = caps_mask (c->inheritable, &unknown);
  m->ambient = caps_mask (c->ambient, &unknown);
  if (unknown.len)
    ward_warn ("ignoring unknown or unavailable capabilities: [%s]", unknown.data);
  free (unknown.data);
}

static int apply_bounding (const cap_masks_t *m, ward_error_t **err)
{
  for (int i = 0; i <= last_cap (); i++)
    {
      if (m->bounding & (UINT64_C (1) << i))
        continue;
      if (prctl (PR_CAPBSET_READ, i, 0, 0, 0) != 1)
        continue;
      if (prctl (PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
        {
          _cleanup_free_ char *name = cap_to_name (i);
          return ward_error_set (err, errno, "drop %s from the bounding set",
                                 name ? name : "capability");
        }
    }
  return 0;
}

static int apply_caps (const cap_masks_t *m, ward_error_t **err)
{
  _cleanup_cap_ cap_t c = cap_init ();
  int ret;

  if (c == NULL)
    return ward_error_set (err, errno, "cap_init");
  if ((ret = cap_set_from_mask (c, CAP_EFFECTIVE, m->effective, err)) < 0
      || (ret = cap_set_from_mask (c, CAP_PERMITTED, m->permitted, err)) < 0
      || (ret = cap_set_from_mask (c, CAP_INHERITABLE, m->inheritable, err)) < 0)
    return ret;
  if (cap_set_proc (c) < 0)
    return ward_error_set (err, errno, "apply capabilities (capset)");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return ward_error_set (err, errno, "clear ambient capabilities");
  for (int i = 0; i <= last_cap (); i++)
    if (m->ambient & (UINT64_C (1) << i))
      {
        /* The kernel refuses ambient caps not in permitted+inheritable;
         * runc ignores that error per capability, so do we. */
        if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
          ward_debug ("raise ambient capability %d: %s", i, strerror (errno));
      }
  return 0;
}

/* ---- labels ------------------------------------------------------------ */


static int write_exec_attr (const char *lsm, const char *value, ward_error_t **err)
{
  _cleanup_free_ char *lsm_path = xasprintf ("/proc/self/attr/%s/exec", lsm);
  const char *path = access (lsm_path, F_OK) == 0 ? lsm_path : "/proc/self/attr/exec";

  if (ward_write_file_at (AT_FDCWD, path, value, strlen (value), err) < 0)
    return ward_error_wrap (err, "set %s exec label", lsm);
  return 0;
}

/* A label the host cannot apply is an error, as with runc: running the
 * container unconfined instead would silently drop the isolation that was
 * asked for.  The kernel answers EINVAL when no LSM takes the attribute. */
static int apply_labels (const ward_process_t *p, ward_error_t **err)
{
  if (p->apparmor_profile && p->apparmor_profile[0])
    {
      _cleanup_free_ char *v = xasprintf ("exec %s", p->apparmor_profile);
      if (write_exec_attr ("apparmor", v, err) < 0)
        return ward_error_wrap (err, "apparmor profile \"%s\" is specified in config, but it "
                                "cannot be applied (is AppArmor enabled on this host?)",
                                p->apparmor_profile);
    }
  if (p->selinux_label && p->selinux_label[0])
    {
      if (write_exec_attr ("selinux", p->selinux_label, err) < 0)
        return ward_error_wrap (err, "selinux label \"%s\" is specified in config, but it "
                                "cannot be applied (is SELinux enabled on this host?)",
                                p->selinux_label);
    }
  return 0;
}

/* ---- cwd --------------------------------------------------------------- */

static int cwd_error (const char *cwd, int errnum, ward_error_t **err)
{
  if (errnum == ENOENT)
    return ward_error_set_ret (err, -ENOENT, 0, "cwd (\"%s\") does not exist", cwd);
  return ward_error_set (err, errnum, "chdir to cwd (\"%s\") set in config.json failed", cwd);
}

static int chdir_cwd (const char *cwd, ward_error_t **err)
{
  if (chdir (cwd) == 0)
    return 0;
  return cwd_error (cwd, errno, err);
}

/* CVE-2024-21626: a cwd such as /proc/self/fd/N can land on a directory of
 * the host through an fd leaked into the init.  The kernel's getcwd then
 * reports an unreachable path; also check the path leads back to the same
 * inode from the current root. */
static int verify_cwd (ward_error_t **err)
{
  char buf[PATH_MAX];
  struct stat here, there;

  if (getcwd (buf, sizeof buf) == NULL || buf[0] != '/')
    {
      if (errno == ENOENT || buf[0] != '/')
        return ward_error_set (err, 0, "current working directory is outside of container "
                                       "mount namespace root -- possible container breakout "
                                       "detected");
      return ward_error_set (err, errno, "getcwd");
    }
  /* A user may lack search permission on its own cwd: then getcwd's
   * verdict stands alone, as in runc. */
  if (stat (".", &here) < 0)
    return errno == EACCES ? 0 : ward_error_set (err, errno, "stat '.'");
  if (stat (buf, &there) < 0)
    {
      if (errno == EACCES)
        return 0;
      return ward_error_set (err, 0, "current working directory is outside of container mount "
                                     "namespace root -- possible container breakout detected");
    }
  if (here.st_dev != there.st_dev || here.st_ino != there.st_ino)
    return ward_error_set (err, 0, "current working directory is outside of container mount "
                                   "namespace root -- possible container breakout detected");
  return 0;
}

/* Creates a missing cwd like runc's MkdirAll, but resolving every prefix
 * inside the current root without magic links: a cwd such as
 * /proc/self/fd/N/x (N a leaked host fd, CVE-2024-21626) or a symlink to
 * it must not create directories on the host. */
static int mkdir_cwd (const char *cwd)
{
  _cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *copy = xstrdup (cwd);
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

  if (root < 0)
    return -errno;
  for (char *p = copy + 1;; p++)
    {
      char saved = *p;
      int fd;

      if (saved != '/' && saved != '\0')
        continue;
      *p = '\0';
      fd = (int) syscall (SYS_openat2, root, copy, &how, sizeof how);
      if (fd >= 0)
        close (fd);
      else if (errno == ENOENT)
        {
          char *slash = strrchr (copy, '/');
          _cleanup_close_ int parent = -1;

          *slash = '\0';
          parent = (int) syscall (SYS_openat2, root, copy[0] ? copy : "/", &how, sizeof how);
          *slash = '/';
          if (parent < 0)
            return -errno;
          if (mkdirat (parent, slash + 1, 0755) < 0 && errno != EEXIST)
            return -errno;
        }
      else
        return -errno;
      *p = saved;
      if (saved == '\0')
        return 0;
    }
}

/* ---- setup ------------------------------------------------------------- */

int ward_process_setup_full (const ward_process_t *p, const ward_personality_t *pers,
                             ward_error_t **err)
{
  cap_masks_t masks;
  bool chdir_later = false;
  int ret;

  if ((ret = apply_rlimits (p, err)) < 0 || (ret = apply_oom_score_adj (p, err)) < 0
      || (ret = ward_process_apply_personality (pers, err)) < 0
      || (ret = apply_scheduler (p, err)) < 0 || (ret = apply_io_priority (p, err)) < 0)
    return ret;
  if (p->exec_cpu_affinity && p->exec_cpu_affinity->initial
      && (ret = ward_process_set_cpu_affinity (0, p->exec_cpu_affinity->initial, err)) < 0)
    return ward_error_wrap (err, "execCPUAffinity.initial");
  umask (p->user.has_umask ? (mode_t) p->user.umask : 0022);

  /* As runc: try the cwd as root first (a directory the container user
   * cannot reach may still be its cwd); retry as the user on EACCES. */
  if (p->cwd && p->cwd[0])
    {
      if (p->cwd[0] != '/')
        return ward_error_set (err, 0, "cwd (\"%s\") must be an absolute path", p->cwd);
      int r = chdir (p->cwd) < 0 ? errno : 0;
      if (r == ENOENT)
        {
          /* runc creates a missing cwd (0755, as root) inside the jail. */
          int m = mkdir_cwd (p->cwd);
          if (m < 0)
            ward_debug ("create cwd '%s': %s", p->cwd, strerror (-m));
          r = chdir (p->cwd) < 0 ? errno : 0;
        }
      if (r == EACCES || r == EPERM)
        chdir_later = true;
      else if (r != 0)
        return cwd_error (p->cwd, r, err);
      /* Checked while still root, where every path is searchable. */
      else if ((ret = verify_cwd (err)) < 0)
        return ret;
    }

  compute_masks (p, &masks);
  /* Dropping from the bounding set needs CAP_SETPCAP: before the switch. */
  if ((ret = apply_bounding (&masks, err)) < 0)
    return ward_error_wrap (err, "unable to apply bounding set");
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return ward_error_set (err, errno, "prctl PR_SET_KEEPCAPS");
  if ((ret = switch_user (p, err)) < 0)
    return ward_error_wrap (err, "unable to setup user");
  if (chdir_later && ((ret = chdir_cwd (p->cwd, err)) < 0 || (ret = verify_cwd (err)) < 0))
    return ret;
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return ward_error_set (err, errno, "prctl clear PR_SET_KEEPCAPS");
  if ((ret = apply_caps (&masks, err)) < 0)
    return ward_error_wrap (err, "unable to apply caps");
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return ward_error_set (err, errno, "prctl PR_SET_NO_NEW_PRIVS");
  return apply_labels (p, err);
}

int ward_process_setup (const ward_process_t *process, ward_error_t **err)
{
  return ward_process_setup_full (process, NULL, err);
}

/* ---- fds --------------------------------------------------------------- */

static int cmp_int (const void *a, const void *b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

static bool is_kept (int fd, const int *keep, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (keep[i] == fd)
      return true;
  return false;
}

static int close_fds_proc (int first, const int *keep, size_t keep_len, ward_error_t **err)
{
  _cleanup_closedir_ DIR *d = opendir ("/proc/self/fd");
  _cleanup_free_ int *fds = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;

  if (d == NULL)
    return ward_error_set (err, errno, "opendir '/proc/self/fd'");
  /* Collect first: closing while reading would close the DIR's own fd. */
  while ((de = readdir (d)))
    {
      long long v;
      if (ward_parse_i64 (de->d_name, &v) < 0 || v < first || v == dirfd (d))
        continue;
      if (is_kept ((int) v, keep, keep_len))
        continue;
      if (n == cap)
        fds = xrealloc (fds, (cap = cap ? cap * 2 : 64) * sizeof (int));
      fds[n++] = (int) v;
    }
  for (size_t i = 0; i < n; i++)
    close (fds[i]);
  return 0;
}

int ward_process_close_fds (int preserve_fds, const int *keep, size_t keep_len,
                            ward_error_t **err)
{
  unsigned int start = 3 + (preserve_fds > 0 ? (unsigned) preserve_fds : 0);
  _cleanup_free_ int *sorted = NULL;

  if (keep_len)
    {
      sorted = xmalloc (keep_len * sizeof (int));
      memcpy (sorted, keep, keep_len * sizeof (int));
      qsort (sorted, keep_len, sizeof (int), cmp_int);
    }
  for (size_t i = 0; i <= keep_len; i++)
    {
      unsigned int end = i < keep_len ? (unsigned) sorted[i] : ~0U;
      if (i < keep_len && (sorted[i] < 0 || (unsigned) sorted[i] < start))
        continue;
      if (end > start || (i == keep_len && end >= start))
        {
          unsigned int last = i < keep_len ? end - 1 : ~0U;
          /* Kernels before 5.9 lack close_range, and a seccomp filter may
           * deny it (ENOSYS, EPERM): walk /proc/self/fd instead. */
          if (syscall (SYS_close_range, start, last, 0) < 0)
            return close_fds_proc ((int) (3 + (preserve_fds > 0 ? preserve_fds : 0)), keep,
                                   keep_len, err);
        }
      if (i < keep_len)
        start = end + 1;
    }
  return 0;
}

/* ---- PATH look-up and exec --------------------------------------------- */

static const char *env_get (char **env, const char *name)
{
  size_t n = strlen (name);
  const char *found = NULL;

  /* The last definition wins, as with setenv in order. */
  for (char **e = env; e && *e; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      found = *e + n + 1;
  return found;
}

/* Go's exec.LookPath rules (which runc uses): a directory or a file without
 * execute permission is "permission denied". */
static int check_executable (const char *path)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return -errno;
  if (S_ISDIR (st.st_mode))
    return -EACCES;
  if (faccessat (AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
    return 0;
  if (errno != ENOSYS && errno != EPERM)
    return -errno;
  return (st.st_mode & 0111) ? 0 : -EACCES;
}

int ward_process_find_executable (const ward_process_t *p, char **path_out, ward_error_t **err)
{
  char ebuf[128];
  const char *name, *path_env;
  _cleanup_free_ char *copy = NULL;
  char *save = NULL;

  if (p->args == NULL || p->args[0] == NULL || p->args[0][0] == '\0')
    return ward_error_set (err, 0, "args must not be empty");
  name = p->args[0];
  if (strchr (name, '/'))
    {
      int r = check_executable (name);
      if (r == -ENOENT || r == -ENOTDIR)
        return ward_error_set_ret (err, r, 0, "exec: \"%s\": stat %s: %s", name, name,
                                   ward_go_strerror (-r, ebuf, sizeof ebuf));
      if (r < 0)
        return ward_error_set_ret (err, r, 0, "exec: \"%s\": %s", name,
                                   ward_go_strerror (-r, ebuf, sizeof ebuf));
      *path_out = xstrdup (name);
      return 0;
    }
  path_env = env_get (p->env, "PATH");
  copy = xstrdup (path_env ? path_env : DEFAULT_PATH);
  /* strtok would skip empty entries, which mean "." for PATH. */
  for (char *dir = copy; dir; dir = save)
    {
      _cleanup_free_ char *full = NULL;
      save = strchr (dir, ':');
      if (save)
        *save++ = '\0';
      full = xasprintf ("%s/%s", dir[0] ? dir : ".", name);
      if (check_executable (full) == 0)
        {
          *path_out = TAKE_PTR (full);
          return 0;
        }
    }
  return ward_error_set_ret (err, -ENOENT, 0, "exec: \"%s\": executable file not found in $PATH",
                             name);
}

char **ward_process_build_env (const ward_process_t *p)
{
  size_t n = p->env ? p->env_len : 0;
  char **env;
  size_t i;

  if (p->env)
    for (n = 0; p->env[n]; n++)
      ;
  env = xzalloc ((n + 2) * sizeof (char *));
  for (i = 0; i < n; i++)
    env[i] = xstrdup (p->env[i]);
  /* runc: HOME defaults to the user's home in /etc/passwd, else "/". */
  if (env_get (p->env, "HOME") == NULL)
    {
      _cleanup_free_ char *home = NULL;
      passwd_lookup (p->user.uid, NULL, &home);
      env[i++] = xasprintf ("HOME=%s", home && home[0] ? home : "/");
    }
  env[i] = NULL;
  return env;
}

int ward_process_exec (const ward_process_t *p, ward_error_t **err)
{
  _cleanup_free_ char *path = NULL;
  _cleanup_strv_ char **env = NULL;
  int ret;

  ret = ward_process_find_executable (p, &path, err);
  if (ret < 0)
    return ret;
  env = ward_process_build_env (p);
  execve (path, p->args, env);
  {
    int e = errno;
    char ebuf[128];
    /* runc's wording: "exec /bin/x: exec format error". */
    return ward_error_set_ret (err, -e, 0, "exec %s: %s", path, ward_go_strerror (e, ebuf, sizeof ebuf));
  }
}
