#!/bin/sh
# mpirun.sh: data-parallel relab on a plain list of hosts with Open MPI.
#
# usage: recipes/cluster/mpirun.sh HOSTFILE RANKS_PER_NODE THREADS_PER_RANK RECIPE OUT_DIR [relab train options]
#   e.g. recipes/cluster/mpirun.sh hosts.txt 2 16 recipes/imagenet/r50-baseline-90ep.recipe /shared/runs/r50
#
# Hybrid layout: ranks x OpenMP threads.  Each rank is one model replica that
# trains on its 1/N of every global batch; inside a rank, OpenMP threads and
# OpenBLAS (the OpenMP build) share the convolutions.  A good default is one
# rank per CPU socket (NUMA domain) with as many threads as that socket has
# cores: threads then share one memory controller and one L3, and the
# all-reduce moves 102 MB per step per rank for ResNet-50, so fewer, fatter
# ranks mean less communication.  Use physical cores, not hyper-threads.
#
#   --map-by ppr:R:node:PE=T  R ranks per node, each given T cores (processing
#                             elements); Open MPI places them in order, so with
#                             R = sockets each rank lands on its own socket.
#   --bind-to core            pin each rank's threads to its T cores (no
#                             migration between sockets; with PE=T Open MPI
#                             binds the rank to all T cores).
#   -x OMP_NUM_THREADS=T      threads per rank; relab also reads the recipe's
#                             `threads` key (0 = all visible cores), set it to T.
#   -x OMP_PROC_BIND/OMP_PLACES keep each OpenMP thread on one core.
#   -x OMP_WAIT_POLICY=passive  idle threads sleep instead of spinning while
#                             the rank waits in MPI.
#   -x OPENBLAS_CORETYPE      set it if Debian's OpenBLAS picks a fallback core
#                             (relab prints the core; docs/cluster.md).
#
# batch_size in the recipe is the GLOBAL batch (over all ranks); it must be a
# multiple of the number of ranks.  Scale base_lr with the batch through
# lr_reference_batch (Goyal et al. 2017) when you change the rank count.
# OUT_DIR must be on a file system every node sees: rank 0 writes logs and
# checkpoints there, and on --resume every rank reads the newest checkpoint.
# If a rank or node dies, mpirun prints which one and stops the job; re-run
# with `relab train --resume OUT_DIR` (same rank count for bitwise-identical
# continuation; another count also works, with a different batch split).
# Exit status is relab's: 0 finished, 75 stopped by SIGTERM/SIGINT (sent to
# mpirun, which forwards it) after a checkpoint, resumable; else failed.
set -e
if [ $# -lt 5 ]; then
    sed -n '3,4p' "$0"
    exit 2
fi
hostfile=$1 rpn=$2 threads=$3 recipe=$4 out=$5
shift 5
nodes=$(grep -cv '^\s*\(#\|$\)' "$hostfile")
np=$((nodes * rpn))
exec mpirun --hostfile "$hostfile" -np "$np" \
    --map-by "ppr:$rpn:node:PE=$threads" --bind-to core --report-bindings \
    -x OMP_NUM_THREADS="$threads" -x OMP_PROC_BIND=close -x OMP_PLACES=cores -x OMP_WAIT_POLICY=passive \
    ${OPENBLAS_CORETYPE:+-x OPENBLAS_CORETYPE="$OPENBLAS_CORETYPE"} \
    relab train "$recipe" --out "$out" --set threads="$threads" "$@"
