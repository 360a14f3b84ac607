#!/usr/bin/env bats
# podman 4.3 with `--runtime` pointing at ward or ward-vm (as in
# docs/podman.md), private root, runroot and containers.conf (cl_podman);
# each scenario of scenarios.bash runs with both runtimes (ward-vm skipped,
# with the probe's reason, where it cannot start a microVM).

load helpers
load scenarios

setup_file() { cl_client_setup_file podman cl_podman pm; }

teardown_file() {
  [[ -n ${CL_TMP:-} ]] || return 0
  pm rm -a -f -t 0 >/dev/null 2>&1
  pm system reset -f >/dev/null 2>&1
  cl_teardown_file
}

setup() { cl_file_skip; }
teardown() { scn_teardown; }

@test "podman ward: run --rm: output and exit code" {
  use_client podman ward
  scn_run_exit
}

@test "podman ward-vm: run --rm: output and exit code" {
  use_client podman ward-vm
  scn_run_exit
}

@test "podman ward: --memory 64m sets the memory cgroup limit (issue #6)" {
  use_client podman ward
  scn_memory
}

@test "podman ward-vm: --memory 64m sets the memory cgroup limit (issue #6)" {
  use_client podman ward-vm
  scn_memory
}

@test "podman ward: --cpus and --pids-limit set and enforce cgroup limits" {
  use_client podman ward
  scn_cpu_pids
}

@test "podman ward-vm: --cpus and --pids-limit set and enforce cgroup limits" {
  use_client podman ward-vm
  scn_cpu_pids
}

@test "podman ward: run -t and exec -t get a terminal" {
  use_client podman ward
  scn_tty
}

@test "podman ward-vm: run -t and exec -t get a terminal" {
  use_client podman ward-vm
  scn_tty
}

@test "podman ward: exec: exit code, user, env, workdir" {
  use_client podman ward
  scn_exec
}

@test "podman ward-vm: exec: exit code, user, env, workdir" {
  use_client podman ward-vm
  scn_exec
}

@test "podman ward: attach to a running shell, its exit code" {
  use_client podman ward
  scn_attach
}

@test "podman ward-vm: attach to a running shell, its exit code" {
  use_client podman ward-vm
  scn_attach
}

@test "podman ward: attach to a tty container from a terminal" {
  use_client podman ward
  scn_attach_tty
}

@test "podman ward-vm: attach to a tty container from a terminal" {
  use_client podman ward-vm
  scn_attach_tty
}

@test "podman ward: logs: stdout and stderr" {
  use_client podman ward
  scn_logs
}

@test "podman ward-vm: logs: stdout and stderr" {
  use_client podman ward-vm
  scn_logs
}

@test "podman ward: kill -s USR1 and stop deliver the signals" {
  use_client podman ward
  scn_signals
}

@test "podman ward-vm: kill -s USR1 and stop deliver the signals" {
  use_client podman ward-vm
  scn_signals
}

@test "podman ward: --restart on-failure:2 restarts twice" {
  use_client podman ward
  scn_restart
}

@test "podman ward-vm: --restart on-failure:2 restarts twice" {
  use_client podman ward-vm
  scn_restart
}

@test "podman ward: --read-only root" {
  use_client podman ward
  scn_readonly
}

@test "podman ward-vm: --read-only root" {
  use_client podman ward-vm
  scn_readonly
}

@test "podman ward: --cap-drop ALL / --cap-add NET_ADMIN" {
  use_client podman ward
  scn_caps
}

@test "podman ward-vm: --cap-drop ALL / --cap-add NET_ADMIN" {
  use_client podman ward-vm
  scn_caps
}

@test "podman ward: default and custom seccomp profiles" {
  use_client podman ward
  scn_seccomp
}

@test "podman ward-vm: default and custom seccomp profiles" {
  use_client podman ward-vm
  scn_seccomp
}

@test "podman ward: bind volumes (rw, ro) and --tmpfs" {
  use_client podman ward
  scn_volumes
}

@test "podman ward-vm: bind volumes (rw, ro) and --tmpfs" {
  use_client podman ward-vm
  scn_volumes
}

@test "podman ward: -p publishes a port on 127.0.0.1" {
  use_client podman ward
  scn_ports
}

@test "podman ward-vm: -p publishes a port on 127.0.0.1" {
  use_client podman ward-vm
  scn_ports
}

@test "podman ward: OOM kill is reported (OOMKilled, 137)" {
  use_client podman ward
  scn_oom
}

@test "podman ward-vm: OOM kill is reported (OOMKilled, 137)" {
  use_client podman ward-vm
  scn_oom
}

@test "podman ward: pause/unpause freeze the cgroup" {
  use_client podman ward
  scn_pause
}

@test "podman ward-vm: pause/unpause freeze the cgroup" {
  use_client podman ward-vm
  scn_pause
}

@test "podman ward: stats shows the memory limit" {
  use_client podman ward
  scn_stats
}

@test "podman ward-vm: stats shows the memory limit" {
  use_client podman ward-vm
  scn_stats
}

@test "podman ward: events: create, start, died" {
  use_client podman ward
  scn_events
}

@test "podman ward-vm: events: create, start, died" {
  use_client podman ward-vm
  scn_events
}

@test "podman ward: update changes memory and CPU limits" {
  use_client podman ward
  scn_update
}

@test "podman ward-vm: update changes memory and CPU limits" {
  use_client podman ward-vm
  scn_update
}

