/* CVE-2019-5736: a container process that can reach /proc/<init>/exe could
 * open the runtime binary for writing and replace it on the host.  The init
 * is a clone of this process, so before cloning it we make sure our own
 * image is unwritable: already on a read-only mount, else re-executed from
 * a read-only overlayfs view of it (no copy), else from a sealed memfd copy. */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

#define REEXEC_MARKER "_WARD_CLONED_BINARY"
#define WANTED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static bool already_safe (int exefd)
{
  struct statvfs vfs;
  int seals = fcntl (exefd, F_GET_SEALS);
  if (seals >= 0 && (seals & WANTED_SEALS) == WANTED_SEALS)
    return true;
  return fstatvfs (exefd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

static int sealed_copy (int exefd, ward_error_t **err)
{
  struct stat sb;
  _cleanup_close_ int memfd = memfd_create ("ward-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  off_t off = 0;

  if (memfd < 0)
    return ward_error_set (err, errno, "memfd_create");
  if (fstat (exefd, &sb) < 0)
    return ward_error_set (err, errno, "stat /proc/self/exe");
  while (off < sb.st_size)
    {
      ssize_t n = sendfile (memfd, exefd, &off, (size_t) (sb.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return ward_error_set (err, n < 0 ? errno : EIO, "copy /proc/self/exe to memfd");
    }
  if (fcntl (memfd, F_ADD_SEALS, WANTED_SEALS) < 0)
    return ward_error_set (err, errno, "seal memfd");
  return TAKE_FD (memfd);
}

/* A detached mount of a new filesystem: fsopen, options, create, fsmount. */
static int new_detached_mount (const char *fstype, int lower1, int lower2, unsigned int attrs)
{
  _cleanup_close_ int fs = (int) syscall (SYS_fsopen, fstype, FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  if (lower1 >= 0 && syscall (SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower1) < 0)
    return -1;
  if (lower2 >= 0 && syscall (SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lower2) < 0)
    return -1;
  if (syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  return (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
}

/* The binary seen through an overlayfs whose only layers are its own
 * directory and an empty tmpfs (overlayfs wants two layers when it has no
 * upper one).  Without an upper layer nothing in it can be opened for
 * writing, not even after a remount, and it is never attached to any mount
 * table.  Costs ~0.1 ms where copying 1.3 MB into a memfd costs ~1 ms, and
 * the image stays shared with the page cache.  -1 when the kernel or our
 * privileges do not allow it (rootless, no overlayfs, kernel < 6.8). */
static int overlay_view (int exefd)
{
  char path[4096];
  struct stat want, got;
  ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);
  _cleanup_close_ int dir = -1, empty = -1, ovl = -1, fd = -1;

  if (n <= 0 || (size_t) n >= sizeof path - 1 || fstat (exefd, &want) < 0)
    return -1;
  path[n] = '\0';
  {
    _cleanup_free_ char *d = xstrdup (path);
    dir = open (dirname (d), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (dir < 0)
    return -1;
  empty = new_detached_mount ("tmpfs", -1, -1, MOUNT_ATTR_RDONLY);
  if (empty < 0)
    return -1;
  ovl = new_detached_mount ("overlay", dir, empty,
                            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (ovl < 0)
    return -1;
  fd = openat (ovl, basename (path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  /* The name may have been replaced since we were executed: it must still
   * be the very file we run from. */
  if (fd < 0 || fstat (fd, &got) < 0 || got.st_ino != want.st_ino || got.st_size != want.st_size
      || got.st_mtim.tv_sec != want.st_mtim.tv_sec || got.st_mtim.tv_nsec != want.st_mtim.tv_nsec)
    return -1;
  return TAKE_FD (fd);
}

int ward_runtime_protect_binary (char **argv, ward_error_t **err)
{
  _cleanup_close_ int exefd = -1;
  _cleanup_close_ int memfd = -1;
  struct timespec t0, t1;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  exefd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exefd < 0)
    return ward_error_set (err, errno, "open /proc/self/exe");
  bool reexecuted = getenv (REEXEC_MARKER) != NULL;
  /* Hooks and the container must not inherit the marker. */
  if (reexecuted)
    unsetenv (REEXEC_MARKER);
  if (already_safe (exefd))
    return 0;
  /* The marker stops a loop if the kernel ever refuses the seals we ask. */
  if (reexecuted)
    return ward_error_set_ret (err, -EPERM, 0,
                               "re-executed from a read-only image but /proc/self/exe is still writable");
  memfd = overlay_view (exefd);
  if (memfd < 0)
    memfd = sealed_copy (exefd, err);
  if (memfd < 0)
    return memfd;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ward_debug ("CVE-2019-5736: read-only image of the binary (%s) made in %ld us, re-executing",
              fcntl (memfd, F_GET_SEALS) >= 0 ? "sealed memfd copy" : "overlayfs view",
              (long) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
  if (setenv (REEXEC_MARKER, "1", 1) < 0)
    return ward_error_set (err, errno, "setenv");
  fexecve (memfd, argv, environ);
  return ward_error_set (err, errno, "fexecve read-only image of the runtime");
}
