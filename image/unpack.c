/* Layer unpacking.  Every tar entry is hostile: its path is cleaned
 * lexically (a ".." that climbs above the root is refused), then resolved
 * one component at a time below the target dir fd with O_NOFOLLOW, so no
 * symlink, whether in the image or planted by an earlier entry, is ever
 * followed.  Nothing is built by joining strings into host paths. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "image/image.h"
#include "image/internal.h"

#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"
#define MAX_DEPTH 256
#define MAX_PATH_LEN 4096

/* ---- a small string set: the paths this layer wrote ---------------------- */

typedef struct
{
  char **slots;
  size_t cap, len;
} pathset_t;

static uint64_t hash_str (const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211ull;
  return h;
}

static bool pathset_has (const pathset_t *ps, const char *s)
{
  if (ps->cap == 0)
    return false;
  for (size_t i = hash_str (s) & (ps->cap - 1);; i = (i + 1) & (ps->cap - 1))
    {
      if (ps->slots[i] == NULL)
        return false;
      if (strcmp (ps->slots[i], s) == 0)
        return true;
    }
}

static void pathset_add (pathset_t *ps, const char *s)
{
  if (pathset_has (ps, s))
    return;
  if ((ps->len + 1) * 2 > ps->cap)
    {
      pathset_t bigger = { .cap = ps->cap ? ps->cap * 2 : 64 };
      bigger.slots = xzalloc (bigger.cap * sizeof (char *));
      for (size_t i = 0; i < ps->cap; i++)
        if (ps->slots[i])
          {
            size_t j = hash_str (ps->slots[i]) & (bigger.cap - 1);
            while (bigger.slots[j])
              j = (j + 1) & (bigger.cap - 1);
            bigger.slots[j] = ps->slots[i];
          }
      free (ps->slots);
      bigger.len = ps->len;
      *ps = bigger;
    }
  size_t i = hash_str (s) & (ps->cap - 1);
  while (ps->slots[i])
    i = (i + 1) & (ps->cap - 1);
  ps->slots[i] = xstrdup (s);
  ps->len++;
}

static void pathset_free (pathset_t *ps)
{
  for (size_t i = 0; i < ps->cap; i++)
    free (ps->slots[i]);
  free (ps->slots);
}

/* ---- context ------------------------------------------------------------- */

typedef struct
{
  char *path;
  struct timespec ts[2];
} dirtime_t;

typedef struct
{
  int root;
  ward_unpack_opts_t *opts;
  char layer[96];
  bool do_chown;
  pathset_t written;
  dirtime_t *dirs;
  size_t dirs_len, dirs_cap;
  const char *entry; /* raw name, for messages */
  ward_error_t **err;
} ctx_t;

