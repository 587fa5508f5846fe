#!/usr/bin/env python3
"""test_loss_torch.py: relab's losses against PyTorch, value and gradient.

Random logits and targets go to a file; tests/loss_dump (C, calls
rl_loss_forward_backward) writes the loss and dlogits; PyTorch computes the
same in float64 from the same float32 logits:
  softmax: F.cross_entropy(z, y, label_smoothing=eps)   (mean over the batch)
  sigmoid: F.binary_cross_entropy_with_logits(z, y, reduction='sum') / N
           (big_vision's sigmoid_xent: summed over classes, mean over batch)
and the gradient by autograd.  Prints TAP."""
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print("1..0 # SKIP needs numpy and torch (%s)" % e)
    sys.exit(0)

builddir = os.environ.get("top_builddir", ".")
dump = os.path.join(builddir, "tests", "loss_dump")
if not os.path.exists(dump):
    print("1..0 # SKIP %s not built (make check builds it)" % dump)
    sys.exit(0)

from taplib import done, ok  # noqa: E402


def run_c(kind, eps, logits, labels, targets):
    n, c = logits.shape
    with tempfile.TemporaryDirectory() as d:
        fin, fout = os.path.join(d, "in"), os.path.join(d, "out")
        with open(fin, "wb") as f:
            f.write(struct.pack("<4id", n, c, kind, targets is not None, eps))
            f.write(logits.astype("<f4").tobytes())
            f.write(labels.astype("<i4").tobytes())
            if targets is not None:
                f.write(targets.astype("<f4").tobytes())
        subprocess.run([dump, fin, fout], check=True)
        raw = open(fout, "rb").read()
    st, loss = struct.unpack("<id", raw[:12])
    grad = np.frombuffer(raw[12:], dtype="<f4").reshape(n, c)
    return st, loss, grad


def run_torch(kind, eps, logits, labels, targets):
    z = torch.tensor(logits.astype(np.float64), requires_grad=True)
    n, c = logits.shape
    if kind == 0:
        if targets is None:
            y = torch.tensor(labels.astype(np.int64))
        else:
            t = targets.astype(np.float64)
            y = torch.tensor(t / t.sum(axis=1, keepdims=True))
        loss = F.cross_entropy(z, y, label_smoothing=eps)
    else:
        if targets is None:
            t = np.zeros((n, c))
            t[np.arange(n), labels] = 1
        else:
            t = targets.astype(np.float64)
        loss = F.binary_cross_entropy_with_logits(z, torch.tensor(t), reduction="sum") / n
    loss.backward()
    return loss.item(), z.grad.numpy()


def check(name, kind, eps, logits, labels, targets=None):
    st, loss, grad = run_c(kind, eps, logits, labels, targets)
    ref_loss, ref_grad = run_torch(kind, eps, logits, labels, targets)
    ok(st == 0, "%s: status ok" % name)
    rel = abs(loss - ref_loss) / max(abs(ref_loss), 1e-300)
    ok(np.isfinite(loss) and rel < 1e-6, "%s: loss %.10g vs torch %.10g (rel %.2g)" % (name, loss, ref_loss, rel))
    err = np.abs(grad.astype(np.float64) - ref_grad)
    tol = 1e-6 * np.abs(ref_grad) + 1e-30
    worst = float(np.max(err / (np.abs(ref_grad) + 1e-30)))
    ok(np.all(np.isfinite(grad)) and np.all(err <= tol),
       "%s: dlogits within 1e-6 relative of torch (worst rel %.2g)" % (name, worst))


rng = np.random.default_rng(20200612)


def randn(n, c, scale):
    return (rng.standard_normal((n, c)) * scale).astype(np.float32)


n, c = 16, 10
labels = rng.integers(0, c, n)
check("softmax", 0, 0.0, randn(n, c, 3), labels)
check("softmax smoothing 0.1", 0, 0.1, randn(n, c, 3), labels)
multi = (rng.random((n, c)) < 0.3).astype(np.float32)
multi[np.arange(n), labels] = 1
soft = rng.random((n, c)).astype(np.float32)
check("softmax multi-hot targets (normalised)", 0, 0.0, randn(n, c, 3), labels, multi)
check("softmax soft targets + smoothing 0.2", 0, 0.2, randn(n, c, 3), labels, soft)
check("sigmoid one-hot", 1, 0.0, randn(n, c, 3), labels)
check("sigmoid multi-hot", 1, 0.0, randn(n, c, 3), labels, multi)
check("sigmoid soft targets", 1, 0.0, randn(n, c, 3), labels, soft)
# Extreme logits: +-100 saturate exp; everything must stay finite and exact.
ext = np.where(rng.random((n, c)) < 0.5, 100.0, -100.0).astype(np.float32)
check("softmax extreme +-100", 0, 0.0, ext, labels)
check("softmax extreme +-100 smoothing", 0, 0.1, ext, labels)
check("sigmoid extreme +-100", 1, 0.0, ext, labels)
check("sigmoid extreme +-100 multi-hot", 1, 0.0, ext, labels, multi)
# ImageNet-sized rows over the parallel path (n*c >= 32768).
n, c = 48, 1000
labels = rng.integers(0, c, n)
check("softmax 48x1000", 0, 0.0, randn(n, c, 5), labels)
check("sigmoid 48x1000 with head bias -ln(1000)", 1, 0.0, randn(n, c, 1) - np.float32(np.log(1000)), labels)

done()
