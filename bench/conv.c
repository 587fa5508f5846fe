/* conv.c: one convolution's three passes, timed per algorithm.
 *
 * Runs rl_conv_forward, rl_conv_backward_data and rl_conv_backward_weights of
 * one shape on random data, `reps` times each after one warm-up call, and
 * prints the fastest and the median time of each pass and the GFLOP/s of the
 * fastest (the direct convolution's FLOPs, so Winograd's figure is the speed
 * a GEMM would need to match it).  On a shared machine the fastest call is
 * the most repeatable figure; the process's CPU time per call (all threads)
 * is printed too.  --algo picks the algorithm as RELAB_CONV does
 * (gemm, image, rows, winograd2, winograd4) or the planner's choice (auto).
 *
 * usage: bench_conv [--k 3] [--stride 1] [--c 64] [--oc 64] [--size 56]
 *            [--batch 32] [--algo auto] [--reps 10] */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/conv.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/timer.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill(float *p, size_t n, rl_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rl_rng_normal(rng);
}

int main(int argc, char **argv)
{
    rl_blas_fix_core(argc, argv);
    int k = 3, stride = 1, c = 64, oc = 64, size = 56, batch = 32, reps = 10, opt;
    const char *algo = "auto";
    static const struct option opts[] = {{"k", 1, 0, 'k'},    {"stride", 1, 0, 's'}, {"c", 1, 0, 'c'},
                                         {"oc", 1, 0, 'o'},   {"size", 1, 0, 'z'},   {"batch", 1, 0, 'b'},
                                         {"algo", 1, 0, 'a'}, {"reps", 1, 0, 'r'},   {0, 0, 0, 0}};
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'k': k = atoi(optarg); break;
        case 's': stride = atoi(optarg); break;
        case 'c': c = atoi(optarg); break;
        case 'o': oc = atoi(optarg); break;
        case 'z': size = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'a': algo = optarg; break;
        case 'r': reps = atoi(optarg); break;
        default: fprintf(stderr, "bench_conv: bad option\n"); return 2;
        }
    }
    if (k < 1 || stride < 1 || c < 1 || oc < 1 || size < k || batch < 1 || reps < 1) {
        fprintf(stderr, "bench_conv: sizes must be positive and --size >= --k\n");
        return 2;
    }
    if (strcmp(algo, "auto")) setenv("RELAB_CONV", algo, 1);
    rl_conv cv = {c, oc, k, stride, k / 2, NULL, NULL, 0, 0, 0};
    rl_shape in = {batch, c, size, size}, out = rl_conv_out_shape(&cv, in);
    rl_conv_choose(&cv, in, omp_get_max_threads());
    size_t nw = (size_t)oc * k * k * c, ws = rl_conv_workspace_floats(&cv, in);
    float *w = rl_alloc(sizeof(float) * nw), *dw = rl_alloc(sizeof(float) * nw);
    float *x = rl_alloc(sizeof(float) * rl_shape_count(in)), *dx = rl_alloc(sizeof(float) * rl_shape_count(in));
    float *y = rl_alloc(sizeof(float) * rl_shape_count(out)), *dy = rl_alloc(sizeof(float) * rl_shape_count(out));
    float *work = rl_alloc(sizeof(float) * (ws + 16));
    rl_rng rng = rl_rng_make(1, 2, 3);
    fill(w, nw, &rng);
    fill(x, rl_shape_count(in), &rng);
    fill(dy, rl_shape_count(out), &rng);
    memset(dw, 0, sizeof(float) * nw);
    cv.w = w;
    cv.dw = dw;
    const char *names[3] = {"fwd", "dgrad", "wgrad"};
    double *t = calloc((size_t)reps + 1, sizeof(double)), *cpu = calloc((size_t)reps + 1, sizeof(double));
    const double flops = 2.0 * batch * out.h * out.w * oc * k * k * c;
    printf("conv %dx%d/%d %d->%d @%dx%d, batch %d, algo %d tile %d (%s), %d threads, BLAS %s\n", k, k, stride, c, oc,
           size, size, batch, cv.algo, cv.tile, algo, omp_get_max_threads(), rl_blas_core());
    for (int pass = 0; pass < 3; pass++) {
        for (int r = 0; r <= reps; r++) {
            /* CPU time of all threads: a passive wait or another process's
             * time slice adds none, the steadier measure on a busy machine */
            double t0 = rl_now(), c0 = rl_cpu_now();
            if (pass == 0)
                rl_conv_forward(&cv, in, x, y, work);
            else if (pass == 1)
                rl_conv_backward_data(&cv, in, dy, dx, 0, work);
            else
                rl_conv_backward_weights(&cv, in, x, dy, work);
            t[r] = rl_now() - t0;
            cpu[r] = rl_cpu_now() - c0;
        }
        qsort(t + 1, (size_t)reps, sizeof(double), cmp_double); /* t[0]: warm-up */
        qsort(cpu + 1, (size_t)reps, sizeof(double), cmp_double);
        printf("  %-6s min %8.3f ms  median %8.3f ms  %7.1f GFLOP/s   CPU time min %8.3f ms\n", names[pass], 1e3 * t[1],
               1e3 * t[1 + reps / 2], flops / t[1] * 1e-9, 1e3 * cpu[1]);
    }
    free(t);
    free(cpu);
    rl_free(w);
    rl_free(dw);
    rl_free(x);
    rl_free(dx);
    rl_free(y);
    rl_free(dy);
    rl_free(work);
    return 0;
}
