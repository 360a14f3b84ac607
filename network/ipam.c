/* File-backed IPv4/IPv6 address allocator, one per network.
 *
 * <net->dir>/ipam.json = {"last": "172.30.0.7", "last6": "fd00:30::7",
 *                          "allocations": {"172.30.0.2": "<container id>", ...}}
 * Every operation takes an exclusive flock on <net->dir>/ipam.lock, reads the
 * file, and writes a new one with temp-file + fsync + rename: a crash leaves
 * the old or the new state, and an address is never handed out twice. */
#include "network/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

typedef unsigned __int128 u128;

/* The allocatable range of one family of a network. */
struct range
{
  int family;
  u128 subnet, mask, gateway, first, last_host;
  const char *last_key;   /* "last" (IPv4) or "last6" */
};

struct ipam
{
  struct json_object *doc;    /* the whole file */
  struct json_object *allocs; /* borrowed from doc */
  int lock;
};

static int addr_parse (const char *s, int *family, u128 *a, unsigned *len)
{
  uint8_t b[16];
  size_t n;
  if (ward_cidr_parse (s, family, b, len) < 0)
    return -EINVAL;
  n = *family == AF_INET ? 4 : 16;
  *a = 0;
  for (size_t i = 0; i < n; i++)
    *a = (*a << 8) | b[i];
  return 0;
}

static void addr_format (int family, u128 a, char buf[INET6_ADDRSTRLEN])
{
  uint8_t b[16];
  size_t n = family == AF_INET ? 4 : 16;
  for (size_t i = n; i-- > 0;)
    {
      b[i] = (uint8_t) (a & 0xff);
      a >>= 8;
    }
  inet_ntop (family, b, buf, INET6_ADDRSTRLEN);
}

static int range_init (const ward_network_t *net, int family, struct range *r, ward_error_t **err)
{
  const char *subnet = family == AF_INET ? net->subnet : net->subnet6;
  const char *gateway = family == AF_INET ? net->gateway : net->gateway6;
  unsigned bits = family == AF_INET ? 32 : 128, len, glen;
  int fam;

  if (subnet == NULL || gateway == NULL)
    return ward_error_set (err, EINVAL, "network \"%s\" has no IPv%d subnet", net->name,
                           family == AF_INET ? 4 : 6);
  if (addr_parse (subnet, &fam, &r->subnet, &len) < 0 || fam != family || len > bits - 2)
    return ward_error_set (err, EINVAL, "network \"%s\": invalid subnet \"%s\"", net->name, subnet);
  if (addr_parse (gateway, &fam, &r->gateway, &glen) < 0 || fam != family)
    return ward_error_set (err, EINVAL, "network \"%s\": invalid gateway \"%s\"", net->name, gateway);
  r->family = family;
  r->mask = len == 0 ? 0 : (~(u128) 0 << (bits - len));
  if (bits == 32)
    r->mask &= 0xffffffffu;
  r->subnet &= r->mask;
  r->first = r->subnet + 1;
  /* IPv4 loses its broadcast address; IPv6 has none. */
  r->last_host = (r->subnet | (~r->mask & (bits == 32 ? (u128) 0xffffffffu : ~(u128) 0)))
                 - (family == AF_INET ? 1 : 0);
  r->last_key = family == AF_INET ? "last" : "last6";
  return 0;
}

static void ipam_close (struct ipam *ip)
{
  if (ip->doc)
    json_object_put (ip->doc);
  if (ip->lock >= 0)
    close (ip->lock);
}

/* Locks and loads the allocator state. */
static int ipam_open (const ward_network_t *net, struct ipam *ip, ward_error_t **err)
{
  _cleanup_free_ char *path = xasprintf ("%s/ipam.json", net->dir);
  _cleanup_free_ char *text = NULL;
  int ret;

  memset (ip, 0, sizeof *ip);
  ip->lock = -1;
  ret = ward_net_lock (net->dir, "ipam.lock", &ip->lock, err);
  if (ret < 0)
    return ret;
  ret = ward_read_file_at (AT_FDCWD, path, &text, NULL, 64 << 20, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      ip->doc = json_object_new_object ();
    }
  else if (ret < 0)
    return ret;
  else
    {
      ip->doc = json_tokener_parse (text);
      if (ip->doc == NULL || !json_object_is_type (ip->doc, json_type_object))
        {
          /* ipam.json is written without fsync: only a machine crash,
           * which ended every container it listed, can leave it torn */
          ward_warn ("'%s': not a JSON object, starting with no allocations", path);
          json_object_put (ip->doc);
          ip->doc = json_object_new_object ();
        }
    }
  if (!json_object_object_get_ex (ip->doc, "allocations", &ip->allocs)
      || !json_object_is_type (ip->allocs, json_type_object))
    {
      ip->allocs = json_object_new_object ();
      json_object_object_add (ip->doc, "allocations", ip->allocs);
    }
  return 0;
}

