/* linux.seccomp with libseccomp: the OCI section becomes a libseccomp
 * filter, which is exported as BPF, cached by the section's canonical JSON
 * and loaded with seccomp(2) directly (one load path for cache hits and
 * misses, and the notify fd comes straight from the kernel). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "common/sha256.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static void ctx_releasep (scmp_filter_ctx *c)
{
  if (*c)
    seccomp_release (*c);
}
#define _cleanup_ctx_ __attribute__ ((cleanup (ctx_releasep)))

/* ---- translation ------------------------------------------------------- */

static int to_scmp_action (uint32_t action, bool has_errno, uint32_t errno_ret, uint32_t *out)
{
  uint32_t e = has_errno ? errno_ret : EPERM;

  switch (action)
    {
    case WARD_SECCOMP_ACT_KILL: *out = SCMP_ACT_KILL; return 0;
    case WARD_SECCOMP_ACT_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; return 0;
    case WARD_SECCOMP_ACT_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; return 0;
    case WARD_SECCOMP_ACT_TRAP: *out = SCMP_ACT_TRAP; return 0;
    case WARD_SECCOMP_ACT_ERRNO: *out = SCMP_ACT_ERRNO (e); return 0;
    case WARD_SECCOMP_ACT_TRACE: *out = SCMP_ACT_TRACE (e); return 0;
    case WARD_SECCOMP_ACT_ALLOW: *out = SCMP_ACT_ALLOW; return 0;
    case WARD_SECCOMP_ACT_LOG: *out = SCMP_ACT_LOG; return 0;
    case WARD_SECCOMP_ACT_NOTIFY: *out = SCMP_ACT_NOTIFY; return 0;
    }
  return -EINVAL;
}

static int to_scmp_op (int op, enum scmp_compare *out)
{
  switch (op)
    {
    case WARD_SECCOMP_OP_NE: *out = SCMP_CMP_NE; return 0;
    case WARD_SECCOMP_OP_LT: *out = SCMP_CMP_LT; return 0;
    case WARD_SECCOMP_OP_LE: *out = SCMP_CMP_LE; return 0;
    case WARD_SECCOMP_OP_EQ: *out = SCMP_CMP_EQ; return 0;
    case WARD_SECCOMP_OP_GE: *out = SCMP_CMP_GE; return 0;
    case WARD_SECCOMP_OP_GT: *out = SCMP_CMP_GT; return 0;
    case WARD_SECCOMP_OP_MASKED_EQ: *out = SCMP_CMP_MASKED_EQ; return 0;
    }
  return -EINVAL;
}

