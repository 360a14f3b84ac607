/* events: runc's types.Event JSON for a container's cgroup statistics, once
 * (--stats) or every interval, plus "oom" events, until it stops. */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"

static void json_str (ward_strbuf_t *b, const char *s)
{
  char esc[1024];
  ward_json_escape (esc, sizeof esc, s);
  ward_strbuf_printf (b, "\"%s\"", esc);
}

/* Go's omitempty: a zero number is left out. */
static void opt_u64 (ward_strbuf_t *b, bool *first, const char *key, uint64_t v)
{
  if (v == 0)
    return;
  ward_strbuf_printf (b, "%s\"%s\":%" PRIu64, *first ? "" : ",", key, v);
  *first = false;
}

static void mem_entry (ward_strbuf_t *b, const char *key, uint64_t limit, uint64_t usage,
                       uint64_t max, uint64_t failcnt)
{
  ward_strbuf_printf (b, "\"%s\":{\"limit\":%" PRIu64, key, limit);
  if (usage)
    ward_strbuf_printf (b, ",\"usage\":%" PRIu64, usage);
  if (max)
    ward_strbuf_printf (b, ",\"max\":%" PRIu64, max);
  ward_strbuf_printf (b, ",\"failcnt\":%" PRIu64 "}", failcnt);
}

/* A Go slice with omitempty: left out when empty. */
static void opt_u64_list (ward_strbuf_t *b, bool *first, const char *key, const uint64_t *a,
                          size_t n)
{
  if (n == 0)
    return;
  ward_strbuf_printf (b, "%s\"%s\":[", *first ? "" : ",", key);
  for (size_t i = 0; i < n; i++)
    ward_strbuf_printf (b, "%s%" PRIu64, i ? "," : "", a[i]);
  ward_strbuf_puts (b, "]");
  *first = false;
}

static void opt_u16_list (ward_strbuf_t *b, const char *key, const uint16_t *a, size_t n)
{
  if (n == 0)
    return;
  ward_strbuf_printf (b, "\"%s\":[", key);
  for (size_t i = 0; i < n; i++)
    ward_strbuf_printf (b, "%s%u", i ? "," : "", (unsigned) a[i]);
  ward_strbuf_puts (b, "],");
}

static void blkio_list (ward_strbuf_t *b, bool *first, const char *key,
                        const ward_cgroup_blkio_entry_t *e, size_t n)
{
  if (n == 0)
    return;
  ward_strbuf_printf (b, "%s\"%s\":[", *first ? "" : ",", key);
  for (size_t i = 0; i < n; i++)
    {
      bool f = true;
      ward_strbuf_puts (b, i ? ",{" : "{");
      opt_u64 (b, &f, "major", e[i].major);
      opt_u64 (b, &f, "minor", e[i].minor);
      if (e[i].op[0])
        {
          ward_strbuf_printf (b, "%s\"op\":", f ? "" : ",");
          json_str (b, e[i].op);
          f = false;
        }
      opt_u64 (b, &f, "value", e[i].value);
      ward_strbuf_puts (b, "}");
    }
  ward_strbuf_puts (b, "]");
  *first = false;
}

