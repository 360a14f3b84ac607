#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static bool log_json = false;
static enum ward_log_level log_max = WARD_LOG_WARNING;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void ward_log_init (int fd, bool json, enum ward_log_level max_level)
{
  log_fd = fd;
  log_json = json;
  log_max = max_level;
}

enum ward_log_level ward_log_level (void)
{
  return log_max;
}

int ward_log_fd (void)
{
  return log_fd < 0 ? 2 : log_fd;
}

bool ward_log_is_json (void)
{
  return log_json;
}

size_t ward_json_escape (char *buf, size_t size, const char *s)
{
  size_t n = 0;
  if (size == 0)
    return 0;
  for (; *s && n + 7 < size; s++)
    {
      unsigned char c = (unsigned char) *s;
      switch (c)
        {
        case '"': buf[n++] = '\\'; buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; buf[n++] = '\\'; break;
        case '\n': buf[n++] = '\\'; buf[n++] = 'n'; break;
        case '\r': buf[n++] = '\\'; buf[n++] = 'r'; break;
        case '\t': buf[n++] = '\\'; buf[n++] = 't'; break;
        default:
          if (c < 0x20)
            n += (size_t) snprintf (buf + n, size - n, "\\u%04x", c);
          else
            buf[n++] = (char) c;
        }
    }
  buf[n] = '\0';
  return n;
}

/* RFC 3339 in whole seconds, UTC: logrus' default time format, which is
 * what runc's log lines carry. */
static void format_time (char *buf, size_t size)
{
  time_t now = time (NULL);
  struct tm tm;
  gmtime_r (&now, &tm);
  strftime (buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ward_log (enum ward_log_level level, const char *fmt, ...)
{
  char msg[4096], escaped[8192], when[64], line[8448];
  va_list ap;
  int n;

  if (level > log_max)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  format_time (when, sizeof when);
  ward_json_escape (escaped, sizeof escaped, msg);
  if (log_json)
    n = snprintf (line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                  level_names[level], escaped, when);
  else
    n = snprintf (line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", when,
                  level_names[level], escaped);
  if (n > (int) sizeof line - 1)
    n = (int) sizeof line - 1;
  /* One write per line so concurrent writers (shim, runtime) never interleave. */
  if (write (ward_log_fd (), line, (size_t) n) < 0)
    return;
}
