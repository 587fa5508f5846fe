#!/bin/sh
# train_step.sh: relab vs PyTorch on the same machine in the same run.
# ResNet-50 (and ResNet-152) train step at batch 32, 224x224, 2 threads, plus a
# forward-only figure; PyTorch as Debian ships it and tuned (jemalloc +
# channels_last).  Prints each configuration's images/s and peak RSS, and the
# ratio relab / PyTorch.  No thresholds: absolute numbers on a shared machine
# vary; the ratio measured here is what matters.
#   bench/train_step.sh [--quick] [--arch resnet50] [--batch 32] [--size 224] [--steps 5]
#   bench/train_step.sh --small   the small networks: resnet8 and resnet20 on 28x28x1
#                                 and 32x32x3, batch 128, 10 classes, train steps
# Run from a build folder (make bench) or set BUILD=path/to/build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(pwd)}
py=${REF_PYTHON:-/usr/bin/python3}
arches="resnet50 resnet152"; batch=32; size=224; steps=5; warmup=2; small=0; modes="train forward"
while [ $# -gt 0 ]; do
    case $1 in
        --quick) arches=resnet50; steps=3; warmup=1 ;;
        --small) small=1; steps=20; warmup=3; modes=train ;;
        --arch) arches=$2; shift ;;
        --batch) batch=$2; shift ;;
        --size) size=$2; shift ;;
        --steps) steps=$2; shift ;;
        *) echo "usage: $0 [--quick | --small] [--arch A] [--batch B] [--size S] [--steps N]" >&2; exit 2 ;;
    esac
    shift
done
relab="$build/bench/bench_train_step"
[ -x "$relab" ] || { echo "train_step.sh: $relab missing; run 'make bench' in the build folder" >&2; exit 1; }
export OMP_NUM_THREADS=2
field() { "$py" -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/relab" info | sed -n '2,3p'
# one configuration: arch batch size in_channels classes
compare() {
    arch=$1; b=$2; s=$3; ch=$4; cl=$5
    label="$arch"; [ "$small" = 1 ] && label="$arch ${s}x${s}x$ch"
    for mode in $modes; do
        flag=""; [ $mode = forward ] && flag=--forward-only
        r=$("$relab" --arch "$arch" --batch "$b" --size "$s" --in-channels "$ch" --classes "$cl" --steps "$steps" \
            --warmup "$warmup" $flag --json)
        r_ips=$(echo "$r" | field images_per_s); r_rss=$(echo "$r" | field peak_rss_mib)
        printf '%-16s %-7s relab              %8.2f img/s  peak RSS %6.0f MiB\n' "$label" "$mode" "$r_ips" "$r_rss"
        for cfg in shipped tuned; do
            extra=""; [ $cfg = tuned ] && extra="--tuned --channels-last"
            p=$("$py" "$here/pytorch_train_step.py" --arch "$arch" --batch "$b" --size "$s" --in-channels "$ch" \
                --classes "$cl" --threads 2 --steps "$steps" --warmup "$warmup" $flag $extra --json 2>/dev/null) ||
                { echo "  PyTorch $cfg failed"; continue; }
            p_ips=$(echo "$p" | field images_per_s); p_rss=$(echo "$p" | field peak_rss_mib)
            printf '%-16s %-7s PyTorch %-10s %8.2f img/s  peak RSS %6.0f MiB   relab/PyTorch: speed %.2fx, memory %.2fx\n' \
                "$label" "$mode" "$cfg" "$p_ips" "$p_rss" "$(echo "$r_ips $p_ips" | awk '{print $1/$2}')" \
                "$(echo "$r_rss $p_rss" | awk '{print $1/$2}')"
        done
    done
}
if [ "$small" = 1 ]; then
    for arch in resnet8 resnet20; do
        compare "$arch" 128 28 1 10
        compare "$arch" 128 32 3 10
    done
else
    for arch in $arches; do compare "$arch" "$batch" "$size" 3 1000; done
fi
