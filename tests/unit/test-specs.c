/* specs/: config.json parsing, validation errors, default spec, state,
 * features. */
#include <config.h>

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "specs/specs.h"
#include "tests/unit/tap.h"

#ifndef WARD_TOP_SRCDIR
#define WARD_TOP_SRCDIR "."
#endif

static char *load_seed (const char *name)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *path = xasprintf ("%s/tests/fuzz/corpus/config/%s", WARD_TOP_SRCDIR, name);
  char *data = NULL;
  if (ward_read_file_at (-100 /* AT_FDCWD */, path, &data, NULL, 0, &err) < 0)
    return NULL;
  return data;
}

/* Parses text and checks that it fails with exactly msg. */
static void expect_error (const char *json, const char *msg)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_config_t *cfg = NULL;
  int ret = ward_config_parse (json, strlen (json), &cfg, &err);
  tap_ok (ret < 0 && cfg == NULL && err && strcmp (err->msg, msg) == 0, "error '%s' (got '%s')",
          msg, err ? err->msg : "(success)");
  ward_config_free (cfg);
}

/* A minimal valid config with a fragment spliced in. */
static void expect_error_in (const char *fragment, const char *msg)
{
  _cleanup_free_ char *json = xasprintf ("{\"ociVersion\":\"1.2.0\",%s}", fragment);
  expect_error (json, msg);
}

#define PROC(extra) "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"" extra "}"
#define LINUX(extra) "\"linux\":{" extra "}"
#define RES(extra) LINUX ("\"resources\":{" extra "}")
#define SECCOMP(extra) LINUX ("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"" extra "}")

