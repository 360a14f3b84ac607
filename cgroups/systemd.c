/* systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
 * transient scope (or slice) that systemd creates over D-Bus, as runc does;
 * the resources systemd does not know are then written to the cgroup files
 * by the v1/v2 back ends.
 *
 * libsystemd is dlopen()ed on first use only: ward-runtime without
 * --systemd-cgroup neither links nor loads it (startup cost unchanged), and
 * the few sd-bus prototypes are declared here, so no -dev package is
 * needed to build.  sd-bus was chosen over speaking the D-Bus wire protocol
 * ourselves: marshalling a(sv) with nested variants, SASL EXTERNAL auth and
 * signal matching would be ~600 lines to get right; libsystemd0 is
 * present wherever systemd is. */
#include "cgroups/cgroups.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/log.h"

/* ---- pure parts: cgroupsPath, slice expansion, property values --------- */

int ward_cgroup_systemd_expand_slice (const char *slice, char **out, ward_error_t **err)
{
  size_t n = strlen (slice);
  _cleanup_free_ char *name = NULL, *path = NULL, *prefix = NULL;

  if (n <= 6 || strcmp (slice + n - 6, ".slice") != 0 || strchr (slice, '/'))
    return ward_error_set (err, 0, "systemd cgroup driver: invalid slice name '%s'", slice);
  name = xstrndup (slice, n - 6);
  if (strcmp (name, "-") == 0)
    {
      *out = xstrdup ("/");
      return 0;
    }
  path = xstrdup ("");
  prefix = xstrdup ("");
  for (char *p = name;;)
    {
      size_t l = strcspn (p, "-");
      char *np, *npre;
      /* "-" separates levels: an empty level (leading, trailing or "--") is invalid */
      if (l == 0)
        return ward_error_set (err, 0, "systemd cgroup driver: invalid slice name '%s'", slice);
      np = xasprintf ("%s/%s%.*s.slice", path, prefix, (int) l, p);
      npre = xasprintf ("%s%.*s-", prefix, (int) l, p);
      free (path);
      free (prefix);
      path = np;
      prefix = npre;
      if (p[l] == '\0')
        break;
      p += l + 1;
    }
  *out = TAKE_PTR (path);
  return 0;
}

static bool valid_unit_chars (const char *s)
{
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || strchr (":-_.\\@", *s)))
      return false;
  return true;
}

int ward_cgroup_systemd_parse (const char *cgroups_path, const char *id,
                               ward_cgroup_systemd_name_t *out, ward_error_t **err)
{
  _cleanup_free_ char *slice = NULL, *prefix = NULL, *name = NULL, *unit = NULL, *base = NULL;
  bool is_slice;

  memset (out, 0, sizeof *out);
  if (cgroups_path == NULL || *cgroups_path == '\0')
    {
      /* runc: no cgroupsPath means system.slice, the runtime's prefix, the id */
      if (id == NULL || *id == '\0')
        return ward_error_set (err, 0, "systemd cgroup driver: no container id");
      slice = xstrdup ("system.slice");
      prefix = xstrdup ("ward");
      name = xstrdup (id);
    }
  else
    {
      const char *c1 = strchr (cgroups_path, ':');
      const char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 == NULL || strchr (c2 + 1, ':'))
        return ward_error_set (err, 0,
                               "linux.cgroupsPath: expected \"slice:prefix:name\" for systemd "
                               "cgroups, got '%s'",
                               cgroups_path);
      slice = xstrndup (cgroups_path, (size_t) (c1 - cgroups_path));
      prefix = xstrndup (c1 + 1, (size_t) (c2 - c1 - 1));
      name = xstrdup (c2 + 1);
      if (*slice == '\0')
        {
          free (slice);
          slice = xstrdup ("system.slice");
        }
    }
  if (*name == '\0')
    return ward_error_set (err, 0, "linux.cgroupsPath: empty name in '%s'",
                           cgroups_path ? cgroups_path : "");
  is_slice = strlen (name) > 6 && strcmp (name + strlen (name) - 6, ".slice") == 0;
  if (is_slice)
    unit = xstrdup (name);
  else if (*prefix)
    unit = xasprintf ("%s-%s.scope", prefix, name);
  else
    unit = xasprintf ("%s.scope", name);
  if (strlen (unit) > 255 || !valid_unit_chars (unit) || strchr (unit, '/'))
    return ward_error_set (err, 0, "linux.cgroupsPath: invalid systemd unit name '%s'", unit);
  if (ward_cgroup_systemd_expand_slice (slice, &base, err) < 0)
    return ward_error_wrap (err, "linux.cgroupsPath");
  if (is_slice)
    {
      /* a slice's cgroup follows from its own name ("a-b.slice" is /a.slice/a-b.slice) */
      free (base);
      base = NULL;
      if (ward_cgroup_systemd_expand_slice (unit, &out->path, err) < 0)
        return ward_error_wrap (err, "linux.cgroupsPath");
    }
  else
    out->path = strcmp (base, "/") == 0 ? xasprintf ("/%s", unit) : xasprintf ("%s/%s", base, unit);
  out->slice = TAKE_PTR (slice);
  out->unit = TAKE_PTR (unit);
  return 0;
}

