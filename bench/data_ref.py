#!/usr/bin/python3
"""data_ref.py: the reference side of bench/data: makes N ImageNet-sized JPEGs
(500x375 by default, quality 90, Fashion-MNIST collages with photographic grain so they
compress like photos, ~100 kB) in DIR if missing, then times Pillow +
torchvision RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor +
Normalize on one core, in images per CPU-second.

usage: data_ref.py DIR N [SECONDS [WIDTH HEIGHT]]   (default 3 s, 500 x 375)
prints: pil_images_per_s <float>
"""
import gzip
import os
import sys
import time

import numpy as np
from PIL import Image


def make(d, n, w, h):
    os.makedirs(d, exist_ok=True)
    with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "rb") as f:
        imgs = np.frombuffer(f.read(16 + 784 * 4 * n), np.uint8, offset=16).reshape(-1, 28, 28)
    rng = np.random.RandomState(0)
    for i in range(n):
        p = os.path.join(d, "img_%04d.JPEG" % i)
        if os.path.exists(p):
            continue
        a, b, c, e = (imgs[(4 * i + k) % len(imgs)].astype(np.float32) for k in range(4))
        g = np.block([[a, b], [c, e]])
        rgb = np.stack([g, 0.6 * g + 60, 255 - 0.8 * g], -1).clip(0, 255).astype(np.uint8)
        im = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BICUBIC), np.float32)
        im = im + rng.normal(0, 10, im.shape)  # sensor-like grain: realistic entropy
        Image.fromarray(im.clip(0, 255).astype(np.uint8)).save(p, quality=90)


def main():
    d, n = sys.argv[1], int(sys.argv[2])
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    w, h = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (500, 375)
    make(d, n, w, h)
    import torch
    from torchvision import transforms as T

    torch.set_num_threads(1)
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".JPEG"))[:n]
    # CPU time of this process, not wall time: on a shared machine the wall
    # clock counts other jobs' time slices; CPU seconds are per-core work.
    done, t0 = 0, time.process_time()
    while True:
        for p in files:
            tf(Image.open(p).convert("RGB"))
            done += 1
        if time.process_time() - t0 >= secs:
            break
    print("pil_images_per_s %.2f" % (done / (time.process_time() - t0)))


if __name__ == "__main__":
    main()
