#!/usr/bin/python3
"""relab_torch.py: move ResNet weights between PyTorch (torchvision) and relab.

relab weight file (docs/weights.md): one HDF5 file, one dataset per entry of the
torchvision model's state_dict(), named exactly like the key and placed at the
root ("conv1.weight", "layer1.0.downsample.0.weight", "fc.bias": the dots are
part of the dataset name, they are not nested groups).  Floating tensors are
float32 in PyTorch's own shape and memory order ((OC, C, KH, KW) for conv,
(out, in) for fc, (C,) for BN); "num_batches_tracked" is an int64 scalar
(shape ()).  The root may carry an optional string attribute "arch"; readers
ignore attributes they do not know.  A file with a missing, extra, mis-shaped
or mis-typed tensor is refused, by relab and by load_relab() below.

Importable (from scripts/, or with scripts/ on sys.path):
    build_model(arch, num_classes=None, in_channels=3) -> torch.nn.Module
    save_relab(model, path, arch=None)     write a relab weight file
    load_relab(model, path)                strict load (weight file, or a relab
                                           checkpoint's model/), raises RelabFormatError
    describe_file(path) -> (arch, classes, in_channels)
    write_state_dict(group, sd) / read_state_dict(group, ref_sd, where)
                                           the same, into/from an h5py group
CLI (run with /usr/bin/python3, the Python that sees Debian's torch):
    relab_torch.py export --arch resnet50 [--seed S] [--from model.pt] -o w.h5
    relab_torch.py import w.h5|ckpt-0000001000.h5 [--arch resnet50] [-o model.pt]

Only torch, torchvision, numpy and h5py are used.  Not thread-safe (h5py files).
"""

import argparse
import os
import sys

import h5py
import numpy as np
import torch
import torchvision

IMAGENET_ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
ARCHS = IMAGENET_ARCHS + ("small",)

# Published parameter counts (torchvision's model documentation), 1000 classes,
# 3 input channels.  Parameters only, buffers excluded.
PARAM_COUNTS = {
    "resnet18": 11689512,
    "resnet34": 21797672,
    "resnet50": 25557032,
    "resnet101": 44549160,
    "resnet152": 60192808,
}


MAX_PROBLEMS_SHOWN = 8


class RelabFormatError(ValueError):
    """A relab weight file (or fixture group) does not match the model."""


def default_classes(arch):
    return 10 if arch == "small" else 1000


def build_model(arch, num_classes=None, in_channels=3):
    """torchvision ResNet with torchvision's own initialisation.

    "small" is resnet18 for tiny images (CIFAR-style 32x32, or 28x28 grey with
    in_channels=1): conv1 = Conv2d(in_channels, 64, 3, 1, 1, bias=False) and no
    max-pool; 10 classes unless num_classes is given.  For the ImageNet
    architectures in_channels != 3 replaces conv1 by a 7x7/2 conv with that
    many inputs.  The replaced conv1 is re-initialised the way torchvision
    initialises every conv (Kaiming normal, fan_out, ReLU gain), so the
    variant is initialised like the original; this draws from torch's global
    RNG after the model itself, which keeps build_model deterministic under
    torch.manual_seed.
    """
    if arch not in ARCHS:
        raise ValueError("unknown arch '%s' (known: %s)" % (arch, ", ".join(ARCHS)))
    if num_classes is None:
        num_classes = default_classes(arch)
    base = "resnet18" if arch == "small" else arch
    model = getattr(torchvision.models, base)(num_classes=num_classes)
    conv1 = None
    if arch == "small":
        conv1 = torch.nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = torch.nn.Identity()
    elif in_channels != 3:
        conv1 = torch.nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if conv1 is not None:
        torch.nn.init.kaiming_normal_(conv1.weight, mode="fan_out", nonlinearity="relu")
        model.conv1 = conv1
    return model


def count_params(model):
    """Sum of numel over parameters (BN running statistics are buffers: excluded)."""
    return sum(p.numel() for p in model.parameters())


def _want_dtype(tensor):
    """The on-disk dtype for a state_dict tensor."""
    if tensor.is_floating_point():
        return np.dtype("float32")
    if tensor.dtype == torch.int64:
        return np.dtype("int64")
    raise RelabFormatError("state_dict tensor of dtype %s has no relab encoding" % tensor.dtype)


