# src/clean: label noise injection and teacher-based cleaning
librelab_la_SOURCES += src/clean/noise.c src/clean/noise.h src/clean/clean.c src/clean/clean.h src/clean/names.c

TESTS += tests/test_clean.py
EXTRA_DIST += tests/test_clean.py
