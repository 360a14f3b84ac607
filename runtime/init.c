/* The container init: the cloned child of `create`/`run` (same image, no
 * re-exec).  It finishes the namespaces, builds the rootfs, prepares the
 * process, reports "ready" and then blocks on exec.fifo until `start`.
 * Every failure goes to the parent as text over the sync socket. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/namespaces.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"

typedef struct
{
  const ward_runtime_init_t *in;
  char *state_json; /* from the parent, for createContainer/startContainer hooks */
  bool cgroup_ready; /* the parent has put us in the container's cgroups */
} init_ctx_t;

/* Set once exec.fifo is written: `create` is gone, errors are only logged. */
static bool started;

__attribute__ ((noreturn)) static void init_fail (const ward_runtime_init_t *in, ward_error_t *e)
{
  const char *msg = e && e->msg ? e->msg : "container init failed";
  ward_error_t *ignored = NULL;
  if (started
      || ward_runtime_sync_send (in->sync_fd, WARD_SYNC_ERROR, msg, strlen (msg), -1, &ignored) < 0)
    ward_log_error ("%s", msg);
  ward_error_free (&ignored);
  _exit (1);
}

/* Sysctls are written before readonlyPaths make /proc/sys read-only (runc
 * orders them so too).  The host's /proc is still reachable here, and each
 * namespaced sysctl file acts on the namespaces of the writer, i.e. ours. */
static int apply_sysctl (const ward_config_t *cfg, ward_error_t **err)
{
  return ward_sysctl_apply (cfg, err);
}

/* Consumes the parent's "cgroup entered" message once, wherever the init
 * first needs it (cgroup ns, cgroup mount, or at the latest before the
 * hooks' exchange, which must not find it in the way). */
static int await_cgroup (void *data, ward_error_t **err)
{
  init_ctx_t *ctx = data;
  if (ctx->cgroup_ready)
    return 0;
  ctx->cgroup_ready = true;
  return ward_runtime_sync_expect (ctx->in->sync_fd, WARD_SYNC_CGROUP_DONE, NULL, err);
}

static int before_pivot (void *data, ward_error_t **err)
{
  init_ctx_t *ctx = data;
  const ward_config_t *cfg = ctx->in->config;
  int ret;

  ret = await_cgroup (ctx, err);
  if (ret < 0)
    return ret;

  if (!ctx->in->parent_hooks)
    return apply_sysctl (cfg, err);
  /* prestart and createRuntime hooks run in the runtime namespace: the
   * parent runs them and answers with the state the hooks were given. */
  ret = ward_runtime_sync_send (ctx->in->sync_fd, WARD_SYNC_RUN_HOOKS, NULL, 0, -1, err);
  if (ret < 0)
    return ret;
  {
    _cleanup_free_ char *data_in = NULL;
    int type;
    ret = ward_runtime_sync_recv (ctx->in->sync_fd, &type, &data_in, NULL, err);
    if (ret < 0)
      return ret;
    if (type == WARD_SYNC_ERROR)
      return ward_error_set_ret (err, -EIO, 0, "%s", data_in ? data_in : "");
    if (type != WARD_SYNC_HOOKS_DONE)
      return ward_error_set_ret (err, -EPROTO, 0, "sync: unexpected message %d", type);
    ctx->state_json = TAKE_PTR (data_in);
  }
  if (cfg->hooks && cfg->hooks->create_container_len)
    {
      ret = ward_runtime_hooks_run ("createContainer", cfg->hooks->create_container,
                                    cfg->hooks->create_container_len, ctx->state_json, err);
      if (ret < 0)
        return ret;
    }
  return apply_sysctl (cfg, err);
}

static const char *env_get (char **env, const char *key)
{
  size_t klen = strlen (key);
  for (char **e = env; e && *e; e++)
    if (strncmp (*e, key, klen) == 0 && (*e)[klen] == '=')
      return *e + klen + 1;
  return NULL;
}

static bool is_executable (const char *path, int *errnum)
{
  struct stat sb;
  if (stat (path, &sb) < 0)
    {
      *errnum = errno;
      return false;
    }
  if (S_ISDIR (sb.st_mode) || !(sb.st_mode & 0111))
    {
      *errnum = EACCES;
      return false;
    }
  return true;
}

