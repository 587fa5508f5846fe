#!/usr/bin/python3
"""test_predict.py: `relab predict` against PyTorch on the same weights.

A run folder is made by hand: recipe.txt (ResNet-18 with the small 3x3 stem,
Fashion-MNIST) and final.h5 holding a torchvision model with random weights
and perturbed BN statistics (scripts/relab_torch.py writes it).  relab's
softmax and sigmoid probabilities, top-k classes, ids and labels on 48 test
images (a list of t10k ids) must equal torchvision's eval-mode forward on the
same pixels, normalised as docs/data.md says (numbers within a bound derived
from float32 rounding, below).  A checkpoint-style file (recipe and model/
inside) gives bitwise the same predictions at the same batch size, and the
same within the bound at another; bad inputs exit 1 with a message naming the
file.
"""
import copy
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

from taplib import done, ok


try:
    import h5py
    import numpy as np
    import torch
except ImportError as e:
    print("1..0 # SKIP %s" % e)
    sys.exit(0)
FM = "/usr/share/datasets/fashion-mnist"
if not os.path.exists(FM + "/t10k-images-idx3-ubyte.gz"):
    print("1..0 # SKIP no %s (dataset-fashion-mnist)" % FM)
    sys.exit(0)
relab = os.environ.get("RELAB", "./relab")
src = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(src, "scripts"))
import relab_torch  # noqa: E402

torch.manual_seed(3)
torch.set_num_threads(2)
N = 48
tmp = tempfile.mkdtemp(prefix="test_predict.")
with gzip.open(FM + "/t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:N]
with gzip.open(FM + "/t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)[:N].astype(np.int32)
# every other test image, in reverse order: rows must follow the list, not the file
picks = list(range(2 * N - 2, -1, -2))[:N]
with gzip.open(FM + "/t10k-images-idx3-ubyte.gz") as f:
    allimg = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(FM + "/t10k-labels-idx1-ubyte.gz") as f:
    alllab = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int32)
images, labels = allimg[picks], alllab[picks]
lst = os.path.join(tmp, "test.list")
with open(lst, "w") as f:
    f.write("# relab-list 1\n# classes 10\n")
    for k, i in enumerate(picks):
        f.write("t10k-images-idx3-ubyte.gz#%d\t%d\n" % (i, alllab[i]))


def randomise_bn(model, beta=None):
    """Every BN's running statistics (and, with beta, gamma within 0.5..1.5
    and beta within -beta..beta) drawn away from their defaults, from torch's
    generator in module order; then eval mode."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                if beta is not None:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-beta, beta)
    model.eval()


def torch_logits(model, x):
    """The model's logits in float32 and in float64 (a copy), as float64 arrays."""
    with torch.no_grad():
        return model(x).double().numpy(), copy.deepcopy(model).double()(x.double()).numpy()


def logit_bound(z32, z64):
    """How far relab's logits may be from z64 (the bound explained at A below)."""
    return 4 * A * max(np.abs(z32 - z64).max(), 2.0 ** -20 * np.abs(z64).max())


model = relab_torch.build_model("small", 10, in_channels=1)
randomise_bn(model, beta=0.1)
x = torch.from_numpy(((images.astype(np.float32) / 255 - 0.2860) / 0.3530)[:, None])
logits32, logits = torch_logits(model, x)
# How close relab must be (as in tests/test_parity.c): relab and PyTorch both
# compute in float32, in different summation orders (other BLAS kernels,
# thread counts, batch sizes), so both are judged against the float64
# forward: relab's max |error| may be up to 4x PyTorch float32's own, or 4x
# 16 units of float32 roundoff (2^-20) of the largest logit if that is more,
# times A, the error constant of relab's convolution algorithms relative to a
# GEMM's (Winograd F(4x4, 3x3): 64; tests/test_nn.c).
# Softmax and sigmoid move by at most 1/2 (1/4) of the largest logit change,
# plus the rounding of the stored float32 probability.
A = {"gemm": 1, "image": 1, "winograd2": 8}.get(os.environ.get("RELAB_CONV", ""), 64)
Z_TOL = logit_bound(logits32, logits)
P_TOL = 0.5 * Z_TOL + 2.0 ** -24

RECIPE = """model = resnet18
stem = small
width = 64
data = fashion-mnist
data_dir = %s
val_split = 0
loss = %s
epochs = 1
warmup_epochs = 0
batch_size = 16
loader_threads = 0
"""


def run(args):
    p = subprocess.run([relab, "predict"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stderr


def read(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in f.keys()}


clear_rows = {}
for loss in ("softmax", "sigmoid"):
    run_dir = os.path.join(tmp, "run-" + loss)
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "recipe.txt"), "w") as f:
        f.write(RECIPE % (FM, loss))
    relab_torch.save_relab(model, os.path.join(run_dir, "final.h5"))
    out = os.path.join(tmp, loss + ".h5")
    rc, err = run([run_dir, "--data", lst, "-o", out, "--topk", "3", "--logits", "--batch", "20"])
    if not ok(rc == 0, "%s: relab predict exits 0 (%s)" % (loss, err.strip()[-200:])):
        continue
    p = read(out)
    if loss == "softmax":
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    else:
        probs = 1 / (1 + np.exp(-logits))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :3]
    ids = [s.decode() if isinstance(s, bytes) else s for s in p["ids"]]
    ok(ids == ["t10k-images-idx3-ubyte.gz#%d" % i for i in picks], "%s: ids follow the list" % loss)
    ok(np.array_equal(p["labels"], labels), "%s: labels are the list's" % loss)
    ok((p["score_kind"].decode() if isinstance(p["score_kind"], bytes) else p["score_kind"]) == loss,
       "%s: score_kind" % loss)
    d = np.abs(p["logits"] - logits).max()
    ok(d <= Z_TOL, "%s: logits equal float64 torch's within %.2g (max diff %.2g; torch float32 %.2g; max |z| %.3g)"
       % (loss, Z_TOL, d, np.abs(logits32 - logits).max(), np.abs(logits).max()))
    dp = np.abs(p["topk_scores"] - np.take_along_axis(probs, top, axis=1)).max()
    ok(dp <= P_TOL, "%s: top-3 %s probabilities equal torch's within %.2g (max diff %.2g)" % (loss, loss, P_TOL, dp))
    # the order of two classes is certain when their probabilities are further apart than twice the bound
    gap = np.sort(probs, axis=1)[:, ::-1]
    clear = (gap[:, 0] - gap[:, 1] > 2 * P_TOL) & (gap[:, 1] - gap[:, 2] > 2 * P_TOL) & (gap[:, 2] - gap[:, 3] > 2 * P_TOL)
    ok(np.array_equal(p["topk_classes"][clear], top[clear]) and clear.sum() > N // 2,
       "%s: top-3 classes equal torch's (%d clear rows)" % (loss, clear.sum()))
    clear_rows[loss] = clear

