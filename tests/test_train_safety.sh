#!/bin/sh
# test_train_safety.sh: relab train never loses a run or a checkpoint and never
# trusts a damaged one (issue: "no run, checkpoint or metric is ever lost or
# silently wrong"): a folder holding a run is refused for a new run; parents
# of --out are created; a run folder is locked; pruning spares other runs'
# checkpoints; a checksum, type or state change in the newest checkpoint makes
# --resume fall back to the previous one; no checkpoint holds NaN; leftover
# temporary files are removed; several processes started by a launcher that
# do not form one MPI world are refused; a full disk exits 1 cleanly with one
# metrics.csv row per epoch.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
DRIVER=${top_builddir:-.}/tests/train_driver
tiny_recipe "$dir/one.recipe" 1  # 32 steps, checkpoints every 5, 3 kept
tiny_recipe "$dir/long.recipe" 200

# ---- a finished run is not overwritten by a new one ----
"$RELAB" train "$dir/one.recipe" --out "$dir/deep/er/a" > /dev/null 2> "$dir/a.err"
st=$?
ok_if '[ $st -eq 0 ] && [ -f "$dir/deep/er/a/final.h5" ]' "--out with missing parent folders works ($(tail -1 "$dir/a.err"))"
before=$(cd "$dir/deep/er/a" && md5sum ckpt-*.h5 final.h5)
"$RELAB" train "$dir/one.recipe" --out "$dir/deep/er/a" --set seed=7 > /dev/null 2> "$dir/again.err"
st=$?
ok_if '[ $st -eq 2 ] && grep -q "already holds a run" "$dir/again.err" && grep -q "relab train --resume $dir/deep/er/a" "$dir/again.err" && grep -q "new folder" "$dir/again.err"' \
    "a new run in a folder holding a run is refused with the --resume and new-folder hints (exit $st): $(cat "$dir/again.err")"
ok_if '[ "$before" = "$(cd "$dir/deep/er/a" && md5sum ckpt-*.h5 final.h5)" ]' "...and its checkpoints and weights are untouched"

# ---- one process per run folder ----
"$RELAB" train "$dir/long.recipe" --out "$dir/busy" > /dev/null 2>&1 &
holder=$!
wait_for "$dir/busy/ckpt-0000000005.h5"
"$RELAB" train --resume "$dir/busy" > /dev/null 2> "$dir/busy.err"
st=$?
ok_if '[ $st -ne 0 ] && grep -q "in use by relab process $holder " "$dir/busy.err"' \
    "a second relab train --resume on a running folder is refused naming the holder's PID $holder (exit $st): $(cat "$dir/busy.err")"
kill -KILL $holder
wait $holder 2> /dev/null
"$RELAB" train --resume "$dir/busy" --set epochs=1 > /dev/null 2> "$dir/busy2.err"
st=$?
ok_if '[ $st -eq 0 ]' "the lock dies with its holder (SIGKILL): the folder resumes at once"

# ---- leftover temporary files of a killed writer are removed, others kept ----
"$DRIVER" --kill-after 12 "$dir/one.recipe" --out "$dir/t" > /dev/null 2>&1
: > "$dir/t/ckpt-0000000099.h5.tmp.999999"
: > "$dir/t/final.h5.tmp.888888"
: > "$dir/t/notes.tmp.1"
"$RELAB" train --resume "$dir/t" > /dev/null 2> "$dir/t.err"
ok_if '[ ! -e "$dir/t/ckpt-0000000099.h5.tmp.999999" ] && [ ! -e "$dir/t/final.h5.tmp.888888" ] && [ -e "$dir/t/notes.tmp.1" ] && grep -q "removed 2 unfinished temporary files" "$dir/t.err"' \
    "a resume removes relab's leftover NAME.tmp.PID files and nothing else: $(grep removed "$dir/t.err")"

# ---- pruning touches only this run's checkpoints ----
"$DRIVER" --kill-after 7 "$dir/one.recipe" --out "$dir/p" > /dev/null 2>&1
cp "$dir/deep/er/a/ckpt-0000000030.h5" "$dir/p/ckpt-0000000002.h5"
"$RELAB" train --resume "$dir/p" > /dev/null 2> "$dir/p.err"
st=$?
ok_if '[ $st -eq 0 ] && [ -e "$dir/p/ckpt-0000000002.h5" ] && [ ! -e "$dir/p/ckpt-0000000005.h5" ] && [ -e "$dir/p/ckpt-0000000032.h5" ]' \
    "another run's checkpoint in the folder survives pruning, this run's old ones go ($(cd "$dir/p" && ls ckpt-* | tr '\n' ' '))"

