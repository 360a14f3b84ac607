#!/usr/bin/env bats
# `ward` networking (issue #10): the default bridge, user networks, port
# publishing (TCP, UDP, 127.0.0.1, the bridge address, container to
# container), /etc/hosts names, isolation, `ward network ...`, CNI, and
# teardown/crash reconciliation.
#
# Every ward command runs inside a network namespace this file creates
# (nsenter --net, so the mount namespace stays the host's and the netns
# bind mounts under the private --root are seen by every command): links,
# nft tables and traffic never touch the host's network.

load helpers
load ward-helpers
bats_require_minimum_version 1.5.0

# in_ns CMD...: CMD inside the test netns.
in_ns() {
  nsenter --net="/run/netns/$NETNS" "$@"
}

# w ARG...: ward in the test netns with this file's private root.
w() {
  in_ns timeout 60 "$WARD_BIN" --root "$R" "$@"
}

# http URL: a plain HTTP GET from the host side of the netns (busybox
# wget; its -T option crashes busybox 1.35, timeout(1) bounds it instead).
http() {
  in_ns timeout 10 "$BUSYBOX" wget -q -O- "$1"
}

setup_file() {
  [[ $EUID == 0 ]] || skip "needs root (running as uid $EUID)"
  command -v nsenter >/dev/null && command -v ip >/dev/null \
    || skip "needs nsenter (util-linux) and ip (iproute2)"
  export NETNS="ward-bats-$$"
  ip netns add "$NETNS"
  in_ns ip link set lo up
  export R="$BATS_FILE_TMPDIR/root"
  mkdir -p "$R"
}

teardown_file() {
  if [[ -n ${NETNS:-} ]]; then
    # whatever a failed test left running goes with the netns
    w rm -f $(w ps -aq 2>/dev/null) >/dev/null 2>&1 || true
    ip netns del "$NETNS" 2>/dev/null || true
  fi
}

teardown() {
  w rm -f $(w ps -aq 2>/dev/null) >/dev/null 2>&1 || true
}

# state: what a container could leave behind in the netns and the root.
# A container's host-side veth goes with its netns, which the kernel tears
# down asynchronously after the last process exits: compare the state once
# that has settled (within 10 s), and show the difference when it does not.
state_is() {
  local i now
  for i in $(seq 50); do
    now=$(state)
    [[ $now == "$1" ]] && return 0
    sleep 0.2
  done
  diff <(echo "$1") <(echo "$now") >&2
  return 1
}

# The state with no dying veth of an exited container left in it.
settled_state() {
  local i
  for i in $(seq 50); do
    in_ns ip -br link | grep -q '^wv' || break
    sleep 0.2
  done
  state
}

state() {
  in_ns ip -br link | awk '{print $1}' | sort
  in_ns nft list ruleset 2>/dev/null | grep -E 'comment|chain|table' || true
  for f in "$R"/networks/*/ipam.json; do
    [[ -e $f ]] && jq -c .allocations "$f"
  done
  ls "$R"/networks/*/containers/ 2>/dev/null || true
  ls "$R"/netns 2>/dev/null || true
  grep -c "$R/netns" /proc/self/mountinfo || true
}

@test "network: default bridge gives eth0, a default route, hosts and resolv.conf" {
  run -0 w run --rm --hostname box1 busybox sh -c 'ip -4 -o addr show eth0; ip route; cat /etc/hosts /etc/hostname /etc/resolv.conf'
  assert_output --regexp 'eth0 +inet 172\.[0-9]+\.[0-9]+\.[0-9]+/16'
  assert_output --partial 'default via 172.'
  assert_line --regexp '^172\.[0-9.]+[[:space:]]+box1'
  assert_line 'box1'
  assert_output --partial 'localhost'
  run -0 w network inspect ward
  assert_output --partial '"com.docker.network.bridge.name": "ward0"'
  run -0 in_ns ip -br link show ward0
}

