/* perclass.h: per-class accuracy against an "unbiased oracle", and the
 * classes that co-occur in ReaL label sets (Beyer et al. 2020, Table 1 and
 * Figure 6: where a model agrees with ImageNet's original labels more often
 * than a reader of the ReaL labels who has no bias among an image's valid
 * labels would, it has learnt how ImageNet's annotators chose one).
 *
 * Over the prediction rows with a label y >= 0 (the original label) and a
 * non-empty ReaL set R, grouped by y:
 *   images[y]      rows
 *   model[y]       rows whose top-1 is y (accuracy on the original labels)
 *   oracle[y]      sum of [y in R] / |R|: the expected hits of an oracle that
 *                  picks one of R uniformly at random
 *   real[y]        rows whose top-1 is in R (ReaL accuracy)
 * and the same three restricted to rows with |R| >= 2 (multi_*), where the
 * oracle and the model can differ most.
 * Co-occurrence: for each class c, the images whose ReaL set holds c and,
 * for every other class d, how many of them hold d too; the top few d per c.
 *
 * Outputs: a TSV per class, a TSV of co-occurring classes, and an SVG
 * scatter plot (x = oracle, y = model, per class).  Files are written
 * atomically.  Thread safety: touches only its arguments.
 */
#ifndef RL_PERCLASS_H
#define RL_PERCLASS_H

#include <stdint.h>
#include "eval/preds.h"
#include "eval/refsets.h"
#include "util/status.h"
#include "util/text.h"

typedef struct {
    int num_classes;
    int64_t *images, *model, *real;      /* [C] */
    double *oracle;                      /* [C] expected oracle hits */
    int64_t *multi_images, *multi_model; /* [C] rows with |R| >= 2 */
    double *multi_oracle;                /* [C] */
    int64_t total_images, total_model;
    double total_oracle;
} rl_perclass;

rl_status rl_perclass_run(const rl_preds *p, const int32_t *labels, const int64_t *ref, const rl_sets *real,
                          rl_perclass *out, rl_error *err);
void rl_perclass_free(rl_perclass *pc);

#define RL_COOCCUR_TOP 5
#define RL_COOCCUR_PAIRS 20
typedef struct {
    int num_classes;
    int64_t *with;  /* [C] images whose set holds c */
    int32_t *other; /* [C * RL_COOCCUR_TOP] most frequent co-occurring classes, -1 past the last */
    int64_t *count; /* [C * RL_COOCCUR_TOP] their counts (descending, then class ascending) */
    int64_t multi;  /* images with two or more labels */
    int npairs;     /* the most frequent unordered pairs (a < b), by count then (a, b) */
    int32_t pair_a[RL_COOCCUR_PAIRS], pair_b[RL_COOCCUR_PAIRS];
    int64_t pair_n[RL_COOCCUR_PAIRS];
} rl_cooccur;

/* Over the ReaL sets of the prediction rows (each validation image once). */
rl_status rl_cooccur_run(const rl_preds *p, const int64_t *ref, const rl_sets *real, rl_cooccur *out, rl_error *err);
void rl_cooccur_free(rl_cooccur *co);

/* names (may be NULL) gives class names from classes.tsv for the outputs. */
rl_status rl_perclass_write_tsv(const char *path, const rl_perclass *pc, const rl_classes *names, rl_error *err);
rl_status rl_perclass_write_svg(const char *path, const rl_perclass *pc, const rl_classes *names, const char *title,
                                rl_error *err);
rl_status rl_cooccur_write_tsv(const char *path, const rl_cooccur *co, const rl_classes *names, rl_error *err);

#endif