# A checkpoint-style file: recipe text and weights under model/.
ck = os.path.join(tmp, "ck", "ckpt-0000000001.h5")
os.makedirs(os.path.dirname(ck))
with h5py.File(ck, "w") as f:
    f["recipe"] = RECIPE % (FM, "softmax")
    f["format"] = "relab-checkpoint 1"
    relab_torch.write_state_dict(f.create_group("model"), model.state_dict())
# Same batches (--batch 20), threads and BLAS kernel: bitwise, as docs/design.md guarantees.
rc, err = run([ck, "--data", lst, "-o", os.path.join(tmp, "ck.h5"), "--topk", "3", "--batch", "20"])
if ok(rc == 0, "checkpoint: relab predict exits 0 (%s)" % err.strip()[-200:]):
    a, b = read(os.path.join(tmp, "ck.h5")), read(os.path.join(tmp, "softmax.h5"))
    ok(np.array_equal(a["topk_scores"], b["topk_scores"]) and np.array_equal(a["topk_classes"], b["topk_classes"]),
       "checkpoint: same predictions as the run folder, bitwise (same batch size)")
# Another batch size (the recipe's 16): sgemm's rounding depends on the number
# of rows on some kernels (OpenBLAS Haswell/Zen), so only within the bound.
rc, err = run([ck, "--data", lst, "-o", os.path.join(tmp, "ck16.h5"), "--topk", "3", "--logits", "--batch", "16"])
if ok(rc == 0, "checkpoint, batch 16: relab predict exits 0 (%s)" % err.strip()[-200:]):
    a, b = read(os.path.join(tmp, "ck16.h5")), read(os.path.join(tmp, "softmax.h5"))
    d = np.abs(a["logits"] - logits).max()
    dp = np.abs(a["topk_scores"] - b["topk_scores"]).max()
    clear = clear_rows.get("softmax", np.zeros(N, bool))
    ok(d <= Z_TOL and dp <= 2 * P_TOL and np.array_equal(a["topk_classes"][clear], b["topk_classes"][clear]),
       "batch 16 vs 20: logits within %.2g of float64 torch's (%.2g), top-3 probabilities within %.2g (%.2g), "
       "same classes on the %d clear rows" % (Z_TOL, d, 2 * P_TOL, dp, clear.sum()))

# --arch: a bare torchvision ResNet-18 (ImageNet stem) without a recipe, on an
# ImageNetV2-style folder of numbered class folders (0, 1, ..., 10: class 10
# is the folder "10", which sorts between "1" and "2" by name).  The images
# are 73x73 PNGs, so relab's eval transform at --image-size 64 (short side to
# round(64/0.875) = 73, centre crop) is the crop [4:68] of the pixels.
from PIL import Image  # noqa: E402

