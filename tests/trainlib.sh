# trainlib.sh: what the relab train shell tests share (sourced, not run):
# the skip checks, a scratch folder, TAP's ok, the tiny Fashion-MNIST recipe,
# a bitwise weights comparison and a bounded wait for a file.
data=/usr/share/datasets/fashion-mnist
py=${REF_PYTHON:-/usr/bin/python3}
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    echo "1..0 # SKIP dataset-fashion-mnist not installed"; exit 0
fi
if ! "$py" -c 'import h5py' 2>/dev/null; then echo "1..0 # SKIP $py lacks h5py"; exit 0; fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# ok_if 'shell condition' description (the description's $(...) runs first and
# resets $?: keep an exit status in a variable before calling it)
ok_if() { if eval "$1"; then ok 0 "$2"; else ok 1 "$2"; fi; }

# tiny_recipe FILE [EPOCHS]: 2,048 real images, 32 steps per epoch, a
# checkpoint every 5 steps, 3 kept
tiny_recipe() {
    cat > "$1" <<RECIPE
model = resnet8
width = 8
data = fashion-mnist
train_subset = 2048
val_split = 512
epochs = ${2:-3}
batch_size = 64
base_lr = 0.1
lr_reference_batch = 64
schedule = cosine
warmup_epochs = 0.5
weight_decay = 5e-4
threads = 2
loader_threads = 1
checkpoint_every = 5
keep_checkpoints = 3
log_every = 0
seed = 3
RECIPE
}

# same_weights A.h5 B.h5: every dataset of A is in B with the same bytes
same_weights() {
    "$py" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visit(lambda k: names.append(k) if isinstance(a[k], h5py.Dataset) else None)
bad = [k for k in names if k not in b or a[k][()].tobytes() != b[k][()].tobytes()]
print("# %d tensors compared, %d differ %s" % (len(names), len(bad), bad[:3]))
sys.exit(1 if bad or not names else 0)
PY
}

# wait_for FILE: until FILE exists (at most 5 minutes, so a broken run cannot hang the suite)
wait_for() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$1" ]
}
