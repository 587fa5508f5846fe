#!/bin/sh
# test_ablate.sh: relab ablate on fake finished runs (no training): grid
# parsing and errors, the run states of --dry-run (done vs new), skipping
# finished runs, the Table 2 arithmetic (median over seeds, delta to the
# baseline) against values computed by hand, a failed run that leaves its cell
# to the other seeds, the CSV, the second metric from alt_labels, and the SVGs
# (well-formed XML: a median line and seed band per cell, labelled marks with
# intervals) and results.json (counts, intervals); resuming an interrupted
# real run; the steps per run; stopping runs with Ctrl-C or SIGTERM at a
# checkpoint and resuming them.
RELAB=${RELAB:-./relab}
PY=${REF_PYTHON:-/usr/bin/python3}
SRC_DIR=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then echo "1..0 # SKIP h5py/numpy missing for $PY"; exit 0; fi
if [ ! -x "$RELAB" ]; then echo "1..0 # SKIP relab binary not built ($RELAB)"; exit 0; fi
T=$(mktemp -d /tmp/test_ablate.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0; fails=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails+1)); fi; }

mkdir -p "$T/grid"
cat > "$T/grid/g.grid" <<'G'
# a fake grid: the runs exist already, except one that cannot be trained
recipe = {variant}.recipe          # no such recipes: training any run fails fast
models = r8
variants = baseline, sigmoid, clean
epochs = 2, 4
seeds = 0, 1, 2
set = val_split=0; width=8
set.sigmoid = loss=sigmoid
set.clean = train_list={out}/clean.list
alt_labels = alt.list
alt_metric = noisy
metric = clean test
G

# Accuracies (in %) per run: name -> (primary, alt).  Hand-computed cells:
#   baseline 2ep: 71, 72, 70 -> 71.0            4ep: 80, 70, 75 -> 75.0
#   sigmoid  2ep: 73, 69, 75 -> 73.0 (+2.0)     4ep: 74, 76, 72 -> 74.0 (-1.0)
#   clean    2ep: 70, 69, --  -> 69.5 (-1.5)    4ep: 77, 78, 79 -> 78.0 (+3.0)
# alt (second metric) = primary - 10 (rows 0..99 carry shifted alt labels)
# for every run except baseline 2ep s0, which predicts the shifted labels on
# rows 0..99 and is right on rows 100..809: primary 71.0, alt 81.0.  So
#   alt baseline 2ep: 81, 62, 60 -> 62.0     4ep: 70, 60, 65 -> 65.0
#   alt sigmoid  2ep: 63, 59, 65 -> 63.0 (+1.0)   4ep: 64, 66, 62 -> 64.0 (-1.0)
#   alt clean    2ep: 60, 59     -> 59.5 (-2.5)   4ep: 67, 68, 69 -> 68.0 (+3.0)
"$PY" - "$T" <<'P'
import sys, os, h5py, numpy as np
T = sys.argv[1]
N = 1000
acc = {("baseline", 2): [71, 72, 70], ("baseline", 4): [80, 70, 75],
       ("sigmoid", 2): [73, 69, 75], ("sigmoid", 4): [74, 76, 72],
       ("clean", 2): [70, 69, None], ("clean", 4): [77, 78, 79]}
ids = ["s#%d" % i for i in range(N)]
labels = np.arange(N, dtype=np.int32) % 10
# alt labels: sample i gets (label + 1) % 10 for i in the "shift" range
with open(os.path.join(T, "grid", "alt.list"), "w") as f:
    f.write("# relab-list 1\n# classes 10\n")
    for i in range(N):
        f.write("%s\t%d\n" % (ids[i], (labels[i] + 1) % 10 if i < 100 else labels[i]))
