/* ward-vm's host side: the VMM as the container's init (see frontend.h).
 *
 * `ward-vm create` runs the runtime's create path with opts->vm_main set:
 * the init is cloned into the container's namespaces and cgroup as for any
 * container, reports "created", waits on exec.fifo, and after `start` runs
 * vmm_main below instead of exec'ing the process.  state.json's pid is
 * therefore the VMM, so containerd's shim, conmon and `ward-vm kill/delete`
 * treat it like any other container init:
 *
 *  - signals to the VMM (kill, a foreground run forwarding ^C) go to the
 *    guest's process through the agent; SIGKILL just ends the VMM;
 *  - the VMM's exit status is the guest process's;
 *  - a guest that resets, panics or faults without reporting an exit
 *    status ends the container with status 1 and a log line. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/frontend.h"
#include "runtime/vm/protocol.h"
#include "runtime/vm/vm.h"

#ifndef WARD_PKGLIBEXECDIR
#define WARD_PKGLIBEXECDIR "/usr/local/libexec/ward"
#endif
#define KERNEL_CACHE "/var/cache/ward/kernel"
/* What the VMM process itself may use on top of the guest's RAM in the
 * container's memory cgroup (its RSS is about 3 MiB; page tables, vsock
 * and virtio-fs buffers come on top). */
#define VMM_MEM_MARGIN (32ULL << 20)
/* The guest boots in about a second, 25 times slower in the nested
 * test-bed: the agent gets this long to call in. */
#define AGENT_CONNECT_TIMEOUT_MS 60000

struct vm_ctx
{
  char *state_dir;   /* absolute <root>/<id> */
  char *id;
  char *config_json; /* the bundle's config.json text */
  char *rootfs;      /* absolute */
  bool rootfs_readonly;
  char *kernel, *agent;
  bool debug, tty;
  bool virtiofs;
  uint64_t mem;
  unsigned vcpus;
  struct session *session; /* the running VM, from vmm_prepare to vmm_main */
};

/* ---- locating the pieces --------------------------------------------- */

void
ward_vm_frontend_init (void)
{
  if (getenv (WARD_VM_ENV_SELF))
    return;
  _cleanup_free_ char *self = realpath ("/proc/self/exe", NULL);
  if (self)
    setenv (WARD_VM_ENV_SELF, self, 0);
}

static bool
is_file (const char *p)
{
  struct stat sb;
  return p && stat (p, &sb) == 0 && S_ISREG (sb.st_mode);
}

static char *
self_dir (void)
{
  const char *self = getenv (WARD_VM_ENV_SELF);
  if (!self || !strchr (self, '/'))
    return NULL;
  const char *slash = strrchr (self, '/');
  return xstrndup (self, (size_t) (slash - self));
}

int
ward_vm_find_agent (char **path, ward_error_t **err)
{
  const char *env = getenv (WARD_VM_ENV_AGENT);
  if (env)
    {
      if (!is_file (env))
        return ward_error_set (err, ENOENT, "%s='%s'", WARD_VM_ENV_AGENT, env);
      *path = xstrdup (env);
      return 0;
    }
  _cleanup_free_ char *dir = self_dir ();
  if (dir)
    {
      /* uninstalled: the build tree keeps it beside the binaries */
      _cleanup_free_ char *p = xasprintf ("%s/runtime/vm/agent/ward-vm-agent", dir);
      if (is_file (p))
        {
          *path = TAKE_PTR (p);
          return 0;
        }
    }
  if (is_file (WARD_PKGLIBEXECDIR "/ward-vm-agent"))
    {
      *path = xstrdup (WARD_PKGLIBEXECDIR "/ward-vm-agent");
      return 0;
    }
  return ward_error_set (err, ENOENT,
                         "guest agent not found (tried $%s, runtime/vm/agent/ward-vm-agent next to "
                         "the binary, '%s/ward-vm-agent')",
                         WARD_VM_ENV_AGENT, WARD_PKGLIBEXECDIR);
}

int
ward_vm_find_kernel (char **path, ward_error_t **err)
{
  const char *env = getenv (WARD_VM_ENV_KERNEL);
  if (env)
    {
      if (!is_file (env))
        return ward_error_set (err, ENOENT, "%s='%s'", WARD_VM_ENV_KERNEL, env);
      *path = xstrdup (env);
      return 0;
    }
  if (is_file (WARD_PKGLIBEXECDIR "/vmlinux"))
    {
      *path = xstrdup (WARD_PKGLIBEXECDIR "/vmlinux");
      return 0;
    }
  /* runtime/vm/kernel/build.sh's cache: the newest build */
  glob_t g;
  if (glob (KERNEL_CACHE "/*/vmlinux", 0, NULL, &g) == 0)
    {
      const char *best = NULL;
      time_t best_t = 0;
      for (size_t i = 0; i < g.gl_pathc; i++)
        {
          struct stat sb;
          if (stat (g.gl_pathv[i], &sb) == 0 && (!best || sb.st_mtime > best_t))
            {
              best = g.gl_pathv[i];
              best_t = sb.st_mtime;
            }
        }
      if (best)
        *path = xstrdup (best);
      globfree (&g);
      if (*path)
        return 0;
    }
  return ward_error_set (err, ENOENT,
                         "guest kernel not found (tried $%s, '%s/vmlinux', '%s/*/vmlinux'; build "
                         "it with `make vm-kernel` or runtime/vm/kernel/build.sh)",
                         WARD_VM_ENV_KERNEL, WARD_PKGLIBEXECDIR, KERNEL_CACHE);
}

