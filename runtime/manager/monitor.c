/* The per-container monitor (conmon's job, without a daemon): it creates
 * and starts the container through the OCI runtime, owns its stdio, writes
 * the json-file log, waits for the exit as the child subreaper, records
 * the exit code and OOM kill, and applies --rm and --restart.  Also the
 * verbs that talk to a running container: stop, kill, rm, wait. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image.h"
#include "runtime/manager/manager.h"
#include "runtime/process.h"
#include "runtime/runtime.h"

static void sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static char *now_str (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return ward_mgr_time_format (&ts);
}

static json_object *state_of (json_object *rec)
{
  json_object *s = NULL;
  if (!json_object_object_get_ex (rec, "State", &s))
    {
      s = json_object_new_object ();
      json_object_object_add (rec, "State", s);
    }
  return s;
}

static void set_status (json_object *rec, const char *status)
{
  json_object *s = state_of (rec);
  json_object_object_add (s, "Status", json_object_new_string (status));
  json_object_object_add (s, "Running", json_object_new_boolean (strcmp (status, "running") == 0));
  json_object_object_add (s, "Restarting", json_object_new_boolean (strcmp (status, "restarting") == 0));
  json_object_object_add (s, "Paused", json_object_new_boolean (strcmp (status, "paused") == 0));
  json_object_object_add (s, "Dead", json_object_new_boolean (strcmp (status, "dead") == 0));
}

/* ---- json-file log writer ------------------------------------------------ */

typedef struct
{
  int fd;
  char *path;
  off_t size;
  char buf[2][16384];
  size_t len[2];
} logw_t;

static void log_open (logw_t *l)
{
  struct stat st;
  l->fd = open (l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  l->size = l->fd >= 0 && fstat (l->fd, &st) == 0 ? st.st_size : 0;
}

static void log_emit (logw_t *l, int stream, const char *data, size_t len)
{
  struct timespec ts;
  _cleanup_free_ char *line = NULL;
  size_t n;
  if (l->fd < 0)
    return;
  clock_gettime (CLOCK_REALTIME, &ts);
  line = ward_mgr_log_line (stream ? "stderr" : "stdout", data, len, &ts);
  n = strlen (line);
  /* size cap with one rotation, as docker's max-size=10m max-file=2 */
  if (l->size + (off_t) n > WARD_MGR_LOG_MAX)
    {
      _cleanup_free_ char *old = xasprintf ("%s.1", l->path);
      close (l->fd);
      rename (l->path, old);
      log_open (l);
      if (l->fd < 0)
        return;
    }
  if (ward_write_all (l->fd, line, n) > 0)
    l->size += (off_t) n;
}

/* Splits what a stream gave into lines: one log entry per line, as docker. */
static void log_feed (logw_t *l, int stream, const char *data, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      l->buf[stream][l->len[stream]++] = data[i];
      if (data[i] == '\n' || l->len[stream] == sizeof l->buf[stream])
        {
          log_emit (l, stream, l->buf[stream], l->len[stream]);
          l->len[stream] = 0;
        }
    }
}

static void log_flush (logw_t *l)
{
  for (int s = 0; s < 2; s++)
    if (l->len[s])
      {
        log_emit (l, s, l->buf[s], l->len[s]);
        l->len[s] = 0;
      }
}

/* ---- console socket -------------------------------------------------------- */

static int recv_fd (int sock)
{
  char data[256];
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { data, sizeof data };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                        .msg_controllen = sizeof cbuf };
  struct cmsghdr *c;
  int fd = -1;
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) < 0)
    return -errno;
  for (c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy (&fd, CMSG_DATA (c), sizeof fd);
  return fd >= 0 ? fd : -EPROTO;
}