/* runc resolves the binary before reporting "created" (Go's exec.LookPath
 * with the container's PATH), so a typo fails `create`, not `start`. */
static int check_executable (const ward_process_t *p, ward_error_t **err)
{
  const char *file = p->args && p->args[0] ? p->args[0] : NULL;
  const char *path;
  int errnum = 0;

  if (!file || !*file)
    return ward_error_set_ret (err, -EINVAL, 0, "args must not be empty");
  if (strchr (file, '/'))
    {
      if (is_executable (file, &errnum))
        return 0;
      if (errnum == EACCES)
        return ward_error_set_ret (err, -EACCES, 0, "exec: \"%s\": permission denied", file);
      {
        /* Go spells errno texts in lower case. */
        char msg[128];
        snprintf (msg, sizeof msg, "%s", strerror (errnum));
        msg[0] = (char) tolower ((unsigned char) msg[0]);
        return ward_error_set_ret (err, -errnum, 0, "exec: \"%s\": stat %s: %s", file, file, msg);
      }
    }
  path = env_get (p->env, "PATH");
  if (path)
    for (const char *s = path;; )
      {
        const char *end = strchrnul (s, ':');
        _cleanup_free_ char *cand = xasprintf ("%.*s/%s", (int) (end - s),
                                               end == s ? "." : s, file);
        if (end == s)
          {
            free (cand);
            cand = xasprintf ("./%s", file);
          }
        if (is_executable (cand, &errnum))
          return 0;
        if (!*end)
          break;
        s = end + 1;
      }
  return ward_error_set_ret (err, -ENOENT, 0, "exec: \"%s\": executable file not found in $PATH",
                             file);
}

/* LISTEN_FDS passed through (as runc): the process sees them from fd 3 with
 * LISTEN_PID=1 and the count. */
static char **env_with_listen_fds (char **env, int n)
{
  size_t len = 0, j = 0;
  for (char **e = env; e && *e; e++)
    len++;
  char **out = xzalloc (sizeof (char *) * (len + 3));
  for (size_t i = 0; i < len; i++)
    if (strncmp (env[i], "LISTEN_FDS=", 11) != 0 && strncmp (env[i], "LISTEN_PID=", 11) != 0)
      out[j++] = env[i];
  out[j++] = xasprintf ("LISTEN_FDS=%d", n);
  out[j++] = xstrdup ("LISTEN_PID=1");
  return out;
}

static void die_on_signal (int sig)
{
  _exit (128 + sig);
}

/* As pid 1 of a new pid namespace the init ignores every signal it has no
 * handler for, even from the host; `kill` of a created container must end
 * it (runc's Go init dies on them too).  execve resets these handlers. */
static void install_signal_handlers (void)
{
  struct sigaction sa = { .sa_handler = die_on_signal };
  sigemptyset (&sa.sa_mask);
  for (int sig = 1; sig < SIGRTMIN; sig++)
    {
      if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGCONT || sig == SIGURG
          || sig == SIGWINCH || sig == SIGPIPE)
        continue;
      sigaction (sig, &sa, NULL);
    }
}

/* ward-vm: the VMM is this container's init.  No rootfs and no process
 * setup here: the guest agent runs this same code inside the VM.  With a
 * terminal, a host pty carries it: the master goes where the console
 * socket (or `run -t`) wants it, the raw slave is the VMM's stdio. */