V2C = 11
v2dir = os.path.join(tmp, "imagenetv2")
rng = np.random.default_rng(11)
v2_ids, v2_pix, v2_lab = [], [], []
for c in range(V2C):
    os.makedirs(os.path.join(v2dir, str(c)))
    for j in range(2):
        name = "%02d%s.png" % (j, "abcdefghijk"[c])
        a = rng.integers(0, 256, (73, 73, 3), dtype=np.uint8)
        Image.fromarray(a).save(os.path.join(v2dir, str(c), name))
        v2_ids.append("%d/%s" % (c, name))
        v2_pix.append(a)
        v2_lab.append(c)
order_ = sorted(range(len(v2_ids)), key=lambda i: v2_ids[i])  # relab's strcmp order of the paths
v2_ids = [v2_ids[i] for i in order_]
v2_lab = np.array([v2_lab[i] for i in order_], np.int32)
crop = np.stack([v2_pix[i][4:68, 4:68] for i in order_]).astype(np.float32) / 255
mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
xv = torch.from_numpy(((crop - mean) / std).transpose(0, 3, 1, 2).copy())
tv = relab_torch.build_model("resnet18", V2C)
randomise_bn(tv)
zv32, zv = torch_logits(tv, xv)
ZV_TOL = logit_bound(zv32, zv)
bare = os.path.join(tmp, "bare-weights", "resnet18.h5")
os.makedirs(os.path.dirname(bare))
relab_torch.save_relab(tv, bare)
out = os.path.join(tmp, "v2.h5")
rc, err = run([bare, "--arch", "resnet18", "--image-size", "64", "--data", v2dir, "--numbered", "--logits", "-o", out])
if ok(rc == 0, "--arch resnet18 on a bare weights file and a numbered folder: exit 0 (%s)" % err.strip()[-160:]):
    p = read(out)
    ids = [s_.decode() if isinstance(s_, bytes) else s_ for s_ in p["ids"]]
    ok(ids == v2_ids and np.array_equal(p["labels"], v2_lab),
       "ids are the folder's relative paths in sorted order, labels the folder numbers (10 is class 10)")
    d = np.abs(p["logits"] - zv).max()
    ok(d <= ZV_TOL, "logits equal float64 torchvision's on the same crop within %.2g (max diff %.2g)" % (ZV_TOL, d))
    ok("at batch 32" in err, "the default batch is sized to the data and memory: 32 for 22 images (%s)"
       % err.strip().split("\n")[0][:100])
# --arch resnet50: bottleneck blocks, whose inference plan folds a block's last BN into its 1x1
# weights where the output outnumbers the weights 4:1 (here, at batch 32 of 64x64 crops, the first
# two stages); with BN statistics and affine parameters away from their defaults the fold's scale
# and shift both matter.  Judged against float64 torchvision by the same bound.
tv50 = relab_torch.build_model("resnet50", V2C)
randomise_bn(tv50, beta=0.2)
z50_32, z50 = torch_logits(tv50, xv)
Z50_TOL = logit_bound(z50_32, z50)
bare50 = os.path.join(tmp, "bare-weights", "resnet50.h5")
relab_torch.save_relab(tv50, bare50)
out50 = os.path.join(tmp, "v2-50.h5")
rc, err = run([bare50, "--arch", "resnet50", "--image-size", "64", "--data", v2dir, "--numbered", "--logits",
               "-o", out50])
if ok(rc == 0, "--arch resnet50 on a bare weights file: exit 0 (%s)" % err.strip()[-160:]):
    d = np.abs(read(out50)["logits"] - z50).max()
    ok(d <= Z50_TOL and "at batch 32" in err,
       "resnet50 (BN folded into the blocks' last 1x1 weights at batch 32): logits equal float64 torchvision's "
       "within %.2g (max diff %.2g, largest logit %.2g)" % (Z50_TOL, d, np.abs(z50).max()))
# the same images as a flat folder with one WNID per image (ImageNet val's layout), classes from a
# classes.tsv in its own order; and as a list without a root, found through --root
flat = os.path.join(tmp, "flat")
os.makedirs(flat)
wn = ["n%08d" % (900 - c) for c in range(V2C)]  # class c's WNID; classes.tsv lists them in reverse
with open(os.path.join(tmp, "cls.tsv"), "w") as f:
    f.write("index\twnid\tname\n" + "".join("%d\t%s\tc%d\n" % (c, wn[V2C - 1 - c], c) for c in range(V2C)))
