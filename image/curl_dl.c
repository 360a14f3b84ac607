/* libcurl, loaded when a registry is first talked to.  Linked normally it
 * brings 32 shared libraries (TLS, Kerberos, LDAP, ssh, ...) into every
 * `ward` start, and `ward run` starts twice (the CVE-2019-5736 re-exec):
 * their relocation alone cost ~7 ms per start on the development machine,
 * for a verb that pulls only when the image is missing.  These are the
 * entry points image/ uses, each resolved with dlsym on first call.  When
 * the library cannot be loaded the init calls fail (NULL handle,
 * CURLE_FAILED_INIT) and the registry client reports that; every other
 * entry point is only reached with a handle, hence a loaded library. */
#include <config.h>

/* we define the real functions: no type-checking macros over their names */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>


static void *libcurl;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load (void)
{
  /* the soname of Debian's libcurl4(-openssl-dev); the dev symlink else */
  libcurl = dlopen ("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (libcurl == NULL)
    libcurl = dlopen ("libcurl.so", RTLD_NOW | RTLD_LOCAL);
}

static void *sym (const char *name)
{
  void *p;
  pthread_once (&once, load);
  p = libcurl ? dlsym (libcurl, name) : NULL;
  return p;
}

/* A function we only reach with a handle from a loaded libcurl: a missing
 * symbol there is a broken installation, not an error to handle. */
static void *need (const char *name)
{
  void *p = sym (name);
  if (p == NULL)
    abort ();
  return p;
}

CURLcode curl_global_init (long flags)
{
  CURLcode (*f) (long) = (CURLcode (*) (long)) sym ("curl_global_init");
  return f ? f (flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init (void)
{
  CURL *(*f) (void) = (CURL * (*) (void)) sym ("curl_easy_init");
  return f ? f () : NULL;
}

CURLM *curl_multi_init (void)
{
  CURLM *(*f) (void) = (CURLM * (*) (void)) sym ("curl_multi_init");
  return f ? f () : NULL;
}

CURLcode curl_easy_setopt (CURL *h, CURLoption opt, ...)
{
  CURLcode (*f) (CURL *, CURLoption, ...) = (CURLcode (*) (CURL *, CURLoption, ...)) need ("curl_easy_setopt");
  CURLcode r;
  va_list ap;
  va_start (ap, opt);
  /* the option number says the argument's type (curl.h's CURLOPTTYPE_*) */
  if (opt < CURLOPTTYPE_OBJECTPOINT)
    r = f (h, opt, va_arg (ap, long));
  else if (opt < CURLOPTTYPE_OFF_T)
    r = f (h, opt, va_arg (ap, void *));
  else if (opt < CURLOPTTYPE_BLOB)
    r = f (h, opt, va_arg (ap, curl_off_t));
  else
    r = f (h, opt, va_arg (ap, void *));
  va_end (ap);
  return r;
}

CURLcode curl_easy_getinfo (CURL *h, CURLINFO info, ...)
{
  CURLcode (*f) (CURL *, CURLINFO, ...) = (CURLcode (*) (CURL *, CURLINFO, ...)) need ("curl_easy_getinfo");
  CURLcode r;
  va_list ap;
  va_start (ap, info);
  /* every CURLINFO_* takes a pointer to where the value goes */
  r = f (h, info, va_arg (ap, void *));
  va_end (ap);
  return r;
}

CURLcode curl_easy_perform (CURL *h)
{
  return ((CURLcode (*) (CURL *)) need ("curl_easy_perform")) (h);
}

void curl_easy_cleanup (CURL *h)
{
  ((void (*) (CURL *)) need ("curl_easy_cleanup")) (h);
}

const char *curl_easy_strerror (CURLcode c)
{
  const char *(*f) (CURLcode) = (const char *(*) (CURLcode)) sym ("curl_easy_strerror");
  return f ? f (c) : "libcurl could not be loaded";
}

char *curl_easy_escape (CURL *h, const char *s, int len)
{
  return ((char *(*) (CURL *, const char *, int)) need ("curl_easy_escape")) (h, s, len);
}

void curl_free (void *p)
{
  ((void (*) (void *)) need ("curl_free")) (p);
}

struct curl_slist *curl_slist_append (struct curl_slist *l, const char *s)
{
  struct curl_slist *(*f) (struct curl_slist *, const char *)
      = (struct curl_slist * (*) (struct curl_slist *, const char *)) sym ("curl_slist_append");
  return f ? f (l, s) : NULL;
}

void curl_slist_free_all (struct curl_slist *l)
{
  if (l)
    ((void (*) (struct curl_slist *)) need ("curl_slist_free_all")) (l);
}

CURLMcode curl_multi_add_handle (CURLM *m, CURL *h)
{
  return ((CURLMcode (*) (CURLM *, CURL *)) need ("curl_multi_add_handle")) (m, h);
}

CURLMcode curl_multi_remove_handle (CURLM *m, CURL *h)
{
  return ((CURLMcode (*) (CURLM *, CURL *)) need ("curl_multi_remove_handle")) (m, h);
}

CURLMcode curl_multi_cleanup (CURLM *m)
{
  return ((CURLMcode (*) (CURLM *)) need ("curl_multi_cleanup")) (m);
}

CURLMsg *curl_multi_info_read (CURLM *m, int *left)
{
  return ((CURLMsg * (*) (CURLM *, int *)) need ("curl_multi_info_read")) (m, left);
}

CURLMcode curl_multi_perform (CURLM *m, int *running)
{
  return ((CURLMcode (*) (CURLM *, int *)) need ("curl_multi_perform")) (m, running);
}

CURLMcode curl_multi_poll (CURLM *m, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                           int *numfds)
{
  return ((CURLMcode (*) (CURLM *, struct curl_waitfd *, unsigned int, int, int *)) need (
      "curl_multi_poll")) (m, extra, n, timeout_ms, numfds);
}

const char *curl_multi_strerror (CURLMcode c)
{
  const char *(*f) (CURLMcode) = (const char *(*) (CURLMcode)) sym ("curl_multi_strerror");
  return f ? f (c) : "libcurl could not be loaded";
}
