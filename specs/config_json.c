/* ward_config_t back to config.json text.  Key names and order follow the
 * runtime-spec's Go types (what `runc spec` writes); absent stays absent. */
#include <config.h>

#include <json-c/json.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static void put (json_object *o, const char *key, json_object *v)
{
  json_object_object_add (o, key, v);
}

static void put_str (json_object *o, const char *key, const char *v)
{
  if (v)
    put (o, key, json_object_new_string (v));
}

/* NULL vectors are absent; an empty one is written as []. */
static void put_strv (json_object *o, const char *key, char *const *v, size_t n)
{
  json_object *a;
  if (v == NULL)
    return;
  a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  put (o, key, a);
}

static void put_caps (json_object *o, const char *key, bool has, char *const *v)
{
  size_t n = 0;
  if (!has || v == NULL)
    return;
  while (v[n])
    n++;
  put_strv (o, key, v, n);
}

static void put_kv (json_object *o, const char *key, const ward_kv_t *kv, size_t n)
{
  json_object *m;
  if (kv == NULL)
    return;
  m = json_object_new_object ();
  for (size_t i = 0; i < n; i++)
    put (m, kv[i].key, json_object_new_string (kv[i].value));
  put (o, key, m);
}

static json_object *id_maps (const ward_id_mapping_t *m, size_t n)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_object *e = json_object_new_object ();
      put (e, "containerID", json_object_new_int64 (m[i].container_id));
      put (e, "hostID", json_object_new_int64 (m[i].host_id));
      put (e, "size", json_object_new_int64 (m[i].size));
      json_object_array_add (a, e);
    }
  return a;
}

static json_object *process_object (const ward_process_t *p)
{
  json_object *o = json_object_new_object ();
  json_object *u = json_object_new_object ();

  put (o, "terminal", json_object_new_boolean (p->terminal));
  if (p->has_console_size)
    {
      json_object *cs = json_object_new_object ();
      put (cs, "height", json_object_new_int64 (p->console_height));
      put (cs, "width", json_object_new_int64 (p->console_width));
      put (o, "consoleSize", cs);
    }
  put (u, "uid", json_object_new_int64 (p->user.uid));
  put (u, "gid", json_object_new_int64 (p->user.gid));
  if (p->user.has_umask)
    put (u, "umask", json_object_new_int64 (p->user.umask));
  if (p->user.additional_gids)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < p->user.additional_gids_len; i++)
        json_object_array_add (a, json_object_new_int64 (p->user.additional_gids[i]));
      put (u, "additionalGids", a);
    }
  put_str (u, "username", p->user.username);
  put (o, "user", u);
  put_strv (o, "args", p->args, p->args_len);
  put_str (o, "commandLine", p->command_line);
  put_strv (o, "env", p->env, p->env_len);
  put_str (o, "cwd", p->cwd);
  if (p->capabilities)
    {
      const ward_capabilities_t *c = p->capabilities;
      json_object *co = json_object_new_object ();
      put_caps (co, "bounding", c->has_bounding, c->bounding);
      put_caps (co, "effective", c->has_effective, c->effective);
      put_caps (co, "inheritable", c->has_inheritable, c->inheritable);
      put_caps (co, "permitted", c->has_permitted, c->permitted);
      put_caps (co, "ambient", c->has_ambient, c->ambient);
      put (o, "capabilities", co);
    }
  if (p->rlimits)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < p->rlimits_len; i++)
        {
          json_object *e = json_object_new_object ();
          put_str (e, "type", p->rlimits[i].type);
          put (e, "hard", json_object_new_uint64 (p->rlimits[i].hard));
          put (e, "soft", json_object_new_uint64 (p->rlimits[i].soft));
          json_object_array_add (a, e);
        }
      put (o, "rlimits", a);
    }
  put (o, "noNewPrivileges", json_object_new_boolean (p->no_new_privileges));
  put_str (o, "apparmorProfile", p->apparmor_profile);
  if (p->has_oom_score_adj)
    put (o, "oomScoreAdj", json_object_new_int (p->oom_score_adj));
  if (p->scheduler)
    {
      const ward_scheduler_t *s = p->scheduler;
      json_object *so = json_object_new_object ();
      put_str (so, "policy", s->policy);
      if (s->has_nice)
        put (so, "nice", json_object_new_int (s->nice));
      if (s->has_priority)
        put (so, "priority", json_object_new_int (s->priority));
      put_strv (so, "flags", s->flags, s->flags_len);
      if (s->has_runtime)
        put (so, "runtime", json_object_new_uint64 (s->runtime));
      if (s->has_deadline)
        put (so, "deadline", json_object_new_uint64 (s->deadline));
      if (s->has_period)
        put (so, "period", json_object_new_uint64 (s->period));
      put (o, "scheduler", so);
    }
  put_str (o, "selinuxLabel", p->selinux_label);
  if (p->io_priority)
    {
      json_object *io = json_object_new_object ();
      put_str (io, "class", p->io_priority->class_name);
      put (io, "priority", json_object_new_int64 (p->io_priority->priority));
      put (o, "ioPriority", io);
    }
  if (p->exec_cpu_affinity)
    {
      json_object *a = json_object_new_object ();
      put_str (a, "initial", p->exec_cpu_affinity->initial);
      put_str (a, "final", p->exec_cpu_affinity->final);
      put (o, "execCPUAffinity", a);
    }
  return o;
}

