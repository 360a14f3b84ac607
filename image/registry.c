/* Registry API v2 client (libcurl): manifests with content negotiation,
 * image indexes and docker manifest lists resolved to one platform, layers
 * downloaded concurrently with curl multi, every byte hashed on its way
 * into the store.  Plain HTTP only for loopback and listed hosts. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/sha256.h"
#include "image/image.h"
#include "image/internal.h"
#include "image/registry_internal.h"

#define MAX_MANIFEST (4 * 1024 * 1024)
#define MAX_CONFIG (16 * 1024 * 1024)
#define ACCEPT_MANIFESTS                                                                         \
  "Accept: " WARD_MT_OCI_INDEX ", " WARD_MT_OCI_MANIFEST ", " WARD_MT_DOCKER_LIST ", "           \
  WARD_MT_DOCKER_MANIFEST

/* ---- hosts and schemes ------------------------------------------------- */

/* host without the port: "[::1]:5000" -> "::1", "a:5000" -> "a" */
static char *host_only (const char *host)
{
  if (*host == '[')
    {
      const char *e = strchr (host, ']');
      return e ? xstrndup (host + 1, (size_t) (e - host - 1)) : xstrdup (host);
    }
  const char *colon = strchr (host, ':');
  if (colon && strchr (colon + 1, ':'))
    return xstrdup (host); /* bare IPv6 */
  return colon ? xstrndup (host, (size_t) (colon - host)) : xstrdup (host);
}

const char *ward_registry_scheme (const char *host, const char *const *insecure)
{
  _cleanup_free_ char *h = NULL;
  if (host == NULL)
    return "https";
  h = host_only (host);
  if (strcmp (h, "localhost") == 0 || strcmp (h, "::1") == 0)
    return "http";
  if (strncmp (h, "127.", 4) == 0 && strspn (h, "0123456789.") == strlen (h))
    return "http";
  for (; insecure && *insecure; insecure++)
    if (strcmp (*insecure, host) == 0 || strcmp (*insecure, h) == 0)
      return "http";
  return "https";
}

int ward_registry_url_allowed (ward_registry_t *reg, const char *url)
{
  if (strncasecmp (url, "https://", 8) == 0)
    return 0;
  if (strncasecmp (url, "http://", 7) == 0)
    {
      const char *h = url + 7;
      _cleanup_free_ char *host = xstrndup (h, strcspn (h, "/?#"));
      if (strcmp (ward_registry_scheme (host, reg->opts->insecure_registries), "http") == 0)
        return 0;
    }
  return -EACCES;
}

void ward_registry_setup_easy (ward_registry_t *reg, CURL *h)
{
  bool plain = strcmp (reg->scheme, "http") == 0;
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "ward/" PACKAGE_VERSION);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a stalled connection (under 1 byte/s for a minute) fails rather than hangs */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* a redirect (blob storage) may leave plain HTTP only where we started there */
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, plain ? "http,https" : "https");
  if (reg->opts->ca_file)
    curl_easy_setopt (h, CURLOPT_CAINFO, reg->opts->ca_file);
}

/* ---- one request ------------------------------------------------------- */

typedef struct
{
  char *buf;
  size_t len, max;
  bool too_big;
  char *www_auth, *content_type, *digest;
} resp_t;

static void resp_clear (resp_t *r)
{
  free (r->buf);
  free (r->www_auth);
  free (r->content_type);
  free (r->digest);
  memset (r, 0, sizeof *r);
}

