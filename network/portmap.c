/* Port publishing with libnftables, in a table of ward's own:
 *
 *   table ip ward {
 *     chain prerouting  { type nat hook prerouting priority dstnat;
 *                         fib daddr type local jump published }
 *     chain output      { type nat hook output priority -100;
 *                         fib daddr type local jump published }
 *     chain published   { tcp dport 8080 dnat to 172.30.0.2:80 comment "ward:<id>" ... }
 *     chain postrouting { type nat hook postrouting priority srcnat;
 *                         per network, comment "ward-net:<name>":
 *                         ip saddr <subnet> oifname != <bridge> masquerade
 *                         oifname <bridge> ip saddr 127.0.0.0/8 masquerade
 *                         oifname <bridge> ip saddr <subnet> ct status dnat masquerade }
 *     chain forward     { type filter hook forward priority filter;
 *                         per network: iifname <bridge> oifname "ward*"
 *                         oifname != <bridge> ct status ! dnat drop }
 *   }
 *
 * prerouting catches connections from outside and from containers (hairpin:
 * a container reaching a published port through a host address); output
 * catches connections the host makes to its own addresses, 127.0.0.1
 * included.  Those leave through the bridge with a loopback source, which
 * needs route_localnet=1 on the bridge (ward_network_setup_bridge) and the
 * 127.0.0.0/8 masquerade, as docker does without its userland proxy.  The
 * hairpin masquerade makes replies come back through the host instead of
 * going straight from one container to the other.
 *
 * With IPv6 networks `table ip6 ward` mirrors it (no 127.0.0.0/8 rule:
 * IPv6 has no route_localnet, so ::1 cannot be published).
 *
 * Every change is one nft_run_cmd_from_buffer call, i.e. one transaction.
 * Rules are deleted by handle, found by their comment tag. */
#include "network/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "common/cleanup.h"
#include "common/fs.h"

/* ---- port specs ---------------------------------------------------------- */

static int parse_port_range (const char *s, size_t len, unsigned *lo, unsigned *hi)
{
  char buf[32];
  char *dash, *end;
  unsigned long a, b;

  if (len == 0 || len >= sizeof buf)
    return -EINVAL;
  memcpy (buf, s, len);
  buf[len] = '\0';
  dash = strchr (buf, '-');
  if (dash)
    *dash = '\0';
  if (buf[0] < '0' || buf[0] > '9')
    return -EINVAL;
  errno = 0;
  a = strtoul (buf, &end, 10);
  if (errno || *end || a == 0 || a > 65535)
    return -EINVAL;
  b = a;
  if (dash)
    {
      if (dash[1] < '0' || dash[1] > '9')
        return -EINVAL;
      b = strtoul (dash + 1, &end, 10);
      if (errno || *end || b == 0 || b > 65535 || b < a)
        return -EINVAL;
    }
  *lo = (unsigned) a;
  *hi = (unsigned) b;
  return 0;
}

