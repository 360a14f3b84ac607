/* Name tables: namespaces, capabilities, signals, rlimits, seccomp,
 * scheduler and I/O priority names.  Static tables rather than libcap or
 * libseccomp: specs/ links nothing but json-c. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static const char *const ns_names[WARD_NS__COUNT] = {
  [WARD_NS_PID] = "pid",     [WARD_NS_NETWORK] = "network", [WARD_NS_MOUNT] = "mount",
  [WARD_NS_IPC] = "ipc",     [WARD_NS_UTS] = "uts",         [WARD_NS_USER] = "user",
  [WARD_NS_CGROUP] = "cgroup", [WARD_NS_TIME] = "time",
};

const char *ward_ns_type_name (ward_ns_type_t type)
{
  if ((unsigned) type >= WARD_NS__COUNT)
    return NULL;
  return ns_names[type];
}

int ward_specs_ns_type_parse (const char *name, ward_ns_type_t *type)
{
  for (int i = 0; i < WARD_NS__COUNT; i++)
    if (strcmp (name, ns_names[i]) == 0)
      {
        *type = (ward_ns_type_t) i;
        return 0;
      }
  return -EINVAL;
}

/* Indexed by the kernel's capability number (linux/capability.h). */
const char *const ward_specs_cap_names[] = {
  "CAP_CHOWN",            "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID",           "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
  "CAP_SETPCAP",          "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",        "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",       "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",        "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",     "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
  "CAP_LEASE",            "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",     "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",    "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE", NULL,
};
const size_t ward_specs_cap_count = ARRAY_SIZE (ward_specs_cap_names) - 1;

int ward_capability_parse (const char *name, int *cap)
{
  if (name == NULL)
    return -EINVAL;
  for (size_t i = 0; i < ward_specs_cap_count; i++)
    if (strcasecmp (name, ward_specs_cap_names[i]) == 0)
      {
        *cap = (int) i;
        return 0;
      }
  return -EINVAL;
}

const char *ward_capability_name (int cap)
{
  if (cap < 0 || (size_t) cap >= ward_specs_cap_count)
    return NULL;
  return ward_specs_cap_names[cap];
}

struct name_value
{
  const char *name;
  int value;
};

static const struct name_value signals[] = {
  { "HUP", SIGHUP },     { "INT", SIGINT },       { "QUIT", SIGQUIT },   { "ILL", SIGILL },
  { "TRAP", SIGTRAP },   { "ABRT", SIGABRT },     { "IOT", SIGIOT },     { "BUS", SIGBUS },
  { "FPE", SIGFPE },     { "KILL", SIGKILL },     { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },   { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },   { "CLD", SIGCHLD },    { "CONT", SIGCONT },
  { "STOP", SIGSTOP },   { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },   { "TTOU", SIGTTOU },
  { "URG", SIGURG },     { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ },   { "VTALRM", SIGVTALRM },
  { "PROF", SIGPROF },   { "WINCH", SIGWINCH },   { "IO", SIGIO },       { "POLL", SIGPOLL },
  { "PWR", SIGPWR },     { "SYS", SIGSYS },
};

/* SIGRTMIN/SIGRTMAX are functions in glibc (it reserves a few for itself),
 * so "RTMIN+3" is resolved at run time. */
static int parse_rt_signal (const char *s, int *signo)
{
  unsigned long long off = 0;
  int base;
  const char *rest;
  if (strncasecmp (s, "RTMIN", 5) == 0)
    base = SIGRTMIN, rest = s + 5;
  else if (strncasecmp (s, "RTMAX", 5) == 0)
    base = SIGRTMAX, rest = s + 5;
  else
    return -EINVAL;
  if (*rest != '\0')
    {
      if ((*rest != '+' && *rest != '-') || ward_parse_u64 (rest + 1, &off) < 0
          || off > (unsigned long long) (SIGRTMAX - SIGRTMIN))
        return -EINVAL;
      base = *rest == '+' ? base + (int) off : base - (int) off;
    }
  if (base < SIGRTMIN || base > SIGRTMAX)
    return -EINVAL;
  *signo = base;
  return 0;
}

