/* PVH direct boot: the ELF vmlinux is loaded at its physical addresses and
 * entered in 32-bit protected mode at XEN_ELFNOTE_PHYS32_ENTRY with %ebx
 * pointing at an hvm_start_info (the same path QEMU and Firecracker use).
 * Also writes the Intel MP table, because the guest has no ACPI. */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/vm/vm.h"

/* Xen public ABI (xen/include/public/arch-x86/hvm/start_info.h, elfnote.h) */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578
#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_start_info
{
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;
  uint32_t memmap_entries;
  uint32_t reserved;
};

struct hvm_modlist_entry
{
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};

struct hvm_memmap_table_entry
{
  uint64_t addr;
  uint64_t size;
  uint32_t type;
  uint32_t reserved;
};

/* Low-memory layout; Linux reserves the whole first MiB for itself, so
 * nothing here is overwritten before the kernel has copied it. */
#define START_INFO_GPA 0x6000ULL
#define MODLIST_GPA 0x6040ULL
#define MEMMAP_GPA 0x6100ULL
#define CMDLINE_GPA 0x20000ULL
#define CMDLINE_MAX 2048 /* x86 COMMAND_LINE_SIZE */
#define EBDA_START 0x9fc00ULL
#define HIGH_MEM_START 0x100000ULL
#define MAX_PHDRS 64
#define MAX_NOTES_SIZE (64 * 1024)

static int
pread_exact (int fd, void *buf, size_t len, off_t off)
{
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = pread (fd, (char *) buf + done, len - done, off + (off_t) done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        return -EIO;
      done += (size_t) r;
    }
  return 0;
}

/* Walks an ELF note segment for the Xen PHYS32 entry. */
static bool
find_pvh_entry (const uint8_t *notes, size_t len, uint64_t *entry)
{
  size_t off = 0;
  while (len - off >= sizeof (Elf64_Nhdr))
    {
      Elf64_Nhdr nh;
      memcpy (&nh, notes + off, sizeof nh);
      off += sizeof nh;
      size_t namesz = ((size_t) nh.n_namesz + 3) & ~(size_t) 3;
      size_t descsz = ((size_t) nh.n_descsz + 3) & ~(size_t) 3;
      if (namesz > len - off || descsz > len - off - namesz)
        return false;
      const uint8_t *name = notes + off;
      const uint8_t *desc = notes + off + namesz;
      if (nh.n_namesz == 4 && memcmp (name, "Xen", 4) == 0 && nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY)
        {
          if (nh.n_descsz == 4)
            {
              uint32_t v;
              memcpy (&v, desc, 4);
              *entry = v;
              return true;
            }
          if (nh.n_descsz == 8)
            {
              memcpy (entry, desc, 8);
              return true;
            }
          return false;
        }
      off += namesz + descsz;
    }
  return false;
}

