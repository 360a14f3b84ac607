# ward-vm: the VMM, virtio devices and guest kernel build.
# A library of its own: ward-runtime does not link the VMM.
noinst_LIBRARIES += libward-vm.a
libward_vm_a_SOURCES = \
	runtime/vm/vm.h runtime/vm/cpu.h runtime/vm/devices.h \
	runtime/vm/memory.c \
	runtime/vm/boot.c \
	runtime/vm/cpu.c \
	runtime/vm/serial.c \
	runtime/vm/virtq.c \
	runtime/vm/virtio_mmio.c \
	runtime/vm/virtio_console.c \
	runtime/vm/virtio_vsock.c \
	runtime/vm/virtio_rng.c \
	runtime/vm/fuse.h runtime/vm/fuse_server.c \
	runtime/vm/virtio_fs.c \
	runtime/vm/virtio_net.c \
	runtime/vm/resources.c \
	runtime/vm/vmm.c
WARD_VM_LIBS = libward-vm.a $(WARD_LIBS) -lpthread

noinst_PROGRAMS += runtime/vm/ward-vm-boot-test
runtime_vm_ward_vm_boot_test_SOURCES = runtime/vm/boot-test.c
runtime_vm_ward_vm_boot_test_LDADD = $(WARD_VM_LIBS)

EXTRA_DIST += runtime/vm/kernel/guest.config runtime/vm/kernel/build.sh \
	runtime/vm/test-init.c runtime/vm/boot-test.sh runtime/vm/run-fuzz-vm.sh \
	runtime/vm/README.md tests/fuzz/fuzz-virtq.c tests/fuzz/fuzz-fuse.c

# Unit tests (TAP, tests/unit/tap.h).
check_PROGRAMS += tests/unit/test-vm-virtq
TESTS += tests/unit/test-vm-virtq
tests_unit_test_vm_virtq_SOURCES = tests/unit/test-vm-virtq.c tests/unit/tap.h tests/unit/vm-test-helpers.h
tests_unit_test_vm_virtq_LDADD = $(WARD_VM_LIBS)

check_PROGRAMS += tests/unit/test-vm-boot
TESTS += tests/unit/test-vm-boot
tests_unit_test_vm_boot_SOURCES = tests/unit/test-vm-boot.c tests/unit/tap.h
tests_unit_test_vm_boot_LDADD = $(WARD_VM_LIBS)

check_PROGRAMS += tests/unit/test-vm-vsock
TESTS += tests/unit/test-vm-vsock
tests_unit_test_vm_vsock_SOURCES = tests/unit/test-vm-vsock.c tests/unit/tap.h tests/unit/vm-test-helpers.h
tests_unit_test_vm_vsock_LDADD = $(WARD_VM_LIBS)

check_PROGRAMS += tests/unit/test-vm-fuse
TESTS += tests/unit/test-vm-fuse
tests_unit_test_vm_fuse_SOURCES = tests/unit/test-vm-fuse.c tests/unit/tap.h
tests_unit_test_vm_fuse_LDADD = $(WARD_VM_LIBS)

check_PROGRAMS += tests/unit/test-vm-net
TESTS += tests/unit/test-vm-net
tests_unit_test_vm_net_SOURCES = tests/unit/test-vm-net.c tests/unit/tap.h tests/unit/vm-test-helpers.h
tests_unit_test_vm_net_LDADD = $(WARD_VM_LIBS)

# /dev/kvm end to end with a 28-byte guest (skips without a usable KVM)
check_PROGRAMS += tests/unit/test-vm-kvm
TESTS += tests/unit/test-vm-kvm
tests_unit_test_vm_kvm_SOURCES = tests/unit/test-vm-kvm.c tests/unit/tap.h
tests_unit_test_vm_kvm_LDADD = $(WARD_VM_LIBS)

# The guest kernel is not part of `make all` (minutes of build, cached by
# hash in /var/cache/ward/kernel): `make vm-kernel` installs it.
vm-kernel:
	$(top_srcdir)/runtime/vm/kernel/build.sh --prefix "$(DESTDIR)$(pkglibexecdir)"
# Boots it in the QEMU test-bed with a marker /init and prints the boot time.
vm-boot-test: runtime/vm/ward-vm-boot-test
	$(top_srcdir)/runtime/vm/boot-test.sh runtime/vm/ward-vm-boot-test --quiet --cmdline quiet
.PHONY: vm-kernel vm-boot-test

# ---- ward-vm front end, host <-> agent protocol, guest agent (vmagent) ----
libward_vm_a_SOURCES += runtime/vm/protocol.h runtime/vm/protocol.c \
	runtime/vm/frontend.h runtime/vm/frontend.c runtime/vm/frontend_initramfs.c

# The guest agent: static PID 1 of every guest, packed alone into the
# initramfs at VM start.  It links libward.a (the container code it runs
# in the guest) statically: Debian ships libjson-c.a, libseccomp.a and
# libcap.a; libward.a needs no libmnl (the network code is libward-net.a).
# Not in sanitizer builds: a static binary cannot link ASan.
if !SANITIZERS
wardvmagentdir = $(pkglibexecdir)
wardvmagent_PROGRAMS = runtime/vm/agent/ward-vm-agent
runtime_vm_agent_ward_vm_agent_SOURCES = runtime/vm/agent/agent.c \
	runtime/vm/protocol.c runtime/vm/protocol.h
runtime_vm_agent_ward_vm_agent_LDADD = libward.a $(JSON_C_LIBS) $(SECCOMP_LIBS) $(CAP_LIBS)
runtime_vm_agent_ward_vm_agent_LDFLAGS = -static -s
endif

check_PROGRAMS += tests/unit/test-vm-agent
TESTS += tests/unit/test-vm-agent
tests_unit_test_vm_agent_SOURCES = tests/unit/test-vm-agent.c tests/unit/tap.h
tests_unit_test_vm_agent_LDADD = $(WARD_VM_LIBS)
