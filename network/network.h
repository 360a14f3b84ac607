/* Container networking.  Two halves:
 *
 *  - libward.a (netlink.c, link.c, addr.c): rtnetlink over libmnl for links,
 *    veth pairs, bridges, TAP devices, addresses and routes, in the current
 *    network namespace or in one given by fd.  ward-vm needs TAP devices, so
 *    this half has no dependency beyond libmnl.
 *  - libward-net.a (ipam.c, netdef.c, portmap.c, dnsfiles.c, cni.c,
 *    attach.c): file-backed IPAM, network definitions, nftables port
 *    publishing, resolv.conf/hosts generation, CNI plugin calls and the
 *    attach/detach/reconcile entry points the `ward` front end uses.
 *
 * Nothing here shells out to ip(8) or nft(8). */
#ifndef WARD_NETWORK_H
#define WARD_NETWORK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* ======================= rtnetlink (libward.a) ========================= */

/* A NETLINK_ROUTE socket bound to one network namespace. */
typedef struct ward_nl ward_nl_t;

/* Opens a rtnetlink socket in the netns referred to by netns_fd, or in the
 * caller's netns when netns_fd < 0.  The socket keeps its namespace for its
 * whole life, so later requests on it need no setns. */
int ward_nl_open (int netns_fd, ward_nl_t **out, ward_error_t **err);
void ward_nl_close (ward_nl_t *nl);
#define _cleanup_nl_ __attribute__ ((cleanup (ward_nl_closep)))
static inline void ward_nl_closep (ward_nl_t **nl)
{
  if (*nl)
    ward_nl_close (*nl);
}

/* Runs fn(data, err) on a short-lived thread that has joined the netns
 * netns_fd (setns CLONE_NEWNET), and returns its result.  Sockets, TAP fds
 * and /proc/sys/net files opened by fn belong to that netns. */
int ward_netns_run (int netns_fd, int (*fn) (void *data, ward_error_t **err), void *data,
                    ward_error_t **err);

/* Writes value to /proc/sys/<key> (key with slashes, e.g.
 * "net/ipv4/ip_forward") as seen from netns_fd (< 0: the caller's). */
int ward_netns_sysctl_write (int netns_fd, const char *key, const char *value,
                             ward_error_t **err);

/* Interface index of name; -ENODEV (with the error filled) when missing. */
int ward_link_index (ward_nl_t *nl, const char *name, int *ifindex, ward_error_t **err);
/* true when a link called name exists. */
bool ward_link_exists (ward_nl_t *nl, const char *name);

/* Creates a bridge.  exist_ok: an existing link of that name is fine. */
int ward_link_bridge_create (ward_nl_t *nl, const char *name, unsigned mtu, bool exist_ok,
                             ward_error_t **err);

/* Creates a veth pair: host_name in nl's netns, the peer in the netns
 * peer_netns_fd (< 0: same netns) called peer_name there (e.g. "eth0").
 * mtu 0 keeps the kernel default. */
int ward_link_veth_create (ward_nl_t *nl, const char *host_name, const char *peer_name,
                           int peer_netns_fd, unsigned mtu, ward_error_t **err);

/* Deletes a link (for a veth, both ends go).  missing_ok: ENODEV is 0. */
int ward_link_delete (ward_nl_t *nl, const char *name, bool missing_ok, ward_error_t **err);

int ward_link_set_up (ward_nl_t *nl, const char *name, bool up, ward_error_t **err);
int ward_link_set_mtu (ward_nl_t *nl, const char *name, unsigned mtu, ward_error_t **err);
int ward_link_set_mac (ward_nl_t *nl, const char *name, const uint8_t mac[6], ward_error_t **err);
int ward_link_rename (ward_nl_t *nl, const char *name, const char *new_name, ward_error_t **err);
/* Moves the link into the netns netns_fd (IFLA_NET_NS_FD), renaming it to
 * new_name there when new_name is not NULL. */
int ward_link_set_netns (ward_nl_t *nl, const char *name, int netns_fd, const char *new_name,
                         ward_error_t **err);
/* Enslaves name to the bridge master (IFLA_MASTER); master NULL detaches. */
int ward_link_set_master (ward_nl_t *nl, const char *name, const char *master,
                          ward_error_t **err);
/* Bridge port hairpin mode (a container reaching itself through the host). */
int ward_link_set_hairpin (ward_nl_t *nl, const char *name, bool on, ward_error_t **err);
/* MTU and MAC of a link (either pointer may be NULL). */
int ward_link_get (ward_nl_t *nl, const char *name, unsigned *mtu, uint8_t mac[6],
                   ward_error_t **err);

