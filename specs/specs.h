/* The OCI runtime-spec 1.2 model: config.json as typed C structures, and the
 * parse/validate/generate functions around it.  This module touches no
 * system state: it turns bytes into structures and structures into JSON.
 *
 * Conventions: strings are malloc'd and NULL when absent; arrays are
 * `T *xs; size_t xs_len`; an optional scalar has a `bool has_<name>` beside
 * it (the spec distinguishes "absent" from "zero" for many fields). */
#ifndef WARD_SPECS_H
#define WARD_SPECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define WARD_OCI_VERSION "1.2.0"

struct json_object;

/* ---- process ---------------------------------------------------------- */

typedef struct
{
  uint32_t uid, gid;
  bool has_umask;
  uint32_t umask;
  uint32_t *additional_gids;
  size_t additional_gids_len;
  char *username; /* Windows only; parsed and ignored */
} ward_user_t;

typedef struct
{
  char **bounding, **effective, **inheritable, **permitted, **ambient; /* NULL-terminated, NULL when absent */
  bool has_bounding, has_effective, has_inheritable, has_permitted, has_ambient;
} ward_capabilities_t;

typedef struct
{
  char *type;     /* "RLIMIT_NOFILE" as written */
  int resource;   /* RLIMIT_* value, resolved by the parser */
  uint64_t hard, soft;
} ward_rlimit_t;

typedef struct
{
  char *policy;         /* SCHED_OTHER, SCHED_FIFO, ... */
  int policy_value;     /* resolved SCHED_* */
  bool has_nice;
  int32_t nice;
  bool has_priority;
  int32_t priority;
  char **flags;         /* SCHED_FLAG_* names, NULL-terminated */
  size_t flags_len;
  uint64_t flags_value; /* resolved bit mask */
  bool has_runtime, has_deadline, has_period;
  uint64_t runtime, deadline, period;
} ward_scheduler_t;

typedef struct
{
  char *class_name;  /* IOPRIO_CLASS_RT | IOPRIO_CLASS_BE | IOPRIO_CLASS_IDLE */
  int class_value;   /* 1, 2, 3 as the kernel numbers them */
  int64_t priority;
} ward_io_priority_t;

typedef struct
{
  char *initial; /* cpu list such as "0-3,7" */
  char *final;
} ward_exec_cpu_affinity_t;

typedef struct
{
  bool terminal;
  bool has_console_size;
  uint32_t console_height, console_width;
  ward_user_t user;
  char **args; /* NULL-terminated */
  size_t args_len;
  char *command_line; /* Windows only */
  char **env;  /* NULL-terminated */
  size_t env_len;
  char *cwd;
  ward_capabilities_t *capabilities; /* NULL when absent */
  ward_rlimit_t *rlimits;
  size_t rlimits_len;
  bool no_new_privileges;
  char *apparmor_profile;
  bool has_oom_score_adj;
  int32_t oom_score_adj;
  ward_scheduler_t *scheduler;        /* NULL when absent */
  char *selinux_label;
  ward_io_priority_t *io_priority;    /* NULL when absent */
  ward_exec_cpu_affinity_t *exec_cpu_affinity; /* NULL when absent */
} ward_process_t;

/* ---- root, mounts, hooks ---------------------------------------------- */

typedef struct
{
  char *path;
  bool readonly;
} ward_root_t;

typedef struct
{
  uint32_t container_id, host_id, size;
} ward_id_mapping_t;

typedef struct
{
  char *destination;
  char *type;
  char *source;
  char **options; /* NULL-terminated, as written */
  size_t options_len;
  ward_id_mapping_t *uid_mappings;
  size_t uid_mappings_len;
  ward_id_mapping_t *gid_mappings;
  size_t gid_mappings_len;
} ward_mount_t;

typedef struct
{
  char *path;
  char **args; /* NULL-terminated or NULL */
  size_t args_len;
  char **env;
  size_t env_len;
  bool has_timeout;
  int32_t timeout; /* seconds, > 0 */
} ward_hook_t;

