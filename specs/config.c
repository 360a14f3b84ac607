/* config.json: the top level, root, mounts, hooks and annotations; the
 * process and linux sections live in their own files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "specs/json_read.h"
#include "specs/specs.h"

/* runc accepts any 1.x; "1.0.2-dev" and "1.2.0-rc.1" are common. */
static bool oci_version_ok (const char *v)
{
  const char *p = v;
  if (p[0] != '1' || p[1] != '.')
    return false;
  p += 2;
  if (*p < '0' || *p > '9')
    return false;
  while (*p >= '0' && *p <= '9')
    p++;
  if (*p == '\0')
    return true;
  if (*p != '.')
    return false;
  p++;
  if (*p < '0' || *p > '9')
    return false;
  while (*p >= '0' && *p <= '9')
    p++;
  return *p == '\0' || *p == '-' || *p == '+';
}

static int parse_root (json_object *v, ward_root_t *root, ward_error_t **err)
{
  int ret = ward_specs_expect (v, json_type_object, "root", err);
  if (ret < 0)
    return ret;
  ret = ward_specs_read_str (v, "root", "path", true, &root->path, err);
  if (ret < 0)
    return ret;
  if (root->path[0] == '\0')
    return ward_error_set (err, 0, "root.path: must not be empty");
  return ward_specs_read_bool (v, "root", "readonly", &root->readonly, NULL, err);
}

