/* docker's flag syntax (pflag): --flag=value, --flag value, -f value, -fvalue,
 * bundled short booleans (-dit), repeated list flags, `--` ends the flags.
 * Pure: no I/O, so the unit test covers it. */
#ifndef WARD_CLI_DOCKER_FLAGS_H
#define WARD_CLI_DOCKER_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum
{
  WARD_FLAG_BOOL = 0,
  WARD_FLAG_VALUE, /* a string, int or list flag: takes a value */
} ward_flag_kind_t;

typedef struct
{
  const char *name; /* long name without "--" */
  char short_name;  /* 0 = none */
  ward_flag_kind_t kind;
  int id;
} ward_flag_def_t;

typedef struct
{
  int id;
  const char *value; /* "true"/"false" for booleans; points into argv or a static string */
} ward_flag_val_t;

typedef struct
{
  ward_flag_val_t *vals;
  size_t n;
  char **args; /* positional arguments (pointers into argv), NULL-terminated */
  size_t n_args;
  char *error; /* malloc'd docker-worded message on failure */
} ward_flags_t;

/* Parses argv[0..argc) against defs (terminated by a NULL name).
 * interspersed = false stops at the first positional (run/create/exec:
 * everything after IMAGE belongs to the command).  Returns 0 or -1 with
 * out->error set.  "--help"/"-h" yield id -1. */
int ward_flags_parse (const ward_flag_def_t *defs, int argc, char **argv, bool interspersed,
                      ward_flags_t *out);
void ward_flags_free (ward_flags_t *f);

/* Value helpers. */
bool ward_flag_bool (const char *v); /* "true", "1", "" -> true */

#endif
