/* `ward network ...`: docker's network verbs over network/ and the
 * manager's connect/disconnect.  Output and errors shaped as docker's. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* specs.h (through cli.h) has its own ward_network_t (cgroup net_cls
 * resources), unused here: renamed so that network.h's can be seen. */
#define ward_network_t ward_oci_net_resources_t
#include "cli/docker/cli.h"
#undef ward_network_t
#include "common/cleanup.h"
#include "common/sha256.h"
#include "network/network.h"

static char *net_id (const ward_network_t *net)
{
  char hex[65];
  /* networks have no id of their own: a stable one from the name */
  ward_sha256_hex (net->name, strlen (net->name), hex);
  return xstrdup (hex);
}

static char *state_root (void)
{
  return xasprintf ("%s/networks", ward_cli_root ? ward_cli_root : WARD_MGR_DEFAULT_ROOT);
}

static bool is_default (const char *name)
{
  return strcmp (name, "bridge") == 0 || strcmp (name, WARD_NETWORK_DEFAULT_NAME) == 0;
}

/* docker's names for its pre-defined networks map onto ward's. */
static const char *real_name (const char *name)
{
  return is_default (name) ? WARD_NETWORK_DEFAULT_NAME : name;
}

static int open_net (const char *sr, const char *name, ward_network_t **net, ward_error_t **err)
{
  if (is_default (name))
    return ward_network_ensure_default (sr, net, err);
  return ward_network_inspect (sr, name, net, err);
}

static int cmd_create (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = {
    { "subnet", 0, WARD_FLAG_VALUE, 1 }, { "gateway", 0, WARD_FLAG_VALUE, 2 },
    { "driver", 'd', WARD_FLAG_VALUE, 3 }, { "ipv6", 0, WARD_FLAG_BOOL, 4 },
    { "label", 0, WARD_FLAG_VALUE, 5 }, { "opt", 'o', WARD_FLAG_VALUE, 6 },
    { "internal", 0, WARD_FLAG_BOOL, 7 }, { "attachable", 0, WARD_FLAG_BOOL, 8 },
    { NULL, 0, 0, 0 }
  };
  _cleanup_free_ char *sr = state_root ();
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_network_ ward_network_t *net = NULL;
  _cleanup_network_ ward_network_t *old = NULL;
  _cleanup_free_ char *id = NULL;
  ward_network_opts_t no;
  SIMPLE_PARSE (defs, 1, "network create [OPTIONS] NETWORK");
  memset (&no, 0, sizeof no);
  no.name = f.args[0];
  for (size_t i = 0; i < f.n; i++)
    switch (f.vals[i].id)
      {
      /* docker takes one --subnet/--gateway per family */
      case 1: *(strchr (f.vals[i].value, ':') ? &no.subnet6 : &no.subnet) = f.vals[i].value; break;
      case 2: *(strchr (f.vals[i].value, ':') ? &no.gateway6 : &no.gateway) = f.vals[i].value; break;
      case 3:
        if (strcmp (f.vals[i].value, "bridge") != 0)
          return ward_cli_fail (1, "Error response from daemon: plugin \"%s\" not found", f.vals[i].value);
        break;
      case 6:
        if (strncmp (f.vals[i].value, "com.docker.network.bridge.name=", 31) == 0)
          no.bridge = f.vals[i].value + 31;
        break;
      default: break;
      }
  if (is_default (no.name) || strcmp (no.name, "host") == 0 || strcmp (no.name, "none") == 0
      || ward_network_inspect (sr, no.name, &old, &e) == 0)
    return ward_cli_fail (1, "Error response from daemon: network with name %s already exists", no.name);
  ward_error_free (&e);
  if ((no.gateway && no.subnet == NULL) || (no.gateway6 && no.subnet6 == NULL))
    return ward_cli_fail (1, "Error response from daemon: --gateway needs --subnet");
  if (ward_network_create (sr, &no, &net, &e) < 0)
    return ward_cli_fail_err (1, e);
  id = net_id (net);
  printf ("%s\n", id);
  return 0;
}

