/* cli/docker: error output, global flags and argv helpers shared by the
 * verb files. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/docker/cli.h"
#include "common/cleanup.h"

const char *ward_cli_root = NULL;
const char *ward_cli_verb = "";

/* docker's two error shapes: run/create ("ward: Error response from
 * daemon: X\nSee 'ward run --help'.") and the rest ("Error response from
 * daemon: X"). */
int ward_cli_fail (int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  if (strcmp (ward_cli_verb, "run") == 0 || strcmp (ward_cli_verb, "create") == 0)
    fputs ("ward: ", stderr);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  if (strcmp (ward_cli_verb, "run") == 0 || strcmp (ward_cli_verb, "create") == 0)
    fprintf (stderr, "See 'ward %s --help'.\n", ward_cli_verb);
  return code;
}

int ward_cli_fail_err (int code, ward_error_t *e)
{
  return ward_cli_fail (code, "Error response from daemon: %s", e && e->msg ? e->msg : "unknown error");
}

int ward_cli_usage_error (ward_flags_t *f, const char *usage)
{
  fprintf (stderr, "%s\nSee 'ward %s --help'.\n", f->error ? f->error : "", ward_cli_verb);
  (void) usage;
  return 125;
}

int ward_cli_open_mgr (ward_mgr_t **m)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_open (ward_cli_root, m, &e) < 0)
    return ward_cli_fail_err (125, e);
  /* what a crashed monitor left of a network goes first (cheap otherwise) */
  ward_mgr_net_reconcile (*m);
  return 0;
}

void ward_cli_strv_append (char ***v, const char *s)
{
  size_t n = 0;
  while (*v && (*v)[n])
    n++;
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

int ward_cli_open_store (ward_store_t **s)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_store_open (ward_cli_root ? ward_cli_root : WARD_IMAGE_DEFAULT_ROOT, s, &e) < 0)
    return ward_cli_fail_err (1, e);
  return 0;
}

/* Appends s (taken) to a NULL-terminated vector of *n entries. */
void ward_cli_strv_push (char ***v, size_t *n, char *s)
{
  *v = xrealloc (*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

int ward_cli_parse_simple (int argc, char **argv, const ward_flag_def_t *defs, ward_flags_t *f,
                         size_t min_args, const char *usage)
{
  if (ward_flags_parse (defs, argc, argv, true, f) < 0)
    return ward_cli_usage_error (f, usage);
  for (size_t i = 0; i < f->n; i++)
    if (f->vals[i].id == -1)
      {
        printf ("Usage:  ward %s\n", usage);
        return -1;
      }
  if (f->n_args < min_args)
    {
      fprintf (stderr, "\"ward %s\" requires at least %zu argument%s.\nSee 'ward %s --help'.\n", ward_cli_verb,
               min_args, min_args == 1 ? "" : "s", ward_cli_verb);
      return 1;
    }
  return 0;
}

int ward_cli_render_row (const ward_tmpl_t *t, ward_tmpl_lookup_fn fn, void *data, char ***rows,
                         size_t *n)
{
  _cleanup_free_ char *rerr = NULL;
  char *line = ward_tmpl_render (t, fn, data, &rerr);
  if (line == NULL)
    return ward_cli_fail (1, "%s", rerr);
  ward_cli_strv_push (rows, n, line);
  return 0;
}

void ward_cli_print_rows (char **rows, size_t n, bool table)
{
  if (table)
    {
      _cleanup_free_ char *out = ward_tabwrite (rows, n, 10, 3);
      fputs (out, stdout);
    }
  else
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", rows[i]);
}

bool ward_cli_json_path (struct json_object *o, const char *path, struct json_object **out)
{
  json_object *v = o;
  char key[256];
  for (const char *p = path; v && *p;)
    {
      const char *dot = strchr (p, '.');
      size_t n = dot ? (size_t) (dot - p) : strlen (p);
      snprintf (key, sizeof key, "%.*s", (int) n, p);
      if (!json_object_object_get_ex (v, key, &v))
        {
          *out = NULL;
          return false;
        }
      p = dot ? dot + 1 : p + n;
    }
  *out = v;
  return true;
}

int ward_cli_dispatch (const ward_cli_sub_t *subs, const char *group, const char *sub, int argc,
                       char **argv, int unknown_code)
{
  for (const ward_cli_sub_t *c = subs; c->name; c++)
    if (strcmp (sub, c->name) == 0 || (c->alias && strcmp (sub, c->alias) == 0))
      return c->run (argc, argv);
  fprintf (stderr, "ward: '%s %s' is not a ward command.\nSee 'ward %s --help'\n", group, sub, group);
  return unknown_code;
}

int ward_cli_parse_format (const char *format, ward_tmpl_t *t)
{
  _cleanup_free_ char *perr = NULL;
  if (ward_tmpl_parse (format, t, &perr) < 0)
    return ward_cli_fail (1, "%s", perr);
  return 0;
}
