/* The content store: an OCI image layout under <root>/image.  Blobs are
 * written to a locked temp file while hashed and renamed into place only
 * when the digest matches; index.json changes happen under an flock. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/sha256.h"
#include "image/image.h"
#include "image/internal.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX_JSON                                                                         \
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","              \
  "\"manifests\":[]}"
#define TMP_PREFIX ".tmp-"

struct ward_blob_writer
{
  ward_store_t *store;
  int fd;
  char tmpname[64];
  char *expected;
  ward_sha256_t sha;
  int64_t size;
};

void ward_image_random_name (char *buf, size_t size, const char *prefix)
{
  uint64_t r = 0;
  if (getrandom (&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
    r = (uint64_t) getpid () * 2654435761u ^ (uint64_t) time (NULL);
  snprintf (buf, size, "%s%016llx", prefix, (unsigned long long) r);
}

/* "sha256:<hex>" -> "<hex>" when it is a digest this store can hold. */
int ward_image_digest_hex (const char *digest, const char **hex, ward_error_t **err)
{
  if (ward_oci_digest_check (digest) < 0)
    return ward_error_set (err, EINVAL, "invalid digest '%s'", digest ? digest : "(null)");
  if (strncmp (digest, "sha256:", 7) != 0)
    return ward_error_set (err, ENOTSUP, "digest '%s': only sha256 is supported", digest);
  *hex = digest + 7;
  return 0;
}

/* A temp entry is stale when nobody holds its lock: the command that made
 * it died (interrupted pull) and left it behind. */
static bool lock_is_free (int dirfd, const char *name)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return false;
  return flock (fd, LOCK_EX | LOCK_NB) == 0;
}

