/* Unit tests for the guest-facing virtqueue and virtio-mmio code: a fake
 * guest RAM with crafted rings (out-of-range indexes, loops, huge lengths,
 * addresses that wrap or leave RAM) must be refused without crashing. */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"
#include "tests/unit/tap.h"
#include "tests/unit/vm-test-helpers.h"

#define MEM_SIZE (1u << 20)
#define DESC 0x1000
#define AVAIL 0x20000
#define USED 0x30000
#define BUF 0x40000
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

static uint8_t *ram;
static struct ward_vm_mem mem;
static struct ward_virtq q;
static struct ward_virtq_chain chain;

#define set_desc(...) vmt_set_desc (ram, __VA_ARGS__)

static void
avail_push (uint16_t head)
{
  uint16_t idx;
  memcpy (&idx, ram + AVAIL + 2, 2);
  memcpy (ram + AVAIL + 4 + 2 * (size_t) (idx % q.size), &head, 2);
  idx++;
  memcpy (ram + AVAIL + 2, &idx, 2);
}

static int
setup (uint16_t size, bool indirect)
{
  memset (ram, 0, MEM_SIZE);
  memset (&q, 0, sizeof q);
  q.mem = &mem;
  q.size = size;
  q.desc_gpa = DESC;
  q.avail_gpa = AVAIL;
  q.used_gpa = USED;
  q.indirect = indirect;
  return ward_virtq_activate (&q, NULL);
}

/* pops one chain and expects a refusal; the queue must then stay broken */
static void
expect_refused (const char *what)
{
  ward_error_t *err = NULL;
  int r = ward_virtq_pop (&q, &chain, &err);
  tap_ok (r == -EIO && err != NULL && q.broken, "%s: refused (%s)", what,
          err ? err->msg : "no error");
  ward_error_free (&err);
  r = ward_virtq_pop (&q, &chain, &err);
  tap_ok (r == -EIO, "%s: queue stays broken", what);
  ward_error_free (&err);
}

static void
test_mem (void)
{
  tap_ok (ward_vm_mem_ptr (&mem, 0, MEM_SIZE) == ram, "mem: whole RAM");
  tap_ok (ward_vm_mem_ptr (&mem, MEM_SIZE - 1, 1) == ram + MEM_SIZE - 1, "mem: last byte");
  tap_ok (ward_vm_mem_ptr (&mem, MEM_SIZE - 1, 2) == NULL, "mem: one past the end");
  tap_ok (ward_vm_mem_ptr (&mem, MEM_SIZE, 0) == NULL, "mem: empty range at the end");
  tap_ok (ward_vm_mem_ptr (&mem, UINT64_MAX, 2) == NULL, "mem: wrapping gpa");
  tap_ok (ward_vm_mem_ptr (&mem, 16, UINT64_MAX) == NULL, "mem: wrapping length");

  struct ward_vm_mem two;
  ward_error_t *err = NULL;
  int r = ward_vm_mem_alloc (&two, 8ULL << 20, &err);
  tap_ok (r == -EINVAL && err != NULL, "mem: 8 MiB refused (too small)");
  ward_error_free (&err);
  r = ward_vm_mem_alloc (&two, 64ULL << 20, &err);
  tap_ok (r == 0 && two.n_regions == 1 && ward_vm_mem_size (&two) == 64ULL << 20,
          "mem: 64 MiB in one region");
  ward_vm_mem_free (&two);
}

