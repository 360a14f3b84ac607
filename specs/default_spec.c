/* The config.json that `spec` writes: the same content as `runc spec`
 * (and `runc spec --rootless`), with ociVersion 1.2.0. */
#include <config.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "specs/specs.h"

static json_object *strv (const char *const *v)
{
  json_object *a = json_object_new_array ();
  for (; *v; v++)
    json_object_array_add (a, json_object_new_string (*v));
  return a;
}

static json_object *mount (const char *dest, const char *type, const char *src,
                           const char *const *options)
{
  json_object *m = json_object_new_object ();
  json_object_object_add (m, "destination", json_object_new_string (dest));
  json_object_object_add (m, "type", json_object_new_string (type));
  json_object_object_add (m, "source", json_object_new_string (src));
  if (options)
    json_object_object_add (m, "options", strv (options));
  return m;
}

static json_object *id_map (uint32_t host)
{
  json_object *a = json_object_new_array ();
  json_object *m = json_object_new_object ();
  json_object_object_add (m, "containerID", json_object_new_int64 (0));
  json_object_object_add (m, "hostID", json_object_new_int64 (host));
  json_object_object_add (m, "size", json_object_new_int64 (1));
  json_object_array_add (a, m);
  return a;
}

static json_object *process (void)
{
  static const char *const env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL,
  };
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                      NULL };
  static const char *const args[] = { "sh", NULL };
  json_object *p = json_object_new_object ();
  json_object *user = json_object_new_object ();
  json_object *c = json_object_new_object ();
  json_object *rl = json_object_new_object ();
  json_object *rls = json_object_new_array ();

  json_object_object_add (p, "terminal", json_object_new_boolean (1));
  json_object_object_add (user, "uid", json_object_new_int (0));
  json_object_object_add (user, "gid", json_object_new_int (0));
  json_object_object_add (p, "user", user);
  json_object_object_add (p, "args", strv (args));
  json_object_object_add (p, "env", strv (env));
  json_object_object_add (p, "cwd", json_object_new_string ("/"));
  json_object_object_add (c, "bounding", strv (caps));
  json_object_object_add (c, "effective", strv (caps));
  json_object_object_add (c, "permitted", strv (caps));
  json_object_object_add (c, "ambient", strv (caps));
  json_object_object_add (p, "capabilities", c);
  json_object_object_add (rl, "type", json_object_new_string ("RLIMIT_NOFILE"));
  json_object_object_add (rl, "hard", json_object_new_int (1024));
  json_object_object_add (rl, "soft", json_object_new_int (1024));
  json_object_array_add (rls, rl);
  json_object_object_add (p, "rlimits", rls);
  json_object_object_add (p, "noNewPrivileges", json_object_new_boolean (1));
  return p;
}

static json_object *mounts (bool rootless)
{
  static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                     "mode=0620", "gid=5", NULL };
  /* Without a mapping for gid 5 in the user namespace, devpts refuses gid=5. */
  static const char *const pts_rootless[] = { "nosuid", "noexec", "newinstance",
                                              "ptmxmode=0666", "mode=0620", NULL };
  static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k",
                                     NULL };
  static const char *const mq[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  /* sysfs cannot be mounted fresh without owning the network namespace. */
  static const char *const sys_rootless[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const cg[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };
  json_object *a = json_object_new_array ();
  json_object_array_add (a, mount ("/proc", "proc", "proc", NULL));
  json_object_array_add (a, mount ("/dev", "tmpfs", "tmpfs", dev));
  json_object_array_add (a, mount ("/dev/pts", "devpts", "devpts", rootless ? pts_rootless : pts));
  json_object_array_add (a, mount ("/dev/shm", "tmpfs", "shm", shm));
  json_object_array_add (a, mount ("/dev/mqueue", "mqueue", "mqueue", mq));
  if (rootless)
    json_object_array_add (a, mount ("/sys", "none", "/sys", sys_rootless));
  else
    json_object_array_add (a, mount ("/sys", "sysfs", "sysfs", sys));
  json_object_array_add (a, mount ("/sys/fs/cgroup", "cgroup", "cgroup", cg));
  return a;
}

static json_object *linux_section (bool rootless, uid_t uid, gid_t gid)
{
  static const char *const masked[] = {
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi", NULL,
  };
  static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                    "/proc/sysrq-trigger", NULL };
  static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", NULL };
  static const char *const ns_rootless[] = { "pid", "ipc", "uts", "mount", "user", NULL };
  json_object *l = json_object_new_object ();
  json_object *nss = json_object_new_array ();

  if (rootless)
    {
      json_object_object_add (l, "uidMappings", id_map (uid));
      json_object_object_add (l, "gidMappings", id_map (gid));
    }
  else
    {
      json_object *res = json_object_new_object ();
      json_object *devs = json_object_new_array ();
      json_object *d = json_object_new_object ();
      json_object_object_add (d, "allow", json_object_new_boolean (0));
      json_object_object_add (d, "access", json_object_new_string ("rwm"));
      json_object_array_add (devs, d);
      json_object_object_add (res, "devices", devs);
      json_object_object_add (l, "resources", res);
    }
  for (const char *const *n = rootless ? ns_rootless : ns; *n; n++)
    {
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "type", json_object_new_string (*n));
      json_object_array_add (nss, o);
    }
  json_object_object_add (l, "namespaces", nss);
  json_object_object_add (l, "maskedPaths", strv (masked));
  json_object_object_add (l, "readonlyPaths", strv (ro));
  return l;
}

char *ward_spec_default_json (bool rootless, uid_t uid, gid_t gid)
{
  _cleanup_json_ json_object *o = json_object_new_object ();
  json_object *root = json_object_new_object ();

  json_object_object_add (o, "ociVersion", json_object_new_string (WARD_OCI_VERSION));
  json_object_object_add (o, "process", process ());
  json_object_object_add (root, "path", json_object_new_string ("rootfs"));
  json_object_object_add (root, "readonly", json_object_new_boolean (1));
  json_object_object_add (o, "root", root);
  json_object_object_add (o, "hostname", json_object_new_string ("runc"));
  json_object_object_add (o, "mounts", mounts (rootless));
  json_object_object_add (o, "linux", linux_section (rootless, uid, gid));
  /* runc indents with tabs. */
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY
                                                         | JSON_C_TO_STRING_PRETTY_TAB
                                                         | JSON_C_TO_STRING_SPACED
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE));
}
