/* state.json and `state` output, byte-compatible with runc's: Go's
 * json.MarshalIndent with two spaces, its string escaping and sorted map
 * keys. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "common/error.h"
#include "specs/specs.h"

struct buf
{
  ward_strbuf_t text;
  bool pretty; /* MarshalIndent ("", "  ") or Marshal */
};

static void buf_add (struct buf *b, const char *s, size_t n)
{
  ward_strbuf_add (&b->text, s, n);
}

static void buf_puts (struct buf *b, const char *s)
{
  buf_add (b, s, strlen (s));
}

/* Go escapes <, > and & (HTML safety) and U+2028/U+2029 besides the
 * control characters; runc's output carries those escapes. */
static void buf_json_string (struct buf *b, const char *s)
{
  const unsigned char *p = (const unsigned char *) (s ? s : "");
  char tmp[8];
  buf_add (b, "\"", 1);
  for (; *p; p++)
    {
      switch (*p)
        {
        case '"': buf_add (b, "\\\"", 2); continue;
        case '\\': buf_add (b, "\\\\", 2); continue;
        case '\n': buf_add (b, "\\n", 2); continue;
        case '\r': buf_add (b, "\\r", 2); continue;
        case '\t': buf_add (b, "\\t", 2); continue;
        default: break;
        }
      if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
        {
          snprintf (tmp, sizeof tmp, "\\u%04x", *p);
          buf_add (b, tmp, 6);
        }
      else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
        {
          buf_puts (b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
          p += 2;
        }
      else
        buf_add (b, (const char *) p, 1);
    }
  buf_add (b, "\"", 1);
}

/* The separator before a member at depth 1 or 2. */
static void member_start (struct buf *b, bool first, int depth)
{
  if (!first)
    buf_puts (b, ",");
  if (b->pretty)
    buf_puts (b, depth == 1 ? "\n  " : "\n    ");
}

static void member_key (struct buf *b, const char *key)
{
  buf_json_string (b, key);
  buf_puts (b, b->pretty ? ": " : ":");
}

static void field_str (struct buf *b, bool *first, const char *key, const char *value)
{
  member_start (b, *first, 1);
  *first = false;
  member_key (b, key);
  buf_json_string (b, value);
}

static void field_raw (struct buf *b, bool *first, const char *key, const char *value)
{
  member_start (b, *first, 1);
  *first = false;
  member_key (b, key);
  buf_puts (b, value);
}

static int kv_cmp (const void *a, const void *b)
{
  const ward_kv_t *const *x = a, *const *y = b;
  return strcmp ((*x)->key, (*y)->key);
}

static void field_annotations (struct buf *b, bool *first, const ward_state_t *st)
{
  _cleanup_free_ const ward_kv_t **sorted = NULL;
  if (st->annotations_len == 0)
    return;
  sorted = xmalloc (st->annotations_len * sizeof *sorted);
  for (size_t i = 0; i < st->annotations_len; i++)
    sorted[i] = &st->annotations[i];
  qsort (sorted, st->annotations_len, sizeof *sorted, kv_cmp);
  member_start (b, *first, 1);
  *first = false;
  member_key (b, "annotations");
  buf_puts (b, "{");
  for (size_t i = 0; i < st->annotations_len; i++)
    {
      member_start (b, i == 0, 2);
      member_key (b, sorted[i]->key);
      buf_json_string (b, sorted[i]->value);
    }
  buf_puts (b, b->pretty ? "\n  }" : "}");
}

static char *state_json (const ward_state_t *st, bool pretty)
{
  struct buf b = { .pretty = pretty };
  bool first = true;
  char pid[32];
  /* runc's `state` view carries rootfs/created/owner and always a pid;
   * the runtime-spec view (hooks' stdin) omits pid when it is 0. */
  bool runc_view = st->rootfs || st->created || st->owner;

  snprintf (pid, sizeof pid, "%ld", (long) (st->pid > 0 ? st->pid : 0));
  buf_puts (&b, "{");
  field_str (&b, &first, "ociVersion", st->oci_version ? st->oci_version : WARD_OCI_VERSION);
  field_str (&b, &first, "id", st->id);
  if (runc_view)
    {
      field_raw (&b, &first, "pid", pid);
      field_str (&b, &first, "status", st->status);
      field_str (&b, &first, "bundle", st->bundle);
      field_str (&b, &first, "rootfs", st->rootfs);
      /* Go prints a zero time.Time so. */
      field_str (&b, &first, "created", st->created ? st->created : "0001-01-01T00:00:00Z");
      field_annotations (&b, &first, st);
      field_str (&b, &first, "owner", st->owner);
    }
  else
    {
      field_str (&b, &first, "status", st->status);
      if (st->pid > 0)
        field_raw (&b, &first, "pid", pid);
      field_str (&b, &first, "bundle", st->bundle);
      field_annotations (&b, &first, st);
    }
  buf_puts (&b, pretty ? "\n}" : "}");
  return ward_strbuf_take (&b.text);
}

char *ward_state_to_json (const ward_state_t *st)
{
  return state_json (st, true);
}

char *ward_state_to_json_compact (const ward_state_t *st)
{
  return state_json (st, false);
}
