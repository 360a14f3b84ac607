/* Container records: ids, names, the docker-inspect-shaped JSON on disk,
 * locking, look-ups, and the pure helpers `ward ps` and `ward logs` need. */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "runtime/manager/manager.h"

/* ---- ids and names ------------------------------------------------------ */

void ward_mgr_id_new (char out[65])
{
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof b)
    {
      ssize_t n = getrandom (b + got, sizeof b - got, 0);
      if (n > 0)
        got += (size_t) n;
    }
  for (size_t i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", b[i]);
  out[64] = '\0';
}

bool ward_mgr_name_valid (const char *name)
{
  if (name && name[0] == '/')
    name++;
  if (!name || !isalnum ((unsigned char) name[0]) || name[1] == '\0')
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return strlen (name) < 256;
}

char *ward_mgr_name_generate (const char *id)
{
  static const char *const adj[] = { "brave", "calm", "eager", "fancy", "gentle", "happy",
                                     "jolly", "keen", "lucid", "merry", "nifty", "proud",
                                     "quirky", "silly", "tender", "witty" };
  static const char *const noun[] = { "turing", "hopper", "lovelace", "ritchie", "thompson",
                                      "torvalds", "knuth", "dijkstra", "hamilton", "liskov",
                                      "wozniak", "babbage", "curie", "noether", "shannon",
                                      "mccarthy" };
  unsigned a = (unsigned) strtoul ((char[]){ id[0], 0 }, NULL, 16);
  unsigned b = (unsigned) strtoul ((char[]){ id[1], 0 }, NULL, 16);
  return xasprintf ("%s_%s_%.4s", adj[a % 16], noun[b % 16], id + 2);
}

/* ---- restart policy ----------------------------------------------------- */

int ward_mgr_restart_parse (const char *s, char **name, int *max_retry, ward_error_t **err)
{
  const char *colon;
  *max_retry = 0;
  if (s == NULL || *s == '\0' || strcmp (s, "no") == 0)
    {
      *name = xstrdup ("no");
      return 0;
    }
  colon = strchr (s, ':');
  if (colon)
    {
      unsigned long long n;
      if (strncmp (s, "on-failure:", 11) != 0 || ward_parse_u64 (colon + 1, &n) < 0 || n > 1000000)
        return ward_error_set_ret (err, -EINVAL, 0, "invalid restart policy format: %s", s);
      *max_retry = (int) n;
      *name = xstrdup ("on-failure");
      return 0;
    }
  if (strcmp (s, "always") == 0 || strcmp (s, "unless-stopped") == 0
      || strcmp (s, "on-failure") == 0)
    {
      *name = xstrdup (s);
      return 0;
    }
  return ward_error_set_ret (err, -EINVAL, 0, "invalid restart policy format: %s", s);
}

bool ward_mgr_restart_wanted (const char *policy, int max_retry, int restart_count, int exit_code,
                              bool manually_stopped)
{
  if (manually_stopped || policy == NULL)
    return false;
  if (strcmp (policy, "always") == 0 || strcmp (policy, "unless-stopped") == 0)
    return true;
  if (strcmp (policy, "on-failure") == 0)
    return exit_code != 0 && (max_retry == 0 || restart_count < max_retry);
  return false;
}

/* ---- time --------------------------------------------------------------- */

char *ward_mgr_time_format (const struct timespec *ts)
{
  struct tm tm;
  char buf[64];
  gmtime_r (&ts->tv_sec, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf ("%s.%09ldZ", buf, (long) ts->tv_nsec);
}

int ward_mgr_time_parse (const char *s, struct timespec *ts)
{
  struct tm tm = { 0 };
  const char *p;
  if (s == NULL)
    return -EINVAL;
  p = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL)
    return -EINVAL;
  ts->tv_sec = timegm (&tm);
  ts->tv_nsec = 0;
  if (*p == '.')
    {
      long ns = 0;
      int digits = 0;
      for (p++; isdigit ((unsigned char) *p); p++)
        if (digits < 9)
          {
            ns = ns * 10 + (*p - '0');
            digits++;
          }
      while (digits++ < 9)
        ns *= 10;
      ts->tv_nsec = ns;
    }
  return (*p == 'Z' || *p == '\0') ? 0 : -EINVAL;
}

