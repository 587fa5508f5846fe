# src/data core: Fashion-MNIST IDX source, prefetching loader
librelab_la_SOURCES += src/data/list.c src/data/list.h src/data/split.c src/data/split.h

check_PROGRAMS += tests/test_list
tests_test_list_SOURCES = tests/test_list.c
tests_test_list_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_list
librelab_la_SOURCES += src/data/idx.c src/data/idx.h

check_PROGRAMS += tests/test_idx
tests_test_idx_SOURCES = tests/test_idx.c
tests_test_idx_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_idx
EXTRA_DIST += tests/idx_reference.py
librelab_la_SOURCES += src/data/loader.c src/data/loader.h

check_PROGRAMS += tests/test_loader
tests_test_loader_SOURCES = tests/test_loader.c
tests_test_loader_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_loader

# relab export-images (the command itself is listed in src/cli/local.mk)
TESTS += tests/test_export_images.py
EXTRA_DIST += tests/test_export_images.py
