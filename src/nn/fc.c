/* fc.c: fully connected layer on OpenBLAS (see fc.h). */
#include "nn/fc.h"

#include <cblas.h>

void rl_fc_forward(const rl_fc *fc, int n, const float *x, float *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < fc->out; o++)
            y[(size_t)i * fc->out + o] = fc->b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fc->out, fc->in, 1.0f, x, fc->in, fc->w, fc->in, 1.0f, y,
                fc->out);
}

void rl_fc_backward(const rl_fc *fc, int n, const float *x, const float *dy, float *dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fc->out, fc->in, n, 1.0f, dy, fc->out, x, fc->in, 1.0f, fc->dw,
                fc->in);
    for (int o = 0; o < fc->out; o++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += dy[(size_t)i * fc->out + o];
        fc->db[o] += (float)s;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fc->in, fc->out, 1.0f, dy, fc->out, fc->w, fc->in,
                    1.0f, dx, fc->in);
}