static int console_listen (const char *dir, const char *path, ward_error_t **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd;
  if (dfd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  /* sun_path holds 108 bytes; a deep --root does not fit, the magic link does */
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/console.sock", dfd);
  unlink (path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ward_error_set (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 1) < 0)
    {
      int e = errno;
      close (fd);
      return ward_error_set (err, e, "listen on '%s'", path);
    }
  return fd;
}

/* ---- the monitor ------------------------------------------------------------ */

static pid_t runtime_pid (const char *rt_root, const char *id)
{
  _cleanup_free_ char *json = NULL;
  _cleanup_json_ json_object *o = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  json_object *p;
  if (ward_container_state_json (rt_root, id, &json, &e) < 0)
    return -1;
  o = json_tokener_parse (json);
  if (o && json_object_object_get_ex (o, "pid", &p))
    return (pid_t) json_object_get_int (p);
  return -1;
}

/* The memory cgroup's OOM kill counter (v1 memory.oom_control, v2
 * memory.events) for cgroupsPath /ward/<id>. */
static long oom_kills (const char *id)
{
  const char *fmts[] = { "/sys/fs/cgroup/memory/ward/%s/memory.oom_control",
                         "/sys/fs/cgroup/ward/%s/memory.events" };
  for (size_t i = 0; i < ARRAY_SIZE (fmts); i++)
    {
      _cleanup_free_ char *p = xasprintf (fmts[i], id);
      _cleanup_free_ char *data = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      char *k;
      if (ward_read_file_at (AT_FDCWD, p, &data, NULL, 0, &e) < 0)
        continue;
      k = strstr (data, "oom_kill ");
      if (k)
        return strtol (k + 9, NULL, 10);
    }
  return 0;
}

typedef struct
{
  pid_t pid, monitor;
  int exit_code;
  bool oom;
  const char *error;
  bool inc_restart;
} upd_t;

static void upd_running (json_object *rec, void *data)
{
  upd_t *u = data;
  json_object *s = state_of (rec);
  _cleanup_free_ char *t = now_str ();
  set_status (rec, "running");
  json_object_object_add (s, "Pid", json_object_new_int (u->pid));
  json_object_object_add (s, "MonitorPid", json_object_new_int (u->monitor));
  json_object_object_add (s, "BootId", json_object_new_string (ward_mgr_boot_id ()));
  json_object_object_add (s, "ExitCode", json_object_new_int (0));
  json_object_object_add (s, "OOMKilled", json_object_new_boolean (0));
  json_object_object_add (s, "Error", json_object_new_string (""));
  json_object_object_add (s, "StartedAt", json_object_new_string (t));
  json_object_object_add (s, "FinishedAt", json_object_new_string ("0001-01-01T00:00:00Z"));
}

static void upd_exited (json_object *rec, void *data)
{
  upd_t *u = data;
  json_object *s = state_of (rec);
  _cleanup_free_ char *t = now_str ();
  set_status (rec, "exited");
  json_object_object_add (s, "Pid", json_object_new_int (0));
  json_object_object_add (s, "MonitorPid", json_object_new_int (0));
  json_object_object_add (s, "ExitCode", json_object_new_int (u->exit_code));
  json_object_object_add (s, "OOMKilled", json_object_new_boolean (u->oom));
  json_object_object_add (s, "FinishedAt", json_object_new_string (t));
}

static void upd_failed (json_object *rec, void *data)
{
  upd_t *u = data;
  json_object *s = state_of (rec);
  /* docker leaves a container whose process could not start "created",
   * with the exit code and the error */
  json_object_object_add (s, "Pid", json_object_new_int (0));
  json_object_object_add (s, "MonitorPid", json_object_new_int (0));
  json_object_object_add (s, "ExitCode", json_object_new_int (u->exit_code));
  json_object_object_add (s, "Error", json_object_new_string (u->error ? u->error : ""));
}

static void upd_restarting (json_object *rec, void *data)
{
  (void) data;
  set_status (rec, "restarting");
  json_object_object_add (rec, "RestartCount",
                          json_object_new_int ((int) ward_mgr_rec_int (rec, "RestartCount") + 1));
  json_object_object_add (state_of (rec), "MonitorPid", json_object_new_int (getpid ()));
}

static void status_report (int *fd, int code, const char *msg)
{
  if (*fd < 0)
    return;
  _cleanup_free_ char *s = xasprintf ("%d\n%s", code, msg ? msg : "");
  ward_write_all (*fd, s, strlen (s));
  close (*fd);
  *fd = -1;
}

typedef struct
{
  int master;
} relay_arg_t;

static void *tty_relay_thread (void *p)
{
  relay_arg_t *a = p;
  ward_error_t *e = NULL;
  if (ward_terminal_relay (a->master, &e) < 0)
    ward_debug ("terminal relay: %s", e->msg);
  ward_error_free (&e);
  return NULL;
}

static int status_to_exit (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return 255;
}

/* What one life of the container holds; released by run_ctx_clear. */
typedef struct
{
  ward_mgr_t *m;
  const char *id;
  char *bundle, *sock_path;
  bool tty, attach, stdin_open;
  int sock, master, pidfd, sfd, devnull;
  int saved[3];      /* our stdio while the container's is in place */
  int out[2], errp[2];
  logw_t *lw;
  pid_t pid;
  sigset_t old_mask;
  bool mask_set;
} run_ctx_t;

static void run_ctx_clear (run_ctx_t *c)
{
  int *fds[] = { &c->sock, &c->master, &c->pidfd, &c->sfd, &c->devnull, &c->saved[0],
                 &c->saved[1], &c->saved[2], &c->out[0], &c->out[1], &c->errp[0], &c->errp[1] };
  for (size_t i = 0; i < ARRAY_SIZE (fds); i++)
    if (*fds[i] >= 0)
      {
        close (*fds[i]);
        *fds[i] = -1;
      }
  if (c->mask_set)
    sigprocmask (SIG_SETMASK, &c->old_mask, NULL);
  if (c->lw)
    {
      if (c->lw->fd >= 0)
        close (c->lw->fd);
      free (c->lw->path);
      free (c->lw);
    }
  free (c->bundle);
  free (c->sock_path);
}

/* The container's stdio goes in place of ours while the runtime creates
 * it (the init inherits fds 0-2): pipes, or the console socket for -t. */
static int ctx_stdio_swap (run_ctx_t *c, ward_error_t **err)
{
  c->devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3; i++)
    c->saved[i] = fcntl (i, F_DUPFD_CLOEXEC, 3);
  if (c->tty)
    {
      c->sock = console_listen (c->bundle, c->sock_path, err);
      if (c->sock < 0)
        return c->sock;
    }
  else
    {
      if (pipe2 (c->out, O_CLOEXEC) < 0 || pipe2 (c->errp, O_CLOEXEC) < 0)
        return ward_error_set (err, errno, "pipe");
      dup2 (c->out[1], 1);
      dup2 (c->errp[1], 2);
      close (c->out[1]);
      close (c->errp[1]);
      c->out[1] = c->errp[1] = -1;
    }
  if (!c->stdin_open && c->devnull >= 0)
    dup2 (c->devnull, 0);
  /* the runtime's own log lines must not land in the container's stderr */
  ward_log_init (c->saved[2], false, ward_log_level ());
  return 0;
}

