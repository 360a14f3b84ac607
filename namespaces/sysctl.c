/* linux.sysctl: which keys a container may set (runc's table) and writing
 * them under the container's /proc/sys. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "namespaces/internal.h"
#include "namespaces/namespaces.h"

static const ward_namespace_t *find_ns (const ward_config_t *cfg, ward_ns_type_t t)
{
  if (cfg == NULL || cfg->linux_ == NULL)
    return NULL;
  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == t)
      return &cfg->linux_->namespaces[i];
  return NULL;
}

/* True when path names the same namespace as the host's (our own) one. */
static bool same_ns_as_ours (const char *path, const char *own)
{
  struct stat a, b;
  if (stat (path, &a) < 0 || stat (own, &b) < 0)
    return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static char *normalise_key (const char *key)
{
  /* runc accepts "net/ipv4/ip_forward" as well as "net.ipv4.ip_forward". */
  char *k = xstrdup (key);
  if (strchr (k, '/'))
    for (char *p = k; *p; p++)
      if (*p == '/')
        *p = '.';
  return k;
}

int ward_sysctl_check_one (const ward_config_t *cfg, const char *key, ward_error_t **err)
{
  static const char *const ipc_keys[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
  };
  _cleanup_free_ char *k = normalise_key (key);
  bool ipc = strncmp (k, "fs.mqueue.", 10) == 0;

  for (size_t i = 0; !ipc && i < ARRAY_SIZE (ipc_keys); i++)
    ipc = strcmp (k, ipc_keys[i]) == 0;
  if (ipc)
    {
      if (find_ns (cfg, WARD_NS_IPC) == NULL)
        return ward_error_set (err, 0, "sysctl \"%s\" is not allowed in the hosts ipc namespace",
                               key);
      return 0;
    }
  if (strncmp (k, "net.", 4) == 0)
    {
      const ward_namespace_t *net = find_ns (cfg, WARD_NS_NETWORK);
      if (net == NULL)
        return ward_error_set (err, 0,
                               "sysctl \"%s\" is not allowed in the hosts network namespace", key);
      if (net->path && net->path[0] && same_ns_as_ours (net->path, "/proc/self/ns/net"))
        return ward_error_set (err, 0, "sysctl \"%s\" not allowed in host network namespace",
                               key);
      return 0;
    }
  if (find_ns (cfg, WARD_NS_UTS) != NULL)
    {
      if (strcmp (k, "kernel.domainname") == 0)
        return 0;
      if (strcmp (k, "kernel.hostname") == 0)
        return ward_error_set (err, 0,
                               "sysctl \"%s\" is not allowed as it conflicts with the OCI \"hostname\" field",
                               key);
    }
  return ward_error_set (err, 0, "sysctl \"%s\" is not in a separate kernel namespace", key);
}

int ward_sysctl_validate (const ward_config_t *cfg, ward_error_t **err)
{
  int ret = ward_ns_check_uts (cfg, err);
  if (ret < 0 || cfg == NULL || cfg->linux_ == NULL)
    return ret;
  for (size_t i = 0; i < cfg->linux_->sysctl_len; i++)
    {
      const char *key = cfg->linux_->sysctl[i].key;
      if (key == NULL || key[0] == '\0' || strstr (key, ".."))
        return ward_error_set (err, 0, "sysctl \"%s\": invalid key", key ? key : "");
      ret = ward_sysctl_check_one (cfg, key, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int ward_sysctl_apply (const ward_config_t *cfg, ward_error_t **err)
{
  _cleanup_close_ int procsys = -1;

  if (cfg == NULL || cfg->linux_ == NULL || cfg->linux_->sysctl_len == 0)
    return 0;
  procsys = open ("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (procsys < 0)
    return ward_error_set (err, errno, "open '/proc/sys'");
  for (size_t i = 0; i < cfg->linux_->sysctl_len; i++)
    {
      const ward_kv_t *kv = &cfg->linux_->sysctl[i];
      _cleanup_free_ char *rel = xstrdup (kv->key);
      _cleanup_close_ int fd = -1;
      const char *val = kv->value ? kv->value : "";
      struct open_how how = { .flags = O_WRONLY | O_CLOEXEC,
                              .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
                                         | RESOLVE_NO_MAGICLINKS };

      if (strchr (rel, '/') == NULL)
        for (char *p = rel; *p; p++)
          if (*p == '.')
            *p = '/';
      fd = (int) syscall (SYS_openat2, procsys, rel, &how, sizeof how);
      if (fd < 0)
        return ward_error_set (err, errno, "open sysctl '/proc/sys/%s'", rel);
      if (ward_write_all (fd, val, strlen (val)) < 0)
        return ward_error_set (err, errno, "write sysctl \"%s\" = \"%s\"", kv->key, val);
      ward_debug ("sysctl %s = %s", kv->key, val);
    }
  return 0;
}
