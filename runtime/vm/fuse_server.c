/* FUSE server for virtio-fs: serves the guest's FUSE requests on a host
 * directory.  The guest is hostile; see fuse.h for the confinement rules.
 *
 * Inodes: nodeid N is slot N of a table of (O_PATH fd, dev, ino, lookup
 * count), deduplicated by (dev, ino) through a hash; nodeid 1 is the root.
 * FORGET drops lookup counts; a slot whose count reaches 0 is closed and
 * reused.  File handles are slots of a second table (fd or DIR*).
 *
 * Credentials: virtio-fs guests mount with default_permissions, so the
 * guest kernel already checked the caller's permissions against the
 * attributes we return; the server runs every request with its own
 * credentials and only gives new files the caller's uid/gid (fchown after
 * create) instead of switching fsuid per request. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/vm/fuse.h"

/* fixed-size part of a request we copy out of guest memory (header +
 * arguments + two names); WRITE data stays in the chain */
#define REQ_COPY_MAX (2 * PATH_MAX + 512)
/* SETXATTR: argument, name and a value of up to 64 KiB */
#define XATTR_REQ_MAX (FUSE_COMPAT_SETXATTR_IN_SIZE + XATTR_NAME_MAX + 1 + XATTR_SIZE_MAX)
#define OUT_HDR ((uint32_t) sizeof (struct fuse_out_header))
#define IN_HDR ((uint32_t) sizeof (struct fuse_in_header))
/* attribute and entry cache lifetime in the guest: short, because the
 * host side (podman cp, a volume) may change files behind the guest */
#define CACHE_SECS 1
#define MAX_IOV 1024

struct inode
{
  int fd; /* O_PATH; -1: free slot */
  uint64_t nlookup;
  dev_t dev;
  ino_t ino;
  uint32_t hnext; /* next nodeid in the hash bucket, 0: end */
};

struct handle
{
  int fd;   /* -1: free slot */
  DIR *dir; /* OPENDIR handles */
};

struct ward_vm_fuse
{
  int proc_fd; /* /proc/self/fd, for re-opening O_PATH fds */
  bool readonly;
  bool initialised;
  struct inode *inodes; /* index = nodeid; 0 unused */
  uint32_t n_inodes;    /* slots in use up to here */
  uint32_t cap_inodes;
  uint32_t *free_inodes;
  uint32_t n_free_inodes;
  uint32_t live_inodes;
  uint32_t *buckets; /* nodeid heads, 0: empty */
  uint32_t n_buckets; /* power of 2 */
  struct handle *handles; /* index = fh - 1 */
  uint32_t n_handles, cap_handles;
  uint32_t live_handles;
};

struct req
{
  struct ward_vm_fuse *fs;
  const struct ward_virtq_chain *chain;
  struct fuse_in_header in;
  uint8_t *args; /* copied arguments */
  uint32_t args_len;
  uint32_t total_len; /* in.len, checked against the chain */
};

/* ---- inode table ---- */

static uint32_t
hash_of (dev_t dev, ino_t ino, uint32_t n_buckets)
{
  uint64_t h = (uint64_t) ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) dev * 0xc2b2ae3d27d4eb4fULL;
  return (uint32_t) (h >> 32) & (n_buckets - 1);
}

static struct inode *
inode_get (struct ward_vm_fuse *fs, uint64_t nodeid)
{
  /* the guest names inodes by number: anything not in the table is forged */
  if (nodeid == 0 || nodeid >= fs->n_inodes || fs->inodes[nodeid].fd < 0)
    return NULL;
  return &fs->inodes[nodeid];
}

static void
hash_insert (struct ward_vm_fuse *fs, uint32_t id)
{
  uint32_t b = hash_of (fs->inodes[id].dev, fs->inodes[id].ino, fs->n_buckets);
  fs->inodes[id].hnext = fs->buckets[b];
  fs->buckets[b] = id;
}

static void
hash_rebuild (struct ward_vm_fuse *fs, uint32_t n_buckets)
{
  free (fs->buckets);
  fs->buckets = xzalloc (sizeof *fs->buckets * n_buckets);
  fs->n_buckets = n_buckets;
  for (uint32_t i = 1; i < fs->n_inodes; i++)
    if (fs->inodes[i].fd >= 0)
      hash_insert (fs, i);
}

static uint32_t
hash_find (struct ward_vm_fuse *fs, dev_t dev, ino_t ino)
{
  for (uint32_t id = fs->buckets[hash_of (dev, ino, fs->n_buckets)]; id; id = fs->inodes[id].hnext)
    if (fs->inodes[id].dev == dev && fs->inodes[id].ino == ino)
      return id;
  return 0;
}

static void
hash_remove (struct ward_vm_fuse *fs, uint32_t id)
{
  uint32_t *p = &fs->buckets[hash_of (fs->inodes[id].dev, fs->inodes[id].ino, fs->n_buckets)];
  while (*p && *p != id)
    p = &fs->inodes[*p].hnext;
  if (*p == id)
    *p = fs->inodes[id].hnext;
}

/* Takes ownership of fd (an O_PATH fd of st); returns the nodeid with one
 * more lookup, or a negative errno (fd closed). */
static int64_t
inode_add (struct ward_vm_fuse *fs, int fd, const struct stat *st)
{
  uint32_t id = hash_find (fs, st->st_dev, st->st_ino);
  if (id)
    {
      close (fd);
      fs->inodes[id].nlookup++;
      return id;
    }
  if (fs->live_inodes >= WARD_VM_FUSE_MAX_INODES)
    {
      close (fd);
      return -ENFILE;
    }
  if (fs->n_free_inodes)
    id = fs->free_inodes[--fs->n_free_inodes];
  else
    {
      if (fs->n_inodes == fs->cap_inodes)
        {
          fs->cap_inodes *= 2;
          fs->inodes = xrealloc (fs->inodes, sizeof *fs->inodes * fs->cap_inodes);
          fs->free_inodes = xrealloc (fs->free_inodes, sizeof *fs->free_inodes * fs->cap_inodes);
        }
      id = fs->n_inodes++;
    }
  fs->inodes[id] = (struct inode){ .fd = fd, .nlookup = 1, .dev = st->st_dev, .ino = st->st_ino };
  fs->live_inodes++;
  if (fs->live_inodes > fs->n_buckets)
    hash_rebuild (fs, fs->n_buckets * 2);
  else
    hash_insert (fs, id);
  return id;
}

