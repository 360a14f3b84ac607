/* network/: rtnetlink, IPAM, port publishing, /etc files and CNI.
 *
 * Everything runs in a network namespace this test creates for itself
 * first (unshare(CLONE_NEWNET)); "containers" are further namespaces held
 * by forked children.  Only loopback and addresses inside those namespaces
 * are used: no packet leaves the test's own namespaces. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "network/network.h"
#include "tests/unit/tap.h"

static char tmpdir[] = "/tmp/ward-test-network-XXXXXX";

/* ---- helpers ---------------------------------------------------------- */

typedef struct
{
  pid_t pid;
  int fd;     /* netns fd */
  char path[64];
} test_ns_t;

/* A forked child unshares a netns and waits; the parent keeps a fd to it. */
static int ns_spawn (test_ns_t *ns)
{
  int ready[2];
  char c;
  if (pipe2 (ready, O_CLOEXEC) < 0)
    return -1;
  ns->pid = fork ();
  if (ns->pid < 0)
    return -1;
  if (ns->pid == 0)
    {
      close (ready[0]);
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      if (write (ready[1], "x", 1) != 1)
        _exit (1);
      for (;;)
        pause ();
    }
  close (ready[1]);
  if (read (ready[0], &c, 1) != 1)
    {
      close (ready[0]);
      return -1;
    }
  close (ready[0]);
  snprintf (ns->path, sizeof ns->path, "/proc/%d/ns/net", (int) ns->pid);
  ns->fd = open (ns->path, O_RDONLY | O_CLOEXEC);
  return ns->fd < 0 ? -1 : 0;
}

static void ns_kill (test_ns_t *ns)
{
  if (ns->pid > 0)
    {
      kill (ns->pid, SIGKILL);
      waitpid (ns->pid, NULL, 0);
      ns->pid = 0;
    }
  if (ns->fd >= 0)
    close (ns->fd);
  ns->fd = -1;
}

static bool link_in_ns (int nsfd, const char *name)
{
  ward_nl_t *nl = NULL;
  ward_error_t *err = NULL;
  bool r;
  if (ward_nl_open (nsfd, &nl, &err) < 0)
    {
      ward_error_free (&err);
      return false;
    }
  r = ward_link_exists (nl, name);
  ward_nl_close (nl);
  return r;
}

struct sock_req
{
  int type;
  const char *addr;   /* NULL = any */
  int port;           /* 0 = no bind */
  int fd;
};

static int make_socket_here (void *data, ward_error_t **err)
{
  struct sock_req *r = data;
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) r->port) };
  struct timeval tv = { .tv_sec = 5 };
  int one = 1;
  int fd = socket (AF_INET, r->type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ward_error_set (err, errno, "socket");
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (r->addr)
    inet_pton (AF_INET, r->addr, &sa.sin_addr);
  if (r->port && bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      int e = errno;
      close (fd);
      return ward_error_set (err, e, "bind %s:%d", r->addr ? r->addr : "*", r->port);
    }
  if (r->port && r->type == SOCK_STREAM && listen (fd, 8) < 0)
    {
      int e = errno;
      close (fd);
      return ward_error_set (err, e, "listen");
    }
  r->fd = fd;
  return 0;
}

/* A socket created inside nsfd (sockets keep the netns they were made in). */
static int socket_in (int nsfd, int type, const char *addr, int port)
{
  struct sock_req r = { type, addr, port, -1 };
  ward_error_t *err = NULL;
  if (ward_netns_run (nsfd, make_socket_here, &r, &err) < 0)
    {
      tap_diag ("socket in netns: %s", err->msg);
      ward_error_free (&err);
      return -1;
    }
  return r.fd;
}

static int connect_to (int fd, const char *addr, int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  inet_pton (AF_INET, addr, &sa.sin_addr);
  return connect (fd, (struct sockaddr *) &sa, sizeof sa);
}

/* TCP round trip: client (in client_ns) connects to addr:port, the
 * listener accepts, both sides exchange a message. */
static bool tcp_roundtrip (int listener, int client_ns, const char *addr, int port)
{
  _cleanup_close_ int c = socket_in (client_ns, SOCK_STREAM, NULL, 0);
  _cleanup_close_ int s = -1;
  char buf[16] = { 0 };
  if (c < 0 || connect_to (c, addr, port) < 0)
    {
      tap_diag ("connect %s:%d: %s", addr, port, strerror (errno));
      return false;
    }
  s = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);
  if (s < 0)
    return false;
  if (write (c, "ping", 4) != 4 || read (s, buf, sizeof buf - 1) != 4 || strcmp (buf, "ping") != 0)
    return false;
  if (write (s, "pong", 4) != 4 || read (c, buf, sizeof buf - 1) != 4 || strcmp (buf, "pong") != 0)
    return false;
  return true;
}

/* UDP: client in client_ns sends to addr:port, server replies to the
 * source it saw, client reads the reply. */
static bool udp_roundtrip (int server, int client_ns, const char *addr, int port)
{
  _cleanup_close_ int c = socket_in (client_ns, SOCK_DGRAM, NULL, 0);
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  char buf[16] = { 0 };
  if (c < 0 || connect_to (c, addr, port) < 0 || write (c, "ping", 4) != 4)
    return false;
  if (recvfrom (server, buf, sizeof buf - 1, 0, (struct sockaddr *) &from, &fl) != 4
      || strcmp (buf, "ping") != 0)
    return false;
  if (sendto (server, "pong", 4, 0, (struct sockaddr *) &from, fl) != 4)
    return false;
  memset (buf, 0, sizeof buf);
  return read (c, buf, sizeof buf - 1) == 4 && strcmp (buf, "pong") == 0;
}

static int make_socket6_here (void *data, ward_error_t **err)
{
  struct
  {
    int port, fd;
  } *r = data;
  struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons ((uint16_t) r->port),
                             .sin6_addr = IN6ADDR_ANY_INIT };
  struct timeval tv = { .tv_sec = 5 };
  int fd = socket (AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ward_error_set (err, errno, "socket");
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof (int));
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 4) < 0)
    {
      int e = errno;
      close (fd);
      return ward_error_set (err, e, "bind/listen [::]:%d", r->port);
    }
  r->fd = fd;
  return 0;
}
/* IPv6 TCP: listener in srv_ns on [::]:listen_port, client in the caller's
 * netns connecting to [addr]:port. */
