#!/usr/bin/python3
"""check_params.py: ResNet parameter counts and state_dict naming, from torchvision.

Without options it is a TAP test: for resnet18/34/50/101/152 (1000 classes) it
counts the parameters of the torchvision model (sum of numel over parameters,
BN running statistics and counters excluded) and compares the count with the
published number (torchvision docs; ResNet-50 25,557,032, ResNet-152
60,192,808) and with a closed-form count derived here from the architecture
(He et al. 2016, Table 1; torchvision's v1.5 bottleneck).  The "small"
variant (3x3 stem, no max-pool, 10 classes; 3 or 1 input channels) is counted
the same two ways.

  check_params.py [--json counts.json]
      TAP on stdout; --json also writes {"resnet18": 11689512, ...,
      "small": ..., "small_grey": ...} for the C test to compare with.
  check_params.py --keys resnet50 > keys.tsv
      every state_dict key in PyTorch's order, one per line:
      key <TAB> shape <TAB> dtype, shape as "64,3,7,7" ("scalar" for the
      rank-0 num_batches_tracked), dtype "float32" or "int64" as stored in a
      relab weight file.  Options --classes / --in-channels as in make_fixture.

Run with /usr/bin/python3 (the Python that sees Debian's torch).
"""

import argparse
import json
import os
import sys

# libgomp's threads spin while they wait; on a shared, oversubscribed machine
# that spinning steals the cores from the threads doing work (resnet50 fixture:
# 34 s instead of 4.4 s, identical output).  Passive waiting changes no result.
# It must be set before torch (and its OpenMP runtime) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))

# (block kind, blocks per stage) of torchvision's ResNets.
LAYOUT = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
    "small": ("basic", (2, 2, 2, 2)),
}


def closed_form_params(arch, classes, in_channels=3):
    """Parameter count from the architecture alone (no torch)."""
    kind, blocks = LAYOUT[arch]
    k = 3 if arch == "small" else 7
    n = in_channels * 64 * k * k + 2 * 64  # stem conv + its BN (weight, bias)
    inp = 64
    for stage, count in enumerate(blocks):
        planes = 64 << stage
        for b in range(count):
            stride = 2 if (stage > 0 and b == 0) else 1
            if kind == "basic":
                out = planes
                n += inp * planes * 9 + 2 * planes + planes * planes * 9 + 2 * planes
            else:
                out = 4 * planes
                n += inp * planes + 2 * planes + planes * planes * 9 + 2 * planes + planes * out + 2 * out
            if stride != 1 or inp != out:
                n += inp * out + 2 * out  # 1x1 projection shortcut + BN
            inp = out
    return n + inp * classes + classes


def counts():
    """{name: (arch, classes, in_channels)} of everything check_params counts."""
    table = {a: (a, 1000, 3) for a in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")}
    table["small"] = ("small", 10, 3)
    table["small_grey"] = ("small", 10, 1)
    return table


def shape_text(shape):
    return ",".join(str(d) for d in shape) if len(shape) else "scalar"


def print_keys(arch, classes, in_channels):
    import relab_torch
    model = relab_torch.build_model(arch, classes, in_channels)
    for key, t in model.state_dict().items():
        dtype = "float32" if t.is_floating_point() else str(t.dtype).replace("torch.", "")
        print("%s\t%s\t%s" % (key, shape_text(tuple(t.shape)), dtype))


def tap(json_path):
    try:
        import relab_torch
    except ImportError as e:
        print("1..0 # SKIP needs torch and torchvision (%s); run with /usr/bin/python3" % e)
        return 0
    n = failed = 0
    result = {}
    for name, (arch, classes, chans) in counts().items():
        model = relab_torch.build_model(arch, classes, chans)
        got = relab_torch.count_params(model)
        buffers = sum(b.numel() for b in model.buffers())
        result[name] = got
        checks = [("closed form", closed_form_params(arch, classes, chans))]
        if name in relab_torch.PARAM_COUNTS:
            checks.insert(0, ("published", relab_torch.PARAM_COUNTS[name]))
        for what, want in checks:
            n += 1
            good = got == want
            failed += not good
            print("%s %d - %s parameters: torchvision %s, %s %s (buffers %s excluded)"
                  % ("ok" if good else "not ok", n, name, format(got, ","), what, format(want, ","),
                     format(buffers, ",")), flush=True)
        del model
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
    print("1..%d" % n)
    return 1 if failed else 0


def main(argv=None):
    p = argparse.ArgumentParser(description="ResNet parameter counts (TAP) and state_dict key lists.")
    p.add_argument("--json", default=None, help="also write the counts to this JSON file")
    p.add_argument("--keys", default=None, choices=sorted(LAYOUT), help="print key<TAB>shape<TAB>dtype for this arch")
    p.add_argument("--classes", type=int, default=None, help="with --keys: classes (default 1000; small: 10)")
    p.add_argument("--in-channels", type=int, default=3, help="with --keys: input channels")
    args = p.parse_args(argv)
    if args.keys:
        print_keys(args.keys, args.classes, args.in_channels)
        return 0
    return tap(args.json)


if __name__ == "__main__":
    sys.exit(main())
