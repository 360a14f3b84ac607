/* `ward logs`: reads the json-file log (the rotated file first), with
 * --tail, --since, --timestamps and --follow. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "runtime/manager/manager.h"

typedef struct
{
  char **lines;
  size_t n;
} lines_t;

static void lines_add (lines_t *l, const char *s, size_t len)
{
  l->lines = xrealloc (l->lines, (l->n + 1) * sizeof *l->lines);
  l->lines[l->n++] = xstrndup (s, len);
}

static void lines_clear (lines_t *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->lines[i]);
  free (l->lines);
  l->lines = NULL;
  l->n = 0;
}

/* Complete lines of buf go to l; returns how many bytes were consumed. */
static size_t split_lines (lines_t *l, const char *buf, size_t len)
{
  size_t start = 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\n')
      {
        if (i > start)
          lines_add (l, buf + start, i - start);
        start = i + 1;
      }
  return start;
}

static void print_entry (const char *line, const ward_mgr_logs_opts_t *o)
{
  _cleanup_json_ json_object *e = json_tokener_parse (line);
  json_object *log, *stream, *time;
  const char *text, *ts;
  int fd;
  if (e == NULL || !json_object_object_get_ex (e, "log", &log))
    return;
  text = json_object_get_string (log);
  fd = json_object_object_get_ex (e, "stream", &stream)
               && strcmp (json_object_get_string (stream), "stderr") == 0
           ? o->err_fd
           : o->out_fd;
  ts = json_object_object_get_ex (e, "time", &time) ? json_object_get_string (time) : "";
  if (o->since || o->until)
    {
      struct timespec t;
      if (ward_mgr_time_parse (ts, &t) == 0
          && ((o->since && t.tv_sec < o->since) || (o->until && t.tv_sec >= o->until)))
        return;
    }
  if (o->timestamps)
    {
      ward_write_all (fd, ts, strlen (ts));
      ward_write_all (fd, " ", 1);
    }
  ward_write_all (fd, text, (size_t) json_object_get_string_len (log));
}

static int read_all (const char *path, char **data, size_t *len)
{
  _cleanup_error_ ward_error_t *e = NULL;
  int ret = ward_read_file_at (AT_FDCWD, path, data, len, 256 << 20, &e);
  if (ret < 0)
    {
      *data = xstrdup ("");
      *len = 0;
    }
  return 0;
}

int ward_mgr_logs (ward_mgr_t *m, const char *id, const ward_mgr_logs_opts_t *o, ward_error_t **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/%s/%s-json.log", m->cdir, id, id);
  _cleanup_free_ char *old = xasprintf ("%s.1", path);
  _cleanup_free_ char *a = NULL, *b = NULL;
  size_t alen, blen, used;
  lines_t l = { 0 };
  off_t off;

  {
    _cleanup_json_ json_object *rec = NULL;
    int ret = ward_mgr_record_read (m, id, &rec, err);
    if (ret < 0)
      return ret;
  }
  read_all (old, &a, &alen);
  read_all (path, &b, &blen);
  split_lines (&l, a, alen);
  used = split_lines (&l, b, blen);
  off = (off_t) used;
  for (size_t i = (o->tail >= 0 && (size_t) o->tail < l.n) ? l.n - (size_t) o->tail : 0; i < l.n; i++)
    print_entry (l.lines[i], o);
  lines_clear (&l);
  if (!o->follow)
    return 0;
  for (;;)
    {
      _cleanup_json_ json_object *rec = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
      bool running;
      struct stat st;
      if (ward_mgr_record_refresh (m, id, &rec, &e) < 0)
        running = false;
      else
        running = ward_mgr_is_running (m, rec);
      if (fd >= 0 && fstat (fd, &st) == 0)
        {
          if (st.st_size < off)
            off = 0; /* rotated */
          if (st.st_size > off)
            {
              size_t n = (size_t) (st.st_size - off);
              _cleanup_free_ char *buf = xmalloc (n + 1);
              ssize_t r = pread (fd, buf, n, off);
              if (r > 0)
                {
                  used = split_lines (&l, buf, (size_t) r);
                  off += (off_t) used;
                  for (size_t i = 0; i < l.n; i++)
                    print_entry (l.lines[i], o);
                  lines_clear (&l);
                }
            }
        }
      if (!running)
        return 0;
      {
        struct timespec ts = { 0, 100000000L };
        nanosleep (&ts, NULL);
      }
    }
}
