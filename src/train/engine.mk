# src/train engine pieces: losses, schedules, recipes
librelab_la_SOURCES += src/train/loss.c src/train/loss.h src/train/schedule.c src/train/schedule.h \
	src/train/recipe.c src/train/recipe.h src/train/recipe_keys.c src/train/recipe_keys.h

check_PROGRAMS += tests/test_loss tests/test_schedule tests/test_recipe tests/loss_dump
tests_test_loss_SOURCES = tests/test_loss.c
tests_test_loss_LDADD = librelab.la $(RELAB_LIBS)
tests_test_schedule_SOURCES = tests/test_schedule.c
tests_test_schedule_LDADD = librelab.la $(RELAB_LIBS)
tests_test_recipe_SOURCES = tests/test_recipe.c
tests_test_recipe_LDADD = librelab.la $(RELAB_LIBS)
# loss_dump: reads logits/targets, prints loss and gradient; driven by test_loss_torch.py.
tests_loss_dump_SOURCES = tests/loss_dump.c
tests_loss_dump_LDADD = librelab.la $(RELAB_LIBS)
TESTS += tests/test_loss tests/test_schedule tests/test_recipe tests/test_loss_torch.py
EXTRA_DIST += tests/test_loss_torch.py docs/recipes.md recipes tests/recipes-bad
