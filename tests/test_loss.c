/* test_loss.c: softmax / sigmoid cross-entropy against hand-derived values,
 * finite differences, thread-count determinism, top-k counting and error
 * paths.  (tests/test_loss_torch.py compares against PyTorch.) */
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "tap.h"
#include "train/loss.h"
#include "util/rng.h"

static double run(rl_loss_kind kind, double eps, const float *z, int n, int c, const int32_t *y, const float *t,
                  float *dz)
{
    rl_loss_config cfg = {kind, eps};
    rl_error err = {0};
    double loss = -1;
    rl_status st = rl_loss_forward_backward(&cfg, z, n, c, y, t, dz, &loss, &err);
    if (st != RL_OK) tap_diag("unexpected error: %s", err.msg);
    return loss;
}

static void hand_values(void)
{
    /* Uniform logits: softmax loss ln C, gradient (1/C - onehot)/N. */
    float z0[6] = {0, 0, 0, 0, 0, 0}, dz[6];
    int32_t y0[2] = {1, 2};
    tap_close(run(RL_LOSS_SOFTMAX, 0, z0, 2, 3, y0, NULL, dz), log(3.0), 1e-12, 0, "softmax of zeros = ln 3");
    tap_close(dz[1], (1.0 / 3 - 1) / 2, 1e-7, 0, "softmax grad at the label = (1/3 - 1)/N");
    tap_close(dz[0], (1.0 / 3) / 2, 1e-7, 0, "softmax grad off the label = (1/3)/N");

    /* logits 1,2,3, label 2, eps 0.1: lse - 0.9*3 - (0.1/3)*(1+2+3). */
    float z1[3] = {1, 2, 3};
    int32_t y1 = 2;
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    tap_close(run(RL_LOSS_SOFTMAX, 0.1, z1, 1, 3, &y1, NULL, dz), lse - 0.9 * 3 - 0.1 / 3 * 6, 1e-12, 0,
              "softmax with label smoothing 0.1 (hand formula)");
    tap_close(dz[0], exp(1 - lse) - 0.1 / 3, 1e-6, 1e-9, "smoothed softmax grad = p - eps/C");
    tap_close(dz[2], exp(3 - lse) - (0.9 + 0.1 / 3), 1e-6, 1e-9, "smoothed softmax grad = p - (1-eps) - eps/C");

    /* Dense multi-hot {0,1} for softmax = mean of the two single-label losses. */
    float t1[3] = {1, 1, 0};
    tap_close(run(RL_LOSS_SOFTMAX, 0, z1, 1, 3, &y1, t1, dz), lse - 1.5, 1e-12, 0,
              "softmax multi-hot {0,1} normalised to 1/2,1/2 (dense wins over label 2)");

    /* Sigmoid, 1000 classes, zero logits: 1000 ln 2, ~693 (docs/method.md, "The sigmoid loss"). */
    static float z2[1000], d2[1000], t2[1000];
    int32_t y2 = 7;
    tap_close(run(RL_LOSS_SIGMOID, 0, z2, 1, 1000, &y2, NULL, d2), 1000 * log(2.0), 1e-12, 0,
              "sigmoid of zeros over 1000 classes = 1000 ln 2");
    tap_close(d2[7], -0.5, 1e-7, 0, "sigmoid grad at the label = 0.5 - 1");
    tap_close(d2[8], 0.5, 1e-7, 0, "sigmoid grad off the label = 0.5");

    /* With the head bias -ln 1000: ln(1001) + 999 ln(1.001) ~ 7.907. */
    float b = rl_loss_default_head_bias(RL_LOSS_SIGMOID, 1000);
    tap_close(b, -log(1000.0), 1e-7, 0, "default sigmoid head bias = -ln 1000");
    tap_ok(rl_loss_default_head_bias(RL_LOSS_SOFTMAX, 1000) == 0.0f, "default softmax head bias = 0");
    for (int j = 0; j < 1000; j++)
        z2[j] = b;
    double want = log(1001.0) + 999 * log(1.001);
    tap_close(run(RL_LOSS_SIGMOID, 0, z2, 1, 1000, &y2, NULL, d2), want, 1e-6, 0,
              "sigmoid loss at bias -ln 1000 = ln 1001 + 999 ln 1.001 (~7.9, like softmax's ln 1000)");

    /* Dense all-zero row is valid for sigmoid: all negatives. */
    memset(t2, 0, sizeof t2);
    tap_close(run(RL_LOSS_SIGMOID, 0, z2, 1, 1000, &y2, t2, d2), 1000 * log(1.001), 1e-6, 0,
              "sigmoid with an all-negative dense row = 1000 ln 1.001");

    /* Extreme logits: label logit +100 and the others -100 give a tiny loss;
     * the reverse gives exactly 200 (softmax) and 100 per wrong class (sigmoid). */
    float z3[4] = {-100, -100, 100, -100};
    int32_t good = 2, bad = 0;
    double l = run(RL_LOSS_SOFTMAX, 0, z3, 1, 4, &good, NULL, dz);
    tap_ok(isfinite(l) && l >= 0 && l < 1e-80, "softmax at +100 on the label: finite, ~0 (got %g)", l);
    tap_close(run(RL_LOSS_SOFTMAX, 0, z3, 1, 4, &bad, NULL, dz), 200, 1e-12, 0, "softmax at -100 on the label = 200");
    tap_close(run(RL_LOSS_SIGMOID, 0, z3, 1, 4, &bad, NULL, dz), 200, 1e-12, 0,
              "sigmoid, label at -100 and one other at +100 = 100 + 100");
    tap_ok(isfinite(dz[0]) && isfinite(dz[2]) && fabs(dz[0] + 1) < 1e-7 && fabs(dz[2] - 1) < 1e-7,
           "sigmoid grads saturate at -1 and +1 (got %g, %g)", dz[0], dz[2]);
}

