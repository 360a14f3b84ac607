/* vCPU setup helpers shared by vmm.c (internal to runtime/vm). */
#ifndef WARD_RUNTIME_VM_CPU_H
#define WARD_RUNTIME_VM_CPU_H

#include <linux/kvm.h>

#include "runtime/vm/vm.h"

int ward_vm_cpu_get_cpuid (int kvm_fd, struct kvm_cpuid2 **out, ward_error_t **err);
int ward_vm_cpu_set_cpuid (int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id,
                           unsigned n_vcpus, ward_error_t **err);
int ward_vm_cpu_setup_pvh (int vcpu_fd, struct ward_vm_mem *mem, uint64_t entry,
                           uint64_t start_info, ward_error_t **err);
int ward_vm_cpu_setup_lapic (int vcpu_fd, ward_error_t **err);

#endif