for (v, e), vals in acc.items():
    for s, a in enumerate(vals):
        d = os.path.join(T, "out", "runs", "r8-%s-%dep-s%d" % (v, e, s))
        os.makedirs(d)
        if a is None:
            continue
        open(os.path.join(d, "final.h5"), "w").close()
        # correct on the first a% of rows for the file's labels; the alt list
        # shifts rows 0..99, so a row there is alt-correct iff it predicts label+1.
        n_ok = a * N // 100
        top1 = labels.copy()
        top1[n_ok:] = (labels[n_ok:] + 5) % 10     # wrong for both label sets
        if (v, e, s) == ("baseline", 2, 0):
            top1[:100] = (labels[:100] + 1) % 10   # alt-correct, primary-wrong
            top1[100:n_ok + 100] = labels[100:n_ok + 100]
        topk = np.stack([top1, (top1 + 1) % 10], axis=1).astype(np.int32)
        with h5py.File(os.path.join(d, "preds.h5"), "w") as f:
            f["ids"] = np.array(ids, dtype=h5py.string_dtype())
            f["labels"] = labels
            f["topk_classes"] = topk
            f["topk_scores"] = np.tile(np.array([0.7, 0.2], np.float32), (N, 1))
            f["num_classes"] = np.int32(10)
            f["score_kind"] = "softmax"
        with open(os.path.join(d, "metrics.csv"), "w") as f:
            f.write("epoch,step,lr,train_loss,train_top1,val_top1,val_top5,images_per_s,seconds,wait_fraction\n")
            for ep in range(1, e + 1):
                f.write("%d,%d,0.1,1.0,%.4f,%.4f,0.9,100,1,0\n" % (ep, ep * 10, 0.5 + 0.05 * ep, a / 100 * ep / e))
P

out=$("$RELAB" ablate "$T/grid/g.grid" --out "$T/out" --dry-run 2>/dev/null); rc=$?
ok $rc "dry run exits 0"
echo "$out" | grep -q '^r8-baseline-2ep-s0  *done$'; ok $? "dry run: a run with final.h5 is done"
echo "$out" | grep -q "^r8-clean-2ep-s2  *new  *relab train $T/grid/clean.recipe --out $T/out/runs/r8-clean-2ep-s2 --set epochs=2 --set seed=2 --set val_split=0 --set width=8 --set train_list=$T/out/clean.list\$"
ok $? "dry run: the missing run is new, with the recipe pattern, epochs, seed, common, model and variant sets in order"
[ "$(echo "$out" | wc -l)" = 18 ]; ok $? "dry run lists 3 variants x 2 schedules x 3 seeds = 18 runs"

"$RELAB" ablate "$T/grid/g.grid" --out "$T/out" > "$T/stdout" 2> "$T/stderr"; rc=$?
[ $rc = 1 ]; ok $? "a run that cannot be trained makes the exit code 1 (got $rc)"
grep -q "r8-clean-2ep-s2 FAILED" "$T/stderr"; ok $? "the failed run is named"
grep -q "17 runs were already finished" "$T/stderr"; ok $? "finished runs are skipped (17 of 18)"
grep -q "train: .*clean.recipe" "$T/out/runs/r8-clean-2ep-s2/train.log"; ok $? "the failed run's log holds relab train's message"
ls "$T"/out/runs/r8-baseline-2ep-s0/ckpt-* >/dev/null 2>&1; [ $? != 0 ]; ok $? "no finished run was retrained"

row() { grep "^| r8 | $1 |" "$T/out/table.md"; }
[ "$(row baseline)" = "| r8 | baseline | 71.0 | 75.0 | 62.0 | 65.0 |" ]; ok $? "baseline row: medians 71.0 75.0 | 62.0 65.0 ($(row baseline))"
[ "$(row sigmoid)" = "| r8 | sigmoid | 73.0 (+2.0) | 74.0 (-1.0) | 63.0 (+1.0) | 64.0 (-1.0) |" ]
ok $? "sigmoid row: deltas to the baseline ($(row sigmoid))"
[ "$(row clean)" = "| r8 | clean | 69.5 (-1.5) | 78.0 (+3.0) | 59.5 (-2.5) | 68.0 (+3.0) |" ]
ok $? "clean row: the even median of the two finished seeds ($(row clean))"
grep -q "^| model | variant | clean test 2 ep | clean test 4 ep | noisy 2 ep | noisy 4 ep |$" "$T/out/table.md"
ok $? "header names the metrics and schedules"
grep -q "^| r8 | clean | 69.5 (-1.5)" "$T/stdout"; ok $? "the table is printed to stdout"
grep -q "^r8,clean,clean test,2,69.5000,-1.5000,2,70.0000;69.0000;$" "$T/out/table.csv"
ok $? "CSV row: median, delta, finished seeds, values"
[ "$(wc -l < "$T/out/table.csv")" = 13 ]; ok $? "CSV has a header and 2 metrics x 3 variants x 2 schedules rows"

