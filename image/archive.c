/* `ward load` / `ward save`: docker-archive and OCI-archive tars.  An
 * archive is untrusted input: each file goes through the hashing blob
 * writer, a blobs/sha256/<hex> file must hash to its name, and docker
 * manifests are rebuilt from what was actually stored. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "image/image.h"
#include "image/internal.h"

#define MAX_FILES 100000
#define MAX_HOPS 8

typedef struct
{
  char *path;
  char *digest;   /* regular files */
  char *link;     /* symlink/hard link target, already a path from the root */
  int64_t size;
} afile_t;

typedef struct
{
  afile_t *files;
  size_t len, cap;
} afiles_t;

static void afiles_free (afiles_t *a)
{
  for (size_t i = 0; i < a->len; i++)
    {
      free (a->files[i].path);
      free (a->files[i].digest);
      free (a->files[i].link);
    }
  free (a->files);
}

/* "./a//b/" -> "a/b"; NULL for anything climbing out. */
static char *norm_path (const char *dir, const char *p)
{
  _cleanup_free_ char *joined = dir && *p != '/' ? xasprintf ("%s/%s", dir, p) : xstrdup (p);
  char *out = xmalloc (strlen (joined) + 1);
  size_t len = 0;
  for (char *s = joined, *tok; (tok = strsep (&s, "/"));)
    {
      if (*tok == '\0' || strcmp (tok, ".") == 0)
        continue;
      if (strcmp (tok, "..") == 0)
        {
          if (len == 0)
            {
              free (out);
              return NULL;
            }
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
          continue;
        }
      if (len)
        out[len++] = '/';
      memcpy (out + len, tok, strlen (tok));
      len += strlen (tok);
    }
  out[len] = '\0';
  return out;
}

static afile_t *afiles_find (afiles_t *a, const char *path)
{
  for (size_t i = 0; i < a->len; i++)
    if (strcmp (a->files[i].path, path) == 0)
      return &a->files[i];
  return NULL;
}

/* The digest behind a path, through up to MAX_HOPS links. */
static const afile_t *resolve (afiles_t *a, const char *path)
{
  _cleanup_free_ char *p = norm_path (NULL, path);
  for (int hops = 0; p && hops < MAX_HOPS; hops++)
    {
      afile_t *f = afiles_find (a, p);
      if (f == NULL)
        return NULL;
      if (f->digest)
        return f;
      free (p);
      p = xstrdup (f->link);
    }
  return NULL;
}

static int read_entries (ward_store_t *store, struct archive *ar, afiles_t *files,
                         ward_error_t **err)
{
  struct archive_entry *e;
  for (;;)
    {
      int r = archive_read_next_header (ar, &e);
      const char *name;
      afile_t f = { 0 };
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return ward_error_set (err, EINVAL, "archive: %s", archive_error_string (ar));
      name = archive_entry_pathname (e);
      if (name == NULL)
        continue;
      f.path = norm_path (NULL, name);
      if (f.path == NULL)
        return ward_error_set (err, EINVAL, "archive: entry \"%s\": path escapes the archive",
                               name);
      if (files->len >= MAX_FILES)
        {
          free (f.path);
          return ward_error_set (err, E2BIG, "archive: more than %d files", MAX_FILES);
        }
      if (archive_entry_hardlink (e))
        f.link = norm_path (NULL, archive_entry_hardlink (e));
      else if (archive_entry_filetype (e) == AE_IFLNK)
        {
          _cleanup_free_ char *dir = xstrdup (f.path);
          char *slash = strrchr (dir, '/');
          if (slash)
            *slash = '\0';
          else
            *dir = '\0';
          const char *target = archive_entry_symlink (e);
          f.link = norm_path (*dir ? dir : NULL, target ? target : "");
        }
      else if (archive_entry_filetype (e) == AE_IFREG)
        {
          ward_blob_writer_t *w;
          int ret = ward_store_blob_begin (store, NULL, &w, err);
          for (; ret == 0;)
            {
              const void *buf;
              size_t n;
              la_int64_t off;
              r = archive_read_data_block (ar, &buf, &n, &off);
              if (r == ARCHIVE_EOF)
                break;
              if (r < ARCHIVE_WARN)
                {
                  ward_blob_writer_abort (w);
                  ret = ward_error_set (err, EIO, "archive: %s: %s", f.path,
                                        archive_error_string (ar));
                  break;
                }
              ret = ward_blob_writer_write (w, buf, n, err);
              if (ret < 0)
                ward_blob_writer_abort (w);
            }
          if (ret == 0)
            {
              f.size = ward_blob_writer_size (w);
              ret = ward_blob_writer_commit (w, &f.digest, err);
            }
          if (ret < 0)
            {
              free (f.path);
              return ret;
            }
        }
      else
        {
          free (f.path);
          continue;
        }
      if (f.link == NULL && f.digest == NULL)
        {
          free (f.path);
          return ward_error_set (err, EINVAL, "archive: entry \"%s\": bad link", name);
        }
      if (files->len == files->cap)
        {
          files->cap = files->cap ? files->cap * 2 : 64;
          files->files = xrealloc (files->files, files->cap * sizeof (afile_t));
        }
      files->files[files->len++] = f;
    }
}