static char *header_value (const char *line, size_t n, const char *name)
{
  size_t nl = strlen (name);
  if (n <= nl || strncasecmp (line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return xstrndup (v, (size_t) (end - v));
}

/* Headers of each response (redirects give several): keep the last's. */
static void take_header (const char *line, size_t n, char **www, char **ctype, char **digest)
{
  char *v;
  if (n >= 5 && strncmp (line, "HTTP/", 5) == 0)
    {
      free (*www), *www = NULL;
      free (*ctype), *ctype = NULL;
      free (*digest), *digest = NULL;
      return;
    }
  if ((v = header_value (line, n, "WWW-Authenticate")))
    free (*www), *www = v;
  else if ((v = header_value (line, n, "Content-Type")))
    free (*ctype), *ctype = v;
  else if ((v = header_value (line, n, "Docker-Content-Digest")))
    free (*digest), *digest = v;
}

static size_t resp_header (char *data, size_t size, size_t nmemb, void *ud)
{
  resp_t *r = ud;
  take_header (data, size * nmemb, &r->www_auth, &r->content_type, &r->digest);
  return size * nmemb;
}

static size_t resp_write (char *data, size_t size, size_t nmemb, void *ud)
{
  resp_t *r = ud;
  size_t n = size * nmemb;
  if (r->len + n > r->max)
    {
      r->too_big = true;
      return 0;
    }
  r->buf = xrealloc (r->buf, r->len + n + 1);
  memcpy (r->buf + r->len, data, n);
  r->len += n;
  r->buf[r->len] = '\0';
  return n;
}

static struct curl_slist *auth_headers (ward_registry_t *reg, const char *accept)
{
  struct curl_slist *l = NULL;
  if (accept)
    l = curl_slist_append (l, accept);
  if (reg->token)
    {
      _cleanup_free_ char *a = xasprintf ("Authorization: Bearer %s", reg->token);
      l = curl_slist_append (l, a);
    }
  return l;
}

/* After a 401: what the challenge asks for.  0 = retry the request. */
static int handle_401 (ward_registry_t *reg, const char *www, const char *what, ward_error_t **err)
{
  ward_auth_challenge_t c;
  int ret;
  if (www == NULL || ward_auth_parse_challenge (www, &c) < 0)
    return ward_error_set (err, EACCES, "%s: unauthorized (no usable WWW-Authenticate)", what);
  if (strcasecmp (c.scheme, "Bearer") == 0)
    {
      _cleanup_free_ char *tok = NULL;
      ret = ward_auth_fetch_token (reg, &c, &tok, err);
      if (ret == 0)
        {
          free (reg->token);
          reg->token = TAKE_PTR (tok);
        }
    }
  else if (strcasecmp (c.scheme, "Basic") == 0 && reg->opts->username && reg->opts->password
           && !reg->basic)
    {
      reg->basic = true;
      ret = 0;
    }
  else
    ret = ward_error_set (err, EACCES, "%s: unauthorized (%s)", what, c.scheme);
  ward_auth_challenge_clear (&c);
  return ret;
}

static void setup_basic (ward_registry_t *reg, CURL *h)
{
  if (reg->basic)
    {
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      curl_easy_setopt (h, CURLOPT_USERNAME, reg->opts->username);
      curl_easy_setopt (h, CURLOPT_PASSWORD, reg->opts->password);
    }
}

/* GET <scheme>://<api_host>/v2/<repo>/<kind>/<ref> into memory. */
static int get_small (ward_registry_t *reg, const char *kind, const char *ref, const char *accept,
                      size_t max, resp_t *out, ward_error_t **err)
{
  _cleanup_free_ char *url = xasprintf ("%s://%s/v2/%s/%s/%s", reg->scheme, reg->api_host,
                                        reg->repo, kind, ref);
  for (int attempt = 0;; attempt++)
    {
      CURL *h = curl_easy_init ();
      struct curl_slist *hdrs = auth_headers (reg, accept);
      char errbuf[CURL_ERROR_SIZE] = "";
      long status = 0;
      CURLcode rc;
      resp_clear (out);
      out->max = max;
      ward_registry_setup_easy (reg, h);
      setup_basic (reg, h);
      curl_easy_setopt (h, CURLOPT_URL, url);
      curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
      curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, resp_header);
      curl_easy_setopt (h, CURLOPT_HEADERDATA, out);
      curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, resp_write);
      curl_easy_setopt (h, CURLOPT_WRITEDATA, out);
      curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
      rc = curl_easy_perform (h);
      curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_cleanup (h);
      curl_slist_free_all (hdrs);
      if (out->too_big)
        return ward_error_set (err, EFBIG, "GET %s: larger than %zu bytes", url, max);
      if (rc != CURLE_OK)
        return ward_error_set (err, EIO, "GET %s: %s", url,
                               *errbuf ? errbuf : curl_easy_strerror (rc));
      if (status == 401 && attempt == 0)
        {
          int ret = handle_401 (reg, out->www_auth, url, err);
          if (ret < 0)
            return ret;
          continue;
        }
      if (status == 404)
        return ward_error_set_ret (err, -ENOENT, 0, "GET %s: not found (HTTP 404)", url);
      if (status == 401 || status == 403)
        return ward_error_set (err, EACCES, "GET %s: HTTP %ld: access denied", url, status);
      if (status != 200)
        return ward_error_set (err, EIO, "GET %s: HTTP %ld", url, status);
      return 0;
    }
}