"$PY" - "$T/out" <<'P'
import sys, xml.etree.ElementTree as ET
out = sys.argv[1]
ns = "{http://www.w3.org/2000/svg}"
def cls(root, tag, name):
    return [e for e in root.iter(ns + tag) if e.get("class") == name]
c = ET.parse(out + "/curves.svg").getroot()
# 3 variants x 2 schedules with metrics, each the median of its seeds, per panel
lines = cls(c, "polyline", "median")
assert len(lines) == 12, len(lines)
assert len(lines[0].get("points").split()) == 2   # baseline 2ep: two epochs
assert len(cls(c, "polygon", "spread")) == 12      # every cell has 2 or 3 seeds: a band
titles = [t.text for t in c.iter(ns + "text")]
assert any("no injected noise" in (t or "") for t in titles), titles
assert c.find(ns + "title") is not None and c.find(ns + "desc") is not None
s = ET.parse(out + "/imagenet_vs_real.svg").getroot()
assert len(cls(s, "circle", "median")) == 6         # one mark per cell
assert len(cls(s, "circle", "seed")) == 17          # and a hollow one per finished seed
cells = [g for g in s.iter(ns + "g") if g.get("class") == "cell"]
assert len(cells) == 6 and all(len(cls(g, "path", "ci")) == 2 for g in cells)  # whiskers on both axes
labels = sorted(t.text for t in cls(s, "text", "label"))
assert labels == sorted("%s %dep" % (v, e) for v in ("baseline", "sigmoid", "clean") for e in (2, 4)), labels
legend = [g for g in s.iter(ns + "g") if g.get("class") == "legend"][0]
assert not list(legend.iter(ns + "line")), "the legend shows marks, not lines"
assert len(cls(legend, "circle", "key")) == 3 + 2 + 1   # variants, schedules (size) and "one seed"
print("svg ok")
P
ok $? "curves.svg: one median line and seed band per cell in each panel, the left panel says its labels carry no injected noise; the scatter: one labelled mark per cell with 95% whiskers, a hollow mark per seed, a legend of marks (parsed as XML)"

"$PY" - "$T/out/results.json" <<'P'
import sys, json
from scipy.stats import beta
r = json.load(open(sys.argv[1]))
assert r["format"] == "relab-ablate-results 1" and r["variants"] == ["baseline", "sigmoid", "clean"]
assert r["epochs"] == [2, 4] and r["seeds"] == [0, 1, 2] and r["baseline"] == "baseline"
assert r["metric"] == "clean test" and r["second_metric"] == "noisy" and r["second_kind"] == "labels"
runs = {x["name"]: x for x in r["runs"]}
assert [x["name"] for x in r["runs"]][:4] == ["r8-baseline-2ep-s0", "r8-baseline-2ep-s1", "r8-baseline-2ep-s2",
                                              "r8-baseline-4ep-s0"]
