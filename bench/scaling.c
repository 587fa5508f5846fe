/* scaling.c: data-parallel training-step throughput under mpirun.
 *
 * Each rank runs forward + softmax cross-entropy + backward + gradient
 * average (train/dist.h) + SGD momentum step of a ResNet on random images of
 * its shard of the global batch.  The steps run twice: first with one
 * blocking all-reduce after backward (every byte of communication is
 * exposed), then with buckets started from the grad-ready hook during
 * backward.  In the blocking phase a barrier before the all-reduce times
 * the load imbalance between ranks apart from the transfer itself.  Reported
 * on rank 0: global images/s of each phase, bytes all-reduced per step, the
 * all-reduce time, the imbalance, the time blocked in the overlapped phase and
 *   hidden = 1 - (blocked(overlapped) - imbalance) / all-reduce,
 * the fraction of the all-reduce time that backward covered.  bench/scaling.sh
 * runs 1 rank x 2 threads and 2 ranks x 1 thread.
 *
 * usage: mpirun -np R bench_scaling [--arch resnet50] [--batch 32 (global)]
 *            [--size 128] [--classes 1000] [--steps 4] [--warmup 1]
 *            [--threads T] [--bucket-mb 4] */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/resnet.h"
#include "train/dist.h"
#include "train/loss.h"
#include "train/sgd.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/timer.h"

void openblas_set_num_threads(int);

typedef struct {
    double seconds, blocked, skew;
    int64_t steps;
} phase;

/* barrier != 0: wait for every rank before the all-reduce, timing that wait
 * (load imbalance) apart from the transfer. */
static int run_steps(rl_dist *dist, rl_resnet *net, rl_sgd *sgd, const float *x, const int32_t *labels, int n,
                     int classes, float *dlogits, int steps, int barrier, phase *out, rl_error *err)
{
    rl_param_table *t = rl_resnet_params(net);
    rl_loss_config lc = {RL_LOSS_SOFTMAX, 0};
    rl_dist_stats s0, s1;
    rl_dist_get_stats(dist, &s0);
    double t0 = rl_now(), skew = 0;
    for (int i = 0; i < steps; i++) {
        double loss;
        rl_resnet_zero_grad(net);
        const float *logits = rl_resnet_forward(net, x, n, 1);
        if (rl_loss_forward_backward(&lc, logits, n, classes, labels, NULL, dlogits, &loss, err)) return 1;
        rl_resnet_backward(net, dlogits);
        if (barrier) {
            double tb = rl_now();
            if (rl_dist_barrier(dist, err)) return 1;
            skew += rl_now() - tb;
        }
        if (rl_dist_grads_wait(dist, err)) return 1;
        rl_sgd_step(sgd, t, 1e-4f);
    }
    out->seconds = rl_now() - t0;
    rl_dist_get_stats(dist, &s1);
    out->blocked = s1.exposed_seconds - s0.exposed_seconds;
    out->skew = skew;
    out->steps = steps;
    return 0;
}

