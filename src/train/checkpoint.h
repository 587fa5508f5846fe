/* checkpoint.h: training state in HDF5, written atomically, resumed exactly.
 *
 * A checkpoint DIR/ckpt-<step, 10 digits>.h5 holds:
 *   model/<state_dict key>      weights and BN statistics (nn/weights.h format)
 *   optim/momentum/<param key>  SGD velocity, PyTorch shapes
 *   state/epoch, state/batch    int64: the next batch to run is `batch` of `epoch`
 *   state/step                  int64: optimisation steps done
 *   state/seed                  int64: the run's seed; with (epoch, batch) it fixes
 *                               every random draw still to come (all RNG in relab is
 *                               counter-based, so this is the whole RNG state)
 *   recipe                      string: the canonical recipe text of the run
 *   format                      string "relab-checkpoint 1"
 * It is written to a temporary file, fsync'ed and renamed; the previous
 * checkpoints stay until the new one is complete, then all but the newest
 * keep_last are deleted.  Loading refuses a truncated or foreign file with a
 * message naming it; rl_checkpoint_latest skips a damaged newest file and says so.
 */
#ifndef RL_CHECKPOINT_H
#define RL_CHECKPOINT_H

#include <stdint.h>

#include "nn/params.h"
#include "train/sgd.h"
#include "util/status.h"

typedef struct {
    int64_t epoch, batch, step, seed;
} rl_train_position;

rl_status rl_checkpoint_save(const char *dir, const rl_param_table *t, rl_sgd *sgd, const rl_train_position *pos,
                             const char *recipe_text, int keep_last, char *written, size_t written_size,
                             rl_error *err);

/* Restores weights, momentum and position from path.  recipe_text (may be NULL)
 * receives a malloc'ed copy of the stored recipe. */
rl_status rl_checkpoint_load(const char *path, rl_param_table *t, rl_sgd *sgd, rl_train_position *pos,
                             char **recipe_text, rl_error *err);

/* Reads only the recipe text of a checkpoint (malloc'ed). */
rl_status rl_checkpoint_recipe(const char *path, char **recipe_text, rl_error *err);

/* Finds the newest checkpoint in dir that opens as a relab checkpoint; writes
 * its path to out.  Returns RL_ERR_IO (with a message) when there is none. */
rl_status rl_checkpoint_latest(const char *dir, char *out, size_t out_size, rl_error *err);

#endif
