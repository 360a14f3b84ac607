/* image/: references, content store, layer unpack (including hostile
 * layers), the default image, snapshots, load/save and registry pulls. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <netinet/in.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/sha256.h"
#include "image/image.h"
#include "tests/unit/tap.h"

static char tmproot[256];

/* ---- helpers ------------------------------------------------------------- */

typedef struct
{
  const char *path;
  char type; /* f d l h c p */
  unsigned mode;
  const char *data; /* content, symlink or hard link target */
  unsigned uid, gid;
  const char *xattr; /* "name=value" */
} tent_t;

typedef struct
{
  char *buf;
  size_t len, cap;
} mbuf_t;

static la_ssize_t mwrite (struct archive *a, void *ud, const void *d, size_t n)
{
  mbuf_t *m = ud;
  (void) a;
  if (m->len + n > m->cap)
    {
      m->cap = (m->len + n) * 2;
      m->buf = realloc (m->buf, m->cap);
    }
  memcpy (m->buf + m->len, d, n);
  m->len += n;
  return (la_ssize_t) n;
}

/* compression: 0 none, 'g' gzip, 'z' zstd */
static char *make_tar (const tent_t *ents, size_t n, int compression, size_t *len)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  mbuf_t m = { 0 };
  archive_write_set_format_pax_restricted (a);
  /* no zero padding after a compressed stream (zstd would read it as a frame) */
  archive_write_set_bytes_in_last_block (a, 1);
  if (compression == 'g')
    archive_write_add_filter_gzip (a);
  else if (compression == 'z')
    archive_write_add_filter_zstd (a);
  archive_write_open2 (a, &m, NULL, mwrite, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    {
      const tent_t *t = &ents[i];
      archive_entry_clear (e);
      archive_entry_set_pathname (e, t->path);
      archive_entry_set_perm (e, t->mode ? t->mode : (t->type == 'd' ? 0755 : 0644));
      archive_entry_set_uid (e, t->uid);
      archive_entry_set_gid (e, t->gid);
      archive_entry_set_mtime (e, 1000000000, 0);
      switch (t->type)
        {
        case 'f':
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_size (e, t->data ? (la_int64_t) strlen (t->data) : 0);
          break;
        case 'd':
          archive_entry_set_filetype (e, AE_IFDIR);
          break;
        case 'l':
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, t->data);
          break;
        case 'h':
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_hardlink (e, t->data);
          archive_entry_set_size (e, 0);
          break;
        case 'c':
          archive_entry_set_filetype (e, AE_IFCHR);
          archive_entry_set_rdev (e, makedev (1, 3));
          break;
        case 'p':
          archive_entry_set_filetype (e, AE_IFIFO);
          break;
        }
      if (t->xattr)
        {
          const char *eq = strchr (t->xattr, '=');
          char name[128];
          snprintf (name, sizeof name, "%.*s", (int) (eq - t->xattr), t->xattr);
          archive_entry_xattr_add_entry (e, name, eq + 1, strlen (eq + 1));
        }
      archive_write_header (a, e);
      if (t->type == 'f' && t->data)
        archive_write_data (a, t->data, strlen (t->data));
    }
  archive_write_close (a);
  archive_write_free (a);
  archive_entry_free (e);
  *len = m.len;
  return m.buf;
}

static char *mkpath (const char *fmt, const char *a)
{
  return xasprintf (fmt, tmproot, a);
}

static void rm_rf (const char *path)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_image_rm_rf_at (AT_FDCWD, path, &err);
}

static int fresh_dir (const char *path)
{
  rm_rf (path);
  mkdir (path, 0755);
  return open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static char *read_text (const char *path)
{
  char *buf = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  if (ward_read_file_at (AT_FDCWD, path, &buf, NULL, 0, &err) < 0)
    return NULL;
  return buf;
}

/* A canonical listing of a tree: one line per entry, sorted. */
static void list_tree_rec (int dfd, const char *prefix, char ***lines, size_t *n)
{
  DIR *d = fdopendir (dup (dfd));
  struct dirent *de;
  if (d == NULL)
    return;
  while ((de = readdir (d)))
    {
      struct stat st;
      char extra[200] = "";
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      _cleanup_free_ char *p = *prefix ? xasprintf ("%s/%s", prefix, de->d_name)
                                       : xstrdup (de->d_name);
      if (S_ISLNK (st.st_mode))
        {
          char t[160] = "";
          ssize_t l = readlinkat (dfd, de->d_name, t, sizeof t - 1);
          if (l > 0)
            t[l] = '\0';
          snprintf (extra, sizeof extra, "-> %s", t);
        }
      else if (S_ISREG (st.st_mode))
        {
          char *c = NULL;
          _cleanup_error_ ward_error_t *err = NULL;
          char hex[65] = "";
          size_t cl = 0;
          if (ward_read_file_at (dfd, de->d_name, &c, &cl, 0, &err) == 0)
            ward_sha256_hex (c, cl, hex);
          free (c);
          snprintf (extra, sizeof extra, "%.16s", hex);
        }
      *lines = realloc (*lines, (*n + 1) * sizeof (char *));
      (*lines)[(*n)++] = xasprintf ("%s %o %u:%u %s", p, (unsigned) st.st_mode,
                                    (unsigned) st.st_uid, (unsigned) st.st_gid, extra);
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          if (sub >= 0)
            {
              list_tree_rec (sub, p, lines, n);
              close (sub);
            }
        }
    }
  closedir (d);
}

static int cmpstr (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *list_tree (const char *path)
{
  char **lines = NULL;
  size_t n = 0, total = 1;
  int fd = open (path, O_RDONLY | O_DIRECTORY);
  char *out;
  if (fd < 0)
    return xstrdup ("(missing)");
  list_tree_rec (fd, "", &lines, &n);
  close (fd);
  qsort (lines, n, sizeof (char *), cmpstr);
  for (size_t i = 0; i < n; i++)
    total += strlen (lines[i]) + 1;
  out = xzalloc (total);
  for (size_t i = 0; i < n; i++)
    {
      strcat (out, lines[i]);
      strcat (out, "\n");
      free (lines[i]);
    }
  free (lines);
  return out;
}

static size_t count_entries (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *de;
  size_t n = 0;
  if (d == NULL)
    return 0;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      n++;
  closedir (d);
  return n;
}

/* ---- references ---------------------------------------------------------- */

static void test_references (void)
{
  static const struct
  {
    const char *in, *full, *familiar;
  } ok[] = {
    { "busybox", "docker.io/library/busybox:latest", "busybox:latest" },
    { "busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36" },
    { "user/img", "docker.io/user/img:latest", "user/img:latest" },
    { "docker.io/library/alpine:3", "docker.io/library/alpine:3", "alpine:3" },
    { "index.docker.io/user/x", "docker.io/user/x:latest", "user/x:latest" },
    { "localhost/x", "localhost/x:latest", "localhost/x:latest" },
    { "localhost:5000/x:tag", "localhost:5000/x:tag", "localhost:5000/x:tag" },
    { "quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1", "quay.io/a/b/c:v1.0-rc_1" },
    { "127.0.0.1:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "127.0.0.1:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      NULL },
    { "my-reg.example.com/a__b/c.d-e:t", "my-reg.example.com/a__b/c.d-e:t", NULL },
  };
  static const char *const bad[] = {
    "", "UPPER", "busybox:", ":tag", "a//b", "-a", "a-", "busybox:tag!",
    "x@sha256:abc", "reg:port/x", "a/B", "busybox@md5:0123",
    "a..b", "/x", "x/",
  };
  for (size_t i = 0; i < ARRAY_SIZE (ok); i++)
    {
      _cleanup_image_ref_ ward_image_ref_t *r = NULL;
      _cleanup_error_ ward_error_t *err = NULL;
      int ret = ward_image_ref_parse (ok[i].in, &r, &err);
      if (!tap_ok (ret == 0, "ref '%s' parses%s%s", ok[i].in, err ? ": " : "",
                   err ? err->msg : ""))
        continue;
      tap_is_str (r->full, ok[i].full, ok[i].in);
      if (ok[i].familiar)
        {
          _cleanup_free_ char *f = ward_image_ref_familiar (r);
          tap_is_str (f, ok[i].familiar, "familiar form");
        }
    }
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      _cleanup_image_ref_ ward_image_ref_t *r = NULL;
      _cleanup_error_ ward_error_t *err = NULL;
      int ret = ward_image_ref_parse (bad[i], &r, &err);
      tap_ok (ret == -EINVAL && err && strstr (err->msg, "invalid reference format"),
              "ref '%s' refused: %s", bad[i], err ? err->msg : "(accepted)");
    }
  {
    _cleanup_image_ref_ ward_image_ref_t *r = NULL;
    _cleanup_error_ ward_error_t *err = NULL;
    ward_image_ref_parse ("localhost:5000/team/app:v2", &r, &err);
    tap_ok (r && strcmp (r->domain, "localhost:5000") == 0 && strcmp (r->path, "team/app") == 0
                && strcmp (r->tag, "v2") == 0 && r->digest == NULL,
            "ref parts: domain, path, tag");
  }
}

