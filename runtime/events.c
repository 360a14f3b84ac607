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

char *ward_stats_event_json (const char *id, const ward_stats_view_t *v)
{
  ward_strbuf_t b = { 0 };
  bool first = true;

  ward_strbuf_puts (&b, "{\"type\":\"stats\",\"id\":");
  json_str (&b, id);
  ward_strbuf_puts (&b, ",\"data\":{\"cpu\":{\"usage\":{");
  opt_u64 (&b, &first, "total", v->cpu_total);
  if (v->percpu_len)
    {
      ward_strbuf_printf (&b, "%s\"percpu\":[", first ? "" : ",");
      for (size_t i = 0; i < v->percpu_len; i++)
        ward_strbuf_printf (&b, "%s%" PRIu64, i ? "," : "", v->percpu[i]);
      ward_strbuf_puts (&b, "]");
      first = false;
    }
  ward_strbuf_printf (&b, "%s\"kernel\":%" PRIu64 ",\"user\":%" PRIu64 "},\"throttling\":{",
                      first ? "" : ",", v->cpu_kernel, v->cpu_user);
  first = true;
  opt_u64 (&b, &first, "periods", v->throttling_periods);
  opt_u64 (&b, &first, "throttledPeriods", v->throttled_periods);
  opt_u64 (&b, &first, "throttledTime", v->throttled_time);
  ward_strbuf_puts (&b, "}},\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,"
                        "\"mem_exclusive\":0,\"memory_migrate\":0,\"memory_spread_page\":0,"
                        "\"memory_spread_slab\":0,\"memory_pressure\":0,"
                        "\"sched_load_balance\":0,\"sched_relax_domain_level\":0},\"memory\":{");
  if (v->mem_cache)
    ward_strbuf_printf (&b, "\"cache\":%" PRIu64 ",", v->mem_cache);
  mem_entry (&b, "usage", v->mem_limit, v->mem_usage, v->mem_max, v->mem_failcnt);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "swap", v->swap_limit, v->swap_usage, 0, 0);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "kernel", 0, 0, 0, 0);
  ward_strbuf_puts (&b, ",");
  mem_entry (&b, "kernelTCP", 0, 0, 0, 0);
  ward_strbuf_puts (&b, "},\"pids\":{");
  first = true;
  opt_u64 (&b, &first, "current", v->pids_current);
  opt_u64 (&b, &first, "limit", v->pids_limit);
  ward_strbuf_puts (&b, "},\"blkio\":{},\"hugetlb\":{},\"intel_rdt\":{},"
                        "\"network_interfaces\":null}}");
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

/* The directory of a v1 controller, from the manager's saved text
 * ("v1 <controllers> <dir>" lines); NULL when absent. */
static char *v1_dir (const char *saved, const char *ctl)
{
  size_t n = strlen (ctl);
  for (const char *l = saved; l && *l;)
    {
      const char *e = strchrnul (l, '\n');
      if (strncmp (l, "v1 ", 3) == 0 && strncmp (l + 3, ctl, n) == 0 && l[3 + n] == ' ')
        return xstrndup (l + 4 + n, (size_t) (e - (l + 4 + n)));
      l = *e ? e + 1 : NULL;
    }
  return NULL;
}

/* What ward_cgroup_stats does not give: cpuacct.usage_percpu and
 * memory.failcnt of the v1 hierarchies. */
static void v1_extras (const char *saved, ward_stats_view_t *v)
{
  _cleanup_free_ char *acct = saved ? v1_dir (saved, "cpuacct") : NULL;
  _cleanup_free_ char *mem = saved ? v1_dir (saved, "memory") : NULL;
  _cleanup_free_ char *data = NULL;
  _cleanup_free_ char *data2 = NULL;
  _cleanup_close_ int afd = acct ? open (acct, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  _cleanup_close_ int mfd = mem ? open (mem, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;

  if (afd >= 0 && ward_read_file_at (afd, "cpuacct.usage_percpu", &data, NULL, 0, NULL) == 0)
    for (char *s = data, *end;; s = end)
      {
        unsigned long long x = strtoull (s, &end, 10);
        if (end == s)
          break;
        v->percpu = xrealloc (v->percpu, (v->percpu_len + 1) * sizeof (uint64_t));
        v->percpu[v->percpu_len++] = x;
      }
  if (mfd >= 0 && ward_read_file_at (mfd, "memory.failcnt", &data2, NULL, 0, NULL) == 0)
    v->mem_failcnt = strtoull (data2, NULL, 10);
}

static int sample (ward_cgroup_t *cg, const char *saved, ward_stats_view_t *v, uint64_t *oom,
                   ward_error_t **err)
{
  ward_cgroup_stats_t s;
  int ret = ward_cgroup_stats (cg, &s, err);
  if (ret < 0)
    return ret;
  memset (v, 0, sizeof *v);
  v->cpu_total = s.cpu_usage_total;
  v->cpu_user = s.cpu_usage_user;
  v->cpu_kernel = s.cpu_usage_kernel;
  v->throttling_periods = s.cpu_periods;
  v->throttled_periods = s.cpu_throttled_periods;
  v->throttled_time = s.cpu_throttled_time;
  v->mem_usage = s.memory_usage;
  v->mem_max = s.memory_max_usage;
  v->mem_limit = s.memory_limit;
  v->mem_cache = s.memory_cache;
  v->swap_usage = s.swap_usage;
  v->swap_limit = s.swap_limit;
  v->pids_current = s.pids_current;
  v->pids_limit = s.pids_limit;
  if (oom)
    *oom = s.oom_events;
  v1_extras (saved, v);
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
  ret = sample (cg, st->cgroup, &v, NULL, err);
  if (ret < 0)
    return ret;
  *out = ward_stats_event_json (id, &v);
  free (v.percpu);
  return 0;
}

int ward_container_events (const char *root, const char *id, bool stats_once, long interval_ms,
                           int fd, ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int pidfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  ward_stats_view_t v;
  uint64_t oom_seen = 0, oom;
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
  if (sample (cg, st->cgroup, &v, &oom_seen, err) < 0)
    return -ESRCH;
  free (v.percpu);
  /* The oom counter is polled every 100 ms (a v1 eventfd would need the
   * memory controller's path); stats lines follow the interval. */
  for (long elapsed = 0;;)
    {
      struct pollfd p = { pidfd, POLLIN, 0 };
      ward_error_t *serr = NULL;
      int r = poll (&p, 1, 100);

      if (r < 0 && errno != EINTR)
        return ward_error_set (err, errno, "poll");
      elapsed += 100;
      ret = 0;
      memset (&v, 0, sizeof v);
      if (sample (cg, st->cgroup, &v, &oom, &serr) < 0)
        ward_log_error ("%s", serr->msg);
      else
        {
          if (oom > oom_seen)
            {
              oom_seen = oom;
              ret = emit (fd, oom_event_json (id), err);
            }
          if (ret == 0 && elapsed >= interval_ms)
            {
              elapsed = 0;
              ret = emit (fd, ward_stats_event_json (id, &v), err);
            }
        }
      free (v.percpu);
      ward_error_free (&serr);
      if (ret < 0)
        return ret;
      /* The container is gone: runc's events ends quietly. */
      if (r > 0 && (p.revents & POLLIN))
        return 0;
    }
}
