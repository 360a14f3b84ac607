/* Connecting a container's netns to a bridge network, and undoing it. */
#include "network/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/sha256.h"

static const char *root_or_default (const char *state_root)
{
  return state_root ? state_root : WARD_NETWORK_STATE_DIR;
}

void ward_network_veth_name (const char *container_id, char name[16])
{
  char hex[65];
  /* Derived from the id, so detach finds the host end even when the
   * attach record was lost in a crash. */
  ward_sha256_hex (container_id, strlen (container_id), hex);
  snprintf (name, 16, "wv%.10s", hex);
}

void ward_attach_result_clear (ward_attach_result_t *r)
{
  free (r->ip);
  free (r->gateway);
  free (r->host_veth);
  free (r->ip6);
  free (r->gateway6);
  memset (r, 0, sizeof *r);
}

static bool valid_id (const char *id)
{
  if (id == NULL || id[0] == '\0' || strlen (id) > 128 || id[0] == '.')
    return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || *p == '-' || *p == '_' || *p == '.'))
      return false;
  return true;
}

static char *lock_dir_of (const ward_network_t *net)
{
  char *root = xstrdup (net->dir);
  char *slash = strrchr (root, '/');
  if (slash && slash != root)
    *slash = '\0';
  return root;
}

static int write_record (const ward_network_t *net, const ward_attach_opts_t *opts,
                         const char *ip, const char *ip6, const char *veth, ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/containers", net->dir);
  _cleanup_free_ char *file = xasprintf ("%s.json", opts->container_id);
  _cleanup_json_ struct json_object *o = json_object_new_object ();
  struct json_object *ports = json_object_new_array ();

  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return ward_error_set (err, errno, "mkdir '%s'", dir);
  json_object_object_add (o, "id", json_object_new_string (opts->container_id));
  if (opts->name)
    json_object_object_add (o, "name", json_object_new_string (opts->name));
  json_object_object_add (o, "ip", json_object_new_string (ip));
  json_object_object_add (o, "veth", json_object_new_string (veth));
  if (ip6)
    json_object_object_add (o, "ip6", json_object_new_string (ip6));
  for (size_t i = 0; i < opts->n_ports; i++)
    {
      struct json_object *p = json_object_new_object ();
      json_object_object_add (p, "host_ip", json_object_new_string (opts->ports[i].host_ip));
      json_object_object_add (p, "host_port", json_object_new_int (opts->ports[i].host_port));
      json_object_object_add (p, "container_port", json_object_new_int (opts->ports[i].container_port));
      json_object_object_add (p, "proto", json_object_new_string (opts->ports[i].proto == IPPROTO_UDP ? "udp" : "tcp"));
      json_object_array_add (ports, p);
    }
  json_object_object_add (o, "ports", ports);
  return ward_net_write_atomic_ex (dir, file, json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN),
                                   false, err);
}

struct attach_undo
{
  const ward_network_t *net;
  const char *id;
  char *lock_dir;
  bool ip, veth, ports;
  char veth_name[16];
};

static void attach_undo (struct attach_undo *u)
{
  ward_error_t *e = NULL;
  if (u->ports && ward_portmap_remove (u->lock_dir, u->id, &e) < 0)
    ward_error_free (&e);
  if (u->veth)
    {
      _cleanup_nl_ ward_nl_t *nl = NULL;
      if (ward_nl_open (-1, &nl, &e) < 0 || ward_link_delete (nl, u->veth_name, true, &e) < 0)
        ward_error_free (&e);
    }
  if (u->ip && ward_ipam_release (u->net, u->id, &e) < 0)
    ward_error_free (&e);
  free (u->lock_dir);
}

static int setup_inside (const ward_network_t *net, const ward_attach_opts_t *opts,
                         const char *ifname, const char *cidr, const char *cidr6,
                         ward_error_t **err)
{
  _cleanup_nl_ ward_nl_t *nl = NULL;
  int ret = ward_nl_open (opts->netns_fd, &nl, err);
  if (ret < 0)
    return ret;
  if ((ret = ward_link_set_up (nl, "lo", true, err)) < 0)
    return ret;
  if (opts->mac && (ret = ward_link_set_mac (nl, ifname, opts->mac, err)) < 0)
    return ret;
  if ((ret = ward_addr_add (nl, ifname, cidr, err)) < 0)
    return ret;
  if (cidr6 && (ret = ward_addr_add (nl, ifname, cidr6, err)) < 0)
    return ret;
  if ((ret = ward_link_set_up (nl, ifname, true, err)) < 0)
    return ret;
  if (opts->no_default_route)
    return 0;
  if (cidr6 && (ret = ward_route_add (nl, NULL, net->gateway6, ifname, err)) < 0)
    return ret;
  return ward_route_add (nl, NULL, net->gateway, ifname, err);
}

