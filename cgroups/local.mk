# cgroups: one manager interface, v1/hybrid and v2 back ends.
libward_a_SOURCES += \
	cgroups/cgroups.h cgroups/internal.h \
	cgroups/manager.c \
	cgroups/v1.c \
	cgroups/v2.c \
	cgroups/sub.c \
	cgroups/stats.c \
	cgroups/systemd.c \
	cgroups/devices_ebpf.c

# Unit test (TAP, tests/unit/tap.h).
TESTS += tests/unit/test-cgroups
check_PROGRAMS += tests/unit/test-cgroups
tests_unit_test_cgroups_SOURCES = tests/unit/test-cgroups.c tests/unit/tap.h
tests_unit_test_cgroups_LDADD = $(WARD_LIBS)
