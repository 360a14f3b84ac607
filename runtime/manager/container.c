/* `ward create` (and the first half of `ward run`): image, snapshot, the
 * hosts files, config.json and the record. */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
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
static int ensure_image (ward_mgr_t *m, const char *name, ward_store_t **store_out,
                         ward_image_t **img, ward_error_t **err)
{
  _cleanup_store_ ward_store_t *store = NULL;
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  int ret = ward_store_open (m->root, &store, err);
  if (ret < 0)
    return ret;
  ret = ward_image_open (store, name, img, err);
  if (ret == 0)
    *store_out = TAKE_PTR (store);
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
  ret = ward_image_open (store, name, img, err);
  if (ret == 0)
    *store_out = TAKE_PTR (store);
  return ret;
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
  /* the volume each mount is (NULL: a bind or tmpfs); n_mount_vol <= n_mounts */
  char **mount_vol;
  bool *mount_vol_v;       /* spelled with -v (docker shows Mode "z") */
  size_t n_mount_vol;
  size_t init_mount;       /* 1 + index of the /dev/init mount, 0 = none */
  char **init_argv;        /* /dev/init -- ARGS */
  char **new_vols;         /* made by this create: removed if it fails */
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
  for (size_t i = 0; i < b->n_mount_vol; i++)
    free (b->mount_vol[i]);
  free (b->mount_vol);
  free (b->mount_vol_v);
  ward_strv_freep (&b->init_argv);
  ward_strv_freep (&b->new_vols);
}

static const char *mount_vol_at (const spec_build_t *b, size_t i)
{
  return i < b->n_mount_vol ? b->mount_vol[i] : NULL;
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

/* ---- volumes, --init, --privileged devices ----------------------------------- */

static void push_mount (spec_build_t *b, ward_cspec_mount_t *mt, const char *vol, bool via_v)
{
  size_t n = b->n_mounts + 1;
  b->mounts = xrealloc (b->mounts, n * sizeof *b->mounts);
  b->mount_vol = xrealloc (b->mount_vol, n * sizeof *b->mount_vol);
  b->mount_vol_v = xrealloc (b->mount_vol_v, n * sizeof *b->mount_vol_v);
  for (size_t i = b->n_mount_vol; i < b->n_mounts; i++)
    {
      b->mount_vol[i] = NULL;
      b->mount_vol_v[i] = false;
    }
  b->mount_vol[b->n_mounts] = vol ? xstrdup (vol) : NULL;
  b->mount_vol_v[b->n_mounts] = via_v;
  b->mounts[b->n_mounts++] = *mt;
  b->n_mount_vol = b->n_mounts;
  memset (mt, 0, sizeof *mt);
}

typedef struct
{
  char *name; /* NULL = anonymous */
  char *dst;
  bool ro, nocopy, via_v;
} vol_req_t;

static void vol_req_clear (vol_req_t *v)
{
  free (v->name);
  free (v->dst);
  memset (v, 0, sizeof *v);
}

static int vol_name_error (const char *name, ward_error_t **err)
{
  if (strlen (name) < 2 && isalnum ((unsigned char) name[0]))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "create %s: volume name is too short, names should be at least two alphanumeric characters",
                               name);
  return ward_error_set_ret (err, -EINVAL, 0,
                             "create %s: \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                             name, name);
}

/* -v NAME:/path[:opts] and -v /path: 1 with *out filled, 0 when spec is a
 * bind mount (HOST:CTR), < 0 on a bad spec. */
static int parse_volume_v (const char *spec, vol_req_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *dst = strchr (s, ':'), *mode;
  memset (out, 0, sizeof *out);
  out->via_v = true;
  if (dst == NULL)
    {
      if (s[0] != '/')
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "invalid volume specification: '%s': invalid mount config for type \"volume\": invalid mount path: '%s' mount path must be absolute",
                                   spec, s);
      out->dst = xstrdup (s);
      return 1;
    }
  if (s[0] == '/')
    return 0;
  *dst++ = '\0';
  mode = strchr (dst, ':');
  if (mode)
    *mode++ = '\0';
  if (!ward_mgr_volume_name_valid (s))
    return vol_name_error (s, err);
  if (dst[0] != '/')
    return ward_error_set_ret (err, -EINVAL, 0,
                               "invalid volume specification: '%s': invalid mount config for type \"volume\": invalid mount path: '%s' mount path must be absolute",
                               spec, dst);
  if (mode && *mode)
    {
      char *save = NULL;
      for (char *t = strtok_r (mode, ",", &save); t; t = strtok_r (NULL, ",", &save))
        {
          if (strcmp (t, "ro") == 0)
            out->ro = true;
          else if (strcmp (t, "nocopy") == 0)
            out->nocopy = true;
          else if (strcmp (t, "rw") != 0 && strcmp (t, "z") != 0 && strcmp (t, "Z") != 0)
            return ward_error_set_ret (err, -EINVAL, 0, "invalid volume specification: '%s': invalid mode: %s", spec, t);
        }
    }
  out->name = xstrdup (s);
  out->dst = xstrdup (dst);
  return 1;
}