static const struct
{
  const char *name;
  unsigned int flag;
} filter_flags[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

static int parse_flags (const ward_seccomp_t *s, unsigned int *out, ward_error_t **err)
{
  *out = 0;
  for (size_t i = 0; i < s->flags_len; i++)
    {
      size_t j;
      for (j = 0; j < ARRAY_SIZE (filter_flags); j++)
        if (strcmp (s->flags[i], filter_flags[j].name) == 0)
          break;
      if (j == ARRAY_SIZE (filter_flags))
        return ward_error_set (err, 0, "linux.seccomp.flags: unknown flag '%s'", s->flags[i]);
      *out |= filter_flags[j].flag;
    }
  return 0;
}

bool ward_seccomp_uses_notify (const ward_seccomp_t *s)
{
  if (s->default_action_value == WARD_SECCOMP_ACT_NOTIFY)
    return true;
  for (size_t i = 0; i < s->syscalls_len; i++)
    if (s->syscalls[i].action_value == WARD_SECCOMP_ACT_NOTIFY)
      return true;
  return false;
}

/* "SCMP_ARCH_X86_64" -> "x86_64", libseccomp's spelling. */
static int add_arch (scmp_filter_ctx ctx, const char *name, ward_error_t **err)
{
  char lower[64];
  uint32_t token;
  size_t i;
  int rc;

  if (strncmp (name, "SCMP_ARCH_", 10) != 0 || strlen (name + 10) >= sizeof lower)
    return ward_error_set (err, 0, "linux.seccomp.architectures: unknown architecture '%s'", name);
  for (i = 0; name[10 + i]; i++)
    lower[i] = (char) (name[10 + i] >= 'A' && name[10 + i] <= 'Z' ? name[10 + i] + 32
                                                                  : name[10 + i]);
  lower[i] = '\0';
  token = seccomp_arch_resolve_name (lower);
  if (token == 0)
    return ward_error_set (err, 0, "linux.seccomp.architectures: unknown architecture '%s'", name);
  rc = seccomp_arch_add (ctx, token);
  if (rc < 0 && rc != -EEXIST)
    return ward_error_set (err, -rc, "seccomp_arch_add %s", name);
  return 0;
}

static int add_rule (scmp_filter_ctx ctx, uint32_t action, const char *name,
                     const ward_seccomp_syscall_t *sc, ward_error_t **err)
{
  struct scmp_arg_cmp conds[6];
  bool distinct = true;
  int nr = seccomp_syscall_resolve_name (name);
  int rc;

  if (nr == __NR_SCMP_ERROR)
    {
      ward_debug ("seccomp: syscall '%s' unknown to this libseccomp, skipped", name);
      return 0;
    }
  if (sc->args_len > 6)
    return ward_error_set (err, 0, "seccomp rule for '%s': more than 6 args", name);
  for (size_t i = 0; i < sc->args_len; i++)
    {
      const ward_seccomp_arg_t *a = &sc->args[i];
      enum scmp_compare op;

      if (a->index > 5 || to_scmp_op (a->op_value, &op) < 0)
        return ward_error_set (err, 0, "seccomp rule for '%s': invalid arg %zu (index %u, op %s)",
                               name, i, a->index, a->op ? a->op : "?");
      conds[i] = (struct scmp_arg_cmp) { .arg = a->index, .op = op,
                                         .datum_a = a->value, .datum_b = a->value_two };
      for (size_t j = 0; j < i; j++)
        if (sc->args[j].index == a->index)
          distinct = false;
    }
  /* As runc: conditions on distinct arguments are ANDed in one rule;
   * several conditions on the same argument become one rule each (ORed),
   * which libseccomp cannot express as a single rule. */
  if (distinct)
    {
      rc = seccomp_rule_add_array (ctx, action, nr, (unsigned) sc->args_len,
                                   sc->args_len ? conds : NULL);
      if (rc < 0)
        return ward_error_set (err, -rc, "add seccomp rule for '%s'", name);
      return 0;
    }
  for (size_t i = 0; i < sc->args_len; i++)
    {
      rc = seccomp_rule_add_array (ctx, action, nr, 1, &conds[i]);
      if (rc < 0)
        return ward_error_set (err, -rc, "add seccomp rule for '%s'", name);
    }
  return 0;
}

static int export_bpf (scmp_filter_ctx ctx, ward_seccomp_prog_t *p, ward_error_t **err)
{
  _cleanup_close_ int fd = memfd_create ("ward-seccomp-bpf", MFD_CLOEXEC);
  struct stat st;
  int rc;

  if (fd < 0)
    return ward_error_set (err, errno, "memfd_create");
  rc = seccomp_export_bpf (ctx, fd);
  if (rc < 0)
    return ward_error_set (err, -rc, "seccomp_export_bpf");
  if (fstat (fd, &st) < 0)
    return ward_error_set (err, errno, "fstat seccomp bpf");
  if (st.st_size == 0 || st.st_size % sizeof (struct sock_filter) != 0)
    return ward_error_set (err, 0, "seccomp_export_bpf: unexpected size %lld",
                           (long long) st.st_size);
  p->insns = xmalloc ((size_t) st.st_size);
  p->insns_len = (size_t) st.st_size / sizeof (struct sock_filter);
  if (pread (fd, p->insns, (size_t) st.st_size, 0) != st.st_size)
    return ward_error_set (err, errno ? errno : EIO, "read seccomp bpf");
  return 0;
}

/* runc's ENOSYS stub: with an ERRNO default, a syscall newer than every
 * syscall the profile names (unknown to whoever wrote it, or to this
 * libseccomp) fails with ENOSYS instead of the default errno, so libc falls
 * back to an older call (glibc treats EPERM from fchmodat2 or clone3 as
 * final).  Prepended to the exported program for x86_64 and, when the
 * filter covers it, i386; x32 numbers are left to the filter. */
static int max_listed_nr (const ward_seccomp_t *s, uint32_t arch)
{
  int max = -1;

  for (size_t i = 0; i < s->syscalls_len; i++)
    for (size_t j = 0; s->syscalls[i].names && j < s->syscalls[i].names_len; j++)
      {
        int nr = seccomp_syscall_resolve_name_arch (arch, s->syscalls[i].names[j]);
        if (nr != __NR_SCMP_ERROR && nr >= 0 && nr > max)
          max = nr;
      }
  return max;
}

static bool has_arch (const ward_seccomp_t *s, const char *name)
{
  for (size_t i = 0; i < s->architectures_len; i++)
    if (strcmp (s->architectures[i], name) == 0)
      return true;
  return false;
}

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eU
#endif
#ifndef AUDIT_ARCH_I386
#define AUDIT_ARCH_I386 0x40000003U
#endif
#define X32_SYSCALL_BIT 0x40000000U

static void add_enosys_stub (const ward_seccomp_t *s, ward_seccomp_prog_t *p)
{
  struct sock_filter stub[16];
  int max64, max32 = -1;
  size_t n = 0, cont, enosys;

  if (s->default_action_value != WARD_SECCOMP_ACT_ERRNO
      || seccomp_arch_native () != SCMP_ARCH_X86_64)
    return;
  max64 = max_listed_nr (s, SCMP_ARCH_X86_64);
  if (has_arch (s, "SCMP_ARCH_X86"))
    max32 = max_listed_nr (s, SCMP_ARCH_X86);
  if (max64 < 0)
    return;
  /* Layout: [0] ld arch; [1] jeq x86_64; [2] ld nr; [3] jge x32 bit -> cont;
   * [4] jgt max64 -> enosys / cont; (i386: [5] jeq i386; [6] ld nr;
   * [7] jgt max32); then ret ENOSYS; then the filter (cont). */
  enosys = max32 >= 0 ? 8 : 6;
  cont = enosys + 1;
  stub[n++] = (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 4);
  stub[n] = (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0,
                                           (unsigned char) (5 - n - 1));
  n++;
  stub[n++] = (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 0);
  stub[n] = (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT,
                                           (unsigned char) (cont - n - 1), 0);
  n++;
  stub[n] = (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, (uint32_t) max64,
                                           (unsigned char) (enosys - n - 1),
                                           (unsigned char) (cont - n - 1));
  n++;
  if (max32 >= 0)
    {
      stub[n] = (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0,
                                               (unsigned char) (cont - n - 1));
      n++;
      stub[n++] = (struct sock_filter) BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 0);
      stub[n] = (struct sock_filter) BPF_JUMP (BPF_JMP | BPF_JGT | BPF_K, (uint32_t) max32,
                                               (unsigned char) (enosys - n - 1),
                                               (unsigned char) (cont - n - 1));
      n++;
    }
  else
    /* Not x86_64 and no i386 branch: straight to the filter. */
    {
      stub[n] = (struct sock_filter) BPF_STMT (BPF_JMP | BPF_JA, (uint32_t) (cont - n - 1));
      n++;
    }
  stub[n++] = (struct sock_filter) BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
  if (p->insns_len + n > BPF_MAXINSNS)
    return;
  p->insns = xrealloc (p->insns, (p->insns_len + n) * sizeof (struct sock_filter));
  memmove (p->insns + n, p->insns, p->insns_len * sizeof (struct sock_filter));
  memcpy (p->insns, stub, n * sizeof (struct sock_filter));
  p->insns_len += n;
}

