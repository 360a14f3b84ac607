/* The container's root filesystem: propagation, config.mounts in order,
 * /dev, pivot_root (or MS_MOVE + chroot), maskedPaths, readonlyPaths and
 * root.readonly.  Every mount target is an fd resolved inside the rootfs and
 * mounted on through /proc/self/fd/N, never a path the kernel would walk
 * again through symlinks the container controls. */
#include <errno.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* Flags that matter when re-mounting a bind: everything but the mount
 * "verbs" (bind, rec, remount, move) and propagation. */
#define REMOUNT_ATTR_FLAGS                                                                 \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME \
   | MS_STRICTATIME | MS_NOSYMFOLLOW | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK            \
   | MS_LAZYTIME | MS_SILENT)

unsigned long ward_ns_locked_flags (int fd)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs (fd, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    f |= MS_RELATIME;
  return f;
}

int ward_ns_remount_bind (int fd, unsigned long flags, const char *what, ward_error_t **err)
{
  char p[WARD_FD_PATH_MAX];
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & REMOUNT_ATTR_FLAGS);

  ward_ns_fd_path (fd, p);
  if (mount (NULL, p, NULL, f, NULL) == 0)
    return 0;
  /* In a user namespace the flags of a mount inherited from a more
   * privileged namespace are locked: keep them (they cannot weaken the
   * request, only the read-only bit is ours to add). */
  if (errno == EPERM)
    {
      unsigned long locked = ward_ns_locked_flags (fd) & ~MS_RDONLY;
      if (mount (NULL, p, NULL, f | locked, NULL) == 0)
        return 0;
    }
  return ward_error_set (err, errno, "remount '%s'", what);
}

static bool path_is (const char *dest, const char *want)
{
  /* Compares ignoring repeated and trailing slashes: "//proc/" is "/proc". */
  const char *a = dest, *b = want;
  for (;;)
    {
      while (*a == '/' && (a[1] == '/' || a[1] == '\0'))
        a++;
      while (*b == '/' && (b[1] == '/' || b[1] == '\0'))
        b++;
      if (*a != *b)
        return false;
      if (*a == '\0')
        return true;
      a++, b++;
    }
}

static bool is_bind (const ward_mount_t *m, const ward_mount_options_t *mo)
{
  return (mo->flags & MS_BIND) || (m->type && strcmp (m->type, "bind") == 0);
}

/* CVE-2019-19921: /proc and /sys (and any proc/sysfs mount) must land on a
 * real directory, never on a symlink the image planted to redirect them.
 * Returns an O_PATH fd of that directory (created when missing); the last
 * component is opened with O_NOFOLLOW, so a symlink swapped in after the
 * check fails the open instead of being followed (CVE-2023-27561). */
static int open_real_dir (int rootfs_fd, const char *dest, ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (dest);
  _cleanup_close_ int pfd = -1;
  size_t len = strlen (copy);
  const char *dir = "/", *name;
  char *slash;
  struct stat st;
  int fd;

  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  slash = strrchr (copy, '/');
  name = slash ? slash + 1 : copy;
  if (slash && slash != copy)
    {
      *slash = '\0';
      dir = copy;
    }
  if (name[0] == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return ward_error_set (err, EINVAL, "mount destination \"%s\" is not a plain path", dest);
  pfd = ward_ns_mkdir_in_root (rootfs_fd, dir, 0755, false, err);
  if (pfd < 0)
    return pfd;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != ENOENT)
        return ward_error_set (err, errno, "stat '%s'", dest);
      if (mkdirat (pfd, name, 0755) < 0 && errno != EEXIST)
        return ward_error_set (err, errno, "mkdir '%s' inside the rootfs", dest);
    }
  else if (!S_ISDIR (st.st_mode))
    /* runc's wording, which scripts and its tests match */
    return ward_error_set_ret (err, -ENOTDIR, 0, "filesystem must be mounted on ordinary directory: \"%s\" is %s",
                               dest, S_ISLNK (st.st_mode) ? "a symlink" : "not a directory");
  fd = openat (pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open mount destination \"%s\" (not a directory?)", dest);
  return fd;
}

