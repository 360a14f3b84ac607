/* virtio-mmio transport, version 2 (virtio 1.2, 4.2.2).  Register values
 * come from the guest: queue selectors, sizes and addresses are checked
 * before they reach the virtqueue code. */
#include <config.h>

#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/vm/vm.h"

#define MMIO_MAGIC 0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x44524157 /* "WARD" */

enum
{
  REG_MAGIC = 0x000,
  REG_VERSION = 0x004,
  REG_DEVICE_ID = 0x008,
  REG_VENDOR_ID = 0x00c,
  REG_DEVICE_FEATURES = 0x010,
  REG_DEVICE_FEATURES_SEL = 0x014,
  REG_DRIVER_FEATURES = 0x020,
  REG_DRIVER_FEATURES_SEL = 0x024,
  REG_QUEUE_SEL = 0x030,
  REG_QUEUE_NUM_MAX = 0x034,
  REG_QUEUE_NUM = 0x038,
  REG_QUEUE_READY = 0x044,
  REG_QUEUE_NOTIFY = 0x050,
  REG_INTERRUPT_STATUS = 0x060,
  REG_INTERRUPT_ACK = 0x064,
  REG_STATUS = 0x070,
  REG_QUEUE_DESC_LOW = 0x080,
  REG_QUEUE_DESC_HIGH = 0x084,
  REG_QUEUE_DRIVER_LOW = 0x090,
  REG_QUEUE_DRIVER_HIGH = 0x094,
  REG_QUEUE_DEVICE_LOW = 0x0a0,
  REG_QUEUE_DEVICE_HIGH = 0x0a4,
  REG_CONFIG_GENERATION = 0x0fc,
  REG_CONFIG = 0x100,
};

#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40
#define F_INDIRECT_DESC (1ULL << 28)
#define F_EVENT_IDX (1ULL << 29)
#define F_VERSION_1 (1ULL << 32)

static uint64_t
device_features (const struct ward_virtio_dev *d)
{
  return d->ops->features | F_VERSION_1;
}

static void
reset (struct ward_virtio_dev *d)
{
  d->status = 0;
  d->device_features_sel = d->driver_features_sel = 0;
  d->driver_features = 0;
  d->queue_sel = 0;
  d->interrupt_status = 0;
  for (size_t i = 0; i < WARD_VIRTIO_MMIO_MAX_QUEUES; i++)
    ward_virtq_reset (&d->queues[i]);
  if (d->ops->reset)
    d->ops->reset (d);
}

void
ward_virtio_mmio_init (struct ward_virtio_dev *d, const struct ward_virtio_dev_ops *ops,
                       void *opaque, const struct ward_vm_mem *mem)
{
  memset (d, 0, sizeof *d);
  pthread_mutex_init (&d->lock, NULL);
  d->ops = ops;
  d->opaque = opaque;
  d->mem = mem;
  for (size_t i = 0; i < WARD_VIRTIO_MMIO_MAX_QUEUES; i++)
    d->queues[i].mem = mem;
}

void
ward_virtio_mmio_destroy (struct ward_virtio_dev *d)
{
  pthread_mutex_destroy (&d->lock);
}

static struct ward_virtq *
selected (struct ward_virtio_dev *d)
{
  if (d->queue_sel >= d->ops->n_queues || d->queue_sel >= WARD_VIRTIO_MMIO_MAX_QUEUES)
    return NULL;
  return &d->queues[d->queue_sel];
}

static uint32_t
reg_read (struct ward_virtio_dev *d, uint64_t off)
{
  struct ward_virtq *q = selected (d);
  switch (off)
    {
    case REG_MAGIC:
      return MMIO_MAGIC;
    case REG_VERSION:
      return MMIO_VERSION;
    case REG_DEVICE_ID:
      return d->ops->device_id;
    case REG_VENDOR_ID:
      return MMIO_VENDOR;
    case REG_DEVICE_FEATURES:
      if (d->device_features_sel > 1)
        return 0;
      return (uint32_t) (device_features (d) >> (32 * d->device_features_sel));
    case REG_QUEUE_NUM_MAX:
      return q ? d->ops->queue_max : 0;
    case REG_QUEUE_READY:
      return q ? q->ready : 0;
    case REG_INTERRUPT_STATUS:
      return d->interrupt_status;
    case REG_STATUS:
      return d->status;
    case REG_CONFIG_GENERATION:
      return d->config_generation;
    default:
      return 0;
    }
}

static void
set_addr (struct ward_virtq *q, uint64_t *field, bool high, uint32_t v)
{
  /* the driver must not move a live queue (virtio 1.2, 4.2.2.3) */
  if (q == NULL || q->ready)
    return;
  if (high)
    *field = (*field & 0xffffffffULL) | ((uint64_t) v << 32);
  else
    *field = (*field & ~0xffffffffULL) | v;
}

static void
write_status (struct ward_virtio_dev *d, uint32_t v)
{
  if (v == 0)
    {
      reset (d);
      return;
    }
  if ((v & STATUS_FEATURES_OK) && !(d->status & STATUS_FEATURES_OK))
    {
      /* refuse features we did not offer, and legacy (pre-1.0) drivers */
      if ((d->driver_features & ~device_features (d)) || !(d->driver_features & F_VERSION_1))
        v &= ~(uint32_t) STATUS_FEATURES_OK;
    }
  bool start = (v & STATUS_DRIVER_OK) && !(d->status & STATUS_DRIVER_OK);
  d->status = v & 0xff;
  if (start && d->ops->activate)
    d->ops->activate (d);
}

