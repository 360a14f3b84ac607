# namespaces: clone flags, setns, id maps, rootfs, /dev, pivot_root, sysctl
libward_a_SOURCES += \
	namespaces/namespaces.h namespaces/internal.h \
	namespaces/ns.c \
	namespaces/sysctl.c \
	namespaces/mount_options.c \
	namespaces/mountinfo.c \
	namespaces/resolve.c \
	namespaces/rootfs.c \
	namespaces/devices.c \
	namespaces/cgroup_mount.c \
	namespaces/idmap.c \
	namespaces/copyup.c

# Unit test (TAP, tests/unit/tap.h).
check_PROGRAMS += tests/unit/test-namespaces
TESTS += tests/unit/test-namespaces
tests_unit_test_namespaces_SOURCES = tests/unit/test-namespaces.c tests/unit/tap.h
tests_unit_test_namespaces_LDADD = $(WARD_LIBS)
