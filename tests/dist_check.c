/* dist_check.c: the pieces of train/dist.c against hand-computed values, run
 * by tests/test_dist.sh under `mpirun -np 2` (any rank count works).
 *
 * Every rank evaluates every check; a check passes when it passed on all
 * ranks (combined with rl_dist_any), and rank 0 prints the TAP lines.
 *  - rl_dist_sum of {rank + 1, 10} is {R (R + 1) / 2, 10 R};
 *  - rl_dist_any is 1 when one rank raises it, 0 when none does;
 *  - rl_dist_broadcast_model makes a net initialised with seed = rank equal,
 *    bitwise, to one initialised with seed 0 (rank 0's);
 *  - rl_dist_grads_wait after a real backward holds the average of the
 *    ranks' gradients (each computed without the hook, summed in double),
 *    with many buckets started from the grad-ready hook, and blocking;
 *  - synchronised BN: each rank normalises its slice of a batch with
 *    rl_dist_bn_sync; y, the running statistics, dx of the slice and the
 *    summed dgamma/dbeta equal those of one BN over the whole batch computed
 *    on every rank without sync (float rounding only). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/bn.h"
#include "nn/resnet.h"
#include "tap.h"
#include "train/dist.h"
#include "util/mem.h"
#include "util/rng.h"

static rl_dist *dist;
static int rank, world;

/* Passes only if it passed on every rank; rank 0 prints. */
static void check_all(int ok, const char *what)
{
    int bad = !ok;
    rl_error err;
    if (rl_dist_any(dist, &bad, &err)) bad = 1;
    if (rank == 0)
        tap_ok(!bad, "%s", what);
    else if (bad)
        tap_failed++;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return s > 0 ? d / s : d;
}

static void check_collectives(void)
{
    rl_error err;
    double v[2] = {rank + 1, 10};
    int st = rl_dist_sum(dist, v, 2, &err);
    check_all(!st && v[0] == world * (world + 1) / 2.0 && v[1] == 10.0 * world, "rl_dist_sum: {R(R+1)/2, 10R}");
    int f = rank == world - 1, g = 0;
    int st1 = rl_dist_any(dist, &f, &err), st2 = rl_dist_any(dist, &g, &err);
    check_all(!st1 && !st2 && f == 1 && g == 0, "rl_dist_any: one raised -> 1, none -> 0");
}

static rl_resnet *small_net(uint64_t seed)
{
    rl_resnet_config cfg;
    rl_error err;
    rl_resnet *net = NULL;
    if (rl_resnet_config_for("resnet8", &cfg, &err)) return NULL;
    cfg.width = 4;
    cfg.in_channels = 1;
    cfg.num_classes = 10;
    if (rl_resnet_create(&cfg, &net, &err)) return NULL;
    rl_resnet_init(net, seed, 0.0f);
    return net;
}

static void check_model_and_grads(void)
{
    rl_error err;
    rl_resnet *mine = small_net((uint64_t)rank), *ref = small_net(0);
    if (!mine || !ref) {
        check_all(0, "build resnet8");
        return;
    }
    rl_param_table *t = rl_resnet_params(mine), *tr = rl_resnet_params(ref);
    if (t->n_buffers) t->buffers[0] = (float)rank; /* a BN buffer differing per rank */
    int st = rl_dist_broadcast_model(dist, t, &err);
    int same = !st && !memcmp(t->weights, tr->weights, sizeof(float) * t->n_weights) &&
               !memcmp(t->buffers, tr->buffers, sizeof(float) * t->n_buffers);
    check_all(same, "broadcast: seed-r weights and buffers become rank 0's (seed 0), bitwise");

    /* 64-byte buckets: the hook starts one all-reduce at each of its calls,
     * after each of resnet8's 3 blocks and after the stem: 4 buckets. */
    rl_dist_set_bucket_bytes(dist, 64);
    enum { N = 2, H = 8 };
    float x[N * H * H], dl[N * 10];
    rl_rng g = rl_rng_make(3, (uint64_t)rank, 0); /* each rank its own images */
    for (int i = 0; i < N * H * H; i++)
        x[i] = (float)rl_rng_normal(&g);
    for (int i = 0; i < N * 10; i++)
        dl[i] = (float)rl_rng_normal(&g);
    const size_t n = t->n_weights;
    double *want = rl_alloc(sizeof(double) * n);
    if (!want || rl_resnet_plan(mine, N, H, H, &err)) {
        check_all(0, "plan");
        return;
    }
    /* The expected average: this rank's gradient without the hook, summed in double. */
    rl_resnet_on_grad_ready(mine, NULL, NULL);
    rl_resnet_zero_grad(mine);
    rl_resnet_forward(mine, x, N, 1);
    rl_resnet_backward(mine, dl);
    for (size_t i = 0; i < n; i++)
        want[i] = t->grads[i];
    st = rl_dist_sum(dist, want, (int)n, &err);
    for (size_t i = 0; i < n; i++)
        want[i] /= world;
    if (st || rl_dist_attach(dist, mine, &err)) {
        check_all(0, "attach");
        return;
    }
    for (int mode = 1; mode >= 0; mode--) {
        rl_dist_set_overlap(dist, mode);
        rl_resnet_zero_grad(mine);
        rl_resnet_forward(mine, x, N, 1);
        rl_resnet_backward(mine, dl);
        st = rl_dist_grads_wait(dist, &err);
        rl_dist_stats s;
        rl_dist_get_stats(dist, &s);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < n; i++) {
            worst = fmax(worst, fabs(t->grads[i] - want[i]));
            scale = fmax(scale, fabs(want[i]));
        }
        char what[200];
        snprintf(what, sizeof what, "%s all-reduce in %d buckets = average of the ranks' gradients (max rel err %.2g)",
                 mode ? "overlapped" : "blocking", s.buckets_per_step, worst / scale);
        check_all(!st && worst <= 1e-6 * scale && s.buckets_per_step == (mode ? 4 : 1), what);
    }
    rl_free(want);
    rl_resnet_destroy(mine);
    rl_resnet_destroy(ref);
}

