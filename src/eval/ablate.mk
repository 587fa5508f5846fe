# predict (library side of relab predict) and the ablation runner (relab ablate)
librelab_la_SOURCES += src/train/predict.c src/train/predict.h
librelab_la_SOURCES += src/eval/ablate.c src/eval/ablate.h

TESTS += tests/test_ablate.sh
EXTRA_DIST += tests/test_ablate.sh
TESTS += tests/test_predict.py
EXTRA_DIST += tests/test_predict.py
