/* `ward volume create|ls|inspect|rm|prune`: docker's output shapes over
 * runtime/manager/volume.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/docker/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "runtime/manager/manager.h"

static void vols_free (json_object **v, size_t n)
{
  ward_mgr_records_free (v, n);
}

static int volume_create (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "name", 0, WARD_FLAG_VALUE, 1 },
                                          { "label", 0, WARD_FLAG_VALUE, 2 },
                                          { "driver", 'd', WARD_FLAG_VALUE, 3 },
                                          { "opt", 'o', WARD_FLAG_VALUE, 4 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **labels = NULL;
  _cleanup_strv_ char **opts = NULL;
  _cleanup_free_ char *out = NULL;
  const char *name = NULL;
  int ret;
  SIMPLE_PARSE (defs, 0, "volume create [OPTIONS] [VOLUME]");
  for (size_t i = 0; i < f.n; i++)
    {
      const char *v = f.vals[i].value;
      switch (f.vals[i].id)
        {
        case 1: name = v; break;
        case 2: ward_cli_strv_append (&labels, v); break;
        case 3:
          if (strcmp (v, "local") != 0)
            return ward_cli_fail (1, "Error response from daemon: error looking up volume plugin %s: plugin \"%s\" not found", v, v);
          break;
        case 4: ward_cli_strv_append (&opts, v); break;
        }
    }
  if (f.n_args > 1)
    return ward_cli_fail (1, "\"ward volume create\" requires at most 1 argument.");
  if (f.n_args == 1)
    {
      if (name && strcmp (name, f.args[0]) != 0)
        return ward_cli_fail (1, "conflicting options: either specify --name or provide positional arg, not both");
      name = f.args[0];
    }
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_volume_create (m, name, labels, opts, NULL, &out, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%s\n", out);
  return 0;
}

typedef struct
{
  json_object *v;
  char labels[2048];
} vol_row_t;

static const char *vol_lookup (const char *field, void *data)
{
  vol_row_t *r = data;
  if (strcmp (field, "Name") == 0)
    return ward_mgr_rec_str (r->v, "Name");
  if (strcmp (field, "Driver") == 0)
    return "local";
  if (strcmp (field, "Mountpoint") == 0)
    return ward_mgr_rec_str (r->v, "Mountpoint");
  if (strcmp (field, "Scope") == 0)
    return "local";
  if (strcmp (field, "CreatedAt") == 0)
    return ward_mgr_rec_str (r->v, "CreatedAt");
  if (strcmp (field, "Labels") == 0)
    return r->labels;
  if (strcmp (field, "Size") == 0 || strcmp (field, "Links") == 0)
    return "N/A";
  return NULL;
}

/* docker volume ls's column headings (NAME alone would be `network ls`'s) */
static const char *vol_heading (const char *field, void *data)
{
  static const char *const h[][2] = { { "Name", "VOLUME NAME" }, { "Driver", "DRIVER" },
                                      { "Mountpoint", "MOUNTPOINT" }, { "Scope", "SCOPE" },
                                      { "CreatedAt", "CREATED" }, { "Labels", "LABELS" },
                                      { "Size", "SIZE" }, { "Links", "LINKS" } };
  (void) data;
  for (size_t i = 0; i < ARRAY_SIZE (h); i++)
    if (strcmp (h[i][0], field) == 0)
      return h[i][1];
  return NULL;
}

static int vol_filter (ward_mgr_t *m, json_object *v, const char *filter, bool *match,
                        ward_error_t **err)
{
  const char *eq = strchr (filter, '=');
  const char *val = eq ? eq + 1 : "";
  size_t kl = eq ? (size_t) (eq - filter) : strlen (filter);
  const char *name = ward_mgr_rec_str (v, "Name");
  if (eq == NULL)
    return ward_error_set_ret (err, -EINVAL, 0, "bad format of filter (expected name=value)");
  if (kl == 4 && strncmp (filter, "name", 4) == 0)
    *match = strstr (name, val) != NULL;
  else if (kl == 6 && strncmp (filter, "driver", 6) == 0)
    *match = strcmp (val, "local") == 0;
  else if (kl == 8 && strncmp (filter, "dangling", 8) == 0)
    {
      _cleanup_strv_ char **users = NULL;
      bool want = strcmp (val, "true") == 0 || strcmp (val, "1") == 0;
      if (!want && strcmp (val, "false") != 0 && strcmp (val, "0") != 0)
        return ward_error_set_ret (err, -EINVAL, 0, "invalid filter 'dangling=%s'", val);
      if (ward_mgr_volume_users (m, name, &users, err) < 0)
        return -1;
      *match = (users[0] == NULL) == want;
    }
  else if (kl == 5 && strncmp (filter, "label", 5) == 0)
    {
      const char *leq = strchr (val, '=');
      _cleanup_free_ char *k = leq ? xstrndup (val, (size_t) (leq - val)) : xstrdup (val);
      json_object *labels, *x;
      *match = json_object_object_get_ex (v, "Labels", &labels) && labels
               && json_object_object_get_ex (labels, k, &x)
               && (!leq || strcmp (json_object_get_string (x), leq + 1) == 0);
    }
  else
    return ward_error_set_ret (err, -EINVAL, 0, "invalid filter '%.*s'", (int) kl, filter);
  return 0;
}

