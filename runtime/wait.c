/* Foreground waiting shared by `run` and `exec`: forward signals to the
 * container process, relay its terminal, collect its exit status. */
#include "runtime/internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/process.h"

int ward_runtime_status_to_exit (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

static void *relay_thread (void *arg)
{
  int fd = *(int *) arg;
  ward_error_t *err = NULL;
  if (ward_terminal_relay (fd, &err) < 0)
    ward_debug ("terminal relay: %s", err->msg);
  ward_error_free (&err);
  return NULL;
}

int ward_runtime_wait_forward (pid_t pid, int pidfd, int master_fd, int *exit_status,
                               ward_error_t **err)
{
  sigset_t set;
  _cleanup_close_ int sfd = -1;
  pthread_t relay;
  bool relaying = false;
  int relay_fd = master_fd;

  sigfillset (&set);
  sigprocmask (SIG_BLOCK, &set, NULL);
  /* SIGWINCH stays blocked but pending for the relay's own signalfd. */
  if (master_fd >= 0)
    sigdelset (&set, SIGWINCH);
  sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    return ward_error_set (err, errno, "signalfd");
  if (master_fd >= 0)
    {
      if (pthread_create (&relay, NULL, relay_thread, &relay_fd) != 0)
        return ward_error_set (err, EAGAIN, "start terminal relay");
      relaying = true;
    }
  for (;;)
    {
      struct signalfd_siginfo si;
      int status;
      pid_t p;

      /* Children may have exited before the signalfd existed. */
      while ((p = waitpid (-1, &status, WNOHANG)) > 0)
        if (p == pid)
          {
            *exit_status = ward_runtime_status_to_exit (status);
            ward_debug ("process %d exited, status %d", (int) p, *exit_status);
            if (relaying)
              pthread_join (relay, NULL);
            return 0;
          }
      ssize_t n = read (sfd, &si, sizeof si);
      if (n < 0 && errno == EINTR)
        continue;
      if (n != sizeof si)
        return ward_error_set (err, errno, "read signalfd");
      if (si.ssi_signo == SIGCHLD)
        continue;
      ward_debug ("forwarding signal %u to %d", si.ssi_signo, (int) pid);
      if (syscall (SYS_pidfd_send_signal, pidfd, (int) si.ssi_signo, NULL, 0) < 0
          && errno != ESRCH)
        ward_warn ("forward signal %u: %s", si.ssi_signo, strerror (errno));
    }
}
