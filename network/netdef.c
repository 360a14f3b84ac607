/* Network definitions (<state_root>/<name>/network.json), subnet choice and
 * the bridge behind a network. */
#include "network/internal.h"

#include <linux/netfilter.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

const char *const ward_network_subnet_candidates[] = {
  /* 10.88/16 is podman's default and 172.17/16 docker's: stay clear of both
   * so ward can run next to them. */
  "172.30.0.0/16", "172.31.0.0/16", "10.200.0.0/16", "10.201.0.0/16", "10.202.0.0/16",
  "192.168.240.0/20", "192.168.224.0/20", "10.210.0.0/16", "10.211.0.0/16", NULL,
};

int ward_net_lock (const char *dir, const char *name, int *fd_out, ward_error_t **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, name);
  _cleanup_close_ int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return ward_error_set (err, errno, "open lock '%s'", path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "lock '%s'", path);
  *fd_out = TAKE_FD (fd);
  return 0;
}

int ward_net_write_atomic (const char *dir, const char *name, const char *data,
                           ward_error_t **err)
{
  return ward_net_write_atomic_ex (dir, name, data, true, err);
}

int ward_net_write_atomic_ex (const char *dir, const char *name, const char *data, bool durable,
                              ward_error_t **err)
{
  _cleanup_free_ char *tmp = xasprintf ("%s/.%s.%d.tmp", dir, name, (int) getpid ());
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, name);
  _cleanup_close_ int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  _cleanup_close_ int dfd = -1;
  int saved;

  if (fd < 0)
    return ward_error_set (err, errno, "create '%s'", tmp);
  /* fsync before rename: after a crash the name points at either the old
   * or the complete new contents, never at an empty file. */
  if (ward_write_all (fd, data, strlen (data)) < 0 || (durable && fsync (fd) < 0))
    {
      saved = errno;
      unlink (tmp);
      return ward_error_set (err, saved, "write '%s'", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      saved = errno;
      unlink (tmp);
      return ward_error_set (err, saved, "rename '%s' to '%s'", tmp, path);
    }
  if (!durable)
    return 0;
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fsync (dfd);
  return 0;
}

static const char *state_root_or_default (const char *state_root)
{
  return state_root ? state_root : WARD_NETWORK_STATE_DIR;
}

void ward_network_free (ward_network_t *net)
{
  if (net == NULL)
    return;
  free (net->name);
  free (net->driver);
  free (net->bridge);
  free (net->subnet);
  free (net->gateway);
  free (net->dir);
  free (net->subnet6);
  free (net->gateway6);
  free (net);
}

void ward_network_list_free (ward_network_t **nets, size_t n)
{
  for (size_t i = 0; i < n; i++)
    ward_network_free (nets[i]);
  free (nets);
}

static bool valid_network_name (const char *name)
{
  size_t len = name ? strlen (name) : 0;
  if (len == 0 || len > 64 || name[0] == '.' || name[0] == '-')
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-' || *p == '_' || *p == '.'))
      return false;
  return true;
}

/* IPv4 prefix: address in host order and length; -EINVAL otherwise. */
static int parse_v4_prefix (const char *cidr, uint32_t *addr, unsigned *len)
{
  uint8_t a[16];
  int family;
  if (ward_cidr_parse (cidr, &family, a, len) < 0 || family != AF_INET)
    return -EINVAL;
  *addr = ((uint32_t) a[0] << 24) | ((uint32_t) a[1] << 16) | ((uint32_t) a[2] << 8) | a[3];
  return 0;
}

static uint32_t v4_mask (unsigned len)
{
  return len == 0 ? 0 : ~0u << (32 - len);
}

static bool v4_overlap (uint32_t a, unsigned alen, uint32_t b, unsigned blen)
{
  uint32_t m = v4_mask (alen < blen ? alen : blen);
  return (a & m) == (b & m);
}

