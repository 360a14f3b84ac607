/* virtio-fs (device 26, virtio 1.2 5.11): a hiprio queue (FORGET,
 * INTERRUPT: no replies) and one request queue, both served by the
 * in-process FUSE server (fuse_server.c) on a worker thread of the device:
 * a kick only wakes it, so the vCPU goes back to the guest at once and
 * host file I/O never stalls it.  Requests are strictly serialised.
 *
 * Locks: dev.lock guards the queues, `pending` and `generation`;
 * fuse_lock guards the FUSE server.  The worker holds fuse_lock alone
 * while a request runs (the vCPUs can still reach the device's registers)
 * and never takes dev.lock with it; a reset takes dev.lock, then
 * fuse_lock. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "runtime/vm/devices.h"
#include "runtime/vm/fuse.h"

#define VIRTIO_ID_FS 26
#define HIPRIO_Q 0
#define REQUEST_Q 1
#define QUEUE_MAX 1024
#define TAG_LEN 36
#define F_INDIRECT_DESC (1ULL << 28)
#define STATUS_DRIVER_OK 4

struct ward_vm_fs
{
  struct ward_virtio_dev dev;
  struct ward_vm_fuse *fuse;
  pthread_mutex_t fuse_lock;
  pthread_cond_t kick;  /* with dev.lock: a queue was notified */
  unsigned pending;     /* bit per notified queue */
  uint64_t generation;  /* bumped by every reset */
  bool stopping;
  pthread_t worker;
  bool worker_started;
  /* config space: tag[36] (NUL-padded, not terminated when 36 long) and
   * num_request_queues (le32) */
  uint8_t config[TAG_LEN + 4];
};

/* Serves the chains available on queue qidx, at most one ring's worth (a
 * driver whose used ring overlaps its avail ring must not keep us busy;
 * a well-behaved one kicks again).  Called and returns with dev.lock. */
static void
serve_queue (struct ward_vm_fs *f, uint16_t qidx, struct ward_virtq_chain *chain)
{
  struct ward_virtio_dev *d = &f->dev;
  struct ward_virtq *q = &d->queues[qidx];
  uint32_t limit = q->size;
  for (uint32_t n = 0; n < limit && !f->stopping; n++)
    {
      if (!q->ready || !(d->status & STATUS_DRIVER_OK))
        return;
      ward_error_t *err = NULL;
      uint16_t old = q->used_idx;
      int r = ward_virtq_pop (q, chain, &err);
      if (r < 0)
        {
          ward_debug ("virtio-fs queue %u: %s", qidx, err->msg);
          ward_error_free (&err);
          return;
        }
      if (r == 0)
        return;
      uint64_t gen = f->generation;
      pthread_mutex_unlock (&d->lock);
      /* guest RAM stays mapped for the VM's life: the chain's pointers
       * are valid without dev.lock */
      pthread_mutex_lock (&f->fuse_lock);
      uint32_t written = ward_vm_fuse_handle (f->fuse, chain);
      pthread_mutex_unlock (&f->fuse_lock);
      pthread_mutex_lock (&d->lock);
      /* a reset meanwhile: the ring we popped from is gone */
      if (gen != f->generation)
        return;
      ward_virtq_push (q, chain->head, written);
      if (ward_virtq_should_notify (q, old))
        ward_virtio_mmio_signal_used (d);
    }
}

static void *
worker (void *arg)
{
  struct ward_vm_fs *f = arg;
  struct ward_virtio_dev *d = &f->dev;
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  pthread_mutex_lock (&d->lock);
  while (!f->stopping)
    {
      if (f->pending == 0)
        {
          pthread_cond_wait (&f->kick, &d->lock);
          continue;
        }
      /* FORGETs first: they free what the requests may need */
      for (uint16_t qidx = HIPRIO_Q; qidx <= REQUEST_Q; qidx++)
        if (f->pending & (1u << qidx))
          {
            f->pending &= ~(1u << qidx);
            serve_queue (f, qidx, chain);
          }
    }
  pthread_mutex_unlock (&d->lock);
  return NULL;
}

static void
fs_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  struct ward_vm_fs *f = d->opaque;
  f->pending |= 1u << qidx;
  pthread_cond_signal (&f->kick);
}

static void
fs_activate (struct ward_virtio_dev *d)
{
  struct ward_vm_fs *f = d->opaque;
  ward_virtio_thread_start (&f->worker, &f->worker_started, worker, f,
                            "virtio-fs: cannot start the request thread");
}

static void
fs_config_read (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size)
{
  struct ward_vm_fs *f = d->opaque;
  if ((uint64_t) off + size > sizeof f->config)
    return; /* already zeroed by the transport */
  memcpy (data, f->config + off, size);
}

static void
fs_reset (struct ward_virtio_dev *d)
{
  struct ward_vm_fs *f = d->opaque;
  f->generation++;
  f->pending = 0;
  /* a new driver starts with INIT and knows none of the old nodeids;
   * waits for a request in flight */
  pthread_mutex_lock (&f->fuse_lock);
  ward_vm_fuse_reset (f->fuse);
  pthread_mutex_unlock (&f->fuse_lock);
}

static const struct ward_virtio_dev_ops fs_ops = {
  .device_id = VIRTIO_ID_FS,
  .features = F_INDIRECT_DESC,
  .n_queues = 2,
  .queue_max = QUEUE_MAX,
  .config_read = fs_config_read,
  .notify = fs_notify,
  .activate = fs_activate,
  .reset = fs_reset,
};

int
ward_vm_fs_new (const struct ward_vm_mem *mem, int root_fd, const char *tag, bool readonly,
                struct ward_vm_fs **out, ward_error_t **err)
{
  size_t len = tag ? strlen (tag) : 0;
  if (len == 0 || len > TAG_LEN)
    return ward_error_set (err, EINVAL, "virtio-fs tag '%s': 1 to %d bytes", tag ? tag : "",
                           TAG_LEN);
  struct ward_vm_fuse *fuse = NULL;
  int r = ward_vm_fuse_new (root_fd, readonly, &fuse, err);
  if (r < 0)
    return r;
  struct ward_vm_fs *f = xzalloc (sizeof *f);
  f->fuse = fuse;
  pthread_mutex_init (&f->fuse_lock, NULL);
  pthread_cond_init (&f->kick, NULL);
  memcpy (f->config, tag, len);
  uint32_t nq = 1;
  memcpy (f->config + TAG_LEN, &nq, 4);
  ward_virtio_mmio_init (&f->dev, &fs_ops, f, mem);
  *out = f;
  return 0;
}

struct ward_virtio_dev *
ward_vm_fs_dev (struct ward_vm_fs *f)
{
  return &f->dev;
}

struct ward_vm_fuse *
ward_vm_fs_fuse (struct ward_vm_fs *f)
{
  return f->fuse;
}

void
ward_vm_fs_free (struct ward_vm_fs *f)
{
  if (f == NULL)
    return;
  if (f->worker_started)
    ward_virtio_thread_stop (&f->dev, &f->stopping, &f->kick, -1, f->worker);
  ward_vm_fuse_free (f->fuse);
  pthread_mutex_destroy (&f->fuse_lock);
  pthread_cond_destroy (&f->kick);
  ward_virtio_mmio_destroy (&f->dev);
  free (f);
}
