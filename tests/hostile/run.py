"""run.py: runs relab on the hostile corpus (corpus.py) and classifies each
case; one TAP assertion per case, then a table of counts per input kind.

    run.py RELAB WORKDIR [--kinds list,preds,...] [--jobs N] [--timeout S] [--summary FILE]

RELAB should be an AddressSanitizer + UndefinedBehaviorSanitizer build
(`make check-hostile` builds one).  Each case runs with a timeout and with
ASan's allocator limited to 1 GB per allocation and 3 GB of RSS, so a tiny
file that makes relab allocate more is reported instead of swapping.
Outcomes, worst first:
    hang        killed at the timeout
    big-alloc   an allocation over 1 GB, or RSS over the limit (ASan report)
    sanitizer   any other ASan/UBSan/LSan report
    crash       killed by a signal (SIGSEGV, also as ASan's SEGV report; SIGABRT from RL_CHECK, ...)
    accepted    exit 0 for a file that must be refused
    unnamed     refused (exit 1 or 2) without naming the file
    rejected    exit 1 or 2 for a valid variant (CRLF, no final newline, ...)
    bad-exit    another exit code
    ok          the expected outcome
"""

import argparse
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402

SAN_ENV = {
    "ASAN_OPTIONS": "allocator_may_return_null=0:max_allocation_size_mb=1024:hard_rss_limit_mb=3072:"
                    "detect_leaks=1:abort_on_error=0:exitcode=86:symbolize=1:print_summary=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
    "LSAN_OPTIONS": "exitcode=88:suppressions=" + os.path.join(HERE, "lsan.supp"),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}

# Cases whose fix belongs to code outside src/data, src/eval, src/clean, src/util
# and the commands that read those inputs: reported as TAP "TODO" (expected
# failures, not counted as failed) until the owner's fix lands, then removed.
KNOWN = []

BIG_ALLOC = re.compile(r"allocation-size-too-big|requested allocation size .* exceeds|rss limit|"
                       r"out-of-memory \(malloc|calloc-overflow|allocator is out of memory")
CRASH = re.compile(r"AddressSanitizer:DEADLYSIGNAL|AddressSanitizer: (SEGV|BUS|stack-overflow)")
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehavior")


def classify(case, rc, err, timed_out):
    if timed_out:
        return "hang"
    if BIG_ALLOC.search(err):
        return "big-alloc"
    if CRASH.search(err):
        return "crash"
    if SANITIZER.search(err):
        return "sanitizer"
    if rc < 0 or rc >= 128:
        return "crash"
    if rc == 0:
        return "ok" if case["expect"] in ("ok", "either", "any") else "accepted"
    if rc in (1, 2):
        if case["expect"] == "ok":
            return "rejected"
        named = any(n in err or os.path.basename(n.rstrip("/")) in err for n in case["names"])
        return "ok" if named else "unnamed"
    return "bad-exit"


def run_case(case, timeout):
    env = dict(os.environ, **SAN_ENV)
    t0 = time.time()
    try:
        p = subprocess.run(case["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=env, timeout=timeout)
        rc, err, to = p.returncode, p.stderr.decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired as e:
        rc, err, to = -9, (e.stderr or b"").decode("utf-8", "replace"), True
    if case["expect"] == "either" and rc == 0 and not any(n in err for n in case["names"]):
        # a skipped image must be named in the loader's warning
        rc, err = 1, err
    return classify(case, rc, err, to), rc, err, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("relab")
    ap.add_argument("work")
    ap.add_argument("--kinds", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--summary", default="")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    cases = corpus.make_corpus(a.work, os.path.abspath(a.relab), [k for k in a.kinds.split(",") if k])
    counts = collections.defaultdict(collections.Counter)
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        results = ex.map(lambda c: run_case(c, a.timeout), cases)
        for i, (case, (outcome, rc, err, secs)) in enumerate(zip(cases, results)):
            counts[case["kind"]][outcome] += 1
            good = outcome == "ok"
            todo = next((why for pat, why in KNOWN if pat.search(case["name"])), None)
            failed += not good and not todo
            print("%s %d - %s: %s (exit %d, %.1f s)%s" % ("ok" if good else "not ok", i + 1, case["name"], outcome, rc,
                                                         secs, " # TODO " + todo if todo else ""), flush=True)
            if not good or a.verbose:
                lines = [ln for ln in err.splitlines() if ln.strip()][:12]
                print("#   $ " + " ".join(case["argv"][1:])[:300])
                for ln in lines:
                    print("#   " + ln[:300])
    print("1..%d" % len(cases))
    kinds = ["hang", "big-alloc", "sanitizer", "crash", "accepted", "unnamed", "rejected", "bad-exit", "ok"]
    table = ["%-14s %5s " % ("kind", "cases") + " ".join("%9s" % k for k in kinds)]
    total = collections.Counter()
    for kind in sorted(counts):
        total.update(counts[kind])
        table.append("%-14s %5d " % (kind, sum(counts[kind].values())) + " ".join(
            "%9d" % counts[kind][k] for k in kinds))
    table.append("%-14s %5d " % ("all", sum(total.values())) + " ".join("%9d" % total[k] for k in kinds))
    for ln in table:
        print("# " + ln)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write("\n".join(table) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
