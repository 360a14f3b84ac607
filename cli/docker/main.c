/* ward: the docker-compatible, daemonless front end.  argv parsing and
 * output only; the work is in runtime/manager, image/ and runtime/. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/docker/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "image/image.h"
#include "runtime/manager/manager.h"
#include "runtime/runtime.h"
#include "specs/specs.h"

/* ---- run / create --------------------------------------------------------- */

enum
{
  R_RM = 1, R_DETACH, R_INTERACTIVE, R_TTY, R_NAME, R_ENV, R_ENV_FILE, R_VOLUME, R_MOUNT,
  R_WORKDIR, R_USER, R_ENTRYPOINT, R_HOSTNAME, R_NETWORK, R_MEMORY, R_MEMORY_SWAP, R_CPUS,
  R_CPU_SHARES, R_PIDS_LIMIT, R_READ_ONLY, R_CAP_ADD, R_CAP_DROP, R_PRIVILEGED, R_SECURITY_OPT,
  R_ULIMIT, R_TMPFS, R_INIT, R_RESTART, R_LABEL, R_STOP_SIGNAL, R_STOP_TIMEOUT, R_SHM_SIZE,
  R_DEVICE, R_SYSCTL, R_GROUP_ADD, R_PUBLISH, R_PULL, R_QUIET, R_PLATFORM, R_LOG_DRIVER,
  R_LOG_OPT, R_EXPOSE,
  /* networking (net) */
  R_PUBLISH_ALL, R_IP, R_DNS, R_DNS_SEARCH, R_DNS_OPTION, R_ADD_HOST,
  R_RUNTIME, R_VM,
};

static const ward_flag_def_t run_flags[] = {
  { "rm", 0, WARD_FLAG_BOOL, R_RM },
  { "detach", 'd', WARD_FLAG_BOOL, R_DETACH },
  { "interactive", 'i', WARD_FLAG_BOOL, R_INTERACTIVE },
  { "tty", 't', WARD_FLAG_BOOL, R_TTY },
  { "name", 0, WARD_FLAG_VALUE, R_NAME },
  { "env", 'e', WARD_FLAG_VALUE, R_ENV },
  { "env-file", 0, WARD_FLAG_VALUE, R_ENV_FILE },
  { "volume", 'v', WARD_FLAG_VALUE, R_VOLUME },
  { "mount", 0, WARD_FLAG_VALUE, R_MOUNT },
  { "workdir", 'w', WARD_FLAG_VALUE, R_WORKDIR },
  { "user", 'u', WARD_FLAG_VALUE, R_USER },
  { "entrypoint", 0, WARD_FLAG_VALUE, R_ENTRYPOINT },
  { "hostname", 'h', WARD_FLAG_VALUE, R_HOSTNAME },
  { "network", 0, WARD_FLAG_VALUE, R_NETWORK },
  { "net", 0, WARD_FLAG_VALUE, R_NETWORK },
  { "memory", 'm', WARD_FLAG_VALUE, R_MEMORY },
  { "memory-swap", 0, WARD_FLAG_VALUE, R_MEMORY_SWAP },
  { "cpus", 0, WARD_FLAG_VALUE, R_CPUS },
  { "cpu-shares", 'c', WARD_FLAG_VALUE, R_CPU_SHARES },
  { "pids-limit", 0, WARD_FLAG_VALUE, R_PIDS_LIMIT },
  { "read-only", 0, WARD_FLAG_BOOL, R_READ_ONLY },
  { "cap-add", 0, WARD_FLAG_VALUE, R_CAP_ADD },
  { "cap-drop", 0, WARD_FLAG_VALUE, R_CAP_DROP },
  { "privileged", 0, WARD_FLAG_BOOL, R_PRIVILEGED },
  { "security-opt", 0, WARD_FLAG_VALUE, R_SECURITY_OPT },
  { "ulimit", 0, WARD_FLAG_VALUE, R_ULIMIT },
  { "tmpfs", 0, WARD_FLAG_VALUE, R_TMPFS },
  { "init", 0, WARD_FLAG_BOOL, R_INIT },
  { "restart", 0, WARD_FLAG_VALUE, R_RESTART },
  { "label", 'l', WARD_FLAG_VALUE, R_LABEL },
  { "stop-signal", 0, WARD_FLAG_VALUE, R_STOP_SIGNAL },
  { "stop-timeout", 0, WARD_FLAG_VALUE, R_STOP_TIMEOUT },
  { "shm-size", 0, WARD_FLAG_VALUE, R_SHM_SIZE },
  { "device", 0, WARD_FLAG_VALUE, R_DEVICE },
  { "sysctl", 0, WARD_FLAG_VALUE, R_SYSCTL },
  { "group-add", 0, WARD_FLAG_VALUE, R_GROUP_ADD },
  { "publish", 'p', WARD_FLAG_VALUE, R_PUBLISH },
  { "pull", 0, WARD_FLAG_VALUE, R_PULL },
  { "quiet", 'q', WARD_FLAG_BOOL, R_QUIET },
  { "platform", 0, WARD_FLAG_VALUE, R_PLATFORM },
  { "log-driver", 0, WARD_FLAG_VALUE, R_LOG_DRIVER },
  { "log-opt", 0, WARD_FLAG_VALUE, R_LOG_OPT },
  { "expose", 0, WARD_FLAG_VALUE, R_EXPOSE },
  { "publish-all", 'P', WARD_FLAG_BOOL, R_PUBLISH_ALL },
  { "ip", 0, WARD_FLAG_VALUE, R_IP },
  { "dns", 0, WARD_FLAG_VALUE, R_DNS },
  { "dns-search", 0, WARD_FLAG_VALUE, R_DNS_SEARCH },
  { "dns-option", 0, WARD_FLAG_VALUE, R_DNS_OPTION },
  { "dns-opt", 0, WARD_FLAG_VALUE, R_DNS_OPTION },
  { "add-host", 0, WARD_FLAG_VALUE, R_ADD_HOST },
  { "runtime", 0, WARD_FLAG_VALUE, R_RUNTIME },
  { "vm", 0, WARD_FLAG_BOOL, R_VM },
  { NULL, 0, 0, 0 },
};

typedef struct
{
  ward_mgr_run_opts_t o;
  char **entrypoint_v;
} run_cfg_t;

static void run_cfg_clear (run_cfg_t *c)
{
  char ***lists[] = { &c->o.env, &c->o.labels, &c->o.cap_add, &c->o.cap_drop, &c->o.security_opt,
                      &c->o.group_add, &c->o.binds, &c->o.mounts, &c->o.tmpfs, &c->o.devices,
                      &c->o.sysctls, &c->o.ulimits, &c->o.publish, &c->entrypoint_v,
                      &c->o.expose, &c->o.dns, &c->o.dns_search, &c->o.dns_options,
                      &c->o.add_hosts };
  for (size_t i = 0; i < ARRAY_SIZE (lists); i++)
    ward_strv_freep (lists[i]);
}

