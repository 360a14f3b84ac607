/* Container verbs beyond the everyday ones: rename, stats, `start --all`. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/docker/cli.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "runtime/manager/manager.h"
#include "runtime/runtime.h"

int ward_cli_cmd_rename (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  int ret;
  SIMPLE_PARSE (defs, 2, "rename CONTAINER NEW_NAME");
  if (f.n_args != 2)
    return ward_cli_fail (1, "\"ward rename\" requires exactly 2 arguments.\nSee 'ward rename --help'.");
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (ward_mgr_lookup (m, f.args[0], &id, &e) < 0 || ward_mgr_rename (m, id, f.args[1], &e) < 0)
    return ward_cli_fail_err (1, e);
  return 0;
}

int ward_cli_start_all (void)
{
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_strv_ char **ok = NULL;
  _cleanup_strv_ char **bad = NULL;
  int ret = ward_cli_open_mgr (&m);
  if (ret)
    return ret;
  if (ward_mgr_start_all (m, &ok, &bad, &e) < 0)
    return ward_cli_fail_err (1, e);
  for (char **i = ok; *i; i++)
    printf ("%s\n", *i);
  return bad[0] ? 1 : 0;
}

/* ---- stats ------------------------------------------------------------------- */

typedef struct
{
  char id[65], name[256];
  uint64_t cpu0, cpu1, mem, cache, limit, pids;
  uint64_t rx, tx, rd, wr;
  struct timespec t0, t1;
  bool ok;
} stat_row_t;

static uint64_t jget (json_object *o, const char *path)
{
  return (uint64_t) ward_mgr_rec_int (o, path);
}

static bool sample (ward_mgr_t *m, const char *id, uint64_t *cpu, json_object **out)
{
  _cleanup_free_ char *js = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  json_object *o;
  if (ward_container_stats_json (m->rt_root, id, &js, &e) < 0)
    return false;
  o = json_tokener_parse (js);
  if (o == NULL)
    return false;
  *cpu = jget (o, "data.cpu.usage.total");
  *out = o;
  return true;
}

static uint64_t host_mem_total (void)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_error_ ward_error_t *e = NULL;
  char *p;
  if (ward_read_file_at (AT_FDCWD, "/proc/meminfo", &data, NULL, 1 << 16, &e) < 0)
    return 0;
  p = strstr (data, "MemTotal:");
  return p ? strtoull (p + 9, NULL, 10) * 1024 : 0;
}

/* The container's interfaces but lo, from its own netns view. */
static void net_io (pid_t pid, uint64_t *rx, uint64_t *tx)
{
  _cleanup_free_ char *p = xasprintf ("/proc/%d/net/dev", (int) pid);
  _cleanup_fclose_ FILE *f = fopen (p, "re");
  char line[512];
  *rx = *tx = 0;
  if (f == NULL)
    return;
  while (fgets (line, sizeof line, f))
    {
      char *colon = strchr (line, ':'), *name = line;
      unsigned long long r, t, d;
      if (colon == NULL)
        continue;
      *colon = '\0';
      while (*name == ' ')
        name++;
      if (strcmp (name, "lo") == 0)
        continue;
      /* rx bytes, 7 more rx fields, tx bytes */
      if (sscanf (colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &r, &d, &d, &d, &d, &d, &d, &d, &t) == 9)
        {
          *rx += r;
          *tx += t;
        }
    }
}

/* docker's units.HumanSize (decimal) and BytesSize (binary), 4 digits */
static void size_str (char *buf, size_t len, double v, bool binary)
{
  static const char *const dec[] = { "B", "kB", "MB", "GB", "TB", "PB" };
  static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double base = binary ? 1024 : 1000;
  size_t i = 0;
  while (v >= base && i < 5)
    {
      v /= base;
      i++;
    }
  snprintf (buf, len, "%.4g%s", v, binary ? bin[i] : dec[i]);
}

static double elapsed_ns (const struct timespec *a, const struct timespec *b)
{
  return (double) (b->tv_sec - a->tv_sec) * 1e9 + (double) (b->tv_nsec - a->tv_nsec);
}