static void
inode_forget (struct ward_vm_fuse *fs, uint64_t nodeid, uint64_t n)
{
  struct inode *i = inode_get (fs, nodeid);
  /* the root lives as long as the server */
  if (i == NULL || nodeid == FUSE_ROOT_ID)
    return;
  i->nlookup = n >= i->nlookup ? 0 : i->nlookup - n;
  if (i->nlookup)
    return;
  hash_remove (fs, (uint32_t) nodeid);
  close (i->fd);
  i->fd = -1;
  fs->free_inodes[fs->n_free_inodes++] = (uint32_t) nodeid;
  fs->live_inodes--;
}

/* ---- handles ---- */

static int64_t
handle_add (struct ward_vm_fuse *fs, int fd, DIR *dir)
{
  uint32_t i;
  for (i = 0; i < fs->n_handles; i++)
    if (fs->handles[i].fd < 0)
      break;
  if (i == fs->n_handles)
    {
      if (fs->n_handles >= WARD_VM_FUSE_MAX_HANDLES)
        return -ENFILE;
      if (fs->n_handles == fs->cap_handles)
        {
          fs->cap_handles = fs->cap_handles ? fs->cap_handles * 2 : 16;
          fs->handles = xrealloc (fs->handles, sizeof *fs->handles * fs->cap_handles);
        }
      fs->n_handles++;
    }
  fs->handles[i] = (struct handle){ .fd = fd, .dir = dir };
  fs->live_handles++;
  return (int64_t) i + 1;
}

static struct handle *
handle_get (struct ward_vm_fuse *fs, uint64_t fh, bool dir)
{
  if (fh == 0 || fh > fs->n_handles || fs->handles[fh - 1].fd < 0)
    return NULL;
  struct handle *h = &fs->handles[fh - 1];
  if ((h->dir != NULL) != dir)
    return NULL;
  return h;
}

static void
handle_close (struct ward_vm_fuse *fs, struct handle *h)
{
  if (h->dir)
    closedir (h->dir);
  else
    close (h->fd);
  h->fd = -1;
  h->dir = NULL;
  fs->live_handles--;
}

/* ---- life cycle ---- */

