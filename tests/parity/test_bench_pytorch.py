#!/usr/bin/python3
"""test_bench_pytorch.py: bench/pytorch_train_step.py reports what it measured (TAP).

Runs the benchmark on the tiny "small" ResNet (batch 4, 16x16, 3 steps) twice:
plain, and with --tuned.  Checks that it prints exactly one JSON line holding
every documented field, that images/s is batch / median step time and the
median lies between min and max, that peak RSS covers at least weights +
gradients + momentum (3 x 4 bytes x 11,173,962 parameters), that the loss is
finite, that the plain run uses glibc's malloc and --tuned really runs under
jemalloc with MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 (seen in the
process's own memory map) and reaches the same loss after 4 steps, that
--forward-only reports mode "forward", and that --profile K prints K ops by
their input shapes (the batch-4 convolutions among them) on stderr, leaving
the JSON line alone.
"""

import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "bench", "pytorch_train_step.py")
FIELDS = ("bench arch mode batch size in_channels classes threads channels_last warmup steps images_per_s "
          "step_s_median step_s_min step_s_mean step_s_max peak_rss_mib last_loss sgd_lr torch mkldnn_enabled "
          "onednn cpu_capability aten_parallel blas openblas_core openblas_threading openblas_coretype_env "
          "omp_wait_policy allocator malloc_conf cpu").split()
SMALL_PARAMS = 11173962

sys.path.insert(0, os.path.join(HERE, ".."))  # taplib
from taplib import done, ok, skip  # noqa: E402


def run(extra, want_stderr=False):
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    env.pop("LD_PRELOAD", None)
    env.pop("MALLOC_CONF", None)
    cmd = [sys.executable, BENCH, "--arch", "small", "--batch", "4", "--size", "16", "--threads", "2",
           "--steps", "3", "--warmup", "1", "--json"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = r.stdout.splitlines()
    tag = "bench %s" % " ".join(extra) if extra else "bench"
    ok(r.returncode == 0 and len(lines) == 1, "%s exits 0 and prints one line (got %d)%s"
       % (tag, len(lines), "" if r.returncode == 0 else ": " + r.stderr.strip()[-300:]))
    try:
        res = json.loads(lines[0]) if lines else None
    except ValueError:
        ok(False, "%s: the line is JSON" % tag)
        res = None
    return (res, r.stderr) if want_stderr else res


def check_profile():
    res, err = run(["--profile", "6"], want_stderr=True)
    lines = err.splitlines()
    head = [i for i, line in enumerate(lines) if line.startswith("PyTorch profile, one step:")]
    rows = lines[head[0] + 1:head[0] + 7] if head else []
    parsed = []
    for line in rows:
        f = line.split()
        try:
            parsed.append((float(f[0]), f[1], float(f[2].rstrip("%")), f[5], f[6:]))
        except (IndexError, ValueError):
            pass
    ok(res is not None and len(head) == 1 and len(parsed) == 6,
       "--profile 6: the JSON line, a header and 6 rows on stderr (got %d)" % len(parsed))
    ms = [p[0] for p in parsed]
    ok(ms == sorted(ms, reverse=True) and 0 < sum(p[2] for p in parsed) <= 100.05,
       "--profile: rows by self time, their shares within 100%% (%s ms)" % ms)
    conv = [p for p in parsed if "convolution" in p[3] and p[4] and p[4][0].startswith("4x")]
    ok(conv, "--profile: a convolution row names its batch-4 input shape (%s)"
       % ("; ".join("%s %s" % (p[3], " ".join(p[4])) for p in conv[:1]) or "none"))


def check(res, tag, mode):
    if res is None:
        return
    missing = [k for k in FIELDS if k not in res]
    ok(not missing, "%s: every documented field present%s" % (tag, " (missing %s)" % missing if missing else ""))
    if missing:
        return
    ok(res["mode"] == mode and res["arch"] == "small" and res["batch"] == 4 and res["steps"] == 3,
       "%s: mode %s, arch small, batch 4, 3 steps" % (tag, res["mode"]))
    ok(math.isclose(res["images_per_s"], 4 / res["step_s_median"], rel_tol=1e-12)
       and res["step_s_min"] <= res["step_s_median"] <= res["step_s_max"]
       and res["step_s_min"] <= res["step_s_mean"] <= res["step_s_max"] and res["step_s_min"] > 0,
       "%s: images/s %.2f = 4 / median step %.4f s, min <= median, mean <= max" %
       (tag, res["images_per_s"], res["step_s_median"]))
    floor = (3 if mode == "train" else 1) * 4 * SMALL_PARAMS / 2 ** 20
    ok(res["peak_rss_mib"] >= floor, "%s: peak RSS %.0f MiB >= %.0f MiB of weights%s"
       % (tag, res["peak_rss_mib"], floor, " + gradients + momentum" if mode == "train" else ""))
    if mode == "train":
        ok(math.isfinite(res["last_loss"]) and res["sgd_lr"] == 0.1 * 4 / 256,
           "%s: finite loss %.4f, lr 0.1 * 4 / 256" % (tag, res["last_loss"]))


def main():
    try:
        import torch
        import torchvision
        del torch, torchvision
    except ImportError as e:
        print("1..0 # SKIP needs torch and torchvision (%s); run with /usr/bin/python3" % e)
        return 0
    plain = run([])
    check(plain, "plain", "train")
    if plain:
        ok(plain["allocator"] == "glibc" and plain["malloc_conf"] is None, "plain: glibc malloc")
    if any(os.path.exists(p) for p in ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
                                       "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2")):
        tuned = run(["--tuned"])
        check(tuned, "tuned", "train")
        if tuned:
            ok(tuned["allocator"] == "jemalloc" and tuned["malloc_conf"] == "dirty_decay_ms:-1,muzzy_decay_ms:-1",
               "--tuned: jemalloc mapped, MALLOC_CONF as documented")
            if plain:
                ok(tuned["last_loss"] == plain["last_loss"], "--tuned computes the same: loss after 4 steps %.7g = %.7g"
                   % (tuned["last_loss"], plain["last_loss"]))
    else:
        skip("--tuned: libjemalloc2 not installed (apt-get install libjemalloc2)")
    fwd = run(["--forward-only"])
    check(fwd, "forward", "forward")
    check_profile()
    done()


if __name__ == "__main__":
    sys.exit(main())
