/* preds.h: predictions files, the HDF5 format in which a model's outputs on a
 * data set move between `relab predict` and `relab eval/compare/clean`, and in
 * which users bring predictions of models trained elsewhere.
 *
 * Format (docs/formats.md has the full text and a Python writer/reader):
 *   ids           string [N]     sample id: "ILSVRC2012_val_00000001.JPEG",
 *                                "train-images-idx3-ubyte.gz#123", a list path ...
 *                                (variable-length or fixed-length strings)
 *   labels        int32  [N]     the label the data set had, -1 if unknown
 *   topk_classes  int32  [N, k]  classes, best first, each in [0, num_classes)
 *   topk_scores   float32[N, k]  their scores, finite, non-increasing along a row
 *   score_kind    string scalar  "softmax" or "sigmoid": what the scores are
 *   num_classes   int32  scalar  C > 0
 *   logits        float32[N, C]  optional, the raw outputs
 *   meta          string scalar  optional free text (model, checkpoint, data)
 * Any integer type is accepted for the int32 datasets and any float type for
 * the float32 ones (HDF5 converts); a float where an integer is expected, a
 * wrong shape, a class out of range or a non-finite score is refused with a
 * message naming the file and dataset.
 *
 * Memory layout: row-major, row i of topk_* is topk_*[i*k .. i*k+k).
 * Thread safety: none needed; functions touch only their arguments (HDF5 is
 * called, so do not call concurrently with other HDF5 users in one process).
 */
#ifndef RL_PREDS_H
#define RL_PREDS_H

#include <stdint.h>
#include "util/status.h"

typedef struct {
    int64_t n;             /* samples */
    int k;                 /* top-k width, 1 <= k <= num_classes */
    int num_classes;       /* C */
    char **ids;            /* [n] NUL-terminated, owned */
    int32_t *labels;       /* [n] label or -1, owned */
    int32_t *topk_classes; /* [n, k] owned */
    float *topk_scores;    /* [n, k] owned */
    float *logits;         /* [n, C] owned, or NULL */
    char score_kind[16];   /* "softmax" or "sigmoid" */
    char *meta;            /* owned, or NULL */
} rl_preds;

/* Allocates an empty set of n rows (ids NULL, labels -1, classes 0, scores 0);
 * logits are allocated when with_logits.  *p is overwritten. */
rl_status rl_preds_alloc(rl_preds *p, int64_t n, int k, int num_classes, int with_logits, rl_error *err);

/* Sets row i from a full score vector probs[C] (probabilities of kind
 * p->score_kind): copies id, stores label, picks the top-k (ties: lower class
 * first).  logits (may be NULL) are copied when p->logits exists. */
rl_status rl_preds_set_row(rl_preds *p, int64_t i, const char *id, int32_t label, const float *probs,
                           const float *logits, rl_error *err);

/* Reads and validates path into *out (zeroed first; left empty on error). */
rl_status rl_preds_read(const char *path, rl_preds *out, rl_error *err);

/* Writes p to path (truncating).  Every id must be set. */
rl_status rl_preds_write(const char *path, const rl_preds *p, rl_error *err);

/* *out (overwritten) receives the rows i of p with keep[i] != 0, in order. */
rl_status rl_preds_select(const rl_preds *p, const uint8_t *keep, rl_preds *out, rl_error *err);

/* Releases what p owns and zeroes it; NULL-safe. */
void rl_preds_free(rl_preds *p);

#endif