void ward_seccomp_prog_free (ward_seccomp_prog_t *p)
{
  if (p == NULL)
    return;
  free (p->insns);
  free (p->listener_path);
  free (p->listener_metadata);
  if (p->listener_fd >= 0)
    close (p->listener_fd);
  free (p);
}

static ward_seccomp_prog_t *prog_new (const ward_seccomp_t *s, ward_error_t **err)
{
  ward_seccomp_prog_t *p = xzalloc (sizeof *p);

  p->listener_fd = -1;
  if (parse_flags (s, &p->flags, err) < 0)
    {
      ward_seccomp_prog_free (p);
      return NULL;
    }
  p->notify = ward_seccomp_uses_notify (s);
  p->listener_path = xstrdup (s->listener_path);
  p->listener_metadata = xstrdup (s->listener_metadata);
  return p;
}

static int compile_into (const ward_seccomp_t *s, ward_seccomp_prog_t *p, ward_error_t **err)
{
  _cleanup_ctx_ scmp_filter_ctx ctx = NULL;
  uint32_t def;
  int ret;

  if (s->default_action_value == WARD_SECCOMP_ACT_NOTIFY)
    return ward_error_set (err, 0, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used "
                                   "as default action");
  if (to_scmp_action (s->default_action_value, s->has_default_errno_ret, s->default_errno_ret,
                      &def) < 0)
    return ward_error_set (err, 0, "linux.seccomp.defaultAction: unsupported action '%s'",
                           s->default_action ? s->default_action : "?");
  ctx = seccomp_init (def);
  if (ctx == NULL)
    return ward_error_set (err, EINVAL, "seccomp_init");
  /* No SCMP_FLTATR_CTL_OPTIMIZE=2: since 5.11 the kernel caches the verdict
   * of argument-free rules per syscall, so the binary tree measured no
   * faster here while growing the docker profile from 991 to 1237 insns. */
  for (size_t i = 0; i < s->architectures_len; i++)
    if ((ret = add_arch (ctx, s->architectures[i], err)) < 0)
      return ret;
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      const ward_seccomp_syscall_t *sc = &s->syscalls[i];
      uint32_t act;

      if (to_scmp_action (sc->action_value, sc->has_errno_ret, sc->errno_ret, &act) < 0)
        return ward_error_set (err, 0, "linux.seccomp.syscalls[%zu].action: unsupported '%s'", i,
                               sc->action ? sc->action : "?");
      /* libseccomp refuses rules that repeat the default action; runc
       * drops them, they change nothing. */
      if (act == def)
        continue;
      /* The notify fd leaves the container through sendmsg right after
       * the load: a NOTIFY on sendmsg would wait for an agent that has no
       * fd yet (runc refuses NOTIFY on write for the same reason). */
      if (sc->action_value == WARD_SECCOMP_ACT_NOTIFY)
        for (size_t j = 0; sc->names && j < sc->names_len && sc->names[j]; j++)
          if (strcmp (sc->names[j], "sendmsg") == 0)
            return ward_error_set (err, 0, "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot "
                                           "be used for the sendmsg syscall", i);
      for (size_t j = 0; sc->names && j < sc->names_len && sc->names[j]; j++)
        if ((ret = add_rule (ctx, act, sc->names[j], sc, err)) < 0)
          return ret;
    }
  if ((ret = export_bpf (ctx, p, err)) < 0)
    return ret;
  add_enosys_stub (s, p);
  return 0;
}