static const char *stats_lookup (const char *field, void *data)
{
  static char buf[128];
  stat_row_t *r = data;
  char a[32], b[32];
  if (strcmp (field, "Container") == 0 || strcmp (field, "ID") == 0)
    {
      snprintf (buf, sizeof buf, "%.12s", r->id);
      return buf;
    }
  if (strcmp (field, "Name") == 0)
    return r->name;
  if (!r->ok)
    {
      if (strcmp (field, "CPUPerc") == 0 || strcmp (field, "MemPerc") == 0)
        return "--";
      if (strcmp (field, "MemUsage") == 0 || strcmp (field, "NetIO") == 0 || strcmp (field, "BlockIO") == 0)
        return "-- / --";
      if (strcmp (field, "PIDs") == 0)
        return "--";
    }
  if (strcmp (field, "CPUPerc") == 0)
    {
      double wall = elapsed_ns (&r->t0, &r->t1);
      double pct = wall > 0 && r->cpu1 >= r->cpu0 ? (double) (r->cpu1 - r->cpu0) / wall * 100.0 : 0;
      snprintf (buf, sizeof buf, "%.2f%%", pct);
      return buf;
    }
  if (strcmp (field, "MemUsage") == 0)
    {
      size_str (a, sizeof a, (double) r->mem, true);
      size_str (b, sizeof b, (double) r->limit, true);
      snprintf (buf, sizeof buf, "%s / %s", a, b);
      return buf;
    }
  if (strcmp (field, "MemPerc") == 0)
    {
      snprintf (buf, sizeof buf, "%.2f%%", r->limit ? (double) r->mem * 100.0 / (double) r->limit : 0.0);
      return buf;
    }
  if (strcmp (field, "NetIO") == 0 || strcmp (field, "BlockIO") == 0)
    {
      bool net = field[0] == 'N';
      size_str (a, sizeof a, (double) (net ? r->rx : r->rd), false);
      size_str (b, sizeof b, (double) (net ? r->tx : r->wr), false);
      snprintf (buf, sizeof buf, "%s / %s", a, b);
      return buf;
    }
  if (strcmp (field, "PIDs") == 0)
    {
      snprintf (buf, sizeof buf, "%llu", (unsigned long long) r->pids);
      return buf;
    }
  return NULL;
}

static const char *stats_heading (const char *field, void *data)
{
  static const char *const h[][2] = {
    { "Container", "CONTAINER" }, { "ID", "CONTAINER ID" }, { "Name", "NAME" },
    { "CPUPerc", "CPU %" },        { "MemUsage", "MEM USAGE / LIMIT" }, { "MemPerc", "MEM %" },
    { "NetIO", "NET I/O" },        { "BlockIO", "BLOCK I/O" },           { "PIDs", "PIDS" },
  };
  (void) data;
  for (size_t i = 0; i < ARRAY_SIZE (h); i++)
    if (strcmp (h[i][0], field) == 0)
      return h[i][1];
  return NULL;
}

/* blkio: the io_service_bytes_recursive Read/Write totals (v1 and v2) */
static void block_io (json_object *st, uint64_t *rd, uint64_t *wr)
{
  json_object *a;
  *rd = *wr = 0;
  if (!json_object_object_get_ex (st, "data", &st) || !json_object_object_get_ex (st, "blkio", &st)
      || !json_object_object_get_ex (st, "io_service_bytes_recursive", &a) || !json_object_is_type (a, json_type_array))
    return;
  for (size_t i = 0; i < json_object_array_length (a); i++)
    {
      json_object *e = json_object_array_get_idx (a, i);
      const char *op = ward_mgr_rec_str (e, "op");
      uint64_t v = jget (e, "value");
      if (op && strcasecmp (op, "read") == 0)
        *rd += v;
      else if (op && strcasecmp (op, "write") == 0)
        *wr += v;
    }
}

