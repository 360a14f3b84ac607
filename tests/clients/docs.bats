#!/usr/bin/env bats
# The configuration in docs/kubernetes.md, docs/docker.md and docs/podman.md,
# taken from the documents themselves (their fenced blocks) and used as
# written, with the installed ward (/usr/local/bin, `make install`).  Only
# the daemons' private directories, sockets and netns are added, so the
# host's own containerd/dockerd/podman are not touched.

load helpers

DOCS=$CLIENTS_DIR/../../docs

setup_file() {
  cl_file_requires root || return 0
  if [[ ! -x /usr/local/bin/ward-runtime || ! -x /usr/local/bin/ward-vm ]]; then
    echo "ward is not installed in /usr/local/bin (make install): the docs use the installed paths" \
      >"$BATS_FILE_TMPDIR/cl-skip"
    return 0
  fi
  cl_setup_file || return 1
  cl_images || return 1
}

teardown_file() {
  [[ -n ${CL_TMP:-} ]] || return 0
  if [[ -S $CL_TMP/ctd/sock ]]; then
    local p CTD_SOCK=$CL_TMP/ctd/sock
    for p in $(cri pods 2>/dev/null | jq -r '.items[].id' 2>/dev/null); do
      cri stopp "$p" >/dev/null 2>&1; cri rmp "$p" >/dev/null 2>&1
    done
  fi
  [[ -S $CL_TMP/dk/sock ]] && dk rm -f $(dk ps -aq 2>/dev/null) >/dev/null 2>&1
  [[ -d $CL_TMP/pm ]] && pm rm -a -f -t 0 >/dev/null 2>&1
  cl_teardown_file
  local c
  for c in /sys/fs/cgroup/*/wardocs-"${CL_NS:-none}"; do
    [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

setup() { cl_file_skip; }

# doc_block FILE LANG [N]: the Nth (default 1st) ```LANG block of FILE.
doc_block() {
  awk -v lang="$2" -v want="${3:-1}" '
    /^```/ { if (inb) { inb = 0; if (n == want) exit; next }
             if ($0 == "```" lang) { n++; inb = 1; next } }
    inb && n == want { print }' "$1"
}

@test "docs/kubernetes.md: the config.toml runtimes load in containerd and the ward handler runs a pod with the pause image" {
  cl_requires containerd cni grpc
  local c=$CL_TMP/ctd block
  mkdir -p "$c/cni" "$c/ipam"
  block=$(doc_block "$DOCS/kubernetes.md" toml)
  [[ $block == *'runtimes.ward]'* && $block == *'runtimes.ward-vm]'* ]] || fail "no ward runtimes in the toml block: $block"
  {
    echo "root = \"$c/root\""
    echo "state = \"$c/state\""
    # this host lacks CAP_SYS_RESOURCE: the doc's restrict_oom_score_adj note
    sed 's/^\[plugins."io.containerd.grpc.v1.cri"\]$/&\n  restrict_oom_score_adj = true/' <<<"$block"
    printf '[grpc]\n  address = "%s/sock"\n[ttrpc]\n  address = "%s/sock.ttrpc"\n' "$c" "$c"
    printf '[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/usr/lib/cni"\n  conf_dir = "%s/cni"\n' "$c"
  } >"$c/config.toml"
  printf '{"cniVersion": "1.0.0", "name": "wardocs", "plugins": [{"type": "bridge", "bridge": "cni0d", "isGateway": true,
    "ipam": {"type": "host-local", "dataDir": "%s/ipam", "ranges": [[{"subnet": "10.89.0.0/16"}]]}}, {"type": "loopback"}]}\n' \
    "$c" >"$c/cni/10-docs.conflist"
  run containerd --config "$c/config.toml" config dump
  assert_success
  assert_output --partial 'BinaryName = "/usr/local/bin/ward-runtime"'
  assert_output --partial 'BinaryName = "/usr/local/bin/ward-vm"'
  cl_daemon containerd containerd --config "$c/config.toml"
  CTD_SOCK=$c/sock
  cl_wait_for "[[ -S $CTD_SOCK ]] && ctr --address $CTD_SOCK version" 30 || fail "containerd did not start: $(tail -5 "$CL_TMP/containerd.log")"
  # the doc's import command, with this containerd's socket
  run ctr --address "$CTD_SOCK" --namespace k8s.io images import "$CL_IMAGES/pause.tar"
  assert_success
  run ctr --address "$CTD_SOCK" --namespace k8s.io images ls -q
  assert_line docker.io/library/pause:latest
  jq -n --arg cg "/wardocs-$CL_NS" '{metadata: {name: "demo", uid: "demo-1", namespace: "default"},
    linux: {cgroup_parent: $cg, security_context: {namespace_options: {pid: "CONTAINER"}}}}' >"$c/pod.json"
  run cri runp "$c/pod.json" --runtime ward
  assert_success
  local pod=$output
  run cri inspectp "$pod"
  assert_equal "$(jq -r .status.state <<<"$output")" SANDBOX_READY
  # the shim's default runtime root; ward can read the state: ward made it
  run /usr/local/bin/ward-runtime --root /run/containerd/runc/k8s.io state "$pod"
  assert_success
  assert_equal "$(jq -r .status <<<"$output")" running
  run cri stopp "$pod"
  assert_success
  run cri rmp "$pod"
  assert_success
}

@test "docs/docker.md: daemon.json runtimes appear in docker info and --runtime ward runs a container" {
  cl_requires dockerd
  local d=$CL_TMP/dk
  mkdir -p "$d/cfg"
  doc_block "$DOCS/docker.md" json >"$d/doc.json"
  jq -e '.runtimes.ward.path == "/usr/local/bin/ward-runtime" and .runtimes["ward-vm"].path == "/usr/local/bin/ward-vm"' \
    "$d/doc.json" >/dev/null || fail "daemon.json block: $(cat "$d/doc.json")"
  # the doc's file plus what a private daemon in a test netns needs
  jq '. + {"storage-driver": "vfs", "iptables": false, "ip6tables": false, "ip-forward": false, "ip-masq": false,
           "bip": "172.31.251.1/24", "exec-opts": ["native.cgroupdriver=cgroupfs"],
           "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000}}}' \
    "$d/doc.json" >"$d/daemon.json"
  cl_daemon dockerd /usr/sbin/dockerd --config-file "$d/daemon.json" --data-root "$d/data" \
    --exec-root "$d/exec" -H "unix://$d/sock" --pidfile "$d/docker.pid"
  cl_wait_for "dk version" 60 || fail "dockerd did not start: $(tail -5 "$CL_TMP/dockerd.log")"
  run dk info --format '{{json .Runtimes}}'
  assert_success
  jq -e 'has("ward") and has("ward-vm")' <<<"$output" >/dev/null || fail "runtimes: $output"
  run dk load -i "$CL_IMAGES/busybox.tar"
  assert_success
  run dk run --name docs-web --runtime ward --memory 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  assert_success
  assert_output 67108864
  assert_equal "$(dk inspect -f '{{.HostConfig.Runtime}}' docs-web)" ward
  dk rm -f docs-web >/dev/null
}

@test "docs/podman.md: containers.conf [engine.runtimes] names ward for podman --runtime" {
  cl_requires podman
  cl_podman
  local p=$CL_TMP/pm block
  block=$(doc_block "$DOCS/podman.md" toml)
  [[ $block == *'[engine.runtimes]'* ]] || fail "no [engine.runtimes] block: $block"
  # the doc's entries plus this host's ulimits and the private network dir
  { echo "$block"; sed -n '/^\[containers\]/,/^\[engine\]/{/^\[engine\]/d;p}' "$p/containers.conf"
    sed -n '/^\[network\]/,$p' "$p/containers.conf"; } >"$p/docs.conf"
  cp "$p/docs.conf" "$p/containers.conf"
  run pm --runtime ward info --format '{{.Host.OCIRuntime.Path}}'
  assert_success
  assert_output /usr/local/bin/ward-runtime
  run pm load -i "$CL_IMAGES/busybox.tar"
  assert_success
  run pm --runtime ward run --name docs-pm --network none --memory 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes
  assert_success
  assert_output 67108864
  assert_equal "$(pm inspect -f '{{.OCIRuntime}}' docs-pm)" ward
  pm rm -f docs-pm >/dev/null
}
