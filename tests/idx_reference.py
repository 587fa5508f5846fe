#!/usr/bin/env python3
"""idx_reference.py: an independent reading of IDX files (gzip + numpy) for test_idx.

usage: idx_reference.py IMAGES.gz LABELS.gz INDEX...
Prints, one item per line:
  dims N H W
  labels-count <count of class 0> ... <count of class 9>
  mean <mean of x/255 over all pixels> std <std of x/255>
  sample <index> <label> <H*W normalised pixels (x/255 - 0.2860) / 0.3530>
"""
import gzip
import sys

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 8, "not an unsigned-byte IDX file"
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(nd)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    assert data.size == int(np.prod(dims))
    return data.reshape(dims)


def main():
    images, labels = read_idx(sys.argv[1]), read_idx(sys.argv[2])
    n, h, w = images.shape
    print("dims", n, h, w)
    print("labels-count", " ".join(str(c) for c in np.bincount(labels, minlength=10)))
    # Exact integer sums (no 376 MB float copy): mean and std of x/255.
    flat = images.reshape(-1)
    s1 = int(flat.sum(dtype=np.int64))
    s2 = int(np.bincount(flat, minlength=256).astype(np.int64) @ (np.arange(256, dtype=np.int64) ** 2))
    mean = s1 / flat.size
    std = (s2 / flat.size - mean * mean) ** 0.5
    print("mean %.6f std %.6f" % (mean / 255.0, std / 255.0))
    for a in sys.argv[3:]:
        i = int(a)
        v = (images[i].astype(np.float64) / 255.0 - 0.2860) / 0.3530
        print("sample", i, int(labels[i]), " ".join("%.7f" % t for t in v.ravel()))


if __name__ == "__main__":
    main()
