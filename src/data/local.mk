# src/data: data sources (Fashion-MNIST IDX, ImageNet folders, packed shards), decode, augment, loader
librelab_la_SOURCES += src/data/source.c src/data/source.h
