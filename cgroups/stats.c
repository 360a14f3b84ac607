/* The part of `events --stats` beyond the basic counters: cpuset, per-cpu
 * kernel/user time, memory raw/kernel/swap details, blkio and hugetlb, read
 * from v1 files or mapped from the v2 ones the way runc maps them; and the
 * OOM notification fd that `events` sleeps on. */
#include "cgroups/cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"

static char *read_at (int dirfd, const char *file)
{
  char *buf = NULL;
  if (dirfd < 0 || ward_read_file_at (dirfd, file, &buf, NULL, 0, NULL) < 0)
    return NULL;
  return buf;
}

static void push_u64 (uint64_t **a, size_t *n, uint64_t v)
{
  *a = xrealloc (*a, (*n + 1) * sizeof **a);
  (*a)[(*n)++] = v;
}

/* Whitespace-separated numbers (cpuacct.usage_percpu). */
static void read_u64_list (int dirfd, const char *file, uint64_t **a, size_t *n)
{
  _cleanup_free_ char *buf = read_at (dirfd, file);
  for (char *s = buf, *end; s; s = end)
    {
      unsigned long long v = strtoull (s, &end, 10);
      if (end == s)
        break;
      push_u64 (a, n, v);
    }
}

int ward_cgroup_parse_cpulist (const char *s, uint16_t **out, size_t *n)
{
  _cleanup_free_ uint16_t *a = NULL;
  size_t len = 0;

  *out = NULL;
  *n = 0;
  while (*s && *s != '\n')
    {
      char *end;
      unsigned long lo = strtoul (s, &end, 10), hi;
      if (end == s || lo > UINT16_MAX)
        return -EINVAL;
      hi = lo;
      s = end;
      if (*s == '-')
        {
          hi = strtoul (s + 1, &end, 10);
          if (end == s + 1 || hi < lo || hi > UINT16_MAX || hi - lo > 65536)
            return -EINVAL;
          s = end;
        }
      for (unsigned long i = lo; i <= hi; i++)
        {
          a = xrealloc (a, (len + 1) * sizeof *a);
          a[len++] = (uint16_t) i;
        }
      if (*s == ',')
        s++;
      else if (*s && *s != '\n')
        return -EINVAL;
    }
  *out = TAKE_PTR (a);
  *n = len;
  return 0;
}

static void read_cpulist (int dirfd, const char *file, uint16_t **out, size_t *n)
{
  _cleanup_free_ char *buf = read_at (dirfd, file);
  if (buf == NULL || ward_cgroup_parse_cpulist (buf, out, n) < 0)
    {
      *out = NULL;
      *n = 0;
    }
}

static int kv_cmp (const void *a, const void *b)
{
  return strcmp (((const ward_cgroup_stat_kv_t *) a)->key, ((const ward_cgroup_stat_kv_t *) b)->key);
}

/* memory.stat as runc's "raw" map (Go sorts map keys when encoding). */
static void read_raw (int dirfd, ward_cgroup_stats_more_t *m)
{
  _cleanup_free_ char *buf = read_at (dirfd, "memory.stat");
  for (char *s = NULL, *l = buf ? strtok_r (buf, "\n", &s) : NULL; l; l = strtok_r (NULL, "\n", &s))
    {
      char *sp = strchr (l, ' '), *end;
      unsigned long long v;
      if (sp == NULL)
        continue;
      v = strtoull (sp + 1, &end, 10);
      if (end == sp + 1)
        continue;
      m->raw = xrealloc (m->raw, (m->raw_len + 1) * sizeof *m->raw);
      m->raw[m->raw_len].key = xstrndup (l, (size_t) (sp - l));
      m->raw[m->raw_len++].value = v;
    }
  if (m->raw_len)
    qsort (m->raw, m->raw_len, sizeof *m->raw, kv_cmp);
}

static void push_io (ward_cgroup_blkio_entry_t **a, size_t *n, uint64_t major, uint64_t minor,
                     const char *op, uint64_t value)
{
  *a = xrealloc (*a, (*n + 1) * sizeof **a);
  (*a)[*n] = (ward_cgroup_blkio_entry_t){ .major = major, .minor = minor, .value = value };
  snprintf ((*a)[*n].op, sizeof (*a)[*n].op, "%s", op);
  (*n)++;
}

/* v1 blkio files: "MAJ:MIN Op value" lines; the closing "Total N" line
 * has no device and is skipped, as runc does. */