__attribute__ ((noreturn)) static void vm_init_main (const ward_runtime_init_t *in, init_ctx_t *ctx)
{
  _cleanup_error_ ward_error_t *err = NULL;
  char fifo_path[64];
  int type;

  if (await_cgroup (ctx, &err) < 0 || ward_ns_set_hostname (in->config, &err) < 0)
    init_fail (in, err);
  if (in->want_terminal)
    {
      _cleanup_close_ int master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
      char name[64];
      struct termios t;
      int slave = -1;
      if (master < 0 || grantpt (master) < 0 || unlockpt (master) < 0
          || ptsname_r (master, name, sizeof name) != 0
          || (slave = open (name, O_RDWR | O_NOCTTY)) < 0)
        {
          ward_error_set (&err, errno, "host pty for the VM's terminal");
          init_fail (in, err);
        }
      if (tcgetattr (slave, &t) == 0)
        {
          cfmakeraw (&t);
          tcsetattr (slave, TCSANOW, &t);
        }
      /* its controlling terminal: the VMM gets SIGWINCH and forwards sizes */
      setsid ();
      ioctl (slave, TIOCSCTTY, 0);
      for (int i = 0; i < 3; i++)
        dup2 (slave, i);
      if (slave > 2)
        close (slave);
      if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_TERMINAL, NULL, 0, master, &err) < 0)
        init_fail (in, err);
    }
  if (in->opts->vm_prepare && in->opts->vm_prepare (in->opts->vm_data, &err) < 0)
    init_fail (in, err);
  if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_READY, NULL, 0, -1, &err) < 0
      || ward_runtime_sync_recv (in->sync_fd, &type, NULL, NULL, &err) < 0)
    init_fail (in, err);
  if (type != WARD_SYNC_CREATED)
    _exit (1);
  prctl (PR_SET_PDEATHSIG, 0);
  if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_ACK, NULL, 0, -1, &err) < 0)
    init_fail (in, err);
  snprintf (fifo_path, sizeof fifo_path, "/proc/self/fd/%d", in->fifo_fd);
  {
    _cleanup_close_ int wfd = -1;
    do
      wfd = open (fifo_path, O_WRONLY | O_CLOEXEC);
    while (wfd < 0 && errno == EINTR);
    if (wfd < 0 || ward_write_all (wfd, "0", 1) < 0)
      {
        ward_error_set (&err, errno, "exec fifo '%s'", fifo_path);
        init_fail (in, err);
      }
  }
  close (in->fifo_fd);
  close (in->sync_fd);
  started = true;
  _exit (in->opts->vm_main (in->opts->vm_data));
}

