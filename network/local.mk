# network/: rtnetlink parts go to libward.a (ward-vm needs TAP devices); nftables, IPAM, CNI to libward-net.a
