"""report_cases.py: hostile inputs of `relab report` (corpus.py calls
report_cases): an ablation's results.json, a cleaning's JSON report and
per-image table, a run's metrics.csv, and images the gallery cannot decode.

A damaged results.json, report or table must be refused naming the file; a
damaged metrics.csv costs that run its curve (a warning) and a damaged image
its thumbnail (listed on the page), and the page is still written.
"""

import json
import os


def _results(runs_ok=True):
    runs = []
    for v in ("base", "other"):
        for s in (0, 1):
            sc = [{"correct": 7 + s, "total": 16}, {"correct": 5, "total": 16}] if runs_ok else [None, None]
            runs.append({"name": "a-%s-1ep-s%d" % (v, s), "model": "a", "variant": v, "epochs": 1, "seed": s,
                         "scores": sc})
    return {"format": "relab-ablate-results 1", "grid": "g.grid", "models": ["a"], "variants": ["base", "other"],
            "baseline": "base", "epochs": [1], "seeds": [0, 1], "metric": "top-1", "second_metric": "alt",
            "second_kind": "labels", "runs": runs}


def _table(ids, labels):
    rows = ["id\tlabel\tteacher\tteacher_prob\tlabel_prob\tagrees\taction\tnew_label\ttruth"]
    for i, (x, y) in enumerate(zip(ids, labels)):
        t = y if i % 3 else (y + 1) % 4
        rows.append("%s\t%d\t%d\t0.%d\t\t%d\t%s\t%s\t%d" % (x, y, t, 5 + i % 4, int(t == y), "kept" if t == y else
                                                            "dropped", y if t == y else "", y if i % 5 else t))
    return "\n".join(rows) + "\n"


def _clean_json(table_text):
    rows = [ln.split("\t") for ln in table_text.splitlines()[1:]]
    C = 4
    tot, fl = [0] * C, [0] * C
    pairs = {}
    for r in rows:
        tot[int(r[1])] += 1
        if r[5] == "0":
            fl[int(r[1])] += 1
            pairs[(int(r[1]), int(r[2]))] = pairs.get((int(r[1]), int(r[2])), 0) + 1
    changed = sum(r[8] != r[1] for r in rows)
    hit = sum(r[8] != r[1] and r[5] == "0" for r in rows)
    top = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"rule": "top1", "mode": "drop", "total": len(rows), "kept": len(rows) - sum(fl), "flagged": sum(fl),
            "removed": sum(fl), "relabeled": 0, "extra_added": 0, "flagged_per_class": fl, "total_per_class": tot,
            "top_pairs": [{"label": a, "teacher": b, "count": n} for (a, b), n in top],
            "noise": {"changed": changed, "flagged": sum(fl), "hit": hit, "restored": 0, "precision": 0.5,
                      "recall": 0.5}}


