#!/usr/bin/python3
"""test_report.py: `relab report` against numbers computed here, independently.

Folders are built by this test (no training): an ablation's results.json and
metrics.csv files, a cleaning's JSON report and per-image table over IDX
images, JPEG files and pack shards.  The page is parsed as HTML and checked:
  - the Table 2 cells: medians over seeds, the difference to the baseline,
    95% Clopper-Pearson intervals (scipy's beta quantiles) and seed ranges;
  - per-class counts, the top (given label -> teacher) pairs and the gallery
    sizes recounted from the table; the gallery's choice (most confident first,
    classes in turn) re-derived from its documented rule;
  - every IDX thumbnail decodes to the IDX file's own pixels; JPEG thumbnails
    are the shorter-side resize and centre crop (PIL, within DCT-scaling error);
    pack shards give the same thumbnails as the files;
  - a single run folder, a missing image (listed, not shown), and errors that
    name the file: an empty folder, a damaged results.json, a report and table
    of two different cleanings.
"""
import base64
import gzip
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

from taplib import done, ok, relab_or_skip, skip_all

try:
    import numpy as np
    from PIL import Image
    from scipy.stats import beta
except ImportError as e:  # pragma: no cover
    skip_all("needs numpy, PIL and scipy: %s" % e)

RELAB = relab_or_skip()

tmp = tempfile.mkdtemp(prefix="relab-test-report-")
rng = np.random.default_rng(7)


def run(*args):
    p = subprocess.run([RELAB, "report"] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class Page(HTMLParser):
    """Elements with their attributes and text (enough for this page)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elems, self.stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": [p["tag"] + "." + p["attrs"].get("class", "")
                                                                       for p in self.stack]}
        self.elems.append(e)
        if tag not in ("img", "br", "meta", "input"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for e in self.stack:
            e["text"] += data

    def find(self, tag, **attrs):
        return [e for e in self.elems if e["tag"] == tag and all(e["attrs"].get(k) == v for k, v in attrs.items())]


def cp(k, n):
    lo = beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    hi = beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return 100 * lo, 100 * hi


# ---- an ablation: results.json with chosen counts, and metrics.csv ----
abl = os.path.join(tmp, "abl")
variants, epochs, seeds, N = ["baseline", "sigmoid", "clean"], [2, 4], [0, 1, 2], 2000
counts = {}
runs = []
for v in variants:
    for e in epochs:
        for s in seeds:
            name = "r8-%s-%dep-s%d" % (v, e, s)
            missing = (v, e, s) == ("clean", 4, 2)  # not finished: the cell is the median of 2
            k1, k2 = int(rng.integers(900, 1500)), int(rng.integers(500, 900))
            counts[(v, e, s)] = None if missing else (k1, k2)
            sc = [None, None] if missing else [
                {"correct": k, "total": N, "acc": k / N, "ci95": [0, 1]} for k in (k1, k2)]
            runs.append({"name": name, "model": "r8", "variant": v, "epochs": e, "seed": s, "scores": sc})
            d = os.path.join(abl, "runs", name)
            os.makedirs(d)
            with open(os.path.join(d, "metrics.csv"), "w") as f:
                f.write("epoch,step,lr,train_loss,train_top1,val_top1,val_top5,images_per_s,seconds,wait_fraction\n")
                for ep in range(1, e + 1):
                    f.write("%d,%d,0.1,1.0,%.4f,%.4f,0.9,100,1,0\n" % (ep, 10 * ep, 0.3 + 0.1 * ep, 0.2 + 0.05 * ep))
results = {"format": "relab-ablate-results 1", "grid": "g.grid", "models": ["r8"], "variants": variants,
           "baseline": "baseline", "epochs": epochs, "seeds": seeds, "metric": "clean test",
           "second_metric": "noisy test", "second_kind": "labels", "runs": runs}
with open(os.path.join(abl, "results.json"), "w") as f:
    json.dump(results, f)

rc, out, err = run(abl, "-o", os.path.join(tmp, "abl.html"))
ok(rc == 0 and out.strip() == os.path.join(tmp, "abl.html"), "an ablation folder: exit 0, the page's path on stdout "
   "(%d, %s)" % (rc, err.strip()))
page = Page(open(os.path.join(tmp, "abl.html")).read())
cells = page.find("td", **{"class": "cell n"})
ok(len(cells) == 3 * 2 * 2, "Table 2: one cell per variant, metric and schedule (%d)" % len(cells))
good, bad = 0, []
i = 0
for v in variants:
    for k in (0, 1):
        for e in epochs:
            c = cells[i]
            i += 1
            vals = [counts[(v, e, s)][k] for s in seeds if counts[(v, e, s)]]
            med = float(np.median([100 * (x / N) for x in vals]))  # acc = k/n first, as relab stores it
            macc = float(np.median([x / N for x in vals]))
            lo, hi = cp(int(np.floor(macc * N + 0.5)), N)  # round(median x n), halves up (C's llround)
            base = float(np.median([100 * (counts[("baseline", e, s)][k] / N) for s in seeds]))
            a = c["attrs"]
            want = (med, lo, hi, 100 * (min(vals) / N), 100 * (max(vals) / N))
            got = tuple(float(a["data-" + x]) for x in ("median", "lo", "hi", "min", "max"))
            text = re.sub(r"\s+", " ", c["text"]).strip()
            expect_text = "%.1f" % med + ("" if v == "baseline" else " (%+.1f)" % (med - base))
            expect_text += " 95%% CI %.1f\u2013%.1f %d seeds %.1f\u2013%.1f" % (lo, hi, len(vals), want[3], want[4])
            if all(abs(x - y) < 1e-5 for x, y in zip(got, want)) and text == expect_text:
                good += 1
            else:
                bad.append((v, k, e, got, want, text, expect_text))
ok(good == 12, "every cell: median, delta, 95%% Clopper-Pearson interval (scipy) and seed range (%s)" % bad[:1])
ok(len(page.find("svg")) == 2, "the scatter and the curves are inline SVG")
scatter_labels = [e["text"] for e in page.elems if e["tag"] == "text" and e["attrs"].get("class") == "label"]
ok(sorted(scatter_labels) == sorted("%s %dep" % (v, e) for v in variants for e in epochs),
   "the scatter's marks are labelled with variant and schedule (%s)" % scatter_labels)
html = open(os.path.join(tmp, "abl.html")).read()
ok(not re.search(r"""(src|href)\s*=\s*["'](https?:|//|file:)""", html) and "@import" not in html,
   "the page loads nothing from elsewhere (no http, file or protocol-relative URL)")

