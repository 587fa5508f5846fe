/* pool.h: max pooling (k x k, stride s, padding p; ResNet uses 3/2/1) and
 * global average pooling, channels-last.
 *
 * Max pool keeps no index tensor: backward finds the maximum again, scanning
 * the window in the same order as forward (first maximum wins, as in
 * PyTorch), which costs a little compute and saves an activation-sized buffer.
 * Backward routines ACCUMULATE into dx, except rl_maxpool_backward_to. */
#ifndef RL_POOL_H
#define RL_POOL_H

#include "nn/tensor.h"

typedef struct {
    int k, stride, pad;
} rl_maxpool;

rl_shape rl_maxpool_out_shape(const rl_maxpool *p, rl_shape in);
void rl_maxpool_forward(const rl_maxpool *p, rl_shape in, const float *x, float *y);
void rl_maxpool_backward(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx);
/* rl_maxpool_backward into a dx it OVERWRITES: each image's dx is zeroed by
 * the thread that then scatters into it (no serial pass over dx first);
 * bitwise zeroing dx, then rl_maxpool_backward. */
void rl_maxpool_backward_to(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx);

/* y[n, c] = mean over h, w of x[n, h, w, c]. */
void rl_avgpool_forward(rl_shape in, const float *x, float *y);
void rl_avgpool_backward(rl_shape in, const float *dy, float *dx);

#endif
