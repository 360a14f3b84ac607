/* ward-runtime / ward-vm: the runc command line.  argv parsing and output
 * only; the lifecycle lives in runtime/. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/oci/options.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/runtime.h"
#include "specs/specs.h"

static const char *prog = "ward-runtime";
static bool vm_mode;
static bool log_to_file;
static char **orig_argv;

static struct
{
  const char *root, *log, *log_format, *criu, *rootless;
  bool debug, systemd_cgroup, help, version;
} g = { .root = WARD_RUNTIME_DEFAULT_ROOT, .log_format = "text" };

static const cli_opt_t global_opts[] = {
  { "debug", NULL, CLI_BOOL, &g.debug, "enable debug logging" },
  { "log", NULL, CLI_STRING, &g.log, "set the log file to write logs to (default is '/dev/stderr')" },
  { "log-format", NULL, CLI_STRING, &g.log_format, "set the log format ('text' (default), or 'json')" },
  { "root", NULL, CLI_STRING, &g.root, "root directory for storage of container state (default: \"/run/ward\")" },
  { "criu", NULL, CLI_STRING, &g.criu, "path to the criu binary (accepted, unused)" },
  { "systemd-cgroup", NULL, CLI_BOOL, &g.systemd_cgroup, "enable systemd cgroup support, cgroupsPath is \"slice:prefix:name\"" },
  { "rootless", NULL, CLI_STRING, &g.rootless, "ignore cgroup permission errors ('true', 'false', or 'auto')" },
  { "help", "h", CLI_BOOL, &g.help, "show help" },
  { "version", "v", CLI_BOOL, &g.version, "print the version" },
};

/* runc prints a fatal error as a log line (stderr unless --log) and, when
 * the log goes to a file, plainly on stderr as well. */