int
ward_vm_fuse_new (int root_fd, bool readonly, struct ward_vm_fuse **out, ward_error_t **err)
{
  _cleanup_close_ int rfd = openat (root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0)
    return ward_error_set (err, errno, "virtio-fs: open the exported directory (fd %d)", root_fd);
  struct stat st;
  if (fstatat (rfd, "", &st, AT_EMPTY_PATH) < 0)
    return ward_error_set (err, errno, "virtio-fs: stat the exported directory");
  _cleanup_close_ int pfd = open ("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return ward_error_set (err, errno, "virtio-fs: open '/proc/self/fd'");
  struct ward_vm_fuse *fs = xzalloc (sizeof *fs);
  fs->proc_fd = TAKE_FD (pfd);
  fs->readonly = readonly;
  fs->cap_inodes = 64;
  fs->inodes = xmalloc (sizeof *fs->inodes * fs->cap_inodes);
  fs->free_inodes = xmalloc (sizeof *fs->free_inodes * fs->cap_inodes);
  fs->inodes[0] = (struct inode){ .fd = -1 };
  fs->n_inodes = 1;
  fs->n_buckets = 64;
  fs->buckets = xzalloc (sizeof *fs->buckets * fs->n_buckets);
  int64_t id = inode_add (fs, TAKE_FD (rfd), &st);
  (void) id; /* FUSE_ROOT_ID: the first slot handed out */
  *out = fs;
  return 0;
}

void
ward_vm_fuse_reset (struct ward_vm_fuse *fs)
{
  for (uint32_t i = 0; i < fs->n_handles; i++)
    if (fs->handles[i].fd >= 0)
      handle_close (fs, &fs->handles[i]);
  fs->n_handles = 0;
  for (uint32_t i = FUSE_ROOT_ID + 1; i < fs->n_inodes; i++)
    if (fs->inodes[i].fd >= 0)
      {
        close (fs->inodes[i].fd);
        fs->inodes[i].fd = -1;
      }
  fs->n_inodes = FUSE_ROOT_ID + 1;
  fs->n_free_inodes = 0;
  fs->live_inodes = 1;
  fs->inodes[FUSE_ROOT_ID].nlookup = 1;
  hash_rebuild (fs, fs->n_buckets);
  fs->initialised = false;
}

void
ward_vm_fuse_free (struct ward_vm_fuse *fs)
{
  if (fs == NULL)
    return;
  ward_vm_fuse_reset (fs);
  close (fs->inodes[FUSE_ROOT_ID].fd);
  close (fs->proc_fd);
  free (fs->inodes);
  free (fs->free_inodes);
  free (fs->buckets);
  free (fs->handles);
  free (fs);
}

void
ward_vm_fuse_counts (const struct ward_vm_fuse *fs, unsigned *inodes, unsigned *handles)
{
  *inodes = fs->live_inodes;
  *handles = fs->live_handles;
}

/* ---- replies ---- */

static uint32_t
reply (struct req *r, int error, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
  if (r->chain->writable_len < OUT_HDR)
    return 0;
  /* a reply that does not fit the guest's buffers is an error reply */
  if (error == 0 && (uint64_t) OUT_HDR + alen + blen > r->chain->writable_len)
    {
      error = -EOVERFLOW;
      alen = blen = 0;
    }
  if (error)
    alen = blen = 0;
  struct fuse_out_header h = { .len = OUT_HDR + alen + blen, .error = error, .unique = r->in.unique };
  ward_virtq_chain_write (r->chain, 0, &h, sizeof h);
  if (alen)
    ward_virtq_chain_write (r->chain, OUT_HDR, a, alen);
  if (blen)
    ward_virtq_chain_write (r->chain, OUT_HDR + alen, b, blen);
  return h.len;
}

static uint32_t
reply_err (struct req *r, int negerr)
{
  return reply (r, negerr < 0 ? negerr : -EIO, NULL, 0, NULL, 0);
}

static uint32_t
reply_ok (struct req *r, const void *a, uint32_t alen)
{
  return reply (r, 0, a, alen, NULL, 0);
}

static void
fill_attr (struct fuse_attr *a, const struct stat *st)
{
  memset (a, 0, sizeof *a);
  a->ino = st->st_ino;
  a->size = (uint64_t) st->st_size;
  a->blocks = (uint64_t) st->st_blocks;
  a->atime = (uint64_t) st->st_atim.tv_sec;
  a->mtime = (uint64_t) st->st_mtim.tv_sec;
  a->ctime = (uint64_t) st->st_ctim.tv_sec;
  a->atimensec = (uint32_t) st->st_atim.tv_nsec;
  a->mtimensec = (uint32_t) st->st_mtim.tv_nsec;
  a->ctimensec = (uint32_t) st->st_ctim.tv_nsec;
  a->mode = st->st_mode;
  a->nlink = (uint32_t) st->st_nlink;
  a->uid = st->st_uid;
  a->gid = st->st_gid;
  /* the guest's dev_t encoding is the kernel's new_encode_dev */
  unsigned ma = major (st->st_rdev), mi = minor (st->st_rdev);
  a->rdev = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
  a->blksize = (uint32_t) st->st_blksize;
}

static void
fill_entry (struct fuse_entry_out *e, uint64_t nodeid, const struct stat *st)
{
  memset (e, 0, sizeof *e);
  e->nodeid = nodeid;
  e->entry_valid = CACHE_SECS;
  e->attr_valid = CACHE_SECS;
  fill_attr (&e->attr, st);
}

/* ---- helpers on inode fds ---- */

static int
stat_fd (int fd, struct stat *st)
{
  return fstatat (fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Opens the file behind an O_PATH fd with real access flags.  Only regular
 * files and directories: a device node in the rootfs must never be opened
 * on the host (a guest could mknod the host's disk), and a FIFO would
 * block the VMM. */
static int
reopen (struct ward_vm_fuse *fs, int fd, int flags)
{
  struct stat st;
  int r = stat_fd (fd, &st);
  if (r < 0)
    return r;
  if (S_ISDIR (st.st_mode))
    {
      int d = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      return d < 0 ? -errno : d;
    }
  if (!S_ISREG (st.st_mode))
    return -EACCES;
  char name[16];
  snprintf (name, sizeof name, "%d", fd);
  int f = openat (fs->proc_fd, name, (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECTORY)) | O_CLOEXEC);
  return f < 0 ? -errno : f;
}

/* A name the guest gives for a directory entry: one component. */
static bool
name_ok (const char *name, size_t len)
{
  if (len == 0 || len > NAME_MAX || memchr (name, '/', len))
    return false;
  if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
    return false;
  return true;
}

/* Takes the next NUL-terminated name from the arguments at *off. */
static const char *
take_name (struct req *r, uint32_t *off)
{
  if (*off >= r->args_len)
    return NULL;
  const char *s = (const char *) r->args + *off;
  const char *nul = memchr (s, '\0', r->args_len - *off);
  if (nul == NULL)
    return NULL;
  size_t len = (size_t) (nul - s);
  *off += (uint32_t) len + 1;
  return name_ok (s, len) ? s : NULL;
}

static const void *
take_args (struct req *r, uint32_t size)
{
  return r->args_len >= size ? r->args : NULL;
}

/* openat(parent, name) without following anything, then into the table */
static int64_t
lookup_at (struct ward_vm_fuse *fs, int parent_fd, const char *name, struct stat *st)
{
  int fd = openat (parent_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = stat_fd (fd, st);
  if (r < 0)
    {
      close (fd);
      return r;
    }
  return inode_add (fs, fd, st);
}

static uint32_t
reply_entry (struct req *r, int parent_fd, const char *name)
{
  struct stat st;
  int64_t id = lookup_at (r->fs, parent_fd, name, &st);
  if (id < 0)
    return reply_err (r, (int) id);
  struct fuse_entry_out e;
  fill_entry (&e, (uint64_t) id, &st);
  return reply_ok (r, &e, sizeof e);
}

/* New objects belong to the requesting guest user (setgid directories
 * pass their group on, as the kernel does). */
static void
own_new (struct ward_vm_fuse *fs, int parent_fd, int fd_or_dirfd, const char *name, struct req *r)
{
  struct stat pst;
  gid_t gid = r->in.gid;
  if (stat_fd (parent_fd, &pst) == 0 && (pst.st_mode & S_ISGID))
    gid = pst.st_gid;
  (void) fs;
  if (name)
    (void) fchownat (fd_or_dirfd, name, r->in.uid, gid, AT_SYMLINK_NOFOLLOW);
  else
    (void) fchown (fd_or_dirfd, r->in.uid, gid);
}

static int
chmod_fd (struct ward_vm_fuse *fs, int fd, mode_t mode)
{
  char name[16];
  snprintf (name, sizeof name, "%d", fd);
  return fchmodat (fs->proc_fd, name, mode, 0) < 0 ? -errno : 0;
}

/* ---- requests ---- */

static uint32_t
do_init (struct req *r)
{
  /* before 7.36 the argument is 16 bytes; the rest we ignore */
  const struct fuse_init_in *in = take_args (r, 16);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION };
  if (in->major != FUSE_KERNEL_VERSION)
    {
      /* tell the guest what we speak; it retries or gives up */
      o.minor = WARD_VM_FUSE_MINOR;
      return reply (r, in->major < FUSE_KERNEL_VERSION ? -EPROTO : 0, &o, 8, NULL, 0);
    }
  /* before 7.12 the argument and attribute layouts differ: not spoken */
  if (in->minor < 12)
    return reply_err (r, -EPROTO);
  if (r->fs->initialised)
    ward_vm_fuse_reset (r->fs);
  o.minor = in->minor < WARD_VM_FUSE_MINOR ? in->minor : WARD_VM_FUSE_MINOR;
  o.max_readahead = in->max_readahead;
  /* AUTO_INVAL_DATA: the guest drops cached pages when a GETATTR shows
   * the host changed the file, which makes FOPEN_KEEP_CACHE safe */
  uint32_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS
                  | FUSE_READDIRPLUS_AUTO | FUSE_MAX_PAGES | FUSE_PARALLEL_DIROPS
                  | FUSE_AUTO_INVAL_DATA | FUSE_CACHE_SYMLINKS;
  o.flags = in->flags & want;
  o.max_background = 64;
  o.congestion_threshold = 48;
  o.max_write = WARD_VM_FUSE_MAX_WRITE;
  o.time_gran = 1;
  o.max_pages = WARD_VM_FUSE_MAX_WRITE / 4096;
  r->fs->initialised = true;
  /* guests before 7.23 expect the 24-byte reply */
  uint32_t len = o.minor < 23 ? 24 : (uint32_t) sizeof o;
  return reply_ok (r, &o, len);
}

static uint32_t
do_lookup (struct req *r, struct inode *dir)
{
  uint32_t off = 0;
  const char *name = take_name (r, &off);
  if (name == NULL)
    return reply_err (r, -EINVAL);
  return reply_entry (r, dir->fd, name);
}

static uint32_t
do_forget (struct req *r)
{
  const struct fuse_forget_in *in = take_args (r, sizeof *in);
  if (in)
    inode_forget (r->fs, r->in.nodeid, in->nlookup);
  return 0;
}

static uint32_t
do_batch_forget (struct req *r)
{
  const struct fuse_batch_forget_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return 0;
  uint64_t room = (r->args_len - sizeof *in) / sizeof (struct fuse_forget_one);
  uint64_t n = in->count < room ? in->count : room;
  for (uint64_t i = 0; i < n; i++)
    {
      struct fuse_forget_one one;
      memcpy (&one, r->args + sizeof *in + i * sizeof one, sizeof one);
      inode_forget (r->fs, one.nodeid, one.nlookup);
    }
  return 0;
}

static uint32_t
reply_attr (struct req *r, int fd)
{
  struct stat st;
  int e = stat_fd (fd, &st);
  if (e < 0)
    return reply_err (r, e);
  struct fuse_attr_out o = { .attr_valid = CACHE_SECS };
  fill_attr (&o.attr, &st);
  return reply_ok (r, &o, sizeof o);
}

static uint32_t
do_setattr (struct req *r, struct inode *ino)
{
  const struct fuse_setattr_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  struct stat st;
  int e = stat_fd (ino->fd, &st);
  if (e < 0)
    return reply_err (r, e);
  if (in->valid & FATTR_MODE)
    {
      if (S_ISLNK (st.st_mode))
        return reply_err (r, -EOPNOTSUPP);
      e = chmod_fd (r->fs, ino->fd, in->mode & 07777);
      if (e < 0)
        return reply_err (r, e);
    }
  if (in->valid & (FATTR_UID | FATTR_GID))
    {
      uid_t uid = (in->valid & FATTR_UID) ? in->uid : (uid_t) -1;
      gid_t gid = (in->valid & FATTR_GID) ? in->gid : (gid_t) -1;
      if (fchownat (ino->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return reply_err (r, -errno);
    }
  if (in->valid & FATTR_SIZE)
    {
      struct handle *h = (in->valid & FATTR_FH) ? handle_get (r->fs, in->fh, false) : NULL;
      _cleanup_close_ int own = -1;
      int fd;
      if (h)
        fd = h->fd;
      else
        {
          if (!S_ISREG (st.st_mode))
            return reply_err (r, S_ISDIR (st.st_mode) ? -EISDIR : -EINVAL);
          own = reopen (r->fs, ino->fd, O_WRONLY);
          if (own < 0)
            return reply_err (r, own);
          fd = own;
        }
      if (in->size > (uint64_t) INT64_MAX)
        return reply_err (r, -EFBIG);
      if (ftruncate (fd, (off_t) in->size) < 0)
        return reply_err (r, -errno);
    }
  if (in->valid & (FATTR_ATIME | FATTR_MTIME))
    {
      struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
      if (in->valid & FATTR_ATIME_NOW)
        t[0].tv_nsec = UTIME_NOW;
      else if (in->valid & FATTR_ATIME)
        t[0] = (struct timespec){ (time_t) in->atime, in->atimensec % 1000000000 };
      if (in->valid & FATTR_MTIME_NOW)
        t[1].tv_nsec = UTIME_NOW;
      else if (in->valid & FATTR_MTIME)
        t[1] = (struct timespec){ (time_t) in->mtime, in->mtimensec % 1000000000 };
      if (S_ISLNK (st.st_mode))
        {
          /* utimensat cannot reach a symlink through an O_PATH fd */
          if (utimensat (ino->fd, "", t, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
            return reply_err (r, -errno);
        }
      else
        {
          char name[16];
          snprintf (name, sizeof name, "%d", ino->fd);
          if (utimensat (r->fs->proc_fd, name, t, 0) < 0)
            return reply_err (r, -errno);
        }
    }
  return reply_attr (r, ino->fd);
}

static uint32_t
do_readlink (struct req *r, struct inode *ino)
{
  char buf[PATH_MAX];
  ssize_t n = readlinkat (ino->fd, "", buf, sizeof buf);
  if (n < 0)
    return reply_err (r, -errno);
  return reply_ok (r, buf, (uint32_t) n);
}

static uint32_t
do_mknod_like (struct req *r, struct inode *dir)
{
  struct ward_vm_fuse *fs = r->fs;
  uint32_t off = 0;
  const char *name = NULL;
  mode_t mode = 0;
  dev_t rdev = 0;
  const char *target = NULL;
  int e = 0;

  if (fs->readonly)
    return reply_err (r, -EROFS);
  switch (r->in.opcode)
    {
    case FUSE_MKDIR:
      {
        const struct fuse_mkdir_in *in = take_args (r, sizeof *in);
        if (in == NULL)
          return reply_err (r, -EINVAL);
        mode = in->mode & 07777;
        off = sizeof *in;
        break;
      }
    case FUSE_MKNOD:
      {
        const struct fuse_mknod_in *in = take_args (r, sizeof *in);
        if (in == NULL)
          return reply_err (r, -EINVAL);
        mode = in->mode;
        /* the guest encodes dev_t as new_encode_dev */
        rdev = makedev ((in->rdev & 0xfff00) >> 8, (in->rdev & 0xff) | ((in->rdev >> 12) & 0xfff00));
        off = sizeof *in;
        break;
      }
    default: /* FUSE_SYMLINK: the entry name, then the target */
      break;
    }
  name = take_name (r, &off);
  if (name == NULL)
    return reply_err (r, -EINVAL);
  if (r->in.opcode == FUSE_SYMLINK)
    {
      /* the target is data, never resolved here: any string will do */
      if (off >= r->args_len || memchr (r->args + off, '\0', r->args_len - off) == NULL)
        return reply_err (r, -EINVAL);
      target = (const char *) r->args + off;
      if (strlen (target) >= PATH_MAX)
        return reply_err (r, -ENAMETOOLONG);
    }

  if (r->in.opcode == FUSE_MKDIR)
    e = mkdirat (dir->fd, name, mode);
  else if (r->in.opcode == FUSE_SYMLINK)
    e = symlinkat (target, dir->fd, name);
  else
    {
      switch (mode & S_IFMT)
        {
        case S_IFREG:
        case S_IFIFO:
        case S_IFSOCK:
        case S_IFCHR:
        case S_IFBLK:
          break;
        default:
          return reply_err (r, -EINVAL);
        }
      e = mknodat (dir->fd, name, mode, rdev);
    }
  if (e < 0)
    return reply_err (r, -errno);
  own_new (fs, dir->fd, dir->fd, name, r);
  struct stat st;
  int64_t id = lookup_at (fs, dir->fd, name, &st);
  if (id < 0)
    return reply_err (r, (int) id);
  /* our umask must not narrow what the guest asked for */
  if (r->in.opcode != FUSE_SYMLINK && (st.st_mode & 07777) != (mode & 07777))
    {
      if (chmod_fd (fs, fs->inodes[id].fd, mode & 07777) == 0)
        (void) stat_fd (fs->inodes[id].fd, &st);
    }
  struct fuse_entry_out eo;
  fill_entry (&eo, (uint64_t) id, &st);
  return reply_ok (r, &eo, sizeof eo);
}

static uint32_t
do_unlink (struct req *r, struct inode *dir)
{
  uint32_t off = 0;
  const char *name = take_name (r, &off);
  if (name == NULL)
    return reply_err (r, -EINVAL);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  if (unlinkat (dir->fd, name, r->in.opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0) < 0)
    return reply_err (r, -errno);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_rename (struct req *r, struct inode *dir)
{
  uint64_t newdir;
  uint32_t flags = 0, off;
  if (r->in.opcode == FUSE_RENAME2)
    {
      const struct fuse_rename2_in *in = take_args (r, sizeof *in);
      if (in == NULL)
        return reply_err (r, -EINVAL);
      newdir = in->newdir;
      flags = in->flags;
      off = sizeof *in;
    }
  else
    {
      const struct fuse_rename_in *in = take_args (r, sizeof *in);
      if (in == NULL)
        return reply_err (r, -EINVAL);
      newdir = in->newdir;
      off = sizeof *in;
    }
  const char *oldname = take_name (r, &off);
  const char *newname = oldname ? take_name (r, &off) : NULL;
  if (newname == NULL)
    return reply_err (r, -EINVAL);
  struct inode *nd = inode_get (r->fs, newdir);
  if (nd == NULL)
    return reply_err (r, -EBADF);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  /* RENAME_WHITEOUT would create a device node: not for guests */
  if (flags & ~(unsigned) (RENAME_NOREPLACE | RENAME_EXCHANGE))
    return reply_err (r, -EINVAL);
  if (renameat2 (dir->fd, oldname, nd->fd, newname, flags) < 0)
    return reply_err (r, -errno);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_link (struct req *r, struct inode *dir)
{
  const struct fuse_link_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  uint32_t off = sizeof *in;
  const char *name = take_name (r, &off);
  if (name == NULL)
    return reply_err (r, -EINVAL);
  struct inode *old = inode_get (r->fs, in->oldnodeid);
  if (old == NULL)
    return reply_err (r, -EBADF);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  /* the O_PATH fd itself (AT_EMPTY_PATH): no name is resolved again */
  if (linkat (old->fd, "", dir->fd, name, AT_EMPTY_PATH) < 0)
    {
      /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the magic link does not */
      char num[16];
      snprintf (num, sizeof num, "%d", old->fd);
      struct stat st;
      if (errno != ENOENT && errno != EPERM)
        return reply_err (r, -errno);
      /* a symlink behind the magic link could be followed out of the root */
      if (stat_fd (old->fd, &st) < 0 || S_ISLNK (st.st_mode))
        return reply_err (r, -EPERM);
      if (linkat (r->fs->proc_fd, num, dir->fd, name, AT_SYMLINK_FOLLOW) < 0)
        return reply_err (r, -errno);
    }
  return reply_entry (r, dir->fd, name);
}

static int
open_flags_ok (struct ward_vm_fuse *fs, uint32_t flags)
{
  if (fs->readonly && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
    return -EROFS;
  return 0;
}

/* what the guest may ask of open(2) on the host file */
#define OPEN_FLAGS_KEPT (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME)

static uint32_t
do_open (struct req *r, struct inode *ino, bool dir)
{
  const struct fuse_open_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct stat st;
  int e = stat_fd (ino->fd, &st);
  if (e < 0)
    return reply_err (r, e);
  if (dir != S_ISDIR (st.st_mode))
    return reply_err (r, dir ? -ENOTDIR : -EISDIR);
  if (!dir && !S_ISREG (st.st_mode))
    return reply_err (r, -EACCES);
  int64_t fh;
  if (dir)
    {
      int fd = openat (ino->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return reply_err (r, -errno);
      DIR *d = fdopendir (fd);
      if (d == NULL)
        {
          e = -errno;
          close (fd);
          return reply_err (r, e);
        }
      fh = handle_add (r->fs, fd, d);
      if (fh < 0)
        closedir (d);
    }
  else
    {
      e = open_flags_ok (r->fs, in->flags);
      if (e < 0)
        return reply_err (r, e);
      int fd = reopen (r->fs, ino->fd, (int) (in->flags & OPEN_FLAGS_KEPT));
      if (fd < 0)
        return reply_err (r, fd);
      fh = handle_add (r->fs, fd, NULL);
      if (fh < 0)
        close (fd);
    }
  if (fh < 0)
    return reply_err (r, (int) fh);
  /* keep the guest's page cache across opens (binaries, libraries) */
  struct fuse_open_out o = { .fh = (uint64_t) fh, .open_flags = dir ? 0 : FOPEN_KEEP_CACHE };
  return reply_ok (r, &o, sizeof o);
}

static uint32_t
do_create (struct req *r, struct inode *dir)
{
  const struct fuse_create_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  uint32_t off = sizeof *in;
  const char *name = take_name (r, &off);
  if (name == NULL)
    return reply_err (r, -EINVAL);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  /* O_NOFOLLOW: a (dangling) symlink planted under this name must not make
   * us create or open a file wherever it points */
  int flags = (int) (in->flags & OPEN_FLAGS_KEPT) | O_NOFOLLOW | O_CLOEXEC;
  mode_t mode = in->mode & 07777;
  /* O_EXCL first: only a file made here gets the caller's ownership */
  _cleanup_close_ int fd = openat (dir->fd, name, flags | O_CREAT | O_EXCL, mode);
  bool made = fd >= 0;
  if (fd < 0 && errno == EEXIST && !(in->flags & O_EXCL))
    {
      /* it appeared meanwhile: open it as OPEN would (regular files only,
       * never a device node or FIFO someone put there) */
      _cleanup_close_ int p = openat (dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (p < 0)
        return reply_err (r, -errno);
      fd = reopen (r->fs, p, flags & OPEN_FLAGS_KEPT);
      if (fd < 0)
        return reply_err (r, fd);
    }
  if (fd < 0)
    return reply_err (r, -errno);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return reply_err (r, -errno);
  if (!S_ISREG (st.st_mode))
    return reply_err (r, -EACCES);
  if (made)
    {
      own_new (r->fs, dir->fd, fd, NULL, r);
      if ((st.st_mode & 07777) != mode)
        (void) fchmod (fd, mode);
    }
  int pfd = openat (dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0)
    return reply_err (r, -errno);
  int e = stat_fd (pfd, &st);
  if (e < 0)
    {
      close (pfd);
      return reply_err (r, e);
    }
  int64_t id = inode_add (r->fs, pfd, &st);
  if (id < 0)
    return reply_err (r, (int) id);
  int64_t fh = handle_add (r->fs, fd, NULL);
  if (fh < 0)
    {
      inode_forget (r->fs, (uint64_t) id, 1);
      return reply_err (r, (int) fh);
    }
  fd = -1; /* the handle owns it */
  struct
  {
    struct fuse_entry_out e;
    struct fuse_open_out o;
  } out;
  fill_entry (&out.e, (uint64_t) id, &st);
  memset (&out.o, 0, sizeof out.o);
  out.o.fh = (uint64_t) fh;
  uint32_t n = reply_ok (r, &out, sizeof out);
  if (n == OUT_HDR)
    {
      /* the reply did not fit: the guest never learns the handle */
      handle_close (r->fs, &r->fs->handles[fh - 1]);
      inode_forget (r->fs, (uint64_t) id, 1);
    }
  return n;
}

/* iovecs over [off, off+len) of the chain's readable or writable part */
static int
chain_iov (const struct ward_virtq_chain *c, bool writable, uint64_t off, uint64_t len,
           struct iovec *iov)
{
  int n = 0;
  for (size_t i = 0; i < c->n_segs && len > 0 && n < MAX_IOV; i++)
    {
      const struct ward_virtq_seg *s = &c->segs[i];
      if (s->writable != writable)
        continue;
      if (off >= s->len)
        {
          off -= s->len;
          continue;
        }
      uint64_t take = s->len - off;
      if (take > len)
        take = len;
      iov[n++] = (struct iovec){ .iov_base = s->host + off, .iov_len = (size_t) take };
      len -= take;
      off = 0;
    }
  return n;
}

static uint32_t
do_read (struct req *r)
{
  const struct fuse_read_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct handle *h = handle_get (r->fs, in->fh, false);
  if (h == NULL)
    return reply_err (r, -EBADF);
  if (in->offset > (uint64_t) INT64_MAX)
    return reply_err (r, -EINVAL);
  if (r->chain->writable_len < OUT_HDR)
    return 0;
  uint64_t size = in->size;
  if (size > WARD_VM_FUSE_MAX_WRITE)
    size = WARD_VM_FUSE_MAX_WRITE;
  if (size > r->chain->writable_len - OUT_HDR)
    size = r->chain->writable_len - OUT_HDR;
  _cleanup_free_ struct iovec *iov = xmalloc (sizeof *iov * MAX_IOV);
  int n = chain_iov (r->chain, true, OUT_HDR, size, iov);
  ssize_t got = n > 0 ? preadv (h->fd, iov, n, (off_t) in->offset) : 0;
  if (got < 0)
    return reply_err (r, -errno);
  struct fuse_out_header oh = { .len = OUT_HDR + (uint32_t) got, .unique = r->in.unique };
  ward_virtq_chain_write (r->chain, 0, &oh, sizeof oh);
  return oh.len;
}

static uint32_t
do_write (struct req *r)
{
  const struct fuse_write_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  struct handle *h = handle_get (r->fs, in->fh, false);
  if (h == NULL)
    return reply_err (r, -EBADF);
  uint64_t data_off = IN_HDR + sizeof *in;
  /* the data must be in the request as the header says */
  if (in->size > WARD_VM_FUSE_MAX_WRITE || data_off + in->size > r->total_len)
    return reply_err (r, -EINVAL);
  if (in->offset > (uint64_t) INT64_MAX)
    return reply_err (r, -EINVAL);
  _cleanup_free_ struct iovec *iov = xmalloc (sizeof *iov * MAX_IOV);
  int n = chain_iov (r->chain, false, data_off, in->size, iov);
  ssize_t put = n > 0 ? pwritev (h->fd, iov, n, (off_t) in->offset) : 0;
  if (put < 0)
    return reply_err (r, -errno);
  struct fuse_write_out o = { .size = (uint32_t) put };
  return reply_ok (r, &o, sizeof o);
}

static uint32_t
do_statfs (struct req *r, struct inode *ino)
{
  struct statfs s;
  if (fstatfs (ino->fd, &s) < 0)
    return reply_err (r, -errno);
  struct fuse_statfs_out o = { 0 };
  o.st.blocks = s.f_blocks;
  o.st.bfree = s.f_bfree;
  o.st.bavail = s.f_bavail;
  o.st.files = s.f_files;
  o.st.ffree = s.f_ffree;
  o.st.bsize = (uint32_t) s.f_bsize;
  o.st.namelen = (uint32_t) s.f_namelen;
  o.st.frsize = (uint32_t) s.f_frsize;
  return reply_ok (r, &o, sizeof o);
}

static uint32_t
do_release (struct req *r, bool dir)
{
  const struct fuse_release_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct handle *h = handle_get (r->fs, in->fh, dir);
  if (h == NULL)
    return reply_err (r, -EBADF);
  handle_close (r->fs, h);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_fsync (struct req *r, bool dir)
{
  const struct fuse_fsync_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct handle *h = handle_get (r->fs, in->fh, dir);
  if (h == NULL)
    return reply_err (r, -EBADF);
  int e = (in->fsync_flags & 1) ? fdatasync (h->fd) : fsync (h->fd);
  return e < 0 ? reply_err (r, -errno) : reply_ok (r, NULL, 0);
}

static uint32_t
do_flush (struct req *r)
{
  const struct fuse_flush_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  if (handle_get (r->fs, in->fh, false) == NULL)
    return reply_err (r, -EBADF);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_readdir (struct req *r, bool plus)
{
  const struct fuse_read_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct handle *h = handle_get (r->fs, in->fh, true);
  if (h == NULL)
    return reply_err (r, -EBADF);
  if (r->chain->writable_len < OUT_HDR)
    return 0;
  uint64_t room = in->size;
  if (room > r->chain->writable_len - OUT_HDR)
    room = r->chain->writable_len - OUT_HDR;
  if (room > WARD_VM_FUSE_MAX_WRITE)
    room = WARD_VM_FUSE_MAX_WRITE;
  /* offsets are the d_off cookies we handed out; 0 is the start */
  if (in->offset == 0)
    rewinddir (h->dir);
  else
    seekdir (h->dir, (long) in->offset);
  _cleanup_free_ uint8_t *buf = xmalloc (room ? room : 1);
  uint64_t used = 0;
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (h->dir);
      if (de == NULL)
        {
          if (errno && used == 0)
            return reply_err (r, -errno);
          break;
        }
      size_t namelen = strlen (de->d_name);
      size_t dsize = FUSE_NAME_OFFSET + namelen;
      size_t need = plus ? FUSE_DIRENT_ALIGN (sizeof (struct fuse_entry_out) + dsize)
                         : FUSE_DIRENT_ALIGN (dsize);
      if (used + need > room)
        {
          /* give this entry to the next call */
          break;
        }
      uint8_t *p = buf + used;
      memset (p, 0, need);
      struct fuse_dirent *d;
      if (plus)
        {
          struct fuse_entry_out *e = (struct fuse_entry_out *) p;
          d = (struct fuse_dirent *) (p + sizeof *e);
          bool dot = de->d_name[0] == '.'
                     && (namelen == 1 || (namelen == 2 && de->d_name[1] == '.'));
          /* "." and "..": no lookup (".." of the root is outside it); the
           * guest skips nodeid 0 entries for linking */
          if (!dot)
            {
              struct stat st;
              int64_t id = lookup_at (r->fs, dirfd (h->dir), de->d_name, &st);
              if (id > 0)
                fill_entry (e, (uint64_t) id, &st);
            }
        }
      else
        d = (struct fuse_dirent *) p;
      d->ino = de->d_ino;
      d->off = (uint64_t) de->d_off;
      d->namelen = (uint32_t) namelen;
      d->type = de->d_type;
      memcpy (d->name, de->d_name, namelen);
      used += need;
    }
  return reply (r, 0, buf, (uint32_t) used, NULL, 0);
}

static uint32_t
do_access (struct req *r, struct inode *ino)
{
  const struct fuse_access_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct stat st;
  int e = stat_fd (ino->fd, &st);
  if (e < 0)
    return reply_err (r, e);
  if ((in->mask & W_OK) && r->fs->readonly)
    return reply_err (r, -EROFS);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_fallocate (struct req *r)
{
  const struct fuse_fallocate_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  if (r->fs->readonly)
    return reply_err (r, -EROFS);
  struct handle *h = handle_get (r->fs, in->fh, false);
  if (h == NULL)
    return reply_err (r, -EBADF);
  if (in->offset > (uint64_t) INT64_MAX || in->length > (uint64_t) INT64_MAX)
    return reply_err (r, -EINVAL);
  if (fallocate (h->fd, (int) in->mode, (off_t) in->offset, (off_t) in->length) < 0)
    return reply_err (r, -errno);
  return reply_ok (r, NULL, 0);
}

static uint32_t
do_lseek (struct req *r)
{
  const struct fuse_lseek_in *in = take_args (r, sizeof *in);
  if (in == NULL)
    return reply_err (r, -EINVAL);
  struct handle *h = handle_get (r->fs, in->fh, false);
  if (h == NULL)
    return reply_err (r, -EBADF);
  if (in->whence != SEEK_DATA && in->whence != SEEK_HOLE)
    return reply_err (r, -EINVAL);
  if (in->offset > (uint64_t) INT64_MAX)
    return reply_err (r, -EINVAL);
  off_t o = lseek (h->fd, (off_t) in->offset, (int) in->whence);
  if (o < 0)
    return reply_err (r, -errno);
  struct fuse_lseek_out out = { .offset = (uint64_t) o };
  return reply_ok (r, &out, sizeof out);
}

/* xattr names the guest may set or remove on host files: its own user.*
 * attributes and file capabilities (what a container with CAP_SETFCAP can
 * do under runc).  Never trusted.* (overlayfs redirects and metacopy
 * pointers the host would honour if it ever used the tree as a layer) nor
 * other security.* labels. */
static bool
xattr_writable (const char *name)
{
  return strncmp (name, "user.", 5) == 0 || strcmp (name, "security.capability") == 0;
}

static const char *
take_xattr_name (struct req *r, uint32_t *off)
{
  if (*off >= r->args_len)
    return NULL;
  const char *s = (const char *) r->args + *off;
  const char *nul = memchr (s, '\0', r->args_len - *off);
  if (nul == NULL || nul == s || nul - s > XATTR_NAME_MAX)
    return NULL;
  *off += (uint32_t) (nul - s) + 1;
  return s;
}

/* xattrs go through a real fd: regular files and directories only (no
 * device is ever opened), symlinks have none we can reach */
static uint32_t
do_xattr (struct req *r, struct inode *ino)
{
  uint32_t op = r->in.opcode, off = 0;
  const struct fuse_getxattr_in *gin = NULL;
  const struct fuse_setxattr_in *sin = NULL;
  const char *name = NULL;
  if (op == FUSE_GETXATTR || op == FUSE_LISTXATTR)
    {
      gin = take_args (r, sizeof *gin);
      if (gin == NULL)
        return reply_err (r, -EINVAL);
      off = sizeof *gin;
    }
  else if (op == FUSE_SETXATTR)
    {
      /* without FUSE_SETXATTR_EXT the argument is the 8-byte compat one */
      sin = take_args (r, FUSE_COMPAT_SETXATTR_IN_SIZE);
      if (sin == NULL)
        return reply_err (r, -EINVAL);
      off = FUSE_COMPAT_SETXATTR_IN_SIZE;
    }
  if (op != FUSE_LISTXATTR)
    {
      name = take_xattr_name (r, &off);
      if (name == NULL)
        return reply_err (r, -EINVAL);
    }
  if (op == FUSE_SETXATTR || op == FUSE_REMOVEXATTR)
    {
      if (r->fs->readonly)
        return reply_err (r, -EROFS);
      if (!xattr_writable (name))
        return reply_err (r, -EPERM);
    }
  if (op == FUSE_SETXATTR && (sin->size > XATTR_SIZE_MAX || sin->size > r->args_len - off))
    return reply_err (r, -EINVAL);
  struct stat st;
  int e = stat_fd (ino->fd, &st);
  if (e < 0)
    return reply_err (r, e);
  if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
    return reply_err (r, -EOPNOTSUPP);
  _cleanup_close_ int fd = reopen (r->fs, ino->fd, O_RDONLY);
  if (fd < 0)
    return reply_err (r, fd);
  if (op == FUSE_SETXATTR)
    {
      if (fsetxattr (fd, name, r->args + off, sin->size, (int) (sin->flags & (XATTR_CREATE | XATTR_REPLACE))) < 0)
        return reply_err (r, -errno);
      return reply_ok (r, NULL, 0);
    }
  if (op == FUSE_REMOVEXATTR)
    {
      if (fremovexattr (fd, name) < 0)
        return reply_err (r, -errno);
      return reply_ok (r, NULL, 0);
    }
  uint32_t want = gin->size > XATTR_SIZE_MAX ? XATTR_SIZE_MAX : gin->size;
  _cleanup_free_ char *buf = xmalloc (want ? want : 1);
  ssize_t n = op == FUSE_GETXATTR ? fgetxattr (fd, name, want ? buf : NULL, want)
                                  : flistxattr (fd, want ? buf : NULL, want);
  if (n < 0)
    return reply_err (r, -errno);
  if (want == 0)
    {
      /* size 0 asks how big the value or list is */
      struct fuse_getxattr_out o = { .size = (uint32_t) n };
      return reply_ok (r, &o, sizeof o);
    }
  return reply_ok (r, buf, (uint32_t) n);
}

/* requests that name an inode (the header's nodeid) */
static bool
needs_inode (uint32_t opcode)
{
  switch (opcode)
    {
    case FUSE_LOOKUP:
    case FUSE_GETATTR:
    case FUSE_SETATTR:
    case FUSE_READLINK:
    case FUSE_SYMLINK:
    case FUSE_MKNOD:
    case FUSE_MKDIR:
    case FUSE_UNLINK:
    case FUSE_RMDIR:
    case FUSE_RENAME:
    case FUSE_RENAME2:
    case FUSE_LINK:
    case FUSE_OPEN:
    case FUSE_OPENDIR:
    case FUSE_STATFS:
    case FUSE_ACCESS:
    case FUSE_CREATE:
    case FUSE_GETXATTR:
    case FUSE_LISTXATTR:
    case FUSE_SETXATTR:
    case FUSE_REMOVEXATTR:
      return true;
    default:
      return false;
    }
}

static uint32_t
dispatch (struct req *r)
{
  uint32_t op = r->in.opcode;
  if (op == FUSE_INIT)
    return do_init (r);
  if (op == FUSE_FORGET)
    return do_forget (r);
  if (op == FUSE_BATCH_FORGET)
    return do_batch_forget (r);
  if (op == FUSE_INTERRUPT)
    return 0; /* every request completes before the next one is read */
  if (!r->fs->initialised)
    return reply_err (r, -EIO);
  struct inode *ino = NULL;
  if (needs_inode (op))
    {
      ino = inode_get (r->fs, r->in.nodeid);
      if (ino == NULL)
        return reply_err (r, -EBADF);
    }
  switch (op)
    {
    case FUSE_LOOKUP:
      return do_lookup (r, ino);
    case FUSE_GETATTR:
      return reply_attr (r, ino->fd);
    case FUSE_SETATTR:
      return do_setattr (r, ino);
    case FUSE_READLINK:
      return do_readlink (r, ino);
    case FUSE_SYMLINK:
    case FUSE_MKNOD:
    case FUSE_MKDIR:
      return do_mknod_like (r, ino);
    case FUSE_UNLINK:
    case FUSE_RMDIR:
      return do_unlink (r, ino);
    case FUSE_RENAME:
    case FUSE_RENAME2:
      return do_rename (r, ino);
    case FUSE_LINK:
      return do_link (r, ino);
    case FUSE_OPEN:
      return do_open (r, ino, false);
    case FUSE_OPENDIR:
      return do_open (r, ino, true);
    case FUSE_READ:
      return do_read (r);
    case FUSE_WRITE:
      return do_write (r);
    case FUSE_STATFS:
      return do_statfs (r, ino);
    case FUSE_RELEASE:
      return do_release (r, false);
    case FUSE_RELEASEDIR:
      return do_release (r, true);
    case FUSE_FSYNC:
      return do_fsync (r, false);
    case FUSE_FSYNCDIR:
      return do_fsync (r, true);
    case FUSE_FLUSH:
      return do_flush (r);
    case FUSE_READDIR:
      return do_readdir (r, false);
    case FUSE_READDIRPLUS:
      return do_readdir (r, true);
    case FUSE_ACCESS:
      return do_access (r, ino);
    case FUSE_CREATE:
      return do_create (r, ino);
    case FUSE_FALLOCATE:
      return do_fallocate (r);
    case FUSE_LSEEK:
      return do_lseek (r);
    case FUSE_GETXATTR:
    case FUSE_LISTXATTR:
    case FUSE_SETXATTR:
    case FUSE_REMOVEXATTR:
      return do_xattr (r, ino);
    case FUSE_SYNCFS:
      {
        /* the guest's sync(2): our writes are in the host page cache */
        _cleanup_close_ int d = openat (r->fs->inodes[FUSE_ROOT_ID].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0 || syncfs (d) < 0)
          return reply_err (r, -errno);
        return reply_ok (r, NULL, 0);
      }
    case FUSE_DESTROY:
      ward_vm_fuse_reset (r->fs);
      return reply_ok (r, NULL, 0);
    default:
      /* ENOSYS makes the guest stop asking */
      return reply_err (r, -ENOSYS);
    }
}

uint32_t
ward_vm_fuse_handle (struct ward_vm_fuse *fs, const struct ward_virtq_chain *chain)
{
  struct req r = { .fs = fs, .chain = chain };
  /* one copy of the header: the guest may rewrite its buffer meanwhile */
  if (chain->readable_len < IN_HDR
      || ward_virtq_chain_read (chain, 0, &r.in, sizeof r.in) != sizeof r.in)
    return 0;
  if (r.in.len < IN_HDR || r.in.len > chain->readable_len)
    {
      ward_debug ("virtio-fs: request length %u, chain has %llu bytes", r.in.len,
                  (unsigned long long) chain->readable_len);
      return reply_err (&r, -EINVAL);
    }
  r.total_len = r.in.len;
  uint32_t alen = r.in.len - IN_HDR;
  /* WRITE data is read from the chain where it lies; everything else is
   * small and copied once */
  if (r.in.opcode == FUSE_WRITE && alen > sizeof (struct fuse_write_in))
    alen = sizeof (struct fuse_write_in);
  uint8_t stack_args[REQ_COPY_MAX + 8] __attribute__ ((aligned (8)));
  _cleanup_free_ uint8_t *heap_args = NULL;
  uint8_t *args = stack_args;
  if (alen > REQ_COPY_MAX)
    {
      if (r.in.opcode == FUSE_BATCH_FORGET)
        alen = REQ_COPY_MAX;
      else if (r.in.opcode == FUSE_SETXATTR && alen <= XATTR_REQ_MAX)
        args = heap_args = xmalloc (alen + 8);
      else
        return reply_err (&r, -EINVAL);
    }
  ward_virtq_chain_read (chain, IN_HDR, args, alen);
  /* a terminator past the end, so that no string scan runs off */
  args[alen] = '\0';
  r.args = args;
  r.args_len = alen;
  return dispatch (&r);
}