int ward_network_choose_subnet (const ward_route_t *routes, size_t n_routes,
                                const char *const *taken, size_t n_taken,
                                const char *const *candidates, char **out,
                                ward_error_t **err)
{
  if (candidates == NULL)
    candidates = ward_network_subnet_candidates;
  for (size_t c = 0; candidates[c]; c++)
    {
      uint32_t cand;
      unsigned clen;
      bool clash = false;

      if (parse_v4_prefix (candidates[c], &cand, &clen) < 0)
        continue;
      for (size_t i = 0; i < n_routes && !clash; i++)
        {
          uint32_t dst;
          /* The default route covers everything; it does not make a
           * private subnet unreachable, the more specific one wins. */
          if (routes[i].family != AF_INET || routes[i].dst_len == 0)
            continue;
          dst = ((uint32_t) routes[i].dst[0] << 24) | ((uint32_t) routes[i].dst[1] << 16)
                | ((uint32_t) routes[i].dst[2] << 8) | routes[i].dst[3];
          clash = v4_overlap (cand, clen, dst, routes[i].dst_len);
        }
      for (size_t i = 0; i < n_taken && !clash; i++)
        {
          uint32_t t;
          unsigned tlen;
          if (parse_v4_prefix (taken[i], &t, &tlen) == 0)
            clash = v4_overlap (cand, clen, t, tlen);
        }
      if (!clash)
        {
          *out = xstrdup (candidates[c]);
          return 0;
        }
    }
  return ward_error_set (err, EADDRNOTAVAIL,
                         "choose a subnet: every candidate overlaps a host route or a network");
}

