/* Idmapped bind mounts: the source tree is cloned detached, given the id
 * mapping of a user namespace with MOUNT_ATTR_IDMAP, and moved onto the
 * target.  The user namespace comes from a short-lived helper child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

static int write_map (pid_t pid, const char *file, const ward_id_mapping_t *m, size_t n,
                      ward_error_t **err)
{
  char path[64];
  size_t cap = n * 40 + 1, used = 0;
  _cleanup_free_ char *buf = xmalloc (cap);
  _cleanup_close_ int fd = -1;

  buf[0] = '\0';
  for (size_t i = 0; i < n; i++)
    used += (size_t) snprintf (buf + used, cap - used, "%u %u %u\n", m[i].container_id,
                               m[i].host_id, m[i].size);
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  if (write (fd, buf, used) < 0)
    return ward_error_set (err, errno, "write '%s'", path);
  return 0;
}

int ward_ns_userns_fd_for_maps (const ward_id_mapping_t *uids, size_t nuids,
                                const ward_id_mapping_t *gids, size_t ngids,
                                ward_error_t **err)
{
  int ready[2], hold[2];
  char c;
  pid_t pid;
  int ret = 0, fd = -1;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return ward_error_set (err, errno, "pipe");
  if (pipe2 (hold, O_CLOEXEC) < 0)
    {
      ret = ward_error_set (err, errno, "pipe");
      close (ready[0]);
      close (ready[1]);
      return ret;
    }
  pid = fork ();
  if (pid < 0)
    {
      ret = ward_error_set (err, errno, "fork id-map helper");
      close (ready[0]), close (ready[1]), close (hold[0]), close (hold[1]);
      return ret;
    }
  if (pid == 0)
    {
      /* The helper only exists to own a user namespace until the parent
       * has opened it; it exits when the parent closes the hold pipe. */
      close (ready[0]);
      close (hold[1]);
      c = unshare (CLONE_NEWUSER) == 0 ? 'y' : 'n';
      if (write (ready[1], &c, 1) != 1)
        _exit (1);
      while (read (hold[0], &c, 1) < 0 && errno == EINTR)
        ;
      _exit (0);
    }
  close (ready[1]);
  close (hold[0]);
  if (ward_read_all (ready[0], &c, 1) != 1 || c != 'y')
    ret = ward_error_set (err, EPERM, "create user namespace for an idmapped mount");
  if (ret == 0)
    ret = write_map (pid, "uid_map", uids, nuids, err);
  if (ret == 0)
    ret = write_map (pid, "gid_map", gids, ngids, err);
  if (ret == 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/user", (int) pid);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        ret = ward_error_set (err, errno, "open '%s'", path);
    }
  close (hold[1]);
  close (ready[0]);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return ret < 0 ? ret : fd;
}

static bool wants_idmap (const ward_mount_t *m, const ward_mount_options_t *mo)
{
  return mo->idmap || mo->ridmap || m->uid_mappings_len || m->gid_mappings_len;
}