static int read_small (ward_store_t *store, const afile_t *f, char **data, size_t *len,
                       ward_error_t **err)
{
  return ward_store_blob_read (store, f->digest, data, len, 16 * 1024 * 1024, err);
}

static void add_name (char ***names, size_t *n, const char *name)
{
  *names = xrealloc (*names, (*n + 2) * sizeof (char *));
  (*names)[(*n)++] = xstrdup (name);
  (*names)[*n] = NULL;
}

static const char *json_get_str (json_object *o, const char *key)
{
  json_object *v;
  if (json_object_object_get_ex (o, key, &v) && json_object_is_type (v, json_type_string))
    return json_object_get_string (v);
  return NULL;
}

static int load_docker_manifest (ward_store_t *store, afiles_t *files, json_object *m,
                                 char ***names, size_t *n_names, ward_error_t **err)
{
  if (!json_object_is_type (m, json_type_array))
    return ward_error_set (err, EINVAL, "manifest.json: expected array");
  for (size_t i = 0; i < json_object_array_length (m); i++)
    {
      json_object *item = json_object_array_get_idx (m, i), *layers, *tags;
      const char *cfg_path = json_get_str (item, "Config");
      const afile_t *cf;
      _cleanup_free_ char *cfg = NULL;
      size_t cfg_len = 0;
      ward_oci_image_config_t *config = NULL;
      _cleanup_free_ char *mdigest = NULL;
      int64_t msize = 0;
      size_t nl;
      int ret;

      if (cfg_path == NULL || !json_object_object_get_ex (item, "Layers", &layers)
          || !json_object_is_type (layers, json_type_array))
        return ward_error_set (err, EINVAL, "manifest.json[%zu]: Config and Layers required", i);
      cf = resolve (files, cfg_path);
      if (cf == NULL)
        return ward_error_set (err, ENOENT, "manifest.json[%zu]: config '%s' not in the archive",
                               i, cfg_path);
      ret = read_small (store, cf, &cfg, &cfg_len, err);
      if (ret == 0)
        ret = ward_oci_image_config_parse (cfg, cfg_len, &config, err);
      if (ret < 0)
        return ward_error_wrap (err, "manifest.json[%zu]: config '%s'", i, cfg_path);
      nl = json_object_array_length (layers);
      if (config->diff_ids_len != nl)
        {
          ward_oci_image_config_free (config);
          return ward_error_set (err, EINVAL, "manifest.json[%zu]: %zu layers but %zu diff_ids", i,
                                 nl, config->diff_ids_len);
        }
      const char **digests = xzalloc ((nl + 1) * sizeof (char *));
      const char **types = xzalloc ((nl + 1) * sizeof (char *));
      int64_t *sizes = xzalloc ((nl + 1) * sizeof (int64_t));
      for (size_t l = 0; ret == 0 && l < nl; l++)
        {
          json_object *lp = json_object_array_get_idx (layers, l);
          const afile_t *lf = json_object_is_type (lp, json_type_string)
                                  ? resolve (files, json_object_get_string (lp)) : NULL;
          unsigned char head[4] = { 0 };
          _cleanup_close_ int fd = -1;
          if (lf == NULL)
            {
              ret = ward_error_set (err, ENOENT, "manifest.json[%zu]: layer %zu not in the archive",
                                    i, l);
              break;
            }
          ret = ward_store_blob_open (store, lf->digest, &fd, err);
          if (ret == 0 && read (fd, head, sizeof head) < 0)
            ret = ward_error_set (err, errno, "read layer %s", lf->digest);
          digests[l] = lf->digest;
          sizes[l] = lf->size;
          types[l] = ward_image_layer_media_type (head, sizeof head);
          /* an uncompressed layer is its own diff_id: check it */
          if (ret == 0 && strcmp (types[l], WARD_MT_OCI_LAYER) == 0
              && strcmp (lf->digest, config->diff_ids[l]) != 0)
            ret = ward_error_set (err, EBADMSG,
                                  "manifest.json[%zu]: layer %zu is %s, config says diff_id %s", i,
                                  l, lf->digest, config->diff_ids[l]);
        }
      if (ret == 0)
        ret = ward_image_write_manifest (store, cf->digest, cf->size, digests, sizes, types, nl,
                                         &mdigest, &msize, err);
      free (digests);
      free (types);
      free (sizes);
      ward_oci_image_config_free (config);
      if (ret < 0)
        return ret;
      if (json_object_object_get_ex (item, "RepoTags", &tags)
          && json_object_is_type (tags, json_type_array))
        for (size_t t = 0; t < json_object_array_length (tags); t++)
          {
            json_object *tv = json_object_array_get_idx (tags, t);
            _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
            if (!json_object_is_type (tv, json_type_string))
              continue;
            ret = ward_image_ref_parse (json_object_get_string (tv), &ref, err);
            if (ret == 0)
              ret = ward_store_ref_set (store, ref->full, WARD_MT_OCI_MANIFEST, mdigest, msize,
                                        err);
            if (ret < 0)
              return ward_error_wrap (err, "manifest.json[%zu]: RepoTags", i);
            add_name (names, n_names, ref->full);
          }
      else
        ward_debug ("load: untagged image %s", mdigest);
    }
  return 0;
}