void ward_cgroup_systemd_name_free (ward_cgroup_systemd_name_t *n)
{
  free (n->slice);
  free (n->unit);
  free (n->path);
  memset (n, 0, sizeof *n);
}

uint64_t ward_cgroup_systemd_cpu_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  /* the same linear map as the v2 back end: [2, 262144] -> [1, 10000] */
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t ward_cgroup_systemd_quota_per_sec (int64_t quota, uint64_t period)
{
  uint64_t q;
  if (quota <= 0)
    return UINT64_MAX; /* no limit */
  if (period == 0)
    period = 100000;
  q = (uint64_t) quota * 1000000 / period;
  /* systemd keeps CPUQuotaPerSecUSec in 10 ms steps: round up, as runc
   * does, so that the quota is never lower than asked for */
  if (q % 10000)
    q = (q / 10000 + 1) * 10000;
  return q;
}

int ward_cgroup_systemd_cpuset_mask (const char *list, uint8_t **mask, size_t *len)
{
  _cleanup_free_ uint16_t *ids = NULL;
  size_t n = 0, bytes = 0;
  int ret = ward_cgroup_parse_cpulist (list, &ids, &n);

  *mask = NULL;
  *len = 0;
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n; i++)
    if ((size_t) ids[i] / 8 + 1 > bytes)
      bytes = (size_t) ids[i] / 8 + 1;
  if (bytes == 0)
    return 0;
  *mask = xzalloc (bytes);
  /* systemd's CPU sets are little-endian bitmaps: bit i of byte i/8 */
  for (size_t i = 0; i < n; i++)
    (*mask)[ids[i] / 8] |= (uint8_t) (1u << (ids[i] % 8));
  *len = bytes;
  return 0;
}

/* ---- sd-bus, loaded at run time ---------------------------------------- */

typedef struct
{
  const char *name;
  const char *message;
  int need_free;
} sdb_error_t;

typedef int (*sdb_handler_t) (void *m, void *userdata, sdb_error_t *ret_error);

static struct
{
  bool tried;
  void *h;
  int (*bus_new) (void **bus);
  int (*set_address) (void *bus, const char *address);
  int (*start) (void *bus);
  int (*open_system) (void **bus);
  void *(*flush_close_unref) (void *bus);
  int (*new_method_call) (void *bus, void **m, const char *dest, const char *path,
                          const char *iface, const char *member);
  int (*append) (void *m, const char *types, ...);
  int (*append_array) (void *m, char type, const void *ptr, size_t size);
  int (*open_container) (void *m, char type, const char *contents);
  int (*close_container) (void *m);
  int (*call) (void *bus, void *m, uint64_t usec, sdb_error_t *e, void **reply);
  int (*read) (void *m, const char *types, ...);
  void *(*message_unref) (void *m);
  void (*error_free) (sdb_error_t *e);
  int (*match_signal) (void *bus, void **slot, const char *sender, const char *path,
                       const char *iface, const char *member, sdb_handler_t cb, void *userdata);
  int (*process) (void *bus, void **r);
  int (*wait) (void *bus, uint64_t usec);
  void *(*slot_unref) (void *slot);
} sdb;

