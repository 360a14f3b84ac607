/* Minimal TAP producer for the unit tests. */
#ifndef WARD_TESTS_TAP_H
#define WARD_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

static inline void tap_plan (int n)
{
  printf ("1..%d\n", n);
}

static inline int tap_ok (int cond, const char *fmt, ...)
{
  va_list ap;
  tap_count++;
  if (!cond)
    tap_failed++;
  printf ("%s %d - ", cond ? "ok" : "not ok", tap_count);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
  fflush (stdout);
  return cond;
}

static inline void tap_skip (const char *reason)
{
  tap_count++;
  printf ("ok %d # SKIP %s\n", tap_count, reason);
}

static inline void tap_diag (const char *fmt, ...)
{
  va_list ap;
  printf ("# ");
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  printf ("\n");
}

/* Call at the end of main: prints the plan and returns the exit status. */
static inline int tap_done (void)
{
  printf ("1..%d\n", tap_count);
  return tap_failed ? 1 : 0;
}

static inline int tap_is_str_impl (const char *got, const char *want, const char *what)
{
  return tap_ok (got != NULL && strcmp (got, want) == 0, "%s: got '%s', want '%s'", what,
                 got ? got : "(null)", want);
}
#define tap_is_str(got, want, what) tap_is_str_impl ((got), (want), (what))

#endif
