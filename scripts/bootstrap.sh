#!/bin/sh
# bootstrap.sh: install what relab needs from Debian 12's packages (as root,
# or through sudo when available), then configure and build.  Safe to re-run.
#   scripts/bootstrap.sh [--tests] [configure options...]
# --tests also installs what only the tests use: chromium (tests/test_report_browser.sh
# opens the HTML report in it, headless).
set -eu
cd "$(dirname "$0")/.."
packages="build-essential autoconf automake libtool pkg-config
  libopenblas-dev libopenblas0-openmp libhdf5-dev libjpeg62-turbo-dev libpng-dev libjansson-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-scipy python3-h5py python3-pil python3-torch python3-torchvision
  libjemalloc2 dataset-fashion-mnist help2man"
if [ "${1:-}" = "--tests" ]; then
    packages="$packages chromium"
    shift
fi
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing"
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure "$@"
make -j"$(nproc)"
