#!/bin/sh
# test_parity.sh: relab against PyTorch (Debian's python3-torch) on the same
# weights and batch: the small 32x32 variant, ResNet-50 and ResNet-152.
# Fixtures are made fresh by tests/parity/make_fixture.py; test_parity compares.
# RELAB_PARITY_FULL=1 uses larger inputs (slower).
set -u
py=${REF_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, torchvision, h5py' 2>/dev/null; then
    echo "1..0 # SKIP $py lacks torch/torchvision/h5py (apt-get install python3-torch python3-torchvision python3-h5py)"
    exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
fail=0
run() {
    name=$1; shift
    if ! "$py" "$top_srcdir/tests/parity/make_fixture.py" "$@" -o "$dir/$name.h5" > "$dir/$name.log" 2>&1; then
        n=$((n + 1)); fail=1
        echo "not ok $n - make_fixture.py $* failed"; sed 's/^/# /' "$dir/$name.log"
        return
    fi
    sed 's/^/# torch: /' "$dir/$name.log"
    # renumber the C program's TAP lines into this script's sequence
    "$top_builddir/tests/test_parity" "$dir/$name.h5" > "$dir/$name.tap" 2>&1 || fail=1
    while IFS= read -r line; do
        case $line in
            "ok "*|"not ok "*)
                n=$((n + 1))
                status=${line%% [0-9]*}
                rest=$(printf '%s\n' "$line" | sed 's/^\(not \)\{0,1\}ok [0-9]* //')
                echo "$status $n $rest";;
            "1.."*) ;;
            *) echo "$line";;
        esac
    done < "$dir/$name.tap"
}
run small --arch small --batch 8 --size 32 --grads-double
run resnet50 --arch resnet50 --batch 4 --size 128 --grads-double
run resnet152 --arch resnet152 --batch 2 --size 96 --grads-double
echo "1..$n"
