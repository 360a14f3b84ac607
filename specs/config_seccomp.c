/* linux.seccomp: parsed and checked here, compiled by the runtime with
 * libseccomp.  Unknown syscall names are kept: the runtime skips the ones
 * the running kernel/libseccomp does not know, as runc does. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static int parse_args (json_object *sc, const char *path, ward_seccomp_syscall_t *s,
                       ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *ap = ward_specs_path_key (path, "args");
  int ret = ward_specs_read_array (sc, path, "args", &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  s->args_len = json_object_array_length (arr);
  s->args = xzalloc ((s->args_len ? s->args_len : 1) * sizeof (ward_seccomp_arg_t));
  for (size_t i = 0; i < s->args_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (ap, i);
      json_object *o = json_object_array_get_idx (arr, i);
      ward_seccomp_arg_t *a = &s->args[i];
      bool has_index = false, has_value = false;
      ret = ward_specs_expect (o, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, ip, "index", &a->index, &has_index, err);
      if (ret == 0)
        ret = ward_specs_read_u64 (o, ip, "value", &a->value, &has_value, err);
      if (ret == 0)
        ret = ward_specs_read_u64 (o, ip, "valueTwo", &a->value_two, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, ip, "op", true, &a->op, err);
      if (ret < 0)
        return ret;
      if (!has_index)
        return ward_error_set (err, 0, "%s.index: required", ip);
      /* Syscalls take at most six arguments. */
      if (a->index > 5)
        return ward_error_set (err, 0, "%s.index: value %u out of range", ip, a->index);
      if (!has_value)
        return ward_error_set (err, 0, "%s.value: required", ip);
      if (ward_specs_seccomp_op_parse (a->op, &a->op_value) < 0)
        return ward_error_set (err, 0, "%s.op: unknown operator \"%s\"", ip, a->op);
    }
  return 0;
}

static int parse_syscalls (json_object *o, const char *path, ward_seccomp_t *s,
                           ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *sp = ward_specs_path_key (path, "syscalls");
  int ret = ward_specs_read_array (o, path, "syscalls", &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  s->syscalls_len = json_object_array_length (arr);
  s->syscalls = xzalloc ((s->syscalls_len ? s->syscalls_len : 1) * sizeof (*s->syscalls));
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (sp, i);
      json_object *e = json_object_array_get_idx (arr, i);
      ward_seccomp_syscall_t *sc = &s->syscalls[i];
      ret = ward_specs_expect (e, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_strv (e, ip, "names", &sc->names, &sc->names_len, NULL, err);
      if (ret < 0)
        return ret;
      if (sc->names_len == 0)
        return ward_error_set (err, 0, "%s.names: required", ip);
      ret = ward_specs_read_str (e, ip, "action", true, &sc->action, err);
      if (ret < 0)
        return ret;
      if (ward_specs_seccomp_action_parse (sc->action, &sc->action_value) < 0)
        return ward_error_set (err, 0, "%s.action: unknown action \"%s\"", ip, sc->action);
      ret = ward_specs_read_u32 (e, ip, "errnoRet", &sc->errno_ret, &sc->has_errno_ret, err);
      if (ret == 0)
        ret = parse_args (e, ip, sc, err);
      if (ret < 0)
        return ret;
      /* runtime-spec: an errno for an action that takes none is an error. */
      if (sc->has_errno_ret && sc->action_value != WARD_SECCOMP_ACT_ERRNO
          && sc->action_value != WARD_SECCOMP_ACT_TRACE)
        return ward_error_set (err, 0, "%s.errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
                               ip);
      /* The runtime itself write()s the notify fd's metadata to the
       * listener after loading the filter: notifying on write deadlocks. */
      if (sc->action_value == WARD_SECCOMP_ACT_NOTIFY)
        for (size_t j = 0; j < sc->names_len; j++)
          if (strcmp (sc->names[j], "write") == 0)
            return ward_error_set (err, 0, "%s.names[%zu]: SCMP_ACT_NOTIFY cannot be used for write",
                                   ip, j);
    }
  return 0;
}

static void sb_u64 (ward_strbuf_t *b, uint64_t v)
{
  char tmp[24];
  int n = snprintf (tmp, sizeof tmp, "%llu", (unsigned long long) v);
  ward_strbuf_add (b, tmp, (size_t) n);
}

static void sb_str (ward_strbuf_t *b, const char *s)
{
  const char *run = s;
  ward_strbuf_add (b, "\"", 1);
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      char esc[8];
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      ward_strbuf_add (b, run, (size_t) (s - run));
      snprintf (esc, sizeof esc, c == '"' || c == '\\' ? "\\%c" : "\\u%04x", c);
      ward_strbuf_puts (b, esc);
      run = s + 1;
    }
  ward_strbuf_add (b, run, (size_t) (s - run));
  ward_strbuf_add (b, "\"", 1);
}

