/* Resolving a name (or image id) in the store to its manifest and config,
 * and the config view the CLI needs. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/image.h"
#include "image/internal.h"

const char *ward_image_host_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

void ward_image_free (ward_image_t *img)
{
  if (img == NULL)
    return;
  free (img->name);
  free (img->manifest_digest);
  free (img->manifest_json);
  free (img->config_digest);
  free (img->config_json);
  ward_oci_manifest_free (img->manifest);
  ward_oci_image_config_free (img->config);
  free (img);
}

static bool is_index_type (const char *mt)
{
  return mt && (strcmp (mt, WARD_MT_OCI_INDEX) == 0 || strcmp (mt, WARD_MT_DOCKER_LIST) == 0);
}

/* From a manifest or index digest to a loaded image. */
static int load_from_digest (ward_store_t *store, const char *media_type, const char *digest,
                             ward_image_t **out, ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_free_ char *mdigest = xstrdup (digest);
  size_t len = 0;
  ward_image_t *img;
  int ret = ward_store_blob_read (store, digest, &data, &len, 0, err);
  if (ret < 0)
    return ret;
  if (is_index_type (media_type) || (media_type == NULL && strstr (data, "\"manifests\"")))
    {
      ward_oci_index_t *idx = NULL;
      const ward_oci_descriptor_t *d;
      ret = ward_oci_index_parse (data, len, &idx, err);
      if (ret < 0)
        return ward_error_wrap (err, "index %s", digest);
      d = ward_oci_index_select (idx, "linux", ward_image_host_arch (), NULL);
      if (d == NULL)
        {
          ward_oci_index_free (idx);
          return ward_error_set (err, ENOENT, "index %s: no manifest for linux/%s", digest,
                                 ward_image_host_arch ());
        }
      free (mdigest);
      mdigest = xstrdup (d->digest);
      ward_oci_index_free (idx);
      free (data);
      data = NULL;
      ret = ward_store_blob_read (store, mdigest, &data, &len, 0, err);
      if (ret < 0)
        return ret;
    }
  img = xzalloc (sizeof *img);
  ret = ward_oci_manifest_parse (data, len, &img->manifest, err);
  if (ret < 0)
    ward_error_wrap (err, "manifest %s", mdigest);
  if (ret == 0)
    ret = ward_store_blob_read (store, img->manifest->config.digest, &img->config_json,
                                &img->config_len, 0, err);
  if (ret == 0)
    {
      ret = ward_oci_image_config_parse (img->config_json, img->config_len, &img->config, err);
      if (ret < 0)
        ward_error_wrap (err, "image config %s", img->manifest->config.digest);
    }
  if (ret == 0 && img->config->diff_ids_len != img->manifest->layers_len)
    ret = ward_error_set (err, EINVAL, "image %s: %zu layers but %zu diff_ids", mdigest,
                          img->manifest->layers_len, img->config->diff_ids_len);
  if (ret < 0)
    {
      ward_image_free (img);
      return ret;
    }
  img->config_digest = xstrdup (img->manifest->config.digest);
  img->manifest_digest = TAKE_PTR (mdigest);
  img->manifest_json = TAKE_PTR (data);
  img->manifest_len = len;
  *out = img;
  return 0;
}

/* An image id: the config digest (or manifest digest), maybe shortened. */
static int open_by_id (ward_store_t *store, const char *id, ward_image_t **out,
                       ward_error_t **err)
{
  ward_image_desc_t *list = NULL;
  size_t n = 0, idlen;
  ward_image_t *found = NULL;
  bool ambiguous = false;
  int ret;
  if (strncmp (id, "sha256:", 7) == 0)
    id += 7;
  idlen = strlen (id);
  if (idlen < 4 || idlen > 64 || strspn (id, "0123456789abcdef") != idlen)
    return ward_error_set_ret (err, -ENOENT, 0, "image '%s': not in the store", id);
  ret = ward_store_list (store, &list, &n, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n && !ambiguous; i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      ward_image_t *img = NULL;
      if (load_from_digest (store, list[i].media_type, list[i].digest, &img, &e) < 0)
        continue;
      if (strncmp (img->config_digest + 7, id, idlen) == 0
          || strncmp (img->manifest_digest + 7, id, idlen) == 0)
        {
          if (found && strcmp (found->manifest_digest, img->manifest_digest) != 0)
            ambiguous = true;
          if (found == NULL)
            {
              found = img;
              img = NULL;
            }
        }
      ward_image_free (img);
    }
  ward_image_descs_free (list, n);
  if (ambiguous)
    {
      ward_image_free (found);
      return ward_error_set (err, EINVAL, "image id '%s' is ambiguous", id);
    }
  if (found == NULL)
    return ward_error_set_ret (err, -ENOENT, 0, "image '%s': not in the store", id);
  *out = found;
  return 0;
}

