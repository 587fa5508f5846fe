"""corpus.py: hostile input files of every kind relab reads, and the commands
that read them.

make_corpus(work, relab) writes valid base files into `work`, trains two tiny
runs with `relab` (their checkpoints and weights are the base for the
checkpoint and weight cases), then writes one hostile variant per case and
returns the cases.  A case is a dict:
    kind    input kind (list, preds, real, ...), for the per-kind counts
    name    what the variant is, e.g. "list/label 2147483647"
    argv    the relab command line (argv[0] is the relab binary)
    names   substrings of which one must appear in a refusal (the file's path)
    expect  "refuse" (exit 1 or 2 naming the file), "ok" (exit 0: a valid variant
            such as CRLF line ends), "any" (exit 0, or a refusal naming the
            file: a text cut at a line end may still be valid) or "either" (an
            image the loader may skip with a warning naming it, or refuse)
Nothing here checks relab's output; run.py runs and classifies the cases.
"""

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import zlib

import h5py
import numpy as np
from PIL import Image

from report_cases import report_cases

BIG = 2147483647
LONG = 11 * 1024 * 1024  # an 11 MB line


class Corpus:
    def __init__(self, work, relab):
        self.work = work
        self.relab = relab
        self.cases = []
        self.n = 0

    def path(self, name):
        """A fresh path for a case file (numbered, so names never clash)."""
        self.n += 1
        d = os.path.join(self.work, "c%04d" % self.n)
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, name)

    def out(self, name="out"):
        self.n += 1
        return os.path.join(self.work, "o%04d-%s" % (self.n, name))

    def add(self, kind, name, argv, names, expect="refuse"):
        self.cases.append(
            {"kind": kind, "name": "%s/%s" % (kind, name), "argv": [self.relab] + argv, "names": names,
             "expect": expect})

    def base(self, rel):
        return os.path.join(self.work, "base", rel)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def idx_bytes(arr):
    arr = np.asarray(arr, np.uint8)
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.tobytes()


# ---- text variants shared by every line-based format ----

