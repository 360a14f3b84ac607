/* runtime/manager, specs/container_spec.c and cli/docker: the pure parts
 * (names and ids, restart policies, json-file lines, ps status, filters
 * and --format templates, docker's flag syntax, run-flag value parsers,
 * and the config built from an image config plus flags). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cli/docker/flags.h"
#include "cli/docker/template.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "runtime/manager/manager.h"
#include "specs/specs.h"
#include "tests/unit/tap.h"

static void test_ids_names (void)
{
  char a[65], b[65];
  _cleanup_free_ char *gen = NULL;
  ward_mgr_id_new (a);
  ward_mgr_id_new (b);
  tap_ok (strlen (a) == 64 && strspn (a, "0123456789abcdef") == 64, "id is 64 lower-case hex");
  tap_ok (strcmp (a, b) != 0, "two ids differ");
  tap_ok (ward_mgr_name_valid ("web"), "name 'web' valid");
  tap_ok (ward_mgr_name_valid ("/web-1.a_b"), "name '/web-1.a_b' valid");
  tap_ok (!ward_mgr_name_valid ("-web"), "name '-web' invalid");
  tap_ok (!ward_mgr_name_valid ("a"), "one-character name invalid (docker needs two)");
  tap_ok (!ward_mgr_name_valid ("we b"), "name with space invalid");
  tap_ok (!ward_mgr_name_valid (""), "empty name invalid");
  gen = ward_mgr_name_generate (a);
  tap_ok (ward_mgr_name_valid (gen), "generated name '%s' is valid", gen);
}

static void test_restart (void)
{
  _cleanup_error_ ward_error_t *e = NULL;
  char *name = NULL;
  int max = -1;
  tap_ok (ward_mgr_restart_parse ("on-failure:3", &name, &max, &e) == 0 && strcmp (name, "on-failure") == 0
              && max == 3,
          "restart on-failure:3");
  free (name);
  tap_ok (ward_mgr_restart_parse ("always", &name, &max, &e) == 0 && strcmp (name, "always") == 0 && max == 0,
          "restart always");
  free (name);
  tap_ok (ward_mgr_restart_parse (NULL, &name, &max, &e) == 0 && strcmp (name, "no") == 0, "restart default no");
  free (name);
  tap_ok (ward_mgr_restart_parse ("always:3", &name, &max, &e) < 0 && e
              && strstr (e->msg, "invalid restart policy"),
          "restart always:3 refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_restart_parse ("sometimes", &name, &max, &e) < 0, "restart sometimes refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_restart_wanted ("on-failure", 2, 1, 1, false), "on-failure:2 restarts the 2nd time");
  tap_ok (!ward_mgr_restart_wanted ("on-failure", 2, 2, 1, false), "on-failure:2 stops after 2");
  tap_ok (!ward_mgr_restart_wanted ("on-failure", 0, 5, 0, false), "on-failure ignores exit 0");
  tap_ok (ward_mgr_restart_wanted ("always", 0, 9, 0, false), "always restarts on exit 0");
  tap_ok (!ward_mgr_restart_wanted ("always", 0, 0, 1, true), "manually stopped never restarts");
  tap_ok (!ward_mgr_restart_wanted ("no", 0, 0, 1, false), "no never restarts");
}

static void test_log_and_time (void)
{
  struct timespec ts = { 1700000000, 123456789 }, back;
  _cleanup_free_ char *line = ward_mgr_log_line ("stdout", "hi \"x\"\t<a>\n", 11, &ts);
  _cleanup_free_ char *t = ward_mgr_time_format (&ts);
  _cleanup_json_ json_object *o = json_tokener_parse (line);
  json_object *v;

  tap_is_str (line,
              "{\"log\":\"hi \\\"x\\\"\\t\\u003ca\\u003e\\n\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.123456789Z\"}\n",
              "json-file line");
  tap_ok (o && json_object_object_get_ex (o, "log", &v) && strcmp (json_object_get_string (v), "hi \"x\"\t<a>\n") == 0,
          "json-file line parses back");
  tap_is_str (t, "2023-11-14T22:13:20.123456789Z", "RFC 3339 nano");
  tap_ok (ward_mgr_time_parse (t, &back) == 0 && back.tv_sec == ts.tv_sec && back.tv_nsec == ts.tv_nsec,
          "time parses back");
  tap_ok (ward_mgr_time_parse ("2023-11-14T22:13:20Z", &back) == 0 && back.tv_nsec == 0,
          "time without fraction");
  tap_ok (ward_mgr_time_parse ("yesterday", &back) < 0, "bad time refused");
  {
    _cleanup_free_ char *a = ward_mgr_human_duration (0);
    _cleanup_free_ char *b = ward_mgr_human_duration (5);
    _cleanup_free_ char *c = ward_mgr_human_duration (90);
    _cleanup_free_ char *d = ward_mgr_human_duration (3 * 3600);
    tap_is_str (a, "Less than a second", "duration 0");
    tap_is_str (b, "5 seconds", "duration 5s");
    tap_is_str (c, "About a minute", "duration 90s");
    tap_is_str (d, "3 hours", "duration 3h");
  }
}

static json_object *fake_record (void)
{
  return json_tokener_parse (
      "{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Name\":\"/web\","
      "\"Created\":\"2023-11-14T22:13:20Z\",\"Image\":\"sha256:abcdef\","
      "\"State\":{\"Status\":\"exited\",\"ExitCode\":3,\"StartedAt\":\"2023-11-14T22:13:20Z\","
      "\"FinishedAt\":\"2023-11-14T22:13:30Z\"},"
      "\"Config\":{\"Image\":\"busybox\",\"Labels\":{\"tier\":\"front\",\"x\":\"\"}}}");
}

static void test_status_filters (void)
{
  _cleanup_json_ json_object *r = fake_record ();
  _cleanup_free_ char *st = ward_mgr_status_string (r, 1700000000 + 10 + 120);
  _cleanup_error_ ward_error_t *e = NULL;
  bool m = false;

  tap_is_str (st, "Exited (3) 2 minutes ago", "ps status of an exited container");
  json_object_object_add (json_object_object_get (r, "State"), "Status", json_object_new_string ("running"));
  {
    _cleanup_free_ char *up = ward_mgr_status_string (r, 1700000000 + 5);
    tap_is_str (up, "Up 5 seconds", "ps status of a running container");
  }
  tap_ok (ward_mgr_filter_match (r, "name=we", &m, &e) == 0 && m, "filter name= substring");
  tap_ok (ward_mgr_filter_match (r, "name=db", &m, &e) == 0 && !m, "filter name= mismatch");
  tap_ok (ward_mgr_filter_match (r, "id=0123", &m, &e) == 0 && m, "filter id= prefix");
  tap_ok (ward_mgr_filter_match (r, "status=running", &m, &e) == 0 && m, "filter status=running");
  tap_ok (ward_mgr_filter_match (r, "status=exited", &m, &e) == 0 && !m, "filter status=exited mismatch");
  tap_ok (ward_mgr_filter_match (r, "label=tier", &m, &e) == 0 && m, "filter label=KEY");
  tap_ok (ward_mgr_filter_match (r, "label=tier=front", &m, &e) == 0 && m, "filter label=KEY=VALUE");
  tap_ok (ward_mgr_filter_match (r, "label=tier=back", &m, &e) == 0 && !m, "filter label value mismatch");
  tap_ok (ward_mgr_filter_match (r, "ancestor=busybox", &m, &e) == 0 && m, "filter ancestor=");
  tap_ok (ward_mgr_filter_match (r, "status=sleepy", &m, &e) < 0, "filter status=bogus refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_filter_match (r, "colour=red", &m, &e) < 0 && strstr (e->msg, "invalid filter"),
          "unknown filter key refused");
}

static const ward_flag_def_t defs[] = {
  { "detach", 'd', WARD_FLAG_BOOL, 1 },   { "interactive", 'i', WARD_FLAG_BOOL, 2 },
  { "tty", 't', WARD_FLAG_BOOL, 3 },      { "env", 'e', WARD_FLAG_VALUE, 4 },
  { "name", 0, WARD_FLAG_VALUE, 5 },      { "rm", 0, WARD_FLAG_BOOL, 6 },
  { "publish", 'p', WARD_FLAG_VALUE, 7 }, { NULL, 0, 0, 0 },
};

static void test_flags (void)
{
  char *argv[] = { "-dit", "--name=web", "-e", "A=1", "--env", "B=2", "-eC=3", "-p8080:80",
                   "--rm=false", "busybox", "sh", "-c", "echo -d", NULL };
  ward_flags_t f;
  int ret = ward_flags_parse (defs, 13, argv, false, &f);
  tap_ok (ret == 0, "flags parse");
  tap_ok (f.n == 9, "9 values (got %zu)", f.n);
  tap_ok (f.n >= 9 && f.vals[0].id == 1 && f.vals[1].id == 2 && f.vals[2].id == 3, "-dit bundles d, i, t");
  tap_ok (f.n >= 9 && f.vals[3].id == 5 && strcmp (f.vals[3].value, "web") == 0, "--name=web");
  tap_ok (f.n >= 9 && strcmp (f.vals[4].value, "A=1") == 0 && strcmp (f.vals[5].value, "B=2") == 0
              && strcmp (f.vals[6].value, "C=3") == 0,
          "-e X, --env X and -eX repeat");
  tap_ok (f.n >= 9 && f.vals[7].id == 7 && strcmp (f.vals[7].value, "8080:80") == 0, "-p8080:80");
  tap_ok (f.n >= 9 && f.vals[8].id == 6 && strcmp (f.vals[8].value, "false") == 0, "--rm=false");
  tap_ok (f.n_args == 4 && strcmp (f.args[0], "busybox") == 0 && strcmp (f.args[3], "echo -d") == 0,
          "flags stop at the image; the command keeps its own flags");
  ward_flags_free (&f);

  {
    char *a2[] = { "c1", "-d", "c2", NULL };
    ret = ward_flags_parse (defs, 3, a2, true, &f);
    tap_ok (ret == 0 && f.n == 1 && f.n_args == 2, "interspersed flags (rm c1 -f c2)");
    ward_flags_free (&f);
  }
  {
    char *a3[] = { "--bogus", NULL };
    ret = ward_flags_parse (defs, 1, a3, true, &f);
    tap_ok (ret < 0 && f.error && strcmp (f.error, "unknown flag: --bogus") == 0, "unknown flag message");
    ward_flags_free (&f);
  }
  {
    char *a4[] = { "-dx", NULL };
    ret = ward_flags_parse (defs, 1, a4, true, &f);
    tap_ok (ret < 0 && f.error && strstr (f.error, "unknown shorthand flag: 'x' in -dx"), "unknown shorthand message");
    ward_flags_free (&f);
  }
  {
    char *a5[] = { "--name", NULL };
    ret = ward_flags_parse (defs, 1, a5, true, &f);
    tap_ok (ret < 0 && f.error && strstr (f.error, "flag needs an argument: --name"), "missing value");
    ward_flags_free (&f);
  }
  {
    char *a6[] = { "-d", "--", "-x", NULL };
    ret = ward_flags_parse (defs, 3, a6, true, &f);
    tap_ok (ret == 0 && f.n_args == 1 && strcmp (f.args[0], "-x") == 0, "-- ends the flags");
    ward_flags_free (&f);
  }
}

static const char *lookup (const char *field, void *data)
{
  (void) data;
  if (strcmp (field, "ID") == 0)
    return "0123456789ab";
  if (strcmp (field, "Names") == 0)
    return "web";
  if (strcmp (field, "State.Status") == 0)
    return "running";
  if (strcmp (field, "json:State") == 0)
    return "J(State)";
  if (strcmp (field, "json:") == 0)
    return "J()";
  return NULL;
}

static void test_templates (void)
{
  ward_tmpl_t t;
  char *err = NULL;
  _cleanup_free_ char *line = NULL;
  _cleanup_free_ char *hdr = NULL;

  tap_ok (ward_tmpl_parse ("table {{.ID}}\\t{{ .Names }}", &t, &err) == 0 && t.table, "table template parses");
  line = ward_tmpl_render (&t, lookup, NULL, &err);
  tap_is_str (line, "0123456789ab\tweb", "row rendered, \\t is a tab");
  hdr = ward_tmpl_header (&t);
  tap_is_str (hdr, "CONTAINER ID\tNAMES", "table header");
  ward_tmpl_clear (&t);
  tap_ok (ward_tmpl_parse ("{{.Names}}: {{.State.Status}}", &t, &err) == 0 && !t.table, "plain template");
  free (line);
  line = ward_tmpl_render (&t, lookup, NULL, &err);
  tap_is_str (line, "web: running", "dotted fields");
  ward_tmpl_clear (&t);
  ward_tmpl_parse ("{{.Nope}}", &t, &err);
  free (line);
  line = ward_tmpl_render (&t, lookup, NULL, &err);
  tap_ok (line == NULL && err && strstr (err, "can't evaluate field Nope"), "unknown field is an error");
  free (err);
  err = NULL;
  ward_tmpl_clear (&t);
  ward_tmpl_parse ("{{json .State}}|{{json .}}", &t, &err);
  free (line);
  line = ward_tmpl_render (&t, lookup, NULL, &err);
  tap_is_str (line, "J(State)|J()", "{{json .X}} and {{json .}}");
  ward_tmpl_clear (&t);
  tap_ok (ward_tmpl_parse ("{{.ID", &t, &err) < 0 && err, "unclosed action refused");
  free (err);
  {
    char *rows[] = { "CONTAINER ID\tIMAGE\tNAMES", "abc\tbusybox\tweb" };
    _cleanup_free_ char *out = ward_tabwrite (rows, 2, 10, 3);
    tap_is_str (out, "CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n",
                "tabwriter: minwidth 10, padding 3");
  }
}

static void test_value_parsers (void)
{
  _cleanup_error_ ward_error_t *e = NULL;
  ward_cspec_mount_t m;
  ward_rlimit_t rl;
  int64_t b;

  tap_ok (ward_mgr_parse_bytes ("64m", &b) == 0 && b == 64LL << 20, "64m");
  tap_ok (ward_mgr_parse_bytes ("1g", &b) == 0 && b == 1LL << 30, "1g");
  tap_ok (ward_mgr_parse_bytes ("512KiB", &b) == 0 && b == 512LL << 10, "512KiB");
  tap_ok (ward_mgr_parse_bytes ("100", &b) == 0 && b == 100, "100 bytes");
  tap_ok (ward_mgr_parse_bytes ("12q", &b) < 0, "bad unit refused");

  tap_ok (ward_mgr_parse_bind ("/host:/ctr:ro", &m, &e) == 0 && strcmp (m.type, "bind") == 0
              && strcmp (m.source, "/host") == 0 && strcmp (m.destination, "/ctr") == 0
              && m.options && strcmp (m.options[2], "ro") == 0,
          "-v /host:/ctr:ro");
  ward_mgr_cspec_mount_clear (&m);
  tap_ok (ward_mgr_parse_bind ("vol:/ctr", &m, &e) < 0 && strstr (e->msg, "named volumes"), "named volume refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_parse_bind ("/a:/b:xx", &m, &e) < 0, "bad bind mode refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_parse_tmpfs ("/run:size=1m", &m, &e) == 0 && strcmp (m.type, "tmpfs") == 0
              && strcmp (m.options[3], "size=1m") == 0,
          "--tmpfs /run:size=1m");
  ward_mgr_cspec_mount_clear (&m);
  tap_ok (ward_mgr_parse_mount ("type=bind,source=/s,target=/t,readonly", &m, &e) == 0
              && strcmp (m.source, "/s") == 0 && strcmp (m.options[2], "ro") == 0,
          "--mount type=bind,readonly");
  ward_mgr_cspec_mount_clear (&m);
  tap_ok (ward_mgr_parse_mount ("type=tmpfs,target=/t,tmpfs-size=1m", &m, &e) == 0
              && strcmp (m.options[3], "size=1048576") == 0,
          "--mount type=tmpfs,tmpfs-size");
  ward_mgr_cspec_mount_clear (&m);
  tap_ok (ward_mgr_parse_ulimit ("nofile=1024:2048", &rl, &e) == 0 && strcmp (rl.type, "RLIMIT_NOFILE") == 0
              && rl.soft == 1024 && rl.hard == 2048,
          "--ulimit nofile=1024:2048");
  free (rl.type);
  tap_ok (ward_mgr_parse_ulimit ("nproc=10", &rl, &e) == 0 && rl.soft == 10 && rl.hard == 10, "--ulimit nproc=10");
  free (rl.type);
  tap_ok (ward_mgr_parse_ulimit ("nofile=20:10", &rl, &e) < 0, "soft > hard refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_parse_ulimit ("bogus=1", &rl, &e) < 0, "unknown ulimit refused");
}

static bool strv_has (char **v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

static void test_caps_args (void)
{
  _cleanup_error_ ward_error_t *e = NULL;
  char **caps = NULL;
  char *add[] = { "sys_admin", NULL }, *drop[] = { "NET_RAW", "CAP_KILL", NULL }, *all[] = { "ALL", NULL };
  size_t n = 0;

  tap_ok (ward_container_caps (false, NULL, NULL, &caps, &e) == 0, "default caps");
  while (caps && caps[n])
    n++;
  tap_ok (n == 14 && strv_has (caps, "CAP_NET_BIND_SERVICE") && !strv_has (caps, "CAP_SYS_ADMIN"),
          "docker's 14 default caps");
  ward_strv_freep (&caps);
  tap_ok (ward_container_caps (false, add, drop, &caps, &e) == 0 && strv_has (caps, "CAP_SYS_ADMIN")
              && !strv_has (caps, "CAP_NET_RAW") && !strv_has (caps, "CAP_KILL"),
          "--cap-add sys_admin --cap-drop NET_RAW,CAP_KILL");
  ward_strv_freep (&caps);
  tap_ok (ward_container_caps (false, NULL, all, &caps, &e) == 0 && caps[0] == NULL, "--cap-drop ALL");
  ward_strv_freep (&caps);
  tap_ok (ward_container_caps (false, add, all, &caps, &e) == 0 && caps[0] && strcmp (caps[0], "CAP_SYS_ADMIN") == 0
              && caps[1] == NULL,
          "--cap-drop ALL --cap-add SYS_ADMIN");
  ward_strv_freep (&caps);
  tap_ok (ward_container_caps_bounded (true, NULL, NULL, 1ULL << 21, &caps, &e) == 0 && caps[0]
              && strcmp (caps[0], "CAP_SYS_ADMIN") == 0 && caps[1] == NULL,
          "--privileged limited to the caller's bounding set");
  ward_strv_freep (&caps);
  {
    char *bad[] = { "CAP_FLY", NULL };
    tap_ok (ward_container_caps (false, bad, NULL, &caps, &e) < 0 && strstr (e->msg, "CAP_FLY"),
            "unknown capability refused");
    ward_error_free (&e);
  }
}

static ward_oci_image_config_t *image_config (void)
{
  const char *j = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"\","
                  "\"Env\":[\"PATH=/bin\",\"A=image\"],\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"default\"],"
                  "\"WorkingDir\":\"/srv\",\"StopSignal\":\"SIGQUIT\"},"
                  "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  ward_oci_image_config_t *c = NULL;
  ward_error_t *e = NULL;
  if (ward_oci_image_config_parse (j, strlen (j), &c, &e) < 0)
    {
      tap_diag ("image config: %s", e->msg);
      ward_error_free (&e);
    }
  return c;
}

static void test_spec (void)
{
  ward_oci_image_config_t *img = image_config ();
  char *env[] = { "A=flag", "B=2", NULL };
  char *cmd[] = { "x", "y", NULL };
  char *drop[] = { "ALL", NULL };
  char *ro_opts[] = { "rbind", "rprivate", "ro", NULL };
  ward_cspec_mount_t mounts[] = { { "bind", "/host", "/data", ro_opts } };
  uint32_t gids[] = { 10, 20 };
  ward_container_spec_opts_t o = {
    .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    .cmd = cmd, .env = env, .uid = 1000, .gid = 1000, .gids = gids, .gids_len = 2,
    .memory = 64 << 20, .nano_cpus = 1500000000, .pids_limit = 100, .read_only = true,
    .cap_drop = drop, .mounts = mounts, .mounts_len = 1, .hosts_path = "/c/hosts",
    .hostname_path = "/c/hostname", .resolv_conf_path = "/c/resolv.conf", .shm_size = 0,
    .seccomp_json = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
  };
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ char *json = NULL;
  _cleanup_config_ ward_config_t *cfg = NULL;
  char **args = NULL;

  if (img == NULL)
    {
      tap_ok (0, "image config parses");
      return;
    }
  tap_ok (ward_container_spec_build (&o, img, &json, &e) == 0, "spec builds%s%s", e ? ": " : "", e ? e->msg : "");
  if (json == NULL || ward_config_parse (json, strlen (json), &cfg, &e) < 0)
    {
      tap_ok (0, "generated config parses");
      ward_oci_image_config_free (img);
      return;
    }
  tap_ok (cfg->process->args_len == 3 && strcmp (cfg->process->args[0], "/ep") == 0
              && strcmp (cfg->process->args[1], "x") == 0,
          "args = image Entrypoint + run args (Cmd replaced)");
  tap_is_str (cfg->hostname, "0123456789ab", "hostname = first 12 of the id");
  tap_is_str (cfg->process->cwd, "/srv", "cwd = image WorkingDir");
  tap_ok (cfg->process->user.uid == 1000 && cfg->process->user.gid == 1000
              && cfg->process->user.additional_gids_len == 2,
          "user and supplementary groups");
  {
    bool a_flag = false, a_image = false, b = false, host = false, path = false;
    for (size_t i = 0; i < cfg->process->env_len; i++)
      {
        a_flag |= strcmp (cfg->process->env[i], "A=flag") == 0;
        a_image |= strcmp (cfg->process->env[i], "A=image") == 0;
        b |= strcmp (cfg->process->env[i], "B=2") == 0;
        host |= strcmp (cfg->process->env[i], "HOSTNAME=0123456789ab") == 0;
        path |= strcmp (cfg->process->env[i], "PATH=/bin") == 0;
      }
    tap_ok (a_flag && !a_image && b && host && path, "env: image PATH, HOSTNAME, -e overrides");
  }
  tap_ok (cfg->root->readonly, "--read-only");
  tap_ok (cfg->process->capabilities && cfg->process->capabilities->effective
              && cfg->process->capabilities->effective[0] == NULL,
          "--cap-drop ALL empties the sets");
  tap_ok (cfg->linux_->resources && cfg->linux_->resources->memory
              && cfg->linux_->resources->memory->limit == 64 << 20,
          "memory limit");
  tap_ok (cfg->linux_->resources->cpu && cfg->linux_->resources->cpu->quota == 150000
              && cfg->linux_->resources->cpu->period == 100000,
          "--cpus 1.5 = quota 150000/100000");
  tap_ok (cfg->linux_->resources->has_pids_limit && cfg->linux_->resources->pids_limit == 100, "pids limit");
  tap_ok (cfg->linux_->seccomp != NULL, "seccomp profile embedded");
  tap_ok (cfg->linux_->masked_paths_len >= 10 && cfg->linux_->readonly_paths_len == 5, "docker's masked/readonly paths");
  tap_ok (ward_config_namespace (cfg, WARD_NS_NETWORK) != NULL, "own network namespace (--network none)");
  {
    bool shm = false, data = false, hosts = false;
    for (size_t i = 0; i < cfg->mounts_len; i++)
      {
        ward_mount_t *m = &cfg->mounts[i];
        if (strcmp (m->destination, "/dev/shm") == 0)
          for (size_t k = 0; k < m->options_len; k++)
            shm |= strcmp (m->options[k], "size=67108864") == 0;
        data |= strcmp (m->destination, "/data") == 0 && strcmp (m->source, "/host") == 0;
        hosts |= strcmp (m->destination, "/etc/hosts") == 0 && strcmp (m->source, "/c/hosts") == 0;
      }
    tap_ok (shm, "/dev/shm 64m by default");
    tap_ok (data, "-v bind mount in mounts");
    tap_ok (hosts, "/etc/hosts bound from the container dir");
  }

  /* --entrypoint resets the image Cmd; no command at all is an error */
  {
    char *ep[] = { "sh", NULL };
    ward_container_spec_opts_t o2 = { .id = o.id, .entrypoint = ep, .has_entrypoint = true };
    tap_ok (ward_container_args (&o2, img, &args, &e) == 0 && args[0] && strcmp (args[0], "sh") == 0 && args[1] == NULL,
            "--entrypoint drops the image Cmd");
    ward_strv_freep (&args);
    ward_container_spec_opts_t o3 = { .id = o.id };
    tap_ok (ward_container_args (&o3, img, &args, &e) == 0 && args[1] && strcmp (args[1], "default") == 0,
            "image Entrypoint + Cmd");
    ward_strv_freep (&args);
    ward_container_spec_opts_t o4 = { .id = o.id, .has_entrypoint = true, .entrypoint = NULL };
    tap_ok (ward_container_args (&o4, NULL, &args, &e) < 0 && strstr (e->msg, "No command specified"),
            "no command: docker's error");
  }
  {
    ward_container_spec_opts_t o5 = { .id = o.id, .cmd = cmd, .privileged = true, .host_network = true };
    _cleanup_free_ char *j2 = NULL;
    _cleanup_config_ ward_config_t *c2 = NULL;
    _cleanup_error_ ward_error_t *e2 = NULL;
    tap_ok (ward_container_spec_build (&o5, img, &j2, &e2) == 0 && ward_config_parse (j2, strlen (j2), &c2, &e2) == 0
                && c2->linux_->seccomp == NULL && c2->linux_->masked_paths_len == 0
                && ward_config_namespace (c2, WARD_NS_NETWORK) == NULL,
            "--privileged --network host: no seccomp, no masks, host netns");
  }
  ward_oci_image_config_free (img);
}

