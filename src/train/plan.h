/* plan.h: what a recipe means for each part of the library.
 *
 * rl_recipe_plan turns a finished recipe (train/recipe.h) into the settings
 * of the parts that do the work: the network (nn/resnet.h), the data sources
 * and their loaders (data/), the loss, the optimiser and the learning-rate
 * schedule.  It is the one place that reads recipe keys for them, so
 * training, prediction and ablations agree on what a recipe means.
 *
 *   rl_recipe_plan_init      everything that needs no data (no I/O)
 *   rl_recipe_plan_open_data opens the training and validation sources and
 *                            completes the model's class and channel counts
 *                            and the steps per epoch (with epoch_length =
 *                            full and a train_list, it also counts the
 *                            training set without the list)
 *   rl_recipe_plan_schedule  the schedule once steps per epoch are known
 *   rl_recipe_plan_close     releases the sources
 *
 * The plan owns its sources; everything else is plain data.  Not thread safe
 * (a plan belongs to one run).
 */
#ifndef RL_PLAN_H
#define RL_PLAN_H

#include "data/loader.h"
#include "data/source.h"
#include "nn/resnet.h"
#include "train/loss.h"
#include "train/recipe.h"
#include "train/schedule.h"
#include "train/sgd.h"
#include "util/status.h"

typedef struct {
    rl_recipe recipe;       /* a copy of the finished recipe */
    rl_resnet_config model; /* num_classes and in_channels: 0 until data or the caller sets them */
    rl_loss_config loss;    /* the loss kind's one home */
    rl_sgd_config sgd;
    rl_loader_config train_loader; /* global batch, shuffled, augmented; shard fields 0 (the trainer sets them) */
    rl_loader_config eval_loader;  /* batch_size is the per-rank batch; no shuffle, no augmentation */
    rl_source *train, *val;        /* owned; NULL until rl_recipe_plan_open_data */
    int64_t steps_per_epoch;       /* optimisation steps per epoch (0 until open_data): the training samples,
                                    * or with epoch_length = full the samples of the data set without
                                    * train_list (full_count), divided by the batch, the last partial batch dropped */
    int64_t full_count;            /* the samples that make an epoch: train->count, or the full set's */
} rl_recipe_plan;

/* Fills p from r (no I/O).  RL_ERR_ARG if r names a model nn does not know. */
rl_status rl_recipe_plan_init(rl_recipe_plan *p, const rl_recipe *r, rl_error *err);

/* Opens the recipe's training and validation sources (cache_dir, may be
 * NULL: where image folder listings are cached) and sets model.num_classes
 * (the recipe's num_classes, else the training data's) and in_channels. */
rl_status rl_recipe_plan_open_data(rl_recipe_plan *p, const char *cache_dir, rl_error *err);

/* Steps of the whole run (steps_per_epoch x epochs; 0 before open_data). */
int64_t rl_recipe_plan_total_steps(const rl_recipe_plan *p);

/* The head's initial bias for the planned class count. */
float rl_recipe_plan_head_bias(const rl_recipe_plan *p);

/* The learning-rate schedule for this many optimisation steps per epoch. */
void rl_recipe_plan_schedule(const rl_recipe_plan *p, int64_t steps_per_epoch, rl_schedule *out);

/* Releases the sources (p may be partly initialised; zeroed first by init). */
void rl_recipe_plan_close(rl_recipe_plan *p);

#endif
