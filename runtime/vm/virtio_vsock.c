/* virtio-vsock (device 19) served in-process, with Firecracker's "hybrid"
 * host side: the host talks to the guest through one unix socket.
 *
 *  - host -> guest: connect to PATH, write "CONNECT <port>\n"; the VMM
 *    opens a stream to the guest's port and answers "OK <host-port>\n",
 *    then the socket carries the stream both ways.
 *  - guest -> host: the guest connects to CID 2 port P; the VMM connects to
 *    the unix socket "PATH_P" and relays.
 *
 * Packets from the guest are hostile: header fields are checked (CIDs,
 * type, length against the descriptor chain) before anything is done. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/devices.h"

#define VIRTIO_ID_VSOCK 19
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define QUEUE_MAX 256
#define HOST_CID 2
#define HDR_SIZE 44
#define MAX_PKT 65536
#define MAX_CONNS 64
#define MAX_CTRL 128
#define BUF_ALLOC (256 * 1024)
#define LOCAL_PORT_BASE 0x40000000U

enum
{
  OP_REQUEST = 1,
  OP_RESPONSE = 2,
  OP_RST = 3,
  OP_SHUTDOWN = 4,
  OP_RW = 5,
  OP_CREDIT_UPDATE = 6,
  OP_CREDIT_REQUEST = 7,
};
#define TYPE_STREAM 1

struct pkt_hdr
{
  uint64_t src_cid, dst_cid;
  uint32_t src_port, dst_port;
  uint32_t len;
  uint16_t type, op;
  uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__ ((packed));

enum conn_state
{
  CONN_FREE = 0,
  CONN_HANDSHAKE, /* host socket accepted, waiting for "CONNECT n\n" */
  CONN_CONNECTING, /* REQUEST sent to the guest */
  CONN_ESTABLISHED,
  CONN_CLOSING, /* SHUTDOWN sent, waiting for the guest's RST */
};

struct conn
{
  enum conn_state state;
  int fd;
  uint32_t local_port, peer_port;
  uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's receive credit */
  uint32_t tx_cnt;                       /* bytes sent to the guest */
  uint32_t fwd_cnt, fwd_reported;        /* bytes from the guest we delivered */
  char line[32];                         /* the CONNECT line being read */
  size_t line_len;
};

struct ward_vm_vsock
{
  struct ward_virtio_dev dev;
  uint64_t guest_cid;
  char *path;
  int listen_fd;
  int kick_fd; /* eventfd: queue notifications and stop */
  pthread_t thread;
  bool started, stopping;
  bool rx_starved; /* no receive buffers: stop reading host sockets */
  uint32_t next_port;
  struct conn conns[MAX_CONNS];
  struct pkt_hdr ctrl[MAX_CTRL]; /* control packets waiting for rx buffers */
  size_t n_ctrl;
};

static void
kick (struct ward_vm_vsock *v)
{
  uint64_t one = 1;
  (void) ward_write_all (v->kick_fd, &one, sizeof one);
}

static void
conn_close (struct conn *c)
{
  if (c->fd >= 0)
    close (c->fd);
  memset (c, 0, sizeof *c);
  c->fd = -1;
  c->state = CONN_FREE;
}

static struct conn *
conn_find (struct ward_vm_vsock *v, uint32_t local_port, uint32_t peer_port)
{
  for (size_t i = 0; i < MAX_CONNS; i++)
    {
      struct conn *c = &v->conns[i];
      if (c->state != CONN_FREE && c->state != CONN_HANDSHAKE && c->local_port == local_port
          && c->peer_port == peer_port)
        return c;
    }
  return NULL;
}

static struct conn *
conn_alloc (struct ward_vm_vsock *v)
{
  for (size_t i = 0; i < MAX_CONNS; i++)
    if (v->conns[i].state == CONN_FREE)
      return &v->conns[i];
  return NULL;
}

static struct pkt_hdr
make_hdr (struct ward_vm_vsock *v, uint32_t local_port, uint32_t peer_port, uint16_t op)
{
  return (struct pkt_hdr){ .src_cid = HOST_CID, .dst_cid = v->guest_cid, .src_port = local_port,
                           .dst_port = peer_port, .type = TYPE_STREAM, .op = op,
                           .buf_alloc = BUF_ALLOC };
}