/* docker's units.HumanDuration wording */
char *ward_mgr_human_duration (time_t s)
{
  if (s < 1)
    return xstrdup ("Less than a second");
  if (s == 1)
    return xstrdup ("1 second");
  if (s < 60)
    return xasprintf ("%ld seconds", (long) s);
  long m = (long) s / 60;
  if (m == 1)
    return xstrdup ("About a minute");
  if (m < 60)
    return xasprintf ("%ld minutes", m);
  long h = (long) (s / 3600 + ((s % 3600) >= 1800 ? 1 : 0));
  if (h == 1)
    return xstrdup ("About an hour");
  if (h < 48)
    return xasprintf ("%ld hours", h);
  if (h < 24 * 7 * 2)
    return xasprintf ("%ld days", h / 24);
  if (h < 24 * 30 * 2)
    return xasprintf ("%ld weeks", h / 24 / 7);
  if (h < 24 * 365 * 2)
    return xasprintf ("%ld months", h / 24 / 30);
  return xasprintf ("%ld years", h / 24 / 365);
}

/* ---- record field access ------------------------------------------------- */

static json_object *rec_get (json_object *rec, const char *path)
{
  char key[128];
  while (rec && path && *path)
    {
      const char *dot = strchr (path, '.');
      size_t n = dot ? (size_t) (dot - path) : strlen (path);
      if (n >= sizeof key)
        return NULL;
      memcpy (key, path, n);
      key[n] = '\0';
      if (!json_object_object_get_ex (rec, key, &rec))
        return NULL;
      path = dot ? dot + 1 : NULL;
    }
  return rec;
}

const char *ward_mgr_rec_str (json_object *rec, const char *path)
{
  json_object *v = rec_get (rec, path);
  return v && json_object_is_type (v, json_type_string) ? json_object_get_string (v) : NULL;
}

int64_t ward_mgr_rec_int (json_object *rec, const char *path)
{
  json_object *v = rec_get (rec, path);
  return v ? json_object_get_int64 (v) : 0;
}

bool ward_mgr_rec_bool (json_object *rec, const char *path)
{
  json_object *v = rec_get (rec, path);
  return v ? json_object_get_boolean (v) : false;
}

static time_t rec_time (json_object *rec, const char *path)
{
  struct timespec ts;
  if (ward_mgr_time_parse (ward_mgr_rec_str (rec, path), &ts) < 0)
    return 0;
  return ts.tv_sec;
}

char *ward_mgr_status_string (json_object *rec, time_t now)
{
  const char *st = ward_mgr_rec_str (rec, "State.Status");
  _cleanup_free_ char *d = NULL;
  if (st == NULL || strcmp (st, "created") == 0)
    return xstrdup ("Created");
  if (strcmp (st, "running") == 0)
    {
      d = ward_mgr_human_duration (now - rec_time (rec, "State.StartedAt"));
      return xasprintf ("Up %s", d);
    }
  if (strcmp (st, "paused") == 0)
    {
      d = ward_mgr_human_duration (now - rec_time (rec, "State.StartedAt"));
      return xasprintf ("Up %s (Paused)", d);
    }
  if (strcmp (st, "removing") == 0)
    return xstrdup ("Removal In Progress");
  if (strcmp (st, "dead") == 0)
    return xstrdup ("Dead");
  d = ward_mgr_human_duration (now - rec_time (rec, "State.FinishedAt"));
  if (strcmp (st, "restarting") == 0)
    return xasprintf ("Restarting (%d) %s ago", (int) ward_mgr_rec_int (rec, "State.ExitCode"), d);
  return xasprintf ("Exited (%d) %s ago", (int) ward_mgr_rec_int (rec, "State.ExitCode"), d);
}

