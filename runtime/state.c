/* The state dir <root>/<id>: creation, locking, state.json, and the status
 * derived from the live system rather than stored. */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

#define STATE_FILE "state.json"

void ward_runtime_state_free (ward_runtime_state_t *st)
{
  if (!st)
    return;
  free (st->id);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  for (size_t i = 0; i < st->annotations_len; i++)
    {
      free (st->annotations[i].key);
      free (st->annotations[i].value);
    }
  free (st->annotations);
  free (st->cgroup);
  free (st);
}

int ward_runtime_root_open (const char *root, bool create, int *fd, ward_error_t **err)
{
  int ret;
  if (!root)
    root = WARD_RUNTIME_DEFAULT_ROOT;
  *fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd >= 0)
    return 0;
  if (errno != ENOENT || !create)
    return ward_error_set (err, errno, "open state root '%s'", root);
  /* The root holds every container's state: only root may list it. */
  ret = ward_mkdir_p (root, 0700, err);
  if (ret < 0)
    return ret;
  *fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    return ward_error_set (err, errno, "open state root '%s'", root);
  return 0;
}

static int lock_dir (int dirfd, ward_error_t **err)
{
  struct stat sb;
  while (flock (dirfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "lock container state dir");
  /* A delete that held the lock before us may have removed the dir. */
  if (fstat (dirfd, &sb) < 0)
    return ward_error_set (err, errno, "stat container state dir");
  if (sb.st_nlink == 0)
    return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
  return 0;
}

int ward_runtime_state_open (int rootfd, const char *id, int *dirfd, int *lockfd,
                             ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  int ret;

  if (!ward_container_id_valid (id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
      return ward_error_set (err, errno, "open state dir of '%s'", id);
    }
  if (lockfd)
    {
      /* The lock lives on its own open file description so that dirfd can
       * be handed around without carrying it. */
      _cleanup_close_ int lfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (lfd < 0)
        return ward_error_set (err, errno, "open state dir of '%s'", id);
      ret = lock_dir (lfd, err);
      if (ret < 0)
        return ret;
      *lockfd = TAKE_FD (lfd);
    }
  *dirfd = TAKE_FD (fd);
  return 0;
}

int ward_runtime_state_create_dir (int rootfd, const char *id, int *dirfd, int *lockfd,
                                   ward_error_t **err)
{
  if (!ward_container_id_valid (id))
    return ward_error_set_ret (err, -EINVAL, 0, "invalid container ID format");
  if (mkdirat (rootfd, id, 0711) < 0)
    {
      if (errno == EEXIST)
        return ward_error_set_ret (err, -EEXIST, 0, "container with given ID already exists");
      return ward_error_set (err, errno, "mkdir state dir '%s'", id);
    }
  _cleanup_close_ int fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return ward_error_set (err, errno, "open state dir '%s'", id);
  /* mkdir honours the umask; others need x to reach exec.fifo. */
  if (fchmod (fd, 0711) < 0)
    return ward_error_set (err, errno, "chmod state dir '%s'", id);
  _cleanup_close_ int lfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lfd < 0 || flock (lfd, LOCK_EX) < 0)
    return ward_error_set (err, errno, "lock state dir '%s'", id);
  *lockfd = TAKE_FD (lfd);
  *dirfd = TAKE_FD (fd);
  return 0;
}

int ward_runtime_state_remove (int rootfd, const char *id, ward_error_t **err)
{
  _cleanup_close_ int fd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  _cleanup_closedir_ DIR *d = NULL;
  struct dirent *de;

  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return ward_error_set (err, errno, "open state dir '%s'", id);
    }
  d = fdopendir (fd);
  if (!d)
    return ward_error_set (err, errno, "opendir state dir '%s'", id);
  fd = -1; /* owned by d now */
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (unlinkat (dirfd (d), de->d_name, 0) < 0 && errno != ENOENT)
        return ward_error_set (err, errno, "remove '%s/%s'", id, de->d_name);
    }
  if (unlinkat (rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return ward_error_set (err, errno, "remove state dir '%s'", id);
  return 0;
}

static void add_str (struct json_object *o, const char *k, const char *v)
{
  if (v)
    json_object_object_add (o, k, json_object_new_string (v));
}

int ward_runtime_state_write (int dirfd, const ward_runtime_state_t *st, ward_error_t **err)
{
  _cleanup_json_ struct json_object *o = json_object_new_object ();
  const char *text;
  size_t len;

  add_str (o, "id", st->id);
  json_object_object_add (o, "pid", json_object_new_int64 (st->pid));
  json_object_object_add (o, "start_time", json_object_new_uint64 (st->start_time));
  add_str (o, "bundle", st->bundle);
  add_str (o, "rootfs", st->rootfs);
  add_str (o, "created", st->created);
  json_object_object_add (o, "owner", json_object_new_int64 (st->owner));
  if (st->annotations_len)
    {
      struct json_object *a = json_object_new_object ();
      for (size_t i = 0; i < st->annotations_len; i++)
        json_object_object_add (a, st->annotations[i].key,
                                json_object_new_string (st->annotations[i].value));
      json_object_object_add (o, "annotations", a);
    }
  add_str (o, "cgroup", st->cgroup);
  json_object_object_add (o, "config_copy", json_object_new_boolean (st->config_copy));
  json_object_object_add (o, "systemd", json_object_new_boolean (st->systemd));
  json_object_object_add (o, "rootless", json_object_new_boolean (st->rootless));
  if (st->creating)
    json_object_object_add (o, "creating", json_object_new_boolean (true));
  text = json_object_to_json_string_length (o, JSON_C_TO_STRING_PLAIN
                                                   | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  return ward_write_file_atomic (dirfd, STATE_FILE, text, len, 0600, err);
}

static char *get_str (struct json_object *o, const char *k)
{
  struct json_object *v;
  if (!json_object_object_get_ex (o, k, &v) || !json_object_is_type (v, json_type_string))
    return NULL;
  return xstrdup (json_object_get_string (v));
}

static long long get_int (struct json_object *o, const char *k)
{
  struct json_object *v;
  if (!json_object_object_get_ex (o, k, &v))
    return 0;
  return json_object_get_int64 (v);
}

static bool get_bool (struct json_object *o, const char *k)
{
  struct json_object *v;
  return json_object_object_get_ex (o, k, &v) && json_object_get_boolean (v);
}

int ward_runtime_state_read (int dirfd, ward_runtime_state_t **out, ward_error_t **err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_json_ struct json_object *o = NULL;
  struct json_object *v;
  size_t len;
  int ret;

  ret = ward_read_file_at (dirfd, STATE_FILE, &text, &len, 0, err);
  if (ret < 0)
    {
      /* A dir without state.json is a create that has not finished (or
       * died): runc reports it as missing too. */
      if (ret == -ENOENT)
        {
          ward_error_free (err);
          return ward_error_set_ret (err, -ENOENT, 0, "container does not exist");
        }
      return ret;
    }
  o = json_tokener_parse (text);
  if (!o || !json_object_is_type (o, json_type_object))
    return ward_error_set_ret (err, -EINVAL, 0, "state.json: invalid JSON");

  ward_runtime_state_t *st = xzalloc (sizeof *st);
  st->id = get_str (o, "id");
  st->pid = (pid_t) get_int (o, "pid");
  if (json_object_object_get_ex (o, "start_time", &v))
    st->start_time = json_object_get_uint64 (v);
  st->bundle = get_str (o, "bundle");
  st->rootfs = get_str (o, "rootfs");
  st->created = get_str (o, "created");
  st->owner = (uid_t) get_int (o, "owner");
  if (json_object_object_get_ex (o, "annotations", &v) && json_object_is_type (v, json_type_object))
    {
      size_t n = (size_t) json_object_object_length (v), i = 0;
      st->annotations = xzalloc (sizeof (ward_kv_t) * (n ? n : 1));
      json_object_object_foreach (v, key, val)
        {
          if (i >= n)
            break;
          st->annotations[i].key = xstrdup (key);
          st->annotations[i].value = xstrdup (json_object_get_string (val));
          i++;
        }
      st->annotations_len = i;
    }
  st->cgroup = get_str (o, "cgroup");
  st->config_copy = get_bool (o, "config_copy");
  st->systemd = get_bool (o, "systemd");
  st->rootless = get_bool (o, "rootless");
  st->creating = get_bool (o, "creating");
  *out = st;
  return 0;
}

int ward_runtime_proc_start_time (pid_t pid, unsigned long long *start, bool *zombie)
{
  char path[64], buf[1024];
  _cleanup_close_ int fd = -1;
  ssize_t n;
  char *p;

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return n < 0 ? -errno : -EIO;
  buf[n] = '\0';
  /* comm may hold spaces and parens: the fields start after the last ')'. */
  p = strrchr (buf, ')');
  if (!p || p[1] != ' ')
    return -EIO;
  p += 2;
  if (zombie)
    *zombie = (*p == 'Z' || *p == 'X');
  /* p is at field 3 (state); starttime is field 22. */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (!p)
        return -EIO;
      p++;
    }
  *start = strtoull (p, NULL, 10);
  return 0;
}

bool ward_runtime_state_alive (const ward_runtime_state_t *st)
{
  unsigned long long start;
  bool zombie = false;

  if (st->pid <= 0)
    return false;
  if (ward_runtime_proc_start_time (st->pid, &start, &zombie) < 0)
    return false;
  /* A recycled pid has another start time; a zombie has finished. */
  return !zombie && start == st->start_time;
}

static bool is_frozen (const ward_runtime_state_t *st)
{
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  if (!st->cgroup || ward_cgroup_restore (st->cgroup, &cg, &err) < 0)
    return false;
  return ward_cgroup_is_frozen (cg, &err) == 1;
}

/* The creating process holds the lock for as long as it runs. */
static bool create_in_progress (int dirfd)
{
  _cleanup_close_ int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    return errno == EWOULDBLOCK;
  return false; /* the lock goes with fd */
}

const char *ward_runtime_state_status (int dirfd, const ward_runtime_state_t *st, bool lock_held)
{
  if (st->creating)
    return !lock_held && create_in_progress (dirfd) ? "creating" : "stopped";

  bool alive = ward_runtime_state_alive (st);
  bool fifo = alive && faccessat (dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  bool frozen = alive && is_frozen (st);
  return ward_container_status_name (alive, fifo, frozen);
}

char *ward_runtime_spec_state (const ward_runtime_state_t *st, const char *status)
{
  ward_state_t s = {
    .oci_version = (char *) WARD_OCI_VERSION,
    .id = st->id,
    .status = (char *) status,
    .pid = strcmp (status, "stopped") == 0 ? 0 : st->pid,
    .bundle = st->bundle,
    .annotations = st->annotations,
    .annotations_len = st->annotations_len,
  };
  /* Compact, as runc's json.Marshal gives hooks. */
  return ward_state_to_json_compact (&s);
}

char *ward_runtime_now_rfc3339 (void)
{
  struct timespec ts;
  struct tm tm;
  char date[32], frac[16];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (frac, sizeof frac, ".%09ld", ts.tv_nsec);
  /* Go's RFC3339Nano drops trailing zeros, and the dot with them. */
  for (size_t i = strlen (frac) - 1; i > 0 && frac[i] == '0'; i--)
    frac[i] = '\0';
  if (frac[1] == '\0')
    frac[0] = '\0';
  return xasprintf ("%s%sZ", date, frac);
}
