#!/usr/bin/python3
"""make_jpeg_fixture.py: builds a small ImageNet-style folder from real
Fashion-MNIST images, plus Pillow/torchvision reference outputs, for
tests/test_jpeg.c, tests/test_augment.c and tests/test_imagenet.c.

usage: make_jpeg_fixture.py OUTDIR [--torch]

OUTDIR/train/WNID/*.{JPEG,jpg,jpeg}  3 classes of colourised Fashion-MNIST
                                     collages upsampled to ImageNet-like sizes,
                                     plus a grayscale and an Adobe CMYK JPEG
OUTDIR/val/ILSVRC2012_val_%08d.JPEG  flat validation folder
OUTDIR/val_labels.txt                one WNID per line, in file-name order
OUTDIR/classes.tsv                   index, wnid, name (like shared/imagenet)
OUTDIR/bad/                          truncated.JPEG, corrupt.JPEG, png.JPEG
OUTDIR/extra/                        progressive, 4:4:4, restart-marker, 4:2:2 JPEGs
OUTDIR/ref/manifest.tsv              relpath  kind  width  height  reffile
   kind "rgb":     Pillow decode + convert('RGB'), raw uint8 HWC
   kind "draftN":  Pillow draft decode at scale 1/N (libjpeg DCT scaling)
   kind "eval":    (--torch) torchvision Resize(256)+CenterCrop(224)+ToTensor,
                   raw float32 HWC in [0,1]
   kind "rrc":     (--torch) crop + flip given as x,y,w,h,flip in reffile's
                   name; torchvision resized_crop(224)+hflip, float32 HWC
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

WNIDS = ["n01440764", "n01443537", "n01484850"]
SIZES = [(500, 375), (375, 500), (60, 90), (333, 250), (224, 224), (800, 600)]


def fashion(n):
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        data = f.read(16 + 28 * 28 * n)
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)


def collage(imgs, k, w, h):
    """A 2x2 tile of four Fashion-MNIST images, each channel a different tint,
    upsampled to w x h: real edges and texture, in colour."""
    a, b, c, d = (imgs[(4 * k + i) % len(imgs)].astype(np.float32) for i in range(4))
    grid = np.block([[a, b], [c, d]])  # 56 x 56
    yy, xx = np.mgrid[0:56, 0:56].astype(np.float32) / 55.0
    rgb = np.stack([grid, 0.6 * grid + 100 * xx, 255 - 0.8 * grid * yy], axis=-1)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return Image.fromarray(rgb, "RGB").resize((w, h), Image.BICUBIC)


def main():
    out = sys.argv[1]
    torch_refs = "--torch" in sys.argv
    imgs = fashion(64)
    for d in ["train/" + w for w in WNIDS] + ["val", "bad", "ref"]:
        os.makedirs(os.path.join(out, d), exist_ok=True)
    files = []  # relative paths of good images
    exts = [".JPEG", ".jpg", ".jpeg", ".JPEG"]
    k = 0
    for ci, wnid in enumerate(WNIDS):
        for j in range(4):
            w, h = SIZES[(ci * 4 + j) % len(SIZES)]
            rel = "train/%s/%s_%d%s" % (wnid, wnid, j, exts[j])
            collage(imgs, k, w, h).save(os.path.join(out, rel), quality=90)
            files.append(rel)
            k += 1
    gray = collage(imgs, 20, 320, 240).convert("L")
    rel = "train/%s/%s_gray.JPEG" % (WNIDS[1], WNIDS[1])
    gray.save(os.path.join(out, rel), quality=90)
    files.append(rel)
    cmyk = collage(imgs, 21, 300, 280).convert("CMYK")
    rel = "train/%s/%s_cmyk.JPEG" % (WNIDS[2], WNIDS[2])
    cmyk.save(os.path.join(out, rel), quality=90)  # Pillow writes Adobe (inverted) CMYK
    files.append(rel)

    # Encodings ImageNet also has: progressive, 4:4:4 chroma, restart markers.
    os.makedirs(os.path.join(out, "extra"), exist_ok=True)
    extra = []
    for name, kw in [("progressive", dict(progressive=True)), ("yuv444", dict(subsampling=0)),
                     ("restart", dict(restart_marker_blocks=4)), ("q50_422", dict(quality=50, subsampling=1))]:
        rel = "extra/%s.JPEG" % name
        kw.setdefault("quality", 90)
        collage(imgs, 50 + len(extra), 413, 297).save(os.path.join(out, rel), **kw)
        extra.append(rel)

    val_labels = []
    for i in range(6):
        w, h = SIZES[(i + 1) % len(SIZES)]
        rel = "val/ILSVRC2012_val_%08d.JPEG" % (i + 1)
        collage(imgs, 30 + i, w, h).save(os.path.join(out, rel), quality=90)
        val_labels.append(WNIDS[(i * 2) % 3])
        files.append(rel)
    with open(os.path.join(out, "val_labels.txt"), "w") as f:
        f.write("".join(x + "\n" for x in val_labels))
    with open(os.path.join(out, "classes.tsv"), "w") as f:
        f.write("index\twnid\tname\n")
        for i, wnid in enumerate(WNIDS):
            f.write("%d\t%s\tclass %d\n" % (i, wnid, i))

    good = open(os.path.join(out, files[0]), "rb").read()
    with open(os.path.join(out, "bad/truncated.JPEG"), "wb") as f:
        f.write(good[: len(good) // 2])
    bad = bytearray(good)
    # Keep the headers, overwrite the entropy-coded data's start with marker junk.
    sos = bad.find(b"\xff\xda")
    for i in range(sos + 20, min(len(bad) - 2, sos + 400)):
        bad[i] = 0xFF if i % 2 == 0 else 0xC3
    with open(os.path.join(out, "bad/corrupt.JPEG"), "wb") as f:
        f.write(bytes(bad))
    collage(imgs, 40, 64, 48).save(os.path.join(out, "bad/png.JPEG"), format="PNG")

    man = []
    for n, rel in enumerate(files + extra):
        im = Image.open(os.path.join(out, rel))
        rgb = im.convert("RGB")
        ref = "ref/%d.rgb" % n
        open(os.path.join(out, ref), "wb").write(rgb.tobytes())
        man.append((rel, "rgb", rgb.width, rgb.height, ref))
    # DCT-scaled decodes by Pillow's draft mode (libjpeg scale 1/N, same IDCT).
    for rel in files[:1] + files[-8:-7] + extra:
        for s in (2, 4, 8):
            im = Image.open(os.path.join(out, rel))
            im.draft("RGB", (im.width // s, im.height // s))
            got = im.convert("RGB")
            ref = "ref/%s.draft%d.rgb" % (os.path.basename(rel), s)
            open(os.path.join(out, ref), "wb").write(got.tobytes())
            man.append((rel, "draft%d" % s, got.width, got.height, ref))
    if torch_refs:
        import torch
        from torchvision import transforms as T
        from torchvision.transforms import functional as F

        ev = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])
        for n, rel in enumerate(files):
            im = Image.open(os.path.join(out, rel)).convert("RGB")
            t = ev(im).permute(1, 2, 0).contiguous().numpy().astype(np.float32)
            ref = "ref/%d.eval.f32" % n
            t.tofile(os.path.join(out, ref))
            man.append((rel, "eval", 224, 224, ref))
        # Given crops (the C test draws them with relab's RNG and checks the
        # geometry separately): resized_crop + flip must match torchvision's.
        rng = np.random.RandomState(7)
        for n, rel in enumerate(files[:8]):
            im = Image.open(os.path.join(out, rel)).convert("RGB")
            cw = int(rng.randint(im.width // 3, im.width + 1))
            ch = int(rng.randint(im.height // 3, im.height + 1))
            x = int(rng.randint(0, im.width - cw + 1))
            y = int(rng.randint(0, im.height - ch + 1))
            flip = n % 2
            t = F.resized_crop(im, y, x, ch, cw, [224, 224])
            if flip:
                t = F.hflip(t)
            t = F.to_tensor(t).permute(1, 2, 0).contiguous().numpy().astype(np.float32)
            ref = "ref/%d.rrc_%d_%d_%d_%d_%d.f32" % (n, x, y, cw, ch, flip)
            t.tofile(os.path.join(out, ref))
            man.append((rel, "rrc", 224, 224, ref))
        del torch
    with open(os.path.join(out, "ref/manifest.tsv"), "w") as f:
        for m in man:
            f.write("%s\t%s\t%d\t%d\t%s\n" % m)


if __name__ == "__main__":
    main()