static char *sha256_digest_of (const void *data, size_t len)
{
  char hex[65];
  ward_sha256_hex (data, len, hex);
  return xasprintf ("sha256:%s", hex);
}

static char *media_type_of (const resp_t *r)
{
  if (r->content_type && *r->content_type)
    {
      size_t n = strcspn (r->content_type, "; ");
      if (n && strncmp (r->content_type, "application/json", n) != 0
          && strncmp (r->content_type, "text/plain", n) != 0)
        return xstrndup (r->content_type, n);
    }
  /* no (useful) Content-Type: the document says what it is */
  _cleanup_json_ json_object *o = r->buf ? json_tokener_parse (r->buf) : NULL;
  json_object *mt;
  if (o && json_object_object_get_ex (o, "mediaType", &mt)
      && json_object_is_type (mt, json_type_string))
    return xstrdup (json_object_get_string (mt));
  if (o && json_object_object_get_ex (o, "manifests", &mt))
    return xstrdup (WARD_MT_OCI_INDEX);
  return xstrdup (WARD_MT_OCI_MANIFEST);
}

/* Fetches a manifest (or index) by tag or digest and checks its digest. */
static int fetch_manifest (ward_registry_t *reg, const char *ref, const char *want_digest,
                           resp_t *r, char **digest, char **media_type, ward_error_t **err)
{
  _cleanup_free_ char *got = NULL;
  int ret = get_small (reg, "manifests", ref, ACCEPT_MANIFESTS, MAX_MANIFEST, r, err);
  if (ret < 0)
    return ret;
  if (r->buf == NULL)
    return ward_error_set (err, EINVAL, "manifest %s: empty answer", ref);
  got = sha256_digest_of (r->buf, r->len);
  if (want_digest && strcmp (want_digest, got) != 0)
    return ward_error_set (err, EBADMSG, "manifest %s: content is %s", want_digest, got);
  if (r->digest && strncmp (r->digest, "sha256:", 7) == 0 && strcmp (r->digest, got) != 0)
    return ward_error_set (err, EBADMSG, "manifest %s: registry says %s, content is %s", ref,
                           r->digest, got);
  *digest = TAKE_PTR (got);
  *media_type = media_type_of (r);
  return 0;
}

/* ---- concurrent blob downloads -------------------------------------------- */

typedef struct
{
  ward_registry_t *reg;
  ward_store_t *store;
  CURL *h;
  struct curl_slist *hdrs;
  ward_blob_writer_t *w;
  char *www_auth, *ctype, *hdigest;
  const char *digest;
  char id[16];
  int index, count, attempts;
  int64_t total, current, reported, expected_size;
  ward_pull_status_t status;
  bool write_failed;
  char errbuf[CURL_ERROR_SIZE];
  ward_error_t *err;
} dl_t;

static void report (dl_t *d)
{
  ward_pull_progress_t p = { d->id,     d->digest, d->current, d->total,
                             d->status, d->index,  d->count };
  if (d->reg->opts->progress)
    d->reg->opts->progress (&p, d->reg->opts->userdata);
  d->reported = d->current;
}

static size_t dl_header (char *data, size_t size, size_t nmemb, void *ud)
{
  dl_t *d = ud;
  take_header (data, size * nmemb, &d->www_auth, &d->ctype, &d->hdigest);
  return size * nmemb;
}

static size_t dl_write (char *data, size_t size, size_t nmemb, void *ud)
{
  dl_t *d = ud;
  long code = 0;
  curl_easy_getinfo (d->h, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200)
    return size * nmemb; /* an error page: not blob content */
  /* the manifest gave the size: a registry sending more is not filling the disk */
  if (d->expected_size > 0
      && ward_blob_writer_size (d->w) + (int64_t) (size * nmemb) > d->expected_size)
    {
      ward_error_set (&d->err, EFBIG, "blob %s: more than the %lld bytes the manifest says",
                      d->digest, (long long) d->expected_size);
      d->write_failed = true;
      return 0;
    }
  if (ward_blob_writer_write (d->w, data, size * nmemb, &d->err) < 0)
    {
      d->write_failed = true;
      return 0;
    }
  return size * nmemb;
}

