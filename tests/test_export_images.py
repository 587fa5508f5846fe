"""test_export_images.py: `relab export-images` against an independent reading
of the IDX files (gzip + numpy) and decoding of the JPEGs (PIL): folder layout,
class folder order, file counts per class, labels.txt, pixel fidelity of the
RGB JPEGs, and exit codes 0/1/2.  Prints TAP."""
import gzip
import os
import subprocess
import sys
import tempfile

FM = "/usr/share/datasets/fashion-mnist/"
IMAGES = FM + "t10k-images-idx3-ubyte.gz"
LABELS = FM + "t10k-labels-idx1-ubyte.gz"
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]

from taplib import done, ok  # noqa: E402


def read_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def run(*args):
    p = subprocess.run([os.environ["RELAB"], "export-images", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    relab = os.environ.get("RELAB")
    if not relab or not os.path.exists(relab) or not os.path.exists(IMAGES):
        print("1..0 # SKIP relab binary or Fashion-MNIST (dataset-fashion-mnist) missing")
        return 0
    try:
        import numpy as np
        from PIL import Image
    except ImportError as e:
        print("1..0 # SKIP %s" % e)
        return 0
    images, labels = read_idx(IMAGES), read_idx(LABELS)

    rc, out, _ = run("--help")
    ok(rc == 0 and "usage: relab export-images" in out, "--help exits 0 with usage on stdout")
    rc, _, err = run()
    ok(rc == 2 and "required" in err, "no arguments: exit 2")
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, _ = run("--images", IMAGES, "--labels", LABELS, "-o", tmp, "--layout", "test")
        ok(rc == 2, "bad --layout: exit 2")
        rc, _, _ = run("--images", IMAGES, "--labels", LABELS, "-o", tmp, "--limit", "-3")
        ok(rc == 2, "bad --limit: exit 2")
        rc, _, err = run("--images", IMAGES, "--labels", LABELS, "-o", tmp, "--classes", "a,b,c")
        ok(rc == 2 and "class names" in err, "3 class names for 10 classes: exit 2")
        rc, _, err = run("--images", FM + "missing.gz", "--labels", LABELS, "-o", tmp)
        ok(rc == 1 and "missing.gz" in err, "missing images file: exit 1 naming it")
        rc, _, err = run("--images", LABELS, "--labels", IMAGES, "-o", tmp)
        ok(rc == 1 and "dimensions" in err, "swapped files: exit 1 (%s)" % err.strip()[:100])

        # Train layout.
        n = 40
        d = os.path.join(tmp, "a", "train")
        rc, out, err = run("--images", IMAGES, "--labels", LABELS, "-o", d, "--limit", str(n))
        ok(rc == 0 and "wrote 40" in out, "train export of 40 images: exit 0 (%s)" % err.strip())
        folders = sorted(os.listdir(d))
        want = ["c%02d_%s" % (k, NAMES[k]) for k in range(10)]
        ok(folders == want, "class folders sorted = class order: %s" % folders[:3])
        counts = [len(os.listdir(os.path.join(d, f))) for f in want]
        ok(counts == list(np.bincount(labels[:n], minlength=10)), "files per class = numpy label counts %s" % counts)
        maxdiff, meandiff, chan, shapes = 0, 0.0, 0, True
        for i in range(n):
            f = os.path.join(d, want[labels[i]], "%s_%08d.JPEG" % (want[labels[i]], i))
            im = Image.open(f)
            shapes &= im.mode == "RGB" and im.size == (28, 28) and im.format == "JPEG"
            a = np.asarray(im).astype(np.int32)
            chan = max(chan, int(np.abs(a[..., 0] - a[..., 1]).max()), int(np.abs(a[..., 0] - a[..., 2]).max()))
            dif = np.abs(a.mean(axis=2) - images[i].astype(np.int32))
            maxdiff = max(maxdiff, float(dif.max()))
            meandiff += float(dif.mean()) / n
        ok(shapes, "every file is a 28x28 RGB JPEG named by class and index")
        ok(chan <= 2, "grey: R, G, B agree within %d" % chan)
        ok(meandiff < 1.5 and maxdiff <= 20, "pixels match IDX: mean |diff| %.3f, max %.0f (quality 95)"
           % (meandiff, maxdiff))

        # Val layout with custom class names.
        v = os.path.join(tmp, "val")
        names = ",".join("k%d" % k for k in range(10))
        rc, out, err = run("--images", IMAGES, "--labels", LABELS, "-o", v, "--layout", "val", "--limit", "25",
                           "--classes", names, "--quality", "100")
        ok(rc == 0, "val export: exit 0 (%s)" % err.strip())
        files = sorted(os.listdir(v))
        ok(files == ["labels.txt"] + ["val_%08d.JPEG" % i for i in range(25)], "val files val_00000000..24 + labels.txt")
        with open(os.path.join(v, "labels.txt")) as f:
            got = f.read().split("\n")
        ok(got == ["c%02d_k%d" % (l, l) for l in labels[:25]] + [""], "labels.txt lists class folders in file order")
        a = np.asarray(Image.open(os.path.join(v, "val_00000007.JPEG"))).astype(np.int32).mean(axis=2)
        ok(np.abs(a - images[7]).max() <= 3, "quality 100: sample 7 within 3 grey levels")
    done()


if __name__ == "__main__":
    sys.exit(main())