static void sb_key (ward_strbuf_t *b, const char *key)
{
  if (b->data[b->len - 1] != '{')
    ward_strbuf_add (b, ",", 1);
  sb_str (b, key);
  ward_strbuf_add (b, ":", 1);
}

static void sb_strv (ward_strbuf_t *b, const char *key, char **v, size_t n)
{
  if (v == NULL)
    return;
  sb_key (b, key);
  ward_strbuf_add (b, "[", 1);
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        ward_strbuf_add (b, ",", 1);
      sb_str (b, v[i]);
    }
  ward_strbuf_add (b, "]", 1);
}

/* Built by hand rather than through json-c objects: it runs on every
 * create, and a runtime's default profile has hundreds of entries.  Fixed
 * key order, unknown keys dropped: two configs that compile to the same
 * filter give the same text. */
static char *canonical_json (const ward_seccomp_t *s)
{
  ward_strbuf_t b = { 0 };
  ward_strbuf_puts (&b, "{");
  sb_key (&b, "defaultAction");
  sb_str (&b, s->default_action);
  if (s->has_default_errno_ret)
    {
      sb_key (&b, "defaultErrnoRet");
      sb_u64 (&b, s->default_errno_ret);
    }
  sb_strv (&b, "architectures", s->architectures, s->architectures_len);
  sb_strv (&b, "flags", s->flags, s->flags_len);
  if (s->listener_path)
    {
      sb_key (&b, "listenerPath");
      sb_str (&b, s->listener_path);
    }
  if (s->listener_metadata)
    {
      sb_key (&b, "listenerMetadata");
      sb_str (&b, s->listener_metadata);
    }
  sb_key (&b, "syscalls");
  ward_strbuf_add (&b, "[", 1);
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      const ward_seccomp_syscall_t *sc = &s->syscalls[i];
      ward_strbuf_puts (&b, i ? ",{" : "{");
      sb_strv (&b, "names", sc->names, sc->names_len);
      sb_key (&b, "action");
      sb_str (&b, sc->action);
      if (sc->has_errno_ret)
        {
          sb_key (&b, "errnoRet");
          sb_u64 (&b, sc->errno_ret);
        }
      if (sc->args_len)
        {
          sb_key (&b, "args");
          ward_strbuf_add (&b, "[", 1);
          for (size_t j = 0; j < sc->args_len; j++)
            {
              ward_strbuf_puts (&b, j ? ",{" : "{");
              sb_key (&b, "index");
              sb_u64 (&b, sc->args[j].index);
              sb_key (&b, "value");
              sb_u64 (&b, sc->args[j].value);
              sb_key (&b, "valueTwo");
              sb_u64 (&b, sc->args[j].value_two);
              sb_key (&b, "op");
              sb_str (&b, sc->args[j].op);
              ward_strbuf_add (&b, "}", 1);
            }
          ward_strbuf_add (&b, "]", 1);
        }
      ward_strbuf_add (&b, "}", 1);
    }
  ward_strbuf_puts (&b, "]}");
  return ward_strbuf_take (&b);
}

