/* cgroup manager: mode detection, path resolution (runc-compatible), create,
 * enter, kill, pids, destroy, save/restore, and dispatch to the back ends. */
#include "cgroups/cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

int ward_cgroup_mode (void)
{
  static int cached;
  struct statfs sfs;

  if (cached)
    return cached;
  if (statfs (WARD_CG_ROOT, &sfs) < 0)
    return -errno;
  if (sfs.f_type == CGROUP2_SUPER_MAGIC)
    cached = WARD_CGROUP_MODE_V2;
  else if (sfs.f_type == TMPFS_MAGIC)
    {
      if (statfs (WARD_CG_UNIFIED_HYBRID, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
        cached = WARD_CGROUP_MODE_HYBRID;
      else
        cached = WARD_CGROUP_MODE_V1;
    }
  else
    return -ENOENT;
  return cached;
}

/* ---- small shared helpers -------------------------------------------- */

int ward_cg_open_dir (const char *dir)
{
  return open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

bool ward_cg_has_file (int dirfd, const char *file)
{
  return dirfd >= 0 && faccessat (dirfd, file, F_OK, 0) == 0;
}

int ward_cg_unsupported (ward_error_t **err, const char *res, const char *what,
                         const char *why)
{
  return ward_error_set_ret (err, -ENOTSUP, 0, "%s: %s: %s", res, what, why);
}

static int cg_vwrite (int dirfd, const char *file, const char *fmt, va_list ap, char **valp)
{
  _cleanup_free_ char *val = NULL;
  _cleanup_close_ int fd = -1;

  if (vasprintf (&val, fmt, ap) < 0)
    abort ();
  fd = openat (dirfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    {
      *valp = TAKE_PTR (val);
      return -errno;
    }
  if (ward_write_all (fd, val, strlen (val)) < 0)
    {
      *valp = TAKE_PTR (val);
      return -errno;
    }
  return 0;
}

int ward_cg_write (int dirfd, const char *res, const char *file, ward_error_t **err,
                   const char *fmt, ...)
{
  _cleanup_free_ char *val = NULL;
  va_list ap;
  int ret;

  if (dirfd < 0)
    return ward_cg_unsupported (err, res, file, "controller not available on this host");
  va_start (ap, fmt);
  ret = cg_vwrite (dirfd, file, fmt, ap, &val);
  va_end (ap);
  if (ret == -ENOENT)
    {
      /* On v2 the usual cause is a controller the parent did not delegate. */
      _cleanup_free_ char *ctrls = NULL, *ctl = xstrndup (file, strcspn (file, "."));
      if (ward_read_file_at (dirfd, "cgroup.controllers", &ctrls, NULL, 0, NULL) == 0
          && strcmp (ctl, "cgroup") != 0)
        {
          bool found = false;
          for (char *s = NULL, *c = strtok_r (ctrls, " \n", &s); c && !found;
               c = strtok_r (NULL, " \n", &s))
            found = strcmp (c, ctl) == 0;
          if (!found)
            return ward_error_set_ret (err, -ENOTSUP, 0,
                                       "%s: %s: controller '%s' is not enabled for this cgroup "
                                       "(parent's cgroup.subtree_control)",
                                       res, file, ctl);
        }
      return ward_cg_unsupported (err, res, file, "not supported by this kernel");
    }
  if (ret < 0)
    return ward_error_set (err, -ret, "%s: write '%s' to '%s'", res, val ? val : "", file);
  return 0;
}

int ward_cg_write_opt (int dirfd, const char *file, const char *fmt, ...)
{
  _cleanup_free_ char *val = NULL;
  va_list ap;
  int ret;

  if (dirfd < 0)
    return 1;
  va_start (ap, fmt);
  ret = cg_vwrite (dirfd, file, fmt, ap, &val);
  va_end (ap);
  if (ret == -ENOENT)
    return 1;
  return ret;
}

uint64_t ward_cg_read_u64 (int dirfd, const char *file)
{
  _cleanup_free_ char *buf = NULL;
  unsigned long long v;

  if (dirfd < 0 || ward_read_file_at (dirfd, file, &buf, NULL, 4096, NULL) < 0)
    return 0;
  buf[strcspn (buf, "\n")] = '\0';
  if (strcmp (buf, "max") == 0)
    return UINT64_MAX;
  if (ward_parse_u64 (buf, &v) < 0)
    return 0;
  return v;
}

uint64_t ward_cg_read_key (int dirfd, const char *file, const char *key)
{
  _cleanup_free_ char *buf = NULL;
  size_t klen = strlen (key);

  if (dirfd < 0 || ward_read_file_at (dirfd, file, &buf, NULL, 0, NULL) < 0)
    return 0;
  for (char *line = buf; line && *line;)
    {
      char *nl = strchr (line, '\n');
      if (nl)
        *nl = '\0';
      if (strncmp (line, key, klen) == 0 && line[klen] == ' ')
        return strtoull (line + klen + 1, NULL, 10);
      line = nl ? nl + 1 : NULL;
    }
  return 0;
}

int ward_cg_check_usage (int dirfd, const char *usage_file, const ward_memory_t *m,
                         ward_error_t **err)
{
  uint64_t usage;

  if (m == NULL || !m->has_check_before_update || !m->check_before_update || !m->has_limit
      || m->limit <= 0)
    return 0;
  usage = ward_cg_read_u64 (dirfd, usage_file);
  if ((uint64_t) m->limit < usage)
    return ward_error_set_ret (err, -EBUSY, 0,
                               "linux.resources.memory.limit: %lld is lower than the current "
                               "usage %llu (checkBeforeUpdate)",
                               (long long) m->limit, (unsigned long long) usage);
  return 0;
}

const char *ward_cg_v1_dir (const ward_cgroup_t *cg, const char *name)
{
  size_t nlen = strlen (name);
  for (size_t i = 0; i < cg->v1_len; i++)
    {
      const char *c = cg->v1[i].controllers;
      while (c && *c)
        {
          size_t l = strcspn (c, ",");
          if (l == nlen && strncmp (c, name, nlen) == 0)
            return cg->v1[i].dir;
          c = c[l] ? c + l + 1 : NULL;
        }
    }
  return NULL;
}

/* ---- path resolution --------------------------------------------------- */

/* Normalises p as if it were rooted at "/": "..", "." and repeated slashes
 * go, so that a cgroupsPath can never climb out of its base (runc's
 * CleanPath does the same). Result always starts with '/'. */
static char *clean_path (const char *p)
{
  size_t n = strlen (p);
  char *out = xmalloc (n + 2);
  size_t o = 0;

  out[o++] = '/';
  while (*p)
    {
      size_t l;
      while (*p == '/')
        p++;
      l = strcspn (p, "/");
      if (l == 0)
        break;
      if (l == 1 && p[0] == '.')
        ;
      else if (l == 2 && p[0] == '.' && p[1] == '.')
        {
          while (o > 1 && out[o - 1] != '/')
            o--;
          if (o > 1)
            o--;
        }
      else
        {
          if (o > 1)
            out[o++] = '/';
          memcpy (out + o, p, l);
          o += l;
        }
      p += l;
    }
  out[o] = '\0';
  return out;
}

static char *join_path (const char *a, const char *b)
{
  _cleanup_free_ char *j = xasprintf ("%s/%s", a, b);
  return clean_path (j);
}

/* Strips the mount's root from a hierarchy path (when /sys/fs/cgroup/X
 * itself shows a sub-tree, as inside a container). */
static const char *strip_root (const char *path, const char *root)
{
  size_t l = strlen (root);
  if (strcmp (root, "/") == 0)
    return path;
  if (strncmp (path, root, l) == 0 && (path[l] == '/' || path[l] == '\0'))
    return path + l;
  return path;
}

typedef struct
{
  char *controllers; /* from /proc/self/cgroup */
  char *own;         /* our own cgroup in that hierarchy */
  char *mountpoint;
  char *mount_root;
} hier_info_t;

static void hier_info_free (hier_info_t *h, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (h[i].controllers);
      free (h[i].own);
      free (h[i].mountpoint);
      free (h[i].mount_root);
    }
  free (h);
}

/* Unescapes mountinfo's octal escapes (\040 for space) in place. */
static void unescape_mountinfo (char *s)
{
  char *o = s;
  for (; *s; s++)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          *o++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
          s += 3;
        }
      else
        *o++ = *s;
    }
  *o = '\0';
}

static bool opts_has (const char *opts, const char *name)
{
  size_t nlen = strlen (name);
  while (opts && *opts)
    {
      size_t l = strcspn (opts, ",");
      if (l == nlen && strncmp (opts, name, l) == 0)
        return true;
      opts = opts[l] ? opts + l + 1 : NULL;
    }
  return false;
}

/* Reads /proc/self/cgroup and /proc/self/mountinfo: for every mounted v1
 * hierarchy its controllers, our own path in it and where it is mounted;
 * *unified_own receives the "0::" path. */
static int read_v1_hierarchies (hier_info_t **out, size_t *n_out, char **unified_own,
                                ward_error_t **err)
{
  _cleanup_free_ char *cg = NULL, *mi = NULL;
  hier_info_t *h = NULL;
  size_t n = 0;
  int ret;

  ret = ward_read_file_at (AT_FDCWD, "/proc/self/cgroup", &cg, NULL, 0, err);
  if (ret < 0)
    return ret;
  ret = ward_read_file_at (AT_FDCWD, "/proc/self/mountinfo", &mi, NULL, 0, err);
  if (ret < 0)
    return ret;
  *unified_own = NULL;
  for (char *save = NULL, *line = strtok_r (cg, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (!c2)
        continue;
      *c1 = *c2 = '\0';
      if (strcmp (line, "0") == 0 && c1[1] == '\0')
        {
          free (*unified_own);
          *unified_own = xstrdup (c2 + 1);
          continue;
        }
      if (c1[1] == '\0')
        continue;
      h = xrealloc (h, (n + 1) * sizeof *h);
      h[n] = (hier_info_t){ .controllers = xstrdup (c1 + 1), .own = xstrdup (c2 + 1) };
      n++;
    }
  for (char *save = NULL, *line = strtok_r (mi, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
      char *f[5] = { 0 }, *sep, *fstype, *source, *superopts, *p = line;
      size_t k;
      for (k = 0; k < 5; k++)
        {
          f[k] = strsep (&p, " ");
          if (!f[k] || !p)
            break;
        }
      if (k < 5)
        continue;
      sep = strstr (p, " - ");
      if (!sep)
        continue;
      fstype = sep + 3;
      source = strchr (fstype, ' ');
      if (!source)
        continue;
      *source++ = '\0';
      superopts = strchr (source, ' ');
      if (!superopts || strcmp (fstype, "cgroup") != 0)
        continue;
      superopts++;
      for (size_t i = 0; i < n; i++)
        {
          char first[64];
          size_t l = strcspn (h[i].controllers, ",");
          if (h[i].mountpoint || l >= sizeof first)
            continue;
          memcpy (first, h[i].controllers, l);
          first[l] = '\0';
          if (!opts_has (superopts, first))
            continue;
          unescape_mountinfo (f[3]);
          unescape_mountinfo (f[4]);
          h[i].mount_root = xstrdup (f[3]);
          h[i].mountpoint = xstrdup (f[4]);
          break;
        }
    }
  *out = h;
  *n_out = n;
  return 0;
}

/* mkdir every missing level of dir below base; for cpuset, copies the
 * parent's cpus/mems into each new level, since an empty cpuset refuses
 * tasks with ENOSPC. */
static int mkdir_levels (const char *base, const char *dir, bool cpuset, ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (dir);
  size_t blen = strlen (base);

  for (char *p = copy + blen;; p++)
    {
      bool end = *p == '\0';
      if (*p != '/' && !end)
        continue;
      if (p == copy + blen)
        {
          if (end)
            break;
          continue;
        }
      *p = '\0';
      if (mkdir (copy, 0755) < 0)
        {
          if (errno != EEXIST)
            return ward_error_set (err, errno, "mkdir '%s'", copy);
        }
      if (cpuset)
        {
          _cleanup_close_ int fd = ward_cg_open_dir (copy);
          _cleanup_close_ int pfd = -1;
          if (fd < 0)
            return ward_error_set (err, errno, "open '%s'", copy);
          pfd = openat (fd, "..", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
          if (pfd < 0)
            return ward_error_set (err, errno, "open '%s/..'", copy);
          for (int i = 0; i < 2; i++)
            {
              const char *file = i ? "cpuset.mems" : "cpuset.cpus";
              _cleanup_free_ char *cur = NULL, *par = NULL;
              if (ward_read_file_at (fd, file, &cur, NULL, 0, err) < 0)
                return ward_error_wrap (err, "%s", copy);
              if (strspn (cur, " \n") != strlen (cur))
                continue;
              if (ward_read_file_at (pfd, file, &par, NULL, 0, err) < 0)
                return ward_error_wrap (err, "%s", copy);
              if (ward_write_file_at (fd, file, par, strlen (par), err) < 0)
                return ward_error_wrap (err, "%s", copy);
            }
        }
      if (end)
        break;
      *p = '/';
    }
  return 0;
}

/* v2: enables the available controllers (or only `only`) in each
 * ancestor's subtree_control so the leaf gets their interface files.  A
 * level that has processes refuses (no internal processes rule).  Returns
 * the first failure for `only`, 0 otherwise. */
static int enable_controllers (const char *root, const char *dir, const char *only)
{
  _cleanup_free_ char *copy = xstrdup (dir);
  size_t rlen = strlen (root);
  char *last = strrchr (copy, '/');
  int ret = 0;

  if (last == NULL || (size_t) (last - copy) < rlen)
    return 0;
  for (char *p = copy + rlen;; p++)
    {
      _cleanup_free_ char *ctrls = NULL;
      _cleanup_close_ int fd = -1;
      bool end = p >= last;
      char saved = *p;
      if (*p != '/' && !end)
        continue;
      *p = '\0';
      fd = ward_cg_open_dir (copy);
      if (fd >= 0 && ward_read_file_at (fd, "cgroup.controllers", &ctrls, NULL, 0, NULL) == 0)
        {
          for (char *s = NULL, *c = strtok_r (ctrls, " \n", &s); c; c = strtok_r (NULL, " \n", &s))
            {
              int r;
              if (only && strcmp (only, c) != 0)
                continue;
              r = ward_cg_write_opt (fd, "cgroup.subtree_control", "+%s", c);
              if (r < 0)
                {
                  ward_debug ("cgroup: cannot enable %s in '%s': %s", c, copy, strerror (-r));
                  if (ret == 0)
                    ret = r;
                }
            }
        }
      *p = saved;
      if (end)
        break;
    }
  return ret;
}

int ward_cg_unified_enable (const ward_cgroup_t *cg, const char *controller)
{
  const char *root = cg->mode == WARD_CGROUP_MODE_V2 ? WARD_CG_ROOT : WARD_CG_UNIFIED_HYBRID;
  if (cg->unified_dir == NULL)
    return -ENOENT;
  return enable_controllers (root, cg->unified_dir, controller);
}

static bool resources_empty (const ward_resources_t *r)
{
  return r == NULL
         || (r->devices_len == 0 && !r->memory && !r->cpu && !r->block_io
             && r->hugepage_limits_len == 0 && !r->network && !r->has_pids_limit
             && r->rdma_len == 0 && r->unified_len == 0);
}

/* EACCES/EPERM/EROFS when rootless and nothing to limit: go on without. */
static bool tolerable (const ward_cgroup_config_t *cfg, int ret)
{
  return cfg->rootless && resources_empty (cfg->resources)
         && (ret == -EACCES || ret == -EPERM || ret == -EROFS);
}

int ward_cgroup_create (const ward_cgroup_config_t *cfg, ward_cgroup_t **out, ward_error_t **err)
{
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  _cleanup_free_ char *inner = NULL, *unified_own = NULL;
  hier_info_t *h = NULL;
  size_t hn = 0;
  bool absolute;
  int mode, ret;

  _cleanup_free_ char *sd_unit = NULL, *sd_slice = NULL, *sd_path = NULL;

  if (cfg->systemd)
    {
      ward_cgroup_systemd_name_t sd;
      if (!ward_cgroup_systemd_available ())
        return ward_error_set_ret (err, -ENOTSUP, 0,
                                   "systemd cgroup driver: systemd is not running "
                                   "(no /run/systemd/system)");
      ret = ward_cgroup_systemd_parse (cfg->cgroups_path, cfg->id, &sd, err);
      if (ret < 0)
        return ret;
      sd_unit = sd.unit;
      sd_slice = sd.slice;
      sd_path = sd.path;
    }
  mode = ward_cgroup_mode ();
  if (mode < 0)
    return ward_error_set (err, -mode, "statfs '%s'", WARD_CG_ROOT);
  /* systemd driver: the unit's cgroup, made here like any other (systemd
   * accepts an existing directory) and handed to systemd at enter time */
  if (sd_path)
    {
      absolute = true;
      inner = xstrdup (sd_path);
    }
  else if (cfg->cgroups_path && *cfg->cgroups_path)
    {
      if (strchr (cfg->cgroups_path, '\n'))
        return ward_error_set (err, 0, "linux.cgroupsPath: newline in '%s'", cfg->cgroups_path);
      absolute = cfg->cgroups_path[0] == '/';
      inner = clean_path (cfg->cgroups_path);
    }
  else
    {
      /* runc: no cgroupsPath means Name = id, a path relative to our own cgroup. */
      if (cfg->id == NULL || *cfg->id == '\0' || strchr (cfg->id, '/') || strchr (cfg->id, '\n'))
        return ward_error_set (err, 0, "cgroup: invalid container id for the default path");
      absolute = false;
      inner = clean_path (cfg->id);
    }
  if (strcmp (inner, "/") == 0)
    return ward_error_set (err, 0, "linux.cgroupsPath: '%s' is the root cgroup",
                           cfg->cgroups_path ? cfg->cgroups_path : "");

  ret = read_v1_hierarchies (&h, &hn, &unified_own, err);
  if (ret < 0)
    return ward_error_wrap (err, "cgroup");

  cg = xzalloc (sizeof *cg);
  cg->mode = mode;
  cg->clone_fd = -1;
  cg->systemd_unit = TAKE_PTR (sd_unit);
  cg->systemd_slice = TAKE_PTR (sd_slice);

  if (mode == WARD_CGROUP_MODE_V2 || mode == WARD_CGROUP_MODE_HYBRID)
    {
      const char *root = mode == WARD_CGROUP_MODE_V2 ? WARD_CG_ROOT : WARD_CG_UNIFIED_HYBRID;
      _cleanup_free_ char *final = NULL;
      if (absolute)
        final = xstrdup (inner);
      else
        {
          _cleanup_free_ char *base = clean_path (unified_own ? unified_own : "/");
          /* runc (fs2): relative to the parent of our own cgroup, which has
           * processes and so cannot delegate controllers. */
          if (mode == WARD_CGROUP_MODE_V2)
            {
              char *slash = strrchr (base, '/');
              if (slash == base)
                base[1] = '\0';
              else if (slash)
                *slash = '\0';
            }
          final = join_path (base, inner);
        }
      cg->unified_dir = xasprintf ("%s%s", root, final);
      if (mode == WARD_CGROUP_MODE_V2)
        cg->path = TAKE_PTR (final);
      ret = mkdir_levels (root, cg->unified_dir, false, err);
      if (ret < 0)
        {
          if (!tolerable (cfg, ret))
            {
              hier_info_free (h, hn);
              return ward_error_wrap (err, "cgroup");
            }
          ward_error_free (err);
          free (cg->unified_dir);
          cg->unified_dir = NULL;
        }
      else if (mode == WARD_CGROUP_MODE_V2)
        enable_controllers (root, cg->unified_dir, NULL);
      if (mode == WARD_CGROUP_MODE_V2)
        {
          hier_info_free (h, hn);
          *out = TAKE_PTR (cg);
          return 0;
        }
    }

  for (size_t i = 0; i < hn; i++)
    {
      _cleanup_free_ char *final = NULL, *dir = NULL;
      if (h[i].mountpoint == NULL)
        continue;
      if (absolute)
        final = xstrdup (inner);
      else
        {
          _cleanup_free_ char *own = clean_path (strip_root (h[i].own, h[i].mount_root));
          final = join_path (own, inner);
        }
      dir = xasprintf ("%s%s", strcmp (h[i].mountpoint, "/") == 0 ? "" : h[i].mountpoint, final);
      ret = mkdir_levels (h[i].mountpoint, dir, opts_has (h[i].controllers, "cpuset"), err);
      if (ret < 0)
        {
          if (tolerable (cfg, ret))
            {
              ward_error_free (err);
              continue;
            }
          hier_info_free (h, hn);
          return ward_error_wrap (err, "cgroup");
        }
      if (cg->path == NULL
          && (opts_has (h[i].controllers, "memory") || opts_has (h[i].controllers, "cpu")))
        cg->path = xstrdup (final);
      cg->v1 = xrealloc (cg->v1, (cg->v1_len + 1) * sizeof *cg->v1);
      cg->v1[cg->v1_len].controllers = xstrdup (h[i].controllers);
      cg->v1[cg->v1_len].dir = TAKE_PTR (dir);
      cg->v1_len++;
    }
  hier_info_free (h, hn);
  if (cg->path == NULL)
    cg->path = xstrdup (inner);
  *out = TAKE_PTR (cg);
  return 0;
}

int ward_cgroup_clone_fd (ward_cgroup_t *cg)
{
  /* systemd: the init is cloned outside and put into the unit with its pid */
  if (cg->mode != WARD_CGROUP_MODE_V2 || cg->unified_dir == NULL
      || (cg->systemd_unit && !cg->systemd_started))
    return -1;
  if (cg->clone_fd < 0)
    cg->clone_fd = open (cg->unified_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return cg->clone_fd;
}

int ward_cgroup_prepare_clone (ward_cgroup_t *cg, int *clone_fd, int **task_fds, size_t *n,
                               ward_error_t **err)
{
  _cleanup_free_ int *fds = NULL;
  size_t got = 0;

  *clone_fd = -1;
  *task_fds = NULL;
  *n = 0;
  if (cg->systemd_unit && !cg->systemd_started)
    return 0;
  if (cg->unified_dir)
    {
      if (cg->clone_fd < 0)
        cg->clone_fd = open (cg->unified_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (cg->clone_fd < 0)
        return ward_error_set (err, errno, "open '%s'", cg->unified_dir);
      *clone_fd = cg->clone_fd;
    }
  if (cg->v1_len)
    fds = xmalloc (sizeof *fds * cg->v1_len);
  for (size_t i = 0; i < cg->v1_len; i++)
    {
      _cleanup_close_ int dir = ward_cg_open_dir (cg->v1[i].dir);
      int fd = dir < 0 ? -1 : openat (dir, "tasks", O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int e = errno;
          while (got > 0)
            close (fds[--got]);
          return ward_error_set (err, e, "open '%s/tasks'", cg->v1[i].dir);
        }
      fds[got++] = fd;
    }
  *task_fds = TAKE_PTR (fds);
  *n = got;
  return 1;
}

int ward_cgroup_enter_self (int *task_fds, size_t n, ward_error_t **err)
{
  int ret = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (task_fds[i] < 0)
        continue;
      /* "0" is the writing thread: cgroup_procs_write_start() then takes
       * no threadgroup lock, so no RCU grace period. */
      if (ret == 0 && write (task_fds[i], "0", 1) != 1)
        {
          int e = errno;
          char link[64], path[4096];
          ssize_t l;
          snprintf (link, sizeof link, "/proc/self/fd/%d", task_fds[i]);
          l = readlink (link, path, sizeof path - 1);
          path[l > 0 ? l : 0] = '\0';
          ret = ward_error_set (err, e, "enter cgroup: write '%s'", l > 0 ? path : link);
        }
      close (task_fds[i]);
      task_fds[i] = -1;
    }
  return ret;
}

int ward_cg_write_procs (const char *dir, pid_t pid, ward_error_t **err)
{
  _cleanup_close_ int fd = ward_cg_open_dir (dir);
  char buf[32];
  int ret;

  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  snprintf (buf, sizeof buf, "%d", (int) pid);
  ret = ward_write_file_at (fd, "cgroup.procs", buf, strlen (buf), err);
  if (ret < 0)
    return ward_error_wrap (err, "enter cgroup '%s'", dir);
  return 0;
}

int ward_cgroup_enter (ward_cgroup_t *cg, pid_t pid, ward_error_t **err)
{
  int ret;
  if (cg->systemd_unit && !cg->systemd_started
      && (ret = ward_cg_systemd_start (cg, pid, err)) < 0)
    return ret;
  for (size_t i = 0; i < cg->v1_len; i++)
    if ((ret = ward_cg_write_procs (cg->v1[i].dir, pid, err)) < 0)
      return ret;
  if (cg->unified_dir && (ret = ward_cg_write_procs (cg->unified_dir, pid, err)) < 0)
    return ret;
  return 0;
}

int ward_cgroup_apply (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err)
{
  if (res == NULL)
    return 0;
  if (cg->systemd_unit && !cg->systemd_started)
    ward_cg_systemd_keep (cg, res);
  else if (cg->systemd_unit)
    {
      int ret = ward_cg_systemd_set (cg, res, err);
      if (ret < 0)
        return ret;
    }
  if (cg->mode == WARD_CGROUP_MODE_V2)
    return ward_cg_v2_apply (cg, res, err);
  return ward_cg_v1_apply (cg, res, err);
}

int ward_cgroup_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err)
{
  if (cg->mode == WARD_CGROUP_MODE_V2)
    return ward_cg_v2_freeze (cg, frozen, err);
  return ward_cg_v1_freeze (cg, frozen, err);
}

int ward_cgroup_is_frozen (ward_cgroup_t *cg, ward_error_t **err)
{
  if (cg->mode == WARD_CGROUP_MODE_V2)
    return ward_cg_v2_is_frozen (cg, err);
  return ward_cg_v1_is_frozen (cg, err);
}

int ward_cgroup_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err)
{
  int ret;
  memset (st, 0, sizeof *st);
  if (cg->mode == WARD_CGROUP_MODE_V2)
    ret = ward_cg_v2_stats (cg, st, err);
  else
    ret = ward_cg_v1_stats (cg, st, err);
  if (ret == 0)
    ward_cg_stats_more (cg, st);
  return ret;
}

/* The directory whose cgroup.procs lists the container's processes. */
static const char *procs_dir (const ward_cgroup_t *cg)
{
  static const char *const pref[] = { "pids", "memory", "cpu", "freezer", "devices" };
  if (cg->mode == WARD_CGROUP_MODE_V2)
    return cg->unified_dir;
  for (size_t i = 0; i < ARRAY_SIZE (pref); i++)
    {
      const char *d = ward_cg_v1_dir (cg, pref[i]);
      if (d)
        return d;
    }
  if (cg->v1_len)
    return cg->v1[0].dir;
  return cg->unified_dir;
}

static void add_pid (pid_t **pids, size_t *n, pid_t p)
{
  for (size_t i = 0; i < *n; i++)
    if ((*pids)[i] == p)
      return;
  *pids = xrealloc (*pids, (*n + 1) * sizeof **pids);
  (*pids)[(*n)++] = p;
}

/* Collects cgroup.procs of dirfd and of every descendant. */
static int collect_pids (int dirfd, const char *what, pid_t **pids, size_t *n, int depth,
                         ward_error_t **err)
{
  _cleanup_free_ char *buf = NULL;
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;
  int ret, dfd;

  ret = ward_read_file_at (dirfd, "cgroup.procs", &buf, NULL, 0, err);
  if (ret < 0)
    return ward_error_wrap (err, "%s", what);
  for (char *s = NULL, *l = strtok_r (buf, "\n", &s); l; l = strtok_r (NULL, "\n", &s))
    {
      long long v;
      if (ward_parse_i64 (l, &v) == 0 && v > 0)
        add_pid (pids, n, (pid_t) v);
    }
  if (depth > 64)
    return 0;
  dfd = openat (dirfd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dfd < 0 || (d = fdopendir (dfd)) == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return ward_error_set (err, errno, "opendir '%s'", what);
    }
  while ((de = readdir (d)))
    {
      _cleanup_close_ int cfd = -1;
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue;
      cfd = openat (dirfd, de->d_name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
      if (cfd < 0)
        continue;
      ret = collect_pids (cfd, what, pids, n, depth + 1, err);
      if (ret < 0 && ret != -ENOENT)
        return ret;
      ward_error_free (err);
    }
  return 0;
}

int ward_cgroup_pids (ward_cgroup_t *cg, pid_t **pids, size_t *n, ward_error_t **err)
{
  const char *dir = procs_dir (cg);
  _cleanup_close_ int fd = -1;
  _cleanup_free_ pid_t *out = NULL;
  size_t cnt = 0;
  int ret;

  *pids = NULL;
  *n = 0;
  if (dir == NULL)
    return 0;
  fd = ward_cg_open_dir (dir);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  ret = collect_pids (fd, dir, &out, &cnt, 0, err);
  if (ret < 0)
    return ret;
  *pids = TAKE_PTR (out);
  *n = cnt;
  return 0;
}

int ward_cgroup_kill (ward_cgroup_t *cg, int signo, ward_error_t **err)
{
  _cleanup_free_ pid_t *pids = NULL;
  bool v1_freezer = cg->mode != WARD_CGROUP_MODE_V2 && ward_cg_v1_dir (cg, "freezer") != NULL;
  size_t n = 0;
  int ret;

  /* An empty cgroup (delete of a stopped container, the common case) needs
   * no freeze/thaw round trip: nothing in it can fork, and new tasks only
   * come in under the container lock that our callers hold. */
  if (signo == SIGKILL && v1_freezer)
    {
      ret = ward_cgroup_pids (cg, &pids, &n, err);
      if (ret < 0 || n == 0)
        return ret;
      free (pids);
      pids = NULL;
      n = 0;
    }
  /* v1: freeze first so that nothing forks between listing and signalling;
   * thawing afterwards also lets a paused container's tasks die. */
  if (signo == SIGKILL && v1_freezer)
    {
      ward_error_t *ferr = NULL;
      ward_cg_v1_freeze (cg, true, &ferr);
      ward_error_free (&ferr);
    }
  /* cgroup.kill (Linux 5.14) kills atomically, forks included; on hybrid
   * hosts the unified mirror holds the same processes. */
  if (signo == SIGKILL && cg->unified_dir)
    {
      _cleanup_close_ int fd = ward_cg_open_dir (cg->unified_dir);
      if (fd < 0 && cg->mode == WARD_CGROUP_MODE_V2)
        return ward_error_set (err, errno, "open '%s'", cg->unified_dir);
      ret = ward_cg_write_opt (fd, "cgroup.kill", "1");
      if (ret < 0 && cg->mode == WARD_CGROUP_MODE_V2)
        return ward_error_set (err, -ret, "write '%s/cgroup.kill'", cg->unified_dir);
      if (ret == 0 && cg->mode == WARD_CGROUP_MODE_V2)
        return 0;
    }
  ret = ward_cgroup_pids (cg, &pids, &n, err);
  if (ret == 0)
    for (size_t i = 0; i < n; i++)
      if (kill (pids[i], signo) < 0 && errno != ESRCH)
        {
          ret = ward_error_set (err, errno, "kill %d", (int) pids[i]);
          break;
        }
  if (signo == SIGKILL && v1_freezer)
    {
      ward_error_t *ferr = NULL;
      ward_cg_v1_freeze (cg, false, &ferr);
      ward_error_free (&ferr);
    }
  return ret;
}

/* rmdir with retries: a cgroup whose last task just exited can report
 * EBUSY for a short while until the kernel finishes tearing it down. */
static int rmdir_retry (int parentfd, const char *name, const char *what, ward_error_t **err)
{
  for (int i = 0;; i++)
    {
      if (unlinkat (parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY || i >= 100)
        return ward_error_set (err, errno, "rmdir '%s'", what);
      nanosleep (&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    }
}

static int remove_tree (int parentfd, const char *name, const char *what, int depth,
                        ward_error_t **err)
{
  int fd = openat (parentfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;

  if (fd < 0)
    return errno == ENOENT ? 0 : ward_error_set (err, errno, "open '%s'", what);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return ward_error_set (err, errno, "opendir '%s'", what);
    }
  while ((de = readdir (d)) && depth < 64)
    {
      _cleanup_free_ char *sub = NULL;
      int ret;
      if (de->d_type != DT_DIR || strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      sub = xasprintf ("%s/%s", what, de->d_name);
      ret = remove_tree (dirfd (d), de->d_name, sub, depth + 1, err);
      if (ret < 0)
        return ret;
    }
  return rmdir_retry (parentfd, name, what, err);
}

static int destroy_dir (const char *dir, ward_error_t **err)
{
  return remove_tree (AT_FDCWD, dir, dir, 0, err);
}

int ward_cgroup_destroy (ward_cgroup_t *cg, ward_error_t **err)
{
  int ret = 0;
  if (cg->clone_fd >= 0)
    {
      close (cg->clone_fd);
      cg->clone_fd = -1;
    }
  if (cg->systemd_unit)
    ret = ward_cg_systemd_stop (cg, err);
  for (size_t i = 0; i < cg->v1_len; i++)
    {
      int r = destroy_dir (cg->v1[i].dir, err);
      if (r < 0 && ret == 0)
        ret = r;
    }
  if (cg->unified_dir)
    {
      int r = destroy_dir (cg->unified_dir, err);
      if (r < 0 && ret == 0)
        ret = r;
    }
  return ret;
}

/* ---- save / restore ---------------------------------------------------- */

/* One "key value" per line:
 *   mode N / path P / unified DIR / v1 CONTROLLERS DIR
 * Newlines are refused in paths at create time. */
char *ward_cgroup_save (const ward_cgroup_t *cg)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);

  if (f == NULL)
    abort ();
  fprintf (f, "mode %d\npath %s\n", cg->mode, cg->path ? cg->path : "");
  if (cg->unified_dir)
    fprintf (f, "unified %s\n", cg->unified_dir);
  if (cg->systemd_unit)
    fprintf (f, "systemd %s %s\n", cg->systemd_unit, cg->systemd_slice ? cg->systemd_slice : "");
  for (size_t i = 0; i < cg->v1_len; i++)
    fprintf (f, "v1 %s %s\n", cg->v1[i].controllers, cg->v1[i].dir);
  if (fclose (f) != 0)
    abort ();
  return buf;
}

int ward_cgroup_restore (const char *saved, ward_cgroup_t **out, ward_error_t **err)
{
  _cleanup_cgroup_ ward_cgroup_t *cg = xzalloc (sizeof *cg);
  _cleanup_free_ char *copy = xstrdup (saved);

  cg->clone_fd = -1;
  for (char *s = NULL, *l = strtok_r (copy, "\n", &s); l; l = strtok_r (NULL, "\n", &s))
    {
      char *v = strchr (l, ' ');
      if (v == NULL)
        return ward_error_set (err, 0, "cgroup state: malformed line '%s'", l);
      *v++ = '\0';
      if (strcmp (l, "mode") == 0)
        {
          long long m;
          if (ward_parse_i64 (v, &m) < 0 || m < WARD_CGROUP_MODE_V1 || m > WARD_CGROUP_MODE_V2)
            return ward_error_set (err, 0, "cgroup state: bad mode '%s'", v);
          cg->mode = (int) m;
        }
      else if (strcmp (l, "path") == 0)
        {
          free (cg->path);
          cg->path = xstrdup (v);
        }
      else if (strcmp (l, "unified") == 0)
        {
          free (cg->unified_dir);
          cg->unified_dir = xstrdup (v);
        }
      else if (strcmp (l, "systemd") == 0)
        {
          char *sl = strchr (v, ' ');
          free (cg->systemd_unit);
          free (cg->systemd_slice);
          cg->systemd_slice = xstrdup (sl ? sl + 1 : "");
          cg->systemd_unit = sl ? xstrndup (v, (size_t) (sl - v)) : xstrdup (v);
          cg->systemd_started = true;
        }
      else if (strcmp (l, "v1") == 0)
        {
          char *d = strchr (v, ' ');
          if (d == NULL || d[1] != '/')
            return ward_error_set (err, 0, "cgroup state: bad v1 line '%s'", v);
          *d++ = '\0';
          cg->v1 = xrealloc (cg->v1, (cg->v1_len + 1) * sizeof *cg->v1);
          cg->v1[cg->v1_len].controllers = xstrdup (v);
          cg->v1[cg->v1_len].dir = xstrdup (d);
          cg->v1_len++;
        }
      else
        ward_debug ("cgroup state: ignoring unknown key '%s'", l);
    }
  if (cg->mode == 0)
    return ward_error_set (err, 0, "cgroup state: no mode");
  *out = TAKE_PTR (cg);
  return 0;
}

const char *ward_cgroup_path (const ward_cgroup_t *cg)
{
  return cg->path ? cg->path : "";
}

void ward_cgroup_free (ward_cgroup_t *cg)
{
  if (cg == NULL)
    return;
  if (cg->clone_fd >= 0)
    close (cg->clone_fd);
  for (size_t i = 0; i < cg->v1_len; i++)
    {
      free (cg->v1[i].controllers);
      free (cg->v1[i].dir);
    }
  free (cg->v1);
  free (cg->path);
  free (cg->unified_dir);
  free (cg->systemd_unit);
  free (cg->systemd_slice);
  free (cg->pending_devices);
  free (cg);
}
