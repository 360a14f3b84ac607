/* Split virtqueues (virtio 1.2, 2.7).  The guest owns the rings and may
 * rewrite them at any moment: every index is range-checked, every
 * descriptor is copied once before use (no double fetch), chains are
 * bounded (no loops), and every buffer is translated with
 * ward_vm_mem_ptr (no access outside guest RAM). */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define DESC_SIZE 16

struct desc
{
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

static inline uint16_t
load16 (const uint8_t *p)
{
  return __atomic_load_n ((const uint16_t *) p, __ATOMIC_ACQUIRE);
}

static inline void
store16 (uint8_t *p, uint16_t v)
{
  __atomic_store_n ((uint16_t *) p, v, __ATOMIC_RELEASE);
}

static void
read_desc (const uint8_t *table, uint32_t i, struct desc *d)
{
  const uint8_t *p = table + (size_t) i * DESC_SIZE;
  memcpy (&d->addr, p, 8);
  memcpy (&d->len, p + 8, 4);
  memcpy (&d->flags, p + 12, 2);
  memcpy (&d->next, p + 14, 2);
}

void
ward_virtq_reset (struct ward_virtq *q)
{
  const struct ward_vm_mem *mem = q->mem;
  memset (q, 0, sizeof *q);
  q->mem = mem;
}

int
ward_virtq_activate (struct ward_virtq *q, ward_error_t **err)
{
  uint32_t n = q->size;
  q->desc = q->avail = q->used = NULL;
  q->broken = false;
  if (n == 0 || n > WARD_VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
    return ward_error_set (err, EINVAL, "virtqueue size %u: not a power of 2 up to %u", n,
                           WARD_VIRTQ_MAX_SIZE);
  if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
    return ward_error_set (err, EINVAL, "virtqueue rings misaligned");
  uint8_t *desc = ward_vm_mem_ptr (q->mem, q->desc_gpa, (uint64_t) n * DESC_SIZE);
  /* flags, idx, ring[n], used_event */
  uint8_t *avail = ward_vm_mem_ptr (q->mem, q->avail_gpa, 6 + 2ULL * n);
  /* flags, idx, ring[n] of {id, len}, avail_event */
  uint8_t *used = ward_vm_mem_ptr (q->mem, q->used_gpa, 6 + 8ULL * n);
  if (!desc || !avail || !used)
    return ward_error_set (err, EINVAL, "virtqueue rings outside guest RAM");
  q->desc = desc;
  q->avail = avail;
  q->used = used;
  q->last_avail = 0;
  q->used_idx = load16 (used + 2);
  q->ready = true;
  return 0;
}

static int
broken (struct ward_virtq *q, ward_error_t **err, const char *what)
{
  q->broken = true;
  return ward_error_set (err, EIO, "virtqueue: %s", what);
}

static int
add_seg (struct ward_virtq *q, struct ward_virtq_chain *c, const struct desc *d,
         ward_error_t **err)
{
  if (c->n_segs == WARD_VIRTQ_MAX_CHAIN)
    return broken (q, err, "descriptor chain too long");
  bool writable = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
  /* the driver puts device-readable buffers before device-writable ones */
  if (!writable && c->writable_len > 0)
    return broken (q, err, "readable descriptor after a writable one");
  uint8_t *host = ward_vm_mem_ptr (q->mem, d->addr, d->len);
  if (host == NULL)
    return broken (q, err, "descriptor buffer outside guest RAM");
  c->segs[c->n_segs++] = (struct ward_virtq_seg){ .host = host, .len = d->len, .writable = writable };
  if (writable)
    c->writable_len += d->len;
  else
    c->readable_len += d->len;
  return 0;
}

static int
walk_indirect (struct ward_virtq *q, struct ward_virtq_chain *c, const struct desc *ind,
               ward_error_t **err)
{
  if (!q->indirect)
    return broken (q, err, "indirect descriptor not negotiated");
  /* virtio 1.2 2.7.5.3.1: INDIRECT and NEXT together are forbidden */
  if (ind->flags & VIRTQ_DESC_F_NEXT)
    return broken (q, err, "indirect descriptor with NEXT");
  if (ind->len == 0 || ind->len % DESC_SIZE != 0)
    return broken (q, err, "indirect table length not a multiple of 16");
  uint32_t n = ind->len / DESC_SIZE;
  if (n > WARD_VIRTQ_MAX_CHAIN)
    return broken (q, err, "indirect table too long");
  const uint8_t *table = ward_vm_mem_ptr (q->mem, ind->addr, ind->len);
  if (table == NULL)
    return broken (q, err, "indirect table outside guest RAM");
  uint32_t i = 0;
  /* each entry may be visited once: n steps at most, so loops end */
  for (uint32_t steps = 0;; steps++)
    {
      if (steps >= n)
        return broken (q, err, "loop in indirect descriptor chain");
      struct desc d;
      read_desc (table, i, &d);
      if (d.flags & VIRTQ_DESC_F_INDIRECT)
        return broken (q, err, "nested indirect descriptor");
      int r = add_seg (q, c, &d, err);
      if (r < 0)
        return r;
      if (!(d.flags & VIRTQ_DESC_F_NEXT))
        return 0;
      if (d.next >= n)
        return broken (q, err, "indirect descriptor next out of range");
      i = d.next;
    }
}

int
ward_virtq_pop (struct ward_virtq *q, struct ward_virtq_chain *c, ward_error_t **err)
{
  if (q->broken)
    return ward_error_set (err, EIO, "virtqueue: broken by the driver");
  if (!q->ready || q->avail == NULL)
    return 0;
  uint16_t avail_idx = load16 (q->avail + 2);
  uint16_t pending = (uint16_t) (avail_idx - q->last_avail);
  if (pending == 0)
    return 0;
  if (pending > q->size)
    return broken (q, err, "available index ran ahead of the ring");

  uint16_t head;
  memcpy (&head, q->avail + 4 + 2 * (size_t) (q->last_avail % q->size), 2);
  if (head >= q->size)
    return broken (q, err, "available head out of range");

  c->head = head;
  c->n_segs = 0;
  c->readable_len = c->writable_len = 0;
  uint32_t i = head;
  for (uint32_t steps = 0;; steps++)
    {
      /* a chain visits each descriptor at most once */
      if (steps >= q->size)
        return broken (q, err, "loop in descriptor chain");
      struct desc d;
      read_desc (q->desc, i, &d);
      int r;
      if (d.flags & VIRTQ_DESC_F_INDIRECT)
        {
          if (steps != 0)
            return broken (q, err, "indirect descriptor inside a chain");
          r = walk_indirect (q, c, &d, err);
          if (r < 0)
            return r;
          break;
        }
      r = add_seg (q, c, &d, err);
      if (r < 0)
        return r;
      if (!(d.flags & VIRTQ_DESC_F_NEXT))
        break;
      if (d.next >= q->size)
        return broken (q, err, "descriptor next out of range");
      i = d.next;
    }
  q->last_avail++;
  if (q->event_idx)
    /* avail_event: kick us again only after this slot */
    store16 (q->used + 4 + 8 * (size_t) q->size, q->last_avail);
  return 1;
}

int
ward_virtq_push (struct ward_virtq *q, uint16_t head, uint32_t written)
{
  if (q->broken || !q->ready || q->used == NULL || head >= q->size)
    return -EIO;
  uint8_t *e = q->used + 4 + 8 * (size_t) (q->used_idx % q->size);
  uint32_t id = head;
  memcpy (e, &id, 4);
  memcpy (e + 4, &written, 4);
  q->used_idx++;
  /* release: the entry is visible before the index that publishes it */
  store16 (q->used + 2, q->used_idx);
  return 0;
}

bool
ward_virtq_should_notify (struct ward_virtq *q, uint16_t old_used_idx)
{
  if (q->avail == NULL)
    return false;
  /* order our used->idx store before reading the driver's suppression */
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
  if (q->event_idx)
    {
      uint16_t event = load16 (q->avail + 4 + 2 * (size_t) q->size);
      uint16_t new_idx = q->used_idx;
      return (uint16_t) (new_idx - event - 1) < (uint16_t) (new_idx - old_used_idx);
    }
  return !(load16 (q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static size_t
chain_copy (const struct ward_virtq_chain *c, bool writable, size_t off, uint8_t *buf,
            const uint8_t *src, size_t len)
{
  size_t done = 0;
  for (size_t i = 0; i < c->n_segs && done < len; i++)
    {
      const struct ward_virtq_seg *s = &c->segs[i];
      if (s->writable != writable)
        continue;
      if (off >= s->len)
        {
          off -= s->len;
          continue;
        }
      size_t n = s->len - off;
      if (n > len - done)
        n = len - done;
      if (buf)
        memcpy (buf + done, s->host + off, n);
      else
        memcpy (s->host + off, src + done, n);
      done += n;
      off = 0;
    }
  return done;
}

size_t
ward_virtq_chain_read (const struct ward_virtq_chain *c, size_t off, void *buf, size_t len)
{
  return chain_copy (c, false, off, buf, NULL, len);
}

size_t
ward_virtq_chain_write (const struct ward_virtq_chain *c, size_t off, const void *buf, size_t len)
{
  return chain_copy (c, true, off, NULL, buf, len);
}

void
ward_virtio_thread_start (pthread_t *thread, bool *started, void *(*fn) (void *), void *arg,
                          const char *warning)
{
  if (*started)
    return;
  if (pthread_create (thread, NULL, fn, arg) == 0)
    *started = true;
  else
    ward_warn ("%s", warning);
}

void
ward_virtio_thread_stop (struct ward_virtio_dev *dev, bool *stopping, pthread_cond_t *cond,
                         int wake_fd, pthread_t thread)
{
  pthread_mutex_lock (&dev->lock);
  *stopping = true;
  if (cond)
    pthread_cond_broadcast (cond);
  pthread_mutex_unlock (&dev->lock);
  if (wake_fd >= 0)
    {
      uint64_t one = 1;
      (void) ward_write_all (wake_fd, &one, sizeof one);
    }
  pthread_join (thread, NULL);
}
