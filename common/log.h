/* Logging sink shared by libward and the front ends.  The front end decides
 * where lines go (--log FILE, stderr) and their format (runc's text or JSON
 * lines {"level","msg","time"} that containerd's shim parses); library code
 * only calls ward_log/ward_debug. */
#ifndef WARD_COMMON_LOG_H
#define WARD_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum ward_log_level
{
  WARD_LOG_ERROR = 0,
  WARD_LOG_WARNING = 1,
  WARD_LOG_INFO = 2,
  WARD_LOG_DEBUG = 3,
};

/* fd < 0 means stderr.  The fd is not closed by the log module. */
void ward_log_init (int fd, bool json, enum ward_log_level max_level);
enum ward_log_level ward_log_level (void);
int ward_log_fd (void);
bool ward_log_is_json (void);

void ward_log (enum ward_log_level level, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#define ward_debug(...)                                                        \
  do                                                                           \
    {                                                                          \
      if (ward_log_level () >= WARD_LOG_DEBUG)                                 \
        ward_log (WARD_LOG_DEBUG, __VA_ARGS__);                                \
    }                                                                          \
  while (0)
#define ward_warn(...) ward_log (WARD_LOG_WARNING, __VA_ARGS__)
#define ward_info(...) ward_log (WARD_LOG_INFO, __VA_ARGS__)
#define ward_log_error(...) ward_log (WARD_LOG_ERROR, __VA_ARGS__)

/* Appends s to buf as a JSON string body (no quotes), escaping as JSON
 * requires; returns the number of bytes written (not counting NUL), never
 * more than size-1. */
size_t ward_json_escape (char *buf, size_t size, const char *s);

#endif
