#!/bin/sh
# test_train_stop.sh: a stop by signal (SIGUSR1, SIGTERM, SIGINT) writes a
# checkpoint at the end of the current step and exits 75 (EX_TEMPFAIL,
# "stopped, resumable"), which a batch script tells apart from failure (1) and
# usage (2); the checkpoint it names holds the step it reports and resumes.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
tiny_recipe "$dir/long.recipe" 200 # far more steps than the signal needs to arrive

for sig in USR1 TERM INT; do
    "$RELAB" train "$dir/long.recipe" --out "$dir/$sig" > /dev/null 2> "$dir/$sig.err" &
    pid=$!
    wait_for "$dir/$sig/ckpt-0000000005.h5" && kill -s "$sig" $pid
    wait $pid
    st=$?
    ok_if '[ $st -eq 75 ]' "SIG$sig: relab train exits 75 (exit $st)"
    step=$(sed -n 's/^relab train: stopped by signal at step \([0-9]*\)$/\1/p' "$dir/$sig.err")
    ckpt=$(printf '%s/%s/ckpt-%010d.h5' "$dir" "$sig" "${step:-0}")
    ok_if '[ -n "$step" ] && grep -q "checkpoint $ckpt written; continue with --resume $dir/$sig" "$dir/$sig.err"' \
        "SIG$sig: the message names the checkpoint of step ${step:-?} and the --resume command"
    "$py" -c "import h5py,sys; sys.exit(0 if h5py.File(sys.argv[1],'r')['state/step'][()]==int(sys.argv[2]) else 1)" \
        "$ckpt" "${step:-0}" 2> /dev/null && [ ! -e "$dir/$sig/final.h5" ]
    ok $? "SIG$sig: that checkpoint holds step ${step:-?}, and there are no final weights"
done

# the stopped run resumes (cut to one epoch so the test stays short)
"$RELAB" train --resume "$dir/USR1" --set epochs=1 > "$dir/resumed.out" 2> "$dir/resumed.err"
st=$?
ok_if '[ $st -eq 0 ] && [ -f "$dir/USR1/final.h5" ]' "the stopped run resumes and finishes (exit $st)"
echo "1..$n"