/* --env-file: KEY=VALUE lines, # comments, a bare KEY takes our value. */
static int read_env_file (const char *path, char ***env, char **error)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  char line[8192];
  if (f == NULL)
    {
      *error = xasprintf ("open %s: %s", path, strerror (errno));
      return -1;
    }
  while (fgets (line, sizeof line, f))
    {
      char *s = line;
      size_t n = strlen (s);
      while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
      while (*s == ' ' || *s == '\t')
        s++;
      if (*s == '\0' || *s == '#')
        continue;
      if (strchr (s, '='))
        ward_cli_strv_append (env, s);
      else if (getenv (s))
        {
          _cleanup_free_ char *kv = xasprintf ("%s=%s", s, getenv (s));
          ward_cli_strv_append (env, kv);
        }
    }
  return 0;
}

static int parse_run (int argc, char **argv, run_cfg_t *c, bool *quiet)
{
  ward_flags_t f;
  int ret = 0;
  memset (c, 0, sizeof *c);
  c->o.stop_timeout = -1;
  if (ward_flags_parse (run_flags, argc, argv, false, &f) < 0)
    {
      ret = ward_cli_usage_error (&f, NULL);
      ward_flags_free (&f);
      return -ret;
    }
  for (size_t i = 0; i < f.n && ret == 0; i++)
    {
      const char *v = f.vals[i].value;
      int64_t b;
      switch (f.vals[i].id)
        {
        case -1:
          printf ("Usage:  ward %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n", ward_cli_verb);
          ward_flags_free (&f);
          return 1;
        case R_RM: c->o.auto_remove = ward_flag_bool (v); break;
        case R_DETACH: c->o.detach = ward_flag_bool (v); break;
        case R_INTERACTIVE: c->o.interactive = ward_flag_bool (v); break;
        case R_TTY: c->o.tty = ward_flag_bool (v); break;
        case R_NAME: c->o.name = v; break;
        case R_ENV:
          if (strchr (v, '='))
            ward_cli_strv_append (&c->o.env, v);
          else if (getenv (v))
            {
              _cleanup_free_ char *kv = xasprintf ("%s=%s", v, getenv (v));
              ward_cli_strv_append (&c->o.env, kv);
            }
          break;
        case R_ENV_FILE:
          {
            _cleanup_free_ char *e = NULL;
            if (read_env_file (v, &c->o.env, &e) < 0)
              ret = ward_cli_fail (125, "%s", e);
          }
          break;
        case R_VOLUME: ward_cli_strv_append (&c->o.binds, v); break;
        case R_MOUNT: ward_cli_strv_append (&c->o.mounts, v); break;
        case R_WORKDIR: c->o.workdir = v; break;
        case R_USER: c->o.user = v; break;
        case R_ENTRYPOINT:
          ward_strv_freep (&c->entrypoint_v);
          c->entrypoint_v = xzalloc (2 * sizeof (char *));
          if (*v)
            c->entrypoint_v[0] = xstrdup (v);
          c->o.entrypoint = c->entrypoint_v;
          c->o.has_entrypoint = true;
          break;
        case R_HOSTNAME: c->o.hostname = v; break;
        case R_NETWORK: c->o.network = v; break;
        case R_MEMORY:
          if (ward_mgr_parse_bytes (v, &b) < 0)
            ret = ward_cli_fail (125, "invalid argument \"%s\" for \"-m, --memory\" flag: invalid size: '%s'", v, v);
          else if (b < 6 * 1024 * 1024)
            ret = ward_cli_fail (125, "Error response from daemon: Minimum memory limit allowed is 6MB");
          c->o.memory = b;
          break;
        case R_MEMORY_SWAP:
          if (strcmp (v, "-1") == 0)
            c->o.memory_swap = -1;
          else if (ward_mgr_parse_bytes (v, &c->o.memory_swap) < 0)
            ret = ward_cli_fail (125, "invalid argument \"%s\" for \"--memory-swap\" flag: invalid size: '%s'", v, v);
          break;
        case R_CPUS:
          {
            char *end;
            double d = strtod (v, &end);
            if (*end || d <= 0)
              ret = ward_cli_fail (125, "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number", v, v);
            c->o.nano_cpus = (int64_t) (d * 1e9);
          }
          break;
        case R_CPU_SHARES:
          {
            unsigned long long u;
            if (ward_parse_u64 (v, &u) < 0)
              ret = ward_cli_fail (125, "invalid argument \"%s\" for \"-c, --cpu-shares\" flag", v);
            c->o.cpu_shares = u;
          }
          break;
        case R_PIDS_LIMIT:
          {
            long long l;
            if (ward_parse_i64 (v, &l) < 0)
              ret = ward_cli_fail (125, "invalid argument \"%s\" for \"--pids-limit\" flag", v);
            c->o.pids_limit = l;
          }
          break;
        case R_READ_ONLY: c->o.read_only = ward_flag_bool (v); break;
        case R_CAP_ADD: ward_cli_strv_append (&c->o.cap_add, v); break;
        case R_CAP_DROP: ward_cli_strv_append (&c->o.cap_drop, v); break;
        case R_PRIVILEGED: c->o.privileged = ward_flag_bool (v); break;
        case R_SECURITY_OPT: ward_cli_strv_append (&c->o.security_opt, v); break;
        case R_ULIMIT: ward_cli_strv_append (&c->o.ulimits, v); break;
        case R_TMPFS: ward_cli_strv_append (&c->o.tmpfs, v); break;
        case R_INIT: c->o.init = ward_flag_bool (v); break;
        case R_RESTART: c->o.restart = v; break;
        case R_LABEL: ward_cli_strv_append (&c->o.labels, v); break;
        case R_STOP_SIGNAL:
          {
            int s;
            if (ward_signal_parse (v, &s) < 0)
              ret = ward_cli_fail (125, "Invalid signal: %s", v);
            c->o.stop_signal = v;
          }
          break;
        case R_STOP_TIMEOUT: c->o.stop_timeout = atoi (v); break;
        case R_SHM_SIZE:
          if (ward_mgr_parse_bytes (v, &c->o.shm_size) < 0)
            ret = ward_cli_fail (125, "invalid argument \"%s\" for \"--shm-size\" flag", v);
          break;
        case R_DEVICE: ward_cli_strv_append (&c->o.devices, v); break;
        case R_SYSCTL: ward_cli_strv_append (&c->o.sysctls, v); break;
        case R_GROUP_ADD: ward_cli_strv_append (&c->o.group_add, v); break;
        case R_PUBLISH: ward_cli_strv_append (&c->o.publish, v); break;
        case R_QUIET: *quiet = ward_flag_bool (v); break;
        case R_PULL:
        case R_PLATFORM:
        case R_LOG_DRIVER:
        case R_LOG_OPT:
          break;
        case R_EXPOSE: ward_cli_strv_append (&c->o.expose, v); break;
        case R_PUBLISH_ALL: c->o.publish_all = ward_flag_bool (v); break;
        case R_IP: c->o.ip = v; break;
        case R_DNS: ward_cli_strv_append (&c->o.dns, v); break;
        case R_DNS_SEARCH: ward_cli_strv_append (&c->o.dns_search, v); break;
        case R_DNS_OPTION: ward_cli_strv_append (&c->o.dns_options, v); break;
        case R_ADD_HOST: ward_cli_strv_append (&c->o.add_hosts, v); break;
        case R_RUNTIME:
          if (strcmp (v, "ward") == 0 || strcmp (v, "runc") == 0)
            c->o.runtime = NULL;
          else if (strcmp (v, WARD_MGR_RUNTIME_VM) == 0)
            c->o.runtime = WARD_MGR_RUNTIME_VM;
          else
            ret = ward_cli_fail (125, "unknown or invalid runtime name: %s", v);
          break;
        case R_VM: c->o.runtime = ward_flag_bool (v) ? WARD_MGR_RUNTIME_VM : NULL; break;
        }
    }
  if (ret == 0 && f.n_args == 0)
    ret = ward_cli_fail (125, "\"ward %s\" requires at least 1 argument.", ward_cli_verb);
  if (ret == 0)
    {
      c->o.image = xstrdup (f.args[0]);
      c->o.cmd = NULL;
      if (f.n_args > 1)
        for (size_t i = 1; i < f.n_args; i++)
          ward_cli_strv_append (&c->o.cmd, f.args[i]);
    }
  ward_flags_free (&f);
  return -ret;
}

