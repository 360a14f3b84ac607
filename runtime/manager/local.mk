# runtime/manager: the daemonless container manager behind `ward`
# (records, monitor, logs) and the docker-style config builder in specs/.
# It uses image/ (snapshots, the default image), so it lives in
# libward-image.a, which only `ward` links.
libward_image_a_SOURCES += \
	runtime/manager/manager.h \
	runtime/manager/record.c \
	runtime/manager/container.c \
	runtime/manager/monitor.c \
	runtime/manager/logs.c \
	runtime/manager/copy.c \
	runtime/manager/volume.c
libward_a_SOURCES += specs/container_spec.c
# networking glue (net): needs libward-net.a in every program linking the manager
libward_image_a_SOURCES += runtime/manager/network.c

# Where `ward` finds seccomp-default.json: installed, else the source tree.
AM_CPPFLAGS += -DWARD_PKGDATADIR='"$(pkgdatadir)"' -DWARD_SRCDIR='"$(abs_top_srcdir)"'
dist_pkgdata_DATA = specs/seccomp-default.json

# Unit test (TAP, tests/unit/tap.h).
check_PROGRAMS += tests/unit/test-manager
TESTS += tests/unit/test-manager
tests_unit_test_manager_SOURCES = tests/unit/test-manager.c tests/unit/tap.h \
	cli/docker/flags.c cli/docker/flags.h cli/docker/template.c cli/docker/template.h
tests_unit_test_manager_LDADD = $(WARD_IMAGE_LIBS) $(WARD_NET_LIBS) $(WARD_LIBS) -lpthread
