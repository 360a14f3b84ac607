# Shared helpers for the client suite (tests/clients/*.bats): real clients
# (containerd's CRI plugin, dockerd, podman) started privately with ward as
# their runtime.
#
# Each file gets, in setup_file:
#   CL_TMP   a short temp dir (unix socket paths must stay < 108 bytes)
#   CL_NS    a network namespace made here; every daemon, registry and
#            pod network lives in it, so no traffic leaves the host
#   CL_BIN   recording wrappers `ward` and `ward-vm` around the built
#            runtimes: each call is appended to $CL_TMP/calls, and the
#            runtime runs with --debug so its own log names the verb
# and teardown_file stops what it started and removes all of it.
#
# WARD_BUILDDIR  the built tree (default: the source dir); its ward-runtime,
#                ward-vm, ward and image/pause/pause.tar are used.

CLIENTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
load "$CLIENTS_DIR/../integration/helpers.bash"
load "$CLIENTS_DIR/configs.bash"

WARD_RUNTIME_BIN=$WARD_BUILDDIR/ward-runtime
[[ -x $WARD_RUNTIME_BIN ]] || WARD_RUNTIME_BIN=$(command -v ward-runtime || echo "$WARD_RUNTIME_BIN")
WARD_VM_BIN=$WARD_BUILDDIR/ward-vm
[[ -x $WARD_VM_BIN ]] || WARD_VM_BIN=$(command -v ward-vm || echo "$WARD_VM_BIN")
WARD_CLI_BIN=$WARD_BUILDDIR/ward
[[ -x $WARD_CLI_BIN ]] || WARD_CLI_BIN=$(command -v ward || echo "$WARD_CLI_BIN")
# Debian's python3 (python3-grpcio, python3-protobuf), not a user's pyenv.
CL_PYTHON=/usr/bin/python3
# Debian's docker CLI, whatever else is first on PATH.
CL_DOCKER_CLI=/usr/bin/docker

# --------------------------------------------------------------- basics

# cl_requires WHAT...: skip with the reason when a client or tool is missing.
cl_requires() {
  local w
  for w in "$@"; do
    case $w in
      containerd) command -v containerd >/dev/null && command -v containerd-shim-runc-v2 >/dev/null \
                    || skip "needs containerd 1.6 (apt-get install containerd)" ;;
      dockerd) [[ -x /usr/sbin/dockerd && -x $CL_DOCKER_CLI ]] || skip "needs dockerd 20.10 (apt-get install docker.io)" ;;
      podman) command -v podman >/dev/null || skip "needs podman (apt-get install podman)" ;;
      cni) [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] \
             || skip "needs the CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)" ;;
      grpc) "$CL_PYTHON" -c 'import grpc, google.protobuf' 2>/dev/null \
              || skip "needs python3-grpcio and python3-protobuf (apt-get install python3-grpcio python3-protobuf)"
            command -v protoc >/dev/null || skip "needs protoc (apt-get install protobuf-compiler)" ;;
      registry) command -v docker-registry >/dev/null && command -v skopeo >/dev/null \
                  || skip "needs docker-registry and skopeo (apt-get install docker-registry skopeo)" ;;
      ward) [[ -x $WARD_RUNTIME_BIN && -x $WARD_CLI_BIN ]] || skip "ward is not built (no $WARD_RUNTIME_BIN)" ;;
      *) requires "$w" ;;
    esac
  done
}

# cl_file_requires WHAT...: cl_requires for setup_file.  bats 1.8 cannot
# skip from setup_file, so a missing requirement is written down and
# returns 1 (setup_file then returns early); cl_file_skip, called from
# setup, skips each test with that reason.
cl_file_requires() {
  local reason
  reason=$(
    skip() { echo "$*"; exit 0; }
    cl_requires "$@"
  )
  [[ -z $reason ]] && return 0
  echo "$reason" >"$BATS_FILE_TMPDIR/cl-skip"
  return 1
}

cl_file_skip() {
  if [[ -f $BATS_FILE_TMPDIR/cl-skip ]]; then
    skip "$(cat "$BATS_FILE_TMPDIR/cl-skip")"
  fi
  return 0
}

