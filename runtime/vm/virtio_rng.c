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

static void
rng_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  struct ward_virtq *q = &d->queues[qidx];
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  uint16_t old = q->used_idx;
  bool any = false;
  /* one ring's worth per kick: overlapping rings must not loop forever */
  for (unsigned n = 0; n < q->size; n++)
    {
      ward_error_t *err = NULL;
      int r = ward_virtq_pop (q, chain, &err);
      if (r < 0)
        {
          ward_debug ("virtio-rng: %s", err->msg);
          ward_error_free (&err);
          break;
        }
      if (r == 0)
        break;
      uint8_t buf[MAX_FILL];
      size_t want = chain->writable_len < MAX_FILL ? (size_t) chain->writable_len : MAX_FILL;
      ssize_t n = want ? getrandom (buf, want, 0) : 0;
      if (n < 0)
        n = 0;
      size_t put = ward_virtq_chain_write (chain, 0, buf, (size_t) n);
      explicit_bzero (buf, sizeof buf);
      ward_virtq_push (q, chain->head, (uint32_t) put);
      any = true;
    }
  if (any && ward_virtq_should_notify (q, old))
    ward_virtio_mmio_signal_used (d);
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
