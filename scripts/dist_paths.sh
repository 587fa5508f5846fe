#!/bin/sh
# dist_paths.sh DIR: every file that README.md, docs/*.md and recipes/cluster/*
# in DIR name (src/..., docs/..., scripts/..., recipes/..., tests/..., bench/...,
# man/...) must exist in DIR.  `make dist` runs it on the tarball's folder, so a
# page that names a file the tarball lacks fails the build; tests/test_install.sh
# runs it on the source tree.  Prints each missing path; exit 1 if any.
set -u
dir=${1:?usage: dist_paths.sh DIR}
cd "$dir" || exit 2
# names of programs that make builds (bench/...) rather than files in the tree
built="bench/bench_train_step bench/bench_conv bench/bench_scaling bench/data tests/dist_check tests/loss_dump"
missing=0
for page in README.md docs/*.md recipes/cluster/*; do
    [ -f "$page" ] || continue
    # a path starts the line or follows a character that cannot be in one
    # (share/man/man1/relab.1 names no man/ folder of the tree)
    grep -oE '(^|[^A-Za-z0-9_./-])(\./)?(src|docs|scripts|recipes|tests|bench|man)/[][A-Za-z0-9_./{},*-]+' "$page" |
        sed -e 's|^[^A-Za-z0-9_./-]||' -e 's|^\./||' -e 's/[.,:;)]*$//' -e '/\[/!s/]*$//' -e 's/[.,:;)]*$//' | sort -u |
        while IFS= read -r ref; do
            # {a,b} groups, as in src/train/dist.{c,h}, expanded one at a time
            paths=$ref
            while :; do
                case $paths in *"{"*"}"*) ;; *) break ;; esac
                next=""
                for q in $paths; do
                    case $q in
                    *"{"*"}"*)
                        head=${q%%\{*} rest=${q#*\{}
                        for a in $(echo "${rest%%\}*}" | tr ',' ' '); do next="$next $head$a${rest#*\}}"; done
                        ;;
                    *) next="$next $q" ;;
                    esac
                done
                paths=$next
            done
            for p in $paths; do
                case " $built " in *" $p "*) continue ;; esac
                # a glob (src/data/jpeg.[ch], recipes/imagenet/*.recipe) must match a file
                set -- $p
                [ -e "$1" ] || echo "$page: $p"
            done
        done
done > "${TMPDIR:-/tmp}/dist_paths.$$"
if [ -s "${TMPDIR:-/tmp}/dist_paths.$$" ]; then
    echo "dist_paths.sh: files named by the documentation but missing from $dir:" >&2
    sed 's/^/  /' "${TMPDIR:-/tmp}/dist_paths.$$" >&2
    missing=1
fi
rm -f "${TMPDIR:-/tmp}/dist_paths.$$"
exit $missing
