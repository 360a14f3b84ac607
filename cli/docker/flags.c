/* docker's (pflag's) command-line syntax. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/docker/flags.h"
#include "common/error.h"

static void add_val (ward_flags_t *f, int id, const char *v)
{
  f->vals = xrealloc (f->vals, (f->n + 1) * sizeof *f->vals);
  f->vals[f->n].id = id;
  f->vals[f->n++].value = v;
}

static void add_arg (ward_flags_t *f, char *a)
{
  f->args = xrealloc (f->args, (f->n_args + 2) * sizeof *f->args);
  f->args[f->n_args++] = a;
  f->args[f->n_args] = NULL;
}

static const ward_flag_def_t *find_long (const ward_flag_def_t *d, const char *name, size_t len)
{
  for (; d->name; d++)
    if (strlen (d->name) == len && strncmp (d->name, name, len) == 0)
      return d;
  return NULL;
}

static const ward_flag_def_t *find_short (const ward_flag_def_t *d, char c)
{
  for (; d->name; d++)
    if (d->short_name == c)
      return d;
  return NULL;
}

bool ward_flag_bool (const char *v)
{
  return v == NULL || *v == '\0' || strcmp (v, "true") == 0 || strcmp (v, "1") == 0
         || strcmp (v, "True") == 0 || strcmp (v, "TRUE") == 0 || strcmp (v, "t") == 0;
}

static bool bool_value_ok (const char *v)
{
  static const char *const ok[] = { "true", "false", "1", "0", "t", "f", "True", "False",
                                     "TRUE", "FALSE", "T", "F", NULL };
  for (const char *const *o = ok; *o; o++)
    if (strcmp (*o, v) == 0)
      return true;
  return false;
}

int ward_flags_parse (const ward_flag_def_t *defs, int argc, char **argv, bool interspersed,
                      ward_flags_t *f)
{
  int i;
  memset (f, 0, sizeof *f);
  f->args = xzalloc (sizeof *f->args);
  for (i = 0; i < argc; i++)
    {
      char *a = argv[i];
      if (strcmp (a, "--") == 0)
        {
          i++;
          break;
        }
      if (a[0] != '-' || a[1] == '\0')
        {
          if (!interspersed)
            break;
          add_arg (f, a);
          continue;
        }
      if (a[1] == '-')
        {
          const char *name = a + 2;
          const char *eq = strchr (name, '=');
          size_t len = eq ? (size_t) (eq - name) : strlen (name);
          const ward_flag_def_t *d = find_long (defs, name, len);
          if (d == NULL)
            {
              if (len == 4 && strncmp (name, "help", 4) == 0)
                {
                  add_val (f, -1, "true");
                  continue;
                }
              f->error = xasprintf ("unknown flag: --%.*s", (int) len, name);
              return -1;
            }
          if (d->kind == WARD_FLAG_BOOL)
            {
              if (eq && !bool_value_ok (eq + 1))
                {
                  f->error = xasprintf ("invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
                                        eq + 1, d->name, eq + 1);
                  return -1;
                }
              add_val (f, d->id, eq ? (ward_flag_bool (eq + 1) ? "true" : "false") : "true");
            }
          else if (eq)
            add_val (f, d->id, eq + 1);
          else if (i + 1 < argc)
            add_val (f, d->id, argv[++i]);
          else
            {
              f->error = xasprintf ("flag needs an argument: --%s", d->name);
              return -1;
            }
          continue;
        }
      /* short flags, possibly bundled: -dit, -p8080:80, -e FOO=1 */
      for (const char *c = a + 1; *c; c++)
        {
          const ward_flag_def_t *d = find_short (defs, *c);
          if (d == NULL)
            {
              if (*c == 'h')
                {
                  add_val (f, -1, "true");
                  continue;
                }
              f->error = xasprintf ("unknown shorthand flag: '%c' in %s", *c, a);
              return -1;
            }
          if (d->kind == WARD_FLAG_BOOL)
            {
              if (c[1] == '=')
                {
                  add_val (f, d->id, ward_flag_bool (c + 2) ? "true" : "false");
                  break;
                }
              add_val (f, d->id, "true");
              continue;
            }
          if (c[1] != '\0')
            add_val (f, d->id, c[1] == '=' ? c + 2 : c + 1);
          else if (i + 1 < argc)
            add_val (f, d->id, argv[++i]);
          else
            {
              f->error = xasprintf ("flag needs an argument: '%c' in -%c", *c, *c);
              return -1;
            }
          break;
        }
    }
  for (; i < argc; i++)
    add_arg (f, argv[i]);
  return 0;
}

void ward_flags_free (ward_flags_t *f)
{
  free (f->vals);
  free (f->args);
  free (f->error);
  memset (f, 0, sizeof *f);
}
