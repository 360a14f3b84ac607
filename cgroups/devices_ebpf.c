/* cgroup v2 device access control: v2 has no devices.allow/deny files, so
 * the rules become a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * container's cgroup.  Semantics as runc: the last matching rule wins, no
 * match denies. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/internal.h"
#include "common/cleanup.h"
#include "common/log.h"

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

enum
{
  R0 = 0,
  R1,
  R2,
  R3,
  R4,
  R5
};

static int bpf_call (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof *attr);
}

typedef struct
{
  struct bpf_insn *v;
  size_t n;
} prog_t;

static void emit (prog_t *p, struct bpf_insn i)
{
  p->v = xrealloc (p->v, (p->n + 1) * sizeof *p->v);
  p->v[p->n++] = i;
}

static int access_bits (const char *a)
{
  int bits = 0;
  if (a == NULL || *a == '\0')
    return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  for (; *a; a++)
    switch (*a)
      {
      case 'r': bits |= BPF_DEVCG_ACC_READ; break;
      case 'w': bits |= BPF_DEVCG_ACC_WRITE; break;
      case 'm': bits |= BPF_DEVCG_ACC_MKNOD; break;
      default: return -1;
      }
  return bits;
}

/* 0 for "a", BPF_DEVCG_DEV_* otherwise, -1 when invalid. */
static int type_bits (const char *t)
{
  if (t == NULL || strcmp (t, "a") == 0 || *t == '\0')
    return 0;
  if (strcmp (t, "c") == 0)
    return BPF_DEVCG_DEV_CHAR;
  if (strcmp (t, "b") == 0)
    return BPF_DEVCG_DEV_BLOCK;
  return -1;
}

/* Registers after the prologue: r2 = device type, r3 = requested access,
 * r4 = major, r5 = minor.  Rules are emitted last-first so the first match
 * in program order is the last rule in spec order. */
size_t ward_cg_devices_ebpf_build (const ward_device_cgroup_t *rules, size_t n, void **out)
{
  prog_t p = { 0 };
  const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  bool terminated = false;

  emit (&p, INSN (BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0));
  emit (&p, INSN (BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff));
  emit (&p, INSN (BPF_LDX | BPF_MEM | BPF_W, R3, R1, 0, 0));
  emit (&p, INSN (BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16));
  emit (&p, INSN (BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0));
  emit (&p, INSN (BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0));
  for (size_t k = n; k-- > 0 && !terminated;)
    {
      const ward_device_cgroup_t *r = &rules[k];
      int type = type_bits (r->type), acc = access_bits (r->access);
      bool wild_major = !r->has_major || r->major < 0, wild_minor = !r->has_minor || r->minor < 0;
      size_t start = p.n, jumps[4], nj = 0;

      if (type < 0 || acc < 0)
        continue; /* validated by the caller */
      if (type)
        {
          jumps[nj++] = p.n;
          emit (&p, INSN (BPF_JMP | BPF_JNE | BPF_K, R2, 0, 0, type));
        }
      if (acc != all)
        {
          /* Match only when every requested bit is granted by the rule. */
          emit (&p, INSN (BPF_ALU | BPF_MOV | BPF_X, R1, R3, 0, 0));
          emit (&p, INSN (BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, ~acc & all));
          jumps[nj++] = p.n;
          emit (&p, INSN (BPF_JMP | BPF_JNE | BPF_K, R1, 0, 0, 0));
        }
      if (!wild_major)
        {
          jumps[nj++] = p.n;
          emit (&p, INSN (BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int32_t) r->major));
        }
      if (!wild_minor)
        {
          jumps[nj++] = p.n;
          emit (&p, INSN (BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int32_t) r->minor));
        }
      emit (&p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, r->allow ? 1 : 0));
      emit (&p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
      for (size_t j = 0; j < nj; j++)
        p.v[jumps[j]].off = (int16_t) (p.n - jumps[j] - 1);
      /* A rule matching everything makes the earlier ones unreachable, and
       * the verifier rejects unreachable instructions. */
      terminated = nj == 0;
      (void) start;
    }
  if (!terminated)
    {
      emit (&p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0));
      emit (&p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
  *out = p.v;
  return p.n;
}

