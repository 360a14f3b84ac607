/* Tags, untagging and garbage collection of the store: a blob or an
 * unpacked layer stays while a ref or a container snapshot reaches it. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image.h"
#include "image/internal.h"

int ward_image_tag (ward_store_t *store, const char *source, const char *target,
                    ward_error_t **err)
{
  _cleanup_image_ ward_image_t *img = NULL;
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  int ret = ward_image_ref_parse (target, &ref, err);
  if (ret == 0)
    ret = ward_image_open (store, source, &img, err);
  if (ret < 0)
    return ret;
  if (ref->digest)
    return ward_error_set (err, EINVAL, "tag '%s': a tag cannot hold a digest", target);
  return ward_store_ref_set (store, ref->full, img->manifest->media_type
                                                   ? img->manifest->media_type
                                                   : WARD_MT_OCI_MANIFEST,
                             img->manifest_digest, (int64_t) img->manifest_len, err);
}

int ward_image_untag (ward_store_t *store, const char *name, ward_error_t **err)
{
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  int ret = ward_image_ref_parse (name, &ref, err);
  if (ret < 0)
    return ret;
  return ward_store_ref_remove (store, ref->full, err);
}

typedef struct
{
  char **v;
  size_t len, cap;
} marks_t;

static void mark (marks_t *m, const char *digest)
{
  if (digest == NULL || strncmp (digest, "sha256:", 7) != 0)
    return;
  for (size_t i = 0; i < m->len; i++)
    if (strcmp (m->v[i], digest + 7) == 0)
      return;
  if (m->len == m->cap)
    {
      m->cap = m->cap ? m->cap * 2 : 64;
      m->v = xrealloc (m->v, m->cap * sizeof (char *));
    }
  m->v[m->len++] = xstrdup (digest + 7);
}

static bool marked (const marks_t *m, const char *hex)
{
  for (size_t i = 0; i < m->len; i++)
    if (strcmp (m->v[i], hex) == 0)
      return true;
  return false;
}

static void mark_manifest (ward_store_t *store, const char *digest, marks_t *m)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  ward_oci_manifest_t *man = NULL;
  ward_oci_index_t *idx = NULL;
  size_t len = 0;
  mark (m, digest);
  if (ward_store_blob_read (store, digest, &data, &len, 0, &err) < 0)
    return;
  if (strstr (data, "\"manifests\"") && ward_oci_index_parse (data, len, &idx, &err) == 0)
    {
      for (size_t i = 0; i < idx->manifests_len; i++)
        if (ward_store_blob_exists (store, idx->manifests[i].digest))
          mark_manifest (store, idx->manifests[i].digest, m);
      ward_oci_index_free (idx);
      return;
    }
  ward_error_free (&err);
  if (ward_oci_manifest_parse (data, len, &man, &err) < 0)
    return;
  mark (m, man->config.digest);
  for (size_t i = 0; i < man->layers_len; i++)
    mark (m, man->layers[i].digest);
  ward_oci_manifest_free (man);
}

/* Every containers/<id>/blobs list keeps what its snapshot stands on. */
static void mark_snapshots (ward_store_t *store, marks_t *m)
{
  _cleanup_free_ char *cdir = xasprintf ("%s/containers", store->root);
  _cleanup_closedir_ DIR *d = opendir (cdir);
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      _cleanup_free_ char *p = NULL;
      _cleanup_free_ char *list = NULL;
      _cleanup_error_ ward_error_t *err = NULL;
      if (de->d_name[0] == '.')
        continue;
      p = xasprintf ("%s/blobs", de->d_name);
      if (ward_read_file_at (dirfd (d), p, &list, NULL, 0, &err) < 0)
        continue;
      for (char *line = list, *next; line && *line; line = next)
        {
          next = strchr (line, '\n');
          if (next)
            *next++ = '\0';
          mark (m, line);
        }
    }
}

static unsigned sweep (int dfd, const marks_t *m, bool dirs)
{
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;
  unsigned n = 0;
  /* a dup would share the read offset with the store's fd */
  int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  while ((de = readdir (d)))
    {
      _cleanup_error_ ward_error_t *err = NULL;
      if (strlen (de->d_name) != 64 || strspn (de->d_name, "0123456789abcdef") != 64
          || marked (m, de->d_name))
        continue;
      if (dirs ? ward_image_rm_rf_at (dfd, de->d_name, &err) == 0
               : unlinkat (dfd, de->d_name, 0) == 0)
        n++;
    }
  return n;
}

int ward_store_gc (ward_store_t *store, unsigned *removed, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  ward_image_desc_t *list = NULL;
  marks_t m = { 0 };
  size_t n = 0;
  unsigned count = 0;
  int ret;
  /* no other command may have the store open: its pull or load may have
   * committed blobs that no ref reaches yet */
  if (flock (store->gc_fd, LOCK_EX | LOCK_NB) < 0)
    {
      ret = ward_error_set (err, errno == EWOULDBLOCK ? EBUSY : errno,
                            "gc '%s': the store is in use by another command", store->dir);
      /* a failed conversion may have dropped the shared lock: take it back */
      flock (store->gc_fd, LOCK_SH);
      return ret;
    }
  ret = ward_store_lock (store, &lock, err);
  if (ret < 0)
    flock (store->gc_fd, LOCK_SH);
  if (ret == 0)
    ret = ward_store_list (store, &list, &n, err);
  if (ret < 0)
    {
      flock (store->gc_fd, LOCK_SH);
      return ret;
    }
  for (size_t i = 0; i < n; i++)
    mark_manifest (store, list[i].digest, &m);
  ward_image_descs_free (list, n);
  mark_snapshots (store, &m);
  count += sweep (store->layers_fd, &m, true);
  count += sweep (store->blobs_fd, &m, false);
  for (size_t i = 0; i < m.len; i++)
    free (m.v[i]);
  free (m.v);
  flock (store->gc_fd, LOCK_SH);
  if (removed)
    *removed = count;
  return 0;
}
