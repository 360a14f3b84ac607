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

/* --- additions (process engineer) -------------------------------------- */

/* Notes on ward_process_setup as implemented (runc 1.1 behaviour):
 * - apparmorProfile / selinuxLabel are skipped (debug/warning line) when
 *   the host has no such LSM enabled, as runc does, not refused.
 * - capabilities == NULL drops every capability (runc); names unknown to
 *   this kernel are skipped with a warning.
 * - a missing cwd is created 0755 (runc's MkdirAll), resolved inside the
 *   current root without magic links; the resulting cwd must be reachable
 *   from "/" (CVE-2024-21626) or setup fails.
 * - stdio owned by another user is chowned to the container user (runc's
 *   fixStdioPermissions), /dev/null excepted. */

#include <sched.h>

/* ward_process_setup with linux.personality applied in its place in the
 * order (pers may be NULL).  ward_process_setup(p) == setup_full(p, NULL). */
int ward_process_setup_full (const ward_process_t *process, const ward_personality_t *pers,
                             ward_error_t **err);

/* personality(2) for linux.personality.domain LINUX / LINUX32. */
int ward_process_apply_personality (const ward_personality_t *pers, ward_error_t **err);

/* Parses a cpu list ("0-2,5") into a CPU_ALLOC'd set (free with CPU_FREE);
 * *size_out is its byte size for sched_setaffinity. */
int ward_process_parse_cpu_list (const char *list, cpu_set_t **set_out, size_t *size_out,
                                 ward_error_t **err);

/* sched_setaffinity(pid, list): execCPUAffinity.final is applied by the
 * runtime to the container pid after exec with this.  NULL/"" is a no-op. */
int ward_process_set_cpu_affinity (pid_t pid, const char *list, ward_error_t **err);

/* The PATH look-up ward_process_exec does, without exec: the init calls it
 * before reporting "ready" so a missing binary fails `create` as in runc.
 * *path_out is malloc'd. */
int ward_process_find_executable (const ward_process_t *process, char **path_out,
                                  ward_error_t **err);

/* process->env plus HOME (from the container's /etc/passwd for user.uid,
 * else "/") when env has none, as runc does.  NULL-terminated, malloc'd
 * (free each string and the vector). */
char **ward_process_build_env (const ward_process_t *process);

/* Sends fd over a connected unix socket with SCM_RIGHTS and payload as the
 * message data (one NUL byte when len is 0). */
int ward_process_send_fd (int sock, int fd, const void *payload, size_t len, ward_error_t **err);

/* Connects to the unix socket at path (paths longer than sun_path work
 * through /proc/self/fd) and sends fd + payload. */
int ward_process_send_fd_to_path (const char *path, int fd, const void *payload, size_t len,
                                  ward_error_t **err);

#endif