/* Queues a control packet; they go out before any data. */
static void
send_ctrl (struct ward_vm_vsock *v, struct conn *c, uint32_t local_port, uint32_t peer_port,
           uint16_t op, uint32_t flags)
{
  if (v->n_ctrl == MAX_CTRL)
    {
      ward_debug ("vsock: control queue full, dropping op %u", op);
      return;
    }
  struct pkt_hdr h = make_hdr (v, local_port, peer_port, op);
  h.flags = flags;
  if (c)
    {
      h.fwd_cnt = c->fwd_cnt;
      c->fwd_reported = c->fwd_cnt;
    }
  v->ctrl[v->n_ctrl++] = h;
}

static void
peer_credit (struct conn *c, const struct pkt_hdr *h)
{
  c->peer_buf_alloc = h->buf_alloc;
  c->peer_fwd_cnt = h->fwd_cnt;
}

static uint32_t
credit_left (const struct conn *c)
{
  uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
  return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Guest-initiated connection: relay to the unix socket PATH_<port>. */
static void
guest_connect (struct ward_vm_vsock *v, const struct pkt_hdr *h)
{
  struct conn *c = conn_alloc (v);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int n = snprintf (sa.sun_path, sizeof sa.sun_path, "%s_%u", v->path, h->dst_port);
  int fd = -1;
  if (c && n > 0 && (size_t) n < sizeof sa.sun_path)
    {
      /* non-blocking connect: a host listener with a full backlog must not
       * stall the vCPU thread that carries the REQUEST; RST instead */
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd >= 0 && (connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0
                      || fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) < 0))
        {
          close (fd);
          fd = -1;
        }
    }
  if (fd < 0)
    {
      send_ctrl (v, NULL, h->dst_port, h->src_port, OP_RST, 0);
      return;
    }
  *c = (struct conn){ .state = CONN_ESTABLISHED, .fd = fd, .local_port = h->dst_port,
                      .peer_port = h->src_port };
  peer_credit (c, h);
  send_ctrl (v, c, c->local_port, c->peer_port, OP_RESPONSE, 0);
}

static void
handle_guest_pkt (struct ward_vm_vsock *v, const struct pkt_hdr *h, const struct ward_virtq_chain *chain)
{
  ward_debug ("vsock: guest op %u %llu:%u -> %llu:%u len %u", h->op, (unsigned long long) h->src_cid,
              h->src_port, (unsigned long long) h->dst_cid, h->dst_port, h->len);
  /* the guest may only speak for itself, to us, in streams */
  if (h->src_cid != v->guest_cid || h->dst_cid != HOST_CID)
    return;
  if (h->type != TYPE_STREAM)
    {
      send_ctrl (v, NULL, h->dst_port, h->src_port, OP_RST, 0);
      return;
    }
  struct conn *c = conn_find (v, h->dst_port, h->src_port);
  if (h->op == OP_REQUEST)
    {
      if (c)
        send_ctrl (v, NULL, h->dst_port, h->src_port, OP_RST, 0);
      else
        guest_connect (v, h);
      return;
    }
  if (c == NULL)
    {
      if (h->op != OP_RST)
        send_ctrl (v, NULL, h->dst_port, h->src_port, OP_RST, 0);
      return;
    }
  peer_credit (c, h);
  switch (h->op)
    {
    case OP_RESPONSE:
      if (c->state == CONN_CONNECTING)
        {
          char ok[32];
          int n = snprintf (ok, sizeof ok, "OK %u\n", c->local_port);
          c->state = CONN_ESTABLISHED;
          if (ward_write_all (c->fd, ok, (size_t) n) < 0)
            {
              send_ctrl (v, NULL, c->local_port, c->peer_port, OP_RST, 0);
              conn_close (c);
            }
        }
      break;
    case OP_RW:
      if (c->state == CONN_ESTABLISHED && h->len > 0)
        {
          _cleanup_free_ uint8_t *buf = xmalloc (h->len);
          size_t got = ward_virtq_chain_read (chain, HDR_SIZE, buf, h->len);
          /* a blocking write: a slow host reader slows the guest down, as
           * the guest's credit would anyway */
          if (got != h->len || ward_write_all (c->fd, buf, got) < 0)
            {
              send_ctrl (v, NULL, c->local_port, c->peer_port, OP_RST, 0);
              conn_close (c);
              break;
            }
          c->fwd_cnt += (uint32_t) got;
          if (c->fwd_cnt - c->fwd_reported >= BUF_ALLOC / 4)
            send_ctrl (v, c, c->local_port, c->peer_port, OP_CREDIT_UPDATE, 0);
        }
      break;
    case OP_CREDIT_REQUEST:
      send_ctrl (v, c, c->local_port, c->peer_port, OP_CREDIT_UPDATE, 0);
      break;
    case OP_CREDIT_UPDATE:
      break;
    case OP_SHUTDOWN:
      /* a half-close is not relayed: the stream ends both ways */
      send_ctrl (v, NULL, c->local_port, c->peer_port, OP_RST, 0);
      conn_close (c);
      break;
    case OP_RST:
      conn_close (c);
      break;
    default:
      send_ctrl (v, NULL, c->local_port, c->peer_port, OP_RST, 0);
      conn_close (c);
      break;
    }
}