/* Every file under blobs/ must hash to its name. */
static int check_blob_names (afiles_t *files, ward_error_t **err)
{
  for (size_t i = 0; i < files->len; i++)
    {
      const afile_t *f = &files->files[i];
      if (f->digest == NULL || strncmp (f->path, "blobs/", 6) != 0)
        continue;
      const char *alg = f->path + 6, *slash = strchr (alg, '/');
      if (slash == NULL)
        continue;
      _cleanup_free_ char *named = xasprintf ("%.*s:%s", (int) (slash - alg), alg, slash + 1);
      if (strcmp (named, f->digest) != 0)
        return ward_error_set (err, EBADMSG, "archive: %s: content is %s, not what its name says",
                               f->path, f->digest);
    }
  return 0;
}

static int load_oci_index (ward_store_t *store, const char *data, size_t len, char ***names,
                           size_t *n_names, ward_error_t **err)
{
  ward_oci_index_t *idx = NULL;
  int ret = ward_oci_index_parse (data, len, &idx, err);
  if (ret < 0)
    return ward_error_wrap (err, "index.json");
  for (size_t i = 0; ret == 0 && i < idx->manifests_len; i++)
    {
      const ward_oci_descriptor_t *d = &idx->manifests[i];
      const char *name = NULL;
      _cleanup_image_ ward_image_t *img = NULL;
      _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
      for (size_t a = 0; a < d->annotations_len; a++)
        if (strcmp (d->annotations[a].key, "io.containerd.image.name") == 0)
          name = d->annotations[a].value;
      for (size_t a = 0; name == NULL && a < d->annotations_len; a++)
        if (strcmp (d->annotations[a].key, WARD_ANNOTATION_REF_NAME) == 0
            && strpbrk (d->annotations[a].value, "/:"))
          name = d->annotations[a].value;
      if (!ward_store_blob_exists (store, d->digest))
        {
          ret = ward_error_set (err, ENOENT, "index.json: %s not in the archive", d->digest);
          break;
        }
      if (name == NULL)
        continue;
      ret = ward_image_ref_parse (name, &ref, err);
      if (ret == 0)
        ret = ward_store_ref_set (store, ref->full, d->media_type, d->digest, d->size, err);
      /* check the whole image is there before saying it was loaded */
      if (ret == 0)
        ret = ward_image_open (store, ref->full, &img, err);
      for (size_t l = 0; ret == 0 && l < img->manifest->layers_len; l++)
        if (!ward_store_blob_exists (store, img->manifest->layers[l].digest))
          ret = ward_error_set (err, ENOENT, "%s: layer %s not in the archive", ref->full,
                                img->manifest->layers[l].digest);
      if (ret < 0 && ref)
        {
          _cleanup_error_ ward_error_t *e = NULL;
          ward_store_ref_remove (store, ref->full, &e);
        }
      if (ret == 0)
        add_name (names, n_names, ref->full);
    }
  ward_oci_index_free (idx);
  return ret;
}

