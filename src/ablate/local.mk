# src/ablate: grids of training runs and the Table 2 layout (relab ablate)
librelab_la_SOURCES += src/ablate/svg.c src/ablate/svg.h