static uint32_t
take_guest_pkt (void *ctx, struct ward_virtq_chain *chain)
{
  struct ward_vm_vsock *v = ctx;
  struct pkt_hdr h;
  if (ward_virtq_chain_read (chain, 0, &h, sizeof h) == sizeof h && h.len <= MAX_PKT
      && h.len <= chain->readable_len - HDR_SIZE)
    handle_guest_pkt (v, &h, chain);
  return 0;
}

static void
drain_tx (struct ward_vm_vsock *v)
{
  /* connection states or credit changed: the thread must re-poll */
  if (ward_virtio_drain_queue (&v->dev, TXQ, "vsock tx", take_guest_pkt, v))
    kick (v);
}

/* Puts one packet (header + payload read from fd, or none) into the next
 * receive buffer.  Returns bytes of payload, 0, or -1 without a buffer. */
static int
rx_one (struct ward_vm_vsock *v, struct pkt_hdr *h, struct conn *c, bool *signal)
{
  struct ward_virtq *q = &v->dev.queues[RXQ];
  _cleanup_free_ struct ward_virtq_chain *chain = xmalloc (sizeof *chain);
  ward_error_t *err = NULL;
  int r = ward_virtq_pop (q, chain, &err);
  if (r <= 0)
    {
      if (r < 0)
        {
          ward_debug ("vsock rx: %s", err->msg);
          ward_error_free (&err);
        }
      v->rx_starved = true;
      return -1;
    }
  if (chain->writable_len < HDR_SIZE)
    {
      ward_virtq_push (q, chain->head, 0);
      *signal = true;
      return 0;
    }
  uint32_t payload = 0;
  if (c)
    {
      uint64_t room = chain->writable_len - HDR_SIZE;
      uint32_t want = credit_left (c);
      if (want > room)
        want = (uint32_t) room;
      if (want > MAX_PKT)
        want = MAX_PKT;
      _cleanup_free_ uint8_t *buf = xmalloc (want ? want : 1);
      ssize_t n = want ? read (c->fd, buf, want) : 0;
      if (n <= 0)
        {
          if (n < 0 && (errno == EAGAIN || errno == EINTR))
            n = 0;
          else
            {
              /* host closed its end: tell the guest, wait for its RST */
              *h = make_hdr (v, c->local_port, c->peer_port, OP_SHUTDOWN);
              h->flags = 3;
              c->state = CONN_CLOSING;
            }
        }
      else
        {
          payload = (uint32_t) n;
          ward_virtq_chain_write (chain, HDR_SIZE, buf, payload);
          c->tx_cnt += payload;
        }
      h->fwd_cnt = c->fwd_cnt;
      c->fwd_reported = c->fwd_cnt;
    }
  h->len = payload;
  ward_debug ("vsock: to guest op %u %u -> %u len %u", h->op, h->src_port, h->dst_port, payload);
  ward_virtq_chain_write (chain, 0, h, HDR_SIZE);
  ward_virtq_push (q, chain->head, HDR_SIZE + payload);
  *signal = true;
  return (int) payload;
}