static int load_prog (const struct bpf_insn *insns, size_t n, ward_error_t **err)
{
  static char license[] = "GPL";
  union bpf_attr attr;
  int fd;

  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) insns;
  attr.insn_cnt = (uint32_t) n;
  attr.license = (uint64_t) (uintptr_t) license;
  fd = bpf_call (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  {
    /* Load again with the verifier log so that the error says why. */
    _cleanup_free_ char *log = xzalloc (16384);
    int saved = errno;
    attr.log_buf = (uint64_t) (uintptr_t) log;
    attr.log_size = 16384;
    attr.log_level = 1;
    fd = bpf_call (BPF_PROG_LOAD, &attr);
    if (fd >= 0)
      return fd;
    log[16383] = '\0';
    return ward_error_set (err, saved, "bpf(BPF_PROG_LOAD) device filter (%zu insns)%s%.300s", n,
                           *log ? ": " : "", log);
  }
}

/* Ids of the device programs attached to the cgroup now. */
static size_t query_attached (int cgfd, uint32_t *ids, size_t cap)
{
  union bpf_attr attr;
  memset (&attr, 0, sizeof attr);
  attr.query.target_fd = (uint32_t) cgfd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
  attr.query.prog_cnt = (uint32_t) cap;
  if (bpf_call (BPF_PROG_QUERY, &attr) < 0)
    return 0;
  return attr.query.prog_cnt < cap ? attr.query.prog_cnt : cap;
}

int ward_cg_devices_ebpf_apply (int dirfd, const ward_device_cgroup_t *rules, size_t n,
                                ward_error_t **err)
{
  _cleanup_free_ struct bpf_insn *insns = NULL;
  _cleanup_close_ int prog = -1;
  uint32_t old[64];
  size_t nold, ninsns;
  union bpf_attr attr;
  void *raw = NULL;

  for (size_t i = 0; i < n; i++)
    if (type_bits (rules[i].type) < 0 || access_bits (rules[i].access) < 0)
      return ward_error_set (err, 0, "devices[%zu]: invalid type '%s' or access '%s'", i,
                             rules[i].type ? rules[i].type : "",
                             rules[i].access ? rules[i].access : "");
  ninsns = ward_cg_devices_ebpf_build (rules, n, &raw);
  insns = raw;
  prog = load_prog (insns, ninsns, err);
  if (prog < 0)
    return prog;
  nold = query_attached (dirfd, old, ARRAY_SIZE (old));

  memset (&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t) dirfd;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf_call (BPF_PROG_ATTACH, &attr) < 0)
    return ward_error_set (err, errno, "bpf(BPF_PROG_ATTACH) device filter");

  /* The new filter is in place before the old ones go, so there is no
   * window without one (an update must never open every device). */
  for (size_t i = 0; i < nold; i++)
    {
      _cleanup_close_ int ofd = -1;
      memset (&attr, 0, sizeof attr);
      attr.prog_id = old[i];
      ofd = bpf_call (BPF_PROG_GET_FD_BY_ID, &attr);
      if (ofd < 0)
        {
          ward_debug ("cgroup: cannot open old device program %u: %s", old[i], strerror (errno));
          continue;
        }
      memset (&attr, 0, sizeof attr);
      attr.target_fd = (uint32_t) dirfd;
      attr.attach_bpf_fd = (uint32_t) ofd;
      attr.attach_type = BPF_CGROUP_DEVICE;
      if (bpf_call (BPF_PROG_DETACH, &attr) < 0)
        ward_debug ("cgroup: cannot detach old device program %u: %s", old[i], strerror (errno));
    }
  return 0;
}

#define DEV_RULE(t, ma, mi, acc)                                                                   \
  {                                                                                                \
    .allow = true, .type = (char *) (t), .has_major = true, .major = (ma), .has_minor = true,    \
    .minor = (mi), .access = (char *) (acc)                                                        \
  }

const ward_device_cgroup_t *ward_cgroup_default_devices (size_t *n)
{
  static const ward_device_cgroup_t defaults[] = {
    DEV_RULE ("c", -1, -1, "m"),   DEV_RULE ("b", -1, -1, "m"),
    DEV_RULE ("c", 1, 3, "rwm"),   /* null */
    DEV_RULE ("c", 1, 8, "rwm"),   /* random */
    DEV_RULE ("c", 1, 7, "rwm"),   /* full */
    DEV_RULE ("c", 5, 0, "rwm"),   /* tty */
    DEV_RULE ("c", 5, 1, "rwm"),   /* console */
    DEV_RULE ("c", 1, 5, "rwm"),   /* zero */
    DEV_RULE ("c", 1, 9, "rwm"),   /* urandom */
    DEV_RULE ("c", 136, -1, "rwm"), /* pts/N */
    DEV_RULE ("c", 5, 2, "rwm"),   /* ptmx */
    DEV_RULE ("c", 10, 200, "rwm"), /* net/tun */
  };
  *n = ARRAY_SIZE (defaults);
  return defaults;
}
