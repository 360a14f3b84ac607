/* `ward create` (and the first half of `ward run`): image, snapshot, the
 * hosts files, config.json and the record. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image.h"
#include "runtime/manager/manager.h"

#ifndef WARD_PKGDATADIR
#define WARD_PKGDATADIR "/usr/local/share/ward"
#endif

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- flag value parsers --------------------------------------------------- */

int ward_mgr_parse_bytes (const char *s, int64_t *out)
{
  char *end;
  double v;
  int64_t mul = 1;
  if (s == NULL || *s == '\0')
    return -EINVAL;
  errno = 0;
  v = strtod (s, &end);
  if (errno || end == s || v < 0)
    return -EINVAL;
  switch (tolower ((unsigned char) *end))
    {
    case '\0': break;
    case 'b': mul = 1; break;
    case 'k': mul = 1024; break;
    case 'm': mul = 1024 * 1024; break;
    case 'g': mul = 1024LL * 1024 * 1024; break;
    case 't': mul = 1024LL * 1024 * 1024 * 1024; break;
    default: return -EINVAL;
    }
  if (*end)
    {
      end++;
      if (*end == 'b' || *end == 'B' || (*end == 'i' && (end[1] == 'b' || end[1] == 'B')))
        end += *end == 'i' ? 2 : 1;
      if (*end)
        return -EINVAL;
    }
  *out = (int64_t) (v * (double) mul);
  return 0;
}

void ward_mgr_cspec_mount_clear (ward_cspec_mount_t *m)
{
  free (m->type);
  free (m->source);
  free (m->destination);
  ward_strv_freep (&m->options);
  memset (m, 0, sizeof *m);
}

static char **strv_new (const char *a, const char *b, const char *c)
{
  char **v = xzalloc (4 * sizeof *v);
  size_t n = 0;
  if (a)
    v[n++] = xstrdup (a);
  if (b)
    v[n++] = xstrdup (b);
  if (c)
    v[n++] = xstrdup (c);
  return v;
}

