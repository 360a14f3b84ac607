/* ward_resources_t back to JSON (runtime-spec key names): for `update`,
 * which merges flags into the current resources, and for handing the
 * resources to the VM guest agent.  Absent fields stay absent. */
#include <config.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static void add_i64 (json_object *o, const char *key, bool has, int64_t v)
{
  if (has)
    json_object_object_add (o, key, json_object_new_int64 (v));
}

static void add_u64 (json_object *o, const char *key, bool has, uint64_t v)
{
  if (has)
    json_object_object_add (o, key, json_object_new_uint64 (v));
}

static void add_bool (json_object *o, const char *key, bool has, bool v)
{
  if (has)
    json_object_object_add (o, key, json_object_new_boolean (v));
}

static void add_str (json_object *o, const char *key, const char *v)
{
  if (v)
    json_object_object_add (o, key, json_object_new_string (v));
}

static json_object *throttle_list (const ward_throttle_device_t *t, size_t n)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_object *e = json_object_new_object ();
      add_i64 (e, "major", true, t[i].major);
      add_i64 (e, "minor", true, t[i].minor);
      add_u64 (e, "rate", true, t[i].rate);
      json_object_array_add (a, e);
    }
  return a;
}

static json_object *devices_json (const ward_resources_t *r)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; i < r->devices_len; i++)
    {
      const ward_device_cgroup_t *d = &r->devices[i];
      json_object *e = json_object_new_object ();
      add_bool (e, "allow", true, d->allow);
      add_str (e, "type", d->type);
      add_i64 (e, "major", d->has_major, d->major);
      add_i64 (e, "minor", d->has_minor, d->minor);
      add_str (e, "access", d->access);
      json_object_array_add (a, e);
    }
  return a;
}

static json_object *memory_json (const ward_memory_t *m)
{
  json_object *o = json_object_new_object ();
  add_i64 (o, "limit", m->has_limit, m->limit);
  add_i64 (o, "reservation", m->has_reservation, m->reservation);
  add_i64 (o, "swap", m->has_swap, m->swap);
  add_i64 (o, "kernel", m->has_kernel, m->kernel);
  add_i64 (o, "kernelTCP", m->has_kernel_tcp, m->kernel_tcp);
  add_u64 (o, "swappiness", m->has_swappiness, m->swappiness);
  add_bool (o, "disableOOMKiller", m->has_disable_oom_killer, m->disable_oom_killer);
  add_bool (o, "useHierarchy", m->has_use_hierarchy, m->use_hierarchy);
  add_bool (o, "checkBeforeUpdate", m->has_check_before_update, m->check_before_update);
  return o;
}

static json_object *cpu_json (const ward_cpu_t *c)
{
  json_object *o = json_object_new_object ();
  add_u64 (o, "shares", c->has_shares, c->shares);
  add_i64 (o, "quota", c->has_quota, c->quota);
  add_u64 (o, "burst", c->has_burst, c->burst);
  add_u64 (o, "period", c->has_period, c->period);
  add_i64 (o, "realtimeRuntime", c->has_realtime_runtime, c->realtime_runtime);
  add_u64 (o, "realtimePeriod", c->has_realtime_period, c->realtime_period);
  add_str (o, "cpus", c->cpus);
  add_str (o, "mems", c->mems);
  add_i64 (o, "idle", c->has_idle, c->idle);
  return o;
}

static json_object *block_io_json (const ward_blkio_t *b)
{
  json_object *o = json_object_new_object ();
  add_i64 (o, "weight", b->has_weight, b->weight);
  add_i64 (o, "leafWeight", b->has_leaf_weight, b->leaf_weight);
  if (b->weight_device)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < b->weight_device_len; i++)
        {
          const ward_weight_device_t *w = &b->weight_device[i];
          json_object *e = json_object_new_object ();
          add_i64 (e, "major", true, w->major);
          add_i64 (e, "minor", true, w->minor);
          add_i64 (e, "weight", w->has_weight, w->weight);
          add_i64 (e, "leafWeight", w->has_leaf_weight, w->leaf_weight);
          json_object_array_add (a, e);
        }
      json_object_object_add (o, "weightDevice", a);
    }
  if (b->throttle_read_bps)
    json_object_object_add (o, "throttleReadBpsDevice",
                            throttle_list (b->throttle_read_bps, b->throttle_read_bps_len));
  if (b->throttle_write_bps)
    json_object_object_add (o, "throttleWriteBpsDevice",
                            throttle_list (b->throttle_write_bps, b->throttle_write_bps_len));
  if (b->throttle_read_iops)
    json_object_object_add (o, "throttleReadIOPSDevice",
                            throttle_list (b->throttle_read_iops, b->throttle_read_iops_len));
  if (b->throttle_write_iops)
    json_object_object_add (o, "throttleWriteIOPSDevice",
                            throttle_list (b->throttle_write_iops, b->throttle_write_iops_len));
  return o;
}

static json_object *network_json (const ward_network_t *n)
{
  json_object *o = json_object_new_object ();
  add_u64 (o, "classID", n->has_class_id, n->class_id);
  if (n->priorities)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < n->priorities_len; i++)
        {
          json_object *e = json_object_new_object ();
          add_str (e, "name", n->priorities[i].name);
          add_u64 (e, "priority", true, n->priorities[i].priority);
          json_object_array_add (a, e);
        }
      json_object_object_add (o, "priorities", a);
    }
  return o;
}

json_object *ward_specs_resources_to_object (const ward_resources_t *r)
{
  json_object *o = json_object_new_object ();

  if (r == NULL)
    return o;
  if (r->devices)
    json_object_object_add (o, "devices", devices_json (r));
  if (r->memory)
    json_object_object_add (o, "memory", memory_json (r->memory));
  if (r->cpu)
    json_object_object_add (o, "cpu", cpu_json (r->cpu));
  if (r->block_io)
    json_object_object_add (o, "blockIO", block_io_json (r->block_io));
  if (r->hugepage_limits)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < r->hugepage_limits_len; i++)
        {
          json_object *e = json_object_new_object ();
          add_str (e, "pageSize", r->hugepage_limits[i].page_size);
          add_u64 (e, "limit", true, r->hugepage_limits[i].limit);
          json_object_array_add (a, e);
        }
      json_object_object_add (o, "hugepageLimits", a);
    }
  if (r->network)
    json_object_object_add (o, "network", network_json (r->network));
  if (r->has_pids_limit)
    {
      json_object *p = json_object_new_object ();
      add_i64 (p, "limit", true, r->pids_limit);
      json_object_object_add (o, "pids", p);
    }
  if (r->rdma)
    {
      json_object *m = json_object_new_object ();
      for (size_t i = 0; i < r->rdma_len; i++)
        {
          json_object *e = json_object_new_object ();
          add_u64 (e, "hcaHandles", r->rdma[i].has_hca_handles, r->rdma[i].hca_handles);
          add_u64 (e, "hcaObjects", r->rdma[i].has_hca_objects, r->rdma[i].hca_objects);
          json_object_object_add (m, r->rdma[i].device, e);
        }
      json_object_object_add (o, "rdma", m);
    }
  if (r->unified)
    {
      json_object *m = json_object_new_object ();
      for (size_t i = 0; i < r->unified_len; i++)
        add_str (m, r->unified[i].key, r->unified[i].value);
      json_object_object_add (o, "unified", m);
    }
  return o;
}

char *ward_resources_to_json (const ward_resources_t *r)
{
  _cleanup_json_ json_object *o = ward_specs_resources_to_object (r);
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE));
}