@test "network: -p 127.0.0.1:18080:80 busybox httpd answers on 127.0.0.1 and on the bridge address" {
  run -0 w run -d --name web -p 127.0.0.1:18080:80 -p 18081:80 busybox \
    sh -c 'mkdir /www && echo hello-from-ward > /www/index.html && exec httpd -f -p 80 -h /www'
  local gw tries=50 out=
  gw=$(w network inspect -f '{{(index .IPAM.Config 0).Gateway}}' ward)
  [[ $gw == 172.* ]]
  while ((tries-- > 0)); do
    out=$(http http://127.0.0.1:18080/ 2>/dev/null) && break
    sleep 0.1
  done
  [[ $out == hello-from-ward ]]
  run -0 http "http://$gw:18081/"
  assert_output hello-from-ward
  run -0 http "http://127.0.0.1:18081/"
  assert_output hello-from-ward
  # only 127.0.0.1 was asked for 18080
  run ! http "http://$gw:18080/"
  run -0 w port web
  assert_line '80/tcp -> 127.0.0.1:18080'
  assert_line '80/tcp -> 0.0.0.0:18081'
  run -0 w port web 80/tcp
  assert_line '127.0.0.1:18080'
  run -0 w ps --format '{{.Ports}}'
  assert_output '127.0.0.1:18080->80/tcp, 0.0.0.0:18081->80/tcp'
  run -0 w inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.Networks.ward.IPAddress}}' web
  assert_output --regexp "^172\.[0-9.]+ $gw 172\.[0-9.]+$"
  run -0 w inspect -f '{{json .NetworkSettings.Ports}}' web
  assert_output '{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"18080"},{"HostIp":"0.0.0.0","HostPort":"18081"}]}'
  # another container reaches the published port through the host, and the
  # container directly by its address
  local ip
  ip=$(w inspect -f '{{.NetworkSettings.IPAddress}}' web)
  run -0 w run --rm busybox wget -q -O- "http://$gw:18081/"
  assert_output hello-from-ward
  run -0 w run --rm busybox wget -q -O- "http://$ip/"
  assert_output hello-from-ward
}

@test "network: a published port in use by another container is refused, nothing left" {
  w run -d --name p1 -p 18085:80 busybox httpd -f -p 80
  local before
  before=$(settled_state)
  run w run -d --name p2 -p 18085:80 busybox httpd -f -p 80
  [[ $status -ne 0 ]]
  assert_output --partial '18085'
  w rm -f p2
  state_is "$before"
}

@test "network: UDP publishing (-p HOST:CTR/udp)" {
  requires python3
  # busybox nc has no -u: the host's python3 serves UDP inside the container
  run -0 w run -d --name udp -p 127.0.0.1:15353:5353/udp -v /:/host:ro busybox chroot /host python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(100)
    s.sendto(b"echo:" + d, a)'
  run -0 in_ns python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
for i in range(30):
    s.sendto(b"ping", ("127.0.0.1", 15353))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass'
  assert_output 'echo:ping'
  run -0 w port udp
  assert_output '5353/udp -> 127.0.0.1:15353'
}

