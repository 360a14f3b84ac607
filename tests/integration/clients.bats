#!/usr/bin/env bats
# Smoke tests with real clients: podman and containerd's ctr, each started
# privately (own root, state and socket) with the runtime under test.  The
# image is an OCI layout made here from the busybox rootfs: no network.

load helpers
load ../clients/configs

# make_image: OCI layout in $IMG (tag wardbox:latest) and a tar of it.
make_image() {
  IMG=$WARD_TMP/image
  [[ -f $IMG.tar ]] && return 0
  local rootfs layer lsum lsize cfg csum csize man msum msize
  rootfs=$(_rootfs_cache) || fail "no rootfs"
  rm -rf "$IMG"; mkdir -p "$IMG/blobs/sha256"
  layer=$WARD_TMP/layer.tar
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$layer" .
  lsum=$(sha256sum "$layer" | cut -d' ' -f1); lsize=$(stat -c %s "$layer")
  mv "$layer" "$IMG/blobs/sha256/$lsum"
  cfg=$(jq -cn --arg d "sha256:$lsum" '{architecture: "amd64", os: "linux",
        config: {Env: ["PATH=/bin"], Cmd: ["sh"]}, rootfs: {type: "layers", diff_ids: [$d]}}')
  csum=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1); csize=${#cfg}
  printf '%s' "$cfg" >"$IMG/blobs/sha256/$csum"
  man=$(jq -cn --arg c "sha256:$csum" --argjson cs "$csize" --arg l "sha256:$lsum" --argjson ls "$lsize" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}')
  msum=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1); msize=${#man}
  printf '%s' "$man" >"$IMG/blobs/sha256/$msum"
  jq -cn --arg m "sha256:$msum" --argjson ms "$msize" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
      annotations: {"org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": "docker.io/library/wardbox:latest"}}]}' \
    >"$IMG/index.json"
  echo '{"imageLayoutVersion": "1.0.0"}' >"$IMG/oci-layout"
  tar -C "$IMG" -cf "$IMG.tar" .
}

setup() {
  requires root
  ward_setup
  [[ -x $RUNTIME ]] || RUNTIME=$(command -v "$RUNTIME")
  # Clients get a wrapper that records each call, so a client that quietly
  # used another runtime cannot pass.
  CALLS=$WARD_TMP/runtime-calls
  WRAPPER=$WARD_TMP/runtime-wrapper
  printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$CALLS" "$RUNTIME" >"$WRAPPER"
  chmod +x "$WRAPPER"
  : >"$CALLS"
}

# assert_runtime_ran: the wrapped runtime was asked to create and start.
assert_runtime_ran() {
  grep -qE '(^| )create( |$)' "$CALLS" || fail "the client never called '$RUNTIME create': $(cat "$CALLS")"
  grep -qE '(^| )start( |$)' "$CALLS" || fail "the client never called '$RUNTIME start': $(cat "$CALLS")"
}

teardown() {
  local d
  if [[ -f $WARD_TMP/podman-dirs ]]; then
    while read -r d; do [[ -n $d ]] && rm -rf "$d"; done <"$WARD_TMP/podman-dirs"
    rm -f "$WARD_TMP/podman-dirs"
  fi
  if [[ -n ${CTRD_PID:-} ]]; then
    kill "$CTRD_PID" 2>/dev/null; wait "$CTRD_PID" 2>/dev/null
  fi
  ward_teardown
}

# podman_env: sets PM (the podman command with private dirs and the wrapper)
# and imports the image as localhost/wardbox:latest.  (podman refuses a
# runroot path longer than 50 characters: hence a short dir in /tmp; and
# its default nofile exceeds this host's hard limit, see ENVIRONMENT.md.)
podman_env() {
  local p layer
  p=$(mktemp -d /tmp/wpod.XXXXXX)
  echo "$p" >>"$WARD_TMP/podman-dirs"
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n' \
    >"$p/containers.conf"
  export CONTAINERS_CONF=$p/containers.conf
  PM=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs --runtime "$WRAPPER"
      --cgroup-manager cgroupfs --events-backend file --tmpdir "$p/tmp")
  PM_DIR=$p
  layer=$IMG/blobs/sha256/$(jq -r '.layers[0].digest' "$IMG/blobs/sha256/$(jq -r '.manifests[0].digest' "$IMG/index.json" | cut -d: -f2)" | cut -d: -f2)
  run timeout 120 "${PM[@]}" import --change 'ENV=PATH=/bin' "$layer" localhost/wardbox:latest
  assert_success
}

# containerd_start DIR: a private containerd (no CRI plugin) with root,
# state and sockets under DIR; sets CTRD_PID.
containerd_start() {
  local c=$1 i
  mkdir -p "$c"
  containerd_config "$c" 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
  containerd --config "$c/config.toml" >"$c/log" 2>&1 &
  CTRD_PID=$!
  for i in $(seq 100); do [[ -S $c/sock ]] && break; sleep 0.1; done
  [[ -S $c/sock ]] || fail "containerd did not start: $(tail -5 "$c/log")"
}

