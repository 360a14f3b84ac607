/* Namespace creation flags, joining by path, user-namespace id maps, time
 * namespace offsets and the UTS names. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const unsigned long ns_flag[WARD_NS__COUNT] = {
  [WARD_NS_PID] = CLONE_NEWPID,     [WARD_NS_NETWORK] = CLONE_NEWNET,
  [WARD_NS_MOUNT] = CLONE_NEWNS,    [WARD_NS_IPC] = CLONE_NEWIPC,
  [WARD_NS_UTS] = CLONE_NEWUTS,     [WARD_NS_USER] = CLONE_NEWUSER,
  [WARD_NS_CGROUP] = CLONE_NEWCGROUP, [WARD_NS_TIME] = CLONE_NEWTIME,
};

static const char *ns_name (ward_ns_type_t t)
{
  static const char *names[WARD_NS__COUNT] = {
    [WARD_NS_PID] = "pid",       [WARD_NS_NETWORK] = "network", [WARD_NS_MOUNT] = "mount",
    [WARD_NS_IPC] = "ipc",       [WARD_NS_UTS] = "uts",         [WARD_NS_USER] = "user",
    [WARD_NS_CGROUP] = "cgroup", [WARD_NS_TIME] = "time",
  };
  return (unsigned) t < WARD_NS__COUNT ? names[t] : "unknown";
}

static const ward_namespace_t *find_ns (const ward_config_t *cfg, ward_ns_type_t t)
{
  if (cfg == NULL || cfg->linux_ == NULL)
    return NULL;
  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == t)
      return &cfg->linux_->namespaces[i];
  return NULL;
}

unsigned long ward_ns_clone_flags (const ward_config_t *cfg)
{
  unsigned long flags = 0;
  if (cfg == NULL || cfg->linux_ == NULL)
    return 0;
  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    {
      const ward_namespace_t *ns = &cfg->linux_->namespaces[i];
      if ((unsigned) ns->type >= WARD_NS__COUNT || ns->type == WARD_NS_TIME)
        continue;
      if (ns->path == NULL || ns->path[0] == '\0')
        flags |= ns_flag[ns->type];
    }
  return flags;
}

void ward_ns_close_fds (int fds[WARD_NS__COUNT])
{
  for (int i = 0; i < WARD_NS__COUNT; i++)
    if (fds[i] >= 0)
      {
        close (fds[i]);
        fds[i] = -1;
      }
}

int ward_ns_open_paths (const ward_config_t *cfg, int fds[WARD_NS__COUNT], ward_error_t **err)
{
  for (int i = 0; i < WARD_NS__COUNT; i++)
    fds[i] = -1;
  if (cfg == NULL || cfg->linux_ == NULL)
    return 0;
  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    {
      const ward_namespace_t *ns = &cfg->linux_->namespaces[i];
      _cleanup_close_ int fd = -1;
      int type;

      if (ns->path == NULL || ns->path[0] == '\0' || (unsigned) ns->type >= WARD_NS__COUNT)
        continue;
      fd = open (ns->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int ret = ward_error_set (err, errno, "open %s namespace path '%s'", ns_name (ns->type),
                                    ns->path);
          ward_ns_close_fds (fds);
          return ret;
        }
      type = ioctl (fd, NS_GET_NSTYPE);
      if (type < 0)
        {
          int ret = ward_error_set (err, errno == ENOTTY ? EINVAL : errno,
                                    "%s namespace path '%s' is not a namespace file",
                                    ns_name (ns->type), ns->path);
          ward_ns_close_fds (fds);
          return ret;
        }
      if ((unsigned long) type != ns_flag[ns->type])
        {
          int ret = ward_error_set (err, EINVAL, "namespace path '%s' is not of type %s",
                                    ns->path, ns_name (ns->type));
          ward_ns_close_fds (fds);
          return ret;
        }
      if (fds[ns->type] >= 0)
        close (fds[ns->type]);
      fds[ns->type] = TAKE_FD (fd);
    }
  return 0;
}

int ward_ns_join (int fds[WARD_NS__COUNT], bool user_only, ward_error_t **err)
{
  /* The mount namespace goes last: joining it changes root and cwd, which
   * later setns calls do not need but hooks and paths relative to them do. */
  static const ward_ns_type_t order[] = {
    WARD_NS_IPC, WARD_NS_UTS, WARD_NS_NETWORK, WARD_NS_PID,
    WARD_NS_CGROUP, WARD_NS_TIME, WARD_NS_MOUNT,
  };
  if (user_only)
    {
      if (fds[WARD_NS_USER] >= 0 && setns (fds[WARD_NS_USER], CLONE_NEWUSER) < 0)
        return ward_error_set (err, errno, "join user namespace");
      return 0;
    }
  for (size_t i = 0; i < ARRAY_SIZE (order); i++)
    {
      ward_ns_type_t t = order[i];
      if (fds[t] < 0)
        continue;
      if (setns (fds[t], (int) ns_flag[t]) < 0)
        return ward_error_set (err, errno, "join %s namespace", ns_name (t));
    }
  return 0;
}

