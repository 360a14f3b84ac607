/* Guest RAM: one anonymous mapping split around the 32-bit MMIO hole. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime/vm/vm.h"

#define HUGE_2M (2ULL << 20)

int
ward_vm_mem_alloc (struct ward_vm_mem *mem, uint64_t size, ward_error_t **err)
{
  memset (mem, 0, sizeof *mem);
  if (size < (16ULL << 20))
    return ward_error_set (err, EINVAL, "guest memory %llu bytes: at least 16 MiB needed",
                           (unsigned long long) size);
  size = (size + HUGE_2M - 1) & ~(HUGE_2M - 1);
  /* MAP_NORESERVE: guest RAM is touched lazily, like any sparse heap */
  void *p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
  if (p == MAP_FAILED)
    return ward_error_set (err, errno, "mmap %llu bytes of guest memory", (unsigned long long) size);
  (void) madvise (p, size, MADV_HUGEPAGE);
  mem->base = p;
  mem->mapped = size;
  uint64_t low = size < WARD_VM_MMIO_HOLE_START ? size : WARD_VM_MMIO_HOLE_START;
  mem->regions[0] = (struct ward_vm_mem_region){ .gpa = 0, .size = low, .host = p };
  mem->n_regions = 1;
  if (size > low)
    {
      mem->regions[1] = (struct ward_vm_mem_region){
        .gpa = WARD_VM_MMIO_HOLE_END, .size = size - low, .host = (uint8_t *) p + low
      };
      mem->n_regions = 2;
    }
  return 0;
}

void
ward_vm_mem_free (struct ward_vm_mem *mem)
{
  if (mem->base)
    munmap (mem->base, mem->mapped);
  memset (mem, 0, sizeof *mem);
}

void
ward_vm_mem_init_flat (struct ward_vm_mem *mem, void *host, uint64_t size)
{
  memset (mem, 0, sizeof *mem);
  mem->regions[0] = (struct ward_vm_mem_region){ .gpa = 0, .size = size, .host = host };
  mem->n_regions = 1;
}

void *
ward_vm_mem_ptr (const struct ward_vm_mem *mem, uint64_t gpa, uint64_t len)
{
  for (size_t i = 0; i < mem->n_regions; i++)
    {
      const struct ward_vm_mem_region *r = &mem->regions[i];
      if (gpa < r->gpa)
        continue;
      uint64_t off = gpa - r->gpa;
      /* written as subtractions so that no sum can wrap around */
      if (off > r->size || len > r->size - off)
        continue;
      if (len == 0 && off == r->size)
        continue;
      return r->host + off;
    }
  return NULL;
}

uint64_t
ward_vm_mem_size (const struct ward_vm_mem *mem)
{
  uint64_t total = 0;
  for (size_t i = 0; i < mem->n_regions; i++)
    total += mem->regions[i].size;
  return total;
}