int ward_port_parse (const char *spec, ward_port_t **ports, size_t *n, ward_error_t **err)
{
  _cleanup_free_ char *s = NULL;
  char *proto_s, *rest, *host_ip = NULL, *host_port = NULL, *container_port;
  unsigned clo, chi, hlo = 0, hhi = 0;
  int proto = IPPROTO_TCP;

  if (spec == NULL || spec[0] == '\0')
    return ward_error_set (err, EINVAL, "invalid port spec \"\": empty");
  s = xstrdup (spec);
  proto_s = strrchr (s, '/');
  if (proto_s)
    {
      *proto_s++ = '\0';
      if (strcmp (proto_s, "tcp") == 0)
        proto = IPPROTO_TCP;
      else if (strcmp (proto_s, "udp") == 0)
        proto = IPPROTO_UDP;
      else
        return ward_error_set (err, EINVAL, "invalid port spec \"%s\": invalid proto \"%s\"",
                               spec, proto_s);
    }
  rest = s;
  if (rest[0] == '[')
    {
      /* [IPv6]:HOSTPORT:CONTAINERPORT */
      char *close = strchr (rest, ']');
      if (close == NULL || close[1] != ':')
        return ward_error_set (err, EINVAL, "invalid port spec \"%s\": invalid IP address", spec);
      *close = '\0';
      host_ip = rest + 1;
      rest = close + 2;
      container_port = strrchr (rest, ':');
      if (container_port == NULL)
        return ward_error_set (err, EINVAL, "invalid port spec \"%s\": missing container port", spec);
      *container_port++ = '\0';
      host_port = rest;
    }
  else
    {
      char *c1 = strchr (rest, ':'), *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
      if (c2 && strchr (c2 + 1, ':'))
        return ward_error_set (err, EINVAL, "invalid port spec \"%s\": too many colons", spec);
      if (c2)
        {
          *c1 = *c2 = '\0';
          host_ip = rest;
          host_port = c1 + 1;
          container_port = c2 + 1;
        }
      else if (c1)
        {
          *c1 = '\0';
          host_port = rest;
          container_port = c1 + 1;
        }
      else
        container_port = rest;
    }
  if (parse_port_range (container_port, strlen (container_port), &clo, &chi) < 0)
    return ward_error_set (err, EINVAL, "invalid port spec \"%s\": invalid containerPort \"%s\"",
                           spec, container_port);
  if (host_port && host_port[0]
      && parse_port_range (host_port, strlen (host_port), &hlo, &hhi) < 0)
    return ward_error_set (err, EINVAL, "invalid port spec \"%s\": invalid hostPort \"%s\"", spec,
                           host_port);
  if (host_ip && host_ip[0])
    {
      struct in6_addr a6;
      if (inet_pton (AF_INET, host_ip, &a6) != 1 && inet_pton (AF_INET6, host_ip, &a6) != 1)
        return ward_error_set (err, EINVAL, "invalid port spec \"%s\": invalid IP address \"%s\"",
                               spec, host_ip);
    }
  if (hlo && hhi - hlo != chi - clo)
    return ward_error_set (err, EINVAL,
                           "invalid port spec \"%s\": invalid ranges specified for container and host ports: %u-%u and %u-%u",
                           spec, clo, chi, hlo, hhi);

  *ports = xrealloc (*ports, (*n + (chi - clo + 1)) * sizeof **ports);
  for (unsigned i = 0; i <= chi - clo; i++)
    {
      ward_port_t *p = &(*ports)[(*n)++];
      memset (p, 0, sizeof *p);
      if (host_ip)
        snprintf (p->host_ip, sizeof p->host_ip, "%s", host_ip);
      p->host_port = (uint16_t) (hlo ? hlo + i : 0);
      p->container_port = (uint16_t) (clo + i);
      p->proto = proto;
    }
  return 0;
}

int ward_port_parse_exposed (const char *const *exposed, size_t n_exposed, ward_port_t **ports,
                             size_t *n, ward_error_t **err)
{
  for (size_t i = 0; i < n_exposed; i++)
    {
      /* ExposedPorts keys are "80/tcp": exactly a spec without host part. */
      if (strchr (exposed[i], ':'))
        return ward_error_set (err, EINVAL, "invalid exposed port \"%s\"", exposed[i]);
      if (ward_port_parse (exposed[i], ports, n, err) < 0)
        return ward_error_wrap (err, "exposed ports");
    }
  return 0;
}

