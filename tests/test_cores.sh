#!/bin/sh
# test_cores.sh: relab runs on the OpenBLAS kernels and thread count it is
# given (what `make check-cores` relies on), and src/util/blas.c's start-up
# fix: without OPENBLAS_CORETYPE relab runs kernels as wide as the CPU's
# vectors; a user's OPENBLAS_CORETYPE wins, even a slow SSE core, which then
# gets a warning naming the fix (an AVX2 core on an AVX-512 CPU gets a note
# in `relab info`, no warning).  Checked through `relab info`.
: "${top_builddir:=.}" "${RELAB:=$top_builddir/relab}"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }
has() { grep -q "^flags.* $1\( \|$\)" /proc/cpuinfo 2>/dev/null; }

info=$("$RELAB" info 2>&1)
core=$(printf '%s\n' "$info" | sed -n 's/^BLAS: *OpenBLAS, core \([A-Za-z0-9_]*\).*/\1/p')
printf '%s\n' "$info" | grep "^BLAS\|^OpenMP" | sed 's/^/# /'
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    check '[ "$core" = "$OPENBLAS_CORETYPE" ]' \
        "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is the core relab runs on (relab info: $core)"
else
    check '[ -n "$core" ] && ! printf "%s\n" "$info" | grep -q "kernels on an"' \
        "without OPENBLAS_CORETYPE relab runs a core made for this CPU ($core)"
    if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
        check '[ "$core" = SkylakeX ] || [ "$core" = Cooperlake ]' \
            "on this AVX-512 CPU that core has AVX-512 kernels ($core)"
    fi
fi
if [ -n "${OMP_NUM_THREADS:-}" ]; then
    check 'printf "%s\n" "$info" | grep -q "^BLAS:.*, $OMP_NUM_THREADS threads" &&
           printf "%s\n" "$info" | grep -q "^OpenMP: *$OMP_NUM_THREADS threads"' \
        "OMP_NUM_THREADS=$OMP_NUM_THREADS threads for OpenBLAS and OpenMP"
fi
# A user's choice wins over the re-exec fix, with a warning when the CPU could do better.
slow=$(OPENBLAS_CORETYPE=Prescott "$RELAB" info 2>&1)
check 'printf "%s\n" "$slow" | grep -q "^BLAS: *OpenBLAS, core Prescott"' \
    "a user's OPENBLAS_CORETYPE=Prescott is kept (no re-exec over it)"
if has avx2 && has fma; then
    check 'printf "%s\n" "$slow" | grep -q "WARNING: OpenBLAS runs its slow .Prescott. kernels" &&
           printf "%s\n" "$slow" | grep -q "fix: export OPENBLAS_CORETYPE="' \
        "and relab warns that this CPU has a faster core, with the fix"
fi
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
    narrow=$(OPENBLAS_CORETYPE=Haswell "$RELAB" info 2>&1)
    check 'printf "%s\n" "$narrow" | grep -q "^BLAS: *OpenBLAS, core Haswell (AVX2 kernels on an AVX-512 CPU: OPENBLAS_CORETYPE=SkylakeX" &&
           ! printf "%s\n" "$narrow" | grep -q WARNING' \
        "a user's OPENBLAS_CORETYPE=Haswell is kept on this AVX-512 CPU, noted in relab info without a warning"
fi
echo "1..$n"