int
ward_vm_load_pvh_kernel (struct ward_vm_mem *mem, int fd, uint64_t *entry, uint64_t *kernel_end,
                         ward_error_t **err)
{
  Elf64_Ehdr eh;
  int r = pread_exact (fd, &eh, sizeof eh, 0);
  if (r < 0)
    return ward_error_set (err, -r, "read the kernel's ELF header");
  if (memcmp (eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64
      || eh.e_machine != EM_X86_64)
    return ward_error_set (err, ENOEXEC, "kernel: not an x86-64 ELF vmlinux (a bzImage is not supported)");
  if (eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS || eh.e_phentsize != sizeof (Elf64_Phdr))
    return ward_error_set (err, ENOEXEC, "kernel: bad program header table (%u entries)",
                           (unsigned) eh.e_phnum);

  Elf64_Phdr ph[MAX_PHDRS];
  r = pread_exact (fd, ph, sizeof (Elf64_Phdr) * eh.e_phnum, (off_t) eh.e_phoff);
  if (r < 0)
    return ward_error_set (err, -r, "read the kernel's program headers");

  bool have_entry = false;
  uint64_t end = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++)
    {
      if (ph[i].p_type == PT_LOAD)
        {
          if (ph[i].p_filesz > ph[i].p_memsz)
            return ward_error_set (err, ENOEXEC, "kernel: segment %u filesz > memsz", i);
          uint8_t *dst = ward_vm_mem_ptr (mem, ph[i].p_paddr, ph[i].p_memsz);
          if (dst == NULL)
            return ward_error_set (err, ENOMEM,
                                   "kernel: segment %u (0x%llx, %llu bytes) does not fit in guest RAM",
                                   i, (unsigned long long) ph[i].p_paddr,
                                   (unsigned long long) ph[i].p_memsz);
          r = pread_exact (fd, dst, ph[i].p_filesz, (off_t) ph[i].p_offset);
          if (r < 0)
            return ward_error_set (err, -r, "read kernel segment %u", i);
          memset (dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
          if (ph[i].p_paddr + ph[i].p_memsz > end)
            end = ph[i].p_paddr + ph[i].p_memsz;
        }
      else if (ph[i].p_type == PT_NOTE && !have_entry)
        {
          if (ph[i].p_filesz > MAX_NOTES_SIZE)
            continue;
          _cleanup_free_ uint8_t *notes = xmalloc (ph[i].p_filesz + 1);
          r = pread_exact (fd, notes, ph[i].p_filesz, (off_t) ph[i].p_offset);
          if (r < 0)
            return ward_error_set (err, -r, "read kernel notes");
          have_entry = find_pvh_entry (notes, ph[i].p_filesz, entry);
        }
    }
  if (!have_entry)
    return ward_error_set (err, ENOEXEC, "kernel: no PVH entry note (build with CONFIG_PVH=y)");
  if (ward_vm_mem_ptr (mem, *entry, 1) == NULL)
    return ward_error_set (err, ENOEXEC, "kernel: PVH entry 0x%llx outside guest RAM",
                           (unsigned long long) *entry);
  *kernel_end = end;
  return 0;
}

int
ward_vm_write_start_info (struct ward_vm_mem *mem, const char *cmdline, uint64_t initrd_gpa,
                          uint64_t initrd_size, uint64_t *start_info_gpa, ward_error_t **err)
{
  size_t clen = strlen (cmdline);
  if (clen >= CMDLINE_MAX)
    return ward_error_set (err, E2BIG, "kernel command line: %zu bytes, the limit is %d", clen,
                           CMDLINE_MAX - 1);
  char *c = ward_vm_mem_ptr (mem, CMDLINE_GPA, CMDLINE_MAX);
  struct hvm_start_info *si = ward_vm_mem_ptr (mem, START_INFO_GPA, sizeof *si);
  struct hvm_modlist_entry *mod = ward_vm_mem_ptr (mem, MODLIST_GPA, sizeof *mod);
  struct hvm_memmap_table_entry *mm = ward_vm_mem_ptr (mem, MEMMAP_GPA, 4 * sizeof *mm);
  if (!c || !si || !mod || !mm)
    return ward_error_set (err, ENOMEM, "guest RAM too small for the boot structures");
  memcpy (c, cmdline, clen + 1);

  unsigned n = 0;
  mm[n++] = (struct hvm_memmap_table_entry){ 0, EBDA_START, HVM_MEMMAP_TYPE_RAM, 0 };
  mm[n++] = (struct hvm_memmap_table_entry){ EBDA_START, HIGH_MEM_START - EBDA_START,
                                             HVM_MEMMAP_TYPE_RESERVED, 0 };
  for (size_t i = 0; i < mem->n_regions; i++)
    {
      uint64_t start = mem->regions[i].gpa, size = mem->regions[i].size;
      if (start < HIGH_MEM_START)
        {
          size -= HIGH_MEM_START - start;
          start = HIGH_MEM_START;
        }
      mm[n++] = (struct hvm_memmap_table_entry){ start, size, HVM_MEMMAP_TYPE_RAM, 0 };
    }

  memset (si, 0, sizeof *si);
  si->magic = HVM_START_MAGIC;
  si->version = 1;
  si->cmdline_paddr = CMDLINE_GPA;
  si->memmap_paddr = MEMMAP_GPA;
  si->memmap_entries = n;
  if (initrd_size)
    {
      *mod = (struct hvm_modlist_entry){ .paddr = initrd_gpa, .size = initrd_size };
      si->nr_modules = 1;
      si->modlist_paddr = MODLIST_GPA;
    }
  *start_info_gpa = START_INFO_GPA;
  return 0;
}

/* ---- Intel MultiProcessor Specification 1.4 tables ---- */

#define MP_LAPIC_ADDR 0xfee00000U
#define MP_IOAPIC_ADDR 0xfec00000U
#define MP_IOAPIC_PINS 24

struct __attribute__ ((packed)) mpf_intel
{
  char signature[4];
  uint32_t physptr;
  uint8_t length, specification, checksum, feature1, feature2, feature3, feature4, feature5;
};

struct __attribute__ ((packed)) mpc_table
{
  char signature[4];
  uint16_t length;
  uint8_t spec, checksum;
  char oem[8], productid[12];
  uint32_t oemptr;
  uint16_t oemsize, oemcount;
  uint32_t lapic;
  uint32_t reserved;
};

struct __attribute__ ((packed)) mpc_cpu
{
  uint8_t type, apicid, apicver, cpuflag;
  uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__ ((packed)) mpc_bus
{
  uint8_t type, busid;
  char bustype[6];
};

struct __attribute__ ((packed)) mpc_ioapic
{
  uint8_t type, apicid, apicver, flags;
  uint32_t apicaddr;
};

struct __attribute__ ((packed)) mpc_intsrc
{
  uint8_t type, irqtype;
  uint16_t irqflag;
  uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

static uint8_t
mp_checksum (const void *p, size_t len)
{
  uint8_t sum = 0;
  for (size_t i = 0; i < len; i++)
    sum += ((const uint8_t *) p)[i];
  return (uint8_t) -sum;
}

int
ward_vm_write_mptable (struct ward_vm_mem *mem, unsigned vcpus, ward_error_t **err)
{
  if (vcpus == 0 || vcpus > 254)
    return ward_error_set (err, EINVAL, "%u vCPUs: the MP table holds 1 to 254", vcpus);
  size_t size = sizeof (struct mpf_intel) + sizeof (struct mpc_table)
                + vcpus * sizeof (struct mpc_cpu) + sizeof (struct mpc_bus)
                + sizeof (struct mpc_ioapic) + (MP_IOAPIC_PINS + 2) * sizeof (struct mpc_intsrc);
  /* Linux scans the last KiB of base memory (the EBDA) for "_MP_" */
  uint8_t *base = ward_vm_mem_ptr (mem, EBDA_START, size);
  if (base == NULL || size > HIGH_MEM_START - EBDA_START - 0x100)
    return ward_error_set (err, ENOMEM, "MP table for %u vCPUs does not fit", vcpus);
  memset (base, 0, size);

  struct mpf_intel *mpf = (struct mpf_intel *) base;
  struct mpc_table *mpc = (struct mpc_table *) (mpf + 1);
  uint8_t *p = (uint8_t *) (mpc + 1);
  uint8_t ioapic_id = (uint8_t) vcpus;

  memcpy (mpf->signature, "_MP_", 4);
  mpf->physptr = (uint32_t) (EBDA_START + sizeof *mpf);
  mpf->length = 1;
  mpf->specification = 4;
  mpf->checksum = mp_checksum (mpf, sizeof *mpf);

  for (unsigned i = 0; i < vcpus; i++)
    {
      struct mpc_cpu c = { .type = 0, .apicid = (uint8_t) i, .apicver = 0x14,
                           .cpuflag = (uint8_t) (1 | (i == 0 ? 2 : 0)), .cpufeature = 0x600,
                           .featureflag = (1U << 9) | 1U /* APIC, FPU */ };
      memcpy (p, &c, sizeof c);
      p += sizeof c;
    }
  struct mpc_bus bus = { .type = 1, .busid = 0 };
  memcpy (bus.bustype, "ISA   ", 6);
  memcpy (p, &bus, sizeof bus);
  p += sizeof bus;
  struct mpc_ioapic io = { .type = 2, .apicid = ioapic_id, .apicver = 0x11, .flags = 1,
                           .apicaddr = MP_IOAPIC_ADDR };
  memcpy (p, &io, sizeof io);
  p += sizeof io;
  /* ISA IRQ i -> IOAPIC pin i, edge/active-high (bus default) */
  for (unsigned i = 0; i < MP_IOAPIC_PINS; i++)
    {
      struct mpc_intsrc s = { .type = 3, .irqtype = 0, .srcbus = 0, .srcbusirq = (uint8_t) i,
                              .dstapic = ioapic_id, .dstirq = (uint8_t) i };
      memcpy (p, &s, sizeof s);
      p += sizeof s;
    }
  /* LINT0 = ExtINT (the PIC), LINT1 = NMI on every local APIC */
  struct mpc_intsrc l0 = { .type = 4, .irqtype = 3, .dstapic = 0xff, .dstirq = 0 };
  struct mpc_intsrc l1 = { .type = 4, .irqtype = 1, .dstapic = 0xff, .dstirq = 1 };
  memcpy (p, &l0, sizeof l0);
  p += sizeof l0;
  memcpy (p, &l1, sizeof l1);
  p += sizeof l1;

  memcpy (mpc->signature, "PCMP", 4);
  mpc->length = (uint16_t) (p - (uint8_t *) mpc);
  mpc->spec = 4;
  memcpy (mpc->oem, "WARD    ", 8);
  memcpy (mpc->productid, "WARD-VM     ", 12);
  mpc->lapic = MP_LAPIC_ADDR;
  mpc->checksum = mp_checksum (mpc, mpc->length);
  return 0;
}