typedef struct
{
  ward_hook_t *prestart; size_t prestart_len;
  ward_hook_t *create_runtime; size_t create_runtime_len;
  ward_hook_t *create_container; size_t create_container_len;
  ward_hook_t *start_container; size_t start_container_len;
  ward_hook_t *poststart; size_t poststart_len;
  ward_hook_t *poststop; size_t poststop_len;
} ward_hooks_t;

typedef struct
{
  char *key, *value;
} ward_kv_t;

/* ---- linux ------------------------------------------------------------ */

typedef enum
{
  WARD_NS_PID = 0,
  WARD_NS_NETWORK,
  WARD_NS_MOUNT,
  WARD_NS_IPC,
  WARD_NS_UTS,
  WARD_NS_USER,
  WARD_NS_CGROUP,
  WARD_NS_TIME,
  WARD_NS__COUNT
} ward_ns_type_t;

typedef struct
{
  ward_ns_type_t type;
  char *path; /* join this namespace when set */
} ward_namespace_t;

typedef struct
{
  char *clock; /* "monotonic" | "boottime" */
  int64_t secs;
  uint32_t nanosecs;
} ward_time_offset_t;

typedef struct
{
  char *type;  /* "c", "u", "b", "p" */
  char *path;
  int64_t major, minor;
  bool has_file_mode;
  uint32_t file_mode;
  bool has_uid, has_gid;
  uint32_t uid, gid;
} ward_device_t;

typedef struct
{
  char *name; /* host interface name (the key of linux.netDevices) */
  char *new_name;
} ward_net_device_t;

/* resources.devices[] */
typedef struct
{
  bool allow;
  char *type;   /* "a", "c", "b" or NULL (= "a") */
  bool has_major, has_minor;
  int64_t major, minor; /* -1 when absent means wildcard */
  char *access; /* "rwm" subset or NULL */
} ward_device_cgroup_t;

typedef struct
{
  bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness,
      has_disable_oom_killer, has_use_hierarchy, has_check_before_update;
  int64_t limit, reservation, swap, kernel, kernel_tcp;
  uint64_t swappiness;
  bool disable_oom_killer, use_hierarchy, check_before_update;
} ward_memory_t;

typedef struct
{
  bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
      has_realtime_period, has_idle;
  uint64_t shares;
  int64_t quota;
  uint64_t burst;
  uint64_t period;
  int64_t realtime_runtime;
  uint64_t realtime_period;
  char *cpus, *mems;
  int64_t idle;
} ward_cpu_t;

typedef struct
{
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
} ward_weight_device_t;

typedef struct
{
  int64_t major, minor;
  uint64_t rate;
} ward_throttle_device_t;

typedef struct
{
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
  ward_weight_device_t *weight_device; size_t weight_device_len;
  ward_throttle_device_t *throttle_read_bps; size_t throttle_read_bps_len;
  ward_throttle_device_t *throttle_write_bps; size_t throttle_write_bps_len;
  ward_throttle_device_t *throttle_read_iops; size_t throttle_read_iops_len;
  ward_throttle_device_t *throttle_write_iops; size_t throttle_write_iops_len;
} ward_blkio_t;

typedef struct
{
  char *page_size; /* "2MB", "1GB", ... */
  uint64_t limit;
} ward_hugepage_limit_t;

typedef struct
{
  char *name;
  uint32_t priority;
} ward_net_priority_t;

typedef struct
{
  bool has_class_id;
  uint32_t class_id;
  ward_net_priority_t *priorities; size_t priorities_len;
} ward_network_t;

typedef struct
{
  char *device; /* the key of resources.rdma */
  bool has_hca_handles, has_hca_objects;
  uint32_t hca_handles, hca_objects;
} ward_rdma_t;

typedef struct
{
  ward_device_cgroup_t *devices; size_t devices_len;
  ward_memory_t *memory;     /* NULL when absent */
  ward_cpu_t *cpu;           /* NULL when absent */
  ward_blkio_t *block_io;    /* NULL when absent */
  ward_hugepage_limit_t *hugepage_limits; size_t hugepage_limits_len;
  ward_network_t *network;   /* NULL when absent */
  bool has_pids_limit;
  int64_t pids_limit;
  ward_rdma_t *rdma; size_t rdma_len;
  ward_kv_t *unified; size_t unified_len;
} ward_resources_t;

