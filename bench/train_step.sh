#!/bin/sh
# train_step.sh: relab vs PyTorch on the same machine, in the same run, on the
# same vector instruction set.
#
# relab's convolutions run on OpenBLAS, whose kernels (its "core") fix the
# vector ISA: Haswell and Zen run AVX2, SkylakeX and Cooperlake AVX-512.
# oneDNN, under PyTorch, picks its own ISA.  A fair comparison holds PyTorch
# to the ISA of relab's core (pytorch_train_step.py --isa: ONEDNN_MAX_CPU_ISA,
# ATEN_CPU_CAPABILITY), and prints the ISA oneDNN actually ran on.  The
# unrestricted PyTorch figure is printed too, for transparency.
#
# For each BLAS core and configuration the programs run interleaved, round
# after round (relab, PyTorch, relab, PyTorch, ...), so that a change in the
# machine's load hits all of them alike.  Each prints the median and the
# minimum of its step times; over the rounds the script reports the median of
# the medians and the best (minimum) step, and with two or more rounds each
# round's own ratio (relab against the PyTorch runs right after it), whose
# spread is the host's from minute to minute.  On a shared machine contention
# only ever slows a run, so the best step is the most repeatable figure; the
# load average is printed with each round.
#
# Configurations: ResNet-50 and ResNet-152 (batch 32, 224x224), train step
# and forward; with --small resnet8 and resnet20 on 28x28x1 and 32x32x3,
# batch 128, train step.  PyTorch "tuned" is jemalloc without decay plus the
# faster memory layout: channels_last for the ImageNet ResNets; for the small
# networks both layouts are run and the ratio is against the faster one.
#
#   bench/train_step.sh [--quick | --small] [--arch A] [--batch B] [--size S]
#       [--steps N] [--rounds R] [--cores "Haswell SkylakeX"] [--modes "train forward"] [--shipped]
#
#   --cores   OpenBLAS cores to run relab on, one after the other (default: the
#             one it runs on in this environment, OPENBLAS_CORETYPE or its own
#             detection); e.g. --cores "Haswell SkylakeX" on an AVX-512 machine
#             gives both ISAs' comparisons
#   --shipped also PyTorch as Debian ships it (glibc malloc, NCHW), same ISA
# Run from a build folder (make bench) or set BUILD=path/to/build.  No
# thresholds: the ratios measured here are the result.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(pwd)}
py=${REF_PYTHON:-/usr/bin/python3}
arches="resnet50 resnet152"; batch=32; size=224; steps=5; warmup=2; small=0; modes="train forward"; rounds=3
cores=""; shipped=0
while [ $# -gt 0 ]; do
    case $1 in
        --quick) arches=resnet50; steps=3; warmup=1; rounds=2 ;;
        --small) small=1; steps=20; warmup=3; modes=train ;;
        --arch) arches=$2; shift ;;
        --batch) batch=$2; shift ;;
        --size) size=$2; shift ;;
        --steps) steps=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --cores) cores=$2; shift ;;
        --modes) modes=$2; shift ;;
        --shipped) shipped=1 ;;
        *) echo "usage: $0 [--quick | --small] [--arch A] [--batch B] [--size S] [--steps N] [--rounds R]" \
                "[--cores \"C1 C2\"] [--modes \"train forward\"] [--shipped]" >&2; exit 2 ;;
    esac
    shift
done
relab="$build/bench/bench_train_step"
[ -x "$relab" ] || { echo "train_step.sh: $relab missing; run 'make bench' in the build folder" >&2; exit 1; }
export OMP_NUM_THREADS=2
[ -n "$cores" ] || cores=$("$build/relab" info | sed -n 's/^BLAS: *OpenBLAS, core \([A-Za-z0-9]*\).*/\1/p')
results=$(mktemp)
trap 'rm -f "$results"' EXIT INT TERM

# The oneDNN ISA matching an OpenBLAS core's vector instructions.
isa_for() {
    case $1 in
        Haswell | Zen) echo AVX2 ;;
        SkylakeX | Cooperlake | SapphireRapids) echo AVX512_CORE ;;
        *) echo "train_step.sh: no oneDNN ISA known for OpenBLAS core '$1'; PyTorch runs unrestricted" >&2
           echo ALL ;;
    esac
}

load() { cut -d' ' -f1 /proc/loadavg; }

# one run; appends a JSON line tagged with its label to $results
# (POSIX sh functions share the caller's variables: the names here are their own.)
run_relab() { # core label args...
    run_core=$1; run_label=$2; shift 2
    r=$(OPENBLAS_CORETYPE=$run_core "$relab" "$@" --json) || { echo "  relab failed ($run_label)" >&2; return 0; }
    echo "$run_label	$(load)	$r" >>"$results"
}
run_torch() { # core label args...
    run_core=$1; run_label=$2; shift 2
    p=$(OPENBLAS_CORETYPE=$run_core "$py" "$here/pytorch_train_step.py" --threads 2 "$@" --json 2>/dev/null) ||
        { echo "  PyTorch failed ($run_label)" >&2; return 0; }
    echo "$run_label	$(load)	$p" >>"$results"
}

