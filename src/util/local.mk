# src/util: errors, aligned memory, counter-based RNG, BLAS core check, timing,
# HDF5 helpers, text, atomic files and locks, key=value text, the log callback
librelab_la_SOURCES += src/util/status.c src/util/status.h src/util/mem.c src/util/mem.h \
	src/util/rng.c src/util/rng.h src/util/blas.c src/util/blas.h src/util/timer.h src/util/h5.c src/util/h5.h \
	src/util/text.c src/util/text.h \
	src/util/fs.c src/util/fs.h src/util/kv.c src/util/kv.h src/util/log.c src/util/log.h \
	src/util/h5image.c src/util/h5image.h

check_PROGRAMS += tests/test_text
tests_test_text_SOURCES = tests/test_text.c tests/tap.h
tests_test_text_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_text