def report_cases(c, write, text_variants, special_paths, text_cases):
    b = c.base
    ids = ["train-images-idx3-ubyte.gz#%d" % i for i in range(16)]
    labels = [i % 4 for i in range(16)]
    table_ok = _table(ids, labels)
    json_ok = json.dumps(_clean_json(table_ok), indent=1) + "\n"
    write(b("clean.tsv"), table_ok)
    write(b("clean.json"), json_ok)
    images = ["--images", b("fm")]

    # results.json: found by name in the folder, so each variant gets a folder.
    res_ok = json.dumps(_results(), indent=1) + "\n"
    for name, data, expect in text_variants(res_ok):
        d = c.out("abl")
        os.makedirs(d)
        p = write(os.path.join(d, "results.json"), data)
        if name == "lone CR line ends":
            expect = "ok"  # CR is JSON whitespace
        c.add("results", name, ["report", d, "-o", c.out("r.html")], [p], "any" if expect == "either" else expect)
    for name, p in special_paths(c):
        d = c.out("abl")
        os.makedirs(d)
        os.symlink(p, os.path.join(d, "results.json"))
        c.add("results", name, ["report", d, "-o", c.out("r.html")], [d, p], "refuse")
    r = _results()
    extra = [("correct > total", dict(r, runs=[dict(r["runs"][0], scores=[{"correct": 17, "total": 16}, None])]
                                      + r["runs"][1:])),
             ("total 0", dict(r, runs=[dict(x, scores=[{"correct": 0, "total": 0}, None]) for x in r["runs"]])),
             ("total 2^63", dict(r, runs=[dict(x, scores=[{"correct": 1, "total": 2 ** 63 - 1}, None])
                                          for x in r["runs"]])),
             ("a run missing", dict(r, runs=r["runs"][:-1])), ("runs out of order", dict(r, runs=r["runs"][::-1])),
             ("17 variants", dict(r, variants=["v%d" % i for i in range(17)])),
             ("label with slash", dict(r, variants=["../x", "other"])),
             ("variant twice", dict(r, variants=["base", "base"])),
             ("epochs 0", dict(r, epochs=[0])), ("seed -1", dict(r, seeds=[-1, 1])),
             ("baseline not a variant", dict(r, baseline="zzz")), ("second_kind unknown", dict(r, second_kind="x")),
             ("second score without second metric", dict(r, second_metric=None, second_kind=None)),
             ("another format", dict(r, format="relab-ablate-results 2")), ("not an object", [1, 2]),
             ("scores not a list", dict(r, runs=[dict(x, scores=3) for x in r["runs"]])),
             ("metric name 10000 bytes", dict(r, metric="m" * 10000))]
    for name, obj in extra:
        d = c.out("abl")
        os.makedirs(d)
        p = write(os.path.join(d, "results.json"), json.dumps(obj))
        c.add("results", name, ["report", d, "-o", c.out("r.html")], [p])

    # results.json: found by name in the folder, so each variant gets a folder.    # The cleaning's JSON report and table, named on the command line.
    d = c.out("empty")
    os.makedirs(d)
    text_cases(c, "clean-table", table_ok,
               lambda p: ["report", d, "--per-image", p, "-o", c.out("r.html"), "--gallery", "2"] + images,
               [("label 2147483647", table_ok.replace("\t1\t1\t", "\t2147483647\t1\t", 1)),
                ("teacher -1", table_ok.replace("\t1\t1\t", "\t1\t-1\t", 1)),
                ("teacher_prob nan", table_ok.replace("\t0.6\t", "\tnan\t", 1)),
                ("teacher_prob 2", table_ok.replace("\t0.6\t", "\t2\t", 1)),
                ("agrees 2", table_ok.replace("\t1\tkept", "\t2\tkept", 1)),
                ("truth on some rows only", table_ok.replace("\t1\n", "\t\n", 1)),
                ("no agrees column", table_ok.replace("\tagrees\t", "\tagree\t", 1)),
                ("a field missing", table_ok.replace("\tkept\t", "\t", 1)),
                ("only the header", table_ok.splitlines()[0] + "\n"),
                ("empty id", table_ok.replace("train-images-idx3-ubyte.gz#1\t", "\t", 1)),
                ("id 11 MB", table_ok.replace("train-images-idx3-ubyte.gz#1\t", "x" * (11 << 20) + "\t", 1))])
    jo = _clean_json(table_ok)
    text_cases(c, "clean-json", json_ok, lambda p: ["report", d, "--clean-report", p, "-o", c.out("r.html")],
               [(name, json.dumps(obj)) for name, obj in [
                   ("flagged > total", dict(jo, flagged=jo["total"] + 1)),
                   ("per-class lists of two lengths", dict(jo, flagged_per_class=jo["flagged_per_class"] + [0])),
                   ("2^21 classes", dict(jo, total_per_class=[0] * (1 << 21), flagged_per_class=[0] * (1 << 21))),
                   ("21 pairs", dict(jo, top_pairs=jo["top_pairs"] * 11)),
                   ("pair label 99", dict(jo, top_pairs=[{"label": 99, "teacher": 0, "count": 1}])),
                   ("noise hit > changed", dict(jo, noise=dict(jo["noise"], hit=99))),
                   ("count -1", dict(jo, total=-1)), ("not an object", [jo]), ("no rule", dict(jo, rule=None))]])
    for case in c.cases:
        if case["name"] == "clean-json/lone CR line ends":
            case["expect"] = "ok"  # CR is JSON whitespace
    # Both given: they must be the same cleaning.
    p = write(c.path("clean.json"), json.dumps(dict(jo, total=jo["total"] + 1)))
    c.add("clean-json", "report and table of two cleanings",
          ["report", d, "--clean-report", p, "--per-image", b("clean.tsv"), "-o", c.out("r.html")], [p])

    # metrics.csv of a run: a damaged one costs the run its curve, not the page.
    for name, data in [("binary garbage", bytes(range(256)) * 4), ("no header", b"1,2,3\n"),
                       ("no epoch number", b"epoch,val_top1\nx,0.5\n"), ("empty", b"")]:
        dd = c.out("abl")
        os.makedirs(os.path.join(dd, "runs", "a-base-1ep-s0"))
        write(os.path.join(dd, "results.json"), res_ok)
        write(os.path.join(dd, "runs", "a-base-1ep-s0", "metrics.csv"), data)
        c.add("metrics", name, ["report", dd, "-o", c.out("r.html")], [dd], "ok")
    dd = c.out("run")
    os.makedirs(dd)
    write(os.path.join(dd, "metrics.csv"), b"epoch,val_top1\n" + b"1,0.5\n" * 5000)
    # A page draws at most RL_ABLATE_CURVE_MAX (4,096) epochs: a longer file is either
    # drawn or refused naming the file and the limit, never truncated silently.
    c.add("metrics", "5000 rows", ["report", dd, "-o", c.out("r.html")], [dd], "any")

    # Gallery images that do not decode: listed on the page, exit 0.
    gd = c.out("imgs")
    os.makedirs(gd)
    write(os.path.join(gd, "bad.jpg"), b"\xff\xd8\xff\xe0" + bytes(200))
    write(os.path.join(gd, "train-images-idx3-ubyte.gz"), open(b("fm/train-images-idx3-ubyte.gz"), "rb").read()[:60])
    os.symlink("/dev/zero", os.path.join(gd, "zero.jpg"))
    tab = _table(["bad.jpg", "train-images-idx3-ubyte.gz#3", "zero.jpg", "../../etc/passwd"], [0, 1, 2, 3])
    p = write(c.path("clean.tsv"), tab.replace("\t1\t1\t", "\t1\t2\t"))
    c.add("image", "report: undecodable gallery images",
          ["report", d, "--per-image", p, "--images", gd, "-o", c.out("r.html")], [p], "ok")
