/* The virtio-fs FUSE server driven with crafted requests on a temp dir:
 * INIT, lookup/getattr/read/write/readdir(plus)/create/mkdir/symlink/
 * rename/link/unlink/rmdir/setattr/statfs, and a hostile guest: "." and
 * ".." and "a/b" names, lookups through a symlink to /etc, creating
 * through a dangling symlink, forged nodeids and file handles, lengths
 * that lie, truncated arguments, a reply buffer too small, device nodes
 * and FIFOs that must not be opened on the host, a read-only export. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/fuse.h"
#include "runtime/vm/vm.h"
#include "tests/unit/tap.h"

#define REQ_MAX (1u << 16)
#define REP_MAX (1u << 16)

static uint8_t req[REQ_MAX] __attribute__ ((aligned (8)));
static uint8_t rep[REP_MAX] __attribute__ ((aligned (8)));
static struct ward_virtq_chain chain;
static uint64_t unique;
static struct ward_vm_fuse *fs;
static char dir[64];
static int dfd;

/* Sends opcode on nodeid with arg + names; the request header claims
 * claim_len when not 0.  Returns the reply's error (0 or -errno), or 1
 * when no reply came. */
static int
send_ex (uint32_t opcode, uint64_t nodeid, const void *arg, size_t alen, const char *n1,
         const char *n2, uint32_t rep_cap, uint32_t claim_len, uint32_t *rlen)
{
  size_t off = sizeof (struct fuse_in_header);
  if (alen)
    memcpy (req + off, arg, alen);
  off += alen;
  if (n1)
    {
      memcpy (req + off, n1, strlen (n1) + 1);
      off += strlen (n1) + 1;
    }
  if (n2)
    {
      memcpy (req + off, n2, strlen (n2) + 1);
      off += strlen (n2) + 1;
    }
  struct fuse_in_header h = { .len = claim_len ? claim_len : (uint32_t) off, .opcode = opcode,
                              .unique = ++unique, .nodeid = nodeid, .uid = 1234, .gid = 5678 };
  memcpy (req, &h, sizeof h);
  memset (rep, 0xee, sizeof rep);
  chain.n_segs = 2;
  chain.segs[0] = (struct ward_virtq_seg){ .host = req, .len = (uint32_t) off };
  chain.segs[1] = (struct ward_virtq_seg){ .host = rep, .len = rep_cap, .writable = true };
  chain.readable_len = off;
  chain.writable_len = rep_cap;
  uint32_t n = ward_vm_fuse_handle (fs, &chain);
  if (rlen)
    *rlen = n;
  if (n < sizeof (struct fuse_out_header))
    return 1;
  struct fuse_out_header oh;
  memcpy (&oh, rep, sizeof oh);
  if (oh.unique != unique || oh.len != n)
    return 2;
  return oh.error;
}

static int
send (uint32_t opcode, uint64_t nodeid, const void *arg, size_t alen, const char *n1,
      const char *n2)
{
  return send_ex (opcode, nodeid, arg, alen, n1, n2, REP_MAX, 0, NULL);
}

static void *
body (void)
{
  return rep + sizeof (struct fuse_out_header);
}

static uint64_t
lookup (uint64_t parent, const char *name, struct fuse_entry_out *e)
{
  struct fuse_entry_out tmp;
  if (e == NULL)
    e = &tmp;
  if (send (FUSE_LOOKUP, parent, NULL, 0, name, NULL) != 0)
    return 0;
  memcpy (e, body (), sizeof *e);
  return e->nodeid;
}

static uint64_t
open_node (uint64_t node, uint32_t flags, int opcode, int *error)
{
  struct fuse_open_in in = { .flags = flags };
  int e = send (opcode, node, &in, sizeof in, NULL, NULL);
  if (error)
    *error = e;
  if (e)
    return 0;
  struct fuse_open_out o;
  memcpy (&o, body (), sizeof o);
  return o.fh;
}

static int
read_fh (uint64_t fh, uint64_t off, uint32_t size, char *out, size_t cap)
{
  struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
  uint32_t n;
  int e = send_ex (FUSE_READ, 0, &in, sizeof in, NULL, NULL, REP_MAX, 0, &n);
  if (e)
    return e;
  size_t got = n - sizeof (struct fuse_out_header);
  if (got >= cap)
    got = cap - 1;
  memcpy (out, body (), got);
  out[got] = '\0';
  return (int) got;
}

