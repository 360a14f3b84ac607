/* Unit tests for cgroups/: runs as root on the hybrid host and, via the
 * test-bed, on pure cgroup v2.  Every cgroup lives under /ward-test-<pid>
 * and is removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "tests/unit/tap.h"

static int mode;
static char base[64];
static int rc; /* set apart from tap_ok: argument evaluation order is unspecified */

static void msleep (int ms)
{
  nanosleep (&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

/* Directory of the cgroup for a controller ("" = the v2/unified dir). */
static const char *dir_of (ward_cgroup_t *cg, const char *ctl)
{
  if (mode == WARD_CGROUP_MODE_V2 || *ctl == '\0')
    return cg->unified_dir;
  return ward_cg_v1_dir (cg, ctl);
}

/* Reads ctl's file, trimmed of the trailing newline; NULL when absent. */
static char *readf (ward_cgroup_t *cg, const char *ctl, const char *file)
{
  const char *d = dir_of (cg, ctl);
  _cleanup_close_ int fd = d ? open (d, O_DIRECTORY | O_RDONLY) : -1;
  char *s = NULL;
  size_t len;

  if (fd < 0 || ward_read_file_at (fd, file, &s, &len, 0, NULL) < 0)
    return NULL;
  while (len && s[len - 1] == '\n')
    s[--len] = '\0';
  return s;
}

static bool has_file (ward_cgroup_t *cg, const char *ctl, const char *file)
{
  _cleanup_free_ char *s = readf (cg, ctl, file);
  return s != NULL;
}

static void check_file (ward_cgroup_t *cg, const char *ctl, const char *file, const char *want)
{
  _cleanup_free_ char *s = readf (cg, ctl, file);
  tap_is_str (s, want, file);
}

static int apply (ward_cgroup_t *cg, ward_resources_t *r, char **msg)
{
  ward_error_t *err = NULL;
  int ret = ward_cgroup_apply (cg, r, &err);
  if (msg)
    *msg = err ? xstrdup (err->msg) : NULL;
  else if (ret < 0)
    tap_diag ("apply: %s", err ? err->msg : "?");
  ward_error_free (&err);
  return ret;
}

static ward_cgroup_t *make (const char *path, const char *id, const ward_resources_t *res)
{
  ward_cgroup_config_t cfg = { .id = id, .cgroups_path = path, .resources = res };
  ward_cgroup_t *cg = NULL;
  ward_error_t *err = NULL;
  if (ward_cgroup_create (&cfg, &cg, &err) < 0)
    {
      tap_diag ("create '%s': %s", path ? path : "(default)", err->msg);
      ward_error_free (&err);
      return NULL;
    }
  return cg;
}

static bool destroy (ward_cgroup_t *cg)
{
  ward_error_t *err = NULL;
  int ret = ward_cgroup_destroy (cg, &err);
  if (ret < 0)
    tap_diag ("destroy: %s", err->msg);
  ward_error_free (&err);
  return ret == 0;
}

static bool exists (const char *d)
{
  struct stat st;
  return d && stat (d, &st) == 0;
}

/* ---- pure checks ------------------------------------------------------- */

static void test_ebpf_build (void)
{
  ward_device_cgroup_t rules[] = {
    { .allow = false, .access = (char *) "rwm" },
    { .allow = true, .type = (char *) "c", .has_major = true, .major = 1, .has_minor = true,
      .minor = 3, .access = (char *) "rw" },
    { .allow = true, .type = (char *) "a", .access = (char *) "rwm" },
  };
  void *p = NULL;
  size_t n = ward_cg_devices_ebpf_build (rules, 2, &p);
  /* prologue 6 + rule2 (type, 3 access, major, minor, mov, exit = 8) +
   * rule1 (deny all: mov, exit) and nothing after it */
  tap_ok (n == 6 + 8 + 2, "eBPF program length %zu for deny-all + allow c 1:3 rw", n);
  free (p);
  n = ward_cg_devices_ebpf_build (rules, 3, &p);
  tap_ok (n == 6 + 2, "rules before an allow-all are dropped (%zu insns)", n);
  free (p);
  n = ward_cg_devices_ebpf_build (NULL, 0, &p);
  tap_ok (n == 6 + 2, "no rules: default deny (%zu insns)", n);
  free (p);
}

static void test_save_restore (ward_cgroup_t *cg)
{
  _cleanup_free_ char *s1 = ward_cgroup_save (cg), *s2 = NULL;
  ward_cgroup_t *r = NULL;
  ward_error_t *err = NULL;

  tap_ok (ward_cgroup_restore (s1, &r, &err) == 0, "restore saved state");
  if (r == NULL)
    {
      ward_error_free (&err);
      return;
    }
  s2 = ward_cgroup_save (r);
  tap_ok (s2 && strcmp (s1, s2) == 0, "save(restore(save)) round-trips");
  tap_is_str (ward_cgroup_path (r), ward_cgroup_path (cg), "restored path");
  ward_cgroup_free (r);
  r = NULL;
  tap_ok (ward_cgroup_restore ("mode 9\n", &r, &err) < 0 && err, "bad mode refused");
  ward_error_free (&err);
  tap_ok (ward_cgroup_restore ("garbage", &r, &err) < 0 && err, "garbage refused");
  ward_error_free (&err);
}

/* ---- paths ------------------------------------------------------------- */

/* Our own cgroup as /proc/self/cgroup lists it for that controller ("" =
 * the 0:: line). */
static char *own_cgroup (const char *ctl)
{
  _cleanup_free_ char *buf = NULL;
  if (ward_read_file_at (AT_FDCWD, "/proc/self/cgroup", &buf, NULL, 0, NULL) < 0)
    return NULL;
  for (char *s = NULL, *l = strtok_r (buf, "\n", &s); l; l = strtok_r (NULL, "\n", &s))
    {
      char *c1 = strchr (l, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (!c2)
        continue;
      *c2 = '\0';
      if (strcmp (c1 + 1, ctl) == 0)
        return xstrdup (c2 + 1);
    }
  return NULL;
}

static void test_paths (void)
{
  _cleanup_free_ char *id = xasprintf ("ward-test-rel-%d", (int) getpid ());
  _cleanup_free_ char *abs = xasprintf ("%s/../%s/./x//y", base, base + 1);
  _cleanup_free_ char *want_abs = xasprintf ("%s/x/y", base);
  _cleanup_free_ char *own = own_cgroup (mode == WARD_CGROUP_MODE_V2 ? "" : "memory");
  _cleanup_free_ char *want = NULL;
  ward_cgroup_t *cg;
  ward_cgroup_config_t cfg = { .id = "x", .systemd = true };
  ward_error_t *err = NULL;

  if (ward_cgroup_systemd_available ())
    tap_skip ("systemd runs here: the not-running error is not reachable");
  else
    tap_ok (ward_cgroup_create (&cfg, &cg, &err) == -ENOTSUP && err
                && strcmp (err->msg, "systemd cgroup driver: systemd is not running "
                                     "(no /run/systemd/system)")
                       == 0,
            "systemd driver without systemd: runc-like clear error");
  ward_error_free (&err);

  cg = make (abs, "x", NULL);
  tap_ok (cg != NULL, "create with an absolute path containing .. and //");
  if (cg)
    {
      tap_is_str (ward_cgroup_path (cg), want_abs, "absolute path cleaned");
      tap_ok (exists (dir_of (cg, mode == WARD_CGROUP_MODE_V2 ? "" : "memory")),
              "directory exists");
      if (mode == WARD_CGROUP_MODE_HYBRID)
        {
          _cleanup_free_ char *u = xasprintf ("%s%s", WARD_CG_UNIFIED_HYBRID, want_abs);
          tap_is_str (cg->unified_dir, u, "hybrid: mirrored in the unified hierarchy");
          tap_ok (exists (u), "hybrid: unified directory exists");
        }
      tap_ok (destroy (cg), "destroy");
      tap_ok (!exists (dir_of (cg, mode == WARD_CGROUP_MODE_V2 ? "" : "memory")),
              "directory removed");
      ward_cgroup_free (cg);
    }

  /* No cgroupsPath: relative "<id>" below our own cgroup (v2: its parent). */
  if (own)
    {
      if (mode == WARD_CGROUP_MODE_V2)
        {
          char *slash = strrchr (own, '/');
          if (slash && slash != own)
            *slash = '\0';
          else if (slash)
            slash[1] = '\0';
        }
      want = xasprintf ("%s/%s", strcmp (own, "/") == 0 ? "" : own, id);
    }
  cg = make (NULL, id, NULL);
  tap_ok (cg != NULL, "create with the default path");
  if (cg)
    {
      tap_is_str (ward_cgroup_path (cg), want ? want : "?", "default path is relative");
      tap_ok (destroy (cg), "destroy default-path cgroup");
      ward_cgroup_free (cg);
    }
}

/* ---- resources --------------------------------------------------------- */

static void test_memory (ward_cgroup_t *cg)
{
  ward_memory_t m = { .has_limit = true, .limit = 64 << 20, .has_reservation = true,
                      .reservation = 32 << 20 };
  ward_resources_t r = { .memory = &m };
  bool v2 = mode == WARD_CGROUP_MODE_V2;
  _cleanup_free_ char *msg = NULL;

  if (!v2 && !ward_cg_v1_dir (cg, "memory"))
    {
      tap_skip ("memory controller not mounted");
      return;
    }
  tap_ok (apply (cg, &r, NULL) == 0, "apply memory limit + reservation");
  check_file (cg, "memory", v2 ? "memory.max" : "memory.limit_in_bytes", "67108864");
  check_file (cg, "memory", v2 ? "memory.low" : "memory.soft_limit_in_bytes", "33554432");

  m = (ward_memory_t){ .has_limit = true, .limit = 64 << 20, .has_swap = true, .swap = 128 << 20 };
  if (has_file (cg, "memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes"))
    {
      tap_ok (apply (cg, &r, NULL) == 0, "apply memory swap");
      check_file (cg, "memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                  v2 ? "67108864" : "134217728");
      m.limit = 32 << 20;
      m.swap = 48 << 20;
      tap_ok (apply (cg, &r, NULL) == 0, "shrink memory + swap");
      check_file (cg, "memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                  v2 ? "16777216" : "50331648");
      m.limit = 256 << 20;
      m.swap = 512 << 20;
      tap_ok (apply (cg, &r, NULL) == 0, "grow memory + swap (order swapped)");
      check_file (cg, "memory", v2 ? "memory.max" : "memory.limit_in_bytes", "268435456");
      m.limit = 64 << 20;
      m.swap = 32 << 20;
      rc = apply (cg, &r, &msg);
      tap_ok (rc < 0 && (v2 ? strstr (msg, "lower than") != NULL : true),
              "swap below limit refused: %s", msg ? msg : "");
      free (msg);
      msg = NULL;
      m.swap = -1;
      tap_ok (apply (cg, &r, NULL) == 0, "swap -1 = unlimited");
      if (v2)
        check_file (cg, "memory", "memory.swap.max", "max");
    }
  else
    tap_skip ("no swap accounting file");

  m = (ward_memory_t){ .has_limit = true, .limit = -1 };
  tap_ok (apply (cg, &r, NULL) == 0, "limit -1");
  if (v2)
    check_file (cg, "memory", "memory.max", "max");
  else
    check_file (cg, "memory", "memory.limit_in_bytes", "9223372036854771712");

  m = (ward_memory_t){ .has_swappiness = true, .swappiness = 10 };
  if (v2)
    {
      rc = apply (cg, &r, &msg);
      tap_ok (rc < 0 && strstr (msg, "linux.resources.memory.swappiness"),
              "v2: swappiness refused: %s", msg ? msg : "");
      free (msg);
      msg = NULL;
    }
  else
    {
      tap_ok (apply (cg, &r, NULL) == 0, "swappiness");
      check_file (cg, "memory", "memory.swappiness", "10");
      m = (ward_memory_t){ .has_disable_oom_killer = true, .disable_oom_killer = true };
      tap_ok (apply (cg, &r, NULL) == 0, "disableOOMKiller");
      {
        _cleanup_free_ char *s = readf (cg, "memory", "memory.oom_control");
        tap_ok (s && strstr (s, "oom_kill_disable 1"), "memory.oom_control oom_kill_disable 1");
      }
      m = (ward_memory_t){ .has_kernel = true, .kernel = 128 << 20, .has_kernel_tcp = true,
                           .kernel_tcp = 16 << 20 };
      if (has_file (cg, "memory", "memory.kmem.tcp.limit_in_bytes"))
        {
          tap_ok (apply (cg, &r, NULL) == 0, "kernel + kernelTCP");
          check_file (cg, "memory", "memory.kmem.tcp.limit_in_bytes", "16777216");
        }
      else
        tap_skip ("memory.kmem.* not provided by this kernel");
    }
}

static void test_cpu (ward_cgroup_t *cg)
{
  ward_cpu_t c = { .has_shares = true, .shares = 1024, .has_quota = true, .quota = 50000,
                   .has_period = true, .period = 100000 };
  ward_resources_t r = { .cpu = &c };
  bool v2 = mode == WARD_CGROUP_MODE_V2;

  if (!v2 && !ward_cg_v1_dir (cg, "cpu"))
    {
      tap_skip ("cpu controller not mounted");
      return;
    }
  tap_ok (apply (cg, &r, NULL) == 0, "apply cpu shares/quota/period");
  if (v2)
    {
      check_file (cg, "cpu", "cpu.weight", "39");
      check_file (cg, "cpu", "cpu.max", "50000 100000");
    }
  else
    {
      check_file (cg, "cpu", "cpu.shares", "1024");
      check_file (cg, "cpu", "cpu.cfs_quota_us", "50000");
      check_file (cg, "cpu", "cpu.cfs_period_us", "100000");
    }
  c = (ward_cpu_t){ .has_quota = true, .quota = -1 };
  tap_ok (apply (cg, &r, NULL) == 0, "quota -1");
  check_file (cg, "cpu", v2 ? "cpu.max" : "cpu.cfs_quota_us", v2 ? "max 100000" : "-1");
  c = (ward_cpu_t){ .has_quota = true, .quota = 20000, .has_burst = true, .burst = 1000 };
  if (has_file (cg, "cpu", v2 ? "cpu.max.burst" : "cpu.cfs_burst_us"))
    {
      tap_ok (apply (cg, &r, NULL) == 0, "burst");
      check_file (cg, "cpu", v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", "1000");
    }
  else
    tap_skip ("no cpu burst file");
  c = (ward_cpu_t){ .has_idle = true, .idle = 1 };
  if (has_file (cg, "cpu", "cpu.idle"))
    {
      tap_ok (apply (cg, &r, NULL) == 0, "idle");
      check_file (cg, "cpu", "cpu.idle", "1");
      c.idle = 0;
      apply (cg, &r, NULL);
    }
  else
    tap_skip ("no cpu.idle");
  c = (ward_cpu_t){ .cpus = (char *) "0", .mems = (char *) "0" };
  if (v2 || ward_cg_v1_dir (cg, "cpuset"))
    {
      tap_ok (apply (cg, &r, NULL) == 0, "cpuset cpus/mems");
      check_file (cg, "cpuset", "cpuset.cpus", "0");
      check_file (cg, "cpuset", "cpuset.mems", "0");
    }
  else
    tap_skip ("cpuset not mounted");
  if (v2)
    {
      _cleanup_free_ char *msg = NULL;
      c = (ward_cpu_t){ .has_realtime_runtime = true, .realtime_runtime = 1000 };
      rc = apply (cg, &r, &msg);
      tap_ok (rc < 0 && strstr (msg, "realtimeRuntime"),
              "v2: realtime refused: %s", msg ? msg : "");
    }
}

static void test_pids_blkio_misc (ward_cgroup_t *cg)
{
  ward_resources_t r = { .has_pids_limit = true, .pids_limit = 100 };
  bool v2 = mode == WARD_CGROUP_MODE_V2;
  _cleanup_free_ char *devnum = NULL;
  char *msg = NULL;

  if (v2 || ward_cg_v1_dir (cg, "pids"))
    {
      tap_ok (apply (cg, &r, NULL) == 0, "pids limit");
      check_file (cg, "pids", "pids.max", "100");
      r.pids_limit = -1;
      tap_ok (apply (cg, &r, NULL) == 0, "pids unlimited");
      check_file (cg, "pids", "pids.max", "max");
      r.pids_limit = 200;
      apply (cg, &r, NULL);
    }
  else
    tap_skip ("pids not mounted");

  /* blockIO weight: an error naming the resource when the host lacks it. */
  {
    ward_blkio_t b = { .has_weight = true, .weight = 500 };
    ward_resources_t rb = { .block_io = &b };
    const char *wf = v2 ? (has_file (cg, "", "io.bfq.weight") ? "io.bfq.weight" : "io.weight")
                        : (has_file (cg, "blkio", "blkio.weight") ? "blkio.weight"
                                                                  : "blkio.bfq.weight");
    if (has_file (cg, "blkio", wf))
      {
        tap_ok (apply (cg, &rb, NULL) == 0, "blockIO weight");
        {
          _cleanup_free_ char *s = readf (cg, "blkio", wf);
          tap_ok (s && strstr (s, strcmp (wf, "io.weight") == 0 ? "4950" : "500"), "%s = %s", wf,
                  s ? s : "(null)");
        }
      }
    else
      {
        int ret = apply (cg, &rb, &msg);
        tap_ok (ret == -ENOTSUP && msg && strstr (msg, "linux.resources.blockIO.weight: ")
                    && strstr (msg, "not supported by this kernel"),
                "blockIO weight unsupported: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
      }
    b = (ward_blkio_t){ .has_weight = true, .weight = 0 };
    tap_ok (apply (cg, &rb, NULL) == 0, "blockIO weight 0 (default) is not an error");
  }

  /* Throttling needs a real block device. */
  if (ward_read_file_at (AT_FDCWD, "/sys/block/vda/dev", &devnum, NULL, 0, NULL) == 0
      || ward_read_file_at (AT_FDCWD, "/sys/block/loop0/dev", &devnum, NULL, 0, NULL) == 0)
    {
      unsigned maj = 0, min = 0;
      ward_throttle_device_t t;
      ward_blkio_t b = { .throttle_read_bps = &t, .throttle_read_bps_len = 1 };
      ward_resources_t rb = { .block_io = &b };
      sscanf (devnum, "%u:%u", &maj, &min);
      t = (ward_throttle_device_t){ .major = maj, .minor = min, .rate = 1048576 };
      if (has_file (cg, "blkio", v2 ? "io.max" : "blkio.throttle.read_bps_device"))
        {
          _cleanup_free_ char *s = NULL, *want = NULL;
          int ret = apply (cg, &rb, &msg);
          tap_ok (ret == 0, "throttle read bps %u:%u: %s", maj, min, msg ? msg : "ok");
          s = readf (cg, "blkio", v2 ? "io.max" : "blkio.throttle.read_bps_device");
          want = xasprintf (v2 ? "%u:%u rbps=1048576" : "%u:%u 1048576", maj, min);
          tap_ok (s && strstr (s, want), "throttle reads back '%s' (got '%s')", want, s ? s : "");
          free (msg);
          msg = NULL;
        }
      else
        tap_skip ("no io.max / blkio throttle file");
    }
  else
    tap_skip ("no block device for throttling");

  /* hugetlb, network, unified: present or a clear error. */
  {
    ward_hugepage_limit_t h = { .page_size = (char *) "2MB", .limit = 4 << 21 };
    ward_resources_t rh = { .hugepage_limits = &h, .hugepage_limits_len = 1 };
    /* Hybrid hosts may have hugetlb in the unified tree only. */
    bool in_unified = !v2 && !ward_cg_v1_dir (cg, "hugetlb") && has_file (cg, "", "cgroup.controllers");
    const char *hctl = in_unified ? "" : "hugetlb";
    bool avail = v2 || ward_cg_v1_dir (cg, "hugetlb");
    if (in_unified)
      {
        _cleanup_free_ char *c = NULL;
        ward_read_file_at (AT_FDCWD, WARD_CG_UNIFIED_HYBRID "/cgroup.controllers", &c, NULL, 0, NULL);
        avail = c && strstr (c, "hugetlb");
      }
    if (avail && access ("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0)
      {
        bool v2names = v2 || in_unified;
        rc = apply (cg, &rh, &msg);
        tap_ok (rc == 0, "hugepage limit%s: %s", in_unified ? " (hybrid: unified tree)" : "",
                msg ? msg : "ok");
        free (msg);
        msg = NULL;
        check_file (cg, hctl, v2names ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes",
                    "8388608");
        if (v2names && has_file (cg, hctl, "hugetlb.2MB.rsvd.max"))
          check_file (cg, hctl, "hugetlb.2MB.rsvd.max", "8388608");
      }
    else
      {
        rc = apply (cg, &rh, &msg);
        tap_ok (rc < 0 && strstr (msg, "linux.resources.hugepageLimits"),
                "hugepage limit without hugetlb: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
      }
  }
  {
    ward_network_t n = { .has_class_id = true, .class_id = 0x100001 };
    ward_resources_t rn = { .network = &n };
    if (!v2 && ward_cg_v1_dir (cg, "net_cls"))
      {
        tap_ok (apply (cg, &rn, NULL) == 0, "net_cls classid");
        check_file (cg, "net_cls", "net_cls.classid", "1048577");
      }
    else
      {
        rc = apply (cg, &rn, &msg);
      tap_ok (rc < 0 && strstr (msg, "linux.resources.network"),
                "network classID unavailable: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
      }
  }
  {
    ward_kv_t kv[] = { { (char *) "pids.max", (char *) "42" } };
    ward_kv_t bad[] = { { (char *) "../cgroup.procs", (char *) "1" } };
    ward_resources_t ru = { .unified = kv, .unified_len = 1 };
    if (v2)
      {
        tap_ok (apply (cg, &ru, NULL) == 0, "unified pids.max");
        check_file (cg, "", "pids.max", "42");
        ru.unified = bad;
        rc = apply (cg, &ru, &msg);
      tap_ok (rc < 0 && strstr (msg, "invalid key"),
                "unified path key refused: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
        kv[0].key = (char *) "nonexistent.file";
        ru.unified = kv;
        rc = apply (cg, &ru, &msg);
      tap_ok (rc < 0 && strstr (msg, "nonexistent.file"),
                "unified missing file refused: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
      }
    else
      {
        rc = apply (cg, &ru, &msg);
      tap_ok (rc == -ENOTSUP && strstr (msg, "linux.resources.unified"),
                "unified refused on v1/hybrid: %s", msg ? msg : "");
        free (msg);
        msg = NULL;
      }
  }
}

/* ---- processes --------------------------------------------------------- */

/* A child that waits for a byte on the pipe, then runs `what`:
 * 'b' busy-loops incrementing *counter, 'd' tries /dev/null and /dev/zero. */
static pid_t spawn (int *wfd, char what, volatile uint64_t *counter)
{
  int p[2];
  pid_t pid;
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  pid = fork ();
  if (pid == 0)
    {
      char c;
      close (p[1]);
      if (read (p[0], &c, 1) != 1)
        _exit (100);
      if (what == 'b')
        {
          /* Charge some memory to the new cgroup first. */
          volatile char *mem = malloc (1 << 20);
          for (size_t i = 0; mem && i < (1 << 20); i += 4096)
            mem[i] = 1;
          *counter = 1;
          for (;;)
            (*counter)++;
        }
      if (what == 'd')
        {
          int a = open ("/dev/null", O_RDWR), z = open ("/dev/zero", O_RDONLY);
          _exit ((a >= 0 ? 0 : 1) | (z >= 0 ? 2 : 0));
        }
      pause ();
      _exit (0);
    }
  close (p[0]);
  *wfd = p[1];
  return pid;
}

static void test_processes (ward_cgroup_t *cg)
{
  volatile uint64_t *counter = mmap (NULL, 4096, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ward_error_t *err = NULL;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int wfd = -1, status = 0;
  pid_t pid = spawn (&wfd, 'b', counter);

  if (pid < 0 || counter == MAP_FAILED)
    {
      tap_ok (0, "fork");
      return;
    }
  tap_ok (ward_cgroup_enter (cg, pid, &err) == 0, "enter %d%s%s", (int) pid, err ? ": " : "",
          err ? err->msg : "");
  ward_error_free (&err);
  {
    _cleanup_free_ char *file = xasprintf ("/proc/%d/cgroup", (int) pid), *buf = NULL;
    _cleanup_free_ char *want = NULL, *want0 = NULL;
    ward_read_file_at (AT_FDCWD, file, &buf, NULL, 0, NULL);
    if (mode == WARD_CGROUP_MODE_V2)
      want = xasprintf ("0::%s\n", ward_cgroup_path (cg));
    else
      {
        want = xasprintf (":memory:%s\n", ward_cgroup_path (cg));
        if (mode == WARD_CGROUP_MODE_HYBRID)
          want0 = xasprintf ("0::%s\n", ward_cgroup_path (cg));
      }
    tap_ok (buf && strstr (buf, want), "/proc/pid/cgroup has '%.*s'", (int) strlen (want) - 1,
            want);
    if (want0)
      tap_ok (buf && strstr (buf, want0), "hybrid: 0:: line consistent");
  }
  rc = ward_cgroup_pids (cg, &pids, &n, &err);
  tap_ok (rc == 0 && n == 1 && pids[0] == pid,
          "pids lists the child (%zu)", n);
  ward_error_free (&err);

  /* checkBeforeUpdate: a limit below current usage is refused. */
  {
    ward_memory_t m = { .has_limit = true, .limit = 4096, .has_check_before_update = true,
                        .check_before_update = true };
    ward_resources_t r = { .memory = &m };
    _cleanup_free_ char *msg = NULL;
    if (write (wfd, "x", 1) != 1)
      tap_diag ("write to child failed");
    for (int i = 0; i < 200 && *counter == 0; i++)
      msleep (10);
    rc = apply (cg, &r, &msg);
      tap_ok (rc < 0 && msg && strstr (msg, "checkBeforeUpdate"),
            "checkBeforeUpdate refuses a limit below usage: %s", msg ? msg : "");
    if (rc == 0)
      {
        m = (ward_memory_t){ .has_limit = true, .limit = -1 };
        apply (cg, &r, NULL);
      }
  }

  /* freeze: the busy child stops making progress. */
  {
    uint64_t a, b;
    int ret = ward_cgroup_freeze (cg, true, &err);
    if (ret == -ENOTSUP)
      {
        tap_skip (err->msg);
        ward_error_free (&err);
      }
    else
      {
        tap_ok (ret == 0, "freeze%s%s", err ? ": " : "", err ? err->msg : "");
        ward_error_free (&err);
        tap_ok (ward_cgroup_is_frozen (cg, &err) == 1, "is_frozen = 1");
        ward_error_free (&err);
        a = *counter;
        msleep (100);
        b = *counter;
        tap_ok (a == b, "frozen child makes no progress (%llu -> %llu)", (unsigned long long) a,
                (unsigned long long) b);
        tap_ok (ward_cgroup_freeze (cg, false, &err) == 0, "thaw");
        ward_error_free (&err);
        tap_ok (ward_cgroup_is_frozen (cg, &err) == 0, "is_frozen = 0");
        ward_error_free (&err);
        msleep (100);
        tap_ok (*counter != b, "thawed child runs again");
      }
  }

  /* stats */
  {
    ward_cgroup_stats_t st;
    tap_ok (ward_cgroup_stats (cg, &st, &err) == 0, "stats");
    ward_error_free (&err);
    tap_ok (st.cpu_usage_total > 0, "stats: cpu usage %llu ns",
            (unsigned long long) st.cpu_usage_total);
    tap_ok (st.memory_usage > 0, "stats: memory usage %llu", (unsigned long long) st.memory_usage);
    tap_ok (st.pids_current == 1 || (mode != WARD_CGROUP_MODE_V2 && !ward_cg_v1_dir (cg, "pids")),
            "stats: pids.current %llu", (unsigned long long) st.pids_current);
    tap_ok (st.pids_limit == (mode == WARD_CGROUP_MODE_V2 ? 42 : 200) || (mode != WARD_CGROUP_MODE_V2 && !ward_cg_v1_dir (cg, "pids")),
            "stats: pids.max %llu", (unsigned long long) st.pids_limit);
    {
      bool has_stat = false;
      for (size_t i = 0; i < st.more.raw_len; i++)
        has_stat |= strcmp (st.more.raw[i].key, mode == WARD_CGROUP_MODE_V2 ? "file" : "cache") == 0;
      tap_ok (has_stat, "stats: memory.stat as raw (%zu keys)", st.more.raw_len);
      bool sorted = true;
      for (size_t i = 1; i < st.more.raw_len; i++)
        sorted &= strcmp (st.more.raw[i - 1].key, st.more.raw[i].key) < 0;
      tap_ok (sorted, "stats: raw keys sorted as Go encodes a map");
    }
    tap_ok (st.more.cpus_len >= 1 && st.more.mems_len >= 1, "stats: cpuset cpus (%zu) and mems (%zu)",
            st.more.cpus_len, st.more.mems_len);
    if (mode != WARD_CGROUP_MODE_V2)
      tap_ok (st.more.percpu_len >= 1, "stats: v1 percpu usage (%zu cpus)", st.more.percpu_len);
    ward_cgroup_stats_clear (&st);
    tap_ok (st.more.raw == NULL && st.more.raw_len == 0, "stats_clear empties");
  }

  /* the OOM notification fd can be made (v1 eventfd / v2 inotify) */
  {
    int ofd = ward_cgroup_oom_fd (cg, &err);
    tap_ok (ofd >= 0, "oom fd: %s", err ? err->msg : "ok");
    ward_error_free (&err);
    if (ofd >= 0)
      {
        struct pollfd p = { ofd, POLLIN, 0 };
        tap_ok (poll (&p, 1, 0) == 0, "oom fd: quiet without an OOM");
        close (ofd);
      }
  }

  /* kill: SIGTERM by signalling every pid, then a SIGKILL round. */
  tap_ok (ward_cgroup_kill (cg, SIGTERM, &err) == 0, "kill SIGTERM");
  ward_error_free (&err);
  waitpid (pid, &status, 0);
  tap_ok (WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM, "child died of SIGTERM");
  close (wfd);

  /* SIGKILL reaches a paused (frozen) container too. */
  pid = spawn (&wfd, 'p', counter);
  ward_cgroup_enter (cg, pid, NULL);
  if (ward_cgroup_freeze (cg, true, &err) < 0)
    tap_diag ("freeze before SIGKILL: %s", err->msg);
  ward_error_free (&err);
  rc = ward_cgroup_kill (cg, SIGKILL, &err);
  tap_ok (rc == 0, "kill SIGKILL on a frozen cgroup%s%s", err ? ": " : "", err ? err->msg : "");
  ward_error_free (&err);
  waitpid (pid, &status, 0);
  tap_ok (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "child died of SIGKILL");
  close (wfd);
  ward_cgroup_freeze (cg, false, NULL);
  munmap ((void *) counter, 4096);
}

/* Device rules: deny all, allow c 1:3 (null); /dev/zero (1:5) must fail. */
static void test_devices (ward_cgroup_t *parent)
{
  _cleanup_free_ char *path = xasprintf ("%s/dev", base);
  ward_device_cgroup_t rules[] = {
    { .allow = false, .access = (char *) "rwm" },
    { .allow = true, .type = (char *) "c", .has_major = true, .major = 1, .has_minor = true,
      .minor = 3, .access = (char *) "rwm" },
  };
  ward_resources_t r = { .devices = rules, .devices_len = 2 };
  ward_error_t *err = NULL;
  ward_cgroup_t *cg;
  int wfd = -1, status = 0;
  pid_t pid;
  _cleanup_free_ char *msg = NULL;

  (void) parent;
  if (mode != WARD_CGROUP_MODE_V2 && !ward_cg_v1_dir (parent, "devices"))
    {
      tap_skip ("devices controller not mounted");
      return;
    }
  cg = make (path, "dev", NULL);
  if (!tap_ok (cg != NULL, "create device test cgroup"))
    return;
  rc = apply (cg, &r, &msg);
      tap_ok (rc == 0, "apply device rules%s%s", msg ? ": " : "", msg ? msg : "");
  if (mode != WARD_CGROUP_MODE_V2)
    check_file (cg, "devices", "devices.list", "c 1:3 rwm");
  pid = spawn (&wfd, 'd', NULL);
  tap_ok (ward_cgroup_enter (cg, pid, &err) == 0, "enter device child");
  ward_error_free (&err);
  if (write (wfd, "x", 1) != 1)
    tap_diag ("write to child failed");
  waitpid (pid, &status, 0);
  tap_ok (WIFEXITED (status) && (WEXITSTATUS (status) & 1) == 0, "allowed /dev/null opens");
  tap_ok (WIFEXITED (status) && (WEXITSTATUS (status) & 2) == 0, "denied /dev/zero does not open");
  close (wfd);

  /* An update after the container made a sub-cgroup (v1 refuses "a"
   * writes then) still works. */
  {
    _cleanup_free_ char *sub = xasprintf ("%s/inner", dir_of (cg, mode == WARD_CGROUP_MODE_V2 ? "" : "devices"));
    tap_ok (mkdir (sub, 0755) == 0, "device cgroup gets a sub-cgroup");
    rc = apply (cg, &r, &msg);
    tap_ok (rc == 0, "re-apply device rules with a sub-cgroup present%s%s", msg ? ": " : "",
            msg ? msg : "");
    free (msg);
    msg = NULL;
    if (mode != WARD_CGROUP_MODE_V2)
      check_file (cg, "devices", "devices.list", "c 1:3 rwm");
    rmdir (sub);
  }

  /* deny-all followed by runc's default list: /dev/zero is allowed again. */
  {
    size_t nd = 0;
    const ward_device_cgroup_t *defs = ward_cgroup_default_devices (&nd);
    ward_device_cgroup_t *all = calloc (nd + 1, sizeof *all);
    all[0] = rules[0];
    memcpy (all + 1, defs, nd * sizeof *defs);
    r.devices = all;
    r.devices_len = nd + 1;
    rc = apply (cg, &r, NULL);
    tap_ok (rc == 0, "apply deny-all + %zu default rules", nd);
    pid = spawn (&wfd, 'd', NULL);
    ward_cgroup_enter (cg, pid, NULL);
    if (write (wfd, "x", 1) != 1)
      tap_diag ("write to child failed");
    waitpid (pid, &status, 0);
    tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 2,
            "default devices: /dev/null and /dev/zero open (%d)",
            WIFEXITED (status) ? WEXITSTATUS (status) : -1);
    close (wfd);
    if (mode != WARD_CGROUP_MODE_V2)
      {
        _cleanup_free_ char *list = readf (cg, "devices", "devices.list");
        tap_ok (list && strstr (list, "c 136:* rwm") && strstr (list, "c *:* m"),
                "devices.list has the wildcard rules");
      }
    free (all);
    r.devices = rules;
  }

  /* An update replaces the filter: now allow everything. */
  rules[0].allow = true;
  r.devices_len = 1;
  tap_ok (apply (cg, &r, NULL) == 0, "update device rules to allow all");
  pid = spawn (&wfd, 'd', NULL);
  ward_cgroup_enter (cg, pid, NULL);
  if (write (wfd, "x", 1) != 1)
    tap_diag ("write to child failed");
  waitpid (pid, &status, 0);
  tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 2, "after update /dev/zero opens (%d)",
          WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  close (wfd);
  tap_ok (destroy (cg), "destroy device test cgroup");
  ward_cgroup_free (cg);
}

/* v2: a controller the parent does not delegate gives a clear error. */
static void test_undelegated (void)
{
  _cleanup_free_ char *path = xasprintf ("%s/nd/leaf", base);
  _cleanup_free_ char *parent = xasprintf ("%s%s/nd", WARD_CG_ROOT, base);
  ward_cpu_t c = { .has_shares = true, .shares = 512 };
  ward_resources_t r = { .cpu = &c };
  _cleanup_free_ char *msg = NULL;
  ward_cgroup_t *cg;
  _cleanup_close_ int pfd = -1;

  if (mode != WARD_CGROUP_MODE_V2)
    return;
  cg = make (path, "leaf", NULL);
  if (!tap_ok (cg != NULL, "create %s", path))
    return;
  pfd = open (parent, O_DIRECTORY | O_RDONLY);
  tap_ok (pfd >= 0 && ward_write_file_at (pfd, "cgroup.subtree_control", "-cpu", 4, NULL) == 0,
          "parent stops delegating cpu");
  rc = apply (cg, &r, &msg);
  tap_ok (rc == -ENOTSUP && msg && strstr (msg, "controller 'cpu' is not enabled"),
          "undelegated controller named: %s", msg ? msg : "");
  tap_ok (destroy (cg), "destroy");
  ward_cgroup_free (cg);
  rmdir (parent);
}

/* v2: clone3(CLONE_INTO_CGROUP) with the manager's fd. */
static void test_clone_into (ward_cgroup_t *cg)
{
  int fd = ward_cgroup_clone_fd (cg);
  struct clone_args args;
  pid_t pid;
  int status = 0;

  if (mode != WARD_CGROUP_MODE_V2)
    {
      tap_ok (fd == -1, "clone_fd is -1 on v1/hybrid");
      return;
    }
  tap_ok (fd >= 0, "clone_fd");
  memset (&args, 0, sizeof args);
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t) fd;
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid == 0)
    {
      _cleanup_free_ char *buf = NULL, *want = xasprintf ("0::%s\n", ward_cgroup_path (cg));
      ward_read_file_at (AT_FDCWD, "/proc/self/cgroup", &buf, NULL, 0, NULL);
      _exit (buf && strcmp (buf, want) == 0 ? 0 : 1);
    }
  if (pid > 0)
    waitpid (pid, &status, 0);
  tap_ok (pid > 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
          "clone3(CLONE_INTO_CGROUP) child starts in the cgroup");
}

/* The pure parts of the systemd driver and of the stats. */
static void test_systemd_names (void)
{
  static const struct
  {
    const char *path, *id, *slice, *unit, *cg;
  } ok[] = {
    { NULL, "abc", "system.slice", "ward-abc.scope", "/system.slice/ward-abc.scope" },
    { "", "abc", "system.slice", "ward-abc.scope", "/system.slice/ward-abc.scope" },
    { "system.slice:docker:1234", "x", "system.slice", "docker-1234.scope",
      "/system.slice/docker-1234.scope" },
    { ":ward:abc", "x", "system.slice", "ward-abc.scope", "/system.slice/ward-abc.scope" },
    { "machine-pod1.slice:crio:c1", "x", "machine-pod1.slice", "crio-c1.scope",
      "/machine.slice/machine-pod1.slice/crio-c1.scope" },
    { "-.slice:p:n", "x", "-.slice", "p-n.scope", "/p-n.scope" },
    { "system.slice::n", "x", "system.slice", "n.scope", "/system.slice/n.scope" },
    { "system.slice:ward:ward-ctr.slice", "x", "system.slice", "ward-ctr.slice",
      "/ward.slice/ward-ctr.slice" },
  };
  static const char *const bad[] = { "a:b", "a:b:c:d", "system.slice:ward:", "foo:ward:x",
                                     "a--b.slice:p:n", "-a.slice:p:n", "a-.slice:p:n",
                                     "system.slice:ward:a/b", "system.slice:ward:a b" };
  ward_error_t *err = NULL;

  for (size_t i = 0; i < ARRAY_SIZE (ok); i++)
    {
      ward_cgroup_systemd_name_t n;
      int r = ward_cgroup_systemd_parse (ok[i].path, ok[i].id, &n, &err);
      tap_ok (r == 0 && strcmp (n.slice, ok[i].slice) == 0 && strcmp (n.unit, ok[i].unit) == 0
                  && strcmp (n.path, ok[i].cg) == 0,
              "systemd cgroupsPath '%s' -> %s in %s at %s%s%s", ok[i].path ? ok[i].path : "(none)",
              r == 0 ? n.unit : "?", r == 0 ? n.slice : "?", r == 0 ? n.path : "?",
              err ? ": " : "", err ? err->msg : "");
      ward_error_free (&err);
      if (r == 0)
        ward_cgroup_systemd_name_free (&n);
    }
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      ward_cgroup_systemd_name_t n;
      int r = ward_cgroup_systemd_parse (bad[i], "x", &n, &err);
      tap_ok (r < 0 && err && strstr (err->msg, "cgroupsPath"), "systemd cgroupsPath '%s' refused: %s",
              bad[i], err ? err->msg : "(accepted)");
      ward_error_free (&err);
      if (r == 0)
        ward_cgroup_systemd_name_free (&n);
    }
  tap_ok (ward_cgroup_systemd_cpu_weight (1024) == 39, "CPUWeight from 1024 shares = 39 (runc)");
  tap_ok (ward_cgroup_systemd_cpu_weight (2) == 1 && ward_cgroup_systemd_cpu_weight (262144) == 10000,
          "CPUWeight bounds 1..10000");
  tap_ok (ward_cgroup_systemd_quota_per_sec (50000, 100000) == 500000, "CPUQuotaPerSecUSec 50%%");
  tap_ok (ward_cgroup_systemd_quota_per_sec (12345, 100000) == 130000,
          "CPUQuotaPerSecUSec rounds up to 10 ms");
  tap_ok (ward_cgroup_systemd_quota_per_sec (-1, 100000) == UINT64_MAX, "no quota = infinity");
  {
    _cleanup_free_ uint8_t *m = NULL;
    size_t len = 0;
    tap_ok (ward_cgroup_systemd_cpuset_mask ("0-2,9", &m, &len) == 0 && len == 2 && m[0] == 0x07
                && m[1] == 0x02,
            "AllowedCPUs bitmask of 0-2,9");
  }
  {
    _cleanup_free_ uint16_t *l = NULL;
    size_t n = 0;
    tap_ok (ward_cgroup_parse_cpulist ("0-1,4\n", &l, &n) == 0 && n == 3 && l[2] == 4,
            "cpulist 0-1,4");
    free (l);
    l = NULL;
    tap_ok (ward_cgroup_parse_cpulist ("3-1", &l, &n) == -EINVAL, "cpulist 3-1 refused");
  }
  {
    const char *const *sizes = ward_cgroup_hugepage_sizes ();
    bool named = true;
    for (size_t i = 0; sizes[i]; i++)
      named &= strstr (sizes[i], "B") != NULL;
    tap_ok (named, "hugepage sizes named like runc (%s%s)", sizes[0] ? sizes[0] : "none",
            sizes[0] && sizes[1] ? ", ..." : "");
  }
}

static void put (const char *dir, const char *file, const char *text)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", dir, file);
  FILE *f = fopen (p, "w");
  if (f)
    {
      fputs (text, f);
      fclose (f);
    }
}

/* runc's mapping of the v2 files, on a fake cgroup directory (restore
 * takes any path), so that it runs on every host. */
static void test_v2_stats_mapping (void)
{
  char dir[] = "/tmp/ward-test-v2stats-XXXXXX";
  _cleanup_free_ char *saved = NULL;
  ward_cgroup_t *cg = NULL;
  ward_cgroup_stats_t st;
  ward_error_t *err = NULL;
  const char *const *sizes = ward_cgroup_hugepage_sizes ();

  if (!mkdtemp (dir))
    {
      tap_skip ("mkdtemp failed");
      return;
    }
  put (dir, "cpu.stat", "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 5\n"
                        "nr_throttled 2\nthrottled_usec 7\n");
  put (dir, "memory.current", "1000\n");
  put (dir, "memory.max", "max\n");
  put (dir, "memory.swap.current", "24\n");
  put (dir, "memory.swap.max", "max\n");
  put (dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
  put (dir, "memory.stat", "file 4096\nanon 8192\nactive_anon 1\n");
  put (dir, "pids.current", "2\n");
  put (dir, "pids.max", "max\n");
  put (dir, "cpuset.cpus.effective", "0-1\n");
  put (dir, "cpuset.mems.effective", "0\n");
  put (dir, "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
  if (sizes[0])
    {
      _cleanup_free_ char *cur = xasprintf ("hugetlb.%s.current", sizes[0]);
      _cleanup_free_ char *ev = xasprintf ("hugetlb.%s.events", sizes[0]);
      put (dir, cur, "2097152\n");
      put (dir, ev, "max 4\n");
    }
  saved = xasprintf ("mode %d\npath /fake\nunified %s\n", WARD_CGROUP_MODE_V2, dir);
  tap_ok (ward_cgroup_restore (saved, &cg, &err) == 0, "restore a fake v2 cgroup");
  ward_error_free (&err);
  if (cg && ward_cgroup_stats (cg, &st, &err) == 0)
    {
      const ward_cgroup_stats_more_t *m = &st.more;
      tap_ok (st.cpu_usage_total == 3000000 && st.cpu_throttled_time == 7000, "v2 cpu.stat in ns");
      tap_ok (st.memory_cache == 4096 && st.memory_limit == UINT64_MAX, "v2 cache = file, limit max");
      tap_ok (st.swap_usage == 1024 && st.swap_limit == UINT64_MAX,
              "v2 swap reported as memory+swap like v1's memsw (runc)");
      tap_ok (m->mem_failcnt == 3, "v2 failcnt from memory.events max");
      tap_ok (m->raw_len == 3 && strcmp (m->raw[0].key, "active_anon") == 0
                  && strcmp (m->raw[2].key, "file") == 0 && m->raw[2].value == 4096,
              "v2 memory.stat -> raw, sorted");
      tap_ok (m->cpus_len == 2 && m->mems_len == 1, "v2 cpuset from the effective lists");
      tap_ok (m->io_bytes_len == 2 && m->io_bytes[0].major == 8 && strcmp (m->io_bytes[0].op, "Read") == 0
                  && m->io_bytes[0].value == 4096 && strcmp (m->io_bytes[1].op, "Write") == 0
                  && m->io_bytes[1].value == 8192,
              "v2 io.stat rbytes/wbytes -> ioServiceBytesRecursive Read/Write");
      tap_ok (m->io_ops_len == 2 && m->io_ops[1].value == 2, "v2 io.stat rios/wios -> ioServicedRecursive");
      if (sizes[0])
        tap_ok (m->hugetlb_len == 1 && m->hugetlb[0].usage == 2097152 && m->hugetlb[0].failcnt == 4,
                "v2 hugetlb.%s current/events max", sizes[0]);
      else
        tap_skip ("no huge page sizes on this host");
      tap_ok (st.pids_current == 2 && st.pids_limit == 0, "v2 pids, max -> 0");
      ward_cgroup_stats_clear (&st);
    }
  else
    tap_ok (false, "stats of the fake v2 cgroup: %s", err ? err->msg : "?");
  ward_error_free (&err);
  if (cg)
    ward_cgroup_free (cg);
  {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", dir);
    if (system (cmd) != 0)
      tap_diag ("could not remove %s", dir);
  }
}

int main (void)
{
  _cleanup_free_ char *cpath = NULL, *sub = NULL;
  ward_cgroup_t *cg;

  _cleanup_free_ char *root_subtree = NULL;

  test_ebpf_build ();
  test_systemd_names ();
  test_v2_stats_mapping ();
  if (geteuid () != 0)
    {
      tap_skip ("cgroup tests need root");
      return tap_done ();
    }
  mode = ward_cgroup_mode ();
  if (mode < 0)
    {
      tap_skip ("no cgroup file system at /sys/fs/cgroup");
      return tap_done ();
    }
  tap_diag ("cgroup mode %s", mode == WARD_CGROUP_MODE_V2       ? "v2"
                              : mode == WARD_CGROUP_MODE_HYBRID ? "hybrid"
                                                                : "v1");
  snprintf (base, sizeof base, "/ward-test-%d", (int) getpid ());
  /* The hybrid hugetlb test enables hugetlb in the host's unified root;
   * remember the state to put it back. */
  if (mode == WARD_CGROUP_MODE_HYBRID)
    ward_read_file_at (AT_FDCWD, WARD_CG_UNIFIED_HYBRID "/cgroup.subtree_control", &root_subtree,
                       NULL, 0, NULL);
  test_paths ();

  cpath = xasprintf ("%s/c", base);
  cg = make (cpath, "c", NULL);
  if (!tap_ok (cg != NULL, "create %s", cpath))
    return tap_done ();
  test_save_restore (cg);
  test_memory (cg);
  test_cpu (cg);
  test_pids_blkio_misc (cg);
  test_processes (cg);
  test_clone_into (cg);
  test_undelegated ();
  test_devices (cg);

  /* A sub-cgroup the container made itself is removed with it. */
  sub = xasprintf ("%s/nested", dir_of (cg, mode == WARD_CGROUP_MODE_V2 ? "" : "memory"));
  tap_ok (mkdir (sub, 0755) == 0, "container-made sub-cgroup");
  tap_ok (destroy (cg), "destroy");
  tap_ok (!exists (dir_of (cg, mode == WARD_CGROUP_MODE_V2 ? "" : "memory")) && !exists (sub),
          "destroy leaves nothing");
  ward_cgroup_free (cg);

  /* Remove the test base on every hierarchy. */
  cg = make (base, "base", NULL);
  if (cg)
    {
      tap_ok (destroy (cg), "remove test base");
      ward_cgroup_free (cg);
    }
  if (root_subtree && !strstr (root_subtree, "hugetlb"))
    ward_write_file_at (AT_FDCWD, WARD_CG_UNIFIED_HYBRID "/cgroup.subtree_control", "-hugetlb", 8,
                        NULL);
  return tap_done ();
}
