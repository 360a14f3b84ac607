/* The mount option table: every option runc accepts in config.mounts,
 * mapped to mount(2) flags, propagation changes, or mount_setattr(2)
 * attributes for the recursive "r" variants.  Anything else is data for
 * the filesystem. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "namespaces/namespaces.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

struct flag_opt
{
  const char *name;
  bool clear;
  unsigned long flag;
};

static const struct flag_opt flag_opts[] = {
  { "async", true, MS_SYNCHRONOUS },
  { "atime", true, MS_NOATIME },
  { "bind", false, MS_BIND },
  { "defaults", false, 0 },
  { "dev", true, MS_NODEV },
  { "diratime", true, MS_NODIRATIME },
  { "dirsync", false, MS_DIRSYNC },
  { "exec", true, MS_NOEXEC },
  { "iversion", false, MS_I_VERSION },
  { "lazytime", false, MS_LAZYTIME },
  { "loud", true, MS_SILENT },
  { "mand", false, MS_MANDLOCK },
  { "noatime", false, MS_NOATIME },
  { "nodev", false, MS_NODEV },
  { "nodiratime", false, MS_NODIRATIME },
  { "noexec", false, MS_NOEXEC },
  { "noiversion", true, MS_I_VERSION },
  { "nolazytime", true, MS_LAZYTIME },
  { "nomand", true, MS_MANDLOCK },
  { "norelatime", true, MS_RELATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "nosuid", false, MS_NOSUID },
  { "nosymfollow", false, MS_NOSYMFOLLOW },
  { "rbind", false, MS_BIND | MS_REC },
  { "relatime", false, MS_RELATIME },
  { "remount", false, MS_REMOUNT },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "silent", false, MS_SILENT },
  { "strictatime", false, MS_STRICTATIME },
  { "suid", true, MS_NOSUID },
  { "symfollow", true, MS_NOSYMFOLLOW },
  { "sync", false, MS_SYNCHRONOUS },
};

struct prop_opt
{
  const char *name;
  unsigned long flag;
};

static const struct prop_opt prop_opts[] = {
  { "private", MS_PRIVATE },        { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },          { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },            { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE },  { "runbindable", MS_UNBINDABLE | MS_REC },
};

struct rec_opt
{
  const char *name;
  uint64_t clr, set;
};

/* The access-time attributes are one field, not bits: setting one needs
 * MOUNT_ATTR__ATIME in the clear mask. */
static const struct rec_opt rec_opts[] = {
  { "rro", 0, MOUNT_ATTR_RDONLY },
  { "rrw", MOUNT_ATTR_RDONLY, 0 },
  { "rnosuid", 0, MOUNT_ATTR_NOSUID },
  { "rsuid", MOUNT_ATTR_NOSUID, 0 },
  { "rnodev", 0, MOUNT_ATTR_NODEV },
  { "rdev", MOUNT_ATTR_NODEV, 0 },
  { "rnoexec", 0, MOUNT_ATTR_NOEXEC },
  { "rexec", MOUNT_ATTR_NOEXEC, 0 },
  { "rnodiratime", 0, MOUNT_ATTR_NODIRATIME },
  { "rdiratime", MOUNT_ATTR_NODIRATIME, 0 },
  { "rrelatime", MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME },
  { "rnorelatime", MOUNT_ATTR__ATIME, 0 },
  { "rnoatime", MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME },
  { "ratime", MOUNT_ATTR__ATIME, 0 },
  { "rstrictatime", MOUNT_ATTR__ATIME, MOUNT_ATTR_STRICTATIME },
  { "rnostrictatime", MOUNT_ATTR__ATIME, 0 },
  { "rnosymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 },
};

unsigned long ward_mount_propagation_flag (const char *name)
{
  if (name == NULL)
    return 0;
  for (size_t i = 0; i < ARRAY_SIZE (prop_opts); i++)
    if (strcmp (name, prop_opts[i].name) == 0)
      return prop_opts[i].flag;
  return 0;
}

static void append_data (char **data, const char *opt)
{
  if (*data == NULL)
    *data = xstrdup (opt);
  else
    {
      char *joined = xasprintf ("%s,%s", *data, opt);
      free (*data);
      *data = joined;
    }
}

static bool parse_flag (ward_mount_options_t *mo, const char *o)
{
  for (size_t i = 0; i < ARRAY_SIZE (flag_opts); i++)
    if (strcmp (o, flag_opts[i].name) == 0)
      {
        if (flag_opts[i].clear)
          {
            mo->flags &= ~flag_opts[i].flag;
            mo->clear_flags |= flag_opts[i].flag;
          }
        else
          {
            mo->flags |= flag_opts[i].flag;
            mo->clear_flags &= ~flag_opts[i].flag;
          }
        return true;
      }
  return false;
}

static bool parse_rec (ward_mount_options_t *mo, const char *o)
{
  for (size_t i = 0; i < ARRAY_SIZE (rec_opts); i++)
    if (strcmp (o, rec_opts[i].name) == 0)
      {
        mo->rec_attr_clr |= rec_opts[i].clr;
        mo->rec_attr_set &= ~rec_opts[i].clr;
        mo->rec_attr_set |= rec_opts[i].set;
        mo->rec_attr_clr &= ~rec_opts[i].set;
        return true;
      }
  return false;
}

int ward_mount_options_parse (char *const *options, ward_mount_options_t *out,
                              ward_error_t **err)
{
  memset (out, 0, sizeof *out);
  for (size_t i = 0; options && options[i]; i++)
    {
      const char *o = options[i];
      unsigned long p;

      if (o[0] == '\0' || parse_flag (out, o) || parse_rec (out, o))
        continue;
      p = ward_mount_propagation_flag (o);
      if (p)
        {
          if (out->propagation_len >= WARD_MOUNT_MAX_PROPAGATION)
            {
              ward_mount_options_free (out);
              return ward_error_set (err, 0, "mount options: too many propagation flags (\"%s\")",
                                     o);
            }
          out->propagation[out->propagation_len++] = p;
        }
      else if (strcmp (o, "tmpcopyup") == 0)
        out->tmpcopyup = true;
      else if (strcmp (o, "idmap") == 0)
        out->idmap = true;
      else if (strcmp (o, "ridmap") == 0)
        out->ridmap = true;
      else
        append_data (&out->data, o);
    }
  return 0;
}

void ward_mount_options_free (ward_mount_options_t *mo)
{
  if (mo)
    {
      free (mo->data);
      mo->data = NULL;
    }
}