# in_ns CMD...: run CMD in the suite's network namespace (and only that:
# `ip netns exec` would also remount /sys and hide the host's cgroups).
in_ns() {
  nsenter --net="/run/netns/$CL_NS" -- "$@"
}

# cl_setup_file: CL_TMP, CL_NS, the wrappers.  Call from setup_file.
cl_setup_file() {
  CL_TMP=$(mktemp -d /tmp/wcl.XXXXXX)
  chmod 755 "$CL_TMP"
  export CL_TMP
  CL_NS=wcl-${CL_TMP##*.}
  export CL_NS
  ip netns add "$CL_NS" || return 1
  in_ns ip link set lo up || return 1
  export CL_BIN=$CL_TMP/bin
  mkdir -p "$CL_BIN"
  # cri.py's generated protobuf module
  export CRI_PY_CACHE=$CL_TMP/cri-py
  : >"$CL_TMP/calls"
  # The wrapper records every call.  Where the client gives the runtime a
  # log (--log: containerd's shim, dockerd), `--debug` makes ward-runtime
  # write "<prog> <verb>" there too; without one (podman's conmon) debug
  # lines would go to stderr, which conmon copies into the container's own
  # output, so there the record alone is the proof.
  local name bin
  for name in ward ward-vm; do
    bin=$WARD_RUNTIME_BIN
    [[ $name == ward-vm ]] && bin=$WARD_VM_BIN
    cat >"$CL_BIN/$name" <<EOF
#!/bin/sh
echo "$name \$*" >>$CL_TMP/calls
case " \$* " in
  *" --log "*) exec $bin --debug "\$@" ;;
esac
exec $bin "\$@"
EOF
    chmod 755 "$CL_BIN/$name"
  done
  # ward-vm must see its own name as argv[0]: the wrapper execs the real
  # ward-vm binary (a hard link of ward-runtime in installs).
}

