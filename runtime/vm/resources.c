/* Sizes a microVM from the container's OCI resources (the way Kata does):
 * the memory limit plus the guest's own overhead, and as many vCPUs as the
 * CPU quota (or cpuset) allows. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "runtime/vm/vm.h"
#include "specs/specs.h"

#define MIB (1ULL << 20)

/* Counts the CPUs of a cpuset list such as "0-3,7"; -1 when malformed. */
static long
cpuset_count (const char *s)
{
  long n = 0;
  while (*s)
    {
      char *end;
      unsigned long a = strtoul (s, &end, 10), b;
      if (end == s)
        return -1;
      b = a;
      if (*end == '-')
        {
          const char *t = end + 1;
          b = strtoul (t, &end, 10);
          if (end == t || b < a)
            return -1;
        }
      if (b - a > 65536)
        return -1;
      n += (long) (b - a + 1);
      if (*end == ',')
        end++;
      else if (*end != '\0')
        return -1;
      s = end;
    }
  return n;
}

int
ward_vm_size_from_resources (const ward_resources_t *r, unsigned host_cpus, uint64_t *mem_bytes,
                             unsigned *vcpus, ward_error_t **err)
{
  uint64_t mem = WARD_VM_DEFAULT_MEM;
  unsigned cpus = 1;
  if (r && r->memory && r->memory->has_limit && r->memory->limit > 0)
    {
      uint64_t limit = (uint64_t) r->memory->limit;
      if (limit > (1ULL << 40))
        return ward_error_set (err, EINVAL, "memory limit %llu bytes: too large for a microVM",
                               (unsigned long long) limit);
      /* the container gets its limit; kernel and agent come on top */
      mem = limit + WARD_VM_GUEST_OVERHEAD;
    }
  if (r && r->cpu && r->cpu->has_quota && r->cpu->quota > 0)
    {
      uint64_t period = r->cpu->has_period && r->cpu->period ? r->cpu->period : 100000;
      uint64_t q = (uint64_t) r->cpu->quota;
      cpus = (unsigned) ((q + period - 1) / period > 1024 ? 1024 : (q + period - 1) / period);
    }
  else if (r && r->cpu && r->cpu->cpus && r->cpu->cpus[0])
    {
      long n = cpuset_count (r->cpu->cpus);
      if (n <= 0)
        return ward_error_set (err, EINVAL, "linux.resources.cpu.cpus '%s': not a CPU list",
                               r->cpu->cpus);
      cpus = (unsigned) (n > 1024 ? 1024 : n);
    }
  if (host_cpus > 0 && cpus > host_cpus)
    cpus = host_cpus;
  if (cpus > WARD_VM_MAX_VCPUS)
    cpus = WARD_VM_MAX_VCPUS;
  if (cpus == 0)
    cpus = 1;
  /* whole 2 MiB pages: guest RAM is backed by (transparent) huge pages */
  mem = (mem + 2 * MIB - 1) & ~(2 * MIB - 1);
  *mem_bytes = mem;
  *vcpus = cpus;
  return 0;
}