static char *format_maps (const ward_id_mapping_t *m, size_t n)
{
  size_t cap = n * 40 + 1, used = 0;
  char *buf = xmalloc (cap);
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    used += (size_t) snprintf (buf + used, cap - used, "%u %u %u\n", m[i].container_id,
                               m[i].host_id, m[i].size);
  return buf;
}

static bool have_cap_setgid (void)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  memset (data, 0, sizeof data);
  if (syscall (SYS_capget, &hdr, data) < 0)
    return false;
  return (data[0].effective & (1u << CAP_SETGID)) != 0;
}

static int write_proc_file (pid_t pid, const char *name, const char *data, ward_error_t **err)
{
  char path[64];
  _cleanup_close_ int fd = -1;
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, name);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  /* The kernel accepts exactly one write per map file. */
  if (write (fd, data, strlen (data)) < 0)
    return ward_error_set (err, errno, "write '%s'", path);
  return 0;
}

int ward_ns_write_id_maps (pid_t pid, const ward_config_t *cfg, ward_error_t **err)
{
  const ward_linux_t *l = cfg ? cfg->linux_ : NULL;
  int ret;

  if (l == NULL)
    return 0;
  if (l->uid_mappings_len > 0)
    {
      _cleanup_free_ char *maps = format_maps (l->uid_mappings, l->uid_mappings_len);
      ret = write_proc_file (pid, "uid_map", maps, err);
      if (ret < 0)
        return ward_error_wrap (err, "write uid mappings '%s'", maps);
    }
  if (l->gid_mappings_len > 0)
    {
      _cleanup_free_ char *maps = format_maps (l->gid_mappings, l->gid_mappings_len);
      /* Without CAP_SETGID the kernel only accepts a gid map once setgroups
       * is denied (since 3.19, CVE-2014-8989); as root we leave it alone so
       * the container may still call setgroups. */
      if (geteuid () != 0 || !have_cap_setgid ())
        {
          ret = write_proc_file (pid, "setgroups", "deny", err);
          if (ret < 0 && ret != -ENOENT)
            return ret;
          ward_error_free (err);
        }
      ret = write_proc_file (pid, "gid_map", maps, err);
      if (ret < 0)
        return ward_error_wrap (err, "write gid mappings '%s'", maps);
    }
  return 0;
}

int ward_ns_setup_time (const ward_config_t *cfg, ward_error_t **err)
{
  const ward_namespace_t *ns = find_ns (cfg, WARD_NS_TIME);
  const ward_linux_t *l = cfg ? cfg->linux_ : NULL;
  size_t cap, used = 0;
  _cleanup_free_ char *buf = NULL;
  _cleanup_close_ int fd = -1;

  if (ns == NULL || (ns->path && ns->path[0]))
    return 0;
  if (unshare (CLONE_NEWTIME) < 0)
    return ward_error_set (err, errno, "unshare time namespace");
  if (l == NULL || l->time_offsets_len == 0)
    return 0;
  cap = l->time_offsets_len * 64 + 1;
  buf = xmalloc (cap);
  buf[0] = '\0';
  for (size_t i = 0; i < l->time_offsets_len; i++)
    {
      const ward_time_offset_t *o = &l->time_offsets[i];
      if (o->clock == NULL || (strcmp (o->clock, "monotonic") && strcmp (o->clock, "boottime")))
        return ward_error_set (err, EINVAL, "time offset: unknown clock '%s'",
                               o->clock ? o->clock : "");
      used += (size_t) snprintf (buf + used, cap - used, "%s %lld %u\n", o->clock,
                                 (long long) o->secs, o->nanosecs);
    }
  fd = open ("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '/proc/self/timens_offsets'");
  /* Offsets can only be written before any process has entered the new
   * namespace, so all of them go in one write. */
  if (write (fd, buf, used) < 0)
    return ward_error_set (err, errno, "write '/proc/self/timens_offsets'");
  return 0;
}

