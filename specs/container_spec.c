/* The config.json of a docker-style container: runc's default spec, then
 * what the image asks for (Entrypoint/Cmd/Env/WorkingDir), then the
 * `ward run` flags, with docker's defaults for everything a user does not
 * say (capabilities, seccomp, masked paths, /dev/shm, device rules). */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "specs/specs.h"

const char *const ward_container_default_caps[] = {
  "CAP_CHOWN",       "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
  "CAP_MKNOD",       "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
  "CAP_SETFCAP",     "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
  "CAP_KILL",        "CAP_AUDIT_WRITE",  NULL,
};

static const char *const docker_masked[] = {
  "/proc/asound",     "/proc/acpi",        "/proc/kcore",       "/proc/keys",
  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
  "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap", NULL,
};

static const char *const docker_readonly[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void strv_push (char ***v, size_t *n, char *s)
{
  *v = xrealloc (*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

static json_object *jstrv (char *const *v)
{
  json_object *a = json_object_new_array ();
  for (; v && *v; v++)
    json_object_array_add (a, json_object_new_string (*v));
  return a;
}

/* "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN" */
static char *cap_normalize (const char *name)
{
  char *s = strncasecmp (name, "CAP_", 4) == 0 ? xstrdup (name) : xasprintf ("CAP_%s", name);
  for (char *p = s; *p; p++)
    *p = (char) toupper ((unsigned char) *p);
  return s;
}

static bool strv_has (char *const *v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

int ward_container_caps (bool privileged, char **cap_add, char **cap_drop, char ***out,
                         ward_error_t **err)
{
  return ward_container_caps_bounded (privileged, cap_add, cap_drop, 0, out, err);
}

int ward_container_caps_bounded (bool privileged, char **cap_add, char **cap_drop,
                                 uint64_t bounding, char ***out, ward_error_t **err)
{
  _cleanup_strv_ char **caps = NULL;
  size_t n = 0;
  bool add_all = privileged, drop_all = false;

  for (char **c = cap_add; c && *c; c++)
    if (strcasecmp (*c, "ALL") == 0)
      add_all = true;
  for (char **c = cap_drop; c && *c; c++)
    if (strcasecmp (*c, "ALL") == 0)
      drop_all = true;
  if (add_all)
    {
      for (int i = 0; i < 64; i++)
        if (ward_capability_name (i) && (bounding == 0 || (bounding & (1ULL << i))))
          strv_push (&caps, &n, xstrdup (ward_capability_name (i)));
    }
  else if (!drop_all)
    for (const char *const *c = ward_container_default_caps; *c; c++)
      strv_push (&caps, &n, xstrdup (*c));
  if (!add_all)
    for (char **c = cap_add; c && *c; c++)
      {
        _cleanup_free_ char *name = cap_normalize (*c);
        int v;
        if (ward_capability_parse (name, &v) < 0)
          return ward_error_set_ret (err, -EINVAL, 0, "invalid capability: \"%s\"", *c);
        if (!strv_has (caps, name))
          strv_push (&caps, &n, TAKE_PTR (name));
      }
  /* docker: --cap-add wins over --cap-drop for the same name, ALL aside. */
  if (!privileged)
    for (char **c = cap_drop; c && *c; c++)
      {
        _cleanup_free_ char *name = NULL;
        int v;
        if (strcasecmp (*c, "ALL") == 0)
          continue;
        name = cap_normalize (*c);
        if (ward_capability_parse (name, &v) < 0)
          return ward_error_set_ret (err, -EINVAL, 0, "invalid capability: \"%s\"", *c);
        for (size_t i = 0; i < n; i++)
          if (strcmp (caps[i], name) == 0)
            {
              bool added = false;
              for (char **a = cap_add; a && *a; a++)
                {
                  _cleanup_free_ char *an = cap_normalize (*a);
                  if (strcmp (an, name) == 0)
                    added = true;
                }
              if (added)
                break;
              free (caps[i]);
              memmove (&caps[i], &caps[i + 1], (n - i) * sizeof *caps);
              n--;
              break;
            }
      }
  if (caps == NULL)
    caps = xzalloc (sizeof *caps);
  *out = TAKE_PTR (caps);
  return 0;
}

int ward_container_args (const ward_container_spec_opts_t *o, const ward_oci_image_config_t *img,
                         char ***out, ward_error_t **err)
{
  _cleanup_strv_ char **args = NULL;
  size_t n = 0;
  char **ep = o->has_entrypoint ? o->entrypoint : (img && img->has_entrypoint ? img->entrypoint : NULL);
  char **cmd = o->cmd && o->cmd[0] ? o->cmd : NULL;

  /* docker: an explicit --entrypoint resets the image's Cmd. */
  if (!cmd && !o->has_entrypoint && img && img->has_cmd)
    cmd = img->cmd;
  for (char **p = ep; p && *p; p++)
    strv_push (&args, &n, xstrdup (*p));
  for (char **p = cmd; p && *p; p++)
    strv_push (&args, &n, xstrdup (*p));
  if (n == 0)
    return ward_error_set_ret (err, -EINVAL, 0, "No command specified");
  *out = TAKE_PTR (args);
  return 0;
}

static ssize_t env_find (char **env, size_t n, const char *kv)
{
  const char *eq = strchr (kv, '=');
  size_t kl = eq ? (size_t) (eq - kv) : strlen (kv);
  for (size_t i = 0; i < n; i++)
    if (strncmp (env[i], kv, kl) == 0 && (env[i][kl] == '=' || env[i][kl] == '\0'))
      return (ssize_t) i;
  return -1;
}

static void env_set (char ***env, size_t *n, const char *kv)
{
  ssize_t i = env_find (*env, *n, kv);
  if (i >= 0)
    {
      free ((*env)[i]);
      (*env)[i] = xstrdup (kv);
    }
  else
    strv_push (env, n, xstrdup (kv));
}

static json_object *mount_obj (const char *dest, const char *type, const char *src,
                               const char *const *options)
{
  json_object *m = json_object_new_object ();
  json_object_object_add (m, "destination", json_object_new_string (dest));
  json_object_object_add (m, "type", json_object_new_string (type));
  json_object_object_add (m, "source", json_object_new_string (src));
  if (options)
    {
      json_object *a = json_object_new_array ();
      for (; *options; options++)
        json_object_array_add (a, json_object_new_string (*options));
      json_object_object_add (m, "options", a);
    }
  return m;
}

static json_object *build_process (const ward_container_spec_opts_t *o,
                                   const ward_oci_image_config_t *img, ward_error_t **err)
{
  _cleanup_strv_ char **args = NULL;
  _cleanup_strv_ char **env = NULL;
  _cleanup_strv_ char **caps = NULL;
  size_t n_env = 0;
  json_object *p, *user, *c;
  char hostname[64];

  if (ward_container_args (o, img, &args, err) < 0)
    return NULL;
  if (ward_container_caps_bounded (o->privileged, o->cap_add, o->cap_drop, o->cap_bounding, &caps,
                                   err) < 0)
    return NULL;

  snprintf (hostname, sizeof hostname, "HOSTNAME=%s",
            o->hostname ? o->hostname : (o->id ? o->id : ""));
  if (!o->hostname && strlen (hostname) > strlen ("HOSTNAME=") + 12)
    hostname[strlen ("HOSTNAME=") + 12] = '\0';
  strv_push (&env, &n_env, xstrdup (DEFAULT_PATH));
  env_set (&env, &n_env, hostname);
  for (size_t i = 0; img && i < img->env_len; i++)
    env_set (&env, &n_env, img->env[i]);
  for (char **e = o->env; e && *e; e++)
    env_set (&env, &n_env, *e);
  if (o->tty)
    env_set (&env, &n_env, "TERM=xterm");

  p = json_object_new_object ();
  json_object_object_add (p, "terminal", json_object_new_boolean (o->tty));
  user = json_object_new_object ();
  json_object_object_add (user, "uid", json_object_new_int64 (o->uid));
  json_object_object_add (user, "gid", json_object_new_int64 (o->gid));
  if (o->gids_len)
    {
      json_object *g = json_object_new_array ();
      for (size_t i = 0; i < o->gids_len; i++)
        json_object_array_add (g, json_object_new_int64 (o->gids[i]));
      json_object_object_add (user, "additionalGids", g);
    }
  json_object_object_add (p, "user", user);
  json_object_object_add (p, "args", jstrv (args));
  json_object_object_add (p, "env", jstrv (env));
  {
    const char *cwd = o->workdir && *o->workdir ? o->workdir
                      : img && img->working_dir && *img->working_dir ? img->working_dir
                                                                      : "/";
    json_object_object_add (p, "cwd", json_object_new_string (cwd));
  }
  c = json_object_new_object ();
  json_object_object_add (c, "bounding", jstrv (caps));
  json_object_object_add (c, "effective", jstrv (caps));
  json_object_object_add (c, "permitted", jstrv (caps));
  json_object_object_add (p, "capabilities", c);
  if (o->rlimits_len)
    {
      json_object *rl = json_object_new_array ();
      for (size_t i = 0; i < o->rlimits_len; i++)
        {
          json_object *r = json_object_new_object ();
          json_object_object_add (r, "type", json_object_new_string (o->rlimits[i].type));
          json_object_object_add (r, "hard", json_object_new_uint64 (o->rlimits[i].hard));
          json_object_object_add (r, "soft", json_object_new_uint64 (o->rlimits[i].soft));
          json_object_array_add (rl, r);
        }
      json_object_object_add (p, "rlimits", rl);
    }
  json_object_object_add (p, "noNewPrivileges", json_object_new_boolean (o->no_new_privileges));
  /* docker leaves containers at the runtime's default oom score. */
  json_object_object_add (p, "oomScoreAdj", json_object_new_int (0));
  return p;
}

static json_object *build_mounts (const ward_container_spec_opts_t *o)
{
  static const char *const proc_o[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const dev_o[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts_o[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                       "mode=0620", "gid=5", NULL };
  static const char *const sys_ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const sys_rw[] = { "nosuid", "noexec", "nodev", "rw", NULL };
  static const char *const cg_ro[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
  static const char *const cg_rw[] = { "nosuid", "noexec", "nodev", "relatime", "rw", NULL };
  static const char *const mq_o[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const bind_o[] = { "rbind", "rprivate", NULL };
  static const char *const bind_ro[] = { "rbind", "rprivate", "ro", NULL };
  json_object *a = json_object_new_array ();
  char size[64], mode[] = "mode=1777";
  const char *shm_o[] = { "nosuid", "noexec", "nodev", mode, size, NULL };

  snprintf (size, sizeof size, "size=%lld",
            (long long) (o->shm_size > 0 ? o->shm_size : 64LL * 1024 * 1024));
  json_object_array_add (a, mount_obj ("/proc", "proc", "proc", proc_o));
  json_object_array_add (a, mount_obj ("/dev", "tmpfs", "tmpfs", dev_o));
  json_object_array_add (a, mount_obj ("/dev/pts", "devpts", "devpts", pts_o));
  json_object_array_add (a, mount_obj ("/sys", "sysfs", "sysfs", o->privileged ? sys_rw : sys_ro));
  json_object_array_add (a, mount_obj ("/sys/fs/cgroup", "cgroup", "cgroup",
                                       o->privileged ? cg_rw : cg_ro));
  json_object_array_add (a, mount_obj ("/dev/mqueue", "mqueue", "mqueue", mq_o));
  json_object_array_add (a, mount_obj ("/dev/shm", "tmpfs", "shm", shm_o));
  /* The files the manager writes in the container dir; read-only with
   * --read-only, as docker does. */
  if (o->resolv_conf_path)
    json_object_array_add (a, mount_obj ("/etc/resolv.conf", "bind", o->resolv_conf_path,
                                         o->read_only ? bind_ro : bind_o));
  if (o->hostname_path)
    json_object_array_add (a, mount_obj ("/etc/hostname", "bind", o->hostname_path,
                                         o->read_only ? bind_ro : bind_o));
  if (o->hosts_path)
    json_object_array_add (a, mount_obj ("/etc/hosts", "bind", o->hosts_path,
                                         o->read_only ? bind_ro : bind_o));
  for (size_t i = 0; i < o->mounts_len; i++)
    {
      const ward_cspec_mount_t *m = &o->mounts[i];
      json_object_array_add (a, mount_obj (m->destination, m->type,
                                           m->source ? m->source : m->type,
                                           (const char *const *) m->options));
    }
  return a;
}

static void add_dev_rule (json_object *a, bool allow, const char *type, int64_t major,
                          int64_t minor, const char *access)
{
  json_object *d = json_object_new_object ();
  json_object_object_add (d, "allow", json_object_new_boolean (allow));
  if (type)
    json_object_object_add (d, "type", json_object_new_string (type));
  if (major >= 0)
    json_object_object_add (d, "major", json_object_new_int64 (major));
  if (minor >= 0)
    json_object_object_add (d, "minor", json_object_new_int64 (minor));
  json_object_object_add (d, "access", json_object_new_string (access));
  json_object_array_add (a, d);
}

static json_object *build_resources (const ward_container_spec_opts_t *o)
{
  json_object *r = json_object_new_object ();
  json_object *devs = json_object_new_array ();

  if (o->privileged)
    add_dev_rule (devs, true, NULL, -1, -1, "rwm");
  else
    {
      /* docker's default device cgroup rules */
      add_dev_rule (devs, false, NULL, -1, -1, "rwm");
      add_dev_rule (devs, true, "c", -1, -1, "m");
      add_dev_rule (devs, true, "b", -1, -1, "m");
      add_dev_rule (devs, true, "c", 1, 3, "rwm");
      add_dev_rule (devs, true, "c", 1, 8, "rwm");
      add_dev_rule (devs, true, "c", 1, 7, "rwm");
      add_dev_rule (devs, true, "c", 5, 0, "rwm");
      add_dev_rule (devs, true, "c", 1, 5, "rwm");
      add_dev_rule (devs, true, "c", 1, 9, "rwm");
      add_dev_rule (devs, true, "c", 5, 1, "rwm");
      add_dev_rule (devs, true, "c", 136, -1, "rwm");
      add_dev_rule (devs, true, "c", 5, 2, "rwm");
      add_dev_rule (devs, true, "c", 10, 200, "rwm");
      for (size_t i = 0; i < o->devices_len; i++)
        {
          const ward_cspec_device_t *d = &o->devices[i];
          char t[2] = { d->type, 0 };
          add_dev_rule (devs, true, t, d->major, d->minor, d->access ? d->access : "rwm");
        }
    }
  json_object_object_add (r, "devices", devs);
  if (o->memory > 0 || o->memory_swap)
    {
      json_object *m = json_object_new_object ();
      if (o->memory > 0)
        json_object_object_add (m, "limit", json_object_new_int64 (o->memory));
      if (o->memory_swap)
        json_object_object_add (m, "swap", json_object_new_int64 (o->memory_swap));
      json_object_object_add (r, "memory", m);
    }
  if (o->nano_cpus > 0 || o->cpu_shares > 0)
    {
      json_object *c = json_object_new_object ();
      if (o->cpu_shares > 0)
        json_object_object_add (c, "shares", json_object_new_uint64 (o->cpu_shares));
      if (o->nano_cpus > 0)
        {
          json_object_object_add (c, "quota",
                                  json_object_new_int64 (o->nano_cpus * 100000 / 1000000000));
          json_object_object_add (c, "period", json_object_new_uint64 (100000));
        }
      json_object_object_add (r, "cpu", c);
    }
  if (o->pids_limit != 0)
    {
      json_object *p = json_object_new_object ();
      json_object_object_add (p, "limit", json_object_new_int64 (o->pids_limit));
      json_object_object_add (r, "pids", p);
    }
  return r;
}

static json_object *build_linux (const ward_container_spec_opts_t *o, ward_error_t **err)
{
  static const char *const ns_net[] = { "pid", "network", "ipc", "uts", "mount", NULL };
  static const char *const ns_host[] = { "pid", "ipc", "uts", "mount", NULL };
  json_object *l = json_object_new_object ();
  json_object *ns = json_object_new_array ();

  for (const char *const *t = o->host_network ? ns_host : ns_net; *t; t++)
    {
      json_object *n = json_object_new_object ();
      json_object_object_add (n, "type", json_object_new_string (*t));
      json_object_array_add (ns, n);
    }
  json_object_object_add (l, "namespaces", ns);
  json_object_object_add (l, "resources", build_resources (o));
  if (o->cgroups_path)
    json_object_object_add (l, "cgroupsPath", json_object_new_string (o->cgroups_path));
  if (o->devices_len)
    {
      json_object *a = json_object_new_array ();
      for (size_t i = 0; i < o->devices_len; i++)
        {
          const ward_cspec_device_t *d = &o->devices[i];
          json_object *j = json_object_new_object ();
          char t[2] = { d->type, 0 };
          json_object_object_add (j, "path", json_object_new_string (d->path));
          json_object_object_add (j, "type", json_object_new_string (t));
          json_object_object_add (j, "major", json_object_new_int64 (d->major));
          json_object_object_add (j, "minor", json_object_new_int64 (d->minor));
          json_object_object_add (j, "fileMode", json_object_new_int64 (d->file_mode));
          json_object_object_add (j, "uid", json_object_new_int64 (0));
          json_object_object_add (j, "gid", json_object_new_int64 (0));
          json_object_array_add (a, j);
        }
      json_object_object_add (l, "devices", a);
    }
  if (o->sysctls_len)
    {
      json_object *s = json_object_new_object ();
      for (size_t i = 0; i < o->sysctls_len; i++)
        json_object_object_add (s, o->sysctls[i].key, json_object_new_string (o->sysctls[i].value));
      json_object_object_add (l, "sysctl", s);
    }
  if (!o->privileged)
    {
      json_object_object_add (l, "maskedPaths", jstrv ((char *const *) docker_masked));
      json_object_object_add (l, "readonlyPaths", jstrv ((char *const *) docker_readonly));
    }
  if (o->seccomp_json && !o->privileged)
    {
      json_object *sc = json_tokener_parse (o->seccomp_json);
      if (sc == NULL || !json_object_is_type (sc, json_type_object))
        {
          json_object_put (sc);
          json_object_put (l);
          ward_error_set_ret (err, -EINVAL, 0, "seccomp profile: invalid JSON");
          return NULL;
        }
      json_object_object_add (l, "seccomp", sc);
    }
  return l;
}

int ward_container_spec_build (const ward_container_spec_opts_t *o,
                               const ward_oci_image_config_t *img, char **json_out,
                               ward_error_t **err)
{
  _cleanup_free_ char *def = ward_spec_default_json (false, 0, 0);
  _cleanup_json_ json_object *cfg = json_tokener_parse (def);
  _cleanup_config_ ward_config_t *check = NULL;
  json_object *proc, *lin, *root;
  char host[64];
  const char *text;

  if (cfg == NULL)
    return ward_error_set_ret (err, -EINVAL, 0, "default spec: invalid JSON");
  proc = build_process (o, img, err);
  if (proc == NULL)
    return -EINVAL;
  json_object_object_add (cfg, "process", proc);
  root = json_object_new_object ();
  json_object_object_add (root, "path", json_object_new_string (o->rootfs ? o->rootfs : "rootfs"));
  json_object_object_add (root, "readonly", json_object_new_boolean (o->read_only));
  json_object_object_add (cfg, "root", root);
  if (o->hostname)
    snprintf (host, sizeof host, "%s", o->hostname);
  else
    snprintf (host, sizeof host, "%.12s", o->id ? o->id : "");
  json_object_object_add (cfg, "hostname", json_object_new_string (host));
  json_object_object_add (cfg, "mounts", build_mounts (o));
  lin = build_linux (o, err);
  if (lin == NULL)
    return -EINVAL;
  json_object_object_add (cfg, "linux", lin);

  text = json_object_to_json_string_ext (cfg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (ward_config_parse (text, strlen (text), &check, err) < 0)
    return ward_error_wrap (err, "generated config.json");
  *json_out = xstrdup (text);
  return 0;
}
