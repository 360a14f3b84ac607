# Unit tests: TAP C programs (tests/unit/tap.h), one per module, each
# registered by its module's local.mk; exit 77 skips.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
TESTS += tests/unit/test-common
check_PROGRAMS += tests/unit/test-common
tests_unit_test_common_SOURCES = tests/unit/test-common.c tests/unit/tap.h
tests_unit_test_common_LDADD = $(WARD_LIBS)