static void strv_add (char ***v, const char *s)
{
  size_t n = 0;
  while (*v && (*v)[n])
    n++;
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

int ward_mgr_parse_bind (const char *spec, ward_cspec_mount_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *src = s, *dst, *mode;
  memset (out, 0, sizeof *out);
  dst = strchr (s, ':');
  if (dst == NULL)
    return ward_error_set_ret (err, -EINVAL, 0,
                               "invalid volume specification: '%s': anonymous volumes are not supported yet",
                               spec);
  *dst++ = '\0';
  mode = strchr (dst, ':');
  if (mode)
    *mode++ = '\0';
  if (src[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0,
                               "invalid volume specification: '%s': named volumes are not supported yet",
                               spec);
  if (dst[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0,
                               "invalid volume specification: '%s': invalid mount config: mount path must be absolute",
                               spec);
  out->type = xstrdup ("bind");
  out->source = xstrdup (src);
  out->destination = xstrdup (dst);
  out->options = strv_new ("rbind", "rprivate", NULL);
  if (mode && *mode)
    {
      _cleanup_free_ char *m = xstrdup (mode);
      char *save = NULL;
      for (char *t = strtok_r (m, ",", &save); t; t = strtok_r (NULL, ",", &save))
        {
          if (strcmp (t, "ro") == 0 || strcmp (t, "rw") == 0)
            strv_add (&out->options, t);
          else if (strcmp (t, "z") == 0 || strcmp (t, "Z") == 0 || strcmp (t, "rprivate") == 0
                   || strcmp (t, "private") == 0 || strcmp (t, "rshared") == 0
                   || strcmp (t, "shared") == 0 || strcmp (t, "rslave") == 0
                   || strcmp (t, "slave") == 0 || strcmp (t, "nocopy") == 0)
            continue;
          else
            {
              ward_mgr_cspec_mount_clear (out);
              return ward_error_set_ret (err, -EINVAL, 0, "invalid mode: %s", t);
            }
        }
    }
  return 0;
}

int ward_mgr_parse_tmpfs (const char *spec, ward_cspec_mount_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *opts = strchr (s, ':');
  memset (out, 0, sizeof *out);
  if (opts)
    *opts++ = '\0';
  if (s[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0, "invalid mount path for tmpfs: %s", spec);
  out->type = xstrdup ("tmpfs");
  out->source = xstrdup ("tmpfs");
  out->destination = xstrdup (s);
  out->options = strv_new ("noexec", "nosuid", "nodev");
  if (opts && *opts)
    {
      char *save = NULL;
      for (char *t = strtok_r (opts, ",", &save); t; t = strtok_r (NULL, ",", &save))
        strv_add (&out->options, t);
    }
  return 0;
}

int ward_mgr_parse_mount (const char *spec, ward_cspec_mount_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  _cleanup_free_ char *type = NULL, *src = NULL, *dst = NULL, *size = NULL;
  bool ro = false;
  char *save = NULL;

  memset (out, 0, sizeof *out);
  for (char *t = strtok_r (s, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (t, '=');
      const char *v = eq ? eq + 1 : "true";
      if (eq)
        *eq = '\0';
      if (strcmp (t, "type") == 0)
        type = xstrdup (v);
      else if (strcmp (t, "source") == 0 || strcmp (t, "src") == 0)
        src = xstrdup (v);
      else if (strcmp (t, "target") == 0 || strcmp (t, "destination") == 0 || strcmp (t, "dst") == 0)
        dst = xstrdup (v);
      else if (strcmp (t, "readonly") == 0 || strcmp (t, "ro") == 0)
        ro = strcmp (v, "true") == 0 || strcmp (v, "1") == 0;
      else if (strcmp (t, "tmpfs-size") == 0)
        size = xstrdup (v);
      else if (strcmp (t, "bind-propagation") == 0 || strcmp (t, "consistency") == 0
               || strcmp (t, "tmpfs-mode") == 0)
        continue;
      else
        return ward_error_set_ret (err, -EINVAL, 0, "invalid field '%s' must be a key=value pair",
                                   t);
    }
  if (type == NULL)
    type = xstrdup ("volume");
  if (dst == NULL || dst[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0, "invalid argument \"%s\" for \"--mount\" flag: target is required and must be absolute", spec);
  if (strcmp (type, "bind") == 0)
    {
      if (src == NULL || src[0] != '/')
        return ward_error_set_ret (err, -EINVAL, 0, "invalid mount config for type \"bind\": field Source must not be empty and must be absolute");
      out->options = strv_new ("rbind", "rprivate", ro ? "ro" : NULL);
    }
  else if (strcmp (type, "tmpfs") == 0)
    {
      out->options = strv_new ("noexec", "nosuid", "nodev");
      if (size)
        {
          int64_t b;
          _cleanup_free_ char *o = NULL;
          if (ward_mgr_parse_bytes (size, &b) < 0)
            return ward_error_set_ret (err, -EINVAL, 0, "invalid tmpfs-size: %s", size);
          o = xasprintf ("size=%lld", (long long) b);
          strv_add (&out->options, o);
        }
      if (ro)
        strv_add (&out->options, "ro");
      free (src);
      src = xstrdup ("tmpfs");
    }
  else
    return ward_error_set_ret (err, -EINVAL, 0, "mount type '%s' is not supported yet", type);
  out->type = TAKE_PTR (type);
  out->source = TAKE_PTR (src);
  out->destination = TAKE_PTR (dst);
  return 0;
}

int ward_mgr_parse_ulimit (const char *spec, ward_rlimit_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *eq = strchr (s, '='), *colon;
  long long soft, hard;
  _cleanup_free_ char *type = NULL;
  int res;

  memset (out, 0, sizeof *out);
  if (eq == NULL)
    return ward_error_set_ret (err, -EINVAL, 0, "invalid ulimit argument: %s", spec);
  *eq++ = '\0';
  colon = strchr (eq, ':');
  if (colon)
    *colon++ = '\0';
  if (ward_parse_i64 (eq, &soft) < 0 || (colon && ward_parse_i64 (colon, &hard) < 0))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid ulimit argument: %s", spec);
  if (!colon)
    hard = soft;
  if (soft > hard && hard >= 0)
    return ward_error_set_ret (err, -EINVAL, 0,
                               "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                               soft, hard);
  type = xasprintf ("RLIMIT_%s", s);
  for (char *p = type; *p; p++)
    *p = (char) toupper ((unsigned char) *p);
  if (ward_rlimit_parse (type, &res) < 0)
    return ward_error_set_ret (err, -EINVAL, 0, "invalid ulimit type: %s", s);
  out->type = TAKE_PTR (type);
  out->resource = res;
  out->soft = soft < 0 ? UINT64_MAX : (uint64_t) soft;
  out->hard = hard < 0 ? UINT64_MAX : (uint64_t) hard;
  return 0;
}

/* ---- the default image ----------------------------------------------------- */

int ward_mgr_import_default_image (const char *root, const char *busybox_path, char **digest,
                                   ward_error_t **err)
{
  _cleanup_store_ ward_store_t *store = NULL;
  int ret = ward_store_open (root ? root : WARD_MGR_DEFAULT_ROOT, &store, err);
  if (ret < 0)
    return ret;
  return ward_default_image_build (store, busybox_path, digest, err);
}

/* docker pulls a missing image; with no network a fresh machine still has
 * busybox: the built-in image from the host's static busybox. */
static int ensure_image (ward_mgr_t *m, const char *name, ward_image_t **img, ward_error_t **err)
{
  _cleanup_store_ ward_store_t *store = NULL;
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  int ret = ward_store_open (m->root, &store, err);
  if (ret < 0)
    return ret;
  ret = ward_image_open (store, name, img, err);
  if (ret != -ENOENT)
    return ret;
  ward_error_free (err);
  if (ward_image_ref_parse (name, &ref, err) < 0)
    return -EINVAL;
  if (strcmp (ref->full, "docker.io/library/busybox:latest") == 0 && access ("/bin/busybox", X_OK) == 0)
    {
      ret = ward_default_image_build (store, "/bin/busybox", NULL, err);
      if (ret < 0)
        return ward_error_wrap (err, "import the default busybox image from /bin/busybox");
    }
  else
    {
      ward_pull_opts_t po = { .unpack = true };
      ret = ward_image_pull (store, name, &po, NULL, err);
      if (ret < 0)
        {
          _cleanup_free_ char *fam = ward_image_ref_familiar (ref);
          return ward_error_wrap (err, "Unable to find image '%s' locally", fam);
        }
    }
  return ward_image_open (store, name, img, err);
}

/* ---- create ----------------------------------------------------------------- */

static char *find_seccomp_profile (void)
{
  const char *env = getenv ("WARD_SECCOMP_PROFILE");
  const char *cands[] = { env, WARD_PKGDATADIR "/seccomp-default.json",
#ifdef WARD_SRCDIR
                          WARD_SRCDIR "/specs/seccomp-default.json",
#endif
                          NULL };
  for (size_t i = 0; i < ARRAY_SIZE (cands); i++)
    if (cands[i] && access (cands[i], R_OK) == 0)
      return xstrdup (cands[i]);
  return NULL;
}

static json_object *jstrv (char *const *v)
{
  json_object *a;
  if (v == NULL)
    return NULL;
  a = json_object_new_array ();
  for (; *v; v++)
    json_object_array_add (a, json_object_new_string (*v));
  return a;
}

static json_object *jpath (const char *dir, const char *name)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", dir, name);
  return json_object_new_string (p);
}

static json_object *jstrv_or_empty (char *const *v)
{
  json_object *a = jstrv (v);
  return a ? a : json_object_new_array ();
}

static int write_etc_files (int cfd, const char *id, const char *hostname, bool host_net,
                            ward_error_t **err)
{
  char host[256];
  _cleanup_free_ char *hosts = NULL;
  _cleanup_free_ char *resolv = NULL;
  _cleanup_free_ char *hn = NULL;
  int ret;

  if (hostname)
    snprintf (host, sizeof host, "%s", hostname);
  else
    snprintf (host, sizeof host, "%.12s", id);
  if (host_net && !hostname)
    gethostname (host, sizeof host);
  hn = xasprintf ("%s\n", host);
  ret = ward_create_file_at (cfd, "hostname", hn, strlen (hn), 0644, err);
  if (ret < 0)
    return ret;
  /* docker's default hosts file; with --network host it copies the host's */
  if (host_net)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_read_file_at (AT_FDCWD, "/etc/hosts", &hosts, NULL, 1 << 20, &e) < 0)
        hosts = NULL;
    }
  if (hosts == NULL)
    hosts = xstrdup ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                     "ff02::2\tip6-allrouters\n");
  ret = ward_create_file_at (cfd, "hosts", hosts, strlen (hosts), 0644, err);
  if (ret < 0)
    return ret;
  /* docker copies the host's resolv.conf (minus localhost resolvers it
   * cannot reach from a private netns); with --network none nothing resolves. */
  {
    _cleanup_error_ ward_error_t *e = NULL;
    if (ward_read_file_at (AT_FDCWD, "/etc/resolv.conf", &resolv, NULL, 1 << 20, &e) < 0)
      resolv = xstrdup ("");
  }
  return ward_create_file_at (cfd, "resolv.conf", resolv, strlen (resolv), 0644, err);
}

typedef struct
{
  ward_container_spec_opts_t s;
  ward_cspec_mount_t *mounts;
  size_t n_mounts;
  ward_rlimit_t *rl;
  size_t n_rl;
  ward_cspec_device_t *devs;
  size_t n_devs;
  ward_kv_t *sysctls;
  size_t n_sysctls;
  uint32_t *gids;
  char *seccomp;
} spec_build_t;

static void spec_build_clear (spec_build_t *b)
{
  for (size_t i = 0; i < b->n_mounts; i++)
    ward_mgr_cspec_mount_clear (&b->mounts[i]);
  free (b->mounts);
  for (size_t i = 0; i < b->n_rl; i++)
    free (b->rl[i].type);
  free (b->rl);
  for (size_t i = 0; i < b->n_devs; i++)
    {
      free (b->devs[i].path);
      free (b->devs[i].access);
    }
  free (b->devs);
  for (size_t i = 0; i < b->n_sysctls; i++)
    {
      free (b->sysctls[i].key);
      free (b->sysctls[i].value);
    }
  free (b->sysctls);
  free (b->gids);
  free (b->seccomp);
}

static int add_mount (spec_build_t *b, int (*parse) (const char *, ward_cspec_mount_t *, ward_error_t **),
                      const char *spec, ward_error_t **err)
{
  ward_cspec_mount_t mt;
  int ret = parse (spec, &mt, err);
  if (ret < 0)
    return ret;
  b->mounts = xrealloc (b->mounts, (b->n_mounts + 1) * sizeof *b->mounts);
  b->mounts[b->n_mounts++] = mt;
  return 0;
}

static int add_device (spec_build_t *b, const char *spec, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *ctr = strchr (s, ':'), *perm = NULL;
  struct stat st;
  ward_cspec_device_t *d;
  if (ctr)
    {
      *ctr++ = '\0';
      perm = strchr (ctr, ':');
      if (perm)
        *perm++ = '\0';
      else if (ctr[0] != '/')
        {
          perm = ctr;
          ctr = NULL;
        }
    }
  if (stat (s, &st) < 0)
    return ward_error_set (err, errno, "error gathering device information while adding custom device \"%s\"", s);
  if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
    return ward_error_set_ret (err, -EINVAL, 0, "\"%s\" is not a device", s);
  b->devs = xrealloc (b->devs, (b->n_devs + 1) * sizeof *b->devs);
  d = &b->devs[b->n_devs++];
  memset (d, 0, sizeof *d);
  d->path = xstrdup (ctr && *ctr ? ctr : s);
  d->type = S_ISCHR (st.st_mode) ? 'c' : 'b';
  d->major = major (st.st_rdev);
  d->minor = minor (st.st_rdev);
  d->file_mode = st.st_mode & 07777;
  d->access = xstrdup (perm && *perm ? perm : "rwm");
  return 0;
}

static int parse_security_opts (spec_build_t *b, char **opts, bool privileged, ward_error_t **err)
{
  _cleanup_free_ char *profile = NULL;
  bool unconfined = privileged;
  for (char **o = opts; o && *o; o++)
    {
      const char *v = strchr (*o, '=') ? strchr (*o, '=') + 1 : strchr (*o, ':') ? strchr (*o, ':') + 1 : NULL;
      if (strncmp (*o, "seccomp", 7) == 0 && v)
        {
          if (strcmp (v, "unconfined") == 0)
            unconfined = true;
          else
            {
              free (profile);
              profile = xstrdup (v);
            }
        }
      else if (strncmp (*o, "no-new-privileges", 17) == 0)
        b->s.no_new_privileges = v == NULL || strcmp (v, "true") == 0;
      else if (strncmp (*o, "apparmor", 8) == 0 || strncmp (*o, "label", 5) == 0)
        ward_debug ("security-opt %s: no such LSM on this host, ignored", *o);
      else
        return ward_error_set_ret (err, -EINVAL, 0, "invalid --security-opt: %s", *o);
    }
  if (unconfined)
    return 0;
  if (profile == NULL)
    {
      profile = find_seccomp_profile ();
      if (profile == NULL)
        {
          ward_warn ("seccomp-default.json not found: running without seccomp");
          return 0;
        }
    }
  return ward_read_file_at (AT_FDCWD, profile, &b->seccomp, NULL, 0, err) < 0
             ? ward_error_wrap (err, "opening seccomp profile (%s) failed", profile)
             : 0;
}

static json_object *build_record (const char *id, const char *name, const ward_mgr_run_opts_t *o,
                                  const ward_image_t *img, const spec_build_t *b, char **args,
                                  const char *restart, int max_retry, const char *cdir)
{
  json_object *r = json_object_new_object ();
  json_object *st = json_object_new_object ();
  json_object *c = json_object_new_object ();
  json_object *h = json_object_new_object ();
  json_object *rp = json_object_new_object ();
  json_object *labels = json_object_new_object ();
  json_object *mounts = json_object_new_array ();
  json_object *ns = json_object_new_object ();
  json_object *nets = json_object_new_object ();
  struct timespec now;
  _cleanup_free_ char *created = NULL;
  const ward_oci_image_config_t *ic = img->config;
  char hostname[256];

  clock_gettime (CLOCK_REALTIME, &now);
  created = ward_mgr_time_format (&now);
  json_object_object_add (r, "Id", json_object_new_string (id));
  json_object_object_add (r, "Created", json_object_new_string (created));
  json_object_object_add (r, "Path", json_object_new_string (args[0]));
  json_object_object_add (r, "Args", jstrv_or_empty (args + 1));
  json_object_object_add (st, "Status", json_object_new_string ("created"));
  json_object_object_add (st, "Running", json_object_new_boolean (0));
  json_object_object_add (st, "Paused", json_object_new_boolean (0));
  json_object_object_add (st, "Restarting", json_object_new_boolean (0));
  json_object_object_add (st, "OOMKilled", json_object_new_boolean (0));
  json_object_object_add (st, "Dead", json_object_new_boolean (0));
  json_object_object_add (st, "Pid", json_object_new_int (0));
  json_object_object_add (st, "ExitCode", json_object_new_int (0));
  json_object_object_add (st, "Error", json_object_new_string (""));
  json_object_object_add (st, "StartedAt", json_object_new_string (ZERO_TIME));
  json_object_object_add (st, "FinishedAt", json_object_new_string (ZERO_TIME));
  json_object_object_add (r, "State", st);
  json_object_object_add (r, "Image", json_object_new_string (img->config_digest));
  json_object_object_add (r, "ResolvConfPath", jpath (cdir, "resolv.conf"));
  json_object_object_add (r, "HostnamePath", jpath (cdir, "hostname"));
  json_object_object_add (r, "HostsPath", jpath (cdir, "hosts"));
  {
    _cleanup_free_ char *lp = xasprintf ("%s/%s-json.log", cdir, id);
    json_object_object_add (r, "LogPath", json_object_new_string (lp));
  }
  {
    _cleanup_free_ char *n = xasprintf ("/%s", name);
    json_object_object_add (r, "Name", json_object_new_string (n));
  }
  json_object_object_add (r, "RestartCount", json_object_new_int (0));
  json_object_object_add (r, "Driver", json_object_new_string ("overlay2"));
  json_object_object_add (r, "Platform", json_object_new_string ("linux"));

  if (o->hostname)
    snprintf (hostname, sizeof hostname, "%s", o->hostname);
  else
    snprintf (hostname, sizeof hostname, "%.12s", id);
  json_object_object_add (c, "Hostname", json_object_new_string (hostname));
  json_object_object_add (c, "Domainname", json_object_new_string (""));
  json_object_object_add (c, "User", json_object_new_string (o->user ? o->user : ic->user ? ic->user : ""));
  json_object_object_add (c, "AttachStdin", json_object_new_boolean (o->interactive && !o->detach));
  json_object_object_add (c, "AttachStdout", json_object_new_boolean (!o->detach));
  json_object_object_add (c, "AttachStderr", json_object_new_boolean (!o->detach));
  json_object_object_add (c, "Tty", json_object_new_boolean (o->tty));
  json_object_object_add (c, "OpenStdin", json_object_new_boolean (o->interactive));
  json_object_object_add (c, "StdinOnce", json_object_new_boolean (o->interactive && !o->detach));
  {
    /* the env the process really gets, as docker shows it */
    json_object *env = json_object_new_array ();
    for (size_t i = 0; i < ic->env_len; i++)
      json_object_array_add (env, json_object_new_string (ic->env[i]));
    for (char **e = o->env; e && *e; e++)
      json_object_array_add (env, json_object_new_string (*e));
    json_object_object_add (c, "Env", env);
  }
  if (o->cmd && o->cmd[0])
    json_object_object_add (c, "Cmd", jstrv (o->cmd));
  else if (!o->has_entrypoint && ic->has_cmd)
    json_object_object_add (c, "Cmd", jstrv (ic->cmd));
  else
    json_object_object_add (c, "Cmd", NULL);
  json_object_object_add (c, "Image", json_object_new_string (o->image));
  json_object_object_add (c, "Volumes", NULL);
  json_object_object_add (c, "WorkingDir", json_object_new_string (o->workdir ? o->workdir : ic->working_dir ? ic->working_dir : ""));
  if (o->has_entrypoint)
    json_object_object_add (c, "Entrypoint", o->entrypoint && o->entrypoint[0] ? jstrv (o->entrypoint) : NULL);
  else
    json_object_object_add (c, "Entrypoint", ic->has_entrypoint ? jstrv (ic->entrypoint) : NULL);
  json_object_object_add (c, "OnBuild", NULL);
  for (size_t i = 0; i < ic->labels_len; i++)
    json_object_object_add (labels, ic->labels[i].key, json_object_new_string (ic->labels[i].value));
  for (char **l = o->labels; l && *l; l++)
    {
      char *eq = strchr (*l, '=');
      _cleanup_free_ char *k = eq ? xstrndup (*l, (size_t) (eq - *l)) : xstrdup (*l);
      json_object_object_add (labels, k, json_object_new_string (eq ? eq + 1 : ""));
    }
  json_object_object_add (c, "Labels", labels);
  {
    const char *sig = o->stop_signal ? o->stop_signal : ic->stop_signal;
    if (sig)
      json_object_object_add (c, "StopSignal", json_object_new_string (sig));
  }
  if (o->stop_timeout >= 0)
    json_object_object_add (c, "StopTimeout", json_object_new_int (o->stop_timeout));
  json_object_object_add (r, "Config", c);

  json_object_object_add (h, "Binds", jstrv (o->binds));
  json_object_object_add (h, "NetworkMode", json_object_new_string (o->network ? o->network : "none"));
  json_object_object_add (rp, "Name", json_object_new_string (restart));
  json_object_object_add (rp, "MaximumRetryCount", json_object_new_int (max_retry));
  json_object_object_add (h, "RestartPolicy", rp);
  json_object_object_add (h, "AutoRemove", json_object_new_boolean (o->auto_remove));
  json_object_object_add (h, "CapAdd", jstrv (o->cap_add));
  json_object_object_add (h, "CapDrop", jstrv (o->cap_drop));
  json_object_object_add (h, "GroupAdd", jstrv (o->group_add));
  json_object_object_add (h, "Privileged", json_object_new_boolean (o->privileged));
  json_object_object_add (h, "ReadonlyRootfs", json_object_new_boolean (o->read_only));
  json_object_object_add (h, "SecurityOpt", jstrv (o->security_opt));
  json_object_object_add (h, "ShmSize", json_object_new_int64 (o->shm_size > 0 ? o->shm_size : 64LL * 1024 * 1024));
  json_object_object_add (h, "Memory", json_object_new_int64 (o->memory));
  json_object_object_add (h, "MemorySwap", json_object_new_int64 (o->memory_swap));
  json_object_object_add (h, "NanoCpus", json_object_new_int64 (o->nano_cpus));
  json_object_object_add (h, "CpuShares", json_object_new_int64 ((int64_t) o->cpu_shares));
  json_object_object_add (h, "PidsLimit", o->pids_limit ? json_object_new_int64 (o->pids_limit) : NULL);
  json_object_object_add (h, "Init", json_object_new_boolean (o->init));
  json_object_object_add (r, "HostConfig", h);

  for (size_t i = 0; i < b->n_mounts; i++)
    {
      json_object *mt = json_object_new_object ();
      bool ro = false;
      for (char **op = b->mounts[i].options; op && *op; op++)
        ro |= strcmp (*op, "ro") == 0;
      json_object_object_add (mt, "Type", json_object_new_string (b->mounts[i].type));
      json_object_object_add (mt, "Source", json_object_new_string (strcmp (b->mounts[i].type, "bind") == 0 ? b->mounts[i].source : ""));
      json_object_object_add (mt, "Destination", json_object_new_string (b->mounts[i].destination));
      json_object_object_add (mt, "Mode", json_object_new_string (""));
      json_object_object_add (mt, "RW", json_object_new_boolean (!ro));
      json_object_object_add (mt, "Propagation", json_object_new_string (strcmp (b->mounts[i].type, "bind") == 0 ? "rprivate" : ""));
      json_object_array_add (mounts, mt);
    }
  json_object_object_add (r, "Mounts", mounts);
  json_object_object_add (nets, o->network ? o->network : "none", json_object_new_object ());
  json_object_object_add (ns, "Bridge", json_object_new_string (""));
  json_object_object_add (ns, "SandboxID", json_object_new_string (""));
  json_object_object_add (ns, "Ports", json_object_new_object ());
  json_object_object_add (ns, "IPAddress", json_object_new_string (""));
  json_object_object_add (ns, "Gateway", json_object_new_string (""));
  json_object_object_add (ns, "MacAddress", json_object_new_string (""));
  json_object_object_add (ns, "Networks", nets);
  json_object_object_add (r, "NetworkSettings", ns);
  return r;
}

/* CapBnd of this process: --privileged cannot grant more (this host's
 * root lacks CAP_SYS_RESOURCE, and capset would fail with EPERM). */
static uint64_t own_cap_bounding (void)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  char *p;
  if (ward_read_file_at (AT_FDCWD, "/proc/self/status", &data, NULL, 0, &e) < 0)
    return 0;
  p = strstr (data, "CapBnd:");
  return p ? strtoull (p + 7, NULL, 16) : 0;
}

static int fill_spec (ward_mgr_t *m, const ward_mgr_run_opts_t *o, const char *id,
                      const char *cdir, int rootfs_fd, const ward_image_t *img, spec_build_t *b,
                      ward_error_t **err)
{
  ward_container_spec_opts_t *s = &b->s;
  const char *user = o->user ? o->user : img->config->user;
  uint32_t *groups = NULL;
  size_t n_groups = 0;
  int ret;

  (void) m;
  s->id = id;
  s->rootfs = "rootfs";
  s->hostname = o->hostname;
  s->entrypoint = o->entrypoint;
  s->has_entrypoint = o->has_entrypoint;
  s->cmd = o->cmd;
  s->env = o->env;
  s->workdir = o->workdir;
  s->tty = o->tty;
  s->open_stdin = o->interactive;
  s->host_network = o->network && strcmp (o->network, "host") == 0;
  s->memory = o->memory;
  s->memory_swap = o->memory_swap;
  s->nano_cpus = o->nano_cpus;
  s->cpu_shares = o->cpu_shares;
  s->pids_limit = o->pids_limit;
  s->shm_size = o->shm_size;
  s->read_only = o->read_only;
  s->privileged = o->privileged;
  s->no_new_privileges = o->no_new_privileges;
  s->cap_add = o->cap_add;
  s->cap_drop = o->cap_drop;
  s->cap_bounding = own_cap_bounding ();
  b->s.hostname_path = NULL;

  ret = ward_image_resolve_user (rootfs_fd, user && *user ? user : "0", &s->uid, &s->gid, &groups,
                                 &n_groups, err);
  if (ret < 0)
    {
      free (groups);
      if (ret == -ENOENT && user)
        {
          ward_error_free (err);
          return ward_error_set_ret (err, -ENOENT, 0,
                                     "unable to find user %s: no matching entries in passwd file", user);
        }
      return ret;
    }
  b->gids = groups;
  for (char **g = o->group_add; g && *g; g++)
    {
      unsigned long long v;
      uint32_t gid, dummy;
      _cleanup_free_ char *spec = NULL;
      if (ward_parse_u64 (*g, &v) == 0)
        gid = (uint32_t) v;
      else
        {
          /* a group name: look it up as "root:<group>" and take the gid */
          spec = xasprintf ("0:%s", *g);
          ret = ward_image_resolve_user (rootfs_fd, spec, &dummy, &gid, NULL, NULL, err);
          if (ret < 0)
            return ward_error_wrap (err, "--group-add %s", *g);
        }
      b->gids = xrealloc (b->gids, (n_groups + 1) * sizeof *b->gids);
      b->gids[n_groups++] = gid;
    }
  s->gids = b->gids;
  s->gids_len = n_groups;

  for (char **v = o->binds; v && *v; v++)
    if ((ret = add_mount (b, ward_mgr_parse_bind, *v, err)) < 0)
      return ret;
  for (char **v = o->mounts; v && *v; v++)
    if ((ret = add_mount (b, ward_mgr_parse_mount, *v, err)) < 0)
      return ret;
  for (char **v = o->tmpfs; v && *v; v++)
    if ((ret = add_mount (b, ward_mgr_parse_tmpfs, *v, err)) < 0)
      return ret;
  for (size_t i = 0; i < b->n_mounts; i++)
    if (strcmp (b->mounts[i].type, "bind") == 0 && access (b->mounts[i].source, F_OK) < 0)
      {
        /* docker -v creates a missing host dir; --mount refuses */
        ret = ward_mkdir_p (b->mounts[i].source, 0755, err);
        if (ret < 0)
          return ward_error_wrap (err, "invalid mount config: bind source path does not exist");
      }
  s->mounts = b->mounts;
  s->mounts_len = b->n_mounts;
  for (char **v = o->ulimits; v && *v; v++)
    {
      b->rl = xrealloc (b->rl, (b->n_rl + 1) * sizeof *b->rl);
      if ((ret = ward_mgr_parse_ulimit (*v, &b->rl[b->n_rl], err)) < 0)
        return ret;
      b->n_rl++;
    }
  s->rlimits = b->rl;
  s->rlimits_len = b->n_rl;
  for (char **v = o->devices; v && *v; v++)
    if ((ret = add_device (b, *v, err)) < 0)
      return ret;
  s->devices = b->devs;
  s->devices_len = b->n_devs;
  for (char **v = o->sysctls; v && *v; v++)
    {
      char *eq = strchr (*v, '=');
      if (!eq)
        return ward_error_set_ret (err, -EINVAL, 0, "invalid argument \"%s\" for \"--sysctl\" flag", *v);
      b->sysctls = xrealloc (b->sysctls, (b->n_sysctls + 1) * sizeof *b->sysctls);
      b->sysctls[b->n_sysctls].key = xstrndup (*v, (size_t) (eq - *v));
      b->sysctls[b->n_sysctls++].value = xstrdup (eq + 1);
    }
  s->sysctls = b->sysctls;
  s->sysctls_len = b->n_sysctls;
  ret = parse_security_opts (b, o->security_opt, o->privileged, err);
  if (ret < 0)
    return ret;
  s->seccomp_json = b->seccomp;
  (void) cdir;
  return 0;
}

int ward_mgr_create (ward_mgr_t *m, const ward_mgr_run_opts_t *o, char **id_out, ward_error_t **err)
{
  char id[65];
  _cleanup_free_ char *name = NULL;
  _cleanup_free_ char *restart = NULL;
  _cleanup_free_ char *lockpath = xasprintf ("%s/manager.lock", m->root);
  _cleanup_free_ char *cdir = NULL;
  _cleanup_free_ char *config = NULL;
  _cleanup_image_ ward_image_t *img = NULL;
  _cleanup_close_ int lockfd = -1;
  _cleanup_close_ int cfd = -1;
  _cleanup_close_ int rfd = -1;
  _cleanup_strv_ char **args = NULL;
  _cleanup_json_ json_object *rec = NULL;
  spec_build_t b;
  int max_retry, ret;
  bool made = false;

  memset (&b, 0, sizeof b);
  if (o->name && !ward_mgr_name_valid (o->name))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                               o->name);
  if (ward_mgr_restart_parse (o->restart, &restart, &max_retry, err) < 0)
    return -EINVAL;
  if (o->auto_remove && strcmp (restart, "no") != 0)
    return ward_error_set_ret (err, -EINVAL, 0, "Conflicting options: --restart and --rm");
  if (o->network && strcmp (o->network, "none") != 0 && strcmp (o->network, "host") != 0)
    return ward_error_set_ret (err, -EINVAL, 0,
                               "network %s not found (only --network none|host are supported yet)",
                               o->network);
  if (o->publish && o->publish[0])
    return ward_error_set_ret (err, -EINVAL, 0, "publishing ports (-p) needs bridge networking, not supported yet");
  if (o->init)
    return ward_error_set_ret (err, -EINVAL, 0, "--init is not supported yet");

  ret = ensure_image (m, o->image, &img, err);
  if (ret < 0)
    return ret;

  lockfd = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lockfd < 0)
    return ward_error_set (err, errno, "open '%s'", lockpath);
  if (flock (lockfd, LOCK_EX) < 0)
    return ward_error_set (err, errno, "lock '%s'", lockpath);
  ward_mgr_id_new (id);
  if (o->name)
    {
      _cleanup_free_ char *other = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      name = xstrdup (o->name[0] == '/' ? o->name + 1 : o->name);
      if (ward_mgr_lookup (m, name, &other, &e) == 0)
        {
          _cleanup_json_ json_object *orec = NULL;
          const char *on = NULL;
          _cleanup_error_ ward_error_t *e2 = NULL;
          if (ward_mgr_record_read (m, other, &orec, &e2) == 0)
            on = ward_mgr_rec_str (orec, "Name");
          if (on && strcmp (on + 1, name) == 0)
            return ward_error_set_ret (err, -EEXIST, 0,
                                       "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                                       name, other);
        }
    }
  else
    name = ward_mgr_name_generate (id);

  {
    /* the snapshot is made by full name so that it is the image we just opened */
    const char *ref = img->name ? img->name : img->config_digest;
    ret = ward_snapshot_create (m->root, ref, id, NULL, NULL, err);
    if (ret < 0)
      return ret;
  }
  made = true;
  cdir = xasprintf ("%s/%s", m->cdir, id);
  cfd = open (cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  rfd = cfd >= 0 ? openat (cfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (rfd < 0)
    ret = ward_error_set (err, errno, "open '%s/rootfs'", cdir);
  if (ret == 0)
    ret = fill_spec (m, o, id, cdir, rfd, img, &b, err);
  if (ret == 0)
    ret = write_etc_files (cfd, id, o->hostname, b.s.host_network, err);
  if (ret == 0)
    {
      _cleanup_free_ char *hn = xasprintf ("%s/hostname", cdir);
      _cleanup_free_ char *hs = xasprintf ("%s/hosts", cdir);
      _cleanup_free_ char *rv = xasprintf ("%s/resolv.conf", cdir);
      _cleanup_free_ char *cg = xasprintf ("/ward/%s", id);
      b.s.hostname_path = hn;
      b.s.hosts_path = hs;
      b.s.resolv_conf_path = rv;
      b.s.cgroups_path = cg;
      ret = ward_container_spec_build (&b.s, img->config, &config, err);
      if (ret == 0)
        ret = ward_container_args (&b.s, img->config, &args, err);
    }
  if (ret == 0)
    ret = ward_create_file_at (cfd, "config.json", config, strlen (config), 0600, err);
  if (ret == 0)
    {
      rec = build_record (id, name, o, img, &b, args, restart, max_retry, cdir);
      ret = ward_mgr_record_write (m, id, rec, err);
    }
  spec_build_clear (&b);
  if (ret < 0 && made)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_snapshot_remove (m->root, id, &e) < 0)
        ward_warn ("remove snapshot %s: %s", id, e->msg);
    }
  if (ret < 0)
    return ret;
  *id_out = xstrdup (id);
  return 0;
}
