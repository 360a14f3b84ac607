/* The host <-> guest agent protocol of ward-vm, spoken over one vsock
 * stream (the agent connects to host port WARD_VM_PROTO_PORT; more sessions,
 * e.g. `ward-vm exec`, connect to the agent's listener on the same port
 * through the hybrid socket's "CONNECT <port>").
 *
 * A message is a 12-byte header and a payload:
 *
 *   u32 payload length (little endian, at most WARD_VM_PROTO_MAX_PAYLOAD)
 *   u16 type (enum ward_vm_msg_type)
 *   u16 flags (0; anything else is refused)
 *   u32 process id: 0 = the container's process, N = exec session N
 *
 * stdio is multiplexed on the same stream, so the EXIT of a process always
 * comes after the last byte of its output.  JSON payloads are UTF-8 text
 * without a NUL.  Both sides treat the other's bytes as hostile: the
 * parser refuses oversized lengths, unknown types and non-zero flags. */
#ifndef WARD_RUNTIME_VM_PROTOCOL_H
#define WARD_RUNTIME_VM_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define WARD_VM_PROTO_PORT 1024
#define WARD_VM_PROTO_VERSION 1
#define WARD_VM_PROTO_HEADER 12
/* The config.json of a container is the largest payload (1 MiB is far
 * more than any real one); stdio is sent in chunks of at most 64 KiB. */
#define WARD_VM_PROTO_MAX_PAYLOAD (1U << 20)
#define WARD_VM_PROTO_CHUNK 65536

enum ward_vm_msg_type
{
  WARD_VM_MSG_HELLO = 1,   /* agent -> host: {"version":N} */
  WARD_VM_MSG_CONFIG,      /* host -> agent: {"id","config":{OCI},"rootfs":{"type","tag"|"path"}};
                            * the agent creates the container: CREATED or ERROR */
  WARD_VM_MSG_START,       /* host -> agent: start process 0 */
  WARD_VM_MSG_STARTED,     /* agent -> host: {"pid":N} (guest pid) */
  WARD_VM_MSG_STDIN,       /* host -> agent: bytes; empty = EOF */
  WARD_VM_MSG_STDOUT,      /* agent -> host: bytes; empty = EOF */
  WARD_VM_MSG_STDERR,      /* agent -> host: bytes; empty = EOF */
  WARD_VM_MSG_SIGNAL,      /* host -> agent: u32 signal number */
  WARD_VM_MSG_RESIZE,      /* host -> agent: u16 rows, u16 cols */
  WARD_VM_MSG_EXIT,        /* agent -> host: u32 exit status (code, or 128+signal) */
  WARD_VM_MSG_EXIT_ACK,    /* host -> agent: the EXIT arrived (vsock may drop the
                            * last packet of a guest that reboots too early) */
  WARD_VM_MSG_ERROR,       /* agent -> host: text; the process could not run */
  WARD_VM_MSG_EXEC,        /* host -> agent: an OCI process object (runc exec --process) */
  WARD_VM_MSG_PS,          /* host -> agent: list the container's pids */
  WARD_VM_MSG_PS_REPLY,    /* agent -> host: [pid,...] */
  WARD_VM_MSG_STATS,       /* host -> agent: stats request */
  WARD_VM_MSG_STATS_REPLY, /* agent -> host: runc events "stats" data object */
  WARD_VM_MSG_CREATED,     /* agent -> host: {"pid":N}: CONFIG made the container
                            * (created, waiting for START); else ERROR */
  WARD_VM_MSG__MAX,
};

struct ward_vm_msg
{
  uint16_t type;
  uint32_t id;
  uint32_t len;
  uint8_t *data; /* malloc'd, len bytes + a NUL (so text payloads are C strings) */
};

void ward_vm_msg_clear (struct ward_vm_msg *m);

/* Incremental parser: bytes go in as they arrive, whole messages come out. */
struct ward_vm_proto_parser
{
  uint8_t hdr[WARD_VM_PROTO_HEADER];
  size_t hdr_got;
  struct ward_vm_msg cur;
  size_t data_got;
  bool broken; /* a bad header was seen: the stream cannot be resynchronised */
};

/* Consumes up to len bytes of buf (*used tells how many).  Returns 1 with
 * *out filled (ownership passes to the caller) when a message completed,
 * 0 when more bytes are needed (all of buf was used), or -EPROTO with *err
 * naming the bad field (then every later call fails too). */
int ward_vm_proto_feed (struct ward_vm_proto_parser *p, const uint8_t *buf, size_t len,
                        size_t *used, struct ward_vm_msg *out, ward_error_t **err);
void ward_vm_proto_parser_reset (struct ward_vm_proto_parser *p);

/* Fills the header for a message; -EMSGSIZE when len is too large. */
int ward_vm_proto_header (uint8_t hdr[WARD_VM_PROTO_HEADER], uint16_t type, uint32_t id,
                          uint32_t len);

/* Writes one whole message to fd (blocking; retries EINTR and short
 * writes).  Returns 0 or a negative errno. */
int ward_vm_proto_send (int fd, uint16_t type, uint32_t id, const void *data, uint32_t len,
                        ward_error_t **err);
/* Convenience: a u32 payload (SIGNAL, EXIT). */
int ward_vm_proto_send_u32 (int fd, uint16_t type, uint32_t id, uint32_t v, ward_error_t **err);
/* Reads exactly one message from a blocking fd.  -EPIPE at EOF. */
int ward_vm_proto_recv (int fd, struct ward_vm_msg *out, ward_error_t **err);
/* The u32 payload of SIGNAL/EXIT; -EPROTO unless len is 4. */
int ward_vm_msg_u32 (const struct ward_vm_msg *m, uint32_t *v, ward_error_t **err);

const char *ward_vm_msg_type_name (uint16_t type);

#endif
