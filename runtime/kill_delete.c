/* kill and delete, and the teardown shared with a failed run. */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/log.h"

int ward_runtime_pidfd (const ward_runtime_state_t *st, ward_error_t **err)
{
  _cleanup_close_ int fd = -1;

  if (st->pid <= 0)
    return ward_error_set_ret (err, -ESRCH, 0, "container not running");
  fd = (int) syscall (SYS_pidfd_open, st->pid, 0);
  if (fd < 0)
    {
      if (errno == ESRCH)
        return ward_error_set_ret (err, -ESRCH, 0, "container not running");
      return ward_error_set (err, errno, "pidfd_open %d", (int) st->pid);
    }
  /* Checked after pidfd_open: if the start time still matches now, the fd
   * refers to our init and not to a process that recycled its pid. */
  if (!ward_runtime_state_alive (st))
    return ward_error_set_ret (err, -ESRCH, 0, "container not running");
  return TAKE_FD (fd);
}

static int kill_cgroup (const ward_runtime_state_t *st, int signo, ward_error_t **err)
{
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  int ret;
  if (!st->cgroup)
    return 0;
  ret = ward_cgroup_restore (st->cgroup, &cg, err);
  if (ret < 0)
    return ret;
  return ward_cgroup_kill (cg, signo, err);
}

int ward_container_kill (const char *root, const char *id, int signo, bool all,
                         ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int lockfd = -1;
  _cleanup_close_ int pidfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  int ret;

  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, &lockfd, &st, err);
  if (ret < 0)
    return ret;
  if (all)
    return kill_cgroup (st, signo, err);
  pidfd = ward_runtime_pidfd (st, err);
  if (pidfd < 0)
    return pidfd;
  if (syscall (SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
    {
      if (errno == ESRCH)
        return ward_error_set_ret (err, -ESRCH, 0, "container not running");
      return ward_error_set (err, errno, "send signal %d to %d", signo, (int) st->pid);
    }
  return 0;
}

static int set_frozen (const char *root, const char *id, bool frozen, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int lockfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  const char *status;
  int ret;

  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, &lockfd, &st, err);
  if (ret < 0)
    return ret;
  status = ward_runtime_state_status (dirfd, st, true);
  /* runc pauses a created container too. */
  if (frozen && strcmp (status, "running") != 0 && strcmp (status, "created") != 0)
    return ward_error_set_ret (err, -EINVAL, 0, "container not running");
  if (!frozen && strcmp (status, "paused") != 0)
    return ward_error_set_ret (err, -EINVAL, 0, "container not paused");
  if (!st->cgroup)
    return ward_error_set_ret (err, -ENOENT, 0, "container %s has no cgroup", id);
  ret = ward_cgroup_restore (st->cgroup, &cg, err);
  if (ret < 0)
    return ret;
  return ward_cgroup_freeze (cg, frozen, err);
}

int ward_container_pause (const char *root, const char *id, ward_error_t **err)
{
  return set_frozen (root, id, true, err);
}

int ward_container_resume (const char *root, const char *id, ward_error_t **err)
{
  return set_frozen (root, id, false, err);
}

/* Waits (no polling) for the process behind pidfd to exit. */
static int wait_exit (int pidfd, int timeout_ms)
{
  struct pollfd p = { pidfd, POLLIN, 0 };
  int r;
  do
    r = poll (&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r > 0 ? 0 : -ETIMEDOUT;
}

int ward_runtime_destroy (int rootfd, int dirfd, const ward_runtime_state_t *st,
                          const ward_config_t *config, ward_error_t **err)
{
  _cleanup_config_ ward_config_t *own = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  int ret;

  if (st->cgroup)
    {
      ret = ward_cgroup_restore (st->cgroup, &cg, err);
      if (ret < 0)
        return ret;
      /* Without a pid namespace the init's children outlive it. */
      _cleanup_error_ ward_error_t *kerr = NULL;
      if (ward_cgroup_kill (cg, SIGKILL, &kerr) < 0)
        ward_debug ("kill leftover processes: %s", kerr->msg);
      ret = ward_cgroup_destroy (cg, err);
      if (ret < 0)
        return ret;
    }
  if (!config && st->config_copy)
    {
      _cleanup_error_ ward_error_t *cerr = NULL;
      char path[64];
      snprintf (path, sizeof path, "/proc/self/fd/%d/config.json", dirfd);
      if (ward_config_load_file (path, &own, &cerr) < 0)
        ward_warn ("poststop hooks: %s", cerr->msg);
      config = own;
    }
  if (config && config->hooks && config->hooks->poststop_len)
    {
      _cleanup_free_ char *state = ward_runtime_spec_state (st, "stopped");
      _cleanup_error_ ward_error_t *herr = NULL;
      /* runtime-spec: poststop failures are logged, deletion goes on. */
      if (ward_runtime_hooks_run ("poststop", config->hooks->poststop, config->hooks->poststop_len,
                                  state, &herr) < 0)
        ward_warn ("%s", herr->msg);
    }
  return ward_runtime_state_remove (rootfd, st->id, err);
}

int ward_container_delete (const char *root, const char *id, bool force, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int lockfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  const char *status;
  int ret;

  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, &lockfd, &st, err);
  if (ret == -ENOENT && force)
    {
      ward_error_free (err);
      /* A create that died before writing state.json leaves a bare dir. */
      if (rootfd >= 0 && dirfd >= 0)
        return ward_runtime_state_remove (rootfd, id, err);
      return 0;
    }
  if (ret < 0)
    return ret;
  status = ward_runtime_state_status (dirfd, st, true);
  /* runc deletes a created container without --force (it never ran). */
  if (strcmp (status, "stopped") != 0)
    {
      _cleanup_close_ int pidfd = -1;
      if (!force && strcmp (status, "created") != 0)
        return ward_error_set_ret (err, -EBUSY, 0,
                                   "cannot delete container %s that is not stopped: %s", id,
                                   status);
      pidfd = ward_runtime_pidfd (st, NULL);
      if (pidfd >= 0)
        {
          /* A paused container has to thaw to die on v1. */
          if (strcmp (status, "paused") == 0)
            {
              _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
              _cleanup_error_ ward_error_t *ferr = NULL;
              if (ward_cgroup_restore (st->cgroup, &cg, &ferr) == 0)
                ward_cgroup_freeze (cg, false, &ferr);
            }
          syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
          if (wait_exit (pidfd, 10000) < 0)
            return ward_error_set_ret (err, -ETIMEDOUT, 0, "container init %d still alive after SIGKILL",
                                       (int) st->pid);
        }
    }
  return ward_runtime_destroy (rootfd, dirfd, st, NULL, err);
}
