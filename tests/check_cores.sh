#!/bin/sh
# check_cores.sh: `make check-cores` (tests/cores.mk).  One machine has one
# CPU; users and CI have others (an Intel AVX-512 Xeon: OpenBLAS's SkylakeX
# kernels; an AMD EPYC without AVX-512: Zen/Haswell; older: Sandybridge).
# OpenBLAS picks its kernels from OPENBLAS_CORETYPE, so the numerical tests
# run again under each core this CPU can execute, at 1 and 2 threads, and
# once more in a --disable-native build (-march=x86-64-v2, built from a copy
# of the sources in a subfolder).  Each setting is one `make check` whose
# summary goes to tests/cores/<setting>.log, so .ci/run counts every
# assertion.  The parity fixtures are made once and shared
# (RELAB_PARITY_FIXTURES).
#
# Environment: MAKE, top_srcdir (set by the make rule); RELAB_CORES to
# choose the cores (default: Haswell Sandybridge, and SkylakeX on AVX-512
# CPUs; e.g. RELAB_CORES="Zen Cooperlake", "none" for no core runs);
# RELAB_CORES_TESTS and RELAB_CORES_TESTS_ONCE to choose the tests run per
# (core, thread count) and once per core; RELAB_CORES_NATIVE=0 skips the
# --disable-native build.
set -u
: "${MAKE:=make}" "${top_srcdir:=.}"
TESTS_NUM=${RELAB_CORES_TESTS:-"tests/test_cores.sh tests/test_nn tests/test_loss tests/test_parity.sh tests/test_predict.py"}
# Their recipes set the thread count (1 per rank, 2) whatever OMP_NUM_THREADS
# says: once per core.  test_train.sh: kill + resume stays bitwise.
TESTS_ONCE=${RELAB_CORES_TESTS_ONCE:-"tests/test_dist.sh tests/test_train.sh"}

has() { grep -q "^flags.* $1\( \|$\)" /proc/cpuinfo 2>/dev/null; }
cores=${RELAB_CORES:-}
if [ -z "$cores" ]; then
    has avx && cores="Sandybridge"
    has avx2 && has fma && cores="Haswell $cores"
    has avx512f && has avx512bw && has avx512vl && has avx512dq && cores="$cores SkylakeX"
fi
log=$(pwd)/tests/cores
rm -rf "$log"
mkdir -p "$log"
fixtures=$(mktemp -d "${TMPDIR:-/tmp}/relab-cores.XXXXXX")
trap 'rm -rf "$fixtures"' EXIT
status=0
# setting NAME TESTS ENV-ASSIGNMENTS... : one `make check` in the current build
setting() {
    name=$1 tests=$2
    shift 2
    env="RELAB_PARITY_FIXTURES=$fixtures"
    for a in "$@"; do env="$env $a"; done
    vars=$(printf '%s\n' "$env" | tr ' ' '\n' | sed 's/=.*//' | tr '\n' ' ')
    echo "check-cores: $name: $env"
    $MAKE check TESTS="$tests" TEST_SUITE_LOG="$log/$name.log" TESTS_ENVIRONMENT="$env; export $vars;" \
        > "$log/$name.out" 2>&1
    rc=$?
    grep '^# \(PASS\|FAIL\|ERROR\|SKIP\):' "$log/$name.log" | tr '\n' ' ' | sed 's/^/    /'
    echo
    grep '^\(FAIL\|ERROR\|XPASS\):' "$log/$name.out" | head -n 20
    return $rc
}
[ "$cores" = none ] && cores=""
for core in $cores; do
    for t in 1 2; do
        setting "$core-$t" "$TESTS_NUM" OPENBLAS_CORETYPE=$core OMP_NUM_THREADS=$t || status=1
    done
    setting "$core-train" "$TESTS_ONCE" OPENBLAS_CORETYPE=$core || status=1
done

# copy_sources DIR: the source files into DIR, configure script included.  A
# VPATH build next to an in-tree one is refused by configure, so the generic
# build gets its own copy: git's tracked files as they are in the work tree
# (then autoreconf), or else `make distdir` (which also checks the docs' paths).
copy_sources() {
    if git -C "$top_srcdir" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
        mkdir -p "$1" && (cd "$top_srcdir" && git ls-files -z | xargs -0 cp --parents -t "$1") &&
            (cd "$1" && autoreconf -fi)
    else
        $MAKE distdir distdir="$1"
    fi
}
if [ "${RELAB_CORES_NATIVE:-1}" != 0 ]; then
    gen=$(pwd)/tests/cores/generic
    echo "check-cores: --disable-native build in $gen"
    mkdir -p "$gen"
    if copy_sources "$gen/src" > "$log/generic-build.out" 2>&1 &&
        mkdir -p "$gen/build" && (cd "$gen/build" && ../src/configure --disable-native --enable-werror &&
        $MAKE) >> "$log/generic-build.out" 2>&1; then
        (cd "$gen/build" && setting generic "$TESTS_NUM") || status=1
    else
        tail -n 30 "$log/generic-build.out"
        # counted by .ci/run like a failed test
        printf '# PASS: 0\n# FAIL: 1\n' > "$log/generic.log"
        status=1
    fi
    rm -rf "$gen"
fi
pass=$(cat "$log"/*.log | awk '/^# PASS:/ {p += $3} END {print p + 0}')
fail=$(cat "$log"/*.log | awk '/^# (FAIL|ERROR|XPASS):/ {f += $3} END {print f + 0}')
echo "check-cores: $pass passed, $fail failed (cores: $cores; logs in tests/cores/)"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