/* runc 1.1's types.Stats, key for key, with Go's omitempty rules. */
char *ward_stats_event_json (const char *id, const ward_stats_view_t *v)
{
  static const ward_cgroup_stats_more_t none;
  const ward_cgroup_stats_more_t *m = v->more ? v->more : &none;
  ward_strbuf_t b = { 0 };
  bool first = true;

  ward_strbuf_puts (&b, "{\"type\":\"stats\",\"id\":");
  json_str (&b, id);
  ward_strbuf_puts (&b, ",\"data\":{\"cpu\":{\"usage\":{");
  opt_u64 (&b, &first, "total", v->cpu_total);
  if (v->percpu_len)
    opt_u64_list (&b, &first, "percpu", v->percpu, v->percpu_len);
  else
    opt_u64_list (&b, &first, "percpu", m->percpu, m->percpu_len);
  opt_u64_list (&b, &first, "percpu_kernel", m->percpu_kernel, m->percpu_kernel_len);
  opt_u64_list (&b, &first, "percpu_user", m->percpu_user, m->percpu_user_len);
  ward_strbuf_printf (&b, "%s\"kernel\":%" PRIu64 ",\"user\":%" PRIu64 "},\"throttling\":{",
                      first ? "" : ",", v->cpu_kernel, v->cpu_user);
  first = true;
  opt_u64 (&b, &first, "periods", v->throttling_periods);
  opt_u64 (&b, &first, "throttledPeriods", v->throttled_periods);
  opt_u64 (&b, &first, "throttledTime", v->throttled_time);
  ward_strbuf_puts (&b, "}},\"cpuset\":{");
  opt_u16_list (&b, "cpus", m->cpus, m->cpus_len);
  ward_strbuf_printf (&b, "\"cpu_exclusive\":%" PRIu64 ",", m->cpu_exclusive);
  opt_u16_list (&b, "mems", m->mems, m->mems_len);
  ward_strbuf_printf (&b,
                      "\"mem_hardwall\":%" PRIu64 ",\"mem_exclusive\":%" PRIu64
                      ",\"memory_migrate\":%" PRIu64 ",\"memory_spread_page\":%" PRIu64
                      ",\"memory_spread_slab\":%" PRIu64 ",\"memory_pressure\":%" PRIu64
                      ",\"sched_load_balance\":%" PRIu64 ",\"sched_relax_domain_level\":%" PRId64
                      "},\"memory\":{",
                      m->mem_hardwall, m->mem_exclusive, m->memory_migrate,
                      m->memory_spread_page, m->memory_spread_slab, m->memory_pressure,
                      m->sched_load_balance, m->sched_relax_domain_level);
  if (v->mem_cache)
    ward_strbuf_printf (&b, "\"cache\":%" PRIu64 ",", v->mem_cache);
  mem_entry (&b, "usage", v->mem_limit, v->mem_usage, v->mem_max,
             v->mem_failcnt ? v->mem_failcnt : m->mem_failcnt);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "swap", v->swap_limit, v->swap_usage, m->swap_max, m->swap_failcnt);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "kernel", m->kernel_limit, m->kernel_usage, m->kernel_max, m->kernel_failcnt);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "kernelTCP", m->tcp_limit, m->tcp_usage, m->tcp_max, m->tcp_failcnt);
  if (m->raw_len)
    {
      ward_strbuf_puts (&b, ",\"raw\":{");
      for (size_t i = 0; i < m->raw_len; i++)
        {
          ward_strbuf_puts (&b, i ? "," : "");
          json_str (&b, m->raw[i].key);
          ward_strbuf_printf (&b, ":%" PRIu64, m->raw[i].value);
        }
      ward_strbuf_puts (&b, "}");
    }
  ward_strbuf_puts (&b, "},\"pids\":{");
  first = true;
  opt_u64 (&b, &first, "current", v->pids_current);
  opt_u64 (&b, &first, "limit", v->pids_limit);
  ward_strbuf_puts (&b, "},\"blkio\":{");
  first = true;
  blkio_list (&b, &first, "ioServiceBytesRecursive", m->io_bytes, m->io_bytes_len);
  blkio_list (&b, &first, "ioServicedRecursive", m->io_ops, m->io_ops_len);
  ward_strbuf_puts (&b, "},\"hugetlb\":{");
  for (size_t i = 0; i < m->hugetlb_len; i++)
    {
      bool f = true;
      ward_strbuf_puts (&b, i ? "," : "");
      json_str (&b, m->hugetlb[i].size);
      ward_strbuf_puts (&b, ":{");
      opt_u64 (&b, &f, "usage", m->hugetlb[i].usage);
      opt_u64 (&b, &f, "max", m->hugetlb[i].max);
      ward_strbuf_printf (&b, "%s\"failcnt\":%" PRIu64 "}", f ? "" : ",", m->hugetlb[i].failcnt);
    }
  ward_strbuf_puts (&b, "},\"intel_rdt\":{},\"network_interfaces\":null}}");
  return ward_strbuf_take (&b);
}

static char *oom_event_json (const char *id)
{
  ward_strbuf_t b = { 0 };
  ward_strbuf_puts (&b, "{\"type\":\"oom\",\"id\":");
  json_str (&b, id);
  ward_strbuf_puts (&b, "}");
  return ward_strbuf_take (&b);
}

/* One sample: the view points into s (release with ward_cgroup_stats_clear). */
static int sample (ward_cgroup_t *cg, ward_cgroup_stats_t *s, ward_stats_view_t *v, uint64_t *oom,
                   ward_error_t **err)
{
  int ret = ward_cgroup_stats (cg, s, err);
  if (ret < 0)
    return ret;
  memset (v, 0, sizeof *v);
  v->cpu_total = s->cpu_usage_total;
  v->cpu_user = s->cpu_usage_user;
  v->cpu_kernel = s->cpu_usage_kernel;
  v->throttling_periods = s->cpu_periods;
  v->throttled_periods = s->cpu_throttled_periods;
  v->throttled_time = s->cpu_throttled_time;
  v->mem_usage = s->memory_usage;
  v->mem_max = s->memory_max_usage;
  v->mem_limit = s->memory_limit;
  v->mem_cache = s->memory_cache;
  v->swap_usage = s->swap_usage;
  v->swap_limit = s->swap_limit;
  v->pids_current = s->pids_current;
  v->pids_limit = s->pids_limit;
  v->more = &s->more;
  if (oom)
    *oom = s->oom_events;
  return 0;
}

