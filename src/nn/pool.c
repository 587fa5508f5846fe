/* pool.c: max and global-average pooling on NHWC tensors (see pool.h). */
#include "nn/pool.h"

#include <float.h>
#include <string.h>

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
                for (int c = 0; c < C; c++)
                    yr[c] = -FLT_MAX;
                for (int kh = 0; kh < p->k; kh++) {
                    int ih = oh * p->stride - p->pad + kh;
                    if (ih < 0 || ih >= in.h) continue;
                    for (int kw = 0; kw < p->k; kw++) {
                        int iw = ow * p->stride - p->pad + kw;
                        if (iw < 0 || iw >= in.w) continue;
                        const float *xr = x + (((size_t)n * in.h + ih) * in.w + iw) * C;
                        for (int c = 0; c < C; c++)
                            yr[c] = xr[c] > yr[c] ? xr[c] : yr[c];
                    }
                }
            }
}

/* One output pixel: the first maximum of each channel over the window, found
 * with the channels in the vector lanes (a scan per channel ran scalar and
 * took 4% of a ResNet-50 step), then dx at each winner += dy. */
static void maxpool_backward_pixel(const rl_maxpool *p, rl_shape in, const float *restrict xn, int oh, int ow,
                                   const float *restrict dyr, float *restrict dxn, float *restrict best,
                                   int *restrict at)
{
    const int C = in.c;
    int first = 1;
    for (int kh = 0; kh < p->k; kh++) {
        int ih = oh * p->stride - p->pad + kh;
        if (ih < 0 || ih >= in.h) continue;
        for (int kw = 0; kw < p->k; kw++) {
            int iw = ow * p->stride - p->pad + kw;
            if (iw < 0 || iw >= in.w) continue;
            const int pix = ih * in.w + iw;
            const float *xr = xn + (size_t)pix * C;
            if (first) {
                for (int c = 0; c < C; c++) {
                    best[c] = xr[c];
                    at[c] = pix;
                }
                first = 0;
                continue;
            }
            for (int c = 0; c < C; c++) {
                int more = xr[c] > best[c]; /* strict: the first maximum wins, as in forward and PyTorch */
                best[c] = more ? xr[c] : best[c];
                at[c] = more ? pix : at[c];
            }
        }
    }
    if (!first)
        for (int c = 0; c < C; c++)
            dxn[(size_t)at[c] * C + c] += dyr[c];
}

static void maxpool_backward(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx,
                             int overwrite)
{
    rl_shape out = rl_maxpool_out_shape(p, in);
    const int C = in.c;
    const size_t image = (size_t)in.h * in.w * C;
    /* Windows overlap along both axes, so parallelise over images only. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < in.n; n++) {
        float best[C > 0 ? C : 1];
        int at[C > 0 ? C : 1];
        if (overwrite) memset(dx + n * image, 0, sizeof(float) * image);
        for (int oh = 0; oh < out.h; oh++)
            for (int ow = 0; ow < out.w; ow++)
                maxpool_backward_pixel(p, in, x + n * image, oh, ow, dy + (((size_t)n * out.h + oh) * out.w + ow) * C,
                                       dx + n * image, best, at);
    }
}

void rl_maxpool_backward(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx)
{
    maxpool_backward(p, in, x, dy, dx, 0);
}

void rl_maxpool_backward_to(const rl_maxpool *p, rl_shape in, const float *x, const float *dy, float *dx)
{
    maxpool_backward(p, in, x, dy, dx, 1);
}

void rl_avgpool_forward(rl_shape in, const float *x, float *y)
{
    const int C = in.c;
    const size_t hw = (size_t)in.h * in.w;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < in.n; n++) {
        double acc[C > 0 ? C : 1];
        for (int c = 0; c < C; c++)
            acc[c] = 0;
        for (size_t p = 0; p < hw; p++) {
            const float *xr = x + ((size_t)n * hw + p) * C;
            for (int c = 0; c < C; c++)
                acc[c] += xr[c];
        }
        for (int c = 0; c < C; c++)
            y[(size_t)n * C + c] = (float)(acc[c] / (double)hw);
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
            for (int c = 0; c < C; c++)
                d[c] += g[c] * inv;
        }
}
