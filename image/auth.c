/* Registry authentication: the WWW-Authenticate challenge of a 401 and the
 * token service round trip (distribution's token auth spec), anonymous or
 * with credentials sent as HTTP basic auth to the realm only. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include <fcntl.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "image/image.h"
#include "image/registry_internal.h"

void ward_auth_challenge_clear (ward_auth_challenge_t *c)
{
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

/* Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull" */
int ward_auth_parse_challenge (const char *header, ward_auth_challenge_t *out)
{
  const char *p = header;
  memset (out, 0, sizeof *out);
  while (*p == ' ' || *p == '\t')
    p++;
  size_t sl = strcspn (p, " \t");
  if (sl == 0)
    return -EINVAL;
  out->scheme = xstrndup (p, sl);
  p += sl;
  for (;;)
    {
      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      if (*p == '\0')
        break;
      size_t kl = strcspn (p, "= \t");
      _cleanup_free_ char *key = xstrndup (p, kl);
      char *val;
      p += kl;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        break;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '"')
        {
          /* quoted-string: commas inside (multi-action scopes) are data */
          size_t cap = strlen (p) + 1, n = 0;
          val = xmalloc (cap);
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              val[n++] = *p;
            }
          val[n] = '\0';
          if (*p == '"')
            p++;
        }
      else
        {
          size_t vl = strcspn (p, ", \t");
          val = xstrndup (p, vl);
          p += vl;
        }
      for (char *k = key; *k; k++)
        *k = (char) tolower ((unsigned char) *k);
      char **slot = strcmp (key, "realm") == 0     ? &out->realm
                    : strcmp (key, "service") == 0 ? &out->service
                    : strcmp (key, "scope") == 0   ? &out->scope
                                                   : NULL;
      if (slot && *slot == NULL)
        *slot = val;
      else
        free (val);
    }
  return 0;
}

typedef struct
{
  char *buf;
  size_t len;
} tokbuf_t;

static size_t tok_write (char *data, size_t size, size_t nmemb, void *ud)
{
  tokbuf_t *b = ud;
  size_t n = size * nmemb;
  if (b->len + n > 1024 * 1024)
    return 0;
  b->buf = xrealloc (b->buf, b->len + n + 1);
  memcpy (b->buf + b->len, data, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return n;
}

int ward_auth_fetch_token (ward_registry_t *reg, const ward_auth_challenge_t *c, char **token,
                           ward_error_t **err)
{
  CURL *h;
  _cleanup_free_ char *url = NULL;
  tokbuf_t body = { 0 };
  long status = 0;
  CURLcode rc;
  int ret = 0;

  if (c->realm == NULL)
    return ward_error_set (err, EACCES, "registry %s: token challenge without a realm", reg->host);
  if (ward_registry_url_allowed (reg, c->realm) < 0)
    return ward_error_set (err, EACCES,
                           "registry %s: token realm '%s' is not https: refusing to use it",
                           reg->host, c->realm);
  h = curl_easy_init ();
  if (h == NULL)
    return ward_error_set (err, ENOMEM, "curl_easy_init");
  {
    char *svc = c->service ? curl_easy_escape (h, c->service, 0) : NULL;
    char *scope = curl_easy_escape (h, c->scope ? c->scope : reg->default_scope, 0);
    url = xasprintf ("%s%sscope=%s%s%s", c->realm, strchr (c->realm, '?') ? "&" : "?",
                     scope ? scope : "", svc ? "&service=" : "", svc ? svc : "");
    curl_free (svc);
    curl_free (scope);
  }
  ward_registry_setup_easy (reg, h);
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, tok_write);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &body);
  if (reg->opts->username && reg->opts->password)
    {
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      curl_easy_setopt (h, CURLOPT_USERNAME, reg->opts->username);
      curl_easy_setopt (h, CURLOPT_PASSWORD, reg->opts->password);
    }
  rc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (h);
  if (rc != CURLE_OK)
    ret = ward_error_set (err, EIO, "token from '%s': %s", c->realm, curl_easy_strerror (rc));
  else if (status != 200)
    ret = ward_error_set (err, EACCES, "token from '%s': HTTP %ld", c->realm, status);
  else
    {
      _cleanup_json_ json_object *o = body.buf ? json_tokener_parse (body.buf) : NULL;
      json_object *t = NULL;
      bool has_token = o && json_object_is_type (o, json_type_object)
                       && json_object_object_get_ex (o, "token", &t)
                       && json_object_is_type (t, json_type_string);
      /* OAuth2-style servers answer with access_token instead */
      if (o && !has_token)
        has_token = json_object_is_type (o, json_type_object)
                    && json_object_object_get_ex (o, "access_token", &t)
                    && json_object_is_type (t, json_type_string);
      if (!has_token)
        ret = ward_error_set (err, EACCES, "token from '%s': no token in the answer", c->realm);
      else
        {
          const char *s = json_object_get_string (t);
          /* the token goes into a header line: no CR/LF smuggling */
          if (strpbrk (s, "\r\n") || *s == '\0')
            ret = ward_error_set (err, EACCES, "token from '%s': malformed token", c->realm);
          else
            *token = xstrdup (s);
        }
    }
  free (body.buf);
  return ret;
}

