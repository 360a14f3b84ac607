/* The container lifecycle: what `ward-runtime create/start/run/state/list/
 * kill/delete` do, without argv parsing or printing (cli/oci does that).
 * Every function takes the state root (runc's --root) and fills *err with a
 * runc-worded message on failure. */
#ifndef WARD_RUNTIME_H
#define WARD_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

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
  bool vm;                    /* started as ward-vm (today: same as a container) */
  /* run only */
  bool detach;
  bool keep;
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

#endif