static void test_full (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_config_ ward_config_t *c = NULL;
  _cleanup_free_ char *data = load_seed ("full.json");
  ward_process_t *p;
  ward_linux_t *l;
  ward_resources_t *r;
  ward_seccomp_t *s;

  if (data == NULL)
    {
      tap_skip ("tests/fuzz/corpus/config/full.json not readable");
      return;
    }
  tap_ok (ward_config_parse (data, strlen (data), &c, &err) == 0, "full config parses (%s)",
          err ? err->msg : "ok");
  if (c == NULL)
    return;
  tap_is_str (c->oci_version, "1.2.0", "ociVersion");
  tap_ok (c->root && strcmp (c->root->path, "rootfs") == 0 && c->root->readonly, "root");
  tap_is_str (c->hostname, "box", "hostname");
  tap_is_str (c->domainname, "example.org", "domainname");

  p = c->process;
  tap_ok (p && p->terminal && p->has_console_size && p->console_height == 25
              && p->console_width == 80, "terminal + consoleSize");
  tap_ok (p->user.uid == 1000 && p->user.gid == 1001 && p->user.has_umask && p->user.umask == 18
              && p->user.additional_gids_len == 2 && p->user.additional_gids[1] == 6,
          "user uid/gid/umask/additionalGids");
  tap_is_str (p->user.username, "joe", "user.username");
  tap_ok (p->args_len == 3 && strcmp (p->args[2], "echo hi") == 0 && p->args[3] == NULL, "args");
  tap_is_str (p->command_line, "sh -c", "commandLine");
  tap_ok (p->env_len == 2 && strcmp (p->env[1], "TERM=xterm") == 0 && p->env[2] == NULL, "env");
  tap_is_str (p->cwd, "/home", "cwd");
  tap_ok (p->capabilities && p->capabilities->has_bounding && p->capabilities->has_inheritable
              && p->capabilities->inheritable[0] == NULL
              && strcmp (p->capabilities->permitted[1], "CAP_CHECKPOINT_RESTORE") == 0
              && strcmp (p->capabilities->ambient[0], "CAP_NET_BIND_SERVICE") == 0,
          "capabilities");
  tap_ok (p->rlimits_len == 2 && p->rlimits[0].resource == RLIMIT_NOFILE
              && p->rlimits[0].hard == 1024 && p->rlimits[0].soft == 512
              && p->rlimits[1].resource == RLIMIT_CORE && p->rlimits[1].hard == UINT64_MAX,
          "rlimits (incl. uint64 max)");
  tap_ok (p->no_new_privileges, "noNewPrivileges");
  tap_is_str (p->apparmor_profile, "ward-default", "apparmorProfile");
  tap_ok (p->has_oom_score_adj && p->oom_score_adj == -500, "oomScoreAdj");
  tap_ok (p->scheduler && p->scheduler->policy_value == 6 && p->scheduler->has_nice
              && p->scheduler->nice == -5 && p->scheduler->has_priority
              && p->scheduler->priority == 0
              && p->scheduler->flags_len == 2 && p->scheduler->flags_value == 3
              && p->scheduler->runtime == 100 && p->scheduler->deadline == 200
              && p->scheduler->period == 300,
          "scheduler");
  tap_is_str (p->selinux_label, "system_u:system_r:container_t:s0", "selinuxLabel");
  tap_ok (p->io_priority && p->io_priority->class_value == 2 && p->io_priority->priority == 4,
          "ioPriority");
  tap_ok (p->exec_cpu_affinity && strcmp (p->exec_cpu_affinity->initial, "0") == 0
              && strcmp (p->exec_cpu_affinity->final, "0-1,3") == 0,
          "execCPUAffinity");

  tap_ok (c->mounts_len == 2 && strcmp (c->mounts[1].destination, "/data") == 0
              && strcmp (c->mounts[1].type, "bind") == 0
              && strcmp (c->mounts[1].source, "/srv/data") == 0 && c->mounts[1].options_len == 3
              && c->mounts[1].uid_mappings_len == 1
              && c->mounts[1].uid_mappings[0].host_id == 100000
              && c->mounts[1].gid_mappings[0].host_id == 200000 && c->mounts[0].options == NULL,
          "mounts with idmap");
  tap_ok (c->hooks && c->hooks->prestart_len == 1 && c->hooks->prestart[0].has_timeout
              && c->hooks->prestart[0].timeout == 5 && c->hooks->prestart[0].args_len == 2
              && c->hooks->prestart[0].env_len == 1 && c->hooks->create_runtime_len == 1
              && c->hooks->create_container_len == 1 && c->hooks->start_container_len == 1
              && c->hooks->poststart_len == 2 && c->hooks->poststop_len == 1
              && strcmp (c->hooks->poststop[0].path, "/bin/stop") == 0,
          "hooks");
  tap_is_str (ward_config_annotation (c, "run.oci.handler"), "vm", "annotation lookup");
  tap_ok (ward_config_annotation (c, "nope") == NULL, "missing annotation is NULL");

  l = c->linux_;
  tap_ok (l && l->namespaces_len == 8, "8 namespaces");
  tap_ok (ward_config_namespace (c, WARD_NS_TIME) != NULL
              && ward_config_namespace (c, WARD_NS_NETWORK)
              && strcmp (ward_config_namespace (c, WARD_NS_NETWORK)->path, "/var/run/netns/x") == 0,
          "namespace lookup with path");
  tap_ok (l->uid_mappings_len == 1 && l->uid_mappings[0].host_id == 1000
              && l->gid_mappings_len == 2 && l->gid_mappings[1].size == 65535,
          "uid/gid mappings");
  tap_ok (l->time_offsets_len == 2, "timeOffsets count");
  for (size_t i = 0; i < l->time_offsets_len; i++)
    if (strcmp (l->time_offsets[i].clock, "monotonic") == 0)
      tap_ok (l->time_offsets[i].secs == 172800 && l->time_offsets[i].nanosecs == 5,
              "timeOffsets.monotonic");
    else
      tap_ok (strcmp (l->time_offsets[i].clock, "boottime") == 0 && l->time_offsets[i].secs == -10,
              "timeOffsets.boottime");
  tap_ok (l->devices_len == 2 && l->devices[0].major == 10 && l->devices[0].minor == 229
              && l->devices[0].has_file_mode && l->devices[0].file_mode == 020666
              && l->devices[0].has_uid && strcmp (l->devices[1].type, "p") == 0,
          "devices");
  tap_ok (l->net_devices_len == 2, "netDevices count");
  for (size_t i = 0; i < l->net_devices_len; i++)
    if (strcmp (l->net_devices[i].name, "eth1") == 0)
      tap_is_str (l->net_devices[i].new_name, "net0", "netDevices.eth1.name");
    else
      tap_ok (l->net_devices[i].new_name == NULL, "netDevices.dummy0 without name");
  tap_is_str (l->cgroups_path, "/ward/box", "cgroupsPath");

  r = l->resources;
  tap_ok (r && r->devices_len == 2 && !r->devices[0].allow && r->devices[0].major == -1
              && r->devices[0].type == NULL && r->devices[1].allow && r->devices[1].major == 10
              && strcmp (r->devices[1].access, "rw") == 0,
          "resources.devices");
  tap_ok (r->memory && r->memory->has_limit && r->memory->limit == 67108864
              && r->memory->reservation == 33554432 && r->memory->swap == -1
              && r->memory->kernel == 1 && r->memory->kernel_tcp == 2
              && r->memory->swappiness == 60 && r->memory->disable_oom_killer
              && r->memory->has_use_hierarchy && !r->memory->use_hierarchy
              && r->memory->check_before_update,
          "resources.memory");
  tap_ok (r->cpu && r->cpu->shares == 1024 && r->cpu->quota == 50000 && r->cpu->has_burst
              && r->cpu->burst == 1000 && r->cpu->period == 100000
              && r->cpu->realtime_runtime == 950 && r->cpu->realtime_period == 1000
              && strcmp (r->cpu->cpus, "0-1") == 0 && strcmp (r->cpu->mems, "0") == 0
              && r->cpu->has_idle && r->cpu->idle == 1,
          "resources.cpu");
  tap_ok (r->block_io && r->block_io->weight == 500 && r->block_io->leaf_weight == 300
              && r->block_io->weight_device_len == 1 && r->block_io->weight_device[0].weight == 600
              && r->block_io->weight_device[0].leaf_weight == 100
              && r->block_io->throttle_read_bps[0].rate == 1048576
              && r->block_io->throttle_write_bps[0].minor == 1
              && r->block_io->throttle_read_iops[0].rate == 100
              && r->block_io->throttle_write_iops[0].rate == 200,
          "resources.blockIO");
  tap_ok (r->hugepage_limits_len == 1 && strcmp (r->hugepage_limits[0].page_size, "2MB") == 0
              && r->hugepage_limits[0].limit == 209715200,
          "resources.hugepageLimits");
  tap_ok (r->network && r->network->has_class_id && r->network->class_id == 1048577
              && r->network->priorities_len == 1 && r->network->priorities[0].priority == 500,
          "resources.network");
  tap_ok (r->has_pids_limit && r->pids_limit == 32, "resources.pids");
  tap_ok (r->rdma_len == 1 && strcmp (r->rdma[0].device, "mlx5_1") == 0
              && r->rdma[0].hca_handles == 3 && r->rdma[0].hca_objects == 10000,
          "resources.rdma");
  tap_ok (r->unified_len == 2, "resources.unified");
  tap_ok (l->sysctl_len == 2, "sysctl");

  s = l->seccomp;
  tap_ok (s && s->default_action_value == WARD_SECCOMP_ACT_ERRNO && s->has_default_errno_ret
              && s->default_errno_ret == 1 && s->architectures_len == 2 && s->flags_len == 1
              && strcmp (s->listener_path, "/run/seccomp.sock") == 0
              && strcmp (s->listener_metadata, "meta") == 0,
          "seccomp header");
  tap_ok (s->syscalls_len == 3 && s->syscalls[0].names_len == 3
              && strcmp (s->syscalls[0].names[2], "no_such_syscall") == 0
              && s->syscalls[0].action_value == WARD_SECCOMP_ACT_ALLOW
              && s->syscalls[1].has_errno_ret && s->syscalls[1].errno_ret == 38
              && s->syscalls[1].args_len == 2 && s->syscalls[1].args[1].index == 1
              && s->syscalls[1].args[1].value == 255 && s->syscalls[1].args[1].value_two == 4
              && s->syscalls[1].args[1].op_value == WARD_SECCOMP_OP_MASKED_EQ
              && s->syscalls[2].action_value == WARD_SECCOMP_ACT_NOTIFY,
          "seccomp syscalls (unknown names kept)");
  tap_ok (s->canonical_json && strstr (s->canonical_json, "\"defaultAction\":\"SCMP_ACT_ERRNO\""),
          "seccomp canonical_json: %s", s->canonical_json ? s->canonical_json : "(null)");
  tap_is_str (l->rootfs_propagation, "rslave", "rootfsPropagation");
  tap_ok (l->masked_paths_len == 2 && l->masked_paths[2] == NULL && l->readonly_paths_len == 1,
          "maskedPaths/readonlyPaths");
  tap_is_str (l->mount_label, "system_u:object_r:container_file_t:s0", "mountLabel");
  tap_ok (l->intel_rdt && strcmp (l->intel_rdt->clos_id, "ward") == 0
              && strcmp (l->intel_rdt->l3_cache_schema, "L3:0=ff") == 0
              && strcmp (l->intel_rdt->mem_bw_schema, "MB:0=70") == 0
              && l->intel_rdt->schemata_len == 1 && l->intel_rdt->enable_cmt
              && l->intel_rdt->enable_mbm,
          "intelRdt");
  tap_ok (l->personality && strcmp (l->personality->domain, "LINUX32") == 0
              && l->personality->flags_len == 0,
          "personality");
}

