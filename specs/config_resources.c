/* linux.resources: cgroup limits, also parsed alone for
 * `update --resources`. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static int alloc_array (json_object *obj, const char *path, const char *key, size_t elem,
                        void **out, size_t *len, json_object **arr, ward_error_t **err)
{
  int ret = ward_specs_read_array (obj, path, key, arr, err);
  size_t n;
  if (ret < 0 || *arr == NULL)
    return ret;
  n = json_object_array_length (*arr);
  *out = xzalloc ((n ? n : 1) * elem);
  *len = n;
  return 0;
}

static int parse_device_rules (json_object *r, const char *path, ward_resources_t *res,
                               ward_error_t **err)
{
  json_object *arr = NULL;
  _cleanup_free_ char *dp = ward_specs_path_key (path, "devices");
  int ret = alloc_array (r, path, "devices", sizeof (ward_device_cgroup_t),
                         (void **) &res->devices, &res->devices_len, &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  for (size_t i = 0; i < res->devices_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (dp, i);
      json_object *o = json_object_array_get_idx (arr, i);
      ward_device_cgroup_t *d = &res->devices[i];
      bool has_allow = false;
      d->major = d->minor = -1;
      ret = ward_specs_expect (o, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_bool (o, ip, "allow", &d->allow, &has_allow, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, ip, "type", false, &d->type, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (o, ip, "major", &d->major, &d->has_major, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (o, ip, "minor", &d->minor, &d->has_minor, err);
      if (ret == 0)
        ret = ward_specs_read_str (o, ip, "access", false, &d->access, err);
      if (ret < 0)
        return ret;
      if (!has_allow)
        return ward_error_set (err, 0, "%s.allow: required", ip);
      if (d->type && strcmp (d->type, "a") != 0 && strcmp (d->type, "c") != 0
          && strcmp (d->type, "b") != 0)
        return ward_error_set (err, 0, "%s.type: unknown device type \"%s\"", ip, d->type);
      if (d->access && strspn (d->access, "rwm") != strlen (d->access))
        {
          /* runc keeps the r, w and m of an access string and drops other
           * letters (its own tests write "rwa"); nothing left is an error. */
          char *w = d->access;
          for (const char *c = d->access; *c; c++)
            if (strchr ("rwm", *c) && !memchr (d->access, *c, (size_t) (w - d->access)))
              *w++ = *c;
          if (w == d->access)
            return ward_error_set (err, 0, "%s.access: invalid access \"%s\" (r, w or m expected)", ip,
                                   d->access);
          *w = '\0';
        }
      if (d->major < -1 || d->minor < -1)
        return ward_error_set (err, 0, "%s: device numbers must be -1 or non-negative", ip);
    }
  return 0;
}

