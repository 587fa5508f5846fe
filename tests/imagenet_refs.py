"""imagenet_refs.py: the shared ImageNet validation label files, read with
plain Python for the tests that check relab eval against them (formats: the
README beside the files; their origins: docs/formats.md).

Refs(shared) reads, with the standard sorted-wnid class indices:
    w2i[wnid] -> index, names[index] -> name          classes.tsv
    orig[k]   original label of ILSVRC2012_val_{k+1}  the wnid-per-line file
    real[k]   set of ReaL labels                      real.json
    group_of[index] -> dog / animal / object          groups.tsv
    ml[k] = (original, correct set, unclear set, problematic)   multilabel.csv
and the paths as CLASSES, WNIDS, REAL, ML, GROUPS."""

import csv
import json
import os

import h5py
import numpy as np

from taplib import skip_all


def write_preds(path, ids, labels, classes, scores, C=1000, kind="softmax", logits=None, fixed_ids=False, drop=None,
                extra=None):
    """A predictions file (docs/formats.md); drop and extra remove or replace
    datasets to make malformed files."""
    with h5py.File(path, "w") as f:
        if fixed_ids:
            f["ids"] = np.array([i.encode() for i in ids], dtype="S40")
        else:
            f["ids"] = np.array(ids, dtype=h5py.string_dtype())
        f["labels"] = np.asarray(labels, np.int32)
        f["topk_classes"] = np.asarray(classes, np.int32)
        f["topk_scores"] = np.asarray(scores, np.float32)
        f["num_classes"] = np.int32(C)
        f["score_kind"] = kind
        if logits is not None:
            f["logits"] = np.asarray(logits, np.float32)
        f["meta"] = "relab test"
        for name in drop or []:
            del f[name]
        for name, value in (extra or {}).items():
            if name in f:
                del f[name]
            f[name] = value


def vid(k):
    """The file name of validation image k (0-based)."""
    return "ILSVRC2012_val_%08d.JPEG" % (k + 1)


class Refs:
    def __init__(self, shared):
        self.REAL = os.path.join(shared, "real.json")
        self.ML = os.path.join(shared, "multilabel", "multilabel.csv")
        self.GROUPS = os.path.join(shared, "groups.tsv")
        self.CLASSES = os.path.join(shared, "classes.tsv")
        self.WNIDS = os.path.join(shared, "imagenet_2012_validation_synset_labels.txt")
        rows = [l.split("\t") for l in open(self.CLASSES).read().splitlines()[1:]]
        self.w2i = {r[1]: int(r[0]) for r in rows}
        self.names = {int(r[0]): r[2] for r in rows}
        self.orig = np.array([self.w2i[w] for w in open(self.WNIDS).read().split()], dtype=np.int32)
        self.real = [set(s) for s in json.load(open(self.REAL))]
        self.group_of = {}
        for line in open(self.GROUPS).read().splitlines()[1:]:
            i, _, g = line.split("\t")
            self.group_of[int(i)] = g
        self.ml = {}

        def labels(x):
            return {int(v) for v in x.split(",") if v.strip()}

        with open(self.ML) as f:
            for row in csv.DictReader(f):
                k = int(row["id"][len("ILSVRC2012_val_"):-len(".JPEG")]) - 1
                self.ml[k] = (int(row["original_label"]), labels(row["proposed_labels"]),
                              labels(row["unclear_multi_labels"]), row["is_problematic"] == "True")


def refs_or_skip(test_file):
    """The shared files at $RELAB_SHARED (default $top_srcdir/../shared/imagenet),
    or a TAP skip of the whole test when they or the relab binary are absent."""
    relab = os.environ.get("RELAB")
    top = os.environ.get("top_srcdir", os.path.join(os.path.dirname(test_file), ".."))
    shared = os.environ.get("RELAB_SHARED", os.path.join(top, "..", "shared", "imagenet"))
    if not relab or not os.path.exists(relab):
        skip_all("RELAB (the built relab binary) not set")
    if not os.path.exists(os.path.join(shared, "real.json")):
        skip_all("shared ImageNet label files not found at %s (set RELAB_SHARED)" % shared)
    return relab, Refs(shared)