# Prints the table of one (core, configuration, mode) from $results.
summary() { # key batch
    "$py" - "$results" "$1" "$2" <<'EOF'
import json, statistics, sys
path, key, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {}
for line in open(path):
    label, load, js = line.rstrip("\n").split("\t", 2)
    k, _, impl = label.partition("|")
    if k == key:
        runs.setdefault(impl, []).append((float(load), json.loads(js)))
def steps(d):
    """A run's (minimum, median) step time in s, under either key name."""
    return d.get("min_step_s", d.get("step_s_min")), d.get("median_step_s", d.get("step_s_median"))
def fig(impl):
    rs = [d for _, d in runs.get(impl, [])]
    if not rs:
        return None
    med = [steps(d)[1] for d in rs]
    mins = [steps(d)[0] for d in rs]
    return batch / statistics.median(med), batch / min(mins), max(d["peak_rss_mib"] for d in rs), rs[-1]
loads = sorted(l for v in runs.values() for l, _ in v)
print("  %d run(s) per program, load %.1f-%.1f" % (max(len(v) for v in runs.values()), loads[0], loads[-1]))
rows = [(impl, fig(impl)) for impl in runs]
for impl, f in rows:
    extra = ""
    if impl != "relab":
        extra = "  oneDNN: %s (%s)" % (f[3].get("onednn_isa"), ", ".join(f[3].get("onednn_conv_impls") or []))
    if impl == "relab":
        # CPU seconds per step move much less with the load than wall time
        # (relab's threads sleep after a short spin): divided by the threads,
        # about the step on free cores.
        cpu = statistics.median(d["cpu_s_per_step"] for _, d in runs[impl])
        th = runs[impl][-1][1]["threads"]
        extra = "  CPU %.2f s per step (%.2f s on %d free cores)" % (cpu, cpu / th, th)
    print("  %-34s %9.2f img/s median %9.2f best   peak RSS %6.0f MiB%s" % (impl, f[0], f[1], f[2], extra))
r = fig("relab")
matched = [(impl, f) for impl, f in rows if impl.startswith("PyTorch tuned") and "unrestricted" not in impl]
if r and matched:
    best_impl, best = max(matched, key=lambda x: x[1][1])
    print("  relab / %s: speed %.2fx (median %.2fx), peak RSS %.2fx" %
          (best_impl, r[1] / best[1], r[0] / best[0], r[2] / best[2]))
    free = [(impl, f) for impl, f in rows if "unrestricted" in impl]
    if free:
        impl, f = max(free, key=lambda x: x[1][1])
        print("  relab / %s: speed %.2fx (median %.2fx)" % (impl, r[1] / f[1], r[0] / f[0]))
    # Round i's relab run against round i's tuned PyTorch runs (the faster
    # layout of that round), which ran right after it: the host's state
    # changes from minute to minute, so these pairs show the spread of the
    # ratio itself, which the figures over all rounds above hide.
    def speeds(d):
        return tuple(batch / t for t in steps(d))
    rounds = len(runs["relab"])
    tuned = [[speeds(d) for _, d in runs[impl]] for impl, _ in matched]
    if rounds > 1 and all(len(t) == rounds for t in tuned):
        best_r, med_r = [], []
        for i in range(rounds):
            mine = speeds(runs["relab"][i][1])
            best_r.append(mine[0] / max(t[i][0] for t in tuned))
            med_r.append(mine[1] / max(t[i][1] for t in tuned))
        print("  round by round: best step %s; median step %s; median of the rounds %.2fx (median step %.2fx)" %
              (", ".join("%.2fx" % x for x in best_r), ", ".join("%.2fx" % x for x in med_r),
               statistics.median(best_r), statistics.median(med_r)))
EOF
}

# compare core arch batch size in_channels classes layouts
compare() {
    core=$1; arch=$2; b=$3; s=$4; ch=$5; cl=$6; layouts=$7
    isa=$(isa_for "$core")
    label="$arch"; [ "$small" = 1 ] && label="$arch ${s}x${s}x$ch"
    common="--arch $arch --batch $b --size $s --in-channels $ch --classes $cl --steps $steps --warmup $warmup"
    for mode in $modes; do
        flag=""; [ "$mode" = forward ] && flag=--forward-only
        key="$core $label $mode"
        for r in $(seq "$rounds"); do
            run_relab "$core" "$key|relab" $common $flag
            for lay in $layouts; do
                lf=""; [ "$lay" = channels_last ] && lf=--channels-last
                run_torch "$core" "$key|PyTorch tuned $lay $isa" $common $flag --tuned $lf --isa "$isa"
            done
            [ "$shipped" = 1 ] && run_torch "$core" "$key|PyTorch shipped NCHW $isa" $common $flag --isa "$isa"
            [ "$isa" = ALL ] || for lay in $layouts; do
                lf=""; [ "$lay" = channels_last ] && lf=--channels-last
                run_torch "$core" "$key|PyTorch tuned $lay unrestricted" $common $flag --tuned $lf
            done
        done
        echo "$key (relab OpenBLAS $core; PyTorch oneDNN held to $isa)"
        summary "$key" "$b"
    done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/relab" info | sed -n '2,4p'
for core in $cores; do
    if [ "$small" = 1 ]; then
        for arch in resnet8 resnet20; do
            compare "$core" "$arch" 128 28 1 10 "NCHW channels_last"
            compare "$core" "$arch" 128 32 3 10 "NCHW channels_last"
        done
    else
        for arch in $arches; do compare "$core" "$arch" "$batch" "$size" 3 1000 channels_last; done
    fi
done