/* --mount type=volume[,source=NAME],target=/path[,readonly][,volume-nocopy]:
 * 1 with *out filled, 0 for the other types. */
static int parse_volume_mount (const char *spec, vol_req_t *out, ward_error_t **err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *save = NULL;
  bool is_volume = true;
  memset (out, 0, sizeof *out);
  for (char *t = strtok_r (s, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (t, '=');
      const char *v = eq ? eq + 1 : "true";
      bool on = strcmp (v, "true") == 0 || strcmp (v, "1") == 0;
      if (eq)
        *eq = '\0';
      if (strcmp (t, "type") == 0)
        is_volume = strcmp (v, "volume") == 0;
      else if (strcmp (t, "source") == 0 || strcmp (t, "src") == 0)
        {
          free (out->name);
          out->name = *v ? xstrdup (v) : NULL;
        }
      else if (strcmp (t, "target") == 0 || strcmp (t, "destination") == 0 || strcmp (t, "dst") == 0)
        {
          free (out->dst);
          out->dst = xstrdup (v);
        }
      else if (strcmp (t, "readonly") == 0 || strcmp (t, "ro") == 0)
        out->ro = on;
      else if (strcmp (t, "volume-nocopy") == 0)
        out->nocopy = on;
      else if (strcmp (t, "volume-driver") == 0 && strcmp (v, "local") != 0)
        {
          vol_req_clear (out);
          return ward_error_set_ret (err, -EINVAL, 0, "volume driver '%s' is not supported (only local)", v);
        }
      else if (strcmp (t, "volume-opt") == 0)
        {
          vol_req_clear (out);
          return ward_error_set_ret (err, -EINVAL, 0, "invalid argument \"%s\" for \"--mount\" flag: volume-opt is not supported (plain local volumes only)", spec);
        }
    }
  if (!is_volume)
    {
      vol_req_clear (out);
      return 0;
    }
  if (out->dst == NULL || out->dst[0] != '/')
    {
      vol_req_clear (out);
      return ward_error_set_ret (err, -EINVAL, 0, "invalid argument \"%s\" for \"--mount\" flag: target is required and must be absolute", spec);
    }
  if (out->name && !ward_mgr_volume_name_valid (out->name))
    {
      _cleanup_free_ char *n = TAKE_PTR (out->name);
      vol_req_clear (out);
      return vol_name_error (n, err);
    }
  return 1;
}

/* Creates (or finds) the volume, copies the image's content up into a
 * new one and mounts its _data. */
static int add_volume (ward_mgr_t *m, spec_build_t *b, int rootfs_fd, vol_req_t *v,
                       ward_error_t **err)
{
  _cleanup_free_ char *name = NULL;
  ward_cspec_mount_t mt = { 0 };
  bool created = false;
  int ret = ward_mgr_volume_create (m, v->name, NULL, NULL, &created, &name, err);
  if (ret < 0)
    return ret;
  if (created)
    {
      size_t n = 0;
      while (b->new_vols && b->new_vols[n])
        n++;
      b->new_vols = xrealloc (b->new_vols, (n + 2) * sizeof *b->new_vols);
      b->new_vols[n] = xstrdup (name);
      b->new_vols[n + 1] = NULL;
    }
  if (!v->nocopy && (ret = ward_mgr_volume_copy_up (m, name, rootfs_fd, v->dst, err)) < 0)
    return ret;
  mt.type = xstrdup ("bind");
  mt.source = ward_mgr_volume_path (m, name);
  mt.destination = xstrdup (v->dst);
  mt.options = strv_new ("rbind", "rprivate", v->ro ? "ro" : NULL);
  push_mount (b, &mt, name, v->via_v);
  return 0;
}

static int add_volume_or_mount (ward_mgr_t *m, spec_build_t *b, int rootfs_fd, const char *spec,
                                bool via_v, ward_error_t **err)
{
  vol_req_t v;
  int ret = via_v ? parse_volume_v (spec, &v, err) : parse_volume_mount (spec, &v, err);
  if (ret < 0)
    return ret;
  if (ret == 0)
    return add_mount (b, via_v ? ward_mgr_parse_bind : ward_mgr_parse_mount, spec, err);
  ret = add_volume (m, b, rootfs_fd, &v, err);
  vol_req_clear (&v);
  return ret;
}

static void drop_new_volumes (ward_mgr_t *m, spec_build_t *b)
{
  for (char **v = b->new_vols; v && *v; v++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_mgr_volume_remove (m, *v, true, &e) < 0)
        ward_warn ("remove volume %s: %s", *v, e->msg);
    }
}

