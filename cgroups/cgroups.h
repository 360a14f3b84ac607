/* One cgroup manager interface with back ends for cgroup v2 (unified),
 * v1 (legacy and hybrid hosts) and systemd (transient units).  This module
 * does not parse JSON: it takes ward_resources_t from specs/ and persists
 * itself as plain text that the runtime stores in the state dir. */
#ifndef WARD_CGROUPS_H
#define WARD_CGROUPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "specs/specs.h"

typedef enum
{
  WARD_CGROUP_MODE_V1 = 1,     /* legacy: v1 controllers only */
  WARD_CGROUP_MODE_HYBRID = 2, /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
  WARD_CGROUP_MODE_V2 = 3,     /* unified at /sys/fs/cgroup */
} ward_cgroup_mode_t;

/* Looks at /sys/fs/cgroup once (cached). Negative errno when there is none. */
int ward_cgroup_mode (void);

typedef struct ward_cgroup ward_cgroup_t;

typedef struct
{
  const char *id;           /* container id */
  const char *cgroups_path; /* linux.cgroupsPath, or NULL for the default */
  bool systemd;             /* --systemd-cgroup: cgroups_path is slice:prefix:name */
  bool rootless;            /* EACCES on creation is not fatal when no resources are set */
  const ward_resources_t *resources; /* may be NULL */
} ward_cgroup_config_t;

/* Creates the cgroup(s) (mkdir on every hierarchy; v2: enables the needed
 * controllers in the parents' subtree_control) but places no process. */
int ward_cgroup_create (const ward_cgroup_config_t *cfg, ward_cgroup_t **out, ward_error_t **err);

/* On v2, an O_PATH|O_DIRECTORY fd of the container's cgroup for
 * clone3(CLONE_INTO_CGROUP); -1 on v1/hybrid.  Owned by the manager. */
int ward_cgroup_clone_fd (ward_cgroup_t *cg);

/* Moves pid into the cgroup on every hierarchy (cgroup.procs writes).  Not
 * needed on v2 when the process was cloned with CLONE_INTO_CGROUP. */
int ward_cgroup_enter (ward_cgroup_t *cg, pid_t pid, ward_error_t **err);

/* Placement of a new child without cgroup.procs writes, whose
 * cgroup_threadgroup_rwsem write lock costs an RCU grace period (10-15 ms
 * on the hybrid development host): *clone_fd is the cgroup2 directory for
 * clone3(CLONE_INTO_CGROUP) (v2, and the unified mirror on hybrid hosts; -1
 * when none; owned by the manager), *task_fds (malloc'd, *n of them) are
 * the container's v1 `tasks` files opened for writing, to which the
 * single-threaded child writes "0" itself with ward_cgroup_enter_self: a
 * thread that moves itself skips that lock.  Returns 1 when these place
 * the child completely, 0 when the caller must use ward_cgroup_enter
 * instead (systemd unit not started yet; nothing is opened then). */
int ward_cgroup_prepare_clone (ward_cgroup_t *cg, int *clone_fd, int **task_fds, size_t *n,
                               ward_error_t **err);
/* In the child: moves the calling thread (the whole process, when it is
 * single-threaded) through the fds of ward_cgroup_prepare_clone, and closes
 * them (they stay in the array, closed).  No allocation. */
int ward_cgroup_enter_self (int *task_fds, size_t n, ward_error_t **err);

/* exec --cgroup [<controller>[,...]:]<path>: a sub-cgroup of the
 * container's, for the named controllers or (no prefix, or an empty one)
 * for all.  The strings point into the parsed arguments. */
typedef struct
{
  const char *controllers; /* not NUL-terminated: controllers_len bytes */
  size_t controllers_len;  /* 0: every hierarchy */
  const char *path;        /* relative to the container's cgroup */
} ward_cgroup_sub_t;
/* Parses the --cgroup values as runc does (only a single value may leave
 * out the controllers; unknown controller names and ".." are refused). */