static int sdb_load (ward_error_t **err)
{
  struct
  {
    const char *name;
    void **fn;
  } syms[] = {
    { "sd_bus_new", (void **) &sdb.bus_new },
    { "sd_bus_set_address", (void **) &sdb.set_address },
    { "sd_bus_start", (void **) &sdb.start },
    { "sd_bus_open_system", (void **) &sdb.open_system },
    { "sd_bus_flush_close_unref", (void **) &sdb.flush_close_unref },
    { "sd_bus_message_new_method_call", (void **) &sdb.new_method_call },
    { "sd_bus_message_append", (void **) &sdb.append },
    { "sd_bus_message_append_array", (void **) &sdb.append_array },
    { "sd_bus_message_open_container", (void **) &sdb.open_container },
    { "sd_bus_message_close_container", (void **) &sdb.close_container },
    { "sd_bus_call", (void **) &sdb.call },
    { "sd_bus_message_read", (void **) &sdb.read },
    { "sd_bus_message_unref", (void **) &sdb.message_unref },
    { "sd_bus_error_free", (void **) &sdb.error_free },
    { "sd_bus_match_signal", (void **) &sdb.match_signal },
    { "sd_bus_process", (void **) &sdb.process },
    { "sd_bus_wait", (void **) &sdb.wait },
    { "sd_bus_slot_unref", (void **) &sdb.slot_unref },
  };

  if (sdb.h)
    return 0;
  if (sdb.tried)
    return ward_error_set_ret (err, -ENOTSUP, 0,
                               "systemd cgroup driver: cannot load libsystemd.so.0");
  sdb.tried = true;
  sdb.h = dlopen ("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (sdb.h == NULL)
    return ward_error_set_ret (err, -ENOTSUP, 0,
                               "systemd cgroup driver: cannot load libsystemd.so.0: %s "
                               "(apt-get install libsystemd0)",
                               dlerror ());
  for (size_t i = 0; i < ARRAY_SIZE (syms); i++)
    {
      *syms[i].fn = dlsym (sdb.h, syms[i].name);
      if (*syms[i].fn == NULL)
        {
          dlclose (sdb.h);
          sdb.h = NULL;
          return ward_error_set_ret (err, -ENOTSUP, 0,
                                     "systemd cgroup driver: libsystemd.so.0 has no %s",
                                     syms[i].name);
        }
    }
  return 0;
}

bool ward_cgroup_systemd_available (void)
{
  struct stat sb;
  return stat ("/run/systemd/system", &sb) == 0 && S_ISDIR (sb.st_mode);
}

static void bus_closep (void **bus)
{
  if (*bus)
    sdb.flush_close_unref (*bus);
}
static void msg_unrefp (void **m)
{
  if (*m)
    sdb.message_unref (*m);
}
static void slot_unrefp (void **s)
{
  if (*s)
    sdb.slot_unref (*s);
}
static void bus_errorp (sdb_error_t *e)
{
  if (sdb.h && sdb.error_free)
    sdb.error_free (e);
}
#define _cleanup_bus_ __attribute__ ((cleanup (bus_closep)))
#define _cleanup_msg_ __attribute__ ((cleanup (msg_unrefp)))
#define _cleanup_slot_ __attribute__ ((cleanup (slot_unrefp)))
#define _cleanup_buserr_ __attribute__ ((cleanup (bus_errorp)))

static const char SD_DEST[] = "org.freedesktop.systemd1";
static const char SD_PATH[] = "/org/freedesktop/systemd1";
static const char SD_IFACE[] = "org.freedesktop.systemd1.Manager";

/* systemd's own socket first (root, no dbus-daemon needed), then the
 * system bus. */
static int bus_open (void **out, ward_error_t **err)
{
  _cleanup_bus_ void *bus = NULL;
  int ret;

  if (!ward_cgroup_systemd_available ())
    return ward_error_set_ret (err, -ENOTSUP, 0,
                               "systemd cgroup driver: systemd is not running "
                               "(no /run/systemd/system)");
  ret = sdb_load (err);
  if (ret < 0)
    return ret;
  if (access ("/run/systemd/private", F_OK) == 0 && sdb.bus_new (&bus) >= 0
      && sdb.set_address (bus, "unix:path=/run/systemd/private") >= 0 && sdb.start (bus) >= 0)
    {
      *out = TAKE_PTR (bus);
      return 0;
    }
  if (bus)
    {
      sdb.flush_close_unref (bus);
      bus = NULL;
    }
  ret = sdb.open_system (&bus);
  if (ret < 0)
    return ward_error_set (err, -ret,
                           "systemd cgroup driver: connect to /run/systemd/private or the "
                           "system bus");
  *out = TAKE_PTR (bus);
  return 0;
}

typedef struct
{
  const char *job;
  char result[64];
  bool done;
} job_wait_t;

static int on_job_removed (void *m, void *userdata, sdb_error_t *ret_error)
{
  job_wait_t *w = userdata;
  const char *path = NULL, *unit = NULL, *result = NULL;
  uint32_t id;
  (void) ret_error;

  if (sdb.read (m, "uoss", &id, &path, &unit, &result) < 0 || path == NULL)
    return 0;
  if (w->job && strcmp (path, w->job) == 0)
    {
      snprintf (w->result, sizeof w->result, "%s", result ? result : "");
      w->done = true;
    }
  return 0;
}

/* Calls a Manager method that returns a job ("o"), then waits for that
 * job's JobRemoved; *result receives its result ("done", "failed"...). */
static int call_job (void *bus, void *msg, const char *what, job_wait_t *w, ward_error_t **err)
{
  _cleanup_msg_ void *reply = NULL;
  _cleanup_buserr_ sdb_error_t e = { 0 };
  const char *job = NULL;
  struct timespec start, now;
  int ret;

  ret = sdb.call (bus, msg, 30ULL * 1000000, &e, &reply);
  if (ret < 0)
    {
      if (e.name && strcmp (e.name, "org.freedesktop.systemd1.NoSuchUnit") == 0)
        return -ENOENT;
      return ward_error_set_ret (err, ret, 0, "systemd cgroup driver: %s: %s", what,
                                 e.message ? e.message : strerror (-ret));
    }
  if ((ret = sdb.read (reply, "o", &job)) < 0 || job == NULL)
    return ward_error_set (err, ret < 0 ? -ret : EPROTO, "systemd cgroup driver: %s: reply",
                           what);
  w->job = job;
  clock_gettime (CLOCK_MONOTONIC, &start);
  while (!w->done)
    {
      ret = sdb.process (bus, NULL);
      if (ret < 0)
        return ward_error_set (err, -ret, "systemd cgroup driver: %s: wait for the job", what);
      if (ret > 0)
        continue;
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec >= 30)
        return ward_error_set_ret (err, -ETIMEDOUT, 0,
                                   "systemd cgroup driver: %s: no JobRemoved for %s in 30 s",
                                   what, job);
      ret = sdb.wait (bus, 1000000);
      if (ret < 0)
        return ward_error_set (err, -ret, "systemd cgroup driver: %s: wait for the job", what);
    }
  w->job = NULL;
  return 0;
}

