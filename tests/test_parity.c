/* test_parity.c: relab against PyTorch on the same weights and input.
 *
 * Reads a fixture written by tests/parity/make_fixture.py (format and
 * conditioning in docs/parity.md): torchvision weights, an input batch, and
 * PyTorch's results in float32 and float64: eval and train logits, loss,
 * every parameter's gradient (grads/, grads_double/), BN running statistics
 * and the weights after one SGD step.  relab loads the same weights and runs
 * the same batch.
 *
 * How close is close enough: relab and PyTorch both compute in float32 and
 * sum in different orders (other BLAS kernels, thread counts, blockings), so
 * neither reproduces the float64 result, and the two float32 results differ
 * by the sum of both errors.  The fixture holds the float64 result, so
 * PyTorch float32's own error E is measured on the same numbers in the same
 * norm, and relab must be about as accurate:
 *     error(relab) <= min(CAP, FEW * max(E, floor))
 * floor: float32 rounding (FLOOR32) for single tensors; for gradients the
 * median of E over all tensors (a tensor where PyTorch happened to be lucky
 * sets no bar of its own).  That holds for convolutions computed as GEMMs
 * (RELAB_CONV=gemm, or image: per-image GEMMs).  Winograd F(m x m, 3x3),
 * which relab chooses for wide 3x3 layers, trades accuracy for speed: its
 * error is bounded by 8x (m = 2) or 64x (m = 4) a GEMM's (tests/test_nn.c,
 * docs/performance.md), so FEW is multiplied by that constant A unless
 * RELAB_CONV says GEMMs only.  The fixture is conditioned (no ReLU input or
 * max-pool tie near its kink, realistic BN state), so E is ~1e-6..1e-5 and a
 * wrong gradient shows: docs/parity.md records that scaling one tensor's
 * gradient by 1.01 fails.  That perturbation is test-only, done here:
 *     RELAB_PARITY_PERTURB=<parameter name>:<relative change>
 * scales relab's gradient of that parameter by (1 + change) after backward.
 *
 * usage: test_parity FIXTURE.h5 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/resnet.h"
#include "nn/weights.h"
#include "tap.h"
#include "train/loss.h"
#include "train/sgd.h"
#include "util/blas.h"
#include "util/h5.h"
#include "util/mem.h"

/* relab may be this many times less accurate than PyTorch float32... */
#define FEW 4.0
/* ...and never worse than this, relative. */
#define CAP 1e-3
/* 16 units of float32 roundoff: the least error expected of a float32 result
 * that went through a few hundred-term dot products. */
#define FLOOR32 (1.0 / (1 << 20))

static const char *path;

static void die(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    exit(99);
}

/* A: how much larger than a GEMM's the convolution algorithms relab may
 * choose make the float32 error (see the top of this file). */
static double conv_error_factor(void)
{
    const char *algo = getenv("RELAB_CONV");
    if (algo && (!strcmp(algo, "gemm") || !strcmp(algo, "image"))) return 1;
    if (algo && !strcmp(algo, "winograd2")) return 8;
    return 64; /* relab's own choice may be Winograd F(4x4, 3x3) */
}

static double bound(double torch_err, double floor_err)
{
    return fmin(CAP, FEW * conv_error_factor() * fmax(torch_err, floor_err));
}

/* max |got - ref| / max |ref| */
static double rel_max(const double *got, const double *ref, size_t n)
{
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs(got[i] - ref[i]));
        mr = fmax(mr, fabs(ref[i]));
    }
    return md / (mr > 0 ? mr : 1);
}

/* ||got - ref|| / ||ref|| */
static double rel_l2(const double *got, const double *ref, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += (got[i] - ref[i]) * (got[i] - ref[i]);
        r += ref[i] * ref[i];
    }
    return sqrt(d) / (r > 0 ? sqrt(r) : 1);
}

static double *to_double(const float *x, size_t n)
{
    double *y = calloc(n ? n : 1, sizeof(double));
    if (!y) die("out of memory");
    for (size_t i = 0; i < n; i++)
        y[i] = x[i];
    return y;
}