static int dl_progress (void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                        curl_off_t ulnow)
{
  dl_t *d = ud;
  if (dltotal > 0)
    d->total = dltotal;
  d->current = dlnow;
  if (d->current - d->reported >= 256 * 1024)
    report (d);
  return 0;
}

static int dl_start (dl_t *d, CURLM *multi, ward_error_t **err)
{
  _cleanup_free_ char *url = xasprintf ("%s://%s/v2/%s/blobs/%s", d->reg->scheme,
                                        d->reg->api_host, d->reg->repo, d->digest);
  int ret;
  if (d->w == NULL)
    {
      ret = ward_store_blob_begin (d->store, d->digest, &d->w, err);
      if (ret < 0)
        return ret;
    }
  d->h = curl_easy_init ();
  d->hdrs = auth_headers (d->reg, NULL);
  ward_registry_setup_easy (d->reg, d->h);
  setup_basic (d->reg, d->h);
  curl_easy_setopt (d->h, CURLOPT_URL, url);
  curl_easy_setopt (d->h, CURLOPT_HTTPHEADER, d->hdrs);
  curl_easy_setopt (d->h, CURLOPT_HEADERFUNCTION, dl_header);
  curl_easy_setopt (d->h, CURLOPT_HEADERDATA, d);
  curl_easy_setopt (d->h, CURLOPT_WRITEFUNCTION, dl_write);
  curl_easy_setopt (d->h, CURLOPT_WRITEDATA, d);
  curl_easy_setopt (d->h, CURLOPT_XFERINFOFUNCTION, dl_progress);
  curl_easy_setopt (d->h, CURLOPT_XFERINFODATA, d);
  curl_easy_setopt (d->h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (d->h, CURLOPT_ERRORBUFFER, d->errbuf);
  curl_easy_setopt (d->h, CURLOPT_PRIVATE, d);
  curl_multi_add_handle (multi, d->h);
  d->attempts++;
  d->status = WARD_PULL_DOWNLOADING;
  report (d);
  return 0;
}

static void dl_release (dl_t *d, CURLM *multi)
{
  if (d->h)
    {
      curl_multi_remove_handle (multi, d->h);
      curl_easy_cleanup (d->h);
      d->h = NULL;
    }
  curl_slist_free_all (d->hdrs);
  d->hdrs = NULL;
}

/* A finished transfer: commit, retry after a 401, or fail.  Returns 1 when
 * the download was restarted. */
static int dl_finish (dl_t *d, CURLM *multi, CURLcode rc, ward_error_t **err)
{
  long code = 0;
  _cleanup_free_ char *url = xasprintf ("%s://%s/v2/%s/blobs/%s", d->reg->scheme,
                                        d->reg->api_host, d->reg->repo, d->digest);
  curl_easy_getinfo (d->h, CURLINFO_RESPONSE_CODE, &code);
  dl_release (d, multi);
  if (d->write_failed)
    {
      *err = TAKE_PTR (d->err);
      return -EIO;
    }
  if (rc != CURLE_OK)
    return ward_error_set (err, EIO, "GET %s: %s", url,
                           *d->errbuf ? d->errbuf : curl_easy_strerror (rc));
  if (code == 401 && d->attempts < 2)
    {
      int ret = handle_401 (d->reg, d->www_auth, url, err);
      if (ret == 0)
        ret = dl_start (d, multi, err);
      return ret < 0 ? ret : 1;
    }
  if (code != 200)
    return ward_error_set (err, code == 404 ? ENOENT : EIO, "GET %s: HTTP %ld", url, code);
  d->status = WARD_PULL_VERIFYING;
  report (d);
  ward_blob_writer_t *w = TAKE_PTR (d->w);
  int ret = ward_blob_writer_commit (w, NULL, err);
  if (ret < 0)
    return ret;
  d->status = WARD_PULL_DONE;
  report (d);
  return 0;
}

static int download_layers (ward_registry_t *reg, ward_store_t *store,
                            const ward_oci_manifest_t *m, ward_error_t **err)
{
  size_t n = m->layers_len, next = 0, active = 0;
  int max = reg->opts->max_concurrent > 0 ? reg->opts->max_concurrent : 3;
  dl_t *dls = xzalloc ((n + 1) * sizeof *dls);
  CURLM *multi = curl_multi_init ();
  int ret = 0;

  for (size_t i = 0; i < n; i++)
    {
      dls[i] = (dl_t) { .reg = reg, .store = store, .digest = m->layers[i].digest,
                        .index = (int) i, .count = (int) n, .total = m->layers[i].size,
                        .expected_size = m->layers[i].size };
      snprintf (dls[i].id, sizeof dls[i].id, "%.12s", dls[i].digest + 7);
      dls[i].status = WARD_PULL_WAITING;
      report (&dls[i]);
    }
  while (ret == 0 && (next < n || active > 0))
    {
      while (ret == 0 && next < n && active < (size_t) max)
        {
          dl_t *d = &dls[next++];
          if (ward_store_blob_exists (store, d->digest))
            {
              d->status = WARD_PULL_EXISTS;
              d->current = d->total;
              report (d);
              continue;
            }
          ret = dl_start (d, multi, err);
          if (ret == 0)
            active++;
        }
      if (ret < 0 || active == 0)
        continue;
      int running = 0;
      CURLMcode mc = curl_multi_perform (multi, &running);
      if (mc == CURLM_OK)
        mc = curl_multi_poll (multi, NULL, 0, 1000, NULL);
      if (mc != CURLM_OK)
        {
          ret = ward_error_set (err, EIO, "curl multi: %s", curl_multi_strerror (mc));
          break;
        }
      CURLMsg *msg;
      int left;
      while (ret == 0 && (msg = curl_multi_info_read (multi, &left)))
        {
          dl_t *d = NULL;
          if (msg->msg != CURLMSG_DONE)
            continue;
          curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &d);
          int r = dl_finish (d, multi, msg->data.result, err);
          if (r < 0)
            {
              d->status = WARD_PULL_FAILED;
              report (d);
              ret = r;
            }
          else if (r == 0)
            active--;
        }
    }
  for (size_t i = 0; i < n; i++)
    {
      dl_release (&dls[i], multi);
      ward_blob_writer_abort (dls[i].w);
      free (dls[i].www_auth);
      free (dls[i].ctype);
      free (dls[i].hdigest);
      ward_error_free (&dls[i].err);
    }
  free (dls);
  curl_multi_cleanup (multi);
  return ret;
}

