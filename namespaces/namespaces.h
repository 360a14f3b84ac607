/* Namespaces and the container's root filesystem.  Everything here runs
 * either in the parent (preparing the clone, writing id maps) or inside the
 * container init before the user process is executed.  Knows nothing of
 * cgroups or images. */
#ifndef WARD_NAMESPACES_H
#define WARD_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
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

/* For exec: joins every namespace of the running process pid (the
 * container's init) that differs from the caller's, user namespace
 * included, with one atomic setns(pidfd, flags) where the kernel has it
 * (5.8+) and per-namespace /proc/<pid>/ns/<type> fds otherwise.  pidfd may be
 * -1 (one is opened).  pid and time namespaces apply to children forked
 * afterwards; the mount namespace moves root and cwd to the container's. */
int ward_ns_enter_pid (pid_t pid, int pidfd, ward_error_t **err);

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
  /* Per config.mounts index: a detached mount prepared on the host side by
   * ward_ns_prepare_idmapped_mounts (moved onto the target instead of
   * mounting), or -1.  May be NULL. */
  const int *mount_fds;
  /* Called before a "cgroup" mount looks up our own cgroup in
   * /proc/self/cgroup: on v1/hybrid the parent moves the init into the
   * container's cgroups while the init mounts, and the runtime waits for
   * that here. May be NULL. */
  int (*before_cgroup_mount) (void *data, ward_error_t **err);
  void *before_cgroup_mount_data;
} ward_rootfs_opts_t;

/* In the parent, before clone (the init inherits the fds): for every bind
 * mount that asks for an idmapped mount ("idmap"/"ridmap" or per-mount
 * uidMappings/gidMappings), a detached clone of the source with the id
 * mapping applied.  Only the host side may idmap a host filesystem, so a
 * container in a user namespace needs these.  When the container gets a
 * new user namespace, every other bind source is cloned here as well
 * (unmapped), since its root may not be able to reach the source path.
 * *fds gets an array of
 * cfg->mounts_len fds (-1 where not needed), or NULL when no mount needs
 * one; free it with ward_ns_close_mount_fds. */
int ward_ns_prepare_idmapped_mounts (const ward_config_t *cfg, const char *bundle, int **fds,
                                     ward_error_t **err);
void ward_ns_close_mount_fds (int *fds, size_t n);

/* In the init, inside the new mount namespace: makes the rootfs a mount,
 * applies rootfsPropagation, performs every mount in config order (targets
 * resolved inside the rootfs without following symlinks out of it), /dev and
 * devices, pivot_root, root.readonly, maskedPaths, readonlyPaths.  Returns
 * with the cwd at the new "/".  A config without a mount namespace (neither
 * new nor joined) leaves the mount tree alone and returns 0, as runc does. */
int ward_rootfs_setup (const ward_rootfs_opts_t *opts, ward_error_t **err);

/* Resolves path inside the rootfs at rootfs_fd without letting symlinks or
 * ".." escape (openat2 RESOLVE_IN_ROOT, with a manual walk as fallback) and
 * returns an O_PATH fd.  Used by the runtime for cwd checks.  flags are the
 * open(2) flags of the result (0 means O_PATH); the error names the path. */
int ward_open_in_root (int rootfs_fd, const char *path, int flags, ward_error_t **err);

/* ---- mount options (mount_options.c) ---------------------------------- */

#define WARD_MOUNT_MAX_PROPAGATION 8

/* config.mounts[].options parsed as runc parses them. */
typedef struct
{
  unsigned long flags;        /* MS_* to set (MS_BIND, MS_REC for rbind, MS_RDONLY, ...) */
  unsigned long clear_flags;  /* MS_* explicitly cleared (rw, suid, dev, exec, atime, ...) */
  unsigned long propagation[WARD_MOUNT_MAX_PROPAGATION]; /* applied in order after the mount */
  size_t propagation_len;
  uint64_t rec_attr_set, rec_attr_clr; /* MOUNT_ATTR_* for rro, rnosuid, ... (AT_RECURSIVE) */
  bool idmap, ridmap;         /* "idmap" / "ridmap" */
  bool tmpcopyup;             /* a tmpfs starts with a copy of the directory it hides */
  char *data;                 /* unknown options joined by ',' (filesystem data), NULL if none */
} ward_mount_options_t;

/* Parses options (NULL-terminated, may be NULL).  Never fails on unknown
 * options (they go to data); fails only on too many propagation flags. */
int ward_mount_options_parse (char *const *options, ward_mount_options_t *out,
                              ward_error_t **err);
void ward_mount_options_free (ward_mount_options_t *mo);

/* The MS_* propagation flag for a rootfsPropagation value ("rslave", ...);
 * 0 when name is not a propagation mode. */
unsigned long ward_mount_propagation_flag (const char *name);

/* 0 when the sysctl key (dots or slashes) is namespaced and the namespace
 * it needs is a private one in cfg; otherwise fills err with runc's wording
 * (`sysctl "vm.foo" is not in a separate kernel namespace`). */
int ward_sysctl_check_one (const ward_config_t *cfg, const char *key, ward_error_t **err);

#endif
