# src/nn: tensors, layers (forward and backward), ResNets, weight files
librelab_la_SOURCES += src/nn/tensor.c src/nn/tensor.h