static void run_cfg_freep (run_cfg_t *c)
{
  free ((char *) c->o.image);
  ward_strv_freep (&c->o.cmd);
  run_cfg_clear (c);
}

static int cmd_run (int argc, char **argv, bool start)
{
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ char *id = NULL;
  __attribute__ ((cleanup (run_cfg_freep))) run_cfg_t c;
  bool quiet = false;
  int ret = parse_run (argc, argv, &c, &quiet);
  int code = 0;

  if (ret != 0)
    return -ret;
  if (c.o.tty && !isatty (STDIN_FILENO) && !c.o.detach && c.o.interactive)
    return ward_cli_fail (1, "the input device is not a TTY");
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_create (m, &c.o, &id, &e) < 0)
    return ward_cli_fail_err (e->status == ENOENT && strstr (e->msg, "unable to find user") ? 126 : 125, e);
  if (!start)
    {
      printf ("%s\n", id);
      return 0;
    }
  if (c.o.detach)
    {
      if (ward_mgr_start (m, id, false, &code, &e) < 0)
        return ward_cli_fail_err (code ? code : 125, e);
      printf ("%s\n", id);
      return 0;
    }
  /* foreground: this process is the monitor, attached to our stdio */
  if (ward_mgr_start (m, id, true, &code, &e) < 0)
    return ward_cli_fail_err (ward_mgr_exit_code_for_error (e), e);
  return code;
}

/* ---- container verbs taking IDs -------------------------------------------- */

typedef int (*per_container_fn) (ward_mgr_t *m, const char *id, const char *ref, void *data);

static int for_each_ref (char **refs, size_t n, per_container_fn fn, void *data)
{
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  int ret = ward_cli_open_mgr (&m), rc = 0;
  if (ret)
    return ret;
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *id = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_mgr_lookup (m, refs[i], &id, &e) < 0)
        {
          ward_cli_fail_err (1, e);
          rc = 1;
          continue;
        }
      if (fn (m, id, refs[i], data) != 0)
        rc = 1;
    }
  return rc;
}

static int stop_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_stop (m, id, *(int *) data, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%s\n", ref);
  return 0;
}

static int cmd_stop (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "time", 't', WARD_FLAG_VALUE, 1 },
                                          { "signal", 's', WARD_FLAG_VALUE, 2 },
                                          { NULL, 0, 0, 0 } };
  int timeout = -1, ret;
  SIMPLE_PARSE (defs, 1, "stop [OPTIONS] CONTAINER [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      timeout = atoi (f.vals[i].value);
  ret = for_each_ref (f.args, f.n_args, stop_one, &timeout);
  ward_flags_free (&f);
  return ret;
}

static int kill_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_kill (m, id, *(int *) data, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%s\n", ref);
  return 0;
}

static int cmd_kill (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "signal", 's', WARD_FLAG_VALUE, 1 }, { NULL, 0, 0, 0 } };
  int sig = SIGKILL, ret;
  SIMPLE_PARSE (defs, 1, "kill [OPTIONS] CONTAINER [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1 && ward_signal_parse (f.vals[i].value, &sig) < 0)
      {
        fprintf (stderr, "Error response from daemon: Invalid signal: %s\n", f.vals[i].value);
        ward_flags_free (&f);
        return 1;
      }
  ret = for_each_ref (f.args, f.n_args, kill_one, &sig);
  ward_flags_free (&f);
  return ret;
}

static int start_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  bool attach = *(bool *) data;
  int code = 0;
  if (ward_mgr_start (m, id, attach, &code, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (attach)
    return code;
  printf ("%s\n", ref);
  return 0;
}

static int cmd_start (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "attach", 'a', WARD_FLAG_BOOL, 1 },
                                          { "interactive", 'i', WARD_FLAG_BOOL, 2 },
                                          { "all", 0, WARD_FLAG_BOOL, 3 },
                                          { NULL, 0, 0, 0 } };
  bool attach = false;
  int ret;
  /* `start --all` (no CONTAINER): the boot-time restart, see ward.service */
  for (int k = 0; k < argc && strcmp (argv[k], "--") != 0; k++)
    if (strcmp (argv[k], "--all") == 0 || strcmp (argv[k], "--all=true") == 0)
      {
        if (argc != 1)
          return ward_cli_fail (1, "\"ward start --all\" takes no other flag and no container");
        return ward_cli_start_all ();
      }
  SIMPLE_PARSE (defs, 1, "start [OPTIONS] CONTAINER [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1 || f.vals[i].id == 2)
      attach = ward_flag_bool (f.vals[i].value);
  ret = for_each_ref (f.args, f.n_args, start_one, &attach);
  ward_flags_free (&f);
  return ret;
}

static int restart_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_stop (m, id, *(int *) data, &e) < 0 || ward_mgr_start (m, id, false, NULL, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%s\n", ref);
  return 0;
}

static int cmd_restart (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "time", 't', WARD_FLAG_VALUE, 1 }, { NULL, 0, 0, 0 } };
  int timeout = -1, ret;
  SIMPLE_PARSE (defs, 1, "restart [OPTIONS] CONTAINER [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      timeout = atoi (f.vals[i].value);
  ret = for_each_ref (f.args, f.n_args, restart_one, &timeout);
  ward_flags_free (&f);
  return ret;
}