/* docker's Containers map: id -> name, endpoint, addresses (from IPAM). */
static json_object *containers_of (const ward_network_t *net)
{
  json_object *o = json_object_new_object ();
  ward_host_entry_t *peers = NULL;
  size_t n = 0;
  _cleanup_error_ ward_error_t *e = NULL;
  const char *slash = strchr (net->subnet, '/');
  ward_ipam_entry_t *ent = NULL;
  size_t ne = 0;
  if (ward_ipam_list (net, &ent, &ne, &e) < 0)
    return o;
  for (size_t i = 0; i < ne; i++)
    {
      json_object *c = json_object_new_object ();
      _cleanup_free_ char *cidr = xasprintf ("%s%s", ent[i].ip, slash ? slash : "");
      char veth[16];
      ward_network_veth_name (ent[i].id, veth);
      json_object_object_add (c, "Name", json_object_new_string (""));
      json_object_object_add (c, "EndpointID", json_object_new_string (veth));
      json_object_object_add (c, "MacAddress", json_object_new_string (""));
      json_object_object_add (c, "IPv4Address", json_object_new_string (strchr (ent[i].ip, ':') ? "" : cidr));
      json_object_object_add (c, "IPv6Address", json_object_new_string (strchr (ent[i].ip, ':') ? ent[i].ip : ""));
      if (!strchr (ent[i].ip, ':'))
        json_object_object_add (o, ent[i].id, c);
      else
        json_object_put (c);
    }
  ward_ipam_entries_free (ent, ne);
  /* names from the attach records */
  if (ward_network_peers (net, NULL, &peers, &n, &e) == 0)
    {
      json_object_object_foreach (o, k, c)
        {
          json_object *ip;
          (void) k;
          if (!json_object_object_get_ex (c, "IPv4Address", &ip))
            continue;
          for (size_t i = 0; i < n; i++)
            if (strncmp (json_object_get_string (ip), peers[i].ip, strlen (peers[i].ip)) == 0
                && json_object_get_string (ip)[strlen (peers[i].ip)] == '/')
              json_object_object_add (c, "Name", json_object_new_string (peers[i].name));
        }
      ward_network_peers_free (peers, n);
    }
  return o;
}

static json_object *net_json (const ward_network_t *net)
{
  json_object *o = json_object_new_object ();
  json_object *ipam = json_object_new_object ();
  json_object *cfgs = json_object_new_array ();
  json_object *cfg = json_object_new_object ();
  json_object *opts = json_object_new_object ();
  _cleanup_free_ char *id = net_id (net);
  json_object_object_add (o, "Name", json_object_new_string (net->name));
  json_object_object_add (o, "Id", json_object_new_string (id));
  json_object_object_add (o, "Scope", json_object_new_string ("local"));
  json_object_object_add (o, "Driver", json_object_new_string ("bridge"));
  json_object_object_add (o, "EnableIPv6", json_object_new_boolean (net->subnet6 != NULL));
  json_object_object_add (cfg, "Subnet", json_object_new_string (net->subnet));
  json_object_object_add (cfg, "Gateway", json_object_new_string (net->gateway));
  json_object_array_add (cfgs, cfg);
  if (net->subnet6)
    {
      json_object *c6 = json_object_new_object ();
      json_object_object_add (c6, "Subnet", json_object_new_string (net->subnet6));
      json_object_object_add (c6, "Gateway", json_object_new_string (net->gateway6 ? net->gateway6 : ""));
      json_object_array_add (cfgs, c6);
    }
  json_object_object_add (ipam, "Driver", json_object_new_string ("default"));
  json_object_object_add (ipam, "Options", NULL);
  json_object_object_add (ipam, "Config", cfgs);
  json_object_object_add (o, "IPAM", ipam);
  json_object_object_add (o, "Internal", json_object_new_boolean (0));
  json_object_object_add (o, "Attachable", json_object_new_boolean (0));
  json_object_object_add (o, "Containers", containers_of (net));
  json_object_object_add (opts, "com.docker.network.bridge.name", json_object_new_string (net->bridge));
  json_object_object_add (o, "Options", opts);
  json_object_object_add (o, "Labels", json_object_new_object ());
  return o;
}

