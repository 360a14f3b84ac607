/* `ward`'s networking: the glue between the manager (records, monitor) and
 * network/ (bridges, IPAM, nftables, CNI).
 *
 * Design: ward-runtime stays network-agnostic.  For every mode but none and
 * host, config.json joins the netns bind-mounted at <root>/netns/<id>; the
 * monitor makes it (a fresh netns, or the one of the container named by
 * container:NAME) and attaches it right before `create`, and releases it
 * when the container exits, as docker does on stop.  <root>/netns/<id>.lock
 * stays flocked by the monitor meanwhile: a lock nobody holds is what a
 * crashed monitor left, and any later command releases it. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
/* specs.h (through manager.h) has a ward_network_t of its own (the cgroup
 * net_cls/net_prio resources); this file never uses that one, so it is
 * renamed here to let network.h's definition be seen. */
#define ward_network_t ward_oci_net_resources_t
#include "runtime/manager/manager.h"
#undef ward_network_t
#include "network/network.h"

/* The monitor serves one container: its netns lock lives here. */
static int held_lock = -1;

char *ward_mgr_net_state_root (ward_mgr_t *m)
{
  return xasprintf ("%s/networks", m->root);
}

static char *netns_dir (ward_mgr_t *m)
{
  return xasprintf ("%s/netns", m->root);
}

static bool is_default_name (const char *mode)
{
  return mode == NULL || strcmp (mode, "bridge") == 0 || strcmp (mode, "default") == 0
         || strcmp (mode, WARD_NETWORK_DEFAULT_NAME) == 0;
}

/* What a NetworkMode asks for. */
typedef enum { NET_NONE, NET_HOST, NET_BRIDGE, NET_CONTAINER, NET_CNI } net_kind_t;

static net_kind_t net_kind (const char *mode)
{
  if (mode && strcmp (mode, "none") == 0)
    return NET_NONE;
  if (mode && strcmp (mode, "host") == 0)
    return NET_HOST;
  if (mode && strncmp (mode, "container:", 10) == 0)
    return NET_CONTAINER;
  if (mode && strncmp (mode, "cni:", 4) == 0)
    return NET_CNI;
  return NET_BRIDGE;
}

/* The network definition for a bridge mode ("bridge" = the default). */
static int open_network (ward_mgr_t *m, const char *mode, ward_network_t **net, ward_error_t **err)
{
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  int ret;
  if (is_default_name (mode))
    return ward_network_ensure_default (sr, net, err);
  ret = ward_network_inspect (sr, mode, net, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      return ward_error_set_ret (err, -ENOENT, 0, "network %s not found", mode);
    }
  return ret;
}

static const char *cni_conf_dirs_env[2];

static void cni_opts_init (ward_mgr_t *m, ward_cni_opts_t *c, const char *name, const char *id,
                           const char *netns_path, char **cache)
{
  memset (c, 0, sizeof *c);
  /* tests and unusual hosts point ward at their own conflists and plugins */
  cni_conf_dirs_env[0] = getenv ("WARD_CNI_CONF_DIR");
  cni_conf_dirs_env[1] = NULL;
  c->conf_dirs = cni_conf_dirs_env[0] ? cni_conf_dirs_env : NULL;
  c->cni_path = getenv ("CNI_PATH");
  *cache = xasprintf ("%s/cni", m->root);
  c->cache_dir = *cache;
  c->network = name;
  c->container_id = id;
  c->netns_path = netns_path;
}

int ward_mgr_net_check (ward_mgr_t *m, const ward_mgr_run_opts_t *o, ward_error_t **err)
{
  net_kind_t k = net_kind (o->network);
  ward_port_t *ports = NULL;
  size_t n = 0;
  int ret = 0;

  if (o->network && o->network[0] == '\0')
    return ward_error_set_ret (err, -EINVAL, 0, "invalid --network: empty name");
  for (char **p = o->publish; p && *p && ret == 0; p++)
    ret = ward_port_parse (*p, &ports, &n, err);
  for (char **p = o->expose; p && *p && ret == 0; p++)
    {
      const char *one[] = { *p };
      ward_port_t *tmp = NULL;
      size_t nt = 0;
      ret = ward_port_parse_exposed (one, 1, &tmp, &nt, err);
      free (tmp);
    }
  free (ports);
  if (ret < 0)
    return ret;
  if ((n || o->publish_all) && (k == NET_NONE || k == NET_HOST || k == NET_CONTAINER))
    {
      if (k == NET_HOST)
        ward_warn ("Published ports are discarded when using host network mode");
      else
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "conflicting options: port publishing and the container type network mode");
    }
  if (o->ip && (k != NET_BRIDGE || is_default_name (o->network)))
    return ward_error_set_ret (err, -EINVAL, 0,
                               "user specified IP address is supported on user defined networks only");
  if (k == NET_CONTAINER)
    {
      _cleanup_free_ char *other = NULL;
      if ((o->hostname && *o->hostname) || (o->dns && o->dns[0]) || (o->add_hosts && o->add_hosts[0]))
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "conflicting options: hostname, dns or add-host and the network mode");
      ret = ward_mgr_lookup (m, o->network + 10, &other, err);
      if (ret < 0)
        return ret;
    }
  else if (k == NET_CNI)
    {
      _cleanup_free_ char *path = NULL, *cache = NULL;
      ward_cni_opts_t c;
      cni_opts_init (m, &c, o->network + 4, "x", "x", &cache);
      ret = ward_cni_find_conf (c.conf_dirs, o->network + 4, &path, err);
      if (ret < 0)
        return ret;
    }
  else if (k == NET_BRIDGE && !is_default_name (o->network))
    {
      _cleanup_network_ ward_network_t *net = NULL;
      ret = open_network (m, o->network, &net, err);
      if (ret < 0)
        return ret;
    }
  for (char **h = o->add_hosts; h && *h; h++)
    {
      const char *colon = strchr (*h, ':');
      if (colon == NULL || colon == *h || colon[1] == '\0')
        return ward_error_set_ret (err, -EINVAL, 0,
                                   "invalid argument \"%s\" for \"--add-host\" flag: invalid IP address in add-host: \"%s\"",
                                   *h, colon ? colon + 1 : "");
    }
  return 0;
}

