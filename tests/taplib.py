"""taplib.py: TAP output for relab's Python tests (automake's TAP driver counts
every assertion).  Tests in tests/ import it with `from taplib import ok, ...`;
the script's folder is first on sys.path."""

import os
import sys

_count = 0
_failed = 0


def ok(cond, what):
    """Prints one TAP result; returns cond so a test can stop early on it."""
    global _count, _failed
    _count += 1
    if not cond:
        _failed += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", _count, what), flush=True)
    return cond


def skip(what):
    """Prints one skipped TAP result."""
    global _count
    _count += 1
    print("ok %d - # SKIP %s" % (_count, what), flush=True)


def skip_all(why):
    print("1..0 # SKIP " + why)
    sys.exit(0)


def relab_or_skip():
    """The built relab binary named by $RELAB (set by `make check`); skips the
    whole test when it is not there."""
    relab = os.environ.get("RELAB")
    if not relab or not os.path.exists(relab):
        skip_all("RELAB (the built relab binary) not set")
    return relab


def done(fail=False):
    """Prints the plan and exits 1 if any check failed (or fail is set)."""
    print("1..%d" % _count)
    sys.exit(1 if (_failed or fail) else 0)
