/* What the virtio unit tests share: playing the guest driver on a fake
 * guest RAM (descriptor tables, available rings) and through a device's
 * virtio-mmio registers.  Each test binds these to its own RAM, device
 * and queue size with one-line macros. */
#ifndef WARD_TESTS_UNIT_VM_TEST_HELPERS_H
#define WARD_TESTS_UNIT_VM_TEST_HELPERS_H

#include <stdint.h>
#include <string.h>

#include "runtime/vm/devices.h"

/* The guest RAM layout of the receive + transmit queue devices (net,
 * vsock): 1 MiB, rings of QSZ entries, QSZ receive buffers of 4 KiB. */
#define RAM (1u << 20)
#define QSZ 16
#define RX_DESC 0x1000
#define RX_AVAIL 0x2000
#define RX_USED 0x3000
#define TX_DESC 0x4000
#define TX_AVAIL 0x5000
#define TX_USED 0x6000
#define RX_BUFS 0x10000 /* QSZ x 4 KiB */
#define TX_BUF 0x30000

/* Descriptor i of the table at guest address table (split ring layout). */
static inline void
vmt_set_desc (uint8_t *ram, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
              uint16_t flags, uint16_t next)
{
  uint8_t *p = ram + table + 16 * (size_t) i;
  memcpy (p, &addr, 8);
  memcpy (p + 8, &len, 4);
  memcpy (p + 12, &flags, 2);
  memcpy (p + 14, &next, 2);
}

/* Publishes head in the available ring at avail; *idx is the driver's
 * copy of avail->idx. */
static inline void
vmt_avail_add (uint8_t *ram, uint64_t avail, unsigned qsz, uint16_t *idx, uint16_t head)
{
  memcpy (ram + avail + 4 + 2 * (size_t) (*idx % qsz), &head, 2);
  (*idx)++;
  __atomic_store_n ((uint16_t *) (ram + avail + 2), *idx, __ATOMIC_RELEASE);
}

static inline void
vmt_mmio_wr (struct ward_virtio_dev *dev, uint64_t off, uint32_t v)
{
  ward_virtio_mmio_write (dev, off, &v, 4);
}

/* QueueSel, QueueNum, the three ring addresses (low halves), QueueReady. */
static inline void
vmt_setup_queue (struct ward_virtio_dev *dev, unsigned qsz, unsigned sel, uint64_t desc,
                 uint64_t avail, uint64_t used)
{
  vmt_mmio_wr (dev, 0x30, sel);
  vmt_mmio_wr (dev, 0x38, qsz);
  vmt_mmio_wr (dev, 0x80, (uint32_t) desc);
  vmt_mmio_wr (dev, 0x90, (uint32_t) avail);
  vmt_mmio_wr (dev, 0xa0, (uint32_t) used);
  vmt_mmio_wr (dev, 0x44, 1);
}

#endif
