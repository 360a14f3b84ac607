/* exec: a new process in an existing container.  The parent joins the
 * container's pid namespace for its children only, so one clone3 (into the
 * container's cgroup on v2) makes a child that is already in the right pid
 * namespace: no intermediate process.  The child joins the other
 * namespaces, the container's root, sets the process up and execs; its
 * failures come back over a SOCK_SEQPACKET pair, whose end closes on a
 * successful execve. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "namespaces/namespaces.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

enum
{
  EXEC_SYNC_GO = 100, /* parent -> child: the child is in the container's cgroup */
};

/* ---- building the process ----------------------------------------------- */

static size_t strv_len (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

/* Appends copies of add[] to a NULL-terminated vector. */
static char **strv_append (char **v, size_t *len, char *const *add, size_t n)
{
  size_t l = strv_len (v);
  v = xrealloc (v, (l + n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    v[l + i] = xstrdup (add[i]);
  v[l + n] = NULL;
  if (len)
    *len = l + n;
  return v;
}

static void replace_str (char **dst, const char *v)
{
  free (*dst);
  *dst = xstrdup (v);
}

/* strconv.Atoi's error text, for runc's "parsing X as int" messages. */
static int parse_go_int (const char *s, long long *out, const char **why)
{
  long long v;
  if (ward_parse_i64 (s, &v) == 0)
    {
      *out = v;
      return 0;
    }
  *why = "invalid syntax";
  {
    const char *d = s + (*s == '-' || *s == '+');
    bool digits = *d != '\0';
    for (; *d; d++)
      digits &= isdigit ((unsigned char) *d) != 0;
    if (digits)
      *why = "value out of range";
  }
  return -EINVAL;
}

static int last_cap (void)
{
  _cleanup_free_ char *data = NULL;
  long long v;
  if (ward_read_file_at (AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &data, NULL, 0, NULL) < 0)
    return 40;
  data[strcspn (data, "\n")] = '\0';
  return ward_parse_i64 (data, &v) == 0 ? (int) v : 40;
}

static bool selinux_enabled (void)
{
  return access ("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int validate_process (const ward_process_t *p, ward_error_t **err)
{
  if (!p->cwd || !p->cwd[0])
    return ward_error_set_ret (err, -EINVAL, 0, "Cwd property must not be empty");
  if (p->cwd[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0, "Cwd must be an absolute path");
  if (!p->args || !p->args[0])
    return ward_error_set_ret (err, -EINVAL, 0, "args must not be empty");
  if (p->selinux_label && p->selinux_label[0] && !selinux_enabled ())
    return ward_error_set_ret (err, -EINVAL, 0, "selinux label is specified in config, but selinux "
                                                "is disabled or not supported");
  return 0;
}

int ward_exec_apply_opts (ward_process_t *p, const ward_exec_opts_t *o, ward_error_t **err)
{
  p->args = (strv_free (p->args), NULL);
  p->args = strv_append (NULL, &p->args_len, o->args, o->args ? strv_len (o->args) : 0);
  if (o->cwd && o->cwd[0])
    replace_str (&p->cwd, o->cwd);
  if (o->apparmor && o->apparmor[0])
    replace_str (&p->apparmor_profile, o->apparmor);
  if (o->process_label && o->process_label[0])
    replace_str (&p->selinux_label, o->process_label);
  if (o->caps && o->caps[0])
    {
      _cleanup_free_ char **known = xzalloc ((strv_len (o->caps) + 1) * sizeof (char *));
      ward_strbuf_t unknown = { 0 };
      size_t n = 0;
      int last = last_cap ();
      for (char **c = o->caps; *c; c++)
        {
          int idx;
          /* runc knows the names in upper case only, and only those the
           * kernel has; it warns once about the rest. */
          if (ward_capability_parse (*c, &idx) == 0 && strcmp (ward_capability_name (idx), *c) == 0
              && idx <= last)
            known[n++] = *c;
          else
            ward_strbuf_printf (&unknown, "%s%s", unknown.len ? " " : "", *c);
        }
      if (unknown.len)
        {
          _cleanup_free_ char *list = ward_strbuf_take (&unknown);
          ward_warn ("ignoring unknown or unavailable capabilities: [%s]", list);
        }
      ward_capabilities_t *c = p->capabilities;
      if (!c)
        c = p->capabilities = xzalloc (sizeof *c);
      /* runc adds them to these four sets; ambient only takes effect for
       * a capability that is also inheritable. */
      c->bounding = strv_append (c->bounding, NULL, known, n);
      c->effective = strv_append (c->effective, NULL, known, n);
      c->permitted = strv_append (c->permitted, NULL, known, n);
      c->ambient = strv_append (c->ambient, NULL, known, n);
      c->has_bounding = c->has_effective = c->has_permitted = c->has_ambient = true;
    }
  if (o->env && o->env[0])
    p->env = strv_append (p->env, &p->env_len, o->env, strv_len (o->env));
  p->terminal = o->tty;
  if (o->no_new_privs)
    p->no_new_privileges = true;
  if (o->user && o->user[0])
    {
      _cleanup_free_ char *copy = xstrdup (o->user);
      char *colon = strchr (copy, ':');
      const char *why = NULL;
      long long v = 0;
      if (colon)
        {
          *colon++ = '\0';
          if (parse_go_int (colon, &v, &why) < 0)
            return ward_error_set_ret (err, -EINVAL, 0,
                                       "parsing %s as int for gid failed: strconv.Atoi: parsing \"%s\": %s",
                                       colon, colon, why);
          p->user.gid = (uint32_t) v;
        }
      if (parse_go_int (copy, &v, &why) < 0)
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "parsing %s as int for uid failed: strconv.Atoi: parsing \"%s\": %s",
                                   copy, copy, why);
      p->user.uid = (uint32_t) v;
    }
  for (size_t i = 0; i < o->additional_gids_len; i++)
    {
      long long g = o->additional_gids[i];
      if (g < 0)
        return ward_error_set_ret (err, -EINVAL, 0, "additional-gids must be a positive number %lld", g);
      p->user.additional_gids = xrealloc (p->user.additional_gids,
                                          (p->user.additional_gids_len + 1) * sizeof (uint32_t));
      p->user.additional_gids[p->user.additional_gids_len++] = (uint32_t) g;
    }
  return validate_process (p, err);
}

/* ---- the child ----------------------------------------------------------- */

typedef struct
{
  const ward_process_t *process;
  const ward_config_t *config;
  pid_t init_pid;
  int init_pidfd;
  int root_fd;        /* O_PATH of /proc/<init>/root, opened on the host side */
  int sync_fd;
  bool wait_cgroup;   /* v1/hybrid: the parent writes cgroup.procs, then says go */
  int preserve_fds;
  const ward_seccomp_prog_t *seccomp;
  const char *state_json;
  int close_early[3]; /* the parent's: state root, state dir, lock (-1 = none) */
} exec_child_t;

/* A pty from the container's own devpts (we are in its root already),
 * made our controlling terminal and stdio.  Unlike the init's, nothing is
 * mounted on /dev/console: the container already has its console. */
static int open_pty (const ward_process_t *p, int *master_out, ward_error_t **err)
{
  _cleanup_close_ int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  _cleanup_close_ int slave = -1;
  char name[64];
  int r;

  if (master < 0)
    return ward_error_set (err, errno, "open '/dev/ptmx'");
  if (unlockpt (master) < 0)
    return ward_error_set (err, errno, "unlockpt");
  if ((r = ptsname_r (master, name, sizeof name)) != 0)
    return ward_error_set (err, r, "ptsname");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return ward_error_set (err, errno, "open pty slave '%s'", name);
  if (p->has_console_size)
    {
      struct winsize ws = { .ws_row = (unsigned short) p->console_height,
                            .ws_col = (unsigned short) p->console_width };
      if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        return ward_error_set (err, errno, "set console size");
    }
  if (setsid () < 0 && errno != EPERM)
    return ward_error_set (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return ward_error_set (err, errno, "make '%s' the controlling terminal", name);
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return ward_error_set (err, errno, "dup2 pty slave to fd %d", fd);
  *master_out = TAKE_FD (master);
  return 0;
}

/* runc (1.1) does not create a missing cwd for exec: report it before the
 * process setup, which would create it as the init does. */
static int check_cwd (const char *cwd, ward_error_t **err)
{
  struct stat sb;
  if (stat (cwd, &sb) < 0 && errno == ENOENT)
    return ward_error_set_ret (err, -ENOENT, 0,
                               "chdir to cwd (\"%s\") set in config.json failed: no such file or "
                               "directory",
                               cwd);
  return 0;
}

static int child_setup (const exec_child_t *x, ward_error_t **err)
{
  const ward_process_t *p = x->process;
  int ret;

  ret = ward_ns_enter_pid (x->init_pid, x->init_pidfd, err);
  if (ret < 0)
    return ret;
  /* setns(CLONE_NEWNS) puts us at the top mount of the namespace, which is
   * not the container's root after --no-pivot (chroot): take the init's. */
  if (fchdir (x->root_fd) < 0)
    return ward_error_set (err, errno, "fchdir to the container root");
  if (chroot (".") < 0)
    return ward_error_set (err, errno, "chroot to the container root");
  if (chdir ("/") < 0)
    return ward_error_set (err, errno, "chdir '/'");
  close (x->root_fd);

  if (p->terminal)
    {
      _cleanup_close_ int master = -1;
      ret = open_pty (p, &master, err);
      if (ret < 0)
        return ret;
      ret = ward_runtime_sync_send (x->sync_fd, WARD_SYNC_TERMINAL, NULL, 0, master, err);
      if (ret < 0)
        return ret;
    }
  ret = check_cwd (p->cwd, err);
  if (ret < 0)
    return ret;
  /* v1/hybrid: the parent's cgroup.procs writes overlapped the work above;
   * nothing of the container's may run outside its cgroup. */
  if (x->wait_cgroup)
    {
      ret = ward_runtime_sync_expect (x->sync_fd, EXEC_SYNC_GO, NULL, err);
      if (ret < 0)
        return ret;
    }
  /* Without noNewPrivileges loading a filter needs CAP_SYS_ADMIN, so it
   * comes before the capabilities are dropped (runc's order). */
  if (x->seccomp && !p->no_new_privileges)
    {
      ret = ward_seccomp_load (x->seccomp, x->state_json, NULL, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_process_setup_full (p, x->config->linux_ ? x->config->linux_->personality : NULL, err);
  if (ret < 0)
    return ret;
  {
    _cleanup_free_ char *path = NULL;
    ret = ward_process_find_executable (p, &path, err);
    if (ret < 0)
      return ret;
  }
  if (x->seccomp && p->no_new_privileges)
    {
      ret = ward_seccomp_load (x->seccomp, x->state_json, NULL, err);
      if (ret < 0)
        return ret;
    }
  {
    int keep[] = { x->sync_fd };
    ret = ward_process_close_fds (x->preserve_fds, keep, 1, err);
    if (ret < 0)
      return ret;
  }
  return ward_process_exec (p, err);
}

__attribute__ ((noreturn)) static void child_main (const exec_child_t *x)
{
  _cleanup_error_ ward_error_t *err = NULL;
  sigset_t none;

  /* The parent blocked every signal to forward them; ours are our own. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* A copy of the lock fd would hold the container's lock (flock follows
   * the open file) for as long as we live, e.g. frozen in a paused cgroup. */
  for (size_t i = 0; i < ARRAY_SIZE (x->close_early); i++)
    if (x->close_early[i] >= 0)
      close (x->close_early[i]);
  child_setup (x, &err);
  {
    const char *msg = err && err->msg ? err->msg : "exec failed";
    ward_error_t *ignored = NULL;
    if (ward_runtime_sync_send (x->sync_fd, WARD_SYNC_ERROR, msg, strlen (msg), -1, &ignored) < 0)
      ward_log_error ("%s", msg);
    ward_error_free (&ignored);
    /* Leaving with an unread message (the parent's "go") would make the
     * kernel reset the connection and drop our error: read until the
     * parent, having read it, closes its end. */
    for (;;)
      {
        char buf[64];
        ssize_t n = recv (x->sync_fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EINTR))
          break;
      }
  }
  _exit (255);
}

/* ---- the parent ----------------------------------------------------------- */

static bool same_ns (const char *a, const char *b)
{
  struct stat sa, sb;
  if (stat (a, &sa) < 0 || stat (b, &sb) < 0)
    return true;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Joins the pid namespace of init for our future children only.  *back is
 * an fd of our own pid namespace to return to (threads cannot be created
 * while pid_for_children differs from our own), -1 when nothing changed. */
static int enter_pid_ns_for_children (pid_t init, int pidfd, int *back, ward_error_t **err)
{
  char theirs[64];
  *back = -1;
  snprintf (theirs, sizeof theirs, "/proc/%d/ns/pid", (int) init);
  if (same_ns (theirs, "/proc/self/ns/pid_for_children"))
    return 0;
  *back = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (*back < 0)
    return ward_error_set (err, errno, "open '/proc/self/ns/pid'");
  if (setns (pidfd, CLONE_NEWPID) == 0)
    return 0;
  {
    /* Kernels before 5.8 take only namespace fds. */
    _cleanup_close_ int fd = open (theirs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return ward_error_set (err, errno, "open '%s'", theirs);
    if (setns (fd, CLONE_NEWPID) < 0)
      return ward_error_set (err, errno, "join the pid namespace of %d", (int) init);
  }
  return 0;
}

static int load_config (int dirfd, const ward_runtime_state_t *st, ward_config_t **cfg,
                        ward_error_t **err)
{
  _cleanup_free_ char *path = NULL;
  /* runc reads the bundle's config.json again for the process; fall back to
   * the copy kept in the state dir when the bundle is gone. */
  path = xasprintf ("%s/config.json", st->bundle ? st->bundle : ".");
  if (access (path, F_OK) < 0 && st->config_copy)
    {
      free (path);
      path = xasprintf ("/proc/self/fd/%d/config.json", dirfd);
    }
  return ward_config_load_file (path, cfg, err);
}

static int check_preserved_fds (int n, ward_error_t **err)
{
  for (int i = 0; i < n; i++)
    {
      char path[64];
      struct stat sb;
      snprintf (path, sizeof path, "/proc/self/fd/%d", 3 + i);
      if (stat (path, &sb) < 0)
        return ward_error_set_ret (err, -errno, 0,
                                   "unable to stat preserved-fd %d (of %d): stat %s: no such file or "
                                   "directory",
                                   i, n, path);
    }
  return 0;
}

static int write_pid_file (const char *path, pid_t pid, ward_error_t **err)
{
  _cleanup_free_ char *d = xstrdup (path), *b = xstrdup (path);
  _cleanup_close_ int dfd = open (dirname (d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);

  if (dfd < 0)
    return ward_error_set (err, errno, "open pid file dir of '%s'", path);
  return ward_write_file_atomic (dfd, basename (b), buf, (size_t) n, 0644, err);
}

typedef struct
{
  int rootfd, dirfd, lockfd, init_pidfd, root_fd, sync_fd, child_pidfd, master_fd, pidns_back;
  pid_t child;
  ward_runtime_state_t *st;
  ward_config_t *cfg;
  ward_process_t *proc;
  ward_cgroup_t *cg;
  ward_seccomp_prog_t *seccomp;
  char *state_json;
  bool done;
} exec_t;

static void exec_release (exec_t *e)
{
  int *fds[] = { &e->rootfd, &e->dirfd, &e->lockfd, &e->init_pidfd, &e->root_fd,
                 &e->sync_fd, &e->child_pidfd, &e->master_fd, &e->pidns_back };
  if (!e->done && e->child > 0)
    {
      struct pollfd p = { e->child_pidfd, POLLIN, 0 };
      kill (e->child, SIGKILL);
      /* A child in a frozen (v1) cgroup dies only when thawed: do not
       * wait for it forever. */
      if (e->child_pidfd < 0 || poll (&p, 1, 200) > 0)
        while (waitpid (e->child, NULL, 0) < 0 && errno == EINTR)
          ;
    }
  for (size_t i = 0; i < ARRAY_SIZE (fds); i++)
    if (*fds[i] >= 0)
      close (*fds[i]);
  ward_runtime_state_free (e->st);
  if (e->cfg)
    ward_config_free (e->cfg);
  if (e->proc)
    ward_process_free (e->proc);
  if (e->cg)
    ward_cgroup_free (e->cg);
  if (e->seccomp)
    ward_seccomp_prog_free (e->seccomp);
  free (e->state_json);
}

static int open_container (const ward_exec_opts_t *o, exec_t *e, ward_error_t **err)
{
  int ret;
  if (!ward_container_id_valid (o->id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  ret = ward_runtime_root_open (o->root, false, &e->rootfd, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
    }
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_open (e->rootfd, o->id, &e->dirfd, &e->lockfd, err);
  if (ret < 0)
    return ret;
  return ward_runtime_state_read (e->dirfd, &e->st, err);
}

static int prepare_process (const ward_exec_opts_t *o, exec_t *e, ward_error_t **err)
{
  int ret;
  if (o->process_path)
    {
      _cleanup_free_ char *data = NULL;
      size_t len;
      ret = ward_read_file_at (AT_FDCWD, o->process_path, &data, &len, 0, NULL);
      if (ret < 0)
        {
          /* Go's os.Open wording. */
          char msg[128];
          snprintf (msg, sizeof msg, "%s", strerror (-ret));
          msg[0] = (char) tolower ((unsigned char) msg[0]);
          return ward_error_set_ret (err, ret, 0, "open %s: %s", o->process_path, msg);
        }
      ret = ward_process_parse (data, len, &e->proc, err);
      if (ret < 0)
        return ret;
      ret = validate_process (e->proc, err);
      if (ret < 0)
        return ret;
      /* The config still gives seccomp and personality. */
      return load_config (e->dirfd, e->st, &e->cfg, err);
    }
  ret = load_config (e->dirfd, e->st, &e->cfg, err);
  if (ret < 0)
    return ret;
  if (!e->cfg->process)
    return ward_error_set_ret (err, -EINVAL, 0, "process property must not be empty");
  e->proc = TAKE_PTR (e->cfg->process);
  return ward_exec_apply_opts (e->proc, o, err);
}

/* The child's verdict: EOF is a successful execve (the socket is
 * close-on-exec); an error message is its failure. */
static int wait_exec (const ward_exec_opts_t *o, exec_t *e, ward_error_t **err)
{
  _cleanup_close_ int sfd = -1;
  sigset_t set;

  /* Signals are blocked (to be forwarded once the process runs); one that
   * would end us meanwhile ends the exec instead, as it would have before
   * the block. */
  sigfillset (&set);
  sigdelset (&set, SIGCHLD);
  sigdelset (&set, SIGWINCH);
  sigdelset (&set, SIGURG);
  sigdelset (&set, SIGCONT);
  sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;)
    {
      _cleanup_free_ char *data = NULL;
      int type, fd = -1, ret;
      struct pollfd p[2] = { { e->sync_fd, POLLIN, 0 }, { sfd, POLLIN, 0 } };

      if (poll (p, sfd >= 0 ? 2 : 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return ward_error_set (err, errno, "poll exec sync socket");
        }
      if (sfd >= 0 && (p[1].revents & POLLIN) && !(p[0].revents & POLLIN))
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == sizeof si)
            return ward_error_set_ret (err, -EINTR, 0, "interrupted by signal %u before the process started",
                                       si.ssi_signo);
          continue;
        }
      ret = ward_runtime_sync_recv (e->sync_fd, &type, &data, &fd, err);
      if (ret == -EPIPE)
        {
          ward_error_free (err);
          return 0;
        }
      if (ret < 0)
        return ret;
      if (type == WARD_SYNC_ERROR)
        return ward_error_set_ret (err, -EIO, 0, "unable to start container process: %s",
                                   data ? data : "");
      if (type != WARD_SYNC_TERMINAL || fd < 0)
        {
          if (fd >= 0)
            close (fd);
          return ward_error_set_ret (err, -EPROTO, 0, "sync: unexpected message %d", type);
        }
      if (o->console_socket)
        {
          ret = ward_terminal_send_to_socket (o->console_socket, fd, err);
          close (fd);
          if (ret < 0)
            return ret;
        }
      else
        {
          if (e->master_fd >= 0)
            close (e->master_fd);
          e->master_fd = fd;
        }
    }
}

static int do_exec (const ward_exec_opts_t *o, exec_t *e, int *exit_status, ward_error_t **err)
{
  const char *status;
  int sync[2] = { -1, -1 };
  int cgfd = -1, ret;
  _cleanup_free_ ward_cgroup_sub_t *subs = NULL;
  size_t n_subs = 0;
  _cleanup_close_ int sub_cgfd = -1;

  ret = ward_cgroup_parse_subs (o->sub_cgroups, &subs, &n_subs, err);
  if (ret < 0)
    return ret;
  ret = open_container (o, e, err);
  if (ret < 0)
    return ret;
  status = ward_runtime_state_status (e->dirfd, e->st, true);
  if (strcmp (status, "stopped") == 0)
    return ward_error_set_ret (err, -ESRCH, 0, "cannot exec in a stopped container");
  if (strcmp (status, "paused") == 0 && !o->ignore_paused)
    return ward_error_set_ret (err, -EBUSY, 0,
                               "cannot exec in a paused container (use --ignore-paused to override)");
  if (!o->process_path && (!o->args || !o->args[0]))
    return ward_error_set_ret (err, -EINVAL, 0, "process args cannot be empty");
  ret = prepare_process (o, e, err);
  if (ret < 0)
    return ret;
  if (e->proc->terminal && !o->console_socket && o->detach)
    return ward_error_set_ret (err, -EINVAL, 0,
                               "cannot allocate tty if runc will detach without setting console socket");
  if (o->console_socket && (!o->detach || !e->proc->terminal))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "cannot use console socket if runc will not detach or allocate tty");
  if (o->preserve_fds < 0)
    return ward_error_set_ret (err, -EINVAL, 0, "--preserve-fds must not be negative");
  ret = check_preserved_fds (o->preserve_fds, err);
  if (ret < 0)
    return ret;

  e->init_pidfd = ward_runtime_pidfd (e->st, err);
  if (e->init_pidfd < 0)
    return ward_error_set_ret (err, -ESRCH, 0, "cannot exec in a stopped container");
  {
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/root", (int) e->st->pid);
    e->root_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (e->root_fd < 0)
      return ward_error_set (err, errno, "open '%s'", path);
  }
  if (e->st->cgroup)
    {
      ret = ward_cgroup_restore (e->st->cgroup, &e->cg, err);
      if (ret < 0)
        return ret;
      cgfd = ward_cgroup_clone_fd (e->cg);
      if (n_subs)
        {
          ret = ward_cgroup_sub_clone_fd (e->cg, subs, n_subs, &sub_cgfd, err);
          if (ret < 0)
            return ret;
          cgfd = sub_cgfd;
        }
    }
  else if (n_subs)
    return ward_error_set_ret (err, -EINVAL, 0, "--cgroup: the container has no cgroup");
  /* Compiled (or read from the cache) here, where the cache is reachable. */
  if (e->cfg->linux_ && e->cfg->linux_->seccomp)
    {
      ret = ward_seccomp_prepare (e->cfg->linux_->seccomp, NULL, &e->seccomp, err);
      if (ret < 0)
        return ret;
      /* listenerPath is a host path: connect before entering the container. */
      ret = ward_seccomp_prog_connect_listener (e->seccomp, err);
      if (ret < 0)
        return ret;
      e->state_json = ward_runtime_spec_state (e->st, status);
    }
  ret = ward_runtime_sync_pair (sync, err);
  if (ret < 0)
    return ret;
  e->sync_fd = sync[0];

  {
    sigset_t all;
    sigfillset (&all);
    /* A signal that arrives from now on waits to be forwarded. */
    sigprocmask (SIG_BLOCK, &all, NULL);
  }
  ret = enter_pid_ns_for_children (e->st->pid, e->init_pidfd, &e->pidns_back, err);
  if (ret < 0)
    {
      close (sync[1]);
      return ret;
    }
  exec_child_t x = {
    .process = e->proc,
    .config = e->cfg,
    .init_pid = e->st->pid,
    .init_pidfd = e->init_pidfd,
    .root_fd = e->root_fd,
    .sync_fd = sync[1],
    .wait_cgroup = e->cg && cgfd < 0,
    .preserve_fds = o->preserve_fds,
    .seccomp = e->seccomp,
    .state_json = e->state_json,
    .close_early = { e->rootfd, e->dirfd, e->lockfd },
  };
  e->child = ward_runtime_clone3 (0, cgfd, &e->child_pidfd, "exec process", err);
  if (e->child == 0)
    child_main (&x);
  close (sync[1]);
  if (e->pidns_back >= 0 && setns (e->pidns_back, CLONE_NEWPID) < 0)
    ward_warn ("return to our pid namespace: %s", strerror (errno));
  if (e->child < 0)
    return e->child;
  ward_debug ("exec process %d cloned%s", (int) e->child, cgfd >= 0 ? " into its cgroup" : "");
  if (x.wait_cgroup)
    {
      ret = n_subs ? ward_cgroup_enter_sub (e->cg, e->child, subs, n_subs, err)
                   : ward_cgroup_enter (e->cg, e->child, err);
      if (ret < 0)
        return ret;
      /* A child that already failed is gone: its error is read below. */
      ward_error_t *ignored = NULL;
      if (ward_runtime_sync_send (e->sync_fd, EXEC_SYNC_GO, NULL, 0, -1, &ignored) < 0)
        ward_debug ("exec: %s", ignored->msg);
      ward_error_free (&ignored);
    }
  /* The process is cloned and in its cgroup: kill, delete and resume must
   * not wait for us from here on.  With --ignore-paused the process stays
   * frozen until `resume`, which needs this lock (runc's exec holds no
   * cross-process lock at all). */
  close (e->lockfd);
  e->lockfd = -1;
  ret = wait_exec (o, e, err);
  if (ret < 0)
    return ret;
  if (o->pid_file)
    {
      ret = write_pid_file (o->pid_file, e->child, err);
      if (ret < 0)
        return ret;
    }
  if (o->detach)
    {
      e->done = true;
      return 0;
    }
  ret = ward_runtime_wait_forward (e->child, e->child_pidfd, e->master_fd, exit_status, err);
  if (ret < 0)
    return ret;
  e->done = true;
  return 0;
}

int ward_container_exec (const ward_exec_opts_t *opts, int *exit_status, ward_error_t **err)
{
  __attribute__ ((cleanup (exec_release))) exec_t e = {
    .rootfd = -1, .dirfd = -1, .lockfd = -1, .init_pidfd = -1, .root_fd = -1,
    .sync_fd = -1, .child_pidfd = -1, .master_fd = -1, .pidns_back = -1,
  };

  *exit_status = 0;
  return do_exec (opts, &e, exit_status, err);
}
