/* Shared between registry.c and auth.c. */
#ifndef WARD_IMAGE_REGISTRY_INTERNAL_H
#define WARD_IMAGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>

#include "common/error.h"
#include "image/image.h"

typedef struct
{
  char *scheme;  /* "Bearer", "Basic" */
  char *realm, *service, *scope;
} ward_auth_challenge_t;

typedef struct
{
  const ward_pull_opts_t *opts;
  char *host;          /* as in the reference: "127.0.0.1:5000", "docker.io" */
  char *api_host;      /* where the API lives: registry-1.docker.io for docker.io */
  const char *scheme;  /* "http" or "https" */
  char *repo;          /* "library/busybox" */
  char *default_scope; /* repository:<repo>:pull */
  char *token;         /* bearer token once obtained */
  bool basic;          /* the registry asked for basic auth */
} ward_registry_t;

int ward_auth_parse_challenge (const char *header, ward_auth_challenge_t *out);
void ward_auth_challenge_clear (ward_auth_challenge_t *c);
int ward_auth_fetch_token (ward_registry_t *reg, const ward_auth_challenge_t *c, char **token,
                           ward_error_t **err);

/* TLS, CA file, protocols, timeouts: the options every request shares. */
void ward_registry_setup_easy (ward_registry_t *reg, CURL *h);
/* 0 when url is https, or http to a host allowed plain HTTP. */
int ward_registry_url_allowed (ward_registry_t *reg, const char *url);

#endif
