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

/* How the three routines run a convolution (a 1x1 stride-1 one needs no
 * cols: batched it is one GEMM over the batch, per image one per image):
 *   RL_CONV_BATCHED    cols of a chunk of images, one multi-threaded GEMM;
 *   RL_CONV_PER_IMAGE  images spread over the OpenMP threads, each thread
 *                      building one image's cols in its own slice of the
 *                      workspace (cache-resident) and running a single-
 *                      threaded GEMM on it.  Better when the GEMM is narrow
 *                      (few output channels): OpenBLAS splits a narrow GEMM
 *                      poorly and streams a cols matrix far larger than cache.
 *                      A 1x1 layer on maps under 392 pixels runs two images
 *                      per GEMM (fixed pairs within the weight gradient's
 *                      groups).  backward_weights sums groups of images,
 *                      each into its own partial gradient, then adds the
 *                      partials in order.  Up to 8 threads there are 8
 *                      groups and every result is the same whatever the
 *                      thread count; past 8, one group per thread (up to
 *                      one per image), and the results depend on the
 *                      thread count (conv.c, wgrad_groups).
 * Batched, backward_weights is one GEMM per chunk (its reduction over images
 * is OpenBLAS's, deterministic for a fixed thread count).
 *   RL_CONV_WINOGRAD   3x3 stride-1 pad-1 only: F(m x m, 3 x 3) for all three
 *                      routines (nn/winograd.h), m = cv->tile, each step over
 *                      a chunk of images with multi-threaded GEMMs;
 *   RL_CONV_WINOGRAD_BLOCKS  the same transforms on blocks of tiles, one block
 *                      per thread at a time with single-threaded GEMMs (the
 *                      data stay in the thread's caches); every result is the
 *                      same whatever the thread count up to 8 threads and
 *                      as many blocks of 64 tiles as threads (smaller blocks
 *                      and more weight-gradient groups past that), but for
 *                      the weight gradient of layers whose per-group
 *                      partials would be too large (256 x 256 channels),
 *                      which runs as RL_CONV_WINOGRAD does.
 *   RL_CONV_ROWS       per image, as RL_CONV_PER_IMAGE, but without cols.
 *                      The image is expanded along its width only, into R
 *                      (H + 2P padded rows x OW pixels x K*C: the K
 *                      horizontal taps of each output column), its rows
 *                      stored by phase (row mod stride) so that the rows kernel
 *                      row kh reads for output rows 0, 1, ... are consecutive:
 *                      kernel row kh is one GEMM over OH*OW rows of R, K GEMMs
 *                      of depth K*C in place of one of depth K*K*C, on a buffer
 *                      about K/stride times smaller than cols (a third of the
 *                      copying for 3x3 stride 1).  Same thread-count
 *                      independence as RL_CONV_PER_IMAGE. */
typedef enum {
    RL_CONV_BATCHED = 0,
    RL_CONV_PER_IMAGE = 1,
    RL_CONV_WINOGRAD = 2,
    RL_CONV_WINOGRAD_BLOCKS = 3,
    RL_CONV_ROWS = 4
} rl_conv_algo;

typedef struct {
    int in_c, out_c, k, stride, pad;
    float *w;    /* (OC, K, K, C), not owned (points into the net's parameter arena) */
    float *dw;   /* (OC, K, K, C), not owned */
    int algo;    /* rl_conv_algo; 0 (batched) unless set, e.g. by rl_conv_choose */
    int threads; /* RL_CONV_PER_IMAGE: most OpenMP threads a call may use (workspace slices) */
    int tile;    /* RL_CONV_WINOGRAD: output tile m, 2 or 4 */
} rl_conv;

rl_shape rl_conv_out_shape(const rl_conv *cv, rl_shape in);

