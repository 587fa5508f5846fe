/* tensor.h: shapes and the activation layout.
 *
 * relab stores activations channels-last, NHWC: element (n, h, w, c) of a
 * tensor of shape {n, c, h, w} is at ((n*h + y)*w + x)*c + ch.  With that
 * layout a 1x1 convolution over a whole batch is one GEMM of (N*H*W x C) by
 * (C x OC), im2col rows are contiguous copies of C channels, and batch norm
 * streams over rows with the channels vectorised.  PyTorch's "channels_last"
 * is the same memory order.  Weight files keep PyTorch's (OC, C, KH, KW)
 * order; conversion happens only at load and save (see weights.h).
 */
#ifndef RL_TENSOR_H
#define RL_TENSOR_H

#include <stddef.h>

typedef struct {
    int n, c, h, w;
} rl_shape;

static inline size_t rl_shape_count(rl_shape s)
{
    return (size_t)s.n * s.c * s.h * s.w;
}
/* Rows of the (N*H*W x C) matrix view. */
static inline size_t rl_shape_rows(rl_shape s)
{
    return (size_t)s.n * s.h * s.w;
}

/* Copies between PyTorch's NCHW and relab's NHWC. */
void rl_nchw_to_nhwc(const float *src, float *dst, rl_shape s);
void rl_nhwc_to_nchw(const float *src, float *dst, rl_shape s);

#endif