int ward_port_assign (ward_port_t *ports, size_t n, ward_error_t **err)
{
  for (size_t i = 0; i < n; i++)
    {
      struct sockaddr_in sa = { .sin_family = AF_INET };
      struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
      bool v6 = strchr (ports[i].host_ip, ':') != NULL;
      struct sockaddr *addr = v6 ? (struct sockaddr *) &sa6 : (struct sockaddr *) &sa;
      socklen_t len = v6 ? sizeof sa6 : sizeof sa;
      _cleanup_close_ int fd = -1;

      if (ports[i].host_port)
        continue;
      fd = socket (v6 ? AF_INET6 : AF_INET,
                   (ports[i].proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
      if (fd < 0)
        return ward_error_set (err, errno, "pick a free host port: socket");
      if (ports[i].host_ip[0]
          && inet_pton (v6 ? AF_INET6 : AF_INET, ports[i].host_ip,
                        v6 ? (void *) &sa6.sin6_addr : (void *) &sa.sin_addr) != 1)
        return ward_error_set (err, EINVAL, "pick a free host port: invalid address \"%s\"",
                               ports[i].host_ip);
      /* The kernel's ephemeral-port choice gives a port nobody listens on
       * now; the DNAT rule then claims it before a listener could. */
      if (bind (fd, addr, len) < 0 || getsockname (fd, addr, &len) < 0)
        return ward_error_set (err, errno, "pick a free host port for container port %u",
                               ports[i].container_port);
      ports[i].host_port = ntohs (v6 ? sa6.sin6_port : sa.sin_port);
    }
  return 0;
}

/* ---- nftables -------------------------------------------------------------- */

static void nft_ctx_freep (struct nft_ctx **c)
{
  if (*c)
    nft_ctx_free (*c);
}

/* Runs cmds as one transaction; *out (may be NULL) gets the output. */
static int nft_run (const char *cmds, bool handles, char **out, const char *what,
                    ward_error_t **err)
{
  __attribute__ ((cleanup (nft_ctx_freep))) struct nft_ctx *ctx = nft_ctx_new (NFT_CTX_DEFAULT);
  if (ctx == NULL)
    return ward_error_set (err, ENOMEM, "%s: create nftables context", what);
  /* Library code must not print: keep libnftables' output and errors. */
  nft_ctx_buffer_output (ctx);
  nft_ctx_buffer_error (ctx);
  if (handles)
    nft_ctx_output_set_flags (ctx, NFT_CTX_OUTPUT_HANDLE);
  if (nft_run_cmd_from_buffer (ctx, cmds) != 0)
    {
      const char *e = nft_ctx_get_error_buffer (ctx);
      _cleanup_free_ char *msg = xstrdup (e && *e ? e : "failed");
      size_t len = strlen (msg);
      while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0';
      /* what a kernel without nf_tables NAT says: name what is missing */
      if (strstr (cmds, "add table")
          && (strstr (msg, "not supported") || strstr (msg, "No such file or directory")))
        return ward_error_set (err, EOPNOTSUPP,
                               "%s: nftables: %s (the kernel needs nf_tables with NAT and fib: "
                               "modprobe nf_tables nft_chain_nat nft_fib_ipv4 nf_nat; or use --network none)",
                               what, msg);
      return ward_error_set (err, 0, "%s: nftables: %s", what, msg);
    }
  if (out)
    *out = xstrdup (nft_ctx_get_output_buffer (ctx));
  return 0;
}

static bool valid_tag_part (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 200)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
          || *s == '-' || *s == '_' || *s == '.'))
      return false;
  return true;
}

typedef struct
{
  const char *family;  /* "ip" or "ip6" */
  char *chain;
  char *tag;     /* comment text */
  char *text;    /* the rule as nft lists it, comment and handle cut off */
  unsigned long handle;
} nft_rule_ref_t;

static void rule_refs_free (nft_rule_ref_t *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (r[i].chain);
      free (r[i].tag);
      free (r[i].text);
    }
  free (r);
}

static const char *const families[] = { "ip", "ip6" };

