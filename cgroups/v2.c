/* cgroup v2 (unified) back end: resources, freeze, stats. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

static int open_unified (const ward_cgroup_t *cg, ward_error_t **err)
{
  int fd;
  if (cg->unified_dir == NULL)
    return ward_error_set_ret (err, -ENOENT, 0, "cgroup: no cgroup v2 directory");
  fd = ward_cg_open_dir (cg->unified_dir);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", cg->unified_dir);
  return fd;
}

static void fmt_max (char *buf, size_t n, int64_t v)
{
  if (v < 0)
    snprintf (buf, n, "max");
  else
    snprintf (buf, n, "%lld", (long long) v);
}

/* runc's conversion of the v1 memory+swap value to v2 swap-only. */
static int swap_v2 (const ward_memory_t *m, int64_t *out, ward_error_t **err)
{
  int64_t mem = m->has_limit ? m->limit : 0, sw = m->has_swap ? m->swap : 0;
  if (mem == -1 && sw == 0)
    return *out = -1, 1;
  if (sw == -1)
    return *out = -1, 1;
  if (sw == 0)
    return 0;
  if (mem == 0 || mem == -1)
    return ward_error_set (err, 0, "linux.resources.memory.swap: cannot set a swap limit without "
                                   "a memory limit");
  if (sw < mem)
    return ward_error_set (err, 0, "linux.resources.memory.swap: memory+swap limit %lld is lower "
                                   "than the memory limit %lld",
                           (long long) sw, (long long) mem);
  *out = sw - mem;
  return 1;
}

static int apply_memory (int fd, const ward_memory_t *m, ward_error_t **err)
{
  int64_t sw = 0;
  char buf[32];
  int ret, has_sw;

  if ((ret = ward_cg_check_usage (fd, "memory.current", m, err)) < 0)
    return ret;
  if ((has_sw = swap_v2 (m, &sw, err)) < 0)
    return has_sw;
  if (m->has_limit && m->limit != 0)
    {
      fmt_max (buf, sizeof buf, m->limit);
      /* Lower swap first when it is shrinking is not needed: the two are
       * independent on v2. */
      if ((ret = ward_cg_write (fd, "linux.resources.memory.limit", "memory.max", err, "%s", buf))
          < 0)
        return ret;
    }
  if (has_sw)
    {
      fmt_max (buf, sizeof buf, sw);
      if (!ward_cg_has_file (fd, "memory.swap.max"))
        {
          if (sw != -1)
            return ward_cg_unsupported (err, "linux.resources.memory.swap", "memory.swap.max",
                                        "not supported by this kernel (swap accounting off)");
        }
      else if ((ret = ward_cg_write (fd, "linux.resources.memory.swap", "memory.swap.max", err,
                                     "%s", buf))
               < 0)
        return ret;
    }
  if (m->has_reservation && m->reservation != 0)
    {
      fmt_max (buf, sizeof buf, m->reservation);
      if ((ret = ward_cg_write (fd, "linux.resources.memory.reservation", "memory.low", err, "%s",
                                buf))
          < 0)
        return ret;
    }
  if ((m->has_kernel && m->kernel != 0) || (m->has_kernel_tcp && m->kernel_tcp != 0))
    ward_debug ("cgroup: memory.kernel/kernelTCP have no cgroup v2 equivalent, ignored");
  if (m->has_swappiness && m->swappiness != UINT64_MAX)
    return ward_cg_unsupported (err, "linux.resources.memory.swappiness", "memory.swappiness",
                                "not supported on cgroup v2");
  if (m->has_disable_oom_killer && m->disable_oom_killer)
    return ward_cg_unsupported (err, "linux.resources.memory.disableOOMKiller",
                                "memory.oom_control", "not supported on cgroup v2");
  if (m->has_use_hierarchy && !m->use_hierarchy)
    return ward_cg_unsupported (err, "linux.resources.memory.useHierarchy", "memory.use_hierarchy",
                                "cgroup v2 is always hierarchical");
  return 0;
}

