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
 *   <root>/volumes/<name>/{_data,volume.json}  local volumes (volume.c)
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
 * (KEY or KEY=VALUE), exited=N, ancestor, volume (name or destination). -EINVAL for an unknown key. */
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

/* Opens (creating it 0600) and exclusively flocks path, waiting; *fd
 * must be closed to release. */
int ward_mgr_lock_file (const char *path, int *fd, ward_error_t **err);
/* Exclusive flock on the record; *lockfd must be closed to release. */
int ward_mgr_lock (ward_mgr_t *m, const char *id, int *lockfd, ward_error_t **err);
int ward_mgr_record_read (ward_mgr_t *m, const char *id, struct json_object **rec,
                          ward_error_t **err);
/* Atomic write (temp + rename); take the lock around read-modify-write. */
int ward_mgr_record_write (ward_mgr_t *m, const char *id, struct json_object *rec,
                           ward_error_t **err);
/* Read-modify-write of the record under its lock: fn edits it. */
typedef void (*ward_mgr_record_fn) (struct json_object *rec, void *data);
int ward_mgr_record_update (ward_mgr_t *m, const char *id, ward_mgr_record_fn fn, void *data,
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
  const char *network;     /* "none", "host", NAME, container:NAME, cni:NAME; NULL = bridge */
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
  char **publish;          /* -p [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO] */
  /* networking (network.c): --network also takes NAME, container:NAME, cni:NAME */
  bool publish_all;        /* -P */
  const char *ip;          /* --ip */
  char **expose;           /* --expose PORT[/PROTO] */
  char **dns, **dns_search, **dns_options; /* --dns, --dns-search, --dns-option */
  char **add_hosts;        /* --add-host NAME:IP */
  /* --runtime / --vm: NULL or "ward" (in-process), "ward-vm" (a microVM:
   * config.json gets run.oci.handler=vm and the monitor runs ward-vm) */
  const char *runtime;
} ward_mgr_run_opts_t;

/* The front end sets it to its own real path before any re-exec from a
 * sealed copy, so the monitor finds the ward-vm program beside it. */
#define WARD_MGR_ENV_SELF "_WARD_MGR_SELF"
#define WARD_MGR_RUNTIME_VM "ward-vm"

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
/* Whether the container's monitor/init is alive (never for a record
 * whose State.BootId is another boot's). */
bool ward_mgr_is_running (ward_mgr_t *m, struct json_object *rec);
/* This boot's /proc/sys/kernel/random/boot_id (cached). */
const char *ward_mgr_boot_id (void);
/* docker rename: the name must be valid and free. */
int ward_mgr_rename (ward_mgr_t *m, const char *id, const char *new_name, ward_error_t **err);
/* `ward start --all` (what dockerd does at boot): starts every container
 * whose restart policy is always, or unless-stopped and not stopped by
 * the user.  *started / *failed (NULL-terminated ids) may be NULL. */
int ward_mgr_start_all (ward_mgr_t *m, char ***started, char ***failed, ward_error_t **err);

/* ---- networking (network.c) ------------------------------------------------
 * Docker's semantics: a container's network exists while it runs.  Its
 * netns is bind-mounted at <root>/netns/<id> (config.json joins it by
 * path), attached when the monitor starts the container and released when
 * it exits; <root>/netns/<id>.lock is flocked by the monitor meanwhile, so
 * any later command can tell a leftover of a crash from a live container. */

/* create: checks --network, -p, --ip, --dns... (clear errors, nothing made). */
int ward_mgr_net_check (ward_mgr_t *m, const ward_mgr_run_opts_t *o, ward_error_t **err);
/* create: the record's HostConfig/Config/NetworkSettings network keys. */
void ward_mgr_net_record_init (ward_mgr_t *m, const ward_mgr_run_opts_t *o,
                               char *const *image_exposed, size_t n_image_exposed,
                               struct json_object *rec);
/* create: makes config.json join <root>/netns/<id> (not for none/host). */
int ward_mgr_net_patch_config (ward_mgr_t *m, const ward_mgr_run_opts_t *o, const char *id,
                               char **config, ward_error_t **err);
