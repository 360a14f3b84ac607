/* virtio-net driven through its virtio-mmio registers on fake guest RAM,
 * as the guest driver would: config (MAC), feature negotiation, transmit
 * and receive over a datagram socketpair standing in for the TAP, hostile
 * transmit chains (too short, too long, writable-only), a receive buffer
 * too small for the frame; then a real TAP (IFF_VNET_HDR) in a private
 * network namespace: the "guest" answers the host's ARP request and a UDP
 * datagram goes host -> guest -> host. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"
#include "tests/unit/tap.h"
#include "tests/unit/vm-test-helpers.h"

#define BIG_BUF 0x40000 /* 80 KiB for the oversized frame */
#define HDR 12

static uint8_t *ram;
static struct ward_vm_mem mem;
static struct ward_virtio_dev *dev;
static uint16_t rx_seen, tx_avail, rx_avail, tx_seen;

static uint32_t
rd (uint64_t off)
{
  uint32_t v = 0;
  ward_virtio_mmio_read (dev, off, &v, 4);
  return v;
}

/* the shared driver helpers, bound to this file's RAM, device and QSZ */
#define wr(off, v) vmt_mmio_wr (dev, off, v)
#define set_desc(...) vmt_set_desc (ram, __VA_ARGS__)
#define avail_add(avail, idx, head) vmt_avail_add (ram, avail, QSZ, idx, head)
#define setup_queue(sel, desc, avail, used) vmt_setup_queue (dev, QSZ, sel, desc, avail, used)

static void
bring_up (void)
{
  memset (ram, 0, RAM);
  rx_seen = tx_avail = rx_avail = tx_seen = 0;
  wr (0x70, 0);
  wr (0x70, 3);
  wr (0x24, 1);
  wr (0x20, 1); /* VERSION_1 */
  wr (0x24, 0);
  wr (0x20, 1u << 5); /* MAC */
  wr (0x70, 11);
  setup_queue (0, RX_DESC, RX_AVAIL, RX_USED);
  setup_queue (1, TX_DESC, TX_AVAIL, TX_USED);
  wr (0x70, 15);
}

static void
rx_post (uint32_t len)
{
  uint16_t slot = rx_avail % QSZ;
  set_desc (RX_DESC, slot, RX_BUFS + 4096 * (uint64_t) slot, len, 2, 0);
  avail_add (RX_AVAIL, &rx_avail, slot);
  wr (0x50, 0);
}

/* Sends header + frame as two descriptors (as Linux does without
 * indirect descriptors); returns after the device consumed it. */
static bool
tx_frame (const uint8_t *frame, uint32_t len)
{
  uint16_t slot = (uint16_t) ((tx_avail * 2) % QSZ);
  uint64_t buf = TX_BUF + 4096 * (uint64_t) (slot / 2);
  memset (ram + buf, 0, HDR);
  memcpy (ram + buf + HDR, frame, len);
  set_desc (TX_DESC, slot, buf, HDR, 1, (uint16_t) (slot + 1));
  set_desc (TX_DESC, slot + 1u, buf + HDR, len, 0, 0);
  avail_add (TX_AVAIL, &tx_avail, slot);
  wr (0x50, 1);
  uint16_t used = __atomic_load_n ((uint16_t *) (ram + TX_USED + 2), __ATOMIC_ACQUIRE);
  bool ok = used != tx_seen;
  tx_seen = used;
  return ok;
}

/* Waits up to 2 s for the next receive completion; returns its length
 * (-1: none) and copies the buffer. */
