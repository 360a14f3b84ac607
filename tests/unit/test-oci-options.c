/* cli/oci/options.c: urfave/cli-compatible flag parsing of ward-runtime. */
#include <stdlib.h>
#include <string.h>

#include "cli/oci/options.h"
#include "tests/unit/tap.h"

static const char *bundle, *format;
static bool detach, debug;
static int preserve;

static const cli_opt_t opts[] = {
  { "bundle", "b", CLI_STRING, &bundle, NULL },
  { "format", "f", CLI_STRING, &format, NULL },
  { "detach", "d", CLI_BOOL, &detach, NULL },
  { "debug", NULL, CLI_BOOL, &debug, NULL },
  { "preserve-fds", NULL, CLI_UINT, &preserve, NULL },
};

static int parse (bool permute, char **argv, char ***pos, int *npos, char **errmsg)
{
  int argc = 0;
  while (argv[argc])
    argc++;
  bundle = format = NULL;
  detach = debug = false;
  preserve = 0;
  *pos = NULL;
  *errmsg = NULL;
  return cli_parse (opts, sizeof opts / sizeof opts[0], argc, argv, permute, pos, npos, errmsg);
}

int main (void)
{
  char **pos = NULL, *errmsg = NULL;
  int n = 0, r;

  {
    char *argv[] = { "--bundle", "/b", "-d", "id", NULL };
    tap_ok (parse (true, argv, &pos, &n, &errmsg) == 0 && bundle && strcmp (bundle, "/b") == 0 && detach
                && n == 1 && strcmp (pos[0], "id") == 0,
            "--flag value, short bool, positional");
    free (pos);
  }
  {
    char *argv[] = { "-bundle=/c", "--preserve-fds=3", "id", NULL };
    tap_ok (parse (true, argv, &pos, &n, &errmsg) == 0 && strcmp (bundle, "/c") == 0 && preserve == 3,
            "-flag=value and --flag=value");
    free (pos);
  }
  {
    char *argv[] = { "id", "-b", "/d", "--detach=false", "--debug=true", NULL };
    tap_ok (parse (true, argv, &pos, &n, &errmsg) == 0 && strcmp (bundle, "/d") == 0 && !detach && debug
                && n == 1,
            "flags after the positional (urfave reorders) and =true/=false");
    free (pos);
  }
  {
    char *argv[] = { "list", "--bundle", "x", NULL };
    tap_ok (parse (false, argv, &pos, &n, &errmsg) == 0 && bundle == NULL && n == 3,
            "without permute, parsing stops at the first positional");
    free (pos);
  }
  {
    char *argv[] = { "--", "-b", NULL };
    tap_ok (parse (true, argv, &pos, &n, &errmsg) == 0 && n == 1 && strcmp (pos[0], "-b") == 0,
            "-- ends the flags");
    free (pos);
  }
  {
    char *argv[] = { "--bogus", NULL };
    r = parse (true, argv, &pos, &n, &errmsg);
    tap_ok (r < 0 && errmsg
                && strcmp (errmsg, "flag provided but not defined: -bogus") == 0,
            "unknown flag worded as runc: %s", errmsg ? errmsg : "(none)");
    free (errmsg);
  }
  {
    char *argv[] = { "--bundle", NULL };
    r = parse (true, argv, &pos, &n, &errmsg);
    tap_ok (r < 0 && errmsg && strstr (errmsg, "needs an argument"),
            "missing value: %s", errmsg ? errmsg : "(none)");
    free (errmsg);
  }
  {
    char *argv[] = { "--detach=maybe", NULL };
    r = parse (true, argv, &pos, &n, &errmsg);
    tap_ok (r < 0 && errmsg && strstr (errmsg, "invalid boolean"),
            "bad boolean: %s", errmsg ? errmsg : "(none)");
    free (errmsg);
  }
  {
    char *argv[] = { "--preserve-fds", "-1", NULL };
    r = parse (true, argv, &pos, &n, &errmsg);
    tap_ok (r < 0 && errmsg && strstr (errmsg, "invalid value"),
            "negative count refused: %s", errmsg ? errmsg : "(none)");
    free (errmsg);
  }
  {
    char *argv[] = { "-", "-f", "json", NULL };
    tap_ok (parse (true, argv, &pos, &n, &errmsg) == 0 && n == 1 && strcmp (pos[0], "-") == 0
                && strcmp (format, "json") == 0,
            "a lone '-' is positional");
    free (pos);
  }
  {
    /* exec's flags: repeated -e/-g, signed ints, and no reordering. */
    static cli_strv_t env, gids;
    static int limit;
    static bool tty;
    static const cli_opt_t eopts[] = {
      { "env", "e", CLI_STRING_SLICE, &env, NULL },
      { "additional-gids", "g", CLI_STRING_SLICE, &gids, NULL },
      { "pids-limit", NULL, CLI_INT, &limit, NULL },
      { "tty", "t", CLI_BOOL, &tty, NULL },
    };
    char *argv[] = { "-e", "A=1", "--env=B=2", "-g", "10", "-t", "--pids-limit", "-1", "ctr",
                     "ls", "-e", "x", NULL };
    char *perr = NULL;
    r = cli_parse (eopts, 4, 12, argv, false, &pos, &n, &perr);
    tap_ok (r == 0 && env.n == 2 && strcmp (env.v[0], "A=1") == 0 && strcmp (env.v[1], "B=2") == 0
                && env.v[2] == NULL,
            "string slice flag collects every occurrence in order");
    tap_ok (r == 0 && gids.n == 1 && strcmp (gids.v[0], "10") == 0 && tty && limit == -1,
            "-g, -t and a negative int flag");
    tap_ok (r == 0 && n == 4 && strcmp (pos[0], "ctr") == 0 && strcmp (pos[2], "-e") == 0,
            "without reordering the command's own flags stay arguments");
    free (pos);
    free (env.v);
    free (gids.v);
    char *bad[] = { "--pids-limit", "abc", NULL };
    r = cli_parse (eopts, 4, 2, bad, false, &pos, &n, &perr);
    tap_ok (r < 0 && perr && strcmp (perr, "invalid value \"abc\" for flag -pids-limit: parse error") == 0,
            "bad int worded as runc: %s", perr ? perr : "(none)");
    free (perr);
  }
  return tap_done ();
}