/* ---- store ------------------------------------------------------------- */

static void test_store (void)
{
  _cleanup_free_ char *root = mkpath ("%s/%s", "store");
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *digest = NULL;
  _cleanup_free_ char *data = NULL;
  char hex[65];
  size_t len = 0;
  int ret;

  rm_rf (root);
  ret = ward_store_open (root, &s, &err);
  if (!tap_ok (ret == 0, "store opens: %s", err ? err->msg : "ok"))
    return;
  {
    _cleanup_free_ char *p = xasprintf ("%s/image/oci-layout", root);
    _cleanup_free_ char *t = read_text (p);
    tap_ok (t && strstr (t, "imageLayoutVersion"), "oci-layout written");
  }
  ward_sha256_hex ("hello", 5, hex);
  ret = ward_store_blob_put (s, "hello", 5, NULL, &digest, &err);
  tap_ok (ret == 0 && digest && strcmp (digest + 7, hex) == 0, "blob put returns its digest");
  tap_ok (ward_store_blob_exists (s, digest), "blob exists");
  ret = ward_store_blob_read (s, digest, &data, &len, 0, &err);
  tap_ok (ret == 0 && len == 5 && memcmp (data, "hello", 5) == 0, "blob reads back");
  tap_ok (ward_store_blob_verify (s, digest, &err) == 0, "blob verifies");

  {
    _cleanup_error_ ward_error_t *e = NULL;
    char wrong[80];
    snprintf (wrong, sizeof wrong, "sha256:%064d", 0);
    ret = ward_store_blob_put (s, "world", 5, wrong, NULL, &e);
    tap_ok (ret == -EBADMSG && e && strstr (e->msg, "digest mismatch"),
            "wrong expected digest refused: %s", e ? e->msg : "");
    tap_ok (!ward_store_blob_exists (s, wrong), "mismatching blob not stored");
  }
  {
    _cleanup_free_ char *blobs = xasprintf ("%s/image/blobs/sha256", root);
    tap_ok (count_entries (blobs) == 1, "no temp file left after a refused blob");
  }
  {
    /* corrupt the stored blob in place */
    _cleanup_free_ char *p = xasprintf ("%s/image/blobs/sha256/%s", root, hex);
    _cleanup_error_ ward_error_t *e1 = NULL;
    _cleanup_error_ ward_error_t *e2 = NULL;
    char *junk = NULL;
    int fd = open (p, O_WRONLY | O_TRUNC);
    if (fd >= 0)
      {
        ward_write_all (fd, "HELLO", 5);
        close (fd);
      }
    ret = ward_store_blob_verify (s, digest, &e1);
    tap_ok (ret == -EBADMSG && strstr (e1->msg, "corrupt"), "corrupt blob detected: %s",
            e1 ? e1->msg : "");
    ret = ward_store_blob_read (s, digest, &junk, NULL, 0, &e2);
    tap_ok (ret == -EBADMSG, "corrupt blob not returned by read");
    free (junk);
  }
  {
    /* an interrupted writer's temp file (no lock) goes on the next open;
     * a live writer's stays */
    _cleanup_free_ char *stale = xasprintf ("%s/image/blobs/sha256/.tmp-deadbeef", root);
    _cleanup_free_ char *blobs = xasprintf ("%s/image/blobs/sha256", root);
    _cleanup_error_ ward_error_t *e = NULL;
    ward_blob_writer_t *w = NULL;
    ward_store_t *s2 = NULL;
    int fd = open (stale, O_WRONLY | O_CREAT, 0644);
    close (fd);
    ward_store_blob_begin (s, NULL, &w, &e);
    ward_blob_writer_write (w, "partial", 7, &e);
    ret = ward_store_open (root, &s2, &e);
    tap_ok (ret == 0 && access (stale, F_OK) < 0, "stale temp blob removed on open");
    tap_ok (count_entries (blobs) == 2, "live writer's temp file kept");
    ward_store_close (s2);
    ward_blob_writer_abort (w);
    tap_ok (count_entries (blobs) == 1, "aborted writer leaves nothing");
  }
  {
    /* a layer unpack interrupted half-way (its lock free) is removed on open */
    _cleanup_free_ char *half = xasprintf ("%s/image/layers/.tmp-0123456789abcdef", root);
    _cleanup_free_ char *lock = xasprintf ("%s/image/layers/.tmp-0123456789abcdef.lock", root);
    _cleanup_free_ char *orphan = xasprintf ("%s/image/layers/.tmp-feedfacefeedface", root);
    _cleanup_free_ char *inner = xasprintf ("%s/etc", half);
    _cleanup_error_ ward_error_t *e = NULL;
    ward_store_t *s2 = NULL;
    mkdir (half, 0755);
    mkdir (inner, 0755);
    close (open (lock, O_WRONLY | O_CREAT, 0600));
    mkdir (orphan, 0755);
    ret = ward_store_open (root, &s2, &e);
    tap_ok (ret == 0 && access (half, F_OK) < 0 && access (lock, F_OK) < 0
                && access (orphan, F_OK) < 0,
            "half-unpacked layer dirs removed on open");
    ward_store_close (s2);
  }

  /* refs */
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_image_desc_t d = { 0 };
    ward_image_desc_t *list = NULL;
    size_t n = 0;
    char d2[80];
    snprintf (d2, sizeof d2, "sha256:%064d", 1);
    ret = ward_store_ref_set (s, "docker.io/library/a:1", WARD_MT_OCI_MANIFEST, d2, 10, &e);
    tap_ok (ret == 0, "ref set");
    ret = ward_store_ref_set (s, "docker.io/library/a:1", WARD_MT_OCI_MANIFEST, digest, 5, &e);
    ret = ward_store_ref_get (s, "docker.io/library/a:1", &d, &e);
    tap_ok (ret == 0 && strcmp (d.digest, digest) == 0 && d.size == 5, "ref re-set replaces");
    ward_image_desc_clear (&d);
    ret = ward_store_ref_get (s, "docker.io/library/none:1", &d, &e);
    tap_ok (ret == -ENOENT, "unknown ref is ENOENT");
    ward_error_free (&e);
    ward_store_list (s, &list, &n, &e);
    tap_ok (n == 1, "one ref listed");
    ward_image_descs_free (list, n);
    ret = ward_store_ref_remove (s, "docker.io/library/a:1", &e);
    tap_ok (ret == 0, "ref removed");
  }
  {
    /* concurrent writers: the flock keeps every update */
    ward_image_desc_t *list = NULL;
    size_t n = 0;
    _cleanup_error_ ward_error_t *e = NULL;
    pid_t pids[4];
    for (int c = 0; c < 4; c++)
      {
        pids[c] = fork ();
        if (pids[c] == 0)
          {
            ward_store_t *cs = NULL;
            ward_error_t *ce = NULL;
            if (ward_store_open (root, &cs, &ce) < 0)
              _exit (1);
            for (int i = 0; i < 15; i++)
              {
                char name[64];
                snprintf (name, sizeof name, "docker.io/library/c%d:%d", c, i);
                if (ward_store_ref_set (cs, name, WARD_MT_OCI_MANIFEST, digest, 5, &ce) < 0)
                  _exit (1);
              }
            _exit (0);
          }
      }
    int okc = 0;
    for (int c = 0; c < 4; c++)
      {
        int st;
        waitpid (pids[c], &st, 0);
        okc += WIFEXITED (st) && WEXITSTATUS (st) == 0;
      }
    ward_store_list (s, &list, &n, &e);
    tap_ok (okc == 4 && n == 60, "4 concurrent writers x 15 refs: %zu refs in index.json", n);
    ward_image_descs_free (list, n);
  }
}

/* ---- unpack ------------------------------------------------------------ */

static int unpack_into (const char *dir, const tent_t *ents, size_t n, int comp,
                        ward_unpack_mode_t mode, ward_error_t **err)
{
  size_t len;
  _cleanup_free_ char *tar = make_tar (ents, n, comp, &len);
  _cleanup_close_ int fd = open (dir, O_RDONLY | O_DIRECTORY);
  ward_unpack_opts_t opts = { .mode = mode,
                              .layer_name = "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" };
  return ward_unpack_buffer (tar, len, fd, &opts, err);
}

static const tent_t layer1[] = {
  { "etc/", 'd', 0755 },
  { "etc/hostname", 'f', 0644, "box\n" },
  { "etc/shadow", 'f', 0600, "secret\n", 0, 42 },
  { "bin/", 'd', 0755 },
  { "bin/tool", 'f', 04755, "#!/bin/sh\n" },
  { "bin/alias", 'l', 0777, "tool" },
  { "bin/hard", 'h', 0, "bin/tool" },
  { "home/user/", 'd', 0700, NULL, 1000, 1000 },
  { "home/user/file", 'f', 0640, "data", 1000, 1000, "user.note=hi" },
  { "opaque/", 'd', 0755 },
  { "opaque/old1", 'f', 0644, "1" },
  { "opaque/sub/", 'd', 0755 },
  { "opaque/sub/old2", 'f', 0644, "2" },
  { "gone", 'f', 0644, "bye" },
  { "gonedir/", 'd', 0755 },
  { "gonedir/x", 'f', 0644, "x" },
  { "run/fifo", 'p', 0600 },
  { "dev/null", 'c', 0666 },
  { "/abs/file", 'f', 0644, "abs" },
};

