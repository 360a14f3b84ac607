/* cli/docker internals shared by the verb files: docker-shaped error
 * output, the global flags, argv helpers.  Not a library interface. */
#ifndef WARD_CLI_DOCKER_CLI_H
#define WARD_CLI_DOCKER_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/docker/flags.h"
#include "cli/docker/template.h"
#include "common/error.h"
#include "image/image.h"
#include "runtime/manager/manager.h"

struct json_object;

extern const char *ward_cli_root; /* --root, or NULL for the default */
extern const char *ward_cli_verb; /* the verb being run, for messages */

#define _cleanup_flags_ __attribute__ ((cleanup (ward_flags_free)))
#define _cleanup_tmpl_ __attribute__ ((cleanup (ward_tmpl_clear)))

/* docker's two error shapes: run/create ("ward: X\nSee 'ward run --help'.")
 * and the rest ("X"); returns code. */
int ward_cli_fail (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* "Error response from daemon: <e->msg>" */
int ward_cli_fail_err (int code, ward_error_t *e);
int ward_cli_usage_error (ward_flags_t *f, const char *usage);
int ward_cli_open_mgr (ward_mgr_t **m);
int ward_cli_open_store (ward_store_t **s);
void ward_cli_strv_append (char ***v, const char *s);
/* Appends s (taken) to a NULL-terminated vector of *n entries. */
void ward_cli_strv_push (char ***v, size_t *n, char *s);
/* Parses a --format template into t; a bad one prints its error and
 * returns exit code 1, else 0. */
int ward_cli_parse_format (const char *format, ward_tmpl_t *t);
/* One row of a --format template appended to *rows; an unknown field
 * prints the template's error and returns exit code 1, else 0. */
int ward_cli_render_row (const ward_tmpl_t *t, ward_tmpl_lookup_fn fn, void *data, char ***rows,
                         size_t *n);
/* --format output: aligned as docker's tabwriter (table) or one a line. */
void ward_cli_print_rows (char **rows, size_t n, bool table);
/* Follows a dotted key path ("State.Status") from o; false when a key is
 * missing.  *out may be NULL (a JSON null on the way). */
bool ward_cli_json_path (struct json_object *o, const char *path, struct json_object **out);
/* A management command's subcommands ("volume ls"), alias may be NULL. */
typedef struct
{
  const char *name, *alias;
  int (*run) (int argc, char **argv);
} ward_cli_sub_t;
/* Runs the subcommand named sub (argv after it); an unknown one prints
 * docker's "'GROUP SUB' is not a ward command" and returns unknown_code. */
int ward_cli_dispatch (const ward_cli_sub_t *subs, const char *group, const char *sub, int argc,
                       char **argv, int unknown_code);
/* Flags of a verb that takes at least min_args positionals; 0 ok, -1 after
 * --help, else the exit code. */
int ward_cli_parse_simple (int argc, char **argv, const ward_flag_def_t *defs, ward_flags_t *f,
                           size_t min_args, const char *usage);

#define SIMPLE_PARSE(defs, min, usage)                                                             \
  _cleanup_flags_ ward_flags_t f;                                                                                \
  int pr = ward_cli_parse_simple (argc, argv, defs, &f, min, usage);                                        \
  if (pr != 0)                                                                                     \
    {                                                                                              \
      ward_flags_free (&f);                                                                        \
      return pr < 0 ? 0 : pr;                                                                      \
    }

/* images.c */
struct json_object *ward_cli_image_inspect_json (const char *name);
int ward_cli_cmd_pull (int argc, char **argv);
int ward_cli_cmd_images (int argc, char **argv);
int ward_cli_cmd_rmi (int argc, char **argv);
int ward_cli_cmd_tag (int argc, char **argv);
int ward_cli_cmd_load (int argc, char **argv);
int ward_cli_cmd_save (int argc, char **argv);
int ward_cli_cmd_import_default (int argc, char **argv);

/* network.c (net): `ward network create|ls|inspect|rm|connect|disconnect|prune` */
int ward_cli_cmd_network (int argc, char **argv);

/* volume.c */
int ward_cli_cmd_volume (int argc, char **argv);

/* containers.c */
int ward_cli_cmd_rename (int argc, char **argv);
int ward_cli_cmd_stats (int argc, char **argv);
/* `start --all`: what dockerd restarts at boot; prints the ids started. */
int ward_cli_start_all (void);

#endif
