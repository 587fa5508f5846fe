#!/bin/sh
# test_huge_pages.sh: relab's huge-page advice (src/util/mem.c) as relab info
# reports it, against the kernel's setting read here from sysfs, and the
# advice changes no result: a training run whose arenas pass 8 MiB ends with
# bitwise the same weights with the advice and with RELAB_HUGE_PAGES=0.
set -u
. "${top_srcdir:-.}/tests/trainlib.sh"
tiny_recipe "$dir/big.recipe" 1
# 256 images of 16 channels at 28x28: 12.8 MB per activation, so the arenas
# are allocations the advice covers
sed -i -e 's/^batch_size = .*/batch_size = 256/' -e 's/^width = .*/width = 16/' "$dir/big.recipe"

memory_line() { env "$@" "$RELAB" info 2>&1 | grep '^Memory:'; }
sysfs=/sys/kernel/mm/transparent_hugepage/enabled
setting=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' "$sysfs" 2>/dev/null)
[ -n "$setting" ] || setting=unknown
line=$(memory_line -u RELAB_HUGE_PAGES)
echo "# $line"
case $setting in
    never | unknown) want="transparent huge pages $setting; relab's allocations stay on 4 KiB pages" ;;
    *) want="transparent huge pages $setting; relab advises them for its allocations of 8 MiB and more" ;;
esac
ok_if '[ "$line" = "Memory:  $want" ]' "relab info names the kernel's setting ($setting, read from $sysfs) and the advice"
line=$(memory_line RELAB_HUGE_PAGES=0)
ok_if '[ "$line" = "Memory:  transparent huge pages $setting; relab'"'"'s advice withheld (RELAB_HUGE_PAGES=0)" ]' \
    "with RELAB_HUGE_PAGES=0 it says the advice is withheld"

env -u RELAB_HUGE_PAGES "$RELAB" train "$dir/big.recipe" --out "$dir/huge" > /dev/null 2> "$dir/huge.err"
ok $? "one epoch, batch 256, with the advice"
RELAB_HUGE_PAGES=0 "$RELAB" train "$dir/big.recipe" --out "$dir/plain" > /dev/null 2> "$dir/plain.err"
ok $? "the same without it"
same_weights "$dir/huge/final.h5" "$dir/plain/final.h5"
ok $? "both end with bitwise the same weights"
echo "1..$n"