static const tent_t layer2[] = {
  { ".wh.gone", 'f', 0 },
  { ".wh.gonedir", 'f', 0 },
  { "opaque/", 'd', 0755 },
  { "opaque/new", 'f', 0644, "new" },
  { "opaque/.wh..wh..opq", 'f', 0 },
  { "etc/hostname", 'f', 0644, "box2\n" },
};

static void test_unpack_basic (void)
{
  _cleanup_free_ char *dir = mkpath ("%s/%s", "unpack1");
  _cleanup_error_ ward_error_t *err = NULL;
  struct stat st;
  char buf[64];
  int dfd = fresh_dir (dir);
  int ret;
  close (dfd);
  ret = unpack_into (dir, layer1, ARRAY_SIZE (layer1), 0, WARD_UNPACK_OVERLAY, &err);
  if (!tap_ok (ret == 0, "layer with files, dirs, links, fifo, device unpacks: %s",
               err ? err->msg : "ok"))
    return;
  dfd = open (dir, O_RDONLY | O_DIRECTORY);
  tap_ok (fstatat (dfd, "bin/tool", &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & 07777) == 04755
              && st.st_nlink == 2 && st.st_mtime == 1000000000,
          "regular file: setuid mode, mtime, hard link count");
  ssize_t l = readlinkat (dfd, "bin/alias", buf, sizeof buf);
  tap_ok (l == 4 && memcmp (buf, "tool", 4) == 0, "symlink target kept");
  tap_ok (fstatat (dfd, "home/user/file", &st, 0) == 0 && st.st_uid == 1000 && st.st_gid == 1000
              && (st.st_mode & 0777) == 0640,
          "ownership and mode");
  tap_ok (fstatat (dfd, "home/user", &st, 0) == 0 && st.st_mtime == 1000000000
              && (st.st_mode & 0777) == 0700,
          "directory mode and mtime restored after its children");
  tap_ok (fstatat (dfd, "etc/shadow", &st, 0) == 0 && st.st_gid == 42, "gid 42");
  {
    _cleanup_free_ char *p = xasprintf ("%s/home/user/file", dir);
    char v[8] = "";
    ssize_t n = getxattr (p, "user.note", v, sizeof v);
    if (n < 0 && errno == ENOTSUP)
      tap_skip ("user xattrs not supported on the test filesystem");
    else
      tap_ok (n == 2 && memcmp (v, "hi", 2) == 0, "xattr user.note restored");
  }
  tap_ok (fstatat (dfd, "run/fifo", &st, 0) == 0 && S_ISFIFO (st.st_mode), "fifo");
  if (geteuid () == 0)
    tap_ok (fstatat (dfd, "dev/null", &st, 0) == 0 && S_ISCHR (st.st_mode)
                && st.st_rdev == makedev (1, 3),
            "char device 1:3");
  else
    tap_skip ("device nodes need root");
  tap_ok (fstatat (dfd, "abs/file", &st, 0) == 0, "absolute entry '/abs/file' lands inside as abs/file");
  close (dfd);
}

static void test_unpack_compressed (void)
{
  const tent_t ents[] = { { "d/", 'd', 0755 }, { "d/f", 'f', 0644, "zipped" } };
  int comps[] = { 'g', 'z' };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *dir = mkpath ("%s/%s", comps[i] == 'g' ? "gz" : "zst");
      _cleanup_free_ char *f = NULL;
      _cleanup_error_ ward_error_t *err = NULL;
      close (fresh_dir (dir));
      int ret = unpack_into (dir, ents, 2, comps[i], WARD_UNPACK_OVERLAY, &err);
      _cleanup_free_ char *p = xasprintf ("%s/d/f", dir);
      f = read_text (p);
      tap_ok (ret == 0 && f && strcmp (f, "zipped") == 0, "%s layer detected by magic: %s",
              comps[i] == 'g' ? "gzip" : "zstd", err ? err->msg : "ok");
    }
  {
    _cleanup_error_ ward_error_t *err = NULL;
    _cleanup_free_ char *dir = mkpath ("%s/%s", "junk");
    _cleanup_close_ int fd = fresh_dir (dir);
    int ret = ward_unpack_buffer ("this is not a tar at all, not even close to one", 47, fd,
                                  NULL, &err);
    tap_ok (ret < 0 && err, "garbage refused: %s", err ? err->msg : "");
  }
}