int ward_image_load (ward_store_t *store, int fd, char ***names_out, ward_error_t **err)
{
  struct archive *ar = archive_read_new ();
  afiles_t files = { 0 };
  char **names = NULL;
  size_t n_names = 0;
  const afile_t *f;
  int ret;

  archive_read_support_filter_gzip (ar);
  archive_read_support_filter_zstd (ar);
  archive_read_support_filter_xz (ar);
  archive_read_support_filter_bzip2 (ar);
  archive_read_support_format_tar (ar);
  if (archive_read_open_fd (ar, fd, 128 * 1024) != ARCHIVE_OK)
    ret = ward_error_set (err, EINVAL, "archive: %s", archive_error_string (ar));
  else
    ret = read_entries (store, ar, &files, err);
  archive_read_free (ar);
  if (ret == 0)
    ret = check_blob_names (&files, err);
  if (ret == 0 && (f = resolve (&files, "manifest.json")))
    {
      _cleanup_free_ char *data = NULL;
      _cleanup_json_ json_object *m = NULL;
      size_t len;
      ret = read_small (store, f, &data, &len, err);
      if (ret == 0 && (m = json_tokener_parse (data)) == NULL)
        ret = ward_error_set (err, EINVAL, "manifest.json: invalid JSON");
      if (ret == 0)
        ret = load_docker_manifest (store, &files, m, &names, &n_names, err);
    }
  else if (ret == 0 && (f = resolve (&files, "index.json")))
    {
      _cleanup_free_ char *data = NULL;
      size_t len;
      ret = read_small (store, f, &data, &len, err);
      if (ret == 0)
        ret = load_oci_index (store, data, len, &names, &n_names, err);
    }
  else if (ret == 0)
    ret = ward_error_set (err, EINVAL, "archive: neither manifest.json nor index.json: not an "
                                       "image archive");
  afiles_free (&files);
  if (ret < 0)
    {
      for (size_t i = 0; i < n_names; i++)
        free (names[i]);
      free (names);
      return ward_error_wrap (err, "load");
    }
  if (names_out)
    *names_out = names ? names : xzalloc (sizeof (char *));
  else
    {
      for (size_t i = 0; i < n_names; i++)
        free (names[i]);
      free (names);
    }
  return 0;
}

/* ---- save ---------------------------------------------------------------- */

static int tar_add_bytes (struct archive *a, const char *path, const void *data, size_t len,
                          ward_error_t **err)
{
  struct archive_entry *e = archive_entry_new ();
  int ret = 0;
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t) len);
  archive_entry_set_mtime (e, 0, 0);
  if (archive_write_header (a, e) != ARCHIVE_OK
      || (len && archive_write_data (a, data, len) != (la_ssize_t) len))
    ret = ward_error_set (err, EIO, "save: write '%s': %s", path, archive_error_string (a));
  archive_entry_free (e);
  return ret;
}

static int tar_add_dir (struct archive *a, const char *path, ward_error_t **err)
{
  struct archive_entry *e = archive_entry_new ();
  int ret = 0;
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_set_mtime (e, 0, 0);
  if (archive_write_header (a, e) != ARCHIVE_OK)
    ret = ward_error_set (err, EIO, "save: write '%s': %s", path, archive_error_string (a));
  archive_entry_free (e);
  return ret;
}

static int tar_add_blob (ward_store_t *store, struct archive *a, const char *digest,
                         ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  _cleanup_free_ char *path = xasprintf ("blobs/sha256/%s", digest + 7);
  struct archive_entry *e;
  struct stat st;
  char buf[65536];
  int ret = ward_store_blob_open (store, digest, &fd, err);
  if (ret < 0)
    return ret;
  if (fstat (fd, &st) < 0)
    return ward_error_set (err, errno, "stat blob %s", digest);
  e = archive_entry_new ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, st.st_size);
  archive_entry_set_mtime (e, 0, 0);
  if (archive_write_header (a, e) != ARCHIVE_OK)
    ret = ward_error_set (err, EIO, "save: write '%s': %s", path, archive_error_string (a));
  archive_entry_free (e);
  for (off_t done = 0; ret == 0 && done < st.st_size;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        ret = ward_error_set (err, n < 0 ? errno : EIO, "save: read blob %s", digest);
      else if (archive_write_data (a, buf, (size_t) n) != n)
        ret = ward_error_set (err, EIO, "save: write '%s': %s", path, archive_error_string (a));
      done += n > 0 ? n : 0;
    }
  return ret;
}

static void add_unique (char ***v, size_t *n, const char *s)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp ((*v)[i], s) == 0)
      return;
  *v = xrealloc (*v, (*n + 1) * sizeof (char *));
  (*v)[(*n)++] = xstrdup (s);
}