static json_object *jstrv (char *const *v)
{
  json_object *a;
  if (v == NULL || v[0] == NULL)
    return json_object_new_array ();
  a = json_object_new_array ();
  for (; *v; v++)
    json_object_array_add (a, json_object_new_string (*v));
  return a;
}

static const char *proto_name (int proto)
{
  return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* The name Networks is keyed by for a mode. */
static const char *network_key (const char *mode)
{
  net_kind_t k = net_kind (mode);
  if (k == NET_NONE)
    return "none";
  if (k == NET_HOST)
    return "host";
  if (k == NET_BRIDGE && is_default_name (mode))
    return WARD_NETWORK_DEFAULT_NAME;
  if (k == NET_CNI)
    return mode + 4;
  return mode;
}

static json_object *endpoint_new (const char *ip_req)
{
  json_object *ep = json_object_new_object ();
  if (ip_req)
    {
      json_object *ipam = json_object_new_object ();
      json_object_object_add (ipam, "IPv4Address", json_object_new_string (ip_req));
      json_object_object_add (ep, "IPAMConfig", ipam);
    }
  else
    json_object_object_add (ep, "IPAMConfig", NULL);
  json_object_object_add (ep, "Links", NULL);
  json_object_object_add (ep, "Aliases", NULL);
  json_object_object_add (ep, "NetworkID", json_object_new_string (""));
  json_object_object_add (ep, "EndpointID", json_object_new_string (""));
  json_object_object_add (ep, "Gateway", json_object_new_string (""));
  json_object_object_add (ep, "IPAddress", json_object_new_string (""));
  json_object_object_add (ep, "IPPrefixLen", json_object_new_int (0));
  json_object_object_add (ep, "IPv6Gateway", json_object_new_string (""));
  json_object_object_add (ep, "GlobalIPv6Address", json_object_new_string (""));
  json_object_object_add (ep, "GlobalIPv6PrefixLen", json_object_new_int (0));
  json_object_object_add (ep, "MacAddress", json_object_new_string (""));
  return ep;
}

void ward_mgr_net_record_init (ward_mgr_t *m, const ward_mgr_run_opts_t *o,
                               char *const *image_exposed, size_t n_image_exposed,
                               json_object *rec)
{
  json_object *h, *c, *ns, *nets, *bindings = json_object_new_object ();
  json_object *exposed = json_object_new_object ();
  ward_port_t *ports = NULL;
  size_t n = 0;
  _cleanup_free_ char *mode = NULL;
  _cleanup_error_ ward_error_t *e = NULL;

  if (!json_object_object_get_ex (rec, "HostConfig", &h)
      || !json_object_object_get_ex (rec, "Config", &c)
      || !json_object_object_get_ex (rec, "NetworkSettings", &ns))
    {
      json_object_put (bindings);
      json_object_put (exposed);
      return;
    }
  if (net_kind (o->network) == NET_CONTAINER)
    {
      _cleanup_free_ char *other = NULL;
      _cleanup_error_ ward_error_t *e2 = NULL;
      if (ward_mgr_lookup (m, o->network + 10, &other, &e2) == 0)
        mode = xasprintf ("container:%s", other);
    }
  if (mode == NULL)
    mode = xstrdup (is_default_name (o->network) ? "bridge" : o->network);
  json_object_object_add (h, "NetworkMode", json_object_new_string (mode));
  for (char **p = o->publish; p && *p; p++)
    if (ward_port_parse (*p, &ports, &n, &e) < 0)
      ward_error_free (&e);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *key = xasprintf ("%u/%s", ports[i].container_port, proto_name (ports[i].proto));
      _cleanup_free_ char *hp = ports[i].host_port ? xasprintf ("%u", ports[i].host_port) : xstrdup ("");
      json_object *list, *b = json_object_new_object ();
      if (!json_object_object_get_ex (bindings, key, &list))
        {
          list = json_object_new_array ();
          json_object_object_add (bindings, key, list);
        }
      json_object_object_add (b, "HostIp", json_object_new_string (ports[i].host_ip));
      json_object_object_add (b, "HostPort", json_object_new_string (hp));
      json_object_array_add (list, b);
      json_object_object_add (exposed, key, json_object_new_object ());
    }
  free (ports);
  for (size_t i = 0; i < n_image_exposed; i++)
    json_object_object_add (exposed, image_exposed[i], json_object_new_object ());
  for (char **p = o->expose; p && *p; p++)
    {
      _cleanup_free_ char *key = strchr (*p, '/') ? xstrdup (*p) : xasprintf ("%s/tcp", *p);
      json_object_object_add (exposed, key, json_object_new_object ());
    }
  json_object_object_add (h, "PortBindings", bindings);
  json_object_object_add (h, "PublishAllPorts", json_object_new_boolean (o->publish_all));
  json_object_object_add (h, "Dns", jstrv (o->dns));
  json_object_object_add (h, "DnsSearch", jstrv (o->dns_search));
  json_object_object_add (h, "DnsOptions", jstrv (o->dns_options));
  json_object_object_add (h, "ExtraHosts", o->add_hosts && o->add_hosts[0] ? jstrv (o->add_hosts) : NULL);
  if (json_object_object_length (exposed))
    json_object_object_add (c, "ExposedPorts", exposed);
  else
    json_object_put (exposed);
  nets = json_object_new_object ();
  if (net_kind (o->network) != NET_CONTAINER)
    json_object_object_add (nets, network_key (o->network), endpoint_new (o->ip));
  json_object_object_add (ns, "Networks", nets);
}