/* A float32 or float64 dataset of exactly n values, as double. */
static double *read_d(hid_t f, const char *name, size_t n)
{
    int rank = 0;
    int64_t dims[8];
    rl_error err;
    if (rl_h5_shape(f, name, &rank, dims, path, &err)) die(err.msg);
    size_t count = 1;
    for (int i = 0; i < rank; i++)
        count *= (size_t)dims[i];
    if (count != n) {
        fprintf(stderr, "%s: dataset %s has %zu values, expected %zu\n", path, name, count, n);
        exit(99);
    }
    double *out = malloc(sizeof(double) * (n ? n : 1));
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (!out || d < 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        fprintf(stderr, "%s: cannot read dataset %s\n", path, name);
        exit(99);
    }
    H5Dclose(d);
    return out;
}

static int read_int(hid_t f, const char *name)
{
    int32_t v = 0;
    rl_error err;
    if (rl_h5_read_i32(f, name, &v, 1, path, &err)) die(err.msg);
    return v;
}

static double read_scalar(hid_t f, const char *name)
{
    double *v = read_d(f, name, 1), x = *v;
    free(v);
    return x;
}

/* group/<p's name> in relab's layout (convs transposed from PyTorch's), as double. */
static double *read_param(hid_t f, const char *group, const rl_param *p)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", group, p->name);
    double *raw = read_d(f, name, p->count);
    if (!p->conv_layout) return raw;
    double *out = malloc(sizeof(double) * p->count);
    if (!out) die("out of memory");
    int OC = p->dims[0], C = p->dims[1], K = p->dims[2], KW = p->dims[3];
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < K; h++)
                for (int w = 0; w < KW; w++)
                    out[(((size_t)o * K + h) * KW + w) * C + c] = raw[(((size_t)o * C + c) * K + h) * KW + w];
    free(raw);
    return out;
}

/* relab's logits against the float64 ones; returns relab's max |error|. */
static double check_logits(hid_t f, const char *mode, const float *logits, size_t nl, const char *arch)
{
    char n32[64], n64[64];
    snprintf(n32, sizeof n32, "%s/logits", mode);
    snprintf(n64, sizeof n64, "%s/logits_double", mode);
    double *ref32 = read_d(f, n32, nl), *ref64 = read_d(f, n64, nl), *got = to_double(logits, nl);
    double e = rel_max(got, ref64, nl), et = rel_max(ref32, ref64, nl), maxabs = 0;
    for (size_t i = 0; i < nl; i++)
        maxabs = fmax(maxabs, fabs(got[i] - ref64[i]));
    tap_ok(e <= bound(et, FLOOR32),
           "%s %s-mode logits: max|relab - float64| / max|float64| = %.2e <= %.2e (PyTorch float32: %.2e)", arch, mode,
           e, bound(et, FLOOR32), et);
    free(ref32);
    free(ref64);
    free(got);
    return maxabs;
}

/* The test-only perturbation RELAB_PARITY_PERTURB=<name>:<change>. */
static void perturb(rl_param_table *t)
{
    const char *spec = getenv("RELAB_PARITY_PERTURB");
    if (!spec || !*spec) return;
    char name[128];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof name) die("RELAB_PARITY_PERTURB: want <parameter name>:<change>");
    memcpy(name, spec, (size_t)(colon - spec));
    name[colon - spec] = 0;
    rl_param *p = rl_params_find(t, name);
    if (!p || p->kind != RL_PARAM_WEIGHT) die("RELAB_PARITY_PERTURB: no such parameter");
    double change = atof(colon + 1);
    for (size_t k = 0; k < p->count; k++)
        p->grad[k] = (float)(p->grad[k] * (1 + change));
    tap_diag("perturbed (test only): relab's gradient of %s scaled by 1 %+g", name, change);
}

