/* The built-in busybox image: one layer made from a static busybox binary,
 * written byte-for-byte the same on every build (sorted entries, fixed
 * times, uid/gid 0, ustar), so its digest only changes with the binary. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "image/image.h"
#include "image/internal.h"

#define FIXED_MTIME 0
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char GROUP[] = "root:x:0:\nnobody:x:65534:\n";

typedef struct
{
  char *path;
  mode_t type;
  mode_t perm;
  const char *data; /* file content or symlink target */
  size_t len;
} tar_item_t;

typedef struct
{
  char *buf;
  size_t len, cap;
} membuf_t;

static la_ssize_t mem_write (struct archive *a, void *ud, const void *data, size_t n)
{
  membuf_t *m = ud;
  (void) a;
  if (m->len + n > m->cap)
    {
      m->cap = (m->len + n) * 2;
      m->buf = xrealloc (m->buf, m->cap);
    }
  memcpy (m->buf + m->len, data, n);
  m->len += n;
  return (la_ssize_t) n;
}

static int cmp_items (const void *a, const void *b)
{
  return strcmp (((const tar_item_t *) a)->path, ((const tar_item_t *) b)->path);
}

static bool applet_name_ok (const char *s)
{
  if (*s == '\0' || strcmp (s, ".") == 0 || strcmp (s, "..") == 0 || strlen (s) > 64)
    return false;
  for (; *s; s++)
    if (*s == '/' || (unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
      return false;
  return true;
}

/* `busybox --list`: the applet names, one a line. */
static int list_applets (const char *busybox, char **out, ward_error_t **err)
{
  int pipefd[2];
  pid_t pid;
  posix_spawn_file_actions_t fa;
  char *argv[] = { (char *) busybox, (char *) "--list", NULL };
  char *envp[] = { NULL };
  _cleanup_free_ char *buf = NULL;
  size_t len = 0;
  int status, ret;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return ward_error_set (err, errno, "pipe");
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 1);
  ret = posix_spawn (&pid, busybox, &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  close (pipefd[1]);
  if (ret != 0)
    {
      close (pipefd[0]);
      return ward_error_set (err, ret, "run '%s --list'", busybox);
    }
  ret = ward_read_fd (pipefd[0], &buf, &len, 1 << 20, "busybox --list", err);
  close (pipefd[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (ret < 0)
    return ret;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return ward_error_set (err, 0, "'%s --list' failed (status %d)", busybox, status);
  *out = TAKE_PTR (buf);
  return 0;
}

static void add_item (tar_item_t **items, size_t *n, size_t *cap, char *path, mode_t type,
                      mode_t perm, const char *data, size_t len)
{
  if (*n == *cap)
    {
      *cap = *cap ? *cap * 2 : 64;
      *items = xrealloc (*items, *cap * sizeof **items);
    }
  (*items)[(*n)++] = (tar_item_t) { path, type, perm, data, len };
}

static int write_tar (tar_item_t *items, size_t n, char **tar, size_t *len, ward_error_t **err)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  membuf_t m = { 0 };
  int ret = 0;
  archive_write_set_format_ustar (a);
  archive_write_set_bytes_in_last_block (a, 1);
  if (archive_write_open2 (a, &m, NULL, mem_write, NULL, NULL) != ARCHIVE_OK)
    ret = ward_error_set (err, EIO, "tar writer: %s", archive_error_string (a));
  for (size_t i = 0; ret == 0 && i < n; i++)
    {
      archive_entry_clear (e);
      archive_entry_set_pathname (e, items[i].path);
      archive_entry_set_filetype (e, items[i].type);
      archive_entry_set_perm (e, items[i].perm);
      archive_entry_set_uid (e, 0);
      archive_entry_set_gid (e, 0);
      archive_entry_set_mtime (e, FIXED_MTIME, 0);
      if (items[i].type == AE_IFLNK)
        archive_entry_set_symlink (e, items[i].data);
      archive_entry_set_size (e, items[i].type == AE_IFREG ? (la_int64_t) items[i].len : 0);
      if (archive_write_header (a, e) != ARCHIVE_OK)
        ret = ward_error_set (err, EIO, "tar entry '%s': %s", items[i].path,
                              archive_error_string (a));
      else if (items[i].type == AE_IFREG && items[i].len
               && archive_write_data (a, items[i].data, items[i].len) != (la_ssize_t) items[i].len)
        ret = ward_error_set (err, EIO, "tar entry '%s': %s", items[i].path,
                              archive_error_string (a));
    }
  if (ret == 0 && archive_write_close (a) != ARCHIVE_OK)
    ret = ward_error_set (err, EIO, "tar writer: %s", archive_error_string (a));
  archive_entry_free (e);
  archive_write_free (a);
  if (ret < 0)
    {
      free (m.buf);
      return ret;
    }
  *tar = m.buf;
  *len = m.len;
  return 0;
}

int ward_default_image_layer (const char *busybox, char **tar, size_t *len, ward_error_t **err)
{
  _cleanup_free_ char *bin = NULL;
  _cleanup_free_ char *applets = NULL;
  size_t bin_len = 0, n = 0, cap = 0;
  tar_item_t *items = NULL;
  int ret;

  if (busybox == NULL)
    busybox = "/bin/busybox";
  ret = ward_read_file_at (AT_FDCWD, busybox, &bin, &bin_len, 64 * 1024 * 1024, err);
  if (ret == 0)
    ret = list_applets (busybox, &applets, err);
  if (ret < 0)
    return ward_error_wrap (err, "default image from '%s'", busybox);

  add_item (&items, &n, &cap, xstrdup ("bin/"), AE_IFDIR, 0755, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("bin/busybox"), AE_IFREG, 0755, bin, bin_len);
  for (char *line = applets, *next; line && *line; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      if (!applet_name_ok (line) || strcmp (line, "busybox") == 0)
        continue;
      add_item (&items, &n, &cap, xasprintf ("bin/%s", line), AE_IFLNK, 0777, "busybox", 7);
    }
  add_item (&items, &n, &cap, xstrdup ("dev/"), AE_IFDIR, 0755, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("etc/"), AE_IFDIR, 0755, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("etc/group"), AE_IFREG, 0644, GROUP, strlen (GROUP));
  add_item (&items, &n, &cap, xstrdup ("etc/passwd"), AE_IFREG, 0644, PASSWD, strlen (PASSWD));
  add_item (&items, &n, &cap, xstrdup ("proc/"), AE_IFDIR, 0755, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("root/"), AE_IFDIR, 0700, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("sys/"), AE_IFDIR, 0755, NULL, 0);
  add_item (&items, &n, &cap, xstrdup ("tmp/"), AE_IFDIR, 01777, NULL, 0);
  qsort (items, n, sizeof *items, cmp_items);
  /* duplicate applet names would give two entries for one path */
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (k > 0 && strcmp (items[k - 1].path, items[i].path) == 0)
        {
          free (items[i].path);
          continue;
        }
      items[k++] = items[i];
    }
  n = k;
  ret = write_tar (items, n, tar, len, err);
  for (size_t i = 0; i < n; i++)
    free (items[i].path);
  free (items);
  return ret;
}

int ward_default_image_build (ward_store_t *store, const char *busybox, char **manifest_digest,
                              ward_error_t **err)
{
  static const char *const cmd[] = { "sh", NULL };
  static const char *const env[] = { DEFAULT_PATH, NULL };
  ward_image_build_config_t cfg = { .cmd = cmd, .env = env };
  _cleanup_free_ char *tar = NULL;
  size_t len = 0;
  ward_image_layer_src_t layer;
  int ret = ward_default_image_layer (busybox, &tar, &len, err);
  if (ret < 0)
    return ret;
  layer = (ward_image_layer_src_t) { tar, len };
  ret = ward_image_create (store, "busybox", &layer, 1, &cfg, manifest_digest, err);
  if (ret < 0)
    return ward_error_wrap (err, "default image");
  return 0;
}