/* ---- setup (in `create`, before the clone) ------------------------------ */

static int vmm_prepare (void *data, ward_error_t **err);
static int vmm_main (void *data);

int
ward_vm_frontend_setup (ward_create_opts_t *opts, bool debug, ward_error_t **err)
{
  struct vm_ctx *c = xzalloc (sizeof *c);
  _cleanup_free_ char *bundle = realpath (opts->bundle ? opts->bundle : ".", NULL);
  _cleanup_free_ char *cfgpath = NULL;
  ward_config_t *cfg = NULL;
  int r;

  c->debug = debug;
  c->id = xstrdup (opts->id);
  if (!bundle)
    r = ward_error_set (err, errno, "bundle '%s'", opts->bundle ? opts->bundle : ".");
  else
    {
      cfgpath = xasprintf ("%s/config.json", bundle);
      r = ward_read_file_at (AT_FDCWD, cfgpath, &c->config_json, NULL, WARD_VM_PROTO_MAX_PAYLOAD - 4096, err);
    }
  if (r == 0)
    r = ward_config_parse (c->config_json, strlen (c->config_json), &cfg, err);
  if (r == 0 && (!cfg->root || !cfg->root->path))
    r = ward_error_set_ret (err, -EINVAL, 0, "root.path: missing");
  if (r == 0)
    {
      c->rootfs = cfg->root->path[0] == '/' ? realpath (cfg->root->path, NULL) : NULL;
      if (cfg->root->path[0] != '/')
        {
          _cleanup_free_ char *p = xasprintf ("%s/%s", bundle, cfg->root->path);
          c->rootfs = realpath (p, NULL);
        }
      if (!c->rootfs)
        r = ward_error_set (err, errno, "invalid rootfs: stat %s", cfg->root->path);
      c->rootfs_readonly = cfg->root->readonly;
      c->tty = cfg->process && cfg->process->terminal;
    }
  /* A microVM has a kernel of its own: joining another container's pid
   * namespace (a pod's shareProcessNamespace) cannot be honoured, so it is
   * refused rather than silently run without the sharing. */
  for (size_t i = 0; r == 0 && cfg->linux_ && i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == WARD_NS_PID && cfg->linux_->namespaces[i].path)
      r = ward_error_set_ret (err, -ENOTSUP, 0,
                              "linux.namespaces[%zu]: joining the pid namespace '%s' of another container "
                              "is not possible: each microVM has its own kernel",
                              i, cfg->linux_->namespaces[i].path);
  if (r == 0)
    r = ward_vm_size_from_resources (cfg->linux_ ? cfg->linux_->resources : NULL,
                                     (unsigned) sysconf (_SC_NPROCESSORS_ONLN), &c->mem,
                                     &c->vcpus, err);
  if (r == 0)
    r = ward_vm_find_kernel (&c->kernel, err);
  if (r == 0)
    r = ward_vm_find_agent (&c->agent, err);
  if (cfg)
    ward_config_free (cfg);
  if (r < 0)
    {
      free (c->id);
      free (c->config_json);
      free (c->rootfs);
      free (c->kernel);
      free (c->agent);
      free (c);
      return ward_error_wrap (err, "ward-vm");
    }
  {
    const char *m = getenv (WARD_VM_ENV_ROOTFS);
    c->virtiofs = !(m && strcmp (m, "initramfs") == 0);
  }
  {
    _cleanup_free_ char *root = realpath (opts->root ? opts->root : WARD_RUNTIME_DEFAULT_ROOT, NULL);
    c->state_dir = xasprintf ("%s/%s", root ? root : (opts->root ? opts->root : WARD_RUNTIME_DEFAULT_ROOT),
                              opts->id);
  }
  ward_debug ("ward-vm: kernel %s, agent %s, %llu MiB, %u vCPUs, rootfs %s over %s", c->kernel,
              c->agent, (unsigned long long) (c->mem >> 20), c->vcpus, c->rootfs,
              c->virtiofs ? "virtio-fs" : "the initramfs");
  opts->vm = true;
  opts->vm_prepare = vmm_prepare;
  opts->vm_main = vmm_main;
  opts->vm_data = c;
  /* the guest's RAM is the VMM's memory: the host cgroup holds the
   * container's limit plus the guest kernel's share and the VMM's own */
  opts->vm_mem_extra = WARD_VM_GUEST_OVERHEAD + VMM_MEM_MARGIN;
  return 0;
}

