/* bn.h: batch normalisation over the rows of a channels-last tensor
 * (Ioffe & Szegedy 2015), optionally fused with ReLU and with a residual add.
 *
 * Training mode normalises with the batch's mean and biased variance and
 * updates running_mean/running_var as PyTorch does:
 *   running = (1 - momentum) * running + momentum * batch_stat,  momentum = 0.1,
 *   running_var uses the unbiased batch variance (M / (M - 1)).
 * (TensorFlow writes the same thing as decay 0.9.)  Eval mode uses the running
 * statistics.  Per-channel sums are computed in a fixed number of row blocks
 * and combined in order, so results are bitwise identical for any number of
 * threads.
 *
 * Forward writes y (x itself, computed in place, or memory that does not
 * overlap x) and, in training mode, saves mean and inverse std per channel
 * into save_mean/save_invstd for backward.  Backward
 * ACCUMULATES dgamma/dbeta and OVERWRITES dx; dy is taken after the ReLU mask
 * when the layer was fused with ReLU (the routine applies the mask from y).
 */
#ifndef RL_BN_H
#define RL_BN_H

#include <stddef.h>
#include <stdint.h>

/* Synchronised BN (train/dist.h): replaces sums[0..n) and *rows in place by
 * their totals over all data-parallel replicas, identically on every one. */
typedef void (*rl_bn_sync_fn)(void *ctx, double *sums, size_t n, size_t *rows);

typedef struct {
    int c;
    float eps, momentum;
    float *gamma, *beta;               /* [C] parameters (not owned) */
    float *dgamma, *dbeta;             /* [C] gradients (not owned) */
    float *running_mean, *running_var; /* [C] buffers (not owned) */
    int64_t *num_batches_tracked;      /* PyTorch's counter (not owned) */
    /* NULL: statistics of this process's rows.  Else training forward calls
     * sync on (sum x) and on (sum x, sum (x - m)^2), and backward on (sum dy,
     * sum dy (x - m)) after dgamma/dbeta took the local sums (the gradient
     * all-reduce averages those), so the statistics are the global batch's. */
    rl_bn_sync_fn sync;
    void *sync_ctx;
} rl_bn;

/* Doubles of scratch the routines need for C channels. */
size_t rl_bn_scratch_doubles(int c);

/* y = [relu](bn(x) [+ residual]); residual may be NULL. rows = N*H*W. */
void rl_bn_forward(const rl_bn *bn, size_t rows, const float *x, const float *residual, int relu, int train, float *y,
                   float *save_mean, float *save_invstd, double *scratch);

/* Training forward with the batch statistics taken from moments the caller
 * computed per image while each image's rows were in cache (a convolution's
 * per-image epilogue, conv.h), instead of in a pass of its own over x:
 * moments holds rl_bn_image_moments of each of the `images` images of x
 * (rows / images rows each), in image order.  Otherwise rl_bn_forward with
 * train = 1; the statistics differ from its in rounding only (they are
 * summed per image, then over images in order: the same for any thread
 * count). */
size_t rl_bn_moments_doubles(int c, int images);
void rl_bn_image_moments(int c, size_t rows, const float *x, double *moments);
void rl_bn_forward_moments(const rl_bn *bn, int images, size_t rows, const double *moments, const float *x,
                           const float *residual, int relu, float *y, float *save_mean, float *save_invstd,
                           double *scratch);

/* rl_bn_forward_moments in two steps, so that the normalisation can run on
 * each image right before the next convolution reads it (conv.h,
 * rl_conv_prologue): rl_bn_stats_moments takes the batch statistics (saved,
 * and the running ones updated) without writing y; rl_bn_apply_rows then
 * writes y of rows [lo, hi) on the calling thread (calls on disjoint rows may
 * run concurrently; residual may be y itself).  Bitwise what
 * rl_bn_forward_moments writes. */
void rl_bn_stats_moments(const rl_bn *bn, int images, size_t rows, const double *moments, const float *x,
                         float *save_mean, float *save_invstd, double *scratch);
void rl_bn_apply_rows(const rl_bn *bn, size_t lo, size_t hi, const float *x, const float *residual, int relu,
                      const float *save_mean, const float *save_invstd, float *y);

/* Eval-mode forward of `rows` rows on the calling thread alone (no OpenMP):
 * bitwise what rl_bn_forward(train = 0) writes for them.  For a convolution's
 * per-image epilogue (conv.h), which runs it inside its own parallel loop
 * while the image's output is still in cache. */
void rl_bn_eval_rows(const rl_bn *bn, size_t rows, const float *x, const float *residual, int relu, float *y);

/* Eval-mode BN as an affine map per channel, y = scale * x + shift (scale =
 * gamma / sqrt(running_var + eps), shift = beta - running_mean * scale), for
 * folding into the preceding convolution's weights.  Equal to what
 * rl_bn_eval_rows computes up to float32 rounding (that subtracts the mean
 * first). */
void rl_bn_eval_affine(const rl_bn *bn, float *scale, float *shift);

/* Recomputes a training forward's output from its input and the statistics
 * it saved: bitwise the y that rl_bn_forward wrote (without residual), as
 * long as gamma and beta are unchanged.  Lets the network drop BN+ReLU outputs
 * after forward and rebuild them in backward. */
void rl_bn_recompute(const rl_bn *bn, size_t rows, const float *x, int relu, const float *save_mean,
                     const float *save_invstd, float *y);

/* How rl_bn_backward treats a ReLU after the BN:
 *   RL_BN_NO_RELU  none; dx may be dy itself (computed in place);
 *   RL_BN_RELU_Y   mask from y > 0 (any fused forward, residual included);
 *                  dy is rewritten in place to the masked gradient, which the
 *                  residual shortcut also needs; dx may be y itself (y is
 *                  then overwritten: the caller no longer needs it);
 *   RL_BN_RELU_X   y = relu(bn(x)) without residual: the mask is recomputed
 *                  from x bitwise as forward computed it, y is not read (may
 *                  be NULL) and dy is left as it was unless dx is dy itself
 *                  (computed in place): two memory streams fewer than
 *                  RL_BN_RELU_Y. */
enum { RL_BN_NO_RELU = 0, RL_BN_RELU_Y = 1, RL_BN_RELU_X = 2 };

/* Given dy w.r.t. y, computes dx (overwritten) and accumulates dgamma/dbeta;
 * relu is one of the modes above. */
void rl_bn_backward(const rl_bn *bn, size_t rows, const float *x, const float *y, float *dy, int relu,
                    const float *save_mean, const float *save_invstd, float *dx, double *scratch);

/* rl_bn_backward in its two passes, so that the second can run on each image
 * right before a convolution's backward GEMMs read its dx (conv.h,
 * rl_conv_prologue): rl_bn_backward_sums takes the sums over all rows,
 * accumulates dgamma/dbeta and fills coef (rl_bn_coef_floats(c) floats);
 * rl_bn_backward_rows then writes dx of rows [lo, hi) on the calling thread
 * (calls on disjoint rows may run concurrently).  Together they are bitwise
 * rl_bn_backward, which runs the same two. */
size_t rl_bn_coef_floats(int c);
void rl_bn_backward_sums(const rl_bn *bn, size_t rows, const float *x, const float *y, const float *dy, int relu,
                         const float *save_mean, const float *save_invstd, double *scratch, float *coef);
void rl_bn_backward_rows(const rl_bn *bn, size_t lo, size_t hi, const float *x, const float *y, float *dy, int relu,
                         const float *save_mean, const float *coef, float *dx);

#endif
