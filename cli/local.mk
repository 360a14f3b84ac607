# ward-runtime (argv[0] ward-vm, or the annotation run.oci.handler=vm, hands over to ward-vm)
bin_PROGRAMS += ward-runtime
ward_runtime_SOURCES = cli/oci/main.c cli/oci/options.c cli/oci/options.h
ward_runtime_LDADD = $(WARD_LIBS)

# ward-vm: the same command line, built with the VM front end
# (runtime/vm/frontend.c) and the VMM; ward-runtime itself never links
# libward-vm.a, so its startup stays free of VMM code.
bin_PROGRAMS += ward-vm
ward_vm_SOURCES = $(ward_runtime_SOURCES)
ward_vm_CPPFLAGS = $(AM_CPPFLAGS) -DWARD_VM_FRONTEND
ward_vm_LDADD = $(WARD_VM_LIBS)

# The flag parser alone (no libward logic needed beyond xasprintf).
check_PROGRAMS += tests/unit/test-oci-options
TESTS += tests/unit/test-oci-options
tests_unit_test_oci_options_SOURCES = tests/unit/test-oci-options.c tests/unit/tap.h cli/oci/options.c cli/oci/options.h
tests_unit_test_oci_options_LDADD = $(WARD_LIBS)
