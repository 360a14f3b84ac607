/* ward-vm-agent: PID 1 of a ward-vm guest (a static program packed alone
 * into the initramfs).
 *
 * It mounts what a container runtime needs (/proc, /sys, /dev, cgroup2,
 * /run, /tmp), connects to the host over vsock (CID 2, port 1024, see
 * runtime/vm/protocol.h), receives the OCI config, and creates and starts
 * the container with libward's own lifecycle code, the same that
 * `ward-runtime create/start` runs on a host (namespaces, cgroup v2, caps,
 * seccomp, rlimits, user): here the guest is the "host".  stdio of every
 * process is relayed over the control stream; signals, exec, ps and stats
 * requests come the other way.  When the container's process ends the agent
 * reports its status, waits for the host's acknowledgement (vsock may drop
 * the last packet of a guest that reboots at once), deletes the container,
 * syncs and resets the VM. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/runtime.h"
#include "runtime/vm/protocol.h"

#define AGENT_DIR "/run/ward-agent"
#define STATE_ROOT AGENT_DIR "/state"
#define BUNDLE AGENT_DIR "/bundle"
#define MAX_PROCS 32
#define MAX_CONNS 8

struct proc
{
  bool used;
  uint32_t id;       /* 0: the container's process; N: exec session N */
  int conn;          /* index into conns */
  pid_t pid;
  int in_fd;         /* we write the process's stdin here (-1 when closed) */
  int out_fd, err_fd; /* we read its stdout/stderr (a tty: out_fd only) */
  bool tty;
  bool exited;
  int status;        /* exit code or 128+signal */
  struct timespec exited_at;
  bool exit_sent;
};

struct conn
{
  int fd;
  struct ward_vm_proto_parser parser;
};

static struct proc procs[MAX_PROCS];
static struct conn conns[MAX_CONNS];
static char *container_id;
static bool container_created;
static bool exit_acked;
static int console_fd = -1;

static double
elapsed_since (const struct timespec *t)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - t->tv_sec) + (double) (now.tv_nsec - t->tv_nsec) / 1e9;
}

static int
mount_one (const char *src, const char *dst, const char *type, unsigned long flags,
           const char *data, ward_error_t **err)
{
  mkdir (dst, 0755);
  if (mount (src, dst, type, flags, data) < 0 && errno != EBUSY)
    return ward_error_set (err, errno, "mount %s on '%s'", type, dst);
  return 0;
}

/* pivot_root(2) refuses the initramfs ("rootfs") as the old root, and the
 * container's rootfs setup pivots: put a bind mount of it on / first, so
 * the root is an ordinary mount with a parent. */
