/* CVE-2019-5736: a container process that can reach /proc/<init>/exe could
 * open the runtime binary for writing and replace it on the host.  The init
 * is a clone of this process, so before cloning it we make sure our own
 * image is either unwritable (read-only mount) or a sealed memfd copy. */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
    return ward_error_set_ret (err, -EPERM, 0, "re-executed from a memfd but /proc/self/exe is still not sealed");
  memfd = sealed_copy (exefd, err);
  if (memfd < 0)
    return memfd;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ward_debug ("CVE-2019-5736: sealed copy of the binary made in %ld us, re-executing",
              (long) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
  if (setenv (REEXEC_MARKER, "1", 1) < 0)
    return ward_error_set (err, errno, "setenv");
  fexecve (memfd, argv, environ);
  return ward_error_set (err, errno, "fexecve sealed copy of the runtime");
}
