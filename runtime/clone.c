/* clone3() for the container init and exec'd processes. */
#include "runtime/internal.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t ward_runtime_clone3 (unsigned long flags, int cgfd, int *pidfd, const char *what,
                           ward_error_t **err)
{
  struct clone_args args = {
    .flags = flags | CLONE_PIDFD,
    .pidfd = (uint64_t) (uintptr_t) pidfd,
    .exit_signal = SIGCHLD,
  };
  pid_t pid;

  if (cgfd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t) cgfd;
    }
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0)
    return ward_error_set (err, errno, "clone3 %s (flags 0x%llx)", what,
                           (unsigned long long) args.flags);
  return pid;
}
