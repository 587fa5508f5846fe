/* subset.h: scoring a given subset of a predictions file's rows, e.g.
 * ImageNet-M (Vasudevan et al. 2022: 68 validation images that top models
 * get badly wrong), a class-balanced sample, or one fold.
 *
 * A subset file holds one id per line (blank lines and '#' comments skipped;
 * in a line with a tab the part before it, so a relab list works too).  An
 * ImageNet validation id matches the prediction of the same validation image
 * whatever its folder ("ILSVRC2012_val_00000001.JPEG" matches
 * "val/ILSVRC2012_val_00000001.JPEG"); any other id matches exactly.  Every
 * subset id must have a prediction: otherwise an error names the file, the
 * line of the first missing id and how many are missing.  An id listed twice
 * is an error.
 * Thread safety: touches only its arguments.
 */
#ifndef RL_SUBSET_H
#define RL_SUBSET_H

#include <stdint.h>
#include "eval/preds.h"
#include "util/status.h"

/* keep[p->n] (caller-allocated) receives 1 for the rows the subset names;
 * *count the number of subset ids. */
rl_status rl_subset_mark(const rl_preds *p, const char *path, uint8_t *keep, int64_t *count, rl_error *err);

#endif
