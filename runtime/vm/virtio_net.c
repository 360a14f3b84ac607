/* virtio-net (device 1) on a TAP fd: receiveq 0, transmitq 1, only
 * VIRTIO_NET_F_MAC, no offloads and no mergeable buffers.  With
 * VIRTIO_F_VERSION_1 every frame carries the 12-byte virtio_net_hdr_v1,
 * which is also what an IFF_VNET_HDR TAP reads and writes once its header
 * size is set to 12: frames pass through unchanged, so offloads can be
 * added later by negotiating them on both sides.
 *
 * Transmit runs on the vCPU thread that kicked; receive has a thread of
 * its own that reads the TAP only when the guest has a buffer for it (the
 * TAP's own queue absorbs bursts, and drops beyond it, as a NIC would). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/devices.h"

#define VIRTIO_ID_NET 1
#define RXQ 0
#define TXQ 1
#define QUEUE_MAX 256
#define F_MAC (1ULL << 5)
#define HDR_LEN 12
#define NUM_BUFFERS_OFF 10
/* the largest frame either side may hand over: 64 KiB GSO-less limit */
#define FRAME_MAX (65536 + HDR_LEN)
#define MAX_IOV 64

struct ward_vm_net
{
  struct ward_virtio_dev dev;
  int tap_fd;
  int stop_fd; /* eventfd: ends the receive thread */
  uint8_t mac[6];
  pthread_t rx_thread;
  bool rx_started;
  pthread_cond_t rx_cond; /* the driver added receive buffers */
  bool stopping;
  uint8_t *rx_buf; /* FRAME_MAX */
  /* counters for tests and debugging */
  uint64_t tx_frames, rx_frames, rx_dropped;
};

static uint32_t
transmit (void *ctx, struct ward_virtq_chain *chain)
{
  struct ward_vm_net *n = ctx;
  struct iovec iov[MAX_IOV];
  int k = 0;
  /* a frame is the header and at least an Ethernet header; the rest is
   * the guest's business, but never more than a frame's worth */
  if (chain->readable_len < HDR_LEN + 14 || chain->readable_len > FRAME_MAX)
    return 0;
  for (size_t i = 0; i < chain->n_segs; i++)
    {
      if (chain->segs[i].writable || chain->segs[i].len == 0)
        continue;
      if (k == MAX_IOV)
        return 0; /* too scattered for one writev: dropped */
      iov[k++] = (struct iovec){ .iov_base = chain->segs[i].host, .iov_len = chain->segs[i].len };
    }
  ssize_t w = writev (n->tap_fd, iov, k);
  if (w < 0)
    ward_debug ("virtio-net: write to the TAP: %s", strerror (errno));
  else
    n->tx_frames++;
  return 0;
}

static void
net_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  struct ward_vm_net *n = d->opaque;
  if (qidx == TXQ)
    ward_virtio_drain_queue (d, TXQ, "virtio-net tx", transmit, n);
  else if (qidx == RXQ)
    pthread_cond_broadcast (&n->rx_cond);
}

/* Puts one frame (header included) into the next receive buffer; waits
 * for one with the lock held.  false: stopping or the queue broke. */
static bool
deliver (struct ward_vm_net *n, size_t len)
{
  struct ward_virtio_dev *d = &n->dev;
  struct ward_virtq *q = &d->queues[RXQ];
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  bool ok = true;
  pthread_mutex_lock (&d->lock);
  for (;;)
    {
      if (n->stopping)
        {
          ok = false;
          break;
        }
      ward_error_t *err = NULL;
      int r = (d->status & 4) ? ward_virtq_pop (q, chain, &err) : 0;
      if (r < 0)
        {
          ward_debug ("virtio-net rx: %s", err->msg);
          ward_error_free (&err);
          ok = false;
          break;
        }
      if (r == 0)
        {
          pthread_cond_wait (&n->rx_cond, &d->lock);
          continue;
        }
      uint16_t old = q->used_idx;
      uint32_t put = 0;
      /* without MRG_RXBUF a frame goes into one buffer or not at all */
      if (chain->writable_len >= len)
        put = (uint32_t) ward_virtq_chain_write (chain, 0, n->rx_buf, len);
      else
        n->rx_dropped++;
      if (put)
        n->rx_frames++;
      ward_virtq_push (q, chain->head, put);
      if (ward_virtq_should_notify (q, old))
        ward_virtio_mmio_signal_used (d);
      break;
    }
  pthread_mutex_unlock (&d->lock);
  return ok;
}