static void check_gradients(hid_t f, rl_param_table *t, const char *arch)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += t->entries[i].kind == RL_PARAM_WEIGHT;
    double *et = malloc(sizeof(double) * n), *er = malloc(sizeof(double) * n), *sorted = malloc(sizeof(double) * n);
    const char **names = malloc(sizeof(char *) * n);
    if (!et || !er || !sorted || !names) die("out of memory");
    for (int i = 0, j = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        double *g32 = read_param(f, "grads", p), *g64 = read_param(f, "grads_double", p);
        double *got = to_double(p->grad, p->count);
        et[j] = rel_l2(g32, g64, p->count);
        er[j] = rel_l2(got, g64, p->count);
        names[j++] = p->name;
        free(g32);
        free(g64);
        free(got);
    }
    memcpy(sorted, et, sizeof(double) * n);
    for (int i = 1; i < n; i++) /* insertion sort: a few hundred tensors */
        for (int k = i; k > 0 && sorted[k] < sorted[k - 1]; k--) {
            double s = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = s;
        }
    double median = sorted[n / 2];
    int bad = 0, worst = 0, closest = 0;
    for (int j = 0; j < n; j++) {
        double b = bound(et[j], median);
        if (er[j] > b) {
            bad++;
            tap_diag("%s: ||relab - float64|| / ||float64|| = %.2e > %.2e (PyTorch float32 %.2e)", names[j], er[j], b,
                     et[j]);
        }
        if (er[j] > er[worst]) worst = j;
        if (er[j] / bound(et[j], median) > er[closest] / bound(et[closest], median)) closest = j;
    }
    tap_ok(bad == 0,
           "%s: gradients of all %d parameter tensors within %g x PyTorch float32's error (||relab - float64|| / "
           "||float64||: worst %.2e at %s; PyTorch float32 median %.2e, worst %.2e; closest to its bound: %s, %.2e "
           "of %.2e)",
           arch, n, FEW * conv_error_factor(), er[worst], names[worst], median, sorted[n - 1], names[closest],
           er[closest], bound(et[closest], median));
    free(et);
    free(er);
    free(sorted);
    free(names);
}

static void check_running_stats(hid_t f, rl_param_table *t, const char *arch)
{
    double worst = 0, worst_torch = 0;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_BUFFER) continue;
        double *r32 = read_param(f, "train/running", p), *r64 = read_param(f, "train/running_double", p);
        double *got = to_double(p->data, p->count);
        worst = fmax(worst, rel_max(got, r64, p->count));
        worst_torch = fmax(worst_torch, rel_max(r32, r64, p->count));
        free(r32);
        free(r64);
        free(got);
    }
    tap_ok(worst <= bound(worst_torch, FLOOR32),
           "%s: BN running statistics after one train step: max rel err to float64 %.2e <= %.2e (PyTorch float32 "
           "%.2e)",
           arch, worst, bound(worst_torch, FLOOR32), worst_torch);
}

/* One step of relab's SGD (library code) on PyTorch's own float32 gradients
 * must land on PyTorch's weights: torch.optim.SGD decays every parameter, BN
 * and biases included, and starts with an empty buffer.  Elementwise
 * w - lr (g + wd w) is three float32 roundings in either program, each within
 * half an ulp of |w| + |lr g|: 2 ulp of that bounds the difference. */
static void check_sgd(hid_t f, rl_param_table *t, const char *arch)
{
    rl_error err;
    rl_sgd sgd;
    rl_sgd_config sc = {.momentum = (float)read_scalar(f, "sgd_momentum"),
                        .weight_decay = (float)read_scalar(f, "sgd_weight_decay"),
                        .wd_on_bn = 1,
                        .wd_on_bias = 1};
    float lr = (float)read_scalar(f, "sgd_lr");
    if (rl_sgd_init(&sgd, &sc, t, &err) || rl_weights_read(f, "weights/", t, path, &err)) die(err.msg);
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        double *g = read_param(f, "grads", p);
        for (size_t k = 0; k < p->count; k++)
            p->grad[k] = (float)g[k];
        free(g);
    }
    size_t bad = 0, total = 0;
    double worst_ulps = 0;
    float **before = malloc(sizeof(float *) * t->count);
    if (!before) die("out of memory");
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        before[i] = p->kind == RL_PARAM_WEIGHT ? rl_alloc(sizeof(float) * p->count) : NULL;
        if (before[i]) memcpy(before[i], p->data, sizeof(float) * p->count);
    }
    rl_sgd_step(&sgd, t, lr);
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        double *w = read_param(f, "sgd", p);
        for (size_t k = 0; k < p->count; k++) {
            double ulp = (fabs(before[i][k]) + fabs(lr * p->grad[k])) * ldexp(1.0, -23);
            double ulps = fabs(p->data[k] - w[k]) / (ulp > 0 ? ulp : 1e-45);
            worst_ulps = fmax(worst_ulps, ulps);
            bad += ulps > 2;
        }
        total += p->count;
        free(w);
        rl_free(before[i]);
    }
    free(before);
    tap_ok(bad == 0,
           "%s: relab's SGD step on PyTorch's gradients gives PyTorch's weights within 2 ulp of |w| + |lr g| "
           "(%zu of %zu values outside; worst %.2f ulp)",
           arch, bad, total, worst_ulps);
    rl_sgd_free(&sgd);
}

