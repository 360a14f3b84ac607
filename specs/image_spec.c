/* OCI image-spec 1.1 documents (index, manifest, image config) and their
 * Docker schema 2 equivalents.  Digests are checked strictly because the
 * image store turns them into file names. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "specs/json_read.h"
#include "specs/specs.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

int ward_oci_digest_check (const char *digest)
{
  const char *hex;
  size_t want;
  if (digest == NULL)
    return -EINVAL;
  if (strncmp (digest, "sha256:", 7) == 0)
    hex = digest + 7, want = 64;
  else if (strncmp (digest, "sha512:", 7) == 0)
    hex = digest + 7, want = 128;
  else
    return -EINVAL;
  if (strlen (hex) != want || strspn (hex, "0123456789abcdef") != want)
    return -EINVAL;
  return 0;
}

static void platform_free (ward_oci_platform_t *p)
{
  if (p == NULL)
    return;
  free (p->architecture);
  free (p->os);
  free (p->os_version);
  free (p->variant);
  ward_specs_strv_free (p->os_features);
  free (p);
}

static void descriptor_clear (ward_oci_descriptor_t *d)
{
  free (d->media_type);
  free (d->digest);
  ward_specs_strv_free (d->urls);
  ward_specs_kv_free (d->annotations, d->annotations_len);
  free (d->artifact_type);
  platform_free (d->platform);
  memset (d, 0, sizeof *d);
}

static void descriptors_free (ward_oci_descriptor_t *d, size_t n)
{
  for (size_t i = 0; i < n; i++)
    descriptor_clear (&d[i]);
  free (d);
}

static int parse_platform (json_object *o, const char *path, ward_oci_platform_t *p,
                           ward_error_t **err)
{
  int ret = ward_specs_read_str (o, path, "architecture", true, &p->architecture, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "os", true, &p->os, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "os.version", false, &p->os_version, err);
  if (ret == 0)
    ret = ward_specs_read_strv (o, path, "os.features", &p->os_features, &p->os_features_len,
                                NULL, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "variant", false, &p->variant, err);
  return ret;
}

static int parse_descriptor (json_object *o, const char *path, ward_oci_descriptor_t *d,
                             ward_error_t **err)
{
  json_object *pl;
  bool has_size = false;
  int ret = ward_specs_expect (o, json_type_object, path, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "mediaType", true, &d->media_type, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "digest", true, &d->digest, err);
  if (ret < 0)
    return ret;
  if (ward_oci_digest_check (d->digest) < 0)
    return ward_error_set (err, 0, "%s%sdigest: invalid digest \"%s\"", path, *path ? "." : "",
                           d->digest);
  ret = ward_specs_read_i64 (o, path, "size", &d->size, &has_size, err);
  if (ret < 0)
    return ret;
  if (!has_size)
    return ward_error_set (err, 0, "%s%ssize: required", path, *path ? "." : "");
  if (d->size < 0)
    return ward_error_set (err, 0, "%s%ssize: value %lld out of range", path, *path ? "." : "",
                           (long long) d->size);
  ret = ward_specs_read_strv (o, path, "urls", &d->urls, &d->urls_len, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_kv (o, path, "annotations", &d->annotations, &d->annotations_len, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "artifactType", false, &d->artifact_type, err);
  if (ret == 0)
    ret = ward_specs_read_object (o, path, "platform", &pl, err);
  if (ret < 0 || pl == NULL)
    return ret;
  {
    _cleanup_free_ char *pp = ward_specs_path_key (path, "platform");
    d->platform = xzalloc (sizeof *d->platform);
    return parse_platform (pl, pp, d->platform, err);
  }
}

static int parse_descriptor_list (json_object *o, const char *key, bool required,
                                  ward_oci_descriptor_t **out, size_t *len, ward_error_t **err)
{
  json_object *arr;
  int ret = ward_specs_read_array (o, "", key, &arr, err);
  if (ret < 0)
    return ret;
  if (arr == NULL)
    return required ? ward_error_set (err, 0, "%s: required", key) : 0;
  *len = json_object_array_length (arr);
  *out = xzalloc ((*len ? *len : 1) * sizeof (ward_oci_descriptor_t));
  for (size_t i = 0; i < *len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (key, i);
      ret = parse_descriptor (json_object_array_get_idx (arr, i), ip, &(*out)[i], err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int parse_subject (json_object *o, ward_oci_descriptor_t **out, ward_error_t **err)
{
  json_object *v;
  int ret = ward_specs_read_object (o, "", "subject", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  *out = xzalloc (sizeof **out);
  return parse_descriptor (v, "subject", *out, err);
}

/* schemaVersion 2 and, when present, one of the accepted media types. */
static int parse_header (json_object *o, const char *const *media_types, const char *what,
                         int *schema_version, char **media_type, char **artifact_type,
                         ward_error_t **err)
{
  int32_t sv = 0;
  bool has_sv = false;
  int ret;
  if (json_object_get_type (o) != json_type_object)
    return ward_error_set (err, 0, "%s: expected object, got %s", what,
                           json_type_to_name (json_object_get_type (o)));
  ret = ward_specs_read_i32 (o, "", "schemaVersion", &sv, &has_sv, err);
  if (ret < 0)
    return ret;
  if (!has_sv)
    return ward_error_set (err, 0, "schemaVersion: required");
  if (sv != 2)
    return ward_error_set (err, 0, "schemaVersion: unsupported version %d (want 2)", (int) sv);
  *schema_version = sv;
  ret = ward_specs_read_str (o, "", "mediaType", false, media_type, err);
  if (ret < 0)
    return ret;
  if (*media_type)
    {
      bool ok = false;
      for (size_t i = 0; media_types[i]; i++)
        ok = ok || strcmp (*media_type, media_types[i]) == 0;
      if (!ok)
        return ward_error_set (err, 0, "mediaType: \"%s\" is not %s", *media_type, what);
    }
  return ward_specs_read_str (o, "", "artifactType", false, artifact_type, err);
}

