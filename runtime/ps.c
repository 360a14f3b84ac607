/* ps: the processes of a container's cgroup, as pids (json) or as the
 * lines of the host's ps output whose PID column is one of them. */
#include "runtime/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

int ward_runtime_open_existing (const char *root, const char *id, int *rootfd, int *dirfd,
                                int *lockfd, ward_runtime_state_t **st, ward_error_t **err)
{
  int ret;
  if (!ward_container_id_valid (id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  ret = ward_runtime_root_open (root, false, rootfd, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
    }
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_open (*rootfd, id, dirfd, lockfd, err);
  if (ret < 0)
    return ret;
  return ward_runtime_state_read (*dirfd, st, err);
}

int ward_runtime_restore_cgroup (const ward_runtime_state_t *st, ward_cgroup_t **cg,
                                 ward_error_t **err)
{
  if (!st->cgroup)
    return ward_error_set_ret (err, -ENOENT, 0, "container %s has no cgroup", st->id);
  return ward_cgroup_restore (st->cgroup, cg, err);
}

static int pid_cmp (const void *a, const void *b)
{
  pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
  return (x > y) - (x < y);
}

int ward_container_pids (const char *root, const char *id, pid_t **pids, size_t *n,
                         ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  int ret;

  *pids = NULL;
  *n = 0;
  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, NULL, &st, err);
  if (ret < 0)
    return ret;
  ret = ward_runtime_restore_cgroup (st, &cg, err);
  if (ret < 0)
    return ret;
  ret = ward_cgroup_pids (cg, pids, n, err);
  if (ret < 0)
    return ret;
  if (*n > 1)
    qsort (*pids, *n, sizeof (pid_t), pid_cmp);
  return 0;
}

char *ward_container_pids_json (const pid_t *pids, size_t n)
{
  ward_strbuf_t b = { 0 };
  if (n == 0)
    return xstrdup ("null\n");
  ward_strbuf_puts (&b, "[");
  for (size_t i = 0; i < n; i++)
    ward_strbuf_printf (&b, "%s%d", i ? "," : "", (int) pids[i]);
  ward_strbuf_puts (&b, "]\n");
  return ward_strbuf_take (&b);
}

/* The index-th whitespace-separated field of line (not NUL-terminated:
 * *len gets its length), NULL when there are fewer. */
static const char *field (const char *line, size_t line_len, int index, size_t *len)
{
  const char *p = line, *end = line + line_len;
  for (int i = 0;; i++)
    {
      while (p < end && (*p == ' ' || *p == '\t'))
        p++;
      if (p >= end)
        return NULL;
      const char *s = p;
      while (p < end && *p != ' ' && *p != '\t')
        p++;
      if (i == index)
        {
          *len = (size_t) (p - s);
          return s;
        }
    }
}

int ward_container_ps_filter (const char *ps_output, const pid_t *pids, size_t n, char **out,
                              ward_error_t **err)
{
  ward_strbuf_t b = { 0 };
  const char *nl = strchr (ps_output, '\n');
  size_t hlen = nl ? (size_t) (nl - ps_output) : strlen (ps_output);
  int pid_index = -1;

  for (int i = 0;; i++)
    {
      size_t len;
      const char *f = field (ps_output, hlen, i, &len);
      if (!f)
        break;
      if (len == 3 && strncmp (f, "PID", 3) == 0)
        {
          pid_index = i;
          break;
        }
    }
  if (pid_index < 0)
    return ward_error_set_ret (err, -EINVAL, 0, "couldn't find PID field in ps output");
  ward_strbuf_add (&b, ps_output, hlen);
  ward_strbuf_puts (&b, "\n");
  for (const char *line = nl ? nl + 1 : NULL; line && *line;)
    {
      const char *e = strchr (line, '\n');
      size_t llen = e ? (size_t) (e - line) : strlen (line), flen;
      const char *f = llen ? field (line, llen, pid_index, &flen) : NULL;
      if (llen)
        {
          _cleanup_free_ char *s = f ? xstrndup (f, flen) : xstrdup ("");
          long long v;
          if (ward_parse_i64 (s, &v) < 0)
            {
              free (ward_strbuf_take (&b));
              return ward_error_set_ret (err, -EINVAL, 0,
                                         "unable to parse pid: strconv.Atoi: parsing \"%s\": invalid syntax",
                                         s);
            }
          for (size_t i = 0; i < n; i++)
            if (pids[i] == (pid_t) v)
              {
                ward_strbuf_add (&b, line, llen);
                ward_strbuf_puts (&b, "\n");
                break;
              }
        }
      line = e ? e + 1 : NULL;
    }
  *out = ward_strbuf_take (&b);
  return 0;
}