# cl_teardown_file: kill what the file started (pids in $CL_TMP/pids),
# unmount what is left under CL_TMP, drop the netns, remove CL_TMP.
cl_teardown_file() {
  [[ -n ${CL_TMP:-} && -d $CL_TMP ]] || return 0
  local p m i
  if [[ -f $CL_TMP/pids ]]; then
    while read -r p; do [[ -n $p ]] && kill "$p" 2>/dev/null; done <"$CL_TMP/pids"
    for i in $(seq 100); do
      local alive=0
      while read -r p; do [[ -n $p ]] && kill -0 "$p" 2>/dev/null && alive=1; done <"$CL_TMP/pids"
      ((alive)) || break
      sleep 0.1
    done
    while read -r p; do [[ -n $p ]] && kill -9 "$p" 2>/dev/null; done <"$CL_TMP/pids"
  fi
  # shims and container processes that outlived their daemon
  for p in $(_cl_procs_under "$CL_TMP"); do kill -9 "$p" 2>/dev/null; done
  sleep 0.2
  for m in $(awk -v b="$CL_TMP/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  [[ -n ${CL_NS:-} ]] && ip netns del "$CL_NS" 2>/dev/null
  rm -rf "$CL_TMP" 2>/dev/null || { sleep 1; rm -rf "$CL_TMP"; }
}

# _cl_procs_under DIR: pids whose command line names DIR (daemons, shims,
# conmon, registry started for this file).
_cl_procs_under() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$1/" && echo "${p#/proc/}"
  done
  return 0
}

# cl_daemon NAME CMD...: start CMD in the netns in the background, log to
# $CL_TMP/NAME.log, remember its pid for teardown.
cl_daemon() {
  local name=$1
  shift
  # nsenter without --fork execs CMD: $! is the daemon's own pid
  nsenter --net="/run/netns/$CL_NS" -- "$@" </dev/null >"$CL_TMP/$name.log" 2>&1 3>&- 4>&- 5>&- &
  echo $! >>"$CL_TMP/pids"
  echo $! >"$CL_TMP/$name.pid"
}

# cl_wait_for TEST-CMD [SECONDS]: poll until TEST-CMD succeeds.
cl_wait_for() {
  local i n=$((${2:-30} * 10))
  for ((i = 0; i < n; i++)); do
    eval "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------ the proof

# assert_ward_ran RUNTIME ID [VERB]: the wrapper of RUNTIME (ward|ward-vm)
# was asked to VERB (default create) the container whose id contains ID.
assert_ward_ran() {
  local rt=$1 id=$2 verb=${3:-create}
  grep -E "^$rt( .*)? $verb( .*)?" "$CL_TMP/calls" | grep -qF -- "$id" \
    || fail "$rt was never asked to $verb '$id' (a client that fell back to another runtime cannot pass); calls: $(tail -5 "$CL_TMP/calls")"
}

# assert_log_says_ward LOGFILE: the runtime's own (--debug) log names ward.
assert_log_says_ward() {
  [[ -f $1 ]] || fail "no runtime log at $1"
  grep -qE 'ward-(runtime|vm) (create|run)' "$1" || fail "the runtime log $1 does not show ward's create: $(head -c 600 "$1")"
}

# ------------------------------------------------------------- ward-vm

# cl_vm_probe: empty output when ward-vm really runs containers in a
# microVM here, else the reason it does not (the skip message).  A real
# probe: ward-vm runs a container that prints its kernel's boot_id; a
# microVM has its own kernel, so the id differs from the host's.
cl_vm_probe() {
  local f=$CL_TMP/vm-probe b out host
  if [[ ! -f $f ]]; then
    b=$CL_TMP/vm-probe-bundle
    if [[ ! -x $WARD_VM_BIN ]]; then
      echo "ward-vm is not built ($WARD_VM_BIN)" >"$f"
    else
      mkdir -p "$b"
      cp -a "$(_rootfs_cache)" "$b/rootfs"
      (cd "$b" && "$WARD_RUNTIME_BIN" spec)
      jq '.process.terminal = false | .process.args = ["cat", "/proc/sys/kernel/random/boot_id"]' \
        "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
      host=$(cat /proc/sys/kernel/random/boot_id)
      out=$(timeout 60 "$WARD_VM_BIN" --root "$CL_TMP/vm-probe-root" run --bundle "$b" "wcl-vmprobe-$$" 2>&1 </dev/null)
      local rc=$?
      timeout 30 "$WARD_VM_BIN" --root "$CL_TMP/vm-probe-root" delete --force "wcl-vmprobe-$$" >/dev/null 2>&1
      if ((rc != 0)); then
        echo "ward-vm cannot start a microVM on this host (exit $rc: $(tail -1 <<<"$out")); this host's /dev/kvm cannot boot a stock guest, the QEMU test-bed runs the VM tests" >"$f"
      elif [[ $(tail -1 <<<"$out") == "$host" ]]; then
        echo "ward-vm ran the container on the host kernel (same boot_id), not in a microVM: no usable KVM guest here (this host's /dev/kvm cannot boot a stock Linux guest)" >"$f"
      else
        : >"$f"
      fi
      rm -rf "$b"
    fi
  fi
  cat "$f"
}

# requires_vm: skip the test with the probe's reason unless ward-vm works.
requires_vm() {
  local why
  why=$(cl_vm_probe)
  [[ -z $why ]] || skip "$why"
}

# -------------------------------------------------------------- images

# cl_images: $CL_IMAGES/busybox.tar (docker-archive of ward's default
# busybox image, via `ward save`) and $CL_IMAGES/pause.tar (the build's
# pause image).  Made once per bats run.
cl_images() {
  CL_IMAGES=${BATS_RUN_TMPDIR:-$CL_TMP}/client-images
  export CL_IMAGES
  mkdir -p "$CL_IMAGES"
  if [[ ! -s $CL_IMAGES/busybox.tar ]]; then
    local r=$CL_IMAGES/ward-root
    "$WARD_CLI_BIN" --root "$r" image-import-default /bin/busybox >/dev/null || return 1
    "$WARD_CLI_BIN" --root "$r" save -o "$CL_IMAGES/busybox.tar.tmp" busybox || return 1
    mv "$CL_IMAGES/busybox.tar.tmp" "$CL_IMAGES/busybox.tar"
    rm -rf "$r"
  fi
  if [[ ! -s $CL_IMAGES/pause.tar ]]; then
    if [[ -s $WARD_BUILDDIR/image/pause/pause.tar ]]; then
      cp "$WARD_BUILDDIR/image/pause/pause.tar" "$CL_IMAGES/pause.tar"
    elif [[ -s /usr/local/share/ward/pause.tar ]]; then
      cp /usr/local/share/ward/pause.tar "$CL_IMAGES/pause.tar"
    else
      echo "no pause image: build ward (make) to get image/pause/pause.tar" >&2
      return 1
    fi
  fi
}

# cl_client_setup_file CLIENT START LOADER: setup_file of a client suite:
# needs root, ward and the CLIENT program; the per-file netns and images,
# START (cl_dockerd, cl_podman) starts the client and LOADER (dk, pm)
# loads busybox into it.
cl_client_setup_file() {
  local client=$1 start=$2 loader=$3
  cl_file_requires root ward "$client" || return 0
  cl_setup_file || return 1
  cl_images || return 1
  "$start" || return 1
  "$loader" load -i "$CL_IMAGES/busybox.tar" >/dev/null || return 1
}

# cl_registry: a docker-registry on 127.0.0.1:5000 inside the netns,
# holding busybox as 127.0.0.1:5000/ward/busybox:1.
cl_registry() {
  local reg=$CL_TMP/registry
  mkdir -p "$reg/data"
  registry_config "$reg" 127.0.0.1:5000
  cl_daemon registry docker-registry serve "$reg/config.yml"
  cl_wait_for "in_ns curl -sf http://127.0.0.1:5000/v2/" 30 \
    || { echo "registry did not start: $(tail -5 "$CL_TMP/registry.log")" >&2; return 1; }
  in_ns skopeo copy --quiet --dest-tls-verify=false "docker-archive:$CL_IMAGES/busybox.tar" \
    docker://127.0.0.1:5000/ward/busybox:1
}

# ------------------------------------------------------------- cgroups

# cl_memory_limit PID: the v1 memory limit of PID's cgroup (hybrid host),
# or memory.max on a pure v2 host.
cl_memory_limit() {
  local cg
  if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then
    cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup$cg/memory.max"
  else
    cg=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes"
  fi
}

# cl_cgroup_file PID CONTROLLER FILE: a v1 controller file of PID's cgroup.
cl_cgroup_file() {
  local cg
  cg=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")
  cat "/sys/fs/cgroup/$2$cg/$3"
}

# ----------------------------------------------------------- containerd

# cl_containerd: containerd 1.6 with its CRI plugin, private root, state
# and sockets under $CL_TMP/ctd, running in the netns.  Runtime handlers
# `ward` (the default) and `ward-vm` go through containerd-shim-runc-v2 to
# the wrappers, with the shim's runc root under $CL_TMP/ctd/runc.  Pods get
# their network from the CNI bridge plugin (cni0w, 10.88.0.0/16) with
# host-local IPAM keeping its state under $CL_TMP/ctd/ipam.  The sandbox
# image is ward's pause image, imported beforehand: no registry needed.
# Sets CTD_SOCK and CTR (ctr with the socket, namespace k8s.io).
cl_containerd() {
  local c=$CL_TMP/ctd
  mkdir -p "$c/cni" "$c/ipam" "$c/runc"
  cat >"$c/cni/10-ward.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "wardtest",
  "plugins": [
    { "type": "bridge", "bridge": "cni0w", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$c/ipam",
                "ranges": [[{ "subnet": "10.88.0.0/16" }]],
                "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "loopback" }
  ]
}
EOF
  containerd_config "$c"
  cat >>"$c/config.toml" <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/pause:latest"
  enable_selinux = false
  disable_apparmor = true
  # this host has no CAP_SYS_RESOURCE: a pod sandbox's oom_score_adj -998 would be refused
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "ward"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ward]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ward.options]
        BinaryName = "$CL_BIN/ward"
        Root = "$c/runc"
        SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ward-vm]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ward-vm.options]
        BinaryName = "$CL_BIN/ward-vm"
        Root = "$c/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$c/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."127.0.0.1:5000"]
    endpoint = ["http://127.0.0.1:5000"]