static json_object *mounts_array (const ward_config_t *c)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; i < c->mounts_len; i++)
    {
      const ward_mount_t *m = &c->mounts[i];
      json_object *e = json_object_new_object ();
      put_str (e, "destination", m->destination);
      put_str (e, "type", m->type);
      put_str (e, "source", m->source);
      put_strv (e, "options", m->options, m->options_len);
      if (m->uid_mappings)
        put (e, "uidMappings", id_maps (m->uid_mappings, m->uid_mappings_len));
      if (m->gid_mappings)
        put (e, "gidMappings", id_maps (m->gid_mappings, m->gid_mappings_len));
      json_object_array_add (a, e);
    }
  return a;
}

static void put_hooks (json_object *o, const char *key, const ward_hook_t *h, size_t n)
{
  json_object *a;
  if (h == NULL)
    return;
  a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_object *e = json_object_new_object ();
      put_str (e, "path", h[i].path);
      put_strv (e, "args", h[i].args, h[i].args_len);
      put_strv (e, "env", h[i].env, h[i].env_len);
      if (h[i].has_timeout)
        put (e, "timeout", json_object_new_int (h[i].timeout));
      json_object_array_add (a, e);
    }
  put (o, key, a);
}

static json_object *hooks_object (const ward_hooks_t *h)
{
  json_object *o = json_object_new_object ();
  put_hooks (o, "prestart", h->prestart, h->prestart_len);
  put_hooks (o, "createRuntime", h->create_runtime, h->create_runtime_len);
  put_hooks (o, "createContainer", h->create_container, h->create_container_len);
  put_hooks (o, "startContainer", h->start_container, h->start_container_len);
  put_hooks (o, "poststart", h->poststart, h->poststart_len);
  put_hooks (o, "poststop", h->poststop, h->poststop_len);
  return o;
}

