/* cgroup v1 back end (legacy and hybrid hosts): resources, freezer, stats. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

/* An fd on the controller's directory, -1 when it is not mounted. */
static int ctl_fd (const ward_cgroup_t *cg, const char *ctl)
{
  const char *d = ward_cg_v1_dir (cg, ctl);
  return d ? ward_cg_open_dir (d) : -1;
}

static int fmt_limit (char *buf, size_t n, int64_t v)
{
  return snprintf (buf, n, "%lld", (long long) (v < 0 ? -1 : v));
}

static int apply_memory (const ward_cgroup_t *cg, const ward_memory_t *m, ward_error_t **err)
{
  _cleanup_close_ int fd = ctl_fd (cg, "memory");
  char lim[32], sw[32];
  int ret;

  /* 0 means "not set" for limit/swap/reservation, as in runc. */
  bool has_limit = m->has_limit && m->limit != 0;
  bool has_swap = m->has_swap && m->swap != 0;
  int64_t swap = m->swap;

  if ((ret = ward_cg_check_usage (fd, "memory.usage_in_bytes", m, err)) < 0)
    return ret;
  /* Lifting the memory limit lifts memsw with it when no swap is given
   * (runc): memsw may never be below the memory limit. */
  if (has_limit && m->limit == -1 && !has_swap && ward_cg_has_file (fd, "memory.memsw.limit_in_bytes"))
    has_swap = true, swap = -1;
  fmt_limit (lim, sizeof lim, m->limit);
  fmt_limit (sw, sizeof sw, swap);
  if (has_swap && !ward_cg_has_file (fd, "memory.memsw.limit_in_bytes"))
    return ward_cg_unsupported (err, "linux.resources.memory.swap", "memory.memsw.limit_in_bytes",
                                fd < 0 ? "controller not available on this host"
                                       : "not supported by this kernel (swap accounting off)");
  if (has_limit && has_swap)
    {
      /* memsw must stay >= limit at every step: raise memsw first when
       * growing, lower the limit first when shrinking. */
      ward_error_t *first = NULL;
      if (ward_cg_write (fd, "linux.resources.memory.limit", "memory.limit_in_bytes", &first, "%s",
                         lim)
              == 0
          && ward_cg_write (fd, "linux.resources.memory.swap", "memory.memsw.limit_in_bytes",
                            &first, "%s", sw)
                 == 0)
        ;
      else
        {
          ward_error_free (&first);
          if ((ret = ward_cg_write (fd, "linux.resources.memory.swap",
                                    "memory.memsw.limit_in_bytes", err, "%s", sw))
              < 0)
            return ret;
          if ((ret = ward_cg_write (fd, "linux.resources.memory.limit", "memory.limit_in_bytes",
                                    err, "%s", lim))
              < 0)
            return ret;
        }
    }
  else if (has_limit
           && (ret = ward_cg_write (fd, "linux.resources.memory.limit", "memory.limit_in_bytes",
                                    err, "%s", lim))
                  < 0)
    return ret;
  else if (has_swap
           && (ret = ward_cg_write (fd, "linux.resources.memory.swap",
                                    "memory.memsw.limit_in_bytes", err, "%s", sw))
                  < 0)
    return ret;
  if (m->has_reservation && m->reservation != 0
      && (ret = ward_cg_write (fd, "linux.resources.memory.reservation",
                               "memory.soft_limit_in_bytes", err, "%lld",
                               (long long) (m->reservation < 0 ? -1 : m->reservation)))
             < 0)
    return ret;
  if (m->has_kernel && m->kernel != 0)
    {
      /* Kernel memory limits are deprecated (gone since Linux 6.x on some
       * configs); runc ignores them too, so a missing file is not fatal. */
      ret = ward_cg_write_opt (fd, "memory.kmem.limit_in_bytes", "%lld",
                               (long long) (m->kernel < 0 ? -1 : m->kernel));
      if (ret != 0)
        ward_debug ("cgroup: memory.kmem.limit_in_bytes not set: %s",
                    ret > 0 ? "not supported" : strerror (-ret));
    }
  if (m->has_kernel_tcp && m->kernel_tcp != 0
      && (ret = ward_cg_write (fd, "linux.resources.memory.kernelTCP",
                               "memory.kmem.tcp.limit_in_bytes", err, "%lld",
                               (long long) (m->kernel_tcp < 0 ? -1 : m->kernel_tcp)))
             < 0)
    return ret;
  /* -1 as uint64 is what some callers send for "unset". */
  if (m->has_swappiness && m->swappiness != UINT64_MAX)
    {
      if (m->swappiness > 100)
        return ward_error_set (err, 0, "linux.resources.memory.swappiness: %llu is not in 0-100",
                               (unsigned long long) m->swappiness);
      if ((ret = ward_cg_write (fd, "linux.resources.memory.swappiness", "memory.swappiness", err,
                                "%llu", (unsigned long long) m->swappiness))
          < 0)
        return ret;
    }
  if (m->has_disable_oom_killer && (m->disable_oom_killer || ward_cg_has_file (fd, "memory.oom_control"))
      && (ret = ward_cg_write (fd, "linux.resources.memory.disableOOMKiller", "memory.oom_control",
                               err, "%d", m->disable_oom_killer ? 1 : 0))
             < 0)
    return ret;
  if (m->has_use_hierarchy)
    {
      /* Newer kernels are always hierarchical and refuse 0. */
      ret = ward_cg_write (fd, "linux.resources.memory.useHierarchy", "memory.use_hierarchy", err,
                           "%d", m->use_hierarchy ? 1 : 0);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int apply_cpu (const ward_cgroup_t *cg, const ward_cpu_t *c, ward_error_t **err)
{
  _cleanup_close_ int fd = ctl_fd (cg, "cpu");
  int ret;

  if (c->has_shares && c->shares != 0
      && (ret = ward_cg_write (fd, "linux.resources.cpu.shares", "cpu.shares", err, "%llu",
                               (unsigned long long) c->shares))
             < 0)
    return ret;
  if ((c->has_period && c->period != 0) || c->has_quota)
    {
      /* Period first, then quota; if the kernel refuses (the pair would
       * exceed the parent), try the other order. */
      ward_error_t *first = NULL;
      bool ok = true;
      if (c->has_period && c->period != 0)
        ok = ward_cg_write (fd, "linux.resources.cpu.period", "cpu.cfs_period_us", &first, "%llu",
                            (unsigned long long) c->period)
             == 0;
      if (ok && c->has_quota)
        ok = ward_cg_write (fd, "linux.resources.cpu.quota", "cpu.cfs_quota_us", &first, "%lld",
                            (long long) (c->quota <= 0 ? -1 : c->quota))
             == 0;
      ward_error_free (&first);
      if (!ok)
        {
          if (c->has_quota
              && (ret = ward_cg_write (fd, "linux.resources.cpu.quota", "cpu.cfs_quota_us", err,
                                       "%lld", (long long) (c->quota <= 0 ? -1 : c->quota)))
                     < 0)
            return ret;
          if (c->has_period && c->period != 0
              && (ret = ward_cg_write (fd, "linux.resources.cpu.period", "cpu.cfs_period_us", err,
                                       "%llu", (unsigned long long) c->period))
                     < 0)
            return ret;
        }
    }
  if (c->has_burst
      && (c->burst != 0 || ward_cg_has_file (fd, "cpu.cfs_burst_us"))
      && (ret = ward_cg_write (fd, "linux.resources.cpu.burst", "cpu.cfs_burst_us", err, "%llu",
                               (unsigned long long) c->burst))
             < 0)
    return ret;
  /* rt_period before rt_runtime: the runtime must fit in the period. */
  if (c->has_realtime_period && c->realtime_period != 0
      && (ret = ward_cg_write (fd, "linux.resources.cpu.realtimePeriod", "cpu.rt_period_us", err,
                               "%llu", (unsigned long long) c->realtime_period))
             < 0)
    return ret;
  if (c->has_realtime_runtime && c->realtime_runtime != 0
      && (ret = ward_cg_write (fd, "linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us", err,
                               "%lld", (long long) c->realtime_runtime))
             < 0)
    return ret;
  if (c->has_idle && (c->idle != 0 || ward_cg_has_file (fd, "cpu.idle"))
      && (ret = ward_cg_write (fd, "linux.resources.cpu.idle", "cpu.idle", err, "%lld",
                               (long long) c->idle))
             < 0)
    return ret;
  if ((c->cpus && *c->cpus) || (c->mems && *c->mems))
    {
      _cleanup_close_ int cfd = ctl_fd (cg, "cpuset");
      if (c->cpus && *c->cpus
          && (ret = ward_cg_write (cfd, "linux.resources.cpu.cpus", "cpuset.cpus", err, "%s",
                                   c->cpus))
                 < 0)
        return ret;
      if (c->mems && *c->mems
          && (ret = ward_cg_write (cfd, "linux.resources.cpu.mems", "cpuset.mems", err, "%s",
                                   c->mems))
                 < 0)
        return ret;
    }
  return 0;
}

static int write_throttle (int fd, const char *res, const char *file,
                           const ward_throttle_device_t *t, size_t n, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    {
      int ret = ward_cg_write (fd, res, file, err, "%lld:%lld %llu", (long long) t[i].major,
                               (long long) t[i].minor, (unsigned long long) t[i].rate);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int apply_blkio (const ward_cgroup_t *cg, const ward_blkio_t *b, ward_error_t **err)
{
  _cleanup_close_ int fd = ctl_fd (cg, "blkio");
  /* With the BFQ scheduler only the blkio.bfq.* weight files exist. */
  bool bfq = !ward_cg_has_file (fd, "blkio.weight") && ward_cg_has_file (fd, "blkio.bfq.weight");
  const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
  const char *wdfile = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
  int ret;

  if (b->has_weight && b->weight != 0
      && (ret = ward_cg_write (fd, "linux.resources.blockIO.weight", wfile, err, "%u",
                               (unsigned) b->weight))
             < 0)
    return ret;
  if (b->has_leaf_weight && b->leaf_weight != 0
      && (ret = ward_cg_write (fd, "linux.resources.blockIO.leafWeight", "blkio.leaf_weight", err,
                               "%u", (unsigned) b->leaf_weight))
             < 0)
    return ret;
  for (size_t i = 0; i < b->weight_device_len; i++)
    {
      const ward_weight_device_t *w = &b->weight_device[i];
      if (w->has_weight
          && (ret = ward_cg_write (fd, "linux.resources.blockIO.weightDevice", wdfile, err,
                                   "%lld:%lld %u", (long long) w->major, (long long) w->minor,
                                   (unsigned) w->weight))
                 < 0)
        return ret;
      if (w->has_leaf_weight
          && (ret = ward_cg_write (fd, "linux.resources.blockIO.weightDevice",
                                   "blkio.leaf_weight_device", err, "%lld:%lld %u",
                                   (long long) w->major, (long long) w->minor,
                                   (unsigned) w->leaf_weight))
                 < 0)
        return ret;
    }
  if ((ret = write_throttle (fd, "linux.resources.blockIO.throttleReadBpsDevice",
                             "blkio.throttle.read_bps_device", b->throttle_read_bps,
                             b->throttle_read_bps_len, err))
          < 0
      || (ret = write_throttle (fd, "linux.resources.blockIO.throttleWriteBpsDevice",
                                "blkio.throttle.write_bps_device", b->throttle_write_bps,
                                b->throttle_write_bps_len, err))
             < 0
      || (ret = write_throttle (fd, "linux.resources.blockIO.throttleReadIOPSDevice",
                                "blkio.throttle.read_iops_device", b->throttle_read_iops,
                                b->throttle_read_iops_len, err))
             < 0
      || (ret = write_throttle (fd, "linux.resources.blockIO.throttleWriteIOPSDevice",
                                "blkio.throttle.write_iops_device", b->throttle_write_iops,
                                b->throttle_write_iops_len, err))
             < 0)
    return ret;
  return 0;
}

static void dev_rule (char *buf, size_t n, const ward_device_cgroup_t *d)
{
  char maj[24] = "*", min[24] = "*";
  if (d->has_major && d->major >= 0)
    snprintf (maj, sizeof maj, "%lld", (long long) d->major);
  if (d->has_minor && d->minor >= 0)
    snprintf (min, sizeof min, "%lld", (long long) d->minor);
  snprintf (buf, n, "%s %s:%s %s", d->type && *d->type ? d->type : "a", maj, min,
            d->access && *d->access ? d->access : "rwm");
}

static bool is_deny_all (const ward_device_cgroup_t *d)
{
  return !d->allow && (d->type == NULL || *d->type == '\0' || strcmp (d->type, "a") == 0)
         && (!d->has_major || d->major < 0) && (!d->has_minor || d->minor < 0)
         && (d->access == NULL || *d->access == '\0' || strspn (d->access, "rwm") == 3);
}

/* Puts the cgroup in deny-everything state.  Writing "a" fails with EINVAL
 * once the cgroup has children (an `update` after the container made
 * sub-cgroups); when it is already deny-by-default, dropping each listed
 * exception reaches the same state without that write. */
static int reset_deny_all (int fd, ward_error_t **err)
{
  _cleanup_free_ char *list = NULL;
  int ret;

  if (ward_read_file_at (fd, "devices.list", &list, NULL, 0, NULL) < 0
      || strncmp (list, "a *:* rwm", 9) == 0)
    return ward_cg_write (fd, "linux.resources.devices", "devices.deny", err, "a");
  for (char *s = NULL, *l = strtok_r (list, "\n", &s); l; l = strtok_r (NULL, "\n", &s))
    if ((ret = ward_cg_write (fd, "linux.resources.devices", "devices.deny", err, "%s", l)) < 0)
      return ret;
  return 0;
}

static int apply_devices (const ward_cgroup_t *cg, const ward_resources_t *r, ward_error_t **err)
{
  _cleanup_close_ int fd = ctl_fd (cg, "devices");
  int ret;

  if (fd < 0)
    return ward_cg_unsupported (err, "linux.resources.devices", "devices",
                                "controller not available on this host");
  /* Start from deny-all, then replay the rules in order as runc does. */
  if ((ret = reset_deny_all (fd, err)) < 0)
    return ret;
  for (size_t i = 0; i < r->devices_len; i++)
    {
      char rule[96];
      if (is_deny_all (&r->devices[i]))
        {
          if ((ret = reset_deny_all (fd, err)) < 0)
            return ret;
          continue;
        }
      dev_rule (rule, sizeof rule, &r->devices[i]);
      /* "a" writes fail with EINVAL while a child cgroup is online; one
       * that was just removed stays online until the kernel offlines it
       * asynchronously, so retry for a short while. */
      for (int tries = 0;; tries++)
        {
          ward_error_t *e = NULL;
          const char *file = r->devices[i].allow ? "devices.allow" : "devices.deny";
          ret = ward_cg_write (fd, "linux.resources.devices", file, &e, "%s", rule);
          if (ret == 0)
            break;
          if (ret != -EINVAL || rule[0] != 'a' || tries >= 50)
            {
              if (err && *err == NULL)
                *err = e;
              else
                ward_error_free (&e);
              return ret;
            }
          ward_error_free (&e);
          nanosleep (&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
    }
  return 0;
}

/* Hybrid hosts may offer hugetlb only in the unified tree (this one does):
 * use it there, with the v2 file names. */
static int apply_hugetlb (const ward_cgroup_t *cg, const ward_resources_t *r, ward_error_t **err)
{
  _cleanup_close_ int fd = ctl_fd (cg, "hugetlb");
  bool unified = false;
  int ret;

  if (fd < 0 && cg->mode == WARD_CGROUP_MODE_HYBRID && cg->unified_dir)
    {
      _cleanup_free_ char *ctrls = NULL;
      _cleanup_close_ int root = ward_cg_open_dir (WARD_CG_UNIFIED_HYBRID);
      if (root >= 0 && ward_read_file_at (root, "cgroup.controllers", &ctrls, NULL, 0, NULL) == 0
          && strstr (ctrls, "hugetlb"))
        {
          if ((ret = ward_cg_unified_enable (cg, "hugetlb")) < 0)
            return ward_error_set (err, -ret,
                                   "linux.resources.hugepageLimits: enable hugetlb in '%s'",
                                   WARD_CG_UNIFIED_HYBRID);
          fd = ward_cg_open_dir (cg->unified_dir);
          if (fd < 0)
            return ward_error_set (err, errno, "open '%s'", cg->unified_dir);
          unified = true;
        }
    }
  for (size_t i = 0; i < r->hugepage_limits_len; i++)
    {
      _cleanup_free_ char *file = NULL;
      const char *ps = r->hugepage_limits[i].page_size;
      unsigned long long lim = (unsigned long long) r->hugepage_limits[i].limit;
      if (ps == NULL || strchr (ps, '/') || strchr (ps, '.'))
        return ward_error_set (err, 0, "linux.resources.hugepageLimits: bad pageSize '%s'",
                               ps ? ps : "");
      file = xasprintf (unified ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", ps);
      if ((ret = ward_cg_write (fd, "linux.resources.hugepageLimits", file, err, "%llu", lim)) < 0)
        return ret;
      if (unified)
        {
          _cleanup_free_ char *rsvd = xasprintf ("hugetlb.%s.rsvd.max", ps);
          if ((ret = ward_cg_write_opt (fd, rsvd, "%llu", lim)) < 0)
            return ward_error_set (err, -ret, "linux.resources.hugepageLimits: write '%s'", rsvd);
        }
    }
  return 0;
}

int ward_cg_v1_apply (ward_cgroup_t *cg, const ward_resources_t *r, ward_error_t **err)
{
  int ret;

  if (r->memory && (ret = apply_memory (cg, r->memory, err)) < 0)
    return ret;
  if (r->cpu && (ret = apply_cpu (cg, r->cpu, err)) < 0)
    return ret;
  if (r->block_io && (ret = apply_blkio (cg, r->block_io, err)) < 0)
    return ret;
  if (r->has_pids_limit)
    {
      _cleanup_close_ int fd = ctl_fd (cg, "pids");
      if (r->pids_limit > 0)
        ret = ward_cg_write (fd, "linux.resources.pids.limit", "pids.max", err, "%lld",
                             (long long) r->pids_limit);
      else
        ret = ward_cg_write (fd, "linux.resources.pids.limit", "pids.max", err, "max");
      if (ret < 0)
        return ret;
    }
  if (r->hugepage_limits_len && (ret = apply_hugetlb (cg, r, err)) < 0)
    return ret;
  if (r->network)
    {
      if (r->network->has_class_id)
        {
          _cleanup_close_ int fd = ctl_fd (cg, "net_cls");
          if ((ret = ward_cg_write (fd, "linux.resources.network.classID", "net_cls.classid", err,
                                    "%u", r->network->class_id))
              < 0)
            return ret;
        }
      if (r->network->priorities_len)
        {
          _cleanup_close_ int fd = ctl_fd (cg, "net_prio");
          for (size_t i = 0; i < r->network->priorities_len; i++)
            if ((ret = ward_cg_write (fd, "linux.resources.network.priorities",
                                      "net_prio.ifpriomap", err, "%s %u",
                                      r->network->priorities[i].name,
                                      r->network->priorities[i].priority))
                < 0)
              return ret;
        }
    }
  if (r->rdma_len)
    {
      _cleanup_close_ int fd = ctl_fd (cg, "rdma");
      for (size_t i = 0; i < r->rdma_len; i++)
        {
          const ward_rdma_t *d = &r->rdma[i];
          char h[24] = "max", o[24] = "max";
          if (d->has_hca_handles)
            snprintf (h, sizeof h, "%u", d->hca_handles);
          if (d->has_hca_objects)
            snprintf (o, sizeof o, "%u", d->hca_objects);
          if ((ret = ward_cg_write (fd, "linux.resources.rdma", "rdma.max", err,
                                    "%s hca_handle=%s hca_object=%s", d->device, h, o))
              < 0)
            return ret;
        }
    }
  if (r->unified_len)
    return ward_error_set_ret (err, -ENOTSUP, 0,
                               "invalid configuration: linux.resources.unified: cannot use unified on cgroup v1 (this host is %s)",
                               cg->mode == WARD_CGROUP_MODE_HYBRID ? "hybrid" : "cgroup v1");
  if (r->devices_len && (ret = apply_devices (cg, r, err)) < 0)
    return ret;
  return 0;
}

/* ---- freezer ---------------------------------------------------------- */

static int read_state (int fd, char *buf, size_t n)
{
  _cleanup_free_ char *s = NULL;
  if (ward_read_file_at (fd, "freezer.state", &s, NULL, 4096, NULL) < 0)
    return -errno;
  s[strcspn (s, "\n")] = '\0';
  snprintf (buf, n, "%s", s);
  return 0;
}

int ward_cg_v1_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err)
{
  const char *dir = ward_cg_v1_dir (cg, "freezer");
  _cleanup_close_ int fd = dir ? ward_cg_open_dir (dir) : -1;
  const char *want = frozen ? "FROZEN" : "THAWED";
  char state[32];
  int ret;

  if (dir == NULL)
    return ward_cg_unsupported (err, "freeze", "freezer", "controller not available on this host");
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  /* A task in the middle of a syscall can keep the cgroup FREEZING; writing
   * FROZEN again retries, as runc does, for about 2 s. */
  for (int i = 0; i < 1000; i++)
    {
      if (i % 10 == 0
          && (ret = ward_cg_write (fd, "freeze", "freezer.state", err, "%s", want)) < 0)
        return ward_error_wrap (err, "%s", dir);
      if (read_state (fd, state, sizeof state) == 0 && strcmp (state, want) == 0)
        return 0;
      nanosleep (&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
    }
  if (frozen)
    ward_cg_write_opt (fd, "freezer.state", "THAWED");
  return ward_error_set_ret (err, -EBUSY, 0, "freeze '%s': state stuck at '%s'", dir, state);
}

int ward_cg_v1_is_frozen (ward_cgroup_t *cg, ward_error_t **err)
{
  const char *dir = ward_cg_v1_dir (cg, "freezer");
  _cleanup_close_ int fd = dir ? ward_cg_open_dir (dir) : -1;
  char state[32];
  int ret;

  if (dir == NULL)
    return 0;
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  if ((ret = read_state (fd, state, sizeof state)) < 0)
    return ward_error_set (err, -ret, "read '%s/freezer.state'", dir);
  return strcmp (state, "FROZEN") == 0;
}

/* ---- stats ------------------------------------------------------------- */

int ward_cg_v1_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err)
{
  _cleanup_close_ int acct = ctl_fd (cg, "cpuacct");
  _cleanup_close_ int cpu = ctl_fd (cg, "cpu");
  _cleanup_close_ int mem = ctl_fd (cg, "memory");
  _cleanup_close_ int pids = ctl_fd (cg, "pids");

  st->cpu_usage_total = ward_cg_read_u64 (acct, "cpuacct.usage");
  st->cpu_usage_user = ward_cg_read_u64 (acct, "cpuacct.usage_user");
  st->cpu_usage_kernel = ward_cg_read_u64 (acct, "cpuacct.usage_sys");
  st->cpu_periods = ward_cg_read_key (cpu, "cpu.stat", "nr_periods");
  st->cpu_throttled_periods = ward_cg_read_key (cpu, "cpu.stat", "nr_throttled");
  st->cpu_throttled_time = ward_cg_read_key (cpu, "cpu.stat", "throttled_time");
  st->memory_usage = ward_cg_read_u64 (mem, "memory.usage_in_bytes");
  st->memory_max_usage = ward_cg_read_u64 (mem, "memory.max_usage_in_bytes");
  st->memory_limit = ward_cg_read_u64 (mem, "memory.limit_in_bytes");
  st->memory_cache = ward_cg_read_key (mem, "memory.stat", "cache");
  /* v1 memsw counts memory + swap, as runc reports it. */
  st->swap_usage = ward_cg_read_u64 (mem, "memory.memsw.usage_in_bytes");
  st->swap_limit = ward_cg_read_u64 (mem, "memory.memsw.limit_in_bytes");
  st->oom_events = ward_cg_read_key (mem, "memory.oom_control", "oom_kill");
  st->pids_current = ward_cg_read_u64 (pids, "pids.current");
  st->pids_limit = ward_cg_read_u64 (pids, "pids.max");
  if (st->pids_limit == UINT64_MAX)
    st->pids_limit = 0;
  return 0;
}