static void test_whiteouts (void)
{
  _cleanup_free_ char *l1 = mkpath ("%s/%s", "wl1");
  _cleanup_free_ char *l2 = mkpath ("%s/%s", "wl2");
  _cleanup_free_ char *flat = mkpath ("%s/%s", "wflat");
  _cleanup_error_ ward_error_t *err = NULL;
  struct stat st;
  int ret;
  close (fresh_dir (l1));
  close (fresh_dir (l2));
  close (fresh_dir (flat));

  ret = unpack_into (l2, layer2, ARRAY_SIZE (layer2), 0, WARD_UNPACK_OVERLAY, &err);
  tap_ok (ret == 0, "whiteout layer unpacks in overlay form: %s", err ? err->msg : "ok");
  {
    _cleanup_free_ char *p = xasprintf ("%s/gone", l2);
    _cleanup_free_ char *q = xasprintf ("%s/opaque", l2);
    _cleanup_free_ char *w = xasprintf ("%s/.wh.gone", l2);
    char v[4] = "";
    tap_ok (lstat (p, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0),
            ".wh.gone became a 0/0 char device");
    tap_ok (access (w, F_OK) < 0, "no .wh. file left in the layer dir");
    tap_ok (getxattr (q, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y',
            "opaque dir has trusted.overlay.opaque=y");
  }

  ret = unpack_into (flat, layer1, ARRAY_SIZE (layer1), 0, WARD_UNPACK_APPLY, &err);
  if (ret == 0)
    ret = unpack_into (flat, layer2, ARRAY_SIZE (layer2), 0, WARD_UNPACK_APPLY, &err);
  tap_ok (ret == 0, "two layers applied in order: %s", err ? err->msg : "ok");
  {
    _cleanup_free_ char *g = xasprintf ("%s/gone", flat);
    _cleanup_free_ char *gd = xasprintf ("%s/gonedir", flat);
    _cleanup_free_ char *o = xasprintf ("%s/opaque", flat);
    _cleanup_free_ char *h = xasprintf ("%s/etc/hostname", flat);
    _cleanup_free_ char *t = read_text (h);
    tap_ok (access (g, F_OK) < 0 && access (gd, F_OK) < 0, "whiteouts deleted file and dir");
    tap_ok (count_entries (o) == 1, "opaque dir holds only the upper layer's entry");
    tap_ok (t && strcmp (t, "box2\n") == 0, "upper layer file replaces lower");
  }
}

typedef struct
{
  const char *what;
  tent_t ents[4];
  size_t n;
  const char *entry;  /* the entry the error must name */
  const char *reason; /* substring of the message */
} evil_t;

static void test_malicious (void)
{
  static const evil_t evil[] = {
    { "../ escape", { { "../x", 'f', 0644, "pwn" } }, 1, "../x", "escapes the layer root" },
    { "deep ../ escape", { { "a/b/../../../x", 'f', 0644, "pwn" } }, 1, "a/b/../../../x",
      "escapes" },
    { "symlink then file through it",
      { { "a", 'l', 0777, "/etc" }, { "a/passwd", 'f', 0644, "pwn" } }, 2, "a/passwd", "symlink" },
    { "relative symlink to .. then file through it",
      { { "up", 'l', 0777, ".." }, { "up/x", 'f', 0644, "pwn" } }, 2, "up/x", "symlink" },
    { "dir replaced by symlink, then file through it",
      { { "d/", 'd', 0755 }, { "d", 'l', 0777, "../../.." }, { "d/x", 'f', 0644, "pwn" } }, 3,
      "d/x", "symlink" },
    { "hard link escaping", { { "h", 'h', 0, "../outside" } }, 1, "h", "escapes the layer root" },
    { "hard link to a host file", { { "h", 'h', 0, "/etc/passwd" } }, 1, "h", "not in this layer" },
    { "hard link through symlink",
      { { "l", 'l', 0777, "/etc" }, { "h", 'h', 0, "l/passwd" } }, 2, "h", "" },
    { "hard link through a symlink that replaced its dir",
      { { "d/", 'd', 0755 }, { "d/f", 'f', 0644, "x" }, { "d", 'l', 0777, "/etc" },
        { "h", 'h', 0, "d/f" } }, 4, "h", "symlink" },
    { "whiteout of ..", { { "a/.wh...", 'f', 0644 } }, 1, "a/.wh...", "" },
  };
  _cleanup_free_ char *box = mkpath ("%s/%s", "evil");
  _cleanup_free_ char *target = mkpath ("%s/%s", "evil/target");
  _cleanup_free_ char *sentinel = mkpath ("%s/%s", "evil/sentinel");
  for (size_t i = 0; i < ARRAY_SIZE (evil); i++)
    {
      _cleanup_error_ ward_error_t *err = NULL;
      close (fresh_dir (box));
      close (fresh_dir (target));
      close (open (sentinel, O_WRONLY | O_CREAT, 0644));
      int ret = unpack_into (target, evil[i].ents, evil[i].n, 0, WARD_UNPACK_OVERLAY, &err);
      _cleanup_free_ char *want = xasprintf ("entry \"%s\"", evil[i].entry);
      bool named = err && strstr (err->msg, want) && strstr (err->msg, evil[i].reason)
                   && strstr (err->msg, "layer sha256:abcdef012345");
      tap_ok (ret < 0 && named, "%s refused: %s", evil[i].what, err ? err->msg : "(accepted!)");
      tap_ok (count_entries (box) == 2, "%s: nothing written outside the target", evil[i].what);
    }
  /* overlay's own xattrs are never taken from an image */
  {
    const tent_t ents[] = { { "d/", 'd', 0755, NULL, 0, 0, "trusted.overlay.redirect=/etc" } };
    _cleanup_error_ ward_error_t *err = NULL;
    _cleanup_free_ char *d = xasprintf ("%s/d", target);
    char v[16];
    close (fresh_dir (target));
    int ret = unpack_into (target, ents, 1, 0, WARD_UNPACK_OVERLAY, &err);
    tap_ok (ret == 0 && getxattr (d, "trusted.overlay.redirect", v, sizeof v) < 0,
            "trusted.overlay.* xattr from the tar dropped");
  }
  /* device node without CAP_MKNOD: skipped, with the reason logged */
  {
    pid_t pid = fork ();
    if (pid == 0)
      {
        cap_t caps = cap_get_proc ();
        cap_value_t v = CAP_MKNOD;
        const tent_t ents[] = { { "dev/null", 'c', 0666 }, { "ok", 'f', 0644, "fine" } };
        ward_error_t *err = NULL;
        size_t len;
        char *tar = make_tar (ents, 2, 0, &len);
        int fd = fresh_dir (target);
        ward_unpack_opts_t opts = { 0 };
        struct stat st;
        cap_set_flag (caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR);
        cap_set_flag (caps, CAP_PERMITTED, 1, &v, CAP_CLEAR);
        if (cap_set_proc (caps) < 0)
          _exit (77);
        if (ward_unpack_buffer (tar, len, fd, &opts, &err) < 0)
          _exit (2);
        if (opts.skipped != 1 || fstatat (fd, "dev/null", &st, 0) == 0
            || fstatat (fd, "ok", &st, 0) < 0)
          _exit (3);
        _exit (0);
      }
    int st = 0;
    waitpid (pid, &st, 0);
    if (WIFEXITED (st) && WEXITSTATUS (st) == 77)
      tap_skip ("cannot drop CAP_MKNOD here");
    else
      tap_ok (WIFEXITED (st) && WEXITSTATUS (st) == 0,
              "device node without CAP_MKNOD skipped, rest unpacked (status %d)", st);
  }
}

/* ---- default image, snapshots ------------------------------------------- */

static char *busybox_digest;

static void test_default_image (void)
{
  _cleanup_free_ char *r1 = mkpath ("%s/%s", "def1");
  _cleanup_free_ char *r2 = mkpath ("%s/%s", "def2");
  _cleanup_store_ ward_store_t *s1 = NULL;
  _cleanup_store_ ward_store_t *s2 = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *d1 = NULL;
  _cleanup_free_ char *d2 = NULL;
  ward_oci_image_config_t *cfg = NULL;
  int ret;
  if (access ("/bin/busybox", X_OK) < 0)
    {
      tap_skip ("/bin/busybox (busybox-static) not installed");
      return;
    }
  ret = ward_store_open (r1, &s1, &err);
  if (ret == 0)
    ret = ward_default_image_build (s1, "/bin/busybox", &d1, &err);
  if (!tap_ok (ret == 0, "default image builds: %s", err ? err->msg : "ok"))
    return;
  ret = ward_store_open (r2, &s2, &err);
  if (ret == 0)
    ret = ward_default_image_build (s2, "/bin/busybox", &d2, &err);
  tap_ok (ret == 0 && strcmp (d1, d2) == 0, "default image digest is stable: %s", d1);
  busybox_digest = xstrdup (d1);
  ret = ward_image_config_get (s1, "busybox", &cfg, &err);
  tap_ok (ret == 0 && cfg->cmd_len == 1 && strcmp (cfg->cmd[0], "sh") == 0
              && cfg->env_len == 1 && strncmp (cfg->env[0], "PATH=", 5) == 0,
          "busybox config: Cmd [sh], Env PATH");
  ward_oci_image_config_free (cfg);
  {
    _cleanup_image_ ward_image_t *img = NULL;
    ret = ward_image_open (s1, "docker.io/library/busybox:latest", &img, &err);
    tap_ok (ret == 0 && img->manifest->layers_len == 1, "opened by full name");
    if (ret == 0)
      {
        _cleanup_image_ ward_image_t *byid = NULL;
        char shortid[16];
        snprintf (shortid, sizeof shortid, "%.12s", img->config_digest + 7);
        ret = ward_image_open (s1, shortid, &byid, &err);
        tap_ok (ret == 0 && strcmp (byid->manifest_digest, img->manifest_digest) == 0,
                "opened by short image id %s", shortid);
      }
  }
  {
    ward_image_info_t *infos = NULL;
    size_t n = 0;
    ret = ward_image_list (s1, &infos, &n, &err);
    tap_ok (ret == 0 && n == 1 && strcmp (infos[0].name, "docker.io/library/busybox:latest") == 0
                && infos[0].id && strcmp (infos[0].created, "1970-01-01T00:00:00Z") == 0
                && infos[0].size > 500000,
            "image list: busybox, %lld bytes", n ? (long long) infos[0].size : -1LL);
    ward_image_infos_free (infos, n);
  }
  {
    _cleanup_image_ ward_image_t *img = NULL;
    _cleanup_error_ ward_error_t *e = NULL;
    ret = ward_image_open (s1, "nosuchimage", &img, &e);
    tap_ok (ret == -ENOENT && strstr (e->msg, "docker.io/library/nosuchimage:latest"),
            "unknown image: %s", e ? e->msg : "");
  }
}

static void test_resolve_user (void)
{
  _cleanup_free_ char *dir = mkpath ("%s/%s", "userdb");
  _cleanup_free_ char *outside = mkpath ("%s/%s", "userdb-host-passwd");
  const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
                       "app:x:1000:1001::/home/app:/bin/sh\n"
                       "nobody:x:65534:65534:nobody:/:/bin/false\n";
  const char *group = "root:x:0:\nstaff:x:50:app,other\napp:x:1001:\nwheel:x:10:root\n";
  static const struct
  {
    const char *user;
    int ret;
    uint32_t uid, gid;
    size_t ngroups;
  } t[] = {
    { "", 0, 0, 0, 1 },          { "app", 0, 1000, 1001, 1 }, { "1000", 0, 1000, 1001, 1 },
    { "4242", 0, 4242, 0, 0 },   { "app:staff", 0, 1000, 50, 0 },
    { "nobody:7", 0, 65534, 7, 0 }, { "ghost", -ENOENT, 0, 0, 0 },
    { "app:nogroup", -ENOENT, 0, 0, 0 },
  };
  _cleanup_error_ ward_error_t *err = NULL;
  int dfd = fresh_dir (dir);
  mkdirat (dfd, "etc", 0755);
  ward_create_file_at (dfd, "etc/passwd", passwd, strlen (passwd), 0644, &err);
  ward_create_file_at (dfd, "etc/group", group, strlen (group), 0644, &err);
  for (size_t i = 0; i < ARRAY_SIZE (t); i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      uint32_t uid = 99, gid = 99, *groups = NULL;
      size_t n = 0;
      int ret = ward_image_resolve_user (dfd, t[i].user, &uid, &gid, &groups, &n, &e);
      tap_ok (ret == t[i].ret && (ret < 0 || (uid == t[i].uid && gid == t[i].gid
                                              && n == t[i].ngroups)),
              "user '%s' -> %u:%u +%zu groups%s%s", t[i].user, uid, gid, n, e ? ": " : "",
              e ? e->msg : "");
      free (groups);
    }
  {
    /* an image's etc/passwd symlinked to an absolute path stays in the image */
    _cleanup_error_ ward_error_t *e = NULL;
    _cleanup_free_ char *target = xasprintf ("%s", outside);
    const char *evil = "root:x:0:0::/:/bin/sh\nhostonly:x:777:777::/:/bin/sh\n";
    uint32_t uid = 0, gid = 0;
    ward_create_file_at (AT_FDCWD, outside, evil, strlen (evil), 0644, &e);
    unlinkat (dfd, "etc/passwd", 0);
    symlinkat (target, dfd, "etc/passwd");
    int ret = ward_image_resolve_user (dfd, "hostonly", &uid, &gid, NULL, NULL, &e);
    tap_ok (ret == -ENOENT, "etc/passwd symlink to a host path not followed out of the rootfs");
  }
  close (dfd);
}

static void test_snapshots (void)
{
  _cleanup_free_ char *root = mkpath ("%s/%s", "snap");
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *rf1 = NULL;
  _cleanup_free_ char *rf2 = NULL;
  ward_snapshot_opts_t o1 = { 0 }, o2 = { .force_copy = true };
  size_t l1, l2;
  int ret;
  _cleanup_free_ char *t1 = make_tar (layer1, ARRAY_SIZE (layer1), 'g', &l1);
  _cleanup_free_ char *t2 = make_tar (layer2, ARRAY_SIZE (layer2), 0, &l2);
  ward_image_layer_src_t layers[] = { { t1, l1 }, { t2, l2 } };
  static const char *const cmd[] = { "/bin/tool", NULL };
  ward_image_build_config_t cfg = { .cmd = cmd, .working_dir = "/home/user" };

  rm_rf (root);
  ret = ward_store_open (root, &s, &err);
  if (ret == 0)
    ret = ward_image_create (s, "localhost:5000/two:layers", layers, 2, &cfg, NULL, &err);
  if (!tap_ok (ret == 0, "two-layer image created: %s", err ? err->msg : "ok"))
    return;
  ret = ward_snapshot_create (root, "localhost:5000/two:layers", "c1", &o1, &rf1, &err);
  if (ret == 0 && o1.used_copy)
    tap_skip ("overlayfs not available: both snapshots used the copy");
  else
    tap_ok (ret == 0, "overlay snapshot: %s", err ? err->msg : "ok");
  ret = ward_snapshot_create (root, "localhost:5000/two:layers", "c2", &o2, &rf2, &err);
  tap_ok (ret == 0 && o2.used_copy, "copy fallback snapshot: %s", err ? err->msg : "ok");
  if (rf1 && rf2)
    {
      _cleanup_free_ char *a = list_tree (rf1);
      _cleanup_free_ char *b = list_tree (rf2);
      bool same = strcmp (a, b) == 0;
      if (!same)
        tap_diag ("overlay:\n%s\ncopy:\n%s", a, b);
      tap_ok (same && strstr (a, "opaque/new") && !strstr (a, "gone"),
              "overlay and copy snapshots give the same tree");
    }
  if (rf1 && !o1.used_copy)
    {
      /* writes in a container land in its upper dir, never in a shared layer */
      _cleanup_free_ char *f = xasprintf ("%s/etc/hostname", rf1);
      _cleanup_free_ char *up = xasprintf ("%s/containers/c1/upper/etc/hostname", root);
      _cleanup_free_ char *layers = xasprintf ("%s/image/layers", root);
      _cleanup_free_ char *before = list_tree (layers);
      _cleanup_free_ char *after = NULL;
      _cleanup_free_ char *t = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      ward_create_file_at (AT_FDCWD, f, "changed\n", 8, 0644, &e);
      after = list_tree (layers);
      t = read_text (up);
      tap_ok (t && strcmp (t, "changed\n") == 0 && strcmp (before, after) == 0,
              "container write goes to its upper dir; layers unchanged");
    }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ret = ward_snapshot_create (root, "localhost:5000/two:layers", "c1", NULL, NULL, &e);
    tap_ok (ret < 0, "second snapshot with the same id refused");
  }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ret = ward_snapshot_create (root, "localhost:5000/two:layers", "../x", NULL, NULL, &e);
    tap_ok (ret == -EINVAL, "container id '../x' refused");
  }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    _cleanup_image_ ward_image_t *img = NULL;
    unsigned removed = 99;
    ret = ward_image_tag (s, "localhost:5000/two:layers", "alias:v1", &e);
    if (ret == 0)
      ret = ward_image_open (s, "alias:v1", &img, &e);
    tap_ok (ret == 0, "tag alias:v1: %s", e ? e->msg : "ok");
    ret = ward_image_untag (s, "localhost:5000/two:layers", &e);
    if (ret == 0)
      ret = ward_image_untag (s, "alias:v1", &e);
    if (ret == 0)
      ret = ward_store_gc (s, &removed, &e);
    tap_ok (ret == 0 && removed == 0, "gc keeps what snapshots use (%u removed): %s", removed,
            e ? e->msg : "ok");
    {
      ward_store_t *other = NULL;
      _cleanup_error_ ward_error_t *e2 = NULL;
      ward_store_open (root, &other, &e2);
      ret = ward_store_gc (s, NULL, &e2);
      tap_ok (ret == -EBUSY, "gc refused while another command has the store open");
      ward_store_close (other);
    }
  }
  ret = ward_snapshot_remove (root, "c1", &err);
  if (ret == 0)
    ret = ward_snapshot_remove (root, "c2", &err);
  {
    _cleanup_free_ char *c = xasprintf ("%s/containers", root);
    _cleanup_free_ char *layers = xasprintf ("%s/image/layers", root);
    tap_ok (ret == 0 && count_entries (c) == 0, "snapshots removed: %s", err ? err->msg : "ok");
    tap_ok (o1.used_copy || count_entries (layers) == 2, "each layer unpacked once into the store");
  }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    _cleanup_free_ char *blobs = xasprintf ("%s/image/blobs/sha256", root);
    _cleanup_free_ char *layers = xasprintf ("%s/image/layers", root);
    unsigned removed = 0;
    ret = ward_store_gc (s, &removed, &e);
    tap_ok (ret == 0 && count_entries (blobs) == 0 && count_entries (layers) == 0,
            "gc after the snapshots are gone removes the untagged image (%u entries): %s", removed,
            e ? e->msg : "ok");
  }
}

