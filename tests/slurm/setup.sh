#!/usr/bin/env bash
# A real single-node SLURM for tests/test_slurm.py (Debian 12: SLURM 22.05 + munge from Debian packages):
# partitions `cpu` (default) and `a100`, one node with fake GPUs (GRES gpu:a100:4 backed by /dev/null).
#
#   tests/slurm/setup.sh      start it (root); idempotent: stops what a previous run left first
#   tests/slurm/stop.sh       stop it (only what setup.sh started)
#
# Everything lives under $CLIMATUNE_SLURM_BASE (default /tmp/climatune-slurm) except the Debian packages,
# /run/munge (munged's socket) and two symlinks /etc/slurm/{slurm,gres}.conf: the SLURM executor plugin's
# job step strips SLURM_CONF from the job's environment, so `srun` inside a job reads /etc/slurm/slurm.conf.
#
# Exit status: 0 up; 2 cannot run here (not root, no apt-get, a foreign SLURM config); 3 the packages
# could not be installed; 1 anything else (daemons did not come up: see $BASE/log/).
set -euo pipefail
BASE=${CLIMATUNE_SLURM_BASE:-/tmp/climatune-slurm}
case "$BASE" in /*/*) ;; *) echo "CLIMATUNE_SLURM_BASE=$BASE: want an absolute path below a folder" >&2; exit 1;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
NGPU=4
T0=$EPOCHREALTIME
ts() { awk -v a="$EPOCHREALTIME" -v b="$T0" -v m="$*" 'BEGIN { printf "[setup %5.1fs] %s\n", a - b, m }'; }
cannot() { echo "SKIP: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || cannot "needs root (installs Debian packages, writes /etc/slurm)"

# A SLURM config that is not ours means a real cluster node or a developer's setup: leave it alone.
for f in /etc/slurm/slurm.conf /etc/slurm/gres.conf; do
  if [ -e "$f" ] || [ -L "$f" ]; then
    case "$(readlink "$f" || true)" in
      "$BASE"/etc/*) ;;
      *) cannot "$f exists and is not this test's; not touching an existing SLURM" ;;
    esac
  fi
done

# Leftovers of an earlier (killed) run: stop them before anything else.
"$HERE/stop.sh" >/dev/null 2>&1 || true

# ------------------------------------------------------------------ packages
need_install=0
for b in slurmctld slurmd sbatch squeue scontrol munged; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || need_install=1
done
if [ $need_install = 1 ]; then
  command -v apt-get >/dev/null 2>&1 || cannot "SLURM is not installed and there is no apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' maintainer scripts from starting system services (systemd units of
  # munge/slurmctld/slurmd): this script starts the daemons itself, with its own config.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  fi
  apt_ok=1
  APT="apt-get -q -o DPkg::Lock::Timeout=120 -o Acquire::Retries=3"
  $APT update >"$BASE.apt.log" 2>&1 || true   # one broken third-party list need not stop the install
  $APT install -y --no-install-recommends slurmctld slurmd slurm-client munge >>"$BASE.apt.log" 2>&1 || apt_ok=0
  if [ $apt_ok = 0 ]; then
    tail -5 "$BASE.apt.log" >&2
    echo "SKIP: apt-get install slurmctld slurmd slurm-client munge failed (log: $BASE.apt.log)" >&2
    exit 3
  fi
  ts "installed slurmctld slurmd slurm-client munge"
fi

rm -rf "$BASE"
mkdir -p "$BASE"/{etc,var/slurmctld,var/slurmd,log,run,fakedev}

# ------------------------------------------------------------------ munge
if [ ! -s /etc/munge/munge.key ]; then        # the Debian postinst normally creates it
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  fi
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged          # forks; pid in /run/munge/munged.pid
  touch "$BASE/run/munged.ours"                  # stop.sh stops munged only when this run started it
  for _ in $(seq 100); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null
ts "munged up"

# ------------------------------------------------------------------ fake GPUs
# gres.conf File= must stat as a character device: symlinks to /dev/null do, and SLURM then sets
# CUDA_VISIBLE_DEVICES=0,1,... for the allocated ones (torch finds no CUDA and runs on CPU).
for i in $(seq 0 $((NGPU - 1))); do ln -sfn /dev/null "$BASE/fakedev/nvidia$i"; done

# ------------------------------------------------------------------ configs
H=$(hostname -s)
cat > "$BASE/etc/slurm.conf" <<CONF
ClusterName=climatune-test
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
StateSaveLocation=$BASE/var/slurmctld
SlurmdSpoolDir=$BASE/var/slurmd
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
DefMemPerCPU=256
# No slurmdbd: sacct does not work, the profile is told to poll squeue (site file of the test), and
# finished jobs must stay visible to squeue / scontrol for a while.
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
KillWait=5
# The node is declared larger than the machine (CPUs, memory, GPUs are not enforced here).
SlurmdParameters=config_overrides
NodeName=$H NodeAddr=127.0.0.1 CPUs=16 Boards=1 SocketsPerBoard=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=262144 Gres=gpu:a100:$NGPU State=UNKNOWN
PartitionName=cpu  Nodes=$H Default=YES MaxTime=INFINITE State=UP
PartitionName=a100 Nodes=$H Default=NO  MaxTime=INFINITE State=UP
CONF
cat > "$BASE/etc/gres.conf" <<CONF
AutoDetect=off
NodeName=$H Name=gpu Type=a100 File=$BASE/fakedev/nvidia[0-$((NGPU - 1))]
CONF
mkdir -p /etc/slurm
ln -sfn "$BASE/etc/slurm.conf" /etc/slurm/slurm.conf
ln -sfn "$BASE/etc/gres.conf" /etc/slurm/gres.conf

# ------------------------------------------------------------------ daemons
export SLURM_CONF=/etc/slurm/slurm.conf
# Marks every process of this test cluster (the daemons and the slurmstepd they fork), so that
# stop.sh can find leftover slurmstepd processes by this and nothing else.
export CLIMATUNE_SLURM_BASE=$BASE
/usr/sbin/slurmctld -c        # -c: no state of earlier runs
/usr/sbin/slurmd -N "$H"
up=0
for _ in $(seq 200); do
  case "$(sinfo -h -o %t -p cpu 2>/dev/null)" in idle|mix|alloc) up=1; break;; esac; sleep 0.1
done
if [ $up = 0 ]; then
  sinfo >&2 || true; tail -20 "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log" >&2 || true
  echo "slurmctld/slurmd did not come up" >&2; exit 1
fi
ts "slurmctld + slurmd up: $(sinfo -h -o '%P %t %G' | tr '\n' ' ')"

# ------------------------------------------------------------------ smoke test
srun -p cpu -t 1 true
cvd=$(srun -p a100 -t 1 --gpus=a100:2 printenv CUDA_VISIBLE_DEVICES)
[ "$cvd" = "0,1" ] || { echo "smoke test: CUDA_VISIBLE_DEVICES=$cvd, expected 0,1" >&2; exit 1; }
ts "smoke test OK (a100 job sees CUDA_VISIBLE_DEVICES=$cvd)"
