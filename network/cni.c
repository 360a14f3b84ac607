/* CNI (container network interface, spec 1.0) plugin calls for
 * `--network cni:NAME`.  Each plugin of NAME's conflist is executed with
 * CNI_COMMAND and friends in its environment and its network config on
 * stdin; on ADD every plugin after the first gets the previous plugin's
 * result as "prevResult", on DEL the plugins run in reverse order with the
 * result cached at ADD time. */
#include "network/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

extern char **environ;

static const char *const default_conf_dirs[] = { "/etc/cni/net.d", NULL };

void ward_cni_result_free (ward_cni_result_t *r)
{
  if (r == NULL)
    return;
  free (r->cni_version);
  for (size_t i = 0; i < r->n_ips; i++)
    {
      free (r->ips[i].address);
      free (r->ips[i].gateway);
    }
  free (r->ips);
  for (size_t i = 0; i < r->n_routes; i++)
    {
      free (r->routes[i].dst);
      free (r->routes[i].gw);
    }
  free (r->routes);
  if (r->dns_nameservers)
    for (char **p = r->dns_nameservers; *p; p++)
      free (*p);
  free (r->dns_nameservers);
  free (r->json);
  free (r);
}

static bool has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

static int cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Loads a conflist (or a single-plugin .conf wrapped as a list). */
static int load_conf (const char *path, struct json_object **out, ward_error_t **err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_json_ struct json_object *o = NULL;
  struct json_object *plugins, *v;
  int ret = ward_read_file_at (AT_FDCWD, path, &text, NULL, 1 << 20, err);
  if (ret < 0)
    return ret;
  o = json_tokener_parse (text);
  if (o == NULL || !json_object_is_type (o, json_type_object))
    return ward_error_set (err, EINVAL, "'%s': not a JSON object", path);
  if (!json_object_object_get_ex (o, "plugins", &plugins))
    {
      /* A .conf holds one plugin: the list around it has its name and
       * version. */
      struct json_object *list = json_object_new_object ();
      struct json_object *arr = json_object_new_array ();
      if (json_object_object_get_ex (o, "name", &v))
        json_object_object_add (list, "name", json_object_get (v));
      if (json_object_object_get_ex (o, "cniVersion", &v))
        json_object_object_add (list, "cniVersion", json_object_get (v));
      json_object_array_add (arr, json_object_get (o));
      json_object_object_add (list, "plugins", arr);
      json_object_put (o);
      o = list;
    }
  else if (!json_object_is_type (plugins, json_type_array) || json_object_array_length (plugins) == 0)
    return ward_error_set (err, EINVAL, "'%s': plugins: expected a non-empty array", path);
  if (!json_object_object_get_ex (o, "name", &v) || !json_object_is_type (v, json_type_string))
    return ward_error_set (err, EINVAL, "'%s': name: expected string", path);
  *out = TAKE_PTR (o);
  return 0;
}

int ward_cni_find_conf (const char *const *conf_dirs, const char *name, char **path,
                        ward_error_t **err)
{
  if (conf_dirs == NULL)
    conf_dirs = default_conf_dirs;
  for (const char *const *dir = conf_dirs; *dir; dir++)
    {
      _cleanup_closedir_ DIR *d = opendir (*dir);
      _cleanup_strv_ char **files = xzalloc (sizeof (char *));
      size_t n = 0;
      struct dirent *de;

      if (d == NULL)
        continue;
      while ((de = readdir (d)))
        if (de->d_name[0] != '.'
            && (has_suffix (de->d_name, ".conflist") || has_suffix (de->d_name, ".conf")
                || has_suffix (de->d_name, ".json")))
          {
            files = xrealloc (files, (n + 2) * sizeof *files);
            files[n++] = xasprintf ("%s/%s", *dir, de->d_name);
            files[n] = NULL;
          }
      /* Lexical order, as libcni: the first file naming NAME wins. */
      qsort (files, n, sizeof *files, cmp_str);
      for (size_t i = 0; i < n; i++)
        {
          _cleanup_json_ struct json_object *o = NULL;
          struct json_object *v;
          ward_error_t *e = NULL;
          if (load_conf (files[i], &o, &e) < 0)
            {
              ward_debug ("cni: skip '%s': %s", files[i], e->msg);
              ward_error_free (&e);
              continue;
            }
          if (json_object_object_get_ex (o, "name", &v) && strcmp (json_object_get_string (v), name) == 0)
            {
              *path = xstrdup (files[i]);
              return 0;
            }
        }
    }
  return ward_error_set (err, ENOENT, "CNI network \"%s\": no configuration in %s%s", name,
                         conf_dirs[0], conf_dirs[0] && conf_dirs[1] ? " and others" : "");
}

