#!/usr/bin/env bash
# Submits a sweep as a Slurm job array of N shards and a merge job that runs when all of them succeeded.
# Usage: scripts/slurm/submit-sweep.sh SWEEP OUT N [extra sbatch options...]
# OUT must be on a file system every node sees; vmsplit must be on PATH there (or set VMSPLIT).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 SWEEP OUT N [sbatch options...]" >&2; exit 2; }
sweep=$1 out=$2 n=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
array=$(SWEEP=$sweep OUT=$out sbatch --parsable --export=ALL --array="0-$((n - 1))" --output="$out/slurm-%A_%a.out" "$@" "$here/sweep-array.sbatch")
merge=$(sbatch --parsable --dependency="afterok:${array%%;*}" --job-name=vmsplit-merge --output="$out/slurm-merge-%j.out" "$@" \
  --wrap="${VMSPLIT:-vmsplit} merge $out/shard-* --out $out/merged")
echo "array job $array ($n shards), merge job $merge: results in $out/merged"