static const char *net_lookup (const char *field, void *data)
{
  const ward_network_t *net = ((void **) data)[0];
  const char *id = ((void **) data)[1];
  if (strcmp (field, "ID") == 0)
    return id;
  if (strcmp (field, "Name") == 0)
    return net->name;
  if (strcmp (field, "Driver") == 0)
    return "bridge";
  if (strcmp (field, "Scope") == 0)
    return "local";
  if (strcmp (field, "IPv6") == 0)
    return net->subnet6 ? "true" : "false";
  if (strcmp (field, "Internal") == 0)
    return "false";
  if (strcmp (field, "Labels") == 0 || strcmp (field, "CreatedAt") == 0)
    return "";
  return NULL;
}

static int cmd_ls (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = {
    { "quiet", 'q', WARD_FLAG_BOOL, 1 }, { "format", 0, WARD_FLAG_VALUE, 2 },
    { "no-trunc", 0, WARD_FLAG_BOOL, 3 }, { "filter", 'f', WARD_FLAG_VALUE, 4 },
    { NULL, 0, 0, 0 }
  };
  _cleanup_free_ char *sr = state_root ();
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_tmpl_ ward_tmpl_t t;
  ward_network_t **nets = NULL;
  size_t n = 0;
  bool quiet = false, no_trunc = false;
  const char *format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
  char **rows = NULL;
  size_t nrows = 0;
  _cleanup_free_ char *perr = NULL;
  SIMPLE_PARSE (defs, 0, "network ls [OPTIONS]");
  memset (&t, 0, sizeof t);
  for (size_t i = 0; i < f.n; i++)
    switch (f.vals[i].id)
      {
      case 1: quiet = ward_flag_bool (f.vals[i].value); break;
      case 2: format = f.vals[i].value; break;
      case 3: no_trunc = ward_flag_bool (f.vals[i].value); break;
      default: break;
      }
  if (ward_network_list (sr, &nets, &n, &e) < 0)
    return ward_cli_fail_err (1, e);
  if (quiet)
    format = "{{.ID}}";
  if (ward_tmpl_parse (format, &t, &perr) < 0)
    {
      ward_network_list_free (nets, n);
      return ward_cli_fail (1, "template parsing error: %s", perr ? perr : format);
    }
  if (strncmp (format, "table", 5) == 0)
    ward_cli_strv_push (&rows, &nrows, ward_tmpl_header (&t));
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *id = net_id (nets[i]);
      void *data[2] = { nets[i], id };
      char *line;
      if (!no_trunc)
        id[12] = '\0';
      line = ward_tmpl_render (&t, net_lookup, data, &perr);
      if (line)
        ward_cli_strv_push (&rows, &nrows, line);
    }
  ward_network_list_free (nets, n);
  ward_cli_print_rows (rows, nrows, strncmp (format, "table", 5) == 0);
  ward_strv_freep (&rows);
  return 0;
}