static bool valid_plugin_type (const char *t)
{
  return t && t[0] && t[0] != '.' && strchr (t, '/') == NULL;
}

static int find_plugin (const char *cni_path, const char *type, char **out, ward_error_t **err)
{
  _cleanup_free_ char *copy = xstrdup (cni_path);
  char *save = NULL;
  if (!valid_plugin_type (type))
    return ward_error_set (err, EINVAL, "CNI plugin type \"%s\": invalid", type ? type : "");
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", dir, type);
      if (access (p, X_OK) == 0)
        {
          *out = TAKE_PTR (p);
          return 0;
        }
    }
  return ward_error_set (err, ENOENT, "CNI plugin \"%s\" not found in %s", type, cni_path);
}

static int memfd_with (const char *name, const char *data, ward_error_t **err)
{
  _cleanup_close_ int fd = memfd_create (name, MFD_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "memfd_create %s", name);
  if (data && (ward_write_all (fd, data, strlen (data)) < 0 || lseek (fd, 0, SEEK_SET) < 0))
    return ward_error_set (err, errno, "write memfd %s", name);
  return TAKE_FD (fd);
}

struct cni_call
{
  const ward_cni_opts_t *opts;
  const char *command;
  const char *cni_path;
  const char *ifname;
};

/* Executes one plugin; *out gets its stdout.  A non-zero exit turns the
 * CNI error object ({"code","msg","details"}) into the error message. */
