/* Typed JSON readers for the specs parsers: every read checks the type and
 * the range and names the JSON path in its error. */
#include <config.h>

#include "specs/json_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"

#define WARD_SPECS_MAX_INPUT (16u * 1024 * 1024)
#define WARD_SPECS_MAX_DEPTH 64

char *ward_specs_path_key (const char *path, const char *key)
{
  if (path == NULL || *path == '\0')
    return xstrdup (key);
  return xasprintf ("%s.%s", path, key);
}

char *ward_specs_path_idx (const char *path, size_t i)
{
  return xasprintf ("%s[%zu]", path ? path : "", i);
}

json_object *ward_specs_get (json_object *obj, const char *key)
{
  json_object *v = NULL;
  if (obj == NULL || !json_object_object_get_ex (obj, key, &v))
    return NULL;
  return v; /* NULL for a JSON null */
}

static const char *type_name (json_object *v)
{
  switch (json_object_get_type (v))
    {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_double: return "number";
    case json_type_int: return "integer";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    }
  return "unknown";
}

static const char *expected_name (json_type t)
{
  switch (t)
    {
    case json_type_boolean: return "boolean";
    case json_type_int: return "integer";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    default: return "value";
    }
}

/* A JSON path kept in pieces and only formatted when an error needs it:
 * parsing a large seccomp profile would otherwise spend most of its time
 * in asprintf. */
typedef struct
{
  const char *base;
  const char *key; /* NULL: none */
  size_t idx;
  bool has_idx;
} jpath_t;

#define JP(b) ((jpath_t){ .base = (b) })
#define JPK(b, k) ((jpath_t){ .base = (b), .key = (k) })

static char *jpath_format (const jpath_t *p)
{
  char *base = p->key ? ward_specs_path_key (p->base, p->key) : xstrdup (p->base ? p->base : "");
  char *r;
  if (!p->has_idx)
    return base;
  r = ward_specs_path_idx (base, p->idx);
  free (base);
  return r;
}

