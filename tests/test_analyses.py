#!/usr/bin/python3
"""test_analyses.py: the papers' further evaluations in `relab eval`, against
independent numpy computations on the shared ImageNet label files.

1. Multi-label accuracy under both rules: correct + unclear (imagenet-mistakes
   notebook) and correct only (Shankar et al.'s grading), macro and micro.
2. Overlapping groups: organism = dog + animal (410 classes) by --group and by
   a groups file listing classes twice; micro and macro accuracy per group.
3. --subset: a 68-id subset (ImageNet-M's size) scored alone; ids with a
   folder match; missing and repeated ids are refused naming the line.
4. --imagenetv2: both top-1 accuracies and the gap with Newcombe's interval
   (Wilson intervals computed here).
5. --sets: precision, recall, F1, per-image F1, exact match, mean size and
   empty share of {c : p_c > t} for a sigmoid model, from logits and from the
   top-k alone; the row that cannot be decided is refused.
6. --per-class (the unbiased oracle) and --cooccur TSVs, and the SVG plot.
Shared data: $RELAB_SHARED (default $top_srcdir/../shared/imagenet); SKIP if absent.
"""
import json
import math
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from taplib import done, ok, skip_all

try:
    import h5py
    import numpy as np
    from imagenet_refs import refs_or_skip, vid, write_preds
except ImportError as e:  # pragma: no cover
    skip_all("needs h5py and numpy: %s" % e)

RELAB, R = refs_or_skip(__file__)
REAL, ML, GROUPS, CLASSES = R.REAL, R.ML, R.GROUPS, R.CLASSES
names, orig, real, group_of, ml = R.names, R.orig, R.real, R.group_of, R.ml
NVAL = len(orig)
C = 1000
tmp = tempfile.mkdtemp(prefix="relab-test-analyses-")