static void
test_activate (void)
{
  tap_ok (setup (8, false) == 0 && q.ready, "activate: good queue");
  tap_ok (setup (0, false) < 0, "activate: size 0 refused");
  tap_ok (setup (6, false) < 0, "activate: size not a power of 2 refused");
  memset (&q, 0, sizeof q);
  q.mem = &mem;
  q.size = 8;
  q.desc_gpa = DESC + 8;
  q.avail_gpa = AVAIL;
  q.used_gpa = USED;
  tap_ok (ward_virtq_activate (&q, NULL) < 0, "activate: misaligned descriptor table refused");
  q.desc_gpa = MEM_SIZE - 64;
  tap_ok (ward_virtq_activate (&q, NULL) < 0, "activate: descriptor table past RAM refused");
  q.desc_gpa = UINT64_MAX - 15;
  tap_ok (ward_virtq_activate (&q, NULL) < 0, "activate: wrapping ring address refused");
  q.desc_gpa = DESC;
  q.used_gpa = MEM_SIZE - 8;
  tap_ok (ward_virtq_activate (&q, NULL) < 0, "activate: used ring past RAM refused");
  tap_ok (!q.ready, "activate: refused queue not ready");
}

static void
test_simple_chain (void)
{
  setup (8, false);
  tap_ok (ward_virtq_pop (&q, &chain, NULL) == 0, "pop: empty ring gives 0");
  memcpy (ram + BUF, "hello, device!!", 16);
  set_desc (DESC, 3, BUF, 16, F_NEXT, 5);
  set_desc (DESC, 5, BUF + 0x100, 32, F_WRITE, 0);
  avail_push (3);
  int r = ward_virtq_pop (&q, &chain, NULL);
  tap_ok (r == 1 && chain.head == 3 && chain.n_segs == 2, "pop: two-descriptor chain");
  tap_ok (chain.readable_len == 16 && chain.writable_len == 32, "pop: lengths 16/32");
  char buf[32] = { 0 };
  tap_ok (ward_virtq_chain_read (&chain, 7, buf, sizeof buf) == 9 && memcmp (buf, "device!!", 9) == 0,
          "chain_read from an offset stops at the readable end");
  tap_ok (ward_virtq_chain_write (&chain, 30, "abcdef", 6) == 2
              && memcmp (ram + BUF + 0x100 + 30, "ab", 2) == 0,
          "chain_write stops at the writable end");
  tap_ok (ward_virtq_push (&q, chain.head, 2) == 0, "push");
  uint16_t used_idx;
  uint32_t id, len;
  memcpy (&used_idx, ram + USED + 2, 2);
  memcpy (&id, ram + USED + 4, 4);
  memcpy (&len, ram + USED + 8, 4);
  tap_ok (used_idx == 1 && id == 3 && len == 2, "push: used ring entry {3, 2}, idx 1");
  tap_ok (ward_virtq_push (&q, 8, 0) == -EIO, "push: head out of range refused");
  tap_ok (ward_virtq_pop (&q, &chain, NULL) == 0, "pop: ring empty again");

  /* notification suppression */
  uint16_t flags = 1;
  memcpy (ram + AVAIL, &flags, 2);
  tap_ok (!ward_virtq_should_notify (&q, 0), "NO_INTERRUPT suppresses the interrupt");
  flags = 0;
  memcpy (ram + AVAIL, &flags, 2);
  tap_ok (ward_virtq_should_notify (&q, 0), "interrupt wanted without NO_INTERRUPT");
  q.event_idx = true;
  uint16_t used_event = 5;
  memcpy (ram + AVAIL + 4 + 2 * 8, &used_event, 2);
  tap_ok (!ward_virtq_should_notify (&q, 0), "event idx 5 not reached by used idx 1");
  used_event = 0;
  memcpy (ram + AVAIL + 4 + 2 * 8, &used_event, 2);
  tap_ok (ward_virtq_should_notify (&q, 0), "event idx 0 crossed by used idx 1");
}

