# src/train: SGD, checkpoints, data sets from recipes, recipe plans, the trainer
# object, its observers and the run in a folder
librelab_la_SOURCES += src/train/sgd.c src/train/sgd.h src/train/checkpoint.c src/train/checkpoint.h \
	src/train/datasets.c src/train/datasets.h src/train/plan.c src/train/plan.h \
	src/train/trainer.c src/train/trainer.h src/train/observers.c src/train/observers.h \
	src/train/run.c src/train/run.h

# the recipe key epoch_length (a cleaned run's epoch: a pass over its list, or the full set's steps)
TESTS += tests/test_epoch_length.sh
EXTRA_DIST += tests/test_epoch_length.sh