static int
rx_next (uint8_t *out, size_t cap)
{
  for (int i = 0; i < 200; i++)
    {
      uint16_t used = __atomic_load_n ((uint16_t *) (ram + RX_USED + 2), __ATOMIC_ACQUIRE);
      if (used != rx_seen)
        {
          uint32_t id, len;
          memcpy (&id, ram + RX_USED + 4 + 8 * (size_t) (rx_seen % QSZ), 4);
          memcpy (&len, ram + RX_USED + 8 + 8 * (size_t) (rx_seen % QSZ), 4);
          rx_seen++;
          memcpy (out, ram + RX_BUFS + 4096 * (uint64_t) (id % QSZ), len < cap ? len : cap);
          return (int) len;
        }
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return -1;
}

static bool
nothing_on (int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  return poll (&p, 1, 100) == 0;
}

static void
test_socketpair (void)
{
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      tap_ok (0, "socketpair: %s", strerror (errno));
      return;
    }
  const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
  struct ward_vm_net *n = NULL;
  ward_error_t *err = NULL;
  tap_ok (ward_vm_net_new (&mem, sp[0], mac, &n, &err) == 0, "ward_vm_net_new on a socket");
  dev = ward_vm_net_dev (n);
  uint8_t cmac[6];
  for (int i = 0; i < 6; i++)
    ward_virtio_mmio_read (dev, 0x100 + (uint64_t) i, &cmac[i], 1);
  tap_ok (rd (0x8) == 1 && memcmp (cmac, mac, 6) == 0, "device 1, MAC from config space");
  wr (0x14, 0);
  tap_ok ((rd (0x10) & (1u << 5)) && !(rd (0x10) & (1u << 15)), "offers MAC, not MRG_RXBUF");
  bring_up ();
  tap_ok (rd (0x70) == 15, "driver status OK");

  uint8_t frame[60], got[4096];
  for (size_t i = 0; i < sizeof frame; i++)
    frame[i] = (uint8_t) i;
  tap_ok (tx_frame (frame, sizeof frame), "transmit completes");
  ssize_t k = recv (sp[1], got, sizeof got, MSG_DONTWAIT);
  tap_ok (k == HDR + 60 && memcmp (got + HDR, frame, 60) == 0, "the TAP side gets header + frame (%zd)", k);

  /* receive: one frame per buffer, num_buffers = 1 */
  for (int i = 0; i < 4; i++)
    rx_post (2048);
  uint8_t in[HDR + 100];
  memset (in, 0, HDR);
  for (int i = 0; i < 100; i++)
    in[HDR + i] = (uint8_t) (0xa0 ^ i);
  tap_ok (send (sp[1], in, sizeof in, 0) == (ssize_t) sizeof in, "frame from the TAP side");
  int len = rx_next (got, sizeof got);
  uint16_t nb;
  memcpy (&nb, got + 10, 2);
  tap_ok (len == (int) sizeof in && memcmp (got + HDR, in + HDR, 100) == 0 && nb == 1,
          "the guest receives it (len %d, num_buffers %u)", len, nb);

  /* hostile transmits: nothing reaches the TAP */
  tap_ok (tx_frame (frame, 4) && nothing_on (sp[1]), "a frame shorter than an Ethernet header is dropped");
  uint16_t slot = (uint16_t) ((tx_avail * 2) % QSZ);
  set_desc (TX_DESC, slot, BIG_BUF, 70000, 0, 0);
  avail_add (TX_AVAIL, &tx_avail, slot);
  wr (0x50, 1);
  tap_ok (nothing_on (sp[1]), "a 70000-byte frame is dropped");
  slot = (uint16_t) ((tx_avail * 2) % QSZ);
  set_desc (TX_DESC, slot, TX_BUF, 100, 2, 0);
  avail_add (TX_AVAIL, &tx_avail, slot);
  wr (0x50, 1);
  tap_ok (nothing_on (sp[1]), "a device-writable transmit buffer sends nothing");

  /* a receive buffer too small for the frame: given back empty, the next
   * frame goes into the next buffer */
  rx_seen = __atomic_load_n ((uint16_t *) (ram + RX_USED + 2), __ATOMIC_ACQUIRE);
  /* drain the 3 big buffers left: post only small ones now */
  wr (0x70, 0);
  bring_up ();
  rx_post (40);
  rx_post (2048);
  send (sp[1], in, sizeof in, 0);
  int l1 = rx_next (got, sizeof got);
  send (sp[1], in, sizeof in, 0);
  int l2 = rx_next (got, sizeof got);
  tap_ok (l1 == 0 && l2 == (int) sizeof in, "too small a buffer: returned with 0 bytes (%d), next frame fine (%d)", l1, l2);

  /* free while the receive thread waits for buffers */
  send (sp[1], in, sizeof in, 0);
  struct timespec ts = { 0, 50 * 1000 * 1000 };
  nanosleep (&ts, NULL);
  alarm (10);
  ward_vm_net_free (n);
  alarm (0);
  tap_ok (1, "free with a frame waiting for a buffer does not hang");

  /* an all-zero MAC: a locally administered unicast one */
  const uint8_t zero[6] = { 0 };
  tap_ok (ward_vm_net_new (&mem, sp[0], zero, &n, &err) == 0, "device with a derived MAC");
  dev = ward_vm_net_dev (n);
  for (int i = 0; i < 6; i++)
    ward_virtio_mmio_read (dev, 0x100 + (uint64_t) i, &cmac[i], 1);
  tap_ok ((cmac[0] & 3) == 2 && memcmp (cmac, zero, 6) != 0,
          "derived MAC %02x:%02x:%02x:%02x:%02x:%02x is local unicast", cmac[0], cmac[1], cmac[2],
          cmac[3], cmac[4], cmac[5]);
  ward_vm_net_free (n);
  int r = ward_vm_net_new (&mem, 9999, zero, &n, &err);
  tap_ok (r < 0 && err && strstr (err->msg, "9999"), "a bad fd: %s", err ? err->msg : "");
  ward_error_free (&err);
  close (sp[0]);
  close (sp[1]);
}

