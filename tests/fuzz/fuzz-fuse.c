/* libFuzzer target for the virtio-fs FUSE server (runtime/vm/fuse_server.c):
 * the input is a sequence of raw FUSE requests (header, arguments, names,
 * WRITE data) as a hostile guest would put them into a descriptor chain,
 * each split over up to three readable and two writable buffers, served
 * against a scratch directory.  Besides crashes, leaks and UB it checks
 * confinement: a directory next to the export (reachable on the host
 * through the export's symlinks "out" and "abs") must come out of every
 * input unchanged, and no reply may claim more bytes than its buffers.
 *
 * The scratch tree lives on a 16 MiB tmpfs in a private mount namespace
 * when that is possible, and RLIMIT_FSIZE bounds every file either way, so
 * WRITE/FALLOCATE at huge offsets cannot fill the disk.
 *
 * Input: byte 0 bit 0 = read-only export, bit 1 = no automatic INIT; then
 * records of [u16 request length][u16 reply capacity][u8 split][u8 split]
 * [request bytes]; bit 15 of the request length: fix the header's len.
 *
 * Build and run: tests/fuzz/run-fuzz.sh (target "fuse") or
 * runtime/vm/run-fuzz-vm.sh. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/vm/fuse.h"
#include "runtime/vm/vm.h"

#define SENTINEL "do not touch\n"

static char work[64], root[96], outside[96];
static int root_fd = -1;
static struct ward_vm_fuse *srv_rw, *srv_ro;
static struct ward_virtq_chain chain;

static void
rm_tree_at (int dfd)
{
  DIR *d = fdopendir (dup (dfd));
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      if (unlinkat (dfd, de->d_name, 0) == 0)
        continue;
      int sub = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        {
          /* the guest may have made it unreadable */
          fchmod (sub, 0700);
          rm_tree_at (sub);
          close (sub);
        }
      unlinkat (dfd, de->d_name, AT_REMOVEDIR);
    }
  closedir (d);
}

static void
populate (void)
{
  fchmod (root_fd, 0755);
  rm_tree_at (root_fd);
  int fd = openat (root_fd, "hello.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0)
    {
      if (write (fd, "hello world\n", 12) != 12)
        abort ();
      close (fd);
    }
  mkdirat (root_fd, "dir", 0755);
  mkdirat (root_fd, "dir/sub", 0755);
  fd = openat (root_fd, "dir/file", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0)
    close (fd);
  symlinkat ("../outside", root_fd, "out");
  symlinkat (outside, root_fd, "abs");
  symlinkat ("/etc", root_fd, "etc");
}

static void
check_outside (void)
{
  /* exactly one entry, the sentinel, with its content */
  DIR *d = opendir (outside);
  if (d == NULL)
    abort ();
  int n = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      {
        if (strcmp (de->d_name, "sentinel"))
          {
            fprintf (stderr, "fuzz-fuse: '%s' appeared outside the export\n", de->d_name);
            abort ();
          }
        n++;
      }
  closedir (d);
  char p[160], buf[64] = "";
  snprintf (p, sizeof p, "%s/sentinel", outside);
  int fd = open (p, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  struct stat st;
  if (n != 1 || r != (ssize_t) strlen (SENTINEL) || memcmp (buf, SENTINEL, (size_t) r)
      || stat (p, &st) < 0 || (st.st_mode & 07777) != 0644 || st.st_uid != getuid ())
    {
      fprintf (stderr, "fuzz-fuse: the directory outside the export changed\n");
      abort ();
    }
}

/* leaves nothing in /tmp: the tree, the tmpfs (if ours), the dir */
static void
cleanup (void)
{
  if (root_fd >= 0)
    {
      rm_tree_at (root_fd);
      close (root_fd);
    }
  char p[160];
  snprintf (p, sizeof p, "%s/sentinel", outside);
  unlink (p);
  rmdir (outside);
  rmdir (root);
  umount2 (work, MNT_DETACH);
  rmdir (work);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  snprintf (work, sizeof work, "/tmp/ward-fuzz-fuse.XXXXXX");
  if (mkdtemp (work) == NULL)
    abort ();
  /* a bounded tmpfs of our own when we may (root); the limit below anyway */
  if (unshare (CLONE_NEWNS) == 0)
    {
      mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
      mount ("tmpfs", work, "tmpfs", 0, "size=16m,nr_inodes=4096,mode=0755");
    }
  struct rlimit fsz = { 16 << 20, 16 << 20 };
  setrlimit (RLIMIT_FSIZE, &fsz);
  snprintf (root, sizeof root, "%s/root", work);
  snprintf (outside, sizeof outside, "%s/outside", work);
  mkdir (root, 0755);
  mkdir (outside, 0755);
  char p[160];
  snprintf (p, sizeof p, "%s/sentinel", outside);
  int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, SENTINEL, strlen (SENTINEL)) != (ssize_t) strlen (SENTINEL))
    abort ();
  close (fd);
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  atexit (cleanup);
  ward_error_t *err = NULL;
  if (root_fd < 0 || ward_vm_fuse_new (root_fd, false, &srv_rw, &err) < 0
      || ward_vm_fuse_new (root_fd, true, &srv_ro, &err) < 0)
    abort ();
  return 0;
}

