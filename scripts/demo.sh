#!/bin/sh
# demo.sh: label noise at work on Fashion-MNIST, in under 10 minutes on 2 cores.
#
#   scripts/demo.sh [OUT]        (default OUT = demo-out; RELAB=path/to/relab)
#
# 1. the clean training list of the first DEMO_N (1000) Fashion-MNIST training
#    images (relab list), and the test list (10,000 images, clean labels);
# 2. injected noise (relab noise, DEMO_NOISE=symmetric at DEMO_RATE=0.4, seed
#    1) with a record of what changed; the same noise on the test labels
#    (seed 2) plays the part of ImageNet's original, noisy validation labels;
# 3. two out-of-fold teachers (relab split makes two class-stratified folds;
#    teacher k trains on the other fold and predicts fold k with relab
#    predict), so no teacher judges its own images;
# 4. relab clean: drop every image whose label disagrees with its teacher's
#    top-1 (Beyer et al. 2020), with precision/recall against the record;
# 5. relab ablate recipes/demo/grid: baseline (softmax, noisy labels),
#    sigmoid, clean, both; prints the table, writes OUT/table.md, table.csv,
#    curves.svg and imagenet_vs_real.svg (noisy-label vs clean-label test
#    accuracy);
# 6. relab report: OUT/report.html, one page with the table, the plots, the
#    cleaning's counts and a gallery of the removed images (docs/report.md);
#    its path is printed last.
# Every step skips work already done, so an interrupted demo resumes.
# docs/demo.md shows the table this printed and how to read it.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
RELAB=${RELAB:-}
if [ -z "$RELAB" ]; then
    for c in "$here/relab" "$here/build/relab" "$(command -v relab || true)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then RELAB=$c; break; fi
    done
fi
if [ -z "$RELAB" ] || [ ! -x "$RELAB" ]; then
    echo "demo.sh: cannot find the relab binary; build it, then RELAB=path/to/relab $0" >&2
    exit 2
fi
OUT=${1:-demo-out}
FM=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
N=${DEMO_N:-1000}
KIND=${DEMO_NOISE:-symmetric}
RATE=${DEMO_RATE:-0.4}
GRID=${DEMO_GRID:-$here/recipes/demo/grid}
RECIPE=$here/recipes/demo/teacher.recipe
# extra "--set k=v" words for the teachers (the test shortens them)
TEACHER_SETS=${DEMO_TEACHER_SETS:-}

if [ ! -f "$FM/train-images-idx3-ubyte.gz" ]; then
    echo "demo.sh: no Fashion-MNIST in $FM; apt-get install dataset-fashion-mnist (or set FASHION_MNIST)" >&2
    exit 2
fi
mkdir -p "$OUT/data"
OUT=$(cd "$OUT" && pwd)
D=$OUT/data
start=$(date +%s)
say() { printf '\n== %s (%ds)\n' "$*" $(($(date +%s) - start)); }

say "1. label lists: the first $N training images and the 10,000 test images"
[ -f "$D/clean.list" ] || "$RELAB" list --fashion-mnist "$FM" --first "$N" -o "$D/clean.list"
[ -f "$D/test.list" ] || "$RELAB" list --fashion-mnist "$FM" --test -o "$D/test.list"

say "2. noise: $KIND at rate $RATE on the training labels (and on the test labels, for the noisy-label column)"
[ -f "$D/noisy.list" ] ||
    "$RELAB" noise --in "$D/clean.list" -o "$D/noisy.list" --kind "$KIND" --rate "$RATE" --seed 1 \
        --record "$D/noise-record.tsv"
[ -f "$D/test-noisy.list" ] ||
    "$RELAB" noise --in "$D/test.list" -o "$D/test-noisy.list" --kind "$KIND" --rate "$RATE" --seed 2

say "3. two out-of-fold teachers (each trains on one half, predicts the other)"
[ -f "$D/folds/fold-1.list" ] || "$RELAB" split "$D/noisy.list" --folds 2 --seed 1 -o "$D/folds"
for f in 0 1; do
    if [ ! -f "$D/teacher$f/final.h5" ]; then
        if ls "$D/teacher$f"/ckpt-*.h5 > /dev/null 2>&1; then
            "$RELAB" train --resume "$D/teacher$f" > "$D/teacher$f.log" 2>&1
        else
            # shellcheck disable=SC2086
            "$RELAB" train "$RECIPE" --out "$D/teacher$f" --set "train_list=$D/folds/train-$f.list" \
                $TEACHER_SETS > "$D/teacher$f.log" 2>&1
        fi
    fi
    grep '^final:' "$D/teacher$f.log" | sed "s/^/   teacher $f: /" || true
    [ -f "$D/oof$f.h5" ] || "$RELAB" predict "$D/teacher$f" --data "$D/folds/fold-$f.list" -o "$D/oof$f.h5"
done

say "4. clean: drop images whose label disagrees with the teacher's top-1"
"$RELAB" clean --teacher "$D/oof0.h5" --teacher "$D/oof1.h5" --train "$D/noisy.list" -o "$D/cleaned.list" \
    --noise-record "$D/noise-record.tsv" --report "$D/clean-report.json" --per-image "$D/clean-images.tsv" \
    > "$D/clean-report.txt"
grep -E '^  (samples|against)' "$D/clean-report.txt"

say "5. the ablation: baseline / sigmoid / clean / both"
"$RELAB" ablate "$GRID" --out "$OUT"

say "6. the report: one HTML page"
"$RELAB" report "$OUT" > /dev/null

say "done: $OUT/table.md, $OUT/curves.svg, $OUT/imagenet_vs_real.svg; open the report:"
echo "$OUT/report.html"
