/* image/: the image side of the docker-style front end.  A content store
 * in OCI image-layout form, image references normalised like docker's, a
 * registry v2 client, layer unpacking that treats every tar entry as
 * hostile, overlayfs snapshots, docker/OCI archive import and export and
 * the built-in busybox image.
 *
 * On-disk layout under a root (default /var/lib/ward):
 *   <root>/image/oci-layout, index.json, blobs/sha256/<hex>   (OCI layout)
 *   <root>/image/layers/<hex>/      a layer blob unpacked once, overlay form;
 *                                   keyed by the blob digest (verified), not
 *                                   the diff_id an image merely claims
 *   blobs/sha256/.tmp-*, layers/.tmp-*   in-flight writes, each flock'ed
 *   <root>/image/.lock              flock for index.json updates
 *   <root>/image/.gc.lock           shared by every open store, exclusive for GC
 *   <root>/containers/<id>/{upper,work,rootfs,snapshot,blobs}   snapshots
 *
 * Every function takes the root (or a store opened on it); nothing here
 * prints or exits. */
#ifndef WARD_IMAGE_H
#define WARD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "specs/specs.h"

#define WARD_IMAGE_DEFAULT_ROOT "/var/lib/ward"

#define WARD_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define WARD_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define WARD_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define WARD_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define WARD_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define WARD_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define WARD_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define WARD_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define WARD_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define WARD_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define WARD_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* ---- references (reference.c) ----------------------------------------- */

typedef struct
{
  char *domain; /* "docker.io", "localhost:5000" */
  char *path;   /* "library/busybox" */
  char *tag;    /* "latest"; NULL when only a digest was given */
  char *digest; /* "sha256:<64 hex>" or NULL */
  char *repo;   /* domain/path */
  char *full;   /* domain/path[:tag][@digest]: the store's ref name */
} ward_image_ref_t;

/* Parses and normalises like docker: "busybox" ->
 * docker.io/library/busybox:latest; the first component is a registry
 * host when it contains '.' or ':' or is "localhost".  Invalid names fail
 * with EINVAL and a message saying what is wrong. */
int ward_image_ref_parse (const char *name, ward_image_ref_t **out, ward_error_t **err);
void ward_image_ref_free (ward_image_ref_t *ref);
#define _cleanup_image_ref_ __attribute__ ((cleanup (ward_image_ref_freep)))
static inline void ward_image_ref_freep (ward_image_ref_t **r)
{
  if (*r)
    ward_image_ref_free (*r);
}
/* The short form docker prints ("busybox:latest", "user/x:1"); malloc'd. */
char *ward_image_ref_familiar (const ward_image_ref_t *ref);

/* ---- content store (store.c) ------------------------------------------ */

typedef struct ward_store
{
  char *root;     /* as given */
  char *dir;      /* <root>/image */
  int dirfd;      /* <root>/image */
  int blobs_fd;   /* <root>/image/blobs/sha256 */
  int layers_fd;  /* <root>/image/layers */
  int gc_fd;      /* <root>/image/.gc.lock, held shared while the store is open */
} ward_store_t;

/* Creates the layout when missing, removes temp files and half-unpacked
 * layers that an interrupted command left (only those no live process
 * holds a lock on). */
int ward_store_open (const char *root, ward_store_t **out, ward_error_t **err);
void ward_store_close (ward_store_t *store);
#define _cleanup_store_ __attribute__ ((cleanup (ward_store_closep)))
static inline void ward_store_closep (ward_store_t **s)
{
  if (*s)
    ward_store_close (*s);
}

/* Streaming blob writer: data goes to a locked temp file in blobs/sha256
 * while it is hashed; commit verifies the digest (when one was expected)
 * and renames it into place.  abort (or commit failing) removes it. */
typedef struct ward_blob_writer ward_blob_writer_t;
int ward_store_blob_begin (ward_store_t *store, const char *expected_digest,
                           ward_blob_writer_t **out, ward_error_t **err);
int ward_blob_writer_write (ward_blob_writer_t *w, const void *data, size_t len,
                            ward_error_t **err);
int64_t ward_blob_writer_size (const ward_blob_writer_t *w);
/* On success *digest (may be NULL) receives "sha256:<hex>" (malloc'd); w
 * is freed in every case.  A mismatch fails with EBADMSG. */
