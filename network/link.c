/* Links over rtnetlink: bridges, veth pairs, TAP devices and link settings. */
#include "network/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"

static int check_ifname (const char *name, const char *what, ward_error_t **err)
{
  if (name == NULL || name[0] == '\0' || strlen (name) >= IFNAMSIZ || strchr (name, '/')
      || strchr (name, ' ') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return ward_error_set (err, EINVAL, "%s \"%s\": invalid interface name", what,
                           name ? name : "");
  return 0;
}

struct link_info
{
  int index;
  unsigned mtu;
  uint8_t mac[6];
  bool have_mac;
};

static int link_attr_cb (const struct nlattr *attr, void *data)
{
  struct link_info *li = data;
  switch (mnl_attr_get_type (attr))
    {
    case IFLA_MTU:
      if (mnl_attr_validate (attr, MNL_TYPE_U32) == 0)
        li->mtu = mnl_attr_get_u32 (attr);
      break;
    case IFLA_ADDRESS:
      if (mnl_attr_get_payload_len (attr) == 6)
        {
          memcpy (li->mac, mnl_attr_get_payload (attr), 6);
          li->have_mac = true;
        }
      break;
    }
  return MNL_CB_OK;
}

static int link_msg_cb (const struct nlmsghdr *nlh, void *data)
{
  struct link_info *li = data;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload (nlh);
  if (nlh->nlmsg_type != RTM_NEWLINK)
    return MNL_CB_OK;
  li->index = ifi->ifi_index;
  mnl_attr_parse (nlh, sizeof *ifi, link_attr_cb, li);
  return MNL_CB_OK;
}

/* RTM_GETLINK by name; returns -errno without filling err. */
static int link_query (ward_nl_t *nl, const char *name, struct link_info *li)
{
  struct nlmsghdr *nlh = ward_nl_msg (nl, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  memset (li, 0, sizeof *li);
  return ward_nl_talk (nl, nlh, link_msg_cb, li);
}

int ward_link_index (ward_nl_t *nl, const char *name, int *ifindex, ward_error_t **err)
{
  struct link_info li;
  int ret;
  if (check_ifname (name, "look up link", err) < 0)
    return -EINVAL;
  ret = link_query (nl, name, &li);
  if (ret == 0 && li.index <= 0)
    ret = -ENODEV;
  if (ret < 0)
    return ward_error_set (err, -ret, "look up link \"%s\"", name);
  *ifindex = li.index;
  return 0;
}

bool ward_link_exists (ward_nl_t *nl, const char *name)
{
  struct link_info li;
  if (name == NULL || strlen (name) >= IFNAMSIZ)
    return false;
  return link_query (nl, name, &li) == 0 && li.index > 0;
}

int ward_link_get (ward_nl_t *nl, const char *name, unsigned *mtu, uint8_t mac[6],
                   ward_error_t **err)
{
  struct link_info li;
  int ret;
  if (check_ifname (name, "get link", err) < 0)
    return -EINVAL;
  ret = link_query (nl, name, &li);
  if (ret == 0 && li.index <= 0)
    ret = -ENODEV;
  if (ret < 0)
    return ward_error_set (err, -ret, "get link \"%s\"", name);
  if (mtu)
    *mtu = li.mtu;
  if (mac)
    memcpy (mac, li.mac, 6);
  return 0;
}

int ward_link_bridge_create (ward_nl_t *nl, const char *name, unsigned mtu, bool exist_ok,
                             ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi;
  struct nlattr *linkinfo;
  int ret;

  if (check_ifname (name, "create bridge", err) < 0)
    return -EINVAL;
  nlh = ward_nl_msg (nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  if (mtu)
    mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end (nlh, linkinfo);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret == -EEXIST && exist_ok)
    return 0;
  if (ret < 0)
    return ward_error_set (err, -ret, "create bridge \"%s\"", name);
  return 0;
}

int ward_link_veth_create (ward_nl_t *nl, const char *host_name, const char *peer_name,
                           int peer_netns_fd, unsigned mtu, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi, *peer_ifi;
  struct nlattr *linkinfo, *infodata, *peer;
  int ret;

  if (check_ifname (host_name, "create veth", err) < 0
      || check_ifname (peer_name, "create veth peer", err) < 0)
    return -EINVAL;
  nlh = ward_nl_msg (nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, host_name);
  if (mtu)
    mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  linkinfo = mnl_attr_nest_start (nlh, IFLA_LINKINFO);
  mnl_attr_put_strz (nlh, IFLA_INFO_KIND, "veth");
  infodata = mnl_attr_nest_start (nlh, IFLA_INFO_DATA);
  peer = mnl_attr_nest_start (nlh, VETH_INFO_PEER);
  /* The peer's attributes follow an ifinfomsg of its own. */
  peer_ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *peer_ifi);
  peer_ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, peer_name);
  if (mtu)
    mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  /* The kernel creates the peer directly in the target netns under its
   * final name, so no temporary name can clash there and nothing is left
   * half-moved if we die in between. */
  if (peer_netns_fd >= 0)
    mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  mnl_attr_nest_end (nlh, peer);
  mnl_attr_nest_end (nlh, infodata);
  mnl_attr_nest_end (nlh, linkinfo);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "create veth \"%s\" (peer \"%s\")", host_name, peer_name);
  return 0;
}

