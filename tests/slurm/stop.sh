#!/usr/bin/env bash
# Stop what tests/slurm/setup.sh started and remove its /etc/slurm symlinks; safe to run any number of
# times. Processes are found by pid file (daemons; munged only when setup.sh started it) or by the marker
# variable CLIMATUNE_SLURM_BASE in their environment (slurmstepd left behind), never by name alone.
BASE=${CLIMATUNE_SLURM_BASE:-/tmp/climatune-slurm}
stop() {  # $1: pid file; TERM, then KILL after 10 s
  [ -s "$1" ] || return 0
  local p; p=$(cat "$1")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
  fi
  rm -f "$1"
}
# Jobs still running: cancel them while slurmctld is up, and give them KillWait (5 s) to end.
if [ -s "$BASE/run/slurmctld.pid" ] && kill -0 "$(cat "$BASE/run/slurmctld.pid")" 2>/dev/null; then
  export SLURM_CONF=$BASE/etc/slurm.conf
  timeout 10 scancel --quiet --user root 2>/dev/null || true
  for _ in $(seq 150); do
    timeout 5 squeue -h -t R,CG,S,PD 2>/dev/null | grep -q . || break; sleep 0.1
  done
fi
stop "$BASE/run/slurmd.pid"
stop "$BASE/run/slurmctld.pid"
# Left-over slurmstepd (a job step that outlived slurmd): only processes carrying this cluster's
# marker variable, which setup.sh gave to slurmd and which its slurmstepd children inherit.
for d in /proc/[0-9]*; do
  [ "$(readlink "$d/exe" 2>/dev/null)" = /usr/sbin/slurmstepd ] || continue
  tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qxF "CLIMATUNE_SLURM_BASE=$BASE" || continue
  kill -9 "${d#/proc/}" 2>/dev/null
done
if [ -e "$BASE/run/munged.ours" ]; then
  stop /run/munge/munged.pid
  rm -f "$BASE/run/munged.ours"
fi
for f in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
  case "$(readlink "$f" 2>/dev/null)" in "$BASE"/etc/*) rm -f "$f";; esac
done
echo "stopped"