static bool
host_file_is (const char *rel, const char *want)
{
  char buf[256] = "";
  int fd = openat (dfd, rel, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return strcmp (buf, want) == 0;
}

/* the names a READDIR(PLUS) reply lists, joined by ',' */
static void
dir_names (bool plus, uint32_t n, char *out, size_t cap, int *dot_nodeids)
{
  size_t pos = sizeof (struct fuse_out_header);
  uint64_t ids[64];
  size_t n_ids = 0;
  out[0] = '\0';
  *dot_nodeids = 0;
  while (pos < n)
    {
      struct fuse_entry_out e = { 0 };
      if (plus)
        {
          memcpy (&e, rep + pos, sizeof e);
          pos += sizeof e;
        }
      struct fuse_dirent d;
      memcpy (&d, rep + pos, sizeof d);
      char name[256];
      memcpy (name, rep + pos + FUSE_NAME_OFFSET, d.namelen < 255 ? d.namelen : 255);
      name[d.namelen < 255 ? d.namelen : 255] = '\0';
      pos += FUSE_DIRENT_ALIGN (FUSE_NAME_OFFSET + d.namelen);
      if (plus && (strcmp (name, ".") == 0 || strcmp (name, "..") == 0) && e.nodeid != 0)
        (*dot_nodeids)++;
      if (strcmp (name, ".") && strcmp (name, ".."))
        {
          strncat (out, name, cap - strlen (out) - 2);
          strcat (out, ",");
        }
      if (plus && e.nodeid && n_ids < 64)
        ids[n_ids++] = e.nodeid;
    }
  /* after the walk: a FORGET reuses the reply buffer */
  for (size_t i = 0; i < n_ids; i++)
    {
      struct fuse_forget_in f = { .nlookup = 1 };
      send (FUSE_FORGET, ids[i], &f, sizeof f, NULL, NULL);
    }
}

static void
test_basics (void)
{
  struct fuse_init_in init = { .major = 7, .minor = 38, .max_readahead = 65536,
                               .flags = FUSE_DO_READDIRPLUS | FUSE_ASYNC_READ | FUSE_MAX_PAGES };
  tap_ok (send (FUSE_GETATTR, 1, NULL, 0, NULL, NULL) == -EIO, "a request before INIT: EIO");
  uint32_t n;
  tap_ok (send_ex (FUSE_INIT, 0, &init, sizeof init, NULL, NULL, REP_MAX, 0, &n) == 0, "INIT");
  struct fuse_init_out io;
  memcpy (&io, body (), sizeof io);
  tap_ok (n == sizeof (struct fuse_out_header) + sizeof io && io.major == 7
              && io.minor == WARD_VM_FUSE_MINOR && (io.flags & FUSE_DO_READDIRPLUS)
              && io.max_write == WARD_VM_FUSE_MAX_WRITE,
          "INIT reply: 7.%u, max_write %u, flags 0x%x", io.minor, io.max_write, io.flags);

  struct fuse_entry_out e;
  uint64_t hello = lookup (1, "hello.txt", &e);
  tap_ok (hello > 1 && e.attr.size == 12 && S_ISREG (e.attr.mode), "LOOKUP hello.txt: nodeid %llu",
          (unsigned long long) hello);
  struct fuse_entry_out e2;
  tap_ok (lookup (1, "hello.txt", &e2) == hello, "a second LOOKUP gives the same nodeid");
  struct fuse_getattr_in ga = { 0 };
  tap_ok (send (FUSE_GETATTR, hello, &ga, sizeof ga, NULL, NULL) == 0, "GETATTR");
  struct fuse_attr_out ao;
  memcpy (&ao, body (), sizeof ao);
  struct stat st;
  fstatat (dfd, "hello.txt", &st, 0);
  tap_ok (ao.attr.ino == st.st_ino && ao.attr.size == 12 && ao.attr.mode == st.st_mode,
          "GETATTR: the host's inode, size and mode");

  uint64_t fh = open_node (hello, O_RDONLY, FUSE_OPEN, NULL);
  char buf[256];
  tap_ok (fh != 0 && read_fh (fh, 0, 100, buf, sizeof buf) == 12 && strcmp (buf, "hello world\n") == 0,
          "OPEN + READ hello.txt");
  tap_ok (read_fh (fh, 6, 5, buf, sizeof buf) == 5 && strcmp (buf, "world") == 0,
          "READ at an offset");
  struct fuse_release_in rel = { .fh = fh };
  tap_ok (send (FUSE_RELEASE, hello, &rel, sizeof rel, NULL, NULL) == 0, "RELEASE");
  tap_ok (send (FUSE_RELEASE, hello, &rel, sizeof rel, NULL, NULL) == -EBADF,
          "RELEASE of a released handle: EBADF");

  /* CREATE + WRITE: the host sees the data, the owner and the exact mode */
  struct fuse_create_in ci = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0664 };
  tap_ok (send (FUSE_CREATE, 1, &ci, sizeof ci, "new.txt", NULL) == 0, "CREATE new.txt");
  struct fuse_open_out oo;
  memcpy (&e, body (), sizeof e);
  memcpy (&oo, (uint8_t *) body () + sizeof e, sizeof oo);
  uint64_t newn = e.nodeid;
  struct
  {
    struct fuse_write_in w;
    char data[16];
  } wr = { .w = { .fh = oo.fh, .offset = 0, .size = 10 } };
  memcpy (wr.data, "from guest", 10);
  tap_ok (send (FUSE_WRITE, newn, &wr, sizeof wr.w + 10, NULL, NULL) == 0, "WRITE");
  struct fuse_write_out wo;
  memcpy (&wo, body (), sizeof wo);
  tap_ok (wo.size == 10 && host_file_is ("new.txt", "from guest"), "the host sees the write");
  fstatat (dfd, "new.txt", &st, 0);
  tap_ok (st.st_uid == 1234 && st.st_gid == 5678 && (st.st_mode & 07777) == 0664,
          "new file owned by the caller (%u:%u), mode %o", st.st_uid, st.st_gid,
          st.st_mode & 07777);
  /* data split over two descriptors */
  memcpy (req + sizeof (struct fuse_in_header), &wr.w, sizeof wr.w);
  wr.w.offset = 10;
  wr.w.size = 6;
  send (FUSE_WRITE, newn, &wr, sizeof wr.w, "abcde", NULL); /* 6 bytes incl. NUL */
  memcpy (&wo, body (), sizeof wo);
  tap_ok (wo.size == 6, "WRITE with the data after the argument");
  rel.fh = oo.fh;
  send (FUSE_RELEASE, newn, &rel, sizeof rel, NULL, NULL);

  /* SETATTR: size and mode */
  struct fuse_setattr_in sa = { .valid = FATTR_SIZE | FATTR_MODE, .size = 4, .mode = 0600 };
  tap_ok (send (FUSE_SETATTR, newn, &sa, sizeof sa, NULL, NULL) == 0, "SETATTR size+mode");
  fstatat (dfd, "new.txt", &st, 0);
  tap_ok (st.st_size == 4 && (st.st_mode & 07777) == 0600 && host_file_is ("new.txt", "from"),
          "SETATTR reached the host file");

  /* MKDIR, SYMLINK, READLINK */
  struct fuse_mkdir_in mi = { .mode = 0750 };
  tap_ok (send (FUSE_MKDIR, 1, &mi, sizeof mi, "made", NULL) == 0, "MKDIR made");
  memcpy (&e, body (), sizeof e);
  uint64_t made = e.nodeid;
  fstatat (dfd, "made", &st, 0);
  tap_ok (S_ISDIR (st.st_mode) && (st.st_mode & 07777) == 0750, "host dir mode %o",
          st.st_mode & 07777);
  tap_ok (send (FUSE_SYMLINK, made, NULL, 0, "lnk", "../../../etc") == 0, "SYMLINK made/lnk");
  memcpy (&e, body (), sizeof e);
  uint64_t lnk = e.nodeid;
  uint32_t rl;
  tap_ok (send_ex (FUSE_READLINK, lnk, NULL, 0, NULL, NULL, REP_MAX, 0, &rl) == 0
              && rl - sizeof (struct fuse_out_header) == 12 && memcmp (body (), "../../../etc", 12) == 0,
          "READLINK gives the target as written");

  /* RENAME across directories, LINK, UNLINK, RMDIR */
  struct fuse_rename_in rn = { .newdir = made };
  tap_ok (send (FUSE_RENAME, 1, &rn, sizeof rn, "new.txt", "moved.txt") == 0
              && host_file_is ("made/moved.txt", "from"),
          "RENAME new.txt -> made/moved.txt");
  struct fuse_link_in li = { .oldnodeid = newn };
  tap_ok (send (FUSE_LINK, 1, &li, sizeof li, "hardlink", NULL) == 0
              && host_file_is ("hardlink", "from"),
          "LINK hardlink");
  struct fuse_rename2_in rn2 = { .newdir = 1, .flags = RENAME_NOREPLACE };
  tap_ok (send (FUSE_RENAME2, 1, &rn2, sizeof rn2, "hardlink", "hello.txt") == -EEXIST,
          "RENAME2 NOREPLACE onto an existing name: EEXIST");
  tap_ok (send (FUSE_UNLINK, 1, NULL, 0, "hardlink", NULL) == 0
              && faccessat (dfd, "hardlink", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
          "UNLINK hardlink");
  tap_ok (send (FUSE_RMDIR, 1, NULL, 0, "made", NULL) == -ENOTEMPTY, "RMDIR of a full dir");

  /* READDIR and READDIRPLUS */
  uint64_t dh = open_node (1, O_RDONLY, FUSE_OPENDIR, NULL);
  struct fuse_read_in ri = { .fh = dh, .size = 4096 };
  int dots;
  char names[512];
  tap_ok (dh && send_ex (FUSE_READDIR, 1, &ri, sizeof ri, NULL, NULL, REP_MAX, 0, &n) == 0,
          "OPENDIR + READDIR");
  dir_names (false, n, names, sizeof names, &dots);
  tap_ok (strstr (names, "hello.txt,") && strstr (names, "made,") && strstr (names, "a,"),
          "READDIR lists: %s", names);
  unsigned inodes_before, handles;
  ward_vm_fuse_counts (fs, &inodes_before, &handles);
  tap_ok (send_ex (FUSE_READDIRPLUS, 1, &ri, sizeof ri, NULL, NULL, REP_MAX, 0, &n) == 0,
          "READDIRPLUS");
  dir_names (true, n, names, sizeof names, &dots);
  unsigned inodes_after;
  ward_vm_fuse_counts (fs, &inodes_after, &handles);
  tap_ok (strstr (names, "hello.txt,") && dots == 0 && inodes_after == inodes_before,
          "READDIRPLUS: entries with nodeids, none for . and .., lookups balanced by FORGET");
  /* a small buffer: the listing continues from the offset of the last entry */
  ri.size = 80;
  size_t total = 0;
  for (int i = 0; i < 50; i++)
    {
      send_ex (FUSE_READDIR, 1, &ri, sizeof ri, NULL, NULL, REP_MAX, 0, &n);
      if (n <= sizeof (struct fuse_out_header))
        break;
      size_t pos = sizeof (struct fuse_out_header);
      struct fuse_dirent d = { 0 };
      while (pos < n)
        {
          memcpy (&d, rep + pos, sizeof d);
          pos += FUSE_DIRENT_ALIGN (FUSE_NAME_OFFSET + d.namelen);
          total++;
        }
      ri.offset = d.off;
    }
  DIR *hd = opendir (dir);
  size_t host_n = 0;
  while (readdir (hd))
    host_n++;
  closedir (hd);
  tap_ok (total == host_n, "READDIR in 80-byte pieces: %zu entries, host has %zu", total, host_n);
  rel.fh = dh;
  tap_ok (send (FUSE_RELEASEDIR, 1, &rel, sizeof rel, NULL, NULL) == 0, "RELEASEDIR");

  tap_ok (send (FUSE_STATFS, 1, NULL, 0, NULL, NULL) == 0, "STATFS");
  struct fuse_syncfs_in sf = { 0 };
  tap_ok (send (FUSE_SYNCFS, 1, &sf, sizeof sf, NULL, NULL) == 0, "SYNCFS");
  struct fuse_forget_in fg = { .nlookup = 1 };
  ward_vm_fuse_counts (fs, &inodes_before, &handles);
  tap_ok (send (FUSE_FORGET, hello, &fg, sizeof fg, NULL, NULL) == 1,
          "FORGET has no reply");
  ward_vm_fuse_counts (fs, &inodes_after, &handles);
  tap_ok (inodes_after == inodes_before && lookup (1, "hello.txt", NULL) == hello,
          "one FORGET of two lookups keeps the inode");
  fg.nlookup = 2;
  send (FUSE_FORGET, hello, &fg, sizeof fg, NULL, NULL);
  ward_vm_fuse_counts (fs, &inodes_after, &handles);
  tap_ok (inodes_after == inodes_before - 1 && send (FUSE_GETATTR, hello, &ga, sizeof ga, NULL, NULL) == -EBADF,
          "FORGET of every lookup drops the inode; its nodeid is dead");
}

static void
test_hostile (void)
{
  struct fuse_entry_out e;
  tap_ok (send (FUSE_LOOKUP, 1, NULL, 0, "..", NULL) < 0, "LOOKUP '..' at the root: refused");
  tap_ok (send (FUSE_LOOKUP, 1, NULL, 0, ".", NULL) < 0, "LOOKUP '.': refused");
  tap_ok (send (FUSE_LOOKUP, 1, NULL, 0, "a/b", NULL) == -EINVAL,
          "LOOKUP 'a/b' (exists on the host): refused");
  tap_ok (send (FUSE_LOOKUP, 1, NULL, 0, "", NULL) == -EINVAL, "LOOKUP '': refused");
  uint64_t a = lookup (1, "a", NULL);
  tap_ok (a && send (FUSE_LOOKUP, a, NULL, 0, "..", NULL) < 0, "LOOKUP '..' below the root: refused");
  /* etc -> /etc in the export: the symlink itself, never followed */
  uint64_t etc = lookup (1, "etc", &e);
  tap_ok (etc && S_ISLNK (e.attr.mode), "LOOKUP of a symlink to /etc gives the link");
  tap_ok (send (FUSE_LOOKUP, etc, NULL, 0, "passwd", NULL) < 0,
          "LOOKUP 'passwd' under the /etc symlink: refused (%d)", send (FUSE_LOOKUP, etc, NULL, 0, "passwd", NULL));
  int err;
  open_node (etc, O_RDONLY, FUSE_OPENDIR, &err);
  tap_ok (err < 0, "OPENDIR of the /etc symlink: refused");
  uint64_t pw = lookup (1, "pw", &e);
  open_node (pw, O_RDONLY, FUSE_OPEN, &err);
  tap_ok (pw && err < 0, "OPEN of a symlink to /etc/passwd: refused (%d)", err);
  struct fuse_create_in ci = { .flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 0644 };
  tap_ok (send (FUSE_CREATE, 1, &ci, sizeof ci, "dangling", NULL) < 0
              && access ("/tmp/ward-vm-fuse-outside", F_OK) < 0,
          "CREATE through a dangling symlink pointing outside: refused, nothing made outside");
  struct fuse_getattr_in ga = { 0 };
  tap_ok (send (FUSE_GETATTR, 9999, &ga, sizeof ga, NULL, NULL) == -EBADF, "forged nodeid 9999");
  tap_ok (send (FUSE_GETATTR, 0, &ga, sizeof ga, NULL, NULL) == -EBADF, "nodeid 0");
  tap_ok (send (FUSE_GETATTR, UINT64_MAX, &ga, sizeof ga, NULL, NULL) == -EBADF,
          "nodeid 2^64-1");
  struct fuse_read_in ri = { .fh = 77, .size = 10 };
  tap_ok (send (FUSE_READ, 1, &ri, sizeof ri, NULL, NULL) == -EBADF, "forged file handle");
  ri.fh = 0;
  tap_ok (send (FUSE_READ, 1, &ri, sizeof ri, NULL, NULL) == -EBADF, "file handle 0");
  uint64_t dh = open_node (1, O_RDONLY, FUSE_OPENDIR, NULL);
  ri.fh = dh;
  tap_ok (send (FUSE_READ, 1, &ri, sizeof ri, NULL, NULL) == -EBADF,
          "a directory handle used for READ");
  struct fuse_release_in rel = { .fh = dh };
  send (FUSE_RELEASEDIR, 1, &rel, sizeof rel, NULL, NULL);
  struct fuse_rename_in rn = { .newdir = 4242 };
  tap_ok (send (FUSE_RENAME, 1, &rn, sizeof rn, "hello.txt", "x") == -EBADF,
          "RENAME into a forged directory nodeid");
  rn.newdir = 1;
  tap_ok (send (FUSE_RENAME, 1, &rn, sizeof rn, "hello.txt", "..") == -EINVAL
              && send (FUSE_RENAME, 1, &rn, sizeof rn, "hello.txt", "../escaped") == -EINVAL
              && access ("/tmp/escaped", F_OK) < 0,
          "RENAME to '..' or '../escaped': refused");
  uint64_t hello = lookup (1, "hello.txt", NULL);
  struct fuse_link_in li = { .oldnodeid = hello };
  tap_ok (send (FUSE_LINK, 1, &li, sizeof li, "../linked", NULL) == -EINVAL,
          "LINK to '../linked': refused");
  li.oldnodeid = 31337;
  tap_ok (send (FUSE_LINK, 1, &li, sizeof li, "l2", NULL) == -EBADF, "LINK of a forged nodeid");
  tap_ok (send (FUSE_SYMLINK, 1, NULL, 0, "s/x", "/etc") == -EINVAL, "SYMLINK named 's/x'");

  /* lengths */
  tap_ok (send_ex (FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL, REP_MAX, 4000, NULL) == -EINVAL,
          "header length past the chain: EINVAL");
  tap_ok (send_ex (FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL, REP_MAX, 8, NULL) == -EINVAL,
          "header length below the header size: EINVAL");
  /* name without its NUL: the header says one byte less */
  tap_ok (send_ex (FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL, REP_MAX,
                   sizeof (struct fuse_in_header) + 9, NULL) == -EINVAL,
          "name without a terminating NUL: EINVAL");
  tap_ok (send_ex (FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL, 8, 0, NULL) == 1,
          "a reply buffer smaller than the out header: no reply, no crash");
  uint32_t n;
  tap_ok (send_ex (FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL, 40, 0, &n) == -EOVERFLOW,
          "an entry reply that does not fit: EOVERFLOW");
  struct fuse_setattr_in sa = { .valid = FATTR_SIZE };
  tap_ok (send (FUSE_SETATTR, hello, &sa, 8, NULL, NULL) == -EINVAL, "truncated SETATTR argument");
  int e_open;
  uint64_t fh = open_node (hello, O_RDWR, FUSE_OPEN, &e_open);
  struct fuse_write_in w = { .fh = fh, .size = 1000 };
  tap_ok (fh && send (FUSE_WRITE, hello, &w, sizeof w, "short", NULL) == -EINVAL
              && host_file_is ("hello.txt", "hello world\n"),
          "WRITE claiming more data than the request holds: EINVAL, file untouched");
  w.size = 3;
  w.offset = (uint64_t) INT64_MAX + 10;
  tap_ok (send (FUSE_WRITE, hello, &w, sizeof w, "abc", NULL) == -EINVAL, "WRITE at offset 2^63+9");
  rel.fh = fh;
  send (FUSE_RELEASE, hello, &rel, sizeof rel, NULL, NULL);
  tap_ok (send (FUSE_IOCTL, 1, NULL, 0, NULL, NULL) == -ENOSYS, "unknown opcode (IOCTL): ENOSYS");
  tap_ok (send (999999, 1, NULL, 0, NULL, NULL) == -ENOSYS, "opcode 999999: ENOSYS");
  struct fuse_batch_forget_in bf = { .count = 1000000 };
  tap_ok (send (FUSE_BATCH_FORGET, 1, &bf, sizeof bf, NULL, NULL) == 1,
          "BATCH_FORGET claiming a million entries it does not carry");
  tap_ok (lookup (1, "hello.txt", NULL) == hello, "the root survives a forged FORGET");

  /* special files are created but never opened on the host */
  struct fuse_mknod_in mk = { .mode = S_IFIFO | 0644 };
  tap_ok (send (FUSE_MKNOD, 1, &mk, sizeof mk, "fifo", NULL) == 0, "MKNOD fifo");
  struct fuse_entry_out fe;
  memcpy (&fe, body (), sizeof fe);
  open_node (fe.nodeid, O_RDONLY, FUSE_OPEN, &err);
  tap_ok (err == -EACCES, "OPEN of a FIFO: EACCES (would block the VMM)");
  struct fuse_create_in cx = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
  tap_ok (send (FUSE_CREATE, 1, &cx, sizeof cx, "fifo", NULL) == -EACCES,
          "CREATE on an existing FIFO's name: EACCES, not opened");
  cx.flags |= O_EXCL;
  tap_ok (send (FUSE_CREATE, 1, &cx, sizeof cx, "hello.txt", NULL) == -EEXIST,
          "CREATE O_EXCL of an existing file: EEXIST");
  cx.flags = O_RDONLY | O_CREAT;
  struct stat hst;
  int ce = send (FUSE_CREATE, 1, &cx, sizeof cx, "hello.txt", NULL);
  fstatat (dfd, "hello.txt", &hst, 0);
  tap_ok (ce == 0 && hst.st_uid == getuid () && host_file_is ("hello.txt", "hello world\n"),
          "CREATE of an existing file opens it and leaves its owner alone");
  if (ce == 0)
    {
      struct fuse_entry_out ce_e;
      struct fuse_open_out ce_o;
      memcpy (&ce_e, body (), sizeof ce_e);
      memcpy (&ce_o, (uint8_t *) body () + sizeof ce_e, sizeof ce_o);
      struct fuse_release_in cr = { .fh = ce_o.fh };
      send (FUSE_RELEASE, ce_e.nodeid, &cr, sizeof cr, NULL, NULL);
    }
  mk.mode = S_IFCHR | 0600;
  mk.rdev = (1 << 8) | 3; /* 1:3, /dev/null */
  if (send (FUSE_MKNOD, 1, &mk, sizeof mk, "null", NULL) == 0)
    {
      memcpy (&fe, body (), sizeof fe);
      struct stat st;
      fstatat (dfd, "null", &st, AT_SYMLINK_NOFOLLOW);
      tap_ok (S_ISCHR (st.st_mode) && major (st.st_rdev) == 1 && minor (st.st_rdev) == 3,
              "MKNOD c 1:3 makes that device node");
      open_node (fe.nodeid, O_RDWR, FUSE_OPEN, &err);
      tap_ok (err == -EACCES, "OPEN of a device node: EACCES (never the host's device)");
    }
  else
    {
      tap_skip ("mknod of a char device not permitted here");
      tap_skip ("mknod of a char device not permitted here");
    }
}

static int
setxattr_req (uint64_t node, const char *name, const char *value, uint32_t claim)
{
  uint8_t a[512];
  struct
  {
    uint32_t size, flags;
  } in = { claim ? claim : (uint32_t) strlen (value), 0 };
  memcpy (a, &in, 8);
  memcpy (a + 8, name, strlen (name) + 1);
  memcpy (a + 8 + strlen (name) + 1, value, strlen (value));
  return send (FUSE_SETXATTR, node, a, 8 + strlen (name) + 1 + strlen (value), NULL, NULL);
}

static void
test_xattr (void)
{
  uint64_t hello = lookup (1, "hello.txt", NULL);
  int e = setxattr_req (hello, "user.test", "v1", 0);
  if (e == -EOPNOTSUPP || e == -ENOTSUP)
    {
      tap_skip ("the temp dir's file system has no user xattrs");
      return;
    }
  tap_ok (e == 0, "SETXATTR user.test (%d)", e);
  struct fuse_getxattr_in gi = { .size = 0 };
  tap_ok (send (FUSE_GETXATTR, hello, &gi, sizeof gi, "user.test", NULL) == 0
              && ((struct fuse_getxattr_out *) body ())->size == 2,
          "GETXATTR size 0: the value's size");
  gi.size = 64;
  uint32_t n;
  tap_ok (send_ex (FUSE_GETXATTR, hello, &gi, sizeof gi, "user.test", NULL, REP_MAX, 0, &n) == 0
              && n == sizeof (struct fuse_out_header) + 2 && memcmp (body (), "v1", 2) == 0,
          "GETXATTR: the value");
  tap_ok (send_ex (FUSE_LISTXATTR, hello, &gi, sizeof gi, NULL, NULL, REP_MAX, 0, &n) == 0
              && memmem (body (), n - sizeof (struct fuse_out_header), "user.test", 10) != NULL,
          "LISTXATTR lists it");
  tap_ok (setxattr_req (hello, "trusted.overlay.redirect", "/etc", 0) == -EPERM,
          "SETXATTR trusted.overlay.*: EPERM (never on host files)");
  tap_ok (setxattr_req (hello, "security.selinux", "x", 0) == -EPERM, "SETXATTR security.selinux: EPERM");
  tap_ok (setxattr_req (hello, "user.big", "abc", 4000) == -EINVAL,
          "SETXATTR claiming a longer value than it carries: EINVAL");
  tap_ok (send (FUSE_REMOVEXATTR, hello, NULL, 0, "user.test", NULL) == 0
              && send (FUSE_GETXATTR, hello, &gi, sizeof gi, "user.test", NULL) == -ENODATA,
          "REMOVEXATTR, then ENODATA");
  uint64_t etc = lookup (1, "etc", NULL);
  tap_ok (send (FUSE_GETXATTR, etc, &gi, sizeof gi, "user.test", NULL) == -EOPNOTSUPP,
          "xattrs of a symlink: EOPNOTSUPP (never followed)");
}

static void
test_readonly (void)
{
  ward_error_t *err = NULL;
  struct ward_vm_fuse *rw = fs;
  tap_ok (ward_vm_fuse_new (dfd, true, &fs, &err) == 0, "read-only server");
  struct fuse_init_in init = { .major = 7, .minor = 38 };
  send (FUSE_INIT, 0, &init, sizeof init, NULL, NULL);
  struct fuse_create_in ci = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
  tap_ok (send (FUSE_CREATE, 1, &ci, sizeof ci, "ro.txt", NULL) == -EROFS
              && faccessat (dfd, "ro.txt", F_OK, 0) < 0,
          "read-only: CREATE is EROFS");
  uint64_t hello = lookup (1, "hello.txt", NULL);
  int e;
  open_node (hello, O_WRONLY, FUSE_OPEN, &e);
  tap_ok (e == -EROFS, "read-only: OPEN for writing is EROFS");
  uint64_t fh = open_node (hello, O_RDONLY, FUSE_OPEN, &e);
  tap_ok (fh != 0, "read-only: OPEN for reading works");
  tap_ok (send (FUSE_UNLINK, 1, NULL, 0, "hello.txt", NULL) == -EROFS, "read-only: UNLINK is EROFS");
  struct fuse_mkdir_in mi = { .mode = 0755 };
  tap_ok (send (FUSE_MKDIR, 1, &mi, sizeof mi, "d", NULL) == -EROFS, "read-only: MKDIR is EROFS");
  ward_vm_fuse_free (fs);
  fs = rw;
}

/* the device: tag in config space, the FUSE server behind its queues */
static void
test_device (void)
{
  static uint8_t ram[1 << 16] __attribute__ ((aligned (4096)));
  struct ward_vm_mem mem;
  ward_vm_mem_init_flat (&mem, ram, sizeof ram);
  struct ward_vm_fs *f = NULL;
  ward_error_t *err = NULL;
  tap_ok (ward_vm_fs_new (&mem, dfd, "0123456789012345678901234567890123456", false, &f, &err) < 0,
          "a 37-byte tag is refused");
  ward_error_free (&err);
  tap_ok (ward_vm_fs_new (&mem, dfd, "rootfs", false, &f, &err) == 0, "ward_vm_fs_new");
  struct ward_virtio_dev *d = ward_vm_fs_dev (f);
  uint32_t v = 0;
  char tag[37] = "";
  for (int i = 0; i < 36; i += 4)
    ward_virtio_mmio_read (d, 0x100 + (uint64_t) i, tag + i, 4);
  ward_virtio_mmio_read (d, 0x100 + 36, &v, 4);
  uint32_t id;
  ward_virtio_mmio_read (d, 0x8, &id, 4);
  tap_ok (id == 26 && strcmp (tag, "rootfs") == 0 && v == 1,
          "device 26, tag '%s', %u request queue", tag, v);
  ward_virtio_mmio_read (d, 0x100 + 38, &v, 4);
  tap_ok (v == 0, "config read past the end reads 0");

  /* driver bring-up, then INIT + LOOKUP on the request queue (header and
   * arguments in separate descriptors, as Linux sends them) and a FORGET
   * on the hiprio queue */
  const uint32_t QN = 8, DESC = 0x1000, AVAIL = 0x1400, USED = 0x1800;
  const uint32_t HDESC = 0x2000, HAVAIL = 0x2400, HUSED = 0x2800, BUF = 0x4000;
#define W(off, val)                                                                                \
  do                                                                                               \
    {                                                                                              \
      uint32_t v_ = (val);                                                                         \
      ward_virtio_mmio_write (d, (off), &v_, 4);                                                   \
    }                                                                                              \
  while (0)
  W (0x70, 3);
  W (0x24, 1);
  W (0x20, 1);
  W (0x70, 11);
  uint32_t qs[2][3] = { { HDESC, HAVAIL, HUSED }, { DESC, AVAIL, USED } };
  for (uint32_t q = 0; q < 2; q++)
    {
      W (0x30, q);
      W (0x38, QN);
      W (0x80, qs[q][0]);
      W (0x90, qs[q][1]);
      W (0xa0, qs[q][2]);
      W (0x44, 1);
    }
  W (0x70, 15);
  uint32_t status;
  ward_virtio_mmio_read (d, 0x70, &status, 4);
  uint16_t avail_idx = 0;
  /* one request: in header + args (2 readable), out header + out (writable) */
  struct
  {
    uint32_t opcode;
    uint64_t nodeid;
    const void *arg;
    uint32_t alen;
  } reqs[2] = {
    { FUSE_INIT, 0, &(struct fuse_init_in){ .major = 7, .minor = 38 }, sizeof (struct fuse_init_in) },
    { FUSE_LOOKUP, 1, "hello.txt", 10 },
  };
  for (int i = 0; i < 2; i++)
    {
      uint64_t at = BUF + 0x1000 * (uint64_t) i;
      struct fuse_in_header h = { .len = (uint32_t) sizeof h + reqs[i].alen, .opcode = reqs[i].opcode,
                                  .unique = 100 + (uint64_t) i, .nodeid = reqs[i].nodeid };
      memcpy (ram + at, &h, sizeof h);
      memcpy (ram + at + 0x100, reqs[i].arg, reqs[i].alen);
      uint64_t addrs[3] = { at, at + 0x100, at + 0x200 };
      uint32_t lens[3] = { sizeof h, reqs[i].alen, 0x400 };
      uint16_t flags[3] = { 1, 1, 2 };
      for (int k = 0; k < 3; k++)
        {
          uint8_t *p = ram + DESC + 16 * (size_t) (3 * i + k);
          uint16_t next = (uint16_t) (3 * i + k + 1);
          memcpy (p, &addrs[k], 8);
          memcpy (p + 8, &lens[k], 4);
          memcpy (p + 12, &flags[k], 2);
          memcpy (p + 14, &next, 2);
        }
      uint16_t head = (uint16_t) (3 * i);
      memcpy (ram + AVAIL + 4 + 2 * (size_t) avail_idx, &head, 2);
      avail_idx++;
      memcpy (ram + AVAIL + 2, &avail_idx, 2);
      W (0x50, 1);
    }
  /* the device's worker thread answers */
  uint16_t used_idx = 0;
  for (int i = 0; i < 200 && used_idx != 2; i++)
    {
      used_idx = __atomic_load_n ((uint16_t *) (ram + USED + 2), __ATOMIC_ACQUIRE);
      if (used_idx != 2)
        usleep (10000);
    }
  struct fuse_out_header oh1, oh2;
  struct fuse_entry_out eo;
  memcpy (&oh1, ram + BUF + 0x200, sizeof oh1);
  memcpy (&oh2, ram + BUF + 0x1200, sizeof oh2);
  memcpy (&eo, ram + BUF + 0x1200 + sizeof oh2, sizeof eo);
  uint32_t used_len;
  memcpy (&used_len, ram + USED + 4 + 8 + 4, 4);
  tap_ok (status == 15 && used_idx == 2 && oh1.error == 0 && oh1.unique == 100 && oh2.error == 0
              && oh2.unique == 101 && eo.nodeid > 1 && eo.attr.size == 12
              && used_len == sizeof oh2 + sizeof eo,
          "through the request queue: INIT and LOOKUP answered (used %u, nodeid %llu)", used_idx,
          (unsigned long long) eo.nodeid);
  unsigned ni_before, ni_after, nh;
  pthread_mutex_lock (&d->lock);
  ward_vm_fuse_counts (ward_vm_fs_fuse (f), &ni_before, &nh);
  pthread_mutex_unlock (&d->lock);
  struct
  {
    struct fuse_in_header h;
    struct fuse_forget_in f;
  } fg = { .h = { .len = sizeof fg, .opcode = FUSE_FORGET, .unique = 102, .nodeid = eo.nodeid },
           .f = { .nlookup = 1 } };
  memcpy (ram + BUF + 0x3000, &fg, sizeof fg);
  uint64_t a = BUF + 0x3000;
  uint32_t l = sizeof fg;
  uint16_t fl = 0, zero16 = 0, one16 = 1;
  memcpy (ram + HDESC, &a, 8);
  memcpy (ram + HDESC + 8, &l, 4);
  memcpy (ram + HDESC + 12, &fl, 2);
  memcpy (ram + HAVAIL + 4, &zero16, 2);
  memcpy (ram + HAVAIL + 2, &one16, 2);
  W (0x50, 0);
  uint16_t hused = 0;
  for (int i = 0; i < 200 && hused != 1; i++)
    {
      hused = __atomic_load_n ((uint16_t *) (ram + HUSED + 2), __ATOMIC_ACQUIRE);
      if (hused != 1)
        usleep (10000);
    }
  pthread_mutex_lock (&d->lock);
  ward_vm_fuse_counts (ward_vm_fs_fuse (f), &ni_after, &nh);
  pthread_mutex_unlock (&d->lock);
  tap_ok (hused == 1 && ni_after == ni_before - 1, "FORGET on the hiprio queue: no reply, inode dropped");
  W (0x70, 0);
  ward_vm_fuse_counts (ward_vm_fs_fuse (f), &ni_after, &nh);
  tap_ok (ni_after == 1, "device reset forgets every inode but the root");
#undef W
  ward_vm_fs_free (f);
  int r = ward_vm_fs_new (&mem, 12345, "rootfs", false, &f, &err);
  tap_ok (r < 0 && err && strstr (err->msg, "exported directory"), "a bad root fd: %s",
          err ? err->msg : "");
  ward_error_free (&err);
}

int
main (void)
{
  snprintf (dir, sizeof dir, "/tmp/ward-vm-fuse.XXXXXX");
  if (mkdtemp (dir) == NULL)
    return 99;
  dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = openat (dfd, "hello.txt", O_WRONLY | O_CREAT, 0644);
  if (fd < 0 || write (fd, "hello world\n", 12) != 12)
    return 99;
  close (fd);
  char path[128];
  snprintf (path, sizeof path, "%s/a", dir);
  mkdir (path, 0755);
  snprintf (path, sizeof path, "%s/a/b", dir);
  mkdir (path, 0755);
  unlink ("/tmp/ward-vm-fuse-outside");
  snprintf (path, sizeof path, "%s/etc", dir);
  if (symlink ("/etc", path) < 0)
    return 99;
  snprintf (path, sizeof path, "%s/pw", dir);
  if (symlink ("/etc/passwd", path) < 0)
    return 99;
  snprintf (path, sizeof path, "%s/dangling", dir);
  if (symlink ("/tmp/ward-vm-fuse-outside", path) < 0)
    return 99;

  ward_error_t *err = NULL;
  if (ward_vm_fuse_new (dfd, false, &fs, &err) < 0)
    {
      tap_ok (0, "ward_vm_fuse_new: %s", err->msg);
      return tap_done ();
    }
  test_basics ();
  test_hostile ();
  test_xattr ();
  test_readonly ();
  test_device ();
  unsigned ni, nh;
  ward_vm_fuse_counts (fs, &ni, &nh);
  tap_ok (send (FUSE_DESTROY, 0, NULL, 0, NULL, NULL) == 0, "DESTROY");
  ward_vm_fuse_counts (fs, &ni, &nh);
  tap_ok (ni == 1 && nh == 0, "DESTROY drops every inode but the root and every handle");
  ward_vm_fuse_free (fs);
  close (dfd);
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    tap_diag ("could not remove %s", dir);
  return tap_done ();
}