int ward_cgroup_parse_subs (char **args, ward_cgroup_sub_t **out, size_t *n, ward_error_t **err);
/* Moves pid into the sub-cgroups (existing directories) on every hierarchy,
 * the container's own cgroup where no sub names the hierarchy. */
int ward_cgroup_enter_sub (ward_cgroup_t *cg, pid_t pid, const ward_cgroup_sub_t *subs, size_t n,
                           ward_error_t **err);
/* Pure v2: *fd = an O_PATH fd of the sub-cgroup for CLONE_INTO_CGROUP (the
 * caller closes it); *fd = -1 on v1/hybrid.  An error when the sub-cgroup
 * does not exist. */
int ward_cgroup_sub_clone_fd (ward_cgroup_t *cg, const ward_cgroup_sub_t *subs, size_t n, int *fd,
                              ward_error_t **err);

/* Writes the resources.  A resource the host cannot provide is an error
 * naming it, unless the value is the default. */
int ward_cgroup_apply (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err);

int ward_cgroup_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err);
/* 1 when frozen, 0 when not, negative errno on failure. */
int ward_cgroup_is_frozen (ward_cgroup_t *cg, ward_error_t **err);

/* Signals every process in the cgroup (v2 SIGKILL: cgroup.kill). */
int ward_cgroup_kill (ward_cgroup_t *cg, int signo, ward_error_t **err);

/* The pids in the cgroup (malloc'd array). */
int ward_cgroup_pids (ward_cgroup_t *cg, pid_t **pids, size_t *n, ward_error_t **err);

/* The rest of runc's events stats (cgroups/stats.c).  Arrays are malloc'd:
 * release them with ward_cgroup_stats_clear. */
typedef struct
{
  char *key;
  uint64_t value;
} ward_cgroup_stat_kv_t;
typedef struct
{
  uint64_t major, minor, value;
  char op[16]; /* "Read", "Write", "Sync", "Async", "Discard", "Total" */
} ward_cgroup_blkio_entry_t;
typedef struct
{
  char size[16]; /* "2MB", "1GB": runc's names for the page sizes */
  uint64_t usage, max, failcnt;
} ward_cgroup_hugetlb_stat_t;
typedef struct ward_cgroup_stats_more
{
  uint64_t *percpu, *percpu_kernel, *percpu_user;
  size_t percpu_len, percpu_kernel_len, percpu_user_len;
  uint16_t *cpus, *mems; /* cpuset, as lists */
  size_t cpus_len, mems_len;
  uint64_t cpu_exclusive, mem_hardwall, mem_exclusive, memory_migrate, memory_spread_page,
      memory_spread_slab, memory_pressure, sched_load_balance;
  int64_t sched_relax_domain_level;
  uint64_t mem_failcnt, swap_max, swap_failcnt;
  uint64_t kernel_limit, kernel_usage, kernel_max, kernel_failcnt;
  uint64_t tcp_limit, tcp_usage, tcp_max, tcp_failcnt;
  ward_cgroup_stat_kv_t *raw; /* memory.stat, sorted by key */
  size_t raw_len;
  ward_cgroup_blkio_entry_t *io_bytes, *io_ops; /* ioServiceBytesRecursive, ioServicedRecursive */
  size_t io_bytes_len, io_ops_len;
  ward_cgroup_hugetlb_stat_t *hugetlb; /* sorted by size name */
  size_t hugetlb_len;
} ward_cgroup_stats_more_t;

/* Statistics as used by `events`. Fields not available are 0. */
typedef struct
{
  uint64_t cpu_usage_total, cpu_usage_user, cpu_usage_kernel; /* ns */
  uint64_t cpu_throttled_periods, cpu_throttled_time, cpu_periods;
  uint64_t memory_usage, memory_max_usage, memory_limit, memory_cache;
  uint64_t swap_usage, swap_limit;
  uint64_t pids_current, pids_limit;
  uint64_t oom_events;      /* oom_kill count (v2 memory.events oom_kill, v1 memory.oom_control) */
  ward_cgroup_stats_more_t more;
} ward_cgroup_stats_t;
int ward_cgroup_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err);
void ward_cgroup_stats_clear (ward_cgroup_stats_t *st);

