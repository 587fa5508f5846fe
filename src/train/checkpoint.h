/* checkpoint.h: training state in HDF5, checked on load, resumed exactly.
 *
 * A checkpoint DIR/ckpt-<step, 10 digits>.h5 holds:
 *   format                      string "relab-checkpoint 2"
 *   model/<state_dict key>      weights and BN statistics (nn/weights.h format)
 *   optim/momentum/<param key>  SGD velocity, PyTorch shapes
 *   state/epoch, state/batch    int64: the next batch to run is `batch` of `epoch`
 *   state/step                  int64: optimisation steps done
 *   state/seed                  int64: the run's seed; with (epoch, batch) it fixes
 *                               every random draw still to come (all RNG in relab is
 *                               counter-based, so this is the whole RNG state)
 *   state/epoch_sums            float64[5]: the running sums of the epoch so far,
 *                               over all ranks (loss x images, correct, images,
 *                               images for the rate, seconds), so the epoch's
 *                               metrics.csv row covers the whole epoch after a resume
 *   state/run_id                string: the run this checkpoint belongs to
 *   recipe                      string: the canonical recipe text of the run
 *   integrity/crc32             int64[n]: CRC-32 (zlib) of each item above in a
 *                               fixed order (every model and momentum tensor, the
 *                               state, the sums, the recipe, the run id)
 *
 * Saving refuses non-finite values (a diverged model is never checkpointed)
 * and writes the file atomically (util/h5image.h).  Loading checks the tag,
 * that every tensor is float32 (counters int64) of the model's shape, the
 * state's ranges, and every checksum; any failure is RL_ERR_FORMAT naming the
 * file and the item.  Format 1 files (no sums, run id or checksums) still load.
 *
 * Thread safety: one call at a time (HDF5 is not re-entrant).
 */
#ifndef RL_CHECKPOINT_H
#define RL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/params.h"
#include "train/sgd.h"
#include "util/status.h"

typedef struct {
    int64_t epoch, batch, step, seed;
} rl_train_position;

/* The epoch's running sums so far (global over ranks). */
typedef struct {
    double loss_sum, correct, seen, images, seconds;
} rl_epoch_sums;

typedef struct {
    rl_train_position pos;
    rl_epoch_sums sums;
    char run_id[64]; /* "" in a format 1 file */
} rl_checkpoint_state;

/* DIR/ckpt-<step>.h5 */
void rl_checkpoint_path(const char *dir, int64_t step, char *out, size_t n);
/* 1 and *step if name is a checkpoint file name "ckpt-<digits>.h5". */
int rl_checkpoint_name_step(const char *name, int64_t *step);
/* The steps of the checkpoints in dir, newest first (at most max); -1 if dir
 * cannot be read. */
int rl_checkpoint_list(const char *dir, int64_t *steps, int max);

/* Writes path atomically.  RL_ERR_NUMERIC (naming the tensor) if a weight,
 * buffer or momentum value is NaN or Inf: nothing is written then. */
rl_status rl_checkpoint_save(const char *path, const rl_param_table *t, rl_sgd *sgd, const rl_checkpoint_state *s,
                             const char *recipe_text, rl_error *err);

/* Restores weights, momentum (sgd may be NULL) and state (s may be NULL)
 * after every check above.  recipe_text (may be NULL) receives a malloc'ed
 * copy of the stored recipe.  On failure t and sgd may hold part of the file. */
rl_status rl_checkpoint_load(const char *path, rl_param_table *t, rl_sgd *sgd, rl_checkpoint_state *s,
                             char **recipe_text, rl_error *err);

/* Checks a checkpoint whose model tensors were already read into t (e.g. by
 * nn/weights.h under "model/"), for users of its weights alone (predict):
 * types, the state's ranges, and the checksums of everything but the
 * momentum.  A format 1 file has no checksums. */
rl_status rl_checkpoint_verify_model(const char *path, const rl_param_table *t, rl_error *err);

/* Reads only the recipe text (malloc'ed) and the run id (may be NULL, size
 * 64), both checked against their checksums (format 2). */
rl_status rl_checkpoint_recipe(const char *path, char **recipe_text, char *run_id, rl_error *err);

#endif