/* start (in the monitor): netns, attach, ports, /etc files, record. */
int ward_mgr_net_prepare (ward_mgr_t *m, const char *id, ward_error_t **err);
/* exit / rm: undoes prepare; idempotent, never fails. */
void ward_mgr_net_release (ward_mgr_t *m, const char *id);
/* Releases what dead monitors left (cheap when nothing is stale: a
 * readdir and one flock per running container, no nft call). */
void ward_mgr_net_reconcile (ward_mgr_t *m);
/* <root>/networks */
char *ward_mgr_net_state_root (ward_mgr_t *m);
/* `ward network connect/disconnect` on a running container. */
int ward_mgr_net_connect (ward_mgr_t *m, const char *id, const char *network, const char *ip,
                          ward_error_t **err);
int ward_mgr_net_disconnect (ward_mgr_t *m, const char *id, const char *network,
                             ward_error_t **err);
/* "0.0.0.0:8080->80/tcp, ..." for `ward ps` (malloc'd, "" when none). */
char *ward_mgr_net_ports_string (struct json_object *rec);

/* ---- logs (logs.c) ------------------------------------------------------ */

typedef struct
{
  bool follow, timestamps;
  long tail;          /* -1 = all */
  time_t since;       /* 0 = all */
  int out_fd, err_fd;
  time_t until;       /* 0 = no limit; entries at or after it are left out */
} ward_mgr_logs_opts_t;

int ward_mgr_logs (ward_mgr_t *m, const char *id, const ward_mgr_logs_opts_t *o,
                   ward_error_t **err);

/* Hidden verb behind `make install`: builds busybox:latest from path. */
int ward_mgr_import_default_image (const char *root, const char *busybox_path, char **digest,
                                   ward_error_t **err);

/* Exit code semantics of docker run: 125 for ward's own errors, 126 when
 * the command cannot be invoked, 127 when it is not found. */
int ward_mgr_exit_code_for_error (const ward_error_t *e);

/* ---- volumes (volume.c) -------------------------------------------------- */

/* docker's local volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool ward_mgr_volume_name_valid (const char *name);
/* <root>/volumes/<name>/_data (malloc'd). */
char *ward_mgr_volume_path (ward_mgr_t *m, const char *name);
/* name NULL or "": an anonymous volume (64-hex name, label
 * com.docker.volume.anonymous).  An existing name is returned as is
 * (*created false).  labels/opts: "K=V" vectors or NULL. */
int ward_mgr_volume_create (ward_mgr_t *m, const char *name, char **labels, char **opts,
                            bool *created, char **name_out, ward_error_t **err);
/* `docker volume inspect` shape; "get NAME: no such volume" (ENOENT). */
int ward_mgr_volume_inspect (ward_mgr_t *m, const char *name, struct json_object **out,
                             ward_error_t **err);
int ward_mgr_volume_list (ward_mgr_t *m, struct json_object ***vols, size_t *n,
                          ward_error_t **err);
bool ward_mgr_volume_is_anonymous (struct json_object *vol);
/* Ids of the containers whose record mounts it (NULL-terminated). */
int ward_mgr_volume_users (ward_mgr_t *m, const char *name, char ***ids, ward_error_t **err);
/* "remove NAME: volume is in use - [ID, ...]" (EBUSY) while a container
 * uses it; force only makes a missing volume not an error. */
int ward_mgr_volume_remove (ward_mgr_t *m, const char *name, bool force, ward_error_t **err);
/* Unused anonymous volumes (every unused one with all). */
int ward_mgr_volume_prune (ward_mgr_t *m, bool all, char ***removed, uint64_t *reclaimed,
                           ward_error_t **err);
/* `rm -v` / `--rm`: the container's anonymous volumes no other uses. */
void ward_mgr_volumes_release_anonymous (ward_mgr_t *m, struct json_object *rec);
/* docker's copy-up: an empty volume first mounted at path gets the
 * image's content there (path resolved inside the rootfs). */
int ward_mgr_volume_copy_up (ward_mgr_t *m, const char *name, int rootfs_fd, const char *path,
                             ward_error_t **err);

#endif