static int subscribe (void *bus, void **slot, job_wait_t *w, ward_error_t **err)
{
  _cleanup_buserr_ sdb_error_t e = { 0 };
  _cleanup_msg_ void *m = NULL, *reply = NULL;
  int ret;

  /* no sender filter: on systemd's private socket messages carry none */
  ret = sdb.match_signal (bus, slot, NULL, SD_PATH, SD_IFACE, "JobRemoved", on_job_removed, w);
  if (ret < 0)
    return ward_error_set (err, -ret, "systemd cgroup driver: match JobRemoved");
  ret = sdb.new_method_call (bus, &m, SD_DEST, SD_PATH, SD_IFACE, "Subscribe");
  if (ret >= 0)
    ret = sdb.call (bus, m, 30ULL * 1000000, &e, &reply);
  /* "already subscribed" and the like are harmless: signals still come */
  if (ret < 0)
    ward_debug ("systemd: Subscribe: %s", e.message ? e.message : strerror (-ret));
  return 0;
}

static int add_prop_bool (void *m, const char *name, bool v)
{
  return sdb.append (m, "(sv)", name, "b", (int) v);
}

static int add_prop_u64 (void *m, const char *name, uint64_t v)
{
  return sdb.append (m, "(sv)", name, "t", v);
}

static int add_prop_mask (void *m, const char *name, const char *list)
{
  _cleanup_free_ uint8_t *mask = NULL;
  size_t len = 0;
  int ret;

  if (ward_cgroup_systemd_cpuset_mask (list, &mask, &len) < 0 || len == 0)
    return 0; /* the fs back end reports the bad value by name */
  if ((ret = sdb.open_container (m, 'r', "sv")) < 0 || (ret = sdb.append (m, "s", name)) < 0
      || (ret = sdb.open_container (m, 'v', "ay")) < 0
      || (ret = sdb.append_array (m, 'y', mask, len)) < 0 || (ret = sdb.close_container (m)) < 0)
    return ret;
  return sdb.close_container (m);
}