/* ---- the VMM (in the container init, after `start`) --------------------- */

struct session
{
  struct vm_ctx *c;
  ward_vm_t *vm;
  int listen_fd;
  int done_fd;          /* eventfd: the VM has ended */
  int sig_fd;
  int created_fd;       /* eventfd: the agent answered CONFIG (see create_error) */
  int start_fd;         /* eventfd: `start` came, send START */
  char *create_error;   /* the agent's ERROR for CONFIG, or why there was no answer */
  bool got_exit;
  int status;
  enum ward_vm_exit_reason why;
  int run_ret;
  ward_error_t *run_err;
  pthread_t session_th, run_th;
  int dirfd;
  struct timespec t0;
};

static void
notify (int efd)
{
  uint64_t one = 1;
  if (write (efd, &one, sizeof one) < 0)
    ward_debug ("ward-vm: eventfd: %s", strerror (errno));
}

static void
created_fail (struct session *s, char *msg)
{
  if (!s->create_error)
    s->create_error = msg;
  else
    free (msg);
  notify (s->created_fd);
}

/* Until `start`: a signal that would end a created runc container ends
 * this one too (the guest's init has not run anything yet). */
static bool
wait_for_start (struct session *s)
{
  for (;;)
    {
      struct pollfd pf[3] = { { .fd = s->start_fd, .events = POLLIN },
                              { .fd = s->done_fd, .events = POLLIN },
                              { .fd = s->sig_fd, .events = POLLIN } };
      if (poll (pf, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return false;
        }
      if (pf[0].revents)
        return true;
      if (pf[1].revents)
        {
          ward_log_error ("ward-vm: the guest ended before `start`");
          _exit (1);
        }
      struct signalfd_siginfo si;
      while (read (s->sig_fd, &si, sizeof si) == (ssize_t) sizeof si)
        if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH && si.ssi_signo != SIGPIPE
            && si.ssi_signo != SIGURG && si.ssi_signo != SIGCONT)
          _exit (128 + (int) si.ssi_signo);
    }
}