int ward_link_delete (ward_nl_t *nl, const char *name, bool missing_ok, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi;
  int ret;

  if (check_ifname (name, "delete link", err) < 0)
    return -EINVAL;
  nlh = ward_nl_msg (nl, RTM_DELLINK, 0);
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, name);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret == -ENODEV && missing_ok)
    return 0;
  if (ret < 0)
    return ward_error_set (err, -ret, "delete link \"%s\"", name);
  return 0;
}

/* Starts an RTM_NEWLINK in *nlh that modifies the existing link name;
 * *ifi_out (may be NULL) lets the caller set flags. */
static int link_modify_msg (ward_nl_t *nl, const char *name, const char *what,
                            struct nlmsghdr **nlh, struct ifinfomsg **ifi_out, ward_error_t **err)
{
  struct ifinfomsg *ifi;
  int index, ret;

  ret = ward_link_index (nl, name, &index, err);
  if (ret < 0)
    return ward_error_wrap (err, "%s", what);
  *nlh = ward_nl_msg (nl, RTM_NEWLINK, 0);
  ifi = mnl_nlmsg_put_extra_header (*nlh, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  if (ifi_out)
    *ifi_out = ifi;
  return 0;
}

int ward_link_set_up (ward_nl_t *nl, const char *name, bool up, ward_error_t **err)
{
  const char *what = up ? "set link up" : "set link down";
  struct ifinfomsg *ifi;
  struct nlmsghdr *nlh;
  int ret = link_modify_msg (nl, name, what, &nlh, &ifi, err);
  if (ret < 0)
    return ret;
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "%s \"%s\"", what, name);
  return 0;
}

int ward_link_set_mtu (ward_nl_t *nl, const char *name, unsigned mtu, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  int ret = link_modify_msg (nl, name, "set mtu", &nlh, NULL, err);
  if (ret < 0)
    return ret;
  mnl_attr_put_u32 (nlh, IFLA_MTU, mtu);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "set mtu %u on link \"%s\"", mtu, name);
  return 0;
}

int ward_link_set_mac (ward_nl_t *nl, const char *name, const uint8_t mac[6], ward_error_t **err)
{
  struct nlmsghdr *nlh;
  int ret = link_modify_msg (nl, name, "set mac", &nlh, NULL, err);
  if (ret < 0)
    return ret;
  mnl_attr_put (nlh, IFLA_ADDRESS, 6, mac);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "set mac %02x:%02x:%02x:%02x:%02x:%02x on link \"%s\"",
                           mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], name);
  return 0;
}

int ward_link_rename (ward_nl_t *nl, const char *name, const char *new_name, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  int ret;
  if (check_ifname (new_name, "rename link", err) < 0)
    return -EINVAL;
  ret = link_modify_msg (nl, name, "rename link", &nlh, NULL, err);
  if (ret < 0)
    return ret;
  mnl_attr_put_strz (nlh, IFLA_IFNAME, new_name);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "rename link \"%s\" to \"%s\"", name, new_name);
  return 0;
}

