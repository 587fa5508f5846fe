/* train_driver.c: `relab train` through the library's public API, with a
 * crash or a divergence injected by observers (train/trainer.h), for
 * test_train.sh and test_dist.sh.  Nothing of this is compiled into librelab.
 *
 *   train_driver [--kill-after N [--kill-rank R]] [--poison-at N]
 *                (RECIPE --out DIR | --resume DIR) [--set KEY=VAL ...]
 *
 * --kill-after N: the process SIGKILLs itself right after SGD step N, before
 *   anything else sees that step (on rank R only, under mpirun), as a crash;
 * --poison-at N: weight 0 becomes NaN just before step N (after the
 *   observers of step N-1 ran, so a checkpoint of step N-1 is clean), as a
 *   divergence; --poison-buffer-at N: the same for BN buffer 0 (a running
 *   mean), which the training loss does not see.  Exit codes as relab train: 0, 1, 2, 75. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/dist.h"
#include "train/run.h"
#include "util/blas.h"

typedef struct {
    long long kill_after, poison_at, poison_buffer_at;
    int kill_rank;
} faults;

static rl_status kill_step(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const faults *f = ctx;
    if (rl_trainer_state(t)->pos.step == f->kill_after &&
        (f->kill_rank < 0 || rl_dist_rank(rl_trainer_dist(t)) == f->kill_rank))
        raise(SIGKILL);
    return RL_OK;
}

static rl_status poison(void *ctx, rl_trainer *t, rl_error *err)
{
    (void)err;
    const faults *f = ctx;
    const int64_t next = rl_trainer_state(t)->pos.step + 1;
    if (next == f->poison_at) rl_trainer_params(t)->weights[0] = NAN;
    /* a BN running mean: training goes on with finite losses, only a checkpoint would carry it */
    if (next == f->poison_buffer_at) rl_trainer_params(t)->buffers[0] = NAN;
    return RL_OK;
}

int main(int argc, char **argv)
{
    /* the BLAS core and OpenMP wait policy relab train runs with (it
     * re-executes itself where OpenBLAS falls back to slow kernels, as
     * 0.3.21 does on Emerald Rapids Xeons): a run killed here and resumed
     * by relab train must have computed with the same kernels */
    rl_blas_fix_core(argc, argv);
    static const struct option opts[] = {
        {"kill-after", required_argument, 0, 'k'}, {"kill-rank", required_argument, 0, 'R'},
        {"poison-at", required_argument, 0, 'p'},  {"poison-buffer-at", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},        {"resume", required_argument, 0, 'r'},
        {"set", required_argument, 0, 's'},        {0, 0, 0, 0}};
    faults f = {0, 0, 0, -1};
    const char *out = NULL, *resume = NULL, *sets[64];
    int nsets = 0, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            f.kill_after = atoll(optarg);
        else if (c == 'R')
            f.kill_rank = atoi(optarg);
        else if (c == 'p')
            f.poison_at = atoll(optarg);
        else if (c == 'b')
            f.poison_buffer_at = atoll(optarg);
        else if (c == 'o')
            out = optarg;
        else if (c == 'r')
            resume = optarg;
        else if (c == 's' && nsets < 64)
            sets[nsets++] = optarg;
        else
            return 2;
    }
    rl_error err = {0};
    rl_recipe r;
    rl_dist *dist = NULL;
    rl_status st = resume                 ? rl_train_resume_recipe(resume, sets, nsets, &r, &err)
                   : optind < argc && out ? rl_recipe_load_with(argv[optind], sets, nsets, &r, &err)
                                          : rl_fail(&err, RL_ERR_ARG, "give RECIPE --out DIR or --resume DIR");
    if (!st) st = rl_dist_init(&dist, &err);
    if (!st) rl_dist_set_sync_bn(dist, r.sync_bn);
    rl_train_observer before = {.ctx = &f, .on_step = kill_step},
                      after = {.ctx = &f, .on_start = poison, .on_step = poison};
    rl_train_options opt = {.out_dir = resume ? resume : out,
                            .resume = resume != NULL,
                            .before = &before,
                            .n_before = f.kill_after > 0,
                            .after = &after,
                            .n_after = f.poison_at > 0 || f.poison_buffer_at > 0};
    rl_train_result res;
    if (!st) st = rl_train_run(&r, &opt, dist, &res, &err);
    if (st) fprintf(stderr, "relab train: %s\n", err.msg);
    if (st && st != RL_ERR_STOPPED && dist) {
        rl_dist_abort(dist, 1); /* returns only for a world of 1, having freed dist */
        dist = NULL;
    }
    rl_dist_finalize(dist);
    return !st ? 0 : st == RL_ERR_STOPPED ? 75 : st == RL_ERR_ARG ? 2 : 1;
}