/* Central differences in the logits, loss in double. */
static void finite_differences(rl_loss_kind kind, double eps, int dense)
{
    enum { N = 3, C = 5 };
    float z[N * C], dz[N * C], tmp[N * C], t[N * C];
    int32_t y[N] = {4, 0, 2};
    rl_rng r = rl_rng_make(1, 2, 3);
    for (int i = 0; i < N * C; i++) {
        z[i] = (float)(2 * rl_rng_normal(&r));
        t[i] = rl_rng_uniform(&r);
    }
    run(kind, eps, z, N, C, y, dense ? t : NULL, dz);
    double worst = 0;
    for (int i = 0; i < N * C; i++) {
        const float h = 1.0f / 256; /* exact in float, so z +- h is exact */
        memcpy(tmp, z, sizeof z);
        tmp[i] = z[i] + h;
        double lp = run(kind, eps, tmp, N, C, y, dense ? t : NULL, NULL);
        tmp[i] = z[i] - h;
        double lm = run(kind, eps, tmp, N, C, y, dense ? t : NULL, NULL);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - dz[i]) / (fabs(fd) + 1e-3);
        if (e > worst) worst = e;
    }
    tap_ok(worst < 1e-4, "%s eps %g %s: gradient matches central differences (worst rel %.2g)", rl_loss_kind_name(kind),
           eps, dense ? "dense targets" : "labels", worst);
}

static void determinism(void)
{
#ifdef _OPENMP
    enum { N = 256, C = 1000 }; /* above the parallel threshold */
    float *z = malloc(sizeof(float) * N * C), *d1 = malloc(sizeof(float) * N * C), *d2 = malloc(sizeof(float) * N * C);
    int32_t y[N];
    rl_rng r = rl_rng_make(7, 0, 0);
    for (int i = 0; i < N * C; i++)
        z[i] = (float)(3 * rl_rng_normal(&r));
    for (int i = 0; i < N; i++)
        y[i] = (int32_t)rl_rng_below(&r, C);
    for (int kind = 0; kind < 2; kind++) {
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        double l1 = run((rl_loss_kind)kind, 0, z, N, C, y, NULL, d1);
        omp_set_num_threads(3);
        double l2 = run((rl_loss_kind)kind, 0, z, N, C, y, NULL, d2);
        omp_set_num_threads(saved);
        tap_ok(memcmp(&l1, &l2, sizeof l1) == 0 && memcmp(d1, d2, sizeof(float) * N * C) == 0,
               "%s 256x1000: loss and grads bitwise equal with 1 and 3 threads", rl_loss_kind_name((rl_loss_kind)kind));
    }
    free(z);
    free(d1);
    free(d2);
#else
    tap_ok(1, "built without OpenMP: single-threaded, determinism trivially holds");
#endif
}

