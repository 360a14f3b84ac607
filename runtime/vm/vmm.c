/* The VM: KVM setup, guest RAM, PVH boot, one thread per vCPU and the
 * port-I/O / MMIO dispatch to the device models. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/vm/cpu.h"
#include "runtime/vm/devices.h"
#include "runtime/vm/vm.h"

#define DEFAULT_MEM WARD_VM_DEFAULT_MEM
#define MAX_VCPUS WARD_VM_MAX_VCPUS
#define MAX_VIRTIO 8
/* KVM needs three pages for the VMX real-mode TSS and one for the identity
 * map, inside guest-physical space but outside RAM (Intel only; harmless
 * on AMD) */
#define TSS_ADDR 0xfffbd000UL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL
#define I8042_PORT_CMD 0x64
#define I8042_CMD_RESET 0xfe
#define KICK_SIGNAL SIGRTMIN

/* legacy IRQs free for virtio-mmio: the serial has 4, the PIT 0, RTC 8 */
static const unsigned virtio_irqs[MAX_VIRTIO] = { 5, 6, 7, 9, 10, 11, 12, 14 };

struct vcpu
{
  ward_vm_t *vm;
  unsigned id;
  int fd;
  struct kvm_run *run;
  pthread_t thread;
  bool started;
};

struct virtio_slot
{
  struct ward_virtio_dev *dev;
  uint64_t base;
  unsigned irq;
  ward_vm_t *vm;
};

struct ward_vm
{
  int kvm_fd, vm_fd;
  struct ward_vm_mem mem;
  unsigned n_vcpus;
  struct vcpu vcpus[MAX_VCPUS];
  size_t run_size;
  struct ward_vm_serial serial;
  struct virtio_slot virtio[MAX_VIRTIO];
  unsigned n_virtio;
  struct ward_vm_console *console;
  struct ward_vm_vsock *vsock;
  struct ward_vm_rng *rng;
  struct ward_vm_fs *fs;
  struct ward_vm_net *net;
  char *cmdline;
  uint64_t entry, start_info;

  pthread_mutex_t lock;
  pthread_cond_t cond;
  atomic_bool done;
  enum ward_vm_exit_reason reason;
  int error; /* errno of a failed KVM_RUN */
  char detail[128]; /* what the failing vCPU saw */
};

const char *
ward_vm_exit_reason_str (enum ward_vm_exit_reason r)
{
  switch (r)
    {
    case WARD_VM_EXIT_RESET:
      return "reset";
    case WARD_VM_EXIT_SHUTDOWN:
      return "shutdown";
    case WARD_VM_EXIT_STOPPED:
      return "stopped";
    case WARD_VM_EXIT_ERROR:
      return "error";
    }
  return "unknown";
}

const char *
ward_vm_cmdline (const ward_vm_t *vm)
{
  return vm->cmdline;
}

