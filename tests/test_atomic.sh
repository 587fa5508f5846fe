#!/bin/sh
# test_atomic.sh: relab's outputs are committed atomically (src/util/fs.h): on
# a full disk (a 512 KiB tmpfs) a write fails with exit 1, the file it would
# have replaced keeps its previous bytes, and no temporary file is left.
# Checked for label lists (relab list), noise records (relab noise), packed
# HDF5 shards (relab pack) and exported images with their labels.txt (relab
# export-images).  Mounting the tmpfs needs root; the test SKIPs otherwise.
RELAB=${RELAB:-./relab}
FM=/usr/share/datasets/fashion-mnist
if [ ! -x "$RELAB" ]; then echo "1..0 # SKIP relab binary not built ($RELAB)"; exit 0; fi
if [ ! -f "$FM/train-images-idx3-ubyte.gz" ]; then echo "1..0 # SKIP no Fashion-MNIST in $FM"; exit 0; fi
T=$(mktemp -d /tmp/test_atomic.XXXXXX)
M="$T/full"
mkdir "$M"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=524288 tmpfs "$M" 2> /dev/null; then
    rm -rf "$T"
    echo "1..0 # SKIP mounting a small tmpfs needs root"
    exit 0
fi
trap 'umount "$M" 2> /dev/null; rm -rf "$T"' EXIT
n=0; fails=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails+1)); fi; }
# no_temp: no NAME.tmp.PID file is left anywhere on the full disk
no_temp() { [ -z "$(find "$M" -name '*.tmp*')" ]; }

"$RELAB" list --fashion-mnist "$FM" -o "$T/train.list" 2> /dev/null
head -52 "$T/train.list" > "$T/small.list" # the header and 50 samples

# label lists: 50 samples fit, 60,000 (2 MB) do not
"$RELAB" noise --in "$T/small.list" -o "$M/n.list" --kind symmetric --rate 0.5 --seed 1 --record "$M/rec.tsv" \
    > /dev/null 2>&1
cp "$M/n.list" "$T/n.list.before" && cp "$M/rec.tsv" "$T/rec.tsv.before"
"$RELAB" list --fashion-mnist "$FM" -o "$M/n.list" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && cmp -s "$M/n.list" "$T/n.list.before" && no_temp
ok $? "relab list on a full disk: exit 1 ($rc), the previous list kept whole, no temporary file ($(cat "$T/err"))"

# noise record: 90% of 60,000 samples changed do not fit
"$RELAB" noise --in "$T/train.list" -o "$T/big.list" --kind symmetric --rate 0.9 --seed 1 --record "$M/rec.tsv" \
    > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && cmp -s "$M/rec.tsv" "$T/rec.tsv.before" && no_temp
ok $? "relab noise --record on a full disk: exit 1 ($rc), the previous record kept whole ($(cat "$T/err"))"

# exported images and labels.txt: 20 fit, 10,000 do not
ex() {
    "$RELAB" export-images --images "$FM/t10k-images-idx3-ubyte.gz" --labels "$FM/t10k-labels-idx1-ubyte.gz" \
        --layout val --limit "$1" -o "$2"
}
ex 20 "$M/val" > /dev/null 2>&1
cp "$M/val/labels.txt" "$T/labels.before"
ex 10000 "$M/val" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && cmp -s "$M/val/labels.txt" "$T/labels.before" && no_temp
ok $? "export-images on a full disk: exit 1 ($rc), labels.txt kept whole, no half image ($(cat "$T/err"))"
rm -rf "$M/val"

# a packed shard: 20 images fit, 2,000 do not
ex 20 "$T/few" > /dev/null 2>&1
ex 2000 "$T/many" > /dev/null 2>&1
"$RELAB" pack "$T/few" --labels "$T/few/labels.txt" -o "$M/p" > /dev/null 2>&1
cp "$M/p-00000.h5" "$T/shard.before"
"$RELAB" pack "$T/many" --labels "$T/many/labels.txt" -o "$M/p" > /dev/null 2> "$T/err"; rc=$?
[ $rc = 1 ] && cmp -s "$M/p-00000.h5" "$T/shard.before" && no_temp
ok $? "relab pack on a full disk: exit 1 ($rc), the previous shard kept whole, no temporary file ($(tail -1 "$T/err"))"

echo "1..$n"
[ $fails = 0 ]