static void read_blkio_v1 (int dirfd, const char *file, ward_cgroup_blkio_entry_t **a, size_t *n)
{
  _cleanup_free_ char *buf = read_at (dirfd, file);
  for (char *s = NULL, *l = buf ? strtok_r (buf, "\n", &s) : NULL; l; l = strtok_r (NULL, "\n", &s))
    {
      unsigned long long maj, min, v;
      char op[16];
      if (sscanf (l, "%llu:%llu %15s %llu", &maj, &min, op, &v) == 4)
        push_io (a, n, maj, min, op, v);
    }
}

/* runc tries the CFQ files, then BFQ, then the throttle ones, and takes
 * the first set whose io_serviced_recursive lists a device. */
static void blkio_v1 (int dirfd, ward_cgroup_stats_more_t *m)
{
  static const char *const prefixes[] = { "blkio.", "blkio.bfq.", "blkio.throttle." };
  for (size_t i = 0; i < ARRAY_SIZE (prefixes) && dirfd >= 0; i++)
    {
      _cleanup_free_ char *ops = xasprintf ("%sio_serviced_recursive", prefixes[i]);
      _cleanup_free_ char *bytes = xasprintf ("%sio_service_bytes_recursive", prefixes[i]);
      read_blkio_v1 (dirfd, ops, &m->io_ops, &m->io_ops_len);
      if (m->io_ops_len == 0)
        continue;
      read_blkio_v1 (dirfd, bytes, &m->io_bytes, &m->io_bytes_len);
      return;
    }
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." mapped to the
 * v1 tables with ops Read and Write, as runc's fs2 does. */
static void blkio_v2 (int dirfd, ward_cgroup_stats_more_t *m)
{
  _cleanup_free_ char *buf = read_at (dirfd, "io.stat");
  for (char *s = NULL, *l = buf ? strtok_r (buf, "\n", &s) : NULL; l; l = strtok_r (NULL, "\n", &s))
    {
      unsigned long long maj, min;
      int off = 0;
      if (sscanf (l, "%llu:%llu%n", &maj, &min, &off) != 2)
        continue;
      for (char *t = NULL, *f = strtok_r (l + off, " ", &t); f; f = strtok_r (NULL, " ", &t))
        {
          char *eq = strchr (f, '=');
          unsigned long long v;
          if (eq == NULL)
            continue;
          *eq = '\0';
          v = strtoull (eq + 1, NULL, 10);
          if (strcmp (f, "rbytes") == 0)
            push_io (&m->io_bytes, &m->io_bytes_len, maj, min, "Read", v);
          else if (strcmp (f, "wbytes") == 0)
            push_io (&m->io_bytes, &m->io_bytes_len, maj, min, "Write", v);
          else if (strcmp (f, "rios") == 0)
            push_io (&m->io_ops, &m->io_ops_len, maj, min, "Read", v);
          else if (strcmp (f, "wios") == 0)
            push_io (&m->io_ops, &m->io_ops_len, maj, min, "Write", v);
        }
    }
}

static int size_cmp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

const char *const *ward_cgroup_hugepage_sizes (void)
{
  static char names[8][16];
  static const char *list[9];
  static bool done;
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;
  size_t n = 0;

  if (done)
    return list;
  done = true;
  d = opendir ("/sys/kernel/mm/hugepages");
  while (d && (de = readdir (d)) && n < 8)
    {
      static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
      unsigned long long kb;
      size_t u = 0;
      char *end;
      if (strncmp (de->d_name, "hugepages-", 10) != 0)
        continue;
      kb = strtoull (de->d_name + 10, &end, 10);
      if (end == de->d_name + 10 || strcmp (end, "kB") != 0)
        continue;
      /* Docker's units.CustomSize("%g%s", size, 1024, B/KB/MB/...) as runc
       * names them: whole powers of 1024 on this hardware. */
      while (kb >= 1024 && kb % 1024 == 0 && u + 1 < ARRAY_SIZE (units))
        {
          kb /= 1024;
          u++;
        }
      snprintf (names[n], sizeof names[n], "%llu%s", kb, units[u]);
      list[n] = names[n];
      n++;
    }
  qsort (list, n, sizeof *list, size_cmp);
  list[n] = NULL;
  return list;
}

static void hugetlb_stats (int dirfd, bool v2, ward_cgroup_stats_more_t *m)
{
  const char *const *sizes = ward_cgroup_hugepage_sizes ();
  for (size_t i = 0; sizes[i] && dirfd >= 0; i++)
    {
      _cleanup_free_ char *usage = xasprintf ("hugetlb.%s.%s", sizes[i],
                                              v2 ? "current" : "usage_in_bytes");
      ward_cgroup_hugetlb_stat_t h = { 0 };
      if (!ward_cg_has_file (dirfd, usage))
        continue;
      snprintf (h.size, sizeof h.size, "%s", sizes[i]);
      h.usage = ward_cg_read_u64 (dirfd, usage);
      if (v2)
        {
          _cleanup_free_ char *ev = xasprintf ("hugetlb.%s.events", sizes[i]);
          h.failcnt = ward_cg_read_key (dirfd, ev, "max");
        }
      else
        {
          _cleanup_free_ char *max = xasprintf ("hugetlb.%s.max_usage_in_bytes", sizes[i]);
          _cleanup_free_ char *fc = xasprintf ("hugetlb.%s.failcnt", sizes[i]);
          h.max = ward_cg_read_u64 (dirfd, max);
          h.failcnt = ward_cg_read_u64 (dirfd, fc);
        }
      m->hugetlb = xrealloc (m->hugetlb, (m->hugetlb_len + 1) * sizeof *m->hugetlb);
      m->hugetlb[m->hugetlb_len++] = h;
    }
}

static int open_dir_or_neg (const char *dir)
{
  return dir ? ward_cg_open_dir (dir) : -1;
}

static void more_v1 (ward_cgroup_t *cg, ward_cgroup_stats_t *st)
{
  ward_cgroup_stats_more_t *m = &st->more;
  _cleanup_close_ int acct = open_dir_or_neg (ward_cg_v1_dir (cg, "cpuacct"));
  _cleanup_close_ int cpuset = open_dir_or_neg (ward_cg_v1_dir (cg, "cpuset"));
  _cleanup_close_ int mem = open_dir_or_neg (ward_cg_v1_dir (cg, "memory"));
  _cleanup_close_ int blkio = open_dir_or_neg (ward_cg_v1_dir (cg, "blkio"));
  _cleanup_close_ int huge = open_dir_or_neg (ward_cg_v1_dir (cg, "hugetlb"));
  _cleanup_free_ char *all = read_at (acct, "cpuacct.usage_all");

  read_u64_list (acct, "cpuacct.usage_percpu", &m->percpu, &m->percpu_len);
  /* "cpu user system" then one line per cpu */
  for (char *s = NULL, *l = all ? strtok_r (all, "\n", &s) : NULL; l; l = strtok_r (NULL, "\n", &s))
    {
      unsigned long long c, u, k;
      if (sscanf (l, "%llu %llu %llu", &c, &u, &k) != 3)
        continue;
      push_u64 (&m->percpu_user, &m->percpu_user_len, u);
      push_u64 (&m->percpu_kernel, &m->percpu_kernel_len, k);
    }

  if (cpuset >= 0)
    {
      _cleanup_free_ char *lvl = read_at (cpuset, "cpuset.sched_relax_domain_level");
      read_cpulist (cpuset, "cpuset.cpus", &m->cpus, &m->cpus_len);
      read_cpulist (cpuset, "cpuset.mems", &m->mems, &m->mems_len);
      m->cpu_exclusive = ward_cg_read_u64 (cpuset, "cpuset.cpu_exclusive");
      m->mem_hardwall = ward_cg_read_u64 (cpuset, "cpuset.mem_hardwall");
      m->mem_exclusive = ward_cg_read_u64 (cpuset, "cpuset.mem_exclusive");
      m->memory_migrate = ward_cg_read_u64 (cpuset, "cpuset.memory_migrate");
      m->memory_spread_page = ward_cg_read_u64 (cpuset, "cpuset.memory_spread_page");
      m->memory_spread_slab = ward_cg_read_u64 (cpuset, "cpuset.memory_spread_slab");
      m->memory_pressure = ward_cg_read_u64 (cpuset, "cpuset.memory_pressure");
      m->sched_load_balance = ward_cg_read_u64 (cpuset, "cpuset.sched_load_balance");
      m->sched_relax_domain_level = lvl ? strtoll (lvl, NULL, 10) : 0;
    }

  if (mem >= 0)
    {
      m->mem_failcnt = ward_cg_read_u64 (mem, "memory.failcnt");
      m->swap_max = ward_cg_read_u64 (mem, "memory.memsw.max_usage_in_bytes");
      m->swap_failcnt = ward_cg_read_u64 (mem, "memory.memsw.failcnt");
      m->kernel_limit = ward_cg_read_u64 (mem, "memory.kmem.limit_in_bytes");
      m->kernel_usage = ward_cg_read_u64 (mem, "memory.kmem.usage_in_bytes");
      m->kernel_max = ward_cg_read_u64 (mem, "memory.kmem.max_usage_in_bytes");
      m->kernel_failcnt = ward_cg_read_u64 (mem, "memory.kmem.failcnt");
      m->tcp_limit = ward_cg_read_u64 (mem, "memory.kmem.tcp.limit_in_bytes");
      m->tcp_usage = ward_cg_read_u64 (mem, "memory.kmem.tcp.usage_in_bytes");
      m->tcp_max = ward_cg_read_u64 (mem, "memory.kmem.tcp.max_usage_in_bytes");
      m->tcp_failcnt = ward_cg_read_u64 (mem, "memory.kmem.tcp.failcnt");
      read_raw (mem, m);
    }
  blkio_v1 (blkio, m);
  hugetlb_stats (huge, false, m);
  /* Hybrid hosts may offer hugetlb only in the unified tree (this one does). */
  if (m->hugetlb_len == 0 && cg->unified_dir)
    {
      _cleanup_close_ int u = ward_cg_open_dir (cg->unified_dir);
      hugetlb_stats (u, true, m);
    }
}

static void more_v2 (ward_cgroup_t *cg, ward_cgroup_stats_t *st)
{
  ward_cgroup_stats_more_t *m = &st->more;
  _cleanup_close_ int fd = open_dir_or_neg (cg->unified_dir);

  if (fd < 0)
    return;
  read_cpulist (fd, "cpuset.cpus.effective", &m->cpus, &m->cpus_len);
  read_cpulist (fd, "cpuset.mems.effective", &m->mems, &m->mems_len);
  if (ward_cg_has_file (fd, "memory.current"))
    {
      m->mem_failcnt = ward_cg_read_key (fd, "memory.events", "max");
      read_raw (fd, m);
      /* v1 reports swap as memory+swap (memsw); runc adds memory to the v2
       * numbers so that both read the same. */
      st->swap_usage += st->memory_usage;
      if (st->swap_limit != UINT64_MAX && st->memory_limit != UINT64_MAX)
        st->swap_limit += st->memory_limit;
      else
        st->swap_limit = UINT64_MAX;
    }
  blkio_v2 (fd, m);
  hugetlb_stats (fd, true, m);
}

void ward_cg_stats_more (ward_cgroup_t *cg, ward_cgroup_stats_t *st)
{
  if (cg->mode == WARD_CGROUP_MODE_V2)
    more_v2 (cg, st);
  else
    more_v1 (cg, st);
}

void ward_cgroup_stats_clear (ward_cgroup_stats_t *st)
{
  ward_cgroup_stats_more_t *m = &st->more;
  for (size_t i = 0; i < m->raw_len; i++)
    free (m->raw[i].key);
  free (m->raw);
  free (m->percpu);
  free (m->percpu_kernel);
  free (m->percpu_user);
  free (m->cpus);
  free (m->mems);
  free (m->io_bytes);
  free (m->io_ops);
  free (m->hugetlb);
  memset (m, 0, sizeof *m);
}

/* ---- OOM notification --------------------------------------------------- */

int ward_cgroup_oom_fd (ward_cgroup_t *cg, ward_error_t **err)
{
  if (cg->mode == WARD_CGROUP_MODE_V2)
    {
      _cleanup_close_ int ifd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
      _cleanup_free_ char *path = NULL;
      if (ifd < 0)
        return ward_error_set (err, errno, "inotify_init1");
      if (cg->unified_dir == NULL)
        return ward_error_set (err, ENOENT, "cgroup: no unified directory");
      path = xasprintf ("%s/memory.events", cg->unified_dir);
      /* the kernel signals changes of memory.events as IN_MODIFY */
      if (inotify_add_watch (ifd, path, IN_MODIFY) < 0)
        return ward_error_set (err, errno, "inotify_add_watch '%s'", path);
      return TAKE_FD (ifd);
    }
  {
    const char *dir = ward_cg_v1_dir (cg, "memory");
    _cleanup_close_ int dfd = -1, ctl = -1, oom = -1, efd = -1;
    char buf[64];

    if (dir == NULL)
      return ward_error_set (err, ENOENT, "cgroup: no memory hierarchy");
    dfd = ward_cg_open_dir (dir);
    if (dfd < 0)
      return ward_error_set (err, errno, "open '%s'", dir);
    oom = openat (dfd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
    if (oom < 0)
      return ward_error_set (err, errno, "open '%s/memory.oom_control'", dir);
    ctl = openat (dfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
    if (ctl < 0)
      return ward_error_set (err, errno, "open '%s/cgroup.event_control'", dir);
    efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
      return ward_error_set (err, errno, "eventfd");
    /* "<eventfd> <fd of memory.oom_control>": the kernel keeps its own
     * reference, so oom may be closed after registering. */
    snprintf (buf, sizeof buf, "%d %d", efd, oom);
    if (ward_write_all (ctl, buf, strlen (buf)) < 0)
      return ward_error_set (err, errno, "write '%s/cgroup.event_control'", dir);
    return TAKE_FD (efd);
  }
}

void ward_cgroup_oom_drain (int fd)
{
  char buf[4096];
  while (read (fd, buf, sizeof buf) > 0)
    ;
}