/* The page size names runc uses ("2MB", "1GB") from /sys/kernel/mm/hugepages
 * (NULL-terminated, cached).  Exposed for tests. */
const char *const *ward_cgroup_hugepage_sizes (void);
/* "0-2,5" -> {0,1,2,5}; -EINVAL on malformed input.  *out malloc'd. */
int ward_cgroup_parse_cpulist (const char *s, uint16_t **out, size_t *n);

/* A file descriptor that becomes readable when the kernel may have OOM
 * killed in the cgroup (v1: an eventfd registered on memory.oom_control;
 * v2: inotify on memory.events).  Read/drain it with
 * ward_cgroup_oom_drain, then re-read the counter from the stats. */
int ward_cgroup_oom_fd (ward_cgroup_t *cg, ward_error_t **err);
void ward_cgroup_oom_drain (int fd);

/* Removes the cgroup(s), retrying while the kernel reports EBUSY for a
 * short while; never leaves an empty one behind on success. */
int ward_cgroup_destroy (ward_cgroup_t *cg, ward_error_t **err);

/* Persists/restores the manager (paths per hierarchy, mode) as text, so that
 * a later `kill`, `delete`, `pause` finds the same cgroups. */
char *ward_cgroup_save (const ward_cgroup_t *cg);
int ward_cgroup_restore (const char *saved, ward_cgroup_t **out, ward_error_t **err);

/* The container's path inside the v2 tree or the v1 "cpu"/"memory" tree,
 * e.g. "/ward/abc" (for messages and for the cgroup namespace). */
const char *ward_cgroup_path (const ward_cgroup_t *cg);

/* The device rules runc always appends after the config's own
 * linux.resources.devices (mknod of any c/b node; null, zero, full, random,
 * urandom, tty, console, ptmx, pts/N, net/tun).  Static storage. */
const ward_device_cgroup_t *ward_cgroup_default_devices (size_t *n);

/* ---- systemd driver (cgroups/systemd.c) ---------------------------------
 * --systemd-cgroup: cgroupsPath "slice:prefix:name" (runc's convention; an
 * empty slice is system.slice; no cgroupsPath: system.slice:ward:<id>) names
 * the transient unit "prefix-name.scope" in that slice, or the slice "name"
 * itself when name ends in ".slice".  The unit is started over D-Bus
 * (libsystemd.so.0, dlopen()ed on first use) when the init is entered. */
typedef struct
{
  char *slice; /* "system.slice" */
  char *unit;  /* "ward-abc.scope" */
  char *path;  /* its cgroup: "/system.slice/ward-abc.scope" */
} ward_cgroup_systemd_name_t;
int ward_cgroup_systemd_parse (const char *cgroups_path, const char *id,
                               ward_cgroup_systemd_name_t *out, ward_error_t **err);
void ward_cgroup_systemd_name_free (ward_cgroup_systemd_name_t *n);
/* "a-b.slice" -> "/a.slice/a-b.slice" ("-.slice" is "/"). */
int ward_cgroup_systemd_expand_slice (const char *slice, char **out, ward_error_t **err);
/* Property values as sent to systemd (exposed for tests). */
uint64_t ward_cgroup_systemd_cpu_weight (uint64_t shares);
uint64_t ward_cgroup_systemd_quota_per_sec (int64_t quota, uint64_t period);
int ward_cgroup_systemd_cpuset_mask (const char *list, uint8_t **mask, size_t *len);
/* True when systemd runs as init here (/run/systemd/system exists). */
bool ward_cgroup_systemd_available (void);

void ward_cgroup_free (ward_cgroup_t *cg);
static inline void ward_cgroup_freep (ward_cgroup_t **cg)
{
  if (*cg)
    ward_cgroup_free (*cg);
}
#define _cleanup_cgroup_ __attribute__ ((cleanup (ward_cgroup_freep)))

#endif
