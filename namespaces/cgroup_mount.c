/* The "cgroup" mount type.  On a cgroup v2 host: a cgroup2 mount (the
 * host's own cgroup bound instead when the kernel refuses, e.g. in a user
 * namespace without a cgroup namespace).  On v1 and hybrid hosts, as runc:
 * a tmpfs with every v1 hierarchy mounted below it, either as a real cgroup
 * mount (private cgroup namespace) or as a bind of the container's own
 * cgroup directory, plus the co-mount symlinks (cpu -> cpu,cpuacct). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

#define HOST_CGROUP_ROOT "/sys/fs/cgroup"

static bool has_cgroupns (const ward_config_t *cfg)
{
  for (size_t i = 0; cfg->linux_ && i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == WARD_NS_CGROUP)
      return true;
  return false;
}

static bool token_in (const char *tok, size_t len, const char *list)
{
  const char *p = list;
  while (*p)
    {
      const char *e = strchr (p, ',');
      size_t l = e ? (size_t) (e - p) : strlen (p);
      if (l == len && strncmp (p, tok, len) == 0)
        return true;
      if (!e)
        break;
      p = e + 1;
    }
  return false;
}

/* Our cgroup path in the hierarchy whose super options are super_opts
 * ("rw,cpu,cpuacct"); for cgroup2, the "0::" line. */
static char *own_cgroup_path (const char *proc_cgroup, const char *super_opts, bool v2)
{
  _cleanup_free_ char *copy = xstrdup (proc_cgroup);
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      bool match = true;
      if (c2 == NULL)
        continue;
      *c2 = '\0';
      if (v2)
        match = c1[1] == '\0';
      else if (c1[1] == '\0')
        match = false;
      else
        for (char *p = c1 + 1; *p && match;)
          {
            char *e = strchr (p, ',');
            size_t l = e ? (size_t) (e - p) : strlen (p);
            match = token_in (p, l, super_opts);
            p = e ? e + 1 : p + l;
          }
      if (match)
        return xstrdup (c2 + 1);
    }
  return NULL;
}

/* The super options without rw/ro: what a fresh mount of this hierarchy
 * needs as data. */
static char *hierarchy_data (const char *super_opts)
{
  _cleanup_free_ char *copy = xstrdup (super_opts);
  char *out = xzalloc (strlen (super_opts) + 1), *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      if (strcmp (t, "rw") == 0 || strcmp (t, "ro") == 0)
        continue;
      if (out[0])
        strcat (out, ",");
      strcat (out, t);
    }
  return out;
}

static int bind_own_cgroup (int rootfs_fd, const char *host_dir, const char *cgpath,
                            const char *dest, int target, unsigned long flags, ward_error_t **err)
{
  _cleanup_free_ char *src = xasprintf ("%s%s", host_dir, cgpath ? cgpath : "");
  _cleanup_close_ int top = -1;
  char p[WARD_FD_PATH_MAX];

  if (mount (src, ward_ns_fd_path (target, p), NULL, MS_BIND | MS_REC, NULL) < 0)
    return ward_error_set (err, errno, "bind '%s'", src);
  top = ward_open_in_root (rootfs_fd, dest, O_PATH, err);
  if (top < 0)
    return top;
  return ward_ns_remount_bind (top, flags, dest, err);
}

static int mount_v2 (const ward_rootfs_opts_t *opts, int rootfs_fd, const ward_mount_t *m,
                     const ward_mount_options_t *mo, ward_error_t **err)
{
  _cleanup_close_ int target = ward_ns_mkdir_in_root (rootfs_fd, m->destination, 0755, false, err);
  _cleanup_free_ char *proc_cgroup = NULL, *cgpath = NULL;
  char p[WARD_FD_PATH_MAX];
  int ret;

  if (target < 0)
    return target;
  if (mount ("cgroup2", ward_ns_fd_path (target, p), "cgroup2", mo->flags & ~MS_BIND, mo->data) == 0)
    return 0;
  if (errno != EPERM && errno != EBUSY)
    return ward_error_set (err, errno, "mount cgroup2");
  ret = ward_read_file_at (AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, 0, err);
  if (ret < 0)
    return ret;
  cgpath = own_cgroup_path (proc_cgroup, "", true);
  if (cgpath == NULL)
    return ward_error_set (err, ENOENT, "find our cgroup2 path in /proc/self/cgroup");
  return bind_own_cgroup (rootfs_fd, HOST_CGROUP_ROOT, cgpath, m->destination, target,
                          mo->flags, err);
}

