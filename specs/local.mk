# specs: OCI runtime-spec 1.2 and image-spec 1.1 models (json-c only).
libward_a_SOURCES += \
	specs/specs.h \
	specs/json_read.c specs/json_read.h \
	specs/names.c \
	specs/config.c \
	specs/config_process.c \
	specs/config_linux.c \
	specs/config_resources.c \
	specs/config_seccomp.c \
	specs/resources_json.c \
	specs/config_json.c \
	specs/image_spec.c \
	specs/default_spec.c \
	specs/state.c \
	specs/features.c

# Unit test (TAP, tests/unit/tap.h).
TESTS += tests/unit/test-specs
check_PROGRAMS += tests/unit/test-specs
tests_unit_test_specs_SOURCES = tests/unit/test-specs.c tests/unit/tap.h
tests_unit_test_specs_LDADD = $(WARD_LIBS)

EXTRA_DIST += tests/fuzz/fuzz-config.c tests/fuzz/run-fuzz.sh tests/fuzz/config.dict tests/fuzz/README.md
tests_unit_test_specs_CPPFLAGS = $(AM_CPPFLAGS) -DWARD_TOP_SRCDIR='"$(abs_top_srcdir)"'
EXTRA_DIST += tests/fuzz/corpus/config