static int jp_error (ward_error_t **err, const jpath_t *p, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Sets "<path>: <message>". */
static int jp_error (ward_error_t **err, const jpath_t *p, const char *fmt, ...)
{
  _cleanup_free_ char *path = jpath_format (p);
  _cleanup_free_ char *msg = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return ward_error_set (err, 0, "%s: %s", path, msg ? msg : "invalid value");
}

static int jp_expect (json_object *v, json_type type, const jpath_t *p, ward_error_t **err)
{
  if (json_object_get_type (v) != type)
    return jp_error (err, p, "expected %s, got %s", expected_name (type), type_name (v));
  return 0;
}

static int jp_str (json_object *v, const jpath_t *p, char **out, ward_error_t **err)
{
  int ret = jp_expect (v, json_type_string, p, err);
  if (ret < 0)
    return ret;
  /* Embedded NUL bytes would silently truncate paths and names. */
  if (strlen (json_object_get_string (v)) != (size_t) json_object_get_string_len (v))
    return jp_error (err, p, "string contains a NUL byte");
  free (*out);
  *out = xstrdup (json_object_get_string (v));
  return 0;
}

/* json-c saturates integers that overflow int64 to INT64_MAX and keeps
 * values up to UINT64_MAX as unsigned: look at both views to tell. */
static int jp_i64 (json_object *v, const jpath_t *p, int64_t min, int64_t max, int64_t *out,
                   ward_error_t **err)
{
  int ret = jp_expect (v, json_type_int, p, err);
  int64_t x;
  if (ret < 0)
    return ret;
  x = json_object_get_int64 (v);
  if (x == INT64_MAX && json_object_get_uint64 (v) > (uint64_t) INT64_MAX)
    return jp_error (err, p, "value %" PRIu64 " out of range", json_object_get_uint64 (v));
  if (x < min || x > max)
    return jp_error (err, p, "value %" PRId64 " out of range", x);
  *out = x;
  return 0;
}

static int jp_u64 (json_object *v, const jpath_t *p, uint64_t max, uint64_t *out,
                   ward_error_t **err)
{
  int ret = jp_expect (v, json_type_int, p, err);
  uint64_t x;
  if (ret < 0)
    return ret;
  if (json_object_get_int64 (v) < 0)
    return jp_error (err, p, "value %" PRId64 " out of range", json_object_get_int64 (v));
  x = json_object_get_uint64 (v);
  if (x > max)
    return jp_error (err, p, "value %" PRIu64 " out of range", x);
  *out = x;
  return 0;
}

int ward_specs_expect (json_object *v, json_type type, const char *path, ward_error_t **err)
{
  return jp_expect (v, type, &JP (path), err);
}

int ward_specs_value_str (json_object *v, const char *path, char **out, ward_error_t **err)
{
  return jp_str (v, &JP (path), out, err);
}

int ward_specs_value_i64 (json_object *v, const char *path, int64_t min, int64_t max,
                          int64_t *out, ward_error_t **err)
{
  return jp_i64 (v, &JP (path), min, max, out, err);
}

int ward_specs_value_u64 (json_object *v, const char *path, uint64_t max, uint64_t *out,
                          ward_error_t **err)
{
  return jp_u64 (v, &JP (path), max, out, err);
}

int ward_specs_read_str (json_object *obj, const char *path, const char *key, bool required,
                         char **out, ward_error_t **err)
{
  json_object *v = ward_specs_get (obj, key);
  if (v == NULL)
    {
      if (required)
        return jp_error (err, &JPK (path, key), "required");
      return 0;
    }
  return jp_str (v, &JPK (path, key), out, err);
}

int ward_specs_read_bool (json_object *obj, const char *path, const char *key, bool *out,
                          bool *has, ward_error_t **err)
{
  json_object *v = ward_specs_get (obj, key);
  int ret;
  if (v == NULL)
    return 0;
  ret = jp_expect (v, json_type_boolean, &JPK (path, key), err);
  if (ret < 0)
    return ret;
  *out = json_object_get_boolean (v);
  if (has)
    *has = true;
  return 0;
}

static int read_signed (json_object *obj, const char *path, const char *key, int64_t min,
                        int64_t max, int64_t *out, bool *has, ward_error_t **err)
{
  json_object *v = ward_specs_get (obj, key);
  int ret;
  if (v == NULL)
    return 1;
  ret = jp_i64 (v, &JPK (path, key), min, max, out, err);
  if (ret < 0)
    return ret;
  if (has)
    *has = true;
  return 0;
}

static int read_unsigned (json_object *obj, const char *path, const char *key, uint64_t max,
                          uint64_t *out, bool *has, ward_error_t **err)
{
  json_object *v = ward_specs_get (obj, key);
  int ret;
  if (v == NULL)
    return 1;
  ret = jp_u64 (v, &JPK (path, key), max, out, err);
  if (ret < 0)
    return ret;
  if (has)
    *has = true;
  return 0;
}

int ward_specs_read_i64 (json_object *obj, const char *path, const char *key, int64_t *out,
                         bool *has, ward_error_t **err)
{
  int ret = read_signed (obj, path, key, INT64_MIN, INT64_MAX, out, has, err);
  return ret < 0 ? ret : 0;
}

int ward_specs_read_i32 (json_object *obj, const char *path, const char *key, int32_t *out,
                         bool *has, ward_error_t **err)
{
  int64_t x;
  int ret = read_signed (obj, path, key, INT32_MIN, INT32_MAX, &x, has, err);
  if (ret == 0)
    *out = (int32_t) x;
  return ret < 0 ? ret : 0;
}

int ward_specs_read_u64 (json_object *obj, const char *path, const char *key, uint64_t *out,
                         bool *has, ward_error_t **err)
{
  int ret = read_unsigned (obj, path, key, UINT64_MAX, out, has, err);
  return ret < 0 ? ret : 0;
}

int ward_specs_read_u32 (json_object *obj, const char *path, const char *key, uint32_t *out,
                         bool *has, ward_error_t **err)
{
  uint64_t x;
  int ret = read_unsigned (obj, path, key, UINT32_MAX, &x, has, err);
  if (ret == 0)
    *out = (uint32_t) x;
  return ret < 0 ? ret : 0;
}

int ward_specs_read_u16 (json_object *obj, const char *path, const char *key, uint16_t *out,
                         bool *has, ward_error_t **err)
{
  uint64_t x;
  int ret = read_unsigned (obj, path, key, UINT16_MAX, &x, has, err);
  if (ret == 0)
    *out = (uint16_t) x;
  return ret < 0 ? ret : 0;
}

static int read_typed (json_object *obj, const char *path, const char *key, json_type type,
                       json_object **out, ward_error_t **err)
{
  json_object *v = ward_specs_get (obj, key);
  int ret;
  *out = NULL;
  if (v == NULL)
    return 0;
  ret = jp_expect (v, type, &JPK (path, key), err);
  if (ret < 0)
    return ret;
  *out = v;
  return 0;
}

int ward_specs_read_object (json_object *obj, const char *path, const char *key,
                            json_object **out, ward_error_t **err)
{
  return read_typed (obj, path, key, json_type_object, out, err);
}

int ward_specs_read_array (json_object *obj, const char *path, const char *key,
                           json_object **out, ward_error_t **err)
{
  return read_typed (obj, path, key, json_type_array, out, err);
}

void ward_specs_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **i = v; *i; i++)
    free (*i);
  free (v);
}

