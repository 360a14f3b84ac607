/* Private to cgroups/: the manager structure shared by the back ends and the
 * small file helpers they all use. */
#ifndef WARD_CGROUPS_INTERNAL_H
#define WARD_CGROUPS_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups/cgroups.h"

#define WARD_CG_ROOT "/sys/fs/cgroup"
#define WARD_CG_UNIFIED_HYBRID "/sys/fs/cgroup/unified"

typedef struct
{
  char *controllers; /* as /proc/self/cgroup names them: "cpu,cpuacct", "name=systemd" */
  char *dir;         /* absolute directory of the container's cgroup */
} ward_cg_hier_t;

struct ward_cgroup
{
  int mode;
  char *path;        /* for messages / cgroup ns: path inside the hierarchy */
  char *unified_dir; /* v2: the cgroup; hybrid: the mirror under unified; NULL on v1 */
  int clone_fd;      /* lazily opened O_PATH fd of unified_dir (v2 only) */
  ward_cg_hier_t *v1;
  size_t v1_len;
  /* systemd driver: the unit and its parent slice; resources kept from
   * apply until the unit starts at enter time */
  char *systemd_unit, *systemd_slice;
  bool systemd_started, has_pending;
  ward_resources_t pending;
  ward_device_cgroup_t *pending_devices;
};

/* systemd.c */
int ward_cg_systemd_start (ward_cgroup_t *cg, pid_t pid, ward_error_t **err);
void ward_cg_systemd_keep (ward_cgroup_t *cg, const ward_resources_t *res);
int ward_cg_systemd_stop (ward_cgroup_t *cg, ward_error_t **err);
int ward_cg_systemd_set (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err);

/* The v1 directory of the hierarchy that holds controller `name`, or NULL. */
const char *ward_cg_v1_dir (const ward_cgroup_t *cg, const char *name);

/* Moves pid into the cgroup directory dir (a cgroup.procs write). */
int ward_cg_write_procs (const char *dir, pid_t pid, ward_error_t **err);

/* Opens a cgroup directory (O_DIRECTORY|O_RDONLY); -1 with errno set. */
int ward_cg_open_dir (const char *dir);

/* Writes a value to a cgroup file for a resource; errors look like
 * "linux.resources.memory.limit: memory.limit_in_bytes: not supported by
 * this kernel".  dirfd < 0 means the controller is not available. */
int ward_cg_write (int dirfd, const char *res, const char *file, ward_error_t **err,
                   const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));
/* Same, but a missing file is not an error (returns 1). */
int ward_cg_write_opt (int dirfd, const char *file, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
bool ward_cg_has_file (int dirfd, const char *file);
/* Error for a resource the host cannot provide. */
int ward_cg_unsupported (ward_error_t **err, const char *res, const char *what,
                         const char *why);

/* Reads a single unsigned number (or "max" -> UINT64_MAX); 0 when absent. */
uint64_t ward_cg_read_u64 (int dirfd, const char *file);
/* Looks up `key value` in a flat-keyed file such as cpu.stat; 0 when absent. */
uint64_t ward_cg_read_key (int dirfd, const char *file, const char *key);

/* Enables one controller in the unified tree down to the container's
 * parent (hybrid hosts offer e.g. hugetlb there only). */
int ward_cg_unified_enable (const ward_cgroup_t *cg, const char *controller);

/* Per back end. */
int ward_cg_v1_apply (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err);
int ward_cg_v2_apply (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err);
int ward_cg_v1_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err);
int ward_cg_v2_freeze (ward_cgroup_t *cg, bool frozen, ward_error_t **err);
int ward_cg_v1_is_frozen (ward_cgroup_t *cg, ward_error_t **err);
int ward_cg_v2_is_frozen (ward_cgroup_t *cg, ward_error_t **err);
int ward_cg_v1_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err);
int ward_cg_v2_stats (ward_cgroup_t *cg, ward_cgroup_stats_t *st, ward_error_t **err);
/* stats.c: the cpuset/blkio/hugetlb/raw part of the stats, after the back end's. */
void ward_cg_stats_more (ward_cgroup_t *cg, ward_cgroup_stats_t *st);
/* Memory checks shared by both back ends (checkBeforeUpdate). */
int ward_cg_check_usage (int dirfd, const char *usage_file, const ward_memory_t *m,
                         ward_error_t **err);

/* devices_ebpf.c: builds, loads and attaches the device filter to the v2
 * cgroup at dirfd, replacing the programs an earlier apply attached. */
int ward_cg_devices_ebpf_apply (int dirfd, const ward_device_cgroup_t *rules, size_t n,
                                ward_error_t **err);
/* The raw program (for tests): returns the instruction count, fills *out. */
size_t ward_cg_devices_ebpf_build (const ward_device_cgroup_t *rules, size_t n, void **out);

#endif
