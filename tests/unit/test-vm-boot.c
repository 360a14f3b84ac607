/* Unit tests for the VMM pieces that need no /dev/kvm: the PVH ELF loader
 * (with crafted, broken kernels), hvm_start_info and the memory map, the
 * MP table, and the 8250 UART model the guest's driver probes. */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"
#include "tests/unit/tap.h"

#define RAM (4u << 20)
#define LOAD 0x100000
#define ENTRY 0x100004

static uint8_t *ram;
static struct ward_vm_mem mem;

struct fake_elf
{
  Elf64_Ehdr eh;
  Elf64_Phdr ph[2];
  Elf64_Nhdr nh;
  char name[4];
  uint32_t desc;
  uint8_t text[16];
};

static void
make_elf (struct fake_elf *f)
{
  memset (f, 0, sizeof *f);
  memcpy (f->eh.e_ident, ELFMAG, SELFMAG);
  f->eh.e_ident[EI_CLASS] = ELFCLASS64;
  f->eh.e_machine = EM_X86_64;
  f->eh.e_phoff = offsetof (struct fake_elf, ph);
  f->eh.e_phnum = 2;
  f->eh.e_phentsize = sizeof (Elf64_Phdr);
  f->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof (struct fake_elf, text),
                           .p_paddr = LOAD, .p_filesz = 16, .p_memsz = 64 };
  f->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = offsetof (struct fake_elf, nh),
                           .p_filesz = sizeof (Elf64_Nhdr) + 8 };
  f->nh = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 4, .n_type = 18 };
  memcpy (f->name, "Xen", 4);
  f->desc = ENTRY;
  memset (f->text, 0x90, sizeof f->text);
}

static int
load (const void *buf, size_t len, uint64_t *entry, uint64_t *end, ward_error_t **err)
{
  int fd = memfd_create ("kernel", MFD_CLOEXEC);
  if (fd < 0 || write (fd, buf, len) != (ssize_t) len)
    return -EIO;
  int r = ward_vm_load_pvh_kernel (&mem, fd, entry, end, err);
  close (fd);
  return r;
}

static void
expect_load_fails (const struct fake_elf *f, size_t len, int want, const char *what)
{
  uint64_t entry = 0, end = 0;
  ward_error_t *err = NULL;
  int r = load (f, len, &entry, &end, &err);
  tap_ok (r == want && err != NULL, "loader refuses %s (%d: %s)", what, r, err ? err->msg : "-");
  ward_error_free (&err);
}

static void
test_loader (void)
{
  struct fake_elf f;
  uint64_t entry = 0, end = 0;
  make_elf (&f);
  memset (ram, 0xaa, RAM);
  tap_ok (load (&f, sizeof f, &entry, &end, NULL) == 0, "loader: crafted vmlinux loads");
  tap_ok (entry == ENTRY && end == LOAD + 64, "loader: PVH entry 0x%llx, end 0x%llx",
          (unsigned long long) entry, (unsigned long long) end);
  tap_ok (ram[LOAD] == 0x90 && ram[LOAD + 15] == 0x90 && ram[LOAD + 16] == 0 && ram[LOAD + 63] == 0
              && ram[LOAD + 64] == 0xaa,
          "loader: text copied, bss zeroed, nothing past memsz touched");

  make_elf (&f);
  f.nh.n_type = 17;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "a kernel without the PVH note");
  make_elf (&f);
  f.nh.n_namesz = 0xfffffff0u;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "a note with a huge name size");
  make_elf (&f);
  f.ph[0].p_paddr = RAM - 8;
  expect_load_fails (&f, sizeof f, -ENOMEM, "a segment past guest RAM");
  make_elf (&f);
  f.ph[0].p_paddr = UINT64_MAX - 8;
  expect_load_fails (&f, sizeof f, -ENOMEM, "a segment address that wraps");
  make_elf (&f);
  f.ph[0].p_filesz = 128;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "filesz > memsz");
  make_elf (&f);
  f.ph[0].p_offset = 1 << 20;
  expect_load_fails (&f, sizeof f, -EIO, "a segment past the end of the file");
  make_elf (&f);
  f.eh.e_phnum = 1000;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "1000 program headers");
  make_elf (&f);
  f.eh.e_machine = EM_AARCH64;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "an arm64 ELF");
  make_elf (&f);
  f.desc = RAM + 0x1000;
  expect_load_fails (&f, sizeof f, -ENOEXEC, "an entry outside RAM");
  expect_load_fails (&f, 10, -EIO, "a 10-byte file");
}