static int volume_ls (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "quiet", 'q', WARD_FLAG_BOOL, 1 },
                                          { "filter", 'f', WARD_FLAG_VALUE, 2 },
                                          { "format", 0, WARD_FLAG_VALUE, 3 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **filters = NULL;
  _cleanup_strv_ char **rows = NULL;
  _cleanup_tmpl_ ward_tmpl_t t = { NULL, false };
  json_object **vols = NULL;
  size_t nv = 0, nrows = 0;
  const char *format = NULL;
  bool quiet = false;
  int ret = 0;
  SIMPLE_PARSE (defs, 0, "volume ls [OPTIONS]");
  for (size_t i = 0; i < f.n; i++)
    switch (f.vals[i].id)
      {
      case 1: quiet = ward_flag_bool (f.vals[i].value); break;
      case 2: ward_cli_strv_append (&filters, f.vals[i].value); break;
      case 3: format = f.vals[i].value; break;
      }
  if (quiet)
    format = "{{.Name}}";
  if (!format)
    format = "table {{.Driver}}\t{{.Name}}";
  if ((ret = ward_cli_parse_format (format, &t)) != 0)
    return ret;
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_volume_list (m, &vols, &nv, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (t.table)
    {
      _cleanup_free_ char *perr = NULL;
      ward_cli_strv_push (&rows, &nrows, ward_tmpl_render (&t, vol_heading, NULL, &perr));
    }
  for (size_t i = 0; i < nv && ret == 0; i++)
    {
      vol_row_t r = { .v = vols[i] };
      bool match = true;
      json_object *labels;
      size_t off = 0;
      for (char **fl = filters; fl && *fl && match; fl++)
        if (vol_filter (m, vols[i], *fl, &match, &e) < 0)
          ret = ward_cli_fail_err (1, e);
      if (ret || !match)
        continue;
      if (json_object_object_get_ex (vols[i], "Labels", &labels) && labels)
        {
          json_object_object_foreach (labels, k, v)
            off += (size_t) snprintf (r.labels + off, off < sizeof r.labels ? sizeof r.labels - off : 0,
                                      "%s%s=%s", off ? "," : "", k, json_object_get_string (v));
        }
      ret = ward_cli_render_row (&t, vol_lookup, &r, &rows, &nrows);
    }
  vols_free (vols, nv);
  if (ret)
    return ret;
  ward_cli_print_rows (rows, nrows, t.table);
  return 0;
}

/* {{.X}} and {{json .X}} on a volume object */
static const char *vol_json_lookup (const char *field, void *data)
{
  json_object *v;
  if (!ward_cli_json_path (data, strncmp (field, "json:", 5) == 0 ? field + 5 : field, &v))
    return NULL;
  if (strncmp (field, "json:", 5) != 0 && v && json_object_is_type (v, json_type_string))
    return json_object_get_string (v);
  if (v == NULL)
    return strncmp (field, "json:", 5) == 0 ? "null" : "<no value>";
  return json_object_to_json_string_ext (v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int volume_inspect (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "format", 'f', WARD_FLAG_VALUE, 1 }, { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_json_ json_object *arr = json_object_new_array ();
  _cleanup_tmpl_ ward_tmpl_t t = { NULL, false };
  const char *format = NULL;
  int ret = 0;
  SIMPLE_PARSE (defs, 1, "volume inspect [OPTIONS] VOLUME [VOLUME...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      format = f.vals[i].value;
  if (format && (ret = ward_cli_parse_format (format, &t)) != 0)
    return ret;
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      json_object *v = NULL;
      if (ward_mgr_volume_inspect (m, f.args[i], &v, &e) < 0)
        {
          fprintf (stderr, "Error: No such volume: %s\n", f.args[i]);
          ret = 1;
          continue;
        }
      if (format)
        {
          _cleanup_free_ char *rerr = NULL;
          _cleanup_free_ char *line = ward_tmpl_render (&t, vol_json_lookup, v, &rerr);
          if (line)
            printf ("%s\n", line);
          else
            {
              fprintf (stderr, "%s\n", rerr);
              ret = 1;
            }
          json_object_put (v);
        }
      else
        json_object_array_add (arr, v);
    }
  if (!format)
    printf ("%s\n", json_object_to_json_string_ext (arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                             | JSON_C_TO_STRING_NOSLASHESCAPE));
  return ret;
}

static int volume_rm (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 }, { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  bool force = false;
  int ret = 0;
  SIMPLE_PARSE (defs, 1, "volume rm [OPTIONS] VOLUME [VOLUME...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      force = ward_flag_bool (f.vals[i].value);
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_mgr_volume_remove (m, f.args[i], force, &e) < 0)
        ret = ward_cli_fail_err (1, e);
      else
        printf ("%s\n", f.args[i]);
    }
  return ret;
}

/* docker's units.HumanSize with its precision of 4 ("1.234kB", "0B") */
static void human_size (uint64_t n, char *buf, size_t len)
{
  static const char *const u[] = { "B", "kB", "MB", "GB", "TB" };
  double d = (double) n;
  size_t i = 0;
  while (d >= 1000 && i + 1 < ARRAY_SIZE (u))
    {
      d /= 1000;
      i++;
    }
  snprintf (buf, len, "%.4g%s", d, u[i]);
}

static int volume_prune (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 },
                                          { "all", 'a', WARD_FLAG_BOOL, 2 },
                                          { "filter", 0, WARD_FLAG_VALUE, 3 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **removed = NULL;
  uint64_t reclaimed = 0;
  bool force = false, all = false;
  char size[32];
  int ret;
  SIMPLE_PARSE (defs, 0, "volume prune [OPTIONS]");
  for (size_t i = 0; i < f.n; i++)
    {
      if (f.vals[i].id == 1)
        force = ward_flag_bool (f.vals[i].value);
      else if (f.vals[i].id == 2)
        all = ward_flag_bool (f.vals[i].value);
      else if (f.vals[i].id == 3)
        return ward_cli_fail (1, "Error response from daemon: invalid filter '%s' (volume prune filters are not supported)", f.vals[i].value);
    }
  if (!force)
    {
      char answer[16] = "";
      printf ("WARNING! This will remove %s local volumes not used by at least one container.\n"
              "Are you sure you want to continue? [y/N] ",
              all ? "all" : "anonymous");
      fflush (stdout);
      if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        return 0;
    }
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_volume_prune (m, all, &removed, &reclaimed, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (removed[0])
    {
      printf ("Deleted Volumes:\n");
      for (char **r = removed; *r; r++)
        printf ("%s\n", *r);
      printf ("\n");
    }
  human_size (reclaimed, size, sizeof size);
  printf ("Total reclaimed space: %s\n", size);
  return 0;
}

static void volume_usage (FILE *out)
{
  fputs ("Usage:  ward volume COMMAND\n\nManage volumes\n\nCommands:\n"
         "  create      Create a volume\n"
         "  inspect     Display detailed information on one or more volumes\n"
         "  ls          List volumes\n"
         "  prune       Remove unused local volumes\n"
         "  rm          Remove one or more volumes\n",
         out);
}

int ward_cli_cmd_volume (int argc, char **argv)
{
  static const ward_cli_sub_t subs[] = {
    { "create", NULL, volume_create }, { "ls", "list", volume_ls },
    { "inspect", NULL, volume_inspect }, { "rm", "remove", volume_rm },
    { "prune", NULL, volume_prune }, { NULL, NULL, NULL },
  };
  const char *sub;
  if (argc < 1)
    {
      volume_usage (stderr);
      return 1;
    }
  sub = argv[0];
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 || strcmp (sub, "help") == 0)
    {
      volume_usage (stdout);
      return 0;
    }
  return ward_cli_dispatch (subs, "volume", sub, argc - 1, argv + 1, 1);
}