typedef struct
{
  char **names; size_t names_len; /* NULL-terminated */
  char *action;           /* "SCMP_ACT_ERRNO" as written */
  uint32_t action_value;  /* resolved: one of WARD_SECCOMP_ACT_* below */
  bool has_errno_ret;
  uint32_t errno_ret;
  struct ward_seccomp_arg *args; size_t args_len;
} ward_seccomp_syscall_t;

/* The spec's action names resolved to small integers; the runtime maps them
 * to libseccomp's values (this module does not link libseccomp). */
enum
{
  WARD_SECCOMP_ACT_KILL = 0,
  WARD_SECCOMP_ACT_KILL_PROCESS,
  WARD_SECCOMP_ACT_KILL_THREAD,
  WARD_SECCOMP_ACT_TRAP,
  WARD_SECCOMP_ACT_ERRNO,
  WARD_SECCOMP_ACT_TRACE,
  WARD_SECCOMP_ACT_ALLOW,
  WARD_SECCOMP_ACT_LOG,
  WARD_SECCOMP_ACT_NOTIFY,
};

/* SCMP_CMP_* resolved in the same way. */
enum
{
  WARD_SECCOMP_OP_NE = 0,
  WARD_SECCOMP_OP_LT,
  WARD_SECCOMP_OP_LE,
  WARD_SECCOMP_OP_EQ,
  WARD_SECCOMP_OP_GE,
  WARD_SECCOMP_OP_GT,
  WARD_SECCOMP_OP_MASKED_EQ,
};

struct ward_seccomp_arg
{
  uint32_t index;
  uint64_t value, value_two;
  char *op;
  int op_value; /* WARD_SECCOMP_OP_* */
};
typedef struct ward_seccomp_arg ward_seccomp_arg_t;

typedef struct
{
  char *default_action;
  uint32_t default_action_value; /* WARD_SECCOMP_ACT_* */
  bool has_default_errno_ret;
  uint32_t default_errno_ret;
  char **architectures; size_t architectures_len; /* SCMP_ARCH_* as written */
  char **flags; size_t flags_len;                 /* SECCOMP_FILTER_FLAG_* as written */
  char *listener_path;
  char *listener_metadata;
  ward_seccomp_syscall_t *syscalls; size_t syscalls_len;
  char *canonical_json; /* the section re-serialised canonically: the key of the compiled-filter cache */
} ward_seccomp_t;

typedef struct
{
  char *clos_id, *l3_cache_schema, *mem_bw_schema;
  char **schemata; size_t schemata_len;
  bool enable_cmt, enable_mbm;
} ward_intel_rdt_t;

typedef struct
{
  char *domain; /* LINUX | LINUX32 */
  char **flags; size_t flags_len;
} ward_personality_t;

typedef struct
{
  ward_namespace_t *namespaces; size_t namespaces_len;
  ward_id_mapping_t *uid_mappings; size_t uid_mappings_len;
  ward_id_mapping_t *gid_mappings; size_t gid_mappings_len;
  ward_time_offset_t *time_offsets; size_t time_offsets_len;
  ward_device_t *devices; size_t devices_len;
  ward_net_device_t *net_devices; size_t net_devices_len;
  char *cgroups_path;
  ward_resources_t *resources; /* NULL when absent */
  ward_kv_t *sysctl; size_t sysctl_len;
  ward_seccomp_t *seccomp;     /* NULL when absent */
  char *rootfs_propagation;
  char **masked_paths; size_t masked_paths_len;     /* NULL-terminated */
  char **readonly_paths; size_t readonly_paths_len; /* NULL-terminated */
  char *mount_label;
  ward_intel_rdt_t *intel_rdt; /* NULL when absent */
  ward_personality_t *personality; /* NULL when absent */
} ward_linux_t;

typedef struct
{
  char *oci_version;
  ward_process_t *process;  /* NULL when absent (allowed for create) */
  ward_root_t *root;        /* NULL when absent */
  char *hostname;
  char *domainname;
  ward_mount_t *mounts; size_t mounts_len;
  ward_hooks_t *hooks;      /* NULL when absent */
  ward_kv_t *annotations; size_t annotations_len;
  ward_linux_t *linux_;     /* NULL when absent */
} ward_config_t;