int ward_link_set_netns (ward_nl_t *nl, const char *name, int netns_fd, const char *new_name,
                         ward_error_t **err)
{
  struct nlmsghdr *nlh;
  int ret;
  if (new_name && check_ifname (new_name, "move link", err) < 0)
    return -EINVAL;
  ret = link_modify_msg (nl, name, "move link", &nlh, NULL, err);
  if (ret < 0)
    return ret;
  mnl_attr_put_u32 (nlh, IFLA_NET_NS_FD, (uint32_t) netns_fd);
  if (new_name)
    mnl_attr_put_strz (nlh, IFLA_IFNAME, new_name);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "move link \"%s\" to netns fd %d%s%s", name, netns_fd,
                           new_name ? " as " : "", new_name ? new_name : "");
  return 0;
}

int ward_link_set_master (ward_nl_t *nl, const char *name, const char *master,
                          ward_error_t **err)
{
  struct nlmsghdr *nlh;
  int master_index = 0, ret;

  if (master && ward_link_index (nl, master, &master_index, err) < 0)
    return ward_error_wrap (err, "attach link \"%s\" to bridge", name);
  ret = link_modify_msg (nl, name, "attach link to bridge", &nlh, NULL, err);
  if (ret < 0)
    return ret;
  mnl_attr_put_u32 (nlh, IFLA_MASTER, (uint32_t) master_index);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "attach link \"%s\" to bridge \"%s\"", name,
                           master ? master : "(none)");
  return 0;
}

int ward_link_set_hairpin (ward_nl_t *nl, const char *name, bool on, ward_error_t **err)
{
  struct nlmsghdr *nlh;
  struct ifinfomsg *ifi;
  struct nlattr *prot;
  int index, ret;

  if (ward_link_index (nl, name, &index, err) < 0)
    return ward_error_wrap (err, "set hairpin");
  /* Bridge port flags go through the AF_BRIDGE family with IFLA_PROTINFO. */
  nlh = ward_nl_msg (nl, RTM_SETLINK, 0);
  ifi = mnl_nlmsg_put_extra_header (nlh, sizeof *ifi);
  ifi->ifi_family = AF_BRIDGE;
  ifi->ifi_index = index;
  prot = mnl_attr_nest_start (nlh, IFLA_PROTINFO);
  /* Without NLA_F_NESTED the bridge reads IFLA_PROTINFO as the old binary
   * port-state byte instead of a nest of IFLA_BRPORT_* attributes. */
  prot->nla_type |= NLA_F_NESTED;
  mnl_attr_put_u8 (nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end (nlh, prot);
  ret = ward_nl_talk (nl, nlh, NULL, NULL);
  if (ret < 0)
    return ward_error_set (err, -ret, "set hairpin %s on bridge port \"%s\"", on ? "on" : "off",
                           name);
  return 0;
}

struct tap_call
{
  const char *name;
  unsigned flags;
  int fd;
};

static int tap_create_here (void *data, ward_error_t **err)
{
  struct tap_call *c = data;
  struct ifreq ifr;
  /* The tun driver creates the device in the netns of the task that opened
   * /dev/net/tun, so the open must happen here, on the switched thread. */
  _cleanup_close_ int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "create tap \"%s\": open '/dev/net/tun'", c->name);
  memset (&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (c->flags & WARD_TAP_VNET_HDR)
    ifr.ifr_flags |= IFF_VNET_HDR;
  if (c->flags & WARD_TAP_MULTI_QUEUE)
    ifr.ifr_flags |= IFF_MULTI_QUEUE;
  strncpy (ifr.ifr_name, c->name, IFNAMSIZ - 1);
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    return ward_error_set (err, errno, "create tap \"%s\"", c->name);
  if ((c->flags & WARD_TAP_PERSIST) && ioctl (fd, TUNSETPERSIST, 1) < 0)
    return ward_error_set (err, errno, "create tap \"%s\": set persistent", c->name);
  c->fd = TAKE_FD (fd);
  return 0;
}

int ward_tap_create (int netns_fd, const char *name, unsigned flags, int *fd, ward_error_t **err)
{
  struct tap_call c = { name, flags, -1 };
  int ret;

  if (check_ifname (name, "create tap", err) < 0)
    return -EINVAL;
  if (fd == NULL && !(flags & WARD_TAP_PERSIST))
    return ward_error_set (err, EINVAL, "create tap \"%s\": a non-persistent tap needs its fd",
                           name);
  ret = ward_netns_run (netns_fd, tap_create_here, &c, err);
  if (ret < 0)
    return ret;
  if (fd)
    *fd = c.fd;
  else
    close (c.fd);
  return 0;
}