int ward_mgr_filter_match (json_object *rec, const char *filter, bool *match, ward_error_t **err)
{
  const char *eq = strchr (filter, '=');
  _cleanup_free_ char *key = NULL;
  const char *val;

  if (eq == NULL)
    return ward_error_set_ret (err, -EINVAL, 0, "bad format of filter (expected name=value)");
  key = xstrndup (filter, (size_t) (eq - filter));
  val = eq + 1;
  if (strcmp (key, "id") == 0)
    {
      const char *id = ward_mgr_rec_str (rec, "Id");
      *match = id && strncmp (id, val, strlen (val)) == 0;
    }
  else if (strcmp (key, "name") == 0)
    {
      const char *n = ward_mgr_rec_str (rec, "Name");
      *match = n && strstr (n, val) != NULL;
    }
  else if (strcmp (key, "status") == 0)
    {
      const char *st = ward_mgr_rec_str (rec, "State.Status");
      static const char *const ok[] = { "created", "restarting", "running", "removing",
                                        "paused", "exited", "dead", NULL };
      bool known = false;
      for (const char *const *k = ok; *k; k++)
        known |= strcmp (*k, val) == 0;
      if (!known)
        return ward_error_set_ret (err, -EINVAL, 0, "invalid filter 'status=%s'", val);
      *match = st && strcmp (st, val) == 0;
    }
  else if (strcmp (key, "exited") == 0)
    {
      const char *st = ward_mgr_rec_str (rec, "State.Status");
      long long code;
      if (ward_parse_i64 (val, &code) < 0)
        return ward_error_set_ret (err, -EINVAL, 0, "invalid filter 'exited=%s'", val);
      *match = st && strcmp (st, "exited") == 0 && ward_mgr_rec_int (rec, "State.ExitCode") == code;
    }
  else if (strcmp (key, "label") == 0)
    {
      const char *leq = strchr (val, '=');
      _cleanup_free_ char *lk = leq ? xstrndup (val, (size_t) (leq - val)) : xstrdup (val);
      json_object *labels = rec_get (rec, "Config.Labels"), *v;
      *match = labels && json_object_object_get_ex (labels, lk, &v)
               && (!leq || strcmp (json_object_get_string (v), leq + 1) == 0);
    }
  else if (strcmp (key, "ancestor") == 0)
    {
      const char *img = ward_mgr_rec_str (rec, "Config.Image");
      const char *iid = ward_mgr_rec_str (rec, "Image");
      *match = (img && strcmp (img, val) == 0)
               || (iid && strncmp (iid, val, strlen (val)) == 0 && strlen (val) >= 4);
    }
  else if (strcmp (key, "volume") == 0)
    {
      /* docker: a volume name or a mount destination */
      json_object *mounts = rec_get (rec, "Mounts");
      *match = false;
      for (size_t i = 0; mounts && json_object_is_type (mounts, json_type_array)
                         && i < json_object_array_length (mounts) && !*match;
           i++)
        {
          json_object *mt = json_object_array_get_idx (mounts, i);
          const char *nm = ward_mgr_rec_str (mt, "Name"), *dst = ward_mgr_rec_str (mt, "Destination");
          *match = (nm && strcmp (nm, val) == 0) || (dst && strcmp (dst, val) == 0);
        }
    }
  else
    return ward_error_set_ret (err, -EINVAL, 0, "invalid filter '%s'", key);
  return 0;
}

/* ---- json-file log ------------------------------------------------------ */

char *ward_mgr_log_line (const char *stream, const char *data, size_t len,
                         const struct timespec *ts)
{
  ward_strbuf_t b = { 0 };
  _cleanup_free_ char *t = ward_mgr_time_format (ts);
  ward_strbuf_puts (&b, "{\"log\":\"");
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) data[i];
      switch (c)
        {
        case '"': ward_strbuf_puts (&b, "\\\""); break;
        case '\\': ward_strbuf_puts (&b, "\\\\"); break;
        case '\n': ward_strbuf_puts (&b, "\\n"); break;
        case '\r': ward_strbuf_puts (&b, "\\r"); break;
        case '\t': ward_strbuf_puts (&b, "\\t"); break;
        /* Go's encoder escapes these for HTML safety; docker's logs carry them so. */
        case '<': ward_strbuf_puts (&b, "\\u003c"); break;
        case '>': ward_strbuf_puts (&b, "\\u003e"); break;
        case '&': ward_strbuf_puts (&b, "\\u0026"); break;
        default:
          if (c < 0x20)
            ward_strbuf_printf (&b, "\\u%04x", c);
          else
            ward_strbuf_add (&b, (const char *) &data[i], 1);
        }
    }
  ward_strbuf_printf (&b, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, t);
  return ward_strbuf_take (&b);
}