static void
test_hostile (void)
{
  setup (8, false);
  avail_push (8);
  expect_refused ("head out of range");

  setup (8, false);
  set_desc (DESC, 0, BUF, 16, F_NEXT, 9);
  avail_push (0);
  expect_refused ("next out of range");

  setup (8, false);
  set_desc (DESC, 0, BUF, 16, F_NEXT, 1);
  set_desc (DESC, 1, BUF, 16, F_NEXT, 0);
  avail_push (0);
  expect_refused ("two-descriptor loop");

  setup (8, false);
  set_desc (DESC, 2, BUF, 16, F_NEXT, 2);
  avail_push (2);
  expect_refused ("self loop");

  setup (8, false);
  set_desc (DESC, 0, MEM_SIZE - 4, 16, 0, 0);
  avail_push (0);
  expect_refused ("buffer past the end of RAM");

  setup (8, false);
  set_desc (DESC, 0, BUF, 0xffffffffu, F_WRITE, 0);
  avail_push (0);
  expect_refused ("4 GiB length");

  setup (8, false);
  set_desc (DESC, 0, UINT64_MAX - 1, 4, 0, 0);
  avail_push (0);
  expect_refused ("wrapping buffer address");

  setup (8, false);
  uint16_t idx = 9;
  memcpy (ram + AVAIL + 2, &idx, 2);
  expect_refused ("avail idx ahead of the ring");

  setup (8, false);
  set_desc (DESC, 0, BUF, 16, F_WRITE | F_NEXT, 1);
  set_desc (DESC, 1, BUF, 16, 0, 0);
  avail_push (0);
  expect_refused ("readable after writable");

  setup (8, false);
  set_desc (DESC, 0, BUF, 32, F_INDIRECT, 0);
  avail_push (0);
  expect_refused ("indirect without the feature");

  /* a valid indirect table, then the broken variants */
  setup (8, true);
  set_desc (DESC, 0, BUF, 48, F_INDIRECT, 0);
  set_desc (BUF, 0, BUF + 0x1000, 10, F_NEXT, 2);
  set_desc (BUF, 2, BUF + 0x2000, 20, F_NEXT, 1);
  set_desc (BUF, 1, BUF + 0x3000, 30, F_WRITE, 0);
  avail_push (0);
  int r = ward_virtq_pop (&q, &chain, NULL);
  tap_ok (r == 1 && chain.n_segs == 3 && chain.readable_len == 30 && chain.writable_len == 30,
          "indirect: three-entry table walked in next order");

  setup (8, true);
  set_desc (DESC, 0, BUF, 32, F_INDIRECT | F_NEXT, 1);
  avail_push (0);
  expect_refused ("indirect with NEXT");

  setup (8, true);
  set_desc (DESC, 0, BUF, 40, F_INDIRECT, 0);
  avail_push (0);
  expect_refused ("indirect length not a multiple of 16");

  setup (8, true);
  set_desc (DESC, 0, BUF, 32, F_INDIRECT, 0);
  set_desc (BUF, 0, BUF + 0x1000, 32, F_INDIRECT, 0);
  avail_push (0);
  expect_refused ("nested indirect");

  setup (8, true);
  set_desc (DESC, 0, BUF, 32, F_INDIRECT, 0);
  set_desc (BUF, 0, BUF + 0x1000, 8, F_NEXT, 1);
  set_desc (BUF, 1, BUF + 0x1000, 8, F_NEXT, 0);
  avail_push (0);
  expect_refused ("loop in the indirect table");

  setup (8, true);
  set_desc (DESC, 0, MEM_SIZE - 16, 32, F_INDIRECT, 0);
  avail_push (0);
  expect_refused ("indirect table past RAM");

  setup (8, true);
  set_desc (DESC, 0, BUF, 0xfffffff0u, F_INDIRECT, 0);
  avail_push (0);
  expect_refused ("huge indirect table");

  /* a chain longer than WARD_VIRTQ_MAX_CHAIN in a big queue */
  setup (2048, false);
  for (unsigned i = 0; i < 2047; i++)
    set_desc (DESC, i, BUF, 1, F_NEXT, (uint16_t) (i + 1));
  set_desc (DESC, 2047, BUF, 1, 0, 0);
  avail_push (0);
  expect_refused ("chain of 2048 descriptors");
}

/* ---- virtio-mmio transport ---- */