static void check_sync_bn(void)
{
    enum { C = 5, LOCAL = 37 };
    const size_t rows = (size_t)LOCAL * world, lo = (size_t)LOCAL * rank;
    float *x = rl_alloc(sizeof(float) * rows * C), *dy = rl_alloc(sizeof(float) * rows * C);
    float *y_ref = rl_alloc(sizeof(float) * rows * C), *dx_ref = rl_alloc(sizeof(float) * rows * C);
    float *y = rl_alloc(sizeof(float) * LOCAL * C), *dx = rl_alloc(sizeof(float) * LOCAL * C);
    float *dy_local = rl_alloc(sizeof(float) * LOCAL * C);
    double *scratch = rl_alloc(sizeof(double) * rl_bn_scratch_doubles(C));
    rl_rng g = rl_rng_make(7, 0, 0); /* the same whole batch on every rank */
    for (size_t i = 0; i < rows * C; i++) {
        x[i] = (float)(3.0 + 2.0 * rl_rng_normal(&g)) + (float)(i % C);
        dy[i] = (float)rl_rng_normal(&g);
    }
    float gamma[C], beta[C], rm[2][C], rv[2][C], dg[2][C], db[2][C];
    float mean[2][C], invstd[2][C];
    int64_t nbt[2] = {0, 0};
    rl_bn bn[2];
    for (int k = 0; k < 2; k++) {
        for (int c = 0; c < C; c++) {
            gamma[c] = 0.5f + 0.25f * c;
            beta[c] = 0.1f * c;
            rm[k][c] = 0;
            rv[k][c] = 1;
            dg[k][c] = db[k][c] = 0;
        }
        bn[k] = (rl_bn){.c = C,
                        .eps = 1e-5f,
                        .momentum = 0.1f,
                        .gamma = gamma,
                        .beta = beta,
                        .dgamma = dg[k],
                        .dbeta = db[k],
                        .running_mean = rm[k],
                        .running_var = rv[k],
                        .num_batches_tracked = &nbt[k]};
    }
    /* k = 0: the whole batch, no sync; k = 1: this rank's slice, synchronised. */
    bn[1].sync = rl_dist_bn_sync;
    bn[1].sync_ctx = dist;
    rl_bn_forward(&bn[0], rows, x, NULL, 0, 1, y_ref, mean[0], invstd[0], scratch);
    rl_bn_forward(&bn[1], LOCAL, x + lo * C, NULL, 0, 1, y, mean[1], invstd[1], scratch);
    char what[160];
    double e = max_rel(y, y_ref + lo * C, (size_t)LOCAL * C);
    snprintf(what, sizeof what, "sync BN forward: the slice's y equals whole-batch BN (max rel diff %.2g)", e);
    check_all(e <= 1e-6, what);
    double em = max_rel(rm[1], rm[0], C), ev = max_rel(rv[1], rv[0], C);
    snprintf(what, sizeof what, "sync BN running mean/var (unbiased over %zu rows) equal (%.2g, %.2g)", rows, em, ev);
    check_all(em <= 1e-6 && ev <= 1e-6, what);

    memcpy(dy_local, dy + lo * C, sizeof(float) * LOCAL * C);
    rl_bn_backward(&bn[0], rows, x, y_ref, dy, 0, mean[0], invstd[0], dx_ref, scratch);
    rl_bn_backward(&bn[1], LOCAL, x + lo * C, y, dy_local, 0, mean[1], invstd[1], dx, scratch);
    rl_error err;
    e = max_rel(dx, dx_ref + lo * C, (size_t)LOCAL * C);
    snprintf(what, sizeof what, "sync BN backward: the slice's dx equals whole-batch BN (max rel diff %.2g)", e);
    check_all(e <= 1e-5, what);
    double sums[2 * C];
    for (int c = 0; c < C; c++) {
        sums[c] = dg[1][c];
        sums[C + c] = db[1][c];
    }
    rl_dist_sum(dist, sums, 2 * C, &err);
    float sg[C], sb[C];
    for (int c = 0; c < C; c++) {
        sg[c] = (float)sums[c];
        sb[c] = (float)sums[C + c];
    }
    double eg = max_rel(sg, dg[0], C), eb = max_rel(sb, db[0], C);
    snprintf(what, sizeof what, "sync BN: local dgamma/dbeta summed over ranks = whole batch's (%.2g, %.2g)", eg, eb);
    check_all(eg <= 1e-5 && eb <= 1e-5, what);
    rl_free(x);
    rl_free(dy);
    rl_free(y_ref);
    rl_free(dx_ref);
    rl_free(y);
    rl_free(dx);
    rl_free(dy_local);
    rl_free(scratch);
}

int main(void)
{
    rl_error err;
    if (rl_dist_init(&dist, &err)) {
        printf("1..0 # SKIP %s\n", err.msg);
        return 0;
    }
    rank = rl_dist_rank(dist);
    world = rl_dist_world(dist);
    if (world < 2) {
        if (rank == 0) printf("1..0 # SKIP not started by mpirun with 2 or more ranks\n");
        rl_dist_finalize(dist);
        return 0;
    }
    check_collectives();
    check_model_and_grads();
    check_sync_bn();
    if (rank == 0) printf("1..%d\n", tap_count);
    int failed = tap_failed;
    rl_dist_finalize(dist);
    return failed ? 1 : 0;
}