/* TAP device flags for ward_tap_create. */
#define WARD_TAP_PERSIST 1u   /* keep the device after the fd is closed */
#define WARD_TAP_VNET_HDR 2u  /* IFF_VNET_HDR (virtio-net header) */
#define WARD_TAP_MULTI_QUEUE 4u

/* Creates a TAP device (IFF_TAP|IFF_NO_PI, plus the flags above) named name
 * inside netns_fd (< 0: the caller's netns).  *fd receives the queue fd
 * (O_CLOEXEC) unless fd is NULL, in which case the device must persist. */
int ward_tap_create (int netns_fd, const char *name, unsigned flags, int *fd,
                     ward_error_t **err);

/* Parses "a.b.c.d/len" or "x::y/len"; family gets AF_INET or AF_INET6, addr
 * 4 or 16 bytes.  A missing "/len" means a host prefix. */
int ward_cidr_parse (const char *cidr, int *family, uint8_t addr[16], unsigned *prefixlen);

/* Adds an address ("172.30.0.2/16" or "fd00::2/64") to a link. */
int ward_addr_add (ward_nl_t *nl, const char *ifname, const char *cidr, ward_error_t **err);
/* Adds a route.  dst NULL or "default" is the default route; gateway and
 * ifname may each be NULL (not both). */
int ward_route_add (ward_nl_t *nl, const char *dst, const char *gateway, const char *ifname,
                    ward_error_t **err);

typedef struct
{
  int family;
  uint8_t dst[16];
  unsigned dst_len;   /* 0: default route */
  int oif;
  uint8_t table;
} ward_route_t;

/* Dumps the routes of family (AF_INET / AF_INET6) from every table. */
int ward_route_list (ward_nl_t *nl, int family, ward_route_t **routes, size_t *n,
                     ward_error_t **err);

/* ===================== network management (libward-net.a) ============= */

#define WARD_NETWORK_STATE_DIR "/var/lib/ward/networks"
#define WARD_NETWORK_DEFAULT_NAME "ward"
#define WARD_NETWORK_DEFAULT_BRIDGE "ward0"

typedef struct
{
  char *name;
  char *driver;   /* "bridge" */
  char *bridge;   /* e.g. "ward0" */
  char *subnet;   /* "172.30.0.0/16" */
  char *gateway;  /* "172.30.0.1" */
  char *dir;      /* state dir of this network: <state_root>/<name> */
  char *subnet6;  /* optional IPv6 subnet "fd00:30::/64", NULL when IPv4-only */
  char *gateway6; /* its gateway on the bridge, NULL when IPv4-only */
} ward_network_t;

void ward_network_free (ward_network_t *net);
#define _cleanup_network_ __attribute__ ((cleanup (ward_network_freep)))
static inline void ward_network_freep (ward_network_t **n)
{
  if (*n)
    ward_network_free (*n);
}

/* Definition of a new network; NULL fields get defaults: bridge "ward-" +
 * name (at most 15 bytes), subnet chosen from the candidates below, the
 * gateway the first host address of the subnet. */
typedef struct
{
  const char *name;
  const char *bridge;
  const char *subnet;
  const char *gateway;
  const char *subnet6;   /* NULL: IPv4 only (no IPv6 NAT or port publishing) */
  const char *gateway6;  /* NULL: the first address after subnet6's */
} ward_network_opts_t;

/* Candidate subnets, tried in order when no subnet is given: the first one
 * that overlaps neither a host route nor another ward network wins. */
extern const char *const ward_network_subnet_candidates[];

/* Pure: the first candidate (NULL-terminated list; NULL = the list above)
 * that overlaps none of routes and none of taken (CIDR strings). */
int ward_network_choose_subnet (const ward_route_t *routes, size_t n_routes,
                                const char *const *taken, size_t n_taken,
                                const char *const *candidates, char **out,
                                ward_error_t **err);

/* state_root NULL means WARD_NETWORK_STATE_DIR.  Definitions are stored in
 * <state_root>/<name>/network.json. */
int ward_network_create (const char *state_root, const ward_network_opts_t *opts,
                         ward_network_t **out, ward_error_t **err);
int ward_network_inspect (const char *state_root, const char *name, ward_network_t **out,
                          ward_error_t **err);
/* All networks, sorted by name; free with ward_network_list_free. */
int ward_network_list (const char *state_root, ward_network_t ***out, size_t *n,
                       ward_error_t **err);
