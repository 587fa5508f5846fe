#!/bin/sh
# test_epoch_length.sh: the recipe key epoch_length on a cleaned (sub-)list.
# The full set is the recipe's data without train_list: of Fashion-MNIST's
# 60,000 training images, 64 held out (val_split) and a seeded subset of 640
# kept (train_subset), so 640 / 64 = 10 steps per epoch; the list holds the
# first 320 images, of which 64 are held out: 256 / 64 = 4 steps per epoch.
# Both counts are worked out here by hand from the recipe; the runs must
# make exactly those steps (metrics.csv's step column, the final line), and a
# run of epoch_length = full killed mid-epoch and mid-pass and resumed must
# end bitwise where the uninterrupted run ends.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
DRIVER=${top_builddir:-.}/tests/train_driver
"$RELAB" list --fashion-mnist "$data" --first 320 -o "$dir/part.list" 2> /dev/null
cat > "$dir/r.recipe" <<RECIPE
model = resnet8
width = 4
data = fashion-mnist
train_list = $dir/part.list
val_split = 64
train_subset = 640
epochs = 2
batch_size = 64
lr_reference_batch = 64
schedule = cosine
warmup_epochs = 0
threads = 2
loader_threads = 1
checkpoint_every = 5
keep_checkpoints = 3
eval_every = 0
log_every = 0
seed = 5
RECIPE
steps() { awk -F, 'NR > 1 {printf "%s ", $2}' "$1/metrics.csv"; }

"$RELAB" train "$dir/r.recipe" --out "$dir/pass" > /dev/null 2> "$dir/pass.err"
ok $? "epoch_length = pass (the default) trains"
ok_if '[ "$(steps "$dir/pass")" = "4 8 " ]' "pass: 4 steps per epoch, one pass over the list's 256 images (steps $(steps "$dir/pass"))"
"$RELAB" train "$dir/r.recipe" --out "$dir/full" --set epoch_length=full > "$dir/full.out" 2> "$dir/full.err"
ok $? "epoch_length = full trains"
ok_if '[ "$(steps "$dir/full")" = "10 20 " ]' "full: 10 steps per epoch, as many as a pass over the 640 images without the list (steps $(steps "$dir/full"))"
grep -q "final: epochs 2, steps 20," "$dir/full.out" && grep -q "10 steps/epoch (epoch_length = full: the steps of 640 images)" "$dir/full.err"
ok $? "the run reports 10 steps per epoch for 640 images and 20 in all: $(grep -m1 'final:' "$dir/full.out")"
grep -q "epoch_length = full" "$dir/full/recipe.txt"
ok $? "the run's recipe.txt records epoch_length = full"

# killed after step 13 (epoch 2 at batch 3; the loader's 4th pass over the list at batch 1), resumed from step 10
"$DRIVER" --kill-after 13 "$dir/r.recipe" --out "$dir/k" --set epoch_length=full > /dev/null 2>&1
st=$?
ok_if '[ $st -eq 137 ] && [ -f "$dir/k/ckpt-0000000010.h5" ]' "a full-length run killed at step 13 left checkpoint 10 (exit $st)"
"$RELAB" train --resume "$dir/k" > /dev/null 2> "$dir/k.err"
ok $? "it resumes"
same_weights "$dir/full/final.h5" "$dir/k/final.h5"
ok $? "killed and resumed across epoch and pass boundaries: bitwise the uninterrupted run's weights"
"$RELAB" train "$dir/r.recipe" --out "$dir/bad" --set epoch_length=half > /dev/null 2> "$dir/bad.err"
st=$?
ok_if '[ $st -eq 2 ] && grep -q "epoch_length" "$dir/bad.err"' "epoch_length = half: a usage error naming the key (exit $st)"
echo "1..$n"