def run(*args):
    p = subprocess.run([RELAB] + [str(a) for a in args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*args, "--json", "-")
    if rc != 0:
        print("# relab failed: " + err.strip()[:300])
        return None
    return json.loads(out)


def close(a, b, tol=1e-12):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


# A random model on a shuffled subset of the validation set: right 60% of the time.
r = np.random.default_rng(2024)
N, K = 30000, 5
rows = r.permutation(NVAL)[:N]
first = np.where(r.random(N) < 0.6, orig[rows], r.integers(0, C, N))
off = r.integers(1, C, size=(N, K - 1))  # distinct non-zero offsets keep the top-k classes distinct
for i in np.nonzero([len(set(o)) < K - 1 for o in off.tolist()])[0]:
    off[i] = r.choice(np.arange(1, C), K - 1, replace=False)
cls = np.concatenate([first[:, None], (first[:, None] + off) % C], axis=1).astype(np.int32)
sc = np.sort(r.random((N, K)), axis=1)[:, ::-1]
sc = sc / sc.sum(axis=1, keepdims=True)
P = os.path.join(tmp, "model.h5")
write_preds(P, [vid(k) for k in rows], orig[rows], cls, sc)

# ---- 1. multi-label accuracy under both rules ----
for rule, opt in (("correct+unclear", []), ("correct", ["--ml-rule", "correct"])):
    d = run_json("eval", P, "--multilabel", ML, *opt)
    per, mc, mt = {}, 0, 0
    for i, k in enumerate(rows):
        if k not in ml or ml[k][3]:
            continue
        right = ml[k][1] | (ml[k][2] if rule == "correct+unclear" else set())
        hit = int(cls[i, 0] in right)
        c_, t_ = per.get(ml[k][0], (0, 0))
        per[ml[k][0]] = (c_ + hit, t_ + 1)
        mc, mt = mc + hit, mt + 1
    macro = np.mean([c_ / t_ for c_, t_ in per.values()])
    m = (d or {}).get("multilabel") or {}
    ok(m.get("rule") == rule and close(m.get("macro"), macro) and m.get("micro", {}).get("correct") == mc
       and m.get("micro", {}).get("total") == mt,
       "multi-label, rule %s: macro %.6f over %d classes, micro %d / %d" % (rule, macro, len(per), mc, mt))
rc, out, _ = run("eval", P, "--multilabel", ML, "--ml-rule", "correct")
ok(rc == 0 and "rule: correct)" in out, "the table names the rule")
rc, _, _ = run("eval", P, "--multilabel", ML, "--ml-rule", "unclear")
ok(rc == 2, "--ml-rule unclear: usage error (exit 2)")


# ---- 2. groups: organism = dog + animal, micro and macro ----
def group_stats(members, correct_of, label_of, valid):
    per = {}
    for i in range(len(label_of)):
        y = label_of[i]
        if y < 0 or y not in members or not valid[i]:
            continue
        c_, t_ = per.get(y, (0, 0))
        per[y] = (c_ + int(correct_of[i]), t_ + 1)
    c = sum(v[0] for v in per.values())
    t = sum(v[1] for v in per.values())
    return c, t, (np.mean([a / b for a, b in per.values()]) if per else None)


organism = {c for c, g in group_of.items() if g in ("dog", "animal")}
ok(len(organism) == 410, "organism = dog + animal has 410 classes (Shankar et al.)")
top1_ok = cls[:, 0] == orig[rows]
real_ok = np.array([cls[i, 0] in real[k] for i, k in enumerate(rows)])
has_real = np.array([bool(real[k]) for k in rows])
ml_label = np.array([ml[k][0] if k in ml and not ml[k][3] else -1 for k in rows])
ml_ok = np.array([k in ml and cls[i, 0] in (ml[k][1] | ml[k][2]) for i, k in enumerate(rows)])
ovl = os.path.join(tmp, "groups-overlap.tsv")
with open(ovl, "w") as f:
    f.write(open(GROUPS).read())
    for c in sorted(organism):
        f.write("%d\tx\torganism\n" % c)
for how, args in (("--group organism=dog+animal", ["--groups", GROUPS, "--group", "organism=dog+animal"]),
                  ("a groups file listing classes twice", ["--groups", ovl])):
    d = run_json("eval", P, "--real", REAL, "--multilabel", ML, *args)
    g = ((d or {}).get("groups") or {}).get("organism") or {}
    c1, t1, m1 = group_stats(organism, top1_ok, orig[rows], np.ones(N, bool))
    c2, t2, m2 = group_stats(organism, real_ok, orig[rows], has_real)
    c3, t3, m3 = group_stats(organism, ml_ok, ml_label, np.ones(N, bool))
    ok(g.get("classes") == 410 and g.get("top1", {}).get("correct") == c1 and g.get("top1", {}).get("total") == t1
       and close(g.get("top1_macro"), m1) and g.get("real_top1", {}).get("correct") == c2
       and close(g.get("real_top1_macro"), m2) and g.get("multilabel_micro", {}).get("correct") == c3
       and g.get("multilabel_micro", {}).get("total") == t3 and close(g.get("multilabel_macro"), m3),
       "organism by %s: top-1 %d/%d (macro %.6f), ReaL %d/%d, multi-label %d/%d (macro %.6f)"
       % (how, c1, t1, m1, c2, t2, c3, t3, m3))
    dog = ((d or {}).get("groups") or {}).get("dog") or {}
    cd, td, md = group_stats({c for c, g_ in group_of.items() if g_ == "dog"}, top1_ok, orig[rows], np.ones(N, bool))
    ok(dog.get("top1", {}).get("correct") == cd and close(dog.get("top1_macro"), md),
       "dog stays as it was beside organism (%s)" % how)
d = run_json("eval", P, "--groups", GROUPS, "--group", "organism=dog+animal")  # groups alone: no ReaL, no multi-label
g = ((d or {}).get("groups") or {}).get("organism") or {}
c1, t1, m1 = group_stats(organism, top1_ok, orig[rows], np.ones(N, bool))
ok(g.get("top1", {}).get("correct") == c1 and close(g.get("top1_macro"), m1) and g.get("real_top1") is None
   and g.get("real_top1_macro") is None and g.get("multilabel_micro") is None,
   "--groups without --real or --multilabel: top-1 per group only, the other figures null")
rc, _, se = run("eval", P, "--groups", GROUPS, "--group", "organism=dog+plant")
ok(rc == 1 and "plant" in se and GROUPS in se, "--group naming an unknown group: exit 1 naming it")
twice = os.path.join(tmp, "groups-twice.tsv")
open(twice, "w").write("index\twnid\tgroup\n0\tn01440764\tfish\n1\tn01443537\tfish\n0\tn01440764\tfish\n")
rc, _, se = run("eval", P, "--groups", twice)
ok(rc == 1 and twice + ":4:" in se, "a class listed twice in one group: exit 1 naming line 4")

# ---- 3. --subset ----
sub_rows = r.choice(N, 68, replace=False)
subset = os.path.join(tmp, "imagenet-m.txt")
with open(subset, "w") as f:
    f.write("# 68 ids, one per line\n")
    for j, i in enumerate(sub_rows):
        f.write(("val/" if j % 3 == 0 else "") + vid(rows[i]) + "\n")
d = run_json("eval", P, "--subset", subset, "--multilabel", ML)
sel = np.zeros(N, bool)
sel[sub_rows] = True
mlc = sum(1 for i in sub_rows if rows[i] in ml and not ml[rows[i]][3] and cls[i, 0] in (ml[rows[i]][1] | ml[rows[i]][2]))
mlt = sum(1 for i in sub_rows if rows[i] in ml and not ml[rows[i]][3])
ok(d is not None and d["n"] == 68 and d["top1"]["correct"] == int(top1_ok[sel].sum()) and d["subset"]["ids"] == 68
   and d["multilabel"]["micro"]["correct"] == mlc and d["multilabel"]["micro"]["total"] == mlt,
   "--subset of 68 ids (a third with a folder): top-1 %d/68, multi-label %d/%d" % (top1_ok[sel].sum(), mlc, mlt))
scored = set(rows.tolist())
notin = [k for k in range(NVAL) if k not in scored][:2]
bad_sub = os.path.join(tmp, "bad-subset.txt")
open(bad_sub, "w").write(vid(rows[0]) + "\n" + vid(notin[0]) + "\n" + vid(notin[1]) + "\n")
rc, _, se = run("eval", P, "--subset", bad_sub)
ok(rc == 1 and bad_sub + ":2:" in se and "2 of its 3 ids" in se, "subset ids without predictions: exit 1 naming "
   "line 2 and the count: " + se.strip()[:160])
open(bad_sub, "w").write(vid(rows[0]) + "\nval/" + vid(rows[0]) + "\n")
rc, _, se = run("eval", P, "--subset", bad_sub)
ok(rc == 1 and bad_sub + ":2:" in se and "twice" in se, "an image listed twice in a subset: exit 1 naming line 2")


# ---- 4. --imagenetv2: Table 1 layout, the gap with Newcombe's interval ----
def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


NV2 = 10000
v2_lab = np.repeat(np.arange(C), NV2 // C)
v2_top = np.where(r.random(NV2) < 0.48, v2_lab, (v2_lab + r.integers(1, C, NV2)) % C)
V2 = os.path.join(tmp, "v2.h5")
write_preds(V2, ["%d/%032x.jpeg" % (v2_lab[i], i) for i in range(NV2)], v2_lab, v2_top[:, None], np.ones((NV2, 1)))
d = run_json("eval", P, "--imagenetv2", V2)
k1, n1 = int(top1_ok.sum()), N
k2, n2 = int((v2_top == v2_lab).sum()), NV2
p1, p2 = k1 / n1, k2 / n2
l1, u1 = wilson(k1, n1)
l2, u2 = wilson(k2, n2)
gap = p1 - p2
lo, hi = gap - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), gap + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
v = (d or {}).get("imagenetv2") or {}
ok(v.get("top1", {}).get("correct") == k2 and v.get("top1", {}).get("total") == n2 and close(v["gap"]["diff"], gap)
   and close(v["gap"]["ci95"][0], lo, 1e-9) and close(v["gap"]["ci95"][1], hi, 1e-9),
   "ImageNetV2 top-1 %d/%d, gap %.5f in Newcombe's [%.5f, %.5f]" % (k2, n2, gap, lo, hi))
rc, out, _ = run("eval", P, "--imagenetv2", V2)
ok(rc == 0 and "ImageNetV2" in out and "%.2f" % (100 * gap) in out, "the table shows both accuracies and the gap")
nolab = os.path.join(tmp, "v2-nolabels.h5")
write_preds(nolab, ["%d.jpeg" % i for i in range(10)], [-1] * 10, np.zeros((10, 1)), np.ones((10, 1)))
rc, _, se = run("eval", P, "--imagenetv2", nolab)
ok(rc == 1 and nolab in se and "numbered" in se, "ImageNetV2 predictions without labels: exit 1 with the fix")

# ---- 5. --sets: a sigmoid model's predicted sets against ReaL ----
NS, KS = 4000, 8
srows = r.permutation(NVAL)[:NS]
z = r.normal(-4.0, 1.5, (NS, C)).astype(np.float32)
for i, k in enumerate(srows):  # the ReaL labels (and some others) score high
    for c in real[k]:
        if r.random() < 0.8:
            z[i, c] += np.float32(r.uniform(3, 8))
    z[i, r.integers(0, C, 2)] += np.float32(4.0)
prob = (1.0 / (1.0 + np.exp(-z.astype(np.float64)))).astype(np.float32)  # relab: double, rounded to float32
order = np.argsort(-prob, axis=1, kind="stable")[:, :KS]
S = os.path.join(tmp, "sigmoid.h5")
write_preds(S, [vid(k) for k in srows], orig[srows], order, np.take_along_axis(prob, order, 1), kind="sigmoid",
            logits=z)
ts = [0.05, 0.2, 0.5, 0.8, 0.95]


def set_metrics(t, probs):
    inter = size = rsum = 0
    ex = exact = empty = n = 0
    for i, k in enumerate(srows):
        if not real[k]:
            continue
        s = set(np.nonzero(probs[i] > np.float32(t))[0].tolist())
        h = len(s & real[k])
        inter, size, rsum = inter + h, size + len(s), rsum + len(real[k])
        ex += 2 * h / (len(s) + len(real[k]))
        exact += s == real[k]
        empty += not s
        n += 1
    pr, rc_ = inter / size, inter / rsum
    return dict(images=n, mean_size=size / n, empty=empty / n, precision=pr, recall=rc_, f1=2 * pr * rc_ / (pr + rc_),
                example_f1=ex / n, exact=exact / n)


d = run_json("eval", S, "--real", REAL, "--sets", "--set-thresholds", ",".join(str(t) for t in ts))
good = d is not None and len(d.get("sets") or []) == len(ts)
for q, t in enumerate(ts if good else []):
    want, got = set_metrics(t, prob), d["sets"][q]
    if not (got["threshold"] == t and got["images"] == want["images"]
            and all(close(got[key], want[key]) for key in want if key != "images")):
        print("# t=%g got %s want %s" % (t, got, want))
        good = False
ok(good, "--sets at t = %s: precision, recall, F1, per-image F1, exact, mean size and empty share equal numpy "
   "(from the logits)" % ts)
if good:
    f1s = [p["f1"] for p in d["sets"]]
    ok(max(f1s) > f1s[0] and max(f1s) > f1s[-1], "F1 peaks inside the sweep (%s)" % ["%.3f" % v_ for v_ in f1s])
nolog = os.path.join(tmp, "sigmoid-nologits.h5")
write_preds(nolog, [vid(k) for k in srows], orig[srows], order, np.take_along_axis(prob, order, 1), kind="sigmoid")
decidable = all((prob[i, order[i, -1]] <= np.float32(0.9)) for i in range(NS))
d2 = run_json("eval", nolog, "--real", REAL, "--sets", "--set-thresholds", "0.9")
ok(decidable and d2 is not None and all(close(d2["sets"][0][key], v_) for key, v_ in set_metrics(0.9, prob).items()
                                        if key != "images"),
   "without logits, t = 0.9 is decided by the stored top-%d alone, with the same figures" % KS)
rc, _, se = run("eval", nolog, "--real", REAL, "--sets", "--set-thresholds", "0.001")
ok(rc == 1 and nolog in se and "--logits" in se, "a threshold below the stored scores without logits: exit 1 asking "
   "for logits: " + se.strip()[:140])
rc, _, _ = run("eval", S, "--sets")
ok(rc == 2, "--sets without --real: usage error")
rc, _, _ = run("eval", S, "--real", REAL, "--sets", "--set-thresholds", "0.5,0.2")
ok(rc == 2, "decreasing thresholds: usage error")

# ---- 6. per class against the unbiased oracle; co-occurring classes ----
pct, svg, coo = os.path.join(tmp, "per-class.tsv"), os.path.join(tmp, "per-class.svg"), os.path.join(tmp, "co.tsv")
rc, out, se = run("eval", P, "--real", REAL, "--classes", CLASSES, "--per-class", pct, "--per-class-svg", svg,
                  "--cooccur", coo)
ok(rc == 0, "relab eval --per-class --per-class-svg --cooccur runs: " + se.strip()[:120])
want = {}
for i, k in enumerate(rows):
    y = int(orig[k])
    if not real[k]:
        continue
    w = want.setdefault(y, [0, 0, 0.0, 0, 0, 0, 0.0])
    o = (y in real[k]) / len(real[k])
    w[0] += 1
    w[1] += int(cls[i, 0] == y)
    w[2] += o
    w[3] += int(cls[i, 0] in real[k])
    if len(real[k]) >= 2:
        w[4] += 1
        w[5] += int(cls[i, 0] == y)
        w[6] += o
lines = [l.split("\t") for l in open(pct).read().splitlines()] if rc == 0 else [[]]
good = lines[0] == ["class", "name", "images", "model_acc", "oracle_acc", "model_minus_oracle", "real_acc",
                    "multi_images", "multi_model_acc", "multi_oracle_acc"] and len(lines) - 1 == len(want)
for row in lines[1:] if good else []:
    y = int(row[0])
    w = want[y]
    exp = [w[1] / w[0], w[2] / w[0], (w[1] - w[2]) / w[0], w[3] / w[0]]
    good &= row[1] == names[y] and int(row[2]) == w[0] and int(row[7]) == w[4]
    good &= all(abs(float(a) - b) <= 1e-8 for a, b in zip(row[3:7], exp))
    good &= (row[8] == row[9] == "") if not w[4] else (abs(float(row[8]) - w[5] / w[4]) <= 1e-8
                                                          and abs(float(row[9]) - w[6] / w[4]) <= 1e-8)
    if not good:
        print("# class %d: got %s want %s" % (y, row, w))
        break
ok(good, "per-class TSV: %d classes; model, oracle (sum of [y in R]/|R|) and ReaL accuracy, also on the multi-label "
   "images" % len(want))
tot = sum(w[0] for w in want.values())
ok("unbiased oracle %.2f%%" % (100 * sum(w[2] for w in want.values()) / tot) in out,
   "the table states the oracle's accuracy over all %d ReaL-labelled rows" % tot)
try:
    root = ET.parse(svg).getroot()
    circles = [e for e in root.iter() if e.tag.endswith("circle")]
    ok(len(circles) == len(want), "the SVG is well-formed XML with one point per class (%d)" % len(circles))
except (ET.ParseError, OSError) as e:
    ok(False, "the SVG parses: %s" % e)
# co-occurrence over the rows' ReaL sets
pair = {}
with_c = {}
for k in rows:
    for a in real[k]:
        with_c[a] = with_c.get(a, 0) + 1
        for b in real[k]:
            if a != b:
                pair[(a, b)] = pair.get((a, b), 0) + 1
lines = [l.split("\t") for l in open(coo).read().splitlines()] if rc == 0 else [[]]
got = {}
for row in lines[1:]:
    got.setdefault(int(row[0]), []).append((int(row[4]), int(row[6]), int(row[2]), float(row[7]), row[5]))
good = lines[0] == ["class", "name", "images", "rank", "other", "other_name", "count", "share"]
for a in sorted({a for a, _ in pair}):
    best = sorted(((b, n) for (a_, b), n in pair.items() if a_ == a), key=lambda t: (-t[1], t[0]))[:5]
    g = got.get(a, [])
    if [(b, n) for b, n, _, _, _ in g] != best or any(w_ != with_c[a] or abs(s_ - n / with_c[a]) > 1e-8 or
                                                    nm != names[b] for b, n, w_, s_, nm in g):
        print("# class %d: got %s want %s" % (a, g, best))
        good = False
        break
ok(good and set(got) == {a for a, _ in pair}, "co-occurrence TSV: each class's 5 most frequent partners (count, "
   "then class), its images and the share, for %d classes" % len(got))
top_pairs = sorted(((n, a, b) for (a, b), n in pair.items() if a < b), key=lambda t: (-t[0], t[1], t[2]))[:3]
ok(all(("%d images" % n) in out and names[a].split(",")[0] in out for n, a, b in top_pairs),
   "the table lists the most frequent pairs, e.g. %s" % [(names[a].split(",")[0], names[b].split(",")[0], n)
                                                          for n, a, b in top_pairs[:2]])
rc, _, _ = run("eval", P, "--per-class", pct)
ok(rc == 2, "--per-class without --real: usage error")

shutil.rmtree(tmp, ignore_errors=True)
done()
