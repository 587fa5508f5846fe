#!/usr/bin/python3
"""make_fixture.py: PyTorch reference values for relab's ResNet parity tests.

One HDF5 file holds, for one seeded torchvision ResNet and one random batch:
the initial weights, the input and labels, eval-mode logits (float32 and
float64), one train-mode forward (logits, mean cross-entropy, the gradient of
every parameter, BN running statistics afterwards) and the weights after one
SGD step.  The layout is a contract with the C side (docs/parity.md):

  weights/<state_dict key>     initial weights, relab weight format (docs/weights.md)
  input                        float32 [B, C, S, S] NCHW, x ~ N(0, 1)
  labels                       int32 [B], uniform in [0, classes)
  eval/logits                  float32 [B, classes], model.eval() forward
  eval/logits_double           float64 [B, classes], the same in float64
  train/logits                 float32 [B, classes], model.train() forward
  train/loss                   float32 (), F.cross_entropy (mean over batch)
  train/logits_double          float64 [B, classes], train forward in float64
  train/loss_double            float64 (), its loss
  grads/<parameter name>       float32, d loss / d parameter (parameters only)
  train/running/<bn key>       float32, running_mean / running_var after the
                               train forward (PyTorch momentum 0.1: new =
                               0.9 old + 0.1 batch; running_var uses the
                               unbiased batch variance, n / (n - 1))
  sgd/<parameter name>         float32, weights after one torch.optim.SGD step
                               (lr 0.1, momentum 0.9, weight decay 1e-4, not
                               Nesterov; step 1 = w - lr (g + wd w))
  arch                         string (), num_classes int32 (), sgd_lr,
  sgd_momentum, sgd_weight_decay  float32 (); also batch, size, in_channels,
                               seed int32 () and torch_version string ()
  grads_double/<parameter name> only with --grads-double: float64 gradients
  sgd2/<parameter name>        only with --sgd2: after a second SGD step with
                               the same gradients (buf = 0.9 buf + g + wd w1)
  eval/act/<module>, train/act/<module>
                               only with --activations: float32 outputs of
                               conv1, bn1, relu, maxpool, every residual block
                               (layer1.0, ...), avgpool (flattened [B, F])

  train/running_double/<bn key> float64, the same after the float64 train forward
  kinks/<relu site>             float64 (), the margin: in the train forward every
                               input of this ReLU is at least margin x its
                               channel's standard deviation away from 0 (sites:
                               stem, layerS.B.bn1, .bn2 (bottleneck), .out after
                               the residual add); the stem max-pool's top two
                               values in a window differ by at least kinks/stem

The model is conditioned so that float32 gradients can be compared with
float64 ones (tests/parity/conditioning.py, docs/parity.md): realistic BN
state, running statistics from real forwards, and no ReLU input or max-pool
tie within 10x float32's error of its kink.  Random draws, all from torch's
global generator after torch.manual_seed(seed), in this order: model
construction (torchvision init); for every BN in module order weight ~
U(0.8, 1.2) (U(0.1, 0.3) for the last BN of a residual branch) and bias ~
N(0, 0.1); fc.bias ~ N(0, 0.01); the input ~ N(0, 1), then each image whose
stem max-pool has a near tie drawn again; the labels; then (after BN biases
are shifted off the ReLU kinks, which draws nothing) 2 calibration batches
for the running statistics.  CPU, float32, torch.set_num_threads(2).

Usage: make_fixture.py --arch {resnet18,...,resnet152,small} --batch B --size S
                       [--seed 0] [--classes N] [--in-channels C] [--activations]
                       [--grads-double] [--sgd2]
                       -o fixture.h5
Run with /usr/bin/python3 (the Python that sees Debian's torch).
"""

import argparse
import copy
import os
import sys
import time

import h5py
import numpy as np

# libgomp's threads spin while they wait; on a shared, oversubscribed machine
# that spinning steals the cores from the threads doing work (resnet50 fixture:
# 34 s instead of 4.4 s, identical output).  Passive waiting changes no result.
# It must be set before torch (and its OpenMP runtime) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import relab_torch  # noqa: E402  (path set just above)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conditioning  # noqa: E402

SGD_LR = 0.1
SGD_MOMENTUM = 0.9
SGD_WEIGHT_DECAY = 1e-4


def activation_names(model):
    """The modules whose outputs --activations records, in forward order."""
    names = ["conv1", "bn1", "relu", "maxpool"]
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        names += ["%s.%d" % (stage, i) for i in range(len(getattr(model, stage)))]
    return names + ["avgpool"]