static void ctx_stdio_restore (run_ctx_t *c)
{
  for (int i = 0; i < 3; i++)
    if (c->saved[i] >= 0)
      dup2 (c->saved[i], i);
  ward_log_init (-1, false, ward_log_level ());
}

static int ctx_receive_tty (run_ctx_t *c, ward_error_t **err)
{
  struct pollfd p = { c->sock, POLLIN, 0 };
  int conn;
  if (poll (&p, 1, 10000) <= 0)
    return ward_error_set (err, errno ? errno : ETIMEDOUT, "receive the terminal on '%s'", c->sock_path);
  conn = accept4 (c->sock, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return ward_error_set (err, errno, "accept on '%s'", c->sock_path);
  c->master = recv_fd (conn);
  close (conn);
  unlink (c->sock_path);
  if (c->master < 0)
    return ward_error_set (err, -c->master, "receive the terminal on '%s'", c->sock_path);
  return 0;
}

/* A stream's new bytes: to the log, and to our own stdio when attached. */
static bool ctx_pump (run_ctx_t *c, int *fd, int stream, bool echo)
{
  char buf[16384];
  ssize_t r = read (*fd, buf, sizeof buf);
  if (r > 0)
    {
      log_feed (c->lw, stream, buf, (size_t) r);
      if (echo)
        ward_write_all (stream == 0 ? 1 : 2, buf, (size_t) r);
      return true;
    }
  if (r == 0 || (errno != EINTR && errno != EAGAIN))
    {
      close (*fd);
      *fd = -1;
    }
  return false;
}

/* Relays output and forwards signals until the init exits; its wait
 * status goes to *status.  Every other child is reaped on the way (we are
 * the subreaper). */
static void ctx_wait (run_ctx_t *c, bool relaying, int *status)
{
  int *outfd = c->tty ? &c->master : &c->out[0];
  for (bool exited = false; !exited;)
    {
      struct pollfd p[4];
      int n = 0, i_out = -1, i_err = -1, i_sig;
      pid_t w;
      int st;

      if (*outfd >= 0 && !relaying)
        {
          i_out = n;
          p[n++] = (struct pollfd){ *outfd, POLLIN, 0 };
        }
      if (!c->tty && c->errp[0] >= 0)
        {
          i_err = n;
          p[n++] = (struct pollfd){ c->errp[0], POLLIN, 0 };
        }
      if (c->pidfd >= 0)
        p[n++] = (struct pollfd){ c->pidfd, POLLIN, 0 };
      i_sig = n;
      p[n++] = (struct pollfd){ c->sfd, POLLIN, 0 };
      if (poll (p, (nfds_t) n, c->pidfd >= 0 ? -1 : 200) < 0 && errno != EINTR)
        break;
      if (i_out >= 0 && (p[i_out].revents & (POLLIN | POLLHUP | POLLERR)))
        ctx_pump (c, outfd, 0, c->attach);
      if (i_err >= 0 && (p[i_err].revents & (POLLIN | POLLHUP | POLLERR)))
        ctx_pump (c, &c->errp[0], 1, c->attach);
      if (p[i_sig].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (c->sfd, &si, sizeof si) == sizeof si)
            if (si.ssi_signo != SIGCHLD)
              kill (c->pid, (int) si.ssi_signo);
        }
      while ((w = waitpid (-1, &st, WNOHANG)) > 0)
        if (w == c->pid)
          {
            *status = st;
            exited = true;
          }
      if (w < 0 && errno == ECHILD)
        exited = true;
    }
  /* what the container wrote just before it exited */
  if (!relaying)
    for (int k = 0; k < 2; k++)
      {
        int *fd = k == 0 ? outfd : &c->errp[0];
        if (*fd < 0)
          continue;
        fcntl (*fd, F_SETFL, O_NONBLOCK);
        while (*fd >= 0 && ctx_pump (c, fd, k, c->attach))
          ;
      }
  log_flush (c->lw);
}