/* --privileged: every device node of the host's /dev, as docker adds them
 * (the devices cgroup already allows all). */
static void add_host_devices (spec_build_t *b, const char *dir, int depth)
{
  _cleanup_closedir_ DIR *d = opendir (dir);
  struct dirent *de;
  if (d == NULL || depth > 3)
    return;
  while ((de = readdir (d)))
    {
      _cleanup_free_ char *p = NULL;
      struct stat st;
      bool dup = false;
      ward_cspec_device_t *dv;
      if (de->d_name[0] == '.')
        continue;
      p = xasprintf ("%s/%s", dir, de->d_name);
      /* the container has its own pts/shm/mqueue; console and ptmx are the runtime's */
      if (strcmp (p, "/dev/pts") == 0 || strcmp (p, "/dev/shm") == 0 || strcmp (p, "/dev/mqueue") == 0
          || strcmp (p, "/dev/console") == 0 || strcmp (p, "/dev/ptmx") == 0)
        continue;
      if (lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          add_host_devices (b, p, depth + 1);
          continue;
        }
      if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
        continue;
      for (size_t i = 0; i < b->n_devs && !dup; i++)
        dup = strcmp (b->devs[i].path, p) == 0;
      if (dup)
        continue;
      b->devs = xrealloc (b->devs, (b->n_devs + 1) * sizeof *b->devs);
      dv = &b->devs[b->n_devs++];
      memset (dv, 0, sizeof *dv);
      dv->path = TAKE_PTR (p);
      dv->type = S_ISCHR (st.st_mode) ? 'c' : 'b';
      dv->major = major (st.st_rdev);
      dv->minor = minor (st.st_rdev);
      dv->file_mode = st.st_mode & 07777;
      dv->access = xstrdup ("rwm");
    }
}

/* ward-init: $WARD_INIT_PATH, the installed one, else the build tree's. */
static char *find_init (void)
{
  const char *env = getenv ("WARD_INIT_PATH");
  const char *cands[] = { env,
#ifdef WARD_PKGLIBEXECDIR
                          WARD_PKGLIBEXECDIR "/ward-init",
#endif
#ifdef WARD_BUILDDIR
                          WARD_BUILDDIR "/image/init/ward-init",
#endif
                          NULL };
  for (size_t i = 0; i < ARRAY_SIZE (cands); i++)
    if (cands[i] && access (cands[i], X_OK) == 0)
      return xstrdup (cands[i]);
  return NULL;
}

/* --init: docker's layout, the init bound read-only at /dev/init and
 * the process run as `/dev/init -- ARGS`. */
static int add_init (spec_build_t *b, char **args, ward_error_t **err)
{
  _cleanup_free_ char *path = find_init ();
  ward_cspec_mount_t mt = { 0 };
  size_t n = 0;
  if (path == NULL)
    return ward_error_set_ret (err, -ENOENT, 0,
                               "--init: ward-init not found (looked for $WARD_INIT_PATH and the installed ward-init)");
  while (args[n])
    n++;
  b->init_argv = xzalloc ((n + 3) * sizeof *b->init_argv);
  b->init_argv[0] = xstrdup ("/dev/init");
  b->init_argv[1] = xstrdup ("--");
  for (size_t i = 0; i < n; i++)
    b->init_argv[i + 2] = xstrdup (args[i]);
  b->s.entrypoint = b->init_argv;
  b->s.has_entrypoint = true;
  b->s.cmd = NULL;
  mt.type = xstrdup ("bind");
  mt.source = TAKE_PTR (path);
  mt.destination = xstrdup ("/dev/init");
  mt.options = strv_new ("rbind", "rprivate", "ro");
  push_mount (b, &mt, NULL, false);
  b->init_mount = b->n_mounts;
  b->s.mounts = b->mounts;
  b->s.mounts_len = b->n_mounts;
  return 0;
}