@test "network: containers on a user network reach each other by IP and by name" {
  run -0 w network create appnet
  [[ $output =~ ^[0-9a-f]{64}$ ]]
  w run -d --name srv --network appnet busybox sleep 60
  local ip
  ip=$(w inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' srv)
  [[ -n $ip ]]
  run -0 w run --rm --name cli --network appnet busybox sh -c "ping -c1 -W2 $ip >/dev/null && ping -c1 -W2 srv >/dev/null && echo ok; grep -w srv /etc/hosts"
  assert_line ok
  assert_line --regexp "^$ip[[:space:]]+srv$"
  # a peer that starts later shows up in the first one's /etc/hosts
  w run -d --name late --network appnet busybox sleep 60
  run -0 w exec srv cat /etc/hosts
  assert_line --regexp '[[:space:]]late$'
  w rm -f late
  run -0 w exec srv cat /etc/hosts
  refute_line --regexp '[[:space:]]late$'
  w rm -f srv
  w network rm appnet
}

@test "network: two user networks are isolated from each other" {
  w network create --subnet 10.201.0.0/24 neta
  w network create --subnet 10.202.0.0/24 --gateway 10.202.0.254 netb
  w run -d --name b1 --network netb busybox sleep 60
  local ipb
  ipb=$(w inspect -f '{{.NetworkSettings.IPAddress}}' b1)
  [[ $ipb == 10.202.0.* ]]
  run -0 w inspect -f '{{.NetworkSettings.Gateway}}' b1
  assert_output 10.202.0.254
  run -0 w run --rm --network netb busybox ping -c1 -W2 "$ipb"
  run ! w run --rm --network neta busybox ping -c1 -W1 "$ipb"
  w rm -f b1
  w network rm neta netb
}

@test "network: an IPv6 subnet (network create --ipv6 --subnet v4 --subnet v6)" {
  [[ -e /proc/sys/net/ipv6 ]] || skip "kernel without IPv6"
  w network create --ipv6 --subnet 10.208.0.0/24 --subnet fd00:208::/64 v6net
  run -0 w network inspect -f '{{json .}}' v6net
  assert_output --partial '"Subnet":"fd00:208::/64"'
  w run -d --name s6 --network v6net busybox sh -c 'mkdir /w && echo six > /w/index.html && exec httpd -f -p 80 -h /w'
  local ip6 tries=50 out=
  ip6=$(w inspect -f '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}' s6)
  [[ $ip6 == fd00:208::* ]]
  while ((tries-- > 0)); do
    out=$(http "http://[$ip6]/" 2>/dev/null) && break
    sleep 0.1
  done
  [[ $out == six ]]
  run -0 w run --rm --network v6net busybox ip -6 -o addr show eth0
  assert_output --partial 'inet6 fd00:208::'
  w rm -f s6
  w network rm v6net
}

@test "network: --ip, --dns, --dns-search, --dns-option, --add-host, --hostname" {
  w network create --subnet 10.203.0.0/24 fixed
  run -0 w run --rm --network fixed --ip 10.203.0.77 --hostname myhost --dns 10.1.2.3 \
    --dns-search example.test --dns-option ndots:2 --add-host db.test:10.9.9.9 busybox \
    sh -c 'ip -4 -o addr show eth0; cat /etc/resolv.conf /etc/hosts; hostname'
  assert_output --partial 'inet 10.203.0.77/24'
  assert_line 'nameserver 10.1.2.3'
  assert_line --regexp '^search example.test'
  assert_line --regexp '^options.*ndots:2'
  assert_line --regexp '^10\.9\.9\.9[[:space:]]+db\.test$'
  assert_line --regexp '^10\.203\.0\.77[[:space:]]+myhost'
  assert_line myhost
  # an address outside the subnet, and --ip on the default network, fail
  run -125 w run --rm --network fixed --ip 10.99.0.5 busybox true
  run -125 w run --rm --ip 172.30.9.9 busybox true
  assert_output --partial 'user defined networks'
  w network rm fixed
}

@test "network: -P publishes --expose'd ports on free host ports" {
  run -0 w run -d --name pa -P --expose 80 busybox \
    sh -c 'mkdir /www && echo exposed > /www/index.html && exec httpd -f -p 80 -h /www'
  local hp tries=50 out=
  hp=$(w port pa 80 | sed 's/.*://')
  [[ $hp =~ ^[0-9]+$ && $hp -gt 0 ]]
  while ((tries-- > 0)); do
    out=$(http "http://127.0.0.1:$hp/" 2>/dev/null) && break
    sleep 0.1
  done
  [[ $out == exposed ]]
}

@test "network: --network container:NAME shares the other container's netns" {
  w run -d --name base busybox sleep 60
  local ip
  ip=$(w inspect -f '{{.NetworkSettings.IPAddress}}' base)
  run -0 w run --rm --network container:base busybox ip -4 -o addr show eth0
  assert_output --partial "inet $ip/"
  run -125 w run --rm --network container:nosuch busybox true
}

@test "network: none and host modes, unknown networks and bad -p fail cleanly" {
  run -0 w run --rm --network none busybox ip -o link
  refute_output --partial eth0
  run -0 w run --rm --network host busybox ip -o link show ward0
  local before
  before=$(settled_state)
  run -125 w run --rm --network nosuch busybox true
  assert_output --partial 'network nosuch not found'
  run -125 w run --rm -p 99999:80 busybox true
  run -125 w run --rm -p 80/sctp busybox true
  run -0 w ps -aq
  assert_output ''
  state_is "$before"
}

@test "network: ward network create/ls/inspect/rm/prune and their errors" {
  run -0 w network create --subnet 10.204.0.0/24 n1
  run -1 w network create n1
  assert_output 'Error response from daemon: network with name n1 already exists'
  run -0 w network ls --format '{{.Name}} {{.Driver}}'
  assert_line 'n1 bridge'
  run -0 w network ls -q
  [[ ${#lines[@]} -ge 1 ]]
  run -0 w network inspect n1
  assert_output --partial '"Subnet": "10.204.0.0/24"'
  assert_output --partial '"Gateway": "10.204.0.1"'
  run -1 w network inspect nosuch
  assert_output --partial 'No such network: nosuch'
  w run -d --name inuse --network n1 busybox sleep 60
  run -0 w network inspect -f '{{json .Containers}}' n1
  assert_output --partial '"Name":"inuse"'
  run -1 w network rm n1
  assert_output --partial 'has active endpoints'
  w rm -f inuse
  run -0 w network rm n1
  assert_output n1
  run -1 w network rm n1
  assert_output 'Error: No such network: n1'
  run -1 w network rm bridge
  assert_output --partial 'pre-defined network'
  w network create n2
  run -0 w network prune -f
  assert_line -n 0 'Deleted Networks:'
  assert_line n2
  run -0 in_ns ip -br link
  refute_output --partial 'ward-n2'
}

@test "network: connect and disconnect a running container" {
  w network create --subnet 10.205.0.0/24 extra
  w run -d --name cc busybox sleep 60
  run -0 w network connect extra cc
  run -0 w exec cc ip -4 -o addr show eth1
  assert_output --partial 'inet 10.205.0.'
  run -0 w inspect -f '{{.NetworkSettings.Networks.extra.IPAddress}}' cc
  assert_output --regexp '^10\.205\.0\.[0-9]+$'
  run -1 w network connect extra cc
  run -0 w network disconnect extra cc
  run ! w exec cc ip -o link show eth1
  w rm -f cc
  w network rm extra
}

@test "network: --network cni:NAME runs the CNI plugins (ADD on start, DEL on exit)" {
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] \
    || skip "needs CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)"
  local conf="$BATS_TEST_TMPDIR/cni"
  mkdir -p "$conf"
  cat >"$conf/10-wardtest.conflist" <<EOF
{ "cniVersion": "1.0.0", "name": "wardtest",
  "plugins": [ { "type": "bridge", "bridge": "cni-wardt", "isGateway": true,
                 "ipam": { "type": "host-local", "ranges": [[{"subnet": "10.206.0.0/24"}]],
                           "dataDir": "$conf/ipam" } } ] }
EOF
  run -0 in_ns env WARD_CNI_CONF_DIR="$conf" timeout 60 "$WARD_BIN" --root "$R" run --rm --network cni:wardtest busybox ip -4 -o addr show eth0
  assert_output --partial 'inet 10.206.0.'
  # DEL ran: host-local holds no address any more
  run -0 find "$conf/ipam/wardtest" -name '10.206.*'
  assert_output ''
  run -125 in_ns env WARD_CNI_CONF_DIR="$conf" timeout 60 "$WARD_BIN" --root "$R" run --rm --network cni:nosuch busybox true
}

@test "network: teardown leaves no veth, nft rule, IPAM entry or netns mount" {
  # a first run sets up the bridge and the table, which stay (as docker0 does)
  w run --rm busybox true
  w network create --subnet 10.207.0.0/24 tnet
  w run --rm --network tnet busybox true
  local before
  before=$(settled_state)
  w run -d --name t1 -p 18090:80 -p 18091:81/udp busybox httpd -f -p 80
  w run -d --name t2 --network tnet -p 18092:80 busybox sleep 60
  run -0 in_ns nft list ruleset
  assert_output --partial 'dport 18090'
  [[ $(state) != "$before" ]]
  w rm -f t1 t2
  state_is "$before"
  # --rm and a plain exit release the network as well
  w run --rm -p 18093:80 busybox true
  w run --name t3 -p 18094:80 busybox true
  state_is "$before"
  run -0 w inspect -f '{{.NetworkSettings.IPAddress}}' t3
  assert_output ''
  # a stopped container gets its network back on start
  run -0 w start t3
  w rm -f t3
  state_is "$before"
  w network rm tnet
}

@test "network: after a crash (monitor and container killed) the next command reconciles" {
  w run --rm busybox true
  local before id mon pid
  before=$(settled_state)
  w run -d --name crash -p 18095:80 busybox httpd -f -p 80
  id=$(w inspect -f '{{.Id}}' crash)
  mon=$(jq .State.MonitorPid "$R/containers/$id/config.v2.json")
  pid=$(jq .State.Pid "$R/containers/$id/config.v2.json")
  [[ $mon -gt 0 && $pid -gt 0 ]]
  kill -9 "$mon" "$pid"
  sleep 0.2
  [[ $(state) != "$before" ]]
  run -0 w ps -a
  state_is "$before"
}
