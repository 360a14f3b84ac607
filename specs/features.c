/* features.json (runtime-spec 1.2 features-linux.md): what this build of
 * ward implements. */
#include <config.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static int str_cmp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Sorted like runc's output, which makes diffs between runtimes easy. */
static json_object *sorted_list (const char *const *v)
{
  size_t n = 0;
  _cleanup_free_ const char **copy = NULL;
  json_object *a = json_object_new_array ();
  while (v[n])
    n++;
  copy = xmalloc ((n ? n : 1) * sizeof *copy);
  memcpy (copy, v, n * sizeof *copy);
  qsort (copy, n, sizeof *copy, str_cmp);
  for (size_t i = 0; i < n; i++)
    json_object_array_add (a, json_object_new_string (copy[i]));
  return a;
}

static json_object *enabled (bool on)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "enabled", json_object_new_boolean (on));
  return o;
}

static json_object *linux_features (void)
{
  static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid",
                                            "time", "user", "uts", NULL };
  json_object *l = json_object_new_object ();
  json_object *caps = json_object_new_array ();
  json_object *cg = json_object_new_object ();
  json_object *sc = json_object_new_object ();
  json_object *me = json_object_new_object ();

  json_object_object_add (l, "namespaces", sorted_list (namespaces));
  for (size_t i = 0; i < ward_specs_cap_count; i++)
    json_object_array_add (caps, json_object_new_string (ward_specs_cap_names[i]));
  json_object_object_add (l, "capabilities", caps);

  json_object_object_add (cg, "v1", json_object_new_boolean (1));
  json_object_object_add (cg, "v2", json_object_new_boolean (1));
  /* runc's meaning: the runtime has the driver (cgroups/systemd.c, which
   * loads libsystemd.so.0 at run time); systemdUser: no rootless driver */
  json_object_object_add (cg, "systemd", json_object_new_boolean (1));
  json_object_object_add (cg, "systemdUser", json_object_new_boolean (0));
  json_object_object_add (cg, "rdma", json_object_new_boolean (1));
  json_object_object_add (l, "cgroup", cg);

  json_object_object_add (sc, "enabled", json_object_new_boolean (1));
  json_object_object_add (sc, "actions", sorted_list (ward_specs_seccomp_actions));
  json_object_object_add (sc, "operators", sorted_list (ward_specs_seccomp_ops));
  json_object_object_add (sc, "archs", sorted_list (ward_specs_seccomp_archs));
  json_object_object_add (sc, "knownFlags", sorted_list (ward_specs_seccomp_flags));
  json_object_object_add (sc, "supportedFlags", sorted_list (ward_specs_seccomp_flags));
  json_object_object_add (l, "seccomp", sc);

  json_object_object_add (l, "apparmor", enabled (false));
  json_object_object_add (l, "selinux", enabled (false));
  json_object_object_add (l, "intelRdt", enabled (false));
  json_object_object_add (me, "idmap", enabled (true));
  json_object_object_add (l, "mountExtensions", me);
  return l;
}

char *ward_features_json_ex (const char *libseccomp_version)
{
  static const char *const hooks[] = { "prestart", "createRuntime", "createContainer",
                                       "startContainer", "poststart", "poststop", NULL };
  _cleanup_json_ json_object *o = json_object_new_object ();
  json_object *h = json_object_new_array ();
  json_object *ann = json_object_new_object ();

  json_object_object_add (o, "ociVersionMin", json_object_new_string ("1.0.0"));
  json_object_object_add (o, "ociVersionMax", json_object_new_string (WARD_OCI_VERSION));
  for (size_t i = 0; hooks[i]; i++)
    json_object_array_add (h, json_object_new_string (hooks[i]));
  json_object_object_add (o, "hooks", h);
  json_object_object_add (o, "mountOptions", sorted_list (ward_specs_mount_options));
  json_object_object_add (o, "linux", linux_features ());
  if (libseccomp_version)
    json_object_object_add (ann, "io.github.seccomp.libseccomp.version",
                            json_object_new_string (libseccomp_version));
  json_object_object_add (ann, "org.opencontainers.runc.checkpoint.enabled",
                          json_object_new_string ("false"));
  json_object_object_add (o, "annotations", ann);
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY
                                                         | JSON_C_TO_STRING_SPACED
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *ward_features_json (void)
{
  return ward_features_json_ex (NULL);
}
