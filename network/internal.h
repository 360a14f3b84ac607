/* Helpers shared by the files of network/ (not part of the public API). */
#ifndef WARD_NETWORK_INTERNAL_H
#define WARD_NETWORK_INTERNAL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "network/network.h"

struct ward_nl
{
  struct mnl_socket *sock;
  uint32_t portid;
  uint32_t seq;
  char *buf;       /* request/receive buffer of WARD_NL_BUFSIZE bytes */
};

#define WARD_NL_BUFSIZE 32768

/* Starts a request of type/flags in nl->buf (NLM_F_REQUEST is added). */
struct nlmsghdr *ward_nl_msg (ward_nl_t *nl, uint16_t type, uint16_t flags);

/* Sends nlh and reads replies until the ACK (or NLMSG_DONE of a dump),
 * calling cb (may be NULL) for each data message.  Returns 0 or -errno from
 * the kernel's reply; fills no error (callers name the object). */
int ward_nl_talk (ward_nl_t *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Serialised read-modify-write helpers of the libward-net files. */
int ward_net_lock (const char *dir, const char *name, int *fd, ward_error_t **err);
/* Writes data to dir/name via temp file + fsync + rename (crash-safe). */
int ward_net_write_atomic (const char *dir, const char *name, const char *data,
                           ward_error_t **err);
/* durable false: no fsync.  For the state of running containers (IPAM,
 * attach records): rename keeps it atomic against a crash of ward, and a
 * crash of the machine kills every container it describes anyway (the
 * fsyncs cost milliseconds per `ward run` on a busy disk). */
int ward_net_write_atomic_ex (const char *dir, const char *name, const char *data, bool durable,
                              ward_error_t **err);

/* Whether `table <family> ward` exists in the caller's netns: one
 * nfnetlink GETTABLE round trip, far cheaper than a libnftables call. */
bool ward_net_nft_table_exists (int nfproto);

#endif