int main(int argc, char **argv)
{
    rl_blas_fix_core(argc, argv);
    if (argc < 2) die("usage: test_parity FIXTURE.h5");
    path = argv[1];
    rl_error err;
    hid_t f = rl_h5_open_read(path, &err);
    if (f < 0) die(err.msg);
    char *arch = NULL;
    if (rl_h5_read_string(f, "arch", &arch, path, &err)) die(err.msg);
    int classes = read_int(f, "num_classes"), B = read_int(f, "batch"), S = read_int(f, "size");
    int C = read_int(f, "in_channels");
    if (!rl_h5_exists(f, "grads_double/fc.weight") || !rl_h5_exists(f, "train/running_double"))
        die("the fixture lacks float64 references: make it with make_fixture.py --grads-double");
    tap_diag("fixture %s: %s, batch %d, %dx%dx%d, %d classes; BLAS core %s, %d threads; convolutions %s (error "
             "allowance %g x PyTorch's)",
             path, arch, B, S, S, C, classes, rl_blas_core(), rl_blas_threads(),
             getenv("RELAB_CONV") ? getenv("RELAB_CONV") : "as relab chooses", FEW * conv_error_factor());
    rl_resnet_config cfg;
    if (rl_resnet_config_for(!strcmp(arch, "small") ? "resnet18-small" : arch, &cfg, &err)) die(err.msg);
    cfg.num_classes = classes;
    cfg.in_channels = C;
    rl_resnet *net;
    if (rl_resnet_create(&cfg, &net, &err) || rl_resnet_plan(net, B, S, S, &err)) die(err.msg);
    rl_param_table *t = rl_resnet_params(net);
    rl_status st = rl_weights_read(f, "weights/", t, path, &err);
    if (!tap_ok(st == RL_OK, "%s: torchvision weights load strictly (%s)", arch, st ? err.msg : "every tensor matched"))
        return tap_done();

    size_t nin = (size_t)B * C * S * S, nl = (size_t)B * classes;
    double *xd = read_d(f, "input", nin);
    float *x_nchw = rl_alloc(sizeof(float) * nin), *x = rl_alloc(sizeof(float) * nin);
    float *logits = rl_alloc(sizeof(float) * nl), *dlogits = rl_alloc(sizeof(float) * nl);
    int32_t *labels = rl_alloc(sizeof(int32_t) * B);
    for (size_t i = 0; i < nin; i++)
        x_nchw[i] = (float)xd[i];
    free(xd);
    if (rl_h5_read_i32(f, "labels", labels, B, path, &err)) die(err.msg);
    rl_nchw_to_nhwc(x_nchw, x, (rl_shape){B, C, S, S});

    /* eval mode first: it must not touch the running statistics */
    memcpy(logits, rl_resnet_forward(net, x, B, 0), sizeof(float) * nl);
    check_logits(f, "eval", logits, nl, arch);

    rl_resnet_zero_grad(net);
    memcpy(logits, rl_resnet_forward(net, x, B, 1), sizeof(float) * nl);
    double dz = check_logits(f, "train", logits, nl, arch);
    /* relab's loss (library code).  Cross-entropy's gradient in one row's
     * logits has L1 norm <= 2, so |loss(z) - loss(z64)| <= 2 max|z - z64|:
     * the loss is as exact as the logits are, plus double rounding. */
    double loss = 0, loss64 = read_scalar(f, "train/loss_double");
    rl_loss_config lc = {RL_LOSS_SOFTMAX, 0};
    if (rl_loss_forward_backward(&lc, logits, B, classes, labels, NULL, dlogits, &loss, &err)) die(err.msg);
    tap_ok(fabs(loss - loss64) <= 2 * dz + 1e-12 * fabs(loss64),
           "%s: relab's cross-entropy %.9f equals float64 PyTorch's %.9f within 2 max|logit error| = %.2e", arch, loss,
           loss64, 2 * dz);
    rl_resnet_backward(net, dlogits);
    perturb(t);
    check_gradients(f, t, arch);
    check_running_stats(f, t, arch);
    check_sgd(f, t, arch);

    H5Fclose(f);
    free(arch);
    rl_free(x_nchw);
    rl_free(x);
    rl_free(logits);
    rl_free(dlogits);
    rl_free(labels);
    rl_resnet_destroy(net);
    return tap_done();
}
