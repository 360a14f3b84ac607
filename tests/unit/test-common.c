/* Unit tests for common/: error objects, file helpers, log formats. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/sha256.h"
#include "tests/unit/tap.h"

static void test_errors (void)
{
  ward_error_t *err = NULL;
  int ret = ward_error_set (&err, ENOENT, "open '%s'", "/nope");
  tap_ok (ret == -ENOENT, "ward_error_set returns -errno");
  tap_is_str (err->msg, "open '/nope': No such file or directory", "message names the object");
  ret = ward_error_wrap (&err, "load config");
  tap_ok (ret == -ENOENT, "wrap keeps the status");
  tap_is_str (err->msg, "load config: open '/nope': No such file or directory", "wrapped message");
  /* A second set does not overwrite the first error. */
  ward_error_set (&err, EPERM, "later");
  tap_ok (strstr (err->msg, "later") == NULL, "first error wins");
  ward_error_free (&err);
  tap_ok (err == NULL, "free clears the pointer");
  ret = ward_error_set (&err, 0, "%s: expected integer, got string", "a.b");
  tap_ok (ret == -EINVAL && err->status == 0, "errno-less error returns -EINVAL");
  tap_is_str (err->msg, "a.b: expected integer, got string", "errno-less message has no suffix");
  ward_error_free (&err);
}

static void test_files (void)
{
  char dir[] = "/tmp/ward-test-common.XXXXXX";
  _cleanup_free_ char *data = NULL;
  _cleanup_free_ char *nested = NULL;
  _cleanup_close_ int dfd = -1;
  ward_error_t *err = NULL;
  size_t len = 0;

  if (mkdtemp (dir) == NULL)
    {
      tap_ok (0, "mkdtemp: %s", strerror (errno));
      return;
    }
  dfd = open (dir, O_DIRECTORY | O_RDONLY);
  tap_ok (ward_write_file_atomic (dfd, "f", "hello", 5, 0600, &err) == 0, "atomic write");
  tap_ok (ward_read_file_at (dfd, "f", &data, &len, 0, &err) == 0 && len == 5
              && strcmp (data, "hello") == 0,
          "read back what was written");
  tap_ok (ward_read_file_at (dfd, "f", &data, &len, 2, &err) == -EFBIG, "max_size is enforced");
  ward_error_free (&err);
  tap_ok (ward_write_file_at (dfd, "missing", "x", 1, &err) == -ENOENT && err
              && strstr (err->msg, "'missing'") != NULL,
          "write_file_at does not create and names the file");
  ward_error_free (&err);
  nested = xasprintf ("%s/a/b/c", dir);
  tap_ok (ward_mkdir_p (nested, 0700, &err) == 0 && access (nested, F_OK) == 0, "mkdir -p");
  tap_ok (ward_mkdir_p (nested, 0700, &err) == 0, "mkdir -p on an existing dir");
  unlinkat (dfd, "f", 0);
  rmdir (nested);
  *strrchr (nested, '/') = 0; rmdir (nested);
  *strrchr (nested, '/') = 0; rmdir (nested);
  rmdir (dir);
}

static void test_numbers (void)
{
  unsigned long long u;
  long long s;
  tap_ok (ward_parse_u64 ("123", &u) == 0 && u == 123, "parse u64");
  tap_ok (ward_parse_u64 ("-1", &u) < 0, "u64 rejects a sign");
  tap_ok (ward_parse_u64 ("12x", &u) < 0, "u64 rejects trailing garbage");
  tap_ok (ward_parse_u64 ("", &u) < 0, "u64 rejects empty");
  tap_ok (ward_parse_i64 ("-42", &s) == 0 && s == -42, "parse i64");
  tap_ok (ward_parse_u64 ("99999999999999999999999", &u) == -ERANGE, "u64 overflow");
}

static void test_log (void)
{
  char path[] = "/tmp/ward-test-log.XXXXXX";
  int fd = mkstemp (path);
  _cleanup_free_ char *text = NULL;
  ward_error_t *err = NULL;
  char esc[64];

  ward_log_init (fd, true, WARD_LOG_DEBUG);
  ward_log (WARD_LOG_ERROR, "bad \"%s\"\n", "x");
  ward_log_init (fd, false, WARD_LOG_WARNING);
  ward_debug ("hidden");
  ward_log (WARD_LOG_WARNING, "plain");
  ward_read_file_at (AT_FDCWD, path, &text, NULL, 0, &err);
  tap_ok (text && strncmp (text, "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\",\"time\":\"", 44) == 0,
          "json log line has runc's keys in order");
  tap_ok (text && strstr (text, "hidden") == NULL, "debug lines are filtered by level");
  tap_ok (text && strstr (text, "level=warning msg=\"plain\"") != NULL, "text log line");
  ward_json_escape (esc, sizeof esc, "a\tb\001");
  tap_is_str (esc, "a\\tb\\u0001", "control characters are escaped");
  ward_log_init (-1, false, WARD_LOG_WARNING);
  close (fd);
  unlink (path);
}

static void test_sha256 (void)
{
  char hex[65];
  char million[1001];
  ward_sha256_t ctx;
  uint8_t digest[32];

  ward_sha256_hex ("", 0, hex);
  tap_is_str (hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
  ward_sha256_hex ("abc", 3, hex);
  tap_is_str (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
  ward_sha256_hex ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
  tap_is_str (hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "sha256 of the two-block vector");
  ward_sha256_hex ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                   "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112, hex);
  tap_is_str (hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "sha256 of 112 bytes");
  /* A million 'a's fed in odd-sized pieces exercises the block buffer. */
  memset (million, 'a', sizeof million);
  ward_sha256_init (&ctx);
  for (int i = 0; i < 1000; i++)
    ward_sha256_update (&ctx, million, i % 2 ? 999 : 1001);
  ward_sha256_final (&ctx, digest);
  ward_sha256_to_hex (digest, hex);
  tap_is_str (hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256 of a million a's");
}

int main (void)
{
  test_sha256 ();
  test_errors ();
  test_files ();
  test_numbers ();
  test_log ();
  return tap_done ();
}
