/* rtnetlink sockets over libmnl, and running code inside another netns.
 *
 * Working inside a container's netns: a netlink socket stays bound to the
 * netns it was created in, so ward_nl_open(netns_fd) creates it on a
 * short-lived thread that has done setns(netns_fd, CLONE_NEWNET) and hands
 * it back; every later request on it needs no switching at all.  A thread
 * rather than a forked child because setns(CLONE_NEWNET) is per thread
 * (unlike user or mount namespaces it is allowed in a multi-threaded
 * process), it costs no fork of a large address space, and results
 * (sockets, TAP fds, error objects) come back without SCM_RIGHTS
 * plumbing.  The calling thread never changes netns, so a failure cannot
 * leave the caller stranded in the container's namespace. */
#include "network/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"

struct netns_call
{
  int netns_fd;
  int (*fn) (void *, ward_error_t **);
  void *data;
  ward_error_t **err;
  int ret;
};

static void *netns_thread (void *arg)
{
  struct netns_call *c = arg;
  /* Only this thread switches, and it ends right after fn. */
  if (setns (c->netns_fd, CLONE_NEWNET) < 0)
    {
      c->ret = ward_error_set (c->err, errno, "setns into network namespace fd %d", c->netns_fd);
      return NULL;
    }
  c->ret = c->fn (c->data, c->err);
  return NULL;
}

int ward_netns_run (int netns_fd, int (*fn) (void *data, ward_error_t **err), void *data,
                    ward_error_t **err)
{
  struct netns_call c = { .netns_fd = netns_fd, .fn = fn, .data = data, .err = err };
  pthread_t th;
  int r;

  if (netns_fd < 0)
    return fn (data, err);
  r = pthread_create (&th, NULL, netns_thread, &c);
  if (r != 0)
    return ward_error_set (err, r, "create thread to enter network namespace");
  pthread_join (th, NULL);
  return c.ret;
}

struct nl_open_call
{
  ward_nl_t *nl;
};

static int nl_open_here (void *data, ward_error_t **err)
{
  struct nl_open_call *c = data;
  struct mnl_socket *s = mnl_socket_open2 (NETLINK_ROUTE, SOCK_CLOEXEC);
  int one = 1;

  if (s == NULL)
    return ward_error_set (err, errno, "open rtnetlink socket");
  if (mnl_socket_bind (s, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int saved = errno;
      mnl_socket_close (s);
      return ward_error_set (err, saved, "bind rtnetlink socket");
    }
  /* Strict checking makes the kernel reject unknown attributes instead of
   * ignoring them; ignore failure on kernels without it. */
  mnl_socket_setsockopt (s, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  c->nl = xzalloc (sizeof *c->nl);
  c->nl->sock = s;
  c->nl->portid = mnl_socket_get_portid (s);
  c->nl->seq = (uint32_t) time (NULL);
  c->nl->buf = xmalloc (WARD_NL_BUFSIZE);
  return 0;
}

int ward_nl_open (int netns_fd, ward_nl_t **out, ward_error_t **err)
{
  struct nl_open_call c = { NULL };
  int ret = ward_netns_run (netns_fd, nl_open_here, &c, err);
  if (ret < 0)
    return ret;
  *out = c.nl;
  return 0;
}

void ward_nl_close (ward_nl_t *nl)
{
  if (nl == NULL)
    return;
  mnl_socket_close (nl->sock);
  free (nl->buf);
  free (nl);
}

struct nlmsghdr *ward_nl_msg (ward_nl_t *nl, uint16_t type, uint16_t flags)
{
  struct nlmsghdr *nlh;
  memset (nl->buf, 0, MNL_NLMSG_HDRLEN + 64);
  nlh = mnl_nlmsg_put_header (nl->buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = ++nl->seq;
  return nlh;
}

int ward_nl_talk (ward_nl_t *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  uint32_t seq = nlh->nlmsg_seq;
  int ret;

  /* Without an ACK a successful non-dump request would leave us waiting.
   * NLM_F_DUMP shares bits with NLM_F_EXCL, so only RTM_GET* (type & 3 ==
   * 2) requests can be dumps. */
  bool dump = (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump)
    nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto (nl->sock, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  do
    {
      ssize_t n = mnl_socket_recvfrom (nl->sock, nl->buf, WARD_NL_BUFSIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            {
              ret = MNL_CB_OK;
              continue;
            }
          return -errno;
        }
      ret = mnl_cb_run (nl->buf, (size_t) n, seq, nl->portid, cb, data);
      if (ret < 0)
        return errno ? -errno : -EIO;
    }
  while (ret > MNL_CB_STOP);
  return 0;
}

struct sysctl_call
{
  const char *key, *value;
};

static int sysctl_write_here (void *data, ward_error_t **err)
{
  struct sysctl_call *c = data;
  _cleanup_free_ char *path = xasprintf ("/proc/sys/%s", c->key);
  /* /proc/sys/net shows the netns of the task that opens it, so the open
   * has to happen on this (possibly switched) thread. */
  return ward_write_file_at (AT_FDCWD, path, c->value, strlen (c->value), err);
}

int ward_netns_sysctl_write (int netns_fd, const char *key, const char *value,
                             ward_error_t **err)
{
  struct sysctl_call c = { key, value };
  return ward_netns_run (netns_fd, sysctl_write_here, &c, err);
}
