/* Addresses and routes over rtnetlink. */
#include "network/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"

int ward_cidr_parse (const char *cidr, int *family, uint8_t addr[16], unsigned *prefixlen)
{
  char host[INET6_ADDRSTRLEN];
  const char *slash;
  size_t len;
  int fam;

  if (cidr == NULL)
    return -EINVAL;
  slash = strchr (cidr, '/');
  len = slash ? (size_t) (slash - cidr) : strlen (cidr);
  if (len == 0 || len >= sizeof host)
    return -EINVAL;
  memcpy (host, cidr, len);
  host[len] = '\0';
  memset (addr, 0, 16);
  if (inet_pton (AF_INET, host, addr) == 1)
    fam = AF_INET;
  else if (inet_pton (AF_INET6, host, addr) == 1)
    fam = AF_INET6;
  else
    return -EINVAL;
  if (slash)
    {
      unsigned long long v;
      if (ward_parse_u64 (slash + 1, &v) < 0 || v > (fam == AF_INET ? 32u : 128u))
        return -EINVAL;
      *prefixlen = (unsigned) v;
    }
  else
    *prefixlen = fam == AF_INET ? 32 : 128;
  *family = fam;
  return 0;
}

int ward_addr_add (ward_nl_t *nl, const char *ifname, const char *cidr, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct ifaddrmsg *ifa;
  uint8_t addr[16];
  unsigned plen;
  int family, index, ret;

  if (ward_cidr_parse (cidr, &family, addr, &plen) < 0)
    return ward_error_set (err, EINVAL, "add address \"%s\" to link \"%s\": invalid address",
                           cidr ? cidr : "", ifname);
  if (ward_link_index (nl, ifname, &index, err) < 0)
    return ward_error_wrap (err, "add address \"%s\"", cidr);
  nlh = ward_nl_msg (nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifa = mnl_nlmsg_put_extra_header (nlh, sizeof *ifa);
  ifa->ifa_family = (uint8_t) family;
  ifa->ifa_prefixlen = (uint8_t) plen;
  ifa->ifa_index = (uint32_t) index;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  /* A container's address is unique by construction (IPAM): skip IPv6 DAD,
   * which would keep the address "tentative" and unusable for a second. */
  if (family == AF_INET6)
    ifa->ifa_flags = IFA_F_NODAD;
  mnl_attr_put (nlh, IFA_LOCAL, family == AF_INET ? 4 : 16, addr);
  mnl_attr_put (nlh, IFA_ADDRESS, family == AF_INET ? 4 : 16, addr);
  if (family == AF_INET && plen < 31)
    {
      uint32_t a, mask = plen ? htonl (~0u << (32 - plen)) : 0;
      memcpy (&a, addr, 4);
      a |= ~mask;
      mnl_attr_put (nlh, IFA_BROADCAST, 4, &a);
    }
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "add address \"%s\" to link \"%s\"", cidr, ifname);
  return 0;
}

int ward_route_add (ward_nl_t *nl, const char *dst, const char *gateway, const char *ifname,
                    ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct rtmsg *rtm;
  uint8_t dst_addr[16] = { 0 }, gw_addr[16];
  unsigned dst_len = 0, gw_len;
  int family = 0, gw_family = 0, index = 0, ret;
  const char *what = dst ? dst : "default";

  if (gateway == NULL && ifname == NULL)
    return ward_error_set (err, EINVAL, "add route %s: neither gateway nor device given", what);
  if (dst && strcmp (dst, "default") != 0
      && ward_cidr_parse (dst, &family, dst_addr, &dst_len) < 0)
    return ward_error_set (err, EINVAL, "add route %s: invalid destination", what);
  if (gateway)
    {
      if (ward_cidr_parse (gateway, &gw_family, gw_addr, &gw_len) < 0
          || (family && gw_family != family))
        return ward_error_set (err, EINVAL, "add route %s: invalid gateway \"%s\"", what,
                               gateway);
      family = gw_family;
    }
  if (family == 0)
    family = AF_INET;
  if (ifname && ward_link_index (nl, ifname, &index, err) < 0)
    return ward_error_wrap (err, "add route %s", what);

  nlh = ward_nl_msg (nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  rtm->rtm_family = (uint8_t) family;
  rtm->rtm_dst_len = (uint8_t) dst_len;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  if (dst_len)
    mnl_attr_put (nlh, RTA_DST, family == AF_INET ? 4 : 16, dst_addr);
  if (gateway)
    mnl_attr_put (nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gw_addr);
  if (index)
    mnl_attr_put_u32 (nlh, RTA_OIF, (uint32_t) index);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "add route %s%s%s%s%s", what, gateway ? " via " : "",
                           gateway ? gateway : "", ifname ? " dev " : "", ifname ? ifname : "");
  return 0;
}

struct route_dump
{
  int family;
  ward_route_t *routes;
  size_t n, cap;
};

static int route_attr_cb (const struct nlattr *attr, void *data)
{
  ward_route_t *r = data;
  size_t alen = r->family == AF_INET ? 4 : 16;
  switch (mnl_attr_get_type (attr))
    {
    case RTA_DST:
      if (mnl_attr_get_payload_len (attr) == alen)
        memcpy (r->dst, mnl_attr_get_payload (attr), alen);
      break;
    case RTA_OIF:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) == 0)
        r->oif = (int) mnl_attr_get_u32 (attr);
      break;
    case RTA_TABLE:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) == 0)
        r->table = (uint8_t) mnl_attr_get_u32 (attr);
      break;
    }
  return MNL_CB_OK;
}

static int route_msg_cb (const struct nlmsghdr *nlh, void *data)
{
  struct route_dump *d = data;
  const struct rtmsg *rtm = mnl_nlmsg_get_payload (nlh);
  ward_route_t r = { 0 };

  if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != d->family)
    return MNL_CB_OK;
  r.family = rtm->rtm_family;
  r.dst_len = rtm->rtm_dst_len;
  r.table = rtm->rtm_table;
  mnl_attr_parse (nlh, sizeof *rtm, route_attr_cb, &r);
  if (d->n == d->cap)
    {
      d->cap = d->cap ? d->cap * 2 : 16;
      d->routes = xrealloc (d->routes, d->cap * sizeof *d->routes);
    }
  d->routes[d->n++] = r;
  return MNL_CB_OK;
}

int ward_route_list (ward_nl_t *nl, int family, ward_route_t **routes, size_t *n,
                     ward_error_t **err)
{
  struct route_dump d = { .family = family };
  struct nlmsghdr *nlh = ward_nl_msg (nl, RTM_GETROUTE, NLM_F_DUMP);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header (nlh, sizeof *rtm);
  int ret;

  rtm->rtm_family = (uint8_t) family;
  ret = ward_nl_talk (nl, nlh, route_msg_cb, &d);
  if (ret < 0)
    {
      free (d.routes);
      return ward_error_set (err, -ret, "list %s routes", family == AF_INET ? "IPv4" : "IPv6");
    }
  *routes = d.routes;
  *n = d.n;
  return 0;
}