static int fatal (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int fatal (int code, const char *fmt, ...)
{
  char msg[8192];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  ward_log_error ("%s", msg);
  if (log_to_file)
    fprintf (stderr, "%s\n", msg);
  return code;
}

static int fail (ward_error_t *err)
{
  return fatal (1, "%s", err && err->msg ? err->msg : "unknown error");
}

typedef struct command command_t;
struct command
{
  const char *name, *alias;
  const char *usage, *description;
  const cli_opt_t *opts;
  size_t nopts;
  int (*run) (const command_t *cmd, char **args, int nargs);
};

static void print_command_help (const command_t *c)
{
  printf ("NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s %s\n", prog, c->name, c->description, prog,
          c->name, c->usage);
  if (c->nopts)
    {
      printf ("\n");
      cli_print_options (c->opts, c->nopts);
    }
}

static int usage_error (const command_t *c, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int usage_error (const command_t *c, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  printf ("Incorrect Usage.\n\n");
  print_command_help (c);
  return fatal (1, "%s", msg);
}

static int check_args (const command_t *c, int nargs, int min, int max)
{
  if (min == max && nargs != min)
    return usage_error (c, "%s: \"%s\" requires exactly %d argument(s)", prog, c->name, min);
  if (nargs < min)
    return usage_error (c, "%s: \"%s\" requires a minimum of %d argument(s)", prog, c->name, min);
  if (max >= 0 && nargs > max)
    return usage_error (c, "%s: \"%s\" requires a maximum of %d argument(s)", prog, c->name, max);
  return 0;
}

/* ---- create / run ------------------------------------------------------ */

static struct
{
  const char *bundle, *console_socket, *pid_file;
  bool no_pivot, no_new_keyring, detach, keep, no_subreaper, force, all, quiet, rootless;
  int preserve_fds;
  const char *format;
} o = { .format = "table" };

#define CREATE_OPTS                                                                              \
  { "bundle", "b", CLI_STRING, &o.bundle, "path to the root of the bundle directory, defaults to the current directory" }, \
  { "console-socket", NULL, CLI_STRING, &o.console_socket, "path to an AF_UNIX socket which will receive the pty master" }, \
  { "pid-file", NULL, CLI_STRING, &o.pid_file, "specify the file to write the process id to" }, \
  { "no-pivot", NULL, CLI_BOOL, &o.no_pivot, "do not use pivot root to jail process inside rootfs" }, \
  { "no-new-keyring", NULL, CLI_BOOL, &o.no_new_keyring, "do not create a new session keyring for the container" }, \
  { "preserve-fds", NULL, CLI_UINT, &o.preserve_fds, "Pass N additional file descriptors to the container" }

static const cli_opt_t create_opts[] = { CREATE_OPTS };
static const cli_opt_t run_opts[] = {
  CREATE_OPTS,
  { "detach", "d", CLI_BOOL, &o.detach, "detach from the container's process" },
  { "keep", NULL, CLI_BOOL, &o.keep, "do not delete the container after it exits" },
  { "no-subreaper", NULL, CLI_BOOL, &o.no_subreaper, "disable the use of the subreaper (accepted)" },
};

static void fill_create_opts (ward_create_opts_t *co, const char *id)
{
  memset (co, 0, sizeof *co);
  co->root = g.root;
  co->id = id;
  co->bundle = o.bundle;
  co->console_socket = o.console_socket;
  co->pid_file = o.pid_file;
  co->no_pivot = o.no_pivot;
  co->no_new_keyring = o.no_new_keyring;
  co->preserve_fds = o.preserve_fds;
  co->systemd_cgroup = g.systemd_cgroup;
  co->rootless = g.rootless && strcmp (g.rootless, "true") == 0;
  co->vm = vm_mode;
  co->detach = o.detach;
  co->keep = o.keep;
}

static int protect (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  if (ward_runtime_protect_binary (orig_argv, &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_create (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_create_opts_t co;
  if (check_args (c, nargs, 1, 1) || protect ())
    return 1;
  fill_create_opts (&co, args[0]);
  if (ward_container_create (&co, &err) < 0)
    return fatal (1, "%s create failed: %s", prog, err->msg);
  return 0;
}

static int cmd_run (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_create_opts_t co;
  int status = 0;
  if (check_args (c, nargs, 1, 1) || protect ())
    return 1;
  fill_create_opts (&co, args[0]);
  if (ward_container_run (&co, &status, &err) < 0)
    return fatal (1, "%s run failed: %s", prog, err->msg);
  return status;
}

static int cmd_start (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  if (check_args (c, nargs, 1, 1))
    return 1;
  if (ward_container_start (g.root, args[0], &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_state (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *json = NULL;
  if (check_args (c, nargs, 1, 1))
    return 1;
  if (ward_container_state_json (g.root, args[0], &json, &err) < 0)
    return fail (err);
  fputs (json, stdout);
  return 0;
}

static const cli_opt_t kill_opts[] = {
  { "all", "a", CLI_BOOL, &o.all, "send the specified signal to all processes inside the container" },
};

static int cmd_kill (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  int signo = 15;
  if (check_args (c, nargs, 1, 2))
    return 1;
  if (nargs == 2 && ward_container_parse_signal (args[1], &signo) < 0)
    return fatal (1, "unknown signal \"%s\"", args[1]);
  if (ward_container_kill (g.root, args[0], signo, o.all, &err) < 0)
    return fail (err);
  return 0;
}

static const cli_opt_t delete_opts[] = {
  { "force", "f", CLI_BOOL, &o.force, "Forcibly deletes the container if it is still running (uses SIGKILL)" },
};

static int cmd_delete (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  if (check_args (c, nargs, 1, 1))
    return 1;
  if (ward_container_delete (g.root, args[0], o.force, &err) < 0)
    return fail (err);
  return 0;
}

static const cli_opt_t list_opts[] = {
  { "format", "f", CLI_STRING, &o.format, "select one of: table or json (default: \"table\")" },
  { "quiet", "q", CLI_BOOL, &o.quiet, "display only container IDs" },
};

static int cmd_list (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *text = NULL;
  ward_container_info_t *infos = NULL;
  size_t n = 0;

  if (check_args (c, nargs, 0, 0))
    return 1;
  if (strcmp (o.format, "table") != 0 && strcmp (o.format, "json") != 0)
    return fatal (1, "invalid format option");
  if (ward_container_list (g.root, &infos, &n, &err) < 0)
    return fail (err);
  if (o.quiet)
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", infos[i].id);
  else
    {
      text = strcmp (o.format, "json") == 0 ? ward_container_list_json (infos, n)
                                            : ward_container_list_table (infos, n);
      fputs (text, stdout);
    }
  ward_container_info_free (infos, n);
  return 0;
}

static const cli_opt_t spec_opts[] = {
  { "bundle", "b", CLI_STRING, &o.bundle, "path to the root of the bundle directory" },
  { "rootless", NULL, CLI_BOOL, &o.rootless, "generate a configuration for a rootless container" },
};

static int cmd_spec (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *json = NULL;
  _cleanup_close_ int dfd = -1;
  const char *bundle = o.bundle ? o.bundle : ".";
  struct stat sb;

  if (check_args (c, nargs, 0, 0))
    return 1;
  dfd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return fatal (1, "chdir %s: %s", bundle, strerror (errno));
  if (fstatat (dfd, "config.json", &sb, 0) == 0)
    return fatal (1, "File config.json exists. Remove it first");
  json = ward_spec_default_json (o.rootless, getuid (), getgid ());
  if (!json)
    return fatal (1, "cannot generate the default spec");
  if (ward_create_file_at (dfd, "config.json", json, strlen (json), 0666, &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_features (const command_t *c, char **args, int nargs)
{
  _cleanup_free_ char *json = NULL;
  if (check_args (c, nargs, 0, 0))
    return 1;
  {
    const struct scmp_version *v = seccomp_version ();
    char ver[32] = "";
    if (v)
      snprintf (ver, sizeof ver, "%u.%u.%u", v->major, v->minor, v->micro);
    json = ward_features_json_ex (v ? ver : NULL);
  }
  if (!json)
    return fatal (1, "features: not available");
  printf ("%s\n", json);
  return 0;
}

static int cmd_pause (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  if (check_args (c, nargs, 1, 1))
    return 1;
  if (ward_container_pause (g.root, args[0], &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_resume (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  if (check_args (c, nargs, 1, 1))
    return 1;
  if (ward_container_resume (g.root, args[0], &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_unimplemented (const command_t *c, char **args, int nargs)
{
  return fatal (1, "%s: not implemented yet", c->name);
}

static int cmd_help (const command_t *c, char **args, int nargs);

static const command_t commands[] = {
  { "checkpoint", NULL, "[command options] <container-id>", "checkpoint a running container", NULL, 0, cmd_unimplemented },
  { "create", NULL, "[command options] <container-id>", "create a container", create_opts, ARRAY_SIZE (create_opts), cmd_create },
  { "delete", "rm", "[command options] <container-id>", "delete any resources held by the container often used with detached container", delete_opts, ARRAY_SIZE (delete_opts), cmd_delete },
  { "events", NULL, "[command options] <container-id>", "display container events", NULL, 0, cmd_unimplemented },
  { "exec", NULL, "[command options] <container-id> <command> [command options]", "execute new process inside the container", NULL, 0, cmd_unimplemented },
  { "kill", NULL, "[command options] <container-id> [signal]", "kill sends the specified signal (default: SIGTERM) to the container's init process", kill_opts, ARRAY_SIZE (kill_opts), cmd_kill },
  { "list", "ls", "[command options]", "lists containers started by ward with the given root", list_opts, ARRAY_SIZE (list_opts), cmd_list },
  { "pause", NULL, "<container-id>", "pause suspends all processes inside the container", NULL, 0, cmd_pause },
  { "ps", NULL, "[command options] <container-id> [ps options]", "ps displays the processes running inside a container", NULL, 0, cmd_unimplemented },
  { "restore", NULL, "[command options] <container-id>", "restore a container from a previous checkpoint", NULL, 0, cmd_unimplemented },
  { "resume", NULL, "<container-id>", "resumes all processes that have been previously paused", NULL, 0, cmd_resume },
  { "run", NULL, "[command options] <container-id>", "create and run a container", run_opts, ARRAY_SIZE (run_opts), cmd_run },
  { "spec", NULL, "[command options]", "create a new specification file", spec_opts, ARRAY_SIZE (spec_opts), cmd_spec },
  { "start", NULL, "<container-id>", "executes the user defined process in a created container", NULL, 0, cmd_start },
  { "state", NULL, "<container-id>", "output the state of a container", NULL, 0, cmd_state },
  { "update", NULL, "[command options] <container-id>", "update container resource constraints", NULL, 0, cmd_unimplemented },
  { "features", NULL, "", "show the enabled features", NULL, 0, cmd_features },
  { "help", "h", "[command]", "Shows a list of commands or help for one command", NULL, 0, cmd_help },
};

static const command_t *find_command (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (commands[i].name, name) == 0 || (commands[i].alias && strcmp (commands[i].alias, name) == 0))
      return &commands[i];
  return NULL;
}

static void print_version (void)
{
  const struct scmp_version *v = seccomp_version ();
  printf ("%s version %s\ncommit: %s\nspec: %s\n", prog, PACKAGE_VERSION, WARD_GIT_COMMIT,
          WARD_OCI_VERSION);
  if (v)
    printf ("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

static void print_help (void)
{
  printf ("NAME:\n   %s - Open Container Initiative runtime\n\n", prog);
  printf ("USAGE:\n   %s [global options] command [command options] [arguments...]\n\nVERSION:\n   ", prog);
  print_version ();
  printf ("\nCOMMANDS:\n");
  for (size_t i = 0; i < ARRAY_SIZE (commands); i++)
    {
      char left[32];
      if (commands[i].alias)
        snprintf (left, sizeof left, "%s, %s", commands[i].name, commands[i].alias);
      else
        snprintf (left, sizeof left, "%s", commands[i].name);
      printf ("   %-11s %s\n", left, commands[i].description);
    }
  printf ("\nGLOBAL ");
  cli_print_options (global_opts, ARRAY_SIZE (global_opts));
}

static int cmd_help (const command_t *c, char **args, int nargs)
{
  if (nargs == 0)
    {
      print_help ();
      return 0;
    }
  const command_t *t = find_command (args[0]);
  if (!t)
    return fatal (3, "No help topic for '%s'\n", args[0]);
  print_command_help (t);
  return 0;
}

static int setup_logging (void)
{
  bool json;
  int fd = -1;

  if (strcmp (g.log_format, "json") == 0)
    json = true;
  else if (strcmp (g.log_format, "text") == 0)
    json = false;
  else
    {
      ward_log_init (-1, false, WARD_LOG_WARNING);
      return fatal (1, "invalid log-format: %s", g.log_format);
    }
  if (g.log && *g.log && strcmp (g.log, "/dev/stderr") != 0)
    {
      fd = open (g.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0)
        {
          ward_log_init (-1, json, WARD_LOG_WARNING);
          return fatal (1, "open %s: %s", g.log, strerror (errno));
        }
      log_to_file = true;
    }
  ward_log_init (fd, json, g.debug ? WARD_LOG_DEBUG : WARD_LOG_WARNING);
  return 0;
}

int main (int argc, char **argv)
{
  _cleanup_free_ char **pos = NULL;
  _cleanup_free_ char **vpos = NULL;
  _cleanup_free_ char *errmsg = NULL;
  const char *base = strrchr (argv[0], '/');
  const command_t *cmd;
  int npos = 0, nvpos = 0;
  bool help = false;

  orig_argv = argv;
  base = base ? base + 1 : argv[0];
  if (strcmp (base, "ward-vm") == 0)
    {
      prog = "ward-vm";
      vm_mode = true;
    }
  ward_log_init (-1, false, WARD_LOG_WARNING);
  if (cli_parse (global_opts, ARRAY_SIZE (global_opts), argc - 1, argv + 1, false, &pos, &npos,
                 &errmsg) < 0)
    {
      printf ("Incorrect Usage. %s\n\n", errmsg);
      print_help ();
      return fatal (1, "%s", errmsg);
    }
  if (setup_logging () != 0)
    return 1;
  if (vm_mode)
    ward_debug ("ward-vm: VM mode requested; behaving as ward-runtime for now");
  if (g.version)
    {
      print_version ();
      return 0;
    }
  if (g.help || npos == 0)
    {
      print_help ();
      return 0;
    }
  cmd = find_command (pos[0]);
  if (!cmd)
    return fatal (3, "No help topic for '%s'\n", pos[0]);
  {
    /* -h/--help of every verb, next to the verb's own flags. */
    cli_opt_t all[16];
    size_t n = 0;
    for (size_t i = 0; i < cmd->nopts && n < ARRAY_SIZE (all) - 1; i++)
      all[n++] = cmd->opts[i];
    all[n++] = (cli_opt_t) { "help", "h", CLI_BOOL, &help, "show help" };
    if (cli_parse (all, n, npos - 1, pos + 1, cmd->run != cmd_unimplemented, &vpos, &nvpos,
                   &errmsg) < 0)
      {
        printf ("Incorrect Usage: %s\n\n", errmsg);
        print_command_help (cmd);
        return fatal (1, "%s", errmsg);
      }
  }
  if (help)
    {
      print_command_help (cmd);
      return 0;
    }
  ward_debug ("%s %s", prog, cmd->name);
  return cmd->run (cmd, vpos, nvpos);
}