static uint16_t
take16 (const uint8_t **p, size_t *n)
{
  uint16_t v = 0;
  size_t k = *n < 2 ? *n : 2;
  memcpy (&v, *p, k);
  *p += k;
  *n -= k;
  return v;
}

static uint8_t
take8 (const uint8_t **p, size_t *n)
{
  if (*n == 0)
    return 0;
  uint8_t v = **p;
  (*p)++;
  (*n)--;
  return v;
}

/* one request in exactly-sized heap buffers, so ASan sees any overrun */
static void
serve (struct ward_vm_fuse *srv, const uint8_t *req, size_t len, uint16_t cap, uint8_t s1,
       uint8_t s2, bool fix_len)
{
  uint8_t *copy = malloc (len ? len : 1);
  memcpy (copy, req, len);
  if (fix_len && len >= 4)
    {
      uint32_t l = (uint32_t) len;
      memcpy (copy, &l, 4);
    }
  size_t a = s1 < len ? s1 : len, b = a + s2 < len ? a + s2 : len;
  size_t rcap = cap % 8192, rsplit = rcap / 3;
  uint8_t *rep1 = malloc (rsplit ? rsplit : 1), *rep2 = malloc (rcap - rsplit ? rcap - rsplit : 1);
  chain.n_segs = 0;
  size_t cut[4] = { 0, a, b, len };
  /* zero-length pieces are left out, as a guest may also do */
  for (int i = 0; i < 3; i++)
    if (cut[i + 1] > cut[i])
      chain.segs[chain.n_segs++]
          = (struct ward_virtq_seg){ .host = copy + cut[i], .len = (uint32_t) (cut[i + 1] - cut[i]) };
  if (rsplit)
    chain.segs[chain.n_segs++] = (struct ward_virtq_seg){ .host = rep1, .len = (uint32_t) rsplit, .writable = true };
  if (rcap - rsplit)
    chain.segs[chain.n_segs++]
        = (struct ward_virtq_seg){ .host = rep2, .len = (uint32_t) (rcap - rsplit), .writable = true };
  chain.readable_len = len;
  chain.writable_len = rcap;
  uint32_t n = ward_vm_fuse_handle (srv, &chain);
  if (n > rcap)
    abort ();
  free (copy);
  free (rep1);
  free (rep2);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static bool xfsz_ignored;
  /* libFuzzer installs its SIGXFSZ handler after LLVMFuzzerInitialize;
   * writes past the limit must fail with EFBIG instead */
  if (!xfsz_ignored)
    {
      signal (SIGXFSZ, SIG_IGN);
      xfsz_ignored = true;
    }
  const uint8_t *p = data;
  size_t n = size;
  uint8_t flags = take8 (&p, &n);
  struct ward_vm_fuse *srv = (flags & 1) ? srv_ro : srv_rw;
  populate ();
  if (!(flags & 2))
    {
      struct
      {
        struct fuse_in_header h;
        struct fuse_init_in i;
      } init = { .h = { .len = sizeof init, .opcode = FUSE_INIT, .unique = 1 },
                 .i = { .major = 7, .minor = 38, .max_readahead = 65536, .flags = 0xffffffff } };
      serve (srv, (const uint8_t *) &init, sizeof init, 256, 0, 0, false);
    }
  for (int i = 0; i < 64 && n > 0; i++)
    {
      uint16_t len = take16 (&p, &n);
      uint16_t cap = take16 (&p, &n);
      uint8_t s1 = take8 (&p, &n), s2 = take8 (&p, &n);
      bool fix = (len & 0x8000) != 0;
      size_t l = len & 0x7fff;
      if (l > n)
        l = n;
      serve (srv, p, l, cap, s1, s2, fix);
      p += l;
      n -= l;
    }
  ward_vm_fuse_reset (srv);
  check_outside ();
  return 0;
}
