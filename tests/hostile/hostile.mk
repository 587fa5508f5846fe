# make check-hostile: relab built with AddressSanitizer and UndefinedBehaviorSanitizer
# (the library's and the command's sources compiled again with their own objects, so
# no second configure is needed) runs on the hostile-input corpus (tests/hostile/).
# Its TAP goes to tests/hostile/hostile.log, the counts per input kind to
# tests/hostile/summary.txt.  CI runs it after make check.
EXTRA_PROGRAMS += tests/hostile/relab-san
tests_hostile_relab_san_SOURCES = $(librelab_la_SOURCES) $(relab_SOURCES)
# -Wno-error: GCC warns falsely (format-overflow) on instrumented code
tests_hostile_relab_san_CFLAGS = $(AM_CFLAGS) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-error
tests_hostile_relab_san_LDFLAGS = $(AM_LDFLAGS) -fsanitize=address,undefined
tests_hostile_relab_san_LDADD = $(RELAB_LIBS)
EXTRA_DIST += tests/hostile/corpus.py tests/hostile/run.py tests/hostile/lsan.supp tests/hostile/report_cases.py
CLEANFILES += tests/hostile/relab-san

check-hostile: tests/hostile/relab-san$(EXEEXT)
	rm -rf tests/hostile/work
	$(REF_PYTHON) $(srcdir)/tests/hostile/run.py tests/hostile/relab-san$(EXEEXT) tests/hostile/work \
	  --jobs 2 --summary tests/hostile/summary.txt > tests/hostile/hostile.log; \
	  rc=$$?; grep '^not ok' tests/hostile/hostile.log | head -40; cat tests/hostile/summary.txt; \
	  echo "check-hostile: $$(grep -c '^ok' tests/hostile/hostile.log) passed," \
	    "$$(grep '^not ok' tests/hostile/hostile.log | grep -vc '# TODO') failed," \
	    "$$(grep -c '^not ok.*# TODO' tests/hostile/hostile.log) known failures (TODO)"; \
	  if [ $$rc -eq 0 ]; then rm -rf tests/hostile/work; fi; exit $$rc
.PHONY: check-hostile

# tests/fuzz/run.sh: libFuzzer over the same readers (clang; not run by make
# check or CI, since it runs as long as it is given)
EXTRA_DIST += tests/fuzz/fuzz.c tests/fuzz/run.sh