# ---- a damaged newest checkpoint: named, skipped, the previous one resumes ----
"$DRIVER" --kill-after 17 "$dir/one.recipe" --out "$dir/base" > /dev/null 2>&1  # leaves 5, 10, 15
damage() { # damage NAME PYTHON-STATEMENT (f is the newest checkpoint, opened r+)
    rm -rf "$dir/$1"; cp -r "$dir/base" "$dir/$1"
    "$py" -c "import h5py, numpy as np; f = h5py.File('$dir/$1/ckpt-0000000015.h5', 'r+'); $2; f.close()"
    "$RELAB" train --resume "$dir/$1" > /dev/null 2> "$dir/$1.err"
    rc=$?
}
damage flip "a = f['model/conv1.weight'][()]; v = a.view(np.uint32); v.flat[3] ^= 1; f['model/conv1.weight'][...] = a"
ok_if '[ $rc -eq 0 ] && grep -q "skipping damaged checkpoint: .*ckpt-0000000015.h5: checksum mismatch in model/conv1.weight" "$dir/flip.err" && grep -q "resuming from .*ckpt-0000000010.h5" "$dir/flip.err"' \
    "one flipped bit in a weight: named, skipped, resumed from step 10: $(grep -m1 skipping "$dir/flip.err")"
same_weights "$dir/deep/er/a/final.h5" "$dir/flip/final.h5"
ok $? "...and the run still ends bitwise identical to the uninterrupted one"
damage step "f['state/step'][()] = 16"
ok_if '[ $rc -eq 0 ] && grep -q "ckpt-0000000015.h5: .*\(checksum mismatch in state\|does not fit\)" "$dir/step.err"' \
    "a changed state/step is caught: $(grep -m1 skipping "$dir/step.err")"
damage neg "f['state/step'][()] = -5"
ok_if '[ $rc -eq 0 ] && grep -q "ckpt-0000000015.h5: impossible training position" "$dir/neg.err"' \
    "a negative state/step is refused, not an abort: $(grep -m1 skipping "$dir/neg.err")"
damage huge "f['state/epoch'][()] = 2**40"
ok_if '[ $rc -eq 0 ] && grep -q "ckpt-0000000015.h5: impossible training position" "$dir/huge.err"' \
    "state/epoch = 2^40 is refused, not truncated: $(grep -m1 skipping "$dir/huge.err")"
damage recipe "t = f['recipe'][()].decode(); del f['recipe']; f['recipe'] = t.replace('base_lr = 0.1', 'base_lr = 0.7')"
ok_if '[ $rc -eq 0 ] && grep -q "ckpt-0000000015.h5: checksum mismatch in recipe" "$dir/recipe.err" && grep -q "resuming from .*ckpt-0000000010.h5" "$dir/recipe.err"' \
    "a changed stored recipe (base_lr 0.1 -> 0.7, still valid) is caught before it is used: $(grep -m1 skipping "$dir/recipe.err")"
same_weights "$dir/deep/er/a/final.h5" "$dir/recipe/final.h5"
ok $? "...and the run ends bitwise identical to the uninterrupted one, with the true recipe"
damage ints "a = f['model/fc.bias'][()]; del f['model/fc.bias']; f['model/fc.bias'] = a.astype(np.int64)"
ok_if '[ $rc -eq 0 ] && grep -q "model/fc.bias.* expected float32" "$dir/ints.err"' \
    "int-typed weights are refused: $(grep -m1 skipping "$dir/ints.err")"

# relab predict reads a checkpoint's weights alone: it checks them too
cp "$dir/base/ckpt-0000000015.h5" "$dir/good.h5"
cp "$dir/base/ckpt-0000000015.h5" "$dir/bad.h5"
"$py" -c "import h5py, numpy as np; f = h5py.File('$dir/bad.h5', 'r+'); a = f['model/fc.weight'][()]; a.view(np.uint32).flat[0] ^= 1 << 30; f['model/fc.weight'][...] = a"
"$RELAB" predict "$dir/good.h5" -o "$dir/good.preds.h5" > /dev/null 2>&1
good=$?
"$RELAB" predict "$dir/bad.h5" -o "$dir/bad.preds.h5" > /dev/null 2> "$dir/bad.err"
bad=$?
ok_if '[ $good -eq 0 ] && [ $bad -eq 1 ] && grep -q "bad.h5: checksum mismatch in model/fc.weight" "$dir/bad.err"' \
    "relab predict refuses a checkpoint whose weights changed, and reads the intact one: $(cat "$dir/bad.err")"

