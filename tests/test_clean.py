#!/usr/bin/python3
"""test_clean.py: `relab noise` and `relab clean` against independent Python.

Noise on 20,000 Fashion-MNIST training labels: each kind flips at its rate
(within a 99.99% binomial band), only to allowed classes, reproduces exactly a
Python re-implementation of the documented per-sample draw (SplitMix64 keyed by
(seed, "noise", index)), and its record lists exactly the changed samples.
Clean with a synthetic teacher: kept/removed sets, per-class counts, top pairs,
precision/recall against the record, the relabel and multihot lists and the
k-fold merge equal a numpy computation; bad teachers give exit 1 with a message.
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

from relab_rng import Rng
from taplib import done, ok, relab_or_skip, skip_all


try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover
    skip_all("needs h5py and numpy: %s" % e)

RELAB = relab_or_skip()
FM = os.environ.get("RELAB_FASHION", "/usr/share/datasets/fashion-mnist")
LABELS = os.path.join(FM, "train-labels-idx1-ubyte.gz")
if not os.path.exists(LABELS):
    skip_all("Fashion-MNIST labels not found at %s (dataset-fashion-mnist)" % LABELS)

tmp = tempfile.mkdtemp(prefix="relab-test-clean-")
raw = gzip.open(LABELS).read()
assert int.from_bytes(raw[:4], "big") == 2049
# The first 20,000 of the 60,000 training labels keep the test fast on a busy machine.
y = np.frombuffer(raw[8:], np.uint8).astype(np.int64)[:20000]
N, C = len(y), 10
ids = ["train-images-idx3-ubyte.gz#%d" % i for i in range(N)]


def write_list(path, labels, classes=C):
    with open(path, "w") as f:
        f.write("# relab-list 1\n# classes %d\n" % classes)
        for i, l in enumerate(labels):
            if isinstance(l, (list, tuple)):
                f.write("%s\t%s\n" % (ids[i], ",".join(str(v) for v in l)))
            else:
                f.write("%s\t%d\n" % (ids[i], l))


def read_list(path):
    out = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        i, labs = line.rstrip("\n").split("\t")
        out[i] = [int(v) for v in labs.split(",")]
    return out


def run(*args):
    p = subprocess.run([RELAB] + [str(a) for a in args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


clean_list = os.path.join(tmp, "clean.list")
write_list(clean_list, y)

# ---- Python re-implementation of the documented draw (util/rng.h, clean/noise.h) ----
STREAM = 0x6E6F697365  # "noise"


def py_noise(kind, rate, seed, pair=None, W=None):
    out = y.copy()
    for i in range(N):
        r = Rng(seed, STREAM, i)
        if not r.uniform() < rate:
            continue
        c = int(y[i])
        if kind == "symmetric":
            j = r.below(C - 1)
            out[i] = j + 1 if j >= c else j
        elif kind == "pairflip":
            out[i] = pair[c] if pair[c] >= 0 else c
        else:
            w = [W[c][j] if j != c else 0.0 for j in range(C)]
            x = r.uniform() * sum(w)
            for j in range(C):
                if j == c or w[j] <= 0:
                    continue
                last = j
                if x < w[j]:
                    break
                x -= w[j]
            out[i] = last
    return out


def band(rate, n):
    """A 99.99% normal band for a binomial count."""
    sd = (n * rate * (1 - rate)) ** 0.5
    return n * rate - 4 * sd, n * rate + 4 * sd


FASHION_PAIRS = [6, -1, 4, -1, 2, 7, 0, 5, -1, -1]
W = [[0.0] * C for _ in range(C)]
for c in range(C):
    W[c][(c + 1) % C] = 1.0
    W[c][(c + 2) % C] = 3.0
    W[c][c] = 5.0  # ignored when a rate is given
wpath = os.path.join(tmp, "w.txt")
with open(wpath, "w") as f:
    f.write("# weights: i -> i+1 (1), i -> i+2 (3)\n")
    for row in W:
        f.write(" ".join("%g" % v for v in row) + "\n")

results = {}
for kind, rate, extra in [("symmetric", 0.2, []), ("pairflip", 0.3, []), ("matrix", 0.25, ["--matrix", wpath])]:
    out = os.path.join(tmp, kind + ".list")
    rec = os.path.join(tmp, kind + ".tsv")
    rc, so, se = run("noise", "--in", clean_list, "-o", out, "--kind", kind, "--rate", rate, "--seed", 7,
                     "--record", rec, *extra)
    if not ok(rc == 0, "relab noise --kind %s runs: %s" % (kind, (so + se).strip()[:120])):
        continue
    got = read_list(out)
    z = np.array([got[i][0] for i in ids])
    results[kind] = (out, rec, z)
    ch = z != y
    if kind == "symmetric":
        lo, hi = band(rate, N)
        ok(lo <= ch.sum() <= hi, "symmetric: %d flips in [%.0f, %.0f] (rate %.2f)" % (ch.sum(), lo, hi, rate))
        # every other class is equally likely: each (c -> d) count within its band
        cnt = np.zeros((C, C), int)
        np.add.at(cnt, (y[ch], z[ch]), 1)
        per = [cnt[c, d] for c in range(C) for d in range(C) if d != c]
        n_c = np.bincount(y, minlength=C)
        okall = all(band(rate / (C - 1), n_c[c])[0] <= cnt[c, d] <= band(rate / (C - 1), n_c[c])[1]
                    for c in range(C) for d in range(C) if d != c)
        ok(okall and min(per) > 0, "symmetric: every (class -> other class) count within its band, none to itself")
    elif kind == "pairflip":
        paired = np.array([FASHION_PAIRS[c] >= 0 for c in y])
        lo, hi = band(rate, int(paired.sum()))
        ok(lo <= ch.sum() <= hi, "pairflip: %d flips among %d paired samples in [%.0f, %.0f]" % (ch.sum(), paired.sum(), lo, hi))
        ok(all(FASHION_PAIRS[a] == b for a, b in zip(y[ch], z[ch])) and not (ch & ~paired).any(),
           "pairflip: only T-shirt<->shirt, pullover<->coat, sandal<->sneaker flips (Fashion-MNIST defaults)")
    else:
        lo, hi = band(rate, N)
        d = (z[ch] - y[ch]) % C
        ok(lo <= ch.sum() <= hi, "matrix: %d flips in [%.0f, %.0f]" % (ch.sum(), lo, hi))
        lo2, hi2 = band(0.75, int(ch.sum()))
        ok(set(d.tolist()) <= {1, 2} and lo2 <= (d == 2).sum() <= hi2,
           "matrix: flips only to i+1 / i+2 in ratio 1:3 (%d : %d)" % ((d == 1).sum(), (d == 2).sum()))
    want = py_noise(kind, rate, 7, FASHION_PAIRS, W)
    ok((z == want).all(), "%s: equals the Python re-implementation of the per-sample draw exactly" % kind)
    lines = [l.rstrip("\n").split("\t") for l in open(rec) if not l.startswith("#")]
    ok(lines == [[ids[i], str(y[i]), str(z[i])] for i in np.nonzero(ch)[0]],
       "%s: the record lists exactly the %d changed samples (id, original, noisy)" % (kind, ch.sum()))

# per-sample seeding: a prefix of the list gets the same noise as in the full run
prefix = os.path.join(tmp, "prefix.list")
with open(prefix, "w") as f:
    f.write("# relab-list 1\n# classes 10\n")
    for i in range(1000):
        f.write("%s\t%d\n" % (ids[i], y[i]))
rc, _, _ = run("noise", "--in", prefix, "-o", os.path.join(tmp, "p.list"), "--kind", "symmetric", "--rate", 0.2,
               "--seed", 7)
gp = read_list(os.path.join(tmp, "p.list"))
ok(rc == 0 and "symmetric" in results and all(gp[ids[i]][0] == results["symmetric"][2][i] for i in range(1000)),
   "a sample's noise depends on (seed, index) only: the first 1000 samples match the full run")
rc, _, _ = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "s8.list"), "--kind", "symmetric", "--rate", 0.2,
               "--seed", 8)
g8 = read_list(os.path.join(tmp, "s8.list"))
z8 = np.array([g8[i][0] for i in ids])
ok(rc == 0 and "symmetric" in results and (z8 != results["symmetric"][2]).sum() > 1000, "another seed gives other noise")
rc, _, _ = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "x.list"), "--kind", "symmetric", "--seed", 1)
ok(rc == 2, "noise without --rate: usage error (exit 2)")
rc, _, _ = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "x.list"), "--kind", "pairflip", "--rate", 0.1,
               "--seed", 1, "--pairs", "0:6,6:2")
ok(rc == 1, "a class in two --pairs is refused (exit 1)")

# matrix without --rate: row i (normalised, diagonal = keep) is the transition distribution
rc, _, se = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "t.list"), "--kind", "matrix", "--matrix", wpath,
                "--seed", 11)
gt = read_list(os.path.join(tmp, "t.list")) if rc == 0 else {}
want = y.copy()
for i in range(N):
    r = Rng(11, STREAM, i)
    x = r.uniform() * sum(W[int(y[i])])
    for j in range(C):
        if x < W[int(y[i])][j]:
            want[i] = j
            break
        x -= W[int(y[i])][j]
zt = np.array([gt[i][0] for i in ids]) if gt else None
ok(zt is not None and (zt == want).all() and band(4 / 9, N)[0] <= (zt != y).sum() <= band(4 / 9, N)[1],
   "matrix without --rate: transition rows 5:1:3 keep 5/9, equal to the Python draw")
rc, _, se = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "f.list"), "--kind", "pairflip", "--rate", 1,
                "--seed", 1, "--pairs", "1:3")
gf = read_list(os.path.join(tmp, "f.list")) if rc == 0 else {}
ok(rc == 0 and all(gf[ids[i]][0] == {1: 3, 3: 1}.get(int(y[i]), int(y[i])) for i in range(N)),
   "--pairs 1:3 at rate 1 swaps exactly classes 1 and 3")
short = os.path.join(tmp, "short.txt")
with open(short, "w") as f:
    f.write("1 0 0 0 0 0 0 0 0 0\n0 1 0 0 0 0 0 0 0 -1\n")
rc, _, se = run("noise", "--in", clean_list, "-o", os.path.join(tmp, "x.list"), "--kind", "matrix", "--matrix", short,
                "--seed", 1)
ok(rc == 1 and short + ":2" in se, "a negative matrix weight: exit 1 naming file:line: " + se.strip()[:100])

# ---- clean ----
if "symmetric" not in results:
    done(fail=True)
noisy_list, record, z = results["symmetric"]
K = 3
rng = np.random.default_rng(5)
teacher_cls = np.where(rng.random(N) < 0.9, y, rng.integers(0, C, N))
logits = rng.normal(0, 1, (N, C)).astype(np.float32)
logits[np.arange(N), teacher_cls] += np.float32(3.0)
e = np.exp(logits.astype(np.float64) - logits.max(1, keepdims=True))
probs = (e / e.sum(1, keepdims=True)).astype(np.float32)
order = np.argsort(-probs, axis=1, kind="stable")[:, :K].astype(np.int32)
tsc = np.take_along_axis(probs, order, 1)


def write_teacher(path, rows, with_logits=True):
    with h5py.File(path, "w") as f:
        f["ids"] = np.array([ids[i] for i in rows], dtype=h5py.string_dtype())
        f["labels"] = z[rows].astype(np.int32)
        f["topk_classes"] = order[rows]
        f["topk_scores"] = tsc[rows]
        if with_logits:
            f["logits"] = logits[rows]
        f["num_classes"] = np.int32(C)
        f["score_kind"] = "softmax"


teacher = os.path.join(tmp, "teacher.h5")
write_teacher(teacher, np.arange(N))
out = os.path.join(tmp, "cleaned.list")
rep = os.path.join(tmp, "report.json")
rows = os.path.join(tmp, "rows.tsv")
rc, so, se = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", out, "--report", rep,
                 "--noise-record", record, "--per-image", rows)
ok(rc == 0, "relab clean (top1, drop) runs: " + se.strip()[:160])
flag = order[:, 0] != z
got = read_list(out) if rc == 0 else {}
ok(list(got) == [ids[i] for i in range(N) if not flag[i]] and all(got[ids[i]] == [z[i]] for i in range(N) if not flag[i]),
   "drop keeps exactly the %d samples whose label is the teacher's top-1, labels unchanged" % (N - flag.sum()))
r = json.load(open(rep)) if rc == 0 else {}
ok(r.get("total") == N and r.get("kept") == N - flag.sum() and r.get("removed") == flag.sum(),
   "report: total %d, kept %d, removed %d" % (N, N - flag.sum(), flag.sum()))
ok(r.get("flagged_per_class") == np.bincount(z[flag], minlength=C).tolist(), "report: removed per class")
pairs = {}
for a, b in zip(z[flag], order[flag, 0]):
    pairs[(int(a), int(b))] = pairs.get((int(a), int(b)), 0) + 1
want_pairs = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
ok([(p["label"], p["teacher"], p["count"]) for p in r.get("top_pairs", [])] == [(a, b, n) for (a, b), n in want_pairs],
   "report: the 20 most frequent (label, teacher) pairs, e.g. %s" % (want_pairs[:2],))
changed = z != y
hit = int((changed & flag).sum())
prec, rec_ = hit / flag.sum(), hit / changed.sum()
nz = r.get("noise") or {}
ok(nz.get("changed") == changed.sum() and nz.get("hit") == hit and abs(nz.get("precision", -1) - prec) < 1e-15
   and abs(nz.get("recall", -1) - rec_) < 1e-15, "precision %.4f and recall %.4f against the noise record" % (prec, rec_))
ok("precision" in so and "recall" in so, "the printed report states precision and recall")


def read_rows(path):
    lines = open(path).read().split("\n")
    return lines[0].split("\t"), [l.split("\t") for l in lines[1:] if l]


def label_prob_of(i):
    """The teacher's probability of sample i's label: the stored top-k score, or
    the softmax of the float32 logits (double, rounded to float32)."""
    hit = np.nonzero(order[i] == z[i])[0]
    if len(hit):
        return tsc[i, hit[0]]
    return np.float32(e[i, z[i]] / e[i].sum())


head, rws = read_rows(rows) if rc == 0 else ([], [])
ok(head == ["id", "label", "teacher", "teacher_prob", "label_prob", "agrees", "action", "new_label", "truth"],
   "per-image table: the documented columns " + " ".join(head))
good = len(rws) == N
for i in range(N if good else 0):
    want = [ids[i], str(z[i]), str(order[i, 0])]
    r_ = rws[i]
    if (r_[:3] != want or np.float32(float(r_[3])) != tsc[i, 0] or np.float32(float(r_[4])) != label_prob_of(i)
            or r_[5:] != [str(int(not flag[i])), "dropped" if flag[i] else "kept", "" if flag[i] else str(z[i]),
                          str(y[i])]):
        print("# row %d: got %s, want %s %r %r" % (i, r_, want, tsc[i, 0], label_prob_of(i)))
        good = False
        break
ok(good, "per-image table: %d rows of id, label, teacher top-1 and its probability, the label's probability, "
   "agrees, kept/dropped, the cleaned label and the noise record's true label" % N)

# k-fold teachers merged by id give the same result; overlap and gaps are errors
folds = [os.path.join(tmp, "fold%d.h5" % k) for k in range(3)]
for k in range(3):
    write_teacher(folds[k], np.arange(k, N, 3))
out3 = os.path.join(tmp, "cleaned3.list")
rc, _, se = run("clean", "--teacher", folds[0], "--teacher", folds[1], "--teacher", folds[2], "--train", noisy_list,
                "-o", out3)
ok(rc == 0 and open(out3).read() == open(out).read(), "three out-of-fold teacher files give the same cleaned list")
rc, _, se = run("clean", "--teacher", folds[0], "--teacher", teacher, "--train", noisy_list, "-o", out3)
ok(rc == 1 and "predicted twice" in se and folds[0] in se, "an id in two teacher files: exit 1: " + se.strip()[:140])
rc, _, se = run("clean", "--teacher", folds[0], "--teacher", folds[1], "--train", noisy_list, "-o", out3)
ok(rc == 1 and "no teacher prediction" in se and ids[2] in se and str(len(range(2, N, 3))) in se,
   "samples without a teacher prediction: exit 1 listing the first ids: " + se.strip()[:140])

# other rules
rc, _, se = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", out3, "--rule", "topk:2")
keep2 = (order[:, :2] == z[:, None]).any(1)
got = read_list(out3) if rc == 0 else {}
ok(rc == 0 and list(got) == [ids[i] for i in range(N) if keep2[i]], "topk:2 keeps the %d samples whose label is in the top 2" % keep2.sum())
in_top = (order == z[:, None])
# relab computes softmax in double from the float32 logits, as done here, and
# rounds the probability to float32 (train/loss.h rl_loss_probabilities)
p_lab = np.where(in_top.any(1), (tsc * in_top).sum(1),
                 (e / e.sum(1, keepdims=True))[np.arange(N), z].astype(np.float32)).astype(np.float32)
keepp = p_lab.astype(np.float64) >= 0.3
rc, _, se = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", out3, "--rule", "prob:0.3")
got = read_list(out3) if rc == 0 else {}
ok(rc == 0 and list(got) == [ids[i] for i in range(N) if keepp[i]],
   "prob:0.3 keeps the %d samples with teacher probability >= 0.3 (logits used outside the top-k)" % keepp.sum())
nolog = os.path.join(tmp, "nologits.h5")
write_teacher(nolog, np.arange(N), with_logits=False)
rc, _, se = run("clean", "--teacher", nolog, "--train", noisy_list, "-o", out3, "--rule", "prob:0.0001")
ok(rc == 1 and "logits" in se, "prob rule undecidable without logits: exit 1 asking for logits")

# relabel and multihot
outr = os.path.join(tmp, "relabel.list")
rep2 = os.path.join(tmp, "relabel.json")
rc, _, se = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", outr, "--mode", "relabel",
                "--noise-record", record, "--report", rep2, "--per-image", rows)
got = read_list(outr) if rc == 0 else {}
want = np.where(flag, order[:, 0], z)
ok(rc == 0 and len(got) == N and all(got[ids[i]] == [want[i]] for i in range(N)),
   "relabel: every sample kept, disagreeing ones get the teacher's top-1")
r2 = json.load(open(rep2)) if rc == 0 else {}
restored = int((changed & flag & (order[:, 0] == y)).sum())
ok((r2.get("noise") or {}).get("restored") == restored and r2.get("relabeled") == flag.sum(),
   "relabel restores the true label of %d noisy samples" % restored)
_, rws = read_rows(rows) if rc == 0 else ([], [])
ok(len(rws) == N and all(r_[6:8] == (["relabeled", str(order[i, 0])] if flag[i] else ["kept", str(z[i])])
                         for i, r_ in enumerate(rws)), "per-image table of relabel: relabeled rows carry the teacher's class")
nl_rows = os.path.join(tmp, "rows-nologits.tsv")
rc, _, se = run("clean", "--teacher", nolog, "--train", noisy_list, "-o", outr, "--per-image", nl_rows)
_, rws = read_rows(nl_rows) if rc == 0 else ([], [])
ok(len(rws) == N and all((r_[4] == "") == (not (order[i] == z[i]).any()) for i, r_ in enumerate(rws))
   and all(r_[8] == "" for r_ in rws),
   "without logits the label's probability is empty outside the top-k; without a record the truth is empty")
outm = os.path.join(tmp, "multihot.list")
rc, _, se = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", outm, "--mode", "multihot",
                "--multihot-thresh", "0.2")
got = read_list(outm) if rc == 0 else {}
good = rc == 0 and len(got) == N
nextra = 0
for i in range(N):
    w = [int(z[i])] + [int(c) for c, s in zip(order[i], tsc[i]) if float(s) >= 0.2 and c != z[i]]
    nextra += len(w) - 1
    if good and got[ids[i]] != w:
        good = False
        print("# sample %d: got %s want %s" % (i, got[ids[i]], w))
ok(good and nextra > 0, "multihot: label first, then the teacher's top-k classes scoring >= 0.2 (%d extras)" % nextra)
rc, _, _ = run("clean", "--teacher", teacher, "--train", noisy_list)
ok(rc == 2, "clean without -o: usage error (exit 2)")
rc, _, _ = run("clean", "--teacher", teacher, "--train", noisy_list, "-o", out3, "--rule", "top3")
ok(rc == 2, "an unknown --rule: usage error (exit 2)")

shutil.rmtree(tmp, ignore_errors=True)
done()
