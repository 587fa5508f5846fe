# src/train: SGD, checkpoints, data sets from recipes, the training loop
librelab_la_SOURCES += src/train/sgd.c src/train/sgd.h src/train/checkpoint.c src/train/checkpoint.h \
	src/train/datasets.c src/train/datasets.h src/train/trainer.c src/train/trainer.h
