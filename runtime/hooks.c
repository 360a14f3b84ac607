/* OCI hooks run by the runtime: the state JSON on stdin, args/env as given,
 * an optional timeout, stdout/stderr captured for the error message. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

#define HOOK_OUTPUT_MAX 4096

extern char **environ;

typedef struct
{
  char buf[HOOK_OUTPUT_MAX + 1];
  size_t len;
} capture_t;

static void capture_read (int *fd, capture_t *c)
{
  char tmp[4096];
  ssize_t n = read (*fd, tmp, sizeof tmp);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      close (*fd);
      *fd = -1;
      return;
    }
  size_t take = (size_t) n;
  if (take > HOOK_OUTPUT_MAX - c->len)
    take = HOOK_OUTPUT_MAX - c->len;
  memcpy (c->buf + c->len, tmp, take);
  c->len += take;
  c->buf[c->len] = '\0';
}

/* A hook that exits without reading stdin must not kill us with SIGPIPE:
 * block it around the write and discard the one the write raised. */
static ssize_t write_nosigpipe (int fd, const void *buf, size_t len)
{
  sigset_t pipe_set, old;
  ssize_t n;
  int saved;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old);
  n = write (fd, buf, len);
  saved = errno;
  if (n < 0 && errno == EPIPE && !sigismember (&old, SIGPIPE))
    {
      struct timespec zero = { 0, 0 };
      sigtimedwait (&pipe_set, NULL, &zero);
    }
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  errno = saved;
  return n;
}

static long long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_pair (int (*p)[2])
{
  for (int i = 0; i < 2; i++)
    if ((*p)[i] >= 0)
      close ((*p)[i]);
}
#define _cleanup_pair_ __attribute__ ((cleanup (close_pair)))

/* Spawns one hook and waits for it.  *status gets the wait status, or -1
 * on timeout. */
static int run_one (const ward_hook_t *h, const char *state, capture_t *out, capture_t *errc,
                    int *status, ward_error_t **err)
{
  _cleanup_pair_ int in[2] = { -1, -1 };
  _cleanup_pair_ int o[2] = { -1, -1 };
  _cleanup_pair_ int e[2] = { -1, -1 };
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none, all;
  pid_t pid;
  int ret;
  char *default_argv[] = { h->path, NULL };
  size_t state_len = strlen (state), written = 0;
  long long deadline = h->has_timeout ? now_ms () + (long long) h->timeout * 1000 : -1;

  if (pipe2 (in, O_CLOEXEC) < 0 || pipe2 (o, O_CLOEXEC) < 0 || pipe2 (e, O_CLOEXEC) < 0)
    return ward_error_set (err, errno, "pipe");
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, in[0], 0);
  posix_spawn_file_actions_adddup2 (&fa, o[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, e[1], 2);
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* Like Go's exec.Cmd (runc): a hook without "env" inherits ours. */
  ret = posix_spawn (&pid, h->path, &fa, &attr, h->args ? h->args : default_argv,
                     h->env ? h->env : environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (ret != 0)
    return ward_error_set (err, ret, "exec '%s'", h->path);
  close (in[0]), in[0] = -1;
  close (o[1]), o[1] = -1;
  close (e[1]), e[1] = -1;
  fcntl (in[1], F_SETFL, O_NONBLOCK);
  if (state_len == 0)
    close (in[1]), in[1] = -1;
  /* The timeout covers the hook's exit too, not only its pipes: a hook
   * that closes its stdout and goes on running must still be stopped. */
  _cleanup_close_ int pidfd = deadline >= 0 ? (int) syscall (SYS_pidfd_open, pid, 0) : -1;
  bool exited = pidfd < 0;

  while (o[0] >= 0 || e[0] >= 0 || in[1] >= 0 || !exited)
    {
      struct pollfd p[4] = { { o[0], POLLIN, 0 }, { e[0], POLLIN, 0 }, { in[1], POLLOUT, 0 },
                             { exited ? -1 : pidfd, POLLIN, 0 } };
      int timeout = -1;
      if (deadline >= 0)
        {
          long long left = deadline - now_ms ();
          if (left <= 0)
            break;
          timeout = (int) left;
        }
      int r = poll (p, 4, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      if (p[3].revents)
        exited = true;
      if (p[0].revents)
        capture_read (&o[0], out);
      if (p[1].revents)
        capture_read (&e[0], errc);
      if (p[2].revents)
        {
          ssize_t n = write_nosigpipe (in[1], state + written, state_len - written);
          if (n > 0)
            written += (size_t) n;
          /* A hook that does not read its stdin is fine. */
          if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == state_len)
            close (in[1]), in[1] = -1;
        }
    }
  if (o[0] >= 0 || e[0] >= 0 || !exited)
    {
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      *status = -1;
      return 0;
    }
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "waitpid hook '%s'", h->path);
  return 0;
}

int ward_runtime_hooks_run (const char *kind, const ward_hook_t *hooks, size_t n,
                            const char *state_json, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ capture_t *out = xzalloc (sizeof *out);
      _cleanup_free_ capture_t *errc = xzalloc (sizeof *errc);
      int status = 0, ret;

      ward_debug ("running %s hook #%zu: %s", kind, i, hooks[i].path);
      ret = run_one (&hooks[i], state_json ? state_json : "", out, errc, &status, err);
      /* runc's words ("error running hook #N: ...", Go's lower-case signal
       * names), with the hook's kind and path added. */
      if (ret < 0)
        return ward_error_wrap (err, "error running hook #%zu (%s, %s)", i, kind, hooks[i].path);
      if (status == -1)
        return ward_error_set_ret (err, -ETIMEDOUT, 0,
                                   "error running hook #%zu (%s, %s): hook ran past specified timeout of %d.0s",
                                   i, kind, hooks[i].path, hooks[i].timeout);
      if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        continue;
      if (WIFSIGNALED (status))
        {
          char sig[64];
          snprintf (sig, sizeof sig, "%s", strsignal (WTERMSIG (status)));
          sig[0] = (char) tolower ((unsigned char) sig[0]);
          return ward_error_set_ret (err, -EIO, 0,
                                     "error running hook #%zu (%s, %s): signal: %s%s, stdout: %s, stderr: %s", i,
                                     kind, hooks[i].path, sig, WCOREDUMP (status) ? " (core dumped)" : "",
                                     out->buf, errc->buf);
        }
      return ward_error_set_ret (err, -EIO, 0,
                                 "error running hook #%zu (%s, %s): exit status %d, stdout: %s, stderr: %s", i,
                                 kind, hooks[i].path, WEXITSTATUS (status), out->buf, errc->buf);
    }
  return 0;
}
