#!/bin/sh
# test_report_browser.sh: the demo's report in a real browser.  scripts/demo.sh
# runs on a small configuration (300 training images, 2-epoch teachers and
# students, 500 test images); its last line must be the path of report.html.
# Debian's chromium, headless, then loads the page:
#   - after load, the page's own script counts the gallery's <img> elements
#     that decoded (naturalWidth > 0); the dumped DOM must show that count
#     equal to the number of images the gallery sections say they show, and
#     the sections must together show min(cap, images) per group, recounted
#     from the per-image table;
#   - a screenshot is not blank: enough non-white pixels, grey-level spread
#     and distinct colours (PIL);
#   - printing to PDF works and gives several pages.
# SKIPs when chromium, Fashion-MNIST, h5py or PIL is absent (scripts/bootstrap.sh
# --tests installs chromium).
RELAB=${RELAB:-./relab}
SRC=${top_srcdir:-$(dirname "$0")/..}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then echo "1..0 # SKIP no chromium (scripts/bootstrap.sh --tests installs it)"; exit 0; fi
. "$SRC/tests/trainlib.sh" # the Fashion-MNIST and h5py skip checks, $data, $py, a scratch $dir, ok
if ! "$py" -c 'import PIL, numpy' 2>/dev/null; then echo "1..0 # SKIP PIL/numpy missing for $py"; exit 0; fi
T=$dir
fails=0
check() { ok "$@"; [ "$1" = 0 ] || fails=$((fails + 1)); }

# The demo, small: its grid with 2 epochs, validation on 20 held-out images and
# predictions on the first 500 test images.
mkdir -p "$T/demo/data"
sed -e "s|^recipe = .*|recipe = $SRC/recipes/demo/fmnist-noisy.recipe|" -e 's|^epochs = .*|epochs = 2|' \
    -e '$a set = val_split=20' "$SRC/recipes/demo/grid" > "$T/grid"
"$RELAB" list --fashion-mnist "$data" --test -o "$T/test-all.list" 2>/dev/null
head -n 502 "$T/test-all.list" > "$T/demo/data/test.list"
DEMO_N=300 DEMO_GRID="$T/grid" DEMO_TEACHER_SETS="--set epochs=2 --set val_split=20" RELAB="$RELAB" \
    sh "$SRC/scripts/demo.sh" "$T/demo" > "$T/demo.out" 2> "$T/demo.err"
rc=$?
check $rc "the small demo exits 0 ($(tail -2 "$T/demo.err" | tr '\n' ' '))"
page=$(tail -n 1 "$T/demo.out")
[ "$page" = "$T/demo/report.html" ] && [ -s "$page" ]; check $? "demo.sh prints the report's path last ($page)"

# A fresh profile for each chromium run; the flags keep it off the network.
browse() {
    profile=$(mktemp -d "$T/profile.XXXXXX")
    timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
        "$@" "file://$page" 2>> "$T/chromium.log"
}
browse --virtual-time-budget=10000 --dump-dom > "$T/dom.html"
check $? "chromium loads the page and dumps its DOM"
browse --window-size=1280,2400 --screenshot="$T/shot.png" > /dev/null
check $? "chromium takes a screenshot"
browse --no-pdf-header-footer --print-to-pdf="$T/print.pdf" > /dev/null
check $? "chromium prints the page to PDF"

"$py" - "$T/dom.html" "$T/demo/data/clean-images.tsv" "$T/shot.png" "$T/print.pdf" > "$T/py.out" 2>&1 <<'P'
import csv, re, sys
import numpy as np
from PIL import Image
dom, table, shot, pdf = sys.argv[1:5]
text = open(dom).read()
m = re.search(r'<p id="decoded" data-decoded="(\d+)"', text)
decoded = int(m.group(1)) if m else -1
shown = [int(x) for x in re.findall(r'class="gallery"[^>]*data-shown="(\d+)"', text)]
imgs = len(re.findall(r'<img[^>]*src="data:image/png;base64,', text))
rows = list(csv.DictReader(open(table), delimiter="\t"))
flag = [r["agrees"] == "0" for r in rows]
wrong = [r["truth"] != r["label"] for r in rows]
cap = 48
want = [min(cap, sum(f and w for f, w in zip(flag, wrong))), min(cap, sum(f and not w for f, w in zip(flag, wrong))),
        min(cap, sum(w and not f for f, w in zip(flag, wrong)))]
print("gallery %d decoded=%d shown=%s imgs=%d want=%s" % (decoded == sum(shown) == imgs > 0 and shown == want,
                                                          decoded, shown, imgs, want))
a = np.asarray(Image.open(shot).convert("RGB")).astype(np.float64)
grey = a.mean(axis=2)
nonwhite = float((grey < 245).mean())
colours = len(np.unique(a.reshape(-1, 3), axis=0))
print("shot %d nonwhite=%.3f std=%.1f colours=%d size=%s" % (nonwhite > 0.05 and grey.std() > 20 and colours > 100,
                                                             nonwhite, grey.std(), colours, a.shape))
data = open(pdf, "rb").read()
pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
print("pdf %d pages=%d" % (data.startswith(b"%PDF") and pages >= 2, pages))
P
grep -q "^gallery 1" "$T/py.out"
check $? "every thumbnail decodes in chromium, as many as the sections say they show, min(48, images) per group: $(grep ^gallery "$T/py.out")"
grep -q "^shot 1" "$T/py.out"; check $? "the screenshot is not blank: $(grep ^shot "$T/py.out")"
grep -q "^pdf 1" "$T/py.out"; check $? "the printed PDF has several pages: $(grep ^pdf "$T/py.out")"
if [ $fails != 0 ]; then
    sed 's/^/# /' "$T/py.out"
    tail -5 "$T/chromium.log" | sed 's/^/# chromium: /'
    tail -20 "$T/demo.err" | sed 's/^/# demo: /'
fi
echo "1..$n"
