/* ward-vm host <-> agent protocol: framing, the incremental parser fed
 * byte by byte and in bulk, and hostile headers (lengths, types, flags). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/vm/protocol.h"
#include "tests/unit/tap.h"

static void
hdr_raw (uint8_t *h, uint32_t len, uint16_t type, uint16_t flags, uint32_t id)
{
  memcpy (h, &len, 4); /* x86-64: little endian like the wire format */
  memcpy (h + 4, &type, 2);
  memcpy (h + 6, &flags, 2);
  memcpy (h + 8, &id, 4);
}

static int
feed_all (struct ward_vm_proto_parser *p, const uint8_t *b, size_t len, struct ward_vm_msg *m,
          ward_error_t **err, size_t step)
{
  size_t off = 0;
  while (off < len)
    {
      size_t used, n = len - off < step ? len - off : step;
      int r = ward_vm_proto_feed (p, b + off, n, &used, m, err);
      off += used;
      if (r != 0)
        return r;
    }
  return 0;
}

int
main (void)
{
  ward_error_t *err = NULL;
  uint8_t buf[64];
  struct ward_vm_msg m = { 0 };
  struct ward_vm_proto_parser p = { 0 };

  /* a good message, whole and byte by byte */
  tap_ok (ward_vm_proto_header (buf, WARD_VM_MSG_STDOUT, 7, 5) == 0, "header for 5 bytes");
  memcpy (buf + 12, "hello", 5);
  tap_ok (feed_all (&p, buf, 17, &m, &err, 17) == 1, "whole message parsed");
  tap_ok (m.type == WARD_VM_MSG_STDOUT && m.id == 7 && m.len == 5, "type, id and length");
  tap_is_str ((char *) m.data, "hello", "payload NUL-terminated");
  ward_vm_msg_clear (&m);
  tap_ok (feed_all (&p, buf, 17, &m, &err, 1) == 1 && m.len == 5
              && memcmp (m.data, "hello", 5) == 0,
          "same message fed one byte at a time");
  ward_vm_msg_clear (&m);

  /* two messages in one buffer: the first call stops at the boundary */
  {
    uint8_t two[40];
    ward_vm_proto_header (two, WARD_VM_MSG_EXIT_ACK, 0, 0);
    ward_vm_proto_header (two + 12, WARD_VM_MSG_SIGNAL, 0, 4);
    memcpy (two + 24, "\x0f\0\0\0", 4);
    size_t used;
    int r = ward_vm_proto_feed (&p, two, 28, &used, &m, &err);
    tap_ok (r == 1 && used == 12 && m.type == WARD_VM_MSG_EXIT_ACK && m.len == 0,
            "empty message ends at its header");
    ward_vm_msg_clear (&m);
    r = ward_vm_proto_feed (&p, two + used, 28 - used, &used, &m, &err);
    uint32_t sig = 0;
    tap_ok (r == 1 && ward_vm_msg_u32 (&m, &sig, &err) == 0 && sig == 15, "u32 payload (SIGTERM)");
    ward_vm_msg_clear (&m);
  }

  /* hostile headers */
  {
    static const struct
    {
      uint32_t len;
      uint16_t type, flags;
      const char *what, *msg;
    } bad[] = {
      { 0xffffffffu, WARD_VM_MSG_STDOUT, 0, "length 4 GiB", "exceeds" },
      { WARD_VM_PROTO_MAX_PAYLOAD + 1, WARD_VM_MSG_STDOUT, 0, "length max+1", "exceeds" },
      { 0x80000000u, WARD_VM_MSG_CONFIG, 0, "length 2 GiB", "exceeds" },
      { 1, 0, 0, "type 0", "unknown message type" },
      { 1, WARD_VM_MSG__MAX, 0, "type past the last", "unknown message type" },
      { 1, 0xffff, 0, "type 0xffff", "unknown message type" },
      { 1, WARD_VM_MSG_STDIN, 1, "flags 1", "flags" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
      {
        ward_vm_proto_parser_reset (&p);
        hdr_raw (buf, bad[i].len, bad[i].type, bad[i].flags, 0);
        int r = feed_all (&p, buf, 12, &m, &err, 3);
        tap_ok (r == -EPROTO && err && strstr (err->msg, bad[i].msg), "refused: %s (%s)",
                bad[i].what, err ? err->msg : "no error");
        ward_error_free (&err);
        size_t used;
        r = ward_vm_proto_feed (&p, buf, 12, &used, &m, &err);
        tap_ok (r == -EPROTO && used == 0, "%s: the stream stays broken", bad[i].what);
        ward_error_free (&err);
      }
    ward_vm_proto_parser_reset (&p);
  }
  /* the largest allowed payload is accepted, after a header split anywhere */
  {
    size_t n = WARD_VM_PROTO_MAX_PAYLOAD;
    uint8_t *big = calloc (1, n + 12);
    ward_vm_proto_header (big, WARD_VM_MSG_CONFIG, 0, (uint32_t) n);
    big[12 + n - 1] = 'x';
    tap_ok (feed_all (&p, big, n + 12, &m, &err, 5) == 1 && m.len == n && m.data[n - 1] == 'x',
            "1 MiB payload in 5-byte steps");
    ward_vm_msg_clear (&m);
    tap_ok (ward_vm_proto_header (big, WARD_VM_MSG_CONFIG, 0, (uint32_t) n + 1) == -EMSGSIZE,
            "header refuses max+1");
    free (big);
  }
  /* u32 payload of the wrong size */
  {
    struct ward_vm_msg w = { .type = WARD_VM_MSG_EXIT, .len = 3, .data = (uint8_t *) "abc" };
    uint32_t v;
    tap_ok (ward_vm_msg_u32 (&w, &v, &err) == -EPROTO, "EXIT with a 3-byte payload refused");
    ward_error_free (&err);
  }

  /* send/recv over a socket pair, and EOF in the middle of a payload */
  {
    int sp[2];
    socketpair (AF_UNIX, SOCK_STREAM, 0, sp);
    tap_ok (ward_vm_proto_send (sp[0], WARD_VM_MSG_ERROR, 3, "boom", 4, &err) == 0
                && ward_vm_proto_send_u32 (sp[0], WARD_VM_MSG_EXIT, 3, 42, &err) == 0,
            "send two messages");
    uint32_t code = 0;
    tap_ok (ward_vm_proto_recv (sp[1], &m, &err) == 0 && m.type == WARD_VM_MSG_ERROR && m.id == 3
                && strcmp ((char *) m.data, "boom") == 0,
            "recv the first");
    ward_vm_msg_clear (&m);
    tap_ok (ward_vm_proto_recv (sp[1], &m, &err) == 0 && ward_vm_msg_u32 (&m, &code, &err) == 0
                && code == 42,
            "recv the second (exit 42)");
    ward_vm_msg_clear (&m);
    ward_vm_proto_header (buf, WARD_VM_MSG_STDOUT, 0, 10);
    if (write (sp[0], buf, 12) != 12 || write (sp[0], "abc", 3) != 3)
      tap_ok (0, "write");
    close (sp[0]);
    int r = ward_vm_proto_recv (sp[1], &m, &err);
    tap_ok (r < 0 && m.data == NULL, "truncated payload is an error, nothing leaks");
    ward_error_free (&err);
    r = ward_vm_proto_recv (sp[1], &m, &err);
    tap_ok (r == -EPIPE, "EOF at a message boundary is -EPIPE");
    ward_error_free (&err);
    close (sp[1]);
    /* a hostile length through recv: no 4 GiB allocation */
    socketpair (AF_UNIX, SOCK_STREAM, 0, sp);
    hdr_raw (buf, 0xfffffff0u, WARD_VM_MSG_STDOUT, 0, 0);
    if (write (sp[0], buf, 12) != 12)
      tap_ok (0, "write");
    tap_ok (ward_vm_proto_recv (sp[1], &m, &err) == -EPROTO, "recv refuses a 4 GiB length");
    ward_error_free (&err);
    close (sp[0]);
    close (sp[1]);
  }
  tap_is_str (ward_vm_msg_type_name (WARD_VM_MSG_EXIT_ACK), "EXIT_ACK", "type names");
  tap_is_str (ward_vm_msg_type_name (999), "unknown", "unknown type name");
  return tap_done ();
}