int ward_specs_parse_id_mappings (json_object *obj, const char *path, const char *key,
                                  ward_id_mapping_t **out, size_t *len, ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *p = NULL;
  int ret = ward_specs_read_array (obj, path, key, &arr, err);
  size_t n;
  if (ret < 0 || arr == NULL)
    return ret;
  p = ward_specs_path_key (path, key);
  n = json_object_array_length (arr);
  *out = xzalloc ((n ? n : 1) * sizeof (ward_id_mapping_t));
  *len = n;
  for (size_t i = 0; i < n; i++)
    {
      json_object *m = json_object_array_get_idx (arr, i);
      _cleanup_free_ char *ip = ward_specs_path_idx (p, i);
      ward_id_mapping_t *e = &(*out)[i];
      bool has_c = false, has_h = false, has_s = false;
      ret = ward_specs_expect (m, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (m, ip, "containerID", &e->container_id, &has_c, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (m, ip, "hostID", &e->host_id, &has_h, err);
      if (ret == 0)
        ret = ward_specs_read_u32 (m, ip, "size", &e->size, &has_s, err);
      if (ret < 0)
        return ret;
      if (!has_c)
        return ward_error_set (err, 0, "%s.containerID: required", ip);
      if (!has_h)
        return ward_error_set (err, 0, "%s.hostID: required", ip);
      if (!has_s)
        return ward_error_set (err, 0, "%s.size: required", ip);
    }
  return 0;
}

static void mount_free (ward_mount_t *m)
{
  free (m->destination);
  free (m->type);
  free (m->source);
  ward_specs_strv_free (m->options);
  free (m->uid_mappings);
  free (m->gid_mappings);
}

static int parse_mount (json_object *m, const char *path, ward_mount_t *mnt, ward_error_t **err)
{
  int ret = ward_specs_expect (m, json_type_object, path, err);
  if (ret == 0)
    ret = ward_specs_read_str (m, path, "destination", true, &mnt->destination, err);
  if (ret < 0)
    return ret;
  if (mnt->destination[0] != '/')
    return ward_error_set (err, 0, "%s.destination: \"%s\" is not an absolute path", path,
                           mnt->destination);
  ret = ward_specs_read_str (m, path, "type", false, &mnt->type, err);
  if (ret == 0)
    ret = ward_specs_read_str (m, path, "source", false, &mnt->source, err);
  if (ret == 0)
    ret = ward_specs_read_strv (m, path, "options", &mnt->options, &mnt->options_len, NULL, err);
  if (ret == 0)
    ret = ward_specs_parse_id_mappings (m, path, "uidMappings", &mnt->uid_mappings,
                                        &mnt->uid_mappings_len, err);
  if (ret == 0)
    ret = ward_specs_parse_id_mappings (m, path, "gidMappings", &mnt->gid_mappings,
                                        &mnt->gid_mappings_len, err);
  if (ret < 0)
    return ret;
  /* The kernel's idmapped mounts need both maps (runtime-spec 1.2). */
  if ((mnt->uid_mappings != NULL) != (mnt->gid_mappings != NULL))
    return ward_error_set (err, 0, "%s: uidMappings and gidMappings must be given together",
                           path);
  return 0;
}

static int parse_mounts (json_object *cfg, ward_config_t *c, ward_error_t **err)
{
  json_object *arr;
  int ret = ward_specs_read_array (cfg, "", "mounts", &arr, err);
  size_t n;
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  c->mounts = xzalloc ((n ? n : 1) * sizeof (ward_mount_t));
  c->mounts_len = n;
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *ip = ward_specs_path_idx ("mounts", i);
      ret = parse_mount (json_object_array_get_idx (arr, i), ip, &c->mounts[i], err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static void hook_free (ward_hook_t *h)
{
  free (h->path);
  ward_specs_strv_free (h->args);
  ward_specs_strv_free (h->env);
}

static void hooks_free_list (ward_hook_t *h, size_t n)
{
  for (size_t i = 0; i < n; i++)
    hook_free (&h[i]);
  free (h);
}

static int parse_hook_list (json_object *hooks, const char *key, ward_hook_t **out, size_t *len,
                            ward_error_t **err)
{
  json_object *arr;
  _cleanup_free_ char *p = ward_specs_path_key ("hooks", key);
  int ret = ward_specs_read_array (hooks, "hooks", key, &arr, err);
  size_t n;
  if (ret < 0 || arr == NULL)
    return ret;
  n = json_object_array_length (arr);
  *out = xzalloc ((n ? n : 1) * sizeof (ward_hook_t));
  *len = n;
  for (size_t i = 0; i < n; i++)
    {
      json_object *h = json_object_array_get_idx (arr, i);
      _cleanup_free_ char *ip = ward_specs_path_idx (p, i);
      ward_hook_t *hk = &(*out)[i];
      ret = ward_specs_expect (h, json_type_object, ip, err);
      if (ret == 0)
        ret = ward_specs_read_str (h, ip, "path", true, &hk->path, err);
      if (ret < 0)
        return ret;
      if (hk->path[0] != '/')
        return ward_error_set (err, 0, "%s.path: \"%s\" is not an absolute path", ip, hk->path);
      ret = ward_specs_read_strv (h, ip, "args", &hk->args, &hk->args_len, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_strv (h, ip, "env", &hk->env, &hk->env_len, NULL, err);
      if (ret == 0)
        ret = ward_specs_read_i32 (h, ip, "timeout", &hk->timeout, &hk->has_timeout, err);
      if (ret < 0)
        return ret;
      if (hk->has_timeout && hk->timeout <= 0)
        return ward_error_set (err, 0, "%s.timeout: must be greater than zero", ip);
    }
  return 0;
}

static int parse_hooks (json_object *v, ward_hooks_t *h, ward_error_t **err)
{
  int ret = ward_specs_expect (v, json_type_object, "hooks", err);
  if (ret == 0)
    ret = parse_hook_list (v, "prestart", &h->prestart, &h->prestart_len, err);
  if (ret == 0)
    ret = parse_hook_list (v, "createRuntime", &h->create_runtime, &h->create_runtime_len, err);
  if (ret == 0)
    ret = parse_hook_list (v, "createContainer", &h->create_container,
                           &h->create_container_len, err);
  if (ret == 0)
    ret = parse_hook_list (v, "startContainer", &h->start_container, &h->start_container_len,
                           err);
  if (ret == 0)
    ret = parse_hook_list (v, "poststart", &h->poststart, &h->poststart_len, err);
  if (ret == 0)
    ret = parse_hook_list (v, "poststop", &h->poststop, &h->poststop_len, err);
  return ret;
}

static void hooks_free (ward_hooks_t *h)
{
  if (h == NULL)
    return;
  hooks_free_list (h->prestart, h->prestart_len);
  hooks_free_list (h->create_runtime, h->create_runtime_len);
  hooks_free_list (h->create_container, h->create_container_len);
  hooks_free_list (h->start_container, h->start_container_len);
  hooks_free_list (h->poststart, h->poststart_len);
  hooks_free_list (h->poststop, h->poststop_len);
  free (h);
}

static int parse_config_object (json_object *root, ward_config_t *c, ward_error_t **err)
{
  json_object *v;
  int ret;

  if (json_object_get_type (root) != json_type_object)
    return ward_error_set (err, 0, "config: expected object, got %s",
                           json_type_to_name (json_object_get_type (root)));
  ret = ward_specs_read_str (root, "", "ociVersion", true, &c->oci_version, err);
  if (ret < 0)
    return ret;
  if (!oci_version_ok (c->oci_version))
    return ward_error_set (err, 0, "ociVersion: unsupported version \"%s\" (want 1.x.y)",
                           c->oci_version);

  if ((v = ward_specs_get (root, "root")) != NULL)
    {
      c->root = xzalloc (sizeof *c->root);
      ret = parse_root (v, c->root, err);
      if (ret < 0)
        return ret;
    }
  if ((v = ward_specs_get (root, "process")) != NULL)
    {
      c->process = xzalloc (sizeof *c->process);
      ret = ward_specs_parse_process (v, "process", c->process, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_specs_read_str (root, "", "hostname", false, &c->hostname, err);
  if (ret == 0)
    ret = ward_specs_read_str (root, "", "domainname", false, &c->domainname, err);
  if (ret == 0)
    ret = parse_mounts (root, c, err);
  if (ret < 0)
    return ret;
  if ((v = ward_specs_get (root, "hooks")) != NULL)
    {
      c->hooks = xzalloc (sizeof *c->hooks);
      ret = parse_hooks (v, c->hooks, err);
      if (ret < 0)
        return ret;
    }
  ret = ward_specs_read_kv (root, "", "annotations", &c->annotations, &c->annotations_len, err);
  if (ret < 0)
    return ret;
  if ((v = ward_specs_get (root, "linux")) != NULL)
    {
      c->linux_ = xzalloc (sizeof *c->linux_);
      ret = ward_specs_parse_linux (v, "linux", c->linux_, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int ward_config_parse (const char *data, size_t len, ward_config_t **out, ward_error_t **err)
{
  _cleanup_json_ json_object *root = NULL;
  _cleanup_config_ ward_config_t *c = NULL;
  int ret = ward_specs_tokenize (data, len, &root, err);
  if (ret < 0)
    return ret;
  c = xzalloc (sizeof *c);
  ret = parse_config_object (root, c, err);
  if (ret < 0)
    return ret;
  *out = TAKE_PTR (c);
  return 0;
}

int ward_config_load_file (const char *path, ward_config_t **out, ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_close_ int fd = -1;
  struct stat st;
  size_t len = 0;
  int ret;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open '%s'", path);
  if (fstat (fd, &st) < 0)
    return ward_error_set (err, errno, "stat '%s'", path);
  /* A bundle directory stands for its config.json. */
  if (S_ISDIR (st.st_mode))
    {
      int cfd = openat (fd, "config.json", O_RDONLY | O_CLOEXEC);
      if (cfd < 0)
        return ward_error_set (err, errno, "open '%s/config.json'", path);
      close (fd);
      fd = cfd;
    }
  /* Read one byte past the limit so that the parser reports the size. */
  ret = ward_read_fd (fd, &data, &len, 16u * 1024 * 1024 + 1, path, err);
  if (ret < 0)
    return ret;
  ret = ward_config_parse (data, len, out, err);
  if (ret < 0)
    return ward_error_wrap (err, "load '%s'", path);
  return 0;
}

void ward_config_free (ward_config_t *c)
{
  if (c == NULL)
    return;
  free (c->oci_version);
  ward_process_free (c->process);
  if (c->root)
    free (c->root->path);
  free (c->root);
  free (c->hostname);
  free (c->domainname);
  for (size_t i = 0; i < c->mounts_len; i++)
    mount_free (&c->mounts[i]);
  free (c->mounts);
  hooks_free (c->hooks);
  ward_specs_kv_free (c->annotations, c->annotations_len);
  ward_specs_linux_free (c->linux_);
  free (c);
}

const char *ward_config_annotation (const ward_config_t *cfg, const char *key)
{
  if (cfg == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < cfg->annotations_len; i++)
    if (strcmp (cfg->annotations[i].key, key) == 0)
      return cfg->annotations[i].value;
  return NULL;
}

const ward_namespace_t *ward_config_namespace (const ward_config_t *cfg, ward_ns_type_t type)
{
  if (cfg == NULL || cfg->linux_ == NULL)
    return NULL;
  for (size_t i = 0; i < cfg->linux_->namespaces_len; i++)
    if (cfg->linux_->namespaces[i].type == type)
      return &cfg->linux_->namespaces[i];
  return NULL;
}