static bool is_vm (json_object *rec)
{
  const char *rt = ward_mgr_rec_str (rec, "HostConfig.Runtime");
  return rt && strcmp (rt, WARD_MGR_RUNTIME_VM) == 0;
}

/* ward-vm beside the front end's real path, else on PATH. */
static char *vm_program (void)
{
  const char *self = getenv (WARD_MGR_ENV_SELF);
  const char *slash = self ? strrchr (self, '/') : NULL;
  if (slash)
    {
      char *p = xasprintf ("%.*s/%s", (int) (slash - self), self, WARD_MGR_RUNTIME_VM);
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  return xstrdup (WARD_MGR_RUNTIME_VM);
}

/* The last error line of a runtime's json log (malloc'd, NULL if none). */
static char *log_last_error (const char *path)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  char *msg = NULL, *save = NULL;
  if (ward_read_file_at (AT_FDCWD, path, &text, NULL, 0, &e) < 0)
    return NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      _cleanup_json_ json_object *j = json_tokener_parse (line);
      json_object *lvl, *m;
      if (j && json_object_object_get_ex (j, "level", &lvl) && json_object_object_get_ex (j, "msg", &m)
          && strcmp (json_object_get_string (lvl), "error") == 0)
        {
          free (msg);
          msg = xstrdup (json_object_get_string (m));
        }
    }
  return msg;
}

/* --vm: the VMM is not linked into ward, so the container is created by
 * the ward-vm program (the same state root: start, kill and delete then
 * work on it as on any other); its error comes back through its log. */
static int vm_create (const ward_create_opts_t *co, ward_error_t **err)
{
  _cleanup_free_ char *prog = vm_program ();
  _cleanup_free_ char *logp = xasprintf ("%s/ward-vm.log", co->bundle);
  _cleanup_free_ char *msg = NULL;
  const char *argv[16];
  size_t n = 0;
  int status = 0;
  pid_t pid;

  argv[n++] = prog;
  argv[n++] = "--log";
  argv[n++] = logp;
  argv[n++] = "--log-format";
  argv[n++] = "json";
  argv[n++] = "--root";
  argv[n++] = co->root;
  argv[n++] = "create";
  argv[n++] = "--bundle";
  argv[n++] = co->bundle;
  if (co->console_socket)
    {
      argv[n++] = "--console-socket";
      argv[n++] = co->console_socket;
    }
  argv[n++] = co->id;
  argv[n] = NULL;
  unlink (logp);
  pid = fork ();
  if (pid < 0)
    return ward_error_set (err, errno, "fork for %s", prog);
  if (pid == 0)
    {
      execvp (prog, (char **) argv);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "wait for %s", prog);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return ward_error_set_ret (err, -ENOENT, 0, "cannot run %s", prog);
  msg = log_last_error (logp);
  /* its message already reads "ward-vm create failed: ..." */
  if (msg)
    return ward_error_set_ret (err, -EIO, 0, "%s", msg);
  return ward_error_set_ret (err, -EIO, 0, "%s create failed (no error logged)", WARD_MGR_RUNTIME_VM);
}

/* One life of the container: create, start, relay, wait.  *exit_code
 * gets its exit code; returns < 0 when it could not start. */
