#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__ ((noreturn)) oom (void)
{
  static const char msg[] = "ward: out of memory\n";
  if (write (2, msg, sizeof msg - 1) < 0)
    abort ();
  abort ();
}

void *xmalloc (size_t size)
{
  void *p = malloc (size ? size : 1);
  if (!p)
    oom ();
  return p;
}

void *xzalloc (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (!p)
    oom ();
  return p;
}

void *xrealloc (void *p, size_t size)
{
  void *r = realloc (p, size ? size : 1);
  if (!r)
    oom ();
  return r;
}

char *xstrdup (const char *s)
{
  char *r;
  if (!s)
    return NULL;
  r = strdup (s);
  if (!r)
    oom ();
  return r;
}

char *xstrndup (const char *s, size_t n)
{
  char *r = strndup (s, n);
  if (!r)
    oom ();
  return r;
}

char *xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *r;
  va_start (ap, fmt);
  if (vasprintf (&r, fmt, ap) < 0)
    oom ();
  va_end (ap);
  return r;
}

int ward_error_setv (ward_error_t **err, int errnum, const char *fmt, va_list ap)
{
  int ret = errnum > 0 ? -errnum : -EINVAL;
  ward_error_t *e;
  char *text;

  if (err == NULL || *err != NULL)
    return ret;
  if (vasprintf (&text, fmt, ap) < 0)
    oom ();
  e = xzalloc (sizeof *e);
  e->status = errnum > 0 ? errnum : 0;
  if (errnum > 0)
    {
      e->msg = xasprintf ("%s: %s", text, strerror (errnum));
      free (text);
    }
  else
    e->msg = text;
  *err = e;
  return ret;
}

int ward_error_set (ward_error_t **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  int ret;
  va_start (ap, fmt);
  ret = ward_error_setv (err, errnum, fmt, ap);
  va_end (ap);
  return ret;
}

int ward_error_set_ret (ward_error_t **err, int ret, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ward_error_setv (err, errnum, fmt, ap);
  va_end (ap);
  return ret;
}

int ward_error_wrap (ward_error_t **err, const char *fmt, ...)
{
  va_list ap;
  char *prefix, *joined;

  if (err == NULL || *err == NULL)
    return -EINVAL;
  va_start (ap, fmt);
  if (vasprintf (&prefix, fmt, ap) < 0)
    oom ();
  va_end (ap);
  joined = xasprintf ("%s: %s", prefix, (*err)->msg);
  free (prefix);
  free ((*err)->msg);
  (*err)->msg = joined;
  return (*err)->status ? -(*err)->status : -EINVAL;
}

void ward_error_free (ward_error_t **err)
{
  if (err && *err)
    {
      free ((*err)->msg);
      free (*err);
      *err = NULL;
    }
}

const char *ward_go_strerror (int errnum, char *buf, size_t size)
{
  snprintf (buf, size, "%s", strerror (errnum));
  if (buf[0] >= 'A' && buf[0] <= 'Z')
    buf[0] = (char) (buf[0] + ('a' - 'A'));
  return buf;
}