static bool tcp6_roundtrip (int srv_ns, int listen_port, const char *addr, int port)
{
  struct v6_req
  {
    int port, fd;
  } req = { listen_port, -1 };
  _cleanup_close_ int l = -1, c = -1, s = -1;
  struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons ((uint16_t) port) };
  struct timeval tv = { .tv_sec = 5 };
  ward_error_t *err = NULL;
  char buf[8] = { 0 };

  if (ward_netns_run (srv_ns, make_socket6_here, &req, &err) < 0)
    {
      tap_diag ("v6 listener: %s", err->msg);
      ward_error_free (&err);
      return false;
    }
  l = req.fd;
  c = socket (AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt (c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  inet_pton (AF_INET6, addr, &sa.sin6_addr);
  if (connect (c, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      tap_diag ("connect [%s]:%d: %s", addr, port, strerror (errno));
      return false;
    }
  s = accept4 (l, NULL, NULL, SOCK_CLOEXEC);
  return s >= 0 && write (c, "v6", 2) == 2 && read (s, buf, sizeof buf - 1) == 2 && strcmp (buf, "v6") == 0;
}

static bool err_has (ward_error_t *err, const char *needle)
{
  bool r = err && err->msg && strstr (err->msg, needle);
  if (!r)
    tap_diag ("error '%s' lacks '%s'", err && err->msg ? err->msg : "(none)", needle);
  return r;
}

static bool ok_or_diag (int ret, ward_error_t **err)
{
  if (ret < 0)
    tap_diag ("error: %s", *err ? (*err)->msg : "(no message)");
  ward_error_free (err);
  return ret == 0;
}

/* ---- rtnetlink -------------------------------------------------------- */

static void test_netlink (test_ns_t *ns1)
{
  _cleanup_nl_ ward_nl_t *nl = NULL;
  _cleanup_nl_ ward_nl_t *cnl = NULL;
  ward_error_t *err = NULL;
  unsigned mtu = 0;
  uint8_t mac[6] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x07 }, got[6];
  int idx = 0, ret;

  tap_ok (ok_or_diag (ward_nl_open (-1, &nl, &err), &err), "open rtnetlink socket");
  tap_ok (ok_or_diag (ward_nl_open (ns1->fd, &cnl, &err), &err), "open rtnetlink socket in other netns");
  if (nl == NULL || cnl == NULL)
    return;

  tap_ok (ok_or_diag (ward_link_bridge_create (nl, "tbr0", 0, false, &err), &err), "create bridge");
  ret = ward_link_bridge_create (nl, "tbr0", 0, false, &err);
  tap_ok (ret == -EEXIST && err_has (err, "create bridge \"tbr0\": File exists"),
          "second create names the bridge: %s", err ? err->msg : "");
  ward_error_free (&err);
  tap_ok (ok_or_diag (ward_link_bridge_create (nl, "tbr0", 0, true, &err), &err), "exist_ok bridge create");
  tap_ok (ok_or_diag (ward_link_set_mtu (nl, "tbr0", 1400, &err), &err)
              && ward_link_get (nl, "tbr0", &mtu, NULL, &err) == 0 && mtu == 1400,
          "set mtu 1400 (got %u)", mtu);
  ward_error_free (&err);
  tap_ok (ok_or_diag (ward_link_set_mac (nl, "tbr0", mac, &err), &err)
              && ward_link_get (nl, "tbr0", NULL, got, &err) == 0 && memcmp (mac, got, 6) == 0,
          "set mac");
  ward_error_free (&err);
  ret = ward_link_index (nl, "nope0", &idx, &err);
  tap_ok (ret == -ENODEV && err_has (err, "look up link \"nope0\""), "missing link: %s",
          err ? err->msg : "");
  ward_error_free (&err);
  ret = ward_link_set_up (nl, "bad/name", true, &err);
  tap_ok (ret == -EINVAL && err_has (err, "invalid interface name"), "invalid name rejected");
  ward_error_free (&err);

  /* veth: host end here, peer created directly as eth0 in ns1 */
  tap_ok (ok_or_diag (ward_link_veth_create (nl, "tveth0", "eth0", ns1->fd, 1400, &err), &err),
          "create veth with peer in netns");
  tap_ok (ward_link_exists (cnl, "eth0") && !ward_link_exists (nl, "eth0")
              && ward_link_exists (nl, "tveth0"),
          "peer is eth0 in the other netns only");
  ret = ward_link_veth_create (nl, "tveth0", "eth1", ns1->fd, 0, &err);
  tap_ok (ret == -EEXIST && err_has (err, "create veth \"tveth0\"") && err_has (err, "File exists"),
          "duplicate veth: %s", err ? err->msg : "");
  ward_error_free (&err);
  /* set_netns + rename: a second veth pair moved after creation */
  tap_ok (ok_or_diag (ward_link_veth_create (nl, "tvA", "tvB", -1, 0, &err), &err)
              && ok_or_diag (ward_link_set_netns (nl, "tvB", ns1->fd, "eth9", &err), &err)
              && ward_link_exists (cnl, "eth9") && !ward_link_exists (nl, "tvB"),
          "move link into netns and rename it there");
  tap_ok (ok_or_diag (ward_link_rename (cnl, "eth9", "eth8", &err), &err)
              && ward_link_exists (cnl, "eth8"),
          "rename link");
  tap_ok (ok_or_diag (ward_link_delete (nl, "tvA", false, &err), &err) && !ward_link_exists (cnl, "eth8"),
          "deleting one end removes the peer");

  tap_ok (ok_or_diag (ward_link_set_master (nl, "tveth0", "tbr0", &err), &err), "attach veth to bridge");
  tap_ok (ok_or_diag (ward_link_set_hairpin (nl, "tveth0", true, &err), &err), "hairpin on bridge port");
  tap_ok (ok_or_diag (ward_addr_add (nl, "tbr0", "10.123.0.1/24", &err), &err), "bridge IPv4 address");
  tap_ok (ok_or_diag (ward_addr_add (nl, "tbr0", "fd00:123::1/64", &err), &err), "bridge IPv6 address");
  tap_ok (ok_or_diag (ward_link_set_up (nl, "tbr0", true, &err), &err)
              && ok_or_diag (ward_link_set_up (nl, "tveth0", true, &err), &err),
          "bridge and host end up");
  tap_ok (ok_or_diag (ward_link_set_up (cnl, "lo", true, &err), &err)
              && ok_or_diag (ward_addr_add (cnl, "eth0", "10.123.0.2/24", &err), &err)
              && ok_or_diag (ward_addr_add (cnl, "eth0", "fd00:123::2/64", &err), &err)
              && ok_or_diag (ward_link_set_up (cnl, "eth0", true, &err), &err),
          "address and up inside the netns");
  tap_ok (ok_or_diag (ward_route_add (cnl, NULL, "10.123.0.1", "eth0", &err), &err),
          "default route via gateway inside the netns");
  tap_ok (ok_or_diag (ward_route_add (cnl, "10.124.0.0/16", NULL, "eth0", &err), &err),
          "device route inside the netns");
  ret = ward_route_add (cnl, NULL, "10.123.0.1", "eth0", &err);
  tap_ok (ret == -EEXIST && err_has (err, "add route default via 10.123.0.1 dev eth0"),
          "duplicate route: %s", err ? err->msg : "");
  ward_error_free (&err);
  ret = ward_addr_add (cnl, "eth0", "10.123.0.300/24", &err);
  tap_ok (ret == -EINVAL && err_has (err, "invalid address"), "bad address rejected");
  ward_error_free (&err);

  {
    ward_route_t *routes = NULL;
    size_t n = 0;
    bool found_default = false, found_dev = false;
    tap_ok (ok_or_diag (ward_route_list (cnl, AF_INET, &routes, &n, &err), &err), "list routes");
    for (size_t i = 0; i < n; i++)
      {
        if (routes[i].dst_len == 0 && routes[i].table == 254)
          found_default = true;
        if (routes[i].dst_len == 16 && routes[i].dst[0] == 10 && routes[i].dst[1] == 124)
          found_dev = true;
      }
    tap_ok (found_default && found_dev, "route dump shows the added routes");
    free (routes);
  }

  /* traffic between the two namespaces across the bridge */
  {
    _cleanup_close_ int usrv = socket_in (ns1->fd, SOCK_DGRAM, "10.123.0.2", 5000);
    _cleanup_close_ int tsrv = socket_in (-1, SOCK_STREAM, "10.123.0.1", 5001);
    tap_ok (usrv >= 0 && udp_roundtrip (usrv, -1, "10.123.0.2", 5000),
            "UDP host -> netns over veth+bridge");
    tap_ok (tsrv >= 0 && tcp_roundtrip (tsrv, ns1->fd, "10.123.0.1", 5001),
            "TCP netns -> host via the bridge address");
  }

  tap_ok (ok_or_diag (ward_link_set_up (nl, "tveth0", false, &err), &err), "set link down");
  tap_ok (ok_or_diag (ward_link_delete (nl, "tveth0", false, &err), &err) && !ward_link_exists (cnl, "eth0"),
          "delete veth removes the peer in the netns");
  ret = ward_link_delete (nl, "tveth0", false, &err);
  tap_ok (ret == -ENODEV && err_has (err, "delete link \"tveth0\""), "delete missing link names it");
  ward_error_free (&err);
  tap_ok (ok_or_diag (ward_link_delete (nl, "tveth0", true, &err), &err), "delete missing_ok");

  /* TAP devices inside a netns */
  {
    int fd = -1;
    tap_ok (ok_or_diag (ward_tap_create (ns1->fd, "ttap0", WARD_TAP_VNET_HDR, &fd, &err), &err) && fd >= 0,
            "create tap in netns");
    tap_ok (ward_link_exists (cnl, "ttap0") && !ward_link_exists (nl, "ttap0"), "tap lives in the netns");
    if (fd >= 0)
      close (fd);
    tap_ok (!ward_link_exists (cnl, "ttap0"), "non-persistent tap goes with its fd");
    tap_ok (ok_or_diag (ward_tap_create (ns1->fd, "ttap1", WARD_TAP_PERSIST, NULL, &err), &err)
                && ward_link_exists (cnl, "ttap1"),
            "persistent tap outlives its fd");
    tap_ok (ok_or_diag (ward_link_delete (cnl, "ttap1", false, &err), &err), "delete persistent tap");
    ret = ward_tap_create (-1, "ttap2", 0, NULL, &err);
    tap_ok (ret == -EINVAL && err_has (err, "create tap \"ttap2\""), "non-persistent tap without fd refused");
    ward_error_free (&err);
  }
}

/* ---- IPAM ------------------------------------------------------------- */

static int alloc_many (const ward_network_t *net, const char *prefix, int n, int outfd)
{
  for (int i = 0; i < n; i++)
    {
      char id[64];
      char *ip = NULL;
      ward_error_t *err = NULL;
      snprintf (id, sizeof id, "%s-%d", prefix, i);
      if (ward_ipam_allocate (net, id, NULL, &ip, &err) < 0)
        {
          ward_error_free (&err);
          return 1;
        }
      dprintf (outfd, "%s\n", ip);
      free (ip);
    }
  return 0;
}

static int cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void test_ipam (void)
{
  _cleanup_free_ char *root = NULL;
  _cleanup_network_ ward_network_t *net = NULL;
  _cleanup_network_ ward_network_t *big = NULL;
  _cleanup_network_ ward_network_t *tiny = NULL;
  ward_network_opts_t o = { .name = "t1", .subnet = "10.50.0.0/24" };
  ward_error_t *err = NULL;
  char *ip = NULL;
  int ret;

  root = xasprintf ("%s/nets", tmpdir);
  tap_ok (ok_or_diag (ward_network_create (root, &o, &net, &err), &err), "create network t1");
  if (net == NULL)
    return;
  tap_is_str (net->gateway, "10.50.0.1", "default gateway is the first host");
  tap_is_str (net->bridge, "ward-t1", "default bridge name");

  ret = ward_ipam_allocate (net, "a", NULL, &ip, &err);
  tap_ok (ret == 0 && ip && strcmp (ip, "10.50.0.2") == 0, "first address skips network and gateway: %s", ip);
  free (ip), ip = NULL;
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "b", NULL, &ip, &err);
  tap_ok (ret == 0 && ip && strcmp (ip, "10.50.0.3") == 0, "second address: %s", ip);
  free (ip), ip = NULL;
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "a", NULL, &ip, &err);
  tap_ok (ret == 0 && ip && strcmp (ip, "10.50.0.2") == 0, "same id gets its address back");
  free (ip), ip = NULL;
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "c", "10.50.0.10", &ip, &err);
  tap_ok (ret == 0 && ip && strcmp (ip, "10.50.0.10") == 0, "static address");
  free (ip), ip = NULL;
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "d", "10.50.0.10", &ip, &err);
  tap_ok (ret == -EADDRINUSE && err_has (err, "in use by container c"), "static conflict: %s",
          err ? err->msg : "");
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "d", "10.50.0.1", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "reserved"), "gateway refused");
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "d", "10.50.0.255", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "reserved"), "broadcast refused");
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "d", "10.51.0.7", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "not in subnet 10.50.0.0/24"), "outside subnet refused");
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "d", "banana", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "invalid address \"banana\""), "garbage refused");
  ward_error_free (&err);

  tap_ok (ok_or_diag (ward_ipam_release (net, "b", &err), &err), "release");
  ret = ward_ipam_lookup (net, "b", &ip, &err);
  tap_ok (ret == -ENOENT, "released id has no address");
  ward_error_free (&err);
  ret = ward_ipam_allocate (net, "e", NULL, &ip, &err);
  tap_ok (ret == 0 && ip && strcmp (ip, "10.50.0.4") == 0, "next allocation does not reuse the freed one at once: %s", ip);
  free (ip), ip = NULL;
  ward_error_free (&err);

  /* a "container" that allocates and dies without releasing */
  {
    pid_t pid = fork ();
    int status = 0;
    if (pid == 0)
      {
        char *cip = NULL;
        ward_error_t *e = NULL;
        _exit (ward_ipam_allocate (net, "crashed", NULL, &cip, &e) == 0 ? 0 : 1);
      }
    waitpid (pid, &status, 0);
    tap_ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "crashing process allocated");
  }
  {
    const char *live[] = { "a", "c", "e" };
    size_t freed = 0;
    tap_ok (ok_or_diag (ward_ipam_reconcile (net, live, 3, &freed, &err), &err) && freed == 1,
            "reconcile frees the dead id's address (freed %zu)", freed);
    ret = ward_ipam_lookup (net, "crashed", &ip, &err);
    tap_ok (ret == -ENOENT, "dead id gone after reconcile");
    ward_error_free (&err);
    ret = ward_ipam_lookup (net, "c", &ip, &err);
    tap_ok (ret == 0 && strcmp (ip, "10.50.0.10") == 0, "live ids kept");
    free (ip), ip = NULL;
    ward_error_free (&err);
  }

  /* exhaustion */
  {
    ward_network_opts_t t = { .name = "tiny", .subnet = "10.52.0.0/30" };
    tap_ok (ok_or_diag (ward_network_create (root, &t, &tiny, &err), &err), "create /30 network");
    if (tiny)
      {
        ret = ward_ipam_allocate (tiny, "x", NULL, &ip, &err);
        tap_ok (ret == 0 && strcmp (ip, "10.52.0.2") == 0, "only host address of a /30");
        free (ip), ip = NULL;
        ward_error_free (&err);
        ret = ward_ipam_allocate (tiny, "y", NULL, &ip, &err);
        tap_ok (ret == -ENOSPC && err_has (err, "is full"), "full subnet: %s", err ? err->msg : "");
        ward_error_free (&err);
      }
  }

  /* two processes, 100 allocations each, no address handed out twice */
  {
    ward_network_opts_t b = { .name = "big", .subnet = "10.60.0.0/23" };
    _cleanup_free_ char *outpath = xasprintf ("%s/allocs.txt", tmpdir);
    _cleanup_free_ char *text = NULL;
    char *lines[256];
    size_t n = 0;
    bool dup = false, children_ok = true;
    pid_t pids[2];
    int outfd;

    tap_ok (ok_or_diag (ward_network_create (root, &b, &big, &err), &err), "create /23 network");
    if (big == NULL)
      return;
    outfd = open (outpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    for (int k = 0; k < 2; k++)
      {
        pids[k] = fork ();
        if (pids[k] == 0)
          _exit (alloc_many (big, k ? "q" : "p", 100, outfd));
      }
    for (int k = 0; k < 2; k++)
      {
        int status = 0;
        waitpid (pids[k], &status, 0);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
          children_ok = false;
      }
    close (outfd);
    tap_ok (children_ok, "both allocating processes succeeded");
    if (ward_read_file_at (AT_FDCWD, outpath, &text, NULL, 0, &err) < 0)
      ward_error_free (&err);
    for (char *save = NULL, *l = text ? strtok_r (text, "\n", &save) : NULL; l && n < 256;
         l = strtok_r (NULL, "\n", &save))
      lines[n++] = l;
    qsort (lines, n, sizeof *lines, cmp_str);
    for (size_t i = 1; i < n; i++)
      if (strcmp (lines[i - 1], lines[i]) == 0)
        dup = true;
    tap_ok (n == 200 && !dup, "200 concurrent allocations, all distinct (%zu, dup=%d)", n, dup);
    {
      ward_ipam_entry_t *entries = NULL;
      size_t ne = 0;
      tap_ok (ok_or_diag (ward_ipam_list (big, &entries, &ne, &err), &err) && ne == 200,
              "IPAM file holds 200 entries (%zu)", ne);
      ward_ipam_entries_free (entries, ne);
    }
  }
}

