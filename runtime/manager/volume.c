/* Local volumes, as docker's "local" driver keeps them:
 *   <root>/volumes/<name>/_data         what containers mount
 *   <root>/volumes/<name>/volume.json   CreatedAt, Labels, Options
 *   <root>/volumes/.lock                flock: create/remove/prune
 * An anonymous volume (`-v /path`) is a volume with a generated 64-hex
 * name and the label com.docker.volume.anonymous, as docker 23 marks it:
 * `ward rm -v` and `--rm` remove those, `volume prune` only those unless
 * --all.  "In use" means a container record lists it in Mounts. */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "image/image.h"
#include "namespaces/namespaces.h"
#include "runtime/manager/manager.h"

#define ANON_LABEL "com.docker.volume.anonymous"

bool ward_mgr_volume_name_valid (const char *name)
{
  if (!name || !isalnum ((unsigned char) name[0]) || name[1] == '\0' || strlen (name) > 255)
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return true;
}

static char *vol_dir (ward_mgr_t *m, const char *name)
{
  return xasprintf ("%s/volumes/%s", m->root, name);
}

char *ward_mgr_volume_path (ward_mgr_t *m, const char *name)
{
  return xasprintf ("%s/volumes/%s/_data", m->root, name);
}

static int name_check (const char *name, const char *verb, ward_error_t **err)
{
  if (name && strlen (name) < 2 && name[0] && isalnum ((unsigned char) name[0]))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "%s %s: volume name is too short, names should be at least two alphanumeric characters",
                               verb, name);
  if (!ward_mgr_volume_name_valid (name))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "%s %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                               verb, name ? name : "", name ? name : "");
  return 0;
}

/* The volumes lock: one create/remove/prune at a time. */
static int vol_lock (ward_mgr_t *m, int *fd, ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/volumes", m->root);
  _cleanup_free_ char *p = xasprintf ("%s/.lock", dir);
  int ret = ward_mkdir_p (dir, 0701, err);
  if (ret < 0)
    return ret;
  return ward_mgr_lock_file (p, fd, err);
}

static bool vol_exists (ward_mgr_t *m, const char *name)
{
  _cleanup_free_ char *p = xasprintf ("%s/volumes/%s/volume.json", m->root, name);
  return access (p, F_OK) == 0;
}

static int vol_create_locked (ward_mgr_t *m, const char *name, char **labels, char **opts,
                              ward_error_t **err)
{
  _cleanup_free_ char *dir = vol_dir (m, name);
  _cleanup_json_ json_object *meta = json_object_new_object ();
  json_object *lj = json_object_new_object ();
  json_object *oj = json_object_new_object ();
  _cleanup_close_ int dfd = -1;
  struct timespec now;
  _cleanup_free_ char *t = NULL;
  const char *text;
  int ret;

  clock_gettime (CLOCK_REALTIME, &now);
  now.tv_nsec = 0;
  t = ward_mgr_time_format (&now);
  /* docker prints CreatedAt without fractions: "2024-01-02T03:04:05Z" */
  if (strchr (t, '.'))
    strcpy (strchr (t, '.'), "Z");
  json_object_object_add (meta, "CreatedAt", json_object_new_string (t));
  for (char **l = labels; l && *l; l++)
    {
      const char *eq = strchr (*l, '=');
      _cleanup_free_ char *k = eq ? xstrndup (*l, (size_t) (eq - *l)) : xstrdup (*l);
      json_object_object_add (lj, k, json_object_new_string (eq ? eq + 1 : ""));
    }
  json_object_object_add (meta, "Labels", lj);
  for (char **o = opts; o && *o; o++)
    {
      const char *eq = strchr (*o, '=');
      _cleanup_free_ char *k = eq ? xstrndup (*o, (size_t) (eq - *o)) : xstrdup (*o);
      json_object_object_add (oj, k, json_object_new_string (eq ? eq + 1 : ""));
    }
  json_object_object_add (meta, "Options", oj);
  if (mkdir (dir, 0701) < 0)
    return ward_error_set (err, errno, "create volume '%s'", dir);
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 || mkdirat (dfd, "_data", 0755) < 0)
    ret = ward_error_set (err, errno, "create volume '%s/_data'", dir);
  else
    {
      text = json_object_to_json_string_ext (meta, JSON_C_TO_STRING_PLAIN);
      /* written last: a volume without its volume.json does not exist */
      ret = ward_write_file_atomic (dfd, "volume.json", text, strlen (text), 0600, err);
    }
  if (ret < 0)
    {
      _cleanup_close_ int parent = open (m->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      _cleanup_free_ char *rel = xasprintf ("volumes/%s", name);
      _cleanup_error_ ward_error_t *e = NULL;
      if (parent >= 0)
        ward_image_rm_rf_at (parent, rel, &e);
    }
  return ret;
}

