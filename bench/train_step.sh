#!/bin/sh
# train_step.sh: relab vs PyTorch on the same machine in the same run.
# ResNet-50 (and ResNet-152) train step at batch 32, 224x224, 2 threads, plus a
# forward-only figure; PyTorch as Debian ships it and tuned (jemalloc +
# channels_last).  Prints each configuration's images/s and peak RSS, and the
# ratio relab / PyTorch.  No thresholds: absolute numbers on a shared machine
# vary; the ratio measured here is what matters.
#   bench/train_step.sh [--quick] [--arch resnet50] [--batch 32] [--size 224] [--steps 5]
# Run from a build folder (make bench) or set BUILD=path/to/build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(pwd)}
py=${REF_PYTHON:-/usr/bin/python3}
arches="resnet50 resnet152"; batch=32; size=224; steps=5; warmup=2
while [ $# -gt 0 ]; do
    case $1 in
        --quick) arches=resnet50; steps=3; warmup=1 ;;
        --arch) arches=$2; shift ;;
        --batch) batch=$2; shift ;;
        --size) size=$2; shift ;;
        --steps) steps=$2; shift ;;
        *) echo "usage: $0 [--quick] [--arch A] [--batch B] [--size S] [--steps N]" >&2; exit 2 ;;
    esac
    shift
done
relab="$build/bench/bench_train_step"
[ -x "$relab" ] || { echo "train_step.sh: $relab missing; run 'make bench' in the build folder" >&2; exit 1; }
export OMP_NUM_THREADS=2
field() { "$py" -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/relab" info | sed -n '2,3p'
for arch in $arches; do
    for mode in train forward; do
        flag=""; [ $mode = forward ] && flag=--forward-only
        r=$("$relab" --arch "$arch" --batch "$batch" --size "$size" --steps "$steps" --warmup "$warmup" $flag --json)
        r_ips=$(echo "$r" | field images_per_s); r_rss=$(echo "$r" | field peak_rss_mib)
        printf '%-9s %-7s relab              %7.2f img/s  peak RSS %6.0f MiB\n' "$arch" "$mode" "$r_ips" "$r_rss"
        for cfg in shipped tuned; do
            extra=""; [ $cfg = tuned ] && extra="--tuned --channels-last"
            p=$("$py" "$here/pytorch_train_step.py" --arch "$arch" --batch "$batch" --size "$size" --threads 2 \
                --steps "$steps" --warmup "$warmup" $flag $extra --json 2>/dev/null) || { echo "  PyTorch $cfg failed"; continue; }
            p_ips=$(echo "$p" | field images_per_s); p_rss=$(echo "$p" | field peak_rss_mib)
            printf '%-9s %-7s PyTorch %-10s %7.2f img/s  peak RSS %6.0f MiB   relab/PyTorch: speed %.2fx, memory %.2fx\n' \
                "$arch" "$mode" "$cfg" "$p_ips" "$p_rss" "$(echo "$r_ips $p_ips" | awk '{print $1/$2}')" \
                "$(echo "$r_rss $p_rss" | awk '{print $1/$2}')"
        done
    done
done
