/* virtio-vsock with the hybrid unix-socket host side, driven like a guest
 * driver would through the virtio-mmio registers on a fake guest RAM: both
 * connection directions, data both ways, and hostile packets (foreign
 * source CID, length past the chain, short header, wrong socket type,
 * unknown connection, a broken CONNECT line). */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"
#include "tests/unit/tap.h"
#include "tests/unit/vm-test-helpers.h"

struct hdr
{
  uint64_t src_cid, dst_cid;
  uint32_t src_port, dst_port, len;
  uint16_t type, op;
  uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__ ((packed));

static uint8_t *ram;
static struct ward_vm_mem mem;
static struct ward_virtio_dev *dev;
static uint16_t rx_seen, tx_avail, rx_avail;

/* the shared driver helpers, bound to this file's RAM, device and QSZ */
#define wr(off, v) vmt_mmio_wr (dev, off, v)
#define set_desc(...) vmt_set_desc (ram, __VA_ARGS__)
#define avail_add(avail, idx, head) vmt_avail_add (ram, avail, QSZ, idx, head)
#define setup_queue(sel, desc, avail, used) vmt_setup_queue (dev, QSZ, sel, desc, avail, used)

/* Gives the device one more 4 KiB receive buffer. */
static void
rx_refill (void)
{
  uint16_t slot = rx_avail % QSZ;
  set_desc (RX_DESC, slot, RX_BUFS + 4096 * (uint64_t) slot, 4096, 2, 0);
  avail_add (RX_AVAIL, &rx_avail, slot);
  wr (0x50, 0);
}

/* Sends one packet (header + payload in one descriptor, or a short one). */
static void
tx (const struct hdr *h, const void *payload, uint32_t payload_len, uint32_t desc_len)
{
  uint16_t slot = tx_avail % QSZ;
  uint64_t buf = TX_BUF + 4096 * (uint64_t) slot;
  memcpy (ram + buf, h, sizeof *h);
  if (payload_len)
    memcpy (ram + buf + sizeof *h, payload, payload_len);
  set_desc (TX_DESC, slot, buf, desc_len ? desc_len : (uint32_t) sizeof *h + payload_len, 0, 0);
  avail_add (TX_AVAIL, &tx_avail, slot);
  wr (0x50, 1);
}

static struct hdr
guest_hdr (uint64_t src_cid, uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t len)
{
  return (struct hdr){ .src_cid = src_cid, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port,
                       .len = len, .type = 1, .op = op, .buf_alloc = 65536 };
}

/* Waits up to 2 s for the next packet the device put into the rx ring. */
static bool
rx_next (struct hdr *h, char *payload, size_t size)
{
  for (int i = 0; i < 200; i++)
    {
      uint16_t used = __atomic_load_n ((uint16_t *) (ram + RX_USED + 2), __ATOMIC_ACQUIRE);
      if (used != rx_seen)
        {
          uint32_t id;
          memcpy (&id, ram + RX_USED + 4 + 8 * (size_t) (rx_seen % QSZ), 4);
          rx_seen++;
          uint64_t buf = RX_BUFS + 4096 * (uint64_t) (id % QSZ);
          memcpy (h, ram + buf, sizeof *h);
          if (payload)
            {
              size_t n = h->len < size - 1 ? h->len : size - 1;
              memcpy (payload, ram + buf + sizeof *h, n);
              payload[n] = '\0';
            }
          rx_refill ();
          return true;
        }
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return false;
}

static bool
rx_none (void)
{
  struct hdr h;
  for (int i = 0; i < 20; i++)
    {
      uint16_t used = __atomic_load_n ((uint16_t *) (ram + RX_USED + 2), __ATOMIC_ACQUIRE);
      if (used != rx_seen)
        {
          rx_next (&h, NULL, 0);
          return false;
        }
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return true;
}

static int
unix_listen (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  unlink (path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 4) < 0)
    return -1;
  return fd;
}

static int
unix_connect (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return -1;
  return fd;
}

static ssize_t
read_timeout (int fd, char *buf, size_t size)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  if (poll (&p, 1, 2000) <= 0)
    return -2;
  ssize_t n = read (fd, buf, size - 1);
  if (n >= 0)
    buf[n] = '\0';
  return n;
}

int
main (void)
{
  char path[64], path5000[108];
  snprintf (path, sizeof path, "/tmp/ward-test-vsock-%d.sock", (int) getpid ());
  snprintf (path5000, sizeof path5000, "%s_5000", path);
  ram = aligned_alloc (4096, RAM);
  if (ram == NULL)
    return 99;
  memset (ram, 0, RAM);
  ward_vm_mem_init_flat (&mem, ram, RAM);

  struct ward_vm_vsock *v = NULL;
  ward_error_t *err = NULL;
  tap_ok (ward_vm_vsock_new (&mem, 2, path, &v, &err) == -EINVAL, "CID 2 (the host's) refused");
  ward_error_free (&err);
  if (ward_vm_vsock_new (&mem, 3, path, &v, &err) < 0)
    {
      tap_ok (0, "vsock device: %s", err->msg);
      ward_error_free (&err);
      return tap_done ();
    }
  dev = ward_vm_vsock_dev (v);
  uint32_t cid = 0;
  ward_virtio_mmio_read (dev, 0x100, &cid, 4);
  tap_ok (cid == 3, "config space: guest_cid 3");

  /* the driver's bring-up */
  wr (0x70, 1 | 2);
  wr (0x24, 1);
  wr (0x20, 1);
  wr (0x70, 1 | 2 | 8);
  setup_queue (0, RX_DESC, RX_AVAIL, RX_USED);
  setup_queue (1, TX_DESC, TX_AVAIL, TX_USED);
  wr (0x70, 1 | 2 | 8 | 4);
  for (int i = 0; i < 8; i++)
    rx_refill ();

  /* guest -> host */
  int l5000 = unix_listen (path5000);
  struct hdr h = guest_hdr (3, 777, 5000, 1, 0);
  tx (&h, NULL, 0, 0);
  struct hdr r;
  tap_ok (rx_next (&r, NULL, 0) && r.op == 2 && r.src_port == 5000 && r.dst_port == 777
              && r.dst_cid == 3,
          "guest REQUEST to port 5000 answered with RESPONSE");
  int a = l5000 >= 0 ? accept (l5000, NULL, NULL) : -1;
  h = guest_hdr (3, 777, 5000, 5, 5);
  tx (&h, "hello", 5, 0);
  char buf[256];
  tap_ok (a >= 0 && read_timeout (a, buf, sizeof buf) == 5 && strcmp (buf, "hello") == 0,
          "guest data reaches PATH_5000");
  tap_ok (write (a, "back", 4) == 4 && rx_next (&r, buf, sizeof buf) && r.op == 5 && r.len == 4
              && strcmp (buf, "back") == 0,
          "host data reaches the guest as RW");

  /* hostile packets */
  h = guest_hdr (9, 777, 5000, 5, 3);
  tx (&h, "bad", 3, 0);
  tap_ok (rx_none () && read_timeout (a, buf, sizeof buf) == -2, "foreign source CID ignored");
  h = guest_hdr (3, 777, 5000, 5, 60000);
  tx (&h, "short", 5, 0);
  tap_ok (rx_none () && read_timeout (a, buf, sizeof buf) == -2, "length past the chain dropped");
  h = guest_hdr (3, 777, 5000, 5, 0);
  tx (&h, NULL, 0, 20);
  tap_ok (rx_none (), "20-byte header dropped");
  h = guest_hdr (3, 778, 5000, 1, 0);
  h.type = 2;
  tx (&h, NULL, 0, 0);
  tap_ok (rx_next (&r, NULL, 0) && r.op == 3 && r.dst_port == 778, "SEQPACKET request gets RST");
  h = guest_hdr (3, 4242, 6000, 5, 1);
  tx (&h, "x", 1, 0);
  tap_ok (rx_next (&r, NULL, 0) && r.op == 3 && r.dst_port == 4242, "RW on an unknown connection gets RST");
  h = guest_hdr (3, 999, 7000, 1, 0);
  tx (&h, NULL, 0, 0);
  tap_ok (rx_next (&r, NULL, 0) && r.op == 3 && r.dst_port == 999,
          "REQUEST to a host port nobody serves gets RST");

  h = guest_hdr (3, 777, 5000, 4, 0);
  h.flags = 3;
  tx (&h, NULL, 0, 0);
  tap_ok (rx_next (&r, NULL, 0) && r.op == 3 && read_timeout (a, buf, sizeof buf) == 0,
          "guest SHUTDOWN: RST back, host side closed");

  /* host -> guest */
  int c = unix_connect (path);
  tap_ok (c >= 0 && write (c, "CONNECT 1234\n", 13) == 13 && rx_next (&r, NULL, 0) && r.op == 1
              && r.dst_port == 1234 && r.src_cid == 2,
          "CONNECT 1234 becomes a REQUEST to guest port 1234");
  uint32_t host_port = r.src_port;
  h = guest_hdr (3, 1234, host_port, 2, 0);
  tx (&h, NULL, 0, 0);
  char want[32];
  snprintf (want, sizeof want, "OK %u\n", host_port);
  tap_ok (read_timeout (c, buf, sizeof buf) > 0 && strcmp (buf, want) == 0, "RESPONSE gives '%s'",
          "OK <port>");
  tap_ok (write (c, "ping", 4) == 4 && rx_next (&r, buf, sizeof buf) && r.op == 5
              && strcmp (buf, "ping") == 0 && r.dst_port == 1234,
          "host stream data reaches guest port 1234");
  h = guest_hdr (3, 1234, host_port, 5, 4);
  tx (&h, "pong", 4, 0);
  tap_ok (read_timeout (c, buf, sizeof buf) == 4 && strcmp (buf, "pong") == 0, "guest reply reaches the host");
  close (c);
  tap_ok (rx_next (&r, NULL, 0) && r.op == 4 && r.flags == 3, "host close becomes SHUTDOWN");
  h = guest_hdr (3, 1234, host_port, 3, 0);
  tx (&h, NULL, 0, 0);

  int bad = unix_connect (path);
  tap_ok (bad >= 0 && write (bad, "HELLO 1\n", 8) == 8 && read_timeout (bad, buf, sizeof buf) == 0,
          "a bad handshake line closes the socket");
  if (bad >= 0)
    close (bad);

  ward_vm_vsock_free (v);
  tap_ok (access (path, F_OK) < 0, "socket unlinked on free");
  if (a >= 0)
    close (a);
  if (l5000 >= 0)
    close (l5000);
  unlink (path5000);
  free (ram);
  return tap_done ();
}