static void test_canonical_seccomp (void)
{
  /* Same filter, different key order and an unknown key: same cache key. */
  const char *a = "{\"ociVersion\":\"1.0.0\",\"linux\":{\"seccomp\":{\"defaultAction\":"
                  "\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                  "\"SCMP_ACT_ALLOW\"}]}}}";
  const char *b = "{\"linux\":{\"seccomp\":{\"x-unknown\":1,\"syscalls\":[{\"action\":"
                  "\"SCMP_ACT_ALLOW\",\"names\":[\"read\"]}],\"defaultAction\":"
                  "\"SCMP_ACT_ERRNO\"}},\"ociVersion\":\"1.0.0\"}";
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_config_ ward_config_t *ca = NULL;
  _cleanup_config_ ward_config_t *cb = NULL;
  if (ward_config_parse (a, strlen (a), &ca, &err) < 0 || ward_config_parse (b, strlen (b), &cb, &err) < 0)
    {
      tap_ok (0, "seccomp canonical parse: %s", err->msg);
      return;
    }
  tap_is_str (ca->linux_->seccomp->canonical_json, cb->linux_->seccomp->canonical_json,
              "seccomp canonical_json independent of key order");
}

static void test_errors (void)
{
  /* types */
  expect_error_in (RES ("\"memory\":{\"limit\":\"1g\"}"),
                   "linux.resources.memory.limit: expected integer, got string");
  expect_error_in ("\"process\":{\"args\":[\"a\",\"b\",3],\"cwd\":\"/\"}",
                   "process.args[2]: expected string, got integer");
  expect_error_in ("\"annotations\":{\"foo\":1}", "annotations.foo: expected string, got integer");
  expect_error_in (RES ("\"memory\":{\"limit\":1.5}"),
                   "linux.resources.memory.limit: expected integer, got number");
  expect_error_in (PROC (",\"user\":{\"uid\":4294967296}"),
                   "process.user.uid: value 4294967296 out of range");
  expect_error_in (PROC (",\"user\":{\"uid\":-1}"), "process.user.uid: value -1 out of range");
  expect_error_in (PROC (",\"terminal\":\"yes\""), "process.terminal: expected boolean, got string");
  expect_error_in ("\"mounts\":{}", "mounts: expected array, got object");
  expect_error_in (PROC (",\"user\":{\"additionalGids\":[1,\"2\"]}"),
                   "process.user.additionalGids[1]: expected integer, got string");
  expect_error_in ("\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"env\":[\"A=1\",false]}]}",
                   "hooks.prestart[0].env[1]: expected string, got boolean");
  expect_error_in (RES ("\"rdma\":{\"mlx\":{\"hcaHandles\":-2}}"),
                   "linux.resources.rdma.mlx.hcaHandles: value -2 out of range");
  expect_error_in (LINUX ("\"timeOffsets\":{\"boottime\":{\"secs\":1,\"nanosecs\":1000000000}}"),
                   "linux.timeOffsets.boottime.nanosecs: value 1000000000 out of range");
  expect_error_in (PROC (",\"consoleSize\":{\"height\":-1}"), "process.consoleSize.height: value -1 out of range");
  expect_error_in (LINUX ("\"netDevices\":{\"eth0\":{\"name\":\"../x\"}}"),
                   "linux.netDevices.eth0.name: invalid interface name \"../x\"");
  expect_error_in ("\"root\":[]", "root: expected object, got array");
  expect_error_in (RES ("\"memory\":{\"limit\":9223372036854775808}"),
                   "linux.resources.memory.limit: value 9223372036854775808 out of range");
  expect_error_in (RES ("\"blockIO\":{\"weight\":70000}"),
                   "linux.resources.blockIO.weight: value 70000 out of range");
  expect_error_in ("\"hostname\":true", "hostname: expected string, got boolean");
  expect_error_in ("\"hostname\":\"a\\u0000b\"", "hostname: string contains a NUL byte");
  /* required */
  expect_error ("{}", "ociVersion: required");
  expect_error ("{\"ociVersion\":\"0.9.0\"}", "ociVersion: unsupported version \"0.9.0\" (want 1.x.y)");
  expect_error ("{\"ociVersion\":\"banana\"}", "ociVersion: unsupported version \"banana\" (want 1.x.y)");
  expect_error_in ("\"root\":{}", "root.path: required");
  expect_error_in ("\"process\":{\"cwd\":\"/\"}", "process.args: required");
  expect_error_in ("\"process\":{\"args\":[],\"cwd\":\"/\"}", "process.args: required");
  expect_error_in ("\"process\":{\"args\":[\"sh\"]}", "process.cwd: required");
  expect_error_in ("\"process\":{\"args\":[\"sh\"],\"cwd\":\"tmp\"}",
                   "process.cwd: \"tmp\" is not an absolute path");
  expect_error_in ("\"mounts\":[{\"type\":\"proc\"}]", "mounts[0].destination: required");
  expect_error_in ("\"mounts\":[{\"destination\":\"/a\"},{\"destination\":\"proc\"}]",
                   "mounts[1].destination: \"proc\" is not an absolute path");
  /* namespaces */
  expect_error_in (LINUX ("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"foo\"}]"),
                   "linux.namespaces[1].type: unknown namespace type \"foo\"");
  expect_error_in (LINUX ("\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]"),
                   "linux.namespaces[1].type: duplicated namespace type \"pid\"");
  expect_error_in (LINUX ("\"uidMappings\":[{\"containerID\":0,\"hostID\":1}]"),
                   "linux.uidMappings[0].size: required");
  expect_error_in (LINUX ("\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]"),
                   "linux.uidMappings: given without a user namespace in linux.namespaces");
  expect_error_in (LINUX ("\"namespaces\":[{\"type\":\"user\"}]"),
                   "linux.uidMappings: required with a new user namespace");
  expect_error_in (LINUX ("\"namespaces\":[{\"type\":\"user\"}],"
                          "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]"),
                   "linux.gidMappings: required with a new user namespace");
  {
    _cleanup_error_ ward_error_t *err = NULL;
    ward_config_t *c = NULL;
    const char *j = "{\"ociVersion\":\"1.2.0\",\"linux\":{\"namespaces\":[{\"type\":\"user\","
                    "\"path\":\"/proc/1/ns/user\"}]}}";
    tap_ok (ward_config_parse (j, strlen (j), &c, &err) == 0, "joined user namespace needs no maps (%s)",
            err ? err->msg : "ok");
    ward_config_free (c);
  }
  /* hooks */
  expect_error_in ("\"hooks\":{\"prestart\":[{\"args\":[]}]}", "hooks.prestart[0].path: required");
  expect_error_in ("\"hooks\":{\"poststop\":[{\"path\":\"bin/x\"}]}",
                   "hooks.poststop[0].path: \"bin/x\" is not an absolute path");
  expect_error_in ("\"hooks\":{\"createRuntime\":[{\"path\":\"/x\",\"timeout\":0}]}",
                   "hooks.createRuntime[0].timeout: must be greater than zero");
  /* rlimits and capabilities */
  expect_error_in (PROC (",\"rlimits\":[{\"type\":\"RLIMIT_FOO\",\"hard\":1,\"soft\":1}]"),
                   "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  expect_error_in (PROC (",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":1},"
                         "{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":1}]"),
                   "process.rlimits[1].type: duplicated rlimit \"RLIMIT_NOFILE\"");
  expect_error_in (PROC (",\"capabilities\":{\"bounding\":[\"CAP_KILL\",7]}"),
                   "process.capabilities.bounding[1]: expected string, got integer");
  /* process extras */
  expect_error_in (PROC (",\"env\":[\"A=1\",\"B\"]"), "process.env[1]: \"B\" is not NAME=value");
  expect_error_in (PROC (",\"env\":[\"=1\"]"), "process.env[0]: \"=1\" is not NAME=value");
  expect_error_in (PROC (",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":2}]"),
                   "process.rlimits[0]: soft limit 2 exceeds hard limit 1");
  expect_error_in (PROC (",\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"priority\":5}"),
                   "process.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR");
  expect_error_in (PROC (",\"scheduler\":{\"policy\":\"SCHED_RR\",\"runtime\":5}"),
                   "process.scheduler: runtime, deadline and period are only valid with SCHED_DEADLINE");
  expect_error_in (PROC (",\"scheduler\":{\"policy\":\"SCHED_FAST\"}"),
                   "process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\"");
  expect_error_in (PROC (",\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":[\"X\"]}"),
                   "process.scheduler.flags[0]: unknown scheduler flag \"X\"");
  expect_error_in (PROC (",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_FAST\"}"),
                   "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_FAST\"");
  expect_error_in (PROC (",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\",\"priority\":8}"),
                   "process.ioPriority.priority: value 8 out of range");
  expect_error_in (PROC (",\"oomScoreAdj\":1001"), "process.oomScoreAdj: value 1001 out of range");
  expect_error_in (PROC (",\"execCPUAffinity\":{\"initial\":\"x\"}"),
                   "process.execCPUAffinity.initial: invalid CPU list \"x\"");
  /* linux */
  expect_error_in (LINUX ("\"rootfsPropagation\":\"sideways\""),
                   "linux.rootfsPropagation: unknown propagation \"sideways\"");
  expect_error_in (LINUX ("\"personality\":{\"domain\":\"LINUX64\"}"),
                   "linux.personality.domain: unknown personality domain \"LINUX64\"");
  expect_error_in (LINUX ("\"timeOffsets\":{\"realtime\":{\"secs\":1}}"),
                   "linux.timeOffsets.realtime: unknown clock \"realtime\"");
  expect_error_in (LINUX ("\"devices\":[{\"type\":\"x\",\"path\":\"/dev/x\"}]"),
                   "linux.devices[0].type: unknown device type \"x\"");
  expect_error_in (LINUX ("\"devices\":[{\"type\":\"c\",\"major\":1,\"minor\":3}]"),
                   "linux.devices[0].path: required");
  expect_error_in (LINUX ("\"devices\":[{\"type\":\"c\",\"path\":\"/dev/null\",\"minor\":3}]"),
                   "linux.devices[0].major: required");
  expect_error_in (RES ("\"devices\":[{\"access\":\"rwm\"}]"),
                   "linux.resources.devices[0].allow: required");
  expect_error_in (RES ("\"devices\":[{\"allow\":true,\"access\":\"xa\"}]"),
                   "linux.resources.devices[0].access: invalid access \"xa\" (r, w or m expected)");
  {
    /* runc keeps r, w, m and drops other letters ("rwa" is in its tests) */
    const char *json = "{\"ociVersion\":\"1.2.0\"," RES ("\"devices\":[{\"allow\":false,\"access\":\"rwaw\"}]") "}";
    _cleanup_error_ ward_error_t *err = NULL;
    _cleanup_config_ ward_config_t *c = NULL;
    tap_ok (ward_config_parse (json, strlen (json), &c, &err) == 0 && c->linux_->resources->devices_len == 1
                && strcmp (c->linux_->resources->devices[0].access, "rw") == 0,
            "device access \"rwaw\" is kept as \"rw\"");
  }
  expect_error_in (RES ("\"unified\":{\"../memory.max\":\"1\"}"),
                   "linux.resources.unified.../memory.max: invalid cgroup file name");
  expect_error_in (LINUX ("\"maskedPaths\":[\"proc/kcore\"]"),
                   "linux.maskedPaths[0]: \"proc/kcore\" is not an absolute path");
  expect_error_in (LINUX ("\"sysctl\":{\"net.ipv4.ip_forward\":1}"),
                   "linux.sysctl.net.ipv4.ip_forward: expected string, got integer");
  /* seccomp */
  expect_error_in (LINUX ("\"seccomp\":{}"), "linux.seccomp.defaultAction: required");
  expect_error_in (LINUX ("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_MAYBE\"}"),
                   "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_MAYBE\"");
  expect_error_in (SECCOMP (",\"architectures\":[\"SCMP_ARCH_VAX\"]"),
                   "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"");
  expect_error_in (SECCOMP (",\"flags\":[\"SECCOMP_FILTER_FLAG_NOPE\"]"),
                   "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_X\"}]"),
                   "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_X\"");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
                            "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ABOUT\"}]}]"),
                   "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_ABOUT\"");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\","
                            "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]"),
                   "linux.seccomp.syscalls[0].args[0].index: value 6 out of range");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_NOTIFY\"}]"),
                   "linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY");
  expect_error_in (LINUX ("\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/l\"}"),
                   "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  expect_error_in (SECCOMP (",\"defaultErrnoRet\":1"),
                   "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}]"),
                   "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  expect_error_in (SECCOMP (",\"listenerPath\":\"/l\",\"syscalls\":[{\"names\":[\"read\",\"write\"],"
                            "\"action\":\"SCMP_ACT_NOTIFY\"}]"),
                   "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for write");
  expect_error_in (SECCOMP (",\"syscalls\":[{\"names\":[],\"action\":\"SCMP_ACT_LOG\"}]"),
                   "linux.seccomp.syscalls[0].names: required");
  /* input shape */
  expect_error ("", "parse JSON: empty input");
  expect_error ("[1,2]", "config: expected object, got array");
  expect_error ("{\"ociVersion\":\"1.0.0\"", "parse JSON: unexpected end of input");
  expect_error ("{\"ociVersion\":\"1.0.0\"} x", "parse JSON at offset 23: unexpected character");
  /* runc (Go) takes strict JSON only. */
  {
    _cleanup_error_ ward_error_t *err = NULL;
    ward_config_t *c = NULL;
    const char *j = "{\"ociVersion\":\"1.0.0\",}";
    tap_ok (ward_config_parse (j, strlen (j), &c, &err) < 0 && c == NULL, "trailing comma refused (%s)",
            err ? err->msg : "accepted");
  }
}

