#!/bin/sh
# test_parity.sh: relab against PyTorch (Debian's python3-torch) on the same
# weights and batch: the small 32x32 variant, ResNet-50 and ResNet-152.
# Fixtures are made fresh by tests/parity/make_fixture.py (conditioned: no
# ReLU input near its kink, realistic BN state; docs/parity.md); test_parity
# compares relab's float32 results and PyTorch float32's with PyTorch float64's,
# twice: with every convolution as GEMMs (RELAB_CONV=gemm; relab must be as
# accurate as PyTorch within 4x) and with relab's own algorithms (Winograd
# for wide 3x3 layers, allowed its documented error constant; test_parity.c).
# Then, per fixture, one parameter's gradient is scaled by 1.01 inside
# test_parity (RELAB_PARITY_PERTURB, test-only) and the gradient check must
# fail: the comparison can tell a 1% error from float32 rounding.
set -u
py=${REF_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, torchvision, h5py' 2>/dev/null; then
    echo "1..0 # SKIP $py lacks torch/torchvision/h5py (apt-get install python3-torch python3-torchvision python3-h5py)"
    exit 0
fi
# RELAB_PARITY_FIXTURES=DIR (make check-cores): use the fixtures in DIR, make
# the missing ones there, and keep them for the next run.
dir=${RELAB_PARITY_FIXTURES:-}
if [ -n "$dir" ]; then
    mkdir -p "$dir" || exit 99
else
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
fi
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
# renumber FILE LABEL: a TAP stream into this script's sequence
renumber() {
    while IFS= read -r line; do
        case $line in
        "ok "*) ok "$2: ${line#ok * - }" ;;
        "not ok "*) notok "$2: ${line#not ok * - }" ;;
        "1.."*) ;;
        *) echo "$line" ;;
        esac
    done < "$1"
}
# run NAME PERTURBED-PARAMETER make_fixture-ARGS...
run() {
    name=$1 victim=$2
    shift 2
    if [ -s "$dir/$name.h5" ] && [ -n "${RELAB_PARITY_FIXTURES:-}" ]; then
        echo "# reusing $dir/$name.h5"
    elif ! "$py" "$top_srcdir/tests/parity/make_fixture.py" "$@" --grads-double -o "$dir/$name.h5" \
        > "$dir/$name.log" 2>&1; then
        notok "make_fixture.py $* makes a fixture clear of kinks"
        sed 's/^/# /' "$dir/$name.log"
        rm -f "$dir/$name.h5"
        return
    fi
    sed 's/^/# torch: /' "$dir/$name.log"
    RELAB_CONV=gemm "$top_builddir/tests/test_parity" "$dir/$name.h5" > "$dir/$name.tap" 2>&1
    renumber "$dir/$name.tap" "convolutions as GEMMs"
    env -u RELAB_CONV "$top_builddir/tests/test_parity" "$dir/$name.h5" > "$dir/$name.tap" 2>&1
    renumber "$dir/$name.tap" "relab's algorithms"
    RELAB_CONV=gemm RELAB_PARITY_PERTURB="$victim:0.01" "$top_builddir/tests/test_parity" "$dir/$name.h5" \
        > "$dir/$name.bad" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q '^not ok .* gradients of all' "$dir/$name.bad" &&
        [ "$(grep -c '^not ok' "$dir/$name.bad")" = 1 ]; then
        ok "$name: scaling relab's gradient of $victim by 1.01 fails the gradient check, and only it"
    else
        notok "$name: scaling relab's gradient of $victim by 1.01 fails the gradient check, and only it (exit $rc)"
    fi
    grep "^# $victim\|^not ok" "$dir/$name.bad" | sed 's/^#* */# perturbed run: /'
    [ -n "${RELAB_PARITY_FIXTURES:-}" ] || rm -f "$dir/$name.h5"
}
run small layer3.1.bn1.bias --arch small --batch 16 --size 32
run resnet50 layer2.0.conv2.weight --arch resnet50 --batch 8 --size 64
run resnet152 layer3.20.bn2.weight --arch resnet152 --batch 8 --size 64
echo "1..$n"
