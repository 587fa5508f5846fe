/* sets.h: set-valued evaluation against ReaL (Beyer et al. 2020, section on
 * the sigmoid loss: a sigmoid model scores each class on its own, so it can
 * predict a set of labels, and ReaL labels are sets).
 *
 * At a threshold t the predicted set of an image is S = {c : p_c > t}, p the
 * model's probabilities (sigmoid or softmax, the file's score_kind).  Over
 * the rows whose ReaL set R is non-empty:
 *   precision  = sum |S ∩ R| / sum |S|      (micro; NaN when no label is predicted)
 *   recall     = sum |S ∩ R| / sum |R|
 *   f1         = 2 precision recall / (precision + recall)
 *   example_f1 = mean over images of 2 |S ∩ R| / (|S| + |R|)
 *   exact      = fraction of images with S = R
 *   mean_size  = mean |S|,  empty = fraction of images with S empty.
 * S needs every probability above t: from the stored top-k when its last
 * score is <= t (no class outside it can exceed t), else from the file's
 * logits; otherwise the row cannot be scored and the call fails asking for
 * `relab predict --logits`.
 * Thread safety: touches only its arguments.
 */
#ifndef RL_SETS_H
#define RL_SETS_H

#include <stdint.h>
#include "eval/preds.h"
#include "eval/refsets.h"
#include "util/status.h"

typedef struct {
    double threshold;
    int64_t images;
    double mean_size, empty, precision, recall, f1, example_f1, exact;
} rl_set_point;

#define RL_SET_MAX_THRESHOLDS 256

/* Parses "0.1,0.5,0.9" (each in [0, 1), increasing) into t[], *n. */
rl_status rl_set_thresholds_parse(const char *text, double *t, int *n, rl_error *err);

/* The default sweep: 0.05, 0.10, ..., 0.95 (19 thresholds). */
int rl_set_thresholds_default(double *t);

/* out[nt] for the thresholds t[nt]; ref from rl_eval_ref_index. */
rl_status rl_eval_sets(const rl_preds *p, const int64_t *ref, const rl_sets *real, const double *t, int nt,
                       rl_set_point *out, rl_error *err);

#endif