static char *v4_str (uint32_t a)
{
  return xasprintf ("%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

char *ward_network_to_json (const ward_network_t *net)
{
  _cleanup_json_ struct json_object *o = json_object_new_object ();
  json_object_object_add (o, "Name", json_object_new_string (net->name));
  json_object_object_add (o, "Driver", json_object_new_string (net->driver));
  json_object_object_add (o, "Bridge", json_object_new_string (net->bridge));
  json_object_object_add (o, "Subnet", json_object_new_string (net->subnet));
  json_object_object_add (o, "Gateway", json_object_new_string (net->gateway));
  if (net->subnet6 && net->gateway6)
    {
      json_object_object_add (o, "Subnet6", json_object_new_string (net->subnet6));
      json_object_object_add (o, "Gateway6", json_object_new_string (net->gateway6));
    }
  return xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY
                                                         | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int read_string_key (struct json_object *o, const char *key, const char *path,
                            char **out, ward_error_t **err)
{
  struct json_object *v;
  if (!json_object_object_get_ex (o, key, &v) || !json_object_is_type (v, json_type_string))
    return ward_error_set (err, EINVAL, "'%s': %s: expected string", path, key);
  *out = xstrdup (json_object_get_string (v));
  return 0;
}

static int network_load (const char *root, const char *name, ward_network_t **out,
                         ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/%s", root, name);
  _cleanup_free_ char *path = xasprintf ("%s/network.json", dir);
  _cleanup_free_ char *text = NULL;
  _cleanup_json_ struct json_object *o = NULL;
  _cleanup_network_ ward_network_t *net = NULL;
  int ret;

  if (!valid_network_name (name))
    return ward_error_set (err, EINVAL, "network \"%s\": invalid name", name);
  ret = ward_read_file_at (AT_FDCWD, path, &text, NULL, 1 << 20, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set (err, ENOENT, "network \"%s\" not found", name);
    }
  if (ret < 0)
    return ret;
  o = json_tokener_parse (text);
  if (o == NULL || !json_object_is_type (o, json_type_object))
    return ward_error_set (err, EINVAL, "'%s': not a JSON object", path);
  net = xzalloc (sizeof *net);
  if (read_string_key (o, "Name", path, &net->name, err) < 0
      || read_string_key (o, "Driver", path, &net->driver, err) < 0
      || read_string_key (o, "Bridge", path, &net->bridge, err) < 0
      || read_string_key (o, "Subnet", path, &net->subnet, err) < 0
      || read_string_key (o, "Gateway", path, &net->gateway, err) < 0)
    return -EINVAL;
  if (json_object_object_get_ex (o, "Subnet6", NULL)
      && (read_string_key (o, "Subnet6", path, &net->subnet6, err) < 0
          || read_string_key (o, "Gateway6", path, &net->gateway6, err) < 0))
    return -EINVAL;
  net->dir = TAKE_PTR (dir);
  *out = TAKE_PTR (net);
  return 0;
}

int ward_network_inspect (const char *state_root, const char *name, ward_network_t **out,
                          ward_error_t **err)
{
  return network_load (state_root_or_default (state_root), name, out, err);
}

static int cmp_net (const void *a, const void *b)
{
  return strcmp ((*(ward_network_t *const *) a)->name, (*(ward_network_t *const *) b)->name);
}

int ward_network_list (const char *state_root, ward_network_t ***out, size_t *n,
                       ward_error_t **err)
{
  const char *root = state_root_or_default (state_root);
  _cleanup_closedir_ DIR *d = opendir (root);
  ward_network_t **nets = NULL;
  size_t count = 0;
  struct dirent *de;

  *out = NULL;
  *n = 0;
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return ward_error_set (err, errno, "open '%s'", root);
    }
  while ((de = readdir (d)))
    {
      ward_network_t *net = NULL;
      ward_error_t *e = NULL;
      if (de->d_name[0] == '.' || !valid_network_name (de->d_name))
        continue;
      if (network_load (root, de->d_name, &net, &e) < 0)
        {
          /* A half-removed or foreign directory must not hide the rest. */
          ward_debug ("skip network dir '%s/%s': %s", root, de->d_name, e->msg);
          ward_error_free (&e);
          continue;
        }
      nets = xrealloc (nets, (count + 1) * sizeof *nets);
      nets[count++] = net;
    }
  if (count)
    qsort (nets, count, sizeof *nets, cmp_net);
  *out = nets;
  *n = count;
  return 0;
}

/* Canonical IPv6 prefix and gateway of opts into net; refuses overlap
 * with another network's IPv6 subnet. */
static int setup_v6 (const char *root, const ward_network_opts_t *opts, ward_network_t *net,
                     ward_error_t **err)
{
  uint8_t a[16], g[16], m[16];
  unsigned len, glen;
  int family;
  char buf[INET6_ADDRSTRLEN];
  ward_network_t **nets = NULL;
  size_t n_nets = 0;
  int ret = 0;

  if (ward_cidr_parse (opts->subnet6, &family, a, &len) < 0 || family != AF_INET6 || len < 8
      || len > 126)
    return ward_error_set (err, EINVAL, "create network \"%s\": invalid IPv6 subnet \"%s\" (/8 to /126)",
                           opts->name, opts->subnet6);
  for (unsigned i = 0; i < 16; i++)
    {
      unsigned bits = len > i * 8 ? len - i * 8 : 0;
      m[i] = (uint8_t) (bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
      a[i] &= m[i];
    }
  if (opts->gateway6)
    {
      bool inside = true, is_subnet = true;
      if (ward_cidr_parse (opts->gateway6, &family, g, &glen) < 0 || family != AF_INET6)
        inside = false;
      for (unsigned i = 0; inside && i < 16; i++)
        {
          if ((g[i] & m[i]) != a[i])
            inside = false;
          if (g[i] != a[i])
            is_subnet = false;
        }
      if (!inside || is_subnet)
        return ward_error_set (err, EINVAL, "create network \"%s\": gateway6 \"%s\" is not a host address of %s",
                               opts->name, opts->gateway6, opts->subnet6);
    }
  else
    {
      memcpy (g, a, 16);
      g[15] |= 1;
    }
  inet_ntop (AF_INET6, a, buf, sizeof buf);
  net->subnet6 = xasprintf ("%s/%u", buf, len);
  inet_ntop (AF_INET6, g, buf, sizeof buf);
  net->gateway6 = xstrdup (buf);

  ret = ward_network_list (root, &nets, &n_nets, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n_nets && ret == 0; i++)
    {
      uint8_t o[16];
      unsigned olen, common;
      bool same = true;
      if (nets[i]->subnet6 == NULL || ward_cidr_parse (nets[i]->subnet6, &family, o, &olen) < 0)
        continue;
      common = olen < len ? olen : len;
      for (unsigned b = 0; b < common && same; b++)
        if (((a[b / 8] >> (7 - b % 8)) & 1) != ((o[b / 8] >> (7 - b % 8)) & 1))
          same = false;
      if (same)
        ret = ward_error_set (err, EEXIST, "create network \"%s\": subnet %s overlaps network \"%s\" (%s)",
                              opts->name, net->subnet6, nets[i]->name, nets[i]->subnet6);
    }
  ward_network_list_free (nets, n_nets);
  return ret;
}

static int network_create_locked (const char *root, const ward_network_opts_t *opts,
                                  ward_network_t **out, ward_error_t **err)
{
  _cleanup_network_ ward_network_t *net = xzalloc (sizeof *net);
  ward_network_t **nets = NULL;
  size_t n_nets = 0;
  _cleanup_free_ const char **taken = NULL;
  _cleanup_free_ char *json = NULL;
  uint32_t sub, gw;
  unsigned len, gwlen;
  int ret;

  {
    _cleanup_free_ char *existing = xasprintf ("%s/%s/network.json", root, opts->name);
    if (access (existing, F_OK) == 0)
      return ward_error_set (err, EEXIST, "create network \"%s\": already exists", opts->name);
  }
  net->name = xstrdup (opts->name);
  net->driver = xstrdup ("bridge");
  net->bridge = opts->bridge ? xstrdup (opts->bridge) : xasprintf ("ward-%.10s", opts->name);
  /* The name ends up inside nft rules and sysctl paths: same character
   * set as network names, and an interface name's length. */
  if (strlen (net->bridge) >= 16 || !valid_network_name (net->bridge))
    return ward_error_set (err, EINVAL, "create network \"%s\": invalid bridge name \"%s\"",
                           opts->name, net->bridge);
  ret = ward_network_list (root, &nets, &n_nets, err);
  if (ret < 0)
    return ret;
  taken = xzalloc ((n_nets + 1) * sizeof *taken);
  for (size_t i = 0; i < n_nets; i++)
    {
      taken[i] = nets[i]->subnet;
      if (strcmp (nets[i]->bridge, net->bridge) == 0)
        ret = ward_error_set (err, EEXIST, "create network \"%s\": bridge \"%s\" is used by network \"%s\"",
                              opts->name, net->bridge, nets[i]->name);
    }
  if (ret == 0 && opts->subnet)
    {
      if (parse_v4_prefix (opts->subnet, &sub, &len) < 0 || len > 30 || len < 8)
        ret = ward_error_set (err, EINVAL, "create network \"%s\": invalid subnet \"%s\" (IPv4, /8 to /30)",
                              opts->name, opts->subnet);
      for (size_t i = 0; ret == 0 && i < n_nets; i++)
        {
          uint32_t t;
          unsigned tlen;
          if (parse_v4_prefix (nets[i]->subnet, &t, &tlen) == 0 && v4_overlap (sub, len, t, tlen))
            ret = ward_error_set (err, EEXIST, "create network \"%s\": subnet %s overlaps network \"%s\" (%s)",
                                  opts->name, opts->subnet, nets[i]->name, nets[i]->subnet);
        }
      if (ret == 0)
        net->subnet = xstrdup (opts->subnet);
    }
  else if (ret == 0)
    {
      _cleanup_nl_ ward_nl_t *nl = NULL;
      _cleanup_free_ ward_route_t *routes = NULL;
      size_t n_routes = 0;
      ret = ward_nl_open (-1, &nl, err);
      if (ret == 0)
        ret = ward_route_list (nl, AF_INET, &routes, &n_routes, err);
      if (ret == 0)
        ret = ward_network_choose_subnet (routes, n_routes, taken, n_nets, NULL, &net->subnet, err);
      if (ret < 0)
        ward_error_wrap (err, "create network \"%s\"", opts->name);
    }
  ward_network_list_free (nets, n_nets);
  if (ret < 0)
    return ret;

  parse_v4_prefix (net->subnet, &sub, &len);
  sub &= v4_mask (len);
  free (net->subnet);
  {
    _cleanup_free_ char *s = v4_str (sub);
    net->subnet = xasprintf ("%s/%u", s, len);
  }
  if (opts->gateway)
    {
      if (parse_v4_prefix (opts->gateway, &gw, &gwlen) < 0 || (gw & v4_mask (len)) != sub
          || gw == sub || gw == (sub | ~v4_mask (len)))
        return ward_error_set (err, EINVAL, "create network \"%s\": gateway \"%s\" is not a host address of %s",
                               opts->name, opts->gateway, net->subnet);
    }
  else
    gw = sub + 1;
  net->gateway = v4_str (gw);
  if (opts->subnet6)
    {
      ret = setup_v6 (root, opts, net, err);
      if (ret < 0)
        return ret;
    }

  net->dir = xasprintf ("%s/%s", root, net->name);
  if (mkdir (net->dir, 0700) < 0)
    {
      if (errno == EEXIST)
        return ward_error_set (err, EEXIST, "create network \"%s\": already exists", net->name);
      return ward_error_set (err, errno, "create network \"%s\": mkdir '%s'", net->name, net->dir);
    }
  json = ward_network_to_json (net);
  ret = ward_net_write_atomic (net->dir, "network.json", json, err);
  if (ret < 0)
    {
      rmdir (net->dir);
      return ward_error_wrap (err, "create network \"%s\"", net->name);
    }
  *out = TAKE_PTR (net);
  return 0;
}

int ward_network_create (const char *state_root, const ward_network_opts_t *opts,
                         ward_network_t **out, ward_error_t **err)
{
  const char *root = state_root_or_default (state_root);
  _cleanup_close_ int lock = -1;
  int ret;

  if (opts == NULL || !valid_network_name (opts->name))
    return ward_error_set (err, EINVAL, "create network \"%s\": invalid name",
                           opts && opts->name ? opts->name : "");
  ret = ward_mkdir_p (root, 0700, err);
  if (ret < 0)
    return ret;
  /* One lock for the set of networks: two creates must not both pick the
   * same free subnet. */
  ret = ward_net_lock (root, ".networks.lock", &lock, err);
  if (ret < 0)
    return ret;
  return network_create_locked (root, opts, out, err);
}

static int dir_is_empty (const char *path)
{
  _cleanup_closedir_ DIR *d = opendir (path);
  struct dirent *de;
  if (d == NULL)
    return errno == ENOENT ? 1 : -errno;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      return 0;
  return 1;
}

int ward_network_remove (const char *state_root, const char *name, ward_error_t **err)
{
  const char *root = state_root_or_default (state_root);
  _cleanup_network_ ward_network_t *net = NULL;
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *containers = NULL;
  ward_ipam_entry_t *entries = NULL;
  size_t n_entries = 0;
  int ret;

  ret = network_load (root, name, &net, err);
  if (ret < 0)
    return ret;
  ret = ward_net_lock (root, ".networks.lock", &lock, err);
  if (ret < 0)
    return ret;
  containers = xasprintf ("%s/containers", net->dir);
  ret = ward_ipam_list (net, &entries, &n_entries, err);
  if (ret < 0)
    return ret;
  ward_ipam_entries_free (entries, n_entries);
  if (n_entries > 0 || dir_is_empty (containers) == 0)
    return ward_error_set (err, EBUSY, "remove network \"%s\": containers are attached", name);

  {
    _cleanup_nl_ ward_nl_t *nl = NULL;
    ward_error_t *e = NULL;
    /* The bridge goes with the network; a failure here only leaves an
     * unused bridge behind, so the definition is still removed. */
    if (ward_nl_open (-1, &nl, &e) < 0 || ward_link_delete (nl, net->bridge, true, &e) < 0
        || ward_portmap_remove_network (root, net->name, &e) < 0)
      {
        ward_warn ("remove network \"%s\": %s", name, e->msg);
        ward_error_free (&e);
      }
  }
  rmdir (containers);
  for (const char *const *f = (const char *const[]){ "ipam.json", "ipam.lock", "network.json", NULL };
       *f; f++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", net->dir, *f);
      if (unlink (p) < 0 && errno != ENOENT)
        return ward_error_set (err, errno, "remove network \"%s\": unlink '%s'", name, p);
    }
  if (rmdir (net->dir) < 0)
    return ward_error_set (err, errno, "remove network \"%s\": rmdir '%s'", name, net->dir);
  return 0;
}

/* The IPv4 subnet routed through an existing bridge, or NULL. */
static char *bridge_subnet (const char *bridge)
{
  _cleanup_nl_ ward_nl_t *nl = NULL;
  ward_route_t *routes = NULL;
  size_t n = 0;
  ward_error_t *e = NULL;
  char *out = NULL;
  int idx;

  if (ward_nl_open (-1, &nl, &e) < 0 || ward_link_index (nl, bridge, &idx, &e) < 0
      || ward_route_list (nl, AF_INET, &routes, &n, &e) < 0)
    {
      ward_error_free (&e);
      return NULL;
    }
  for (size_t i = 0; i < n && out == NULL; i++)
    if (routes[i].oif == idx && routes[i].dst_len > 0 && routes[i].dst_len < 31
        && routes[i].table == 254 /* main */)
      {
        char a[INET_ADDRSTRLEN];
        if (inet_ntop (AF_INET, routes[i].dst, a, sizeof a))
          out = xasprintf ("%s/%u", a, routes[i].dst_len);
      }
  free (routes);
  return out;
}

int ward_network_ensure_default (const char *state_root, ward_network_t **out,
                                 ward_error_t **err)
{
  ward_network_opts_t opts = { .name = WARD_NETWORK_DEFAULT_NAME,
                               .bridge = WARD_NETWORK_DEFAULT_BRIDGE };
  int ret = ward_network_inspect (state_root, WARD_NETWORK_DEFAULT_NAME, out, err);

  if (ret == -ENOENT)
    {
      _cleanup_free_ char *adopted = NULL;
      ward_error_free (err);
      /* Another ward root (tests use private ones) already made ward0 in
       * this netns: share its subnet instead of stacking one more subnet
       * on the bridge for every root. */
      adopted = bridge_subnet (WARD_NETWORK_DEFAULT_BRIDGE);
      if (adopted)
        opts.subnet = adopted;
      ret = ward_network_create (state_root, &opts, out, err);
      if (ret == -EEXIST)
        {
          /* Lost a race with another ward creating it. */
          ward_error_free (err);
          ret = ward_network_inspect (state_root, WARD_NETWORK_DEFAULT_NAME, out, err);
        }
    }
  if (ret < 0)
    return ret;
  /* Containers reach other networks through the host: routing needs
   * forwarding on (docker and podman switch it on as well). */
  ward_debug ("network \"%s\": enabling net.ipv4.ip_forward", WARD_NETWORK_DEFAULT_NAME);
  ret = ward_netns_sysctl_write (-1, "net/ipv4/ip_forward", "1", err);
  if (ret < 0)
    {
      ward_network_free (*out);
      *out = NULL;
      return ward_error_wrap (err, "enable IPv4 forwarding");
    }
  return 0;
}

/* Whether the kernel routes net's subnet through its bridge, i.e. the
 * bridge has the gateway address of this very network. */
static bool bridge_routes_subnet (ward_nl_t *nl, const ward_network_t *net)
{
  ward_route_t *routes = NULL;
  size_t n = 0;
  ward_error_t *e = NULL;
  uint8_t addr[16];
  unsigned plen;
  int family, idx;
  bool found = false;

  if (ward_cidr_parse (net->subnet, &family, addr, &plen) < 0)
    return false;
  if (ward_link_index (nl, net->bridge, &idx, &e) < 0 || ward_route_list (nl, family, &routes, &n, &e) < 0)
    {
      ward_error_free (&e);
      return false;
    }
  for (size_t i = 0; i < n && !found; i++)
    found = routes[i].oif == idx && routes[i].dst_len == plen
            && memcmp (routes[i].dst, addr, family == AF_INET ? 4 : 16) == 0;
  free (routes);
  return found;
}

int ward_network_setup_bridge (const ward_network_t *net, ward_error_t **err)
{
  _cleanup_nl_ ward_nl_t *nl = NULL;
  _cleanup_free_ char *cidr = NULL;
  _cleanup_free_ char *key = NULL;
  _cleanup_free_ char *root = xstrdup (net->dir);
  const char *slash = strchr (net->subnet, '/');
  char *rs;
  int ret;

  ret = ward_nl_open (-1, &nl, err);
  if (ret < 0)
    return ret;
  /* Fast path of every attach: the bridge this function made earlier (so
   * its address, route_localnet and rules were set then) and ward's nft
   * table still there.  A libnftables call costs milliseconds. */
  if (ward_link_exists (nl, net->bridge) && bridge_routes_subnet (nl, net)
      && ward_net_nft_table_exists (NFPROTO_IPV4)
      && (net->subnet6 == NULL || ward_net_nft_table_exists (NFPROTO_IPV6)))
    return ward_link_set_up (nl, net->bridge, true, err);
  ret = ward_link_bridge_create (nl, net->bridge, 0, true, err);
  if (ret < 0)
    return ret;
  cidr = xasprintf ("%s%s", net->gateway, slash ? slash : "/16");
  ret = ward_addr_add (nl, net->bridge, cidr, err);
  if (ret == -EEXIST)
    {
      ward_error_free (err);
      ret = 0;
    }
  if (ret < 0)
    return ret;
  if (net->subnet6 && net->gateway6)
    {
      _cleanup_free_ char *cidr6 = xasprintf ("%s%s", net->gateway6, strchr (net->subnet6, '/'));
      ret = ward_addr_add (nl, net->bridge, cidr6, err);
      if (ret == -EEXIST)
        {
          ward_error_free (err);
          ret = 0;
        }
      if (ret < 0)
        return ret;
      /* Routing containers' IPv6 needs forwarding; note that on a host
       * that configures itself by SLAAC this turns off accepting router
       * advertisements where accept_ra is 1 (docker does the same). */
      ret = ward_netns_sysctl_write (-1, "net/ipv6/conf/all/forwarding", "1", err);
      if (ret < 0)
        return ret;
    }
  ret = ward_link_set_up (nl, net->bridge, true, err);
  if (ret < 0)
    return ret;
  /* DNAT of connections to 127.0.0.1 sends packets with a loopback source
   * out of the bridge; the kernel drops those as martians unless
   * route_localnet is on for that interface (docker does the same when the
   * userland proxy is off). */
  key = xasprintf ("net/ipv4/conf/%s/route_localnet", net->bridge);
  ret = ward_netns_sysctl_write (-1, key, "1", err);
  if (ret < 0)
    return ret;
  rs = strrchr (root, '/');
  if (rs && rs != root)
    *rs = '\0';
  return ward_portmap_setup (root, net, err);
}