int ward_network_attach (const ward_network_t *net, const ward_attach_opts_t *opts,
                         ward_attach_result_t *res, ward_error_t **err)
{
  __attribute__ ((cleanup (attach_undo))) struct attach_undo undo = { .net = net };
  const char *ifname = opts->ifname ? opts->ifname : "eth0";
  const char *slash = strchr (net->subnet, '/');
  _cleanup_free_ char *ip = NULL;
  _cleanup_free_ char *cidr = NULL;
  _cleanup_free_ char *ip6 = NULL;
  _cleanup_free_ char *cidr6 = NULL;
  unsigned prefixlen6 = 0;
  _cleanup_nl_ ward_nl_t *nl = NULL;
  unsigned prefixlen = slash ? (unsigned) atoi (slash + 1) : 32;
  int ret;

  if (!valid_id (opts->container_id))
    return ward_error_set (err, EINVAL, "attach to network \"%s\": invalid container id \"%s\"",
                           net->name, opts->container_id ? opts->container_id : "");
  undo.id = opts->container_id;
  undo.lock_dir = lock_dir_of (net);
  ward_network_veth_name (opts->container_id, undo.veth_name);
  if (opts->ifname && strcmp (opts->ifname, "eth0") != 0)
    {
      /* a second network (`ward network connect`) needs a host end of its own */
      _cleanup_free_ char *key = xasprintf ("%s/%s", opts->container_id, opts->ifname);
      ward_network_veth_name (key, undo.veth_name);
    }

  ret = ward_network_setup_bridge (net, err);
  if (ret < 0)
    return ward_error_wrap (err, "attach %s to network \"%s\"", opts->container_id, net->name);
  ret = ward_ipam_allocate (net, opts->container_id, opts->ip, &ip, err);
  if (ret < 0)
    return ret;
  undo.ip = true;
  cidr = xasprintf ("%s/%u", ip, prefixlen);
  if (net->subnet6 && net->gateway6)
    {
      ret = ward_ipam_allocate6 (net, opts->container_id, opts->ip6, &ip6, err);
      if (ret < 0)
        return ret;
      prefixlen6 = (unsigned) atoi (strchr (net->subnet6, '/') + 1);
      cidr6 = xasprintf ("%s/%u", ip6, prefixlen6);
    }
  else if (opts->ip6)
    return ward_error_set (err, EINVAL, "attach %s to network \"%s\": --ip6 on a network without IPv6",
                           opts->container_id, net->name);

  ret = ward_nl_open (-1, &nl, err);
  if (ret < 0)
    return ret;
  ret = ward_link_veth_create (nl, undo.veth_name, ifname, opts->netns_fd, opts->mtu, err);
  if (ret < 0)
    return ward_error_wrap (err, "attach %s to network \"%s\"", opts->container_id, net->name);
  undo.veth = true;
  if ((ret = ward_link_set_master (nl, undo.veth_name, net->bridge, err)) < 0
      || (ret = ward_link_set_hairpin (nl, undo.veth_name, true, err)) < 0
      || (ret = ward_link_set_up (nl, undo.veth_name, true, err)) < 0)
    return ward_error_wrap (err, "attach %s to network \"%s\"", opts->container_id, net->name);
  ret = setup_inside (net, opts, ifname, cidr, cidr6, err);
  if (ret < 0)
    return ward_error_wrap (err, "attach %s to network \"%s\": in the container", opts->container_id,
                            net->name);
  if (opts->n_ports)
    {
      undo.ports = true;
      ret = ward_portmap_add_dual (undo.lock_dir, opts->container_id, ip, ip6, opts->ports,
                                   opts->n_ports, err);
      if (ret < 0)
        return ret;
    }
  ret = write_record (net, opts, ip, ip6, undo.veth_name, err);
  if (ret < 0)
    return ward_error_wrap (err, "attach %s to network \"%s\"", opts->container_id, net->name);

  res->ip = xstrdup (ip);
  res->prefixlen = prefixlen;
  res->gateway = xstrdup (net->gateway);
  res->host_veth = xstrdup (undo.veth_name);
  if (ip6)
    {
      res->ip6 = xstrdup (ip6);
      res->prefixlen6 = prefixlen6;
      res->gateway6 = xstrdup (net->gateway6);
    }
  undo.ip = undo.veth = undo.ports = false;
  return 0;
}