static void test_limits (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_free_ char *deep = xmalloc (2 * 1000 + 1);
  _cleanup_free_ char *huge = NULL;
  const size_t huge_len = 16u * 1024 * 1024 + 1;
  ward_config_t *c = NULL;
  int ret;

  for (int i = 0; i < 1000; i++)
    deep[i] = '[', deep[1000 + i] = ']';
  deep[2000] = '\0';
  ret = ward_config_parse (deep, 2000, &c, &err);
  tap_ok (ret < 0 && c == NULL && err && strstr (err->msg, "nesting"), "1000-deep nesting refused (%s)",
          err ? err->msg : "accepted");
  ward_error_free (&err);

  huge = xmalloc (huge_len);
  memset (huge, ' ', huge_len);
  huge[0] = '{', huge[huge_len - 1] = '}';
  ret = ward_config_parse (huge, huge_len, &c, &err);
  tap_ok (ret < 0 && c == NULL && err && strstr (err->msg, "16 MiB"), "input over 16 MiB refused (%s)",
          err ? err->msg : "accepted");
  ward_error_free (&err);

  ret = ward_config_parse (NULL, 0, &c, &err);
  tap_ok (ret < 0 && c == NULL, "NULL input refused");
  ward_error_free (&err);

  /* Every prefix of a valid config is truncated input: an error, never a crash. */
  {
    _cleanup_free_ char *full = load_seed ("full.json");
    size_t n = full ? strlen (full) : 0, bad = 0;
    for (size_t i = 0; full && i + 1 < n; i += 7)
      {
        ret = ward_config_parse (full, i, &c, &err);
        if (ret == 0)
          {
            ward_config_free (c);
            c = NULL;
            bad++;
          }
        ward_error_free (&err);
      }
    tap_ok (full && bad == 0, "every truncation of full.json is refused");
  }
}