int ward_seccomp_compile (const ward_seccomp_t *s, ward_seccomp_prog_t **out, ward_error_t **err)
{
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *p = prog_new (s, err);
  int ret;

  if (p == NULL)
    return -EINVAL;
  if ((ret = compile_into (s, p, err)) < 0)
    return ret;
  *out = TAKE_PTR (p);
  return 0;
}

/* ---- cache ------------------------------------------------------------- */

static char *cache_key (const ward_seccomp_t *s)
{
  const struct scmp_version *v = seccomp_version ();
  _cleanup_free_ char *material = NULL;
  char hex[65];

  /* The BPF depends on the libseccomp release as well as on the section. */
  /* "bpf v2": bump when the generated program changes (the ENOSYS stub). */
  material = xasprintf ("%s\nlibseccomp %u.%u.%u bpf v2\n", s->canonical_json, v->major,
                        v->minor, v->micro);
  ward_sha256_hex (material, strlen (material), hex);
  return xstrdup (hex);
}

static bool cache_read (const char *dir, const char *key, ward_seccomp_prog_t *p)
{
  _cleanup_close_ int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int fd = -1;
  struct stat st;

  if (dfd < 0)
    return false;
  fd = openat (dfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0)
    return false;
  /* The cache feeds the kernel a filter: accept only our own, unshared files. */
  if (!S_ISREG (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 022)
      || st.st_size == 0 || st.st_size % sizeof (struct sock_filter) != 0
      || st.st_size > BPF_MAXINSNS * (off_t) sizeof (struct sock_filter))
    return false;
  p->insns = xmalloc ((size_t) st.st_size);
  if (ward_read_all (fd, p->insns, (size_t) st.st_size) != st.st_size)
    {
      free (p->insns);
      p->insns = NULL;
      return false;
    }
  p->insns_len = (size_t) st.st_size / sizeof (struct sock_filter);
  return true;
}

