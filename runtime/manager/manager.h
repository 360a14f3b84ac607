/* runtime/manager: the daemonless container manager behind `ward`.
 *
 * On disk, under a root (default /var/lib/ward):
 *   <root>/containers/<id>/config.v2.json  the record, in the shape of
 *                                          `docker inspect` (Id, Name, State, Config, HostConfig...)
 *   <root>/containers/<id>/config.json     the OCI bundle config (bundle = that dir)
 *   <root>/containers/<id>/rootfs          the image snapshot (image/)
 *   <root>/containers/<id>/{hostname,hosts,resolv.conf}  bind-mounted into the container
 *   <root>/containers/<id>/<id>-json.log   docker's json-file log
 *   <root>/containers/<id>/.lock           flock: one writer of the record at a time
 *   <root>/manager.lock                    flock: name allocation
 *   <root>/runtime                         the OCI state root of ward's containers
 *
 * No daemon: every container that runs has a monitor process (double-forked,
 * setsid, child subreaper) that owns its stdio, writes the log, records the
 * exit and applies --rm and --restart.  Nothing here prints or exits. */
#ifndef WARD_RUNTIME_MANAGER_H
#define WARD_RUNTIME_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "specs/specs.h"

struct json_object;

#define WARD_MGR_DEFAULT_ROOT "/var/lib/ward"
#define WARD_MGR_LOG_MAX (10 * 1024 * 1024)

/* ---- pure helpers (record.c) ------------------------------------------- */

/* 64 lower-case hex from getrandom. */
void ward_mgr_id_new (char out[65]);
/* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' is accepted). */
bool ward_mgr_name_valid (const char *name);
/* "adjective_name"-like generated name: "ward_<first 8 hex>" is enough. */
char *ward_mgr_name_generate (const char *id);

/* --restart: "no", "always", "unless-stopped", "on-failure[:N]". */
int ward_mgr_restart_parse (const char *s, char **name, int *max_retry, ward_error_t **err);
/* Whether a container that exited with code after restart_count restarts
 * (manually stopped ones never do). */
bool ward_mgr_restart_wanted (const char *policy, int max_retry, int restart_count,
                              int exit_code, bool manually_stopped);

/* One json-file log line: {"log":"...","stream":"stdout","time":"..."}\n */
char *ward_mgr_log_line (const char *stream, const char *data, size_t len,
                         const struct timespec *ts);
/* RFC 3339 with nanoseconds, UTC ("2024-01-02T03:04:05.123456789Z"). */
char *ward_mgr_time_format (const struct timespec *ts);
/* Parses that format (fraction optional) to seconds since the epoch. */
int ward_mgr_time_parse (const char *s, struct timespec *ts);
/* "3 seconds", "About a minute", "2 hours", ... as docker's HumanDuration. */
char *ward_mgr_human_duration (time_t seconds);
/* docker ps STATUS: "Created", "Up 3 seconds", "Exited (1) 2 minutes ago",
 * "Restarting (1) 1 second ago". */
char *ward_mgr_status_string (struct json_object *rec, time_t now);
/* docker ps --filter KEY=VALUE: id, name (substring), status, label
 * (KEY or KEY=VALUE), exited=N, ancestor. -EINVAL for an unknown key. */
int ward_mgr_filter_match (struct json_object *rec, const char *filter, bool *match,
                           ward_error_t **err);

/* JSON path helpers over records ("State.Status"). */
const char *ward_mgr_rec_str (struct json_object *rec, const char *path);
int64_t ward_mgr_rec_int (struct json_object *rec, const char *path);
bool ward_mgr_rec_bool (struct json_object *rec, const char *path);

/* ---- records (record.c) ------------------------------------------------ */

typedef struct
{
  char *root;      /* <root> */
  char *cdir;      /* <root>/containers */
  char *rt_root;   /* <root>/runtime */
} ward_mgr_t;

int ward_mgr_open (const char *root, ward_mgr_t **out, ward_error_t **err);
void ward_mgr_close (ward_mgr_t *m);
#define _cleanup_mgr_ __attribute__ ((cleanup (ward_mgr_closep)))
static inline void ward_mgr_closep (ward_mgr_t **m)
{
  if (*m)
    ward_mgr_close (*m);
}

/* Name, full id or unique id prefix -> full id.  docker's wording:
 * "No such container: X"; an ambiguous prefix fails with EINVAL. */
int ward_mgr_lookup (ward_mgr_t *m, const char *ref, char **id, ward_error_t **err);
/* Every record, sorted newest first; free with ward_mgr_records_free. */
int ward_mgr_list (ward_mgr_t *m, struct json_object ***recs, size_t *n, ward_error_t **err);
void ward_mgr_records_free (struct json_object **recs, size_t n);

/* Exclusive flock on the record; *lockfd must be closed to release. */
int ward_mgr_lock (ward_mgr_t *m, const char *id, int *lockfd, ward_error_t **err);
int ward_mgr_record_read (ward_mgr_t *m, const char *id, struct json_object **rec,
                          ward_error_t **err);
/* Atomic write (temp + rename); take the lock around read-modify-write. */
int ward_mgr_record_write (ward_mgr_t *m, const char *id, struct json_object *rec,
                           ward_error_t **err);