static int ipam_save (const ward_network_t *net, struct ipam *ip, ward_error_t **err)
{
  const char *text = json_object_to_json_string_ext (ip->doc, JSON_C_TO_STRING_PLAIN);
  return ward_net_write_atomic_ex (net->dir, "ipam.json", text, false, err);
}

static int key_family (const char *key)
{
  return strchr (key, ':') ? AF_INET6 : AF_INET;
}

/* The address of family (0: any) held by id, or NULL. */
static const char *ipam_find (struct ipam *ip, const char *id, int family)
{
  json_object_object_foreach (ip->allocs, key, val)
    if (json_object_is_type (val, json_type_string) && strcmp (json_object_get_string (val), id) == 0
        && (family == 0 || key_family (key) == family))
      return key;
  return NULL;
}

static int allocate (const ward_network_t *net, int family, const char *container_id,
                     const char *requested_ip, char **ip_out, ward_error_t **err)
{
  __attribute__ ((cleanup (ipam_close))) struct ipam ip = { .lock = -1 };
  struct range r = { 0 };
  struct json_object *v;
  const char *held;
  char buf[INET6_ADDRSTRLEN];
  u128 chosen = 0;
  bool found = false;
  int ret, fam;

  if (container_id == NULL || container_id[0] == '\0')
    return ward_error_set (err, EINVAL, "allocate address on network \"%s\": empty container id",
                           net->name);
  ret = range_init (net, family, &r, err);
  if (ret < 0)
    return ret;
  ret = ipam_open (net, &ip, err);
  if (ret < 0)
    return ret;
  held = ipam_find (&ip, container_id, family);
  if (held && (requested_ip == NULL || strcmp (held, requested_ip) == 0))
    {
      *ip_out = xstrdup (held);
      return 0;
    }
  if (held)
    return ward_error_set (err, EEXIST, "allocate %s on network \"%s\": container %s already holds %s",
                           requested_ip, net->name, container_id, held);
  if (requested_ip)
    {
      unsigned len;
      if (addr_parse (requested_ip, &fam, &chosen, &len) < 0 || fam != family
          || len != (family == AF_INET ? 32u : 128u))
        return ward_error_set (err, EINVAL, "allocate address on network \"%s\": invalid address \"%s\"",
                               net->name, requested_ip);
      if ((chosen & r.mask) != r.subnet)
        return ward_error_set (err, EINVAL, "allocate %s on network \"%s\": address not in subnet %s",
                               requested_ip, net->name, family == AF_INET ? net->subnet : net->subnet6);
      if (chosen < r.first || chosen > r.last_host || chosen == r.gateway)
        return ward_error_set (err, EINVAL, "allocate %s on network \"%s\": address is reserved (network, gateway or broadcast)",
                               requested_ip, net->name);
      /* The canonical spelling is the key: "fd00::0:5" and "fd00::5" clash. */
      addr_format (family, chosen, buf);
      if (json_object_object_get_ex (ip.allocs, buf, &v))
        return ward_error_set (err, EADDRINUSE, "allocate %s on network \"%s\": address in use by container %s",
                               buf, net->name, json_object_get_string (v));
      found = true;
    }
  else
    {
      u128 a, start = r.first, size = r.last_host - r.first + 1, tries;
      unsigned len;

      /* Continue after the last address handed out instead of reusing the
       * lowest free one: a just-freed address is then not given to the
       * next container while peers may still cache its old owner. */
      if (json_object_object_get_ex (ip.doc, r.last_key, &v) && json_object_is_type (v, json_type_string)
          && addr_parse (json_object_get_string (v), &fam, &a, &len) == 0 && fam == family
          && a >= r.first && a <= r.last_host)
        start = a == r.last_host ? r.first : a + 1;
      /* Among allocations+2 consecutive candidates one is free (only the
       * gateway is reserved inside the range), so a huge IPv6 range is
       * never walked in full. */
      tries = (u128) json_object_object_length (ip.allocs) + 2;
      if (tries > size)
        tries = size;
      a = start;
      for (u128 i = 0; i < tries; i++)
        {
          if (a != r.gateway)
            {
              addr_format (family, a, buf);
              if (!json_object_object_get_ex (ip.allocs, buf, NULL))
                {
                  chosen = a;
                  found = true;
                  break;
                }
            }
          a = a == r.last_host ? r.first : a + 1;
        }
      if (!found)
        return ward_error_set (err, ENOSPC, "allocate address on network \"%s\": subnet %s is full",
                               net->name, family == AF_INET ? net->subnet : net->subnet6);
      json_object_object_add (ip.doc, r.last_key, json_object_new_string (buf));
    }
  addr_format (family, chosen, buf);
  json_object_object_add (ip.allocs, buf, json_object_new_string (container_id));
  ret = ipam_save (net, &ip, err);
  if (ret < 0)
    return ward_error_wrap (err, "allocate address on network \"%s\"", net->name);
  *ip_out = xstrdup (buf);
  return 0;
}