static void
reg_write (struct ward_virtio_dev *d, uint64_t off, uint32_t v)
{
  struct ward_virtq *q = selected (d);
  switch (off)
    {
    case REG_DEVICE_FEATURES_SEL:
      d->device_features_sel = v;
      break;
    case REG_DRIVER_FEATURES_SEL:
      d->driver_features_sel = v;
      break;
    case REG_DRIVER_FEATURES:
      if (d->status & STATUS_FEATURES_OK)
        break;
      if (d->driver_features_sel == 0)
        d->driver_features = (d->driver_features & ~0xffffffffULL) | v;
      else if (d->driver_features_sel == 1)
        d->driver_features = (d->driver_features & 0xffffffffULL) | ((uint64_t) v << 32);
      break;
    case REG_QUEUE_SEL:
      d->queue_sel = v;
      break;
    case REG_QUEUE_NUM:
      if (q && !q->ready)
        q->size = v <= d->ops->queue_max ? (uint16_t) v : 0;
      break;
    case REG_QUEUE_READY:
      if (q == NULL)
        break;
      if (v == 0)
        {
          q->ready = false;
          break;
        }
      if (!q->ready)
        {
          ward_error_t *err = NULL;
          q->event_idx = (d->driver_features & F_EVENT_IDX) != 0;
          q->indirect = (d->driver_features & F_INDIRECT_DESC) != 0;
          if (ward_virtq_activate (q, &err) < 0)
            {
              ward_debug ("virtio dev %u queue %u: %s", d->ops->device_id, d->queue_sel, err->msg);
              ward_error_free (&err);
              d->status |= STATUS_NEEDS_RESET;
            }
        }
      break;
    case REG_QUEUE_NOTIFY:
      if (v < d->ops->n_queues && v < WARD_VIRTIO_MMIO_MAX_QUEUES && d->queues[v].ready
          && (d->status & STATUS_DRIVER_OK) && d->ops->notify)
        d->ops->notify (d, (uint16_t) v);
      break;
    case REG_INTERRUPT_ACK:
      d->interrupt_status &= ~v;
      break;
    case REG_STATUS:
      write_status (d, v);
      break;
    case REG_QUEUE_DESC_LOW:
    case REG_QUEUE_DESC_HIGH:
      set_addr (q, q ? &q->desc_gpa : NULL, off == REG_QUEUE_DESC_HIGH, v);
      break;
    case REG_QUEUE_DRIVER_LOW:
    case REG_QUEUE_DRIVER_HIGH:
      set_addr (q, q ? &q->avail_gpa : NULL, off == REG_QUEUE_DRIVER_HIGH, v);
      break;
    case REG_QUEUE_DEVICE_LOW:
    case REG_QUEUE_DEVICE_HIGH:
      set_addr (q, q ? &q->used_gpa : NULL, off == REG_QUEUE_DEVICE_HIGH, v);
      break;
    default:
      break;
    }
}

void
ward_virtio_mmio_read (struct ward_virtio_dev *d, uint64_t off, void *data, uint32_t size)
{
  memset (data, 0, size <= 8 ? size : 8);
  if (size != 1 && size != 2 && size != 4 && size != 8)
    return;
  pthread_mutex_lock (&d->lock);
  if (off >= REG_CONFIG)
    {
      uint64_t coff = off - REG_CONFIG;
      if (coff < WARD_VM_VIRTIO_MMIO_SIZE - REG_CONFIG && d->ops->config_read)
        d->ops->config_read (d, (uint32_t) coff, data, size);
    }
  else if (size == 4 && (off & 3) == 0)
    {
      uint32_t v = reg_read (d, off);
      memcpy (data, &v, 4);
    }
  pthread_mutex_unlock (&d->lock);
}

void
ward_virtio_mmio_write (struct ward_virtio_dev *d, uint64_t off, const void *data, uint32_t size)
{
  if (size != 1 && size != 2 && size != 4 && size != 8)
    return;
  pthread_mutex_lock (&d->lock);
  if (off >= REG_CONFIG)
    {
      uint64_t coff = off - REG_CONFIG;
      if (coff < WARD_VM_VIRTIO_MMIO_SIZE - REG_CONFIG && d->ops->config_write)
        d->ops->config_write (d, (uint32_t) coff, data, size);
    }
  else if (size == 4 && (off & 3) == 0)
    {
      uint32_t v;
      memcpy (&v, data, 4);
      reg_write (d, off, v);
    }
  pthread_mutex_unlock (&d->lock);
}

void
ward_virtio_mmio_signal_used (struct ward_virtio_dev *d)
{
  d->interrupt_status |= 1;
  if (d->irq_raise)
    d->irq_raise (d->irq_opaque);
}

unsigned
ward_virtio_drain_queue (struct ward_virtio_dev *d, uint16_t qidx, const char *what,
                         uint32_t (*handle) (void *ctx, struct ward_virtq_chain *chain), void *ctx)
{
  struct ward_virtq *q = &d->queues[qidx];
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  uint16_t old = q->used_idx;
  unsigned n;

  for (n = 0; n < q->size; n++)
    {
      ward_error_t *err = NULL;
      int r = ward_virtq_pop (q, chain, &err);
      if (r < 0)
        {
          ward_debug ("%s: %s", what, err->msg);
          ward_error_free (&err);
          break;
        }
      if (r == 0)
        break;
      ward_virtq_push (q, chain->head, handle (ctx, chain));
    }
  if (n && ward_virtq_should_notify (q, old))
    ward_virtio_mmio_signal_used (d);
  return n;
}
