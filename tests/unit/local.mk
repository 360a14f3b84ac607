# Unit tests: TAP C programs, one per module; exit 77 skips.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TESTS += $(unit_tests)
check_PROGRAMS += $(unit_tests)
unit_tests += tests/unit/test-common
tests_unit_test_common_SOURCES = tests/unit/test-common.c tests/unit/tap.h
tests_unit_test_common_LDADD = $(WARD_LIBS)
