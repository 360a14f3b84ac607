#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

void ward_strbuf_add (ward_strbuf_t *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap)
    {
      b->cap = (b->len + n + 1) * 2;
      b->data = xrealloc (b->data, b->cap);
    }
  memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void ward_strbuf_puts (ward_strbuf_t *b, const char *s)
{
  ward_strbuf_add (b, s, strlen (s));
}

void ward_strbuf_printf (ward_strbuf_t *b, const char *fmt, ...)
{
  char small[128];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (small, sizeof small, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t) n < sizeof small)
    {
      ward_strbuf_add (b, small, (size_t) n);
      return;
    }
  /* Too long for the stack buffer: format straight into the buffer. */
  ward_strbuf_add (b, "", 0);
  if (b->len + (size_t) n + 1 > b->cap)
    {
      b->cap = (b->len + (size_t) n + 1) * 2;
      b->data = xrealloc (b->data, b->cap);
    }
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t) n;
}

char *ward_strbuf_take (ward_strbuf_t *b)
{
  char *r = b->data ? b->data : xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return r;
}