int ward_mgr_volume_create (ward_mgr_t *m, const char *name, char **labels, char **opts,
                            bool *created, char **name_out, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_strv_ char **lab = NULL;
  char gen[65];
  int ret;

  if (created)
    *created = false;
  if (name && *name)
    {
      ret = name_check (name, "create", err);
      if (ret < 0)
        return ret;
    }
  for (char **o = opts; o && *o; o++)
    {
      /* the local driver's mount options (type=tmpfs, device=...) mount a
       * filesystem per volume: not done here, and silently ignoring them
       * would hand out a plain directory instead */
      return ward_error_set_ret (err, -EINVAL, 0,
                                 "create %s: driver option '%s' is not supported (plain local volumes only)",
                                 name ? name : "", *o);
    }
  ret = vol_lock (m, &lock, err);
  if (ret < 0)
    return ret;
  if (name && *name)
    {
      if (vol_exists (m, name))
        {
          /* docker: creating an existing volume is fine, it is returned */
          *name_out = xstrdup (name);
          return 0;
        }
    }
  else
    {
      size_t n = 0;
      ward_mgr_id_new (gen);
      name = gen;
      for (char **l = labels; l && *l; l++)
        n++;
      lab = xzalloc ((n + 2) * sizeof *lab);
      for (size_t i = 0; i < n; i++)
        lab[i] = xstrdup (labels[i]);
      lab[n] = xstrdup (ANON_LABEL "=");
      labels = lab;
    }
  ret = vol_create_locked (m, name, labels, opts, err);
  if (ret < 0)
    return ret;
  if (created)
    *created = true;
  *name_out = xstrdup (name);
  return 0;
}

static int vol_read (ward_mgr_t *m, const char *name, json_object **out, ward_error_t **err)
{
  _cleanup_free_ char *p = xasprintf ("%s/volumes/%s/volume.json", m->root, name);
  _cleanup_free_ char *data = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  json_object *meta, *v, *x;
  if (!ward_mgr_volume_name_valid (name) || ward_read_file_at (AT_FDCWD, p, &data, NULL, 1 << 20, &e) < 0)
    return ward_error_set_ret (err, -ENOENT, 0, "get %s: no such volume", name ? name : "");
  meta = json_tokener_parse (data);
  if (meta == NULL || !json_object_is_type (meta, json_type_object))
    {
      json_object_put (meta);
      return ward_error_set_ret (err, -EINVAL, 0, "'%s': invalid JSON", p);
    }
  /* docker volume inspect's shape and key order */
  v = json_object_new_object ();
  json_object_object_add (v, "CreatedAt",
                          json_object_object_get_ex (meta, "CreatedAt", &x) ? json_object_get (x)
                                                                            : json_object_new_string (""));
  json_object_object_add (v, "Driver", json_object_new_string ("local"));
  json_object_object_add (v, "Labels",
                          json_object_object_get_ex (meta, "Labels", &x) && json_object_object_length (x)
                              ? json_object_get (x)
                              : NULL);
  {
    _cleanup_free_ char *mp = ward_mgr_volume_path (m, name);
    json_object_object_add (v, "Mountpoint", json_object_new_string (mp));
  }
  json_object_object_add (v, "Name", json_object_new_string (name));
  json_object_object_add (v, "Options",
                          json_object_object_get_ex (meta, "Options", &x) && json_object_object_length (x)
                              ? json_object_get (x)
                              : NULL);
  json_object_object_add (v, "Scope", json_object_new_string ("local"));
  json_object_put (meta);
  *out = v;
  return 0;
}

int ward_mgr_volume_inspect (ward_mgr_t *m, const char *name, json_object **out, ward_error_t **err)
{
  return vol_read (m, name, out, err);
}

bool ward_mgr_volume_is_anonymous (json_object *vol)
{
  json_object *l, *x;
  return json_object_object_get_ex (vol, "Labels", &l) && l
         && json_object_object_get_ex (l, ANON_LABEL, &x);
}

static int cmp_name (const void *a, const void *b)
{
  json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
  return strcmp (ward_mgr_rec_str (x, "Name"), ward_mgr_rec_str (y, "Name"));
}

int ward_mgr_volume_list (ward_mgr_t *m, json_object ***vols, size_t *n, ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/volumes", m->root);
  _cleanup_closedir_ DIR *d = opendir (dir);
  json_object **out = NULL;
  size_t len = 0;
  struct dirent *de;

  *vols = NULL;
  *n = 0;
  if (d == NULL)
    return errno == ENOENT ? 0 : ward_error_set (err, errno, "open '%s'", dir);
  while ((de = readdir (d)))
    {
      json_object *v = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (de->d_name[0] == '.' || vol_read (m, de->d_name, &v, &e) < 0)
        continue;
      out = xrealloc (out, (len + 1) * sizeof *out);
      out[len++] = v;
    }
  if (len)
    qsort (out, len, sizeof *out, cmp_name);
  *vols = out;
  *n = len;
  return 0;
}

