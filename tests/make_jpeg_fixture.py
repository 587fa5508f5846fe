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
OUTDIR/classes.tsv                   index, wnid, name (the classes.tsv format of docs/method.md)
OUTDIR/bad/                          truncated.JPEG, corrupt.JPEG, png.JPEG
OUTDIR/extra/                        progressive, 4:4:4, restart-marker, 4:2:2 JPEGs
OUTDIR/png/                          PNGs of every colour type, Adam7, 16-bit (kind "png")
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


def write_png(path, arr, ctype, depth, interlace=False, palette=None):
    """An independent little PNG encoder (zlib + filters) for what Pillow
    cannot write: Adam7 interlacing, 16-bit RGB, every filter type.  arr is
    H x W x C of sample values; filters cycle 0..4 row by row."""
    import struct
    import zlib

    h, w = arr.shape[:2]
    ch = arr.shape[2]

    def pack_row(row):  # row: W x C samples -> bytes
        if depth == 16:
            return b"".join(struct.pack(">H", int(v)) for v in row.reshape(-1))
        if depth == 8:
            return bytes(row.reshape(-1).astype(np.uint8))
        bits = "".join(format(int(v), "0%db" % depth) for v in row.reshape(-1))
        bits += "0" * (-len(bits) % 8)
        return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))

    def paeth(a, b, c):
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else (b if pb <= pc else c)

    bpp = max(1, ch * depth // 8)
    out = bytearray()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] \
        if interlace else [(0, 0, 1, 1)]
    k = 0
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prev = None
        for row in sub:
            raw = pack_row(row)
            f = k % 5
            k += 1
            enc = bytearray()
            for i, v in enumerate(raw):
                a = raw[i - bpp] if i >= bpp else 0
                b = prev[i] if prev is not None else 0
                c = prev[i - bpp] if prev is not None and i >= bpp else 0
                pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
                enc.append((v - pred) & 255)
            out += bytes([f]) + enc
            prev = raw

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    if palette is not None:
        png += chunk(b"PLTE", bytes(palette.astype(np.uint8).reshape(-1)))
    png += chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def make_pngs(out, imgs):
    """PNGs of every colour type, with Pillow's convert('RGB') or the encoded
    array as reference.  Returns [(rel, rgb uint8 H x W x 3)]."""
    os.makedirs(os.path.join(out, "png"), exist_ok=True)
    base = collage(imgs, 60, 37, 29)  # odd sizes exercise partial Adam7 blocks
    refs = []

    def pil(name, im, **kw):
        rel = "png/%s.png" % name
        im.save(os.path.join(out, rel), **kw)
        refs.append((rel, np.asarray(Image.open(os.path.join(out, rel)).convert("RGB"))))

    pil("rgb8", base)
    pil("rgba", base.convert("RGBA"))
    pil("gray8", base.convert("L"))
    pil("gray1", base.convert("1"))
    pil("graya", base.convert("LA"))
    pil("pal8", base.quantize(200))
    pil("pal4", base.quantize(16), bits=4)
    a = np.asarray(base)
    rel = "png/rgb8_adam7.png"
    write_png(os.path.join(out, rel), a, 2, 8, interlace=True)
    refs.append((rel, a))
    a16 = a.astype(np.uint16) * 257 + np.arange(a.size, dtype=np.uint16).reshape(a.shape) % 200
    rel = "png/rgb16_adam7.png"
    write_png(os.path.join(out, rel), a16, 2, 16, interlace=True)
    refs.append((rel, (a16 >> 8).astype(np.uint8)))
    idx = (a[:, :, 0] // 64).astype(np.uint8)[:, :, None]
    pal = np.array([[0, 0, 0], [200, 10, 10], [10, 200, 10], [10, 10, 200]])
    rel = "png/pal2_adam7.png"
    write_png(os.path.join(out, rel), idx, 3, 2, interlace=True, palette=pal)
    refs.append((rel, pal[idx[:, :, 0]].astype(np.uint8)))
    g4 = (a[:, :, 1] // 16)[:, :, None]
    rel = "png/gray4.png"
    write_png(os.path.join(out, rel), g4, 0, 4)
    refs.append((rel, np.repeat(g4 * 17, 3, axis=2).astype(np.uint8)))
    # Damaged: a flipped byte in the image data (CRC), and a cut file.
    good = open(os.path.join(out, "png/rgb8.png"), "rb").read()
    bad = bytearray(good)
    bad[good.find(b"IDAT") + 20] ^= 0x55
    open(os.path.join(out, "bad/crc.png"), "wb").write(bytes(bad))
    open(os.path.join(out, "bad/cut.png"), "wb").write(good[: len(good) * 2 // 3])
    return refs


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
    for n, (rel, arr) in enumerate(make_pngs(out, imgs)):
        ref = "ref/png%d.rgb" % n
        open(os.path.join(out, ref), "wb").write(np.ascontiguousarray(arr, np.uint8).tobytes())
        man.append((rel, "png", arr.shape[1], arr.shape[0], ref))
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
        for n, rel in enumerate(files + ["bad/png.JPEG", "png/rgb8_adam7.png"]):
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
