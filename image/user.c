/* An image's "User" ("name", "uid", "name:group", "uid:gid") resolved to
 * ids through the container's own /etc/passwd and /etc/group, the way
 * docker does it.  Those files belong to the image: they are opened with
 * openat2(RESOLVE_IN_ROOT) so a symlink in the image cannot point the
 * lookup at the host's files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "image/image.h"

#define MAX_DB (4 * 1024 * 1024)

/* NULL data (and 0) when the file does not exist in the image. */
static int read_in_root (int rootfs_fd, const char *path, char **data, ward_error_t **err)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  _cleanup_close_ int fd = (int) syscall (SYS_openat2, rootfs_fd, path, &how, sizeof how);
  *data = NULL;
  if (fd < 0 && errno == ENOSYS)
    {
      /* before Linux 5.6: no symlink anywhere on the way instead */
      _cleanup_close_ int dir = openat (rootfs_fd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW
                                                              | O_CLOEXEC);
      fd = dir < 0 ? -1
                   : openat (dir, strchr (path, '/') + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW
                                                              | O_NOCTTY);
    }
  if (fd < 0)
    return errno == ENOENT ? 0 : ward_error_set (err, errno, "open '/%s' in the image", path);
  return ward_read_fd (fd, data, NULL, MAX_DB, path, err);
}

static bool parse_id (const char *s, uint32_t *out)
{
  unsigned long long v;
  if (*s == '\0' || ward_parse_u64 (s, &v) < 0 || v > UINT32_MAX - 1)
    return false;
  *out = (uint32_t) v;
  return true;
}

/* Field i (0-based) of a colon-separated line, copied. */
static char *field (const char *line, int i)
{
  for (; i > 0 && line; i--)
    {
      line = strchr (line, ':');
      if (line)
        line++;
    }
  if (line == NULL)
    return NULL;
  return xstrndup (line, strcspn (line, ":\n"));
}

/* Finds the line whose name (field 0) or id (field 2) matches. */
static bool db_find (const char *db, const char *name, bool by_id, uint32_t id, uint32_t *id_out,
                     uint32_t *gid_out, char **name_out)
{
  for (const char *line = db; line && *line;
       line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    {
      _cleanup_free_ char *n = field (line, 0);
      _cleanup_free_ char *i = field (line, 2);
      _cleanup_free_ char *g = field (line, 3);
      uint32_t v;
      if (n == NULL || i == NULL || *line == '#' || !parse_id (i, &v))
        continue;
      if (by_id ? v != id : strcmp (n, name) != 0)
        continue;
      *id_out = v;
      if (gid_out && g)
        parse_id (g, gid_out);
      if (name_out)
        *name_out = xstrdup (n);
      return true;
    }
  return false;
}

int ward_image_resolve_user (int rootfs_fd, const char *user, uint32_t *uid, uint32_t *gid,
                             uint32_t **groups, size_t *n_groups, ward_error_t **err)
{
  _cleanup_free_ char *passwd = NULL;
  _cleanup_free_ char *group = NULL;
  _cleanup_free_ char *u = xstrdup (user ? user : "");
  _cleanup_free_ char *uname = NULL;
  char *g = strchr (u, ':');
  uint32_t id;
  int ret;

  *uid = 0;
  *gid = 0;
  if (groups)
    *groups = NULL;
  if (n_groups)
    *n_groups = 0;
  if (g)
    *g++ = '\0';
  ret = read_in_root (rootfs_fd, "etc/passwd", &passwd, err);
  if (ret == 0)
    ret = read_in_root (rootfs_fd, "etc/group", &group, err);
  if (ret < 0)
    return ret;

  if (*u == '\0')
    uname = xstrdup ("root");
  else if (parse_id (u, &id))
    {
      *uid = id;
      if (passwd)
        db_find (passwd, NULL, true, id, uid, gid, &uname);
    }
  else if (passwd == NULL || !db_find (passwd, u, false, 0, uid, gid, &uname))
    return ward_error_set (err, ENOENT,
                           "unable to find user %s: no matching entries in passwd file", u);

  if (g && *g)
    {
      if (parse_id (g, &id))
        *gid = id;
      else if (group == NULL || !db_find (group, g, false, 0, gid, NULL, NULL))
        return ward_error_set (err, ENOENT,
                               "unable to find group %s: no matching entries in group file", g);
    }
  else if (uname && group && groups && n_groups)
    {
      /* supplementary groups: those listing the user as a member */
      for (const char *line = group; line && *line;
           line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
        {
          _cleanup_free_ char *members = field (line, 3);
          _cleanup_free_ char *gidtxt = field (line, 2);
          uint32_t v;
          if (members == NULL || gidtxt == NULL || !parse_id (gidtxt, &v) || v == *gid)
            continue;
          for (char *m = members, *tok; (tok = strsep (&m, ","));)
            if (strcmp (tok, uname) == 0)
              {
                *groups = xrealloc (*groups, (*n_groups + 1) * sizeof (uint32_t));
                (*groups)[(*n_groups)++] = v;
                break;
              }
        }
    }
  return 0;
}