# ---- no checkpoint ever holds NaN or Inf ----
"$DRIVER" --poison-buffer-at 8 "$dir/one.recipe" --out "$dir/nan" > /dev/null 2> "$dir/nan.err"
st=$?
ok_if '[ $st -eq 1 ] && grep -q "step 10 .*the newest checkpoint, .*ckpt-0000000005.h5, is intact.*nan" "$dir/nan.err" && [ ! -e "$dir/nan/ckpt-0000000010.h5" ]' \
    "a NaN in the model is never checkpointed; the message names the intact checkpoint (exit $st): $(tail -1 "$dir/nan.err")"
"$py" - "$dir/nan" <<'PY'
import glob, sys, h5py, numpy as np
bad = []
for p in glob.glob(sys.argv[1] + "/ckpt-*.h5"):
    with h5py.File(p, "r") as f:
        f.visititems(lambda k, d: bad.append(p + ":" + k) if isinstance(d, h5py.Dataset) and d.dtype.kind == "f"
                     and not np.isfinite(d[()]).all() else None)
sys.exit(1 if bad else 0)
PY
ok $? "every checkpoint left in the folder holds finite values only"

# ---- a launcher's several processes without one MPI world ----
SLURM_STEP_NUM_TASKS=2 "$RELAB" train "$dir/one.recipe" --out "$dir/slurm" > /dev/null 2> "$dir/slurm.err"
st=$?
ok_if '[ $st -eq 2 ] && grep -q "one of 2 processes (SLURM_STEP_NUM_TASKS=2)" "$dir/slurm.err" && [ ! -e "$dir/slurm" ]' \
    "started as 2 tasks that are not one MPI world: refused before touching the folder (exit $st): $(cat "$dir/slurm.err")"
SLURM_PROCID=1 "$RELAB" train "$dir/one.recipe" --out "$dir/slurm" > /dev/null 2> "$dir/slurm.err"
st=$?
ok_if '[ $st -eq 2 ] && grep -q "SLURM_PROCID=1" "$dir/slurm.err"' "a task with rank 1 is refused the same way"
# mpirun's own variables reach MPI_Init in an MPI build (it must not be faked there)
if "$RELAB" info 2> /dev/null | grep -q "MPI: *not built in"; then
    OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$RELAB" train "$dir/one.recipe" --out "$dir/ompi" > /dev/null \
        2> "$dir/ompi.err"
    st=$?
    ok_if '[ $st -eq 2 ] && grep -q "OMPI_COMM_WORLD_SIZE=2.*built without MPI" "$dir/ompi.err" && [ ! -e "$dir/ompi" ]' \
        "a relab built without MPI refuses to run as one of mpirun's 2 ranks (exit $st): $(cat "$dir/ompi.err")"
else
    ok 0 "a build without MPI under mpirun # SKIP this relab is built with MPI"
fi

# ---- a full disk: exit 1 cleanly, the previous checkpoint intact, one row per epoch ----
# (a tmpfs that holds one epoch-end checkpoint but not two; needs root to mount)
size=$(stat -c %s "$dir/deep/er/a/ckpt-0000000032.h5")
mkdir "$dir/full"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$((size * 3 / 2 + 65536)) tmpfs "$dir/full" 2> /dev/null; then
    trap 'umount "$dir/full" 2> /dev/null; rm -rf "$dir"' EXIT
    "$RELAB" train "$dir/long.recipe" --out "$dir/full/run" --set epochs=3 --set checkpoint_every=0 \
        --set keep_checkpoints=1 > /dev/null 2> "$dir/full.err"
    st=$?
    ok_if '[ $st -eq 1 ] && grep -q "No space left on device" "$dir/full.err" && [ -e "$dir/full/run/ckpt-0000000032.h5" ] && ! ls "$dir/full/run" | grep -q "\.tmp\."' \
        "disk full at the epoch 2 checkpoint: exit 1, no crash, no temporary file, epoch 1's checkpoint kept (exit $st): $(tail -1 "$dir/full.err")"
    mount -o remount,size=$((size * 8)) "$dir/full"
    "$RELAB" train --resume "$dir/full/run" > /dev/null 2> "$dir/full2.err"
    st=$?
    ok_if '[ $st -eq 0 ] && [ "$(cut -d, -f1 "$dir/full/run/metrics.csv" | tr "\n" " ")" = "epoch 1 2 3 " ]' \
        "with space again it resumes and metrics.csv has one row per epoch ($(cut -d, -f1 "$dir/full/run/metrics.csv" | tr "\n" " "))"
else
    ok 0 "disk full # SKIP needs root to mount a small tmpfs"
    ok 0 "disk full, rows # SKIP needs root to mount a small tmpfs"
fi

echo "1..$n"