static int entry_error (ctx_t *c, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int entry_error (ctx_t *c, int errnum, const char *fmt, ...)
{
  va_list ap;
  _cleanup_free_ char *what = NULL;
  va_start (ap, fmt);
  if (vasprintf (&what, fmt, ap) < 0)
    what = NULL;
  va_end (ap);
  return ward_error_set (c->err, errnum, "%s: entry \"%s\": %s", c->layer, c->entry,
                         what ? what : "error");
}

/* A refusal by policy, not a failed syscall: no strerror appended. */
static int entry_refuse (ctx_t *c, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static int entry_refuse (ctx_t *c, int errnum, const char *fmt, ...)
{
  va_list ap;
  _cleanup_free_ char *what = NULL;
  va_start (ap, fmt);
  if (vasprintf (&what, fmt, ap) < 0)
    what = NULL;
  va_end (ap);
  return ward_error_set_ret (c->err, -errnum, 0, "%s: entry \"%s\": %s", c->layer, c->entry,
                             what ? what : "refused");
}

static void ctx_set_layer_name (ctx_t *c, const char *name)
{
  if (name == NULL)
    snprintf (c->layer, sizeof c->layer, "layer");
  else if (strncmp (name, "sha256:", 7) == 0 && strlen (name) > 19)
    snprintf (c->layer, sizeof c->layer, "layer sha256:%.12s\u2026", name + 7);
  else
    snprintf (c->layer, sizeof c->layer, "layer %.80s", name);
}

/* Lexical clean: "/a/./b//c/../d" -> "a/b/d"; "" is the root itself.
 * Returns -1 when a ".." would climb above the root. */
static int clean_path (const char *in, char **out, size_t *depth)
{
  size_t n = strlen (in), len = 0, comps = 0;
  char *buf = xmalloc (n + 1);
  const char *p = in;
  while (*p)
    {
      const char *e = strchr (p, '/');
      size_t cl = e ? (size_t) (e - p) : strlen (p);
      if (cl == 0 || (cl == 1 && p[0] == '.'))
        ;
      else if (cl == 2 && p[0] == '.' && p[1] == '.')
        {
          if (comps == 0)
            {
              free (buf);
              return -1;
            }
          while (len > 0 && buf[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
          comps--;
        }
      else
        {
          if (len > 0)
            buf[len++] = '/';
          memcpy (buf + len, p, cl);
          len += cl;
          comps++;
        }
      p += cl;
      if (*p == '/')
        p++;
    }
  buf[len] = '\0';
  *out = buf;
  *depth = comps;
  return 0;
}

int ward_image_rm_rf_at (int dfd, const char *name, ward_error_t **err)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : ward_error_set (err, errno, "stat '%s'", name);
  if (S_ISDIR (st.st_mode))
    {
      _cleanup_closedir_ DIR *d = NULL;
      struct dirent *de;
      int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == EACCES && fchmodat (dfd, name, 0700, 0) == 0)
        fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return ward_error_set (err, errno, "open '%s'", name);
      d = fdopendir (fd);
      if (d == NULL)
        {
          close (fd);
          return ward_error_set (err, errno, "fdopendir '%s'", name);
        }
      while ((de = readdir (d)))
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          int ret = ward_image_rm_rf_at (dirfd (d), de->d_name, err);
          if (ret < 0)
            return ret;
        }
      if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return ward_error_set (err, errno, "rmdir '%s'", name);
      return 0;
    }
  if (unlinkat (dfd, name, 0) < 0 && errno != ENOENT)
    return ward_error_set (err, errno, "unlink '%s'", name);
  return 0;
}

/* Opens the parent directory of the cleaned path, one component at a time
 * with O_NOFOLLOW.  Missing parents are created (docker does the same).  A
 * symlink on the way is refused when this layer made it; in APPLY mode a
 * non-directory left by a lower layer is replaced, which is what overlayfs
 * shows when an upper layer has a directory there. */
static int open_parent (ctx_t *c, const char *path, bool create, int *out, const char **base)
{
  _cleanup_close_ int cur = -1;
  _cleanup_free_ char *prefix = xmalloc (strlen (path) + 1);
  const char *p = path;
  size_t plen = 0;
  cur = openat (c->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return ward_error_set (c->err, errno, "%s: open target dir", c->layer);
  for (;;)
    {
      const char *e = strchr (p, '/');
      if (e == NULL)
        break;
      _cleanup_free_ char *comp = xstrndup (p, (size_t) (e - p));
      if (plen)
        prefix[plen++] = '/';
      memcpy (prefix + plen, p, (size_t) (e - p));
      plen += (size_t) (e - p);
      prefix[plen] = '\0';
      for (int attempt = 0;; attempt++)
        {
          struct stat st;
          int next = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (next >= 0)
            {
              close (cur);
              cur = next;
              break;
            }
          if (attempt > 1)
            return entry_error (c, errno, "open parent \"%s\"", prefix);
          if (errno == ENOENT)
            {
              if (!create)
                return entry_refuse (c, ENOENT, "parent \"%s\" does not exist", prefix);
              if (mkdirat (cur, comp, 0755) < 0 && errno != EEXIST)
                return entry_error (c, errno, "mkdir parent \"%s\"", prefix);
              pathset_add (&c->written, prefix);
              continue;
            }
          if (errno != ENOTDIR && errno != ELOOP)
            return entry_error (c, errno, "open parent \"%s\"", prefix);
          if (fstatat (cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return entry_error (c, errno, "stat parent \"%s\"", prefix);
          if (!create || c->opts->mode != WARD_UNPACK_APPLY || pathset_has (&c->written, prefix))
            {
              if (S_ISLNK (st.st_mode))
                return entry_refuse (c, ELOOP, "parent path \"%s\" is a symlink: refusing to "
                                    "write through it", prefix);
              return entry_refuse (c, ENOTDIR, "parent path \"%s\" is not a directory", prefix);
            }
          /* a lower layer's file or symlink where this layer wants a dir */
          if (unlinkat (cur, comp, 0) < 0)
            return entry_error (c, errno, "replace \"%s\" with a directory", prefix);
        }
      p = e + 1;
    }
  *base = p;
  *out = TAKE_FD (cur);
  return 0;
}

static bool is_root_user (void)
{
  return geteuid () == 0;
}

static int apply_xattrs (ctx_t *c, struct archive_entry *e, int fd)
{
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      /* overlay's own xattrs (redirect, metacopy, origin) from an image
       * would steer the mount outside the layer: never take them. */
      if (strncmp (name, "trusted.overlay.", 16) == 0 || strncmp (name, "user.overlay.", 13) == 0)
        {
          ward_warn ("%s: entry \"%s\": ignoring xattr %s", c->layer, c->entry, name);
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (errno == ENOTSUP || errno == EPERM || errno == EOPNOTSUPP)
            {
              ward_debug ("%s: entry \"%s\": xattr %s not set: %s", c->layer, c->entry, name,
                          strerror (errno));
              continue;
            }
          return entry_error (c, errno, "set xattr %s", name);
        }
    }
  return 0;
}

/* Removes whatever sits at base unless both it and the new entry are dirs. */
static int clear_target (ctx_t *c, int parent, const char *base, bool new_is_dir, bool *is_dir)
{
  struct stat st;
  *is_dir = false;
  if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : entry_error (c, errno, "stat");
  if (S_ISDIR (st.st_mode) && new_is_dir)
    {
      *is_dir = true;
      return 0;
    }
  if (S_ISDIR (st.st_mode))
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_image_rm_rf_at (parent, base, &e) < 0)
        return entry_error (c, e->status, "replace directory: %s", e->msg);
      return 0;
    }
  if (unlinkat (parent, base, 0) < 0)
    return entry_error (c, errno, "replace existing entry");
  return 0;
}

static void remember_dir (ctx_t *c, const char *path, struct archive_entry *e)
{
  if (c->dirs_len == c->dirs_cap)
    {
      c->dirs_cap = c->dirs_cap ? c->dirs_cap * 2 : 32;
      c->dirs = xrealloc (c->dirs, c->dirs_cap * sizeof *c->dirs);
    }
  dirtime_t *d = &c->dirs[c->dirs_len++];
  d->path = xstrdup (path);
  d->ts[1].tv_sec = archive_entry_mtime (e);
  d->ts[1].tv_nsec = archive_entry_mtime_nsec (e);
  d->ts[0] = d->ts[1];
  if (archive_entry_atime_is_set (e))
    d->ts[0] = (struct timespec) { archive_entry_atime (e), archive_entry_atime_nsec (e) };
}

static int write_data (ctx_t *c, struct archive *a, int fd)
{
  const void *buf;
  size_t size;
  la_int64_t offset;
  for (;;)
    {
      int r = archive_read_data_block (a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return entry_error (c, EIO, "read data: %s", archive_error_string (a));
      if (offset < 0)
        return entry_refuse (c, EINVAL, "bad data offset");
      size_t done = 0;
      while (done < size)
        {
          ssize_t n = pwrite (fd, (const char *) buf + done, size - done, offset + (off_t) done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return entry_error (c, errno, "write");
          done += (size_t) n;
        }
    }
  return 0;
}

static int set_owner_mode_times (ctx_t *c, int parent, const char *base, int fd,
                                 struct archive_entry *e, mode_t type)
{
  mode_t perm = archive_entry_perm (e) & 07777;
  struct timespec ts[2] = {
    { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
    { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
  };
  if (archive_entry_atime_is_set (e))
    ts[0] = (struct timespec) { archive_entry_atime (e), archive_entry_atime_nsec (e) };
  if (c->do_chown)
    {
      uid_t uid = (uid_t) archive_entry_uid (e);
      gid_t gid = (gid_t) archive_entry_gid (e);
      int r = fd >= 0 ? fchown (fd, uid, gid)
                      : fchownat (parent, base, uid, gid, AT_SYMLINK_NOFOLLOW);
      if (r < 0)
        return entry_error (c, errno, "chown %u:%u", (unsigned) uid, (unsigned) gid);
    }
  if (type == S_IFLNK)
    {
      if (utimensat (parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOTSUP)
        return entry_error (c, errno, "set symlink times");
      return 0;
    }
  if ((fd >= 0 ? fchmod (fd, perm) : fchmodat (parent, base, perm, AT_SYMLINK_NOFOLLOW)) < 0)
    return entry_error (c, errno, "chmod %04o", (unsigned) perm);
  if (type == S_IFDIR)
    return 0; /* later entries touch the dir: times are set at the end */
  if ((fd >= 0 ? futimens (fd, ts) : utimensat (parent, base, ts, AT_SYMLINK_NOFOLLOW)) < 0)
    return entry_error (c, errno, "set times");
  return 0;
}

static int do_whiteout (ctx_t *c, int parent, const char *base, const char *clean)
{
  const char *victim = base + strlen (WHITEOUT_PREFIX);
  bool dummy;
  int ret;

  if (strcmp (base, OPAQUE_MARKER) == 0)
    {
      _cleanup_close_ int dfd = openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      size_t dlen = (size_t) (base - clean);
      _cleanup_free_ char *dir = xstrndup (clean, dlen ? dlen - 1 : 0);
      if (dfd < 0)
        return entry_error (c, errno, "open opaque dir");
      if (c->opts->mode == WARD_UNPACK_OVERLAY)
        {
          if (fsetxattr (dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return entry_error (c, errno, "set trusted.overlay.opaque");
          return 0;
        }
      /* APPLY: what a lower layer put here goes, this layer's entries stay */
      _cleanup_closedir_ DIR *d = fdopendir (TAKE_FD (dfd));
      struct dirent *de;
      if (d == NULL)
        return entry_error (c, errno, "read opaque dir");
      while ((de = readdir (d)))
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          _cleanup_free_ char *child = *dir ? xasprintf ("%s/%s", dir, de->d_name)
                                            : xstrdup (de->d_name);
          if (pathset_has (&c->written, child))
            continue;
          _cleanup_error_ ward_error_t *e = NULL;
          if (ward_image_rm_rf_at (dirfd (d), de->d_name, &e) < 0)
            return entry_error (c, e->status, "opaque dir: %s", e->msg);
        }
      return 0;
    }

  if (*victim == '\0' || strcmp (victim, ".") == 0 || strcmp (victim, "..") == 0)
    return entry_refuse (c, EINVAL, "invalid whiteout");
  if (c->opts->mode == WARD_UNPACK_APPLY)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_image_rm_rf_at (parent, victim, &e) < 0)
        return entry_error (c, e->status, "whiteout: %s", e->msg);
      return 0;
    }
  ret = clear_target (c, parent, victim, false, &dummy);
  if (ret < 0)
    return ret;
  if (mknodat (parent, victim, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return entry_error (c, errno, "create overlay whiteout for \"%s\"", victim);
  return 0;
}

static int do_hardlink (ctx_t *c, int parent, const char *base, const char *link_raw)
{
  _cleanup_free_ char *target = NULL;
  _cleanup_close_ int tparent = -1;
  const char *tbase;
  size_t depth;
  struct stat st;
  int ret;
  if (clean_path (link_raw, &target, &depth) < 0 || *target == '\0')
    return entry_refuse (c, EXDEV, "hard link target \"%s\" escapes the layer root", link_raw);
  if (!pathset_has (&c->written, target))
    return entry_refuse (c, EXDEV, "hard link target \"%s\" is not in this layer", link_raw);
  ret = open_parent (c, target, false, &tparent, &tbase);
  if (ret < 0)
    return ret;
  if (fstatat (tparent, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return entry_error (c, errno, "hard link target \"%s\"", link_raw);
  if (S_ISDIR (st.st_mode))
    return entry_refuse (c, EPERM, "hard link target \"%s\" is a directory", link_raw);
  /* flags 0: a symlink target is linked as the symlink, never followed */
  if (linkat (tparent, tbase, parent, base, 0) < 0)
    return entry_error (c, errno, "hard link to \"%s\"", link_raw);
  return 0;
}

static int extract_entry (ctx_t *c, struct archive *a, struct archive_entry *e)
{
  /* names that do not convert to the locale's charset: the UTF-8 form */
  const char *raw = archive_entry_pathname (e) ? archive_entry_pathname (e)
                                               : archive_entry_pathname_utf8 (e);
  _cleanup_free_ char *clean = NULL;
  _cleanup_close_ int parent = -1;
  _cleanup_close_ int fd = -1;
  const char *base;
  const char *hardlink = archive_entry_hardlink (e) ? archive_entry_hardlink (e)
                                                    : archive_entry_hardlink_utf8 (e);
  mode_t type = archive_entry_filetype (e);
  size_t depth;
  bool existing_dir;
  int ret;

  c->entry = raw ? raw : "";
  if (raw == NULL || *raw == '\0')
    return entry_refuse (c, EINVAL, "empty path");
  if (strlen (raw) > MAX_PATH_LEN)
    return entry_refuse (c, ENAMETOOLONG, "path too long");
  /* docker strips a leading "/": "/etc/x" is "etc/x" */
  if (clean_path (raw, &clean, &depth) < 0)
    return entry_refuse (c, EXDEV, "path escapes the layer root");
  if (depth > MAX_DEPTH)
    return entry_refuse (c, ENAMETOOLONG, "path deeper than %d components", MAX_DEPTH);
  if (*clean == '\0')
    return 0; /* the root itself: its mode stays the store's */

  ret = open_parent (c, clean, true, &parent, &base);
  if (ret < 0)
    return ret;
  if (strncmp (base, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
    return do_whiteout (c, parent, base, clean);

  if (hardlink)
    {
      ret = clear_target (c, parent, base, false, &existing_dir);
      if (ret == 0)
        ret = do_hardlink (c, parent, base, hardlink);
      if (ret == 0)
        pathset_add (&c->written, clean);
      return ret;
    }

  ret = clear_target (c, parent, base, type == AE_IFDIR, &existing_dir);
  if (ret < 0)
    return ret;

  switch (type)
    {
    case AE_IFDIR:
      if (!existing_dir && mkdirat (parent, base, 0700) < 0)
        return entry_error (c, errno, "mkdir");
      fd = openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return entry_error (c, errno, "open dir");
      ret = apply_xattrs (c, e, fd);
      if (ret == 0)
        ret = set_owner_mode_times (c, parent, base, fd, e, S_IFDIR);
      if (ret == 0)
        remember_dir (c, clean, e);
      break;

    case AE_IFREG:
      fd = openat (parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return entry_error (c, errno, "create file");
      ret = write_data (c, a, fd);
      if (ret == 0 && archive_entry_size_is_set (e)
          && ftruncate (fd, (off_t) archive_entry_size (e)) < 0)
        ret = entry_error (c, errno, "truncate");
      if (ret == 0)
        ret = apply_xattrs (c, e, fd);
      if (ret == 0)
        ret = set_owner_mode_times (c, parent, base, fd, e, S_IFREG);
      break;

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e) ? archive_entry_symlink (e)
                                                       : archive_entry_symlink_utf8 (e);
        /* the target is data, never resolved here */
        if (target == NULL || *target == '\0')
          return entry_refuse (c, EINVAL, "symlink without a target");
        if (symlinkat (target, parent, base) < 0)
          return entry_error (c, errno, "symlink");
        ret = set_owner_mode_times (c, parent, base, -1, e, S_IFLNK);
        break;
      }

    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (mknodat (parent, base, type | 0600, archive_entry_rdev (e)) < 0)
        {
          if (errno == EPERM && type != AE_IFIFO)
            {
              ward_warn ("%s: entry \"%s\": device node skipped: no permission to mknod "
                         "(not root or no CAP_MKNOD)", c->layer, c->entry);
              c->opts->skipped++;
              return 0;
            }
          return entry_error (c, errno, "mknod");
        }
      ret = set_owner_mode_times (c, parent, base, -1, e, type);
      break;

    case AE_IFSOCK:
      ward_debug ("%s: entry \"%s\": socket skipped", c->layer, c->entry);
      c->opts->skipped++;
      return 0;

    default:
      return entry_refuse (c, EINVAL, "unsupported file type 0%o", (unsigned) type);
    }
  if (ret == 0)
    pathset_add (&c->written, clean);
  return ret;
}

/* Directory times last, deepest first, re-resolved without following links. */
static void restore_dir_times (ctx_t *c)
{
  for (size_t i = c->dirs_len; i > 0; i--)
    {
      dirtime_t *d = &c->dirs[i - 1];
      _cleanup_close_ int parent = -1;
      _cleanup_error_ ward_error_t *e = NULL;
      const char *base;
      ward_error_t **saved = c->err;
      c->err = &e;
      c->entry = d->path;
      if (open_parent (c, d->path, false, &parent, &base) == 0)
        utimensat (parent, base, d->ts, AT_SYMLINK_NOFOLLOW);
      c->err = saved;
    }
}

static int unpack_archive (struct archive *a, int target, ward_unpack_opts_t *opts,
                           ward_error_t **err)
{
  ctx_t c = { .root = target, .opts = opts, .err = err };
  struct archive_entry *e;
  int ret = 0;
  ctx_set_layer_name (&c, opts->layer_name);
  c.do_chown = !opts->no_chown && is_root_user ();
  for (;;)
    {
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          ret = ward_error_set (err, EINVAL, "%s: not a valid tar: %s", c.layer,
                                archive_error_string (a) ? archive_error_string (a) : "?");
          break;
        }
      ret = extract_entry (&c, a, e);
      if (ret < 0)
        break;
    }
  if (ret == 0)
    restore_dir_times (&c);
  for (size_t i = 0; i < c.dirs_len; i++)
    free (c.dirs[i].path);
  free (c.dirs);
  pathset_free (&c.written);
  return ret;
}

static struct archive *new_reader (void)
{
  struct archive *a = archive_read_new ();
  /* compression is found by magic, not trusted from the media type */
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  archive_read_support_format_empty (a);
  return a;
}

int ward_unpack_fd (int layer_fd, int target, ward_unpack_opts_t *opts, ward_error_t **err)
{
  ward_unpack_opts_t defaults = { 0 };
  struct archive *a = new_reader ();
  int ret;
  if (opts == NULL)
    opts = &defaults;
  if (archive_read_open_fd (a, layer_fd, 128 * 1024) != ARCHIVE_OK)
    {
      ctx_t c;
      ctx_set_layer_name (&c, opts->layer_name);
      ret = ward_error_set (err, EINVAL, "%s: cannot read: %s", c.layer,
                            archive_error_string (a) ? archive_error_string (a) : "?");
    }
  else
    ret = unpack_archive (a, target, opts, err);
  archive_read_free (a);
  return ret;
}

int ward_unpack_buffer (const void *data, size_t len, int target, ward_unpack_opts_t *opts,
                        ward_error_t **err)
{
  ward_unpack_opts_t defaults = { 0 };
  struct archive *a = new_reader ();
  int ret;
  if (opts == NULL)
    opts = &defaults;
  if (archive_read_open_memory (a, data, len) != ARCHIVE_OK)
    {
      ctx_t c;
      ctx_set_layer_name (&c, opts->layer_name);
      ret = ward_error_set (err, EINVAL, "%s: cannot read: %s", c.layer,
                            archive_error_string (a) ? archive_error_string (a) : "?");
    }
  else
    ret = unpack_archive (a, target, opts, err);
  archive_read_free (a);
  return ret;
}

/* ---- layers in the store ------------------------------------------------- */

int ward_store_layer_ensure (ward_store_t *store, const char *digest, char **dir,
                             ward_error_t **err)
{
  const char *hex;
  char tmp[64], lockname[80];
  _cleanup_close_ int lockfd = -1;
  _cleanup_close_ int blob = -1;
  _cleanup_close_ int target = -1;
  ward_unpack_opts_t opts = { .mode = WARD_UNPACK_OVERLAY, .layer_name = digest };
  int ret = ward_image_digest_hex (digest, &hex, err);
  if (ret < 0)
    return ret;
  if (faccessat (store->layers_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (dir)
        *dir = xasprintf ("%s/layers/%s", store->dir, hex);
      return 0;
    }

  /* the lock file exists (locked) before the dir, see clean_temp_files */
  ret = ward_image_locked_tmpfile (store->layers_fd, ".tmp-", tmp, sizeof tmp, &lockfd, err);
  if (ret < 0)
    return ret;
  snprintf (lockname, sizeof lockname, "%s.lock", tmp);
  if (renameat (store->layers_fd, tmp, store->layers_fd, lockname) < 0)
    {
      ret = ward_error_set (err, errno, "layer %s: rename lock", digest);
      unlinkat (store->layers_fd, tmp, 0);
      return ret;
    }
  ret = ward_store_blob_open (store, digest, &blob, err);
  if (ret == 0 && mkdirat (store->layers_fd, tmp, 0755) < 0)
    ret = ward_error_set (err, errno, "layer %s: mkdir", digest);
  if (ret == 0)
    {
      target = openat (store->layers_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (target < 0)
        ret = ward_error_set (err, errno, "layer %s: open", digest);
    }
  if (ret == 0)
    ret = ward_unpack_fd (blob, target, &opts, err);
  if (ret == 0 && renameat (store->layers_fd, tmp, store->layers_fd, hex) < 0)
    {
      /* another command unpacked it meanwhile: theirs is as good */
      if (errno != EEXIST && errno != ENOTEMPTY)
        ret = ward_error_set (err, errno, "layer %s: rename into place", digest);
    }
  if (faccessat (store->layers_fd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      ward_image_rm_rf_at (store->layers_fd, tmp, &e);
    }
  unlinkat (store->layers_fd, lockname, 0);
  if (ret < 0)
    return ret;
  if (dir)
    *dir = xasprintf ("%s/layers/%s", store->dir, hex);
  return 0;
}
