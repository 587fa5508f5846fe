# src/train/dist: data-parallel training over Open MPI (a world of 1 without it)
librelab_la_SOURCES += src/train/dist.c src/train/dist.h

# bench/bench_scaling: ResNet-50 steps under mpirun (bench/scaling.sh drives it;
# built on demand with `make bench/bench_scaling`, never part of make check)
EXTRA_PROGRAMS += bench/bench_scaling
bench_bench_scaling_SOURCES = bench/scaling.c
bench_bench_scaling_LDADD = librelab.la $(RELAB_LIBS)

# 1 vs 2 ranks equality and kill/resume; SKIPs without MPI or mpirun
TESTS += tests/test_dist.sh
EXTRA_DIST += tests/test_dist.sh tests/h5_maxdiff.py bench/scaling.sh docs/cluster.md

# dist_check: the dist API against hand-computed values; test_dist.sh runs it under mpirun
check_PROGRAMS += tests/dist_check
tests_dist_check_SOURCES = tests/dist_check.c tests/tap.h
tests_dist_check_LDADD = librelab.la $(RELAB_LIBS)