# ---- a cleaning over IDX images ----
demo = os.path.join(tmp, "demo")
data = os.path.join(demo, "data")
os.makedirs(data)
imgs = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz"), "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 300, 28, 28) + imgs.tobytes())
C = 10
label = rng.integers(0, C, 300)
truth = label.copy()
noisy = rng.random(300) < 0.3
truth[noisy] = (label[noisy] + rng.integers(1, C, noisy.sum())) % C
teacher = np.where(rng.random(300) < 0.6, truth, rng.integers(0, C, 300))
prob = np.round(rng.random(300), 3)
prob[10:14] = 0.5  # ties, broken by file order
agrees = (teacher == label).astype(int)
rows = []
for i in range(300):
    rows.append("train-images-idx3-ubyte.gz#%d\t%d\t%d\t%.9g\t\t%d\t%s\t%s\t%d" % (
        i, label[i], teacher[i], prob[i], agrees[i], "kept" if agrees[i] else "dropped",
        str(label[i]) if agrees[i] else "", truth[i]))
table = os.path.join(data, "clean-images.tsv")
with open(table, "w") as f:
    f.write("id\tlabel\tteacher\tteacher_prob\tlabel_prob\tagrees\taction\tnew_label\ttruth\n" + "\n".join(rows) + "\n")
flag = agrees == 0
per_total = np.bincount(label, minlength=C)
per_flag = np.bincount(label[flag], minlength=C)
per_flag_noisy = np.bincount(label[flag & (label != truth)], minlength=C)
pairs = {}
for i in np.nonzero(flag)[0]:
    pairs[(label[i], teacher[i])] = pairs.get((label[i], teacher[i]), 0) + 1
top = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
report = {"rule": "top1", "mode": "drop", "total": 300, "kept": int((~flag).sum()), "flagged": int(flag.sum()),
          "removed": int(flag.sum()), "relabeled": 0, "extra_added": 0,
          "flagged_per_class": per_flag.tolist(), "total_per_class": per_total.tolist(),
          "top_pairs": [{"label": int(a), "teacher": int(b), "count": n} for (a, b), n in top],
          "noise": {"changed": int(noisy.sum()), "flagged": int(flag.sum()), "hit": int((flag & noisy).sum()),
                    "restored": 0, "precision": 0, "recall": 0}}
