/* Helpers shared between the files of image/ (not part of its API). */
#ifndef WARD_IMAGE_INTERNAL_H
#define WARD_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "common/error.h"
#include "image/image.h"

/* prefix + 16 random hex digits. */
void ward_image_random_name (char *buf, size_t size, const char *prefix);
/* "sha256:<hex>" -> hex; EINVAL/ENOTSUP for anything the store cannot hold. */
int ward_image_digest_hex (const char *digest, const char **hex, ward_error_t **err);
/* A temp file in dirfd, flock'ed before anyone can see its name. */
int ward_image_locked_tmpfile (int dirfd, const char *prefix, char *name, size_t name_size,
                               int *out, ward_error_t **err);
/* The store's flock (index.json updates); close the fd to release. */
int ward_store_lock (ward_store_t *store, int *out, ward_error_t **err);

/* JSON text without slash escaping, as registries and docker write it. */
static inline const char *ward_image_json_text (json_object *o)
{
  return json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN
                                                | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Media type of a layer by its first bytes (gzip, zstd or plain tar). */
const char *ward_image_layer_media_type (const void *head, size_t len);

/* The digest of a layer's uncompressed stream (its diff_id). */
int ward_image_diff_id (const void *data, size_t len, char **out, ward_error_t **err);

/* A manifest (OCI JSON) for config + layers; stored; returns digest and size. */
int ward_image_write_manifest (ward_store_t *store, const char *config_digest,
                               int64_t config_size, const char *const *layer_digests,
                               const int64_t *layer_sizes, const char *const *layer_types,
                               size_t n_layers, char **digest, int64_t *size,
                               ward_error_t **err);

#endif