static void
flush_ctrl (struct ward_vm_vsock *v, bool *signal)
{
  size_t done = 0;
  while (done < v->n_ctrl)
    {
      struct pkt_hdr h = v->ctrl[done];
      if (rx_one (v, &h, NULL, signal) < 0)
        break;
      done++;
    }
  memmove (v->ctrl, v->ctrl + done, (v->n_ctrl - done) * sizeof v->ctrl[0]);
  v->n_ctrl -= done;
}

/* Reads "CONNECT <port>\n" from a new host connection. */
static void
host_handshake (struct ward_vm_vsock *v, struct conn *c)
{
  ssize_t n = read (c->fd, c->line + c->line_len, sizeof c->line - 1 - c->line_len);
  if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      conn_close (c);
      return;
    }
  c->line_len += (size_t) n;
  c->line[c->line_len] = '\0';
  char *nl = strchr (c->line, '\n');
  if (nl == NULL)
    {
      if (c->line_len == sizeof c->line - 1)
        conn_close (c);
      return;
    }
  *nl = '\0';
  unsigned long long port;
  if (strncmp (c->line, "CONNECT ", 8) != 0 || ward_parse_u64 (c->line + 8, &port) < 0
      || port > UINT32_MAX || nl + 1 != c->line + c->line_len)
    {
      conn_close (c);
      return;
    }
  c->peer_port = (uint32_t) port;
  c->local_port = v->next_port++;
  c->state = CONN_CONNECTING;
  send_ctrl (v, c, c->local_port, c->peer_port, OP_REQUEST, 0);
}

static void
host_accept (struct ward_vm_vsock *v)
{
  /* blocking: poll says when to read, and writes to the host may wait */
  int fd = accept4 (v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  struct conn *c = conn_alloc (v);
  if (c == NULL)
    {
      close (fd);
      return;
    }
  *c = (struct conn){ .state = CONN_HANDSHAKE, .fd = fd };
}

static void *
vsock_thread (void *arg)
{
  struct ward_vm_vsock *v = arg;
  struct ward_virtio_dev *d = &v->dev;
  struct pollfd pfd[MAX_CONNS + 2];
  struct conn *who[MAX_CONNS + 2];
  for (;;)
    {
      size_t n = 0;
      pthread_mutex_lock (&d->lock);
      if (v->stopping)
        {
          pthread_mutex_unlock (&d->lock);
          break;
        }
      pfd[n] = (struct pollfd){ .fd = v->kick_fd, .events = POLLIN };
      who[n++] = NULL;
      /* until DRIVER_OK only the kick wakes us: nothing could be delivered */
      bool active = (d->status & 4) && d->queues[RXQ].ready;
      if (active)
        {
          pfd[n] = (struct pollfd){ .fd = v->listen_fd, .events = POLLIN };
          who[n++] = NULL;
        }
      for (size_t i = 0; active && i < MAX_CONNS; i++)
        {
          struct conn *c = &v->conns[i];
          bool want = c->state == CONN_HANDSHAKE
                      || (c->state == CONN_ESTABLISHED && !v->rx_starved && credit_left (c) > 0);
          if (want)
            {
              pfd[n] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
              who[n++] = c;
            }
        }
      pthread_mutex_unlock (&d->lock);

      if (poll (pfd, n, -1) < 0 && errno != EINTR)
        break;

      pthread_mutex_lock (&d->lock);
      bool signal = false;
      uint16_t old_used = d->queues[RXQ].used_idx;
      if (pfd[0].revents)
        {
          uint64_t cnt;
          if (read (v->kick_fd, &cnt, sizeof cnt) < 0)
            {
            }
          v->rx_starved = false;
        }
      if ((d->status & 4) && d->queues[RXQ].ready)
        {
          flush_ctrl (v, &signal);
          for (size_t i = 1; i < n; i++)
            {
              if (pfd[i].revents == 0)
                continue;
              if (who[i] == NULL)
                host_accept (v);
              else if (who[i]->state == CONN_HANDSHAKE)
                host_handshake (v, who[i]);
              else if (who[i]->state == CONN_ESTABLISHED && !v->rx_starved)
                {
                  struct pkt_hdr h = make_hdr (v, who[i]->local_port, who[i]->peer_port, OP_RW);
                  rx_one (v, &h, who[i], &signal);
                }
            }
          flush_ctrl (v, &signal);
        }
      if (signal && ward_virtq_should_notify (&d->queues[RXQ], old_used))
        ward_virtio_mmio_signal_used (d);
      pthread_mutex_unlock (&d->lock);
    }
  return NULL;
}

static void
vsock_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  struct ward_vm_vsock *v = d->opaque;
  if (qidx == TXQ)
    drain_tx (v);
  else if (qidx == RXQ)
    kick (v);
}

