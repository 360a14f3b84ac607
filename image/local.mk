# image/: content store, references, registry client, layer unpack,
# snapshots, load/save and the default image.  A library of its own
# (libward-image.a) so that only the `ward` front end links libarchive/libcurl.
libward_image_a_SOURCES += \
	image/image.h image/internal.h \
	image/reference.c \
	image/store.c \
	image/unpack.c \
	image/build.c \
	image/config.c \
	image/default_image.c \
	image/snapshot.c \
	image/archive.c \
	image/registry_internal.h \
	image/auth.c \
	image/registry.c \
	image/curl_dl.c \
	image/gc.c \
	image/user.c

# The unit test links the image library on top of libward.
check_PROGRAMS += tests/unit/test-image
TESTS += tests/unit/test-image
tests_unit_test_image_SOURCES = tests/unit/test-image.c tests/unit/tap.h
tests_unit_test_image_LDADD = $(WARD_IMAGE_LIBS) $(WARD_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-unpack.c tests/fuzz/corpus/unpack

# ward-init: the PID 1 of `ward run --init` (docker's docker-init), bind-
# mounted read-only at /dev/init.  Static, without the sanitizer flags (a
# static binary cannot link ASan), installed as $(pkglibexecdir)/ward-init.
pkglibexec_PROGRAMS = image/init/ward-init
image_init_ward_init_SOURCES = image/init/ward-init.c
image_init_ward_init_CFLAGS = -Wall -Wextra -O2 $(filter -Werror,$(WARD_CFLAGS))
image_init_ward_init_LDFLAGS = -static -s
# Where `ward` looks for it: installed, else this build tree.
AM_CPPFLAGS += -DWARD_PKGLIBEXECDIR='"$(pkglibexecdir)"' -DWARD_BUILDDIR='"$(abs_top_builddir)"'
