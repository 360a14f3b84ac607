/* `measure FD CMD...` runs CMD and writes "wall_ns cpu_ns maxrss_kib status"
 * to FD (kept away from CMD, whose children may hold their stdio open).
 * A tiny static parent matters: the kernel folds the pre-exec address
 * space's RSS into the child's ru_maxrss, so a large parent (Python) would
 * inflate every runtime's peak RSS figure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main (int argc, char **argv)
{
  struct timespec t0, t1;
  struct rusage ru;
  int status;
  pid_t pid;

  int out_fd;
  FILE *out;

  if (argc < 3)
    return 2;
  out_fd = atoi (argv[1]);
  if (fcntl (out_fd, F_SETFD, FD_CLOEXEC) < 0 || (out = fdopen (out_fd, "w")) == NULL)
    return 2;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  pid = vfork ();
  if (pid == 0)
    {
      execv (argv[2], argv + 2);
      _exit (127);
    }
  if (pid < 0 || wait4 (pid, &status, 0, &ru) < 0)
    return 2;
  clock_gettime (CLOCK_MONOTONIC, &t1);
  fprintf (out, "%lld %lld %ld %d\n",
          (long long) (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
          (long long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL
              + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL,
          ru.ru_maxrss, status);
  return 0;
}