/* Appends the commented rules of table <family> ward to *refs. */
static int list_family_rules (const char *family, nft_rule_ref_t **refs, size_t *n,
                              ward_error_t **err)
{
  _cleanup_free_ char *out = NULL;
  _cleanup_free_ char *chain = NULL;
  _cleanup_free_ char *cmd = xasprintf ("list table %s ward", family);
  ward_error_t *e = NULL;
  char *line, *save = NULL;
  nft_rule_ref_t *r = *refs;
  size_t count = *n;

  if (nft_run (cmd, true, &out, cmd, &e) < 0)
    {
      /* Not created yet: nothing is tagged. */
      bool missing = strstr (e->msg, "No such file") != NULL;
      if (!missing)
        {
          if (err && *err == NULL)
            *err = e;
          else
            ward_error_free (&e);
          return -EIO;
        }
      ward_error_free (&e);
      return 0;
    }
  for (line = strtok_r (out, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *p = line, *c, *h, *q;
      while (*p == ' ' || *p == '\t')
        p++;
      if (strncmp (p, "chain ", 6) == 0)
        {
          char *sp = strchr (p + 6, ' ');
          free (chain);
          chain = xstrndup (p + 6, sp ? (size_t) (sp - (p + 6)) : strlen (p + 6));
          continue;
        }
      c = strstr (p, "comment \"");
      h = strstr (p, "# handle ");
      if (c == NULL || h == NULL || chain == NULL)
        continue;
      c += 9;
      q = strchr (c, '"');
      if (q == NULL)
        continue;
      r = xrealloc (r, (count + 1) * sizeof *r);
      r[count].family = family;
      r[count].chain = xstrdup (chain);
      r[count].tag = xstrndup (c, (size_t) (q - c));
      r[count].handle = strtoul (h + 9, NULL, 10);
      r[count].text = xstrndup (p, (size_t) (c - 9 - p));
      count++;
    }
  *refs = r;
  *n = count;
  return 0;
}

/* Every commented rule of tables ip ward and ip6 ward, with chain and
 * handle.  Missing tables give no entries. */
static int list_tagged_rules (nft_rule_ref_t **refs, size_t *n, ward_error_t **err)
{
  *refs = NULL;
  *n = 0;
  for (size_t f = 0; f < ARRAY_SIZE (families); f++)
    {
      int ret = list_family_rules (families[f], refs, n, err);
      if (ret < 0)
        {
          rule_refs_free (*refs, *n);
          *refs = NULL;
          *n = 0;
          return ret;
        }
    }
  return 0;
}

/* Appends "delete rule" commands for the rules whose tag satisfies match. */
static size_t append_deletes (char **buf, const nft_rule_ref_t *refs, size_t n,
                              bool (*match) (const char *tag, const void *data), const void *data)
{
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    {
      char *next;
      if (!match (refs[i].tag, data))
        continue;
      next = xasprintf ("%sdelete rule %s ward %s handle %lu\n", *buf ? *buf : "", refs[i].family,
                        refs[i].chain, refs[i].handle);
      free (*buf);
      *buf = next;
      count++;
    }
  return count;
}

static bool tag_equals (const char *tag, const void *data)
{
  return strcmp (tag, data) == 0;
}

static int lock_nft (const char *lock_dir, int *fd, ward_error_t **err)
{
  const char *dir = lock_dir ? lock_dir : WARD_NETWORK_STATE_DIR;
  int ret = ward_mkdir_p (dir, 0700, err);
  if (ret < 0)
    return ret;
  return ward_net_lock (dir, ".nft.lock", fd, err);
}

/* The table and base chains of family ("ip" or "ip6"); re-running it
 * replaces the two jump rules and keeps every other rule. */
static char *base_chains (const char *f)
{
  return xasprintf (
      "add table %1$s ward\n"
      "add chain %1$s ward prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
      "add chain %1$s ward output { type nat hook output priority -100; policy accept; }\n"
      "add chain %1$s ward postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
      "add chain %1$s ward published\n"
      "add chain %1$s ward forward { type filter hook forward priority filter; policy accept; }\n"
      "flush chain %1$s ward prerouting\n"
      "flush chain %1$s ward output\n"
      "add rule %1$s ward prerouting fib daddr type local jump published\n"
      "add rule %1$s ward output fib daddr type local jump published\n",
      f);
}

bool ward_net_nft_table_exists (int nfproto)
{
  char buf[MNL_SOCKET_BUFFER_SIZE];
  struct mnl_socket *sock = mnl_socket_open2 (NETLINK_NETFILTER, SOCK_CLOEXEC);
  struct nlmsghdr *nlh;
  struct nfgenmsg *nfg;
  uint32_t seq = 1;
  bool found = false;
  ssize_t n;

  if (sock == NULL)
    return false;
  if (mnl_socket_bind (sock, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      mnl_socket_close (sock);
      return false;
    }
  nlh = mnl_nlmsg_put_header (buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  nfg = mnl_nlmsg_put_extra_header (nlh, sizeof *nfg);
  nfg->nfgen_family = (uint8_t) nfproto;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_strz (nlh, NFTA_TABLE_NAME, "ward");
  if (mnl_socket_sendto (sock, nlh, nlh->nlmsg_len) >= 0)
    while ((n = mnl_socket_recvfrom (sock, buf, sizeof buf)) > 0)
      {
        /* a NEWTABLE reply means it exists; the ACK or an error ends it */
        struct nlmsghdr *h = (struct nlmsghdr *) buf;
        int len = (int) n;
        bool done = false;
        for (; mnl_nlmsg_ok (h, len); h = mnl_nlmsg_next (h, &len))
          {
            if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE))
              found = true;
            if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
              done = true;
          }
        if (done)
          break;
      }
  mnl_socket_close (sock);
  return found;
}

int ward_portmap_setup (const char *lock_dir, const ward_network_t *net, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *tag = NULL;
  _cleanup_free_ char *deletes = NULL;
  _cleanup_free_ char *cmds = NULL;
  _cleanup_free_ char *base = base_chains ("ip");
  _cleanup_free_ char *base6 = NULL;
  _cleanup_free_ char *rules6 = NULL;
  nft_rule_ref_t *refs = NULL;
  size_t n_refs = 0;
  int ret;

  if (!valid_tag_part (net->name) || !valid_tag_part (net->bridge))
    return ward_error_set (err, EINVAL, "set up nftables for network \"%s\": invalid name",
                           net->name);
  ret = lock_nft (lock_dir, &lock, err);
  if (ret < 0)
    return ret;
  ret = list_tagged_rules (&refs, &n_refs, err);
  if (ret < 0)
    return ret;
  tag = xasprintf ("ward-net:%s", net->name);
  /* Re-adding replaces this network's rules in the same transaction, so a
   * changed subnet or bridge never leaves stale rules behind. */
  append_deletes (&deletes, refs, n_refs, tag_equals, tag);
  rule_refs_free (refs, n_refs);
  if (net->subnet6)
    {
      /* IPv6 has no route_localnet: ::1 cannot be DNATed out of the host,
       * so only the subnet and hairpin rules exist there. */
      base6 = base_chains ("ip6");
      rules6 = xasprintf ("add rule ip6 ward postrouting ip6 saddr %s oifname != \"%s\" masquerade comment \"%s\"\n"
                          "add rule ip6 ward postrouting oifname \"%s\" ip6 saddr %s ct status dnat masquerade comment \"%s\"\n",
                          net->subnet6, net->bridge, tag, net->bridge, net->subnet6, tag);
    }
  cmds = xasprintf ("%s%s%s"
                    "add rule ip ward postrouting ip saddr %s oifname != \"%s\" masquerade comment \"%s\"\n"
                    "add rule ip ward postrouting oifname \"%s\" ip saddr 127.0.0.0/8 masquerade comment \"%s\"\n"
                    "add rule ip ward postrouting oifname \"%s\" ip saddr %s ct status dnat masquerade comment \"%s\"\n"
                    /* networks are isolated from each other (ward bridges are
                     * "ward*"), but a published port is reachable from all */
                    "add rule ip ward forward iifname \"%s\" oifname \"ward*\" oifname != \"%s\" ct status ! dnat drop comment \"%s\"\n"
                    "%s",
                    base, base6 ? base6 : "", deletes ? deletes : "", net->subnet, net->bridge, tag,
                    net->bridge, tag, net->bridge, net->subnet, tag, net->bridge, net->bridge, tag,
                    rules6 ? rules6 : "");
  return nft_run (cmds, false, NULL, "set up nftables table ip ward", err);
}

/* Appends one DNAT rule to *cmds. */
static void add_dnat (char **cmds, const char *family, const char *host_ip, const char *proto,
                      unsigned host_port, const char *container_ip, unsigned container_port,
                      const char *id)
{
  bool v6 = strcmp (family, "ip6") == 0;
  _cleanup_free_ char *match = host_ip ? xasprintf ("%s daddr %s ", family, host_ip) : NULL;
  char *next = xasprintf ("%sadd rule %s ward published %s%s dport %u dnat to %s%s%s:%u comment \"ward:%s\"\n",
                          *cmds, family, match ? match : "", proto, host_port, v6 ? "[" : "",
                          container_ip, v6 ? "]" : "", container_port, id);
  free (*cmds);
  *cmds = next;
}

/* Host port already published by another container (same family, same
 * protocol, overlapping host address)?  Fills err. */
static int check_conflicts (const char *container_id, const ward_port_t *ports, size_t n,
                            ward_error_t **err)
{
  nft_rule_ref_t *refs = NULL;
  size_t n_refs = 0;
  int ret = list_tagged_rules (&refs, &n_refs, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      const char *proto = ports[i].proto == IPPROTO_UDP ? "udp" : "tcp";
      const char *want_family = strchr (ports[i].host_ip, ':') ? "ip6" : "ip";
      bool any_addr = ports[i].host_ip[0] == '\0' || strcmp (ports[i].host_ip, "0.0.0.0") == 0
                      || strcmp (ports[i].host_ip, "::") == 0;
      _cleanup_free_ char *needle = xasprintf ("%s dport ", proto);
      for (size_t j = 0; j < n_refs && ret == 0; j++)
        {
          _cleanup_free_ char *daddr_key = xasprintf ("%s daddr ", refs[j].family);
          const char *dport, *daddr;
          char ipbuf[INET6_ADDRSTRLEN] = "";
          if (strcmp (refs[j].chain, "published") != 0 || strncmp (refs[j].tag, "ward:", 5) != 0
              || strcmp (refs[j].tag + 5, container_id) == 0
              || (ports[i].host_ip[0] && !any_addr && strcmp (refs[j].family, want_family) != 0)
              || (dport = strstr (refs[j].text, needle)) == NULL
              || strtoul (dport + strlen (needle), NULL, 10) != ports[i].host_port)
            continue;
          daddr = strstr (refs[j].text, daddr_key);
          if (daddr)
            sscanf (daddr + strlen (daddr_key), "%45[0-9a-fA-F.:]", ipbuf);
          /* Different specific host addresses may share a port. */
          if (daddr && !any_addr && strcmp (ipbuf, ports[i].host_ip) != 0)
            continue;
          ret = ward_error_set (err, EADDRINUSE,
                                "publish port %s%s%u/%s of container %s: already published by container %s",
                                ports[i].host_ip, ports[i].host_ip[0] ? ":" : "", ports[i].host_port,
                                proto, container_id, refs[j].tag + 5);
        }
    }
  rule_refs_free (refs, n_refs);
  return ret;
}

int ward_portmap_add_dual (const char *lock_dir, const char *container_id,
                           const char *container_ip, const char *container_ip6,
                           const ward_port_t *ports, size_t n, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *cmds = NULL;
  _cleanup_free_ char *what = NULL;
  struct in6_addr a6;
  struct in_addr a;
  bool need4 = false, need6 = false;
  int ret;

  if (!valid_tag_part (container_id))
    return ward_error_set (err, EINVAL, "publish ports: invalid container id \"%s\"",
                           container_id ? container_id : "");
  if (container_ip == NULL || inet_pton (AF_INET, container_ip, &a) != 1)
    return ward_error_set (err, EINVAL, "publish ports of %s: invalid container address \"%s\"",
                           container_id, container_ip ? container_ip : "");
  if (container_ip6 && inet_pton (AF_INET6, container_ip6, &a6) != 1)
    return ward_error_set (err, EINVAL, "publish ports of %s: invalid container address \"%s\"",
                           container_id, container_ip6);
  if (n == 0)
    return 0;
  cmds = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      const char *proto = ports[i].proto == IPPROTO_UDP ? "udp" : "tcp";
      const char *hip = ports[i].host_ip;
      if (ports[i].host_port == 0 || ports[i].container_port == 0)
        return ward_error_set (err, EINVAL, "publish ports of %s: port %u has no host port",
                               container_id, ports[i].container_port);
      if (hip[0] == '\0')
        {
          /* No host address: every IPv4 address, and every IPv6 one when
           * the container has IPv6. */
          add_dnat (&cmds, "ip", NULL, proto, ports[i].host_port, container_ip,
                    ports[i].container_port, container_id);
          need4 = true;
          if (container_ip6)
            {
              add_dnat (&cmds, "ip6", NULL, proto, ports[i].host_port, container_ip6,
                        ports[i].container_port, container_id);
              need6 = true;
            }
        }
      else if (inet_pton (AF_INET, hip, &a) == 1)
        {
          /* 0.0.0.0 means every IPv4 address, as in docker. */
          add_dnat (&cmds, "ip", a.s_addr ? hip : NULL, proto, ports[i].host_port, container_ip,
                    ports[i].container_port, container_id);
          need4 = true;
        }
      else if (inet_pton (AF_INET6, hip, &a6) == 1)
        {
          if (container_ip6 == NULL)
            return ward_error_set (err, EAFNOSUPPORT, "publish port [%s]:%u of %s: the container has no IPv6 address",
                                   hip, ports[i].host_port, container_id);
          /* Unlike IPv4 (route_localnet), the kernel never routes a ::1
           * source out of the host, so DNAT from ::1 cannot work. */
          if (IN6_IS_ADDR_LOOPBACK (&a6))
            return ward_error_set (err, EADDRNOTAVAIL, "publish port [%s]:%u of %s: IPv6 loopback cannot be forwarded to a container",
                                   hip, ports[i].host_port, container_id);
          add_dnat (&cmds, "ip6", IN6_IS_ADDR_UNSPECIFIED (&a6) ? NULL : hip, proto,
                    ports[i].host_port, container_ip6, ports[i].container_port, container_id);
          need6 = true;
        }
      else
        return ward_error_set (err, EINVAL, "publish ports of %s: invalid host address \"%s\"",
                               container_id, hip);
    }
  {
    _cleanup_free_ char *b4 = need4 ? base_chains ("ip") : NULL;
    _cleanup_free_ char *b6 = need6 ? base_chains ("ip6") : NULL;
    char *all = xasprintf ("%s%s%s", b4 ? b4 : "", b6 ? b6 : "", cmds);
    free (cmds);
    cmds = all;
  }
  ret = lock_nft (lock_dir, &lock, err);
  if (ret < 0)
    return ret;
  /* Two DNAT rules for one host port: the first silently wins.  Refuse
   * like docker ("port is already allocated"). */
  ret = check_conflicts (container_id, ports, n, err);
  if (ret < 0)
    return ret;
  what = xasprintf ("publish ports of container %s", container_id);
  return nft_run (cmds, false, NULL, what, err);
}

