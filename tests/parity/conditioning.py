"""conditioning.py: a well-conditioned starting point for a parity fixture.

A float32 gradient can only be compared with a float64 one where the loss is
smooth and not too sensitive to rounding.  A seeded torchvision ResNet with an
arbitrary batch is neither:

- ReLU and max-pool have kinks.  With millions of ReLU inputs some lie within
  float32 rounding of 0 (and some max-pool windows hold two values within
  rounding of each other); float32 and float64, or two float32 programs that
  sum in different orders, then route the gradient differently at that
  element, and one such flip moves a whole BN bias gradient by percents.
- Train-mode BN networks at initialisation amplify perturbations from layer
  to layer (each residual branch adds a freshly normalised signal to the
  stream).  With every BN weight near 1, float32's error in ResNet-152's last
  stage reaches 1e-2 of the activations' spread.

So the fixture's state is drawn like a network in training, not at its most
chaotic: every BN weight ~ U(0.8, 1.2) and bias ~ N(0, 0.1) (a mild
perturbation of torchvision's 1 and 0), except the last BN of each residual
branch, whose weight ~ U(0.1, 0.3) (near the zero-init-residual start of
Goyal et al. 2017, "Accurate, Large Minibatch SGD", as trained ResNets have
it; not 0, so that every branch still gets a gradient).  Running statistics
are measured by train-mode forwards of random batches (cumulative average).

Then clear_kinks() moves every ReLU input at least KINK_FACTOR times float32's
error away from 0: it measures, per ReLU, torch float32's largest error against
float64 (relative to each channel's spread) and, in forward order, shifts the
bias of the BN that feeds the ReLU, for channels that have a value inside the
margin, to the nearest point where no value of the channel is (a train-mode BN
bias moves the whole channel and nothing upstream).  A max-pool window whose
two largest values are within the margin cannot be fixed that way (a shift
keeps differences); the images holding one are drawn again (pool_tie_images).

Functions take a torchvision ResNet (relab_torch.build_model) and draw from
torch's global generator.  Not thread-safe.
"""

import numpy as np
import torch
import torch.nn.functional as F

BN_WEIGHT = (0.8, 1.2)
BN_BIAS_SD = 0.1
LAST_BN_WEIGHT = (0.1, 0.3)
FC_BIAS_SD = 0.01
CALIBRATION_BATCHES = 2
# A ReLU input (or a max-pool top-2 gap) must be this many times torch
# float32's largest error in its layer away from the kink: another float32
# program (relab, another BLAS kernel) may be a few times less accurate.
KINK_FACTOR = 10
# The error is never taken below float32's unit roundoff.
ERR_FLOOR = 2.0 ** -24
MAX_REDRAW_ROUNDS = 50


def blocks(model):
    """(name, block) for every residual block, in forward order."""
    for s in range(1, 5):
        for i, blk in enumerate(getattr(model, "layer%d" % s)):
            yield "layer%d.%d" % (s, i), blk


def last_bn(blk):
    """The BN that ends a block's residual branch (bn3 in a bottleneck, bn2 in a basic block)."""
    return blk.bn3 if hasattr(blk, "bn3") else blk.bn2


def init_state(model):
    """Draws BN weights and biases and the fc bias (see the module comment)."""
    last = {id(last_bn(blk)) for _, blk in blocks(model)}
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                lo, hi = LAST_BN_WEIGHT if id(m) in last else BN_WEIGHT
                m.weight.copy_(torch.rand(m.num_features) * (hi - lo) + lo)
                m.bias.copy_(torch.randn(m.num_features) * BN_BIAS_SD)
        model.fc.bias.copy_(torch.randn(model.fc.out_features) * FC_BIAS_SD)


