# Config files for the daemons that tests start privately, shared by the
# client suite (tests/clients) and tests/integration (ward-cli.bats,
# clients.bats).

# registry_config DIR ADDR: DIR/config.yml for `docker-registry serve`:
# filesystem storage in DIR/data, listening on ADDR, warnings only.
registry_config() {
  cat >"$1/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1/data
http:
  addr: $2
EOF
}

# containerd_config DIR [LINE...]: DIR/config.toml for a private
# containerd with root, state and sockets under DIR; the LINEs are more
# top-level keys.  Callers append their own tables after it.
containerd_config() {
  local c=$1
  shift
  {
    printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\n' "$c" "$c"
    (($#)) && printf '%s\n' "$@"
    printf '[grpc]\n  address = "%s/sock"\n[ttrpc]\n  address = "%s/sock.ttrpc"\n' "$c" "$c"
    printf '[debug]\n  address = "%s/debug.sock"\n' "$c"
  } >"$c/config.toml"
}
