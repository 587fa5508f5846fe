# bench: benchmarks (built by `make bench`, never part of `make check`)
EXTRA_PROGRAMS += bench/bench_train_step bench/bench_conv
bench_bench_train_step_SOURCES = bench/train_step.c bench/peak.c bench/peak.h
bench_bench_train_step_LDADD = librelab.la $(RELAB_LIBS)
bench_bench_conv_SOURCES = bench/conv.c
bench_bench_conv_LDADD = librelab.la $(RELAB_LIBS)
bench_programs = bench/bench_train_step bench/bench_conv
bench: $(bench_programs)
.PHONY: bench
EXTRA_DIST += bench/train_step.sh
