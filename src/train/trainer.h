/* trainer.h: training as an object.
 *
 * An rl_trainer holds one training run's network, optimiser, loader and
 * schedule, built from a planned recipe (train/plan.h), and moves it forward
 * one SGD step at a time.  Everything around the steps (progress lines,
 * metrics.csv, the checkpoint policy, stop signals, the MPI agreement on
 * stopping and the epoch sums, validation) hangs on it as observers,
 * called in the order they were attached:
 *
 *   on_start  once, before the first step (after a resume: from its position)
 *   on_step   after every SGD step (the position counts that step)
 *   on_epoch  after the last step of an epoch: the position is already the
 *             next epoch's start (pos.epoch = epochs done, batch 0) and the
 *             sums are the finished epoch's, this rank's until an observer
 *             reduces them
 *   on_end    once, with the run's outcome (also after a failure or a stop)
 * An observer stops the run by returning an error, or asks for a clean stop
 * with rl_trainer_request_stop (the run then ends with RL_ERR_STOPPED after
 * that step's observers).  Tests inject crashes and divergence the same way.
 *
 * Determinism: the weights after step s depend only on the recipe, s, the
 * rank count, the thread count and the BLAS kernel; stopping and resuming
 * from a checkpoint at any step gives the same weights bit for bit.
 *
 * Ownership: the trainer borrows the plan (its sources) and the MPI context,
 * which must outlive it.  One thread drives a trainer (it uses OpenMP and
 * BLAS threads inside).
 */
#ifndef RL_TRAINER_H
#define RL_TRAINER_H

#include <stdint.h>

#include "nn/params.h"
#include "train/checkpoint.h"
#include "train/plan.h"
#include "train/schedule.h"

struct rl_dist;
struct rl_resnet;
typedef struct rl_trainer rl_trainer;

/* Where the run is; read it with rl_trainer_state. */
typedef struct {
    rl_train_position pos; /* the next batch to run; after a step, pos.batch batches of pos.epoch are done */
    int64_t steps_per_epoch, total_steps;
    int64_t first_step;        /* pos.step when this process started (0, or the resumed step) */
    double lr, loss;           /* of the last step (loss: this rank's batch mean) */
    rl_epoch_sums sums;        /* the current epoch's running sums (see above) */
    double val_top1, val_top5; /* set by evaluation at an epoch's end; NaN when not evaluated */
    double run_start;          /* rl_now() at the first step */
    double epoch_start;        /* rl_now() at the epoch's (or the resume's) start, less the sums' seconds */
} rl_train_state;

typedef struct {
    void *ctx;
    rl_status (*on_start)(void *ctx, rl_trainer *t, rl_error *err); /* each may be NULL */
    rl_status (*on_step)(void *ctx, rl_trainer *t, rl_error *err);
    rl_status (*on_epoch)(void *ctx, rl_trainer *t, rl_error *err);
    void (*on_end)(void *ctx, rl_trainer *t, rl_status outcome);
} rl_train_observer;

/* Builds the network (initialised from the recipe's seed), optimiser,
 * sharded loader and schedule.  plan must have its data open; dist may be
 * NULL (one process). */
rl_status rl_trainer_create(const rl_recipe_plan *plan, struct rl_dist *dist, rl_trainer **out, rl_error *err);
void rl_trainer_destroy(rl_trainer *t);

/* Adds an observer (copied) after those already attached. */
rl_status rl_trainer_observe(rl_trainer *t, const rl_train_observer *o, rl_error *err);

/* Loads a checkpoint (train/checkpoint.h) and checks its position against
 * the recipe: epoch within the run, batch within the epoch, step = epoch *
 * steps_per_epoch + batch, the same seed.  RL_ERR_FORMAT with the reason
 * otherwise; the trainer must then be given another checkpoint (or
 * destroyed).  Every rank may load; only rank 0's epoch sums are kept. */
rl_status rl_trainer_load(rl_trainer *t, const char *path, rl_error *err);

/* Writes a checkpoint of the current position and epoch sums (collective
 * under MPI: every rank calls it; rank 0 writes).  path may be NULL on other
 * ranks. */
rl_status rl_trainer_save(rl_trainer *t, const char *path, rl_error *err);

/* Runs from the current position to the end of the recipe's epochs, calling
 * the observers.  RL_OK when finished, RL_ERR_STOPPED after a requested stop,
 * or the first error. */
rl_status rl_trainer_run(rl_trainer *t, rl_error *err);

/* One SGD step on the next batch (no observers).  RL_ERR_NUMERIC when the
 * loss is not finite (the position is then that of the failed step). */
rl_status rl_trainer_step(rl_trainer *t, rl_error *err);

/* The run's identity, stored in its checkpoints (a new run gets one from
 * its creator; rl_trainer_load takes the checkpoint's). */
void rl_trainer_set_run_id(rl_trainer *t, const char *id);
const char *rl_trainer_run_id(const rl_trainer *t);

void rl_trainer_request_stop(rl_trainer *t);
int rl_trainer_stop_requested(const rl_trainer *t);

/* The run's position and numbers; writable by observers that reduce or evaluate. */
rl_train_state *rl_trainer_state(rl_trainer *t);
const rl_recipe_plan *rl_trainer_plan(const rl_trainer *t);
rl_param_table *rl_trainer_params(rl_trainer *t);
struct rl_resnet *rl_trainer_net(rl_trainer *t);
struct rl_dist *rl_trainer_dist(rl_trainer *t);
/* This rank's part of the global batch. */
int rl_trainer_local_batch(const rl_trainer *t);
/* Fraction of the last epoch's time the loop waited for data. */
double rl_trainer_wait_fraction(const rl_trainer *t);
/* Activation memory of the planned network, bytes. */
double rl_trainer_activation_bytes(const rl_trainer *t);

/* Top-1/top-5 accuracy of net on src (eval mode), split over the ranks of
 * dist (may be NULL) with rank 0's BN statistics, summed, so every rank gets
 * the same numbers.  batch_size is per rank. */
rl_status rl_train_evaluate(struct rl_resnet *net, struct rl_source *src, int batch_size, int threads,
                            struct rl_dist *dist, double *top1, double *top5, rl_error *err);

#endif