int ward_image_open (ward_store_t *store, const char *name, ward_image_t **out,
                     ward_error_t **err)
{
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  _cleanup_error_ ward_error_t *perr = NULL;
  ward_image_desc_t d = { 0 };
  int ret;

  if (name == NULL)
    return ward_error_set (err, EINVAL, "no image name");
  if (ward_image_ref_parse (name, &ref, &perr) == 0)
    {
      _cleanup_error_ ward_error_t *gerr = NULL;
      ret = ward_store_ref_get (store, ref->full, &d, &gerr);
      if (ret == 0)
        {
          ret = load_from_digest (store, d.media_type, d.digest, out, err);
          ward_image_desc_clear (&d);
          if (ret == 0)
            (*out)->name = xstrdup (ref->full);
          return ret;
        }
      if (ret != -ENOENT)
        {
          *err = TAKE_PTR (gerr);
          return ret;
        }
      /* name@digest that was stored under another name (or none) */
      if (ref->digest && ward_store_blob_exists (store, ref->digest))
        return load_from_digest (store, NULL, ref->digest, out, err);
    }
  ret = open_by_id (store, name, out, err);
  if (ret == -ENOENT && ref)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "image '%s': not in the store", ref->full);
    }
  return ret;
}

int ward_image_config_get (ward_store_t *store, const char *name, ward_oci_image_config_t **out,
                           ward_error_t **err)
{
  _cleanup_image_ ward_image_t *img = NULL;
  int ret = ward_image_open (store, name, &img, err);
  if (ret < 0)
    return ret;
  *out = TAKE_PTR (img->config);
  return 0;
}

void ward_image_infos_free (ward_image_info_t *infos, size_t n)
{
  for (size_t i = 0; infos && i < n; i++)
    {
      free (infos[i].name);
      free (infos[i].id);
      free (infos[i].manifest_digest);
      free (infos[i].created);
    }
  free (infos);
}

int ward_image_list (ward_store_t *store, ward_image_info_t **out, size_t *len, ward_error_t **err)
{
  ward_image_desc_t *refs = NULL;
  ward_image_info_t *infos;
  size_t n = 0, k = 0;
  int ret = ward_store_list (store, &refs, &n, err);
  if (ret < 0)
    return ret;
  infos = xzalloc ((n + 1) * sizeof *infos);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      ward_image_t *img = NULL;
      if (refs[i].name == NULL)
        continue;
      /* an image whose blobs went missing is listed by name only */
      if (load_from_digest (store, refs[i].media_type, refs[i].digest, &img, &e) < 0)
        {
          infos[k].name = xstrdup (refs[i].name);
          infos[k].manifest_digest = xstrdup (refs[i].digest);
          infos[k].size = -1;
          k++;
          continue;
        }
      infos[k].name = xstrdup (refs[i].name);
      infos[k].id = xstrdup (img->config_digest);
      infos[k].manifest_digest = xstrdup (img->manifest_digest);
      infos[k].created = img->config->created ? xstrdup (img->config->created) : NULL;
      infos[k].size = img->manifest->config.size;
      for (size_t l = 0; l < img->manifest->layers_len; l++)
        infos[k].size += img->manifest->layers[l].size;
      k++;
      ward_image_free (img);
    }
  ward_image_descs_free (refs, n);
  *out = infos;
  *len = k;
  return 0;
}