static void cache_write (const char *dir, const char *key, const ward_seccomp_prog_t *p)
{
  ward_error_t *e = NULL;
  _cleanup_close_ int dfd = -1;

  if (ward_mkdir_p (dir, 0700, &e) == 0
      && (dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0)
    ward_write_file_atomic (dfd, key, (const char *) p->insns,
                            p->insns_len * sizeof (struct sock_filter), 0600, &e);
  else if (e == NULL)
    ward_error_set (&e, errno, "open '%s'", dir);
  if (e)
    ward_debug ("seccomp cache: %s", e->msg);
  ward_error_free (&e);
}

int ward_seccomp_prepare (const ward_seccomp_t *s, const char *cache_dir,
                          ward_seccomp_prog_t **out, ward_error_t **err)
{
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *p = prog_new (s, err);
  _cleanup_free_ char *key = NULL;
  int ret;

  if (p == NULL)
    return -EINVAL;
  if (cache_dir == NULL)
    cache_dir = WARD_SECCOMP_CACHE_DIR;
  if (cache_dir[0] && s->canonical_json)
    {
      key = cache_key (s);
      if (cache_read (cache_dir, key, p))
        {
          p->from_cache = true;
          *out = TAKE_PTR (p);
          return 0;
        }
    }
  if ((ret = compile_into (s, p, err)) < 0)
    return ret;
  if (key)
    cache_write (cache_dir, key, p);
  *out = TAKE_PTR (p);
  return 0;
}

/* ---- listener ---------------------------------------------------------- */

char *ward_seccomp_process_state_json (pid_t pid, const char *metadata, const char *state_json)
{
  _cleanup_json_ struct json_object *o = json_object_new_object ();
  struct json_object *fds = json_object_new_array ();
  struct json_object *state = state_json ? json_tokener_parse (state_json) : NULL;

  json_object_object_add (o, "ociVersion", json_object_new_string (WARD_OCI_VERSION));
  json_object_array_add (fds, json_object_new_string ("seccompFd"));
  json_object_object_add (o, "fds", fds);
  json_object_object_add (o, "pid", json_object_new_int64 (pid));
  if (metadata)
    json_object_object_add (o, "metadata", json_object_new_string (metadata));
  json_object_object_add (o, "state", state ? state : json_object_new_object ());
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
}

int ward_seccomp_send_listener (const char *listener_path, int notify_fd, pid_t pid,
                                const char *metadata, const char *state_json,
                                ward_error_t **err)
{
  _cleanup_free_ char *msg = ward_seccomp_process_state_json (pid, metadata, state_json);
  int ret = ward_process_send_fd_to_path (listener_path, notify_fd, msg, strlen (msg), err);

  if (ret < 0)
    return ward_error_wrap (err, "seccomp listenerPath");
  return 0;
}

int ward_seccomp_prog_connect_listener (ward_seccomp_prog_t *p, ward_error_t **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_close_ int fd = -1;

  if (!p->notify || p->listener_path == NULL || p->listener_fd >= 0)
    return 0;
  if (strlen (p->listener_path) >= sizeof addr.sun_path)
    return ward_error_set (err, ENAMETOOLONG, "seccomp listenerPath '%s'", p->listener_path);
  memcpy (addr.sun_path, p->listener_path, strlen (p->listener_path) + 1);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ward_error_set (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return ward_error_set (err, errno, "connect seccomp listenerPath '%s'", p->listener_path);
  p->listener_fd = TAKE_FD (fd);
  return 0;
}

/* The container's host pid from the state, when the runtime put it there. */
static pid_t state_pid (const char *state_json)
{
  _cleanup_json_ struct json_object *o = state_json ? json_tokener_parse (state_json) : NULL;
  struct json_object *v;

  if (o && json_object_object_get_ex (o, "pid", &v) && json_object_is_type (v, json_type_int)
      && json_object_get_int64 (v) > 0)
    return (pid_t) json_object_get_int64 (v);
  return getpid ();
}

/* ---- load -------------------------------------------------------------- */

int ward_seccomp_load (const ward_seccomp_prog_t *p, const char *state_json, int *notify_fd,
                       ward_error_t **err)
{
  struct sock_fprog prog = { .len = (unsigned short) p->insns_len, .filter = p->insns };
  unsigned int flags = p->flags;
  long ret;

  if (p->insns_len == 0 || p->insns_len > BPF_MAXINSNS)
    return ward_error_set (err, 0, "seccomp filter has %zu instructions", p->insns_len);
  /* WAIT_KILLABLE_RECV only qualifies a listener; without one the kernel
   * rejects it with EINVAL, so it is dropped. */
  if (!p->notify && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
    {
      ward_debug ("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored without SCMP_ACT_NOTIFY");
      flags &= ~(unsigned int) SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
  if (p->notify)
    {
      flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      /* The kernel refuses TSYNC with a listener unless TSYNC_ESRCH says
       * how a failed sync is reported (it cannot return a tid and an fd). */
      if (flags & SECCOMP_FILTER_FLAG_TSYNC)
        flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
  ret = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (ret < 0)
    {
      if (errno == EACCES)
        return ward_error_set (err, errno, "load seccomp filter (needs noNewPrivileges or "
                                           "CAP_SYS_ADMIN)");
      return ward_error_set (err, errno, "load seccomp filter");
    }
  if (!p->notify)
    return 0;
  if (notify_fd)
    {
      *notify_fd = (int) ret;
      return 0;
    }
  {
    _cleanup_close_ int fd = (int) ret;
    pid_t pid = state_pid (state_json);

    if (p->listener_fd >= 0)
      {
        _cleanup_free_ char *msg = ward_seccomp_process_state_json (pid, p->listener_metadata,
                                                                    state_json);
        if (ward_process_send_fd (p->listener_fd, fd, msg, strlen (msg), err) < 0)
          return ward_error_wrap (err, "seccomp listenerPath '%s'", p->listener_path);
        return 0;
      }
    if (p->listener_path == NULL)
      return ward_error_set (err, 0, "seccomp: SCMP_ACT_NOTIFY used without listenerPath");
    return ward_seccomp_send_listener (p->listener_path, fd, pid, p->listener_metadata,
                                       state_json, err);
  }
}

int ward_seccomp_apply (const ward_seccomp_t *s, const char *state_json, ward_error_t **err)
{
  _cleanup_seccomp_prog_ ward_seccomp_prog_t *p = NULL;
  int ret;

  if (ward_seccomp_uses_notify (s) && s->listener_path == NULL)
    return ward_error_set (err, 0, "seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
  /* No cache here: this may run inside the container's root, where the
   * cache directory would be the container's own /run. */
  ret = ward_seccomp_prepare (s, "", &p, err);
  if (ret < 0)
    return ret;
  return ward_seccomp_load (p, state_json, NULL, err);
}