int ward_cli_cmd_stats (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "all", 'a', WARD_FLAG_BOOL, 1 },
                                          { "no-stream", 0, WARD_FLAG_BOOL, 2 },
                                          { "no-trunc", 0, WARD_FLAG_BOOL, 3 },
                                          { "format", 0, WARD_FLAG_VALUE, 4 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_tmpl_ ward_tmpl_t t = { NULL, false };
  _cleanup_free_ stat_row_t *rows = NULL;
  _cleanup_strv_ char **ids = NULL;
  json_object **recs = NULL;
  size_t nrec = 0, n = 0;
  bool all = false, no_stream = false;
  const char *format = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  uint64_t host_mem = host_mem_total ();
  int ret = 0;
  SIMPLE_PARSE (defs, 0, "stats [OPTIONS] [CONTAINER...]");
  for (size_t i = 0; i < f.n; i++)
    switch (f.vals[i].id)
      {
      case 1: all = ward_flag_bool (f.vals[i].value); break;
      case 2: no_stream = ward_flag_bool (f.vals[i].value); break;
      case 4: format = f.vals[i].value; break;
      }
  if ((ret = ward_cli_parse_format (format, &t)) != 0)
    return ret;
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (f.n_args)
    for (size_t i = 0; i < f.n_args; i++)
      {
        _cleanup_free_ char *id = NULL;
        _cleanup_error_ ward_error_t *e = NULL;
        if (ward_mgr_lookup (m, f.args[i], &id, &e) < 0)
          return ward_cli_fail_err (1, e);
        ward_cli_strv_append (&ids, id);
      }
  else
    {
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_mgr_list (m, &recs, &nrec, &e) < 0)
        return ward_cli_fail_err (1, e);
      for (size_t i = nrec; i > 0; i--)
        if (all || ward_mgr_is_running (m, recs[i - 1]))
          ward_cli_strv_append (&ids, ward_mgr_rec_str (recs[i - 1], "Id"));
      ward_mgr_records_free (recs, nrec);
    }
  while (ids && ids[n])
    n++;
  rows = xzalloc ((n + 1) * sizeof *rows);
  for (;;)
    {
      _cleanup_strv_ char **lines = NULL;
      size_t nl = 0;
      /* two samples 0.5 s apart: CPU % is the share of one CPU in between */
      for (size_t i = 0; i < n; i++)
        {
          _cleanup_json_ json_object *rec = NULL;
          _cleanup_json_ json_object *st = NULL;
          _cleanup_error_ ward_error_t *e = NULL;
          stat_row_t *r = &rows[i];
          const char *name;
          snprintf (r->id, sizeof r->id, "%s", ids[i]);
          r->ok = false;
          if (ward_mgr_record_refresh (m, ids[i], &rec, &e) < 0)
            continue;
          name = ward_mgr_rec_str (rec, "Name");
          snprintf (r->name, sizeof r->name, "%s", name ? (name[0] == '/' ? name + 1 : name) : "");
          if (!ward_mgr_is_running (m, rec))
            continue;
          clock_gettime (CLOCK_MONOTONIC, &r->t0);
          r->ok = sample (m, ids[i], &r->cpu0, &st);
          net_io ((pid_t) ward_mgr_rec_int (rec, "State.Pid"), &r->rx, &r->tx);
        }
      {
        struct timespec ts = { 0, 500000000L };
        if (n)
          nanosleep (&ts, NULL);
      }
      for (size_t i = 0; i < n; i++)
        {
          _cleanup_json_ json_object *st = NULL;
          stat_row_t *r = &rows[i];
          if (!r->ok)
            continue;
          clock_gettime (CLOCK_MONOTONIC, &r->t1);
          r->ok = sample (m, ids[i], &r->cpu1, &st);
          if (!r->ok)
            continue;
          /* docker (v1): usage minus the page cache; the limit or the host's RAM */
          r->mem = jget (st, "data.memory.usage.usage");
          r->cache = jget (st, "data.memory.cache");
          r->mem = r->mem > r->cache ? r->mem - r->cache : r->mem;
          r->limit = jget (st, "data.memory.usage.limit");
          if (r->limit == 0 || r->limit > host_mem)
            r->limit = host_mem;
          r->pids = jget (st, "data.pids.current");
          block_io (st, &r->rd, &r->wr);
        }
      if (t.table)
        {
          _cleanup_free_ char *perr = NULL;
          ward_cli_strv_push (&lines, &nl, ward_tmpl_render (&t, stats_heading, NULL, &perr));
        }
      for (size_t i = 0; i < n; i++)
        {
          int rr = ward_cli_render_row (&t, stats_lookup, &rows[i], &lines, &nl);
          if (rr)
            return rr;
        }
      if (!no_stream)
        fputs ("\033[2J\033[H", stdout);
      ward_cli_print_rows (lines, nl, t.table);
      fflush (stdout);
      if (no_stream)
        break;
    }
  return 0;
}