static void put_linux_maps_and_devices (json_object *o, const ward_linux_t *l)
{
  if (l->uid_mappings)
    put (o, "uidMappings", id_maps (l->uid_mappings, l->uid_mappings_len));
  if (l->gid_mappings)
    put (o, "gidMappings", id_maps (l->gid_mappings, l->gid_mappings_len));
  if (l->time_offsets)
    {
      json_object *m = json_object_new_object ();
      for (size_t i = 0; i < l->time_offsets_len; i++)
        {
          json_object *e = json_object_new_object ();
          put (e, "secs", json_object_new_int64 (l->time_offsets[i].secs));
          put (e, "nanosecs", json_object_new_int64 (l->time_offsets[i].nanosecs));
          put (m, l->time_offsets[i].clock, e);
        }
      put (o, "timeOffsets", m);
    }
  put_kv (o, "sysctl", l->sysctl, l->sysctl_len);
  if (l->resources)
    put (o, "resources", ward_specs_resources_to_object (l->resources));
  put_str (o, "cgroupsPath", l->cgroups_path);
  if (l->namespaces)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < l->namespaces_len; i++)
        {
          json_object *e = json_object_new_object ();
          put_str (e, "type", ward_ns_type_name (l->namespaces[i].type));
          put_str (e, "path", l->namespaces[i].path);
          json_object_array_add (a, e);
        }
      put (o, "namespaces", a);
    }
  if (l->devices)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < l->devices_len; i++)
        {
          const ward_device_t *d = &l->devices[i];
          json_object *e = json_object_new_object ();
          put_str (e, "type", d->type);
          put_str (e, "path", d->path);
          /* FIFOs carry no device number. */
          if (strcmp (d->type, "p") != 0 || d->major || d->minor)
            {
              put (e, "major", json_object_new_int64 (d->major));
              put (e, "minor", json_object_new_int64 (d->minor));
            }
          if (d->has_file_mode)
            put (e, "fileMode", json_object_new_int64 (d->file_mode));
          if (d->has_uid)
            put (e, "uid", json_object_new_int64 (d->uid));
          if (d->has_gid)
            put (e, "gid", json_object_new_int64 (d->gid));
          json_object_array_add (a, e);
        }
      put (o, "devices", a);
    }
  if (l->net_devices)
    {
      json_object *m = json_object_new_object ();
      for (size_t i = 0; i < l->net_devices_len; i++)
        {
          json_object *e = json_object_new_object ();
          put_str (e, "name", l->net_devices[i].new_name);
          put (m, l->net_devices[i].name, e);
        }
      put (o, "netDevices", m);
    }
}

static json_object *linux_object (const ward_linux_t *l)
{
  json_object *o = json_object_new_object ();
  put_linux_maps_and_devices (o, l);
  if (l->seccomp)
    put (o, "seccomp", ward_specs_seccomp_to_object (l->seccomp));
  put_str (o, "rootfsPropagation", l->rootfs_propagation);
  put_strv (o, "maskedPaths", l->masked_paths, l->masked_paths_len);
  put_strv (o, "readonlyPaths", l->readonly_paths, l->readonly_paths_len);
  put_str (o, "mountLabel", l->mount_label);
  if (l->intel_rdt)
    {
      const ward_intel_rdt_t *r = l->intel_rdt;
      json_object *e = json_object_new_object ();
      put_str (e, "closID", r->clos_id);
      put_str (e, "l3CacheSchema", r->l3_cache_schema);
      put_str (e, "memBwSchema", r->mem_bw_schema);
      put_strv (e, "schemata", r->schemata, r->schemata_len);
      if (r->enable_cmt)
        put (e, "enableCMT", json_object_new_boolean (1));
      if (r->enable_mbm)
        put (e, "enableMBM", json_object_new_boolean (1));
      put (o, "intelRdt", e);
    }
  if (l->personality)
    {
      json_object *e = json_object_new_object ();
      put_str (e, "domain", l->personality->domain);
      put_strv (e, "flags", l->personality->flags, l->personality->flags_len);
      put (o, "personality", e);
    }
  return o;
}

char *ward_config_to_json (const ward_config_t *c)
{
  _cleanup_json_ json_object *o = json_object_new_object ();

  if (c == NULL)
    return NULL;
  put_str (o, "ociVersion", c->oci_version ? c->oci_version : WARD_OCI_VERSION);
  if (c->process)
    put (o, "process", process_object (c->process));
  if (c->root)
    {
      json_object *r = json_object_new_object ();
      put_str (r, "path", c->root->path);
      if (c->root->readonly)
        put (r, "readonly", json_object_new_boolean (1));
      put (o, "root", r);
    }
  put_str (o, "hostname", c->hostname);
  put_str (o, "domainname", c->domainname);
  if (c->mounts)
    put (o, "mounts", mounts_array (c));
  if (c->hooks)
    put (o, "hooks", hooks_object (c->hooks));
  put_kv (o, "annotations", c->annotations, c->annotations_len);
  if (c->linux_)
    put (o, "linux", linux_object (c->linux_));
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY
                                                         | JSON_C_TO_STRING_PRETTY_TAB
                                                         | JSON_C_TO_STRING_SPACED
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE));
}
