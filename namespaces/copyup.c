/* "tmpcopyup": a tmpfs mounted over an image directory starts with a copy
 * of what the directory held (podman asks for it on /run, /tmp, /dev...). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/internal.h"

#define COPYUP_MAX_DEPTH 64

static int copy_regular (int src_dir, int dst_dir, const char *name, const struct stat *st,
                         ward_error_t **err)
{
  _cleanup_close_ int in = openat (src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int out = -1;
  char buf[65536];
  ssize_t r;

  if (in < 0)
    return ward_error_set (err, errno, "open '%s' for copy-up", name);
  out = openat (dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                st->st_mode & 07777);
  if (out < 0)
    return ward_error_set (err, errno, "create '%s' in the tmpfs", name);
  while ((r = read (in, buf, sizeof buf)) > 0)
    if (ward_write_all (out, buf, (size_t) r) < 0)
      return ward_error_set (err, errno, "write '%s' in the tmpfs", name);
  if (r < 0)
    return ward_error_set (err, errno, "read '%s'", name);
  return 0;
}

static int copy_tree (int src_dir, int dst_dir, int depth, ward_error_t **err)
{
  int dfd = fcntl (src_dir, F_DUPFD_CLOEXEC, 3);
  _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  struct dirent *de;

  if (d == NULL)
    {
      int ret = ward_error_set (err, errno, "read directory for copy-up");
      if (dfd >= 0)
        close (dfd);
      return ret;
    }
  if (depth > COPYUP_MAX_DEPTH)
    return ward_error_set (err, ELOOP, "copy-up: directory tree too deep");
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      const char *name = de->d_name;
      struct stat st;
      int ret = 0;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        continue;
      if (fstatat (src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ward_error_set (err, errno, "stat '%s' for copy-up", name);
      if (S_ISDIR (st.st_mode))
        {
          _cleanup_close_ int s = -1, t = -1;
          if (mkdirat (dst_dir, name, st.st_mode & 07777) < 0)
            return ward_error_set (err, errno, "mkdir '%s' in the tmpfs", name);
          s = openat (src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          t = openat (dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (s < 0 || t < 0)
            return ward_error_set (err, errno, "open directory '%s' for copy-up", name);
          ret = copy_tree (s, t, depth + 1, err);
        }
      else if (S_ISREG (st.st_mode))
        ret = copy_regular (src_dir, dst_dir, name, &st, err);
      else if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n = readlinkat (src_dir, name, target, sizeof target - 1);
          if (n < 0)
            return ward_error_set (err, errno, "readlink '%s'", name);
          target[n] = '\0';
          if (symlinkat (target, dst_dir, name) < 0)
            return ward_error_set (err, errno, "symlink '%s' in the tmpfs", name);
        }
      else if (mknodat (dst_dir, name, st.st_mode, st.st_rdev) < 0)
        {
          /* Device nodes cannot be made in a user namespace: skip them. */
          ward_warn ("copy-up: cannot create '%s': %s", name, strerror (errno));
          continue;
        }
      if (ret < 0)
        return ret;
      if (fchownat (dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0
          && errno != EPERM && errno != EINVAL)
        return ward_error_set (err, errno, "chown '%s' in the tmpfs", name);
    }
  if (errno != 0)
    return ward_error_set (err, errno, "read directory for copy-up");
  return 0;
}

int ward_ns_copy_up (int src_dir, int dst_dir, ward_error_t **err)
{
  struct stat st;
  if (fstat (src_dir, &st) == 0)
    {
      /* The tmpfs root takes the mode and owner of the directory it hides. */
      if (fchmod (dst_dir, st.st_mode & 07777) < 0)
        return ward_error_set (err, errno, "chmod the tmpfs root");
      if (fchown (dst_dir, st.st_uid, st.st_gid) < 0 && errno != EPERM && errno != EINVAL)
        return ward_error_set (err, errno, "chown the tmpfs root");
    }
  return copy_tree (src_dir, dst_dir, 0, err);
}