json_object *ward_specs_seccomp_to_object (const ward_seccomp_t *s)
{
  _cleanup_free_ char *owned = NULL;
  const char *text = s->canonical_json;
  json_object *o;
  if (text == NULL)
    text = owned = canonical_json (s);
  o = json_tokener_parse (text);
  return o ? o : json_object_new_object ();
}

int ward_specs_parse_seccomp (json_object *o, const char *path, ward_seccomp_t *s,
                              ward_error_t **err)
{
  _cleanup_free_ char *ap = ward_specs_path_key (path, "architectures");
  _cleanup_free_ char *fp = ward_specs_path_key (path, "flags");
  int ret = ward_specs_expect (o, json_type_object, path, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "defaultAction", true, &s->default_action, err);
  if (ret < 0)
    return ret;
  if (ward_specs_seccomp_action_parse (s->default_action, &s->default_action_value) < 0)
    return ward_error_set (err, 0, "%s.defaultAction: unknown action \"%s\"", path,
                           s->default_action);
  /* Every syscall would go to the listener, the runtime's own included. */
  if (s->default_action_value == WARD_SECCOMP_ACT_NOTIFY)
    return ward_error_set (err, 0, "%s.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
                           path);
  ret = ward_specs_read_u32 (o, path, "defaultErrnoRet", &s->default_errno_ret,
                             &s->has_default_errno_ret, err);
  if (ret == 0 && s->has_default_errno_ret && s->default_action_value != WARD_SECCOMP_ACT_ERRNO
      && s->default_action_value != WARD_SECCOMP_ACT_TRACE)
    return ward_error_set (err, 0,
                           "%s.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE", path);
  if (ret == 0)
    ret = ward_specs_read_strv (o, path, "architectures", &s->architectures,
                                &s->architectures_len, NULL, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < s->architectures_len; i++)
    if (!ward_specs_seccomp_arch_known (s->architectures[i]))
      return ward_error_set (err, 0, "%s[%zu]: unknown architecture \"%s\"", ap, i,
                             s->architectures[i]);
  ret = ward_specs_read_strv (o, path, "flags", &s->flags, &s->flags_len, NULL, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < s->flags_len; i++)
    if (!ward_specs_seccomp_flag_known (s->flags[i]))
      return ward_error_set (err, 0, "%s[%zu]: unknown flag \"%s\"", fp, i, s->flags[i]);
  ret = ward_specs_read_str (o, path, "listenerPath", false, &s->listener_path, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, path, "listenerMetadata", false, &s->listener_metadata, err);
  if (ret == 0)
    ret = parse_syscalls (o, path, s, err);
  if (ret < 0)
    return ret;
  if (s->listener_path && s->listener_path[0] != '/')
    return ward_error_set (err, 0, "%s.listenerPath: \"%s\" is not an absolute path", path,
                           s->listener_path);
  bool notify = false;
  for (size_t i = 0; i < s->syscalls_len; i++)
    notify = notify || s->syscalls[i].action_value == WARD_SECCOMP_ACT_NOTIFY;
  /* The runtime-spec requires a listener for SCMP_ACT_NOTIFY. */
  if (notify && s->listener_path == NULL)
    return ward_error_set (err, 0, "%s.listenerPath: required with SCMP_ACT_NOTIFY", path);
  s->canonical_json = canonical_json (s);
  return 0;
}

void ward_specs_seccomp_free (ward_seccomp_t *s)
{
  if (s == NULL)
    return;
  free (s->default_action);
  ward_specs_strv_free (s->architectures);
  ward_specs_strv_free (s->flags);
  free (s->listener_path);
  free (s->listener_metadata);
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      ward_seccomp_syscall_t *sc = &s->syscalls[i];
      ward_specs_strv_free (sc->names);
      free (sc->action);
      for (size_t j = 0; j < sc->args_len; j++)
        free (sc->args[j].op);
      free (sc->args);
    }
  free (s->syscalls);
  free (s->canonical_json);
  free (s);
}
