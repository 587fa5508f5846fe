/* run.h: a training run in a folder: what `relab train` does.
 *
 * DIR receives recipe.txt (the canonical recipe), metrics.csv (one row per
 * finished epoch), ckpt-*.h5 checkpoints (train/checkpoint.h), final.h5
 * (nn/weights.h format) and relab.lock.  The run's promises:
 *   - a folder that holds a run (recipe.txt, metrics.csv, final.h5 or a
 *     checkpoint) is refused for a new run, with the --resume command and a
 *     new-folder hint; missing parent folders of DIR are created;
 *   - one process at a time: DIR/relab.lock is locked (fcntl; released when
 *     the process dies however it dies); a second run in DIR is refused
 *     naming the holder;
 *   - temporary files a killed run left (NAME.tmp.PID of relab's outputs)
 *     are removed at the next start, under the lock;
 *   - --resume continues from the newest checkpoint that passes every check
 *     (a damaged one is named and skipped) and ends bitwise identical to an
 *     uninterrupted run; metrics.csv keeps exactly the rows of the epochs that
 *     checkpoint covers, and the interrupted epoch's row covers the whole epoch;
 *   - no checkpoint holds NaN or Inf; every file is written atomically;
 *   - a stop request (*opt->stop) writes a checkpoint and returns RL_ERR_STOPPED.
 * Under MPI (dist with world > 1) every rank calls rl_train_run; rank 0 owns
 * the folder.  See train/observers.h for the parts around the steps.
 */
#ifndef RL_RUN_H
#define RL_RUN_H

#include <signal.h>
#include <stdint.h>

#include "train/recipe.h"
#include "train/trainer.h"
#include "util/status.h"

struct rl_dist;

typedef struct {
    const char *out_dir;
    int resume;                        /* continue the run in out_dir */
    const volatile sig_atomic_t *stop; /* polled after every step; non-zero: checkpoint and stop (may be NULL) */
    int live_progress;                 /* a transient progress line after every step (a terminal) */
    /* Caller's observers, called before / after the run's own at every event
     * (tests end the process right after a step, or corrupt a weight). */
    const rl_train_observer *before, *after;
    int n_before, n_after;
} rl_train_options;

typedef struct {
    int epochs_done;
    int64_t steps;
    double val_top1, val_top5, train_loss, seconds, images_per_second;
} rl_train_result;

/* The recipe of the run in dir, read from its newest checkpoint whose recipe
 * reads, with sets[0..nsets) ("key=value") applied before it is finished. */
rl_status rl_train_resume_recipe(const char *dir, const char *const *sets, int nsets, rl_recipe *r, rl_error *err);

/* Trains r into opt->out_dir (see above).  dist may be NULL (one process). */
rl_status rl_train_run(const rl_recipe *r, const rl_train_options *opt, struct rl_dist *dist, rl_train_result *res,
                       rl_error *err);

#endif