int ward_portmap_add (const char *lock_dir, const char *container_id, const char *container_ip,
                      const ward_port_t *ports, size_t n, ward_error_t **err)
{
  return ward_portmap_add_dual (lock_dir, container_id, container_ip, NULL, ports, n, err);
}

static int remove_tag (const char *lock_dir, const char *tag, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *cmds = NULL;
  _cleanup_free_ char *what = NULL;
  nft_rule_ref_t *refs = NULL;
  size_t n_refs = 0, n_del;
  int ret;

  ret = lock_nft (lock_dir, &lock, err);
  if (ret < 0)
    return ret;
  ret = list_tagged_rules (&refs, &n_refs, err);
  if (ret < 0)
    return ret;
  n_del = append_deletes (&cmds, refs, n_refs, tag_equals, tag);
  rule_refs_free (refs, n_refs);
  if (n_del == 0)
    return 0;
  what = xasprintf ("remove nftables rules \"%s\"", tag);
  return nft_run (cmds, false, NULL, what, err);
}

int ward_portmap_remove (const char *lock_dir, const char *container_id, ward_error_t **err)
{
  _cleanup_free_ char *tag = NULL;
  if (!valid_tag_part (container_id))
    return ward_error_set (err, EINVAL, "unpublish ports: invalid container id \"%s\"",
                           container_id ? container_id : "");
  tag = xasprintf ("ward:%s", container_id);
  return remove_tag (lock_dir, tag, err);
}