with open(os.path.join(tmp, "flat-wnids.txt"), "w") as f:
    for j, i in enumerate(order_):
        Image.fromarray(v2_pix[i]).save(os.path.join(flat, "img_%02d.png" % j))
        f.write(wn[v2_lab[j]] + "\n")
out2 = os.path.join(tmp, "flat.h5")
rc, err = run([bare, "--arch", "resnet18", "--image-size", "64", "--data", flat, "--labels",
               os.path.join(tmp, "flat-wnids.txt"), "--classes", os.path.join(tmp, "cls.tsv"), "--logits", "-o", out2])
if ok(rc == 0, "--data a flat folder with --labels WNIDS and --classes: exit 0 (%s)" % err.strip()[-120:]):
    p = read(out2)
    ok(np.array_equal(p["labels"], V2C - 1 - v2_lab) and np.abs(p["logits"] - zv).max() <= ZV_TOL,
       "labels are each WNID's index in classes.tsv (here 10 - the folder number), logits as before")
nolist = os.path.join(tmp, "lists-elsewhere", "v2.list")
os.makedirs(os.path.dirname(nolist))
with open(nolist, "w") as f:
    f.write("# relab-list 1\n# classes %d\n" % V2C + "".join("%s\t%d\n" % (i_, l_) for i_, l_ in zip(v2_ids, v2_lab)))
rc, err = run([bare, "--arch", "resnet18", "--image-size", "64", "--data", nolist, "-o", out2])
ok(rc == 1 and nolist in err and "--root" in err, "a list away from its images: exit 1 naming it and --root")
rc, err = run([bare, "--arch", "resnet18", "--image-size", "64", "--data", nolist, "--root", v2dir, "--logits", "--loss",
               "sigmoid", "--topk", "3", "-o", out2])
if ok(rc == 0, "--root DIR finds the list's images (%s)" % err.strip()[-100:]):
    p = read(out2)
    sig = 1 / (1 + np.exp(-zv))
    top3 = np.argsort(-sig, axis=1, kind="stable")[:, :3]
    kind = p["score_kind"].decode() if isinstance(p["score_kind"], bytes) else p["score_kind"]
    ok(kind == "sigmoid" and np.abs(p["topk_scores"] - np.take_along_axis(sig, top3, 1)).max() <= 0.25 * ZV_TOL + 2.0 ** -24,
       "--loss sigmoid: score_kind sigmoid, the top-3 scores are sigmoid(torch's logits) within the bound")
rc, err = run([bare, "--arch", "resnet18", "--data", "val", "-o", out])
ok(rc == 1 and "--arch" in err and "folder" in err, "--arch with --data val (a recipe's set): exit 1 saying why")
rc, err = run([bare, "--arch", "resnet77", "--data", v2dir, "-o", out])
ok(rc == 1 and "resnet77" in err, "--arch resnet77: exit 1 naming it (%s)" % err.strip()[:100])
rc, err = run([bare, "--image-size", "64", "--data", v2dir, "-o", out])
ok(rc == 2, "--image-size without --arch: usage error")
rc, err = run([bare, "--arch", "resnet18", "--image-size", "64", "--data", v2dir, "-o", out])
ok(rc == 0 and "predict --numbered" in err, "a numbered folder read by name: a warning names --numbered (%s)"
   % err.strip()[:120])

# Errors name what is wrong.
os.makedirs(os.path.join(tmp, "unfinished"))
rc, err = run([os.path.join(tmp, "unfinished"), "-o", os.path.join(tmp, "x.h5")])
ok(rc == 1 and "no final.h5" in err and "unfinished" in err, "run folder without final.h5: exit 1, named (%s)" % err.strip())
bare = os.path.join(tmp, "bare")
os.makedirs(bare)
relab_torch.save_relab(model, os.path.join(bare, "w.h5"))
rc, err = run([os.path.join(bare, "w.h5"), "-o", os.path.join(tmp, "x.h5")])
ok(rc == 1 and "recipe.txt" in err, "weights without a recipe: exit 1, says where the recipe was looked for (%s)"
   % err.strip())
bad = os.path.join(tmp, "bad.list")
with open(bad, "w") as f:
    f.write("# relab-list 1\nt10k-images-idx3-ubyte.gz#99999\t1\n")
rc, err = run([os.path.join(tmp, "run-softmax"), "--data", bad, "-o", os.path.join(tmp, "x.h5")])
ok(rc == 1 and "bad.list" in err, "list with an index past the file: exit 1, names the list (%s)" % err.strip()[:200])
rc, err = run([os.path.join(tmp, "run-softmax"), "--topk", "0"])
ok(rc == 2, "--topk 0 is a usage error")

if not os.environ.get("KEEP_TMP"):
    shutil.rmtree(tmp, ignore_errors=True)
done()
