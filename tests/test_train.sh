#!/bin/sh
# test_train.sh: relab train end to end on real Fashion-MNIST images:
# the loss goes down; a run killed by SIGKILL mid-epoch and resumed ends with
# weights bitwise identical to an uninterrupted run; a damaged newest
# checkpoint is skipped; metrics.csv keeps one row per epoch and the
# interrupted epoch's row covers the whole epoch; a NaN loss stops the run with
# step and lr and leaves the checkpoints intact; bad recipes and flags give
# file:line errors, exit 2.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
# crashes and divergence are injected by a test program on the public API (tests/train_driver.c)
DRIVER=${top_builddir:-.}/tests/train_driver
tiny_recipe "$dir/tiny.recipe" # 2,048 real images, 32 steps per epoch, 3 epochs

"$RELAB" train "$dir/tiny.recipe" --out "$dir/a" > "$dir/a.out" 2> "$dir/a.err"
ok $? "uninterrupted run finishes"
loss1=$(awk -F, 'NR==2 {print $4}' "$dir/a/metrics.csv")
loss3=$(awk -F, 'NR==4 {print $4}' "$dir/a/metrics.csv")
acc=$(awk -F, 'NR==4 {print $6}' "$dir/a/metrics.csv")
echo "# train loss epoch 1 $loss1, epoch 3 $loss3; val top-1 $acc"
awk -v a="$loss1" -v b="$loss3" 'BEGIN {exit !(b < 0.8 * a)}'
ok $? "training loss falls by more than 20% over 3 epochs ($loss1 -> $loss3)"
# Not a tighter bar: rounding (another BLAS kernel or thread count) moves the
# trajectory like another seed does; seeds 1-7 gave 43-54%, Haswell at 1 and
# 2 threads 50.6% and 53.5% (docs/design.md, "Determinism").
awk -v a="$acc" 'BEGIN {exit !(a > 0.3)}'
ok $? "validation top-1 after 3 epochs on 2,048 images is above 30% ($acc; chance is 10%)"

# killed by SIGKILL after step 43 (epoch 2, mid-epoch; last checkpoint at step 40)
"$DRIVER" --kill-after 43 "$dir/tiny.recipe" --out "$dir/b" > /dev/null 2>&1
st=$?
ok $([ $st -eq 137 ] && echo 0 || echo 1) "second run dies by SIGKILL mid-epoch (exit $st)"
[ ! -f "$dir/b/final.h5" ] && [ -f "$dir/b/ckpt-0000000040.h5" ]
ok $? "it left checkpoint step 40 and no final weights"
"$RELAB" train --resume "$dir/b" > /dev/null 2> "$dir/b.err"
ok $? "relab train --resume continues the killed run"
grep -q "resuming from .*ckpt-0000000040.h5 (epoch 2, batch 8, step 40)" "$dir/b.err"
ok $? "it resumed from step 40, epoch 2, batch 8"
same_weights "$dir/a/final.h5" "$dir/b/final.h5"
ok $? "killed-and-resumed weights are bitwise identical to the uninterrupted run"
# the epoch's running sums travel in the checkpoint: epoch 2's row covers all of epoch 2
cut -d, -f1-7 "$dir/a/metrics.csv" > "$dir/a.rows"
cut -d, -f1-7 "$dir/b/metrics.csv" > "$dir/b.rows"
cmp -s "$dir/a.rows" "$dir/b.rows" && [ "$(wc -l < "$dir/b.rows")" -eq 4 ]
ok $? "metrics.csv of the killed run: one row per epoch, and the interrupted epoch's loss and accuracy equal the uninterrupted run's ($(sed -n 3p "$dir/b.rows") vs $(sed -n 3p "$dir/a.rows"))"

# a truncated newest checkpoint is skipped, never trusted
"$DRIVER" --kill-after 52 "$dir/tiny.recipe" --out "$dir/c" > /dev/null 2>&1
newest=$(ls "$dir/c"/ckpt-*.h5 | sort | tail -1)
head -c 2000 "$newest" > "$newest.part" && mv "$newest.part" "$newest"
"$RELAB" train --resume "$dir/c" > /dev/null 2> "$dir/c.err"
ok $? "resume after the newest checkpoint was truncated"
grep -q "skipping damaged checkpoint" "$dir/c.err"
ok $? "the truncated checkpoint is named and skipped: $(grep -m1 skipping "$dir/c.err")"
same_weights "$dir/a/final.h5" "$dir/c/final.h5"
ok $? "resumed from the older checkpoint, still bitwise identical"

# a diverging run (a weight turns NaN before step 12) stops with the step and
# lr; the checkpoints written before stay loadable
"$DRIVER" --poison-at 12 "$dir/tiny.recipe" --out "$dir/d" > /dev/null 2> "$dir/d.err"
st=$?
ok $([ $st -eq 1 ] && echo 0 || echo 1) "a NaN/Inf loss ends the run with exit 1 ($st)"
grep -q "step 11 (lr" "$dir/d.err"
ok $? "the message gives step and learning rate: $(tail -1 "$dir/d.err")"
"$py" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); sys.exit(0 if f['state/step'][()]==10 else 1)" \
    "$dir/d/ckpt-0000000010.h5"
ok $? "the checkpoint before the divergence (step 10) is intact and readable"

# user errors
printf 'model = resnet8\ndata = fashion-mnist\nepochs = 1\nlearning_rate = 0.1\n' > "$dir/bad.recipe"
"$RELAB" train "$dir/bad.recipe" --out "$dir/e" > /dev/null 2> "$dir/e.err"
st=$?
ok $([ $st -eq 2 ] && grep -q "bad.recipe:4" "$dir/e.err" && echo 0 || echo 1) \
    "an unknown recipe key is a usage error naming file:line ($(head -1 "$dir/e.err"))"
"$RELAB" train --bogus > /dev/null 2>&1
ok $([ $? -eq 2 ] && echo 0 || echo 1) "an unknown flag exits 2"
"$RELAB" train --resume "$dir/nowhere" > /dev/null 2> "$dir/f.err"
ok $([ $? -eq 1 ] && grep -q nowhere "$dir/f.err" && echo 0 || echo 1) "resuming a missing folder fails naming it"
echo "1..$n"
