/* ward-vm: a small KVM virtual machine monitor that runs one container per
 * microVM.  The VMM boots an uncompressed vmlinux through its PVH entry
 * point, gives it an 8250 UART for early messages and virtio-mmio devices
 * declared on the kernel command line.
 *
 * Everything the guest writes (rings, descriptors, device registers) is
 * hostile input: every guest address goes through ward_vm_mem_ptr, which
 * refuses ranges that are not fully inside guest RAM. */
#ifndef WARD_RUNTIME_VM_H
#define WARD_RUNTIME_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "specs/specs.h"

/* ---- guest memory (memory.c) ---- */

struct ward_vm_mem_region
{
  uint64_t gpa;  /* guest-physical start */
  uint64_t size; /* bytes */
  uint8_t *host; /* host mapping of gpa */
};

struct ward_vm_mem
{
  struct ward_vm_mem_region regions[2]; /* below the MMIO hole, above 4 GiB */
  size_t n_regions;
  uint8_t *base; /* the single mmap behind all regions */
  size_t mapped; /* its length */
};

/* Where guest RAM stops below 4 GiB: the rest goes above 4 GiB so that
 * the MMIO window (virtio-mmio devices, LAPIC, IOAPIC, TSS) stays free. */
#define WARD_VM_MMIO_HOLE_START 0xc0000000ULL
#define WARD_VM_MMIO_HOLE_END 0x100000000ULL
/* virtio-mmio devices: one 4 KiB window each from here. */
#define WARD_VM_VIRTIO_MMIO_BASE 0xd0000000ULL
#define WARD_VM_VIRTIO_MMIO_SIZE 0x1000ULL

/* Maps size bytes of anonymous memory (rounded up to 2 MiB, hugepage
 * advised) and lays it out as guest RAM. */
int ward_vm_mem_alloc (struct ward_vm_mem *mem, uint64_t size, ward_error_t **err);
void ward_vm_mem_free (struct ward_vm_mem *mem);
/* Describes caller-owned memory as one region at gpa 0 (unit tests, fuzz). */
void ward_vm_mem_init_flat (struct ward_vm_mem *mem, void *host, uint64_t size);
/* Host pointer for [gpa, gpa+len) or NULL when any byte of it is outside
 * guest RAM or the range wraps.  len 0 is allowed (checks gpa only). */
void *ward_vm_mem_ptr (const struct ward_vm_mem *mem, uint64_t gpa, uint64_t len);
/* Total RAM bytes. */
uint64_t ward_vm_mem_size (const struct ward_vm_mem *mem);

/* ---- split virtqueue (virtq.c) ---- */

#define WARD_VIRTQ_MAX_SIZE 32768
/* The longest descriptor chain we follow; longer chains are refused. */
#define WARD_VIRTQ_MAX_CHAIN 1024

struct ward_virtq
{
  const struct ward_vm_mem *mem;
  uint16_t size; /* queue size set by the driver, power of 2, <= max */
  bool ready;
  uint64_t desc_gpa, avail_gpa, used_gpa;
  uint16_t last_avail; /* next avail ring slot we consume */
  uint16_t used_idx;   /* our copy of used->idx */
  bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
  bool indirect;       /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
  /* host views of the three areas, set by ward_virtq_activate */
  uint8_t *desc, *avail, *used;
  bool broken;         /* the driver broke the protocol: stop touching it */
};

/* One buffer segment of a chain, already validated and translated. */
struct ward_virtq_seg
{
  uint8_t *host;
  uint32_t len;
  bool writable; /* device-writable (VIRTQ_DESC_F_WRITE) */
};

struct ward_virtq_chain
{
  uint16_t head;
  size_t n_segs;
  struct ward_virtq_seg segs[WARD_VIRTQ_MAX_CHAIN];
  uint64_t readable_len, writable_len;
};

/* Checks the ring addresses and size the driver programmed (alignment, all
 * three areas inside guest RAM).  Returns 0 or -EINVAL. */
int ward_virtq_activate (struct ward_virtq *q, ward_error_t **err);
/* Pops the next available chain.  Returns 1 with *chain filled, 0 when the
 * ring is empty, or a negative errno when the driver's data is invalid
 * (the queue is then marked broken and further calls return -EIO). */
