/* linux.seccomp: compiling the OCI section with libseccomp, caching the BPF
 * by the section's canonical JSON, loading it, and handing the notify fd to
 * a seccomp agent (listenerPath). */
#ifndef WARD_RUNTIME_SECCOMP_H
#define WARD_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "specs/specs.h"

#define WARD_SECCOMP_CACHE_DIR "/run/ward/seccomp-cache"

struct sock_filter;

/* A compiled filter, ready for seccomp(2).  Plain memory: it can be built
 * in the runtime before the rootfs is pivoted (where the cache directory is
 * reachable) and loaded by the init later. */
typedef struct
{
  struct sock_filter *insns;
  size_t insns_len;
  unsigned int flags;     /* SECCOMP_FILTER_FLAG_* from linux.seccomp.flags */
  bool notify;            /* some rule uses SCMP_ACT_NOTIFY */
  bool from_cache;        /* the BPF was read from the cache, not compiled */
  char *listener_path;    /* copies of the section's fields */
  char *listener_metadata;
  int listener_fd;        /* -1, or a socket already connected to listener_path */
} ward_seccomp_prog_t;

/* Connects to listener_path now (host side, before clone/pivot_root) and
 * keeps the socket in p->listener_fd, so ward_seccomp_load in the init
 * sends the notify fd over it instead of looking the path up inside the
 * container's root.  A no-op without NOTIFY or listenerPath. */
int ward_seccomp_prog_connect_listener (ward_seccomp_prog_t *p, ward_error_t **err);

void ward_seccomp_prog_free (ward_seccomp_prog_t *p);
#define _cleanup_seccomp_prog_ __attribute__ ((cleanup (ward_seccomp_prog_freep)))
static inline void ward_seccomp_prog_freep (ward_seccomp_prog_t **p)
{
  if (*p)
    ward_seccomp_prog_free (*p);
}

/* Compiles s to BPF with libseccomp (compile only: nothing is loaded).
 * Unknown syscall names are skipped with ward_debug; rules whose action is
 * the default action are skipped as runc does. */
int ward_seccomp_compile (const ward_seccomp_t *s, ward_seccomp_prog_t **out, ward_error_t **err);

/* Like ward_seccomp_compile but looks the BPF up first in cache_dir (NULL:
 * WARD_SECCOMP_CACHE_DIR; "": no cache) under the SHA-256 of
 * s->canonical_json (plus the libseccomp version), and stores it there
 * after a miss.  Cache failures are logged, never fatal.  Without
 * canonical_json the cache is not used. */
int ward_seccomp_prepare (const ward_seccomp_t *s, const char *cache_dir,
                          ward_seccomp_prog_t **out, ward_error_t **err);

/* Loads the filter into the calling thread with seccomp(2).  Call it last,
 * right before exec: after the user switch and capabilities when
 * noNewPrivileges is set; when it is not, loading needs CAP_SYS_ADMIN, so
 * call it before the capabilities are dropped (runc's order).
 * When the filter uses NOTIFY, the listener fd is returned in *notify_fd
 * if notify_fd is not NULL (the init passes it to the parent, which calls
 * ward_seccomp_send_listener on the host side); with notify_fd NULL it is
 * sent from here (over p->listener_fd when connected, else to
 * listener_path) with state_json, then closed.  The "pid" sent is the one
 * in state_json when it has one (the host pid; getpid() inside a pid
 * namespace is 1), else getpid(). */
int ward_seccomp_load (const ward_seccomp_prog_t *p, const char *state_json, int *notify_fd,
                       ward_error_t **err);

/* compile + load, sending any notify fd to listenerPath with the
 * container state: the one-call form.  It does not use the cache (inside
 * the container "/run" is the container's); for the cache, call
 * ward_seccomp_prepare on the host side (before clone, or before
 * pivot_root) and ward_seccomp_load in the init. */
int ward_seccomp_apply (const ward_seccomp_t *s, const char *state_json, ward_error_t **err);

/* Sends notify_fd to the seccomp agent at listener_path with the
 * runtime-spec containerProcessState JSON: {ociVersion, fds:["seccompFd"],
 * pid, metadata, state}.  state_json is the runtime-spec state (may be NULL:
 * an empty object is sent). */
int ward_seccomp_send_listener (const char *listener_path, int notify_fd, pid_t pid,
                                const char *metadata, const char *state_json,
                                ward_error_t **err);

/* The containerProcessState text sent by ward_seccomp_send_listener. */
char *ward_seccomp_process_state_json (pid_t pid, const char *metadata, const char *state_json);

/* True when some rule (or the default action) is SCMP_ACT_NOTIFY. */
bool ward_seccomp_uses_notify (const ward_seccomp_t *s);


#endif
