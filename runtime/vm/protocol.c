/* The ward-vm host <-> agent message framing (see protocol.h).  Linked
 * into the VMM side (libward-vm.a) and into the static guest agent. */
#include <config.h>

#include "runtime/vm/protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *const type_names[WARD_VM_MSG__MAX] = {
  [WARD_VM_MSG_HELLO] = "HELLO",       [WARD_VM_MSG_CONFIG] = "CONFIG",
  [WARD_VM_MSG_START] = "START",       [WARD_VM_MSG_STARTED] = "STARTED",
  [WARD_VM_MSG_STDIN] = "STDIN",       [WARD_VM_MSG_STDOUT] = "STDOUT",
  [WARD_VM_MSG_STDERR] = "STDERR",     [WARD_VM_MSG_SIGNAL] = "SIGNAL",
  [WARD_VM_MSG_RESIZE] = "RESIZE",     [WARD_VM_MSG_EXIT] = "EXIT",
  [WARD_VM_MSG_EXIT_ACK] = "EXIT_ACK", [WARD_VM_MSG_ERROR] = "ERROR",
  [WARD_VM_MSG_EXEC] = "EXEC",         [WARD_VM_MSG_PS] = "PS",
  [WARD_VM_MSG_PS_REPLY] = "PS_REPLY", [WARD_VM_MSG_STATS] = "STATS",
  [WARD_VM_MSG_STATS_REPLY] = "STATS_REPLY",
  [WARD_VM_MSG_CREATED] = "CREATED",
};

const char *
ward_vm_msg_type_name (uint16_t type)
{
  if (type < WARD_VM_MSG__MAX && type_names[type])
    return type_names[type];
  return "unknown";
}

void
ward_vm_msg_clear (struct ward_vm_msg *m)
{
  free (m->data);
  memset (m, 0, sizeof *m);
}

static void
put_u32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) v;
  p[1] = (uint8_t) (v >> 8);
  p[2] = (uint8_t) (v >> 16);
  p[3] = (uint8_t) (v >> 24);
}

static uint32_t
get_u32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

int
ward_vm_proto_header (uint8_t hdr[WARD_VM_PROTO_HEADER], uint16_t type, uint32_t id, uint32_t len)
{
  if (len > WARD_VM_PROTO_MAX_PAYLOAD)
    return -EMSGSIZE;
  put_u32 (hdr, len);
  hdr[4] = (uint8_t) type;
  hdr[5] = (uint8_t) (type >> 8);
  hdr[6] = 0;
  hdr[7] = 0;
  put_u32 (hdr + 8, id);
  return 0;
}

void
ward_vm_proto_parser_reset (struct ward_vm_proto_parser *p)
{
  ward_vm_msg_clear (&p->cur);
  memset (p, 0, sizeof *p);
}

int
ward_vm_proto_feed (struct ward_vm_proto_parser *p, const uint8_t *buf, size_t len, size_t *used,
                    struct ward_vm_msg *out, ward_error_t **err)
{
  size_t off = 0;

  *used = 0;
  if (p->broken)
    return ward_error_set_ret (err, -EPROTO, 0, "vm protocol: stream out of sync");
  if (p->hdr_got < WARD_VM_PROTO_HEADER)
    {
      size_t n = WARD_VM_PROTO_HEADER - p->hdr_got;
      if (n > len)
        n = len;
      memcpy (p->hdr + p->hdr_got, buf, n);
      p->hdr_got += n;
      off += n;
      if (p->hdr_got < WARD_VM_PROTO_HEADER)
        {
          *used = off;
          return 0;
        }
      uint32_t plen = get_u32 (p->hdr);
      uint16_t type = (uint16_t) (p->hdr[4] | p->hdr[5] << 8);
      uint16_t flags = (uint16_t) (p->hdr[6] | p->hdr[7] << 8);
      /* checked before any allocation: the length is the peer's word */
      if (plen > WARD_VM_PROTO_MAX_PAYLOAD)
        {
          p->broken = true;
          return ward_error_set_ret (err, -EPROTO, 0,
                                     "vm protocol: message length %u exceeds %u", plen,
                                     WARD_VM_PROTO_MAX_PAYLOAD);
        }
      if (type == 0 || type >= WARD_VM_MSG__MAX)
        {
          p->broken = true;
          return ward_error_set_ret (err, -EPROTO, 0, "vm protocol: unknown message type %u",
                                     type);
        }
      if (flags != 0)
        {
          p->broken = true;
          return ward_error_set_ret (err, -EPROTO, 0, "vm protocol: flags 0x%x are not 0", flags);
        }
      p->cur.type = type;
      p->cur.len = plen;
      p->cur.id = get_u32 (p->hdr + 8);
      p->cur.data = malloc ((size_t) plen + 1);
      if (p->cur.data == NULL)
        {
          p->broken = true;
          return ward_error_set (err, ENOMEM, "vm protocol: %u-byte message", plen);
        }
      p->data_got = 0;
    }
  size_t want = p->cur.len - p->data_got;
  size_t n = len - off < want ? len - off : want;
  memcpy (p->cur.data + p->data_got, buf + off, n);
  p->data_got += n;
  off += n;
  *used = off;
  if (p->data_got < p->cur.len)
    return 0;
  p->cur.data[p->cur.len] = '\0';
  *out = p->cur;
  memset (&p->cur, 0, sizeof p->cur);
  p->hdr_got = 0;
  p->data_got = 0;
  return 1;
}