def text_variants(text):
    """(name, bytes, expect) for the generic hostile variants of a valid text."""
    b = text.encode()
    lines = text.split("\n")
    out = [
        ("empty file", b"", "refuse"),
        ("only a newline", b"\n", "refuse"),
        ("NUL byte", b[: len(b) // 2] + b"\0" + b[len(b) // 2:], "refuse"),
        ("non-UTF-8 bytes", b.replace(b"\n", b"\xff\xfe\n", 1), "refuse"),
        ("binary garbage", bytes(range(256)) * 4, "refuse"),
        ("11 MB line of 'a'", b + b"a" * LONG + b"\n", "refuse"),
        ("11 MB line without newline", b"x" * LONG, "refuse"),
        ("CRLF line ends", text.replace("\n", "\r\n").encode(), "ok"),
        ("no final newline", text.rstrip("\n").encode(), "ok"),
        ("lone CR line ends", text.replace("\n", "\r").encode(), "refuse"),
    ]
    # truncation at every structural boundary (line ends, tabs, commas), both sides
    cuts = set()
    for i, ch in enumerate(b):
        if ch in b"\n\t,[]":
            cuts.update((i, i + 1))
    cuts = sorted(c for c in cuts if 0 < c < len(b) - 1)
    step = max(1, len(cuts) // 12)
    for c in cuts[::step]:
        out.append(("truncated at byte %d" % c, b[:c], "either"))
    del lines
    return out


def special_paths(c):
    """Paths that are not text files: a folder, /dev/zero, a missing file."""
    d = c.path("a-folder")
    os.makedirs(d, exist_ok=True)
    return [("a folder", d), ("/dev/zero", "/dev/zero"), ("missing file", c.path("missing"))]


def text_cases(c, kind, valid, build, extra):
    """Generic + special + kind-specific text cases; build(path) -> argv."""
    for name, data, expect in text_variants(valid):
        if kind == "real" and name == "lone CR line ends":
            expect = "ok"  # CR is JSON whitespace
        p = write(c.path(kind + ".txt"), data)
        c.add(kind, name, build(p), [p], "any" if expect == "either" else expect)
    for name, p in special_paths(c):
        c.add(kind, name, build(p), [p])
    for name, data in extra:
        p = write(c.path(kind + ".txt"), data)
        c.add(kind, name, build(p), [p])


# ---- base fixtures ----

def make_base(c):
    b = c.base
    os.makedirs(b("fm"), exist_ok=True)
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (16, 28, 28), dtype=np.uint8)
    labs = np.arange(16, dtype=np.uint8) % 4
    for split, n in (("train", 16), ("t10k", 8)):
        write(b("fm/%s-images-idx3-ubyte.gz" % split), gzip.compress(idx_bytes(imgs[:n])))
        write(b("fm/%s-labels-idx1-ubyte.gz" % split), gzip.compress(idx_bytes(labs[:n])))
    write(b("fm.recipe"), "model = resnet8\nstem = small\nwidth = 4\ndata = fashion-mnist\ndata_dir = %s\n"
          "image_size = 28\naugment = false\nloader_threads = 0\nepochs = 1\nbatch_size = 8\nwarmup_epochs = 0\n"
          "log_every = 1\nseed = 0\n" % b("fm"))
    ids = ["train-images-idx3-ubyte.gz#%d" % i for i in range(16)]
    write(b("train.list"), "# relab-list 1\n# classes 4\n" + "".join("%s\t%d\n" % (ids[i], labs[i]) for i in range(16)))
    write_preds(b("preds.h5"), ids, labs.astype(np.int32), 4)
    vids = ["ILSVRC2012_val_%08d.JPEG" % (i + 1) for i in range(4)]
    write_preds(b("val_preds.h5"), vids, np.array([0, 1, 2, 3], np.int32), 4)
    write(b("real.json"), "[[0], [1, 2], [], [3]]\n")
    write(b("multilabel.csv"), "id,original_label,proposed_labels,unclear_multi_labels,is_problematic\n"
          "ILSVRC2012_val_00000001.JPEG,0,\"0, 1\",,False\nILSVRC2012_val_00000002.JPEG,1,1,2,False\n"
          "ILSVRC2012_val_00000003.JPEG,2,,,True\n")
    write(b("groups.tsv"), "index\twnid\tgroup\n0\tn00000000\tdog\n1\tn00000001\tdog\n2\tn00000002\tanimal\n"
          "3\tn00000003\tobject\n")
    write(b("classes.tsv"), "index\twnid\tname\n0\tn00000000\ta\n1\tn00000001\tb\n2\tn00000002\tc\n"
          "3\tn00000003\td\n")
    write(b("val_labels.txt"), "n00000000\nn00000001\nn00000002\nn00000003\n")
    write(b("record.tsv"), "# relab-noise-record 1\n# kind symmetric\n%s\t1\t0\n" % ids[4])
    write(b("matrix.txt"), "".join(" ".join("1" if i != j else "0" for j in range(4)) + "\n" for i in range(4)))
    # image folders: 2 classes x 3 JPEGs, and a flat val folder
    for cls in ("n00000000", "n00000001"):
        os.makedirs(b("img/train/" + cls), exist_ok=True)
        for k in range(3):
            jpeg(rng, 20, 16).save(b("img/train/%s/%s_%d.JPEG" % (cls, cls, k)), quality=90)
    os.makedirs(b("img/val"), exist_ok=True)
    for k in range(2):
        jpeg(rng, 16, 16).save(b("img/val/ILSVRC2012_val_%08d.JPEG" % (k + 1)), quality=90)
    write(b("img/val.txt"), "n00000000\nn00000001\n")
    write(b("img/classes.tsv"), "index\twnid\n0\tn00000000\n1\tn00000001\n")
    write(b("img.recipe"), "model = resnet8\nstem = small\nwidth = 4\ndata = folder\ndata_dir = %s\nval_dir = %s\n"
          "val_labels = %s\nimage_size = 16\naugment = true\nloader_threads = 0\nepochs = 1\nbatch_size = 4\n"
          "warmup_epochs = 0\nlog_every = 1\nseed = 0\n" % (b("img/train"), b("img/val"), b("img/val.txt")))
    write(b("img.list"), "# relab-list 1\n# classes 2\n" + "".join(
        "img/train/%s/%s_%d.JPEG\t%d\n" % (cls, cls, k, i) for i, cls in enumerate(("n00000000", "n00000001"))
        for k in range(3)))
    write(b("g.grid"), "recipe = fm.recipe\nmodels = a\nvariants = base, other\nepochs = 1\nseeds = 0, 1\n"
          "set.other = loss=sigmoid\n")
    run = lambda *a: subprocess.run([c.relab] + list(a), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    run("train", b("fm.recipe"), "--out", b("run"))
    run("train", b("img.recipe"), "--out", b("irun"))
    os.makedirs(b("pack"), exist_ok=True)
    run("pack", b("img/train"), "-o", b("pack/train"), "--shard-size", "0.0000025")  # 2-3 images a shard


def jpeg(rng, w, h):
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def write_preds(path, row_ids, row_labels, C, k=2, **override):
    n = len(row_ids)
    rng = np.random.default_rng(n)
    probs = rng.random((n, C)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k].astype(np.int32)
    d = {"ids": np.array(row_ids, dtype=h5py.string_dtype()), "labels": np.asarray(row_labels, np.int32),
         "topk_classes": top, "topk_scores": np.take_along_axis(probs, top, 1), "num_classes": np.int32(C),
         "score_kind": "softmax", "logits": np.log(probs)}
    d.update(override)
    with h5py.File(path, "w") as f:
        for key, v in d.items():
            if v is not None:
                f[key] = v
    return path


# ---- per kind ----

def list_cases(c):
    b = c.base
    valid = open(b("train.list")).read()
    head = "# relab-list 1\n# classes 4\n"
    fm_id = "train-images-idx3-ubyte.gz#%d"
    extra = [
        ("label 2147483647", head + "%s\t%d\n" % (fm_id % 0, BIG)),
        ("label 2147483647 without classes header", "%s\t0\n%s\t%d\n" % (fm_id % 0, fm_id % 1, BIG)),
        ("label 2147483648", "%s\t2147483648\n" % (fm_id % 0)),
        ("label -1", head + "%s\t-1\n" % (fm_id % 0)),
        ("label 99999999999999999999", head + "%s\t99999999999999999999\n" % (fm_id % 0)),
        ("# classes 2147483647", "# classes 2147483647\n%s\t1\n%s\t0\n" % (fm_id % 0, fm_id % 1)),
        ("# classes -1", "# classes -1\n%s\t0\n" % (fm_id % 0)),
        ("# classes 0", "# classes 0\n%s\t0\n" % (fm_id % 0)),
        ("# relab-list 2", "# relab-list 2\n%s\t0\n" % (fm_id % 0)),
        ("label outside # classes", head + "%s\t4\n" % (fm_id % 0)),
        ("no tab", head + "%s 1\n" % (fm_id % 0)),
        ("empty path", head + "\t1\n"),
        ("no label", head + "%s\t\n" % (fm_id % 0)),
        ("label twice on a line", head + "%s\t1,1\n" % (fm_id % 0)),
        ("trailing comma", head + "%s\t1,\n" % (fm_id % 0)),
        ("label with sign", head + "%s\t+1\n" % (fm_id % 0)),
        ("label in hex", head + "%s\t0x1\n" % (fm_id % 0)),
        ("label NaN", head + "%s\tnan\n" % (fm_id % 0)),
        ("two tabs", head + "%s\t1\t2\n" % (fm_id % 0)),
        ("11 MB of labels on one line", "%s\t%s\n" % (fm_id % 0, ",".join(str(i) for i in range(1600000)))),
        ("11 MB of one label repeated", "%s\t%s\n" % (fm_id % 0, ",".join(["1"] * 5500000))),
        ("11 MB path", "%s\t1\n" % ("p" * LONG)),
        ("only headers", head),
        ("only comments", "# nothing\n# here\n"),
    ]
    cmds = [
        ("noise", lambda p: ["noise", "--in", p, "-o", c.out("noisy.list"), "--kind", "symmetric", "--rate", "0.5",
                             "--seed", "1"]),
        ("noise-pairflip", lambda p: ["noise", "--in", p, "-o", c.out("noisy.list"), "--kind", "pairflip",
                                      "--rate", "0.5", "--seed", "1", "--pairs", "0:1"]),
        ("clean", lambda p: ["clean", "--teacher", b("preds.h5"), "--train", p, "-o", c.out("clean.list")]),
        ("eval", lambda p: ["eval", b("preds.h5"), "--labels", p]),
        ("split", lambda p: ["split", p, "--folds", "2", "-o", c.out("folds")]),
    ]
    for cmd, build in cmds:
        if cmd == "noise":
            text_cases(c, "list", valid, build, extra)
            continue
        generic = [(n, d) for n, d, e in text_variants(valid) if e == "refuse"]
        for name, data in extra + generic:
            p = write(c.path("l.list"), data)
            c.add("list", "%s: %s" % (cmd, name), build(p), [p])
        for name, p in special_paths(c):
            c.add("list", "%s: %s" % (cmd, name), build(p), [p])
    # duplicate ids: clean needs one teacher row per id; eval --labels refuses them
    dup = head + "%s\t1\n%s\t1\n" % (fm_id % 0, fm_id % 0)
    p = write(c.path("dup.list"), dup)
    c.add("list", "eval: duplicate ids", ["eval", b("preds.h5"), "--labels", p], [p])
    # lists a training run reads (idx ids, image paths)
    for name, data in extra[:6] + [("id past the images", head + "%s\t1\n" % (fm_id % 99)),
                                   ("id not of the images file", head + "other.gz#1\t1\n"),
                                   ("id with negative index", head + "train-images-idx3-ubyte.gz#-1\t1\n")]:
        p = write(c.path("t.list"), data)
        c.add("list", "train: " + name, ["train", b("fm.recipe"), "--out", c.out("run"), "--set",
                                         "train_list=" + p], [p])
    p = write(c.path("i.list"), "# relab-list 1\nmissing/x.JPEG\t0\n")
    c.add("list", "pack: missing image", ["pack", p, "-o", c.out("pk")], [p])
    # the "# root" header: where relative image paths are
    img_rows = "".join("%s/%s_%d.JPEG\t%d\n" % (cls, cls, k, i) for i, cls in enumerate(("n00000000", "n00000001"))
                       for k in range(3))
    for name, head_, expect in [("root empty", "# root \n", "refuse"), ("root missing folder", "# root /nonexistent/x\n",
                                                                        "refuse"),
                                ("two roots", "# root %s\n# root /tmp\n" % b("img/train"), "refuse"),
                                ("root 5000 bytes", "# root /%s\n" % ("r" * 5000), "refuse"),
                                ("root relative", "# root ../base/img/train\n", "ok"),
                                ("root absolute", "# root %s\n" % os.path.abspath(b("img/train")), "ok")]:
        p = write(c.path("r.list"), "# relab-list 1\n# classes 2\n" + head_ + img_rows)
        c.add("list", "pack: " + name, ["pack", p, "-o", c.out("pk")], [p], expect)
    for name, p in special_paths(c):
        c.add("list", "pack: " + name, ["pack", p, "-o", c.out("pk")], [p])


def preds_cases(c):
    b = c.base
    ids = ["train-images-idx3-ubyte.gz#%d" % i for i in range(16)]
    labs = np.arange(16, dtype=np.int32) % 4
    n = 16
    cmds = [
        ("eval", lambda p: ["eval", p]),
        ("compare", lambda p: ["compare", p, b("preds.h5")]),
        ("clean", lambda p: ["clean", "--teacher", p, "--train", b("train.list"), "-o", c.out("c.list")]),
    ]
    variants = []

    def v(name, **kw):
        variants.append((name, kw))

    top = np.tile(np.array([[0, 1]], np.int32), (n, 1))
    sc = np.tile(np.array([[0.6, 0.3]], np.float32), (n, 1))
    v("num_classes 2147483647", num_classes=np.int32(BIG))
    v("num_classes 0", num_classes=np.int32(0))
    v("num_classes -1", num_classes=np.int32(-1))
    v("num_classes int64 2^40", num_classes=np.int64(1 << 40))
    v("num_classes float", num_classes=np.float32(4))
    v("num_classes as array", num_classes=np.array([4, 4], np.int32))
    v("num_classes string", num_classes="4")
    v("no num_classes", num_classes=None)
    v("no ids", ids=None)
    v("no labels", labels=None)
    v("no topk_classes", topk_classes=None)
    v("no topk_scores", topk_scores=None)
    v("no score_kind", score_kind=None)
    v("score_kind other", score_kind="probit")
    v("score_kind 64-element array", score_kind=np.array(["softmax"] * 64, dtype=h5py.string_dtype()))
    v("score_kind fixed 1 MB string", score_kind=np.bytes_(b"softmax" + b"\0" * (1 << 20)))
    v("score_kind int", score_kind=np.int32(1))
    v("meta 64-element array", meta=np.array(["m"] * 64, dtype=h5py.string_dtype()))
    v("labels 2147483647", labels=np.full(n, BIG, np.int32))
    v("labels -2", labels=np.full(n, -2, np.int32))
    v("labels float", labels=labs.astype(np.float32))
    v("labels int64 2^40", labels=np.full(n, 1 << 40, np.int64))
    v("labels wrong length", labels=labs[:5])
    v("labels 2-D", labels=labs.reshape(4, 4))
    v("labels string", labels=np.array(["1"] * n, dtype=h5py.string_dtype()))
    v("topk_classes 2147483647", topk_classes=np.full((n, 2), BIG, np.int32))
    v("topk_classes -1", topk_classes=np.full((n, 2), -1, np.int32))
    v("topk_classes repeated class", topk_classes=np.zeros((n, 2), np.int32))
    v("topk_classes float", topk_classes=top.astype(np.float64))
    v("topk_classes 1-D", topk_classes=top[:, 0].copy(), topk_scores=sc[:, 0].copy())
    v("topk_classes 3-D", topk_classes=top.reshape(n, 2, 1), topk_scores=sc.reshape(n, 2, 1))
    v("topk k > num_classes", topk_classes=np.tile(np.arange(5, dtype=np.int32), (n, 1)),
      topk_scores=np.tile(np.linspace(0.5, 0.1, 5, dtype=np.float32), (n, 1)), logits=None)
    v("topk_classes k = 0", topk_classes=np.zeros((n, 0), np.int32), topk_scores=np.zeros((n, 0), np.float32))
    v("topk_classes N = 0", ids=np.array([], dtype=h5py.string_dtype()), labels=np.zeros(0, np.int32),
      topk_classes=np.zeros((0, 2), np.int32), topk_scores=np.zeros((0, 2), np.float32), logits=None)
    v("topk_scores NaN", topk_scores=np.full((n, 2), np.nan, np.float32))
    v("topk_scores +Inf", topk_scores=np.full((n, 2), np.inf, np.float32))
    v("topk_scores -0.5", topk_scores=np.full((n, 2), -0.5, np.float32))
    v("topk_scores 2", topk_scores=np.full((n, 2), 2.0, np.float32))
    v("topk_scores increasing", topk_scores=np.tile(np.array([[0.1, 0.5]], np.float32), (n, 1)))
    v("topk_scores int", topk_scores=np.ones((n, 2), np.int32))
    v("topk_scores float64 1e300", topk_scores=np.full((n, 2), 1e300))
    v("topk_scores wrong shape", topk_scores=sc[:, :1].copy())
    v("logits NaN", logits=np.full((n, 4), np.nan, np.float32))
    v("logits wrong shape", logits=np.zeros((n, 3), np.float32))
    v("logits string", logits=np.array(["x"] * n, dtype=h5py.string_dtype()))
    v("ids empty string", ids=np.array([""] * n, dtype=h5py.string_dtype()))
    v("ids with tab", ids=np.array(["a\tb%d" % i for i in range(n)], dtype=h5py.string_dtype()))
    v("ids with newline", ids=np.array(["a\nb%d" % i for i in range(n)], dtype=h5py.string_dtype()))
    v("ids duplicate", ids=np.array([ids[0]] * n, dtype=h5py.string_dtype()))
    v("ids non-UTF-8", ids=np.array([b"\xff\xfe%d" % i for i in range(n)], dtype="S8"))
    v("ids fixed 64 kB strings", ids=np.array([s.encode() for s in ids], dtype="S65536"))
    v("ids int", ids=np.arange(n, dtype=np.int32))
    v("ids 2-D", ids=np.array(ids, dtype=h5py.string_dtype()).reshape(4, 4))
    v("ids wrong length", ids=np.array(ids[:3], dtype=h5py.string_dtype()))
    v("ids ImageNet and other mixed", ids=np.array(["ILSVRC2012_val_00000001.JPEG"] + ids[1:],
                                                    dtype=h5py.string_dtype()))
    v("ids ImageNet twice", ids=np.array(["ILSVRC2012_val_00000001.JPEG"] * n, dtype=h5py.string_dtype()))
    v("ids ImageNet 99999999", ids=np.array(["ILSVRC2012_val_%08d.JPEG" % (99999999 - i) for i in range(n)],
                                            dtype=h5py.string_dtype()))
    valid = ("ids fixed 64 kB strings", "score_kind fixed 1 MB string")  # odd but well-formed
    for name, kw in variants:
        p = write_preds(c.path("p.h5"), ids, labs, 4, **kw)
        for cmd, build in cmds:
            c.add("preds", "%s: %s" % (cmd, name), build(p), [p], "ok" if name in valid else "refuse")
    # HDF5-level damage: huge unwritten datasets, external storage, groups, truncation, bit flips
    for name, fn in h5_structural(ids, labs):
        p = c.path("p.h5")
        fn(p)
        for cmd, build in cmds:
            c.add("preds", "%s: %s" % (cmd, name), build(p), [p])
    base_bytes = open(b("preds.h5"), "rb").read()
    for name, data in binary_damage(base_bytes):
        p = write(c.path("p.h5"), data)
        c.add("preds", "eval: " + name, ["eval", p], [p], "any" if "flips" in name else "refuse")
    for name, p in special_paths(c):
        c.add("preds", "eval: " + name, ["eval", p], [p])
        c.add("preds", "clean: " + name, ["clean", "--teacher", p, "--train", b("train.list"), "-o", c.out()], [p])


def h5_structural(ids, labs):
    n = len(ids)

    def huge(key, shape, dtype):
        def fn(p):
            write_preds(p, ids, labs, 4, **{key: None})
            with h5py.File(p, "a") as f:
                f.create_dataset(key, shape=shape, dtype=dtype)  # never written: no storage
        return fn

    def external(p):
        write_preds(p, ids, labs, 4, logits=None)
        with h5py.File(p, "a") as f:
            f.create_dataset("logits", shape=(n, 4), dtype="f4", external=[("/dev/zero", 0, 1 << 30)])

    def group(p):
        write_preds(p, ids, labs, 4, labels=None)
        with h5py.File(p, "a") as f:
            f.create_group("labels")

    def huge_n(p):
        write_preds(p, ids, labs, 4, ids=None, labels=None, topk_classes=None, topk_scores=None, logits=None)
        with h5py.File(p, "a") as f:
            N = 1 << 31
            f.create_dataset("ids", shape=(N,), dtype=h5py.string_dtype())
            f.create_dataset("labels", shape=(N,), dtype="i4")
            f.create_dataset("topk_classes", shape=(N, 2), dtype="i4")
            f.create_dataset("topk_scores", shape=(N, 2), dtype="f4")

    def chunked_huge(p):
        write_preds(p, ids, labs, 4, logits=None)
        with h5py.File(p, "a") as f:
            d = f.create_dataset("logits", shape=(n, 1 << 26), dtype="f4", chunks=(1, 1 << 16), compression="gzip")
            d[0, :4] = 1

    def compound(p):
        write_preds(p, ids, labs, 4, labels=None)
        with h5py.File(p, "a") as f:
            f["labels"] = np.zeros(n, dtype=[("a", "i4"), ("b", "f4")])

    def vlen_int(p):
        write_preds(p, ids, labs, 4, labels=None)
        with h5py.File(p, "a") as f:
            d = f.create_dataset("labels", (n,), dtype=h5py.vlen_dtype(np.int32))
            for i in range(n):
                d[i] = np.arange(3, dtype=np.int32)

    def soft_link(p):
        write_preds(p, ids, labs, 4, labels=None)
        with h5py.File(p, "a") as f:
            f["labels"] = h5py.SoftLink("/labels")

    def external_link(p):
        write_preds(p, ids, labs, 4, labels=None)
        with h5py.File(p, "a") as f:
            f["labels"] = h5py.ExternalLink("/dev/zero", "/x")

    return [("num_classes unwritten 2^31 array", huge("num_classes", (1 << 31,), "i4")),
            ("logits unwritten [N, 2^28]", huge("logits", (n, 1 << 28), "f4")),
            ("logits external storage /dev/zero", external),
            ("labels is a group", group),
            ("N = 2^31 unwritten", huge_n),
            ("logits gzip [N, 2^26] mostly unwritten", chunked_huge),
            ("labels compound", compound),
            ("labels variable-length ints", vlen_int),
            ("labels soft link to itself", soft_link),
            ("labels external link to /dev/zero", external_link)]


def binary_damage(data):
    """Truncations at structural offsets and seeded bit flips of an HDF5 (or other binary) file,
    and damaged global-heap objects (where variable-length strings live)."""
    out = [("truncated to 0 bytes", b"")]
    at = data.find(b"GCOL")
    for k, size in enumerate((0x7fffffff, 1 << 40, 3)):
        if at >= 0:
            buf = bytearray(data)
            buf[at + 24:at + 32] = struct.pack("<Q", size)  # first object's size
            out.append(("global heap object size %d" % size, bytes(buf)))
    if at >= 0:
        buf = bytearray(data)
        buf[at + 8:at + 16] = struct.pack("<Q", 1 << 40)  # the collection's size
        out.append(("global heap collection size 2^40", bytes(buf)))
    for cut in sorted({8, 48, 96, 512, 800, len(data) // 4, len(data) // 2, len(data) - 1}):
        if 0 < cut < len(data):
            out.append(("truncated at byte %d" % cut, data[:cut]))
    rng = np.random.default_rng(7)
    for k in range(6):
        buf = bytearray(data)
        for pos in rng.integers(0, len(buf), 8):
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        out.append(("8 bit flips #%d" % k, bytes(buf)))
    buf = bytearray(data)
    buf[: min(len(buf), 4096)] = bytes(min(len(buf), 4096))
    out.append(("first 4 kB zeroed", bytes(buf)))
    return out


def eval_ref_cases(c):
    b = c.base
    vp = b("val_preds.h5")
    real_ok = open(b("real.json")).read()
    real_extra = [
        ("class 2147483647", "[[2147483647], [1], [], [3]]"),
        ("class 99999999999999999999", "[[99999999999999999999], [1], [], [3]]"),
        ("class -1", "[[-1], [1], [], [3]]"),
        ("class 1.5", "[[1.5], [1], [], [3]]"),
        ("class 1e400", "[[1e400], [1], [], [3]]"),
        ("class NaN", "[[NaN], [1], [], [3]]"),
        ("class as string", '[["1"], [1], [], [3]]'),
        ("object instead of list", '{"a": [1]}'),
        ("flat list", "[1, 2, 3]"),
        ("nested three deep", "[[[1]], [1], [], [3]]"),
        ("100000 levels of nesting", "[" * 100000 + "]" * 100000),
        ("unclosed", "[[1], [2]"),
        ("trailing comma", "[[1], [2],]"),
        ("two documents", "[[1]] [[2]]"),
        ("class outside num_classes", "[[4], [1], [], [3]]"),
        ("50001 entries", json.dumps([[0]] * 50001)),
        ("11 MB of one set", "[[" + ",".join(["1"] * 5500000) + "]]"),
        ("11 MB of whitespace", "[" + " " * LONG + "]"),
        ("duplicate class in a set", "[[1, 1], [1], [], [3]]"),
        ("comment", "// c\n[[0], [1], [], [3]]"),
    ]
    valid_reformatted = [
        ("pretty-printed", json.dumps([[0], [1, 2], [], [3]], indent=3)),
        ("no whitespace", "[[0],[1,2],[],[3]]"),
        ("tabs and CRLF", "[\t[0],\r\n[1,2],\r\n[],\r\n[3]\r\n]\r\n"),
        ("exponent-free integers with leading spaces", "   [ [ 0 ] , [ 1 , 2 ] , [ ] , [ 3 ] ]   "),
    ]
    for name, data in valid_reformatted:
        p = write(c.path("real.json"), data)
        c.add("real", "valid " + name, ["eval", vp, "--real", p], [p], "ok")
    text_cases(c, "real", real_ok.replace("\n", "\n"), lambda p: ["eval", vp, "--real", p], real_extra)
    p = write(c.path("real.json"), "[[1]]")
    c.add("real", "compare: truncated set list", ["compare", vp, vp, "--real", "/dev/zero"], ["/dev/zero"])
    ml_ok = open(b("multilabel.csv")).read()
    head = "id,original_label,proposed_labels,unclear_multi_labels,is_problematic\n"
    ml_extra = [
        ("original 2147483647", head + "ILSVRC2012_val_00000001.JPEG,2147483647,1,,False\n"),
        ("original -1", head + "ILSVRC2012_val_00000001.JPEG,-1,1,,False\n"),
        ("proposed outside classes", head + "ILSVRC2012_val_00000001.JPEG,0,9,,False\n"),
        ("id 99999999", head + "ILSVRC2012_val_99999999.JPEG,0,1,,False\n"),
        ("id not ImageNet", head + "cat.jpg,0,1,,False\n"),
        ("duplicate id", head + "ILSVRC2012_val_00000001.JPEG,0,1,,False\n" * 2),
        ("problematic maybe", head + "ILSVRC2012_val_00000001.JPEG,0,1,,Maybe\n"),
        ("unbalanced quote", head + "ILSVRC2012_val_00000001.JPEG,0,\"1,,False\n"),
        ("too many fields", head + "ILSVRC2012_val_00000001.JPEG,0,1,,False,x\n"),
        ("header only", head),
        ("no header", "ILSVRC2012_val_00000001.JPEG,0,1,,False\n"),
        ("65 proposed labels", head + "ILSVRC2012_val_00000001.JPEG,0,\"%s\",,False\n" % ", ".join(["1"] * 65)),
        ("17 columns", ",".join(["c%d" % i for i in range(17)]) + "\n"),
    ]
    text_cases(c, "multilabel", ml_ok, lambda p: ["eval", vp, "--multilabel", p], ml_extra)
    g_ok = open(b("groups.tsv")).read()
    g_extra = [
        ("index 2147483647", "2147483647\tn0\tdog\n"),
        ("index -1", "-1\tn0\tdog\n"),
        ("33 groups", "".join("%d\tn%d\tg%d\n" % (i % 4, i, i) for i in range(33))),
        ("class twice in one group", "0\tn0\tdog\n0\tn0\tdog\n"),
        ("long group name", "0\tn0\t%s\n" % ("g" * 100)),
        ("missing group", "0\tn0\n"),
    ]
    text_cases(c, "groups", g_ok, lambda p: ["eval", vp, "--groups", p], g_extra)
    cl_ok = open(b("classes.tsv")).read()
    cl_extra = [
        ("index out of order", "index\twnid\n1\tn1\n0\tn0\n"),
        ("index 2147483647", "2147483647\tn0\n"),
        ("duplicate wnid", "0\tn00000000\n1\tn00000000\n2\tn00000002\n3\tn00000003\n"),
        ("empty wnid", "0\t\n"),
        ("header only", "index\twnid\tname\n"),
        ("no tab", "0 n00000000\n"),
        ("index with junk", "0x\tn0\n"),
        ("4097-byte line", "0\tn%s\n" % ("0" * 4096)),
    ]
    text_cases(c, "classes", cl_ok, lambda p: ["eval", vp, "--labels", b("val_labels.txt"), "--classes", p],
               cl_extra)
    for name, data in cl_extra + [("empty file", "")]:
        p = write(c.path("classes.tsv"), data)
        c.add("classes", "pack: " + name, ["pack", b("img/train"), "-o", c.out("pk"), "--classes", p], [p])
    for name, p in special_paths(c):
        c.add("classes", "pack: " + name, ["pack", b("img/train"), "-o", c.out("pk"), "--classes", p], [p])
    vl_ok = open(b("val_labels.txt")).read()
    vl_extra = [("unknown wnid", "n99999999\n"), ("wnid with spaces", "n00000000 x\n"),
                ("11 MB wnid", "n" * LONG + "\n")]
    text_cases(c, "wnid-labels", vl_ok, lambda p: ["eval", vp, "--labels", p, "--classes", b("classes.tsv")],
               vl_extra)
    for name, data in vl_extra + [("one label for two images", "n00000000\n"), ("empty file", "")]:
        p = write(c.path("val.txt"), data)
        c.add("wnid-labels", "pack: " + name, ["pack", b("img/val"), "-o", c.out("pk"), "--labels", p,
                                               "--class-root", b("img/train")], [p])


def noise_cases(c):
    b = c.base
    rec_ok = open(b("record.tsv")).read()
    head = "# relab-noise-record 1\n"
    fm0 = "train-images-idx3-ubyte.gz#4"
    rec_extra = [("original 2147483648", head + "%s\t2147483648\t0\n" % fm0),
                 ("noisy -1", head + "%s\t1\t-1\n" % fm0),
                 ("wrong header", "# relab-noise-record 2\n%s\t1\t0\n" % fm0),
                 ("noisy not the list's label", head + "%s\t1\t3\n" % fm0),
                 ("missing column", head + "%s\t1\n" % fm0)]
    text_cases(c, "noise-record", rec_ok, lambda p: ["clean", "--teacher", b("preds.h5"), "--train", b("train.list"),
                                                      "-o", c.out(), "--noise-record", p], rec_extra)
    m_ok = open(b("matrix.txt")).read()
    m_extra = [("NaN weight", "nan 1 1 1\n" * 4), ("negative weight", "-1 1 1 1\n" * 4),
               ("inf weight", "inf 1 1 1\n" * 4), ("3 rows", "0 1 1 1\n" * 3), ("5 columns", "0 1 1 1 1\n" * 4),
               ("all-zero row", "0 0 0 0\n" + "0 1 1 1\n" * 3), ("1e400", "1e400 1 1 1\n" * 4)]
    text_cases(c, "noise-matrix", m_ok, lambda p: ["noise", "--in", b("train.list"), "-o", c.out(), "--kind",
                                                    "matrix", "--matrix", p, "--seed", "1"], m_extra)
    # a huge class count with a tiny matrix file
    p = write(c.path("l.list"), "# relab-list 1\n# classes 100000\ntrain-images-idx3-ubyte.gz#0\t1\n")
    c.add("noise-matrix", "100000 classes, 4x4 matrix", ["noise", "--in", p, "-o", c.out(), "--kind", "matrix",
                                                         "--matrix", b("matrix.txt"), "--seed", "1"],
          [b("matrix.txt"), p])


def idx_cases(c):
    b = c.base
    imgs = gzip.decompress(open(b("fm/train-images-idx3-ubyte.gz"), "rb").read())
    labs = gzip.decompress(open(b("fm/train-labels-idx1-ubyte.gz"), "rb").read())
    variants = []
    for name, data in [("images", imgs), ("labels", labs)]:
        nd = data[3]
        variants += [
            (name, "empty", b""), (name, "3 bytes", data[:3]), (name, "header only", data[:4 + 4 * nd]),
            (name, "truncated data", data[:-1]), (name, "trailing byte", data + b"\0"),
            (name, "magic float type", data[:2] + b"\x0d" + data[3:]),
            (name, "0 dimensions", data[:3] + b"\0"),
            (name, "255 dimensions", data[:3] + b"\xff" + data[4:]),
            (name, "first dim 2^32-1", data[:4] + b"\xff\xff\xff\xff" + data[8:]),
            (name, "first dim 2^31", data[:4] + b"\x80\0\0\0" + data[8:]),
            # found by libFuzzer: the size check multiplied 2^32-1 by 2^32-1 in int64
            (name, "every dim 2^32-1", data[:4] + b"\xff\xff\xff\xff" * nd + data[4 + 4 * nd:]),
            (name, "first dim 0", data[:4] + b"\0\0\0\0" + data[8:]),
            (name, "wrong dimension count", data[:3] + bytes([4 - nd]) + data[4:]),
        ]
    variants.append(("images", "dims 65535x65535x65535", imgs[:8] + b"\0\0\xff\xff" * 2 + imgs[16:]))
    variants.append(("images", "image 1x1", imgs[:8] + b"\0\0\0\1\0\0\0\1" + imgs[16:16 + 16]))
    variants.append(("labels", "label 255", labs[:8] + b"\xff" * (len(labs) - 8)))
    for which, name, data in variants:
        for gz in (False, True):
            d = c.path("fm")
            d = os.path.dirname(d)
            for f in os.listdir(b("fm")):
                shutil.copy(b("fm/" + f), os.path.join(d, f))
            target = os.path.join(d, "train-%s-idx%d-ubyte.gz" % (which, 3 if which == "images" else 1))
            write(target, gzip.compress(data) if gz else data)
            img = os.path.join(d, "train-images-idx3-ubyte.gz")
            lab = os.path.join(d, "train-labels-idx1-ubyte.gz")
            tag = "%s %s%s" % (which, name, " (gzip)" if gz else "")
            valid = name in ("label 255", "image 1x1")  # well-formed IDX files
            c.add("idx", "list: " + tag, ["list", "--idx-images", img, "--idx-labels", lab, "-o", c.out()], [target],
                  "ok" if valid else "refuse")
            if gz:
                c.add("idx", "export-images: " + tag, ["export-images", "--images", img, "--labels", lab, "-o",
                                                       c.out("x"), "--limit", "2"], [target],
                      "ok" if name == "image 1x1" else "refuse")
                # 1x1 images against the recipe's image_size 28 must be refused; 256 classes are fine
                c.add("idx", "train: " + tag, ["train", b("fm.recipe"), "--out", c.out("r"), "--set",
                                               "data_dir=" + d], [target], "ok" if name == "label 255" else "refuse")
    gzbad = gzip.compress(imgs)
    for name, data in [("gzip truncated", gzbad[: len(gzbad) // 2]), ("gzip bad CRC", gzbad[:-8] + b"\0" * 8),
                       ("gzip bomb of zeros", gzip.compress(b"\0\0\x08\x03\0\0\0\x10\0\0\0\x1c\0\0\0\x1c"
                                                            + b"\0" * (64 << 20)))]:
        p = write(c.path("train-images-idx3-ubyte.gz"), data)
        c.add("idx", "list: " + name, ["list", "--idx-images", p, "--idx-labels", b("fm/train-labels-idx1-ubyte.gz"),
                                       "-o", c.out()], [p])
    for name, p in special_paths(c):
        c.add("idx", "list: " + name, ["list", "--idx-images", p, "--idx-labels", b("fm/train-labels-idx1-ubyte.gz"),
                                       "-o", c.out()], [p])


def pack_cases(c):
    b = c.base
    shard = b("pack/train-00000.h5")
    with h5py.File(shard, "r") as f:
        n = f["labels"].shape[0]
    variants = []

    def v(name, **kw):
        variants.append((name, kw))

    v("multi_offsets out of order", multi_offsets=np.array([0, 5, 1] + [2] * (n - 2), np.int64)[: n + 1],
      multi_classes=np.zeros(2, np.int32))
    v("multi_offsets huge in the middle", multi_offsets=np.array([0] + [BIG] * (n - 1) + [n], np.int64),
      multi_classes=np.zeros(n, np.int32))
    v("multi_offsets negative", multi_offsets=np.array([0] + [-5] * (n - 1) + [n], np.int64),
      multi_classes=np.zeros(n, np.int32))
    v("multi_classes 2147483647", multi_offsets=np.arange(n + 1, dtype=np.int64),
      multi_classes=np.full(n, BIG, np.int32))
    v("multi_classes -1", multi_offsets=np.arange(n + 1, dtype=np.int64), multi_classes=np.full(n, -1, np.int32))
    v("offsets 2^62", offsets=np.full(n, 1 << 62, np.int64))
    v("offsets + lengths overflow", offsets=np.full(n, (1 << 63) - 10, np.int64), lengths=np.full(n, 100, np.int64))
    v("lengths -1", lengths=np.full(n, -1, np.int64))
    v("lengths 2^40", lengths=np.full(n, 1 << 40, np.int64))
    v("labels 2147483647", labels=np.full(n, BIG, np.int32))
    v("labels -1", labels=np.full(n, -1, np.int32))
    v("num_classes 2147483647", num_classes=np.int32(BIG))
    v("num_classes 0", num_classes=np.int32(0))
    v("total_count 2^40", total_count=np.int64(1 << 40))
    v("total_count 2^62", total_count=np.int64(1 << 62))
    v("total_count -1", total_count=np.int64(-1))
    v("num_shards 2^31", num_shards=np.int64(1 << 31))
    v("num_shards 0", num_shards=np.int64(0))
    v("first_index -1", first_index=np.int64(-1))
    v("first_index 2^63-1", first_index=np.int64((1 << 63) - 1))
    v("shard 5", shard=np.int64(5))
    v("format 64-element array", format=np.array(["relab-pack 1"] * 64, dtype=h5py.string_dtype()))
    v("format other", format="relab-pack 9")
    v("names 64-element array", names=np.array(["x"] * 64, dtype=h5py.string_dtype()))
    v("names too few", names="a")
    v("names with a NUL", names=np.bytes_(b"a\0b"))
    v("classes 2-element array", classes=np.array(["a", "b"], dtype=h5py.string_dtype()))
    v("classes too few", classes="n00000000")
    v("classes fixed 2 GB unwritten", classes=("unwritten-string", 1 << 31))
    v("bytes chunked", bytes=("chunked", None))
    v("bytes missing", bytes=None)
    v("bytes 2-D", bytes=("2d", None))
    v("labels 2-D", labels=("2d", None))
    v("offsets float", offsets=np.zeros(n, np.float64))
    v("no labels", labels=None)
    v("offsets wrong length", offsets=np.zeros(n + 3, np.int64))
    def pack_train(d):
        return ["train", b("img.recipe"), "--out", c.out("r"), "--set", "data_dir=" + d + "/train", "--set",
                "classes=" + b("img/classes.tsv")]

    def fresh_pack():
        """A case folder with every shard of the base pack; shard 0 is the one to damage."""
        d = os.path.dirname(c.path("x"))
        for f in os.listdir(b("pack")):
            shutil.copy(b("pack/" + f), os.path.join(d, f))
        return d, os.path.join(d, "train-00000.h5")

    for name, kw in variants:
        d, dst = fresh_pack()
        with h5py.File(dst, "a") as f:
            for key, val in kw.items():
                old = f[key][()] if key in f and isinstance(f[key], h5py.Dataset) else None
                if key in f:
                    del f[key]
                if val is None:
                    continue
                if isinstance(val, tuple) and val[0] == "chunked":
                    f.create_dataset(key, data=old, chunks=(max(1, len(old) // 2),))
                elif isinstance(val, tuple) and val[0] == "2d":
                    f[key] = np.asarray(old).reshape(1, -1)
                elif isinstance(val, tuple) and val[0] == "unwritten-string":
                    f.create_dataset(key, shape=(), dtype="S%d" % val[1])
                else:
                    f[key] = val
        c.add("pack", name, pack_train(d), [dst])
    data = open(shard, "rb").read()
    for name, dmg in binary_damage(data):
        d, dst = fresh_pack()
        write(dst, dmg)
        c.add("pack", name, pack_train(d), [dst], "any" if "flips" in name else "refuse")
    # a second shard missing or from another pack
    d, dst = fresh_pack()
    os.unlink(os.path.join(d, "train-00001.h5"))
    c.add("pack", "second shard missing", pack_train(d), [os.path.join(d, "train-00001.h5")])
    d, dst = fresh_pack()
    shutil.copy(os.path.join(d, "train-00002.h5"), os.path.join(d, "train-00001.h5"))
    c.add("pack", "shard 2 copied over shard 1", pack_train(d), [os.path.join(d, "train-00001.h5")])


def run_cases(c):
    """Checkpoints, weight files, recipes, grids."""
    b = c.base
    run = b("run")
    ckpts = sorted(f for f in os.listdir(run) if f.startswith("ckpt-") and f.endswith(".h5"))
    ck = os.path.join(run, ckpts[-1])

    def ckpt_variant(name, fn, also_resume=True):
        d = os.path.dirname(c.path("x"))
        dst = os.path.join(d, os.path.basename(ck))
        shutil.copy(ck, dst)
        fn(dst)
        c.add("checkpoint", "predict: " + name, ["predict", dst, "-o", c.out("p.h5")], [dst])
        if also_resume:
            shutil.copy(b("run/recipe.txt"), os.path.join(d, "recipe.txt"))
            c.add("checkpoint", "resume: " + name, ["train", "--resume", d], [dst, d])

    def edit(key, value):
        def fn(p):
            with h5py.File(p, "a") as f:
                if key in f:
                    del f[key]
                if value is not None:
                    f[key] = value
        return fn

    with h5py.File(ck, "r") as f:
        wkeys = [k for k in f["model"].keys()]
        first = "model/" + sorted(k for k in wkeys if k.endswith("weight"))[0]
        shape = f[first].shape
    for name, fn in [
            ("recipe 64-element array", edit("recipe", np.array(["x"] * 64, dtype=h5py.string_dtype()))),
            ("recipe missing", edit("recipe", None)),
            ("recipe binary", edit("recipe", np.bytes_(b"\xff\xfe\0garbage"))),
            ("recipe 11 MB", edit("recipe", "model = resnet8\n# " + "x" * LONG + "\n")),
            ("format 64-element array", edit("format", np.array(["relab-checkpoint 1"] * 64,
                                                                dtype=h5py.string_dtype()))),
            ("state/step -1", edit("state/step", np.int64(-1))),
            ("state/epoch 2^40", edit("state/epoch", np.int64(1 << 40))),
            ("state/batch -1", edit("state/batch", np.int64(-1))),
            ("state/epoch float", edit("state/epoch", np.float64(0.5))),
            ("state/step 2-element", edit("state/step", np.zeros(2, np.int64))),
            ("weight NaN", edit(first, np.full(shape, np.nan, np.float32))),
            ("weight int", edit(first, np.zeros(shape, np.int32))),
            ("weight wrong shape", edit(first, np.zeros((1,) + tuple(shape), np.float32))),
            ("weight missing", edit(first, None)),
            ("weight string", edit(first, "x")),
            ("extra tensor", edit("model/extra.weight", np.zeros(3, np.float32)))]:
        ckpt_variant(name, fn)
    data = open(ck, "rb").read()
    for name, dmg in binary_damage(data)[:8]:
        ckpt_variant(name, lambda p, dmg=dmg: write(p, dmg))
    # weight files: final.h5 beside a recipe
    final = b("run/final.h5")
    with h5py.File(final, "r") as f:
        wfirst = sorted(k for k in f.keys() if k.endswith("weight"))[0]
        wshape = f[wfirst].shape
    for name, fn in [("weight NaN", edit(wfirst, np.full(wshape, np.nan, np.float32))),
                     ("weight Inf", edit(wfirst, np.full(wshape, np.inf, np.float32))),
                     ("weight int", edit(wfirst, np.zeros(wshape, np.int32))),
                     ("weight float64 1e300", edit(wfirst, np.full(wshape, 1e300))),
                     ("weight missing", edit(wfirst, None)),
                     ("weight unwritten 2^31", lambda p: (edit(wfirst, None)(p), h5py.File(p, "a").create_dataset(
                         wfirst, shape=(1 << 31,), dtype="f4").file.close())),
                     ("num_batches_tracked string", lambda p: edit(
                         [k for k in h5py.File(final, "r").keys() if "num_batches" in k][0], "x")(p))] + [
                        (n, lambda p, d=d: write(p, d)) for n, d in binary_damage(open(final, "rb").read())[:6]]:
        d = os.path.dirname(c.path("x"))
        dst = os.path.join(d, "final.h5")
        shutil.copy(final, dst)
        shutil.copy(b("run/recipe.txt"), os.path.join(d, "recipe.txt"))
        fn(dst)
        c.add("weights", name, ["predict", dst, "-o", c.out("p.h5")], [dst])
    # recipes
    rec_ok = open(b("fm.recipe")).read()
    rec_extra = [("epochs 2147483647", rec_ok.replace("epochs = 1", "epochs = 2147483647")),
                 ("epochs -1", rec_ok.replace("epochs = 1", "epochs = -1")),
                 ("batch_size 2147483647", rec_ok.replace("batch_size = 8", "batch_size = 2147483647")),
                 ("image_size 100000", rec_ok.replace("image_size = 28", "image_size = 100000")),
                 ("width 2147483647", rec_ok.replace("width = 4", "width = 2147483647")),
                 ("num_classes 2147483647", rec_ok + "num_classes = 2147483647\n"),
                 ("base_lr nan", rec_ok + "base_lr = nan\n"), ("base_lr 1e400", rec_ok + "base_lr = 1e400\n"),
                 ("duplicate key", rec_ok + "epochs = 2\n"), ("unknown key", rec_ok + "lable_smoothing = 0\n"),
                 ("unterminated quote", rec_ok + 'train_list = "abc\n'),
                 ("data_dir missing", rec_ok.replace(b("fm"), "/nonexistent")),
                 ("train_list /dev/zero", rec_ok + "train_list = /dev/zero\n")]
    text_cases(c, "recipe", rec_ok, lambda p: ["train", p, "--out", c.out("r")], rec_extra)
    for case in c.cases:
        if case["name"] in ("recipe/data_dir missing", "recipe/train_list /dev/zero"):
            case["names"] += ["/nonexistent", "/dev/zero"]
    g_ok = open(b("g.grid")).read().replace("fm.recipe", b("fm.recipe"))
    g_extra = [("17 seeds", g_ok.replace("seeds = 0, 1", "seeds = " + ",".join(str(i) for i in range(17)))),
               ("epochs 2147483647", g_ok.replace("epochs = 1", "epochs = 2147483647")),
               ("seed -1", g_ok.replace("seeds = 0, 1", "seeds = -1")),
               ("set.unknown", g_ok + "set.nobody = x=1\n"), ("unknown key", g_ok + "colour = red\n"),
               ("baseline not a variant", g_ok + "baseline = zzz\n"), ("no recipe", "models = a\n"),
               ("9000-byte line", g_ok + "set = " + "x" * 9000 + "\n"),
               ("label with slash", g_ok.replace("variants = base", "variants = ../../x"))]
    text_cases(c, "grid", g_ok, lambda p: ["ablate", p, "--dry-run", "--out", c.out("ab")], g_extra)


# ---- images ----

def png_chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)


def png_bytes(w, h, depth=8, ctype=2, interlace=0, raw=None, extra=b"", ihdr_override=None):
    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    if raw is None:
        row = 1 + (w * ch * depth + 7) // 8
        raw = b"".join(b"\0" + bytes(row - 1) for _ in range(h))
    ihdr = ihdr_override or struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", zlib.compress(raw))
            + png_chunk(b"IEND", b""))


def image_variants(rng):
    buf = io.BytesIO()
    jpeg(rng, 16, 16).save(buf, "JPEG", quality=90)
    j = buf.getvalue()
    buf = io.BytesIO()
    jpeg(rng, 16, 16).save(buf, "PNG")
    p = buf.getvalue()
    buf = io.BytesIO()
    jpeg(rng, 16, 16).save(buf, "GIF")
    gif = buf.getvalue()
    sof = j.find(b"\xff\xc0")
    out = [("jpeg empty", b""), ("jpeg SOI only", j[:2]), ("jpeg truncated half", j[: len(j) // 2]),
           ("jpeg truncated before EOI", j[:-2]), ("jpeg 65500x65500 header",
                                                   j[:sof + 5] + b"\xff\xdc\xff\xdc" + j[sof + 9:]),
           ("jpeg 0x0 header", j[:sof + 5] + b"\0\0\0\0" + j[sof + 9:]),
           ("jpeg 5 components", j[:sof + 9] + b"\x05" + j[sof + 10:]),
           ("jpeg garbage after SOI", j[:3] + bytes(rng.integers(0, 256, 500, dtype=np.uint8))),
           ("gif named JPEG", gif), ("png valid named JPEG", p),
           ("png truncated", p[: len(p) // 2]), ("png bad CRC", p[:20] + bytes([p[20] ^ 1]) + p[21:]),
           ("png 100000x100000", png_bytes(100000, 100000, raw=b"\0" * 10)),
           ("png 2^31-1 x 1", png_bytes(BIG, 1, raw=b"\0" * 10)),
           ("png 0x0", png_bytes(0, 0, raw=b"")),
           ("png palette without PLTE", png_bytes(16, 16, ctype=3)),
           ("png bad filter type", png_bytes(4, 4, raw=b"\x09" + bytes(12) + (b"\0" + bytes(12)) * 3)),
           ("png zlib bomb", png_bytes(16, 16, raw=b"\0" * (64 << 20))),
           ("png short IDAT", png_bytes(16, 16, raw=b"\0" * 10)),
           ("png bit depth 3", png_bytes(4, 4, ihdr_override=struct.pack(">IIBBBBB", 4, 4, 3, 0, 0, 0, 0))),
           ("png chunk length 2^31", p[:8] + b"\x7f\xff\xff\xff" + p[12:]),
           ("png no IEND", p[: p.find(b"IEND") - 4]),
           ("random bytes", bytes(rng.integers(0, 256, 2000, dtype=np.uint8)))]
    return out


def image_cases(c):
    b = c.base
    rng = np.random.default_rng(3)
    for name, data in image_variants(rng):
        d = os.path.dirname(c.path("x"))
        bad = write(os.path.join(d, "bad.JPEG"), data)
        good = os.path.join(d, "good.JPEG")
        shutil.copy(b("img/train/n00000000/n00000000_0.JPEG"), good)
        lst = write(os.path.join(d, "l.list"), "# relab-list 1\n# classes 2\nbad.JPEG\t0\ngood.JPEG\t0\n")
        # the loader replaces an unreadable sample by one of its class and names it
        expect = {"png valid named JPEG": "ok", "png zlib bomb": "any"}.get(name, "either")
        c.add("image", name, ["predict", b("irun"), "--data", lst, "-o", c.out("p.h5")], [bad], expect)
    d = os.path.dirname(c.path("x"))
    lst = write(os.path.join(d, "l.list"), "# relab-list 1\n# classes 2\nbad.JPEG\t0\n")
    write(os.path.join(d, "bad.JPEG"), b"")
    c.add("image", "only sample unreadable", ["predict", b("irun"), "--data", lst, "-o", c.out("p.h5")],
          [os.path.join(d, "bad.JPEG")])
    # an empty class folder, an empty root, a folder given as a file
    d = os.path.dirname(c.path("x"))
    os.makedirs(os.path.join(d, "root/n0"), exist_ok=True)
    c.add("image", "empty class folder", ["pack", os.path.join(d, "root"), "-o", c.out("pk")],
          [os.path.join(d, "root/n0")])
    os.makedirs(os.path.join(d, "empty"), exist_ok=True)
    c.add("image", "empty root", ["pack", os.path.join(d, "empty"), "-o", c.out("pk")], [os.path.join(d, "empty")])
    c.add("image", "empty flat folder", ["pack", os.path.join(d, "empty"), "-o", c.out("pk"), "--labels",
                                         b("val_labels.txt")], [os.path.join(d, "empty")])


def cli_cases(c):
    b = c.base
    for argv, name in [(["noise", "--in", b("train.list"), "-o", c.out(), "--kind", "symmetric", "--rate", "nan",
                         "--seed", "1"], "noise --rate nan"),
                       (["noise", "--in", b("train.list"), "-o", c.out(), "--kind", "symmetric", "--rate", "0.5",
                         "--seed", "-1"], "noise --seed -1"),
                       (["noise", "--in", b("train.list"), "-o", c.out(), "--kind", "pairflip", "--rate", "0.5",
                         "--seed", "1", "--pairs", "0:2147483647"], "noise --pairs 0:2147483647"),
                       (["clean", "--teacher", b("preds.h5"), "--train", b("train.list"), "-o", c.out(), "--rule",
                         "topk:2147483647"], "clean --rule topk:2147483647"),
                       (["clean", "--teacher", b("preds.h5"), "--train", b("train.list"), "-o", c.out(), "--rule",
                         "prob:nan"], "clean --rule prob:nan"),
                       (["export-images", "--images", b("fm/train-images-idx3-ubyte.gz"), "--labels",
                         b("fm/train-labels-idx1-ubyte.gz"), "-o", c.out(), "--limit", "99999999999999999999"],
                        "export-images --limit 99999999999999999999"),
                       (["pack", b("img/train"), "-o", c.out(), "--shard-size", "1e300"], "pack --shard-size 1e300"),
                       (["info", "--model", "resnet8", "--size", "2147483647"], "info --size 2147483647"),
                       (["info", "--model", "resnet8", "--classes", "2147483647"], "info --classes 2147483647"),
                       (["predict", b("run"), "--topk", "100000", "-o", c.out()], "predict --topk 100000"),  # ok: top-C
                       (["ablate", b("g.grid"), "--jobs", "2147483647", "--dry-run", "-o", c.out()],
                        "ablate --jobs 2147483647")]:
        c.add("cli", name, argv, [name.split()[1]], "any" if "topk" in name else "refuse")


def research_cases(c):
    """Names lists (clean --keep-list), subset files (eval --subset), numbered
    class folders (ImageNetV2) and the options that read numbers and names."""
    b = c.base
    ids = ["train-images-idx3-ubyte.gz#%d" % i for i in range(16)]
    names_ok = "# kept\n" + "".join(i + "\n" for i in ids[::2])
    names_extra = [("no name is a sample", "nothing.JPEG\nother.JPEG\n"),
                   ("11 MB name", "n" * LONG + "\n"),
                   ("only comments", "# a\n# b\n")]
    text_cases(c, "names", names_ok, lambda p: ["clean", "--keep-list", p, "--train", b("train.list"), "-o", c.out()],
               names_extra)
    shared = write(c.path("shared.list"), "# relab-list 1\na/x.JPEG\t0\nb/x.JPEG\t1\n")
    p = write(c.path("names.txt"), "x.JPEG\n")
    c.add("names", "a file name two samples share", ["clean", "--drop-list", p, "--train", shared, "-o", c.out()], [p])
    vp = b("val_preds.h5")
    sub_ok = "ILSVRC2012_val_00000001.JPEG\nval/ILSVRC2012_val_00000003.JPEG\n"
    sub_extra = [("id without a prediction", "ILSVRC2012_val_00000009.JPEG\n"),
                 ("id twice", "ILSVRC2012_val_00000001.JPEG\nx/ILSVRC2012_val_00000001.JPEG\n"),
                 ("id 99999999", "ILSVRC2012_val_99999999.JPEG\n"),
                 ("not an ImageNet id", "something.JPEG\n"),
                 ("only comments", "# none\n")]
    text_cases(c, "subset", sub_ok, lambda p: ["eval", vp, "--subset", p], sub_extra)
    # numbered class folders (ImageNetV2): names that are not class numbers
    for name, folders, expect in [("folder 007", ["0", "007"], "refuse"), ("folder -1", ["0", "-1"], "refuse"),
                                  ("folder 1048576", ["0", "1048576"], "refuse"),
                                  ("folder 2147483648", ["2147483648"], "refuse"), ("folder 1e3", ["1e3"], "refuse"),
                                  ("folder 0x1", ["0x1"], "refuse"), ("empty folder 3", ["0", "3"], "refuse"),
                                  ("folders 0 and 1048575", ["0", "1048575"], "ok"), ("folders 0 1 10", ["0", "1", "10"],
                                                                                      "ok")]:
        d = os.path.join(os.path.dirname(c.path("x")), "v2")
        for k, f in enumerate(folders):
            os.makedirs(os.path.join(d, f), exist_ok=True)
            if not name.startswith("empty") or k == 0:
                shutil.copy(b("img/train/n00000000/n00000000_0.JPEG"), os.path.join(d, f, "a.jpeg"))
        bad = [os.path.join(d, f) for f in folders if f != "0"] or [d]
        c.add("numbered", "list: " + name, ["list", "--images", d, "--numbered", "-o", c.out()], bad + [d], expect)
    write(os.path.join(os.path.dirname(c.path("x")), "7"), "a file named like a class folder")
    # options that read numbers and names
    for argv, name in [(["eval", vp, "--groups", b("groups.tsv"), "--group", "x="], "eval --group x="),
                       (["eval", vp, "--groups", b("groups.tsv"), "--group", "=dog"], "eval --group =dog"),
                       (["eval", vp, "--groups", b("groups.tsv"), "--group", "x=dog++animal"],
                        "eval --group x=dog++animal"),
                       (["eval", vp, "--groups", b("groups.tsv"), "--group", "dog=dog"], "eval --group dog=dog"),
                       (["eval", vp, "--real", b("real.json"), "--sets", "--set-thresholds", "nan"],
                        "eval --set-thresholds nan"),
                       (["eval", vp, "--real", b("real.json"), "--sets", "--set-thresholds", "0.5,0.5"],
                        "eval --set-thresholds 0.5,0.5"),
                       (["eval", vp, "--real", b("real.json"), "--sets", "--set-thresholds", "1e400"],
                        "eval --set-thresholds 1e400"),
                       (["split", b("train.list"), "--folds", "2147483647", "-o", c.out()], "split --folds 2147483647"),
                       (["split", b("train.list"), "--folds", "2", "--seed", "99999999999999999999999", "-o", c.out()],
                        "split --seed 99999999999999999999999"),
                       (["list", "--images", b("img/train"), "--first", "-5", "-o", c.out()], "list --first -5"),
                       (["predict", b("run/final.h5"), "--arch", "resnet8", "--image-size", "2147483647", "--data",
                         b("img/train"), "-o", c.out()], "predict --image-size 2147483647"),
                       (["predict", b("run/final.h5"), "--arch", "resnet8", "--loss", "hinge", "--data",
                         b("img/train"), "-o", c.out()], "predict --loss hinge")]:
        c.add("cli", name, argv, [name.split()[1]])


def make_corpus(work, relab, kinds=None):
    c = Corpus(work, relab)
    make_base(c)
    for fn in (list_cases, preds_cases, eval_ref_cases, noise_cases, idx_cases, pack_cases, run_cases, image_cases,
               cli_cases, research_cases):
        fn(c)
    report_cases(c, write, text_variants, special_paths, text_cases)
    if kinds:
        c.cases = [k for k in c.cases if k["kind"] in kinds]
    return c.cases
