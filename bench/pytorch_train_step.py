#!/usr/bin/python3
"""pytorch_train_step.py: PyTorch's half of relab's train-step benchmark.

Measures torchvision ResNet throughput on the CPU for one fixed, resident batch
(no data loading): a train step is forward + mean cross-entropy + backward +
torch.optim.SGD step (momentum 0.9, weight decay 1e-4, lr 0.1 * batch / 256,
the linear-scaling rule of Goyal et al. 2017); --forward-only measures
inference instead (model.eval(), torch.no_grad()).  Reports images/s from the
median step time after the warm-up steps, the min/mean/max step times, peak
RSS (getrusage ru_maxrss, MiB: the whole process, model and batch included),
and the backends torch ran on (oneDNN, ATen's CPU capability, the BLAS library
and OpenBLAS core, the allocator).  One more step runs under oneDNN's verbose
mode, whose lines give the instruction set oneDNN dispatched to and the
convolution implementations it ran ("jit:avx2", "brgconv:avx512_core", ...):
what the figure was measured on, not what was asked for.

--isa caps the vector instruction set, so that PyTorch can be compared with a
BLAS held to the same one (relab's OpenBLAS core): AVX2 sets
ONEDNN_MAX_CPU_ISA=AVX2 and ATEN_CPU_CAPABILITY=avx2, AVX512_CORE sets
ONEDNN_MAX_CPU_ISA=AVX512_CORE (ATen keeps its own choice, at most AVX-512);
ALL (the default) leaves both unset.

  pytorch_train_step.py --arch resnet50 --batch 32 --size 224 --threads 2 \
      --steps 10 --warmup 2 [--channels-last] [--forward-only] [--json] [--tuned]
      [--isa AVX2|AVX512_CORE|ALL] [--profile K]

--json prints exactly one JSON line (fields below) and nothing else on stdout.
The "tuned" configuration runs with jemalloc, whose retained dirty pages avoid
re-faulting the large activation buffers every step:
  LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 \
      /usr/bin/python3 bench/pytorch_train_step.py ...
(Debian package libjemalloc2); --tuned does the same by re-executing itself
with those two variables set.  OPENBLAS_CORETYPE, OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS are honoured when set; the latter two default to
--threads.  Run with /usr/bin/python3 (the Python that sees Debian's torch).
"""

import argparse
import ctypes
import json
import os
import platform
import resource
import statistics
import sys
import time

JEMALLOC = "libjemalloc.so.2"
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
JEMALLOC_PATHS = ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2")


SMALL_BLOCKS = {"resnet8": 1, "resnet20": 3}

# --isa: the environment that holds oneDNN (and ATen's own vector kernels) to
# an instruction set; both libraries read it when torch is first used.
ISA_ENV = {
    "ALL": {},
    "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    "AVX512_CORE": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"},
}


def print_profile(prof, rows):
    """The `rows` costliest (op, input shapes) pairs of one profiled step by
    self time (the profiler's "self CPU time": wall time on the calling thread
    between the op's start and end, its OpenMP workers' share included, minus
    the ops it called), to stderr.  A
    convolution's shapes are its input (N, C, H, W) and weight (OC, C, K, K);
    convolution_backward's are dy, x and the weight: both gradients."""
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events)
    print("PyTorch profile, one step: %.1f ms self time in all ops" % (total / 1e3), file=sys.stderr)
    for e in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]:
        shapes = " ".join("x".join(map(str, s)) for s in e.input_shapes if s)
        print("  %8.2f ms %5.1f%% %3d calls  %-36s %s" % (e.self_cpu_time_total / 1e3,
              100.0 * e.self_cpu_time_total / total if total else 0.0, e.count, e.key, shapes), file=sys.stderr)


