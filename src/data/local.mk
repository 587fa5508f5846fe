# src/data: data sources (Fashion-MNIST IDX, ImageNet folders, packed shards), decode, augment, loader
librelab_la_SOURCES += src/data/source.c src/data/source.h

# relab list (image folders), relab split, relab clean --keep-list
TESTS += tests/test_lists.py
EXTRA_DIST += tests/test_lists.py