/* The record's Mounts entries of type volume. */
static bool rec_uses (json_object *rec, const char *name)
{
  json_object *mounts;
  if (!json_object_object_get_ex (rec, "Mounts", &mounts) || !json_object_is_type (mounts, json_type_array))
    return false;
  for (size_t i = 0; i < json_object_array_length (mounts); i++)
    {
      json_object *mt = json_object_array_get_idx (mounts, i);
      const char *t = ward_mgr_rec_str (mt, "Type"), *nm = ward_mgr_rec_str (mt, "Name");
      if (t && nm && strcmp (t, "volume") == 0 && strcmp (nm, name) == 0)
        return true;
    }
  return false;
}

int ward_mgr_volume_users (ward_mgr_t *m, const char *name, char ***ids, ward_error_t **err)
{
  json_object **recs = NULL;
  size_t n = 0, k = 0;
  char **out;
  int ret = ward_mgr_list (m, &recs, &n, err);
  if (ret < 0)
    return ret;
  out = xzalloc ((n + 1) * sizeof *out);
  for (size_t i = 0; i < n; i++)
    if (rec_uses (recs[i], name))
      out[k++] = xstrdup (ward_mgr_rec_str (recs[i], "Id"));
  ward_mgr_records_free (recs, n);
  *ids = out;
  return 0;
}

static int vol_remove_locked (ward_mgr_t *m, const char *name, ward_error_t **err)
{
  _cleanup_free_ char *vroot = xasprintf ("%s/volumes", m->root);
  _cleanup_close_ int parent = open (vroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_free_ char *meta = NULL;
  if (parent < 0)
    return ward_error_set (err, errno, "open '%s'", vroot);
  /* the marker goes first: a half-removed volume no longer exists */
  meta = xasprintf ("%s/volume.json", name);
  if (unlinkat (parent, meta, 0) < 0 && errno != ENOENT)
    return ward_error_set (err, errno, "remove '%s/%s'", vroot, meta);
  return ward_image_rm_rf_at (parent, name, err);
}

int ward_mgr_volume_remove (ward_mgr_t *m, const char *name, bool force, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_strv_ char **users = NULL;
  int ret;

  if (!ward_mgr_volume_name_valid (name) || !vol_exists (m, name))
    {
      if (force)
        return 0;
      return ward_error_set_ret (err, -ENOENT, 0, "get %s: no such volume", name ? name : "");
    }
  ret = vol_lock (m, &lock, err);
  if (ret < 0)
    return ret;
  ret = ward_mgr_volume_users (m, name, &users, err);
  if (ret < 0)
    return ret;
  if (users[0])
    {
      ward_strbuf_t b = { 0 };
      _cleanup_free_ char *list = NULL;
      for (char **u = users; *u; u++)
        ward_strbuf_printf (&b, "%s%s", u == users ? "" : ", ", *u);
      list = ward_strbuf_take (&b);
      /* docker's wording, even with --force */
      return ward_error_set_ret (err, -EBUSY, 0, "remove %s: volume is in use - [%s]", name, list);
    }
  return vol_remove_locked (m, name, err);
}

/* Bytes below dirfd (st_blocks), for prune's "Total reclaimed space". */
static uint64_t du_at (int dirfd)
{
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;
  uint64_t total = 0;
  int fd = dup (dirfd);
  if (fd < 0)
    return 0;
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  while ((de = readdir (d)))
    {
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          _cleanup_close_ int sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += du_at (sub);
        }
      else
        total += (uint64_t) st.st_size;
    }
  return total;
}

int ward_mgr_volume_prune (ward_mgr_t *m, bool all, char ***removed, uint64_t *reclaimed,
                           ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  json_object **vols = NULL, **recs = NULL;
  size_t nv = 0, nr = 0, k = 0;
  char **out;
  int ret;

  *reclaimed = 0;
  ret = vol_lock (m, &lock, err);
  if (ret == 0)
    ret = ward_mgr_volume_list (m, &vols, &nv, err);
  if (ret == 0)
    ret = ward_mgr_list (m, &recs, &nr, err);
  if (ret < 0)
    {
      ward_mgr_records_free (vols, nv);
      return ret;
    }
  out = xzalloc ((nv + 1) * sizeof *out);
  for (size_t i = 0; i < nv && ret == 0; i++)
    {
      const char *name = ward_mgr_rec_str (vols[i], "Name");
      bool used = false;
      if (!all && !ward_mgr_volume_is_anonymous (vols[i]))
        continue;
      for (size_t r = 0; r < nr && !used; r++)
        used = rec_uses (recs[r], name);
      if (used)
        continue;
      {
        _cleanup_free_ char *data = ward_mgr_volume_path (m, name);
        _cleanup_close_ int dfd = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        uint64_t sz = dfd >= 0 ? du_at (dfd) : 0;
        ret = vol_remove_locked (m, name, err);
        if (ret == 0)
          {
            *reclaimed += sz;
            out[k++] = xstrdup (name);
          }
      }
    }
  ward_mgr_records_free (vols, nv);
  ward_mgr_records_free (recs, nr);
  *removed = out;
  return ret;
}

