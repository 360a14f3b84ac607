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
	image/gc.c \
	image/user.c

# The unit test links the image library on top of libward.
check_PROGRAMS += tests/unit/test-image
TESTS += tests/unit/test-image
tests_unit_test_image_SOURCES = tests/unit/test-image.c tests/unit/tap.h
tests_unit_test_image_LDADD = $(WARD_IMAGE_LIBS) $(WARD_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-unpack.c tests/fuzz/corpus/unpack

# `make fuzz-unpack [FUZZ_SECONDS=60]`: libFuzzer + ASan/UBSan build of the
# layer unpacker, fuzzed from the seed tars; a crash, leak or write outside
# the target leaves its reproducer in fuzz-unpack.work/artifacts.
FUZZ_CC = clang
FUZZ_SECONDS = 60
fuzz-unpack:
	@mkdir -p fuzz-unpack.work/corpus fuzz-unpack.work/artifacts
	$(FUZZ_CC) -g -O1 -D_GNU_SOURCE -I$(top_builddir) -I$(top_srcdir) \
	  $(JSON_C_CFLAGS) $(ARCHIVE_CFLAGS) $(CURL_CFLAGS) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	  -o fuzz-unpack.work/fuzz-unpack $(top_srcdir)/tests/fuzz/fuzz-unpack.c \
	  $(filter %.c,$(libward_image_a_SOURCES:%=$(top_srcdir)/%)) \
	  $(top_srcdir)/common/*.c $(top_srcdir)/specs/*.c \
	  $(JSON_C_LIBS) $(ARCHIVE_LIBS) $(CURL_LIBS)
	fuzz-unpack.work/fuzz-unpack -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=fuzz-unpack.work/artifacts/ \
	  fuzz-unpack.work/corpus $(top_srcdir)/tests/fuzz/corpus/unpack
.PHONY: fuzz-unpack
