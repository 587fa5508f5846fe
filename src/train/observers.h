/* observers.h: the standard observers of a training run (train/trainer.h).
 *
 * Each is a context struct the caller owns (it must outlive the run) and a
 * function that makes the rl_train_observer for it.  rl_train_run
 * (train/run.h) attaches them in this order, which matters:
 *
 *   stop         polls a signal flag after every step and asks for a stop
 *   dist         under MPI: agrees on a stop (one rank's request stops all at
 *                the same step) and sums the epoch's numbers over the ranks
 *   eval         validation at the end of the epochs the recipe names
 *   checkpoints  the checkpoint policy: every checkpoint_every steps, at each
 *                epoch's end and at a stop; keeps keep_checkpoints of this
 *                run's checkpoints and never deletes another run's
 *   metrics      one metrics.csv row per epoch, rank 0
 *   progress     the per-step progress line and the per-epoch line, rank 0,
 *                through the log callback (util/log.h)
 */
#ifndef RL_OBSERVERS_H
#define RL_OBSERVERS_H

#include <signal.h>
#include <stdio.h>

#include "train/trainer.h"

typedef struct {
    const volatile sig_atomic_t *flag; /* non-zero: stop (may be NULL) */
} rl_stop_observer;
rl_train_observer rl_stop_observer_make(rl_stop_observer *o);

rl_train_observer rl_dist_observer_make(void);

rl_train_observer rl_eval_observer_make(void);

typedef struct {
    const char *dir;
    int rank0;
    char newest[4096]; /* the newest checkpoint written or resumed from ("" = none) */
} rl_checkpoint_observer;
rl_train_observer rl_checkpoint_observer_make(rl_checkpoint_observer *o);

typedef struct {
    FILE *f; /* metrics.csv opened for appending (NULL on ranks > 0) */
    const char *path;
} rl_metrics_observer;
rl_train_observer rl_metrics_observer_make(rl_metrics_observer *o);
/* The header line metrics.csv starts with. */
extern const char rl_metrics_header[];

typedef struct {
    int rank0;
    int log_every; /* steps between progress lines (RL_LOG_INFO); 0 = epoch lines only */
    int live;      /* 1: also a transient RL_LOG_PROGRESS line after every step (a terminal) */
} rl_progress_observer;
rl_train_observer rl_progress_observer_make(rl_progress_observer *o);

#endif