static int run_once (ward_mgr_t *m, const char *id, json_object *rec, bool attach, int *status_fd,
                     int *exit_code, ward_error_t **err)
{
  __attribute__ ((cleanup (run_ctx_clear))) run_ctx_t c = {
    .m = m, .id = id, .attach = attach, .sock = -1, .master = -1, .pidfd = -1, .sfd = -1,
    .devnull = -1, .saved = { -1, -1, -1 }, .out = { -1, -1 }, .errp = { -1, -1 },
  };
  ward_create_opts_t co = { .root = m->rt_root, .id = id };
  sigset_t sigs;
  int ret, status = 0;
  pthread_t relay;
  bool relaying = false;
  relay_arg_t ra;

  c.bundle = xasprintf ("%s/%s", m->cdir, id);
  c.sock_path = xasprintf ("%s/console.sock", c.bundle);
  c.tty = ward_mgr_rec_bool (rec, "Config.Tty");
  c.stdin_open = ward_mgr_rec_bool (rec, "Config.OpenStdin") && attach;
  c.lw = xzalloc (sizeof *c.lw);
  c.lw->path = xasprintf ("%s/%s-json.log", c.bundle, id);
  log_open (c.lw);
  co.bundle = c.bundle;
  co.console_socket = c.tty ? c.sock_path : NULL;
  *exit_code = 0;
  {
    /* a stale runtime state from a monitor that died */
    _cleanup_error_ ward_error_t *e = NULL;
    ward_container_delete (m->rt_root, id, true, &e);
  }
  /* the network exists while the container runs (docker's semantics) */
  ret = ward_mgr_net_prepare (m, id, err);
  if (ret < 0)
    return ret;
  ret = ctx_stdio_swap (&c, err);
  if (ret == 0)
    ret = is_vm (rec) ? vm_create (&co, err) : ward_container_create (&co, err);
  ctx_stdio_restore (&c);
  if (ret < 0)
    return ret;
  if (c.tty && (ret = ctx_receive_tty (&c, err)) < 0)
    return ret;
  c.pid = runtime_pid (m->rt_root, id);
  if (c.pid <= 0)
    return ward_error_set_ret (err, -ESRCH, 0, "container %s: no init pid", id);
  c.pidfd = (int) syscall (SYS_pidfd_open, c.pid, 0);
  /* signals to forward wait, blocked, until the container runs */
  sigemptyset (&sigs);
  if (attach)
    {
      int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
      for (size_t i = 0; i < ARRAY_SIZE (fwd); i++)
        sigaddset (&sigs, fwd[i]);
    }
  sigaddset (&sigs, SIGCHLD);
  sigprocmask (SIG_BLOCK, &sigs, &c.old_mask);
  c.mask_set = true;
  c.sfd = signalfd (-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  ret = ward_container_start (m->rt_root, id, err);
  if (ret < 0)
    return ret;
  {
    upd_t u = { .pid = c.pid, .monitor = getpid () };
    _cleanup_error_ ward_error_t *e = NULL;
    if (ward_mgr_record_update (m, id, upd_running, &u, &e) < 0)
      ward_warn ("record %s: %s", id, e->msg);
  }
  status_report (status_fd, 0, NULL);
  if (c.tty && attach)
    {
      ra.master = c.master;
      relaying = pthread_create (&relay, NULL, tty_relay_thread, &ra) == 0;
    }
  ctx_wait (&c, relaying, &status);
  /* the relay ends when the pty's last writer is gone */
  if (relaying)
    pthread_join (relay, NULL);
  *exit_code = status_to_exit (status);
  return 0;
}

static bool manually_stopped (ward_mgr_t *m, const char *id)
{
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_record_read (m, id, &rec, &e) < 0)
    return true;
  return ward_mgr_rec_bool (rec, "State.ManuallyStopped");
}