/* ---- manager root and records ------------------------------------------ */

int ward_mgr_open (const char *root, ward_mgr_t **out, ward_error_t **err)
{
  ward_mgr_t *m;
  int ret;
  if (root == NULL)
    root = WARD_MGR_DEFAULT_ROOT;
  m = xzalloc (sizeof *m);
  /* the detached monitor runs in "/": a relative --root must not move */
  if (root[0] != '/')
    {
      char cwd[4096];
      if (getcwd (cwd, sizeof cwd) == NULL)
        {
          free (m);
          return ward_error_set (err, errno, "getcwd");
        }
      m->root = xasprintf ("%s/%s", cwd, root);
    }
  else
    m->root = xstrdup (root);
  root = m->root;
  m->cdir = xasprintf ("%s/containers", root);
  m->rt_root = xasprintf ("%s/runtime", root);
  ret = ward_mkdir_p (m->cdir, 0700, err);
  if (ret == 0)
    ret = ward_mkdir_p (m->rt_root, 0700, err);
  if (ret < 0)
    {
      ward_mgr_close (m);
      return ret;
    }
  *out = m;
  return 0;
}

void ward_mgr_close (ward_mgr_t *m)
{
  free (m->root);
  free (m->cdir);
  free (m->rt_root);
  free (m);
}

static bool is_hex64 (const char *s)
{
  size_t n = 0;
  for (; s[n]; n++)
    if (!isxdigit ((unsigned char) s[n]) || isupper ((unsigned char) s[n]))
      return false;
  return n == 64;
}

int ward_mgr_lock_file (const char *path, int *fd, ward_error_t **err)
{
  int l = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (l < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  while (flock (l, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int e = errno;
        close (l);
        return ward_error_set (err, e, "lock '%s'", path);
      }
  *fd = l;
  return 0;
}

int ward_mgr_lock (ward_mgr_t *m, const char *id, int *lockfd, ward_error_t **err)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s/.lock", m->cdir, id);
  return ward_mgr_lock_file (p, lockfd, err);
}

int ward_mgr_record_update (ward_mgr_t *m, const char *id, ward_mgr_record_fn fn, void *data,
                            ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_json_ json_object *rec = NULL;
  int ret = ward_mgr_lock (m, id, &lock, err);
  if (ret < 0)
    return ret;
  ret = ward_mgr_record_read (m, id, &rec, err);
  if (ret < 0)
    return ret;
  fn (rec, data);
  return ward_mgr_record_write (m, id, rec, err);
}

int ward_mgr_record_read (ward_mgr_t *m, const char *id, json_object **rec, ward_error_t **err)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s/config.v2.json", m->cdir, id);
  _cleanup_free_ char *data = NULL;
  json_object *o;
  int ret = ward_read_file_at (AT_FDCWD, p, &data, NULL, 0, err);
  if (ret < 0)
    return ret;
  o = json_tokener_parse (data);
  if (o == NULL || !json_object_is_type (o, json_type_object))
    {
      json_object_put (o);
      return ward_error_set_ret (err, -EINVAL, 0, "'%s': invalid JSON", p);
    }
  *rec = o;
  return 0;
}

int ward_mgr_record_write (ward_mgr_t *m, const char *id, json_object *rec, ward_error_t **err)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", m->cdir, id);
  _cleanup_close_ int dfd = open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const char *text;
  if (dfd < 0)
    return ward_error_set (err, errno, "open '%s'", p);
  text = json_object_to_json_string_ext (rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  return ward_write_file_atomic (dfd, "config.v2.json", text, strlen (text), 0600, err);
}

static int cmp_created (const void *a, const void *b)
{
  json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
  const char *cx = ward_mgr_rec_str (x, "Created"), *cy = ward_mgr_rec_str (y, "Created");
  return strcmp (cy ? cy : "", cx ? cx : "");
}

