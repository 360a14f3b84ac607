/* update: change a running container's resources.  As with runc, a zero
 * value means "leave as is"; the merged result is kept in the state dir
 * (resources.json) so that the next update starts from it. */
#include "runtime/internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroups.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

#define RESOURCES_FILE "resources.json"

int ward_parse_ram_bytes (const char *s, long long *out)
{
  const char *p = s;
  char *end;
  double v;
  long long mult = 1;

  /* ^[0-9]+(\.[0-9]+)* ?[kKmMgGtTpP]?[iI]?[bB]?$ as docker's units has it. */
  if (!isdigit ((unsigned char) *p))
    return -EINVAL;
  errno = 0;
  v = strtod (p, &end);
  if (errno || end == p)
    return -EINVAL;
  p = end;
  if (*p == ' ')
    p++;
  switch (*p)
    {
    case 'k': case 'K': mult = 1LL << 10; p++; break;
    case 'm': case 'M': mult = 1LL << 20; p++; break;
    case 'g': case 'G': mult = 1LL << 30; p++; break;
    case 't': case 'T': mult = 1LL << 40; p++; break;
    case 'p': case 'P': mult = 1LL << 50; p++; break;
    default: break;
    }
  if (mult > 1 && (*p == 'i' || *p == 'I'))
    p++;
  if (*p == 'b' || *p == 'B')
    p++;
  if (*p != '\0' || strchr (s, 'e') || strchr (s, 'E') || strchr (s, 'x'))
    return -EINVAL;
  v *= (double) mult;
  if (v >= 9.2e18)
    return -ERANGE;
  *out = (long long) v;
  return 0;
}

static void set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = xstrdup (v);
}

/* Copies every non-zero setting of r into base (allocating sections) and
 * into delta (borrowing r's strings): what to write now. */