static void
set_irq_line (void *opaque, unsigned irq, int level)
{
  ward_vm_t *vm = opaque;
  struct kvm_irq_level l = { .irq = irq, .level = (uint32_t) level };
  if (ioctl (vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
    ward_debug ("KVM_IRQ_LINE %u=%d: %s", irq, level, strerror (errno));
}

/* virtio-mmio interrupts are edge-triggered ISA lines: pulse them */
static void
virtio_irq_raise (void *opaque)
{
  struct virtio_slot *s = opaque;
  set_irq_line (s->vm, s->irq, 1);
  set_irq_line (s->vm, s->irq, 0);
}

static void
finish_detail (ward_vm_t *vm, enum ward_vm_exit_reason reason, int error, const char *detail)
{
  pthread_mutex_lock (&vm->lock);
  if (!atomic_load (&vm->done))
    {
      snprintf (vm->detail, sizeof vm->detail, "%s", detail ? detail : "");
      vm->reason = reason;
      vm->error = error;
      atomic_store (&vm->done, true);
    }
  pthread_cond_broadcast (&vm->cond);
  pthread_mutex_unlock (&vm->lock);
}

static void
finish (ward_vm_t *vm, enum ward_vm_exit_reason reason, int error)
{
  finish_detail (vm, reason, error, NULL);
}

void
ward_vm_stop (ward_vm_t *vm)
{
  finish (vm, WARD_VM_EXIT_STOPPED, 0);
}

static void
handle_pio (ward_vm_t *vm, struct kvm_run *run)
{
  uint8_t *data = (uint8_t *) run + run->io.data_offset;
  for (uint32_t n = 0; n < run->io.count; n++, data += run->io.size)
    {
      uint16_t port = run->io.port;
      bool out = run->io.direction == KVM_EXIT_IO_OUT;
      if (port >= WARD_VM_SERIAL_PORT && port < WARD_VM_SERIAL_PORT + 8 && run->io.size == 1)
        {
          if (out)
            ward_vm_serial_out (&vm->serial, port - WARD_VM_SERIAL_PORT, data[0]);
          else
            data[0] = ward_vm_serial_in (&vm->serial, port - WARD_VM_SERIAL_PORT);
          continue;
        }
      if (port == I8042_PORT_CMD)
        {
          /* reboot=k: the kernel pulses the CPU reset line through the
           * keyboard controller; that is how the guest says "done" */
          if (out && data[0] == I8042_CMD_RESET)
            finish (vm, WARD_VM_EXIT_RESET, 0);
          else if (!out)
            data[0] = 0; /* input buffer empty: kb_wait need not spin */
          continue;
        }
      if (!out)
        memset (data, 0xff, run->io.size); /* nothing there: floating bus */
    }
}

static void
handle_mmio (ward_vm_t *vm, struct kvm_run *run)
{
  uint64_t addr = run->mmio.phys_addr;
  uint32_t len = run->mmio.len;
  for (unsigned i = 0; i < vm->n_virtio; i++)
    {
      struct virtio_slot *s = &vm->virtio[i];
      if (addr >= s->base && addr - s->base < WARD_VM_VIRTIO_MMIO_SIZE)
        {
          if (run->mmio.is_write)
            ward_virtio_mmio_write (s->dev, addr - s->base, run->mmio.data, len);
          else
            ward_virtio_mmio_read (s->dev, addr - s->base, run->mmio.data, len);
          return;
        }
    }
  if (!run->mmio.is_write)
    memset (run->mmio.data, 0xff, sizeof run->mmio.data);
}

static void *
vcpu_thread (void *arg)
{
  struct vcpu *c = arg;
  ward_vm_t *vm = c->vm;
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, KICK_SIGNAL);
  pthread_sigmask (SIG_UNBLOCK, &set, NULL);

  while (!atomic_load (&vm->done))
    {
      if (ioctl (c->fd, KVM_RUN, 0) < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          finish_detail (vm, WARD_VM_EXIT_ERROR, errno, "KVM_RUN");
          break;
        }
      struct kvm_run *run = c->run;
      char detail[96];
      switch (run->exit_reason)
        {
        case KVM_EXIT_IO:
          handle_pio (vm, run);
          break;
        case KVM_EXIT_MMIO:
          handle_mmio (vm, run);
          break;
        case KVM_EXIT_INTR:
          break;
        case KVM_EXIT_SHUTDOWN:
          /* triple fault: what reboot=t and a crashing guest end in */
          finish (vm, WARD_VM_EXIT_SHUTDOWN, 0);
          break;
        case KVM_EXIT_HLT:
          finish (vm, WARD_VM_EXIT_SHUTDOWN, 0);
          break;
        case KVM_EXIT_SYSTEM_EVENT:
          finish (vm,
                  run->system_event.type == KVM_SYSTEM_EVENT_RESET ? WARD_VM_EXIT_RESET
                                                                   : WARD_VM_EXIT_SHUTDOWN,
                  0);
          break;
        case KVM_EXIT_FAIL_ENTRY:
          snprintf (detail, sizeof detail, "vCPU %u: KVM_EXIT_FAIL_ENTRY reason 0x%llx", c->id,
                    (unsigned long long) run->fail_entry.hardware_entry_failure_reason);
          finish_detail (vm, WARD_VM_EXIT_ERROR, EIO, detail);
          break;
        case KVM_EXIT_INTERNAL_ERROR:
          snprintf (detail, sizeof detail, "vCPU %u: KVM internal error, suberror %u", c->id,
                    run->internal.suberror);
          finish_detail (vm, WARD_VM_EXIT_ERROR, EIO, detail);
          break;
        default:
          snprintf (detail, sizeof detail, "vCPU %u: unhandled exit reason %u", c->id,
                    run->exit_reason);
          finish_detail (vm, WARD_VM_EXIT_ERROR, ENOSYS, detail);
          break;
        }
    }
  return NULL;
}

static void
kick_handler (int sig)
{
  (void) sig;
}

static int
add_virtio (ward_vm_t *vm, struct ward_virtio_dev *dev, ward_error_t **err)
{
  if (vm->n_virtio == MAX_VIRTIO)
    return ward_error_set (err, ENOSPC, "too many virtio devices");
  struct virtio_slot *s = &vm->virtio[vm->n_virtio];
  s->dev = dev;
  s->base = WARD_VM_VIRTIO_MMIO_BASE + vm->n_virtio * WARD_VM_VIRTIO_MMIO_SIZE;
  s->irq = virtio_irqs[vm->n_virtio];
  s->vm = vm;
  dev->irq_raise = virtio_irq_raise;
  dev->irq_opaque = s;
  vm->n_virtio++;
  return 0;
}

static char *
build_cmdline (ward_vm_t *vm, const struct ward_vm_config *cfg)
{
  /* reboot=k: the i8042 reset is our "guest is done" signal (no ACPI);
   * panic=-1: a panicking guest reboots at once instead of hanging */
  char *s = xstrdup ("reboot=k panic=-1 no_timer_check tsc=reliable");
  char *n;
  if (cfg->serial_fd >= 0)
    {
      n = xasprintf ("%s console=ttyS0", s);
      free (s);
      s = n;
    }
  for (unsigned i = 0; i < vm->n_virtio; i++)
    {
      n = xasprintf ("%s virtio_mmio.device=4K@0x%llx:%u", s,
                     (unsigned long long) vm->virtio[i].base, vm->virtio[i].irq);
      free (s);
      s = n;
    }
  if (cfg->cmdline && cfg->cmdline[0])
    {
      n = xasprintf ("%s %s", s, cfg->cmdline);
      free (s);
      s = n;
    }
  return s;
}

static int
load_initrd (ward_vm_t *vm, const char *path, uint64_t kernel_end, uint64_t *gpa, uint64_t *size,
             ward_error_t **err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ward_error_set (err, errno, "open initrd '%s'", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return ward_error_set (err, errno, "stat initrd '%s'", path);
  uint64_t len = (uint64_t) st.st_size;
  uint64_t top = vm->mem.regions[0].size;
  /* top of low RAM, page aligned, above the kernel image */
  if (len == 0 || len > top || ((top - len) & ~0xfffULL) < kernel_end)
    return ward_error_set (err, EFBIG, "initrd '%s' (%llu bytes) does not fit in guest RAM", path,
                           (unsigned long long) len);
  uint64_t at = (top - len) & ~0xfffULL;
  uint8_t *dst = ward_vm_mem_ptr (&vm->mem, at, len);
  if (dst == NULL || ward_read_all (fd, dst, len) != (ssize_t) len)
    return ward_error_set (err, errno ? errno : EIO, "read initrd '%s'", path);
  *gpa = at;
  *size = len;
  return 0;
}

static int
create_vcpu (ward_vm_t *vm, unsigned id, const struct kvm_cpuid2 *cpuid, ward_error_t **err)
{
  struct vcpu *c = &vm->vcpus[id];
  c->vm = vm;
  c->id = id;
  c->fd = ioctl (vm->vm_fd, KVM_CREATE_VCPU, (unsigned long) id);
  if (c->fd < 0)
    return ward_error_set (err, errno, "KVM_CREATE_VCPU %u", id);
  void *run = mmap (NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
  if (run == MAP_FAILED)
    return ward_error_set (err, errno, "mmap kvm_run of vCPU %u", id);
  c->run = run;
  int r = ward_vm_cpu_set_cpuid (c->fd, cpuid, id, vm->n_vcpus, err);
  if (r < 0)
    return r;
  r = ward_vm_cpu_setup_lapic (c->fd, err);
  if (r < 0)
    return r;
  /* the APs wait for INIT/SIPI from the boot CPU (in-kernel LAPIC) */
  if (id == 0)
    return ward_vm_cpu_setup_pvh (c->fd, &vm->mem, vm->entry, vm->start_info, err);
  return 0;
}

static int
vm_setup (ward_vm_t *vm, const struct ward_vm_config *cfg, ward_error_t **err)
{
  int r;
  vm->kvm_fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (vm->kvm_fd < 0)
    return ward_error_set (err, errno, "open '/dev/kvm'");
  int api = ioctl (vm->kvm_fd, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION)
    return ward_error_set (err, ENOTSUP, "/dev/kvm API version %d, want %d", api, KVM_API_VERSION);
  vm->vm_fd = ioctl (vm->kvm_fd, KVM_CREATE_VM, 0);
  if (vm->vm_fd < 0)
    return ward_error_set (err, errno, "KVM_CREATE_VM");
  int sz = ioctl (vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (sz < (int) sizeof (struct kvm_run))
    return ward_error_set (err, errno, "KVM_GET_VCPU_MMAP_SIZE");
  vm->run_size = (size_t) sz;

  if (ioctl (vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
    return ward_error_set (err, errno, "KVM_SET_TSS_ADDR");
  uint64_t idmap = IDENTITY_MAP_ADDR;
  if (ioctl (vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
    return ward_error_set (err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
  /* irqchip before any vCPU: the vCPUs get in-kernel LAPICs */
  if (ioctl (vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
    return ward_error_set (err, errno, "KVM_CREATE_IRQCHIP");
  struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
  if (ioctl (vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
    return ward_error_set (err, errno, "KVM_CREATE_PIT2");

  r = ward_vm_mem_alloc (&vm->mem, cfg->mem_bytes ? cfg->mem_bytes : DEFAULT_MEM, err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < vm->mem.n_regions; i++)
    {
      struct kvm_userspace_memory_region region = {
        .slot = (uint32_t) i,
        .guest_phys_addr = vm->mem.regions[i].gpa,
        .memory_size = vm->mem.regions[i].size,
        .userspace_addr = (uintptr_t) vm->mem.regions[i].host,
      };
      if (ioctl (vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return ward_error_set (err, errno, "KVM_SET_USER_MEMORY_REGION slot %zu", i);
    }

  ward_vm_serial_init (&vm->serial, cfg->serial_fd, set_irq_line, vm);
  if (cfg->console_out_fd >= 0)
    {
      r = ward_vm_console_new (&vm->mem, cfg->console_in_fd, cfg->console_out_fd, &vm->console,
                               err);
      if (r < 0)
        return r;
      r = add_virtio (vm, ward_vm_console_dev (vm->console), err);
      if (r < 0)
        return r;
    }

  if (cfg->rng)
    {
      vm->rng = ward_vm_rng_new (&vm->mem);
      r = add_virtio (vm, ward_vm_rng_dev (vm->rng), err);
      if (r < 0)
        return r;
    }
  if (cfg->vsock_path)
    {
      r = ward_vm_vsock_new (&vm->mem, cfg->vsock_cid ? cfg->vsock_cid : 3, cfg->vsock_path,
                             &vm->vsock, err);
      if (r < 0)
        return r;
      r = add_virtio (vm, ward_vm_vsock_dev (vm->vsock), err);
      if (r < 0)
        return r;
    }

  /* a zeroed config asks for neither (see vm.h): fs needs its tag, net a
   * TAP fd above 0 */
  if (cfg->fs_tag != NULL && cfg->fs_root_fd >= 0)
    {
      /* every inode the guest caches is an O_PATH fd here: the soft
       * RLIMIT_NOFILE (often 1024) would cap the guest's file count */
      struct rlimit nofile;
      if (getrlimit (RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max)
        {
          nofile.rlim_cur = nofile.rlim_max;
          (void) setrlimit (RLIMIT_NOFILE, &nofile);
        }
      r = ward_vm_fs_new (&vm->mem, cfg->fs_root_fd, cfg->fs_tag, cfg->fs_readonly, &vm->fs, err);
      if (r < 0)
        return r;
      r = add_virtio (vm, ward_vm_fs_dev (vm->fs), err);
      if (r < 0)
        return r;
    }
  if (cfg->net_tap_fd > 0)
    {
      r = ward_vm_net_new (&vm->mem, cfg->net_tap_fd, cfg->net_mac, &vm->net, err);
      if (r < 0)
        return r;
      r = add_virtio (vm, ward_vm_net_dev (vm->net), err);
      if (r < 0)
        return r;
    }

  _cleanup_close_ int kfd = open (cfg->kernel_path, O_RDONLY | O_CLOEXEC);
  if (kfd < 0)
    return ward_error_set (err, errno, "open kernel '%s'", cfg->kernel_path);
  uint64_t kernel_end = 0;
  r = ward_vm_load_pvh_kernel (&vm->mem, kfd, &vm->entry, &kernel_end, err);
  if (r < 0)
    return ward_error_wrap (err, "load '%s'", cfg->kernel_path);
  uint64_t initrd_gpa = 0, initrd_size = 0;
  if (cfg->initrd_path)
    {
      r = load_initrd (vm, cfg->initrd_path, kernel_end, &initrd_gpa, &initrd_size, err);
      if (r < 0)
        return r;
    }
  vm->cmdline = build_cmdline (vm, cfg);
  r = ward_vm_write_start_info (&vm->mem, vm->cmdline, initrd_gpa, initrd_size, &vm->start_info,
                                err);
  if (r < 0)
    return r;
  r = ward_vm_write_mptable (&vm->mem, vm->n_vcpus, err);
  if (r < 0)
    return r;

  _cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;
  r = ward_vm_cpu_get_cpuid (vm->kvm_fd, &cpuid, err);
  if (r < 0)
    return r;
  for (unsigned i = 0; i < vm->n_vcpus; i++)
    {
      r = create_vcpu (vm, i, cpuid, err);
      if (r < 0)
        return r;
    }
  ward_debug ("vm: %u vCPUs, %llu MiB, entry 0x%llx, cmdline '%s'", vm->n_vcpus,
              (unsigned long long) (ward_vm_mem_size (&vm->mem) >> 20),
              (unsigned long long) vm->entry, vm->cmdline);
  return 0;
}

int
ward_vm_create (const struct ward_vm_config *cfg, ward_vm_t **out, ward_error_t **err)
{
  unsigned vcpus = cfg->vcpus ? cfg->vcpus : 1;
  if (vcpus > MAX_VCPUS)
    return ward_error_set (err, EINVAL, "%u vCPUs: at most %d", vcpus, MAX_VCPUS);
  if (cfg->kernel_path == NULL)
    return ward_error_set (err, EINVAL, "no guest kernel given");
  ward_vm_t *vm = xzalloc (sizeof *vm);
  vm->kvm_fd = vm->vm_fd = -1;
  for (unsigned i = 0; i < MAX_VCPUS; i++)
    vm->vcpus[i].fd = -1;
  vm->n_vcpus = vcpus;
  pthread_mutex_init (&vm->lock, NULL);
  pthread_cond_init (&vm->cond, NULL);
  int r = vm_setup (vm, cfg, err);
  if (r < 0)
    {
      ward_vm_destroy (&vm);
      return r;
    }
  *out = vm;
  return 0;
}

int
ward_vm_run (ward_vm_t *vm, enum ward_vm_exit_reason *reason, ward_error_t **err)
{
  struct sigaction sa = { .sa_handler = kick_handler };
  sigemptyset (&sa.sa_mask);
  /* no SA_RESTART: the kick must make KVM_RUN return EINTR */
  if (sigaction (KICK_SIGNAL, &sa, NULL) < 0)
    return ward_error_set (err, errno, "sigaction");

  int r = 0;
  for (unsigned i = 0; i < vm->n_vcpus; i++)
    {
      int e = pthread_create (&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
      if (e != 0)
        {
          r = ward_error_set (err, e, "start vCPU %u thread", i);
          finish (vm, WARD_VM_EXIT_ERROR, e);
          break;
        }
      vm->vcpus[i].started = true;
    }

  pthread_mutex_lock (&vm->lock);
  while (!atomic_load (&vm->done))
    pthread_cond_wait (&vm->cond, &vm->lock);
  pthread_mutex_unlock (&vm->lock);

  for (unsigned i = 0; i < vm->n_vcpus; i++)
    if (vm->vcpus[i].started)
      {
        /* immediate_exit first: a kick that lands before KVM_RUN is entered
         * would otherwise be lost */
        vm->vcpus[i].run->immediate_exit = 1;
        pthread_kill (vm->vcpus[i].thread, KICK_SIGNAL);
      }
  for (unsigned i = 0; i < vm->n_vcpus; i++)
    if (vm->vcpus[i].started)
      {
        pthread_join (vm->vcpus[i].thread, NULL);
        vm->vcpus[i].started = false;
      }
  if (r < 0)
    return r;
  *reason = vm->reason;
  if (vm->reason == WARD_VM_EXIT_ERROR)
    return ward_error_set (err, vm->error ? vm->error : EIO, "%s",
                           vm->detail[0] ? vm->detail : "vCPU failed");
  return 0;
}

void
ward_vm_destroy (ward_vm_t **vmp)
{
  ward_vm_t *vm = *vmp;
  if (vm == NULL)
    return;
  *vmp = NULL;
  for (unsigned i = 0; i < MAX_VCPUS; i++)
    {
      if (vm->vcpus[i].run)
        munmap (vm->vcpus[i].run, vm->run_size);
      if (vm->vcpus[i].fd >= 0)
        close (vm->vcpus[i].fd);
    }
  if (vm->console)
    ward_vm_console_free (vm->console);
  if (vm->vsock)
    ward_vm_vsock_free (vm->vsock);
  if (vm->rng)
    ward_vm_rng_free (vm->rng);
  if (vm->fs)
    ward_vm_fs_free (vm->fs);
  if (vm->net)
    ward_vm_net_free (vm->net);
  if (vm->vm_fd >= 0)
    close (vm->vm_fd);
  if (vm->kvm_fd >= 0)
    close (vm->kvm_fd);
  ward_vm_mem_free (&vm->mem);
  ward_vm_serial_destroy (&vm->serial);
  pthread_mutex_destroy (&vm->lock);
  pthread_cond_destroy (&vm->cond);
  free (vm->cmdline);
  free (vm);
}