/* ---- pull ------------------------------------------------------------------ */

static void registry_clear (ward_registry_t *reg)
{
  free (reg->host);
  free (reg->api_host);
  free (reg->repo);
  free (reg->default_scope);
  free (reg->token);
}

static bool is_index (const char *mt)
{
  return strcmp (mt, WARD_MT_OCI_INDEX) == 0 || strcmp (mt, WARD_MT_DOCKER_LIST) == 0;
}

static int pull (ward_registry_t *reg, ward_store_t *store, ward_image_ref_t *ref,
                 char **manifest_digest, ward_error_t **err)
{
  const ward_pull_opts_t *o = reg->opts;
  resp_t r = { 0 };
  _cleanup_free_ char *digest = NULL;
  _cleanup_free_ char *mt = NULL;
  ward_oci_manifest_t *m = NULL;
  int ret = fetch_manifest (reg, ref->digest ? ref->digest : ref->tag, ref->digest, &r, &digest,
                            &mt, err);
  if (ret == 0 && is_index (mt))
    {
      ward_oci_index_t *idx = NULL;
      const ward_oci_descriptor_t *d;
      const char *os = o->os ? o->os : "linux";
      const char *arch = o->architecture ? o->architecture : ward_image_host_arch ();
      ret = ward_oci_index_parse (r.buf, r.len, &idx, err);
      if (ret == 0)
        ret = ward_store_blob_put (store, r.buf, r.len, digest, NULL, err);
      if (ret == 0)
        {
          d = ward_oci_index_select (idx, os, arch, o->variant);
          if (d == NULL)
            ret = ward_error_set_ret (err, -ENOENT, 0, "no manifest for %s/%s%s%s in the index",
                                      os, arch, o->variant ? "/" : "",
                                      o->variant ? o->variant : "");
          else
            {
              _cleanup_free_ char *want = xstrdup (d->digest);
              free (digest), digest = NULL;
              free (mt), mt = NULL;
              ret = fetch_manifest (reg, want, want, &r, &digest, &mt, err);
              if (ret == 0 && is_index (mt))
                ret = ward_error_set (err, EINVAL, "index entry %s is itself an index", want);
            }
        }
      ward_oci_index_free (idx);
    }
  if (ret == 0)
    ret = ward_oci_manifest_parse (r.buf, r.len, &m, err);
  if (ret == 0)
    ret = ward_store_blob_put (store, r.buf, r.len, digest, NULL, err);
  if (ret == 0 && !ward_store_blob_exists (store, m->config.digest))
    {
      resp_t c = { 0 };
      ret = get_small (reg, "blobs", m->config.digest, NULL, MAX_CONFIG, &c, err);
      if (ret == 0)
        ret = ward_store_blob_put (store, c.buf ? c.buf : "", c.len, m->config.digest, NULL, err);
      resp_clear (&c);
    }
  if (ret == 0)
    {
      _cleanup_free_ char *cfg = NULL;
      size_t len = 0;
      ward_oci_image_config_t *config = NULL;
      ret = ward_store_blob_read (store, m->config.digest, &cfg, &len, MAX_CONFIG, err);
      if (ret == 0)
        ret = ward_oci_image_config_parse (cfg, len, &config, err);
      if (ret == 0 && config->diff_ids_len != m->layers_len)
        ret = ward_error_set (err, EINVAL, "config %s: %zu diff_ids for %zu layers",
                              m->config.digest, config->diff_ids_len, m->layers_len);
      ward_oci_image_config_free (config);
    }
  if (ret == 0)
    ret = download_layers (reg, store, m, err);
  for (size_t i = 0; ret == 0 && o->unpack && i < m->layers_len; i++)
    {
      ward_pull_progress_t p = { NULL, m->layers[i].digest, m->layers[i].size, m->layers[i].size,
                                 WARD_PULL_EXTRACTING, (int) i, (int) m->layers_len };
      char id[16];
      snprintf (id, sizeof id, "%.12s", m->layers[i].digest + 7);
      p.id = id;
      if (o->progress)
        o->progress (&p, o->userdata);
      ret = ward_store_layer_ensure (store, m->layers[i].digest, NULL, err);
      p.status = WARD_PULL_DONE;
      if (ret == 0 && o->progress)
        o->progress (&p, o->userdata);
    }
  if (ret == 0)
    ret = ward_store_ref_set (store, ref->full, mt, digest, (int64_t) r.len, err);
  ward_oci_manifest_free (m);
  resp_clear (&r);
  if (ret == 0 && manifest_digest)
    *manifest_digest = TAKE_PTR (digest);
  return ret;
}