static double
ms_since (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) (t.tv_sec - t0->tv_sec) * 1e3 + (double) (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* when the VMM (or `ward-vm exec`) began: the debug log's time base */
static struct timespec relay_t0;

static int
send_config (struct session *s, int fd, ward_error_t **err)
{
  _cleanup_json_ json_object *msg = json_object_new_object ();
  json_object *cfg = json_tokener_parse (s->c->config_json);
  if (!cfg)
    return ward_error_set_ret (err, -EINVAL, 0, "config.json: not JSON");
  json_object *rootfs = json_object_new_object ();
  if (s->c->virtiofs)
    {
      json_object_object_add (rootfs, "type", json_object_new_string ("virtiofs"));
      json_object_object_add (rootfs, "tag", json_object_new_string ("rootfs"));
    }
  else
    json_object_object_add (rootfs, "type", json_object_new_string ("initramfs"));
  json_object_object_add (msg, "id", json_object_new_string (s->c->id));
  json_object_object_add (msg, "config", cfg);
  json_object_object_add (msg, "rootfs", rootfs);
  const char *text = json_object_to_json_string_ext (msg, JSON_C_TO_STRING_PLAIN);
  return ward_vm_proto_send (fd, WARD_VM_MSG_CONFIG, 0, text, (uint32_t) strlen (text), err);
}

static int
exit_status_for_error (const char *msg)
{
  /* as a shell reports a command it cannot run */
  if (strstr (msg, "not found") || strstr (msg, "no such file"))
    return 127;
  if (strstr (msg, "permission denied"))
    return 126;
  return 1;
}

static void
send_resize (int fd, uint32_t id)
{
  struct winsize ws;
  if (ioctl (0, TIOCGWINSZ, &ws) < 0)
    return;
  uint8_t b[4] = { (uint8_t) ws.ws_row, (uint8_t) (ws.ws_row >> 8), (uint8_t) ws.ws_col,
                   (uint8_t) (ws.ws_col >> 8) };
  ward_error_t *e = NULL;
  ward_vm_proto_send (fd, WARD_VM_MSG_RESIZE, id, b, 4, &e);
  ward_error_free (&e);
}

/* Relays one session's stdio, signals and exit.  Used by the VMM for the
 * container's process (id 0, the agent's own connection) and by
 * `ward-vm exec`.  Returns when the process's EXIT arrived (and, for the
 * VMM, was acknowledged) or the stream ended. */
static int
relay (int fd, uint32_t id, bool tty, int sig_fd, int done_fd, bool ack, int *status,
       bool *got_exit, ward_error_t **err)
{
  struct ward_vm_proto_parser parser = { 0 };
  bool stdin_open = true;
  uint8_t buf[WARD_VM_PROTO_CHUNK];
  int ret = 0;

  if (tty)
    send_resize (fd, id);
  while (!*got_exit)
    {
      struct pollfd pf[4] = {
        { .fd = fd, .events = POLLIN },
        { .fd = sig_fd, .events = POLLIN },
        { .fd = stdin_open ? 0 : -1, .events = POLLIN },
        { .fd = done_fd, .events = POLLIN },
      };
      if (poll (pf, 4, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          ret = ward_error_set (err, errno, "poll");
          break;
        }
      if (pf[3].revents)
        break;
      if (pf[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sig_fd, &si, sizeof si) == (ssize_t) sizeof si)
            {
              if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGPIPE)
                continue;
              if (si.ssi_signo == SIGWINCH)
                {
                  if (tty)
                    send_resize (fd, id);
                  continue;
                }
              ward_debug ("ward-vm: forwarding signal %u to process %u", si.ssi_signo, id);
              ret = ward_vm_proto_send_u32 (fd, WARD_VM_MSG_SIGNAL, id, si.ssi_signo, err);
              if (ret < 0)
                break;
            }
          if (ret < 0)
            break;
        }
      if (pf[2].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (0, buf, sizeof buf);
          if (n < 0 && (errno == EINTR || errno == EAGAIN))
            ;
          else
            {
              if (n <= 0)
                stdin_open = false;
              ret = ward_vm_proto_send (fd, WARD_VM_MSG_STDIN, id, buf, n > 0 ? (uint32_t) n : 0, err);
              if (ret < 0)
                break;
            }
        }
      if (pf[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t n = read (fd, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            {
              ret = n < 0 ? ward_error_set (err, errno, "read from the guest")
                          : ward_error_set_ret (err, -EPIPE, 0, "the guest closed the connection");
              break;
            }
          size_t off = 0;
          while (off < (size_t) n && ret == 0)
            {
              struct ward_vm_msg m = { 0 };
              size_t used;
              int r = ward_vm_proto_feed (&parser, buf + off, (size_t) n - off, &used, &m, err);
              off += used;
              if (r < 0)
                {
                  ret = r;
                  break;
                }
              if (r == 0)
                continue;
              if (m.id != id)
                ward_debug ("ward-vm: ignoring %s for process %u", ward_vm_msg_type_name (m.type), m.id);
              else
                switch (m.type)
                  {
                  case WARD_VM_MSG_HELLO:
                  case WARD_VM_MSG_STARTED:
                    ward_debug ("ward-vm: %s %s after %.1f ms", ward_vm_msg_type_name (m.type),
                                (char *) m.data, ms_since (&relay_t0));
                    break;
                  case WARD_VM_MSG_STDOUT:
                  case WARD_VM_MSG_STDERR:
                    if (m.len && ward_write_all (m.type == WARD_VM_MSG_STDERR ? 2 : 1, m.data, m.len) < 0)
                      ward_debug ("ward-vm: write %s: %s", ward_vm_msg_type_name (m.type), strerror (errno));
                    break;
                  case WARD_VM_MSG_ERROR:
                    ward_log_error ("%s", (char *) m.data);
                    if (!*got_exit)
                      {
                        *status = exit_status_for_error ((char *) m.data);
                        *got_exit = true;
                      }
                    break;
                  case WARD_VM_MSG_EXIT:
                    {
                      uint32_t v = 0;
                      ret = ward_vm_msg_u32 (&m, &v, err);
                      if (ret == 0)
                        {
                          *status = v > 255 ? 255 : (int) v;
                          *got_exit = true;
                          if (ack)
                            ret = ward_vm_proto_send (fd, WARD_VM_MSG_EXIT_ACK, id, NULL, 0, err);
                        }
                    }
                    break;
                  default:
                    ward_debug ("ward-vm: unexpected %s", ward_vm_msg_type_name (m.type));
                  }
              ward_vm_msg_clear (&m);
            }
          if (ret < 0)
            break;
        }
    }
  ward_vm_proto_parser_reset (&parser);
  return ret;
}

static void *
session_thread (void *arg)
{
  struct session *s = arg;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_close_ int fd = -1;
  struct pollfd pf[2] = { { .fd = s->listen_fd, .events = POLLIN }, { .fd = s->done_fd, .events = POLLIN } };
  int r = poll (pf, 2, AGENT_CONNECT_TIMEOUT_MS);
  if (r <= 0 || !(pf[0].revents & POLLIN))
    {
      created_fail (s, pf[1].revents ? xstrdup ("ward-vm: the guest ended before its agent called in (--debug shows the guest console)")
                                     : xasprintf ("ward-vm: the guest agent did not connect within %d s",
                                                  AGENT_CONNECT_TIMEOUT_MS / 1000));
      ward_vm_stop (s->vm);
      return NULL;
    }
  fd = accept4 (s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  struct ward_vm_msg hello = { 0 };
  if (fd < 0 || ward_vm_proto_recv (fd, &hello, &err) < 0 || hello.type != WARD_VM_MSG_HELLO)
    {
      created_fail (s, xasprintf ("ward-vm: no HELLO from the guest agent: %s", err ? err->msg : strerror (errno)));
      ward_vm_msg_clear (&hello);
      ward_vm_stop (s->vm);
      return NULL;
    }
  ward_debug ("ward-vm: agent HELLO %s after %.1f ms", (char *) hello.data, ms_since (&s->t0));
  ward_vm_msg_clear (&hello);
  if (send_config (s, fd, &err) < 0)
    {
      created_fail (s, xasprintf ("ward-vm: %s", err->msg));
      ward_vm_stop (s->vm);
      return NULL;
    }
  /* the agent creates the container: CREATED, or ERROR with its reason */
  for (;;)
    {
      struct ward_vm_msg m = { 0 };
      struct pollfd p2[2] = { { .fd = fd, .events = POLLIN }, { .fd = s->done_fd, .events = POLLIN } };
      if (poll (p2, 2, -1) < 0 && errno == EINTR)
        continue;
      if (p2[1].revents || ward_vm_proto_recv (fd, &m, &err) < 0)
        {
          created_fail (s, xasprintf ("ward-vm: the guest ended before the container was created%s%s",
                                      err ? ": " : "", err ? err->msg : ""));
          ward_vm_stop (s->vm);
          return NULL;
        }
      if (m.type == WARD_VM_MSG_CREATED)
        {
          ward_debug ("ward-vm: CREATED %s after %.1f ms", (char *) m.data, ms_since (&s->t0));
          ward_vm_msg_clear (&m);
          break;
        }
      if (m.type == WARD_VM_MSG_ERROR)
        {
          s->status = exit_status_for_error ((char *) m.data);
          created_fail (s, xstrdup ((char *) m.data));
          ward_vm_msg_clear (&m);
          ward_vm_stop (s->vm);
          return NULL;
        }
      ward_debug ("ward-vm: before CREATED: %s", ward_vm_msg_type_name (m.type));
      ward_vm_msg_clear (&m);
    }
  notify (s->created_fd);
  if (!wait_for_start (s))
    {
      ward_vm_stop (s->vm);
      return NULL;
    }
  clock_gettime (CLOCK_MONOTONIC, &s->t0);
  relay_t0 = s->t0;
  if (ward_vm_proto_send (fd, WARD_VM_MSG_START, 0, NULL, 0, &err) < 0
      || relay (fd, 0, s->c->tty, s->sig_fd, s->done_fd, true, &s->status, &s->got_exit, &err) < 0)
    {
      if (!s->got_exit)
        ward_log_error ("ward-vm: %s", err ? err->msg : "session failed");
    }
  if (s->got_exit)
    {
      ward_debug ("ward-vm: exit status %d after %.1f ms", s->status, ms_since (&s->t0));
      /* the agent resets the VM after our acknowledgement; bound the wait */
      struct pollfd d = { .fd = s->done_fd, .events = POLLIN };
      if (poll (&d, 1, 10000) == 0)
        {
          ward_warn ("ward-vm: the guest did not reset after the exit; stopping it");
          ward_vm_stop (s->vm);
        }
    }
  else
    ward_vm_stop (s->vm);
  return NULL;
}

/* VmRSS of this process minus what the guest's RAM mapping holds: the
 * VMM's own memory cost (for the benchmark in the README). */
static void
log_memory (uint64_t guest_mem)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/smaps", "re");
  char line[256];
  unsigned long long start, end, rss_kb = 0, guest_rss = 0, total_rss = 0;
  bool in_guest = false;
  while (f && fgets (line, sizeof line, f))
    {
      /* a mapping's first line: "start-end perms ..." */
      if (sscanf (line, "%llx-%llx ", &start, &end) == 2)
        {
          in_guest = end - start >= guest_mem;
          continue;
        }
      if (sscanf (line, "Rss: %llu kB", &rss_kb) == 1)
        {
          total_rss += rss_kb;
          if (in_guest)
            guest_rss += rss_kb;
        }
    }
  ward_debug ("ward-vm: VMM RSS %llu KiB, guest RAM touched %llu KiB, VMM overhead %llu KiB",
              total_rss, guest_rss, total_rss - guest_rss);
}

/* KVM needs no privilege once /dev/kvm is open; the virtio-fs server acts
 * on the rootfs for the guest's root (owners, modes, search).  Everything
 * else goes, from every set, so a guest that escapes into the VMM lands in
 * a container without CAP_SYS_ADMIN & co.  Called before any thread is
 * made: capabilities are per thread and new threads inherit them. */
static int
drop_privileges (ward_error_t **err)
{
  static const cap_value_t keep[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                                      CAP_FOWNER, CAP_FSETID };
  for (int c = 0; c < 64; c++)
    {
      bool k = false;
      for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        k |= keep[i] == c;
      /* EINVAL: past this kernel's last capability */
      if (!k && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return ward_error_set (err, errno, "drop capability %d from the bounding set", c);
    }
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  cap_t caps = cap_init ();
  if (!caps)
    return ward_error_set (err, errno, "cap_init");
  int n = (int) (sizeof keep / sizeof keep[0]);
  int r = cap_set_flag (caps, CAP_EFFECTIVE, n, keep, CAP_SET) < 0
                  || cap_set_flag (caps, CAP_PERMITTED, n, keep, CAP_SET) < 0
                  || cap_set_proc (caps) < 0
              ? -errno
              : 0;
  cap_free (caps);
  if (r < 0)
    return ward_error_set (err, -r, "drop the VMM's capabilities");
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return ward_error_set (err, errno, "no_new_privs");
  return 0;
}

static void *
run_thread (void *arg)
{
  struct session *s = arg;
  s->run_ret = ward_vm_run (s->vm, &s->why, &s->run_err);
  notify (s->done_fd);
  return NULL;
}

static void
session_end (struct session *s)
{
  pthread_join (s->session_th, NULL);
  pthread_join (s->run_th, NULL);
  if (s->c->debug)
    log_memory (s->c->mem);
  ward_vm_destroy (&s->vm);
  unlinkat (s->dirfd, "vsock_1024", 0);
  unlinkat (s->dirfd, "initrd.cpio", 0);
}

/* In `create`, before the init reports "created": boots the guest and has
 * the agent create the container, so a bad process (a missing binary, a
 * mount that fails) fails `create` with the guest's reason, as in runc,
 * and `start` only has to say START. */
static int
vmm_prepare (void *data, ward_error_t **err)
{
  struct vm_ctx *c = data;
  struct session *s = xzalloc (sizeof *s);
  _cleanup_close_ int initrd_fd = -1, root_fd = -1;
  char sock[64], listen_path[80];
  sigset_t mask;

  c->session = s;
  s->c = c;
  s->status = 1;
  s->listen_fd = s->done_fd = s->sig_fd = s->created_fd = s->start_fd = s->dirfd = -1;
  clock_gettime (CLOCK_MONOTONIC, &s->t0);
  relay_t0 = s->t0;
  /* every signal goes through the signalfd (and on to the guest), except
   * SIGRTMIN (the VMM's vCPU kick) and the synchronous faults */
  sigfillset (&mask);
  sigdelset (&mask, SIGRTMIN);
  sigdelset (&mask, SIGSEGV);
  sigdelset (&mask, SIGBUS);
  sigdelset (&mask, SIGFPE);
  sigdelset (&mask, SIGILL);
  sigdelset (&mask, SIGABRT);
  pthread_sigmask (SIG_BLOCK, &mask, NULL);
  s->sig_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  s->done_fd = eventfd (0, EFD_CLOEXEC);
  s->created_fd = eventfd (0, EFD_CLOEXEC);
  s->start_fd = eventfd (0, EFD_CLOEXEC);
  if (s->sig_fd < 0 || s->done_fd < 0 || s->created_fd < 0 || s->start_fd < 0)
    return ward_error_set (err, errno, "ward-vm: signalfd/eventfd");

  s->dirfd = open (c->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0)
    return ward_error_set (err, errno, "ward-vm: open state dir '%s'", c->state_dir);
  /* sun_path is 108 bytes: reach the state dir through its fd */
  snprintf (sock, sizeof sock, "/proc/self/fd/%d/vsock", s->dirfd);
  snprintf (listen_path, sizeof listen_path, "%s_%u", sock, WARD_VM_PROTO_PORT);

  initrd_fd = openat (s->dirfd, "initrd.cpio", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (initrd_fd < 0)
    return ward_error_set (err, errno, "ward-vm: create '%s/initrd.cpio'", c->state_dir);
  int r = ward_vm_write_initramfs (initrd_fd, c->agent, c->virtiofs ? NULL : c->rootfs, err);
  if (r < 0)
    return ward_error_wrap (err, "ward-vm");
  _cleanup_free_ char *initrd_path = xasprintf ("%s/initrd.cpio", c->state_dir);
  ward_debug ("ward-vm: initramfs written after %.1f ms", ms_since (&s->t0));

  {
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf (a.sun_path, sizeof a.sun_path, "%s", listen_path);
    unlink (listen_path);
    s->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind (s->listen_fd, (struct sockaddr *) &a, sizeof a) < 0
        || listen (s->listen_fd, 1) < 0)
      return ward_error_set (err, errno, "ward-vm: listen on '%s/vsock_%u'", c->state_dir,
                             WARD_VM_PROTO_PORT);
  }
  if (c->virtiofs)
    {
      root_fd = open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root_fd < 0)
        return ward_error_set (err, errno, "ward-vm: open rootfs '%s'", c->rootfs);
    }
  /* quiet even with --debug: each byte on the UART is a trapped port write
   * (the boot log alone costs seconds); panics and the agent still print */
  const char *extra = getenv (WARD_VM_ENV_KERNEL_ARGS);
  _cleanup_free_ char *cmdline = xasprintf ("%s%s%s", c->debug ? "quiet warddebug=1" : "quiet",
                                            extra ? " " : "", extra ? extra : "");
  struct ward_vm_config cfg = {
    .kernel_path = c->kernel,
    .initrd_path = initrd_path,
    .cmdline = cmdline,
    .mem_bytes = c->mem,
    .vcpus = c->vcpus,
    .serial_fd = c->debug ? (ward_log_fd () >= 0 ? ward_log_fd () : 2) : -1,
    .console_in_fd = -1,
    .console_out_fd = -1,
    .vsock_path = sock,
    .rng = true,
    .fs_root_fd = c->virtiofs ? root_fd : -1,
    .fs_tag = c->virtiofs ? "rootfs" : NULL,
    .fs_readonly = c->rootfs_readonly,
    .net_tap_fd = -1,
  };
  /* before the VM exists: ward_vm_create already starts device threads */
  r = drop_privileges (err);
  if (r == 0)
    r = ward_vm_create (&cfg, &s->vm, err);
  if (r < 0)
    return ward_error_wrap (err, "ward-vm");
  ward_debug ("ward-vm: VM created after %.1f ms: %s", ms_since (&s->t0), ward_vm_cmdline (s->vm));
  if (pthread_create (&s->run_th, NULL, run_thread, s) != 0)
    {
      ward_vm_destroy (&s->vm);
      return ward_error_set (err, EAGAIN, "ward-vm: start the vCPU thread");
    }
  if (pthread_create (&s->session_th, NULL, session_thread, s) != 0)
    {
      ward_vm_stop (s->vm);
      pthread_join (s->run_th, NULL);
      ward_vm_destroy (&s->vm);
      return ward_error_set (err, EAGAIN, "ward-vm: start the session thread");
    }
  uint64_t v;
  if (read (s->created_fd, &v, sizeof v) < 0)
    ward_debug ("ward-vm: eventfd: %s", strerror (errno));
  if (s->create_error)
    {
      session_end (s);
      return ward_error_set_ret (err, -EIO, 0, "%s", s->create_error);
    }
  return 0;
}

/* After `start`: the guest's process runs; its exit status is ours. */
static int
vmm_main (void *data)
{
  struct vm_ctx *c = data;
  struct session *s = c->session;
  notify (s->start_fd);
  session_end (s);
  if (s->run_ret < 0)
    ward_log_error ("ward-vm: %s", s->run_err ? s->run_err->msg : "run failed");
  if (!s->got_exit)
    {
      ward_log_error ("ward-vm: the guest ended (%s) before the container's process reported an "
                      "exit status (guest panic or agent failure; --debug shows the guest console)",
                      ward_vm_exit_reason_str (s->why));
      return 1;
    }
  return s->status;
}

/* ---- ward-vm exec -------------------------------------------------------- */

/* A session with the agent of container id: the hybrid vsock's
 * "CONNECT 1024" from the host side.  Returns the connected fd. */
static int
agent_connect (const char *root, const char *id, ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/%s", root ? root : WARD_RUNTIME_DEFAULT_ROOT, id);
  _cleanup_close_ int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf (a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/vsock", dirfd);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    return ward_error_set (err, errno, "connect to the VM of %s (is it running?)", id);
  char line[64];
  int n = snprintf (line, sizeof line, "CONNECT %u\n", WARD_VM_PROTO_PORT);
  if (ward_write_all (fd, line, (size_t) n) < 0)
    return ward_error_set (err, errno, "vsock CONNECT");
  size_t got = 0;
  while (got + 1 < sizeof line)
    {
      ssize_t r = read (fd, line + got, 1);
      if (r <= 0)
        return ward_error_set_ret (err, -ECONNREFUSED, 0, "the guest agent of %s refused the session", id);
      if (line[got++] == '\n')
        break;
    }
  line[got] = '\0';
  if (strncmp (line, "OK ", 3) != 0)
    return ward_error_set_ret (err, -EPROTO, 0, "vsock handshake: '%s'", line);
  return TAKE_FD (fd);
}

int
ward_vm_container_pids (const char *root, const char *id, pid_t **pids, size_t *n,
                        ward_error_t **err)
{
  _cleanup_close_ int fd = agent_connect (root, id, err);
  if (fd < 0)
    return fd;
  int r = ward_vm_proto_send (fd, WARD_VM_MSG_PS, 1, NULL, 0, err);
  if (r < 0)
    return r;
  for (;;)
    {
      struct ward_vm_msg m = { 0 };
      r = ward_vm_proto_recv (fd, &m, err);
      if (r < 0)
        return r;
      if (m.type == WARD_VM_MSG_ERROR)
        {
          r = ward_error_set_ret (err, -EIO, 0, "%s", (char *) m.data);
          ward_vm_msg_clear (&m);
          return r;
        }
      if (m.type != WARD_VM_MSG_PS_REPLY)
        {
          ward_vm_msg_clear (&m);
          continue;
        }
      _cleanup_json_ json_object *a = json_tokener_parse ((char *) m.data);
      ward_vm_msg_clear (&m);
      if (!a || !json_object_is_type (a, json_type_array))
        {
          *pids = NULL;
          *n = 0;
          return a ? ward_error_set_ret (err, -EPROTO, 0, "PS_REPLY: expected an array") : 0;
        }
      *n = json_object_array_length (a);
      *pids = xzalloc (sizeof (pid_t) * (*n + 1));
      for (size_t i = 0; i < *n; i++)
        (*pids)[i] = (pid_t) json_object_get_int (json_object_array_get_idx (a, i));
      return 0;
    }
}

int
ward_vm_exec (const char *root, const char *id, const char *process_json, bool tty,
              int *exit_status, ward_error_t **err)
{
  _cleanup_close_ int fd = agent_connect (root, id, err);
  if (fd < 0)
    return fd;
  clock_gettime (CLOCK_MONOTONIC, &relay_t0);
  /* exec session ids only need to be unique per connection */
  const uint32_t sid = 1;
  int r = ward_vm_proto_send (fd, WARD_VM_MSG_EXEC, sid, process_json, (uint32_t) strlen (process_json), err);
  if (r < 0)
    return r;
  sigset_t mask, old;
  sigfillset (&mask);
  sigdelset (&mask, SIGSEGV);
  sigdelset (&mask, SIGBUS);
  sigdelset (&mask, SIGFPE);
  sigdelset (&mask, SIGILL);
  sigdelset (&mask, SIGABRT);
  sigprocmask (SIG_BLOCK, &mask, &old);
  _cleanup_close_ int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  struct termios saved;
  bool raw = tty && isatty (0) && tcgetattr (0, &saved) == 0;
  if (raw)
    {
      struct termios t = saved;
      cfmakeraw (&t);
      tcsetattr (0, TCSANOW, &t);
    }
  bool got_exit = false;
  *exit_status = 1;
  r = relay (fd, sid, tty, sfd, -1, false, exit_status, &got_exit, err);
  if (raw)
    tcsetattr (0, TCSANOW, &saved);
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (r < 0 && !got_exit)
    return ward_error_wrap (err, "exec in the VM of %s", id);
  return 0;
}

int
ward_vm_container_exec (const ward_exec_opts_t *opts, int *exit_status, ward_error_t **err)
{
  _cleanup_free_ char *text = NULL;
  bool tty = opts->tty;
  int r;

  if (opts->detach)
    return ward_error_set_ret (err, -ENOTSUP, 0, "ward-vm: exec --detach is not supported yet");
  if (opts->process_path)
    {
      r = ward_read_file_at (AT_FDCWD, opts->process_path, &text, NULL, WARD_VM_PROTO_MAX_PAYLOAD, err);
      if (r < 0)
        return r;
      ward_process_t *p = NULL;
      r = ward_process_parse (text, strlen (text), &p, err);
      if (r < 0)
        return r;
      tty = p->terminal;
      ward_process_free (p);
    }
  else
    {
      _cleanup_free_ char *state = NULL;
      r = ward_container_state_json (opts->root, opts->id, &state, err);
      if (r < 0)
        return r;
      _cleanup_json_ json_object *st = json_tokener_parse (state);
      json_object *b;
      if (!st || !json_object_object_get_ex (st, "bundle", &b))
        return ward_error_set_ret (err, -EIO, 0, "state of %s: no bundle", opts->id);
      _cleanup_free_ char *path = xasprintf ("%s/config.json", json_object_get_string (b));
      ward_config_t *cfg = NULL;
      r = ward_config_load_file (path, &cfg, err);
      if (r == 0 && !cfg->process)
        r = ward_error_set_ret (err, -EINVAL, 0, "%s: no process", path);
      if (r == 0)
        r = ward_exec_apply_opts (cfg->process, opts, err);
      if (r == 0)
        {
          _cleanup_free_ char *all = ward_config_to_json (cfg);
          _cleanup_json_ json_object *o = json_tokener_parse (all);
          json_object *proc;
          if (o && json_object_object_get_ex (o, "process", &proc))
            text = xstrdup (json_object_to_json_string_ext (proc, JSON_C_TO_STRING_PLAIN));
          else
            r = ward_error_set_ret (err, -EIO, 0, "exec: cannot encode the process");
        }
      if (cfg)
        ward_config_free (cfg);
      if (r < 0)
        return r;
    }
  return ward_vm_exec (opts->root, opts->id, text, tty, exit_status, err);
}