static int exec_plugin (const struct cni_call *c, const char *type, const char *config,
                        char **out, ward_error_t **err)
{
  _cleanup_free_ char *plugin = NULL;
  _cleanup_close_ int in = -1, outfd = -1, errfd = -1;
  _cleanup_free_ char *stdout_text = NULL;
  _cleanup_free_ char *stderr_text = NULL;
  _cleanup_strv_ char **env = NULL;
  size_t n_env = 0;
  pid_t pid;
  int status, ret;

  ret = find_plugin (c->cni_path, type, &plugin, err);
  if (ret < 0)
    return ret;
  if ((in = memfd_with ("cni-stdin", config, err)) < 0
      || (outfd = memfd_with ("cni-stdout", NULL, err)) < 0
      || (errfd = memfd_with ("cni-stderr", NULL, err)) < 0)
    return -EIO;

  for (char **e = environ; e && *e; e++)
    n_env++;
  env = xzalloc ((n_env + 8) * sizeof *env);
  n_env = 0;
  for (char **e = environ; e && *e; e++)
    if (strncmp (*e, "CNI_", 4) != 0)
      env[n_env++] = xstrdup (*e);
  env[n_env++] = xasprintf ("CNI_COMMAND=%s", c->command);
  env[n_env++] = xasprintf ("CNI_CONTAINERID=%s", c->opts->container_id);
  env[n_env++] = xasprintf ("CNI_NETNS=%s", c->opts->netns_path ? c->opts->netns_path : "");
  env[n_env++] = xasprintf ("CNI_IFNAME=%s", c->ifname);
  env[n_env++] = xasprintf ("CNI_PATH=%s", c->cni_path);
  env[n_env] = NULL;

  pid = fork ();
  if (pid < 0)
    return ward_error_set (err, errno, "CNI plugin %s %s: fork", type, c->command);
  if (pid == 0)
    {
      /* Child: only async-signal-safe calls from here on. */
      if (dup2 (in, 0) < 0 || dup2 (outfd, 1) < 0 || dup2 (errfd, 2) < 0)
        _exit (126);
      execve (plugin, (char *[]){ plugin, NULL }, env);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "CNI plugin %s %s: waitpid", type, c->command);
  if (lseek (outfd, 0, SEEK_SET) < 0 || lseek (errfd, 0, SEEK_SET) < 0)
    return ward_error_set (err, errno, "CNI plugin %s %s: read output", type, c->command);
  if (ward_read_fd (outfd, &stdout_text, NULL, 16 << 20, "plugin stdout", err) < 0
      || ward_read_fd (errfd, &stderr_text, NULL, 1 << 20, "plugin stderr", err) < 0)
    return -EIO;

  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      _cleanup_json_ struct json_object *e = json_tokener_parse (stdout_text);
      struct json_object *code = NULL, *msg = NULL, *details = NULL;
      size_t len = strlen (stderr_text);
      while (len && stderr_text[len - 1] == '\n')
        stderr_text[--len] = '\0';
      if (e && json_object_is_type (e, json_type_object))
        {
          json_object_object_get_ex (e, "code", &code);
          json_object_object_get_ex (e, "msg", &msg);
          json_object_object_get_ex (e, "details", &details);
        }
      if (msg)
        return ward_error_set (err, 0, "CNI plugin %s %s failed: %s%s%s%s (code %d)", type,
                               c->command, json_object_get_string (msg), details ? " (" : "",
                               details ? json_object_get_string (details) : "", details ? ")" : "",
                               code ? json_object_get_int (code) : 0);
      if (WIFEXITED (status))
        return ward_error_set (err, 0, "CNI plugin %s %s failed: exit status %d%s%s", type,
                               c->command, WEXITSTATUS (status), len ? ": " : "", stderr_text);
      return ward_error_set (err, 0, "CNI plugin %s %s killed by signal %d", type, c->command,
                             WTERMSIG (status));
    }
  *out = TAKE_PTR (stdout_text);
  return 0;
}

/* The network config a plugin gets on stdin: its own object plus the list's
 * name and cniVersion, and prevResult when there is one. */
