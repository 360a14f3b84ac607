/* The process section of config.json, also parsed alone for
 * `exec --process`. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "specs/json_read.h"
#include "specs/specs.h"

static int parse_user (json_object *p, const char *path, ward_user_t *u, ward_error_t **err)
{
  json_object *v;
  _cleanup_free_ char *up = ward_specs_path_key (path, "user");
  int ret = ward_specs_read_object (p, path, "user", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  ret = ward_specs_read_u32 (v, up, "uid", &u->uid, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_u32 (v, up, "gid", &u->gid, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_u32 (v, up, "umask", &u->umask, &u->has_umask, err);
  if (ret == 0)
    ret = ward_specs_read_u32v (v, up, "additionalGids", &u->additional_gids,
                                &u->additional_gids_len, err);
  if (ret == 0)
    ret = ward_specs_read_str (v, up, "username", false, &u->username, err);
  return ret;
}

static int parse_cap_set (json_object *caps, const char *path, const char *key, char ***out,
                          bool *has, ward_error_t **err)
{
  size_t n = 0;
  /* Unknown names are not an error: runc skips them with one warning when
   * it applies the set (a newer config on an older kernel must still run);
   * runtime/process.c does the same. */
  return ward_specs_read_strv (caps, path, key, out, &n, has, err);
}

