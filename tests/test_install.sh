#!/bin/sh
# test_install.sh: relab installs like a GNU package (install.mk, headers.mk).
#
# `make install DESTDIR=...` into a folder of its own under the build folder,
# then, against that installation only:
#  - every header under src/ is listed in headers.mk exactly once, as public
#    or private; the public ones (and the umbrella relab/relab.h) are
#    installed and each compiles on its own with `pkg-config --cflags relab`;
#  - relab.pc: --cflags/--libs and --static name what librelab needs;
#  - librelab.so exports rl_ symbols only (nm -D);
#  - a small C program built through pkg-config, once against librelab.so
#    and once against all of librelab.a (`--static`), runs: it counts the parameters
#    of torchvision's ResNet-18 and ResNet-50 (11,689,512 and 25,557,032, from
#    torchvision's model docs) and gets a failing load back as a status whose
#    message names the file;
#  - the man page has a section for every subcommand `relab --help` lists;
#    docs, recipes, cluster scripts and relab_torch.py are under share/;
#  - every path that README.md, docs/ and recipes/cluster/ name exists;
#  - `make uninstall` removes every file again.
: "${top_builddir:=.}" "${top_srcdir:=.}"
CC=${CC:-cc}

for tool in pkg-config nm "$CC"; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "1..0 # SKIP $tool not found"
        exit 0
    }
done

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }
show() { sed 's/^/# /' "$1" | head -n "${2:-20}"; }

work=$(cd "$top_builddir" && pwd)/test-install.tmp
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
dest=$work/dest
# a make of our own, not a part of the make that runs the tests
unset MAKEFLAGS MFLAGS MAKELEVEL

# ---- headers.mk: each header under src/ is public or private, once ----
lists=$(printf 'include %s/headers.mk\nall:\n\t@echo $(relab_public_headers) / $(relab_private_headers)\n' \
    "$top_srcdir" | make -s -f - all)
public=${lists%% / *} private=${lists#* / }
(cd "$top_srcdir" && find src -name '*.h' | sort) > "$work/headers-found"
for h in $public $private; do echo "$h"; done | sort > "$work/headers-listed"
unlisted=$(comm -23 "$work/headers-found" "$work/headers-listed" | tr '\n' ' ')
stale=$(comm -13 "$work/headers-found" "$work/headers-listed" | sort -u | tr '\n' ' ')
twice=$(uniq -d "$work/headers-listed" | tr '\n' ' ')
check '[ -z "$unlisted$stale$twice" ]' \
    "headers.mk lists every header under src/ once (unlisted: ${unlisted:-none}; listed but absent: ${stale:-none}; twice: ${twice:-none})"

# ---- install ----
if ! make -C "$top_builddir" install DESTDIR="$dest" > "$work/install.log" 2>&1; then
    notok "make install DESTDIR=... succeeds"
    show "$work/install.log" 40
    echo "1..$n"
    exit 1
fi
ok "make install DESTDIR=... succeeds"
pcfile=$(find "$dest" -name relab.pc | head -n 1)
libdir=${pcfile%/pkgconfig/relab.pc}
root=${libdir%/lib*} # the prefix, under $dest
inc=$(find "$dest" -type d -path '*/include/relab' | head -n 1)
check '[ -n "$pcfile" ] && [ -x "$root/bin/relab" ] && [ -e "$libdir/librelab.so" ] && [ -e "$libdir/librelab.a" ]' \
    "bin/relab, lib/librelab.so, lib/librelab.a and lib/pkgconfig/relab.pc installed"

missing=""
for h in $public; do [ -f "$inc/${h#src/}" ] || missing="$missing ${h#src/}"; done
for h in $private; do [ -e "$inc/${h#src/}" ] && missing="$missing private:${h#src/}"; done
check '[ -z "$missing" ] && [ -f "$inc/relab.h" ]' \
    "the public headers and relab/relab.h are installed, the private ones are not${missing:+ (wrong:$missing)}"
quoted=$(grep -l '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' -r "$inc" | sed "s|^$inc/||" | tr '\n' ' ')
check '[ -z "$quoted" ]' "installed headers include each other as <relab/...>${quoted:+ (quoted includes in: $quoted)}"

# ---- pkg-config, against the installed relab.pc moved under DESTDIR ----
mkdir -p "$work/pc"
sed "s|^\([A-Za-z_]*\)=/|\1=$dest/|" "$pcfile" > "$work/pc/relab.pc"
PKG_CONFIG_PATH=$work/pc
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags relab) libs=$(pkg-config --libs relab) static=$(pkg-config --static --libs relab)
check '[ "$libs" = "-L$libdir -lrelab" ] || [ "$libs" = "-L$libdir -lrelab " ]' "pkg-config --libs relab: $libs"
need=""
for l in -lrelab -lopenblas -lhdf5 -ljpeg -lz -lpng16 -ljansson -lm; do
    case " $static " in *" $l "*) ;; *) need="$need $l" ;; esac
done
if grep -q '^#define RL_HAVE_MPI 1' "$top_builddir/config.h"; then
    case " $static " in *" -lmpi "*) ;; *) need="$need -lmpi" ;; esac
fi
check '[ -z "$need" ]' "pkg-config --static --libs relab names librelab's libraries${need:+ (missing:$need)}"

bad=""
for h in relab.h $(cd "$inc" && find . -name '*.h' ! -name relab.h | sed 's|^\./||' | sort); do
    printf '#include <relab/%s>\n' "$h" > "$work/one.c"
    # shellcheck disable=SC2086
    "$CC" -std=c11 -Wall -Wextra -Wshadow -Werror -fsyntax-only $cflags "$work/one.c" > "$work/one.log" 2>&1 ||
        { bad="$bad $h"; show "$work/one.log" 5; }
