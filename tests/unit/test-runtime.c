/* runtime/: pure helpers — id rule, signal names, status derivation, list
 * output formats. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/internal.h"
#include "runtime/runtime.h"
#include "tests/unit/tap.h"

/* Multi-line outputs: compare quietly, show both only on failure (a
 * newline in a TAP description would break the protocol). */
static void is_text (const char *got, const char *want, const char *what)
{
  if (!tap_ok (got && strcmp (got, want) == 0, "%s", what))
    {
      tap_diag ("got:  %s", got ? got : "(null)");
      tap_diag ("want: %s", want);
    }
}

static void test_ids (void)
{
  tap_ok (ward_container_id_valid ("abc"), "plain id is valid");
  tap_ok (ward_container_id_valid ("a-b_c.d+e9"), "id with - _ . + and digits is valid");
  tap_ok (!ward_container_id_valid ("."), "\".\" is refused");
  tap_ok (!ward_container_id_valid (".."), "\"..\" is refused");
  tap_ok (!ward_container_id_valid (""), "empty id is refused");
  tap_ok (!ward_container_id_valid ("a/b"), "id with a slash is refused");
  tap_ok (!ward_container_id_valid ("a b"), "id with a space is refused");
  tap_ok (!ward_container_id_valid ("caf\xc3\xa9"), "non-ASCII id is refused");
  tap_ok (ward_container_id_valid ("..a"), "\"..a\" is valid (runc allows it)");
}

static void test_signals (void)
{
  int s = 0;
  tap_ok (ward_container_parse_signal ("KILL", &s) == 0 && s == SIGKILL, "KILL");
  tap_ok (ward_container_parse_signal ("SIGTERM", &s) == 0 && s == SIGTERM, "SIGTERM");
  tap_ok (ward_container_parse_signal ("sigusr1", &s) == 0 && s == SIGUSR1, "lower case sigusr1");
  tap_ok (ward_container_parse_signal ("9", &s) == 0 && s == 9, "number 9");
  tap_ok (ward_container_parse_signal ("RTMIN+2", &s) == 0 && s == SIGRTMIN + 2, "RTMIN+2");
  tap_ok (ward_container_parse_signal ("SIGRTMAX", &s) == 0 && s == SIGRTMAX, "SIGRTMAX");
  tap_ok (ward_container_parse_signal ("FOO", &s) < 0, "FOO is refused");
  tap_ok (ward_container_parse_signal ("0", &s) == 0 && s == 0, "0 is accepted (existence check)");
  tap_ok (ward_container_parse_signal ("65", &s) < 0, "65 is refused");
  tap_ok (ward_container_parse_signal ("-9", &s) < 0, "-9 is refused");
  tap_ok (ward_container_parse_signal ("", &s) < 0, "empty is refused");
}

static void test_status (void)
{
  tap_is_str (ward_container_status_name (false, true, false), "stopped", "dead pid is stopped");
  tap_is_str (ward_container_status_name (true, true, false), "created", "alive + fifo is created");
  tap_is_str (ward_container_status_name (true, false, false), "running", "alive, no fifo is running");
  tap_is_str (ward_container_status_name (true, false, true), "paused", "frozen is paused");
  tap_is_str (ward_container_status_name (true, true, true), "paused",
              "frozen wins over exec.fifo (runc checks the freezer first)");
}

static void test_list (void)
{
  char *keys[] = { "a" }, *vals[] = { "b/c" };
  ward_container_info_t c[2] = {
    { .id = "c1", .pid = 7477, .status = "created", .bundle = "/tmp/rt/b",
      .rootfs = "/tmp/rt/b/rootfs", .created = "2026-11-26T06:04:01.335336617Z", .owner = "root" },
    { .id = "a-much-longer-container-id", .pid = 0, .status = "stopped", .bundle = "/b",
      .rootfs = "/b/rootfs", .created = "2026-11-26T06:04:01Z", .owner = "root",
      .annotation_keys = keys, .annotation_values = vals, .annotations_len = 1 },
  };
  char *t = ward_container_list_table (NULL, 0);
  is_text (t, "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n",
              "empty table is runc's header");
  free (t);
  t = ward_container_list_table (c, 1);
  is_text (t,
              "ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n"
              "c1          7477        created     /tmp/rt/b   2026-11-26T06:04:01.335336617Z   root\n",
              "one row as runc pads it");
  free (t);
  t = ward_container_list_table (c, 2);
  tap_ok (t && strstr (t, "a-much-longer-container-id   0           stopped") != NULL,
          "long id widens the column by 3");
  free (t);
  t = ward_container_list_json (NULL, 0);
  is_text (t, "null\n", "empty json list is null");
  free (t);
  t = ward_container_list_json (c, 1);
  is_text (t,
              "[{\"ociVersion\":\"" WARD_OCI_VERSION "\",\"id\":\"c1\",\"pid\":7477,\"status\":\"created\","
              "\"bundle\":\"/tmp/rt/b\",\"rootfs\":\"/tmp/rt/b/rootfs\","
              "\"created\":\"2026-11-26T06:04:01.335336617Z\",\"owner\":\"root\"}]\n",
              "json list as runc prints it");
  free (t);
  t = ward_container_list_json (c + 1, 1);
  tap_ok (t && strstr (t, "\"annotations\":{\"a\":\"b/c\"},\"owner\":\"root\"}") != NULL,
          "annotations in json list, before owner as runc orders them");
  free (t);
}

