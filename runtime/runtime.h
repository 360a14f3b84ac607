/* The container lifecycle: what `ward-runtime create/start/run/state/list/
 * kill/delete` do, without argv parsing or printing (cli/oci does that).
 * Every function takes the state root (runc's --root) and fills *err with a
 * runc-worded message on failure. */
#ifndef WARD_RUNTIME_H
#define WARD_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "specs/specs.h"

#define WARD_RUNTIME_DEFAULT_ROOT "/run/ward"

typedef struct
{
  const char *root;           /* state root; NULL = WARD_RUNTIME_DEFAULT_ROOT */
  const char *id;
  const char *bundle;         /* NULL = "." */
  const char *console_socket; /* --console-socket, or NULL */
  const char *pid_file;       /* --pid-file, or NULL */
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;
  bool systemd_cgroup;
  bool rootless;
  bool vm;                    /* started as ward-vm (see vm_main) */
  /* run only */
  bool detach;
  bool keep;
  /* ward-vm (runtime/vm/frontend.c): when vm_main is set, the init is
   * created in the container's namespaces and cgroup as usual but builds
   * no rootfs; after `start` it calls vm_main(vm_data) (the VMM) instead
   * of exec'ing the process, and exits with its return value.  With
   * process.terminal the init makes a host pty for it (master to the
   * console socket, slave on its stdio).  vm_mem_extra is added to a
   * memory limit (the guest kernel's and the VMM's share). */
  int (*vm_main) (void *vm_data);
  /* ward-vm: called by that init before it reports "created" (boots the
   * guest, which creates the container); an error fails `create` */
  int (*vm_prepare) (void *vm_data, ward_error_t **err);
  void *vm_data;
  uint64_t vm_mem_extra;
} ward_create_opts_t;

/* runc's id rule: ^[\w+-\.]+$, and neither "." nor "..". */
bool ward_container_id_valid (const char *id);

/* Parses a signal as `kill` takes it: "KILL", "SIGKILL", "9". */
int ward_container_parse_signal (const char *s, int *signo);

/* Status as derived from the facts: "created", "running", "paused",
 * "stopped". */
const char *ward_container_status_name (bool alive, bool fifo_exists, bool frozen);

/* create: everything up to the container waiting on exec.fifo. */
int ward_container_create (const ward_create_opts_t *opts, ward_error_t **err);

/* start: lets a created container execute its process. */
int ward_container_start (const char *root, const char *id, ward_error_t **err);

/* run: create + start.  Unless opts->detach, waits for the container,
 * forwarding signals, stores its exit status in *exit_status (128+signal
 * when it was killed) and deletes it unless opts->keep. */
int ward_container_run (const ward_create_opts_t *opts, int *exit_status, ward_error_t **err);

/* state: runc's state object, pretty-printed (no trailing newline). */
int ward_container_state_json (const char *root, const char *id, char **out, ward_error_t **err);

typedef struct
{
  char *id;
  pid_t pid;       /* 0 when stopped */
  char *status;
  char *bundle;
  char *rootfs;
  char *created;   /* RFC 3339 with nanoseconds, UTC */
  char *owner;     /* user name of the state dir owner */
  char **annotation_keys, **annotation_values;
  size_t annotations_len;
} ward_container_info_t;

/* list: every container under root, sorted by id. */
int ward_container_list (const char *root, ward_container_info_t **out, size_t *n,
                         ward_error_t **err);
void ward_container_info_free (ward_container_info_t *infos, size_t n);

/* runc's `list` table (tabwriter padding 3) and `list --format json`
 * (one line, with a trailing newline; "null" for no containers). */
char *ward_container_list_table (const ward_container_info_t *infos, size_t n);
char *ward_container_list_json (const ward_container_info_t *infos, size_t n);

/* kill: signals the init (all: every process of the cgroup). */
int ward_container_kill (const char *root, const char *id, int signo, bool all,
                         ward_error_t **err);

/* delete: poststop hooks, cgroup and state removal.  A created container
 * is killed first (as runc does, it never ran); a running or paused one
 * only with force; a missing container is fine with force. */
int ward_container_delete (const char *root, const char *id, bool force, ward_error_t **err);

/* pause / resume: freeze or thaw every process of the cgroup.  pause needs
 * a running or created container ("container not running"), resume a paused one
 * ("container not paused"), as runc words them. */
int ward_container_pause (const char *root, const char *id, ward_error_t **err);
int ward_container_resume (const char *root, const char *id, ward_error_t **err);

