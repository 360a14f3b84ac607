#!/usr/bin/env bats
# dockerd 20.10 with ward and ward-vm added as runtimes (daemon.json
# "runtimes", as in docs/docker.md), started privately by cl_dockerd; each
# scenario of scenarios.bash runs with `docker run --runtime ward` and with
# `--runtime ward-vm` (skipped, with the probe's reason, where ward-vm
# cannot start a microVM).

load helpers
load scenarios

setup_file() { cl_client_setup_file dockerd cl_dockerd dk; }

teardown_file() {
  [[ -n ${CL_TMP:-} ]] || return 0
  [[ -S $CL_TMP/dk/sock ]] && dk rm -f $(dk ps -aq 2>/dev/null) >/dev/null 2>&1
  cl_teardown_file
}

setup() { cl_file_skip; }
teardown() { scn_teardown; }

@test "docker ward: run --rm: output and exit code" {
  use_client docker ward
  scn_run_exit
}

@test "docker ward-vm: run --rm: output and exit code" {
  use_client docker ward-vm
  scn_run_exit
}

@test "docker ward: --memory 64m sets the memory cgroup limit (issue #6)" {
  use_client docker ward
  scn_memory
}

@test "docker ward-vm: --memory 64m sets the memory cgroup limit (issue #6)" {
  use_client docker ward-vm
  scn_memory
}

@test "docker ward: --cpus and --pids-limit set and enforce cgroup limits" {
  use_client docker ward
  scn_cpu_pids
}

@test "docker ward-vm: --cpus and --pids-limit set and enforce cgroup limits" {
  use_client docker ward-vm
  scn_cpu_pids
}

@test "docker ward: run -t and exec -t get a terminal" {
  use_client docker ward
  scn_tty
}

@test "docker ward-vm: run -t and exec -t get a terminal" {
  use_client docker ward-vm
  scn_tty
}

@test "docker ward: exec: exit code, user, env, workdir" {
  use_client docker ward
  scn_exec
}

@test "docker ward-vm: exec: exit code, user, env, workdir" {
  use_client docker ward-vm
  scn_exec
}

@test "docker ward: attach to a running shell, its exit code" {
  use_client docker ward
  scn_attach
}

@test "docker ward-vm: attach to a running shell, its exit code" {
  use_client docker ward-vm
  scn_attach
}

@test "docker ward: attach to a tty container from a terminal" {
  use_client docker ward
  scn_attach_tty
}

@test "docker ward-vm: attach to a tty container from a terminal" {
  use_client docker ward-vm
  scn_attach_tty
}

@test "docker ward: logs: stdout and stderr" {
  use_client docker ward
  scn_logs
}

@test "docker ward-vm: logs: stdout and stderr" {
  use_client docker ward-vm
  scn_logs
}

@test "docker ward: kill -s USR1 and stop deliver the signals" {
  use_client docker ward
  scn_signals
}

@test "docker ward-vm: kill -s USR1 and stop deliver the signals" {
  use_client docker ward-vm
  scn_signals
}

@test "docker ward: --restart on-failure:2 restarts twice" {
  use_client docker ward
  scn_restart
}

@test "docker ward-vm: --restart on-failure:2 restarts twice" {
  use_client docker ward-vm
  scn_restart
}

@test "docker ward: --read-only root" {
  use_client docker ward
  scn_readonly
}

@test "docker ward-vm: --read-only root" {
  use_client docker ward-vm
  scn_readonly
}

@test "docker ward: --cap-drop ALL / --cap-add NET_ADMIN" {
  use_client docker ward
  scn_caps
}

@test "docker ward-vm: --cap-drop ALL / --cap-add NET_ADMIN" {
  use_client docker ward-vm
  scn_caps
}

@test "docker ward: default and custom seccomp profiles" {
  use_client docker ward
  scn_seccomp
}

@test "docker ward-vm: default and custom seccomp profiles" {
  use_client docker ward-vm
  scn_seccomp
}

@test "docker ward: bind volumes (rw, ro) and --tmpfs" {
  use_client docker ward
  scn_volumes
}

@test "docker ward-vm: bind volumes (rw, ro) and --tmpfs" {
  use_client docker ward-vm
  scn_volumes
}

@test "docker ward: -p publishes a port on 127.0.0.1" {
  use_client docker ward
  scn_ports
}

@test "docker ward-vm: -p publishes a port on 127.0.0.1" {
  use_client docker ward-vm
  scn_ports
}

@test "docker ward: OOM kill is reported (OOMKilled, 137)" {
  use_client docker ward
  scn_oom
}

@test "docker ward-vm: OOM kill is reported (OOMKilled, 137)" {
  use_client docker ward-vm
  scn_oom
}

@test "docker ward: pause/unpause freeze the cgroup" {
  use_client docker ward
  scn_pause
}

@test "docker ward-vm: pause/unpause freeze the cgroup" {
  use_client docker ward-vm
  scn_pause
}

@test "docker ward: stats shows the memory limit" {
  use_client docker ward
  scn_stats
}

@test "docker ward-vm: stats shows the memory limit" {
  use_client docker ward-vm
  scn_stats
}

@test "docker ward: events: create, start, died" {
  use_client docker ward
  scn_events
}

@test "docker ward-vm: events: create, start, died" {
  use_client docker ward-vm
  scn_events
}

@test "docker ward: update changes memory and CPU limits" {
  use_client docker ward
  scn_update
}

@test "docker ward-vm: update changes memory and CPU limits" {
  use_client docker ward-vm
  scn_update
}

