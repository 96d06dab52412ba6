#!/usr/bin/env bash
# CI: a real single-node Slurm cluster runs a 4-shard job array of sweeps/smoke.yaml; the merged shards must
# be byte-identical to one process's run. Installs slurm-wlm and munge from the distribution (as root), starts
# munged, slurmctld and slurmd on private sockets, ports and directories, and stops and removes all of it on
# exit. Prints "slurm: N passed, N failed" as its last line (.ci/run adds it to its own count).
# Usage: scripts/slurm/ci-single-node.sh [VMSPLIT]   (default: the Debug build under src/Vmsplit.Cli/bin)
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
vmsplit=${1:-$repo/src/Vmsplit.Cli/bin/Debug/net10.0/vmsplit}
sweep=$repo/sweeps/smoke.yaml
shards=4

fail() {
  echo "slurm: $1" >&2
  echo "slurm: 0 passed, 1 failed"
  exit 1
}

[ -x "$vmsplit" ] || fail "no vmsplit at $vmsplit (build first)"
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || fail "slurm-wlm and munge are not installed and this is not root"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq slurm-wlm munge; } >/dev/null 2>&1 || fail "apt-get install slurm-wlm munge failed"
fi

tmp=$(mktemp -d /tmp/vmsplit-slurm.XXXXXX)
chmod 0700 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" TERM INT HUP

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/out"
chmod 0700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
munged --force --socket="$tmp/munge/munge.sock" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" \
  || fail "munged did not start: $(tail -3 "$tmp/munge/munged.log" 2>/dev/null)"
pids+=("$(cat "$tmp/munge/munged.pid")")

# ports chosen away from Slurm's defaults (6817/6818) so that a cluster already on this host is not disturbed
cat > "$tmp/slurm.conf" <<CONF
ClusterName=vmsplit-ci
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SchedulerType=sched/builtin
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=30 State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start: $(tail -3 "$tmp/slurmctld.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$tmp/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || fail "slurmd did not start: $(tail -3 "$tmp/slurmd.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$tmp/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmd.pid")")
for _ in $(seq 100); do
  sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break
  sleep 0.2
done
sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' || fail "the node did not come up: $(sinfo 2>&1 | tail -2); $(tail -3 "$tmp/slurmd.log")"

# the single-process reference
"$vmsplit" sweep "$sweep" --out "$tmp/out/single" >/dev/null || fail "the single-process sweep failed"

# the recipe of docs/cluster.md: an array of shards, then a merge that depends on all of them
start=$(date +%s)
VMSPLIT=$vmsplit SWEEP=$sweep OUT=$tmp/out/array \
  sbatch --parsable --wait --array=0-$((shards - 1)) --export=ALL --chdir="$tmp/out" \
  --output="$tmp/out/slurm-%A_%a.out" --time=10 "$repo/scripts/slurm/sweep-array.sbatch" > "$tmp/jobid" 2> "$tmp/sbatch.err" \
  || fail "the job array failed: $(cat "$tmp/sbatch.err"; tail -n 3 "$tmp"/out/slurm-*.out 2>/dev/null)"
"$vmsplit" merge "$tmp"/out/array/shard-* --out "$tmp/out/merged" >/dev/null || fail "merge failed"
for f in runs.csv runs.parquet sweep.json; do
  cmp -s "$tmp/out/single/$f" "$tmp/out/merged/$f" || fail "$f of the merged $shards-shard Slurm array differs from the single-process run"
done
echo "slurm: job $(cat "$tmp/jobid") ran $shards array tasks on $host ($cpus CPUs) in $(( $(date +%s) - start )) s; merged output byte-identical to one process"
echo "slurm: 1 passed, 0 failed"