void ward_network_list_free (ward_network_t **nets, size_t n);
/* Removes the definition; -EBUSY while containers are attached. */
int ward_network_remove (const char *state_root, const char *name, ward_error_t **err);
/* The network as JSON ({"Name","Driver","Bridge","Subnet","Gateway"}). */
char *ward_network_to_json (const ward_network_t *net);

/* Inspects the default network "ward", creating it (bridge "ward0", a
 * subnet that does not overlap the host's routes) the first time.  Enables
 * net.ipv4.ip_forward in the caller's netns, which routing containers out
 * needs: docker and podman do the same. */
int ward_network_ensure_default (const char *state_root, ward_network_t **out,
                                 ward_error_t **err);

/* Creates the network's bridge in the caller's netns if missing, gives it
 * the gateway address, sets it up, route_localnet=1 on it and installs the
 * nftables table.  Idempotent. */
int ward_network_setup_bridge (const ward_network_t *net, ward_error_t **err);

/* ---- IPAM (ipam.c) ---------------------------------------------------- */

/* Allocations live in <net->dir>/ipam.json, rewritten atomically (temp file,
 * fsync, rename) under an exclusive flock on <net->dir>/ipam.lock.  Each
 * entry records the container id, so ward_ipam_reconcile can free what a
 * crashed run left behind.  requested_ip NULL: the next free address after
 * the last one handed out; otherwise exactly that one (-EADDRINUSE if taken
 * by another id, -EINVAL outside the subnet or a reserved address).
 * An id that already holds an address gets the same one back. */
int ward_ipam_allocate (const ward_network_t *net, const char *container_id,
                        const char *requested_ip, char **ip_out, ward_error_t **err);
/* The same from net->subnet6 (-EINVAL when the network has none); the
 * subnet address and gateway6 are reserved.  An id holds at most one
 * address of each family. */
int ward_ipam_allocate6 (const ward_network_t *net, const char *container_id,
                         const char *requested_ip, char **ip_out, ward_error_t **err);
/* Frees the addresses (both families) of container_id (0 when it held none). */
int ward_ipam_release (const ward_network_t *net, const char *container_id, ward_error_t **err);
/* The IPv4 (lookup) or IPv6 (lookup6) address held by container_id, or
 * -ENOENT. */
int ward_ipam_lookup (const ward_network_t *net, const char *container_id, char **ip_out,
                      ward_error_t **err);
int ward_ipam_lookup6 (const ward_network_t *net, const char *container_id, char **ip_out,
                       ward_error_t **err);

typedef struct
{
  char *ip;
  char *id;
} ward_ipam_entry_t;
int ward_ipam_list (const ward_network_t *net, ward_ipam_entry_t **entries, size_t *n,
                    ward_error_t **err);
void ward_ipam_entries_free (ward_ipam_entry_t *entries, size_t n);
/* Frees every allocation whose id is not in live_ids; *freed (may be NULL)
 * gets how many. */
int ward_ipam_reconcile (const ward_network_t *net, const char *const *live_ids, size_t n_live,
                         size_t *freed, ward_error_t **err);

/* ---- port publishing (portmap.c) ---------------------------------------- */

typedef struct
{
  char host_ip[INET6_ADDRSTRLEN]; /* "" = every host address */
  uint16_t host_port;             /* 0 = pick a free one (ward_port_assign) */
  uint16_t container_port;
  int proto;                      /* IPPROTO_TCP or IPPROTO_UDP */
} ward_port_t;

/* Parses one docker -p spec: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]
 * with HOSTPORT and CONTAINERPORT possibly ranges ("8000-8010:80-90", equal
 * lengths).  Appends the expanded mappings to *ports / *n (realloc'd). */
int ward_port_parse (const char *spec, ward_port_t **ports, size_t *n, ward_error_t **err);
/* -P: one mapping with a random host port for each ExposedPorts key
 * ("80/tcp", "53/udp", "8080"). */
int ward_port_parse_exposed (const char *const *exposed, size_t n_exposed, ward_port_t **ports,
                             size_t *n, ward_error_t **err);
/* Gives each mapping with host_port 0 a free port: a socket of the right
 * type bound to port 0 on its host address, as docker does. */
int ward_port_assign (ward_port_t *ports, size_t n, ward_error_t **err);

/* The nftables side, all in `table ip ward` (and `table ip6 ward` for
 * IPv6 networks) of the caller's netns.
 * lock_dir: a directory for the lock file serialising ward's nft updates
 * (NULL = WARD_NETWORK_STATE_DIR). */
/* Creates the table, its chains and the per-network rules (masquerade of
 * the subnet leaving through other interfaces, hairpin, 127.0.0.0/8 sources
 * going to the bridge) in one transaction.  Idempotent. */
