/* Image references, normalised the way docker's reference package does:
 * [domain/]path[:tag][@digest], docker.io and library/ filled in. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "image/image.h"

#define DEFAULT_DOMAIN "docker.io"
#define NAME_MAX_TOTAL 255

static bool is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | -+ */
static bool path_component_valid (const char *s, size_t n)
{
  size_t i = 0;
  if (n == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[n - 1]))
    return false;
  while (i < n)
    {
      if (is_lower_alnum (s[i]))
        {
          i++;
          continue;
        }
      size_t j = i;
      while (j < n && !is_lower_alnum (s[j]))
        j++;
      size_t len = j - i;
      bool ok = (len == 1 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
                || (len == 2 && s[i] == '_' && s[i + 1] == '_');
      if (!ok)
        {
          ok = true;
          for (size_t k = i; k < j; k++)
            ok = ok && s[k] == '-';
        }
      if (!ok)
        return false;
      i = j;
    }
  return true;
}

/* domain-component ('.' domain-component)* (':' port)?, or [IPv6](:port)? */
static bool domain_valid (const char *s)
{
  const char *colon;
  size_t hostlen;
  if (*s == '[')
    {
      const char *end = strchr (s, ']');
      if (end == NULL || end == s + 1)
        return false;
      for (const char *p = s + 1; p < end; p++)
        if (!isxdigit ((unsigned char) *p) && *p != ':' && *p != '.')
          return false;
      colon = end[1] == ':' ? end + 1 : NULL;
      if (end[1] != '\0' && colon == NULL)
        return false;
    }
  else
    {
      colon = strchr (s, ':');
      hostlen = colon ? (size_t) (colon - s) : strlen (s);
      if (hostlen == 0)
        return false;
      /* components: [a-zA-Z0-9] or [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
      size_t start = 0;
      for (size_t i = 0; i <= hostlen; i++)
        {
          if (i < hostlen && s[i] != '.')
            {
              if (!isalnum ((unsigned char) s[i]) && s[i] != '-')
                return false;
              continue;
            }
          if (i == start || s[start] == '-' || s[i - 1] == '-')
            return false;
          start = i + 1;
        }
    }
  if (colon)
    {
      const char *port = colon + 1;
      if (*port == '\0' || strlen (port) > 5 || strspn (port, "0123456789") != strlen (port))
        return false;
    }
  return true;
}

static bool tag_valid (const char *t)
{
  size_t n = strlen (t);
  if (n == 0 || n > 128)
    return false;
  if (!isalnum ((unsigned char) t[0]) && t[0] != '_')
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum ((unsigned char) t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
      return false;
  return true;
}

static bool looks_like_domain (const char *s, size_t n)
{
  if (n == 9 && memcmp (s, "localhost", 9) == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '.' || s[i] == ':' || s[i] == '[' || isupper ((unsigned char) s[i]))
      return true;
  return false;
}

void ward_image_ref_free (ward_image_ref_t *ref)
{
  if (ref == NULL)
    return;
  free (ref->domain);
  free (ref->path);
  free (ref->tag);
  free (ref->digest);
  free (ref->repo);
  free (ref->full);
  free (ref);
}

int ward_image_ref_parse (const char *name, ward_image_ref_t **out, ward_error_t **err)
{
  _cleanup_free_ char *work = NULL;
  _cleanup_free_ char *domain = NULL;
  _cleanup_free_ char *path = NULL;
  char *at, *tag = NULL, *slash, *rest;
  ward_image_ref_t *ref;

  if (name == NULL || *name == '\0')
    return ward_error_set (err, EINVAL, "invalid reference format: empty name");
  if (strlen (name) > 4096)
    return ward_error_set (err, EINVAL, "invalid reference format: name too long");
  work = xstrdup (name);

  at = strchr (work, '@');
  if (at)
    {
      *at++ = '\0';
      if (ward_oci_digest_check (at) < 0 || strncmp (at, "sha256:", 7) != 0)
        return ward_error_set (err, EINVAL, "invalid reference format '%s': bad digest '%s'",
                               name, at);
    }
  slash = strrchr (work, '/');
  tag = strrchr (slash ? slash : work, ':');
  if (tag)
    {
      *tag++ = '\0';
      if (!tag_valid (tag))
        return ward_error_set (err, EINVAL, "invalid reference format '%s': bad tag '%s'", name,
                               tag);
    }

  slash = strchr (work, '/');
  if (slash && looks_like_domain (work, (size_t) (slash - work)))
    {
      domain = xstrndup (work, (size_t) (slash - work));
      rest = slash + 1;
      if (!domain_valid (domain))
        return ward_error_set (err, EINVAL, "invalid reference format '%s': bad registry host '%s'",
                               name, domain);
    }
  else
    {
      domain = xstrdup (DEFAULT_DOMAIN);
      rest = work;
    }
  if (strcmp (domain, "index.docker.io") == 0 || strcmp (domain, "registry-1.docker.io") == 0)
    {
      free (domain);
      domain = xstrdup (DEFAULT_DOMAIN);
    }

  if (*rest == '\0')
    return ward_error_set (err, EINVAL, "invalid reference format '%s': empty repository name",
                           name);
  for (const char *c = rest; *c; c++)
    if (isupper ((unsigned char) *c))
      return ward_error_set (err, EINVAL,
                             "invalid reference format '%s': repository name must be lowercase",
                             name);
  for (const char *p = rest;;)
    {
      const char *e = strchr (p, '/');
      size_t n = e ? (size_t) (e - p) : strlen (p);
      if (!path_component_valid (p, n))
        return ward_error_set (err, EINVAL,
                               "invalid reference format '%s': "
                               "bad repository name component '%.*s'",
                               name, (int) n, p);
      if (e == NULL)
        break;
      p = e + 1;
    }

  if (strcmp (domain, DEFAULT_DOMAIN) == 0 && strchr (rest, '/') == NULL)
    path = xasprintf ("library/%s", rest);
  else
    path = xstrdup (rest);

  ref = xzalloc (sizeof *ref);
  ref->repo = xasprintf ("%s/%s", domain, path);
  if (strlen (ref->repo) > NAME_MAX_TOTAL)
    {
      ward_image_ref_free (ref);
      return ward_error_set (err, EINVAL,
                             "invalid reference format '%s': repository name longer than %d",
                             name, NAME_MAX_TOTAL);
    }
  if (tag == NULL && at == NULL)
    tag = (char *) "latest";
  ref->domain = TAKE_PTR (domain);
  ref->path = TAKE_PTR (path);
  ref->tag = tag ? xstrdup (tag) : NULL;
  ref->digest = at ? xstrdup (at) : NULL;
  ref->full = xasprintf ("%s%s%s%s%s", ref->repo, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                         ref->digest ? "@" : "", ref->digest ? ref->digest : "");
  *out = ref;
  return 0;
}

char *ward_image_ref_familiar (const ward_image_ref_t *ref)
{
  const char *repo = ref->repo;
  if (strcmp (ref->domain, DEFAULT_DOMAIN) == 0)
    {
      repo = ref->path;
      if (strncmp (repo, "library/", 8) == 0 && strchr (repo + 8, '/') == NULL)
        repo += 8;
    }
  return xasprintf ("%s%s%s%s%s", repo, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                    ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}