static void clean_temp_files (ward_store_t *s)
{
  _cleanup_closedir_ DIR *d = NULL;
  int fd = openat (s->blobs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)))
    if (strncmp (de->d_name, TMP_PREFIX, strlen (TMP_PREFIX)) == 0
        && lock_is_free (s->blobs_fd, de->d_name))
      {
        ward_debug ("store: removing stale temp blob %s", de->d_name);
        unlinkat (s->blobs_fd, de->d_name, 0);
      }
  closedir (TAKE_PTR (d));

  /* layers/.tmp-X is a half-unpacked layer, .tmp-X.lock its owner's lock */
  fd = openat (s->layers_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((de = readdir (d)))
    {
      size_t n = strlen (de->d_name);
      if (strncmp (de->d_name, TMP_PREFIX, strlen (TMP_PREFIX)) != 0)
        continue;
      if (n > 5 && strcmp (de->d_name + n - 5, ".lock") == 0)
        {
          if (lock_is_free (s->layers_fd, de->d_name))
            {
              _cleanup_free_ char *dir = xstrndup (de->d_name, n - 5);
              _cleanup_error_ ward_error_t *e = NULL;
              ward_debug ("store: removing half-unpacked layer %s", dir);
              ward_image_rm_rf_at (s->layers_fd, dir, &e);
              unlinkat (s->layers_fd, de->d_name, 0);
            }
          continue;
        }
      struct stat st;
      if (fstatat (s->layers_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (!S_ISDIR (st.st_mode))
        {
          /* a lock file not yet renamed to .lock: only if its owner is gone */
          if (lock_is_free (s->layers_fd, de->d_name))
            unlinkat (s->layers_fd, de->d_name, 0);
          continue;
        }
      /* a dir whose lock file is gone entirely is an orphan too; the lock
       * is always made before the dir */
      _cleanup_free_ char *lock = xasprintf ("%s.lock", de->d_name);
      if (faccessat (s->layers_fd, lock, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
        {
          _cleanup_error_ ward_error_t *e = NULL;
          ward_image_rm_rf_at (s->layers_fd, de->d_name, &e);
        }
    }
}

static int open_dir_at (int dirfd, const char *name, int *out, ward_error_t **err)
{
  int fd;
  if (mkdirat (dirfd, name, 0755) < 0 && errno != EEXIST)
    return ward_error_set (err, errno, "mkdir '%s'", name);
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", name);
  *out = fd;
  return 0;
}

int ward_store_open (const char *root, ward_store_t **out, ward_error_t **err)
{
  ward_store_t *s;
  _cleanup_close_ int blobs = -1;
  int ret;

  if (root == NULL)
    root = WARD_IMAGE_DEFAULT_ROOT;
  s = xzalloc (sizeof *s);
  s->dirfd = s->blobs_fd = s->layers_fd = s->gc_fd = -1;
  s->root = xstrdup (root);
  s->dir = xasprintf ("%s/image", root);
  ret = ward_mkdir_p (s->dir, 0700, err);
  if (ret == 0)
    {
      s->dirfd = open (s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (s->dirfd < 0)
        ret = ward_error_set (err, errno, "open '%s'", s->dir);
    }
  if (ret == 0)
    ret = open_dir_at (s->dirfd, "blobs", &blobs, err);
  if (ret == 0)
    ret = open_dir_at (blobs, "sha256", &s->blobs_fd, err);
  if (ret == 0)
    ret = open_dir_at (s->dirfd, "layers", &s->layers_fd, err);
  if (ret == 0 && faccessat (s->dirfd, "oci-layout", F_OK, 0) < 0)
    ret = ward_write_file_atomic (s->dirfd, "oci-layout", OCI_LAYOUT_JSON,
                                  strlen (OCI_LAYOUT_JSON), 0644, err);
  if (ret == 0 && faccessat (s->dirfd, "index.json", F_OK, 0) < 0)
    ret = ward_write_file_atomic (s->dirfd, "index.json", EMPTY_INDEX_JSON,
                                  strlen (EMPTY_INDEX_JSON), 0644, err);
  if (ret == 0)
    {
      s->gc_fd = openat (s->dirfd, ".gc.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (s->gc_fd < 0 || flock (s->gc_fd, LOCK_SH) < 0)
        ret = ward_error_set (err, errno, "lock '%s/.gc.lock'", s->dir);
    }
  if (ret < 0)
    {
      ward_store_close (s);
      return ward_error_wrap (err, "image store '%s'", root);
    }
  clean_temp_files (s);
  *out = s;
  return 0;
}

void ward_store_close (ward_store_t *s)
{
  if (s == NULL)
    return;
  if (s->dirfd >= 0)
    close (s->dirfd);
  if (s->blobs_fd >= 0)
    close (s->blobs_fd);
  if (s->layers_fd >= 0)
    close (s->layers_fd);
  if (s->gc_fd >= 0)
    close (s->gc_fd);
  free (s->root);
  free (s->dir);
  free (s);
}

/* Creates an exclusive-locked temp file named prefix<random> in dirfd.  An
 * O_TMPFILE is locked before it gets a name, so the cleaner of another
 * command can never see it unlocked. */
int ward_image_locked_tmpfile (int dirfd, const char *prefix, char *name, size_t name_size,
                               int *out, ward_error_t **err)
{
  _cleanup_close_ int fd = openat (dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  for (int tries = 0; tries < 16; tries++)
    {
      ward_image_random_name (name, name_size, prefix);
      if (fd >= 0)
        {
          char proc[64];
          if (flock (fd, LOCK_EX) < 0)
            return ward_error_set (err, errno, "flock temp file");
          snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
          if (linkat (AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0
              || linkat (fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
            {
              *out = TAKE_FD (fd);
              return 0;
            }
          if (errno == EEXIST)
            continue;
          /* no /proc and no CAP_DAC_READ_SEARCH: fall back to a plain file */
          close (TAKE_FD (fd));
        }
      fd = openat (dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0 && errno == EEXIST)
        continue;
      if (fd < 0)
        return ward_error_set (err, errno, "create temp file '%s'", name);
      if (flock (fd, LOCK_EX) < 0)
        {
          unlinkat (dirfd, name, 0);
          return ward_error_set (err, errno, "flock '%s'", name);
        }
      *out = TAKE_FD (fd);
      return 0;
    }
  return ward_error_set (err, EEXIST, "create temp file: too many collisions");
}

int ward_store_blob_begin (ward_store_t *store, const char *expected, ward_blob_writer_t **out,
                           ward_error_t **err)
{
  ward_blob_writer_t *w;
  const char *hex;
  int fd, ret;
  if (expected)
    {
      ret = ward_image_digest_hex (expected, &hex, err);
      if (ret < 0)
        return ret;
    }
  w = xzalloc (sizeof *w);
  ret = ward_image_locked_tmpfile (store->blobs_fd, TMP_PREFIX, w->tmpname, sizeof w->tmpname,
                                   &fd, err);
  if (ret < 0)
    {
      free (w);
      return ret;
    }
  w->fd = fd;
  w->store = store;
  w->expected = expected ? xstrdup (expected) : NULL;
  ward_sha256_init (&w->sha);
  *out = w;
  return 0;
}

int ward_blob_writer_write (ward_blob_writer_t *w, const void *data, size_t len, ward_error_t **err)
{
  if (ward_write_all (w->fd, data, len) < 0)
    return ward_error_set (err, errno, "write blob temp file '%s'", w->tmpname);
  ward_sha256_update (&w->sha, data, len);
  w->size += (int64_t) len;
  return 0;
}

int64_t ward_blob_writer_size (const ward_blob_writer_t *w)
{
  return w->size;
}

void ward_blob_writer_abort (ward_blob_writer_t *w)
{
  if (w == NULL)
    return;
  unlinkat (w->store->blobs_fd, w->tmpname, 0);
  close (w->fd);
  free (w->expected);
  free (w);
}

int ward_blob_writer_commit (ward_blob_writer_t *w, char **digest, ward_error_t **err)
{
  uint8_t raw[32];
  char hex[65];
  _cleanup_free_ char *got = NULL;
  ward_sha256_final (&w->sha, raw);
  ward_sha256_to_hex (raw, hex);
  got = xasprintf ("sha256:%s", hex);
  if (w->expected && strcmp (w->expected, got) != 0)
    {
      int ret = ward_error_set (err, EBADMSG, "blob %s: digest mismatch: content is %s",
                                w->expected, got);
      ward_blob_writer_abort (w);
      return ret;
    }
  if (fchmod (w->fd, 0644) < 0 || renameat (w->store->blobs_fd, w->tmpname, w->store->blobs_fd,
                                            hex) < 0)
    {
      int ret = ward_error_set (err, errno, "store blob %s", got);
      ward_blob_writer_abort (w);
      return ret;
    }
  close (w->fd);
  free (w->expected);
  free (w);
  if (digest)
    *digest = TAKE_PTR (got);
  return 0;
}

int ward_store_blob_put (ward_store_t *store, const void *data, size_t len, const char *expected,
                         char **digest, ward_error_t **err)
{
  ward_blob_writer_t *w;
  int ret;
  if (expected && ward_store_blob_exists (store, expected))
    {
      /* content addressed: same digest, same bytes; still check the input */
      char hex[65];
      ward_sha256_hex (data, len, hex);
      if (strcmp (expected + 7, hex) != 0)
        return ward_error_set (err, EBADMSG, "blob %s: digest mismatch: content is sha256:%s",
                               expected, hex);
      if (digest)
        *digest = xstrdup (expected);
      return 0;
    }
  ret = ward_store_blob_begin (store, expected, &w, err);
  if (ret < 0)
    return ret;
  ret = ward_blob_writer_write (w, data, len, err);
  if (ret < 0)
    {
      ward_blob_writer_abort (w);
      return ret;
    }
  return ward_blob_writer_commit (w, digest, err);
}

int ward_store_blob_put_fd (ward_store_t *store, int fd, const char *expected, char **digest,
                            int64_t *size, ward_error_t **err)
{
  ward_blob_writer_t *w;
  char buf[65536];
  int ret = ward_store_blob_begin (store, expected, &w, err);
  if (ret < 0)
    return ret;
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ret = ward_error_set (err, errno, "read blob source");
          ward_blob_writer_abort (w);
          return ret;
        }
      if (n == 0)
        break;
      ret = ward_blob_writer_write (w, buf, (size_t) n, err);
      if (ret < 0)
        {
          ward_blob_writer_abort (w);
          return ret;
        }
    }
  if (size)
    *size = w->size;
  return ward_blob_writer_commit (w, digest, err);
}

bool ward_store_blob_exists (ward_store_t *store, const char *digest)
{
  const char *hex;
  if (ward_oci_digest_check (digest) < 0 || strncmp (digest, "sha256:", 7) != 0)
    return false;
  hex = digest + 7;
  return faccessat (store->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int ward_store_blob_open (ward_store_t *store, const char *digest, int *fd, ward_error_t **err)
{
  const char *hex;
  int ret = ward_image_digest_hex (digest, &hex, err);
  if (ret < 0)
    return ret;
  *fd = openat (store->blobs_fd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (*fd < 0)
    return ward_error_set (err, errno, "blob %s", digest);
  return 0;
}

int ward_store_blob_read (ward_store_t *store, const char *digest, char **data, size_t *len,
                          size_t max, ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *buf = NULL;
  size_t n = 0;
  char hex[65];
  int ret = ward_store_blob_open (store, digest, &fd, err);
  if (ret < 0)
    return ret;
  ret = ward_read_fd (fd, &buf, &n, max ? max : 16 * 1024 * 1024, digest, err);
  if (ret < 0)
    return ret;
  ward_sha256_hex (buf, n, hex);
  if (strcmp (hex, digest + 7) != 0)
    return ward_error_set (err, EBADMSG, "blob %s is corrupt: content is sha256:%s", digest, hex);
  *data = TAKE_PTR (buf);
  if (len)
    *len = n;
  return 0;
}

int ward_store_blob_verify (ward_store_t *store, const char *digest, ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  ward_sha256_t sha;
  uint8_t raw[32];
  char hex[65], buf[65536];
  int ret = ward_store_blob_open (store, digest, &fd, err);
  if (ret < 0)
    return ret;
  ward_sha256_init (&sha);
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ward_error_set (err, errno, "read blob %s", digest);
      if (n == 0)
        break;
      ward_sha256_update (&sha, buf, (size_t) n);
    }
  ward_sha256_final (&sha, raw);
  ward_sha256_to_hex (raw, hex);
  if (strcmp (hex, digest + 7) != 0)
    return ward_error_set (err, EBADMSG, "blob %s is corrupt: content is sha256:%s", digest, hex);
  return 0;
}

/* ---- index.json ---------------------------------------------------------- */

void ward_image_desc_clear (ward_image_desc_t *d)
{
  free (d->name);
  free (d->media_type);
  free (d->digest);
  memset (d, 0, sizeof *d);
}

void ward_image_descs_free (ward_image_desc_t *d, size_t n)
{
  for (size_t i = 0; d && i < n; i++)
    ward_image_desc_clear (&d[i]);
  free (d);
}

int ward_store_lock (ward_store_t *store, int *out, ward_error_t **err)
{
  int fd = openat (store->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s/.lock'", store->dir);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int ret = ward_error_set (err, errno, "flock '%s/.lock'", store->dir);
        close (fd);
        return ret;
      }
  *out = fd;
  return 0;
}

static int index_load (ward_store_t *store, json_object **out, json_object **manifests,
                       ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  size_t len;
  json_object *o, *m;
  int ret = ward_read_file_at (store->dirfd, "index.json", &data, &len, 0, err);
  if (ret < 0)
    return ward_error_wrap (err, "image store '%s'", store->dir);
  o = json_tokener_parse (data);
  if (o == NULL || !json_object_is_type (o, json_type_object))
    {
      json_object_put (o);
      return ward_error_set (err, EINVAL, "%s/index.json: not a JSON object", store->dir);
    }
  if (!json_object_object_get_ex (o, "manifests", &m) || !json_object_is_type (m, json_type_array))
    {
      m = json_object_new_array ();
      json_object_object_add (o, "manifests", m);
    }
  *out = o;
  *manifests = m;
  return 0;
}

static const char *json_str (json_object *o, const char *key)
{
  json_object *v;
  if (o && json_object_object_get_ex (o, key, &v) && json_object_is_type (v, json_type_string))
    return json_object_get_string (v);
  return NULL;
}

static const char *entry_ref_name (json_object *entry)
{
  json_object *a;
  if (!json_object_object_get_ex (entry, "annotations", &a))
    return NULL;
  return json_str (a, WARD_ANNOTATION_REF_NAME);
}

static int index_store (ward_store_t *store, json_object *o, ward_error_t **err)
{
  const char *s = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE);
  return ward_write_file_atomic (store->dirfd, "index.json", s, strlen (s), 0644, err);
}

static int index_update (ward_store_t *store, const char *name, const char *media_type,
                         const char *digest, int64_t size, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_json_ json_object *o = NULL;
  json_object *m;
  bool removed = false;
  int ret = ward_store_lock (store, &lock, err);
  if (ret == 0)
    ret = index_load (store, &o, &m, err);
  if (ret < 0)
    return ret;
  for (size_t i = json_object_array_length (m); i > 0; i--)
    {
      const char *n = entry_ref_name (json_object_array_get_idx (m, i - 1));
      if (n && strcmp (n, name) == 0)
        {
          json_object_array_del_idx (m, i - 1, 1);
          removed = true;
        }
    }
  if (digest)
    {
      json_object *e = json_object_new_object (), *a = json_object_new_object ();
      json_object_object_add (e, "mediaType", json_object_new_string (media_type));
      json_object_object_add (e, "digest", json_object_new_string (digest));
      json_object_object_add (e, "size", json_object_new_int64 (size));
      json_object_object_add (a, WARD_ANNOTATION_REF_NAME, json_object_new_string (name));
      json_object_object_add (e, "annotations", a);
      json_object_array_add (m, e);
    }
  else if (!removed)
    return ward_error_set (err, ENOENT, "image '%s': not in the store", name);
  return index_store (store, o, err);
}

int ward_store_ref_set (ward_store_t *store, const char *name, const char *media_type,
                        const char *digest, int64_t size, ward_error_t **err)
{
  int ret;
  if (name == NULL || *name == '\0')
    return ward_error_set (err, EINVAL, "ref name is empty");
  if (media_type == NULL)
    return ward_error_set (err, EINVAL, "ref '%s': no media type", name);
  ret = ward_oci_digest_check (digest);
  if (ret < 0)
    return ward_error_set (err, EINVAL, "ref '%s': invalid digest '%s'", name, digest);
  return index_update (store, name, media_type, digest, size, err);
}

int ward_store_ref_remove (ward_store_t *store, const char *name, ward_error_t **err)
{
  return index_update (store, name, NULL, NULL, 0, err);
}

static void desc_from_json (json_object *e, ward_image_desc_t *d)
{
  json_object *v;
  const char *n = entry_ref_name (e), *mt = json_str (e, "mediaType"), *dg = json_str (e, "digest");
  d->name = n ? xstrdup (n) : NULL;
  d->media_type = mt ? xstrdup (mt) : NULL;
  d->digest = dg ? xstrdup (dg) : NULL;
  d->size = json_object_object_get_ex (e, "size", &v) ? json_object_get_int64 (v) : -1;
}

int ward_store_ref_get (ward_store_t *store, const char *name, ward_image_desc_t *out,
                        ward_error_t **err)
{
  _cleanup_json_ json_object *o = NULL;
  json_object *m;
  int ret = index_load (store, &o, &m, err);
  if (ret < 0)
    return ret;
  for (size_t i = json_object_array_length (m); i > 0; i--)
    {
      json_object *e = json_object_array_get_idx (m, i - 1);
      const char *n = entry_ref_name (e);
      if (n && strcmp (n, name) == 0)
        {
          desc_from_json (e, out);
          if (out->digest == NULL || ward_oci_digest_check (out->digest) < 0
              || out->media_type == NULL)
            {
              ward_image_desc_clear (out);
              return ward_error_set (err, EINVAL, "%s/index.json: entry '%s' is malformed",
                                     store->dir, name);
            }
          return 0;
        }
    }
  return ward_error_set_ret (err, -ENOENT, 0, "image '%s': not in the store", name);
}

int ward_store_list (ward_store_t *store, ward_image_desc_t **out, size_t *len, ward_error_t **err)
{
  _cleanup_json_ json_object *o = NULL;
  json_object *m;
  ward_image_desc_t *d;
  size_t n, k = 0;
  int ret = index_load (store, &o, &m, err);
  if (ret < 0)
    return ret;
  n = json_object_array_length (m);
  d = xzalloc ((n + 1) * sizeof *d);
  for (size_t i = 0; i < n; i++)
    {
      desc_from_json (json_object_array_get_idx (m, i), &d[k]);
      if (d[k].digest && ward_oci_digest_check (d[k].digest) == 0)
        k++;
      else
        ward_image_desc_clear (&d[k]);
    }
  *out = d;
  *len = k;
  return 0;
}
