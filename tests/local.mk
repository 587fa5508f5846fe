# tests: the nn core and the lead's integration tests
check_PROGRAMS += tests/test_nn
tests_test_nn_SOURCES = tests/test_nn.c tests/tap.h
tests_test_nn_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_nn
check_PROGRAMS += tests/test_parity
tests_test_parity_SOURCES = tests/test_parity.c tests/tap.h
tests_test_parity_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_parity.sh
EXTRA_DIST += tests/test_parity.sh
TESTS += tests/test_train.sh
EXTRA_DIST += tests/test_train.sh
TESTS += tests/test_train_folder.sh
EXTRA_DIST += tests/test_train_folder.sh
TESTS += tests/test_demo_effect.sh
EXTRA_DIST += tests/test_demo_effect.sh
EXTRA_DIST += tests/taplib.py tests/relab_rng.py tests/imagenet_refs.py
TESTS += tests/test_train_stop.sh
EXTRA_DIST += tests/test_train_stop.sh tests/trainlib.sh
# train_driver: relab train through the public API with injected crashes and
# divergence (test_train.sh, test_dist.sh)
check_PROGRAMS += tests/train_driver
tests_train_driver_SOURCES = tests/train_driver.c
tests_train_driver_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_train_safety.sh
EXTRA_DIST += tests/test_train_safety.sh
TESTS += tests/test_atomic.sh
EXTRA_DIST += tests/test_atomic.sh
TESTS += tests/test_layers.py
EXTRA_DIST += tests/test_layers.py
# src/util: atomic files, locks, the key = value parser, the log callback
check_PROGRAMS += tests/test_util
tests_test_util_SOURCES = tests/test_util.c tests/tap.h
tests_test_util_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_util

# The JPEG fixtures tests/jpeg_fixture.h makes in the build tree (test_jpeg,
# test_imagenet, test_augment); make distcheck requires a clean build tree.
clean-local: clean-jpeg-fixtures
clean-jpeg-fixtures:
	rm -rf tests/fixture-jpeg tests/fixture-imagenet tests/fixture-augment
.PHONY: clean-jpeg-fixtures
