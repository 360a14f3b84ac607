/* runtime/ internal interfaces shared between the lifecycle files. */
#ifndef WARD_RUNTIME_INTERNAL_H
#define WARD_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/runtime.h"
#include "runtime/seccomp.h"
#include "specs/specs.h"

/* ---- state dir (state.c) ------------------------------------------------ */

typedef struct
{
  char *id;
  pid_t pid;
  unsigned long long start_time; /* field 22 of /proc/<pid>/stat */
  char *bundle;
  char *rootfs;
  char *created;
  uid_t owner;
  ward_kv_t *annotations;
  size_t annotations_len;
  char *cgroup;       /* ward_cgroup_save text, or NULL */
  bool config_copy;   /* config.json kept in the state dir (poststop hooks) */
  bool systemd;
  bool rootless;
  bool creating;      /* written early by create so a killed create can be cleaned up */
} ward_runtime_state_t;

void ward_runtime_state_free (ward_runtime_state_t *st);
static inline void ward_runtime_state_freep (ward_runtime_state_t **st)
{
  if (*st)
    ward_runtime_state_free (*st);
}
#define _cleanup_rtstate_ __attribute__ ((cleanup (ward_runtime_state_freep)))

/* Opens (mkdir 0700 when create) the state root. */
int ward_runtime_root_open (const char *root, bool create, int *fd, ward_error_t **err);

/* Opens <root>/<id> and takes the exclusive lock (lockfd may be NULL: no
 * lock).  "container does not exist" (ENOENT) when missing. */
int ward_runtime_state_open (int rootfd, const char *id, int *dirfd, int *lockfd,
                             ward_error_t **err);

/* Creates <root>/<id> (0711) and locks it; "container with id exists". */
int ward_runtime_state_create_dir (int rootfd, const char *id, int *dirfd, int *lockfd,
                                   ward_error_t **err);

/* Removes <root>/<id> with what it holds. */
int ward_runtime_state_remove (int rootfd, const char *id, ward_error_t **err);

int ward_runtime_state_write (int dirfd, const ward_runtime_state_t *st, ward_error_t **err);
int ward_runtime_state_read (int dirfd, ward_runtime_state_t **out, ward_error_t **err);

/* Start time of pid (field 22); *zombie set for Z/X states. */
int ward_runtime_proc_start_time (pid_t pid, unsigned long long *start, bool *zombie);

/* True when st->pid is alive and is still the same process. */
bool ward_runtime_state_alive (const ward_runtime_state_t *st);

/* "creating" / "created" / "running" / "paused" / "stopped".  lock_held:
 * the caller holds the state dir lock, so a "creating" state.json is the
 * leftover of a create that died ("stopped"). */
const char *ward_runtime_state_status (int dirfd, const ward_runtime_state_t *st, bool lock_held);

/* runtime-spec state object (hooks' stdin) for status. */
char *ward_runtime_spec_state (const ward_runtime_state_t *st, const char *status);

/* Current time, RFC 3339 with nanoseconds (UTC), as Go prints it. */
char *ward_runtime_now_rfc3339 (void);

/* ---- parent/init sync (sync.c) ------------------------------------------ */

enum
{
  WARD_SYNC_ERROR = 1,      /* init -> parent: payload is the message */
  WARD_SYNC_WANT_IDMAP,     /* init -> parent: write my uid/gid maps */
  WARD_SYNC_IDMAP_DONE,     /* parent -> init */
  WARD_SYNC_RUN_HOOKS,      /* init -> parent: run prestart/createRuntime hooks */
  WARD_SYNC_HOOKS_DONE,     /* parent -> init */
  WARD_SYNC_TERMINAL,       /* init -> parent: pty master as SCM_RIGHTS */
  WARD_SYNC_READY,          /* init -> parent: waiting for exec.fifo next */
  WARD_SYNC_CREATED,        /* parent -> init: state written, drop pdeathsig */
  WARD_SYNC_ACK,            /* init -> parent */
  WARD_SYNC_CGROUP_DONE,    /* parent -> init: moved into the cgroup (v1) */
  WARD_SYNC_PID,            /* init -> parent: host pid of the forked real init */
};

/* SOCK_SEQPACKET pair: one message per packet, EOF when the peer is gone. */
int ward_runtime_sync_pair (int fds[2], ward_error_t **err);

