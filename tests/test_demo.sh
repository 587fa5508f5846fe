#!/bin/sh
# test_demo.sh: scripts/demo.sh end to end on a reduced configuration (600
# training images, 2-epoch teachers and variants, 2,000 test images), checked against independent
# Python computations: the noise record equals the label differences; the
# cleaned list has a smaller fraction of wrong labels than the noisy one (the
# direction of the cleaning effect, on seed 1); relab clean's precision and
# recall equal a recount; each table cell equals the top-1 recomputed from the
# run's predictions against the clean and the noisy test labels; a second run
# of the demo trains nothing.
RELAB=${RELAB:-./relab}
PY=${REF_PYTHON:-/usr/bin/python3}
SRC=${top_srcdir:-$(dirname "$0")/..}
FM=/usr/share/datasets/fashion-mnist
if [ ! -f "$FM/train-images-idx3-ubyte.gz" ]; then echo "1..0 # SKIP no $FM (dataset-fashion-mnist)"; exit 0; fi
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then echo "1..0 # SKIP h5py/numpy missing for $PY"; exit 0; fi
T=$(mktemp -d /tmp/test_demo.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"' EXIT
n=0; fails=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails+1)); fi; }

# The demo's grid with 2 epochs and the recipe by absolute path.
sed -e "s|^recipe = .*|recipe = $SRC/recipes/demo/fmnist-noisy.recipe|" -e 's|^epochs = .*|epochs = 2|' \
    "$SRC/recipes/demo/grid" > "$T/grid"
# Validation during training on 20 held-out images instead of the 10,000
# test images, and predictions on the first 2,000 test images: evaluation
# would otherwise take most of the test's time.
echo "set = val_split=20" >> "$T/grid"
mkdir -p "$T/out/data"
"$RELAB" list --fashion-mnist "$FM" --test -o "$T/all-test.list" 2>/dev/null
awk '/^#/ { print; next } { if (k++ < 2000) print }' "$T/all-test.list" > "$T/out/data/test.list"
export RELAB
t0=$(date +%s)
DEMO_N=600 DEMO_GRID="$T/grid" DEMO_TEACHER_SETS="--set epochs=2 --set val_split=20" \
    sh "$SRC/scripts/demo.sh" "$T/out" > "$T/log" 2>&1
rc=$?
ok $rc "demo.sh exits 0 ($(($(date +%s) - t0)) s; log tail: $(tail -3 "$T/log" | tr '\n' ' '))"
for v in baseline sigmoid clean both; do
    grep -q "^| resnet8 | $v |" "$T/log"; ok $? "the printed table has the $v row"
done
for f in table.md table.csv curves.svg imagenet_vs_real.svg; do
    [ -s "$T/out/$f" ]; ok $? "$f written"
done

"$PY" - "$T/out" > "$T/py.out" 2>&1 <<'P'
import sys, os, json, h5py, numpy as np
out = sys.argv[1]
D = out + "/data"

def read_list(p):
    r = {}
    for line in open(p):
        if line.startswith("#") or not line.strip():
            continue
        i, l = line.rstrip("\n").split("\t")
        r[i] = int(l.split(",")[0])
    return r

clean, noisy, cleaned = read_list(D + "/clean.list"), read_list(D + "/noisy.list"), read_list(D + "/cleaned.list")
import gzip
with gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") as f:
    idx = np.frombuffer(f.read(), np.uint8, offset=8)
print("list", clean == {"train-images-idx3-ubyte.gz#%d" % k: int(idx[k]) for k in range(600)})
rec = {}
for line in open(D + "/noise-record.tsv"):
    if line.startswith("#"):
        continue
    i, a, b = line.rstrip("\n").split("\t")
    rec[i] = (int(a), int(b))
