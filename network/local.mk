# network/: rtnetlink parts go to libward.a (ward-vm needs TAP devices); nftables, IPAM, CNI to libward-net.a
libward_a_SOURCES += \
	network/network.h network/internal.h \
	network/netlink.c \
	network/link.c \
	network/addr.c
libward_net_a_SOURCES += \
	network/netdef.c \
	network/ipam.c \
	network/portmap.c \
	network/dnsfiles.c \
	network/attach.c \
	network/cni.c

# Unit test (TAP, tests/unit/tap.h).
TESTS += tests/unit/test-network
check_PROGRAMS += tests/unit/test-network
tests_unit_test_network_SOURCES = tests/unit/test-network.c tests/unit/tap.h
tests_unit_test_network_LDADD = $(WARD_NET_LIBS) $(WARD_LIBS)