/* ---- stored credentials ---------------------------------------------------- */

static int b64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

static char *b64_decode (const char *in)
{
  size_t n = strlen (in), o = 0;
  char *out = xmalloc (n + 1);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n && in[i] != '='; i++)
    {
      int v = b64_value (in[i]);
      if (v < 0)
        {
          free (out);
          return NULL;
        }
      acc = (acc << 6) | (unsigned) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[o++] = (char) ((acc >> bits) & 0xff);
        }
    }
  out[o] = '\0';
  if (strlen (out) != o)
    {
      free (out); /* an embedded NUL: not a credential */
      return NULL;
    }
  return out;
}

static bool auth_key_matches (const char *key, const char *host)
{
  const char *k = key;
  size_t hl = strlen (host);
  if (strncmp (k, "https://", 8) == 0)
    k += 8;
  else if (strncmp (k, "http://", 7) == 0)
    k += 7;
  if (strncmp (k, host, hl) != 0 || (k[hl] != '\0' && k[hl] != '/'))
    return false;
  return true;
}

static int lookup_file (const char *path, const char *host, char **user, char **pass)
{
  _cleanup_free_ char *data = NULL;
  _cleanup_error_ ward_error_t *err = NULL;
  _cleanup_json_ json_object *o = NULL;
  json_object *auths;
  if (ward_read_file_at (AT_FDCWD, path, &data, NULL, 1024 * 1024, &err) < 0)
    return -ENOENT;
  o = json_tokener_parse (data);
  if (o == NULL || !json_object_object_get_ex (o, "auths", &auths)
      || !json_object_is_type (auths, json_type_object))
    return -ENOENT;
  json_object_object_foreach (auths, key, entry)
    {
      json_object *a;
      if (!auth_key_matches (key, host) || !json_object_object_get_ex (entry, "auth", &a)
          || !json_object_is_type (a, json_type_string))
        continue;
      _cleanup_free_ char *plain = b64_decode (json_object_get_string (a));
      char *colon = plain ? strchr (plain, ':') : NULL;
      if (colon == NULL)
        continue;
      *colon = '\0';
      *user = xstrdup (plain);
      *pass = xstrdup (colon + 1);
      return 0;
    }
  return -ENOENT;
}

int ward_registry_credentials (const char *host, char **username, char **password)
{
  const char *dc = getenv ("DOCKER_CONFIG");
  const char *home = getenv ("HOME");
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  char *paths[4] = { NULL, NULL, NULL, NULL };
  int ret = -ENOENT;
  /* docker.io logins are stored under the v1 index URL */
  const char *key = host && strcmp (host, "docker.io") == 0 ? "index.docker.io" : host;
  if (host == NULL)
    return -EINVAL;
  if (xdg)
    paths[0] = xasprintf ("%s/containers/auth.json", xdg);
  if (dc)
    paths[1] = xasprintf ("%s/config.json", dc);
  else if (home)
    paths[1] = xasprintf ("%s/.docker/config.json", home);
  for (size_t i = 0; i < 2 && ret < 0; i++)
    if (paths[i])
      {
        ret = lookup_file (paths[i], key, username, password);
        if (ret < 0 && key != host)
          ret = lookup_file (paths[i], host, username, password);
      }
  for (size_t i = 0; i < 4; i++)
    free (paths[i]);
  return ret;
}