changed = {i for i in clean if clean[i] != noisy[i]}
print("record", set(rec) == changed and all(rec[i] == (clean[i], noisy[i]) for i in rec))
wrong_noisy = sum(noisy[i] != clean[i] for i in noisy) / len(noisy)
wrong_cleaned = sum(cleaned[i] != clean[i] for i in cleaned) / max(1, len(cleaned))
print("direction %d %.4f %.4f %d" % (wrong_cleaned < wrong_noisy, wrong_noisy, wrong_cleaned, len(cleaned)))
flagged = set(noisy) - set(cleaned)
hit = len(flagged & changed)
rep = json.load(open(D + "/clean-report.json"))
def find(d, key):
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            r = find(v, key)
            if r is not None:
                return r
    return None
prec, recall = find(rep, "precision"), find(rep, "recall")
print("pr %d %s %s %.4f %.4f" % (abs(prec - hit / len(flagged)) < 1e-9 and abs(recall - hit / len(changed)) < 1e-9,
                                  prec, recall, hit / len(flagged), hit / len(changed)))
test, tnoisy = read_list(D + "/test.list"), read_list(D + "/test-noisy.list")
cells = {}
for line in open(out + "/table.csv").read().splitlines()[1:]:
    m, v, metric, ep, med = line.split(",")[:5]
    cells[(v, metric)] = float(med)
good = True
for v in ("baseline", "sigmoid", "clean", "both"):
    with h5py.File("%s/runs/resnet8-%s-2ep-s0/preds.h5" % (out, v), "r") as f:
        ids = [s.decode() if isinstance(s, bytes) else s for s in f["ids"][()]]
        top1 = f["topk_classes"][()][:, 0]
    a = 100 * np.mean([top1[k] == test[i] for k, i in enumerate(ids)])
    b = 100 * np.mean([top1[k] == tnoisy[i] for k, i in enumerate(ids)])
    ok = len(ids) == 2000 and abs(a - cells[(v, "clean test")]) < 1e-3 and abs(b - cells[(v, "noisy test")]) < 1e-3
    good &= ok
    print("cell", v, a, cells[(v, "clean test")], b, cells[(v, "noisy test")])
print("cells %d" % good)
P
grep -q "^list True" "$T/py.out"; ok $? "relab list: the first 600 ids and labels equal the IDX labels file"
grep -q "^record True" "$T/py.out"; ok $? "the noise record lists exactly the changed labels"
grep -q "^direction 1" "$T/py.out"; ok $? "cleaning lowers the fraction of wrong labels: $(grep ^direction "$T/py.out")"
grep -q "^pr 1" "$T/py.out"; ok $? "relab clean's precision/recall equal a recount: $(grep ^pr "$T/py.out")"
grep -q "^cells 1" "$T/py.out"; ok $? "table cells equal top-1 recomputed from preds.h5 (clean and noisy test labels)"
[ $fails = 0 ] || cat "$T/py.out" | sed 's/^/# /'

msg=$("$RELAB" list --idx-images "$FM/t10k-images-idx3-ubyte.gz" --idx-labels "$FM/train-labels-idx1-ubyte.gz" \
    -o "$T/x.list" 2>&1); rc=$?
[ $rc = 1 ] && echo "$msg" | grep -q "has 10000 images but .*train-labels-idx1-ubyte.gz has 60000 labels"
ok $? "relab list refuses images and labels of different splits ($msg)"
"$RELAB" list --fashion-mnist "$FM" > /dev/null 2>&1; [ $? = 2 ]; ok $? "relab list without -o is a usage error"

cp "$T/out/table.md" "$T/table1.md"
t0=$(date +%s)
DEMO_N=600 DEMO_GRID="$T/grid" sh "$SRC/scripts/demo.sh" "$T/out" > "$T/log2" 2>&1
rc=$?
ok $rc "a second demo run exits 0"
grep -q "4 runs were already finished" "$T/log2" && ! grep -q "training (log" "$T/log2"
ok $? "the second run trains nothing ($(($(date +%s) - t0)) s)"
cmp -s "$T/out/table.md" "$T/table1.md" && grep -q "| resnet8 | clean |" "$T/log2"; ok $? "and writes and prints the same table"
echo "1..$n"
[ $fails = 0 ]