/* CVE-2019-5736: unless /proc/self/exe is already a sealed memfd or lives
 * on a read-only mount, copies it into a sealed memfd and re-executes it
 * with argv (returns only on failure, or 0 when nothing had to be done).
 * The front end calls it before create/run. */
int ward_runtime_protect_binary (char **argv, ward_error_t **err);

/* ---- exec / ps / update / events ---------------------------------------- */

typedef struct
{
  const char *root;
  const char *id;
  const char *process_path;   /* --process: a JSON process object; the flags below are ignored */
  char **args;                /* CMD (NULL-terminated), replaces the config's args */
  size_t args_len;
  bool tty;                   /* --tty */
  const char *console_socket;
  const char *cwd;
  char **env;                 /* --env K=V, appended (NULL-terminated or NULL) */
  const char *user;           /* "UID[:GID]" */
  const long long *additional_gids;
  size_t additional_gids_len;
  char **caps;                /* --cap, added to bounding/effective/permitted/ambient */
  bool no_new_privs;
  const char *process_label;
  const char *apparmor;
  bool detach;
  const char *pid_file;
  int preserve_fds;
  bool ignore_paused;
  char **sub_cgroups;         /* --cgroup [<controller>[,...]:]<path> (NULL-terminated or NULL) */
} ward_exec_opts_t;

/* exec: runs a new process in a created, running (or, with ignore_paused,
 * paused) container: its namespaces, cgroup, root, process setup and
 * seccomp filter.  Unless detach, waits for it forwarding signals (and
 * relaying a tty) and stores its status (128+signal) in *exit_status.
 * A failure of the new process before its execve comes back as
 * "unable to start container process: <reason>", as runc words it. */
int ward_container_exec (const ward_exec_opts_t *opts, int *exit_status, ward_error_t **err);

/* Turns the container's config process into the one exec runs, as runc
 * does without --process: args replaced, cwd/apparmor/label/user/
 * additionalGids/noNewPrivileges overridden, env and caps appended,
 * terminal = opts->tty.  Then runc's validation of a process (cwd absolute,
 * args not empty).  Exposed for unit tests. */
int ward_exec_apply_opts (ward_process_t *p, const ward_exec_opts_t *opts, ward_error_t **err);

/* ps: the pids of the container's cgroup (sorted). */
int ward_container_pids (const char *root, const char *id, pid_t **pids, size_t *n,
                         ward_error_t **err);

/* `ps --format json`: "[1,2,3]\n" ("null\n" for none, as Go encodes a nil slice). */
char *ward_container_pids_json (const pid_t *pids, size_t n);

/* `ps` table: keeps ps_output's header and the lines whose PID column is
 * one of pids.  Fails with "couldn't find PID field in ps output". */
int ward_container_ps_filter (const char *ps_output, const pid_t *pids, size_t n, char **out,
                              ward_error_t **err);

/* update: merges res over the container's current resources (those of its
 * config, or of the previous update), applies the changed ones to the
 * cgroup and records the result in the state dir. */
int ward_container_update (const char *root, const char *id, const ward_resources_t *res,
                           ward_error_t **err);

/* Docker's units.RAMInBytes as runc's update uses it: "64m", "1.5G", "512kb",
 * "100" (binary multiples).  -EINVAL on anything else. */
int ward_parse_ram_bytes (const char *s, long long *out);

/* Stats of a container as runc's events types.Event JSON:
 * {"type":"stats","id":ID,"data":{cpu,memory,pids,blkio,hugetlb,intel_rdt,network_interfaces}}. */
int ward_container_stats_json (const char *root, const char *id, char **out, ward_error_t **err);

typedef struct
{
  uint64_t cpu_total, cpu_user, cpu_kernel;
  uint64_t *percpu; size_t percpu_len;
  uint64_t throttling_periods, throttled_periods, throttled_time;
  uint64_t mem_usage, mem_max, mem_limit, mem_failcnt, mem_cache;
  uint64_t swap_usage, swap_limit;
  uint64_t pids_current, pids_limit;
  /* cpuset, percpu kernel/user, memory raw/kernel/kernelTCP, blkio,
   * hugetlb (cgroups/cgroups.h); NULL: those stay empty. */
  const struct ward_cgroup_stats_more *more;
} ward_stats_view_t;

/* The events JSON line (no newline) for one stats sample. */
char *ward_stats_event_json (const char *id, const ward_stats_view_t *v);

/* events: a stats line every interval_ms and an oom line whenever the oom
 * counter grows, written to fd, until the container stops.  With
 * stats_once, one stats line and return. */
int ward_container_events (const char *root, const char *id, bool stats_once, long interval_ms,
                           int fd, ward_error_t **err);

#endif