int ward_mgr_net_patch_config (ward_mgr_t *m, const ward_mgr_run_opts_t *o, const char *id,
                               char **config, ward_error_t **err)
{
  net_kind_t k = net_kind (o->network);
  _cleanup_json_ json_object *cfg = NULL;
  _cleanup_free_ char *path = NULL;
  json_object *linux_, *nss;

  if (k == NET_NONE || k == NET_HOST)
    return 0;
  cfg = json_tokener_parse (*config);
  if (cfg == NULL || !json_object_object_get_ex (cfg, "linux", &linux_)
      || !json_object_object_get_ex (linux_, "namespaces", &nss))
    return ward_error_set_ret (err, -EINVAL, 0, "config.json: linux.namespaces missing");
  path = xasprintf ("%s/netns/%s", m->root, id);
  for (size_t i = 0; i < json_object_array_length (nss); i++)
    {
      json_object *n = json_object_array_get_idx (nss, i), *t;
      if (json_object_object_get_ex (n, "type", &t) && strcmp (json_object_get_string (t), "network") == 0)
        json_object_object_add (n, "path", json_object_new_string (path));
    }
  free (*config);
  *config = xstrdup (json_object_to_json_string_ext (cfg, JSON_C_TO_STRING_PRETTY));
  return 0;
}

/* ---- netns files ---------------------------------------------------------- */

struct unshare_arg
{
  int fd;
  int err;
};

