# predict (library side of relab predict) and the demo that uses every command
librelab_la_SOURCES += src/eval/predict.c src/eval/predict.h

TESTS += tests/test_predict.py
EXTRA_DIST += tests/test_predict.py
TESTS += tests/test_demo.sh
EXTRA_DIST += tests/test_demo.sh scripts/demo.sh recipes/demo/grid recipes/demo/fmnist-noisy.recipe \
	recipes/demo/teacher.recipe recipes/imagenet/table2.grid docs/ablate.md docs/demo.md
