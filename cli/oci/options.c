#include "cli/oci/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"

static const cli_opt_t *find (const cli_opt_t *opts, size_t n, const char *name, size_t len)
{
  for (size_t i = 0; i < n; i++)
    if ((strlen (opts[i].name) == len && strncmp (opts[i].name, name, len) == 0)
        || (opts[i].alias && strlen (opts[i].alias) == len && strncmp (opts[i].alias, name, len) == 0))
      return &opts[i];
  return NULL;
}

/* Go's strconv.ParseBool. */
static int parse_bool (const char *s, bool *out)
{
  static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
  for (size_t i = 0; i < 6; i++)
    {
      if (strcmp (s, t[i]) == 0)
        return *out = true, 0;
      if (strcmp (s, f[i]) == 0)
        return *out = false, 0;
    }
  return -1;
}

int cli_parse (const cli_opt_t *opts, size_t nopts, int argc, char **argv, bool permute,
               char ***pos, int *npos, char **errmsg)
{
  char **p = calloc ((size_t) argc + 1, sizeof (char *));
  int np = 0;

  if (!p)
    abort ();
  *errmsg = NULL;
  for (int i = 0; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          for (i++; i < argc; i++)
            p[np++] = argv[i];
          break;
        }
      if (a[0] != '-' || a[1] == '\0')
        {
          if (!permute)
            {
              for (; i < argc; i++)
                p[np++] = argv[i];
              break;
            }
          p[np++] = argv[i];
          continue;
        }
      const char *name = a + 1;
      if (*name == '-')
        name++;
      const char *eq = strchr (name, '=');
      size_t len = eq ? (size_t) (eq - name) : strlen (name);
      const cli_opt_t *o = find (opts, nopts, name, len);
      if (!o || len == 0)
        {
          *errmsg = xasprintf ("flag provided but not defined: -%.*s", (int) len, name);
          free (p);
          return -1;
        }
      const char *value = eq ? eq + 1 : NULL;
      if (o->type == CLI_BOOL)
        {
          bool b = true;
          if (value && parse_bool (value, &b) < 0)
            {
              *errmsg = xasprintf ("invalid boolean value \"%s\" for -%s: parse error", value, o->name);
              free (p);
              return -1;
            }
          *(bool *) o->dest = b;
          continue;
        }
      if (!value)
        {
          if (i + 1 >= argc)
            {
              *errmsg = xasprintf ("flag needs an argument: -%.*s", (int) len, name);
              free (p);
              return -1;
            }
          value = argv[++i];
        }
      if (o->type == CLI_STRING)
        *(const char **) o->dest = value;
      else if (o->type == CLI_STRING_SLICE)
        {
          cli_strv_t *sv = o->dest;
          sv->v = xrealloc (sv->v, (sv->n + 2) * sizeof (char *));
          sv->v[sv->n++] = (char *) value;
          sv->v[sv->n] = NULL;
        }
      else if (o->type == CLI_INT)
        {
          long long v;
          if (ward_parse_i64 (value, &v) < 0 || v > 2147483647LL || v < -2147483648LL)
            {
              *errmsg = xasprintf ("invalid value \"%s\" for flag -%s: parse error", value, o->name);
              free (p);
              return -1;
            }
          *(int *) o->dest = (int) v;
        }
      else
        {
          unsigned long long v;
          if (ward_parse_u64 (value, &v) < 0 || v > 1000000)
            {
              *errmsg = xasprintf ("invalid value \"%s\" for flag -%s: parse error", value, o->name);
              free (p);
              return -1;
            }
          *(int *) o->dest = (int) v;
        }
    }
  *pos = p;
  *npos = np;
  return 0;
}

void cli_print_options (const cli_opt_t *opts, size_t nopts)
{
  printf ("OPTIONS:\n");
  for (size_t i = 0; i < nopts; i++)
    {
      char left[96];
      const char *v = opts[i].type == CLI_BOOL ? "" : " value";
      if (opts[i].alias)
        snprintf (left, sizeof left, "--%s%s, -%s%s", opts[i].name, v, opts[i].alias, v);
      else
        snprintf (left, sizeof left, "--%s%s", opts[i].name, v);
      printf ("   %-26s %s\n", left, opts[i].help ? opts[i].help : "");
    }
}