static int rm_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_json_ json_object *rec = NULL;
  bool *flags = data; /* force, volumes */
  /* -v: the anonymous volumes go with the record, read before it goes */
  if (flags[1] && ward_mgr_record_read (m, id, &rec, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (ward_mgr_remove (m, id, flags[0], &e) < 0)
    return ward_cli_fail_err (1, e);
  if (rec)
    ward_mgr_volumes_release_anonymous (m, rec);
  printf ("%s\n", ref);
  return 0;
}

static int cmd_rm (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 },
                                          { "volumes", 'v', WARD_FLAG_BOOL, 2 },
                                          { "link", 'l', WARD_FLAG_BOOL, 3 },
                                          { NULL, 0, 0, 0 } };
  bool flags[2] = { false, false }; /* force, volumes */
  int ret;
  SIMPLE_PARSE (defs, 1, "rm [OPTIONS] CONTAINER [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1 || f.vals[i].id == 2)
      flags[f.vals[i].id - 1] = ward_flag_bool (f.vals[i].value);
  ret = for_each_ref (f.args, f.n_args, rm_one, flags);
  ward_flags_free (&f);
  return ret;
}

static int pause_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  if (ward_mgr_pause (m, id, *(bool *) data, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%s\n", ref);
  return 0;
}

static int cmd_pause (int argc, char **argv, bool pause)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  SIMPLE_PARSE (defs, 1, "pause|unpause CONTAINER [CONTAINER...]");
  return for_each_ref (f.args, f.n_args, pause_one, &pause);
}

static int wait_one (ward_mgr_t *m, const char *id, const char *ref, void *data)
{
  _cleanup_error_ ward_error_t *e = NULL;
  int code;
  (void) ref;
  (void) data;
  if (ward_mgr_wait (m, id, &code, &e) < 0)
    return ward_cli_fail_err (1, e);
  printf ("%d\n", code);
  fflush (stdout);
  return 0;
}

static int cmd_wait (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  int ret;
  SIMPLE_PARSE (defs, 1, "wait CONTAINER [CONTAINER...]");
  ret = for_each_ref (f.args, f.n_args, wait_one, NULL);
  ward_flags_free (&f);
  return ret;
}

/* ---- ps ----------------------------------------------------------------------- */

typedef struct
{
  json_object *rec;
  bool no_trunc;
  char id[65], command[512], created[128], created_at[64], status[128], names[300], labels[2048];
  char ports[1024];
} ps_row_t;

static void ellipsis (char *s, size_t max)
{
  /* docker's Ellipsis: max-1 runes and "…" */
  size_t runes = 0;
  for (char *p = s; *p; p++)
    if (((unsigned char) *p & 0xc0) != 0x80 && ++runes == max)
      {
        strcpy (p, "…");
        return;
      }
}

static const char *ps_lookup (const char *field, void *data)
{
  ps_row_t *r = data;
  if (strcmp (field, "ID") == 0)
    return r->id;
  if (strcmp (field, "Names") == 0)
    return r->names;
  if (strcmp (field, "Image") == 0)
    return ward_mgr_rec_str (r->rec, "Config.Image");
  if (strcmp (field, "Command") == 0)
    return r->command;
  if (strcmp (field, "CreatedAt") == 0)
    return r->created_at;
  if (strcmp (field, "RunningFor") == 0)
    return r->created;
  if (strcmp (field, "Status") == 0)
    return r->status;
  if (strcmp (field, "State") == 0)
    return ward_mgr_rec_str (r->rec, "State.Status");
  if (strcmp (field, "Ports") == 0)
    return r->ports;
  if (strcmp (field, "Size") == 0 || strcmp (field, "Mounts") == 0)
    return "";
  if (strcmp (field, "Networks") == 0)
    return ward_mgr_rec_str (r->rec, "HostConfig.NetworkMode");
  if (strcmp (field, "Labels") == 0)
    return r->labels;
  return NULL;
}

static void ps_fill (ps_row_t *r, json_object *rec, bool no_trunc, time_t now)
{
  const char *name = ward_mgr_rec_str (rec, "Name");
  json_object *args, *labels;
  ward_strbuf_t b = { 0 };
  _cleanup_free_ char *cmd = NULL;
  _cleanup_free_ char *st = ward_mgr_status_string (rec, now);
  _cleanup_free_ char *ago = NULL;
  struct timespec ts = { 0, 0 };

  memset (r, 0, sizeof *r);
  r->rec = rec;
  snprintf (r->id, sizeof r->id, "%.*s", no_trunc ? 64 : 12, ward_mgr_rec_str (rec, "Id"));
  snprintf (r->names, sizeof r->names, "%s", name ? (name[0] == '/' ? name + 1 : name) : "");
  ward_strbuf_puts (&b, ward_mgr_rec_str (rec, "Path") ? ward_mgr_rec_str (rec, "Path") : "");
  if (json_object_object_get_ex (rec, "Args", &args))
    for (size_t i = 0; i < json_object_array_length (args); i++)
      {
        ward_strbuf_puts (&b, " ");
        ward_strbuf_puts (&b, json_object_get_string (json_object_array_get_idx (args, i)));
      }
  cmd = ward_strbuf_take (&b);
  if (!no_trunc)
    ellipsis (cmd, 20);
  snprintf (r->command, sizeof r->command, "\"%s\"", cmd);
  ward_mgr_time_parse (ward_mgr_rec_str (rec, "Created"), &ts);
  ago = ward_mgr_human_duration (now - ts.tv_sec);
  {
    /* Go's time.Time String(), as docker ps prints CreatedAt */
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);
    strftime (r->created_at, sizeof r->created_at, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  }
  snprintf (r->created, sizeof r->created, "%s ago", ago);
  snprintf (r->status, sizeof r->status, "%s", st);
  {
    json_object *c;
    ward_strbuf_t lb = { 0 };
    _cleanup_free_ char *ls = NULL;
    if (json_object_object_get_ex (rec, "Config", &c) && json_object_object_get_ex (c, "Labels", &labels))
      {
        json_object_object_foreach (labels, k, v)
          {
            if (lb.len)
              ward_strbuf_puts (&lb, ",");
            ward_strbuf_printf (&lb, "%s=%s", k, json_object_get_string (v));
          }
      }
    ls = ward_strbuf_take (&lb);
    snprintf (r->labels, sizeof r->labels, "%s", ls);
  }
  {
    _cleanup_free_ char *ports = ward_mgr_net_ports_string (rec);
    snprintf (r->ports, sizeof r->ports, "%s", ports);
  }
}

typedef struct
{
  json_object **v;
  size_t n;
} records_t;

static void records_freep (records_t *r)
{
  if (r->v)
    ward_mgr_records_free (r->v, r->n);
}
#define _cleanup_records_ __attribute__ ((cleanup (records_freep)))

