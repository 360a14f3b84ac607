/* A small stand-in for the Go templates of docker's --format: {{.Field}}
 * substitution, a leading "table " (header row + aligned columns), \t and
 * \n escapes, and docker's tabwriter alignment (minwidth 10, padding 3). */
#ifndef WARD_CLI_DOCKER_TEMPLATE_H
#define WARD_CLI_DOCKER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the value of a field ("ID") or NULL when unknown. */
typedef const char *(*ward_tmpl_lookup_fn) (const char *field, void *data);

typedef struct
{
  char *body;   /* the template without "table ", escapes resolved */
  bool table;
} ward_tmpl_t;

int ward_tmpl_parse (const char *format, ward_tmpl_t *out, char **error);
void ward_tmpl_clear (ward_tmpl_t *t);
/* Expands the template for one object; NULL + *error for an unknown field. */
char *ward_tmpl_render (const ward_tmpl_t *t, ward_tmpl_lookup_fn fn, void *data, char **error);
/* The header row of a table template: each {{.Field}} becomes its docker
 * heading ("CONTAINER ID", "NAMES", ...). */
char *ward_tmpl_header (const ward_tmpl_t *t);

/* Aligns tab-separated rows like Go's tabwriter(minwidth, padding, ' ');
 * returns the text. */
char *ward_tabwrite (char **rows, size_t n, size_t minwidth, size_t padding);

#endif
