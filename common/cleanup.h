/* Scope-bound ownership helpers: __attribute__((cleanup)) releases a
 * resource when its variable goes out of scope; TAKE_PTR/TAKE_FD hand
 * ownership on. */
#ifndef WARD_COMMON_CLEANUP_H
#define WARD_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ward_freep (void *p)
{
  free (*(void **) p);
}

static inline void ward_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void ward_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static inline void ward_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

/* Frees a NULL-terminated vector of strings. */
static inline void ward_strv_freep (char ***v)
{
  if (*v)
    {
      for (char **i = *v; *i; i++)
        free (*i);
      free (*v);
    }
}

#define _cleanup_free_ __attribute__ ((cleanup (ward_freep)))
#define _cleanup_close_ __attribute__ ((cleanup (ward_closep)))
#define _cleanup_fclose_ __attribute__ ((cleanup (ward_fclosep)))
#define _cleanup_closedir_ __attribute__ ((cleanup (ward_closedirp)))
#define _cleanup_strv_ __attribute__ ((cleanup (ward_strv_freep)))

/* json-c objects: json_object_put on scope exit. */
#define _cleanup_json_ __attribute__ ((cleanup (ward_json_putp)))
struct json_object;
extern int json_object_put (struct json_object *obj);
static inline void ward_json_putp (struct json_object **o)
{
  if (*o)
    json_object_put (*o);
}

#define TAKE_PTR(p)                                                            \
  ({                                                                           \
    __typeof__ (p) _taken = (p);                                               \
    (p) = NULL;                                                                \
    _taken;                                                                    \
  })

#define TAKE_FD(fd)                                                            \
  ({                                                                           \
    int _taken = (fd);                                                         \
    (fd) = -1;                                                                 \
    _taken;                                                                    \
  })

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

#endif