static bool is_vm (const ward_mgr_run_opts_t *o)
{
  return o->runtime && strcmp (o->runtime, WARD_MGR_RUNTIME_VM) == 0;
}

/* --vm: ward-runtime's handler selection (crun's run.oci.handler) is what
 * sends the container to ward-vm, so the bundle says it for any caller. */
static int annotate_vm (char **config, ward_error_t **err)
{
  _cleanup_json_ json_object *cfg = json_tokener_parse (*config);
  json_object *ann = NULL;
  if (cfg == NULL || !json_object_is_type (cfg, json_type_object))
    return ward_error_set_ret (err, -EINVAL, 0, "config.json: not a JSON object");
  if (!json_object_object_get_ex (cfg, "annotations", &ann) || !json_object_is_type (ann, json_type_object))
    {
      ann = json_object_new_object ();
      json_object_object_add (cfg, "annotations", ann);
    }
  json_object_object_add (ann, "run.oci.handler", json_object_new_string ("vm"));
  free (*config);
  *config = xstrdup (json_object_to_json_string_ext (cfg, JSON_C_TO_STRING_PRETTY));
  return 0;
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
  json_object_object_add (h, "Runtime", json_object_new_string (is_vm (o) ? WARD_MGR_RUNTIME_VM : "ward"));
  json_object_object_add (r, "HostConfig", h);

  for (size_t i = 0; i < b->n_mounts; i++)
    {
      json_object *mt;
      bool ro = false;
      for (char **op = b->mounts[i].options; op && *op; op++)
        ro |= strcmp (*op, "ro") == 0;
      /* docker does not list the /dev/init bind */
      if (b->init_mount == i + 1)
        continue;
      if (mount_vol_at (b, i))
        {
          mt = json_object_new_object ();
          json_object_object_add (mt, "Type", json_object_new_string ("volume"));
          json_object_object_add (mt, "Name", json_object_new_string (mount_vol_at (b, i)));
          json_object_object_add (mt, "Source", json_object_new_string (b->mounts[i].source));
          json_object_object_add (mt, "Destination", json_object_new_string (b->mounts[i].destination));
          json_object_object_add (mt, "Driver", json_object_new_string ("local"));
          json_object_object_add (mt, "Mode", json_object_new_string (b->mount_vol_v[i] ? "z" : ""));
          json_object_object_add (mt, "RW", json_object_new_boolean (!ro));
          json_object_object_add (mt, "Propagation", json_object_new_string (""));
          json_object_array_add (mounts, mt);
          continue;
        }
      mt = json_object_new_object ();
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
    if ((ret = add_volume_or_mount (m, b, rootfs_fd, *v, true, err)) < 0)
      return ret;
  for (char **v = o->mounts; v && *v; v++)
    if ((ret = add_volume_or_mount (m, b, rootfs_fd, *v, false, err)) < 0)
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
  if (o->privileged)
    add_host_devices (b, "/dev", 0);
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
  _cleanup_store_ ward_store_t *store = NULL;
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
  if ((ret = ward_mgr_net_check (m, o, err)) < 0)
    return ret;

  ret = ensure_image (m, o->image, &store, &img, err);
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
    /* from the image already open; a --rm container's upper dir is never
     * mounted again, so it skips the upper fs syncs (above all the one at
     * umount, which `run --rm` would wait for) */
    ward_snapshot_opts_t so = { .volatile_upper = o->auto_remove };
    ret = ward_snapshot_create_from (store, img, id, &so, NULL, err);
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
      /* the record keeps the command; the spec runs it under /dev/init */
      ret = ward_container_args (&b.s, img->config, &args, err);
      if (ret == 0 && o->init)
        ret = add_init (&b, args, err);
      if (ret == 0)
        ret = ward_container_spec_build (&b.s, img->config, &config, err);
      if (ret == 0)
        ret = ward_mgr_net_patch_config (m, o, id, &config, err);
      if (ret == 0 && is_vm (o))
        ret = annotate_vm (&config, err);
    }
  if (ret == 0)
    ret = ward_create_file_at (cfd, "config.json", config, strlen (config), 0600, err);
  if (ret == 0)
    {
      rec = build_record (id, name, o, img, &b, args, restart, max_retry, cdir);
      ward_mgr_net_record_init (m, o, img->config->exposed_ports, img->config->exposed_ports_len, rec);
      ret = ward_mgr_record_write (m, id, rec, err);
    }
  if (ret < 0)
    drop_new_volumes (m, &b);
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
