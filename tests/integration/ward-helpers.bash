# Helpers shared by the ward-*.bats files (the `ward` front end), the same
# conventions as ward-cli.bats: each test gets a private --root $R under
# $WARD_TMP, and teardown removes every container, mount and volume of it.
# Containers run with --network none: these tests need no network (bridge
# networking has its own tests).

if [[ -x ${WARD_BUILDDIR:-}/ward ]]; then
  WARD_BIN=$WARD_BUILDDIR/ward
else
  WARD_BIN=$(command -v ward || echo ward)
fi
# the build tree's ward-init for --init (an installed one is found anyway)
if [[ -z ${WARD_INIT_PATH:-} && -x ${WARD_BUILDDIR:-}/image/init/ward-init ]]; then
  export WARD_INIT_PATH=$WARD_BUILDDIR/image/init/ward-init
fi

# ward ARG...: the binary under test, with a watchdog.
ward() {
  timeout 60 "$WARD_BIN" "$@"
}

# w ARG...: ward with this test's private root.
w() {
  ward --root "$R" "$@"
}

# wait_state NAME WANT [TRIES]: poll `inspect -f '{{.State.Status}}'`.
wait_state() {
  local n=$1 want=$2 tries=${3:-100} s=
  while ((tries-- > 0)); do
    s=$(w inspect -f '{{.State.Status}}' "$n" 2>/dev/null)
    [[ $s == "$want" ]] && return 0
    sleep 0.05
  done
  echo "container $n: status '$s', wanted '$want'" >&2
  return 1
}

ward_cli_setup() {
  requires root
  [[ -x /bin/busybox ]] || skip "needs /bin/busybox (apt-get install busybox-static): the default image is made from it"
  [[ -x $WARD_BIN ]] || skip "no ward binary (build it: make ward, or set WARD_BUILDDIR)"
  [[ -n ${WARD_TMP:-} ]] || ward_setup_file
  : >"$WARD_TMP/ids"
  : >"$WARD_TMP/bundles"
  R=$WARD_TMP/root-$BATS_TEST_NUMBER
  rm -rf "$R"
  mkdir -p "$R"
}

ward_cli_teardown() {
  local c m
  if [[ -n ${R:-} && -d $R ]]; then
    for c in $(w ps -aq --no-trunc 2>/dev/null); do
      w rm -f -v "$c" >/dev/null 2>&1
    done
    for m in $(awk -v r="$R/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
      umount -l "$m" 2>/dev/null
    done
  fi
  ward_teardown
  [[ -n ${R:-} ]] && rm -rf "$R"
}