static void
test_start_info (void)
{
  uint64_t si_gpa = 0;
  memset (ram, 0, RAM);
  tap_ok (ward_vm_write_start_info (&mem, "console=ttyS0 quiet", 0x300000, 4096, &si_gpa, NULL) == 0,
          "start_info written");
  uint32_t magic, nr_modules, entries;
  uint64_t cmdline, modlist, memmap;
  const uint8_t *si = ram + si_gpa;
  memcpy (&magic, si, 4);
  memcpy (&nr_modules, si + 12, 4);
  memcpy (&modlist, si + 16, 8);
  memcpy (&cmdline, si + 24, 8);
  memcpy (&memmap, si + 40, 8);
  memcpy (&entries, si + 48, 4);
  tap_ok (magic == 0x336ec578, "start_info magic");
  tap_is_str ((const char *) ram + cmdline, "console=ttyS0 quiet", "start_info cmdline");
  uint64_t mod_addr, mod_size;
  memcpy (&mod_addr, ram + modlist, 8);
  memcpy (&mod_size, ram + modlist + 8, 8);
  tap_ok (nr_modules == 1 && mod_addr == 0x300000 && mod_size == 4096, "start_info initrd module");
  uint64_t a2, s2;
  uint32_t t1;
  memcpy (&t1, ram + memmap + 24 + 16, 4);
  memcpy (&a2, ram + memmap + 48, 8);
  memcpy (&s2, ram + memmap + 56, 8);
  tap_ok (entries == 3 && t1 == 2 && a2 == 0x100000 && s2 == RAM - 0x100000,
          "memmap: low RAM, reserved EBDA..1M, RAM from 1 MiB to the end");

  char *big = malloc (4096);
  memset (big, 'x', 4095);
  big[4095] = '\0';
  ward_error_t *err = NULL;
  tap_ok (ward_vm_write_start_info (&mem, big, 0, 0, &si_gpa, &err) == -E2BIG,
          "a 4 KiB command line is refused");
  ward_error_free (&err);
  free (big);
}

static uint8_t
sum (const uint8_t *p, size_t n)
{
  uint8_t s = 0;
  while (n--)
    s += *p++;
  return s;
}

static void
test_mptable (void)
{
  memset (ram, 0, RAM);
  tap_ok (ward_vm_write_mptable (&mem, 4, NULL) == 0, "MP table for 4 vCPUs");
  const uint8_t *mpf = ram + 0x9fc00;
  uint32_t phys;
  memcpy (&phys, mpf + 4, 4);
  const uint8_t *mpc = ram + phys;
  uint16_t len;
  memcpy (&len, mpc + 4, 2);
  tap_ok (memcmp (mpf, "_MP_", 4) == 0 && sum (mpf, 16) == 0, "MP floating pointer, checksum 0");
  tap_ok (memcmp (mpc, "PCMP", 4) == 0 && sum (mpc, len) == 0, "MP config table, checksum 0");
  unsigned cpus = 0, bsp = 0;
  for (const uint8_t *e = mpc + 44; e < mpc + len;)
    {
      if (*e == 0)
        {
          cpus++;
          bsp += (e[3] & 2) != 0;
          e += 20;
        }
      else
        e += 8;
    }
  tap_ok (cpus == 4 && bsp == 1, "4 processor entries, one BSP");
  ward_error_t *err = NULL;
  tap_ok (ward_vm_write_mptable (&mem, 0, &err) == -EINVAL, "0 vCPUs refused");
  ward_error_free (&err);
}

static int irq_level, irq_edges;
static void
fake_irq (void *opaque, unsigned irq, int level)
{
  (void) opaque;
  if (irq == 4 && level && !irq_level)
    irq_edges++;
  irq_level = level;
}

