/* Namespaces and the container's root filesystem.  Everything here runs
 * either in the parent (preparing the clone, writing id maps) or inside the
 * container init before the user process is executed.  Knows nothing of
 * cgroups or images. */
#ifndef WARD_NAMESPACES_H
#define WARD_NAMESPACES_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "specs/specs.h"

/* CLONE_NEW* flags for the namespaces the config asks to create (entries
 * without a path).  CLONE_NEWTIME is not included: the init unshares it
 * itself after the offsets are known (see ward_ns_setup_time). */
unsigned long ward_ns_clone_flags (const ward_config_t *cfg);

/* Opens every namespace path of the config (in the parent, before clone),
 * checking each is a namespace of the right type (NS_GET_NSTYPE).  fds[t]
 * is -1 for types that are not joined.  Errors name the path. */
int ward_ns_open_paths (const ward_config_t *cfg, int fds[WARD_NS__COUNT], ward_error_t **err);
void ward_ns_close_fds (int fds[WARD_NS__COUNT]);

/* In the init: setns() into the opened namespaces.  The user namespace is
 * joined first (phase user_only = true), the rest after (user_only = false). */
int ward_ns_join (int fds[WARD_NS__COUNT], bool user_only, ward_error_t **err);

/* In the parent: writes /proc/<pid>/uid_map, gid_map (and setgroups "deny"
 * when a rootless caller maps only itself). */
int ward_ns_write_id_maps (pid_t pid, const ward_config_t *cfg, ward_error_t **err);

/* In the init: unshare(CLONE_NEWTIME) and write timens_offsets when the
 * config asks for a new time namespace. The executed process enters it. */
int ward_ns_setup_time (const ward_config_t *cfg, ward_error_t **err);

/* In the init (after the uts namespace exists): sethostname/setdomainname. */
int ward_ns_set_hostname (const ward_config_t *cfg, ward_error_t **err);

/* Before anything runs: every linux.sysctl key must be namespaced and the
 * matching namespace must be new (e.g. net.* needs a network namespace). */
int ward_sysctl_validate (const ward_config_t *cfg, ward_error_t **err);
/* In the init, after /proc is mounted in the new root. */
int ward_sysctl_apply (const ward_config_t *cfg, ward_error_t **err);

typedef struct
{
  const ward_config_t *config;
  const char *bundle;       /* absolute bundle dir: relative root.path and bind sources resolve against it */
  const char *rootfs;       /* absolute path of root.path */
  bool no_pivot;            /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
  bool create_console;      /* process.terminal: create an empty /dev/console to bind the pty on */
  bool in_user_ns;          /* devices are bind-mounted from the host instead of mknod */
  /* Called after every mount is in place and before pivot_root, with the
   * cwd at the rootfs: the runtime runs createContainer hooks here, as the
   * runtime-spec orders them. May be NULL. */
  int (*before_pivot) (void *data, ward_error_t **err);
  void *before_pivot_data;
} ward_rootfs_opts_t;

/* In the init, inside the new mount namespace: makes the rootfs a mount,
 * applies rootfsPropagation, performs every mount in config order (targets
 * resolved inside the rootfs without following symlinks out of it), /dev and
 * devices, pivot_root, root.readonly, maskedPaths, readonlyPaths.  Returns
 * with the cwd at the new "/". */
int ward_rootfs_setup (const ward_rootfs_opts_t *opts, ward_error_t **err);

/* Resolves path inside the rootfs at rootfs_fd without letting symlinks or
 * ".." escape (openat2 RESOLVE_IN_ROOT, with a manual walk as fallback) and
 * returns an O_PATH fd.  Used by the runtime for cwd checks. */
int ward_open_in_root (int rootfs_fd, const char *path, int flags, ward_error_t **err);

#endif