static int parse_capabilities (json_object *p, const char *path, ward_process_t *proc,
                               ward_error_t **err)
{
  json_object *v;
  _cleanup_free_ char *cp = ward_specs_path_key (path, "capabilities");
  ward_capabilities_t *c;
  int ret = ward_specs_read_object (p, path, "capabilities", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  c = proc->capabilities = xzalloc (sizeof *c);
  ret = parse_cap_set (v, cp, "bounding", &c->bounding, &c->has_bounding, err);
  if (ret == 0)
    ret = parse_cap_set (v, cp, "effective", &c->effective, &c->has_effective, err);
  if (ret == 0)
    ret = parse_cap_set (v, cp, "inheritable", &c->inheritable, &c->has_inheritable, err);
  if (ret == 0)
    ret = parse_cap_set (v, cp, "permitted", &c->permitted, &c->has_permitted, err);
  if (ret == 0)
    ret = parse_cap_set (v, cp, "ambient", &c->ambient, &c->has_ambient, err);
  return ret;
}

static int parse_rlimits (json_object *p, const char *path, ward_process_t *proc,
                          ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *rp = ward_specs_path_key (path, "rlimits");
  size_t n;
  int ret = ward_specs_read_array (p, path, "rlimits", &arr, err);
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  proc->rlimits = xzalloc ((n ? n : 1) * sizeof (ward_rlimit_t));
  proc->rlimits_len = n;
  for (size_t i = 0; i < n; i++)
    {
      json_object *r = json_object_array_get_idx (arr, i);
      _cleanup_free_ char *ip = ward_specs_path_idx (rp, i);
      ward_rlimit_t *rl = &proc->rlimits[i];
      bool has_hard = false, has_soft = false;
      ret = ward_specs_expect (r, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (r, ip, "type", true, &rl->type, err);
      if (ret < 0)
        return ret;
      if (ward_rlimit_parse (rl->type, &rl->resource) < 0)
        return ward_error_set (err, 0, "%s.type: unknown rlimit \"%s\"", ip, rl->type);
      for (size_t j = 0; j < i; j++)
        if (proc->rlimits[j].resource == rl->resource)
          return ward_error_set (err, 0, "%s.type: duplicated rlimit \"%s\"", ip, rl->type);
      ret = ward_specs_read_u64 (r, ip, "hard", &rl->hard, &has_hard, err);
      if (ret == 0)
        ret = ward_specs_read_u64 (r, ip, "soft", &rl->soft, &has_soft, err);
      if (ret < 0)
        return ret;
      if (!has_hard)
        return ward_error_set (err, 0, "%s.hard: required", ip);
      if (!has_soft)
        return ward_error_set (err, 0, "%s.soft: required", ip);
      /* setrlimit(2) refuses it with EINVAL; say which entry at parse time. */
      if (rl->soft > rl->hard)
        return ward_error_set (err, 0, "%s: soft limit %llu exceeds hard limit %llu", ip,
                               (unsigned long long) rl->soft, (unsigned long long) rl->hard);
    }
  return 0;
}

static int parse_scheduler (json_object *p, const char *path, ward_process_t *proc,
                            ward_error_t **err)
{
  json_object *v;
  _cleanup_free_ char *sp = ward_specs_path_key (path, "scheduler");
  ward_scheduler_t *s;
  int ret = ward_specs_read_object (p, path, "scheduler", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  s = proc->scheduler = xzalloc (sizeof *s);
  ret = ward_specs_read_str (v, sp, "policy", true, &s->policy, err);
  if (ret < 0)
    return ret;
  if (ward_specs_sched_policy_parse (s->policy, &s->policy_value) < 0)
    return ward_error_set (err, 0, "%s.policy: unknown scheduler policy \"%s\"", sp, s->policy);
  ret = ward_specs_read_i32 (v, sp, "nice", &s->nice, &s->has_nice, err);
  if (ret == 0)
    ret = ward_specs_read_i32 (v, sp, "priority", &s->priority, &s->has_priority, err);
  if (ret == 0)
    ret = ward_specs_read_strv (v, sp, "flags", &s->flags, &s->flags_len, NULL, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < s->flags_len; i++)
    {
      uint64_t bit;
      if (ward_specs_sched_flag_parse (s->flags[i], &bit) < 0)
        return ward_error_set (err, 0, "%s.flags[%zu]: unknown scheduler flag \"%s\"", sp, i,
                               s->flags[i]);
      s->flags_value |= bit;
    }
  ret = ward_specs_read_u64 (v, sp, "runtime", &s->runtime, &s->has_runtime, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (v, sp, "deadline", &s->deadline, &s->has_deadline, err);
  if (ret == 0)
    ret = ward_specs_read_u64 (v, sp, "period", &s->period, &s->has_period, err);
  if (ret < 0)
    return ret;
  if (s->has_nice && (s->nice < -20 || s->nice > 19))
    return ward_error_set (err, 0, "%s.nice: value %d out of range", sp, (int) s->nice);
  /* sched_setattr(2) takes a static priority only for the real-time
   * policies and runtime/deadline/period only for SCHED_DEADLINE. */
  if (s->priority != 0 && s->policy_value != 1 && s->policy_value != 2)
    return ward_error_set (err, 0, "%s.priority: only valid with SCHED_FIFO or SCHED_RR", sp);
  if ((s->runtime || s->deadline || s->period) && s->policy_value != 6)
    return ward_error_set (err, 0,
                           "%s: runtime, deadline and period are only valid with SCHED_DEADLINE", sp);
  return 0;
}

static int parse_io_priority (json_object *p, const char *path, ward_process_t *proc,
                              ward_error_t **err)
{
  json_object *v;
  _cleanup_free_ char *ip = ward_specs_path_key (path, "ioPriority");
  ward_io_priority_t *io;
  int ret = ward_specs_read_object (p, path, "ioPriority", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  io = proc->io_priority = xzalloc (sizeof *io);
  ret = ward_specs_read_str (v, ip, "class", true, &io->class_name, err);
  if (ret < 0)
    return ret;
  if (ward_specs_ioprio_class_parse (io->class_name, &io->class_value) < 0)
    return ward_error_set (err, 0, "%s.class: unknown I/O priority class \"%s\"", ip,
                           io->class_name);
  ret = ward_specs_read_i64 (v, ip, "priority", &io->priority, NULL, err);
  if (ret < 0)
    return ret;
  /* The kernel's priority levels within a class are 0..7. */
  if (io->priority < 0 || io->priority > 7)
    return ward_error_set (err, 0, "%s.priority: value %lld out of range", ip,
                           (long long) io->priority);
  return 0;
}

static int parse_exec_cpu_affinity (json_object *p, const char *path, ward_process_t *proc,
                                    ward_error_t **err)
{
  json_object *v;
  _cleanup_free_ char *ap = ward_specs_path_key (path, "execCPUAffinity");
  ward_exec_cpu_affinity_t *a;
  int ret = ward_specs_read_object (p, path, "execCPUAffinity", &v, err);
  if (ret < 0 || v == NULL)
    return ret;
  a = proc->exec_cpu_affinity = xzalloc (sizeof *a);
  ret = ward_specs_read_str (v, ap, "initial", false, &a->initial, err);
  if (ret == 0)
    ret = ward_specs_read_str (v, ap, "final", false, &a->final, err);
  if (ret < 0)
    return ret;
  for (int i = 0; i < 2; i++)
    {
      const char *s = i ? a->final : a->initial;
      if (s == NULL)
        continue;
      if (*s == '\0' || strspn (s, "0123456789,-") != strlen (s))
        return ward_error_set (err, 0, "%s.%s: invalid CPU list \"%s\"", ap,
                               i ? "final" : "initial", s);
    }
  return 0;
}

int ward_specs_parse_process (json_object *v, const char *path, ward_process_t *p,
                              ward_error_t **err)
{
  json_object *cs;
  int ret = ward_specs_expect (v, json_type_object, path, err);
  if (ret == 0)
    ret = ward_specs_read_bool (v, path, "terminal", &p->terminal, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_object (v, path, "consoleSize", &cs, err);
  if (ret < 0)
    return ret;
  if (cs)
    {
      _cleanup_free_ char *cp = ward_specs_path_key (path, "consoleSize");
      p->has_console_size = true;
      ret = ward_specs_read_u32 (cs, cp, "height", &p->console_height, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (cs, cp, "width", &p->console_width, NULL, err);
      if (ret < 0)
        return ret;
    }
  ret = parse_user (v, path, &p->user, err);
  if (ret == 0)
    ret = ward_specs_read_strv (v, path, "args", &p->args, &p->args_len, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_str (v, path, "commandLine", false, &p->command_line, err);
  if (ret < 0)
    return ret;
  if (p->args_len == 0)
    return ward_error_set (err, 0, "%s.args: required", path);
  ret = ward_specs_read_strv (v, path, "env", &p->env, &p->env_len, NULL, err);
  if (ret < 0)
    return ret;
  /* runc refuses these when it builds the environment; fail early. */
  for (size_t i = 0; i < p->env_len; i++)
    if (strchr (p->env[i], '=') == NULL || p->env[i][0] == '=')
      return ward_error_set (err, 0, "%s.env[%zu]: \"%s\" is not NAME=value", path, i, p->env[i]);
  ret = ward_specs_read_str (v, path, "cwd", true, &p->cwd, err);
  if (ret < 0)
    return ret;
  if (p->cwd[0] != '/')
    return ward_error_set (err, 0, "%s.cwd: \"%s\" is not an absolute path", path, p->cwd);
  ret = parse_capabilities (v, path, p, err);
  if (ret == 0)
    ret = parse_rlimits (v, path, p, err);
  if (ret == 0)
    ret = ward_specs_read_bool (v, path, "noNewPrivileges", &p->no_new_privileges, NULL, err);
  if (ret == 0)
    ret = ward_specs_read_str (v, path, "apparmorProfile", false, &p->apparmor_profile, err);
  if (ret == 0)
    ret = ward_specs_read_i32 (v, path, "oomScoreAdj", &p->oom_score_adj, &p->has_oom_score_adj,
                               err);
  if (ret < 0)
    return ret;
  if (p->has_oom_score_adj && (p->oom_score_adj < -1000 || p->oom_score_adj > 1000))
    return ward_error_set (err, 0, "%s.oomScoreAdj: value %d out of range", path,
                           (int) p->oom_score_adj);
  ret = parse_scheduler (v, path, p, err);
  if (ret == 0)
    ret = ward_specs_read_str (v, path, "selinuxLabel", false, &p->selinux_label, err);
  if (ret == 0)
    ret = parse_io_priority (v, path, p, err);
  if (ret == 0)
    ret = parse_exec_cpu_affinity (v, path, p, err);
  return ret;
}

void ward_specs_process_clear (ward_process_t *p)
{
  ward_capabilities_t *c = p->capabilities;
  free (p->user.additional_gids);
  free (p->user.username);
  ward_specs_strv_free (p->args);
  free (p->command_line);
  ward_specs_strv_free (p->env);
  free (p->cwd);
  if (c)
    {
      ward_specs_strv_free (c->bounding);
      ward_specs_strv_free (c->effective);
      ward_specs_strv_free (c->inheritable);
      ward_specs_strv_free (c->permitted);
      ward_specs_strv_free (c->ambient);
      free (c);
    }
  for (size_t i = 0; i < p->rlimits_len; i++)
    free (p->rlimits[i].type);
  free (p->rlimits);
  free (p->apparmor_profile);
  if (p->scheduler)
    {
      free (p->scheduler->policy);
      ward_specs_strv_free (p->scheduler->flags);
      free (p->scheduler);
    }
  free (p->selinux_label);
  if (p->io_priority)
    free (p->io_priority->class_name);
  free (p->io_priority);
  if (p->exec_cpu_affinity)
    {
      free (p->exec_cpu_affinity->initial);
      free (p->exec_cpu_affinity->final);
      free (p->exec_cpu_affinity);
    }
  memset (p, 0, sizeof *p);
}

void ward_process_free (ward_process_t *p)
{
  if (p == NULL)
    return;
  ward_specs_process_clear (p);
  free (p);
}

int ward_process_parse (const char *data, size_t len, ward_process_t **out, ward_error_t **err)
{
  _cleanup_json_ json_object *root = NULL;
  _cleanup_process_ ward_process_t *p = NULL;
  int ret = ward_specs_tokenize (data, len, &root, err);
  if (ret < 0)
    return ret;
  p = xzalloc (sizeof *p);
  ret = ward_specs_parse_process (root, "process", p, err);
  if (ret < 0)
    return ret;
  *out = TAKE_PTR (p);
  return 0;
}