static void test_sync (void)
{
  int sv[2], pipefd[2], type = 0, got_fd = -1;
  char *data = NULL;
  ward_error_t *err = NULL;

  if (ward_runtime_sync_pair (sv, &err) < 0 || pipe (pipefd) < 0)
    {
      tap_skip ("no socketpair/pipe");
      ward_error_free (&err);
      return;
    }
  tap_ok (ward_runtime_sync_send (sv[0], WARD_SYNC_TERMINAL, "hi", 2, pipefd[1], &err) == 0,
          "send a message with an fd");
  tap_ok (ward_runtime_sync_recv (sv[1], &type, &data, &got_fd, &err) == 0 && type == WARD_SYNC_TERMINAL
              && data && strcmp (data, "hi") == 0 && got_fd >= 0,
          "receive type, payload and fd");
  if (got_fd >= 0)
    {
      char c = 0;
      tap_ok (write (got_fd, "x", 1) == 1 && read (pipefd[0], &c, 1) == 1 && c == 'x',
              "received fd is the pipe's write end");
      close (got_fd);
    }
  free (data);
  ward_runtime_sync_send (sv[0], WARD_SYNC_ERROR, "boom: it failed", 15, -1, &err);
  tap_ok (ward_runtime_sync_expect (sv[1], WARD_SYNC_READY, NULL, &err) < 0 && err
              && strcmp (err->msg, "boom: it failed") == 0,
          "an ERROR message becomes the error text");
  ward_error_free (&err);
  close (sv[0]);
  tap_ok (ward_runtime_sync_recv (sv[1], &type, NULL, NULL, &err) == -EPIPE, "EOF is -EPIPE");
  ward_error_free (&err);
  close (sv[1]);
  close (pipefd[0]);
  close (pipefd[1]);
}

static void test_hooks (void)
{
  ward_error_t *err = NULL;
  char *ok_args[] = { "sh", "-c", "read x; [ \"$x\" = state ]", NULL };
  char *fail_args[] = { "sh", "-c", "echo out; echo bad >&2; exit 4", NULL };
  char *slow_args[] = { "sh", "-c", "sleep 5", NULL };
  char *env_args[] = { "sh", "-c", "[ \"$FOO\" = bar ]", NULL };
  char *env[] = { "FOO=bar", NULL };
  ward_hook_t ok = { .path = "/bin/sh", .args = ok_args };
  ward_hook_t fail = { .path = "/bin/sh", .args = fail_args };
  ward_hook_t slow = { .path = "/bin/sh", .args = slow_args, .has_timeout = true, .timeout = 1 };
  ward_hook_t withenv = { .path = "/bin/sh", .args = env_args, .env = env };
  ward_hook_t missing = { .path = "/nonexistent/hook" };
  int r;

  if (access ("/bin/sh", X_OK) < 0)
    {
      tap_skip ("no /bin/sh to run hooks with");
      return;
    }
  tap_ok (ward_runtime_hooks_run ("prestart", &ok, 1, "state\n", &err) == 0, "hook reads the state on stdin");
  ward_error_free (&err);
  tap_ok (ward_runtime_hooks_run ("prestart", &withenv, 1, "", &err) == 0, "hook gets its env");
  ward_error_free (&err);
  r = ward_runtime_hooks_run ("createRuntime", &fail, 1, "{}", &err);
  tap_ok (r < 0 && err
              && strstr (err->msg, "error running hook #0 (createRuntime, ") && strstr (err->msg, "exit status 4")
              && strstr (err->msg, "stdout: out") && strstr (err->msg, "stderr: bad"),
          "failure names kind, index, status, stdout and stderr");
  ward_error_free (&err);
  r = ward_runtime_hooks_run ("poststop", &slow, 1, "{}", &err);
  tap_ok (r < 0 && err
              && strstr (err->msg, "timeout"),
          "timeout kills the hook: %s", err ? err->msg : "(none)");
  ward_error_free (&err);
  r = ward_runtime_hooks_run ("prestart", &missing, 1, "{}", &err);
  tap_ok (r < 0 && err
              && strstr (err->msg, "/nonexistent/hook"),
          "missing hook binary names the path: %s", err ? err->msg : "(none)");
  ward_error_free (&err);
}

