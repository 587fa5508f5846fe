#!/bin/sh
# test_wait.sh: how relab's OpenMP threads wait (src/util/blas.c): passive
# with a short spin (GOMP_SPINCOUNT=10000) unless the user chose, a user's
# OMP_WAIT_POLICY or GOMP_SPINCOUNT kept; and the wait changes no result: a
# short training run at 2 threads ends with bitwise the same weights whether
# threads sleep at once, spin briefly first, or spin.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
tiny_recipe "$dir/tiny.recipe" 1

wait_line() { env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$@" "$RELAB" info 2>&1 | grep '^OpenMP:'; }
line=$(wait_line)
echo "# $line"
ok_if 'printf "%s\n" "$line" | grep -q "wait policy passive, spin count 10000$"' \
    "unset: relab waits passively after a short spin (relab info: $line)"
line=$(wait_line GOMP_SPINCOUNT=0)
ok_if 'printf "%s\n" "$line" | grep -q "wait policy passive, spin count 0$"' "a user's GOMP_SPINCOUNT=0 is kept"
line=$(wait_line OMP_WAIT_POLICY=active)
ok_if 'printf "%s\n" "$line" | grep -q "wait policy active, spin count default$"' \
    "a user's OMP_WAIT_POLICY=active is kept, and no spin count added to it"

for w in sleep spin10000 active; do
    case $w in
        sleep) set -- GOMP_SPINCOUNT=0 ;;
        spin10000) set -- ;;
        active) set -- OMP_WAIT_POLICY=active ;;
    esac
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$@" "$RELAB" train "$dir/tiny.recipe" --out "$dir/$w" > /dev/null 2> "$dir/$w.err"
    ok $? "one epoch at 2 threads, wait: $w"
done
same_weights "$dir/sleep/final.h5" "$dir/spin10000/final.h5"
ok $? "sleeping at once and spinning 10000 first give bitwise the same weights"
same_weights "$dir/sleep/final.h5" "$dir/active/final.h5"
ok $? "so does spinning (OMP_WAIT_POLICY=active)"
echo "1..$n"