/* State.Status as it really is: a "running" record whose monitor and
 * container are gone reads as "exited" ("dead" fixed up on disk). */
int ward_mgr_record_refresh (ward_mgr_t *m, const char *id, struct json_object **rec,
                             ward_error_t **err);

/* ---- run options (container.c) ----------------------------------------- */

typedef struct
{
  const char *image;       /* as typed */
  const char *name;        /* --name or NULL */
  char **cmd;              /* args after IMAGE */
  char **entrypoint; bool has_entrypoint;
  char **env;              /* "K=V" after --env-file/-e resolution */
  char **labels;           /* "K=V" */
  const char *workdir, *user, *hostname;
  const char *network;     /* "none", "host", NULL = none (bridge is later) */
  bool detach, interactive, tty, auto_remove, read_only, privileged, no_new_privileges;
  bool init;
  const char *restart;     /* --restart */
  const char *stop_signal;
  int stop_timeout;        /* -1 = default */
  int64_t memory, memory_swap, shm_size, nano_cpus, pids_limit;
  uint64_t cpu_shares;
  char **cap_add, **cap_drop, **security_opt, **group_add;
  char **binds;            /* -v HOST:CTR[:ro] */
  char **mounts;           /* --mount type=...,source=...,target=... */
  char **tmpfs;            /* --tmpfs PATH[:opts] */
  char **devices;          /* HOST[:CTR[:perms]] */
  char **sysctls;          /* K=V */
  char **ulimits;          /* name=soft[:hard] */
  char **publish;          /* -p: refused until networking */
} ward_mgr_run_opts_t;

/* Resolves the image (importing the default busybox image from
 * /bin/busybox on first use), makes the snapshot, the record, the hosts
 * files and config.json.  *id receives the new id. */
int ward_mgr_create (ward_mgr_t *m, const ward_mgr_run_opts_t *o, char **id, ward_error_t **err);

/* Builds the spec opts (pure part of create, for the unit test too). */
int ward_mgr_parse_bind (const char *spec, ward_cspec_mount_t *out, ward_error_t **err);
int ward_mgr_parse_mount (const char *spec, ward_cspec_mount_t *out, ward_error_t **err);
int ward_mgr_parse_tmpfs (const char *spec, ward_cspec_mount_t *out, ward_error_t **err);
int ward_mgr_parse_ulimit (const char *spec, ward_rlimit_t *out, ward_error_t **err);
int ward_mgr_parse_bytes (const char *s, int64_t *out); /* "64m", "1g", "512k", "100" */
void ward_mgr_cspec_mount_clear (ward_cspec_mount_t *m);

/* ---- lifecycle (monitor.c) ---------------------------------------------- */

/* Starts a created/exited container.  attach: this process becomes the
 * monitor and stays attached to the caller's stdio, returning the exit code
 * in *exit_code; otherwise a detached monitor is forked and this returns as
 * soon as the container runs (or failed to: its error). */
int ward_mgr_start (ward_mgr_t *m, const char *id, bool attach, int *exit_code,
                    ward_error_t **err);
/* stop: StopSignal (or SIGTERM), then SIGKILL after timeout seconds (-1 =
 * the record's StopTimeout, else 10). */
int ward_mgr_stop (ward_mgr_t *m, const char *id, int timeout, ward_error_t **err);
int ward_mgr_kill (ward_mgr_t *m, const char *id, int signo, ward_error_t **err);
/* rm: a running container only with force (it is killed first). */
int ward_mgr_remove (ward_mgr_t *m, const char *id, bool force, ward_error_t **err);
/* pause / unpause: freezes or thaws the container's cgroup. */
int ward_mgr_pause (ward_mgr_t *m, const char *id, bool pause, ward_error_t **err);
/* Blocks until the container is not running; *exit_code its code. */
int ward_mgr_wait (ward_mgr_t *m, const char *id, int *exit_code, ward_error_t **err);
/* `cp`: host_path to ctr_path (to_container) or back; container paths are
 * resolved inside the snapshot's rootfs, symlinks never leave it. */
int ward_mgr_copy (ward_mgr_t *m, const char *id, bool to_container, const char *ctr_path,
                   const char *host_path, ward_error_t **err);
/* Whether the container's monitor/init is alive. */
bool ward_mgr_is_running (ward_mgr_t *m, struct json_object *rec);

/* ---- logs (logs.c) ------------------------------------------------------ */

typedef struct
{
  bool follow, timestamps;
  long tail;          /* -1 = all */
  time_t since;       /* 0 = all */
  int out_fd, err_fd;
} ward_mgr_logs_opts_t;

int ward_mgr_logs (ward_mgr_t *m, const char *id, const ward_mgr_logs_opts_t *o,
                   ward_error_t **err);

/* Hidden verb behind `make install`: builds busybox:latest from path. */
int ward_mgr_import_default_image (const char *root, const char *busybox_path, char **digest,
                                   ward_error_t **err);

/* Exit code semantics of docker run: 125 for ward's own errors, 126 when
 * the command cannot be invoked, 127 when it is not found. */
int ward_mgr_exit_code_for_error (const ward_error_t *e);

#endif