static int parse_memory (json_object *r, const char *path, ward_resources_t *res,
                         ward_error_t **err)
{
  json_object *o;
  _cleanup_free_ char *mp = ward_specs_path_key (path, "memory");
  ward_memory_t *m;
  int ret = ward_specs_read_object (r, path, "memory", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  m = res->memory = xzalloc (sizeof *m);
  ret = ward_specs_read_i64 (o, mp, "limit", &m->limit, &m->has_limit, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, mp, "reservation", &m->reservation, &m->has_reservation, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, mp, "swap", &m->swap, &m->has_swap, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, mp, "kernel", &m->kernel, &m->has_kernel, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, mp, "kernelTCP", &m->kernel_tcp, &m->has_kernel_tcp, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (o, mp, "swappiness", &m->swappiness, &m->has_swappiness, err);
  if (ret == 0)
    ret = ward_specs_read_bool (o, mp, "disableOOMKiller", &m->disable_oom_killer,
                                &m->has_disable_oom_killer, err);
  if (ret == 0)
    ret = ward_specs_read_bool (o, mp, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy,
                                err);
  if (ret == 0)
    ret = ward_specs_read_bool (o, mp, "checkBeforeUpdate", &m->check_before_update,
                                &m->has_check_before_update, err);
  if (ret < 0)
    return ret;
  /* Docker sends swappiness -1 for "unset" (wraps to 2^64-1 as uint64). */
  if (m->has_swappiness && m->swappiness > 100 && m->swappiness != UINT64_MAX)
    return ward_error_set (err, 0, "%s.swappiness: value %llu out of range", mp,
                           (unsigned long long) m->swappiness);
  return 0;
}

static int parse_cpu (json_object *r, const char *path, ward_resources_t *res, ward_error_t **err)
{
  json_object *o;
  _cleanup_free_ char *cp = ward_specs_path_key (path, "cpu");
  ward_cpu_t *c;
  int ret = ward_specs_read_object (r, path, "cpu", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  c = res->cpu = xzalloc (sizeof *c);
  ret = ward_specs_read_u64 (o, cp, "shares", &c->shares, &c->has_shares, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, cp, "quota", &c->quota, &c->has_quota, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (o, cp, "burst", &c->burst, &c->has_burst, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (o, cp, "period", &c->period, &c->has_period, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, cp, "realtimeRuntime", &c->realtime_runtime,
                               &c->has_realtime_runtime, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (o, cp, "realtimePeriod", &c->realtime_period,
                               &c->has_realtime_period, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, cp, "cpus", false, &c->cpus, err);
  if (ret == 0)
    ret = ward_specs_read_str (o, cp, "mems", false, &c->mems, err);
  if (ret == 0)
    ret = ward_specs_read_i64 (o, cp, "idle", &c->idle, &c->has_idle, err);
  if (ret < 0)
    return ret;
  /* cpu.idle only takes 0 or 1. */
  if (c->has_idle && c->idle != 0 && c->idle != 1)
    return ward_error_set (err, 0, "%s.idle: value %lld out of range", cp, (long long) c->idle);
  return 0;
}

static int parse_throttle (json_object *o, const char *path, const char *key,
                           ward_throttle_device_t **out, size_t *len, ward_error_t **err)
{
  json_object *arr = NULL;
  _cleanup_free_ char *tp = ward_specs_path_key (path, key);
  int ret = alloc_array (o, path, key, sizeof (ward_throttle_device_t), (void **) out, len, &arr,
                         err);
  if (ret < 0 || arr == NULL)
    return ret;
  for (size_t i = 0; i < *len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (tp, i);
      json_object *e = json_object_array_get_idx (arr, i);
      ward_throttle_device_t *t = &(*out)[i];
      bool has_major = false, has_minor = false, has_rate = false;
      ret = ward_specs_expect (e, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (e, ip, "major", &t->major, &has_major, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (e, ip, "minor", &t->minor, &has_minor, err);
      if (ret == 0)
        ret = ward_specs_read_u64 (e, ip, "rate", &t->rate, &has_rate, err);
      if (ret < 0)
        return ret;
      if (!has_major)
        return ward_error_set (err, 0, "%s.major: required", ip);
      if (!has_minor)
        return ward_error_set (err, 0, "%s.minor: required", ip);
      if (!has_rate)
        return ward_error_set (err, 0, "%s.rate: required", ip);
    }
  return 0;
}

static int parse_block_io (json_object *r, const char *path, ward_resources_t *res,
                           ward_error_t **err)
{
  json_object *o, *arr = NULL;
  _cleanup_free_ char *bp = ward_specs_path_key (path, "blockIO");
  _cleanup_free_ char *wp = ward_specs_path_key (bp, "weightDevice");
  ward_blkio_t *b;
  int ret = ward_specs_read_object (r, path, "blockIO", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  b = res->block_io = xzalloc (sizeof *b);
  ret = ward_specs_read_u16 (o, bp, "weight", &b->weight, &b->has_weight, err);
  if (ret == 0)
    ret = ward_specs_read_u16 (o, bp, "leafWeight", &b->leaf_weight, &b->has_leaf_weight, err);
  if (ret == 0)
    ret = alloc_array (o, bp, "weightDevice", sizeof (ward_weight_device_t),
                       (void **) &b->weight_device, &b->weight_device_len, &arr, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; arr && i < b->weight_device_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (wp, i);
      json_object *e = json_object_array_get_idx (arr, i);
      ward_weight_device_t *w = &b->weight_device[i];
      bool has_major = false, has_minor = false;
      ret = ward_specs_expect (e, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (e, ip, "major", &w->major, &has_major, err);
      if (ret == 0)
        ret = ward_specs_read_i64 (e, ip, "minor", &w->minor, &has_minor, err);
      if (ret == 0)
        ret = ward_specs_read_u16 (e, ip, "weight", &w->weight, &w->has_weight, err);
      if (ret == 0)
        ret = ward_specs_read_u16 (e, ip, "leafWeight", &w->leaf_weight, &w->has_leaf_weight,
                                   err);
      if (ret < 0)
        return ret;
      if (!has_major)
        return ward_error_set (err, 0, "%s.major: required", ip);
      if (!has_minor)
        return ward_error_set (err, 0, "%s.minor: required", ip);
    }
  ret = parse_throttle (o, bp, "throttleReadBpsDevice", &b->throttle_read_bps,
                        &b->throttle_read_bps_len, err);
  if (ret == 0)
    ret = parse_throttle (o, bp, "throttleWriteBpsDevice", &b->throttle_write_bps,
                          &b->throttle_write_bps_len, err);
  if (ret == 0)
    ret = parse_throttle (o, bp, "throttleReadIOPSDevice", &b->throttle_read_iops,
                          &b->throttle_read_iops_len, err);
  if (ret == 0)
    ret = parse_throttle (o, bp, "throttleWriteIOPSDevice", &b->throttle_write_iops,
                          &b->throttle_write_iops_len, err);
  return ret;
}

static int parse_hugepages (json_object *r, const char *path, ward_resources_t *res,
                            ward_error_t **err)
{
  json_object *arr = NULL;
  _cleanup_free_ char *hp = ward_specs_path_key (path, "hugepageLimits");
  int ret = alloc_array (r, path, "hugepageLimits", sizeof (ward_hugepage_limit_t),
                         (void **) &res->hugepage_limits, &res->hugepage_limits_len, &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  for (size_t i = 0; i < res->hugepage_limits_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (hp, i);
      json_object *e = json_object_array_get_idx (arr, i);
      ward_hugepage_limit_t *h = &res->hugepage_limits[i];
      bool has_limit = false;
      ret = ward_specs_expect (e, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (e, ip, "pageSize", true, &h->page_size, err);
      if (ret == 0)
        ret = ward_specs_read_u64 (e, ip, "limit", &h->limit, &has_limit, err);
      if (ret < 0)
        return ret;
      if (!has_limit)
        return ward_error_set (err, 0, "%s.limit: required", ip);
      /* The page size becomes part of a cgroup file name (hugetlb.<size>.limit_in_bytes). */
      if (h->page_size[0] == '\0' || strchr (h->page_size, '/') || strchr (h->page_size, '.'))
        return ward_error_set (err, 0, "%s.pageSize: invalid page size \"%s\"", ip, h->page_size);
    }
  return 0;
}

static int parse_network (json_object *r, const char *path, ward_resources_t *res,
                          ward_error_t **err)
{
  json_object *o, *arr = NULL;
  _cleanup_free_ char *np = ward_specs_path_key (path, "network");
  _cleanup_free_ char *pp = ward_specs_path_key (np, "priorities");
  ward_network_t *n;
  int ret = ward_specs_read_object (r, path, "network", &o, err);
  if (ret < 0 || o == NULL)
    return ret;
  n = res->network = xzalloc (sizeof *n);
  ret = ward_specs_read_u32 (o, np, "classID", &n->class_id, &n->has_class_id, err);
  if (ret == 0)
    ret = alloc_array (o, np, "priorities", sizeof (ward_net_priority_t),
                       (void **) &n->priorities, &n->priorities_len, &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  for (size_t i = 0; i < n->priorities_len; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx (pp, i);
      json_object *e = json_object_array_get_idx (arr, i);
      ret = ward_specs_expect (e, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (e, ip, "name", true, &n->priorities[i].name, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (e, ip, "priority", &n->priorities[i].priority, NULL, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int parse_rdma (json_object *r, const char *path, ward_resources_t *res,
                       ward_error_t **err)
{
  json_object *m;
  _cleanup_free_ char *rp = ward_specs_path_key (path, "rdma");
  size_t i = 0;
  int ret = ward_specs_read_object (r, path, "rdma", &m, err);
  if (ret < 0 || m == NULL)
    return ret;
  res->rdma_len = (size_t) json_object_object_length (m);
  res->rdma = xzalloc ((res->rdma_len ? res->rdma_len : 1) * sizeof (ward_rdma_t));
  json_object_object_foreach (m, dev, o)
    {
      _cleanup_free_ char *kp = ward_specs_path_key (rp, dev);
      ward_rdma_t *d = &res->rdma[i++];
      d->device = xstrdup (dev);
      if (o == NULL)
        return ward_error_set (err, 0, "%s: expected object, got null", kp);
      ret = ward_specs_expect (o, json_type_object, kp, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, kp, "hcaHandles", &d->hca_handles, &d->has_hca_handles, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (o, kp, "hcaObjects", &d->hca_objects, &d->has_hca_objects, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int ward_specs_parse_resources (json_object *r, const char *path, ward_resources_t *res,
                                ward_error_t **err)
{
  json_object *pids;
  int ret = ward_specs_expect (r, json_type_object, path, err);
  if (ret == 0)
    ret = parse_device_rules (r, path, res, err);
  if (ret == 0)
    ret = parse_memory (r, path, res, err);
  if (ret == 0)
    ret = parse_cpu (r, path, res, err);
  if (ret == 0)
    ret = parse_block_io (r, path, res, err);
  if (ret == 0)
    ret = parse_hugepages (r, path, res, err);
  if (ret == 0)
    ret = parse_network (r, path, res, err);
  if (ret == 0)
    ret = ward_specs_read_object (r, path, "pids", &pids, err);
  if (ret < 0)
    return ret;
  if (pids)
    {
      _cleanup_free_ char *pp = ward_specs_path_key (path, "pids");
      ret = ward_specs_read_i64 (pids, pp, "limit", &res->pids_limit, &res->has_pids_limit, err);
      if (ret < 0)
        return ret;
    }
  ret = parse_rdma (r, path, res, err);
  if (ret == 0)
    ret = ward_specs_read_kv (r, path, "unified", &res->unified, &res->unified_len, err);
  if (ret < 0)
    return ret;
  /* unified keys are cgroup file names: no path components. */
  for (size_t i = 0; i < res->unified_len; i++)
    if (strchr (res->unified[i].key, '/') || res->unified[i].key[0] == '.'
        || res->unified[i].key[0] == '\0')
      return ward_error_set (err, 0, "%s.unified.%s: invalid cgroup file name", path,
                             res->unified[i].key);
  return 0;
}

void ward_resources_free (ward_resources_t *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->devices_len; i++)
    {
      free (r->devices[i].type);
      free (r->devices[i].access);
    }
  free (r->devices);
  free (r->memory);
  if (r->cpu)
    {
      free (r->cpu->cpus);
      free (r->cpu->mems);
      free (r->cpu);
    }
  if (r->block_io)
    {
      free (r->block_io->weight_device);
      free (r->block_io->throttle_read_bps);
      free (r->block_io->throttle_write_bps);
      free (r->block_io->throttle_read_iops);
      free (r->block_io->throttle_write_iops);
      free (r->block_io);
    }
  for (size_t i = 0; i < r->hugepage_limits_len; i++)
    free (r->hugepage_limits[i].page_size);
  free (r->hugepage_limits);
  if (r->network)
    {
      for (size_t i = 0; i < r->network->priorities_len; i++)
        free (r->network->priorities[i].name);
      free (r->network->priorities);
      free (r->network);
    }
  for (size_t i = 0; i < r->rdma_len; i++)
    free (r->rdma[i].device);
  free (r->rdma);
  ward_specs_kv_free (r->unified, r->unified_len);
  free (r);
}

int ward_resources_parse (const char *data, size_t len, ward_resources_t **out,
                          ward_error_t **err)
{
  _cleanup_json_ json_object *root = NULL;
  ward_resources_t *r;
  int ret = ward_specs_tokenize (data, len, &root, err);
  if (ret < 0)
    return ret;
  r = xzalloc (sizeof *r);
  ret = ward_specs_parse_resources (root, "resources", r, err);
  if (ret < 0)
    {
      ward_resources_free (r);
      return ret;
    }
  *out = r;
  return 0;
}
