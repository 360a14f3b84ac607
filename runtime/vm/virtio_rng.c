/* virtio-rng (device 4): fills the guest's buffers from getrandom(2), so
 * the guest's CRNG is seeded at once instead of waiting for jitter. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/vm/devices.h"

#define VIRTIO_ID_RNG 4
#define QUEUE_MAX 64
/* per request: the guest asks for small amounts; more is never needed */
#define MAX_FILL 4096

struct ward_vm_rng
{
  struct ward_virtio_dev dev;
};

static uint32_t
fill_chain (void *ctx, struct ward_virtq_chain *chain)
{
  uint8_t buf[MAX_FILL];
  size_t want = chain->writable_len < MAX_FILL ? (size_t) chain->writable_len : MAX_FILL;
  ssize_t n = want ? getrandom (buf, want, 0) : 0;
  size_t put;

  if (n < 0)
    n = 0;
  put = ward_virtq_chain_write (chain, 0, buf, (size_t) n);
  explicit_bzero (buf, sizeof buf);
  return (uint32_t) put;
}

static void
rng_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  ward_virtio_drain_queue (d, qidx, "virtio-rng", fill_chain, NULL);
}

static const struct ward_virtio_dev_ops rng_ops = {
  .device_id = VIRTIO_ID_RNG,
  .features = 0,
  .n_queues = 1,
  .queue_max = QUEUE_MAX,
  .notify = rng_notify,
};

struct ward_vm_rng *
ward_vm_rng_new (const struct ward_vm_mem *mem)
{
  struct ward_vm_rng *r = xzalloc (sizeof *r);
  ward_virtio_mmio_init (&r->dev, &rng_ops, r, mem);
  return r;
}

struct ward_virtio_dev *
ward_vm_rng_dev (struct ward_vm_rng *r)
{
  return &r->dev;
}

void
ward_vm_rng_free (struct ward_vm_rng *r)
{
  if (r == NULL)
    return;
  ward_virtio_mmio_destroy (&r->dev);
  free (r);
}