def write_state_dict(group, state_dict):
    """Write every entry of state_dict as a dataset of group (an h5py File or Group).

    Floating tensors are stored as float32 (a float64 model is rounded), int64
    buffers (num_batches_tracked) as int64 with the tensor's own shape, which
    is () for the scalar counter.  Datasets are written in state_dict order, so
    HDF5's creation order matches PyTorch's key order.
    """
    for key, tensor in state_dict.items():
        if "/" in key:
            raise RelabFormatError("state_dict key '%s' contains '/', which HDF5 would read as a group" % key)
        arr = tensor.detach().cpu().contiguous().numpy().astype(_want_dtype(tensor), copy=False)
        group.create_dataset(key, data=arr)


def _datasets_under(group):
    """Names (relative to group) of every dataset below group, nested ones included."""
    names = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            names.append(name)

    group.visititems(visit)
    return names


def read_state_dict(group, reference, where):
    """Read a state_dict from group, strictly against reference (a model's state_dict()).

    Returns {key: torch.Tensor} with reference's dtypes.  Raises RelabFormatError
    naming every missing, extra, mis-shaped or mis-typed tensor; where (a file
    name, or "file.h5:weights/") starts the message.
    """
    found = set(_datasets_under(group))
    missing, wrong, extra = [], [], []
    out = {}
    for key, ref in reference.items():
        if key not in found:
            missing.append("missing tensor '%s' (expected shape %s)" % (key, tuple(ref.shape)))
            continue
        ds = group[key]
        want = _want_dtype(ref)
        if tuple(ds.shape) != tuple(ref.shape):
            wrong.append("tensor '%s' has shape %s, the model wants %s" % (key, tuple(ds.shape), tuple(ref.shape)))
        elif ds.dtype != want:
            wrong.append("tensor '%s' is stored as %s, the format wants %s" % (key, ds.dtype, want))
        else:
            out[key] = torch.from_numpy(np.array(ds[()], dtype=want)).to(ref.dtype)
    for name in sorted(found - set(reference)):
        hint = ""
        if "/" in name:
            hint = " (keys are root dataset names with dots, not nested groups)"
        extra.append("extra tensor '%s' (not in the model's state_dict)%s" % (name, hint))
    problems = missing + wrong + extra
    if problems:
        # A wrong architecture gives hundreds of problems; the first few name it.
        shown = problems[:MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append("... and %d more" % (len(problems) - len(shown)))
        raise RelabFormatError("%s: %d problem(s): %s; hint: write the file with save_relab() from a model of the "
                               "same architecture" % (where, len(problems), "; ".join(shown)))
    return out


def save_relab(model, path, arch=None):
    """Write model.state_dict() to path as a relab weight file.

    Written to path + ".tmp" and renamed, so an existing file is replaced only
    by a complete one (as relab's own writers do)."""
    tmp = path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            if arch is not None:
                f.attrs["arch"] = arch
            write_state_dict(f, model.state_dict())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open(path):
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise OSError("%s: cannot open as HDF5 (%s); hint: is it a relab weight file or checkpoint?" % (path, e)) from e


def weights_group(f):
    """(group, prefix) holding the state_dict in an open file: the root of a
    weight file, "model/" of a relab checkpoint (string dataset "format" =
    "relab-checkpoint ...", see src/train/checkpoint.h)."""
    fmt = f.get("format")
    if isinstance(fmt, h5py.Dataset) and fmt.shape == () and fmt.dtype.kind in "OS":
        text = fmt[()]
        text = text.decode() if isinstance(text, bytes) else str(text)
        if text.startswith("relab-checkpoint"):
            if not isinstance(f.get("model"), h5py.Group):
                raise RelabFormatError("%s: a relab checkpoint without a model/ group" % f.filename)
            return f["model"], "model/"
    return f, ""


def load_relab(model, path):
    """Load a relab weight file (or the model/ part of a relab checkpoint) into
    model, strictly.  Returns model.

    Raises RelabFormatError (a ValueError) naming the tensor when the file has a
    missing, extra, mis-shaped or mis-typed tensor; OSError when path cannot be
    opened as HDF5.  The model is left unchanged on error.
    """
    with _open(path) as f:
        group, prefix = weights_group(f)
        sd = read_state_dict(group, model.state_dict(), path + (":" + prefix if prefix else ""))
    model.load_state_dict(sd, strict=True)
    return model


def infer_arch(names):
    """The torchvision architecture whose state_dict has these keys, or None.

    Stage depths and block kind come from the layerS.B names; a 3x3 conv1
    means the small variant (only resnet18's layout has one here)."""
    keys = set(names)
    depths = []
    for s in range(1, 5):
        b = 0
        while "layer%d.%d.conv1.weight" % (s, b) in keys:
            b += 1
        depths.append(b)
    bottleneck = "layer1.0.conv3.weight" in keys
    table = {(False, (2, 2, 2, 2)): "resnet18", (False, (3, 4, 6, 3)): "resnet34",
             (True, (3, 4, 6, 3)): "resnet50", (True, (3, 4, 23, 3)): "resnet101",
             (True, (3, 8, 36, 3)): "resnet152"}
    return table.get((bottleneck, tuple(depths)))


def describe_file(path):
    """(arch or None, num_classes or None, in_channels or None) of a weight file
    or checkpoint: the "arch" attribute if present, else inferred from the keys."""
    with _open(path) as f:
        group, _ = weights_group(f)
        arch = f.attrs.get("arch")
        arch = arch.decode() if isinstance(arch, bytes) else arch
        conv1 = group.get("conv1.weight")
        if arch is None:
            arch = infer_arch(group.keys())
            if arch == "resnet18" and conv1 is not None and conv1.shape[2] == 3:
                arch = "small"
        classes = group["fc.bias"].shape[0] if "fc.bias" in group else None
        chans = conv1.shape[1] if conv1 is not None else None
    return arch, classes, chans


def _torch_state_dict(path):
    """A state_dict from a torch.save file (plain, or under 'state_dict'/'model')."""
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for k in ("state_dict", "model"):
        if isinstance(obj, dict) and k in obj and isinstance(obj[k], dict):
            obj = obj[k]
    # DataParallel / DistributedDataParallel checkpoints prefix every key.
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def cmd_export(args):
    torch.manual_seed(args.seed)
    model = build_model(args.arch, args.classes, args.in_channels)
    if args.from_pt:
        model.load_state_dict(_torch_state_dict(args.from_pt), strict=True)
    save_relab(model, args.output, arch=args.arch)
    sd = model.state_dict()
    print("%s: wrote %d tensors, %d parameters (%s, %d classes, %d input channels, %s)"
          % (args.output, len(sd), count_params(model), args.arch, model.fc.out_features,
             model.conv1.in_channels, "from " + args.from_pt if args.from_pt else "seed %d" % args.seed))
    return 0


def cmd_import(args):
    found, classes, chans = describe_file(args.input)
    arch = args.arch or found
    if arch is None:
        print("%s: not a torchvision ResNet layout (relab's CIFAR resnet8/20 have no torchvision counterpart); "
              "hint: pass --arch" % args.input, file=sys.stderr)
        return 2
    model = build_model(arch, args.classes or classes, args.in_channels or chans or 3)
    load_relab(model, args.input)
    print("%s: loaded %d tensors, %d parameters into torchvision %s"
          % (args.input, len(model.state_dict()), count_params(model), arch))
    if args.output:
        torch.save(model.state_dict(), args.output)
        print("%s: wrote torch state_dict" % args.output)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="Convert ResNet weights between PyTorch and relab's HDF5 format.")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="torchvision model (seeded init, or --from a torch.save file) -> relab .h5")
    e.add_argument("--arch", required=True, choices=ARCHS)
    e.add_argument("--seed", type=int, default=0, help="torch.manual_seed before building the model (default 0)")
    e.add_argument("--classes", type=int, default=None, help="number of classes (default 1000; small: 10)")
    e.add_argument("--in-channels", type=int, default=3)
    e.add_argument("--from", dest="from_pt", default=None, help="torch.save'd state_dict to export instead")
    e.add_argument("-o", "--output", required=True)
    i = sub.add_parser("import", help="relab .h5 weights or checkpoint -> torchvision model (strict), optionally "
                       "saved with torch.save")
    i.add_argument("input")
    i.add_argument("--arch", choices=ARCHS, default=None,
                   help="default: the file's 'arch' attribute, else inferred from its tensor names")
    i.add_argument("--classes", type=int, default=None, help="default: from fc.bias")
    i.add_argument("--in-channels", type=int, default=None, help="default: from conv1.weight")
    i.add_argument("-o", "--output", default=None, help="write the state_dict here with torch.save")
    args = p.parse_args(argv)
    try:
        return cmd_export(args) if args.cmd == "export" else cmd_import(args)
    except (RelabFormatError, OSError, RuntimeError, KeyError) as err:
        print("relab_torch %s: %s" % (args.cmd, err), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
