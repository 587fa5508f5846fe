/* facts.h: what a run of a grid will do, read from its recipe's plan
 * (train/plan.h), the same plan `relab train` makes: the network, the loss
 * and how many optimisation steps the run makes.  Beyer et al.'s cleaned
 * runs see fewer images per epoch, so their steps are worth reporting beside
 * the accuracies.
 *
 * The recipe of a run that has started is its DIR/recipe.txt (the recipe
 * with the overrides, as the run uses it); of a new run, the grid's recipe
 * with the run's overrides (ablate/runs.h).  Planning opens the training
 * data, so it costs what opening the data costs (an image folder is listed
 * once and the listing cached in cache_dir).  Re-entrant.
 */
#ifndef RL_ABLATE_FACTS_H
#define RL_ABLATE_FACTS_H

#include <stdint.h>

#include "ablate/grid.h"
#include "util/status.h"

typedef struct {
    char arch[32];          /* the network, e.g. "resnet50" */
    char loss[16];          /* "softmax" or "sigmoid" */
    int epochs, batch_size; /* batch_size: the global batch */
    int64_t train_images;   /* images in the training set */
    int64_t steps_per_epoch, steps;
} rl_ablate_facts;

/* Plans run r, whose folder is dir (it need not exist).  cache_dir (may be
 * NULL) is where image-folder listings are cached. */
rl_status rl_ablate_run_facts(const rl_ablate_grid *g, int r, const char *dir, const char *cache_dir,
                              rl_ablate_facts *f, rl_error *err);

#endif
