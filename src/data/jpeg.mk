# src/data JPEG pipeline: jpeg decode, augment, ImageNet folders and lists, packed shards
librelab_la_SOURCES += src/data/jpeg.c src/data/jpeg.h src/data/augment.c src/data/augment.h \
	src/data/imagenet.c src/data/imagenet.h src/data/scan.c src/data/scan.h src/data/pack.c src/data/pack.h \
	src/data/png.c src/data/png.h

check_PROGRAMS += tests/test_jpeg
tests_test_jpeg_SOURCES = tests/test_jpeg.c tests/jpeg_fixture.h tests/tap.h
tests_test_jpeg_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_jpeg

EXTRA_DIST += tests/make_jpeg_fixture.py

check_PROGRAMS += tests/test_augment
tests_test_augment_SOURCES = tests/test_augment.c tests/jpeg_fixture.h tests/tap.h
tests_test_augment_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_augment

check_PROGRAMS += tests/test_imagenet
tests_test_imagenet_SOURCES = tests/test_imagenet.c tests/jpeg_fixture.h tests/tap.h
tests_test_imagenet_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_imagenet

# bench/data: relab vs Pillow+torchvision decode+augment throughput (make bench/data; not a test)
EXTRA_PROGRAMS += bench/data
bench_programs += bench/data
bench_data_SOURCES = bench/data.c
bench_data_CPPFLAGS = $(AM_CPPFLAGS) -DRL_SRCDIR='"$(abs_top_srcdir)"'
bench_data_LDADD = librelab.la $(RELAB_LIBS)
EXTRA_DIST += bench/data_ref.py