int main(int argc, char **argv)
{
    rl_blas_fix_core(argc, argv);
    static const struct option opts[] = {{"arch", required_argument, 0, 'a'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"size", required_argument, 0, 's'},
                                         {"classes", required_argument, 0, 'c'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"threads", required_argument, 0, 't'},
                                         {"bucket-mb", required_argument, 0, 'm'},
                                         {0, 0, 0, 0}};
    const char *arch = "resnet50";
    int batch = 32, size = 128, classes = 1000, steps = 4, warmup = 1, threads = 0, c;
    double bucket_mb = 4;
    while ((c = getopt_long(argc, argv, "a:b:s:c:n:w:t:m:", opts, NULL)) != -1) {
        switch (c) {
        case 'a': arch = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'c': classes = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'm': bucket_mb = atof(optarg); break;
        default: fprintf(stderr, "usage: see bench/scaling.c\n"); return 2;
        }
    }
    rl_error err = {0};
    rl_dist *dist;
    if (rl_dist_init(&dist, &err)) {
        fprintf(stderr, "bench_scaling: %s\n", err.msg);
        return 1;
    }
    const int rank = rl_dist_rank(dist), world = rl_dist_world(dist);
    if (batch < world || batch % world || steps < 1 || size < 8 || classes < 2) {
        if (rank == 0) fprintf(stderr, "bench_scaling: batch %d must be a multiple of %d ranks\n", batch, world);
        rl_dist_finalize(dist);
        return 2;
    }
    if (threads > 0) {
        omp_set_num_threads(threads);
        openblas_set_num_threads(threads);
    }
    rl_dist_set_bucket_bytes(dist, (size_t)(bucket_mb * 1048576.0));
    const int n = batch / world;
    rl_resnet_config cfg;
    rl_resnet *net = NULL;
    rl_sgd sgd = {0};
    int rc = 1;
    float *x = NULL, *dlogits = NULL;
    int32_t *labels = NULL;
    if (rl_resnet_config_for(arch, &cfg, &err)) goto done;
    cfg.num_classes = classes;
    if (rl_resnet_create(&cfg, &net, &err) || rl_resnet_plan(net, n, size, size, &err)) goto done;
    rl_resnet_init(net, 0, 0.0f);
    rl_param_table *t = rl_resnet_params(net);
    rl_sgd_config sc = {.momentum = 0.9f, .weight_decay = 1e-4f};
    if (rl_sgd_init(&sgd, &sc, t, &err)) goto done;
    if (rl_dist_broadcast_model(dist, t, &err) || rl_dist_attach(dist, net, &err)) goto done;
    size_t nx = (size_t)n * size * size * cfg.in_channels;
    x = rl_alloc(sizeof(float) * nx);
    dlogits = rl_alloc(sizeof(float) * (size_t)n * classes);
    labels = rl_alloc(sizeof(int32_t) * (size_t)n);
    if (!x || !dlogits || !labels) {
        rl_fail(&err, RL_ERR_NOMEM, "bench_scaling: out of memory");
        goto done;
    }
    /* Each rank its own images (as its shard would be), a fixed function of the rank. */
    rl_rng g = rl_rng_make(1, (uint64_t)rank, 0);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rl_rng_normal(&g);
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)rl_rng_below(&g, (uint32_t)classes);

    phase warm, blocking, overlapped;
    rl_dist_set_overlap(dist, 0);
    if (warmup > 0 && run_steps(dist, net, &sgd, x, labels, n, classes, dlogits, warmup, 0, &warm, &err)) goto done;
    if (run_steps(dist, net, &sgd, x, labels, n, classes, dlogits, steps, 1, &blocking, &err)) goto done;
    rl_dist_set_overlap(dist, 1);
    if (run_steps(dist, net, &sgd, x, labels, n, classes, dlogits, steps, 0, &overlapped, &err)) goto done;
    rl_dist_stats s;
    rl_dist_get_stats(dist, &s);
    if (rank == 0) {
        /* bb: the all-reduce alone (after the barrier); sk: load imbalance;
         * bo: everything the overlapped phase waited for, imbalance included. */
        double bb = blocking.blocked / steps, sk = blocking.skew / steps, bo = overlapped.blocked / steps;
        double exposed = bo - sk > 0 ? bo - sk : 0, hidden = bb > 0 ? 1 - exposed / bb : 0;
        if (hidden < 0) hidden = 0;
        printf("arch %s  image %dx%d  global batch %d  ranks %d x threads %d  BLAS %s (%s)  steps %d\n", arch, size,
               size, batch, world, omp_get_max_threads(), rl_blas_core(), rl_blas_threading(), steps);
        printf("weights %zu floats = %.1f MB; all-reduced per step %.1f MB in %d buckets (overlapped phase)\n",
               t->n_weights, 4e-6 * (double)t->n_weights, s.bytes_per_step / 1e6, s.buckets_per_step);
        printf("blocking:   %.2f img/s  %.3f s/step  all-reduce %.1f ms/step (%.2f GB/s ring-equivalent) + waiting "
               "for the slowest rank %.1f ms/step\n",
               batch * steps / blocking.seconds, blocking.seconds / steps, 1e3 * bb,
               bb > 0 ? 2.0 * (world - 1) / world * 4.0 * (double)t->n_weights / bb / 1e9 : 0.0, 1e3 * sk);
        printf("overlapped: %.2f img/s  %.3f s/step  blocked in MPI %.1f ms/step\n", batch * steps / overlapped.seconds,
               overlapped.seconds / steps, 1e3 * bo);
        if (world > 1)
            printf("hidden fraction of all-reduce time: %.2f  (1 - (blocked_overlapped - imbalance) / all-reduce)\n",
                   hidden);
        printf("RESULT ranks=%d threads=%d ips_blocking=%.3f ips_overlap=%.3f mb_per_step=%.2f allreduce_ms=%.2f "
               "imbalance_ms=%.2f blocked_overlap_ms=%.2f hidden=%.2f core=%s\n",
               world, omp_get_max_threads(), batch * steps / blocking.seconds, batch * steps / overlapped.seconds,
               s.bytes_per_step / 1e6, 1e3 * bb, 1e3 * sk, 1e3 * bo, world > 1 ? hidden : 0.0, rl_blas_core());
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_scaling (rank %d): %s\n", rank, err.msg);
    rl_free(x);
    rl_free(dlogits);
    rl_free(labels);
    rl_sgd_free(&sgd);
    rl_resnet_destroy(net);
    if (rc)
        rl_dist_abort(dist, 1);
    else
        rl_dist_finalize(dist);
    return rc;
}
