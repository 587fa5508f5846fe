#!/bin/sh
# test_train_folder.sh: relab train on an ImageNet-style JPEG folder made from
# real Fashion-MNIST images (train: class folders; val: a flat folder with a
# labels file), then on the same folders packed into HDF5 shards: both runs
# must end with bitwise identical weights.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"

"$RELAB" export-images --images "$data/train-images-idx3-ubyte.gz" --labels "$data/train-labels-idx1-ubyte.gz" \
    -o "$dir/fm/train" --layout train --limit 320 > /dev/null 2>&1
"$RELAB" export-images --images "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz" \
    -o "$dir/fm/val" --layout val --limit 96 > /dev/null 2>&1
[ -f "$dir/fm/val/labels.txt" ] && [ "$(ls "$dir/fm/train" | wc -l)" -eq 10 ]
ok $? "an ImageNet-style folder of real JPEGs: 10 class folders and a flat val folder with labels"
cat > "$dir/folder.recipe" <<RECIPE
model = resnet8
width = 8
data = folder
data_dir = $dir/fm/train
val_dir = $dir/fm/val
val_labels = $dir/fm/val/labels.txt
image_size = 32
epochs = 2
warmup_epochs = 0
batch_size = 32
lr_reference_batch = 32
threads = 2
loader_threads = 2
log_every = 0
seed = 5
RECIPE
"$RELAB" train "$dir/folder.recipe" --out "$dir/a" > "$dir/a.out" 2> "$dir/a.err"
ok $? "relab train reads the JPEG folders (Inception crop + flip to 32x32, resize + centre crop for val)"
grep -q "folder train 320 images, val 96" "$dir/a.err"
ok $? "it found 320 training and 96 validation images: $(grep -o 'folder train.*val [0-9]*' "$dir/a.err")"
"$RELAB" pack "$dir/fm/train" -o "$dir/fm/train" > /dev/null 2>&1 &&
    "$RELAB" pack "$dir/fm/val" --labels "$dir/fm/val/labels.txt" --class-root "$dir/fm/train" -o "$dir/fm/val" \
        > /dev/null 2>&1
ok $? "relab pack writes the two folders' shards beside them"
mv "$dir/fm/train/c00_tshirt" "$dir/c00_moved" 2>/dev/null || mv "$dir/fm/train/$(ls "$dir/fm/train" | head -1)" "$dir/c00_moved"
"$RELAB" train "$dir/folder.recipe" --out "$dir/b" > /dev/null 2> "$dir/b.err"
ok $? "the same recipe trains from the shards (a class folder was moved away, so the files are not read)"
same_weights "$dir/a/final.h5" "$dir/b/final.h5"
ok $? "packed and unpacked training end with bitwise identical weights"
cmp -s "$dir/a/metrics.csv" "$dir/b/metrics.csv" || \
    [ "$(cut -d, -f1-7 "$dir/a/metrics.csv")" = "$(cut -d, -f1-7 "$dir/b/metrics.csv")" ]
ok $? "and the same losses and accuracies in metrics.csv"
echo "1..$n"