/* The resources systemd itself manages; it would otherwise write its
 * defaults over what the fs back end wrote (runc passes the same ones). */
static int add_resource_props (void *m, bool v2, const ward_resources_t *r)
{
  int ret = 0;

  if (r == NULL)
    return 0;
  if (r->memory && r->memory->has_limit && r->memory->limit != 0)
    {
      uint64_t lim = r->memory->limit < 0 ? UINT64_MAX : (uint64_t) r->memory->limit;
      if ((ret = add_prop_u64 (m, v2 ? "MemoryMax" : "MemoryLimit", lim)) < 0)
        return ret;
      if (v2 && r->memory->has_swap && r->memory->swap != 0)
        {
          /* v2 swap excludes memory: runc's swap is memory+swap */
          uint64_t sw = r->memory->swap < 0 || lim == UINT64_MAX ? UINT64_MAX
                        : (uint64_t) r->memory->swap - lim;
          if ((ret = add_prop_u64 (m, "MemorySwapMax", sw)) < 0)
            return ret;
        }
    }
  if (v2 && r->memory && r->memory->has_reservation && r->memory->reservation > 0
      && (ret = add_prop_u64 (m, "MemoryLow", (uint64_t) r->memory->reservation)) < 0)
    return ret;
  if (r->cpu)
    {
      const ward_cpu_t *c = r->cpu;
      if (c->has_shares && c->shares != 0
          && (ret = v2 ? add_prop_u64 (m, "CPUWeight", ward_cgroup_systemd_cpu_weight (c->shares))
                       : add_prop_u64 (m, "CPUShares", c->shares))
                 < 0)
        return ret;
      if (c->has_period && c->period != 0
          && (ret = add_prop_u64 (m, "CPUQuotaPeriodUSec", c->period)) < 0)
        return ret;
      if ((c->has_quota && c->quota != 0) || (c->has_period && c->period != 0))
        {
          uint64_t q = ward_cgroup_systemd_quota_per_sec (c->has_quota ? c->quota : -1,
                                                          c->has_period ? c->period : 0);
          if ((ret = add_prop_u64 (m, "CPUQuotaPerSecUSec", q)) < 0)
            return ret;
        }
      if (c->cpus && *c->cpus && (ret = add_prop_mask (m, "AllowedCPUs", c->cpus)) < 0)
        return ret;
      if (c->mems && *c->mems && (ret = add_prop_mask (m, "AllowedMemoryNodes", c->mems)) < 0)
        return ret;
    }
  if (r->has_pids_limit && r->pids_limit != 0
      && (ret = add_prop_u64 (m, "TasksMax",
                              r->pids_limit < 0 ? UINT64_MAX : (uint64_t) r->pids_limit))
             < 0)
    return ret;
  return 0;
}

