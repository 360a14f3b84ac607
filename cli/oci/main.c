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
#include <sys/wait.h>
#include <unistd.h>

#include "cli/oci/options.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/runtime.h"
#include "specs/specs.h"
#ifdef WARD_VM_FRONTEND
#include "runtime/vm/frontend.h"
#endif

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
  bool no_reorder; /* urfave's SkipArgReorder: flags end at the first argument */
  const char *extra_help; /* printed after USAGE (runc's ArgsUsage text) */
};

static void print_command_help (const command_t *c)
{
  printf ("NAME:\n   %s %s - %s\n\nUSAGE:\n   %s %s %s\n", prog, c->name, c->description, prog,
          c->name, c->usage);
  if (c->extra_help)
    printf ("%s", c->extra_help);
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

/* ward-vm: the container's init becomes the VMM (runtime/vm/frontend.c). */
static int vm_frontend (ward_create_opts_t *co)
{
#ifdef WARD_VM_FRONTEND
  _cleanup_error_ ward_error_t *err = NULL;
  if (vm_mode && ward_vm_frontend_setup (co, g.debug, &err) < 0)
    return fatal (1, "%s", err->msg);
#endif
  return 0;
}

#ifndef WARD_VM_FRONTEND
/* Re-executes the same command line with the ward-vm program beside this
 * one (else ward-vm on PATH).  Returns only on failure. */
static int exec_ward_vm (void)
{
  _cleanup_free_ char *self = realpath ("/proc/self/exe", NULL);
  char *slash = self ? strrchr (self, '/') : NULL;
  _cleanup_free_ char *vmbin = slash ? xasprintf ("%.*s/ward-vm", (int) (slash - self), self) : NULL;
  if (vmbin && access (vmbin, X_OK) == 0)
    {
      ward_debug ("run.oci.handler=vm: handing over to %s", vmbin);
      orig_argv[0] = vmbin;
      execv (vmbin, orig_argv);
    }
  else
    {
      ward_debug ("run.oci.handler=vm: handing over to ward-vm on PATH");
      orig_argv[0] = (char *) "ward-vm";
      execvp ("ward-vm", orig_argv);
    }
  return fatal (1, "run.oci.handler=vm: cannot run ward-vm: %s", strerror (errno));
}
#endif

/* ward-runtime with the annotation run.oci.handler=vm (crun's handler
 * selection) hands the whole command to the ward-vm program beside it.
 * Returns 0 when there is nothing to hand over. */
static int vm_handoff (void)
{
#ifndef WARD_VM_FRONTEND
  _cleanup_free_ char *path = xasprintf ("%s/config.json", o.bundle ? o.bundle : ".");
  _cleanup_free_ char *text = NULL;
  ward_error_t *e = NULL;
  ward_config_t *cfg = NULL;
  bool vm = false;

  /* a cheap look first: most configs never mention it */
  if (ward_read_file_at (AT_FDCWD, path, &text, NULL, 0, &e) < 0 || !strstr (text, "run.oci.handler")
      || ward_config_parse (text, strlen (text), &cfg, &e) < 0)
    {
      ward_error_free (&e); /* create reports a bad config itself */
      return 0;
    }
  for (size_t i = 0; i < cfg->annotations_len; i++)
    if (strcmp (cfg->annotations[i].key, "run.oci.handler") == 0)
      vm = strcmp (cfg->annotations[i].value, "vm") == 0;
  ward_config_free (cfg);
  if (!vm)
    return 0;
  return exec_ward_vm ();
#else
  return 0;
#endif
}

static int cmd_create (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_create_opts_t co;
  if (check_args (c, nargs, 1, 1) || vm_handoff () || protect ())
    return 1;
  fill_create_opts (&co, args[0]);
  if (vm_frontend (&co))
    return 1;
  if (ward_container_create (&co, &err) < 0)
    return fatal (1, "%s create failed: %s", prog, err->msg);
  return 0;
}

static int cmd_run (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_create_opts_t co;
  int status = 0;
  if (check_args (c, nargs, 1, 1) || vm_handoff () || protect ())
    return 1;
  fill_create_opts (&co, args[0]);
  if (vm_frontend (&co))
    return 1;
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

/* ---- exec ---------------------------------------------------------------- */

static struct
{
  const char *process, *cwd, *user, *process_label, *apparmor;
  cli_strv_t env, gids, caps, cgroups;
  bool tty, no_new_privs, ignore_paused;
} x;

static const cli_opt_t exec_opts[] = {
  { "console-socket", NULL, CLI_STRING, &o.console_socket, "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  { "cwd", NULL, CLI_STRING, &x.cwd, "current working directory in the container" },
  { "env", "e", CLI_STRING_SLICE, &x.env, "set environment variables" },
  { "tty", "t", CLI_BOOL, &x.tty, "allocate a pseudo-TTY" },
  { "user", "u", CLI_STRING, &x.user, "UID (format: <uid>[:<gid>])" },
  { "additional-gids", "g", CLI_STRING_SLICE, &x.gids, "additional gids" },
  { "process", "p", CLI_STRING, &x.process, "path to the process.json" },
  { "detach", "d", CLI_BOOL, &o.detach, "detach from the container's process" },
  { "pid-file", NULL, CLI_STRING, &o.pid_file, "specify the file to write the process id to" },
  { "process-label", NULL, CLI_STRING, &x.process_label, "set the asm process label for the process commonly used with selinux" },
  { "apparmor", NULL, CLI_STRING, &x.apparmor, "set the apparmor profile for the process" },
  { "no-new-privs", NULL, CLI_BOOL, &x.no_new_privs, "set the no new privileges value for the process" },
  { "cap", "c", CLI_STRING_SLICE, &x.caps, "add a capability to the bounding set for the process" },
  { "preserve-fds", NULL, CLI_UINT, &o.preserve_fds, "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)" },
  { "cgroup", NULL, CLI_STRING_SLICE, &x.cgroups, "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>." },
  { "ignore-paused", NULL, CLI_BOOL, &x.ignore_paused, "allow exec in a paused container" },
};

/* Go's strconv.ParseInt error text for Int64SliceFlag values. */
static int parse_gids (long long **out, size_t *n)
{
  *out = x.gids.n ? calloc (x.gids.n, sizeof (long long)) : NULL;
  *n = x.gids.n;
  for (size_t i = 0; i < x.gids.n; i++)
    if (ward_parse_i64 (x.gids.v[i], &(*out)[i]) < 0)
      {
        int r = fatal (1, "invalid value \"%s\" for flag -additional-gids: strconv.ParseInt: parsing \"%s\": invalid syntax",
                       x.gids.v[i], x.gids.v[i]);
        free (*out);
        *out = NULL;
        return r;
      }
  return 0;
}

static char *absolute_path (const char *p)
{
  char cwd[4096];
  if (p[0] == '/' || !getcwd (cwd, sizeof cwd))
    return xstrdup (p);
  return xasprintf ("%s/%s", cwd, p);
}

/* exec into a container that ward-runtime handed to ward-vm (its state
 * carries the annotation): ward-vm runs it through the guest agent. */
static int vm_handoff_exec (const char *id)
{
#ifndef WARD_VM_FRONTEND
  _cleanup_free_ char *state = NULL;
  ward_error_t *e = NULL;
  if (ward_container_state_json (g.root, id, &state, &e) < 0)
    {
      ward_error_free (&e); /* exec reports it */
      return 0;
    }
  if (strstr (state, "\"run.oci.handler\": \"vm\"") || strstr (state, "\"run.oci.handler\":\"vm\""))
    return exec_ward_vm ();
#else
  (void) id;
#endif
  return 0;
}

static int cmd_exec (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ long long *gids = NULL;
  _cleanup_free_ char *pid_file = NULL;
  ward_exec_opts_t eo = { 0 };
  int status = 0;

  if (check_args (c, nargs, 1, -1) || vm_handoff_exec (args[0]))
    return 1;
  /* CVE-2019-5736: the exec'd process starts as a clone of us inside the
   * container, like the init (the `ward` front end protects exec too). */
  if (protect ())
    return 1;
  if (parse_gids (&gids, &eo.additional_gids_len))
    return 1;
  eo.root = g.root;
  eo.id = args[0];
  eo.process_path = x.process;
  eo.args = nargs > 1 ? args + 1 : NULL;
  eo.args_len = nargs > 1 ? (size_t) nargs - 1 : 0;
  eo.tty = x.tty;
  eo.console_socket = o.console_socket;
  eo.cwd = x.cwd;
  eo.env = x.env.v;
  eo.user = x.user;
  eo.additional_gids = gids;
  eo.caps = x.caps.v;
  eo.no_new_privs = x.no_new_privs;
  eo.process_label = x.process_label;
  eo.apparmor = x.apparmor;
  eo.detach = o.detach;
  /* runc makes the pid file absolute before it changes directory. */
  if (o.pid_file)
    eo.pid_file = pid_file = absolute_path (o.pid_file);
  eo.preserve_fds = o.preserve_fds;
  eo.ignore_paused = x.ignore_paused;
  eo.sub_cgroups = x.cgroups.v;
#ifdef WARD_VM_FRONTEND
  if (vm_mode)
    {
      if (ward_vm_container_exec (&eo, &status, &err) < 0)
        return fatal (255, "exec failed: %s", err->msg);
      return status;
    }
#endif
  if (ward_container_exec (&eo, &status, &err) < 0)
    return fatal (255, "exec failed: %s", err->msg);
  return status;
}

/* ---- ps ------------------------------------------------------------------ */

static const cli_opt_t ps_opts[] = {
  { "format", "f", CLI_STRING, &o.format, "select one of: table or json (default: \"table\")" },
};

/* Runs ps with argv, stdout and stderr together (Go's CombinedOutput). */
static int run_ps (char **argv, char **out, int *status)
{
  int pfd[2];
  pid_t pid;
  size_t len = 0, cap = 0;
  char *buf = NULL;

  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return -errno;
  pid = fork ();
  if (pid < 0)
    return -errno;
  if (pid == 0)
    {
      dup2 (pfd[1], 1);
      dup2 (pfd[1], 2);
      execvp ("ps", argv);
      _exit (127);
    }
  close (pfd[1]);
  for (;;)
    {
      if (len + 4096 + 1 > cap)
        buf = xrealloc (buf, cap = cap ? cap * 2 : 8192);
      ssize_t n = read (pfd[0], buf + len, cap - len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  close (pfd[0]);
  if (!buf)
    buf = xzalloc (1);
  buf[len] = '\0';
  while (waitpid (pid, status, 0) < 0 && errno == EINTR)
    ;
  *out = buf;
  return 0;
}

static int cmd_ps (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ pid_t *pids = NULL;
  _cleanup_free_ char *text = NULL;
  _cleanup_free_ char *output = NULL;
  _cleanup_free_ char **argv = NULL;
  size_t n = 0;
  int status = 0, r;

  if (check_args (c, nargs, 1, -1))
    return 1;
#ifdef WARD_VM_FRONTEND
  /* the container's processes live in the guest: ask its agent; the
   * table shows the guest's pids only (the host's ps cannot see them) */
  if (vm_mode)
    {
      if (ward_vm_container_pids (g.root, args[0], &pids, &n, &err) < 0)
        return fail (err);
      if (strcmp (o.format, "json") == 0)
        text = ward_container_pids_json (pids, n);
      else if (strcmp (o.format, "table") == 0)
        {
          text = xstrdup ("PID\n");
          for (size_t i = 0; i < n; i++)
            {
              char *t = xasprintf ("%s%d\n", text, (int) pids[i]);
              free (text);
              text = t;
            }
        }
      else
        return fatal (1, "invalid format option");
      fputs (text, stdout);
      return 0;
    }
#endif
  if (ward_container_pids (g.root, args[0], &pids, &n, &err) < 0)
    return fail (err);
  if (strcmp (o.format, "json") == 0)
    {
      text = ward_container_pids_json (pids, n);
      fputs (text, stdout);
      return 0;
    }
  if (strcmp (o.format, "table") != 0)
    return fatal (1, "invalid format option");
  argv = calloc ((size_t) nargs + 2, sizeof (char *));
  argv[0] = (char *) "ps";
  if (nargs > 1)
    for (int i = 1; i < nargs; i++)
      argv[i] = args[i];
  else
    argv[1] = (char *) "-ef";
  r = run_ps (argv, &output, &status);
  if (r < 0)
    return fatal (1, "exec: \"ps\": %s", strerror (-r));
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
        return fatal (1, "exec: \"ps\": executable file not found in $PATH");
      return fatal (1, "exit status %d: %s", WIFEXITED (status) ? WEXITSTATUS (status) : 255, output);
    }
  if (ward_container_ps_filter (output, pids, n, &text, &err) < 0)
    return fail (err);
  fputs (text, stdout);
  return 0;
}

/* ---- update -------------------------------------------------------------- */

static struct
{
  const char *resources, *cpu_period, *cpu_quota, *cpu_share, *cpu_rt_period, *cpu_rt_runtime;
  const char *cpuset_cpus, *cpuset_mems, *memory, *memory_reservation, *memory_swap;
  const char *kernel_memory, *kernel_memory_tcp, *l3_cache_schema, *mem_bw_schema;
  int blkio_weight, pids_limit;
} u;

static const cli_opt_t update_opts[] = {
  { "resources", "r", CLI_STRING, &u.resources, "path to the file containing the resources to update or '-' to read from the standard input" },
  { "blkio-weight", NULL, CLI_INT, &u.blkio_weight, "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)" },
  { "cpu-period", NULL, CLI_STRING, &u.cpu_period, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default" },
  { "cpu-quota", NULL, CLI_STRING, &u.cpu_quota, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period" },
  { "cpu-share", NULL, CLI_STRING, &u.cpu_share, "CPU shares (relative weight vs. other containers)" },
  { "cpu-shares", NULL, CLI_STRING, &u.cpu_share, "same as --cpu-share" },
  { "cpu-rt-period", NULL, CLI_STRING, &u.cpu_rt_period, "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default" },
  { "cpu-rt-runtime", NULL, CLI_STRING, &u.cpu_rt_runtime, "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period" },
  { "cpuset-cpus", NULL, CLI_STRING, &u.cpuset_cpus, "CPU(s) to use" },
  { "cpuset-mems", NULL, CLI_STRING, &u.cpuset_mems, "Memory node(s) to use" },
  { "kernel-memory", NULL, CLI_STRING, &u.kernel_memory, "Kernel memory limit (in bytes); ignored, as in runc" },
  { "kernel-memory-tcp", NULL, CLI_STRING, &u.kernel_memory_tcp, "Kernel memory limit for tcp buffer (in bytes); ignored, as in runc" },
  { "memory", NULL, CLI_STRING, &u.memory, "Memory limit (in bytes)" },
  { "memory-reservation", NULL, CLI_STRING, &u.memory_reservation, "Memory reservation or soft_limit (in bytes)" },
  { "memory-swap", NULL, CLI_STRING, &u.memory_swap, "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
  { "pids-limit", NULL, CLI_INT, &u.pids_limit, "Maximum number of pids allowed in the container (default: 0)" },
  { "l3-cache-schema", NULL, CLI_STRING, &u.l3_cache_schema, "The string of Intel RDT/CAT L3 cache schema" },
  { "mem-bw-schema", NULL, CLI_STRING, &u.mem_bw_schema, "The string of Intel RDT/MBA memory bandwidth schema" },
};

static const char update_help[] =
  "\nThe accepted format is as follow (unchanged values can be omitted):\n\n"
  "{\n  \"memory\": {\n    \"limit\": 0,\n    \"reservation\": 0,\n    \"swap\": 0\n  },\n"
  "  \"cpu\": {\n    \"shares\": 0,\n    \"quota\": 0,\n    \"period\": 0,\n"
  "    \"realtimeRuntime\": 0,\n    \"realtimePeriod\": 0,\n    \"cpus\": \"\",\n"
  "    \"mems\": \"\"\n  },\n  \"blockIO\": {\n    \"weight\": 0\n  }\n}\n\n"
  "Note: if data is to be read from a file or the standard input, all\n"
  "other options are ignored.\n";

/* Go's strconv error wording for a bad number. */
static int bad_number (const char *opt, const char *fn, const char *v)
{
  return fatal (1, "invalid value for %s: strconv.%s: parsing \"%s\": invalid syntax", opt, fn, v);
}

static int update_from_flags (ward_resources_t *r, ward_memory_t *m, ward_cpu_t *cpu,
                              ward_blkio_t *bio)
{
  struct { const char *opt, *v; uint64_t *dest; bool *has; } us[] = {
    { "cpu-period", u.cpu_period, &cpu->period, &cpu->has_period },
    { "cpu-rt-period", u.cpu_rt_period, &cpu->realtime_period, &cpu->has_realtime_period },
    { "cpu-share", u.cpu_share, &cpu->shares, &cpu->has_shares },
  };
  struct { const char *opt, *v; int64_t *dest; bool *has; } is[] = {
    { "cpu-quota", u.cpu_quota, &cpu->quota, &cpu->has_quota },
    { "cpu-rt-runtime", u.cpu_rt_runtime, &cpu->realtime_runtime, &cpu->has_realtime_runtime },
  };
  struct { const char *opt, *v; int64_t *dest; bool *has; } ms[] = {
    { "memory", u.memory, &m->limit, &m->has_limit },
    { "memory-swap", u.memory_swap, &m->swap, &m->has_swap },
    { "kernel-memory", u.kernel_memory, &m->kernel, &m->has_kernel },
    { "kernel-memory-tcp", u.kernel_memory_tcp, &m->kernel_tcp, &m->has_kernel_tcp },
    { "memory-reservation", u.memory_reservation, &m->reservation, &m->has_reservation },
  };

  r->memory = m;
  r->cpu = cpu;
  r->block_io = bio;
  if (u.blkio_weight != 0)
    bio->has_weight = true, bio->weight = (uint16_t) u.blkio_weight;
  cpu->cpus = (char *) u.cpuset_cpus;
  cpu->mems = (char *) u.cpuset_mems;
  for (size_t i = 0; i < ARRAY_SIZE (us); i++)
    if (us[i].v && *us[i].v)
      {
        unsigned long long v;
        if (ward_parse_u64 (us[i].v, &v) < 0)
          return bad_number (us[i].opt, "ParseUint", us[i].v);
        *us[i].dest = v;
        *us[i].has = true;
      }
  for (size_t i = 0; i < ARRAY_SIZE (is); i++)
    if (is[i].v && *is[i].v)
      {
        long long v;
        if (ward_parse_i64 (is[i].v, &v) < 0)
          return bad_number (is[i].opt, "ParseInt", is[i].v);
        *is[i].dest = v;
        *is[i].has = true;
      }
  for (size_t i = 0; i < ARRAY_SIZE (ms); i++)
    if (ms[i].v && *ms[i].v)
      {
        long long v = -1;
        if (strcmp (ms[i].v, "-1") != 0 && ward_parse_ram_bytes (ms[i].v, &v) < 0)
          return fatal (1, "invalid value for %s: invalid size: '%s'", ms[i].opt, ms[i].v);
        *ms[i].dest = v;
        *ms[i].has = true;
      }
  if (u.pids_limit != 0)
    r->has_pids_limit = true, r->pids_limit = u.pids_limit;
  return 0;
}

static int cmd_update (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_resources_t flags = { 0 }, *parsed = NULL;
  ward_memory_t m = { 0 };
  ward_cpu_t cpu = { 0 };
  ward_blkio_t bio = { 0 };
  int ret;

  if (check_args (c, nargs, 1, 1))
    return 1;
  if (u.resources)
    {
      _cleanup_free_ char *data = NULL;
      size_t len = 0;
      if (strcmp (u.resources, "-") == 0)
        ret = ward_read_fd (0, &data, &len, 0, "stdin", &err);
      else
        ret = ward_read_file_at (AT_FDCWD, u.resources, &data, &len, 0, &err);
      if (ret < 0)
        return fail (err);
      if (ward_resources_parse (data, len, &parsed, &err) < 0)
        return fail (err);
    }
  else if (update_from_flags (&flags, &m, &cpu, &bio))
    return 1;
  if (u.l3_cache_schema && *u.l3_cache_schema)
    {
      ward_resources_free (parsed);
      return fatal (1, "Intel RDT/CAT: l3 cache schema is not enabled");
    }
  if (u.mem_bw_schema && *u.mem_bw_schema)
    {
      ward_resources_free (parsed);
      return fatal (1, "Intel RDT/MBA: memory bandwidth schema is not enabled");
    }
  ret = ward_container_update (g.root, args[0], parsed ? parsed : &flags, &err);
  ward_resources_free (parsed);
  if (ret < 0)
    return fail (err);
  return 0;
}

/* ---- events -------------------------------------------------------------- */

static struct
{
  const char *interval;
  bool stats;
} ev = { .interval = "5s" };

static const cli_opt_t events_opts[] = {
  { "interval", NULL, CLI_STRING, &ev.interval, "set the stats collection interval (default: 5s)" },
  { "stats", NULL, CLI_BOOL, &ev.stats, "display the container's stats then exit" },
};

/* Go's time.ParseDuration for the units events takes; *ms may be <= 0. */
static int parse_duration_ms (const char *s, long *ms)
{
  double total = 0;
  bool neg = false;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp (s, "0") == 0)
    return *ms = 0, 0;
  if (!*s)
    return -1;
  while (*s)
    {
      char *end;
      double v = strtod (s, &end);
      double unit;
      if (end == s || *s == '.' + 1)
        return -1;
      s = end;
      if (strncmp (s, "ns", 2) == 0)
        unit = 1e-6, s += 2;
      else if (strncmp (s, "us", 2) == 0)
        unit = 1e-3, s += 2;
      else if (strncmp (s, "\xc2\xb5s", 3) == 0)
        unit = 1e-3, s += 3;
      else if (strncmp (s, "ms", 2) == 0)
        unit = 1, s += 2;
      else if (*s == 's')
        unit = 1000, s++;
      else if (*s == 'm')
        unit = 60000, s++;
      else if (*s == 'h')
        unit = 3600000, s++;
      else
        return -1;
      total += v * unit;
    }
  *ms = (long) (neg ? -total : total);
  if (!neg && total > 0 && *ms == 0)
    *ms = 1;
  return 0;
}

static int cmd_events (const command_t *c, char **args, int nargs)
{
  _cleanup_error_ ward_error_t *err = NULL;
  long ms = 0;

  if (check_args (c, nargs, 1, 1))
    return 1;
  if (parse_duration_ms (ev.interval, &ms) < 0)
    return usage_error (c, "invalid value \"%s\" for flag -interval: parse error", ev.interval);
  fflush (stdout);
  if (ward_container_events (g.root, args[0], ev.stats, ms, STDOUT_FILENO, &err) < 0)
    return fail (err);
  return 0;
}

static int cmd_unimplemented (const command_t *c, char **args, int nargs)
{
  return fatal (1, "%s: not implemented yet", c->name);
}

static int cmd_help (const command_t *c, char **args, int nargs);

static const char exec_help[] =
  "\nWhere \"<container-id>\" is the name for the instance of the container and\n"
  "\"<command>\" is the command to be executed in the container.\n"
  "\"<command>\" can't be empty unless a \"-p\" flag provided.\n\n"
  "EXAMPLE:\nFor example, if the container is configured to run the linux ps command the\n"
  "following will output a list of processes running in the container:\n\n"
  "       # ward-runtime exec <container-id> ps\n";

static const command_t commands[] = {
  { "checkpoint", NULL, "[command options] <container-id>", "checkpoint a running container", NULL, 0, cmd_unimplemented },
  { "create", NULL, "[command options] <container-id>", "create a container", create_opts, ARRAY_SIZE (create_opts), cmd_create },
  { "delete", "rm", "[command options] <container-id>", "delete any resources held by the container often used with detached container", delete_opts, ARRAY_SIZE (delete_opts), cmd_delete },
  { "events", NULL, "[command options] <container-id>", "display container events such as OOM notifications, cpu, memory, and IO usage statistics", events_opts, ARRAY_SIZE (events_opts), cmd_events, false, NULL },
  { "exec", NULL, "[command options] <container-id> <command> [command options]  || -p process.json <container-id>", "execute new process inside the container", exec_opts, ARRAY_SIZE (exec_opts), cmd_exec, true, exec_help },
  { "kill", NULL, "[command options] <container-id> [signal]", "kill sends the specified signal (default: SIGTERM) to the container's init process", kill_opts, ARRAY_SIZE (kill_opts), cmd_kill },
  { "list", "ls", "[command options]", "lists containers started by ward with the given root", list_opts, ARRAY_SIZE (list_opts), cmd_list },
  { "pause", NULL, "<container-id>", "pause suspends all processes inside the container", NULL, 0, cmd_pause },
  { "ps", NULL, "[command options] <container-id> [ps options]", "ps displays the processes running inside a container", ps_opts, ARRAY_SIZE (ps_opts), cmd_ps, true, NULL },
  { "restore", NULL, "[command options] <container-id>", "restore a container from a previous checkpoint", NULL, 0, cmd_unimplemented },
  { "resume", NULL, "<container-id>", "resumes all processes that have been previously paused", NULL, 0, cmd_resume },
  { "run", NULL, "[command options] <container-id>", "create and run a container", run_opts, ARRAY_SIZE (run_opts), cmd_run },
  { "spec", NULL, "[command options]", "create a new specification file", spec_opts, ARRAY_SIZE (spec_opts), cmd_spec },
  { "start", NULL, "<container-id>", "executes the user defined process in a created container", NULL, 0, cmd_start },
  { "state", NULL, "<container-id>", "output the state of a container", NULL, 0, cmd_state },
  { "update", NULL, "[command options] <container-id>", "update container resource constraints", update_opts, ARRAY_SIZE (update_opts), cmd_update, false, update_help },
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
#ifdef WARD_VM_FRONTEND
  /* the ward-vm program is VM mode whatever its name */
  (void) base;
  prog = "ward-vm";
  vm_mode = true;
  ward_vm_frontend_init ();
#else
  if (strcmp (base, "ward-vm") == 0)
    {
      /* a link named ward-vm to this binary would run containers without
       * a VM while claiming one: refuse instead */
      ward_log_init (-1, false, WARD_LOG_WARNING);
      return fatal (1, "ward-vm: %s is ward-runtime, which has no VMM; run the ward-vm program",
                    argv[0]);
    }
#endif
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
    cli_opt_t all[40];
    size_t n = 0;
    for (size_t i = 0; i < cmd->nopts && n < ARRAY_SIZE (all) - 1; i++)
      all[n++] = cmd->opts[i];
    all[n++] = (cli_opt_t) { "help", "h", CLI_BOOL, &help, "show help" };
    if (cli_parse (all, n, npos - 1, pos + 1, cmd->run != cmd_unimplemented && !cmd->no_reorder,
                   &vpos, &nvpos,
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