static void test_seeds (void)
{
  static const char *const good[] = { "runc-default.json", "runc-rootless.json", "minimal.json" };
  static const char *const broken[] = { "broken-type.json", "broken-truncated.json",
                                        "broken-ns.json", "broken-seccomp.json" };
  for (size_t i = 0; i < ARRAY_SIZE (good); i++)
    {
      _cleanup_error_ ward_error_t *err = NULL;
      _cleanup_config_ ward_config_t *c = NULL;
      _cleanup_free_ char *d = load_seed (good[i]);
      int ret = d ? ward_config_parse (d, strlen (d), &c, &err) : -1;
      tap_ok (ret == 0, "seed %s parses (%s)", good[i], err ? err->msg : "ok");
    }
  for (size_t i = 0; i < ARRAY_SIZE (broken); i++)
    {
      _cleanup_error_ ward_error_t *err = NULL;
      _cleanup_config_ ward_config_t *c = NULL;
      _cleanup_free_ char *d = load_seed (broken[i]);
      int ret = d ? ward_config_parse (d, strlen (d), &c, &err) : 0;
      tap_ok (ret < 0 && err, "seed %s refused (%s)", broken[i], err ? err->msg : "accepted");
    }
}

static void test_load_file (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_config_t *c = NULL;
  _cleanup_free_ char *dir = xasprintf ("%s/tests/fuzz/corpus/config", WARD_TOP_SRCDIR);
  _cleanup_free_ char *file = xasprintf ("%s/minimal.json", dir);
  int ret = ward_config_load_file (file, &c, &err);
  tap_ok (ret == 0 && c && strcmp (c->process->args[0], "true") == 0, "load_file (%s)",
          err ? err->msg : "ok");
  ward_config_free (TAKE_PTR (c));
  ret = ward_config_load_file (dir, &c, &err);
  tap_ok (ret == -ENOENT && c == NULL && err && strstr (err->msg, "config.json"),
          "load_file on a directory without config.json (%s)", err ? err->msg : "accepted");
  ward_error_free (&err);
  ret = ward_config_load_file ("/nonexistent/config.json", &c, &err);
  tap_ok (ret == -ENOENT && err && strstr (err->msg, "/nonexistent/config.json"), "load_file missing (%s)",
          err ? err->msg : "accepted");
}

