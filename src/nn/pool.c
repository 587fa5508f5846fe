/* pool.c: max and global-average pooling on NHWC tensors (see pool.h). */
#include "nn/pool.h"

#include <float.h>

rl_shape rl_maxpool_out_shape(const rl_maxpool *p, rl_shape in)
{
    rl_shape out = {in.n, in.c, (in.h + 2 * p->pad - p->k) / p->stride + 1, (in.w + 2 * p->pad - p->k) / p->stride + 1};
    return out;
}

void rl_maxpool_forward(const rl_maxpool *p, rl_shape in, const float *x, float *y)
{
    rl_shape out = rl_maxpool_out_shape(p, in);
    const int C = in.c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < in.n; n++)
        for (int oh = 0; oh < out.h; oh++)
            for (int ow = 0; ow < out.w; ow++) {
                float *yr = y + (((size_t)n * out.h + oh) * out.w + ow) * C;
                for (int c = 0; c < C; c++) yr[c] = -FLT_MAX;
                for (int kh = 0; kh < p->k; kh++) {
                    int ih = oh * p->stride - p->pad + kh;
                    if (ih < 0 || ih >= in.h) continue;
                    for (int kw = 0; kw < p->k; kw++) {
                        int iw = ow * p->stride - p->pad + kw;
                        if (iw < 0 || iw >= in.w) continue;
                        const float *xr = x + (((size_t)n * in.h + ih) * in.w + iw) * C;
                        for (int c = 0; c < C; c++) yr[c] = xr[c] > yr[c] ? xr[c] : yr[c];
                    }
                }
            }
}

void rl_maxpool_backward(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx)
{
    rl_shape out = rl_maxpool_out_shape(p, in);
    const int C = in.c;
    /* Windows overlap along both axes, so parallelise over images only. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < in.n; n++)
        for (int oh = 0; oh < out.h; oh++)
            for (int ow = 0; ow < out.w; ow++) {
                const float *dyr = dy + (((size_t)n * out.h + oh) * out.w + ow) * C;
                for (int c = 0; c < C; c++) {
                    float best = -FLT_MAX;
                    size_t at = 0;
                    int found = 0;
                    for (int kh = 0; kh < p->k; kh++) {
                        int ih = oh * p->stride - p->pad + kh;
                        if (ih < 0 || ih >= in.h) continue;
                        for (int kw = 0; kw < p->k; kw++) {
                            int iw = ow * p->stride - p->pad + kw;
                            if (iw < 0 || iw >= in.w) continue;
                            size_t idx = (((size_t)n * in.h + ih) * in.w + iw) * C + c;
                            if (!found || x[idx] > best) {
                                best = x[idx];
                                at = idx;
                                found = 1;
                            }
                        }
                    }
                    if (found) dx[at] += dyr[c];
                }
            }
}

void rl_avgpool_forward(rl_shape in, const float *x, float *y)
{
    const int C = in.c;
    const size_t hw = (size_t)in.h * in.w;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < in.n; n++) {
        double acc[C > 0 ? C : 1];
        for (int c = 0; c < C; c++) acc[c] = 0;
        for (size_t p = 0; p < hw; p++) {
            const float *xr = x + ((size_t)n * hw + p) * C;
            for (int c = 0; c < C; c++) acc[c] += xr[c];
        }
        for (int c = 0; c < C; c++) y[(size_t)n * C + c] = (float)(acc[c] / (double)hw);
    }
}

void rl_avgpool_backward(rl_shape in, const float *dy, float *dx)
{
    const int C = in.c;
    const size_t hw = (size_t)in.h * in.w;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < in.n; n++)
        for (size_t p = 0; p < hw; p++) {
            float *d = dx + ((size_t)n * hw + p) * C;
            const float *g = dy + (size_t)n * C;
            for (int c = 0; c < C; c++) d[c] += g[c] * inv;
        }
}
