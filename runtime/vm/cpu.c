/* vCPU state for the PVH entry: CPUID, segment registers, LAPIC LVTs. */
#include <config.h>

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/cleanup.h"
#include "runtime/vm/cpu.h"

#define GDT_GPA 0x500ULL
#define CPUID_HYPERVISOR_BIT (1U << 31)
#define CPUID_TSC_DEADLINE_BIT (1U << 24)
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

int
ward_vm_cpu_get_cpuid (int kvm_fd, struct kvm_cpuid2 **out, ward_error_t **err)
{
  /* KVM answers E2BIG when nent is too small: grow until it fits */
  for (unsigned nent = 64; nent <= 4096; nent *= 2)
    {
      _cleanup_free_ struct kvm_cpuid2 *c
          = xzalloc (sizeof *c + nent * sizeof (struct kvm_cpuid_entry2));
      c->nent = nent;
      if (ioctl (kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
        {
          /* KVM emulates the TSC-deadline timer but leaves the CPUID bit to
           * userspace; with it the guest skips LAPIC timer calibration,
           * which nested under TCG cost 0.3 s and then failed anyway */
          if (ioctl (kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
            for (unsigned i = 0; i < c->nent; i++)
              if (c->entries[i].function == 1)
                c->entries[i].ecx |= CPUID_TSC_DEADLINE_BIT;
          *out = TAKE_PTR (c);
          return 0;
        }
      if (errno != E2BIG)
        return ward_error_set (err, errno, "KVM_GET_SUPPORTED_CPUID");
    }
  return ward_error_set (err, E2BIG, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

int
ward_vm_cpu_set_cpuid (int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id,
                       unsigned n_vcpus, ward_error_t **err)
{
  size_t sz = sizeof *supported + supported->nent * sizeof (struct kvm_cpuid_entry2);
  _cleanup_free_ struct kvm_cpuid2 *c = xmalloc (sz);
  memcpy (c, supported, sz);
  for (unsigned i = 0; i < c->nent; i++)
    {
      struct kvm_cpuid_entry2 *e = &c->entries[i];
      switch (e->function)
        {
        case 1:
          /* without the hypervisor bit the guest ignores kvm-clock and,
           * nested under TCG, stalls calibrating the TSC */
          e->ecx |= CPUID_HYPERVISOR_BIT;
          e->ebx = (e->ebx & 0x0000ffffU) | ((n_vcpus & 0xffU) << 16) | ((id & 0xffU) << 24);
          if (n_vcpus > 1)
            e->edx |= 1U << 28; /* HTT: EBX[23:16] is valid */
          break;
        case 0xb:
        case 0x1f:
          e->edx = id; /* x2APIC id */
          break;
        default:
          break;
        }
    }
  if (ioctl (vcpu_fd, KVM_SET_CPUID2, c) < 0)
    return ward_error_set (err, errno, "KVM_SET_CPUID2 on vCPU %u", id);
  return 0;
}

static void
flat_segment (struct kvm_segment *s, uint16_t selector, uint8_t type)
{
  *s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
                             .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
}

int
ward_vm_cpu_setup_pvh (int vcpu_fd, struct ward_vm_mem *mem, uint64_t entry, uint64_t start_info,
                       ward_error_t **err)
{
  /* null, null, code 0x10, data 0x18, tss 0x20: the layout the PVH ABI
   * describes; the kernel loads its own GDT right after entry */
  static const uint64_t gdt[] = { 0, 0, 0x00cf9b000000ffffULL, 0x00cf93000000ffffULL,
                                  0x00008b0000000067ULL };
  uint64_t *g = ward_vm_mem_ptr (mem, GDT_GPA, sizeof gdt);
  if (g == NULL)
    return ward_error_set (err, ENOMEM, "guest RAM too small for the GDT");
  memcpy (g, gdt, sizeof gdt);

  struct kvm_sregs sregs;
  if (ioctl (vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
    return ward_error_set (err, errno, "KVM_GET_SREGS");
  flat_segment (&sregs.cs, 0x10, 0xb);
  flat_segment (&sregs.ds, 0x18, 0x3);
  sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
  sregs.tr = (struct kvm_segment){ .base = 0, .limit = 0x67, .selector = 0x20, .type = 0xb,
                                   .present = 1 };
  sregs.gdt.base = GDT_GPA;
  sregs.gdt.limit = sizeof gdt - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cr0 = 0x11; /* PE | ET, paging off */
  sregs.cr3 = 0;
  sregs.cr4 = 0;
  sregs.efer = 0;
  if (ioctl (vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
    return ward_error_set (err, errno, "KVM_SET_SREGS");

  struct kvm_regs regs = { .rip = entry, .rbx = start_info, .rflags = 0x2 };
  if (ioctl (vcpu_fd, KVM_SET_REGS, &regs) < 0)
    return ward_error_set (err, errno, "KVM_SET_REGS");
  return 0;
}

static void
set_lvt_mode (struct kvm_lapic_state *l, int reg, uint32_t mode)
{
  uint32_t v;
  memcpy (&v, &l->regs[reg], 4);
  v = (v & ~0x700U) | (mode << 8);
  memcpy (&l->regs[reg], &v, 4);
}

int
ward_vm_cpu_setup_lapic (int vcpu_fd, ward_error_t **err)
{
  struct kvm_lapic_state l;
  if (ioctl (vcpu_fd, KVM_GET_LAPIC, &l) < 0)
    return ward_error_set (err, errno, "KVM_GET_LAPIC");
  /* the 8259 reaches the CPU through LINT0 until the guest enables the IOAPIC */
  set_lvt_mode (&l, APIC_LVT0, APIC_MODE_EXTINT);
  set_lvt_mode (&l, APIC_LVT1, APIC_MODE_NMI);
  if (ioctl (vcpu_fd, KVM_SET_LAPIC, &l) < 0)
    return ward_error_set (err, errno, "KVM_SET_LAPIC");
  return 0;
}
