/* `ward cp`: copies between the host and a container's snapshot.  Every
 * path on the container side is resolved inside the rootfs (openat2
 * RESOLVE_IN_ROOT): a symlink in the image must not turn a copy into a
 * write on the host (the CVE-2018-15664 class of `docker cp` bugs).  The
 * copy itself is cp(1) -a on the resolved /proc/self/fd paths. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "namespaces/namespaces.h"
#include "runtime/manager/manager.h"

static int run_cp (int keep_fd, const char *src, const char *dst, bool replace, ward_error_t **err)
{
  pid_t pid = fork ();
  int st;
  if (pid < 0)
    return ward_error_set (err, errno, "fork");
  if (pid == 0)
    {
      /* the resolved fd must survive exec: it is the path cp works on */
      fcntl (keep_fd, F_SETFD, 0);
      /* -H: the /proc/self/fd link on the command line is followed, no
       * symlink inside the copied tree is */
      if (replace)
        execl ("/bin/cp", "cp", "-a", "-H", "--remove-destination", "--", src, dst, (char *) NULL);
      else
        execl ("/bin/cp", "cp", "-a", "-H", "--", src, dst, (char *) NULL);
      _exit (127);
    }
  if (waitpid (pid, &st, 0) < 0)
    return ward_error_set (err, errno, "wait for cp");
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    return ward_error_set_ret (err, -EIO, 0, "copying '%s' to '%s' failed", src, dst);
  return 0;
}

int ward_mgr_copy (ward_mgr_t *m, const char *id, bool to_container, const char *ctr_path,
                   const char *host_path, ward_error_t **err)
{
  _cleanup_free_ char *rootfs = xasprintf ("%s/%s/rootfs", m->cdir, id);
  _cleanup_close_ int rfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int fd = -1;
  char proc[64];

  if (rfd < 0)
    return ward_error_set (err, errno, "open '%s'", rootfs);
  if (!to_container)
    {
      fd = ward_open_in_root (rfd, ctr_path, 0, err);
      if (fd < 0)
        {
          ward_error_free (err);
          return ward_error_set_ret (err, -ENOENT, 0, "Could not find the file %s in container %s",
                                     ctr_path, id);
        }
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      return run_cp (fd, proc, host_path, false, err);
    }
  {
    struct stat st;
    _cleanup_free_ char *dcopy = xstrdup (ctr_path);
    _cleanup_free_ char *bcopy = xstrdup (ctr_path);
    const char *base = basename (bcopy);
    _cleanup_error_ ward_error_t *e = NULL;

    fd = ward_open_in_root (rfd, ctr_path, 0, &e);
    if (fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode))
      {
        /* into an existing directory */
        snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
        return run_cp (fd, host_path, proc, false, err);
      }
    if (fd >= 0)
      close (fd);
    /* a new name (or a file replaced) in a parent resolved in the root */
    fd = ward_open_in_root (rfd, dirname (dcopy), 0, err);
    if (fd < 0)
      return ward_error_wrap (err, "destination directory of '%s'", ctr_path);
    if (strcmp (base, "/") == 0 || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
      return ward_error_set_ret (err, -EINVAL, 0, "invalid destination path '%s'", ctr_path);
    {
      _cleanup_free_ char *dst = xasprintf ("/proc/self/fd/%d/%s", fd, base);
      return run_cp (fd, host_path, dst, true, err);
    }
  }
}