static void test_state_roundtrip (void)
{
  char tmpl[] = "/tmp/ward-test-runtime-XXXXXX";
  ward_error_t *err = NULL;
  int rootfd = -1, dirfd = -1, lockfd = -1, dirfd2 = -1;
  ward_runtime_state_t *back = NULL;
  ward_kv_t ann[] = { { "a", "1" } };
  ward_runtime_state_t st = { .id = "c1", .pid = getpid (), .bundle = "/b", .rootfs = "/b/rootfs",
                              .created = "2026-01-01T00:00:00Z", .annotations = ann,
                              .annotations_len = 1, .cgroup = "v1\n/x" };
  unsigned long long start = 0;

  if (!mkdtemp (tmpl))
    {
      tap_skip ("mkdtemp failed");
      return;
    }
  tap_ok (ward_runtime_proc_start_time (getpid (), &start, NULL) == 0 && start > 0,
          "start time of our own pid");
  st.start_time = start;
  tap_ok (ward_runtime_root_open (tmpl, true, &rootfd, &err) == 0, "open state root");
  tap_ok (ward_runtime_state_create_dir (rootfd, "c1", &dirfd, &lockfd, &err) == 0, "create state dir");
  tap_ok (ward_runtime_state_create_dir (rootfd, "c1", &dirfd2, &lockfd, &err) == -EEXIST && err
              && strcmp (err->msg, "container with given ID already exists") == 0,
          "duplicate id refused as runc words it");
  ward_error_free (&err);
  tap_ok (ward_runtime_state_write (dirfd, &st, &err) == 0, "write state.json");
  tap_ok (ward_runtime_state_read (dirfd, &back, &err) == 0 && back && back->pid == st.pid
              && back->start_time == start && strcmp (back->bundle, "/b") == 0
              && back->annotations_len == 1 && strcmp (back->annotations[0].value, "1") == 0
              && strcmp (back->cgroup, "v1\n/x") == 0,
          "read back what was written");
  tap_ok (back && ward_runtime_state_alive (back), "our own pid with its start time is alive");
  if (back)
    {
      back->start_time++;
      tap_ok (!ward_runtime_state_alive (back), "a different start time (recycled pid) is not alive");
      tap_is_str (ward_runtime_state_status (dirfd, back, false), "stopped", "recycled pid is stopped");
      back->start_time--;
      mkfifoat (dirfd, "exec.fifo", 0622);
      tap_is_str (ward_runtime_state_status (dirfd, back, false), "created", "alive + exec.fifo is created");
      back->creating = true;
      tap_is_str (ward_runtime_state_status (dirfd, back, false), "creating",
                  "creating while the creator holds the lock");
      tap_is_str (ward_runtime_state_status (dirfd, back, true), "stopped",
                  "a creating state seen under the lock is a dead create");
    }
  ward_runtime_state_free (back);
  tap_ok (ward_runtime_state_remove (rootfd, "c1", &err) == 0
              && faccessat (rootfd, "c1", F_OK, 0) < 0,
          "state dir removed");
  ward_error_free (&err);
  close (dirfd);
  close (lockfd);
  close (rootfd);
  rmdir (tmpl);
}

/* CVE-2019-5736: main() calls ward_runtime_protect_binary first; after
 * the re-exec this checks that /proc/self/exe is the sealed copy. */