static int cmd_inspect (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "format", 'f', WARD_FLAG_VALUE, 1 },
                                          { "verbose", 'v', WARD_FLAG_BOOL, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_free_ char *sr = state_root ();
  _cleanup_json_ json_object *arr = json_object_new_array ();
  const char *format = NULL;
  int rc = 0;
  SIMPLE_PARSE (defs, 1, "network inspect [OPTIONS] NETWORK [NETWORK...]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      format = f.vals[i].value;
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_network_ ward_network_t *net = NULL;
      _cleanup_error_ ward_error_t *e = NULL;
      if (open_net (sr, f.args[i], &net, &e) < 0)
        {
          fprintf (stderr, "Error: No such network: %s\n", f.args[i]);
          rc = 1;
          continue;
        }
      json_object_array_add (arr, net_json (net));
    }
  if (format)
    {
      /* the common scripted forms; anything else gets the JSON */
      for (size_t i = 0; i < json_object_array_length (arr); i++)
        {
          json_object *o = json_object_array_get_idx (arr, i), *ipam, *cfg, *c0, *v;
          if (strstr (format, ".IPAM.Config") && strstr (format, "Subnet")
              && json_object_object_get_ex (o, "IPAM", &ipam) && json_object_object_get_ex (ipam, "Config", &cfg)
              && (c0 = json_object_array_get_idx (cfg, 0)) && json_object_object_get_ex (c0, "Subnet", &v))
            printf ("%s\n", json_object_get_string (v));
          else if (strstr (format, ".IPAM.Config") && strstr (format, "Gateway")
                   && json_object_object_get_ex (o, "IPAM", &ipam) && json_object_object_get_ex (ipam, "Config", &cfg)
                   && (c0 = json_object_array_get_idx (cfg, 0)) && json_object_object_get_ex (c0, "Gateway", &v))
            printf ("%s\n", json_object_get_string (v));
          else if (strstr (format, ".Name") && json_object_object_get_ex (o, "Name", &v))
            printf ("%s\n", json_object_get_string (v));
          else if (strstr (format, ".Id") && json_object_object_get_ex (o, "Id", &v))
            printf ("%s\n", json_object_get_string (v));
          else if (strstr (format, "json .Containers") && json_object_object_get_ex (o, "Containers", &v))
            printf ("%s\n", json_object_to_json_string_ext (v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
          else
            printf ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        }
      return rc;
    }
  printf ("%s\n", json_object_to_json_string_ext (arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
  return rc;
}

static int cmd_rm (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 }, { NULL, 0, 0, 0 } };
  _cleanup_free_ char *sr = state_root ();
  int rc = 0;
  SIMPLE_PARSE (defs, 1, "network rm NETWORK [NETWORK...]");
  for (size_t i = 0; i < f.n_args; i++)
    {
      _cleanup_error_ ward_error_t *e = NULL;
      _cleanup_network_ ward_network_t *net = NULL;
      const char *name = f.args[i];
      int ret;
      if (is_default (name) || strcmp (name, "host") == 0 || strcmp (name, "none") == 0)
        {
          rc = ward_cli_fail (1, "Error response from daemon: %s is a pre-defined network and cannot be removed", name);
          continue;
        }
      if (ward_network_inspect (sr, name, &net, &e) < 0)
        {
          rc = ward_cli_fail (1, "Error: No such network: %s", name);
          continue;
        }
      ret = ward_network_remove (sr, name, &e);
      if (ret == -EBUSY)
        {
          _cleanup_free_ char *id = net_id (net);
          rc = ward_cli_fail (1, "Error response from daemon: error while removing network: network %s id %s has active endpoints", name, id);
        }
      else if (ret < 0)
        rc = ward_cli_fail_err (1, e);
      else
        printf ("%s\n", name);
    }
  return rc;
}

static int cmd_connect (int argc, char **argv, bool connect)
{
  static const ward_flag_def_t defs[] = { { "ip", 0, WARD_FLAG_VALUE, 1 },
                                          { "force", 'f', WARD_FLAG_BOOL, 2 },
                                          { "alias", 0, WARD_FLAG_VALUE, 3 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_mgr_ ward_mgr_t *m = NULL;
  _cleanup_free_ char *id = NULL;
  _cleanup_free_ char *sr = state_root ();
  _cleanup_error_ ward_error_t *e = NULL;
  _cleanup_network_ ward_network_t *net = NULL;
  const char *ip = NULL;
  int ret;
  SIMPLE_PARSE (defs, 2, connect ? "network connect [OPTIONS] NETWORK CONTAINER"
                                 : "network disconnect [OPTIONS] NETWORK CONTAINER");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      ip = f.vals[i].value;
  if ((ret = ward_cli_open_mgr (&m)) != 0)
    return ret;
  if (open_net (sr, f.args[0], &net, &e) < 0)
    return ward_cli_fail (1, "Error response from daemon: network %s not found", f.args[0]);
  if (ward_mgr_lookup (m, f.args[1], &id, &e) < 0)
    return ward_cli_fail_err (1, e);
  ret = connect ? ward_mgr_net_connect (m, id, real_name (f.args[0]), ip, &e)
                : ward_mgr_net_disconnect (m, id, real_name (f.args[0]), &e);
  if (ret < 0)
    return ward_cli_fail_err (1, e);
  return 0;
}

static int cmd_prune (int argc, char **argv)
{
  static const ward_flag_def_t defs[] = { { "force", 'f', WARD_FLAG_BOOL, 1 },
                                          { "filter", 0, WARD_FLAG_VALUE, 2 },
                                          { NULL, 0, 0, 0 } };
  _cleanup_free_ char *sr = state_root ();
  _cleanup_error_ ward_error_t *e = NULL;
  ward_network_t **nets = NULL;
  size_t n = 0;
  bool force = false, header = false;
  SIMPLE_PARSE (defs, 0, "network prune [OPTIONS]");
  for (size_t i = 0; i < f.n; i++)
    if (f.vals[i].id == 1)
      force = ward_flag_bool (f.vals[i].value);
  if (!force)
    {
      char answer[16] = "";
      fputs ("WARNING! This will remove all custom networks not used by at least one container.\n"
             "Are you sure you want to continue? [y/N] ", stdout);
      fflush (stdout);
      if (fgets (answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        return 0;
    }
  if (ward_network_list (sr, &nets, &n, &e) < 0)
    return ward_cli_fail_err (1, e);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_error_ ward_error_t *e2 = NULL;
      if (is_default (nets[i]->name))
        continue;
      if (ward_network_remove (sr, nets[i]->name, &e2) < 0)
        continue;
      if (!header)
        printf ("Deleted Networks:\n");
      header = true;
      printf ("%s\n", nets[i]->name);
    }
  ward_network_list_free (nets, n);
  return 0;
}

static int cmd_connect_on (int argc, char **argv)
{
  return cmd_connect (argc, argv, true);
}

static int cmd_connect_off (int argc, char **argv)
{
  return cmd_connect (argc, argv, false);
}

int ward_cli_cmd_network (int argc, char **argv)
{
  static const ward_cli_sub_t subs[] = {
    { "create", NULL, cmd_create }, { "ls", "list", cmd_ls }, { "inspect", NULL, cmd_inspect },
    { "rm", "remove", cmd_rm }, { "connect", NULL, cmd_connect_on },
    { "disconnect", NULL, cmd_connect_off }, { "prune", NULL, cmd_prune },
    { NULL, NULL, NULL },
  };
  const char *sub = argc > 0 ? argv[0] : NULL;
  if (sub == NULL || strcmp (sub, "--help") == 0)
    {
      fputs ("\nUsage:  ward network COMMAND\n\nManage networks\n\nCommands:\n"
             "  connect     Connect a container to a network\n"
             "  create      Create a network\n"
             "  disconnect  Disconnect a container from a network\n"
             "  inspect     Display detailed information on one or more networks\n"
             "  ls          List networks\n"
             "  prune       Remove all unused networks\n"
             "  rm          Remove one or more networks\n",
             sub ? stdout : stderr);
      return sub ? 0 : 1;
    }
  return ward_cli_dispatch (subs, "network", sub, argc - 1, argv + 1, 125);
}
