/* libFuzzer target: the input is a layer (tar, gzip or zstd) unpacked into
 * a scratch dir in both overlay and apply modes.  Any input must unpack or
 * fail with an error; nothing may crash, leak, or appear outside the
 * target (a sibling dir is checked after every input and the fuzzer aborts
 * when it is touched).  Build and run: `make fuzz-unpack` (image/local.mk);
 * it needs clang and root (device nodes, ownership, trusted xattrs). */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "image/image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char scratch[256];
static int scratch_fd = -1;

static size_t count_entries (int dfd, const char *name)
{
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *de;
  size_t n = 0;
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return (size_t) -1;
    }
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      n++;
  closedir (d);
  return n;
}

static void setup (void)
{
  const char *base = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
  snprintf (scratch, sizeof scratch, "%s/fuzz-unpack-XXXXXX", base);
  if (mkdtemp (scratch) == NULL)
    abort ();
  scratch_fd = open (scratch, O_RDONLY | O_DIRECTORY);
  if (scratch_fd < 0 || mkdirat (scratch_fd, "outside", 0755) < 0)
    abort ();
  /* log lines about skipped entries would drown the fuzzer's output */
  ward_log_init (-1, false, WARD_LOG_ERROR);
}

static void run (const uint8_t *data, size_t size, ward_unpack_mode_t mode)
{
  ward_error_t *err = NULL;
  ward_unpack_opts_t opts = { .mode = mode, .layer_name = "fuzz" };
  int fd;
  if (mkdirat (scratch_fd, "t", 0755) < 0)
    abort ();
  fd = openat (scratch_fd, "t", O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    abort ();
  if (ward_unpack_buffer (data, size, fd, &opts, &err) < 0 && (err == NULL || err->msg == NULL))
    abort (); /* a failure must say why */
  ward_error_free (&err);
  close (fd);
  /* the only thing in scratch besides t is the untouched sibling */
  if (count_entries (scratch_fd, ".") != 2 || count_entries (scratch_fd, "outside") != 0)
    {
      fprintf (stderr, "fuzz-unpack: something was written outside the target\n");
      abort ();
    }
  if (ward_image_rm_rf_at (scratch_fd, "t", &err) < 0)
    abort ();
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (scratch_fd < 0)
    setup ();
  run (data, size, WARD_UNPACK_OVERLAY);
  run (data, size, WARD_UNPACK_APPLY);
  return 0;
}
