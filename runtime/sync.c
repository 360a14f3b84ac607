/* Parent <-> container-init protocol: typed messages over a SOCK_SEQPACKET
 * socketpair, one packet each, fds as SCM_RIGHTS. */
#include "runtime/internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/cleanup.h"

#define SYNC_MAX_PAYLOAD 65536

struct sync_header
{
  uint32_t type;
  uint32_t len;
};

int ward_runtime_sync_pair (int fds[2], ward_error_t **err)
{
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return ward_error_set (err, errno, "socketpair");
  return 0;
}

int ward_runtime_sync_send (int fd, int type, const void *data, size_t len, int pass_fd,
                            ward_error_t **err)
{
  struct sync_header h = { .type = (uint32_t) type, .len = (uint32_t) len };
  struct iovec iov[2] = { { &h, sizeof h }, { (void *) data, len } };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

  if (len > SYNC_MAX_PAYLOAD)
    len = h.len = SYNC_MAX_PAYLOAD, iov[1].iov_len = len;
  if (pass_fd >= 0)
    {
      memset (&ctl, 0, sizeof ctl);
      msg.msg_control = ctl.buf;
      msg.msg_controllen = sizeof ctl.buf;
      struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &pass_fd, sizeof (int));
    }
  /* MSG_NOSIGNAL: a peer that died must be an error, not a SIGPIPE. */
  while (sendmsg (fd, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return ward_error_set (err, errno, "sync: send message %d", type);
  return 0;
}

int ward_runtime_sync_recv (int fd, int *type, char **data, int *fd_out, ward_error_t **err)
{
  struct sync_header h;
  _cleanup_free_ char *buf = xmalloc (SYNC_MAX_PAYLOAD + 1);
  struct iovec iov[2] = { { &h, sizeof h }, { buf, SYNC_MAX_PAYLOAD } };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf };
  ssize_t n;

  if (fd_out)
    *fd_out = -1;
  if (data)
    *data = NULL;
  do
    n = recvmsg (fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return ward_error_set (err, errno, "sync: receive");
  if (n == 0)
    return ward_error_set_ret (err, -EPIPE, 0, "sync: peer closed the socket");
  if ((size_t) n < sizeof h || h.len != (size_t) n - sizeof h)
    return ward_error_set_ret (err, -EPROTO, 0, "sync: short message");
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        int got;
        memcpy (&got, CMSG_DATA (c), sizeof got);
        if (fd_out)
          *fd_out = got;
        else
          close (got);
      }
  buf[h.len] = '\0';
  *type = (int) h.type;
  if (data)
    *data = TAKE_PTR (buf);
  return 0;
}

int ward_runtime_sync_expect (int fd, int want, int *fd_out, ward_error_t **err)
{
  _cleanup_free_ char *data = NULL;
  int type, ret;

  ret = ward_runtime_sync_recv (fd, &type, &data, fd_out, err);
  if (ret < 0)
    return ret;
  if (type == WARD_SYNC_ERROR)
    return ward_error_set_ret (err, -EIO, 0, "%s", data ? data : "unknown error");
  if (type != want)
    return ward_error_set_ret (err, -EPROTO, 0, "sync: got message %d, expected %d", type, want);
  return 0;
}
