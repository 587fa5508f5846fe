#!/usr/bin/python3
"""test_lists.py: data in, against independent Python.

1. `relab list --images` on the three folder layouts (class folders in sorted
   or classes.tsv order, numbered ImageNetV2 folders, a flat ImageNet-val
   folder with a WNID file), each compared with the list computed here from the
   files on disk; the `# root` header makes a list usable from another folder,
   and a list whose paths do not resolve is refused once, naming the list, the
   line and the count.
2. `relab split`: class-stratified folds equal a Python re-implementation of
   the documented draw (SplitMix64 keyed by (seed, "split", class)); every
   sample is held out exactly once; another seed gives other folds.
3. `relab clean --keep-list/--drop-list`: the kept samples, the counts of
   unmatched names and the per-image table equal a set computation.
"""
import os
import shutil
import subprocess
import tempfile

from relab_rng import Rng
from taplib import done, ok, relab_or_skip, skip_all

try:
    import numpy as np
    from PIL import Image
except ImportError as e:  # pragma: no cover
    skip_all("needs numpy and PIL: %s" % e)

RELAB = relab_or_skip()

tmp = tempfile.mkdtemp(prefix="relab-test-lists-")
rng = np.random.default_rng(3)


def run(*args, cwd=None):
    p = subprocess.run([RELAB] + [str(a) for a in args], capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def image(path, ext="JPEG"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(a).save(path, "PNG" if ext == "png" else "JPEG")


def read_list(path):
    """(headers dict, [(id, [labels])])"""
    heads, rows = {}, []
    for line in open(path).read().split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            k, _, v = line[1:].strip().partition(" ")
            heads[k] = v
            continue
        i, labs = line.split("\t")
        rows.append((i, [int(v) for v in labs.split(",")]))
    return heads, rows


# ---- 1. relab list --images: three layouts ----
train = os.path.join(tmp, "data", "train")
wnids = ["n0300", "n0100", "n0200", "n0150"]
files = {}
for w in wnids:
    for j in range(int(rng.integers(2, 5))):
        ext = ["JPEG", "jpg", "png"][j % 3]
        name = "%s_%d.%s" % (w, j, ext)
        image(os.path.join(train, w, name), "png" if ext == "png" else "JPEG")
        files.setdefault(w, []).append(name)
os.makedirs(os.path.join(train, "n0100", ".hidden"))  # not a class, not an image
open(os.path.join(train, "n0100", "notes.txt"), "w").write("not an image\n")

out = os.path.join(tmp, "lists", "train.list")
os.makedirs(os.path.dirname(out))
rc, so, se = run("list", "--images", train, "-o", out)
heads, rows = read_list(out) if rc == 0 else ({}, [])
sorted_w = sorted(wnids)
want = [("%s/%s" % (w, f), [sorted_w.index(w)]) for w in sorted_w for f in sorted(files[w])]
ok(rc == 0 and rows == want, "class folders: ids WNID/file in sorted order, class = the folder's sorted place (%d)"
   % len(want))
ok(heads.get("root") == os.path.realpath(train) and heads.get("classes") == "4",
   "the list names its root (the folder's absolute path) and 4 classes: " + str(heads))

# a classes.tsv fixes another order (and more classes than folders)
cls_order = ["n0200", "n0999", "n0100", "n0300", "n0150"]
ctsv = os.path.join(tmp, "classes.tsv")
with open(ctsv, "w") as f:
    f.write("index\twnid\tname\n" + "".join("%d\t%s\tthing %d\n" % (i, w, i) for i, w in enumerate(cls_order)))
rc, _, se = run("list", "--images", train, "--classes", ctsv, "-o", out)
heads, rows = read_list(out) if rc == 0 else ({}, [])
want_c = [("%s/%s" % (w, f), [cls_order.index(w)]) for w in sorted_w for f in sorted(files[w])]
ok(rc == 0 and rows == want_c and heads.get("classes") == "5", "--classes classes.tsv: class = the WNID's index there")

# ImageNetV2: folders 0..N-1, class = the number, not the sorted name
v2 = os.path.join(tmp, "data", "imagenetv2")
v2files = {}
for c in range(12):
    for j in range(1 + c % 2):
        name = "%032x.jpeg" % int(rng.integers(0, 2**62))
        image(os.path.join(v2, str(c), name))
        v2files.setdefault(c, []).append(name)
rc, _, se = run("list", "--images", v2, "--numbered", "-o", out)
heads, rows = read_list(out) if rc == 0 else ({}, [])
want_v2 = [("%s/%s" % (d, f), [int(d)]) for d in sorted(str(c) for c in v2files) for f in sorted(v2files[int(d)])]
ok(rc == 0 and rows == want_v2 and heads.get("classes") == "12",
   "--numbered (ImageNetV2): class = folder number (folder '10' is class 10, not 2)")
rc, _, se = run("list", "--images", v2, "--numbered", "--classes", 1000, "-o", out)
ok(rc == 0 and read_list(out)[0].get("classes") == "1000", "--numbered --classes 1000 declares 1000 classes")
rc, _, se = run("list", "--images", v2, "-o", out)
ok(rc == 0 and "numbered" in se, "numbered folders read by name: a warning names the numbered layout")
rc, _, se = run("list", "--images", train, "--first", 5, "-o", out)
ok(rc == 0 and read_list(out)[1] == want[:5] and read_list(out)[0].get("classes") == "4",
   "--first 5 keeps the first 5 samples and the class count")
rc, _, se = run("list", "--images", train, "--numbered", "-o", out)
ok(rc == 1 and "n0100" in se and "not a class number" in se, "--numbered on WNID folders: exit 1 naming the folder")
os.makedirs(os.path.join(tmp, "data", "v2bad", "007"))
image(os.path.join(tmp, "data", "v2bad", "007", "a.jpeg"))
rc, _, se = run("list", "--images", os.path.join(tmp, "data", "v2bad"), "--numbered", "-o", out)
ok(rc == 1 and "007" in se, "--numbered refuses a folder '007' (a leading zero is not a class number)")

# ImageNet val: a flat folder and one WNID per image in sorted file-name order
val = os.path.join(tmp, "data", "val")
nval = 9
val_w = [sorted_w[int(rng.integers(0, 4))] for _ in range(nval)]
for k in range(nval):
    image(os.path.join(val, "ILSVRC2012_val_%08d.JPEG" % (k + 1)))
wfile = os.path.join(tmp, "val_wnids.txt")
open(wfile, "w").write("".join(w + "\n" for w in val_w))
rc, _, se = run("list", "--images", val, "--labels", wfile, "--classes", ctsv, "-o", out)
heads, rows = read_list(out) if rc == 0 else ({}, [])
ok(rc == 0 and rows == [("ILSVRC2012_val_%08d.JPEG" % (k + 1), [cls_order.index(val_w[k])]) for k in range(nval)],
   "flat folder + WNID file (ImageNet val): line k labels ILSVRC2012_val_{k+1}, through classes.tsv")
rc, _, se = run("list", "--images", val, "--labels", wfile, "--class-root", train, "-o", out)
heads, rows = read_list(out) if rc == 0 else ({}, [])
ok(rc == 0 and rows == [("ILSVRC2012_val_%08d.JPEG" % (k + 1), [sorted_w.index(val_w[k])]) for k in range(nval)],
   "flat folder with --class-root: WNID -> the train tree's sorted folder index")
short = os.path.join(tmp, "short_wnids.txt")
open(short, "w").write("".join(w + "\n" for w in val_w[:-1]))
rc, _, se = run("list", "--images", val, "--labels", short, "-o", out)
ok(rc == 1 and short in se and "8 labels for 9 images" in se, "a WNID file one line short: exit 1 naming it: "
   + se.strip()[:120])
for args, what in ((["--images", train, "--labels", wfile, "--numbered"], "--numbered with --labels"),
                   (["--images", train, "--class-root", train], "--class-root without --labels"),
                   (["--images", train, "--fashion-mnist", train], "two sources"),
                   (["--idx-images", "x", "--idx-labels", "y", "--numbered"], "--numbered without --images")):
    rc, _, _ = run("list", *args, "-o", out)
    ok(rc == 2, "usage error (exit 2): " + what)

# ---- the root: a list elsewhere finds its images; one error for unresolved paths ----
rc, _, _ = run("list", "--images", train, "-o", out)
moved = os.path.join(tmp, "elsewhere", "deeper", "train.list")
os.makedirs(os.path.dirname(moved))
shutil.copy(out, moved)
h5 = os.path.join(tmp, "pk")
rc, _, se = run("pack", moved, "-o", h5)
ok(rc == 0, "a list copied to another folder still finds its images through '# root': " + se.strip()[:100])
# a relative root is relative to the list's folder
rel = os.path.join(tmp, "data", "rel.list")
body = "".join("%s\t%d\n" % (i, l[0]) for i, l in read_list(out)[1])
open(rel, "w").write("# relab-list 1\n# root train\n" + body)
rc, _, se = run("pack", rel, "-o", h5 + "rel")
ok(rc == 0, "'# root train' is relative to the list's folder: " + se.strip()[:100])
noroot = os.path.join(tmp, "elsewhere", "noroot.list")
open(noroot, "w").write("# relab-list 1\n# some comment\n" + body)
rc, _, se = run("pack", noroot, "-o", h5 + "x")
nrows = len(read_list(out)[1])
ok(rc == 1 and noroot + ":3:" in se and "%d of %d image paths" % (nrows, nrows) in se and "# root" in se,
   "a list without root outside the image folder: one error naming list:line, the count and the fix: "
   + se.strip()[:200])
part = os.path.join(tmp, "data", "part.list")
gone = body.split("\n")[2].split("\t")[0]
open(part, "w").write("# relab-list 1\n# root train\n" + body.replace(gone, gone + ".missing"))
rc, _, se = run("pack", part, "-o", h5 + "y")
ok(rc == 1 and part + ":5:" in se and "1 of %d" % nrows in se and gone + ".missing" in se,
   "one missing image: exit 1 naming the list, its line 5 and the path: " + se.strip()[:200])
rc, _, _ = run("list", "--images", train, "--root-as", "/cluster/imagenet/train", "-o", out)
ok(rc == 0 and read_list(out)[0].get("root") == "/cluster/imagenet/train" and read_list(out)[1] == want,
   "--root-as writes the given root (the folder's path on another machine), the same ids")
# the recipe key list_root points a run at the images whatever the list's root says
rc, _, _ = run("list", "--images", train, "--root-as", "/nowhere", "-o", out)
recipe = os.path.join(tmp, "folder.recipe")
with open(recipe, "w") as f:
    f.write("model = resnet8\nwidth = 4\ndata = folder\ndata_dir = %s\nval_dir = %s\ntrain_list = %s\n"
            "image_size = 8\naugment = false\nloader_threads = 0\nepochs = 1\nbatch_size = 4\nwarmup_epochs = 0\n"
            "eval_every = 0\nlog_every = 0\n" % (train, train, out))
rc, _, se = run("train", recipe, "--out", os.path.join(tmp, "run-noroot"))
ok(rc == 1 and out in se and "/nowhere" in se, "training from a list whose root is elsewhere: exit 1 naming the list "
   "and where it looked: " + se.strip()[-160:])
rc, so, se = run("train", recipe, "--out", os.path.join(tmp, "run-root"), "--set", "list_root=" + train)
ok(rc == 0 and "14 images" in se, "list_root = the folder: the same list trains on its %d images" % len(want))
two = os.path.join(tmp, "data", "two.list")
open(two, "w").write("# relab-list 1\n# root train\n# root val\n" + body)
rc, _, se = run("pack", two, "-o", h5 + "z")
ok(rc == 1 and two + ":3:" in se, "two different '# root' lines: exit 1 naming line 3")

# ---- 2. relab split: class-stratified folds, the documented draw ----
def py_folds(labels, k, seed):
    fold, start = [None] * len(labels), 0
    for c in range(max(labels) + 1):
        v = [i for i, l in enumerate(labels) if l == c]
        r = Rng(seed, 0x73706C6974, c)
        for j in range(len(v) - 1, 0, -1):
            q = r.below(j + 1)
            v[j], v[q] = v[q], v[j]
        for j, i in enumerate(v):
            fold[i] = (start + j) % k
        start += len(v)
    return fold


ns = 503
slab = [int(x) for x in rng.choice(7, ns, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.04, 0.01])]
sids = ["img/%05d.JPEG" % int(x) for x in rng.permutation(100000)[:ns]]
extra = {i: (slab[i] + 1) % 7 for i in range(0, ns, 17)}  # some multi-label lines
src = os.path.join(tmp, "split-in.list")
with open(src, "w") as f:
    f.write("# relab-list 1\n# classes 9\n# root /data/somewhere\n")
    for i in range(ns):
        f.write("%s\t%d%s\n" % (sids[i], slab[i], ",%d" % extra[i] if i in extra else ""))
sd = os.path.join(tmp, "folds")
for k, seed in ((3, 5), (10, 0)):
    rc, _, se = run("split", src, "--folds", k, "--seed", seed, "-o", sd)
    want = py_folds(slab, k, seed)
    good = rc == 0
    for f_ in range(k if good else 0):
        hh, held = read_list(os.path.join(sd, "fold-%d.list" % f_))
        _, rest = read_list(os.path.join(sd, "train-%d.list" % f_))
        wl = lambda i: [slab[i]] + ([extra[i]] if i in extra else [])
        good &= held == [(sids[i], wl(i)) for i in range(ns) if want[i] == f_]
        good &= rest == [(sids[i], wl(i)) for i in range(ns) if want[i] != f_]
        good &= hh.get("root") == "/data/somewhere" and hh.get("classes") == "9"
    ok(good, "split --folds %d --seed %d: fold-k and train-k lists equal the Python draw (labels, extra labels, "
       "root, classes kept)" % (k, seed))
    per = np.zeros((7, k), int)
    for i in range(ns):
        per[slab[i], want[i]] += 1
    sizes = np.bincount(want, minlength=k)
    ok(good and (per.max(1) - per.min(1) <= 1).all() and sizes.max() - sizes.min() <= 1,
       "k=%d: each class's counts over the folds differ by at most 1, fold sizes %s" % (k, sizes.tolist()))
rc, _, _ = run("split", src, "--folds", 3, "--seed", 6, "-o", sd + "6")
a6 = [read_list(os.path.join(sd + "6", "fold-%d.list" % f_))[1] for f_ in range(3)] if rc == 0 else []
ok(rc == 0 and [[i for i, _ in x] for x in a6] != [[sids[i] for i in range(ns) if py_folds(slab, 3, 5)[i] == f_]
                                                   for f_ in range(3)], "another seed gives other folds")
tiny = os.path.join(tmp, "tiny.list")
open(tiny, "w").write("# relab-list 1\na\t0\nb\t1\n")
rc, _, se = run("split", tiny, "--folds", 3, "-o", sd + "t")
ok(rc == 1 and tiny in se, "3 folds of 2 samples: exit 1 naming the list")
for args, what in ((["--folds", 1], "--folds 1"), (["--folds", "x"], "--folds x"), ([], "no --folds"),
                   (["--folds", 2, "--seed", -1], "a negative seed")):
    rc, _, _ = run("split", src, *args, "-o", sd + "u")
    ok(rc == 2, "usage error (exit 2): " + what)

# ---- 3. relab clean --keep-list / --drop-list ----
rc, _, _ = run("list", "--images", train, "-o", out)
heads, rows = read_list(out)
ids = [i for i, _ in rows]
pick = [ids[0], ids[3], ids[5]]                      # full ids
names = [pick[0], os.path.basename(pick[1]), "#comment", "", pick[2] + "\t7",  # a relab-list line: its id
         os.path.basename(pick[1]),                   # repeated
         "n0999_1.JPEG", "n0100/n0100_9.JPEG", "x/" + os.path.basename(ids[1])]  # match nothing
nf = os.path.join(tmp, "keep.txt")
open(nf, "w").write("\n".join(names) + "\n")
cl = os.path.join(tmp, "elsewhere", "kept.list")
tsv = os.path.join(tmp, "kept.tsv")
rep = os.path.join(tmp, "kept.json")
rc, so, se = run("clean", "--keep-list", nf, "--train", out, "-o", cl, "--per-image", tsv, "--report", rep)
kh, kr = read_list(cl) if rc == 0 else ({}, [])
ok(rc == 0 and [i for i, _ in kr] == [i for i in ids if i in pick] and all(l == dict(rows)[i] for i, l in kr),
   "--keep-list keeps exactly the 3 named samples (by id, by file name, by a list line), labels unchanged")
ok(kh.get("root") == heads.get("root"), "the cleaned list keeps the root, so it works where it is written")
import json  # noqa: E402
rj = json.load(open(rep)) if rc == 0 else {}
ok(rj.get("names") == {"names": 7, "matched": 3, "unmatched": 3, "repeated": 1} and rj.get("kept") == 3
   and rj.get("removed") == len(ids) - 3, "report: 7 names, 3 matched, 3 unmatched, 1 repeated: " + str(rj.get("names")))
ok("3 match none" in so and "n0999_1.JPEG" in so, "the printed report counts and shows unmatched names: "
   + so.split("\n")[1][:160])
trows = [l.split("\t") for l in open(tsv).read().split("\n")[1:] if l] if rc == 0 else []
ok([r_[0] for r_ in trows] == ids and all(r_[2:6] == ["", "", "", ""] for r_ in trows)
   and [r_[6] for r_ in trows] == ["kept" if i in pick else "dropped" for i in ids],
   "per-image table: every sample, no teacher columns, kept/dropped as named")
dl = os.path.join(tmp, "dropped.list")
rc, so, se = run("clean", "--drop-list", nf, "--train", out, "-o", dl)
ok(rc == 0 and [i for i, _ in read_list(dl)[1]] == [i for i in ids if i not in pick],
   "--drop-list keeps every sample but the 3 named")
shared = os.path.join(tmp, "shared.list")
open(shared, "w").write("# relab-list 1\na/x.JPEG\t0\nb/x.JPEG\t1\nb/y.JPEG\t1\n")
amb = os.path.join(tmp, "amb.txt")
open(amb, "w").write("b/y.JPEG\n\nx.JPEG\n")
rc, _, se = run("clean", "--keep-list", amb, "--train", shared, "-o", dl)
ok(rc == 1 and amb + ":3:" in se and "several samples" in se, "a file name two samples share: exit 1 naming line 3: "
   + se.strip()[:160])
none = os.path.join(tmp, "none.txt")
open(none, "w").write("nothing.JPEG\n")
rc, _, se = run("clean", "--keep-list", none, "--train", out, "-o", dl)
ok(rc == 1 and none in se and "none of its 1 names" in se, "a names file matching no sample: exit 1 naming it")
for args, what in ((["--keep-list", nf, "--drop-list", nf], "both lists"),
                   (["--keep-list", nf, "--mode", "relabel"], "a list with --mode"),
                   (["--keep-list", nf, "--teacher", nf], "a list with --teacher")):
    rc, _, _ = run("clean", *args, "--train", out, "-o", dl)
    ok(rc == 2, "usage error (exit 2): " + what)
rc, _, se = run("clean", "--keep-list", nf, "--train", tmp, "-o", dl)
ok(rc == 1 and tmp in se and "folder" in se, "--train naming a folder: exit 1 saying so: " + se.strip()[:120])

shutil.rmtree(tmp, ignore_errors=True)
done()
