/* Writing images: config and manifest JSON generated in a fixed key order,
 * so the same inputs always give the same digests. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/sha256.h"
#include "image/image.h"
#include "image/internal.h"

const char *ward_image_layer_media_type (const void *head, size_t len)
{
  const unsigned char *b = head;
  if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
    return WARD_MT_OCI_LAYER_GZIP;
  if (len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return WARD_MT_OCI_LAYER_ZSTD;
  return WARD_MT_OCI_LAYER;
}

/* The digest of the uncompressed stream (the layer's diff_id). */
int ward_image_diff_id (const void *data, size_t len, char **out, ward_error_t **err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  ward_sha256_t sha;
  uint8_t raw[32];
  char hex[65];
  int ret = 0;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_raw (a);
  archive_read_support_format_empty (a);
  ward_sha256_init (&sha);
  if (archive_read_open_memory (a, data, len) != ARCHIVE_OK)
    ret = ward_error_set (err, EINVAL, "layer: %s", archive_error_string (a));
  else
    {
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
        for (;;)
          {
            const void *buf;
            size_t n;
            la_int64_t off;
            r = archive_read_data_block (a, &buf, &n, &off);
            if (r == ARCHIVE_EOF)
              break;
            if (r < ARCHIVE_WARN)
              {
                ret = ward_error_set (err, EINVAL, "layer: %s", archive_error_string (a));
                break;
              }
            ward_sha256_update (&sha, buf, n);
          }
      else if (r != ARCHIVE_EOF)
        ret = ward_error_set (err, EINVAL, "layer: %s", archive_error_string (a));
    }
  archive_read_free (a);
  if (ret < 0)
    return ret;
  ward_sha256_final (&sha, raw);
  ward_sha256_to_hex (raw, hex);
  *out = xasprintf ("sha256:%s", hex);
  return 0;
}

static json_object *descriptor_json (const char *mt, const char *digest, int64_t size)
{
  json_object *d = json_object_new_object ();
  json_object_object_add (d, "mediaType", json_object_new_string (mt));
  json_object_object_add (d, "digest", json_object_new_string (digest));
  json_object_object_add (d, "size", json_object_new_int64 (size));
  return d;
}

int ward_image_write_manifest (ward_store_t *store, const char *config_digest,
                               int64_t config_size, const char *const *layer_digests,
                               const int64_t *layer_sizes, const char *const *layer_types,
                               size_t n_layers, char **digest, int64_t *size,
                               ward_error_t **err)
{
  _cleanup_json_ json_object *m = json_object_new_object ();
  json_object *layers = json_object_new_array ();
  const char *text;
  json_object_object_add (m, "schemaVersion", json_object_new_int (2));
  json_object_object_add (m, "mediaType", json_object_new_string (WARD_MT_OCI_MANIFEST));
  json_object_object_add (m, "config",
                          descriptor_json (WARD_MT_OCI_CONFIG, config_digest, config_size));
  for (size_t i = 0; i < n_layers; i++)
    json_object_array_add (layers,
                           descriptor_json (layer_types[i], layer_digests[i], layer_sizes[i]));
  json_object_object_add (m, "layers", layers);
  text = ward_image_json_text (m);
  if (size)
    *size = (int64_t) strlen (text);
  return ward_store_blob_put (store, text, strlen (text), NULL, digest, err);
}

static json_object *strv_json (const char *const *v)
{
  json_object *a = json_object_new_array ();
  for (; v && *v; v++)
    json_object_array_add (a, json_object_new_string (*v));
  return a;
}

static json_object *key_set_json (const char *const *v)
{
  json_object *o = json_object_new_object ();
  for (; v && *v; v++)
    json_object_object_add (o, *v, json_object_new_object ());
  return o;
}

