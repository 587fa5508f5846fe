/* train_step.c: relab's training-step throughput and peak memory.
 *
 * Times forward + softmax cross-entropy + backward + SGD momentum update of a
 * ResNet on random data and reports images/s from the median step after
 * warm-up and from the fastest one (on a shared machine the fastest is the
 * most repeatable), CPU utilisation and the peak RSS of the process, plus the
 * BLAS core.  With
 * --forward-only it times eval-mode inference.  bench/train_step.sh runs this
 * and PyTorch (bench/pytorch_train_step.py) in the same run and prints ratios.
 * --profile runs the same number of steps again with every operation timed
 * and prints where the step goes (per kind and per convolution shape, GFLOP/s
 * and the fraction of the machine's measured FMA peak for the vector width of
 * the BLAS core) to stderr, with the profiled steps' own times.
 *
 * usage: bench_train_step [--arch resnet50] [--batch 32] [--size 224]
 *            [--classes 1000] [--in-channels 3] [--steps 5] [--warmup 2]
 *            [--forward-only] [--json] [--profile] */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "nn/resnet.h"
#include "peak.h"
#include "train/loss.h"
#include "train/sgd.h"
#include "util/blas.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/timer.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

typedef struct {
    rl_resnet *net;
    rl_param_table *t;
    rl_sgd *sgd;
    const float *x;
    const int32_t *labels;
    float *dlogits;
    int batch, classes, forward_only;
    rl_profile *prof; /* NULL: untimed */
} bench_step;

static void run_step(const bench_step *b)
{
    if (b->forward_only) {
        rl_resnet_forward(b->net, b->x, b->batch, 0);
        return;
    }
    rl_error err;
    double t0 = rl_now(), c0 = rl_cpu_now();
    rl_resnet_zero_grad(b->net);
    if (b->prof) rl_profile_add(b->prof, "zero grad", "", rl_now() - t0, rl_cpu_now() - c0, 0);
    const float *logits = rl_resnet_forward(b->net, b->x, b->batch, 1);
    rl_loss_config lc = {RL_LOSS_SOFTMAX, 0};
    double loss;
    t0 = rl_now(), c0 = rl_cpu_now();
    rl_loss_forward_backward(&lc, logits, b->batch, b->classes, b->labels, NULL, b->dlogits, &loss, &err);
    if (b->prof) rl_profile_add(b->prof, "loss", "", rl_now() - t0, rl_cpu_now() - c0, 0);
    rl_resnet_backward(b->net, b->dlogits);
    t0 = rl_now(), c0 = rl_cpu_now();
    rl_sgd_step(b->sgd, b->t, 0.01f);
    if (b->prof) rl_profile_add(b->prof, "sgd", "", rl_now() - t0, rl_cpu_now() - c0, 0);
}

/* Runs `steps` more steps with a profile attached and prints it. */
static void profile_steps(bench_step *b, int steps, double step_seconds)
{
    static rl_profile prof; /* ~25 KB: too big for some thread stacks */
    rl_profile_reset(&prof);
    b->prof = &prof;
    rl_resnet_set_profile(b->net, &prof);
    double *times = calloc((size_t)steps, sizeof(double));
    for (int s = 0; s < steps; s++) {
        double t0 = rl_now();
        run_step(b);
        times[s] = rl_now() - t0;
    }
    rl_resnet_set_profile(b->net, NULL);
    b->prof = NULL;
    double total = 0;
    for (int s = 0; s < steps; s++)
        total += times[s];
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    bench_peak peak = bench_fma_peak();
    /* the peak of the vector width the BLAS kernels use */
    const char *core = rl_blas_core();
    int wide = !strcmp(core, "SkylakeX") || !strcmp(core, "Cooperlake") || !strcmp(core, "SapphireRapids");
    double best = wide && peak.avx512 > 0 ? peak.avx512 : peak.avx2;
    fprintf(stderr, "FMA peak, %d threads: AVX2 %.0f GFLOP/s, AVX-512 %.0f GFLOP/s; BLAS core %s\n",
            omp_get_max_threads(), peak.avx2, peak.avx512, rl_blas_core());
    /* Shares are of the profiled steps' own mean time: the operations were
     * timed in those steps, not in the plain ones. */
    fprintf(stderr, "profiled steps: median %.1f ms, min %.1f ms (plain steps: median %.1f ms)\n",
            1e3 * times[steps / 2], 1e3 * times[0], 1e3 * step_seconds);
    rl_profile_print(&prof, steps, total / steps, best, stderr);
    free(times);
}

