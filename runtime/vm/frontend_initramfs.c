/* The guest initramfs of ward-vm: a cpio "newc" archive with the static
 * agent as /init and, without virtio-fs, the container's rootfs under
 * /rootfs.  Written at VM start into the container's state dir. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "runtime/vm/frontend.h"

struct cpio
{
  FILE *out;
  unsigned ino;
  int err;             /* first errno */
  char *what;          /* path of the first failure */
  size_t root_len;     /* strlen of the rootfs path being walked */
};

static void
pad4 (struct cpio *c, size_t n)
{
  static const char zero[4];
  if (n % 4)
    fwrite (zero, 1, 4 - n % 4, c->out);
}

static void
header (struct cpio *c, const char *name, mode_t mode, uint64_t size, dev_t rdev, time_t mtime)
{
  size_t nlen = strlen (name) + 1;
  fprintf (c->out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ++c->ino,
           (unsigned) mode, 0u, 0u, 1u, (unsigned) mtime, (unsigned) size, 0u, 0u,
           (unsigned) major (rdev), (unsigned) minor (rdev), (unsigned) nlen, 0u);
  fwrite (name, 1, nlen, c->out);
  pad4 (c, 110 + nlen);
}

static int
add_file (struct cpio *c, const char *name, const char *path, const struct stat *sb)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -errno;
  /* newc sizes are 32-bit */
  if ((uint64_t) sb->st_size > 0xffffffffULL)
    return -EFBIG;
  header (c, name, sb->st_mode, (uint64_t) sb->st_size, 0, sb->st_mtime);
  char buf[65536];
  uint64_t left = (uint64_t) sb->st_size;
  while (left > 0)
    {
      ssize_t n = read (fd, buf, left < sizeof buf ? (size_t) left : sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n < 0 ? -errno : -EIO; /* the file shrank under us */
      fwrite (buf, 1, (size_t) n, c->out);
      left -= (uint64_t) n;
    }
  pad4 (c, (size_t) sb->st_size);
  return 0;
}

static struct cpio *walk;

static int
walk_one (const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
  struct cpio *c = walk;
  _cleanup_free_ char *name = xasprintf ("rootfs%s", path + c->root_len);
  int r = 0;
  if (type == FTW_D || type == FTW_DNR)
    header (c, name, sb->st_mode, 0, 0, sb->st_mtime);
  else if (type == FTW_SL)
    {
      char target[4096];
      ssize_t n = readlink (path, target, sizeof target);
      if (n < 0)
        r = -errno;
      else
        {
          header (c, name, sb->st_mode, (uint64_t) n, 0, sb->st_mtime);
          fwrite (target, 1, (size_t) n, c->out);
          pad4 (c, (size_t) n);
        }
    }
  else if (type == FTW_F && S_ISREG (sb->st_mode))
    r = add_file (c, name, path, sb);
  else if (type == FTW_F)
    header (c, name, sb->st_mode, 0, sb->st_rdev, sb->st_mtime); /* devices, fifos, sockets */
  else
    r = -EACCES;
  if (r < 0)
    {
      c->err = -r;
      c->what = xstrdup (path);
      return 1;
    }
  return 0;
}

int
ward_vm_write_initramfs (int fd, const char *agent_path, const char *rootfs, ward_error_t **err)
{
  int dfd = dup (fd);
  if (dfd < 0)
    return ward_error_set (err, errno, "initramfs: dup");
  struct cpio c = { .out = fdopen (dfd, "w") };
  if (!c.out)
    {
      close (dfd);
      return ward_error_set (err, errno, "initramfs: fdopen");
    }
  struct stat sb;
  int r = stat (agent_path, &sb);
  if (r == 0)
    {
      sb.st_mode = S_IFREG | 0755;
      r = add_file (&c, "init", agent_path, &sb);
    }
  else
    r = -errno;
  if (r < 0)
    {
      fclose (c.out);
      return ward_error_set (err, -r, "initramfs: add agent '%s'", agent_path);
    }
  if (rootfs)
    {
      c.root_len = strlen (rootfs);
      /* nftw has no context argument; initramfs writing is not concurrent */
      walk = &c;
      if (nftw (rootfs, walk_one, 64, FTW_PHYS) < 0 && c.err == 0)
        c.err = errno, c.what = xstrdup (rootfs);
      walk = NULL;
      if (c.err)
        {
          _cleanup_free_ char *what = c.what;
          fclose (c.out);
          return ward_error_set (err, c.err, "initramfs: pack rootfs '%s'", what);
        }
    }
  header (&c, "TRAILER!!!", 0, 0, 0, 0);
  bool bad = ferror (c.out) != 0;
  if (fclose (c.out) != 0 || bad)
    return ward_error_set (err, errno ? errno : EIO, "initramfs: write");
  return 0;
}
