/* test_parity.c: relab against PyTorch on the same weights and input.
 *
 * Reads a fixture written by tests/parity/make_fixture.py (format in
 * docs/parity.md): torchvision weights, an input batch, and PyTorch's logits
 * (eval and train mode), loss, every parameter's gradient, BN running
 * statistics and the weights after one SGD step.  relab loads the same
 * weights, runs the same batch and must agree:
 *   logits ~1e-4 relative (max |diff| / max |ref|), gradients ~1e-3 relative
 *   per tensor (||g - ref|| / ||ref||), SGD weights ~1e-5.
 * usage: test_parity FIXTURE.h5 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/resnet.h"
#include "nn/weights.h"
#include "train/sgd.h"
#include "tap.h"
#include "util/blas.h"
#include "util/h5.h"
#include "util/mem.h"

static double rel_max(const float *got, const float *ref, size_t n)
{
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)got[i] - ref[i]));
        mr = fmax(mr, fabs((double)ref[i]));
    }
    return md / (mr > 0 ? mr : 1);
}

/* ||got - ref|| / max(||ref||, floor * sqrt(n)): a tensor whose gradient is
 * far smaller than the network's typical one (BN biases whose terms nearly
 * cancel) is judged against that typical size instead of its own. */
static double rel_norm_floor(const float *got, const float *ref, size_t n, double floor_rms)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
        r += (double)ref[i] * ref[i];
    }
    return sqrt(d) / fmax(sqrt(r), floor_rms * sqrt((double)n));
}