static int cmd_ps (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = {
    { "all", 'a', WARD_FLAG_BOOL, 1 },      { "quiet", 'q', WARD_FLAG_BOOL, 2 },
    { "last", 'n', WARD_FLAG_VALUE, 3 },    { "no-trunc", 0, WARD_FLAG_BOOL, 4 },
    { "filter", 'f', WARD_FLAG_VALUE, 5 },  { "format", 0, WARD_FLAG_VALUE, 6 },
    { "latest", 'l', WARD_FLAG_BOOL, 7 },   { "size", 's', WARD_FLAG_BOOL, 8 },
    { NULL, 0, 0, 0 },
  };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_records_ records_t recs = { NULL, 0 };
  size_t shown = 0, nrows = 0;
  bool all = false, quiet = false, no_trunc = false;
  long last = -1;
  const char *format = NULL;
  _cleanup_strv_ char **filters = NULL;
  _cleanup_tmpl_ ward_tmpl_t t = { NULL, false };
  _cleanup_strv_ char **rows = NULL;
  time_t now = time (NULL);
  int ret = 0;
  SIMPLE_PARSE (defs, 0, "ps [OPTIONS]");

  for (size_t i = 0; i < f.n; i++)
    switch (f.vals[i].id)
      {
      case 1: all = ward_flag_bool (f.vals[i].value); break;
      case 2: quiet = ward_flag_bool (f.vals[i].value); break;
      case 3: last = atol (f.vals[i].value); all = true; break;
      case 4: no_trunc = ward_flag_bool (f.vals[i].value); break;
      case 5: ward_cli_strv_append (&filters, f.vals[i].value); break;
      case 6: format = f.vals[i].value; break;
      case 7: last = 1; all = true; break;
      }
  ward_flags_free (&f);
  if (quiet && !format)
    format = "{{.ID}}";
  if (!format)
    format = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  if ((ret = ward_cli_parse_format (format, &t)) != 0)
    return ret;
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_list (m, &recs.v, &recs.n, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (t.table)
    ward_cli_strv_push (&rows, &nrows, ward_tmpl_header (&t));
  for (size_t i = 0; i < recs.n; i++)
    {
      ps_row_t r;
      bool match = true;
      const char *st = ward_mgr_rec_str (recs.v[i], "State.Status");
      bool explicit_status = false;
      for (char **fl = filters; fl && *fl && match; fl++)
        {
          if (strncmp (*fl, "status=", 7) == 0 || strncmp (*fl, "exited=", 7) == 0)
            explicit_status = true;
          if (ward_mgr_filter_match (recs.v[i], *fl, &match, &e) < 0)
            return ward_cli_fail_err (1, e);
        }
      if (!match)
        continue;
      if (!all && !explicit_status && st && strcmp (st, "running") != 0 && strcmp (st, "paused") != 0
          && strcmp (st, "restarting") != 0)
        continue;
      if (last >= 0 && (long) shown >= last)
        break;
      shown++;
      ps_fill (&r, recs.v[i], no_trunc, now);
      {
        int rr = ward_cli_render_row (&t, ps_lookup, &r, &rows, &nrows);
        if (rr)
          return rr;
      }
    }
  ward_cli_print_rows (rows, nrows, t.table);
  return 0;
}

/* ---- inspect ------------------------------------------------------------------ */

static const char *json_lookup (const char *field, void *data)
{
  json_object *o = data;
  const char *s;
  static char buf[64];
  if (strncmp (field, "json:", 5) == 0)
    {
      /* {{json .X}}: the value as JSON, as docker's template function */
      json_object *v;
      if (!ward_cli_json_path (o, field + 5, &v))
        return NULL;
      return json_object_to_json_string_ext (v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    }
  s = ward_mgr_rec_str (o, field);
  if (s)
    return s;
  {
    /* numbers, booleans, null, objects: as Go prints them */
    json_object *v;
    if (!ward_cli_json_path (o, field, &v))
      return NULL;
    if (v == NULL)
      return "<no value>";
    if (json_object_is_type (v, json_type_boolean))
      return json_object_get_boolean (v) ? "true" : "false";
    if (json_object_is_type (v, json_type_int))
      {
        snprintf (buf, sizeof buf, "%lld", (long long) json_object_get_int64 (v));
        return buf;
      }
    if (json_object_is_type (v, json_type_array))
      {
        /* Go's fmt of a []string: [a b] */
        static char *joined;
        ward_strbuf_t b = { 0 };
        ward_strbuf_puts (&b, "[");
        for (size_t i = 0; i < json_object_array_length (v); i++)
          {
            if (i)
              ward_strbuf_puts (&b, " ");
            ward_strbuf_puts (&b, json_object_get_string (json_object_array_get_idx (v, i)));
          }
        ward_strbuf_puts (&b, "]");
        free (joined);
        joined = ward_strbuf_take (&b);
        return joined;
      }
    return json_object_to_json_string_ext (v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  }
}

static int cmd_inspect (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "format", 'f', WARD_FLAG_VALUE, 1 },
                                          { "type", 0, WARD_FLAG_VALUE, 2 },
                                          { "size", 's', WARD_FLAG_BOOL, 3 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_json_ json_object *arr = json_object_new_array ();
  const char *format = NULL;
  int ret = 0;
  ward_tmpl_t t = { 0 };
  SIMPLE_PARSE (defs, 1, "inspect [OPTIONS] NAME|ID [NAME|ID...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      format = f.vals[i].value;
  if (format)
    {
      _cleanup_free_ char *perr = NULL;
      if (ward_tmpl_parse (format, &t, &perr) < 0)
        {
          ward_flags_free (&f);
          return ward_cli_fail (1, "%s", perr);
        }
    }
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    {
      ward_flags_free (&f);
      ward_tmpl_clear (&t);
      return ret;
    }
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_free_ char *id = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      json_object *rec = NULL, *st;
      if (ward_mgr_lookup (m, f.args[i], &id, &e) < 0 || ward_mgr_record_refresh (m, id, &rec, &e) < 0)
        rec = ward_cli_image_inspect_json (f.args[i]);
      if (rec == NULL)
        {
          /* then a volume, as docker inspect looks it up */
          _cleanup_error_ ward_error_t *ve = NULL;
          if (ward_mgr_volume_inspect (m, f.args[i], &rec, &ve) < 0)
            rec = NULL;
        }
      if (rec == NULL)
        {
          /* docker: "Error: No such object: X" for inspect */
          fprintf (stderr, "Error: No such object: %s\n", f.args[i]);
          ret = 1;
          continue;
        }
      if (json_object_object_get_ex (rec, "State", &st))
        {
          json_object_object_del (st, "MonitorPid");
          json_object_object_del (st, "ManuallyStopped");
          json_object_object_del (st, "BootId");
        }
      if (format)
        {
          _cleanup_free_ char *rerr = NULL;
          _cleanup_free_ char *line = ward_tmpl_render (&t, json_lookup, rec, &rerr);
          if (line == NULL)
            {
              fprintf (stderr, "%s\n", rerr);
              ret = 1;
            }
          else
            printf ("%s\n", line);
          json_object_put (rec);
        }
      else
        json_object_array_add (arr, rec);
    }
  if (!format)
    printf ("%s\n", json_object_to_json_string_ext (arr, JSON_C_TO_STRING_PRETTY
                                                           | JSON_C_TO_STRING_SPACED
                                                           | JSON_C_TO_STRING_NOSLASHESCAPE));
  ward_flags_free (&f);
  ward_tmpl_clear (&t);
  return ret;
}

/* ---- logs --------------------------------------------------------------------- */

static int cmd_logs (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "follow", 'f', WARD_FLAG_BOOL, 1 },
                                          { "tail", 'n', WARD_FLAG_VALUE, 2 },
                                          { "timestamps", 't', WARD_FLAG_BOOL, 3 },
                                          { "since", 0, WARD_FLAG_VALUE, 4 },
                                          { "details", 0, WARD_FLAG_BOOL, 5 },
                                          { "until", 0, WARD_FLAG_VALUE, 6 },
                                          { NULL, 0, 0, 0 } };
  ward_mgr_logs_opts_t o = { .tail = -1, .out_fd = 1, .err_fd = 2 };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  int ret;
  SIMPLE_PARSE (defs, 1, "logs [OPTIONS] CONTAINER");
  for (size_t i = 0; i < f.n; i++)
    {
      const char *v = f.vals[i].value;
      switch (f.vals[i].id)
        {
        case 1: o.follow = ward_flag_bool (v); break;
        case 2: o.tail = strcmp (v, "all") == 0 ? -1 : atol (v); break;
        case 3: o.timestamps = ward_flag_bool (v); break;
        case 4:
        case 6:
          {
            struct timespec ts;
            char *end;
            double d = strtod (v, &end);
            time_t *when = f.vals[i].id == 4 ? &o.since : &o.until;
            if (ward_mgr_time_parse (v, &ts) == 0)
              *when = ts.tv_sec;
            else if (end != v && (*end == 's' || *end == 'm' || *end == 'h') && end[1] == '\0')
              *when = time (NULL) - (time_t) (d * (*end == 's' ? 1 : *end == 'm' ? 60 : 3600));
            else if (end != v && *end == '\0')
              *when = (time_t) d;
            else
              {
                ward_flags_free (&f);
                return ward_cli_fail (1, "invalid value for \"%s\": %s", f.vals[i].id == 4 ? "since" : "until", v);
              }
          }
          break;
        }
    }
  if ((ret = ward_cli_open_mgr (&m)) == 0)
    {
      if (ward_mgr_lookup (m, f.args[0], &id, &e) < 0 || ward_mgr_logs (m, id, &o, &e) < 0)
        ret = ward_cli_fail_err (1, e);
    }
  ward_flags_free (&f);
  return ret;
}

/* ---- exec, top, port ----------------------------------------------------------- */

static int cmd_exec (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = {
    { "detach", 'd', WARD_FLAG_BOOL, 1 }, { "interactive", 'i', WARD_FLAG_BOOL, 2 },
    { "tty", 't', WARD_FLAG_BOOL, 3 },    { "env", 'e', WARD_FLAG_VALUE, 4 },
    { "user", 'u', WARD_FLAG_VALUE, 5 },  { "workdir", 'w', WARD_FLAG_VALUE, 6 },
    { "privileged", 0, WARD_FLAG_BOOL, 7 }, { "env-file", 0, WARD_FLAG_VALUE, 8 },
    { NULL, 0, 0, 0 },
  };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **env = NULL;
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *user = NULL;
  ward_exec_opts_t o = { 0 };
  _cleanup_flags_ ward_flags_t f = { 0 };
  int code = 0, ret;

  if (ward_flags_parse (defs, argc, argv, false, &f) < 0)
    return ward_cli_usage_error (&f, NULL);
  if (f.n_args < 2)
    {
      return ward_cli_fail (1, "\"ward exec\" requires at least 2 arguments.\nSee 'ward exec --help'.");
    }
  for (size_t i = 0; i < f.n; i++)
    {
      const char *v = f.vals[i].value;
      switch (f.vals[i].id)
        {
        case 1: o.detach = ward_flag_bool (v); break;
        case 3: o.tty = ward_flag_bool (v); break;
        case 4: ward_cli_strv_append (&env, v); break;
        case 5: free (user); user = xstrdup (v); break;
        case 6: o.cwd = v; break;
        }
    }
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_lookup (m, f.args[0], &id, &e) < 0 || ward_mgr_record_refresh (m, id, &rec, &e) < 0)
    {
      return ward_cli_fail_err (1, e);
    }
  if (!ward_mgr_is_running (m, rec))
    {
      return ward_cli_fail (1, "Error response from daemon: Container %s is not running", id);
    }
  if (user)
    {
      /* names resolve in the container's own /etc/passwd */
      _cleanup_free_ char *rootfs = xasprintf ("%s/%s/rootfs", m->cdir, id);
      _cleanup_close_ int rfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      uint32_t uid, gid;
      if (rfd < 0 || ward_image_resolve_user (rfd, user, &uid, &gid, NULL, NULL, &e) < 0)
        {
          return ward_cli_fail (126, "Error response from daemon: unable to find user %s: no matching entries in passwd file", user);
        }
      free (user);
      user = xasprintf ("%u:%u", uid, gid);
      o.user = user;
    }
  {
    _cleanup_free_ char *rt = xasprintf ("%s/runtime", m->root);
    o.root = rt;
    o.id = id;
    o.args = &f.args[1];
    o.args_len = f.n_args - 1;
    o.env = env;
    if (o.tty && !isatty (STDIN_FILENO))
      {
        return ward_cli_fail (1, "the input device is not a TTY");
      }
    if (ward_container_exec (&o, &code, &e) < 0)
      {
        return ward_cli_fail (strstr (e->msg, "not found") ? 127 : 126, "OCI runtime exec failed: %s", e->msg);
      }
  }
  return code;
}