int ward_ns_check_uts (const ward_config_t *cfg, ward_error_t **err)
{
  bool has_uts = find_ns (cfg, WARD_NS_UTS) != NULL;
  if (cfg == NULL)
    return 0;
  if (cfg->hostname && cfg->hostname[0] && !has_uts)
    return ward_error_set (err, 0, "unable to set hostname without a private UTS namespace");
  if (cfg->domainname && cfg->domainname[0] && !has_uts)
    return ward_error_set (err, 0, "unable to set domainname without a private UTS namespace");
  return 0;
}

int ward_ns_set_hostname (const ward_config_t *cfg, ward_error_t **err)
{
  int ret = ward_ns_check_uts (cfg, err);
  if (ret < 0 || cfg == NULL)
    return ret;
  if (cfg->hostname && cfg->hostname[0]
      && sethostname (cfg->hostname, strlen (cfg->hostname)) < 0)
    return ward_error_set (err, errno, "sethostname '%s'", cfg->hostname);
  if (cfg->domainname && cfg->domainname[0]
      && setdomainname (cfg->domainname, strlen (cfg->domainname)) < 0)
    return ward_error_set (err, errno, "setdomainname '%s'", cfg->domainname);
  return 0;
}

static const char *const proc_ns_file[WARD_NS__COUNT] = {
  [WARD_NS_PID] = "pid",       [WARD_NS_NETWORK] = "net",   [WARD_NS_MOUNT] = "mnt",
  [WARD_NS_IPC] = "ipc",       [WARD_NS_UTS] = "uts",       [WARD_NS_USER] = "user",
  [WARD_NS_CGROUP] = "cgroup", [WARD_NS_TIME] = "time",
};

/* True when /proc/<pid>/ns/<name> is another namespace than ours. */
static bool ns_differs (pid_t pid, const char *name)
{
  char theirs[64], ours[64];
  struct stat a, b;
  snprintf (theirs, sizeof theirs, "/proc/%d/ns/%s", (int) pid, name);
  snprintf (ours, sizeof ours, "/proc/self/ns/%s", name);
  if (stat (theirs, &a) < 0 || stat (ours, &b) < 0)
    return false;
  return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

int ward_ns_enter_pid (pid_t pid, int pidfd, ward_error_t **err)
{
  _cleanup_close_ int own_pidfd = -1;
  int fds[WARD_NS__COUNT];
  unsigned long flags = 0;
  int ret = 0;

  for (int t = 0; t < WARD_NS__COUNT; t++)
    if (ns_differs (pid, proc_ns_file[t]))
      flags |= ns_flag[t];
  if (flags == 0)
    return 0;
  if (pidfd < 0)
    pidfd = own_pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  /* One call joins them all at once, the user namespace first, and fails
   * as a whole: no half-entered process. */
  if (pidfd >= 0 && setns (pidfd, (int) flags) == 0)
    return 0;
  if (pidfd >= 0 && errno != EINVAL)
    return ward_error_set (err, errno, "join the namespaces of pid %d", (int) pid);
  /* Older kernels: open every namespace file first (the process may exit
   * meanwhile), then join the user namespace, then the rest. */
  for (int t = 0; t < WARD_NS__COUNT; t++)
    {
      char path[64];
      fds[t] = -1;
      if (!(flags & ns_flag[t]))
        continue;
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) pid, proc_ns_file[t]);
      fds[t] = open (path, O_RDONLY | O_CLOEXEC);
      if (fds[t] < 0 && ret == 0)
        ret = ward_error_set (err, errno, "open '%s'", path);
    }
  if (ret == 0)
    ret = ward_ns_join (fds, true, err);
  if (ret == 0)
    ret = ward_ns_join (fds, false, err);
  ward_ns_close_fds (fds);
  if (ret < 0)
    return ward_error_wrap (err, "join the namespaces of pid %d", (int) pid);
  return 0;
}
