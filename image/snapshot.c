/* Container root filesystems from image layers: an overlayfs mount of the
 * unpacked layers with a per-container upper dir, or, where overlayfs is
 * missing, a plain directory with the layers applied in order. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image.h"
#include "image/internal.h"

#define MARKER "snapshot"
#define SNAPSHOT_BLOBS "blobs"

static bool container_id_ok (const char *id)
{
  size_t n = id ? strlen (id) : 0;
  if (n == 0 || n > 1024 || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = id[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || (i > 0 && (c == '_' || c == '.' || c == '-'))))
        return false;
    }
  return true;
}

/* Applies each layer blob in order into dirfd, whiteouts deleting. */
static int copy_layers (ward_store_t *store, const ward_image_t *img, int dirfd,
                        ward_error_t **err)
{
  for (size_t i = 0; i < img->manifest->layers_len; i++)
    {
      const char *digest = img->manifest->layers[i].digest;
      _cleanup_close_ int blob = -1;
      ward_unpack_opts_t opts = { .mode = WARD_UNPACK_APPLY, .layer_name = digest };
      int ret = ward_store_blob_open (store, digest, &blob, err);
      if (ret == 0)
        ret = ward_unpack_fd (blob, dirfd, &opts, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

/* The new mount API: one fsconfig call per layer ("lowerdir+", Linux 6.8),
 * so neither the page-sized option string nor ':' and ',' in paths limit
 * it.  -ENOSYS/-EINVAL when the kernel lacks it: the caller uses mount(2). */
static int mount_overlay_fsconfig (char **dirs, size_t n, const char *cdir, int rootfs_fd,
                                   bool vol, ward_error_t **err)
{
  _cleanup_close_ int fs = fsopen ("overlay", FSOPEN_CLOEXEC);
  _cleanup_close_ int mnt = -1;
  _cleanup_free_ char *upper = xasprintf ("%s/upper", cdir);
  _cleanup_free_ char *work = xasprintf ("%s/work", cdir);
  if (fs < 0)
    return errno == ENOSYS || errno == EINVAL ? -errno
                                              : ward_error_set (err, errno, "fsopen overlay");
  /* the first lowerdir+ is the top layer */
  for (size_t i = n; i > 0; i--)
    if (fsconfig (fs, FSCONFIG_SET_STRING, "lowerdir+", dirs[i - 1], 0) < 0)
      return errno == EINVAL || errno == EOPNOTSUPP
                 ? -errno
                 : ward_error_set (err, errno, "overlay layer '%s'", dirs[i - 1]);
  if (fsconfig (fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
      || fsconfig (fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
    return ward_error_set (err, errno, "overlay upper/work dirs in '%s'", cdir);
  /* an optimisation only: a kernel without "volatile" keeps the syncs */
  if (vol && fsconfig (fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
    ward_debug ("overlay for '%s': no volatile option: %s", cdir, strerror (errno));
  if (fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return ward_error_set (err, errno, "create overlay for '%s/rootfs'", cdir);
  mnt = fsmount (fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return ward_error_set (err, errno, "fsmount overlay for '%s/rootfs'", cdir);
  if (move_mount (mnt, "", rootfs_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return ward_error_set (err, errno, "move overlay onto '%s/rootfs'", cdir);
  return 0;
}

static int mount_overlay_layers (ward_store_t *store, char *const *digests, size_t n,
                                 const char *cdir, int rootfs_fd, bool vol, ward_error_t **err);

static int mount_overlay (ward_store_t *store, const ward_image_t *img, const char *cdir,
                          int rootfs_fd, bool vol, ward_error_t **err)
{
  size_t n = img->manifest->layers_len;
  _cleanup_free_ char **digests = xzalloc ((n + 1) * sizeof *digests);
  for (size_t i = 0; i < n; i++)
    digests[i] = img->manifest->layers[i].digest;
  return mount_overlay_layers (store, digests, n, cdir, rootfs_fd, vol, err);
}

/* The overlay of the layer blobs (bottom first) on rootfs_fd.  vol: the
 * "volatile" option (no sync of the upper fs, above all none at umount). */
static int mount_overlay_layers (ward_store_t *store, char *const *digests, size_t n,
                                 const char *cdir, int rootfs_fd, bool vol, ward_error_t **err)
{
  size_t cap = 256, len = 0;
  _cleanup_free_ char *opts = NULL;
  _cleanup_free_ char *lower = xmalloc (cap);
  char target[64];
  char **dirs = NULL;
  int ret;

  if (n == 0)
    return ward_error_set (err, EINVAL, "image has no layers");
  dirs = xzalloc ((n + 1) * sizeof (char *));
  ret = 0;
  for (size_t i = 0; ret == 0 && i < n; i++)
    ret = ward_store_layer_ensure (store, digests[i], &dirs[i], err);
  if (ret == 0)
    {
      ret = mount_overlay_fsconfig (dirs, n, cdir, rootfs_fd, vol, err);
      if (ret == -ENOSYS || ret == -EINVAL || ret == -EOPNOTSUPP)
        ret = 1; /* older kernel: the option string below */
    }
  if (ret <= 0)
    {
      for (size_t i = 0; i < n; i++)
        free (dirs[i]);
      free (dirs);
      return ret;
    }
  if (strpbrk (store->dir, ":,") || strpbrk (cdir, ":,"))
    ret = ward_error_set (err, EINVAL, "store path '%s' holds ':' or ','", store->dir);
  lower[0] = '\0';
  /* overlayfs takes the top layer first */
  for (size_t i = n; ret >= 0 && i > 0; i--)
    {
      const char *dir = dirs[i - 1];
      size_t dl = strlen (dir);
      if (len + dl + 2 > cap)
        {
          cap = (len + dl + 2) * 2;
          lower = xrealloc (lower, cap);
        }
      if (len)
        lower[len++] = ':';
      memcpy (lower + len, dir, dl + 1);
      len += dl;
    }
  for (size_t i = 0; i < n; i++)
    free (dirs[i]);
  free (dirs);
  if (ret < 0)
    return ret;
  opts = xasprintf ("lowerdir=%s,upperdir=%s/upper,workdir=%s/work%s", lower, cdir, cdir,
                    vol ? ",volatile" : "");
  if (strlen (opts) >= 4096)
    return ward_error_set (err, E2BIG, "overlay options for %zu layers exceed a page", n);
  snprintf (target, sizeof target, "/proc/self/fd/%d", rootfs_fd);
  if (mount ("overlay", target, "overlay", 0, opts) < 0)
    {
      /* "volatile" is Linux 5.10+: an older kernel gets a plain upper */
      if (errno == EINVAL && vol)
        {
          opts[strlen (opts) - strlen (",volatile")] = '\0';
          if (mount ("overlay", target, "overlay", 0, opts) == 0)
            return 0;
        }
      return ward_error_set (err, errno, "mount overlay on '%s/rootfs'", cdir);
    }
  return 0;
}

static int snapshot_create_in (ward_store_t *store, const ward_image_t *img, const char *root,
                               const char *id, ward_snapshot_opts_t *opts, char **rootfs,
                               bool *made, ward_error_t **err);

static int snapshot_create (const char *root, const char *image, const char *id,
                            ward_snapshot_opts_t *opts, char **rootfs, bool *made,
                            ward_error_t **err)
{
  _cleanup_store_ ward_store_t *store = NULL;
  _cleanup_image_ ward_image_t *img = NULL;
  int ret;

  if (root == NULL)
    root = WARD_IMAGE_DEFAULT_ROOT;
  if (!container_id_ok (id))
    return ward_error_set (err, EINVAL, "invalid container id '%s'", id ? id : "");
  ret = ward_store_open (root, &store, err);
  if (ret == 0)
    ret = ward_image_open (store, image, &img, err);
  if (ret < 0)
    return ret;
  return snapshot_create_in (store, img, root, id, opts, rootfs, made, err);
}

static int snapshot_create_in (ward_store_t *store, const ward_image_t *img, const char *root,
                               const char *id, ward_snapshot_opts_t *opts, char **rootfs,
                               bool *made, ward_error_t **err)
{
  _cleanup_free_ char *cdir = NULL;
  _cleanup_close_ int cfd = -1;
  _cleanup_close_ int rfd = -1;
  ward_snapshot_opts_t defaults = { 0 };
  bool copy;
  int ret;

  if (opts == NULL)
    opts = &defaults;
  if (!container_id_ok (id))
    return ward_error_set (err, EINVAL, "invalid container id '%s'", id ? id : "");

  cdir = xasprintf ("%s/containers/%s", root, id);
  {
    _cleanup_free_ char *parent = xasprintf ("%s/containers", root);
    ret = ward_mkdir_p (parent, 0700, err);
    if (ret < 0)
      return ret;
  }
  if (mkdir (cdir, 0700) < 0)
    return ward_error_set (err, errno, "snapshot '%s'", cdir);
  *made = true;
  cfd = open (cdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cfd < 0)
    return ward_error_set (err, errno, "open '%s'", cdir);
  if (mkdirat (cfd, "rootfs", 0755) < 0)
    return ward_error_set (err, errno, "mkdir '%s/rootfs'", cdir);
  rfd = openat (cfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0)
    return ward_error_set (err, errno, "open '%s/rootfs'", cdir);

  copy = opts->force_copy || img->manifest->layers_len == 0;
  if (!copy)
    {
      _cleanup_error_ ward_error_t *merr = NULL;
      if (mkdirat (cfd, "upper", 0755) < 0 || mkdirat (cfd, "work", 0700) < 0)
        return ward_error_set (err, errno, "mkdir '%s/upper'", cdir);
      ret = mount_overlay (store, img, cdir, rfd, opts->volatile_upper, &merr);
      if (ret < 0)
        {
          /* a broken layer is an error; a missing overlayfs is not */
          if (merr->status != ENODEV && merr->status != EPERM && merr->status != EINVAL
              && merr->status != E2BIG && merr->status != ENOTSUP)
            {
              *err = TAKE_PTR (merr);
              return ward_error_wrap (err, "snapshot '%s'", id);
            }
          ward_warn ("snapshot '%s': overlayfs unavailable (%s), copying the layers", id,
                     merr->msg);
          copy = true;
        }
    }
  if (copy)
    {
      ret = copy_layers (store, img, rfd, err);
      if (ret < 0)
        return ward_error_wrap (err, "snapshot '%s'", id);
    }
  opts->used_copy = copy;
  ret = ward_create_file_at (cfd, MARKER, copy ? "copy\n" : "overlay\n", copy ? 5 : 8, 0600, err);
  if (ret < 0)
    return ret;
  {
    /* the blobs this snapshot stands on: store GC keeps them */
    size_t cap = 128, len = 0;
    _cleanup_free_ char *list = xmalloc (cap);
    const char *extra[] = { img->manifest_digest, img->config_digest };
    for (size_t i = 0; i < img->manifest->layers_len + 2; i++)
      {
        const char *d = i < 2 ? extra[i] : img->manifest->layers[i - 2].digest;
        size_t dl = strlen (d);
        if (len + dl + 2 > cap)
          {
            cap = (len + dl + 2) * 2;
            list = xrealloc (list, cap);
          }
        memcpy (list + len, d, dl);
        len += dl;
        list[len++] = '\n';
      }
    ret = ward_create_file_at (cfd, SNAPSHOT_BLOBS, list, len, 0600, err);
    if (ret < 0)
      return ret;
  }
  if (rootfs)
    *rootfs = xasprintf ("%s/rootfs", cdir);
  return 0;
}

int ward_snapshot_create (const char *root, const char *image, const char *id,
                          ward_snapshot_opts_t *opts, char **rootfs, ward_error_t **err)
{
  bool made = false;
  int ret = snapshot_create (root, image, id, opts, rootfs, &made, err);
  if (ret < 0 && made)
    {
      /* no half-made snapshot stays behind (it may hold a mount) */
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_snapshot_remove (root, id, &e) < 0)
        ward_warn ("snapshot '%s': cleanup after failure: %s", id, e->msg);
    }
  return ret;
}

int ward_snapshot_create_from (ward_store_t *store, const ward_image_t *img,
                               const char *container_id, ward_snapshot_opts_t *opts,
                               char **rootfs, ward_error_t **err)
{
  bool made = false;
  int ret = snapshot_create_in (store, img, store->root, container_id, opts, rootfs, &made, err);
  if (ret < 0 && made)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_snapshot_remove (store->root, container_id, &e) < 0)
        ward_warn ("snapshot '%s': cleanup after failure: %s", container_id, e->msg);
    }
  return ret;
}

int ward_snapshot_remove (const char *root, const char *id, ward_error_t **err)
{
  _cleanup_free_ char *cdir = NULL;
  _cleanup_free_ char *rootfs = NULL;
  _cleanup_close_ int parent = -1;
  struct stat cst, rst;

  if (root == NULL)
    root = WARD_IMAGE_DEFAULT_ROOT;
  if (!container_id_ok (id))
    return ward_error_set (err, EINVAL, "invalid container id '%s'", id ? id : "");
  cdir = xasprintf ("%s/containers/%s", root, id);
  rootfs = xasprintf ("%s/rootfs", cdir);
  if (lstat (cdir, &cst) < 0)
    return errno == ENOENT ? ward_error_set_ret (err, -ENOENT, 0, "snapshot '%s': not found", id)
                           : ward_error_set (err, errno, "stat '%s'", cdir);
  if (umount2 (rootfs, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
    return ward_error_set (err, errno, "umount '%s'", rootfs);
  /* never recurse into a mount that is still there */
  if (lstat (rootfs, &rst) == 0 && rst.st_dev != cst.st_dev)
    return ward_error_set (err, EBUSY, "'%s' is still a mount point", rootfs);
  {
    _cleanup_free_ char *pdir = xasprintf ("%s/containers", root);
    parent = open (pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0)
      return ward_error_set (err, errno, "open '%s'", pdir);
  }
  return ward_image_rm_rf_at (parent, id, err);
}

int ward_snapshot_mount (const char *root, const char *id, ward_error_t **err)
{
  _cleanup_free_ char *cdir = NULL;
  _cleanup_free_ char *marker = NULL;
  _cleanup_free_ char *blobs = NULL;
  _cleanup_free_ char **digests = NULL;
  _cleanup_store_ ward_store_t *store = NULL;
  _cleanup_close_ int cfd = -1;
  _cleanup_close_ int rfd = -1;
  struct stat cst, rst;
  size_t n = 0, line = 0;
  int ret;

  if (root == NULL)
    root = WARD_IMAGE_DEFAULT_ROOT;
  if (!container_id_ok (id))
    return ward_error_set (err, EINVAL, "invalid container id '%s'", id ? id : "");
  cdir = xasprintf ("%s/containers/%s", root, id);
  cfd = open (cdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cfd < 0)
    return ward_error_set (err, errno, "open '%s'", cdir);
  rfd = openat (cfd, "rootfs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0)
    return ward_error_set (err, errno, "open '%s/rootfs'", cdir);
  if (fstat (cfd, &cst) < 0 || fstat (rfd, &rst) < 0)
    return ward_error_set (err, errno, "stat '%s/rootfs'", cdir);
  /* mounted already (the common case), or a copy that needs no mount */
  if (rst.st_dev != cst.st_dev)
    return 0;
  ret = ward_read_file_at (cfd, MARKER, &marker, NULL, 64, err);
  if (ret < 0)
    return ret;
  if (strncmp (marker, "overlay", 7) != 0)
    return 0;
  ret = ward_read_file_at (cfd, SNAPSHOT_BLOBS, &blobs, NULL, 1 << 20, err);
  if (ret < 0)
    return ret;
  /* manifest, config, then the layers bottom first */
  for (char *save = NULL, *t = strtok_r (blobs, "\n", &save); t; t = strtok_r (NULL, "\n", &save))
    if (line++ >= 2)
      {
        digests = xrealloc (digests, (n + 2) * sizeof *digests);
        digests[n++] = t;
        digests[n] = NULL;
      }
  if (n == 0)
    return ward_error_set (err, EINVAL, "snapshot '%s': no layers listed in '%s/%s'", id, cdir, SNAPSHOT_BLOBS);
  ret = ward_store_open (root, &store, err);
  if (ret == 0)
    ret = mount_overlay_layers (store, digests, n, cdir, rfd, false, err);
  return ret < 0 ? ward_error_wrap (err, "remount snapshot '%s'", id) : 0;
}