/* The destination as the kernel resolved it, relative to the rootfs
 * ("/proc/sys" for a "/foo" that is a symlink to "/proc/sys"). */
static char *resolved_dest (int rootfs_fd, int target_fd)
{
  char rp[WARD_FD_PATH_MAX], tp[WARD_FD_PATH_MAX];
  char root[PATH_MAX], target[PATH_MAX];
  ssize_t rn = readlink (ward_ns_fd_path (rootfs_fd, rp), root, sizeof root - 1);
  ssize_t tn = readlink (ward_ns_fd_path (target_fd, tp), target, sizeof target - 1);
  size_t rl;

  if (rn < 0 || tn < 0)
    return NULL;
  root[rn] = target[tn] = '\0';
  rl = strcmp (root, "/") == 0 ? 0 : (size_t) rn;
  if (strncmp (target, root, rl) != 0 || (target[rl] != '/' && target[rl] != '\0'))
    return NULL;
  return xstrdup (target[rl] ? target + rl : "/");
}

/* CVE-2019-16884 class: nothing may be mounted over /proc but a procfs, and
 * inside /proc only the files lxcfs emulates (runc's list). */
static int check_proc_dest (int rootfs_fd, int target_fd, const ward_mount_t *m, bool bind,
                            const char *src, ward_error_t **err)
{
  static const char *const allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
    "/proc/swaps",   "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
  };
  _cleanup_free_ char *dest = resolved_dest (rootfs_fd, target_fd);

  if (dest == NULL)
    return ward_error_set (err, EXDEV, "resolve destination \"%s\" inside the rootfs",
                           m->destination);
  if (strncmp (dest, "/proc", 5) != 0 || (dest[5] != '/' && dest[5] != '\0'))
    return 0;
  if (dest[5] == '\0')
    {
      struct statfs sf;
      if (!bind && m->type && strcmp (m->type, "proc") == 0)
        return 0;
      if (bind && src && statfs (src, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
        return 0;
      return ward_error_set (err, EPERM, "\"%s\" cannot be mounted because it is not of type proc",
                             dest);
    }
  for (size_t i = 0; i < ARRAY_SIZE (allowed); i++)
    if (strcmp (dest, allowed[i]) == 0)
      return 0;
  return ward_error_set (err, EPERM, "\"%s\" cannot be mounted because it is inside /proc", dest);
}

static char *bind_source (const ward_rootfs_opts_t *opts, const char *src)
{
  if (src == NULL || src[0] == '/' || opts->bundle == NULL)
    return xstrdup (src ? src : "");
  return xasprintf ("%s/%s", opts->bundle, src);
}

static int apply_propagation_and_attrs (int rootfs_fd, const char *dest,
                                        const ward_mount_options_t *mo, ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  char p[WARD_FD_PATH_MAX];

  if (mo->propagation_len == 0 && mo->rec_attr_set == 0 && mo->rec_attr_clr == 0)
    return 0;
  fd = ward_open_in_root (rootfs_fd, dest, O_PATH, err);
  if (fd < 0)
    return fd;
  ward_ns_fd_path (fd, p);
  for (size_t i = 0; i < mo->propagation_len; i++)
    if (mount (NULL, p, NULL, mo->propagation[i], NULL) < 0)
      return ward_error_set (err, errno, "set propagation of '%s'", dest);
  if (mo->rec_attr_set || mo->rec_attr_clr)
    {
      struct mount_attr attr = { .attr_set = mo->rec_attr_set, .attr_clr = mo->rec_attr_clr };
      if (mount_setattr (fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        return ward_error_set (err, errno, "mount_setattr recursive options on '%s'", dest);
    }
  return 0;
}

static int mount_bind (const ward_rootfs_opts_t *opts, int rootfs_fd, const ward_mount_t *m,
                       const ward_mount_options_t *mo, int prepared, int *target_in,
                       ward_error_t **err)
{
  _cleanup_free_ char *src = bind_source (opts, m->source);
  _cleanup_close_ int target = TAKE_FD (*target_in), top = -1;
  char p[WARD_FD_PATH_MAX];
  struct stat st;
  int ret;

  /* A prepared tree was opened on the host side: the source path itself
   * may be out of reach from here (inside a user namespace). */
  if ((prepared >= 0 ? fstat (prepared, &st) : stat (src, &st)) < 0)
    return ward_error_set (err, errno, "stat bind source '%s'", src);
  if (target < 0)
    target = ward_ns_mkdir_in_root (rootfs_fd, m->destination, 0755, !S_ISDIR (st.st_mode), err);
  if (target < 0)
    return target;
  ret = check_proc_dest (rootfs_fd, target, m, true, src, err);
  if (ret < 0)
    return ret;
  if (prepared >= 0)
    ret = ward_ns_attach_tree (prepared, target, src, err);
  else if (mo->idmap || mo->ridmap || m->uid_mappings_len || m->gid_mappings_len)
    ret = ward_ns_mount_idmapped (opts->config, src, target, m, mo, err);
  else
    {
      ret = 0;
      if (mount (src, ward_ns_fd_path (target, p), NULL, MS_BIND | (mo->flags & MS_REC), NULL) < 0)
        ret = ward_error_set (err, errno, "bind '%s'", src);
    }
  if (ret < 0)
    return ret;
  /* A bind mount ignores every flag but MS_REC: the others need a remount
   * of the new mount, which only a fresh lookup of the target reaches. */
  if (mo->flags & REMOUNT_ATTR_FLAGS)
    {
      struct stat tst;
      top = ward_open_in_root (rootfs_fd, m->destination, O_PATH, err);
      if (top < 0)
        return top;
      /* The lookup must land on the bind just made (its root is the
       * source): a path swapped in between would get our flags instead. */
      if (fstat (top, &tst) < 0 || tst.st_dev != st.st_dev || tst.st_ino != st.st_ino)
        return ward_error_set (err, EXDEV, "remount '%s': the target changed during setup",
                               m->destination);
      ret = ward_ns_remount_bind (top, mo->flags, m->destination, err);
      if (ret < 0)
        return ret;
    }
  return apply_propagation_and_attrs (rootfs_fd, m->destination, mo, err);
}

static int mount_sysfs_fallback (int rootfs_fd, int target, const ward_mount_t *m,
                                 const ward_mount_options_t *mo, ward_error_t **err)
{
  char p[WARD_FD_PATH_MAX];
  _cleanup_close_ int top = -1;

  /* A user namespace that does not own a network namespace may not mount
   * sysfs: like runc, show the host's /sys instead, read-only. */
  if (mount ("/sys", ward_ns_fd_path (target, p), NULL, MS_BIND | MS_REC, NULL) < 0)
    return ward_error_set (err, errno, "bind '/sys'");
  top = ward_open_in_root (rootfs_fd, m->destination, O_PATH, err);
  if (top < 0)
    return top;
  return ward_ns_remount_bind (top, mo->flags | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               m->destination, err);
}

static void mount_options_cleanup (ward_mount_options_t *mo)
{
  ward_mount_options_free (mo);
}

static int mount_entry_options (const ward_rootfs_opts_t *opts, int rootfs_fd,
                                const ward_mount_t *m, const ward_mount_options_t *mo,
                                int prepared, bool setup_dev, bool *dev_ro, ward_error_t **err)
{
  _cleanup_close_ int target = -1, below = -1;
  char p[WARD_FD_PATH_MAX];
  const char *type = m->type && m->type[0] ? m->type : NULL;
  unsigned long flags = mo->flags;
  bool copy_ro = false;
  int ret;

  if (path_is (m->destination, "/proc") || path_is (m->destination, "/sys")
      || (type && (strcmp (type, "proc") == 0 || strcmp (type, "sysfs") == 0)))
    {
      target = open_real_dir (rootfs_fd, m->destination, err);
      if (target < 0)
        return target;
    }
  if (is_bind (m, mo))
    return mount_bind (opts, rootfs_fd, m, mo, prepared, &target, err);
  if (type && strcmp (type, "cgroup") == 0)
    return ward_ns_mount_cgroup (opts, rootfs_fd, m, mo, err);

  if (target < 0)
    target = ward_ns_mkdir_in_root (rootfs_fd, m->destination, 0755, false, err);
  if (target < 0)
    return target;
  ret = check_proc_dest (rootfs_fd, target, m, false, NULL, err);
  if (ret < 0)
    return ret;
  /* /dev is filled with devices after it is mounted: mount it writable
   * and make it read-only once the nodes exist (as runc does). */
  if (setup_dev && path_is (m->destination, "/dev") && (flags & MS_RDONLY))
    {
      flags &= ~MS_RDONLY;
      *dev_ro = true;
    }
  ward_ns_fd_path (target, p);
  /* tmpcopyup: keep a handle on the directory about to be hidden. */
  if (mo->tmpcopyup && type && strcmp (type, "tmpfs") == 0)
    {
      below = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (below < 0)
        return ward_error_set (err, errno, "open '%s' for tmpcopyup", m->destination);
      /* Filled while writable, made read-only after the copy. */
      copy_ro = (flags & MS_RDONLY) != 0;
      flags &= ~MS_RDONLY;
    }
  if (mount (m->source && m->source[0] ? m->source : (type ? type : "none"), p, type, flags,
             mo->data)
      < 0)
    {
      if (errno == EPERM && type && strcmp (type, "sysfs") == 0)
        ret = mount_sysfs_fallback (rootfs_fd, target, m, mo, err);
      else
        ret = ward_error_set (err, errno, "mount");
      if (ret < 0)
        return ret;
    }
  if (below >= 0)
    {
      _cleanup_close_ int top = ward_open_in_root (rootfs_fd, m->destination,
                                                   O_RDONLY | O_DIRECTORY, err);
      if (top < 0)
        return top;
      ret = ward_ns_copy_up (below, top, err);
      if (ret == 0 && copy_ro)
        ret = ward_ns_remount_bind (top, flags | MS_RDONLY, m->destination, err);
      if (ret < 0)
        return ret;
    }
  return apply_propagation_and_attrs (rootfs_fd, m->destination, mo, err);
}

static int mount_entry (const ward_rootfs_opts_t *opts, int rootfs_fd, size_t index,
                        bool setup_dev, bool *dev_ro, ward_error_t **err)
{
  const ward_mount_t *m = &opts->config->mounts[index];
  int prepared = opts->mount_fds ? opts->mount_fds[index] : -1;
  __attribute__ ((cleanup (mount_options_cleanup))) ward_mount_options_t mo = { 0 };
  const char *what = m->source && m->source[0] ? m->source : (m->type ? m->type : "none");
  int ret;

  if (m->destination == NULL || m->destination[0] == '\0')
    return ward_error_set (err, EINVAL, "mount \"%s\": destination is empty", what);
  ret = ward_mount_options_parse (m->options, &mo, err);
  if (ret == 0)
    ret = mount_entry_options (opts, rootfs_fd, m, &mo, prepared, setup_dev, dev_ro, err);
  if (ret < 0)
    return ward_error_wrap (err, "mount \"%s\" to \"%s\"", what, m->destination);
  return 0;
}

/* pivot_root(2) refuses a new root whose parent mount is shared.  The new
 * root is a bind stacked on whatever mount holds the rootfs path (the
 * image's own mount when the rootfs is a mount point), so that mount is
 * made private when it is shared (runc does the same). */
static int make_parent_private (const char *rootfs, ward_error_t **err)
{
  ward_mountinfo_t *mi = NULL;
  size_t n = 0, best = SIZE_MAX, best_len = 0;
  int ret = ward_ns_mountinfo_read (&mi, &n, err);

  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n; i++)
    {
      size_t l = strlen (mi[i].mountpoint);
      bool prefix = strcmp (mi[i].mountpoint, "/") == 0
                    || (strncmp (rootfs, mi[i].mountpoint, l) == 0
                        && (rootfs[l] == '/' || rootfs[l] == '\0'));
      /* The last matching entry wins: it is the one on top. */
      if (prefix && l >= best_len)
        best = i, best_len = l;
    }
  if (best != SIZE_MAX && strstr (mi[best].optional, "shared:")
      && mount (NULL, mi[best].mountpoint, NULL, MS_PRIVATE, NULL) < 0)
    ret = ward_error_set (err, errno, "make '%s' private", mi[best].mountpoint);
  ward_ns_mountinfo_free (mi, n);
  return ret;
}

static int do_pivot (int rootfs_fd, ward_error_t **err)
{
  _cleanup_close_ int oldroot = open ("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int newroot = openat (rootfs_fd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

  if (oldroot < 0)
    return ward_error_set (err, errno, "open '/'");
  if (newroot < 0)
    return ward_error_set (err, errno, "open rootfs");
  if (fchdir (newroot) < 0)
    return ward_error_set (err, errno, "chdir to rootfs");
  /* pivot_root(".", ".") stacks the old root on top of the new one, so no
   * put_old directory has to exist inside the image. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return ward_error_set (err, errno, "pivot_root");
  if (fchdir (oldroot) < 0)
    return ward_error_set (err, errno, "chdir to old root");
  /* Make the old root a slave before detaching it so the unmount cannot
   * propagate back to the host's mounts. */
  if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return ward_error_set (err, errno, "make old root rslave");
  if (umount2 (".", MNT_DETACH) < 0)
    return ward_error_set (err, errno, "unmount old root");
  if (chdir ("/") < 0)
    return ward_error_set (err, errno, "chdir '/'");
  return 0;
}

/* --no-pivot leaves the host's mounts in the namespace, only hidden by the
 * chroot.  A procfs or sysfs there would still count as "fully visible"
 * for the kernel's mount checks and be reachable through leaked fds, so,
 * like runc, they are detached (or covered by a tmpfs) first. */
static void hide_host_proc_sys (const char *rootfs)
{
  ward_mountinfo_t *mi = NULL;
  size_t n = 0, rl = strlen (rootfs);
  ward_error_t *ignored = NULL;

  if (ward_ns_mountinfo_read (&mi, &n, &ignored) < 0)
    {
      ward_warn ("--no-pivot: cannot read mountinfo: %s", ignored->msg);
      ward_error_free (&ignored);
      return;
    }
  for (size_t i = 0; i < n; i++)
    {
      const char *mp = mi[i].mountpoint;
      if (strcmp (mi[i].fstype, "proc") != 0 && strcmp (mi[i].fstype, "sysfs") != 0)
        continue;
      if (strncmp (mp, rootfs, rl) == 0 && (mp[rl] == '/' || mp[rl] == '\0'))
        continue;
      if (umount2 (mp, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
        continue;
      if (mount ("tmpfs", mp, "tmpfs", MS_RDONLY, "size=0") < 0)
        ward_warn ("--no-pivot: cannot hide '%s': %s", mp, strerror (errno));
    }
  ward_ns_mountinfo_free (mi, n);
}

static int do_move_root (const char *rootfs, int rootfs_fd, ward_error_t **err)
{
  hide_host_proc_sys (rootfs);
  if (fchdir (rootfs_fd) < 0)
    return ward_error_set (err, errno, "chdir to rootfs");
  if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
    return ward_error_set (err, errno, "move rootfs to '/'");
  if (chroot (".") < 0)
    return ward_error_set (err, errno, "chroot");
  if (chdir ("/") < 0)
    return ward_error_set (err, errno, "chdir '/'");
  return 0;
}

static int open_dev_null (int root_fd, ward_error_t **err)
{
  struct stat st;
  int fd = ward_open_in_root (root_fd, "/dev/null", O_PATH, err);
  if (fd < 0)
    return fd;
  /* CVE-2025-31133: a /dev/null swapped for a symlink or a regular file
   * would turn masking into bind-mounting something else. */
  if (fstat (fd, &st) < 0 || !S_ISCHR (st.st_mode) || st.st_rdev != makedev (1, 3))
    {
      close (fd);
      return ward_error_set (err, EPERM, "'/dev/null' is not the null device");
    }
  return fd;
}

static int mask_paths (int root_fd, char *const *paths, size_t n, ward_error_t **err)
{
  _cleanup_close_ int null_fd = -1;

  for (size_t i = 0; i < n && paths && paths[i]; i++)
    {
      _cleanup_close_ int fd = ward_open_in_root (root_fd, paths[i], O_PATH, NULL);
      char p[WARD_FD_PATH_MAX], np[WARD_FD_PATH_MAX];
      struct stat st;

      if (fd < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          return ward_error_set (err, errno, "mask path '%s'", paths[i]);
        }
      if (fstat (fd, &st) < 0)
        return ward_error_set (err, errno, "stat masked path '%s'", paths[i]);
      ward_ns_fd_path (fd, p);
      if (S_ISDIR (st.st_mode))
        {
          if (mount ("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
            return ward_error_set (err, errno, "mask path '%s' with a tmpfs", paths[i]);
          continue;
        }
      if (null_fd < 0)
        {
          null_fd = open_dev_null (root_fd, err);
          if (null_fd < 0)
            return ward_error_wrap (err, "mask path '%s'", paths[i]);
        }
      if (mount (ward_ns_fd_path (null_fd, np), p, NULL, MS_BIND, NULL) < 0)
        return ward_error_set (err, errno, "mask path '%s' with /dev/null", paths[i]);
    }
  return 0;
}

static int readonly_paths (int root_fd, char *const *paths, size_t n, ward_error_t **err)
{
  for (size_t i = 0; i < n && paths && paths[i]; i++)
    {
      _cleanup_close_ int fd = ward_open_in_root (root_fd, paths[i], O_PATH, NULL);
      _cleanup_close_ int top = -1;
      char p[WARD_FD_PATH_MAX];
      int ret;

      if (fd < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR)
            continue;
          return ward_error_set (err, errno, "readonly path '%s'", paths[i]);
        }
      ward_ns_fd_path (fd, p);
      if (mount (p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
        return ward_error_set (err, errno, "bind readonly path '%s'", paths[i]);
      top = ward_open_in_root (root_fd, paths[i], O_PATH, err);
      if (top < 0)
        return top;
      ret = ward_ns_remount_bind (top, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
                                  | (ward_ns_locked_flags (top) & ~MS_RDONLY),
                                  paths[i], err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static bool needs_dev_setup (const ward_config_t *cfg)
{
  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      const ward_mount_t *m = &cfg->mounts[i];
      bool bind = m->type && strcmp (m->type, "bind") == 0;
      for (size_t j = 0; !bind && m->options && m->options[j]; j++)
        bind = strcmp (m->options[j], "bind") == 0 || strcmp (m->options[j], "rbind") == 0;
      if (bind && m->destination && path_is (m->destination, "/dev"))
        return false;
    }
  return true;
}

static bool has_mount_ns (const ward_config_t *cfg)
{
  for (size_t i = 0; cfg->linux_ && i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == WARD_NS_MOUNT)
      return true;
  return false;
}

int ward_rootfs_setup (const ward_rootfs_opts_t *opts, ward_error_t **err)
{
  const ward_config_t *cfg = opts->config;
  const ward_linux_t *l = cfg->linux_;
  unsigned long prop = MS_SLAVE | MS_REC;
  _cleanup_close_ int rootfs_fd = -1;
  _cleanup_close_ int root_fd = -1;
  _cleanup_free_ char *rootfs = NULL;
  bool setup_dev = needs_dev_setup (cfg), dev_ro = false;
  int ret;

  if (!has_mount_ns (cfg))
    {
      /* As runc: without a mount namespace of its own the container runs
       * in the host's mount tree, which must not be touched. */
      ward_debug ("no mount namespace: rootfs setup skipped");
      return 0;
    }
  if (opts->rootfs == NULL || opts->rootfs[0] != '/')
    return ward_error_set (err, EINVAL, "rootfs path '%s' is not absolute",
                           opts->rootfs ? opts->rootfs : "");
  /* Mount tables hold resolved paths: match them with the rootfs's own. */
  rootfs = realpath (opts->rootfs, NULL);
  if (rootfs == NULL)
    return ward_error_set (err, errno, "resolve rootfs '%s'", opts->rootfs);
  if (l && l->rootfs_propagation && l->rootfs_propagation[0])
    {
      prop = ward_mount_propagation_flag (l->rootfs_propagation);
      if (prop == 0)
        return ward_error_set (err, EINVAL, "invalid rootfsPropagation \"%s\"",
                               l->rootfs_propagation);
    }
  /* rslave by default: nothing mounted from here on propagates back to the
   * host's namespace, while host unmounts still reach the container. */
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return ward_error_set (err, errno, "set propagation of '/'");
  /* A recursive slave or private "/" leaves no shared mount to fix up. */
  if (prop != (MS_SLAVE | MS_REC) && prop != (MS_PRIVATE | MS_REC))
    {
      ret = make_parent_private (rootfs, err);
      if (ret < 0)
        return ret;
    }
  /* pivot_root needs the new root to be a mount point. */
  if (mount (rootfs, rootfs, "bind", MS_BIND | MS_REC, NULL) < 0)
    return ward_error_set (err, errno, "bind rootfs '%s' onto itself", rootfs);
  rootfs_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfs_fd < 0)
    return ward_error_set (err, errno, "open rootfs '%s'", rootfs);

  for (size_t i = 0; i < cfg->mounts_len; i++)
    {
      ret = mount_entry (opts, rootfs_fd, i, setup_dev, &dev_ro, err);
      if (ret < 0)
        return ret;
    }
  if (setup_dev)
    {
      ret = ward_ns_setup_dev (rootfs_fd, opts, err);
      if (ret < 0)
        return ret;
      if (dev_ro)
        {
          _cleanup_close_ int dev = ward_open_in_root (rootfs_fd, "/dev", O_PATH, err);
          if (dev < 0)
            return dev;
          ret = ward_ns_remount_bind (dev, MS_RDONLY | ward_ns_locked_flags (dev), "/dev", err);
          if (ret < 0)
            return ret;
        }
    }
  if (opts->before_pivot)
    {
      if (fchdir (rootfs_fd) < 0)
        return ward_error_set (err, errno, "chdir to rootfs '%s'", rootfs);
      ret = opts->before_pivot (opts->before_pivot_data, err);
      if (ret < 0)
        return ret;
    }
  ret = opts->no_pivot ? do_move_root (rootfs, rootfs_fd, err) : do_pivot (rootfs_fd, err);
  if (ret < 0)
    return ret;

  /* The new root was bound while its parent was private: give it the
   * asked-for propagation now that it is "/" (runc applies it here too, so
   * a shared root cannot propagate into the host's tree before the pivot). */
  if (l && l->rootfs_propagation && l->rootfs_propagation[0] && !(prop & MS_PRIVATE)
      && mount (NULL, "/", NULL, prop, NULL) < 0)
    return ward_error_set (err, errno, "apply rootfsPropagation \"%s\" to '/'",
                           l->rootfs_propagation);
  root_fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return ward_error_set (err, errno, "open new '/'");
  if (l)
    {
      ret = readonly_paths (root_fd, l->readonly_paths, l->readonly_paths_len, err);
      if (ret < 0)
        return ret;
      ret = mask_paths (root_fd, l->masked_paths, l->masked_paths_len, err);
      if (ret < 0)
        return ret;
    }
  if (cfg->root && cfg->root->readonly)
    {
      ret = ward_ns_remount_bind (root_fd, MS_RDONLY | (ward_ns_locked_flags (root_fd) & ~MS_RDONLY),
                                  "/", err);
      if (ret < 0)
        return ret;
    }
  if (chdir ("/") < 0)
    return ward_error_set (err, errno, "chdir '/'");
  return 0;
}