static int
write_all (int fd, struct iovec *iov, int n)
{
  while (n > 0)
    {
      ssize_t w = writev (fd, iov, n);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -errno;
        }
      size_t left = (size_t) w;
      while (n > 0 && left >= iov->iov_len)
        {
          left -= iov->iov_len;
          iov++;
          n--;
        }
      if (n > 0)
        {
          iov->iov_base = (uint8_t *) iov->iov_base + left;
          iov->iov_len -= left;
        }
    }
  return 0;
}

int
ward_vm_proto_send (int fd, uint16_t type, uint32_t id, const void *data, uint32_t len,
                    ward_error_t **err)
{
  uint8_t hdr[WARD_VM_PROTO_HEADER];
  if (ward_vm_proto_header (hdr, type, id, len) < 0)
    return ward_error_set_ret (err, -EMSGSIZE, 0, "vm protocol: %s message of %u bytes is too large",
                               ward_vm_msg_type_name (type), len);
  struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *) data, len } };
  int r = write_all (fd, iov, len ? 2 : 1);
  if (r < 0)
    return ward_error_set (err, -r, "vm protocol: send %s", ward_vm_msg_type_name (type));
  return 0;
}

int
ward_vm_proto_send_u32 (int fd, uint16_t type, uint32_t id, uint32_t v, ward_error_t **err)
{
  uint8_t b[4];
  put_u32 (b, v);
  return ward_vm_proto_send (fd, type, id, b, 4, err);
}

int
ward_vm_proto_recv (int fd, struct ward_vm_msg *out, ward_error_t **err)
{
  struct ward_vm_proto_parser p = { 0 };
  /* one byte at a time for the header would be slow; the header and the
   * payload are read with exact sizes instead, so no byte of the next
   * message is consumed */
  uint8_t hdr[WARD_VM_PROTO_HEADER];
  size_t got = 0;
  while (got < sizeof hdr)
    {
      ssize_t r = read (fd, hdr + got, sizeof hdr - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return ward_error_set (err, errno, "vm protocol: read");
      if (r == 0)
        return ward_error_set_ret (err, -EPIPE, 0, "vm protocol: connection closed");
      got += (size_t) r;
    }
  size_t used;
  int ret = ward_vm_proto_feed (&p, hdr, sizeof hdr, &used, out, err);
  if (ret != 0)
    return ret < 0 ? ret : 0;
  while (p.data_got < p.cur.len)
    {
      ssize_t r = read (fd, p.cur.data + p.data_got, p.cur.len - p.data_got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          int e = r < 0 ? errno : EPIPE;
          ward_vm_proto_parser_reset (&p);
          return ward_error_set (err, e, "vm protocol: read payload");
        }
      p.data_got += (size_t) r;
    }
  p.cur.data[p.cur.len] = '\0';
  *out = p.cur;
  return 0;
}

int
ward_vm_msg_u32 (const struct ward_vm_msg *m, uint32_t *v, ward_error_t **err)
{
  if (m->len != 4)
    return ward_error_set_ret (err, -EPROTO, 0, "vm protocol: %s payload is %u bytes, not 4",
                               ward_vm_msg_type_name (m->type), m->len);
  *v = get_u32 (m->data);
  return 0;
}
