/* winograd.h: 3x3 stride-1 convolutions by Winograd's minimal filtering,
 * F(m x m, 3 x 3) with m = 2 or 4 (Lavin & Gray 2016, "Fast Algorithms for
 * Convolutional Neural Networks"), channels-last.
 *
 * Each output tile of m x m pixels is Y = A^T [ U (.) V ] A with, per channel
 * pair, U = G w G^T (the 3x3 kernel, transformed) and V = B^T d B (the
 * (m+2) x (m+2) input tile, transformed).  Summing over input channels turns
 * the elementwise product into one GEMM per transformed position (xi, nu):
 *   M[xi,nu] (tiles x OC) = V[xi,nu] (tiles x C) * U[xi,nu]^T (C x OC),
 * run as (m+2)^2 OpenBLAS sgemm calls; this multiplies 2.25x (m = 2) or 4x
 * (m = 4) less than im2col + GEMM.  The input gradient is the same algorithm
 * on dy with the kernel rotated by 180 degrees and its channels swapped; the
 * weight gradient is dU[xi,nu] (OC x C) = Z[xi,nu]^T V[xi,nu] with
 * Z = A dy_tile A^T, then dw = G^T dU G.  Tiles are processed in chunks of
 * images so the workspace stays bounded (RL_CONV_WINOGRAD: each transform a
 * parallel pass over the chunk, each GEMM multi-threaded) or, for
 * RL_CONV_WINOGRAD_BLOCKS, in blocks of up to 64 tiles, each thread transforming,
 * multiplying and transforming back its own block within its caches; only U
 * is shared (so the rule in conv.c keeps this for layers where U is small).
 * Its weight gradient sums each group of blocks into a partial dU of its own;
 * where those partials would pass 32 MiB (256 x 256 channels) it runs by
 * chunks instead (winograd.c, wgrad_by_blocks).
 *
 * float32 error: the transforms add and scale, so results differ from direct
 * summation by more than rounding of a plain GEMM; docs/performance.md gives
 * the measured error against float64 (m = 4 has the larger one).
 * Only for k = 3, stride 1, pad 1 (RL_CHECKed).  Same ownership and
 * accumulate/overwrite contract as conv.h; not thread-safe per workspace.
 */
#ifndef RL_WINOGRAD_H
#define RL_WINOGRAD_H

#include <stddef.h>

#include "nn/conv.h"

/* Floats of workspace for output tile m (2 or 4) and input shape `in`. */
size_t rl_winograd_workspace_floats(const rl_conv *cv, rl_shape in, int m);

void rl_winograd_forward(const rl_conv *cv, rl_shape in, int m, const float *x, float *y, float *ws);
void rl_winograd_backward_data(const rl_conv *cv, rl_shape in, int m, const float *dy, float *dx, int accumulate,
                               float *ws);
/* ACCUMULATES into cv->dw. */
void rl_winograd_backward_weights(const rl_conv *cv, rl_shape in, int m, const float *x, const float *dy, float *ws);

#endif
