/* urfave/cli-compatible flag parsing for the runc command line: -flag and
 * --flag, "flag value" and "flag=value", bool flags with =true/=false,
 * flags anywhere among the arguments of a verb (urfave/cli reorders them),
 * "--" ends the flags. */
#ifndef WARD_CLI_OCI_OPTIONS_H
#define WARD_CLI_OCI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum
{
  CLI_BOOL,
  CLI_STRING,
  CLI_UINT,
  CLI_INT,          /* int*, signed (Go's IntFlag) */
  CLI_STRING_SLICE, /* cli_strv_t*: every occurrence appends (Go's StringSliceFlag) */
} cli_opt_type_t;

/* The values of a repeated flag, in order; v is NULL-terminated (NULL when
 * the flag was not given).  The strings are argv's; free v with free(). */
typedef struct
{
  char **v;
  size_t n;
} cli_strv_t;

typedef struct
{
  const char *name;  /* long name */
  const char *alias; /* short name, or NULL */
  cli_opt_type_t type;
  void *dest;        /* bool*, const char**, int*, cli_strv_t* */
  const char *help;
} cli_opt_t;

/* Parses argv[0..argc-1] (argv[0] is NOT the program name here).  permute:
 * flags may follow positional args; otherwise parsing stops at the first
 * positional.  Positional args are collected into *pos (malloc'd, not the
 * strings), their count in *npos.  On error returns -1 with *errmsg set
 * (malloc'd, runc's wording: "flag provided but not defined: -x"). */
int cli_parse (const cli_opt_t *opts, size_t nopts, int argc, char **argv, bool permute,
               char ***pos, int *npos, char **errmsg);

/* Prints the OPTIONS block of a help text. */
void cli_print_options (const cli_opt_t *opts, size_t nopts);

#endif