static void test_default_spec (void)
{
  for (int rootless = 0; rootless < 2; rootless++)
    {
      _cleanup_error_ ward_error_t *err = NULL;
      _cleanup_config_ ward_config_t *c = NULL;
      _cleanup_free_ char *s = ward_spec_default_json (rootless, 1000, 1001);
      int ret = ward_config_parse (s, strlen (s), &c, &err);
      tap_ok (ret == 0, "default spec (rootless=%d) parses (%s)", rootless, err ? err->msg : "ok");
      if (ret < 0)
        continue;
      tap_ok (c->process && c->process->terminal && strcmp (c->process->args[0], "sh") == 0
                  && c->process->no_new_privileges && c->process->rlimits_len == 1
                  && c->process->capabilities->has_ambient && !c->process->capabilities->has_inheritable,
              "default spec process");
      tap_ok (c->mounts_len == 7 && c->linux_->masked_paths_len == 10
                  && c->linux_->readonly_paths_len == 5 && c->root->readonly,
              "default spec mounts, masked and readonly paths");
      if (!rootless)
        tap_ok (ward_config_namespace (c, WARD_NS_NETWORK) && !ward_config_namespace (c, WARD_NS_USER)
                    && c->linux_->resources && c->linux_->resources->devices_len == 1
                    && c->mounts[2].options_len == 6 && strcmp (c->mounts[5].type, "sysfs") == 0,
                "default spec: netns, no userns, deny-all devices, devpts gid=5, sysfs");
      else
        tap_ok (!ward_config_namespace (c, WARD_NS_NETWORK) && ward_config_namespace (c, WARD_NS_USER)
                    && c->linux_->uid_mappings_len == 1 && c->linux_->uid_mappings[0].host_id == 1000
                    && c->linux_->gid_mappings[0].host_id == 1001 && c->linux_->resources == NULL
                    && c->mounts[2].options_len == 5
                    && strcmp (c->mounts[5].options[0], "rbind") == 0,
                "rootless spec: userns + maps, no netns, sysfs rbind, devpts without gid");
    }
}

static void test_process_and_resources (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_process_ ward_process_t *p = NULL;
  ward_resources_t *r = NULL;
  const char *proc = "{\"args\":[\"ls\"],\"cwd\":\"/tmp\",\"env\":[\"A=b\"],\"terminal\":false}";
  const char *res = "{\"memory\":{\"limit\":1048576},\"pids\":{\"limit\":-1},\"cpu\":{\"cpus\":\"0\"}}";

  tap_ok (ward_process_parse (proc, strlen (proc), &p, &err) == 0 && p && p->args_len == 1
              && strcmp (p->cwd, "/tmp") == 0,
          "ward_process_parse");
  ward_process_free (TAKE_PTR (p));
  tap_ok (ward_process_parse ("{\"args\":[\"ls\"]}", 15, &p, &err) < 0 && p == NULL
              && strcmp (err->msg, "process.cwd: required") == 0,
          "ward_process_parse error (%s)", err ? err->msg : "accepted");
  ward_error_free (&err);
  tap_ok (ward_resources_parse (res, strlen (res), &r, &err) == 0 && r && r->memory
              && r->memory->limit == 1048576 && r->pids_limit == -1 && strcmp (r->cpu->cpus, "0") == 0,
          "ward_resources_parse");
  ward_resources_free (r);
  r = NULL;
  tap_ok (ward_resources_parse ("{\"memory\":{\"swap\":\"x\"}}", 24, &r, &err) < 0 && r == NULL
              && strcmp (err->msg, "resources.memory.swap: expected integer, got string") == 0,
          "ward_resources_parse error (%s)", err ? err->msg : "accepted");
}

/* parse -> to_json -> parse -> to_json is a fixed point, for the full
 * resources of full.json. */
