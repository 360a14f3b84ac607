/* Pure helpers of the lifecycle: id rule, signal names, status naming and
 * the `list` output formats.  No system calls here, so unit tests can link
 * this file alone. */
#include "runtime/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "specs/specs.h"

bool ward_container_id_valid (const char *id)
{
  if (!id || !*id || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return false;
  for (const char *p = id; *p; p++)
    {
      unsigned char c = (unsigned char) *p;
      /* Go's \w is ASCII [0-9A-Za-z_]; the class also holds '+', '-', '.'. */
      if (!(isascii (c) && (isalnum (c) || c == '_' || c == '+' || c == '-' || c == '.')))
        return false;
    }
  return true;
}

static const struct
{
  const char *name;
  int signo;
} signals[] = {
  { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS },   { "CHLD", SIGCHLD },
  { "CLD", SIGCHLD },  { "CONT", SIGCONT }, { "FPE", SIGFPE },   { "HUP", SIGHUP },
  { "ILL", SIGILL },   { "INT", SIGINT },   { "IO", SIGIO },     { "IOT", SIGIOT },
  { "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "POLL", SIGPOLL }, { "PROF", SIGPROF },
  { "PWR", SIGPWR },   { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV }, { "STKFLT", SIGSTKFLT },
  { "STOP", SIGSTOP }, { "SYS", SIGSYS },   { "TERM", SIGTERM }, { "TRAP", SIGTRAP },
  { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
  { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
  { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int ward_container_parse_signal (const char *s, int *signo)
{
  unsigned long long n;
  const char *name;

  if (!s || !*s)
    return -EINVAL;
  if (ward_parse_u64 (s, &n) == 0)
    {
      /* 0 only checks that the process exists, as kill(2). */
      if (n > 64)
        return -EINVAL;
      *signo = (int) n;
      return 0;
    }
  name = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < ARRAY_SIZE (signals); i++)
    if (strcasecmp (name, signals[i].name) == 0)
      {
        *signo = signals[i].signo;
        return 0;
      }
  /* RTMIN, RTMIN+3, RTMAX-2 as x/sys/unix names them. */
  if (strncasecmp (name, "RTMIN", 5) == 0 || strncasecmp (name, "RTMAX", 5) == 0)
    {
      bool min = strncasecmp (name, "RTMIN", 5) == 0;
      const char *rest = name + 5;
      long long off = 0;
      int base = min ? SIGRTMIN : SIGRTMAX;
      if (*rest && (*rest != (min ? '+' : '-') || ward_parse_i64 (rest + 1, &off) < 0))
        return -EINVAL;
      int v = min ? base + (int) off : base - (int) off;
      if (v < SIGRTMIN || v > SIGRTMAX)
        return -EINVAL;
      *signo = v;
      return 0;
    }
  return -EINVAL;
}

const char *ward_container_status_name (bool alive, bool fifo_exists, bool frozen)
{
  if (!alive)
    return "stopped";
  /* runc looks at the freezer first: a paused created container is paused. */
  if (frozen)
    return "paused";
  return fifo_exists ? "created" : "running";
}

static void sbuf_pad (ward_strbuf_t *b, const char *s, size_t width)
{
  size_t n = strlen (s);
  ward_strbuf_add (b, s, n);
  for (; n < width; n++)
    ward_strbuf_add (b, " ", 1);
}

/* Go's tabwriter as runc configures it (minwidth 12, padding 3, ' '): each
 * column is as wide as its widest cell + 3, at least 12; the last column is
 * not padded. */
char *ward_container_list_table (const ward_container_info_t *infos, size_t n)
{
  static const char *const head[] = { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" };
  size_t width[6];
  ward_strbuf_t b = { 0 };
  char pid[32];

  for (size_t c = 0; c < 6; c++)
    width[c] = strlen (head[c]);
  for (size_t i = 0; i < n; i++)
    {
      const char *cells[5] = { infos[i].id, NULL, infos[i].status, infos[i].bundle, infos[i].created };
      snprintf (pid, sizeof pid, "%d", (int) infos[i].pid);
      cells[1] = pid;
      for (size_t c = 0; c < 5; c++)
        if (cells[c] && strlen (cells[c]) > width[c])
          width[c] = strlen (cells[c]);
    }
  for (size_t c = 0; c < 6; c++)
    width[c] = width[c] + 3 < 12 ? 12 : width[c] + 3;

  for (size_t c = 0; c < 6; c++)
    if (c < 5)
      sbuf_pad (&b, head[c], width[c]);
    else
      ward_strbuf_add (&b, head[c], strlen (head[c]));
  ward_strbuf_add (&b, "\n", 1);
  for (size_t i = 0; i < n; i++)
    {
      snprintf (pid, sizeof pid, "%d", (int) infos[i].pid);
      sbuf_pad (&b, infos[i].id ? infos[i].id : "", width[0]);
      sbuf_pad (&b, pid, width[1]);
      sbuf_pad (&b, infos[i].status ? infos[i].status : "", width[2]);
      sbuf_pad (&b, infos[i].bundle ? infos[i].bundle : "", width[3]);
      sbuf_pad (&b, infos[i].created ? infos[i].created : "", width[4]);
      ward_strbuf_add (&b, infos[i].owner ? infos[i].owner : "", strlen (infos[i].owner ? infos[i].owner : ""));
      ward_strbuf_add (&b, "\n", 1);
    }
  return ward_strbuf_take (&b);
}

char *ward_container_list_json (const ward_container_info_t *infos, size_t n)
{
  ward_strbuf_t b = { 0 };

  if (n == 0)
    return xstrdup ("null\n");
  ward_strbuf_add (&b, "[", 1);
  for (size_t i = 0; i < n; i++)
    {
      const ward_container_info_t *c = &infos[i];
      _cleanup_free_ ward_kv_t *ann = c->annotations_len ? xzalloc (sizeof *ann * c->annotations_len) : NULL;
      for (size_t k = 0; k < c->annotations_len; k++)
        ann[k] = (ward_kv_t) { c->annotation_keys[k], c->annotation_values[k] };
      ward_state_t v = {
        .oci_version = (char *) WARD_OCI_VERSION,
        .id = c->id,
        .status = c->status,
        .pid = c->pid,
        .bundle = c->bundle ? c->bundle : (char *) "",
        .annotations = ann,
        .annotations_len = c->annotations_len,
        .rootfs = c->rootfs ? c->rootfs : (char *) "",
        .created = c->created,
        .owner = c->owner ? c->owner : (char *) "",
      };
      _cleanup_free_ char *one = ward_state_to_json_compact (&v);
      if (i)
        ward_strbuf_add (&b, ",", 1);
      ward_strbuf_add (&b, one, strlen (one));
    }
  ward_strbuf_add (&b, "]\n", 2);
  return ward_strbuf_take (&b);
}

void ward_container_info_free (ward_container_info_t *infos, size_t n)
{
  if (!infos)
    return;
  for (size_t i = 0; i < n; i++)
    {
      free (infos[i].id);
      free (infos[i].status);
      free (infos[i].bundle);
      free (infos[i].rootfs);
      free (infos[i].created);
      free (infos[i].owner);
      for (size_t k = 0; k < infos[i].annotations_len; k++)
        {
          free (infos[i].annotation_keys[k]);
          free (infos[i].annotation_values[k]);
        }
      free (infos[i].annotation_keys);
      free (infos[i].annotation_values);
    }
  free (infos);
}
