#!/usr/bin/env bats
# Kubernetes' path to ward, without a kubelet: our CRI v1 client (cri.py)
# drives containerd 1.6's CRI plugin, which runs pods through
# containerd-shim-runc-v2 with ward (handler "ward") or ward-vm (handler
# "ward-vm", the RuntimeClass of docs/kubernetes.md).  The tests of one
# file share one containerd and run in order: a pod is made, used and
# removed across them; ids are passed on in $CL_TMP/cri.

load helpers

setup_file() {
  cl_file_requires root ward containerd cni grpc registry || return 0
  cl_setup_file || return 1
  cl_images || return 1
  cl_registry || return 1
  cl_containerd || return 1
  # The sandbox image comes from the build, not from a registry.
  "${CTR[@]}" images import --snapshotter native "$CL_IMAGES/pause.tar" >/dev/null || return 1
  mkdir -p "$CL_TMP/cri" "$CL_TMP/logs"
  CGPARENT=wardcri-$CL_NS
  export CGPARENT
}

teardown_file() {
  [[ -n ${CL_TMP:-} ]] || return 0
  local p c
  if [[ -S ${CTD_SOCK:-/nonexistent} ]]; then
    for p in $(cri pods 2>/dev/null | jq -r '.items[].id' 2>/dev/null); do
      timeout 60 "$CL_PYTHON" "$CLIENTS_DIR/cri.py" --sock "$CTD_SOCK" stopp "$p" >/dev/null 2>&1
      timeout 60 "$CL_PYTHON" "$CLIENTS_DIR/cri.py" --sock "$CTD_SOCK" rmp "$p" >/dev/null 2>&1
    done
  fi
  cl_teardown_file
  for c in /sys/fs/cgroup/*/"${CGPARENT:-none}" /sys/fs/cgroup/unified/"${CGPARENT:-none}"; do
    [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

setup() { cl_file_skip; }

# pod_config NAME FILE: a PodSandboxConfig in FILE.
pod_config() {
  mkdir -p "$CL_TMP/logs/$1"
  jq -n --arg n "$1" --arg logs "$CL_TMP/logs/$1" --arg cg "/$CGPARENT" '{
    metadata: {name: $n, uid: ("uid-" + $n), namespace: "wardtest", attempt: 0},
    hostname: $n, log_directory: $logs,
    linux: {cgroup_parent: $cg,
            security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' >"$2"
}

# ctr_config NAME FILE CMD...: a ContainerConfig (busybox from the registry)
# with a 64 MiB memory limit and half a CPU, running CMD; namespaces as
# the kubelet asks for a v1 Pod (own pid namespace, the pod's net and ipc).
ctr_config() {
  local n=$1 f=$2
  shift 2
  # (without the "--", jq takes a "-c" in CMD as its own option)
  jq -n --arg n "$n" --argjson cmd "$(jq -cn '$ARGS.positional' --args -- "$@")" '{
    metadata: {name: $n}, image: {image: "127.0.0.1:5000/ward/busybox:1"},
    command: $cmd, log_path: ($n + ".log"),
    linux: {resources: {memory_limit_in_bytes: 67108864, cpu_period: 100000, cpu_quota: 50000},
            security_context: {namespace_options: {network: "POD", pid: "CONTAINER", ipc: "POD"}}}}' >"$f"
}

save() { echo "$2" >"$CL_TMP/cri/$1"; }
saved() { cat "$CL_TMP/cri/$1"; }

# ctr_pid ID: the container's init pid as containerd reports it.
ctr_pid() {
  cri inspect "$1" | jq -r '.info.info' | jq -r '.pid'
}

@test "cri: Version speaks CRI v1 and Status reports RuntimeReady and NetworkReady" {
  run cri version
  assert_success
  assert_equal "$(jq -r .runtime_api_version <<<"$output")" v1
  assert_equal "$(jq -r .runtime_name <<<"$output")" containerd
  run cri status
  assert_success
  assert_equal "$(jq -r '.status.conditions[] | select(.type == "RuntimeReady") | .status' <<<"$output")" true
  assert_equal "$(jq -r '.status.conditions[] | select(.type == "NetworkReady") | .status' <<<"$output")" true
}

@test "cri: PullImage from the local registry; the pause image is there without one" {
  run cri pull 127.0.0.1:5000/ward/busybox:1
  assert_success
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  run cri images
  assert_success
  jq -e '.images[] | select(.repo_tags[] == "127.0.0.1:5000/ward/busybox:1")' <<<"$output" >/dev/null \
    || fail "busybox not listed after PullImage: $output"
  jq -e '.images[] | select(.repo_tags[] == "docker.io/library/pause:latest")' <<<"$output" >/dev/null \
    || fail "ward's pause image is not in containerd's image list: $output"
}

@test "cri: RunPodSandbox without a RuntimeClass (default handler ward) starts ward's pause, with a pod IP" {
  pod_config web "$CL_TMP/cri/pod.json"
  run cri runp "$CL_TMP/cri/pod.json"
  assert_success
  local pod=$output
  save pod "$pod"
  run cri inspectp "$pod"
  assert_success
  assert_equal "$(jq -r .status.state <<<"$output")" SANDBOX_READY
  local ip
  ip=$(jq -r .status.network.ip <<<"$output")
  [[ $ip == 10.88.* ]] || fail "pod IP '$ip' is not from the CNI range 10.88.0.0/16"
  save ip "$ip"
  assert_ward_ran ward "$pod"
  assert_log_says_ward "$CL_TMP/ctd/state/io.containerd.runtime.v2.task/k8s.io/$pod/log.json"
  # ward's state for the sandbox is in the shim's runtime root
  run "$WARD_RUNTIME_BIN" --root "$CL_TMP/ctd/runc/k8s.io" state "$pod"
  assert_success
  assert_equal "$(jq -r .status <<<"$output")" running
  local spid
  spid=$(jq -r .pid <<<"$output")
  assert_equal "$(tr '\0' ' ' <"/proc/$spid/cmdline")" "/pause "
}

@test "cri: CreateContainer + StartContainer run a container by ward; ListContainers and ContainerStatus show it" {
  local pod
  pod=$(saved pod)
  ctr_config web "$CL_TMP/cri/web.json" sh -c \
    'trap "echo got-term; exit 143" TERM; echo started; mkdir -p /www; echo hello-from-pod >/www/index.html
     httpd -f -p 8080 -h /www & wait'
  run cri create "$pod" "$CL_TMP/cri/web.json" "$CL_TMP/cri/pod.json"
  assert_success
  local c=$output
  save web "$c"
  run cri start "$c"
  assert_success
  run cri inspect "$c"
  assert_success
  assert_equal "$(jq -r .status.state <<<"$output")" CONTAINER_RUNNING
  assert_equal "$(jq -r '.info.info' <<<"$output" | jq -r .runtimeOptions.binary_name)" "$CL_BIN/ward"
  run cri ps --pod "$pod"
  assert_success
  assert_equal "$(jq -r '[.containers[] | select(.id == "'"$c"'") | .state] | join(",")' <<<"$output")" CONTAINER_RUNNING
  assert_ward_ran ward "$c"
  assert_ward_ran ward "$c" start
  assert_log_says_ward "$CL_TMP/ctd/state/io.containerd.runtime.v2.task/k8s.io/$c/log.json"
  cl_wait_for "grep -q started $CL_TMP/logs/web/web.log" 10 || fail "no 'started' in the container log: $(cat "$CL_TMP/logs/web/web.log")"
}

@test "cri: the pod IP is reachable from the host network namespace" {
  local ip
  ip=$(saved ip)
  cl_wait_for "in_ns curl -sf -m 2 http://$ip:8080/ | grep -q hello-from-pod" 15 \
    || fail "http://$ip:8080/ not reachable from the suite's namespace: $(in_ns curl -sf -m 2 "http://$ip:8080/" 2>&1)"
  run in_ns busybox ping -c1 -W2 "$ip"
  assert_success
}

@test "cri: ExecSync returns stdout, stderr and the exit code" {
  local c
  c=$(saved web)
  run cri exec "$c" -- sh -c 'echo to-out; echo to-err >&2; exit 7'
  assert_equal "$status" 7
  assert_line to-out
  assert_line to-err
  run cri exec "$c" -- hostname
  assert_success
  assert_output web
  assert_ward_ran ward "$c" exec
}

@test "cri: memory and CPU limits are in the container's cgroup" {
  local c pid
  c=$(saved web)
  pid=$(ctr_pid "$c")
  [[ $pid =~ ^[0-9]+$ ]] || fail "no pid for $c"
  assert_equal "$(cl_memory_limit "$pid")" 67108864
  if [[ -d /sys/fs/cgroup/cpu ]]; then
    assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_quota_us)" 50000
    assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_period_us)" 100000
  fi
  grep -q ":/$CGPARENT/$c\$" "/proc/$pid/cgroup" || fail "container not in /$CGPARENT/$c: $(cat "/proc/$pid/cgroup")"
}

@test "cri: ContainerStats reports memory and CPU usage" {
  local c
  c=$(saved web)
  run cri stats "$c"
  assert_success
  (($(jq -r '.stats.memory.working_set_bytes.value // 0' <<<"$output") > 0)) || fail "no working set: $output"
  (($(jq -r '.stats.cpu.usage_core_nano_seconds.value // 0' <<<"$output") > 0)) || fail "no CPU usage: $output"
  assert_equal "$(jq -r .stats.attributes.id <<<"$output")" "$c"
}

@test "cri: UpdateContainerResources changes the cgroup limits (ward update)" {
  local c pid
  c=$(saved web)
  echo '{"memory_limit_in_bytes": 134217728, "cpu_period": 100000, "cpu_quota": 20000}' >"$CL_TMP/cri/upd.json"
  run cri update "$c" "$CL_TMP/cri/upd.json"
  assert_success
  pid=$(ctr_pid "$c")
  assert_equal "$(cl_memory_limit "$pid")" 134217728
  [[ -d /sys/fs/cgroup/cpu ]] && assert_equal "$(cl_cgroup_file "$pid" cpu cpu.cfs_quota_us)" 20000
  run cri inspect "$c"
  assert_equal "$(jq -r .status.resources.linux.memory_limit_in_bytes <<<"$output")" 134217728
  assert_ward_ran ward "$c" update
}

@test "cri: a container's own exit code reaches ContainerStatus" {
  local pod c
  pod=$(saved pod)
  ctr_config quitter "$CL_TMP/cri/quitter.json" sh -c 'echo bye; exit 3'
  c=$(cri create "$pod" "$CL_TMP/cri/quitter.json" "$CL_TMP/cri/pod.json") || fail "CreateContainer failed"
  run cri start "$c"
  assert_success
  cl_wait_for "cri inspect $c | jq -e '.status.state == \"CONTAINER_EXITED\"'" 20 || fail "container did not exit"
  run cri inspect "$c"
  assert_equal "$(jq -r .status.exit_code <<<"$output")" 3
  assert_ward_ran ward "$c"
  run cri rm "$c"
  assert_success
}

@test "cri: StopContainer stops it with SIGTERM; RemoveContainer leaves no cgroup or state" {
  local c pid
  c=$(saved web)
  pid=$(ctr_pid "$c")
  run cri stop "$c" --timeout 10
  assert_success
  run cri inspect "$c"
  assert_equal "$(jq -r .status.state <<<"$output")" CONTAINER_EXITED
  # the shell (pid 1 of the container) traps the SIGTERM and exits 143
  assert_equal "$(jq -r .status.exit_code <<<"$output")" 143
  grep -q got-term "$CL_TMP/logs/web/web.log" || fail "no got-term in the log: $(cat "$CL_TMP/logs/web/web.log")"
  run cri rm "$c"
  assert_success
  run cri ps --all
  [[ $(jq -r '[.containers[] | select(.id == "'"$c"'")] | length' <<<"$output") == 0 ]] || fail "still listed: $output"
  [[ ! -e /sys/fs/cgroup/memory/$CGPARENT/$c ]] || fail "memory cgroup of $c left behind"
  run "$WARD_RUNTIME_BIN" --root "$CL_TMP/ctd/runc/k8s.io" state "$c"
  assert_failure
  assert_ward_ran ward "$c" delete
}

@test "cri: StopPodSandbox + RemovePodSandbox remove the sandbox, its netns and its IP" {
  local pod ip netns
  pod=$(saved pod)
  ip=$(saved ip)
  netns=$(cri inspectp "$pod" | jq -r '.info.info' | jq -r '.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path')
  run cri stopp "$pod"
  assert_success
  run cri rmp "$pod"
  assert_success
  run cri pods
  assert_equal "$(jq -r '.items | length' <<<"$output")" 0
  [[ -z $netns || ! -e $netns ]] || fail "pod netns $netns left behind"
  [[ ! -e $CL_TMP/ctd/ipam/wardtest/$ip ]] || fail "IP $ip still reserved"
  run "$WARD_RUNTIME_BIN" --root "$CL_TMP/ctd/runc/k8s.io" list -q
  assert_success
  assert_output ""
  run find "/sys/fs/cgroup/memory/$CGPARENT" -mindepth 1 -type d
  assert_output ""
}

# ------------------------------------------------- RuntimeClass ward-vm

@test "cri: RunPodSandbox with RuntimeClass ward-vm runs the pod in microVMs" {
  requires_vm
  pod_config vmpod "$CL_TMP/cri/vmpod.json"
  run cri runp "$CL_TMP/cri/vmpod.json" --runtime ward-vm
  assert_success
  local pod=$output
  save vmpod "$pod"
  run cri inspectp "$pod"
  assert_equal "$(jq -r .status.state <<<"$output")" SANDBOX_READY
  assert_equal "$(jq -r .status.runtime_handler <<<"$output")" ward-vm
  assert_ward_ran ward-vm "$pod"
  ctr_config vmweb "$CL_TMP/cri/vmweb.json" sh -c \
    'mkdir -p /www; cat /proc/sys/kernel/random/boot_id >/www/index.html; exec httpd -f -p 8080 -h /www'
  run cri create "$pod" "$CL_TMP/cri/vmweb.json" "$CL_TMP/cri/vmpod.json"
  assert_success
  local c=$output
  run cri start "$c"
  assert_success
  assert_ward_ran ward-vm "$c"
  # a microVM has its own kernel, so its own boot_id
  run cri exec "$c" -- cat /proc/sys/kernel/random/boot_id
  assert_success
  [[ $output != "$(cat /proc/sys/kernel/random/boot_id)" ]] || fail "the ward-vm container runs on the host kernel"
  # the pod's network namespace is shared: the TAP in it serves the VM
  local ip
  ip=$(cri inspectp "$pod" | jq -r .status.network.ip)
  cl_wait_for "in_ns curl -sf -m 2 http://$ip:8080/ | grep -q ." 30 || fail "ward-vm pod IP $ip not reachable"
  run cri exec "$c" -- sh -c 'echo 32m; exit 4'
  assert_equal "$status" 4
}

@test "cri: ward-vm refuses a shared pid namespace across the pod's microVMs, naming it" {
  requires_vm
  local pod
  pod=$(saved vmpod)
  ctr_config vmpid "$CL_TMP/cri/vmpid.json" sleep 100
  jq '.linux.security_context.namespace_options.pid = "POD"' "$CL_TMP/cri/vmpid.json" >"$CL_TMP/cri/vmpid2.json"
  jq '.linux.security_context.namespace_options.pid = "POD"' "$CL_TMP/cri/vmpod.json" >"$CL_TMP/cri/vmpod2.json"
  run cri create "$pod" "$CL_TMP/cri/vmpid2.json" "$CL_TMP/cri/vmpod2.json"
  if [[ $status == 0 ]]; then
    run cri start "$output"
  fi
  assert_failure
  assert_output --regexp 'pid.*(namespace|ns)'
  run cri stopp "$pod"
  assert_success
  run cri rmp "$pod"
  assert_success
}
