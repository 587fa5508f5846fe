#!/usr/bin/python3
"""h5_maxdiff.py A.h5 B.h5 [GROUP]: compares the datasets of two relab weight
files or checkpoints (only those under GROUP, e.g. optim/momentum, if given).

Prints one line: "<max relative difference> <datasets that differ bitwise>
<datasets compared> <worst dataset> <L2 relative difference>", where the
relative difference of a dataset is max|a - b| / max|a| (the scale of the
tensor, so near-zero entries do not blow it up) and the L2 one is
||a - b|| / ||a|| over all compared floating-point values together.  Exit
status 2 when the files do not hold the same datasets with the same shapes.
Used by tests/test_dist.sh."""
import sys

import h5py
import numpy as np


def datasets(f, group):
    out = {}
    root = f[group] if group else f
    root.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def main():
    group = sys.argv[3] if len(sys.argv) > 3 else None
    with h5py.File(sys.argv[1], "r") as fa, h5py.File(sys.argv[2], "r") as fb:
        a, b = datasets(fa, group), datasets(fb, group)
    if sorted(a) != sorted(b):
        print("different dataset names", file=sys.stderr)
        return 2
    worst, worst_name, differ = 0.0, "-", 0
    sq_diff, sq_ref = 0.0, 0.0
    for name in sorted(a):
        x, y = np.asarray(a[name]), np.asarray(b[name])
        if x.shape != y.shape:
            print(f"{name}: shapes {x.shape} vs {y.shape}", file=sys.stderr)
            return 2
        if x.dtype.kind not in "fiu":
            continue
        if not np.array_equal(x, y):
            differ += 1
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        scale = np.max(np.abs(x64)) if x64.size else 0.0
        diff = np.max(np.abs(x64 - y64)) if x64.size else 0.0
        rel = diff / scale if scale > 0 else diff
        if rel > worst:
            worst, worst_name = rel, name
        if x.dtype.kind == "f":
            sq_diff += float(((x64 - y64) ** 2).sum())
            sq_ref += float((x64**2).sum())
    l2 = np.sqrt(sq_diff / sq_ref) if sq_ref > 0 else np.sqrt(sq_diff)
    print(f"{worst:.3e} {differ} {len(a)} {worst_name} {l2:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