done
check '[ -z "$bad" ]' "every installed header compiles on its own with pkg-config --cflags relab${bad:+ (failed:$bad)}"

# ---- exported symbols ----
nm -D --defined-only "$libdir/librelab.so" | awk '{print $NF}' > "$work/symbols"
leaks=$(grep -v '^rl_' "$work/symbols" | head -n 10 | tr '\n' ' ')
check '[ -z "$leaks" ] && [ "$(grep -c "^rl_" "$work/symbols")" -gt 100 ]' \
    "librelab.so exports only rl_ symbols ($(grep -c '^rl_' "$work/symbols") rl_; others: ${leaks:-none})"

# ---- a C program through pkg-config ----
cat > "$work/prog.c" <<'EOF'
/* prog.c: uses the installed library the way a user's program does. */
#include <relab/relab.h>
#include <stdio.h>

int main(void)
{
    const char *names[] = {"resnet18", "resnet50"};
    for (int i = 0; i < 2; i++) {
        rl_resnet_config cfg;
        rl_resnet *net;
        rl_error err = {0};
        if (rl_resnet_config_for(names[i], &cfg, &err) || rl_resnet_create(&cfg, &net, &err)) {
            printf("%s: %s\n", names[i], err.msg);
            return 1;
        }
        printf("%s %zu\n", names[i], rl_params_learnable(rl_resnet_params(net)));
        if (i == 1) {
            rl_status st = rl_weights_load("no-such-dir/weights.h5", rl_resnet_params(net), &err);
            printf("load status %d: %s\n", (int)st, err.msg);
        }
        rl_resnet_destroy(net);
    }
    return 0;
}
EOF
expect_out() {
    sed -n 1,2p "$1" | tr '\n' ' ' | grep -q '^resnet18 11689512 resnet50 25557032 $' &&
        grep -q '^load status [1-9][0-9]*: .*no-such-dir/weights.h5' "$1"
}
# shellcheck disable=SC2086
if "$CC" -std=c11 -Wall -Wextra -Werror $cflags "$work/prog.c" -o "$work/prog" $libs > "$work/cc.log" 2>&1; then
    LD_LIBRARY_PATH=$libdir OMP_NUM_THREADS=1 "$work/prog" > "$work/prog.out" 2>&1
    check 'expect_out "$work/prog.out"' \
        "a program built with pkg-config --cflags --libs relab runs against librelab.so ($(head -n 2 "$work/prog.out" | tr '\n' ' '))"
    show "$work/prog.out" 3
else
    notok "a program builds with pkg-config --cflags --libs relab"
    show "$work/cc.log"
fi
# the same with librelab.a instead of -lrelab, the rest from --static; the whole
# archive, so every library any part of librelab needs must be named
static_libs=$(echo " $static " | sed 's/ -lrelab / -Wl,--whole-archive -l:librelab.a -Wl,--no-whole-archive /')
# shellcheck disable=SC2086
if "$CC" -std=c11 -Wall -Wextra -Werror $cflags "$work/prog.c" -o "$work/prog-static" $static_libs > "$work/cc.log" 2>&1; then
    env -u LD_LIBRARY_PATH OMP_NUM_THREADS=1 "$work/prog-static" > "$work/prog-static.out" 2>&1
    check 'expect_out "$work/prog-static.out" && ! ldd "$work/prog-static" | grep -q librelab' \
        "a program linked with all of librelab.a and pkg-config --static --libs relab runs"
else
    notok "a program links against librelab.a with pkg-config --static --libs relab"
    show "$work/cc.log"
fi

# ---- man page, docs, recipes, scripts ----
man=$root/share/man/man1/relab.1
commands=$(LD_LIBRARY_PATH=$libdir "$root/bin/relab" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
nosection=""
[ -n "$commands" ] || nosection=" (relab --help listed no command)"
for c in $commands; do
    grep -q "^\.SS \"relab $c\"" "$man" 2>/dev/null || nosection="$nosection $c"
done
check '[ -s "$man" ] && [ -z "$nosection" ] && grep -q "^\.SH \"\{0,1\}EXIT STATUS" "$man"' \
    "man page relab(1) has a section for every subcommand and the exit status${nosection:+ (missing:$nosection)}"
if command -v man >/dev/null 2>&1; then
    check 'MANWIDTH=80 man -l "$man" 2>&1 | grep -q "relab train --resume DIR"' "man -l renders relab(1)"
fi
absent=""
for f in README.md $(cd "$top_srcdir" && ls docs/*.md); do
    [ -f "$root/share/doc/relab/$f" ] || absent="$absent $f"
done
for f in $(cd "$top_srcdir" && find recipes -type f | sort); do
    [ -f "$root/share/relab/$f" ] || absent="$absent $f"
done
for f in recipes/cluster/slurm.sbatch recipes/cluster/mpirun.sh scripts/relab_torch.py; do
    [ -x "$root/share/relab/$f" ] || absent="$absent $f(executable)"
done
check '[ -z "$absent" ]' \
    "README.md and docs/ under share/doc/relab, recipes and scripts under share/relab${absent:+ (missing:$absent)}"

# ---- what the documentation names exists ----
check 'sh "$top_srcdir/scripts/dist_paths.sh" "$top_srcdir" > "$work/paths.log" 2>&1' \
    "every path README.md, docs/ and recipes/cluster/ name exists"
show "$work/paths.log"

# ---- uninstall ----
make -C "$top_builddir" uninstall DESTDIR="$dest" > "$work/uninstall.log" 2>&1
left=$(find "$dest" -type f | sed "s|^$dest||" | head -n 5 | tr '\n' ' ')
check '[ -z "$left" ]' "make uninstall removes every installed file${left:+ (left: $left)}"
echo "1..$n"
