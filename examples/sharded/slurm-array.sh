#!/usr/bin/env bash
# Grading a class on a Slurm cluster: a job array with one task per shard. Each task reads its
# shard from SLURM_ARRAY_TASK_ID (--partition hash:slurm/N, counted from the array's first
# index); the merge runs once every task has finished:
#   sbatch slurm-array.sh
#   sbatch --dependency=afterany:JOBID --wrap 'srpc-check grade --merge shards/shard-* --out results'
# CLASS, SHARDS, SEED and SRPC_COMMAND can be set in the environment. srpc-check needs root, or
# user namespaces, to box each submission.
#SBATCH --job-name=srpc-grade
#SBATCH --array=1-3
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
set -euo pipefail
CLASS="${CLASS:-submissions}"
SHARDS="${SHARDS:-3}"   # keep equal to the size of --array
SEED="${SEED:-2026}"
SRPC_COMMAND="${SRPC_COMMAND:-python3 srpc_lab.py SERVER}"
status=0
srpc-check grade "$CLASS" --exec "$SRPC_COMMAND" --out "shards/shard-$SLURM_ARRAY_TASK_ID" \
    --partition "hash:slurm/$SHARDS" --seed "$SEED" --jobs "${SLURM_CPUS_PER_TASK:-2}" || status=$?
# 1: some submission could not be graded, which the results say; only usage errors fail the task.
[ "$status" -le 1 ]