int ward_signal_parse (const char *name, int *signo)
{
  unsigned long long n;
  const char *s = name;
  if (name == NULL || *name == '\0')
    return -EINVAL;
  if (ward_parse_u64 (name, &n) == 0)
    {
      if (n == 0 || n > (unsigned long long) SIGRTMAX)
        return -EINVAL;
      *signo = (int) n;
      return 0;
    }
  if (strncasecmp (s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < ARRAY_SIZE (signals); i++)
    if (strcasecmp (s, signals[i].name) == 0)
      {
        *signo = signals[i].value;
        return 0;
      }
  return parse_rt_signal (s, signo);
}

static const struct name_value rlimits[] = {
  { "RLIMIT_CPU", RLIMIT_CPU },           { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_DATA", RLIMIT_DATA },         { "RLIMIT_STACK", RLIMIT_STACK },
  { "RLIMIT_CORE", RLIMIT_CORE },         { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },       { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int ward_rlimit_parse (const char *name, int *resource)
{
  if (name == NULL)
    return -EINVAL;
  for (size_t i = 0; i < ARRAY_SIZE (rlimits); i++)
    if (strcmp (name, rlimits[i].name) == 0)
      {
        *resource = rlimits[i].value;
        return 0;
      }
  return -EINVAL;
}

static int lookup (const struct name_value *t, size_t n, const char *name, int *value)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (name, t[i].name) == 0)
      {
        *value = t[i].value;
        return 0;
      }
  return -EINVAL;
}

const char *const ward_specs_seccomp_actions[] = {
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL,
};

static const struct name_value seccomp_actions[] = {
  { "SCMP_ACT_KILL", WARD_SECCOMP_ACT_KILL },
  { "SCMP_ACT_KILL_PROCESS", WARD_SECCOMP_ACT_KILL_PROCESS },
  { "SCMP_ACT_KILL_THREAD", WARD_SECCOMP_ACT_KILL_THREAD },
  { "SCMP_ACT_TRAP", WARD_SECCOMP_ACT_TRAP },
  { "SCMP_ACT_ERRNO", WARD_SECCOMP_ACT_ERRNO },
  { "SCMP_ACT_TRACE", WARD_SECCOMP_ACT_TRACE },
  { "SCMP_ACT_ALLOW", WARD_SECCOMP_ACT_ALLOW },
  { "SCMP_ACT_LOG", WARD_SECCOMP_ACT_LOG },
  { "SCMP_ACT_NOTIFY", WARD_SECCOMP_ACT_NOTIFY },
};

int ward_specs_seccomp_action_parse (const char *name, uint32_t *value)
{
  int v;
  if (lookup (seccomp_actions, ARRAY_SIZE (seccomp_actions), name, &v) < 0)
    return -EINVAL;
  *value = (uint32_t) v;
  return 0;
}

const char *const ward_specs_seccomp_ops[] = {
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

int ward_specs_seccomp_op_parse (const char *name, int *value)
{
  for (int i = 0; ward_specs_seccomp_ops[i]; i++)
    if (strcmp (name, ward_specs_seccomp_ops[i]) == 0)
      {
        *value = i; /* the table follows WARD_SECCOMP_OP_* order */
        return 0;
      }
  return -EINVAL;
}

const char *const ward_specs_seccomp_archs[] = {
  "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",       "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",    "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",      "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64",   "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",        "SCMP_ARCH_SHEB",      NULL,
};

static bool in_list (const char *const *list, const char *name)
{
  for (size_t i = 0; list[i]; i++)
    if (strcmp (list[i], name) == 0)
      return true;
  return false;
}

bool ward_specs_seccomp_arch_known (const char *name)
{
  return in_list (ward_specs_seccomp_archs, name);
}

const char *const ward_specs_seccomp_flags[] = {
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

bool ward_specs_seccomp_flag_known (const char *name)
{
  return in_list (ward_specs_seccomp_flags, name);
}

/* Numbered as in the kernel's uapi/linux/sched.h. */
static const struct name_value sched_policies[] = {
  { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 },  { "SCHED_RR", 2 },       { "SCHED_BATCH", 3 },
  { "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 },  { "SCHED_DEADLINE", 6 },
};

int ward_specs_sched_policy_parse (const char *name, int *value)
{
  return lookup (sched_policies, ARRAY_SIZE (sched_policies), name, value);
}

static const struct name_value sched_flags[] = {
  { "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },
  { "SCHED_FLAG_DL_OVERRUN", 0x04 },    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
  { "SCHED_FLAG_KEEP_PARAMS", 0x10 },   { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

int ward_specs_sched_flag_parse (const char *name, uint64_t *bit)
{
  int v;
  if (lookup (sched_flags, ARRAY_SIZE (sched_flags), name, &v) < 0)
    return -EINVAL;
  *bit = (uint64_t) v;
  return 0;
}

static const struct name_value ioprio_classes[] = {
  { "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 },
};

int ward_specs_ioprio_class_parse (const char *name, int *value)
{
  return lookup (ioprio_classes, ARRAY_SIZE (ioprio_classes), name, value);
}

/* The mount options the runtime understands (runc's list). */
const char *const ward_specs_mount_options[] = {
  "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
  "idmap", "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev",
  "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
  "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev",
  "rdiratime", "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime",
  "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "ro",
  "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave", "rstrictatime",
  "ridmap", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
  "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", NULL,
};