static int mount_v1_hierarchy (const ward_rootfs_opts_t *opts, int rootfs_fd, const char *dest,
                               const ward_mountinfo_t *h, const char *proc_cgroup,
                               const ward_mount_options_t *mo, ward_error_t **err)
{
  const char *name = h->mountpoint + strlen (HOST_CGROUP_ROOT "/");
  _cleanup_free_ char *sub = xasprintf ("%s/%s", dest, name);
  _cleanup_close_ int target = ward_ns_mkdir_in_root (rootfs_fd, sub, 0755, false, err);
  unsigned long flags = mo->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  char p[WARD_FD_PATH_MAX];
  int ret;

  if (target < 0)
    return target;
  if (has_cgroupns (opts->config))
    {
      /* In a private cgroup namespace a fresh mount shows only our subtree. */
      _cleanup_free_ char *data = hierarchy_data (h->super_opts);
      if (mount ("cgroup", ward_ns_fd_path (target, p), "cgroup", flags, data)
          < 0)
        return ward_error_set (err, errno, "mount cgroup hierarchy '%s'", name);
    }
  else
    {
      _cleanup_free_ char *cgpath = own_cgroup_path (proc_cgroup, h->super_opts, false);
      /* Never fall back to the hierarchy's root: that is the host's tree. */
      if (cgpath == NULL)
        {
          ward_warn ("cgroup hierarchy '%s': own cgroup not found, not mounted", name);
          return 0;
        }
      /* The host may itself only see a subtree (mount root != "/"): our
       * path is relative to the hierarchy, the mount shows it from root. */
      const char *rel = cgpath;
      size_t rl = strlen (h->root);
      if (strcmp (h->root, "/") != 0 && strncmp (cgpath, h->root, rl) == 0
          && (cgpath[rl] == '/' || cgpath[rl] == '\0'))
        rel = cgpath + rl;
      ret = bind_own_cgroup (rootfs_fd, h->mountpoint, rel, sub, target, flags, err);
      if (ret < 0)
        return ret;
    }
  /* Co-mounted controllers get a symlink per controller name. */
  if (strchr (name, ','))
    {
      _cleanup_free_ char *copy = xstrdup (name);
      _cleanup_close_ int dir = ward_ns_mkdir_in_root (rootfs_fd, dest, 0755, false, err);
      char *save = NULL;
      if (dir < 0)
        return dir;
      for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
        if (symlinkat (name, dir, t) < 0 && errno != EEXIST)
          return ward_error_set (err, errno, "symlink '%s/%s' -> '%s'", dest, t, name);
    }
  return 0;
}

static int mount_v1 (const ward_rootfs_opts_t *opts, int rootfs_fd, const ward_mount_t *m,
                     const ward_mount_options_t *mo, ward_error_t **err)
{
  _cleanup_close_ int target = ward_ns_mkdir_in_root (rootfs_fd, m->destination, 0755, false, err);
  _cleanup_free_ char *proc_cgroup = NULL;
  ward_mountinfo_t *mi = NULL;
  size_t n = 0;
  char p[WARD_FD_PATH_MAX];
  unsigned long flags = mo->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  int ret;

  if (target < 0)
    return target;
  /* Writable while the hierarchies are placed, read-only after if asked. */
  if (mount ("tmpfs", ward_ns_fd_path (target, p), "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
    return ward_error_set (err, errno, "mount tmpfs");
  ret = ward_read_file_at (AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, 0, err);
  if (ret < 0)
    return ret;
  ret = ward_ns_mountinfo_read (&mi, &n, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      const char *mp = mi[i].mountpoint;
      /* v1 hierarchies only: runc does not show a hybrid host's unified
       * (cgroup2) tree to the container either. */
      bool cg = strcmp (mi[i].fstype, "cgroup") == 0;
      if (!cg || strncmp (mp, HOST_CGROUP_ROOT "/", sizeof HOST_CGROUP_ROOT) != 0
          || strchr (mp + sizeof HOST_CGROUP_ROOT, '/') != NULL)
        continue;
      ret = mount_v1_hierarchy (opts, rootfs_fd, m->destination, &mi[i], proc_cgroup, mo, err);
    }
  ward_ns_mountinfo_free (mi, n);
  if (ret < 0)
    return ret;
  if (flags & MS_RDONLY)
    {
      _cleanup_close_ int top = ward_open_in_root (rootfs_fd, m->destination, O_PATH, err);
      if (top < 0)
        return top;
      return ward_ns_remount_bind (top, flags, m->destination, err);
    }
  return 0;
}

int ward_ns_mount_cgroup (const ward_rootfs_opts_t *opts, int rootfs_fd, const ward_mount_t *m,
                          const ward_mount_options_t *mo, ward_error_t **err)
{
  struct statfs sf;
  if (opts->before_cgroup_mount)
    {
      int ret = opts->before_cgroup_mount (opts->before_cgroup_mount_data, err);
      if (ret < 0)
        return ret;
    }
  if (statfs (HOST_CGROUP_ROOT, &sf) < 0)
    return ward_error_set (err, errno, "statfs '%s'", HOST_CGROUP_ROOT);
  if ((unsigned long) sf.f_type == (unsigned long) CGROUP2_SUPER_MAGIC)
    return mount_v2 (opts, rootfs_fd, m, mo, err);
  return mount_v1 (opts, rootfs_fd, m, mo, err);
}
