/* virtio-console (device 3) with one port, no MULTIPORT: the guest's hvc0.
 * Output (transmitq) is written to a host fd from the vCPU thread that
 * kicked it; input is read by a thread and fed into receiveq. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/devices.h"

#define VIRTIO_ID_CONSOLE 3
#define RXQ 0
#define TXQ 1
#define QUEUE_MAX 256
#define RX_BUF 4096

struct ward_vm_console
{
  struct ward_virtio_dev dev;
  int in_fd, out_fd;
  int stop_fd; /* eventfd: ends the input thread */
  pthread_t rx_thread;
  bool rx_started;
  pthread_cond_t rx_cond; /* the driver added receive buffers */
  bool stopping;
};

static uint32_t
write_out (void *ctx, struct ward_virtq_chain *chain)
{
  struct ward_vm_console *c = ctx;
  for (size_t i = 0; i < chain->n_segs; i++)
    if (!chain->segs[i].writable && c->out_fd >= 0)
      (void) ward_write_all (c->out_fd, chain->segs[i].host, chain->segs[i].len);
  return 0;
}

static void
drain_tx (struct ward_vm_console *c)
{
  ward_virtio_drain_queue (&c->dev, TXQ, "virtio-console tx", write_out, c);
}

static void
console_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  struct ward_vm_console *c = d->opaque;
  if (qidx == TXQ)
    drain_tx (c);
  else if (qidx == RXQ)
    pthread_cond_broadcast (&c->rx_cond);
}

/* Delivers buf to the guest; waits (lock held) for receive buffers. */
static bool
deliver (struct ward_vm_console *c, const uint8_t *buf, size_t len)
{
  struct ward_virtio_dev *d = &c->dev;
  struct ward_virtq *q = &d->queues[RXQ];
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  size_t off = 0;
  unsigned empty = 0;
  pthread_mutex_lock (&d->lock);
  while (off < len && !c->stopping)
    {
      /* buffers that take nothing (zero-length, or rings the guest made
       * overlap) must not spin here forever */
      if (empty > q->size)
        break;
      ward_error_t *err = NULL;
      uint16_t old = q->used_idx;
      int r = ward_virtq_pop (q, chain, &err);
      if (r < 0)
        {
          ward_debug ("virtio-console rx: %s", err->msg);
          ward_error_free (&err);
          break;
        }
      if (r == 0)
        {
          ward_debug ("virtio-console: waiting for receive buffers");
          pthread_cond_wait (&c->rx_cond, &d->lock);
          continue;
        }
      size_t n = ward_virtq_chain_write (chain, 0, buf + off, len - off);
      empty = n == 0 ? empty + 1 : 0;
      ward_debug ("virtio-console: %zu input bytes to the guest", n);
      off += n;
      ward_virtq_push (q, chain->head, (uint32_t) n);
      if (ward_virtq_should_notify (q, old))
        ward_virtio_mmio_signal_used (d);
    }
  bool ok = off == len;
  pthread_mutex_unlock (&d->lock);
  return ok;
}

static void *
rx_thread (void *arg)
{
  struct ward_vm_console *c = arg;
  uint8_t buf[RX_BUF];
  for (;;)
    {
      struct pollfd p[2] = { { .fd = c->in_fd, .events = POLLIN }, { .fd = c->stop_fd, .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[1].revents)
        break;
      ssize_t n = read (c->in_fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        break; /* EOF: hvc has no way to say so without MULTIPORT */
      if (!deliver (c, buf, (size_t) n))
        break;
    }
  return NULL;
}

static void
console_activate (struct ward_virtio_dev *d)
{
  struct ward_vm_console *c = d->opaque;
  if (c->in_fd < 0)
    return;
  ward_virtio_thread_start (&c->rx_thread, &c->rx_started, rx_thread, c,
                            "virtio-console: cannot start the input thread");
}

static void
console_config_read (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size)
{
  /* cols, rows, max_nr_ports, emerg_wr: all 0 without SIZE/MULTIPORT */
  (void) d;
  (void) off;
  memset (data, 0, size);
}

static const struct ward_virtio_dev_ops console_ops = {
  .device_id = VIRTIO_ID_CONSOLE,
  .features = 0,
  .n_queues = 2,
  .queue_max = QUEUE_MAX,
  .config_read = console_config_read,
  .notify = console_notify,
  .activate = console_activate,
};

int
ward_vm_console_new (const struct ward_vm_mem *mem, int in_fd, int out_fd,
                     struct ward_vm_console **out, ward_error_t **err)
{
  int efd = eventfd (0, EFD_CLOEXEC);
  if (efd < 0)
    return ward_error_set (err, errno, "eventfd for virtio-console");
  struct ward_vm_console *c = xzalloc (sizeof *c);
  c->in_fd = in_fd;
  c->out_fd = out_fd;
  c->stop_fd = efd;
  pthread_cond_init (&c->rx_cond, NULL);
  ward_virtio_mmio_init (&c->dev, &console_ops, c, mem);
  *out = c;
  return 0;
}

struct ward_virtio_dev *
ward_vm_console_dev (struct ward_vm_console *c)
{
  return &c->dev;
}

void
ward_vm_console_free (struct ward_vm_console *c)
{
  if (c == NULL)
    return;
  if (c->rx_started)
    ward_virtio_thread_stop (&c->dev, &c->stopping, &c->rx_cond, c->stop_fd, c->rx_thread);
  close (c->stop_fd);
  pthread_cond_destroy (&c->rx_cond);
  ward_virtio_mmio_destroy (&c->dev);
  free (c);
}
