/* /dev inside the container when it is a fresh tmpfs: the default device
 * nodes, linux.devices, the standard symlinks, /dev/ptmx and /dev/console. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

struct devnode
{
  const char *path;
  mode_t type;
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

static const struct devnode default_devices[] = {
  { "/dev/null", S_IFCHR, 1, 3, 0666, 0, 0 },    { "/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0 },
  { "/dev/full", S_IFCHR, 1, 7, 0666, 0, 0 },    { "/dev/random", S_IFCHR, 1, 8, 0666, 0, 0 },
  { "/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0 }, { "/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0 },
};

/* Splits "/dev/a/b" into a parent fd (created inside the root) and "b". */
static int open_parent (int rootfs_fd, const char *path, char **name, ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (path);
  char *slash = strrchr (copy, '/');
  const char *dir = "/";

  if (slash && slash[1] == '\0')
    return ward_error_set (err, EINVAL, "device path '%s' ends with '/'", path);
  *name = xstrdup (slash ? slash + 1 : copy);
  if (slash && slash != copy)
    {
      *slash = '\0';
      dir = copy;
    }
  return ward_ns_mkdir_in_root (rootfs_fd, dir, 0755, false, err);
}

/* Makes dir/name an empty regular file for a bind mount to land on.  An
 * existing device node or symlink there is replaced: opening it for
 * writing would open the device, or follow the link. */
static int make_bind_target (int pfd, const char *name, const char *path, ward_error_t **err)
{
  struct stat st;
  int fd;

  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISREG (st.st_mode))
        return 0;
      if (unlinkat (pfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        return ward_error_set (err, errno, "remove '%s'", path);
    }
  fd = openat (pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return ward_error_set (err, errno, "create '%s'", path);
  close (fd);
  return 0;
}

static int create_node (int rootfs_fd, const struct devnode *d, bool bind, ward_error_t **err)
{
  _cleanup_free_ char *name = NULL;
  _cleanup_close_ int pfd = open_parent (rootfs_fd, d->path, &name, err);
  int ret;

  if (pfd < 0)
    return pfd;
  if (bind)
    {
      _cleanup_close_ int fd = -1;
      char p[WARD_FD_PATH_MAX];
      ret = make_bind_target (pfd, name, d->path, err);
      if (ret < 0)
        return ret;
      fd = openat (pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return ward_error_set (err, errno, "open '%s'", d->path);
      /* Inside a user namespace mknod is refused: show the host's node. */
      if (mount (d->path, ward_ns_fd_path (fd, p), NULL, MS_BIND, NULL) < 0)
        return ward_error_set (err, errno, "bind device '%s'", d->path);
      return 0;
    }
  if (mknodat (pfd, name, d->type | (d->mode & 07777), makedev (d->major, d->minor)) < 0)
    {
      if (errno == EEXIST)
        return 0;
      return ward_error_set (err, errno, "mknod '%s'", d->path);
    }
  /* mknod honours the umask: set the exact mode afterwards. */
  if (fchmodat (pfd, name, d->mode & 07777, 0) < 0)
    return ward_error_set (err, errno, "chmod '%s'", d->path);
  if (fchownat (pfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return ward_error_set (err, errno, "chown '%s'", d->path);
  return 0;
}

static int device_from_config (const ward_device_t *cd, struct devnode *d, ward_error_t **err)
{
  memset (d, 0, sizeof *d);
  d->path = cd->path;
  if (cd->path == NULL || cd->path[0] != '/')
    return ward_error_set (err, EINVAL, "device path '%s' is not absolute",
                           cd->path ? cd->path : "");
  if (cd->type == NULL)
    return ward_error_set (err, EINVAL, "device '%s': missing type", cd->path);
  if (strcmp (cd->type, "c") == 0 || strcmp (cd->type, "u") == 0)
    d->type = S_IFCHR;
  else if (strcmp (cd->type, "b") == 0)
    d->type = S_IFBLK;
  else if (strcmp (cd->type, "p") == 0)
    d->type = S_IFIFO;
  else
    return ward_error_set (err, EINVAL, "device '%s': unknown type '%s'", cd->path, cd->type);
  d->major = (unsigned) cd->major;
  d->minor = (unsigned) cd->minor;
  d->mode = cd->has_file_mode ? cd->file_mode : 0666;
  d->uid = cd->has_uid ? cd->uid : 0;
  d->gid = cd->has_gid ? cd->gid : 0;
  return 0;
}

static int make_symlink (int rootfs_fd, const char *target, const char *path, ward_error_t **err)
{
  _cleanup_free_ char *name = NULL;
  _cleanup_close_ int pfd = open_parent (rootfs_fd, path, &name, err);
  if (pfd < 0)
    return pfd;
  if (symlinkat (target, pfd, name) < 0 && errno != EEXIST)
    return ward_error_set (err, errno, "symlink '%s' -> '%s'", path, target);
  return 0;
}

int ward_ns_setup_dev (int rootfs_fd, const ward_rootfs_opts_t *opts, ward_error_t **err)
{
  const ward_linux_t *l = opts->config->linux_;
  static const char *const links[][2] = {
    { "/proc/self/fd", "/dev/fd" },
    { "/proc/self/fd/0", "/dev/stdin" },
    { "/proc/self/fd/1", "/dev/stdout" },
    { "/proc/self/fd/2", "/dev/stderr" },
  };
  int ret;

  for (size_t i = 0; i < ARRAY_SIZE (default_devices); i++)
    {
      bool overridden = false;
      for (size_t j = 0; l && j < l->devices_len; j++)
        overridden |= l->devices[j].path && strcmp (l->devices[j].path, default_devices[i].path) == 0;
      if (overridden)
        continue;
      ret = create_node (rootfs_fd, &default_devices[i], opts->in_user_ns, err);
      if (ret < 0)
        return ret;
    }
  for (size_t j = 0; l && j < l->devices_len; j++)
    {
      struct devnode d;
      ret = device_from_config (&l->devices[j], &d, err);
      if (ret == 0)
        ret = create_node (rootfs_fd, &d, opts->in_user_ns, err);
      if (ret < 0)
        return ret;
    }
  for (size_t i = 0; i < ARRAY_SIZE (links); i++)
    {
      ret = make_symlink (rootfs_fd, links[i][0], links[i][1], err);
      if (ret < 0)
        return ret;
    }
  if (access ("/proc/kcore", F_OK) == 0)
    {
      ret = make_symlink (rootfs_fd, "/proc/kcore", "/dev/core", err);
      if (ret < 0)
        return ret;
    }
  /* /dev/ptmx must be the devpts instance of this container, not a node
   * for the host's (runc and crun both use this symlink). */
  {
    _cleanup_close_ int dev = ward_ns_mkdir_in_root (rootfs_fd, "/dev", 0755, false, err);
    if (dev < 0)
      return dev;
    if (unlinkat (dev, "ptmx", 0) < 0 && errno != ENOENT)
      return ward_error_set (err, errno, "remove '/dev/ptmx'");
    if (symlinkat ("pts/ptmx", dev, "ptmx") < 0)
      return ward_error_set (err, errno, "symlink '/dev/ptmx' -> 'pts/ptmx'");
    if (opts->create_console)
      {
        ret = make_bind_target (dev, "console", "/dev/console", err);
        if (ret < 0)
          return ret;
        if (fchmodat (dev, "console", 0666, 0) < 0)
          return ward_error_set (err, errno, "chmod '/dev/console'");
      }
  }
  return 0;
}