static void errors(void)
{
    float z[4] = {0, 1, 2, 3}, dz[4];
    int32_t y = 3, bad_y = 4;
    rl_loss_config cfg = {RL_LOSS_SOFTMAX, 0};
    rl_error err = {0};
    double loss;
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, &bad_y, NULL, dz, &loss, &err) == RL_ERR_ARG &&
               strstr(err.msg, "label[0] = 4"),
           "label out of range -> RL_ERR_ARG naming it (%s)", err.msg);
    z[2] = NAN;
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, &y, NULL, dz, &loss, &err) == RL_ERR_NUMERIC &&
               strstr(err.msg, "logit[0][2]") && isnan(loss),
           "NaN logit -> RL_ERR_NUMERIC naming it (%s)", err.msg);
    z[2] = INFINITY;
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, &y, NULL, dz, &loss, &err) == RL_ERR_NUMERIC,
           "Inf logit -> RL_ERR_NUMERIC");
    z[2] = 2;
    float t[4] = {0, 0, 0, 0};
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, &y, t, dz, &loss, &err) == RL_ERR_ARG,
           "softmax with an all-zero target row -> RL_ERR_ARG");
    t[1] = 1.5f;
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, &y, t, dz, &loss, &err) == RL_ERR_ARG,
           "target outside [0,1] -> RL_ERR_ARG");
    rl_loss_config sig = {RL_LOSS_SIGMOID, 0.1};
    tap_ok(rl_loss_forward_backward(&sig, z, 1, 4, &y, NULL, dz, &loss, &err) == RL_ERR_ARG,
           "label smoothing with sigmoid -> RL_ERR_ARG");
    tap_ok(rl_loss_forward_backward(&cfg, z, 1, 4, NULL, NULL, dz, &loss, &err) == RL_ERR_ARG,
           "no labels and no targets -> RL_ERR_ARG");
}

static void topk(void)
{
    /* Row 0: tie between 0 and 1 -> argmax 0.  Row 1: label 3 ranks third
     * (class 0 is larger, class 2 ties but has the lower index). */
    float z[8] = {1, 1, 0, 0, 3, 1, 2, 2};
    int32_t y0[2] = {0, 3}, y1[2] = {1, 3};
    tap_ok(rl_loss_argmax(z, 4) == 0 && rl_loss_argmax(z + 4, 4) == 0, "argmax: ties -> lowest index");
    tap_ok(rl_loss_correct_top1(z, 2, 4, y0) == 1, "top-1 with labels {0,3}: 1 correct");
    tap_ok(rl_loss_correct_top1(z, 2, 4, y1) == 0, "top-1 with labels {1,3}: 0 correct (tie goes to 0)");
    tap_ok(rl_loss_correct_topk(z, 2, 4, y0, 1) == 1, "top-k with k = 1 agrees with top-1");
    tap_ok(rl_loss_correct_topk(z, 2, 4, y1, 2) == 1, "top-2 with labels {1,3}: row 0 yes, row 1 no");
    tap_ok(rl_loss_correct_topk(z, 2, 4, y1, 3) == 2, "top-3 with labels {1,3}: both");
    float zn[3] = {NAN, 1, 2};
    tap_ok(rl_loss_argmax(zn, 3) == 2, "argmax skips NaN");
}

int main(void)
{
    hand_values();
    finite_differences(RL_LOSS_SOFTMAX, 0, 0);
    finite_differences(RL_LOSS_SOFTMAX, 0.2, 0);
    finite_differences(RL_LOSS_SOFTMAX, 0.1, 1);
    finite_differences(RL_LOSS_SIGMOID, 0, 0);
    finite_differences(RL_LOSS_SIGMOID, 0, 1);
    determinism();
    errors();
    topk();
    return tap_done();
}