/* Sets cv->algo and cv->threads for inputs of shape `in` and up to `threads`
 * OpenMP threads, by a fixed rule on the shapes and the BLAS core (so a
 * resumed run on the same machine makes the same choice; docs/performance.md
 * has the measurements behind it):
 * Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions of 16 or more channels
 * in and out (by blocks of tiles up to 256 x 256 channels), per image for
 * the others with 14x14 or more output pixels, batched otherwise; but by
 * kernel rows (RL_CONV_ROWS) for the other 3x3 convolutions of at most 64
 * output channels and 3 or more input channels (1 or more on cores with
 * OpenBLAS's small-matrix kernels, rl_blas_small_gemm).  The environment variable
 * RELAB_CONV=gemm forces the plain im2col + GEMM path (RL_CONV_BATCHED)
 * everywhere; RELAB_CONV=image, rows, winograd2, winograd4 (chunks of
 * images) or winograd2b, winograd4b (blocks of tiles) force that algorithm
 * wherever it applies (for measurements). */
void rl_conv_choose(rl_conv *cv, rl_shape in, int threads);

/* Floats of workspace the three routines need for input shape `in` (after
 * the algorithm is set). */
size_t rl_conv_workspace_floats(const rl_conv *cv, rl_shape in);

void rl_conv_forward(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws);

/* Work on each image's output right after the convolution wrote it (an
 * eval-mode BN, say): fn(ctx, n, y_n), y_n the OH*OW*OC floats of image n.
 * The per-image algorithms call it on the thread that computed the image,
 * while its output is still in that core's cache, which saves the separate
 * pass over memory; the others call it for every image after the whole
 * output, the images spread over the threads.  Calls for different images
 * may run concurrently, from OpenMP threads; fn must not start OpenMP work. */
typedef struct {
    void (*fn)(void *ctx, int n, float *y_n);
    void *ctx;
} rl_conv_epilogue;

/* y += the convolution of x, then `then` on every image's y (NULL:
 * nothing): for 1x1 stride-1 layers only (a shortcut already in y, say).
 * The same algorithms as rl_conv_forward, with OpenBLAS's beta = 1, which
 * also skips its zeroing pass over y. */
void rl_conv_forward_add(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                         const rl_conv_epilogue *then);

/* rl_conv_forward, then `then` on every image's output (NULL: nothing). */
void rl_conv_forward_then(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                          const rl_conv_epilogue *then);
void rl_conv_backward_data(const rl_conv *cv, rl_shape in, const float *dy, float *dx, int accumulate, float *ws);
void rl_conv_backward_weights(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *ws);

/* Both gradients: rl_conv_backward_weights, then (dx != NULL)
 * rl_conv_backward_data, with bitwise their results; where the algorithm
 * allows, in one pass over the images (dy read once while in cache). */
void rl_conv_backward(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *dx, int accumulate,
                      float *ws);

/* Work on a run of images' input right before the convolution's GEMMs read
 * it (computing it, say: the previous layer's batch norm, or batch norm's
 * input gradient for backward's dy): fn(ctx, n0, n1) for images [n0, n1).
 * The per-image algorithms call it for each image or run of images on the
 * thread that then multiplies them, while they are in its cache; the others
 * call it for every image first.  Calls for different images may run
 * concurrently, from OpenMP threads; fn must write only those images' rows
 * and must not start OpenMP work. */
typedef struct {
    void (*fn)(void *ctx, int n0, int n1);
    void *ctx;
} rl_conv_prologue;

/* rl_conv_forward with `before` (NULL: nothing) on every image's x, as on
 * dy above (normalising it, say: the previous layer's batch norm), and then
 * `then` on every image's y. */
void rl_conv_forward_between(const rl_conv *cv, rl_shape in, const float *x, float *y, float *ws,
                             const rl_conv_prologue *before, const rl_conv_epilogue *then);

/* rl_conv_backward after `before` (NULL: nothing) on every image's dy. */
void rl_conv_backward_after(const rl_conv *cv, rl_shape in, const float *x, const float *dy, float *dx, int accumulate,
                            float *ws, const rl_conv_prologue *before);

/* Naive reference (direct loops, double accumulation) for tests. */
void rl_conv_forward_reference(const rl_conv *cv, rl_shape in, const float *x, float *y);

#endif