static void *unshare_thread (void *p)
{
  struct unshare_arg *a = p;
  /* a thread may have a netns of its own: the process keeps its own */
  if (unshare (CLONE_NEWNET) < 0)
    a->err = errno;
  else if ((a->fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
    a->err = errno;
  return NULL;
}

static void netns_unmount (const char *path)
{
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    ward_debug ("umount '%s': %s", path, strerror (errno));
  if (unlink (path) < 0 && errno != ENOENT)
    ward_debug ("unlink '%s': %s", path, strerror (errno));
}

/* Bind-mounts the netns src_fd at path (made fresh). */
static int netns_bind (int src_fd, const char *path, ward_error_t **err)
{
  _cleanup_close_ int fd = -1;
  char src[64];
  netns_unmount (path);
  fd = open (path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return ward_error_set (err, errno, "create '%s'", path);
  snprintf (src, sizeof src, "/proc/self/fd/%d", src_fd);
  if (mount (src, path, NULL, MS_BIND, NULL) < 0)
    {
      int r = ward_error_set (err, errno, "bind-mount netns on '%s'", path);
      unlink (path);
      return r;
    }
  return 0;
}

static int netns_new (const char *path, int *fd_out, ward_error_t **err)
{
  struct unshare_arg a = { .fd = -1, .err = 0 };
  pthread_t t;
  int ret;
  if ((ret = pthread_create (&t, NULL, unshare_thread, &a)) != 0)
    return ward_error_set (err, ret, "create a network namespace: thread");
  pthread_join (t, NULL);
  if (a.err)
    {
      if (a.fd >= 0)
        close (a.fd);
      return ward_error_set (err, a.err, "create a network namespace");
    }
  ret = netns_bind (a.fd, path, err);
  if (ret < 0)
    {
      close (a.fd);
      return ret;
    }
  *fd_out = a.fd;
  return 0;
}

/* ---- records -------------------------------------------------------------- */

static json_object *obj_child (json_object *o, const char *key)
{
  json_object *v;
  if (!json_object_object_get_ex (o, key, &v) || !json_object_is_type (v, json_type_object))
    {
      v = json_object_new_object ();
      json_object_object_add (o, key, v);
    }
  return v;
}

typedef struct
{
  const char *key;          /* Networks key */
  const ward_attach_result_t *res;
  const char *veth;
  const ward_port_t *ports;
  size_t n_ports;
  bool primary;
  const char *sandbox;      /* SandboxKey (the netns path), NULL = keep */
} upd_attach_t;

static void set_ports (json_object *ns, const ward_port_t *ports, size_t n)
{
  json_object *pj = json_object_new_object ();
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *key = xasprintf ("%u/%s", ports[i].container_port, proto_name (ports[i].proto));
      _cleanup_free_ char *hp = xasprintf ("%u", ports[i].host_port);
      json_object *list, *b = json_object_new_object ();
      if (!json_object_object_get_ex (pj, key, &list) || list == NULL)
        {
          list = json_object_new_array ();
          json_object_object_add (pj, key, list);
        }
      json_object_object_add (b, "HostIp", json_object_new_string (ports[i].host_ip[0] ? ports[i].host_ip : "0.0.0.0"));
      json_object_object_add (b, "HostPort", json_object_new_string (hp));
      json_object_array_add (list, b);
    }
  json_object_object_add (ns, "Ports", pj);
}

static void upd_attach (json_object *rec, void *data)
{
  upd_attach_t *u = data;
  json_object *ns = obj_child (rec, "NetworkSettings");
  json_object *nets = obj_child (ns, "Networks");
  json_object *ep, *old;
  if (json_object_object_get_ex (nets, u->key, &old) && json_object_is_type (old, json_type_object))
    ep = old;
  else
    {
      ep = endpoint_new (NULL);
      json_object_object_add (nets, u->key, ep);
    }
  json_object_object_add (ep, "Gateway", json_object_new_string (u->res->gateway ? u->res->gateway : ""));
  json_object_object_add (ep, "IPAddress", json_object_new_string (u->res->ip ? u->res->ip : ""));
  json_object_object_add (ep, "IPPrefixLen", json_object_new_int ((int) u->res->prefixlen));
  json_object_object_add (ep, "GlobalIPv6Address", json_object_new_string (u->res->ip6 ? u->res->ip6 : ""));
  json_object_object_add (ep, "IPv6Gateway", json_object_new_string (u->res->gateway6 ? u->res->gateway6 : ""));
  json_object_object_add (ep, "EndpointID", json_object_new_string (u->veth ? u->veth : ""));
  if (u->sandbox)
    json_object_object_add (ns, "SandboxKey", json_object_new_string (u->sandbox));
  if (u->primary)
    {
      json_object_object_add (ns, "IPAddress", json_object_new_string (u->res->ip ? u->res->ip : ""));
      json_object_object_add (ns, "IPPrefixLen", json_object_new_int ((int) u->res->prefixlen));
      json_object_object_add (ns, "Gateway", json_object_new_string (u->res->gateway ? u->res->gateway : ""));
      json_object_object_add (ns, "Bridge", json_object_new_string (""));
      set_ports (ns, u->ports, u->n_ports);
    }
}

/* docker empties the addresses of a stopped container but keeps the keys. */
static void upd_release (json_object *rec, void *data)
{
  json_object *ns = obj_child (rec, "NetworkSettings");
  json_object *nets = obj_child (ns, "Networks");
  const char *only = data;
  if (only == NULL)
    {
      json_object_object_add (ns, "IPAddress", json_object_new_string (""));
      json_object_object_add (ns, "IPPrefixLen", json_object_new_int (0));
      json_object_object_add (ns, "Gateway", json_object_new_string (""));
      json_object_object_add (ns, "Ports", json_object_new_object ());
      json_object_object_add (ns, "SandboxKey", json_object_new_string (""));
    }
  json_object_object_foreach (nets, k, ep)
    {
      if (only && strcmp (k, only) != 0)
        continue;
      if (!json_object_is_type (ep, json_type_object))
        continue;
      json_object_object_add (ep, "IPAddress", json_object_new_string (""));
      json_object_object_add (ep, "Gateway", json_object_new_string (""));
      json_object_object_add (ep, "IPPrefixLen", json_object_new_int (0));
      json_object_object_add (ep, "EndpointID", json_object_new_string (""));
      json_object_object_add (ep, "GlobalIPv6Address", json_object_new_string (""));
    }
  if (only)
    json_object_object_del (nets, only);
}

/* ---- /etc files ------------------------------------------------------------- */

static char **rec_strv (json_object *rec, const char *k1, const char *k2)
{
  json_object *a, *arr;
  char **v;
  size_t n;
  if (!json_object_object_get_ex (rec, k1, &a) || !json_object_object_get_ex (a, k2, &arr)
      || !json_object_is_type (arr, json_type_array))
    return NULL;
  n = json_object_array_length (arr);
  if (n == 0)
    return NULL;
  v = xzalloc ((n + 1) * sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup (json_object_get_string (json_object_array_get_idx (arr, i)) ?: "");
  return v;
}

static int write_in_place (ward_mgr_t *m, const char *id, const char *name, const char *data,
                           ward_error_t **err)
{
  _cleanup_free_ char *dir = xasprintf ("%s/%s", m->cdir, id);
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return ward_error_set (err, errno, "open '%s'", dir);
  /* truncate + write keeps the inode the container has bind-mounted */
  return ward_create_file_at (dfd, name, data, strlen (data), 0644, err);
}

/* /etc/hosts of container id from its record and current attachments:
 * its own address and names, the containers on its user networks, and
 * --add-host entries. */
static int regen_hosts (ward_mgr_t *m, const char *id, ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  _cleanup_strv_ char **add = NULL;
  _cleanup_free_ char *hosts = NULL;
  ward_attachment_t *at = NULL;
  size_t n_at = 0;
  ward_host_entry_t *peers = NULL;
  size_t n_peers = 0;
  const char *name, *hostname;
  ward_hosts_opts_t ho;
  int ret = ward_mgr_record_read (m, id, &rec, err);
  if (ret < 0)
    return ret;
  name = ward_mgr_rec_str (rec, "Name");
  hostname = ward_mgr_rec_str (rec, "Config.Hostname");
  add = rec_strv (rec, "HostConfig", "ExtraHosts");
  ret = ward_network_attachments (sr, id, &at, &n_at, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n_at; i++)
    {
      _cleanup_network_ ward_network_t *net = NULL;
      ward_host_entry_t *p = NULL;
      size_t np = 0;
      _cleanup_error_ ward_error_t *e = NULL;
      /* docker's default bridge gives no name resolution between containers */
      if (strcmp (at[i].network, WARD_NETWORK_DEFAULT_NAME) == 0)
        continue;
      if (ward_network_inspect (sr, at[i].network, &net, &e) < 0
          || ward_network_peers (net, id, &p, &np, &e) < 0)
        continue;
      peers = xrealloc (peers, (n_peers + np + 1) * sizeof *peers);
      memcpy (peers + n_peers, p, np * sizeof *p);
      n_peers += np;
      free (p);
    }
  memset (&ho, 0, sizeof ho);
  ho.hostname = hostname;
  ho.name = name && name[0] == '/' ? name + 1 : name;
  ho.ip = n_at ? at[0].ip : NULL;
  ho.peers = peers;
  ho.n_peers = n_peers;
  ho.add_hosts = (const char *const *) add;
  ret = ward_hosts_generate (&ho, &hosts, err);
  ward_network_peers_free (peers, n_peers);
  ward_attachments_free (at, n_at);
  if (ret < 0)
    return ret;
  return write_in_place (m, id, "hosts", hosts, err);
}

/* Regenerates /etc/hosts of every container on network (but skip). */
static void regen_peers (ward_mgr_t *m, const char *network, const char *skip)
{
  _cleanup_free_ char *dir = NULL;
  _cleanup_closedir_ DIR *d = NULL;
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  struct dirent *de;
  if (strcmp (network, WARD_NETWORK_DEFAULT_NAME) == 0)
    return;
  dir = xasprintf ("%s/%s/containers", sr, network);
  d = opendir (dir);
  while (d && (de = readdir (d)))
    {
      size_t len = strlen (de->d_name);
      _cleanup_free_ char *pid = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (de->d_name[0] == '.' || len < 6 || strcmp (de->d_name + len - 5, ".json") != 0)
        continue;
      pid = xstrndup (de->d_name, len - 5);
      if (skip && strcmp (pid, skip) == 0)
        continue;
      if (regen_hosts (m, pid, &e) < 0)
        ward_debug ("hosts of %s: %s", pid, e->msg);
    }
}

static int write_resolv (ward_mgr_t *m, const char *id, json_object *rec, char **cni_dns,
                         ward_error_t **err)
{
  _cleanup_strv_ char **dns = rec_strv (rec, "HostConfig", "Dns");
  _cleanup_strv_ char **search = rec_strv (rec, "HostConfig", "DnsSearch");
  _cleanup_strv_ char **opts = rec_strv (rec, "HostConfig", "DnsOptions");
  _cleanup_free_ char *text = NULL;
  ward_resolv_opts_t ro = { .host_resolv_conf = getenv ("WARD_HOST_RESOLV_CONF"),
                            .dns = (const char *const *) (dns ? dns : cni_dns),
                            .dns_search = (const char *const *) search,
                            .dns_options = (const char *const *) opts };
  int ret = ward_resolvconf_generate (&ro, &text, err);
  if (ret < 0)
    return ret;
  return write_in_place (m, id, "resolv.conf", text, err);
}

/* ---- ports ------------------------------------------------------------------- */

/* One PortBindings / ExposedPorts key: "80/tcp" -> 80, IPPROTO_TCP. */
static bool port_key (const char *key, unsigned *port, int *proto)
{
  char name[8] = "tcp";
  if (sscanf (key, "%u/%7s", port, name) < 1 || *port == 0 || *port > 65535)
    return false;
  *proto = strcmp (name, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
  return true;
}

static void binding_ports (json_object *bindings, ward_port_t **ports, size_t *n)
{
  json_object_object_foreach (bindings, key, list)
    {
      unsigned cport;
      int proto;
      if (!port_key (key, &cport, &proto) || !json_object_is_type (list, json_type_array))
        continue;
      for (size_t i = 0; i < json_object_array_length (list); i++)
        {
          json_object *e = json_object_array_get_idx (list, i), *v;
          ward_port_t p;
          memset (&p, 0, sizeof p);
          p.container_port = (uint16_t) cport;
          p.proto = proto;
          if (json_object_object_get_ex (e, "HostIp", &v) && json_object_get_string (v))
            snprintf (p.host_ip, sizeof p.host_ip, "%s", json_object_get_string (v));
          if (json_object_object_get_ex (e, "HostPort", &v) && json_object_get_string (v))
            p.host_port = (uint16_t) atoi (json_object_get_string (v));
          *ports = xrealloc (*ports, (*n + 1) * sizeof **ports);
          (*ports)[(*n)++] = p;
        }
    }
}

/* -P: every exposed port not bound explicitly gets a random host port. */
static int exposed_ports (json_object *exposed, ward_port_t **ports, size_t *n, ward_error_t **err)
{
  json_object_object_foreach (exposed, key, unused)
    {
      unsigned cport;
      int proto, ret;
      bool have = false;
      const char *one[] = { key };
      (void) unused;
      if (!port_key (key, &cport, &proto))
        continue;
      for (size_t i = 0; i < *n; i++)
        have |= (*ports)[i].container_port == cport && (*ports)[i].proto == proto;
      if (!have && (ret = ward_port_parse_exposed (one, 1, ports, n, err)) < 0)
        return ret;
    }
  return 0;
}

/* The mappings a start publishes: HostConfig.PortBindings, plus
 * Config.ExposedPorts with -P. */
static int record_ports (json_object *rec, ward_port_t **ports, size_t *n, ward_error_t **err)
{
  json_object *h, *b, *c, *ex;
  *ports = NULL;
  *n = 0;
  if (json_object_object_get_ex (rec, "HostConfig", &h) && json_object_object_get_ex (h, "PortBindings", &b)
      && json_object_is_type (b, json_type_object))
    binding_ports (b, ports, n);
  if (ward_mgr_rec_bool (rec, "HostConfig.PublishAllPorts") && json_object_object_get_ex (rec, "Config", &c)
      && json_object_object_get_ex (c, "ExposedPorts", &ex) && json_object_is_type (ex, json_type_object))
    return exposed_ports (ex, ports, n, err);
  return 0;
}

/* ---- prepare / release --------------------------------------------------------- */

static int take_lock (const char *path, bool wait, ward_error_t **err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  if (flock (fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
    {
      int r = errno == EWOULDBLOCK ? -EWOULDBLOCK : ward_error_set (err, errno, "lock '%s'", path);
      close (fd);
      return r;
    }
  return fd;
}

static int attach_bridge (ward_mgr_t *m, const char *id, json_object *rec, const char *mode,
                          int nsfd, const char *ip_req, const char *ifname, bool primary,
                          ward_error_t **err)
{
  _cleanup_network_ ward_network_t *net = NULL;
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  ward_port_t *ports = NULL;
  size_t n_ports = 0;
  ward_attach_result_t res;
  const char *name = ward_mgr_rec_str (rec, "Name");
  int ret = open_network (m, mode, &net, err);
  if (ret < 0)
    return ret;
  if (primary && (ret = record_ports (rec, &ports, &n_ports, err)) < 0)
    return ret;
  if (n_ports && (ret = ward_port_assign (ports, n_ports, err)) < 0)
    {
      free (ports);
      return ret;
    }
  memset (&res, 0, sizeof res);
  {
    ward_attach_opts_t ao = { .state_root = sr, .container_id = id,
                              .name = name && name[0] == '/' ? name + 1 : name, .netns_fd = nsfd,
                              .ifname = ifname, .ip = ip_req, .ports = ports, .n_ports = n_ports,
                              .no_default_route = !primary };
    ret = ward_network_attach (net, &ao, &res, err);
  }
  if (ret == 0)
    {
      _cleanup_free_ char *sandbox = xasprintf ("%s/netns/%s", m->root, id);
      upd_attach_t u = { .key = network_key (mode), .res = &res, .veth = res.host_veth,
                         .ports = ports, .n_ports = n_ports, .primary = primary,
                         .sandbox = primary ? sandbox : NULL };
      ret = ward_mgr_record_update (m, id, upd_attach, &u, err);
    }
  free (ports);
  ward_attach_result_clear (&res);
  if (ret == 0)
    regen_peers (m, net->name, id);
  return ret;
}

static const char *requested_ip (json_object *rec, const char *key)
{
  json_object *ns, *nets, *ep, *ipam, *v;
  if (json_object_object_get_ex (rec, "NetworkSettings", &ns) && json_object_object_get_ex (ns, "Networks", &nets)
      && json_object_object_get_ex (nets, key, &ep) && json_object_object_get_ex (ep, "IPAMConfig", &ipam)
      && ipam && json_object_object_get_ex (ipam, "IPv4Address", &v))
    return json_object_get_string (v);
  return NULL;
}

static int prepare_container_mode (ward_mgr_t *m, const char *id, const char *other,
                                   const char *path, ward_error_t **err)
{
  _cleanup_json_ json_object *orec = NULL;
  _cleanup_free_ char *src = NULL;
  _cleanup_close_ int fd = -1;
  int64_t pid;
  int ret = ward_mgr_record_refresh (m, other, &orec, err);
  if (ret < 0)
    return ret;
  pid = ward_mgr_rec_int (orec, "State.Pid");
  if (!ward_mgr_is_running (m, orec) || pid <= 0)
    return ward_error_set_ret (err, -EINVAL, 0, "cannot join network of a non running container: %s", other);
  src = xasprintf ("/proc/%lld/ns/net", (long long) pid);
  fd = open (src, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", src);
  ret = netns_bind (fd, path, err);
  if (ret < 0)
    return ret;
  /* docker shares the other container's hosts and resolv.conf */
  for (const char *f = "hosts"; f; f = strcmp (f, "hosts") == 0 ? "resolv.conf" : NULL)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s/%s", m->cdir, other, f);
      _cleanup_free_ char *text = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (ward_read_file_at (AT_FDCWD, p, &text, NULL, 1 << 20, &e) == 0)
        write_in_place (m, id, f, text, &e);
    }
  return 0;
}

static int prepare_cni (ward_mgr_t *m, const char *id, json_object *rec, const char *name,
                        const char *path, ward_error_t **err)
{
  _cleanup_free_ char *cache = NULL;
  _cleanup_free_ char *marker = xasprintf ("%s/netns/%s.cni", m->root, id);
  ward_cni_result_t *res = NULL;
  ward_cni_opts_t c;
  ward_attach_result_t ar;
  int ret;

  cni_opts_init (m, &c, name, id, path, &cache);
  /* the marker first: a crash after ADD still finds the DEL to run */
  ret = ward_create_file_at (AT_FDCWD, marker, name, strlen (name), 0600, err);
  if (ret < 0)
    return ret;
  ret = ward_cni_add (&c, &res, err);
  if (ret < 0)
    {
      unlink (marker);
      return ward_error_wrap (err, "CNI network \"%s\"", name);
    }
  memset (&ar, 0, sizeof ar);
  if (res->n_ips)
    {
      char *slash = strchr (res->ips[0].address, '/');
      ar.ip = slash ? xstrndup (res->ips[0].address, (size_t) (slash - res->ips[0].address))
                    : xstrdup (res->ips[0].address);
      ar.prefixlen = slash ? (unsigned) atoi (slash + 1) : 32;
      ar.gateway = res->ips[0].gateway ? xstrdup (res->ips[0].gateway) : NULL;
    }
  {
    upd_attach_t u = { .key = name, .res = &ar, .primary = true, .sandbox = path };
    ret = ward_mgr_record_update (m, id, upd_attach, &u, err);
  }
  if (ret == 0)
    ret = write_resolv (m, id, rec, res->dns_nameservers, err);
  if (ret == 0 && ar.ip)
    {
      _cleanup_free_ char *hosts = NULL;
      _cleanup_strv_ char **add = rec_strv (rec, "HostConfig", "ExtraHosts");
      const char *nm = ward_mgr_rec_str (rec, "Name");
      ward_hosts_opts_t ho = { .hostname = ward_mgr_rec_str (rec, "Config.Hostname"),
                               .name = nm && nm[0] == '/' ? nm + 1 : nm, .ip = ar.ip,
                               .add_hosts = (const char *const *) add };
      ret = ward_hosts_generate (&ho, &hosts, err);
      if (ret == 0)
        ret = write_in_place (m, id, "hosts", hosts, err);
    }
  ward_attach_result_clear (&ar);
  ward_cni_result_free (res);
  return ret;
}

static double now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

int ward_mgr_net_prepare (ward_mgr_t *m, const char *id, ward_error_t **err)
{
  double t0 = now_ms ();
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *dir = netns_dir (m);
  _cleanup_free_ char *path = NULL;
  _cleanup_free_ char *lockp = NULL;
  _cleanup_close_ int nsfd = -1;
  const char *mode;
  net_kind_t k;
  int ret = ward_mgr_record_read (m, id, &rec, err);

  if (ret < 0)
    return ret;
  mode = ward_mgr_rec_str (rec, "HostConfig.NetworkMode");
  k = net_kind (mode);
  if (k == NET_NONE || k == NET_HOST)
    return 0;
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return ward_error_set (err, errno, "mkdir '%s'", dir);
  path = xasprintf ("%s/%s", dir, id);
  lockp = xasprintf ("%s/%s.lock", dir, id);
  /* a restart re-attaches: whatever the last life left goes first */
  if (held_lock >= 0)
    ward_mgr_net_release (m, id);
  /* a reconcile may unlink the file between our open and flock: the lock
   * counts only on the inode the path still names */
  for (int tries = 0;; tries++)
    {
      struct stat a, b;
      ret = take_lock (lockp, true, err);
      if (ret < 0)
        return ret;
      if (tries > 10 || (fstat (ret, &a) == 0 && stat (lockp, &b) == 0 && a.st_ino == b.st_ino))
        break;
      close (ret);
    }
  held_lock = ret;

  if (k == NET_CONTAINER)
    ret = prepare_container_mode (m, id, mode + 10, path, err);
  else
    {
      ret = netns_new (path, &nsfd, err);
      if (ret == 0 && k == NET_CNI)
        ret = prepare_cni (m, id, rec, mode + 4, path, err);
      else if (ret == 0)
        {
          const char *key = network_key (mode);
          ret = attach_bridge (m, id, rec, is_default_name (mode) ? NULL : mode, nsfd,
                               requested_ip (rec, key), NULL, true, err);
          if (ret == 0)
            ret = write_resolv (m, id, rec, NULL, err);
          if (ret == 0)
            ret = regen_hosts (m, id, err);
        }
    }
  if (ret < 0)
    {
      ward_error_wrap (err, "network of container %.12s", id);
      ward_mgr_net_release (m, id);
      return ret;
    }
  ward_debug ("network of %.12s (%s) set up in %.2f ms", id, mode ? mode : "bridge", now_ms () - t0);
  return 0;
}

/* Undoes everything of id.  lazy_links: the container is gone, so
 * unmounting its netns lets the kernel delete the veths in the background
 * (a synchronous delete costs an RCU grace period, ~15 ms per run). */
static void release_id (ward_mgr_t *m, const char *id, bool update_record, bool lazy_links)
{
  _cleanup_free_ char *dir = netns_dir (m);
  _cleanup_free_ char *path = xasprintf ("%s/%s", dir, id);
  _cleanup_free_ char *marker = xasprintf ("%s/%s.cni", dir, id);
  _cleanup_free_ char *lockp = xasprintf ("%s/%s.lock", dir, id);
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  _cleanup_free_ char *cni = NULL;
  ward_attachment_t *at = NULL;
  size_t n_at = 0;
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_free_ char *serial = xasprintf ("%s/.network-release.lock", m->root);
  /* The monitor (on the container's exit) and `ward rm` may release the
   * same container at once; interleaved, one could write back a peer list
   * or an IPAM entry the other had just removed.  Releases nest within one
   * process (a peer's reconcile), and a second flock of the same file from
   * a new open would wait for ourselves: only the outermost one locks. */
  static int serial_depth;
  _cleanup_close_ int serial_fd = serial_depth == 0 ? open (serial, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
  bool had_netns;

  if (serial_fd >= 0)
    while (flock (serial_fd, LOCK_EX) < 0 && errno == EINTR)
      ;
  serial_depth++;
  had_netns = access (path, F_OK) == 0;
  if (ward_read_file_at (AT_FDCWD, marker, &cni, NULL, 4096, &e) == 0)
    {
      _cleanup_free_ char *cache = NULL;
      ward_cni_opts_t c;
      cni_opts_init (m, &c, cni, id, path, &cache);
      if (ward_cni_del (&c, &e) < 0)
        ward_warn ("CNI DEL %.12s: %s", id, e->msg);
      unlink (marker);
    }
  ward_error_free (&e);
  if (ward_network_attachments (sr, id, &at, &n_at, &e) < 0)
    ward_error_free (&e);
  if (lazy_links)
    netns_unmount (path);
  if (n_at && ward_network_detach_ex (sr, id, !lazy_links, &e) < 0)
    ward_warn ("%s", e->msg);
  ward_error_free (&e);
  for (size_t i = 0; i < n_at; i++)
    regen_peers (m, at[i].network, id);
  ward_attachments_free (at, n_at);
  netns_unmount (path);
  /* nothing was set up (none/host, or already released): no record write */
  if (update_record && (had_netns || cni || n_at))
    ward_mgr_record_update (m, id, upd_release, NULL, &e);
  unlink (lockp);
  serial_depth--;
}

/* Whether another entry of <root>/netns is the same netns as id's (a
 * container:NAME container joined it). */
static bool netns_shared (ward_mgr_t *m, const char *id)
{
  _cleanup_free_ char *dir = netns_dir (m);
  _cleanup_closedir_ DIR *d = opendir (dir);
  struct stat own, st;
  struct dirent *de;
  if (d == NULL || fstatat (dirfd (d), id, &own, 0) < 0)
    return false;
  while ((de = readdir (d)))
    if (de->d_name[0] != '.' && strcmp (de->d_name, id) != 0 && !strchr (de->d_name, '.')
        && fstatat (dirfd (d), de->d_name, &st, 0) == 0 && st.st_ino == own.st_ino
        && st.st_dev == own.st_dev)
      return true;
  return false;
}

void ward_mgr_net_release (ward_mgr_t *m, const char *id)
{
  double t0 = now_ms ();
  /* only the monitor (holding the lock) knows the container is gone; the
   * netns dies with the unmount unless another container joined it */
  release_id (m, id, true, held_lock >= 0 && !netns_shared (m, id));
  ward_debug ("network of %.12s released in %.2f ms", id, now_ms () - t0);
  if (held_lock >= 0)
    {
      close (held_lock);
      held_lock = -1;
    }
}

/* Alive and not a zombie: killed processes wait for a reaper that may be
 * slow (the monitor double-forks, so init reaps them). */
static bool pid_alive (int64_t pid)
{
  char path[64], st[256];
  _cleanup_close_ int fd = -1;
  ssize_t n;
  char *rp;
  if (pid <= 0 || (kill ((pid_t) pid, 0) < 0 && errno != EPERM))
    return false;
  snprintf (path, sizeof path, "/proc/%lld/stat", (long long) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (n = read (fd, st, sizeof st - 1)) <= 0)
    return false;
  st[n] = '\0';
  rp = strrchr (st, ')');
  return rp == NULL || (rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X');
}

void ward_mgr_net_reconcile (ward_mgr_t *m)
{
  _cleanup_free_ char *dir = netns_dir (m);
  _cleanup_closedir_ DIR *d = opendir (dir);
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      size_t len = strlen (de->d_name);
      _cleanup_free_ char *id = NULL;
      _cleanup_free_ char *lockp = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      _cleanup_json_ json_object *rec = NULL;
      int fd;
      if (len < 6 || de->d_name[0] == '.' || strcmp (de->d_name + len - 5, ".lock") != 0)
        continue;
      id = xstrndup (de->d_name, len - 5);
      lockp = xasprintf ("%s/%s", dir, de->d_name);
      fd = take_lock (lockp, false, &e);
      if (fd < 0)
        continue;  /* held: a live monitor */
      {
        /* another command released it meanwhile (and unlinked the file) */
        struct stat a, b;
        if (fstat (fd, &a) < 0 || stat (lockp, &b) < 0 || a.st_ino != b.st_ino)
          {
            close (fd);
            continue;
          }
      }
      /* no monitor; the container itself may outlive it */
      if (ward_mgr_record_read (m, id, &rec, &e) == 0
          && (pid_alive (ward_mgr_rec_int (rec, "State.MonitorPid"))
              || pid_alive (ward_mgr_rec_int (rec, "State.Pid"))))
        {
          close (fd);
          continue;
        }
      ward_debug ("reconcile: releasing the network of dead container %.12s", id);
      release_id (m, id, rec != NULL, false);
      close (fd);
    }
}

/* ---- connect / disconnect ------------------------------------------------------ */

int ward_mgr_net_connect (ward_mgr_t *m, const char *id, const char *network, const char *ip,
                          ward_error_t **err)
{
  _cleanup_json_ json_object *rec = NULL;
  _cleanup_free_ char *path = xasprintf ("%s/netns/%s", m->root, id);
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  _cleanup_close_ int nsfd = -1;
  ward_attachment_t *at = NULL;
  size_t n_at = 0;
  char ifname[16];
  int ret = ward_mgr_record_refresh (m, id, &rec, err);
  const char *key = is_default_name (network) ? WARD_NETWORK_DEFAULT_NAME : network;
  if (ret < 0)
    return ret;
  if (net_kind (ward_mgr_rec_str (rec, "HostConfig.NetworkMode")) != NET_BRIDGE)
    return ward_error_set_ret (err, -EINVAL, 0, "container %s is not on a bridge network: cannot connect it to %s", id, network);
  if (!ward_mgr_is_running (m, rec))
    return ward_error_set_ret (err, -EINVAL, 0, "container %s is not running", id);
  ret = ward_network_attachments (sr, id, &at, &n_at, err);
  if (ret < 0)
    return ret;
  for (size_t i = 0; i < n_at; i++)
    if (strcmp (at[i].network, key) == 0)
      {
        ward_attachments_free (at, n_at);
        return ward_error_set_ret (err, -EEXIST, 0, "endpoint with name %s already exists in network %s",
                                   ward_mgr_rec_str (rec, "Name") + 1, key);
      }
  snprintf (ifname, sizeof ifname, "eth%zu", n_at);
  ward_attachments_free (at, n_at);
  nsfd = open (path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  ret = attach_bridge (m, id, rec, is_default_name (network) ? NULL : network, nsfd, ip, ifname,
                       false, err);
  if (ret == 0)
    ret = regen_hosts (m, id, err);
  return ret;
}

int ward_mgr_net_disconnect (ward_mgr_t *m, const char *id, const char *network,
                             ward_error_t **err)
{
  _cleanup_network_ ward_network_t *net = NULL;
  _cleanup_free_ char *sr = ward_mgr_net_state_root (m);
  _cleanup_free_ char *rec_path = NULL;
  const char *key = is_default_name (network) ? WARD_NETWORK_DEFAULT_NAME : network;
  int ret = open_network (m, is_default_name (network) ? NULL : network, &net, err);
  if (ret < 0)
    return ret;
  rec_path = xasprintf ("%s/containers/%s.json", net->dir, id);
  if (access (rec_path, F_OK) < 0)
    return ward_error_set_ret (err, -ENOENT, 0, "container %s is not connected to network %s", id, key);
  ret = ward_network_detach_one (net, id, err);
  if (ret < 0)
    return ret;
  regen_peers (m, net->name, id);
  {
    _cleanup_error_ ward_error_t *e = NULL;
    ward_mgr_record_update (m, id, upd_release, (void *) key, &e);
    regen_hosts (m, id, &e);
  }
  return 0;
}

char *ward_mgr_net_ports_string (json_object *rec)
{
  json_object *ns, *ports;
  char *out = xstrdup ("");
  if (!json_object_object_get_ex (rec, "NetworkSettings", &ns) || !json_object_object_get_ex (ns, "Ports", &ports)
      || !json_object_is_type (ports, json_type_object))
    return out;
  json_object_object_foreach (ports, key, list)
    {
      if (!json_object_is_type (list, json_type_array))
        continue;
      for (size_t i = 0; i < json_object_array_length (list); i++)
        {
          json_object *b = json_object_array_get_idx (list, i), *hi, *hp;
          char *next;
          if (!json_object_object_get_ex (b, "HostIp", &hi) || !json_object_object_get_ex (b, "HostPort", &hp))
            continue;
          next = xasprintf ("%s%s%s:%s->%s", out, *out ? ", " : "", json_object_get_string (hi),
                            json_object_get_string (hp), key);
          free (out);
          out = next;
        }
    }
  return out;
}