static char *plugin_config (struct json_object *list, struct json_object *plugin,
                            struct json_object *prev)
{
  _cleanup_json_ struct json_object *conf = NULL;
  struct json_object *v;
  json_object_deep_copy (plugin, &conf, NULL);
  if (json_object_object_get_ex (list, "name", &v))
    json_object_object_add (conf, "name", json_object_get (v));
  if (json_object_object_get_ex (list, "cniVersion", &v))
    json_object_object_add (conf, "cniVersion", json_object_get (v));
  json_object_object_del (conf, "prevResult");
  if (prev)
    json_object_object_add (conf, "prevResult", json_object_get (prev));
  return xstrdup (json_object_to_json_string_ext (conf, JSON_C_TO_STRING_PLAIN
                                                            | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static const char *plugin_type (struct json_object *plugin)
{
  struct json_object *t;
  if (!json_object_object_get_ex (plugin, "type", &t) || !json_object_is_type (t, json_type_string))
    return NULL;
  return json_object_get_string (t);
}

static char *cache_path (const ward_cni_opts_t *opts)
{
  return xasprintf ("%s/%s-%s.json", opts->cache_dir ? opts->cache_dir : "/var/lib/ward/cni",
                    opts->network, opts->container_id);
}

static bool valid_name (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 200 || s[0] == '.')
    return false;
  for (; *s; s++)
    if (*s == '/' || *s == '\n')
      return false;
  return true;
}

static int parse_result (const char *text, ward_cni_result_t **out, ward_error_t **err)
{
  _cleanup_json_ struct json_object *o = json_tokener_parse (text);
  ward_cni_result_t *r;
  struct json_object *v, *arr;

  if (o == NULL || !json_object_is_type (o, json_type_object))
    return ward_error_set (err, EINVAL, "CNI result: not a JSON object");
  r = xzalloc (sizeof *r);
  r->json = xstrdup (text);
  if (json_object_object_get_ex (o, "cniVersion", &v))
    r->cni_version = xstrdup (json_object_get_string (v));
  if (json_object_object_get_ex (o, "ips", &arr) && json_object_is_type (arr, json_type_array))
    {
      size_t n = json_object_array_length (arr);
      r->ips = xzalloc ((n + 1) * sizeof *r->ips);
      for (size_t i = 0; i < n; i++)
        {
          struct json_object *ip = json_object_array_get_idx (arr, i);
          if (!json_object_object_get_ex (ip, "address", &v) || !json_object_is_type (v, json_type_string))
            continue;
          r->ips[r->n_ips].address = xstrdup (json_object_get_string (v));
          if (json_object_object_get_ex (ip, "gateway", &v) && json_object_is_type (v, json_type_string))
            r->ips[r->n_ips].gateway = xstrdup (json_object_get_string (v));
          r->n_ips++;
        }
    }
  if (json_object_object_get_ex (o, "routes", &arr) && json_object_is_type (arr, json_type_array))
    {
      size_t n = json_object_array_length (arr);
      r->routes = xzalloc ((n + 1) * sizeof *r->routes);
      for (size_t i = 0; i < n; i++)
        {
          struct json_object *rt = json_object_array_get_idx (arr, i);
          if (!json_object_object_get_ex (rt, "dst", &v) || !json_object_is_type (v, json_type_string))
            continue;
          r->routes[r->n_routes].dst = xstrdup (json_object_get_string (v));
          if (json_object_object_get_ex (rt, "gw", &v) && json_object_is_type (v, json_type_string))
            r->routes[r->n_routes].gw = xstrdup (json_object_get_string (v));
          r->n_routes++;
        }
    }
  if (json_object_object_get_ex (o, "dns", &v) && json_object_object_get_ex (v, "nameservers", &arr)
      && json_object_is_type (arr, json_type_array))
    {
      size_t n = json_object_array_length (arr);
      r->dns_nameservers = xzalloc ((n + 1) * sizeof (char *));
      for (size_t i = 0; i < n; i++)
        r->dns_nameservers[i] = xstrdup (json_object_get_string (json_object_array_get_idx (arr, i)));
    }
  *out = r;
  return 0;
}

static int setup_call (const ward_cni_opts_t *opts, const char *command, struct cni_call *c,
                       struct json_object **list, ward_error_t **err)
{
  _cleanup_free_ char *path = NULL;
  int ret;

  if (!valid_name (opts->network) || !valid_name (opts->container_id))
    return ward_error_set (err, EINVAL, "CNI %s: invalid network name or container id", command);
  c->opts = opts;
  c->command = command;
  c->cni_path = opts->cni_path ? opts->cni_path : "/usr/lib/cni";
  c->ifname = opts->ifname ? opts->ifname : "eth0";
  ret = ward_cni_find_conf (opts->conf_dirs, opts->network, &path, err);
  if (ret < 0)
    return ret;
  return load_conf (path, list, err);
}

/* DEL for plugins [0, upto) in reverse order; the first error is kept. */
static int run_del (const struct cni_call *add_or_del, struct json_object *list, size_t upto,
                    struct json_object *prev, ward_error_t **err)
{
  struct cni_call del = *add_or_del;
  const struct cni_call *c = &del;
  struct json_object *plugins;
  int ret = 0;

  /* Also used to roll back a failed ADD. */
  del.command = "DEL";

  json_object_object_get_ex (list, "plugins", &plugins);
  for (size_t i = upto; i-- > 0;)
    {
      struct json_object *plugin = json_object_array_get_idx (plugins, i);
      _cleanup_free_ char *conf = plugin_config (list, plugin, prev);
      _cleanup_free_ char *out = NULL;
      ward_error_t *e = NULL;
      if (exec_plugin (c, plugin_type (plugin), conf, &out, &e) < 0)
        {
          /* Keep going: the other plugins still hold resources. */
          if (ret == 0 && err && *err == NULL)
            {
              *err = e;
              ret = -EIO;
            }
          else
            ward_error_free (&e);
        }
    }
  return ret;
}

int ward_cni_add (const ward_cni_opts_t *opts, ward_cni_result_t **res, ward_error_t **err)
{
  struct cni_call c;
  _cleanup_json_ struct json_object *list = NULL;
  _cleanup_json_ struct json_object *prev = NULL;
  _cleanup_free_ char *last = NULL;
  _cleanup_free_ char *cache = NULL;
  struct json_object *plugins;
  size_t n;
  int ret;

  ret = setup_call (opts, "ADD", &c, &list, err);
  if (ret < 0)
    return ret;
  json_object_object_get_ex (list, "plugins", &plugins);
  n = json_object_array_length (plugins);
  for (size_t i = 0; i < n; i++)
    {
      struct json_object *plugin = json_object_array_get_idx (plugins, i);
      _cleanup_free_ char *conf = plugin_config (list, plugin, prev);
      _cleanup_free_ char *out = NULL;
      struct json_object *next;

      ret = exec_plugin (&c, plugin_type (plugin), conf, &out, err);
      if (ret == 0)
        {
          next = json_tokener_parse (out);
          if (next == NULL || !json_object_is_type (next, json_type_object))
            {
              json_object_put (next);
              ret = ward_error_set (err, EINVAL, "CNI plugin %s ADD: invalid result", plugin_type (plugin));
            }
          else
            {
              json_object_put (prev);
              prev = next;
              free (last);
              last = xstrdup (out);
            }
        }
      if (ret < 0)
        {
          /* The spec asks for a DEL of the whole list after a failed ADD. */
          ward_error_t *e = NULL;
          run_del (&c, list, i + 1, prev, &e);
          ward_error_free (&e);
          return ward_error_wrap (err, "CNI network \"%s\"", opts->network);
        }
    }
  if (last == NULL)
    return ward_error_set (err, EINVAL, "CNI network \"%s\": no result", opts->network);

  cache = cache_path (opts);
  {
    _cleanup_free_ char *dir = xstrdup (cache);
    *strrchr (dir, '/') = '\0';
    if (ward_mkdir_p (dir, 0700, err) < 0
        || ward_net_write_atomic (dir, strrchr (cache, '/') + 1, last, err) < 0)
      {
        ward_error_t *e = NULL;
        run_del (&c, list, n, prev, &e);
        ward_error_free (&e);
        return ward_error_wrap (err, "CNI network \"%s\": cache result", opts->network);
      }
  }
  return parse_result (last, res, err);
}

int ward_cni_del (const ward_cni_opts_t *opts, ward_error_t **err)
{
  struct cni_call c;
  _cleanup_json_ struct json_object *list = NULL;
  _cleanup_json_ struct json_object *prev = NULL;
  _cleanup_free_ char *cache = cache_path (opts);
  _cleanup_free_ char *text = NULL;
  struct json_object *plugins;
  ward_error_t *e = NULL;
  int ret;

  ret = setup_call (opts, "DEL", &c, &list, err);
  if (ret < 0)
    return ret;
  if (ward_read_file_at (AT_FDCWD, cache, &text, NULL, 16 << 20, &e) == 0)
    prev = json_tokener_parse (text);
  ward_error_free (&e);
  json_object_object_get_ex (list, "plugins", &plugins);
  ret = run_del (&c, list, json_object_array_length (plugins), prev, err);
  if (ret < 0)
    return ward_error_wrap (err, "CNI network \"%s\"", opts->network);
  unlink (cache);
  return 0;
}