static unsigned notified;
static void
fake_notify (struct ward_virtio_dev *d, uint16_t qidx)
{
  (void) d;
  notified |= 1u << qidx;
}

static const struct ward_virtio_dev_ops fake_ops = {
  .device_id = 42, .features = 1ULL << 29, .n_queues = 2, .queue_max = 16, .notify = fake_notify,
};

static uint32_t
rd (struct ward_virtio_dev *d, uint64_t off)
{
  uint32_t v = 0xdeadbeef;
  ward_virtio_mmio_read (d, off, &v, 4);
  return v;
}

static void
wr (struct ward_virtio_dev *d, uint64_t off, uint32_t v)
{
  ward_virtio_mmio_write (d, off, &v, 4);
}

static void
test_mmio (void)
{
  memset (ram, 0, MEM_SIZE);
  struct ward_virtio_dev d;
  ward_virtio_mmio_init (&d, &fake_ops, NULL, &mem);
  tap_ok (rd (&d, 0) == 0x74726976 && rd (&d, 4) == 2 && rd (&d, 8) == 42, "mmio: magic, version, id");
  wr (&d, 0x14, 1);
  tap_ok (rd (&d, 0x10) == 1, "mmio: VERSION_1 offered in the high word");
  wr (&d, 0x14, 7);
  tap_ok (rd (&d, 0x10) == 0, "mmio: feature bank 7 reads 0");
  uint16_t half = 0xffff;
  ward_virtio_mmio_read (&d, 0, &half, 2);
  tap_ok (half == 0, "mmio: 16-bit register read gives 0");
  tap_ok (rd (&d, 0x101) == 0, "mmio: config read without a handler gives 0");
  tap_ok (rd (&d, 0x2000) == 0, "mmio: offset past the window gives 0");

  wr (&d, 0x70, 1 | 2);
  wr (&d, 0x24, 0);
  wr (&d, 0x20, 1u << 30); /* not offered */
  wr (&d, 0x24, 1);
  wr (&d, 0x20, 1);
  wr (&d, 0x70, 1 | 2 | 8);
  tap_ok (!(rd (&d, 0x70) & 8), "mmio: FEATURES_OK refused for a feature not offered");
  wr (&d, 0x70, 0);
  tap_ok (rd (&d, 0x70) == 0, "mmio: status 0 resets");
  wr (&d, 0x70, 1 | 2);
  wr (&d, 0x24, 0);
  wr (&d, 0x20, 1u << 29);
  wr (&d, 0x24, 1);
  wr (&d, 0x20, 1);
  wr (&d, 0x70, 1 | 2 | 8);
  tap_ok (rd (&d, 0x70) & 8, "mmio: FEATURES_OK with VERSION_1 + EVENT_IDX");

  wr (&d, 0x30, 5);
  tap_ok (rd (&d, 0x34) == 0, "mmio: queue 5 does not exist (max 0)");
  wr (&d, 0x38, 8);
  wr (&d, 0x44, 1);
  tap_ok (rd (&d, 0x44) == 0, "mmio: queue 5 cannot be made ready");
  wr (&d, 0x30, 0xffffffffu);
  wr (&d, 0x44, 1);
  tap_ok (rd (&d, 0x44) == 0, "mmio: queue 0xffffffff ignored");

  wr (&d, 0x30, 1);
  tap_ok (rd (&d, 0x34) == 16, "mmio: queue 1 max 16");
  wr (&d, 0x38, 64);
  wr (&d, 0x80, MEM_SIZE - 16);
  wr (&d, 0x90, AVAIL);
  wr (&d, 0xa0, USED);
  wr (&d, 0x44, 1);
  tap_ok (rd (&d, 0x44) == 0 && (rd (&d, 0x70) & 0x40), "mmio: size 64 > max: queue refused, NEEDS_RESET");
  wr (&d, 0x70, 0);
  wr (&d, 0x70, 1 | 2);
  wr (&d, 0x24, 1);
  wr (&d, 0x20, 1);
  wr (&d, 0x70, 1 | 2 | 8);
  wr (&d, 0x30, 1);
  wr (&d, 0x38, 16);
  wr (&d, 0x80, DESC);
  wr (&d, 0x90, AVAIL);
  wr (&d, 0xa0, USED);
  wr (&d, 0x44, 1);
  tap_ok (rd (&d, 0x44) == 1, "mmio: queue 1 ready");
  wr (&d, 0x80, 0x12340);
  tap_ok (d.queues[1].desc_gpa == DESC, "mmio: a live queue cannot be moved");
  notified = 0;
  wr (&d, 0x50, 1);
  tap_ok (notified == 0, "mmio: no notify before DRIVER_OK");
  wr (&d, 0x70, 1 | 2 | 8 | 4);
  wr (&d, 0x50, 1);
  wr (&d, 0x50, 0);
  wr (&d, 0x50, 70000);
  tap_ok (notified == 2, "mmio: notify reaches only the ready queue");
  ward_virtio_mmio_signal_used (&d);
  tap_ok (rd (&d, 0x60) == 1, "mmio: interrupt status set");
  wr (&d, 0x64, 1);
  tap_ok (rd (&d, 0x60) == 0, "mmio: interrupt acknowledged");
  ward_virtio_mmio_destroy (&d);
}