static void
test_serial (void)
{
  int p[2];
  if (pipe (p) < 0)
    {
      tap_skip ("pipe failed");
      return;
    }
  struct ward_vm_serial s;
  ward_vm_serial_init (&s, p[1], fake_irq, NULL);
  ward_vm_serial_out (&s, 1, 0);
  tap_ok (ward_vm_serial_in (&s, 1) == 0, "uart: IER reads 0 after writing 0");
  ward_vm_serial_out (&s, 1, 0x0f);
  tap_ok (ward_vm_serial_in (&s, 1) == 0x0f, "uart: IER reads 0x0f back");
  ward_vm_serial_out (&s, 1, 0);
  ward_vm_serial_out (&s, 4, 0x10 | 0x0a);
  tap_ok ((ward_vm_serial_in (&s, 6) & 0xf0) == 0x90, "uart: loopback MSR 0x90 (8250 probe)");
  ward_vm_serial_out (&s, 4, 0x08);
  ward_vm_serial_out (&s, 3, 0x80);
  ward_vm_serial_out (&s, 0, 0x01);
  ward_vm_serial_out (&s, 1, 0x00);
  tap_ok (ward_vm_serial_in (&s, 0) == 1 && ward_vm_serial_in (&s, 1) == 0, "uart: DLAB divisor latch");
  ward_vm_serial_out (&s, 3, 0x03);
  ward_vm_serial_out (&s, 2, 0x07);
  tap_ok ((ward_vm_serial_in (&s, 2) & 0xcf) == 0xc1, "uart: FIFO enabled, no interrupt pending");

  irq_edges = 0; /* the IER probe above raised and dropped the line */
  ward_vm_serial_out (&s, 0, 'h');
  ward_vm_serial_out (&s, 0, 'i');
  char buf[4] = { 0 };
  tap_ok (read (p[0], buf, 2) == 2 && memcmp (buf, "hi", 2) == 0, "uart: THR bytes reach the host fd");
  tap_ok ((ward_vm_serial_in (&s, 5) & 0x60) == 0x60, "uart: LSR THRE|TEMT");
  tap_ok (irq_edges == 0, "uart: no interrupt with IER 0");

  ward_vm_serial_out (&s, 1, 0x02);
  tap_ok (irq_level == 1 && irq_edges == 1, "uart: enabling THRI raises IRQ 4");
  tap_ok ((ward_vm_serial_in (&s, 2) & 0x0f) == 0x02, "uart: IIR says THR empty");
  tap_ok (irq_level == 0 && (ward_vm_serial_in (&s, 2) & 0x0f) == 0x01,
          "uart: reading IIR acknowledges, line drops");
  ward_vm_serial_out (&s, 0, '!');
  tap_ok (irq_level == 1 && irq_edges == 2, "uart: each THR write gives a new edge");

  ward_vm_serial_out (&s, 1, 0x01);
  tap_ok (ward_vm_serial_input (&s, "ab", 2) == 2, "uart: host input queued");
  tap_ok ((ward_vm_serial_in (&s, 5) & 1) && (ward_vm_serial_in (&s, 2) & 0x0f) == 0x04,
          "uart: LSR DR and IIR RDI");
  tap_ok (ward_vm_serial_in (&s, 0) == 'a' && ward_vm_serial_in (&s, 0) == 'b'
              && !(ward_vm_serial_in (&s, 5) & 1),
          "uart: RBR gives the bytes, then DR clears");
  tap_ok (ward_vm_serial_in (&s, 9) == 0, "uart: out-of-range offset reads 0");
  ward_vm_serial_destroy (&s);
  close (p[0]);
  close (p[1]);
}

static void
test_resources (void)
{
  uint64_t mem = 0;
  unsigned cpus = 0;
  tap_ok (ward_vm_size_from_resources (NULL, 8, &mem, &cpus, NULL) == 0 && mem == 128ULL << 20
              && cpus == 1,
          "no resources: 128 MiB, 1 vCPU");
  ward_memory_t m = { .has_limit = true, .limit = 100 * 1000 * 1000 };
  ward_cpu_t c = { .has_quota = true, .quota = 250000, .has_period = true, .period = 100000 };
  ward_resources_t r = { .memory = &m, .cpu = &c };
  tap_ok (ward_vm_size_from_resources (&r, 8, &mem, &cpus, NULL) == 0
              && mem == ((100000000ULL + (64ULL << 20) + (2ULL << 20) - 1) & ~((2ULL << 20) - 1))
              && cpus == 3,
          "100 MB limit + 64 MiB overhead in 2 MiB pages; quota 2.5 CPUs -> 3 vCPUs");
  tap_ok (ward_vm_size_from_resources (&r, 2, &mem, &cpus, NULL) == 0 && cpus == 2,
          "vCPUs capped at the host's CPUs");
  ward_cpu_t set = { .cpus = (char *) "0-3,7" };
  r.cpu = &set;
  tap_ok (ward_vm_size_from_resources (&r, 0, &mem, &cpus, NULL) == 0 && cpus == 5,
          "cpuset 0-3,7 -> 5 vCPUs");
  ward_cpu_t bad = { .cpus = (char *) "3-1" };
  r.cpu = &bad;
  ward_error_t *err = NULL;
  tap_ok (ward_vm_size_from_resources (&r, 0, &mem, &cpus, &err) == -EINVAL, "cpuset 3-1 refused");
  ward_error_free (&err);
  ward_memory_t huge = { .has_limit = true, .limit = INT64_MAX };
  r.cpu = NULL;
  r.memory = &huge;
  tap_ok (ward_vm_size_from_resources (&r, 0, &mem, &cpus, &err) == -EINVAL, "8 EiB limit refused");
  ward_error_free (&err);
}

int
main (void)
{
  ram = aligned_alloc (4096, RAM);
  if (ram == NULL)
    return 99;
  ward_vm_mem_init_flat (&mem, ram, RAM);
  test_loader ();
  test_start_info ();
  test_mptable ();
  test_serial ();
  test_resources ();
  free (ram);
  return tap_done ();
}