int ward_portmap_remove_network (const char *lock_dir, const char *name, ward_error_t **err)
{
  _cleanup_free_ char *tag = NULL;
  if (!valid_tag_part (name))
    return ward_error_set (err, EINVAL, "remove nftables rules of network \"%s\": invalid name",
                           name ? name : "");
  tag = xasprintf ("ward-net:%s", name);
  return remove_tag (lock_dir, tag, err);
}

struct live_set
{
  const char *const *ids;
  size_t n;
};

static bool tag_is_dead_container (const char *tag, const void *data)
{
  const struct live_set *live = data;
  if (strncmp (tag, "ward:", 5) != 0)
    return false;
  for (size_t i = 0; i < live->n; i++)
    if (strcmp (tag + 5, live->ids[i]) == 0)
      return false;
  return true;
}

int ward_portmap_reconcile (const char *lock_dir, const char *const *live_ids, size_t n_live,
                            size_t *removed, ward_error_t **err)
{
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *cmds = NULL;
  struct live_set live = { live_ids, n_live };
  nft_rule_ref_t *refs = NULL;
  size_t n_refs = 0, n_del;
  int ret;

  if (removed)
    *removed = 0;
  ret = lock_nft (lock_dir, &lock, err);
  if (ret < 0)
    return ret;
  ret = list_tagged_rules (&refs, &n_refs, err);
  if (ret < 0)
    return ret;
  n_del = append_deletes (&cmds, refs, n_refs, tag_is_dead_container, &live);
  rule_refs_free (refs, n_refs);
  if (removed)
    *removed = n_del;
  if (n_del == 0)
    return 0;
  return nft_run (cmds, false, NULL, "remove rules of dead containers", err);
}

