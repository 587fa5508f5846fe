/* bn.c: batch norm forward/backward on (rows x C) channels-last data.
 *
 * Backward uses the standard closed form, with xhat = (x - mean) * invstd:
 *   dbeta  = sum_rows dy,   dgamma = sum_rows dy * xhat,
 *   dx     = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M). */
#include "nn/bn.h"

#include <math.h>
#include <string.h>

/* Fixed block count: reductions must not depend on the thread count. */
#define NBLOCKS 32

size_t rl_bn_scratch_doubles(int c) { return (size_t)2 * NBLOCKS * c + 2 * (size_t)c; }

static void block_range(size_t rows, int b, size_t *lo, size_t *hi)
{
    *lo = rows * b / NBLOCKS;
    *hi = rows * (b + 1) / NBLOCKS;
}

/* out1[c] = sum_r f1, out2[c] = sum_r f2 over rows, in blocks; mode 0: x and
 * (x - mean)^2; mode 1: dy and dy * (x - mean). */
static void reduce_two(size_t rows, int C, const float *a, const float *b, const float *mean, int mode,
                       double *scratch, double *out1, double *out2)
{
    double *p1 = scratch, *p2 = scratch + (size_t)NBLOCKS * C;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < NBLOCKS; blk++) {
        size_t lo, hi;
        block_range(rows, blk, &lo, &hi);
        double *s1 = p1 + (size_t)blk * C, *s2 = p2 + (size_t)blk * C;
        for (int c = 0; c < C; c++) s1[c] = s2[c] = 0;
        for (size_t r = lo; r < hi; r++) {
            const float *ar = a + r * C;
            if (mode == 0) {
                for (int c = 0; c < C; c++) {
                    double d = (double)ar[c] - mean[c];
                    s1[c] += ar[c];
                    s2[c] += d * d;
                }
            } else {
                const float *br = b + r * C;
                for (int c = 0; c < C; c++) {
                    s1[c] += ar[c];
                    s2[c] += (double)ar[c] * ((double)br[c] - mean[c]);
                }
            }
        }
    }
    for (int c = 0; c < C; c++) out1[c] = out2[c] = 0;
    for (int blk = 0; blk < NBLOCKS; blk++)
        for (int c = 0; c < C; c++) {
            out1[c] += p1[(size_t)blk * C + c];
            out2[c] += p2[(size_t)blk * C + c];
        }
}

void rl_bn_forward(const rl_bn *bn, size_t rows, const float *x, const float *residual, int relu, int train,
                   float *y, float *save_mean, float *save_invstd, double *scratch)
{
    const int C = bn->c;
    float mean_f[C > 0 ? C : 1], invstd_f[C > 0 ? C : 1];
    if (train) {
        double *sum = scratch + (size_t)2 * NBLOCKS * C, *sq = sum + C;
        float zero[C > 0 ? C : 1];
        memset(zero, 0, sizeof zero);
        reduce_two(rows, C, x, NULL, zero, 0, scratch, sum, sq);
        for (int c = 0; c < C; c++) mean_f[c] = (float)(sum[c] / (double)rows);
        /* Second pass around the (rounded) mean: var = E[(x-m)^2] - (E[x]-m)^2. */
        reduce_two(rows, C, x, NULL, mean_f, 0, scratch, sum, sq);
        for (int c = 0; c < C; c++) {
            double mean = sum[c] / (double)rows, shift = mean - mean_f[c];
            double var = sq[c] / (double)rows - shift * shift;
            if (var < 0) var = 0;
            invstd_f[c] = (float)(1.0 / sqrt(var + bn->eps));
            double unbiased = rows > 1 ? var * (double)rows / (double)(rows - 1) : var;
            bn->running_mean[c] = (float)((1.0 - bn->momentum) * bn->running_mean[c] + bn->momentum * mean);
            bn->running_var[c] = (float)((1.0 - bn->momentum) * bn->running_var[c] + bn->momentum * unbiased);
        }
        if (bn->num_batches_tracked) (*bn->num_batches_tracked)++;
    } else {
        for (int c = 0; c < C; c++) {
            mean_f[c] = bn->running_mean[c];
            invstd_f[c] = (float)(1.0 / sqrt((double)bn->running_var[c] + bn->eps));
        }
    }
    if (train) {
        memcpy(save_mean, mean_f, sizeof(float) * C);
        memcpy(save_invstd, invstd_f, sizeof(float) * C);
    }
    /* y = x * a + b with a = gamma * invstd, b = beta - mean * a. */
    float a[C > 0 ? C : 1], b[C > 0 ? C : 1];
    for (int c = 0; c < C; c++) {
        a[c] = bn->gamma[c] * invstd_f[c];
        b[c] = bn->beta[c] - mean_f[c] * a[c];
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        if (residual) {
            const float *rr = residual + r * C;
            if (relu)
                for (int c = 0; c < C; c++) {
                    float v = xr[c] * a[c] + b[c] + rr[c];
                    yr[c] = v > 0 ? v : 0;
                }
            else
                for (int c = 0; c < C; c++) yr[c] = xr[c] * a[c] + b[c] + rr[c];
        } else if (relu) {
            for (int c = 0; c < C; c++) {
                float v = xr[c] * a[c] + b[c];
                yr[c] = v > 0 ? v : 0;
            }
        } else {
            for (int c = 0; c < C; c++) yr[c] = xr[c] * a[c] + b[c];
        }
    }
}

void rl_bn_backward(const rl_bn *bn, size_t rows, const float *x, const float *y, float *dy, int relu,
                    const float *save_mean, const float *save_invstd, float *dx, double *scratch)
{
    const int C = bn->c;
    if (relu) {
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < rows; r++) {
            const float *yr = y + r * C;
            float *dr = dy + r * C;
            for (int c = 0; c < C; c++)
                if (!(yr[c] > 0)) dr[c] = 0;
        }
    }
    double *sum_dy = scratch + (size_t)2 * NBLOCKS * C, *sum_dy_xmu = sum_dy + C;
    reduce_two(rows, C, dy, x, save_mean, 1, scratch, sum_dy, sum_dy_xmu);
    float k1[C > 0 ? C : 1], k2[C > 0 ? C : 1], k3[C > 0 ? C : 1];
    for (int c = 0; c < C; c++) {
        double invstd = save_invstd[c];
        double dbeta = sum_dy[c], dgamma = sum_dy_xmu[c] * invstd;
        bn->dbeta[c] += (float)dbeta;
        bn->dgamma[c] += (float)dgamma;
        /* dx = g*is*dy - g*is*dbeta/M - (x-mean) * g*is^2*dgamma/M */
        double g = bn->gamma[c];
        k1[c] = (float)(g * invstd);
        k2[c] = (float)(g * invstd * dbeta / (double)rows);
        k3[c] = (float)(g * invstd * invstd * dgamma / (double)rows);
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * C, *dr = dy + r * C;
        float *o = dx + r * C;
        for (int c = 0; c < C; c++) o[c] = k1[c] * dr[c] - k2[c] - (xr[c] - save_mean[c]) * k3[c];
    }
}