assert runs["r8-clean-2ep-s2"]["scores"] == [None, None]            # the run that failed
a, b = runs["r8-baseline-2ep-s0"]["scores"]
assert (a["correct"], a["total"], b["correct"], b["total"]) == (710, 1000, 810, 1000), (a, b)
lo, hi = beta.ppf(0.025, 710, 291), beta.ppf(0.975, 711, 290)      # Clopper-Pearson
assert abs(a["ci95"][0] - lo) < 1e-9 and abs(a["ci95"][1] - hi) < 1e-9, (a["ci95"], lo, hi)
print("results ok")
P
ok $? "results.json: grid facts, runs in order, counts per metric (710 and 810 of 1000), null for the failed run, Clopper-Pearson intervals as scipy's"

# An interrupted run (checkpoints, no final.h5) is resumed, not restarted: a
# real 2-epoch run whose final.h5 is then removed.
FM=/usr/share/datasets/fashion-mnist
if [ -f "$FM/train-images-idx3-ubyte.gz" ]; then
    mkdir -p "$T/r"
    "$RELAB" list --fashion-mnist "$FM" -o "$T/r/all.list" 2>/dev/null
    awk '/^#/ { print; next } { if (k++ < 200) print }' "$T/r/all.list" > "$T/r/small.list"
    cat > "$T/r/g.grid" <<G
recipe = $SRC_DIR/recipes/demo/fmnist-noisy.recipe
models = r8
variants = base
epochs = 2
set = train_list=$T/r/small.list; val_split=20; width=4; warmup_epochs=0
eval_data = $T/r/small.list
G
    "$RELAB" ablate "$T/r/g.grid" --out "$T/r/out" > /dev/null 2>&1
    run="$T/r/out/runs/r8-base-2ep-s0"
    [ -f "$run/final.h5" ]; ok $? "a real 2-epoch run finishes"
    rm -f "$run/final.h5"
    out=$("$RELAB" ablate "$T/r/g.grid" --out "$T/r/out" --dry-run 2>/dev/null)
    echo "$out" | grep -q "^r8-base-2ep-s0  *resume relab train --resume $run\$"; ok $? "without final.h5 but with checkpoints the run is 'resume' ($out)"
    "$RELAB" ablate "$T/r/g.grid" --out "$T/r/out" > /dev/null 2> "$T/r/err"; rc=$?
    [ $rc = 0 ] && grep -q "resuming" "$T/r/err" && grep -q "resuming from" "$run/train.log" && [ -f "$run/final.h5" ]
    ok $? "ablate resumes it from its checkpoint and finishes it"
    [ "$(grep -c '^[0-9]' "$run/metrics.csv")" = 2 ]; ok $? "no epoch was trained twice (metrics.csv has 2 rows)"
    # Steps per run: 180 training images (200 less val_split 20) in batches
    # of the recipe's 16 make 11 steps an epoch; a 2-epoch run makes 22.
    grep -q "^r8-base-2ep-s0,r8,base,2,0,22," "$T/r/out/runs.csv"; ok $? "runs.csv: the run made 2 x 11 = 22 steps"
    grep -q "^- r8 base: 2 ep 22\$" "$T/r/out/table.md"; ok $? "table.md lists the steps per run"
    "$RELAB" ablate "$T/r/g.grid" --out "$T/r/out" --dry-run 2> "$T/r/dry" > /dev/null
    grep -q "r8-base-2ep-s0  *resnet4\{0,1\}8\{0,1\} *softmax  *180  *16  *2 x 11 = 22\$" "$T/r/dry"
    ok $? "the dry run plans the steps: 180 images, batch 16, 2 x 11 = 22 ($(tail -1 "$T/r/dry"))"

    # Stopping: Ctrl-C (SIGINT to the whole process group, as a terminal
    # sends it) and a SIGTERM to relab ablate alone both stop the run at a
    # checkpoint, and the same command resumes it.  The run is long (1000
    # epochs) so that it is still busy when the signal comes; it is left
    # unfinished.
    sed 's/^epochs = 2$/epochs = 1000/' "$T/r/g.grid" > "$T/r/long.grid"
    long="$T/r/long/runs/r8-base-1000ep-s0"
    # waits (bounded, not timed) until the run has finished $1 epochs
    wait_epochs() {
        i=0
        while [ "$(cat "$long/metrics.csv" 2>/dev/null | grep -c '^[0-9]')" -lt "$1" ] && [ $i -lt 1200 ]; do
            sleep 0.1; i=$((i+1))
        done
    }
    setsid "$RELAB" ablate "$T/r/long.grid" --out "$T/r/long" > /dev/null 2> "$T/r/stop1" &
    pid=$!
    wait_epochs 1
    kill -INT "-$(awk '{ print $5 }' "/proc/$pid/stat")"
    wait $pid; rc=$?
    [ $rc = 1 ] && grep -q "r8-base-1000ep-s0 stopped (its checkpoint is kept)" "$T/r/stop1" &&
        grep -q "stopped; run the same command again to resume" "$T/r/stop1" && [ ! -f "$long/final.h5" ] &&
        ls "$long"/ckpt-*.h5 > /dev/null 2>&1
    ok $? "Ctrl-C stops the run at a checkpoint (exit $rc, $(tail -1 "$T/r/stop1"))"
    rows=$(grep -c '^[0-9]' "$long/metrics.csv")
    "$RELAB" ablate "$T/r/long.grid" --out "$T/r/long" > /dev/null 2> "$T/r/stop2" &
    pid=$!
    wait_epochs $((rows + 2))
    kill -TERM $pid
    wait $pid; rc=$?
    [ $rc = 1 ] && grep -q "resuming" "$T/r/stop2" && grep -q "stopped (its checkpoint is kept)" "$T/r/stop2" &&
        grep -q "resuming from" "$long/train.log" && [ ! -f "$long/final.h5" ]
    ok $? "the same command resumes it; SIGTERM to relab ablate alone reaches the run, which stops at a checkpoint (exit $rc)"
    rows=$(grep -c '^[0-9]' "$long/metrics.csv")
    [ "$rows" -ge 3 ] && [ "$(grep '^[0-9]' "$long/metrics.csv" | cut -d, -f1 | tr '\n' ' ')" = "$(seq 1 "$rows" | tr '\n' ' ')" ]
    ok $? "metrics.csv has epochs 1..$rows once each across the two stops: nothing lost, nothing trained twice"
