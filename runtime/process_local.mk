# process setup, terminal and seccomp sources
libward_a_SOURCES += \
	runtime/process.c runtime/process.h \
	runtime/terminal.c \
	runtime/seccomp.c runtime/seccomp.h
EXTRA_DIST += specs/seccomp-default.json

# Unit tests (TAP, tests/unit/tap.h).
process_unit_tests = tests/unit/test-process tests/unit/test-seccomp
check_PROGRAMS += $(process_unit_tests)
TESTS += $(process_unit_tests)
tests_unit_test_process_SOURCES = tests/unit/test-process.c tests/unit/tap.h
tests_unit_test_process_LDADD = $(WARD_LIBS)
tests_unit_test_seccomp_SOURCES = tests/unit/test-seccomp.c tests/unit/tap.h
tests_unit_test_seccomp_LDADD = $(WARD_LIBS)
tests_unit_test_seccomp_CPPFLAGS = $(AM_CPPFLAGS) -DWARD_SRCDIR='"$(abs_top_srcdir)"'