static int monitor (ward_mgr_t *m, const char *id, bool attach, int *status_fd, int *exit_code,
                    ward_error_t **err)
{
  long backoff = 100;
  /* the container init and whatever it leaves behind are reaped by us */
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  for (;;)
    {
      _cleanup_json_ json_object *rec = NULL;
      int ret, code = 0;
      bool oom;
      ret = ward_mgr_record_read (m, id, &rec, err);
      if (ret < 0)
        return ret;
      ret = run_once (m, id, rec, attach, status_fd, &code, err);
      if (ret < 0)
        {
          upd_t u = { .exit_code = ward_mgr_exit_code_for_error (*err), .error = (*err)->msg };
          _cleanup_error_ ward_error_t *e = NULL;
          _cleanup_error_ ward_error_t *e2 = NULL;
          ward_container_delete (m->rt_root, id, true, &e2);
          ward_mgr_net_release (m, id);
          ward_mgr_record_update (m, id, upd_failed, &u, &e);
          status_report (status_fd, u.exit_code, (*err)->msg);
          if (ward_mgr_rec_bool (rec, "HostConfig.AutoRemove"))
            {
              _cleanup_error_ ward_error_t *e3 = NULL;
              if (ward_snapshot_remove (m->root, id, &e3) == 0)
                ward_mgr_volumes_release_anonymous (m, rec);
            }
          return ret;
        }
      *exit_code = code;
      oom = oom_kills (id) > 0;
      {
        _cleanup_error_ ward_error_t *e = NULL;
        if (ward_container_delete (m->rt_root, id, true, &e) < 0)
          ward_debug ("delete %s: %s", id, e->msg);
      }
      ward_mgr_net_release (m, id);
      {
        upd_t u = { .exit_code = code, .oom = oom };
        _cleanup_error_ ward_error_t *e = NULL;
        if (ward_mgr_record_update (m, id, upd_exited, &u, &e) < 0)
          ward_warn ("record %s: %s", id, e->msg);
      }
      if (ward_mgr_rec_bool (rec, "HostConfig.AutoRemove"))
        {
          _cleanup_error_ ward_error_t *e = NULL;
          if (ward_snapshot_remove (m->root, id, &e) < 0)
            ward_warn ("remove %s: %s", id, e->msg);
          else
            ward_mgr_volumes_release_anonymous (m, rec);
          return 0;
        }
      if (attach)
        return 0;
      {
        const char *pol = ward_mgr_rec_str (rec, "HostConfig.RestartPolicy.Name");
        int max = (int) ward_mgr_rec_int (rec, "HostConfig.RestartPolicy.MaximumRetryCount");
        int count = (int) ward_mgr_rec_int (rec, "RestartCount");
        if (!ward_mgr_restart_wanted (pol, max, count, code, manually_stopped (m, id)))
          return 0;
      }
      {
        _cleanup_error_ ward_error_t *e = NULL;
        ward_mgr_record_update (m, id, upd_restarting, NULL, &e);
      }
      /* docker's restart backoff: 100 ms doubling, capped at a minute */
      for (long waited = 0; waited < backoff; waited += 100)
        {
          sleep_ms (100);
          if (manually_stopped (m, id))
            {
              upd_t u = { .exit_code = code, .oom = oom };
              _cleanup_error_ ward_error_t *e = NULL;
              ward_mgr_record_update (m, id, upd_exited, &u, &e);
              return 0;
            }
        }
      backoff = backoff * 2 > 60000 ? 60000 : backoff * 2;
    }
}

static void upd_start_request (json_object *rec, void *data)
{
  (void) data;
  json_object_object_add (state_of (rec), "ManuallyStopped", json_object_new_boolean (0));
}

int ward_mgr_start (ward_mgr_t *m, const char *id, bool attach, int *exit_code, ward_error_t **err)
{
  int pfd[2];
  pid_t child;
  int ret, dummy;
  _cleanup_free_ char *msg = NULL;
  size_t len = 0;

  if (exit_code == NULL)
    exit_code = &dummy;
  *exit_code = 0;
  {
    _cleanup_json_ json_object *rec = NULL;
    ret = ward_mgr_record_refresh (m, id, &rec, err);
    if (ret < 0)
      return ret;
    if (ward_mgr_is_running (m, rec))
      return 0;
  }
  ret = ward_mgr_record_update (m, id, upd_start_request, NULL, err);
  if (ret < 0)
    return ret;
  /* after a reboot the snapshot's overlay is no longer mounted */
  ret = ward_snapshot_mount (m->root, id, err);
  if (ret < 0)
    return ret;
  if (attach)
    {
      int st = -1;
      return monitor (m, id, true, &st, exit_code, err);
    }
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return ward_error_set (err, errno, "pipe");
  child = fork ();
  if (child < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return ward_error_set (err, errno, "fork");
    }
  if (child == 0)
    {
      /* double fork + setsid: the monitor outlives `ward run -d` and has
       * no controlling terminal (conmon does the same) */
      close (pfd[0]);
      setsid ();
      if (fork () != 0)
        _exit (0);
      {
        int fd = open ("/dev/null", O_RDWR);
        ward_error_t *e = NULL;
        int code;
        if (fd >= 0)
          {
            dup2 (fd, 0);
            dup2 (fd, 1);
            dup2 (fd, 2);
            if (fd > 2)
              close (fd);
          }
        /* fds the caller left open (bats' fd 3, a $(...) pipe) must not
         * stay open for the container's lifetime */
        if (pfd[1] > 3)
          syscall (SYS_close_range, 3U, (unsigned) pfd[1] - 1, 0U);
        syscall (SYS_close_range, (unsigned) pfd[1] + 1, ~0U, 0U);
        if (chdir ("/") < 0)
          _exit (1);
        monitor (m, id, false, &pfd[1], &code, &e);
        ward_error_free (&e);
        _exit (0);
      }
    }
  close (pfd[1]);
  waitpid (child, NULL, 0);
  ret = ward_read_fd (pfd[0], &msg, &len, 1 << 20, "monitor status", err);
  close (pfd[0]);
  if (ret < 0)
    return ret;
  if (len == 0)
    return ward_error_set_ret (err, -EIO, 0, "container %s: the monitor exited before it started", id);
  {
    char *nl = strchr (msg, '\n');
    int code = atoi (msg);
    if (code == 0)
      return 0;
    *exit_code = code;
    return ward_error_set_ret (err, -EIO, 0, "%s", nl ? nl + 1 : "start failed");
  }
}

