/* cli/docker: the image verbs (pull, images, rmi, tag, load, save, the
 * image side of inspect) and the hidden default-image import. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/docker/cli.h"
#include "common/cleanup.h"
#include "common/log.h"

/* descriptors from ward_store_list, freed on scope exit */
typedef struct
{
  ward_image_desc_t *v;
  size_t n;
} descs_t;
static void descs_freep (descs_t *d)
{
  if (d->v)
    ward_image_descs_free (d->v, d->n);
}
#define _cleanup_descs_ __attribute__ ((cleanup (descs_freep)))

/* `inspect IMAGE`: the keys of docker's image inspect that scripts read. */
static json_object *strv_json (char **v, size_t n, bool has)
{
  json_object *a;
  if (!has)
    return NULL;
  a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

json_object *ward_cli_image_inspect_json (const char *name)
{
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_image_ ward_image_t *img = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  const ward_oci_image_config_t *c;
  json_object *o, *cfg, *tags, *labels;
  int64_t size = 0;

  if (ward_store_open (ward_cli_root ? ward_cli_root : WARD_IMAGE_DEFAULT_ROOT, &s, &e) < 0
      || ward_image_open (s, name, &img, &e) < 0)
    return NULL;
  c = img->config;
  o = json_object_new_object ();
  json_object_object_add (o, "Id", json_object_new_string (img->config_digest));
  tags = json_object_new_array ();
  if (img->name)
    {
      _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
      _cleanup_error_ ward_error_t *e2 = NULL;
      if (ward_image_ref_parse (img->name, &ref, &e2) == 0)
        {
          _cleanup_free_ char *fam = ward_image_ref_familiar (ref);
          json_object_array_add (tags, json_object_new_string (fam));
        }
    }
  json_object_object_add (o, "RepoTags", tags);
  json_object_object_add (o, "Created", json_object_new_string (c->created ? c->created : ""));
  cfg = json_object_new_object ();
  json_object_object_add (cfg, "User", json_object_new_string (c->user ? c->user : ""));
  json_object_object_add (cfg, "Env", strv_json (c->env, c->env_len, c->env_len > 0));
  json_object_object_add (cfg, "Cmd", strv_json (c->cmd, c->cmd_len, c->has_cmd));
  json_object_object_add (cfg, "Entrypoint", strv_json (c->entrypoint, c->entrypoint_len, c->has_entrypoint));
  json_object_object_add (cfg, "WorkingDir", json_object_new_string (c->working_dir ? c->working_dir : ""));
  labels = json_object_new_object ();
  for (size_t i = 0; i < c->labels_len; i++)
    json_object_object_add (labels, c->labels[i].key, json_object_new_string (c->labels[i].value));
  json_object_object_add (cfg, "Labels", labels);
  if (c->stop_signal)
    json_object_object_add (cfg, "StopSignal", json_object_new_string (c->stop_signal));
  json_object_object_add (o, "Config", cfg);
  json_object_object_add (o, "Architecture", json_object_new_string (c->architecture ? c->architecture : ""));
  json_object_object_add (o, "Os", json_object_new_string (c->os ? c->os : ""));
  for (size_t l = 0; l < img->manifest->layers_len; l++)
    size += img->manifest->layers[l].size;
  json_object_object_add (o, "Size", json_object_new_int64 (size));
  {
    json_object *rootfs = json_object_new_object ();
    json_object_object_add (rootfs, "Type", json_object_new_string ("layers"));
    json_object_object_add (rootfs, "Layers", strv_json (c->diff_ids, c->diff_ids_len, true));
    json_object_object_add (o, "RootFS", rootfs);
  }
  return o;
}

/* ---- images -------------------------------------------------------------------------- */

typedef struct
{
  bool tty;
  char ids[64][16];
  int last[64];
  bool extracting[64];
  size_t n;
  bool fetched; /* a layer was really downloaded */
} pull_ui_t;

/* One line per layer and state change (docker's non-tty output); on a tty
 * the download line is redrawn as a bar. */
static void pull_progress (const ward_pull_progress_t *p, void *data)
{
  pull_ui_t *ui = data;
  static const char *const names[] = { "Pulling fs layer", "Downloading", "Verifying Checksum",
                                       "Extracting", "Pull complete", "Already exists", "Failed" };
  const char *what;
  size_t i;
  for (i = 0; i < ui->n; i++)
    if (strcmp (ui->ids[i], p->id) == 0)
      break;
  if (i == ui->n && ui->n < ARRAY_SIZE (ui->ids))
    {
      snprintf (ui->ids[ui->n], sizeof ui->ids[0], "%s", p->id);
      ui->last[ui->n++] = -1;
    }
  if (ui->tty && p->status == WARD_PULL_DOWNLOADING && p->total > 0)
    {
      int w = (int) (p->current * 40 / p->total);
      fprintf (stdout, "\r%s: Downloading [%.*s>%*s] %lld/%lld", p->id, w,
               "========================================", 40 - w, "", (long long) p->current,
               (long long) p->total);
      fflush (stdout);
      return;
    }
  if (p->status == WARD_PULL_VERIFYING || p->status == WARD_PULL_DOWNLOADING)
    ui->fetched = true;
  if (i < ui->n && ui->last[i] == (int) p->status)
    return;
  if (i < ui->n)
    {
      ui->last[i] = (int) p->status;
      if (p->status == WARD_PULL_EXTRACTING)
        ui->extracting[i] = true;
    }
  /* docker's plain output has no progress lines */
  if (!ui->tty && (p->status == WARD_PULL_DOWNLOADING || p->status == WARD_PULL_EXTRACTING))
    return;
  what = names[p->status];
  if (p->status == WARD_PULL_DONE && i < ui->n && !ui->extracting[i])
    what = "Download complete";
  printf ("%s%s: %s\n", ui->tty ? "\r\033[K" : "", p->id, what);
}

int ward_cli_cmd_pull (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "quiet", 'q', WARD_FLAG_BOOL, 1 },
                                          { "platform", 0, WARD_FLAG_VALUE, 2 },
                                          { "all-tags", 'a', WARD_FLAG_BOOL, 3 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ char *digest = NULL;
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  pull_ui_t ui = { .tty = isatty (STDOUT_FILENO) };
  bool quiet = false;
  ward_pull_opts_t po = { .unpack = true, .progress = pull_progress, .userdata = &ui };
  int ret;
  SIMPLE_PARSE (defs, 1, "pull [OPTIONS] NAME[:TAG|@DIGEST]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      quiet = ward_flag_bool (f.vals[i].value);
  if (quiet)
    po.progress = NULL;
  if (ward_image_ref_parse (f.args[0], &ref, &e) < 0)
    ret = ward_cli_fail_err (1, e);
  else if ((ret = ward_cli_open_store (&s)) == 0)
    {
      const char *last = strrchr (f.args[0], '/') ? strrchr (f.args[0], '/') + 1 : f.args[0];
      if (!quiet && !strchr (last, ':') && !strchr (last, '@'))
        printf ("Using default tag: latest\n");
      if (!quiet && ref->tag)
        printf ("%s: Pulling from %s\n", ref->tag, ref->path);
      if (ward_image_pull (s, f.args[0], &po, &digest, &e) < 0)
        ret = ward_cli_fail_err (1, e);
      else
        {
          if (!quiet)
            {
              _cleanup_free_ char *fam = ward_image_ref_familiar (ref);
              printf ("Digest: %s\nStatus: %s %s\n", digest,
                      ui.fetched ? "Downloaded newer image for" : "Image is up to date for", fam);
            }
          printf ("%s\n", ref->full);
        }
    }
  ward_flags_free (&f);
  return ret;
}

int ward_cli_cmd_images (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "quiet", 'q', WARD_FLAG_BOOL, 1 },
                                          { "all", 'a', WARD_FLAG_BOOL, 2 },
                                          { "no-trunc", 0, WARD_FLAG_BOOL, 3 },
                                          { "format", 0, WARD_FLAG_VALUE, 4 },
                                          { "digests", 0, WARD_FLAG_BOOL, 5 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_descs_ descs_t descs = { NULL, 0 };
  size_t nrows = 0;
  bool quiet = false, no_trunc = false;
  _cleanup_strv_ char **rows = NULL;
  _cleanup_strv_ char **seen = NULL;
  time_t now = time (NULL);
  int ret;
  SIMPLE_PARSE (defs, 0, "images [OPTIONS] [REPOSITORY[:TAG]]");
  for (size_t i = 0; i < f.n; i++)
    {
      if (f.vals[i].id == 1)
        quiet = ward_flag_bool (f.vals[i].value);
      if (f.vals[i].id == 3)
        no_trunc = ward_flag_bool (f.vals[i].value);
    }
  if ((ret = ward_cli_open_store (&s)) != 0)
    return ret;
  if (ward_store_list (s, &descs.v, &descs.n, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (!quiet)
    ward_cli_strv_push (&rows, &nrows, xstrdup ("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE"));
  for (size_t i = 0; i < descs.n; i++)
    {
      _cleanup_image_ ward_image_t *img = NULL;
      _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
      _cleanup_error_ ward_error_t *e2 = NULL;
      _cleanup_free_ char *fam = NULL, *ago = NULL;
      const char *hex;
      int64_t size = 0;
      struct timespec ts = { 0, 0 };
      if (!descs.v[i].name || ward_image_open (s, descs.v[i].name, &img, &e2) < 0)
        continue;
      if (f.n_args && strstr (descs.v[i].name, f.args[0]) == NULL)
        continue;
      hex = strchr (img->config_digest, ':') + 1;
      if (quiet)
        {
          bool dup = false;
          for (char **p = seen; p && *p; p++)
            dup |= strcmp (*p, hex) == 0;
          if (dup)
            continue;
          ward_cli_strv_append (&seen, hex);
          ward_cli_strv_push (&rows, &nrows, xasprintf ("%.*s", no_trunc ? 64 : 12, hex));
          continue;
        }
      ward_image_ref_parse (descs.v[i].name, &ref, &e2);
      fam = ref ? ward_image_ref_familiar (ref) : xstrdup (descs.v[i].name);
      if (strrchr (fam, ':') && !strchr (strrchr (fam, ':'), '/'))
        *strrchr (fam, ':') = '\0';
      for (size_t l = 0; l < img->manifest->layers_len; l++)
        size += img->manifest->layers[l].size;
      ward_mgr_time_parse (img->config->created, &ts);
      ago = ward_mgr_human_duration (now - ts.tv_sec);
      ward_cli_strv_push (&rows, &nrows, xasprintf ("%s\t%s\t%.*s\t%s ago\t%.2fMB", fam, ref && ref->tag ? ref->tag : "<none>",
                                 no_trunc ? 71 : 12, no_trunc ? img->config_digest : hex, ago,
                                 (double) size / 1e6));
    }
  ward_cli_print_rows (rows, nrows, !quiet);
  return 0;
}

int ward_cli_cmd_rmi (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 },
                                          { "no-prune", 0, WARD_FLAG_BOOL, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  bool force = false;
  int ret, rc = 0;
  SIMPLE_PARSE (defs, 1, "rmi [OPTIONS] IMAGE [IMAGE...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      force = ward_flag_bool (f.vals[i].value);
  if ((ret = ward_cli_open_store (&s)) != 0 || (ret = ward_cli_open_mgr (&m)) != 0)
    {
      ward_flags_free (&f);
      return ret;
    }
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_image_ ward_image_t *img = NULL;
      _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      json_object **recs = NULL;
      size_t n = 0;
      const char *user = NULL;
      if (ward_image_open (s, f.args[i], &img, &e) < 0)
        {
          fprintf (stderr, "Error response from daemon: No such image: %s\n", f.args[i]);
          rc = 1;
          continue;
        }
      ward_mgr_list (m, &recs, &n, &e);
      ward_error_free (&e);
      for (size_t k = 0; k < n && !user; k++)
        if (ward_mgr_rec_str (recs[k], "Image")
            && strcmp (ward_mgr_rec_str (recs[k], "Image"), img->config_digest) == 0)
          user = ward_mgr_rec_str (recs[k], "Id");
      if (user && !force)
        {
          fprintf (stderr,
                   "Error response from daemon: conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is using its referenced image %.12s\n",
                   f.args[i], user, strchr (img->config_digest, ':') + 1);
          ward_mgr_records_free (recs, n);
          rc = 1;
          continue;
        }
      ward_mgr_records_free (recs, n);
      if (img->name)
        {
          if (ward_image_untag (s, img->name, &e) < 0)
            {
              ward_cli_fail_err (1, e);
              rc = 1;
              continue;
            }
          ward_image_ref_parse (img->name, &ref, &e);
          {
            _cleanup_free_ char *fam = ref ? ward_image_ref_familiar (ref) : xstrdup (img->name);
            printf ("Untagged: %s\n", fam);
          }
        }
      else
        {
          /* by id: every name of that image goes */
          ward_image_desc_t *d = NULL;
          size_t nd = 0;
          if (ward_store_list (s, &d, &nd, &e) == 0)
            {
              for (size_t k = 0; k < nd; k++)
                {
                  _cleanup_image_ ward_image_t *other = NULL;
                  _cleanup_error_ ward_error_t *e2 = NULL;
                  if (d[k].name && ward_image_open (s, d[k].name, &other, &e2) == 0
                      && strcmp (other->config_digest, img->config_digest) == 0
                      && ward_image_untag (s, d[k].name, &e2) == 0)
                    printf ("Untagged: %s\n", d[k].name);
                }
              ward_image_descs_free (d, nd);
            }
        }
      printf ("Deleted: %s\n", img->config_digest);
    }
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_store_close (s);
    s = NULL;
    if (ward_store_open (ward_cli_root ? ward_cli_root : WARD_IMAGE_DEFAULT_ROOT, &s, &e) == 0
        && ward_store_gc (s, NULL, &e) < 0)
      ward_debug ("gc: %s", e->msg);
  }
  ward_flags_free (&f);
  return rc;
}

int ward_cli_cmd_tag (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  int ret;
  SIMPLE_PARSE (defs, 2, "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
  if ((ret = ward_cli_open_store (&s)) == 0 && ward_image_tag (s, f.args[0], f.args[1], &e) < 0)
    ret = ward_cli_fail_err (1, e);
  ward_flags_free (&f);
  return ret;
}

int ward_cli_cmd_load (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "input", 'i', WARD_FLAG_VALUE, 1 },
                                          { "quiet", 'q', WARD_FLAG_BOOL, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **names = NULL;
  _cleanup_close_ int fd = -1;
  int ret;
  SIMPLE_PARSE (defs, 0, "load [OPTIONS]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      {
        fd = open (f.vals[i].value, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          {
            ward_flags_free (&f);
            return ward_cli_fail (1, "open %s: %s", f.vals[i].value, strerror (errno));
          }
      }
  if (fd < 0)
    {
      if (isatty (STDIN_FILENO))
        {
          ward_flags_free (&f);
          return ward_cli_fail (1, "requested load from stdin, but stdin is empty");
        }
      fd = dup (STDIN_FILENO);
    }
  if ((ret = ward_cli_open_store (&s)) == 0)
    {
      if (ward_image_load (s, fd, &names, &e) < 0)
        ret = ward_cli_fail_err (1, e);
      else
        for (char **n = names; n && *n; n++)
          {
            _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
            _cleanup_error_ ward_error_t *e2 = NULL;
            _cleanup_free_ char *fam = NULL;
            if (ward_image_ref_parse (*n, &ref, &e2) == 0)
              fam = ward_image_ref_familiar (ref);
            printf ("Loaded image: %s\n", fam ? fam : *n);
          }
    }
  ward_flags_free (&f);
  return ret;
}

int ward_cli_cmd_save (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "output", 'o', WARD_FLAG_VALUE, 1 },
                                          { "format", 0, WARD_FLAG_VALUE, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_store_ ward_store_t *s = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_close_ int fd = -1;
  ward_archive_format_t fmt = WARD_ARCHIVE_DOCKER;
  const char *out = NULL;
  int ret;
  SIMPLE_PARSE (defs, 1, "save [OPTIONS] IMAGE [IMAGE...]");
  for (size_t i = 0; i < f.n; i++)
    {
      if (f.vals[i].id == 1)
        out = f.vals[i].value;
      if (f.vals[i].id == 2 && strcmp (f.vals[i].value, "oci-archive") == 0)
        fmt = WARD_ARCHIVE_OCI;
    }
  if (out == NULL && isatty (STDOUT_FILENO))
    {
      ward_flags_free (&f);
      return ward_cli_fail (1, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
  fd = out ? open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : dup (STDOUT_FILENO);
  if (fd < 0)
    {
      ward_flags_free (&f);
      return ward_cli_fail (1, "open %s: %s", out ? out : "stdout", strerror (errno));
    }
  if ((ret = ward_cli_open_store (&s)) == 0
      && ward_image_save (s, (const char *const *) f.args, f.n_args, fd, fmt, &e) < 0)
    ret = ward_cli_fail_err (1, e);
  ward_flags_free (&f);
  return ret;
}

int ward_cli_cmd_import_default (int argc, char **argv)
{
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ char *digest = NULL;
  const char *path = argc > 0 ? argv[0] : "/bin/busybox";
  if (ward_mgr_import_default_image (ward_cli_root, path, &digest, &e) < 0)
    return ward_cli_fail (1, "ward: import the default busybox image from %s: %s", path, e->msg);
  printf ("busybox:latest %s\n", digest);
  return 0;
}