def forward_recording(model, x, names):
    """model(x), plus {name: output} for the modules in names (empty names: none)."""
    acts, hooks = {}, []
    modules = dict(model.named_modules())
    for name in names:
        # clone: torchvision's ReLUs work in place, so bn1's output tensor is
        # overwritten by the ReLU that follows it.
        def hook(_mod, _inp, out, name=name):
            acts[name] = out.detach().reshape(out.shape[0], -1).clone() if name == "avgpool" else out.detach().clone()
        hooks.append(modules[name].register_forward_hook(hook))
    try:
        y = model(x)
    finally:
        for h in hooks:
            h.remove()
    return y, acts


def last_hw(args):
    """Spatial size of layer4's output: /32 for ImageNet ResNets, /8 for small."""
    size = args.size
    for _ in range(3 if args.arch == "small" else 5):
        size = (size + 1) // 2
    return size


def put(f, name, value, dtype):
    f.create_dataset(name, data=np.asarray(value, dtype=dtype))


def put_string(f, name, text):
    f.create_dataset(name, data=text, dtype=h5py.string_dtype("utf-8"))


def make(args):
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    classes = args.classes or relab_torch.default_classes(args.arch)
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    model = relab_torch.build_model(args.arch, classes, args.in_channels)
    conditioning.init_state(model)
    shape = (args.batch, args.in_channels, args.size, args.size)
    x, redrawn = conditioning.draw_input(model, shape)
    labels = torch.randint(0, classes, (args.batch,), dtype=torch.int64)
    kinks = conditioning.clear_kinks(model, x)
    if kinks["tie_images"]:  # draw_input screened exactly this; a failure here is a bug in conditioning.py
        raise RuntimeError("max-pool near ties left in images %s" % kinks["tie_images"])
    conditioning.calibrate(model, shape)
    flips, ratio, slack, pool_flips = conditioning.verify(model, x, kinks["margins"])
    initial = copy.deepcopy(model.state_dict())
    names = activation_names(model) if args.activations else []
    t_build = time.perf_counter()

    model.eval()
    with torch.no_grad():
        eval_logits, eval_acts = forward_recording(model, x, names)
    t_eval = time.perf_counter()

    model_d = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        eval_logits_d = model_d(x.double())
    # The same train step in float64: few values per channel in a BN (batch x
    # layer4's H x W) make train mode ill-conditioned, and this shows by how much.
    model_d.train()
    train_logits_d = model_d(x.double())
    running_d = {k: v.detach().clone() for k, v in model_d.state_dict().items()
                 if k.endswith(".running_mean") or k.endswith(".running_var")}
    loss_d = F.cross_entropy(train_logits_d, labels)
    grads_d = {}
    if args.grads_double:
        loss_d.backward()
        grads_d = {n: p.grad.detach().clone() for n, p in model_d.named_parameters()}
    train_logits_d = train_logits_d.detach()
    del model_d
    t_double = time.perf_counter()

    train_model = relab_torch.build_model(args.arch, classes, args.in_channels)
    train_model.load_state_dict(initial, strict=True)
    train_model.train()
    train_logits, train_acts = forward_recording(train_model, x, names)
    loss = F.cross_entropy(train_logits, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in train_model.named_parameters()}
    running = {k: v.detach().clone() for k, v in train_model.state_dict().items()
               if k.endswith(".running_mean") or k.endswith(".running_var")}
    # Forward and backward leave parameters untouched, so the step starts from the initial weights.
    opt = torch.optim.SGD(train_model.parameters(), lr=SGD_LR, momentum=SGD_MOMENTUM,
                          weight_decay=SGD_WEIGHT_DECAY, nesterov=False)
    opt.step()
    stepped = {n: p.detach().clone() for n, p in train_model.named_parameters()}
    stepped2 = {}
    if args.sgd2:
        # A second step with the same gradients exercises the momentum buffer,
        # which step 1 only initialises.
        opt.step()
        stepped2 = {n: p.detach().clone() for n, p in train_model.named_parameters()}
    t_train = time.perf_counter()

    with h5py.File(args.output, "w") as f:
        relab_torch.write_state_dict(f.create_group("weights"), initial)
        put(f, "input", x.numpy(), np.float32)
        put(f, "labels", labels.numpy(), np.int32)
        put(f, "eval/logits", eval_logits.numpy(), np.float32)
        put(f, "eval/logits_double", eval_logits_d.numpy(), np.float64)
        put(f, "train/logits", train_logits.detach().numpy(), np.float32)
        put(f, "train/loss", loss.item(), np.float32)
        put(f, "train/logits_double", train_logits_d.numpy(), np.float64)
        put(f, "train/loss_double", loss_d.item(), np.float64)
        groups = [("grads_double/", grads_d, np.float64), ("grads/", grads, np.float32),
                  ("train/running/", running, np.float32), ("train/running_double/", running_d, np.float64),
                  ("kinks/", kinks["margins"], np.float64), ("sgd/", stepped, np.float32),
                  ("sgd2/", stepped2, np.float32), ("eval/act/", eval_acts, np.float32),
                  ("train/act/", train_acts, np.float32)]
        for prefix, tensors, dtype in groups:
            for n, t in tensors.items():
                put(f, prefix + n, t.numpy() if torch.is_tensor(t) else t, dtype)
        put_string(f, "arch", args.arch)
        put_string(f, "torch_version", torch.__version__)
        put(f, "num_classes", classes, np.int32)
        put(f, "batch", args.batch, np.int32)
        put(f, "size", args.size, np.int32)
        put(f, "in_channels", args.in_channels, np.int32)
        put(f, "seed", args.seed, np.int32)
        put(f, "sgd_lr", SGD_LR, np.float32)
        put(f, "sgd_momentum", SGD_MOMENTUM, np.float32)
        put(f, "sgd_weight_decay", SGD_WEIGHT_DECAY, np.float32)
    t_write = time.perf_counter()

    ev_err = (eval_logits.double() - eval_logits_d).abs().max().item() / eval_logits_d.abs().max().item()
    tr_err = (train_logits.detach().double() - train_logits_d).abs().max().item() / train_logits_d.abs().max().item()
    print("%s: %s batch %d, %dx%dx%d, %d classes, seed %d: loss %.6f; max|f32 - f64| / max|f64| of the logits: "
          "eval %.3g (max|logit| %.3g), train %.3g"
          % (args.output, args.arch, args.batch, args.in_channels, args.size, args.size, classes, args.seed,
             loss.item(), ev_err, eval_logits_d.abs().max().item(), tr_err))
    if tr_err > 1e-3:
        print("warning: train mode is ill-conditioned here (float32 differs from float64 by %.2g relative): a BN in "
              "the last stage sees only batch x H x W = %d values per channel; raise --batch or --size"
              % (tr_err, args.batch * last_hw(args) ** 2))
    print("conditioning: %d BN bias channels shifted off ReLU kinks (largest shift %.3g of the channel's spread); "
          "%d images drawn again for max-pool near ties (%d windows); the closest ReLU input is %.3g times torch "
          "float32's largest error in its layer away from 0 (at least %.3g times the margin); float32 vs float64: "
          "%d ReLU sign flips, %d max-pool argmax flips"
          % (kinks["shifted"], kinks["largest_shift"], redrawn, kinks["windows"], ratio, slack, flips, pool_flips))
    if grads_d:
        errs = sorted((float((grads[n].double() - g).norm() / g.norm().clamp_min(1e-300)), n) for n, g in grads_d.items())
        print("PyTorch float32 gradients vs float64, ||diff|| / ||ref|| per tensor: median %.3g, worst %.3g (%s)"
              % (errs[len(errs) // 2][0], errs[-1][0], errs[-1][1]))
    print("time: build %.2fs, eval %.2fs, float64 eval+train %.2fs, train+sgd %.2fs, write %.2fs, total %.2fs"
          % (t_build - t0, t_eval - t_build, t_double - t_eval, t_train - t_double, t_write - t_train,
             t_write - t0))
    if flips or pool_flips or slack < 1:
        # verify() is independent of clear_kinks(): this is a bug there, or a network too ill-conditioned to fix
        print("error: %s: the fixture is not clear of ReLU/max-pool kinks (see the conditioning line above)"
              % args.output, file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="Write a PyTorch reference fixture for relab's parity tests.")
    p.add_argument("--arch", required=True, choices=relab_torch.ARCHS)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--size", type=int, required=True, help="input height = width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", type=int, default=None, help="default 1000 (small: 10)")
    p.add_argument("--in-channels", type=int, default=3, help="3 (RGB) or 1 (grey, e.g. 28x28 Fashion-MNIST)")
    p.add_argument("--sgd2", action="store_true", help="also store the weights after a second SGD step (sgd2/)")
    p.add_argument("--grads-double", action="store_true", help="also store float64 gradients (grads_double/)")
    p.add_argument("--activations", action="store_true", help="also store per-block outputs (eval/act, train/act)")
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args(argv)
    if args.batch < 2:
        p.error("--batch must be >= 2 (train-mode BN needs more than one value per channel)")
    if args.size < 1 or args.in_channels < 1:
        p.error("--size and --in-channels must be positive")
    return make(args)


if __name__ == "__main__":
    sys.exit(main())
