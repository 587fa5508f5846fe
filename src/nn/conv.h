/* conv.h: 2-D convolution (no bias), channels-last, as GEMMs on OpenBLAS.
 *
 *   y[n, oh, ow, oc] = sum_{kh, kw, c} w[oc, kh, kw, c] * x[n, oh*s - p + kh, ow*s - p + kw, c]
 *
 * With NHWC activations the output is the matrix Y (N*OH*OW x OC) = cols * W^T,
 * where a row of cols (N*OH*OW x KH*KW*C) holds the receptive field of one
 * output pixel.  A 1x1 stride-1 convolution needs no cols: X itself is the
 * (N*H*W x C) matrix.  Larger kernels build cols for a chunk of images at a
 * time in the caller's workspace, so the workspace stays bounded whatever the
 * batch size (see rl_conv_workspace_floats).
 *
 * Weights are stored (OC, KH, KW, C) so that a row of W matches a row of cols;
 * PyTorch's (OC, C, KH, KW) order is converted at load/save (weights.c).
 * Gradient routines ACCUMULATE into dw; backward_data accumulates into dx when
 * accumulate != 0 and overwrites it otherwise.
 */
#ifndef RL_CONV_H
#define RL_CONV_H

#include <stddef.h>
#include "nn/tensor.h"

typedef struct {
    int in_c, out_c, k, stride, pad;
    float *w;  /* (OC, K, K, C), not owned (points into the net's parameter arena) */
    float *dw; /* (OC, K, K, C), not owned */
} rl_conv;

rl_shape rl_conv_out_shape(const rl_conv *cv, rl_shape in);

/* Floats of workspace the three routines need for input shape `in`. */
size_t rl_conv_workspace_floats(const rl_conv *cv, rl_shape in);

void rl_conv_forward(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws);
void rl_conv_backward_data(const rl_conv *cv, rl_shape in, const float *dy, float *dx, int accumulate, float *ws);
void rl_conv_backward_weights(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *ws);

/* Naive reference (direct loops, double accumulation) for tests. */
void rl_conv_forward_reference(const rl_conv *cv, rl_shape in, const float *x, float *y);

#endif