else
    echo "# no $FM: resume checks skipped"
fi

# Grid errors name the file and line and exit 2.
# bad_grid NAME TEXT EXPECTED WHAT: the dry run of grid TEXT fails with EXPECTED.
bad_grid() {
    printf '%b' "$2" > "$T/$1.grid"
    msg=$("$RELAB" ablate "$T/$1.grid" --dry-run 2>&1); rc=$?
    [ $rc = 2 ] && echo "$msg" | grep -q "$3"; ok $? "$4 ($msg)"
}
head='recipe = a\nmodels = a\nvariants = x'
bad_grid bad1 "$head, y\nepochs = 1\nbaseline = z\n" "bad1.grid:5: baseline 'z' is not one of the variants" \
    "unknown baseline: file:line"
bad_grid bad2 "$head\nepochs = 1, two\n" "bad2.grid:4: 'two' is not an integer" "bad epochs value: file:line"
bad_grid bad3 "$head\nepochs = 1\nepoch = 3\n" "bad3.grid:5: unknown key 'epoch'" "unknown key: file:line"
bad_grid bad4 "$head\nepochs = 1\nset.y = loss=sigmoid\n" "bad4.grid:5: set.y names no model or variant" \
    "set for an unknown label: file:line"
bad_grid bad6 "$head\nepochs = 90, 270, 90\n" "bad6.grid:4: 90 given twice" \
    "a schedule given twice (two runs, one folder): file:line"
bad_grid bad7 "$head\nepochs = 1\nmetric = $(printf '%060d' 0)\n" "bad7.grid:5: 'metric' is longer than 47 characters" \
    "a value too long is refused, not cut"
bad_grid bad5 'models = a\nvariants = x\nepochs = 1\n' "'recipe' is required" "missing recipe is named"

echo "1..$n"
[ $fails = 0 ]
