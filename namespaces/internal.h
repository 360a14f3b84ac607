/* namespaces/ internal helpers shared between the files of this module. */
#ifndef WARD_NAMESPACES_INTERNAL_H
#define WARD_NAMESPACES_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "namespaces/namespaces.h"

/* resolve.c: resolves path inside the root at rootfs_fd, creating missing
 * directories (and, when as_file, the last component as an empty file)
 * without leaving the root.  Returns an O_PATH fd of the target. */
int ward_ns_mkdir_in_root (int rootfs_fd, const char *path, mode_t mode, bool as_file,
                           ward_error_t **err);

/* resolve.c: the openat2-less resolver (used on ENOSYS); returns an fd or
 * -1 with errno.  Exposed for the unit test. */
int ward_ns_open_in_root_walk (int rootfs_fd, const char *path, int flags);

/* ns.c: hostname/domainname need a UTS namespace (runc's wording). */
int ward_ns_check_uts (const ward_config_t *cfg, ward_error_t **err);

/* mountinfo.c */
typedef struct
{
  int id, parent;
  char *root, *mountpoint, *optional, *fstype, *source, *super_opts;
} ward_mountinfo_t;
int ward_ns_mountinfo_read (ward_mountinfo_t **out, size_t *n, ward_error_t **err);
void ward_ns_mountinfo_free (ward_mountinfo_t *mi, size_t n);

/* rootfs.c: MS_* flags of the mount at fd that a user namespace locks
 * (nosuid, nodev, noexec, rdonly, atime family), from statvfs. */
unsigned long ward_ns_locked_flags (int fd);
/* rootfs.c: bind-remount the mount at fd with flags, adding the locked
 * flags when the kernel refuses to clear them. */
int ward_ns_remount_bind (int fd, unsigned long flags, const char *what, ward_error_t **err);

/* copyup.c: copies the tree under src_dir into dst_dir (tmpcopyup). */
int ward_ns_copy_up (int src_dir, int dst_dir, ward_error_t **err);

/* "/proc/self/fd/N" for an fd, in a caller-provided buffer. */
#define WARD_FD_PATH_MAX 32
const char *ward_ns_fd_path (int fd, char buf[WARD_FD_PATH_MAX]);

/* devices.c: default devices, linux.devices, /dev symlinks, ptmx, console. */
int ward_ns_setup_dev (int rootfs_fd, const ward_rootfs_opts_t *opts, ward_error_t **err);

/* idmap.c: a user-namespace fd whose maps are the given ones (a throw-away
 * child is created, mapped and reaped). */
int ward_ns_userns_fd_for_maps (const ward_id_mapping_t *uids, size_t nuids,
                                const ward_id_mapping_t *gids, size_t ngids,
                                ward_error_t **err);
/* idmap.c: bind src onto target_fd as an idmapped mount (open_tree clone,
 * mount_setattr MOUNT_ATTR_IDMAP, move_mount). */
int ward_ns_mount_idmapped (const ward_config_t *cfg, const char *src, int target_fd,
                            const ward_mount_t *m, const ward_mount_options_t *mo,
                            ward_error_t **err);

/* idmap.c: move_mount of a detached tree onto target_fd. */
int ward_ns_attach_tree (int tree, int target_fd, const char *what, ward_error_t **err);

/* cgroup_mount.c: the "cgroup" mount type on a v2 or v1/hybrid host. */
int ward_ns_mount_cgroup (const ward_rootfs_opts_t *opts, int rootfs_fd, const ward_mount_t *m,
                          const ward_mount_options_t *mo, ward_error_t **err);

#endif
