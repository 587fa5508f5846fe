#!/usr/bin/python3
"""test_eval.py: `relab eval` and `relab compare` against independent Python.

1. The original ImageNet validation labels written as predictions score ReaL
   42,164 / 46,837 (computed here from the shared files, and the paper's figure).
2. Random predictions (a shuffled subset of the validation images): every figure
   of relab's JSON (top-1, top-5, ReaL top-1/5, multi-label macro and micro,
   group accuracies, 95% Clopper-Pearson bounds) equals a numpy computation
   (counts exactly, doubles to 1e-9); the bounds are checked against a
   brute-force binomial tail root (and scipy when installed).  McNemar's exact
   p equals an exact rational binomial sum, the chi-square p equals erfc.
3. Malformed predictions and label files give exit 1 and name the file (and
   dataset); bad usage gives exit 2.
Shared data: $RELAB_SHARED (default $top_srcdir/../shared/imagenet); SKIP if absent.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction

from taplib import done, ok, skip_all


try:
    import h5py
    import numpy as np
    from imagenet_refs import refs_or_skip, vid, write_preds
except ImportError as e:  # pragma: no cover
    skip_all("needs h5py and numpy: %s" % e)

RELAB, R = refs_or_skip(__file__)
REAL, ML, GROUPS, CLASSES, WNIDS = R.REAL, R.ML, R.GROUPS, R.CLASSES, R.WNIDS
orig, real, groups = R.orig, R.real, R.group_of
# (original label, correct ∪ unclear, problematic): the default rule
ml = {k: (o, c | u, p) for k, (o, c, u, p) in R.ml.items()}
NVAL = len(orig)
tmp = tempfile.mkdtemp(prefix="relab-test-eval-")


def run(*args):
    p = subprocess.run([RELAB] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*args, "--json", "-")
    if rc != 0:
        print("# relab failed: " + err.strip())
        return None
    return json.loads(out)


# ---- 1. original labels as predictions ----
ids = [vid(k) for k in range(NVAL)]
p1 = os.path.join(tmp, "orig.h5")
write_preds(p1, ids, orig, orig[:, None], np.ones((NVAL, 1)))
want_c = sum(1 for k in range(NVAL) if real[k] and orig[k] in real[k])
want_t = sum(1 for k in range(NVAL) if real[k])
ok((want_c, want_t) == (42164, 46837), "independent ReaL of the original labels is 42,164 / 46,837 (README: 90.02%%)")
d = run_json("eval", p1, "--real", REAL)
ok(d is not None and (d["real"]["top1"]["correct"], d["real"]["top1"]["total"]) == (want_c, want_t),
   "relab eval: original labels score ReaL %d / %d" % (want_c, want_t))
ok(d is not None and abs(d["real"]["top1"]["acc"] - want_c / want_t) < 1e-15 and d["real"]["excluded_empty"] == 3163,
   "ReaL accuracy %.4f%%, 3,163 empty sets excluded" % (100.0 * want_c / want_t))
ok(d is not None and d["top1"]["correct"] == NVAL, "original labels score 100%% top-1 against themselves")
jpath = os.path.join(tmp, "orig.json")
rc, out, err = run("eval", p1, "--real", REAL, "--json", jpath)
ok(rc == 0 and "ReaL top-1" in out and "90.02%" in out and "42164 / 46837" in out and json.load(open(jpath)) == d,
   "the table shows ReaL top-1 90.02%, 42164 / 46837, and --json FILE holds the same JSON")


# ---- 2. random predictions ----
def ci_bruteforce(k, n, alpha=0.05):
    """Clopper-Pearson by root-finding on the exact binomial tails."""
    lc = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in range(n + 1)])
    j = np.arange(n + 1)

    def tail_ge(p):  # P(X >= k)
        return np.exp(lc[k:] + j[k:] * math.log(p) + (n - j[k:]) * math.log1p(-p)).sum()

    def tail_le(p):  # P(X <= k)
        return np.exp(lc[:k + 1] + j[:k + 1] * math.log(p) + (n - j[:k + 1]) * math.log1p(-p)).sum()

    def bisect(f, target, increasing):
        lo, hi = 0.0, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if (f(mid) < target) == increasing:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    lo = 0.0 if k == 0 else bisect(tail_ge, alpha / 2, True)
    hi = 1.0 if k == n else bisect(tail_le, alpha / 2, False)
    return lo, hi


try:
    from scipy.stats import beta as sbeta
except ImportError:
    sbeta = None
    print("# scipy not installed: Clopper-Pearson checked against the brute-force binomial root only")


def check_acc(got, correct, total, what):
    if total == 0:
        return ok(got is None, what + ": no rows gives null")
    if not ok(got is not None and got["correct"] == correct and got["total"] == total,
              "%s: %s / %s == %d / %d" % (what, got and got["correct"], got and got["total"], correct, total)):
        return
    ok(abs(got["acc"] - correct / total) <= 1e-15, "%s: acc %.12f" % (what, correct / total))
    lo, hi = ci_bruteforce(correct, total)
    ok(abs(got["ci95"][0] - lo) <= 1e-9 and abs(got["ci95"][1] - hi) <= 1e-9,
       "%s: CI [%.12f, %.12f] vs brute force [%.12f, %.12f]" % (what, got["ci95"][0], got["ci95"][1], lo, hi))
    if sbeta is not None:
        slo = 0.0 if correct == 0 else sbeta.ppf(0.025, correct, total - correct + 1)
        shi = 1.0 if correct == total else sbeta.ppf(0.975, correct + 1, total - correct)
        ok(abs(got["ci95"][0] - slo) <= 1e-9 and abs(got["ci95"][1] - shi) <= 1e-9, "%s: CI equals scipy beta.ppf" % what)


rng = np.random.default_rng(12345)
N, K, C = 30000, 5, 1000


def random_preds(seed_shift, p_right):
    r = np.random.default_rng(777 + seed_shift)
    rows = r.permutation(NVAL)[:N]  # a shuffled subset: ids decide the mapping
    first = np.where(r.random(N) < p_right, orig[rows], r.integers(0, C, N))
    off = r.integers(1, C, size=(N, K - 1))  # distinct non-zero offsets keep classes distinct
    for i in np.nonzero([len(set(o)) < K - 1 for o in off.tolist()])[0]:
        off[i] = r.choice(np.arange(1, C), K - 1, replace=False)
    cls = np.concatenate([first[:, None], (first[:, None] + off) % C], axis=1).astype(np.int32)
    sc = np.sort(r.random((N, K)), axis=1)[:, ::-1]
    sc = sc / sc.sum(axis=1, keepdims=True)
    return rows, cls, sc


rows, cls, sc = random_preds(0, 0.6)
labels = orig[rows].copy()
labels[:50] = -1  # unknown labels are left out of top-k and groups
p2 = os.path.join(tmp, "rand.h5")
write_preds(p2, [vid(k) for k in rows], labels, cls, sc)
d = run_json("eval", p2, "--real", REAL, "--multilabel", ML, "--groups", GROUPS)
ok(d is not None, "relab eval runs on random predictions with --real --multilabel --groups")
if d is not None:
    lab_ok = labels >= 0
    check_acc(d["top1"], int(((cls[:, 0] == labels) & lab_ok).sum()), int(lab_ok.sum()), "top-1")
    check_acc(d["top5"], int(((cls == labels[:, None]).any(1) & lab_ok).sum()), int(lab_ok.sum()), "top-5")
    has = np.array([bool(real[k]) for k in rows])
    r1 = np.array([cls[i, 0] in real[k] for i, k in enumerate(rows)])
    r5 = np.array([any(c in real[k] for c in cls[i]) for i, k in enumerate(rows)])
    check_acc(d["real"]["top1"], int((r1 & has).sum()), int(has.sum()), "ReaL top-1")
    check_acc(d["real"]["top5"], int((r5 & has).sum()), int(has.sum()), "ReaL top-5")
    ok(d["real"]["excluded_empty"] == int((~has).sum()), "ReaL excluded %d empty sets" % int((~has).sum()))
    # Multi-label, imagenet-mistakes rule: skip problematic; per-class mean by original label.
    per = {}
    mc = mt = 0
    for i, k in enumerate(rows):
        if k not in ml or ml[k][2]:
            continue
        hit = int(cls[i, 0] in ml[k][1])
        c_, t_ = per.get(ml[k][0], (0, 0))
        per[ml[k][0]] = (c_ + hit, t_ + 1)
        mc += hit
        mt += 1
    macro = np.mean([c_ / t_ for c_, t_ in per.values()])
    ok(d["multilabel"]["classes"] == len(per) and abs(d["multilabel"]["macro"] - macro) <= 1e-12,
       "multi-label macro %.12f over %d classes" % (macro, len(per)))
    check_acc(d["multilabel"]["micro"], mc, mt, "multi-label micro")
    for g in sorted(set(groups.values())):
        ing = np.array([l >= 0 and groups[int(l)] == g for l in labels])
        check_acc(d["groups"][g]["top1"], int((ing & (cls[:, 0] == labels)).sum()), int(ing.sum()), "group %s top-1" % g)
        check_acc(d["groups"][g]["real_top1"], int((ing & has & r1).sum()), int((ing & has).sum()),
                  "group %s ReaL top-1" % g)
        gm = [int(cls[i, 0] in ml[k][1]) for i, k in enumerate(rows) if k in ml and not ml[k][2] and groups[ml[k][0]] == g]
        check_acc(d["groups"][g]["multilabel_micro"], sum(gm), len(gm), "group %s multi-label micro" % g)

    # --labels as a wnid file (+ classes.tsv) and as a relab list give the same top-1.
    dl = run_json("eval", p2, "--labels", WNIDS, "--classes", CLASSES)
    ok(dl is not None and dl["top1"]["correct"] == int((cls[:, 0] == orig[rows]).sum()) and dl["top1"]["total"] == N,
       "--labels wnid file + --classes: top-1 against the original labels")
    lst = os.path.join(tmp, "val.list")
    with open(lst, "w") as f:
        f.write("# relab-list 1\n# classes 1000\n")
        for k in range(NVAL):
            f.write("%s\t%d\n" % (vid(k), orig[k]))
    dl2 = run_json("eval", p2, "--labels", lst)
    ok(dl2 is not None and dl is not None and dl2["top1"] == dl["top1"], "--labels relab list gives the same top-1")

    # McNemar against a second random model on the same images (in another order).
    rows_b, cls_b, sc_b = random_preds(1, 0.58)
    pb = os.path.join(tmp, "rand_b.h5")
    write_preds(pb, [vid(k) for k in rows_b], orig[rows_b], cls_b, sc_b)
    dc = run_json("compare", p2, pb)
    dc_lab = run_json("compare", p2, pb, "--labels", WNIDS, "--classes", CLASSES)
    pos_b = {k: j for j, k in enumerate(rows_b)}
    n11 = n10 = n01 = n00 = 0
    for i, k in enumerate(rows):
        if k not in pos_b:
            continue
        a_ok = bool(cls[i, 0] == orig[k])
        b_ok = bool(cls_b[pos_b[k], 0] == orig[k])
        n11 += a_ok and b_ok
        n10 += a_ok and not b_ok
        n01 += b_ok and not a_ok
        n00 += not a_ok and not b_ok
    m = n10 + n01
    term, tail = 1, 1  # C(m, 0); C(m, i) = C(m, i-1) (m-i+1) / i, exact in integers
    for i in range(1, min(n10, n01) + 1):
        term = term * (m - i + 1) // i
        tail += term
    p_exact = min(1.0, float(2 * Fraction(tail, 2 ** m)))
    chi2 = max(abs(n10 - n01) - 1, 0) ** 2 / m
    p_chi2 = math.erfc(math.sqrt(chi2 / 2))
    ok(dc is None, "compare refuses rows whose labels differ between the files (50 unknown in A)")
    ok(dc_lab is not None and (dc_lab["both"], dc_lab["a_only"], dc_lab["b_only"], dc_lab["neither"]) == (n11, n10, n01, n00),
       "McNemar table %d/%d/%d/%d" % (n11, n10, n01, n00))
    if dc_lab is not None:
        ok(abs(dc_lab["p_exact"] - p_exact) <= 1e-9 * p_exact + 1e-300,
           "McNemar exact p %.12g vs exact rational %.12g" % (dc_lab["p_exact"], p_exact))
        ok(abs(dc_lab["chi2"] - chi2) <= 1e-12 * chi2 and abs(dc_lab["p_chi2"] - p_chi2) <= 1e-9 * p_chi2 + 1e-300,
           "McNemar chi2 %.9g, p %.9g" % (chi2, p_chi2))

# Small hand-checked case: 5 vs 1 discordant -> p = 2*(1+6)/64 = 0.21875.
pa_, pb_ = os.path.join(tmp, "sa.h5"), os.path.join(tmp, "sb.h5")
ids_s = ["s%d" % i for i in range(10)]
lab_s = [0] * 10
a_top = [0, 0, 0, 0, 0, 1, 0, 0, 1, 1]
b_top = [1, 1, 1, 1, 1, 0, 0, 0, 1, 1]
write_preds(pa_, ids_s, lab_s, np.array(a_top)[:, None], np.ones((10, 1)), C=3)
write_preds(pb_, ids_s[::-1], lab_s, np.array(b_top[::-1])[:, None], np.ones((10, 1)), C=3)
ds = run_json("compare", pa_, pb_)
ok(ds is not None and ds["a_only"] == 5 and ds["b_only"] == 1 and abs(ds["p_exact"] - 0.21875) < 1e-15,
   "hand case: a_only 5, b_only 1, exact p = 7/32 (ids matched across orders, not by position)")
ds2 = run_json("eval", pa_)
ok(ds2 is not None and ds2["top1"]["correct"] == 7 and ds2["real"] is None,
   "non-ImageNet ids: top-1 7/10, no ReaL without --real")
pf = os.path.join(tmp, "fixed.h5")
write_preds(pf, ids_s, lab_s, np.array(a_top)[:, None], np.ones((10, 1)), C=3, fixed_ids=True)
ds3 = run_json("compare", pa_, pf)
ok(ds3 is not None and ds3["both"] == 7 and ds3["neither"] == 3, "fixed-length string ids read like variable-length ones")

# ---- 3. malformed input ----
good = dict(ids=ids_s, labels=lab_s, classes=np.array(a_top)[:, None], scores=np.ones((10, 1)))


def bad(name, what, expect, **kw):
    path = os.path.join(tmp, name + ".h5")
    args = dict(good)
    args.update({k: v for k, v in kw.items() if k in args})
    write_preds(path, args["ids"], args["labels"], args["classes"], args["scores"], C=kw.get("C", 3),
                kind=kw.get("kind", "softmax"), drop=kw.get("drop"), extra=kw.get("extra"))
    rc, out, err = run("eval", path)
    ok(rc == 1 and path in err and all(e in err for e in expect),
       "%s: exit %d, message names file and %s: %s" % (what, rc, expect, err.strip()[:160]))


bad("nodata", "missing topk_scores", ["'topk_scores'"], drop=["topk_scores"])
bad("noids", "missing ids", ["'ids'"], drop=["ids"])
bad("shape", "labels of wrong length", ["'labels'", "shape"], labels=[0] * 9)
bad("scshape", "scores of wrong shape", ["'topk_scores'", "shape"], scores=np.ones((10, 2)))
bad("range", "class out of range", ["'topk_classes'", "outside"], classes=np.array([0] * 9 + [3])[:, None])
bad("labrange", "label out of range", ["'labels'", "outside"], labels=[0] * 9 + [7])
bad("floatcls", "classes stored as floats", ["'topk_classes'", "integers"],
    extra={"topk_classes": np.zeros((10, 1), np.float32)})
bad("kind", "unknown score_kind", ["'score_kind'"], kind="logits")
bad("nan", "NaN score", ["'topk_scores'"], scores=np.array([[np.nan]] + [[1.0]] * 9))
bad("unsorted", "scores not best first", ["'topk_scores'", "sorted"], classes=np.tile([0, 1], (10, 1)),
    scores=np.tile([0.2, 0.8], (10, 1)))
bad("dupcls", "class twice in a row", ["'topk_classes'", "twice"], classes=np.tile([1, 1], (10, 1)),
    scores=np.tile([0.5, 0.5], (10, 1)))
bad("nc", "num_classes missing", ["'num_classes'"], drop=["num_classes"])
noth5 = os.path.join(tmp, "not.h5")
open(noth5, "w").write("hello")
rc, _, err = run("eval", noth5)
ok(rc == 1 and noth5 in err, "a non-HDF5 file: exit 1 naming it")
rc, _, err = run("eval", os.path.join(tmp, "missing.h5"))
ok(rc == 1 and "missing.h5" in err, "a missing file: exit 1 naming it")
dup = os.path.join(tmp, "dup.h5")
write_preds(dup, [vid(0), vid(0)], [0, 0], [[0], [0]], [[1.0], [1.0]])
rc, _, err = run("eval", dup)
ok(rc == 1 and dup in err and "twice" in err, "an ImageNet id twice: exit 1: " + err.strip()[:120])
badjson = os.path.join(tmp, "real_bad.json")
open(badjson, "w").write("[[1, 2],\n [3, x]]")
rc, _, err = run("eval", p1, "--real", badjson)
ok(rc == 1 and badjson + ":2:6" in err, "malformed real.json: exit 1 with file:line:col: " + err.strip()[:120])
open(badjson, "w").write("[[1, 2], [1000]]")
rc, _, err = run("eval", p1, "--real", badjson)
ok(rc == 1 and badjson + ":1:11" in err and "1000" in err, "real.json class out of range: file:line:col")
badcsv = os.path.join(tmp, "ml_bad.csv")
open(badcsv, "w").write(open(ML).read().split("\n", 1)[0] + "\nILSVRC2012_val_00000001.JPEG,A,65,\"65, 1\",True,,,Maybe\n")
rc, _, err = run("eval", p1, "--multilabel", badcsv)
ok(rc == 1 and badcsv + ":2" in err, "malformed multilabel.csv: exit 1 with file:line: " + err.strip()[:120])
rc, _, err = run("eval")
ok(rc == 2, "no arguments: usage, exit 2")
rc, out, _ = run("eval", "--help")
ok(rc == 0 and "--real" in out, "--help: exit 0 and describes --real")
rc, _, _ = run("compare", p1)
ok(rc == 2, "compare with one file: exit 2")

shutil.rmtree(tmp, ignore_errors=True)
done()