int ward_oci_index_parse (const char *data, size_t len, ward_oci_index_t **out, ward_error_t **err)
{
  static const char *const types[] = { MT_OCI_INDEX, MT_DOCKER_LIST, NULL };
  _cleanup_json_ json_object *o = NULL;
  ward_oci_index_t *idx;
  int ret = ward_specs_tokenize (data, len, &o, err);
  if (ret < 0)
    return ret;
  idx = xzalloc (sizeof *idx);
  ret = parse_header (o, types, "an image index", &idx->schema_version, &idx->media_type,
                      &idx->artifact_type, err);
  if (ret == 0)
    ret = parse_descriptor_list (o, "manifests", true, &idx->manifests, &idx->manifests_len, err);
  if (ret == 0)
    ret = parse_subject (o, &idx->subject, err);
  if (ret == 0)
    ret = ward_specs_read_kv (o, "", "annotations", &idx->annotations, &idx->annotations_len, err);
  if (ret < 0)
    {
      ward_oci_index_free (idx);
      return ret;
    }
  *out = idx;
  return 0;
}

void ward_oci_index_free (ward_oci_index_t *idx)
{
  if (idx == NULL)
    return;
  free (idx->media_type);
  free (idx->artifact_type);
  descriptors_free (idx->manifests, idx->manifests_len);
  if (idx->subject)
    descriptor_clear (idx->subject);
  free (idx->subject);
  ward_specs_kv_free (idx->annotations, idx->annotations_len);
  free (idx);
}

