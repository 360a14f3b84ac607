/* A small /proc/self/mountinfo reader (proc(5) format). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "namespaces/internal.h"

/* Undoes the kernel's octal escaping of ' ', '\t', '\n' and '\\'. */
static char *unescape (const char *s)
{
  char *out = xstrdup (s), *o = out;
  for (const char *p = s; *p; p++)
    {
      if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0'
          && p[3] <= '7')
        {
          *o++ = (char) (((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
          p += 3;
        }
      else
        *o++ = *p;
    }
  *o = '\0';
  return out;
}

void ward_ns_mountinfo_free (ward_mountinfo_t *mi, size_t n)
{
  for (size_t i = 0; mi && i < n; i++)
    {
      free (mi[i].root);
      free (mi[i].mountpoint);
      free (mi[i].optional);
      free (mi[i].fstype);
      free (mi[i].source);
      free (mi[i].super_opts);
    }
  free (mi);
}

int ward_ns_mountinfo_read (ward_mountinfo_t **out, size_t *n, ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  ward_mountinfo_t *mi = NULL;
  size_t count = 0, cap = 0;
  char *save = NULL;
  int ret = ward_read_file_at (AT_FDCWD, "/proc/self/mountinfo", &data, NULL, 0, err);

  if (ret < 0)
    return ret;
  for (char *line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[6], *sep = strstr (line, " - "), *s2 = NULL, *tail;
      char *opt_start;
      int i = 0;

      if (sep == NULL)
        continue;
      *sep = '\0';
      tail = sep + 3;
      /* Exactly six tokens: the optional fields that follow stay in s2. */
      for (char *t; i < 6 && (t = strtok_r (i ? NULL : line, " ", &s2)) != NULL;)
        f[i++] = t;
      if (i < 6)
        continue;
      opt_start = s2;
      if (count == cap)
        {
          cap = cap ? cap * 2 : 64;
          mi = xrealloc (mi, cap * sizeof *mi);
        }
      memset (&mi[count], 0, sizeof mi[count]);
      mi[count].id = atoi (f[0]);
      mi[count].parent = atoi (f[1]);
      mi[count].root = unescape (f[3]);
      mi[count].mountpoint = unescape (f[4]);
      mi[count].optional = xstrdup (opt_start ? opt_start : "");
      {
        char *s3 = NULL;
        char *fs = strtok_r (tail, " ", &s3);
        char *src = fs ? strtok_r (NULL, " ", &s3) : NULL;
        char *so = src ? strtok_r (NULL, " ", &s3) : NULL;
        mi[count].fstype = xstrdup (fs ? fs : "");
        mi[count].source = unescape (src ? src : "");
        mi[count].super_opts = xstrdup (so ? so : "");
      }
      count++;
    }
  *out = mi;
  *n = count;
  return 0;
}