int ward_image_save (ward_store_t *store, const char *const *names, size_t n_names, int out_fd,
                     ward_archive_format_t format, ward_error_t **err)
{
  _cleanup_json_ json_object *index = json_object_new_object ();
  _cleanup_json_ json_object *dmanifest = json_object_new_array ();
  json_object *manifests = json_object_new_array ();
  char **blobs = NULL;
  size_t n_blobs = 0;
  struct archive *a = NULL;
  int ret = 0;

  json_object_object_add (index, "schemaVersion", json_object_new_int (2));
  json_object_object_add (index, "mediaType", json_object_new_string (WARD_MT_OCI_INDEX));
  json_object_object_add (index, "manifests", manifests);
  if (n_names == 0)
    return ward_error_set (err, EINVAL, "save: no image given");
  for (size_t i = 0; ret == 0 && i < n_names; i++)
    {
      _cleanup_image_ ward_image_t *img = NULL;
      _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
      _cleanup_error_ ward_error_t *perr = NULL;
      json_object *d, *ann, *item, *layers, *tags;
      ret = ward_image_open (store, names[i], &img, err);
      if (ret < 0)
        break;
      if (img->name)
        ward_image_ref_parse (img->name, &ref, &perr);
      add_unique (&blobs, &n_blobs, img->config_digest);
      add_unique (&blobs, &n_blobs, img->manifest_digest);
      d = json_object_new_object ();
      json_object_object_add (d, "mediaType", json_object_new_string (
                                  img->manifest->media_type ? img->manifest->media_type
                                                            : WARD_MT_OCI_MANIFEST));
      json_object_object_add (d, "digest", json_object_new_string (img->manifest_digest));
      json_object_object_add (d, "size", json_object_new_int64 ((int64_t) img->manifest_len));
      item = json_object_new_object ();
      {
        _cleanup_free_ char *cp = xasprintf ("blobs/sha256/%s", img->config_digest + 7);
        json_object_object_add (item, "Config", json_object_new_string (cp));
      }
      tags = json_object_new_array ();
      if (ref)
        {
          _cleanup_free_ char *fam = ward_image_ref_familiar (ref);
          ann = json_object_new_object ();
          json_object_object_add (ann, "io.containerd.image.name",
                                  json_object_new_string (ref->full));
          json_object_object_add (ann, WARD_ANNOTATION_REF_NAME,
                                  json_object_new_string (ref->tag ? ref->tag : ref->full));
          json_object_object_add (d, "annotations", ann);
          /* docker's RepoTags hold name:tag only, never a digest */
          if (ref->tag && ref->digest == NULL)
            json_object_array_add (tags, json_object_new_string (fam));
        }
      json_object_object_add (item, "RepoTags", tags);
      layers = json_object_new_array ();
      for (size_t l = 0; l < img->manifest->layers_len; l++)
        {
          _cleanup_free_ char *lp = xasprintf ("blobs/sha256/%s",
                                               img->manifest->layers[l].digest + 7);
          if (strncmp (img->manifest->layers[l].digest, "sha256:", 7) != 0)
            {
              ret = ward_error_set (err, ENOTSUP, "save: layer digest %s",
                                    img->manifest->layers[l].digest);
              break;
            }
          add_unique (&blobs, &n_blobs, img->manifest->layers[l].digest);
          json_object_array_add (layers, json_object_new_string (lp));
        }
      json_object_object_add (item, "Layers", layers);
      json_object_array_add (manifests, d);
      json_object_array_add (dmanifest, item);
    }

  if (ret == 0)
    {
      const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
      const char *itext = ward_image_json_text (index);
      a = archive_write_new ();
      archive_write_set_format_pax_restricted (a);
      if (archive_write_open_fd (a, out_fd) != ARCHIVE_OK)
        ret = ward_error_set (err, EIO, "save: %s", archive_error_string (a));
      if (ret == 0)
        ret = tar_add_dir (a, "blobs/", err);
      if (ret == 0)
        ret = tar_add_dir (a, "blobs/sha256/", err);
      for (size_t i = 0; ret == 0 && i < n_blobs; i++)
        ret = tar_add_blob (store, a, blobs[i], err);
      if (ret == 0)
        ret = tar_add_bytes (a, "oci-layout", layout, strlen (layout), err);
      if (ret == 0)
        ret = tar_add_bytes (a, "index.json", itext, strlen (itext), err);
      if (ret == 0 && format == WARD_ARCHIVE_DOCKER)
        {
          const char *mtext = ward_image_json_text (dmanifest);
          ret = tar_add_bytes (a, "manifest.json", mtext, strlen (mtext), err);
        }
      if (ret == 0 && archive_write_close (a) != ARCHIVE_OK)
        ret = ward_error_set (err, EIO, "save: %s", archive_error_string (a));
      archive_write_free (a);
    }
  for (size_t i = 0; i < n_blobs; i++)
    free (blobs[i]);
  free (blobs);
  return ret;
}
