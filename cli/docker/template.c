/* --format templates and column alignment for ps, images and friends. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/docker/template.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"

int ward_tmpl_parse (const char *format, ward_tmpl_t *out, char **error)
{
  ward_strbuf_t b = { 0 };
  const char *p = format;
  memset (out, 0, sizeof *out);
  if (strncmp (p, "table", 5) == 0 && (p[5] == ' ' || p[5] == '\0'))
    {
      out->table = true;
      p += p[5] ? 6 : 5;
    }
  for (; *p; p++)
    {
      if (p[0] == '\\' && p[1] == 't')
        {
          ward_strbuf_puts (&b, "\t");
          p++;
        }
      else if (p[0] == '\\' && p[1] == 'n')
        {
          ward_strbuf_puts (&b, "\n");
          p++;
        }
      else
        ward_strbuf_add (&b, p, 1);
    }
  out->body = ward_strbuf_take (&b);
  /* check the actions are well formed */
  for (const char *s = out->body; (s = strstr (s, "{{"));)
    {
      const char *e = strstr (s, "}}");
      if (e == NULL)
        {
          *error = xstrdup ("template: :1: unclosed action");
          ward_tmpl_clear (out);
          return -1;
        }
      s = e + 2;
    }
  return 0;
}

void ward_tmpl_clear (ward_tmpl_t *t)
{
  free (t->body);
  t->body = NULL;
}

/* "{{ .Names }}" -> "Names"; "{{json .State}}" -> "json:State";
 * "{{json .}}" -> "json:" (NULL when not one of these) */
static char *action_field (const char *start, size_t len)
{
  bool json = false;
  while (len && isspace ((unsigned char) *start))
    start++, len--;
  while (len && isspace ((unsigned char) start[len - 1]))
    len--;
  if (len > 5 && strncmp (start, "json ", 5) == 0)
    {
      json = true;
      start += 5, len -= 5;
      while (len && isspace ((unsigned char) *start))
        start++, len--;
      if (len == 1 && start[0] == '.')
        return xstrdup ("json:");
    }
  if (json)
    {
      _cleanup_free_ char *f = action_field (start, len);
      return f ? xasprintf ("json:%s", f) : NULL;
    }
  if (len < 2 || start[0] != '.')
    return NULL;
  for (size_t i = 1; i < len; i++)
    if (!isalnum ((unsigned char) start[i]) && start[i] != '_' && start[i] != '.')
      return NULL;
  return xstrndup (start + 1, len - 1);
}

static char *expand (const char *body, ward_tmpl_lookup_fn fn, void *data, bool header,
                     char **error)
{
  ward_strbuf_t b = { 0 };
  const char *s = body;
  for (;;)
    {
      const char *o = strstr (s, "{{"), *c;
      _cleanup_free_ char *field = NULL;
      if (o == NULL)
        {
          ward_strbuf_puts (&b, s);
          break;
        }
      ward_strbuf_add (&b, s, (size_t) (o - s));
      c = strstr (o + 2, "}}");
      field = action_field (o + 2, (size_t) (c - (o + 2)));
      if (field == NULL)
        {
          *error = xasprintf ("template: :1: unsupported action \"%.*s\"", (int) (c - o + 2), o);
          free (ward_strbuf_take (&b));
          return NULL;
        }
      if (header)
        {
          static const char *const heads[][2] = {
            { "ID", "CONTAINER ID" }, { "Names", "NAMES" },       { "Image", "IMAGE" },
            { "Status", "STATUS" },   { "Command", "COMMAND" },   { "CreatedAt", "CREATED AT" },
            { "RunningFor", "CREATED" }, { "Ports", "PORTS" },    { "State", "STATE" },
            { "Size", "SIZE" },       { "Labels", "LABELS" },     { "Mounts", "MOUNTS" },
            { "Networks", "NETWORKS" }, { "Repository", "REPOSITORY" }, { "Tag", "TAG" },
            { "CreatedSince", "CREATED" }, { "Digest", "DIGEST" },
          };
          const char *h = NULL;
          for (size_t i = 0; i < ARRAY_SIZE (heads); i++)
            if (strcmp (heads[i][0], field) == 0)
              h = heads[i][1];
          if (h)
            ward_strbuf_puts (&b, h);
          else
            for (const char *p = field; *p; p++)
              {
                char u = (char) toupper ((unsigned char) *p);
                ward_strbuf_add (&b, &u, 1);
              }
        }
      else
        {
          const char *v = fn (field, data);
          if (v == NULL)
            {
              *error = xasprintf ("template: :1:%d: executing \"\" at <.%s>: can't evaluate field %s",
                                  (int) (o - body) + 3, field, field);
              free (ward_strbuf_take (&b));
              return NULL;
            }
          ward_strbuf_puts (&b, v);
        }
      s = c + 2;
    }
  return ward_strbuf_take (&b);
}

char *ward_tmpl_render (const ward_tmpl_t *t, ward_tmpl_lookup_fn fn, void *data, char **error)
{
  return expand (t->body, fn, data, false, error);
}

char *ward_tmpl_header (const ward_tmpl_t *t)
{
  char *err = NULL;
  char *h = expand (t->body, NULL, NULL, true, &err);
  free (err);
  return h ? h : xstrdup ("");
}

/* display width: UTF-8 continuation bytes take no column */
static size_t width (const char *s, size_t n)
{
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char) s[i] & 0xc0) != 0x80)
      w++;
  return w;
}

char *ward_tabwrite (char **rows, size_t n, size_t minwidth, size_t padding)
{
  size_t widths[64] = { 0 };
  ward_strbuf_t b = { 0 };
  for (size_t r = 0; r < n; r++)
    {
      const char *s = rows[r];
      for (size_t col = 0; col < 64; col++)
        {
          const char *tab = strchr (s, '\t');
          if (tab == NULL)
            break;
          size_t w = width (s, (size_t) (tab - s)) + padding;
          if (w < minwidth)
            w = minwidth;
          if (w > widths[col])
            widths[col] = w;
          s = tab + 1;
        }
    }
  for (size_t r = 0; r < n; r++)
    {
      const char *s = rows[r];
      for (size_t col = 0;; col++)
        {
          const char *tab = strchr (s, '\t');
          if (tab == NULL || col >= 64)
            {
              ward_strbuf_puts (&b, s);
              break;
            }
          size_t w = width (s, (size_t) (tab - s));
          ward_strbuf_add (&b, s, (size_t) (tab - s));
          for (; w < widths[col]; w++)
            ward_strbuf_add (&b, " ", 1);
          s = tab + 1;
        }
      ward_strbuf_puts (&b, "\n");
    }
  return ward_strbuf_take (&b);
}
