/* trainer.h: the training loop behind `relab train`.
 *
 * Runs a recipe into an output folder: DIR/recipe.txt (canonical recipe),
 * DIR/metrics.csv (one row per epoch), DIR/ckpt-*.h5 (checkpoints, see
 * checkpoint.h) and DIR/final.h5 (weights at the end, nn/weights.h format).
 * With resume set, it continues from the newest good checkpoint in DIR and
 * ends bitwise identical to an uninterrupted run (same thread count).
 * A NaN or Inf loss stops the run with the step, loss and learning rate,
 * leaving the checkpoints as they were.  *stop (may be NULL) is polled after
 * every step: when set (SIGINT/SIGTERM), a checkpoint is written and the run
 * returns RL_ERR_STOPPED. */
#ifndef RL_TRAINER_H
#define RL_TRAINER_H

#include <signal.h>
#include <stdio.h>

#include "train/recipe.h"
#include "util/status.h"

typedef struct {
    const char *out_dir;
    int resume;
    const volatile sig_atomic_t *stop;
    FILE *log;          /* progress and messages; NULL = stderr */
    int rank, world;    /* data-parallel position (0, 1 when single-process) */
    struct rl_dist *dist; /* the MPI context from rl_dist_init (train/dist.h), or NULL: one process */
    int64_t kill_after_step; /* tests only: SIGKILL itself after this step (0 = never), to prove resume */
    int64_t poison_at_step;  /* tests only: a weight becomes NaN before this step (0 = never), as in a divergence */
} rl_train_options;

typedef struct {
    int epochs_done;
    int64_t steps;
    double val_top1, val_top5, train_loss, seconds, images_per_second;
} rl_train_result;

rl_status rl_train_run(const rl_recipe *r, const rl_train_options *opt, rl_train_result *res, rl_error *err);

/* Top-1/top-5 of net-from-weights on a source, for eval and predict. */
struct rl_resnet;
struct rl_source;
rl_status rl_train_evaluate(struct rl_resnet *net, struct rl_source *src, int batch_size, int threads, double *top1,
                            double *top5, rl_error *err);

#endif
