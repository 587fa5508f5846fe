# src/nn: tensors, layers (forward and backward), ResNets, weight files
librelab_la_SOURCES += src/nn/tensor.c src/nn/tensor.h src/nn/conv.c src/nn/conv.h src/nn/winograd.c src/nn/winograd.h src/nn/bn.c src/nn/bn.h \
	src/nn/pool.c src/nn/pool.h src/nn/fc.c src/nn/fc.h src/nn/params.c src/nn/params.h \
	src/nn/profile.c src/nn/profile.h src/nn/resnet.c src/nn/resnet.h src/nn/weights.c src/nn/weights.h