int ward_oci_manifest_parse (const char *data, size_t len, ward_oci_manifest_t **out,
                             ward_error_t **err)
{
  static const char *const types[] = { MT_OCI_MANIFEST, MT_DOCKER_MANIFEST, NULL };
  _cleanup_json_ json_object *o = NULL;
  ward_oci_manifest_t *m;
  json_object *cfg;
  int ret = ward_specs_tokenize (data, len, &o, err);
  if (ret < 0)
    return ret;
  m = xzalloc (sizeof *m);
  ret = parse_header (o, types, "an image manifest", &m->schema_version, &m->media_type,
                      &m->artifact_type, err);
  if (ret == 0)
    ret = ward_specs_read_object (o, "", "config", &cfg, err);
  if (ret == 0 && cfg == NULL)
    ret = ward_error_set (err, 0, "config: required");
  if (ret == 0)
    ret = parse_descriptor (cfg, "config", &m->config, err);
  if (ret == 0)
    ret = parse_descriptor_list (o, "layers", true, &m->layers, &m->layers_len, err);
  if (ret == 0)
    ret = parse_subject (o, &m->subject, err);
  if (ret == 0)
    ret = ward_specs_read_kv (o, "", "annotations", &m->annotations, &m->annotations_len, err);
  if (ret < 0)
    {
      ward_oci_manifest_free (m);
      return ret;
    }
  *out = m;
  return 0;
}

void ward_oci_manifest_free (ward_oci_manifest_t *m)
{
  if (m == NULL)
    return;
  free (m->media_type);
  free (m->artifact_type);
  descriptor_clear (&m->config);
  descriptors_free (m->layers, m->layers_len);
  if (m->subject)
    descriptor_clear (m->subject);
  free (m->subject);
  ward_specs_kv_free (m->annotations, m->annotations_len);
  free (m);
}

/* {"80/tcp": {}, ...}: only the keys matter. */
static int read_key_set (json_object *o, const char *path, const char *key, char ***out,
                         size_t *len, ward_error_t **err)
{
  json_object *m;
  size_t i = 0;
  int ret = ward_specs_read_object (o, path, key, &m, err);
  if (ret < 0 || m == NULL)
    return ret;
  *len = (size_t) json_object_object_length (m);
  *out = xzalloc ((*len + 1) * sizeof (char *));
  json_object_object_foreach (m, k, v)
    {
      (void) v;
      (*out)[i++] = xstrdup (k);
    }
  return 0;
}

