# ward-runtime (and ward-vm: the same program; argv[0] selects VM mode)
bin_PROGRAMS += ward-runtime
ward_runtime_SOURCES = cli/oci/main.c cli/oci/options.c cli/oci/options.h
ward_runtime_LDADD = $(WARD_LIBS)

# ward-vm is built in the tree too so tests can run it uninstalled.
noinst_PROGRAMS += ward-vm
ward_vm_SOURCES = $(ward_runtime_SOURCES)
ward_vm_LDADD = $(WARD_LIBS)

install-exec-hook: install-ward-vm
install-ward-vm:
	cd $(DESTDIR)$(bindir) && rm -f ward-vm && ln ward-runtime ward-vm
uninstall-hook: uninstall-ward-vm
uninstall-ward-vm:
	rm -f $(DESTDIR)$(bindir)/ward-vm
.PHONY: install-ward-vm uninstall-ward-vm

# The flag parser alone (no libward logic needed beyond xasprintf).
check_PROGRAMS += tests/unit/test-oci-options
TESTS += tests/unit/test-oci-options
tests_unit_test_oci_options_SOURCES = tests/unit/test-oci-options.c tests/unit/tap.h cli/oci/options.c cli/oci/options.h
tests_unit_test_oci_options_LDADD = $(WARD_LIBS)