def build_small_resnet(arch, classes, in_channels):
    """relab's resnet8 / resnet20 (src/nn/resnet.c): a 3x3 stride-1 stem of 16
    channels with BN and ReLU, no max pool, three stages of torchvision basic
    blocks of 16, 32, 64 channels (1 or 3 blocks each; the first block of
    stages 2 and 3 has stride 2 and a 1x1 conv + BN shortcut), global average
    pool, fc.  Initialised as torchvision initialises its ResNets."""
    import torch
    from torch import nn
    from torchvision.models.resnet import BasicBlock

    layers = [nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)]
    inplanes = 16
    for stage, planes in enumerate((16, 32, 64)):
        for j in range(SMALL_BLOCKS[arch]):
            stride = 2 if stage > 0 and j == 0 else 1
            down = None
            if stride != 1 or inplanes != planes:
                down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
            layers.append(BasicBlock(inplanes, planes, stride, down))
            inplanes = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def parse(argv):
    p = argparse.ArgumentParser(description="PyTorch CPU train-step throughput (images/s) and peak RSS.")
    p.add_argument("--arch", default="resnet50",
                   help="resnet18/34/50/101/152, small (resnet18 for 32x32), resnet8 or resnet20 (default resnet50)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224, help="input height = width (default 224)")
    p.add_argument("--classes", type=int, default=None, help="default 1000 (small: 10)")
    p.add_argument("--in-channels", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--steps", type=int, default=10, help="timed steps after the warm-up (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed first steps (default 2)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format for model and input")
    p.add_argument("--forward-only", action="store_true", help="inference: eval mode, no_grad, no optimizer")
    p.add_argument("--json", action="store_true", help="print one JSON line only")
    p.add_argument("--tuned", action="store_true", help="re-run under jemalloc (LD_PRELOAD, MALLOC_CONF)")
    p.add_argument("--isa", choices=sorted(ISA_ENV), default="ALL",
                   help="most capable vector ISA oneDNN and ATen may use (default ALL: their own choice)")
    p.add_argument("--profile", type=int, default=0, metavar="K",
                   help="after timing, profile one more step and print its K costliest ops, "
                        "per input shapes, to stderr")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.batch < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1 or args.size < 1:
        p.error("--batch, --steps, --threads, --size must be >= 1 and --warmup >= 0")
    if not args.forward_only and args.batch < 2:
        p.error("--batch must be >= 2 for a train step (batch-norm statistics)")
    return args


def reexec_tuned():
    """With --tuned, restart once under jemalloc unless it is already preloaded."""
    if JEMALLOC in os.environ.get("LD_PRELOAD", ""):
        return
    if not any(os.path.exists(p) for p in JEMALLOC_PATHS):
        sys.exit("pytorch_train_step.py: --tuned needs %s; hint: apt-get install libjemalloc2" % JEMALLOC)
    env = dict(os.environ)
    env["LD_PRELOAD"] = (JEMALLOC + " " + env.get("LD_PRELOAD", "")).strip()
    env["MALLOC_CONF"] = JEMALLOC_CONF
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def mapped_libraries():
    """Paths of the shared libraries mapped into this process."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ".so" in parts[5]:
                    libs.add(parts[5])
    except OSError:
        pass
    return sorted(libs)


def openblas_info(libs):
    """(library path, core name, threading) of a loaded OpenBLAS, or Nones."""
    for path in libs:
        if "openblas" in os.path.basename(path):
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_parallel.restype = ctypes.c_int
                par = {0: "sequential", 1: "pthreads", 2: "openmp"}.get(lib.openblas_get_parallel(), "unknown")
                return path, lib.openblas_get_corename().decode(), par
            except (OSError, AttributeError):
                return path, None, None
    return None, None, None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def backend_info(torch):
    cfg = torch.__config__.show()
    capability = next((line.split(":", 1)[1].strip() for line in cfg.splitlines() if "CPU capability" in line), None)
    onednn = next((line.strip(" -") for line in cfg.splitlines() if "MKL-DNN" in line or "oneDNN" in line), None)
    par = torch.__config__.parallel_info()
    par_backend = next((line.split(":", 1)[1].strip() for line in par.splitlines()
                        if line.startswith("ATen parallel backend")), None)
    libs = mapped_libraries()
    blas_path, core, blas_par = openblas_info(libs)
    jemalloc = any("jemalloc" in os.path.basename(p) for p in libs)
    return {
        "torch": torch.__version__,
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "onednn": onednn,
        "cpu_capability": capability,
        "aten_parallel": par_backend,
        "blas": blas_path,
        "openblas_core": core,
        "openblas_threading": blas_par,
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "allocator": "jemalloc" if jemalloc else "glibc",
        "malloc_conf": os.environ.get("MALLOC_CONF") if jemalloc else None,
        "cpu": cpu_model(),
    }


def onednn_dispatch(torch, step):
    """(ISA line, sorted convolution implementations) oneDNN reports in its
    verbose mode while step() runs.  The verbose lines go to file descriptor
    1, so it is pointed at a temporary file meanwhile (stdout stays clean for
    --json)."""
    import tempfile
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+") as f:
        os.dup2(f.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                step()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        f.seek(0)
        isa, impls = None, set()
        for line in f:
            fields = line.rstrip("\n").split(",")
            if len(fields) > 3 and fields[1:3] == ["info", "cpu"] and fields[3].startswith("isa:"):
                isa = ",".join(fields[3:])[4:]
            elif len(fields) > 4 and fields[1] == "exec" and fields[3] == "convolution":
                impls.add(fields[4])
    return isa, sorted(impls)


def run(args):
    import torch
    import torch.nn.functional as F
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    import relab_torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.arch in SMALL_BLOCKS:
        classes = args.classes or 10
        model = build_small_resnet(args.arch, classes, args.in_channels)
    else:
        classes = args.classes or relab_torch.default_classes(args.arch)
        model = relab_torch.build_model(args.arch, classes, args.in_channels)
    x = torch.randn(args.batch, args.in_channels, args.size, args.size)
    y = torch.randint(0, classes, (args.batch,))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    lr = 0.1 * args.batch / 256
    opt = None
    if args.forward_only:
        model.eval()
    else:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)

    def step():
        if args.forward_only:
            with torch.no_grad():
                model(x)
            return float("nan")
        opt.zero_grad(set_to_none=True)
        step_loss = F.cross_entropy(model(x), y)
        step_loss.backward()
        opt.step()
        return step_loss.item()

    times, loss = [], float("nan")
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        loss = step()
        t1 = time.perf_counter()
        if i >= args.warmup:
            times.append(t1 - t0)
    if args.profile:
        # One extra, untimed step under the profiler: where PyTorch spends its
        # time, per op and input shapes, so that each convolution lines up
        # with a row of relab's own --profile (which names its shapes).
        with torch.autograd.profiler.profile(record_shapes=True) as prof:
            step()
        print_profile(prof, args.profile)
    isa, conv_impls = onednn_dispatch(torch, step)
    med = statistics.median(times)
    result = {
        "bench": "pytorch_train_step",
        "arch": args.arch,
        "mode": "forward" if args.forward_only else "train",
        "batch": args.batch,
        "size": args.size,
        "in_channels": args.in_channels,
        "classes": classes,
        "threads": args.threads,
        "channels_last": args.channels_last,
        "warmup": args.warmup,
        "steps": args.steps,
        "images_per_s": args.batch / med,
        "step_s_median": med,
        "step_s_min": min(times),
        "step_s_mean": statistics.fmean(times),
        "step_s_max": max(times),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "last_loss": loss,
        "sgd_lr": None if args.forward_only else lr,
        "isa_cap": args.isa,
        "onednn_isa": isa,
        "onednn_conv_impls": conv_impls,
    }
    result.update(backend_info(torch))
    return result


def main(argv=None):
    args = parse(argv)
    os.environ.update(ISA_ENV[args.isa])
    if args.tuned:
        reexec_tuned()
    # OpenMP and OpenBLAS read their thread counts when they load, i.e. at "import torch".
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    r = run(args)
    if args.json:
        print(json.dumps(r, sort_keys=True))
        return 0
    print("%s %s, batch %d, %dx%dx%d, %d threads%s: %.2f images/s (median step %.3f s; min %.3f, mean %.3f, "
          "max %.3f over %d steps after %d warm-up)"
          % (r["arch"], r["mode"], r["batch"], r["in_channels"], r["size"], r["size"], r["threads"],
             ", channels-last" if r["channels_last"] else "", r["images_per_s"], r["step_s_median"],
             r["step_s_min"], r["step_s_mean"], r["step_s_max"], r["steps"], r["warmup"]))
    print("peak RSS %.0f MiB; torch %s, oneDNN %s (%s), CPU capability %s, ATen %s; BLAS %s (core %s, %s); "
          "allocator %s%s; CPU %s"
          % (r["peak_rss_mib"], r["torch"], "on" if r["mkldnn_enabled"] else "off", r["onednn"],
             r["cpu_capability"], r["aten_parallel"], r["blas"], r["openblas_core"], r["openblas_threading"],
             r["allocator"], " (%s)" % r["malloc_conf"] if r["malloc_conf"] else "", r["cpu"]))
    print("ISA cap %s; oneDNN ran on: %s; its convolutions: %s"
          % (r["isa_cap"], r["onednn_isa"], ", ".join(r["onednn_conv_impls"]) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