int ward_blob_writer_commit (ward_blob_writer_t *w, char **digest, ward_error_t **err);
void ward_blob_writer_abort (ward_blob_writer_t *w);

int ward_store_blob_put (ward_store_t *store, const void *data, size_t len,
                         const char *expected_digest, char **digest, ward_error_t **err);
/* Copies fd to its end into the store (import of untrusted files). */
int ward_store_blob_put_fd (ward_store_t *store, int fd, const char *expected_digest,
                            char **digest, int64_t *size, ward_error_t **err);
bool ward_store_blob_exists (ward_store_t *store, const char *digest);
int ward_store_blob_open (ward_store_t *store, const char *digest, int *fd, ward_error_t **err);
/* Reads a small blob (manifests, configs; max 0 = 16 MiB) and checks that
 * its content still matches its digest. */
int ward_store_blob_read (ward_store_t *store, const char *digest, char **data, size_t *len,
                          size_t max, ward_error_t **err);
/* Re-hashes a blob: 0 when intact, -EBADMSG when corrupt. */
int ward_store_blob_verify (ward_store_t *store, const char *digest, ward_error_t **err);

typedef struct
{
  char *name; /* normalised ref name; NULL for unnamed entries */
  char *media_type;
  char *digest;
  int64_t size;
} ward_image_desc_t;
void ward_image_desc_clear (ward_image_desc_t *d);
void ward_image_descs_free (ward_image_desc_t *d, size_t n);

/* index.json, read and updated under the store's flock.  Names are full
 * normalised references (callers pass ward_image_ref_t.full). */
int ward_store_ref_set (ward_store_t *store, const char *name, const char *media_type,
                        const char *digest, int64_t size, ward_error_t **err);
int ward_store_ref_get (ward_store_t *store, const char *name, ward_image_desc_t *out,
                        ward_error_t **err); /* -ENOENT when unknown */
int ward_store_ref_remove (ward_store_t *store, const char *name, ward_error_t **err);
int ward_store_list (ward_store_t *store, ward_image_desc_t **out, size_t *len,
                     ward_error_t **err);

/* Points target (a name) at the image source resolves to. */
int ward_image_tag (ward_store_t *store, const char *source, const char *target,
                    ward_error_t **err);
/* Removes the name; the content stays until ward_store_gc. */
int ward_image_untag (ward_store_t *store, const char *name, ward_error_t **err);
/* Deletes blobs and unpacked layers that no ref and no container snapshot
 * (<root>/containers/<id>/blobs) reaches; *removed (may be NULL) counts them.
 * Fails with EBUSY while another command has the store open (a pull in
 * flight has blobs no ref reaches yet). */
int ward_store_gc (ward_store_t *store, unsigned *removed, ward_error_t **err);

/* ---- resolved images (config.c) --------------------------------------- */

typedef struct
{
  char *name;            /* full ref name, or NULL when resolved by id */
  char *manifest_digest;
  char *manifest_json;   /* raw bytes as stored */
  size_t manifest_len;
  char *config_digest;   /* the image id */
  char *config_json;
  size_t config_len;
  ward_oci_manifest_t *manifest;
  ward_oci_image_config_t *config;
} ward_image_t;

/* Finds an image by name (normalised), by full or abbreviated config
 * digest (image id, at least 4 hex), or by manifest digest; follows an
 * index to the linux/<this arch> manifest.  -ENOENT when not present. */
int ward_image_open (ward_store_t *store, const char *name, ward_image_t **out,
                     ward_error_t **err);
void ward_image_free (ward_image_t *img);
#define _cleanup_image_ __attribute__ ((cleanup (ward_image_freep)))
static inline void ward_image_freep (ward_image_t **i)
{
  if (*i)
    ward_image_free (*i);
}

/* One line of `ward images`. */
typedef struct
{
  char *name;            /* full ref name */
  char *id;              /* config digest; NULL when the image's blobs are missing */
  char *manifest_digest;
  char *created;         /* RFC 3339 from the config, or NULL */
  int64_t size;          /* config + layers as stored (compressed); -1 when unknown */
} ward_image_info_t;
int ward_image_list (ward_store_t *store, ward_image_info_t **out, size_t *len,
                     ward_error_t **err);
void ward_image_infos_free (ward_image_info_t *infos, size_t n);