int ward_ipam_allocate (const ward_network_t *net, const char *container_id,
                        const char *requested_ip, char **ip_out, ward_error_t **err)
{
  return allocate (net, AF_INET, container_id, requested_ip, ip_out, err);
}

int ward_ipam_allocate6 (const ward_network_t *net, const char *container_id,
                         const char *requested_ip, char **ip_out, ward_error_t **err)
{
  return allocate (net, AF_INET6, container_id, requested_ip, ip_out, err);
}

int ward_ipam_release (const ward_network_t *net, const char *container_id, ward_error_t **err)
{
  __attribute__ ((cleanup (ipam_close))) struct ipam ip = { .lock = -1 };
  const char *held;
  bool changed = false;
  int ret = ipam_open (net, &ip, err);
  if (ret < 0)
    return ret;
  while ((held = ipam_find (&ip, container_id, 0)))
    {
      _cleanup_free_ char *key = xstrdup (held);
      json_object_object_del (ip.allocs, key);
      changed = true;
    }
  if (!changed)
    return 0;
  ret = ipam_save (net, &ip, err);
  if (ret < 0)
    return ward_error_wrap (err, "release address of %s on network \"%s\"", container_id, net->name);
  return 0;
}

static int lookup (const ward_network_t *net, int family, const char *container_id,
                   char **ip_out, ward_error_t **err)
{
  __attribute__ ((cleanup (ipam_close))) struct ipam ip = { .lock = -1 };
  const char *held;
  int ret = ipam_open (net, &ip, err);
  if (ret < 0)
    return ret;
  held = ipam_find (&ip, container_id, family);
  if (held == NULL)
    return ward_error_set (err, ENOENT, "container %s has no IPv%d address on network \"%s\"",
                           container_id, family == AF_INET ? 4 : 6, net->name);
  *ip_out = xstrdup (held);
  return 0;
}

int ward_ipam_lookup (const ward_network_t *net, const char *container_id, char **ip_out,
                      ward_error_t **err)
{
  return lookup (net, AF_INET, container_id, ip_out, err);
}

int ward_ipam_lookup6 (const ward_network_t *net, const char *container_id, char **ip_out,
                       ward_error_t **err)
{
  return lookup (net, AF_INET6, container_id, ip_out, err);
}

void ward_ipam_entries_free (ward_ipam_entry_t *entries, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (entries[i].ip);
      free (entries[i].id);
    }
  free (entries);
}

int ward_ipam_list (const ward_network_t *net, ward_ipam_entry_t **entries, size_t *n,
                    ward_error_t **err)
{
  __attribute__ ((cleanup (ipam_close))) struct ipam ip = { .lock = -1 };
  ward_ipam_entry_t *out;
  size_t count = 0;
  int ret = ipam_open (net, &ip, err);
  if (ret < 0)
    return ret;
  out = xzalloc ((size_t) json_object_object_length (ip.allocs) * sizeof *out + 1);
  json_object_object_foreach (ip.allocs, key, val)
    {
      out[count].ip = xstrdup (key);
      out[count].id = xstrdup (json_object_get_string (val));
      count++;
    }
  *entries = out;
  *n = count;
  return 0;
}

static bool id_is_live (const char *id, const char *const *live, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (live[i], id) == 0)
      return true;
  return false;
}

int ward_ipam_reconcile (const ward_network_t *net, const char *const *live_ids, size_t n_live,
                         size_t *freed, ward_error_t **err)
{
  __attribute__ ((cleanup (ipam_close))) struct ipam ip = { .lock = -1 };
  _cleanup_strv_ char **dead = NULL;
  size_t n_dead = 0;
  int ret = ipam_open (net, &ip, err);
  if (ret < 0)
    return ret;
  dead = xzalloc (((size_t) json_object_object_length (ip.allocs) + 1) * sizeof *dead);
  json_object_object_foreach (ip.allocs, key, val)
    if (!json_object_is_type (val, json_type_string)
        || !id_is_live (json_object_get_string (val), live_ids, n_live))
      dead[n_dead++] = xstrdup (key);
  for (size_t i = 0; i < n_dead; i++)
    json_object_object_del (ip.allocs, dead[i]);
  if (freed)
    *freed = n_dead;
  if (n_dead == 0)
    return 0;
  ret = ipam_save (net, &ip, err);
  if (ret < 0)
    return ward_error_wrap (err, "reconcile addresses of network \"%s\"", net->name);
  return 0;
}