/* A detached, idmapped clone of src. */
static int idmapped_tree (const ward_config_t *cfg, const char *src, const ward_mount_t *m,
                          const ward_mount_options_t *mo, ward_error_t **err)
{
  const ward_id_mapping_t *uids = m->uid_mappings, *gids = m->gid_mappings;
  size_t nuids = m->uid_mappings_len, ngids = m->gid_mappings_len;
  _cleanup_close_ int tree = -1, userns = -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
  bool rec = (mo->flags & MS_REC) != 0 || mo->ridmap;

  /* Without per-mount mappings, "idmap" maps like the container's user
   * namespace does. */
  if (nuids == 0 && ngids == 0 && cfg && cfg->linux_)
    {
      uids = cfg->linux_->uid_mappings, nuids = cfg->linux_->uid_mappings_len;
      gids = cfg->linux_->gid_mappings, ngids = cfg->linux_->gid_mappings_len;
    }
  if (nuids == 0 || ngids == 0)
    return ward_error_set (err, EINVAL, "idmapped mount of '%s' needs uid and gid mappings", src);
  tree = open_tree (AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
  if (tree < 0)
    return ward_error_set (err, errno, "open_tree '%s'", src);
  userns = ward_ns_userns_fd_for_maps (uids, nuids, gids, ngids, err);
  if (userns < 0)
    return userns;
  attr.userns_fd = (uint64_t) userns;
  if (mount_setattr (tree, "", AT_EMPTY_PATH | (mo->ridmap ? AT_RECURSIVE : 0), &attr, sizeof attr)
      < 0)
    return ward_error_set (err, errno, "idmap mount of '%s'", src);
  return TAKE_FD (tree);
}

int ward_ns_attach_tree (int tree, int target_fd, const char *what, ward_error_t **err)
{
  if (move_mount (tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return ward_error_set (err, errno, "move mount of '%s' into place", what);
  return 0;
}

int ward_ns_mount_idmapped (const ward_config_t *cfg, const char *src, int target_fd,
                            const ward_mount_t *m, const ward_mount_options_t *mo,
                            ward_error_t **err)
{
  _cleanup_close_ int tree = idmapped_tree (cfg, src, m, mo, err);
  if (tree < 0)
    return tree;
  return ward_ns_attach_tree (tree, target_fd, src, err);
}

void ward_ns_close_mount_fds (int *fds, size_t n)
{
  for (size_t i = 0; fds && i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  free (fds);
}

/* Whether the container gets a user namespace of its own: its root may
 * not be able to reach bind sources that the runtime (host root) can. */
static bool creates_userns (const ward_config_t *cfg)
{
  for (size_t i = 0; cfg && cfg->linux_ && i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == WARD_NS_USER && cfg->linux_->namespaces[i].path == NULL)
      return true;
  return false;
}

/* A plain bind source cloned as a detached mount on the host side. */
static int bind_tree (const char *src, const ward_mount_options_t *mo, ward_error_t **err)
{
  int tree = open_tree (AT_FDCWD, src,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((mo->flags & MS_REC) ? AT_RECURSIVE : 0));
  if (tree < 0)
    return ward_error_set (err, errno, "open_tree '%s'", src);
  return tree;
}

int ward_ns_prepare_idmapped_mounts (const ward_config_t *cfg, const char *bundle, int **fds,
                                     ward_error_t **err)
{
  int *out = NULL;
  /* With a new user namespace, every bind source is opened here, as host
   * root: a source the container's root cannot search (a 0700 parent
   * owned by host root) must still work, as it does with runc. */
  bool userns = creates_userns (cfg);

  *fds = NULL;
  for (size_t i = 0; cfg && i < cfg->mounts_len; i++)
    {
      const ward_mount_t *m = &cfg->mounts[i];
      ward_mount_options_t mo;
      _cleanup_free_ char *src = NULL;
      int ret = ward_mount_options_parse (m->options, &mo, err);
      bool bind = (mo.flags & MS_BIND) || (m->type && strcmp (m->type, "bind") == 0);
      bool idmap = ret == 0 && bind && wants_idmap (m, &mo);
      bool want = idmap || (ret == 0 && bind && userns);

      if (ret == 0 && want)
        {
          src = m->source && m->source[0] != '/' && bundle
                    ? xasprintf ("%s/%s", bundle, m->source)
                    : xstrdup (m->source ? m->source : "");
          if (out == NULL)
            {
              out = xmalloc (cfg->mounts_len * sizeof *out);
              for (size_t j = 0; j < cfg->mounts_len; j++)
                out[j] = -1;
            }
          ret = idmap ? idmapped_tree (cfg, src, m, &mo, err) : bind_tree (src, &mo, err);
          if (ret >= 0)
            out[i] = ret;
        }
      ward_mount_options_free (&mo);
      if (ret < 0)
        {
          ward_ns_close_mount_fds (out, cfg->mounts_len);
          return ward_error_wrap (err, "mount \"%s\" to \"%s\"", m->source ? m->source : "",
                                  m->destination ? m->destination : "");
        }
    }
  *fds = out;
  return 0;
}