def calibrate(model, shape, batches=CALIBRATION_BATCHES):
    """Running statistics = the average of `batches` train-mode forwards of N(0, 1) batches of `shape`.

    Afterwards momentum is 0.1 again and num_batches_tracked 0, as in a fresh model."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    was_training = model.training
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*shape))
    for m in bns:
        m.momentum = 0.1
        m.num_batches_tracked.zero_()
    model.train(was_training)


def _bn(t, m):
    return F.batch_norm(t, None, None, m.weight, m.bias, True, 0.0, m.eps)


def _conv(t, m):
    return F.conv2d(t, m.weight, None, m.stride, m.padding)


def _relu_sites(model, x, site, stem_only=False):
    """Train-mode forward of model on x (the dtype of both decides the precision)
    as plain functions, calling site(name, z, bn) on every ReLU input z before
    the ReLU; bn is the BN whose bias moves z.  site may change z in place.
    Returns the logits (None with stem_only)."""
    with torch.no_grad():
        z = _bn(_conv(x, model.conv1), model.bn1)
        site("stem", z, model.bn1)
        t = z.clamp_min(0)
        if stem_only:
            return None
        if not isinstance(model.maxpool, torch.nn.Identity):
            t = F.max_pool2d(t, 3, 2, 1)
        for name, blk in blocks(model):
            y = _bn(_conv(t, blk.conv1), blk.bn1)
            site(name + ".bn1", y, blk.bn1)
            y = y.clamp_min(0)
            if hasattr(blk, "conv3"):
                y = _bn(_conv(y, blk.conv2), blk.bn2)
                site(name + ".bn2", y, blk.bn2)
                y = _bn(_conv(y.clamp_min(0), blk.conv3), blk.bn3)
            else:
                y = _bn(_conv(y, blk.conv2), blk.bn2)
            if blk.downsample is not None:
                t = _bn(_conv(t, blk.downsample[0]), blk.downsample[1])
            y += t
            site(name + ".out", y, last_bn(blk))
            t = y.clamp_min(0)
        return t.mean(dim=(2, 3)) @ model.fc.weight.t() + model.fc.bias


def _channels(z):
    """z (N, C, H, W) as C rows of N*H*W values."""
    return z.transpose(0, 1).reshape(z.shape[1], -1)


def _spread(z):
    """Per-channel standard deviation (biased) as (1, C, 1, 1)."""
    return _channels(z).std(dim=1, unbiased=False).clamp_min(1e-30)[None, :, None, None]


def relu_inputs(model, x, stem_only=False):
    """{site name: ReLU input} of a train-mode forward in model's precision."""
    out = {}
    _relu_sites(model, x, lambda name, z, bn: out.__setitem__(name, z.clone()), stem_only)
    return out


def float32_errors(model, x, stem_only=False):
    """{site: max |z32 - z64| / channel spread} for torch float32 against float64."""
    z64 = relu_inputs(_double(model), x.double(), stem_only)
    z32 = relu_inputs(model, x, stem_only)
    return {n: max(float(((z32[n].double() - z64[n]).abs() / _spread(z64[n])).max()), ERR_FLOOR) for n in z64}


def _double(model):
    import copy
    return copy.deepcopy(model).double().train()


def _shift_channel(values, margin):
    """The smallest |t| such that no value lies within margin of t (t is the new kink)."""
    v = np.sort(values)
    need = 1.25 * margin  # slack for rounding the shifted bias to float32
    lo = np.concatenate(([-np.inf], v))
    hi = np.concatenate((v, [np.inf]))
    ok = hi - lo > 2 * need
    t = np.clip(0.0, lo[ok] + need, hi[ok] - need)
    return float(t[np.argmin(np.abs(t))])


class _Fixer:
    """site() callback of _relu_sites: shifts BN biases so ReLU inputs clear the margin."""

    def __init__(self, margins):
        self.margins = margins  # site -> margin relative to the channel spread
        self.channels = 0
        self.largest = 0.0  # largest shift, relative to the channel spread
        self.stem = None  # stem ReLU input after the shift

    def __call__(self, name, z, bn):
        sd = _spread(z).flatten()
        m = self.margins[name] * sd
        rows = _channels(z)
        for c in torch.nonzero((rows.abs() < m[:, None]).any(dim=1)).flatten().tolist():
            t = _shift_channel(rows[c].numpy(), float(m[c]))
            old = float(bn.bias[c])
            new = float(np.float32(old - t))  # the fixture stores float32 weights
            bn.bias[c] = new
            z[:, c] += new - old
            self.channels += 1
            self.largest = max(self.largest, abs(new - old) / float(sd[c]))
        if name == "stem":
            self.stem = z.clone()


