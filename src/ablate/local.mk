# src/ablate: grids of training runs and the Table 2 layout (relab ablate):
# the grid file, its runs, the run scheduler, each run's plan, scores,
# tables, plots and the output folder
librelab_la_SOURCES += src/ablate/grid.c src/ablate/grid.h src/ablate/runs.c src/ablate/runs.h \
	src/ablate/sched.c src/ablate/sched.h src/ablate/facts.c src/ablate/facts.h \
	src/ablate/curve.c src/ablate/curve.h src/ablate/results.c src/ablate/results.h \
	src/ablate/table.c src/ablate/table.h src/ablate/svg.c src/ablate/svg.h \
	src/ablate/outputs.c src/ablate/outputs.h

TESTS += tests/test_ablate.sh
EXTRA_DIST += tests/test_ablate.sh
librelab_la_SOURCES += src/ablate/scores.c src/ablate/scores.h
