/* create / start / run, parent side: state dir, cgroup, clone3 of the
 * init, the sync conversation with it, hooks, pid file, state.json. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/namespaces.h"
#include "runtime/process.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Everything a create owns until it succeeds; container_release undoes a
 * half-made container. */
typedef struct
{
  ward_config_t *cfg;
  char *bundle, *rootfs;
  int rootfd, dirfd, lockfd, fifo_fd, sync_fd, pidfd, master_fd;
  int ns_fds[WARD_NS__COUNT];
  ward_cgroup_t *cg;
  ward_seccomp_prog_t *seccomp;
  int *mount_fds; /* idmapped mount clones made on the host side, or NULL */
  int *task_fds;  /* v1 `tasks` files for the init's self-move, or NULL */
  size_t task_fds_len;
  pid_t pid;
  ward_runtime_state_t *st;
  bool state_dir_made, done;
} container_t;

static void container_init_fields (container_t *c)
{
  memset (c, 0, sizeof *c);
  c->rootfd = c->dirfd = c->lockfd = c->fifo_fd = c->sync_fd = c->pidfd = c->master_fd = -1;
  for (int i = 0; i < WARD_NS__COUNT; i++)
    c->ns_fds[i] = -1;
}

static void closefd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

static void container_release (container_t *c)
{
  if (!c->done && c->state_dir_made)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (c->pidfd >= 0)
        {
          syscall (SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
          while (waitpid (c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        }
      if (c->cg && ward_cgroup_destroy (c->cg, &e) < 0)
        ward_warn ("cleanup: %s", e->msg);
      ward_error_free (&e);
      if (ward_runtime_state_remove (c->rootfd, c->st ? c->st->id : "", &e) < 0)
        ward_warn ("cleanup: %s", e->msg);
    }
  closefd (&c->dirfd);
  closefd (&c->lockfd);
  closefd (&c->fifo_fd);
  closefd (&c->sync_fd);
  closefd (&c->pidfd);
  closefd (&c->master_fd);
  closefd (&c->rootfd);
  ward_ns_close_fds (c->ns_fds);
  if (c->cg)
    ward_cgroup_free (c->cg);
  if (c->mount_fds)
    ward_ns_close_mount_fds (c->mount_fds, c->cfg ? c->cfg->mounts_len : 0);
  c->mount_fds = NULL;
  for (size_t i = 0; i < c->task_fds_len; i++)
    closefd (&c->task_fds[i]);
  free (c->task_fds);
  c->task_fds = NULL, c->task_fds_len = 0;
  if (c->cfg)
    ward_config_free (c->cfg);
  if (c->seccomp)
    ward_seccomp_prog_free (c->seccomp);
  c->seccomp = NULL;
  ward_runtime_state_free (c->st);
  free (c->bundle);
  free (c->rootfs);
  c->cg = NULL, c->cfg = NULL, c->st = NULL, c->bundle = c->rootfs = NULL;
}
#define _cleanup_container_ __attribute__ ((cleanup (container_release)))

static int kv_cmp (const void *a, const void *b)
{
  return strcmp (((const ward_kv_t *) a)->key, ((const ward_kv_t *) b)->key);
}

/* runc's checks of a cgroup that already existed: frozen, the init would
 * hang in it for good, so create fails (and leaves that cgroup alone: it is
 * not ours to remove); with processes in it, a warning. */
static int check_cgroup_in_use (container_t *c, ward_error_t **err)
{
  _cleanup_free_ pid_t *pids = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  size_t n = 0;
  int frozen = ward_cgroup_is_frozen (c->cg, err);

  if (frozen < 0)
    return frozen;
  if (frozen)
    {
      ward_cgroup_free (c->cg);
      c->cg = NULL;
      return ward_error_set_ret (err, -EBUSY, 0, "container's cgroup unexpectedly frozen");
    }
  if (ward_cgroup_pids (c->cg, &pids, &n, &e) == 0 && n > 0)
    ward_warn ("container's cgroup is not empty: %zu process(es) found", n);
  return 0;
}

/* Hooks that run before the process starts need the sync round trip. */
static bool has_early_hooks (const ward_hooks_t *h)
{
  return h && (h->prestart_len || h->create_runtime_len || h->create_container_len
               || h->start_container_len);
}

/* runc's default device allowlist (libcontainer/specconv AllowedDevices),
 * appended after the config's own rules: mknod of any device, the standard
 * character devices, ptys and tun. */
static const struct
{
  const char *type;
  int64_t major, minor;
  const char *access;
} default_devices[] = {
  { "c", -1, -1, "m" },  { "b", -1, -1, "m" },  { "c", 1, 3, "rwm" },   { "c", 1, 8, "rwm" },
  { "c", 1, 7, "rwm" },  { "c", 5, 0, "rwm" },  { "c", 1, 5, "rwm" },   { "c", 1, 9, "rwm" },
  { "c", 136, -1, "rwm" }, { "c", 5, 2, "rwm" }, { "c", 10, 200, "rwm" },
};

static void set_rule (ward_device_cgroup_t *r, bool allow, const char *type, int64_t major,
                      int64_t minor, const char *access)
{
  r->allow = allow;
  r->type = (char *) type;
  r->has_major = major >= 0;
  r->major = major;
  r->has_minor = minor >= 0;
  r->minor = minor;
  r->access = (char *) access;
}

/* The resources to apply: the config's, with the device rules completed as
 * runc does.  *rules is the array to free (strings are borrowed). */
static ward_resources_t with_default_devices (const ward_config_t *cfg,
                                              ward_device_cgroup_t **rules)
{
  const ward_resources_t *res = cfg->linux_->resources;
  ward_resources_t out = *res;
  size_t n = res->devices_len;
  ward_device_cgroup_t *r = xzalloc (sizeof *r * (n + ARRAY_SIZE (default_devices) + 1));

  memcpy (r, res->devices, sizeof *r * n);
  /* linux.devices entries get no rule of their own: runc leaves them to
   * resources.devices, so a node the spec does not allow stays denied. */
  for (size_t i = 0; i < ARRAY_SIZE (default_devices); i++)
    set_rule (&r[n++], true, default_devices[i].type, default_devices[i].major,
              default_devices[i].minor, default_devices[i].access);
  out.devices = r;
  out.devices_len = n;
  *rules = r;
  return out;
}

static int write_pid_file (const char *path, pid_t pid, ward_error_t **err)
{
  _cleanup_free_ char *d = xstrdup (path), *b = xstrdup (path);
  _cleanup_close_ int dfd = open (dirname (d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);

  if (dfd < 0)
    return ward_error_set (err, errno, "open pid file dir of '%s'", path);
  /* Written to a temp file and renamed, so a reader never sees it empty. */
  return ward_write_file_atomic (dfd, basename (b), buf, (size_t) n, 0644, err);
}

static int copy_config (int dirfd, const char *bundle, ward_error_t **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/config.json", bundle);
  _cleanup_free_ char *data = NULL;
  size_t len;
  int ret = ward_read_file_at (AT_FDCWD, path, &data, &len, 0, err);
  if (ret < 0)
    return ret;
  return ward_create_file_at (dirfd, "config.json", data, len, 0600, err);
}

/* Validates what runc checks before touching the system. */
static int check_config (const ward_create_opts_t *o, const ward_config_t *cfg, bool for_run,
                         ward_error_t **err)
{
  if (!cfg->process)
    return ward_error_set_ret (err, -EINVAL, 0, "process property must not be empty");
  if (!cfg->root || !cfg->root->path)
    return ward_error_set_ret (err, -EINVAL, 0, "root must be specified");
  if (cfg->process->terminal && !o->console_socket && (!for_run || o->detach))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "cannot allocate tty if runc will detach without setting console socket");
  if (o->console_socket && !cfg->process->terminal)
    return ward_error_set_ret (err, -EINVAL, 0,
                               "cannot use console socket if runc will not detach or allocate tty");
  if (o->preserve_fds < 0)
    return ward_error_set_ret (err, -EINVAL, 0, "--preserve-fds must not be negative");
  return ward_sysctl_validate (cfg, err);
}

static int listen_fds_count (void)
{
  const char *s = getenv ("LISTEN_FDS");
  unsigned long long n;
  if (!s || ward_parse_u64 (s, &n) < 0 || n > 4096)
    return 0;
  return (int) n;
}

static int run_parent_hooks (container_t *c, ward_error_t **err)
{
  const ward_hooks_t *h = c->cfg->hooks;
  _cleanup_free_ char *state = ward_runtime_spec_state (c->st, "creating");
  int ret = 0;

  if (h && h->prestart_len)
    ret = ward_runtime_hooks_run ("prestart", h->prestart, h->prestart_len, state, err);
  if (ret == 0 && h && h->create_runtime_len)
    ret = ward_runtime_hooks_run ("createRuntime", h->create_runtime, h->create_runtime_len,
                                  state, err);
  if (ret < 0)
    {
      ward_error_t *ignored = NULL;
      ward_runtime_sync_send (c->sync_fd, WARD_SYNC_ERROR, "hook failed", 11, -1, &ignored);
      ward_error_free (&ignored);
      return ret;
    }
  return ward_runtime_sync_send (c->sync_fd, WARD_SYNC_HOOKS_DONE, state, strlen (state), -1, err);
}

static bool has_cgroup_mount (const ward_config_t *cfg)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    if (cfg->mounts[i].type && strcmp (cfg->mounts[i].type, "cgroup") == 0)
      return true;
  return false;
}

static int enter_cgroup (container_t *c, bool notify, ward_error_t **err)
{
  ward_error_t *send_err = NULL;
  int ret = ward_cgroup_enter (c->cg, c->pid, err);
  if (ret < 0 || !notify)
    return ret;
  ret = ward_runtime_sync_send (c->sync_fd, WARD_SYNC_CGROUP_DONE, NULL, 0, -1, &send_err);
  /* The init may have failed before it needed the message: its own error
   * is waiting on the socket and says more than EPIPE does. */
  if (ret == -EPIPE || ret == -ECONNRESET)
    {
      ward_error_free (&send_err);
      return 0;
    }
  if (ret < 0 && err && *err == NULL)
    *err = send_err;
  else
    ward_error_free (&send_err);
  return ret;
}

/* The init forked the real one (pid namespace joined or made after setns):
 * reap the intermediate and follow its child from now on. */
static int adopt_forked_init (container_t *c, const char *data, ward_error_t **err)
{
  long long v;
  int fd;

  if (!data || ward_parse_i64 (data, &v) < 0 || v <= 0)
    return ward_error_set_ret (err, -EPROTO, 0, "sync: bad pid message");
  while (waitpid (c->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  fd = (int) syscall (SYS_pidfd_open, (pid_t) v, 0);
  if (fd < 0)
    return ward_error_set (err, errno, "pidfd_open container init %lld", v);
  closefd (&c->pidfd);
  c->pidfd = fd;
  c->pid = (pid_t) v;
  c->st->pid = c->pid;
  if (ward_runtime_proc_start_time (c->pid, &c->st->start_time, NULL) < 0)
    return ward_error_set (err, ESRCH, "read start time of container init %d", (int) c->pid);
  ward_debug ("container init forked as %d", (int) c->pid);
  return 0;
}

/* Turns an error the init sent (or its silent death) into ours. */
static int init_failed (container_t *c, int ret, ward_error_t **err)
{
  if (ret == -EPIPE)
    {
      int status = 0;
      ward_error_free (err);
      if (waitpid (c->pid, &status, 0) == c->pid && WIFSIGNALED (status))
        return ward_error_set_ret (err, -EIO, 0, "container init was killed by signal %d",
                                   WTERMSIG (status));
      return ward_error_set_ret (err, -EIO, 0, "container init exited unexpectedly");
    }
  return ward_error_wrap (err, "unable to start container process");
}

/* Go's filepath.Clean for an absolute path, in place: repeated slashes,
 * "." and ".." elements (".." at the root stays at the root) go. */
static void clean_path (char *path)
{
  char *out = path + 1, *p = path;

  if (path[0] != '/')
    return;
  while (*p)
    {
      size_t l;
      while (*p == '/')
        p++;
      l = strcspn (p, "/");
      if (l == 0 || (l == 1 && p[0] == '.'))
        ;
      else if (l == 2 && p[0] == '.' && p[1] == '.')
        {
          /* drop the last element written */
          while (out > path + 1 && out[-1] != '/')
            out--;
          if (out > path + 1)
            out--;
        }
      else
        {
          if (out > path + 1)
            *out++ = '/';
          memmove (out, p, l);
          out += l;
        }
      p += l;
    }
  *out = '\0';
}

static int do_create (const ward_create_opts_t *o, bool for_run, container_t *c, ward_error_t **err)
{
  _cleanup_free_ char *cfgpath = NULL;
  ward_runtime_init_t in = { 0 };
  int sync[2] = { -1, -1 };
  unsigned long flags, clone_flags;
  bool joins = false, new_userns, cg_entered = false, placed;
  int cgfd, ret, listen = listen_fds_count ();
  struct timespec t0, t1;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (!ward_container_id_valid (o->id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  c->bundle = realpath (o->bundle ? o->bundle : ".", NULL);
  if (!c->bundle)
    {
      int e = errno;
      char msg[128];
      return ward_error_set_ret (err, -e, 0, "chdir %s: %s", o->bundle ? o->bundle : ".",
                                 ward_go_strerror (e, msg, sizeof msg));
    }
  cfgpath = xasprintf ("%s/config.json", c->bundle);
  if (access (cfgpath, F_OK) < 0 && errno == ENOENT)
    return ward_error_set_ret (err, -ENOENT, 0, "JSON specification file config.json not found");
  ret = ward_config_load_file (cfgpath, &c->cfg, err);
  if (ret < 0)
    return ret;
  ret = check_config (o, c->cfg, for_run, err);
  if (ret < 0)
    return ret;
  c->rootfs = c->cfg->root->path[0] == '/' ? xstrdup (c->cfg->root->path)
                                           : xasprintf ("%s/%s", c->bundle, c->cfg->root->path);
  /* "rootfs/", "./rootfs" and "." (the bundle itself) are fine: runc
   * works with the lexically cleaned path (Go's filepath.Clean). */
  clean_path (c->rootfs);
  {
    /* runc refuses a rootfs reached through a symlink (the mounts resolve
     * against it) and reports it with this text. */
    _cleanup_free_ char *real = realpath (c->rootfs, NULL);
    if (!real)
      {
        int e = errno;
        char msg[128];
        return ward_error_set_ret (err, -e, 0, "invalid rootfs: stat %s: %s", c->rootfs,
                                   ward_go_strerror (e, msg, sizeof msg));
      }
    if (strcmp (real, c->rootfs) != 0)
      return ward_error_set_ret (err, -EINVAL, 0, "invalid rootfs: not an absolute path, or a symlink");
  }

  ret = ward_runtime_root_open (o->root, true, &c->rootfd, err);
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_create_dir (c->rootfd, o->id, &c->dirfd, &c->lockfd, err);
  if (ret < 0)
    return ret;
  c->state_dir_made = true;
  c->st = xzalloc (sizeof *c->st);
  c->st->id = xstrdup (o->id);
  c->st->bundle = xstrdup (c->bundle);
  c->st->rootfs = xstrdup (c->rootfs);
  c->st->owner = getuid ();
  c->st->systemd = o->systemd_cgroup;
  c->st->rootless = o->rootless;
  if (c->cfg->annotations_len)
    {
      c->st->annotations = xzalloc (sizeof (ward_kv_t) * c->cfg->annotations_len);
      for (size_t i = 0; i < c->cfg->annotations_len; i++)
        {
          c->st->annotations[i].key = xstrdup (c->cfg->annotations[i].key);
          c->st->annotations[i].value = xstrdup (c->cfg->annotations[i].value);
        }
      c->st->annotations_len = c->cfg->annotations_len;
      /* Go marshals maps with sorted keys; state output does the same. */
      qsort (c->st->annotations, c->st->annotations_len, sizeof (ward_kv_t), kv_cmp);
    }

  if (mkfifoat (c->dirfd, "exec.fifo", 0622) < 0)
    return ward_error_set (err, errno, "mkfifo exec.fifo");
  if (fchmodat (c->dirfd, "exec.fifo", 0622, 0) < 0)
    return ward_error_set (err, errno, "chmod exec.fifo");
  /* Kept as O_PATH: the init reopens it via /proc/self/fd after pivot_root. */
  c->fifo_fd = openat (c->dirfd, "exec.fifo", O_PATH | O_CLOEXEC);
  if (c->fifo_fd < 0)
    return ward_error_set (err, errno, "open exec.fifo");

  ret = ward_ns_open_paths (c->cfg, c->ns_fds, err);
  if (ret < 0)
    return ret;
  for (int i = 0; i < WARD_NS__COUNT; i++)
    joins |= c->ns_fds[i] >= 0;

  {
    ward_cgroup_config_t cc = {
      .id = o->id,
      .cgroups_path = c->cfg->linux_ ? c->cfg->linux_->cgroups_path : NULL,
      .systemd = o->systemd_cgroup,
      .rootless = o->rootless,
      .resources = c->cfg->linux_ ? c->cfg->linux_->resources : NULL,
    };
    _cleanup_free_ ward_device_cgroup_t *rules = NULL;
    ward_resources_t full;
    if (cc.resources && cc.resources->devices_len)
      {
        full = with_default_devices (c->cfg, &rules);
        cc.resources = &full;
      }
    /* ward-vm: the VMM opens /dev/kvm, and holds the guest's RAM on top
     * of the container's limit */
    ward_resources_t vmres;
    ward_memory_t vmmem;
    _cleanup_free_ ward_device_cgroup_t *vmrules = NULL;
    if (o->vm_main && cc.resources)
      {
        vmres = *cc.resources;
        if (vmres.devices_len)
          {
            vmrules = xzalloc (sizeof *vmrules * (vmres.devices_len + 1));
            memcpy (vmrules, vmres.devices, sizeof *vmrules * vmres.devices_len);
            set_rule (&vmrules[vmres.devices_len], true, "c", 10, 232, "rwm");
            vmres.devices = vmrules;
            vmres.devices_len++;
          }
        if (vmres.memory && vmres.memory->has_limit && vmres.memory->limit > 0)
          {
            vmmem = *vmres.memory;
            vmmem.limit += (int64_t) o->vm_mem_extra;
            if (vmmem.has_swap && vmmem.swap > 0)
              vmmem.swap += (int64_t) o->vm_mem_extra;
            vmres.memory = &vmmem;
          }
        cc.resources = &vmres;
      }
    ret = ward_cgroup_create (&cc, &c->cg, err);
    if (ret < 0)
      return ret;
    if (!cc.systemd)
      {
        ret = check_cgroup_in_use (c, err);
        if (ret < 0)
          return ret;
      }
    if (cc.resources)
      {
        ret = ward_cgroup_apply (c->cg, cc.resources, err);
        if (ret < 0)
          return ret;
      }
  }
  /* The init is placed at clone time (v2 and hybrid's unified tree) and
   * moves itself on v1 hierarchies: no cgroup.procs write, whose RCU grace
   * period was most of `create` on a v1/hybrid host. */
  ret = ward_cgroup_prepare_clone (c->cg, &cgfd, &c->task_fds, &c->task_fds_len, err);
  if (ret < 0)
    return ret;
  placed = ret == 1;
  ward_debug ("cgroup %s ready", ward_cgroup_path (c->cg));
  /* Recorded now, so that a create killed from here on leaves enough for
   * `delete` to remove the cgroup. */
  c->st->cgroup = ward_cgroup_save (c->cg);
  c->st->creating = true;
  ret = ward_runtime_state_write (c->dirfd, c->st, err);
  if (ret < 0)
    return ret;

  /* Compiled here, where the BPF cache is reachable; the init inherits it. */
  if (c->cfg->linux_ && c->cfg->linux_->seccomp)
    {
      ret = ward_seccomp_prepare (c->cfg->linux_->seccomp, NULL, &c->seccomp, err);
      if (ret < 0)
        return ret;
      /* listenerPath names a socket in the runtime's mount namespace, not
       * the container's: connect now, the init sends over this socket. */
      ret = ward_seccomp_prog_connect_listener (c->seccomp, err);
      if (ret < 0)
        return ret;
    }

  /* Inside a user namespace the kernel refuses to idmap a host
   * filesystem: idmapped bind mounts are cloned here, on the host side. */
  ret = ward_ns_prepare_idmapped_mounts (c->cfg, c->bundle, &c->mount_fds, err);
  if (ret < 0)
    return ret;

  flags = ward_ns_clone_flags (c->cfg);
  new_userns = (flags & CLONE_NEWUSER) != 0;
  /* Namespaces joined by path must be entered before new ones are made
   * (a new user ns would own them otherwise): the init then unshares. */
  clone_flags = joins ? 0 : flags;
  /* Joining or (after joining) creating a pid namespace takes a second
   * fork in the init: setns/unshare move only its children there. */
  bool fork_init = joins && (c->ns_fds[WARD_NS_PID] >= 0 || (flags & CLONE_NEWPID));
  /* When the parent moves the init (systemd unit not started yet), a cgroup
   * ns and a "cgroup" mount must wait for it: both take the cgroup the init
   * is in at that moment. */
  bool wait_cgroup = !placed && ((flags & CLONE_NEWCGROUP) || has_cgroup_mount (c->cfg));
  /* A cgroup ns made by clone3 would be rooted at our own v1 cgroups: the
   * init unshares it once it has moved itself. */
  if (wait_cgroup || c->task_fds_len)
    clone_flags &= ~(unsigned long) CLONE_NEWCGROUP;

  ret = ward_runtime_sync_pair (sync, err);
  if (ret < 0)
    return ret;
  c->sync_fd = sync[0];

  int close_early[] = { c->rootfd, c->dirfd, c->lockfd, sync[0] };
  in.config = c->cfg;
  in.opts = o;
  in.bundle = c->bundle;
  in.rootfs = c->rootfs;
  in.sync_fd = sync[1];
  in.fifo_fd = c->fifo_fd;
  memcpy (in.ns_fds, c->ns_fds, sizeof in.ns_fds);
  in.unshare_flags = flags & ~clone_flags;
  in.new_userns = new_userns;
  in.wait_cgroup = wait_cgroup;
  in.fork_init = fork_init;
  in.parent_hooks = has_early_hooks (c->cfg->hooks);
  in.want_terminal = c->cfg->process->terminal;
  in.listen_fds = listen;
  in.seccomp = c->seccomp;
  in.mount_fds = c->mount_fds;
  in.close_early = close_early;
  in.close_early_len = ARRAY_SIZE (close_early);
  in.cgroup_task_fds = c->task_fds;
  in.cgroup_task_fds_len = c->task_fds_len;

  c->pid = ward_runtime_clone3 (clone_flags, cgfd, &c->pidfd, "container init", err);
  if (c->pid < 0)
    {
      close (sync[1]);
      return c->pid;
    }
  if (c->pid == 0)
    ward_runtime_init_main (&in);
  close (sync[1]);
  for (size_t i = 0; i < c->task_fds_len; i++)
    closefd (&c->task_fds[i]);
  c->st->pid = c->pid;
  if (ward_runtime_proc_start_time (c->pid, &c->st->start_time, NULL) < 0)
    return ward_error_set (err, ESRCH, "read start time of container init %d", (int) c->pid);
  ward_debug ("cloned container init %d with flags 0x%lx (unshare 0x%lx)%s", (int) c->pid,
              clone_flags, flags & ~clone_flags, placed ? " (placed in its cgroup by itself)" : "");

  /* Otherwise the parent's cgroup.procs writes (an RCU grace period on
   * v1) overlap the init's mounts; a new user ns gets its maps first. */
  if (placed)
    cg_entered = true;
  else if (!new_userns && !fork_init)
    {
      ret = enter_cgroup (c, wait_cgroup, err);
      if (ret < 0)
        return ret;
      cg_entered = true;
    }

  for (;;)
    {
      _cleanup_free_ char *data = NULL;
      int type, fd = -1;
      ret = ward_runtime_sync_recv (c->sync_fd, &type, &data, &fd, err);
      if (ret < 0)
        return init_failed (c, ret, err);
      if (type == WARD_SYNC_READY)
        break;
      switch (type)
        {
        case WARD_SYNC_ERROR:
          ward_error_set_ret (err, -EIO, 0, "%s", data ? data : "");
          return init_failed (c, -EIO, err);
        case WARD_SYNC_WANT_IDMAP:
          ret = ward_ns_write_id_maps (c->pid, c->cfg, err);
          if (ret < 0)
            return ret;
          ret = ward_runtime_sync_send (c->sync_fd, WARD_SYNC_IDMAP_DONE, NULL, 0, -1, err);
          if (ret < 0)
            return ret;
          if (!cg_entered && !fork_init)
            {
              ret = enter_cgroup (c, wait_cgroup, err);
              if (ret < 0)
                return ret;
              cg_entered = true;
            }
          break;
        case WARD_SYNC_PID:
          ret = adopt_forked_init (c, data, err);
          if (ret < 0)
            return ret;
          if (!cg_entered)
            {
              ret = enter_cgroup (c, wait_cgroup, err);
              if (ret < 0)
                return ret;
              cg_entered = true;
            }
          break;
        case WARD_SYNC_RUN_HOOKS:
          ret = run_parent_hooks (c, err);
          if (ret < 0)
            return ret;
          break;
        case WARD_SYNC_TERMINAL:
          if (fd < 0)
            return ward_error_set_ret (err, -EPROTO, 0, "sync: terminal message without fd");
          if (o->console_socket)
            {
              ret = ward_terminal_send_to_socket (o->console_socket, fd, err);
              close (fd);
              if (ret < 0)
                return ret;
            }
          else
            {
              closefd (&c->master_fd);
              c->master_fd = fd;
            }
          break;
        default:
          if (fd >= 0)
            close (fd);
          return ward_error_set_ret (err, -EPROTO, 0, "sync: unexpected message %d", type);
        }
    }
  if (!cg_entered)
    {
      ret = enter_cgroup (c, wait_cgroup, err);
      if (ret < 0)
        return ret;
    }
  ward_debug ("container init %d is ready", (int) c->pid);

  c->st->created = ward_runtime_now_rfc3339 ();
  c->st->creating = false;
  if (c->cfg->hooks && (c->cfg->hooks->poststart_len || c->cfg->hooks->poststop_len))
    {
      ret = copy_config (c->dirfd, c->bundle, err);
      if (ret < 0)
        return ret;
      c->st->config_copy = true;
    }
  ret = ward_runtime_state_write (c->dirfd, c->st, err);
  if (ret < 0)
    return ret;
  if (o->pid_file)
    {
      ret = write_pid_file (o->pid_file, c->pid, err);
      if (ret < 0)
        return ret;
    }
  {
    _cleanup_free_ char *state = ward_runtime_spec_state (c->st, "created");
    ret = ward_runtime_sync_send (c->sync_fd, WARD_SYNC_CREATED, state, strlen (state), -1, err);
    if (ret < 0)
      return init_failed (c, ret, err);
    ret = ward_runtime_sync_expect (c->sync_fd, WARD_SYNC_ACK, NULL, err);
    if (ret < 0)
      return init_failed (c, ret, err);
  }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  ward_debug ("container %s created in %ld us", o->id,
              (long) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
  return 0;
}

int ward_container_create (const ward_create_opts_t *opts, ward_error_t **err)
{
  _cleanup_container_ container_t c;
  int ret;

  container_init_fields (&c);
  ret = do_create (opts, false, &c, err);
  if (ret < 0)
    return ret;
  c.done = true;
  return 0;
}

/* ---- start ------------------------------------------------------------- */

static int load_config_copy (int dirfd, ward_config_t **cfg, ward_error_t **err)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d/config.json", dirfd);
  return ward_config_load_file (path, cfg, err);
}

/* Reads the byte the init writes into exec.fifo: that releases it to exec.
 * The pidfd guards against an init that died meanwhile. */
static int release_init (int dirfd, const ward_runtime_state_t *st, int pidfd, ward_error_t **err)
{
  _cleanup_close_ int fifo = openat (dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  char byte;

  if (fifo < 0)
    return ward_error_set (err, errno, "open exec.fifo");
  for (;;)
    {
      struct pollfd p[2] = { { fifo, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return ward_error_set (err, errno, "poll exec.fifo");
        }
      if (p[0].revents & POLLIN)
        {
          ssize_t n = read (fifo, &byte, 1);
          if (n == 1)
            break;
          if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        }
      if (p[0].revents || p[1].revents)
        return ward_error_set_ret (err, -ESRCH, 0, "cannot start a container that has stopped");
    }
  if (unlinkat (dirfd, "exec.fifo", 0) < 0)
    return ward_error_set (err, errno, "remove exec.fifo");
  return 0;
}

static void run_poststart (int dirfd, ward_runtime_state_t *st, const ward_config_t *cfg)
{
  _cleanup_config_ ward_config_t *own = NULL;
  _cleanup_error_ ward_error_t *err = NULL;

  if (!cfg)
    {
      if (!st->config_copy)
        return;
      if (load_config_copy (dirfd, &own, &err) < 0)
        {
          ward_warn ("poststart hooks: %s", err->msg);
          return;
        }
      cfg = own;
    }
  if (!cfg->hooks || !cfg->hooks->poststart_len)
    return;
  _cleanup_free_ char *state = ward_runtime_spec_state (st, "running");
  /* runtime-spec: a failing poststart hook is only logged. */
  if (ward_runtime_hooks_run ("poststart", cfg->hooks->poststart, cfg->hooks->poststart_len,
                              state, &err) < 0)
    ward_warn ("%s", err->msg);
}

static int start_locked (int dirfd, ward_runtime_state_t *st, const ward_config_t *cfg,
                         ward_error_t **err)
{
  const char *status = ward_runtime_state_status (dirfd, st, true);
  _cleanup_close_ int pidfd = -1;
  int ret;

  if (strcmp (status, "stopped") == 0)
    return ward_error_set_ret (err, -EINVAL, 0, "cannot start a container that has stopped");
  if (strcmp (status, "created") != 0)
    return ward_error_set_ret (err, -EINVAL, 0, "cannot start an already running container");
  pidfd = ward_runtime_pidfd (st, err);
  if (pidfd < 0)
    return pidfd;
  ret = release_init (dirfd, st, pidfd, err);
  if (ret < 0)
    return ret;
  run_poststart (dirfd, st, cfg);
  return 0;
}

int ward_container_start (const char *root, const char *id, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int lockfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  int ret;

  if (!ward_container_id_valid (id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  ret = ward_runtime_root_open (root, false, &rootfd, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
    }
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_open (rootfd, id, &dirfd, &lockfd, err);
  if (ret < 0)
    return ret;
  ret = ward_runtime_state_read (dirfd, &st, err);
  if (ret < 0)
    return ret;
  return start_locked (dirfd, st, NULL, err);
}

/* ---- run --------------------------------------------------------------- */

int ward_container_run (const ward_create_opts_t *opts, int *exit_status, ward_error_t **err)
{
  _cleanup_container_ container_t c;
  int ret;

  *exit_status = 0;
  container_init_fields (&c);
  /* Foreground runs reap everything the container leaves behind, and a
   * signal that arrives while the container is made waits (blocked) to be
   * forwarded instead of killing us and orphaning it.  The init and the
   * hooks reset their mask. */
  if (!opts->detach)
    {
      sigset_t all;
      sigfillset (&all);
      sigprocmask (SIG_BLOCK, &all, NULL);
      prctl (PR_SET_CHILD_SUBREAPER, 1);
    }
  ret = do_create (opts, true, &c, err);
  if (ret < 0)
    return ret;
  ret = start_locked (c.dirfd, c.st, c.cfg, err);
  if (ret < 0)
    return ret;
  ward_debug ("container %s started", opts->id);
  closefd (&c.sync_fd);
  if (opts->detach)
    {
      c.done = true;
      return 0;
    }
  /* kill and delete must not wait for us while the container runs. */
  closefd (&c.lockfd);
  c.done = true;
  ret = ward_runtime_wait_forward (c.pid, c.pidfd, c.master_fd, exit_status, err);
  if (ret < 0)
    return ret;
  c.pid = -1;
  closefd (&c.pidfd);
  if (opts->keep)
    return 0;
  {
    ward_error_t *derr = NULL;
    ret = ward_container_delete (opts->root, opts->id, true, &derr);
    if (ret < 0)
      {
        ward_warn ("delete %s: %s", opts->id, derr->msg);
        ward_error_free (&derr);
      }
  }
  return 0;
}