with open(os.path.join(data, "clean-report.json"), "w") as f:
    json.dump(report, f)

CAP = 12
rc, out, err = run(demo, "--images", data, "--gallery", str(CAP))
ok(rc == 0, "a cleaning folder (data/clean-report.json, data/*.tsv found by header): exit 0 (%s)" % err.strip())
text = open(os.path.join(demo, "report.html")).read()
page = Page(text)
cls_rows = [e for e in page.elems if e["tag"] == "tr" and "data-class" in e["attrs"]]
got = {int(e["attrs"]["data-class"]): (int(e["attrs"]["data-total"]), int(e["attrs"]["data-flagged"]),
                                       int(e["attrs"]["data-flagged-noisy"])) for e in cls_rows}
want = {c: (int(per_total[c]), int(per_flag[c]), int(per_flag_noisy[c])) for c in range(C) if per_total[c]}
ok(got == want, "per class: images, removed, removed with a wrong label, recounted from the table")
def row_names(page):
    return [re.sub(r"\s+", " ", page.elems[page.elems.index(e) + 1]["text"]).strip() for e in page.elems
            if e["tag"] == "tr" and "data-class" in e["attrs"]]


names = row_names(page)
ok(names[:2] == ["0 class 0", "1 class 1"], "class names: none known without a recipe or classes.tsv (%s)" % names[:2])
got_pairs = [(int(e["attrs"]["data-label"]), int(e["attrs"]["data-teacher"]), int(e["attrs"]["data-count"]))
             for e in page.elems if e["tag"] == "tr" and "data-teacher" in e["attrs"]]
ok(got_pairs == [(a, b, n) for (a, b), n in top], "the top pairs: by count, then label and teacher, as recounted")
facts = re.sub(r"\s+", " ", " ".join(e["text"] for e in page.find("ul", **{"class": "facts"})))
prec = 100 * (flag & noisy).sum() / flag.sum()
rec = 100 * (flag & noisy).sum() / noisy.sum()
ok("%.1f%% precision" % prec in facts and "%.1f%% recall" % rec in facts,
   "summary: precision %.1f%% and recall %.1f%% (%s)" % (prec, rec, facts[:200]))


def expected_gallery(mask):
    idx = [i for i in range(300) if mask[i]]
    idx.sort(key=lambda i: (-np.float32(prob[i]), i))
    rank, first, seen = {}, {}, {}
    for pos, i in enumerate(idx):
        c = label[i]
        if c not in seen:
            seen[c], first[c] = 0, pos
        rank[i] = seen[c]
        seen[c] += 1
    idx.sort(key=lambda i: (rank[i], first[label[i]]))
    return idx[:CAP], len([i for i in range(300) if mask[i]])


sections = {"gallery-wrong": flag & noisy, "gallery-right": flag & ~noisy, "gallery-missed": ~flag & noisy}
all_pixels = True
for sid, mask in sections.items():
    sec = page.find("section", id=sid)
    pick, avail = expected_gallery(mask)
    if not ok(len(sec) == 1, "gallery section %s present" % sid):
        continue
    a = sec[0]["attrs"]
    start = page.elems.index(sec[0])
    end = next((j for j in range(start + 1, len(page.elems)) if page.elems[j]["tag"] == "section"), len(page.elems))
    shown = [e for e in page.elems[start:end] if e["tag"] == "img"]
    ids = [int(re.search(r"#(\d+):", e["attrs"]["alt"]).group(1)) for e in shown]
    ok(int(a["data-available"]) == avail and int(a["data-shown"]) == len(shown) == min(CAP, avail),
       "%s: %d of %d shown, as many <img> as it says" % (sid, len(shown), avail))
    ok(ids == pick, "%s: the most confident first, classes in turn, ties in file order" % sid)
    for e, i in zip(shown, ids):
        png = base64.b64decode(e["attrs"]["src"].split(",", 1)[1])
        im = np.array(Image.open(io.BytesIO(png)))
        all_pixels &= im.shape == (28, 28) and (im == imgs[i]).all()
        alt = e["attrs"]["alt"]
        all_pixels &= ("given label class %d" % label[i]) in alt or "given label" in alt