/* StartTransientUnit(name, "replace", properties, aux) and wait for it. */
static int start_unit (ward_cgroup_t *cg, pid_t pid, ward_error_t **err)
{
  _cleanup_bus_ void *bus = NULL;
  _cleanup_slot_ void *slot = NULL;
  _cleanup_msg_ void *m = NULL;
  _cleanup_free_ char *desc = xasprintf ("ward container %s", cg->systemd_unit);
  const char *unit = cg->systemd_unit;
  bool is_slice = strlen (unit) > 6 && strcmp (unit + strlen (unit) - 6, ".slice") == 0;
  bool v2 = cg->mode == WARD_CGROUP_MODE_V2;
  job_wait_t w = { 0 };
  int ret;

  ret = bus_open (&bus, err);
  if (ret < 0)
    return ret;
  ret = subscribe (bus, &slot, &w, err);
  if (ret < 0)
    return ret;
  ret = sdb.new_method_call (bus, &m, SD_DEST, SD_PATH, SD_IFACE, "StartTransientUnit");
  if (ret >= 0)
    ret = sdb.append (m, "ss", unit, "replace");
  if (ret >= 0)
    ret = sdb.open_container (m, 'a', "(sv)");
  if (ret >= 0)
    ret = sdb.append (m, "(sv)", "Description", "s", desc);
  if (ret >= 0 && is_slice)
    ret = sdb.append (m, "(sv)", "Wants", "as", 1, cg->systemd_slice);
  if (ret >= 0 && !is_slice)
    ret = sdb.append (m, "(sv)", "Slice", "s", cg->systemd_slice);
  if (ret >= 0 && !is_slice)
    ret = add_prop_bool (m, "Delegate", true);
  if (ret >= 0 && !is_slice)
    ret = sdb.append (m, "(sv)", "PIDs", "au", 1, (uint32_t) pid);
  if (ret >= 0)
    ret = add_prop_bool (m, "MemoryAccounting", true);
  if (ret >= 0)
    ret = add_prop_bool (m, "CPUAccounting", true);
  if (ret >= 0)
    ret = add_prop_bool (m, v2 ? "IOAccounting" : "BlockIOAccounting", true);
  if (ret >= 0)
    ret = add_prop_bool (m, "TasksAccounting", true);
  if (ret >= 0)
    ret = add_prop_bool (m, "DefaultDependencies", false);
  if (ret >= 0)
    ret = add_resource_props (m, v2, cg->has_pending ? &cg->pending : NULL);
  if (ret >= 0)
    ret = sdb.close_container (m);
  if (ret >= 0)
    ret = sdb.append (m, "a(sa(sv))", 0);
  if (ret < 0)
    return ward_error_set (err, -ret, "systemd cgroup driver: build StartTransientUnit(%s)", unit);
  ret = call_job (bus, m, "start unit", &w, err);
  if (ret == -ENOENT)
    return ward_error_set_ret (err, ret, 0, "systemd cgroup driver: start unit %s: no such unit",
                               unit);
  if (ret < 0)
    return ward_error_wrap (err, "%s", unit);
  if (strcmp (w.result, "done") != 0)
    return ward_error_set_ret (err, -EIO, 0,
                               "systemd cgroup driver: unit %s: job %s (see journalctl -u %s)",
                               unit, w.result, unit);
  ward_debug ("systemd: started %s", unit);
  return 0;
}

int ward_cg_systemd_start (ward_cgroup_t *cg, pid_t pid, ward_error_t **err)
{
  int ret = start_unit (cg, pid, err);
  if (ret < 0)
    return ret;
  cg->systemd_started = true;
  /* the rest of the resources, and the ones systemd just rewrote with its
   * own rounding, go to the files as runc does after the unit starts */
  if (cg->has_pending)
    {
      ret = cg->mode == WARD_CGROUP_MODE_V2 ? ward_cg_v2_apply (cg, &cg->pending, err)
                                            : ward_cg_v1_apply (cg, &cg->pending, err);
      cg->has_pending = false;
      free (cg->pending_devices);
      cg->pending_devices = NULL;
      if (ret < 0)
        return ret;
    }
  return 0;
}

