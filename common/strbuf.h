/* A growing, always NUL-terminated string buffer for the JSON and table
 * writers that build text piece by piece. */
#ifndef WARD_COMMON_STRBUF_H
#define WARD_COMMON_STRBUF_H

#include <stddef.h>

typedef struct
{
  char *data; /* NULL until the first append */
  size_t len, cap;
} ward_strbuf_t;

void ward_strbuf_add (ward_strbuf_t *b, const char *s, size_t n);
void ward_strbuf_puts (ward_strbuf_t *b, const char *s);
void ward_strbuf_printf (ward_strbuf_t *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Hands the text over (never NULL) and resets the buffer. */
char *ward_strbuf_take (ward_strbuf_t *b);

#endif