/* ---- config ----------------------------------------------------------- */

/* Parses and validates config.json text.  Errors name the JSON path:
 * "linux.resources.memory.limit: expected integer, got string".
 * Unknown keys are ignored.  Input larger than 16 MiB or nested deeper than
 * 64 levels is refused. */
int ward_config_parse (const char *data, size_t len, ward_config_t **out, ward_error_t **err);

/* Reads path (a config.json file, or a bundle directory holding one) and
 * parses it; errors are prefixed with "load '<path>'". */
int ward_config_load_file (const char *path, ward_config_t **out, ward_error_t **err);

/* Parses a process object alone (`exec --process FILE`). */
int ward_process_parse (const char *data, size_t len, ward_process_t **out, ward_error_t **err);

/* The config back to JSON text (malloc'd), indented with tabs like
 * `runc spec`; absent fields stay absent, so parse -> to_json -> parse
 * gives the same config.  For front ends that build a config in C (the
 * docker-style `ward run`) and for handing it to the VM guest agent. */
char *ward_config_to_json (const ward_config_t *cfg);

void ward_config_free (ward_config_t *cfg);
void ward_process_free (ward_process_t *p);
#define _cleanup_config_ __attribute__ ((cleanup (ward_config_freep)))
static inline void ward_config_freep (ward_config_t **c)
{
  if (*c)
    ward_config_free (*c);
}
#define _cleanup_process_ __attribute__ ((cleanup (ward_process_freep)))
static inline void ward_process_freep (ward_process_t **p)
{
  if (*p)
    ward_process_free (*p);
}

/* Look-ups used by the runtime. */
const char *ward_config_annotation (const ward_config_t *cfg, const char *key);
/* The namespace entry of that type, or NULL when the config does not ask for one. */
const ward_namespace_t *ward_config_namespace (const ward_config_t *cfg, ward_ns_type_t type);
const char *ward_ns_type_name (ward_ns_type_t type); /* "pid", "network", ... */

/* Parses a resources object alone (`update --resources FILE`); errors name
 * paths under "resources.". */
int ward_resources_parse (const char *data, size_t len, ward_resources_t **out, ward_error_t **err);
void ward_resources_free (ward_resources_t *r);
/* The inverse of ward_resources_parse: compact JSON with the runtime-spec
 * key names, absent fields left out (malloc'd; "{}" for NULL). */
char *ward_resources_to_json (const ward_resources_t *r);

/* The default config that `spec` writes, equivalent to runc's (rootless
 * variant with user namespace and mappings for the given ids). */
char *ward_spec_default_json (bool rootless, uid_t uid, gid_t gid);

/* Name tables shared with the runtime. */
int ward_signal_parse (const char *name, int *signo); /* "KILL", "SIGKILL", "9" */
int ward_capability_parse (const char *name, int *cap); /* "CAP_SYS_ADMIN" */
const char *ward_capability_name (int cap); /* 21 -> "CAP_SYS_ADMIN"; NULL when unknown */
int ward_rlimit_parse (const char *name, int *resource); /* "RLIMIT_NOFILE" */

/* ---- state.json ------------------------------------------------------- */

typedef struct
{
  char *oci_version;
  char *id;
  char *status;  /* creating | created | running | stopped | paused */
  pid_t pid;     /* 0 when stopped */
  char *bundle;
  ward_kv_t *annotations; size_t annotations_len;
  /* runc's `state` output adds these; when any is non-NULL the output
   * follows runc's layout (ociVersion, id, pid, status, bundle, rootfs,
   * created, annotations, owner; pid always printed, 0 when stopped). */
  char *rootfs;
  char *created; /* RFC 3339 with nanoseconds, "2024-01-02T03:04:05.123456789Z" */
  char *owner;   /* runc prints "" */
} ward_state_t;

/* The state as JSON text (malloc'd), indented like Go's MarshalIndent with
 * two spaces and Go's string escaping; annotations sorted by key and
 * omitted when empty.  Without rootfs/created/owner: the runtime-spec
 * object hooks read on stdin (ociVersion, id, status, pid (omitted when
 * 0), bundle, annotations). */
