# make check-cores: the numerical tests again under OpenBLAS's Haswell,
# Sandybridge and (on AVX-512 CPUs) SkylakeX kernels at 1 and 2 threads, and in
# a --disable-native build (tests/check_cores.sh; docs/design.md, "Determinism").
# .ci/run runs it after `make check`; summaries in tests/cores/*.log.
TESTS += tests/test_cores.sh tests/test_wait.sh tests/test_huge_pages.sh
EXTRA_DIST += tests/test_cores.sh tests/check_cores.sh tests/test_wait.sh tests/test_huge_pages.sh
check-cores: all
	MAKE='$(MAKE)' top_srcdir='$(abs_top_srcdir)' $(SHELL) $(srcdir)/tests/check_cores.sh
.PHONY: check-cores
clean-local: clean-cores
clean-cores:
	rm -rf tests/cores
.PHONY: clean-cores