static uint16_t
ip_csum (const uint8_t *p, size_t len)
{
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < len; i += 2)
    s += (uint32_t) (p[i] << 8 | p[i + 1]);
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t) ~s;
}

static void
test_tap (void)
{
  if (unshare (CLONE_NEWNET) < 0)
    {
      tap_skip ("unshare(CLONE_NEWNET) not permitted: no TAP test");
      return;
    }
  /* the TAP by hand: network.h and specs.h cannot be included together */
  ward_error_t *err = NULL;
  int tfd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "wtap0");
  if (tfd < 0 || ioctl (tfd, TUNSETIFF, &ifr) < 0)
    {
      tap_skip ("cannot create a TAP (no /dev/net/tun?)");
      if (tfd >= 0)
        close (tfd);
      return;
    }
  uint8_t host_mac[6];
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq r = { 0 };
  snprintf (r.ifr_name, sizeof r.ifr_name, "wtap0");
  struct sockaddr_in *sin = (struct sockaddr_in *) &r.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton (AF_INET, "10.9.0.1", &sin->sin_addr);
  bool ok = ioctl (s, SIOCSIFADDR, &r) == 0;
  inet_pton (AF_INET, "255.255.255.0", &sin->sin_addr);
  ok = ok && ioctl (s, SIOCSIFNETMASK, &r) == 0;
  ok = ok && ioctl (s, SIOCGIFFLAGS, &r) == 0;
  r.ifr_flags |= IFF_UP;
  ok = ok && ioctl (s, SIOCSIFFLAGS, &r) == 0 && ioctl (s, SIOCGIFHWADDR, &r) == 0;
  memcpy (host_mac, r.ifr_hwaddr.sa_data, 6);
  close (s);
  tap_ok (ok, "TAP wtap0 with 10.9.0.1/24 in a private netns");
  /* a TAP without IFF_VNET_HDR is refused, naming it */
  int plain = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  struct ifreq pr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
  snprintf (pr.ifr_name, sizeof pr.ifr_name, "wtap1");
  if (plain >= 0 && ioctl (plain, TUNSETIFF, &pr) == 0)
    {
      struct ward_vm_net *pn = NULL;
      int pe = ward_vm_net_new (&mem, plain, NULL, &pn, &err);
      tap_ok (pe < 0 && err && strstr (err->msg, "wtap1"), "a TAP without IFF_VNET_HDR: %s",
              err ? err->msg : "accepted");
      ward_error_free (&err);
      if (pe == 0)
        ward_vm_net_free (pn);
    }
  else
    tap_skip ("cannot create a second TAP");
  if (plain >= 0)
    close (plain);
  if (!ok)
    {
      close (tfd);
      return;
    }

  const uint8_t gmac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
  struct ward_vm_net *n = NULL;
  tap_ok (ward_vm_net_new (&mem, tfd, gmac, &n, &err) == 0, "virtio-net on the TAP");
  close (tfd); /* the device holds its own */
  dev = ward_vm_net_dev (n);
  bring_up ();
  for (int i = 0; i < 8; i++)
    rx_post (2048);

  int us = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in host = { .sin_family = AF_INET, .sin_port = htons (7777) };
  inet_pton (AF_INET, "10.9.0.1", &host.sin_addr);
  struct sockaddr_in guest = { .sin_family = AF_INET, .sin_port = htons (8888) };
  inet_pton (AF_INET, "10.9.0.2", &guest.sin_addr);
  bind (us, (struct sockaddr *) &host, sizeof host);
  /* host -> guest: the kernel first asks who has 10.9.0.2 */
  sendto (us, "ping", 4, 0, (struct sockaddr *) &guest, sizeof guest);
  uint8_t got[4096];
  int len;
  bool arp = false;
  for (int i = 0; i < 10 && !arp; i++)
    {
      len = rx_next (got, sizeof got);
      if (len < 0)
        break;
      rx_post (2048);
      arp = len >= HDR + 42 && got[HDR + 12] == 0x08 && got[HDR + 13] == 0x06 && got[HDR + 21] == 1
            && memcmp (got + HDR + 38, &guest.sin_addr, 4) == 0;
    }
  tap_ok (arp, "the host's ARP request for 10.9.0.2 reaches the guest");
  if (!arp)
    {
      ward_vm_net_free (n);
      close (us);
      return;
    }
  /* ARP reply */
  uint8_t f[64] = { 0 };
  memcpy (f, host_mac, 6);
  memcpy (f + 6, gmac, 6);
  f[12] = 0x08, f[13] = 0x06;
  uint8_t arp_hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };
  memcpy (f + 14, arp_hdr, 8);
  memcpy (f + 22, gmac, 6);
  memcpy (f + 28, &guest.sin_addr, 4);
  memcpy (f + 32, host_mac, 6);
  memcpy (f + 38, &host.sin_addr, 4);
  tap_ok (tx_frame (f, 60), "the guest answers it");
  /* then the queued UDP datagram arrives */
  bool udp = false;
  for (int i = 0; i < 10 && !udp; i++)
    {
      len = rx_next (got, sizeof got);
      if (len < 0)
        break;
      rx_post (2048);
      udp = len >= HDR + 46 && got[HDR + 12] == 0x08 && got[HDR + 13] == 0 && got[HDR + 23] == 17
            && memcmp (got + HDR + 42, "ping", 4) == 0;
    }
  tap_ok (udp, "the UDP datagram host -> guest arrives");
  /* guest -> host: the reply, IP checksum computed, UDP checksum 0 */
  uint8_t u[64] = { 0 };
  memcpy (u, host_mac, 6);
  memcpy (u + 6, gmac, 6);
  u[12] = 0x08;
  uint8_t *ip = u + 14;
  ip[0] = 0x45;
  ip[3] = 20 + 8 + 4;
  ip[8] = 64;
  ip[9] = 17;
  memcpy (ip + 12, &guest.sin_addr, 4);
  memcpy (ip + 16, &host.sin_addr, 4);
  uint16_t c = ip_csum (ip, 20);
  ip[10] = (uint8_t) (c >> 8), ip[11] = (uint8_t) c;
  uint8_t *udph = ip + 20;
  udph[0] = 8888 >> 8, udph[1] = 8888 & 0xff, udph[2] = 7777 >> 8, udph[3] = 7777 & 0xff;
  udph[5] = 12;
  memcpy (udph + 8, "pong", 4);
  tx_frame (u, 60);
  char buf[16] = "";
  struct pollfd p = { .fd = us, .events = POLLIN };
  ssize_t k = poll (&p, 1, 2000) == 1 ? recv (us, buf, sizeof buf - 1, 0) : -1;
  tap_ok (k == 4 && memcmp (buf, "pong", 4) == 0, "the guest's UDP reply reaches the host socket");
  close (us);
  ward_vm_net_free (n);
}

int
main (void)
{
  ram = aligned_alloc (4096, RAM);
  ward_vm_mem_init_flat (&mem, ram, RAM);
  test_socketpair ();
  test_tap ();
  free (ram);
  return tap_done ();
}