int main(int argc, char **argv)
{
    rl_blas_fix_core(argc, argv);
    const char *arch = "resnet50";
    int batch = 32, size = 224, classes = 1000, channels = 3, steps = 5, warmup = 2, forward_only = 0, json = 0,
        profile = 0;
    static const struct option opts[] = {
        {"arch", 1, 0, 'a'},        {"batch", 1, 0, 'b'},   {"size", 1, 0, 's'},   {"classes", 1, 0, 'c'},
        {"in-channels", 1, 0, 'i'}, {"steps", 1, 0, 'n'},   {"warmup", 1, 0, 'w'}, {"forward-only", 0, 0, 'f'},
        {"json", 0, 0, 'j'},        {"profile", 0, 0, 'p'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': arch = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'c': classes = atoi(optarg); break;
        case 'i': channels = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'f': forward_only = 1; break;
        case 'j': json = 1; break;
        case 'p': profile = 1; break;
        default: fprintf(stderr, "bench_train_step: bad option\n"); return 2;
        }
    }
    rl_error err;
    rl_resnet_config cfg;
    if (rl_resnet_config_for(arch, &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    cfg.num_classes = classes;
    cfg.in_channels = channels;
    rl_resnet *net;
    if (rl_resnet_create(&cfg, &net, &err) || (forward_only ? rl_resnet_plan_inference(net, batch, size, size, &err)
                                                            : rl_resnet_plan(net, batch, size, size, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rl_resnet_init(net, 0, 0.0f);
    rl_param_table *t = rl_resnet_params(net);
    rl_sgd sgd;
    rl_sgd_config sc = {.momentum = 0.9f, .weight_decay = 1e-4f};
    rl_sgd_init(&sgd, &sc, t, &err);
    size_t nx = (size_t)batch * size * size * channels;
    float *x = rl_alloc(sizeof(float) * nx), *dlogits = rl_alloc(sizeof(float) * (size_t)batch * classes);
    int32_t *labels = rl_alloc(sizeof(int32_t) * batch);
    rl_rng rng = rl_rng_make(1, 2, 3);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)rl_rng_normal(&rng);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t)rl_rng_below(&rng, (uint32_t)classes);
    bench_step b = {net, t, &sgd, x, labels, dlogits, batch, classes, forward_only, NULL};
    double *times = calloc((size_t)steps, sizeof(double));
    double cpu0 = 0, wall0 = 0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) {
            cpu0 = cpu_seconds();
            wall0 = rl_now();
        }
        double t0 = rl_now();
        run_step(&b);
        if (s >= warmup) times[s - warmup] = rl_now() - t0;
    }
    double cpu = cpu_seconds() - cpu0, wall = rl_now() - wall0;
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    double median = times[steps / 2], best = times[0];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mib = ru.ru_maxrss / 1024.0;
    double ips = batch / median;
    if (json)
        printf(
            "{\"impl\": \"relab\", \"arch\": \"%s\", \"batch\": %d, \"size\": %d, \"threads\": %d, \"mode\": \"%s\", "
            "\"images_per_s\": %.3f, \"images_per_s_best\": %.3f, \"median_step_s\": %.4f, \"min_step_s\": %.4f, "
            "\"cpu_utilisation\": %.2f, \"cpu_s_per_step\": %.4f, \"peak_rss_mib\": %.1f, \"blas_core\": \"%s\"}\n",
            arch, batch, size, omp_get_max_threads(), forward_only ? "forward" : "train", ips, batch / best, median,
            best, cpu / wall, cpu / steps, rss_mib, rl_blas_core());
    else
        printf("relab %s %s batch %d %dx%d: %.2f img/s (median step %.3f s; best %.2f img/s, min step %.3f s), "
               "CPU %.2f cores (%.3f CPU s per step), peak RSS %.0f MiB; BLAS %s x%d, %d OpenMP threads\n",
               arch, forward_only ? "forward" : "train step", batch, size, size, ips, median, batch / best, best,
               cpu / wall, cpu / steps, rss_mib, rl_blas_core(), rl_blas_threads(), omp_get_max_threads());
    fflush(stdout);
    if (profile) profile_steps(&b, steps, median);
    free(times);
    rl_free(x);
    rl_free(dlogits);
    rl_free(labels);
    rl_sgd_free(&sgd);
    rl_resnet_destroy(net);
    return 0;
}
