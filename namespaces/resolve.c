/* Path resolution inside the container rootfs: every path from a bundle is
 * hostile, so symlinks and ".." are resolved with the rootfs as "/"
 * (openat2 RESOLVE_IN_ROOT) and missing components are created on fds of
 * directories already resolved inside it (CVE-2019-16884, CVE-2021-30465,
 * CVE-2023-27561 class). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

const char *ward_ns_fd_path (int fd, char buf[WARD_FD_PATH_MAX])
{
  snprintf (buf, WARD_FD_PATH_MAX, "/proc/self/fd/%d", fd);
  return buf;
}

static int openat2_in_root (int rootfs_fd, const char *path, int flags)
{
  struct open_how how = { .flags = (unsigned) flags | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  const char *p = path;
  int fd;

  while (*p == '/')
    p++;
  if (*p == '\0')
    p = ".";
  /* EAGAIN: a concurrent rename made the kernel give up the lookup. */
  for (int tries = 0; tries < 16; tries++)
    {
      fd = (int) syscall (SYS_openat2, rootfs_fd, p, &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN)
        break;
    }
  if (fd < 0 && errno == ENOSYS)
    fd = ward_ns_open_in_root_walk (rootfs_fd, p, flags);
  return fd;
}

/* Symlinks followed while resolving or creating a path, as the kernel's
 * MAXSYMLINKS. */
#define MAX_SYMLINKS 40
#define MAX_WALK_DEPTH 256

static void close_stack (int *stack, size_t n)
{
  for (size_t i = 0; i < n; i++)
    close (stack[i]);
}

/* The fallback for kernels without openat2 (before 5.6): one component at a
 * time with O_NOFOLLOW, symlinks read and re-walked with the rootfs as "/",
 * ".." never above the rootfs. */
int ward_ns_open_in_root_walk (int rootfs_fd, const char *path, int flags)
{
  int stack[MAX_WALK_DEPTH];
  size_t depth = 0;
  _cleanup_free_ char *todo = xstrdup (path);
  int links = 0, saved;

  stack[depth] = fcntl (rootfs_fd, F_DUPFD_CLOEXEC, 3);
  if (stack[depth] < 0)
    return -1;
  depth++;
  for (;;)
    {
      char name[NAME_MAX + 1];
      const char *p = todo, *rest;
      size_t len;
      struct stat st;
      int fd;

      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      len = strcspn (p, "/");
      rest = p + len;
      if (len > NAME_MAX)
        {
          close_stack (stack, depth);
          errno = ENAMETOOLONG;
          return -1;
        }
      memcpy (name, p, len);
      name[len] = '\0';
      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        {
          if (name[1] == '.' && depth > 1)
            close (stack[--depth]);
          memmove (todo, rest, strlen (rest) + 1);
          continue;
        }
      fd = openat (stack[depth - 1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &st) < 0)
        {
          saved = errno;
          if (fd >= 0)
            close (fd);
          close_stack (stack, depth);
          errno = saved;
          return -1;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n = readlinkat (fd, "", target, sizeof target - 1);
          close (fd);
          if (n < 0 || ++links > MAX_SYMLINKS)
            {
              saved = n < 0 ? errno : ELOOP;
              close_stack (stack, depth);
              errno = saved;
              return -1;
            }
          target[n] = '\0';
          /* An absolute target restarts at the rootfs, never at the host's "/". */
          if (target[0] == '/')
            while (depth > 1)
              close (stack[--depth]);
          {
            char *next = xasprintf ("%s/%s", target, rest);
            free (todo);
            todo = next;
          }
          continue;
        }
      if (depth == MAX_WALK_DEPTH)
        {
          close (fd);
          close_stack (stack, depth);
          errno = ENAMETOOLONG;
          return -1;
        }
      stack[depth++] = fd;
      memmove (todo, rest, strlen (rest) + 1);
    }
  close_stack (stack, depth - 1);
  if ((flags & O_PATH) == 0)
    {
      char fp[WARD_FD_PATH_MAX];
      int fd = open (ward_ns_fd_path (stack[depth - 1], fp), flags | O_CLOEXEC);
      saved = errno;
      close (stack[depth - 1]);
      errno = saved;
      return fd;
    }
  return stack[depth - 1];
}

int ward_open_in_root (int rootfs_fd, const char *path, int flags, ward_error_t **err)
{
  int fd;
  if (flags == 0)
    flags = O_PATH;
  fd = openat2_in_root (rootfs_fd, path, flags);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s' inside the rootfs", path);
  return fd;
}

static int mkdir_in_root (int rootfs_fd, const char *path, mode_t mode, bool as_file, int depth,
                          ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (path);
  _cleanup_free_ char *prefix = xzalloc (strlen (path) + 2);
  _cleanup_close_ int cur = fcntl (rootfs_fd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL;
  size_t plen = 0;

  if (cur < 0)
    return ward_error_set (err, errno, "dup rootfs fd");
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      const char *rest = save ? save : "";
      size_t parent_len = plen;
      bool last;
      int fd;

      while (*rest == '/')
        rest++;
      last = *rest == '\0';
      if (strcmp (c, ".") == 0)
        continue;
      plen += (size_t) sprintf (prefix + plen, "/%s", c);
      fd = openat2_in_root (rootfs_fd, prefix, O_PATH);
      if (fd < 0 && errno != ENOENT)
        return ward_error_set (err, errno, "open '%s' inside the rootfs", prefix);
      if (fd < 0)
        {
          if (last && as_file)
            {
              int nfd = openat (cur, c, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                                0644);
              if (nfd >= 0)
                close (nfd);
              else if (errno != EEXIST)
                return ward_error_set (err, errno, "create '%s' inside the rootfs", prefix);
            }
          else if (mkdirat (cur, c, mode) < 0 && errno != EEXIST)
            return ward_error_set (err, errno, "mkdir '%s' inside the rootfs", prefix);
          fd = openat2_in_root (rootfs_fd, prefix, O_PATH);
        }
      if (fd < 0)
        {
          char target[PATH_MAX];
          ssize_t n;

          /* Still missing: the entry is a dangling symlink.  Its target is
           * created inside the rootfs, never on the host (a symlink to
           * "/etc" means the rootfs's /etc). */
          n = readlinkat (cur, c, target, sizeof target - 1);
          if (n < 0)
            return ward_error_set (err, errno, "open '%s' inside the rootfs", prefix);
          if (depth >= MAX_SYMLINKS)
            return ward_error_set (err, ELOOP, "resolve '%s' inside the rootfs", path);
          target[n] = '\0';
          prefix[parent_len] = '\0';
          {
            _cleanup_free_ char *next = target[0] == '/'
                                            ? xasprintf ("%s/%s", target, rest)
                                            : xasprintf ("%s/%s/%s", prefix, target, rest);
            return mkdir_in_root (rootfs_fd, next, mode, as_file, depth + 1, err);
          }
        }
      close (cur);
      cur = fd;
    }
  return TAKE_FD (cur);
}

int ward_ns_mkdir_in_root (int rootfs_fd, const char *path, mode_t mode, bool as_file,
                           ward_error_t **err)
{
  return mkdir_in_root (rootfs_fd, path, mode, as_file, 0, err);
}
