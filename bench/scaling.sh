#!/bin/sh
# scaling.sh: ResNet-50 training steps, 1 rank x 2 threads vs 2 ranks x 1 thread.
#
# Runs bench/bench_scaling (bench/scaling.c) under mpirun both ways on this
# machine and prints images/s, MB all-reduced per step, the time blocked in
# MPI and the fraction of the all-reduce hidden behind backward, plus the
# BLAS core.  Images are 128x128 (not 224) to keep the run short: a step's
# compute scales with the pixel count (about 1/3 of 224x224), while the
# gradient (25.6M floats = 102 MB) does not depend on the image size, so
# communication weighs about 3x more here than at 224.
#
# usage: bench/scaling.sh [BUILD_DIR] [extra bench_scaling options...]
#        (default BUILD_DIR: the current directory; e.g. --size 224 --steps 3)
set -e
build=${1:-.}
[ $# -gt 0 ] && shift
make -C "$build" bench/bench_scaling >/dev/null
bin="$build/bench/bench_scaling"
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
export OMP_WAIT_POLICY=passive
echo "== relab bench/scaling: ResNet-50, global batch 32, 128x128, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- 1 rank x 2 threads"
OMP_NUM_THREADS=2 $MPIRUN -np 1 -x OMP_NUM_THREADS -x OMP_WAIT_POLICY "$bin" --threads 2 --size 128 --batch 32 \
    --steps 3 --warmup 1 "$@"
echo "-- 2 ranks x 1 thread"
OMP_NUM_THREADS=1 $MPIRUN -np 2 -x OMP_NUM_THREADS -x OMP_WAIT_POLICY "$bin" --threads 1 --size 128 --batch 32 \
    --steps 3 --warmup 1 "$@"