static void test_resources_roundtrip (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_config_ ward_config_t *c = NULL;
  _cleanup_free_ char *data = load_seed ("full.json");
  _cleanup_free_ char *j1 = NULL;
  _cleanup_free_ char *j2 = NULL;
  ward_resources_t *r = NULL;

  if (data == NULL || ward_config_parse (data, strlen (data), &c, &err) < 0)
    {
      tap_ok (0, "resources round trip: full.json did not parse");
      return;
    }
  j1 = ward_resources_to_json (c->linux_->resources);
  tap_ok (ward_resources_parse (j1, strlen (j1), &r, &err) == 0, "resources JSON parses back (%s)",
          err ? err->msg : "ok");
  j2 = ward_resources_to_json (r);
  tap_is_str (j2, j1, "resources JSON round trip");
  tap_ok (r && r->memory && r->memory->swap == -1 && r->cpu->has_idle && r->rdma_len == 1
              && r->unified_len == 2 && r->block_io->throttle_write_iops_len == 1
              && r->devices[0].major == -1 && !r->devices[0].has_major,
          "round-tripped values");
  ward_resources_free (r);
  {
    _cleanup_free_ char *empty = ward_resources_to_json (NULL);
    tap_is_str (empty, "{}", "NULL resources serialise as {}");
  }
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_image_spec (void)
{
  _cleanup_error_ ward_error_t *err = NULL;
  ward_oci_index_t *idx = NULL;
  ward_oci_manifest_t *m = NULL;
  ward_oci_image_config_t *c = NULL;
  const ward_oci_descriptor_t *d;
  const char *index_json =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
      "\"sha256:" D64 "\",\"size\":528,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" D64
      "\",\"size\":529,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os.features\":[\"x\"]},"
      "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}";
  const char *manifest_json =
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":1469,"
      "\"digest\":\"sha256:" D64 "\"},\"layers\":[{\"mediaType\":"
      "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":3370706,\"digest\":\"sha256:" D64
      "\"}]}";
  const char *config_json =
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
      "\"config\":{\"User\":\"nobody\",\"Env\":[\"PATH=/bin\"],\"Entrypoint\":null,\"Cmd\":[\"/bin/sh\"],"
      "\"WorkingDir\":\"/srv\",\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
      "\"Labels\":{\"a\":\"b\"},\"StopSignal\":\"SIGQUIT\",\"Healthcheck\":{\"Test\":[]}},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" D64 "\"]},\"history\":[]}";

  tap_ok (ward_oci_digest_check ("sha256:" D64) == 0, "sha256 digest accepted");
  tap_ok (ward_oci_digest_check ("sha256:../../etc/passwd") < 0
              && ward_oci_digest_check ("sha256:" D64 "0") < 0
              && ward_oci_digest_check ("md5:" D64) < 0
              && ward_oci_digest_check ("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef") < 0,
          "bad digests refused");

  tap_ok (ward_oci_index_parse (index_json, strlen (index_json), &idx, &err) == 0 && idx
              && idx->manifests_len == 2 && idx->manifests[1].size == 529
              && idx->manifests[1].platform->os_features_len == 1
              && idx->manifests[1].annotations_len == 1,
          "image index parses (%s)", err ? err->msg : "ok");
  d = ward_oci_index_select (idx, "linux", "amd64", NULL);
  tap_ok (d == (idx ? &idx->manifests[1] : NULL), "index select linux/amd64");
  d = ward_oci_index_select (idx, "linux", "arm64", "v8");
  tap_ok (d == (idx ? &idx->manifests[0] : NULL), "index select linux/arm64/v8 matches no variant");
  tap_ok (ward_oci_index_select (idx, "linux", "s390x", NULL) == NULL, "index select: no match");
  ward_oci_index_free (idx);

  tap_ok (ward_oci_manifest_parse (manifest_json, strlen (manifest_json), &m, &err) == 0 && m
              && m->config.size == 1469 && m->layers_len == 1 && m->layers[0].size == 3370706,
          "docker schema 2 manifest parses (%s)", err ? err->msg : "ok");
  ward_oci_manifest_free (m);
  m = NULL;
  tap_ok (ward_oci_manifest_parse (index_json, strlen (index_json), &m, &err) < 0 && m == NULL
              && strcmp (err->msg, "mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image manifest") == 0,
          "an index is not a manifest (%s)", err ? err->msg : "accepted");
  ward_error_free (&err);
  {
    const char *bad = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\"sha256:" D64
                      "\"},\"layers\":[{\"mediaType\":\"x\",\"size\":1,\"digest\":\"sha256:../x\"}]}";
    tap_ok (ward_oci_manifest_parse (bad, strlen (bad), &m, &err) < 0
                && strcmp (err->msg, "layers[0].digest: invalid digest \"sha256:../x\"") == 0,
            "manifest with a bad layer digest refused (%s)", err ? err->msg : "accepted");
    ward_error_free (&err);
    bad = "{\"schemaVersion\":1,\"layers\":[]}";
    tap_ok (ward_oci_manifest_parse (bad, strlen (bad), &m, &err) < 0
                && strcmp (err->msg, "schemaVersion: unsupported version 1 (want 2)") == 0,
            "schema 1 refused (%s)", err ? err->msg : "accepted");
    ward_error_free (&err);
  }

  tap_ok (ward_oci_image_config_parse (config_json, strlen (config_json), &c, &err) == 0 && c,
          "image config parses (%s)", err ? err->msg : "ok");
  if (c)
    {
      tap_ok (strcmp (c->user, "nobody") == 0 && c->env_len == 1 && !c->has_entrypoint
                  && c->has_cmd && strcmp (c->cmd[0], "/bin/sh") == 0
                  && strcmp (c->working_dir, "/srv") == 0 && c->exposed_ports_len == 1
                  && strcmp (c->exposed_ports[0], "80/tcp") == 0 && c->volumes_len == 1
                  && c->labels_len == 1 && strcmp (c->stop_signal, "SIGQUIT") == 0
                  && c->diff_ids_len == 1 && strcmp (c->rootfs_type, "layers") == 0,
              "image config values");
      ward_oci_image_config_free (c);
      c = NULL;
    }
  tap_ok (ward_oci_image_config_parse ("{\"os\":\"linux\"}", 14, &c, &err) < 0
              && strcmp (err->msg, "architecture: required") == 0,
          "image config without architecture refused (%s)", err ? err->msg : "accepted");
}

/* parse -> to_json -> parse -> to_json is a fixed point for every seed
 * config, and the runc default spec serialises back byte for byte. */
static void test_config_roundtrip (void)
{
  static const char *const seeds[] = { "full.json", "runc-default.json", "runc-rootless.json",
                                       "minimal.json" };
  for (size_t i = 0; i < ARRAY_SIZE (seeds); i++)
    {
      _cleanup_error_ ward_error_t *err = NULL;
      _cleanup_config_ ward_config_t *c1 = NULL;
      _cleanup_config_ ward_config_t *c2 = NULL;
      _cleanup_free_ char *data = load_seed (seeds[i]);
      _cleanup_free_ char *j1 = NULL;
      _cleanup_free_ char *j2 = NULL;
      int ret = data ? ward_config_parse (data, strlen (data), &c1, &err) : -1;
      if (ret < 0)
        {
          tap_ok (0, "round trip %s: parse failed", seeds[i]);
          continue;
        }
      j1 = ward_config_to_json (c1);
      ret = ward_config_parse (j1, strlen (j1), &c2, &err);
      tap_ok (ret == 0, "round trip %s: output parses (%s)", seeds[i], err ? err->msg : "ok");
      if (ret < 0)
        continue;
      j2 = ward_config_to_json (c2);
      tap_is_str (j2, j1, seeds[i]);
    }
  {
    _cleanup_error_ ward_error_t *err = NULL;
    _cleanup_config_ ward_config_t *c = NULL;
    _cleanup_free_ char *def = ward_spec_default_json (false, 0, 0);
    _cleanup_free_ char *again = NULL;
    if (ward_config_parse (def, strlen (def), &c, &err) == 0)
      again = ward_config_to_json (c);
    tap_is_str (again, def, "default spec survives parse + to_json byte for byte");
  }
}

static void test_names (void)
{
  int v = 0;
  tap_ok (ward_signal_parse ("KILL", &v) == 0 && v == SIGKILL, "signal KILL");
  tap_ok (ward_signal_parse ("SIGTERM", &v) == 0 && v == SIGTERM, "signal SIGTERM");
  tap_ok (ward_signal_parse ("9", &v) == 0 && v == 9, "signal 9");
  tap_ok (ward_signal_parse ("SIGRTMIN+3", &v) == 0 && v == SIGRTMIN + 3, "signal SIGRTMIN+3");
  tap_ok (ward_signal_parse ("RTMAX", &v) == 0 && v == SIGRTMAX, "signal RTMAX");
  tap_ok (ward_signal_parse ("SIGFOO", &v) < 0 && ward_signal_parse ("0", &v) < 0
              && ward_signal_parse ("", &v) < 0 && ward_signal_parse ("SIGRTMIN+99", &v) < 0
              && ward_signal_parse ("-9", &v) < 0,
          "bad signals refused");
  tap_ok (ward_capability_parse ("CAP_SYS_ADMIN", &v) == 0 && v == 21, "CAP_SYS_ADMIN = 21");
  tap_ok (ward_capability_parse ("CAP_CHECKPOINT_RESTORE", &v) == 0 && v == 40,
          "CAP_CHECKPOINT_RESTORE = 40");
  tap_ok (ward_capability_parse ("CAP_NOPE", &v) < 0, "unknown capability refused");
  tap_is_str (ward_capability_name (40), "CAP_CHECKPOINT_RESTORE", "capability name 40");
  tap_ok (ward_capability_name (41) == NULL && ward_capability_name (-1) == NULL,
          "capability name out of range is NULL");
  tap_ok (ward_rlimit_parse ("RLIMIT_NOFILE", &v) == 0 && v == RLIMIT_NOFILE, "RLIMIT_NOFILE");
  tap_ok (ward_rlimit_parse ("RLIMIT_RTTIME", &v) == 0 && v == RLIMIT_RTTIME, "RLIMIT_RTTIME");
  tap_ok (ward_rlimit_parse ("NOFILE", &v) < 0, "rlimit without prefix refused");
  tap_is_str (ward_ns_type_name (WARD_NS_NETWORK), "network", "ns name network");
  tap_is_str (ward_ns_type_name (WARD_NS_TIME), "time", "ns name time");
  tap_ok (ward_ns_type_name (WARD_NS__COUNT) == NULL, "ns name out of range is NULL");
}

static void test_state (void)
{
  ward_kv_t ann[] = { { (char *) "z", (char *) "last" }, { (char *) "a", (char *) "<&>" } };
  ward_state_t st = { .oci_version = (char *) "1.2.0", .id = (char *) "c1",
                      .status = (char *) "running", .pid = 42, .bundle = (char *) "/b",
                      .annotations = ann, .annotations_len = 2 };
  _cleanup_free_ char *spec = ward_state_to_json (&st);
  _cleanup_free_ char *runc = NULL;
  _cleanup_free_ char *stopped = NULL;

  tap_is_str (spec,
              "{\n  \"ociVersion\": \"1.2.0\",\n  \"id\": \"c1\",\n  \"status\": \"running\",\n"
              "  \"pid\": 42,\n  \"bundle\": \"/b\",\n  \"annotations\": {\n"
              "    \"a\": \"\\u003c\\u0026\\u003e\",\n    \"z\": \"last\"\n  }\n}",
              "runtime-spec state");
  st.rootfs = (char *) "/b/rootfs";
  st.created = (char *) "2026-11-26T06:00:00.123456789Z";
  st.owner = (char *) "";
  st.annotations_len = 0;
  runc = ward_state_to_json (&st);
  tap_is_str (runc,
              "{\n  \"ociVersion\": \"1.2.0\",\n  \"id\": \"c1\",\n  \"pid\": 42,\n"
              "  \"status\": \"running\",\n  \"bundle\": \"/b\",\n  \"rootfs\": \"/b/rootfs\",\n"
              "  \"created\": \"2026-11-26T06:00:00.123456789Z\",\n  \"owner\": \"\"\n}",
              "runc state layout");
  st.pid = 0;
  st.status = (char *) "stopped";
  stopped = ward_state_to_json (&st);
  tap_ok (strstr (stopped, "\"pid\": 0,") != NULL, "stopped container prints pid 0");
  {
    _cleanup_free_ char *compact = NULL;
    st.annotations_len = 1;
    compact = ward_state_to_json_compact (&st);
    tap_is_str (compact,
                "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"pid\":0,\"status\":\"stopped\","
                "\"bundle\":\"/b\",\"rootfs\":\"/b/rootfs\",\"created\":"
                "\"2026-11-26T06:00:00.123456789Z\",\"annotations\":{\"z\":\"last\"},\"owner\":\"\"}",
                "compact state (list --format json)");
  }
  {
    _cleanup_json_ json_object *o = json_tokener_parse (runc);
    tap_ok (o != NULL, "runc state is valid JSON");
  }
}

static void test_features (void)
{
  _cleanup_free_ char *f = ward_features_json_ex ("2.5.4");
  _cleanup_json_ json_object *o = json_tokener_parse (f);
  json_object *l = NULL, *v = NULL, *x = NULL;
  tap_ok (o != NULL, "features is valid JSON");
  tap_ok (json_object_object_get_ex (o, "ociVersionMax", &v)
              && strcmp (json_object_get_string (v), "1.2.0") == 0,
          "features ociVersionMax");
  tap_ok (json_object_object_get_ex (o, "hooks", &v) && json_object_array_length (v) == 6,
          "features hooks");
  tap_ok (json_object_object_get_ex (o, "linux", &l) && json_object_object_get_ex (l, "namespaces", &v)
              && json_object_array_length (v) == 8,
          "features namespaces");
  tap_ok (json_object_object_get_ex (l, "capabilities", &v) && json_object_array_length (v) == 41,
          "features capabilities");
  tap_ok (json_object_object_get_ex (l, "mountExtensions", &v)
              && json_object_object_get_ex (v, "idmap", &x)
              && json_object_object_get_ex (x, "enabled", &x) && json_object_get_boolean (x),
          "features mountExtensions.idmap");
  tap_ok (json_object_object_get_ex (o, "annotations", &v)
              && json_object_object_get_ex (v, "io.github.seccomp.libseccomp.version", &x)
              && strcmp (json_object_get_string (x), "2.5.4") == 0,
          "features libseccomp annotation");
  {
    _cleanup_free_ char *plain = ward_features_json ();
    tap_ok (plain && strstr (plain, "libseccomp") == NULL, "ward_features_json without version");
  }
}

int main (void)
{
  test_full ();
  test_canonical_seccomp ();
  test_errors ();
  test_limits ();
  test_seeds ();
  test_load_file ();
  test_default_spec ();
  test_process_and_resources ();
  test_resources_roundtrip ();
  test_config_roundtrip ();
  test_image_spec ();
  test_names ();
  test_state ();
  test_features ();
  return tap_done ();
}