/* The image's run configuration for the CLI (Entrypoint, Cmd, Env,
 * WorkingDir, User, ExposedPorts, StopSignal, Labels, Volumes, ...). */
int ward_image_config_get (ward_store_t *store, const char *name,
                           ward_oci_image_config_t **out, ward_error_t **err);

/* "amd64", "arm64", ... for the machine ward was built for. */
const char *ward_image_host_arch (void);

/* ---- building images (build.c, default_image.c) ----------------------- */

typedef struct
{
  const void *data; /* a layer tar (plain, gzip or zstd) */
  size_t len;
} ward_image_layer_src_t;

typedef struct
{
  const char *const *entrypoint; /* NULL-terminated; NULL = absent */
  const char *const *cmd;
  const char *const *env;
  const char *working_dir;
  const char *user;
  const char *stop_signal;
  const char *const *exposed_ports; /* "80/tcp" */
  const char *const *volumes;
  const char *const *labels;      /* "key=value" */
  const char *created;            /* RFC 3339; NULL = "1970-01-01T00:00:00Z" */
  const char *architecture;       /* NULL = host */
  const char *variant;
  const char *os;                 /* NULL = linux */
} ward_image_build_config_t;

/* Stores the layers, a config and an OCI manifest; tags it as name when
 * name is not NULL.  The output is a function of the inputs only. */
int ward_image_create (ward_store_t *store, const char *name,
                       const ward_image_layer_src_t *layers, size_t n_layers,
                       const ward_image_build_config_t *cfg, char **manifest_digest,
                       ward_error_t **err);

/* The deterministic layer tar of the default image (uncompressed). */
int ward_default_image_layer (const char *busybox_path, char **tar, size_t *len,
                              ward_error_t **err);
/* Builds docker.io/library/busybox:latest from a static busybox binary and
 * writes it into the store; *manifest_digest is stable across builds. */
int ward_default_image_build (ward_store_t *store, const char *busybox_path,
                              char **manifest_digest, ward_error_t **err);

/* ---- layer unpack (unpack.c) ------------------------------------------ */

typedef enum
{
  /* Whiteouts become overlayfs whiteouts (char 0/0 for a deletion,
   * trusted.overlay.opaque=y for an opaque dir): one layer per directory. */
  WARD_UNPACK_OVERLAY = 0,
  /* Whiteouts delete from what the target already holds: layers applied
   * in order into one directory (the copy fallback, flatten). */
  WARD_UNPACK_APPLY = 1,
} ward_unpack_mode_t;

typedef struct
{
  ward_unpack_mode_t mode;
  const char *layer_name; /* "sha256:…" for error messages; NULL = "layer" */
  bool no_chown;          /* keep the caller's ownership (forced when not root) */
  unsigned skipped;       /* out: entries skipped (device nodes without CAP_MKNOD, ...) */
} ward_unpack_opts_t;

/* Extracts a layer (plain/gzip/zstd tar, detected by magic) below
 * target_dirfd.  Paths never leave the target: ".." escapes, parents that
 * are symlinks and hard links out of the layer are refused with an error
 * naming the entry. */
int ward_unpack_fd (int layer_fd, int target_dirfd, ward_unpack_opts_t *opts,
                    ward_error_t **err);
int ward_unpack_buffer (const void *data, size_t len, int target_dirfd,
                        ward_unpack_opts_t *opts, ward_error_t **err);

/* Unpacks the layer blob once into <root>/image/layers/<hex> (overlay
 * form) and returns that path (malloc'd) in *dir (may be NULL). */
int ward_store_layer_ensure (ward_store_t *store, const char *digest, char **dir,
                             ward_error_t **err);

/* Removes a directory tree below dirfd without following symlinks. */
int ward_image_rm_rf_at (int dirfd, const char *name, ward_error_t **err);

/* ---- snapshots (snapshot.c) ------------------------------------------- */

typedef struct
{
  bool force_copy; /* skip overlayfs and copy the layers (tests, odd hosts) */
  bool used_copy;  /* out: the copy fallback was used */
  /* overlayfs "volatile": no syncs of the upper fs (none at umount either);
   * for throw-away containers (--rm) only: after a crash such an upper
   * dir cannot be mounted again */
  bool volatile_upper;
} ward_snapshot_opts_t;