/* ---- networks & subnet choice --------------------------------------- */

static void test_networks (void)
{
  _cleanup_free_ char *root = xasprintf ("%s/nets", tmpdir);
  _cleanup_network_ ward_network_t *def = NULL;
  _cleanup_network_ ward_network_t *n2 = NULL;
  _cleanup_free_ char *chosen = NULL;
  _cleanup_free_ char *fwd = NULL;
  _cleanup_nl_ ward_nl_t *nl = NULL;
  ward_network_t **list = NULL;
  size_t n = 0;
  ward_error_t *err = NULL;
  int ret;

  {
    ward_route_t routes[3] = { { .family = AF_INET, .dst = { 172, 30, 0, 0 }, .dst_len = 16 },
                               { .family = AF_INET, .dst_len = 0 },
                               { .family = AF_INET, .dst = { 10, 200, 5, 0 }, .dst_len = 24 } };
    const char *taken[] = { "172.31.0.0/16" };
    ret = ward_network_choose_subnet (routes, 3, taken, 1, NULL, &chosen, &err);
    tap_ok (ret == 0 && strcmp (chosen, "10.201.0.0/16") == 0,
            "subnet choice skips routes and taken subnets, ignores default: %s", chosen);
    free (chosen), chosen = NULL;
    ward_error_free (&err);
    routes[0].dst[0] = 0;
    routes[0].dst_len = 1;   /* 0.0.0.0/1 covers 10/8; 128/1 stays free */
    ret = ward_network_choose_subnet (routes, 1, NULL, 0, NULL, &chosen, &err);
    tap_ok (ret == 0 && strcmp (chosen, "172.30.0.0/16") == 0, "wide route: %s", chosen);
    free (chosen), chosen = NULL;
    ward_error_free (&err);
    routes[0].dst[0] = 128;
    ret = ward_network_choose_subnet (routes, 1, NULL, 0, NULL, &chosen, &err);
    tap_ok (ret == 0 && strcmp (chosen, "10.200.0.0/16") == 0, "128/1 route pushes to 10/8: %s", chosen);
    free (chosen), chosen = NULL;
    ward_error_free (&err);
    routes[1].dst_len = 1;  /* 0.0.0.0/1 and 128.0.0.0/1: nothing left */
    ret = ward_network_choose_subnet (routes, 2, NULL, 0, NULL, &chosen, &err);
    tap_ok (ret == -EADDRNOTAVAIL && err_has (err, "every candidate overlaps"), "no candidate left");
    ward_error_free (&err);
  }

  /* a real host route on the first candidate: the default network avoids it */
  if (ward_nl_open (-1, &nl, &err) < 0)
    ward_error_free (&err);
  tap_ok (nl && ok_or_diag (ward_link_bridge_create (nl, "tbr1", 0, false, &err), &err)
              && ok_or_diag (ward_addr_add (nl, "tbr1", "172.30.5.1/16", &err), &err)
              && ok_or_diag (ward_link_set_up (nl, "tbr1", true, &err), &err),
          "host route 172.30.0.0/16 in the test netns");
  tap_ok (ok_or_diag (ward_network_ensure_default (root, &def, &err), &err), "default network created");
  if (def)
    {
      tap_is_str (def->subnet, "172.31.0.0/16", "default subnet avoids the host's 172.30.0.0/16");
      tap_is_str (def->bridge, "ward0", "default bridge");
      tap_is_str (def->gateway, "172.31.0.1", "default gateway");
    }
  if (ward_read_file_at (AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", &fwd, NULL, 0, &err) < 0)
    ward_error_free (&err);
  tap_ok (fwd && fwd[0] == '1', "ip_forward enabled (in the test's netns)");
  {
    _cleanup_network_ ward_network_t *again = NULL;
    tap_ok (ok_or_diag (ward_network_ensure_default (root, &again, &err), &err) && again
                && strcmp (again->subnet, def ? def->subnet : "") == 0,
            "ensure_default is idempotent");
  }
  {
    ward_network_opts_t o = { .name = "t1" };
    ret = ward_network_create (root, &o, &n2, &err);
    tap_ok (ret == -EEXIST && err_has (err, "already exists"), "duplicate name refused: %s",
            err ? err->msg : "");
    ward_error_free (&err);
    o.name = "t9";
    o.subnet = "10.50.0.128/25";
    ret = ward_network_create (root, &o, &n2, &err);
    tap_ok (ret == -EEXIST && err_has (err, "overlaps network \"t1\""), "overlapping subnet refused: %s",
            err ? err->msg : "");
    ward_error_free (&err);
    o.name = "bad/name";
    ret = ward_network_create (root, &o, &n2, &err);
    tap_ok (ret == -EINVAL && err_has (err, "invalid name"), "invalid network name refused");
    ward_error_free (&err);
    o.name = "t9";
    o.subnet = NULL;
    tap_ok (ok_or_diag (ward_network_create (root, &o, &n2, &err), &err) && n2
                && strcmp (n2->subnet, "10.200.0.0/16") == 0,
            "second auto network gets the next free candidate: %s", n2 ? n2->subnet : "");
  }
  tap_ok (ok_or_diag (ward_network_list (root, &list, &n, &err), &err) && n == 5
              && strcmp (list[0]->name, "big") == 0 && strcmp (list[4]->name, "ward") == 0,
          "list networks sorted (%zu)", n);
  ward_network_list_free (list, n);
  {
    _cleanup_network_ ward_network_t *t = NULL;
    _cleanup_free_ char *json = NULL;
    ret = ward_network_inspect (root, "nosuch", &t, &err);
    tap_ok (ret == -ENOENT && err_has (err, "network \"nosuch\" not found"), "inspect missing");
    ward_error_free (&err);
    tap_ok (ok_or_diag (ward_network_inspect (root, "t1", &t, &err), &err), "inspect t1");
    json = t ? ward_network_to_json (t) : NULL;
    tap_ok (json && strstr (json, "\"Subnet\"") && strstr (json, "\"10.50.0.0/24\""), "inspect JSON");
  }
  ret = ward_network_remove (root, "t1", &err);
  tap_ok (ret == -EBUSY && err_has (err, "containers are attached"), "remove busy network refused");
  ward_error_free (&err);
  tap_ok (ok_or_diag (ward_network_remove (root, "t9", &err), &err), "remove unused network");
  {
    _cleanup_network_ ward_network_t *t = NULL;
    ret = ward_network_inspect (root, "t9", &t, &err);
    tap_ok (ret == -ENOENT, "removed network is gone");
    ward_error_free (&err);
  }
}

/* ---- port specs ---------------------------------------------------- */

static void test_port_specs (void)
{
  static const struct
  {
    const char *spec;
    size_t n;
    const char *host_ip;
    unsigned host_port, container_port;
    int proto;
    const char *error;
  } cases[] = {
    { "80", 1, "", 0, 80, IPPROTO_TCP, NULL },
    { "8080:80", 1, "", 8080, 80, IPPROTO_TCP, NULL },
    { "8080:80/udp", 1, "", 8080, 80, IPPROTO_UDP, NULL },
    { "127.0.0.1:8080:80/tcp", 1, "127.0.0.1", 8080, 80, IPPROTO_TCP, NULL },
    { "127.0.0.1::80", 1, "127.0.0.1", 0, 80, IPPROTO_TCP, NULL },
    { "8000-8002:80-82", 3, "", 8000, 80, IPPROTO_TCP, NULL },
    { "80-81", 2, "", 0, 80, IPPROTO_TCP, NULL },
    { "", 0, NULL, 0, 0, 0, "invalid port spec \"\": empty" },
    { "abc", 0, NULL, 0, 0, 0, "invalid port spec \"abc\": invalid containerPort \"abc\"" },
    { "8080:abc", 0, NULL, 0, 0, 0, "invalid containerPort \"abc\"" },
    { "x:80", 0, NULL, 0, 0, 0, "invalid port spec \"x:80\": invalid hostPort \"x\"" },
    { "0:80", 0, NULL, 0, 0, 0, "invalid hostPort \"0\"" },
    { "70000:80", 0, NULL, 0, 0, 0, "invalid hostPort \"70000\"" },
    { "80/sctp", 0, NULL, 0, 0, 0, "invalid proto \"sctp\"" },
    { "1.2.3:80:80", 0, NULL, 0, 0, 0, "invalid IP address \"1.2.3\"" },
    { "[::1]:8080:80", 1, "::1", 8080, 80, IPPROTO_TCP, NULL },
    { "[fd00::1]::53/udp", 1, "fd00::1", 0, 53, IPPROTO_UDP, NULL },
    { "[fd00::1:80:80", 0, NULL, 0, 0, 0, "invalid IP address" },
    { "[fd00::zz]:80:80", 0, NULL, 0, 0, 0, "invalid IP address \"fd00::zz\"" },
    { "8000-8001:80-82", 0, NULL, 0, 0, 0,
      "invalid ranges specified for container and host ports: 80-82 and 8000-8001" },
    { "90-80", 0, NULL, 0, 0, 0, "invalid containerPort \"90-80\"" },
    { "1:2:3:4", 0, NULL, 0, 0, 0, "too many colons" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      ward_port_t *ports = NULL;
      size_t n = 0;
      ward_error_t *err = NULL;
      int ret = ward_port_parse (cases[i].spec, &ports, &n, &err);
      if (cases[i].error)
        tap_ok (ret < 0 && err_has (err, cases[i].error), "port spec \"%s\" refused: %s", cases[i].spec,
                err ? err->msg : "(accepted)");
      else
        tap_ok (ret == 0 && n == cases[i].n && strcmp (ports[0].host_ip, cases[i].host_ip) == 0
                    && ports[0].host_port == cases[i].host_port
                    && ports[0].container_port == cases[i].container_port
                    && ports[0].proto == cases[i].proto
                    && ports[n - 1].container_port == cases[i].container_port + n - 1
                    && (cases[i].host_port == 0 || ports[n - 1].host_port == cases[i].host_port + n - 1),
                "port spec \"%s\" parsed", cases[i].spec);
      ward_error_free (&err);
      free (ports);
    }
  {
    const char *exposed[] = { "80/tcp", "53/udp", "8443" };
    ward_port_t *ports = NULL;
    size_t n = 0;
    ward_error_t *err = NULL;
    tap_ok (ok_or_diag (ward_port_parse_exposed (exposed, 3, &ports, &n, &err), &err) && n == 3
                && ports[1].proto == IPPROTO_UDP && ports[2].container_port == 8443,
            "-P: ExposedPorts parsed");
    tap_ok (ok_or_diag (ward_port_assign (ports, n, &err), &err) && ports[0].host_port
                && ports[1].host_port && ports[2].host_port,
            "-P: random free host ports assigned (%u %u %u)", n ? ports[0].host_port : 0,
            n > 1 ? ports[1].host_port : 0, n > 2 ? ports[2].host_port : 0);
    free (ports);
  }
}

/* ---- attach, DNAT, detach, reconcile -------------------------------- */

static bool dump_has (const char *needle)
{
  _cleanup_free_ char *dump = NULL;
  ward_error_t *err = NULL;
  if (ward_portmap_dump (&dump, &err) < 0)
    {
      ward_error_free (&err);
      return false;
    }
  return strstr (dump, needle) != NULL;
}

static void test_publish (void)
{
  _cleanup_free_ char *root = xasprintf ("%s/nets", tmpdir);
  _cleanup_network_ ward_network_t *net = NULL;
  ward_attach_result_t r1 = { 0 }, r2 = { 0 };
  ward_port_t *ports = NULL;
  size_t n_ports = 0;
  ward_error_t *err = NULL;
  test_ns_t c1 = { .fd = -1 }, c2 = { .fd = -1 };
  int ret;

  if (ward_network_ensure_default (root, &net, &err) < 0 || ns_spawn (&c1) < 0 || ns_spawn (&c2) < 0)
    {
      tap_ok (0, "publish setup: %s", err ? err->msg : strerror (errno));
      ward_error_free (&err);
      ns_kill (&c1);
      ns_kill (&c2);
      return;
    }
  for (const char *const *s = (const char *const[]){ "127.0.0.1:18080:80", "18081:81", "18053:53/udp", NULL };
       *s; s++)
    if (ward_port_parse (*s, &ports, &n_ports, &err) < 0)
      ward_error_free (&err);

  {
    ward_attach_opts_t o = { .state_root = root, .container_id = "c1", .name = "web",
                             .netns_fd = c1.fd, .ports = ports, .n_ports = n_ports };
    tap_ok (ok_or_diag (ward_network_attach (net, &o, &r1, &err), &err), "attach c1 with 3 published ports");
  }
  {
    ward_attach_opts_t o = { .state_root = root, .container_id = "c2", .name = "client",
                             .netns_fd = c2.fd, .ip = "172.31.0.50" };
    tap_ok (ok_or_diag (ward_network_attach (net, &o, &r2, &err), &err) && r2.ip
                && strcmp (r2.ip, "172.31.0.50") == 0,
            "attach c2 with a static --ip");
  }
  tap_ok (r1.ip && strcmp (r1.ip, "172.31.0.2") == 0 && r1.prefixlen == 16, "c1 got 172.31.0.2/16 (%s)",
          r1.ip ? r1.ip : "");
  tap_ok (r1.host_veth && link_in_ns (-1, r1.host_veth) && link_in_ns (c1.fd, "eth0"),
          "veth host end on the host, eth0 in the container");
  {
    _cleanup_free_ char *rl = NULL;
    if (ward_read_file_at (AT_FDCWD, "/proc/sys/net/ipv4/conf/ward0/route_localnet", &rl, NULL, 0, &err) < 0)
      ward_error_free (&err);
    tap_ok (rl && rl[0] == '1', "route_localnet=1 on the bridge");
  }
  tap_ok (dump_has ("comment \"ward:c1\"") && dump_has ("dnat to 172.31.0.2:80")
              && dump_has ("ward-net:ward"),
          "DNAT rules tagged with the container id");

  if (r1.ip)
    {
      _cleanup_close_ int l80 = socket_in (c1.fd, SOCK_STREAM, NULL, 80);
      _cleanup_close_ int l81 = socket_in (c1.fd, SOCK_STREAM, NULL, 81);
      _cleanup_close_ int u53 = socket_in (c1.fd, SOCK_DGRAM, NULL, 53);
      tap_ok (l80 >= 0 && tcp_roundtrip (l80, -1, "127.0.0.1", 18080),
              "TCP 127.0.0.1:18080 on the host reaches the container's :80");
      tap_ok (l81 >= 0 && tcp_roundtrip (l81, -1, "172.31.0.1", 18081),
              "TCP bridge address :18081 reaches the container's :81");
      tap_ok (l81 >= 0 && tcp_roundtrip (l81, -1, "172.30.5.1", 18081),
              "TCP another host address :18081 reaches the container");
      tap_ok (l81 >= 0 && tcp_roundtrip (l81, -1, "127.0.0.1", 18081),
              "TCP 127.0.0.1:18081 (no host ip in spec) reaches the container");
      tap_ok (u53 >= 0 && udp_roundtrip (u53, -1, "127.0.0.1", 18053), "UDP published port");
      tap_ok (l81 >= 0 && tcp_roundtrip (l81, c2.fd, "172.31.0.1", 18081),
              "hairpin: another container reaches the published port via the host address");
      tap_ok (l81 >= 0 && tcp_roundtrip (l81, c1.fd, "172.31.0.1", 18081),
              "hairpin: the container reaches its own published port");
      tap_ok (l80 >= 0 && tcp_roundtrip (l80, c2.fd, "172.31.0.2", 80),
              "containers on the same network talk directly");
    }
  {
    ward_attachment_t *att = NULL;
    size_t n = 0;
    tap_ok (ok_or_diag (ward_network_attachments (root, "c1", &att, &n, &err), &err) && n == 1
                && strcmp (att[0].network, "ward") == 0 && strcmp (att[0].ip, "172.31.0.2") == 0
                && att[0].prefixlen == 16 && strcmp (att[0].name, "web") == 0 && att[0].n_ports == 3
                && att[0].ports[2].proto == IPPROTO_UDP && att[0].ports[2].host_port == 18053
                && strcmp (att[0].ports[0].host_ip, "127.0.0.1") == 0,
            "attachment record of c1 (inspect)");
    ward_attachments_free (att, n);
  }
  {
    ward_host_entry_t *peers = NULL;
    size_t n = 0;
    tap_ok (ok_or_diag (ward_network_peers (net, "c2", &peers, &n, &err), &err) && n == 1
                && strcmp (peers[0].name, "web") == 0 && strcmp (peers[0].ip, "172.31.0.2") == 0,
            "peers of c2: web -> 172.31.0.2");
    ward_network_peers_free (peers, n);
  }

  {
    ward_port_t p[2] = { { .host_port = 18081, .container_port = 80, .proto = IPPROTO_TCP },
                         { .host_port = 18080, .container_port = 80, .proto = IPPROTO_TCP } };
    ret = ward_portmap_add (root, "other", "172.31.0.60", p, 1, &err);
    tap_ok (ret == -EADDRINUSE && err_has (err, "18081/tcp of container other: already published by container c1"),
            "a host port published twice is refused: %s", err ? err->msg : "");
    ward_error_free (&err);
    snprintf (p[1].host_ip, sizeof p[1].host_ip, "127.0.0.2");
    tap_ok (ok_or_diag (ward_portmap_add (root, "other", "172.31.0.60", &p[1], 1, &err), &err)
                && ok_or_diag (ward_portmap_remove (root, "other", &err), &err),
            "same port on another specific host address is fine");
    p[0].proto = IPPROTO_UDP;
    tap_ok (ok_or_diag (ward_portmap_add (root, "other", "172.31.0.60", p, 1, &err), &err)
                && ok_or_diag (ward_portmap_remove (root, "other", &err), &err) && !dump_has ("ward:other"),
            "same port number over the other protocol is fine");
  }
  tap_ok (ok_or_diag (ward_network_detach (root, "c1", &err), &err), "detach c1");
  {
    char *ip = NULL;
    ret = ward_ipam_lookup (net, "c1", &ip, &err);
    ward_error_free (&err);
    tap_ok (ret == -ENOENT && !dump_has ("ward:c1") && dump_has ("table ip ward")
                && !link_in_ns (-1, r1.host_veth) && !link_in_ns (c1.fd, "eth0"),
            "detach removed the address, every c1 rule and both veth ends");
  }
  tap_ok (ok_or_diag (ward_network_detach (root, "c1", &err), &err), "detach is idempotent");

  /* ports of a container that died without detach */
  {
    ward_port_t p = { .host_port = 19000, .container_port = 80, .proto = IPPROTO_TCP };
    size_t removed = 0;
    const char *live[] = { "c2" };
    tap_ok (ok_or_diag (ward_portmap_add (root, "ghost", "172.31.0.99", &p, 1, &err), &err)
                && dump_has ("ward:ghost"),
            "rules for a container that will vanish");
    tap_ok (ok_or_diag (ward_portmap_reconcile (root, live, 1, &removed, &err), &err) && removed == 1
                && !dump_has ("ward:ghost"),
            "portmap reconcile removes them (%zu)", removed);
    ret = ward_portmap_add (root, "bad\"id", "172.31.0.99", &p, 1, &err);
    tap_ok (ret == -EINVAL && err_has (err, "invalid container id"), "id with a quote refused");
    ward_error_free (&err);
  }
  {
    ward_port_t p = { .host_port = 19001, .container_port = 80, .proto = IPPROTO_TCP };
    size_t removed = 0;
    if (ward_portmap_add (root, "c2", "172.31.0.50", &p, 1, &err) < 0)
      ward_error_free (&err);
    tap_ok (ok_or_diag (ward_network_reconcile (root, NULL, 0, &err), &err)
                && !dump_has ("ward:c2") && !link_in_ns (-1, r2.host_veth)
                && !link_in_ns (c2.fd, "eth0"),
            "network reconcile with no live container cleans up c2");
    {
      char *ip = NULL;
      ret = ward_ipam_lookup (net, "c2", &ip, &err);
      ward_error_free (&err);
      tap_ok (ret == -ENOENT, "and its address");
    }
    tap_ok (ok_or_diag (ward_portmap_reconcile (root, NULL, 0, &removed, &err), &err) && removed == 0,
            "nothing left to reconcile");
  }
  /* a failing attach leaves nothing behind */
  {
    ward_attach_opts_t o = { .state_root = root, .container_id = "c3", .netns_fd = c2.fd,
                             .ifname = "lo", .ports = ports, .n_ports = n_ports };
    ward_attach_result_t r3 = { 0 };
    char veth[16], *ip = NULL;
    ward_network_veth_name ("c3", veth);
    ret = ward_network_attach (net, &o, &r3, &err);
    tap_ok (ret == -EEXIST && err_has (err, "create veth \"") && err_has (err, "File exists"),
            "attach onto an existing interface name fails: %s", err ? err->msg : "");
    ward_error_free (&err);
    ret = ward_ipam_lookup (net, "c3", &ip, &err);
    ward_error_free (&err);
    tap_ok (ret == -ENOENT && !link_in_ns (-1, veth) && !dump_has ("ward:c3"),
            "failed attach released its address and left no link or rule");
    o.container_id = "../evil";
    ret = ward_network_attach (net, &o, &r3, &err);
    tap_ok (ret == -EINVAL && err_has (err, "invalid container id"), "attach refuses a bad id");
    ward_error_free (&err);
  }
  {
    ward_attach_opts_t o = { .state_root = root, .container_id = "c4", .netns_fd = c2.fd,
                             .mtu = 1300, .mac = (const uint8_t[]){ 0x02, 0, 0, 0, 0, 0x44 } };
    ward_attach_result_t r4 = { 0 };
    _cleanup_nl_ ward_nl_t *cnl = NULL;
    unsigned mtu = 0;
    uint8_t mac[6] = { 0 };
    tap_ok (ok_or_diag (ward_network_attach (net, &o, &r4, &err), &err), "attach with --mac-address and mtu");
    if (ward_nl_open (c2.fd, &cnl, &err) < 0 || ward_link_get (cnl, "eth0", &mtu, mac, &err) < 0)
      ward_error_free (&err);
    tap_ok (mtu == 1300 && mac[0] == 2 && mac[5] == 0x44, "eth0 has the mtu and mac (mtu %u)", mtu);
    tap_ok (ok_or_diag (ward_network_detach (root, "c4", &err), &err), "detach c4");
    ward_attach_result_clear (&r4);
  }
  tap_ok (ok_or_diag (ward_portmap_teardown (&err), &err) && !dump_has ("table"), "table removed");
  tap_ok (ok_or_diag (ward_portmap_teardown (&err), &err), "teardown of a missing table is fine");

  ward_attach_result_clear (&r1);
  ward_attach_result_clear (&r2);
  free (ports);
  ns_kill (&c1);
  ns_kill (&c2);
}

/* ---- IPv6 (dual-stack networks) --------------------------------------- */

static void test_ipv6 (void)
{
  _cleanup_free_ char *root = xasprintf ("%s/nets", tmpdir);
  _cleanup_network_ ward_network_t *net = NULL;
  ward_network_opts_t o = { .name = "dual", .subnet = "10.72.0.0/24", .subnet6 = "fd00:72::5/64" };
  ward_attach_result_t res = { 0 };
  ward_error_t *err = NULL;
  test_ns_t ns = { .fd = -1 };
  char *ip = NULL;
  int ret;

  tap_ok (ok_or_diag (ward_network_create (root, &o, &net, &err), &err), "create dual-stack network");
  if (net == NULL)
    return;
  tap_ok (strcmp (net->subnet6, "fd00:72::/64") == 0 && strcmp (net->gateway6, "fd00:72::1") == 0,
          "IPv6 subnet canonical, gateway6 first address (%s %s)", net->subnet6, net->gateway6);
  {
    ward_network_opts_t o2 = { .name = "dual2", .subnet = "10.73.0.0/24", .subnet6 = "fd00:72:0:0:8000::/65" };
    _cleanup_network_ ward_network_t *n2 = NULL;
    ret = ward_network_create (root, &o2, &n2, &err);
    tap_ok (ret == -EEXIST && err_has (err, "overlaps network \"dual\""), "overlapping IPv6 subnet refused");
    ward_error_free (&err);
  }
  ret = ward_ipam_allocate6 (net, "s1", "fd00:72:0::0:10", &ip, &err);
  tap_ok (ret == 0 && strcmp (ip, "fd00:72::10") == 0, "static IPv6 address, canonical form");
  free (ip), ip = NULL;
  ward_error_free (&err);
  ret = ward_ipam_allocate6 (net, "s2", "fd00:72::10", &ip, &err);
  tap_ok (ret == -EADDRINUSE && err_has (err, "in use by container s1"), "IPv6 static conflict");
  ward_error_free (&err);
  ret = ward_ipam_allocate6 (net, "s2", "fd00:72::1", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "reserved"), "gateway6 refused");
  ward_error_free (&err);
  ret = ward_ipam_allocate6 (net, "s2", "fd00:99::1", &ip, &err);
  tap_ok (ret == -EINVAL && err_has (err, "not in subnet fd00:72::/64"), "outside the IPv6 subnet");
  ward_error_free (&err);
  tap_ok (ok_or_diag (ward_ipam_release (net, "s1", &err), &err), "release IPv6");

  if (ns_spawn (&ns) < 0)
    {
      tap_ok (0, "spawn netns");
      return;
    }
  {
    ward_port_t *ports = NULL;
    size_t np = 0;
    if (ward_port_parse ("17001:80", &ports, &np, &err) < 0 || ward_port_parse ("[fd00:72::1]:17002:81", &ports, &np, &err) < 0)
      ward_error_free (&err);
    ward_attach_opts_t ao = { .state_root = root, .container_id = "d1", .netns_fd = ns.fd,
                              .ports = ports, .n_ports = np };
    tap_ok (ok_or_diag (ward_network_attach (net, &ao, &res, &err), &err) && res.ip6
                && strcmp (res.ip6, "fd00:72::2") == 0 && res.prefixlen6 == 64
                && strcmp (res.ip, "10.72.0.2") == 0,
            "dual-stack attach: %s and %s", res.ip ? res.ip : "", res.ip6 ? res.ip6 : "");
    free (ports);
  }
  tap_ok (res.ip6 && tcp6_roundtrip (ns.fd, 7000, "fd00:72::2", 7000), "TCP over IPv6 from the host into the container");
  tap_ok (res.ip6 && tcp6_roundtrip (ns.fd, 80, "fd00:72::1", 17001),
          "IPv6 published port (no host address) via the bridge address");
  tap_ok (res.ip6 && tcp6_roundtrip (ns.fd, 80, "fd00:123::1", 17001),
          "IPv6 published port via another host address");
  tap_ok (res.ip6 && tcp6_roundtrip (ns.fd, 81, "fd00:72::1", 17002), "IPv6 published port on a given host address");
  {
    _cleanup_close_ int l = socket_in (ns.fd, SOCK_STREAM, NULL, 80);
    tap_ok (l >= 0 && tcp_roundtrip (l, -1, "127.0.0.1", 17001), "same port published over IPv4 too");
  }
  tap_ok (dump_has ("table ip6 ward") && dump_has ("dnat to [fd00:72::2]:80"), "ip6 table holds the IPv6 DNAT");
  {
    ward_port_t p = { .host_ip = "::1", .host_port = 17003, .container_port = 80, .proto = IPPROTO_TCP };
    ret = ward_portmap_add_dual (root, "d9", "10.72.0.9", "fd00:72::9", &p, 1, &err);
    tap_ok (ret == -EADDRNOTAVAIL && err_has (err, "IPv6 loopback cannot be forwarded"), "[::1] publishing refused");
    ward_error_free (&err);
    ret = ward_portmap_add_dual (root, "d9", "10.72.0.9", NULL, &p, 1, &err);
    tap_ok (ret == -EAFNOSUPPORT && err_has (err, "has no IPv6 address"), "IPv6 host address needs an IPv6 container");
    ward_error_free (&err);
    snprintf (p.host_ip, sizeof p.host_ip, "::");
    p.host_port = 17001;
    ret = ward_portmap_add_dual (root, "d9", "10.72.0.9", "fd00:72::9", &p, 1, &err);
    tap_ok (ret == -EADDRINUSE && err_has (err, "already published by container d1"), "IPv6 port conflict");
    ward_error_free (&err);
  }
  {
    ward_attachment_t *att = NULL;
    size_t n = 0;
    tap_ok (ok_or_diag (ward_network_attachments (root, "d1", &att, &n, &err), &err) && n == 1 && att[0].ip6
                && strcmp (att[0].ip6, "fd00:72::2") == 0,
            "attachment records the IPv6 address");
    ward_attachments_free (att, n);
  }
  tap_ok (ok_or_diag (ward_network_detach (root, "d1", &err), &err) && !dump_has ("ward:d1"),
          "detach dual-stack container removes its ip and ip6 rules");
  ret = ward_ipam_lookup6 (net, "d1", &ip, &err);
  tap_ok (ret == -ENOENT, "IPv6 address released");
  ward_error_free (&err);
  {
    ward_attach_opts_t ao = { .state_root = root, .container_id = "d2", .netns_fd = ns.fd,
                              .ip6 = "fd00:72::1" };
    ward_attach_result_t r2 = { 0 };
    ret = ward_network_attach (net, &ao, &r2, &err);
    tap_ok (ret == -EINVAL && err_has (err, "reserved"), "--ip6 on the gateway refused");
    ward_error_free (&err);
    ret = ward_ipam_lookup (net, "d2", &ip, &err);
    tap_ok (ret == -ENOENT, "and its IPv4 address was given back");
    ward_error_free (&err);
  }
  ward_attach_result_clear (&res);
  ns_kill (&ns);
  tap_ok (ok_or_diag (ward_network_remove (root, "dual", &err), &err), "remove dual-stack network");
}

/* ---- /etc files ------------------------------------------------------ */

static void test_etc_files (void)
{
  _cleanup_free_ char *path = xasprintf ("%s/resolv.conf", tmpdir);
  ward_resolv_opts_t ro = { .host_resolv_conf = path };
  ward_error_t *err = NULL;
  char *out = NULL;
  int ret;

  {
    const char *t = "# generated\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n";
    ward_create_file_at (AT_FDCWD, path, t, strlen (t), 0644, &err);
  }
  ward_error_free (&err);
  ret = ward_resolvconf_generate (&ro, &out, &err);
  tap_ok (ret == 0 && out && strstr (out, "127.0.0.53") == NULL && strstr (out, "# ward: the host has no nameserver")
              && strstr (out, "search corp.example\n") && strstr (out, "options edns0 trust-ad\n"),
          "loopback resolver dropped, explicit comment left");
  tap_ok (out && strstr (out, "nameserver 8.8.8.8\n"), "docker's public default stands in");
  free (out), out = NULL;
  ward_error_free (&err);
  {
    /* systemd-resolved's upstream list replaces its 127.0.0.53 */
    _cleanup_free_ char *up = xasprintf ("%s/upstream-resolv.conf", tmpdir);
    const char *t = "nameserver 127.0.0.1\nnameserver 10.77.0.53\n";
    ward_create_file_at (AT_FDCWD, up, t, strlen (t), 0644, &err);
    ward_error_free (&err);
    ro.upstream_resolv_conf = up;
    ret = ward_resolvconf_generate (&ro, &out, &err);
    tap_ok (ret == 0 && out && strncmp (out, "nameserver 10.77.0.53\nsearch corp.example\n", 42) == 0
                && strstr (out, "8.8.8.8") == NULL,
            "upstream resolvers of a loopback-only host used");
    ro.upstream_resolv_conf = NULL;
    free (out), out = NULL;
    ward_error_free (&err);
  }

  {
    const char *t = "nameserver 10.9.8.7\nnameserver 127.0.0.1\nnameserver ::1\nnameserver fd00::53\n";
    ward_create_file_at (AT_FDCWD, path, t, strlen (t), 0644, &err);
  }
  ward_error_free (&err);
  ret = ward_resolvconf_generate (&ro, &out, &err);
  tap_ok (ret == 0 && out && strcmp (out, "nameserver 10.9.8.7\nnameserver fd00::53\n") == 0,
          "non-loopback host resolvers kept");
  free (out), out = NULL;
  ward_error_free (&err);

  {
    const char *dns[] = { "192.0.2.53", NULL }, *search[] = { "a.example", "b.example", NULL },
               *opts[] = { "ndots:2", NULL };
    ro.dns = dns;
    ro.dns_search = search;
    ro.dns_options = opts;
    ret = ward_resolvconf_generate (&ro, &out, &err);
    tap_ok (ret == 0 && strcmp (out, "nameserver 192.0.2.53\nsearch a.example b.example\noptions ndots:2\n") == 0,
            "--dns/--dns-search/--dns-option override");
    free (out), out = NULL;
    ward_error_free (&err);
    dns[0] = "not-an-ip";
    ret = ward_resolvconf_generate (&ro, &out, &err);
    tap_ok (ret == -EINVAL && err_has (err, "--dns \"not-an-ip\""), "bad --dns refused");
    ward_error_free (&err);
  }
  ro.dns = ro.dns_search = ro.dns_options = NULL;
  ro.host_resolv_conf = "/nonexistent/resolv.conf";
  ret = ward_resolvconf_generate (&ro, &out, &err);
  tap_ok (ret == 0 && out && strstr (out, "pass --dns"), "missing host resolv.conf");
  free (out), out = NULL;
  ward_error_free (&err);

  {
    ward_host_entry_t peers[] = { { "db", "172.31.0.3" } };
    const char *add[] = { "myhost:10.1.2.3", "v6host:[fd00::1]", NULL };
    ward_hosts_opts_t ho = { .hostname = "abc123", .name = "web", .ip = "172.31.0.2",
                             .peers = peers, .n_peers = 1, .add_hosts = add };
    ret = ward_hosts_generate (&ho, &out, &err);
    tap_ok (ret == 0 && out && strncmp (out, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 61) == 0
                && strstr (out, "\n172.31.0.2\tabc123 web\n") && strstr (out, "\n172.31.0.3\tdb\n")
                && strstr (out, "\n10.1.2.3\tmyhost\n") && strstr (out, "\nfd00::1\tv6host\n"),
            "hosts: localhost, own address, peers, --add-host");
    free (out), out = NULL;
    ward_error_free (&err);
    add[0] = "broken";
    ret = ward_hosts_generate (&ho, &out, &err);
    tap_ok (ret == -EINVAL && err_has (err, "--add-host"), "bad --add-host refused: %s", err ? err->msg : "");
    ward_error_free (&err);
  }
  out = ward_hostname_generate ("abc123");
  tap_ok (strcmp (out, "abc123\n") == 0, "hostname file");
  free (out);
}

/* ---- CNI -------------------------------------------------------------- */

static void test_cni (void)
{
  _cleanup_free_ char *confdir = xasprintf ("%s/cni", tmpdir);
  _cleanup_free_ char *cachedir = xasprintf ("%s/cni-cache", tmpdir);
  _cleanup_free_ char *conf = NULL;
  _cleanup_free_ char *cache = NULL;
  const char *dirs[] = { confdir, NULL };
  ward_cni_result_t *res = NULL;
  ward_error_t *err = NULL;
  test_ns_t ns = { .fd = -1 };
  struct stat st;
  int ret;

  if (access ("/usr/lib/cni/bridge", X_OK) < 0 || access ("/usr/lib/cni/host-local", X_OK) < 0
      || access ("/usr/lib/cni/tuning", X_OK) < 0)
    {
      tap_skip ("CNI plugins bridge/host-local/tuning missing from /usr/lib/cni");
      return;
    }
  if (ns_spawn (&ns) < 0)
    {
      tap_ok (0, "spawn netns for CNI");
      return;
    }
  mkdir (confdir, 0700);
  conf = xasprintf ("{\"cniVersion\":\"1.0.0\",\"name\":\"testnet\",\"plugins\":["
                    "{\"type\":\"bridge\",\"bridge\":\"cni-t0\",\"isGateway\":true,\"ipMasq\":false,"
                    "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s/cni-ipam\","
                    "\"ranges\":[[{\"subnet\":\"10.77.0.0/24\"}]],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}},"
                    "{\"type\":\"tuning\",\"sysctl\":{\"net.ipv4.conf.eth0.accept_redirects\":\"0\"}}]}",
                    tmpdir);
  {
    _cleanup_free_ char *p = xasprintf ("%s/10-testnet.conflist", confdir);
    if (ward_create_file_at (AT_FDCWD, p, conf, strlen (conf), 0644, &err) < 0)
      ward_error_free (&err);
  }
  {
    _cleanup_free_ char *found = NULL;
    tap_ok (ok_or_diag (ward_cni_find_conf (dirs, "testnet", &found, &err), &err) && found
                && strstr (found, "10-testnet.conflist"),
            "conflist found by name");
    ret = ward_cni_find_conf (dirs, "nosuch", &found, &err);
    tap_ok (ret == -ENOENT && err_has (err, "CNI network \"nosuch\": no configuration"), "unknown CNI network");
    ward_error_free (&err);
  }
  {
    ward_cni_opts_t o = { .conf_dirs = dirs, .cache_dir = cachedir, .network = "testnet",
                          .container_id = "cni1", .netns_path = ns.path };
    ret = ward_cni_add (&o, &res, &err);
    tap_ok (ok_or_diag (ret, &err) && res && res->n_ips == 1 && strcmp (res->ips[0].address, "10.77.0.2/24") == 0
                && res->ips[0].gateway && strcmp (res->ips[0].gateway, "10.77.0.1") == 0,
            "CNI ADD through bridge+tuning: %s", res && res->n_ips ? res->ips[0].address : "");
    tap_ok (res && res->n_routes == 1 && strcmp (res->routes[0].dst, "0.0.0.0/0") == 0, "CNI result routes");
    tap_ok (link_in_ns (ns.fd, "eth0") && link_in_ns (-1, "cni-t0"), "eth0 in the netns, cni-t0 bridge on the host");
    cache = xasprintf ("%s/testnet-cni1.json", cachedir);
    tap_ok (stat (cache, &st) == 0, "ADD result cached for DEL");
    {
      _cleanup_close_ int srv = socket_in (ns.fd, SOCK_DGRAM, "10.77.0.2", 6000);
      tap_ok (srv >= 0 && udp_roundtrip (srv, -1, "10.77.0.2", 6000), "traffic to the CNI-configured netns");
    }
    tap_ok (ok_or_diag (ward_cni_del (&o, &err), &err) && !link_in_ns (ns.fd, "eth0") && stat (cache, &st) < 0,
            "CNI DEL removes the interface and the cache");
    tap_ok (ok_or_diag (ward_cni_del (&o, &err), &err), "second DEL is fine (plugins are idempotent)");
    o.cni_path = "/nonexistent";
    {
      ward_cni_result_t *res2 = NULL;
      ret = ward_cni_add (&o, &res2, &err);
      ward_cni_result_free (res2);
    }
    tap_ok (ret < 0 && err_has (err, "CNI plugin \"bridge\" not found in /nonexistent"), "missing plugin: %s",
            err ? err->msg : "");
    ward_error_free (&err);
  }
  /* a failing second plugin: ADD fails and the first plugin gets its DEL */
  {
    _cleanup_free_ char *bad = xasprintf (
        "{\"cniVersion\":\"1.0.0\",\"name\":\"badnet\",\"plugins\":["
        "{\"type\":\"bridge\",\"bridge\":\"cni-t1\",\"isGateway\":true,\"ipMasq\":false,"
        "\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"%s/cni-ipam\","
        "\"ranges\":[[{\"subnet\":\"10.78.0.0/24\"}]]}},"
        "{\"type\":\"tuning\",\"sysctl\":{\"net.ipv4.conf.eth0.no_such_key\":\"1\"}}]}",
        tmpdir);
    _cleanup_free_ char *p = xasprintf ("%s/20-badnet.conflist", confdir);
    _cleanup_free_ char *alloc = xasprintf ("%s/cni-ipam/badnet/10.78.0.2", tmpdir);
    ward_cni_opts_t o = { .conf_dirs = dirs, .cache_dir = cachedir, .network = "badnet",
                          .container_id = "cni2", .netns_path = ns.path };
    ward_cni_result_t *res2 = NULL;
    if (ward_create_file_at (AT_FDCWD, p, bad, strlen (bad), 0644, &err) < 0)
      ward_error_free (&err);
    ret = ward_cni_add (&o, &res2, &err);
    tap_ok (ret < 0 && err_has (err, "CNI network \"badnet\": CNI plugin tuning ADD failed"),
            "failing plugin fails the ADD: %s", err ? err->msg : "");
    ward_error_free (&err);
    ward_cni_result_free (res2);
    tap_ok (!link_in_ns (ns.fd, "eth0") && access (alloc, F_OK) < 0,
            "the plugins already run got a DEL (interface and address released)");
  }
  ward_cni_result_free (res);
  ns_kill (&ns);
}

/* What `ward run` leans on: a second root sharing ward0, a second network
 * on a container (eth1, its own host veth, no second default route),
 * detach of one network, lazy detach, and the isolation rule. */
static void test_second_network (void)
{
  _cleanup_free_ char *root1 = xasprintf ("%s/nets", tmpdir);
  _cleanup_free_ char *root2 = xasprintf ("%s/nets-other-root", tmpdir);
  _cleanup_network_ ward_network_t *def1 = NULL;
  _cleanup_network_ ward_network_t *def2 = NULL;
  _cleanup_network_ ward_network_t *extra = NULL;
  ward_network_opts_t xo = { .name = "extra", .subnet = "10.250.0.0/24" };
  ward_attach_result_t r0 = { 0 }, r1 = { 0 };
  ward_error_t *err = NULL;
  test_ns_t c = { .fd = -1 };
  char veth0[16];

  if (ward_network_ensure_default (root1, &def1, &err) < 0 || ward_network_setup_bridge (def1, &err) < 0
      || ns_spawn (&c) < 0)
    {
      tap_ok (0, "second network setup: %s", err ? err->msg : strerror (errno));
      ward_error_free (&err);
      ns_kill (&c);
      return;
    }
  {
    bool ok = ok_or_diag (ward_network_ensure_default (root2, &def2, &err), &err);
    tap_ok (ok && def2 && strcmp (def2->subnet, def1->subnet) == 0 && strcmp (def2->bridge, "ward0") == 0,
            "a second root adopts the subnet of the existing ward0 (%s)", def2 ? def2->subnet : "");
  }
  tap_ok (ok_or_diag (ward_network_create (root1, &xo, &extra, &err), &err), "create network extra");
  if (extra == NULL)
    {
      ns_kill (&c);
      return;
    }
  {
    ward_attach_opts_t o = { .state_root = root1, .container_id = "multi", .name = "multi", .netns_fd = c.fd };
    tap_ok (ok_or_diag (ward_network_attach (def1, &o, &r0, &err), &err), "attach to the default network");
  }
  {
    ward_attach_opts_t o = { .state_root = root1, .container_id = "multi", .name = "multi", .netns_fd = c.fd,
                             .ifname = "eth1", .no_default_route = true };
    tap_ok (ok_or_diag (ward_network_attach (extra, &o, &r1, &err), &err), "attach to extra as eth1, no default route");
  }
  ward_network_veth_name ("multi", veth0);
  tap_ok (r0.host_veth && r1.host_veth && strcmp (r0.host_veth, veth0) == 0 && strcmp (r1.host_veth, veth0) != 0
              && link_in_ns (-1, r1.host_veth) && link_in_ns (c.fd, "eth1"),
          "eth1 has a host end of its own (%s, %s)", r0.host_veth ? r0.host_veth : "", r1.host_veth ? r1.host_veth : "");
  tap_ok (dump_has ("oifname \"ward*\" oifname != \"ward-extra\" ct status ! dnat drop"),
          "the forward chain isolates network extra from the other ward bridges");
  tap_ok (ok_or_diag (ward_network_detach_one (extra, "multi", &err), &err) && !link_in_ns (c.fd, "eth1")
              && link_in_ns (c.fd, "eth0") && r1.host_veth && !link_in_ns (-1, r1.host_veth),
          "detach from extra only: eth1 and its host end gone, eth0 kept");
  {
    char *ip = NULL;
    tap_ok (ward_ipam_lookup (extra, "multi", &ip, &err) == -ENOENT, "extra's address released");
    ward_error_free (&err);
    free (ip);
  }
  /* lazy: the links stay until the netns dies */
  tap_ok (ok_or_diag (ward_network_detach_ex (root1, "multi", false, &err), &err) && link_in_ns (c.fd, "eth0"),
          "detach_ex without deleting links releases the rest");
  ns_kill (&c);
  {
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++)
      {
        gone = r0.host_veth && !link_in_ns (-1, r0.host_veth);
        if (!gone)
          usleep (10000);
      }
    tap_ok (gone, "the kernel removes the host end once the netns is gone");
  }
  tap_ok (ok_or_diag (ward_network_remove (root1, "extra", &err), &err), "remove network extra");
  ward_attach_result_clear (&r0);
  ward_attach_result_clear (&r1);
}

int main (void)
{
  test_ns_t ns1 = { .fd = -1 };
  _cleanup_nl_ ward_nl_t *nl = NULL;
  ward_error_t *err = NULL;

  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP network tests need root (network namespaces, netlink, nftables)\n");
      return 77;
    }
  /* Everything below happens in a netns of our own: the host's network is
   * never touched. */
  if (unshare (CLONE_NEWNET) < 0)
    {
      printf ("1..0 # SKIP unshare(CLONE_NEWNET): %s\n", strerror (errno));
      return 77;
    }
  if (ward_nl_open (-1, &nl, &err) < 0 || ward_link_set_up (nl, "lo", true, &err) < 0)
    {
      printf ("Bail out! loopback up: %s\n", err->msg);
      return 1;
    }
  if (mkdtemp (tmpdir) == NULL || ns_spawn (&ns1) < 0)
    {
      printf ("Bail out! setup: %s\n", strerror (errno));
      return 1;
    }

  test_netlink (&ns1);
  test_ipam ();
  test_networks ();
  test_port_specs ();
  test_publish ();
  test_ipv6 ();
  test_etc_files ();
  test_cni ();
  test_second_network ();

  ns_kill (&ns1);
  {
    _cleanup_free_ char *cmd = xasprintf ("rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      tap_diag ("could not remove %s", tmpdir);
  }
  return tap_done ();
}
