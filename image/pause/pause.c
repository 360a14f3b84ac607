/* ward-pause: the process that holds a pod sandbox's namespaces open.
 * It does nothing but wait: SIGINT/SIGTERM end it with status 0, and as
 * the pid namespace's init it reaps every orphan that is re-parented to
 * it.  Linked statically so the image needs nothing but this binary;
 * no stdio, which keeps the static binary small. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "ward-pause 1.0\n"

static void say (const char *s)
{
  /* nothing useful to do if stderr is gone */
  if (write (STDERR_FILENO, s, strlen (s)) < 0)
    return;
}

int main (int argc, char **argv)
{
  sigset_t set;
  int sig;

  if (argc > 1 && (strcmp (argv[1], "-v") == 0 || strcmp (argv[1], "--version") == 0))
    return write (STDOUT_FILENO, PAUSE_VERSION, strlen (PAUSE_VERSION)) < 0;
  /* As pid 1 the kernel drops signals that have no handler, so the ones
     we act on are blocked and taken synchronously with sigwait(). */
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGCHLD);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    {
      say ("ward-pause: sigprocmask failed\n");
      return 1;
    }
  if (getpid () != 1)
    say ("ward-pause: not pid 1, orphans will not be reaped here\n");
  for (;;)
    {
      if (sigwait (&set, &sig) != 0)
        continue;
      if (sig == SIGCHLD)
        {
          /* several exits may have been merged into one SIGCHLD */
          while (waitpid (-1, NULL, WNOHANG) > 0)
            ;
          continue;
        }
      say (sig == SIGTERM ? "ward-pause: SIGTERM, exiting\n" : "ward-pause: SIGINT, exiting\n");
      return 0;
    }
}