static int cmd_top (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int ret;
  SIMPLE_PARSE (defs, 1, "top CONTAINER");
  if ((ret = ward_cli_open_mgr (&m)) == 0)
    {
      if (ward_mgr_lookup (m, f.args[0], &id, &e) < 0 || ward_container_pids (m->rt_root, id, &pids, &n, &e) < 0)
        ret = ward_cli_fail_err (1, e);
      else
        {
          char **rows = xzalloc ((n + 1) * sizeof *rows);
          _cleanup_free_ char *out = NULL;
          rows[0] = xstrdup ("PID\tPPID\tCMD");
          for (size_t i = 0; i < n; i++)
            {
              _cleanup_free_ char *p = xasprintf ("/proc/%d/cmdline", (int) pids[i]);
              _cleanup_free_ char *s = xasprintf ("/proc/%d/stat", (int) pids[i]);
              _cleanup_free_ char *cmd = NULL, *stat = NULL;
              _cleanup_error_ ward_error_t *e2 = NULL;
              size_t len = 0;
              int ppid = 0;
              if (ward_read_file_at (AT_FDCWD, p, &cmd, &len, 0, &e2) < 0)
                cmd = xstrdup ("");
              for (size_t k = 0; k + 1 < len; k++)
                if (cmd[k] == '\0')
                  cmd[k] = ' ';
              ward_error_free (&e2);
              if (ward_read_file_at (AT_FDCWD, s, &stat, NULL, 0, &e2) == 0 && strrchr (stat, ')'))
                sscanf (strrchr (stat, ')') + 2, "%*c %d", &ppid);
              rows[i + 1] = xasprintf ("%d\t%d\t%s", (int) pids[i], ppid, cmd);
            }
          out = ward_tabwrite (rows, n + 1, 10, 3);
          fputs (out, stdout);
          for (size_t i = 0; i <= n; i++)
            free (rows[i]);
          free (rows);
        }
    }
  ward_flags_free (&f);
  return ret;
}