/* clone3() with CLONE_PIDFD (the pidfd goes to *pidfd) and, when cgfd >= 0,
 * CLONE_INTO_CGROUP: the child starts in its cgroup without a cgroup.procs
 * write.  Returns 0 in the child, the pid in the parent, or a negative
 * errno with *err naming `what`. */
pid_t ward_runtime_clone3 (unsigned long flags, int cgfd, int *pidfd, const char *what,
                           ward_error_t **err);
int ward_runtime_sync_send (int fd, int type, const void *data, size_t len, int pass_fd,
                            ward_error_t **err);
/* *data is NUL-terminated (may be NULL); *fd_out -1 unless an fd came.
 * EOF is -EPIPE with "init exited unexpectedly"-style message left to the caller. */
int ward_runtime_sync_recv (int fd, int *type, char **data, int *fd_out, ward_error_t **err);
/* Receives one message and fails unless it has the wanted type; an ERROR
 * message becomes *err with its text. */
int ward_runtime_sync_expect (int fd, int want, int *fd_out, ward_error_t **err);

/* ---- hooks (hooks.c) ---------------------------------------------------- */

/* Runs hooks in order with state_json on stdin; the first failure is an
 * error naming kind ("prestart"), the index, the path, exit status, stdout,
 * stderr. */
int ward_runtime_hooks_run (const char *kind, const ward_hook_t *hooks, size_t n,
                            const char *state_json, ward_error_t **err);

/* ---- container init (init.c) -------------------------------------------- */

typedef struct
{
  const ward_config_t *config;
  const ward_create_opts_t *opts;
  const char *bundle;   /* absolute */
  const char *rootfs;   /* absolute */
  int sync_fd;
  int fifo_fd;          /* O_PATH fd of exec.fifo */
  int ns_fds[WARD_NS__COUNT];
  unsigned long unshare_flags; /* namespaces the init creates itself */
  bool new_userns;      /* a new user namespace exists or is unshared */
  bool wait_cgroup;     /* unshare the cgroup ns only after CGROUP_DONE */
  bool fork_init;       /* fork once more after setns/unshare of the pid ns */
  bool parent_hooks;    /* any pre-start hook: the parent runs prestart/createRuntime
                         * and hands the state JSON to the init's hooks */
  bool want_terminal;
  int listen_fds;
  const ward_seccomp_prog_t *seccomp; /* compiled by the parent, or NULL */
  const int *mount_fds;   /* per config.mounts index: idmapped clone or -1; NULL when none */
  const int *close_early; /* parent-only fds (lock, dirs) */
  size_t close_early_len;
  int *cgroup_task_fds;   /* v1 `tasks` files the init moves itself through first */
  size_t cgroup_task_fds_len;
} ward_runtime_init_t;

/* Never returns. */
__attribute__ ((noreturn)) void ward_runtime_init_main (const ward_runtime_init_t *init);

/* ---- kill / delete helpers (kill_delete.c) ------------------------------ */

/* Kills what is left of a container and removes its cgroup and state dir,
 * running poststop hooks; used by delete and by a failed create/run. */
int ward_runtime_destroy (int rootfd, int dirfd, const ward_runtime_state_t *st,
                          const ward_config_t *config, ward_error_t **err);

/* pidfd of st->pid after checking it is still the same process. */
int ward_runtime_pidfd (const ward_runtime_state_t *st, ward_error_t **err);

/* ---- foreground wait (wait.c) ------------------------------------------- */

/* Exit status as a shell reports it: the code, or 128+signal. */
int ward_runtime_status_to_exit (int status);

/* Waits for pid (a child of ours) forwarding every catchable signal to it
 * through pidfd, and reaping any other child (run is a subreaper); with
 * master_fd >= 0 relays the terminal meanwhile.  The caller has blocked
 * all signals. */
int ward_runtime_wait_forward (pid_t pid, int pidfd, int master_fd, int *exit_status,
                               ward_error_t **err);

/* ---- ps / update / events (ps.c) ---------------------------------------- */

/* Opens root/id (lockfd may be NULL: no lock) and reads its state;
 * "container does not exist" when missing. */
int ward_runtime_open_existing (const char *root, const char *id, int *rootfd, int *dirfd,
                                int *lockfd, ward_runtime_state_t **st, ward_error_t **err);

/* The container's cgroup manager restored from its state. */
struct ward_cgroup;
int ward_runtime_restore_cgroup (const ward_runtime_state_t *st, struct ward_cgroup **cg,
                                 ward_error_t **err);

#endif