ok(all_pixels, "every IDX thumbnail is the image's own 28x28 pixels (PNG, lossless)")

# A run's recipe.txt names the data: Fashion-MNIST's class names, and its
# data_dir is searched for the images without --images.
os.makedirs(os.path.join(demo, "runs", "a"))
with open(os.path.join(demo, "runs", "a", "recipe.txt"), "w") as f:
    f.write("model = resnet8\ndata = fashion-mnist\ndata_dir = %s\nepochs = 10\nschedule = cosine\n" % data)
rc, out, err = run(demo, "--gallery", "2", "-o", os.path.join(tmp, "names.html"))
page = Page(open(os.path.join(tmp, "names.html")).read())
names = row_names(page)
ok(rc == 0 and names[:3] == ["0 T-shirt/top", "1 Trouser", "2 Pullover"] and len(page.find("img")) == 6,
   "with a recipe.txt under runs/: Fashion-MNIST's names, images found in its data_dir (%s; %s)" % (names[:3],
                                                                                              err.strip()))

# The same cleaning with the gallery off, and a table that disagrees with the JSON.
rc, out, err = run(demo, "--gallery", "0", "-o", os.path.join(tmp, "nogallery.html"))
ok(rc == 0 and "<img" not in open(os.path.join(tmp, "nogallery.html")).read(), "--gallery 0: no thumbnails")
bad = dict(report, total=301)
with open(os.path.join(tmp, "other.json"), "w") as f:
    json.dump(bad, f)
rc, out, err = run(demo, "--clean-report", os.path.join(tmp, "other.json"), "-o", os.path.join(tmp, "x.html"))
ok(rc == 1 and "other.json" in err and "clean-images.tsv" in err and "different cleanings" in err,
   "a JSON report and a table of two cleanings are refused, naming both (%s)" % err.strip())

# A missing image: listed as not shown, the page still written.
os.rename(os.path.join(data, "train-images-idx3-ubyte.gz"), os.path.join(tmp, "moved.gz"))
rc, out, err = run(demo, "--images", data, "--gallery", "3", "-o", os.path.join(tmp, "missing.html"))
page = Page(open(os.path.join(tmp, "missing.html")).read())
ok(rc == 0 and not page.find("img") and "not found" in err and all(
    s["attrs"]["data-shown"] == "0" for s in page.elems if s["attrs"].get("class") == "gallery"),
   "images not found: exit 0, no <img>, a warning, each section says 0 shown (%s)" % err.strip()[:120])
missing = [e for e in page.elems if e["attrs"].get("class") == "missing"]
ok(len(missing) == 3 and "train-images-idx3-ubyte.gz#" in missing[0]["text"], "and the page names the images")

# ---- JPEG files and pack shards ----
photos = os.path.join(tmp, "photos")
os.makedirs(os.path.join(photos, "imgs"))
sizes = [(200, 150), (120, 300), (97, 96), (400, 260)]
# the last file's name is markup: the page must show it as text
names = ["imgs/p0.jpg", "imgs/p1.jpg", "imgs/p2.jpg", "imgs/<b>&amp;\"'.jpg"]
lines = ["# relab-list 1", "# classes 3"]
refs = {}
for j, (w, h) in enumerate(sizes):
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) * 127 // (w + h)) + 60], -1).astype(np.uint8)
    p = names[j]
    Image.fromarray(arr).save(os.path.join(photos, p), quality=95)
    lines.append("%s\t%d" % (p, j % 3))
    s = 96 / min(w, h)
    im = Image.open(os.path.join(photos, p)).convert("RGB")
    rw, rh = max(96, round(w * s)), max(96, round(h * s))
    im = im.resize((rw, rh), Image.BILINEAR)
    l, t = (rw - 96) // 2, (rh - 96) // 2
    refs[p] = np.array(im.crop((l, t, l + 96, t + 96)), np.float64)