EOF
  cl_daemon containerd containerd --config "$c/config.toml"
  CTD_SOCK=$c/sock
  export CTD_SOCK
  CTR=(ctr --address "$CTD_SOCK" --namespace k8s.io)
  cl_wait_for "[[ -S $CTD_SOCK ]] && ${CTR[*]} version" 30 \
    || { echo "containerd did not start: $(tail -5 "$CL_TMP/containerd.log")" >&2; return 1; }
}

# cri VERB ARGS...: the CRI test client against the private containerd.
cri() {
  "$CL_PYTHON" "$CLIENTS_DIR/cri.py" --sock "$CTD_SOCK" --timeout 120 "$@"
}

# ---------------------------------------------------------------- dockerd

# cl_dockerd: dockerd 20.10 with private data-root, exec-root, socket and
# pidfile under $CL_TMP/dk, in the netns (its docker0 bridge and the
# docker-proxy for -p live there; no iptables rules are written).  It
# starts its own containerd under the exec-root.  daemon.json adds the
# runtimes `ward` and `ward-vm` (the wrappers); runc stays the default, so
# every test asks for --runtime explicitly.  Sets DK (the docker command).
cl_dockerd() {
  local d=$CL_TMP/dk
  mkdir -p "$d/cfg"
  cat >"$d/daemon.json" <<EOF
{
  "runtimes": {
    "ward": { "path": "$CL_BIN/ward" },
    "ward-vm": { "path": "$CL_BIN/ward-vm" }
  },
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "storage-driver": "vfs",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "bip": "172.31.250.1/24",
  "default-ulimits": { "nofile": { "Name": "nofile", "Hard": 20000, "Soft": 20000 } },
  "log-level": "warn"
}
EOF
  cl_daemon dockerd /usr/sbin/dockerd --config-file "$d/daemon.json" --data-root "$d/data" \
    --exec-root "$d/exec" -H "unix://$d/sock" --pidfile "$d/dockerd.pid"
  DK=(env DOCKER_CONFIG="$d/cfg" "$CL_DOCKER_CLI" -H "unix://$d/sock")
  cl_wait_for "${DK[*]} version" 60 \
    || { echo "dockerd did not start: $(tail -5 "$CL_TMP/dockerd.log")" >&2; return 1; }
}