/* ---- stop, kill, rm, wait ----------------------------------------------------- */

static bool still_running (ward_mgr_t *m, const char *id, int *code)
{
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_record_refresh (m, id, &rec, &e) < 0)
    return false;
  if (code)
    *code = (int) ward_mgr_rec_int (rec, "State.ExitCode");
  return ward_mgr_is_running (m, rec);
}

static bool wait_stopped (ward_mgr_t *m, const char *id, long ms)
{
  for (long t = 0; ms < 0 || t < ms; t += 50)
    {
      if (!still_running (m, id, NULL))
        return true;
      sleep_ms (50);
    }
  return !still_running (m, id, NULL);
}

static void upd_manual_stop (json_object *rec, void *data)
{
  (void) data;
  json_object_object_add (state_of (rec), "ManuallyStopped", json_object_new_boolean (1));
}

int ward_mgr_kill (ward_mgr_t *m, const char *id, int signo, ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  int ret = ward_mgr_record_refresh (m, id, &rec, err);
  const char *st;
  if (ret < 0)
    return ret;
  st = ward_mgr_rec_str (rec, "State.Status");
  if (!st || strcmp (st, "running") != 0)
    return ward_error_set_ret (err, -EINVAL, 0, "Cannot kill container: %s: Container %s is not running",
                               id, id);
  ret = ward_container_kill (m->rt_root, id, signo, false, err);
  if (ret < 0)
    {
      /* the runtime already forgot it: fall back to the recorded pid */
      int64_t pid = ward_mgr_rec_int (rec, "State.Pid");
      if (pid > 0 && kill ((pid_t) pid, signo) == 0)
        {
          ward_error_free (err);
          return 0;
        }
    }
  return ret;
}

/* a frozen container gets no signal: thaw it first, as docker stop does */
static void thaw_if_paused (ward_mgr_t *m, const char *id, json_object *rec)
{
  const char *st = ward_mgr_rec_str (rec, "State.Status");
  if (st && strcmp (st, "paused") == 0)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_mgr_pause (m, id, false, &e) < 0)
        ward_warn ("unpause %s: %s", id, e->msg);
    }
}

int ward_mgr_stop (ward_mgr_t *m, const char *id, int timeout, ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  int ret = ward_mgr_record_refresh (m, id, &rec, err);
  int signo = SIGTERM;
  const char *sig;
  if (ret < 0)
    return ret;
  ret = ward_mgr_record_update (m, id, upd_manual_stop, NULL, err);
  if (ret < 0)
    return ret;
  if (!ward_mgr_is_running (m, rec))
    return 0;
  thaw_if_paused (m, id, rec);
  sig = ward_mgr_rec_str (rec, "Config.StopSignal");
  if (sig && ward_signal_parse (sig, &signo) < 0)
    signo = SIGTERM;
  if (timeout < 0)
    {
      json_object *c, *t;
      timeout = 10;
      if (json_object_object_get_ex (rec, "Config", &c) && json_object_object_get_ex (c, "StopTimeout", &t))
        timeout = json_object_get_int (t);
    }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_mgr_kill (m, id, signo, &e);
  }
  if (wait_stopped (m, id, (long) timeout * 1000))
    return 0;
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_mgr_kill (m, id, SIGKILL, &e);
  }
  if (wait_stopped (m, id, 30000))
    return 0;
  return ward_error_set_ret (err, -ETIMEDOUT, 0, "container %s did not stop", id);
}