int ward_portmap_dump (char **out, ward_error_t **err)
{
  _cleanup_free_ char *v4 = NULL;
  char *v6 = NULL;
  ward_error_t *e = NULL;
  int ret = nft_run ("list table ip ward", false, &v4, "list table ip ward", err);
  if (ret < 0)
    return ret;
  /* The ip6 table exists only once an IPv6 network or port was set up. */
  if (nft_run ("list table ip6 ward", false, &v6, "list table ip6 ward", &e) < 0)
    ward_error_free (&e);
  *out = xasprintf ("%s%s", v4, v6 ? v6 : "");
  free (v6);
  return 0;
}

int ward_portmap_teardown (ward_error_t **err)
{
  for (size_t f = 0; f < ARRAY_SIZE (families); f++)
    {
      _cleanup_free_ char *cmd = xasprintf ("delete table %s ward", families[f]);
      ward_error_t *e = NULL;
      /* "destroy" (no error when missing) needs nftables 1.0.7; Debian 12
       * has 1.0.6, so a missing table is recognised from the error. */
      if (nft_run (cmd, false, NULL, cmd, &e) < 0)
        {
          if (strstr (e->msg, "No such file") == NULL)
            {
              if (err && *err == NULL)
                *err = e;
              else
                ward_error_free (&e);
              return -EIO;
            }
          ward_error_free (&e);
        }
    }
  return 0;
}
