/* The linux section of config.json (resources and seccomp have their own
 * files). */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static int parse_namespaces (json_object *l, const char *path, ward_linux_t *lx,
                             ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *np = ward_specs_path_key (path, "namespaces");
  size_t n;
  int ret = ward_specs_read_array (l, path, "namespaces", &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  lx->namespaces = xzalloc ((n ? n : 1) * sizeof (ward_namespace_t));
  lx->namespaces_len = n;
  for (size_t i = 0; i < n; i++)
    {
      json_object *o = json_object_array_get_idx (arr, i);
      _cleanup_free_ char *ip = ward_specs_path_idx (np, i);
      _cleanup_free_ char *type = NULL;
      ward_namespace_t *ns = &lx->namespaces[i];
      ret = ward_specs_expect (o, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, ip, "type", true, &type, err);
      if (ret < 0)
        return ret;
      if (ward_specs_ns_type_parse (type, &ns->type) < 0)
        return ward_error_set (err, 0, "%s.type: unknown namespace type \"%s\"", ip, type);
      for (size_t j = 0; j < i; j++)
        if (lx->namespaces[j].type == ns->type)
          return ward_error_set (err, 0, "%s.type: duplicated namespace type \"%s\"", ip, type);
      ret = ward_specs_read_str (o, ip, "path", false, &ns->path, err);
      if (ret < 0)
        return ret;
      if (ns->path && ns->path[0] != '/')
        return ward_error_set (err, 0, "%s.path: \"%s\" is not an absolute path", ip, ns->path);
    }
  return 0;
}

static int parse_time_offsets (json_object *l, const char *path, ward_linux_t *lx,
                               ward_error_t **err)
{
  json_object *m;
  _cleanup_free_ char *tp = ward_specs_path_key (path, "timeOffsets");
  size_t i = 0;
  int ret = ward_specs_read_object (l, path, "timeOffsets", &m, err);
  if (ret < 0 || m == NULL)
    return ret;
  lx->time_offsets_len = (size_t) json_object_object_length (m);
  lx->time_offsets = xzalloc ((lx->time_offsets_len ? lx->time_offsets_len : 1)
                              * sizeof (ward_time_offset_t));
  json_object_object_foreach (m, clock, o)
    {
      _cleanup_free_ char *cp = ward_specs_path_key (tp, clock);
      ward_time_offset_t *t = &lx->time_offsets[i++];
      t->clock = xstrdup (clock);
      if (strcmp (clock, "monotonic") != 0 && strcmp (clock, "boottime") != 0)
        return ward_error_set (err, 0, "%s: unknown clock \"%s\"", cp, clock);
      if (o == NULL)
        return ward_error_set (err, 0, "%s: expected object, got null", cp);
      ret = ward_specs_expect (o, json_type_object, cp, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (o, cp, "secs", &t->secs, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, cp, "nanosecs", &t->nanosecs, NULL, err);
      if (ret < 0)
        return ret;
      if (t->nanosecs >= 1000000000u)
        return ward_error_set (err, 0, "%s.nanosecs: value %u out of range", cp, t->nanosecs);
    }
  return 0;
}

static int parse_devices (json_object *l, const char *path, ward_linux_t *lx, ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *dp = ward_specs_path_key (path, "devices");
  size_t n;
  int ret = ward_specs_read_array (l, path, "devices", &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  lx->devices = xzalloc ((n ? n : 1) * sizeof (ward_device_t));
  lx->devices_len = n;
  for (size_t i = 0; i < n; i++)
    {
      json_object *o = json_object_array_get_idx (arr, i);
      _cleanup_free_ char *ip = ward_specs_path_idx (dp, i);
      ward_device_t *d = &lx->devices[i];
      bool has_major = false, has_minor = false;
      ret = ward_specs_expect (o, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, ip, "type", true, &d->type, err);
      if (ret < 0)
        return ret;
      if (strcmp (d->type, "c") != 0 && strcmp (d->type, "b") != 0 && strcmp (d->type, "u") != 0
          && strcmp (d->type, "p") != 0)
        return ward_error_set (err, 0, "%s.type: unknown device type \"%s\"", ip, d->type);
      ret = ward_specs_read_str (o, ip, "path", true, &d->path, err);
      if (ret < 0)
        return ret;
      if (d->path[0] != '/')
        return ward_error_set (err, 0, "%s.path: \"%s\" is not an absolute path", ip, d->path);
      ret = ward_specs_read_i64 (o, ip, "major", &d->major, &has_major, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (o, ip, "minor", &d->minor, &has_minor, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, ip, "fileMode", &d->file_mode, &d->has_file_mode, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, ip, "uid", &d->uid, &d->has_uid, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, ip, "gid", &d->gid, &d->has_gid, err);
      if (ret < 0)
        return ret;
      /* fileMode may carry the S_IF* type bits (podman writes 8630 =
       * S_IFCHR|0666): the runtime keeps only the permission bits. */
      /* Only FIFOs have no device number. */
      if (strcmp (d->type, "p") != 0)
        {
          if (!has_major)
            return ward_error_set (err, 0, "%s.major: required", ip);
          if (!has_minor)
            return ward_error_set (err, 0, "%s.minor: required", ip);
        }
      if (d->major < 0 || d->major > 0xfff)
        return ward_error_set (err, 0, "%s.major: value %lld out of range", ip,
                               (long long) d->major);
      if (d->minor < 0 || d->minor > 0xfffff)
        return ward_error_set (err, 0, "%s.minor: value %lld out of range", ip,
                               (long long) d->minor);
    }
  return 0;
}

static int parse_net_devices (json_object *l, const char *path, ward_linux_t *lx,
                              ward_error_t **err)
{
  json_object *m;
  _cleanup_free_ char *np = ward_specs_path_key (path, "netDevices");
  size_t i = 0;
  int ret = ward_specs_read_object (l, path, "netDevices", &m, err);
  if (ret < 0 || m == NULL)
    return ret;
  lx->net_devices_len = (size_t) json_object_object_length (m);
  lx->net_devices = xzalloc ((lx->net_devices_len ? lx->net_devices_len : 1)
                             * sizeof (ward_net_device_t));
  json_object_object_foreach (m, name, o)
    {
      _cleanup_free_ char *kp = ward_specs_path_key (np, name);
      ward_net_device_t *d = &lx->net_devices[i++];
      d->name = xstrdup (name);
      /* Interface names are at most IFNAMSIZ-1 bytes and never contain '/'. */
      if (*name == '\0' || strlen (name) > 15 || strchr (name, '/') || strcmp (name, ".") == 0
          || strcmp (name, "..") == 0)
        return ward_error_set (err, 0, "%s: invalid interface name \"%s\"", kp, name);
      if (o == NULL)
        return ward_error_set (err, 0, "%s: expected object, got null", kp);
      ret = ward_specs_expect (o, json_type_object, kp, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, kp, "name", false, &d->new_name, err);
      if (ret < 0)
        return ret;
      if (d->new_name && (*d->new_name == '\0' || strlen (d->new_name) > 15
                          || strchr (d->new_name, '/')))
        return ward_error_set (err, 0, "%s.name: invalid interface name \"%s\"", kp, d->new_name);
    }
  return 0;
}

static int parse_intel_rdt (json_object *l, const char *path, ward_linux_t *lx,
                            ward_error_t **err)
{
  json_object *o;
  _cleanup_free_ char *ip = ward_specs_path_key (path, "intelRdt");
  ward_intel_rdt_t *r;
  int ret = ward_specs_read_object (l, path, "intelRdt", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  r = lx->intel_rdt = xzalloc (sizeof *r);
  ret = ward_specs_read_str (o, ip, "closID", false, &r->clos_id, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, ip, "l3CacheSchema", false, &r->l3_cache_schema, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, ip, "memBwSchema", false, &r->mem_bw_schema, err);
  if (ret == 0)
    ret = ward_specs_read_strv (o, ip, "schemata", &r->schemata, &r->schemata_len, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_bool (o, ip, "enableCMT", &r->enable_cmt, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_bool (o, ip, "enableMBM", &r->enable_mbm, NULL, err);
  if (ret < 0)
    return ret;
  /* closID names a directory under /sys/fs/resctrl. */
  if (r->clos_id && (strchr (r->clos_id, '/') || strcmp (r->clos_id, ".") == 0
                     || strcmp (r->clos_id, "..") == 0))
    return ward_error_set (err, 0, "%s.closID: invalid value \"%s\"", ip, r->clos_id);
  return 0;
}

static int parse_personality (json_object *l, const char *path, ward_linux_t *lx,
                              ward_error_t **err)
{
  json_object *o;
  _cleanup_free_ char *pp = ward_specs_path_key (path, "personality");
  ward_personality_t *p;
  int ret = ward_specs_read_object (l, path, "personality", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  p = lx->personality = xzalloc (sizeof *p);
  ret = ward_specs_read_str (o, pp, "domain", true, &p->domain, err);
  if (ret == 0)
    ret = ward_specs_read_strv (o, pp, "flags", &p->flags, &p->flags_len, NULL, err);
  if (ret < 0)
    return ret;
  if (strcmp (p->domain, "LINUX") != 0 && strcmp (p->domain, "LINUX32") != 0)
    return ward_error_set (err, 0, "%s.domain: unknown personality domain \"%s\"", pp,
                           p->domain);
  return 0;
}

static const char *const propagations[] = {
  "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
};

static int check_paths (char **v, size_t n, const char *path, const char *key, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    if (v[i][0] != '/')
      return ward_error_set (err, 0, "%s.%s[%zu]: \"%s\" is not an absolute path", path, key, i,
                             v[i]);
  return 0;
}

/* As runc: id maps only make sense with a new user namespace, and a new
 * one without maps leaves every id unmapped (nobody). */
static int check_user_namespace (const ward_linux_t *lx, const char *path, ward_error_t **err)
{
  const ward_namespace_t *userns = NULL;
  bool maps = lx->uid_mappings_len > 0 || lx->gid_mappings_len > 0;
  for (size_t i = 0; i < lx->namespaces_len; i++)
    if (lx->namespaces[i].type == WARD_NS_USER)
      userns = &lx->namespaces[i];
  if (userns == NULL && maps)
    return ward_error_set (err, 0, "%s.%s: given without a user namespace in %s.namespaces", path,
                           lx->uid_mappings_len ? "uidMappings" : "gidMappings", path);
  if (userns && userns->path == NULL)
    {
      if (lx->uid_mappings_len == 0)
        return ward_error_set (err, 0, "%s.uidMappings: required with a new user namespace", path);
      if (lx->gid_mappings_len == 0)
        return ward_error_set (err, 0, "%s.gidMappings: required with a new user namespace", path);
    }
  return 0;
}

int ward_specs_parse_linux (json_object *l, const char *path, ward_linux_t *lx,
                            ward_error_t **err)
{
  json_object *v;
  int ret = ward_specs_expect (l, json_type_object, path, err);
  if (ret == 0)
    ret = parse_namespaces (l, path, lx, err);
  if (ret == 0)
    ret = ward_specs_parse_id_mappings (l, path, "uidMappings", &lx->uid_mappings,
                                        &lx->uid_mappings_len, err);
  if (ret == 0)
    ret = ward_specs_parse_id_mappings (l, path, "gidMappings", &lx->gid_mappings,
                                        &lx->gid_mappings_len, err);
  if (ret == 0)
    ret = parse_time_offsets (l, path, lx, err);
  if (ret == 0)
    ret = parse_devices (l, path, lx, err);
  if (ret == 0)
    ret = parse_net_devices (l, path, lx, err);
  if (ret == 0)
    ret = ward_specs_read_str (l, path, "cgroupsPath", false, &lx->cgroups_path, err);
  if (ret == 0)
    ret = ward_specs_read_object (l, path, "resources", &v, err);
  if (ret < 0)
    return ret;
  if (v)
    {
      _cleanup_free_ char *rp = ward_specs_path_key (path, "resources");
      lx->resources = xzalloc (sizeof *lx->resources);
      ret = ward_specs_parse_resources (v, rp, lx->resources, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_specs_read_kv (l, path, "sysctl", &lx->sysctl, &lx->sysctl_len, err);
  if (ret == 0)
    ret = ward_specs_read_object (l, path, "seccomp", &v, err);
  if (ret < 0)
    return ret;
  if (v)
    {
      _cleanup_free_ char *sp = ward_specs_path_key (path, "seccomp");
      lx->seccomp = xzalloc (sizeof *lx->seccomp);
      ret = ward_specs_parse_seccomp (v, sp, lx->seccomp, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_specs_read_str (l, path, "rootfsPropagation", false, &lx->rootfs_propagation, err);
  if (ret < 0)
    return ret;
  if (lx->rootfs_propagation)
    {
      bool ok = false;
      for (size_t i = 0; i < ARRAY_SIZE (propagations); i++)
        ok = ok || strcmp (lx->rootfs_propagation, propagations[i]) == 0;
      if (!ok)
        return ward_error_set (err, 0, "%s.rootfsPropagation: unknown propagation \"%s\"", path,
                               lx->rootfs_propagation);
    }
  ret = ward_specs_read_strv (l, path, "maskedPaths", &lx->masked_paths, &lx->masked_paths_len,
                              NULL, err);
  if (ret == 0)
    ret = check_paths (lx->masked_paths, lx->masked_paths_len, path, "maskedPaths", err);
  if (ret == 0)
    ret = ward_specs_read_strv (l, path, "readonlyPaths", &lx->readonly_paths,
                                &lx->readonly_paths_len, NULL, err);
  if (ret == 0)
    ret = check_paths (lx->readonly_paths, lx->readonly_paths_len, path, "readonlyPaths", err);
  if (ret == 0)
    ret = ward_specs_read_str (l, path, "mountLabel", false, &lx->mount_label, err);
  if (ret == 0)
    ret = parse_intel_rdt (l, path, lx, err);
  if (ret == 0)
    ret = parse_personality (l, path, lx, err);
  if (ret == 0)
    ret = check_user_namespace (lx, path, err);
  return ret;
}

void ward_specs_linux_free (ward_linux_t *lx)
{
  if (lx == NULL)
    return;
  for (size_t i = 0; i < lx->namespaces_len; i++)
    free (lx->namespaces[i].path);
  free (lx->namespaces);
  free (lx->uid_mappings);
  free (lx->gid_mappings);
  for (size_t i = 0; i < lx->time_offsets_len; i++)
    free (lx->time_offsets[i].clock);
  free (lx->time_offsets);
  for (size_t i = 0; i < lx->devices_len; i++)
    {
      free (lx->devices[i].type);
      free (lx->devices[i].path);
    }
  free (lx->devices);
  for (size_t i = 0; i < lx->net_devices_len; i++)
    {
      free (lx->net_devices[i].name);
      free (lx->net_devices[i].new_name);
    }
  free (lx->net_devices);
  free (lx->cgroups_path);
  ward_resources_free (lx->resources);
  ward_specs_kv_free (lx->sysctl, lx->sysctl_len);
  ward_specs_seccomp_free (lx->seccomp);
  free (lx->rootfs_propagation);
  ward_specs_strv_free (lx->masked_paths);
  ward_specs_strv_free (lx->readonly_paths);
  free (lx->mount_label);
  if (lx->intel_rdt)
    {
      free (lx->intel_rdt->clos_id);
      free (lx->intel_rdt->l3_cache_schema);
      free (lx->intel_rdt->mem_bw_schema);
      ward_specs_strv_free (lx->intel_rdt->schemata);
      free (lx->intel_rdt);
    }
  if (lx->personality)
    {
      free (lx->personality->domain);
      ward_specs_strv_free (lx->personality->flags);
      free (lx->personality);
    }
  free (lx);
}
