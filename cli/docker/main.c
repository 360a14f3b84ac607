/* ward: the docker-compatible, daemonless front end.  The verbs arrive with
 * the image and container-manager work; until then each one says so and
 * exits 1, never pretending to succeed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "specs/specs.h"

static const char *const known_verbs[] = {
  "run", "create", "start", "stop", "kill", "restart", "rm", "ps", "logs", "exec",
  "inspect", "wait", "top", "stats", "port", "cp", "pull", "images", "rmi", "tag",
  "load", "save", "info", "network", NULL,
};

static void usage (FILE *out)
{
  fputs ("Usage:  ward [OPTIONS] COMMAND\n\n"
         "A daemonless, docker-compatible container manager\n\n"
         "Commands:\n"
         "  version     Show the ward version information\n",
         out);
  fputs ("\nNot implemented yet:", out);
  for (const char *const *v = known_verbs; *v; v++)
    fprintf (out, " %s", *v);
  fputs ("\n", out);
}

int main (int argc, char **argv)
{
  const char *verb = argc > 1 ? argv[1] : NULL;

  if (verb == NULL || strcmp (verb, "--help") == 0 || strcmp (verb, "-h") == 0
      || strcmp (verb, "help") == 0)
    {
      usage (verb ? stdout : stderr);
      return verb ? 0 : 1;
    }
  if (strcmp (verb, "version") == 0 || strcmp (verb, "--version") == 0 || strcmp (verb, "-v") == 0)
    {
      printf ("ward version %s, commit %s, runtime-spec %s\n", PACKAGE_VERSION, WARD_GIT_COMMIT,
              WARD_OCI_VERSION);
      return 0;
    }
  for (const char *const *v = known_verbs; *v; v++)
    if (strcmp (verb, *v) == 0)
      {
        fprintf (stderr, "ward: '%s' is not implemented yet\n", verb);
        return 1;
      }
  fprintf (stderr, "ward: '%s' is not a ward command.\nSee 'ward --help'\n", verb);
  return 125;
}