def pool_ties(model, stem, margin):
    """Windows of the stem max-pool whose two largest inputs are within margin
    (relative to the channel spread) of each other, as a bool (N, C, OH, OW);
    None when the model has no max-pool.  stem: the float64 ReLU input."""
    if isinstance(model.maxpool, torch.nn.Identity):
        return None
    a = stem.clamp_min(0)
    n, c, h, w = a.shape
    # zero padding acts like -inf here: every window value is >= 0
    win = F.unfold(a.reshape(n * c, 1, h, w), 3, padding=1, stride=2)
    top = win.topk(2, dim=1).values
    gap = (top[:, 0] - top[:, 1]).reshape(n, c, -1)
    near = (top[:, 0].reshape(n, c, -1) > 0) & (gap < margin * _spread(stem).reshape(1, c, 1))
    return near


def clear_kinks(model, x):
    """Shifts BN biases of model (float32, in place) so that no ReLU input of
    the train-mode forward on x is within KINK_FACTOR x torch float32's error
    of 0.  Returns a report dict; report["tie_images"] lists the images whose
    stem max-pool still has a near tie (draw them again and call again)."""
    err = float32_errors(model, x)
    margins = {n: KINK_FACTOR * e for n, e in err.items()}
    md = _double(model)
    fix = _Fixer(margins)
    _relu_sites(md, x.double(), fix)
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), md.named_parameters()):
            p.copy_(q.float())  # exact: every changed bias is float32-representable
    ties = pool_ties(model, fix.stem, margins["stem"])
    tie_images = [] if ties is None else torch.nonzero(ties.flatten(1).any(dim=1)).flatten().tolist()
    return {"margins": margins, "shifted": fix.channels, "largest_shift": fix.largest, "tie_images": tie_images,
            "windows": 0 if ties is None else ties.numel()}


def stem_tie_images(model, x):
    """Images whose stem max-pool has a near tie once the stem ReLU is cleared
    (the cheap first screen before clear_kinks; empty without a max-pool)."""
    if isinstance(model.maxpool, torch.nn.Identity):
        return []
    margin = KINK_FACTOR * float32_errors(model, x, stem_only=True)["stem"]
    md = _double(model)
    fix = _Fixer({"stem": margin})
    _relu_sites(md, x.double(), fix, stem_only=True)
    ties = pool_ties(md, fix.stem, margin)
    return torch.nonzero(ties.flatten(1).any(dim=1)).flatten().tolist()


def draw_input(model, shape):
    """x ~ N(0, 1) of shape (N, C, S, S), with every image whose stem max-pool
    has a near tie drawn again (in image order) until none has.  Returns
    (x, number of images drawn again); raises RuntimeError after
    MAX_REDRAW_ROUNDS rounds."""
    x = torch.randn(*shape)
    redrawn = 0
    for _ in range(MAX_REDRAW_ROUNDS):
        bad = stem_tie_images(model, x)
        if not bad:
            return x, redrawn
        for i in bad:
            x[i] = torch.randn(*shape[1:])
        redrawn += len(bad)
    raise RuntimeError("max-pool near ties remain after %d rounds of drawing images again; use a smaller batch or "
                       "size" % MAX_REDRAW_ROUNDS)


def verify(model, x, margins):
    """Independent check after clear_kinks: a fresh float32 and float64 forward.
    Returns (sign flips between them; over every ReLU the smallest
    min |z64| / max |z32 - z64| and min |z64| / margin, all relative to the
    channel spread; the max-pool's argmax disagreements)."""
    md = _double(model)
    z64 = relu_inputs(md, x.double())
    z32 = relu_inputs(model, x)
    flips, ratio, slack = 0, np.inf, np.inf
    for n in z64:
        a, b = z64[n], z32[n].double()
        flips += int(((a > 0) != (b > 0)).sum())
        sd = _spread(a)
        closest = float((a.abs() / sd).min())
        ratio = min(ratio, closest / max(float(((a - b).abs() / sd).max()), ERR_FLOOR))
        slack = min(slack, closest / margins[n])
    pool_flips = 0
    if not isinstance(model.maxpool, torch.nn.Identity):
        _, i64 = F.max_pool2d(z64["stem"].clamp_min(0), 3, 2, 1, return_indices=True)
        v32, i32 = F.max_pool2d(z32["stem"].clamp_min(0), 3, 2, 1, return_indices=True)
        pool_flips = int(((i64 != i32) & (v32 > 0)).sum())
    return flips, ratio, slack, pool_flips