static int parse_image_config (json_object *o, ward_oci_image_config_t *c, ward_error_t **err)
{
  json_object *cfg, *rootfs;
  int ret;
  if (json_object_get_type (o) != json_type_object)
    return ward_error_set (err, 0, "image config: expected object, got %s",
                           json_type_to_name (json_object_get_type (o)));
  ret = ward_specs_read_str (o, "", "created", false, &c->created, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, "", "author", false, &c->author, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, "", "architecture", true, &c->architecture, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, "", "os", true, &c->os, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, "", "os.version", false, &c->os_version, err);
  if (ret == 0)
    ret = ward_specs_read_strv (o, "", "os.features", &c->os_features, &c->os_features_len, NULL,
                                err);
  if (ret == 0)
    ret = ward_specs_read_str (o, "", "variant", false, &c->variant, err);
  if (ret == 0)
    ret = ward_specs_read_object (o, "", "config", &cfg, err);
  if (ret < 0)
    return ret;
  if (cfg)
    {
      ret = ward_specs_read_str (cfg, "config", "User", false, &c->user, err);
      if (ret == 0)
        ret = read_key_set (cfg, "config", "ExposedPorts", &c->exposed_ports,
                            &c->exposed_ports_len, err);
      if (ret == 0)
        ret = ward_specs_read_strv (cfg, "config", "Env", &c->env, &c->env_len, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_strv (cfg, "config", "Entrypoint", &c->entrypoint,
                                    &c->entrypoint_len, &c->has_entrypoint, err);
      if (ret == 0)
        ret = ward_specs_read_strv (cfg, "config", "Cmd", &c->cmd, &c->cmd_len, &c->has_cmd, err);
      if (ret == 0)
        ret = read_key_set (cfg, "config", "Volumes", &c->volumes, &c->volumes_len, err);
      if (ret == 0)
        ret = ward_specs_read_str (cfg, "config", "WorkingDir", false, &c->working_dir, err);
      if (ret == 0)
        ret = ward_specs_read_kv (cfg, "config", "Labels", &c->labels, &c->labels_len, err);
      if (ret == 0)
        ret = ward_specs_read_str (cfg, "config", "StopSignal", false, &c->stop_signal, err);
      if (ret == 0)
        ret = ward_specs_read_bool (cfg, "config", "ArgsEscaped", &c->args_escaped, NULL, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_specs_read_object (o, "", "rootfs", &rootfs, err);
  if (ret < 0)
    return ret;
  if (rootfs == NULL)
    return ward_error_set (err, 0, "rootfs: required");
  ret = ward_specs_read_str (rootfs, "rootfs", "type", true, &c->rootfs_type, err);
  if (ret < 0)
    return ret;
  if (strcmp (c->rootfs_type, "layers") != 0)
    return ward_error_set (err, 0, "rootfs.type: unknown type \"%s\"", c->rootfs_type);
  ret = ward_specs_read_strv (rootfs, "rootfs", "diff_ids", &c->diff_ids, &c->diff_ids_len, NULL,
                              err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < c->diff_ids_len; i++)
    if (ward_oci_digest_check (c->diff_ids[i]) < 0)
      return ward_error_set (err, 0, "rootfs.diff_ids[%zu]: invalid digest \"%s\"", i,
                             c->diff_ids[i]);
  return 0;
}

int ward_oci_image_config_parse (const char *data, size_t len, ward_oci_image_config_t **out,
                                 ward_error_t **err)
{
  _cleanup_json_ json_object *o = NULL;
  ward_oci_image_config_t *c;
  int ret = ward_specs_tokenize (data, len, &o, err);
  if (ret < 0)
    return ret;
  c = xzalloc (sizeof *c);
  ret = parse_image_config (o, c, err);
  if (ret < 0)
    {
      ward_oci_image_config_free (c);
      return ret;
    }
  *out = c;
  return 0;
}

void ward_oci_image_config_free (ward_oci_image_config_t *c)
{
  if (c == NULL)
    return;
  free (c->created);
  free (c->author);
  free (c->architecture);
  free (c->os);
  free (c->os_version);
  free (c->variant);
  ward_specs_strv_free (c->os_features);
  free (c->user);
  ward_specs_strv_free (c->exposed_ports);
  ward_specs_strv_free (c->env);
  ward_specs_strv_free (c->entrypoint);
  ward_specs_strv_free (c->cmd);
  ward_specs_strv_free (c->volumes);
  free (c->working_dir);
  ward_specs_kv_free (c->labels, c->labels_len);
  free (c->stop_signal);
  free (c->rootfs_type);
  ward_specs_strv_free (c->diff_ids);
  free (c);
}

/* Docker and containerd treat arm64 without a variant as arm64/v8. */
static bool variant_matches (const char *arch, const char *want, const char *have)
{
  if (want == NULL)
    return true;
  if (have && strcmp (want, have) == 0)
    return true;
  return have == NULL && strcmp (arch, "arm64") == 0 && strcmp (want, "v8") == 0;
}

const ward_oci_descriptor_t *ward_oci_index_select (const ward_oci_index_t *idx, const char *os,
                                                    const char *architecture,
                                                    const char *variant)
{
  if (idx == NULL || os == NULL || architecture == NULL)
    return NULL;
  for (size_t i = 0; i < idx->manifests_len; i++)
    {
      const ward_oci_platform_t *p = idx->manifests[i].platform;
      if (p && strcmp (p->os, os) == 0 && strcmp (p->architecture, architecture) == 0
          && variant_matches (architecture, variant, p->variant))
        return &idx->manifests[i];
    }
  return NULL;
}