/* <root>/containers/<id>/config.v2.json with that text */
static void write_record_json (const char *root, const char *id, const char *json)
{
  _cleanup_free_ char *dir = xasprintf ("%s/containers/%s", root, id);
  _cleanup_free_ char *path = xasprintf ("%s/config.v2.json", dir);
  FILE *f;
  mkdir (dir, 0700);
  f = fopen (path, "w");
  if (f)
    {
      fputs (json, f);
      fclose (f);
    }
}

static void write_record (const char *root, const char *id, const char *name)
{
  _cleanup_free_ char *json = xasprintf ("{\"Id\":\"%s\",\"Name\":\"/%s\",\"Created\":\"2023-11-14T22:13:2%cZ\","
                                         "\"State\":{\"Status\":\"exited\",\"ExitCode\":0}}",
                                         id, name, id[0]);
  write_record_json (root, id, json);
}

static void test_records (void)
{
  char tmpl[] = "/tmp/ward-test-manager.XXXXXX";
  char *root = mkdtemp (tmpl);
  _cleanup_error_ ward_error_t *e = NULL;
  ward_mgr_t *m = NULL;
  char *id = NULL;
  const char *a = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *b = "1122222222222222222222222222222222222222222222222222222222222222";
  const char *c = "3333333333333333333333333333333333333333333333333333333333333333";
  json_object **recs = NULL;
  size_t n = 0;

  if (root == NULL || ward_mgr_open (root, &m, &e) < 0)
    {
      tap_skip ("cannot create a temporary manager root");
      return;
    }
  write_record (root, a, "alpha");
  write_record (root, b, "beta");
  write_record (root, c, "111");
  tap_ok (ward_mgr_lookup (m, "beta", &id, &e) == 0 && strcmp (id, b) == 0, "lookup by name");
  free (id);
  tap_ok (ward_mgr_lookup (m, "/alpha", &id, &e) == 0 && strcmp (id, a) == 0, "lookup by /name");
  free (id);
  tap_ok (ward_mgr_lookup (m, "112", &id, &e) == 0 && strcmp (id, b) == 0, "lookup by unique id prefix");
  free (id);
  tap_ok (ward_mgr_lookup (m, c, &id, &e) == 0 && strcmp (id, c) == 0, "lookup by full id");
  free (id);
  tap_ok (ward_mgr_lookup (m, "111", &id, &e) == 0 && strcmp (id, c) == 0, "an exact name wins over an id prefix");
  free (id);
  tap_ok (ward_mgr_lookup (m, "11", &id, &e) < 0 && strstr (e->msg, "multiple IDs found"), "ambiguous prefix refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_lookup (m, "nope", &id, &e) == -ENOENT && strcmp (e->msg, "No such container: nope") == 0,
          "docker's 'No such container' error");
  ward_error_free (&e);
  tap_ok (ward_mgr_list (m, &recs, &n, &e) == 0 && n == 3, "list finds 3 records");
  tap_ok (n == 3 && strcmp (ward_mgr_rec_str (recs[0], "Id"), c) == 0, "list is newest first");
  ward_mgr_records_free (recs, n);
  {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", root);
    if (system (cmd) != 0)
      tap_diag ("could not remove %s", root);
  }
  ward_mgr_close (m);
}