/* Undoes one container's attachment to net; errors are collected in err
 * but every step runs. */
static int detach_one (const ward_network_t *net, const char *id, ward_nl_t *nl,
                       ward_error_t **err)
{
  _cleanup_free_ char *record = xasprintf ("%s/containers/%s.json", net->dir, id);
  _cleanup_free_ char *lock_dir = lock_dir_of (net);
  char veth[16];
  int ret = 0, r;
  /* no record (a crash) or ports in it: the nft rules must be looked for */
  bool had_ports = true;

  ward_network_veth_name (id, veth);
  {
    /* the record names the host end (eth1... of `network connect` differ) */
    _cleanup_free_ char *text = NULL;
    _cleanup_json_ struct json_object *o = NULL;
    struct json_object *v;
    ward_error_t *e = NULL;
    if (ward_read_file_at (AT_FDCWD, record, &text, NULL, 1 << 20, &e) < 0)
      {
        _cleanup_free_ char *ip = NULL;
        ward_error_free (&e);
        /* neither attached nor holding an address here: no rules either
         * (ward_portmap_reconcile catches what a crash left) */
        if (ward_ipam_lookup (net, id, &ip, &e) == -ENOENT)
          had_ports = false;
        ward_error_free (&e);
      }
    else if ((o = json_tokener_parse (text)) && json_object_object_get_ex (o, "veth", &v)
             && json_object_is_type (v, json_type_string) && strlen (json_object_get_string (v)) < 16)
      snprintf (veth, sizeof veth, "%s", json_object_get_string (v));
    if (o && json_object_object_get_ex (o, "ports", &v) && json_object_is_type (v, json_type_array)
        && json_object_array_length (v) == 0)
      had_ports = false;
  }
  if (nl && (r = ward_link_delete (nl, veth, true, err)) < 0)
    ret = r;
  if (had_ports && (r = ward_portmap_remove (lock_dir, id, err)) < 0 && ret == 0)
    ret = r;
  if ((r = ward_ipam_release (net, id, err)) < 0 && ret == 0)
    ret = r;
  if (unlink (record) < 0 && errno != ENOENT && ret == 0)
    ret = ward_error_set (err, errno, "unlink '%s'", record);
  return ret;
}

int ward_network_detach_one (const ward_network_t *net, const char *container_id,
                             ward_error_t **err)
{
  _cleanup_nl_ ward_nl_t *nl = NULL;
  int ret;
  if (!valid_id (container_id))
    return ward_error_set (err, EINVAL, "detach: invalid container id \"%s\"",
                           container_id ? container_id : "");
  ret = ward_nl_open (-1, &nl, err);
  if (ret < 0)
    return ret;
  ret = detach_one (net, container_id, nl, err);
  if (ret < 0)
    return ward_error_wrap (err, "detach container %s from network \"%s\"", container_id, net->name);
  return 0;
}

int ward_network_detach (const char *state_root, const char *container_id, ward_error_t **err)
{
  return ward_network_detach_ex (state_root, container_id, true, err);
}

int ward_network_detach_ex (const char *state_root, const char *container_id, bool delete_links,
                            ward_error_t **err)
{
  ward_network_t **nets = NULL;
  _cleanup_nl_ ward_nl_t *nl = NULL;
  size_t n = 0;
  int ret = 0, r;

  if (!valid_id (container_id))
    return ward_error_set (err, EINVAL, "detach: invalid container id \"%s\"",
                           container_id ? container_id : "");
  r = ward_network_list (root_or_default (state_root), &nets, &n, err);
  if (r < 0)
    return r;
  if (delete_links && (r = ward_nl_open (-1, &nl, err)) < 0)
    ret = r;
  for (size_t i = 0; i < n; i++)
    if ((r = detach_one (nets[i], container_id, nl, err)) < 0 && ret == 0)
      ret = r;
  if (n == 0)
    {
      /* No network left, yet rules may: remove them anyway. */
      if ((r = ward_portmap_remove (root_or_default (state_root), container_id, err)) < 0)
        ret = r;
      if (nl)
        {
          char veth[16];
          ward_network_veth_name (container_id, veth);
          if ((r = ward_link_delete (nl, veth, true, err)) < 0 && ret == 0)
            ret = r;
        }
    }
  ward_network_list_free (nets, n);
  if (ret < 0)
    return ward_error_wrap (err, "detach container %s", container_id);
  return 0;
}