static void merge (ward_resources_t *base, const ward_resources_t *r, ward_resources_t *delta,
                   ward_memory_t *dm, ward_cpu_t *dc, ward_blkio_t *db)
{
  memset (delta, 0, sizeof *delta);
  if (r->memory)
    {
      const ward_memory_t *m = r->memory;
      ward_memory_t *b = base->memory ? base->memory : (base->memory = xzalloc (sizeof *b));
      memset (dm, 0, sizeof *dm);
#define MEM(f)                                                                                 \
  if (m->has_##f && m->f != 0)                                                                 \
    b->has_##f = dm->has_##f = true, b->f = dm->f = m->f;
      MEM (limit)
      MEM (reservation)
      MEM (swap)
      MEM (swappiness)
#undef MEM
      if (m->has_kernel && m->kernel != 0)
        ward_warn ("Kernel memory settings are ignored and will be removed");
      else if (m->has_kernel_tcp && m->kernel_tcp != 0)
        ward_warn ("Kernel memory settings are ignored and will be removed");
      if (m->has_disable_oom_killer)
        b->has_disable_oom_killer = dm->has_disable_oom_killer = true,
        b->disable_oom_killer = dm->disable_oom_killer = m->disable_oom_killer;
      delta->memory = dm;
    }
  if (r->cpu)
    {
      const ward_cpu_t *c = r->cpu;
      ward_cpu_t *b = base->cpu ? base->cpu : (base->cpu = xzalloc (sizeof *b));
      memset (dc, 0, sizeof *dc);
#define CPU(f)                                                                                 \
  if (c->has_##f && c->f != 0)                                                                 \
    b->has_##f = dc->has_##f = true, b->f = dc->f = c->f;
      CPU (shares)
      CPU (quota)
      CPU (burst)
      CPU (period)
      CPU (realtime_runtime)
      CPU (realtime_period)
#undef CPU
      if (c->has_idle)
        b->has_idle = dc->has_idle = true, b->idle = dc->idle = c->idle;
      if (c->cpus && c->cpus[0])
        set_str (&b->cpus, c->cpus), dc->cpus = c->cpus;
      if (c->mems && c->mems[0])
        set_str (&b->mems, c->mems), dc->mems = c->mems;
      delta->cpu = dc;
    }
  if (r->block_io)
    {
      memset (db, 0, sizeof *db);
      *db = *r->block_io;
      db->has_weight = r->block_io->has_weight && r->block_io->weight != 0;
      db->has_leaf_weight = r->block_io->has_leaf_weight && r->block_io->leaf_weight != 0;
      if (db->has_weight)
        {
          ward_blkio_t *b = base->block_io ? base->block_io
                                           : (base->block_io = xzalloc (sizeof *b));
          b->has_weight = true;
          b->weight = db->weight;
        }
      delta->block_io = db;
    }
  if (r->has_pids_limit && r->pids_limit != 0)
    {
      base->has_pids_limit = delta->has_pids_limit = true;
      base->pids_limit = delta->pids_limit = r->pids_limit;
    }
  /* Sections runc's update passes through unchanged and does not record. */
  delta->hugepage_limits = r->hugepage_limits;
  delta->hugepage_limits_len = r->hugepage_limits_len;
  delta->network = r->network;
  delta->rdma = r->rdma;
  delta->rdma_len = r->rdma_len;
  delta->unified = r->unified;
  delta->unified_len = r->unified_len;
}

/* The resources in force: the last update's, else the config's. */
static int current_resources (int dirfd, const ward_runtime_state_t *st, ward_resources_t **out,
                              ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_config_ ward_config_t *cfg = NULL;
  _cleanup_free_ char *path = NULL;
  size_t len;
  int ret;

  ret = ward_read_file_at (dirfd, RESOURCES_FILE, &data, &len, 0, err);
  if (ret == 0)
    return ward_resources_parse (data, len, out, err);
  if (ret != -ENOENT)
    return ret;
  ward_error_free (err);
  path = st->config_copy ? xasprintf ("/proc/self/fd/%d/config.json", dirfd)
                         : xasprintf ("%s/config.json", st->bundle ? st->bundle : ".");
  if (ward_config_load_file (path, &cfg, NULL) == 0 && cfg->linux_ && cfg->linux_->resources)
    {
      *out = TAKE_PTR (cfg->linux_->resources);
      /* Devices are not updated (runc skips them too). */
      for (size_t i = 0; i < (*out)->devices_len; i++)
        {
          free ((*out)->devices[i].type);
          free ((*out)->devices[i].access);
        }
      free ((*out)->devices);
      (*out)->devices = NULL;
      (*out)->devices_len = 0;
      return 0;
    }
  return ward_resources_parse ("{}", 2, out, err);
}

int ward_container_update (const char *root, const char *id, const ward_resources_t *res,
                           ward_error_t **err)
{
  _cleanup_close_ int rootfd = -1;
  _cleanup_close_ int dirfd = -1;
  _cleanup_close_ int lockfd = -1;
  _cleanup_rtstate_ ward_runtime_state_t *st = NULL;
  _cleanup_cgroup_ ward_cgroup_t *cg = NULL;
  ward_resources_t *base = NULL;
  ward_resources_t delta;
  ward_memory_t dm;
  ward_cpu_t dc;
  ward_blkio_t db;
  _cleanup_free_ char *json = NULL;
  int ret;

  ret = ward_runtime_open_existing (root, id, &rootfd, &dirfd, &lockfd, &st, err);
  if (ret < 0)
    return ret;
  if (strcmp (ward_runtime_state_status (dirfd, st, true), "stopped") == 0)
    return ward_error_set_ret (err, -ESRCH, 0, "container not running");
  ret = ward_runtime_restore_cgroup (st, &cg, err);
  if (ret < 0)
    return ret;
  ret = current_resources (dirfd, st, &base, err);
  if (ret < 0)
    return ret;
  merge (base, res, &delta, &dm, &dc, &db);
  ret = ward_cgroup_apply (cg, &delta, err);
  if (ret == 0)
    {
      json = ward_resources_to_json (base);
      ret = ward_write_file_atomic (dirfd, RESOURCES_FILE, json, strlen (json), 0600, err);
    }
  ward_resources_free (base);
  return ret;
}
