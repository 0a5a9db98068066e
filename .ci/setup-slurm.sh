# Sourced by .ci/run (which defines apt_install and runs with set -euo pipefail: nothing here may stop the run; a
# cluster that does not come up only makes its tests skip): a single-node SLURM cluster on this machine for the
# SLURM executor's integration tests (SlurmExecutorTest; they skip, saying so, without it). Debian's slurmctld,
# slurmd, slurm-client and munge; one node named after this host with its CPUs, 4 GiB of schedulable memory (less on
# a smaller machine) and a GRES of two "GPUs" over placeholder device files, so that --gres=gpu:1 is scheduled on a
# machine without a GPU; one partition, kiln. Waits until the node is idle. Rerunnable: daemons already up with the
# same configuration are left alone. Exports KILN_TEST_SLURM=1 and KILN_TEST_SLURM_PARTITION.
slurm_setup() {
  local conf_dir=/etc/slurm node cpus changed=""
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
      || ! command -v munged >/dev/null; then
    apt_install slurmctld slurmd slurm-client munge || { echo "SLURM could not be installed; its tests will skip" >&2; return 0; }
  fi
  node=$(hostname -s)
  cpus=$(nproc)
  # slurmd drains a node that has less memory than slurm.conf gives it: 4 GiB, or less on a small machine.
  local memory_mib
  memory_mib=$(awk '/^MemTotal:/ { m = int($2 / 1024) - 512; print (m < 4096 ? m : 4096) }' /proc/meminfo)

  # munge authenticates every SLURM message; the package makes a key, one is made here if it did not.
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key || true
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge || true
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force || echo "munged did not start" >&2
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  fi

  # Placeholder "GPUs": slurmd only needs files to name in gres.conf; nothing opens them (task/none, no cgroups).
  for i in 0 1; do
    [ -e /dev/kiln-fake-gpu$i ] || mknod /dev/kiln-fake-gpu$i c 1 3 2>/dev/null || touch /dev/kiln-fake-gpu$i
  done

  mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
  local conf gres
  # Jobs run as the submitting user (root here). linuxproc and task/none need no cgroups; cons_tres with
  # CR_CPU_Memory hands out CPUs, memory and GRES, so two 1-CPU, 1-GPU jobs run at once and a third waits.
  # KillWait: seconds between SIGTERM and SIGKILL at a cancel or a time limit. MinJobAge: an ended job stays
  # visible to squeue/scontrol for 5 minutes (no accounting database here).
  conf="ClusterName=kiln-ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
GresTypes=gpu
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mib Gres=gpu:2 State=UNKNOWN
PartitionName=kiln Nodes=$node Default=YES MaxTime=INFINITE State=UP"
  gres="NodeName=$node Name=gpu File=/dev/kiln-fake-gpu[0-1]"
  if [ "$(cat $conf_dir/slurm.conf 2>/dev/null)" != "$conf" ] || [ "$(cat $conf_dir/gres.conf 2>/dev/null)" != "$gres" ]; then
    printf '%s\n' "$conf" >"$conf_dir/slurm.conf"
    printf '%s\n' "$gres" >"$conf_dir/gres.conf"
    changed=1
  fi

  if [ -n "$changed" ] || ! scontrol ping 2>/dev/null | grep -q UP; then
    # A pid file can outlive a reboot, and its number can then be another program's: only a slurmd or a
    # slurmctld is stopped.
    local daemon pid
    for daemon in slurmd slurmctld; do
      pid=$(cat "/run/slurm/$daemon.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon" ]; then kill "$pid" 2>/dev/null || true; fi
    done
    sleep 1
    slurmctld || echo "slurmctld did not start" >&2
    slurmd || echo "slurmd did not start" >&2
  elif ! pgrep -x slurmd >/dev/null; then
    slurmd || echo "slurmd did not start" >&2
  fi
  local state=""
  for _ in $(seq 100); do
    state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n 1 || true)
    case "$state" in
      idle|mixed|allocated) break ;;
      down*|drain*|unknown*) scontrol update NodeName="$node" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.2
  done
  case "$state" in
    idle|mixed|allocated)
      export KILN_TEST_SLURM=1 KILN_TEST_SLURM_PARTITION=kiln
      echo "SLURM for tests: node $node ($state), partition kiln, GRES $(sinfo -h -o '%G' 2>/dev/null | head -n 1 || true)" ;;
    *)
      echo "SLURM did not come up (node $node: ${state:-no answer}); its tests will skip" >&2
      tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 2>/dev/null || true ;;
  esac
}
slurm_setup