int ward_portmap_setup (const char *lock_dir, const ward_network_t *net, ward_error_t **err);
/* Adds the DNAT rules for one container in one transaction; every rule
 * carries the comment "ward:<container_id>". */
int ward_portmap_add (const char *lock_dir, const char *container_id, const char *container_ip,
                      const ward_port_t *ports, size_t n, ward_error_t **err);
/* The same for a dual-stack container: ports without a host address are
 * published on IPv4 and (when container_ip6 is not NULL) IPv6; an IPv6
 * host address needs container_ip6.  A host port already published by
 * another container fails with -EADDRINUSE. */
int ward_portmap_add_dual (const char *lock_dir, const char *container_id,
                           const char *container_ip, const char *container_ip6,
                           const ward_port_t *ports, size_t n, ward_error_t **err);
/* Deletes exactly the rules tagged with container_id, in one transaction. */
int ward_portmap_remove (const char *lock_dir, const char *container_id, ward_error_t **err);
/* Deletes the rules of every container id not in live_ids. */
int ward_portmap_reconcile (const char *lock_dir, const char *const *live_ids, size_t n_live,
                            size_t *removed, ward_error_t **err);
/* Deletes the per-network rules of network name (on network removal). */
int ward_portmap_remove_network (const char *lock_dir, const char *name, ward_error_t **err);
/* `list table ip ward` (and ip6) output (for inspection and tests). */
int ward_portmap_dump (char **out, ward_error_t **err);
/* Removes the whole tables (ip and ip6). */
int ward_portmap_teardown (ward_error_t **err);

/* ---- /etc files (dnsfiles.c) ------------------------------------------ */

typedef struct
{
  const char *host_resolv_conf;   /* NULL = /etc/resolv.conf */
  const char *const *dns;         /* --dns, NULL-terminated or NULL */
  const char *const *dns_search;  /* --dns-search */
  const char *const *dns_options; /* --dns-option */
  /* where a host with only loopback resolvers keeps the real ones; NULL =
   * /run/systemd/resolve/resolv.conf when host_resolv_conf is NULL too */
  const char *upstream_resolv_conf;
} ward_resolv_opts_t;

/* resolv.conf contents: --dns servers, else the host's non-loopback
 * nameservers (a loopback resolver such as systemd-resolved's 127.0.0.53
 * cannot be reached from the container's netns), else the upstream ones of
 * systemd-resolved; when none is left, a comment says so and docker's
 * public defaults stand in.  search/options from the host unless
 * overridden. */
int ward_resolvconf_generate (const ward_resolv_opts_t *opts, char **out, ward_error_t **err);

typedef struct
{
  const char *name;
  const char *ip;
} ward_host_entry_t;

typedef struct
{
  const char *hostname;          /* container's hostname */
  const char *name;              /* container name (alias), may be NULL */
  const char *ip;                /* container's own address, may be NULL */
  const ward_host_entry_t *peers; /* other containers on the network */
  size_t n_peers;
  const char *const *add_hosts;  /* --add-host "name:ip", NULL-terminated or NULL */
} ward_hosts_opts_t;

int ward_hosts_generate (const ward_hosts_opts_t *opts, char **out, ward_error_t **err);
/* "<hostname>\n" */
char *ward_hostname_generate (const char *hostname);

/* ---- attach / detach (attach.c) -------------------------------------- */

typedef struct
{
  const char *state_root;   /* NULL = WARD_NETWORK_STATE_DIR */
  const char *container_id;
  const char *name;         /* container name for /etc/hosts of peers, may be NULL */
  int netns_fd;             /* the container's netns */
  const char *ifname;       /* NULL = "eth0" */
  const char *ip;           /* --ip, may be NULL */
  const uint8_t *mac;       /* --mac-address (6 bytes), may be NULL */
  unsigned mtu;             /* 0 = bridge default */
  const char *ip6;          /* --ip6 on a network with subnet6, may be NULL */
  const ward_port_t *ports;
  size_t n_ports;
  bool no_default_route;    /* a further network: only its subnet route */
} ward_attach_opts_t;

typedef struct
{
  char *ip;         /* "172.30.0.2" */
  unsigned prefixlen;
  char *gateway;
  char *host_veth;  /* host end, e.g. "wv3f2a9c01b7" */
  char *ip6;        /* NULL unless the network has subnet6 */
  unsigned prefixlen6;
  char *gateway6;
} ward_attach_result_t;

void ward_attach_result_clear (ward_attach_result_t *r);

/* The host end's name for a container: "wv" + 10 hex of sha256(id). */
void ward_network_veth_name (const char *container_id, char name[16]);