static int apply_cpu (int fd, const ward_cpu_t *c, ward_error_t **err)
{
  int ret;

  if (c->has_shares && c->shares != 0)
    {
      uint64_t s = c->shares < 2 ? 2 : c->shares > 262144 ? 262144 : c->shares;
      /* Maps v1 shares [2, 262144] linearly onto v2 weight [1, 10000]. */
      uint64_t w = 1 + ((s - 2) * 9999) / 262142;
      if ((ret = ward_cg_write (fd, "linux.resources.cpu.shares", "cpu.weight", err, "%llu",
                                (unsigned long long) w))
          < 0)
        return ret;
    }
  if (c->has_quota || (c->has_period && c->period != 0))
    {
      char q[32] = "max";
      uint64_t period = c->has_period && c->period ? c->period : 0;
      if (period == 0)
        {
          /* Keep the current period when only the quota changes. */
          _cleanup_free_ char *cur = NULL;
          if (ward_read_file_at (fd, "cpu.max", &cur, NULL, 4096, NULL) == 0)
            {
              char *sp = strchr (cur, ' ');
              period = sp ? strtoull (sp + 1, NULL, 10) : 0;
            }
          if (period == 0)
            period = 100000;
        }
      if (c->has_quota && c->quota > 0)
        snprintf (q, sizeof q, "%lld", (long long) c->quota);
      else if (!c->has_quota)
        {
          _cleanup_free_ char *cur = NULL;
          if (ward_read_file_at (fd, "cpu.max", &cur, NULL, 4096, NULL) == 0)
            snprintf (q, sizeof q, "%.*s", (int) strcspn (cur, " \n"), cur);
        }
      if ((ret = ward_cg_write (fd, c->has_quota ? "linux.resources.cpu.quota"
                                                 : "linux.resources.cpu.period",
                                "cpu.max", err, "%s %llu", q, (unsigned long long) period))
          < 0)
        return ret;
    }
  if (c->has_burst && (c->burst != 0 || ward_cg_has_file (fd, "cpu.max.burst"))
      && (ret = ward_cg_write (fd, "linux.resources.cpu.burst", "cpu.max.burst", err, "%llu",
                               (unsigned long long) c->burst))
             < 0)
    return ret;
  if ((c->has_realtime_period && c->realtime_period != 0)
      || (c->has_realtime_runtime && c->realtime_runtime != 0))
    return ward_cg_unsupported (err, "linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us",
                                "not supported on cgroup v2");
  if (c->has_idle && (c->idle != 0 || ward_cg_has_file (fd, "cpu.idle"))
      && (ret = ward_cg_write (fd, "linux.resources.cpu.idle", "cpu.idle", err, "%lld",
                               (long long) c->idle))
             < 0)
    return ret;
  if (c->cpus && *c->cpus
      && (ret = ward_cg_write (fd, "linux.resources.cpu.cpus", "cpuset.cpus", err, "%s", c->cpus))
             < 0)
    return ret;
  if (c->mems && *c->mems
      && (ret = ward_cg_write (fd, "linux.resources.cpu.mems", "cpuset.mems", err, "%s", c->mems))
             < 0)
    return ret;
  return 0;
}

