/* libFuzzer target for the guest-facing virtio code (virtqueue, virtio-mmio,
 * virtio-rng, virtio-vsock): the input becomes a
 * guest's RAM (rings, descriptors, indirect tables, buffers) plus a
 * sequence of virtio-mmio register accesses.  Nothing the guest writes may
 * crash the VMM, read or write outside guest RAM, or loop forever.
 *
 * Build and run: runtime/vm/run-fuzz-vm.sh [SECONDS]  (clang
 * -fsanitize=fuzzer,address,undefined straight from runtime/vm/ sources). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"

#define RAM_SIZE (64 * 1024)

static uint32_t
take32 (const uint8_t **p, size_t *n)
{
  uint32_t v = 0;
  size_t k = *n < 4 ? *n : 4;
  memcpy (&v, *p, k);
  *p += k;
  *n -= k;
  return v;
}

static void
run_queue (struct ward_virtq *q, struct ward_virtq_chain *chain, uint8_t *scratch)
{
  for (unsigned i = 0; i < 2u * q->size + 2; i++)
    {
      ward_error_t *err = NULL;
      int r = ward_virtq_pop (q, chain, &err);
      ward_error_free (&err);
      if (r <= 0)
        break;
      size_t got = ward_virtq_chain_read (chain, 0, scratch, RAM_SIZE);
      size_t put = ward_virtq_chain_write (chain, 1, scratch, got);
      ward_virtq_push (q, chain->head, (uint32_t) put);
      (void) ward_virtq_should_notify (q, (uint16_t) (q->used_idx - 1));
    }
}

static unsigned fuzz_notified;
static void
fuzz_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  static struct ward_virtq_chain chain;
  static uint8_t scratch[RAM_SIZE];
  fuzz_notified++;
  run_queue (&d->queues[qidx], &chain, scratch);
}

static void
fuzz_config_read (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size)
{
  (void) d;
  (void) off;
  memset (data, 0x5a, size);
}

static const struct ward_virtio_dev_ops fuzz_ops = {
  .device_id = 3,
  .features = (1ULL << 28) | (1ULL << 29),
  .n_queues = 2,
  .queue_max = 256,
  .config_read = fuzz_config_read,
  .notify = fuzz_notify,
};

/* One vsock device for the whole run (it owns a listening socket and a
 * thread); each input resets it through the status register first. */
static char vsock_path[64];

static void
unlink_vsock (void)
{
  unlink (vsock_path);
}

static struct ward_vm_vsock *
fuzz_vsock (const struct ward_vm_mem *mem)
{
  static struct ward_vm_vsock *v;
  if (v == NULL)
    {
      char *path = vsock_path;
      snprintf (vsock_path, sizeof vsock_path, "/tmp/ward-fuzz-vsock-%d.sock", (int) getpid ());
      unlink (path);
      atexit (unlink_vsock);
      if (ward_vm_vsock_new (mem, 3, path, &v, NULL) < 0)
        abort ();
    }
  return v;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static uint8_t *ram;
  static struct ward_vm_mem vmem; /* the vsock device keeps a pointer to it */
  static struct ward_virtq_chain chain;
  static uint8_t scratch[RAM_SIZE];
  if (ram == NULL)
    {
      ram = aligned_alloc (4096, RAM_SIZE);
      ward_vm_mem_init_flat (&vmem, ram, RAM_SIZE);
    }
  if (size < 16)
    return 0;

  /* header: queue size, flags, three ring offsets */
  const uint8_t *p = data;
  size_t n = size;
  uint32_t hdr = take32 (&p, &n);
  uint32_t desc = take32 (&p, &n) % RAM_SIZE;
  uint32_t avail = take32 (&p, &n) % RAM_SIZE;
  uint32_t used = take32 (&p, &n) % RAM_SIZE;

  /* the rest is guest RAM, repeated to fill it */
  memset (ram, 0, RAM_SIZE);
  for (size_t off = 0; n > 0 && off < RAM_SIZE; off += n)
    memcpy (ram + off, p, off + n <= RAM_SIZE ? n : RAM_SIZE - off);

  struct ward_vm_mem mem;
  ward_vm_mem_init_flat (&mem, ram, RAM_SIZE);

  /* 1. a queue the "driver" set up directly */
  struct ward_virtq q = { .mem = &mem };
  q.size = (uint16_t) (hdr & 0xffff);
  if (hdr & 0x10000)
    q.size = (uint16_t) (1u << ((hdr >> 20) % 9));
  q.desc_gpa = desc;
  q.avail_gpa = avail;
  q.used_gpa = used;
  q.event_idx = (hdr >> 17) & 1;
  q.indirect = (hdr >> 18) & 1;
  if (ward_virtq_activate (&q, NULL) == 0)
    {
      q.last_avail = (uint16_t) (hdr >> 24);
      run_queue (&q, &chain, scratch);
    }

  /* 2. the same RAM through the virtio-mmio registers of a test device or
   * of virtio-rng: the input's tail read as (offset, value) pairs */
  struct ward_virtio_dev fake;
  struct ward_vm_rng *rng = NULL;
  struct ward_virtio_dev *dp = &fake;
  bool vsock = (hdr & 0x100000) != 0;
  if (vsock)
    {
      dp = ward_vm_vsock_dev (fuzz_vsock (&vmem));
      uint32_t zero = 0;
      ward_virtio_mmio_write (dp, 0x70, &zero, 4);
    }
  else if (hdr & 0x80000)
    {
      rng = ward_vm_rng_new (&mem);
      dp = ward_vm_rng_dev (rng);
    }
  else
    ward_virtio_mmio_init (&fake, &fuzz_ops, NULL, &mem);
  struct ward_virtio_dev *d = dp;
  const uint8_t *t = p;
  size_t tn = n;
  for (unsigned i = 0; i < 256 && tn >= 6; i++)
    {
      uint16_t off;
      memcpy (&off, t, 2);
      t += 2;
      tn -= 2;
      uint32_t v = take32 (&t, &tn);
      unsigned sz = 1u << (off >> 14); /* 1, 2, 4 or 8 */
      uint8_t buf[8] = { 0 };
      memcpy (buf, &v, 4);
      if (off & 0x2000)
        ward_virtio_mmio_read (d, off & 0x1fff, buf, sz);
      else
        ward_virtio_mmio_write (d, off & 0x1fff, buf, sz);
    }
  ward_virtio_mmio_signal_used (d);
  if (vsock)
    {
      /* leave it reset, so the thread stops touching this input's RAM */
      uint32_t zero = 0;
      ward_virtio_mmio_write (d, 0x70, &zero, 4);
    }
  else if (rng)
    ward_vm_rng_free (rng);
  else
    ward_virtio_mmio_destroy (&fake);
  return 0;
}