/* A driver that points its used ring at its avail ring: every completion
 * rewrites avail->idx.  The device must return from the kick anyway (the
 * fuzzer found an endless loop here). */
static void
test_overlapping_rings (void)
{
  memset (ram, 0, MEM_SIZE);
  struct ward_vm_rng *rng = ward_vm_rng_new (&mem);
  struct ward_virtio_dev *d = ward_vm_rng_dev (rng);
  wr (d, 0x70, 1 | 2);
  wr (d, 0x24, 1);
  wr (d, 0x20, 1);
  wr (d, 0x70, 1 | 2 | 8);
  wr (d, 0x30, 0);
  wr (d, 0x38, 8);
  wr (d, 0x80, DESC);
  wr (d, 0x90, AVAIL);
  wr (d, 0xa0, AVAIL);
  /* used idx starts at avail idx 3, ahead of the device's last_avail 0: each
   * completion then bumps avail idx one past what was consumed */
  uint16_t idx = 3;
  memcpy (ram + AVAIL + 2, &idx, 2);
  wr (d, 0x44, 1);
  wr (d, 0x70, 1 | 2 | 8 | 4);
  for (unsigned i = 0; i < 8; i++)
    {
      uint64_t addr = BUF;
      uint32_t len = 4; /* written 4 lands in the avail ring: a valid head */
      uint16_t flags = F_WRITE;
      memcpy (ram + DESC + 16 * i, &addr, 8);
      memcpy (ram + DESC + 16 * i + 8, &len, 4);
      memcpy (ram + DESC + 16 * i + 12, &flags, 2);
    }
  wr (d, 0x50, 0);
  /* Reaching this line at all is the regression check (the loop used to
   * spin forever); the used index then shows the device stopped after at
   * most one ring's worth of buffers. */
  uint16_t start = 3;
  memcpy (&idx, ram + AVAIL + 2, 2);
  tap_ok ((uint16_t) (idx - start) >= 1 && (uint16_t) (idx - start) <= 8,
          "rng: kick with used ring == avail ring returns after at most one ring (%u buffers)",
          (unsigned) (uint16_t) (idx - start));
  ward_vm_rng_free (rng);
}

int
main (void)
{
  ram = aligned_alloc (4096, MEM_SIZE);
  if (ram == NULL)
    return 99;
  ward_vm_mem_init_flat (&mem, ram, MEM_SIZE);
  test_mem ();
  test_activate ();
  test_simple_chain ();
  test_hostile ();
  test_mmio ();
  test_overlapping_rings ();
  free (ram);
  return tap_done ();
}