void ward_runtime_init_main (const ward_runtime_init_t *in)
{
  _cleanup_error_ ward_error_t *err = NULL;
  const ward_config_t *cfg = in->config;
  init_ctx_t ctx = { .in = in, .cgroup_ready = !in->wait_cgroup };
  ward_process_t proc = *cfg->process;
  int ns_fds[WARD_NS__COUNT];
  sigset_t none;
  char fifo_path[64];
  int ret;

  /* Until `create` has recorded us, its death must take us with it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* First of all, into the container's v1 cgroups (see create.c): nothing
   * below may run or allocate outside them. */
  if (ward_cgroup_enter_self (in->cgroup_task_fds, in->cgroup_task_fds_len, &err) < 0)
    init_fail (in, err);
  install_signal_handlers ();
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* The lock and the state dirs are the parent's: a copy held here would
   * keep the lock (flock follows the open file) and a host dir fd. */
  for (size_t i = 0; i < in->close_early_len; i++)
    if (in->close_early[i] >= 0)
      close (in->close_early[i]);
  /* CVE-2024-21626: nothing of the runtime's (cgroup dir fds, the state
   * root) may be reachable while the init works in the container. */
  {
    _cleanup_free_ int *keep = xmalloc ((WARD_NS__COUNT + 4 + cfg->mounts_len) * sizeof (int));
    size_t n = 0;
    keep[n++] = in->sync_fd;
    keep[n++] = in->fifo_fd;
    keep[n++] = ward_log_fd ();
    /* The seccomp agent's socket, connected on the host side. */
    if (in->seccomp && in->seccomp->listener_fd >= 0)
      keep[n++] = in->seccomp->listener_fd;
    for (int i = 0; i < WARD_NS__COUNT; i++)
      if (in->ns_fds[i] >= 0)
        keep[n++] = in->ns_fds[i];
    for (size_t i = 0; in->mount_fds && i < cfg->mounts_len; i++)
      if (in->mount_fds[i] >= 0)
        keep[n++] = in->mount_fds[i];
    if (ward_process_close_fds (in->opts->preserve_fds + in->listen_fds, keep, n, &err) < 0)
      init_fail (in, err);
  }

  memcpy (ns_fds, in->ns_fds, sizeof ns_fds);
  if (ns_fds[WARD_NS_USER] >= 0 && ward_ns_join (ns_fds, true, &err) < 0)
    init_fail (in, err);
  if (ward_ns_join (ns_fds, false, &err) < 0)
    init_fail (in, err);
  ward_ns_close_fds (ns_fds);
  if ((in->unshare_flags & CLONE_NEWUSER) && unshare (CLONE_NEWUSER) < 0)
    {
      ward_error_set (&err, errno, "unshare user namespace");
      init_fail (in, err);
    }
  if (in->new_userns)
    {
      if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_WANT_IDMAP, NULL, 0, -1, &err) < 0
          || ward_runtime_sync_expect (in->sync_fd, WARD_SYNC_IDMAP_DONE, NULL, &err) < 0)
        init_fail (in, err);
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        {
          ward_error_set (&err, errno, "become root in the user namespace");
          init_fail (in, err);
        }
    }
  {
    unsigned long rest = in->unshare_flags & ~(unsigned long) (CLONE_NEWUSER | CLONE_NEWCGROUP);
    if (rest && unshare ((int) rest) < 0)
      {
        ward_error_set (&err, errno, "unshare namespaces 0x%lx", rest);
        init_fail (in, err);
      }
  }
  /* setns/unshare of a pid namespace only applies to children: the real
   * init is a child of ours, and we report its (host) pid and leave. */
  if (in->fork_init)
    {
      /* The real init talks on the sync socket only after our PID message:
       * nothing else makes it wait for the parent any more (it enters its
       * cgroups itself), and a READY ahead of PID would leave the parent
       * following us instead of it. */
      int go[2];
      char byte = 0;
      if (pipe2 (go, O_CLOEXEC) < 0)
        {
          ward_error_set (&err, errno, "pipe");
          init_fail (in, err);
        }
      pid_t child = fork ();
      if (child < 0)
        {
          ward_error_set (&err, errno, "fork container init");
          init_fail (in, err);
        }
      if (child > 0)
        {
          char buf[32];
          int n = snprintf (buf, sizeof buf, "%d", (int) child);
          close (go[0]);
          if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_PID, buf, (size_t) n, -1, &err) < 0)
            {
              kill (child, SIGKILL);
              init_fail (in, err);
            }
          if (write (go[1], "1", 1) != 1)
            {
              kill (child, SIGKILL);
              _exit (1);
            }
          _exit (0);
        }
      close (go[1]);
      while (read (go[0], &byte, 1) < 0 && errno == EINTR)
        ;
      close (go[0]);
      /* Without the byte our parent died before reporting us: it is gone. */
      if (byte != '1')
        _exit (1);
      /* No parent-death signal here: our parent is the one that just left. */
    }
  /* A cgroup namespace is rooted at the cgroup we are in when it is made:
   * on v1/hybrid that is only the container's after the parent moved us. */
  if ((in->unshare_flags & CLONE_NEWCGROUP) && await_cgroup (&ctx, &err) < 0)
    init_fail (in, err);
  if ((in->unshare_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    {
      ward_error_set (&err, errno, "unshare cgroup namespace");
      init_fail (in, err);
    }
  if (ward_ns_setup_time (cfg, &err) < 0)
    init_fail (in, err);
  if (in->opts->vm_main)
    vm_init_main (in, &ctx);

  ward_rootfs_opts_t ro = {
    .config = cfg,
    .bundle = in->bundle,
    .rootfs = in->rootfs,
    .no_pivot = in->opts->no_pivot,
    .create_console = in->want_terminal,
    .in_user_ns = in->new_userns || in->ns_fds[WARD_NS_USER] >= 0,
    .before_pivot = before_pivot,
    .before_pivot_data = &ctx,
    .mount_fds = in->mount_fds,
    .before_cgroup_mount = await_cgroup,
    .before_cgroup_mount_data = &ctx,
  };
  if (ward_rootfs_setup (&ro, &err) < 0 || await_cgroup (&ctx, &err) < 0)
    init_fail (in, err);
  /* runc creates a missing cwd (as root, before the user switch); we are
   * inside the new root now, so the path cannot leave it.  A read-only
   * rootfs makes this fail: process setup then reports the missing cwd. */
  if (cfg->process->cwd && cfg->process->cwd[0] == '/')
    {
      ward_error_t *ignored = NULL;
      ward_mkdir_p (cfg->process->cwd, 0755, &ignored);
      ward_error_free (&ignored);
    }
  if (ward_ns_set_hostname (cfg, &err) < 0)
    init_fail (in, err);

  if (in->want_terminal)
    {
      _cleanup_close_ int master = -1;
      if (ward_terminal_setup_in_init (cfg->process, &master, &err) < 0
          || ward_runtime_sync_send (in->sync_fd, WARD_SYNC_TERMINAL, NULL, 0, master, &err) < 0)
        init_fail (in, err);
    }

  if (!in->opts->no_new_keyring)
    {
      /* A fresh session keyring so the container cannot read the host's
       * keys; ENOSYS/EACCES (keyctl blocked or absent) are not fatal. */
      if (syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS
          && errno != EACCES && errno != EPERM)
        {
          ward_error_set (&err, errno, "join session keyring");
          init_fail (in, err);
        }
    }

  /* Without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN: it
   * happens before the capabilities are dropped (runc's order). */
  if (in->seccomp && !cfg->process->no_new_privileges
      && ward_seccomp_load (in->seccomp, ctx.state_json, NULL, &err) < 0)
    init_fail (in, err);
  if (ward_process_setup (cfg->process, &err) < 0)
    init_fail (in, err);
  if (in->listen_fds > 0)
    proc.env = env_with_listen_fds (cfg->process->env, in->listen_fds);
  if (check_executable (&proc, &err) < 0)
    init_fail (in, err);
  /* Ready; the parent records us, then we drop the parent-death signal
   * (create exits now) and acknowledge so it cannot exit before that. */
  {
    _cleanup_free_ char *state = NULL;
    int type;
    if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_READY, NULL, 0, -1, &err) < 0
        || ward_runtime_sync_recv (in->sync_fd, &type, &state, NULL, &err) < 0)
      init_fail (in, err);
    if (type != WARD_SYNC_CREATED)
      _exit (1);
    prctl (PR_SET_PDEATHSIG, 0);
    if (ward_runtime_sync_send (in->sync_fd, WARD_SYNC_ACK, NULL, 0, -1, &err) < 0)
      init_fail (in, err);
    if (state && *state)
      {
        free (ctx.state_json);
        ctx.state_json = TAKE_PTR (state);
      }
  }

  /* The fifo was opened O_PATH before pivot_root; reopening it through
   * /proc blocks until `start` opens the read side. */
  snprintf (fifo_path, sizeof fifo_path, "/proc/self/fd/%d", in->fifo_fd);
  {
    _cleanup_close_ int wfd = -1;
    do
      wfd = open (fifo_path, O_WRONLY | O_CLOEXEC);
    while (wfd < 0 && errno == EINTR);
    if (wfd < 0)
      {
        ward_error_set (&err, errno, "open exec fifo '%s'", fifo_path);
        init_fail (in, err);
      }
    if (ward_write_all (wfd, "0", 1) < 0)
      {
        ward_error_set (&err, errno, "write exec fifo");
        init_fail (in, err);
      }
  }
  close (in->fifo_fd);
  started = true;

  /* With noNewPrivileges the filter is loaded as late as possible, so
   * that the runtime's own syscalls above need no room in the profile,
   * but before the startContainer hooks: they run filtered, as with runc
   * (runc's own tests check it). */
  if (in->seccomp && cfg->process->no_new_privileges
      && ward_seccomp_load (in->seccomp, ctx.state_json, NULL, &err) < 0)
    init_fail (in, err);

  if (cfg->hooks && cfg->hooks->start_container_len
      && ward_runtime_hooks_run ("startContainer", cfg->hooks->start_container,
                                 cfg->hooks->start_container_len, ctx.state_json, &err) < 0)
    init_fail (in, err);

  {
    int keep[] = { in->sync_fd };
    if (ward_process_close_fds (in->opts->preserve_fds + in->listen_fds, keep, 1, &err) < 0)
      init_fail (in, err);
  }
  ret = ward_process_exec (&proc, &err);
  (void) ret;
  init_fail (in, err);
}