char *ward_state_to_json (const ward_state_t *st);
/* Same members on one line without spaces, as Go's json.Marshal writes
 * them: the elements of `list --format json`, hooks' stdin. */
char *ward_state_to_json_compact (const ward_state_t *st);

/* ---- features.json ---------------------------------------------------- */

/* features.json as JSON text (malloc'd), listing what this build of ward
 * really implements. */
char *ward_features_json (void);
/* Same, with annotations io.github.seccomp.libseccomp.version (when
 * libseccomp_version is not NULL) and org.opencontainers.runc.checkpoint.enabled
 * false; the runtime passes seccomp_version()'s "2.5.4". */
char *ward_features_json_ex (const char *libseccomp_version);

/* ---- OCI image-spec 1.1 (and Docker schema 2) ------------------------- */

typedef struct
{
  char *architecture, *os, *os_version, *variant;
  char **os_features; size_t os_features_len; /* NULL-terminated */
} ward_oci_platform_t;

typedef struct
{
  char *media_type;
  char *digest; /* validated: "sha256:" + 64 hex or "sha512:" + 128 hex, lower case */
  int64_t size; /* >= 0 */
  char **urls; size_t urls_len;
  ward_kv_t *annotations; size_t annotations_len;
  char *artifact_type;
  ward_oci_platform_t *platform; /* NULL when absent */
} ward_oci_descriptor_t;

/* An image index or a Docker manifest list. */
typedef struct
{
  int schema_version; /* 2 */
  char *media_type;
  char *artifact_type;
  ward_oci_descriptor_t *manifests; size_t manifests_len;
  ward_oci_descriptor_t *subject; /* NULL when absent */
  ward_kv_t *annotations; size_t annotations_len;
} ward_oci_index_t;

/* An image manifest or a Docker schema 2 manifest. */
typedef struct
{
  int schema_version; /* 2 */
  char *media_type;
  char *artifact_type;
  ward_oci_descriptor_t config;
  ward_oci_descriptor_t *layers; size_t layers_len;
  ward_oci_descriptor_t *subject;
  ward_kv_t *annotations; size_t annotations_len;
} ward_oci_manifest_t;

/* The image configuration (application/vnd.oci.image.config.v1+json);
 * Docker's extra keys (Healthcheck, OnBuild, Shell) are ignored. */
typedef struct
{
  char *created, *author, *architecture, *os, *os_version, *variant;
  char **os_features; size_t os_features_len;
  /* config */
  char *user;
  char **exposed_ports; size_t exposed_ports_len; /* keys: "80/tcp" */
  char **env; size_t env_len;
  char **entrypoint; size_t entrypoint_len; bool has_entrypoint;
  char **cmd; size_t cmd_len; bool has_cmd;
  char **volumes; size_t volumes_len; /* keys */
  char *working_dir;
  ward_kv_t *labels; size_t labels_len;
  char *stop_signal;
  bool args_escaped;
  /* rootfs */
  char *rootfs_type; /* "layers" */
  char **diff_ids; size_t diff_ids_len;
} ward_oci_image_config_t;

/* 0 when digest is a well-formed sha256/sha512 digest, else -EINVAL.
 * Digests name files in the content store: nothing else gets through. */
int ward_oci_digest_check (const char *digest);

/* Parsers; errors name the JSON path like the config parser's. */
int ward_oci_index_parse (const char *data, size_t len, ward_oci_index_t **out, ward_error_t **err);
int ward_oci_manifest_parse (const char *data, size_t len, ward_oci_manifest_t **out,
                             ward_error_t **err);
int ward_oci_image_config_parse (const char *data, size_t len, ward_oci_image_config_t **out,
                                 ward_error_t **err);
void ward_oci_index_free (ward_oci_index_t *idx);
void ward_oci_manifest_free (ward_oci_manifest_t *m);
void ward_oci_image_config_free (ward_oci_image_config_t *c);

/* The first manifest of the index for os/architecture (variant may be
 * NULL = any; "arm64" matches an entry without variant or with "v8");
 * NULL when none matches. */
