"""test_layers.py: the parts of src/ include each other in one direction only
(docs/design.md, "Parts and arrows"):

    cli -> report -> ablate, clean -> eval -> train -> data, nn -> util

Every `#include "PART/..."` in src/PART2/*.[ch] must name a part strictly
below PART2 (parts on one level, such as data and nn, do not include each
other).  A folder missing from the table fails, so a new part is placed
deliberately (and docs/design.md updated with it)."""

import glob
import os
import re

from taplib import done, ok

# report (relab report's HTML pages) reads ablations' and cleanings' outputs
LEVEL = {"util": 0, "nn": 1, "data": 1, "train": 2, "eval": 3, "clean": 4, "ablate": 4, "report": 5, "cli": 9}

src = os.path.join(os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..")), "src")
parts = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
unplaced = [p for p in parts if p not in LEVEL]
ok(parts and not unplaced, "every folder under src/ has a level (%s)" % (", ".join(unplaced) or "all placed"))
wrong, arrows = [], set()
for path in sorted(glob.glob(os.path.join(src, "*", "*.[ch]"))):
    part = os.path.basename(os.path.dirname(path))
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r'\s*#\s*include\s+"([a-z]+)/', line)
        if not m or m.group(1) == part:
            continue
        arrows.add((part, m.group(1)))
        if LEVEL.get(m.group(1), 99) >= LEVEL.get(part, -1):
            wrong.append("%s:%d includes %s" % (os.path.relpath(path, src), n, m.group(1)))
ok(not wrong, "no include points up or sideways (%s)" % ("; ".join(wrong[:5]) or
                                                         "%d arrows, all downward" % len(arrows)))
done()
