/* One error object per failed call chain.  A function that can fail returns
 * 0 or a negative errno and fills *err once; callers add context with
 * ward_error_wrap, never by printing. */
#ifndef WARD_COMMON_ERROR_H
#define WARD_COMMON_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef struct ward_error
{
  int status;  /* positive errno, or 0 when the failure is not a syscall's */
  char *msg;   /* "what failed: strerror" */
} ward_error_t;

/* Sets *err (if err and *err is NULL) to the formatted message, followed by
 * ": strerror(errnum)" when errnum != 0.  Returns -errnum, or -EINVAL when
 * errnum is 0, so that `return ward_error_set (err, errno, "open '%s'", p);`
 * is the idiom. */
int ward_error_set (ward_error_t **err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like ward_error_set but with an explicit negative return value for errors
 * that carry no errno (errnum 0) yet must return something other than
 * -EINVAL. */
int ward_error_set_ret (ward_error_t **err, int ret, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

int ward_error_setv (ward_error_t **err, int errnum, const char *fmt, va_list ap);

/* Prefixes the existing message with "context: ".  Returns the error's
 * negative status (or -EINVAL), so `return ward_error_wrap (err, ...)`
 * propagates. */
int ward_error_wrap (ward_error_t **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* strerror as Go spells it, lower-case first letter ("no such file or
 * directory"), for the messages that must read as runc's. */
const char *ward_go_strerror (int errnum, char *buf, size_t size);

void ward_error_free (ward_error_t **err);

#define _cleanup_error_ __attribute__ ((cleanup (ward_error_free)))

/* Memory allocation that cannot fail: on OOM the process aborts, as crun
 * and systemd do; every caller would otherwise need an ENOMEM path. */
void *xmalloc (size_t size);
void *xzalloc (size_t size);
void *xrealloc (void *p, size_t size);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