static void test_cloned_binary (int protect_ret, const char *protect_msg)
{
  int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int seals = fd >= 0 ? fcntl (fd, F_GET_SEALS) : -1;
  int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

  tap_ok (protect_ret == 0, "protect_binary succeeds: %s", protect_msg ? protect_msg : "ok");
  if (seals < 0)
    {
      struct statvfs vfs;
      if (fd >= 0 && fstatvfs (fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        tap_skip ("binary is on a read-only mount: no memfd copy is made");
      else
        tap_ok (0, "/proc/self/exe is writable and not a sealed memfd");
    }
  else
    tap_ok ((seals & want) == want, "/proc/self/exe is a sealed memfd (seals 0x%x)", seals);
  tap_ok (getenv ("_WARD_CLONED_BINARY") == NULL, "re-exec marker not left in the environment");
  if (fd >= 0)
    {
      char c = 0;
      /* A write through the exe must fail: sealed, or not writable at all. */
      int wfd = open ("/proc/self/exe", O_WRONLY | O_CLOEXEC);
      tap_ok (wfd < 0 || write (wfd, &c, 1) < 0, "/proc/self/exe cannot be written to");
      if (wfd >= 0)
        close (wfd);
      close (fd);
    }
}

static ward_process_t *base_process (void)
{
  const char *json = "{\"args\":[\"sh\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
                     "\"user\":{\"uid\":0,\"gid\":0},\"terminal\":true,"
                     "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"
                     "\"permitted\":[\"CAP_KILL\"]}}";
  ward_process_t *p = NULL;
  ward_error_t *err = NULL;
  if (ward_process_parse (json, strlen (json), &p, &err) < 0)
    tap_diag ("parse: %s", err->msg);
  ward_error_free (&err);
  return p;
}

static void test_exec_opts (void)
{
  char *args[] = { "ls", "-l", NULL };
  char *env[] = { "FOO=bar", NULL };
  char *caps[] = { "CAP_SYS_ADMIN", "CAP_BOGUS", NULL };
  long long gids[] = { 10, 20 };
  ward_exec_opts_t o = { .args = args, .args_len = 2, .env = env, .caps = caps, .cwd = "/tmp",
                         .user = "65534:100", .additional_gids = gids, .additional_gids_len = 2,
                         .no_new_privs = true };
  ward_process_t *p = base_process ();
  ward_error_t *err = NULL;

  tap_ok (p && ward_exec_apply_opts (p, &o, &err) == 0, "exec flags apply to the config process");
  if (p)
    {
      tap_ok (p->args_len == 2 && strcmp (p->args[0], "ls") == 0 && strcmp (p->args[1], "-l") == 0
                  && p->args[2] == NULL, "args are replaced by CMD");
      tap_ok (p->env_len == 2 && strcmp (p->env[1], "FOO=bar") == 0, "--env is appended");
      tap_ok (strcmp (p->cwd, "/tmp") == 0, "--cwd overrides");
      tap_ok (p->user.uid == 65534 && p->user.gid == 100, "--user uid:gid");
      tap_ok (p->user.additional_gids_len == 2 && p->user.additional_gids[1] == 20, "-g gids");
      tap_ok (!p->terminal, "terminal is off without --tty (runc resets it)");
      tap_ok (p->no_new_privileges, "--no-new-privs");
      tap_ok (p->capabilities->bounding[1] && strcmp (p->capabilities->bounding[1], "CAP_SYS_ADMIN") == 0
                  && p->capabilities->bounding[2] == NULL && p->capabilities->ambient
                  && strcmp (p->capabilities->ambient[0], "CAP_SYS_ADMIN") == 0,
              "--cap joins bounding and ambient; unknown names are dropped");
      ward_process_free (p);
    }
  ward_error_free (&err);

  p = base_process ();
  ward_exec_opts_t bad = { .args = args, .args_len = 2, .user = "nobody" };
  tap_ok (p && ward_exec_apply_opts (p, &bad, &err) < 0 && err
              && strcmp (err->msg, "parsing nobody as int for uid failed: strconv.Atoi: parsing "
                                   "\"nobody\": invalid syntax") == 0,
          "user name refused as runc words it");
  ward_error_free (&err);
  ward_process_free (p);

  p = base_process ();
  ward_exec_opts_t rel = { .args = args, .args_len = 2, .cwd = "tmp" };
  tap_ok (p && ward_exec_apply_opts (p, &rel, &err) < 0 && err
              && strcmp (err->msg, "Cwd must be an absolute path") == 0, "relative cwd refused");
  ward_error_free (&err);
  ward_process_free (p);

  p = base_process ();
  long long neg[] = { -1 };
  ward_exec_opts_t ng = { .args = args, .args_len = 2, .additional_gids = neg, .additional_gids_len = 1 };
  tap_ok (p && ward_exec_apply_opts (p, &ng, &err) < 0 && err
              && strcmp (err->msg, "additional-gids must be a positive number -1") == 0,
          "negative additional gid refused");
  ward_error_free (&err);
  ward_process_free (p);
}

static void test_sizes (void)
{
  long long v = 0;
  tap_ok (ward_parse_ram_bytes ("64m", &v) == 0 && v == 64LL << 20, "64m");
  tap_ok (ward_parse_ram_bytes ("64MB", &v) == 0 && v == 64LL << 20, "64MB");
  tap_ok (ward_parse_ram_bytes ("1.5g", &v) == 0 && v == 3LL << 29, "1.5g");
  tap_ok (ward_parse_ram_bytes ("2 KiB", &v) == 0 && v == 2048, "2 KiB");
  tap_ok (ward_parse_ram_bytes ("4096", &v) == 0 && v == 4096, "plain bytes");
  tap_ok (ward_parse_ram_bytes ("abc", &v) < 0, "abc refused");
  tap_ok (ward_parse_ram_bytes ("-1", &v) < 0, "-1 is the caller's business");
  tap_ok (ward_parse_ram_bytes ("10x", &v) < 0, "unknown unit refused");
}

static void test_ps_and_stats (void)
{
  const char *ps = "UID        PID  PPID  C STIME TTY          TIME CMD\n"
                   "root         1     0  0 06:00 ?        00:00:01 /sbin/init\n"
                   "root       123     1  0 06:00 ?        00:00:00 sleep 1000\n"
                   "root       456   123  0 06:00 ?        00:00:00 sh\n";
  pid_t pids[] = { 123, 456 };
  char *out = NULL;
  ward_error_t *err = NULL;

  tap_ok (ward_container_ps_filter (ps, pids, 2, &out, &err) == 0, "ps filter");
  is_text (out, "UID        PID  PPID  C STIME TTY          TIME CMD\n"
                "root       123     1  0 06:00 ?        00:00:00 sleep 1000\n"
                "root       456   123  0 06:00 ?        00:00:00 sh\n",
           "ps table keeps the header and the container's lines");
  free (out);
  out = NULL;
  tap_ok (ward_container_ps_filter ("USER COMMAND\nroot x\n", pids, 2, &out, &err) < 0 && err
              && strcmp (err->msg, "couldn't find PID field in ps output") == 0,
          "no PID column: runc's error");
  ward_error_free (&err);
  out = ward_container_pids_json (pids, 2);
  is_text (out, "[123,456]\n", "ps json");
  free (out);
  out = ward_container_pids_json (NULL, 0);
  is_text (out, "null\n", "ps json without pids is null, as Go encodes a nil slice");
  free (out);

  uint64_t percpu[] = { 10, 20 };
  ward_stats_view_t v = { .cpu_total = 30, .cpu_kernel = 5, .percpu = percpu, .percpu_len = 2,
                          .mem_usage = 4096, .mem_max = 8192, .mem_limit = 1 << 20,
                          .swap_limit = 2 << 20, .pids_current = 2 };
  out = ward_stats_event_json ("c\"1", &v);
  is_text (out,
           "{\"type\":\"stats\",\"id\":\"c\\\"1\",\"data\":{\"cpu\":{\"usage\":{\"total\":30,"
           "\"percpu\":[10,20],\"kernel\":5,\"user\":0},\"throttling\":{}},\"cpuset\":{"
           "\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,\"memory_migrate\":0,"
           "\"memory_spread_page\":0,\"memory_spread_slab\":0,\"memory_pressure\":0,"
           "\"sched_load_balance\":0,\"sched_relax_domain_level\":0},\"memory\":{\"usage\":{"
           "\"limit\":1048576,\"usage\":4096,\"max\":8192,\"failcnt\":0},\"swap\":{\"limit\":2097152,"
           "\"failcnt\":0},\"kernel\":{\"limit\":0,\"failcnt\":0},\"kernelTCP\":{\"limit\":0,"
           "\"failcnt\":0}},\"pids\":{\"current\":2},\"blkio\":{},\"hugetlb\":{},\"intel_rdt\":{},"
           "\"network_interfaces\":null}}",
           "stats event JSON with runc's keys and omitempty rules");
  free (out);
}

int main (int argc, char **argv)
{
  ward_error_t *perr = NULL;
  int pret = ward_runtime_protect_binary (argv, &perr);

  (void) argc;
  test_cloned_binary (pret, perr ? perr->msg : NULL);
  ward_error_free (&perr);
  test_ids ();
  test_signals ();
  test_status ();
  test_list ();
  test_sync ();
  test_hooks ();
  test_state_roundtrip ();
  test_exec_opts ();
  test_sizes ();
  test_ps_and_stats ();
  return tap_done ();
}