int ward_image_pull (ward_store_t *store, const char *name, const ward_pull_opts_t *opts,
                     char **manifest_digest, ward_error_t **err)
{
  static bool curl_ready;
  ward_pull_opts_t defaults = { 0 };
  _cleanup_image_ref_ ward_image_ref_t *ref = NULL;
  ward_registry_t reg = { 0 };
  int ret;

  if (opts == NULL)
    opts = &defaults;
  if (!curl_ready)
    {
      /* libcurl is loaded here (image/curl_dl.c): a missing one fails the pull */
      if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ward_error_set_ret (err, -ENOSYS, 0, "pull %s: libcurl (libcurl.so.4) could not be loaded", name);
      curl_ready = true;
    }
  ret = ward_image_ref_parse (name, &ref, err);
  if (ret < 0)
    return ret;
  reg.opts = opts;
  reg.host = xstrdup (ref->domain);
  reg.api_host = xstrdup (strcmp (ref->domain, "docker.io") == 0 ? "registry-1.docker.io"
                                                                  : ref->domain);
  reg.scheme = ward_registry_scheme (ref->domain, opts->insecure_registries);
  reg.repo = xstrdup (ref->path);
  reg.default_scope = xasprintf ("repository:%s:pull", ref->path);
  ret = pull (&reg, store, ref, manifest_digest, err);
  registry_clear (&reg);
  if (ret < 0)
    return ward_error_wrap (err, "pull %s", ref->full);
  return 0;
}
