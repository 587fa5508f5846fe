#!/usr/bin/python3
"""test_make_fixture.py: checks make_fixture.py's output against numpy (TAP).

The fixture's numbers come from torch; this test recomputes them without torch
from the stored weights and input: a float64 numpy ResNet forward (conv as a
sliding-window tensordot, BN with eps 1e-5, max-pool 3x3/2 pad 1, global average
pool, fc) in eval mode and in train mode (batch statistics), mean cross-entropy,
BN running statistics (0.9 old + 0.1 batch, unbiased variance), the SGD step
w - lr (g + wd w), and the gradients through central differences of the numpy
train-mode loss along random directions.  Also checks the file's key set and
dtypes against the contract in docs/parity.md.  Runs two small fixtures
("small" 3x32x32 and 1x28x28, resnet50 at 32x32) in a temporary folder.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

# libgomp's threads spin while they wait; on a shared, oversubscribed machine
# that spinning steals the cores from the threads doing work (resnet50 fixture:
# 34 s instead of 4.4 s, identical output).  Passive waiting changes no result.
# make_fixture.py sets it too; set it here before torch (and its OpenMP runtime) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)

BN_EPS = 1e-5
sys.path.insert(0, os.path.join(HERE, ".."))  # taplib
from taplib import done, ok  # noqa: E402


def close(got, want, rtol, atol, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err = np.abs(got - want)
    bound = atol + rtol * np.abs(want)
    good = got.shape == want.shape and bool(np.all(err <= bound))
    ok(good, "%s: max err %.3g (rtol %g, atol %g)" % (what, err.max() if err.size else 0.0, rtol, atol))


# ---- numpy reference ResNet (float64, torchvision v1.5 semantics) ----------

def conv(x, w, stride, pad):
    """x (N, C, H, W), w (OC, C, KH, KW) -> (N, OC, OH, OW); cross-correlation like torch."""
    kh, kw = w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,ocij->nohw", win, w, optimize=True)


def maxpool(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    return win.max(axis=(4, 5))


class Ref:
    """Forward of the ResNet described by a weights dict {state_dict key: array}."""

    def __init__(self, w, train):
        self.w = w  # float64 arrays, not copied
        self.train = train
        self.batch_stats = {}  # bn prefix -> (mean, unbiased var) in train mode
        self.acts = {}  # module name -> output, the modules make_fixture --activations records
        self.relu_in = {}  # ReLU site (conditioning.py's names) -> its input

    def bn(self, x, p):
        w = self.w
        if self.train:
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            n = x.shape[0] * x.shape[2] * x.shape[3]
            self.batch_stats[p] = (mean, var * n / (n - 1))
        else:
            mean, var = w[p + ".running_mean"], w[p + ".running_var"]
        scale = w[p + ".weight"] / np.sqrt(var + BN_EPS)
        return (x - mean[None, :, None, None]) * scale[None, :, None, None] + w[p + ".bias"][None, :, None, None]

    def relu(self, t, site):
        self.relu_in[site] = t
        return np.maximum(t, 0.0)

    def block(self, x, p, stride):
        w = self.w
        if p + ".conv3.weight" in w:  # bottleneck: stride on the 3x3 (torchvision v1.5)
            y = self.relu(self.bn(conv(x, w[p + ".conv1.weight"], 1, 0), p + ".bn1"), p + ".bn1")
            y = self.relu(self.bn(conv(y, w[p + ".conv2.weight"], stride, 1), p + ".bn2"), p + ".bn2")
            y = self.bn(conv(y, w[p + ".conv3.weight"], 1, 0), p + ".bn3")
        else:
            y = self.relu(self.bn(conv(x, w[p + ".conv1.weight"], stride, 1), p + ".bn1"), p + ".bn1")
            y = self.bn(conv(y, w[p + ".conv2.weight"], 1, 1), p + ".bn2")
        if p + ".downsample.0.weight" in w:
            x = self.bn(conv(x, w[p + ".downsample.0.weight"], stride, 0), p + ".downsample.1")
        return self.relu(y + x, p + ".out")

    def forward(self, x):
        w = self.w
        k = w["conv1.weight"].shape[2]
        small = k == 3
        a = self.acts
        a["conv1"] = conv(np.asarray(x, np.float64), w["conv1.weight"], 1 if small else 2, 1 if small else 3)
        a["bn1"] = self.bn(a["conv1"], "bn1")
        a["relu"] = self.relu(a["bn1"], "stem")
        y = a["maxpool"] = a["relu"] if small else maxpool(a["relu"])
        for s in range(1, 5):
            b = 0
            while "layer%d.%d.conv1.weight" % (s, b) in w:
                y = a["layer%d.%d" % (s, b)] = self.block(y, "layer%d.%d" % (s, b), 2 if (s > 1 and b == 0) else 1)
                b += 1
        y = a["avgpool"] = y.mean(axis=(2, 3))
        return y @ w["fc.weight"].T + w["fc.bias"]


def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


# ---- checks -----------------------------------------------------------------

def check_fixture(path, arch, classes, batch, chans, size, fd_dirs, tol32, fd_rtol, extra):
    import relab_torch
    import torch

    f = h5py.File(path, "r")
    tag = os.path.basename(path)
    ref_model = relab_torch.build_model(arch, classes, chans)
    sd = ref_model.state_dict()
    params = [n for n, _ in ref_model.named_parameters()]
    running = [k for k in sd if k.endswith(".running_mean") or k.endswith(".running_var")]

    # Layout: the contract in docs/parity.md.
    try:
        weights = relab_torch.read_state_dict(f["weights"], sd, tag + ":weights/")
        ok(True, "%s: weights/ is a strict relab state_dict (%d tensors)" % (tag, len(weights)))
    except relab_torch.RelabFormatError as e:
        ok(False, "%s: weights/ is a strict relab state_dict: %s" % (tag, e))
        return
    w = {k: v.numpy() for k, v in weights.items()}
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    ok(sorted(f["grads"].keys()) == sorted(params) and sorted(f["sgd"].keys()) == sorted(params),
       "%s: grads/ and sgd/ hold exactly the %d parameters" % (tag, len(params)))
    ok(sorted(f["train/running"].keys()) == sorted(running),
       "%s: train/running/ holds exactly the %d BN running statistics" % (tag, len(running)))
    x, labels = f["input"][()], f["labels"][()]
    ok(x.dtype == np.float32 and x.shape == (batch, chans, size, size), "%s: input float32 %s" % (tag, x.shape))
    ok(labels.dtype == np.int32 and labels.shape == (batch,) and labels.min() >= 0 and labels.max() < classes,
       "%s: labels int32 [%d] in [0, %d)" % (tag, batch, classes))
    ok(f["arch"][()].decode() == arch and int(f["num_classes"][()]) == classes
       and f["num_classes"].dtype == np.int32 and f["num_classes"].shape == (), "%s: arch, num_classes" % tag)
    ok(np.float32(f["sgd_lr"][()]) == np.float32(0.1) and np.float32(f["sgd_momentum"][()]) == np.float32(0.9)
       and np.float32(f["sgd_weight_decay"][()]) == np.float32(1e-4) and f["sgd_lr"].dtype == np.float32,
       "%s: sgd_lr 0.1, sgd_momentum 0.9, sgd_weight_decay 1e-4 (float32 scalars)" % tag)
    # BN state (conditioning.py): the last BN of each residual branch ~ U(0.1, 0.3), the others U(0.8, 1.2).
    last = "bn3" if arch != "small" and arch not in ("resnet18", "resnet34") else "bn2"
    is_last = lambda k: k.startswith("layer") and k.endswith("." + last + ".weight")  # noqa: E731
    bn_keys = [k[:-len(".running_mean")] + ".weight" for k in running if k.endswith(".running_mean")]
    lw = np.concatenate([w[k] for k in bn_keys if is_last(k)])
    ow = np.concatenate([w[k] for k in bn_keys if not is_last(k)])
    nbt = [int(w[k]) for k in sd if k.endswith("num_batches_tracked")]
    ok(0.1 <= lw.min() and lw.max() <= 0.3 and 0.8 <= ow.min() and ow.max() <= 1.2 and lw.std() > 0.04
       and ow.std() > 0.08 and set(nbt) == {0},
       "%s: BN weights: last of each residual branch in [0.1, 0.3], the others in [0.8, 1.2]; num_batches_tracked 0"
       % tag)

    # Eval forward, float64 numpy vs the stored float32 and float64 torch logits.
    ev_ref = Ref(w64, train=False)
    ev = ev_ref.forward(x)
    scale = np.abs(ev).max()
    close(f["eval/logits_double"][()], ev, 0, 1e-9 * scale, "%s: eval/logits_double = numpy float64 forward" % tag)
    close(f["eval/logits"][()], ev, 0, 2e-5 * scale, "%s: eval/logits (float32) = numpy forward" % tag)
    tr_ref = Ref(w64, train=True)
    tr = tr_ref.forward(x)
    tscale = np.abs(tr).max()
    close(f["train/logits_double"][()], tr, 0, 1e-9 * tscale,
          "%s: train/logits_double = numpy float64 batch-stat forward" % tag)
    close(f["train/loss_double"][()], cross_entropy(tr, labels), 1e-12, 0,
          "%s: train/loss_double = numpy mean cross-entropy" % tag)

    # Conditioning: no ReLU input (train forward) within kinks/<site> x its
    # channel's spread of 0, no stem max-pool window with its top two values
    # closer than kinks/stem (docs/parity.md).  Unconditioned, the closest of
    # ~10^6 ReLU inputs lies ~1e-6 spreads from 0.
    margins = {k: float(v[()]) for k, v in f["kinks"].items()}
    ok(sorted(margins) == sorted(tr_ref.relu_in), "%s: kinks/ has a margin for each of the %d ReLUs"
       % (tag, len(tr_ref.relu_in)))
    worst, where = np.inf, ""
    for site, z in tr_ref.relu_in.items():
        spread = z.std(axis=(0, 2, 3))[None, :, None, None]
        r = float((np.abs(z) / spread).min()) / margins.get(site, np.inf)
        if r < worst:
            worst, where = r, site
    ok(worst >= 1 - 1e-6 and min(margins.values()) >= 2.0 ** -24,
       "%s: every ReLU input is at least its margin away from 0 (closest: %.3g margins, at %s; margins %.2g..%.2g "
       "spreads)" % (tag, worst, where, min(margins.values()), max(margins.values())))
    if arch != "small":
        z = tr_ref.relu_in["stem"]
        a = np.pad(np.maximum(z, 0), ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = np.lib.stride_tricks.sliding_window_view(a, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
        top = np.sort(win.reshape(win.shape[:4] + (9,)), axis=-1)[..., -2:]
        gap = (top[..., 1] - top[..., 0]) / z.std(axis=(0, 2, 3))[None, :, None, None]
        closest = float(gap[top[..., 1] > 0].min()) / margins["stem"]
        ok(closest >= 1 - 1e-6, "%s: every stem max-pool window's top two values differ by at least the margin "
           "(closest: %.3g margins)" % (tag, closest))

    # --activations: every recorded module output, eval and train mode.
    if "eval/act" in f:
        names = sorted(f["eval/act"].keys())
        ok(names == sorted(ev_ref.acts) and sorted(f["train/act"].keys()) == names,
           "%s: eval/act/ and train/act/ hold the %d documented module outputs" % (tag, len(ev_ref.acts)))
        for mode, ref in (("eval", ev_ref), ("train", tr_ref)):
            worst = max(float(np.abs(f["%s/act/%s" % (mode, n)][()] - ref.acts[n]).max() / np.abs(ref.acts[n]).max())
                        if f["%s/act/%s" % (mode, n)].shape == ref.acts[n].shape else np.inf for n in names)
            ok(worst <= tol32 * 10, "%s: %s/act/* = numpy module outputs (worst max|diff| / max|ref| %.3g)"
               % (tag, mode, worst))

    # Float32 train forward: logits, loss, BN running statistics (train mode
    # amplifies rounding more than eval mode; tol32 is set per case).
    close(f["train/logits"][()], tr, 0, tol32 * tscale, "%s: train/logits = numpy batch-stat forward" % tag)
    close(f["train/loss"][()], cross_entropy(f["train/logits"][()].astype(np.float64), labels), 1e-6, 0,
          "%s: train/loss = numpy mean cross-entropy of train/logits" % tag)
    got_rm, want_rm = [], []
    for p, (mean, var) in tr_ref.batch_stats.items():
        got_rm += [f["train/running/%s.running_mean" % p][()], f["train/running/%s.running_var" % p][()]]
        want_rm += [0.9 * w[p + ".running_mean"] + 0.1 * mean, 0.9 * w[p + ".running_var"] + 0.1 * var]
    close(np.concatenate(got_rm), np.concatenate(want_rm), 10 * tol32, 1e-5,
          "%s: train/running = 0.9 old + 0.1 batch (unbiased var), %d BNs" % (tag, len(tr_ref.batch_stats)))

    # SGD step from the stored gradients, in float32 like torch (d = g + wd w; w - lr d).
    g = {n: f["grads/" + n][()] for n in params}
    # Two float32 roundings, each within half an ulp of its operands' size.
    worst, bad, count = 0.0, [], 0
    for n in params:
        want = w[n] - np.float32(0.1) * (g[n] + np.float32(1e-4) * w[n])
        err = np.abs(f["sgd/" + n][()] - want)
        ulp = (np.abs(w[n]) + np.abs(np.float32(0.1) * g[n])) * np.float32(2.0 ** -23)
        if not np.all(err <= 2 * ulp):
            bad.append(n)
        worst, count = max(worst, float(err.max())), count + err.size
    ok(not bad, "%s: sgd/ = w - 0.1 (g + 1e-4 w) within 2 ulp over %d values (max err %.3g)%s"
       % (tag, count, worst, " failing: " + ", ".join(bad[:5]) if bad else ""))
    if "sgd2" in f:
        # Step 2 with the same g: buf = 0.9 (g + wd w0) + (g + wd w1); w2 = w1 - lr buf (float64 here).
        worst, scale = 0.0, 0.0
        for n in params:
            w0, w1, gn = w64[n], f["sgd/" + n][()].astype(np.float64), g[n].astype(np.float64)
            want = w1 - 0.1 * (0.9 * (gn + 1e-4 * w0) + gn + 1e-4 * w1)
            worst = max(worst, float(np.abs(f["sgd2/" + n][()] - want).max()))
            scale = max(scale, float(np.abs(want).max()))
        ok(worst <= 4e-7 * scale, "%s: sgd2/ = second step with momentum 0.9 (max err %.3g, max |w| %.3g)"
           % (tag, worst, scale))

    # Gradients: central differences of the numpy float64 loss along random directions.
    rng = np.random.default_rng(7)
    for name in fd_dirs:
        keys = params if name == "all" else [name]
        # Unit direction: half along the stored gradient (a wrong size or
        # direction shows), half random (a wrong component shows).
        gnorm = np.sqrt(sum(float((g[k].astype(np.float64) ** 2).sum()) for k in keys))
        r = {k: rng.standard_normal(w[k].shape) for k in keys}
        rnorm = np.sqrt(sum(float((r[k] ** 2).sum()) for k in keys))
        d = {k: g[k] / gnorm + r[k] / rnorm for k in keys}
        # Small steps: with larger ones the difference crosses ReLU kinks.
        eps = 1e-6

        def loss_at(sign):
            w2 = dict(w64)
            for k in keys:
                w2[k] = w64[k] + sign * eps * d[k]
            return cross_entropy(Ref(w2, train=True).forward(x), labels)

        fd = (loss_at(1) - loss_at(-1)) / (2 * eps)
        an = sum(float((g[k].astype(np.float64) * d[k]).sum()) for k in keys)
        close(an, fd, fd_rtol, 1e-7, "%s: grads/ along a random direction of %s = central difference" % (tag, name))
    f.close()
    del torch


def compare_files(a, b):
    """Names of the datasets whose dtype, shape or bytes differ between two files."""
    def datasets(f):
        out = {}
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        return out
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        da, db = datasets(fa), datasets(fb)
    diff = sorted(set(da) ^ set(db))
    for n in sorted(set(da) & set(db)):
        x, y = np.asarray(da[n]), np.asarray(db[n])
        if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
            diff.append(n)
    return diff


def main():
    try:
        import torch
        import torchvision
        del torch, torchvision
        import make_fixture
    except ImportError as e:
        print("1..0 # SKIP needs torch and torchvision (%s); run with /usr/bin/python3" % e)
        return 0
    # (arch, classes, batch, channels, size, gradient directions, float32
    # tolerance, gradient tolerance).  resnet50 with 2 images of 64x64 leaves
    # 8 values per channel to layer4's BNs: float32 gradients there are ~2%
    # off float64 ones (see docs/parity.md), so only layer4 is checked, loosely.
    cases = [
        ("small", 10, 4, 3, 32, ["all", "conv1.weight", "fc.weight"], 2e-5, 1e-3, ["--activations"]),
        ("small", 10, 3, 1, 28, ["all"], 2e-5, 1e-3, ["--sgd2"]),
        ("resnet50", 10, 2, 3, 64, ["layer4.2.conv3.weight"], 3e-4, 1e-2, ["--activations"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for arch, classes, batch, chans, size, dirs, tol32, fd_rtol, extra in cases:
            out = os.path.join(tmp, "%s_%d_%d.h5" % (arch, chans, size))
            argv = ["--arch", arch, "--batch", str(batch), "--size", str(size), "--in-channels", str(chans),
                    "--classes", str(classes), "--seed", "1"] + extra + ["-o", out]
            # In-process (main() is the command line) saves a torch import per case.
            text = io.StringIO()
            try:
                with contextlib.redirect_stdout(text):
                    rc = make_fixture.main(argv)
            except Exception as e:  # noqa: BLE001  (reported as a failed test, not a crash)
                rc = "%s: %s" % (type(e).__name__, e)
            for line in text.getvalue().splitlines():
                print("# " + line)
            ok(rc == 0, "make_fixture.py %s returns 0 (got %s)" % (" ".join(argv[:-2]), rc))
            if rc == 0:
                check_fixture(out, arch, classes, batch, chans, size, dirs, tol32, fd_rtol, extra)
        # Bitwise determinism: the same command in a fresh process writes the same numbers.
        first = os.path.join(tmp, "small_1_28.h5")
        again = os.path.join(tmp, "again.h5")
        r = subprocess.run([sys.executable, os.path.join(HERE, "make_fixture.py"), "--arch", "small", "--batch", "3",
                            "--size", "28", "--in-channels", "1", "--classes", "10", "--seed", "1", "--sgd2", "-o", again],
                           capture_output=True, text=True)
        if r.returncode == 0 and os.path.exists(first):
            diff = compare_files(first, again)
            ok(not diff, "a second run in a fresh process gives a bitwise identical fixture%s"
               % (" (differs: %s)" % ", ".join(diff[:5]) if diff else ""))
        else:
            ok(False, "a second run of make_fixture.py: %s" % r.stderr.strip()[-300:])
    done()


if __name__ == "__main__":
    sys.exit(main())