/* volumes and rename on a temporary root: names, anonymous labels, the
 * in-use refusal from a record's Mounts, prune, rename conflicts */
static void test_volumes (void)
{
  char tmpl[] = "/tmp/ward-test-volumes.XXXXXX";
  char *root = mkdtemp (tmpl);
  _cleanup_error_ ward_error_t *e = NULL;
  ward_mgr_t *m = NULL;
  char *name = NULL, *anon = NULL;
  char **users = NULL, **removed = NULL;
  bool created = false;
  uint64_t reclaimed = 0;
  json_object *v = NULL, **vols = NULL;
  size_t n = 0;
  const char *a = "4444444444444444444444444444444444444444444444444444444444444444";
  const char *b = "5555555555555555555555555555555555555555555555555555555555555555";

  tap_ok (ward_mgr_volume_name_valid ("data1"), "volume name 'data1' valid");
  tap_ok (!ward_mgr_volume_name_valid ("a"), "volume name 'a' too short");
  tap_ok (!ward_mgr_volume_name_valid ("a/b") && !ward_mgr_volume_name_valid ("../x")
              && !ward_mgr_volume_name_valid (".x"),
          "volume names with '/', '..' or a leading '.' refused");
  if (root == NULL || ward_mgr_open (root, &m, &e) < 0)
    {
      tap_skip ("cannot create a temporary manager root");
      return;
    }
  tap_ok (ward_mgr_volume_create (m, "data1", NULL, NULL, &created, &name, &e) == 0 && created
              && strcmp (name, "data1") == 0,
          "volume create data1");
  free (name);
  tap_ok (ward_mgr_volume_create (m, "data1", NULL, NULL, &created, &name, &e) == 0 && !created,
          "creating it again returns the existing one");
  free (name);
  tap_ok (ward_mgr_volume_create (m, "x/y", NULL, NULL, NULL, &name, &e) == -EINVAL
              && strstr (e->msg, "includes invalid characters for a local volume name"),
          "bad volume name: docker's message");
  ward_error_free (&e);
  tap_ok (ward_mgr_volume_create (m, NULL, NULL, NULL, &created, &anon, &e) == 0 && strlen (anon) == 64,
          "anonymous volume gets a 64-hex name");
  tap_ok (ward_mgr_volume_inspect (m, anon, &v, &e) == 0 && ward_mgr_volume_is_anonymous (v),
          "anonymous volume carries com.docker.volume.anonymous");
  json_object_put (v);
  tap_ok (ward_mgr_volume_inspect (m, "nosuch", &v, &e) == -ENOENT && strcmp (e->msg, "get nosuch: no such volume") == 0,
          "inspect of a missing volume: docker's message");
  ward_error_free (&e);
  {
    /* a record mounting data1 */
    _cleanup_free_ char *json = xasprintf ("{\"Id\":\"%s\",\"Name\":\"/user1\",\"Created\":\"2023-11-14T22:13:20Z\","
                                           "\"State\":{\"Status\":\"exited\"},\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"data1\"}]}",
                                           a);
    write_record_json (root, a, json);
  }
  write_record (root, b, "other");
  tap_ok (ward_mgr_volume_users (m, "data1", &users, &e) == 0 && users[0] && strcmp (users[0], a) == 0 && !users[1],
          "volume users: the record that mounts it");
  ward_strv_freep (&users);
  tap_ok (ward_mgr_volume_remove (m, "data1", true, &e) == -EBUSY
              && strstr (e->msg, "remove data1: volume is in use - [4444"),
          "rm of a volume in use refused, even forced");
  ward_error_free (&e);
  tap_ok (ward_mgr_volume_prune (m, false, &removed, &reclaimed, &e) == 0 && removed[0]
              && strcmp (removed[0], anon) == 0 && !removed[1],
          "prune removes the unused anonymous volume only");
  ward_strv_freep (&removed);
  tap_ok (ward_mgr_volume_list (m, &vols, &n, &e) == 0 && n == 1, "data1 is left");
  ward_mgr_records_free (vols, n);
  tap_ok (ward_mgr_rename (m, a, "other", &e) == -EEXIST && strstr (e->msg, "Conflict. The container name \"/other\""),
          "rename to a taken name: docker's conflict");
  ward_error_free (&e);
  tap_ok (ward_mgr_rename (m, a, "user1", &e) == -EINVAL, "rename to the same name refused");
  ward_error_free (&e);
  tap_ok (ward_mgr_rename (m, a, "user2", &e) == 0 && ward_mgr_lookup (m, "user2", &name, &e) == 0
              && strcmp (name, a) == 0,
          "rename, then lookup by the new name");
  free (name);
  free (anon);
  {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", root);
    if (system (cmd) != 0)
      tap_diag ("could not remove %s", root);
  }
  ward_mgr_close (m);
}

int main (void)
{
  test_ids_names ();
  test_restart ();
  test_log_and_time ();
  test_status_filters ();
  test_flags ();
  test_templates ();
  test_value_parsers ();
  test_caps_args ();
  test_spec ();
  test_records ();
  test_volumes ();
  return tap_done ();
}