/* Keeps a shallow copy of res until the unit starts: its nested arrays
 * belong to the caller's config, which outlives create; the device list
 * (often the caller's temporary) is copied. */
void ward_cg_systemd_keep (ward_cgroup_t *cg, const ward_resources_t *res)
{
  free (cg->pending_devices);
  cg->pending = *res;
  cg->pending_devices = NULL;
  if (res->devices_len)
    {
      cg->pending_devices = xmalloc (res->devices_len * sizeof *res->devices);
      memcpy (cg->pending_devices, res->devices, res->devices_len * sizeof *res->devices);
      cg->pending.devices = cg->pending_devices;
    }
  cg->has_pending = true;
}

int ward_cg_systemd_stop (ward_cgroup_t *cg, ward_error_t **err)
{
  _cleanup_bus_ void *bus = NULL;
  _cleanup_slot_ void *slot = NULL;
  _cleanup_msg_ void *m = NULL;
  job_wait_t w = { 0 };
  int ret;

  if (!ward_cgroup_systemd_available ())
    {
      ward_debug ("systemd: not running, %s removed by hand", cg->systemd_unit);
      return 0;
    }
  ret = bus_open (&bus, err);
  if (ret < 0)
    return ret;
  ret = subscribe (bus, &slot, &w, err);
  if (ret < 0)
    return ret;
  ret = sdb.new_method_call (bus, &m, SD_DEST, SD_PATH, SD_IFACE, "StopUnit");
  if (ret >= 0)
    ret = sdb.append (m, "ss", cg->systemd_unit, "replace");
  if (ret < 0)
    return ward_error_set (err, -ret, "systemd cgroup driver: build StopUnit(%s)",
                           cg->systemd_unit);
  ret = call_job (bus, m, "stop unit", &w, err);
  /* a scope whose processes all exited is already gone */
  if (ret == -ENOENT)
    return 0;
  if (ret < 0)
    return ward_error_wrap (err, "%s", cg->systemd_unit);
  ward_debug ("systemd: stopped %s (%s)", cg->systemd_unit, w.result);
  return 0;
}

/* update: tells systemd the new values too (SetUnitProperties, runtime
 * only), so that a daemon-reload does not put the old ones back. */
int ward_cg_systemd_set (ward_cgroup_t *cg, const ward_resources_t *res, ward_error_t **err)
{
  _cleanup_bus_ void *bus = NULL;
  _cleanup_msg_ void *m = NULL, *reply = NULL;
  _cleanup_buserr_ sdb_error_t e = { 0 };
  int ret;

  if (!ward_cgroup_systemd_available ())
    return 0;
  ret = bus_open (&bus, err);
  if (ret < 0)
    return ret;
  ret = sdb.new_method_call (bus, &m, SD_DEST, SD_PATH, SD_IFACE, "SetUnitProperties");
  if (ret >= 0)
    ret = sdb.append (m, "sb", cg->systemd_unit, 1);
  if (ret >= 0)
    ret = sdb.open_container (m, 'a', "(sv)");
  if (ret >= 0)
    ret = add_resource_props (m, cg->mode == WARD_CGROUP_MODE_V2, res);
  if (ret >= 0)
    ret = sdb.close_container (m);
  if (ret < 0)
    return ward_error_set (err, -ret, "systemd cgroup driver: build SetUnitProperties(%s)",
                           cg->systemd_unit);
  ret = sdb.call (bus, m, 30ULL * 1000000, &e, &reply);
  if (ret < 0)
    return ward_error_set_ret (err, ret, 0, "systemd cgroup driver: set properties of %s: %s",
                               cg->systemd_unit, e.message ? e.message : strerror (-ret));
  return 0;
}