# dk ARGS...: the docker CLI against the private dockerd.
dk() {
  env DOCKER_CONFIG="$CL_TMP/dk/cfg" "$CL_DOCKER_CLI" -H "unix://$CL_TMP/dk/sock" "$@"
}

# ----------------------------------------------------------------- podman

# cl_podman: podman 4.3 with private root/runroot/tmpdir, a private
# containers.conf (cgroupfs, file events, this host's ulimits) and a
# private CNI config dir; networks are made inside the netns.  `pm` runs
# podman in the netns; the runtime is chosen per call with --runtime.
cl_podman() {
  local p=$CL_TMP/pm
  mkdir -p "$p/cni" "$p/tmp"
  # podman's default nofile exceeds this host's hard limit (ENVIRONMENT.md)
  cat >"$p/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
events_logger = "file"
events_logfile_path = "$p/events.log"
cgroup_manager = "cgroupfs"
tmp_dir = "$p/tmp"
[network]
network_backend = "cni"
network_config_dir = "$p/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
EOF
  export CONTAINERS_CONF=$p/containers.conf
  # registries.conf: nothing is ever pulled from outside
  printf 'unqualified-search-registries = []\n' >"$p/registries.conf"
  export CONTAINERS_REGISTRIES_CONF=$p/registries.conf
}

# pm ARGS...: podman with the private storage, in the netns.
pm() {
  CONTAINERS_CONF=$CL_TMP/pm/containers.conf CONTAINERS_REGISTRIES_CONF=$CL_TMP/pm/registries.conf \
    nsenter --net="/run/netns/$CL_NS" -- podman --root "$CL_TMP/pm/root" --runroot "$CL_TMP/pm/run" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$CL_TMP/pm/tmp" "$@"
}
