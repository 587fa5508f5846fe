/* metrics.h: scoring predictions and the statistics around the scores.
 *
 *   - top-1 / top-5 accuracy against single labels;
 *   - ReaL accuracy (Beyer et al. 2020): correct iff the top-1 class (top-5:
 *     any of the top 5) is in the image's ReaL set; images whose set is empty
 *     are left out of numerator and denominator (46,837 of 50,000 remain);
 *   - multi-label accuracy (Shankar et al. 2020): problematic images skipped,
 *     correct iff top-1 is in correct ∪ unclear (the imagenet-mistakes
 *     notebook's rule, the default) or in correct only (Shankar et al.'s
 *     grading; refsets.h rl_ml_rule); "macro" = mean over classes (grouped by
 *     the ORIGINAL label) of per-class accuracy, "micro" = correct / images;
 *   - accuracy per class group (dog / animal / object, and unions such as
 *     organism; groups may overlap), grouped by the label: micro (over the
 *     group's images) and macro (mean of the per-class accuracies of the
 *     group's classes that have images), for top-1, ReaL top-1 and
 *     multi-label accuracy;
 *   - the difference of two independent accuracies (ImageNet vs ImageNetV2)
 *     with Newcombe's hybrid score interval (Newcombe 1998, method 10):
 *     d = p1 - p2, [d - sqrt((p1-l1)^2 + (u2-p2)^2), d + sqrt((u1-p1)^2 + (p2-l2)^2)]
 *     with (l, u) the 95% Wilson score intervals;
 *   - 95% Clopper-Pearson intervals: lower = B^-1(a/2; k, n-k+1),
 *     upper = B^-1(1-a/2; k+1, n-k), B the beta distribution, via bisection on
 *     the regularised incomplete beta function evaluated by its continued
 *     fraction;
 *   - McNemar's test for two models on the same images: exact two-sided
 *     binomial p = min(1, 2 P(X <= min(b,c))), X ~ Bin(b+c, 1/2), and the
 *     chi-square statistic with continuity correction max(|b-c|-1, 0)^2/(b+c),
 *     1 degree of freedom (the clamp keeps b == c at chi2 = 0, p = 1).
 * Per-row results are byte vectors ok[n] (1 = correct) and valid[n] (1 = the
 * row counts).  All functions are pure and thread safe.
 */
#ifndef RL_METRICS_H
#define RL_METRICS_H

#include <stdint.h>
#include "eval/preds.h"
#include "eval/refsets.h"
#include "util/status.h"

typedef struct {
    int64_t correct, total;
    double acc;    /* correct / total, NaN when total == 0 */
    double lo, hi; /* 95% Clopper-Pearson interval, NaN when total == 0 */
} rl_acc;

rl_acc rl_acc_make(int64_t correct, int64_t total);

/* Regularised incomplete beta I_x(a, b), a, b > 0, x in [0, 1]. */
double rl_beta_inc(double a, double b, double x);
/* The x with I_x(a, b) = p (bisection to double precision). */
double rl_beta_inc_inv(double a, double b, double p);
/* Two-sided Clopper-Pearson interval at confidence level conf (0.95). */
void rl_clopper_pearson(int64_t k, int64_t n, double conf, double *lo, double *hi);

typedef struct {
    int64_t n; /* rows valid for both models */
    int64_t both, a_only, b_only, neither;
    double p_exact;      /* exact binomial two-sided */
    double chi2, p_chi2; /* continuity-corrected chi-square, its p */
} rl_mcnemar;

rl_mcnemar rl_mcnemar_test(int64_t both, int64_t a_only, int64_t b_only, int64_t neither);

/* Wilson score interval at confidence conf (0.95) for k of n (n > 0). */
void rl_wilson(int64_t k, int64_t n, double conf, double *lo, double *hi);

/* a.acc - b.acc of two accuracies on independent samples, with Newcombe's
 * 95% interval (NaN when either has no rows). */
typedef struct {
    double diff, lo, hi;
} rl_acc_diff;
rl_acc_diff rl_acc_difference(const rl_acc *a, const rl_acc *b);

/* Maps each prediction row to a reference index: ids "ILSVRC2012_val_%08d.JPEG"
 * (any folder) to their validation index (duplicates refused); when no id has
 * that form, row i maps to i.  A mix of both is refused.  path names the
 * predictions file in messages. */
rl_status rl_eval_ref_index(const rl_preds *p, int64_t *ref, const char *path, rl_error *err);

/* Row i counts iff labels[i] >= 0; correct iff labels[i] is among the top k
 * (k is clipped to p->k). */
void rl_rows_label(const rl_preds *p, const int32_t *labels, int k, uint8_t *ok, uint8_t *valid);
/* Row i counts iff 0 <= ref[i] < sets->n and the set is non-empty; correct iff
 * any of the top k is in the set. */
void rl_rows_sets(const rl_preds *p, const int64_t *ref, const rl_sets *sets, int k, uint8_t *ok, uint8_t *valid);

/* Fills labels[p->n]: with labels_path NULL, the file's own labels; with
 * classes_path set, labels_path has one wnid per line (entry k = validation
 * image k, mapped through classes.tsv) and row i takes entry ref[i]; otherwise
 * labels_path is a relab list whose paths are matched exactly with the ids.  A
 * row with no entry is an error naming the id. */
rl_status rl_eval_labels(const rl_preds *p, const int64_t *ref, const char *labels_path, const char *classes_path,
                         int32_t *labels, rl_error *err);

typedef struct {
    int64_t n;         /* prediction rows */
    int64_t unlabeled; /* rows without a label (-1) */
    rl_acc top1, top5;
    int top5_k; /* k used for "top5" (min(5, file's k)) */
    int has_real;
    rl_acc real1, real5;
    int64_t real_empty;   /* rows left out: empty ReaL set */
    int64_t real_missing; /* rows with no ReaL entry */
    int has_ml;
    rl_ml_rule ml_rule; /* which labels counted */
    double ml_macro;    /* mean of per-class accuracies */
    int ml_classes;     /* classes averaged */
    rl_acc ml_micro;    /* over images */
    int64_t ml_problematic, ml_absent;
    int ngroups;
    char group_names[RL_MAX_GROUPS][32];
    int group_classes[RL_MAX_GROUPS]; /* classes in the group */
    rl_acc group_top1[RL_MAX_GROUPS], group_real1[RL_MAX_GROUPS];
    rl_acc group_ml[RL_MAX_GROUPS]; /* multi-label micro, by the multi-label file's original label */
    /* macro: mean over the group's classes with rows of the per-class accuracy (NaN when none) */
    double group_top1_macro[RL_MAX_GROUPS], group_real1_macro[RL_MAX_GROUPS], group_ml_macro[RL_MAX_GROUPS];
} rl_eval_result;

/* Scores p.  labels [p->n] (-1 = unknown); ref [p->n] from rl_eval_ref_index
 * (may be NULL when real and ml are NULL); real, ml, groups may be NULL. */
rl_status rl_eval_run(const rl_preds *p, const int32_t *labels, const int64_t *ref, const rl_sets *real,
                      const rl_multilabel *ml, const rl_groups *groups, rl_eval_result *out, rl_error *err);

#endif