/* <root>/containers/<id>/rootfs: an overlayfs of the image's layers with
 * a per-container upper/work dir, or a plain copy when overlayfs is not
 * available.  *rootfs (may be NULL) receives the path. */
int ward_snapshot_create (const char *root, const char *image, const char *container_id,
                          ward_snapshot_opts_t *opts, char **rootfs, ward_error_t **err);
/* Same, from an image the caller has open (no second store/image open). */
int ward_snapshot_create_from (ward_store_t *store, const ward_image_t *img,
                               const char *container_id, ward_snapshot_opts_t *opts,
                               char **rootfs, ward_error_t **err);
int ward_snapshot_remove (const char *root, const char *container_id, ward_error_t **err);
/* Mounts the snapshot's overlay again when it is not mounted (after a
 * reboot); a no-op for a mounted or copied one. */
int ward_snapshot_mount (const char *root, const char *container_id, ward_error_t **err);

/* The image's "User" (name, uid, name:group, uid:gid; "" = root) as ids,
 * looked up in the rootfs's own etc/passwd and etc/group (opened with
 * RESOLVE_IN_ROOT).  Supplementary groups (groups may be NULL) are those
 * listing the user, when no group was given.  An unknown name is ENOENT. */
int ward_image_resolve_user (int rootfs_fd, const char *user, uint32_t *uid, uint32_t *gid,
                             uint32_t **groups, size_t *n_groups, ward_error_t **err);

/* ---- load / save (archive.c) ------------------------------------------ */

typedef enum
{
  WARD_ARCHIVE_DOCKER = 0, /* manifest.json + config + layers (+ the OCI files, like docker 25) */
  WARD_ARCHIVE_OCI = 1,    /* oci-layout + index.json + blobs */
} ward_archive_format_t;

/* Imports a docker-archive or OCI-archive tar read from fd; every blob is
 * verified.  *names (may be NULL) receives the NULL-terminated list of
 * refs tagged. */
int ward_image_load (ward_store_t *store, int fd, char ***names, ward_error_t **err);
int ward_image_save (ward_store_t *store, const char *const *names, size_t n_names, int out_fd,
                     ward_archive_format_t format, ward_error_t **err);

/* ---- registry (registry.c, auth.c) ------------------------------------ */

typedef enum
{
  WARD_PULL_WAITING = 0,
  WARD_PULL_DOWNLOADING,
  WARD_PULL_VERIFYING,
  WARD_PULL_EXTRACTING,
  WARD_PULL_DONE,
  WARD_PULL_EXISTS,
  WARD_PULL_FAILED,
} ward_pull_status_t;

typedef struct
{
  const char *id;      /* 12 hex of the digest, as docker shows it */
  const char *digest;
  int64_t current;     /* bytes so far */
  int64_t total;       /* -1 when unknown */
  ward_pull_status_t status;
  int index, count;    /* this layer's position, number of layers */
} ward_pull_progress_t;

typedef void (*ward_pull_progress_fn) (const ward_pull_progress_t *p, void *userdata);

typedef struct
{
  const char *os, *architecture, *variant; /* NULL: linux / host arch / any */
  const char *const *insecure_registries;  /* "host:port" allowed over plain HTTP */
  const char *username, *password;         /* optional credentials for the token service */
  const char *ca_file;                     /* extra CA bundle; NULL = system */
  int max_concurrent;                      /* layer downloads at once; 0 = 3 */
  bool unpack;                             /* unpack layers into the store after download */
  ward_pull_progress_fn progress;
  void *userdata;
} ward_pull_opts_t;

/* Pulls name into the store and tags it; *manifest_digest (may be NULL)
 * receives the digest of the platform manifest. */
int ward_image_pull (ward_store_t *store, const char *name, const ward_pull_opts_t *opts,
                     char **manifest_digest, ward_error_t **err);

/* Credentials stored by `docker login` / `podman login` for host:
 * $XDG_RUNTIME_DIR/containers/auth.json, then $DOCKER_CONFIG/config.json
 * (or ~/.docker/config.json), "auths" entries with a base64 "auth".
 * -ENOENT when none; credential helpers are not run. */
int ward_registry_credentials (const char *host, char **username, char **password);

/* "http" for localhost, 127.0.0.0/8, ::1 and the insecure list, else "https". */
const char *ward_registry_scheme (const char *host, const char *const *insecure);

#endif
