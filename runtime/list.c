/* state and list: what runc prints about containers. */
#include "runtime/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

/* runc's containerState, pretty-printed as Go's json.MarshalIndent does. */
int ward_container_state_json (const char *root, const char *id, char **out, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  const char *status;
  int ret;

  if (!ward_container_id_valid (id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  ret = ward_runtime_root_open (root, false, &rootfd, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
    }
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_open (rootfd, id, &dirfd, NULL, err);
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_read (dirfd, &st, err);
  if (ret < 0)
    return ret;
  status = ward_runtime_state_status (dirfd, st, false);
  {
    ward_state_t v = {
      .oci_version = (char *) WARD_OCI_VERSION,
      .id = st->id,
      .status = (char *) status,
      .pid = strcmp (status, "stopped") == 0 ? 0 : st->pid,
      .bundle = st->bundle,
      .annotations = st->annotations,
      .annotations_len = st->annotations_len,
      .rootfs = st->rootfs ? st->rootfs : (char *) "",
      .created = st->created,
      .owner = (char *) "", /* runc leaves it empty in `state` */
    };
    *out = ward_state_to_json (&v);
  }
  return 0;
}

static int info_cmp (const void *a, const void *b)
{
  return strcmp (((const ward_container_info_t *) a)->id, ((const ward_container_info_t *) b)->id);
}

static char *owner_name (uid_t uid)
{
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res)
    return xstrdup (res->pw_name);
  return xasprintf ("#%u", (unsigned) uid);
}

int ward_container_list (const char *root, ward_container_info_t **out, size_t *n,
                         ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_closedir_ DIR *d = NULL;
  ward_container_info_t *infos = NULL;
  size_t len = 0, cap = 0;
  struct dirent *de;
  int ret;

  *out = NULL;
  *n = 0;
  ret = ward_runtime_root_open (root, false, &rootfd, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return 0;
    }
  if (ret < 0)
    return ret;
  d = fdopendir (fcntl (rootfd, F_DUPFD_CLOEXEC, 3));
  if (!d)
    return ward_error_set (err, errno, "opendir state root");
  while ((de = readdir (d)))
    {
      _cleanup_close_ int dirfd = -1;
      _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      struct stat sb;

      if (de->d_name[0] == '.' || !ward_container_id_valid (de->d_name))
        continue;
      if (ward_runtime_state_open (rootfd, de->d_name, &dirfd, NULL, &e) < 0
          || ward_runtime_state_read (dirfd, &st, &e) < 0 || fstat (dirfd, &sb) < 0)
        continue; /* being created or deleted right now */
      if (len == cap)
        {
          cap = cap ? cap * 2 : 8;
          infos = xrealloc (infos, cap * sizeof *infos);
        }
      ward_container_info_t *c = &infos[len++];
      memset (c, 0, sizeof *c);
      c->status = xstrdup (ward_runtime_state_status (dirfd, st, false));
      c->id = xstrdup (de->d_name);
      c->pid = strcmp (c->status, "stopped") == 0 ? 0 : st->pid;
      c->bundle = xstrdup (st->bundle ? st->bundle : "");
      c->rootfs = xstrdup (st->rootfs ? st->rootfs : "");
      c->created = xstrdup (st->created ? st->created : "");
      c->owner = owner_name (sb.st_uid);
      if (st->annotations_len)
        {
          c->annotation_keys = xzalloc (sizeof (char *) * st->annotations_len);
          c->annotation_values = xzalloc (sizeof (char *) * st->annotations_len);
          for (size_t i = 0; i < st->annotations_len; i++)
            {
              c->annotation_keys[i] = xstrdup (st->annotations[i].key);
              c->annotation_values[i] = xstrdup (st->annotations[i].value);
            }
          c->annotations_len = st->annotations_len;
        }
    }
  if (len)
    qsort (infos, len, sizeof *infos, info_cmp);
  *out = infos;
  *n = len;
  return 0;
}
