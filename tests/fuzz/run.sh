#!/bin/sh
# run.sh: builds relab's library with clang, libFuzzer, AddressSanitizer and
# UBSan, then fuzzes each reader of outside files (tests/fuzz/fuzz.c) for a
# while.  Not part of make check (it runs for as long as you give it); a
# finding is a file under OUT/<reader>/ that makes the reader crash, hang,
# leak or trip a sanitizer: add it to tests/hostile/corpus.py with the fix.
#
#   tests/fuzz/run.sh [--seconds S] [--jobs J] [--out DIR] [READER ...]
#
#   --seconds  per reader (default 120)
#   --jobs     readers fuzzed at once (default 2)
#   --out      build, corpora, logs and findings (default /tmp/relab-fuzz);
#              corpora grow from run to run in the same DIR
#   READER     list classes real multilabel groups idx jpeg png recipe
#              strings matrix record wnid (default: all)
#
# Needs the Debian packages clang and libomp-dev besides relab's own
# (scripts/bootstrap.sh).  Prints one line per reader and exits 1 if any had
# a finding.
set -eu

seconds=120 jobs=2 out=/tmp/relab-fuzz
all="list classes real multilabel groups idx jpeg png recipe strings matrix record wnid"
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
readers=${*:-$all}
for r in $readers; do
    case " $all " in *" $r "*) ;; *) echo "run.sh: unknown reader '$r' (one of: $all)" >&2; exit 2 ;; esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
missing=
command -v clang >/dev/null 2>&1 || missing="$missing clang"
if [ -z "$missing" ] && ! echo 'int main(void){return 0;}' |
        clang -x c -fopenmp -fsanitize=fuzzer-no-link - -o /dev/null 2>/dev/null; then
    missing="$missing libomp-dev"
fi
if [ -n "$missing" ]; then
    echo "run.sh: missing Debian packages:$missing (apt-get install$missing)" >&2
    exit 2
fi

# A copy of the sources configured for clang: the tree itself may be
# configured for gcc already, and automake allows no second build beside it.
# The copy is refreshed on every run (files keep their times, so make
# rebuilds only what changed): a fix is fuzzed, not the code before it.
mkdir -p "$out"
build=$out/build
mkdir -p "$build"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z | xargs -0 tar -cf -) | tar -xf - -C "$build"
else
    (cd "$top" && tar -cf - --exclude='*.o' --exclude='*.lo' --exclude=.libs --exclude=config.status \
        --exclude=Makefile --exclude=config.h .) | tar -xf - -C "$build"
fi
echo "building relab with clang and the fuzzer's instrumentation in $build ..."
(cd "$build" && if [ ! -f config.status ]; then
        { [ -x configure ] || autoreconf -fi; } >build.log 2>&1 &&
        CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
            ./configure --disable-native --disable-shared >>build.log 2>&1
    fi && make -j"$jobs" librelab.la >>build.log 2>&1) ||
    { echo "run.sh: the build failed; see $build/build.log" >&2; exit 1; }
# the link and include flags configure found, read off its Makefile
flags() { printf 'print:\n\t@echo $(%s)\n' "$1" | make -s -C "$build" -f Makefile -f - print; }
libs="$build/.libs/librelab.a $(flags RELAB_LIBS) $(flags OPENMP_CFLAGS)"
incs="-I$build/src -I$build $(flags BLAS_CFLAGS) $(flags HDF5_CFLAGS)"

# Seeds: one small well-formed input per reader, for libFuzzer to mutate.
seed() { mkdir -p "$out/seeds/$1"; printf "$3" >"$out/seeds/$1/$2"; }
seed list 1 '# relab-list 1\n# classes 10\na/b.jpg\t3\nc.jpg\t1,2,5\ntrain-images-idx3-ubyte.gz#12\t9\n'
seed list 2 '# relab-list 1\n# root ../img\nx.png\t0\n'
seed classes 1 'index\twnid\tname\n0\tn01440764\ttench, Tinca tinca\n1\tn01443537\tgoldfish\n'
seed real 1 '[[1, 2], [], [999], [3]]'
seed multilabel 1 'id,category,original_label,proposed_labels,manually_validated,unclear_multi_labels,wrong_multi_labels,is_problematic\nILSVRC2012_val_00047963.JPEG,A,24,24,True,,,False\nILSVRC2012_val_00023277.JPEG,M,582,"415, 813",True,,"467, 582",True\n'
seed groups 1 'index\twnid\tgroup\n0\tn01440764\tanimal\n1\tn01443537\tanimal\n2\tn02000000\tdog\n'
seed idx 1 '\001\000\010\001\000\000\000\003\001\002\003'
seed idx 2 '\000\000\010\003\000\000\000\002\000\000\000\002\000\000\000\002\001\002\003\004\005\006\007\010'
seed strings 1 '0.5,0.7,1'
seed strings 2 '0:6,2:4,5:7'
seed strings 3 'a = b\n# c\nk=v\n'
seed strings 4 'topk:5'
seed strings 5 'prob:0.3'
seed matrix 1 '0 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1\n'
seed record 1 '# relab-noise-record 1\n# about\na.jpg\t1\t2\ntrain-images-idx3-ubyte.gz#3\t0\t9\n'
seed wnid 1 'n01440764\nn01443537\n\377index\twnid\tname\n0\tn01440764\ttench\n1\tn01443537\tgoldfish\n'
mkdir -p "$out/seeds/recipe" "$out/seeds/jpeg" "$out/seeds/png"
find "$top/recipes" -name '*.recipe' -exec cp {} "$out/seeds/recipe/" \;
/usr/bin/python3 - "$out/seeds" <<'EOF' 2>/dev/null || echo "run.sh: no PIL (python3-pil): jpeg and png start from nothing"
import sys
from PIL import Image
d = sys.argv[1]
im = Image.new("RGB", (9, 7), (10, 200, 30))
im.save(d + "/jpeg/rgb", format="JPEG")
im.convert("L").save(d + "/jpeg/gray-progressive", format="JPEG", progressive=True)
for mode in ("RGB", "L", "P", "RGBA"):
    im.convert(mode).save(d + "/png/" + mode, format="PNG")
EOF

fuzz() {
    r=$1
    clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -DFUZZ_TARGET="$r" $incs \
        "$top/tests/fuzz/fuzz.c" $libs -o "$out/fuzz-$r" 2>"$out/$r.build.log" ||
        { echo "$r: the harness did not build; see $out/$r.build.log"; return; }
    mkdir -p "$out/corpus/$r" "$out/$r"
    rc=0
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/fuzz-$r" -max_total_time="$seconds" -max_len=4096 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/$r/" "$out/corpus/$r" "$out/seeds/$r" \
        >"$out/$r.log" 2>&1 || rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/$r.log")
    if [ "$rc" -eq 0 ]; then
        echo "$r: ${runs:-?} runs in ${seconds} s, no finding"
    else
        echo "$r: FINDING (exit $rc): $(ls "$out/$r" | head -1); see $out/$r.log"
    fi
}
: >"$out/summary"
set -- $readers
while [ $# -gt 0 ]; do
    n=0
    while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
        fuzz "$1" >>"$out/summary" &
        shift; n=$((n + 1))
    done
    wait
done
cat "$out/summary"
! grep -q FINDING "$out/summary"