static int read_int(hid_t f, const char *name, const char *path)
{
    int32_t v = 0;
    rl_error err;
    if (rl_h5_read_i32(f, name, &v, 1, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(99);
    }
    return v;
}

static float read_float(hid_t f, const char *name, const char *path)
{
    float v = 0;
    rl_h5_read_f32(f, name, &v, 1, path, NULL);
    return v;
}

/* Reads a tensor stored in PyTorch's layout into relab's (convs transposed). */
static float *read_param_like(hid_t f, const char *group, const rl_param *p, const char *path)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", group, p->name);
    float *raw = rl_alloc(sizeof(float) * p->count), *out = rl_alloc(sizeof(float) * p->count);
    rl_error err;
    if (rl_h5_read_f32(f, name, raw, (int64_t)p->count, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(99);
    }
    if (!p->conv_layout) {
        rl_free(out);
        return raw;
    }
    int OC = p->dims[0], C = p->dims[1], K = p->dims[2], KW = p->dims[3];
    for (int o = 0; o < OC; o++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < K; h++)
                for (int w = 0; w < KW; w++)
                    out[(((size_t)o * K + h) * KW + w) * C + c] = raw[(((size_t)o * C + c) * K + h) * KW + w];
    rl_free(raw);
    return out;
}

int main(int argc, char **argv)
{
    rl_blas_fix_core(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: test_parity FIXTURE.h5\n");
        return 99;
    }
    const char *path = argv[1];
    rl_error err;
    hid_t f = rl_h5_open_read(path, &err);
    if (f < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    char *arch = NULL;
    rl_h5_read_string(f, "arch", &arch, path, &err);
    int classes = read_int(f, "num_classes", path), B = read_int(f, "batch", path), S = read_int(f, "size", path);
    int C = read_int(f, "in_channels", path);
    tap_diag("fixture %s: %s, batch %d, %dx%dx%d, %d classes; BLAS core %s", path, arch, B, S, S, C, classes,
             rl_blas_core());
    rl_resnet_config cfg;
    const char *name = !strcmp(arch, "small") ? "resnet18-small" : arch;
    if (rl_resnet_config_for(name, &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    cfg.num_classes = classes;
    cfg.in_channels = C;
    rl_resnet *net;
    if (rl_resnet_create(&cfg, &net, &err) || rl_resnet_plan(net, B, S, S, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    rl_param_table *t = rl_resnet_params(net);
    rl_status st = rl_weights_read(f, "weights/", t, path, &err);
    if (!tap_ok(st == RL_OK, "%s: torchvision weights load strictly (%s)", arch, st ? err.msg : "every tensor matched"))
        return tap_done();

    size_t nin = (size_t)B * C * S * S, nl = (size_t)B * classes;
    float *x_nchw = rl_alloc(sizeof(float) * nin), *x = rl_alloc(sizeof(float) * nin);
    float *ref = rl_alloc(sizeof(float) * nl), *logits = rl_alloc(sizeof(float) * nl);
    int32_t *labels = rl_alloc(sizeof(int32_t) * B);
    rl_h5_read_f32(f, "input", x_nchw, (int64_t)nin, path, NULL);
    rl_h5_read_i32(f, "labels", labels, B, path, NULL);
    rl_nchw_to_nhwc(x_nchw, x, (rl_shape){B, C, S, S});

    /* eval mode first: it must not touch the running statistics */
    memcpy(logits, rl_resnet_forward(net, x, B, 0), sizeof(float) * nl);
    rl_h5_read_f32(f, "eval/logits", ref, (int64_t)nl, path, NULL);
    double e = rel_max(logits, ref, nl);
    tap_ok(e < 1e-4, "%s eval-mode logits match PyTorch (max rel err %.2e)", arch, e);

    /* train mode: logits, loss, gradients, running statistics */
    rl_resnet_zero_grad(net);
    memcpy(logits, rl_resnet_forward(net, x, B, 1), sizeof(float) * nl);
    rl_h5_read_f32(f, "train/logits", ref, (int64_t)nl, path, NULL);
    e = rel_max(logits, ref, nl);
    /* Deep nets with batch statistics over few rows amplify float32 rounding;
     * the float64 forward in the fixture says how much PyTorch float32 itself
     * is off, and relab must be no further from that truth (or within 1e-4). */
    double torch_train_err = 0;
    if (rl_h5_exists(f, "train/logits_double")) {
        double *ref64 = malloc(sizeof(double) * nl);
        float *ref64f = rl_alloc(sizeof(float) * nl);
        hid_t d = H5Dopen2(f, "train/logits_double", H5P_DEFAULT);
        H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ref64);
        H5Dclose(d);
        for (size_t i = 0; i < nl; i++) ref64f[i] = (float)ref64[i];
        double relab_err = rel_max(logits, ref64f, nl);
        torch_train_err = rel_max(ref, ref64f, nl);
        tap_ok(relab_err <= fmax(1e-4, 3 * torch_train_err),
               "%s train-mode logits match PyTorch (max rel err %.2e to PyTorch float32; to the float64 forward: "
               "relab %.2e, PyTorch float32 %.2e)", arch, e, relab_err, torch_train_err);
        free(ref64);
        rl_free(ref64f);
    } else {
        tap_ok(e < 1e-4, "%s train-mode logits match PyTorch (max rel err %.2e)", arch, e);
    }
    /* cross-entropy, mean over the batch, and its gradient (softmax - onehot) / B */
    float *dlogits = rl_alloc(sizeof(float) * nl);
    double loss = 0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * classes;
        double mx = z[0], sum = 0;
        for (int k = 1; k < classes; k++) mx = fmax(mx, z[k]);
        for (int k = 0; k < classes; k++) sum += exp(z[k] - mx);
        loss += (log(sum) + mx - z[labels[i]]) / B;
        for (int k = 0; k < classes; k++)
            dlogits[(size_t)i * classes + k] = (float)((exp(z[k] - mx) / sum - (k == labels[i])) / B);
    }
    tap_close(loss, read_float(f, "train/loss", path), 1e-4, 1e-6, "cross-entropy loss matches PyTorch");
    rl_resnet_backward(net, dlogits);
    /* PyTorch in float32 is itself off from the float64 truth where BN
     * normalises few rows; with float64 gradients in the fixture, relab is
     * judged by its distance to that truth against PyTorch float32's. */
    int have_double = rl_h5_exists(f, "grads_double/fc.weight");
    double worst = 0, worst_torch = 0;
    /* root-mean-square of the reference gradient over all parameters */
    double sum_sq = 0;
    size_t total = 0;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        float *g = read_param_like(f, have_double ? "grads_double" : "grads", p, path);
        for (size_t k = 0; k < p->count; k++) sum_sq += (double)g[k] * g[k];
        total += p->count;
        rl_free(g);
    }
    const double floor_rms = 1e-2 * sqrt(sum_sq / (double)(total ? total : 1));
    const char *worst_name = "";
    int nparams = 0, bad = 0;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        float *g32 = read_param_like(f, "grads", p, path);
        double r, rt = 0;
        if (have_double) {
            float *g64 = read_param_like(f, "grads_double", p, path);
            r = rel_norm_floor(p->grad, g64, p->count, floor_rms);
            rt = rel_norm_floor(g32, g64, p->count, floor_rms);
            rl_free(g64);
        } else {
            r = rel_norm_floor(p->grad, g32, p->count, floor_rms);
        }
        if (r > fmax(1e-3, 3 * rt)) {
            bad++;
            tap_diag("%s: relab %.2e, PyTorch float32 %.2e (to float64)", p->name, r, rt);
        }
        if (r > worst) {
            worst = r;
            worst_name = p->name;
        }
        worst_torch = fmax(worst_torch, rt);
        rl_free(g32);
        nparams++;
    }
    if (have_double)
        tap_ok(bad == 0, "%s: gradients of all %d parameter tensors match PyTorch's float64 gradients as closely as "
               "PyTorch float32 does (worst ||diff||/||ref||: relab %.2e at %s, PyTorch float32 %.2e)",
               arch, nparams, worst, worst_name, worst_torch);
    else
        tap_ok(bad == 0, "%s: gradients of all %d parameter tensors match PyTorch (worst ||diff||/||ref|| %.2e at %s)",
               arch, nparams, worst, worst_name);
    double worst_bn = 0;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_BUFFER) continue;
        float *r = read_param_like(f, "train/running", p, path);
        worst_bn = fmax(worst_bn, rel_max(p->data, r, p->count));
        rl_free(r);
    }
    tap_ok(worst_bn < fmax(1e-4, 3 * torch_train_err),
           "%s: BN running statistics after one train step match PyTorch (max rel err %.2e; PyTorch float32's own "
           "train-forward error %.2e)", arch, worst_bn, torch_train_err);

    /* One step of relab's SGD (library code) on PyTorch's own float32
     * gradients must land on PyTorch's weights: torch.optim.SGD decays every
     * parameter, BN and biases included, and starts with an empty buffer. */
    float lr = read_float(f, "sgd_lr", path), wd = read_float(f, "sgd_weight_decay", path);
    rl_sgd sgd;
    rl_sgd_config sc = {.momentum = read_float(f, "sgd_momentum", path), .weight_decay = wd, .wd_on_bn = 1,
                        .wd_on_bias = 1};
    rl_sgd_init(&sgd, &sc, t, &err);
    rl_weights_read(f, "weights/", t, path, &err);
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        float *g = read_param_like(f, "grads", p, path);
        memcpy(p->grad, g, sizeof(float) * p->count);
        rl_free(g);
    }
    rl_sgd_step(&sgd, t, lr);
    double worst_sgd = 0;
    for (int i = 0; i < t->count; i++) {
        rl_param *p = &t->entries[i];
        if (p->kind != RL_PARAM_WEIGHT) continue;
        float *w = read_param_like(f, "sgd", p, path);
        worst_sgd = fmax(worst_sgd, rel_max(p->data, w, p->count));
        rl_free(w);
    }
    tap_ok(worst_sgd < 1e-6, "%s: relab's SGD step on PyTorch's gradients gives PyTorch's weights (max rel err %.2e)",
           arch, worst_sgd);
    rl_sgd_free(&sgd);
    H5Fclose(f);
    free(arch);
    rl_resnet_destroy(net);
    return tap_done();
}