/* ---- load / save ---------------------------------------------------------- */

static int run_cmd (const char *cmd)
{
  int st = system (cmd);
  return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

static void test_load_save (void)
{
  _cleanup_free_ char *r1 = mkpath ("%s/%s", "ls1");
  _cleanup_free_ char *r2 = mkpath ("%s/%s", "ls2");
  _cleanup_free_ char *r3 = mkpath ("%s/%s", "ls3");
  _cleanup_free_ char *tar_d = mkpath ("%s/%s", "save-docker.tar");
  _cleanup_free_ char *tar_o = mkpath ("%s/%s", "save-oci.tar");
  _cleanup_store_ ward_store_t *s1 = NULL;
  _cleanup_store_ ward_store_t *s2 = NULL;
  _cleanup_store_ ward_store_t *s3 = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *orig = NULL;
  size_t l1, l2;
  _cleanup_free_ char *t1 = make_tar (layer1, ARRAY_SIZE (layer1), 'g', &l1);
  _cleanup_free_ char *t2 = make_tar (layer2, ARRAY_SIZE (layer2), 0, &l2);
  ward_image_layer_src_t layers[] = { { t1, l1 }, { t2, l2 } };
  static const char *const ep[] = { "/bin/tool", "--flag", NULL };
  static const char *const ports[] = { "80/tcp", NULL };
  static const char *const vols[] = { "/data", NULL };
  static const char *const labels[] = { "org.example=yes", NULL };
  ward_image_build_config_t cfg = { .entrypoint = ep, .user = "1000:1000", .stop_signal = "SIGINT",
                                    .exposed_ports = ports, .volumes = vols, .labels = labels,
                                    .working_dir = "/srv" };
  const char *names[] = { "example.com/team/app:1.0" };
  int ret;

  rm_rf (r1);
  rm_rf (r2);
  rm_rf (r3);
  ret = ward_store_open (r1, &s1, &err);
  if (ret == 0)
    ret = ward_image_create (s1, names[0], layers, 2, &cfg, &orig, &err);
  if (!tap_ok (ret == 0, "image for save created: %s", err ? err->msg : "ok"))
    return;
  {
    ward_oci_image_config_t *c = NULL;
    ret = ward_image_config_get (s1, names[0], &c, &err);
    tap_ok (ret == 0 && c->has_entrypoint && c->entrypoint_len == 2 && !c->has_cmd
                && strcmp (c->user, "1000:1000") == 0 && strcmp (c->stop_signal, "SIGINT") == 0
                && c->exposed_ports_len == 1 && strcmp (c->exposed_ports[0], "80/tcp") == 0
                && c->volumes_len == 1 && c->labels_len == 1
                && strcmp (c->labels[0].value, "yes") == 0
                && strcmp (c->working_dir, "/srv") == 0,
            "image config read back: Entrypoint, User, StopSignal, ExposedPorts, Volumes, Labels");
    ward_oci_image_config_free (c);
  }
  for (int fmt = 0; fmt < 2; fmt++)
    {
      const char *path = fmt == 0 ? tar_d : tar_o;
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ret = ward_image_save (s1, names, 1, fd, fmt ? WARD_ARCHIVE_OCI : WARD_ARCHIVE_DOCKER, &err);
      close (fd);
      tap_ok (ret == 0, "save as %s archive: %s", fmt ? "OCI" : "docker", err ? err->msg : "ok");
    }
  for (int fmt = 0; fmt < 2; fmt++)
    {
      ward_store_t *s = NULL;
      _cleanup_free_ char *root = xstrdup (fmt == 0 ? r2 : r3);
      char **loaded = NULL;
      _cleanup_image_ ward_image_t *img = NULL;
      int fd = open (fmt == 0 ? tar_d : tar_o, O_RDONLY);
      ret = ward_store_open (root, &s, &err);
      if (ret == 0)
        ret = ward_image_load (s, fd, &loaded, &err);
      close (fd);
      tap_ok (ret == 0 && loaded && loaded[0] && strcmp (loaded[0], names[0]) == 0 && !loaded[1],
              "load %s archive tags %s: %s", fmt ? "OCI" : "docker", names[0],
              err ? err->msg : "ok");
      if (ret == 0)
        ret = ward_image_open (s, names[0], &img, &err);
      tap_ok (ret == 0 && strcmp (img->manifest_digest, orig) == 0,
              "round trip keeps the manifest digest");
      for (char **n = loaded; n && *n; n++)
        free (*n);
      free (loaded);
      if (fmt == 0)
        s2 = s;
      else
        s3 = s;
    }
  if (access ("/usr/bin/skopeo", X_OK) == 0)
    {
      /* interoperability: skopeo reads our store as an OCI layout and
       * writes a classic docker-archive that we load */
      _cleanup_free_ char *da = mkpath ("%s/%s", "skopeo-docker.tar");
      _cleanup_free_ char *cmd = xasprintf ("skopeo --insecure-policy copy -q oci:%s/image:%s "
                                            "docker-archive:%s:other/name:v2 >/dev/null 2>&1",
                                            r1, names[0], da);
      char **loaded = NULL;
      unlink (da);
      ret = run_cmd (cmd);
      if (tap_ok (ret == 0, "skopeo copies an image out of the store (%s)", cmd))
        {
          int fd = open (da, O_RDONLY);
          _cleanup_error_ ward_error_t *e = NULL;
          ret = ward_image_load (s2, fd, &loaded, &e);
          close (fd);
          tap_ok (ret == 0 && loaded && loaded[0]
                      && strcmp (loaded[0], "docker.io/other/name:v2") == 0,
                  "skopeo docker-archive loads: %s", e ? e->msg : "ok");
          for (char **n = loaded; n && *n; n++)
            free (*n);
          free (loaded);
        }
    }
  else
    tap_skip ("skopeo not installed: no docker-archive interop test");
  {
    /* a blob whose content does not match its name is refused */
    const tent_t evil[] = { { "oci-layout", 'f', 0644, "{\"imageLayoutVersion\":\"1.0.0\"}" },
                            { "blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000",
                              'f', 0644, "not that" },
                            { "index.json", 'f', 0644, "{\"schemaVersion\":2,\"manifests\":[]}" } };
    size_t len;
    _cleanup_free_ char *tar = make_tar (evil, 3, 0, &len);
    _cleanup_free_ char *p = mkpath ("%s/%s", "evil.tar");
    _cleanup_error_ ward_error_t *e = NULL;
    int fd = open (p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ward_write_all (fd, tar, len);
    lseek (fd, 0, SEEK_SET);
    ret = ward_image_load (s3, fd, NULL, &e);
    close (fd);
    tap_ok (ret == -EBADMSG && strstr (e->msg, "not what its name says"),
            "archive blob with a lying name refused: %s", e ? e->msg : "(accepted)");
  }
}

/* ---- registry ------------------------------------------------------------ */

static int free_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t l = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM, 0), port = -1;
  if (bind (fd, (struct sockaddr *) &a, sizeof a) == 0
      && getsockname (fd, (struct sockaddr *) &a, &l) == 0)
    port = ntohs (a.sin_port);
  close (fd);
  return port;
}