with open(os.path.join(photos, "train.list"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(photos, "per-image.tsv"), "w") as f:
    f.write("id\tlabel\tteacher\tteacher_prob\tlabel_prob\tagrees\taction\tnew_label\ttruth\n")
    for j in range(len(sizes)):
        f.write("%s\t%d\t%d\t0.%d\t\t0\tdropped\t\t\n" % (names[j], j % 3, (j + 1) % 3, 9 - j))


def thumbs(path):
    page = Page(open(path).read())
    return {re.match(r"(.*?): ", e["attrs"]["alt"]).group(1): base64.b64decode(e["attrs"]["src"].split(",", 1)[1])
            for e in page.find("img")}


rc, out, err = run(photos, "--images", photos, "-o", os.path.join(tmp, "photos.html"))
files = thumbs(os.path.join(tmp, "photos.html"))
diffs = {p: float(np.abs(np.array(Image.open(io.BytesIO(b)), np.float64) - refs[p]).mean()) for p, b in files.items()}
ok(rc == 0 and len(files) == 4 and all(Image.open(io.BytesIO(b)).size == (96, 96) for b in files.values()),
   "JPEG files: four 96x96 thumbnails without a noise record (%s)" % err.strip()[:100])
raw = open(os.path.join(tmp, "photos.html")).read()
ok("<b>&amp;" not in raw.replace("&lt;b&gt;&amp;amp;", "") and names[3] in files,
   "a file name holding markup is escaped: the parsed page gives the name back, no <b> element")
ok(all(d < 3.0 for d in diffs.values()), "each is the shorter-side resize and centre crop (PIL), mean |diff| < 3/255 "
   "(%s)" % {k: round(v, 2) for k, v in diffs.items()})
pk = subprocess.run([RELAB, "pack", os.path.join(photos, "train.list"), "-o", os.path.join(tmp, "shard")],
                    capture_output=True, text=True)
rc, out, err = run(photos, "--images", os.path.join(tmp, "shard"), "-o", os.path.join(tmp, "packed.html"))
ok(pk.returncode == 0 and rc == 0 and thumbs(os.path.join(tmp, "packed.html")) == files,
   "pack shards (found by prefix) give the same thumbnails as the files (%s %s)" % (pk.stderr.strip(), err.strip()))

# The images found through a run's recipe: its train_list's "# root" header
# (relative to the list's folder) names where the list's paths are.
rooted = os.path.join(tmp, "rooted")
os.makedirs(os.path.join(rooted, "runs", "a"))
os.makedirs(os.path.join(rooted, "lists"))
os.makedirs(os.path.join(rooted, "empty"))
with open(os.path.join(rooted, "lists", "train.list"), "w") as f:
    f.write("# relab-list 1\n# classes 3\n# root ../../photos\n" + "\n".join(lines[2:]) + "\n")
with open(os.path.join(rooted, "runs", "a", "recipe.txt"), "w") as f:
    f.write("model = resnet8\ndata = folder\ndata_dir = %s\ntrain_list = %s\nepochs = 10\nschedule = cosine\n"
            % (os.path.join(rooted, "empty"), os.path.join(rooted, "lists", "train.list")))
rc, out, err = run(rooted, "--per-image", os.path.join(photos, "per-image.tsv"))
ok(rc == 0 and thumbs(os.path.join(rooted, "report.html")) == files,
   "images found through a recipe's train_list and its '# root' header (%s)" % err.strip()[:200])

# ---- a single run folder ----
single = os.path.join(abl, "runs", "r8-sigmoid-4ep-s1")
rc, out, err = run(single)
t = open(os.path.join(single, "report.html")).read()
ok(rc == 0 and "after epoch 4: <strong>40.00%</strong>" in t and t.count("<svg") == 1,
   "a run folder: its last validation top-1 and the curves (%s)" % err.strip())

# ---- errors ----
empty = os.path.join(tmp, "empty")
os.makedirs(empty)
rc, out, err = run(empty)
ok(rc == 1 and empty in err and "nothing to report" in err, "an empty folder: exit 1 naming it (%s)" % err.strip())
with open(os.path.join(abl, "results.json"), "w") as f:
    f.write(json.dumps(results).replace('"correct": ', '"correct": 99999', 1))
rc, out, err = run(abl)
ok(rc == 1 and "results.json" in err and "correct" in err, "correct > total in results.json: exit 1 naming the file "
   "and field (%s)" % err.strip())
rc, out, err = run(abl, "--gallery", "-1")
ok(rc == 2, "--gallery -1 is a usage error")
rc, out, err = run()
ok(rc == 2, "no folder is a usage error")

if not os.environ.get("KEEP_TMP"):
    shutil.rmtree(tmp, ignore_errors=True)
done()