int ward_mgr_list (ward_mgr_t *m, json_object ***recs, size_t *n, ward_error_t **err)
{
  _cleanup_closedir_ DIR *d = opendir (m->cdir);
  json_object **out = NULL;
  size_t len = 0;
  struct dirent *de;

  if (d == NULL)
    return ward_error_set (err, errno, "open '%s'", m->cdir);
  while ((de = readdir (d)))
    {
      json_object *rec = NULL;
      ward_error_t *e = NULL;
      if (!is_hex64 (de->d_name))
        continue;
      if (ward_mgr_record_refresh (m, de->d_name, &rec, &e) < 0)
        {
          /* a snapshot whose record is not written yet (or gone) */
          ward_error_free (&e);
          continue;
        }
      out = xrealloc (out, (len + 1) * sizeof *out);
      out[len++] = rec;
    }
  if (len)
    qsort (out, len, sizeof *out, cmp_created);
  *recs = out;
  *n = len;
  return 0;
}

void ward_mgr_records_free (json_object **recs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    json_object_put (recs[i]);
  free (recs);
}

int ward_mgr_lookup (ward_mgr_t *m, const char *ref, char **id, ward_error_t **err)
{
  _cleanup_closedir_ DIR *d = NULL;
  _cleanup_free_ char *found = NULL;
  struct dirent *de;
  const char *name = ref && ref[0] == '/' ? ref + 1 : ref;
  bool ambiguous = false;

  if (ref == NULL || *ref == '\0')
    return ward_error_set_ret (err, -ENOENT, 0, "No such container: %s", ref ? ref : "");
  if (is_hex64 (ref))
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s/config.v2.json", m->cdir, ref);
      if (access (p, F_OK) == 0)
        {
          *id = xstrdup (ref);
          return 0;
        }
    }
  d = opendir (m->cdir);
  if (d == NULL)
    return ward_error_set (err, errno, "open '%s'", m->cdir);
  /* docker: an exact name wins over an id prefix */
  while ((de = readdir (d)))
    {
      _cleanup_json_ json_object *rec = NULL;
      ward_error_t *e = NULL;
      const char *rn;
      if (!is_hex64 (de->d_name))
        continue;
      if (ward_mgr_record_read (m, de->d_name, &rec, &e) < 0)
        {
          ward_error_free (&e);
          continue;
        }
      rn = ward_mgr_rec_str (rec, "Name");
      if (rn && strcmp (rn[0] == '/' ? rn + 1 : rn, name) == 0)
        {
          *id = xstrdup (de->d_name);
          return 0;
        }
      if (strncmp (de->d_name, ref, strlen (ref)) == 0)
        {
          if (found)
            ambiguous = true;
          else
            found = xstrdup (de->d_name);
        }
    }
  if (ambiguous)
    return ward_error_set_ret (err, -EINVAL, 0, "multiple IDs found with provided prefix: %s", ref);
  if (found)
    {
      *id = TAKE_PTR (found);
      return 0;
    }
  return ward_error_set_ret (err, -ENOENT, 0, "No such container: %s", ref);
}

const char *ward_mgr_boot_id (void)
{
  static char id[64];
  if (id[0] == '\0')
    {
      _cleanup_free_ char *data = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_read_file_at (AT_FDCWD, "/proc/sys/kernel/random/boot_id", &data, NULL, 256, &e) == 0)
        snprintf (id, sizeof id, "%.*s", (int) strcspn (data, "\n"), data);
      else
        snprintf (id, sizeof id, "unknown");
    }
  return id;
}

bool ward_mgr_is_running (ward_mgr_t *m, json_object *rec)
{
  int64_t mon = ward_mgr_rec_int (rec, "State.MonitorPid");
  int64_t pid = ward_mgr_rec_int (rec, "State.Pid");
  const char *boot = ward_mgr_rec_str (rec, "State.BootId");
  (void) m;
  /* pids recorded before a reboot name other processes now */
  if (boot && strcmp (boot, ward_mgr_boot_id ()) != 0)
    return false;
  if (mon > 0 && (kill ((pid_t) mon, 0) == 0 || errno == EPERM))
    return true;
  return pid > 0 && (kill ((pid_t) pid, 0) == 0 || errno == EPERM);
}