static int cmd_port (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *want = NULL;
  json_object *ns, *ports;
  bool found = false;
  int ret;
  SIMPLE_PARSE (defs, 1, "port CONTAINER [PRIVATE_PORT[/PROTO]]");
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_lookup (m, f.args[0], &id, &e) < 0 || ward_mgr_record_refresh (m, id, &rec, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (f.n_args > 1)
    want = strchr (f.args[1], '/') ? xstrdup (f.args[1]) : xasprintf ("%s/tcp", f.args[1]);
  /* NetworkSettings.Ports holds what the running container publishes */
  if (json_object_object_get_ex (rec, "NetworkSettings", &ns) && json_object_object_get_ex (ns, "Ports", &ports)
      && json_object_is_type (ports, json_type_object))
    {
      json_object_object_foreach (ports, key, list)
        {
          if ((want && strcmp (key, want) != 0) || !json_object_is_type (list, json_type_array))
            continue;
          for (size_t i = 0; i < json_object_array_length (list); i++)
            {
              json_object *b = json_object_array_get_idx (list, i), *hi, *hp;
              if (!json_object_object_get_ex (b, "HostIp", &hi) || !json_object_object_get_ex (b, "HostPort", &hp))
                continue;
              found = true;
              if (want)
                printf ("%s:%s\n", json_object_get_string (hi), json_object_get_string (hp));
              else
                printf ("%s -> %s:%s\n", key, json_object_get_string (hi), json_object_get_string (hp));
            }
        }
    }
  if (want && !found)
    return ward_cli_fail (1, "Error: No public port '%s' published for %s", want, f.args[0]);
  return 0;
}

/* ---- cp: through the container's snapshot ---------------------------------------- */

static int cmd_cp (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "archive", 'a', WARD_FLAG_BOOL, 1 },
                                          { "follow-link", 'L', WARD_FLAG_BOOL, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  const char *from, *to, *colon;
  bool to_ctr;
  int ret;
  SIMPLE_PARSE (defs, 2, "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tward cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH");
  from = f.args[0];
  to = f.args[1];
  to_ctr = strchr (from, ':') == NULL || from[0] == '/' || from[0] == '.';
  colon = strchr (to_ctr ? to : from, ':');
  if (colon == NULL)
    {
      ward_flags_free (&f);
      return ward_cli_fail (1, "must specify at least one container source");
    }
  if ((ret = ward_cli_open_mgr (&m)) == 0)
    {
      _cleanup_free_ char *ref = xstrndup (to_ctr ? to : from, (size_t) (colon - (to_ctr ? to : from)));
      if (ward_mgr_lookup (m, ref, &id, &e) < 0)
        ret = ward_cli_fail_err (1, e);
    }
  if (ret == 0 && ward_mgr_copy (m, id, to_ctr, colon + 1, to_ctr ? from : to, &e) < 0)
    ret = ward_cli_fail (1, "Error: %s", e->msg);
  ward_flags_free (&f);
  return ret;
}

/* ---- version, info, hidden verbs ---------------------------------------------------- */

static int cmd_version (void)
{
  struct utsname u;
  uname (&u);
  printf ("Client:\n Version:           %s\n API version:       1.41 (ward, daemonless)\n"
          " Git commit:        %s\n OS/Arch:           linux/%s\n\n"
          "Server:\n Engine:\n  Version:          %s\n  Runtime:          ward (libward, runtime-spec %s)\n"
          "  Kernel:           %s\n",
          PACKAGE_VERSION, WARD_GIT_COMMIT, ward_image_host_arch (), PACKAGE_VERSION,
          WARD_OCI_VERSION, u.release);
  return 0;
}

static int cmd_info (void)
{
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  json_object **recs = NULL;
  size_t n = 0, running = 0, stopped = 0, paused = 0;
  struct utsname u;
  int ret = ward_cli_open_mgr (&m);
  if (ret)
    return ret;
  if (ward_mgr_list (m, &recs, &n, &e) < 0)
    return ward_cli_fail_err (1, e);
  for (size_t i = 0; i < n; i++)
    {
      const char *st = ward_mgr_rec_str (recs[i], "State.Status");
      if (st && strcmp (st, "running") == 0)
        running++;
      else if (st && strcmp (st, "paused") == 0)
        paused++;
      else
        stopped++;
    }
  ward_mgr_records_free (recs, n);
  uname (&u);
  printf ("Client:\n Context:    default\n\nServer:\n Containers: %zu\n  Running: %zu\n  Paused: %zu\n"
          "  Stopped: %zu\n Server Version: %s\n Storage Driver: overlay2\n Logging Driver: json-file\n"
          " Cgroup Driver: cgroupfs\n Cgroup Version: %s\n Runtimes: ward\n Default Runtime: ward\n"
          " Kernel Version: %s\n Architecture: %s\n Docker Root Dir: %s\n",
          n, running, paused, stopped, PACKAGE_VERSION,
          access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1", u.release,
          u.machine, m->root);
  return 0;
}

static void usage (FILE *out)
{
  fputs ("Usage:  ward [OPTIONS] COMMAND\n\n"
         "A daemonless, docker-compatible container manager\n\n"
         "Options:\n"
         "      --root string   Root of the container and image store (default \"/var/lib/ward\")\n"
         "  -D, --debug         Enable debug mode\n\n"
         "Commands:\n"
         "  run         Create and run a new container from an image\n"
         "  create      Create a new container\n"
         "  start       Start one or more stopped containers\n"
         "  stop        Stop one or more running containers\n"
         "  restart     Restart one or more containers\n"
         "  kill        Kill one or more running containers\n"
         "  rm          Remove one or more containers\n"
         "  ps          List containers\n"
         "  logs        Fetch the logs of a container\n"
         "  exec        Execute a command in a running container\n"
         "  inspect     Return low-level information on containers\n"
         "  pause       Pause all processes within one or more containers\n"
         "  unpause     Unpause all processes within one or more containers\n"
         "  wait        Block until one or more containers stop, then print their exit codes\n"
         "  rename      Rename a container\n"
         "  stats       Display a live stream of container(s) resource usage statistics\n"
         "  volume      Manage volumes\n"
         "  top         Display the running processes of a container\n"
         "  port        List port mappings for the container\n"
         "  cp          Copy files/folders between a container and the local filesystem\n"
         "  pull        Download an image from a registry\n"
         "  images      List images\n"
         "  rmi         Remove one or more images\n"
         "  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n"
         "  load        Load an image from a tar archive or STDIN\n"
         "  save        Save one or more images to a tar archive (streamed to STDOUT by default)\n"
         "  info        Display system-wide information\n"
         "  version     Show the ward version information\n",
         out);
}

int main (int argc, char **argv)
{
  int i = 1;
  enum ward_log_level lvl = WARD_LOG_WARNING;

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--root") == 0 && i + 1 < argc)
        ward_cli_root = argv[++i];
      else if (strncmp (argv[i], "--root=", 7) == 0)
        ward_cli_root = argv[i] + 7;
      else if (strcmp (argv[i], "-D") == 0 || strcmp (argv[i], "--debug") == 0)
        lvl = WARD_LOG_DEBUG;
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          usage (stdout);
          return 0;
        }
      else if (strcmp (argv[i], "--version") == 0 || strcmp (argv[i], "-v") == 0)
        {
          printf ("ward version %s, build %s\n", PACKAGE_VERSION, WARD_GIT_COMMIT);
          return 0;
        }
      else
        {
          fprintf (stderr, "unknown flag: %s\nSee 'ward --help'.\n", argv[i]);
          return 125;
        }
    }
  if (!ward_cli_root)
    ward_cli_root = getenv ("WARD_ROOT");
  ward_log_init (-1, false, lvl);
  if (!getenv (WARD_MGR_ENV_SELF))
    {
      /* before the re-exec below, which leaves /proc/self/exe a memfd */
      _cleanup_free_ char *self = realpath ("/proc/self/exe", NULL);
      if (self)
        setenv (WARD_MGR_ENV_SELF, self, 0);
    }
  if (i < argc)
    {
      /* CVE-2019-5736: the verbs that start container processes run from a
       * sealed copy of this binary (re-executes; returns when done) */
      static const char *const starting[] = { "run", "start", "restart", "exec", "container", NULL };
      for (const char *const *v = starting; *v; v++)
        if (strcmp (argv[i], *v) == 0)
          {
            _cleanup_error_ ward_error_t *e = NULL;
            if (ward_runtime_protect_binary (argv, &e) < 0)
              {
                fprintf (stderr, "ward: %s\n", e->msg);
                return 125;
              }
            break;
          }
    }
  if (i >= argc)
    {
      usage (stderr);
      return 1;
    }
  ward_cli_verb = argv[i];
  argc -= i + 1;
  argv += i + 1;
  /* docker's management-command spellings */
  if (strcmp (ward_cli_verb, "container") == 0 || strcmp (ward_cli_verb, "image") == 0)
    {
      if (argc == 0)
        {
          usage (stderr);
          return 1;
        }
      if (strcmp (ward_cli_verb, "image") == 0 && strcmp (argv[0], "ls") == 0)
        ward_cli_verb = "images";
      else if (strcmp (ward_cli_verb, "image") == 0 && strcmp (argv[0], "rm") == 0)
        ward_cli_verb = "rmi";
      else if (strcmp (argv[0], "ls") == 0 || strcmp (argv[0], "list") == 0)
        ward_cli_verb = "ps";
      else
        ward_cli_verb = argv[0];
      argc--;
      argv++;
    }

  if (strcmp (ward_cli_verb, "run") == 0)
    return cmd_run (argc, argv, true);
  if (strcmp (ward_cli_verb, "create") == 0)
    return cmd_run (argc, argv, false);
  if (strcmp (ward_cli_verb, "start") == 0)
    return cmd_start (argc, argv);
  if (strcmp (ward_cli_verb, "stop") == 0)
    return cmd_stop (argc, argv);
  if (strcmp (ward_cli_verb, "kill") == 0)
    return cmd_kill (argc, argv);
  if (strcmp (ward_cli_verb, "restart") == 0)
    return cmd_restart (argc, argv);
  if (strcmp (ward_cli_verb, "rm") == 0)
    return cmd_rm (argc, argv);
  if (strcmp (ward_cli_verb, "ps") == 0)
    return cmd_ps (argc, argv);
  if (strcmp (ward_cli_verb, "logs") == 0)
    return cmd_logs (argc, argv);
  if (strcmp (ward_cli_verb, "exec") == 0)
    return cmd_exec (argc, argv);
  if (strcmp (ward_cli_verb, "inspect") == 0)
    return cmd_inspect (argc, argv);
  if (strcmp (ward_cli_verb, "wait") == 0)
    return cmd_wait (argc, argv);
  if (strcmp (ward_cli_verb, "top") == 0)
    return cmd_top (argc, argv);
  if (strcmp (ward_cli_verb, "port") == 0)
    return cmd_port (argc, argv);
  if (strcmp (ward_cli_verb, "cp") == 0)
    return cmd_cp (argc, argv);
  if (strcmp (ward_cli_verb, "pull") == 0)
    return ward_cli_cmd_pull (argc, argv);
  if (strcmp (ward_cli_verb, "images") == 0)
    return ward_cli_cmd_images (argc, argv);
  if (strcmp (ward_cli_verb, "rmi") == 0)
    return ward_cli_cmd_rmi (argc, argv);
  if (strcmp (ward_cli_verb, "tag") == 0)
    return ward_cli_cmd_tag (argc, argv);
  if (strcmp (ward_cli_verb, "load") == 0)
    return ward_cli_cmd_load (argc, argv);
  if (strcmp (ward_cli_verb, "save") == 0)
    return ward_cli_cmd_save (argc, argv);
  if (strcmp (ward_cli_verb, "version") == 0)
    return cmd_version ();
  if (strcmp (ward_cli_verb, "info") == 0)
    return cmd_info ();
  if (strcmp (ward_cli_verb, "image-import-default") == 0)
    return ward_cli_cmd_import_default (argc, argv);
  if (strcmp (ward_cli_verb, "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (ward_cli_verb, "pause") == 0 || strcmp (ward_cli_verb, "unpause") == 0)
    return cmd_pause (argc, argv, strcmp (ward_cli_verb, "pause") == 0);
  if (strcmp (ward_cli_verb, "volume") == 0)
    return ward_cli_cmd_volume (argc, argv);
  if (strcmp (ward_cli_verb, "rename") == 0)
    return ward_cli_cmd_rename (argc, argv);
  if (strcmp (ward_cli_verb, "stats") == 0)
    return ward_cli_cmd_stats (argc, argv);
  if (strcmp (ward_cli_verb, "network") == 0)
    return ward_cli_cmd_network (argc, argv);
  fprintf (stderr, "ward: '%s' is not a ward command.\nSee 'ward --help'\n", ward_cli_verb);
  return 125;
}
