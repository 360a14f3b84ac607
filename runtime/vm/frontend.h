/* The host side of ward-vm: what turns `ward-vm create/run` into a
 * container whose init is the VMM.  The runtime's own create path places
 * the init in the container's namespaces and cgroup; instead of building
 * the rootfs and exec'ing the process, that init runs the VMM (after
 * `start`), which boots the guest, hands the OCI config to the guest agent
 * over vsock and relays stdio, signals and the exit status. */
#ifndef WARD_RUNTIME_VM_FRONTEND_H
#define WARD_RUNTIME_VM_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/runtime.h"

/* Environment variables that override where the pieces are found. */
#define WARD_VM_ENV_KERNEL "WARD_VM_KERNEL"   /* vmlinux with a PVH note */
#define WARD_VM_ENV_AGENT "WARD_VM_AGENT"     /* the static ward-vm-agent */
#define WARD_VM_ENV_ROOTFS "WARD_VM_ROOTFS"   /* "virtiofs" (default) or "initramfs" */
#define WARD_VM_ENV_SELF "WARD_VM_SELF"       /* set by ward_vm_frontend_init */
/* Appended to the guest kernel's command line (debugging; the tests pass
 * "wardtestpanic=1", which makes the agent exit as PID 1: a kernel panic). */
#define WARD_VM_ENV_KERNEL_ARGS "WARD_VM_KERNEL_ARGS"

/* Call first in main(): remembers the real path of the program (the
 * CVE-2019-5736 re-exec from a memfd loses it) so the agent next to it in
 * a build tree is found. */
void ward_vm_frontend_init (void);

/* Reads the bundle's config, finds the kernel and the agent, sizes the VM
 * and sets opts->vm_main/vm_data/vm_mem_extra.  debug: the guest's serial
 * console goes to the runtime log. */
int ward_vm_frontend_setup (ward_create_opts_t *opts, bool debug, ward_error_t **err);

/* Where the kernel and the agent are (malloc'd), for `ward-vm features`
 * and the tests; -ENOENT with a message naming what was tried. */
int ward_vm_find_kernel (char **path, ward_error_t **err);
int ward_vm_find_agent (char **path, ward_error_t **err);

/* Writes a cpio (newc) initramfs to fd: the agent as /init and, when
 * rootfs is not NULL, that directory tree as /rootfs (the fallback when
 * there is no virtio-fs).  Hard links are stored as copies. */
int ward_vm_write_initramfs (int fd, const char *agent_path, const char *rootfs,
                             ward_error_t **err);

/* `ward-vm exec`: runs process_json (an OCI process object) in container
 * id through its agent, relaying stdio (and a tty when tty) and returning
 * its exit status. */
int ward_vm_exec (const char *root, const char *id, const char *process_json, bool tty,
                  int *exit_status, ward_error_t **err);

/* `ward-vm ps`: the pids of the container's processes as the guest
 * numbers them (the agent's PS); null JSON becomes n = 0. */
int ward_vm_container_pids (const char *root, const char *id, pid_t **pids, size_t *n,
                            ward_error_t **err);

/* The same from exec's options, as `ward-runtime exec` takes them: the
 * process is --process's file, or the container's config process with the
 * flags applied (ward_exec_apply_opts).  --detach is refused for now. */
int ward_vm_container_exec (const ward_exec_opts_t *opts, int *exit_status, ward_error_t **err);

#endif
