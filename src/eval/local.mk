# src/eval: predictions files, reference label sets, metrics, reports
librelab_la_SOURCES += src/eval/preds.c src/eval/preds.h src/eval/idmap.c src/eval/idmap.h \
	src/eval/refsets.c src/eval/refsets.h src/eval/metrics.c src/eval/metrics.h \
	src/eval/report.c src/eval/report.h src/eval/sets.c src/eval/sets.h src/eval/perclass.c src/eval/perclass.h \
	src/eval/subset.c src/eval/subset.h

TESTS += tests/test_eval.py
EXTRA_DIST += tests/test_eval.py

check_PROGRAMS += tests/test_metrics
tests_test_metrics_SOURCES = tests/test_metrics.c
tests_test_metrics_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_metrics

# the papers' further analyses in relab eval (rules, groups, subset, ImageNetV2, sets, per class)
TESTS += tests/test_analyses.py
EXTRA_DIST += tests/test_analyses.py
