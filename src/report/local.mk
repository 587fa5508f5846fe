# src/report: relab report, one self-contained HTML page about a run, an ablation or the demo
librelab_la_SOURCES += src/report/page.c src/report/page.h src/report/page_ablate.c src/report/page_clean.c \
	src/report/sections.h src/report/cleaning.c src/report/cleaning.h src/report/thumbs.c src/report/thumbs.h \
	src/report/html.c src/report/html.h

TESTS += tests/test_report.py
EXTRA_DIST += tests/test_report.py docs/report.md
TESTS += tests/test_report_browser.sh
EXTRA_DIST += tests/test_report_browser.sh
