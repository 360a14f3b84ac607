/* The in-process FUSE server behind virtio-fs (internal to runtime/vm).
 *
 * It exports one host directory, given as an fd, to a guest that is
 * hostile: every inode the guest can name is an O_PATH fd reached from the
 * root one name at a time (openat with O_NOFOLLOW, names without '/', never
 * "." or ".."), so no guest request resolves a path on the host, and
 * symlinks are only ever read, never followed.  Regular files are opened
 * through /proc/self/fd (opened once at creation), never by path.
 *
 * Not thread-safe: the caller serialises requests (virtio_fs.c holds the
 * device lock). */
#ifndef WARD_RUNTIME_VM_FUSE_H
#define WARD_RUNTIME_VM_FUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "runtime/vm/vm.h"

/* FUSE minor version we speak (the Linux 6.1 guest offers 7.38). */
#define WARD_VM_FUSE_MINOR 31
/* Largest READ/WRITE payload we announce in INIT (256 pages). */
#define WARD_VM_FUSE_MAX_WRITE (1u << 20)
/* Guest resources held on the host are bounded: inodes (each one fd) and
 * open file handles. */
#define WARD_VM_FUSE_MAX_INODES (1u << 20)
#define WARD_VM_FUSE_MAX_HANDLES 65536u

struct ward_vm_fuse;

/* root_fd: the exported directory (the server keeps its own O_PATH copy);
 * readonly: every modifying request fails with EROFS.  Opens
 * /proc/self/fd now, so it must be visible at this point. */
int ward_vm_fuse_new (int root_fd, bool readonly, struct ward_vm_fuse **out, ward_error_t **err);
void ward_vm_fuse_free (struct ward_vm_fuse *fs);
/* Serves one request: the chain's readable part is the request (FUSE in
 * header + arguments), its writable part receives the reply.  Returns the
 * number of reply bytes written (0 for FORGET, INTERRUPT and requests too
 * broken to answer). */
uint32_t ward_vm_fuse_handle (struct ward_vm_fuse *fs, const struct ward_virtq_chain *chain);
/* Forgets every inode but the root and closes every handle (device reset,
 * FUSE_DESTROY); the next request must be INIT again. */
void ward_vm_fuse_reset (struct ward_vm_fuse *fs);
/* Inodes and handles currently held (tests). */
void ward_vm_fuse_counts (const struct ward_vm_fuse *fs, unsigned *inodes, unsigned *handles);

#endif