static void *
rx_thread (void *arg)
{
  struct ward_vm_net *n = arg;
  for (;;)
    {
      struct pollfd p[2] = { { .fd = n->tap_fd, .events = POLLIN },
                             { .fd = n->stop_fd, .events = POLLIN } };
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[1].revents)
        break;
      if (p[0].revents & (POLLERR | POLLNVAL))
        break;
      ssize_t got = read (n->tap_fd, n->rx_buf, FRAME_MAX);
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (got <= 0)
        break;
      if (got < HDR_LEN)
        continue;
      /* the TAP leaves num_buffers alone: one buffer per frame here */
      uint16_t one = 1;
      memcpy (n->rx_buf + NUM_BUFFERS_OFF, &one, 2);
      if (!deliver (n, (size_t) got))
        break;
    }
  return NULL;
}

static void
net_activate (struct ward_virtio_dev *d)
{
  struct ward_vm_net *n = d->opaque;
  ward_virtio_thread_start (&n->rx_thread, &n->rx_started, rx_thread, n,
                            "virtio-net: cannot start the receive thread");
}

static void
net_config_read (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size)
{
  struct ward_vm_net *n = d->opaque;
  if ((uint64_t) off + size <= sizeof n->mac)
    memcpy (data, n->mac + off, size);
}

static const struct ward_virtio_dev_ops net_ops = {
  .device_id = VIRTIO_ID_NET,
  .features = F_MAC,
  .n_queues = 2,
  .queue_max = QUEUE_MAX,
  .config_read = net_config_read,
  .notify = net_notify,
  .activate = net_activate,
};

int
ward_vm_net_new (const struct ward_vm_mem *mem, int tap_fd, const uint8_t mac[6],
                 struct ward_vm_net **out, ward_error_t **err)
{
  _cleanup_close_ int fd = fcntl (tap_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return ward_error_set (err, errno, "virtio-net: dup TAP fd %d", tap_fd);
  int hdr = HDR_LEN;
  struct ifreq ifr;
  memset (&ifr, 0, sizeof ifr);
  /* without IFF_VNET_HDR the TAP would take our header for the frame */
  if (ioctl (fd, TUNGETIFF, &ifr) == 0 && (!(ifr.ifr_flags & IFF_VNET_HDR) || !(ifr.ifr_flags & IFF_NO_PI)))
    return ward_error_set (err, EINVAL, "virtio-net: TAP '%s' (fd %d) lacks IFF_VNET_HDR or IFF_NO_PI",
                           ifr.ifr_name, tap_fd);
  /* a TAP needs its header size set to virtio 1.0's 12 bytes and no
   * offloads; anything else (a socket in tests) passes frames as they are */
  if (ioctl (fd, TUNSETVNETHDRSZ, &hdr) < 0)
    {
      if (errno != ENOTTY && errno != EINVAL && errno != EBADFD)
        return ward_error_set (err, errno, "virtio-net: TUNSETVNETHDRSZ on fd %d", tap_fd);
      ward_debug ("virtio-net: fd %d is not a TAP: %s", tap_fd, strerror (errno));
    }
  else if (ioctl (fd, TUNSETOFFLOAD, 0UL) < 0)
    return ward_error_set (err, errno, "virtio-net: TUNSETOFFLOAD on fd %d", tap_fd);
  int efd = eventfd (0, EFD_CLOEXEC);
  if (efd < 0)
    return ward_error_set (err, errno, "eventfd for virtio-net");
  struct ward_vm_net *n = xzalloc (sizeof *n);
  n->tap_fd = TAKE_FD (fd);
  n->stop_fd = efd;
  n->rx_buf = xmalloc (FRAME_MAX);
  static const uint8_t zero[6];
  if (mac && memcmp (mac, zero, 6) != 0)
    memcpy (n->mac, mac, 6);
  else
    {
      if (getrandom (n->mac, 6, 0) != 6)
        memset (n->mac, 0x5a, 6);
      /* unicast, locally administered */
      n->mac[0] = (uint8_t) ((n->mac[0] & 0xfe) | 0x02);
    }
  pthread_cond_init (&n->rx_cond, NULL);
  ward_virtio_mmio_init (&n->dev, &net_ops, n, mem);
  *out = n;
  return 0;
}

struct ward_virtio_dev *
ward_vm_net_dev (struct ward_vm_net *n)
{
  return &n->dev;
}

void
ward_vm_net_free (struct ward_vm_net *n)
{
  if (n == NULL)
    return;
  if (n->rx_started)
    ward_virtio_thread_stop (&n->dev, &n->stopping, &n->rx_cond, n->stop_fd, n->rx_thread);
  close (n->stop_fd);
  close (n->tap_fd);
  free (n->rx_buf);
  pthread_cond_destroy (&n->rx_cond);
  ward_virtio_mmio_destroy (&n->dev);
  free (n);
}
