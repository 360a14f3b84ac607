/* runtime/ internal: what the container init (and, later, exec) does to the
 * process itself after the rootfs is ready and before execve.  Split from
 * the lifecycle code so exec can reuse it. */
#ifndef WARD_RUNTIME_PROCESS_H
#define WARD_RUNTIME_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "specs/specs.h"

/* Applies, in runc's order: rlimits, oomScoreAdj, personality, scheduler,
 * ioPriority, execCPUAffinity.initial, umask, then the user switch
 * (setgroups with additionalGids, setresgid, setresuid keeping the
 * capabilities needed), the five capability sets with libcap,
 * noNewPrivileges, and the apparmor/selinux labels (refused with a clear
 * error when the host has no such LSM).  Does not load seccomp and does not
 * exec.  `cwd` is changed to process->cwd, which must resolve inside the
 * current root (CVE-2024-21626). */
int ward_process_setup (const ward_process_t *process, ward_error_t **err);

/* Closes every fd >= 3 + preserve_fds except those in keep[] (keep may be
 * NULL) — close_range where the kernel has it.  CVE-2024-21626: no host fd
 * reaches the container process. */
int ward_process_close_fds (int preserve_fds, const int *keep, size_t keep_len,
                            ward_error_t **err);

/* Looks process->args[0] up in the PATH of process->env (as execvp would,
 * but with the container's PATH) and execve()s it.  Returns only on error,
 * with the reason ("exec: \"foo\": executable file not found in $PATH", as
 * runc words it). */
int ward_process_exec (const ward_process_t *process, ward_error_t **err);

/* --- terminals --------------------------------------------------------- */

/* In the init, after the rootfs is ready: opens a new pty pair from the
 * container's /dev/ptmx, applies consoleSize, bind-mounts the slave on
 * /dev/console, makes it the controlling terminal and stdio.  Returns the
 * master fd (to be sent to the console socket by the caller). */
int ward_terminal_setup_in_init (const ward_process_t *process, int *master_fd,
                                 ward_error_t **err);

/* Sends a pty master over the unix socket at path with SCM_RIGHTS, as runc
 * does for --console-socket (conmon and containerd's shim receive it). */
int ward_terminal_send_to_socket (const char *socket_path, int master_fd,
                                  ward_error_t **err);

/* `run -t` without a console socket: relays between our stdin/stdout and
 * the master until the master hangs up; puts our terminal in raw mode while
 * it runs and restores it, and forwards SIGWINCH size changes. */
int ward_terminal_relay (int master_fd, ward_error_t **err);

#endif
