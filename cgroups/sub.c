/* `exec --cgroup [<controller>[,<controller>...]:]<path>`: runs the new
 * process in an existing sub-cgroup of the container's cgroup, for all
 * controllers or for the ones named.  The sub-cgroup must already exist:
 * exec never creates cgroups (they would outlive the process). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/error.h"

static const char *const known_v1[] = {
  "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio",
  "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc", NULL,
};

static bool known_controller (const char *name, size_t len)
{
  for (size_t i = 0; known_v1[i]; i++)
    if (strlen (known_v1[i]) == len && strncmp (known_v1[i], name, len) == 0)
      return true;
  /* named v1 hierarchies, e.g. name=systemd */
  return len > 5 && strncmp (name, "name=", 5) == 0;
}

int ward_cgroup_parse_subs (char **args, ward_cgroup_sub_t **out, size_t *n, ward_error_t **err)
{
  size_t count = 0;

  *out = NULL;
  *n = 0;
  for (char **a = args; a && *a; a++)
    count++;
  if (count == 0)
    return 0;
  _cleanup_free_ ward_cgroup_sub_t *subs = xzalloc (count * sizeof *subs);
  for (size_t i = 0; i < count; i++)
    {
      const char *arg = args[i], *colon = strchr (arg, ':');
      const char *path = colon ? colon + 1 : arg;

      /* runc: only a lone --cgroup may leave out the controllers */
      if (colon == NULL && count > 1)
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "invalid --cgroup argument: %s (missing <controller>: prefix)", arg);
      if (colon)
        for (const char *c = arg; c < colon;)
          {
            size_t l = strcspn (c, ",:");
            if (l == 0 && colon - arg > 0)
              return ward_error_set_ret (err, -EINVAL, 0, "invalid --cgroup argument: %s (empty controller name)",
                                         arg);
            if (l && !known_controller (c, l))
              return ward_error_set_ret (err, -EINVAL, 0, "unknown controller %.*s in SubCgroupPaths", (int) l, c);
            c += l + (c[l] == ',');
          }
      /* A sub-cgroup lies below the container's: ".." would climb out. */
      for (const char *p = path; *p; p += strcspn (p, "/"), p += *p == '/')
        if (strncmp (p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
          return ward_error_set_ret (err, -EINVAL, 0, "%s is not a sub cgroup path", path);
      subs[i].controllers = colon ? arg : NULL;
      subs[i].controllers_len = colon ? (size_t) (colon - arg) : 0;
      subs[i].path = path + strspn (path, "/");
    }
  *out = TAKE_PTR (subs);
  *n = count;
  return 0;
}

/* Whether the sub applies to a hierarchy with these controllers (a
 * comma list; NULL: the unified hierarchy). */
static bool sub_applies (const ward_cgroup_sub_t *s, const char *controllers, bool pure_v2)
{
  if (s->controllers_len == 0)
    return true;
  if (controllers == NULL)
    /* On a hybrid host the unified mirror has no controllers to name;
     * on pure v2 there is only one tree. */
    return pure_v2;
  for (const char *c = s->controllers; c < s->controllers + s->controllers_len;)
    {
      size_t l = strcspn (c, ",:");
      for (const char *h = controllers; *h;)
        {
          size_t hl = strcspn (h, ",");
          if (hl == l && strncmp (h, c, l) == 0)
            return true;
          h += hl + (h[hl] == ',');
        }
      c += l + (c[l] == ',');
    }
  return false;
}

/* The directory the process goes to in one hierarchy: the last sub that
 * names it wins (runc keeps a map keyed by controller). */
static char *target_dir (const char *base, const char *controllers, bool pure_v2,
                         const ward_cgroup_sub_t *subs, size_t n)
{
  const char *sub = NULL;
  for (size_t i = 0; i < n; i++)
    if (sub_applies (&subs[i], controllers, pure_v2))
      sub = subs[i].path;
  if (sub == NULL || *sub == '\0')
    return xstrdup (base);
  return xasprintf ("%s/%s", base, sub);
}

int ward_cgroup_sub_clone_fd (ward_cgroup_t *cg, const ward_cgroup_sub_t *subs, size_t n, int *fd,
                              ward_error_t **err)
{
  _cleanup_free_ char *dir = NULL;

  *fd = -1;
  if (cg->mode != WARD_CGROUP_MODE_V2 || cg->unified_dir == NULL)
    return 0;
  dir = target_dir (cg->unified_dir, NULL, true, subs, n);
  *fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    {
      char ebuf[128];
      int e = errno;
      /* worded as the cgroup.procs write that CLONE_INTO_CGROUP replaces */
      return ward_error_set_ret (err, -e, 0, "error adding pid to cgroups: %s/cgroup.procs: %s", dir,
                                 ward_go_strerror (e, ebuf, sizeof ebuf));
    }
  return 0;
}

/* One cgroup.procs write, with runc's wording for a failure (scripts and
 * runc's tests match "adding pid ... /cgroup.procs: no such file"). */
static int write_sub_procs (const char *dir, pid_t pid, ward_error_t **err)
{
  char num[32], ebuf[128];
  _cleanup_close_ int fd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int e = 0;

  snprintf (num, sizeof num, "%d", (int) pid);
  if (fd < 0)
    e = errno;
  else
    {
      _cleanup_close_ int procs = openat (fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (procs < 0 || write (procs, num, strlen (num)) < 0)
        e = errno;
    }
  if (e == 0)
    return 0;
  return ward_error_set_ret (err, -e, 0, "error adding pid %s to cgroups: failed to write %s: %s/cgroup.procs: %s",
                             num, num, dir, ward_go_strerror (e, ebuf, sizeof ebuf));
}

int ward_cgroup_enter_sub (ward_cgroup_t *cg, pid_t pid, const ward_cgroup_sub_t *subs, size_t n,
                           ward_error_t **err)
{
  bool pure_v2 = cg->mode == WARD_CGROUP_MODE_V2;
  int ret;

  for (size_t i = 0; i < cg->v1_len; i++)
    {
      _cleanup_free_ char *dir = target_dir (cg->v1[i].dir, cg->v1[i].controllers, false, subs, n);
      if ((ret = write_sub_procs (dir, pid, err)) < 0)
        return ret;
    }
  if (cg->unified_dir)
    {
      _cleanup_free_ char *dir = target_dir (cg->unified_dir, NULL, pure_v2, subs, n);
      if ((ret = write_sub_procs (dir, pid, err)) < 0)
        return ret;
    }
  return 0;
}