static bool in_list (const char *id, const char *const *ids, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (ids[i], id) == 0)
      return true;
  return false;
}

/* Ids recorded under net (attach records and IPAM entries). */
static void collect_ids (const ward_network_t *net, char ***ids, size_t *n)
{
  _cleanup_free_ char *dir = xasprintf ("%s/containers", net->dir);
  _cleanup_closedir_ DIR *d = opendir (dir);
  ward_ipam_entry_t *entries = NULL;
  size_t n_entries = 0;
  ward_error_t *e = NULL;
  struct dirent *de;

  while (d && (de = readdir (d)))
    {
      size_t len = strlen (de->d_name);
      if (de->d_name[0] == '.' || len < 6 || strcmp (de->d_name + len - 5, ".json") != 0)
        continue;
      *ids = xrealloc (*ids, (*n + 2) * sizeof **ids);
      (*ids)[(*n)++] = xstrndup (de->d_name, len - 5);
      (*ids)[*n] = NULL;
    }
  if (ward_ipam_list (net, &entries, &n_entries, &e) < 0)
    {
      ward_warn ("reconcile network \"%s\": %s", net->name, e->msg);
      ward_error_free (&e);
    }
  for (size_t i = 0; i < n_entries; i++)
    if (!in_list (entries[i].id, (const char *const *) *ids, *n))
      {
        *ids = xrealloc (*ids, (*n + 2) * sizeof **ids);
        (*ids)[(*n)++] = xstrdup (entries[i].id);
        (*ids)[*n] = NULL;
      }
  ward_ipam_entries_free (entries, n_entries);
}

int ward_network_reconcile (const char *state_root, const char *const *live_ids, size_t n_live,
                            ward_error_t **err)
{
  const char *root = root_or_default (state_root);
  ward_network_t **nets = NULL;
  _cleanup_nl_ ward_nl_t *nl = NULL;
  size_t n = 0;
  int ret = 0, r;

  r = ward_network_list (root, &nets, &n, err);
  if (r < 0)
    return r;
  if ((r = ward_nl_open (-1, &nl, err)) < 0)
    ret = r;
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_strv_ char **ids = NULL;
      size_t n_ids = 0;
      collect_ids (nets[i], &ids, &n_ids);
      for (size_t j = 0; j < n_ids; j++)
        if (!in_list (ids[j], live_ids, n_live) && valid_id (ids[j]))
          {
            ward_debug ("reconcile: detach dead container %s from network \"%s\"", ids[j],
                        nets[i]->name);
            if ((r = detach_one (nets[i], ids[j], nl, err)) < 0 && ret == 0)
              ret = r;
          }
      /* Entries with ids that cannot be detached by name still go. */
      if ((r = ward_ipam_reconcile (nets[i], live_ids, n_live, NULL, err)) < 0 && ret == 0)
        ret = r;
    }
  ward_network_list_free (nets, n);
  if ((r = ward_portmap_reconcile (root, live_ids, n_live, NULL, err)) < 0 && ret == 0)
    ret = r;
  if (ret < 0)
    return ward_error_wrap (err, "reconcile networks");
  return 0;
}

void ward_network_peers_free (ward_host_entry_t *peers, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free ((char *) peers[i].name);
      free ((char *) peers[i].ip);
    }
  free (peers);
}

int ward_network_peers (const ward_network_t *net, const char *exclude_id,
                        ward_host_entry_t **peers, size_t *n, ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/containers", net->dir);
  _cleanup_closedir_ DIR *d = opendir (dir);
  ward_host_entry_t *out = NULL;
  size_t count = 0;
  struct dirent *de;

  *peers = NULL;
  *n = 0;
  if (d == NULL)
    {
      if (errno == ENOENT)
        return 0;
      return ward_error_set (err, errno, "open '%s'", dir);
    }
  while ((de = readdir (d)))
    {
      _cleanup_free_ char *text = NULL;
      _cleanup_json_ struct json_object *o = NULL;
      struct json_object *id, *name, *ip;
      ward_error_t *e = NULL;

      if (de->d_name[0] == '.')
        continue;
      if (ward_read_file_at (dirfd (d), de->d_name, &text, NULL, 1 << 20, &e) < 0)
        {
          ward_error_free (&e);
          continue;
        }
      o = json_tokener_parse (text);
      if (o == NULL || !json_object_object_get_ex (o, "id", &id)
          || !json_object_object_get_ex (o, "name", &name)
          || !json_object_object_get_ex (o, "ip", &ip))
        continue;
      if (exclude_id && strcmp (json_object_get_string (id), exclude_id) == 0)
        continue;
      out = xrealloc (out, (count + 1) * sizeof *out);
      out[count].name = xstrdup (json_object_get_string (name));
      out[count].ip = xstrdup (json_object_get_string (ip));
      count++;
    }
  *peers = out;
  *n = count;
  return 0;
}