void ward_mgr_volumes_release_anonymous (ward_mgr_t *m, json_object *rec)
{
  json_object *mounts;
  if (!json_object_object_get_ex (rec, "Mounts", &mounts) || !json_object_is_type (mounts, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length (mounts); i++)
    {
      json_object *mt = json_object_array_get_idx (mounts, i), *v = NULL;
      const char *t = ward_mgr_rec_str (mt, "Type"), *name = ward_mgr_rec_str (mt, "Name");
      _cleanup_error_ ward_error_t *e = NULL;
      _cleanup_close_ int lock = -1;
      if (!t || !name || strcmp (t, "volume") != 0)
        continue;
      if (vol_read (m, name, &v, &e) < 0)
        continue;
      if (ward_mgr_volume_is_anonymous (v) && vol_lock (m, &lock, &e) == 0)
        {
          _cleanup_strv_ char **users = NULL;
          /* still mounted by another container (--volumes-from): kept */
          if (ward_mgr_volume_users (m, name, &users, &e) == 0 && (users[0] == NULL
              || (users[1] == NULL && strcmp (users[0], ward_mgr_rec_str (rec, "Id")) == 0)))
            {
              if (vol_remove_locked (m, name, &e) < 0)
                ward_warn ("remove volume %s: %s", name, e->msg);
            }
        }
      json_object_put (v);
    }
}

/* cp -a of the directory's content (not the directory itself). */
static int copy_tree (int src_fd, int dst_fd, ward_error_t **err)
{
  char src[64], dst[64];
  pid_t pid;
  int st;
  snprintf (src, sizeof src, "/proc/self/fd/%d/.", src_fd);
  snprintf (dst, sizeof dst, "/proc/self/fd/%d/", dst_fd);
  pid = fork ();
  if (pid < 0)
    return ward_error_set (err, errno, "fork");
  if (pid == 0)
    {
      fcntl (src_fd, F_SETFD, 0);
      fcntl (dst_fd, F_SETFD, 0);
      execl ("/bin/cp", "cp", "-a", "--", src, dst, (char *) NULL);
      _exit (127);
    }
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "wait for cp");
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    return ward_error_set_ret (err, -EIO, 0, "cp -a exited with status %d", WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st));
  return 0;
}

static bool dir_empty (int fd)
{
  int d = dup (fd);
  DIR *dir;
  struct dirent *de;
  bool empty = true;
  if (d < 0)
    return false;
  dir = fdopendir (d);
  if (dir == NULL)
    {
      close (d);
      return false;
    }
  rewinddir (dir);
  while (empty && (de = readdir (dir)))
    empty = strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0;
  closedir (dir);
  return empty;
}

int ward_mgr_volume_copy_up (ward_mgr_t *m, const char *name, int rootfs_fd, const char *path,
                             ward_error_t **err)
{
  _cleanup_free_ char *data = ward_mgr_volume_path (m, name);
  _cleanup_close_ int dfd = open (data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int sfd = -1;
  _cleanup_error_ ward_error_t *e = NULL;
  struct stat st;
  int ret;

  if (dfd < 0)
    return ward_error_set (err, errno, "open '%s'", data);
  /* docker copies only into an empty volume, and only a directory */
  if (!dir_empty (dfd))
    return 0;
  sfd = ward_open_in_root (rootfs_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &e);
  if (sfd < 0 || fstat (sfd, &st) < 0 || !S_ISDIR (st.st_mode))
    return 0;
  /* the volume root takes the owner and mode of the image's directory */
  if (fchown (dfd, st.st_uid, st.st_gid) < 0 || fchmod (dfd, st.st_mode & 07777) < 0)
    return ward_error_set (err, errno, "chown '%s'", data);
  if (dir_empty (sfd))
    return 0;
  ret = copy_tree (sfd, dfd, err);
  if (ret < 0)
    return ward_error_wrap (err, "copy the image's '%s' into volume %s", path, name);
  return 0;
}