static int write_iomax (int fd, const char *res, const char *key,
                        const ward_throttle_device_t *t, size_t n, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    {
      char v[32] = "max";
      int ret;
      if (t[i].rate)
        snprintf (v, sizeof v, "%llu", (unsigned long long) t[i].rate);
      ret = ward_cg_write (fd, res, "io.max", err, "%lld:%lld %s=%s", (long long) t[i].major,
                           (long long) t[i].minor, key, v);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int apply_io (int fd, const ward_blkio_t *b, ward_error_t **err)
{
  bool bfq = ward_cg_has_file (fd, "io.bfq.weight");
  int ret;

  if (b->has_weight && b->weight != 0)
    {
      if (bfq)
        ret = ward_cg_write (fd, "linux.resources.blockIO.weight", "io.bfq.weight", err, "%u",
                             (unsigned) b->weight);
      else
        /* blkio weight [10, 1000] -> io.weight [1, 10000], as runc does. */
        ret = ward_cg_write (fd, "linux.resources.blockIO.weight", "io.weight", err, "%u",
                             1 + ((unsigned) (b->weight < 10 ? 10 : b->weight) - 10) * 9999 / 990);
      if (ret < 0)
        return ret;
    }
  if (b->has_leaf_weight && b->leaf_weight != 0)
    return ward_cg_unsupported (err, "linux.resources.blockIO.leafWeight", "blkio.leaf_weight",
                                "not supported on cgroup v2");
  for (size_t i = 0; i < b->weight_device_len; i++)
    {
      const ward_weight_device_t *w = &b->weight_device[i];
      if (w->has_leaf_weight && w->leaf_weight != 0)
        return ward_cg_unsupported (err, "linux.resources.blockIO.weightDevice.leafWeight",
                                    "blkio.leaf_weight_device", "not supported on cgroup v2");
      if (!w->has_weight)
        continue;
      if (!bfq)
        return ward_cg_unsupported (err, "linux.resources.blockIO.weightDevice", "io.bfq.weight",
                                    "per-device weights need the BFQ scheduler");
      if ((ret = ward_cg_write (fd, "linux.resources.blockIO.weightDevice", "io.bfq.weight", err,
                                "%lld:%lld %u", (long long) w->major, (long long) w->minor,
                                (unsigned) w->weight))
          < 0)
        return ret;
    }
  if ((ret = write_iomax (fd, "linux.resources.blockIO.throttleReadBpsDevice", "rbps",
                          b->throttle_read_bps, b->throttle_read_bps_len, err))
          < 0
      || (ret = write_iomax (fd, "linux.resources.blockIO.throttleWriteBpsDevice", "wbps",
                             b->throttle_write_bps, b->throttle_write_bps_len, err))
             < 0
      || (ret = write_iomax (fd, "linux.resources.blockIO.throttleReadIOPSDevice", "riops",
                             b->throttle_read_iops, b->throttle_read_iops_len, err))
             < 0
      || (ret = write_iomax (fd, "linux.resources.blockIO.throttleWriteIOPSDevice", "wiops",
                             b->throttle_write_iops, b->throttle_write_iops_len, err))
             < 0)
    return ret;
  return 0;
}

static int apply_unified (int fd, const ward_kv_t *kv, size_t n, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    {
      const char *k = kv[i].key;
      struct stat stbuf;
      int ret;
      /* A key is a file name in this cgroup, never a path out of it. */
      if (k == NULL || *k == '\0' || strchr (k, '/') || strcmp (k, ".") == 0
          || strcmp (k, "..") == 0)
        return ward_error_set (err, 0, "linux.resources.unified: invalid key '%s'", k ? k : "");
      if (fstatat (fd, k, &stbuf, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            return ward_cg_unsupported (err, "linux.resources.unified", k,
                                        "no such file in the cgroup (controller not enabled?)");
          return ward_error_set (err, errno, "linux.resources.unified: stat '%s'", k);
        }
      if (!S_ISREG (stbuf.st_mode))
        return ward_error_set (err, 0, "linux.resources.unified: '%s' is not a regular file", k);
      if ((ret = ward_cg_write (fd, "linux.resources.unified", k, err, "%s",
                                kv[i].value ? kv[i].value : ""))
          < 0)
        return ret;
    }
  return 0;
}

int ward_cg_v2_apply (ward_cgroup_t *cg, const ward_resources_t *r, ward_error_t **err)
{
  _cleanup_close_ int fd = open_unified (cg, err);
  int ret;

  if (fd < 0)
    return fd;
  if (r->memory && (ret = apply_memory (fd, r->memory, err)) < 0)
    return ret;
  if (r->cpu && (ret = apply_cpu (fd, r->cpu, err)) < 0)
    return ret;
  if (r->block_io && (ret = apply_io (fd, r->block_io, err)) < 0)
    return ret;
  if (r->has_pids_limit)
    {
      if (r->pids_limit > 0)
        ret = ward_cg_write (fd, "linux.resources.pids.limit", "pids.max", err, "%lld",
                             (long long) r->pids_limit);
      else
        ret = ward_cg_write (fd, "linux.resources.pids.limit", "pids.max", err, "max");
      if (ret < 0)
        return ret;
    }
  for (size_t i = 0; i < r->hugepage_limits_len; i++)
    {
      _cleanup_free_ char *file = NULL, *rsvd = NULL;
      const char *ps = r->hugepage_limits[i].page_size;
      if (ps == NULL || strchr (ps, '/') || strchr (ps, '.'))
        return ward_error_set (err, 0, "linux.resources.hugepageLimits: bad pageSize '%s'",
                               ps ? ps : "");
      file = xasprintf ("hugetlb.%s.max", ps);
      rsvd = xasprintf ("hugetlb.%s.rsvd.max", ps);
      if ((ret = ward_cg_write (fd, "linux.resources.hugepageLimits", file, err, "%llu",
                                (unsigned long long) r->hugepage_limits[i].limit))
          < 0)
        return ret;
      /* Reservations are charged separately since Linux 5.7. */
      if ((ret = ward_cg_write_opt (fd, rsvd, "%llu",
                                    (unsigned long long) r->hugepage_limits[i].limit))
          < 0)
        return ward_error_set (err, -ret, "linux.resources.hugepageLimits: write '%s'", rsvd);
    }
  if (r->network && (r->network->has_class_id || r->network->priorities_len))
    return ward_cg_unsupported (err, "linux.resources.network", "net_cls/net_prio",
                                "not supported on cgroup v2");
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
  if (r->unified_len && (ret = apply_unified (fd, r->unified, r->unified_len, err)) < 0)
    return ret;
  if (r->devices_len && (ret = ward_cg_devices_ebpf_apply (fd, r->devices, r->devices_len, err)) < 0)
    return ward_error_wrap (err, "linux.resources.devices");
  return 0;
}

/* ---- freeze ------------------------------------------------------------ */

static int read_frozen (int fd)
{
  return (int) ward_cg_read_key (fd, "cgroup.events", "frozen");
}

int ward_cg_v2_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err)
{
  _cleanup_close_ int fd = open_unified (cg, err);
  _cleanup_close_ int ev = -1;
  struct timespec start, now;
  int ret;

  if (fd < 0)
    return fd;
  if ((ret = ward_cg_write (fd, "freeze", "cgroup.freeze", err, "%d", frozen ? 1 : 0)) < 0)
    return ward_error_wrap (err, "%s", cg->unified_dir);
  ev = openat (fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (ev < 0)
    return ward_error_set (err, errno, "open '%s/cgroup.events'", cg->unified_dir);
  /* cgroup.events signals POLLPRI on change; reading it through the same
   * fd re-arms the notification.  A busy task can take a while to reach
   * the freezer under emulation, so wait up to 10 s. */
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      struct pollfd p = { .fd = ev, .events = POLLPRI };
      char buf[512];
      ssize_t r = pread (ev, buf, sizeof buf - 1, 0);
      const char *f;
      if (r > 0)
        {
          buf[r] = '\0';
          f = strstr (buf, "frozen ");
          if (f && (f[7] == '1') == frozen)
            return 0;
        }
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec >= 10)
        break;
      poll (&p, 1, 100);
    }
  if (frozen)
    ward_cg_write_opt (fd, "cgroup.freeze", "0");
  return ward_error_set_ret (err, -EBUSY, 0, "freeze '%s': timed out waiting for 'frozen %d'",
                             cg->unified_dir, frozen ? 1 : 0);
}

int ward_cg_v2_is_frozen (ward_cgroup_t *cg, ward_error_t **err)
{
  _cleanup_close_ int fd = open_unified (cg, err);
  if (fd < 0)
    return fd;
  if (ward_cg_read_u64 (fd, "cgroup.freeze") == 1)
    return 1;
  return read_frozen (fd) == 1;
}

/* ---- stats ------------------------------------------------------------- */

int ward_cg_v2_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err)
{
  _cleanup_close_ int fd = open_unified (cg, err);
  if (fd < 0)
    return fd;
  st->cpu_usage_total = ward_cg_read_key (fd, "cpu.stat", "usage_usec") * 1000;
  st->cpu_usage_user = ward_cg_read_key (fd, "cpu.stat", "user_usec") * 1000;
  st->cpu_usage_kernel = ward_cg_read_key (fd, "cpu.stat", "system_usec") * 1000;
  st->cpu_periods = ward_cg_read_key (fd, "cpu.stat", "nr_periods");
  st->cpu_throttled_periods = ward_cg_read_key (fd, "cpu.stat", "nr_throttled");
  st->cpu_throttled_time = ward_cg_read_key (fd, "cpu.stat", "throttled_usec") * 1000;
  st->memory_usage = ward_cg_read_u64 (fd, "memory.current");
  st->memory_max_usage = ward_cg_read_u64 (fd, "memory.peak");
  st->memory_limit = ward_cg_read_u64 (fd, "memory.max");
  st->memory_cache = ward_cg_read_key (fd, "memory.stat", "file");
  st->swap_usage = ward_cg_read_u64 (fd, "memory.swap.current");
  st->swap_limit = ward_cg_read_u64 (fd, "memory.swap.max");
  st->oom_events = ward_cg_read_key (fd, "memory.events", "oom_kill");
  st->pids_current = ward_cg_read_u64 (fd, "pids.current");
  st->pids_limit = ward_cg_read_u64 (fd, "pids.max");
  if (st->pids_limit == UINT64_MAX)
    st->pids_limit = 0;
  return 0;
}
