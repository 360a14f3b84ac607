#!/bin/sh
# mkimage.sh PAUSE-BINARY OUT.tar [NAME:TAG]
# Writes the pause image as one tar that is both an OCI image layout
# (oci-layout, index.json, blobs/) and a docker-archive (manifest.json
# pointing into blobs/), so `ward load`, `docker load`, `podman load` and
# `ctr images import` all take it.  Every byte is fixed by the binary
# (sorted entries, mtime 0, uid/gid 0, ustar), so the digests only
# change when the binary does.
set -eu
umask 022
bin=$1 out=$2 name=${3:-pause:latest}
case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-pause.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root" "$tmp/img/blobs/sha256"
cp "$bin" "$tmp/root/pause"
chmod 0755 "$tmp/root/pause"
tarx() { tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar "$@"; }
tarx -C "$tmp/root" -cf "$tmp/layer.tar" pause
sum() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }
lsum=$(sum "$tmp/layer.tar") lsize=$(size "$tmp/layer.tar")
mv "$tmp/layer.tar" "$tmp/img/blobs/sha256/$lsum"

printf '{"architecture":"%s","os":"linux","config":{"Entrypoint":["/pause"],"Env":["PATH=/"],"WorkingDir":"/","Labels":{"org.opencontainers.image.title":"ward-pause"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"ward image/pause/mkimage.sh"}]}' \
  "$arch" "$lsum" >"$tmp/config.json"
csum=$(sum "$tmp/config.json") csize=$(size "$tmp/config.json")
mv "$tmp/config.json" "$tmp/img/blobs/sha256/$csum"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$csum" "$csize" "$lsum" "$lsize" >"$tmp/manifest"
msum=$(sum "$tmp/manifest") msize=$(size "$tmp/manifest")
mv "$tmp/manifest" "$tmp/img/blobs/sha256/$msum"

# docker's "name:tag" -> the fully qualified name containerd records
repo=${name%:*} tag=${name##*:}
case $repo in
  */*.*/* | *.*/* | localhost/*) full=$repo ;;
  */*) full=docker.io/$repo ;;
  *) full=docker.io/library/$repo ;;
esac
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$msum" "$msize" "$full" "$tag" "$tag" >"$tmp/img/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/img/oci-layout"
printf '[{"Config":"blobs/sha256/%s","RepoTags":["%s"],"Layers":["blobs/sha256/%s"]}]' \
  "$csum" "$name" "$lsum" >"$tmp/img/manifest.json"
tarx -C "$tmp/img" -cf "$tmp/out.tar" blobs index.json manifest.json oci-layout
mv "$tmp/out.tar" "$out"