static bool port_up (int port)
{
  for (int i = 0; i < 100; i++)
    {
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                               .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
      int fd = socket (AF_INET, SOCK_STREAM, 0);
      int ok = connect (fd, (struct sockaddr *) &a, sizeof a) == 0;
      close (fd);
      if (ok)
        return true;
      usleep (100 * 1000);
    }
  return false;
}

static pid_t spawn (char *const argv[], const char *log)
{
  pid_t pid = fork ();
  if (pid == 0)
    {
      int fd = open (log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2 (fd, 1);
      dup2 (fd, 2);
      setpgid (0, 0);
      execvp (argv[0], argv);
      _exit (127);
    }
  return pid;
}

static void stop (pid_t pid)
{
  if (pid > 0)
    {
      kill (pid, SIGTERM);
      waitpid (pid, NULL, 0);
    }
}

typedef struct
{
  int calls, done, exists, failed;
} progress_t;

static void on_progress (const ward_pull_progress_t *p, void *ud)
{
  progress_t *pr = ud;
  pr->calls++;
  pr->done += p->status == WARD_PULL_DONE;
  pr->exists += p->status == WARD_PULL_EXISTS;
  pr->failed += p->status == WARD_PULL_FAILED;
}

static const char TOKEN_PROXY[] =
  "import http.server, json, sys, urllib.request, urllib.error\n"
  "PORT, UP = int(sys.argv[1]), sys.argv[2]\n"
  "REALM = sys.argv[3] if len(sys.argv) > 3 else 'http://127.0.0.1:%d/token' % PORT\n"
  "class H(http.server.BaseHTTPRequestHandler):\n"
  "    def reply(self, code, body=b'', headers=()):\n"
  "        self.send_response(code)\n"
  "        for k, v in headers: self.send_header(k, v)\n"
  "        self.send_header('Content-Length', str(len(body)))\n"
  "        self.end_headers()\n"
  "        self.wfile.write(body)\n"
  "    def do_GET(self):\n"
  "        if self.path.startswith('/token'):\n"
  "            if self.headers.get('Authorization') != 'Basic dXNlcjpwYXNz':\n"
  "                return self.reply(401, b'{}')\n"
  "            ok = 'service=ward-test' in self.path and 'scope=repository' in self.path\n"
  "            return self.reply(200 if ok else 400, json.dumps({'token': 'tok-123'}).encode(),\n"
  "                              [('Content-Type', 'application/json')])\n"
  "        if self.headers.get('Authorization') != 'Bearer tok-123':\n"
  "            return self.reply(401, b'{}', [('WWW-Authenticate', 'Bearer realm=\"%s\",service=\"ward-test\",scope=\"repository:secure/busybox:pull\"' % REALM)])\n"
  "        req = urllib.request.Request(UP + self.path, headers={'Accept': self.headers.get('Accept', '*/*')})\n"
  "        try:\n"
  "            r = urllib.request.urlopen(req)\n"
  "        except urllib.error.HTTPError as e:\n"
  "            r = e\n"
  "        data = r.read()\n"
  "        hs = [(k, r.headers[k]) for k in ('Content-Type', 'Docker-Content-Digest') if r.headers.get(k)]\n"
  "        self.reply(r.status, data, hs)\n"
  "    def log_message(self, *a): pass\n"
  "http.server.ThreadingHTTPServer(('127.0.0.1', PORT), H).serve_forever()\n";

static void test_registry_scheme (void)
{
  static const char *const insecure[] = { "reg.lan:5000", "plain.example", NULL };
  static const struct
  {
    const char *host, *scheme;
  } t[] = {
    { "localhost", "http" },       { "localhost:5000", "http" },  { "127.0.0.1:5000", "http" },
    { "127.1.2.3", "http" },       { "[::1]:5000", "http" },      { "docker.io", "https" },
    { "reg.lan:5000", "http" },    { "reg.lan:6000", "https" },   { "plain.example:1", "http" },
    { "127.0.0.1.nip.io", "https" }, { "quay.io", "https" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (t); i++)
    tap_is_str (ward_registry_scheme (t[i].host, insecure), t[i].scheme, t[i].host);
}

static void test_registry (void)
{
  _cleanup_free_ char *pulled_bb = NULL;
  _cleanup_free_ char *regdir = mkpath ("%s/%s", "registry");
  _cleanup_free_ char *conf = mkpath ("%s/%s", "registry.yml");
  _cleanup_free_ char *log = mkpath ("%s/%s", "registry.log");
  _cleanup_free_ char *src = mkpath ("%s/%s", "reg-src");
  _cleanup_store_ ward_store_t *ss = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *bb = NULL;
  _cleanup_free_ char *amd = NULL;
  _cleanup_free_ char *arm = NULL;
  char addr[64], host[64];
  pid_t reg;
  int port, ret;

  if (access ("/usr/bin/docker-registry", X_OK) < 0 || access ("/usr/bin/skopeo", X_OK) < 0)
    {
      tap_skip ("docker-registry or skopeo not installed: no registry tests");
      return;
    }
  if (access ("/bin/busybox", X_OK) < 0)
    {
      tap_skip ("/bin/busybox (busybox-static) not installed: no image to push");
      return;
    }
  port = free_port ();
  snprintf (addr, sizeof addr, "127.0.0.1:%d", port);
  snprintf (host, sizeof host, "127.0.0.1:%d", port);
  {
    _cleanup_free_ char *yml = xasprintf ("version: 0.1\nlog:\n  level: error\nstorage:\n"
                                          "  filesystem:\n    rootdirectory: %s\nhttp:\n"
                                          "  addr: %s\n", regdir, addr);
    ward_create_file_at (AT_FDCWD, conf, yml, strlen (yml), 0644, &err);
  }
  {
    char *argv[] = { (char *) "docker-registry", (char *) "serve", conf, NULL };
    reg = spawn (argv, log);
  }
  if (!port_up (port))
    {
      tap_skip ("docker-registry did not start");
      stop (reg);
      return;
    }

  /* the images to serve: busybox, and a two-platform index */
  ret = ward_store_open (src, &ss, &err);
  if (ret == 0)
    ret = ward_default_image_build (ss, "/bin/busybox", &bb, &err);
  {
    const tent_t a[] = { { "arch", 'f', 0644, "amd64\n" } };
    const tent_t b[] = { { "arch", 'f', 0644, "arm64\n" } };
    size_t la, lb;
    _cleanup_free_ char *ta = make_tar (a, 1, 'g', &la);
    _cleanup_free_ char *tb = make_tar (b, 1, 'z', &lb);
    ward_image_layer_src_t sa = { ta, la }, sb = { tb, lb };
    ward_image_build_config_t ca = { .architecture = "amd64" };
    ward_image_build_config_t cb = { .architecture = "arm64", .variant = "v8" };
    if (ret == 0)
      ret = ward_image_create (ss, "x/amd", &sa, 1, &ca, &amd, &err);
    if (ret == 0)
      ret = ward_image_create (ss, "x/arm", &sb, 1, &cb, &arm, &err);
  }
  {
    /* three layers, to download side by side */
    size_t l1, l2, l3;
    const tent_t c[] = { { "three", 'f', 0644, "3" } };
    _cleanup_free_ char *t1 = make_tar (layer1, ARRAY_SIZE (layer1), 'g', &l1);
    _cleanup_free_ char *t2 = make_tar (layer2, ARRAY_SIZE (layer2), 'z', &l2);
    _cleanup_free_ char *t3 = make_tar (c, 1, 'g', &l3);
    ward_image_layer_src_t three[] = { { t1, l1 }, { t2, l2 }, { t3, l3 } };
    if (ret == 0)
      ret = ward_image_create (ss, "x/three", three, 3, NULL, NULL, &err);
  }
  if (ret == 0)
    {
      _cleanup_image_ ward_image_t *ia = NULL;
      _cleanup_image_ ward_image_t *ib = NULL;
      _cleanup_free_ char *idx = NULL;
      _cleanup_free_ char *idigest = NULL;
      ward_image_open (ss, "x/amd", &ia, &err);
      ward_image_open (ss, "x/arm", &ib, &err);
      idx = xasprintf ("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
                       "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
                       "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
                       "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
                       "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
                       WARD_MT_OCI_INDEX, WARD_MT_OCI_MANIFEST, arm, ib->manifest_len,
                       WARD_MT_OCI_MANIFEST, amd, ia->manifest_len);
      ret = ward_store_blob_put (ss, idx, strlen (idx), NULL, &idigest, &err);
      if (ret == 0)
        ret = ward_store_ref_set (ss, "docker.io/x/multi:latest", WARD_MT_OCI_INDEX, idigest,
                                  (int64_t) strlen (idx), &err);
    }
  if (!tap_ok (ret == 0, "test images built: %s", err ? err->msg : "ok"))
    {
      stop (reg);
      return;
    }
  {
    _cleanup_free_ char *c1 = xasprintf ("skopeo --insecure-policy copy -q --dest-tls-verify=false "
                                         "oci:%s/image:docker.io/library/busybox:latest "
                                         "docker://%s/test/busybox:latest >>%s 2>&1", src, host, log);
    _cleanup_free_ char *c2 = xasprintf ("skopeo --insecure-policy copy -q --all --dest-tls-verify=false "
                                         "oci:%s/image:docker.io/x/multi:latest "
                                         "docker://%s/test/multi:latest >>%s 2>&1", src, host, log);
    _cleanup_free_ char *c3 = xasprintf ("skopeo --insecure-policy copy -q --dest-tls-verify=false "
                                         "--dest-compress=false oci:%s/image:docker.io/x/three:latest "
                                         "docker://%s/test/three:latest >>%s 2>&1", src, host, log);
    int r1 = run_cmd (c1), r2 = run_cmd (c2), r3 = run_cmd (c3);
    if (!tap_ok (r1 == 0 && r2 == 0 && r3 == 0, "skopeo pushed the test images to %s", host))
      {
        _cleanup_free_ char *l = read_text (log);
        tap_diag ("%s", l ? l : "");
        stop (reg);
        return;
      }
  }

  {
    _cleanup_free_ char *dst = mkpath ("%s/%s", "pull1");
    _cleanup_store_ ward_store_t *s = NULL;
    _cleanup_free_ char *got = NULL;
    _cleanup_free_ char *name = xasprintf ("%s/test/busybox", host);
    progress_t pr = { 0 };
    ward_pull_opts_t o = { .progress = on_progress, .userdata = &pr, .unpack = true };
    ret = ward_store_open (dst, &s, &err);
    if (ret == 0)
      ret = ward_image_pull (s, name, &o, &got, &err);
    tap_ok (ret == 0 && got, "pull %s: %s", name, err ? err->msg : "ok");
    {
      /* skopeo compresses the layer on push: the config is what stays the same */
      _cleanup_image_ ward_image_t *a = NULL;
      _cleanup_image_ ward_image_t *b = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      ward_image_open (ss, "busybox", &a, &e);
      ward_image_open (s, name, &b, &e);
      tap_ok (a && b && strcmp (a->config_digest, b->config_digest) == 0
                  && strcmp (b->manifest->layers[0].media_type, WARD_MT_OCI_LAYER) != 0,
              "pulled busybox has the pushed config (%s)", b ? b->config_digest : "none");
      if (b)
        pulled_bb = xstrdup (b->manifest_digest);
    }
    tap_ok (pr.done >= 1 && pr.failed == 0 && pr.calls >= 3,
            "progress callback: %d calls, %d done", pr.calls, pr.done);
    {
      _cleanup_image_ ward_image_t *img = NULL;
      ward_error_free (&err);
      ret = ward_image_open (s, name, &img, &err);
      if (ret == 0)
        {
          _cleanup_free_ char *p = xasprintf ("%s/image/layers/%s/bin/busybox", dst,
                                              img->manifest->layers[0].digest + 7);
          tap_ok (access (p, X_OK) == 0, "pulled layer unpacked into the store");
        }
      else
        tap_ok (0, "pulled image opens: %s", err->msg);
    }
    memset (&pr, 0, sizeof pr);
    ret = ward_image_pull (s, name, &o, NULL, &err);
    tap_ok (ret == 0 && pr.exists == 1, "second pull finds the layer already there");
  }

  {
    _cleanup_free_ char *dst = mkpath ("%s/%s", "pull2");
    _cleanup_store_ ward_store_t *s = NULL;
    _cleanup_free_ char *name = xasprintf ("%s/test/multi:latest", host);
    _cleanup_free_ char *g1 = NULL;
    _cleanup_free_ char *g2 = NULL;
    ward_pull_opts_t o = { 0 };
    ward_pull_opts_t oarm = { .architecture = "arm64", .variant = "v8" };
    ward_pull_opts_t os390 = { .architecture = "s390x" };
    ret = ward_store_open (dst, &s, &err);
    if (ret == 0)
      ret = ward_image_pull (s, name, &o, &g1, &err);
    tap_ok (ret == 0 && strcmp (g1, amd) == 0, "multi-arch index: linux/amd64 selected: %s",
            err ? err->msg : "ok");
    ret = ward_image_pull (s, name, &oarm, &g2, &err);
    tap_ok (ret == 0 && strcmp (g2, arm) == 0, "multi-arch index: linux/arm64/v8 on request: %s",
            err ? err->msg : "ok");
    {
      _cleanup_error_ ward_error_t *e = NULL;
      ret = ward_image_pull (s, name, &os390, NULL, &e);
      tap_ok (ret < 0 && strstr (e->msg, "no manifest for linux/s390x"), "no s390x: %s",
              e ? e->msg : "(pulled)");
    }
    {
      _cleanup_free_ char *byd = xasprintf ("%s/test/multi@%s", host, amd);
      _cleanup_image_ ward_image_t *img = NULL;
      ret = ward_image_pull (s, byd, &o, NULL, &err);
      if (ret == 0)
        ret = ward_image_open (s, byd, &img, &err);
      tap_ok (ret == 0 && strcmp (img->config->architecture, "amd64") == 0,
              "pull by digest: %s", err ? err->msg : "ok");
    }
    {
      _cleanup_error_ ward_error_t *e = NULL;
      _cleanup_free_ char *nf = xasprintf ("%s/test/nothere:1", host);
      ret = ward_image_pull (s, nf, &o, NULL, &e);
      tap_ok (ret < 0 && strstr (e->msg, "404"), "unknown image: %s", e ? e->msg : "");
    }
  }

  {
    _cleanup_free_ char *dst = mkpath ("%s/%s", "pull-three");
    _cleanup_store_ ward_store_t *s = NULL;
    _cleanup_free_ char *name = xasprintf ("%s/test/three", host);
    progress_t pr = { 0 };
    ward_pull_opts_t o = { .progress = on_progress, .userdata = &pr, .max_concurrent = 3 };
    ret = ward_store_open (dst, &s, &err);
    if (ret == 0)
      ret = ward_image_pull (s, name, &o, NULL, &err);
    tap_ok (ret == 0 && pr.done == 3 && pr.failed == 0,
            "three layers downloaded concurrently: %d done: %s", pr.done, err ? err->msg : "ok");
    ret = ward_snapshot_create (dst, name, "three", NULL, NULL, &err);
    {
      _cleanup_free_ char *p = xasprintf ("%s/containers/three/rootfs/three", dst);
      _cleanup_free_ char *q = xasprintf ("%s/containers/three/rootfs/opaque/new", dst);
      tap_ok (ret == 0 && access (p, F_OK) == 0 && access (q, F_OK) == 0,
              "snapshot of the pulled image: %s", err ? err->msg : "ok");
    }
    ward_snapshot_remove (dst, "three", &err);
  }

  {
    /* a registry serving bytes that do not match the digest */
    _cleanup_free_ char *dst = mkpath ("%s/%s", "pull3");
    _cleanup_store_ ward_store_t *s = NULL;
    _cleanup_error_ ward_error_t *e = NULL;
    _cleanup_image_ ward_image_t *img = NULL;
    _cleanup_free_ char *name = xasprintf ("%s/test/multi:latest", host);
    ward_image_open (ss, "x/amd", &img, &err);
    const char *ld = img->manifest->layers[0].digest + 7;
    _cleanup_free_ char *data = xasprintf ("%s/docker/registry/v2/blobs/sha256/%.2s/%s/data",
                                           regdir, ld, ld);
    _cleanup_free_ char *blobs = xasprintf ("%s/image/blobs/sha256", dst);
    int fd = open (data, O_WRONLY);
    if (pwrite (fd, "XX", 2, 10) != 2)
      tap_diag ("could not tamper with %s", data);
    close (fd);
    ward_store_open (dst, &s, &e);
    ret = ward_image_pull (s, name, NULL, NULL, &e);
    tap_ok (ret == -EBADMSG && strstr (e->msg, "digest mismatch"), "tampered layer refused: %s",
            e ? e->msg : "(pulled)");
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", blobs, ld);
      DIR *d = opendir (blobs);
      struct dirent *de;
      int tmp = 0;
      while (d && (de = readdir (d)))
        tmp += strncmp (de->d_name, ".tmp-", 5) == 0;
      if (d)
        closedir (d);
      tap_ok (access (p, F_OK) < 0 && tmp == 0, "no half or bad blob left behind");
    }
  }

  {
    /* a registry sending more bytes than the manifest's size is cut off */
    _cleanup_free_ char *dst = mkpath ("%s/%s", "pull5");
    _cleanup_store_ ward_store_t *s = NULL;
    _cleanup_error_ ward_error_t *e = NULL;
    _cleanup_image_ ward_image_t *img = NULL;
    _cleanup_free_ char *name = xasprintf ("%s/test/multi:latest", host);
    ward_pull_opts_t oarm = { .architecture = "arm64" };
    ward_image_open (ss, "x/arm", &img, &err);
    const char *ld = img->manifest->layers[0].digest + 7;
    _cleanup_free_ char *data = xasprintf ("%s/docker/registry/v2/blobs/sha256/%.2s/%s/data",
                                           regdir, ld, ld);
    int fd = open (data, O_WRONLY | O_APPEND);
    ward_write_all (fd, "and some more", 13);
    close (fd);
    ward_store_open (dst, &s, &e);
    ret = ward_image_pull (s, name, &oarm, NULL, &e);
    tap_ok (ret < 0 && strstr (e->msg, "more than the"), "oversized layer cut off: %s",
            e ? e->msg : "(pulled)");
  }

  if (access ("/usr/bin/python3", X_OK) == 0 || system ("python3 -c 1 >/dev/null 2>&1") == 0)
    {
      _cleanup_free_ char *py = mkpath ("%s/%s", "token_proxy.py");
      _cleanup_free_ char *pylog = mkpath ("%s/%s", "token_proxy.log");
      _cleanup_free_ char *up = xasprintf ("http://%s", host);
      _cleanup_free_ char *dst = mkpath ("%s/%s", "pull4");
      _cleanup_store_ ward_store_t *s = NULL;
      _cleanup_free_ char *got = NULL;
      char pport[16];
      int tport = free_port ();
      pid_t proxy;
      snprintf (pport, sizeof pport, "%d", tport);
      ward_create_file_at (AT_FDCWD, py, TOKEN_PROXY, strlen (TOKEN_PROXY), 0644, &err);
      {
        char *argv[] = { (char *) "python3", py, pport, up, NULL };
        proxy = spawn (argv, pylog);
      }
      if (port_up (tport))
        {
          _cleanup_free_ char *name = xasprintf ("127.0.0.1:%d/test/busybox:latest", tport);
          _cleanup_free_ char *dc = mkpath ("%s/%s", "dockercfg");
          _cleanup_free_ char *dcf = mkpath ("%s/%s", "dockercfg/config.json");
          _cleanup_free_ char *cfg = xasprintf ("{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"},"
                                                "\"127.0.0.1:%d\":{\"auth\":\"dXNlcjpwYXNz\"}}}",
                                                tport);
          _cleanup_free_ char *user = NULL;
          _cleanup_free_ char *pass = NULL;
          _cleanup_free_ char *hostport = xasprintf ("127.0.0.1:%d", tport);
          _cleanup_error_ ward_error_t *e = NULL;
          ward_pull_opts_t o = { 0 };
          ret = ward_store_open (dst, &s, &err);
          if (ret == 0)
            {
              ret = ward_image_pull (s, name, NULL, NULL, &e);
              tap_ok (ret < 0 && strstr (e->msg, "token from") && strstr (e->msg, "401"),
                      "anonymous pull refused by the token service: %s",
                      e ? e->msg : "(pulled)");
            }
          mkdir (dc, 0700);
          ward_create_file_at (AT_FDCWD, dcf, cfg, strlen (cfg), 0600, &err);
          setenv ("DOCKER_CONFIG", dc, 1);
          unsetenv ("XDG_RUNTIME_DIR");
          ret = ward_registry_credentials (hostport, &user, &pass);
          tap_ok (ret == 0 && strcmp (user, "user") == 0 && strcmp (pass, "pass") == 0,
                  "credentials found in $DOCKER_CONFIG/config.json");
          o.username = user;
          o.password = pass;
          if (ret == 0)
            ret = ward_image_pull (s, name, &o, &got, &err);
          tap_ok (ret == 0 && pulled_bb && strcmp (got, pulled_bb) == 0,
                  "pull through bearer-token auth: %s",
                  err ? err->msg : "ok");
        }
      else
        tap_skip ("token proxy (python3 http.server) did not start");
      stop (proxy);
      {
        /* a challenge sending us to a plain-HTTP realm elsewhere is refused */
        char bport[16];
        int b = free_port ();
        snprintf (bport, sizeof bport, "%d", b);
        char *argv[] = { (char *) "python3", py, bport, up, (char *) "http://auth.example/token",
                         NULL };
        proxy = spawn (argv, pylog);
        if (port_up (b))
          {
            _cleanup_free_ char *name = xasprintf ("127.0.0.1:%d/test/busybox:latest", b);
            _cleanup_error_ ward_error_t *e = NULL;
            ret = ward_image_pull (s, name, NULL, NULL, &e);
            tap_ok (ret < 0 && strstr (e->msg, "is not https"), "plain-HTTP token realm refused: %s",
                    e ? e->msg : "(pulled)");
          }
        else
          tap_skip ("token proxy (python3 http.server) did not start");
        stop (proxy);
      }
    }
  else
    tap_skip ("python3 not installed: no bearer-token test");
  stop (reg);
}

int main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP image tests need root (overlayfs, device nodes, trusted xattrs, chown)\n");
      return 77;
    }
  const char *base = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
  snprintf (tmproot, sizeof tmproot, "%s/test-image-XXXXXX", base);
  if (mkdtemp (tmproot) == NULL)
    {
      perror ("mkdtemp");
      return 99;
    }
  test_references ();
  test_store ();
  test_unpack_basic ();
  test_unpack_compressed ();
  test_whiteouts ();
  test_malicious ();
  test_default_image ();
  test_resolve_user ();
  test_snapshots ();
  test_load_save ();
  test_registry_scheme ();
  test_registry ();
  rm_rf (tmproot);
  free (busybox_digest);
  return tap_done ();
}