@test "clients: podman run --rm with the runtime" {
  requires podman
  make_image
  podman_env
  run timeout 120 "${PM[@]}" run --rm --network none --name "pm-$ID" localhost/wardbox:latest echo hi
  assert_success
  assert_line hi
  run timeout 60 "${PM[@]}" run --rm --network none --hostname pmbox localhost/wardbox:latest sh -c 'id -u; hostname'
  assert_success
  assert_line 0
  assert_line pmbox
  assert_runtime_ran
  run "${PM[@]}" ps -a -q
  assert_output ""
  "${PM[@]}" system reset -f >/dev/null 2>&1 || true
  rm -rf "$PM_DIR" 2>/dev/null || true
}

@test "clients: containerd ctr run --rm with the runtime" {
  requires containerd
  make_image
  local c=$WARD_TMP/containerd i
  containerd_start "$c"
  local ctr=(ctr --address "$c/sock" --namespace wardtest)
  run timeout 60 "${ctr[@]}" images import --snapshotter native "$IMG.tar"
  assert_success
  run timeout 60 "${ctr[@]}" images ls -q
  assert_output --partial wardbox
  run timeout 120 "${ctr[@]}" run --rm --snapshotter native --runc-binary "$WRAPPER" \
    docker.io/library/wardbox:latest "ctr-$ID" sh -c 'id -u; echo hi'
  assert_success
  assert_line 0
  assert_line hi
  assert_runtime_ran
  run timeout 30 "${ctr[@]}" containers ls -q
  assert_output ""
  kill "$CTRD_PID"; wait "$CTRD_PID" 2>/dev/null || true
  CTRD_PID=
  umount -R "$c/state" 2>/dev/null || true
  rm -rf "$c" 2>/dev/null || true
}

@test "clients: podman exec into a podman run -d container" {
  requires podman
  make_image
  podman_env
  run timeout 120 "${PM[@]}" run -d --network none --name "pmx-$ID" localhost/wardbox:latest sleep 100
  assert_success
  run timeout 60 "${PM[@]}" exec "pmx-$ID" sh -c 'echo in-exec; cat /proc/1/cmdline | tr "\0" " "; echo; exit 3'
  assert_equal "$status" 3
  assert_line in-exec
  assert_line "sleep 100 "
  run timeout 60 "${PM[@]}" exec "pmx-$ID" true
  assert_success
  assert_runtime_ran
  grep -qE '(^| )exec( |$)' "$CALLS" || fail "the client never called '$RUNTIME exec': $(cat "$CALLS")"
  run timeout 60 "${PM[@]}" rm -f -t 0 "pmx-$ID"
  assert_success
  run "${PM[@]}" ps -a -q
  assert_output ""
  "${PM[@]}" system reset -f >/dev/null 2>&1 || true
  rm -rf "$PM_DIR" 2>/dev/null || true
}

@test "clients: ctr task exec into a running ctr task" {
  requires containerd
  make_image
  local c=$WARD_TMP/containerd i
  containerd_start "$c"
  local ctr=(ctr --address "$c/sock" --namespace wardtest)
  run timeout 60 "${ctr[@]}" images import --snapshotter native "$IMG.tar"
  assert_success
  run timeout 120 "${ctr[@]}" run -d --snapshotter native --runc-binary "$WRAPPER" \
    docker.io/library/wardbox:latest "ctrx-$ID" sleep 100
  assert_success
  run timeout 60 "${ctr[@]}" task exec --exec-id "x1-$$" "ctrx-$ID" sh -c 'echo in-exec; id -u; exit 3'
  assert_equal "$status" 3
  assert_line in-exec
  assert_line 0
  run timeout 60 "${ctr[@]}" task exec --exec-id "x2-$$" "ctrx-$ID" true
  assert_success
  assert_runtime_ran
  grep -qE '(^| )exec( |$)' "$CALLS" || fail "the client never called '$RUNTIME exec': $(cat "$CALLS")"
  run timeout 30 "${ctr[@]}" task kill -s SIGKILL "ctrx-$ID"
  assert_success
  for i in $(seq 50); do
    "${ctr[@]}" task ls 2>/dev/null | grep -q "ctrx-$ID.*RUNNING" || break
    sleep 0.1
  done
  run timeout 30 "${ctr[@]}" task rm -f "ctrx-$ID"
  assert_success
  run timeout 30 "${ctr[@]}" containers rm "ctrx-$ID"
  assert_success
  run timeout 30 "${ctr[@]}" containers ls -q
  assert_output ""
  kill "$CTRD_PID"; wait "$CTRD_PID" 2>/dev/null || true
  CTRD_PID=
  umount -R "$c/state" 2>/dev/null || true
  rm -rf "$c" 2>/dev/null || true
}
