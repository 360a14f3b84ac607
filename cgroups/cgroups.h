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

/* Statistics as used by `events`. Fields not available are 0. */
typedef struct
{
  uint64_t cpu_usage_total, cpu_usage_user, cpu_usage_kernel; /* ns */
  uint64_t cpu_throttled_periods, cpu_throttled_time, cpu_periods;
  uint64_t memory_usage, memory_max_usage, memory_limit, memory_cache;
  uint64_t swap_usage, swap_limit;
  uint64_t pids_current, pids_limit;
  uint64_t oom_events;      /* oom_kill count (v2 memory.events oom_kill, v1 memory.oom_control) */
} ward_cgroup_stats_t;
int ward_cgroup_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err);

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

void ward_cgroup_free (ward_cgroup_t *cg);
static inline void ward_cgroup_freep (ward_cgroup_t **cg)
{
  if (*cg)
    ward_cgroup_free (*cg);
}
#define _cleanup_cgroup_ __attribute__ ((cleanup (ward_cgroup_freep)))

#endif
