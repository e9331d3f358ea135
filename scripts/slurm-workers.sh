#!/usr/bin/env bash
# Workers for `repro run --executor bullmq` as a Slurm job array: each array task is one
# `repro worker` process on a compute node; the coordinator (`repro run`) runs on the login node
# or in its own small job. The project checkout must be on a file system every node sees (the
# store `artifacts/` is shared through it), built once (`npm ci && npm run build`), and Redis must
# be reachable from the compute nodes (e.g. `redis-server --port 6379 --bind 0.0.0.0
# --protected-mode no --save '' --appendonly no` on the login node, or a site service).
#
#   # 1. Redis (login node), once:
#   redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --daemonize yes
#   # 2. 50 workers, 4 cores each (one ctx.map chunk job per core):
#   REDIS=redis://$(hostname):6379 sbatch --array=1-50 scripts/slurm-workers.sh
#   # 3. the run (login node): light nodes here, cpu nodes and ctx.map chunks on the workers
#   npx repro run --executor bullmq --redis redis://$(hostname):6379 --map-jobs 200
#   # 4. workers exit after 10 idle minutes (--idle-exit), or: scancel <jobid>
#
# Change the #SBATCH lines to your site (partition, account, time, memory).
#SBATCH --job-name=repro-worker
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=logs/repro-worker-%A_%a.log
set -euo pipefail
: "${REDIS:?set REDIS=redis://HOST:PORT (as given to repro run --redis)}"
cd "${SLURM_SUBMIT_DIR:-$(pwd)}" # the checkout the job was submitted from (shared file system)
mkdir -p logs
# one node job and one chunk job per allocated core; SIGTERM (scancel, time limit) lets the
# jobs in progress finish; a killed worker's jobs are retried by the others after --lock-ms
exec node dist/engine/cli/main.js worker \
  --redis "$REDIS" \
  --concurrency "${SLURM_CPUS_PER_TASK:-1}" \
  --idle-exit "${REPRO_IDLE_EXIT:-600}" \
  --lock-ms 60000 --stalled-ms 30000