/* Connects the container netns to net: bridge set up, an address from the
 * IPAM, a veth pair (host end on the bridge), lo/eth0 up, address and
 * default route inside, DNAT rules for ports.  Recorded in
 * <net->dir>/containers/<id>.json.  On failure everything done is undone. */
int ward_network_attach (const ward_network_t *net, const ward_attach_opts_t *opts,
                         ward_attach_result_t *res, ward_error_t **err);

/* Removes the veth (deleting the host end removes both ends), the nft
 * rules and the IPAM entry of container_id on every network.  Missing
 * pieces are fine (idempotent). */
int ward_network_detach (const char *state_root, const char *container_id, ward_error_t **err);

/* delete_links false: the veths are left to the kernel, which deletes
 * them with the container's netns once its last reference is gone (the
 * caller has dropped it).  Deleting a veth waits for an RCU grace period
 * (about 15 ms); netns cleanup does that in the background, batched. */
int ward_network_detach_ex (const char *state_root, const char *container_id, bool delete_links,
                            ward_error_t **err);
/* The same for one network only (`ward network disconnect`). */
int ward_network_detach_one (const ward_network_t *net, const char *container_id,
                             ward_error_t **err);

/* ward_network_detach for every container recorded on any network, or
 * holding an address or nft rules, whose id is not in live_ids. */
int ward_network_reconcile (const char *state_root, const char *const *live_ids, size_t n_live,
                            ward_error_t **err);

/* What ward_network_attach recorded for a container, per network (for
 * `ward inspect` NetworkSettings and `ward port`). */
typedef struct
{
  char *network;
  char *name;       /* container name, may be NULL */
  char *ip;
  unsigned prefixlen;
  char *gateway;
  char *host_veth;
  char *ip6;        /* may be NULL */
  ward_port_t *ports;
  size_t n_ports;
} ward_attachment_t;

/* Every attachment of container_id (*n may be 0). */
int ward_network_attachments (const char *state_root, const char *container_id,
                              ward_attachment_t **out, size_t *n, ward_error_t **err);
void ward_attachments_free (ward_attachment_t *a, size_t n);

/* Peers for /etc/hosts: name -> ip of the containers attached to net
 * (excluding exclude_id).  Free with ward_network_peers_free. */
int ward_network_peers (const ward_network_t *net, const char *exclude_id,
                        ward_host_entry_t **peers, size_t *n, ward_error_t **err);
void ward_network_peers_free (ward_host_entry_t *peers, size_t n);

/* ---- CNI (cni.c) -------------------------------------------------------- */

typedef struct
{
  const char *const *conf_dirs; /* NULL = {"/etc/cni/net.d"} (NULL-terminated) */
  const char *cni_path;         /* plugin dirs, ':'-separated; NULL = "/usr/lib/cni" */
  const char *cache_dir;        /* results of ADD for DEL; NULL = /var/lib/ward/cni */
  const char *network;          /* NAME of --network cni:NAME */
  const char *container_id;
  const char *netns_path;       /* CNI_NETNS */
  const char *ifname;           /* NULL = "eth0" */
} ward_cni_opts_t;

typedef struct
{
  char *address;  /* CIDR "10.22.0.2/24" */
  char *gateway;  /* may be NULL */
} ward_cni_ip_t;

typedef struct
{
  char *dst;
  char *gw;       /* may be NULL */
} ward_cni_route_t;

typedef struct
{
  char *cni_version;
  ward_cni_ip_t *ips;
  size_t n_ips;
  ward_cni_route_t *routes;
  size_t n_routes;
  char **dns_nameservers;  /* NULL-terminated, may be NULL */
  char *json;              /* the final result as the last plugin printed it */
} ward_cni_result_t;

void ward_cni_result_free (ward_cni_result_t *r);

/* Runs every plugin of the conflist with CNI_COMMAND=ADD, chaining
 * prevResult, caches the final result and parses it.  A failing plugin
 * makes the plugins already run get a DEL (in reverse order). */
int ward_cni_add (const ward_cni_opts_t *opts, ward_cni_result_t **res, ward_error_t **err);
/* CNI_COMMAND=DEL for every plugin in reverse order, with the cached result
 * as prevResult; then drops the cache.  Plugin errors on DEL are reported
 * after every plugin ran. */
int ward_cni_del (const ward_cni_opts_t *opts, ward_error_t **err);
/* Finds NAME's conflist (a .conflist whose "name" is NAME, or a single
 * plugin .conf wrapped as a list) and returns its path. */
int ward_cni_find_conf (const char *const *conf_dirs, const char *name, char **path,
                        ward_error_t **err);

#endif
