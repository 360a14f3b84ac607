/* Device models behind the VMM's port-I/O and MMIO buses (internal to
 * runtime/vm). */
#ifndef WARD_RUNTIME_VM_DEVICES_H
#define WARD_RUNTIME_VM_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/vm/vm.h"

/* Sets an interrupt line to level (0/1). */
typedef void (*ward_vm_irq_fn) (void *opaque, unsigned irq, int level);

/* ---- a device's worker thread (virtq.c) ---- */

/* From a device's activate: starts fn(arg) once (*started); a failure is
 * only warned with warning (the device stays idle, the guest waits). */
void ward_virtio_thread_start (pthread_t *thread, bool *started, void *(*fn) (void *), void *arg,
                               const char *warning);
/* From a device's free, when started: sets *stopping under dev->lock,
 * wakes the thread (cond broadcast when cond, one eventfd write to
 * wake_fd when >= 0) and joins it. */
void ward_virtio_thread_stop (struct ward_virtio_dev *dev, bool *stopping, pthread_cond_t *cond,
                              int wake_fd, pthread_t thread);

/* ---- 8250/16550A UART (serial.c) ---- */

#define WARD_VM_SERIAL_PORT 0x3f8
#define WARD_VM_SERIAL_IRQ 4
#define WARD_VM_SERIAL_RX_SIZE 64

struct ward_vm_serial
{
  pthread_mutex_t lock;
  int out_fd;
  uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
  bool thri_pending; /* THR-empty interrupt not yet acknowledged */
  bool line;         /* current level of the IRQ line */
  uint8_t rx[WARD_VM_SERIAL_RX_SIZE];
  unsigned rx_head, rx_len;
  ward_vm_irq_fn irq;
  void *irq_opaque;
};

void ward_vm_serial_init (struct ward_vm_serial *s, int out_fd, ward_vm_irq_fn irq, void *opaque);
void ward_vm_serial_destroy (struct ward_vm_serial *s);
uint8_t ward_vm_serial_in (struct ward_vm_serial *s, unsigned off);
void ward_vm_serial_out (struct ward_vm_serial *s, unsigned off, uint8_t v);
/* Queues host input for the guest (returns bytes taken). */
size_t ward_vm_serial_input (struct ward_vm_serial *s, const void *buf, size_t len);

/* ---- virtio-console (virtio_console.c) ---- */

struct ward_vm_console;
int ward_vm_console_new (const struct ward_vm_mem *mem, int in_fd, int out_fd,
                         struct ward_vm_console **out, ward_error_t **err);
struct ward_virtio_dev *ward_vm_console_dev (struct ward_vm_console *c);
void ward_vm_console_free (struct ward_vm_console *c);

/* ---- virtio-rng (virtio_rng.c) ---- */

struct ward_vm_rng;
struct ward_vm_rng *ward_vm_rng_new (const struct ward_vm_mem *mem);
struct ward_virtio_dev *ward_vm_rng_dev (struct ward_vm_rng *r);
void ward_vm_rng_free (struct ward_vm_rng *r);

/* ---- virtio-vsock with a hybrid unix-socket host side (virtio_vsock.c) ---- */

struct ward_vm_vsock;
/* Listens on path (unlinked again on free); guest-initiated connections to
 * host port P go to the unix socket "path_P". */
int ward_vm_vsock_new (const struct ward_vm_mem *mem, uint64_t guest_cid, const char *path,
                       struct ward_vm_vsock **out, ward_error_t **err);
struct ward_virtio_dev *ward_vm_vsock_dev (struct ward_vm_vsock *v);
void ward_vm_vsock_free (struct ward_vm_vsock *v);

/* ---- virtio-fs with an in-process FUSE server (virtio_fs.c, fuse_server.c) ---- */

struct ward_vm_fs;
/* Exports the directory root_fd (the server keeps its own fd) under tag
 * (1 to 36 bytes).  Opens /proc/self/fd now. */
int ward_vm_fs_new (const struct ward_vm_mem *mem, int root_fd, const char *tag, bool readonly,
                    struct ward_vm_fs **out, ward_error_t **err);
struct ward_virtio_dev *ward_vm_fs_dev (struct ward_vm_fs *f);
/* Its FUSE server (fuse.h; tests). */
struct ward_vm_fuse *ward_vm_fs_fuse (struct ward_vm_fs *f);
void ward_vm_fs_free (struct ward_vm_fs *f);

/* ---- virtio-net on a TAP fd (virtio_net.c) ---- */

struct ward_vm_net;
/* tap_fd: IFF_TAP|IFF_NO_PI|IFF_VNET_HDR (the device keeps its own dup);
 * mac: the guest's address, all-zero: a locally administered one. */
int ward_vm_net_new (const struct ward_vm_mem *mem, int tap_fd, const uint8_t mac[6],
                     struct ward_vm_net **out, ward_error_t **err);
struct ward_virtio_dev *ward_vm_net_dev (struct ward_vm_net *n);
void ward_vm_net_free (struct ward_vm_net *n);

#endif