static int
leave_rootfs (ward_error_t **err)
{
  mkdir ("/.root", 0700);
  if (mount ("/", "/.root", NULL, MS_BIND, NULL) < 0)
    return ward_error_set (err, errno, "bind the initramfs on '/.root'");
  if (chdir ("/.root") < 0 || mount (".", "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0
      || chdir ("/") < 0)
    return ward_error_set (err, errno, "move the initramfs bind mount to '/'");
  return 0;
}

static int
enable_controllers (void)
{
  _cleanup_free_ char *ctrls = NULL;
  ward_error_t *e = NULL;
  if (ward_read_file_at (AT_FDCWD, "/sys/fs/cgroup/cgroup.controllers", &ctrls, NULL, 0, &e) < 0)
    {
      ward_error_free (&e);
      return -1;
    }
  for (char *save = NULL, *c = strtok_r (ctrls, " \n", &save); c; c = strtok_r (NULL, " \n", &save))
    {
      char buf[64];
      int n = snprintf (buf, sizeof buf, "+%s", c);
      if (ward_write_file_at (AT_FDCWD, "/sys/fs/cgroup/cgroup.subtree_control", buf, (size_t) n,
                              &e) < 0)
        {
          ward_debug ("agent: %s", e->msg);
          ward_error_free (&e);
        }
    }
  return 0;
}

static void
loopback_up (void)
{
  _cleanup_close_ int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  if (s >= 0 && ioctl (s, SIOCGIFFLAGS, &ifr) == 0)
    {
      ifr.ifr_flags |= IFF_UP;
      if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
        ward_debug ("agent: lo up: %s", strerror (errno));
    }
}

static int
setup_guest (ward_error_t **err)
{
  int r = leave_rootfs (err);
  if (r < 0)
    return r;
  static const struct
  {
    const char *src, *dst, *type;
    unsigned long flags;
    const char *data;
  } m[] = {
    { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
    { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
    { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
    { "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620" },
    { "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
    { "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
    { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
    { "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
  };
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
    {
      r = mount_one (m[i].src, m[i].dst, m[i].type, m[i].flags, m[i].data, err);
      if (r < 0)
        return r;
    }
  enable_controllers ();
  loopback_up ();
  return 0;
}

static int
vsock_connect_host (ward_error_t **err)
{
  struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
                           .svm_port = WARD_VM_PROTO_PORT };
  int e = 0;
  /* the host listens before the guest boots; retries only cover a vsock
   * driver that is still coming up */
  for (int i = 0; i < 200; i++)
    {
      int fd = socket (AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0)
        return ward_error_set (err, errno, "vsock socket");
      if (connect (fd, (struct sockaddr *) &a, sizeof a) == 0)
        return fd;
      e = errno;
      close (fd);
      usleep (10000);
    }
  return ward_error_set (err, e, "connect to the host on vsock port %u", WARD_VM_PROTO_PORT);
}

static int
vsock_listen (ward_error_t **err)
{
  struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                           .svm_port = WARD_VM_PROTO_PORT };
  _cleanup_close_ int fd = socket (AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || listen (fd, 4) < 0)
    return ward_error_set (err, errno, "listen on vsock port %u", WARD_VM_PROTO_PORT);
  return TAKE_FD (fd);
}

/* ---- the guest bundle ------------------------------------------------- */

static bool
guest_path_exists (const char *p)
{
  struct stat sb;
  return p && stat (p, &sb) == 0;
}

/* The host's config describes the host: paths of namespaces to join,
 * cgroupsPath (maybe systemd's), hooks and bind mounts of host files mean
 * nothing in the guest.  The guest's own network namespace is the one
 * with virtio-net in it, so the container shares it. */
static void
adapt_config (json_object *cfg, const char *rootfs)
{
  json_object *root, *linux_, *nss, *mounts;
  if (!json_object_object_get_ex (cfg, "root", &root) || !json_object_is_type (root, json_type_object))
    {
      root = json_object_new_object ();
      json_object_object_add (cfg, "root", root);
    }
  json_object_object_add (root, "path", json_object_new_string (rootfs));
  json_object_object_del (cfg, "hooks");
  if (json_object_object_get_ex (cfg, "linux", &linux_) && json_object_is_type (linux_, json_type_object))
    {
      json_object_object_del (linux_, "cgroupsPath");
      if (json_object_object_get_ex (linux_, "namespaces", &nss)
          && json_object_is_type (nss, json_type_array))
        {
          json_object *keep = json_object_new_array ();
          for (size_t i = 0; i < json_object_array_length (nss); i++)
            {
              json_object *ns = json_object_array_get_idx (nss, i), *t;
              const char *type = json_object_object_get_ex (ns, "type", &t) ? json_object_get_string (t) : "";
              if (strcmp (type, "network") == 0)
                continue;
              json_object_object_del (ns, "path");
              json_object_array_add (keep, json_object_get (ns));
            }
          json_object_object_add (linux_, "namespaces", keep);
        }
    }
  if (json_object_object_get_ex (cfg, "mounts", &mounts) && json_object_is_type (mounts, json_type_array))
    {
      json_object *keep = json_object_new_array ();
      for (size_t i = 0; i < json_object_array_length (mounts); i++)
        {
          json_object *m = json_object_array_get_idx (mounts, i), *t, *s, *opts;
          const char *type = json_object_object_get_ex (m, "type", &t) ? json_object_get_string (t) : NULL;
          const char *src = json_object_object_get_ex (m, "source", &s) ? json_object_get_string (s) : NULL;
          bool bind = type && strcmp (type, "bind") == 0;
          if (!bind && json_object_object_get_ex (m, "options", &opts)
              && json_object_is_type (opts, json_type_array))
            for (size_t j = 0; j < json_object_array_length (opts); j++)
              {
                const char *o = json_object_get_string (json_object_array_get_idx (opts, j));
                if (o && (strcmp (o, "bind") == 0 || strcmp (o, "rbind") == 0))
                  bind = true;
              }
          if (bind && !guest_path_exists (src))
            {
              ward_warn ("agent: skipping bind mount of host path '%s': not shared with the guest",
                         src ? src : "");
              continue;
            }
          json_object_array_add (keep, json_object_get (m));
        }
      json_object_object_add (cfg, "mounts", keep);
    }
}

static int
prepare_bundle (const struct ward_vm_msg *m, ward_error_t **err)
{
  _cleanup_json_ json_object *msg = json_tokener_parse ((const char *) m->data);
  json_object *cfg, *rootfs, *id, *v;
  if (!msg || !json_object_is_type (msg, json_type_object))
    return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: not a JSON object");
  if (!json_object_object_get_ex (msg, "config", &cfg) || !json_object_is_type (cfg, json_type_object))
    return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: config: expected object");
  if (!json_object_object_get_ex (msg, "id", &id) || !json_object_is_type (id, json_type_string)
      || !ward_container_id_valid (json_object_get_string (id)))
    return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: id: expected a valid container id");
  if (!json_object_object_get_ex (msg, "rootfs", &rootfs) || !json_object_is_type (rootfs, json_type_object)
      || !json_object_object_get_ex (rootfs, "type", &v))
    return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: rootfs.type: missing");
  const char *type = json_object_get_string (v);
  const char *dir;
  if (strcmp (type, "virtiofs") == 0)
    {
      json_object *tag;
      if (!json_object_object_get_ex (rootfs, "tag", &tag) || !json_object_is_type (tag, json_type_string))
        return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: rootfs.tag: expected string");
      dir = AGENT_DIR "/rootfs";
      int r = mount_one (json_object_get_string (tag), dir, "virtiofs", 0, NULL, err);
      if (r < 0)
        return r;
    }
  else if (strcmp (type, "initramfs") == 0)
    dir = "/rootfs";
  else
    return ward_error_set_ret (err, -EINVAL, 0, "CONFIG: rootfs.type: unknown '%s'", type);

  adapt_config (cfg, dir);
  int r = ward_mkdir_p (BUNDLE, 0700, err);
  if (r < 0)
    return r;
  const char *text = json_object_to_json_string_ext (cfg, JSON_C_TO_STRING_PLAIN);
  r = ward_create_file_at (AT_FDCWD, BUNDLE "/config.json", text, strlen (text), 0600, err);
  if (r < 0)
    return r;
  free (container_id);
  container_id = xstrdup (json_object_get_string (id));
  return 0;
}

/* ---- processes -------------------------------------------------------- */

static struct proc *
proc_new (uint32_t id, int conn)
{
  for (int i = 0; i < MAX_PROCS; i++)
    if (!procs[i].used)
      {
        procs[i] = (struct proc) { .used = true, .id = id, .conn = conn, .pid = -1,
                                   .in_fd = -1, .out_fd = -1, .err_fd = -1 };
        return &procs[i];
      }
  return NULL;
}

static void
proc_free (struct proc *p)
{
  /* a tty's master is both in_fd and out_fd */
  if (p->in_fd >= 0 && !(p->tty && p->in_fd == p->out_fd))
    close (p->in_fd);
  if (p->out_fd >= 0)
    close (p->out_fd);
  if (p->err_fd >= 0)
    close (p->err_fd);
  memset (p, 0, sizeof *p);
}

static struct proc *
proc_find (int conn, uint32_t id)
{
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i].used && procs[i].conn == conn && procs[i].id == id)
      return &procs[i];
  return NULL;
}

static int
recv_fd (int sock)
{
  char data[256];
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { data, sizeof data };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf };
  if (recvmsg (sock, &mh, MSG_CMSG_CLOEXEC) < 0)
    return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        int fd;
        memcpy (&fd, CMSG_DATA (c), sizeof fd);
        return fd;
      }
  return -EBADMSG;
}

struct stdio_setup
{
  int saved[3];
  int in[2], out[2], err[2];
  int listen_fd;
  char sock_path[64];
};

/* The container's process inherits fds 0-2 of the runtime that creates it
 * (as with runc), so pipes go there while libward creates it; a tty comes
 * back through a console socket instead. */
static int
stdio_begin (struct stdio_setup *s, bool tty, uint32_t id, ward_error_t **err)
{
  memset (s, 0, sizeof *s);
  for (int i = 0; i < 2; i++)
    s->in[i] = s->out[i] = s->err[i] = -1;
  s->listen_fd = -1;
  if (tty)
    {
      struct sockaddr_un a = { .sun_family = AF_UNIX };
      snprintf (s->sock_path, sizeof s->sock_path, AGENT_DIR "/console-%u.sock", id);
      snprintf (a.sun_path, sizeof a.sun_path, "%s", s->sock_path);
      unlink (s->sock_path);
      s->listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (s->listen_fd < 0 || bind (s->listen_fd, (struct sockaddr *) &a, sizeof a) < 0
          || listen (s->listen_fd, 1) < 0)
        return ward_error_set (err, errno, "console socket '%s'", s->sock_path);
      return 0;
    }
  if (pipe2 (s->in, O_CLOEXEC) < 0 || pipe2 (s->out, O_CLOEXEC) < 0 || pipe2 (s->err, O_CLOEXEC) < 0)
    return ward_error_set (err, errno, "stdio pipes");
  for (int i = 0; i < 3; i++)
    s->saved[i] = fcntl (i, F_DUPFD_CLOEXEC, 3);
  /* dup2 clears O_CLOEXEC on the copies: the process keeps them */
  if (dup2 (s->in[0], 0) < 0 || dup2 (s->out[1], 1) < 0 || dup2 (s->err[1], 2) < 0)
    return ward_error_set (err, errno, "dup2 stdio");
  return 0;
}

static void
stdio_restore (struct stdio_setup *s)
{
  for (int i = 0; i < 3; i++)
    if (s->saved[i] > 0)
      {
        dup2 (s->saved[i], i);
        close (s->saved[i]);
        s->saved[i] = 0;
      }
}

/* After a successful create/exec: hand the parent ends to p. */
static int
stdio_finish (struct stdio_setup *s, struct proc *p, ward_error_t **err)
{
  stdio_restore (s);
  if (s->listen_fd >= 0)
    {
      _cleanup_close_ int c = accept4 (s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      close (s->listen_fd);
      s->listen_fd = -1;
      unlink (s->sock_path);
      int master = c >= 0 ? recv_fd (c) : -errno;
      if (master < 0)
        return ward_error_set (err, -master, "receive the pty master");
      p->tty = true;
      p->in_fd = p->out_fd = master;
      return 0;
    }
  close (s->in[0]);
  close (s->out[1]);
  close (s->err[1]);
  p->in_fd = s->in[1];
  p->out_fd = s->out[0];
  p->err_fd = s->err[0];
  fcntl (p->out_fd, F_SETFL, O_NONBLOCK);
  fcntl (p->err_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

static void
stdio_abort (struct stdio_setup *s)
{
  stdio_restore (s);
  int *fds[] = { &s->in[0], &s->in[1], &s->out[0], &s->out[1], &s->err[0], &s->err[1], &s->listen_fd };
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (*fds[i] >= 0)
      {
        close (*fds[i]);
        *fds[i] = -1;
      }
  if (s->sock_path[0])
    unlink (s->sock_path);
}

static int
container_pid (pid_t *pid, ward_error_t **err)
{
  _cleanup_free_ char *state = NULL;
  int r = ward_container_state_json (STATE_ROOT, container_id, &state, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_object *o = json_tokener_parse (state);
  json_object *v;
  if (!o || !json_object_object_get_ex (o, "pid", &v))
    return ward_error_set_ret (err, -EIO, 0, "state of %s: no pid", container_id);
  *pid = (pid_t) json_object_get_int (v);
  return 0;
}

static bool
config_wants_tty (void)
{
  _cleanup_json_ json_object *c = json_object_from_file (BUNDLE "/config.json");
  json_object *p, *t;
  return c && json_object_object_get_ex (c, "process", &p) && json_object_object_get_ex (p, "terminal", &t)
         && json_object_get_boolean (t);
}

/* CONFIG: the container is created (its init waits on exec.fifo), as
 * `ward-runtime create` leaves it; START runs it. */
static int
create_container (int conn, ward_error_t **err)
{
  struct stdio_setup s;
  struct proc *p = proc_new (0, conn);
  bool tty = config_wants_tty ();
  if (!p)
    return ward_error_set_ret (err, -EBUSY, 0, "too many processes");
  int r = stdio_begin (&s, tty, 0, err);
  if (r == 0)
    {
      ward_create_opts_t o = { .root = STATE_ROOT, .id = container_id, .bundle = BUNDLE,
                               .console_socket = tty ? s.sock_path : NULL };
      r = ward_container_create (&o, err);
      if (r == 0)
        container_created = true;
    }
  if (r == 0)
    r = stdio_finish (&s, p, err);
  if (r < 0)
    {
      stdio_abort (&s);
      proc_free (p);
      return r;
    }
  r = container_pid (&p->pid, err);
  if (r < 0)
    return r;
  char buf[32];
  int n = snprintf (buf, sizeof buf, "{\"pid\":%d}", (int) p->pid);
  return ward_vm_proto_send (conns[conn].fd, WARD_VM_MSG_CREATED, 0, buf, (uint32_t) n, err);
}

static int
start_container (int conn, ward_error_t **err)
{
  struct proc *p = proc_find (conn, 0);
  if (!p || !container_created)
    return ward_error_set_ret (err, -ENOENT, 0, "START before the container was created");
  int r = ward_container_start (STATE_ROOT, container_id, err);
  if (r < 0)
    return r;
  char buf[32];
  int n = snprintf (buf, sizeof buf, "{\"pid\":%d}", (int) p->pid);
  return ward_vm_proto_send (conns[conn].fd, WARD_VM_MSG_STARTED, 0, buf, (uint32_t) n, err);
}

static int
exec_process (int conn, const struct ward_vm_msg *m, ward_error_t **err)
{
  if (!container_created)
    return ward_error_set_ret (err, -ENOENT, 0, "exec: the container is not running");
  ward_process_t *proc = NULL;
  int r = ward_process_parse ((const char *) m->data, m->len, &proc, err);
  if (r < 0)
    return ward_error_wrap (err, "exec: process");
  bool tty = proc->terminal;
  ward_process_free (proc);
  char path[64], pidf[64];
  snprintf (path, sizeof path, AGENT_DIR "/exec-%u.json", m->id);
  snprintf (pidf, sizeof pidf, AGENT_DIR "/exec-%u.pid", m->id);
  r = ward_create_file_at (AT_FDCWD, path, (const char *) m->data, m->len, 0600, err);
  if (r < 0)
    return r;
  struct proc *p = proc_new (m->id, conn);
  if (!p)
    return ward_error_set_ret (err, -EBUSY, 0, "too many processes");
  struct stdio_setup s;
  int st = 0;
  r = stdio_begin (&s, tty, m->id, err);
  if (r == 0)
    {
      ward_exec_opts_t o = { .root = STATE_ROOT, .id = container_id, .process_path = path,
                             .tty = tty, .detach = true, .pid_file = pidf,
                             .console_socket = tty ? s.sock_path : NULL };
      r = ward_container_exec (&o, &st, err);
    }
  unlink (path);
  if (r == 0)
    r = stdio_finish (&s, p, err);
  if (r < 0)
    {
      stdio_abort (&s);
      unlink (pidf);
      proc_free (p);
      return r;
    }
  _cleanup_free_ char *pidtxt = NULL;
  unsigned long long pid = 0;
  if (ward_read_file_at (AT_FDCWD, pidf, &pidtxt, NULL, 64, err) < 0
      || ward_parse_u64 (strtok (pidtxt, "\n"), &pid) < 0)
    {
      unlink (pidf);
      return ward_error_set_ret (err, -EIO, 0, "exec: no pid in '%s'", pidf);
    }
  unlink (pidf);
  p->pid = (pid_t) pid;
  char buf[32];
  int n = snprintf (buf, sizeof buf, "{\"pid\":%d}", (int) p->pid);
  return ward_vm_proto_send (conns[conn].fd, WARD_VM_MSG_STARTED, m->id, buf, (uint32_t) n, err);
}

static void
send_error (int conn, uint32_t id, const char *msg)
{
  ward_error_t *e = NULL;
  if (ward_vm_proto_send (conns[conn].fd, WARD_VM_MSG_ERROR, id, msg, (uint32_t) strlen (msg), &e) < 0)
    {
      ward_warn ("agent: %s", e->msg);
      ward_error_free (&e);
    }
}

static void
conn_close (int c)
{
  if (conns[c].fd >= 0)
    close (conns[c].fd);
  conns[c].fd = -1;
  ward_vm_proto_parser_reset (&conns[c].parser);
  /* exec sessions of a client that went away keep running unattended */
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i].used && procs[i].conn == c && procs[i].id != 0)
      proc_free (&procs[i]);
}

static void
handle_msg (int c, struct ward_vm_msg *m)
{
  _cleanup_error_ ward_error_t *err = NULL;
  struct proc *p = proc_find (c, m->id);
  uint32_t v;
  int r = 0;

  ward_debug ("agent: <- %s id %u (%u bytes)", ward_vm_msg_type_name (m->type), m->id, m->len);
  switch (m->type)
    {
    case WARD_VM_MSG_CONFIG:
      r = container_created ? ward_error_set_ret (&err, -EEXIST, 0, "already created")
                            : prepare_bundle (m, &err);
      if (r == 0)
        r = create_container (c, &err);
      break;
    case WARD_VM_MSG_START:
      /* tests/integration/vm.bats: PID 1 exiting is a real guest kernel
       * panic ("Attempted to kill init"), which the host must survive */
      if (getenv ("wardtestpanic") && getpid () == 1)
        _exit (1);
      r = start_container (c, &err);
      break;
    case WARD_VM_MSG_EXEC:
      r = exec_process (c, m, &err);
      break;
    case WARD_VM_MSG_STDIN:
      if (!p || p->in_fd < 0)
        break;
      if (m->len == 0)
        {
          /* a tty has no EOF of its own: send the EOF character */
          if (p->tty)
            r = ward_write_all (p->in_fd, "\x04", 1) < 0 ? -errno : 0;
          else
            {
              close (p->in_fd);
              p->in_fd = -1;
            }
        }
      else if (ward_write_all (p->in_fd, m->data, m->len) < 0)
        ward_debug ("agent: stdin of %u: %s", m->id, strerror (errno));
      break;
    case WARD_VM_MSG_SIGNAL:
      r = ward_vm_msg_u32 (m, &v, &err);
      if (r == 0 && p && !p->exited && p->pid > 0)
        {
          if (m->id == 0)
            r = ward_container_kill (STATE_ROOT, container_id, (int) v, false, &err);
          else if (kill (p->pid, (int) v) < 0)
            r = ward_error_set (&err, errno, "kill %d", (int) p->pid);
        }
      break;
    case WARD_VM_MSG_RESIZE:
      if (p && p->tty && m->len == 4)
        {
          struct winsize ws = { 0 };
          ws.ws_row = (unsigned short) (m->data[0] | m->data[1] << 8);
          ws.ws_col = (unsigned short) (m->data[2] | m->data[3] << 8);
          ioctl (p->out_fd, TIOCSWINSZ, &ws);
        }
      break;
    case WARD_VM_MSG_EXIT_ACK:
      if (m->id == 0)
        exit_acked = true;
      break;
    case WARD_VM_MSG_PS:
      {
        pid_t *pids = NULL;
        size_t n = 0;
        r = container_created ? ward_container_pids (STATE_ROOT, container_id, &pids, &n, &err)
                              : ward_error_set_ret (&err, -ENOENT, 0, "container not running");
        if (r == 0)
          {
            _cleanup_free_ char *j = ward_container_pids_json (pids, n);
            r = ward_vm_proto_send (conns[c].fd, WARD_VM_MSG_PS_REPLY, m->id, j, (uint32_t) strlen (j), &err);
          }
        free (pids);
      }
      break;
    case WARD_VM_MSG_STATS:
      {
        _cleanup_free_ char *j = NULL;
        r = container_created ? ward_container_stats_json (STATE_ROOT, container_id, &j, &err)
                              : ward_error_set_ret (&err, -ENOENT, 0, "container not running");
        if (r == 0)
          r = ward_vm_proto_send (conns[c].fd, WARD_VM_MSG_STATS_REPLY, m->id, j, (uint32_t) strlen (j), &err);
      }
      break;
    default:
      r = ward_error_set_ret (&err, -EPROTO, 0, "unexpected %s message", ward_vm_msg_type_name (m->type));
    }
  if (r < 0)
    {
      ward_warn ("agent: %s: %s", ward_vm_msg_type_name (m->type), err ? err->msg : "failed");
      send_error (c, m->id, err ? err->msg : "failed");
    }
}

static void
reap (void)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    for (int i = 0; i < MAX_PROCS; i++)
      if (procs[i].used && procs[i].pid == pid && !procs[i].exited)
        {
          procs[i].exited = true;
          procs[i].status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
          clock_gettime (CLOCK_MONOTONIC, &procs[i].exited_at);
          ward_debug ("agent: process %u (pid %d) exited: %d", procs[i].id, (int) pid, procs[i].status);
        }
}

/* Relays what the process wrote; returns false at EOF. */
static bool
pump_output (struct proc *p, int *fd, uint16_t type)
{
  uint8_t buf[WARD_VM_PROTO_CHUNK];
  ssize_t n = read (*fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  ward_error_t *e = NULL;
  if (n <= 0)
    {
      /* EIO: the tty's last holder closed it */
      ward_vm_proto_send (conns[p->conn].fd, type, p->id, NULL, 0, &e);
      ward_error_free (&e);
      close (*fd);
      if (p->tty)
        p->in_fd = -1;
      *fd = -1;
      return false;
    }
  if (ward_vm_proto_send (conns[p->conn].fd, type, p->id, buf, (uint32_t) n, &e) < 0)
    {
      ward_debug ("agent: %s", e->msg);
      ward_error_free (&e);
    }
  return true;
}

/* The EXIT goes after the output: once the process is gone and its pipes
 * are drained (or, when something else holds them open, after 1 s). */
static void
send_exits (void)
{
  for (int i = 0; i < MAX_PROCS; i++)
    {
      struct proc *p = &procs[i];
      if (!p->used || !p->exited || p->exit_sent)
        continue;
      if ((p->out_fd >= 0 || p->err_fd >= 0) && elapsed_since (&p->exited_at) < 1.0)
        continue;
      ward_error_t *e = NULL;
      if (ward_vm_proto_send_u32 (conns[p->conn].fd, WARD_VM_MSG_EXIT, p->id, (uint32_t) p->status, &e) < 0)
        {
          ward_warn ("agent: %s", e->msg);
          ward_error_free (&e);
        }
      p->exit_sent = true;
      clock_gettime (CLOCK_MONOTONIC, &p->exited_at);
      if (p->id != 0)
        proc_free (p);
    }
}

__attribute__ ((noreturn)) static void
finish (int code)
{
  if (container_created)
    {
      ward_error_t *e = NULL;
      if (ward_container_delete (STATE_ROOT, container_id, true, &e) < 0)
        {
          ward_warn ("agent: delete: %s", e->msg);
          ward_error_free (&e);
        }
    }
  sync ();
  if (getpid () == 1)
    {
      /* no ACPI: reboot=k turns this into the i8042 reset the VMM waits for */
      reboot (RB_AUTOBOOT);
      for (;;)
        pause ();
    }
  exit (code);
}

static void
serve (int listen_fd, int sfd)
{
  for (;;)
    {
      struct pollfd pf[2 + MAX_CONNS + 2 * MAX_PROCS];
      struct
      {
        int kind, idx;
      } what[2 + MAX_CONNS + 2 * MAX_PROCS];
      int n = 0;
      pf[n] = (struct pollfd) { .fd = sfd, .events = POLLIN };
      what[n++].kind = 0;
      if (listen_fd >= 0)
        {
          pf[n] = (struct pollfd) { .fd = listen_fd, .events = POLLIN };
          what[n++].kind = 1;
        }
      for (int c = 0; c < MAX_CONNS; c++)
        if (conns[c].fd >= 0)
          {
            pf[n] = (struct pollfd) { .fd = conns[c].fd, .events = POLLIN };
            what[n].kind = 2;
            what[n++].idx = c;
          }
      for (int i = 0; i < MAX_PROCS; i++)
        {
          if (!procs[i].used)
            continue;
          if (procs[i].out_fd >= 0)
            {
              pf[n] = (struct pollfd) { .fd = procs[i].out_fd, .events = POLLIN };
              what[n].kind = 3;
              what[n++].idx = i;
            }
          if (procs[i].err_fd >= 0)
            {
              pf[n] = (struct pollfd) { .fd = procs[i].err_fd, .events = POLLIN };
              what[n].kind = 4;
              what[n++].idx = i;
            }
        }
      struct proc *main_proc = proc_find (0, 0);
      if (main_proc && main_proc->exit_sent && (exit_acked || elapsed_since (&main_proc->exited_at) > 5.0))
        finish (main_proc->status);
      if (conns[0].fd < 0)
        {
          /* the VMM's stream is gone: nobody can see the result */
          ward_warn ("agent: the host closed the control connection");
          if (container_created)
            {
              ward_error_t *e = NULL;
              ward_container_kill (STATE_ROOT, container_id, SIGKILL, true, &e);
              ward_error_free (&e);
            }
          finish (1);
        }
      if (poll (pf, (nfds_t) n, 200) < 0 && errno != EINTR)
        finish (1);
      for (int k = 0; k < n; k++)
        {
          if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          switch (what[k].kind)
            {
            case 0:
              {
                struct signalfd_siginfo si;
                while (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
                  ;
                reap ();
              }
              break;
            case 1:
              {
                int fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
                int c = 1;
                while (c < MAX_CONNS && conns[c].fd >= 0)
                  c++;
                if (fd >= 0 && c < MAX_CONNS)
                  conns[c].fd = fd;
                else if (fd >= 0)
                  close (fd);
              }
              break;
            case 2:
              {
                int c = what[k].idx;
                uint8_t buf[WARD_VM_PROTO_CHUNK];
                ssize_t got = read (conns[c].fd, buf, sizeof buf);
                if (got <= 0)
                  {
                    if (got < 0 && errno == EINTR)
                      break;
                    conn_close (c);
                    break;
                  }
                size_t off = 0;
                while (off < (size_t) got)
                  {
                    struct ward_vm_msg m = { 0 };
                    size_t used;
                    ward_error_t *e = NULL;
                    int r = ward_vm_proto_feed (&conns[c].parser, buf + off, (size_t) got - off, &used, &m, &e);
                    off += used;
                    if (r < 0)
                      {
                        ward_warn ("agent: %s", e->msg);
                        ward_error_free (&e);
                        conn_close (c);
                        break;
                      }
                    if (r == 1)
                      {
                        handle_msg (c, &m);
                        ward_vm_msg_clear (&m);
                        if (conns[c].fd < 0)
                          break;
                      }
                  }
              }
              break;
            case 3:
              if (procs[what[k].idx].used && procs[what[k].idx].out_fd == pf[k].fd)
                pump_output (&procs[what[k].idx], &procs[what[k].idx].out_fd, WARD_VM_MSG_STDOUT);
              break;
            case 4:
              if (procs[what[k].idx].used && procs[what[k].idx].err_fd == pf[k].fd)
                pump_output (&procs[what[k].idx], &procs[what[k].idx].err_fd, WARD_VM_MSG_STDERR);
              break;
            }
        }
      reap ();
      send_exits ();
    }
}

static void
setup_console (void)
{
  console_fd = open ("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (console_fd < 0)
    console_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  /* the kernel may have started us without fds 0-2 */
  for (int i = 0; i < 3; i++)
    if (fcntl (i, F_GETFD) < 0)
      dup2 (console_fd, i);
}

int
main (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  bool pid1 = getpid () == 1;

  for (int i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  if (pid1 && setup_guest (&err) < 0)
    {
      setup_console ();
      dprintf (console_fd, "ward-vm-agent: %s\n", err->msg);
      finish (1);
    }
  setup_console ();
  ward_log_init (console_fd, false, getenv ("warddebug") ? WARD_LOG_DEBUG : WARD_LOG_WARNING);

  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGPIPE);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sigdelset (&mask, SIGPIPE);
  int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  mkdir (AGENT_DIR, 0700);

  int fd = vsock_connect_host (&err);
  if (fd < 0)
    {
      ward_log_error ("agent: %s", err->msg);
      finish (1);
    }
  conns[0].fd = fd;
  char hello[64];
  int n = snprintf (hello, sizeof hello, "{\"version\":%d}", WARD_VM_PROTO_VERSION);
  if (ward_vm_proto_send (fd, WARD_VM_MSG_HELLO, 0, hello, (uint32_t) n, &err) < 0)
    {
      ward_log_error ("agent: %s", err->msg);
      finish (1);
    }
  int listen_fd = vsock_listen (&err);
  if (listen_fd < 0)
    {
      ward_warn ("agent: %s (exec sessions unavailable)", err->msg);
      ward_error_free (&err);
    }
  serve (listen_fd, sfd);
  return 0;
}