int ward_mgr_record_refresh (ward_mgr_t *m, const char *id, json_object **rec, ward_error_t **err)
{
  json_object *r = NULL;
  const char *st;
  int ret = ward_mgr_record_read (m, id, &r, err);
  if (ret < 0)
    return ret;
  st = ward_mgr_rec_str (r, "State.Status");
  if (st && (strcmp (st, "running") == 0 || strcmp (st, "restarting") == 0
             || strcmp (st, "paused") == 0)
      && !ward_mgr_is_running (m, r))
    {
      /* the monitor died without recording the exit (killed, host reboot) */
      json_object *s;
      struct timespec now;
      _cleanup_free_ char *t = NULL;
      clock_gettime (CLOCK_REALTIME, &now);
      t = ward_mgr_time_format (&now);
      if (json_object_object_get_ex (r, "State", &s))
        {
          json_object_object_add (s, "Status", json_object_new_string ("exited"));
          json_object_object_add (s, "Running", json_object_new_boolean (0));
          json_object_object_add (s, "Restarting", json_object_new_boolean (0));
          json_object_object_add (s, "Pid", json_object_new_int (0));
          json_object_object_add (s, "MonitorPid", json_object_new_int (0));
          if (ward_mgr_rec_int (r, "State.ExitCode") == 0)
            json_object_object_add (s, "ExitCode", json_object_new_int (255));
          json_object_object_add (s, "FinishedAt", json_object_new_string (t));
        }
    }
  *rec = r;
  return 0;
}

int ward_mgr_exit_code_for_error (const ward_error_t *e)
{
  if (e && e->msg)
    {
      if (strstr (e->msg, "not found in $PATH") || strstr (e->msg, "no such file or directory")
          || strstr (e->msg, "No such file or directory"))
        return strstr (e->msg, "exec") || strstr (e->msg, "executable") ? 127 : 125;
      if (strstr (e->msg, "ermission denied") && strstr (e->msg, "exec"))
        return 126;
    }
  return 125;
}

int ward_mgr_rename (ward_mgr_t *m, const char *id, const char *new_name, ward_error_t **err)
{
  _cleanup_free_ char *lockpath = xasprintf ("%s/manager.lock", m->root);
  _cleanup_close_ int mlock = -1;
  _cleanup_close_ int lock = -1;
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *other = NULL;
  _cleanup_free_ char *slash = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  const char *name = new_name && new_name[0] == '/' ? new_name + 1 : new_name;
  const char *old;
  int ret;

  if (name == NULL || *name == '\0')
    return ward_error_set_ret (err, -EINVAL, 0, "Neither old nor new names may be empty");
  if (!ward_mgr_name_valid (name))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  /* the name allocation lock of create: no two containers get one name */
  mlock = open (lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (mlock < 0)
    return ward_error_set (err, errno, "open '%s'", lockpath);
  while (flock (mlock, LOCK_EX) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "lock '%s'", lockpath);
  ret = ward_mgr_lock (m, id, &lock, err);
  if (ret == 0)
    ret = ward_mgr_record_read (m, id, &rec, err);
  if (ret < 0)
    return ret;
  old = ward_mgr_rec_str (rec, "Name");
  if (old && strcmp (old[0] == '/' ? old + 1 : old, name) == 0)
    return ward_error_set_ret (err, -EINVAL, 0, "Renaming a container with the same name as its current name");
  if (ward_mgr_lookup (m, name, &other, &e) == 0 && strcmp (other, id) != 0)
    {
      _cleanup_json_ json_object *orec = NULL;
      _cleanup_error_ ward_error_t *e2 = NULL;
      const char *on = NULL;
      if (ward_mgr_record_read (m, other, &orec, &e2) == 0)
        on = ward_mgr_rec_str (orec, "Name");
      if (on && strcmp (on[0] == '/' ? on + 1 : on, name) == 0)
        return ward_error_set_ret (err, -EEXIST, 0,
                                   "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                                   name, other);
    }
  slash = xasprintf ("/%s", name);
  json_object_object_add (rec, "Name", json_object_new_string (slash));
  return ward_mgr_record_write (m, id, rec, err);
}
