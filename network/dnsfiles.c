/* Contents of the container's /etc/resolv.conf, /etc/hosts and
 * /etc/hostname.  Only strings are produced: the front end writes them
 * into the bundle. */
#include "network/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

static bool is_loopback_ns (const char *ip)
{
  struct in6_addr a6;
  struct in_addr a4;
  if (inet_pton (AF_INET, ip, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, ip, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return false;
}

static bool strv_empty (const char *const *v)
{
  return v == NULL || v[0] == NULL;
}

/* Characters that would let a value start a new resolv.conf/hosts line. */
static bool has_newline (const char *s)
{
  return strpbrk (s, "\n\r") != NULL;
}

/* The non-loopback nameservers of a resolv.conf file, appended to *ns. */
static void file_nameservers (const char *path, char ***ns, size_t *n)
{
  _cleanup_free_ char *text = NULL;
  ward_error_t *e = NULL;
  char *line, *save = NULL;
  if (ward_read_file_at (AT_FDCWD, path, &text, NULL, 1 << 20, &e) < 0)
    {
      ward_error_free (&e);
      return;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char ip[64];
      if (sscanf (line, " nameserver %63s", ip) != 1 || is_loopback_ns (ip))
        continue;
      *ns = xrealloc (*ns, (*n + 2) * sizeof **ns);
      (*ns)[(*n)++] = xstrdup (ip);
      (*ns)[*n] = NULL;
    }
}

int ward_resolvconf_generate (const ward_resolv_opts_t *opts, char **out, ward_error_t **err)
{
  const char *path = opts && opts->host_resolv_conf ? opts->host_resolv_conf : "/etc/resolv.conf";
  _cleanup_free_ char *host = NULL;
  _cleanup_strv_ char **ns = xzalloc (sizeof (char *));
  _cleanup_free_ char *search = NULL;
  _cleanup_free_ char *options = NULL;
  ward_strbuf_t b = { NULL, 0, 0 };
  size_t n_ns = 0, n_dropped = 0;
  char *line, *save = NULL;
  int ret;

  for (const char *const *v = opts ? opts->dns : NULL; v && *v; v++)
    {
      struct in6_addr a;
      if (inet_pton (AF_INET, *v, &a) != 1 && inet_pton (AF_INET6, *v, &a) != 1)
        return ward_error_set (err, EINVAL, "--dns \"%s\": not an IP address", *v);
    }
  for (const char *const *v = opts ? opts->dns_search : NULL; v && *v; v++)
    if (has_newline (*v) || strchr (*v, ' '))
      return ward_error_set (err, EINVAL, "--dns-search \"%s\": invalid domain", *v);
  for (const char *const *v = opts ? opts->dns_options : NULL; v && *v; v++)
    if (has_newline (*v) || strchr (*v, ' '))
      return ward_error_set (err, EINVAL, "--dns-option \"%s\": invalid option", *v);

  ret = ward_read_file_at (AT_FDCWD, path, &host, NULL, 1 << 20, err);
  if (ret == -ENOENT)
    {
      ward_error_free (err);
      host = xstrdup ("");
    }
  else if (ret < 0)
    return ret;

  for (line = strtok_r (host, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *p = line, *word, *wsave = NULL;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '#' || *p == ';')
        continue;
      word = strtok_r (p, " \t", &wsave);
      if (word == NULL)
        continue;
      if (strcmp (word, "nameserver") == 0)
        {
          char *ip = strtok_r (NULL, " \t", &wsave);
          if (ip == NULL)
            continue;
          /* A resolver on the host's loopback (systemd-resolved's
           * 127.0.0.53, dnsmasq) is not reachable from the container's
           * own loopback: drop it. */
          if (is_loopback_ns (ip))
            {
              n_dropped++;
              continue;
            }
          ns = xrealloc (ns, (n_ns + 2) * sizeof *ns);
          ns[n_ns++] = xstrdup (ip);
          ns[n_ns] = NULL;
        }
      else if (strcmp (word, "search") == 0 || strcmp (word, "domain") == 0
               || strcmp (word, "options") == 0)
        {
          char **dst = strcmp (word, "options") == 0 ? &options : &search;
          char *rest = wsave;
          while (rest && (*rest == ' ' || *rest == '\t'))
            rest++;
          if (rest && *rest)
            {
              /* The last search/domain line wins, as in the resolver. */
              free (*dst);
              *dst = xstrdup (rest);
            }
        }
    }

  /* Only loopback resolvers: systemd-resolved lists the upstream servers
   * it forwards to in a file of its own, which docker and podman use too. */
  if (n_ns == 0 && n_dropped > 0)
    {
      const char *up = opts && opts->upstream_resolv_conf ? opts->upstream_resolv_conf
                       : opts && opts->host_resolv_conf ? NULL
                                                        : "/run/systemd/resolve/resolv.conf";
      if (up)
        file_nameservers (up, &ns, &n_ns);
    }

  if (!strv_empty (opts ? opts->dns : NULL))
    for (const char *const *v = opts->dns; *v; v++)
      ward_strbuf_printf (&b, "nameserver %s\n", *v);
  else if (n_ns > 0)
    for (size_t i = 0; i < n_ns; i++)
      ward_strbuf_printf (&b, "nameserver %s\n", ns[i]);
  else
    /* docker's fallback when the host leaves nothing usable */
    ward_strbuf_printf (&b, "# ward: the host has no nameserver reachable from a container%s;\n"
                "# pass --dns to set one.  Using the public defaults meanwhile.\n"
                "nameserver 8.8.8.8\nnameserver 8.8.4.4\n",
            n_dropped ? " (its resolvers are on loopback)" : "");

  if (!strv_empty (opts ? opts->dns_search : NULL))
    {
      ward_strbuf_printf (&b, "search");
      for (const char *const *v = opts->dns_search; *v; v++)
        ward_strbuf_printf (&b, " %s", *v);
      ward_strbuf_printf (&b, "\n");
    }
  else if (search)
    ward_strbuf_printf (&b, "search %s\n", search);

  if (!strv_empty (opts ? opts->dns_options : NULL))
    {
      ward_strbuf_printf (&b, "options");
      for (const char *const *v = opts->dns_options; *v; v++)
        ward_strbuf_printf (&b, " %s", *v);
      ward_strbuf_printf (&b, "\n");
    }
  else if (options)
    ward_strbuf_printf (&b, "options %s\n", options);

  *out = ward_strbuf_take (&b);
  return 0;
}

static int check_host_entry (const char *what, const char *name, const char *ip,
                             ward_error_t **err)
{
  struct in6_addr a;
  if (name == NULL || name[0] == '\0' || has_newline (name) || strpbrk (name, " \t#"))
    return ward_error_set (err, EINVAL, "%s: invalid host name \"%s\"", what, name ? name : "");
  if (ip == NULL || (inet_pton (AF_INET, ip, &a) != 1 && inet_pton (AF_INET6, ip, &a) != 1))
    return ward_error_set (err, EINVAL, "%s: invalid IP address \"%s\" for \"%s\"", what,
                           ip ? ip : "", name);
  return 0;
}

int ward_hosts_generate (const ward_hosts_opts_t *opts, char **out, ward_error_t **err)
{
  ward_strbuf_t b = { NULL, 0, 0 };
  int ret;

  ward_strbuf_printf (&b, "127.0.0.1\tlocalhost\n"
              "::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\n"
              "ff00::0\tip6-mcastprefix\n"
              "ff02::1\tip6-allnodes\n"
              "ff02::2\tip6-allrouters\n");
  if (opts->ip && opts->hostname)
    {
      ret = check_host_entry ("container address", opts->hostname, opts->ip, err);
      if (ret == 0 && opts->name && (has_newline (opts->name) || strpbrk (opts->name, " \t#")))
        ret = ward_error_set (err, EINVAL, "container name \"%s\": invalid", opts->name);
      if (ret < 0)
        {
          free (b.data);
          return ret;
        }
      if (opts->name && strcmp (opts->name, opts->hostname) != 0)
        ward_strbuf_printf (&b, "%s\t%s %s\n", opts->ip, opts->hostname, opts->name);
      else
        ward_strbuf_printf (&b, "%s\t%s\n", opts->ip, opts->hostname);
    }
  else if (opts->hostname)
    {
      if (has_newline (opts->hostname))
        {
          free (b.data);
          return ward_error_set (err, EINVAL, "hostname \"%s\": invalid", opts->hostname);
        }
      /* No network address: let the hostname resolve like localhost. */
      ward_strbuf_printf (&b, "127.0.1.1\t%s\n", opts->hostname);
    }
  for (size_t i = 0; i < opts->n_peers; i++)
    {
      ret = check_host_entry ("peer", opts->peers[i].name, opts->peers[i].ip, err);
      if (ret < 0)
        {
          free (b.data);
          return ret;
        }
      ward_strbuf_printf (&b, "%s\t%s\n", opts->peers[i].ip, opts->peers[i].name);
    }
  for (const char *const *v = opts->add_hosts; v && *v; v++)
    {
      /* docker's --add-host NAME:IP; IPv6 addresses contain ':' too, so
       * the name ends at the first colon. */
      const char *colon = strchr (*v, ':');
      _cleanup_free_ char *name = colon ? xstrndup (*v, (size_t) (colon - *v)) : NULL;
      const char *ip = colon ? colon + 1 : NULL;
      _cleanup_free_ char *ipbuf = NULL;
      if (ip && ip[0] == '[')
        {
          ipbuf = xstrdup (ip + 1);
          if (ipbuf[0] && ipbuf[strlen (ipbuf) - 1] == ']')
            ipbuf[strlen (ipbuf) - 1] = '\0';
          ip = ipbuf;
        }
      ret = check_host_entry ("--add-host", name ? name : *v, ip, err);
      if (ret < 0)
        {
          free (b.data);
          return ret;
        }
      ward_strbuf_printf (&b, "%s\t%s\n", ip, name);
    }
  *out = ward_strbuf_take (&b);
  return 0;
}

char *ward_hostname_generate (const char *hostname)
{
  return xasprintf ("%s\n", hostname ? hostname : "");
}