int ward_mgr_remove (ward_mgr_t *m, const char *id, bool force, ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  int ret = ward_mgr_record_refresh (m, id, &rec, err);
  if (ret < 0)
    return ret;
  if (ward_mgr_is_running (m, rec))
    {
      if (!force)
        return ward_error_set_ret (err, -EBUSY, 0,
                                   "You cannot remove a running container %s. Stop the container before attempting removal or force remove",
                                   id);
      ward_mgr_record_update (m, id, upd_manual_stop, NULL, err);
      ward_error_free (err);
      thaw_if_paused (m, id, rec);
      {
        _cleanup_error_ ward_error_t *e = NULL;
        ward_mgr_kill (m, id, SIGKILL, &e);
      }
      if (!wait_stopped (m, id, 30000))
        return ward_error_set_ret (err, -ETIMEDOUT, 0, "container %s did not stop", id);
    }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_container_delete (m->rt_root, id, true, &e);
  }
  ward_mgr_net_release (m, id);
  ret = ward_snapshot_remove (m->root, id, err);
  if (ret == -ENOENT)
    {
      /* an --rm monitor got there first */
      ward_error_free (err);
      return 0;
    }
  return ret;
}

static void upd_paused (json_object *rec, void *data)
{
  set_status (rec, *(bool *) data ? "paused" : "running");
}

int ward_mgr_pause (ward_mgr_t *m, const char *id, bool pause, ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  const char *st;
  int ret = ward_mgr_record_refresh (m, id, &rec, err);
  if (ret < 0)
    return ret;
  st = ward_mgr_rec_str (rec, "State.Status");
  if (pause && st && strcmp (st, "paused") == 0)
    return ward_error_set_ret (err, -EINVAL, 0, "Container %s is already paused", id);
  if (pause && (!st || strcmp (st, "running") != 0))
    return ward_error_set_ret (err, -EINVAL, 0, "Container %s is not running", id);
  if (!pause && (!st || strcmp (st, "paused") != 0))
    return ward_error_set_ret (err, -EINVAL, 0, "Container %s is not paused", id);
  ret = pause ? ward_container_pause (m->rt_root, id, err) : ward_container_resume (m->rt_root, id, err);
  if (ret < 0)
    return ret;
  return ward_mgr_record_update (m, id, upd_paused, &pause, err);
}

/* docker wait's "next-exit": the first exit after the call, even when a
 * restart policy starts the container again (its monitor stays). */
int ward_mgr_wait (ward_mgr_t *m, const char *id, int *exit_code, ward_error_t **err)
{
  _cleanup_free_ char *started = NULL;
  for (;;)
    {
      _cleanup_json_ json_object *rec = NULL;
      const char *st, *at;
      int ret = ward_mgr_record_refresh (m, id, &rec, err);
      if (ret < 0)
        return ret;
      st = ward_mgr_rec_str (rec, "State.Status");
      at = ward_mgr_rec_str (rec, "State.StartedAt");
      *exit_code = (int) ward_mgr_rec_int (rec, "State.ExitCode");
      if (!ward_mgr_is_running (m, rec) || (st && strcmp (st, "restarting") == 0)
          || (started && at && strcmp (started, at) != 0))
        return 0;
      if (started == NULL)
        started = xstrdup (at ? at : "");
      sleep_ms (50);
    }
}

/* dockerd at boot: always, and unless-stopped when the user did not stop it. */
int ward_mgr_start_all (ward_mgr_t *m, char ***started, char ***failed, ward_error_t **err)
{
  json_object **recs = NULL;
  size_t n = 0, ns = 0, nf = 0;
  char **ok, **bad;
  int ret = ward_mgr_list (m, &recs, &n, err);
  if (ret < 0)
    return ret;
  ok = xzalloc ((n + 1) * sizeof *ok);
  bad = xzalloc ((n + 1) * sizeof *bad);
  /* oldest first, as they were created */
  for (size_t i = n; i > 0; i--)
    {
      json_object *rec = recs[i - 1];
      const char *id = ward_mgr_rec_str (rec, "Id");
      const char *pol = ward_mgr_rec_str (rec, "HostConfig.RestartPolicy.Name");
      _cleanup_error_ ward_error_t *e = NULL;
      bool want;
      const char *st = ward_mgr_rec_str (rec, "State.Status");
      /* never started (created): nothing to bring back */
      if (id == NULL || pol == NULL || ward_mgr_is_running (m, rec) || (st && strcmp (st, "created") == 0))
        continue;
      want = strcmp (pol, "always") == 0
             || (strcmp (pol, "unless-stopped") == 0 && !ward_mgr_rec_bool (rec, "State.ManuallyStopped"));
      if (!want)
        continue;
      if (ward_mgr_start (m, id, false, NULL, &e) < 0)
        {
          ward_warn ("start %s: %s", id, e->msg);
          bad[nf++] = xstrdup (id);
        }
      else
        ok[ns++] = xstrdup (id);
    }
  ward_mgr_records_free (recs, n);
  if (started)
    *started = ok;
  else
    ward_strv_freep (&ok);
  if (failed)
    *failed = bad;
  else
    ward_strv_freep (&bad);
  return 0;
}