static int emit (int fd, char *line, ward_error_t **err)
{
  _cleanup_free_ char *l = line;
  size_t n = strlen (l);
  l[n] = '\0';
  if (ward_write_all (fd, l, n) < 0 || ward_write_all (fd, "\n", 1) < 0)
    return ward_error_set (err, errno, "write event");
  return 0;
}

int ward_container_stats_json (const char *root, const char *id, char **out, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  ward_cgroup_stats_t s;
  ward_stats_view_t v;
  int ret;

  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, NULL, &st, err);
  if (ret < 0)
    return ret;
  if (strcmp (ward_runtime_state_status (dirfd, st, false), "stopped") == 0)
    return ward_error_set_ret (err, -ESRCH, 0, "container with id %s is not running", id);
  ret = ward_runtime_restore_cgroup (st, &cg, err);
  if (ret < 0)
    return ret;
  ret = sample (cg, &s, &v, NULL, err);
  if (ret < 0)
    return ret;
  *out = ward_stats_event_json (id, &v);
  ward_cgroup_stats_clear (&s);
  return 0;
}

static long now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ward_container_events (const char *root, const char *id, bool stats_once, long interval_ms,
                           int fd, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int pidfd = -1;
  _cleanup_close_ int oomfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  ward_cgroup_stats_t s;
  ward_stats_view_t v;
  uint64_t oom_seen = 0, oom;
  ward_error_t *oerr = NULL;
  long next;
  int ret;

  if (stats_once)
    {
      char *line = NULL;
      ret = ward_container_stats_json (root, id, &line, err);
      if (ret < 0)
        return ret;
      return emit (fd, line, err);
    }
  if (interval_ms <= 0)
    return ward_error_set_ret (err, -EINVAL, 0, "duration interval must be greater than 0");
  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, NULL, &st, err);
  if (ret < 0)
    return ret;
  if (strcmp (ward_runtime_state_status (dirfd, st, false), "stopped") == 0)
    return ward_error_set_ret (err, -ESRCH, 0, "container with id %s is not running", id);
  ret = ward_runtime_restore_cgroup (st, &cg, err);
  if (ret < 0)
    return ret;
  pidfd = ward_runtime_pidfd (st, err);
  if (pidfd < 0)
    return pidfd;
  /* Registered before the first sample, so an OOM in between is not lost. */
  oomfd = ward_cgroup_oom_fd (cg, &oerr);
  if (oomfd < 0)
    {
      ward_debug ("events: no OOM notification (%s): polling every 100 ms", oerr->msg);
      ward_error_free (&oerr);
    }
  if (sample (cg, &s, &v, &oom_seen, err) < 0)
    return -ESRCH;
  ward_cgroup_stats_clear (&s);
  next = now_ms () + interval_ms;
  for (;;)
    {
      struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { oomfd, POLLIN, 0 } };
      ward_error_t *serr = NULL;
      long wait = next - now_ms ();
      bool due;
      int r;

      if (wait < 0)
        wait = 0;
      /* Without a notification fd, the oom counter is polled. */
      if (oomfd < 0 && wait > 100)
        wait = 100;
      r = poll (p, oomfd >= 0 ? 2 : 1, (int) wait);
      if (r < 0 && errno != EINTR)
        return ward_error_set (err, errno, "poll");
      if (r > 0 && (p[1].revents & POLLIN))
        ward_cgroup_oom_drain (oomfd);
      due = now_ms () >= next;
      if (!due && oomfd >= 0 && !(r > 0 && (p[1].revents & POLLIN)) && !(r > 0 && p[0].revents))
        continue;
      ret = 0;
      if (sample (cg, &s, &v, &oom, &serr) < 0)
        ward_log_error ("%s", serr->msg);
      else
        {
          if (oom > oom_seen)
            {
              oom_seen = oom;
              ret = emit (fd, oom_event_json (id), err);
            }
          if (ret == 0 && due)
            {
              next += interval_ms;
              if (next < now_ms ())
                next = now_ms () + interval_ms;
              ret = emit (fd, ward_stats_event_json (id, &v), err);
            }
          ward_cgroup_stats_clear (&s);
        }
      ward_error_free (&serr);
      if (ret < 0)
        return ret;
      /* The container is gone: runc's events ends quietly. */
      if (r > 0 && (p[0].revents & POLLIN))
        return 0;
    }
}