void ward_attachments_free (ward_attachment_t *a, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (a[i].network);
      free (a[i].name);
      free (a[i].ip);
      free (a[i].gateway);
      free (a[i].host_veth);
      free (a[i].ip6);
      free (a[i].ports);
    }
  free (a);
}

static char *json_str (struct json_object *o, const char *key)
{
  struct json_object *v;
  if (!json_object_object_get_ex (o, key, &v) || !json_object_is_type (v, json_type_string))
    return NULL;
  return xstrdup (json_object_get_string (v));
}

static int read_attachment (const ward_network_t *net, const char *path, ward_attachment_t *a,
                            ward_error_t **err)
{
  _cleanup_free_ char *text = NULL;
  _cleanup_json_ struct json_object *o = NULL;
  struct json_object *ports;
  const char *slash = strchr (net->subnet, '/');
  int ret = ward_read_file_at (AT_FDCWD, path, &text, NULL, 1 << 20, err);
  if (ret < 0)
    return ret;
  o = json_tokener_parse (text);
  if (o == NULL || !json_object_is_type (o, json_type_object))
    return ward_error_set (err, EINVAL, "'%s': not a JSON object", path);
  memset (a, 0, sizeof *a);
  a->network = xstrdup (net->name);
  a->name = json_str (o, "name");
  a->ip = json_str (o, "ip");
  a->host_veth = json_str (o, "veth");
  a->ip6 = json_str (o, "ip6");
  a->gateway = xstrdup (net->gateway);
  a->prefixlen = slash ? (unsigned) atoi (slash + 1) : 32;
  if (json_object_object_get_ex (o, "ports", &ports) && json_object_is_type (ports, json_type_array))
    {
      size_t np = json_object_array_length (ports);
      a->ports = xzalloc ((np + 1) * sizeof *a->ports);
      for (size_t i = 0; i < np; i++)
        {
          struct json_object *p = json_object_array_get_idx (ports, i), *v;
          ward_port_t *dst = &a->ports[a->n_ports++];
          if (json_object_object_get_ex (p, "host_ip", &v))
            snprintf (dst->host_ip, sizeof dst->host_ip, "%s", json_object_get_string (v));
          if (json_object_object_get_ex (p, "host_port", &v))
            dst->host_port = (uint16_t) json_object_get_int (v);
          if (json_object_object_get_ex (p, "container_port", &v))
            dst->container_port = (uint16_t) json_object_get_int (v);
          dst->proto = json_object_object_get_ex (p, "proto", &v)
                               && strcmp (json_object_get_string (v), "udp") == 0
                           ? IPPROTO_UDP
                           : IPPROTO_TCP;
        }
    }
  if (a->ip == NULL)
    {
      free (a->network);
      free (a->name);
      free (a->host_veth);
      free (a->ip6);
      free (a->gateway);
      free (a->ports);
      return ward_error_set (err, EINVAL, "'%s': ip: expected string", path);
    }
  return 0;
}

int ward_network_attachments (const char *state_root, const char *container_id,
                              ward_attachment_t **out, size_t *n, ward_error_t **err)
{
  ward_network_t **nets = NULL;
  ward_attachment_t *res = NULL;
  size_t n_nets = 0, count = 0;
  int ret;

  *out = NULL;
  *n = 0;
  if (!valid_id (container_id))
    return ward_error_set (err, EINVAL, "network attachments: invalid container id \"%s\"",
                           container_id ? container_id : "");
  ret = ward_network_list (root_or_default (state_root), &nets, &n_nets, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n_nets; i++)
    {
      _cleanup_free_ char *path = xasprintf ("%s/containers/%s.json", nets[i]->dir, container_id);
      ward_error_t *e = NULL;
      if (access (path, F_OK) < 0)
        continue;
      res = xrealloc (res, (count + 1) * sizeof *res);
      if (read_attachment (nets[i], path, &res[count], &e) < 0)
        {
          ward_warn ("network \"%s\": %s", nets[i]->name, e->msg);
          ward_error_free (&e);
          continue;
        }
      count++;
    }
  ward_network_list_free (nets, n_nets);
  if (count == 0)
    {
      free (res);
      res = NULL;
    }
  *out = res;
  *n = count;
  return 0;
}
