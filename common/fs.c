#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

ssize_t ward_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = write (fd, p + done, len - done);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      done += (size_t) r;
    }
  return (ssize_t) done;
}

ssize_t ward_read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = read (fd, p + done, len - done);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (r == 0)
        break;
      done += (size_t) r;
    }
  return (ssize_t) done;
}

int ward_write_file_at (int dirfd, const char *name, const char *data, size_t len,
                        ward_error_t **err)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", name);
  if (ward_write_all (fd, data, len) < 0)
    return ward_error_set (err, errno, "write '%s'", name);
  return 0;
}

int ward_create_file_at (int dirfd, const char *name, const char *data, size_t len,
                         mode_t mode, ward_error_t **err)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", name);
  if (ward_write_all (fd, data, len) < 0)
    return ward_error_set (err, errno, "write '%s'", name);
  return 0;
}

int ward_read_fd (int fd, char **out, size_t *len, size_t max_size, const char *what,
                  ward_error_t **err)
{
  size_t cap = 4096, used = 0;
  _cleanup_free_ char *buf = xmalloc (cap);

  if (max_size == 0)
    max_size = 64u << 20;
  for (;;)
    {
      ssize_t r;
      if (used + 1 >= cap)
        {
          if (cap > max_size)
            return ward_error_set (err, EFBIG, "read '%s'", what);
          cap *= 2;
          buf = xrealloc (buf, cap);
        }
      r = read (fd, buf + used, cap - used - 1);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return ward_error_set (err, errno, "read '%s'", what);
        }
      if (r == 0)
        break;
      used += (size_t) r;
      if (used > max_size)
        return ward_error_set (err, EFBIG, "read '%s'", what);
    }
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = TAKE_PTR (buf);
  return 0;
}

int ward_read_file_at (int dirfd, const char *name, char **out, size_t *len,
                       size_t max_size, ward_error_t **err)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", name);
  return ward_read_fd (fd, out, len, max_size, name, err);
}

int ward_mkdir_p (const char *path, mode_t mode, ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (path);
  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return ward_error_set (err, errno, "mkdir '%s'", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return ward_error_set (err, errno, "mkdir '%s'", copy);
  return 0;
}

int ward_write_file_atomic (int dirfd, const char *name, const char *data, size_t len,
                            mode_t mode, ward_error_t **err)
{
  _cleanup_free_ char *tmp = xasprintf (".%s.tmp.%d", name, (int) getpid ());
  int ret = ward_create_file_at (dirfd, tmp, data, len, mode, err);
  if (ret < 0)
    {
      unlinkat (dirfd, tmp, 0);
      return ret;
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      ret = ward_error_set (err, errno, "rename '%s' to '%s'", tmp, name);
      unlinkat (dirfd, tmp, 0);
      return ret;
    }
  return 0;
}

int ward_parse_u64 (const char *s, unsigned long long *out)
{
  char *end;
  unsigned long long v;
  if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
    return -EINVAL;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno || *end)
    return errno ? -errno : -EINVAL;
  *out = v;
  return 0;
}

int ward_parse_i64 (const char *s, long long *out)
{
  char *end;
  long long v;
  if (s == NULL || *s == '\0' || *s == ' ')
    return -EINVAL;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || *end)
    return errno ? -errno : -EINVAL;
  *out = v;
  return 0;
}