const ward_oci_descriptor_t *ward_oci_index_select (const ward_oci_index_t *idx, const char *os,
                                                    const char *architecture,
                                                    const char *variant);

/* ---- docker-style container config (container_spec.c, ward-cli) ------- */

typedef struct
{
  char *type, *source, *destination; /* "bind", "tmpfs", ... */
  char **options;                    /* NULL-terminated, may be NULL */
} ward_cspec_mount_t;

typedef struct
{
  char *path;  /* in the container */
  char type;   /* 'c' or 'b' */
  int64_t major, minor;
  uint32_t file_mode;
  char *access; /* "rwm" subset */
} ward_cspec_device_t;

/* What `ward run/create` decided, already resolved to ids and numbers (the
 * caller reads /etc/passwd in the rootfs and stats devices: this module
 * touches no system state). */
typedef struct
{
  const char *id;            /* 64 hex; the hostname is its first 12 */
  const char *rootfs;        /* root.path, absolute or relative to the bundle */
  const char *hostname;      /* --hostname, NULL = id[0..12] */
  char **entrypoint;         /* --entrypoint split (NULL-terminated); NULL = the image's */
  bool has_entrypoint;
  char **cmd;                /* the args after IMAGE; NULL or empty = the image's Cmd */
  char **env;                /* -e/--env-file "K=V", NULL-terminated or NULL */
  const char *workdir;       /* -w, NULL = image WorkingDir, else "/" */
  uint32_t uid, gid;         /* resolved user (image User or -u) */
  uint32_t *gids; size_t gids_len; /* supplementary groups (and --group-add) */
  bool tty, open_stdin;
  bool host_network;         /* --network host; else a new, empty netns */
  int64_t memory, memory_swap; /* bytes; 0 = unset; swap -1 = unlimited */
  int64_t nano_cpus;         /* --cpus * 1e9 */
  uint64_t cpu_shares;
  int64_t pids_limit;        /* 0 = unset */
  int64_t shm_size;          /* bytes; 0 = 64 MiB */
  bool read_only, privileged, no_new_privileges;
  char **cap_add, **cap_drop; /* names with or without CAP_, "ALL" allowed */
  const char *seccomp_json;  /* the profile text; NULL = unconfined */
  ward_rlimit_t *rlimits; size_t rlimits_len; /* --ulimit (type "RLIMIT_NOFILE") */
  ward_cspec_mount_t *mounts; size_t mounts_len; /* -v, --mount, --tmpfs */
  ward_cspec_device_t *devices; size_t devices_len;
  ward_kv_t *sysctls; size_t sysctls_len;
  const char *hostname_path, *hosts_path, *resolv_conf_path; /* bind sources, NULL = none */
  const char *cgroups_path;  /* NULL = none */
  uint64_t cap_bounding;     /* caps the caller may grant (its CapBnd); 0 = all known */
} ward_container_spec_opts_t;

/* docker's default capability set (14 names, CAP_ prefixed), NULL-terminated. */
extern const char *const ward_container_default_caps[];

/* The effective capability list for the flags (privileged: every cap the
 * table knows); malloc'd NULL-terminated vector.  Unknown names fail. */
int ward_container_caps (bool privileged, char **cap_add, char **cap_drop, char ***out,
                         ward_error_t **err);
/* Same, limited to the caps set in bounding (0 = no limit): --privileged
 * and --cap-add ALL give what the caller has, as docker does. */
int ward_container_caps_bounded (bool privileged, char **cap_add, char **cap_drop,
                                 uint64_t bounding, char ***out, ward_error_t **err);

/* The process args docker would run: entrypoint + cmd with docker's rules
 * (--entrypoint drops the image Cmd).  -EINVAL "No command specified" when
 * empty. */
int ward_container_args (const ward_container_spec_opts_t *o, const ward_oci_image_config_t *img,
                         char ***out, ward_error_t **err);

/* config.json text (malloc'd) for the container: the default spec, the
 * image config (img may be NULL) and the flags, validated by
 * ward_config_parse before it is returned. */
int ward_container_spec_build (const ward_container_spec_opts_t *o,
                               const ward_oci_image_config_t *img, char **json_out,
                               ward_error_t **err);

#endif
