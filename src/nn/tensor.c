/* tensor.c: layout conversions between NCHW (PyTorch, files) and NHWC (relab). */
#include "nn/tensor.h"

void rl_nchw_to_nhwc(const float *src, float *dst, rl_shape s)
{
    const size_t hw = (size_t)s.h * s.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s.n; n++)
        for (size_t p = 0; p < hw; p++)
            for (int c = 0; c < s.c; c++)
                dst[((size_t)n * hw + p) * s.c + c] = src[((size_t)n * s.c + c) * hw + p];
}

void rl_nhwc_to_nchw(const float *src, float *dst, rl_shape s)
{
    const size_t hw = (size_t)s.h * s.w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++)
            for (size_t p = 0; p < hw; p++)
                dst[((size_t)n * s.c + c) * hw + p] = src[((size_t)n * hw + p) * s.c + c];
}
