/* ward-init: the PID 1 that `ward run --init` puts in front of the
 * container's command (docker's docker-init / tini role).  It runs the
 * command as its child, forwards the signals it receives to it (to its
 * process group with -g), reaps every zombie that gets re-parented to it,
 * and exits with the child's status: the exit code, or 128+N when signal N
 * killed it.  Built static: it is bind-mounted into images that may have
 * no libc at all. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage (FILE *out)
{
  fputs ("usage: ward-init [-g] [-s] [--] COMMAND [ARG...]\n"
         "  -g  forward signals to the child's process group\n"
         "  -s  register as a child subreaper (when not PID 1)\n",
         out);
}

/* Signals that report a fault in this very process: never blocked. */
static bool synchronous (int sig)
{
  return sig == SIGFPE || sig == SIGILL || sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT
         || sig == SIGTRAP || sig == SIGSYS;
}

int main (int argc, char **argv)
{
  sigset_t all, old;
  bool group = false, subreaper = false;
  int i = 1, child_status = -1;
  pid_t child;

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (argv[i], "-g") == 0)
        group = true;
      else if (strcmp (argv[i], "-s") == 0)
        subreaper = true;
      else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        {
          usage (stdout);
          return 0;
        }
      else
        {
          fprintf (stderr, "ward-init: unknown option '%s'\n", argv[i]);
          usage (stderr);
          return 1;
        }
    }
  if (i >= argc)
    {
      usage (stderr);
      return 1;
    }
  if (subreaper && prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    fprintf (stderr, "ward-init: PR_SET_CHILD_SUBREAPER: %s\n", strerror (errno));

  /* Every asynchronous signal is taken with sigwaitinfo, none by a handler:
   * blocked before the fork so that none is lost in between. */
  sigfillset (&all);
  for (int s = 1; s < NSIG; s++)
    if (synchronous (s))
      sigdelset (&all, s);
  sigprocmask (SIG_SETMASK, &all, &old);
  /* a PID 1 in the background of a terminal must not be stopped by it */
  signal (SIGTTIN, SIG_IGN);
  signal (SIGTTOU, SIG_IGN);

  child = fork ();
  if (child < 0)
    {
      fprintf (stderr, "ward-init: fork: %s\n", strerror (errno));
      return 1;
    }
  if (child == 0)
    {
      signal (SIGTTIN, SIG_DFL);
      signal (SIGTTOU, SIG_DFL);
      sigprocmask (SIG_SETMASK, &old, NULL);
      if (group)
        setpgid (0, 0);
      execvp (argv[i], &argv[i]);
      fprintf (stderr, "ward-init: exec %s failed: %s\n", argv[i], strerror (errno));
      /* the shell's convention, as docker run reports it */
      _exit (errno == ENOENT ? 127 : 126);
    }

  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (&all, &si);
      if (sig < 0)
        {
          if (errno == EINTR)
            continue;
          fprintf (stderr, "ward-init: sigwaitinfo: %s\n", strerror (errno));
          return 1;
        }
      if (sig != SIGCHLD)
        {
          if (kill (group ? -child : child, sig) < 0 && errno != ESRCH)
            fprintf (stderr, "ward-init: forward signal %d: %s\n", sig, strerror (errno));
          continue;
        }
      /* one SIGCHLD may stand for many exits: reap them all */
      for (;;)
        {
          int st;
          pid_t w = waitpid (-1, &st, WNOHANG);
          if (w <= 0)
            break;
          if (w == child)
            child_status = st;
        }
      if (child_status != -1)
        break;
    }
  if (WIFEXITED (child_status))
    return WEXITSTATUS (child_status);
  if (WIFSIGNALED (child_status))
    return 128 + WTERMSIG (child_status);
  return 1;
}