int ward_specs_read_strv (json_object *obj, const char *path, const char *key, char ***out,
                          size_t *len, bool *has, ward_error_t **err)
{
  json_object *arr;
  size_t n;
  char **v;
  int ret = ward_specs_read_array (obj, path, key, &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  ward_specs_strv_free (*out);
  /* Zeroed: a partial vector stays NULL-terminated for the free path. */
  v = *out = xzalloc ((n + 1) * sizeof (char *));
  if (len)
    *len = 0;
  for (size_t i = 0; i < n; i++)
    {
      jpath_t ip = { .base = path, .key = key, .idx = i, .has_idx = true };
      ret = jp_str (json_object_array_get_idx (arr, i), &ip, &v[i], err);
      if (ret < 0)
        return ret;
      if (len)
        *len = i + 1;
    }
  if (has)
    *has = true;
  return 0;
}

int ward_specs_read_u32v (json_object *obj, const char *path, const char *key, uint32_t **out,
                          size_t *len, ward_error_t **err)
{
  json_object *arr;
  size_t n;
  int ret = ward_specs_read_array (obj, path, key, &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  free (*out);
  *out = xzalloc ((n ? n : 1) * sizeof (uint32_t));
  *len = n;
  for (size_t i = 0; i < n; i++)
    {
      jpath_t ip = { .base = path, .key = key, .idx = i, .has_idx = true };
      uint64_t x;
      ret = jp_u64 (json_object_array_get_idx (arr, i), &ip, UINT32_MAX, &x, err);
      if (ret < 0)
        return ret;
      (*out)[i] = (uint32_t) x;
    }
  return 0;
}

void ward_specs_kv_free (ward_kv_t *kv, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

int ward_specs_read_kv (json_object *obj, const char *path, const char *key, ward_kv_t **out,
                        size_t *len, ward_error_t **err)
{
  json_object *m;
  _cleanup_free_ char *p = NULL;
  size_t n, i = 0;
  int ret = ward_specs_read_object (obj, path, key, &m, err);
  if (ret < 0 || m == NULL)
    return ret;
  p = ward_specs_path_key (path, key);
  n = (size_t) json_object_object_length (m);
  ward_specs_kv_free (*out, *len);
  *out = xzalloc ((n ? n : 1) * sizeof (ward_kv_t));
  *len = n;
  json_object_object_foreach (m, k, v)
    {
      if (v == NULL)
        return jp_error (err, &JPK (p, k), "expected string, got null");
      (*out)[i].key = xstrdup (k);
      ret = jp_str (v, &JPK (p, k), &(*out)[i].value, err);
      if (ret < 0)
        return ret;
      i++;
    }
  return 0;
}

int ward_specs_tokenize (const char *data, size_t len, json_object **out, ward_error_t **err)
{
  struct json_tokener *tok;
  json_object *v;
  enum json_tokener_error jerr;
  size_t consumed;

  *out = NULL;
  if (data == NULL || len == 0)
    return ward_error_set (err, 0, "parse JSON: empty input");
  if (len > WARD_SPECS_MAX_INPUT)
    return ward_error_set_ret (err, -EFBIG, 0, "parse JSON: input of %zu bytes exceeds the 16 MiB limit", len);
  tok = json_tokener_new_ex (WARD_SPECS_MAX_DEPTH);
  if (tok == NULL)
    return ward_error_set (err, ENOMEM, "parse JSON");
  /* Go's encoding/json (runc) takes only standard JSON: no comments,
   * trailing commas, single quotes or NaN. */
  json_tokener_set_flags (tok, JSON_TOKENER_STRICT);
  v = json_tokener_parse_ex (tok, data, (int) len);
  jerr = json_tokener_get_error (tok);
  consumed = json_tokener_get_parse_end (tok);
  if (v == NULL || jerr != json_tokener_success)
    {
      int ret;
      /* json_tokener_continue means the text ended in the middle of a value. */
      if (jerr == json_tokener_continue)
        ret = ward_error_set (err, 0, "parse JSON: unexpected end of input");
      else
        ret = ward_error_set (err, 0, "parse JSON at offset %zu: %s", consumed,
                              json_tokener_error_desc (jerr));
      json_object_put (v);
      json_tokener_free (tok);
      return ret;
    }
  json_tokener_free (tok);
  /* Only whitespace (or a trailing NUL) may follow the value. */
  for (size_t i = consumed; i < len; i++)
    if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t'
        && !(data[i] == '\0' && i == len - 1))
      {
        json_object_put (v);
        return ward_error_set (err, 0, "parse JSON at offset %zu: trailing data", i);
      }
  *out = v;
  return 0;
}