static void
vsock_config_read (struct ward_virtio_dev *d, uint32_t off, void *data, uint32_t size)
{
  struct ward_vm_vsock *v = d->opaque;
  uint8_t cfg[8];
  memcpy (cfg, &v->guest_cid, 8);
  memset (data, 0, size);
  if (off < sizeof cfg)
    memcpy (data, cfg + off, size < sizeof cfg - off ? size : sizeof cfg - off);
}

static void
vsock_activate (struct ward_virtio_dev *d)
{
  struct ward_vm_vsock *v = d->opaque;
  kick (v);
}

static void
vsock_reset (struct ward_virtio_dev *d)
{
  struct ward_vm_vsock *v = d->opaque;
  for (size_t i = 0; i < MAX_CONNS; i++)
    if (v->conns[i].state != CONN_FREE && v->conns[i].state != CONN_HANDSHAKE)
      conn_close (&v->conns[i]);
  v->n_ctrl = 0;
}

static const struct ward_virtio_dev_ops vsock_ops = {
  .device_id = VIRTIO_ID_VSOCK,
  .features = 0,
  .n_queues = 3,
  .queue_max = QUEUE_MAX,
  .config_read = vsock_config_read,
  .notify = vsock_notify,
  .activate = vsock_activate,
  .reset = vsock_reset,
};

int
ward_vm_vsock_new (const struct ward_vm_mem *mem, uint64_t guest_cid, const char *path,
                   struct ward_vm_vsock **out, ward_error_t **err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  /* PATH_<port> must fit too */
  if (strlen (path) + 12 >= sizeof sa.sun_path)
    return ward_error_set (err, ENAMETOOLONG, "vsock socket path '%s' too long", path);
  if (guest_cid < 3 || guest_cid > UINT32_MAX - 1)
    return ward_error_set (err, EINVAL, "vsock guest CID %llu: must be 3..2^32-2",
                           (unsigned long long) guest_cid);
  _cleanup_close_ int lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (lfd < 0)
    return ward_error_set (err, errno, "vsock: socket");
  strcpy (sa.sun_path, path);
  if (bind (lfd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return ward_error_set (err, errno, "bind vsock socket '%s'", path);
  if (listen (lfd, 16) < 0)
    return ward_error_set (err, errno, "listen on '%s'", path);
  _cleanup_close_ int efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0)
    return ward_error_set (err, errno, "eventfd for vsock");

  struct ward_vm_vsock *v = xzalloc (sizeof *v);
  v->guest_cid = guest_cid;
  v->path = xstrdup (path);
  v->next_port = LOCAL_PORT_BASE;
  for (size_t i = 0; i < MAX_CONNS; i++)
    v->conns[i].fd = -1;
  ward_virtio_mmio_init (&v->dev, &vsock_ops, v, mem);
  v->listen_fd = TAKE_FD (lfd);
  v->kick_fd = TAKE_FD (efd);
  int e = pthread_create (&v->thread, NULL, vsock_thread, v);
  if (e != 0)
    {
      v->started = false;
      ward_vm_vsock_free (v);
      return ward_error_set (err, e, "start the vsock thread");
    }
  v->started = true;
  *out = v;
  return 0;
}

struct ward_virtio_dev *
ward_vm_vsock_dev (struct ward_vm_vsock *v)
{
  return &v->dev;
}

void
ward_vm_vsock_free (struct ward_vm_vsock *v)
{
  if (v == NULL)
    return;
  if (v->started)
    ward_virtio_thread_stop (&v->dev, &v->stopping, NULL, v->kick_fd, v->thread);
  for (size_t i = 0; i < MAX_CONNS; i++)
    if (v->conns[i].state != CONN_FREE)
      conn_close (&v->conns[i]);
  if (v->listen_fd >= 0)
    {
      close (v->listen_fd);
      unlink (v->path);
    }
  close (v->kick_fd);
  ward_virtio_mmio_destroy (&v->dev);
  free (v->path);
  free (v);
}