int ward_virtq_pop (struct ward_virtq *q, struct ward_virtq_chain *chain, ward_error_t **err);
/* Publishes head as used with written bytes.  Returns 0 or -EIO. */
int ward_virtq_push (struct ward_virtq *q, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt for what was pushed since
 * old_used_idx (honours VIRTQ_AVAIL_F_NO_INTERRUPT / used_event). */
bool ward_virtq_should_notify (struct ward_virtq *q, uint16_t old_used_idx);
/* Copies out of / into a chain's readable / writable segments. */
size_t ward_virtq_chain_read (const struct ward_virtq_chain *c, size_t off, void *buf, size_t len);
size_t ward_virtq_chain_write (const struct ward_virtq_chain *c, size_t off, const void *buf,
                               size_t len);
void ward_virtq_reset (struct ward_virtq *q);

/* ---- virtio-mmio transport (virtio_mmio.c) ---- */

#define WARD_VIRTIO_MMIO_MAX_QUEUES 8

struct ward_virtio_dev;

struct ward_virtio_dev_ops
{
  uint32_t device_id;
  uint64_t features; /* device features offered (VIRTIO_F_VERSION_1 added) */
  uint16_t n_queues;
  uint16_t queue_max;
  /* config space access: off < 0xf00 from the window's config area, size
   * 1/2/4/8; the device checks off+size against its own config size */
  void (*config_read) (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size);
  void (*config_write) (struct ward_virtio_dev *d, uint32_t off, const void *data, uint32_t size);
  /* the driver notified queue qidx (called with the device lock held) */
  void (*notify) (struct ward_virtio_dev *d, uint16_t qidx);
  /* DRIVER_OK was set: the device may start (e.g. poll threads) */
  void (*activate) (struct ward_virtio_dev *d);
  void (*reset) (struct ward_virtio_dev *d);
};

struct ward_virtio_dev
{
  /* held around register accesses and notify; device threads take it
   * before touching the queues */
  pthread_mutex_t lock;
  const struct ward_virtio_dev_ops *ops;
  void *opaque;                     /* the device's own state */
  const struct ward_vm_mem *mem;
  uint32_t status;
  uint32_t device_features_sel, driver_features_sel;
  uint64_t driver_features;
  uint32_t queue_sel;
  uint32_t interrupt_status;
  uint32_t config_generation;
  struct ward_virtq queues[WARD_VIRTIO_MMIO_MAX_QUEUES];
  /* raises the device's interrupt line; set by whoever places the device */
  void (*irq_raise) (void *irq_opaque);
  void *irq_opaque;
};

void ward_virtio_mmio_init (struct ward_virtio_dev *d, const struct ward_virtio_dev_ops *ops,
                            void *opaque, const struct ward_vm_mem *mem);
void ward_virtio_mmio_destroy (struct ward_virtio_dev *d);
/* Register access at offset off of the device's 4 KiB window; size 1,2,4. */
void ward_virtio_mmio_read (struct ward_virtio_dev *d, uint64_t off, void *data, uint32_t size);
void ward_virtio_mmio_write (struct ward_virtio_dev *d, uint64_t off, const void *data,
                             uint32_t size);
/* Sets the used-buffer interrupt bit and raises the line (lock held). */
void ward_virtio_mmio_signal_used (struct ward_virtio_dev *d);
/* Hands every available chain of queue qidx to handle (which returns the
 * bytes it wrote into the chain), returns each to the used ring, and
 * signals the guest once if it wants it.  At most one ring's worth per
 * call: a guest whose used ring overlaps its avail ring would otherwise
 * keep the loop going forever (found by fuzz-virtq); a well-behaved driver
 * kicks again for later buffers.  Returns the number of chains handled. */
unsigned ward_virtio_drain_queue (struct ward_virtio_dev *d, uint16_t qidx, const char *what,
                                  uint32_t (*handle) (void *ctx, struct ward_virtq_chain *chain),
                                  void *ctx);

/* ---- the VM (vmm.c) ---- */

enum ward_vm_exit_reason
{
  WARD_VM_EXIT_RESET = 0,   /* the guest rebooted (i8042 reset, reboot=k) */
  WARD_VM_EXIT_SHUTDOWN,    /* triple fault / KVM_EXIT_SHUTDOWN */
  WARD_VM_EXIT_STOPPED,     /* ward_vm_stop was called */
  WARD_VM_EXIT_ERROR,       /* KVM internal error or an unhandled exit */
};

struct ward_vm_config
{
  const char *kernel_path;  /* uncompressed ELF vmlinux with a PVH note */
  const char *initrd_path;  /* optional */
  const char *cmdline;      /* appended to the VMM's own arguments */
  uint64_t mem_bytes;       /* 0: 128 MiB */
  unsigned vcpus;           /* 0: 1 */
  int serial_fd;            /* 8250 output on port 0x3f8; -1 discards it */
  int console_in_fd;        /* virtio-console (hvc0) input; -1: none */
  int console_out_fd;       /* virtio-console output; -1: no device */
  const char *vsock_path;   /* hybrid vsock unix socket; NULL: no vsock */
  uint64_t vsock_cid;       /* the guest's CID; 0: 3 */
  bool rng;                 /* add a virtio-rng fed by getrandom(2) */
  /* virtio-fs and virtio-net.  NOTE for callers that zero the struct
   * (vmagent): a zeroed config has neither device.  The fs device exists
   * only when fs_tag != NULL (fs_root_fd must then be a directory fd); the
   * net device only when net_tap_fd > 0 (fd 0 never counts).  The VM keeps
   * its own copies of both fds: the caller may close its own after
   * ward_vm_create.  /proc/self/fd must be visible at ward_vm_create (the
   * FUSE server re-opens files through it), and the VMM raises its soft
   * RLIMIT_NOFILE to the hard limit (one O_PATH fd per guest inode). */
  int fs_root_fd;           /* virtio-fs: directory fd exported as the guest's tag fs_tag */
  const char *fs_tag;       /* virtio-fs tag (e.g. "rootfs"); NULL: no fs device */
  bool fs_readonly;         /* refuse every write request with EROFS */
  int net_tap_fd;           /* virtio-net on this TAP (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR); <= 0: none */
  uint8_t net_mac[6];       /* guest MAC; all-zero: derived locally-administered */
};

typedef struct ward_vm ward_vm_t;

int ward_vm_create (const struct ward_vm_config *cfg, ward_vm_t **out, ward_error_t **err);
/* Runs the vCPUs (one thread each) until the guest resets, shuts down or
 * ward_vm_stop is called; *reason tells which.  Call it once per VM.
 * Installs a no-op SIGRTMIN handler (the kick that takes vCPU threads out
 * of KVM_RUN): the VMM process must not use SIGRTMIN for anything else. */
int ward_vm_run (ward_vm_t *vm, enum ward_vm_exit_reason *reason, ward_error_t **err);
/* Async-signal-unsafe but thread-safe: makes ward_vm_run return STOPPED. */
void ward_vm_stop (ward_vm_t *vm);
void ward_vm_destroy (ward_vm_t **vm);
/* The kernel command line the VMM passed (valid until destroy). */
const char *ward_vm_cmdline (const ward_vm_t *vm);
const char *ward_vm_exit_reason_str (enum ward_vm_exit_reason r);

/* ---- sizing from the OCI resources (resources.c) ---- */

#define WARD_VM_DEFAULT_MEM (128ULL << 20)
/* guest kernel + agent on top of the container's memory limit */
#define WARD_VM_GUEST_OVERHEAD (64ULL << 20)
#define WARD_VM_MAX_VCPUS 64

/* RAM = memory.limit + overhead (default 128 MiB), rounded up to 2 MiB;
 * vCPUs = ceil(cpu.quota / cpu.period), else the cpuset's CPU count, else
 * 1, capped at host_cpus (0: no cap) and WARD_VM_MAX_VCPUS.  r may be NULL.
 */
int ward_vm_size_from_resources (const ward_resources_t *r, unsigned host_cpus, uint64_t *mem_bytes,
                                 unsigned *vcpus, ward_error_t **err);

/* ---- internal between the runtime/vm files (not for other modules) ---- */

/* PVH boot: loads the ELF kernel into RAM and returns its PVH entry. */
int ward_vm_load_pvh_kernel (struct ward_vm_mem *mem, int fd, uint64_t *entry, uint64_t *kernel_end,
                             ward_error_t **err);
/* Writes hvm_start_info, the memory map, command line and initrd module;
 * returns the start_info guest address (goes to %ebx). */
int ward_vm_write_start_info (struct ward_vm_mem *mem, const char *cmdline, uint64_t initrd_gpa,
                              uint64_t initrd_size, uint64_t *start_info_gpa, ward_error_t **err);
/* Writes an Intel MP table (so the guest finds its vCPUs without ACPI). */
int ward_vm_write_mptable (struct ward_vm_mem *mem, unsigned vcpus, ward_error_t **err);

#endif
