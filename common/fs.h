/* Small fd-based file helpers used by every module. */
#ifndef WARD_COMMON_FS_H
#define WARD_COMMON_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* write(2)/read(2) that retry on EINTR and short counts. */
ssize_t ward_write_all (int fd, const void *buf, size_t len);
ssize_t ward_read_all (int fd, void *buf, size_t len);

/* Opens name relative to dirfd (AT_FDCWD allowed) for writing, without
 * creating it, writes data and closes.  For cgroup and /proc files. */
int ward_write_file_at (int dirfd, const char *name, const char *data, size_t len,
                        ward_error_t **err);

/* Creates or truncates name relative to dirfd with mode, writes data. */
int ward_create_file_at (int dirfd, const char *name, const char *data, size_t len,
                         mode_t mode, ward_error_t **err);

/* Reads the whole file into a NUL-terminated malloc'd buffer; *len (may be
 * NULL) receives the byte count.  Refuses files larger than max_size
 * (0 = 64 MiB) with EFBIG. */
int ward_read_file_at (int dirfd, const char *name, char **out, size_t *len,
                       size_t max_size, ward_error_t **err);
int ward_read_fd (int fd, char **out, size_t *len, size_t max_size, const char *what,
                  ward_error_t **err);

/* mkdir -p; existing directories are fine. */
int ward_mkdir_p (const char *path, mode_t mode, ward_error_t **err);

/* Writes data to dir/name atomically: a temp file in the same dir, then
 * rename.  The state dir uses it so a reader never sees half a state.json. */
int ward_write_file_atomic (int dirfd, const char *name, const char *data, size_t len,
                            mode_t mode, ward_error_t **err);

/* Parses a base-10 unsigned/signed integer that must fill the whole string. */
int ward_parse_u64 (const char *s, unsigned long long *out);
int ward_parse_i64 (const char *s, long long *out);

#endif