static json_object *config_json (const ward_image_build_config_t *cfg, char **diff_ids,
                                 size_t n)
{
  json_object *o = json_object_new_object ();
  json_object *c = json_object_new_object ();
  json_object *rootfs = json_object_new_object ();
  json_object *ids = json_object_new_array ();
  json_object *history = json_object_new_array ();
  const char *created = cfg->created ? cfg->created : "1970-01-01T00:00:00Z";

  json_object_object_add (o, "created", json_object_new_string (created));
  json_object_object_add (o, "architecture", json_object_new_string (
                              cfg->architecture ? cfg->architecture : ward_image_host_arch ()));
  if (cfg->variant)
    json_object_object_add (o, "variant", json_object_new_string (cfg->variant));
  json_object_object_add (o, "os", json_object_new_string (cfg->os ? cfg->os : "linux"));
  if (cfg->user)
    json_object_object_add (c, "User", json_object_new_string (cfg->user));
  if (cfg->exposed_ports)
    json_object_object_add (c, "ExposedPorts", key_set_json (cfg->exposed_ports));
  if (cfg->env)
    json_object_object_add (c, "Env", strv_json (cfg->env));
  if (cfg->entrypoint)
    json_object_object_add (c, "Entrypoint", strv_json (cfg->entrypoint));
  if (cfg->cmd)
    json_object_object_add (c, "Cmd", strv_json (cfg->cmd));
  if (cfg->volumes)
    json_object_object_add (c, "Volumes", key_set_json (cfg->volumes));
  if (cfg->working_dir)
    json_object_object_add (c, "WorkingDir", json_object_new_string (cfg->working_dir));
  if (cfg->labels)
    {
      json_object *l = json_object_new_object ();
      for (const char *const *kv = cfg->labels; *kv; kv++)
        {
          const char *eq = strchr (*kv, '=');
          _cleanup_free_ char *k = eq ? xstrndup (*kv, (size_t) (eq - *kv)) : xstrdup (*kv);
          json_object_object_add (l, k, json_object_new_string (eq ? eq + 1 : ""));
        }
      json_object_object_add (c, "Labels", l);
    }
  if (cfg->stop_signal)
    json_object_object_add (c, "StopSignal", json_object_new_string (cfg->stop_signal));
  json_object_object_add (o, "config", c);
  json_object_object_add (rootfs, "type", json_object_new_string ("layers"));
  for (size_t i = 0; i < n; i++)
    json_object_array_add (ids, json_object_new_string (diff_ids[i]));
  json_object_object_add (rootfs, "diff_ids", ids);
  json_object_object_add (o, "rootfs", rootfs);
  for (size_t i = 0; i < n; i++)
    {
      json_object *h = json_object_new_object ();
      json_object_object_add (h, "created", json_object_new_string (created));
      json_object_object_add (h, "created_by", json_object_new_string ("ward"));
      json_object_array_add (history, h);
    }
  json_object_object_add (o, "history", history);
  return o;
}

int ward_image_create (ward_store_t *store, const char *name,
                       const ward_image_layer_src_t *layers, size_t n,
                       const ward_image_build_config_t *cfg, char **manifest_digest,
                       ward_error_t **err)
{
  ward_image_build_config_t empty = { 0 };
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  char **digests = xzalloc ((n + 1) * sizeof (char *));
  char **diff_ids = xzalloc ((n + 1) * sizeof (char *));
  const char **types = xzalloc ((n + 1) * sizeof (char *));
  int64_t *sizes = xzalloc ((n + 1) * sizeof (int64_t));
  _cleanup_free_ char *config_digest = NULL;
  _cleanup_free_ char *mdigest = NULL;
  int64_t msize = 0;
  int ret = 0;

  if (cfg == NULL)
    cfg = &empty;
  if (name)
    ret = ward_image_ref_parse (name, &ref, err);
  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      types[i] = ward_image_layer_media_type (layers[i].data, layers[i].len);
      sizes[i] = (int64_t) layers[i].len;
      ret = ward_image_diff_id (layers[i].data, layers[i].len, &diff_ids[i], err);
      if (ret == 0)
        ret = ward_store_blob_put (store, layers[i].data, layers[i].len, NULL, &digests[i], err);
      if (ret < 0)
        ward_error_wrap (err, "layer %zu", i);
    }
  if (ret == 0)
    {
      _cleanup_json_ json_object *c = config_json (cfg, diff_ids, n);
      const char *text = ward_image_json_text (c);
      ret = ward_store_blob_put (store, text, strlen (text), NULL, &config_digest, err);
      if (ret == 0)
        ret = ward_image_write_manifest (store, config_digest, (int64_t) strlen (text),
                                         (const char *const *) digests, sizes, types, n,
                                         &mdigest, &msize, err);
    }
  if (ret == 0 && ref)
    ret = ward_store_ref_set (store, ref->full, WARD_MT_OCI_MANIFEST, mdigest, msize, err);
  for (size_t i = 0; i < n; i++)
    {
      free (digests[i]);
      free (diff_ids[i]);
    }
  free (digests);
  free (diff_ids);
  free (types);
  free (sizes);
  if (ret < 0)
    return ret;
  if (manifest_digest)
    *manifest_digest = TAKE_PTR (mdigest);
  return 0;
}
